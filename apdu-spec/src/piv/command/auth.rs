//! GENERAL AUTHENTICATE (87): the management key's challenge-response, and the private
//! key operations of the key slots, each carried in a dynamic authentication template.

use zeroize::Zeroizing;

use super::apdu;
use crate::apdu::SHORT_MAX_LE;
use crate::piv::templates::DynamicAuth;
use crate::piv::{Algorithm, Instruction, KeyRef, Slot};
use crate::{CommandApdu, StatusWord};

/// The key a GENERAL AUTHENTICATE uses (P2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKey {
    /// 9B: authenticates the host with the management key.
    Management,
    /// Signs, decrypts or agrees a key with the private key in a slot.
    Slot(Slot),
}

impl AuthKey {
    pub fn key_ref(self) -> KeyRef {
        match self {
            Self::Management => KeyRef::MANAGEMENT,
            Self::Slot(slot) => slot.key_ref(),
        }
    }

    pub fn from_key_ref(key: KeyRef) -> Option<Self> {
        match key {
            KeyRef::MANAGEMENT => Some(Self::Management),
            KeyRef(b) => Slot::from_byte(b).map(Self::Slot),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GeneralAuthenticate {
    /// The algorithm of the key (P1).
    pub algorithm: Algorithm,
    pub key: AuthKey,
    /// Witnesses, challenges and the data to sign or decrypt; wiped when dropped.
    pub template: Zeroizing<DynamicAuth>,
}

impl GeneralAuthenticate {
    pub fn new(algorithm: Algorithm, key: AuthKey, template: DynamicAuth) -> Self {
        Self {
            algorithm,
            key,
            template: Zeroizing::new(template),
        }
    }

    pub fn to_apdu(&self) -> CommandApdu {
        apdu(
            Instruction::GeneralAuthenticate,
            self.algorithm.to_byte(),
            self.key.key_ref().0,
        )
        .with_data(self.template.encode())
        .with_le(SHORT_MAX_LE)
    }

    /// P1 names any algorithm; the template must parse before P2 is judged.
    pub fn parse(apdu: &CommandApdu) -> Result<Self, StatusWord> {
        let algorithm = Algorithm::from_byte(apdu.p1).ok_or(StatusWord::INCORRECT_P1P2)?;
        let template =
            Zeroizing::new(DynamicAuth::parse(&apdu.data).map_err(|_| StatusWord::INCORRECT_DATA)?);
        let key = AuthKey::from_key_ref(KeyRef(apdu.p2)).ok_or(StatusWord::INCORRECT_P1P2)?;
        Ok(Self {
            algorithm,
            key,
            template,
        })
    }
}
