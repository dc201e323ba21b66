//! GENERAL AUTHENTICATE (87): management-key challenge-response (P2 9B), and the
//! private-key operations of the key slots (sign, decrypt, key agreement).

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{AuthKey, GeneralAuthenticate};
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::templates::DynamicAuth;
use apdu_spec::piv::{Algorithm, PinPolicy, Slot, TouchPolicy};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::random;

use crate::card::Piv;
use crate::keys::KeyError;
use crate::session::Challenge;

pub fn general_authenticate(
    piv: &mut Piv,
    auth: GeneralAuthenticate,
) -> Result<Vec<u8>, StatusWord> {
    match auth.key {
        AuthKey::Management => management(piv, auth.algorithm, &auth.template),
        // The attestation key signs attestation certificates and nothing else.
        AuthKey::Slot(Slot::Attestation) => Err(StatusWord::INCORRECT_P1P2),
        AuthKey::Slot(slot) => private_key_operation(piv, auth.algorithm, slot, &auth.template),
    }
}

/// `82 00`-style field: present and empty, i.e. a request for that item.
fn is_request(field: &Option<Vec<u8>>) -> bool {
    field.as_ref().is_some_and(Vec::is_empty)
}

/// A field that carries a value.
fn given(field: &Option<Vec<u8>>) -> Option<&Vec<u8>> {
    field.as_ref().filter(|v| !v.is_empty())
}

const MANAGEMENT_KEY: &str = "the management key";

/// A management key set with touch (SET MANAGEMENT KEY P2 FE) wants one at every
/// authentication; the cache is for private keys only.
fn management_touch(key: &ManagementKey) -> TouchPolicy {
    if key.touch_required {
        TouchPolicy::Always
    } else {
        TouchPolicy::Never
    }
}

/// Which step of which management-key protocol a request is.
fn management(
    piv: &mut Piv,
    algorithm: Algorithm,
    req: &DynamicAuth,
) -> Result<Vec<u8>, StatusWord> {
    let key = piv.state.management_key.clone();
    if algorithm != key.algorithm() {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let block = key.block_size();
    // Any new request replaces, and every answer consumes, the pending challenge.
    let pending = piv.session.challenge.take();

    if is_request(&req.witness) {
        // Mutual, step 1: the card sends an encrypted witness.
        let witness = random(block)?;
        let encrypted = key
            .encrypt(&witness)
            .ok_or(StatusWord::NO_PRECISE_DIAGNOSIS)?;
        piv.session.challenge = Some(Challenge::Mutual { witness });
        return Ok(DynamicAuth {
            witness: Some(encrypted),
            ..Default::default()
        }
        .encode());
    }
    if is_request(&req.challenge) && req.witness.is_none() {
        // Single, step 1: the card sends a challenge for the host to encrypt.
        let challenge = random(block)?;
        let expected = zeroize::Zeroizing::new(
            key.encrypt(&challenge)
                .ok_or(StatusWord::NO_PRECISE_DIAGNOSIS)?,
        );
        piv.session.challenge = Some(Challenge::Single { expected });
        return Ok(DynamicAuth {
            challenge: Some(challenge.to_vec()),
            ..Default::default()
        }
        .encode());
    }
    piv.session.management_authenticated = false;
    if let (Some(witness), Some(host_challenge)) = (given(&req.witness), given(&req.challenge)) {
        // Mutual, step 2: the decrypted witness proves the host; we answer its challenge.
        let Some(Challenge::Mutual { witness: expected }) = pending else {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        };
        if host_challenge.len() != block || !bool::from(witness.ct_eq(&expected)) {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let answer = key
            .encrypt(host_challenge)
            .ok_or(StatusWord::INCORRECT_DATA)?;
        piv.touch(management_touch(&key), MANAGEMENT_KEY)?;
        piv.session.management_authenticated = true;
        return Ok(DynamicAuth {
            response: Some(answer),
            ..Default::default()
        }
        .encode());
    }
    if let Some(response) = given(&req.response) {
        // Single, step 2: the host's encryption of our challenge.
        let Some(Challenge::Single { expected }) = pending else {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        };
        if !bool::from(response.ct_eq(&expected)) {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        piv.touch(management_touch(&key), MANAGEMENT_KEY)?;
        piv.session.management_authenticated = true;
        return Ok(Vec::new());
    }
    Err(StatusWord::INCORRECT_DATA)
}

/// What a private-key request asks of the key.
enum Operation<'a> {
    SignOrDecrypt(&'a [u8]),
    Agree(&'a [u8]),
}

fn private_key_operation(
    piv: &mut Piv,
    algorithm: Algorithm,
    slot: Slot,
    req: &DynamicAuth,
) -> Result<Vec<u8>, StatusWord> {
    let slot_key = piv
        .state
        .keys
        .get(&slot)
        .ok_or(StatusWord::REFERENCE_DATA_NOT_FOUND)?;
    if slot_key.key.algorithm() != algorithm {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let policy = slot_key.effective_pin_policy(slot);
    let touch = slot_key.effective_touch_policy();
    let session = &piv.session;
    let pin_always = matches!(policy, PinPolicy::Always | PinPolicy::MatchAlways);
    let pin_ok = match policy {
        PinPolicy::Never => true,
        _ if pin_always => session.pin_verified && session.pin_fresh,
        _ => session.pin_verified,
    };
    if !pin_ok {
        return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    }
    let asks_for_answer = is_request(&req.response);
    let input = match (asks_for_answer, &req.challenge, &req.exponentiation) {
        (true, Some(input), None) => Operation::SignOrDecrypt(input),
        (true, None, Some(peer)) => Operation::Agree(peer),
        _ => return Err(StatusWord::INCORRECT_DATA),
    };
    if let Err(sw) = piv.touch(touch, format_args!("the key in slot {slot}")) {
        // A PIN-always login is for one operation, and this was it even though no touch
        // came: the safe reading, where no source tells what a YubiKey does.
        if pin_always {
            piv.session.pin_fresh = false;
        }
        return Err(sw);
    }
    let key = piv
        .state
        .keys
        .get(&slot)
        .ok_or(StatusWord::REFERENCE_DATA_NOT_FOUND)?;
    let result = match input {
        Operation::SignOrDecrypt(input) => key.key.sign_or_decrypt(input),
        Operation::Agree(peer) => key.key.agree(peer),
    }
    .map_err(|_: KeyError| StatusWord::INCORRECT_DATA)?;
    if pin_always {
        piv.session.pin_fresh = false;
    }
    // A decrypted key or a shared secret: wiped once encoded into the answer.
    let answer = Zeroizing::new(DynamicAuth {
        response: Some(result),
        ..Default::default()
    });
    Ok(answer.encode())
}
