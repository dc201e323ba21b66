//! One handler per instruction: `fn(&mut Piv, &CommandApdu) -> Result<data, StatusWord>`.
//! A failure is the status word the card answers.

mod auth;
mod data;
mod keys;
mod pin;
mod select;
mod yubikey;

use apdu_spec::piv::Instruction;
use apdu_spec::{CommandApdu, StatusWord};

use crate::card::Piv;

pub type Handler = fn(&mut Piv, &CommandApdu) -> Result<Vec<u8>, StatusWord>;

fn handler(ins: Instruction) -> Handler {
    match ins {
        Instruction::Select => select::select,
        Instruction::GetData => data::get_data,
        Instruction::PutData => data::put_data,
        Instruction::Verify => pin::verify,
        Instruction::ChangeReferenceData => pin::change_reference_data,
        Instruction::ResetRetryCounter => pin::reset_retry_counter,
        Instruction::GeneralAuthenticate => auth::general_authenticate,
        Instruction::GenerateAsymmetricKeyPair => keys::generate,
        Instruction::ImportKey => keys::import,
        Instruction::MoveKey => keys::move_or_delete,
        Instruction::GetVersion => yubikey::version,
        Instruction::GetSerial => yubikey::serial,
        Instruction::GetMetadata => yubikey::metadata,
        Instruction::Attest => yubikey::attest,
        Instruction::SetManagementKey => yubikey::set_management_key,
        Instruction::Reset => yubikey::reset,
        Instruction::SetPinRetries => yubikey::set_pin_retries,
        // Served by the card's response chaining before dispatch; here only when chained.
        Instruction::GetResponse => |_, _| Err(StatusWord::INCORRECT_DATA),
    }
}

pub fn dispatch(piv: &mut Piv, cmd: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    let ins = Instruction::from_byte(cmd.ins).ok_or(StatusWord::INS_NOT_SUPPORTED)?;
    let available = (ins == Instruction::Select || piv.session.selected)
        && (piv.state.yubikey_extensions || !ins.is_yubikey_extension());
    if !available {
        return Err(StatusWord::INS_NOT_SUPPORTED);
    }
    handler(ins)(piv, cmd)
}

/// Fails with 6A86 unless P1-P2 are as given.
fn expect_p1p2(cmd: &CommandApdu, p1: u8, p2: u8) -> Result<(), StatusWord> {
    if (cmd.p1, cmd.p2) == (p1, p2) {
        Ok(())
    } else {
        Err(StatusWord::INCORRECT_P1P2)
    }
}

/// Fails with 6982 unless the management key was authenticated in this session.
fn require_management(piv: &Piv) -> Result<(), StatusWord> {
    if piv.session.management_authenticated {
        Ok(())
    } else {
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    }
}

/// Random bytes for challenges and witnesses.
fn random(len: usize) -> Result<zeroize::Zeroizing<Vec<u8>>, StatusWord> {
    let mut out = zeroize::Zeroizing::new(vec![0u8; len]);
    getrandom::fill(&mut out).map_err(|_| StatusWord::NO_PRECISE_DIAGNOSIS)?;
    Ok(out)
}
