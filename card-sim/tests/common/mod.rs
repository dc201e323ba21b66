//! A minimal host for driving the card in tests: chaining, GET RESPONSE, and the usual
//! PIV steps, built on apdu-spec's encoders.
#![allow(dead_code)]

use apdu_spec::apdu::CLA_CHAINING;
use apdu_spec::piv::command::{
    AuthKey, ChangeReferenceData, GeneralAuthenticate, GenerateAsymmetricKeyPair, GetData,
    GetMetadata, GetResponse, PutData, Select, Verify,
};
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::reference_data::{Credential, PaddedPin};
use apdu_spec::piv::templates::{DynamicAuth, PublicKeyTemplate};
use apdu_spec::piv::{Algorithm, Instruction, KeyRef, ObjectId, PinPolicy, Slot, TouchPolicy};
use apdu_spec::{CommandApdu, Response, StatusWord};
use card_sim::{Card, CardConfig};
use rsa::BoxedUint;

pub fn fresh() -> Card {
    Card::in_memory(&CardConfig {
        serial: Some(1234567),
        ..CardConfig::default()
    })
    .unwrap()
}

pub fn fresh_with(config: CardConfig) -> Card {
    Card::in_memory(&config).unwrap()
}

/// What answers command APDUs: the card in this process, or one behind a link to it.
pub trait Reader {
    fn transmit(&mut self, command: &[u8]) -> Vec<u8>;
}

impl Reader for Card {
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        Card::transmit(self, command)
    }
}

pub fn cmd(ins: Instruction, p1: u8, p2: u8, data: Vec<u8>) -> CommandApdu {
    CommandApdu::new(0x00, ins as u8, p1, p2).with_data(data)
}

/// One exchange, no chaining or GET RESPONSE.
pub fn exchange(card: &mut impl Reader, apdu: &CommandApdu) -> Response {
    Response::parse(&card.transmit(&apdu.encode().unwrap())).expect("a response has a status word")
}

/// Sends like a host does: command chaining in 255-byte blocks, then GET RESPONSE while
/// the card says 61xx.
pub fn send(card: &mut impl Reader, apdu: CommandApdu) -> Response {
    let blocks: Vec<&[u8]> = if apdu.data.is_empty() {
        vec![&[]]
    } else {
        apdu.data.chunks(255).collect()
    };
    let mut response = None;
    for (i, block) in blocks.iter().enumerate() {
        let last = i + 1 == blocks.len();
        let cla = if last {
            apdu.cla
        } else {
            apdu.cla | CLA_CHAINING
        };
        let part = CommandApdu {
            cla,
            data: block.to_vec().into(),
            le: if last { apdu.le } else { None },
            ..apdu.clone()
        };
        let r = exchange(card, &part);
        if !last {
            assert_eq!(r.sw, StatusWord::SUCCESS, "middle block of a chain");
        }
        response = Some(r);
    }
    let mut r = response.unwrap();
    let mut data = std::mem::take(&mut r.data);
    while r.sw.remaining().is_some() {
        r = exchange(card, &GetResponse { length: 256 }.to_apdu());
        data.extend_from_slice(&r.data);
    }
    Response::new(data, r.sw)
}

pub fn ok(r: Response) -> Vec<u8> {
    assert_eq!(r.sw, StatusWord::SUCCESS, "expected 9000, got {}", r.sw);
    r.data
}

pub fn select(card: &mut impl Reader) -> Response {
    send(card, Select::piv().to_apdu())
}

pub fn padded(pin: &[u8]) -> Vec<u8> {
    let mut v = pin.to_vec();
    v.resize(8, 0xFF);
    v
}

pub fn verify_pin(card: &mut impl Reader, pin: &[u8]) -> StatusWord {
    send(card, Verify::Pin(PaddedPin::pad(pin)).to_apdu()).sw
}

/// Mutual authentication with `key`; returns the final status.
pub fn authenticate_with(card: &mut impl Reader, key: &ManagementKey) -> StatusWord {
    let step = |template| {
        GeneralAuthenticate::new(key.algorithm(), AuthKey::Management, template).to_apdu()
    };
    let step1 = DynamicAuth {
        witness: Some(vec![]),
        ..Default::default()
    };
    let r = send(card, step(step1));
    if r.sw != StatusWord::SUCCESS {
        return r.sw;
    }
    let witness = DynamicAuth::parse(&r.data).unwrap().witness.unwrap();
    let challenge = vec![0x5A; key.block_size()];
    let step2 = DynamicAuth {
        witness: Some(key.decrypt(&witness).unwrap()),
        challenge: Some(challenge.clone()),
        ..Default::default()
    };
    let r = send(card, step(step2));
    if r.sw == StatusWord::SUCCESS {
        let answer = DynamicAuth::parse(&r.data).unwrap().response.unwrap();
        assert_eq!(
            answer,
            key.encrypt(&challenge).unwrap(),
            "the card proves it holds the key"
        );
    }
    r.sw
}

pub fn authenticate(card: &mut Card) -> StatusWord {
    let alg = card.state().management_key.algorithm();
    authenticate_with(card, &ManagementKey::factory(alg).unwrap())
}

pub fn generate_with(
    card: &mut Card,
    slot: Slot,
    alg: Algorithm,
    pin: Option<PinPolicy>,
    touch: Option<TouchPolicy>,
) -> Response {
    let generate = GenerateAsymmetricKeyPair {
        slot,
        algorithm: alg,
        pin_policy: pin,
        touch_policy: touch,
    };
    send(card, generate.to_apdu())
}

pub fn generate(card: &mut Card, slot: Slot, alg: Algorithm) -> PublicKeyTemplate {
    PublicKeyTemplate::parse(&ok(generate_with(card, slot, alg, None, None))).unwrap()
}

/// GENERAL AUTHENTICATE with `request`; the 82 value on success.
fn general_authenticate(
    card: &mut impl Reader,
    slot: Slot,
    alg: Algorithm,
    request: DynamicAuth,
) -> Result<Vec<u8>, StatusWord> {
    let r = send(
        card,
        GeneralAuthenticate::new(alg, AuthKey::Slot(slot), request).to_apdu(),
    );
    if r.sw != StatusWord::SUCCESS {
        return Err(r.sw);
    }
    Ok(DynamicAuth::parse(&r.data).unwrap().response.unwrap())
}

/// GENERAL AUTHENTICATE with `81 <input>` (sign or decrypt).
pub fn private_op(
    card: &mut impl Reader,
    slot: Slot,
    alg: Algorithm,
    input: &[u8],
) -> Result<Vec<u8>, StatusWord> {
    let request = DynamicAuth {
        response: Some(vec![]),
        challenge: Some(input.to_vec()),
        ..Default::default()
    };
    general_authenticate(card, slot, alg, request)
}

/// GENERAL AUTHENTICATE with `85 <peer>` (key agreement).
pub fn key_agreement(
    card: &mut Card,
    slot: Slot,
    alg: Algorithm,
    peer: &[u8],
) -> Result<Vec<u8>, StatusWord> {
    let request = DynamicAuth {
        response: Some(vec![]),
        exponentiation: Some(peer.to_vec()),
        ..Default::default()
    };
    general_authenticate(card, slot, alg, request)
}

pub fn metadata(card: &mut Card, key: KeyRef) -> Response {
    send(card, GetMetadata { key }.to_apdu())
}

/// GET DATA of one object; the whole TLV (`53 L …`) on success.
pub fn get_data(card: &mut impl Reader, object: ObjectId) -> Response {
    send(card, GetData { object }.to_apdu())
}

/// PUT DATA of one object: `content` goes inside the object's content tag (53).
pub fn put_data(card: &mut impl Reader, object: ObjectId, content: &[u8]) -> StatusWord {
    let put = PutData {
        object,
        content: content.to_vec().into(),
    };
    send(card, put.to_apdu()).sw
}

/// CHANGE REFERENCE DATA of the PIN or PUK: old and new, each FF-padded to 8.
pub fn change_reference(
    card: &mut impl Reader,
    credential: Credential,
    old: &[u8],
    new: &[u8],
) -> StatusWord {
    let change = ChangeReferenceData {
        credential,
        current: PaddedPin::pad(old),
        new: PaddedPin::pad(new),
    };
    send(card, change.to_apdu()).sw
}

/// The RSA public key of a public key template.
pub fn rsa_public(template: &PublicKeyTemplate) -> rsa::PublicKey {
    let PublicKeyTemplate::Rsa { modulus, exponent } = template else {
        panic!("not an RSA key: {template:?}")
    };
    rsa::PublicKey::new(
        BoxedUint::from_be_slice_vartime(modulus),
        BoxedUint::from_be_slice_vartime(exponent),
    )
    .unwrap()
}

/// EMSA-PKCS1-v1_5 for SHA-256, built on the host as PIV requires.
pub fn pkcs1_sha256_block(hash: &[u8], k: usize) -> Vec<u8> {
    const PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let t_len = PREFIX.len() + hash.len();
    let mut block = vec![0x00, 0x01];
    block.resize(k - t_len - 1, 0xFF);
    block.push(0x00);
    block.extend_from_slice(&PREFIX);
    block.extend_from_slice(hash);
    block
}
