//! VERIFY (20), CHANGE REFERENCE DATA (24) and RESET RETRY COUNTER (2C) for the PIN (80)
//! and the PUK (81).
//!
//! Every check spends a try and saves the counter *before* comparing, so cutting the power
//! mid-comparison cannot yield a free guess; a correct value restores the counter.
//!
//! Any failed check, of the PIN or of the PUK that guards it, and any attempt on a blocked
//! one, ends the PIN login: a login must not outlive the PIN it was given by (SP 800-73-4
//! resets the security status on a failed VERIFY; CHANGE REFERENCE DATA and RESET RETRY
//! COUNTER can spend the last try as well).

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{ChangeReferenceData, ResetRetryCounter, Verify};
use apdu_spec::piv::reference_data::{Credential, PaddedPin};

use crate::card::Piv;
use crate::pin::{BadValue, Pin};
use crate::state::CardState;

pub fn verify(piv: &mut Piv, verify: Verify) -> Result<Vec<u8>, StatusWord> {
    let pin = match verify {
        // Before YubiKey 5.4.3, P1 had to be 00.
        Verify::LogOut if !piv.state.profile.logs_out_with_verify() => {
            return Err(StatusWord::INCORRECT_P1P2);
        }
        Verify::LogOut => {
            piv.session.log_out_pin();
            return Ok(Vec::new());
        }
        Verify::Status => {
            return match (piv.state.pin.is_blocked(), piv.session.pin_verified) {
                (true, _) => Err(StatusWord::AUTH_METHOD_BLOCKED),
                (false, true) => Ok(Vec::new()),
                (false, false) => Err(StatusWord::verify_failed(piv.state.pin.tries_left)),
            };
        }
        Verify::Pin(pin) => pin,
    };
    check(piv, |s| &mut s.pin, &pin)?;
    piv.session.pin_verified = true;
    piv.session.pin_fresh = true;
    Ok(Vec::new())
}

pub fn change_reference_data(
    piv: &mut Piv,
    change: ChangeReferenceData,
) -> Result<Vec<u8>, StatusWord> {
    let which: fn(&mut CardState) -> &mut Pin = match change.credential {
        Credential::Pin => |s| &mut s.pin,
        Credential::Puk => |s| &mut s.puk,
    };
    validate(which(&mut piv.state), &change.new)?;
    check(piv, which, &change.current)?;
    piv.commit(|s| {
        which(s).set(change.new.as_bytes());
        Ok(())
    })?;
    Ok(Vec::new())
}

pub fn reset_retry_counter(piv: &mut Piv, reset: ResetRetryCounter) -> Result<Vec<u8>, StatusWord> {
    validate(&piv.state.pin, &reset.new_pin)?;
    check(piv, |s| &mut s.puk, &reset.puk)?;
    piv.commit(|s| {
        s.pin.set(reset.new_pin.as_bytes());
        Ok(())
    })?;
    Ok(Vec::new())
}

/// Spends a try, saves, then compares in constant time. A success that restored the
/// counter is saved too. A spent try is never given back, even when saving fails. Any
/// failure ends the PIN login.
fn check(
    piv: &mut Piv,
    which: fn(&mut CardState) -> &mut Pin,
    candidate: &PaddedPin,
) -> Result<(), StatusWord> {
    let result = spend_and_compare(piv, which, candidate);
    if result.is_err() {
        piv.session.log_out_pin();
    }
    result
}

fn spend_and_compare(
    piv: &mut Piv,
    which: fn(&mut CardState) -> &mut Pin,
    candidate: &PaddedPin,
) -> Result<(), StatusWord> {
    if which(&mut piv.state).is_blocked() {
        return Err(StatusWord::AUTH_METHOD_BLOCKED);
    }
    which(&mut piv.state).spend_try();
    piv.save()?;
    let pin = which(&mut piv.state);
    if !pin.check(candidate.as_bytes()) {
        return Err(StatusWord::verify_failed(pin.tries_left));
    }
    piv.save()
}

fn validate(pin: &Pin, new: &PaddedPin) -> Result<(), StatusWord> {
    pin.validate_new(new.as_bytes()).map_err(|e| match e {
        BadValue::WrongLength => StatusWord::INCORRECT_DATA,
        BadValue::Unacceptable => StatusWord::CONDITIONS_NOT_SATISFIED,
    })
}
