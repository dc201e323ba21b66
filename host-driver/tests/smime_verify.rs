//! Mail signed by `openssl cms -sign`, judged by `smime::verify`: every form OpenSSL writes,
//! and every way a signature can fail to hold.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::Decode;
use host_driver::hash::HashAlg;
use host_driver::pki::{PathError, validate};
use host_driver::smime::ber;
use host_driver::smime::verify::{Form, Verdict, VerifyError, VerifyOptions, verify};
use test_pki::{KeyType, Profile, TestCa};
use x509_cert::Certificate;

const ENTITY: &str = "Content-Type: text/plain; charset=utf-8\n\nHello Bob,\nthe figures are attached in spirit.\n-- \nAlice\n";
const ENTITY_CRLF: &str = "Content-Type: text/plain; charset=utf-8\r\n\r\nHello Bob,\r\nthe figures are attached in spirit.\r\n-- \r\nAlice\r\n";

/// Test certificates, made once per run:
/// - `root` (RSA, the trust anchor) issued `inter` (P-256, "Test Mail CA", pathlen 0);
/// - `inter` issued the users, all for alice@example.org unless said otherwise: `alice-rsa`
///   (RSA-2048), `alice-ec` (P-256), `alice-p384`, `alice-noemail`
///   (extendedKeyUsage clientAuth only), `alice-expired`, `alice-encrypt` (keyUsage
///   keyEncipherment only), `bob` (bob@example.org), `carol-dn` (address only in the
///   subject's emailAddress, no subjectAltName);
/// - `sub` is a CA below `inter`, which forbids it (pathlen 0), and issued `alice-under-sub`;
/// - `other` is an unrelated CA; `notca` is a root-issued certificate without the CA flag
///   that issued `alice-under-notca`; `self` is a self-signed mail certificate;
/// - `root` signed `alice-pss-sha256`, `alice-pss-sha1` and `alice-pss-default` with
///   RSASSA-PSS: over SHA-256, over SHA-1 named, and with empty parameters (SHA-1 by default).
struct Pki {
    dir: PathBuf,
    inter: TestCa,
}

const ALICE: &str = "alice@example.org";

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        // One directory per test process; those of finished runs are removed.
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("smime-verify-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = tmp.join(format!("smime-verify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.as_path();
        use KeyType::{P256, P384, Rsa2048};
        let root = TestCa::self_signed(
            d,
            "root",
            Rsa2048,
            &Profile::ca("/CN=Test Root CA/O=Example"),
        );
        TestCa::self_signed(d, "other", P256, &Profile::ca("/CN=Other CA"));
        let inter = root.sub_ca(
            "inter",
            P256,
            &Profile::ca("/CN=Test Mail CA/O=Example")
                .extension("basicConstraints=critical,CA:true,pathlen:0")
                .extension("authorityKeyIdentifier=keyid"),
        );
        let alice = |subject: &str| Profile::signing(subject, ALICE);
        inter.issue("alice-rsa", Rsa2048, &alice("/CN=Alice/O=Example"));
        inter.issue("alice-ec", P256, &alice("/CN=Alice EC/O=Example"));
        inter.issue("alice-p384", P384, &alice("/CN=Alice P-384/O=Example"));
        let client = alice("/CN=Alice Client/O=Example").extension("extendedKeyUsage=clientAuth");
        inter.issue("alice-noemail", P256, &client);
        let encryption = Profile::encryption("/CN=Alice Encryption/O=Example", ALICE);
        inter.issue("alice-encrypt", Rsa2048, &encryption);
        inter.issue(
            "alice-expired",
            P256,
            &alice("/CN=Alice Expired/O=Example").days(-1),
        );
        inter.issue(
            "bob",
            P256,
            &Profile::signing("/CN=Bob/O=Example", "bob@example.org"),
        );
        let carol = Profile::signing(
            "/CN=Carol/emailAddress=carol@example.org",
            "carol@example.org",
        )
        .without("subjectAltName");
        inter.issue("carol-dn", P256, &carol);
        let not_ca = Profile::new("/CN=Not A CA")
            .extension("basicConstraints=critical,CA:false")
            .extension("keyUsage=critical,digitalSignature,keyCertSign");
        let not_ca = root.sub_ca("notca", P256, &not_ca);
        not_ca.issue(
            "alice-under-notca",
            P256,
            &alice("/CN=Alice Under Not A CA"),
        );
        let sub = inter.sub_ca("sub", P256, &Profile::ca("/CN=Sub CA"));
        sub.issue("alice-under-sub", P256, &alice("/CN=Alice Under Sub CA"));
        TestCa::self_signed(d, "self", P256, &alice("/CN=Alice Self-Signed"));
        let pss = |md: &str, salt: &str| {
            let salt = format!("rsa_pss_saltlen:{salt}");
            alice("/CN=Alice PSS").signed_with(&[
                "-sigopt",
                "rsa_padding_mode:pss",
                md,
                "-sigopt",
                &salt,
            ])
        };
        root.issue("alice-pss-sha256", P256, &pss("-sha256", "32"));
        root.issue("alice-pss-sha1", P256, &pss("-sha1", "32"));
        root.issue("alice-pss-default", P256, &pss("-sha1", "20"));
        Pki { dir, inter }
    })
}

impl Pki {
    fn cert(&self, name: &str) -> Certificate {
        let pem = std::fs::read(self.dir.join(format!("{name}.pem"))).unwrap();
        Certificate::from_der(&host_driver::pem::decode("CERTIFICATE", &pem).unwrap()).unwrap()
    }

    fn root(&self) -> VerifyOptions {
        VerifyOptions::new(vec![self.cert("root")])
    }

    /// `openssl cms -sign` of `entity` by `signer`, with From alice@example.org, and `extra`
    /// options. The Mail CA certificate is included unless `extra` holds the pseudo-option
    /// `-nocerts-chain`.
    fn sign(&self, signer: &str, entity: &[u8], extra: &[&str]) -> Vec<u8> {
        let input = self.dir.join(format!("in-{}.txt", unique()));
        let output = self.dir.join(format!("out-{}.eml", unique()));
        std::fs::write(&input, entity).unwrap();
        let (cert, key) = (format!("{signer}.pem"), format!("{signer}.key"));
        let mut args = vec![
            "cms",
            "-sign",
            "-in",
            input.to_str().unwrap(),
            "-out",
            output.to_str().unwrap(),
            "-signer",
            &cert,
            "-inkey",
            &key,
        ];
        args.extend_from_slice(&[
            "-from",
            "Alice <alice@example.org>",
            "-to",
            "bob@example.org",
            "-subject",
            "Quarterly figures",
        ]);
        if !extra.contains(&"-nocerts-chain") {
            args.extend_from_slice(&["-certfile", "inter.pem"]);
        }
        args.extend(extra.iter().filter(|a| **a != "-nocerts-chain"));
        test_pki::openssl_ok(&self.dir, &args);
        let signed = std::fs::read(&output).unwrap();
        let _ = std::fs::remove_file(input);
        let _ = std::fs::remove_file(output);
        signed
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn check(message: &[u8], options: &VerifyOptions) -> Result<Verdict, VerifyError> {
    verify(&mut &message[..], None, options)
}

/// Verifies, and returns the verdict and the content written out.
fn check_with_content(message: &[u8], options: &VerifyOptions) -> (Verdict, Vec<u8>) {
    let mut content = Vec::new();
    let verdict = verify(&mut &message[..], Some(&mut content), options)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(message)));
    (verdict, content)
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = haystack
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{} not found", String::from_utf8_lossy(from)));
    [&haystack[..at], to, &haystack[at + from.len()..]].concat()
}

/// The CMS structure (base64-decoded) of a signed message.
fn cms_block(message: &[u8]) -> Vec<u8> {
    let mut der = Vec::new();
    change_cms(message, |d| der = d.clone());
    der
}

/// Applies `change` to the DER inside the base64 block after the last blank line that
/// precedes base64 (the signature part, or an opaque body), re-encoding it in lines.
fn change_cms(message: &[u8], change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let text = String::from_utf8(message.to_vec()).unwrap();
    let start = text.find("\n\nMI").expect("a base64 CMS block") + 2;
    let end = text[start..].find("\n\n").map_or(text.len(), |e| start + e);
    let block: String = text[start..end].split_whitespace().collect();
    let mut der = STANDARD.decode(block).unwrap();
    change(&mut der);
    let encoded = STANDARD.encode(&der);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!("{}{}{}", &text[..start], lines.join("\n"), &text[end..]).into_bytes()
}

#[test]
fn multipart_rsa_signature_from_openssl_verifies() {
    let pki = pki();
    let signed = pki.sign("alice-rsa", ENTITY.as_bytes(), &["-md", "sha256"]);
    let (verdict, content) = check_with_content(&signed, &pki.root());
    assert_eq!(verdict.form, Form::Multipart);
    assert!(verdict.signer.contains("CN=Alice"), "{}", verdict.signer);
    assert_eq!(verdict.signer_addresses, ["alice@example.org"]);
    assert_eq!(verdict.from.as_deref(), Some("alice@example.org"));
    assert_eq!(verdict.digest, HashAlg::Sha256);
    assert_eq!(
        verdict.signature_algorithm,
        "RSA-2048 PKCS#1 v1.5 with SHA-256"
    );
    assert_eq!(verdict.chain.len(), 3, "{:?}", verdict.chain);
    assert!(
        verdict.chain[1].contains("CN=Test Mail CA")
            && verdict.chain[2].contains("CN=Test Root CA"),
        "{:?}",
        verdict.chain
    );
    assert_eq!(verdict.signatures, 1);
    let signed_at = verdict
        .signing_time
        .expect("openssl adds signingTime")
        .to_system_time();
    assert!(
        SystemTime::now()
            .duration_since(signed_at)
            .unwrap_or_default()
            < Duration::from_secs(600)
    );
    // The content is the signed MIME entity, in canonical form.
    assert_eq!(String::from_utf8(content).unwrap(), ENTITY_CRLF);
}

#[test]
fn multipart_ecdsa_signatures_verify_with_the_digest_they_name() {
    let pki = pki();
    for (signer, md, digest, algorithm) in [
        (
            "alice-ec",
            "sha256",
            HashAlg::Sha256,
            "ECDSA P-256 with SHA-256",
        ),
        (
            "alice-ec",
            "sha512",
            HashAlg::Sha512,
            "ECDSA P-256 with SHA-512",
        ),
        (
            "alice-p384",
            "sha384",
            HashAlg::Sha384,
            "ECDSA P-384 with SHA-384",
        ),
    ] {
        let signed = pki.sign(signer, ENTITY.as_bytes(), &["-md", md]);
        let verdict = check(&signed, &pki.root()).unwrap_or_else(|e| panic!("{signer} {md}: {e}"));
        assert_eq!(
            (verdict.digest, verdict.signature_algorithm.as_str()),
            (digest, algorithm)
        );
        // Without micalg the content is hashed with every algorithm, and still verifies.
        let text = String::from_utf8(signed).unwrap();
        let start = text.find("micalg=\"").expect("openssl names micalg");
        let end = start + text[start..].find("; ").unwrap() + 2;
        let without = format!("{}{}", &text[..start], &text[end..]);
        assert_eq!(
            check(without.as_bytes(), &pki.root()).unwrap().digest,
            digest
        );
    }
    // A SHA-1 digest is refused, as SHA-1 certificate signatures are: a collision would let
    // one signature cover two messages. Whatever the key, the form or the micalg.
    for (signer, form) in [
        ("alice-rsa", &[][..]),
        ("alice-ec", &[][..]),
        ("alice-rsa", &["-nodetach"][..]),
        ("alice-ec", &["-noattr"][..]),
    ] {
        let signed = pki.sign(
            signer,
            ENTITY.as_bytes(),
            &[&["-md", "sha1"][..], form].concat(),
        );
        let text = String::from_utf8(signed).unwrap();
        let mut variants = vec![text.clone()];
        if let Some(start) = text.find("micalg=\"") {
            let end = start + text[start..].find("; ").unwrap() + 2;
            variants.push(format!("{}{}", &text[..start], &text[end..]));
            variants.push(text.replace("micalg=\"sha-1\"", "micalg=\"sha-256\""));
        }
        for message in variants {
            let err = check(message.as_bytes(), &pki.root()).unwrap_err();
            assert!(
                matches!(&err, VerifyError::Unsupported(m) if m.contains("SHA-1") && m.contains("no longer trusted")),
                "{signer} {form:?}: {err}"
            );
        }
    }
}

#[test]
fn rsa_pss_signatures_verify() {
    let pki = pki();
    for (md, salt) in [("sha256", "digest"), ("sha384", "20"), ("sha512", "max")] {
        let salt = format!("rsa_pss_saltlen:{salt}");
        let options = [
            "-md",
            md,
            "-keyopt",
            "rsa_padding_mode:pss",
            "-keyopt",
            &salt,
        ];
        for form in [&[][..], &["-nodetach"]] {
            let pss = pki.sign(
                "alice-rsa",
                ENTITY.as_bytes(),
                &[&options[..], form].concat(),
            );
            let verdict = check(&pss, &pki.root()).unwrap_or_else(|e| panic!("{md} {salt}: {e}"));
            assert!(
                verdict
                    .signature_algorithm
                    .starts_with("RSA-2048 PSS with SHA-"),
                "{}",
                verdict.signature_algorithm
            );
            let changed = change_cms(&pss, |der| {
                let last = der.len() - 5;
                der[last] ^= 0x40;
            });
            assert!(matches!(
                check(&changed, &pki.root()),
                Err(VerifyError::BadSignature)
            ));
        }
    }
}

#[test]
fn opaque_signature_verifies_and_yields_the_content() {
    let pki = pki();
    for signer in ["alice-rsa", "alice-ec"] {
        let signed = pki.sign(signer, ENTITY.as_bytes(), &["-md", "sha256", "-nodetach"]);
        assert!(String::from_utf8_lossy(&signed).contains("smime-type=signed-data"));
        let (verdict, content) = check_with_content(&signed, &pki.root());
        assert_eq!(verdict.form, Form::Opaque);
        assert_eq!(verdict.from.as_deref(), Some("alice@example.org"));
        assert_eq!(String::from_utf8(content).unwrap(), ENTITY_CRLF);
    }
}

#[test]
fn streamed_ber_output_verifies_in_both_forms() {
    let pki = pki();
    // Large enough that -stream splits the content into several OCTET STRING segments.
    let big: String =
        ENTITY.to_owned() + &"all work and no play makes alice a dull girl\n".repeat(4000);
    for extra in [
        &["-stream"][..],
        &["-stream", "-nodetach"],
        &["-stream", "-nodetach", "-noattr"],
        &["-stream", "-keyid"],
    ] {
        for signer in ["alice-rsa", "alice-ec"] {
            let signed = pki.sign(
                signer,
                big.as_bytes(),
                &[&["-md", "sha256"], extra].concat(),
            );
            // OpenSSL streams opaque content as BER, which the `der` crate alone refuses.
            if extra.contains(&"-nodetach") {
                let cms = cms_block(&signed);
                assert!(
                    ber::to_der(&cms).unwrap() != cms,
                    "{signer} {extra:?} is DER"
                );
                assert!(cms::content_info::ContentInfo::from_der(&cms).is_err());
            }
            let (verdict, content) = check_with_content(&signed, &pki.root());
            assert_eq!(
                verdict.form,
                if extra.contains(&"-nodetach") {
                    Form::Opaque
                } else {
                    Form::Multipart
                }
            );
            assert_eq!(
                content,
                big.replace('\n', "\r\n").into_bytes(),
                "{signer} {extra:?}"
            );
        }
    }
}

#[test]
fn signatures_without_signed_attributes_verify() {
    let pki = pki();
    for signer in ["alice-rsa", "alice-ec"] {
        for form in [&[][..], &["-nodetach"]] {
            let signed = pki.sign(
                signer,
                ENTITY.as_bytes(),
                &[&["-md", "sha256", "-noattr"][..], form].concat(),
            );
            let verdict =
                check(&signed, &pki.root()).unwrap_or_else(|e| panic!("{signer} {form:?}: {e}"));
            assert_eq!(verdict.signing_time, None);
            // Without attributes a changed body shows as a signature over other content:
            // RSA can tell, ECDSA cannot.
            let changed = if form.is_empty() {
                replace(&signed, b"Hello Bob", b"Hello Bib")
            } else {
                change_cms(&signed, |der| flip_in(der, b"Hello Bob"))
            };
            let err = check(&changed, &pki.root()).unwrap_err();
            match signer {
                "alice-rsa" => assert!(matches!(err, VerifyError::ContentTampered), "{err}"),
                _ => assert!(matches!(err, VerifyError::BadSignature), "{err}"),
            }
        }
    }
}

/// Flips a bit in the first occurrence of `needle` in `der`.
fn flip_in(der: &mut [u8], needle: &[u8]) {
    let at = der
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in the DER");
    der[at] ^= 0x01;
}

#[test]
fn lf_and_crlf_copies_of_a_message_both_verify() {
    let pki = pki();
    for form in [&[][..], &["-nodetach"], &["-stream"]] {
        let signed = String::from_utf8(pki.sign(
            "alice-ec",
            ENTITY.as_bytes(),
            &[&["-md", "sha256"][..], form].concat(),
        ))
        .unwrap();
        let lf = signed.replace("\r\n", "\n");
        let crlf = lf.replace('\n', "\r\n");
        for message in [&signed, &lf, &crlf] {
            check(message.as_bytes(), &pki.root())
                .unwrap_or_else(|e| panic!("{form:?}: {e}\n{message}"));
        }
    }
}

#[test]
fn a_changed_body_is_reported_as_tampered() {
    let pki = pki();
    let multipart = pki.sign("alice-rsa", ENTITY.as_bytes(), &["-md", "sha256"]);
    let changed = replace(&multipart, b"the figures", b"the fixures");
    let err = check(&changed, &pki.root()).unwrap_err();
    assert!(matches!(err, VerifyError::ContentTampered), "{err}");
    assert_eq!(
        err.to_string(),
        "the message body was changed after it was signed"
    );
    // A line added at the end of the signed part counts too.
    let added = replace(&multipart, b"Alice\r\n", b"Alice\r\nP.S. send money\r\n");
    assert!(matches!(
        check(&added, &pki.root()),
        Err(VerifyError::ContentTampered)
    ));

    let opaque = pki.sign(
        "alice-ec",
        ENTITY.as_bytes(),
        &["-md", "sha256", "-nodetach"],
    );
    let changed = change_cms(&opaque, |der| flip_in(der, b"the figures"));
    let err = check(&changed, &pki.root()).unwrap_err();
    assert!(matches!(err, VerifyError::ContentTampered), "{err}");
}

#[test]
fn a_changed_signature_is_reported_as_bad() {
    let pki = pki();
    for (signer, form) in [
        ("alice-rsa", &[][..]),
        ("alice-ec", &[][..]),
        ("alice-rsa", &["-nodetach"][..]),
        ("alice-p384", &["-stream"][..]),
    ] {
        let signed = pki.sign(
            signer,
            ENTITY.as_bytes(),
            &[&["-md", "sha256"][..], form].concat(),
        );
        // The signature value is the last thing in the SignerInfo, so at the very end.
        let changed = change_cms(&signed, |der| {
            let last = der.len() - 5;
            der[last] ^= 0x40;
        });
        let err = check(&changed, &pki.root()).unwrap_err();
        assert!(
            matches!(err, VerifyError::BadSignature),
            "{signer} {form:?}: {err}"
        );
        assert_eq!(
            err.to_string(),
            "the signature does not match the signer's key"
        );
    }
}

#[test]
fn a_signer_from_an_unknown_ca_is_refused() {
    let pki = pki();
    let signed = pki.sign("alice-ec", ENTITY.as_bytes(), &["-md", "sha256"]);
    let err = check(&signed, &VerifyOptions::new(vec![pki.cert("other")])).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Path(PathError::UnknownCa { signer, .. }) if signer.contains("CN=Alice EC")),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("the signer's certificate (")
            && err
                .to_string()
                .contains("was not issued by any of the given CAs"),
        "{err}"
    );
    // No anchors at all is the same answer.
    assert!(matches!(
        check(&signed, &VerifyOptions::new(vec![])),
        Err(VerifyError::Path(PathError::UnknownCa { .. }))
    ));
}

#[test]
fn a_missing_intermediate_leaves_the_ca_unknown_unless_it_is_trusted() {
    let pki = pki();
    let signed = pki.sign(
        "alice-ec",
        ENTITY.as_bytes(),
        &["-md", "sha256", "-nocerts-chain"],
    );
    assert!(matches!(
        check(&signed, &pki.root()),
        Err(VerifyError::Path(PathError::UnknownCa { .. }))
    ));
    let verdict = check(
        &signed,
        &VerifyOptions::new(vec![pki.cert("other"), pki.cert("inter")]),
    )
    .unwrap();
    assert_eq!(verdict.chain.len(), 2);
    // The signer's certificate itself may be left out of the message when it is trusted.
    let bare = pki.sign(
        "alice-ec",
        ENTITY.as_bytes(),
        &["-md", "sha256", "-nocerts", "-nocerts-chain"],
    );
    assert!(matches!(
        check(&bare, &pki.root()),
        Err(VerifyError::SignerCertificateMissing)
    ));
    let verdict = check(&bare, &VerifyOptions::new(vec![pki.cert("alice-ec")])).unwrap();
    assert_eq!(verdict.chain.len(), 1);
}

#[test]
fn a_wrong_from_address_is_refused() {
    let pki = pki();
    for form in [&[][..], &["-nodetach"]] {
        let signed = pki.sign(
            "alice-ec",
            ENTITY.as_bytes(),
            &[&["-md", "sha256"][..], form].concat(),
        );
        let forged = replace(
            &signed,
            b"From: Alice <alice@example.org>",
            b"From: Alice <ceo@example.org>",
        );
        let err = check(&forged, &pki.root()).unwrap_err();
        assert!(
            matches!(&err, VerifyError::AddressMismatch { from, certificate } if from == "ceo@example.org" && certificate == &["alice@example.org"]),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "the From address ceo@example.org is not in the signer's certificate (it names alice@example.org)"
        );
        // Case does not matter; no From header means no address check.
        let upper = replace(&signed, b"alice@example.org>", b"ALICE@Example.ORG>");
        assert_eq!(
            check(&upper, &pki.root()).unwrap().from.as_deref(),
            Some("ALICE@Example.ORG")
        );
        let anonymous = replace(&signed, b"From: Alice <alice@example.org>\n", b"");
        assert_eq!(check(&anonymous, &pki.root()).unwrap().from, None);
    }
    // Bob's valid signature does not make a message from Alice.
    let bob = pki.sign("bob", ENTITY.as_bytes(), &["-md", "sha256"]);
    assert!(matches!(
        check(&bob, &pki.root()),
        Err(VerifyError::AddressMismatch { .. })
    ));
}

#[test]
fn the_subject_email_address_counts_when_there_is_no_subject_alt_name() {
    let pki = pki();
    let signed = pki.sign("carol-dn", ENTITY.as_bytes(), &["-md", "sha256"]);
    let from_carol = replace(&signed, b"alice@example.org>", b"carol@example.org>");
    assert_eq!(
        check(&from_carol, &pki.root()).unwrap().signer_addresses,
        ["carol@example.org"]
    );
    assert!(matches!(
        check(&signed, &pki.root()),
        Err(VerifyError::AddressMismatch { .. })
    ));
}

#[test]
fn an_expired_signer_certificate_is_refused() {
    let pki = pki();
    let signed = pki.sign("alice-expired", ENTITY.as_bytes(), &["-md", "sha256"]);
    let err = check(&signed, &pki.root()).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Path(PathError::Expired { subject, .. }) if subject.contains("CN=Alice Expired")),
        "{err}"
    );
    assert!(err.to_string().contains("expired on"), "{err}");

    // A valid certificate judged at a time outside its validity.
    let good = pki.sign("alice-ec", ENTITY.as_bytes(), &["-md", "sha256"]);
    let mut options = pki.root();
    options.at = SystemTime::now() + Duration::from_secs(40 * 86400);
    assert!(matches!(
        check(&good, &options),
        Err(VerifyError::Path(PathError::Expired { .. }))
    ));
    options.at = SystemTime::now() - Duration::from_secs(86400);
    assert!(matches!(
        check(&good, &options),
        Err(VerifyError::Path(PathError::NotYetValid { .. }))
    ));
}

#[test]
fn a_certificate_without_email_protection_is_refused() {
    let pki = pki();
    let signed = pki.sign("alice-noemail", ENTITY.as_bytes(), &["-md", "sha256"]);
    let err = check(&signed, &pki.root()).unwrap_err();
    assert!(matches!(err, VerifyError::NotForEmail { .. }), "{err}");
    let signed = pki.sign("alice-encrypt", ENTITY.as_bytes(), &["-md", "sha256"]);
    let err = check(&signed, &pki.root()).unwrap_err();
    assert!(matches!(err, VerifyError::KeyUsage(_)), "{err}");
}

#[test]
fn a_self_signed_signer_that_is_an_anchor_is_accepted() {
    let pki = pki();
    let signed = pki.sign(
        "self",
        ENTITY.as_bytes(),
        &["-md", "sha256", "-nocerts-chain"],
    );
    let verdict = check(&signed, &VerifyOptions::new(vec![pki.cert("self")])).unwrap();
    assert_eq!(verdict.chain, std::slice::from_ref(&verdict.signer));
    assert!(matches!(
        check(&signed, &pki.root()),
        Err(VerifyError::Path(PathError::UnknownCa { .. }))
    ));
}

#[test]
fn chain_needs_each_issuer_to_be_a_ca() {
    let pki = pki();
    let at = SystemTime::now();
    let err = validate(
        &pki.cert("alice-under-notca"),
        &[pki.cert("notca")],
        &[pki.cert("root")],
        at,
    )
    .unwrap_err();
    assert!(
        matches!(&err, PathError::NotCa { subject, .. } if subject.contains("Not A CA")),
        "{err}"
    );
    let path = validate(
        &pki.cert("alice-rsa"),
        &[pki.cert("notca"), pki.cert("inter")],
        &[pki.cert("root")],
        at,
    )
    .unwrap();
    assert_eq!(path.len(), 3);
    // The Mail CA allows no CA below it.
    let err = validate(
        &pki.cert("alice-under-sub"),
        &[pki.cert("sub"), pki.cert("inter")],
        &[pki.cert("root")],
        at,
    )
    .unwrap_err();
    assert!(
        matches!(&err, PathError::CaConstraint(m) if m.contains("Test Mail CA") && m.contains("allows 0")),
        "{err}"
    );
    // Without the Sub CA there is no path at all.
    let err = validate(
        &pki.cert("alice-under-sub"),
        &[pki.cert("inter")],
        &[pki.cert("root")],
        at,
    );
    assert!(matches!(err, Err(PathError::UnknownCa { .. })));
}

#[test]
fn certificates_signed_with_pss_over_sha1_are_refused_like_any_sha1_signature() {
    let pki = pki();
    let (anchors, at) = ([pki.cert("root")], SystemTime::now());
    let path = validate(&pki.cert("alice-pss-sha256"), &[], &anchors, at).unwrap();
    assert_eq!(path.len(), 2);
    for name in ["alice-pss-sha1", "alice-pss-default"] {
        let err = validate(&pki.cert(name), &[], &anchors, at).unwrap_err();
        assert!(
            matches!(&err, PathError::Unsupported(m) if m.contains("signed with SHA-1")),
            "{name}: {err}"
        );
    }
}

/// Counts the bytes each thread has allocated, and the peak, so that one test can measure
/// its own footprint while others run.
struct CountingAllocator;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Counts what it is given and keeps nothing.
struct CountingWriter(u64);

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn multipart_verification_of_50_mib_streams_in_flat_memory() {
    let pki = pki();
    let line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod temp\n";
    let lines = (50 << 20) / line.len();
    let entity = format!("Content-Type: text/plain\n\n{}", line.repeat(lines));
    let signed = pki.sign("alice-ec", entity.as_bytes(), &["-md", "sha256"]);
    let path = pki.dir.join("big.eml");
    std::fs::write(&path, &signed).unwrap();
    let expected_len = entity.len() + entity.matches('\n').count();
    drop((signed, entity));

    let mut input = BufReader::with_capacity(16 << 10, std::fs::File::open(&path).unwrap());
    let mut out = CountingWriter(0);
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let verdict = verify(&mut input, Some(&mut out), &pki.root()).unwrap();
    let peak = PEAK.with(Cell::get) - before;
    std::fs::remove_file(&path).unwrap();
    assert_eq!(verdict.form, Form::Multipart);
    assert_eq!(out.0, expected_len as u64);
    eprintln!("peak heap while verifying 50 MiB: {peak} bytes");
    assert!(
        peak < 1 << 20,
        "verifying 50 MiB took {peak} bytes of heap at the peak"
    );
}

/// The other direction: mail signed by `smime::sign` with an in-process card, for every
/// key type the card holds (Ed25519 included, which OpenSSL 3.0 cannot put in CMS).
#[test]
fn mail_signed_with_a_card_key_verifies_for_every_key_type() {
    use apdu_spec::piv::mgmt_key::ManagementKey;
    use apdu_spec::piv::{Algorithm, Slot};
    use host_driver::card_signer::CardSigner;
    use host_driver::smime::sign::{self, SignRequest, digest_for};
    use host_driver::{InProcess, PivCard, Secret};

    const MESSAGE: &str = "From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\nSubject: Quarterly figures\n\nHello Bob,\nthe figures are attached in spirit.\n";
    let pki = pki();
    let inter =
        host_driver::pem::decode("CERTIFICATE", &std::fs::read(pki.inter.cert()).unwrap()).unwrap();
    for (algorithm, described) in [
        (Algorithm::Ed25519, "Ed25519"),
        (Algorithm::EccP256, "ECDSA P-256 with SHA-256"),
        (Algorithm::EccP384, "ECDSA P-384 with SHA-384"),
        (Algorithm::Rsa2048, "RSA-2048 PKCS#1 v1.5 with SHA-256"),
    ] {
        let mut card =
            PivCard::open(InProcess::in_memory(&card_sim::CardConfig::default()).unwrap()).unwrap();
        card.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
            .unwrap();
        let public = card
            .generate(Slot::Signature, algorithm, None, None)
            .unwrap();
        let name = format!("card-{}", unique());
        let public_file = pki.dir.join(format!("{name}.pub"));
        std::fs::write(&public_file, public.to_pem().unwrap()).unwrap();
        let profile = Profile::signing("/CN=Alice Card", ALICE);
        let cert = test_pki::der_of(&pki.inter.certify(&public_file, &name, &profile));
        card.write_certificate(Slot::Signature, &cert).unwrap();
        let card = std::cell::RefCell::new(card);
        let signer = CardSigner::new(&card, Slot::Signature, None)
            .unwrap()
            .with_pin(Secret::new(b"123456".to_vec()).unwrap());
        for (form, expected) in [
            (sign::Form::Multipart, Form::Multipart),
            (sign::Form::Opaque, Form::Opaque),
        ] {
            let request = SignRequest {
                signer: &signer,
                certificate: &cert,
                chain: std::slice::from_ref(&inter),
                form,
                digest: digest_for(signer.scheme()),
            };
            let mut signed = Vec::new();
            sign::sign(std::io::Cursor::new(MESSAGE), &mut signed, &request).unwrap();
            let verdict =
                check(&signed, &pki.root()).unwrap_or_else(|e| panic!("{algorithm} {form:?}: {e}"));
            assert_eq!(
                (verdict.form, verdict.signature_algorithm.as_str()),
                (expected, described)
            );
            assert_eq!(verdict.chain.len(), 3);
            if form == sign::Form::Multipart {
                let changed = replace(&signed, b"the figures", b"the fixures");
                assert!(
                    matches!(
                        check(&changed, &pki.root()),
                        Err(VerifyError::ContentTampered)
                    ),
                    "{algorithm}"
                );
            }
        }
    }
}

/// The boundary of a multipart/signed message openssl wrote.
fn boundary_of(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let start = text.find("boundary=\"").expect("a boundary parameter") + "boundary=\"".len();
    let end = start + text[start..].find('"').unwrap();
    text[start..end].to_owned()
}

#[test]
fn a_third_part_after_the_signature_is_refused() {
    let pki = pki();
    let signed = pki.sign("alice-ec", ENTITY.as_bytes(), &["-md", "sha256"]);
    check(&signed, &pki.root()).unwrap();
    let boundary = boundary_of(&signed);
    let close = format!("--{boundary}--");
    let third = format!(
        "--{boundary}\nContent-Type: text/plain\n\nP.S. Please wire the money to account 1234.\n--{boundary}--"
    );
    let extended = replace(&signed, close.as_bytes(), third.as_bytes());
    let err = check(&extended, &pki.root()).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Malformed(m) if m.contains("exactly two parts")),
        "{err}"
    );
    // Also with CRLF line endings, and when the third part is never closed.
    let crlf = String::from_utf8(extended.clone())
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    assert!(matches!(
        check(crlf.as_bytes(), &pki.root()),
        Err(VerifyError::Malformed(_))
    ));
    let unclosed = replace(&extended, close.as_bytes(), b"");
    assert!(matches!(
        check(&unclosed, &pki.root()),
        Err(VerifyError::Malformed(_))
    ));
    // An epilogue after the close delimiter is not a part.
    let epilogue = [&signed[..], b"\nan epilogue\n"].concat();
    check(&epilogue, &pki.root()).unwrap();
}

#[test]
fn the_from_check_reads_the_mailbox_as_rfc_5322_defines_it() {
    let pki = pki();
    for form in [&[][..], &["-nodetach"]] {
        let signed = pki.sign(
            "alice-ec",
            ENTITY.as_bytes(),
            &[&["-md", "sha256"][..], form].concat(),
        );
        let from = b"From: Alice <alice@example.org>";
        let with_from = |value: &str| replace(&signed, from, format!("From: {value}").as_bytes());

        // Alice's own address, however written.
        for good in [
            "Alice <alice@example.org>",
            "alice@example.org",
            "\"Example, Alice\" <alice@example.org>",
            "alice@example.org (Alice (the real one))",
            "\"Alice <mallory@evil.example>, (x)\" <alice@example.org>",
            "(Mallory <mallory@evil.example>) alice@example.org",
        ] {
            let verdict =
                check(&with_from(good), &pki.root()).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(verdict.from.as_deref(), Some("alice@example.org"), "{good}");
        }

        // Alice's address in a comment is not the address.
        let commented = with_from("mallory@evil.example (<alice@example.org>)");
        let err = check(&commented, &pki.root()).unwrap_err();
        assert!(
            matches!(&err, VerifyError::AddressMismatch { from, .. } if from == "mallory@evil.example"),
            "{err}"
        );

        // Several mailboxes, or a group: no one sender to check.
        for several in [
            "Mallory <mallory@evil.example>, <alice@example.org>",
            "mallory@evil.example, alice@example.org",
            "<alice@example.org>, Mallory <mallory@evil.example>",
            "Friends: alice@example.org, mallory@evil.example;",
            "Mallory <mallory@evil.example> <alice@example.org>",
        ] {
            let err = check(&with_from(several), &pki.root()).unwrap_err();
            assert!(
                matches!(&err, VerifyError::AmbiguousFrom(_)),
                "{several}: {err}"
            );
            assert!(err.to_string().contains("From"), "{err}");
        }

        // Two From headers, or two Content-Type headers: which one counts is anyone's guess.
        let two_froms = replace(
            &signed,
            from,
            b"From: Mallory <mallory@evil.example>\nFrom: Alice <alice@example.org>",
        );
        let err = check(&two_froms, &pki.root()).unwrap_err();
        assert!(
            matches!(&err, VerifyError::Malformed(m) if m.contains("From")),
            "{err}"
        );
        let end_of_headers = String::from_utf8_lossy(&signed)
            .find("\n\n")
            .expect("a header block");
        let two_types = [
            &signed[..end_of_headers],
            b"\nContent-Type: text/plain",
            &signed[end_of_headers..],
        ]
        .concat();
        let err = check(&two_types, &pki.root()).unwrap_err();
        assert!(
            matches!(&err, VerifyError::Malformed(m) if m.contains("Content-Type")),
            "{err}"
        );
    }
}

#[test]
fn a_ber_bomb_is_refused_before_it_takes_the_memory() {
    // An opaque message of 16 MiB: a SEQUENCE of 8 Mi NULLs (2 bytes each), which parsed
    // one node each would take some 25 times its size.
    let count = 8 << 20;
    let mut message = b"From: Alice <alice@example.org>\nContent-Type: application/pkcs7-mime; smime-type=signed-data\nContent-Transfer-Encoding: binary\n\n\x30\x84".to_vec();
    message.extend_from_slice(&(2 * count as u32).to_be_bytes());
    message.extend(std::iter::repeat_n([0x05u8, 0x00], count).flatten());

    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let err = check(&message, &VerifyOptions::new(Vec::new())).unwrap_err();
    let peak = PEAK.with(Cell::get) - before;
    assert!(
        matches!(&err, VerifyError::Malformed(m) if m.contains("too many elements")),
        "{err}"
    );
    eprintln!("peak heap while refusing a 16 MiB BER bomb: {peak} bytes");
    assert!(
        peak < 160 << 20,
        "refusing 16 MiB of BER took {peak} bytes of heap at the peak"
    );
}
