//! The local CA: requests openssl makes, issued by our CA and judged by `openssl verify`
//! for S/MIME signing and encryption; requests it must refuse; a CA whose key is on a card;
//! and mail signed under one of its certificates, accepted by our own verifier.

use std::cell::RefCell;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::{Algorithm, Slot};
use card_sim::CardConfig;
use host_driver::ca::directory::{CERTIFICATE_FILE, KEY_FILE};
use host_driver::ca::{CaError, CaSigner, CertificateAuthority, Purpose, SoftwareKey};
use host_driver::card_signer::CardSigner;
use host_driver::pki::algorithms::SignatureError;
use host_driver::smime::verify::{VerifyOptions, verify};
use host_driver::{InProcess, PivCard, Secret};
use test_pki::{KeyType, openssl, openssl_ok};
use x509_cert::Certificate;

const ALICE: &str = "alice@example.org";

/// A request openssl makes for a new `key` in `dir`, naming `addresses` in its
/// subjectAltName; returns the request (DER) and the key's path.
fn request(dir: &Path, name: &str, key: KeyType, addresses: &[&str]) -> (Vec<u8>, PathBuf) {
    let key_file = key.generate(dir, name);
    let out = format!("{name}.csr");
    let mut args = vec![
        "req".to_string(),
        "-new".into(),
        "-key".into(),
        key_file.to_str().unwrap().into(),
        "-subj".into(),
        format!("/CN={name}/O=Example"),
        "-outform".into(),
        "DER".into(),
        "-out".into(),
        out.clone(),
    ];
    if !addresses.is_empty() {
        let names: Vec<String> = addresses.iter().map(|a| format!("email:{a}")).collect();
        args.extend([
            "-addext".into(),
            format!("subjectAltName={}", names.join(",")),
        ]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl_ok(dir, &args);
    (std::fs::read(dir.join(out)).unwrap(), key_file)
}

/// A CA with a new `key` in `dir/ca`, "Example Mail CA".
fn new_ca(dir: &Path, key: Algorithm) -> CertificateAuthority<SoftwareKey> {
    let name = host_driver::ca::name("Example Mail CA").unwrap();
    CertificateAuthority::init(&dir.join("ca"), key, &name, 365).unwrap()
}

/// Writes `der` as `dir/name.pem`; returns its name.
fn save(dir: &Path, name: &str, der: &[u8]) -> String {
    let file = format!("{name}.pem");
    std::fs::write(
        dir.join(&file),
        host_driver::pem::encode("CERTIFICATE", der),
    )
    .unwrap();
    file
}

/// `openssl verify -purpose PURPOSE` of `dir/cert` against `dir/ca.pem`.
#[track_caller]
fn openssl_accepts(dir: &Path, cert: &str, purpose: &str) {
    let out = openssl_ok(
        dir,
        &[
            "verify",
            "-CAfile",
            CERTIFICATE_FILE,
            "-purpose",
            purpose,
            cert,
        ],
    );
    assert!(out.contains(": OK"), "{out}");
}

fn issues_openssl_requests_that_openssl_verifies(ca_key: Algorithm) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = new_ca(d, ca_key);
    std::fs::copy(
        d.join("ca").join(CERTIFICATE_FILE),
        d.join(CERTIFICATE_FILE),
    )
    .unwrap();
    for (i, key) in [KeyType::P256, KeyType::P384, KeyType::Rsa2048]
        .into_iter()
        .enumerate()
    {
        let (csr, _) = request(d, &format!("alice{i}"), key, &[ALICE]);
        // openssl's smimeencrypt purpose asks for keyEncipherment, which RFC 5480 §3 does
        // not allow on an EC key: EC encryption certificates are checked by chain and bits.
        let rsa = key == KeyType::Rsa2048;
        let encryption_bit = if rsa {
            "Key Encipherment"
        } else {
            "Key Agreement"
        };
        for (purpose, signs, encrypts) in [
            (Purpose::Signing, true, false),
            (Purpose::Encryption, false, true),
            (Purpose::Both, true, true),
        ] {
            let cert = ca.issue(&csr, ALICE, purpose, 30).unwrap();
            let parsed = <Certificate as der::Decode>::from_der(&cert).unwrap();
            assert_eq!(
                parsed.tbs_certificate().serial_number().as_bytes().len(),
                16
            );
            let file = save(d, &format!("alice{i}-{purpose:?}"), &cert);
            let purposes = [
                ("smimesign", signs),
                ("smimeencrypt", encrypts && rsa),
                ("any", !signs && !rsa),
            ];
            for (openssl_purpose, _) in purposes.iter().filter(|(_, check)| *check) {
                openssl_accepts(d, &file, openssl_purpose);
            }
            let text = openssl_ok(d, &["x509", "-in", &file, "-noout", "-text"]);
            let usage = text
                .split("X509v3 Key Usage: critical")
                .nth(1)
                .expect(&text);
            let usage = usage.lines().nth(1).unwrap();
            assert_eq!(
                usage.contains("Digital Signature, Non Repudiation"),
                signs,
                "{usage}"
            );
            assert_eq!(usage.contains(encryption_bit), encrypts, "{usage}");
            for expected in [
                "email:alice@example.org",
                "E-mail Protection",
                "Authority Key",
            ] {
                assert!(text.contains(expected), "{expected} missing:\n{text}");
            }
        }
        // A signing certificate is not one to encrypt to.
        let cert = ca.issue(&csr, ALICE, Purpose::Signing, 30).unwrap();
        let file = save(d, &format!("alice{i}-signing-only"), &cert);
        let out = openssl(
            d,
            &[
                "verify",
                "-CAfile",
                CERTIFICATE_FILE,
                "-purpose",
                "smimeencrypt",
                &file,
            ],
        );
        assert!(
            !out.status.success(),
            "{key:?} signing certificate accepted for encryption"
        );
    }
}

#[test]
fn a_p256_ca_issues_certificates_openssl_verifies_for_smime() {
    issues_openssl_requests_that_openssl_verifies(Algorithm::EccP256);
}

#[test]
fn p384_and_rsa_cas_issue_certificates_openssl_verifies_for_smime() {
    issues_openssl_requests_that_openssl_verifies(Algorithm::EccP384);
    issues_openssl_requests_that_openssl_verifies(Algorithm::Rsa2048);
}

#[test]
fn the_ca_key_is_private_and_a_ca_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let name = host_driver::ca::name("CN=Example Mail CA,O=Example").unwrap();
    let ca = CertificateAuthority::init(&ca_dir, Algorithm::EccP256, &name, 365).unwrap();
    let mode = |file| {
        std::fs::metadata(ca_dir.join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(KEY_FILE), 0o600);
    assert_eq!(
        mode(CERTIFICATE_FILE) & 0o077 & !0o044,
        0,
        "only readable by others"
    );
    let key = std::fs::read(ca_dir.join(KEY_FILE)).unwrap();
    assert!(matches!(
        CertificateAuthority::init(&ca_dir, Algorithm::EccP256, &name, 365),
        Err(CaError::Exists(_))
    ));
    assert_eq!(
        std::fs::read(ca_dir.join(KEY_FILE)).unwrap(),
        key,
        "key kept"
    );

    // Reopened, it is the same CA.
    let opened = CertificateAuthority::open(&ca_dir).unwrap();
    assert_eq!(opened.certificate(), ca.certificate());
    let subject = opened.certificate().tbs_certificate().subject().to_string();
    assert_eq!(subject, "CN=Example Mail CA,O=Example");
    let text = openssl_ok(
        &ca_dir,
        &["x509", "-in", CERTIFICATE_FILE, "-noout", "-text"],
    );
    for expected in [
        "CA:TRUE",
        "Certificate Sign, CRL Sign",
        "Subject Key Identifier",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
}

#[test]
fn a_request_whose_signature_does_not_hold_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = new_ca(d, Algorithm::EccP256);
    for key in [KeyType::P256, KeyType::Rsa2048] {
        let (mut csr, _) = request(d, &format!("{key:?}"), key, &[ALICE]);
        // The signature is the last field: its last byte is the signature's.
        *csr.last_mut().unwrap() ^= 1;
        assert!(
            matches!(
                ca.issue(&csr, ALICE, Purpose::Signing, 30),
                Err(CaError::RequestSignature(SignatureError::Mismatch))
            ),
            "{key:?}"
        );
    }
}

#[test]
fn a_request_for_another_address_or_none_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = new_ca(d, Algorithm::EccP256);
    let (bob, _) = request(d, "bob", KeyType::P256, &["bob@example.org"]);
    assert!(matches!(
        ca.issue(&bob, ALICE, Purpose::Signing, 30),
        Err(CaError::OtherAddress { found, .. }) if found == "bob@example.org"
    ));
    let (both, _) = request(d, "both", KeyType::P256, &[ALICE, "bob@example.org"]);
    assert!(matches!(
        ca.issue(&both, ALICE, Purpose::Signing, 30),
        Err(CaError::OtherAddress { .. })
    ));
    let (none, _) = request(d, "none", KeyType::P256, &[]);
    assert!(matches!(
        ca.issue(&none, ALICE, Purpose::Signing, 30),
        Err(CaError::NoAddress(_))
    ));
    // An address in the subject's RFC 4524 mail attribute counts as one asked for.
    let key = KeyType::P256.generate(d, "mail");
    let subject_mail = [
        "req",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-subj",
        "/CN=mail/mail=bob@example.org",
        "-addext",
        "subjectAltName=email:alice@example.org",
        "-outform",
        "DER",
        "-out",
        "mail.csr",
    ];
    openssl_ok(d, &subject_mail);
    assert!(matches!(
        ca.issue(&std::fs::read(d.join("mail.csr")).unwrap(), ALICE, Purpose::Signing, 30),
        Err(CaError::OtherAddress { found, .. }) if found == "bob@example.org"
    ));
    // The domain compares in any case.
    let (upper, _) = request(d, "upper", KeyType::P256, &["alice@EXAMPLE.org"]);
    ca.issue(&upper, ALICE, Purpose::Signing, 30).unwrap();
}

fn card_with_key(
    slot: Slot,
    algorithm: Algorithm,
) -> (RefCell<PivCard<InProcess>>, host_driver::PublicKey) {
    let mut card = PivCard::open(InProcess::in_memory(&CardConfig::default()).unwrap()).unwrap();
    let management = card.management_algorithm().unwrap().algorithm;
    card.authenticate(&ManagementKey::factory(management).unwrap())
        .unwrap();
    let key = card.generate(slot, algorithm, None, None).unwrap();
    (RefCell::new(card), key)
}

fn pin() -> Secret {
    Secret::new(b"123456".to_vec()).unwrap()
}

#[test]
fn a_ca_whose_key_is_on_a_card_issues_certificates_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for algorithm in [Algorithm::EccP256, Algorithm::Rsa2048] {
        let (card, key) = card_with_key(Slot::Signature, algorithm);
        let signer = CardSigner::for_public_key(&card, Slot::Signature, key, None)
            .unwrap()
            .with_pin(pin());
        let name = host_driver::ca::name("Card CA").unwrap();
        let ca = CertificateAuthority::self_signed(signer, &name, 365).unwrap();
        save(d, "ca", &ca.certificate_der().unwrap());
        let (csr, _) = request(d, "alice", KeyType::P256, &[ALICE]);
        let cert = ca.issue(&csr, ALICE, Purpose::Signing, 30).unwrap();
        let file = save(d, "alice", &cert);
        openssl_accepts(d, &file, "smimesign");

        // The same CA, found again from its certificate and the card's key.
        let ca_der = ca.certificate_der().unwrap();
        drop(ca);
        let again = CardSigner::new(&card, Slot::Signature, None)
            .unwrap()
            .with_pin(pin());
        assert!(CertificateAuthority::new(&ca_der, again).is_ok());
    }
}

#[test]
fn a_ca_certificate_for_another_key_is_refused() {
    let (card, key) = card_with_key(Slot::Signature, Algorithm::EccP256);
    let software = host_driver::ca::SoftwareKey::generate(Algorithm::EccP256).unwrap();
    let name = host_driver::ca::name("Software CA").unwrap();
    let other = CertificateAuthority::self_signed(software, &name, 1).unwrap();
    let signer = CardSigner::for_public_key(&card, Slot::Signature, key, None).unwrap();
    assert!(matches!(
        CertificateAuthority::new(&other.certificate_der().unwrap(), signer),
        Err(CaError::KeyMismatch)
    ));
}

/// Our verifier accepts mail signed (by openssl) with a key our CA certified, trusting the
/// CA alone.
fn our_verifier_accepts_mail_signed_under<S: CaSigner>(ca: &CertificateAuthority<S>, dir: &Path) {
    let (csr, key) = request(dir, "alice", KeyType::P256, &[ALICE]);
    let cert = ca.issue(&csr, ALICE, Purpose::Signing, 30).unwrap();
    let file = save(dir, "alice", &cert);
    std::fs::write(
        dir.join("mail.txt"),
        "Content-Type: text/plain\n\nHello Bob\n",
    )
    .unwrap();
    openssl_ok(
        dir,
        &[
            "cms",
            "-sign",
            "-in",
            "mail.txt",
            "-out",
            "signed.eml",
            "-signer",
            &file,
            "-inkey",
            key.to_str().unwrap(),
            "-from",
            ALICE,
            "-subject",
            "Hello",
        ],
    );
    let signed = std::fs::read(dir.join("signed.eml")).unwrap();
    let anchor = <Certificate as der::Decode>::from_der(&ca.certificate_der().unwrap()).unwrap();
    let verdict = verify(&mut &signed[..], None, &VerifyOptions::new(vec![anchor])).unwrap();
    assert_eq!(verdict.from.as_deref(), Some(ALICE));
}

#[test]
fn mail_signed_under_a_certificate_our_ca_issued_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let ca = new_ca(dir.path(), Algorithm::Rsa2048);
    our_verifier_accepts_mail_signed_under(&ca, dir.path());

    let (card, key) = card_with_key(Slot::Signature, Algorithm::EccP384);
    let signer = CardSigner::for_public_key(&card, Slot::Signature, key, None)
        .unwrap()
        .with_pin(pin());
    let name = host_driver::ca::name("Card CA").unwrap();
    let ca = CertificateAuthority::self_signed(signer, &name, 365).unwrap();
    our_verifier_accepts_mail_signed_under(&ca, dir.path());
}
