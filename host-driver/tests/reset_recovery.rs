//! A card reset by someone else between two operations: the client re-selects and goes
//! on, and says the PIN login was lost instead of replaying the PIN.

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::{Algorithm, Slot};
use card_sim::CardConfig;
use host_driver::hash::HashAlg;
use host_driver::transport::{Link, TransportError};
use host_driver::{Error, InProcess, PivCard, PublicKey, Secret, SignatureScheme, Transport};

/// An in-process card that other "programs" reset before the next transactions, the
/// way PC/SC reports SCARD_W_RESET_CARD after the transport has reconnected.
struct ResetBeforeNext {
    inner: InProcess,
    /// How many of the next transactions meet a reset.
    resets_pending: usize,
}

impl Transport for ResetBeforeNext {
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
        self.inner.transaction(work)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }

    fn reset_when_closed(&mut self, reset: bool) {
        self.inner.reset_when_closed(reset)
    }
}

/// A card with a P-256 key in 9A, and that key.
fn card_with_key() -> (PivCard<ResetBeforeNext>, PublicKey) {
    let inner = InProcess::in_memory(&CardConfig::default()).unwrap();
    let mut card = PivCard::open(ResetBeforeNext {
        inner,
        resets_pending: 0,
    })
    .unwrap();
    card.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
        .unwrap();
    let key = card
        .generate(Slot::Authentication, Algorithm::EccP256, None, None)
        .unwrap();
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
