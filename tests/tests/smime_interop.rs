//! Mail signed by `smime-card` with a card key, through pcscd and in process, judged by
//! `openssl cms -verify` and `gpgsm --verify`; a flipped byte is rejected by both.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::{SimCard, output_text, smime_card_binary};
use test_pki::{KeyType, Profile, TestCa};

const MESSAGE: &str = "From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Signed from a smart card\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <card-1@example.org>\r\n\r\nHello Bob,\r\n\r\nthis message was signed with a key that never left the card.\r\n";

/// A CA made with openssl, a card key certified by it, and a scratch directory.
struct Setup {
    dir: tempfile::TempDir,
    /// `--reader NAME` or `--sim FILE`.
    card_args: Vec<String>,
    _card: Option<SimCard>,
    /// `ca.pem` and `ca.key` in `dir`.
    ca: TestCa,
}

fn run_in(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): run .ci/pcsc-env.sh install"))
}

fn ok_in(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run_in(dir, program, args, env);
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}",
        output_text(&out)
    );
    output_text(&out)
}

impl Setup {
    fn new(pcsc: bool, algorithm: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let (card_args, card) = if pcsc {
            let card = SimCard::start();
            (
                vec!["--reader".to_string(), card.reader.name.to_string()],
                Some(card),
            )
        } else {
            (
                vec![
                    "--sim".to_string(),
                    dir.path().join("card.json").display().to_string(),
                ],
                None,
            )
        };
        let ca_profile = Profile::ca("/CN=Example Mail CA");
        let setup = Setup {
            ca: TestCa::self_signed(dir.path(), "ca", KeyType::Rsa2048, &ca_profile),
            dir,
            card_args,
            _card: card,
        };
        setup.smime_card(&[
            "card",
            "generate",
            "--slot",
            "9c",
            "--algorithm",
            algorithm,
            "--out",
            "card.pub",
        ]);
        let profile = Profile::signing("/CN=Alice Example", "alice@example.org");
        setup.ca.certify(Path::new("card.pub"), "card", &profile);
        setup.smime_card(&["card", "import-cert", "--slot", "9c", "--in", "card.pem"]);
        std::fs::write(setup.path("message.eml"), MESSAGE).unwrap();
        setup
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn smime_card(&self, args: &[&str]) -> String {
        let mut all: Vec<&str> = self.card_args.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        ok_in(
            self.dir.path(),
            smime_card_binary().to_str().unwrap(),
            &all,
            &[("CARD_PIN", "123456")],
        )
    }

    fn sign(&self, opaque: bool, out: &str) {
        let mut args = vec![
            "sign",
            "--in",
            "message.eml",
            "--out",
            out,
            "--pin-env",
            "CARD_PIN",
        ];
        if opaque {
            args.push("--opaque");
        }
        self.smime_card(&args);
    }

    fn openssl_verify(&self, file: &str) -> Output {
        test_pki::verify_mail(self.dir.path(), file, &self.ca.cert())
    }

    /// gpgsm with its own home: the CA imported and trusted for S/MIME, no CRL checks.
    fn gpgsm_verify(&self, file: &str) -> Output {
        let home = self.path("gnupg");
        if !home.exists() {
            std::fs::create_dir(&home).unwrap();
            std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .unwrap();
            std::fs::write(
                home.join("gpgsm.conf"),
                "disable-crl-checks\ndisable-trusted-cert-crl-check\n",
            )
            .unwrap();
            let fingerprint = ok_in(
                self.dir.path(),
                "openssl",
                &["x509", "-in", "ca.pem", "-noout", "-fingerprint", "-sha1"],
                &[],
            );
            let fingerprint = fingerprint.trim().split('=').nth(1).unwrap().to_string();
            std::fs::write(home.join("trustlist.txt"), format!("{fingerprint} S\n")).unwrap();
            ok_in(
                self.dir.path(),
                "gpgsm",
                &["--batch", "--import", "ca.pem"],
                &[("GNUPGHOME", home.to_str().unwrap())],
            );
        }
        let gnupghome = [("GNUPGHOME", home.to_str().unwrap())];
        let signed = std::fs::read(self.path(file)).unwrap();
        let out = match split_multipart(&signed) {
            Some((content, signature)) => {
                std::fs::write(self.path("gpgsm.content"), content).unwrap();
                std::fs::write(self.path("gpgsm.p7s"), signature).unwrap();
                run_in(
                    self.dir.path(),
                    "gpgsm",
                    &["--batch", "--verify", "gpgsm.p7s", "gpgsm.content"],
                    &gnupghome,
                )
            }
            None => {
                std::fs::write(self.path("gpgsm.p7m"), base64_body(&signed)).unwrap();
                run_in(
                    self.dir.path(),
                    "gpgsm",
                    &["--batch", "--verify", "gpgsm.p7m"],
                    &gnupghome,
                )
            }
        };
        let _ = run_in(self.dir.path(), "gpgconf", &["--kill", "all"], &gnupghome);
        out
    }
}

/// The signed part (exact bytes) and the decoded signature of a multipart/signed mail.
fn split_multipart(mail: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let text = String::from_utf8_lossy(mail).into_owned();
    let start = text.find("boundary=\"")? + "boundary=\"".len();
    let boundary = &text[start..start + text[start..].find('"')?];
    let delimiter = format!("\r\n--{boundary}");
    let first = text.find(&format!("--{boundary}\r\n"))? + boundary.len() + 4;
    let end = first + text[first..].find(&delimiter)?;
    let signature_part = &text[end + delimiter.len()..];
    let body_start = signature_part.find("\r\n\r\n")? + 4;
    let body_end = signature_part.find(&delimiter)?;
    Some((
        mail[first..end].to_vec(),
        decode_base64(&signature_part[body_start..body_end]),
    ))
}

/// The decoded base64 body of an opaque mail.
fn base64_body(mail: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(mail);
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    decode_base64(body)
}

fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.bytes().filter(|c| ALPHABET.contains(c)) {
        acc = (acc << 6) | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Flips one byte of the signed text ("Hello Bob" → "Hello Rob").
fn tamper(setup: &Setup, from: &str, to: &str) {
    let signed = std::fs::read_to_string(setup.path(from)).unwrap();
    assert!(signed.contains("Hello Bob"));
    std::fs::write(setup.path(to), signed.replacen("Hello Bob", "Hello Rob", 1)).unwrap();
}

fn check_both_forms(setup: &Setup) {
    for (opaque, name) in [(false, "multipart.eml"), (true, "opaque.eml")] {
        setup.sign(opaque, name);
        let out = setup.openssl_verify(name);
        assert!(
            out.status.success(),
            "openssl rejected {name}:\n{}",
            output_text(&out)
        );
        let content = std::fs::read_to_string(setup.path("content.out")).unwrap();
        assert!(content.contains("never left the card"), "{content}");
        let out = setup.gpgsm_verify(name);
        let text = output_text(&out);
        assert!(
            out.status.success() && text.contains("Good signature"),
            "gpgsm rejected {name}:\n{text}"
        );
        assert!(text.contains("alice@example.org"), "{text}");
    }
    // The multipart body is readable text: a byte changed there must fail both judges.
    tamper(setup, "multipart.eml", "tampered.eml");
    assert!(
        !setup.openssl_verify("tampered.eml").status.success(),
        "openssl accepted a changed body"
    );
    let out = setup.gpgsm_verify("tampered.eml");
    let text = output_text(&out);
    assert!(
        !out.status.success(),
        "gpgsm accepted a changed body:\n{text}"
    );
    assert!(
        text.contains("message digest attribute does not match"),
        "{text}"
    );
}

#[test]
fn ec_signed_mail_through_pcscd_verifies_with_openssl_and_gpgsm() {
    check_both_forms(&Setup::new(true, "p256"));
}

#[test]
fn rsa_signed_mail_through_pcscd_verifies_with_openssl_and_gpgsm() {
    check_both_forms(&Setup::new(true, "rsa2048"));
}

#[test]
fn in_process_card_signs_mail_that_openssl_and_gpgsm_accept() {
    check_both_forms(&Setup::new(false, "p384"));
}

#[test]
fn a_flipped_byte_in_the_signature_is_rejected() {
    let setup = Setup::new(false, "p256");
    setup.sign(true, "opaque.eml");
    // Flip a byte near the end of the base64 body: inside the signature value.
    let signed = std::fs::read_to_string(setup.path("opaque.eml")).unwrap();
    let mut bytes = signed.into_bytes();
    let body_end = bytes.len() - 3;
    let at = (body_end - 40..body_end)
        .find(|&i| bytes[i].is_ascii_alphanumeric())
        .unwrap();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(setup.path("bad-sig.eml"), bytes).unwrap();
    assert!(!setup.openssl_verify("bad-sig.eml").status.success());
    assert!(!setup.gpgsm_verify("bad-sig.eml").status.success());
}

fn smime_card_verify(setup: &Setup, file: &str) -> Output {
    run_in(
        setup.dir.path(),
        smime_card_binary().to_str().unwrap(),
        &["verify", "--in", file, "--ca", "ca.pem"],
        &[],
    )
}

#[test]
fn smime_card_verify_judges_openssl_mail_and_its_own() {
    let setup = Setup::new(false, "p256");
    let d = setup.dir.path();
    // openssl signs as a software signer with the same CA, with and without signed
    // attributes, multipart and opaque.
    let profile = Profile::signing("/CN=Alice Software", "alice@example.org");
    setup.ca.issue("soft", KeyType::Rsa2048, &profile);
    for (name, extra) in [
        ("o-multi.eml", vec![]),
        ("o-opaque.eml", vec!["-nodetach"]),
        ("o-noattr.eml", vec!["-noattr"]),
    ] {
        let mut args = vec![
            "cms",
            "-sign",
            "-in",
            "message.eml",
            "-signer",
            "soft.pem",
            "-inkey",
            "soft.key",
            "-out",
            name,
        ];
        args.extend(extra);
        ok_in(d, "openssl", &args, &[]);
        let out = smime_card_verify(&setup, name);
        assert!(out.status.success(), "{name}: {}", output_text(&out));
        assert!(
            output_text(&out).contains("Good signature"),
            "{}",
            output_text(&out)
        );
    }
    setup.sign(false, "ours.eml");
    let out = smime_card_verify(&setup, "ours.eml");
    assert!(
        out.status.success() && output_text(&out).contains("Alice Example"),
        "{}",
        output_text(&out)
    );
    tamper(&setup, "ours.eml", "ours-tampered.eml");
    let out = smime_card_verify(&setup, "ours-tampered.eml");
    assert_eq!(out.status.code(), Some(7), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("changed after it was signed"),
        "{}",
        output_text(&out)
    );
}
