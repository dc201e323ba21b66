//! The asymmetric keys a slot holds, and the private-key operations the card performs
//! with them. Keys are parsed once, when generated, imported or loaded, never per
//! operation; their secret parts leave this module only towards the state file.

use apdu_spec::piv::Algorithm;
use apdu_spec::piv::templates::{ImportedKey, PublicKeyTemplate};
use getrandom::SysRng;
use rand_core::UnwrapErr;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, pkcs1::DecodeRsaPrivateKey, pkcs1::EncodeRsaPrivateKey};
use signature::Signer;
use signature::hazmat::PrehashSigner;
use thiserror::Error;
use zeroize::Zeroizing;

mod aws_lc;

/// Why a key could not be made, loaded or used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("{0} is not an asymmetric key algorithm")]
    NotAsymmetric(Algorithm),
    #[error("invalid key material for {0}")]
    InvalidKey(Algorithm),
    #[error("input of {got} bytes where {want} are required")]
    WrongInputLength { got: usize, want: usize },
    #[error("the input is not valid for this key")]
    InvalidInput,
    #[error("{0} keys cannot do that")]
    Unsupported(Algorithm),
    #[error("key generation failed")]
    Generation,
}

/// A private key held by the card. Opaque: nothing outside this module reaches the key
/// material, which leaves it only towards the state file.
#[derive(Clone)]
pub struct PrivateKey(Material);

#[derive(Clone)]
enum Material {
    Rsa(Box<RsaKey>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
    X25519(x25519_dalek::StaticSecret),
}

/// An RSA key in two forms: the `rsa` crate's, which makes and imports keys and gives the
/// public key and the state file's PKCS#1 encoding, and AWS-LC's, which does the private
/// operation (`aws_lc` says why). Both wipe the key when dropped.
#[derive(Clone)]
struct RsaKey {
    key: rsa::PrivateKey,
    private: aws_lc::RsaPrivate,
}

impl RsaKey {
    /// `None` for a key that AWS-LC finds inconsistent.
    fn new(key: rsa::PrivateKey) -> Option<Self> {
        // The DER is wiped when dropped.
        let der = key.to_pkcs1_der().ok()?;
        let private = aws_lc::RsaPrivate::from_pkcs1_der(der.as_bytes())?;
        Some(Self { key, private })
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({}, redacted)", self.algorithm())
    }
}

fn rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

/// RSA keys use e = 65537, as every PIV card does.
const RSA_EXPONENT: u64 = 65_537;

impl PrivateKey {
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeyError> {
        use p256::elliptic_curve::Generate;
        Ok(Self(match algorithm {
            a if a.is_rsa() => {
                let bits = a.rsa_bits().unwrap_or(2048);
                let key =
                    rsa::PrivateKey::new(&mut rng(), bits).map_err(|_| KeyError::Generation)?;
                Material::Rsa(Box::new(RsaKey::new(key).ok_or(KeyError::Generation)?))
            }
            Algorithm::EccP256 => {
                Material::P256(p256::ecdsa::SigningKey::generate_from_rng(&mut rng()))
            }
            Algorithm::EccP384 => {
                Material::P384(p384::ecdsa::SigningKey::generate_from_rng(&mut rng()))
            }
            Algorithm::Ed25519 => {
                Material::Ed25519(ed25519_dalek::SigningKey::from_bytes(&*random_bytes()?))
            }
            Algorithm::X25519 => {
                Material::X25519(x25519_dalek::StaticSecret::from(*random_bytes()?))
            }
            other => return Err(KeyError::NotAsymmetric(other)),
        }))
    }

    /// Builds a key from IMPORT KEY's components.
    pub fn import(algorithm: Algorithm, key: &ImportedKey) -> Result<Self, KeyError> {
        let invalid = || KeyError::InvalidKey(algorithm);
        let parsed = match (algorithm, key) {
            (a, ImportedKey::Rsa { p, q, .. }) if a.is_rsa() => {
                let bits = a.rsa_bits().unwrap_or(0);
                if p.len() != bits / 16 || q.len() != bits / 16 {
                    return Err(invalid());
                }
                let prime = |b: &[u8]| {
                    BoxedUint::from_be_slice(b, (bits / 2) as u32).map_err(|_| invalid())
                };
                let key =
                    rsa::PrivateKey::from_p_q(prime(p)?, prime(q)?, BoxedUint::from(RSA_EXPONENT))
                        .map_err(|_| invalid())?;
                if key.n().bit_width_vartime() as usize != bits {
                    return Err(invalid());
                }
                let key = Self(Material::Rsa(Box::new(
                    RsaKey::new(key).ok_or_else(invalid)?,
                )));
                // Factors that are not prime give a key whose private operation does not
                // invert the public one: refuse it now rather than at the first signature.
                let mut probe = vec![0u8; bits / 8];
                probe[1..].fill(0x5A);
                key.rsa_private(&probe).map_err(|_| invalid())?;
                return Ok(key);
            }
            (Algorithm::EccP256, ImportedKey::Ecc(s)) if s.len() == 32 => {
                Material::P256(p256::ecdsa::SigningKey::from_slice(s).map_err(|_| invalid())?)
            }
            (Algorithm::EccP384, ImportedKey::Ecc(s)) if s.len() == 48 => {
                Material::P384(p384::ecdsa::SigningKey::from_slice(s).map_err(|_| invalid())?)
            }
            (Algorithm::Ed25519, ImportedKey::Ed25519(s)) => Material::Ed25519(
                ed25519_dalek::SigningKey::from_bytes(&array32(s).ok_or_else(invalid)?),
            ),
            (Algorithm::X25519, ImportedKey::X25519(s)) => Material::X25519(
                x25519_dalek::StaticSecret::from(array32(s).ok_or_else(invalid)?),
            ),
            _ => return Err(invalid()),
        };
        Ok(Self(parsed))
    }

    pub fn algorithm(&self) -> Algorithm {
        match &self.0 {
            // Every RSA key here has one of PIV's sizes (checked when it was made or read).
            Material::Rsa(k) => Algorithm::rsa_with_bits(k.key.n().bit_width_vartime() as usize)
                .unwrap_or(Algorithm::Rsa2048),
            Material::P256(_) => Algorithm::EccP256,
            Material::P384(_) => Algorithm::EccP384,
            Material::Ed25519(_) => Algorithm::Ed25519,
            Material::X25519(_) => Algorithm::X25519,
        }
    }

    /// The public key as GENERATE returns it.
    pub fn public_key(&self) -> PublicKeyTemplate {
        match &self.0 {
            Material::Rsa(k) => PublicKeyTemplate::Rsa {
                modulus: k.key.n_bytes().to_vec(),
                exponent: k.key.e_bytes().to_vec(),
            },
            Material::P256(k) => {
                PublicKeyTemplate::Point(k.verifying_key().to_sec1_bytes().to_vec())
            }
            Material::P384(k) => {
                PublicKeyTemplate::Point(k.verifying_key().to_sec1_bytes().to_vec())
            }
            Material::Ed25519(k) => PublicKeyTemplate::Point(k.verifying_key().to_bytes().to_vec()),
            Material::X25519(k) => {
                PublicKeyTemplate::Point(x25519_dalek::PublicKey::from(k).to_bytes().to_vec())
            }
        }
    }

    /// The key's SubjectPublicKeyInfo, DER-encoded (for attestation certificates).
    pub fn spki_der(&self) -> Result<Vec<u8>, KeyError> {
        use spki::EncodePublicKey;
        let invalid = || KeyError::InvalidKey(self.algorithm());
        let der = match &self.0 {
            Material::Rsa(k) => k.key.to_public_key().to_public_key_der(),
            Material::P256(k) => k.verifying_key().to_public_key_der(),
            Material::P384(k) => k.verifying_key().to_public_key_der(),
            Material::Ed25519(k) => {
                return raw_spki(ED25519_OID, k.verifying_key().as_bytes()).map_err(|_| invalid());
            }
            Material::X25519(k) => {
                return raw_spki(X25519_OID, x25519_dalek::PublicKey::from(k).as_bytes())
                    .map_err(|_| invalid());
            }
        };
        der.map(|d| d.as_bytes().to_vec()).map_err(|_| invalid())
    }

    /// The raw RSA private operation: `input` must be exactly the modulus length and less
    /// than the modulus. Padding is the host's business.
    pub fn rsa_private(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        let Material::Rsa(key) = &self.0 else {
            return Err(KeyError::Unsupported(self.algorithm()));
        };
        key.private.private(input)
    }

    /// ECDSA over a hash computed by the host (truncated or zero-extended to the field size,
    /// as SEC 1 turns a hash into an integer); returns the DER signature.
    pub fn sign_prehash(&self, hash: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.0 {
            Material::P256(k) => {
                let sig: p256::ecdsa::Signature = k
                    .sign_prehash(&field_sized(hash, 32))
                    .map_err(|_| KeyError::InvalidInput)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Material::P384(k) => {
                let sig: p384::ecdsa::Signature = k
                    .sign_prehash(&field_sized(hash, 48))
                    .map_err(|_| KeyError::InvalidInput)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            _ => Err(KeyError::Unsupported(self.algorithm())),
        }
    }

    /// Ed25519 over the whole message.
    pub fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.0 {
            Material::Ed25519(k) => Ok(k.sign(message).to_bytes().to_vec()),
            _ => Err(KeyError::Unsupported(self.algorithm())),
        }
    }

    /// ECDH or X25519 with the peer's public key; returns the shared secret (the
    /// x-coordinate for the NIST curves).
    pub fn agree(&self, peer: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.0 {
            Material::P256(k) => {
                let peer =
                    p256::PublicKey::from_sec1_bytes(peer).map_err(|_| KeyError::InvalidInput)?;
                let shared = p256::ecdh::diffie_hellman(k.as_nonzero_scalar(), peer.as_affine());
                Ok(shared.raw_secret_bytes().to_vec())
            }
            Material::P384(k) => {
                let peer =
                    p384::PublicKey::from_sec1_bytes(peer).map_err(|_| KeyError::InvalidInput)?;
                let shared = p384::ecdh::diffie_hellman(k.as_nonzero_scalar(), peer.as_affine());
                Ok(shared.raw_secret_bytes().to_vec())
            }
            Material::X25519(k) => {
                let peer = array32(peer).ok_or(KeyError::WrongInputLength {
                    got: peer.len(),
                    want: 32,
                })?;
                let shared = k.diffie_hellman(&x25519_dalek::PublicKey::from(peer));
                // A low-order peer point gives an all-zero secret; refuse it.
                if !shared.was_contributory() {
                    return Err(KeyError::InvalidInput);
                }
                Ok(shared.to_bytes().to_vec())
            }
            _ => Err(KeyError::Unsupported(self.algorithm())),
        }
    }

    /// The secret in the state file's encoding: PKCS#1 DER for RSA, the scalar or seed
    /// otherwise.
    pub(crate) fn secret_bytes(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        Ok(Zeroizing::new(match &self.0 {
            Material::Rsa(k) => k
                .key
                .to_pkcs1_der()
                .map(|d| d.as_bytes().to_vec())
                .map_err(|_| KeyError::InvalidKey(self.algorithm()))?,
            Material::P256(k) => k.to_bytes().to_vec(),
            Material::P384(k) => k.to_bytes().to_vec(),
            Material::Ed25519(k) => k.to_bytes().to_vec(),
            Material::X25519(k) => k.to_bytes().to_vec(),
        }))
    }

    pub(crate) fn from_secret_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<Self, KeyError> {
        let invalid = || KeyError::InvalidKey(algorithm);
        let key = match algorithm {
            a if a.is_rsa() => {
                let key = rsa::PrivateKey::from_pkcs1_der(bytes).map_err(|_| invalid())?;
                if a.rsa_bits() != Some(key.n().bit_width_vartime() as usize) {
                    return Err(invalid());
                }
                Material::Rsa(Box::new(RsaKey::new(key).ok_or_else(invalid)?))
            }
            Algorithm::EccP256 => {
                Material::P256(p256::ecdsa::SigningKey::from_slice(bytes).map_err(|_| invalid())?)
            }
            Algorithm::EccP384 => {
                Material::P384(p384::ecdsa::SigningKey::from_slice(bytes).map_err(|_| invalid())?)
            }
            Algorithm::Ed25519 => Material::Ed25519(ed25519_dalek::SigningKey::from_bytes(
                &array32(bytes).ok_or_else(invalid)?,
            )),
            Algorithm::X25519 => Material::X25519(x25519_dalek::StaticSecret::from(
                array32(bytes).ok_or_else(invalid)?,
            )),
            other => return Err(KeyError::NotAsymmetric(other)),
        };
        Ok(Self(key))
    }

    /// The P-256 signing key, for the attestation certificates this key signs.
    pub(crate) fn p256_signer(&self) -> Option<&p256::ecdsa::SigningKey> {
        match &self.0 {
            Material::P256(k) => Some(k),
            _ => None,
        }
    }

    /// What GENERAL AUTHENTICATE with `81 <input>` does with this key: the raw RSA private
    /// operation (signature or decryption alike), ECDSA over a hash, Ed25519 over a message.
    pub fn sign_or_decrypt(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.0 {
            Material::Rsa(_) => self.rsa_private(input),
            Material::P256(_) | Material::P384(_) => self.sign_prehash(input),
            Material::Ed25519(_) => self.sign_message(input),
            Material::X25519(_) => Err(KeyError::Unsupported(Algorithm::X25519)),
        }
    }
}

const ED25519_OID: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.101.112");
const X25519_OID: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.101.110");

/// RFC 8410: an algorithm identifier without parameters and the raw key as the bit string.
fn raw_spki(oid: const_oid::ObjectIdentifier, key: &[u8]) -> Result<Vec<u8>, der::Error> {
    use der::Encode;
    let spki = spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        },
        subject_public_key: der::asn1::BitString::from_bytes(key)?,
    };
    spki.to_der()
}

fn random_bytes() -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|_| KeyError::Generation)?;
    Ok(bytes)
}

fn array32(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

fn left_pad(bytes: &[u8], len: usize) -> Vec<u8> {
    let skip = bytes.len().saturating_sub(len);
    let bytes = &bytes[skip..];
    let mut out = vec![0; len - bytes.len()];
    out.extend_from_slice(bytes);
    out
}

/// The leftmost `len` bytes of a hash, or the hash zero-extended on the left when shorter.
fn field_sized(hash: &[u8], len: usize) -> Vec<u8> {
    if hash.len() >= len {
        hash[..len].to_vec()
    } else {
        left_pad(hash, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signature::hazmat::PrehashVerifier;

    #[test]
    fn ecdsa_signatures_verify_with_the_public_key() {
        let key = PrivateKey::generate(Algorithm::EccP256).unwrap();
        let PublicKeyTemplate::Point(point) = key.public_key() else {
            panic!("EC key without a point")
        };
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
        let hash = [0x42u8; 32];
        let sig = p256::ecdsa::Signature::from_der(&key.sign_prehash(&hash).unwrap()).unwrap();
        vk.verify_prehash(&hash, &sig).unwrap();
        // A SHA-384 hash is truncated to the field size, as the card must.
        let long = [0x42u8; 48];
        let sig = p256::ecdsa::Signature::from_der(&key.sign_prehash(&long).unwrap()).unwrap();
        vk.verify_prehash(&long[..32], &sig).unwrap();
    }

    #[test]
    fn secrets_round_trip_through_their_stored_form() {
        for alg in [
            Algorithm::EccP256,
            Algorithm::EccP384,
            Algorithm::Ed25519,
            Algorithm::X25519,
            Algorithm::Rsa1024,
        ] {
            let key = PrivateKey::generate(alg).unwrap();
            let again = PrivateKey::from_secret_bytes(alg, &key.secret_bytes().unwrap()).unwrap();
            assert_eq!(again.public_key(), key.public_key(), "{alg}");
        }
        assert!(PrivateKey::from_secret_bytes(Algorithm::EccP256, &[0; 32]).is_err());
    }

    /// The public operation of the `rsa` crate, on the public key the card gives out.
    fn rsa_public_op(key: &PrivateKey, input: &[u8]) -> Vec<u8> {
        let PublicKeyTemplate::Rsa { modulus, exponent } = key.public_key() else {
            panic!("RSA key without a modulus")
        };
        let n = BoxedUint::from_be_slice_vartime(&modulus);
        let public = rsa::PublicKey::new(n, BoxedUint::from_be_slice_vartime(&exponent)).unwrap();
        let x = BoxedUint::from_be_slice(input, public.n_bits_precision()).unwrap();
        left_pad(
            &rsa::hazmat::rsa_encrypt(&public, &x).unwrap().to_be_bytes(),
            modulus.len(),
        )
    }

    #[test]
    fn rsa_private_operation_agrees_with_the_public_key_at_every_size() {
        for alg in [
            Algorithm::Rsa1024,
            Algorithm::Rsa2048,
            Algorithm::Rsa3072,
            Algorithm::Rsa4096,
        ] {
            let key = PrivateKey::generate(alg).unwrap();
            let len = alg.rsa_bits().unwrap() / 8;
            let mut block = vec![0x11; len];
            block[0] = 0;
            // Decryption undoes the public operation; a signature is undone by it.
            let encrypted = rsa_public_op(&key, &block);
            assert_eq!(key.rsa_private(&encrypted).unwrap(), block, "{alg}");
            let signed = key.rsa_private(&block).unwrap();
            assert_eq!(signed.len(), len, "{alg}");
            assert_eq!(rsa_public_op(&key, &signed), block, "{alg}");

            assert_eq!(
                key.rsa_private(&block[1..]),
                Err(KeyError::WrongInputLength {
                    got: len - 1,
                    want: len
                })
            );
            // Not less than the modulus.
            assert_eq!(
                key.rsa_private(&vec![0xFF; len]),
                Err(KeyError::InvalidInput)
            );
        }
    }
}
