//! Recording a session with the card and serving it again: the same commands get the same
//! answers, the first other command is reported with its number, and a session whose
//! answers were redacted is refused where it needs one.

mod common;

use std::path::Path;

use apdu_spec::StatusWord;
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::{Algorithm, ObjectId, Slot};
use card_sim::Card;
use card_sim::recorded::Recorded;
use card_sim::replay::{Replay, ReplayError};
use card_sim::vpcd::VirtualCard;
use common::{
    Reader, authenticate, authenticate_with, fresh, generate, get_data, private_op, select,
    verify_pin,
};

impl Reader for Recorded<Card> {
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        VirtualCard::transmit(self, command)
    }
}

impl Reader for Replay {
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        VirtualCard::transmit(self, command)
    }
}

const DIGEST: [u8; 32] = [0x17; 32];

/// What a client that signs a digest sees: the CHUID, the PIN's status, the signature.
fn sign_session(card: &mut impl Reader, pin: &[u8]) -> (Vec<u8>, StatusWord, Vec<u8>) {
    select(card);
    let chuid = get_data(card, ObjectId::CHUID).data;
    let verified = verify_pin(card, pin);
    let signature =
        private_op(card, Slot::Signature, Algorithm::EccP256, &DIGEST).unwrap_or_default();
    (chuid, verified, signature)
}

/// A card with a P-256 key in 9c, and the trace of `sign_session` on it.
fn recorded_sign_session(trace: &Path) -> (Vec<u8>, StatusWord, Vec<u8>) {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    generate(&mut card, Slot::Signature, Algorithm::EccP256);
    card.power_off();
    let mut recorded = Recorded::create(card, trace, "card-sim tests").unwrap();
    recorded.power_on();
    let seen = sign_session(&mut recorded, b"123456");
    recorded.finish().unwrap();
    seen
}

#[test]
fn a_recorded_session_replays_with_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("sign.jsonl");
    let recorded = recorded_sign_session(&trace);
    assert_eq!(recorded.1, StatusWord::SUCCESS);
    assert!(!recorded.2.is_empty());

    let mut replay = Replay::open(&trace).unwrap();
    assert_eq!(replay.atr(), card_sim::atr::ATR.to_vec());
    // ECDSA signatures differ on every run; a replay answers the recorded one.
    assert_eq!(sign_session(&mut replay, b"123456"), recorded);
    assert_eq!(replay.finish(), Ok(replay.recorded()));
}

#[test]
fn a_redacted_pin_matches_any_pin_of_its_length() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("sign.jsonl");
    let recorded = recorded_sign_session(&trace);
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(!text.contains(&hex::encode_upper(b"123456")), "{text}");

    let mut replay = Replay::open(&trace).unwrap();
    // The recording says the PIN was right: a replay cannot tell one PIN from another.
    assert_eq!(sign_session(&mut replay, b"654321"), recorded);
    assert!(replay.finish().is_ok());
}

#[test]
fn the_first_command_that_differs_is_reported_by_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("sign.jsonl");
    recorded_sign_session(&trace);

    let mut replay = Replay::open(&trace).unwrap();
    select(&mut replay);
    let n = replay.replayed();
    // The recording read the CHUID next, not the signature certificate.
    let answer = get_data(&mut replay, ObjectId::CERT_SIGNATURE);
    assert_eq!(answer.sw, StatusWord::NO_PRECISE_DIAGNOSIS);
    let failure = replay.failure().cloned().unwrap();
    let ReplayError::Differs {
        index,
        recorded,
        received,
    } = &failure
    else {
        panic!("{failure}");
    };
    assert_eq!(*index, n + 1);
    assert!(recorded.contains("5C035FC102"), "{recorded}");
    assert!(received.contains("5C035FC10A"), "{received}");
    assert!(
        failure
            .to_string()
            .starts_with(&format!("command {} differs: recorded ", n + 1))
    );
    // Nothing more is answered, and the failure stays the first one.
    assert_eq!(
        verify_pin(&mut replay, b"123456"),
        StatusWord::NO_PRECISE_DIAGNOSIS
    );
    assert_eq!(replay.finish(), Err(failure));
}

#[test]
fn a_pin_of_another_length_differs_and_is_reported_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("verify.jsonl");
    let mut recorded = Recorded::create(fresh(), &trace, "card-sim tests").unwrap();
    // Hosts pad every PIN to 8 bytes; one sent unpadded is another length.
    verify_pin(&mut recorded, b"123456");
    recorded.finish().unwrap();

    let mut replay = Replay::open(&trace).unwrap();
    let sw = common::send(
        &mut replay,
        apdu_spec::CommandApdu::new(0, 0x20, 0, 0x80).with_data(b"12345".to_vec()),
    )
    .sw;
    assert_eq!(sw, StatusWord::NO_PRECISE_DIAGNOSIS);
    let failure = replay.failure().unwrap().to_string();
    assert_eq!(
        failure,
        format!(
            "command 1 differs: recorded 0020008008{}, received 0020008005{}",
            "xx".repeat(8),
            "xx".repeat(5)
        )
    );
}

#[test]
fn a_redacted_answer_is_refused_at_its_command() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("admin.jsonl");
    let mut recorded = Recorded::create(fresh(), &trace, "card-sim tests").unwrap();
    select(&mut recorded);
    let factory = ManagementKey::factory(Algorithm::Tdes).unwrap();
    assert_eq!(
        authenticate_with(&mut recorded, &factory),
        StatusWord::SUCCESS
    );
    recorded.finish().unwrap();

    let mut replay = Replay::open(&trace).unwrap();
    select(&mut replay);
    // The host's first step asks for the witness, which the card encrypted: redacted.
    assert_eq!(
        authenticate_with(&mut replay, &factory),
        StatusWord::NO_PRECISE_DIAGNOSIS
    );
    let failure = replay.finish().unwrap_err();
    assert_eq!(
        failure,
        ReplayError::Redacted {
            index: 2,
            name: "GENERAL AUTHENTICATE"
        }
    );
    assert!(
        failure.to_string().contains("cannot be replayed"),
        "{failure}"
    );
}

#[test]
fn fewer_or_more_commands_than_recorded_fail() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("select.jsonl");
    let mut recorded = Recorded::create(fresh(), &trace, "card-sim tests").unwrap();
    select(&mut recorded);
    select(&mut recorded);
    recorded.finish().unwrap();

    let mut replay = Replay::open(&trace).unwrap();
    select(&mut replay);
    assert_eq!(
        replay.finish(),
        Err(ReplayError::Incomplete {
            replayed: 1,
            recorded: 2
        })
    );
    select(&mut replay);
    assert_eq!(replay.finish(), Ok(2));
    assert_eq!(select(&mut replay).sw, StatusWord::NO_PRECISE_DIAGNOSIS);
    assert!(matches!(
        replay.finish(),
        Err(ReplayError::BeyondEnd {
            index: 3,
            recorded: 2,
            ..
        })
    ));
}

#[test]
fn power_events_are_recorded_but_not_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("power.jsonl");
    let mut recorded = Recorded::create(fresh(), &trace, "card-sim tests").unwrap();
    recorded.power_on();
    select(&mut recorded);
    recorded.reset();
    recorded.power_off();
    recorded.finish().unwrap();
    let text = std::fs::read_to_string(&trace).unwrap();
    let events: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| &l[..l.find(',').unwrap_or(l.len())])
        .collect();
    assert_eq!(
        events,
        [
            r#"{"event":"power_on"}"#,
            r#"{"event":"exchange""#,
            r#"{"event":"reset"}"#,
            r#"{"event":"power_off"}"#
        ]
    );

    let mut replay = Replay::open(&trace).unwrap();
    replay.power_on();
    replay.power_off();
    replay.power_on();
    select(&mut replay);
    assert_eq!(replay.finish(), Ok(1));
}
