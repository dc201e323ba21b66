//! GET DATA (CB) and PUT DATA (DB) for the PIV data objects.

use apdu_spec::piv::ObjectId;
use apdu_spec::piv::command::{GetData, PutData};
use apdu_spec::{CommandApdu, StatusWord};

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

/// Empty content deletes the object. The object is kept as its TLV arrived (after the tag
/// list, which the parse checked is exactly one content TLV), so GET DATA answers with the
/// very bytes written, whatever length form the client chose.
pub fn put_data(piv: &mut Piv, put: PutData, apdu: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    let mut objects = piv.state.objects.clone();
    if put.content.is_empty() {
        objects.remove(put.object);
    } else {
        let (_, received) =
            ObjectId::parse_tag_list(&apdu.data).map_err(|_| StatusWord::INCORRECT_DATA)?;
        objects.put(put.object, received.to_vec())?;
    }
    piv.commit(|s| {
        s.objects = objects;
        Ok(())
    })?;
    Ok(Vec::new())
}
