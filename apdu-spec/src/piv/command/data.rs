//! GET DATA (CB) and PUT DATA (DB): data objects named by a tag list (5C).

use zeroize::Zeroizing;

use super::{apdu, expect_p1p2};
use crate::apdu::SHORT_MAX_LE;
use crate::piv::{Instruction, ObjectId};
use crate::tlv::{self, Tlv};
use crate::{CommandApdu, StatusWord};

/// P1-P2 3F FF: the objects of the current application.
const CURRENT_APPLICATION: (u8, u8) = (0x3F, 0xFF);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetData {
    pub object: ObjectId,
}

impl GetData {
    pub fn to_apdu(&self) -> CommandApdu {
        let (p1, p2) = CURRENT_APPLICATION;
        apdu(Instruction::GetData, p1, p2)
            .with_data(self.object.tag_list())
            .with_le(SHORT_MAX_LE)
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        expect_p1p2(apdu, CURRENT_APPLICATION)?;
        let (object, rest) = object_id(apdu)?;
        if !rest.is_empty() {
            return Err(StatusWord::INCORRECT_DATA);
        }
        Ok(Self { object })
    }
}

/// Writes an object; empty content deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutData {
    pub object: ObjectId,
    /// What goes inside the object's content tag. Wiped when dropped: an object may hold
    /// a secret, such as a PIN-protected management key.
    pub content: Zeroizing<Vec<u8>>,
}

impl PutData {
    /// The object as GET DATA returns it: its content tag, length and content.
    pub fn object_tlv(&self) -> Vec<u8> {
        tlv::encode(self.object.content_tag(), &self.content)
    }

    pub fn to_apdu(&self) -> CommandApdu {
        let (p1, p2) = CURRENT_APPLICATION;
        let mut data = self.object.tag_list();
        // Room for the content at once: a buffer that grows leaves copies behind.
        data.reserve_exact(self.content.len() + 8);
        tlv::write(&mut data, self.object.content_tag(), &self.content);
        apdu(Instruction::PutData, p1, p2).with_data(data)
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        expect_p1p2(apdu, CURRENT_APPLICATION)?;
        let (object, rest) = object_id(apdu)?;
        let content = Tlv::parse_exact(rest).map_err(|_| StatusWord::INCORRECT_DATA)?;
        if content.tag != object.content_tag() {
            return Err(StatusWord::INCORRECT_DATA);
        }
        Ok(Self {
            object,
            content: Zeroizing::new(content.value.to_vec()),
        })
    }
}

/// The object a data field's tag list names, and what follows it; 6A80 for a tag list
/// that is malformed or names no object a card may hold.
fn object_id(apdu: &CommandApdu) -> Result<(ObjectId, &[u8]), StatusWord> {
    match ObjectId::parse_tag_list(&apdu.data) {
        Ok((object, rest)) if object.is_valid() => Ok((object, rest)),
        _ => Err(StatusWord::INCORRECT_DATA),
    }
}
