//! YubiKey's private instructions: GET VERSION (FD), GET SERIAL (F8), GET METADATA (F7),
//! ATTEST (F9), SET MANAGEMENT KEY (FF), RESET (FB) and SET PIN RETRIES (FA).

use super::{apdu, expect_p1p2};
use crate::apdu::SHORT_MAX_LE;
use crate::piv::mgmt_key::ManagementKey;
use crate::piv::templates::ManagementKeyData;
use crate::piv::{Algorithm, Instruction, KeyRef, Slot};
use crate::{CommandApdu, StatusWord};

/// P1 of SET MANAGEMENT KEY.
const SET_MANAGEMENT_KEY_P1: u8 = 0xFF;
/// P2 of SET MANAGEMENT KEY: FF for a key used without touch, FE for one that needs it.
const NO_TOUCH: u8 = 0xFF;
const TOUCH: u8 = 0xFE;

/// The firmware version: 3 bytes. The card reads neither P1-P2 nor data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetVersion;

impl GetVersion {
    pub fn to_apdu(&self) -> CommandApdu {
        apdu(Instruction::GetVersion, 0x00, 0x00).with_le(SHORT_MAX_LE)
    }

    pub fn parse(_: &CommandApdu) -> Result<Self, StatusWord> {
        Ok(Self)
    }
}

/// The serial number: 4 bytes, big-endian. The card reads neither P1-P2 nor data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetSerial;

impl GetSerial {
    pub fn to_apdu(&self) -> CommandApdu {
        apdu(Instruction::GetSerial, 0x00, 0x00).with_le(SHORT_MAX_LE)
    }

    pub fn parse(_: &CommandApdu) -> Result<Self, StatusWord> {
        Ok(Self)
    }
}

/// The metadata of a PIN, the PUK, the management key or a key slot. A key reference
/// the card has nothing for is the card's to answer (6A88).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetMetadata {
    pub key: KeyRef,
}

impl GetMetadata {
    pub fn to_apdu(&self) -> CommandApdu {
        apdu(Instruction::GetMetadata, 0x00, self.key.0).with_le(SHORT_MAX_LE)
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        if apdu.p1 != 0x00 {
            return Err(StatusWord::INCORRECT_P1P2);
        }
        Ok(Self {
            key: KeyRef(apdu.p2),
        })
    }
}

/// The attestation certificate of the key generated in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attest {
    pub slot: Slot,
}

impl Attest {
    pub fn to_apdu(&self) -> CommandApdu {
        apdu(Instruction::Attest, self.slot.to_byte(), 0x00).with_le(SHORT_MAX_LE)
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        if apdu.p2 != 0x00 {
            return Err(StatusWord::INCORRECT_P1P2);
        }
        let slot = Slot::from_byte(apdu.p1).ok_or(StatusWord::INCORRECT_P1P2)?;
        Ok(Self { slot })
    }
}

/// Replaces the management key; whether it needs touch travels in P2.
#[derive(Debug, Clone)]
pub struct SetManagementKey {
    /// The new key, with its touch requirement.
    pub key: ManagementKey,
}

impl SetManagementKey {
    pub fn to_apdu(&self) -> CommandApdu {
        let p2 = if self.key.touch_required {
            TOUCH
        } else {
            NO_TOUCH
        };
        let data = ManagementKeyData {
            algorithm: self.key.algorithm().to_byte(),
            key: self.key.key_bytes().to_vec(),
        };
        apdu(Instruction::SetManagementKey, SET_MANAGEMENT_KEY_P1, p2).with_data(data.encode())
    }

    /// 6A80 for a key that is not a management key algorithm's length.
    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        if apdu.p1 != SET_MANAGEMENT_KEY_P1 || !matches!(apdu.p2, NO_TOUCH | TOUCH) {
            return Err(StatusWord::INCORRECT_P1P2);
        }
        let data = ManagementKeyData::parse(&apdu.data).map_err(|_| StatusWord::INCORRECT_DATA)?;
        let algorithm = Algorithm::from_byte(data.algorithm).ok_or(StatusWord::INCORRECT_DATA)?;
        let mut key = ManagementKey::new(algorithm, &data.key).ok_or(StatusWord::INCORRECT_DATA)?;
        key.touch_required = apdu.p2 == TOUCH;
        Ok(Self { key })
    }
}

/// Resets the PIV application to factory state (the card allows it only when PIN and
/// PUK are both blocked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reset;

impl Reset {
    pub fn to_apdu(&self) -> CommandApdu {
        apdu(Instruction::Reset, 0x00, 0x00)
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        expect_p1p2(apdu, (0x00, 0x00))?;
        Ok(Self)
    }
}

/// Sets how many tries the PIN and the PUK get (1 to 255 each, 6A86 for 0); both go back
/// to their default values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetPinRetries {
    pub pin_tries: u8,
    pub puk_tries: u8,
}

impl SetPinRetries {
    pub fn to_apdu(&self) -> CommandApdu {
        apdu(Instruction::SetPinRetries, self.pin_tries, self.puk_tries)
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        if apdu.p1 == 0 || apdu.p2 == 0 {
            return Err(StatusWord::INCORRECT_P1P2);
        }
        Ok(Self {
            pin_tries: apdu.p1,
            puk_tries: apdu.p2,
        })
    }
}
