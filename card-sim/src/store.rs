//! Where the card's state lives between power cycles.
//!
//! # The state file (format version 1)
//!
//! One JSON document per card, mode 0600, replaced atomically on every change (written
//! to a temporary file in the same directory, fsynced, renamed over the old file, and the
//! directory fsynced), so a crash leaves either the old or the new state, never a mix.
//! A crash in the middle of a write leaves its temporary file behind (`.<name>.XXXXXX.tmp`,
//! as private as the state and holding the same secrets); the next program to claim the
//! card removes it. Every writer of the file, `card-sim init` too, holds the card's lock
//! (see [`FileStore::open_exclusive`]), so the one claiming it never removes a write
//! under way. Versions before this one named their temporary files `.card-sim-XXXXXX`;
//! those are left alone: the name does not say which state file it was for, and an older
//! card-sim serving another card in the same directory may be writing one at that very
//! moment. Remove them by hand once no older card-sim runs.
//!
//! ```json
//! {
//!   "format": "card-sim PIV state",
//!   "version": 1,
//!   "serial": 12345678,
//!   "firmware": "5.4.3",
//!   "profile": "yubikey-5.4",
//!   "yubikey_extensions": true,
//!   "metadata": "partial",
//!   "pin": { "value": "313233343536ffff", "max_tries": 3, "tries_left": 3 },
//!   "puk": { "value": "3132333435363738", "max_tries": 3, "tries_left": 3 },
//!   "management_key": { "algorithm": "3DES", "key": "0102…", "touch_required": false },
//!   "factory_management_algorithm": "3DES",
//!   "keys": { "9a": { "algorithm": "ECC P-256", "pin_policy": "default",
//!                     "touch_policy": "default", "origin": "generated", "secret": "…" } },
//!   "objects": { "5FC102": "5319…" }
//! }
//! ```
//!
//! PIN, PUK and management key are the padded reference values in hex. A key's `secret`
//! is hex of PKCS#1 `RSAPrivateKey` DER for RSA, the private scalar for P-256/P-384, and
//! the 32-byte seed or secret for Ed25519/X25519. An object is the whole TLV GET DATA
//! returns. `metadata` (`"absent"` or `"partial"`) is written only for a card whose GET
//! METADATA answers like that (see [`MetadataSupport`]); a file without it, as every file
//! before it, is a card with full metadata, so older card-sims still read such files.
//! `profile` (see [`Profile`]) is likewise written only for a card of another profile than
//! the default one, which a file without it is. The file holds every secret of the card, which is why it is private to its
//! owner. Unknown fields or a newer `version` are refused rather than guessed at.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use apdu_spec::piv::metadata::Origin;
use apdu_spec::piv::{Algorithm, ObjectId, PinPolicy, Slot, TouchPolicy};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keys::{KeyError, PrivateKey};
use crate::objects::ObjectStore;
use crate::pin::{PADDED_LEN, Pin};
use crate::profile::Profile;
use crate::state::{CardConfig, CardState, CreateError, MetadataSupport, SlotKey};
use apdu_spec::piv::mgmt_key::ManagementKey;

pub const FORMAT_NAME: &str = "card-sim PIV state";
pub const FORMAT_VERSION: u32 = 1;

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read card state {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write card state {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "card state {path} is corrupt: {reason}; restore it from a backup or delete it to start with a factory-fresh card"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "card state {path} has format version {found}; this card-sim reads version {FORMAT_VERSION}"
    )]
    UnsupportedVersion { path: PathBuf, found: u32 },
    #[error(
        "card state {path} is in use by another program (card-sim serve, or smime-card --sim); stop it first"
    )]
    InUse { path: PathBuf },
    /// The lock path is a symbolic link: followed, it could make the card lock (or
    /// create) a file elsewhere.
    #[error(
        "{path} is a symbolic link, not the lock of a card state; remove it (it is not followed)"
    )]
    LockIsLink { path: PathBuf },
    /// The power was cut in the middle of the write (a fault planned through
    /// [`crate::control`]): the store still holds the state before it.
    #[error("the card lost power while writing its state")]
    PowerLost,
    #[error(transparent)]
    Create(#[from] CreateError),
}

/// Persists the card's state after every change.
pub trait StateStore: Send {
    fn save(&mut self, state: &CardState) -> Result<(), StoreError>;

    /// Begins writing `state` and stops part-way, as a write does when the power goes:
    /// what is left behind is what a crash at that point leaves, and the state before
    /// stays whole. Nothing by default: a store whose writes cannot be torn.
    fn tear(&mut self, _state: &CardState) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Keeps nothing: a card that lives as long as the process.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryStore;

impl StateStore for MemoryStore {
    fn save(&mut self, _state: &CardState) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A state file on disk.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    /// Held by a store that serves the card: `<state file>.lock`, locked exclusively.
    _lock: Option<File>,
}

/// The lock file beside a state file.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    path.with_file_name(name)
}

/// How many random characters a temporary file's name carries (`XXXXXX` above).
const TEMP_RANDOM_LEN: usize = 6;
const TEMP_SUFFIX: &str = ".tmp";

/// The start of the names of a state file's temporary files: `.<state file name>.`.
fn temp_prefix(path: &Path) -> std::ffi::OsString {
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    prefix
}

/// Whether `name` is one of `prefix`'s temporary files. The random part has no dot, so
/// the temporary files of another state file (whose name would have to continue after
/// the prefix) never match.
fn is_temp_of(name: &[u8], prefix: &[u8]) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX.as_bytes()))
        .is_some_and(|random| {
            random.len() == TEMP_RANDOM_LEN && random.iter().all(u8::is_ascii_alphanumeric)
        })
}

/// Removes the temporary files a write killed half-way left beside `path`. Only the
/// holder of the lock may: nobody else writes this state file then.
fn remove_stale_temporaries(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let prefix = temp_prefix(path);
    for entry in fs::read_dir(parent_dir(path))? {
        let entry = entry?;
        if is_temp_of(entry.file_name().as_bytes(), prefix.as_bytes()) {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// The directory a state file is in; `.` for a bare file name.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The path of the state file itself, symlinks resolved: every name of one file (a
/// symlink to it, `a/../card.json`) then means one lock, and writes replace the file
/// rather than a symlink to it. A file not created yet is named through its directory's
/// real path.
pub(crate) fn real_path(path: &Path) -> std::io::Result<PathBuf> {
    match fs::canonicalize(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = path.file_name().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
            })?;
            Ok(fs::canonicalize(parent_dir(path))?.join(name))
        }
        found => found,
    }
}

impl FileStore {
    /// A store that reads and writes `path` without claiming it (for inspection).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            _lock: None,
        }
    }

    /// The store of a card in use: it holds `<path>.lock` exclusively for its lifetime, so
    /// two programs never serve one card. Each would overwrite the other's changes, and
    /// could roll back the PIN and PUK counters.
    ///
    /// The lock is beside the state file's real path, so every name of the file shares it.
    /// It is opened without following a symlink: one planted there could otherwise have
    /// the card create or lock a file of the attacker's choosing.
    pub fn open_exclusive(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let given = path.into();
        let path = real_path(&given).map_err(|source| StoreError::Read {
            path: given,
            source,
        })?;
        let lock_file = lock_path(&path);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&lock_file)
            .map_err(|source| match source.raw_os_error() {
                Some(libc::ELOOP) => StoreError::LockIsLink {
                    path: lock_file.clone(),
                },
                _ => StoreError::Write {
                    path: lock_file.clone(),
                    source,
                },
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::InUse { path }),
            Err(fs::TryLockError::Error(source)) => {
                return Err(StoreError::Write {
                    path: lock_file,
                    source,
                });
            }
        }
        remove_stale_temporaries(&path).map_err(|source| StoreError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            path,
            _lock: Some(lock),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the state; a missing file is an error here (see [`Self::load_or_create`]).
    pub fn load(&self) -> Result<CardState, StoreError> {
        // The file holds every secret of the card, in hex.
        let bytes = Zeroizing::new(fs::read(&self.path).map_err(|source| StoreError::Read {
            path: self.path.clone(),
            source,
        })?);
        let corrupt = |reason: String| StoreError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        let file: StateFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if file.format != FORMAT_NAME {
            return Err(corrupt(format!(
                "not a card-sim state file (format \"{}\")",
                file.format
            )));
        }
        if file.version != FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path: self.path.clone(),
                found: file.version,
            });
        }
        file.into_state().map_err(corrupt)
    }

    /// Loads the state, or creates a factory-fresh card with `config` when no file exists
    /// (and saves it at once, so its serial and keys are stable).
    pub fn load_or_create(&self, config: &CardConfig) -> Result<(CardState, bool), StoreError> {
        match self.load() {
            Err(StoreError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                let state = CardState::factory_new(config)?;
                self.write(&state)?;
                Ok((state, true))
            }
            other => other.map(|s| (s, false)),
        }
    }

    /// Replaces the file atomically with `state`.
    pub fn write(&self, state: &CardState) -> Result<(), StoreError> {
        self.put(state, true)
    }

    /// Writes `state` as a new file; an existing one is left alone (an error).
    pub fn create(&self, state: &CardState) -> Result<(), StoreError> {
        self.put(state, false)
    }

    /// Writes a temporary file beside the target (a random name after the target's, created
    /// exclusively with mode 0600), fsyncs it, renames it into place and fsyncs the directory: a crash
    /// leaves the old state or the new one, never a mix.
    fn put(&self, state: &CardState, replace: bool) -> Result<(), StoreError> {
        let err = |source| StoreError::Write {
            path: self.path.clone(),
            source,
        };
        let (mut tmp, json) = self.temporary(state)?;
        tmp.write_all(&json).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        if replace {
            tmp.persist(&self.path).map_err(|e| err(e.error))?;
        } else {
            tmp.persist_noclobber(&self.path)
                .map_err(|e| err(e.error))?;
        }
        File::open(parent_dir(&self.path))
            .and_then(|d| d.sync_all())
            .map_err(err)
    }

    /// The JSON of `state`, and an empty temporary file beside the target to write it to.
    fn temporary(
        &self,
        state: &CardState,
    ) -> Result<(tempfile::NamedTempFile, Zeroizing<Vec<u8>>), StoreError> {
        let err = |source| StoreError::Write {
            path: self.path.clone(),
            source,
        };
        let file = StateFile::from_state(state).map_err(|e| err(std::io::Error::other(e)))?;
        let mut json = WipingBuffer::default();
        serde_json::to_writer_pretty(&mut json, &file)
            .map_err(|e| err(std::io::Error::other(e)))?;
        let json = json.0;
        let tmp = tempfile::Builder::new()
            .prefix(&temp_prefix(&self.path))
            .rand_bytes(TEMP_RANDOM_LEN)
            .suffix(TEMP_SUFFIX)
            .tempfile_in(parent_dir(&self.path))
            .map_err(err)?;
        Ok((tmp, json))
    }
}

/// A buffer that wipes what it outgrows. A plain `Vec` frees its old allocation as it was
/// when it grows, so serialising a state into one would leave parts of the file, secrets
/// and all, in freed memory; neither serde_json nor zeroize offers such a writer.
#[derive(Default)]
struct WipingBuffer(Zeroizing<Vec<u8>>);

impl Write for WipingBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let needed = self.0.len() + bytes.len();
        if needed > self.0.capacity() {
            let mut grown = Vec::with_capacity(needed.max(2 * self.0.capacity()));
            grown.extend_from_slice(&self.0);
            // The outgrown allocation is wiped as it is dropped.
            self.0 = Zeroizing::new(grown);
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl StateStore for FileStore {
    fn save(&mut self, state: &CardState) -> Result<(), StoreError> {
        self.write(state)
    }

    /// Half the temporary file, synced, and no rename: the state file is untouched, and the
    /// temporary file stays behind, as after a crash, for the next claim of the card to remove.
    fn tear(&mut self, state: &CardState) -> Result<(), StoreError> {
        let (mut tmp, json) = self.temporary(state)?;
        let err = |source| StoreError::Write {
            path: self.path.clone(),
            source,
        };
        tmp.write_all(&json[..json.len() / 2]).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.keep().map_err(|e| err(e.error))?;
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format: String,
    version: u32,
    serial: u32,
    firmware: String,
    /// Absent for the default profile, so older card-sims still read such files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
    yubikey_extensions: bool,
    #[serde(default, skip_serializing_if = "is_full")]
    metadata: MetadataSupport,
    pin: StoredPin,
    puk: StoredPin,
    management_key: StoredManagementKey,
    factory_management_algorithm: String,
    keys: BTreeMap<String, StoredKey>,
    /// Wiped, as the values: printed information holds the PIN-protected management key.
    objects: BTreeMap<String, Zeroizing<String>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredPin {
    value: Zeroizing<String>,
    max_tries: u8,
    tries_left: u8,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredManagementKey {
    algorithm: String,
    key: Zeroizing<String>,
    touch_required: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
    algorithm: String,
    pin_policy: String,
    touch_policy: String,
    origin: String,
    secret: Zeroizing<String>,
}

impl StoredPin {
    fn from_pin(pin: &Pin) -> Self {
        Self {
            value: Zeroizing::new(hex::encode(pin.value())),
            max_tries: pin.max_tries,
            tries_left: pin.tries_left,
        }
    }

    fn restore_into(&self, pin: &mut Pin, what: &str) -> Result<(), String> {
        let bytes = decode_secret(&self.value).map_err(|e| format!("{what} value: {e}"))?;
        let value: [u8; PADDED_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| format!("{what} value is not 8 bytes"))?;
        if self.max_tries == 0 {
            return Err(format!("{what} max_tries is 0"));
        }
        pin.restore(value, self.max_tries, self.tries_left);
        Ok(())
    }
}

fn is_full(metadata: &MetadataSupport) -> bool {
    *metadata == MetadataSupport::Full
}

fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Generated => "generated",
        Origin::Imported => "imported",
    }
}

impl StateFile {
    /// Fails only if a key cannot be encoded, which would lose it: nothing is written then.
    fn from_state(s: &CardState) -> Result<Self, KeyError> {
        let keys = s
            .keys
            .iter()
            .map(|(slot, k)| {
                let stored = StoredKey {
                    algorithm: k.key.algorithm().name().into(),
                    pin_policy: k.pin_policy.name().into(),
                    touch_policy: k.touch_policy.name().into(),
                    origin: origin_name(k.origin).into(),
                    secret: Zeroizing::new(hex::encode(&*k.key.secret_bytes()?)),
                };
                Ok((slot.to_string(), stored))
            })
            .collect::<Result<_, KeyError>>()?;
        let objects = s
            .objects
            .iter()
            .map(|(id, v)| (id.to_string(), Zeroizing::new(hex::encode(v))))
            .collect();
        let [a, b, c] = s.firmware;
        Ok(Self {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            serial: s.serial,
            firmware: format!("{a}.{b}.{c}"),
            profile: (s.profile != Profile::default()).then(|| s.profile.name().to_owned()),
            yubikey_extensions: s.yubikey_extensions,
            metadata: s.metadata,
            pin: StoredPin::from_pin(&s.pin),
            puk: StoredPin::from_pin(&s.puk),
            management_key: StoredManagementKey {
                algorithm: s.management_key.algorithm().name().into(),
                key: Zeroizing::new(hex::encode(s.management_key.key_bytes())),
                touch_required: s.management_key.touch_required,
            },
            factory_management_algorithm: s.factory_management_algorithm.name().into(),
            keys,
            objects,
        })
    }

    fn into_state(self) -> Result<CardState, String> {
        let firmware = parse_firmware(&self.firmware)?;
        let profile = match &self.profile {
            Some(name) => name.parse::<Profile>().map_err(|e| e.to_string())?,
            None => Profile::default(),
        };
        if !profile.allows_extensions(self.yubikey_extensions) {
            return Err(format!(
                "yubikey_extensions {} is not possible on the {} profile",
                self.yubikey_extensions,
                profile.name()
            ));
        }
        let mut pin = Pin::new_pin(1);
        self.pin.restore_into(&mut pin, "PIN")?;
        let mut puk = Pin::new_puk(1);
        self.puk.restore_into(&mut puk, "PUK")?;

        let mk_alg: Algorithm = self.management_key.algorithm.parse()?;
        let mk_bytes =
            decode_secret(&self.management_key.key).map_err(|e| format!("management key: {e}"))?;
        let mut management_key = ManagementKey::new(mk_alg, &mk_bytes)
            .ok_or_else(|| format!("management key is not a valid {mk_alg} key"))?;
        management_key.touch_required = self.management_key.touch_required;
        let factory_management_algorithm: Algorithm = self.factory_management_algorithm.parse()?;
        if !factory_management_algorithm.is_symmetric() {
            return Err("factory_management_algorithm is not a management key algorithm".into());
        }

        let mut keys = BTreeMap::new();
        for (slot_name, stored) in self.keys {
            let slot: Slot = slot_name.parse()?;
            let algorithm: Algorithm = stored.algorithm.parse()?;
            let secret = decode_secret(&stored.secret).map_err(|e| format!("key {slot}: {e}"))?;
            let key = PrivateKey::from_secret_bytes(algorithm, &secret)
                .map_err(|e| format!("key {slot}: {e}"))?;
            let origin = match stored.origin.as_str() {
                "generated" => Origin::Generated,
                "imported" => Origin::Imported,
                other => return Err(format!("key {slot}: unknown origin \"{other}\"")),
            };
            let slot_key = SlotKey {
                key,
                pin_policy: stored.pin_policy.parse::<PinPolicy>()?,
                touch_policy: stored.touch_policy.parse::<TouchPolicy>()?,
                origin,
            };
            keys.insert(slot, slot_key);
        }

        let mut objects = ObjectStore::default();
        for (id_hex, value_hex) in self.objects {
            let id = u32::from_str_radix(&id_hex, 16)
                .map(ObjectId)
                .map_err(|_| format!("object ID \"{id_hex}\""))?;
            if !id.is_valid() {
                return Err(format!("object ID {id} is not a PIV object"));
            }
            let value = decode_secret(&value_hex).map_err(|e| format!("object {id}: {e}"))?;
            objects
                .put(id, value)
                .map_err(|_| format!("object {id} exceeds the card's storage"))?;
        }

        Ok(CardState {
            profile,
            serial: self.serial,
            firmware,
            yubikey_extensions: self.yubikey_extensions,
            metadata: self.metadata,
            pin,
            puk,
            management_key,
            factory_management_algorithm,
            keys,
            objects,
        })
    }
}

fn parse_firmware(s: &str) -> Result<[u8; 3], String> {
    let parts: Vec<u8> = s
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("firmware \"{s}\""))?;
    parts
        .try_into()
        .map_err(|_| format!("firmware \"{s}\" is not major.minor.patch"))
}

/// Hex from the state file, decoded into a buffer of its final size that is wiped when
/// dropped: `hex::decode` grows its vector as it goes and leaves the outgrown pieces of the
/// secret unwiped in freed memory.
fn decode_secret(hex_text: &str) -> Result<Zeroizing<Vec<u8>>, hex::FromHexError> {
    let mut bytes = Zeroizing::new(vec![0; hex_text.len() / 2]);
    hex::decode_to_slice(hex_text, &mut bytes)?;
    Ok(bytes)
}
