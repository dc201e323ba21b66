//! GENERATE ASYMMETRIC KEY PAIR (47), and YubiKey's IMPORT KEY (FE) and MOVE KEY (F6).

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{GenerateAsymmetricKeyPair, ImportKey, MoveKey};
use apdu_spec::piv::metadata::Origin;
use apdu_spec::piv::{Algorithm, PinPolicy, TouchPolicy};

use crate::card::Piv;
use crate::keys::PrivateKey;
use crate::state::SlotKey;

/// The policies a key may be given, `None` being the slot's default. There is no
/// biometric match on this card.
fn policies(
    pin: Option<PinPolicy>,
    touch: Option<TouchPolicy>,
) -> Result<(PinPolicy, TouchPolicy), StatusWord> {
    let pin = match pin.unwrap_or(PinPolicy::Default) {
        PinPolicy::MatchOnce | PinPolicy::MatchAlways => return Err(StatusWord::INCORRECT_DATA),
        pin => pin,
    };
    Ok((pin, touch.unwrap_or(TouchPolicy::Default)))
}

/// An algorithm the card's model lacks is refused as the model does: 6A80 where it came
/// in the data field (GENERATE), 6A86 where it came in P1 (IMPORT).
pub fn generate(piv: &mut Piv, generate: GenerateAsymmetricKeyPair) -> Result<Vec<u8>, StatusWord> {
    if !piv.state.profile.supports_key_algorithm(generate.algorithm) {
        return Err(StatusWord::INCORRECT_DATA);
    }
    let (pin_policy, touch_policy) = policies(generate.pin_policy, generate.touch_policy)?;
    let key =
        PrivateKey::generate(generate.algorithm).map_err(|_| StatusWord::NO_PRECISE_DIAGNOSIS)?;
    let public = key.public_key().encode();
    let slot_key = SlotKey {
        key,
        pin_policy,
        touch_policy,
        origin: Origin::Generated,
    };
    piv.commit(|s| {
        s.keys.insert(generate.slot, slot_key);
        Ok(())
    })?;
    Ok(public)
}

/// IMPORT's P1 names the algorithm: one the model lacks is refused with the other
/// parameters, before the management key is asked for.
pub fn import_algorithm_on_model(piv: &Piv, p1: u8) -> Result<(), StatusWord> {
    match Algorithm::from_byte(p1) {
        Some(algorithm) if !piv.state.profile.supports_key_algorithm(algorithm) => {
            Err(StatusWord::INCORRECT_P1P2)
        }
        // Not an algorithm at all: the command's parser refuses it.
        _ => Ok(()),
    }
}

/// The model's algorithm was checked in [`import_algorithm_on_model`].
pub fn import(piv: &mut Piv, import: ImportKey) -> Result<Vec<u8>, StatusWord> {
    let key = PrivateKey::import(import.algorithm, &import.key)
        .map_err(|_| StatusWord::INCORRECT_DATA)?;
    let (pin_policy, touch_policy) = policies(import.pin_policy, import.touch_policy)?;
    let slot_key = SlotKey {
        key,
        pin_policy,
        touch_policy,
        origin: Origin::Imported,
    };
    piv.commit(|s| {
        s.keys.insert(import.slot, slot_key);
        Ok(())
    })?;
    Ok(Vec::new())
}

/// Moves the key to an empty slot, or deletes it. The certificate stays where it was.
pub fn move_or_delete(piv: &mut Piv, move_key: MoveKey) -> Result<Vec<u8>, StatusWord> {
    let MoveKey {
        source,
        destination,
    } = move_key;
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
