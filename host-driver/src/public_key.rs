//! A card key's public half, as a host uses it: from GENERATE's 7F49 template, from
//! metadata, or from a certificate's SubjectPublicKeyInfo.

use apdu_spec::piv::Algorithm;
use apdu_spec::piv::templates::PublicKeyTemplate;
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc8410};
use der::{Decode, Encode};
use rsa::BoxedUint;
use rsa::traits::PublicKeyParts;
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Rsa(rsa::PublicKey),
    P256(p256::PublicKey),
    P384(p384::PublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    X25519([u8; 32]),
}

impl PublicKey {
    /// From the 7F49 template (or metadata tag 04) of a key of `algorithm`.
    pub fn from_template(algorithm: Algorithm, template: &PublicKeyTemplate) -> Result<Self> {
        let bad = || Error::malformed(format!("{algorithm} public key"));
        Ok(match (algorithm, template) {
            (a, PublicKeyTemplate::Rsa { modulus, exponent }) if a.is_rsa() => Self::Rsa(
                rsa::PublicKey::new(
                    BoxedUint::from_be_slice_vartime(modulus),
                    BoxedUint::from_be_slice_vartime(exponent),
                )
                .map_err(|_| bad())?,
            ),
            (Algorithm::EccP256, PublicKeyTemplate::Point(p)) => {
                Self::P256(p256::PublicKey::from_sec1_bytes(p).map_err(|_| bad())?)
            }
            (Algorithm::EccP384, PublicKeyTemplate::Point(p)) => {
                Self::P384(p384::PublicKey::from_sec1_bytes(p).map_err(|_| bad())?)
            }
            (Algorithm::Ed25519, PublicKeyTemplate::Point(p)) => Self::Ed25519(
                ed25519_dalek::VerifyingKey::from_bytes(
                    &p.as_slice().try_into().map_err(|_| bad())?,
                )
                .map_err(|_| bad())?,
            ),
            (Algorithm::X25519, PublicKeyTemplate::Point(p)) => {
                Self::X25519(p.as_slice().try_into().map_err(|_| bad())?)
            }
            _ => return Err(bad()),
        })
    }

    /// From a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let spki = SubjectPublicKeyInfoOwned::from_der(der).map_err(Error::malformed)?;
        let bits = spki.subject_public_key.raw_bytes();
        let bad = || Error::malformed("unsupported public key in certificate");
        match spki.algorithm.oid {
            rfc5912::RSA_ENCRYPTION => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                Ok(Self::Rsa(
                    rsa::PublicKey::from_pkcs1_der(bits).map_err(|_| bad())?,
                ))
            }
            rfc5912::ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                    .ok_or_else(bad)?;
                match curve {
                    rfc5912::SECP_256_R_1 => Ok(Self::P256(
                        p256::PublicKey::from_sec1_bytes(bits).map_err(|_| bad())?,
                    )),
                    rfc5912::SECP_384_R_1 => Ok(Self::P384(
                        p384::PublicKey::from_sec1_bytes(bits).map_err(|_| bad())?,
                    )),
                    _ => Err(bad()),
                }
            }
            rfc8410::ID_ED_25519 => Ok(Self::Ed25519(
                ed25519_dalek::VerifyingKey::from_bytes(&bits.try_into().map_err(|_| bad())?)
                    .map_err(|_| bad())?,
            )),
            rfc8410::ID_X_25519 => Ok(Self::X25519(bits.try_into().map_err(|_| bad())?)),
            _ => Err(bad()),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            // Every RSA key here has one of PIV's sizes (checked when it was made or read).
            Self::Rsa(k) => Algorithm::rsa_with_bits(k.n().bit_width_vartime() as usize)
                .unwrap_or(Algorithm::Rsa2048),
            Self::P256(_) => Algorithm::EccP256,
            Self::P384(_) => Algorithm::EccP384,
            Self::Ed25519(_) => Algorithm::Ed25519,
            Self::X25519(_) => Algorithm::X25519,
        }
    }

    /// The RSA modulus length in bytes (the size of every RSA operation's input).
    pub fn rsa_modulus_len(&self) -> Option<usize> {
        match self {
            Self::Rsa(k) => Some(k.size()),
            _ => None,
        }
    }

    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        let raw = |oid, key: &[u8]| -> Result<Vec<u8>> {
            let spki = SubjectPublicKeyInfoOwned {
                algorithm: spki::AlgorithmIdentifierOwned {
                    oid,
                    parameters: None,
                },
                subject_public_key: der::asn1::BitString::from_bytes(key)
                    .map_err(Error::malformed)?,
            };
            spki.to_der().map_err(Error::malformed)
        };
        let doc = match self {
            Self::Rsa(k) => k.to_public_key_der(),
            Self::P256(k) => k.to_public_key_der(),
            Self::P384(k) => k.to_public_key_der(),
            Self::Ed25519(k) => return raw(rfc8410::ID_ED_25519, k.as_bytes()),
            Self::X25519(k) => return raw(rfc8410::ID_X_25519, k),
        };
        doc.map(|d| d.as_bytes().to_vec()).map_err(Error::malformed)
    }

    /// PEM, as openssl prints a public key.
    pub fn to_pem(&self) -> Result<String> {
        let der = self.to_spki_der()?;
        Ok(crate::pem::encode("PUBLIC KEY", &der))
    }
}

impl EncodePublicKey for PublicKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        let der = self.to_spki_der().map_err(|_| spki::Error::KeyMalformed)?;
        der::Document::try_from(der).map_err(spki::Error::from)
    }
}
