//! A recipient, from their certificate: whether it may be used to encrypt mail to, and the
//! RecipientInfo that carries the content key to its key.
//!
//! What is checked is what the certificate says of its own use (keyUsage and
//! extendedKeyUsage, RFC 8550 §4.4); not its validity period or its issuer, which are the
//! sender's choice of whom to trust.

use cms::cert::IssuerAndSerialNumber;
use cms::enveloped_data::RecipientInfo;
use const_oid::db::rfc5280;
use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};

use super::key_transport::{self, RsaPadding};
use super::{EncryptError, key_agreement};
use crate::pki;
use crate::public_key::PublicKey;

/// Someone the content key is encrypted for.
#[derive(Debug, Clone)]
pub struct Recipient {
    subject: String,
    rid: IssuerAndSerialNumber,
    key: PublicKey,
}

impl Recipient {
    /// The recipient a certificate (DER) names, if it may be encrypted to.
    pub fn from_certificate(der: &[u8]) -> Result<Self, EncryptError> {
        let cert =
            Certificate::from_der(der).map_err(|e| EncryptError::Certificate(e.to_string()))?;
        let subject = pki::subject(&cert);
        let refuse = |reason: &str| EncryptError::Recipient {
            subject: subject.clone(),
            reason: reason.to_owned(),
        };
        let malformed = |e: pki::PathError| EncryptError::Certificate(e.to_string());
        let key = pki::public_key(&cert)
            .map_err(|_| refuse("its key is of a type that cannot be encrypted to"))?;
        let (allowed, usage): (fn(&KeyUsage) -> bool, _) = match key {
            PublicKey::Rsa(_) => (KeyUsage::key_encipherment, "keyEncipherment"),
            PublicKey::P256(_) | PublicKey::P384(_) | PublicKey::X25519(_) => {
                (KeyUsage::key_agreement, "keyAgreement")
            }
            PublicKey::Ed25519(_) => return Err(refuse("its key (Ed25519) can only sign")),
        };
        if let Some(ku) = pki::extension::<KeyUsage>(&cert).map_err(malformed)?
            && !allowed(&ku)
        {
            return Err(refuse(&format!("its key usage lacks {usage}")));
        }
        if let Some(eku) = pki::extension::<ExtendedKeyUsage>(&cert).map_err(malformed)?
            && !eku.0.iter().any(|p| {
                *p == rfc5280::ID_KP_EMAIL_PROTECTION || *p == rfc5280::ANY_EXTENDED_KEY_USAGE
            })
        {
            return Err(refuse("its extended key usage lacks emailProtection"));
        }
        let tbs = cert.tbs_certificate();
        Ok(Self {
            rid: IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            },
            subject,
            key,
        })
    }

    /// The subject DN, as RFC 4514 writes it.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The RecipientInfo that gives `content_key` to this recipient, named by issuer and
    /// serial number, the name every S/MIME reader matches.
    pub(super) fn recipient_info(
        &self,
        content_key: &[u8],
        rsa_padding: RsaPadding,
    ) -> Result<RecipientInfo, EncryptError> {
        let rid = self.rid.clone();
        Ok(match &self.key {
            PublicKey::Rsa(key) => RecipientInfo::Ktri(key_transport::recipient_info(
                key,
                rid,
                content_key,
                rsa_padding,
            )?),
            key => RecipientInfo::Kari(key_agreement::recipient_info(key, rid, content_key)?),
        })
    }
}
