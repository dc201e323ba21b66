//! Through the real stack: the round trip of one APDU via pcscd and vpcd (SCardTransmit
//! in a loop), and the wall time of yubico-piv-tool commands against `card-sim serve`.
//!
//! Needs pcscd with the vpcd readers (`.ci/pcsc-env.sh start`).

use std::ffi::CString;
use std::process::Command;

use apdu_spec::piv::command::GetVersion;
use criterion::{Criterion, criterion_group, criterion_main};
use e2e::SimCard;
use test_pki::{Profile, TestCa};

fn yubico(card: &SimCard, args: &[&str]) -> std::process::Output {
    let out = Command::new("yubico-piv-tool")
        .arg("-r")
        .arg(card.reader.name)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "yubico-piv-tool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A key in 9a with a certificate; returns the certificate's path, which test-signature
/// reads the public key from.
fn provision(card: &SimCard, algorithm: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let public = dir.join("pub.pem");
    yubico(
        card,
        &[
            "-s",
            "9a",
            "-A",
            algorithm,
            "-a",
            "generate",
            "-o",
            public.to_str().unwrap(),
        ],
    );
    let cert = TestCa::new(dir).certify(&public, "cert", &Profile::new("/CN=bench"));
    yubico(
        card,
        &[
            "-s",
            "9a",
            "-a",
            "import-certificate",
            "-i",
            cert.to_str().unwrap(),
        ],
    );
    cert
}

fn bench(c: &mut Criterion) {
    let card = SimCard::start();
    {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("pcscd is running");
        let reader = CString::new(card.reader.name).unwrap();
        let pcsc_card = ctx
            .connect(&reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .unwrap();
        let version = GetVersion.to_apdu().encode().unwrap();
        let mut buf = [0u8; 258];
        c.bench_function("pcscd_round_trip_get_version", |b| {
            b.iter(|| {
                let r = pcsc_card.transmit(&version, &mut buf).unwrap();
                assert_eq!(r, &[5, 7, 1, 0x90, 0x00]);
            })
        });
    }

    let mut group = c.benchmark_group("yubico_piv_tool");
    group.sample_size(20);
    group.bench_function("status", |b| b.iter(|| yubico(&card, &["-a", "status"])));
    for (name, algorithm) in [("p256", "ECCP256"), ("rsa2048", "RSA2048")] {
        let dir = tempfile::tempdir().unwrap();
        let cert = provision(&card, algorithm, dir.path());
        let cert = cert.to_str().unwrap();
        group.bench_function(format!("verify_pin_test_signature_{name}"), |b| {
            b.iter(|| {
                yubico(
                    &card,
                    &[
                        "-P",
                        "123456",
                        "-a",
                        "verify-pin",
                        "-a",
                        "test-signature",
                        "-s",
                        "9a",
                        "-i",
                        cert,
                    ],
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
