//! The state file: what survives a reload and what does not, how a missing, corrupt or
//! newer file is treated, its permissions, and the order in which the PIN counter is saved.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use apdu_spec::StatusWord;
use apdu_spec::piv::metadata::Origin;
use apdu_spec::piv::object::CertificateObject;
use apdu_spec::piv::reference_data::Credential;
use apdu_spec::piv::templates::PublicKeyTemplate;
use apdu_spec::piv::{
    Algorithm, Instruction, KeyRef, Metadata, ObjectId, PinPolicy, Slot, TouchPolicy,
};
use apdu_spec::tlv::{self, Tag, Tlv};
use card_sim::keys::PrivateKey;
use card_sim::state::SlotKey;
use card_sim::{
    Card, CardConfig, CardState, FileStore, Flavour, MetadataSupport, StateStore, StoreError,
};
use common::*;
use signature::Verifier;
use signature::hazmat::PrehashVerifier;

const FRESH_PIN_METADATA: [u8; 10] = [0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x03, 0x03];

fn open(path: &Path) -> Card {
    match Card::open(path, &CardConfig::default()) {
        Ok(card) => card,
        Err(e) => panic!("cannot open {}: {e}", path.display()),
    }
}

fn open_err(path: &Path) -> StoreError {
    match Card::open(path, &CardConfig::default()) {
        Ok(_) => panic!("{} opened although it should not", path.display()),
        Err(e) => e,
    }
}

fn get_serial(card: &mut Card) -> u32 {
    let bytes = ok(send(card, cmd(Instruction::GetSerial, 0x00, 0x00, vec![])));
    u32::from_be_bytes(bytes.try_into().expect("GET SERIAL answers 4 bytes"))
}

/// The GUID (tag 34) of the CHUID object.
fn chuid_guid(card: &mut Card) -> Vec<u8> {
    let object = ok(get_data(card, ObjectId::CHUID));
    let outer = Tlv::parse_exact(&object).unwrap();
    assert_eq!(outer.tag, Tag(0x53));
    tlv::find(outer.value, Tag(0x34))
        .unwrap()
        .expect("the CHUID has a GUID")
        .to_vec()
}

fn point(template: &PublicKeyTemplate) -> Vec<u8> {
    match template {
        PublicKeyTemplate::Point(p) => p.clone(),
        other => panic!("not a point: {other:?}"),
    }
}

fn assert_p256_signs(card: &mut Card, slot: Slot, public: &[u8]) {
    let hash = [0x3Cu8; 32];
    let der = private_op(card, slot, Algorithm::EccP256, &hash).expect("the P-256 key signs");
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(public).unwrap();
    let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
    vk.verify_prehash(&hash, &sig)
        .expect("the signature verifies with the key GENERATE returned");
}

fn assert_ed25519_signs(card: &mut Card, slot: Slot, public: &[u8]) {
    let message = b"signed after a reload";
    let sig = private_op(card, slot, Algorithm::Ed25519, message).expect("the Ed25519 key signs");
    let vk = ed25519_dalek::VerifyingKey::from_bytes(public.try_into().unwrap()).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
    vk.verify(message, &sig)
        .expect("the signature verifies with the key GENERATE returned");
}

/// The names of the entries in `dir`, sorted.
/// The files in `dir`, but for the lock files cards in use hold beside their state.
fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".json.lock"))
        .collect();
    names.sort();
    names
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn state_survives_reload_but_login_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let certificate =
        CertificateObject::new(b"a certificate's DER would be here".to_vec()).encode();

    let (serial, guid, p256_public, ed25519_public) = {
        let mut card = open(&path);
        ok(select(&mut card));
        let serial = get_serial(&mut card);
        let guid = chuid_guid(&mut card);
        assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
        let p256_public = point(&generate(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
        ));
        let ed25519_public = point(&generate(&mut card, Slot::Signature, Algorithm::Ed25519));
        assert_eq!(
            put_data(&mut card, ObjectId::CERT_AUTHENTICATION, &certificate),
            StatusWord::SUCCESS
        );
        assert_eq!(
            change_reference(&mut card, Credential::Pin, b"123456", b"24681357"),
            StatusWord::SUCCESS
        );
        assert_eq!(verify_pin(&mut card, b"11111111"), StatusWord(0x63C2));
        (serial, guid, p256_public, ed25519_public)
    };

    let mut card = open(&path);
    ok(select(&mut card));
    assert_eq!(get_serial(&mut card), serial);
    assert_eq!(chuid_guid(&mut card), guid);
    assert_eq!(
        ok(get_data(&mut card, ObjectId::CERT_AUTHENTICATION)),
        tlv::encode(Tag(0x53), &certificate)
    );
    // Two tries left, the changed PIN is no longer the default.
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PIN)),
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x00, 0x06, 0x02, 0x03, 0x02]
    );
    let meta = Metadata::parse(&ok(metadata(&mut card, KeyRef(0x9A)))).unwrap();
    assert_eq!(meta.origin, Some(Origin::Generated));
    assert_eq!(
        meta.public_key,
        Some(PublicKeyTemplate::Point(p256_public.clone()).encode_content())
    );

    // The management key login is gone: administrative commands are refused.
    assert!(!card.pin_verified());
    assert_eq!(
        put_data(&mut card, ObjectId::CERT_AUTHENTICATION, &certificate),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(
        generate_with(
            &mut card,
            Slot::KeyManagement,
            Algorithm::EccP256,
            None,
            None
        )
        .sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    // Nor is the PIN verified (it was not, after the wrong try).
    assert_eq!(
        send(&mut card, cmd(Instruction::Verify, 0x00, 0x80, vec![])).sw,
        StatusWord(0x63C2)
    );
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            &[1; 32]
        ),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );

    // The new PIN works and restores the counter; both keys still sign as before.
    assert_eq!(verify_pin(&mut card, b"24681357"), StatusWord::SUCCESS);
    assert_p256_signs(&mut card, Slot::Authentication, &p256_public);
    assert_ed25519_signs(&mut card, Slot::Signature, &ed25519_public);

    // Log in fully, then reload: neither login survives.
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    assert_eq!(verify_pin(&mut card, b"24681357"), StatusWord::SUCCESS);
    assert!(card.pin_verified());
    drop(card);

    let mut card = open(&path);
    ok(select(&mut card));
    assert!(!card.pin_verified());
    assert_eq!(
        send(&mut card, cmd(Instruction::Verify, 0x00, 0x80, vec![])).sw,
        StatusWord(0x63C3)
    );
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            &[1; 32]
        ),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
    assert_eq!(
        put_data(&mut card, ObjectId::PRINTED_INFORMATION, b"x"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PIN)),
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x00, 0x06, 0x02, 0x03, 0x03]
    );
}

#[test]
fn missing_file_creates_a_factory_fresh_card_and_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new-card.json");
    assert!(!path.exists());

    let config = CardConfig {
        serial: Some(42_424_242),
        ..CardConfig::default()
    };
    let mut card = Card::open(&path, &config)
        .map_err(|e| e.to_string())
        .unwrap();
    assert!(path.exists(), "the new card is saved at once");
    let stored = FileStore::new(&path).load().unwrap();
    assert_eq!(stored.serial, 42_424_242);
    assert_eq!(
        stored.keys.keys().copied().collect::<Vec<_>>(),
        [Slot::Attestation]
    );

    // Factory-fresh: default PIN, PUK and management key, no user keys, the factory objects.
    ok(select(&mut card));
    assert_eq!(get_serial(&mut card), 42_424_242);
    assert_eq!(ok(metadata(&mut card, KeyRef::PIN)), FRESH_PIN_METADATA);
    assert_eq!(ok(metadata(&mut card, KeyRef::PUK)), FRESH_PIN_METADATA);
    assert_eq!(
        ok(metadata(&mut card, KeyRef::MANAGEMENT)),
        [0x01, 0x01, 0x03, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x01]
    );
    assert_eq!(
        metadata(&mut card, KeyRef(0x9A)).sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
    assert_eq!(chuid_guid(&mut card).len(), 16);
    assert_eq!(
        get_data(&mut card, ObjectId::CERT_AUTHENTICATION).sw,
        StatusWord::NOT_FOUND
    );
    let attestation_cert = ok(get_data(&mut card, ObjectId::YUBICO_ATTESTATION_CERT));
    drop(card);

    // What was written is what the next open finds: the same card, not another new one.
    let mut card = Card::open(&path, &config)
        .map_err(|e| e.to_string())
        .unwrap();
    ok(select(&mut card));
    assert_eq!(
        ok(get_data(&mut card, ObjectId::YUBICO_ATTESTATION_CERT)),
        attestation_cert
    );
}

#[test]
fn two_fresh_cards_get_different_serials_and_chuid_guids() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = open(&dir.path().join("a.json"));
    let mut b = open(&dir.path().join("b.json"));
    ok(select(&mut a));
    ok(select(&mut b));
    assert_ne!(get_serial(&mut a), get_serial(&mut b));
    let (guid_a, guid_b) = (chuid_guid(&mut a), chuid_guid(&mut b));
    assert_eq!((guid_a.len(), guid_b.len()), (16, 16));
    assert_ne!(guid_a, guid_b);
}

/// The JSON of a freshly created state file.
fn valid_state_json(dir: &Path) -> serde_json::Value {
    let path = dir.join("template.json");
    drop(open(&path));
    let value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    fs::remove_file(&path).unwrap();
    value
}

#[test]
fn corrupt_state_files_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let valid = valid_state_json(dir.path());
    let valid_bytes = serde_json::to_vec_pretty(&valid).unwrap();
    let edited = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = valid.clone();
        edit(&mut v);
        serde_json::to_vec_pretty(&v).unwrap()
    };

    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "garbage bytes",
            b"\x00\xFF\xFE garbage, not JSON \x01\x02".to_vec(),
        ),
        (
            "truncated JSON",
            valid_bytes[..valid_bytes.len() / 2].to_vec(),
        ),
        (
            "bad hex secret",
            edited(&|v| v["keys"]["f9"]["secret"] = "zz-not-hex".into()),
        ),
        (
            "wrong format",
            edited(&|v| v["format"] = "some other program's state".into()),
        ),
        (
            "unknown top-level field",
            edited(&|v| v["extra"] = true.into()),
        ),
        (
            "unknown PIN field",
            edited(&|v| v["pin"]["hint"] = "1234".into()),
        ),
    ];
    for (what, bytes) in cases {
        let path = dir.path().join("card.json");
        fs::write(&path, &bytes).unwrap();
        match open_err(&path) {
            StoreError::Corrupt { path: p, reason } => {
                assert_eq!(p, path, "{what}");
                assert!(!reason.is_empty(), "{what}");
            }
            other => panic!("{what}: expected Corrupt, got {other:?}"),
        }
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "{what}: the file is left as it was"
        );
        assert_eq!(
            dir_entries(dir.path()),
            ["card.json"],
            "{what}: nothing else is written"
        );
        // Asking again does not silently reset it either.
        assert!(
            matches!(open_err(&path), StoreError::Corrupt { .. }),
            "{what}"
        );
        assert_eq!(fs::read(&path).unwrap(), bytes, "{what}");
    }
}

#[test]
fn how_metadata_answers_is_kept_and_files_without_it_are_full_metadata_cards() {
    let dir = tempfile::tempdir().unwrap();
    let full = valid_state_json(dir.path());
    assert!(
        full.get("metadata").is_none(),
        "a YubiKey's file is what card-sims before the field wrote"
    );
    let path = dir.path().join("card.json");
    fs::write(&path, serde_json::to_vec(&full).unwrap()).unwrap();
    assert_eq!(
        FileStore::new(&path).load().unwrap().metadata,
        MetadataSupport::Full
    );
    fs::remove_file(&path).unwrap();

    for (flavour, name) in [
        (Flavour::MetadataAbsent, "absent"),
        (Flavour::MetadataPartial, "partial"),
    ] {
        let config = flavour.config();
        drop(Card::open(&path, &config).unwrap());
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["metadata"], name);
        let mut card = Card::open(&path, &CardConfig::default()).unwrap();
        assert_eq!(card.state().metadata, config.metadata, "{name}");
        ok(select(&mut card));
        assert_ne!(
            metadata(&mut card, KeyRef::PIN).data,
            FRESH_PIN_METADATA,
            "{name}"
        );
        drop(card);
        fs::remove_file(&path).unwrap();
    }
}

#[test]
fn newer_format_version_is_unsupported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = valid_state_json(dir.path());
    state["version"] = 2.into();
    let bytes = serde_json::to_vec_pretty(&state).unwrap();
    let path = dir.path().join("card.json");
    fs::write(&path, &bytes).unwrap();
    match open_err(&path) {
        StoreError::UnsupportedVersion { path: p, found } => {
            assert_eq!((p, found), (path.clone(), 2))
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    assert_eq!(fs::read(&path).unwrap(), bytes);
    assert_eq!(dir_entries(dir.path()), ["card.json"]);
}

#[test]
fn state_file_is_private_and_saves_leave_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let mut card = open(&path);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(dir_entries(dir.path()), ["card.json"]);

    // Every kind of change saves; each leaves just the one private file.
    ok(select(&mut card));
    assert_eq!(verify_pin(&mut card, b"000000"), StatusWord(0x63C2));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    generate(&mut card, Slot::KeyManagement, Algorithm::X25519);
    assert_eq!(
        put_data(&mut card, ObjectId::PRINTED_INFORMATION, b"printed"),
        StatusWord::SUCCESS
    );
    assert_eq!(
        change_reference(&mut card, Credential::Puk, b"12345678", b"87654321"),
        StatusWord::SUCCESS
    );
    assert_eq!(mode(&path), 0o600);
    assert_eq!(dir_entries(dir.path()), ["card.json"]);
    assert_eq!(
        FileStore::new(&path).load().unwrap().keys.len(),
        2,
        "the saves reached the file"
    );
}

#[test]
fn saving_makes_a_world_readable_state_file_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    drop(open(&path));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();

    let mut card = open(&path);
    ok(select(&mut card));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(dir_entries(dir.path()), ["card.json"]);
}

/// A store that fails while `failing` is set.
struct FlakyStore {
    failing: Arc<AtomicBool>,
}

impl StateStore for FlakyStore {
    fn save(&mut self, _state: &CardState) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Write {
                path: "/nowhere/card.json".into(),
                source: std::io::Error::other("disk full"),
            })
        } else {
            Ok(())
        }
    }
}

/// A fresh state with a P-256 key in 9A (PIN once), put there without a save.
fn state_with_key(config: &CardConfig) -> CardState {
    let mut state = CardState::factory_new(config).unwrap();
    let key = SlotKey {
        key: PrivateKey::generate(Algorithm::EccP256).unwrap(),
        pin_policy: PinPolicy::Default,
        touch_policy: TouchPolicy::Default,
        origin: Origin::Generated,
    };
    state.keys.insert(Slot::Authentication, key);
    state
}

#[test]
fn verify_answers_memory_failure_and_does_not_log_in_when_the_state_cannot_be_saved() {
    let failing = Arc::new(AtomicBool::new(true));
    let config = CardConfig {
        serial: Some(7),
        ..CardConfig::default()
    };
    let mut card = Card::new(
        state_with_key(&config),
        FlakyStore {
            failing: failing.clone(),
        },
    );
    ok(select(&mut card));

    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::MEMORY_FAILURE);
    assert!(!card.pin_verified());
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            &[9; 32]
        ),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
    assert_ne!(
        send(&mut card, cmd(Instruction::Verify, 0x00, 0x80, vec![])).sw,
        StatusWord::SUCCESS
    );

    // The same PIN is accepted once the store works again.
    failing.store(false, Ordering::SeqCst);
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert!(card.pin_verified());
    assert!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            &[9; 32]
        )
        .is_ok()
    );
}

/// A store that records the PIN's tries left at every save.
struct RecordingStore {
    saved_tries: Arc<Mutex<Vec<u8>>>,
}

impl StateStore for RecordingStore {
    fn save(&mut self, state: &CardState) -> Result<(), StoreError> {
        self.saved_tries.lock().unwrap().push(state.pin.tries_left);
        Ok(())
    }
}

#[test]
fn pin_counter_is_saved_decremented_before_the_comparison() {
    for max in [3u8, 5] {
        let saved = Arc::new(Mutex::new(Vec::new()));
        let config = CardConfig {
            serial: Some(8),
            pin_tries: max,
            ..CardConfig::default()
        };
        let mut card = Card::new(
            CardState::factory_new(&config).unwrap(),
            RecordingStore {
                saved_tries: saved.clone(),
            },
        );
        ok(select(&mut card));
        let take = || std::mem::take(&mut *saved.lock().unwrap());

        // Correct PIN: first the spent try is saved, then the restored counter.
        assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
        assert_eq!(take(), [max - 1, max]);

        // Wrong PIN: only the spent try; nothing gives it back.
        assert_eq!(
            verify_pin(&mut card, b"654321"),
            StatusWord::verify_failed(max - 1)
        );
        assert_eq!(take(), [max - 1]);
        assert_eq!(
            verify_pin(&mut card, b"654321"),
            StatusWord::verify_failed(max - 2)
        );
        assert_eq!(take(), [max - 2]);

        // Correct again: spent from the lowered counter, then full.
        assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
        assert_eq!(take(), [max - 3, max]);

        // Asking for the status saves nothing.
        assert_eq!(
            send(&mut card, cmd(Instruction::Verify, 0x00, 0x80, vec![])).sw,
            StatusWord::SUCCESS
        );
        assert_eq!(take(), Vec::<u8>::new());
    }
}

#[test]
fn a_change_that_cannot_be_saved_is_undone() {
    let failing = Arc::new(AtomicBool::new(false));
    let config = CardConfig {
        serial: Some(8),
        ..CardConfig::default()
    };
    let mut card = Card::new(
        state_with_key(&config),
        FlakyStore {
            failing: failing.clone(),
        },
    );
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let before = Metadata::parse(&ok(metadata(&mut card, KeyRef(0x9A)))).unwrap();
    failing.store(true, Ordering::SeqCst);

    let r = generate_with(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP384,
        None,
        None,
    );
    assert_eq!(r.sw, StatusWord::MEMORY_FAILURE);
    assert_eq!(
        generate_with(&mut card, Slot::Signature, Algorithm::EccP256, None, None).sw,
        StatusWord::MEMORY_FAILURE
    );
    assert_eq!(
        put_data(&mut card, ObjectId::PRINTED_INFORMATION, &[1, 2, 3]),
        StatusWord::MEMORY_FAILURE
    );
    assert_eq!(
        change_reference(&mut card, Credential::Pin, b"123456", b"654321"),
        StatusWord::MEMORY_FAILURE
    );

    failing.store(false, Ordering::SeqCst);
    assert_eq!(
        Metadata::parse(&ok(metadata(&mut card, KeyRef(0x9A)))).unwrap(),
        before,
        "9a still holds the old key"
    );
    assert_eq!(
        metadata(&mut card, KeyRef(0x9C)).sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
    assert_eq!(
        verify_pin(&mut card, b"123456"),
        StatusWord::SUCCESS,
        "the PIN did not change"
    );
    assert_eq!(
        get_data(&mut card, ObjectId::PRINTED_INFORMATION).sw,
        StatusWord::NOT_FOUND
    );
}

#[test]
fn a_card_in_use_cannot_be_opened_a_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let card = open(&path);
    assert!(
        matches!(open_err(&path), StoreError::InUse { .. }),
        "two programs would overwrite each other"
    );
    assert_eq!(mode(&dir.path().join("card.json.lock")), 0o600);
    drop(card);
    drop(open(&path));
}

#[test]
fn every_name_of_one_state_file_shares_its_lock_and_writes_reach_the_file() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("a");
    fs::create_dir(&real_dir).unwrap();
    let path = real_dir.join("card.json");
    let (link, dir_link) = (dir.path().join("link.json"), dir.path().join("b"));
    symlink(&path, &link).unwrap();
    symlink(&real_dir, &dir_link).unwrap();

    // Not yet created, named through a symlinked directory.
    let card = open(&dir_link.join("card.json"));
    for other in [&path, &link, &real_dir.join("../a/card.json")] {
        assert!(
            matches!(open_err(other), StoreError::InUse { .. }),
            "{} shares the lock of the file it names",
            other.display()
        );
    }
    drop(card);
    assert_eq!(dir_entries(&real_dir), ["card.json"]);

    let mut card = open(&link);
    assert!(matches!(open_err(&path), StoreError::InUse { .. }));
    ok(select(&mut card));
    assert_eq!(
        change_reference(&mut card, Credential::Pin, b"123456", b"654321"),
        StatusWord::SUCCESS
    );
    drop(card);
    assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    let mut card = open(&path);
    ok(select(&mut card));
    assert_eq!(verify_pin(&mut card, b"654321"), StatusWord::SUCCESS);
}

#[test]
fn a_symlink_at_the_lock_path_is_refused_not_followed() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let lock = dir.path().join("card.json.lock");
    let (victim, elsewhere) = (dir.path().join("victim"), dir.path().join("elsewhere"));
    fs::write(&victim, "precious").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    for target in [&victim, &elsewhere] {
        fs::remove_file(&lock).ok();
        symlink(target, &lock).unwrap();
        let err = open_err(&path);
        assert!(
            matches!(&err, StoreError::LockIsLink { path } if *path == lock),
            "{err}"
        );
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(mode(&victim), 0o644);
    assert!(
        !elsewhere.exists(),
        "nothing is created where the link points"
    );
    assert!(!path.exists(), "no card is created without its lock");
}

#[test]
fn temporary_files_a_killed_write_left_are_removed_by_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    drop(open(&path));
    // What a write killed before its rename leaves: the new state under a temporary name.
    let stale = dir.path().join(".card.json.a1B2c3.tmp");
    fs::copy(&path, &stale).unwrap();
    // Not temporaries of this card: another card's (card.json.b), and a file of the user's.
    let others = [
        ".card.json.b.x9Y8z7.tmp",
        ".card.json.notes.tmp",
        "card.json.a1B2c3.tmp",
    ];
    for name in others {
        fs::write(dir.path().join(name), "kept").unwrap();
    }

    drop(open(&path));
    let mut expected = vec!["card.json".to_owned()];
    expected.extend(others.map(String::from));
    expected.sort();
    assert_eq!(dir_entries(dir.path()), expected);
}

#[test]
fn rsa_keys_of_a_state_file_saved_by_earlier_versions_still_sign() {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;

    // Written with the `rsa` crate doing the private operations, before AWS-LC did.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rsa-keys-card.json");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    fs::copy(&fixture, &path).unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&fs::read(&fixture).unwrap()).unwrap();

    let mut card = open(&path);
    for (slot, alg) in [
        (Slot::Authentication, Algorithm::Rsa2048),
        (Slot::Signature, Algorithm::Rsa3072),
        (Slot::KeyManagement, Algorithm::Rsa4096),
        (Slot::CardAuthentication, Algorithm::Rsa1024),
    ] {
        let secret = saved["keys"][slot.to_string()]["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("the fixture has a key in {slot}"));
        let public = rsa::PrivateKey::from_pkcs1_der(&hex::decode(secret).unwrap())
            .unwrap()
            .to_public_key();
        let mut block = vec![0x5A; public.size()];
        block[0] = 0;
        // The signature slot asks for the PIN before every signature.
        assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
        let signed = private_op(&mut card, slot, alg, &block).expect("the old key signs");
        let n = public.n_bits_precision();
        let recovered =
            rsa::hazmat::rsa_encrypt(&public, &rsa::BoxedUint::from_be_slice(&signed, n).unwrap())
                .unwrap();
        assert_eq!(
            recovered,
            rsa::BoxedUint::from_be_slice(&block, n).unwrap(),
            "{alg} in {slot}: the signature verifies with the saved public key"
        );
    }
}
