//! One handler per command. The dispatcher parses the APDU into a [`PivCommand`] once;
//! each handler takes its typed command and returns the response data, or the status
//! word the card answers.

mod auth;
mod data;
mod keys;
mod otp;
mod pin;
mod select;
mod yubikey;

use apdu_spec::piv::{Instruction, PivCommand};
use apdu_spec::{CommandApdu, StatusWord};

use crate::card::Piv;

pub fn dispatch(piv: &mut Piv, apdu: &CommandApdu) -> Result<Vec<u8>, StatusWord> {
    if piv.session.otp_selected && apdu.ins != Instruction::Select as u8 {
        return otp::command(piv, apdu);
    }
    let ins = Instruction::from_byte(apdu.ins).ok_or(StatusWord::INS_NOT_SUPPORTED)?;
    let available = (ins == Instruction::Select || piv.session.selected) && piv.state.answers(ins);
    if !available {
        return Err(StatusWord::INS_NOT_SUPPORTED);
    }
    // As a YubiKey does, the card judges P1-P2 first (with IMPORT's P1, whether the model
    // has the algorithm), then the management key, and the data field last.
    let command = match ins {
        Instruction::ImportKey => keys::import_algorithm_on_model(piv, apdu.p1),
        _ => Ok(()),
    }
    .and_then(|()| PivCommand::parse(apdu));
    if needs_management_key(ins) && command.as_ref().err() != Some(&StatusWord::INCORRECT_P1P2) {
        require_management(piv)?;
    }
    match command? {
        PivCommand::Select(select) => select::select(piv, select),
        PivCommand::GetData(get) => data::get_data(piv, get),
        PivCommand::PutData(put) => data::put_data(piv, put, apdu),
        PivCommand::Verify(verify) => pin::verify(piv, verify),
        PivCommand::ChangeReferenceData(change) => pin::change_reference_data(piv, change),
        PivCommand::ResetRetryCounter(reset) => pin::reset_retry_counter(piv, reset),
        PivCommand::GeneralAuthenticate(auth) => auth::general_authenticate(piv, auth),
        PivCommand::GenerateAsymmetricKeyPair(generate) => keys::generate(piv, generate),
        PivCommand::ImportKey(import) => keys::import(piv, import),
        PivCommand::MoveKey(move_key) => keys::move_or_delete(piv, move_key),
        PivCommand::GetVersion(_) => yubikey::version(piv),
        PivCommand::GetSerial(_) => yubikey::serial(piv),
        PivCommand::GetMetadata(get) => yubikey::metadata(piv, get),
        PivCommand::Attest(attest) => yubikey::attest(piv, attest),
        PivCommand::SetManagementKey(set) => yubikey::set_management_key(piv, set),
        PivCommand::Reset(_) => yubikey::reset(piv),
        PivCommand::SetPinRetries(set) => yubikey::set_pin_retries(piv, set),
        // Answered by the card's response chaining (card.rs) before dispatch: never here.
        PivCommand::GetResponse(_) => Err(StatusWord::INCORRECT_DATA),
    }
}

/// The commands that need the management key authenticated in this session.
fn needs_management_key(ins: Instruction) -> bool {
    matches!(
        ins,
        Instruction::PutData
            | Instruction::GenerateAsymmetricKeyPair
            | Instruction::ImportKey
            | Instruction::MoveKey
            | Instruction::SetManagementKey
            | Instruction::SetPinRetries
    )
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
