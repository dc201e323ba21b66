//! Management-key authentication (GENERAL AUTHENTICATE, key 9B) for every algorithm, and
//! SET MANAGEMENT KEY.

mod common;

use apdu_spec::StatusWord;
use apdu_spec::piv::command::SetManagementKey;
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::templates::{DynamicAuth, ManagementKeyData};
use apdu_spec::piv::{Algorithm, Instruction};
use card_sim::CardConfig;
use common::*;

fn card_with(alg: Algorithm) -> card_sim::Card {
    fresh_with(CardConfig {
        management_algorithm: alg,
        ..Default::default()
    })
}

fn auth(card: &mut card_sim::Card, alg: Algorithm, req: DynamicAuth) -> apdu_spec::Response {
    send(
        card,
        cmd(
            Instruction::GeneralAuthenticate,
            alg.to_byte(),
            0x9B,
            req.encode(),
        ),
    )
}

fn single_challenge(card: &mut card_sim::Card, alg: Algorithm) -> Vec<u8> {
    let r = auth(
        card,
        alg,
        DynamicAuth {
            challenge: Some(vec![]),
            ..Default::default()
        },
    );
    DynamicAuth::parse(&ok(r)).unwrap().challenge.unwrap()
}

/// Answers a single-authentication challenge with `key`'s encryption of it.
fn answer_challenge(
    card: &mut card_sim::Card,
    key: &ManagementKey,
    challenge: &[u8],
) -> StatusWord {
    let answer = DynamicAuth {
        response: Some(key.encrypt(challenge).unwrap()),
        ..Default::default()
    };
    auth(card, key.algorithm(), answer).sw
}

#[test]
fn mutual_and_single_authentication_work_for_every_algorithm() {
    for alg in Algorithm::SYMMETRIC {
        let mut card = card_with(alg);
        let key = ManagementKey::factory(alg).unwrap();
        assert_eq!(
            authenticate_with(&mut card, &key),
            StatusWord::SUCCESS,
            "{alg} mutual"
        );

        let mut card = card_with(alg);
        let challenge = single_challenge(&mut card, alg);
        assert_eq!(challenge.len(), key.block_size());
        assert_eq!(
            answer_challenge(&mut card, &key, &challenge),
            StatusWord::SUCCESS,
            "{alg} single"
        );
    }
}

#[test]
fn a_wrong_management_key_is_refused_for_every_algorithm() {
    for alg in Algorithm::SYMMETRIC {
        let mut card = card_with(alg);
        let wrong = ManagementKey::new(alg, &vec![0x11; alg.symmetric_key_len().unwrap()]).unwrap();
        assert_eq!(
            authenticate_with(&mut card, &wrong),
            StatusWord::SECURITY_STATUS_NOT_SATISFIED,
            "{alg} mutual"
        );
        let challenge = single_challenge(&mut card, alg);
        assert_eq!(
            answer_challenge(&mut card, &wrong, &challenge),
            StatusWord::SECURITY_STATUS_NOT_SATISFIED,
            "{alg} single"
        );
        assert_eq!(
            generate_with(
                &mut card,
                apdu_spec::piv::Slot::Authentication,
                Algorithm::EccP256,
                None,
                None
            )
            .sw,
            StatusWord::SECURITY_STATUS_NOT_SATISFIED
        );
    }
}

#[test]
fn a_used_challenge_is_refused() {
    let alg = Algorithm::Tdes;
    let key = ManagementKey::factory(alg).unwrap();
    let mut card = card_with(alg);
    let challenge = single_challenge(&mut card, alg);
    let answer = DynamicAuth {
        response: Some(key.encrypt(&challenge).unwrap()),
        ..Default::default()
    };
    assert_eq!(auth(&mut card, alg, answer.clone()).sw, StatusWord::SUCCESS);
    assert_eq!(
        auth(&mut card, alg, answer).sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED,
        "replayed answer"
    );

    // The mutual witness is single use too.
    let r = auth(
        &mut card,
        alg,
        DynamicAuth {
            witness: Some(vec![]),
            ..Default::default()
        },
    );
    let witness = key
        .decrypt(&DynamicAuth::parse(&ok(r)).unwrap().witness.unwrap())
        .unwrap();
    let step2 = DynamicAuth {
        witness: Some(witness),
        challenge: Some(vec![1; 8]),
        ..Default::default()
    };
    assert_eq!(auth(&mut card, alg, step2.clone()).sw, StatusWord::SUCCESS);
    assert_eq!(
        auth(&mut card, alg, step2).sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn reselect_drops_a_pending_challenge() {
    let alg = Algorithm::Aes192;
    let key = ManagementKey::factory(alg).unwrap();
    let mut card = card_with(alg);
    let challenge = single_challenge(&mut card, alg);
    ok(select(&mut card));
    assert_eq!(
        answer_challenge(&mut card, &key, &challenge),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn the_algorithm_must_match_the_key() {
    let mut card = card_with(Algorithm::Aes128);
    let r = auth(
        &mut card,
        Algorithm::Tdes,
        DynamicAuth {
            witness: Some(vec![]),
            ..Default::default()
        },
    );
    assert_eq!(r.sw, StatusWord::INCORRECT_P1P2);
    let r = send(
        &mut card,
        cmd(
            Instruction::GeneralAuthenticate,
            0x08,
            0x9B,
            vec![0x7C, 0x00],
        ),
    );
    assert_eq!(r.sw, StatusWord::INCORRECT_DATA);
}

#[test]
fn a_request_in_another_algorithm_is_refused_before_it_changes_anything() {
    // Where metadata does not tell, clients find the key's algorithm by asking for a
    // witness in each: a wrong guess must cost nothing and undo nothing.
    let alg = Algorithm::Tdes;
    let key = ManagementKey::factory(alg).unwrap();
    let mut card = card_with(alg);
    assert_eq!(authenticate_with(&mut card, &key), StatusWord::SUCCESS);
    let challenge = single_challenge(&mut card, alg);
    for other in [Algorithm::Aes128, Algorithm::Aes192, Algorithm::Aes256] {
        let witness_request = DynamicAuth {
            witness: Some(vec![]),
            ..Default::default()
        };
        let r = auth(&mut card, other, witness_request);
        assert_eq!(
            (r.sw, r.data.len()),
            (StatusWord::INCORRECT_P1P2, 0),
            "{other}"
        );
    }
    // Still authenticated: generating needs the management key.
    generate(
        &mut card,
        apdu_spec::piv::Slot::Authentication,
        Algorithm::EccP256,
    );
    assert_eq!(
        answer_challenge(&mut card, &key, &challenge),
        StatusWord::SUCCESS,
        "the pending challenge survives"
    );
}

#[test]
fn set_management_key_replaces_the_key_and_its_algorithm() {
    let mut card = fresh();
    let new = ManagementKey::new(Algorithm::Aes256, &[0x42; 32]).unwrap();
    let set = SetManagementKey { key: new.clone() }.to_apdu();
    assert_eq!(
        send(&mut card, set.clone()).sw,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(authenticate(&mut card), StatusWord::SUCCESS);
    let bad = ManagementKeyData {
        algorithm: Algorithm::Aes256.to_byte(),
        key: vec![0x42; 24],
    }
    .encode();
    assert_eq!(
        send(&mut card, set.clone().with_data(bad)).sw,
        StatusWord::INCORRECT_DATA
    );
    assert_eq!(send(&mut card, set).sw, StatusWord::SUCCESS);
    card.reset();
    assert_eq!(
        authenticate_with(&mut card, &ManagementKey::factory(Algorithm::Tdes).unwrap()),
        StatusWord::INCORRECT_P1P2
    );
    assert_eq!(
        authenticate_with(
            &mut card,
            &ManagementKey::factory(Algorithm::Aes256).unwrap()
        ),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(authenticate_with(&mut card, &new), StatusWord::SUCCESS);
}
