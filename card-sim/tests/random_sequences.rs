//! Random sequences of APDUs: valid commands with random parameters drawn from the PIV
//! vocabulary, chained and unchained, mixed with arbitrary bytes. Whatever arrives, the
//! card answers with a well-formed response and never panics.
//!
//! RSA key generation is left out of the mix (seconds per key in a debug build); RSA keys
//! can still appear through IMPORT KEY with random components.

mod common;

use std::fmt::Debug;

use apdu_spec::apdu::{self, CLA_CHAINING};
use apdu_spec::piv::aid::PIV_AID;
use apdu_spec::piv::command::PutData;
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::object::CertificateObject;
use apdu_spec::piv::templates::{
    DynamicAuth, GenerateRequest, ImportKeyData, ImportedKey, ManagementKeyData,
};
use apdu_spec::piv::{Algorithm, Instruction, KeyRef, ObjectId, Slot};
use apdu_spec::tlv::{self, Tag};
use apdu_spec::{CommandApdu, Response, StatusWord};
use card_sim::Card;
use common::{cmd, fresh, padded};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

/// The serial `common::fresh` gives its cards; nothing a command does may change it.
const SERIAL: u32 = 1_234_567;

/// The SW1 values a response may carry.
const SW1_ALLOWED: [u8; 14] = [
    0x61, 0x62, 0x63, 0x65, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x90,
];

// ---- Strategies ----

fn bytes(max: usize) -> BoxedStrategy<Vec<u8>> {
    vec(any::<u8>(), 0..=max).boxed()
}

/// Mostly one of the `known` values, sometimes anything.
fn mostly<T: Clone + Debug + 'static>(
    known: Vec<T>,
    other: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![4 => select(known), 1 => other].boxed()
}

fn byte_mostly(known: &[u8]) -> BoxedStrategy<u8> {
    mostly(known.to_vec(), any::<u8>())
}

/// A key slot byte: mostly one of a few slots, so that keys generated in them get used.
fn slot_byte() -> BoxedStrategy<u8> {
    prop_oneof![
        4 => select(vec![0x9A, 0x9C, 0x9D, 0x9E, 0x82]),
        1 => select(Slot::all().map(Slot::to_byte).collect::<Vec<_>>()),
        1 => any::<u8>(),
    ]
    .boxed()
}

/// Any key reference: slots, PIN, PUK, management key.
fn key_ref_byte() -> BoxedStrategy<u8> {
    prop_oneof![
        3 => slot_byte(),
        1 => select(vec![KeyRef::PIN.0, KeyRef::PUK.0, KeyRef::MANAGEMENT.0]),
    ]
    .boxed()
}

/// An algorithm byte: mostly those the mix generates keys for.
fn algorithm_byte() -> BoxedStrategy<u8> {
    let all: Vec<u8> = Algorithm::ASYMMETRIC
        .iter()
        .chain(&Algorithm::SYMMETRIC)
        .map(|a| a.to_byte())
        .collect();
    prop_oneof![
        3 => select(vec![0x11, 0x14, 0xE0, 0xE1]),
        2 => select(all),
        1 => any::<u8>(),
    ]
    .boxed()
}

fn is_rsa_byte(b: u8) -> bool {
    Algorithm::from_byte(b).is_some_and(Algorithm::is_rsa)
}

/// What GENERATE is asked for: anything but RSA.
fn generate_algorithm_byte() -> BoxedStrategy<u8> {
    mostly(
        vec![
            Algorithm::EccP256,
            Algorithm::EccP384,
            Algorithm::Ed25519,
            Algorithm::X25519,
        ]
        .into_iter()
        .map(Algorithm::to_byte)
        .collect(),
        any::<u8>().prop_filter("RSA generation is too slow for the mix", |b| {
            !is_rsa_byte(*b)
        }),
    )
}

fn policy_byte() -> BoxedStrategy<Option<u8>> {
    option::of(byte_mostly(&[0, 1, 2, 3, 4, 5])).boxed()
}

fn object_id() -> BoxedStrategy<ObjectId> {
    let usual = vec![
        ObjectId::CHUID,
        ObjectId::DISCOVERY,
        ObjectId::YUBICO_ATTESTATION_CERT,
        ObjectId::CERT_AUTHENTICATION,
        ObjectId::PRINTED_INFORMATION,
    ];
    prop_oneof![
        3 => select(usual),
        3 => select(ObjectId::standard().collect::<Vec<_>>()),
        1 => (0x5F_0000u32..=0x5F_FFFF).prop_map(ObjectId),
        1 => (0u32..=0xFF_FFFF).prop_map(ObjectId),
    ]
    .boxed()
}

/// A PIN or PUK candidate, FF-padded (the defaults, or random).
fn pin_value() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        Just(b"123456".to_vec()),
        Just(b"12345678".to_vec()),
        bytes(8)
    ]
    .prop_map(|v| padded(&v))
    .boxed()
}

/// A public key a host could send for key agreement: a valid P-256 point, or random bytes.
fn peer_key() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        any::<[u8; 32]>().prop_filter_map("not a P-256 scalar", |s| {
            let key = p256::ecdsa::SigningKey::from_slice(&s).ok()?;
            Some(key.verifying_key().to_sec1_point(false).as_bytes().to_vec())
        }),
        vec(any::<u8>(), 32),
        bytes(100),
    ]
    .boxed()
}

/// A field of the dynamic authentication template: absent, a request (empty), or a value.
fn auth_field() -> BoxedStrategy<Option<Vec<u8>>> {
    option::of(prop_oneof![
        2 => Just(Vec::new()),
        1 => vec(any::<u8>(), 8),
        1 => vec(any::<u8>(), 16),
        1 => vec(any::<u8>(), 32),
        1 => bytes(300),
    ])
    .boxed()
}

/// A dynamic authentication template: the usual requests (sign or decrypt `82 00 81 …`,
/// key agreement `82 00 85 …`, management key steps) or any mix of fields.
fn dynamic_auth() -> BoxedStrategy<Vec<u8>> {
    let request = || Some(Vec::new());
    prop_oneof![
        2 => prop_oneof![vec(any::<u8>(), 32), vec(any::<u8>(), 48), bytes(300)]
            .prop_map(move |input| DynamicAuth { response: request(), challenge: Some(input), ..Default::default() }),
        1 => peer_key()
            .prop_map(move |peer| DynamicAuth { response: request(), exponentiation: Some(peer), ..Default::default() }),
        1 => prop_oneof![
            Just(DynamicAuth { witness: request(), ..Default::default() }),
            Just(DynamicAuth { challenge: request(), ..Default::default() }),
        ],
        3 => (auth_field(), auth_field(), auth_field(), option::of(peer_key()))
            .prop_map(|(witness, challenge, response, exponentiation)| DynamicAuth { witness, challenge, response, exponentiation }),
    ]
    .prop_map(|auth| auth.encode())
    .boxed()
}

fn imported_key() -> BoxedStrategy<ImportedKey> {
    let part = || prop_oneof![3 => vec(any::<u8>(), 64), 1 => bytes(70)];
    prop_oneof![
        (part(), part(), part(), part(), part())
            .prop_map(|(p, q, dp, dq, qinv)| ImportedKey::Rsa { p, q, dp, dq, qinv }),
        prop_oneof![vec(any::<u8>(), 32), vec(any::<u8>(), 48), bytes(50)]
            .prop_map(ImportedKey::Ecc),
        prop_oneof![vec(any::<u8>(), 32), bytes(40)].prop_map(ImportedKey::Ed25519),
        prop_oneof![vec(any::<u8>(), 32), bytes(40)].prop_map(ImportedKey::X25519),
    ]
    .boxed()
}

/// The content of a PUT DATA: a certificate object, small or large bytes, or nothing (delete).
fn object_content() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => bytes(64),
        2 => bytes(400).prop_map(|der| CertificateObject::new(der).encode()),
        1 => Just(Vec::new()),
        1 => bytes(3200),
    ]
    .boxed()
}

/// A command of `ins` with parameters drawn from the PIV vocabulary (and now and then not).
fn command(ins: Instruction) -> BoxedStrategy<CommandApdu> {
    let p1p2 = |p1: &[u8], p2: &[u8]| (byte_mostly(p1), byte_mostly(p2));
    let with = move |(p1, p2): (u8, u8), data: Vec<u8>| cmd(ins, p1, p2, data);
    match ins {
        Instruction::Select => (
            p1p2(&[0x04], &[0x00, 0x0C]),
            prop_oneof![3 => (1..=PIV_AID.len()).prop_map(|n| PIV_AID[..n].to_vec()), 1 => bytes(20)],
        )
            .prop_map(move |(p, data)| with(p, data))
            .boxed(),
        Instruction::GetData => (p1p2(&[0x3F], &[0xFF]), object_id(), prop_oneof![4 => Just(None), 1 => bytes(8).prop_map(Some)])
            .prop_map(move |(p, id, junk)| with(p, junk.unwrap_or_else(|| id.tag_list())))
            .boxed(),
        Instruction::PutData => (
            p1p2(&[0x3F], &[0xFF]),
            object_id(),
            mostly(vec![None], (0u32..=0xFF).prop_map(Some)),
            object_content(),
        )
            .prop_map(move |(p, id, tag, content)| {
                let mut data = id.tag_list();
                data.extend_from_slice(&tlv::encode(tag.map_or(id.content_tag(), Tag), &content));
                with(p, data)
            })
            .boxed(),
        Instruction::Verify => (p1p2(&[0x00, 0xFF], &[0x80, 0x81]), option::of(pin_value()))
            .prop_map(move |(p, pin)| with(p, pin.unwrap_or_default()))
            .boxed(),
        Instruction::ChangeReferenceData | Instruction::ResetRetryCounter => (
            p1p2(&[0x00], &[0x80, 0x81]),
            prop_oneof![4 => (pin_value(), pin_value()).prop_map(|(a, b)| [a, b].concat()), 1 => bytes(20)],
        )
            .prop_map(move |(p, data)| with(p, data))
            .boxed(),
        Instruction::GeneralAuthenticate => {
            (algorithm_byte(), key_ref_byte(), prop_oneof![5 => dynamic_auth(), 1 => bytes(40)])
                .prop_map(move |(p1, p2, data)| with((p1, p2), data))
                .boxed()
        }
        Instruction::GenerateAsymmetricKeyPair => (
            byte_mostly(&[0x00]),
            slot_byte(),
            generate_algorithm_byte(),
            policy_byte(),
            policy_byte(),
        )
            .prop_map(move |(p1, p2, algorithm, pin_policy, touch_policy)| {
                with((p1, p2), GenerateRequest { algorithm, pin_policy, touch_policy }.encode())
            })
            .boxed(),
        Instruction::ImportKey => (algorithm_byte(), slot_byte(), imported_key(), policy_byte(), policy_byte())
            .prop_map(move |(p1, p2, key, pin_policy, touch_policy)| {
                with((p1, p2), ImportKeyData { key, pin_policy, touch_policy }.encode())
            })
            .boxed(),
        Instruction::MoveKey => (prop_oneof![Just(0xFF), slot_byte()], slot_byte())
            .prop_map(move |p| with(p, Vec::new()))
            .boxed(),
        Instruction::GetMetadata => (byte_mostly(&[0x00]), key_ref_byte()).prop_map(move |p| with(p, Vec::new())).boxed(),
        Instruction::Attest => (slot_byte(), byte_mostly(&[0x00])).prop_map(move |p| with(p, Vec::new())).boxed(),
        Instruction::SetManagementKey => (
            p1p2(&[0xFF], &[0xFF, 0xFE]),
            mostly(Algorithm::SYMMETRIC.iter().map(|a| a.to_byte()).collect(), any::<u8>()),
            prop_oneof![vec(any::<u8>(), 16), vec(any::<u8>(), 24), vec(any::<u8>(), 32), bytes(40)],
        )
            .prop_map(move |(p, algorithm, key)| with(p, ManagementKeyData { algorithm, key }.encode()))
            .boxed(),
        Instruction::SetPinRetries => (any::<u8>(), any::<u8>()).prop_map(move |p| with(p, Vec::new())).boxed(),
        Instruction::GetVersion | Instruction::GetSerial | Instruction::Reset | Instruction::GetResponse => {
            p1p2(&[0x00], &[0x00]).prop_map(move |p| with(p, Vec::new())).boxed()
        }
    }
}

/// Ne: mostly absent, else anything from 1 to the extended maximum.
fn le() -> BoxedStrategy<Option<usize>> {
    prop_oneof![
        4 => Just(None),
        2 => (1usize..=256).prop_map(Some),
        1 => Just(Some(apdu::EXTENDED_MAX_LE)),
        1 => (1usize..=apdu::EXTENDED_MAX_LE).prop_map(Some),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
enum Step {
    /// A command in one APDU (extended when it must be), or chained in blocks of `block`
    /// bytes with CLA 10 on all but the last.
    Command {
        apdu: CommandApdu,
        block: Option<usize>,
    },
    /// The CLA 10 blocks of a chained command without its last block: the chain stays open.
    OpenChain { apdu: CommandApdu, block: usize },
    /// A header of a known instruction and a body of arbitrary bytes.
    RandomBody { header: [u8; 4], body: Vec<u8> },
    /// Any bytes at all.
    Raw(Vec<u8>),
    /// SELECT, management-key authentication with the factory key, VERIFY 123456.
    Login,
    /// GENERATE in a slot, then private-key operations and ATTEST on that slot with the
    /// key's algorithm (so that keys get used, not only made).
    KeyUse(Vec<CommandApdu>),
}

fn key_use() -> BoxedStrategy<Vec<CommandApdu>> {
    let algorithms = vec![
        Algorithm::EccP256,
        Algorithm::EccP384,
        Algorithm::Ed25519,
        Algorithm::X25519,
    ];
    (
        slot_byte(),
        select(algorithms),
        policy_byte(),
        policy_byte(),
        vec(dynamic_auth(), 1..4),
        any::<bool>(),
    )
        .prop_map(|(slot, alg, pin_policy, touch_policy, auths, attest)| {
            let alg = alg.to_byte();
            let request = GenerateRequest {
                algorithm: alg,
                pin_policy,
                touch_policy,
            };
            let mut commands = vec![cmd(
                Instruction::GenerateAsymmetricKeyPair,
                0x00,
                slot,
                request.encode(),
            )];
            commands.extend(
                auths
                    .into_iter()
                    .map(|auth| cmd(Instruction::GeneralAuthenticate, alg, slot, auth)),
            );
            if attest {
                commands.push(cmd(Instruction::Attest, slot, 0x00, Vec::new()));
            }
            commands
        })
        .boxed()
}

fn valid_command() -> BoxedStrategy<CommandApdu> {
    (
        select(Instruction::ALL.to_vec()).prop_flat_map(command),
        le(),
    )
        .prop_map(|(apdu, le)| CommandApdu { le, ..apdu })
        .boxed()
}

fn step() -> BoxedStrategy<Step> {
    let instruction_byte = select(
        Instruction::ALL
            .iter()
            .map(|i| *i as u8)
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        8 => (valid_command(), option::of(1usize..=255)).prop_map(|(apdu, block)| Step::Command { apdu, block }),
        1 => (valid_command(), 1usize..=64).prop_map(|(apdu, block)| Step::OpenChain { apdu, block }),
        2 => (byte_mostly(&[0x00, CLA_CHAINING]), instruction_byte, any::<[u8; 2]>(), bytes(300))
            .prop_map(|(cla, ins, [p1, p2], body)| Step::RandomBody { header: [cla, ins, p1, p2], body }),
        2 => bytes(300).prop_map(Step::Raw),
        1 => Just(Step::Login),
        2 => key_use().prop_map(Step::KeyUse),
    ]
    .boxed()
}

// ---- Running and checking ----

/// Sends one APDU and checks the answer: at least a status word, an SW1 from the allowed
/// set, data only with 9000 or 61xx, and never more data than the command's Ne.
fn transmit(card: &mut Card, bytes: &[u8]) -> Result<Response, TestCaseError> {
    let answer = card.transmit(bytes);
    prop_assert!(
        answer.len() >= 2,
        "{bytes:02X?} got {answer:02X?}, shorter than a status word"
    );
    let r = Response::parse(&answer).unwrap();
    let sw1 = r.sw.sw1();
    prop_assert!(
        SW1_ALLOWED.contains(&sw1),
        "{bytes:02X?} got status word {}",
        r.sw
    );
    prop_assert!(
        sw1 != 0x90 || r.sw == StatusWord::SUCCESS,
        "{bytes:02X?} got status word {}",
        r.sw
    );
    if r.sw != StatusWord::SUCCESS && sw1 != 0x61 {
        prop_assert!(
            r.data.is_empty(),
            "{bytes:02X?} got data {:02X?} with {}",
            r.data,
            r.sw
        );
    }
    if let Ok(command) = CommandApdu::parse(bytes) {
        let default = if command.extended {
            apdu::EXTENDED_MAX_LE
        } else {
            apdu::SHORT_MAX_LE
        };
        let ne = command.le.unwrap_or(default);
        prop_assert!(
            r.data.len() <= ne,
            "{bytes:02X?} got {} bytes, more than Ne {ne}",
            r.data.len()
        );
    }
    Ok(r)
}

fn send_apdu(card: &mut Card, apdu: &CommandApdu) -> Result<Response, TestCaseError> {
    transmit(card, &apdu.encode().expect("generated APDUs encode"))
}

/// The blocks of a chained command: CLA 10 on all but the last, Le on the last.
fn chain_blocks(apdu: &CommandApdu, block: usize) -> Vec<CommandApdu> {
    let chunks: Vec<&[u8]> = if apdu.data.is_empty() {
        vec![&[]]
    } else {
        apdu.data.chunks(block).collect()
    };
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let last = i + 1 == n;
            CommandApdu {
                cla: if last {
                    apdu.cla
                } else {
                    apdu.cla | CLA_CHAINING
                },
                data: chunk.to_vec().into(),
                le: if last { apdu.le } else { None },
                ..apdu.clone()
            }
        })
        .collect()
}

fn login(card: &mut Card) -> Result<(), TestCaseError> {
    send_apdu(
        card,
        &cmd(Instruction::Select, 0x04, 0x00, PIV_AID.to_vec()),
    )?;
    let key = ManagementKey::factory(card.state().management_key.algorithm())
        .expect("a management key algorithm");
    let alg = key.algorithm().to_byte();
    let step1 = DynamicAuth {
        witness: Some(Vec::new()),
        ..Default::default()
    };
    let r = send_apdu(
        card,
        &cmd(Instruction::GeneralAuthenticate, alg, 0x9B, step1.encode()),
    )?;
    if r.sw == StatusWord::SUCCESS {
        let witness = DynamicAuth::parse(&r.data).ok().and_then(|a| a.witness);
        prop_assert!(
            witness.is_some(),
            "the witness step answers a 7C template with 80: {:02X?}",
            r.data
        );
        if let Some(decrypted) = witness.and_then(|w| key.decrypt(&w)) {
            let step2 = DynamicAuth {
                witness: Some(decrypted),
                challenge: Some(vec![0xA5; key.block_size()]),
                ..Default::default()
            };
            send_apdu(
                card,
                &cmd(Instruction::GeneralAuthenticate, alg, 0x9B, step2.encode()),
            )?;
        }
    }
    send_apdu(
        card,
        &cmd(Instruction::Verify, 0x00, 0x80, padded(b"123456")),
    )?;
    Ok(())
}

fn run(card: &mut Card, steps: &[Step]) -> Result<(), TestCaseError> {
    for step in steps {
        match step {
            Step::Command { apdu, block: None } => {
                send_apdu(card, apdu)?;
            }
            Step::Command {
                apdu,
                block: Some(block),
            } => {
                for part in chain_blocks(apdu, *block) {
                    send_apdu(card, &part)?;
                }
            }
            Step::OpenChain { apdu, block } => {
                let blocks = chain_blocks(apdu, *block);
                for part in &blocks[..blocks.len() - 1] {
                    send_apdu(card, part)?;
                }
            }
            Step::RandomBody { header, body } => {
                transmit(card, &[header.as_slice(), body].concat())?;
            }
            Step::Raw(bytes) => {
                transmit(card, bytes)?;
            }
            Step::Login => login(card)?,
            Step::KeyUse(commands) => {
                for command in commands {
                    send_apdu(card, command)?;
                }
            }
        }
    }
    // Whatever happened, the card still selects and still has its serial.
    let r = send_apdu(
        card,
        &cmd(Instruction::Select, 0x04, 0x00, PIV_AID.to_vec()),
    )?;
    prop_assert_eq!(r.sw, StatusWord::SUCCESS);
    let r = send_apdu(card, &cmd(Instruction::GetSerial, 0x00, 0x00, Vec::new()))?;
    prop_assert_eq!(r.data, SERIAL.to_be_bytes().to_vec());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_on_a_fresh_card_get_well_formed_answers(steps in vec(step(), 1..60)) {
        let mut card = fresh();
        run(&mut card, &steps)?;
    }

    #[test]
    fn random_sequences_after_login_get_well_formed_answers(steps in vec(step(), 1..60)) {
        let mut card = fresh();
        login(&mut card)?;
        prop_assert!(card.pin_verified(), "the login verified the PIN");
        // The management key is authenticated too: an administrative command goes through.
        let put = PutData {
            object: ObjectId::PRINTED_INFORMATION,
            content: b"logged in".to_vec().into(),
        }
        .to_apdu();
        prop_assert_eq!(send_apdu(&mut card, &put)?.sw, StatusWord::SUCCESS);
        run(&mut card, &steps)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_get_well_formed_answers(first in bytes(600), second in bytes(20)) {
        let mut card = fresh();
        transmit(&mut card, &first)?;
        transmit(&mut card, &second)?;
    }
}
