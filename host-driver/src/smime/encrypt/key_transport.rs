//! Key transport (RFC 5652 §6.2.1): the content key encrypted with the recipient's RSA key,
//! PKCS#1 v1.5 (RFC 3370 §4.2.1) or RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 3560).

use std::fmt;
use std::str::FromStr;

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{KeyTransRecipientInfo, RecipientIdentifier};
use const_oid::db::rfc5912;
use der::asn1::{Any, OctetString};
use rsa::pkcs1::RsaOaepParams;
use spki::AlgorithmIdentifierOwned;

use super::EncryptError;

/// How the content key is padded for an RSA recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RsaPadding {
    /// PKCS#1 v1.5: what every S/MIME client reads.
    #[default]
    Pkcs1v15,
    /// RSAES-OAEP with SHA-256: not open to padding oracles, read by fewer clients.
    Oaep,
}

impl RsaPadding {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pkcs1v15 => "v15",
            Self::Oaep => "oaep",
        }
    }
}

impl fmt::Display for RsaPadding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RsaPadding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [Self::Pkcs1v15, Self::Oaep]
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown RSA padding '{s}' (v15, oaep)"))
    }
}

/// The KeyTransRecipientInfo for `key`, the recipient named by issuer and serial number.
pub(super) fn recipient_info(
    key: &rsa::PublicKey,
    rid: IssuerAndSerialNumber,
    content_key: &[u8],
    padding: RsaPadding,
) -> Result<KeyTransRecipientInfo, EncryptError> {
    let rng = &mut getrandom::SysRng;
    let (encrypted, key_enc_alg) = match padding {
        RsaPadding::Pkcs1v15 => (
            key.encrypt(rng, rsa::Pkcs1v15Encrypt, content_key),
            AlgorithmIdentifierOwned {
                oid: rfc5912::RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
        ),
        RsaPadding::Oaep => (
            key.encrypt(rng, rsa::Oaep::<sha2::Sha256>::new(), content_key),
            AlgorithmIdentifierOwned {
                oid: rfc5912::ID_RSAES_OAEP,
                parameters: Some(Any::encode_from(&RsaOaepParams::new::<sha2::Sha256>())?),
            },
        ),
    };
    let encrypted = encrypted.map_err(|e| {
        EncryptError::KeyEncryption(match e {
            rsa::Error::MessageTooLong => "the RSA key is too small",
            _ => "RSA encryption failed",
        })
    })?;
    Ok(KeyTransRecipientInfo {
        // Version 0 goes with a recipient named by issuer and serial number.
        version: CmsVersion::V0,
        rid: RecipientIdentifier::IssuerAndSerialNumber(rid),
        key_enc_alg,
        enc_key: OctetString::new(encrypted)?,
    })
}
