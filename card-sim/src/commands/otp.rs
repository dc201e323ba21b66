//! The one thing PIV clients ask of a YubiKey's OTP application: its serial number. Before
//! firmware 5 the PIV application has no GET SERIAL, so yubico-piv-tool selects the OTP
//! application (ykpiv.c), reads the serial with its command 01 10, and selects PIV again.
//! Nothing else of that application is played: every other command answers 6D00.

use apdu_spec::{CommandApdu, StatusWord};

use crate::card::Piv;
use crate::session::Session;

/// The OTP application's AID (Yubico's RID A0 00 00 05 27, application 20 01); ykpiv
/// sends it with a version byte 01 after it, yubikit without.
const AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01];

/// Whether `aid` names the OTP application.
pub fn is_otp(aid: &[u8]) -> bool {
    aid.strip_prefix(&AID[..])
        .is_some_and(|version| version.is_empty() || version == [0x01])
}

/// The OTP application's command (INS 01) and its P1 that reads the serial number.
const INS_OTP: u8 = 0x01;
const READ_SERIAL: u8 = 0x10;

/// Selects the OTP application: PIV is deselected and its logins are gone, as on any
/// change of application. The answer is the OTP status: firmware version, the program
/// sequence and the touch level (both 0 on a card never programmed; inferred).
pub fn select(piv: &mut Piv) -> Vec<u8> {
    piv.session = Session {
        selected: false,
        otp_selected: true,
        ..Session::default()
    };
    let mut status = piv.state.firmware.to_vec();
    status.extend_from_slice(&[0x00, 0x00, 0x00]);
    status
}

/// A command while the OTP application is selected.
pub fn command(piv: &Piv, apdu: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    match (apdu.ins, apdu.p1) {
        (INS_OTP, READ_SERIAL) => Ok(piv.state.serial.to_be_bytes().to_vec()),
        _ => Err(StatusWord::INS_NOT_SUPPORTED),
    }
}
