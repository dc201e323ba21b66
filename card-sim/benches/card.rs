//! Throughput of the card core, through `Card::transmit` as a host would drive it:
//! GET DATA, VERIFY, and RSA-2048/3072/4096 and P-256 signatures (keys parsed once at
//! generation).

use apdu_spec::piv::command::{
    AuthKey, GeneralAuthenticate, GenerateAsymmetricKeyPair, GetData, Verify,
};
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::reference_data::PaddedPin;
use apdu_spec::piv::templates::DynamicAuth;
use apdu_spec::piv::{Algorithm, ObjectId, Slot};
use apdu_spec::{CommandApdu, Response, StatusWord};
use card_sim::{Card, CardConfig};
use criterion::{Criterion, criterion_group, criterion_main};

fn transmit(card: &mut Card, apdu: &CommandApdu) -> Response {
    Response::parse(&card.transmit(&apdu.encode().unwrap())).unwrap()
}

/// GENERAL AUTHENTICATE without Le: an extended command gets its whole answer at once.
fn general_authenticate(algorithm: Algorithm, key: AuthKey, template: DynamicAuth) -> CommandApdu {
    CommandApdu {
        le: None,
        ..GeneralAuthenticate::new(algorithm, key, template).to_apdu()
    }
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
        &general_authenticate(Algorithm::Tdes, AuthKey::Management, step1),
    );
    let witness = DynamicAuth::parse(&r.data).unwrap().witness.unwrap();
    let step2 = DynamicAuth {
        witness: key.decrypt(&witness),
        challenge: Some(vec![1; 8]),
        ..Default::default()
    };
    let r = transmit(
        &mut card,
        &general_authenticate(Algorithm::Tdes, AuthKey::Management, step2),
    );
    assert_eq!(r.sw, StatusWord::SUCCESS);
    card
}

fn generate(card: &mut Card, slot: Slot, alg: Algorithm) {
    let generate = GenerateAsymmetricKeyPair {
        slot,
        algorithm: alg,
        pin_policy: None,
        touch_policy: None,
    };
    let r = transmit(card, &generate.to_apdu());
    // An RSA-2048 public key (270 bytes) arrives in two parts: 256 bytes and 61xx.
    assert!(r.sw.is_success() || r.sw.remaining().is_some(), "{}", r.sw);
}

fn bench(c: &mut Criterion) {
    let mut card = authenticated_card();
    generate(&mut card, Slot::Authentication, Algorithm::Rsa2048);
    generate(&mut card, Slot::KeyManagement, Algorithm::EccP256);
    let verify = Verify::Pin(PaddedPin::pad(b"123456")).to_apdu();
    assert_eq!(transmit(&mut card, &verify).sw, StatusWord::SUCCESS);

    let get_chuid = GetData {
        object: ObjectId::CHUID,
    }
    .to_apdu();
    c.bench_function("get_data_chuid", |b| {
        b.iter(|| transmit(&mut card, &get_chuid))
    });
    c.bench_function("verify_pin", |b| b.iter(|| transmit(&mut card, &verify)));

    // RSA signatures of every size the card makes, on an EMSA-PKCS1-v1_5-like block.
    for (alg, slot, answer_len) in [
        (Algorithm::Rsa2048, Slot::Authentication, 264),
        (Algorithm::Rsa3072, Slot::retired(1).unwrap(), 392),
        (Algorithm::Rsa4096, Slot::retired(2).unwrap(), 520),
    ] {
        if slot != Slot::Authentication {
            generate(&mut card, slot, alg);
        }
        let bits = alg.rsa_bits().unwrap();
        let k = bits / 8;
        let mut block = vec![0x00, 0x01];
        block.resize(k - 52, 0xFF);
        block.push(0);
        block.extend_from_slice(&[0x42; 51]);
        let rsa = DynamicAuth {
            response: Some(vec![]),
            challenge: Some(block),
            ..Default::default()
        };
        let rsa_sign = general_authenticate(alg, AuthKey::Slot(slot), rsa);
        c.bench_function(&format!("sign_rsa{bits}"), |b| {
            b.iter(|| {
                let r = transmit(&mut card, &rsa_sign);
                // An extended command gets its whole answer (7C { 82 { signature } }) at once.
                assert_eq!((r.sw, r.data.len()), (StatusWord::SUCCESS, answer_len));
            })
        });
    }

    let ec = DynamicAuth {
        response: Some(vec![]),
        challenge: Some(vec![0x42; 32]),
        ..Default::default()
    };
    let ec_sign = general_authenticate(Algorithm::EccP256, AuthKey::Slot(Slot::KeyManagement), ec);
    c.bench_function("sign_p256", |b| {
        b.iter(|| {
            let r = transmit(&mut card, &ec_sign);
            assert_eq!(r.sw, StatusWord::SUCCESS);
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
