//! What the card remembers across power cycles: serial, PIN and PUK with their counters,
//! the management key, the keys in their slots and the data objects.

use std::collections::BTreeMap;

use apdu_spec::piv::chuid::Chuid;
use apdu_spec::piv::metadata::Origin;
use apdu_spec::piv::object::CertificateObject;
use apdu_spec::piv::templates::ApplicationTemplate;
use apdu_spec::piv::{Algorithm, Instruction, ObjectId, PinPolicy, Slot, TouchPolicy};
use apdu_spec::tlv;
use serde::{Deserialize, Serialize};

use crate::attestation::{self, AttestationError, CardFacts};
use crate::government;
use crate::keys::PrivateKey;
use crate::objects::ObjectStore;
use crate::pin::{self, Pin};
use crate::profile::Profile;
use apdu_spec::piv::mgmt_key::ManagementKey;

/// Choices made when a card is created. [`Profile::config`] gives a model's factory
/// defaults; `CardConfig::default()` is the default profile's.
#[derive(Debug, Clone)]
pub struct CardConfig {
    /// The card model: firmware, ATR, instructions, algorithms.
    pub profile: Profile,
    /// The serial number; random when `None`.
    pub serial: Option<u32>,
    /// The management key's algorithm, kept across RESET: the profile's factory choice
    /// unless changed. 3DES for the default profile: the PIV tools in Debian
    /// (yubico-piv-tool 2.2, OpenSC's piv-tool) authenticate with 3DES only.
    pub management_algorithm: Algorithm,
    pub pin_tries: u8,
    pub puk_tries: u8,
    /// Whether the card answers YubiKey's private instructions (version, serial, metadata,
    /// attestation, import, …) that its profile knows; without them it answers as a plain
    /// SP 800-73-4 card does.
    pub yubikey_extensions: bool,
    /// How GET METADATA answers, on a profile that has it.
    pub metadata: MetadataSupport,
}

/// How much GET METADATA tells: all a YubiKey does, or as little as PIV applets met in the
/// field, which clients must cope with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetadataSupport {
    /// Every tag a YubiKey 5.7 sends.
    #[default]
    Full,
    /// No GET METADATA at all (6D00), as on YubiKeys before 5.3, while the other YubiKey
    /// instructions work.
    Absent,
    /// 9000, but without the algorithm (01), the policies (02) and the public key (04): the
    /// tags a client needs to use a key, and the ones such applets were seen to leave out.
    /// Origin (03), default flag (05) and retries (06) remain.
    Partial,
}

impl Default for CardConfig {
    fn default() -> Self {
        Self {
            profile: Profile::YubiKey,
            serial: None,
            management_algorithm: Profile::YubiKey.factory_management_algorithm(),
            pin_tries: pin::DEFAULT_TRIES,
            puk_tries: pin::DEFAULT_TRIES,
            yubikey_extensions: true,
            metadata: MetadataSupport::Full,
        }
    }
}

/// A key in a slot, with its policies and origin.
#[derive(Debug, Clone)]
pub struct SlotKey {
    pub key: PrivateKey,
    pub pin_policy: PinPolicy,
    pub touch_policy: TouchPolicy,
    pub origin: Origin,
}

impl SlotKey {
    /// The PIN policy in force: the key's own, or the slot's default (9C always, 9E never,
    /// the others once).
    pub fn effective_pin_policy(&self, slot: Slot) -> PinPolicy {
        match (self.pin_policy, slot) {
            (PinPolicy::Default, Slot::Signature) => PinPolicy::Always,
            (PinPolicy::Default, Slot::CardAuthentication | Slot::Attestation) => PinPolicy::Never,
            (PinPolicy::Default, _) => PinPolicy::Once,
            (policy, _) => policy,
        }
    }

    /// The touch policy in force (never, unless the key asked for touch).
    pub fn effective_touch_policy(&self) -> TouchPolicy {
        match self.touch_policy {
            TouchPolicy::Default => TouchPolicy::Never,
            policy => policy,
        }
    }
}

/// The card's persistent state.
#[derive(Debug, Clone)]
pub struct CardState {
    pub profile: Profile,
    pub serial: u32,
    pub firmware: [u8; 3],
    pub yubikey_extensions: bool,
    pub metadata: MetadataSupport,
    pub pin: Pin,
    pub puk: Pin,
    pub management_key: ManagementKey,
    /// The algorithm RESET restores the management key to.
    pub factory_management_algorithm: Algorithm,
    pub keys: BTreeMap<Slot, SlotKey>,
    pub objects: ObjectStore,
}

/// The discovery object of a YubiKey: the PIV AID and PIN usage policy 4000 (PIV PIN only).
const DISCOVERY: [u8; 20] = [
    0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x5F,
    0x2F, 0x02, 0x40, 0x00,
];

/// Today, the issue date of a government CHUID.
fn today() -> der::DateTime {
    // Only a clock before 1970 or after 9999 fails; any date serves then.
    der::DateTime::from_system_time(std::time::SystemTime::now()).unwrap_or(der::DateTime::INFINITY)
}

/// Why a card could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0} is not a management key algorithm (3DES, AES-128, AES-192, AES-256)")]
    NotAManagementAlgorithm(Algorithm),
    #[error("a {profile} card has no {algorithm} management key (only 3DES before YubiKey 5.4)")]
    ManagementAlgorithmNotOnModel {
        profile: Profile,
        algorithm: Algorithm,
    },
    #[error("a {0} card has no GET METADATA: partial metadata applies to YubiKey 5.3 and later")]
    NoMetadataOnModel(Profile),
    /// A YubiKey model without its instructions would be no model at all: its ATR, firmware
    /// and management key would still claim one.
    #[error(
        "a {0} card always has YubiKey's instructions: turning them off applies to the \
         yubikey profile (piv is a card without them)"
    )]
    ExtensionsOnModel(Profile),
    #[error("retry counts must be 1 to 255")]
    ZeroTries,
    #[error("the system random number generator failed: {0}")]
    Random(#[from] getrandom::Error),
    #[error("making the attestation certificate failed: {0}")]
    Attestation(#[from] AttestationError),
}

impl CardState {
    /// A factory-fresh card: default PIN, PUK and management key, a unique serial (and
    /// CHUID GUID where the profile issues a CHUID), the discovery object, and an
    /// attestation key with its certificate.
    pub fn factory_new(config: &CardConfig) -> Result<Self, CreateError> {
        let profile = config.profile;
        let management_key = ManagementKey::factory(config.management_algorithm).ok_or(
            CreateError::NotAManagementAlgorithm(config.management_algorithm),
        )?;
        if !profile.supports_management_algorithm(config.management_algorithm) {
            return Err(CreateError::ManagementAlgorithmNotOnModel {
                profile,
                algorithm: config.management_algorithm,
            });
        }
        // A model without GET METADATA is already "absent"; only "partial" needs the instruction.
        if config.metadata == MetadataSupport::Partial && !profile.knows(Instruction::GetMetadata) {
            return Err(CreateError::NoMetadataOnModel(profile));
        }
        // A plain PIV card has no extensions to turn off: asking for them is no error.
        let yubikey_extensions = config.yubikey_extensions && profile.is_yubikey();
        if !profile.allows_extensions(yubikey_extensions) {
            return Err(CreateError::ExtensionsOnModel(profile));
        }
        if config.pin_tries == 0 || config.puk_tries == 0 {
            return Err(CreateError::ZeroTries);
        }
        let serial = match config.serial {
            Some(s) => s,
            // Keep clear of the top bit so every serial prints as a positive number.
            None => getrandom::u32()? & 0x7FFF_FFFF,
        };
        let mut state = Self {
            profile,
            serial,
            // A plain PIV card reports no version; 0.0.0 stands for none.
            firmware: profile.firmware().unwrap_or_default(),
            yubikey_extensions,
            metadata: config.metadata,
            pin: Pin::new_pin(config.pin_tries),
            puk: Pin::new_puk(config.puk_tries),
            management_key,
            factory_management_algorithm: config.management_algorithm,
            keys: BTreeMap::new(),
            objects: ObjectStore::default(),
        };
        state.install_factory_objects()?;
        if profile.knows(Instruction::Attest) {
            state.install_attestation_identity()?;
        }
        Ok(state)
    }

    /// The attestation key in F9 and its certificate (object 5FFF01), which YubiKeys carry
    /// from the factory.
    fn install_attestation_identity(&mut self) -> Result<(), CreateError> {
        let (key, cert) = attestation::new_attestation_identity(&self.facts())?;
        self.keys.insert(
            Slot::Attestation,
            SlotKey {
                key,
                pin_policy: PinPolicy::Never,
                touch_policy: TouchPolicy::Never,
                origin: Origin::Generated,
            },
        );
        let cert_object = tlv::encode(
            ObjectId::YUBICO_ATTESTATION_CERT.content_tag(),
            &CertificateObject::new(cert).encode(),
        );
        // A P-256 certificate is far below the object size limit.
        let _ = self
            .objects
            .put(ObjectId::YUBICO_ATTESTATION_CERT, cert_object);
        Ok(())
    }

    /// The objects a fresh card has: discovery; a CHUID with a new GUID where the profile
    /// issues one, naming its agency and expiring on a government card, which also has a
    /// CCC.
    fn install_factory_objects(&mut self) -> Result<(), getrandom::Error> {
        // Small objects of fixed size; they always fit.
        let _ = self.objects.put(ObjectId::DISCOVERY, DISCOVERY.to_vec());
        if !self.profile.issues_chuid() {
            return Ok(());
        }
        let mut guid = [0u8; 16];
        getrandom::fill(&mut guid)?;
        let chuid = if self.profile == Profile::Piv {
            let mut card_id = [0u8; 14];
            getrandom::fill(&mut card_id)?;
            let _ = self.objects.put(
                ObjectId::CARD_CAPABILITY_CONTAINER,
                government::ccc(card_id),
            );
            government::chuid(self.serial, guid, today())
        } else {
            tlv::encode(
                ObjectId::CHUID.content_tag(),
                &Chuid::new(guid, "20991231").encode(),
            )
        };
        let _ = self.objects.put(ObjectId::CHUID, chuid);
        Ok(())
    }

    /// What RESET does: every key and object but the attestation key and certificate
    /// erased, PIN, PUK and management key back to factory values and tries.
    pub fn reset_to_factory(&mut self) -> Result<(), getrandom::Error> {
        self.keys.retain(|slot, _| *slot == Slot::Attestation);
        self.objects
            .retain(|id| id == ObjectId::YUBICO_ATTESTATION_CERT);
        self.install_factory_objects()?;
        self.pin.reset(pin::DEFAULT_TRIES);
        self.puk.reset(pin::DEFAULT_TRIES);
        if let Some(key) = ManagementKey::factory(self.factory_management_algorithm) {
            self.management_key = key;
        }
        Ok(())
    }

    /// Whether the card knows `ins`: what its profile knows, YubiKey's instructions only
    /// with its extensions, and GET METADATA not where the card lacks it.
    pub fn answers(&self, ins: Instruction) -> bool {
        match ins {
            Instruction::GetMetadata if self.metadata == MetadataSupport::Absent => false,
            ins => {
                self.profile.knows(ins) && (self.yubikey_extensions || !ins.is_yubikey_extension())
            }
        }
    }

    pub fn facts(&self) -> CardFacts {
        CardFacts {
            serial: self.serial,
            firmware: self.firmware,
        }
    }

    /// SELECT's answer: the APT, with a label and the algorithms the card offers where
    /// the model lists them (a YubiKey does not).
    pub fn application_template(&self) -> Vec<u8> {
        let mut algorithms: Vec<Algorithm> = self.profile.key_algorithms().to_vec();
        algorithms.push(self.management_key.algorithm());
        let mut template = ApplicationTemplate::piv("card-sim PIV", &algorithms);
        if !self.profile.select_lists_algorithms() {
            template.label = None;
            template.algorithms.clear();
        }
        template.encode()
    }
}
