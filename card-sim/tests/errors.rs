//! Every input gets a status word: unknown instructions, wrong classes, malformed APDUs,
//! and the response chaining rules.

mod common;

use apdu_spec::piv::{Instruction, ObjectId};
use apdu_spec::{Response, StatusWord};
use common::*;

fn raw(card: &mut card_sim::Card, bytes: &[u8]) -> Response {
    Response::parse(&card.transmit(bytes)).unwrap()
}

#[test]
fn unknown_instruction_is_6d00() {
    let mut card = fresh();
    assert_eq!(
        raw(&mut card, &[0x00, 0x10, 0x00, 0x00]).sw,
        StatusWord::INS_NOT_SUPPORTED
    );
    assert_eq!(
        raw(&mut card, &[0x00, 0xB0, 0x00, 0x00, 0x00]).sw,
        StatusWord::INS_NOT_SUPPORTED
    );
}

#[test]
fn wrong_class_is_6e00() {
    let mut card = fresh();
    for cla in [0x80, 0x0C, 0x01, 0xFF] {
        assert_eq!(
            raw(&mut card, &[cla, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0, 0, 3, 8]).sw,
            StatusWord::CLA_NOT_SUPPORTED
        );
    }
}

#[test]
fn malformed_apdus_are_wrong_length() {
    let mut card = fresh();
    for bytes in [
        &[][..],
        &[0x00],
        &[0x00, 0xA4, 0x04],
        &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0],
        &[0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x01],
    ] {
        let r = raw(&mut card, bytes);
        assert_eq!(
            (r.sw, r.data.len()),
            (StatusWord::WRONG_LENGTH, 0),
            "{bytes:02X?}"
        );
    }
}

#[test]
fn get_response_without_pending_data_is_refused() {
    let mut card = fresh();
    assert_eq!(
        raw(&mut card, &[0x00, 0xC0, 0x00, 0x00, 0x00]).sw,
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        raw(&mut card, &[0x00, 0xC0, 0x01, 0x00, 0x00]).sw,
        StatusWord::INCORRECT_P1P2
    );
}

#[test]
fn response_chaining_hands_out_the_rest_and_then_stops() {
    let mut card = fresh();
    let first = exchange(
        &mut card,
        &cmd(
            Instruction::GetData,
            0x3F,
            0xFF,
            ObjectId::YUBICO_ATTESTATION_CERT.tag_list(),
        ),
    );
    let mut all = first.data.clone();
    let mut sw = first.sw;
    assert!(
        sw.remaining().is_some(),
        "the attestation certificate exceeds 256 bytes"
    );
    while let Some(n) = sw.remaining() {
        let r = raw(&mut card, &[0x00, 0xC0, 0x00, 0x00, n as u8]);
        all.extend_from_slice(&r.data);
        sw = r.sw;
    }
    assert_eq!(sw, StatusWord::SUCCESS);
    assert_eq!(
        all,
        ok(send(
            &mut card,
            cmd(
                Instruction::GetData,
                0x3F,
                0xFF,
                ObjectId::YUBICO_ATTESTATION_CERT.tag_list()
            )
        ))
    );
    assert_eq!(
        raw(&mut card, &[0x00, 0xC0, 0x00, 0x00, 0x00]).sw,
        StatusWord::INCORRECT_DATA,
        "nothing left to get"
    );
}

#[test]
fn a_small_le_splits_the_response() {
    let mut card = fresh();
    let r = exchange(
        &mut card,
        &cmd(
            Instruction::GetData,
            0x3F,
            0xFF,
            ObjectId::DISCOVERY.tag_list(),
        )
        .with_le(8),
    );
    assert_eq!(r.data.len(), 8);
    assert_eq!(r.sw, StatusWord(0x610C));
    let rest = raw(&mut card, &[0x00, 0xC0, 0x00, 0x00, 0x0C]);
    assert_eq!((rest.data.len(), rest.sw), (12, StatusWord::SUCCESS));
}

#[test]
fn another_command_discards_pending_response_data() {
    let mut card = fresh();
    let first = exchange(
        &mut card,
        &cmd(
            Instruction::GetData,
            0x3F,
            0xFF,
            ObjectId::YUBICO_ATTESTATION_CERT.tag_list(),
        ),
    );
    assert!(first.sw.remaining().is_some());
    ok(exchange(
        &mut card,
        &cmd(Instruction::GetVersion, 0, 0, vec![]),
    ));
    assert_eq!(
        raw(&mut card, &[0x00, 0xC0, 0x00, 0x00, 0x00]).sw,
        StatusWord::INCORRECT_DATA
    );
}

#[test]
fn a_chain_interrupted_by_another_command_is_abandoned() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let mut data = ObjectId::CHUID.tag_list();
    data.extend_from_slice(&[0x53, 0x04]);
    let first = raw(
        &mut card,
        &[&[0x10, 0xDB, 0x3F, 0xFF, data.len() as u8][..], &data].concat(),
    );
    assert_eq!(first.sw, StatusWord::SUCCESS);
    ok(exchange(
        &mut card,
        &cmd(Instruction::GetVersion, 0, 0, vec![]),
    ));
    // The tail alone is not a valid PUT DATA.
    let tail = raw(&mut card, &[0x00, 0xDB, 0x3F, 0xFF, 0x04, 1, 2, 3, 4]);
    assert_eq!(tail.sw, StatusWord::INCORRECT_DATA);
}

#[test]
fn an_oversized_chain_is_refused() {
    let mut card = fresh();
    let block = [&[0x10, 0xDB, 0x3F, 0xFF, 0xFF][..], &[0u8; 255]].concat();
    let mut last = StatusWord::SUCCESS;
    for _ in 0..80 {
        last = raw(&mut card, &block).sw;
        if last != StatusWord::SUCCESS {
            break;
        }
    }
    assert_eq!(last, StatusWord::WRONG_LENGTH);
}

#[test]
fn select_is_never_glued_onto_an_abandoned_chain() {
    let mut card = fresh();
    // A chained SELECT block that nobody finishes…
    assert_eq!(
        raw(&mut card, &[0x10, 0xA4, 0x04, 0x00, 0x01, 0xA0]).sw,
        StatusWord::SUCCESS
    );
    // …does not turn the next program's SELECT into "A0 A0 00 00 03 08".
    let r = raw(
        &mut card,
        &[
            0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
        ],
    );
    assert_eq!(
        r.sw.remaining()
            .map(|_| StatusWord::SUCCESS)
            .unwrap_or(r.sw),
        StatusWord::SUCCESS
    );
}
