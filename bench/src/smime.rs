//! S/MIME with `smime-card` on an in-process card (`--sim`) beside `openssl cms -stream`
//! with a software key of the same kind (P-256), on the same messages: sign as
//! multipart/signed and as opaque signed-data, verify (both verify smime-card's
//! multipart/signed), encrypt with AES-256-CBC and with AES-256-GCM to a P-256 recipient,
//! decrypt (each its own encryption). Every figure is a whole process, with its peak memory.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use test_pki::{KeyType, Profile, TestCa};

use crate::Plan;
use crate::measure::{alternate, process, setup};
use crate::message;
use crate::programs::sibling;
use crate::report::Row;

const SECTION: &str = "S/MIME";
const PIN: &str = "123456";

/// The message sizes in MiB and how many runs each.
fn sizes(quick: bool) -> &'static [(u64, usize)] {
    if quick {
        &[(1, 5), (100, 3)]
    } else {
        &[(1, 9), (100, 3), (1024, 3)]
    }
}

pub fn run(plan: &Plan) -> Result<Vec<Row>> {
    // Removed when dropped, with every message and output in it.
    let dir = tempfile::tempdir_in(&plan.work)?;
    let fixture = Fixture::new(dir.path())?;
    let mut rows = Vec::new();
    for &(mib, runs) in sizes(plan.quick) {
        rows.extend(fixture.size(mib, runs)?);
    }
    Ok(rows)
}

/// One operation, as the arguments of `smime-card` and of `openssl cms`, in the fixture's
/// directory.
struct Operation {
    item: String,
    ours: String,
    peer: String,
    peer_name: &'static str,
    /// The files no later operation reads, removed at once: a GiB message makes several.
    spent: &'static [&'static str],
}

/// The content ciphers encrypt and decrypt are measured with: the name in the table, in
/// smime-card's `--cipher`, and openssl's option (AuthEnvelopedData for GCM, which openssl
/// writes from 3.0 on).
const CIPHERS: [(&str, &str, &str); 2] = [
    ("AES-256-CBC", "aes256-cbc", "-aes-256-cbc"),
    ("AES-256-GCM", "aes256-gcm", "-aes-256-gcm"),
];

/// In order: verify reads what sign wrote, each decrypt what the encrypt before it wrote.
fn operations() -> Vec<Operation> {
    let mut operations = vec![
        Operation {
            item: "sign (multipart/signed)".into(),
            ours: "sign --in msg.txt --out signed.eml --pin-env PIN".into(),
            peer: "-sign -stream -in msg.txt -signer soft-sign.pem -inkey soft-sign.key \
                   -out peer.eml"
                .into(),
            peer_name: "openssl cms -sign -stream",
            spent: &["peer.eml"],
        },
        Operation {
            item: "sign --opaque".into(),
            ours: "sign --opaque --in msg.txt --out opaque.eml --pin-env PIN".into(),
            peer: "-sign -stream -nodetach -in msg.txt -signer soft-sign.pem \
                   -inkey soft-sign.key -out peer.eml"
                .into(),
            peer_name: "openssl cms -sign -stream -nodetach",
            spent: &["opaque.eml", "peer.eml"],
        },
        Operation {
            item: "verify (multipart/signed)".into(),
            ours: "verify --in signed.eml --ca ca.pem".into(),
            peer: "-verify -in signed.eml -CAfile ca.pem -purpose smimesign -out /dev/null".into(),
            peer_name: "openssl cms -verify",
            spent: &["signed.eml"],
        },
    ];
    for (name, ours, peer) in CIPHERS {
        operations.push(Operation {
            item: format!("encrypt ({name}, P-256 recipient)"),
            ours: format!("encrypt --in msg.txt --to enc.pem --cipher {ours} --out encrypted.eml"),
            peer: format!(
                "-encrypt -stream {peer} -in msg.txt -recip soft-enc.pem -out peer-encrypted.eml"
            ),
            peer_name: "openssl cms -encrypt -stream",
            spent: &[],
        });
        operations.push(Operation {
            item: format!("decrypt ({name})"),
            ours: "decrypt --in encrypted.eml --out decrypted.txt --pin-env PIN".into(),
            peer: "-decrypt -in peer-encrypted.eml -recip soft-enc.pem -inkey soft-enc.key \
                   -out decrypted.txt"
                .into(),
            peer_name: "openssl cms -decrypt",
            spent: &["encrypted.eml", "peer-encrypted.eml", "decrypted.txt"],
        });
    }
    operations
}

struct Fixture<'a> {
    dir: &'a Path,
    smime_card: std::path::PathBuf,
    ca: TestCa,
}

impl<'a> Fixture<'a> {
    /// A card with a P-256 signing key (9c) and a P-256 encryption key (9d), certified by
    /// a test CA, and software keys of the same kind certified alike for openssl.
    fn new(dir: &'a Path) -> Result<Fixture<'a>> {
        let fixture = Fixture {
            dir,
            smime_card: sibling("smime-card")?,
            ca: TestCa::new(dir),
        };
        let signing = Profile::signing("/CN=Alice", "alice@example.org");
        let encryption = Profile::encryption("/CN=Bob", "bob@example.org")
            .extension("keyUsage=critical,keyAgreement");
        for (slot, name, profile) in [("9c", "sign", &signing), ("9d", "enc", &encryption)] {
            let public = dir.join(format!("{name}.pub"));
            let generate = format!("card generate --slot {slot} --algorithm p256 --out");
            fixture.card_step(&generate, &public)?;
            let cert = fixture.ca.certify(&public, name, profile);
            let import = format!("card import-cert --slot {slot} --in");
            fixture.card_step(&import, &cert)?;
            fixture
                .ca
                .issue(&format!("soft-{name}"), KeyType::P256, profile);
        }
        Ok(fixture)
    }

    /// Runs `smime-card <args> <path>`, which must succeed.
    fn card_step(&self, args: &str, path: &Path) -> Result<()> {
        setup(self.ours().args(args.split_whitespace()).arg(path))?;
        Ok(())
    }

    /// `smime-card` on the card, the PIN in the environment.
    fn ours(&self) -> Command {
        let mut command = Command::new(&self.smime_card);
        command
            .current_dir(self.dir)
            .arg("--sim")
            .arg(self.dir.join("card.json"))
            .env("PIN", PIN);
        command
    }

    fn openssl(&self) -> Command {
        let mut command = Command::new("openssl");
        command.current_dir(self.dir).arg("cms");
        command
    }

    /// Every operation on a message of `mib` MiB, `runs` times each beside openssl.
    fn size(&self, mib: u64, runs: usize) -> Result<Vec<Row>> {
        let size = if mib >= 1024 {
            format!("{} GiB", mib / 1024)
        } else {
            format!("{mib} MiB")
        };
        message::write(&self.dir.join("msg.txt"), mib)?;
        let mut rows = Vec::new();
        for operation in operations() {
            let samples = alternate(
                runs,
                || process(self.ours().args(operation.ours.split_whitespace())),
                || process(self.openssl().args(operation.peer.split_whitespace())),
            )?;
            self.remove(operation.spent)?;
            rows.push(Row::beside(
                SECTION,
                format!("{}, {size}", operation.item),
                samples,
                operation.peer_name,
            ));
        }
        self.remove(&["msg.txt"])?;
        Ok(rows)
    }

    fn remove(&self, files: &[&str]) -> Result<()> {
        for file in files {
            let path = self.dir.join(file);
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
        Ok(())
    }
}
