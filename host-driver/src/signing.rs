//! How the host's keys sign, whoever holds them: the scheme, its AlgorithmIdentifier as
//! X.509 and CMS carry it, and the signature's bytes.

use const_oid::db::{rfc5912, rfc8410};
use der::asn1::BitString;
use der::{Any, Sequence};
use spki::{AlgorithmIdentifierOwned, SignatureBitStringEncoding};

use crate::error::{Error, Result};
use crate::hash::HashAlg;
use crate::oids;
use crate::public_key::PublicKey;

/// How a key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    RsaPkcs1v15(HashAlg),
    /// PSS with MGF1 over the same hash and a salt as long as the hash.
    RsaPss(HashAlg),
    Ecdsa(HashAlg),
    Ed25519,
}

impl std::fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hash = |h| crate::hash::name(h);
        match *self {
            Self::RsaPkcs1v15(h) => write!(f, "RSA PKCS#1 v1.5 with {}", hash(h)),
            Self::RsaPss(h) => write!(f, "RSA-PSS with {}", hash(h)),
            Self::Ecdsa(h) => write!(f, "ECDSA with {}", hash(h)),
            Self::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

impl SignatureScheme {
    /// The usual scheme for a key: PKCS#1 v1.5 with SHA-256 for RSA, ECDSA with SHA-256
    /// for P-256 and SHA-384 for P-384, Ed25519 for Ed25519.
    pub fn default_for(key: &PublicKey) -> Result<Self> {
        match key {
            PublicKey::Rsa(_) => Ok(Self::RsaPkcs1v15(HashAlg::Sha256)),
            PublicKey::P256(_) => Ok(Self::Ecdsa(HashAlg::Sha256)),
            PublicKey::P384(_) => Ok(Self::Ecdsa(HashAlg::Sha384)),
            PublicKey::Ed25519(_) => Ok(Self::Ed25519),
            PublicKey::X25519(_) => Err(Error::InvalidArgument("X25519 keys do not sign".into())),
        }
    }

    pub fn hash(self) -> Option<HashAlg> {
        match self {
            Self::RsaPkcs1v15(h) | Self::RsaPss(h) | Self::Ecdsa(h) => Some(h),
            Self::Ed25519 => None,
        }
    }

    /// The scheme's AlgorithmIdentifier, as X.509 and CMS carry it.
    pub fn algorithm_identifier(self) -> der::Result<AlgorithmIdentifierOwned> {
        let plain = |oid| AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        };
        // RFC 4055: the RSA PKCS#1 v1.5 identifiers carry an explicit NULL.
        let with_null = |oid| AlgorithmIdentifierOwned {
            oid,
            parameters: Some(Any::null()),
        };
        Ok(match self {
            Self::RsaPkcs1v15(h) => with_null(match h {
                HashAlg::Sha1 => rfc5912::SHA_1_WITH_RSA_ENCRYPTION,
                HashAlg::Sha256 => rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                HashAlg::Sha384 => rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
                HashAlg::Sha512 => rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
            }),
            Self::RsaPss(h) => {
                let hash = with_null(crate::hash::oid(h));
                let params = PssParams {
                    hash: hash.clone(),
                    mask_gen: AlgorithmIdentifierOwned {
                        oid: rfc5912::ID_MGF_1,
                        parameters: Some(Any::encode_from(&hash)?),
                    },
                    salt_length: h.output_len() as u32,
                };
                AlgorithmIdentifierOwned {
                    oid: rfc5912::ID_RSASSA_PSS,
                    parameters: Some(Any::encode_from(&params)?),
                }
            }
            Self::Ecdsa(h) => plain(match h {
                HashAlg::Sha1 => oids::ECDSA_WITH_SHA1,
                HashAlg::Sha256 => rfc5912::ECDSA_WITH_SHA_256,
                HashAlg::Sha384 => rfc5912::ECDSA_WITH_SHA_384,
                HashAlg::Sha512 => rfc5912::ECDSA_WITH_SHA_512,
            }),
            Self::Ed25519 => plain(rfc8410::ID_ED_25519),
        })
    }
}

/// RSASSA-PSS-params (RFC 4055): hash, MGF1 with the same hash, salt length; the
/// trailer field keeps its default.
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    hash: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    mask_gen: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    salt_length: u32,
}

/// A signature as a key made it: the RSA block, DER ECDSA, or 64 Ed25519 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureBytes(Box<[u8]>);

impl SignatureBytes {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for SignatureBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes.into())
    }
}

impl TryFrom<&[u8]> for SignatureBytes {
    type Error = signature::Error;

    fn try_from(bytes: &[u8]) -> Result<Self, signature::Error> {
        Ok(Self(bytes.into()))
    }
}

impl From<SignatureBytes> for Box<[u8]> {
    fn from(s: SignatureBytes) -> Self {
        s.0
    }
}

impl signature::SignatureEncoding for SignatureBytes {
    type Repr = Box<[u8]>;
}

impl SignatureBitStringEncoding for SignatureBytes {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}
