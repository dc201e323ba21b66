//! GET DATA (CB) and PUT DATA (DB) for the PIV data objects.

use apdu_spec::piv::ObjectId;
use apdu_spec::tlv::Tlv;
use apdu_spec::{CommandApdu, StatusWord};

use super::{expect_p1p2, require_management};
use crate::card::Piv;

pub fn get_data(piv: &mut Piv, cmd: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    expect_p1p2(cmd, 0x3F, 0xFF)?;
    let (id, rest) = ObjectId::parse_tag_list(&cmd.data).map_err(|_| StatusWord::INCORRECT_DATA)?;
    if !rest.is_empty() || !id.is_valid() {
        return Err(StatusWord::INCORRECT_DATA);
    }
    if id.read_needs_pin() && !piv.session.pin_verified {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    }
    piv.state
        .objects
        .get(id)
        .map(<[u8]>::to_vec)
        .ok_or(StatusWord::NOT_FOUND)
}

pub fn put_data(piv: &mut Piv, cmd: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    expect_p1p2(cmd, 0x3F, 0xFF)?;
    require_management(piv)?;
    let (id, rest) = ObjectId::parse_tag_list(&cmd.data).map_err(|_| StatusWord::INCORRECT_DATA)?;
    if !id.is_valid() {
        return Err(StatusWord::INCORRECT_DATA);
    }
    let content = Tlv::parse_exact(rest).map_err(|_| StatusWord::INCORRECT_DATA)?;
    if content.tag != id.content_tag() {
        return Err(StatusWord::INCORRECT_DATA);
    }
    let mut objects = piv.state.objects.clone();
    if content.value.is_empty() {
        objects.remove(id);
    } else {
        objects.put(id, rest.to_vec())?;
    }
    piv.commit(|s| {
        s.objects = objects;
        Ok(())
    })?;
    Ok(Vec::new())
}
