//! The card models card-sim plays: which firmware a card reports, its ATR, the instructions
//! and algorithms it knows, and its factory management key. A profile is chosen when a
//! card is made and kept in its state file.
//!
//! What changed between YubiKey firmware versions (Yubico's release notes, yubikit's
//! version checks): attestation with 4.3, GET SERIAL with 5.0, GET METADATA with 5.3, AES
//! management keys with 5.4, VERIFY P1=FF (log out) with 5.4.3; RSA-3072/4096, Ed25519,
//! X25519, MOVE/DELETE KEY and an AES-192 factory management key with 5.7. A plain
//! SP 800-73-4 card knows none of YubiKey's instructions.

use std::fmt;
use std::str::FromStr;

use apdu_spec::piv::{Algorithm, Instruction};

use crate::atr;
use crate::state::CardConfig;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// What Debian's PIV tools work with: a YubiKey 5.7 in every instruction and algorithm,
    /// but with a 3DES factory management key (yubico-piv-tool 2.2 and OpenSC's piv-tool
    /// know no other) and an ATR that names no product, so clients probe it as any PIV card.
    #[default]
    YubiKey,
    /// A YubiKey 5.7 as it ships: AES-192 management key, YubiKey 5 ATR.
    YubiKey57,
    /// A YubiKey 5.4.3: 3DES management key (AES may be set), no RSA-3072/4096, no
    /// Ed25519/X25519, no MOVE/DELETE KEY.
    YubiKey54,
    /// A YubiKey 4.3.7: no GET SERIAL, no GET METADATA, no AES, no log-out VERIFY, and the
    /// algorithms of 5.4.
    YubiKey43,
    /// A plain SP 800-73-4 PIV card: none of YubiKey's instructions, and the CHUID, CCC and
    /// Discovery object of a card at issue.
    Piv,
}

/// The asymmetric algorithms before YubiKey 5.7, and those of SP 800-78-4 plus RSA-1024.
const CLASSIC_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Rsa1024,
    Algorithm::Rsa2048,
    Algorithm::EccP256,
    Algorithm::EccP384,
];

/// SP 800-78-4 Table 3-1: the key algorithms a PIV card holds (RSA-1024 retired in 2014).
const PIV_ALGORITHMS: [Algorithm; 3] = [Algorithm::Rsa2048, Algorithm::EccP256, Algorithm::EccP384];

impl Profile {
    pub const ALL: [Self; 5] = [
        Self::YubiKey,
        Self::YubiKey57,
        Self::YubiKey54,
        Self::YubiKey43,
        Self::Piv,
    ];

    /// The name on the command line and in the state file.
    pub fn name(self) -> &'static str {
        match self {
            Self::YubiKey => "yubikey",
            Self::YubiKey57 => "yubikey-5.7",
            Self::YubiKey54 => "yubikey-5.4",
            Self::YubiKey43 => "yubikey-4.3",
            Self::Piv => "piv",
        }
    }

    /// What the profile models, for `card-sim show` and `--help`.
    pub fn description(self) -> &'static str {
        match self {
            Self::YubiKey => "YubiKey 5.7 with a 3DES management key and a generic PIV ATR",
            Self::YubiKey57 => "YubiKey 5.7, as shipped (AES-192 management key)",
            Self::YubiKey54 => "YubiKey 5.4.3",
            Self::YubiKey43 => "YubiKey 4.3.7 (no metadata, no AES)",
            Self::Piv => "plain SP 800-73-4 PIV card",
        }
    }

    /// The version GET VERSION reports; a plain PIV card has no such instruction.
    pub fn firmware(self) -> Option<[u8; 3]> {
        match self {
            Self::YubiKey | Self::YubiKey57 => Some([5, 7, 1]),
            Self::YubiKey54 => Some([5, 4, 3]),
            Self::YubiKey43 => Some([4, 3, 7]),
            Self::Piv => None,
        }
    }

    pub fn atr(self) -> &'static [u8] {
        match self {
            Self::YubiKey => &atr::ATR,
            Self::YubiKey57 | Self::YubiKey54 => &atr::YUBIKEY_5,
            Self::YubiKey43 => &atr::YUBIKEY_4,
            Self::Piv => &atr::ID_ONE_PIV,
        }
    }

    /// Whether the card answers YubiKey's own instructions at all.
    pub fn is_yubikey(self) -> bool {
        self != Self::Piv
    }

    /// Whether a card of this profile may have YubiKey's extensions on (`on`) or off: a
    /// model has them all, a plain PIV card none, and only the default profile may be
    /// either.
    pub fn allows_extensions(self, on: bool) -> bool {
        match self {
            Self::YubiKey => true,
            Self::Piv => !on,
            _ => on,
        }
    }

    /// Whether this model knows `ins` (before the choices of [`CardConfig`] narrow it).
    pub fn knows(self, ins: Instruction) -> bool {
        if !ins.is_yubikey_extension() {
            return true;
        }
        match self {
            Self::YubiKey | Self::YubiKey57 => true,
            Self::YubiKey54 => ins != Instruction::MoveKey,
            Self::YubiKey43 => !matches!(
                ins,
                Instruction::MoveKey | Instruction::GetMetadata | Instruction::GetSerial
            ),
            Self::Piv => false,
        }
    }

    /// Whether VERIFY with P1=FF drops the PIN's verified state (SP 800-73-4; YubiKey 5.4.3).
    pub fn logs_out_with_verify(self) -> bool {
        self != Self::YubiKey43
    }

    /// The key algorithms the card generates and imports.
    pub fn key_algorithms(self) -> &'static [Algorithm] {
        match self {
            Self::YubiKey | Self::YubiKey57 => &Algorithm::ASYMMETRIC,
            Self::YubiKey54 | Self::YubiKey43 => &CLASSIC_ALGORITHMS,
            Self::Piv => &PIV_ALGORITHMS,
        }
    }

    pub fn supports_key_algorithm(self, algorithm: Algorithm) -> bool {
        self.key_algorithms().contains(&algorithm)
    }

    /// Whether the management key may be of `algorithm` (AES came with YubiKey 5.4).
    pub fn supports_management_algorithm(self, algorithm: Algorithm) -> bool {
        algorithm.is_symmetric() && (self != Self::YubiKey43 || algorithm == Algorithm::Tdes)
    }

    /// The management key algorithm of a card out of the box.
    pub fn factory_management_algorithm(self) -> Algorithm {
        match self {
            Self::YubiKey57 => Algorithm::Aes192,
            _ => Algorithm::Tdes,
        }
    }

    /// Whether a fresh card carries a CHUID. A card at issue does; a YubiKey has none until
    /// a client writes one (GET DATA 6A82). The default profile keeps the one it always
    /// had: yubico-piv-tool's status shows it, and OpenSC, to which the generic ATR names no
    /// YubiKey, takes the token's serial number from its GUID.
    pub fn issues_chuid(self) -> bool {
        matches!(self, Self::YubiKey | Self::Piv)
    }

    /// Whether SELECT answers with a label and the algorithm list (SP 800-73-4 §3.1.1). A
    /// YubiKey sends only the PIX and the allocation authority.
    pub fn select_lists_algorithms(self) -> bool {
        matches!(self, Self::YubiKey | Self::Piv)
    }

    /// A factory-default card of this profile.
    pub fn config(self) -> CardConfig {
        CardConfig {
            profile: self,
            management_algorithm: self.factory_management_algorithm(),
            yubikey_extensions: self.is_yubikey(),
            ..CardConfig::default()
        }
    }
}

impl From<Profile> for CardConfig {
    fn from(profile: Profile) -> Self {
        profile.config()
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown profile \"{0}\" (known: yubikey, yubikey-5.7, yubikey-5.4, yubikey-4.3, piv)")]
pub struct UnknownProfile(String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownProfile(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for profile in Profile::ALL {
            assert_eq!(profile.name().parse::<Profile>().unwrap(), profile);
        }
        assert!("yubikey-5".parse::<Profile>().is_err());
    }

    #[test]
    fn instructions_follow_the_firmware_history() {
        use Instruction::*;
        let knows = |p: Profile, ins| p.knows(ins);
        assert!(knows(Profile::YubiKey57, MoveKey) && !knows(Profile::YubiKey54, MoveKey));
        assert!(knows(Profile::YubiKey54, GetMetadata) && !knows(Profile::YubiKey43, GetMetadata));
        assert!(knows(Profile::YubiKey54, GetSerial) && !knows(Profile::YubiKey43, GetSerial));
        assert!(knows(Profile::YubiKey43, Attest) && !knows(Profile::Piv, Attest));
        assert!(knows(Profile::Piv, GeneralAuthenticate));
        assert!(!Profile::YubiKey54.supports_key_algorithm(Algorithm::Ed25519));
        assert!(!Profile::YubiKey43.supports_management_algorithm(Algorithm::Aes128));
        assert!(Profile::YubiKey54.supports_management_algorithm(Algorithm::Aes128));
        assert_eq!(
            Profile::YubiKey57.factory_management_algorithm(),
            Algorithm::Aes192
        );
    }
}
