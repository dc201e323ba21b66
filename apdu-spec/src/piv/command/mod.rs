//! The PIV commands as types, one per instruction. The host builds each into a
//! [`CommandApdu`] with `to_apdu`; the card reads each from one with `parse`, which
//! answers the status word the card answers for a P1-P2 or a data field it does not
//! accept. Every CLA, INS, P1-P2 and data layout of a PIV command is written here once.
//!
//! `parse` judges P1-P2 before the data field, so 6A86 and 6A88 win over 6A80, except in
//! GENERAL AUTHENTICATE, which reads its template first as a YubiKey does. What
//! depends on the card's state (a key that is missing, a login that is not there) is
//! the card's to answer.

mod auth;
mod data;
mod keys;
mod pin;
mod response;
mod select;
mod yubikey;

pub use auth::{AuthKey, GeneralAuthenticate};
pub use data::{GetData, PutData};
pub use keys::{GenerateAsymmetricKeyPair, ImportKey, MoveKey};
pub use pin::{ChangeReferenceData, ResetRetryCounter, Verify};
pub use response::GetResponse;
pub use select::Select;
pub use yubikey::{
    Attest, GetMetadata, GetSerial, GetVersion, Reset, SetManagementKey, SetPinRetries,
};

use super::{Instruction, PinPolicy, Slot, TouchPolicy};
use crate::{CommandApdu, StatusWord};

/// Declares the enum of all commands, each variant named as its instruction and holding
/// the type of the same name.
macro_rules! commands {
    ($($name:ident),* $(,)?) => {
        /// Any PIV command.
        #[derive(Debug, Clone)]
        pub enum PivCommand {
            $($name($name),)*
        }

        impl PivCommand {
            /// Reads the command its INS names; 6D00 for an instruction PIV does not have.
            pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
                match Instruction::from_byte(apdu.ins) {
                    $(Some(Instruction::$name) => $name::parse(apdu).map(Self::$name),)*
                    None => Err(StatusWord::INS_NOT_SUPPORTED),
                }
            }

            pub fn to_apdu(&self) -> CommandApdu {
                match self {
                    $(Self::$name(command) => command.to_apdu(),)*
                }
            }

            pub fn instruction(&self) -> Instruction {
                match self {
                    $(Self::$name(_) => Instruction::$name,)*
                }
            }
        }

        $(impl From<$name> for PivCommand {
            fn from(command: $name) -> Self {
                Self::$name(command)
            }
        })*
    };
}

commands! {
    Select,
    GetData,
    PutData,
    Verify,
    ChangeReferenceData,
    ResetRetryCounter,
    GeneralAuthenticate,
    GenerateAsymmetricKeyPair,
    GetResponse,
    GetVersion,
    GetSerial,
    GetMetadata,
    Attest,
    ImportKey,
    SetManagementKey,
    Reset,
    SetPinRetries,
    MoveKey,
}

/// A command of the basic logical channel without chaining or secure messaging;
/// chaining sets [`crate::apdu::CLA_CHAINING`] on all blocks but the last.
fn apdu(ins: Instruction, p1: u8, p2: u8) -> CommandApdu {
    CommandApdu::new(0x00, ins as u8, p1, p2)
}

/// Fails with 6A86 unless P1-P2 are as given.
fn expect_p1p2(apdu: &CommandApdu, p1p2: (u8, u8)) -> Result<(), StatusWord> {
    if (apdu.p1, apdu.p2) == p1p2 {
        Ok(())
    } else {
        Err(StatusWord::INCORRECT_P1P2)
    }
}

/// A slot a key may be generated in or moved to or from (6A86 otherwise): any but F9,
/// whose attestation key can only be imported.
fn key_slot(b: u8) -> Result<Slot, StatusWord> {
    match Slot::from_byte(b) {
        Some(Slot::Attestation) | None => Err(StatusWord::INCORRECT_P1P2),
        Some(slot) => Ok(slot),
    }
}

/// The PIN and touch policies of GENERATE and IMPORT KEY (tags AA and AB); 6A80 for a
/// byte that names no policy.
fn policies(
    pin: Option<u8>,
    touch: Option<u8>,
) -> Result<(Option<PinPolicy>, Option<TouchPolicy>), StatusWord> {
    let pin = pin
        .map(|b| PinPolicy::from_byte(b).ok_or(StatusWord::INCORRECT_DATA))
        .transpose()?;
    let touch = touch
        .map(|b| TouchPolicy::from_byte(b).ok_or(StatusWord::INCORRECT_DATA))
        .transpose()?;
    Ok((pin, touch))
}
