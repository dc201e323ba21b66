//! The kinds of PIV card a client meets, as card-sim plays them: a YubiKey, YubiKey-like
//! applets whose GET METADATA is missing or partial, and a plain SP 800-73-4 card. A client's
//! tests run each case on every flavour (`for flavour in Flavour::ALL`).

use crate::state::{CardConfig, MetadataSupport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// A YubiKey 5.7: every YubiKey instruction, full metadata.
    YubiKey,
    /// YubiKey's instructions but no GET METADATA (6D00).
    MetadataAbsent,
    /// YubiKey's instructions, and metadata without algorithm, policies and public key.
    MetadataPartial,
    /// SP 800-73-4 only.
    PlainPiv,
}

impl Flavour {
    pub const ALL: [Self; 4] = [
        Self::YubiKey,
        Self::MetadataAbsent,
        Self::MetadataPartial,
        Self::PlainPiv,
    ];

    /// `config`, changed to make a card of this flavour.
    pub fn configure(self, config: CardConfig) -> CardConfig {
        let (yubikey_extensions, metadata) = match self {
            Self::YubiKey => (true, MetadataSupport::Full),
            Self::MetadataAbsent => (true, MetadataSupport::Absent),
            Self::MetadataPartial => (true, MetadataSupport::Partial),
            Self::PlainPiv => (false, MetadataSupport::Full),
        };
        CardConfig {
            yubikey_extensions,
            metadata,
            ..config
        }
    }

    /// A factory-default card of this flavour.
    pub fn config(self) -> CardConfig {
        self.configure(CardConfig::default())
    }

    /// Whether the card answers YubiKey's instructions (version, serial, attestation,
    /// import, move, reset, …).
    pub fn yubikey_instructions(self) -> bool {
        self != Self::PlainPiv
    }

    /// Whether the card answers GET METADATA at all (if only in part).
    pub fn answers_metadata(self) -> bool {
        matches!(self, Self::YubiKey | Self::MetadataPartial)
    }

    /// Whether GET METADATA describes keys in full (algorithm, policies, public key).
    pub fn full_metadata(self) -> bool {
        self == Self::YubiKey
    }
}

/// One test per flavour for each case named: `fn case(flavour: Flavour)` becomes the tests
/// `case::yubikey`, `case::metadata_absent`, `case::metadata_partial` and `case::plain_piv`,
/// so a failure names its flavour and the flavours run in parallel.
#[macro_export]
macro_rules! test_each_flavour {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn yubikey() {
                super::$case($crate::Flavour::YubiKey)
            }
            #[test]
            fn metadata_absent() {
                super::$case($crate::Flavour::MetadataAbsent)
            }
            #[test]
            fn metadata_partial() {
                super::$case($crate::Flavour::MetadataPartial)
            }
            #[test]
            fn plain_piv() {
                super::$case($crate::Flavour::PlainPiv)
            }
        }
    )*};
}
