//! The card and CA that the mail targets use, from `fixtures/` (made by `seeds.sh` with the
//! `smime-card demo`): the seed messages are signed by this CA's certificates and
//! encrypted to this card's key, so the fuzzer starts from mail that decrypts and verifies.
//! The card's keys are test keys made for this and nothing else.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use card_sim::{Card, CardState, FileStore, MemoryStore};
use der::Decode;
use host_driver::card_decryptor::{CardDecryptor, CardKey};
use host_driver::smime::decrypt::{self, DecryptError, DecryptReport};
use host_driver::smime::verify::VerifyOptions;
use host_driver::{InProcess, PivCard, Secret};
use x509_cert::Certificate;

/// The PIN of the fixture card.
pub const PIN: &str = "271828";

fn path(name: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "fixtures", name]
        .iter()
        .collect()
}

/// A new in-memory card with the fixture card's keys, certificates and PIN, opened.
pub fn card() -> PivCard<InProcess> {
    static STATE: OnceLock<CardState> = OnceLock::new();
    let state = STATE.get_or_init(|| {
        FileStore::new(path("card.json"))
            .load()
            .expect("the fixture card's state")
    });
    let card = Card::new(state.clone(), MemoryStore);
    PivCard::open(InProcess::new(card, "fixture card")).expect("the fixture card opens")
}

pub fn pin() -> Secret {
    Secret::new(PIN).expect("a PIN")
}

/// Trusting the fixture CA, a day after it was made (its certificates are short-lived,
/// and the verdict must not change with the day the fuzzer runs).
pub fn verify_options() -> &'static VerifyOptions {
    static OPTIONS: OnceLock<VerifyOptions> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let pem = std::fs::read(path("ca.pem")).expect("the fixture CA certificate");
        let der = host_driver::pem::decode("CERTIFICATE", &pem).expect("a PEM certificate");
        let ca = Certificate::from_der(&der).expect("a certificate");
        let made = ca.tbs_certificate().validity().not_before.to_system_time();
        VerifyOptions {
            trust_anchors: vec![ca],
            at: made + Duration::from_secs(24 * 60 * 60),
        }
    })
}

/// Decrypts `message` with the fixture card's keys and PIN, into `out`.
pub fn decrypt(message: &[u8], out: &mut Vec<u8>) -> Result<DecryptReport<CardKey>, DecryptError> {
    let mut card = card();
    let mut decryptor = CardDecryptor::new(&mut card).with_pin(pin());
    decrypt::decrypt(&mut &message[..], out, &mut decryptor)
}

#[cfg(test)]
mod tests {
    use host_driver::smime::verify::verify;

    use super::*;

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "seeds", target, name]
            .iter()
            .collect();
        std::fs::read(path).unwrap()
    }

    /// The seeds and the fixtures are made together; mail that no longer opened would
    /// leave the fuzzer at the door.
    #[test]
    fn the_seed_mail_decrypts_and_verifies_with_the_fixtures() {
        for name in ["cbc.eml", "gcm.eml"] {
            let mut out = Vec::new();
            decrypt(&seed("decrypt", name), &mut out).unwrap_or_else(|e| panic!("{name}: {e}"));
            verify(&mut &out[..], None, verify_options()).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for name in ["multipart.eml", "opaque.eml"] {
            verify(&mut &seed("verify", name)[..], None, verify_options())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
