//! Enrolment on an in-process card with a CA made of openssl commands: certificates that
//! openssl accepts for S/MIME, a personalised card, and resuming after the CA failed.

use std::cell::RefCell;
use std::path::Path;

use apdu_spec::piv::{Algorithm, Slot};
use card_sim::CardConfig;
use host_driver::enrolment::{EnrolmentError, Issuer, Outcome, Plan, Purpose, Secrets, enrol};
use host_driver::{Error, InProcess, PivCard, Secret};
use test_pki::{Profile, TestCa};

/// The test CA behind the [`Issuer`] seam; it refuses while `failing`.
struct OpensslIssuer {
    ca: TestCa,
    dir: std::path::PathBuf,
    failing: bool,
}

impl Issuer for OpensslIssuer {
    fn issue(
        &mut self,
        csr_der: &[u8],
        email: &str,
        usage: Purpose,
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        if self.failing {
            return Err("the CA is offline".into());
        }
        let name = match usage {
            Purpose::Signing => "sign",
            Purpose::Encryption => "encrypt",
            Purpose::Both => "both",
        };
        let csr = self.dir.join(format!("{name}.csr.pem"));
        std::fs::write(
            &csr,
            host_driver::pem::encode("CERTIFICATE REQUEST", csr_der),
        )?;
        let profile = match usage {
            Purpose::Signing => Profile::signing("/CN=Bob", email),
            Purpose::Encryption | Purpose::Both => Profile::encryption("/CN=Bob", email),
        };
        Ok(test_pki::der_of(
            &self.ca.certify_request(&csr, name, &profile),
        ))
    }
}

fn secret(s: &str) -> Secret {
    Secret::new(s.as_bytes().to_vec()).unwrap()
}

fn secrets() -> Secrets {
    Secrets {
        pin: secret("123456"),
        puk: secret("12345678"),
        new_pin: secret("11223344"),
        new_puk: secret("55667788"),
        management_key: None,
    }
}

fn plan() -> Plan {
    Plan {
        email: "bob@example.org".into(),
        name: "Bob".into(),
        algorithm: Algorithm::EccP256,
        single_key: false,
    }
}

fn verify(dir: &Path, ca: &TestCa, der: &[u8], purpose: &str) {
    let pem = dir.join(format!("{purpose}.pem"));
    std::fs::write(&pem, host_driver::pem::encode("CERTIFICATE", der)).unwrap();
    let ca = ca.cert();
    let args = ["verify", "-purpose", purpose, "-CAfile"];
    let files = [ca.to_str().unwrap(), pem.to_str().unwrap()];
    test_pki::openssl_ok(dir, &[&args[..], &files[..]].concat());
}

#[test]
fn enrolment_resumes_after_the_ca_failed_and_leaves_no_factory_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut issuer = OpensslIssuer {
        ca: TestCa::new(dir.path()),
        dir: dir.path().to_owned(),
        failing: true,
    };
    let card =
        RefCell::new(PivCard::open(InProcess::in_memory(&CardConfig::default()).unwrap()).unwrap());
    let failed = enrol(&card, &plan(), &secrets(), Some(&mut issuer), &mut |_| {});
    assert!(
        matches!(
            failed,
            Err(EnrolmentError::Issuer {
                usage: Purpose::Signing,
                ..
            })
        ),
        "{failed:?}"
    );

    issuer.failing = false;
    let outcome = enrol(&card, &plan(), &secrets(), Some(&mut issuer), &mut |_| {}).unwrap();
    assert!(matches!(outcome, Outcome::Enrolled));

    let mut card = card.into_inner();
    for (slot, purpose) in [
        (Slot::Signature, "smimesign"),
        (Slot::KeyManagement, "smimeencrypt"),
    ] {
        let der = card.read_certificate(slot).unwrap().unwrap();
        verify(dir.path(), &issuer.ca, &der, purpose);
    }
    assert!(matches!(
        card.verify_pin(&secret("123456")),
        Err(Error::WrongPin { .. })
    ));
    let key = card
        .pin_protected_management_key(&secret("11223344"))
        .unwrap()
        .expect("the management key stored PIN-protected");
    assert_eq!(key.algorithm(), Algorithm::Aes192);
    card.authenticate(&key).unwrap();
    assert!(
        card.admin_data()
            .unwrap()
            .is_some_and(|a| a.management_key_stored)
    );
}

#[test]
fn printed_information_in_its_standard_layout_holds_no_stored_management_key() {
    use apdu_spec::piv::ObjectId;
    use apdu_spec::piv::mgmt_key::ManagementKey;
    let mut card = PivCard::open(InProcess::in_memory(&CardConfig::default()).unwrap()).unwrap();
    card.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
        .unwrap();
    // SP 800-73-4's printed information: name (01), employee affiliation (02), end (FE).
    let printed = [
        0x01, 0x05, b'A', b'l', b'i', b'c', b'e', 0x02, 0x03, b'O', b'r', b'g', 0xFE, 0x00,
    ];
    card.write_object(ObjectId::PRINTED_INFORMATION, &printed)
        .unwrap();
    let pin = Secret::new(b"123456".to_vec()).unwrap();
    assert!(card.pin_protected_management_key(&pin).unwrap().is_none());
}
