//! Throughput of the card core, through `Card::transmit` as a host would drive it:
//! GET DATA, VERIFY, and RSA-2048 and P-256 signatures (keys parsed once at generation).

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::templates::{DynamicAuth, GenerateRequest};
use apdu_spec::piv::{Algorithm, Instruction, ObjectId, Slot};
use apdu_spec::{CommandApdu, Response, StatusWord};
use card_sim::{Card, CardConfig};
use criterion::{Criterion, criterion_group, criterion_main};

fn transmit(card: &mut Card, apdu: &CommandApdu) -> Response {
    Response::parse(&card.transmit(&apdu.encode().unwrap())).unwrap()
}

fn apdu(ins: Instruction, p1: u8, p2: u8, data: Vec<u8>) -> CommandApdu {
    CommandApdu::new(0, ins as u8, p1, p2).with_data(data)
}

fn authenticated_card() -> Card {
    let mut card = Card::in_memory(&CardConfig::default()).unwrap();
    let key = ManagementKey::factory(Algorithm::Tdes).unwrap();
    let step1 = DynamicAuth {
        witness: Some(vec![]),
        ..Default::default()
    };
    let r = transmit(
        &mut card,
        &apdu(Instruction::GeneralAuthenticate, 0x03, 0x9B, step1.encode()),
    );
    let witness = DynamicAuth::parse(&r.data).unwrap().witness.unwrap();
    let step2 = DynamicAuth {
        witness: key.decrypt(&witness),
        challenge: Some(vec![1; 8]),
        ..Default::default()
    };
    let r = transmit(
        &mut card,
        &apdu(Instruction::GeneralAuthenticate, 0x03, 0x9B, step2.encode()),
    );
    assert_eq!(r.sw, StatusWord::SUCCESS);
    card
}

fn generate(card: &mut Card, slot: Slot, alg: Algorithm) {
    let req = GenerateRequest {
        algorithm: alg.to_byte(),
        pin_policy: None,
        touch_policy: None,
    };
    let r = transmit(
        card,
        &apdu(
            Instruction::GenerateAsymmetricKeyPair,
            0,
            slot.to_byte(),
            req.encode(),
        ),
    );
    // An RSA-2048 public key (270 bytes) arrives in two parts: 256 bytes and 61xx.
    assert!(r.sw.is_success() || r.sw.remaining().is_some(), "{}", r.sw);
}

fn pin() -> Vec<u8> {
    b"123456\xFF\xFF".to_vec()
}

fn bench(c: &mut Criterion) {
    let mut card = authenticated_card();
    generate(&mut card, Slot::Authentication, Algorithm::Rsa2048);
    generate(&mut card, Slot::KeyManagement, Algorithm::EccP256);
    let verify = apdu(Instruction::Verify, 0, 0x80, pin());
    assert_eq!(transmit(&mut card, &verify).sw, StatusWord::SUCCESS);

    let get_chuid = apdu(Instruction::GetData, 0x3F, 0xFF, ObjectId::CHUID.tag_list());
    c.bench_function("get_data_chuid", |b| {
        b.iter(|| transmit(&mut card, &get_chuid))
    });
    c.bench_function("verify_pin", |b| b.iter(|| transmit(&mut card, &verify)));

    let mut block = vec![0x00, 0x01];
    block.resize(256 - 52, 0xFF);
    block.push(0);
    block.extend_from_slice(&[0x42; 51]);
    let rsa = DynamicAuth {
        response: Some(vec![]),
        challenge: Some(block),
        ..Default::default()
    };
    let rsa_sign = apdu(
        Instruction::GeneralAuthenticate,
        Algorithm::Rsa2048.to_byte(),
        0x9A,
        rsa.encode(),
    );
    c.bench_function("sign_rsa2048", |b| {
        b.iter(|| {
            let r = transmit(&mut card, &rsa_sign);
            // An extended command gets its 264-byte answer in one response.
            assert_eq!((r.sw, r.data.len()), (StatusWord::SUCCESS, 264));
        })
    });

    let ec = DynamicAuth {
        response: Some(vec![]),
        challenge: Some(vec![0x42; 32]),
        ..Default::default()
    };
    let ec_sign = apdu(
        Instruction::GeneralAuthenticate,
        Algorithm::EccP256.to_byte(),
        0x9D,
        ec.encode(),
    );
    c.bench_function("sign_p256", |b| {
        b.iter(|| {
            let r = transmit(&mut card, &ec_sign);
            assert_eq!(r.sw, StatusWord::SUCCESS);
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
