//! SELECT (A4): by the full PIV AID or any prefix of at least five bytes.

use apdu_spec::piv::aid;
use apdu_spec::{CommandApdu, StatusWord};

use crate::card::Piv;
use crate::session::Session;

/// P2 00: return the FCI (the APT); P2 0C: return nothing.
const P2_RETURN_FCI: u8 = 0x00;
const P2_NO_RESPONSE: u8 = 0x0C;

pub fn select(piv: &mut Piv, cmd: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    if cmd.p1 != 0x04 || !matches!(cmd.p2, P2_RETURN_FCI | P2_NO_RESPONSE) {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    if !aid::selects_piv(&cmd.data) {
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
    Ok(if cmd.p2 == P2_NO_RESPONSE {
        Vec::new()
    } else {
        piv.state.application_template()
    })
}
