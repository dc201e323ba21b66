//! `smime-card enroll`: reads the secrets, runs host-driver's enrolment and prints each
//! step as it happens; the local CA (--ca) issues at once, or the card's requests are
//! written for an external CA (--csr-out).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::Context;
use host_driver::ca::CertificateAuthority;
use host_driver::enrolment::{self, EnrolmentError, Outcome, Plan, Request, Secrets};
use host_driver::{PivCard, Transport};

use crate::output::{self, Readers};
use crate::progress;
use crate::secrets::{MgmtKeyArgs, NewPinArgs, NewPukArgs, PinArgs, PukArgs, given_management_key};

/// Who issues the certificates.
pub enum Issuer {
    /// The local CA in this directory, for this many days.
    LocalCa { dir: PathBuf, days: u32 },
    /// Nobody yet: the requests are written to this directory.
    Requests(PathBuf),
}

/// Where enrolment's secrets come from.
pub struct SecretArgs<'a> {
    pub pin: &'a PinArgs,
    pub puk: &'a PukArgs,
    pub new_pin: &'a NewPinArgs,
    pub new_puk: &'a NewPukArgs,
    pub mgmt: &'a MgmtKeyArgs,
}

pub fn enroll<T: Transport>(
    mut card: PivCard<T>,
    plan: &Plan,
    secrets: SecretArgs<'_>,
    issuer: &Issuer,
) -> anyhow::Result<()> {
    let secrets = Secrets {
        pin: secrets.pin.read()?,
        puk: secrets.puk.read()?,
        new_pin: secrets.new_pin.read()?,
        new_puk: secrets.new_puk.read()?,
        management_key: given_management_key(&mut card, secrets.mgmt)?,
    };
    enroll_with(card, plan, &secrets, issuer)
}

/// Enrols the card with secrets already in hand, printing each step.
pub fn enroll_with<T: Transport>(
    card: PivCard<T>,
    plan: &Plan,
    secrets: &Secrets,
    issuer: &Issuer,
) -> anyhow::Result<()> {
    let card = RefCell::new(card);
    let mut local_ca = match issuer {
        Issuer::LocalCa { dir, days } => Some(enrolment::LocalCa {
            ca: CertificateAuthority::open(dir)
                .with_context(|| format!("opening the CA in {}", dir.display()))?,
            days: *days,
        }),
        Issuer::Requests(_) => None,
    };
    let issuer_seam = local_ca.as_mut().map(|ca| ca as &mut dyn enrolment::Issuer);
    // Each step is told above the spinner; a new key can take the card a while.
    let outcome = progress::while_working("Enrolling the card", || {
        enrolment::enrol(&card, plan, secrets, issuer_seam, &mut |step| {
            progress::suspended(|| say!("{step}"))
        })
    })
    .map_err(|e| match e {
        // The card's own errors keep their exit codes and advice.
        EnrolmentError::Card(e) => anyhow::Error::from(e),
        e => e.into(),
    })?;
    match outcome {
        Outcome::Enrolled => say!("The card is enrolled and personalised."),
        Outcome::Requests(requests) => {
            let Issuer::Requests(dir) = issuer else {
                anyhow::bail!("the local CA issued no certificates");
            };
            for request in &requests {
                write_request(dir, request)?;
            }
            say!(
                "Have your CA issue the certificates, store each with `smime-card card \
                 import-cert --slot SLOT --in CERT`, then run this command again to finish."
            );
        }
    }
    Ok(())
}

/// `sign.csr.pem`, `encrypt.csr.pem` or (one key for both) `both.csr.pem` in `dir`.
fn write_request(dir: &Path, request: &Request) -> anyhow::Result<()> {
    let name = match request.usage {
        enrolment::Purpose::Signing => "sign",
        enrolment::Purpose::Encryption => "encrypt",
        enrolment::Purpose::Both => "both",
    };
    let path = dir.join(format!("{name}.csr.pem"));
    let pem = host_driver::pem::encode("CERTIFICATE REQUEST", &request.der);
    output::write(&path, pem.as_bytes(), Readers::Anyone)?;
    say!(
        "Wrote the request for slot {} to {}.",
        request.slot.name(),
        path.display()
    );
    Ok(())
}
