//! GET DATA (CB) and PUT DATA (DB) for the PIV data objects.

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{GetData, PutData};

use crate::card::Piv;

pub fn get_data(piv: &mut Piv, get: GetData) -> Result<Vec<u8>, StatusWord> {
    if get.object.read_needs_pin() && !piv.session.pin_verified {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    }
    piv.state
        .objects
        .get(get.object)
        .map(<[u8]>::to_vec)
        .ok_or(StatusWord::NOT_FOUND)
}

/// Empty content deletes the object.
pub fn put_data(piv: &mut Piv, put: PutData) -> Result<Vec<u8>, StatusWord> {
    let mut objects = piv.state.objects.clone();
    if put.content.is_empty() {
        objects.remove(put.object);
    } else {
        objects.put(put.object, put.object_tlv())?;
    }
    piv.commit(|s| {
        s.objects = objects;
        Ok(())
    })?;
    Ok(Vec::new())
}
