//! VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER: counters that block, PUK unblock,
//! and what clears the login.

mod common;

use apdu_spec::StatusWord;
use apdu_spec::piv::command::PutData;
use apdu_spec::piv::{Algorithm, Instruction, ObjectId, Slot};
use common::*;

fn verify_status(card: &mut card_sim::Card) -> StatusWord {
    send(card, cmd(Instruction::Verify, 0x00, 0x80, vec![])).sw
}

fn change(card: &mut card_sim::Card, p2: u8, old: &[u8], new: &[u8]) -> StatusWord {
    send(
        card,
        cmd(
            Instruction::ChangeReferenceData,
            0x00,
            p2,
            [padded(old), padded(new)].concat(),
        ),
    )
    .sw
}

fn unblock(card: &mut card_sim::Card, puk: &[u8], new_pin: &[u8]) -> StatusWord {
    send(
        card,
        cmd(
            Instruction::ResetRetryCounter,
            0x00,
            0x80,
            [padded(puk), padded(new_pin)].concat(),
        ),
    )
    .sw
}

fn block_pin(card: &mut card_sim::Card) {
    for left in [2, 1, 0] {
        assert_eq!(verify_pin(card, b"000000"), StatusWord::verify_failed(left));
    }
}

#[test]
fn wrong_pins_count_down_then_block_even_the_right_pin() {
    let mut card = fresh();
    assert_eq!(verify_status(&mut card), StatusWord(0x63C3));
    block_pin(&mut card);
    assert_eq!(
        verify_pin(&mut card, b"123456"),
        StatusWord::AUTH_METHOD_BLOCKED
    );
    assert_eq!(verify_status(&mut card), StatusWord::AUTH_METHOD_BLOCKED);
}

#[test]
fn a_correct_pin_restores_the_counter() {
    let mut card = fresh();
    assert_eq!(verify_pin(&mut card, b"654321"), StatusWord(0x63C2));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(verify_status(&mut card), StatusWord::SUCCESS);
    assert_eq!(card.state().pin.tries_left, 3);
}

#[test]
fn a_wrong_pin_logs_out() {
    let mut card = fresh();
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(verify_pin(&mut card, b"999999"), StatusWord(0x63C2));
    assert!(!card.pin_verified());
}

#[test]
fn verify_with_p1_ff_logs_out() {
    let mut card = fresh();
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(
        send(&mut card, cmd(Instruction::Verify, 0xFF, 0x80, vec![])).sw,
        StatusWord::SUCCESS
    );
    assert_eq!(verify_status(&mut card), StatusWord(0x63C3));
}

#[test]
fn verify_rejects_bad_references_and_lengths() {
    let mut card = fresh();
    assert_eq!(
        send(
            &mut card,
            cmd(Instruction::Verify, 0x00, 0x81, padded(b"12345678"))
        )
        .sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
    assert_eq!(
        send(
            &mut card,
            cmd(Instruction::Verify, 0x00, 0x96, padded(b"123456"))
        )
        .sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
    assert_eq!(
        send(
            &mut card,
            cmd(Instruction::Verify, 0x01, 0x80, padded(b"123456"))
        )
        .sw,
        StatusWord::INCORRECT_P1P2
    );
    assert_eq!(
        send(
            &mut card,
            cmd(Instruction::Verify, 0x00, 0x80, b"123456".to_vec())
        )
        .sw,
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        card.state().pin.tries_left,
        3,
        "malformed requests cost no try"
    );
}

#[test]
fn reset_and_power_off_clear_the_login() {
    let mut card = fresh();
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    card.reset();
    assert_eq!(verify_status(&mut card), StatusWord(0x63C3));
    assert_eq!(
        send(
            &mut card,
            PutData {
                object: ObjectId::DISCOVERY,
                content: Default::default(),
            }
            .to_apdu()
        )
        .sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    card.power_off();
    card.power_on();
    assert_eq!(verify_status(&mut card), StatusWord(0x63C3));
}

#[test]
fn change_pin_needs_the_current_pin_and_does_not_log_in() {
    let mut card = fresh();
    assert_eq!(
        change(&mut card, 0x80, b"111111", b"24682468"),
        StatusWord(0x63C2)
    );
    assert_eq!(
        change(&mut card, 0x80, b"123456", b"24682468"),
        StatusWord::SUCCESS
    );
    assert!(!card.pin_verified());
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord(0x63C2));
    assert_eq!(verify_pin(&mut card, b"24682468"), StatusWord::SUCCESS);
}

#[test]
fn change_refuses_unacceptable_new_values_without_spending_a_try() {
    let mut card = fresh();
    assert_eq!(
        change(&mut card, 0x80, b"123456", b"12345"),
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    let gap = [
        b"123456".to_vec(),
        vec![0xFF, 0xFF, b'7', b'8', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
    ]
    .concat();
    assert_eq!(
        send(
            &mut card,
            cmd(
                Instruction::ChangeReferenceData,
                0,
                0x80,
                [padded(b"123456"), gap[8..].to_vec()].concat()
            )
        )
        .sw,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(
        send(
            &mut card,
            cmd(Instruction::ChangeReferenceData, 0, 0x80, vec![0x31; 15])
        )
        .sw,
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        send(
            &mut card,
            cmd(Instruction::ChangeReferenceData, 0, 0x9B, vec![0x31; 16])
        )
        .sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
    assert_eq!(card.state().pin.tries_left, 3);
}

#[test]
fn change_puk_and_wrong_puks_block_it() {
    let mut card = fresh();
    assert_eq!(
        change(&mut card, 0x81, b"12345678", b"87654321"),
        StatusWord::SUCCESS
    );
    assert_eq!(
        change(&mut card, 0x81, b"12345678", b"11112222"),
        StatusWord(0x63C2)
    );
    // PUK bytes must be 00-7F on a YubiKey 5.7.
    assert_eq!(
        send(
            &mut card,
            cmd(
                Instruction::ChangeReferenceData,
                0,
                0x81,
                [padded(b"87654321"), vec![0x80; 8]].concat()
            )
        )
        .sw,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(
        unblock(&mut card, b"00000000", b"222222"),
        StatusWord(0x63C1)
    );
    assert_eq!(
        unblock(&mut card, b"00000000", b"222222"),
        StatusWord(0x63C0)
    );
    assert_eq!(
        unblock(&mut card, b"87654321", b"222222"),
        StatusWord::AUTH_METHOD_BLOCKED
    );
}

#[test]
fn puk_unblock_restores_pin_and_keys_still_sign() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let public = generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    block_pin(&mut card);
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            &[7; 32]
        ),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
    assert_eq!(
        unblock(&mut card, b"12345678", b"13579135"),
        StatusWord::SUCCESS
    );
    assert_eq!(card.state().pin.tries_left, 3);
    assert_eq!(verify_pin(&mut card, b"13579135"), StatusWord::SUCCESS);
    let sig = private_op(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
        &[7; 32],
    )
    .unwrap();
    let apdu_spec::piv::templates::PublicKeyTemplate::Point(point) = public else {
        panic!()
    };
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
    use signature::hazmat::PrehashVerifier;
    vk.verify_prehash(&[7; 32], &p256::ecdsa::Signature::from_der(&sig).unwrap())
        .unwrap();
}

#[test]
fn pin_tries_are_configurable_at_creation() {
    let mut card = fresh_with(card_sim::CardConfig {
        pin_tries: 5,
        puk_tries: 2,
        ..Default::default()
    });
    assert_eq!(verify_status(&mut card), StatusWord(0x63C5));
    assert_eq!(
        unblock(&mut card, b"00000000", b"123456"),
        StatusWord(0x63C1)
    );
}

/// A card with a P-256 key in 9A (PIN once), a PIN-protected object, and the PIN verified.
fn logged_in_card() -> card_sim::Card {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    assert_eq!(
        put_data(&mut card, ObjectId::PRINTED_INFORMATION, b"\x01\x05Alice"),
        StatusWord::SUCCESS
    );
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(signs_with_9a(&mut card), Ok(()));
    assert_eq!(
        get_data(&mut card, ObjectId::PRINTED_INFORMATION).sw,
        StatusWord::SUCCESS
    );
    card
}

fn signs_with_9a(card: &mut card_sim::Card) -> Result<(), StatusWord> {
    private_op(card, Slot::Authentication, Algorithm::EccP256, &[7; 32]).map(|_| ())
}

/// Neither the PIN-once key nor the PIN-protected object is usable any more.
#[track_caller]
fn assert_logged_out(card: &mut card_sim::Card) {
    assert!(!card.pin_verified());
    assert_eq!(
        signs_with_9a(card),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
    assert_eq!(
        get_data(card, ObjectId::PRINTED_INFORMATION).sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn blocking_the_pin_with_verify_ends_the_login() {
    let mut card = logged_in_card();
    block_pin(&mut card);
    assert_logged_out(&mut card);
}

#[test]
fn blocking_the_pin_with_change_reference_data_ends_the_login() {
    let mut card = logged_in_card();
    for left in [2, 1, 0] {
        assert_eq!(
            change(&mut card, 0x80, b"000000", b"24681357"),
            StatusWord::verify_failed(left)
        );
    }
    assert_eq!(verify_status(&mut card), StatusWord::AUTH_METHOD_BLOCKED);
    assert_logged_out(&mut card);
}

#[test]
fn a_failed_puk_ends_the_login_to_the_pin_it_guards() {
    for puk_path in ["reset retry counter", "change reference data"] {
        let mut card = logged_in_card();
        for left in [2, 1, 0] {
            let sw = match puk_path {
                "reset retry counter" => unblock(&mut card, b"00000000", b"24681357"),
                _ => change(&mut card, 0x81, b"00000000", b"87654321"),
            };
            assert_eq!(sw, StatusWord::verify_failed(left), "{puk_path}");
        }
        assert_eq!(
            unblock(&mut card, b"12345678", b"24681357"),
            StatusWord::AUTH_METHOD_BLOCKED
        );
        assert_logged_out(&mut card);
    }
}
