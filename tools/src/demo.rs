//! `smime-card demo`: the whole story in one command, through the same functions the other
//! commands use. A local CA; two cards, for SMIME1 and SMIME2, enrolled with it; SMIME1
//! signs a mail and encrypts it to SMIME2 and to itself; SMIME2 decrypts and verifies it;
//! a copy changed on the way is refused. The cards are simulated in this process on state
//! files in the demo's directory, where every mail and certificate stays to be looked at;
//! with `--pcsc` the same state files are served by `card-sim` processes through pcscd.

mod served;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use apdu_spec::piv::{Algorithm, Slot};
use host_driver::ca::CertificateAuthority;
use host_driver::enrolment::{Plan, Secrets};
use host_driver::{InProcess, PcscTransport, PivCard, Secret, Transport};

use crate::cli::{CipherArgs, DecryptArgs, SignArgs};
use crate::enroll::{self, Issuer};
use crate::output::{self, Readers};
use crate::{decrypt, failure, mail};

/// A card's holder and the secrets the demo gives the card.
struct Holder {
    name: &'static str,
    email: &'static str,
    pin: &'static str,
    puk: &'static str,
    /// The vpcd port and reader of the card with `--pcsc`.
    port: u16,
    reader: &'static str,
}

const SMIME1: Holder = Holder {
    name: "SMIME1",
    email: "smime1@example.org",
    pin: "314159",
    puk: "31415926",
    port: 35963,
    reader: "Virtual PCD 00 00",
};
const SMIME2: Holder = Holder {
    name: "SMIME2",
    email: "smime2@example.org",
    pin: "271828",
    puk: "27182818",
    port: 35964,
    reader: "Virtual PCD 00 01",
};

const FACTORY_PIN: &str = "123456";
const FACTORY_PUK: &str = "12345678";
/// How long the demo's certificates are valid: long enough to look at them for a while.
const DAYS: u32 = 30;

impl Holder {
    /// The file holding this holder's simulated card.
    fn state_file(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.json", self.name.to_lowercase()))
    }

    /// Where the certificate for `usage` ("sign" or "encrypt") is written.
    fn certificate_file(&self, dir: &Path, usage: &str) -> PathBuf {
        dir.join(format!("{}-{usage}.pem", self.name.to_lowercase()))
    }

    fn pin(&self) -> anyhow::Result<Secret> {
        Ok(Secret::new(self.pin)?)
    }
}

/// `smime-card demo`: in `dir`, or in a fresh directory that is kept; the cards in this
/// process, or served through pcscd with `pcsc`.
pub fn run(dir: Option<PathBuf>, pcsc: bool) -> anyhow::Result<()> {
    let dir = match dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("making the directory {}", dir.display()))?;
            dir
        }
        None => tempfile::Builder::new()
            .prefix("smime-card-demo-")
            .tempdir()
            .context("making a temporary directory")?
            .keep(),
    };
    println!("The demo works in {}.", dir.display());
    for holder in [&SMIME1, &SMIME2] {
        // A card left by an earlier run would start the story half-way through.
        if holder.state_file(&dir).exists() {
            bail!(
                "{} already holds a card from an earlier demo; give an empty --dir",
                dir.display()
            );
        }
    }
    if pcsc {
        let mut served = Vec::new();
        for holder in [&SMIME1, &SMIME2] {
            served.push(served::ServedCard::start(
                &holder.state_file(&dir),
                holder.port,
                holder.reader,
            )?);
            println!(
                "{}'s card is in the reader '{}'.",
                holder.name, holder.reader
            );
        }
        // `served` stops the card-sim processes when it goes, whatever the story's end.
        story(&dir, &|holder: &Holder| {
            let transport = PcscTransport::connect_named(holder.reader)?;
            Ok(PivCard::open(transport)?)
        })
    } else {
        story(&dir, &|holder: &Holder| {
            let path = holder.state_file(&dir);
            let transport = InProcess::open(&path)
                .with_context(|| format!("opening the simulated card {}", path.display()))?;
            Ok(PivCard::open(transport)?)
        })
    }
}

/// The story, told step by step, with the cards `open` gives.
fn story<T: Transport>(
    dir: &Path,
    open: &dyn Fn(&Holder) -> anyhow::Result<PivCard<T>>,
) -> anyhow::Result<()> {
    let ca_dir = dir.join("ca");
    let ca_certificate = ca_dir.join(host_driver::ca::directory::CERTIFICATE_FILE);
    step("The CA: a P-256 key and a self-signed root certificate, in ca/");
    CertificateAuthority::init(
        &ca_dir,
        Algorithm::EccP256,
        &host_driver::ca::name("Demo Mail CA")?,
        DAYS,
    )?;
    println!("Its certificate is {}.", ca_certificate.display());

    for holder in [&SMIME1, &SMIME2] {
        enrol(dir, &ca_dir, holder, open)?;
    }

    let mail_file = dir.join("mail.txt");
    let sent = dir.join("sent.eml");
    let received = dir.join("received.eml");
    step("SMIME1 writes a mail to SMIME2: mail.txt");
    let text = format!(
        "From: {}\nTo: {}\nSubject: Hello from a card\n\n\
         This mail was signed by SMIME1's card and can be read only with SMIME2's card\n\
         (or SMIME1's, for the sent copy).\n",
        SMIME1.email, SMIME2.email
    );
    output::write(&mail_file, text.as_bytes(), Readers::Owner)?;
    print!("{text}");

    step(
        "SMIME1's card signs it (with the PIN), then it is encrypted to SMIME2 and SMIME1: sent.eml",
    );
    let signing = SignArgs {
        input: mail_file,
        out: sent.clone(),
        slot: Slot::Signature,
        opaque: false,
        digest: None,
        pss: false,
        chain: None,
        encrypt_to: vec![SMIME2.certificate_file(dir, "encrypt")],
        encrypt_self: true,
        cipher: CipherArgs {
            cipher: None,
            rsa_padding: None,
        },
    };
    mail::sign(open(&SMIME1)?, &signing, || SMIME1.pin())?;

    step("SMIME2's card decrypts it (with the PIN) and the signature is verified: received.eml");
    let receiving = DecryptArgs {
        input: sent.clone(),
        out: received,
        slot: None,
        ca: Some(ca_certificate.clone()),
    };
    decrypt::decrypt(open(&SMIME2)?, &receiving, || SMIME2.pin())?;

    step("SMIME1's card reads the sent copy too: sent-copy.eml");
    let own_copy = DecryptArgs {
        input: sent.clone(),
        out: dir.join("sent-copy.eml"),
        slot: None,
        ca: Some(ca_certificate.clone()),
    };
    decrypt::decrypt(open(&SMIME1)?, &own_copy, || SMIME1.pin())?;

    step("A byte of the ciphertext is changed on the way: tampered.eml");
    let tampered = dir.join("tampered.eml");
    tamper(&sent, &tampered)?;
    let tampered_received = dir.join("tampered-received.eml");
    let receiving = DecryptArgs {
        input: tampered,
        out: tampered_received,
        slot: None,
        ca: Some(ca_certificate),
    };
    match decrypt::decrypt(open(&SMIME2)?, &receiving, || SMIME2.pin()) {
        Ok(()) => bail!("the tampered copy was accepted"),
        // Refused for what the message is, not for a card or file that failed.
        Err(refusal)
            if matches!(
                failure::explain(&refusal).code,
                failure::BAD_SIGNATURE | failure::NOT_DECRYPTED
            ) =>
        {
            println!("Refused, as it must be: {refusal:#}")
        }
        Err(other) => return Err(other.context("checking the tampered copy")),
    }

    step("Check it yourself with OpenSSL (the private keys stay on the cards)");
    let at = |name: &str| dir.join(name).display().to_string();
    println!(
        "openssl cms -verify -in {} -CAfile {} -purpose smimesign",
        at("received.eml"),
        at("ca/ca.pem")
    );
    println!("openssl cms -cmsout -print -in {}", at("sent.eml"));
    println!(
        "openssl verify -CAfile {} -purpose smimesign {}",
        at("ca/ca.pem"),
        at("smime1-sign.pem")
    );
    println!("\nEvery check held.");
    Ok(())
}

/// Enrols `holder`'s factory-fresh card with the CA and writes its certificates to `dir`.
fn enrol<T: Transport>(
    dir: &Path,
    ca_dir: &Path,
    holder: &Holder,
    open: &dyn Fn(&Holder) -> anyhow::Result<PivCard<T>>,
) -> anyhow::Result<()> {
    step(&format!(
        "{}'s card: keys generated on the card, certificates issued by the CA, \
         PIN {} and PUK {} set",
        holder.name, holder.pin, holder.puk
    ));
    let plan = Plan {
        email: holder.email.into(),
        name: holder.name.into(),
        algorithm: Algorithm::EccP256,
        single_key: false,
    };
    let secrets = Secrets {
        pin: Secret::new(FACTORY_PIN)?,
        puk: Secret::new(FACTORY_PUK)?,
        new_pin: holder.pin()?,
        new_puk: Secret::new(holder.puk)?,
        management_key: None,
    };
    let issuer = Issuer::LocalCa {
        dir: ca_dir.to_owned(),
        days: DAYS,
    };
    enroll::enroll_with(open(holder)?, &plan, &secrets, &issuer)?;

    let mut card = open(holder)?;
    for (slot, usage) in [(Slot::Signature, "sign"), (Slot::KeyManagement, "encrypt")] {
        let path = holder.certificate_file(dir, usage);
        let der = mail::slot_certificate(&mut card, slot)?;
        let pem = host_driver::pem::encode("CERTIFICATE", &der);
        output::write(&path, pem.as_bytes(), Readers::Anyone)?;
        println!("Its {usage} certificate is {}.", path.display());
    }
    Ok(())
}

/// Copies the encrypted mail `sent` to `tampered` with one base64 character in the middle
/// of its body changed: the middle lies in the encrypted content, the recipients' keys
/// being at its start.
fn tamper(sent: &Path, tampered: &Path) -> anyhow::Result<()> {
    let mut bytes = std::fs::read(sent).with_context(|| format!("reading {}", sent.display()))?;
    let body = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .or_else(|| bytes.windows(4).position(|w| w == b"\r\n\r\n"))
        .context("the encrypted mail has no body")?;
    let middle = body + (bytes.len() - body) / 2;
    let Some(offset) = bytes[middle..].iter().position(u8::is_ascii_alphanumeric) else {
        bail!("the encrypted mail's body is not base64");
    };
    let byte = &mut bytes[middle + offset];
    *byte = if *byte == b'A' { b'B' } else { b'A' };
    output::write(tampered, &bytes, Readers::Owner)
}

fn step(what: &str) {
    println!("\n== {what}");
}
