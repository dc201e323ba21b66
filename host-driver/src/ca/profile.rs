//! What the CA's certificates say: its own root, and S/MIME certificates as RFC 8550 §4.4
//! and RFC 8551 describe them.

use std::fmt;
use std::str::FromStr;

use const_oid::db::rfc5280;
use der::asn1::Ia5String;
use spki::SubjectPublicKeyInfoRef;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;

use super::CaError;
use crate::public_key::PublicKey;

/// What an issued certificate's key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Signing mail: digitalSignature and nonRepudiation.
    Signing,
    /// Receiving encrypted mail: keyEncipherment for RSA, keyAgreement for EC keys.
    Encryption,
    Both,
}

impl Purpose {
    /// The keyUsage bits for a key of this kind (RFC 8550 §4.4.2).
    pub fn key_usage(self, key: &PublicKey) -> Result<KeyUsage, CaError> {
        let signing = KeyUsages::DigitalSignature | KeyUsages::NonRepudiation;
        let encryption = match key {
            PublicKey::Rsa(_) => Some(KeyUsages::KeyEncipherment),
            PublicKey::P256(_) | PublicKey::P384(_) | PublicKey::X25519(_) => {
                Some(KeyUsages::KeyAgreement)
            }
            PublicKey::Ed25519(_) => None,
        };
        let cannot = || CaError::KeyCannotServe {
            key: key.algorithm().to_string(),
            purpose: self,
        };
        let signs = !matches!(key, PublicKey::X25519(_));
        Ok(KeyUsage(match self {
            Self::Signing if signs => signing,
            Self::Encryption => encryption.ok_or_else(cannot)?.into(),
            Self::Both if signs => signing | encryption.ok_or_else(cannot)?,
            _ => return Err(cannot()),
        }))
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Signing => "signing",
            Self::Encryption => "encryption",
            Self::Both => "signing and encryption",
        })
    }
}

impl FromStr for Purpose {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sign" => Ok(Self::Signing),
            "encrypt" => Ok(Self::Encryption),
            "both" => Ok(Self::Both),
            _ => Err(format!("unknown usage '{s}' (sign, encrypt, both)")),
        }
    }
}

/// What the CA puts in a certificate besides its subject and key.
pub enum Kind {
    /// The CA's own certificate: basicConstraints CA:TRUE and keyUsage keyCertSign and
    /// cRLSign, both critical (RFC 5280 §4.2.1.9, §4.2.1.3).
    Root,
    /// An S/MIME certificate: the address as subjectAltName rfc822Name (critical when the
    /// subject is empty), extendedKeyUsage emailProtection, a critical keyUsage, and the
    /// issuer's key identifier.
    Smime {
        authority_key_id: SubjectKeyIdentifier,
        address: Ia5String,
        key_usage: KeyUsage,
    },
}

/// A certificate to build; every kind names its own key's identifier.
pub struct Profile {
    pub issuer: Name,
    pub subject: Name,
    pub kind: Kind,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut extensions = Vec::new();
        let subject = tbs.subject();
        match &self.kind {
            Kind::Root => {
                let constraints = BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                };
                extensions.push(constraints.to_extension(subject, &extensions)?);
                let usage = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
                extensions.push(usage.to_extension(subject, &extensions)?);
            }
            Kind::Smime {
                authority_key_id,
                address,
                key_usage,
            } => {
                let san = SubjectAltName(vec![GeneralName::Rfc822Name(address.clone())]);
                extensions.push(san.to_extension(subject, &extensions)?);
                let eku = ExtendedKeyUsage(vec![rfc5280::ID_KP_EMAIL_PROTECTION]);
                extensions.push(eku.to_extension(subject, &extensions)?);
                extensions.push(key_usage.to_extension(subject, &extensions)?);
                let aki = AuthorityKeyIdentifier {
                    key_identifier: Some(authority_key_id.0.clone()),
                    ..Default::default()
                };
                extensions.push(aki.to_extension(subject, &extensions)?);
            }
        }
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push(ski.to_extension(subject, &extensions)?);
        Ok(extensions)
    }
}
