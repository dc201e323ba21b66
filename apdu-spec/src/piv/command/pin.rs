//! VERIFY (20), CHANGE REFERENCE DATA (24) and RESET RETRY COUNTER (2C): the PIN and PUK,
//! each FF-padded to 8 bytes.

use super::apdu;
use crate::piv::reference_data::{Credential, PADDED_LEN, PaddedPin};
use crate::piv::{Instruction, KeyRef};
use crate::{CommandApdu, StatusWord};

/// VERIFY P1 00: check the PIN, or without data ask whether it is verified.
const CHECK: u8 = 0x00;
/// VERIFY P1 FF: forget the PIN's verification.
const LOG_OUT: u8 = 0xFF;
/// P1 of CHANGE REFERENCE DATA and RESET RETRY COUNTER.
const P1: u8 = 0x00;

#[derive(Debug, Clone)]
pub enum Verify {
    /// Checks the PIN.
    Pin(PaddedPin),
    /// Asks whether the PIN is verified: 9000, or 63Cx with the tries left.
    Status,
    /// Forgets the PIN's verification (YubiKey 5.4.3 and later).
    LogOut,
}

impl Verify {
    pub fn to_apdu(&self) -> CommandApdu {
        let pin = KeyRef::PIN.0;
        match self {
            Self::Pin(value) => {
                apdu(Instruction::Verify, CHECK, pin).with_data(value.as_bytes().to_vec())
            }
            Self::Status => apdu(Instruction::Verify, CHECK, pin),
            Self::LogOut => apdu(Instruction::Verify, LOG_OUT, pin),
        }
    }

    /// Only the PIN is verified (6A88 for any other key reference).
    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        if !matches!(apdu.p1, CHECK | LOG_OUT) {
            return Err(StatusWord::INCORRECT_P1P2);
        }
        if KeyRef(apdu.p2) != KeyRef::PIN {
            return Err(StatusWord::REFERENCE_DATA_NOT_FOUND);
        }
        match (apdu.p1, apdu.data.as_slice()) {
            (LOG_OUT, []) => Ok(Self::LogOut),
            (LOG_OUT, _) => Err(StatusWord::INCORRECT_DATA),
            (_, []) => Ok(Self::Status),
            (_, value) => PaddedPin::from_slice(value)
                .map(Self::Pin)
                .ok_or(StatusWord::INCORRECT_DATA),
        }
    }
}

/// Replaces the PIN or the PUK, proving the current value.
#[derive(Debug, Clone)]
pub struct ChangeReferenceData {
    pub credential: Credential,
    pub current: PaddedPin,
    pub new: PaddedPin,
}

impl ChangeReferenceData {
    pub fn to_apdu(&self) -> CommandApdu {
        apdu(
            Instruction::ChangeReferenceData,
            P1,
            self.credential.key_ref().0,
        )
        .with_data(pair(&self.current, &self.new))
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        if apdu.p1 != P1 {
            return Err(StatusWord::INCORRECT_P1P2);
        }
        let credential = Credential::from_key_ref(KeyRef(apdu.p2))
            .ok_or(StatusWord::REFERENCE_DATA_NOT_FOUND)?;
        let (current, new) = split_pair(&apdu.data)?;
        Ok(Self {
            credential,
            current,
            new,
        })
    }
}

/// Sets a new PIN and unblocks it, proving the PUK.
#[derive(Debug, Clone)]
pub struct ResetRetryCounter {
    pub puk: PaddedPin,
    pub new_pin: PaddedPin,
}

impl ResetRetryCounter {
    pub fn to_apdu(&self) -> CommandApdu {
        apdu(Instruction::ResetRetryCounter, P1, KeyRef::PIN.0)
            .with_data(pair(&self.puk, &self.new_pin))
    }

    /// Only the PIN is reset (6A88 for any other key reference).
    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        if apdu.p1 != P1 {
            return Err(StatusWord::INCORRECT_P1P2);
        }
        if KeyRef(apdu.p2) != KeyRef::PIN {
            return Err(StatusWord::REFERENCE_DATA_NOT_FOUND);
        }
        let (puk, new_pin) = split_pair(&apdu.data)?;
        Ok(Self { puk, new_pin })
    }
}

/// The data field of CHANGE REFERENCE DATA and RESET RETRY COUNTER: two padded values.
fn pair(first: &PaddedPin, second: &PaddedPin) -> Vec<u8> {
    [first.as_bytes().as_slice(), second.as_bytes()].concat()
}

/// The two halves of [`pair`]; 6A80 unless the data is exactly 16 bytes.
fn split_pair(data: &[u8]) -> Result<(PaddedPin, PaddedPin), StatusWord> {
    if data.len() != 2 * PADDED_LEN {
        return Err(StatusWord::INCORRECT_DATA);
    }
    let (first, second) = data.split_at(PADDED_LEN);
    PaddedPin::from_slice(first)
        .zip(PaddedPin::from_slice(second))
        .ok_or(StatusWord::INCORRECT_DATA)
}
