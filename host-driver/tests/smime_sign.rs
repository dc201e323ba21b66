//! Mail signed with an in-process card key, judged by `openssl cms -verify`, on every
//! flavour of card: the signer learns its key from metadata or from the slot's certificate.

use std::cell::RefCell;
use std::path::Path;

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::{Algorithm, Slot};
use card_sim::Flavour;
use host_driver::card_signer::CardSigner;
use host_driver::smime::sign::{Form, SignRequest, digest_for, sign};
use host_driver::{InProcess, PivCard, Secret};
use test_pki::{Profile, TestCa};

const MESSAGE: &str = "From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\nSubject: Quarterly figures\nDate: Sun, 29 Nov 2026 10:00:00 +0000\nMessage-ID: <figures@example.org>\n\nHello Bob,\nthe figures are attached in spirit.\n-- \nAlice\n";

/// A CA, and a card of `flavour` whose `slot` holds a key of `algorithm` with a certificate
/// from it.
fn enrolled_card(
    flavour: Flavour,
    dir: &Path,
    algorithm: Algorithm,
    slot: Slot,
) -> (PivCard<InProcess>, Vec<u8>) {
    let ca = TestCa::new(dir);
    let mut card = PivCard::open(InProcess::in_memory(&flavour.config()).unwrap()).unwrap();
    let management = flavour.profile().factory_management_algorithm();
    card.authenticate(&ManagementKey::factory(management).unwrap())
        .unwrap();
    let public = card.generate(slot, algorithm, None, None).unwrap();
    let public_file = dir.join("user.pub");
    std::fs::write(&public_file, public.to_pem().unwrap()).unwrap();
    let profile = Profile::signing("/CN=Alice Example", "alice@example.org");
    let cert = test_pki::der_of(&ca.certify(&public_file, "user", &profile));
    card.write_certificate(slot, &cert).unwrap();
    (card, cert)
}

fn sign_file(
    card: PivCard<InProcess>,
    slot: Slot,
    cert: &[u8],
    form: Form,
    message: &[u8],
    out: &Path,
) -> PivCard<InProcess> {
    let card = RefCell::new(card);
    {
        let signer = CardSigner::new(&card, slot, None)
            .unwrap()
            .with_pin(Secret::new(b"123456".to_vec()).unwrap());
        let digest = digest_for(signer.scheme());
        let request = SignRequest {
            signer: &signer,
            certificate: cert,
            chain: &[],
            form,
            digest,
        };
        let output = std::fs::File::create(out).unwrap();
        sign(std::io::Cursor::new(message), output, &request).unwrap();
    }
    card.into_inner()
}

fn verify(dir: &Path, file: &str) -> std::process::Output {
    test_pki::verify_mail(dir, file, Path::new("ca.pem"))
}

card_sim::test_each_flavour!(
    openssl_verifies_multipart_and_opaque_signatures_of_rsa_and_ec_keys,
    a_changed_body_fails_verification,
    eight_bit_bodies_are_base64_encoded_and_lf_becomes_crlf,
);

fn openssl_verifies_multipart_and_opaque_signatures_of_rsa_and_ec_keys(flavour: Flavour) {
    for (algorithm, slot) in [
        (Algorithm::EccP256, Slot::Signature),
        (Algorithm::Rsa2048, Slot::Signature),
        (Algorithm::EccP384, Slot::Authentication),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (mut card, cert) = enrolled_card(flavour, dir.path(), algorithm, slot);
        for (form, name) in [
            (Form::Multipart, "multipart.eml"),
            (Form::Opaque, "opaque.eml"),
        ] {
            card = sign_file(
                card,
                slot,
                &cert,
                form,
                MESSAGE.as_bytes(),
                &dir.path().join(name),
            );
            let out = verify(dir.path(), name);
            assert!(
                out.status.success(),
                "{algorithm} {form:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let content = std::fs::read_to_string(dir.path().join("content.out")).unwrap();
            assert!(
                content.contains("the figures are attached in spirit."),
                "{content}"
            );
            let signed = std::fs::read_to_string(dir.path().join(name)).unwrap();
            for header in [
                "From: Alice",
                "To: Bob",
                "Subject: Quarterly",
                "Date: Sun",
                "Message-ID: <figures",
            ] {
                assert!(
                    signed.contains(header),
                    "{header} kept on the outer message"
                );
            }
        }
        let multipart = std::fs::read_to_string(dir.path().join("multipart.eml")).unwrap();
        let micalg = if algorithm == Algorithm::EccP384 {
            "micalg=sha-384"
        } else {
            "micalg=sha-256"
        };
        assert!(multipart.contains(micalg), "{multipart}");
        assert!(multipart.contains("protocol=\"application/pkcs7-signature\""));
        let opaque = std::fs::read_to_string(dir.path().join("opaque.eml")).unwrap();
        assert!(opaque.contains("application/pkcs7-mime; smime-type=signed-data"));
    }
}

fn a_changed_body_fails_verification(flavour: Flavour) {
    let dir = tempfile::tempdir().unwrap();
    let (card, cert) = enrolled_card(flavour, dir.path(), Algorithm::EccP256, Slot::Signature);
    sign_file(
        card,
        Slot::Signature,
        &cert,
        Form::Multipart,
        MESSAGE.as_bytes(),
        &dir.path().join("m.eml"),
    );
    let signed = std::fs::read_to_string(dir.path().join("m.eml")).unwrap();
    std::fs::write(
        dir.path().join("t.eml"),
        signed.replace("Hello Bob", "Hello Rob"),
    )
    .unwrap();
    assert!(verify(dir.path(), "m.eml").status.success());
    assert!(!verify(dir.path(), "t.eml").status.success());
}

fn eight_bit_bodies_are_base64_encoded_and_lf_becomes_crlf(flavour: Flavour) {
    let dir = tempfile::tempdir().unwrap();
    let (card, cert) = enrolled_card(flavour, dir.path(), Algorithm::EccP256, Slot::Signature);
    let message = "From: alice@example.org\nSubject: caf\u{e9}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nCaf\u{e9} cr\u{e8}me\n";
    sign_file(
        card,
        Slot::Signature,
        &cert,
        Form::Multipart,
        message.as_bytes(),
        &dir.path().join("m.eml"),
    );
    let signed = std::fs::read(dir.path().join("m.eml")).unwrap();
    assert!(
        signed
            .iter()
            .all(|&b| b < 0x80 || b"caf\xc3\xa9".contains(&b)),
        "the body is 7-bit"
    );
    let text = String::from_utf8_lossy(&signed);
    assert!(text.contains("Content-Transfer-Encoding: base64"));
    assert!(!text.contains("Content-Transfer-Encoding: 8bit"));
    assert!(
        text.split("\r\n").count() > 10 && !text.replace("\r\n", "").contains('\n'),
        "every line ends in CRLF"
    );
    assert!(verify(dir.path(), "m.eml").status.success());
}

/// A body of `lines` short 7-bit lines, then `tail`: far enough in that the first chunks
/// read have long gone out when the tail shows what the body needs.
fn late(lines: usize, tail: &str) -> String {
    (0..lines)
        .map(|i| format!("line {i}\n"))
        .collect::<String>()
        + tail
}

/// The signed entity of a multipart/signed mail: what lies between the first boundary line
/// and the next.
fn signed_entity(mail: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(mail.to_vec()).unwrap();
    let boundary = text
        .split("boundary=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let line = format!("--{boundary}\r\n");
    let start = text.find(&line).unwrap() + line.len();
    let end = start
        + text[start..]
            .find(&format!("\r\n--{boundary}\r\n"))
            .unwrap();
    text.as_bytes()[start..end].to_vec()
}

#[test]
fn one_pass_signs_the_same_bytes_as_a_scan_first() {
    use host_driver::smime::rewind::{Forward, Rewind};
    use host_driver::smime::sign::SignReport;

    let dir = tempfile::tempdir().unwrap();
    let (card, cert) = enrolled_card(
        Flavour::YubiKey,
        dir.path(),
        Algorithm::EccP256,
        Slot::Signature,
    );
    let card = RefCell::new(card);
    let signer = CardSigner::new(&card, Slot::Signature, None)
        .unwrap()
        .with_pin(Secret::new(b"123456".to_vec()).unwrap());
    let sign_into = |message: &str, form, output: &mut dyn Rewind| -> SignReport {
        let request = SignRequest {
            signer: &signer,
            certificate: &cert,
            chain: &[],
            form,
            digest: digest_for(signer.scheme()),
        };
        sign(std::io::Cursor::new(message), output, &request).unwrap()
    };
    let head = "From: alice@example.org\nContent-Type: text/plain; charset=utf-8\n";
    let lines = 20_000; // about 200 KiB: several chunks before the tail
    let base64_body = "SGVsbG8gQm9iLA0KY2Fmw6kgY3LDqG1lLg0K\n".repeat(lines);
    let qp_body =
        "Caf=C3=A9 cr=C3=A8me, a long line cut with a soft break =\nhere.\n".repeat(lines);
    let cases = [
        ("7-bit", format!("{head}\n{}", late(lines, "end\n")), false),
        (
            "8-bit late",
            format!("{head}\n{}", late(lines, "caf\u{e9}\n")),
            true,
        ),
        (
            "long line late",
            format!("{head}\n{}", late(lines, &("x".repeat(999) + "\n"))),
            true,
        ),
        (
            "base64",
            format!("{head}Content-Transfer-Encoding: base64\n\n{base64_body}"),
            false,
        ),
        (
            "quoted-printable",
            format!("{head}Content-Transfer-Encoding: quoted-printable\n\n{qp_body}"),
            false,
        ),
    ];
    for (name, message, reencoded) in &cases {
        for form in [Form::Multipart, Form::Opaque] {
            let mut one_pass = Vec::new();
            let mut scan_first = Forward(Vec::new());
            let report = sign_into(message, form, &mut one_pass);
            assert_eq!(
                report,
                sign_into(message, form, &mut scan_first),
                "{name} {form:?}"
            );
            // Either way, openssl finds the signature good and the same content in it.
            let mut contents = Vec::new();
            for (file, mail) in [("one.eml", &one_pass), ("two.eml", &scan_first.0)] {
                std::fs::write(dir.path().join(file), mail).unwrap();
                let out = verify(dir.path(), file);
                assert!(
                    out.status.success(),
                    "{name} {form:?} {file}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                contents.push(std::fs::read(dir.path().join("content.out")).unwrap());
            }
            assert_eq!(contents[0], contents[1], "{name} {form:?}");
            if form == Form::Multipart {
                let entity = signed_entity(&one_pass);
                assert_eq!(entity, signed_entity(&scan_first.0), "{name}");
                assert_eq!(entity.len() as u64, report.signed_bytes, "{name}");
                let head = String::from_utf8_lossy(&entity[..200]).into_owned();
                assert_eq!(
                    head.contains("Content-Transfer-Encoding: base64")
                        && !name.starts_with("base64"),
                    *reencoded,
                    "{name}: {head}"
                );
            }
        }
    }
    // A multipart body that proves late to need encoding is refused either way.
    let multipart = format!(
        "From: alice@example.org\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\n{}--b--\n",
        late(lines, "caf\u{e9}\n")
    );
    let request = SignRequest {
        signer: &signer,
        certificate: &cert,
        chain: &[],
        form: Form::Multipart,
        digest: digest_for(signer.scheme()),
    };
    for output in [&mut Vec::new() as &mut dyn Rewind, &mut Forward(Vec::new())] {
        let error = sign(std::io::Cursor::new(&multipart), output, &request).unwrap_err();
        assert!(error.to_string().contains("8-bit"), "{error}");
    }
}
