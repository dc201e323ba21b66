//! Sessions recorded with `Traced` over the in-process card: no secret reaches the trace,
//! and a recorded session replays in process (`Replayed`) with the same results, or
//! reports the first command the client sent otherwise.

use std::path::Path;

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::templates::ImportedKey;
use apdu_spec::piv::{Algorithm, Slot};
use card_sim::replay::{Replay, ReplayError};
use host_driver::hash::HashAlg;
use host_driver::transport::Replayed;
use host_driver::{Error, InProcess, PivCard, PublicKey, Secret, SignatureScheme, Traced};

fn secret(s: &str) -> Secret {
    Secret::new(s.as_bytes().to_vec()).unwrap()
}

fn traced(state: &Path, trace: &Path) -> PivCard<Traced<InProcess>> {
    let transport =
        Traced::create(InProcess::open(state).unwrap(), trace, "host-driver tests").unwrap();
    PivCard::open(transport).unwrap()
}

fn replayed(trace: &Path) -> PivCard<Replayed> {
    PivCard::open(Replayed::new(Replay::open(trace).unwrap(), "replay")).unwrap()
}

/// Whether `text` holds `secret` in any form a trace could: hex either case, or as is.
fn holds(text: &str, secret: &[u8]) -> bool {
    text.contains(&hex::encode(secret))
        || text.contains(&hex::encode_upper(secret))
        || std::str::from_utf8(secret).is_ok_and(|ascii| text.contains(ascii))
}

#[test]
fn no_pin_puk_management_key_or_imported_key_reaches_the_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (state, trace) = (dir.path().join("card.json"), dir.path().join("admin.jsonl"));
    let new_pin = "864213";
    let new_puk = "97531864";
    let other_pin = "135792";
    let scalar = [0x4B; 32];
    let new_key = ManagementKey::new(
        Algorithm::Tdes,
        &hex::decode("3C1F5A7B9D2E4F60718293A4B5C6D7E8F90A1B2C3D4E5F60").unwrap(),
    )
    .unwrap();
    {
        let mut card = traced(&state, &trace);
        card.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
            .unwrap();
        card.import_key(
            Slot::Signature,
            Algorithm::EccP256,
            ImportedKey::Ecc(scalar.to_vec()),
            None,
            None,
        )
        .unwrap();
        card.verify_pin(&secret("123456")).unwrap();
        card.set_management_key(&new_key, false).unwrap();
        card.authenticate(&new_key).unwrap();
        card.set_pin_protected_management_key(&new_key).unwrap();
        card.change_pin(&secret("123456"), &secret(new_pin))
            .unwrap();
        card.change_puk(&secret("12345678"), &secret(new_puk))
            .unwrap();
        card.unblock_pin(&secret(new_puk), &secret(other_pin))
            .unwrap();
        card.verify_pin(&secret(other_pin)).unwrap();
        let read = card
            .pin_protected_management_key(&secret(other_pin))
            .unwrap()
            .unwrap();
        assert_eq!(read.key_bytes(), new_key.key_bytes());
    }
    let text = std::fs::read_to_string(&trace).unwrap();
    let factory = ManagementKey::factory(Algorithm::Tdes).unwrap();
    let secrets: [&[u8]; 8] = [
        b"123456",
        b"12345678",
        new_pin.as_bytes(),
        new_puk.as_bytes(),
        other_pin.as_bytes(),
        &scalar,
        new_key.key_bytes(),
        factory.key_bytes(),
    ];
    for secret in secrets {
        assert!(
            !holds(&text, secret),
            "{} in the trace:\n{text}",
            hex::encode(secret)
        );
    }
    // The commands are there, their secrets as redacted bytes.
    assert!(
        text.contains(r#""command":"0020008008xxxxxxxxxxxxxxxx""#),
        "{text}"
    );
    assert!(
        text.contains("5C035FC109"),
        "printed information is named: {text}"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&trace).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}

/// A card with a P-256 key in 9c, its state in `state`; the key's public half.
fn card_with_signing_key(state: &Path) -> PublicKey {
    let mut card = PivCard::open(InProcess::open(state).unwrap()).unwrap();
    card.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
        .unwrap();
    card.generate(Slot::Signature, Algorithm::EccP256, None, None)
        .unwrap()
}

const DIGEST: [u8; 32] = [0x2E; 32];

fn sign(
    card: &mut PivCard<impl host_driver::Transport>,
    key: &PublicKey,
) -> Result<Vec<u8>, Error> {
    card.verify_pin(&secret("123456"))?;
    card.sign_digest(
        Slot::Signature,
        key,
        SignatureScheme::Ecdsa(HashAlg::Sha256),
        &DIGEST,
        None,
    )
}

#[test]
fn a_signing_session_replays_with_the_recorded_signature() {
    let dir = tempfile::tempdir().unwrap();
    let (state, trace) = (dir.path().join("card.json"), dir.path().join("sign.jsonl"));
    let key = card_with_signing_key(&state);
    let recorded = sign(&mut traced(&state, &trace), &key).unwrap();

    let mut card = replayed(&trace);
    // ECDSA signs differently every time: only a replay gives the same signature back.
    assert_eq!(sign(&mut card, &key).unwrap(), recorded);
    let replay = card.transport().replay();
    assert_eq!(replay.finish(), Ok(replay.recorded()));
}

#[test]
fn a_session_that_differs_reports_its_first_other_command() {
    let dir = tempfile::tempdir().unwrap();
    let (state, trace) = (dir.path().join("card.json"), dir.path().join("sign.jsonl"));
    let key = card_with_signing_key(&state);
    sign(&mut traced(&state, &trace), &key).unwrap();

    let mut card = replayed(&trace);
    card.verify_pin(&secret("123456")).unwrap();
    let verified = card.transport().replay().replayed();
    // Another digest: the signing command differs where the digest is.
    let other = card.sign_digest(
        Slot::Signature,
        &key,
        SignatureScheme::Ecdsa(HashAlg::Sha256),
        &[0x2F; 32],
        None,
    );
    assert!(other.is_err(), "answered 6F00");
    match card.transport().replay().finish() {
        Err(ReplayError::Differs {
            index,
            recorded,
            received,
        }) => {
            assert!(index > verified, "{index}");
            assert!(recorded.contains(&"2E".repeat(32)), "{recorded}");
            assert!(received.contains(&"2F".repeat(32)), "{received}");
        }
        other => panic!("{other:?}"),
    }
}
