//! A card enrolled through pcscd by `smime-card enroll --ca` (keys born on the card, its
//! requests issued by the local CA, the card personalised) works with the real clients:
//! OpenSC's PKCS#11 module and yubico-piv-tool sign with 9C and decrypt (ECDH) with 9D under
//! the new PIN, and the factory PIN no longer opens it.

mod common;

use std::process::Command;

use common::{Bench, DEFAULT_PIN, ENROLMENT_SECRETS, NEW_PIN, enroll_args};
use e2e::{output_text, smime_card_binary};

/// `smime-card --reader <the bench's reader> <args>` with the enrolment's secrets in the
/// environment; must succeed.
fn smime_card_ok(bench: &Bench, args: &[&str]) -> String {
    let out = Command::new(smime_card_binary())
        .env_remove("SMIME_CARD_READER")
        .env_remove("SMIME_CARD_SIM")
        .args(["--reader", bench.reader()])
        .args(args)
        .envs(ENROLMENT_SECRETS)
        .output()
        .expect("smime-card runs");
    let text = output_text(&out);
    assert!(out.status.success(), "smime-card {args:?} failed:\n{text}");
    text
}

/// A card enrolled for Alice by the local CA in the bench's directory.
fn enrolled() -> Bench {
    let bench = Bench::new();
    let ca = bench.path("ca");
    smime_card_ok(
        &bench,
        &["ca", "init", "--dir", &ca, "--name", "Example Mail CA"],
    );
    let enrolled = smime_card_ok(&bench, &enroll_args("alice@example.org", "Alice", &ca));
    assert!(enrolled.contains("enrolled and personalised"), "{enrolled}");
    for slot in ["9c", "9d"] {
        let cert = bench.path(&format!("{slot}.pem"));
        smime_card_ok(
            &bench,
            &["card", "export-cert", "--slot", slot, "--out", &cert],
        );
        let public = bench.path(&format!("{slot}.pub.pem"));
        bench.openssl_ok(&["x509", "-in", &cert, "-pubkey", "-noout", "-out", &public]);
    }
    bench
}

#[test]
fn an_enrolled_card_signs_and_decrypts_through_pkcs11_under_the_new_pin() {
    let bench = enrolled();
    let message = bench.path("message");
    bench.write("message", b"signed through PKCS#11 after enrolment");
    let signature = bench.path("message.sig");
    // 9C: ID 02 in OpenSC's PIV driver.
    bench.pkcs11_ok(&[
        "--login",
        "--pin",
        NEW_PIN,
        "--sign",
        "--id",
        "02",
        "-m",
        "ECDSA-SHA256",
        "--signature-format",
        "openssl",
        "-i",
        &message,
        "-o",
        &signature,
    ]);
    let verified = bench.openssl_ok(&[
        "dgst",
        "-sha256",
        "-verify",
        &bench.path("9c.pub.pem"),
        "-signature",
        &signature,
        &message,
    ]);
    assert!(verified.contains("Verified OK"), "{verified}");

    // 9D (ID 03): the ECDH a mail client runs to decrypt, against a sender's ephemeral key.
    let (on_card, on_host) =
        bench.pkcs11_ecdh_beside_openssl("P-256", &bench.path("9d.pub.pem"), NEW_PIN);
    assert_eq!(on_card, on_host);
}

#[test]
fn an_enrolled_card_signs_and_decrypts_with_yubico_piv_tool_under_the_new_pin() {
    let bench = enrolled();
    let text = bench.piv_tool_ok(&[
        "-a",
        "verify-pin",
        "-P",
        NEW_PIN,
        "-a",
        "test-signature",
        "-s",
        "9c",
        "-i",
        &bench.path("9c.pem"),
    ]);
    assert!(text.contains("Successful ECDSA verification."), "{text}");
    let text = bench.piv_tool_ok(&[
        "-a",
        "verify-pin",
        "-P",
        NEW_PIN,
        "-a",
        "test-decipher",
        "-s",
        "9d",
        "-i",
        &bench.path("9d.pem"),
    ]);
    assert!(
        text.contains("Successfully performed ECDH exchange with card."),
        "{text}"
    );
    // No factory secret is left.
    bench.piv_tool_fails(&["-a", "verify-pin", "-P", DEFAULT_PIN]);
}
