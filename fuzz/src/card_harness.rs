//! The card under fuzzing: a factory-fresh card of one of a few flavours, in memory, either
//! as it comes or logged in (PIN verified and management key authenticated), then fed the
//! input's APDUs.
//!
//! The login is spoken here in apdu-spec's typed commands rather than through the host
//! driver's `PivCard`: linking the host driver would multiply the coverage counters that
//! libFuzzer scans after every run, and the card target must be fast.

use std::sync::OnceLock;

use apdu_spec::piv::command::{AuthKey, GeneralAuthenticate, GenerateAsymmetricKeyPair, Verify};
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::reference_data::PaddedPin;
use apdu_spec::piv::templates::DynamicAuth;
use apdu_spec::piv::{Algorithm, Instruction};
use apdu_spec::{CommandApdu, Response, StatusWord};
use card_sim::{Card, CardConfig, CardState, MemoryStore, MetadataSupport};

use crate::apdu_sequence;

/// The cards the mode byte chooses among: each management key algorithm, each way GET
/// METADATA answers, a plain SP 800-73-4 card, and one whose PIN and PUK block at the
/// first wrong try.
pub const FLAVOURS: usize = 8;

fn config(flavour: usize) -> CardConfig {
    let base = CardConfig {
        serial: Some(0x00C0_FFEE),
        ..CardConfig::default()
    };
    match flavour {
        1 => CardConfig {
            management_algorithm: Algorithm::Aes128,
            ..base
        },
        2 => CardConfig {
            management_algorithm: Algorithm::Aes192,
            ..base
        },
        3 => CardConfig {
            management_algorithm: Algorithm::Aes256,
            ..base
        },
        4 => CardConfig {
            metadata: MetadataSupport::Partial,
            ..base
        },
        5 => CardConfig {
            metadata: MetadataSupport::Absent,
            ..base
        },
        6 => CardConfig {
            yubikey_extensions: false,
            ..base
        },
        7 => CardConfig {
            pin_tries: 1,
            puk_tries: 1,
            ..base
        },
        _ => base,
    }
}

/// One factory-fresh state per flavour, made once: a new card each run is a clone, which
/// costs no key generation and no I/O.
fn fresh_state(flavour: usize) -> CardState {
    static STATES: OnceLock<Vec<CardState>> = OnceLock::new();
    STATES.get_or_init(|| {
        (0..FLAVOURS)
            .map(|f| CardState::factory_new(&config(f)).expect("a factory-fresh card"))
            .collect()
    })[flavour % FLAVOURS]
        .clone()
}

/// Sends the APDUs of `input` (see [`apdu_sequence`]) to a new card.
pub fn run(input: &[u8]) {
    let Some((mode, apdus)) = apdu_sequence::split(input) else {
        return;
    };
    let mut card = Card::new(fresh_state(mode.flavour()), MemoryStore);
    if mode.authenticated() {
        log_in(&mut card);
    }
    let mut rsa_filter = RsaGeneration::default();
    for apdu in apdus {
        if rsa_filter.would_generate(apdu) {
            continue;
        }
        let response = card.transmit(apdu);
        assert!(
            Response::parse(&response).is_some(),
            "every response ends with a status word"
        );
    }
}

fn exchange(card: &mut Card, cmd: &CommandApdu) -> Response {
    let bytes = cmd.encode().expect("a command the harness built encodes");
    Response::parse(&card.transmit(&bytes)).expect("a response with a status word")
}

/// Verifies the factory PIN and authenticates with the factory management key (mutual
/// authentication: witness, then challenge); a card that refuses either is a failure.
fn log_in(card: &mut Card) {
    let verify = Verify::Pin(PaddedPin::pad(b"123456")).to_apdu();
    assert_eq!(
        exchange(card, &verify).sw,
        StatusWord::SUCCESS,
        "the factory PIN"
    );

    let key = ManagementKey::factory(card.state().management_key.algorithm())
        .expect("a management key algorithm");
    let step = |template| {
        GeneralAuthenticate::new(key.algorithm(), AuthKey::Management, template).to_apdu()
    };
    let witness_request = DynamicAuth {
        witness: Some(Vec::new()),
        ..DynamicAuth::default()
    };
    let r = exchange(card, &step(witness_request));
    let witness = DynamicAuth::parse(&r.data)
        .ok()
        .and_then(|d| d.witness)
        .and_then(|w| key.decrypt(&w))
        .expect("a witness of the key's block size");
    let challenge = vec![0x5A; key.block_size()];
    let answer = DynamicAuth {
        witness: Some(witness),
        challenge: Some(challenge.clone()),
        ..DynamicAuth::default()
    };
    let r = exchange(card, &step(answer));
    assert_eq!(r.sw, StatusWord::SUCCESS, "the factory management key");
    let response = DynamicAuth::parse(&r.data).ok().and_then(|d| d.response);
    assert_eq!(
        response,
        key.encrypt(&challenge),
        "the card proves it holds the key"
    );
}

/// Recognises the commands that would generate an RSA key, which the card target leaves
/// out: RSA key generation takes a tenth of a second (2048 bits) to seconds (4096), so a
/// fuzzer that found it would spend nearly all its time there. Everything else about RSA
/// keys (imports, signing, decrypting, attestation) is still sent.
///
/// The card gathers a chained command from consecutive blocks with the same header; what it
/// finally parses is the data of some run of the latest GENERATE blocks. This keeps all of
/// them since the last other command and tries every such run, so no way of splitting or
/// interrupting a chain slips an RSA generation through.
#[derive(Default)]
struct RsaGeneration {
    chained_blocks: Vec<Vec<u8>>,
}

impl RsaGeneration {
    fn would_generate(&mut self, apdu: &[u8]) -> bool {
        let Ok(cmd) = CommandApdu::parse(apdu) else {
            return false;
        };
        let generate = Instruction::GenerateAsymmetricKeyPair as u8;
        if cmd.ins == Instruction::GetResponse as u8 && !cmd.is_chained() {
            // GET RESPONSE leaves a chain in progress alone.
            return false;
        }
        if cmd.ins != generate {
            self.chained_blocks.clear();
            return false;
        }
        if cmd.is_chained() {
            self.chained_blocks.push(cmd.data.to_vec());
            return false;
        }
        let blocks = std::mem::take(&mut self.chained_blocks);
        (0..=blocks.len()).any(|start| {
            let mut data = blocks[start..].concat();
            data.extend_from_slice(&cmd.data);
            let whole = CommandApdu {
                data: data.into(),
                ..cmd.clone()
            };
            GenerateAsymmetricKeyPair::parse(&whole).is_ok_and(|g| g.algorithm.is_rsa())
        })
    }
}

#[cfg(test)]
mod tests {
    use apdu_spec::apdu::CLA_CHAINING;
    use apdu_spec::piv::Slot;

    use super::*;

    fn generate(algorithm: Algorithm) -> CommandApdu {
        GenerateAsymmetricKeyPair {
            slot: Slot::Authentication,
            algorithm,
            pin_policy: None,
            touch_policy: None,
        }
        .to_apdu()
    }

    #[test]
    fn rsa_generation_is_held_back_whole_or_chained() {
        let mut filter = RsaGeneration::default();
        let rsa = generate(Algorithm::Rsa2048);
        assert!(filter.would_generate(&rsa.encode().unwrap()));
        assert!(!filter.would_generate(&generate(Algorithm::EccP256).encode().unwrap()));

        // Split after two bytes, with an abandoned block and a GET RESPONSE before.
        let block = |cla, data: &[u8]| {
            CommandApdu {
                cla,
                data: data.to_vec().into(),
                le: None,
                ..rsa.clone()
            }
            .encode()
            .unwrap()
        };
        assert!(!filter.would_generate(&block(CLA_CHAINING, b"junk")));
        assert!(!filter.would_generate(&block(CLA_CHAINING, &rsa.data[..2])));
        assert!(!filter.would_generate(&[0x00, 0xC0, 0x00, 0x00, 0x00]));
        assert!(filter.would_generate(&block(0, &rsa.data[2..])));
    }

    #[test]
    fn every_flavour_logs_in_and_answers() {
        for flavour in 0..FLAVOURS as u8 {
            let select = apdu_spec::piv::command::Select::piv().to_apdu();
            let input = apdu_sequence::join(
                apdu_sequence::Mode(flavour << 1 | 1),
                &[select.encode().unwrap(), vec![0xFF]],
            );
            run(&input);
        }
    }
}
