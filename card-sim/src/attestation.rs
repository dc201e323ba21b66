//! Attestation, as a YubiKey does it: a per-card key in slot F9 with its own certificate
//! (object 5FFF01), which signs certificates stating that a slot's key was generated on
//! the card, with the firmware, serial and policies in Yubico's extensions.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use apdu_spec::piv::Slot;
use const_oid::ObjectIdentifier;
use der::asn1::{GeneralizedTime, OctetString};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use crate::keys::{KeyError, PrivateKey};

use apdu_spec::piv::attestation::{
    FIRMWARE as OID_FIRMWARE, FORM_FACTOR as OID_FORM_FACTOR, POLICY as OID_POLICY,
    SERIAL as OID_SERIAL,
};
/// Form factor 00: unspecified (there is no physical key).
const FORM_FACTOR_UNSPECIFIED: u8 = 0x00;

/// What a certificate on the card records about the card.
pub struct CardFacts {
    pub serial: u32,
    pub firmware: [u8; 3],
}

/// A fixed-content certificate profile: the names and extensions are decided by the caller.
struct FixedProfile {
    issuer: Name,
    subject: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for FixedProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
) -> Result<Extension, der::Error> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value)?,
    })
}

fn random_serial() -> Result<SerialNumber, der::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| der::ErrorKind::Failed)?;
    bytes[0] &= 0x7F; // positive
    bytes[0] |= 0x01; // no leading zero byte to strip
    SerialNumber::new(&bytes)
}

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AttestationError {
    #[error("certificate encoding: {0}")]
    Der(#[from] der::Error),
    #[error("certificate building: {0}")]
    Build(#[from] x509_cert::builder::Error),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the attestation key must be a P-256 key")]
    WrongAttestationKey,
}

/// A new attestation key (P-256) and its self-signed CA certificate, valid from now with
/// no expiry (RFC 5280's 99991231235959Z).
pub fn new_attestation_identity(
    card: &CardFacts,
) -> Result<(PrivateKey, Vec<u8>), AttestationError> {
    let key = PrivateKey::generate(apdu_spec::piv::Algorithm::EccP256)?;
    let Some(signer) = key.p256_signer() else {
        return Err(AttestationError::WrongAttestationKey);
    };
    let name = Name::from_str(&format!(
        "CN=card-sim PIV Attestation,serialNumber={}",
        card.serial
    ))?;
    let mut ku = KeyUsage(KeyUsages::KeyCertSign.into());
    ku.0 |= KeyUsages::CRLSign;
    let profile = FixedProfile {
        issuer: name.clone(),
        subject: name,
        extensions: vec![
            extension(
                const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS,
                true,
                BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                }
                .to_der()?,
            )?,
            extension(const_oid::db::rfc5280::ID_CE_KEY_USAGE, true, ku.to_der()?)?,
            extension(OID_FIRMWARE, false, card.firmware.to_vec())?,
            extension(OID_SERIAL, false, card.serial.to_der()?)?,
        ],
    };
    let validity = Validity::new(
        Time::try_from(SystemTime::now() - Duration::from_secs(60))?,
        Time::GeneralTime(GeneralizedTime::from_date_time(der::DateTime::new(
            9999, 12, 31, 23, 59, 59,
        )?)),
    );
    let spki = SubjectPublicKeyInfoOwned::from_der(&key.spki_der()?)?;
    let cert = CertificateBuilder::new(profile, random_serial()?, validity, spki)?
        .build::<_, p256::ecdsa::DerSignature>(signer)?;
    Ok((key, cert.to_der()?))
}

/// The attestation certificate for the key in `slot`: issued by the F9 certificate, with
/// the validity copied from it, subject "YubiKey PIV Attestation <slot>" as clients
/// expect, and Yubico's firmware, serial, policy and form-factor extensions.
pub fn attest(
    attestation_key: &PrivateKey,
    attestation_cert: &[u8],
    slot: Slot,
    key: &PrivateKey,
    policy: (u8, u8),
    card: &CardFacts,
) -> Result<Vec<u8>, AttestationError> {
    let Some(signer) = attestation_key.p256_signer() else {
        return Err(AttestationError::WrongAttestationKey);
    };
    let issuer_cert = Certificate::from_der(attestation_cert)?;
    let tbs = issuer_cert.tbs_certificate();
    let profile = FixedProfile {
        issuer: tbs.subject().clone(),
        subject: Name::from_str(&format!("CN=YubiKey PIV Attestation {slot}"))?,
        extensions: vec![
            extension(OID_FIRMWARE, false, card.firmware.to_vec())?,
            extension(OID_SERIAL, false, card.serial.to_der()?)?,
            extension(OID_POLICY, false, vec![policy.0, policy.1])?,
            extension(OID_FORM_FACTOR, false, vec![FORM_FACTOR_UNSPECIFIED])?,
        ],
    };
    let spki = SubjectPublicKeyInfoOwned::from_der(&key.spki_der()?)?;
    let cert = CertificateBuilder::new(profile, random_serial()?, *tbs.validity(), spki)?
        .build::<_, p256::ecdsa::DerSignature>(signer)?;
    Ok(cert.to_der()?)
}
