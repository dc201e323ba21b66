//! The host driver's error paths, reached through card-sim's faults on demand on an
//! in-process card: a card pulled mid-operation, a memory failure on a write, power cut
//! in the middle of the card's writes, status words for chosen instructions, broken and
//! late answers. Each reaches the caller as the error the README's table names.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use apdu_spec::StatusWord;
use apdu_spec::piv::Slot;
use apdu_spec::piv::reference_data::Credential;
use card_sim::{Card, CardConfig, CardState, Control, StateStore, StoreError};
use host_driver::hash::HashAlg;
use host_driver::transport::TransportError;
use host_driver::{Error, InProcess, PivCard, PublicKey, Secret, SignatureScheme};

const SCHEME: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);

fn pin(s: &str) -> Secret {
    Secret::new(s.as_bytes().to_vec()).unwrap()
}

fn card() -> PivCard<InProcess> {
    PivCard::open(InProcess::in_memory(&CardConfig::default()).unwrap()).unwrap()
}

fn control(card: &PivCard<InProcess>) -> Control {
    card.transport().control().clone()
}

/// A card authenticated with the management key, with a P-256 key in 9A, and that key.
fn card_with_key() -> (PivCard<InProcess>, PublicKey) {
    let mut card = card();
    let key = common::p256_in_9a(&mut card);
    (card, key)
}

fn removed<T>(result: Result<T, &Error>) -> bool {
    matches!(
        result,
        Err(Error::Transport(TransportError::CardRemoved(_)))
    )
}

/// Pulls the card while the first command of the next operation waits for its answer:
/// the operation's later commands find no card.
fn pull_during_next_operation(control: &Control) -> thread::JoinHandle<()> {
    control.delay(Duration::from_secs(2), Some(1));
    let control = control.clone();
    thread::spawn(move || {
        // The delay is spent once the first command has reached the card.
        while control.status().delay.is_some() {
            thread::sleep(Duration::from_millis(2));
        }
        control.remove();
    })
}

#[test]
fn a_card_pulled_during_signing_is_removed_and_after_insert_signs_once_the_pin_is_given_again() {
    let (mut card, key) = card_with_key();
    card.verify_pin(&pin("123456")).unwrap();
    let control = control(&card);
    let pulling = pull_during_next_operation(&control);
    let signed = card.sign_message(Slot::Authentication, &key, SCHEME, b"mail", None);
    pulling.join().unwrap();
    assert!(removed(signed.as_ref()), "{signed:?}");
    assert!(
        removed(card.pin_tries_left().as_ref()),
        "still out of the reader"
    );

    control.insert();
    let again = card.sign_message(Slot::Authentication, &key, SCHEME, b"mail", None);
    assert!(matches!(again, Err(Error::LoginLost)), "{again:?}");
    card.verify_pin(&pin("123456")).unwrap();
    card.sign_message(Slot::Authentication, &key, SCHEME, b"mail", None)
        .expect("signs once the PIN is given again");
}

#[test]
fn a_memory_failure_on_a_certificate_import_is_not_saved_and_the_old_one_stays_whole() {
    let (mut card, _) = card_with_key();
    // Longer than one short APDU: the import goes in a chain of PUT DATA blocks.
    let first: Vec<u8> = (0..700u32).map(|i| i as u8).collect();
    let second = vec![0x5A; 900];
    card.write_certificate(Slot::Authentication, &first)
        .unwrap();

    control(&card).fail(StatusWord::MEMORY_FAILURE, 1, Some(0xDB));
    let failed = card.write_certificate(Slot::Authentication, &second);
    let Err(
        e @ Error::NotSaved {
            command: "PUT DATA",
        },
    ) = failed
    else {
        panic!("expected a memory failure, got {failed:?}")
    };
    assert!(e.to_string().contains("nothing on the card changed"), "{e}");
    assert_eq!(
        card.read_certificate(Slot::Authentication).unwrap(),
        Some(first),
        "the certificate before, whole"
    );
    card.write_certificate(Slot::Authentication, &second)
        .unwrap();
    assert_eq!(
        card.read_certificate(Slot::Authentication).unwrap(),
        Some(second)
    );
}

/// A store that saves until `failing` is set, then fails every write as a worn-out memory.
struct Failing(Arc<AtomicBool>);

impl StateStore for Failing {
    fn save(&mut self, _state: &CardState) -> Result<(), StoreError> {
        if self.0.load(Ordering::Relaxed) {
            return Err(StoreError::Write {
                path: "memory".into(),
                source: std::io::Error::other("worn out"),
            });
        }
        Ok(())
    }
}

#[test]
fn a_memory_failure_on_verify_says_a_try_may_be_spent_and_one_was() {
    let failing = Arc::new(AtomicBool::new(false));
    let state = CardState::factory_new(&CardConfig::default()).unwrap();
    let transport = InProcess::new(Card::new(state, Failing(failing.clone())), "failing");
    let mut card = PivCard::open(transport).unwrap();

    failing.store(true, Ordering::Relaxed);
    let verified = card.verify_pin(&pin("123456"));
    let Err(
        e @ Error::CheckNotSaved {
            command: "VERIFY",
            credential: Credential::Pin,
        },
    ) = verified
    else {
        panic!("expected a memory failure, got {verified:?}")
    };
    let message = e.to_string();
    assert!(message.contains("may have spent a try"), "{message}");
    assert!(
        !message.contains("nothing on the card changed"),
        "{message}"
    );
    // The card spent the try before it tried to save it, and kept it spent.
    assert_eq!(card.pin_tries_left().unwrap(), Some(2));

    // A PUK check says so of the PUK.
    let unblocked = card.unblock_pin(&pin("12345678"), &pin("654321"));
    assert!(
        matches!(
            unblocked,
            Err(Error::CheckNotSaved {
                command: "RESET RETRY COUNTER",
                credential: Credential::Puk,
            })
        ),
        "{unblocked:?}"
    );
}

#[test]
fn a_power_cut_during_a_pin_change_leaves_the_old_pin_and_a_full_counter() {
    let mut card = card();
    let control = control(&card);
    control.power_cut().unwrap();
    let changed = card.change_pin(&pin("123456"), &pin("654321"));
    assert!(removed(changed.as_ref()), "{changed:?}");
    control.insert();
    assert_eq!(card.pin_tries_left().unwrap(), Some(3));
    card.verify_pin(&pin("123456"))
        .expect("the old PIN: the change was never written");
}

#[test]
fn a_power_cut_during_a_wrong_verify_gives_no_free_try() {
    let mut card = card();
    let control = control(&card);
    assert!(matches!(
        card.verify_pin(&pin("000000")),
        Err(Error::WrongPin { tries_left: 2 })
    ));
    control.power_cut().unwrap();
    let cut = card.verify_pin(&pin("111111"));
    assert!(removed(cut.as_ref()), "{cut:?}");
    control.insert();
    // The guess got no answer: the card never compared it, and the counter is the one
    // its last whole write kept.
    assert_eq!(card.pin_tries_left().unwrap(), Some(2));
    assert!(matches!(
        card.verify_pin(&pin("222222")),
        Err(Error::WrongPin { tries_left: 1 })
    ));
    card.verify_pin(&pin("123456")).unwrap();
    assert_eq!(card.transport().card().state().pin.tries_left, 3);
}

#[test]
fn a_status_word_planned_for_one_instruction_fails_only_those_commands() {
    let mut card = card();
    control(&card).fail(StatusWord::NO_PRECISE_DIAGNOSIS, 2, Some(0xCB));
    for _ in 0..2 {
        assert_eq!(card.pin_tries_left().unwrap(), Some(3), "VERIFY is spared");
        let read = card.chuid();
        assert!(
            matches!(
                read,
                Err(Error::Card {
                    command: "GET DATA",
                    sw: StatusWord::NO_PRECISE_DIAGNOSIS
                })
            ),
            "{read:?}"
        );
    }
    assert!(card.chuid().unwrap().is_some(), "two failures, then none");
}

#[test]
fn a_broken_answer_is_a_reset_that_costs_the_login() {
    let (mut card, key) = card_with_key();
    card.verify_pin(&pin("123456")).unwrap();
    control(&card).drop_responses(1);
    // The broken answer came before any PIN went out: the operation is tried again, and
    // finds the login gone with the card's power.
    let signed = card.sign_message(Slot::Authentication, &key, SCHEME, b"mail", None);
    assert!(matches!(signed, Err(Error::LoginLost)), "{signed:?}");
    card.sign_message(
        Slot::Authentication,
        &key,
        SCHEME,
        b"mail",
        Some(&pin("123456")),
    )
    .expect("signs with the PIN given again");
}

#[test]
fn a_delayed_card_answers_late_and_completes() {
    let mut card = card();
    let by = Duration::from_millis(150);
    control(&card).delay(by, Some(2));
    let start = Instant::now();
    assert_eq!(card.pin_tries_left().unwrap(), Some(3));
    assert!(start.elapsed() >= 2 * by, "SELECT and VERIFY, each late");
    assert_eq!(control(&card).status().delay, None, "the delay is spent");
    assert_eq!(card.pin_tries_left().unwrap(), Some(3));
}
