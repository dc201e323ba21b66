//! yubico-piv-tool against `card-sim serve` through pcscd: `-a status`, and
//! `-a verify-pin -a test-signature` with a P-256 and an RSA-2048 key in 9a, each a whole
//! process from start to exit. There is no YubiKey here to compare with: no peer.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use e2e::Reader;
use test_pki::{Profile, TestCa};

use crate::Plan;
use crate::measure::{process, repeat, setup};
use crate::report::Row;
use crate::served::Served;

const SECTION: &str = "yubico-piv-tool";

pub fn run(plan: &Plan) -> Result<Vec<Row>> {
    let dir = tempfile::tempdir_in(&plan.work)?;
    let reader = Reader::claim();
    let _card = Served::card_sim(&reader, &dir.path().join("card.json"))?;
    let tool = |args: &[&str]| {
        let mut command = Command::new("yubico-piv-tool");
        command.arg("-r").arg(reader.name).args(args);
        command
    };
    let runs = if plan.quick { 5 } else { 15 };

    let mut rows = vec![Row::alone(
        SECTION,
        "-a status",
        &repeat(runs, || process(&mut tool(&["-a", "status"])))?,
    )];
    let ca = TestCa::new(dir.path());
    for (name, algorithm) in [("P-256", "ECCP256"), ("RSA-2048", "RSA2048")] {
        let cert = provision(&tool, &ca, dir.path(), algorithm)?;
        let cert = cert.to_string_lossy();
        let args = [
            "-P",
            "123456",
            "-a",
            "verify-pin",
            "-a",
            "test-signature",
            "-s",
            "9a",
            "-i",
            &cert,
        ];
        rows.push(Row::alone(
            SECTION,
            format!("-a verify-pin -a test-signature, {name}"),
            &repeat(runs, || process(&mut tool(&args)))?,
        ));
    }
    Ok(rows)
}

/// A new key in 9a and a certificate for it on the card; returns the certificate's path
/// (test-signature checks the signature with its key).
fn provision(
    tool: &impl Fn(&[&str]) -> Command,
    ca: &TestCa,
    dir: &Path,
    algorithm: &str,
) -> Result<PathBuf> {
    let public = dir.join(format!("{algorithm}.pub"));
    let public_arg = public.to_string_lossy();
    setup(&mut tool(&[
        "-s",
        "9a",
        "-A",
        algorithm,
        "-a",
        "generate",
        "-o",
        &public_arg,
    ]))?;
    let cert = ca.certify(&public, algorithm, &Profile::new("/CN=bench"));
    let cert_arg = cert.to_string_lossy();
    setup(&mut tool(&[
        "-s",
        "9a",
        "-a",
        "import-certificate",
        "-i",
        &cert_arg,
    ]))?;
    Ok(cert)
}
