//! `smime-card card …`: each subcommand reads its inputs, calls host-driver, and says what
//! happened. Results (PEM, reports) go to stdout or `--out`; notes go to stderr.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use apdu_spec::piv::{KeyRef, PinPolicy, Slot, TouchPolicy};
use der::{Decode, Encode};
use host_driver::escape::Escaped;
use host_driver::piv::{AttestationInfo, KeyInfo, KeySource};
use host_driver::{Error, PivCard, PublicKey, Transport};
use x509_cert::Certificate;

use crate::cli::CardCommand;
use crate::failure::{self, Advised, Usage};
use crate::output::{self, Readers};
use crate::progress;
use crate::secrets::{self, authenticate};
use crate::status::{Status, version_text};

pub fn run<T: Transport>(card: &mut PivCard<T>, command: CardCommand) -> anyhow::Result<()> {
    match command {
        CardCommand::Status => {
            print!("{}", Status::read(card)?);
        }
        CardCommand::Generate {
            slot,
            algorithm,
            pin_policy,
            touch_policy,
            out,
            mgmt,
            pin,
        } => {
            authenticate(card, &mgmt, &pin)?;
            let key = progress::while_working(
                &format!(
                    "Generating an {algorithm} key in slot {} on the card",
                    slot.name()
                ),
                || card.generate(slot, algorithm, pin_policy, touch_policy),
            )?;
            say!("Generated an {algorithm} key in slot {}.", slot.name());
            emit(out.as_deref(), key.to_pem()?.as_bytes(), "the public key")?;
        }
        CardCommand::ImportCert {
            slot,
            input,
            force,
            mgmt,
            pin,
        } => {
            let der = read_certificate_file(&input)?;
            if !force {
                check_certificate_matches_key(card, slot, &der)?;
            }
            authenticate(card, &mgmt, &pin)?;
            card.write_certificate(slot, &der)?;
            say!("Stored the certificate in slot {}.", slot.name());
        }
        CardCommand::ExportCert { slot, out, der } => {
            let Some(cert) = card.read_certificate(slot)? else {
                bail!("slot {} holds no certificate", slot.name());
            };
            let bytes = if der {
                cert
            } else {
                host_driver::pem::encode("CERTIFICATE", &cert).into_bytes()
            };
            emit(out.as_deref(), &bytes, "the certificate")?;
        }
        CardCommand::Delete {
            slot,
            key,
            cert,
            mgmt,
            pin,
        } => {
            authenticate(card, &mgmt, &pin)?;
            // The key first: where the card cannot delete keys, nothing is deleted.
            if key {
                card.delete_key(slot)?;
                say!("Deleted the key in slot {}.", slot.name());
            }
            if cert {
                card.delete_certificate(slot)?;
                say!("Deleted the certificate in slot {}.", slot.name());
            }
        }
        CardCommand::VerifyPin { pin } => {
            card.verify_pin(&pin.read()?)?;
            say!("The PIN is correct.");
        }
        CardCommand::ChangePin { pin, new_pin } => {
            let (pin, new_pin) = (pin.read()?, new_pin.read()?);
            card.change_pin(&pin, &new_pin)?;
            say!("The PIN was changed.");
        }
        CardCommand::ChangePuk { puk, new_puk } => {
            let (puk, new_puk) = (puk.read()?, new_puk.read()?);
            card.change_puk(&puk, &new_puk)?;
            say!("The PUK was changed.");
        }
        CardCommand::UnblockPin { puk, new_pin } => {
            let (puk, new_pin) = (puk.read()?, new_pin.read()?);
            card.unblock_pin(&puk, &new_pin)?;
            say!("The PIN was set and is unblocked.");
        }
        CardCommand::SetMgmtKey {
            new_key,
            algorithm,
            touch,
            mgmt,
            pin,
        } => {
            let bytes = new_key.read()?;
            // A key given with its algorithm is judged before any login is spent on it.
            if let Some(algorithm) = algorithm {
                secrets::new_management_key(algorithm, &bytes)?;
            }
            let current = authenticate(card, &mgmt, &pin)?;
            let algorithm = algorithm.unwrap_or(current);
            let key = secrets::new_management_key(algorithm, &bytes)?;
            card.set_management_key(&key, touch)?;
            say!(
                "The management key was changed ({algorithm}{}).",
                if touch { ", touch required" } else { "" }
            );
        }
        CardCommand::Reset => reset(card)?,
        CardCommand::Attest { slot, out, roots } => {
            let roots = match &roots {
                Some(path) => read_certificates(path)?,
                None => Vec::new(),
            };
            let info = card.verify_attestation(slot, &roots)?;
            print!("{}", attestation_report(&info, !roots.is_empty()));
            let pem = host_driver::pem::encode("CERTIFICATE", &info.certificate);
            emit(
                out.as_deref(),
                pem.as_bytes(),
                "the attestation certificate",
            )?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `out` (whole or not at all), or to stdout without one.
fn emit(out: Option<&Path>, bytes: &[u8], what: &str) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            output::write(path, bytes, Readers::Anyone)?;
            say!("Wrote {what} to {}.", path.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

/// A certificate file (PEM or DER) as DER, checked to be a certificate.
fn read_certificate_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let der = host_driver::pem::decode("CERTIFICATE", &bytes)
        .map_err(|e| Usage(format!("{}: {e}", path.display())))?;
    Certificate::from_der(&der)
        .map_err(|e| Usage(format!("{} is not a certificate: {e}", path.display())))?;
    Ok(der)
}

/// Refuses a certificate for another key than the one in `slot`, where the card tells
/// which key the slot holds (metadata), or for an empty slot, where the card tells that. A
/// card that does not tell leaves nothing to check against: the slot's old certificate
/// says nothing about the key.
fn check_certificate_matches_key<T: Transport>(
    card: &mut PivCard<T>,
    slot: Slot,
    der: &[u8],
) -> anyhow::Result<()> {
    if card.metadata_if_answered(KeyRef::PIN)?.is_none() {
        return Ok(());
    }
    // A card that answers metadata answers it for every slot with a key.
    if card.metadata_if_answered(slot.key_ref())?.is_none() {
        return Err(Advised {
            message: format!("slot {} holds no key", slot.name()),
            hint: "generate one first, or use --force to store the certificate anyway".into(),
        }
        .into());
    }
    let cert = Certificate::from_der(der)?;
    let spki = cert.tbs_certificate().subject_public_key_info().to_der()?;
    let certified = PublicKey::from_spki_der(&spki)?;
    match card.key_info(slot)? {
        Some(KeyInfo {
            public_key: Some(key),
            source: Some(KeySource::Metadata),
            ..
        }) if key != certified => Err(Advised {
            message: format!(
                "the certificate is for another key than the one in slot {}",
                slot.name()
            ),
            hint: "use --force to store it anyway".into(),
        }
        .into()),
        _ => Ok(()),
    }
}

/// The certificates in a file: PEM (any number) or one DER certificate.
pub fn read_certificates(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let certs = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        Certificate::load_pem_chain(&bytes)
            .map_err(|e| Usage(format!("{}: {e}", path.display())))?
    } else {
        vec![
            Certificate::from_der(&bytes)
                .map_err(|e| Usage(format!("{} is not a certificate: {e}", path.display())))?,
        ]
    };
    if certs.is_empty() {
        return Err(Usage(format!("{} holds no certificate", path.display())).into());
    }
    certs
        .iter()
        .map(|c| c.to_der().map_err(anyhow::Error::from))
        .collect()
}

fn attestation_report(info: &AttestationInfo, rooted: bool) -> String {
    let mut lines = vec![
        format!("Slot:           {}", info.slot.name()),
        format!(
            "Key:            {}, generated on the card",
            info.public_key.algorithm()
        ),
        format!("Subject:        {}", Escaped(&info.subject)),
    ];
    if let Some(v) = &info.firmware {
        lines.push(format!("Firmware:       {}", version_text(v)));
    }
    if let Some(serial) = info.serial {
        lines.push(format!("Serial:         {serial}"));
    }
    if let Some((pin, touch)) = info.policy {
        let name =
            |n: Option<&'static str>, b: u8| n.map_or(format!("unknown ({b:#04x})"), String::from);
        lines.push(format!(
            "PIN policy:     {}",
            name(PinPolicy::from_byte(pin).map(PinPolicy::name), pin)
        ));
        lines.push(format!(
            "Touch policy:   {}",
            name(TouchPolicy::from_byte(touch).map(TouchPolicy::name), touch)
        ));
    }
    lines.push(format!(
        "Verified:       signed by the card's attestation key (slot f9){}",
        if rooted {
            ", whose certificate a given root issued"
        } else {
            "; give --roots to check who issued that key's certificate"
        }
    ));
    lines.join("\n") + "\n"
}

/// YubiKey's RESET, with the reason spelled out when the card refuses.
fn reset<T: Transport>(card: &mut PivCard<T>) -> anyhow::Result<()> {
    match card.reset_piv() {
        Ok(()) => {
            say!(
                "The PIV application was reset: every key and certificate is erased; the PIN is \
                 123456, the PUK 12345678 and the management key the factory key."
            );
            Ok(())
        }
        Err(Error::ResetRefused) => {
            let pin = card.pin_tries_left().ok().flatten();
            let puk = card
                .metadata(KeyRef::PUK)
                .ok()
                .and_then(|m| m.retries)
                .map(|(_, left)| left);
            let state = |what: &str, left: Option<u8>| match left {
                Some(0) => format!("the {what} is blocked"),
                Some(n) => format!("the {what} has {} left", failure::tries(n)),
                None => format!("the {what} may not be blocked"),
            };
            Err(Advised {
                message: format!(
                    "the card resets only when both the PIN and the PUK are blocked ({}, {})",
                    state("PIN", pin),
                    state("PUK", puk)
                ),
                hint: "a forgotten PIN is unblocked with the PUK (`smime-card card unblock-pin`); \
                       a reset erases every key and certificate"
                    .into(),
            }
            .into())
        }
        Err(e) => Err(e.into()),
    }
}
