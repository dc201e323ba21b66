//! GENERATE ASYMMETRIC KEY PAIR (47), and YubiKey's IMPORT KEY (FE) and MOVE KEY (F6).

use super::{apdu, key_slot, policies};
use crate::apdu::SHORT_MAX_LE;
use crate::piv::templates::{GenerateRequest, ImportKeyData, ImportedKey};
use crate::piv::{Algorithm, Instruction, PinPolicy, Slot, TouchPolicy};
use crate::{CommandApdu, StatusWord};

/// P1 of GENERATE.
const GENERATE_P1: u8 = 0x00;
/// MOVE KEY with this destination (P1) deletes the key.
const DELETE: u8 = 0xFF;

/// Generates a key pair in a slot (not F9); the card answers with the public key (7F49).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateAsymmetricKeyPair {
    pub slot: Slot,
    pub algorithm: Algorithm,
    /// `None`: the slot's default.
    pub pin_policy: Option<PinPolicy>,
    pub touch_policy: Option<TouchPolicy>,
}

impl GenerateAsymmetricKeyPair {
    pub fn to_apdu(&self) -> CommandApdu {
        let request = GenerateRequest {
            algorithm: self.algorithm.to_byte(),
            pin_policy: self.pin_policy.map(|p| p as u8),
            touch_policy: self.touch_policy.map(|t| t as u8),
        };
        apdu(
            Instruction::GenerateAsymmetricKeyPair,
            GENERATE_P1,
            self.slot.to_byte(),
        )
        .with_data(request.encode())
        .with_le(SHORT_MAX_LE)
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        if apdu.p1 != GENERATE_P1 {
            return Err(StatusWord::INCORRECT_P1P2);
        }
        let slot = key_slot(apdu.p2)?;
        let request = GenerateRequest::parse(&apdu.data).map_err(|_| StatusWord::INCORRECT_DATA)?;
        let algorithm = Algorithm::from_byte(request.algorithm)
            .filter(|a| a.is_asymmetric())
            .ok_or(StatusWord::INCORRECT_DATA)?;
        let (pin_policy, touch_policy) = policies(request.pin_policy, request.touch_policy)?;
        Ok(Self {
            slot,
            algorithm,
            pin_policy,
            touch_policy,
        })
    }
}

/// Imports a private key into a slot (F9 included: the attestation key may be replaced).
#[derive(Debug, Clone)]
pub struct ImportKey {
    pub slot: Slot,
    pub algorithm: Algorithm,
    /// Wiped when dropped.
    pub key: ImportedKey,
    /// `None`: the slot's default.
    pub pin_policy: Option<PinPolicy>,
    pub touch_policy: Option<TouchPolicy>,
}

impl ImportKey {
    pub fn to_apdu(&self) -> CommandApdu {
        let data = ImportKeyData {
            key: self.key.clone(),
            pin_policy: self.pin_policy.map(|p| p as u8),
            touch_policy: self.touch_policy.map(|t| t as u8),
        };
        apdu(
            Instruction::ImportKey,
            self.algorithm.to_byte(),
            self.slot.to_byte(),
        )
        .with_data(data.encode())
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        let algorithm = Algorithm::from_byte(apdu.p1)
            .filter(|a| a.is_asymmetric())
            .ok_or(StatusWord::INCORRECT_P1P2)?;
        let slot = Slot::from_byte(apdu.p2).ok_or(StatusWord::INCORRECT_P1P2)?;
        let data =
            ImportKeyData::parse(algorithm, &apdu.data).map_err(|_| StatusWord::INCORRECT_DATA)?;
        let (pin_policy, touch_policy) = policies(data.pin_policy, data.touch_policy)?;
        Ok(Self {
            slot,
            algorithm,
            key: data.key,
            pin_policy,
            touch_policy,
        })
    }
}

/// Moves a key to an empty slot, or deletes it (YubiKey 5.7). Neither touches F9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveKey {
    pub source: Slot,
    /// Where the key goes; `None` deletes it.
    pub destination: Option<Slot>,
}

impl MoveKey {
    pub fn to_apdu(&self) -> CommandApdu {
        let p1 = self.destination.map_or(DELETE, Slot::to_byte);
        apdu(Instruction::MoveKey, p1, self.source.to_byte())
    }

    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        let source = key_slot(apdu.p2)?;
        let destination = match apdu.p1 {
            DELETE => None,
            p1 => Some(key_slot(p1)?),
        };
        Ok(Self {
            source,
            destination,
        })
    }
}
