//! Crash safety of the state file: a real `card-sim serve`, killed with SIGKILL at random
//! moments while it spends PIN and PUK tries, changes them, generates keys (RSA-2048
//! among them), writes certificates and changes the management key. After every kill the
//! state file loads, its lock is free, no try was given back, every key still signs, and
//! what was being written is wholly the old value or wholly the new one.
//!
//! Most kills land at a random moment within a session's expected duration. Every
//! [`AIM_EVERY`]th session is one wrong PIN, whose kill is aimed at its state write: the
//! test watches (inotify) the state's directory and kills the card the moment the write's
//! temporary file is created, or, every other time, the moment it is renamed into place
//! (the directory's fsync and the answer still to come). The test requires kills before a
//! write and, where writes last at least [`HITTABLE_WRITE`] (timed at the start, in the
//! state's directory), in one (its temporary file left behind) and after one (the state
//! replaced, no answer). Aimed kills land where they aim whenever the write's fsyncs last
//! longer than the test takes to be woken and kill (tens of microseconds), as fsyncs on a
//! disk do (a millisecond or more). The state lives under `target/`, not in /tmp, which
//! may be a tmpfs where fsync costs nothing and writes are over in microseconds: there
//! those kills are counted but not required.
//!
//! The test plays vpcd itself, so pcscd is not involved. Operations and kill delays come
//! from a seeded generator: the seed is printed (shown when the test fails) and
//! `CARD_SIM_CRASH_SEED` sets it. A replay repeats the choices, not the machine's timing,
//! so its kills land near the same moments, not at them.

mod common;
#[path = "crash/served.rs"]
mod served;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use apdu_spec::apdu::EXTENDED_MAX_LE;
use apdu_spec::piv::command::{
    ChangeReferenceData, GenerateAsymmetricKeyPair, PutData, SetManagementKey, Verify,
};
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::object::CertificateObject;
use apdu_spec::piv::reference_data::{Credential, PaddedPin};
use apdu_spec::piv::templates::PublicKeyTemplate;
use apdu_spec::piv::{Algorithm, ObjectId, PinPolicy, Slot};
use apdu_spec::{CommandApdu, Response, StatusWord};
use card_sim::objects::ObjectStore;
use card_sim::{Card, CardConfig, CardState, FileStore, MemoryStore};
use common::*;
use rustix::fs::inotify::WatchFlags;
use served::{Killed, Served, Vpcd};

const ITERATIONS: usize = 200;
/// Room for tries spent by wrong values and by kills between spending and restoring.
const TRIES: u8 = 10;
/// Below this many tries left, a session first restores the counter (before any kill is
/// armed), so that kills never block the PIN or PUK.
const LOW_TRIES: u8 = 4;
const MAX_OPERATIONS_PER_SESSION: usize = 3;
/// Kills land uniformly within this multiple of the session's expected duration, so a
/// few land after its last answer too.
const KILL_WINDOW: f64 = 1.25;
/// Every this many sessions, the kill is aimed at a state write.
const AIM_EVERY: usize = 4;
/// A write lasting this long is one an aimed kill lands in (the kill follows the
/// temporary file's creation by tens of microseconds), so one must land in a write.
const HITTABLE_WRITE: Duration = Duration::from_micros(300);
/// Writes timed to tell whether they last that long.
const WRITE_SAMPLES: usize = 5;

const KEY_SLOTS: [Slot; 4] = [
    Slot::Authentication,
    Slot::Signature,
    Slot::CardAuthentication,
    Slot::KeyManagement,
];
const KEY_ALGORITHMS: [Algorithm; 3] = [Algorithm::EccP256, Algorithm::Ed25519, Algorithm::Rsa2048];
const MANAGEMENT_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Tdes,
    Algorithm::Aes128,
    Algorithm::Aes192,
    Algorithm::Aes256,
];

/// What the test knows of the card: every value the card confirmed.
#[derive(Clone, Debug)]
struct Known {
    pin: Vec<u8>,
    puk: Vec<u8>,
    pin_tries: u8,
    puk_tries: u8,
    management_key: ManagementKey,
    keys: BTreeMap<Slot, PublicKeyTemplate>,
    objects: ObjectStore,
}

impl Known {
    fn of(state: &CardState, pin: &[u8], puk: &[u8], management_key: ManagementKey) -> Self {
        Self {
            pin: pin.to_vec(),
            puk: puk.to_vec(),
            pin_tries: state.pin.tries_left,
            puk_tries: state.puk.tries_left,
            management_key,
            keys: public_keys(state),
            objects: state.objects.clone(),
        }
    }
}

fn public_keys(state: &CardState) -> BTreeMap<Slot, PublicKeyTemplate> {
    state
        .keys
        .iter()
        .map(|(slot, key)| (*slot, key.key.public_key()))
        .collect()
}

/// The kinds of operation a kill may interrupt, and how often each is picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    WrongPin,
    RightPin,
    ChangePin,
    WrongPuk,
    ChangePuk,
    GenerateKey,
    GenerateRsa2048,
    PutCertificate,
    SetManagementKey,
}

const KINDS: [(Kind, u32); 9] = [
    (Kind::WrongPin, 3),
    (Kind::RightPin, 1),
    (Kind::ChangePin, 2),
    (Kind::WrongPuk, 1),
    (Kind::ChangePuk, 1),
    (Kind::GenerateKey, 2),
    (Kind::GenerateRsa2048, 1),
    (Kind::PutCertificate, 2),
    (Kind::SetManagementKey, 2),
];

impl Kind {
    fn pick(rng: &mut fastrand::Rng) -> Self {
        let total: u32 = KINDS.iter().map(|(_, weight)| weight).sum();
        let mut n = rng.u32(..total);
        for (kind, weight) in KINDS {
            if n < weight {
                return kind;
            }
            n -= weight;
        }
        unreachable!("n is below the total weight")
    }

    /// How long the operation is expected to take before any was measured.
    fn first_guess(self) -> Duration {
        match self {
            Kind::GenerateRsa2048 => Duration::from_millis(300),
            _ => Duration::from_millis(10),
        }
    }
}

/// One operation, with the values it writes.
#[derive(Debug)]
enum Operation {
    /// VERIFY with a wrong PIN: spends a try.
    WrongPin,
    /// VERIFY with the PIN: spends a try, then gives all back.
    RightPin,
    ChangePin(Vec<u8>),
    /// CHANGE REFERENCE DATA with a wrong PUK: spends a PUK try.
    WrongPuk,
    ChangePuk(Vec<u8>),
    Generate(Slot, Algorithm),
    /// PUT DATA of a slot's certificate object with this content.
    PutCertificate(Slot, Vec<u8>),
    SetManagementKey(ManagementKey),
}

fn digits(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.u8(b'0'..=b'9')).collect()
}

/// A value other than `value`.
fn wrong(value: &[u8]) -> Vec<u8> {
    let mut other = value.to_vec();
    other[0] = if other[0] == b'0' { b'1' } else { b'0' };
    other
}

impl Operation {
    /// An operation of `kind` on the card as it is known. An operation that would spend a
    /// try the counter cannot spare uses the right value instead.
    fn new(kind: Kind, known: &Known, rng: &mut fastrand::Rng) -> Self {
        match kind {
            Kind::WrongPin if known.pin_tries >= 3 => Self::WrongPin,
            Kind::WrongPin | Kind::RightPin => Self::RightPin,
            Kind::ChangePin => {
                let len = rng.usize(6..=8);
                Self::ChangePin(digits(rng, len))
            }
            Kind::WrongPuk if known.puk_tries >= 3 => Self::WrongPuk,
            Kind::WrongPuk | Kind::ChangePuk => Self::ChangePuk(digits(rng, 8)),
            Kind::GenerateKey => Self::Generate(
                KEY_SLOTS[rng.usize(..KEY_SLOTS.len())],
                KEY_ALGORITHMS[rng.usize(..KEY_ALGORITHMS.len() - 1)],
            ),
            Kind::GenerateRsa2048 => {
                Self::Generate(KEY_SLOTS[rng.usize(..KEY_SLOTS.len())], Algorithm::Rsa2048)
            }
            Kind::PutCertificate => {
                let der = (0..rng.usize(200..2000)).map(|_| rng.u8(..)).collect();
                Self::PutCertificate(
                    KEY_SLOTS[rng.usize(..KEY_SLOTS.len())],
                    CertificateObject::new(der).encode(),
                )
            }
            Kind::SetManagementKey => {
                let algorithm = MANAGEMENT_ALGORITHMS[rng.usize(..MANAGEMENT_ALGORITHMS.len())];
                let len = algorithm.symmetric_key_len().unwrap();
                let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
                Self::SetManagementKey(ManagementKey::new(algorithm, &bytes).unwrap())
            }
        }
    }

    /// The command, in one APDU: extended lengths carry a certificate or an RSA public
    /// key whole, so every exchange is one frame each way.
    fn apdu(&self, known: &Known) -> CommandApdu {
        let change = |credential, current: &[u8], new: &[u8]| {
            ChangeReferenceData {
                credential,
                current: PaddedPin::pad(current),
                new: PaddedPin::pad(new),
            }
            .to_apdu()
        };
        match self {
            Self::WrongPin => Verify::Pin(PaddedPin::pad(&wrong(&known.pin))).to_apdu(),
            Self::RightPin => Verify::Pin(PaddedPin::pad(&known.pin)).to_apdu(),
            Self::ChangePin(new) => change(Credential::Pin, &known.pin, new),
            Self::WrongPuk => change(Credential::Puk, &wrong(&known.puk), &known.puk),
            Self::ChangePuk(new) => change(Credential::Puk, &known.puk, new),
            Self::Generate(slot, algorithm) => GenerateAsymmetricKeyPair {
                slot: *slot,
                algorithm: *algorithm,
                pin_policy: Some(PinPolicy::Never),
                touch_policy: None,
            }
            .to_apdu()
            .with_le(EXTENDED_MAX_LE),
            Self::PutCertificate(slot, content) => PutData {
                object: slot.certificate_object(),
                content: content.clone().into(),
            }
            .to_apdu(),
            Self::SetManagementKey(key) => SetManagementKey { key: key.clone() }.to_apdu(),
        }
    }

    /// The card as known after the card answered `response`, which must be the success.
    fn answered(&self, known: &Known, response: &Response) -> Known {
        let mut after = known.clone();
        let expected_sw = match self {
            Self::WrongPin => StatusWord::verify_failed(known.pin_tries - 1),
            Self::WrongPuk => StatusWord::verify_failed(known.puk_tries - 1),
            _ => StatusWord::SUCCESS,
        };
        assert_eq!(response.sw, expected_sw, "the answer to {self:?}");
        match self {
            Self::WrongPin => after.pin_tries -= 1,
            Self::WrongPuk => after.puk_tries -= 1,
            Self::RightPin => after.pin_tries = TRIES,
            Self::ChangePin(new) => (after.pin, after.pin_tries) = (new.clone(), TRIES),
            Self::ChangePuk(new) => (after.puk, after.puk_tries) = (new.clone(), TRIES),
            Self::Generate(slot, _) => {
                let public = PublicKeyTemplate::parse(&response.data).unwrap();
                after.keys.insert(*slot, public);
            }
            Self::PutCertificate(slot, content) => {
                after.objects = with_certificate(known, *slot, content)
            }
            Self::SetManagementKey(key) => after.management_key = key.clone(),
        }
        after
    }

    /// Every state the card may be in when killed with this operation unanswered. A key
    /// generated without its answer can be any key; `state` tells which one it is.
    fn interrupted(&self, known: &Known, state: &CardState) -> Vec<Known> {
        let with = |change: &dyn Fn(&mut Known)| {
            let mut k = known.clone();
            change(&mut k);
            k
        };
        // A check spends the try and saves before comparing; a right value then gives all
        // tries back and saves again.
        let spent_pin = with(&|k| k.pin_tries -= 1);
        let spent_puk = with(&|k| k.puk_tries -= 1);
        match self {
            Self::WrongPin => vec![known.clone(), spent_pin],
            Self::WrongPuk => vec![known.clone(), spent_puk],
            Self::RightPin => vec![known.clone(), spent_pin, with(&|k| k.pin_tries = TRIES)],
            Self::ChangePin(new) => vec![
                known.clone(),
                spent_pin,
                with(&|k| k.pin_tries = TRIES),
                with(&|k| (k.pin, k.pin_tries) = (new.clone(), TRIES)),
            ],
            Self::ChangePuk(new) => vec![
                known.clone(),
                spent_puk,
                with(&|k| k.puk_tries = TRIES),
                with(&|k| (k.puk, k.puk_tries) = (new.clone(), TRIES)),
            ],
            Self::Generate(slot, _) => {
                let mut outcomes = vec![known.clone()];
                if let Some(key) = state.keys.get(slot) {
                    outcomes.push(with(&|k| {
                        k.keys.insert(*slot, key.key.public_key());
                    }));
                }
                outcomes
            }
            Self::PutCertificate(slot, content) => vec![
                known.clone(),
                with(&|k| k.objects = with_certificate(known, *slot, content)),
            ],
            Self::SetManagementKey(key) => {
                vec![known.clone(), with(&|k| k.management_key = key.clone())]
            }
        }
    }
}

/// The objects once PUT DATA stored `content` as `slot`'s certificate, as the card keeps
/// it: the TLV after the tag list of the command.
fn with_certificate(known: &Known, slot: Slot, content: &[u8]) -> ObjectStore {
    let put = PutData {
        object: slot.certificate_object(),
        content: content.to_vec().into(),
    };
    let apdu = put.to_apdu();
    let (_, tlv) = ObjectId::parse_tag_list(&apdu.data).unwrap();
    let mut objects = known.objects.clone();
    objects
        .put(slot.certificate_object(), tlv.to_vec())
        .unwrap();
    objects
}

/// A throwaway card over a copy of `state`: what it is asked changes nothing on disk.
fn card_over(state: &CardState) -> Card {
    let mut card = Card::new(state.clone(), MemoryStore);
    ok(select(&mut card));
    card
}

/// How `state` differs from `expected`, if it does.
fn difference(state: &CardState, expected: &Known) -> Option<String> {
    let tries = (state.pin.tries_left, state.puk.tries_left);
    if tries != (expected.pin_tries, expected.puk_tries) {
        return Some(format!(
            "PIN and PUK tries {tries:?}, not {:?}",
            (expected.pin_tries, expected.puk_tries)
        ));
    }
    if verify_pin(&mut card_over(state), &expected.pin) != StatusWord::SUCCESS {
        return Some("another PIN".into());
    }
    let puk = &expected.puk;
    if change_reference(&mut card_over(state), Credential::Puk, puk, puk) != StatusWord::SUCCESS {
        return Some("another PUK".into());
    }
    let (mk, expected_mk) = (&state.management_key, &expected.management_key);
    if (mk.algorithm(), mk.key_bytes()) != (expected_mk.algorithm(), expected_mk.key_bytes()) {
        return Some(format!("another management key ({})", mk.algorithm()));
    }
    if public_keys(state) != expected.keys {
        return Some("other keys".into());
    }
    if state.objects != expected.objects {
        return Some("other objects".into());
    }
    None
}

/// Checks that every key signs, and verifies with the public key the test knows.
fn assert_keys_sign(state: &CardState, known: &Known) {
    let mut card = card_over(state);
    assert_eq!(
        authenticate_with(&mut card, &known.management_key),
        StatusWord::SUCCESS
    );
    for (slot, public) in &known.keys {
        if *slot == Slot::Attestation {
            // It signs attestations only; checked as a public key above.
            continue;
        }
        let algorithm = state.keys[slot].key.algorithm();
        assert_signs(&mut card, *slot, algorithm, public);
    }
}

fn assert_signs(card: &mut Card, slot: Slot, algorithm: Algorithm, public: &PublicKeyTemplate) {
    use rsa::traits::PublicKeyParts;
    use sha2::{Digest, Sha256};
    use signature::Verifier;
    use signature::hazmat::PrehashVerifier;

    let message = b"signed after a kill";
    let hash = Sha256::digest(message);
    match (algorithm, public) {
        (Algorithm::EccP256, PublicKeyTemplate::Point(point)) => {
            let der = private_op(card, slot, algorithm, &hash).unwrap();
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).unwrap();
            let signature = p256::ecdsa::Signature::from_der(&der).unwrap();
            key.verify_prehash(&hash, &signature)
                .unwrap_or_else(|e| panic!("the P-256 key in {slot} signs: {e}"));
        }
        (Algorithm::Ed25519, PublicKeyTemplate::Point(point)) => {
            let signature = private_op(card, slot, algorithm, message).unwrap();
            let key =
                ed25519_dalek::VerifyingKey::from_bytes(point[..].try_into().unwrap()).unwrap();
            let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
            key.verify(message, &signature)
                .unwrap_or_else(|e| panic!("the Ed25519 key in {slot} signs: {e}"));
        }
        (Algorithm::Rsa2048, PublicKeyTemplate::Rsa { .. }) => {
            let key = rsa_public(public);
            let block = pkcs1_sha256_block(&hash, key.size());
            let signature = private_op(card, slot, algorithm, &block).unwrap();
            key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &hash, &signature)
                .unwrap_or_else(|e| panic!("the RSA-2048 key in {slot} signs: {e}"));
        }
        other => panic!("no signature check for {other:?}"),
    }
}

/// Where a kill landed relative to the operation it interrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Before the operation was sent.
    BeforeSending,
    /// Sent, but the state file was not replaced yet and no write was under way.
    BeforeWrite,
    /// In a write: its temporary file was left behind.
    DuringWrite,
    /// The state file was replaced (by the first of the operation's writes, at least),
    /// but the answer did not arrive.
    AfterWrite,
    /// Every operation was answered.
    AfterAnswer,
}

/// The temporary files of `state`'s writes in its directory.
fn temporaries(state: &Path) -> Vec<String> {
    fs::read_dir(state.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| is_temporary(state, name))
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

/// Whether `name` is that of a temporary file of a write of `state`.
fn is_temporary(state: &Path, name: &OsStr) -> bool {
    let prefix = format!(".{}.", state.file_name().unwrap().to_string_lossy());
    let name = name.to_string_lossy();
    name.starts_with(&prefix) && name.ends_with(".tmp")
}

/// The median time a state write takes in `state`'s directory, the same write the card
/// does (temporary file, fsync, rename, directory fsync).
fn write_duration(state: &Path, contents: &CardState) -> Duration {
    let store = FileStore::new(state);
    let mut took: Vec<Duration> = (0..WRITE_SAMPLES)
        .map(|_| {
            let start = Instant::now();
            store.write(contents).unwrap();
            start.elapsed()
        })
        .collect();
    took.sort();
    took[WRITE_SAMPLES / 2]
}

fn inode(path: &Path) -> u64 {
    fs::metadata(path).unwrap().ino()
}

/// Mean durations of answered operations, to spread kills over the time they take.
#[derive(Default)]
struct Durations(BTreeMap<Kind, (Duration, u32)>);

impl Durations {
    fn expected(&self, kind: Kind) -> Duration {
        match self.0.get(&kind) {
            Some((total, n)) => *total / *n,
            None => kind.first_guess(),
        }
    }

    fn add(&mut self, kind: Kind, took: Duration) {
        let (total, n) = self.0.entry(kind).or_default();
        *total += took;
        *n += 1;
    }
}

/// An operation sent (or about to be) when the kill landed.
struct Unanswered {
    kind: Kind,
    operation: Operation,
    /// The state file's inode when it was sent: a write replaces the file.
    inode: u64,
    sent: bool,
}

/// When a session's kill lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    /// This long after the session starts.
    At(Duration),
    /// As soon as a write's temporary file is created.
    InWrite,
    /// As soon as a write's temporary file is renamed into place, before the directory's
    /// fsync and the answer.
    AfterRename,
}

/// The operations of one session and its kill.
struct Session {
    kinds: Vec<Kind>,
    kill: Kill,
}

impl Session {
    fn plan(iteration: usize, durations: &Durations, rng: &mut fastrand::Rng) -> Self {
        if iteration % AIM_EVERY == AIM_EVERY - 1 {
            // A wrong PIN writes once (the session's counter is never low: see `prepare`).
            // Aimed kills take turns between the write's two moments.
            let kill = if (iteration / AIM_EVERY).is_multiple_of(2) {
                Kill::InWrite
            } else {
                Kill::AfterRename
            };
            return Self {
                kinds: vec![Kind::WrongPin],
                kill,
            };
        }
        let kinds: Vec<Kind> = (0..rng.usize(1..=MAX_OPERATIONS_PER_SESSION))
            .map(|_| Kind::pick(rng))
            .collect();
        let expected: Duration = kinds.iter().map(|k| durations.expected(*k)).sum();
        let delay = expected.mul_f64(rng.f64() * KILL_WINDOW);
        Self {
            kinds,
            kill: Kill::At(delay),
        }
    }
}

/// Runs the session's operations until they are done or the kill lands; returns the one
/// that was cut short.
fn run_session(
    card: &mut Served,
    session: &Session,
    known: &mut Known,
    state: &Path,
    durations: &mut Durations,
    rng: &mut fastrand::Rng,
) -> Option<Unanswered> {
    for &kind in &session.kinds {
        let operation = Operation::new(kind, known, rng);
        let apdu = operation.apdu(known).encode().unwrap();
        let inode = inode(state);
        let start = Instant::now();
        let answer = match session.kill {
            Kill::At(_) => card.exchange(&apdu),
            Kill::InWrite => card.exchange_killed_on(
                &apdu,
                state.parent().unwrap(),
                WatchFlags::CREATE,
                |name| is_temporary(state, name),
            ),
            Kill::AfterRename => card.exchange_killed_on(
                &apdu,
                state.parent().unwrap(),
                WatchFlags::MOVED_TO,
                |name| Some(name) == state.file_name(),
            ),
        };
        match answer {
            Ok(answer) => {
                durations.add(kind, start.elapsed());
                *known = operation.answered(known, &Response::parse(&answer).unwrap());
            }
            Err(killed) => {
                return Some(Unanswered {
                    kind,
                    operation,
                    inode,
                    sent: killed == Killed::BeforeAnswer,
                });
            }
        }
    }
    None
}

/// Before any kill is armed: counters that ran low are filled again, and the management
/// key is authenticated for the operations that need it.
fn prepare(card: &mut Served, known: &mut Known) {
    ok(select(card));
    if known.pin_tries < LOW_TRIES {
        assert_eq!(verify_pin(card, &known.pin), StatusWord::SUCCESS);
        known.pin_tries = TRIES;
    }
    if known.puk_tries < LOW_TRIES {
        let puk = known.puk.clone();
        assert_eq!(
            change_reference(card, Credential::Puk, &puk, &puk),
            StatusWord::SUCCESS
        );
        known.puk_tries = TRIES;
    }
    assert_eq!(
        authenticate_with(card, &known.management_key),
        StatusWord::SUCCESS
    );
}

#[test]
fn sigkill_at_any_moment_leaves_a_whole_state_and_spends_no_try_back() {
    let seed = std::env::var("CARD_SIM_CRASH_SEED")
        .map(|s| s.parse().expect("CARD_SIM_CRASH_SEED is a number"))
        .unwrap_or_else(|_| fastrand::u64(..));
    println!("seed {seed} (CARD_SIM_CRASH_SEED={seed} replays the choices)");
    let mut rng = fastrand::Rng::with_seed(seed);

    // Under target/, not /tmp: /tmp may be a tmpfs, whose writes are too quick to be hit.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (state_path, log) = (
        dir.path().join("card.json"),
        dir.path().join("card-sim.log"),
    );
    let config = CardConfig {
        pin_tries: TRIES,
        puk_tries: TRIES,
        ..CardConfig::default()
    };
    let fresh = CardState::factory_new(&config).unwrap();
    FileStore::new(&state_path).create(&fresh).unwrap();
    let write_takes = write_duration(&state_path, &fresh);
    println!("a state write takes {write_takes:?} here");
    let factory_key = ManagementKey::factory(config.management_algorithm).unwrap();
    let mut known = Known::of(&fresh, b"123456", b"12345678", factory_key);

    let vpcd = Vpcd::new();
    let mut durations = Durations::default();
    let mut phases: BTreeMap<(Kind, Phase), u32> = BTreeMap::new();
    let mut landed = BTreeMap::<Phase, u32>::new();
    let mut aimed = BTreeMap::<Phase, u32>::new();
    for iteration in 0..ITERATIONS {
        let mut card = vpcd.serve(&state_path, &log);
        prepare(&mut card, &mut known);
        let session = Session::plan(iteration, &durations, &mut rng);
        if let Kill::At(delay) = session.kill {
            card.arm_kill(Instant::now() + delay);
        }
        let unanswered = run_session(
            &mut card,
            &session,
            &mut known,
            &state_path,
            &mut durations,
            &mut rng,
        );
        card.kill_when_due();

        let context = format!("iteration {iteration}, seed {seed}");
        let left = temporaries(&state_path);
        let phase = match &unanswered {
            None => Phase::AfterAnswer,
            Some(_) if !left.is_empty() => Phase::DuringWrite,
            Some(u) if !u.sent => Phase::BeforeSending,
            Some(u) if inode(&state_path) == u.inode => Phase::BeforeWrite,
            Some(_) => Phase::AfterWrite,
        };
        let kind = unanswered
            .as_ref()
            .map_or(session.kinds[session.kinds.len() - 1], |u| u.kind);
        *phases.entry((kind, phase)).or_default() += 1;
        *landed.entry(phase).or_default() += 1;
        if !matches!(session.kill, Kill::At(_)) {
            *aimed.entry(phase).or_default() += 1;
        }

        // The next program to claim the card gets its lock and clears what the kill left.
        drop(FileStore::open_exclusive(&state_path).unwrap_or_else(|e| panic!("{context}: {e}")));
        assert_eq!(temporaries(&state_path), Vec::<String>::new(), "{context}");
        let state = FileStore::new(&state_path)
            .load()
            .unwrap_or_else(|e| panic!("{context}: the state loads: {e}"));

        let outcomes = match &unanswered {
            None => vec![known.clone()],
            Some(u) => u.operation.interrupted(&known, &state),
        };
        let differences: Vec<String> = outcomes
            .iter()
            .map_while(|outcome| difference(&state, outcome))
            .collect();
        let Some(outcome) = outcomes.get(differences.len()) else {
            panic!(
                "{context}: killed in {:?} ({phase:?}), the state is none of the possible ones: {differences:?}",
                unanswered.map(|u| u.operation)
            );
        };
        known = outcome.clone();
        assert_keys_sign(&state, &known);
    }

    println!("{ITERATIONS} kills; where they landed, by the operation they interrupted:");
    for ((kind, phase), n) in &phases {
        println!("  {kind:?} {phase:?}: {n}");
    }
    println!("by phase: {landed:?}");
    println!("of those aimed at a write: {aimed:?}");
    for (kind, (total, n)) in &durations.0 {
        println!(
            "  {kind:?} answered {n} times, {:?} on average",
            *total / *n
        );
    }
    assert!(
        landed.contains_key(&Phase::BeforeWrite),
        "no kill landed BeforeWrite: {landed:?}"
    );
    if write_takes >= HITTABLE_WRITE {
        for phase in [Phase::DuringWrite, Phase::AfterWrite] {
            assert!(
                landed.contains_key(&phase),
                "no kill landed {phase:?}, although writes take {write_takes:?}: {landed:?}"
            );
        }
    } else {
        println!(
            "writes take {write_takes:?}, under {HITTABLE_WRITE:?}: too quick for kills \
             in and just after one to be required"
        );
    }
}
