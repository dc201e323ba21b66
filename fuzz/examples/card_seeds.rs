//! Writes the seed corpora of the card, APDU and TLV targets to `seeds/`: what the host
//! driver really sends for each thing a user does with a card, recorded on an in-process
//! card. `seeds/card/` gets each step's APDUs as one input of the form `apdu_sequence`
//! reads, `seeds/apdu/` every command APDU and `seeds/tlv/` every response's data. Run by
//! `seeds.sh`.
//!
//! Steps that need a login are recorded after it and written in the authenticated mode:
//! a recorded management-key authentication answers a random challenge and would not hold
//! when replayed.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::templates::ImportedKey;
use apdu_spec::piv::{Algorithm, ObjectId, PinPolicy, Slot, TouchPolicy};
use card_sim::{Card, CardConfig};
use host_driver::error::Error;
use host_driver::transport::{Link, Transport, TransportError};
use host_driver::{InProcess, PivCard, Secret, SignatureScheme};
use rsa::BoxedUint;
use rsa::traits::PrivateKeyParts;
use smime_card_fuzz::apdu_sequence::{self, Mode};

/// The command APDUs sent, and the data of the responses.
#[derive(Default)]
struct Recording {
    commands: Vec<Vec<u8>>,
    responses: Vec<Vec<u8>>,
}

type Apdus = Rc<RefCell<Recording>>;

/// An in-process card that keeps a copy of every command APDU sent to it.
struct Recorder {
    card: InProcess,
    apdus: Apdus,
}

struct RecordingLink<'a> {
    link: &'a mut dyn Link,
    apdus: Apdus,
}

impl Link for RecordingLink<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let response = self.link.transmit(apdu)?;
        let mut recording = self.apdus.borrow_mut();
        recording.commands.push(apdu.to_vec());
        recording
            .responses
            .push(response[..response.len() - 2].to_vec());
        Ok(response)
    }
}

impl Transport for Recorder {
    fn name(&self) -> String {
        self.card.name()
    }

    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }

    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Link) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let apdus = self.apdus.clone();
        self.card.transaction(&mut |link| {
            work(&mut RecordingLink {
                link,
                apdus: apdus.clone(),
            })
        })
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.card.reset()
    }

    fn reset_when_closed(&mut self, reset: bool) {
        self.card.reset_when_closed(reset)
    }
}

type Step = fn(&mut PivCard<Recorder>) -> host_driver::Result<()>;

fn pin() -> Secret {
    Secret::new("123456").unwrap()
}

/// Records `step` on a fresh card, logged in first when `authenticated`: the APDUs of the
/// step alone.
fn record(authenticated: bool, step: Step) -> Recording {
    let apdus = Apdus::default();
    let card = Card::in_memory(&CardConfig::default()).unwrap();
    let recorder = Recorder {
        card: InProcess::new(card, "recorder"),
        apdus: apdus.clone(),
    };
    let mut piv = PivCard::open(recorder).unwrap();
    if authenticated {
        piv.verify_pin(&pin()).unwrap();
        piv.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
            .unwrap();
    }
    apdus.take();
    step(&mut piv).unwrap();
    apdus.take()
}

fn rsa_1024() -> ImportedKey {
    let rng = &mut rand_core::UnwrapErr(getrandom::SysRng);
    let key = rsa::PrivateKey::new(rng, 1024).unwrap();
    let half = |v: &BoxedUint| {
        let b = v.to_be_bytes_trimmed_vartime();
        let mut out = vec![0; 64 - b.len()];
        out.extend_from_slice(&b);
        out
    };
    let primes = key.primes();
    ImportedKey::Rsa {
        p: half(&primes[0]),
        q: half(&primes[1]),
        dp: half(key.dp().unwrap()),
        dq: half(key.dq().unwrap()),
        qinv: half(&key.crt_coefficient().unwrap()),
    }
}

/// Generates a key and uses it: signs, or agrees on a secret with itself.
fn generate_and_use(
    piv: &mut PivCard<Recorder>,
    slot: Slot,
    algorithm: Algorithm,
) -> host_driver::Result<()> {
    let key = piv.generate(
        slot,
        algorithm,
        Some(PinPolicy::Once),
        Some(TouchPolicy::Never),
    )?;
    match algorithm {
        Algorithm::X25519 => {
            piv.key_agreement(slot, &key, &[9; 32], None)?;
        }
        _ => {
            let scheme = SignatureScheme::default_for(&key)?;
            piv.sign_message(slot, &key, scheme, b"a message", None)?;
        }
    }
    piv.metadata(slot.key_ref())?;
    Ok(())
}

const FRESH: &[(&str, Step)] = &[
    ("status", |piv| {
        piv.read_object(ObjectId::CHUID)?;
        piv.read_object(ObjectId::DISCOVERY)?;
        piv.pin_tries_left()?;
        piv.admin_data()?;
        piv.key_info(Slot::Signature)?;
        Ok(())
    }),
    ("verify-pin", |piv| piv.verify_pin(&pin())),
    ("change-pin", |piv| {
        piv.change_pin(&pin(), &Secret::new("654321")?)
    }),
    ("unblock-pin", |piv| {
        piv.unblock_pin(&Secret::new("12345678")?, &Secret::new("246802")?)
    }),
    ("attestation-key", |piv| {
        piv.key_info(Slot::Attestation).map(drop)
    }),
];

const AUTHENTICATED: &[(&str, Step)] = &[
    ("generate-p256", |piv| {
        generate_and_use(piv, Slot::Signature, Algorithm::EccP256)
    }),
    ("generate-p384", |piv| {
        generate_and_use(piv, Slot::Authentication, Algorithm::EccP384)
    }),
    ("generate-ed25519", |piv| {
        generate_and_use(piv, Slot::CardAuthentication, Algorithm::Ed25519)
    }),
    ("generate-x25519", |piv| {
        generate_and_use(piv, Slot::KeyManagement, Algorithm::X25519)
    }),
    ("generate-attest", |piv| {
        piv.generate(Slot::KeyManagement, Algorithm::EccP256, None, None)?;
        piv.attest(Slot::KeyManagement).map(drop)
    }),
    ("import-rsa1024", |piv| {
        piv.import_key(
            Slot::Authentication,
            Algorithm::Rsa1024,
            rsa_1024(),
            None,
            None,
        )?;
        let key = piv.public_key(Slot::Authentication)?;
        let scheme = SignatureScheme::default_for(&key)?;
        piv.sign_message(Slot::Authentication, &key, scheme, b"a message", None)?;
        Ok(())
    }),
    ("import-p256-move", |piv| {
        piv.import_key(
            Slot::Authentication,
            Algorithm::EccP256,
            ImportedKey::Ecc(vec![7; 32]),
            None,
            None,
        )?;
        piv.move_key(Slot::Authentication, Slot::retired(1).unwrap())?;
        piv.delete_key(Slot::retired(1).unwrap())
    }),
    ("put-certificate", |piv| {
        // Any bytes: the card stores what it is given.
        piv.write_certificate(Slot::Signature, &[0x30; 600])?;
        piv.read_certificate(Slot::Signature).map(drop)
    }),
    ("set-management-key", |piv| {
        let key = ManagementKey::new(Algorithm::Aes192, &[0x42; 24]).unwrap();
        piv.set_management_key(&key, false)?;
        piv.set_pin_protected_management_key(&key)
    }),
    ("set-pin-retries", |piv| piv.set_pin_retries(5, 4)),
    ("block-and-reset", |piv| {
        // RESET needs both PIN and PUK blocked; the wrong tries are refused, as meant.
        for _ in 0..3 {
            let _ = piv.verify_pin(&Secret::new("000000")?);
            let _ = piv.unblock_pin(&Secret::new("00000000")?, &Secret::new("111111")?);
        }
        piv.reset_piv()
    }),
];

/// Writes `input` into the seed directory of `target`, named by its content so that
/// each distinct input is written once.
fn write(target: &str, input: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    let name = hex(&host_driver::digest(host_driver::hash::HashAlg::Sha256, input)[..8]);
    std::fs::write(dir.join(name), input).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() {
    let steps = FRESH.iter().map(|(name, step)| (name, false, step));
    let steps = steps.chain(AUTHENTICATED.iter().map(|(name, step)| (name, true, step)));
    for (name, authenticated, step) in steps {
        let recording = record(authenticated, *step);
        let mode = Mode(u8::from(authenticated));
        write("card", &apdu_sequence::join(mode, &recording.commands));
        for command in &recording.commands {
            write("apdu", command);
        }
        for data in recording.responses.iter().filter(|d| !d.is_empty()) {
            write("tlv", data);
        }
        println!("{name}: {} APDUs", recording.commands.len());
    }
}
