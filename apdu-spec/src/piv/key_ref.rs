//! Key references (SP 800-73-4 Part 1, Table 4): PINs, the management key and key slots.

use super::object::ObjectId;

/// A key reference as P2 of VERIFY, GENERAL AUTHENTICATE and friends carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyRef(pub u8);

impl KeyRef {
    pub const GLOBAL_PIN: Self = Self(0x00);
    pub const PIN: Self = Self(0x80);
    pub const PUK: Self = Self(0x81);
    pub const MANAGEMENT: Self = Self(0x9B);
}

/// A slot that holds an asymmetric key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// 9A, PIV Authentication.
    Authentication,
    /// 9C, Digital Signature.
    Signature,
    /// 9D, Key Management.
    KeyManagement,
    /// 9E, Card Authentication.
    CardAuthentication,
    /// 82–95, retired key management keys 1–20.
    Retired(Retired),
    /// F9, YubiKey's attestation key.
    Attestation,
}

/// The number of a retired key management slot, 1 to 20 (key references 82–95); only
/// valid numbers can be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Retired(u8);

impl Retired {
    pub const fn new(n: u8) -> Option<Self> {
        if n >= 1 && n <= 20 {
            Some(Self(n))
        } else {
            None
        }
    }

    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Slot {
    /// Retired key management slot `n` (1–20).
    pub const fn retired(n: u8) -> Option<Self> {
        match Retired::new(n) {
            Some(r) => Some(Self::Retired(r)),
            None => None,
        }
    }

    /// Every slot, in key reference order.
    pub fn all() -> impl Iterator<Item = Slot> {
        (0x82..=0x95)
            .chain([0x9A, 0x9C, 0x9D, 0x9E, 0xF9])
            .filter_map(Slot::from_byte)
    }

    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x9A => Some(Self::Authentication),
            0x9C => Some(Self::Signature),
            0x9D => Some(Self::KeyManagement),
            0x9E => Some(Self::CardAuthentication),
            0x82..=0x95 => Self::retired(b - 0x81),
            0xF9 => Some(Self::Attestation),
            _ => None,
        }
    }

    pub fn to_byte(self) -> u8 {
        match self {
            Self::Authentication => 0x9A,
            Self::Signature => 0x9C,
            Self::KeyManagement => 0x9D,
            Self::CardAuthentication => 0x9E,
            Self::Retired(n) => 0x81 + n.get(),
            Self::Attestation => 0xF9,
        }
    }

    pub fn key_ref(self) -> KeyRef {
        KeyRef(self.to_byte())
    }

    /// The data object that holds this slot's certificate.
    pub fn certificate_object(self) -> ObjectId {
        match self {
            Self::Authentication => ObjectId::CERT_AUTHENTICATION,
            Self::Signature => ObjectId::CERT_SIGNATURE,
            Self::KeyManagement => ObjectId::CERT_KEY_MANAGEMENT,
            Self::CardAuthentication => ObjectId::CERT_CARD_AUTHENTICATION,
            Self::Retired(n) => {
                ObjectId::retired_certificate(n.get()).unwrap_or(ObjectId::CERT_KEY_MANAGEMENT)
            }
            Self::Attestation => ObjectId::YUBICO_ATTESTATION_CERT,
        }
    }

    pub fn name(self) -> String {
        match self {
            Self::Authentication => "9a (PIV Authentication)".into(),
            Self::Signature => "9c (Digital Signature)".into(),
            Self::KeyManagement => "9d (Key Management)".into(),
            Self::CardAuthentication => "9e (Card Authentication)".into(),
            Self::Retired(n) => format!(
                "{:02x} (Retired Key Management {})",
                0x81 + n.get(),
                n.get()
            ),
            Self::Attestation => "f9 (Attestation)".into(),
        }
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02x}", self.to_byte())
    }
}

impl std::str::FromStr for Slot {
    type Err = String;

    /// Accepts the key reference in hex (`9c`, `0x9c`) or a name (`signature`).
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        let named = match lower.as_str() {
            "authentication" | "auth" => Some(Self::Authentication),
            "signature" | "sign" => Some(Self::Signature),
            "key-management" | "keymgmt" => Some(Self::KeyManagement),
            "card-authentication" | "card-auth" => Some(Self::CardAuthentication),
            "attestation" => Some(Self::Attestation),
            _ => None,
        };
        named
            .or_else(|| {
                u8::from_str_radix(lower.trim_start_matches("0x"), 16)
                    .ok()
                    .and_then(Self::from_byte)
            })
            .ok_or_else(|| format!("'{s}' is not a PIV key slot (9a, 9c, 9d, 9e, 82-95, f9)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip_their_key_reference() {
        assert_eq!(Slot::all().count(), 25);
        for slot in Slot::all() {
            assert_eq!(Slot::from_byte(slot.to_byte()), Some(slot));
        }
        assert_eq!(Slot::from_byte(0x82), Slot::retired(1));
        assert_eq!((Slot::retired(0), Slot::retired(21)), (None, None));
        assert_eq!(Slot::retired(20).unwrap().to_byte(), 0x95);
        assert_eq!(
            Slot::retired(20).unwrap().certificate_object(),
            ObjectId(0x5FC120)
        );
        assert_eq!("9C".parse::<Slot>(), Ok(Slot::Signature));
        assert!("9b".parse::<Slot>().is_err());
    }
}
