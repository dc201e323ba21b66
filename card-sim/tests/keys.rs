//! Key generation, import, move, and the private-key operations, each checked with the
//! public key the card returned.

mod common;

use apdu_spec::StatusWord;
use apdu_spec::piv::command::GetData;
use apdu_spec::piv::metadata::{Metadata, Origin};
use apdu_spec::piv::templates::{ImportKeyData, ImportedKey, PublicKeyTemplate};
use apdu_spec::piv::{Algorithm, Instruction, KeyRef, PinPolicy, Slot, TouchPolicy};
use common::*;
use p256::elliptic_curve::Generate;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BoxedUint, Pkcs1v15Encrypt, Pkcs1v15Sign};
use sha2::{Digest, Sha256};
use signature::Verifier;
use signature::hazmat::PrehashVerifier;

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn admin_card() -> card_sim::Card {
    let mut card = fresh();
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    card
}

fn point(template: &PublicKeyTemplate) -> Vec<u8> {
    let PublicKeyTemplate::Point(p) = template else {
        panic!("not a point: {template:?}")
    };
    p.clone()
}

#[test]
fn rsa_2048_signature_verifies_with_generated_public_key() {
    let mut card = admin_card();
    let public = rsa_public(&generate(
        &mut card,
        Slot::Authentication,
        Algorithm::Rsa2048,
    ));
    assert_eq!(public.size(), 256);
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    let hash = Sha256::digest(b"message");
    let sig = private_op(
        &mut card,
        Slot::Authentication,
        Algorithm::Rsa2048,
        &pkcs1_sha256_block(&hash, 256),
    )
    .unwrap();
    public
        .verify(Pkcs1v15Sign::new::<Sha256>(), &hash, &sig)
        .unwrap();
    assert!(
        public
            .verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(b"other"),
                &sig
            )
            .is_err()
    );
}

#[test]
fn rsa_decryption_returns_the_padded_block() {
    let mut card = admin_card();
    let public = rsa_public(&generate(
        &mut card,
        Slot::KeyManagement,
        Algorithm::Rsa1024,
    ));
    let ciphertext = public
        .encrypt(&mut rng(), Pkcs1v15Encrypt, b"session key")
        .unwrap();
    assert_eq!(verify_pin(&mut card, b"123456"), StatusWord::SUCCESS);
    let block = private_op(
        &mut card,
        Slot::KeyManagement,
        Algorithm::Rsa1024,
        &ciphertext,
    )
    .unwrap();
    assert_eq!(block.len(), 128);
    assert_eq!(&block[..2], &[0x00, 0x02]);
    assert!(block.ends_with(b"\x00session key"));
}

#[test]
fn rsa_input_must_be_exactly_the_modulus_length() {
    let mut card = admin_card();
    generate(&mut card, Slot::Authentication, Algorithm::Rsa1024);
    verify_pin(&mut card, b"123456");
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::Rsa1024,
            &[1; 127]
        ),
        Err(StatusWord::INCORRECT_DATA)
    );
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::Rsa1024,
            &[0xFF; 128]
        ),
        Err(StatusWord::INCORRECT_DATA)
    );
}

#[test]
fn large_rsa_keys_generate_with_their_sizes() {
    let mut card = admin_card();
    for (alg, bytes) in [(Algorithm::Rsa3072, 384), (Algorithm::Rsa4096, 512)] {
        let public = rsa_public(&generate(&mut card, Slot::retired(1).unwrap(), alg));
        assert_eq!(public.size(), bytes);
        let meta = Metadata::parse(&ok(metadata(&mut card, KeyRef(0x82)))).unwrap();
        assert_eq!(meta.algorithm, Some(alg.to_byte()));
        verify_pin(&mut card, b"123456");
        let hash = Sha256::digest(b"big");
        let sig = private_op(
            &mut card,
            Slot::retired(1).unwrap(),
            alg,
            &pkcs1_sha256_block(&hash, bytes),
        )
        .unwrap();
        public
            .verify(Pkcs1v15Sign::new::<Sha256>(), &hash, &sig)
            .unwrap();
    }
}

#[test]
fn ecdsa_p256_and_p384_signatures_verify() {
    let mut card = admin_card();
    let p256_point = point(&generate(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
    ));
    let p384_point = point(&generate(
        &mut card,
        Slot::KeyManagement,
        Algorithm::EccP384,
    ));
    assert_eq!((p256_point.len(), p384_point[0]), (65, 0x04));
    verify_pin(&mut card, b"123456");

    let hash = Sha256::digest(b"mail");
    let der = private_op(&mut card, Slot::Authentication, Algorithm::EccP256, &hash).unwrap();
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&p256_point).unwrap();
    vk.verify_prehash(&hash, &p256::ecdsa::Signature::from_der(&der).unwrap())
        .unwrap();

    let hash384 = sha2::Sha384::digest(b"mail");
    let der = private_op(&mut card, Slot::KeyManagement, Algorithm::EccP384, &hash384).unwrap();
    let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&p384_point).unwrap();
    vk.verify_prehash(&hash384, &p384::ecdsa::Signature::from_der(&der).unwrap())
        .unwrap();
}

#[test]
fn ecdsa_hash_longer_than_the_field_is_truncated() {
    let mut card = admin_card();
    let pt = point(&generate(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
    ));
    verify_pin(&mut card, b"123456");
    let hash = sha2::Sha512::digest(b"long");
    let der = private_op(&mut card, Slot::Authentication, Algorithm::EccP256, &hash).unwrap();
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&pt).unwrap();
    vk.verify_prehash(
        &hash[..32],
        &p256::ecdsa::Signature::from_der(&der).unwrap(),
    )
    .unwrap();
}

#[test]
fn ed25519_signs_the_whole_message() {
    let mut card = admin_card();
    let pt = point(&generate(&mut card, Slot::Signature, Algorithm::Ed25519));
    verify_pin(&mut card, b"123456");
    let message = vec![0x61; 1000];
    let sig = private_op(&mut card, Slot::Signature, Algorithm::Ed25519, &message).unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pt.try_into().unwrap()).unwrap();
    vk.verify(
        &message,
        &ed25519_dalek::Signature::from_slice(&sig).unwrap(),
    )
    .unwrap();
}

#[test]
fn ecdh_gives_the_same_secret_as_the_host() {
    let mut card = admin_card();
    let card_point = point(&generate(
        &mut card,
        Slot::KeyManagement,
        Algorithm::EccP256,
    ));
    verify_pin(&mut card, b"123456");
    let host = p256::SecretKey::generate_from_rng(&mut rng());
    let host_point = host.public_key().to_sec1_bytes();
    let card_secret = key_agreement(
        &mut card,
        Slot::KeyManagement,
        Algorithm::EccP256,
        &host_point,
    )
    .unwrap();
    let card_public = p256::PublicKey::from_sec1_bytes(&card_point).unwrap();
    let expected = p256::ecdh::diffie_hellman(host.to_nonzero_scalar(), card_public.as_affine());
    assert_eq!(card_secret, expected.raw_secret_bytes().to_vec());
    // A point not on the curve is refused.
    let mut bad = host_point.to_vec();
    bad[10] ^= 1;
    assert_eq!(
        key_agreement(&mut card, Slot::KeyManagement, Algorithm::EccP256, &bad),
        Err(StatusWord::INCORRECT_DATA)
    );
}

#[test]
fn x25519_gives_the_same_secret_as_the_host() {
    let mut card = admin_card();
    let card_point: [u8; 32] = point(&generate(&mut card, Slot::KeyManagement, Algorithm::X25519))
        .try_into()
        .unwrap();
    verify_pin(&mut card, b"123456");
    let host = x25519_dalek::StaticSecret::from([7u8; 32]);
    let host_public = x25519_dalek::PublicKey::from(&host);
    let card_secret = key_agreement(
        &mut card,
        Slot::KeyManagement,
        Algorithm::X25519,
        host_public.as_bytes(),
    )
    .unwrap();
    let expected = host.diffie_hellman(&x25519_dalek::PublicKey::from(card_point));
    assert_eq!(card_secret, expected.as_bytes().to_vec());
    // X25519 keys do not sign.
    assert_eq!(
        private_op(&mut card, Slot::KeyManagement, Algorithm::X25519, &[0; 32]),
        Err(StatusWord::INCORRECT_DATA)
    );
}

#[test]
fn signature_slot_refuses_a_second_signature_after_one_verify() {
    let mut card = admin_card();
    generate(&mut card, Slot::Signature, Algorithm::EccP256);
    assert_eq!(
        private_op(&mut card, Slot::Signature, Algorithm::EccP256, &[1; 32]),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
    verify_pin(&mut card, b"123456");
    private_op(&mut card, Slot::Signature, Algorithm::EccP256, &[1; 32]).unwrap();
    assert_eq!(
        private_op(&mut card, Slot::Signature, Algorithm::EccP256, &[1; 32]),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
    verify_pin(&mut card, b"123456");
    private_op(&mut card, Slot::Signature, Algorithm::EccP256, &[1; 32]).unwrap();
}

#[test]
fn authentication_slot_needs_the_pin_once_and_card_authentication_never() {
    let mut card = admin_card();
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    generate(&mut card, Slot::CardAuthentication, Algorithm::EccP256);
    private_op(
        &mut card,
        Slot::CardAuthentication,
        Algorithm::EccP256,
        &[1; 32],
    )
    .unwrap();
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            &[1; 32]
        ),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
    verify_pin(&mut card, b"123456");
    for _ in 0..3 {
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            &[1; 32],
        )
        .unwrap();
    }
}

#[test]
fn a_keys_own_pin_policy_overrides_the_slot_default() {
    let mut card = admin_card();
    ok(generate_with(
        &mut card,
        Slot::Signature,
        Algorithm::EccP256,
        Some(PinPolicy::Once),
        None,
    ));
    ok(generate_with(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
        Some(PinPolicy::Always),
        None,
    ));
    ok(generate_with(
        &mut card,
        Slot::KeyManagement,
        Algorithm::EccP256,
        Some(PinPolicy::Never),
        None,
    ));
    private_op(&mut card, Slot::KeyManagement, Algorithm::EccP256, &[1; 32]).unwrap();
    verify_pin(&mut card, b"123456");
    private_op(&mut card, Slot::Signature, Algorithm::EccP256, &[1; 32]).unwrap();
    private_op(&mut card, Slot::Signature, Algorithm::EccP256, &[1; 32]).unwrap();
    private_op(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
        &[1; 32],
    )
    .unwrap();
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            &[1; 32]
        ),
        Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
}

#[test]
fn a_card_in_a_program_touches_itself_for_a_key_with_a_touch_policy() {
    let mut card = admin_card();
    ok(generate_with(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
        None,
        Some(TouchPolicy::Always),
    ));
    verify_pin(&mut card, b"123456");
    private_op(
        &mut card,
        Slot::Authentication,
        Algorithm::EccP256,
        &[1; 32],
    )
    .unwrap();
}

#[test]
fn generate_needs_the_management_key() {
    let mut card = fresh();
    assert_eq!(
        generate_with(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            None,
            None
        )
        .sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn generate_rejects_bad_requests() {
    let mut card = admin_card();
    let send_gen = |card: &mut card_sim::Card, p1: u8, p2: u8, data: Vec<u8>| {
        send(
            card,
            cmd(Instruction::GenerateAsymmetricKeyPair, p1, p2, data),
        )
        .sw
    };
    let req = |alg: u8, pin: Option<u8>| {
        apdu_spec::piv::templates::GenerateRequest {
            algorithm: alg,
            pin_policy: pin,
            touch_policy: None,
        }
        .encode()
    };
    assert_eq!(
        send_gen(&mut card, 0, 0x9A, req(0x03, None)),
        StatusWord::INCORRECT_DATA,
        "3DES is not a key pair"
    );
    assert_eq!(
        send_gen(&mut card, 0, 0x9A, req(0x42, None)),
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        send_gen(&mut card, 0, 0x9A, req(0x11, Some(0x09))),
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        send_gen(&mut card, 0, 0x9B, req(0x11, None)),
        StatusWord::INCORRECT_P1P2
    );
    assert_eq!(
        send_gen(&mut card, 0, 0xF9, req(0x11, None)),
        StatusWord::INCORRECT_P1P2
    );
    assert_eq!(
        send_gen(&mut card, 1, 0x9A, req(0x11, None)),
        StatusWord::INCORRECT_P1P2
    );
    assert_eq!(
        send_gen(&mut card, 0, 0x9A, vec![0xAC, 0x00]),
        StatusWord::INCORRECT_DATA
    );
}

#[test]
fn operations_on_empty_slots_wrong_algorithms_and_the_attestation_key_fail() {
    let mut card = admin_card();
    verify_pin(&mut card, b"123456");
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            &[1; 32]
        ),
        Err(StatusWord::REFERENCE_DATA_NOT_FOUND)
    );
    generate(&mut card, Slot::Authentication, Algorithm::EccP256);
    assert_eq!(
        private_op(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP384,
            &[1; 48]
        ),
        Err(StatusWord::INCORRECT_P1P2)
    );
    assert_eq!(
        private_op(&mut card, Slot::Attestation, Algorithm::EccP256, &[1; 32]),
        Err(StatusWord::INCORRECT_P1P2)
    );
}

fn import(card: &mut card_sim::Card, slot: Slot, alg: Algorithm, key: ImportedKey) -> StatusWord {
    let data = ImportKeyData {
        key,
        pin_policy: None,
        touch_policy: None,
    };
    send(
        card,
        cmd(
            Instruction::ImportKey,
            alg.to_byte(),
            slot.to_byte(),
            data.encode(),
        ),
    )
    .sw
}

#[test]
fn imported_rsa_key_signs_like_the_original() {
    let mut card = admin_card();
    let original = rsa::PrivateKey::new(&mut rng(), 1024).unwrap();
    let primes = original.primes();
    let half = |v: &BoxedUint| {
        let b = v.to_be_bytes_trimmed_vartime();
        let mut out = vec![0; 64 - b.len()];
        out.extend_from_slice(&b);
        out
    };
    let key = ImportedKey::Rsa {
        p: half(&primes[0]),
        q: half(&primes[1]),
        dp: half(original.dp().unwrap()),
        dq: half(original.dq().unwrap()),
        qinv: vec![0; 64], // the card derives its own CRT values from p and q
    };
    assert_eq!(
        import(&mut card, Slot::Authentication, Algorithm::Rsa1024, key),
        StatusWord::SUCCESS
    );
    let meta = Metadata::parse(&ok(metadata(&mut card, KeyRef(0x9A)))).unwrap();
    assert_eq!(meta.origin, Some(Origin::Imported));
    verify_pin(&mut card, b"123456");
    let hash = Sha256::digest(b"imported");
    let sig = private_op(
        &mut card,
        Slot::Authentication,
        Algorithm::Rsa1024,
        &pkcs1_sha256_block(&hash, 128),
    )
    .unwrap();
    original
        .to_public_key()
        .verify(Pkcs1v15Sign::new::<Sha256>(), &hash, &sig)
        .unwrap();
}

#[test]
fn imported_ec_ed25519_and_x25519_keys_work() {
    let mut card = admin_card();
    let ec = p256::ecdsa::SigningKey::generate_from_rng(&mut rng());
    assert_eq!(
        import(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            ImportedKey::Ecc(ec.to_bytes().to_vec())
        ),
        StatusWord::SUCCESS
    );
    let ed = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    assert_eq!(
        import(
            &mut card,
            Slot::Signature,
            Algorithm::Ed25519,
            ImportedKey::Ed25519(vec![9; 32])
        ),
        StatusWord::SUCCESS
    );
    assert_eq!(
        import(
            &mut card,
            Slot::KeyManagement,
            Algorithm::X25519,
            ImportedKey::X25519(vec![3; 32])
        ),
        StatusWord::SUCCESS
    );

    let meta = Metadata::parse(&ok(metadata(&mut card, KeyRef(0x9A)))).unwrap();
    let expected =
        PublicKeyTemplate::Point(ec.verifying_key().to_sec1_bytes().to_vec()).encode_content();
    assert_eq!(meta.public_key, Some(expected));

    verify_pin(&mut card, b"123456");
    let sig = private_op(&mut card, Slot::Signature, Algorithm::Ed25519, b"hi").unwrap();
    ed.verifying_key()
        .verify(b"hi", &ed25519_dalek::Signature::from_slice(&sig).unwrap())
        .unwrap();
    let peer = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([5u8; 32]));
    let secret = key_agreement(
        &mut card,
        Slot::KeyManagement,
        Algorithm::X25519,
        peer.as_bytes(),
    )
    .unwrap();
    let ours = x25519_dalek::StaticSecret::from([3u8; 32]).diffie_hellman(&peer);
    assert_eq!(secret, ours.as_bytes().to_vec());
}

#[test]
fn import_refuses_bad_keys_and_needs_the_management_key() {
    let mut card = fresh();
    assert_eq!(
        import(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            ImportedKey::Ecc(vec![1; 32])
        ),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    assert_eq!(
        import(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            ImportedKey::Ecc(vec![0; 32])
        ),
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        import(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            ImportedKey::Ecc(vec![1; 31])
        ),
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        import(
            &mut card,
            Slot::Authentication,
            Algorithm::Ed25519,
            ImportedKey::Ecc(vec![1; 32])
        ),
        StatusWord::INCORRECT_DATA
    );
    let bad_rsa = ImportedKey::Rsa {
        p: vec![4; 64],
        q: vec![6; 64],
        dp: vec![1; 64],
        dq: vec![1; 64],
        qinv: vec![1; 64],
    };
    assert_eq!(
        import(&mut card, Slot::Authentication, Algorithm::Rsa1024, bad_rsa),
        StatusWord::INCORRECT_DATA
    );
}

/// No command reveals a private key: the known secrets of imported keys never appear in
/// any response of a broad sweep of commands.
#[test]
fn no_command_returns_private_key_material() {
    let mut card = admin_card();
    let scalar = [0x5Au8; 32];
    assert_eq!(
        import(
            &mut card,
            Slot::Authentication,
            Algorithm::EccP256,
            ImportedKey::Ecc(scalar.to_vec())
        ),
        StatusWord::SUCCESS
    );
    let seed = [0x3Cu8; 32];
    assert_eq!(
        import(
            &mut card,
            Slot::Signature,
            Algorithm::Ed25519,
            ImportedKey::Ed25519(seed.to_vec())
        ),
        StatusWord::SUCCESS
    );
    generate(&mut card, Slot::KeyManagement, Algorithm::EccP256);
    verify_pin(&mut card, b"123456");
    let mut responses = Vec::new();
    for ins in Instruction::ALL {
        for p2 in [0x00, 0x80, 0x81, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0xF9, 0xFF] {
            for p1 in [0x00, 0x04, 0x11, 0xE0, 0x3F, 0x9A, 0xFF] {
                for data in [
                    vec![],
                    ObjectId::CHUID.tag_list(),
                    vec![0x7C, 0x02, 0x82, 0x00],
                ] {
                    responses.push(send(&mut card, cmd(*ins, p1, p2, data)).data);
                }
            }
        }
    }
    for id in apdu_spec::piv::ObjectId::standard() {
        responses.push(send(&mut card, GetData { object: id }.to_apdu()).data);
    }
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for r in &responses {
        assert!(
            !contains(r, &scalar) && !contains(r, &seed[..16]),
            "a response carried private key bytes"
        );
    }
}

use apdu_spec::piv::ObjectId;

#[test]
fn import_refuses_rsa_factors_that_are_not_prime() {
    let mut card = admin_card();
    // Odd, right-sized, not prime: 0xFF…FF (64 bytes) is divisible by 3.
    let key = ImportedKey::Rsa {
        p: vec![0xFF; 64],
        q: vec![0xFD; 64],
        dp: vec![1; 64],
        dq: vec![1; 64],
        qinv: vec![1; 64],
    };
    assert_eq!(
        import(&mut card, Slot::Authentication, Algorithm::Rsa1024, key),
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(
        metadata(&mut card, KeyRef(0x9A)).sw,
        StatusWord::REFERENCE_DATA_NOT_FOUND
    );
}
