//! Mail encrypted by `openssl cms -encrypt` to a certificate whose key was generated on an
//! in-process card, decrypted with the card: RSA (PKCS#1 v1.5 and OAEP), P-256 and P-384,
//! AES-CBC and AES-GCM, streamed or not; GCM with authenticated attributes; a retired key;
//! and the failures a user meets.

use std::path::Path;

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::{Algorithm, ObjectId, Slot};
use card_sim::CardConfig;
use host_driver::card_decryptor::{CardDecryptor, CardKey};
use host_driver::smime::decrypt::{DecryptError, DecryptReport, decrypt};
use host_driver::{InProcess, PivCard, Secret};
use test_pki::{Profile, TestCa};

const CONTENT: &str = "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Bob,\r\nonly your card can read this.\r\n";

/// A card with the factory management key, already authenticated.
fn card() -> PivCard<InProcess> {
    let mut card = PivCard::open(InProcess::in_memory(&CardConfig::default()).unwrap()).unwrap();
    card.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
        .unwrap();
    card
}

/// Generates a key of `algorithm` in `slot` and stores a recipient certificate for it from
/// `ca`, for "CN=<name>" and `<name>.pem` in the CA's directory; returns its file name.
fn enroll(
    card: &mut PivCard<InProcess>,
    ca: &TestCa,
    dir: &Path,
    slot: Slot,
    algorithm: Algorithm,
    name: &str,
) -> String {
    let public = card.generate(slot, algorithm, None, None).unwrap();
    let public_file = dir.join(format!("{name}.pub"));
    std::fs::write(&public_file, public.to_pem().unwrap()).unwrap();
    let usage = if algorithm.is_rsa() {
        "keyUsage=critical,keyEncipherment"
    } else {
        "keyUsage=critical,keyAgreement"
    };
    let profile = Profile::encryption(&format!("/CN={name}"), "bob@example.org").extension(usage);
    let cert = ca.certify(&public_file, name, &profile);
    card.write_certificate(slot, &test_pki::der_of(&cert))
        .unwrap();
    format!("{name}.pem")
}

/// `openssl cms -encrypt` of [`CONTENT`] from Alice to `recipient` (see
/// [`test_pki::encrypt_mail`]).
fn openssl_encrypt(dir: &Path, options: &[&str], recipient: &str, key_options: &[&str], out: &str) {
    std::fs::write(dir.join("content.txt"), CONTENT).unwrap();
    let options = [&["-from", "alice@example.org"][..], options].concat();
    test_pki::encrypt_mail(dir, "content.txt", out, &options, recipient, key_options);
}

fn decrypt_with(
    card: &mut PivCard<InProcess>,
    file: &Path,
    pin: &str,
) -> Result<(String, DecryptReport<CardKey>), DecryptError> {
    let mut input = std::io::BufReader::new(std::fs::File::open(file).unwrap());
    let mut out = Vec::new();
    let mut decryptor = CardDecryptor::new(card).with_pin(Secret::new(pin).unwrap());
    let report = decrypt(&mut input, &mut out, &mut decryptor)?;
    Ok((String::from_utf8(out).unwrap(), report))
}

#[track_caller]
fn assert_decrypts(card: &mut PivCard<InProcess>, file: &Path) -> DecryptReport<CardKey> {
    let (message, report) =
        decrypt_with(card, file, "123456").unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    for expected in [
        "From: alice@example.org\r\n",
        "To: bob@example.org\r\n",
        "Subject: Plans\r\n",
        "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Bob,\r\nonly your card can read this.\r\n",
    ] {
        assert!(message.contains(expected), "{expected:?} in\n{message}");
    }
    assert!(!message.contains("pkcs7-mime"), "{message}");
    assert_eq!(report.content_type.mime_type, "text/plain");
    report
}

/// A test directory with a CA, and a card whose 9D key of `algorithm` has Bob's certificate
/// (`Bob.pem`).
struct Bob {
    dir: tempfile::TempDir,
    ca: TestCa,
    card: PivCard<InProcess>,
    recipient: String,
}

impl Bob {
    fn new(algorithm: Algorithm) -> Bob {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new(dir.path());
        let mut card = card();
        let recipient = enroll(
            &mut card,
            &ca,
            dir.path(),
            Slot::KeyManagement,
            algorithm,
            "Bob",
        );
        Bob {
            dir,
            ca,
            card,
            recipient,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

#[test]
fn openssl_mail_to_a_card_key_decrypts_for_every_key_type_and_cipher() {
    for (algorithm, options, key_management) in [
        (Algorithm::Rsa2048, &[][..], "RSA-2048 PKCS#1 v1.5"),
        (
            Algorithm::Rsa2048,
            &["-keyopt", "rsa_padding_mode:oaep"][..],
            "RSA-2048 OAEP with SHA-1",
        ),
        (
            Algorithm::Rsa2048,
            &[
                "-keyopt",
                "rsa_padding_mode:oaep",
                "-keyopt",
                "rsa_oaep_md:sha256",
            ][..],
            "RSA-2048 OAEP with SHA-256",
        ),
        (
            Algorithm::EccP256,
            &[][..],
            "ECDH P-256 with the SHA-1 KDF and AES-",
        ),
        (
            Algorithm::EccP384,
            &["-keyopt", "ecdh_kdf_md:sha384"][..],
            "ECDH P-384 with the SHA-384 KDF and AES-",
        ),
    ] {
        let mut bob = Bob::new(algorithm);
        let d = bob.dir.path();
        for (cipher, content_cipher) in [
            (&["-aes256"][..], "AES-256-CBC"),
            (&["-aes256", "-stream"][..], "AES-256-CBC"),
            (&["-aes-256-gcm"][..], "AES-256-GCM"),
            (&["-aes-256-gcm", "-stream"][..], "AES-256-GCM"),
            // The recipient named by its subject key identifier.
            (&["-aes128", "-keyid"][..], "AES-128-CBC"),
        ] {
            openssl_encrypt(d, cipher, &bob.recipient, options, "mail.eml");
            let report = assert_decrypts(&mut bob.card, &d.join("mail.eml"));
            let case = format!("{algorithm} {cipher:?} {options:?}");
            assert_eq!(report.content_cipher, content_cipher, "{case}");
            assert!(
                report.key_management.starts_with(key_management),
                "{case}: {}",
                report.key_management
            );
            assert_eq!(report.key.slot, Slot::KeyManagement, "{case}");
            assert_eq!(report.recipient, "CN=Bob", "{case}");
        }
    }
}

#[test]
fn a_retired_key_listed_in_the_key_history_decrypts_mail_to_its_certificate() {
    let mut bob = Bob::new(Algorithm::EccP256);
    let retired = Slot::retired(1).unwrap();
    let d = bob.dir.path();
    let old = enroll(
        &mut bob.card,
        &bob.ca,
        d,
        retired,
        Algorithm::EccP256,
        "Old",
    );
    bob.card
        .write_object(
            ObjectId::KEY_HISTORY,
            &host_driver::piv::KeyHistory {
                keys_with_on_card_certs: 1,
                keys_with_off_card_certs: 0,
                off_card_cert_url: None,
            }
            .encode(),
        )
        .unwrap();
    openssl_encrypt(d, &["-aes-256-gcm"], &old, &[], "old.eml");
    let report = assert_decrypts(&mut bob.card, &d.join("old.eml"));
    assert_eq!(report.key.slot, retired);
    assert_eq!(report.key.to_string(), "slot 82 (Retired Key Management 1)");
}

#[test]
fn a_flipped_byte_in_the_ciphertext_or_the_tag_fails_with_one_error() {
    let mut bob = Bob::new(Algorithm::Rsa2048);
    let d = bob.dir.path();
    // Without -stream, the DER ends with the ciphertext (CBC) or with the 16-byte tag
    // after a two-byte header (GCM); the RSA-encrypted key is the one 256-byte string.
    let encrypted_key = |der: &[u8]| {
        der.windows(4)
            .position(|w| w == [0x04, 0x82, 0x01, 0x00])
            .unwrap()
            + 4
            + 100
    };
    for (cipher, at) in [
        // The last byte of the next-to-last block: it turns the padding byte.
        (
            "-aes256",
            &(|der: &[u8]| der.len() - 17) as &dyn Fn(&[u8]) -> usize,
        ),
        ("-aes-256-gcm", &|der: &[u8]| der.len() - 1),
        ("-aes-256-gcm", &|der: &[u8]| der.len() - 19),
        // A wrong RSA padding gives a stand-in key (implicit rejection): the tag fails.
        ("-aes-256-gcm", &encrypted_key),
    ] {
        openssl_encrypt(d, &[cipher], &bob.recipient, &[], "mail.eml");
        let file = d.join("mail.eml");
        assert_decrypts(&mut bob.card, &file);
        let mut flipped = 0;
        test_pki::flip_cms_bit(d, "mail.eml", |der| {
            flipped = at(der);
            flipped
        });
        let err = decrypt_with(&mut bob.card, &file, "123456").unwrap_err();
        assert!(
            matches!(err, DecryptError::Failed),
            "{cipher} byte {flipped}: {err}"
        );
    }
}

#[test]
fn a_card_that_is_not_a_recipient_names_the_recipients_and_its_keys() {
    let bob = Bob::new(Algorithm::EccP256);
    let d = bob.path();
    let mut carol = card();
    enroll(
        &mut carol,
        &bob.ca,
        d,
        Slot::KeyManagement,
        Algorithm::EccP256,
        "Carol",
    );
    openssl_encrypt(d, &["-aes256"], &bob.recipient, &[], "mail.eml");
    let err = decrypt_with(&mut carol, &d.join("mail.eml"), "123456").unwrap_err();
    let DecryptError::NotRecipient { recipients, keys } = &err else {
        panic!("{err}");
    };
    assert_eq!(recipients.len(), 1, "{err}");
    assert!(recipients[0].contains("CN=Test Mail CA"), "{err}");
    assert_eq!(keys, &["slot 9d (Key Management): CN=Carol"], "{err}");
    let mut empty = card();
    let err = decrypt_with(&mut empty, &d.join("mail.eml"), "123456").unwrap_err();
    assert!(err.to_string().ends_with("the keys here are none"), "{err}");
}

#[test]
fn a_wrong_pin_is_the_cards_error_and_costs_one_try() {
    let mut bob = Bob::new(Algorithm::EccP384);
    let d = bob.dir.path();
    openssl_encrypt(d, &["-aes-256-gcm"], &bob.recipient, &[], "mail.eml");
    let err = decrypt_with(&mut bob.card, &d.join("mail.eml"), "654321").unwrap_err();
    let DecryptError::Key(source) = &err else {
        panic!("{err}");
    };
    assert!(
        matches!(
            source.downcast_ref::<host_driver::Error>(),
            Some(host_driver::Error::WrongPin { tries_left: 2 })
        ),
        "{source}"
    );
}

#[test]
fn signed_or_plain_mail_is_not_encrypted() {
    let mut card = card();
    let mut out = Vec::new();
    let mut decryptor = CardDecryptor::new(&mut card);
    for (mail, why) in [
        (
            &b"From: a@example.org\n\nhello\n"[..],
            "its type is text/plain",
        ),
        (
            b"Content-Type: application/pkcs7-mime; smime-type=signed-data\n\nMAA=\n",
            "it is S/MIME signed-data",
        ),
    ] {
        let err = decrypt(&mut &mail[..], &mut out, &mut decryptor).unwrap_err();
        assert!(
            matches!(&err, DecryptError::NotEncrypted(m) if m == why),
            "{err}"
        );
    }
    assert!(out.is_empty());
}

#[test]
fn our_encryption_to_a_card_key_opens_with_that_card_for_every_key_type_and_cipher() {
    use host_driver::smime::encrypt::{
        ContentCipher, EncryptRequest, Recipient, RsaPadding, encrypt,
    };

    let message =
        format!("From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Plans\r\n{CONTENT}");
    for algorithm in [
        Algorithm::Rsa2048,
        Algorithm::EccP256,
        Algorithm::EccP384,
        Algorithm::X25519,
    ] {
        let bob = Bob::new(algorithm);
        let Bob { dir, mut card, .. } = bob;
        let cert = test_pki::der_of(&dir.path().join("Bob.pem"));
        let recipients = [Recipient::from_certificate(&cert).unwrap()];
        for cipher in ContentCipher::ALL {
            for rsa_padding in [RsaPadding::Pkcs1v15, RsaPadding::Oaep] {
                let request = EncryptRequest {
                    recipients: &recipients,
                    cipher,
                    rsa_padding,
                };
                let file = dir.path().join("sent.eml");
                let mut sent = Vec::new();
                encrypt(
                    std::io::Cursor::new(message.as_bytes()),
                    &mut sent,
                    &request,
                )
                .unwrap();
                std::fs::write(&file, &sent).unwrap();
                let report = assert_decrypts(&mut card, &file);
                assert_eq!(
                    report.key.slot,
                    Slot::KeyManagement,
                    "{algorithm} {cipher:?}"
                );
            }
        }
    }
}

/// GCMParameters (RFC 5084 §3.2).
#[derive(der::Sequence)]
struct GcmParameters {
    nonce: der::asn1::OctetString,
    icv_len: u8,
}

/// A content-type and a signing-time attribute, as a sender may authenticate them.
fn auth_attributes(signed_at: u64) -> cms::authenveloped_data::AuthAttributes {
    use const_oid::db::rfc5911;
    use der::asn1::{SetOfVec, UtcTime};
    use x509_cert::attr::Attribute;

    let attribute = |oid, value: der::Any| Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).unwrap(),
    };
    let time = UtcTime::from_unix_duration(std::time::Duration::from_secs(signed_at)).unwrap();
    SetOfVec::try_from(vec![
        attribute(
            rfc5911::ID_CONTENT_TYPE,
            der::Any::encode_from(&rfc5911::ID_DATA).unwrap(),
        ),
        attribute(
            rfc5911::ID_SIGNING_TIME,
            der::Any::encode_from(&time).unwrap(),
        ),
    ])
    .unwrap()
}

/// Mail holding an AuthEnvelopedData (AES-128-GCM) of [`CONTENT`] for the RSA key of
/// `cert`, whose tag covers [`auth_attributes`] of `signed_at` (RFC 5083 §2.2: their DER
/// with the SET tag) while the message carries those of `carried_at`. Built here, with an
/// independent GCM, because neither our encryption nor OpenSSL's writes such attributes.
fn gcm_mail_with_auth_attributes(cert: &[u8], signed_at: u64, carried_at: u64) -> Vec<u8> {
    use aes_gcm::aead::{Aead, Payload};
    use aes_gcm::{Aes128Gcm, KeyInit};
    use cms::authenveloped_data::AuthEnvelopedData;
    use cms::cert::IssuerAndSerialNumber;
    use cms::content_info::{CmsVersion, ContentInfo};
    use cms::enveloped_data::{
        EncryptedContentInfo, KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo,
        RecipientInfos,
    };
    use const_oid::db::{rfc5911, rfc5912};
    use der::asn1::OctetString;
    use der::{Any, Decode, Encode};
    use spki::AlgorithmIdentifierOwned;

    let certificate = x509_cert::Certificate::from_der(cert).unwrap();
    let host_driver::PublicKey::Rsa(public) = host_driver::PublicKey::from_spki_der(
        &certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap(),
    )
    .unwrap() else {
        panic!("an RSA certificate");
    };
    let mut key = [0u8; 16];
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut key).unwrap();
    getrandom::fill(&mut nonce).unwrap();
    let encrypted_key = public
        .encrypt(&mut getrandom::SysRng, rsa::Pkcs1v15Encrypt, &key)
        .unwrap();
    let recipient = RecipientInfo::Ktri(KeyTransRecipientInfo {
        version: CmsVersion::V0,
        rid: RecipientIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: certificate.tbs_certificate().issuer().clone(),
            serial_number: certificate.tbs_certificate().serial_number().clone(),
        }),
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: rfc5912::RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        enc_key: OctetString::new(encrypted_key).unwrap(),
    });

    let aad = auth_attributes(signed_at).to_der().unwrap();
    let mut sealed = Aes128Gcm::new_from_slice(&key)
        .unwrap()
        .encrypt(
            &nonce.into(),
            Payload {
                msg: CONTENT.as_bytes(),
                aad: &aad,
            },
        )
        .unwrap();
    let tag = sealed.split_off(sealed.len() - 16);
    let parameters = GcmParameters {
        nonce: OctetString::new(nonce).unwrap(),
        icv_len: 16,
    };
    let envelope = AuthEnvelopedData {
        version: CmsVersion::V0,
        originator_info: None,
        recip_infos: RecipientInfos::try_from(vec![recipient]).unwrap(),
        auth_encrypted_content_info: EncryptedContentInfo {
            content_type: rfc5911::ID_DATA,
            content_enc_alg: AlgorithmIdentifierOwned {
                oid: rfc5911::ID_AES_128_GCM,
                parameters: Some(Any::encode_from(&parameters).unwrap()),
            },
            encrypted_content: Some(OctetString::new(sealed).unwrap()),
        },
        auth_attrs: Some(auth_attributes(carried_at)),
        mac: OctetString::new(tag).unwrap(),
        unauth_attrs: None,
    };
    let der = ContentInfo {
        content_type: rfc5911::ID_CT_AUTH_ENVELOPED_DATA,
        content: Any::encode_from(&envelope).unwrap(),
    }
    .to_der()
    .unwrap();
    let mut mail = b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Plans\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=smime.p7m\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    let mut body = host_driver::smime::base64_stream::Base64LineWriter::new(&mut mail);
    std::io::Write::write_all(&mut body, &der).unwrap();
    body.finish().unwrap();
    mail
}

#[test]
fn gcm_with_authenticated_attributes_decrypts_and_fails_once_they_are_changed() {
    let mut bob = Bob::new(Algorithm::Rsa2048);
    let cert = test_pki::der_of(&bob.path().join("Bob.pem"));
    let file = bob.path().join("attributes.eml");
    let signed_at = 1_767_225_600;

    std::fs::write(
        &file,
        gcm_mail_with_auth_attributes(&cert, signed_at, signed_at),
    )
    .unwrap();
    let report = assert_decrypts(&mut bob.card, &file);
    assert_eq!(report.content_cipher, "AES-128-GCM");

    std::fs::write(
        &file,
        gcm_mail_with_auth_attributes(&cert, signed_at, signed_at + 1),
    )
    .unwrap();
    let mut input = std::io::BufReader::new(std::fs::File::open(&file).unwrap());
    let mut out = Vec::new();
    let mut decryptor = CardDecryptor::new(&mut bob.card).with_pin(Secret::new("123456").unwrap());
    let err = decrypt(&mut input, &mut out, &mut decryptor).unwrap_err();
    assert!(matches!(err, DecryptError::Failed), "{err}");
    assert!(out.is_empty(), "{} bytes written", out.len());
}
