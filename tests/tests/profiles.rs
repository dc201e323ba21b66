//! The card profiles through the real clients: what Debian's yubico-piv-tool 2.2, OpenSC
//! 0.23 (opensc-tool, pkcs11-tool) and smime-card with openssl make of each model, and
//! where a client cannot serve a model, the clear failure it gives. The README's matrix
//! lists the same pairs. The default profile has suites of its own (yubico_piv_tool.rs,
//! opensc.rs, smime_interop.rs); a few representative operations per model run here.

mod common;

use common::{Bench, contains_bytes, openssl_verify, pkcs11_sign};

/// OpenSC's view of the card: its ATR, and that its PIV driver takes it.
fn opensc_sees(bench: &Bench, atr: &str) {
    let text = bench.opensc_ok("opensc-tool", &["-r", bench.reader(), "-a", "-n"]);
    assert!(text.contains(atr), "{text}");
    assert!(
        text.contains("Personal Identity Verification Card"),
        "{text}"
    );
}

/// pkcs11-tool signs with the P-256 key of 9a (PKCS#11 ID 01); openssl checks it against
/// `public`.
fn pkcs11_signs_with_9a(bench: &Bench, public: &str) {
    let sig = pkcs11_sign(
        bench,
        "01",
        "ECDSA-SHA256",
        &["--signature-format", "openssl"],
        "sig-9a",
    );
    openssl_verify(bench, "-sha256", public, &sig, &[]);
}

/// smime-card generates a P-256 key in 9c, stores a certificate for it, signs a mail, and
/// openssl verifies the mail.
fn smime_card_signs_mail_openssl_verifies(bench: &Bench) {
    let public = bench.path("9c.pub.pem");
    let generate = ["card", "generate", "--slot", "9c", "--algorithm", "p256"];
    bench.smime_card_ok(&[&generate[..], &["--out", &public]].concat());
    let cert = bench.certificate_for(&public, "/CN=Alice Example", "alice");
    bench.smime_card_ok(&["card", "import-cert", "--slot", "9c", "--in", &cert]);
    bench.write(
        "message.eml",
        b"From: alice@example.org\nTo: bob@example.org\nSubject: profiles\n\nHello Bob\n",
    );
    let signed = bench.path("signed.eml");
    let sign = ["sign", "--in", "message.eml", "--out", &signed];
    bench.smime_card_ok(&[&sign[..], &["--pin-env", "CARD_PIN"]].concat());
    let ca = bench.path("ca.pem");
    let verified = bench.openssl_ok(&[
        "cms",
        "-verify",
        "-in",
        &signed,
        "-CAfile",
        &ca,
        "-out",
        "/dev/null",
    ]);
    assert!(verified.contains("Verification successful"), "{verified}");
}

/// Yubico's attestation extension …41482.3.3 with the firmware `version`.
fn attestation_names_firmware(bench: &Bench, attestation: &str, version: [u8; 3]) {
    let der = bench.path("attest.der");
    bench.openssl_ok(&["x509", "-in", attestation, "-outform", "DER", "-out", &der]);
    let yubico_firmware = [0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0xC4, 0x0A, 0x03, 0x03];
    let extension = [&yubico_firmware[..], &[0x04, 0x03], &version].concat();
    assert!(
        contains_bytes(&bench.read("attest.der"), &extension),
        "no firmware {version:?} in the attestation"
    );
}

#[test]
fn yubikey_5_7_as_shipped_needs_a_client_that_knows_aes_192() {
    let bench = Bench::of_profile("yubikey-5.7");
    opensc_sees(
        &bench,
        "3b:fd:13:00:00:81:31:fe:15:80:73:c0:21:c0:57:59:75:62:69:4b:65:79:40",
    );
    let version = bench.piv_tool_ok(&["-a", "version"]);
    assert!(
        version.contains("Application version 5.7.1 found."),
        "{version}"
    );
    // yubico-piv-tool 2.2 knows only 3DES management keys: the factory AES-192 key fails.
    let text = bench.piv_tool_fails(&["-a", "generate", "-s", "9a", "-A", "ECCP256"]);
    assert!(
        text.contains("Failed authentication with the application."),
        "{text}"
    );
    // smime-card learns AES-192 from the metadata and administers the card.
    let status = bench.smime_card_ok(&["card", "status"]);
    assert!(status.contains("AES-192, factory default"), "{status}");
    let public = bench.path("9a.pub.pem");
    let generate = ["card", "generate", "--slot", "9a", "--algorithm", "p256"];
    bench.smime_card_ok(&[&generate[..], &["--out", &public]].concat());
    let cert = bench.certificate_for(&public, "/CN=five seven", "9a");
    bench.smime_card_ok(&["card", "import-cert", "--slot", "9a", "--in", &cert]);
    pkcs11_signs_with_9a(&bench, &public);
    smime_card_signs_mail_openssl_verifies(&bench);
}

#[test]
fn yubikey_5_4_with_yubico_piv_tool_opensc_and_smime_card() {
    let bench = Bench::of_profile("yubikey-5.4");
    let status = bench.piv_tool_ok(&["-a", "status"]);
    assert!(status.contains("Version:\t5.4.3"), "{status}");
    assert!(status.contains("Serial Number:\t1234567"), "{status}");
    // A YubiKey ships without a CHUID.
    assert!(status.contains("CHUID:\tNo data available"), "{status}");
    let (public, _) = bench.key_with_certificate("9a", "ECCP256", "/CN=five four");
    let (attestation, _) = bench.attest_verified("9a");
    attestation_names_firmware(&bench, &attestation, [5, 4, 3]);
    pkcs11_signs_with_9a(&bench, &public);
    // Ed25519 came with 5.7: the card refuses it and smime-card says so.
    let out = bench.smime_card(&["card", "generate", "--slot", "9d", "--algorithm", "ed25519"]);
    let text = e2e::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the card does not generate Ed25519 keys"),
        "{text}"
    );
    smime_card_signs_mail_openssl_verifies(&bench);
}

#[test]
fn yubikey_4_3_tells_its_serial_through_the_otp_application_and_attests() {
    let bench = Bench::of_profile("yubikey-4.3");
    opensc_sees(
        &bench,
        "3b:f8:13:00:00:81:31:fe:15:59:75:62:69:6b:65:79:34:d4",
    );
    let status = bench.piv_tool_ok(&["-a", "status"]);
    assert!(status.contains("Version:\t4.3.7"), "{status}");
    assert!(status.contains("Serial Number:\t1234567"), "{status}");
    assert!(status.contains("PIN tries left:\t3"), "{status}");
    let (public, cert) = bench.key_with_certificate("9a", "ECCP256", "/CN=four three");
    let text = bench.piv_tool_test_signature("9a", &cert);
    assert!(text.contains("Successful ECDSA verification."), "{text}");
    let (attestation, _) = bench.attest_verified("9a");
    attestation_names_firmware(&bench, &attestation, [4, 3, 7]);
    pkcs11_signs_with_9a(&bench, &public);
    // No metadata: smime-card finds the 3DES key by asking, and knows no tries total.
    let status = bench.smime_card_ok(&["card", "status"]);
    assert!(status.contains("Version:        4.3.7"), "{status}");
    smime_card_signs_mail_openssl_verifies(&bench);
}

#[test]
fn a_plain_piv_card_shows_its_government_objects_and_no_yubikey_instructions() {
    let bench = Bench::of_profile("piv");
    opensc_sees(&bench, "3b:d6:96:00:81:b1:fe:45:1f:87:80:31:c1:52:41:1a:2a");
    // No GET VERSION: the tool says so (and exits 0 all the same).
    let text = e2e::output_text(&bench.piv_tool(&["-a", "version"]));
    assert!(
        text.contains("Failed to retrieve application version."),
        "{text}"
    );
    let status = bench.piv_tool_ok(&["-a", "status"]);
    // A FASC-N of agency 0032 rather than the non-federal one of a YubiKey, and a CCC.
    let chuid = status
        .lines()
        .find_map(|l| l.strip_prefix("CHUID:\t"))
        .unwrap_or_else(|| panic!("no CHUID:\n{status}"));
    assert!(chuid.starts_with("3019d0439458210c2c"), "{chuid}");
    assert!(status.contains("CCC:\tf015a000000116ff02"), "{status}");
    let (public, _) = bench.key_with_certificate("9a", "ECCP256", "/CN=plain piv");
    let text = bench.piv_tool_fails(&["-a", "attest", "-s", "9a"]);
    assert!(text.contains("Failed to attest data."), "{text}");
    pkcs11_signs_with_9a(&bench, &public);
    let status = bench.smime_card_ok(&["card", "status"]);
    assert!(status.contains("no (a plain PIV card)"), "{status}");
    smime_card_signs_mail_openssl_verifies(&bench);
}
