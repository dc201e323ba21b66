//! Cryptographic algorithm identifiers (SP 800-78-4 Table 6-2, plus YubiKey's).

/// An algorithm identifier as P1 of GENERAL AUTHENTICATE or tag 80 of the AC template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Algorithm {
    Tdes = 0x03,
    Aes128 = 0x08,
    Aes192 = 0x0A,
    Aes256 = 0x0C,
    Rsa1024 = 0x06,
    Rsa2048 = 0x07,
    /// YubiKey 5.7.
    Rsa3072 = 0x05,
    /// YubiKey 5.7.
    Rsa4096 = 0x16,
    EccP256 = 0x11,
    EccP384 = 0x14,
    /// YubiKey 5.7.
    Ed25519 = 0xE0,
    /// YubiKey 5.7.
    X25519 = 0xE1,
    /// The algorithm metadata reports for a PIN or PUK.
    PinPuk = 0xFF,
}

impl Algorithm {
    /// The asymmetric algorithms a key slot can hold.
    pub const ASYMMETRIC: [Algorithm; 8] = [
        Self::Rsa1024,
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
        Self::EccP256,
        Self::EccP384,
        Self::Ed25519,
        Self::X25519,
    ];

    /// The management key algorithms.
    pub const SYMMETRIC: [Algorithm; 4] = [Self::Tdes, Self::Aes128, Self::Aes192, Self::Aes256];

    pub fn from_byte(b: u8) -> Option<Self> {
        Self::ASYMMETRIC
            .into_iter()
            .chain(Self::SYMMETRIC)
            .chain([Self::PinPuk])
            .find(|a| *a as u8 == b)
    }

    pub fn to_byte(self) -> u8 {
        self as u8
    }

    pub fn is_symmetric(self) -> bool {
        Self::SYMMETRIC.contains(&self)
    }

    pub fn is_asymmetric(self) -> bool {
        Self::ASYMMETRIC.contains(&self)
    }

    /// The modulus size of an RSA algorithm.
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            Self::Rsa1024 => Some(1024),
            Self::Rsa2048 => Some(2048),
            Self::Rsa3072 => Some(3072),
            Self::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    /// The RSA algorithm with this modulus size; PIV knows no other sizes.
    pub fn rsa_with_bits(bits: usize) -> Option<Self> {
        [Self::Rsa1024, Self::Rsa2048, Self::Rsa3072, Self::Rsa4096]
            .into_iter()
            .find(|a| a.rsa_bits() == Some(bits))
    }

    pub fn is_rsa(self) -> bool {
        self.rsa_bits().is_some()
    }

    /// The key length in bytes of a management key algorithm.
    pub fn symmetric_key_len(self) -> Option<usize> {
        match self {
            Self::Tdes | Self::Aes192 => Some(24),
            Self::Aes128 => Some(16),
            Self::Aes256 => Some(32),
            _ => None,
        }
    }

    /// The cipher block size of a management key algorithm (the challenge length).
    pub fn block_size(self) -> Option<usize> {
        match self {
            Self::Tdes => Some(8),
            Self::Aes128 | Self::Aes192 | Self::Aes256 => Some(16),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Tdes => "3DES",
            Self::Aes128 => "AES-128",
            Self::Aes192 => "AES-192",
            Self::Aes256 => "AES-256",
            Self::Rsa1024 => "RSA-1024",
            Self::Rsa2048 => "RSA-2048",
            Self::Rsa3072 => "RSA-3072",
            Self::Rsa4096 => "RSA-4096",
            Self::EccP256 => "ECC P-256",
            Self::EccP384 => "ECC P-384",
            Self::Ed25519 => "Ed25519",
            Self::X25519 => "X25519",
            Self::PinPuk => "PIN/PUK",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;

    /// Accepts names as tools spell them: `rsa2048`, `RSA-2048`, `p256`, `eccp256`, `ed25519`,
    /// `aes192`, `3des`, `tdes`.
    fn from_str(s: &str) -> Result<Self, String> {
        let key: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let alg = match key.as_str() {
            "3des" | "tdes" | "des3" => Self::Tdes,
            "aes128" => Self::Aes128,
            "aes192" => Self::Aes192,
            "aes256" => Self::Aes256,
            "rsa1024" => Self::Rsa1024,
            "rsa2048" => Self::Rsa2048,
            "rsa3072" => Self::Rsa3072,
            "rsa4096" => Self::Rsa4096,
            "p256" | "eccp256" | "ecp256" | "secp256r1" => Self::EccP256,
            "p384" | "eccp384" | "ecp384" | "secp384r1" => Self::EccP384,
            "ed25519" => Self::Ed25519,
            "x25519" => Self::X25519,
            _ => return Err(format!("unknown algorithm '{s}'")),
        };
        Ok(alg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        for b in 0..=255u8 {
            if let Some(a) = Algorithm::from_byte(b) {
                assert_eq!(a.to_byte(), b);
            }
        }
        assert_eq!(Algorithm::from_byte(0x16), Some(Algorithm::Rsa4096));
        assert_eq!(Algorithm::from_byte(0x01), None);
        assert_eq!("RSA-2048".parse(), Ok(Algorithm::Rsa2048));
    }
}
