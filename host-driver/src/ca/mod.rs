//! A local certificate authority for S/MIME, as an organisation's CA serves its enrollment
//! agent: a self-signed root, and certificates for the requests (PKCS#10) that cards sign.
//!
//! What a certificate may say is the CA's choice, not the requester's: the request brings
//! a subject, a public key and an address; the caller names the address it issues for (an
//! enrollment agent knows whom it enrols), and every address the request names must be that
//! one. Other extensions the request asks for are ignored. The profile follows RFC 8550
//! and RFC 8551 (see [`profile`]).
//!
//! The CA signs through RustCrypto's signer traits, so its key may be a [`SoftwareKey`]
//! kept in the CA's directory ([`directory`]) or a card's key through
//! [`CardSigner`](crate::card_signer::CardSigner), as a real CA's key lives in an HSM.

pub mod directory;
pub mod profile;
pub mod request;
pub mod software_key;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use const_oid::db::rfc4519;
use der::referenced::OwnedToRef;
use der::{Decode, Encode};
use signature::{Keypair, Signer};
use spki::DynSignatureAlgorithmIdentifier;
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::public_key::PublicKey;
use crate::signing::SignatureBytes;

pub use profile::Purpose;
pub use request::Request;
pub use software_key::SoftwareKey;

/// Why the CA did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} already exists; a CA is never overwritten")]
    Exists(PathBuf),
    #[error("malformed {0}")]
    Malformed(String),
    #[error("the request's signature does not hold: {0}")]
    RequestSignature(#[from] crate::pki::algorithms::SignatureError),
    #[error("the request names no e-mail address (subjectAltName rfc822Name); expected {0}")]
    NoAddress(String),
    #[error("the request names {found}, but this certificate is for {expected}")]
    OtherAddress { expected: String, found: String },
    #[error("{0} is not an e-mail address a certificate can carry (ASCII, local@domain)")]
    InvalidAddress(String),
    #[error("{key} keys cannot be certified for {purpose}")]
    KeyCannotServe { key: String, purpose: Purpose },
    #[error("a CA key must be p256, p384, rsa2048, rsa3072 or rsa4096, not {0}")]
    UnsupportedKey(String),
    #[error("the CA certificate is not for the CA's key")]
    KeyMismatch,
    /// The CA's key did not sign; a card says why (a wrong PIN, say) as the source.
    #[error("the CA key did not sign")]
    Signing(#[source] signature::Error),
    #[error("building the certificate: {0}")]
    Build(x509_cert::builder::Error),
}

impl From<x509_cert::builder::Error> for CaError {
    fn from(err: x509_cert::builder::Error) -> Self {
        match err {
            x509_cert::builder::Error::Signature(e) => Self::Signing(e),
            other => Self::Build(other),
        }
    }
}

impl CaError {
    fn malformed(what: &str, err: impl std::fmt::Display) -> Self {
        Self::Malformed(format!("{what}: {err}"))
    }
}

/// What a CA's key must do: sign, and tell its public half and algorithm.
pub trait CaSigner:
    Keypair<VerifyingKey = PublicKey> + Signer<SignatureBytes> + DynSignatureAlgorithmIdentifier
{
}

impl<S> CaSigner for S where
    S: Keypair<VerifyingKey = PublicKey> + Signer<SignatureBytes> + DynSignatureAlgorithmIdentifier
{
}

/// A CA certificate and the key that signs with it.
pub struct CertificateAuthority<S> {
    certificate: Certificate,
    signer: S,
}

impl<S: CaSigner> CertificateAuthority<S> {
    /// The CA whose certificate is `certificate` (DER), provided `signer` holds its key.
    pub fn new(certificate: &[u8], signer: S) -> Result<Self, CaError> {
        let certificate = Certificate::from_der(certificate)
            .map_err(|e| CaError::malformed("CA certificate", e))?;
        let spki = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| CaError::malformed("CA certificate", e))?;
        let key = PublicKey::from_spki_der(&spki).map_err(|_| CaError::KeyMismatch)?;
        if key != signer.verifying_key() {
            return Err(CaError::KeyMismatch);
        }
        Ok(Self {
            certificate,
            signer,
        })
    }

    /// A new root: `signer`'s key certified by itself under `name`, for `days`.
    pub fn self_signed(signer: S, name: &Name, days: u32) -> Result<Self, CaError> {
        let public_key = spki_of(&signer.verifying_key())?;
        let profile = profile::Profile {
            issuer: name.clone(),
            subject: name.clone(),
            kind: profile::Kind::Root,
        };
        let builder =
            CertificateBuilder::new(profile, random_serial()?, validity(days)?, public_key)?;
        let certificate = builder.build::<S, SignatureBytes>(&signer)?;
        Ok(Self {
            certificate,
            signer,
        })
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> Result<Vec<u8>, CaError> {
        self.certificate
            .to_der()
            .map_err(|e| CaError::malformed("CA certificate", e))
    }

    pub fn signer(&self) -> &S {
        &self.signer
    }

    /// A certificate (DER) for the request `csr_der` (PKCS#10, DER), valid for `days`, for
    /// the address `email`, which must be the only one the request names. The request's own
    /// signature must hold: it proves the requester has the key.
    pub fn issue(
        &self,
        csr_der: &[u8],
        email: &str,
        purpose: Purpose,
        days: u32,
    ) -> Result<Vec<u8>, CaError> {
        let request = Request::from_der(csr_der)?;
        let address = request.check_address(email)?;
        let key_usage = purpose.key_usage(&request.public_key)?;
        let tbs = self.certificate.tbs_certificate();
        let profile = profile::Profile {
            issuer: tbs.subject().clone(),
            subject: request.subject,
            kind: profile::Kind::Smime {
                authority_key_id: self.key_identifier()?,
                address,
                key_usage,
            },
        };
        let builder = CertificateBuilder::new(
            profile,
            random_serial()?,
            validity(days)?,
            request.subject_public_key_info,
        )?;
        let certificate = builder.build::<S, SignatureBytes>(&self.signer)?;
        certificate
            .to_der()
            .map_err(|e| CaError::malformed("issued certificate", e))
    }

    /// The CA certificate's subjectKeyIdentifier, which issued certificates name as their
    /// authorityKeyIdentifier; computed from the key (RFC 5280 §4.2.1.2, method 1) when the
    /// certificate has none.
    fn key_identifier(&self) -> Result<SubjectKeyIdentifier, CaError> {
        let tbs = self.certificate.tbs_certificate();
        let named = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(|e| CaError::malformed("CA certificate", e))?;
        match named {
            Some((_, ski)) => Ok(ski),
            None => SubjectKeyIdentifier::try_from(tbs.subject_public_key_info().owned_to_ref())
                .map_err(|e| CaError::malformed("CA key", e)),
        }
    }
}

/// A name for a CA: an RFC 4514 distinguished name (`CN=Example CA,O=Example`) when the
/// text has an `=`, otherwise a common name, taken as it is.
pub fn name(text: &str) -> Result<Name, CaError> {
    let invalid = |e: der::Error| CaError::Malformed(format!("name '{text}': {e}"));
    if text.contains('=') {
        return text.parse().map_err(invalid);
    }
    let common_name = AttributeTypeAndValue {
        oid: rfc4519::COMMON_NAME,
        value: der::Any::encode_from(&der::asn1::Utf8StringRef::new(text).map_err(invalid)?)
            .map_err(invalid)?,
    };
    let mut rdns = RdnSequence::default();
    rdns.push(RelativeDistinguishedName::try_from(vec![common_name]).map_err(invalid)?);
    Name::from_der(&rdns.to_der().map_err(invalid)?).map_err(invalid)
}

fn spki_of(key: &PublicKey) -> Result<spki::SubjectPublicKeyInfoOwned, CaError> {
    let der = key
        .to_spki_der()
        .map_err(|e| CaError::malformed("CA public key", e))?;
    spki::SubjectPublicKeyInfoOwned::from_der(&der)
        .map_err(|e| CaError::malformed("CA public key", e))
}

/// A random positive serial of exactly 16 bytes: the top bit clear keeps it positive, the
/// next one set keeps its length.
fn random_serial() -> Result<SerialNumber, CaError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| CaError::malformed("random serial", e))?;
    bytes[0] = (bytes[0] & 0x7F) | 0x40;
    SerialNumber::new(&bytes).map_err(|e| CaError::malformed("serial", e))
}

/// From five minutes ago, so clocks a little behind ours accept it at once, for `days`.
fn validity(days: u32) -> Result<Validity, CaError> {
    let now = SystemTime::now();
    let time = |t: SystemTime| Time::try_from(t).map_err(|e| CaError::malformed("validity", e));
    Ok(Validity::new(
        time(now - Duration::from_secs(5 * 60))?,
        time(now + Duration::from_secs(u64::from(days) * 86_400))?,
    ))
}
