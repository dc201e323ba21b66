//! Mail encrypted by `smime::encrypt`, opened by `openssl cms -decrypt` with the recipient's
//! key file: RSA (PKCS#1 v1.5 and OAEP), P-256 and P-384 recipients, every cipher.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use host_driver::smime::encrypt::{
    ContentCipher, EncryptError, EncryptRequest, RsaPadding, encrypt,
};
use test_pki::{KeyType, Profile, TestCa, openssl, openssl_ok};

const MESSAGE: &str = "From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\nSubject: Quarterly figures\nDate: Sun, 29 Nov 2026 10:00:00 +0000\nMessage-ID: <figures@example.org>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nHello Bob,\nthe figures: 12 \u{20ac}, 13 \u{20ac}.\n-- \nAlice\n";

/// The entity `MESSAGE` becomes: its content headers, and its 8-bit body in base64.
fn expected_entity() -> Vec<u8> {
    let body = "Hello Bob,\r\nthe figures: 12 \u{20ac}, 13 \u{20ac}.\r\n-- \r\nAlice\r\n";
    let mut entity =
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
    entity.extend(base64(body.as_bytes()));
    entity
}

fn base64(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut w = host_driver::smime::base64_stream::Base64LineWriter::new(Vec::new());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

/// A recipient with a key file: `<name>.pem` and `<name>.key` in the test's directory.
struct Recipient {
    name: String,
    cert: PathBuf,
    key: PathBuf,
    der: Vec<u8>,
}

impl Recipient {
    fn new(name: &str, cert: PathBuf) -> Recipient {
        Recipient {
            name: name.to_owned(),
            der: test_pki::der_of(&cert),
            key: cert.with_extension("key"),
            cert,
        }
    }
}

/// A test's directory and the CA in it that issues the recipients' certificates.
struct Pki {
    dir: tempfile::TempDir,
    ca: TestCa,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new(dir.path());
        Pki { dir, ca }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn issue(&self, name: &str, key: KeyType, profile: &Profile) -> Recipient {
        Recipient::new(name, self.ca.issue(name, key, profile))
    }

    /// A recipient of mail: keyUsage keyEncipherment for RSA, keyAgreement for EC.
    fn recipient(&self, name: &str, key: KeyType) -> Recipient {
        let address = format!("{name}@example.org");
        let mut profile = Profile::encryption(&format!("/CN={name}"), &address);
        if key != KeyType::Rsa2048 {
            profile = profile.extension("keyUsage=critical,keyAgreement");
        }
        self.issue(name, key, &profile)
    }

    /// Recipients with an RSA, a P-256 and a P-384 key.
    fn rsa_and_ec(&self) -> [Recipient; 3] {
        [
            self.recipient("rsa", KeyType::Rsa2048),
            self.recipient("p256", KeyType::P256),
            self.recipient("p384", KeyType::P384),
        ]
    }
}

fn encrypt_to(
    recipients: &[&Recipient],
    cipher: ContentCipher,
    rsa_padding: RsaPadding,
    message: &[u8],
) -> Result<Vec<u8>, EncryptError> {
    let recipients = recipients
        .iter()
        .map(|r| host_driver::smime::encrypt::Recipient::from_certificate(&r.der))
        .collect::<Result<Vec<_>, _>>()?;
    let request = EncryptRequest {
        recipients: &recipients,
        cipher,
        rsa_padding,
    };
    let mut out = Vec::new();
    encrypt(Cursor::new(message), &mut out, &request)?;
    Ok(out)
}

/// `openssl cms -decrypt` of `file` in `dir` with the recipient's key; the content lands
/// in `dir/decrypted`.
fn openssl_decrypt(dir: &Path, file: &str, who: &Recipient, form: &str) -> std::process::Output {
    openssl(
        dir,
        &[
            "cms",
            "-decrypt",
            "-in",
            file,
            "-inform",
            form,
            "-recip",
            who.cert.to_str().unwrap(),
            "-inkey",
            who.key.to_str().unwrap(),
            "-out",
            "decrypted",
        ],
    )
}

#[track_caller]
fn assert_opens(dir: &Path, file: &str, who: &Recipient, expected: &[u8]) {
    let out = openssl_decrypt(dir, file, who, "SMIME");
    assert!(
        out.status.success(),
        "openssl cannot decrypt {file} for {}:\n{}",
        who.name,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(dir.join("decrypted")).unwrap() == expected,
        "{file} decrypts to something else for {}",
        who.name
    );
}

/// What `openssl cms -cmsout -print` says of the structure in `file`.
fn structure(dir: &Path, file: &str) -> String {
    openssl_ok(dir, &["cms", "-cmsout", "-print", "-in", file])
}

#[test]
fn openssl_decrypts_every_cipher_for_rsa_and_ec_recipients() {
    let pki = Pki::new();
    let d = pki.dir();
    let [rsa, p256, p384] = pki.rsa_and_ec();
    let cases = [
        (&rsa, RsaPadding::Pkcs1v15, "rsaEncryption"),
        (&rsa, RsaPadding::Oaep, "rsaesOaep"),
        (&p256, RsaPadding::default(), "id-aes128-wrap"),
        (&p384, RsaPadding::default(), "id-aes256-wrap"),
    ];
    for (who, padding, key_encryption) in cases {
        for cipher in ContentCipher::ALL {
            let file = format!("{}-{padding}-{cipher}.eml", who.name);
            let mail = encrypt_to(&[who], cipher, padding, MESSAGE.as_bytes()).unwrap();
            std::fs::write(d.join(&file), &mail).unwrap();
            assert_opens(d, &file, who, &expected_entity());

            let text = String::from_utf8(mail).unwrap();
            let (headers, _) = text.split_once("\r\n\r\n").unwrap();
            for header in [
                "From: Alice <alice@example.org>",
                "To: Bob <bob@example.org>",
                "Subject: Quarterly figures",
                "Date: Sun, 29 Nov 2026 10:00:00 +0000",
                "MIME-Version: 1.0",
            ] {
                assert!(headers.contains(header), "{header} in\n{headers}");
            }
            let smime_type = if cipher.is_authenticated() {
                "authEnveloped-data"
            } else {
                "enveloped-data"
            };
            assert!(
                headers.contains(&format!(
                    "Content-Type: application/pkcs7-mime; smime-type={smime_type}; name=\"smime.p7m\""
                )),
                "{headers}"
            );
            assert!(!headers.contains("charset=utf-8"), "{headers}");

            let printed = structure(d, &file);
            assert!(
                printed.contains(key_encryption),
                "{key_encryption}:\n{printed}"
            );
            if who.name != "rsa" {
                assert!(
                    printed.contains("dhSinglePass-stdDH-sha256kdf-scheme"),
                    "{printed}"
                );
            }
            if padding == RsaPadding::Oaep {
                assert!(printed.contains("sha256"), "{printed}");
            }
        }
    }
}

#[test]
fn every_recipient_opens_the_same_message_and_nobody_else_does() {
    let pki = Pki::new();
    let d = pki.dir();
    let [rsa, p256, p384] = pki.rsa_and_ec();
    let outsider = pki.recipient("outsider", KeyType::P256);
    for cipher in [ContentCipher::Aes256Cbc, ContentCipher::Aes128Gcm] {
        let mail = encrypt_to(
            &[&rsa, &p256, &p384],
            cipher,
            RsaPadding::Oaep,
            MESSAGE.as_bytes(),
        )
        .unwrap();
        std::fs::write(d.join("all.eml"), mail).unwrap();
        for who in [&rsa, &p256, &p384] {
            assert_opens(d, "all.eml", who, &expected_entity());
        }
        let refused = openssl_decrypt(d, "all.eml", &outsider, "SMIME");
        assert!(!refused.status.success(), "the outsider decrypted it");
    }
}

/// The message in DER, as openssl re-encodes it, so single bytes can be changed.
fn der_of_mail(dir: &Path, file: &str) -> Vec<u8> {
    openssl_ok(
        dir,
        &[
            "cms", "-cmsout", "-in", file, "-outform", "DER", "-out", "mail.der",
        ],
    );
    std::fs::read(dir.join("mail.der")).unwrap()
}

#[test]
fn a_changed_byte_of_gcm_ciphertext_or_tag_is_refused() {
    let pki = Pki::new();
    let d = pki.dir();
    let bob = pki.recipient("bob", KeyType::P256);
    let long = format!(
        "{MESSAGE}{}",
        "a line of text to make the content long\n".repeat(100)
    );
    let mail = encrypt_to(
        &[&bob],
        ContentCipher::Aes256Gcm,
        RsaPadding::default(),
        long.as_bytes(),
    )
    .unwrap();
    std::fs::write(d.join("mail.eml"), mail).unwrap();
    let der = der_of_mail(d, "mail.eml");
    assert!(openssl_decrypt(d, "mail.der", &bob, "DER").status.success());
    // The tag (mac) ends the DER; the ciphertext comes before it.
    for (what, at) in [("tag", der.len() - 1), ("ciphertext", der.len() - 1000)] {
        let mut changed = der.clone();
        changed[at] ^= 0x01;
        std::fs::write(d.join("changed.der"), changed).unwrap();
        let out = openssl_decrypt(d, "changed.der", &bob, "DER");
        assert!(
            !out.status.success(),
            "a changed {what} byte went unnoticed"
        );
    }
}

#[test]
fn a_large_binary_body_streams_through() {
    let pki = Pki::new();
    let d = pki.dir();
    let bob = pki.recipient("bob", KeyType::Rsa2048);
    let mut message = b"From: a@example.org\nContent-Type: application/octet-stream\n\n".to_vec();
    let body: Vec<u8> = (0..16u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    message.extend(&body);
    for cipher in [ContentCipher::Aes256Cbc, ContentCipher::Aes256Gcm] {
        let mail = encrypt_to(&[&bob], cipher, RsaPadding::default(), &message).unwrap();
        std::fs::write(d.join("large.eml"), mail).unwrap();
        let mut expected =
            b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                .to_vec();
        expected.extend(base64(&body));
        assert_opens(d, "large.eml", &bob, &expected);
    }
}

/// openssl 3.0 cannot decrypt for X25519 keys; it can show what we made (RFC 8418).
#[test]
fn an_x25519_recipient_gets_an_ephemeral_x25519_key_and_a_wrapped_content_key() {
    let pki = Pki::new();
    let d = pki.dir();
    openssl_ok(d, &["genpkey", "-algorithm", "X25519", "-out", "x.key"]);
    openssl_ok(d, &["pkey", "-in", "x.key", "-pubout", "-out", "x.pub"]);
    let profile = Profile::encryption("/CN=Xavier", "xavier@example.org")
        .extension("keyUsage=critical,keyAgreement");
    let xavier = Recipient::new("x", pki.ca.certify(Path::new("x.pub"), "x", &profile));
    let mail = encrypt_to(
        &[&xavier],
        ContentCipher::Aes128Gcm,
        RsaPadding::default(),
        MESSAGE.as_bytes(),
    )
    .unwrap();
    std::fs::write(d.join("x.eml"), mail).unwrap();
    let printed = structure(d, "x.eml");
    for expected in [
        "X25519",
        "dhSinglePass-stdDH-sha256kdf-scheme",
        "id-aes128-wrap",
        "d.issuerAndSerialNumber",
    ] {
        assert!(printed.contains(expected), "{expected}:\n{printed}");
    }
}

#[test]
fn certificates_not_meant_for_encrypting_mail_are_refused_by_name() {
    let pki = Pki::new();
    let signer = pki.issue(
        "signer",
        KeyType::Rsa2048,
        &Profile::signing("/CN=Signer", "signer@example.org"),
    );
    let ec_transport = pki.issue(
        "ec",
        KeyType::P256,
        &Profile::encryption("/CN=EC Transport", "ec@example.org"),
    );
    let tls = pki.issue(
        "tls",
        KeyType::P256,
        &Profile::encryption("/CN=TLS Client", "tls@example.org")
            .extension("keyUsage=critical,keyAgreement")
            .extension("extendedKeyUsage=clientAuth"),
    );
    let good = pki.recipient("good", KeyType::Rsa2048);
    for (who, reason) in [
        (&signer, "CN=Signer: its key usage lacks keyEncipherment"),
        (
            &ec_transport,
            "CN=EC Transport: its key usage lacks keyAgreement",
        ),
        (
            &tls,
            "CN=TLS Client: its extended key usage lacks emailProtection",
        ),
    ] {
        // Refused even beside a good recipient.
        let err = encrypt_to(
            &[&good, who],
            ContentCipher::default(),
            RsaPadding::default(),
            MESSAGE.as_bytes(),
        )
        .unwrap_err();
        assert!(matches!(err, EncryptError::Recipient { .. }), "{err:?}");
        assert_eq!(err.to_string(), format!("cannot encrypt for {reason}"));
    }
    let none = encrypt_to(
        &[],
        ContentCipher::default(),
        RsaPadding::default(),
        MESSAGE.as_bytes(),
    );
    assert!(matches!(none, Err(EncryptError::NoRecipients)));
}
