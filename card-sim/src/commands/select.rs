//! SELECT (A4): by the full PIV AID or any prefix of at least five bytes; on a YubiKey also
//! its OTP application (see [`super::otp`]).

use apdu_spec::StatusWord;
use apdu_spec::piv::command::Select;

use crate::card::Piv;
use crate::session::Session;

pub fn select(piv: &mut Piv, select: Select) -> Result<Vec<u8>, StatusWord> {
    // The OTP application is part of what YubiKey's extensions turn off.
    let yubikey = piv.state.profile.is_yubikey() && piv.state.yubikey_extensions;
    if yubikey && super::otp::is_otp(&select.aid) {
        return Ok(super::otp::select(piv));
    }
    if !select.selects_piv() && !piv.state.profile.is_yubikey() {
        // A Java Card hands a SELECT of an application it lacks to the selected one, which
        // refuses it and keeps its state (Java Card Runtime Environment, §4.5).
        return Err(StatusWord::NOT_FOUND);
    }
    if !select.selects_piv() {
        // Another application: PIV is deselected and its logins are gone.
        piv.session = Session {
            selected: false,
            ..Session::default()
        };
        return Err(StatusWord::NOT_FOUND);
    }
    if piv.session.selected {
        // Re-selecting keeps the logins but drops a pending challenge.
        piv.session.challenge = None;
    } else {
        piv.session = Session::power_on();
    }
    Ok(if select.return_template {
        piv.state.application_template()
    } else {
        Vec::new()
    })
}
