//! A CA key kept in a file (PKCS#8), for a CA without a card: P-256, P-384, or RSA of
//! 2048, 3072 or 4096 bits. It signs as a card key would: ECDSA with the curve's hash,
//! RSA PKCS#1 v1.5 with SHA-256.

use apdu_spec::piv::Algorithm;
use p256::elliptic_curve::Generate;
use rand_core::UnwrapErr;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier};
use zeroize::Zeroizing;

use super::CaError;
use crate::hash::HashAlg;
use crate::public_key::PublicKey;
use crate::signing::{SignatureBytes, SignatureScheme};

pub enum SoftwareKey {
    Rsa(rsa::PrivateKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

impl SoftwareKey {
    pub fn generate(algorithm: Algorithm) -> Result<Self, CaError> {
        let rng = &mut UnwrapErr(getrandom::SysRng);
        Ok(match algorithm {
            Algorithm::EccP256 => Self::P256(p256::ecdsa::SigningKey::generate_from_rng(rng)),
            Algorithm::EccP384 => Self::P384(p384::ecdsa::SigningKey::generate_from_rng(rng)),
            Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 => {
                let bits = algorithm.rsa_bits().unwrap_or(2048);
                Self::Rsa(
                    rsa::PrivateKey::new(rng, bits)
                        .map_err(|e| CaError::malformed("RSA key generation", e))?,
                )
            }
            other => return Err(CaError::UnsupportedKey(other.to_string())),
        })
    }

    /// From PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as `init` writes it and openssl
    /// `genpkey` makes it.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, CaError> {
        rsa::PrivateKey::from_pkcs8_pem(pem)
            .map(Self::Rsa)
            .or_else(|_| p256::ecdsa::SigningKey::from_pkcs8_pem(pem).map(Self::P256))
            .or_else(|_| p384::ecdsa::SigningKey::from_pkcs8_pem(pem).map(Self::P384))
            .map_err(|e| CaError::malformed("CA key (PKCS#8: RSA, P-256 or P-384)", e))
    }

    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, CaError> {
        match self {
            Self::Rsa(k) => k.to_pkcs8_pem(LineEnding::LF),
            Self::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            Self::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| CaError::malformed("CA key", e))
    }

    fn scheme(&self) -> SignatureScheme {
        match self {
            Self::Rsa(_) => SignatureScheme::RsaPkcs1v15(HashAlg::Sha256),
            Self::P256(_) => SignatureScheme::Ecdsa(HashAlg::Sha256),
            Self::P384(_) => SignatureScheme::Ecdsa(HashAlg::Sha384),
        }
    }
}

impl signature::Keypair for SoftwareKey {
    type VerifyingKey = PublicKey;

    fn verifying_key(&self) -> PublicKey {
        match self {
            Self::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            Self::P256(k) => PublicKey::P256(k.verifying_key().into()),
            Self::P384(k) => PublicKey::P384(k.verifying_key().into()),
        }
    }
}

impl signature::Signer<SignatureBytes> for SoftwareKey {
    fn try_sign(&self, message: &[u8]) -> Result<SignatureBytes, signature::Error> {
        let bytes = match self {
            Self::Rsa(k) => {
                let digest = crate::hash::digest(HashAlg::Sha256, message);
                k.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
                    .map_err(signature::Error::from_source)?
            }
            Self::P256(k) => {
                let signature: p256::ecdsa::DerSignature = k.try_sign(message)?;
                signature.as_bytes().to_vec()
            }
            Self::P384(k) => {
                let signature: p384::ecdsa::DerSignature = k.try_sign(message)?;
                signature.as_bytes().to_vec()
            }
        };
        Ok(bytes.into())
    }
}

impl DynSignatureAlgorithmIdentifier for SoftwareKey {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.scheme().algorithm_identifier()?)
    }
}
