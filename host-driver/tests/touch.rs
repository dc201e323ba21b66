//! Keys that need a touch, through PivCard on the in-process card: a touch from another
//! thread lets the operation through, and an operation nobody touches for comes back as
//! `Error::NoTouch`, certain where the card's metadata tells the key's touch policy; a
//! management key with touch that is refused says it may want a touch.

use std::thread;
use std::time::Duration;

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::{Algorithm, KeyRef, PinPolicy, Slot, TouchPolicy};
use card_sim::touch::{Button, Mode, Timing};
use card_sim::{Card, CardConfig, Flavour};
use host_driver::hash::HashAlg;
use host_driver::{Error, InProcess, PivCard, PublicKey, Secret, SignatureScheme};

const SLOT: Slot = Slot::Authentication;
const SCHEME: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
/// Long enough for a presser thread on a loaded machine; a press ends it much sooner.
const PATIENT: Duration = Duration::from_secs(30);
/// Short, for the waits nobody ends.
const IMPATIENT: Duration = Duration::from_millis(50);

/// A card of `flavour` with a P-256 key in 9A of the given policies, whose button only a
/// press touches, waiting `timeout` for one; the key's public half.
fn card_with_key(
    flavour: Flavour,
    pin: PinPolicy,
    touch: TouchPolicy,
    timeout: Duration,
) -> (PivCard<InProcess>, PublicKey, Button) {
    let mut card = Card::in_memory(&flavour.configure(CardConfig::default())).unwrap();
    let button = Button::default();
    card.set_button(button.clone());
    card.set_touch_timing(Timing {
        timeout,
        ..Timing::YUBIKEY
    });
    let mut piv = PivCard::open(InProcess::new(card, "touch test")).unwrap();
    piv.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
        .unwrap();
    let key = piv
        .generate(SLOT, Algorithm::EccP256, Some(pin), Some(touch))
        .unwrap();
    (piv, key, button)
}

fn pin() -> Secret {
    Secret::new(b"123456".to_vec()).unwrap()
}

#[test]
fn a_touch_from_another_thread_lets_the_signature_through() {
    let (mut card, key, button) = card_with_key(
        Flavour::YubiKey,
        PinPolicy::Always,
        TouchPolicy::Always,
        PATIENT,
    );
    let presser = thread::spawn(move || button.wait_until_waiting(PATIENT) && button.press());
    let signature = card
        .sign_message(SLOT, &key, SCHEME, b"touched", Some(&pin()))
        .expect("signs once touched");
    assert!(presser.join().unwrap(), "the card waited for the touch");
    let PublicKey::P256(k) = key else {
        unreachable!("generated as P-256")
    };
    use signature::Verifier;
    p256::ecdsa::VerifyingKey::from(k)
        .verify(
            b"touched",
            &p256::ecdsa::DerSignature::from_bytes(&signature).unwrap(),
        )
        .expect("the signature verifies");
}

/// A signature nobody touches the card for; its error.
fn untouched_signature(
    card: &mut PivCard<InProcess>,
    key: &PublicKey,
    pin: Option<&Secret>,
) -> Error {
    card.sign_message(SLOT, key, SCHEME, b"x", pin)
        .expect_err("nobody touched the card")
}

fn is_no_touch(err: &Error, sure: bool) -> bool {
    matches!(err, Error::NoTouch { slot: SLOT, certain } if *certain == sure)
}

#[test]
fn no_touch_is_a_no_touch_error_that_says_to_touch_the_card() {
    for (pin_policy, given) in [(PinPolicy::Always, Some(pin())), (PinPolicy::Never, None)] {
        let (mut card, key, _) =
            card_with_key(Flavour::YubiKey, pin_policy, TouchPolicy::Cached, IMPATIENT);
        let err = untouched_signature(&mut card, &key, given.as_ref());
        assert!(is_no_touch(&err, true), "{pin_policy:?}: {err:?}");
        assert!(err.to_string().contains("touch the card"), "{err}");
    }
}

#[test]
fn without_metadata_a_refusal_after_the_pin_is_most_likely_no_touch() {
    for flavour in [Flavour::MetadataAbsent, Flavour::MetadataPartial] {
        let (mut card, key, _) =
            card_with_key(flavour, PinPolicy::Once, TouchPolicy::Always, IMPATIENT);
        let err = untouched_signature(&mut card, &key, Some(&pin()));
        assert!(is_no_touch(&err, false), "{flavour:?}: {err:?}");
        assert!(
            err.to_string()
                .contains("no touch, or the PIN was not accepted"),
            "{err}"
        );

        // Without a PIN in the operation the card cannot be read: the refusal stays plain.
        let err = untouched_signature(&mut card, &key, None);
        assert!(
            matches!(err, Error::SecurityStatusNotSatisfied),
            "{flavour:?}: {err:?}"
        );
    }
}

#[test]
fn a_key_without_touch_refused_for_its_pin_is_not_blamed_on_touch() {
    let (mut card, key, _) = card_with_key(
        Flavour::YubiKey,
        PinPolicy::Once,
        TouchPolicy::Never,
        IMPATIENT,
    );
    let err = untouched_signature(&mut card, &key, None);
    assert!(matches!(err, Error::SecurityStatusNotSatisfied), "{err:?}");
}

#[test]
fn a_management_key_with_touch_needs_one_and_a_refusal_names_both_causes() {
    let factory = ManagementKey::factory(Algorithm::Tdes).unwrap();
    let (mut card, _, button) = card_with_key(
        Flavour::YubiKey,
        PinPolicy::Never,
        TouchPolicy::Never,
        IMPATIENT,
    );
    card.set_management_key(&factory, true).unwrap();
    assert!(
        matches!(
            card.authenticate(&factory),
            Err(Error::WrongManagementKeyOrNoTouch)
        ),
        "the right key, untouched"
    );
    let wrong = ManagementKey::new(Algorithm::Tdes, &[0x11; 24]).unwrap();
    assert!(
        matches!(
            card.authenticate(&wrong),
            Err(Error::WrongManagementKeyOrNoTouch)
        ),
        "a wrong key looks the same to the host"
    );
    assert_eq!(
        card.touch_policy(KeyRef::MANAGEMENT).unwrap(),
        Some(TouchPolicy::Always)
    );

    // Touched (by the button itself, at once), the right key is in.
    button.set_mode(Mode::Auto(Duration::ZERO));
    card.authenticate(&factory).expect("the right key, touched");
}
