//! GENERATE ASYMMETRIC KEY PAIR (47), and YubiKey's IMPORT KEY (FE) and MOVE KEY (F6).

use apdu_spec::piv::metadata::Origin;
use apdu_spec::piv::templates::{GenerateRequest, ImportKeyData};
use apdu_spec::piv::{Algorithm, PinPolicy, Slot, TouchPolicy};
use apdu_spec::{CommandApdu, StatusWord};

use super::require_management;
use crate::card::Piv;
use crate::keys::PrivateKey;
use crate::state::SlotKey;

/// MOVE KEY with this destination deletes the key.
const DELETE: u8 = 0xFF;

/// The policies a key may be given (no biometric match on this card).
fn policies(pin: Option<u8>, touch: Option<u8>) -> Result<(PinPolicy, TouchPolicy), StatusWord> {
    let pin = match pin.map(PinPolicy::from_byte) {
        None => PinPolicy::Default,
        Some(Some(
            p @ (PinPolicy::Default | PinPolicy::Never | PinPolicy::Once | PinPolicy::Always),
        )) => p,
        Some(_) => return Err(StatusWord::INCORRECT_DATA),
    };
    let touch = match touch.map(TouchPolicy::from_byte) {
        None => TouchPolicy::Default,
        Some(Some(t)) => t,
        Some(None) => return Err(StatusWord::INCORRECT_DATA),
    };
    Ok((pin, touch))
}

/// A slot a user key may live in (not the attestation slot).
fn user_slot(b: u8) -> Result<Slot, StatusWord> {
    match Slot::from_byte(b) {
        Some(Slot::Attestation) | None => Err(StatusWord::INCORRECT_P1P2),
        Some(slot) => Ok(slot),
    }
}

pub fn generate(piv: &mut Piv, cmd: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    if cmd.p1 != 0x00 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let slot = user_slot(cmd.p2)?;
    require_management(piv)?;
    let req = GenerateRequest::parse(&cmd.data).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let algorithm = Algorithm::from_byte(req.algorithm)
        .filter(|a| a.is_asymmetric())
        .ok_or(StatusWord::INCORRECT_DATA)?;
    let (pin_policy, touch_policy) = policies(req.pin_policy, req.touch_policy)?;
    let key = PrivateKey::generate(algorithm).map_err(|_| StatusWord::NO_PRECISE_DIAGNOSIS)?;
    let public = key.public_key().encode();
    let slot_key = SlotKey {
        key,
        pin_policy,
        touch_policy,
        origin: Origin::Generated,
    };
    piv.commit(|s| {
        s.keys.insert(slot, slot_key);
        Ok(())
    })?;
    Ok(public)
}

pub fn import(piv: &mut Piv, cmd: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    let algorithm = Algorithm::from_byte(cmd.p1)
        .filter(|a| a.is_asymmetric())
        .ok_or(StatusWord::INCORRECT_P1P2)?;
    // The attestation key may be replaced by import, as on a YubiKey.
    let slot = Slot::from_byte(cmd.p2).ok_or(StatusWord::INCORRECT_P1P2)?;
    require_management(piv)?;
    let data =
        ImportKeyData::parse(algorithm, &cmd.data).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let key = PrivateKey::import(algorithm, &data.key).map_err(|_| StatusWord::INCORRECT_DATA)?;
    let (pin_policy, touch_policy) = policies(data.pin_policy, data.touch_policy)?;
    let slot_key = SlotKey {
        key,
        pin_policy,
        touch_policy,
        origin: Origin::Imported,
    };
    piv.commit(|s| {
        s.keys.insert(slot, slot_key);
        Ok(())
    })?;
    Ok(Vec::new())
}

/// P1 the destination (FF: delete), P2 the source. The certificate stays where it was.
pub fn move_or_delete(piv: &mut Piv, cmd: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    let source = user_slot(cmd.p2)?;
    let destination = if cmd.p1 == DELETE {
        None
    } else {
        Some(user_slot(cmd.p1)?)
    };
    require_management(piv)?;
    if let Some(dest) = destination
        && (dest == source || piv.state.keys.contains_key(&dest))
    {
        return Err(StatusWord::INCORRECT_DATA);
    }
    if !piv.state.keys.contains_key(&source) {
        return Err(StatusWord::REFERENCE_DATA_NOT_FOUND);
    }
    piv.commit(|s| {
        if let (Some(key), Some(dest)) = (s.keys.remove(&source), destination) {
            // The key keeps the PIN policy it had, not the default of its new slot.
            let pin_policy = key.effective_pin_policy(source);
            s.keys.insert(dest, SlotKey { pin_policy, ..key });
        }
        Ok(())
    })?;
    Ok(Vec::new())
}
