//! SELECT and the data objects: GET DATA and PUT DATA with their access rules and limits.

mod common;

use apdu_spec::CommandApdu;
use apdu_spec::StatusWord;
use apdu_spec::piv::aid::PIV_AID;
use apdu_spec::piv::command::{GetData, PutData};
use apdu_spec::piv::object::CertificateObject;
use apdu_spec::piv::templates::ApplicationTemplate;
use apdu_spec::piv::{Algorithm, Instruction, ObjectId};
use apdu_spec::tlv::{self, Tag};
use common::*;

/// PUT DATA's header with a data field of the test's making.
fn put_raw(data: Vec<u8>) -> CommandApdu {
    PutData {
        object: ObjectId::CHUID,
        content: Default::default(),
    }
    .to_apdu()
    .with_data(data)
}

#[test]
fn select_by_full_aid_or_five_byte_prefix_returns_the_apt() {
    for len in [5, 9, 11] {
        let mut card = fresh();
        let apt = ApplicationTemplate::parse(&ok(send(
            &mut card,
            cmd(Instruction::Select, 4, 0, PIV_AID[..len].to_vec()),
        )))
        .unwrap();
        assert_eq!(apt.pix, vec![0, 0, 0x10, 0, 0x01, 0]);
        assert_eq!(apt.authority, PIV_AID[..5].to_vec());
        assert!(apt.label.is_some());
        for alg in Algorithm::ASYMMETRIC {
            assert!(
                apt.algorithms.contains(&alg.to_byte()),
                "{alg} missing from the APT"
            );
        }
    }
}

#[test]
fn yubico_piv_tool_select_without_le_is_answered_with_data() {
    let mut card = fresh();
    let r = card.transmit(&[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08]);
    assert_eq!(r[0], 0x61);
    assert_eq!(&r[r.len() - 2..], &[0x90, 0x00]);
}

#[test]
fn select_of_a_short_prefix_or_other_application_is_not_found_and_deselects() {
    let mut card = fresh();
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(
        send(
            &mut card,
            cmd(Instruction::Select, 4, 0, PIV_AID[..4].to_vec())
        )
        .sw,
        StatusWord::NOT_FOUND
    );
    assert_eq!(
        send(
            &mut card,
            cmd(
                Instruction::Select,
                4,
                0,
                vec![0xA0, 0, 0, 5, 0x27, 0x21, 1]
            )
        )
        .sw,
        StatusWord::NOT_FOUND
    );
    assert_eq!(
        get_data(&mut card, ObjectId::DISCOVERY).sw,
        StatusWord::INS_NOT_SUPPORTED,
        "PIV is no longer selected"
    );
    ok(select(&mut card));
    assert!(
        !card.pin_verified(),
        "selecting another application logged the PIN out"
    );
    assert_eq!(
        send(&mut card, cmd(Instruction::Select, 2, 0, PIV_AID.to_vec())).sw,
        StatusWord::INCORRECT_P1P2
    );
}

#[test]
fn reselect_keeps_the_login() {
    let mut card = fresh();
    ok(select(&mut card));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    ok(select(&mut card));
    assert_eq!(
        send(&mut card, cmd(Instruction::Verify, 0, 0x80, vec![])).sw,
        StatusWord::SUCCESS
    );
    assert_eq!(
        put_data(&mut card, ObjectId::PRINTED_INFORMATION, &[0x01, 0x02]),
        StatusWord::SUCCESS
    );
}

#[test]
fn fresh_card_has_discovery_chuid_and_attestation_certificate_only() {
    let mut card = fresh();
    let discovery = ok(get_data(&mut card, ObjectId::DISCOVERY));
    assert_eq!(
        hex::encode(discovery),
        "7e124f0ba0000003080000100001005f2f024000"
    );
    let chuid = ok(get_data(&mut card, ObjectId::CHUID));
    let inner = tlv::Tlv::parse_exact(&chuid).unwrap();
    assert_eq!(inner.tag, Tag(0x53));
    assert_eq!(
        tlv::find(inner.value, Tag(0x34)).unwrap().map(<[u8]>::len),
        Some(16),
        "CHUID carries a GUID"
    );
    let f9 = ok(get_data(&mut card, ObjectId::YUBICO_ATTESTATION_CERT));
    let cert = CertificateObject::parse(tlv::Tlv::parse_exact(&f9).unwrap().value).unwrap();
    assert_eq!(cert.certificate[0], 0x30);
    for id in [
        ObjectId::CERT_AUTHENTICATION,
        ObjectId::CARD_CAPABILITY_CONTAINER,
        ObjectId::KEY_HISTORY,
        ObjectId::SECURITY_OBJECT,
    ] {
        assert_eq!(get_data(&mut card, id).sw, StatusWord::NOT_FOUND, "{id}");
    }
}

#[test]
fn put_data_needs_the_management_key() {
    let mut card = fresh();
    assert_eq!(
        put_data(&mut card, ObjectId::CHUID, &[1, 2, 3]),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(
        put_data(&mut card, ObjectId::CHUID, &[1, 2, 3]),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn every_standard_object_and_retired_certificate_round_trips() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    for (n, id) in ObjectId::standard().enumerate() {
        let content = vec![n as u8; 100 + n];
        assert_eq!(
            put_data(&mut card, id, &content),
            StatusWord::SUCCESS,
            "{}",
            id.name()
        );
        let back = ok(get_data(&mut card, id));
        let tlv = tlv::Tlv::parse_exact(&back).unwrap();
        assert_eq!(
            (tlv.tag, tlv.value),
            (id.content_tag(), &content[..]),
            "{}",
            id.name()
        );
    }
}

#[test]
fn empty_content_deletes_an_object() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let cert = CertificateObject::new(vec![0x30, 0x03, 0x02, 0x01, 0x05]).encode();
    assert_eq!(
        put_data(&mut card, ObjectId::CERT_SIGNATURE, &cert),
        StatusWord::SUCCESS
    );
    assert_eq!(
        CertificateObject::parse(
            tlv::Tlv::parse_exact(&ok(get_data(&mut card, ObjectId::CERT_SIGNATURE)))
                .unwrap()
                .value
        )
        .unwrap()
        .certificate,
        vec![0x30, 3, 2, 1, 5]
    );
    assert_eq!(
        put_data(&mut card, ObjectId::CERT_SIGNATURE, &[]),
        StatusWord::SUCCESS
    );
    assert_eq!(
        get_data(&mut card, ObjectId::CERT_SIGNATURE).sw,
        StatusWord::NOT_FOUND
    );
}

#[test]
fn printed_information_and_biometrics_need_the_pin_to_read() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    for id in [
        ObjectId::PRINTED_INFORMATION,
        ObjectId::FINGERPRINTS,
        ObjectId::FACIAL_IMAGE,
        ObjectId::IRIS_IMAGES,
    ] {
        assert_eq!(put_data(&mut card, id, &[0xAA; 10]), StatusWord::SUCCESS);
        assert_eq!(
            get_data(&mut card, id).sw,
            StatusWord::SECURITY_STATUS_NOT_SATISFIED,
            "{}",
            id.name()
        );
    }
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    ok(get_data(&mut card, ObjectId::PRINTED_INFORMATION));
}

#[test]
fn malformed_data_requests_are_refused() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    // Not a PIV object ID, no tag list, wrong P1-P2, trailing bytes.
    assert_eq!(
        send(
            &mut card,
            GetData {
                object: ObjectId(0x4F0000)
            }
            .to_apdu()
        )
        .sw,
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        send(
            &mut card,
            GetData {
                object: ObjectId::DISCOVERY
            }
            .to_apdu()
            .with_data(vec![0x53, 0x01, 0x7E])
        )
        .sw,
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        send(
            &mut card,
            cmd(Instruction::GetData, 0x00, 0x00, ObjectId::CHUID.tag_list())
        )
        .sw,
        StatusWord::INCORRECT_P1P2
    );
    let mut trailing = ObjectId::CHUID.tag_list();
    trailing.push(0x00);
    assert_eq!(
        send(
            &mut card,
            GetData {
                object: ObjectId::CHUID
            }
            .to_apdu()
            .with_data(trailing)
        )
        .sw,
        StatusWord::INCORRECT_DATA
    );
    // PUT DATA whose content tag is not 53, or is truncated.
    let mut data = ObjectId::CHUID.tag_list();
    tlv::write(&mut data, Tag(0x54), &[1]);
    assert_eq!(
        send(&mut card, put_raw(data)).sw,
        StatusWord::INCORRECT_DATA
    );
    let mut data = ObjectId::CHUID.tag_list();
    data.extend_from_slice(&[0x53, 0x05, 1]);
    assert_eq!(
        send(&mut card, put_raw(data)).sw,
        StatusWord::INCORRECT_DATA
    );
}

#[test]
fn objects_are_limited_in_size_and_total_storage() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    assert_eq!(
        put_data(&mut card, ObjectId::CERT_AUTHENTICATION, &vec![0; 3068]),
        StatusWord::SUCCESS,
        "3072 bytes with 53 82 0B FC"
    );
    assert_eq!(
        put_data(&mut card, ObjectId::CERT_AUTHENTICATION, &vec![0; 3069]),
        StatusWord::NOT_ENOUGH_MEMORY
    );
    let mut status = StatusWord::SUCCESS;
    for n in 1..=20 {
        status = put_data(
            &mut card,
            ObjectId::retired_certificate(n).unwrap(),
            &vec![0; 3000],
        );
        if status != StatusWord::SUCCESS {
            break;
        }
    }
    assert_eq!(
        status,
        StatusWord::NOT_ENOUGH_MEMORY,
        "the card's storage fills up"
    );
}

#[test]
fn large_objects_travel_by_command_chaining_and_get_response() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let content: Vec<u8> = (0..2900u32).map(|i| i as u8).collect();
    assert_eq!(
        put_data(&mut card, ObjectId::CERT_KEY_MANAGEMENT, &content),
        StatusWord::SUCCESS
    );
    // The first exchange returns 256 bytes and 61xx.
    let first = exchange(
        &mut card,
        &GetData {
            object: ObjectId::CERT_KEY_MANAGEMENT,
        }
        .to_apdu(),
    );
    assert_eq!(first.data.len(), 256);
    assert_eq!(first.sw.remaining(), Some(256));
    let whole = ok(get_data(&mut card, ObjectId::CERT_KEY_MANAGEMENT));
    assert_eq!(tlv::Tlv::parse_exact(&whole).unwrap().value, &content[..]);
}

#[test]
fn extended_apdus_carry_large_data_in_one_exchange() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let put = PutData {
        object: ObjectId::CERT_AUTHENTICATION,
        content: vec![0x42; 2000].into(),
    };
    let put = exchange(&mut card, &put.to_apdu());
    assert_eq!(put.sw, StatusWord::SUCCESS);
    let get = exchange(
        &mut card,
        &GetData {
            object: ObjectId::CERT_AUTHENTICATION,
        }
        .to_apdu()
        .with_le(65536),
    );
    assert_eq!(get.sw, StatusWord::SUCCESS);
    assert_eq!(get.data.len(), 2004);
}

#[test]
fn put_data_keeps_the_object_as_written_whatever_its_length_form() {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    // A long-form length where the short form would do: stored and returned as sent.
    let object = [0x53, 0x81, 0x05, 1, 2, 3, 4, 5];
    let data = [&ObjectId::CHUID.tag_list()[..], &object].concat();
    assert_eq!(send(&mut card, put_raw(data)).sw, StatusWord::SUCCESS);
    assert_eq!(ok(get_data(&mut card, ObjectId::CHUID)), object);
}
