//! `smime-card encrypt`, and the encryption `smime-card sign --encrypt-to` does after
//! signing: certificates in, encrypted mail out, through host-driver.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use apdu_spec::piv::Slot;
use host_driver::escape;
use host_driver::smime::encrypt::{EncryptRequest, Recipient, encrypt as encrypt_mail};
use host_driver::{PivCard, Transport};

use crate::card::read_certificates;
use crate::cli::{CipherArgs, Command};
use crate::mail::slot_certificate;
use crate::output::{Output, Readers};
use crate::progress;

/// The recipients: everyone whose certificate is in `files`, and the card's own key
/// management certificate (slot 9D) when one is given. Each certificate is checked here,
/// before any message is read.
pub fn recipients(files: &[PathBuf], own: Option<Vec<u8>>) -> anyhow::Result<Vec<Recipient>> {
    let mut recipients = Vec::new();
    for file in files {
        for der in read_certificates(file)? {
            recipients.push(
                Recipient::from_certificate(&der)
                    .with_context(|| format!("the certificate in {}", file.display()))?,
            );
        }
    }
    if let Some(der) = own {
        recipients.push(
            Recipient::from_certificate(&der)
                .context("the card's key management certificate (slot 9d)")?,
        );
    }
    Ok(recipients)
}

/// The card's key management certificate, for encrypting to oneself.
pub fn own_certificate<T: Transport>(card: &mut PivCard<T>) -> anyhow::Result<Vec<u8>> {
    slot_certificate(card, Slot::KeyManagement)
}

/// Encrypts the mail in `input` for `recipients` into `out`, whole or not at all, and
/// says so.
pub fn encrypt_into(
    input: &File,
    out: &Path,
    recipients: &[Recipient],
    cipher: &CipherArgs,
) -> anyhow::Result<()> {
    let request = EncryptRequest {
        recipients,
        cipher: cipher.cipher.unwrap_or_default(),
        rsa_padding: cipher.rsa_padding.unwrap_or_default(),
    };
    let mut output = Output::create(out, Readers::Owner)?;
    let report = encrypt_mail(
        progress::reading("Encrypting", input),
        output.file(),
        &request,
    )?;
    output.commit()?;
    // Names come from certificates: shown escaped.
    let names: Vec<String> = recipients.iter().map(|r| r.subject().to_owned()).collect();
    say!(
        "Encrypted {} bytes with {} for {}; wrote {}.",
        report.encrypted_bytes,
        report.cipher,
        escape::join(&names, "; "),
        out.display()
    );
    Ok(())
}

/// `smime-card encrypt`; `own` is the card's certificate when `--self` asked for it.
pub fn encrypt(command: &Command, own: Option<Vec<u8>>) -> anyhow::Result<()> {
    let Command::Encrypt {
        input,
        to,
        out,
        cipher,
        ..
    } = command
    else {
        bail!("not an encrypt command");
    };
    let recipients = recipients(to, own)?;
    let message = File::open(input).with_context(|| format!("reading {}", input.display()))?;
    encrypt_into(&message, out, &recipients, cipher)
}
