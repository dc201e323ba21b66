//! YubiKey's private instructions: GET VERSION (FD), GET SERIAL (F8), GET METADATA (F7),
//! ATTEST (F9), SET MANAGEMENT KEY (FF), RESET (FB) and SET PIN RETRIES (FA).

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{Attest, GetMetadata, SetManagementKey, SetPinRetries};
use apdu_spec::piv::metadata::{Metadata, Origin};
use apdu_spec::piv::object::CertificateObject;
use apdu_spec::piv::{Algorithm, KeyRef, ObjectId, Slot, TouchPolicy};
use apdu_spec::tlv::Tlv;

use crate::attestation;
use crate::card::Piv;
use crate::pin::Pin;
use crate::session::Session;
use crate::state::MetadataSupport;

pub fn version(piv: &mut Piv) -> Result<Vec<u8>, StatusWord> {
    Ok(piv.state.firmware.to_vec())
}

pub fn serial(piv: &mut Piv) -> Result<Vec<u8>, StatusWord> {
    Ok(piv.state.serial.to_be_bytes().to_vec())
}

fn pin_metadata(pin: &Pin) -> Metadata {
    Metadata {
        algorithm: Some(Algorithm::PinPuk.to_byte()),
        is_default: Some(pin.is_default()),
        retries: Some((pin.max_tries, pin.tries_left)),
        ..Default::default()
    }
}

pub fn metadata(piv: &mut Piv, get: GetMetadata) -> Result<Vec<u8>, StatusWord> {
    let state = &piv.state;
    let meta = match get.key {
        KeyRef::PIN => pin_metadata(&state.pin),
        KeyRef::PUK => pin_metadata(&state.puk),
        KeyRef::MANAGEMENT => {
            let mk = &state.management_key;
            let touch = if mk.touch_required {
                TouchPolicy::Always
            } else {
                TouchPolicy::Never
            };
            Metadata {
                algorithm: Some(mk.algorithm().to_byte()),
                policy: Some((0x00, touch as u8)),
                is_default: Some(mk.is_default()),
                ..Default::default()
            }
        }
        KeyRef(b) => {
            let slot = Slot::from_byte(b).ok_or(StatusWord::REFERENCE_DATA_NOT_FOUND)?;
            let key = state
                .keys
                .get(&slot)
                .ok_or(StatusWord::REFERENCE_DATA_NOT_FOUND)?;
            Metadata {
                algorithm: Some(key.key.algorithm().to_byte()),
                policy: Some((
                    key.effective_pin_policy(slot) as u8,
                    key.effective_touch_policy() as u8,
                )),
                origin: Some(key.origin),
                public_key: Some(key.key.public_key().encode_content()),
                ..Default::default()
            }
        }
    };
    let meta = match state.metadata {
        MetadataSupport::Partial => Metadata {
            algorithm: None,
            policy: None,
            public_key: None,
            ..meta
        },
        // A card without GET METADATA never gets here (see `CardState::answers`).
        MetadataSupport::Full | MetadataSupport::Absent => meta,
    };
    Ok(meta.encode())
}

pub fn attest(piv: &mut Piv, attest: Attest) -> Result<Vec<u8>, StatusWord> {
    let slot = attest.slot;
    let state = &piv.state;
    let key = match state.keys.get(&slot) {
        Some(k) if k.origin == Origin::Generated && slot != Slot::Attestation => k,
        // Nothing to attest: an empty slot, an imported key, or the attestation key itself.
        _ => return Err(StatusWord::INCORRECT_DATA),
    };
    let attestation_key = state
        .keys
        .get(&Slot::Attestation)
        .ok_or(StatusWord::REFERENCE_DATA_NOT_FOUND)?;
    let cert_object = state
        .objects
        .get(ObjectId::YUBICO_ATTESTATION_CERT)
        .ok_or(StatusWord::REFERENCE_DATA_NOT_FOUND)?;
    let issuer = Tlv::parse_exact(cert_object)
        .ok()
        .and_then(|t| CertificateObject::parse(t.value).ok())
        .filter(|c| !c.compressed)
        .ok_or(StatusWord::REFERENCE_DATA_NOT_USABLE)?;
    let policy = (
        key.effective_pin_policy(slot) as u8,
        key.effective_touch_policy() as u8,
    );
    attestation::attest(
        &attestation_key.key,
        &issuer.certificate,
        slot,
        &key.key,
        policy,
        &state.facts(),
    )
    .map_err(|_| StatusWord::REFERENCE_DATA_NOT_USABLE)
}

/// A key of an algorithm the model lacks (AES before 5.4) is incorrect data.
pub fn set_management_key(piv: &mut Piv, set: SetManagementKey) -> Result<Vec<u8>, StatusWord> {
    if !piv
        .state
        .profile
        .supports_management_algorithm(set.key.algorithm())
    {
        return Err(StatusWord::INCORRECT_DATA);
    }
    piv.commit(|s| {
        s.management_key = set.key;
        Ok(())
    })?;
    Ok(Vec::new())
}

/// Only a card whose PIN and PUK are both blocked may be reset.
pub fn reset(piv: &mut Piv) -> Result<Vec<u8>, StatusWord> {
    if !(piv.state.pin.is_blocked() && piv.state.puk.is_blocked()) {
        return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
    }
    piv.commit(|s| {
        s.reset_to_factory()
            .map_err(|_| StatusWord::NO_PRECISE_DIAGNOSIS)
    })?;
    piv.session = Session::power_on();
    Ok(Vec::new())
}

/// Needs the PIN as well as the management key; both values go back to their defaults.
pub fn set_pin_retries(piv: &mut Piv, set: SetPinRetries) -> Result<Vec<u8>, StatusWord> {
    if !piv.session.pin_verified {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    }
    piv.commit(|s| {
        s.pin.reset(set.pin_tries);
        s.puk.reset(set.puk_tries);
        Ok(())
    })?;
    // The PIN is the default again; the one verified before is no longer the PIN.
    piv.session.log_out_pin();
    Ok(Vec::new())
}
