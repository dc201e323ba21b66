//! yubico-piv-tool (Debian's 2.2.0) against card-sim through pcscd: every action a user
//! of a YubiKey's PIV applet reaches for, checked by its output, its exit code and, where
//! a key is involved, by OpenSSL.

mod common;

use common::{Bench, DEFAULT_MGMT_KEY, DEFAULT_PIN, DEFAULT_PUK, contains_bytes, log_tail};

/// The algorithms `yubico-piv-tool --help` offers for `-A`.
fn offered_algorithms() -> Vec<String> {
    let help = e2e::run_ok("yubico-piv-tool", &["--help"]);
    let start = help.find("--algorithm=ENUM").expect("--help documents -A");
    let section = &help[start..];
    let end = section.find("default=").expect("-A has a default");
    section[..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// What `openssl pkey -pubin -text` must print for a key of `algorithm`.
fn expected_key_text(algorithm: &str) -> &'static str {
    match algorithm {
        "RSA1024" => "Public-Key: (1024 bit)",
        "RSA2048" => "Public-Key: (2048 bit)",
        "RSA3072" => "Public-Key: (3072 bit)",
        "RSA4096" => "Public-Key: (4096 bit)",
        "ECCP256" => "ASN1 OID: prime256v1",
        "ECCP384" => "ASN1 OID: secp384r1",
        "ED25519" => "ED25519 Public-Key",
        "X25519" => "X25519 Public-Key",
        other => panic!("yubico-piv-tool offers an algorithm this test does not know: {other}"),
    }
}

/// How `card-sim show` names the algorithm.
fn card_sim_name(algorithm: &str) -> &'static str {
    match algorithm {
        "RSA1024" => "RSA-1024",
        "RSA2048" => "RSA-2048",
        "RSA3072" => "RSA-3072",
        "RSA4096" => "RSA-4096",
        "ECCP256" => "ECC P-256",
        "ECCP384" => "ECC P-384",
        "ED25519" => "Ed25519",
        "X25519" => "X25519",
        other => panic!("unknown algorithm {other}"),
    }
}

fn card_sim_show(bench: &Bench) -> String {
    let state = bench.card.state.to_str().expect("utf-8 path").to_owned();
    e2e::run_ok(
        e2e::card_sim_binary().to_str().expect("utf-8 path"),
        &["show", "--state", &state],
    )
}

#[test]
fn version_and_status() {
    let bench = Bench::with(&["--serial", "12345678"]);
    let version = bench.piv_tool_ok(&["-a", "version"]);
    assert!(
        version.contains("Application version 5.7.1 found."),
        "{version}"
    );

    let status = bench.piv_tool_ok(&["-a", "status"]);
    assert!(status.contains("Version:\t5.7.1"), "{status}");
    assert!(status.contains("Serial Number:\t12345678"), "{status}");
    // A fresh card has a CHUID (FASC-N of a non-federal card, then the GUID) and no CCC.
    let chuid = status
        .lines()
        .find_map(|l| l.strip_prefix("CHUID:\t"))
        .unwrap_or_else(|| panic!("no CHUID:\n{status}"));
    assert!(
        chuid.starts_with("3019d4e739da739ced39ce739d836858210842108421c84210c3eb3410"),
        "{chuid}"
    );
    assert!(status.contains("CCC:\tNo data available"), "{status}");
    assert!(status.contains("PIN tries left:\t3"), "{status}");
    // No certificate, so no slot is listed.
    assert!(!status.contains("Slot 9a"), "{status}");
}

#[test]
fn generate_every_offered_algorithm() {
    let offered = offered_algorithms();
    for base in ["RSA1024", "RSA2048", "ECCP256", "ECCP384"] {
        assert!(
            offered.iter().any(|a| a == base),
            "yubico-piv-tool --help does not offer {base}: {offered:?}"
        );
    }
    let bench = Bench::new();
    let slots = ["9a", "9c", "9d", "9e", "82", "83", "84", "85"];
    for (i, algorithm) in offered.iter().enumerate() {
        let slot = slots[i];
        let public = bench.path(&format!("{slot}.pub.pem"));
        // The first generation names the default management key, the others rely on the
        // tool's default.
        let key_arg = format!("-k{DEFAULT_MGMT_KEY}");
        let mut args = vec!["-a", "generate", "-s", slot, "-A", algorithm, "-o", &public];
        if i == 0 {
            args.insert(0, &key_arg);
        }
        let started = std::time::Instant::now();
        let text = bench.piv_tool_ok(&args);
        assert!(
            text.contains("Successfully generated a new private key."),
            "{text}"
        );
        eprintln!("generate {algorithm} in {slot}: {:?}", started.elapsed());
        let parsed = bench.openssl_ok(&["pkey", "-pubin", "-in", &public, "-text", "-noout"]);
        assert!(
            parsed.contains(expected_key_text(algorithm)),
            "{algorithm}:\n{parsed}"
        );
    }
    let show = card_sim_show(&bench);
    for (i, algorithm) in offered.iter().enumerate() {
        let line = show
            .lines()
            .find(|l| l.trim_start().starts_with(slots[i]))
            .unwrap_or_else(|| panic!("card-sim show lists no slot {}:\n{show}", slots[i]));
        assert!(
            line.contains(&format!("{}, generated", card_sim_name(algorithm))),
            "{line}"
        );
    }
}

#[test]
fn import_and_read_certificate() {
    let bench = Bench::new();
    let (_, cert) = bench.key_with_certificate("9a", "ECCP256", "/CN=test");
    let read = bench.path("read.pem");
    bench.piv_tool_ok(&["-a", "read-certificate", "-s", "9a", "-o", &read]);
    let der = |path: &str| test_pki::der_of(std::path::Path::new(path));
    assert_eq!(
        der(&read),
        der(&cert),
        "read-certificate returned another certificate"
    );

    let status = bench.piv_tool_ok(&["-a", "status"]);
    assert!(status.contains("Slot 9a:"), "{status}");
    assert!(status.contains("Algorithm:\tECCP256"), "{status}");
    assert!(status.contains("Subject DN:\tCN=test"), "{status}");

    // A slot without a certificate.
    let text = bench.piv_tool_fails(&["-a", "read-certificate", "-s", "9c"]);
    assert!(text.contains("Failed fetching certificate"), "{text}");
}

#[test]
fn test_signature_and_decipher() {
    let bench = Bench::new();
    for algorithm in ["RSA2048", "ECCP256", "ECCP384", "RSA1024"] {
        let (_, sign_cert) =
            bench.key_with_certificate("9a", algorithm, &format!("/CN=sign {algorithm}"));
        let (_, decipher_cert) =
            bench.key_with_certificate("9d", algorithm, &format!("/CN=decipher {algorithm}"));
        let text = bench.piv_tool_test_signature("9a", &sign_cert);
        let expected = if algorithm.starts_with("RSA") {
            "Successful RSA verification."
        } else {
            "Successful ECDSA verification."
        };
        assert!(text.contains(expected), "{algorithm}: {text}");
        let text = bench.piv_tool_ok(&[
            "-a",
            "verify-pin",
            "-P",
            DEFAULT_PIN,
            "-a",
            "test-decipher",
            "-s",
            "9d",
            "-i",
            &decipher_cert,
        ]);
        let expected = if algorithm.starts_with("RSA") {
            "Successfully performed RSA decryption!"
        } else {
            "Successfully performed ECDH exchange with card."
        };
        assert!(text.contains(expected), "{algorithm}: {text}");
    }
    // Without the PIN the card refuses the private key.
    let (_, cert) = bench.key_with_certificate("9a", "ECCP256", "/CN=no pin");
    bench.piv_tool_fails(&["-a", "test-signature", "-s", "9a", "-i", &cert]);
}

#[test]
fn wrong_pins_block_and_unblock_pin() {
    let bench = Bench::new();
    let first = bench.piv_tool_fails(&["-a", "verify-pin", "-P", "000000"]);
    assert!(
        first.contains("Pin verification failed, 2 tries left before pin is blocked."),
        "{first}"
    );
    let second = bench.piv_tool_fails(&["-a", "verify-pin", "-P", "000000"]);
    assert!(
        second.contains("Pin verification failed, 1 tries left before pin is blocked."),
        "{second}"
    );
    let third = bench.piv_tool_fails(&["-a", "verify-pin", "-P", "000000"]);
    assert!(third.contains("Pin code blocked"), "{third}");
    // Blocked: even the right PIN is refused.
    let right = bench.piv_tool_fails(&["-a", "verify-pin", "-P", DEFAULT_PIN]);
    assert!(right.contains("Pin code blocked"), "{right}");
    let status = bench.piv_tool_ok(&["-a", "status"]);
    assert!(status.contains("PIN tries left:\t0"), "{status}");

    let text = bench.piv_tool_ok(&["-a", "unblock-pin", "-P", DEFAULT_PUK, "-N", "654321"]);
    assert!(
        text.contains("Successfully unblocked the pin code."),
        "{text}"
    );
    let text = bench.piv_tool_ok(&["-a", "verify-pin", "-P", "654321"]);
    assert!(text.contains("Successfully verified PIN."), "{text}");
    let status = bench.piv_tool_ok(&["-a", "status"]);
    assert!(status.contains("PIN tries left:\t3"), "{status}");
    let old = bench.piv_tool_fails(&["-a", "verify-pin", "-P", DEFAULT_PIN]);
    assert!(old.contains("2 tries left"), "{old}");
}

#[test]
fn change_pin_and_puk() {
    let bench = Bench::new();
    let text = bench.piv_tool_ok(&["-a", "change-pin", "-P", DEFAULT_PIN, "-N", "24680135"]);
    assert!(
        text.contains("Successfully changed the pin code."),
        "{text}"
    );
    bench.piv_tool_ok(&["-a", "verify-pin", "-P", "24680135"]);
    bench.piv_tool_fails(&["-a", "verify-pin", "-P", DEFAULT_PIN]);
    // A wrong current PIN changes nothing.
    let text = bench.piv_tool_fails(&["-a", "change-pin", "-P", "999999", "-N", "111111"]);
    assert!(text.contains("tries left"), "{text}");
    bench.piv_tool_ok(&["-a", "verify-pin", "-P", "24680135"]);

    let text = bench.piv_tool_ok(&["-a", "change-puk", "-P", DEFAULT_PUK, "-N", "87654321"]);
    assert!(
        text.contains("Successfully changed the puk code."),
        "{text}"
    );
    let text = bench.piv_tool_fails(&["-a", "unblock-pin", "-P", DEFAULT_PUK, "-N", "111111"]);
    assert!(
        text.contains("Failed verifying puk code, now 2 tries left before blocked."),
        "{text}"
    );
    bench.piv_tool_ok(&["-a", "unblock-pin", "-P", "87654321", "-N", "111111"]);
    bench.piv_tool_ok(&["-a", "verify-pin", "-P", "111111"]);
}

#[test]
fn set_management_key() {
    let bench = Bench::new();
    let new_key = "0a0b0c0d0e0f10111213141516171819202122232425262a";
    let text = bench.piv_tool_ok(&["-a", "set-mgm-key", "-n", new_key]);
    assert!(
        text.contains("Successfully set new management key."),
        "{text}"
    );

    let with_new = format!("-k{new_key}");
    let public = bench.path("new.pub.pem");
    bench.piv_tool_ok(&[
        &with_new, "-a", "generate", "-s", "9a", "-A", "ECCP256", "-o", &public,
    ]);
    bench.openssl_ok(&["pkey", "-pubin", "-in", &public, "-noout"]);

    // The old key, named or by default, no longer authenticates.
    let with_old = format!("-k{DEFAULT_MGMT_KEY}");
    let text = bench.piv_tool_fails(&[&with_old, "-a", "generate", "-s", "9c", "-A", "ECCP256"]);
    assert!(
        text.contains("Failed authentication with the application."),
        "{text}"
    );
    let text = bench.piv_tool_fails(&["-a", "generate", "-s", "9c", "-A", "ECCP256"]);
    assert!(
        text.contains("Failed authentication with the application."),
        "{text}"
    );

    // And back.
    bench.piv_tool_ok(&[&with_new, "-a", "set-mgm-key", "-n", DEFAULT_MGMT_KEY]);
    bench.generate("9c", "ECCP256", "back");
}

#[test]
fn pin_retries() {
    let bench = Bench::new();
    // Without a verified PIN the card refuses (6982 after the management key).
    let text = bench.piv_tool_fails(&[
        "-a",
        "pin-retries",
        "--pin-retries",
        "5",
        "--puk-retries",
        "4",
    ]);
    assert!(text.contains("Failed changing pin retries."), "{text}");

    bench.piv_tool_ok(&["-a", "change-pin", "-P", DEFAULT_PIN, "-N", "777777"]);
    let text = bench.piv_tool_ok(&[
        "-a",
        "verify-pin",
        "-P",
        "777777",
        "-a",
        "pin-retries",
        "--pin-retries",
        "5",
        "--puk-retries",
        "4",
    ]);
    assert!(
        text.contains("Successfully changed pin retries to 5 and puk retries to 4"),
        "{text}"
    );
    let status = bench.piv_tool_ok(&["-a", "status"]);
    assert!(status.contains("PIN tries left:\t5"), "{status}");
    // Both codes went back to their defaults.
    bench.piv_tool_fails(&["-a", "verify-pin", "-P", "777777"]);
    let text = bench.piv_tool_fails(&["-a", "verify-pin", "-P", "000000"]);
    assert!(text.contains("3 tries left"), "{text}");
    bench.piv_tool_ok(&["-a", "verify-pin", "-P", DEFAULT_PIN]);
    let text = bench.piv_tool_fails(&["-a", "unblock-pin", "-P", "00000000", "-N", "123456"]);
    assert!(
        text.contains("now 3 tries left"),
        "PUK retries should be 4: {text}"
    );
    bench.piv_tool_ok(&["-a", "unblock-pin", "-P", DEFAULT_PUK, "-N", DEFAULT_PIN]);
}

#[test]
fn reset_after_blocking_pin_and_puk() {
    let bench = Bench::new();
    bench.key_with_certificate("9a", "ECCP256", "/CN=before reset");
    bench.piv_tool_ok(&["-a", "change-pin", "-P", DEFAULT_PIN, "-N", "13579246"]);
    let new_key = "1112131415161718212223242526272831323334353637a8";
    bench.piv_tool_ok(&["-a", "set-mgm-key", "-n", new_key]);

    let text = bench.piv_tool_fails(&["-a", "reset"]);
    assert!(
        text.contains("Reset failed, are pincodes blocked?"),
        "{text}"
    );

    for _ in 0..3 {
        bench.piv_tool_fails(&["-a", "verify-pin", "-P", "000000"]);
    }
    let text = bench.piv_tool_fails(&["-a", "reset"]);
    assert!(
        text.contains("Reset failed"),
        "PIN blocked but PUK not: {text}"
    );
    for _ in 0..3 {
        bench.piv_tool_fails(&["-a", "unblock-pin", "-P", "00000000", "-N", "000000"]);
    }
    let text = bench.piv_tool_fails(&["-a", "unblock-pin", "-P", DEFAULT_PUK, "-N", "000000"]);
    assert!(text.contains("The puk code is blocked"), "{text}");

    let text = bench.piv_tool_ok(&["-a", "reset"]);
    assert!(
        text.contains("Successfully reset the application."),
        "{text}"
    );

    let status = bench.piv_tool_ok(&["-a", "status"]);
    assert!(status.contains("PIN tries left:\t3"), "{status}");
    assert!(
        !status.contains("Slot 9a"),
        "the certificate survived RESET:\n{status}"
    );
    bench.piv_tool_ok(&["-a", "verify-pin", "-P", DEFAULT_PIN]);
    bench.piv_tool_ok(&["-a", "change-puk", "-P", DEFAULT_PUK, "-N", DEFAULT_PUK]);
    // The default management key works again.
    bench.generate("9a", "ECCP256", "after-reset");
}

#[test]
fn attestation_verifies_against_f9() {
    let bench = Bench::with(&["--serial", "12345678"]);
    let public = bench.generate("9a", "ECCP256", "attested");
    let (attest, f9) = bench.attest_verified("9a");
    let subject = bench.openssl_ok(&[
        "x509", "-in", &attest, "-noout", "-subject", "-nameopt", "RFC2253",
    ]);
    assert_eq!(subject.trim(), "subject=CN=YubiKey PIV Attestation 9a");
    let issuer = bench.openssl_ok(&[
        "x509", "-in", &attest, "-noout", "-issuer", "-nameopt", "RFC2253",
    ]);
    let f9_subject = bench.openssl_ok(&[
        "x509", "-in", &f9, "-noout", "-subject", "-nameopt", "RFC2253",
    ]);
    assert_eq!(
        issuer.trim().trim_start_matches("issuer="),
        f9_subject.trim().trim_start_matches("subject=")
    );

    // The attested key is the generated one.
    let attested_key = bench.openssl_ok(&["x509", "-in", &attest, "-noout", "-pubkey"]);
    assert_eq!(
        attested_key.trim(),
        String::from_utf8_lossy(&bench.read("attested.pub.pem")).trim(),
        "{public}"
    );

    // Yubico's extensions: firmware 5.7.1 (…41482.3.3) and serial 12345678 (…41482.3.7).
    bench.openssl_ok(&[
        "x509",
        "-in",
        &attest,
        "-outform",
        "DER",
        "-out",
        &bench.path("attest.der"),
    ]);
    let der = bench.read("attest.der");
    let yubico_arc = [0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0xC4, 0x0A, 0x03];
    let firmware = [&yubico_arc[..], &[0x03, 0x04, 0x03, 0x05, 0x07, 0x01]].concat();
    assert!(
        contains_bytes(&der, &firmware),
        "no firmware extension 05 07 01 in the attestation"
    );
    let serial = [
        &yubico_arc[..],
        &[0x07, 0x04, 0x06, 0x02, 0x04, 0x00, 0xBC, 0x61, 0x4E],
    ]
    .concat();
    assert!(
        contains_bytes(&der, &serial),
        "no serial extension 12345678 in the attestation"
    );

    // Nothing to attest in an empty slot, nor for an imported key.
    let text = bench.piv_tool_fails(&["-a", "attest", "-s", "9c"]);
    assert!(text.contains("Failed to attest data."), "{text}");
    let imported = test_pki::KeyType::P256.generate(bench.dir.path(), "imported");
    let imported = imported.to_str().unwrap();
    let text = bench.piv_tool_ok(&["-a", "import-key", "-s", "9c", "-i", imported]);
    assert!(
        text.contains("Successfully imported a new private key."),
        "{text}"
    );
    let text = bench.piv_tool_fails(&["-a", "attest", "-s", "9c"]);
    assert!(
        text.contains("Failed to attest data."),
        "{text}\n{}",
        log_tail(&bench.card)
    );
}
