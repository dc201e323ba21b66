//! PIN and PUK reference data on the wire (SP 800-73-4 Part 2, §3.2.1): 6 to 8 bytes,
//! padded with FF to 8.

use zeroize::Zeroizing;

use super::KeyRef;

/// The PIN a PIV card leaves the factory with (YubiKey's, and most cards').
pub const FACTORY_PIN: &[u8] = b"123456";
/// The PUK a PIV card leaves the factory with.
pub const FACTORY_PUK: &[u8] = b"12345678";

/// What a cardholder knows: the PIN (key reference 80) or the PUK (81).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credential {
    Pin,
    Puk,
}

impl Credential {
    pub fn key_ref(self) -> KeyRef {
        match self {
            Self::Pin => KeyRef::PIN,
            Self::Puk => KeyRef::PUK,
        }
    }

    pub fn from_key_ref(key: KeyRef) -> Option<Self> {
        match key {
            KeyRef::PIN => Some(Self::Pin),
            KeyRef::PUK => Some(Self::Puk),
            _ => None,
        }
    }
}

/// A PIN or PUK as VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER carry it:
/// 8 bytes, padded with FF. Wiped when dropped, never printed.
#[derive(Clone)]
pub struct PaddedPin(Zeroizing<[u8; PADDED_LEN]>);

impl PaddedPin {
    /// Pads a value to 8 bytes (a longer value is cut to 8).
    pub fn pad(value: &[u8]) -> Self {
        Self(pad(value))
    }

    /// Exactly 8 bytes as they arrived, padding and all; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut padded = Zeroizing::new([0; PADDED_LEN]);
        (bytes.len() == PADDED_LEN).then(|| {
            padded.copy_from_slice(bytes);
            Self(padded)
        })
    }

    pub fn as_bytes(&self) -> &[u8; PADDED_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for PaddedPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaddedPin(redacted)")
    }
}

/// The length of a padded PIN or PUK.
pub const PADDED_LEN: usize = 8;
/// The padding byte.
pub const PAD: u8 = 0xFF;

/// Pads a value to 8 bytes with FF (a longer value is cut to 8).
pub fn pad(value: &[u8]) -> Zeroizing<[u8; PADDED_LEN]> {
    let mut out = Zeroizing::new([PAD; PADDED_LEN]);
    let n = value.len().min(PADDED_LEN);
    out[..n].copy_from_slice(&value[..n]);
    out
}

/// The length of a padded value before its padding (where the first FF is).
pub fn unpadded_len(padded: &[u8]) -> usize {
    padded
        .iter()
        .position(|&b| b == PAD)
        .unwrap_or(padded.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_with_ff() {
        assert_eq!(*pad(b"123456"), *b"123456\xFF\xFF");
        assert_eq!(*pad(b"12345678"), *b"12345678");
        assert_eq!(unpadded_len(&*pad(b"1234567")), 7);
        assert_eq!(PaddedPin::pad(b"123456").as_bytes(), b"123456\xFF\xFF");
        assert!(PaddedPin::from_slice(b"1234567").is_none());
        assert_eq!(
            format!("{:?}", PaddedPin::pad(b"123456")),
            "PaddedPin(redacted)"
        );
    }
}
