//! GET RESPONSE (C0): the next part of an answer the card announced with 61xx.

use super::{apdu, expect_p1p2};
use crate::apdu::SHORT_MAX_LE;
use crate::piv::Instruction;
use crate::{CommandApdu, StatusWord};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetResponse {
    /// Ne: the most bytes the answer may carry (256 when the command has no Le).
    pub length: usize,
}

impl GetResponse {
    pub fn to_apdu(&self) -> CommandApdu {
        apdu(Instruction::GetResponse, 0x00, 0x00).with_le(self.length)
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        expect_p1p2(apdu, (0x00, 0x00))?;
        Ok(Self {
            length: apdu.le.unwrap_or(SHORT_MAX_LE),
        })
    }
}
