//! The layer of faults on demand between the card and its carrier: what each fault does to
//! the answer, to the session and to the state kept, above all the PIN counter.

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use apdu_spec::piv::command::{ChangeReferenceData, Select, Verify};
use apdu_spec::piv::reference_data::{Credential, PaddedPin};
use apdu_spec::{CommandApdu, Response, StatusWord};
use card_sim::control::{Outcome, Presence};
use card_sim::{CardConfig, Control, ControlledCard, FileStore};

fn bytes(apdu: CommandApdu) -> Vec<u8> {
    apdu.encode().unwrap()
}

fn verify(pin: &str) -> Vec<u8> {
    bytes(Verify::Pin(PaddedPin::pad(pin.as_bytes())).to_apdu())
}

fn change_pin(old: &str, new: &str) -> Vec<u8> {
    bytes(
        ChangeReferenceData {
            credential: Credential::Pin,
            current: PaddedPin::pad(old.as_bytes()),
            new: PaddedPin::pad(new.as_bytes()),
        }
        .to_apdu(),
    )
}

/// The status word of an answer given at once; panics on any other outcome.
#[track_caller]
fn answered(outcome: Outcome) -> StatusWord {
    match outcome {
        Outcome::Answer { response, after } => {
            assert_eq!(after, Duration::ZERO);
            Response::parse(&response).unwrap().sw
        }
        other => panic!("expected an answer, got {other:?}"),
    }
}

fn select(card: &mut ControlledCard) {
    let sw = answered(card.exchange(&bytes(Select::piv().to_apdu())));
    assert_eq!(sw, StatusWord::SUCCESS);
}

/// A card served from a state file in `dir`, as `card-sim serve` opens it.
fn card_in(dir: &Path) -> ControlledCard {
    let state = dir.join("card.json");
    let mut card =
        ControlledCard::open(&state, &CardConfig::default(), Control::default()).unwrap();
    select(&mut card);
    card
}

fn tries_on_disk(dir: &Path) -> u8 {
    FileStore::new(dir.join("card.json"))
        .load()
        .expect("the state file is whole")
        .pin
        .tries_left
}

/// The temporary files torn writes left in `dir`.
fn leftovers(dir: &Path) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".tmp")
        })
        .count()
}

#[test]
fn a_planned_status_word_is_answered_without_the_card_seeing_the_command() {
    let mut card = ControlledCard::in_memory(&CardConfig::default(), Control::default()).unwrap();
    select(&mut card);
    card.control()
        .fail(StatusWord::MEMORY_FAILURE, 1, Some(0x20));
    assert_eq!(
        answered(card.exchange(&verify("000000"))),
        StatusWord::MEMORY_FAILURE
    );
    assert_eq!(card.card().state().pin.tries_left, 3, "no try spent");
    assert_eq!(
        answered(card.exchange(&verify("000000"))),
        StatusWord::verify_failed(2)
    );
}

#[test]
fn a_broken_answer_comes_from_a_card_that_acted_and_then_lost_power() {
    let mut card = ControlledCard::in_memory(&CardConfig::default(), Control::default()).unwrap();
    select(&mut card);
    card.control().drop_responses(1);
    match card.exchange(&verify("123456")) {
        Outcome::Broken { response, .. } => assert_eq!(*response, [0x90, 0x00]),
        other => panic!("expected a broken answer, got {other:?}"),
    }
    assert!(!card.card().pin_verified(), "the login went with the power");
    assert_eq!(card.presence(), Presence::Present, "back at once");
}

#[test]
fn a_delayed_answer_says_how_long_to_hold_it() {
    let mut card = ControlledCard::in_memory(&CardConfig::default(), Control::default()).unwrap();
    card.control().delay(Duration::from_millis(300), Some(1));
    match card.exchange(&bytes(Select::piv().to_apdu())) {
        Outcome::Answer { after, .. } => assert_eq!(after, Duration::from_millis(300)),
        other => panic!("expected an answer, got {other:?}"),
    }
    select(&mut card);
}

/// Selects, logs in with the PIN, pulls the card, and sees it answer nothing.
fn log_in_and_pull(card: &mut ControlledCard) {
    select(card);
    assert_eq!(
        answered(card.exchange(&verify("123456"))),
        StatusWord::SUCCESS
    );
    card.control().remove();
    assert_eq!(card.exchange(&verify("123456")), Outcome::Removed);
}

#[test]
fn a_pulled_card_answers_nothing_and_comes_back_logged_out() {
    let mut card = ControlledCard::in_memory(&CardConfig::default(), Control::default()).unwrap();
    log_in_and_pull(&mut card);
    assert_eq!(card.presence(), Presence::Absent);
    card.control().insert();
    assert_eq!(card.presence(), Presence::Back, "said once");
    assert_eq!(card.presence(), Presence::Present);
    assert!(!card.card().pin_verified());
}

/// The vpcd link never asks whether the card is present: it sees a pulled card in the
/// commands that get no answer. Pulled a second time, the card loses its login again.
#[test]
fn a_card_pulled_twice_without_being_asked_for_loses_its_login_each_time() {
    let mut card = ControlledCard::in_memory(&CardConfig::default(), Control::default()).unwrap();
    for pull in 1..=2 {
        log_in_and_pull(&mut card);
        assert!(!card.card().pin_verified(), "logged out by pull {pull}");
        card.control().insert();
    }
}

/// The try a wrong VERIFY spends is saved before the comparison. A power cut tears that
/// write: the comparison never happens and no answer leaves, so the host learns nothing,
/// and the counter the card comes back with is the one on disk, whole.
#[test]
fn a_power_cut_during_a_wrong_verify_leaks_no_try() {
    let dir = tempfile::tempdir().unwrap();
    let mut card = card_in(dir.path());
    assert_eq!(
        answered(card.exchange(&verify("000000"))),
        StatusWord::verify_failed(2)
    );
    card.control().power_cut().unwrap();
    assert_eq!(card.exchange(&verify("111111")), Outcome::Removed);
    assert_eq!(
        tries_on_disk(dir.path()),
        2,
        "the file kept the last whole write"
    );
    assert_eq!(
        leftovers(dir.path()),
        1,
        "half a temporary file, as a crash leaves"
    );
    assert_eq!(card.card().state().pin.tries_left, 2, "reloaded as stored");
    assert_eq!(card.presence(), Presence::Absent, "out until put back");
    assert!(!card.control().status().power_cut_armed, "one cut");

    card.control().insert();
    select(&mut card);
    assert_eq!(
        answered(card.exchange(&verify("222222"))),
        StatusWord::verify_failed(1),
        "the next wrong guess spends the next try"
    );
    assert_eq!(tries_on_disk(dir.path()), 1);
    assert_eq!(
        answered(card.exchange(&verify("123456"))),
        StatusWord::SUCCESS
    );

    drop(card);
    card_in(dir.path());
    assert_eq!(leftovers(dir.path()), 0, "the next claim removes it");
}

#[test]
fn a_power_cut_during_a_pin_change_keeps_the_old_pin_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut card = card_in(dir.path());
    card.control().power_cut().unwrap();
    assert_eq!(
        card.exchange(&change_pin("123456", "654321")),
        Outcome::Removed
    );
    card.control().insert();
    select(&mut card);
    assert_eq!(tries_on_disk(dir.path()), 3);
    assert_eq!(
        answered(card.exchange(&verify("123456"))),
        StatusWord::SUCCESS,
        "the old PIN"
    );
    // The same card served again from its file agrees.
    drop(card);
    let mut again = card_in(dir.path());
    assert_eq!(
        answered(again.exchange(&verify("123456"))),
        StatusWord::SUCCESS
    );
}

#[test]
fn an_in_memory_card_comes_back_with_its_last_saved_state() {
    let mut card = ControlledCard::in_memory(&CardConfig::default(), Control::default()).unwrap();
    select(&mut card);
    assert_eq!(
        answered(card.exchange(&change_pin("123456", "654321"))),
        StatusWord::SUCCESS
    );
    card.control().power_cut().unwrap();
    assert_eq!(card.exchange(&verify("000000")), Outcome::Removed);
    card.control().insert();
    select(&mut card);
    assert_eq!(card.card().state().pin.tries_left, 3);
    assert_eq!(
        answered(card.exchange(&verify("654321"))),
        StatusWord::SUCCESS,
        "the PIN of the last whole write"
    );
}

#[test]
fn a_card_built_without_the_control_refuses_a_power_cut() {
    let card = ControlledCard::new(common::fresh(), Control::default());
    assert!(card.control().power_cut().is_err());
}
