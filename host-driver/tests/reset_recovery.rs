//! A card reset by someone else between two operations or within one: the client
//! re-selects and goes on, and says the PIN login was lost instead of replaying the PIN.

mod common;

use apdu_spec::piv::Slot;
use apdu_spec::piv::command::{PivCommand, Verify};
use apdu_spec::{CommandApdu, StatusWord};
use card_sim::CardConfig;
use host_driver::hash::HashAlg;
use host_driver::transport::{Link, TransportError};
use host_driver::{Error, InProcess, PivCard, PublicKey, Secret, SignatureScheme, Transport};

/// An in-process card that other "programs" reset: before the next transactions, the
/// way PC/SC reports SCARD_W_RESET_CARD after the transport has reconnected, or within
/// one, around a VERIFY.
struct ResetByOthers {
    inner: InProcess,
    /// How many of the next transactions meet a reset.
    resets_pending: usize,
    around_verify: AroundVerify,
    /// How many operations began (a transport's allowances for resets last one each).
    operations: usize,
}

/// Resets around a VERIFY that brings a PIN, and a count of those VERIFYs.
#[derive(Default)]
struct AroundVerify {
    /// The command after the next VERIFY meets a reset.
    reset_after: bool,
    /// The next VERIFY reaches the card, but its answer is lost to a reset.
    reset_during: bool,
    /// The command after the next VERIFY is refused with 6982, as a card that waited
    /// in vain for a touch answers.
    refuse_after: bool,
    /// VERIFYs with a PIN that reached the card.
    verifies: usize,
}

/// The card's side of one transaction of [`ResetByOthers`].
struct Interrupting<'a> {
    card: &'a mut dyn Link,
    plan: &'a mut AroundVerify,
    /// The card was reset: it answers nothing more in this transaction.
    reset: bool,
    /// The next command is refused with 6982.
    refuse: bool,
}

impl Link for Interrupting<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.reset {
            return Err(TransportError::Reset);
        }
        if std::mem::take(&mut self.refuse) {
            return Ok(StatusWord::SECURITY_STATUS_NOT_SATISFIED
                .to_bytes()
                .to_vec());
        }
        let answer = self.card.transmit(apdu)?;
        let command = CommandApdu::parse(apdu).map(|c| PivCommand::parse(&c));
        if let Ok(Ok(PivCommand::Verify(Verify::Pin(_)))) = command {
            self.plan.verifies += 1;
            self.reset = std::mem::take(&mut self.plan.reset_after);
            self.refuse = std::mem::take(&mut self.plan.refuse_after);
            if std::mem::take(&mut self.plan.reset_during) {
                self.reset = true;
                return Err(TransportError::Reset);
            }
        }
        Ok(answer)
    }
}

impl Transport for ResetByOthers {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn atr(&self) -> Vec<u8> {
        self.inner.atr()
    }

    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Link) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.resets_pending > 0 {
            self.resets_pending -= 1;
            self.inner.reset()?;
            return Err(TransportError::Reset.into());
        }
        let plan = &mut self.around_verify;
        let mut reset = false;
        let result = self.inner.transaction(&mut |card| {
            let mut link = Interrupting {
                card,
                plan,
                reset: false,
                refuse: false,
            };
            let result = work(&mut link);
            reset = link.reset;
            result
        });
        if reset {
            self.inner.reset()?;
        }
        result
    }

    fn operation_begins(&mut self) {
        self.operations += 1;
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }

    fn reset_when_closed(&mut self, reset: bool) {
        self.inner.reset_when_closed(reset)
    }
}

/// A card with a P-256 key in 9A, and that key.
fn card_with_key() -> (PivCard<ResetByOthers>, PublicKey) {
    let inner = InProcess::in_memory(&CardConfig::default()).unwrap();
    let mut card = PivCard::open(ResetByOthers {
        inner,
        resets_pending: 0,
        around_verify: AroundVerify::default(),
        operations: 0,
    })
    .unwrap();
    let key = common::p256_in_9a(&mut card);
    (card, key)
}

#[test]
fn operations_after_a_reset_go_on_and_a_lost_login_is_reported() {
    let (mut card, key) = card_with_key();
    let pin = Secret::new(b"123456".to_vec()).unwrap();
    card.verify_pin(&pin).unwrap();
    let scheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
    card.sign_message(Slot::Authentication, &key, scheme, b"before", None)
        .unwrap();

    // Reset before an operation that needs no login: it simply works.
    card.transport_mut().resets_pending = 1;
    assert!(card.chuid().unwrap().is_some());

    // Reset before a signature: the PIN is not replayed; the caller is told.
    card.transport_mut().resets_pending = 1;
    assert!(matches!(
        card.sign_message(Slot::Authentication, &key, scheme, b"after", None),
        Err(Error::LoginLost)
    ));
    card.verify_pin(&pin).unwrap();
    card.sign_message(Slot::Authentication, &key, scheme, b"after", None)
        .unwrap();
}

#[test]
fn an_operation_that_brings_its_pin_sees_through_a_burst_of_resets() {
    let (mut card, key) = card_with_key();
    let pin = Secret::new(b"123456".to_vec()).unwrap();
    let scheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
    // Programs closing one after another, each resetting the card.
    card.transport_mut().resets_pending = 4;
    card.sign_message(Slot::Authentication, &key, scheme, b"m", Some(&pin))
        .expect("the VERIFY and the signature are redone together");
    assert_eq!(card.transport().resets_pending, 0);

    // A card reset without end is reported, not chased for ever.
    card.transport_mut().resets_pending = usize::MAX;
    assert!(matches!(
        card.sign_message(Slot::Authentication, &key, scheme, b"m", Some(&pin)),
        Err(Error::Transport(TransportError::Reset))
    ));
}

#[test]
fn a_reset_after_the_card_took_the_pin_is_reported_not_answered_with_the_pin_again() {
    let (mut card, key) = card_with_key();
    let pin = Secret::new(b"123456".to_vec()).unwrap();
    let scheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
    card.transport_mut().around_verify.reset_after = true;
    assert!(matches!(
        card.sign_message(Slot::Authentication, &key, scheme, b"m", Some(&pin)),
        Err(Error::LoginLost)
    ));
    assert_eq!(card.transport().around_verify.verifies, 1);

    // The user runs it again: one more VERIFY, and the signature.
    card.sign_message(Slot::Authentication, &key, scheme, b"m", Some(&pin))
        .unwrap();
    assert_eq!(card.transport().around_verify.verifies, 2);
}

#[test]
fn a_wrong_pin_among_resets_spends_exactly_one_try() {
    let (mut card, key) = card_with_key();
    let wrong = Secret::new(b"654321".to_vec()).unwrap();
    let scheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
    card.transport_mut().resets_pending = 3;
    card.transport_mut().around_verify.reset_after = true;
    assert!(matches!(
        card.sign_message(Slot::Authentication, &key, scheme, b"m", Some(&wrong)),
        Err(Error::WrongPin { tries_left: 2 })
    ));
    assert_eq!(card.transport().around_verify.verifies, 1);
    assert_eq!(card.pin_tries_left().unwrap(), Some(2));
}

#[test]
fn a_pin_whose_answer_a_reset_swallowed_is_not_sent_again() {
    let (mut card, key) = card_with_key();
    let wrong = Secret::new(b"654321".to_vec()).unwrap();
    let scheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
    card.transport_mut().resets_pending = 2;
    card.transport_mut().around_verify.reset_during = true;
    assert!(matches!(
        card.sign_message(Slot::Authentication, &key, scheme, b"m", Some(&wrong)),
        Err(Error::Transport(TransportError::Reset))
    ));
    assert_eq!(card.transport().around_verify.verifies, 1);
    assert_eq!(card.pin_tries_left().unwrap(), Some(2));

    // VERIFY alone likewise goes out once.
    card.transport_mut().around_verify.reset_during = true;
    assert!(matches!(
        card.verify_pin(&wrong),
        Err(Error::Transport(TransportError::Reset))
    ));
    assert_eq!(card.transport().around_verify.verifies, 2);
    assert_eq!(card.pin_tries_left().unwrap(), Some(1));
}

#[test]
fn the_transport_hears_of_each_operation_once_however_often_it_is_retried() {
    let (mut card, _) = card_with_key();
    let before = card.transport().operations;
    card.transport_mut().resets_pending = 3;
    assert!(card.chuid().unwrap().is_some());
    assert_eq!(card.transport().operations, before + 1);

    // One that gives up on endless resets is one too, and so is the next.
    card.transport_mut().resets_pending = usize::MAX;
    assert!(card.chuid().is_err());
    card.transport_mut().resets_pending = 0;
    assert!(card.chuid().unwrap().is_some());
    assert_eq!(card.transport().operations, before + 3);
}

#[test]
fn a_refusal_after_a_pin_the_card_accepted_is_not_called_a_lost_login() {
    let (mut card, key) = card_with_key();
    let pin = Secret::new(b"123456".to_vec()).unwrap();
    let scheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
    // The first try meets a reset before the PIN goes out; the second verifies it, and
    // the card then refuses the signature for a reason of its own.
    card.transport_mut().resets_pending = 1;
    card.transport_mut().around_verify.refuse_after = true;
    assert!(matches!(
        card.sign_message(Slot::Authentication, &key, scheme, b"m", Some(&pin)),
        Err(Error::SecurityStatusNotSatisfied)
    ));
    assert_eq!(card.transport().around_verify.verifies, 1);
}
