//! `smime-card ca …`: a local certificate authority in a directory, its key in a file there
//! or, with `--ca-card`, in the selected card's slot 9C (as a real CA's lives in an HSM).

use std::cell::RefCell;
use std::path::Path;

use anyhow::Context;
use apdu_spec::piv::Slot;
use host_driver::ca::{CaSigner, CertificateAuthority};
use host_driver::card_signer::CardSigner;
use host_driver::escape::Escaped;
use host_driver::{PivCard, Transport};

use crate::choose;
use crate::cli::{CaCommand, CardChoice};
use crate::output::{self, Readers};
use crate::progress;
use crate::secrets::authenticate;

/// The slot whose key a CA on a card signs with.
const CA_SLOT: Slot = Slot::Signature;

pub fn run(choice: &CardChoice, command: CaCommand) -> anyhow::Result<()> {
    match &command {
        CaCommand::Init {
            ca_card: false,
            dir,
            key,
            name,
            days,
            ..
        } => {
            let ca = CertificateAuthority::init(dir, *key, &host_driver::ca::name(name)?, *days)?;
            created(&ca, dir);
            say!(
                "Its key is {}: keep it safe, readable by you alone.",
                dir.join(host_driver::ca::directory::KEY_FILE).display()
            );
            Ok(())
        }
        CaCommand::Issue {
            ca_card: false,
            dir,
            ..
        } => issue(&CertificateAuthority::open(dir)?, &command),
        _ => run_on_card(choose::open(choice)?, &command),
    }
}

fn run_on_card<T: Transport>(card: PivCard<T>, command: &CaCommand) -> anyhow::Result<()> {
    let card = RefCell::new(card);
    match command {
        CaCommand::Init {
            dir,
            name,
            days,
            pin,
            mgmt,
            ..
        } => {
            // Authenticated first: a wrong management key then leaves no ca.pem behind.
            authenticate(&mut card.borrow_mut(), mgmt, pin)?;
            let signer = CardSigner::new(&card, CA_SLOT, None)
                .context("the CA key must be in slot 9c: generate it with `smime-card card generate --slot 9c`")?
                .with_pin(pin.read()?);
            let name = host_driver::ca::name(name)?;
            let ca = progress::while_working("The card signs the CA certificate", || {
                CertificateAuthority::self_signed(signer, &name, *days)
            })?;
            let der = ca.certificate_der()?;
            ca.save_certificate(dir)?;
            card.borrow_mut().write_certificate(CA_SLOT, &der)?;
            created(&ca, dir);
            say!("Its key stays on the card, in slot 9c, beside the certificate.");
            Ok(())
        }
        CaCommand::Issue { dir, pin, .. } => {
            let signer = CardSigner::new(&card, CA_SLOT, None)?.with_pin(pin.read()?);
            issue(&CertificateAuthority::open_with(dir, signer)?, command)
        }
    }
}

fn created<S: CaSigner>(ca: &CertificateAuthority<S>, dir: &Path) {
    let subject = ca.certificate().tbs_certificate().subject().to_string();
    say!(
        "Created the CA \"{}\"; its certificate is {}.",
        Escaped(&subject),
        dir.join(host_driver::ca::directory::CERTIFICATE_FILE)
            .display()
    );
}

fn issue<S: CaSigner>(ca: &CertificateAuthority<S>, command: &CaCommand) -> anyhow::Result<()> {
    let CaCommand::Issue {
        csr,
        email,
        out,
        days,
        usage,
        ..
    } = command
    else {
        anyhow::bail!("not an issue command");
    };
    let bytes = std::fs::read(csr).with_context(|| format!("reading {}", csr.display()))?;
    let der = host_driver::pem::decode("CERTIFICATE REQUEST", &bytes)
        .with_context(|| format!("reading {}", csr.display()))?;
    let certificate = ca.issue(&der, email, *usage, *days)?;
    let pem = host_driver::pem::encode("CERTIFICATE", &certificate);
    output::write(out, pem.as_bytes(), Readers::Anyone)?;
    say!(
        "Issued a certificate for {} ({}), valid {days} days: {}.",
        Escaped(email),
        usage,
        out.display()
    );
    Ok(())
}
