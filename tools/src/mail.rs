//! `smime-card sign` (and, with --encrypt-to, encrypt) and `smime-card verify`: files in,
//! S/MIME out, through host-driver; and how a verdict is shown, for `decrypt` too.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::Path;

use anyhow::Context;
use apdu_spec::piv::Slot;
use host_driver::card_signer::CardSigner;
use host_driver::escape::{self, Escaped};
use host_driver::hash::HashAlg;
use host_driver::smime::sign::{Form, SignReport, SignRequest, digest_for, sign as sign_mail};
use host_driver::smime::verify::{Form as VerifiedForm, Verdict};
use host_driver::{PivCard, PublicKey, Secret, SignatureScheme, Transport};

use crate::card::read_certificates;
use crate::cli::SignArgs;
use crate::encrypt;
use crate::failure::Usage;
use crate::output::{Output, Readers};
use crate::progress;

/// The scheme for `key` with the digest the user asked for.
fn scheme(key: &PublicKey, digest: Option<HashAlg>, pss: bool) -> anyhow::Result<SignatureScheme> {
    let default = SignatureScheme::default_for(key)?;
    if pss && !matches!(key, PublicKey::Rsa(_)) {
        return Err(Usage("--pss needs an RSA key".into()).into());
    }
    Ok(match (default, digest) {
        (SignatureScheme::Ed25519, Some(d)) if d != HashAlg::Sha512 => {
            return Err(Usage("Ed25519 signatures use SHA-512 (RFC 8419)".into()).into());
        }
        (SignatureScheme::Ed25519, _) => SignatureScheme::Ed25519,
        (SignatureScheme::RsaPkcs1v15(d0), d) if pss => SignatureScheme::RsaPss(d.unwrap_or(d0)),
        (SignatureScheme::RsaPkcs1v15(d0), d) => SignatureScheme::RsaPkcs1v15(d.unwrap_or(d0)),
        (SignatureScheme::Ecdsa(d0), d) => SignatureScheme::Ecdsa(d.unwrap_or(d0)),
        (other, _) => other,
    })
}

pub fn slot_certificate<T: Transport>(
    card: &mut PivCard<T>,
    slot: Slot,
) -> anyhow::Result<Vec<u8>> {
    card.read_certificate(slot)?.ok_or_else(|| {
        Usage(format!(
            "slot {} holds no certificate; store the one your CA issued with `smime-card card import-cert --slot {slot} --in CERT`",
            slot.name()
        ))
        .into()
    })
}

/// Signs `mail.input` into `mail.out` (and encrypts it, if asked); `pin` is asked for
/// once the recipients and the message have been found good, just before the card signs.
pub fn sign<T: Transport>(
    mut card: PivCard<T>,
    mail: &SignArgs,
    pin: impl FnOnce() -> anyhow::Result<Secret>,
) -> anyhow::Result<()> {
    let SignArgs {
        input,
        out,
        slot,
        opaque,
        digest,
        pss,
        chain,
        encrypt_to,
        encrypt_self,
        cipher,
    } = mail;
    let certificate = slot_certificate(&mut card, *slot)?;
    // Recipients are checked before the card signs anything.
    let recipients = if encrypt_to.is_empty() && !encrypt_self {
        if cipher.given() {
            return Err(Usage(
                "--cipher and --rsa-padding choose how to encrypt: add --encrypt-to CERT or --encrypt-self".into(),
            )
            .into());
        }
        None
    } else {
        let own = encrypt_self
            .then(|| encrypt::own_certificate(&mut card))
            .transpose()?;
        Some(encrypt::recipients(encrypt_to, own)?)
    };
    let chain = match chain {
        Some(path) => read_certificates(path)?,
        None => Vec::new(),
    };
    let message = File::open(input).with_context(|| format!("reading {}", input.display()))?;
    let pin = pin()?;
    let card = RefCell::new(card);
    let public_key = card.borrow_mut().public_key(*slot)?;
    let scheme = scheme(&public_key, *digest, *pss)?;
    crate::touch::prompt_for_slot(*slot, card.borrow_mut().touch_policy(slot.key_ref())?);
    let signer = CardSigner::for_public_key(&card, *slot, public_key, Some(scheme))?.with_pin(pin);
    let form = if *opaque {
        Form::Opaque
    } else {
        Form::Multipart
    };
    let request = SignRequest {
        signer: &signer,
        certificate: &certificate,
        chain: &chain,
        form,
        digest: digest_for(scheme),
    };
    let signed = |report: SignReport| {
        format!(
            "Signed {} bytes with the key in slot {} ({})",
            report.signed_bytes,
            slot.name(),
            scheme,
        )
    };
    match recipients {
        None => {
            // A failure loses nothing, even with --out naming the input.
            let mut output = Output::create(out, Readers::Owner)?;
            let report = sign_mail(
                progress::reading("Signing", &message),
                output.file(),
                &request,
            )?;
            output.commit()?;
            say!("{}; wrote {}.", signed(report), out.display());
        }
        Some(recipients) => {
            // The signed message waits in an unnamed private file, then is encrypted with
            // the outer headers on the outside.
            let mut signed_mail = tempfile::tempfile().context("making a temporary file")?;
            let report = sign_mail(
                progress::reading("Signing", &message),
                &mut signed_mail,
                &request,
            )?;
            say!("{}.", signed(report));
            signed_mail.rewind()?;
            encrypt::encrypt_into(&signed_mail, out, &recipients, cipher)?;
        }
    }
    Ok(())
}

/// The signature did not hold: the reason, as a verdict (exit code 7).
#[derive(Debug, thiserror::Error)]
#[error("BAD signature: {0}")]
pub struct BadSignature(pub host_driver::smime::verify::VerifyError);

/// The trusted CA certificates in `ca` (PEM, any number, or one DER certificate).
pub fn read_anchors(ca: &Path) -> anyhow::Result<Vec<x509_cert::Certificate>> {
    use der::Decode;
    Ok(read_certificates(ca)?
        .iter()
        .map(|der| x509_cert::Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()?)
}

pub fn verify(input: &Path, ca: &Path, out: Option<&Path>) -> anyhow::Result<()> {
    use host_driver::smime::verify::{VerifyError, VerifyOptions, verify as verify_mail};

    let anchors = read_anchors(ca)?;
    let file = File::open(input).with_context(|| format!("reading {}", input.display()))?;
    // The content is kept only if the signature holds.
    let mut content = out
        .map(|path| Output::create(path, Readers::Owner))
        .transpose()?;
    let sink = content
        .as_mut()
        .map(|output| output.file() as &mut dyn std::io::Write);
    // The reader, and its bar, go before the verdict is printed.
    let mut reader = BufReader::with_capacity(64 * 1024, progress::reading("Verifying", &file));
    let verdict = match verify_mail(&mut reader, sink, &VerifyOptions::new(anchors)) {
        Ok(v) => v,
        Err(VerifyError::Io(e)) => {
            return Err(anyhow::Error::from(e).context(format!("reading {}", input.display())));
        }
        Err(e) => return Err(BadSignature(e).into()),
    };
    drop(reader);
    if let Some(output) = content {
        output.commit()?;
    }
    print_verdict(&verdict);
    Ok(())
}

/// A signature that holds, as `verify` and `decrypt --ca` show it.
pub fn print_verdict(verdict: &Verdict) {
    let form = match verdict.form {
        VerifiedForm::Multipart => "multipart/signed",
        VerifiedForm::Opaque => "opaque signed-data",
    };
    // Names and addresses come from the message and its certificates: shown escaped.
    println!("Good signature ({form})");
    println!("Signer:     {}", Escaped(&verdict.signer));
    let matched = match &verdict.from {
        Some(from) => format!(" (From: {} matches)", Escaped(from)),
        None => " (the message has no From header)".into(),
    };
    println!(
        "Addresses:  {}{matched}",
        escape::join(&verdict.signer_addresses, ", ")
    );
    if let Some(t) = verdict.signing_time {
        println!("Signed:     {t} (as the signer states it)");
    }
    println!("Algorithm:  {}", verdict.signature_algorithm);
    println!("Chain:      {}", escape::join(&verdict.chain, " <- "));
}
