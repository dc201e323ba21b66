//! Touch: keys with touch policy "always" or "cached", and a management key set with touch,
//! wait for the card's button, and are refused (6982) when no touch comes in time.
//!
//! Timed tests assert what the card answered, never how fast: a wait that should not happen
//! would fail on the short timeout, and one that should happen is released by a press.

mod common;

use std::thread;
use std::time::Duration;

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{Attest, AuthKey, GeneralAuthenticate, SetManagementKey};
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::templates::DynamicAuth;
use apdu_spec::piv::{Algorithm, PinPolicy, Slot, TouchPolicy};
use card_sim::control::{Outcome, Presence};
use card_sim::touch::{Button, Timing};
use card_sim::vpcd::VirtualCard;
use card_sim::{Card, CardState, Control, ControlledCard};
use common::*;

/// Long enough for a presser thread on a loaded machine; the tests that wait this long
/// are released by a press well before.
const PATIENT: Duration = Duration::from_secs(30);
/// Short, for the waits nobody ends.
const IMPATIENT: Duration = Duration::from_millis(50);

const SLOT: Slot = Slot::Authentication;
const HASH: [u8; 32] = [0x5E; 32];

/// A card whose button only a press touches, with the management key authenticated and
/// a P-256 key with `pin` and `touch` policies in 9A.
fn card_with_key(pin: PinPolicy, touch: TouchPolicy, timing: Timing) -> (Card, Button) {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    ok(generate_with(
        &mut card,
        SLOT,
        Algorithm::EccP256,
        Some(pin),
        Some(touch),
    ));
    let button = Button::default();
    card.set_button(button.clone());
    card.set_touch_timing(timing);
    (card, button)
}

fn timeout(timeout: Duration) -> Timing {
    Timing {
        timeout,
        ..Timing::YUBIKEY
    }
}

fn sign(card: &mut Card) -> Result<Vec<u8>, StatusWord> {
    private_op(card, SLOT, Algorithm::EccP256, &HASH)
}

/// A card under the control answers as a card does while it is in the reader.
impl Reader for ControlledCard {
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        match self.exchange(command) {
            Outcome::Answer { response, .. } => response.to_vec(),
            other => panic!("expected an answer, got {other:?}"),
        }
    }
}

/// Presses `button` once an operation waits for it, on a thread of its own.
fn press_when_waiting(button: &Button) -> thread::JoinHandle<bool> {
    let button = button.clone();
    thread::spawn(move || button.wait_until_waiting(PATIENT) && button.press())
}

#[test]
fn a_touch_always_key_waits_until_the_button_is_pressed() {
    let (mut card, button) = card_with_key(PinPolicy::Never, TouchPolicy::Always, timeout(PATIENT));
    let presser = press_when_waiting(&button);
    sign(&mut card).expect("signs once touched");
    assert!(presser.join().unwrap(), "the card waited for the press");
    assert!(!button.is_waiting());
}

#[test]
fn without_a_touch_the_card_refuses_with_6982() {
    let (mut card, button) =
        card_with_key(PinPolicy::Never, TouchPolicy::Always, timeout(IMPATIENT));
    assert_eq!(
        sign(&mut card),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
    // Every use of an "always" key waits again: an earlier touch does not serve it.
    let presser = press_when_waiting(&button);
    card.set_touch_timing(timeout(PATIENT));
    sign(&mut card).expect("signs once touched");
    assert!(presser.join().unwrap());
    card.set_touch_timing(timeout(IMPATIENT));
    assert_eq!(
        sign(&mut card),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
}

/// The GENERAL AUTHENTICATE that signs [`HASH`] with the key in [`SLOT`], as bytes.
fn sign_command() -> Vec<u8> {
    let request = DynamicAuth {
        response: Some(vec![]),
        challenge: Some(HASH.to_vec()),
        ..Default::default()
    };
    GeneralAuthenticate::new(Algorithm::EccP256, AuthKey::Slot(SLOT), request)
        .to_apdu()
        .encode()
        .unwrap()
}

/// A card under a control whose button only a press touches, its touch-always key
/// waiting `patience` for one.
fn controlled_card_with_key(patience: Duration) -> ControlledCard {
    let (card, button) = card_with_key(PinPolicy::Never, TouchPolicy::Always, timeout(patience));
    ControlledCard::new(card, Control::new(button))
}

/// Pulled while it waits for a touch, the card stops waiting: it does not keep the reader
/// busy until its touch timeout (here: never), it answers nothing at once.
#[test]
fn a_card_pulled_while_waiting_for_a_touch_stops_waiting() {
    let mut card = controlled_card_with_key(Duration::MAX);
    let control = card.control().clone();
    let (answered, outcome) = std::sync::mpsc::channel();
    let card_thread = thread::spawn(move || {
        answered.send(card.exchange(&sign_command())).unwrap();
        card
    });
    assert!(control.button().wait_until_waiting(PATIENT));
    control.remove();
    // A bound on a wait that would otherwise never end, not a measure of speed.
    assert_eq!(outcome.recv_timeout(PATIENT), Ok(Outcome::Removed));
    let mut card = card_thread.join().unwrap();
    assert!(!control.button().is_waiting());

    control.insert();
    assert_eq!(card.presence(), Presence::Back);
    let presser = press_when_waiting(&control.button());
    private_op(&mut card, SLOT, Algorithm::EccP256, &HASH)
        .expect("in again, it signs once touched");
    assert!(presser.join().unwrap());
}

/// A touch that reaches a card just pulled while it waited does not make it sign: a card
/// out of the reader answers nothing.
#[test]
fn a_card_pulled_while_waiting_for_a_touch_answers_nothing_even_when_touched() {
    let mut card = controlled_card_with_key(PATIENT);
    let control = card.control().clone();
    let puller = thread::spawn(move || {
        assert!(control.button().wait_until_waiting(PATIENT));
        control.remove();
        control.touch();
    });
    assert_eq!(card.exchange(&sign_command()), Outcome::Removed);
    puller.join().unwrap();
}

/// Does `exchange` on a thread of its own; what it returned, if it returned within
/// [`PATIENT`] (a bound on a wait that would otherwise never end, not a measure of speed).
fn exchange_within_patience<C: VirtualCard + Send + 'static>(
    mut card: ControlledCard<C>,
) -> Outcome {
    let (answered, outcome) = std::sync::mpsc::channel();
    thread::spawn(move || answered.send(card.exchange(&sign_command())).unwrap());
    outcome
        .recv_timeout(PATIENT)
        .expect("the pulled card stopped working")
}

/// A card pulled as each command reaches it: after the plan let the command through, before
/// the card waits for a touch. Put back at once when `put_back`.
struct PulledOnArrival {
    card: Card,
    control: Control,
    put_back: bool,
}

impl VirtualCard for PulledOnArrival {
    fn atr(&self) -> Vec<u8> {
        VirtualCard::atr(&self.card)
    }
    fn power_on(&mut self) {
        VirtualCard::power_on(&mut self.card);
    }
    fn power_off(&mut self) {
        VirtualCard::power_off(&mut self.card);
    }
    fn reset(&mut self) {
        VirtualCard::reset(&mut self.card);
    }
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        self.control.remove();
        if self.put_back {
            self.control.insert();
        }
        VirtualCard::transmit(&mut self.card, command)
    }
    fn restore(&mut self, state: CardState) {
        VirtualCard::restore(&mut self.card, state);
    }
}

/// Pulled before its operation starts to wait for a touch, the card does not start, even
/// when put back by then: no wait until the touch timeout (here: never), no touch that could
/// make it sign, no answer.
#[test]
fn a_card_pulled_before_it_waits_for_a_touch_does_not_wait() {
    for put_back in [false, true] {
        let (card, button) = card_with_key(
            PinPolicy::Never,
            TouchPolicy::Always,
            timeout(Duration::MAX),
        );
        let control = Control::new(button);
        let card = ControlledCard::wrap(
            PulledOnArrival {
                card,
                control: control.clone(),
                put_back,
            },
            control,
        );
        assert_eq!(
            exchange_within_patience(card),
            Outcome::Removed,
            "{put_back}"
        );
    }
}

/// Pulled and pushed back in while it waits for a touch, the card stops waiting and answers
/// nothing: it lost power, and with it every login, even though it is in again.
#[test]
fn a_card_pulled_and_pushed_back_while_waiting_for_a_touch_answers_nothing() {
    let card = controlled_card_with_key(Duration::MAX);
    let control = card.control().clone();
    let puller = thread::spawn(move || {
        assert!(control.button().wait_until_waiting(PATIENT));
        control.remove();
        control.insert();
    });
    assert_eq!(exchange_within_patience(card), Outcome::Removed);
    puller.join().unwrap();
}

#[test]
fn a_pin_always_login_is_used_up_by_an_operation_that_got_no_touch() {
    let (mut card, button) =
        card_with_key(PinPolicy::Always, TouchPolicy::Always, timeout(IMPATIENT));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(
        sign(&mut card),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );

    // Touched now, the key still wants the PIN again: the login went with the attempt.
    card.set_button(Button::auto(Duration::ZERO));
    assert_eq!(
        sign(&mut card),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    sign(&mut card).expect("signs with a fresh PIN and a touch");
    assert!(!button.is_waiting());
}

#[test]
fn a_cached_touch_serves_later_operations_until_the_cache_runs_out() {
    // A window no machine, however loaded, lets run out between two signatures.
    let cache = Duration::from_secs(60);
    let (mut card, button) = card_with_key(
        PinPolicy::Never,
        TouchPolicy::Cached,
        Timing {
            timeout: PATIENT,
            cache,
        },
    );
    let presser = press_when_waiting(&button);
    sign(&mut card).expect("the first use waits for a touch");
    assert!(presser.join().unwrap());

    // Within the window nobody presses, and the card does not wait.
    card.set_touch_timing(Timing {
        timeout: IMPATIENT,
        cache,
    });
    sign(&mut card).expect("the cached touch serves");

    // A window of nothing has run out by now: the key wants a touch again.
    card.set_touch_timing(Timing {
        timeout: IMPATIENT,
        cache: Duration::ZERO,
    });
    assert_eq!(
        sign(&mut card),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED),
        "past the window the key wants a touch again"
    );
}

#[test]
fn power_off_and_reset_forget_a_cached_touch() {
    let timing = Timing {
        timeout: IMPATIENT,
        cache: Duration::from_secs(3600),
    };
    let (mut card, _) = card_with_key(PinPolicy::Never, TouchPolicy::Cached, timing);
    card.set_button(Button::auto(Duration::ZERO));
    sign(&mut card).expect("touched by the auto button");
    card.set_button(Button::default());
    sign(&mut card).expect("cached");

    card.power_off();
    card.power_on();
    assert_eq!(
        sign(&mut card),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );

    card.set_button(Button::auto(Duration::ZERO));
    sign(&mut card).expect("touched again");
    card.set_button(Button::default());
    card.reset();
    assert_eq!(
        sign(&mut card),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
}

#[test]
fn a_touch_for_an_always_key_is_the_touch_a_cached_key_remembers() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    for (slot, touch) in [
        (Slot::Authentication, TouchPolicy::Always),
        (Slot::CardAuthentication, TouchPolicy::Cached),
    ] {
        ok(generate_with(
            &mut card,
            slot,
            Algorithm::EccP256,
            Some(PinPolicy::Never),
            Some(touch),
        ));
    }
    card.set_touch_timing(timeout(IMPATIENT));
    private_op(&mut card, Slot::Authentication, Algorithm::EccP256, &HASH)
        .expect("touched by the card's own button");
    card.set_button(Button::default());
    private_op(
        &mut card,
        Slot::CardAuthentication,
        Algorithm::EccP256,
        &HASH,
    )
    .expect("the card was touched within the cache window");
}

#[test]
fn attestation_and_keys_without_touch_never_wait() {
    let (mut card, _) = card_with_key(PinPolicy::Never, TouchPolicy::Always, timeout(IMPATIENT));
    let attested = send(&mut card, Attest { slot: SLOT }.to_apdu());
    assert_eq!(
        attested.sw,
        StatusWord::SUCCESS,
        "attestation needs no touch"
    );

    card.set_button(Button::auto(Duration::ZERO));
    ok(generate_with(
        &mut card,
        SLOT,
        Algorithm::EccP256,
        Some(PinPolicy::Never),
        Some(TouchPolicy::Never),
    ));
    card.set_button(Button::default());
    sign(&mut card).expect("touch policy never");
}

#[test]
fn a_management_key_set_with_touch_waits_for_one_at_every_authentication() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let mut key = ManagementKey::new(Algorithm::Aes192, &[0x4D; 24]).unwrap();
    key.touch_required = true;
    assert_eq!(
        send(&mut card, SetManagementKey { key: key.clone() }.to_apdu()).sw,
        StatusWord::SUCCESS
    );
    let button = Button::default();
    card.set_button(button.clone());
    card.set_touch_timing(timeout(IMPATIENT));
    card.reset();
    ok(select(&mut card));
    assert_eq!(
        authenticate_with(&mut card, &key),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED,
        "the right key without a touch"
    );
    assert_eq!(
        generate_with(&mut card, SLOT, Algorithm::EccP256, None, None).sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED,
        "not authenticated"
    );

    card.set_touch_timing(timeout(PATIENT));
    let presser = press_when_waiting(&button);
    assert_eq!(authenticate_with(&mut card, &key), StatusWord::SUCCESS);
    assert!(presser.join().unwrap());
    ok(generate_with(
        &mut card,
        SLOT,
        Algorithm::EccP256,
        None,
        None,
    ));
}
