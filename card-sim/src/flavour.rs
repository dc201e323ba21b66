//! The kinds of PIV card a client meets, as card-sim plays them: every [`Profile`] (the
//! YubiKey models and a plain SP 800-73-4 card), and YubiKey-like applets whose GET METADATA
//! is missing or partial. A client's tests run each case on every flavour
//! ([`test_each_flavour!`]).

use crate::profile::Profile;
use crate::state::{CardConfig, MetadataSupport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// The default profile: a YubiKey 5.7 with a 3DES management key.
    YubiKey,
    /// A YubiKey 5.7 as shipped, AES-192 management key.
    YubiKey57,
    /// A YubiKey 5.4.3.
    YubiKey54,
    /// A YubiKey 4.3.7: no metadata, no serial, no AES.
    YubiKey43,
    /// The default profile's instructions but no GET METADATA (6D00).
    MetadataAbsent,
    /// The default profile's instructions, and metadata without algorithm, policies and
    /// public key.
    MetadataPartial,
    /// A plain SP 800-73-4 card (the `piv` profile).
    PlainPiv,
}

impl Flavour {
    pub const ALL: [Self; 7] = [
        Self::YubiKey,
        Self::YubiKey57,
        Self::YubiKey54,
        Self::YubiKey43,
        Self::MetadataAbsent,
        Self::MetadataPartial,
        Self::PlainPiv,
    ];

    /// The card model underneath.
    pub fn profile(self) -> Profile {
        match self {
            Self::YubiKey | Self::MetadataAbsent | Self::MetadataPartial => Profile::YubiKey,
            Self::YubiKey57 => Profile::YubiKey57,
            Self::YubiKey54 => Profile::YubiKey54,
            Self::YubiKey43 => Profile::YubiKey43,
            Self::PlainPiv => Profile::Piv,
        }
    }

    fn metadata(self) -> MetadataSupport {
        match self {
            Self::MetadataAbsent => MetadataSupport::Absent,
            Self::MetadataPartial => MetadataSupport::Partial,
            _ => MetadataSupport::Full,
        }
    }

    /// `config`, changed to make a card of this flavour: its profile and metadata; the
    /// other choices (serial, management key, tries) are kept.
    pub fn configure(self, config: CardConfig) -> CardConfig {
        let profile = self.profile();
        CardConfig {
            profile,
            yubikey_extensions: profile.is_yubikey(),
            metadata: self.metadata(),
            ..config
        }
    }

    /// A factory-default card of this flavour (with its profile's management key).
    pub fn config(self) -> CardConfig {
        self.configure(self.profile().config())
    }

    /// Whether the card answers YubiKey's instructions (version, attestation, import,
    /// reset, …; each as far as its firmware knows it).
    pub fn yubikey_instructions(self) -> bool {
        self.profile().is_yubikey()
    }

    /// Whether the card answers GET METADATA at all (if only in part).
    pub fn answers_metadata(self) -> bool {
        self.metadata() != MetadataSupport::Absent
            && self
                .profile()
                .knows(apdu_spec::piv::Instruction::GetMetadata)
    }

    /// Whether GET METADATA describes keys in full (algorithm, policies, public key).
    pub fn full_metadata(self) -> bool {
        self.answers_metadata() && self.metadata() == MetadataSupport::Full
    }
}

/// One test per flavour for each case named: `fn case(flavour: Flavour)` becomes the tests
/// `case::yubikey`, `case::yubikey_5_7`, …, `case::plain_piv`, so a failure names its
/// flavour and the flavours run in parallel.
#[macro_export]
macro_rules! test_each_flavour {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn yubikey() {
                super::$case($crate::Flavour::YubiKey)
            }
            #[test]
            fn yubikey_5_7() {
                super::$case($crate::Flavour::YubiKey57)
            }
            #[test]
            fn yubikey_5_4() {
                super::$case($crate::Flavour::YubiKey54)
            }
            #[test]
            fn yubikey_4_3() {
                super::$case($crate::Flavour::YubiKey43)
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
