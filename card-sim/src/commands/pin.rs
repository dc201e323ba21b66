//! VERIFY (20), CHANGE REFERENCE DATA (24) and RESET RETRY COUNTER (2C) for the PIN (80)
//! and the PUK (81).
//!
//! Every check spends a try and saves the counter *before* comparing, so cutting the power
//! mid-comparison cannot yield a free guess; a correct value restores the counter.

use apdu_spec::piv::KeyRef;
use apdu_spec::{CommandApdu, StatusWord};

use crate::card::Piv;
use crate::pin::{BadValue, PADDED_LEN, Pin};

/// VERIFY P1: 00 verifies (or, without data, reports the status); FF logs out.
const P1_VERIFY: u8 = 0x00;
const P1_LOG_OUT: u8 = 0xFF;

pub fn verify(piv: &mut Piv, cmd: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    if !matches!(cmd.p1, P1_VERIFY | P1_LOG_OUT) {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    if KeyRef(cmd.p2) != KeyRef::PIN {
        return Err(StatusWord::REFERENCE_DATA_NOT_FOUND);
    }
    if cmd.p1 == P1_LOG_OUT {
        if !cmd.data.is_empty() {
            return Err(StatusWord::INCORRECT_DATA);
        }
        piv.session.log_out_pin();
        return Ok(Vec::new());
    }
    if cmd.data.is_empty() {
        return match (piv.state.pin.is_blocked(), piv.session.pin_verified) {
            (true, _) => Err(StatusWord::AUTH_METHOD_BLOCKED),
            (false, true) => Ok(Vec::new()),
            (false, false) => Err(StatusWord::verify_failed(piv.state.pin.tries_left)),
        };
    }
    if cmd.data.len() != PADDED_LEN {
        return Err(StatusWord::INCORRECT_DATA);
    }
    match check(piv, |s| &mut s.pin, &cmd.data) {
        Ok(()) => {
            piv.session.pin_verified = true;
            piv.session.pin_fresh = true;
            Ok(Vec::new())
        }
        Err(sw) => {
            piv.session.log_out_pin();
            Err(sw)
        }
    }
}

pub fn change_reference_data(piv: &mut Piv, cmd: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    if cmd.p1 != 0x00 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let which: fn(&mut crate::state::CardState) -> &mut Pin = match KeyRef(cmd.p2) {
        KeyRef::PIN => |s| &mut s.pin,
        KeyRef::PUK => |s| &mut s.puk,
        _ => return Err(StatusWord::REFERENCE_DATA_NOT_FOUND),
    };
    let (current, new) = split_pair(&cmd.data)?;
    validate(which(&mut piv.state), new)?;
    check(piv, which, current)?;
    piv.commit(|s| {
        which(s).set(new);
        Ok(())
    })?;
    Ok(Vec::new())
}

pub fn reset_retry_counter(piv: &mut Piv, cmd: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    if cmd.p1 != 0x00 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    if KeyRef(cmd.p2) != KeyRef::PIN {
        return Err(StatusWord::REFERENCE_DATA_NOT_FOUND);
    }
    let (puk, new_pin) = split_pair(&cmd.data)?;
    validate(&piv.state.pin, new_pin)?;
    check(piv, |s| &mut s.puk, puk)?;
    piv.commit(|s| {
        s.pin.set(new_pin);
        Ok(())
    })?;
    Ok(Vec::new())
}

/// Spends a try, saves, then compares in constant time. A success that restored the
/// counter is saved too. A spent try is never given back, even when saving fails.
fn check(
    piv: &mut Piv,
    which: fn(&mut crate::state::CardState) -> &mut Pin,
    candidate: &[u8],
) -> Result<(), StatusWord> {
    if which(&mut piv.state).is_blocked() {
        return Err(StatusWord::AUTH_METHOD_BLOCKED);
    }
    which(&mut piv.state).spend_try();
    piv.save()?;
    let pin = which(&mut piv.state);
    if !pin.check(candidate) {
        return Err(StatusWord::verify_failed(pin.tries_left));
    }
    piv.save()
}

/// The two 8-byte halves of CHANGE REFERENCE DATA and RESET RETRY COUNTER.
fn split_pair(data: &[u8]) -> Result<(&[u8], &[u8]), StatusWord> {
    if data.len() != 2 * PADDED_LEN {
        return Err(StatusWord::INCORRECT_DATA);
    }
    Ok(data.split_at(PADDED_LEN))
}

fn validate(pin: &Pin, new: &[u8]) -> Result<(), StatusWord> {
    pin.validate_new(new).map_err(|e| match e {
        BadValue::WrongLength => StatusWord::INCORRECT_DATA,
        BadValue::Unacceptable => StatusWord::CONDITIONS_NOT_SATISFIED,
    })
}
