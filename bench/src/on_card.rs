//! The card's own cryptography, in process (card-sim's library behind host-driver's
//! in-process transport, no reader): GENERATE ASYMMETRIC KEY PAIR and GENERAL
//! AUTHENTICATE signatures, beside `openssl genpkey` (a process per key, so its figure
//! includes openssl's start-up, measured on its own row) and `openssl speed`.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::{Algorithm, Slot};
use card_sim::CardConfig;
use host_driver::hash::HashAlg;
use host_driver::{InProcess, PivCard, PublicKey, Secret, SignatureScheme};

use crate::Plan;
use crate::measure::{alternate, per_operation, process, repeat};
use crate::openssl_speed;
use crate::report::Row;

const SECTION: &str = "on-card crypto";
/// How long one sample of ours repeats a quick operation; `openssl speed -seconds 1`
/// runs its signatures for as long.
const SPAN: Duration = Duration::from_secs(1);
const KEYGEN_SPAN: Duration = Duration::from_millis(300);

struct Kind {
    name: &'static str,
    algorithm: Algorithm,
    scheme: SignatureScheme,
    /// What `openssl speed` calls it.
    speed: &'static str,
    /// `openssl genpkey` options for the same key.
    genpkey: &'static [&'static str],
}

const RSA: SignatureScheme = SignatureScheme::RsaPkcs1v15(HashAlg::Sha256);

#[rustfmt::skip]
const KINDS: [Kind; 6] = [
    Kind { name: "RSA-2048", algorithm: Algorithm::Rsa2048, scheme: RSA, speed: "rsa2048",
           genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] },
    Kind { name: "RSA-3072", algorithm: Algorithm::Rsa3072, scheme: RSA, speed: "rsa3072",
           genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"] },
    Kind { name: "RSA-4096", algorithm: Algorithm::Rsa4096, scheme: RSA, speed: "rsa4096",
           genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"] },
    Kind { name: "P-256", algorithm: Algorithm::EccP256,
           scheme: SignatureScheme::Ecdsa(HashAlg::Sha256), speed: "ecdsap256",
           genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"] },
    Kind { name: "P-384", algorithm: Algorithm::EccP384,
           scheme: SignatureScheme::Ecdsa(HashAlg::Sha384), speed: "ecdsap384",
           genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"] },
    Kind { name: "Ed25519", algorithm: Algorithm::Ed25519, scheme: SignatureScheme::Ed25519,
           speed: "ed25519", genpkey: &["-algorithm", "ED25519"] },
];

impl Kind {
    /// RSA key generation is slow, and its time varies with the primes it happens on.
    fn slow_keygen(&self) -> bool {
        matches!(self.scheme, SignatureScheme::RsaPkcs1v15(_))
    }
}

pub fn run(plan: &Plan) -> Result<Vec<Row>> {
    let mut card = authenticated_card()?;
    let mut rows = vec![Row::alone(
        SECTION,
        "openssl start-up (`openssl version`), part of every genpkey figure",
        &repeat(if plan.quick { 5 } else { 11 }, || {
            process(Command::new("openssl").arg("version"))
        })?,
    )];
    for kind in &KINDS {
        let keygen_runs = match (plan.quick, kind.slow_keygen()) {
            (true, _) => 3,
            (false, true) => 5,
            (false, false) => 11,
        };
        let mut public = None;
        let samples = alternate(
            keygen_runs,
            || {
                per_operation(KEYGEN_SPAN, || {
                    public =
                        Some(card.generate(Slot::Authentication, kind.algorithm, None, None)?);
                    Ok(())
                })
            },
            || process(Command::new("openssl").arg("genpkey").args(kind.genpkey)),
        )?;
        rows.push(Row::beside(
            SECTION,
            format!("generate {}", kind.name),
            samples,
            format!("openssl genpkey {}", kind.genpkey.join(" ")),
        ));

        let public = public.context("a key was generated")?;
        let input = signature_input(kind.scheme);
        let samples = alternate(
            if plan.quick { 3 } else { 5 },
            || per_operation(SPAN, || sign(&mut card, &public, kind.scheme, &input)),
            || openssl_speed::sign(kind.speed),
        )?;
        rows.push(Row::beside(
            SECTION,
            format!("sign {}", kind.name),
            samples,
            format!("openssl speed {}", kind.speed),
        ));
    }
    Ok(rows)
}

/// A factory-fresh card in memory, authenticated with the management key (to generate)
/// and the PIN (to sign with 9a, whose PIN policy is "once").
fn authenticated_card() -> Result<PivCard<InProcess>> {
    let mut card = PivCard::open(InProcess::in_memory(&CardConfig::default())?)?;
    let algorithm = card.management_algorithm()?.algorithm;
    let key = ManagementKey::factory(algorithm).context("the factory management key")?;
    card.authenticate(&key)?;
    card.verify_pin(&Secret::new(b"123456".to_vec())?)?;
    Ok(card)
}

/// What the card signs: a digest for RSA and ECDSA, a short message for Ed25519 (which
/// hashes on the card), as `openssl speed` signs.
fn signature_input(scheme: SignatureScheme) -> Vec<u8> {
    match scheme.hash() {
        Some(hash) => vec![0x42; hash.output_len()],
        None => vec![0x42; 32],
    }
}

fn sign(
    card: &mut PivCard<InProcess>,
    public: &PublicKey,
    scheme: SignatureScheme,
    input: &[u8],
) -> Result<()> {
    let slot = Slot::Authentication;
    match scheme {
        SignatureScheme::Ed25519 => card.sign_message(slot, public, scheme, input, None)?,
        _ => card.sign_digest(slot, public, scheme, input, None)?,
    };
    Ok(())
}
