//! YubiKey's private instructions: version, serial, metadata, attestation, reset, PIN
//! retries, move/delete, the management key's touch flag, a card without them, and cards
//! whose metadata is missing or partial.

mod common;

use apdu_spec::piv::command::SetManagementKey;
use apdu_spec::piv::metadata::Origin;
use apdu_spec::piv::mgmt_key::{DEFAULT_KEY, ManagementKey};
use apdu_spec::piv::object::CertificateObject;
use apdu_spec::piv::reference_data::Credential;
use apdu_spec::piv::templates::{ImportKeyData, ImportedKey, ManagementKeyData, PublicKeyTemplate};
use apdu_spec::piv::{
    Algorithm, Instruction, KeyRef, Metadata, ObjectId, PinPolicy, Slot, TouchPolicy,
};
use apdu_spec::tlv::{self, Tag, Tlv};
use apdu_spec::{Response, StatusWord};
use card_sim::{Card, CardConfig, Flavour};
use common::*;
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use signature::Verifier;
use signature::hazmat::PrehashVerifier;
use x509_cert::Certificate;

const FRESH_PIN_METADATA: [u8; 10] = [0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x03, 0x03];
const OID_FIRMWARE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.3");
const OID_SERIAL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.7");
const OID_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.8");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

fn card_with_serial(serial: u32) -> Card {
    fresh_with(CardConfig {
        serial: Some(serial),
        ..CardConfig::default()
    })
}

/// A fresh card, selected, with the management key authenticated.
fn admin_card() -> Card {
    let mut card = fresh();
    ok(select(&mut card));
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    card
}

fn bare(card: &mut Card, ins: Instruction, p1: u8, p2: u8) -> Response {
    send(card, cmd(ins, p1, p2, vec![]))
}

fn meta(card: &mut Card, key_ref: KeyRef) -> Metadata {
    Metadata::parse(&ok(metadata(card, key_ref))).unwrap()
}

fn point(template: &PublicKeyTemplate) -> Vec<u8> {
    match template {
        PublicKeyTemplate::Point(p) => p.clone(),
        other => panic!("not a point: {other:?}"),
    }
}

fn import_p256(card: &mut Card, slot: Slot, scalar: [u8; 32]) -> StatusWord {
    let data = ImportKeyData {
        key: ImportedKey::Ecc(scalar.to_vec()),
        pin_policy: None,
        touch_policy: None,
    };
    send(
        card,
        cmd(
            Instruction::ImportKey,
            Algorithm::EccP256.to_byte(),
            slot.to_byte(),
            data.encode(),
        ),
    )
    .sw
}

fn set_management_key(card: &mut Card, touch: bool, key: &ManagementKey) -> StatusWord {
    let mut key = key.clone();
    key.touch_required = touch;
    send(card, SetManagementKey { key }.to_apdu()).sw
}

fn move_key(card: &mut Card, destination: u8, source: Slot) -> StatusWord {
    bare(card, Instruction::MoveKey, destination, source.to_byte()).sw
}

fn assert_p256_signs(card: &mut Card, slot: Slot, public: &[u8]) {
    let hash = [0x5Eu8; 32];
    let der = private_op(card, slot, Algorithm::EccP256, &hash).expect("the key signs");
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(public).unwrap();
    vk.verify_prehash(&hash, &p256::ecdsa::Signature::from_der(&der).unwrap())
        .expect("the signature verifies");
}

fn block_pin(card: &mut Card) {
    for left in [2u8, 1, 0] {
        assert_eq!(
            verify_pin(card, b"00000000"),
            StatusWord::verify_failed(left)
        );
    }
    assert_eq!(verify_pin(card, b"123456"), StatusWord::AUTH_METHOD_BLOCKED);
}

fn block_puk(card: &mut Card) {
    for left in [2u8, 1, 0] {
        assert_eq!(
            change_reference(card, Credential::Puk, b"00000000", b"11111111"),
            StatusWord::verify_failed(left)
        );
    }
    assert_eq!(
        change_reference(card, Credential::Puk, b"12345678", b"11111111"),
        StatusWord::AUTH_METHOD_BLOCKED
    );
}

fn chuid_guid(card: &mut Card) -> Vec<u8> {
    let object = ok(get_data(card, ObjectId::CHUID));
    let outer = Tlv::parse_exact(&object).unwrap();
    tlv::find(outer.value, Tag(0x34))
        .unwrap()
        .expect("the CHUID has a GUID")
        .to_vec()
}

// ---- GET VERSION, GET SERIAL ----

#[test]
fn get_version_answers_firmware_5_7_1() {
    let mut card = fresh();
    ok(select(&mut card));
    assert_eq!(
        ok(bare(&mut card, Instruction::GetVersion, 0x00, 0x00)),
        [0x05, 0x07, 0x01]
    );
}

#[test]
fn get_serial_answers_the_configured_serial_big_endian() {
    for (serial, bytes) in [
        (11_409_355u32, [0x00, 0xAE, 0x17, 0xCB]),
        (0x1234_5678, [0x12, 0x34, 0x56, 0x78]),
    ] {
        let mut card = card_with_serial(serial);
        ok(select(&mut card));
        assert_eq!(
            ok(bare(&mut card, Instruction::GetSerial, 0x00, 0x00)),
            bytes
        );
    }
}

// ---- GET METADATA ----

#[test]
fn pin_metadata_reports_default_flag_and_retries() {
    let mut card = fresh();
    ok(select(&mut card));
    assert_eq!(ok(metadata(&mut card, KeyRef::PIN)), FRESH_PIN_METADATA);
    assert_eq!(
        change_reference(&mut card, Credential::Pin, b"123456", b"13572468"),
        StatusWord::SUCCESS
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PIN)),
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x00, 0x06, 0x02, 0x03, 0x03]
    );
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord(0x63C2));
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PIN)),
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x00, 0x06, 0x02, 0x03, 0x02]
    );
    // The PUK is untouched by all of it.
    assert_eq!(ok(metadata(&mut card, KeyRef::PUK)), FRESH_PIN_METADATA);
}

#[test]
fn puk_metadata_reports_default_flag_and_retries() {
    let mut card = fresh();
    ok(select(&mut card));
    assert_eq!(ok(metadata(&mut card, KeyRef::PUK)), FRESH_PIN_METADATA);
    assert_eq!(
        change_reference(&mut card, Credential::Puk, b"12345678", b"87654321"),
        StatusWord::SUCCESS
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PUK)),
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x00, 0x06, 0x02, 0x03, 0x03]
    );
    assert_eq!(
        change_reference(&mut card, Credential::Puk, b"12345678", b"11223344"),
        StatusWord(0x63C2)
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PUK)),
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x00, 0x06, 0x02, 0x03, 0x02]
    );
    assert_eq!(ok(metadata(&mut card, KeyRef::PIN)), FRESH_PIN_METADATA);
}

#[test]
fn pin_and_puk_metadata_report_configured_retry_counts() {
    let mut card = fresh_with(CardConfig {
        serial: Some(1),
        pin_tries: 5,
        puk_tries: 4,
        ..CardConfig::default()
    });
    ok(select(&mut card));
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PIN)),
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x05, 0x05]
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PUK)),
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x04, 0x04]
    );
}

#[test]
fn management_key_metadata_reports_algorithm_touch_and_default_flag() {
    let mut card = fresh();
    ok(select(&mut card));
    assert_eq!(
        ok(metadata(&mut card, KeyRef::MANAGEMENT)),
        [0x01, 0x01, 0x03, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x01]
    );

    let mut card = fresh_with(CardConfig {
        serial: Some(2),
        management_algorithm: Algorithm::Aes192,
        ..CardConfig::default()
    });
    ok(select(&mut card));
    assert_eq!(
        ok(metadata(&mut card, KeyRef::MANAGEMENT)),
        [0x01, 0x01, 0x0A, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x01]
    );
    assert_eq!(
        authenticate(&mut card),
        StatusWord::SUCCESS,
        "the AES-192 default key authenticates"
    );
}

#[test]
fn key_metadata_reports_algorithm_resolved_policies_origin_and_public_key() {
    let mut card = admin_card();
    // (slot, algorithm, the PIN policy the slot's default resolves to)
    let cases = [
        (Slot::Authentication, Algorithm::EccP256, PinPolicy::Once),
        (Slot::Signature, Algorithm::Ed25519, PinPolicy::Always),
        (Slot::KeyManagement, Algorithm::EccP384, PinPolicy::Once),
        (
            Slot::CardAuthentication,
            Algorithm::X25519,
            PinPolicy::Never,
        ),
        (
            Slot::retired(1).unwrap(),
            Algorithm::EccP256,
            PinPolicy::Once,
        ),
    ];
    for (slot, alg, pin) in cases {
        let template = generate(&mut card, slot, alg);
        let raw = ok(metadata(&mut card, slot.key_ref()));
        let m = Metadata::parse(&raw).unwrap();
        assert_eq!(m.algorithm, Some(alg.to_byte()), "{slot}");
        assert_eq!(
            m.policy,
            Some((pin as u8, TouchPolicy::Never as u8)),
            "{slot}"
        );
        assert_eq!(m.origin, Some(Origin::Generated), "{slot}");
        assert_eq!(
            m.public_key,
            Some(template.encode_content()),
            "{slot}: the key GENERATE returned"
        );
        assert_eq!(
            (m.is_default, m.retries),
            (None, None),
            "{slot}: PIN-only tags absent"
        );
        if slot == Slot::Authentication {
            // The layout of the fact sheet's capture, byte for byte.
            assert_eq!(
                raw[..15],
                [
                    0x01, 0x01, 0x11, 0x02, 0x02, 0x02, 0x01, 0x03, 0x01, 0x01, 0x04, 0x43, 0x86,
                    0x41, 0x04
                ]
            );
            assert_eq!(raw.len(), 15 + 64);
        }
    }
}

#[test]
fn key_metadata_reports_explicit_policies() {
    let mut card = admin_card();
    ok(generate_with(
        &mut card,
        Slot::Signature,
        Algorithm::EccP256,
        Some(PinPolicy::Never),
        Some(TouchPolicy::Cached),
    ));
    assert_eq!(meta(&mut card, KeyRef(0x9C)).policy, Some((0x01, 0x03)));
    ok(generate_with(
        &mut card,
        Slot::CardAuthentication,
        Algorithm::EccP256,
        Some(PinPolicy::Always),
        Some(TouchPolicy::Always),
    ));
    assert_eq!(meta(&mut card, KeyRef(0x9E)).policy, Some((0x03, 0x02)));
}

#[test]
fn imported_key_metadata_reports_origin_imported_and_its_public_key() {
    let mut card = admin_card();
    let scalar = [0x42u8; 32];
    assert_eq!(
        import_p256(&mut card, Slot::KeyManagement, scalar),
        StatusWord::SUCCESS
    );
    let expected = p256::ecdsa::SigningKey::from_slice(&scalar)
        .unwrap()
        .verifying_key()
        .to_sec1_point(false);
    let m = meta(&mut card, KeyRef(0x9D));
    assert_eq!(m.algorithm, Some(0x11));
    assert_eq!(m.origin, Some(Origin::Imported));
    assert_eq!(m.policy, Some((0x02, 0x01)));
    assert_eq!(
        m.public_key,
        Some(PublicKeyTemplate::Point(expected.as_bytes().to_vec()).encode_content())
    );
}

#[test]
fn metadata_of_an_empty_slot_is_reference_data_not_found() {
    let mut card = admin_card();
    for key_ref in [0x9A, 0x9C, 0x9D, 0x9E, 0x82, 0x95] {
        assert_eq!(
            metadata(&mut card, KeyRef(key_ref)).sw,
            StatusWord::REFERENCE_DATA_NOT_FOUND,
            "{key_ref:02X}"
        );
    }
    // And a reference that is no slot at all.
    assert_eq!(
        metadata(&mut card, KeyRef(0x9F)).sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
}

#[test]
fn touch_always_key_reports_its_policy_and_signs_without_a_button() {
    let mut card = admin_card();
    let public = point(
        &PublicKeyTemplate::parse(&ok(generate_with(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            None,
            Some(TouchPolicy::Always),
        )))
        .unwrap(),
    );
    assert_eq!(meta(&mut card, KeyRef(0x9A)).policy, Some((0x02, 0x02)));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    // Every operation would need a touch; the virtual card proceeds at once, each time.
    assert_p256_signs(&mut card, Slot::Authentication, &public);
    assert_p256_signs(&mut card, Slot::Authentication, &public);
}

// ---- ATTEST ----

/// The F9 certificate, read as a client does: GET DATA 5FFF01, unwrap 53, the certificate object.
fn f9_certificate(card: &mut Card) -> Certificate {
    let object = ok(get_data(card, ObjectId::YUBICO_ATTESTATION_CERT));
    let outer = Tlv::parse_exact(&object).unwrap();
    assert_eq!(outer.tag, Tag(0x53));
    let cert = CertificateObject::parse(outer.value).unwrap();
    assert!(!cert.compressed);
    Certificate::from_der(&cert.certificate).unwrap()
}

fn attest(card: &mut Card, slot: Slot) -> Response {
    bare(card, Instruction::Attest, slot.to_byte(), 0x00)
}

fn extension(cert: &Certificate, oid: ObjectIdentifier) -> Vec<u8> {
    let extensions = cert.tbs_certificate().extensions().expect("extensions");
    let ext = extensions
        .iter()
        .find(|e| e.extn_id == oid)
        .unwrap_or_else(|| panic!("extension {oid} missing"));
    ext.extn_value.as_bytes().to_vec()
}

/// Checks that `issuer`'s P-256 key signed `cert`.
fn assert_issued_by(cert: &Certificate, issuer: &Certificate) {
    assert_eq!(
        cert.tbs_certificate().issuer(),
        issuer.tbs_certificate().subject()
    );
    assert_eq!(cert.signature_algorithm().oid, ECDSA_WITH_SHA256);
    let issuer_key = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(issuer_key).unwrap();
    let sig = p256::ecdsa::DerSignature::try_from(cert.signature().raw_bytes()).unwrap();
    let tbs = cert.tbs_certificate().to_der().unwrap();
    vk.verify(&tbs, &sig).expect("signed by the F9 key");
    let mut tampered = tbs.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(vk.verify(&tampered, &sig).is_err());
}

#[test]
fn attestation_certificate_is_issued_by_f9_and_describes_the_generated_key() {
    let mut card = card_with_serial(11_409_355);
    ok(select(&mut card));
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let public = point(&generate(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
    ));
    let f9 = f9_certificate(&mut card);

    let der = ok(attest(&mut card, Slot::Authentication));
    assert_eq!(der[0], 0x30, "a bare DER certificate");
    let cert = Certificate::from_der(&der).unwrap();
    assert_issued_by(&cert, &f9);
    let tbs = cert.tbs_certificate();
    assert_eq!(tbs.subject().to_string(), "CN=YubiKey PIV Attestation 9a");
    let spki = tbs.subject_public_key_info();
    assert_eq!(spki.algorithm.oid, EC_PUBLIC_KEY);
    assert_eq!(spki.subject_public_key.raw_bytes(), public.as_slice());
    assert_eq!(tbs.validity(), f9.tbs_certificate().validity());
    assert_eq!(extension(&cert, OID_FIRMWARE), [0x05, 0x07, 0x01]);
    // 11409355 = 00AE17CB: a DER INTEGER needs the leading zero.
    assert_eq!(
        extension(&cert, OID_SERIAL),
        [0x02, 0x04, 0x00, 0xAE, 0x17, 0xCB]
    );
    assert_eq!(extension(&cert, OID_POLICY), [0x02, 0x01]);

    // Each attestation has its own serial number.
    let again = Certificate::from_der(&ok(attest(&mut card, Slot::Authentication))).unwrap();
    assert_ne!(again.tbs_certificate().serial_number(), tbs.serial_number());
}

#[test]
fn attestation_policy_extension_records_the_resolved_policies() {
    let mut card = admin_card();
    let f9 = f9_certificate(&mut card);
    generate(&mut card, Slot::Signature, Algorithm::Ed25519);
    generate(&mut card, Slot::CardAuthentication, Algorithm::EccP256);
    ok(generate_with(
        &mut card,
        Slot::KeyManagement,
        Algorithm::EccP384,
        Some(PinPolicy::Never),
        Some(TouchPolicy::Cached),
    ));
    for (slot, subject, policy) in [
        (
            Slot::Signature,
            "CN=YubiKey PIV Attestation 9c",
            [0x03, 0x01],
        ),
        (
            Slot::CardAuthentication,
            "CN=YubiKey PIV Attestation 9e",
            [0x01, 0x01],
        ),
        (
            Slot::KeyManagement,
            "CN=YubiKey PIV Attestation 9d",
            [0x01, 0x03],
        ),
    ] {
        let cert = Certificate::from_der(&ok(attest(&mut card, slot))).unwrap();
        assert_issued_by(&cert, &f9);
        assert_eq!(cert.tbs_certificate().subject().to_string(), subject);
        assert_eq!(extension(&cert, OID_POLICY), policy, "{slot}");
        // 1234567 = 12D687.
        assert_eq!(extension(&cert, OID_SERIAL), [0x02, 0x03, 0x12, 0xD6, 0x87]);
    }
}

#[test]
fn attesting_an_imported_key_or_an_empty_slot_is_incorrect_data() {
    let mut card = admin_card();
    assert_eq!(
        import_p256(&mut card, Slot::Authentication, [0x17; 32]),
        StatusWord::SUCCESS
    );
    assert_eq!(
        attest(&mut card, Slot::Authentication).sw,
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        attest(&mut card, Slot::Signature).sw,
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        attest(&mut card, Slot::retired(3).unwrap()).sw,
        StatusWord::INCORRECT_DATA
    );
    // Generating over the imported key makes it attestable.
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    assert_eq!(
        attest(&mut card, Slot::Authentication).sw,
        StatusWord::SUCCESS
    );
}

#[test]
fn rsa_2048_attestation_comes_in_61xx_chained_pieces() {
    let mut card = admin_card();
    let PublicKeyTemplate::Rsa { modulus, exponent } =
        generate(&mut card, Slot::KeyManagement, Algorithm::Rsa2048)
    else {
        panic!("RSA GENERATE answers modulus and exponent");
    };
    let f9 = f9_certificate(&mut card);

    let first = exchange(&mut card, &cmd(Instruction::Attest, 0x9D, 0x00, vec![]));
    assert_eq!(first.sw.sw1(), 0x61, "more data waits: {}", first.sw);
    assert_eq!(first.data.len(), 256);
    let mut der = first.data;
    let mut sw = first.sw;
    let mut pieces = 1;
    while sw.remaining().is_some() {
        let r = exchange(
            &mut card,
            &apdu_spec::CommandApdu::new(0x00, Instruction::GetResponse as u8, 0x00, 0x00)
                .with_le(256),
        );
        assert!(r.data.len() <= 256);
        der.extend_from_slice(&r.data);
        sw = r.sw;
        pieces += 1;
    }
    assert_eq!(sw, StatusWord::SUCCESS);
    assert!(der.len() > 256 && pieces >= 2);
    // Once everything was read, GET RESPONSE has nothing more.
    let after = exchange(
        &mut card,
        &apdu_spec::CommandApdu::new(0x00, Instruction::GetResponse as u8, 0x00, 0x00).with_le(256),
    );
    assert_eq!(after.sw, StatusWord::INCORRECT_DATA);

    let cert = Certificate::from_der(&der).unwrap();
    assert_issued_by(&cert, &f9);
    assert_eq!(
        cert.tbs_certificate().subject().to_string(),
        "CN=YubiKey PIV Attestation 9d"
    );
    let spki_der = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    let rsa_key = rsa::PublicKey::from_public_key_der(&spki_der).unwrap();
    assert_eq!(&*rsa_key.n_bytes(), modulus.as_slice());
    assert_eq!(&*rsa_key.e_bytes(), exponent.as_slice());
}

// ---- RESET ----

#[test]
fn reset_is_refused_unless_pin_and_puk_are_both_blocked() {
    let mut card = admin_card();
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    assert_eq!(
        bare(&mut card, Instruction::Reset, 0x00, 0x00).sw,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    block_pin(&mut card);
    assert_eq!(
        bare(&mut card, Instruction::Reset, 0x00, 0x00).sw,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(
        meta(&mut card, KeyRef(0x9A)).algorithm,
        Some(0x11),
        "the key is still there"
    );

    let mut card = admin_card();
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    block_puk(&mut card);
    assert_eq!(
        bare(&mut card, Instruction::Reset, 0x00, 0x00).sw,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(
        meta(&mut card, KeyRef(0x9A)).algorithm,
        Some(0x11),
        "the key is still there"
    );
}

#[test]
fn reset_erases_keys_and_objects_but_keeps_the_attestation_key_and_certificate() {
    let mut card = admin_card();
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    generate(&mut card, Slot::Signature, Algorithm::Ed25519);
    assert_eq!(
        import_p256(&mut card, Slot::retired(5).unwrap(), [0x21; 32]),
        StatusWord::SUCCESS
    );
    let certificate = CertificateObject::new(vec![0x30, 0x03, 0x02, 0x01, 0x07]).encode();
    assert_eq!(
        put_data(&mut card, ObjectId::CERT_AUTHENTICATION, &certificate),
        StatusWord::SUCCESS
    );
    assert_eq!(
        put_data(&mut card, ObjectId::PRINTED_INFORMATION, b"printed"),
        StatusWord::SUCCESS
    );
    assert_eq!(
        put_data(&mut card, ObjectId(0x5FC10D), &certificate),
        StatusWord::SUCCESS
    );
    let new_key = ManagementKey::new(Algorithm::Aes128, &[0x33; 16]).unwrap();
    assert_eq!(
        set_management_key(&mut card, false, &new_key),
        StatusWord::SUCCESS
    );
    assert_eq!(
        change_reference(&mut card, Credential::Pin, b"123456", b"999999"),
        StatusWord::SUCCESS
    );
    let f9_object = ok(get_data(&mut card, ObjectId::YUBICO_ATTESTATION_CERT));
    let f9_meta = ok(metadata(&mut card, KeyRef(0xF9)));
    let guid = chuid_guid(&mut card);

    block_pin(&mut card);
    block_puk(&mut card);
    assert_eq!(
        ok(bare(&mut card, Instruction::Reset, 0x00, 0x00)),
        Vec::<u8>::new()
    );

    // Keys are gone, the attestation key is not.
    for key_ref in [0x9A, 0x9C, 0x86] {
        assert_eq!(
            metadata(&mut card, KeyRef(key_ref)).sw,
            StatusWord::REFERENCE_DATA_NOT_FOUND,
            "{key_ref:02X}"
        );
    }
    assert_eq!(ok(metadata(&mut card, KeyRef(0xF9))), f9_meta);
    assert_eq!(
        ok(get_data(&mut card, ObjectId::YUBICO_ATTESTATION_CERT)),
        f9_object
    );
    // PIN, PUK and management key are the factory ones again.
    assert_eq!(ok(metadata(&mut card, KeyRef::PIN)), FRESH_PIN_METADATA);
    assert_eq!(ok(metadata(&mut card, KeyRef::PUK)), FRESH_PIN_METADATA);
    assert_eq!(
        ok(metadata(&mut card, KeyRef::MANAGEMENT)),
        [0x01, 0x01, 0x03, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x01]
    );
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(
        change_reference(&mut card, Credential::Puk, b"12345678", b"12345678"),
        StatusWord::SUCCESS
    );
    assert_eq!(
        authenticate_with(&mut card, &ManagementKey::factory(Algorithm::Tdes).unwrap()),
        StatusWord::SUCCESS
    );
    // Objects are gone (read with the PIN verified, so 6A82 means absent).
    for id in [
        ObjectId::CERT_AUTHENTICATION,
        ObjectId::PRINTED_INFORMATION,
        ObjectId(0x5FC10D),
    ] {
        assert_eq!(get_data(&mut card, id).sw, StatusWord::NOT_FOUND, "{id}");
    }
    // A new CHUID with a new GUID.
    let new_guid = chuid_guid(&mut card);
    assert_eq!(new_guid.len(), 16);
    assert_ne!(new_guid, guid);
    // The kept F9 key still attests new keys.
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    let f9 = f9_certificate(&mut card);
    assert_issued_by(
        &Certificate::from_der(&ok(attest(&mut card, Slot::Authentication))).unwrap(),
        &f9,
    );
}

// ---- SET PIN RETRIES ----

#[test]
fn set_pin_retries_needs_management_key_and_pin() {
    let mut card = fresh();
    ok(select(&mut card));
    assert_eq!(
        bare(&mut card, Instruction::SetPinRetries, 5, 7).sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(
        bare(&mut card, Instruction::SetPinRetries, 5, 7).sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED,
        "PIN only"
    );

    let mut card = admin_card();
    assert_eq!(
        bare(&mut card, Instruction::SetPinRetries, 5, 7).sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED,
        "management key only"
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PIN)),
        FRESH_PIN_METADATA,
        "nothing changed"
    );
    assert_eq!(ok(metadata(&mut card, KeyRef::PUK)), FRESH_PIN_METADATA);
}

#[test]
fn set_pin_retries_sets_the_counts_and_resets_pin_and_puk_to_defaults() {
    let mut card = admin_card();
    assert_eq!(
        change_reference(&mut card, Credential::Pin, b"123456", b"24682468"),
        StatusWord::SUCCESS
    );
    assert_eq!(
        change_reference(&mut card, Credential::Puk, b"12345678", b"13571357"),
        StatusWord::SUCCESS
    );
    assert_eq!(verify_pin(&mut card, b"24682468"), StatusWord::SUCCESS);
    // A count of 0 is refused.
    assert_eq!(
        bare(&mut card, Instruction::SetPinRetries, 0, 7).sw,
        StatusWord::INCORRECT_P1P2
    );
    assert_eq!(
        ok(bare(&mut card, Instruction::SetPinRetries, 5, 7)),
        Vec::<u8>::new()
    );

    assert_eq!(
        ok(metadata(&mut card, KeyRef::PIN)),
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x05, 0x05]
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PUK)),
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x07, 0x07]
    );
    assert_eq!(
        verify_pin(&mut card, b"24682468"),
        StatusWord(0x63C4),
        "the old PIN is gone"
    );
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(
        change_reference(&mut card, Credential::Puk, b"12345678", b"12345678"),
        StatusWord::SUCCESS
    );
}

// ---- MOVE KEY / DELETE KEY ----

#[test]
fn move_key_carries_the_key_and_its_metadata_but_not_the_certificate() {
    let mut card = admin_card();
    let template = PublicKeyTemplate::parse(&ok(generate_with(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
        Some(PinPolicy::Never),
        Some(TouchPolicy::Cached),
    )))
    .unwrap();
    let before = ok(metadata(&mut card, KeyRef(0x9A)));
    let certificate = CertificateObject::new(vec![0x30, 0x00]).encode();
    assert_eq!(
        put_data(&mut card, ObjectId::CERT_AUTHENTICATION, &certificate),
        StatusWord::SUCCESS
    );

    assert_eq!(
        move_key(&mut card, 0x82, Slot::Authentication),
        StatusWord::SUCCESS
    );
    assert_eq!(
        metadata(&mut card, KeyRef(0x9A)).sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef(0x82))),
        before,
        "policies, origin and public key moved"
    );
    // The certificate stays where it was.
    assert_eq!(
        ok(get_data(&mut card, ObjectId::CERT_AUTHENTICATION)),
        tlv::encode(Tag(0x53), &certificate)
    );
    assert_eq!(
        get_data(&mut card, ObjectId(0x5FC10D)).sw,
        StatusWord::NOT_FOUND
    );
    // The same key signs from its new slot (PIN policy never: no VERIFY).
    assert_p256_signs(&mut card, Slot::retired(1).unwrap(), &point(&template));
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            &[1; 32]
        ),
        Err(StatusWord::REFERENCE_DATA_NOT_FOUND)
    );
}

#[test]
fn move_key_keeps_the_pin_policy_the_key_had_in_its_old_slot() {
    let mut card = admin_card();
    generate(&mut card, Slot::Signature, Algorithm::EccP256);
    generate(&mut card, Slot::CardAuthentication, Algorithm::EccP256);
    let signature_meta = ok(metadata(&mut card, KeyRef(0x9C)));
    let card_auth_meta = ok(metadata(&mut card, KeyRef(0x9E)));
    assert_eq!(
        Metadata::parse(&signature_meta).unwrap().policy,
        Some((0x03, 0x01))
    );

    assert_eq!(
        move_key(&mut card, 0x83, Slot::Signature),
        StatusWord::SUCCESS
    );
    assert_eq!(
        move_key(&mut card, 0x84, Slot::CardAuthentication),
        StatusWord::SUCCESS
    );
    assert_eq!(ok(metadata(&mut card, KeyRef(0x83))), signature_meta);
    assert_eq!(ok(metadata(&mut card, KeyRef(0x84))), card_auth_meta);
    // And the card enforces it: PIN always, so one VERIFY allows one signature.
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert!(
        private_op(
            &mut card,
            Slot::retired(2).unwrap(),
            Algorithm::EccP256,
            &[2; 32]
        )
        .is_ok()
    );
    assert_eq!(
        private_op(
            &mut card,
            Slot::retired(2).unwrap(),
            Algorithm::EccP256,
            &[2; 32]
        ),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
}

#[test]
fn move_key_refuses_an_occupied_destination_and_an_empty_source() {
    let mut card = admin_card();
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    generate(&mut card, Slot::Signature, Algorithm::Ed25519);
    let (a, c) = (
        ok(metadata(&mut card, KeyRef(0x9A))),
        ok(metadata(&mut card, KeyRef(0x9C))),
    );
    assert_eq!(
        move_key(&mut card, 0x9C, Slot::Authentication),
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        move_key(&mut card, 0x84, Slot::KeyManagement),
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
    assert_eq!(ok(metadata(&mut card, KeyRef(0x9A))), a, "nothing moved");
    assert_eq!(ok(metadata(&mut card, KeyRef(0x9C))), c);
    assert_eq!(
        metadata(&mut card, KeyRef(0x84)).sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
}

#[test]
fn delete_key_empties_the_slot() {
    let mut card = admin_card();
    generate(&mut card, Slot::KeyManagement, Algorithm::X25519);
    assert_eq!(
        move_key(&mut card, 0xFF, Slot::KeyManagement),
        StatusWord::SUCCESS
    );
    assert_eq!(
        metadata(&mut card, KeyRef(0x9D)).sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
    assert_eq!(
        move_key(&mut card, 0xFF, Slot::KeyManagement),
        StatusWord::REFERENCE_DATA_NOT_FOUND,
        "already empty"
    );
}

#[test]
fn move_and_delete_key_need_the_management_key() {
    let mut card = admin_card();
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    let before = ok(metadata(&mut card, KeyRef(0x9A)));
    card.reset();
    ok(select(&mut card));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_eq!(
        move_key(&mut card, 0x82, Slot::Authentication),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(
        move_key(&mut card, 0xFF, Slot::Authentication),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(ok(metadata(&mut card, KeyRef(0x9A))), before);
    assert_eq!(
        metadata(&mut card, KeyRef(0x82)).sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
}

// ---- SET MANAGEMENT KEY ----

#[test]
fn set_management_key_with_touch_reports_touch_always_in_metadata() {
    let mut card = admin_card();
    let raw = [0x4Du8; 24];
    let key = ManagementKey::new(Algorithm::Aes192, &raw).unwrap();
    assert_eq!(
        set_management_key(&mut card, true, &key),
        StatusWord::SUCCESS
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::MANAGEMENT)),
        [0x01, 0x01, 0x0A, 0x02, 0x02, 0x00, 0x02, 0x05, 0x01, 0x00]
    );

    // The new key (the card touches itself) authenticates after a power cycle; the old one
    // does not.
    card.reset();
    ok(select(&mut card));
    assert_eq!(
        authenticate_with(&mut card, &ManagementKey::factory(Algorithm::Tdes).unwrap()),
        StatusWord::INCORRECT_P1P2
    );
    assert_eq!(authenticate_with(&mut card, &key), StatusWord::SUCCESS);

    // Without touch (P2 FF) the flag goes back to never.
    assert_eq!(
        set_management_key(&mut card, false, &key),
        StatusWord::SUCCESS
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::MANAGEMENT)),
        [0x01, 0x01, 0x0A, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x00]
    );
}

#[test]
fn set_management_key_needs_the_management_key() {
    let mut card = fresh();
    ok(select(&mut card));
    let key = ManagementKey::new(Algorithm::Tdes, &[0x66; 24]).unwrap();
    assert_eq!(
        set_management_key(&mut card, true, &key),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::MANAGEMENT)),
        [0x01, 0x01, 0x03, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x01]
    );
}

// ---- A card without the extensions ----

#[test]
fn card_without_extensions_answers_6d00_to_yubikey_instructions_but_does_piv() {
    let mut card = fresh_with(CardConfig {
        serial: Some(99),
        yubikey_extensions: false,
        ..CardConfig::default()
    });
    ok(select(&mut card));
    assert_eq!(
        authenticate_with(&mut card, &ManagementKey::factory(Algorithm::Tdes).unwrap()),
        StatusWord::SUCCESS
    );
    let public = point(&generate(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
    ));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);

    let import = ImportKeyData {
        key: ImportedKey::Ecc(vec![0x42; 32]),
        pin_policy: None,
        touch_policy: None,
    }
    .encode();
    let mgmt = ManagementKeyData {
        algorithm: 0x03,
        key: DEFAULT_KEY.to_vec(),
    }
    .encode();
    let extension_commands = [
        cmd(Instruction::GetVersion, 0x00, 0x00, vec![]),
        cmd(Instruction::GetSerial, 0x00, 0x00, vec![]),
        cmd(Instruction::GetMetadata, 0x00, 0x80, vec![]),
        cmd(Instruction::Attest, 0x9A, 0x00, vec![]),
        cmd(Instruction::ImportKey, 0x11, 0x9C, import),
        cmd(Instruction::SetManagementKey, 0xFF, 0xFF, mgmt),
        cmd(Instruction::Reset, 0x00, 0x00, vec![]),
        cmd(Instruction::SetPinRetries, 0x05, 0x05, vec![]),
        cmd(Instruction::MoveKey, 0x82, 0x9A, vec![]),
    ];
    let ins: Vec<u8> = extension_commands.iter().map(|c| c.ins).collect();
    assert_eq!(ins, [0xFD, 0xF8, 0xF7, 0xF9, 0xFE, 0xFF, 0xFB, 0xFA, 0xF6]);
    for c in extension_commands {
        let r = send(&mut card, c.clone());
        assert_eq!(
            (r.sw, r.data.len()),
            (StatusWord::INS_NOT_SUPPORTED, 0),
            "INS {:02X}",
            c.ins
        );
    }

    // The standard PIV commands still work, and nothing above had an effect.
    assert_eq!(
        send(&mut card, cmd(Instruction::Verify, 0x00, 0x80, vec![])).sw,
        StatusWord::SUCCESS
    );
    assert_p256_signs(&mut card, Slot::Authentication, &public);
    assert_eq!(
        private_op(&mut card, Slot::Signature, Algorithm::EccP256, &[1; 32]),
        Err(StatusWord::REFERENCE_DATA_NOT_FOUND)
    );
    assert_eq!(
        put_data(
            &mut card,
            ObjectId::CERT_AUTHENTICATION,
            &CertificateObject::new(vec![0x30, 0x00]).encode()
        ),
        StatusWord::SUCCESS
    );
    assert_eq!(
        ok(get_data(&mut card, ObjectId::CERT_AUTHENTICATION))[0],
        0x53
    );
    let ed = point(&generate(&mut card, Slot::Signature, Algorithm::Ed25519));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    let sig = private_op(&mut card, Slot::Signature, Algorithm::Ed25519, b"plain PIV").unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(ed.as_slice().try_into().unwrap()).unwrap();
    vk.verify(
        b"plain PIV",
        &ed25519_dalek::Signature::from_slice(&sig).unwrap(),
    )
    .unwrap();
}

// ---- Cards whose GET METADATA is missing or partial ----

#[test]
fn a_card_without_metadata_answers_6d00_to_get_metadata_only() {
    let mut card = fresh_with(Flavour::MetadataAbsent.config());
    ok(select(&mut card));
    for key in [KeyRef::PIN, KeyRef::PUK, KeyRef::MANAGEMENT, KeyRef(0x9A)] {
        let r = metadata(&mut card, key);
        assert_eq!((r.sw, r.data.len()), (StatusWord::INS_NOT_SUPPORTED, 0));
    }
    // Even malformed: the instruction is unknown before its parameters are judged.
    assert_eq!(
        bare(&mut card, Instruction::GetMetadata, 0x01, 0x00).sw,
        StatusWord::INS_NOT_SUPPORTED
    );
    assert_eq!(
        ok(bare(&mut card, Instruction::GetVersion, 0, 0)),
        [5, 7, 1]
    );
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let public = point(&generate(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
    ));
    assert!(ok(attest(&mut card, Slot::Authentication)).starts_with(&[0x30]));
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    assert_p256_signs(&mut card, Slot::Authentication, &public);
}

#[test]
fn partial_metadata_leaves_out_algorithm_policy_and_public_key() {
    let mut card = fresh_with(Flavour::MetadataPartial.config());
    ok(select(&mut card));
    assert_eq!(
        ok(metadata(&mut card, KeyRef::PIN)),
        [0x05, 0x01, 0x01, 0x06, 0x02, 0x03, 0x03]
    );
    assert_eq!(
        ok(metadata(&mut card, KeyRef::MANAGEMENT)),
        [0x05, 0x01, 0x01]
    );
    assert_eq!(
        metadata(&mut card, KeyRef(0x9A)).sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND,
        "an empty slot is still reported"
    );
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    assert_eq!(
        meta(&mut card, KeyRef(0x9A)),
        Metadata {
            origin: Some(Origin::Generated),
            ..Default::default()
        }
    );
}
