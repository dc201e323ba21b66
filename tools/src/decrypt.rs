//! `smime-card decrypt`: encrypted mail in, the message out, decrypted with a key on the
//! card; a signed message inside is verified when trusted CAs are given.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};

use anyhow::Context;
use host_driver::card_decryptor::CardDecryptor;
use host_driver::escape::Escaped;
use host_driver::smime::decrypt::decrypt as decrypt_mail;
use host_driver::smime::verify::{VerifyError, VerifyOptions, verify};
use host_driver::{PivCard, Secret, Transport};

use crate::cli::DecryptArgs;
use crate::mail::{BadSignature, print_verdict, read_anchors};
use crate::output::{Output, Readers};
use crate::progress;

/// Decrypts `mail.input` into `mail.out`, verifying a signed message inside against
/// `mail.ca`; `pin` is asked for once the message is open.
pub fn decrypt<T: Transport>(
    mut card: PivCard<T>,
    mail: &DecryptArgs,
    pin: impl FnOnce() -> anyhow::Result<Secret>,
) -> anyhow::Result<()> {
    let DecryptArgs {
        input,
        out,
        slot,
        ca,
    } = mail;
    let anchors = ca.as_deref().map(read_anchors).transpose()?;
    let file = File::open(input).with_context(|| format!("reading {}", input.display()))?;
    let pin = pin()?;
    let mut decryptor = CardDecryptor::new(&mut card)
        .with_pin(pin)
        .with_touch_prompt(|slot, policy| crate::touch::prompt_for_slot(slot, Some(policy)));
    if let Some(slot) = slot {
        decryptor = decryptor.only(*slot);
    }
    // Decrypted into a temporary file that takes --out's place only once everything held.
    let mut output = Output::create(out, Readers::Owner)?;
    let report = {
        // The reader, and its bar, go before the report is printed.
        let mut reader =
            BufReader::with_capacity(64 * 1024, progress::reading("Decrypting", &file));
        let mut sink = BufWriter::with_capacity(64 * 1024, output.file());
        let report = decrypt_mail(&mut reader, &mut sink, &mut decryptor)
            .with_context(|| format!("decrypting {}", input.display()))?;
        sink.flush()?;
        report
    };
    println!(
        "Decrypted with the key in {} ({}): {}, {}",
        report.key,
        Escaped(&report.recipient),
        report.key_management,
        report.content_cipher
    );
    if report.is_signed() {
        let Some(anchors) = anchors else {
            println!("The message inside is signed; its signature was NOT checked (give --ca)");
            return commit(output, out);
        };
        let decrypted = output.file();
        decrypted.seek(SeekFrom::Start(0))?;
        let verified = verify(
            &mut BufReader::with_capacity(64 * 1024, progress::reading("Verifying", decrypted)),
            None,
            &VerifyOptions::new(anchors),
        );
        match verified {
            Ok(verdict) => print_verdict(&verdict),
            Err(VerifyError::Io(e)) => {
                return Err(anyhow::Error::from(e).context("reading the decrypted message"));
            }
            Err(e) => return Err(BadSignature(e).into()),
        }
    } else if anchors.is_some() {
        println!("The message inside is not signed");
    }
    commit(output, out)
}

fn commit(output: Output<'_>, out: &std::path::Path) -> anyhow::Result<()> {
    output.commit()?;
    println!("Wrote {}", out.display());
    Ok(())
}
