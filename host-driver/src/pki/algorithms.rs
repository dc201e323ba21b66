//! Signature algorithms as verification meets them: from an AlgorithmIdentifier (and, in
//! CMS, the digestAlgorithm beside it) to a [`Scheme`], and checking a signature with a
//! certificate's public key.
//!
//! Certificates and SignerInfos share this: RSA PKCS#1 v1.5, RSASSA-PSS (MGF1 with the
//! same hash), ECDSA on P-256 and P-384, and Ed25519.

use const_oid::db::{rfc5912, rfc8410};
use der::{Decode, Encode};
use signature::hazmat::PrehashVerifier;
use spki::AlgorithmIdentifierOwned;

use crate::hash::HashAlg;
use crate::oids;
use crate::public_key::PublicKey;

/// How a signature was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Pkcs1v15(HashAlg),
    /// RSASSA-PSS with MGF1 over the same hash and this salt length.
    Pss {
        hash: HashAlg,
        salt_len: usize,
    },
    Ecdsa(HashAlg),
    /// Pure Ed25519 (RFC 8032), over the whole message.
    Ed25519,
}

/// Why a signature could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Checked, and wrong.
    #[error("the signature does not match the key")]
    Mismatch,
    /// Not checked: an algorithm, or a combination of algorithm and key, we do not handle.
    #[error("{0}")]
    Unsupported(String),
}

/// What was signed: the message itself, or only its digest (under the scheme's hash).
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    Message(&'a [u8]),
    Digest(&'a [u8]),
}

fn unsupported(what: impl Into<String>) -> SignatureError {
    SignatureError::Unsupported(what.into())
}

impl Scheme {
    /// The scheme of a certificate's signatureAlgorithm. SHA-1 is refused, whatever the
    /// padding (RSASSA-PSS too): certificate signatures over it can be forged with a
    /// chosen-prefix collision.
    pub fn for_certificate(alg: &AlgorithmIdentifierOwned) -> Result<Self, SignatureError> {
        let scheme = match alg.oid {
            rfc5912::SHA_1_WITH_RSA_ENCRYPTION => Self::Pkcs1v15(HashAlg::Sha1),
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION => Self::Pkcs1v15(HashAlg::Sha256),
            rfc5912::SHA_384_WITH_RSA_ENCRYPTION => Self::Pkcs1v15(HashAlg::Sha384),
            rfc5912::SHA_512_WITH_RSA_ENCRYPTION => Self::Pkcs1v15(HashAlg::Sha512),
            rfc5912::ID_RSASSA_PSS => pss(alg)?,
            oids::ECDSA_WITH_SHA1 => Self::Ecdsa(HashAlg::Sha1),
            rfc5912::ECDSA_WITH_SHA_256 => Self::Ecdsa(HashAlg::Sha256),
            rfc5912::ECDSA_WITH_SHA_384 => Self::Ecdsa(HashAlg::Sha384),
            rfc5912::ECDSA_WITH_SHA_512 => Self::Ecdsa(HashAlg::Sha512),
            rfc8410::ID_ED_25519 => Self::Ed25519,
            oid => {
                return Err(unsupported(format!(
                    "a certificate is signed with an unsupported algorithm ({})",
                    oids::name(oid)
                )));
            }
        };
        if scheme.hash() == Some(HashAlg::Sha1) {
            return Err(unsupported(
                "a certificate is signed with SHA-1, which is no longer safe",
            ));
        }
        Ok(scheme)
    }

    /// The scheme of a SignerInfo: its signatureAlgorithm, with the hash of its
    /// digestAlgorithm (RFC 5652 §5.4: signed attributes are hashed with the digest
    /// algorithm; RFC 5754 lets the signature algorithm be plain rsaEncryption).
    ///
    /// A SHA-1 digest is refused, as it is for certificates, whether the digest algorithm,
    /// the signature algorithm or its PSS parameters name it: with a collision, one
    /// signature would vouch for two messages (RFC 8551 §2.1 no longer lets a receiver
    /// trust it).
    pub fn for_signer(
        alg: &AlgorithmIdentifierOwned,
        digest: HashAlg,
    ) -> Result<Self, SignatureError> {
        let sha1 = || {
            unsupported(
                "the message is signed with a SHA-1 digest, which is no longer trusted (a collision lets one signature cover two messages)",
            )
        };
        if digest == HashAlg::Sha1
            || matches!(
                alg.oid,
                rfc5912::SHA_1_WITH_RSA_ENCRYPTION | oids::ECDSA_WITH_SHA1
            )
        {
            return Err(sha1());
        }
        let named = |hash: HashAlg, scheme: fn(HashAlg) -> Self| {
            if hash == digest {
                Ok(scheme(hash))
            } else {
                Err(unsupported(format!(
                    "the signature algorithm names {} but the digest algorithm is {}",
                    crate::hash::name(hash),
                    crate::hash::name(digest)
                )))
            }
        };
        match alg.oid {
            rfc5912::RSA_ENCRYPTION => Ok(Self::Pkcs1v15(digest)),
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION => named(HashAlg::Sha256, Self::Pkcs1v15),
            rfc5912::SHA_384_WITH_RSA_ENCRYPTION => named(HashAlg::Sha384, Self::Pkcs1v15),
            rfc5912::SHA_512_WITH_RSA_ENCRYPTION => named(HashAlg::Sha512, Self::Pkcs1v15),
            rfc5912::ID_RSASSA_PSS => match pss(alg)? {
                Self::Pss {
                    hash: HashAlg::Sha1,
                    ..
                } => Err(sha1()),
                Self::Pss { hash, .. } if hash != digest => Err(unsupported(format!(
                    "the PSS parameters name {} but the digest algorithm is {}",
                    crate::hash::name(hash),
                    crate::hash::name(digest)
                ))),
                scheme => Ok(scheme),
            },
            rfc5912::ID_EC_PUBLIC_KEY => Ok(Self::Ecdsa(digest)),
            rfc5912::ECDSA_WITH_SHA_256 => named(HashAlg::Sha256, Self::Ecdsa),
            rfc5912::ECDSA_WITH_SHA_384 => named(HashAlg::Sha384, Self::Ecdsa),
            rfc5912::ECDSA_WITH_SHA_512 => named(HashAlg::Sha512, Self::Ecdsa),
            rfc8410::ID_ED_25519 => Ok(Self::Ed25519),
            oid => Err(unsupported(format!(
                "the message is signed with an unsupported algorithm ({})",
                oids::name(oid)
            ))),
        }
    }

    /// A name for people: "RSA-2048 PKCS#1 v1.5 with SHA-256", "ECDSA P-256 with SHA-384".
    pub fn describe(&self, key: &PublicKey) -> String {
        let rsa_bits = || {
            key.rsa_modulus_len()
                .map(|len| format!("RSA-{}", len * 8))
                .unwrap_or_else(|| "RSA".into())
        };
        match *self {
            Self::Pkcs1v15(hash) => format!(
                "{} PKCS#1 v1.5 with {}",
                rsa_bits(),
                crate::hash::name(hash)
            ),
            Self::Pss { hash, salt_len } => format!(
                "{} PSS with {} (salt {salt_len} bytes)",
                rsa_bits(),
                crate::hash::name(hash)
            ),
            Self::Ecdsa(hash) => {
                let curve = match key {
                    PublicKey::P384(_) => "P-384",
                    _ => "P-256",
                };
                format!("ECDSA {curve} with {}", crate::hash::name(hash))
            }
            Self::Ed25519 => "Ed25519".into(),
        }
    }

    /// The hash applied to the message, if the scheme hashes before signing.
    pub fn hash(&self) -> Option<HashAlg> {
        match *self {
            Self::Pkcs1v15(hash) | Self::Pss { hash, .. } | Self::Ecdsa(hash) => Some(hash),
            Self::Ed25519 => None,
        }
    }

    /// Checks `signature` over `signed` with `key`.
    pub fn verify(
        &self,
        key: &PublicKey,
        signed: Signed<'_>,
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let digest = match (self.hash(), signed) {
            (Some(hash), Signed::Message(message)) => crate::hash::digest(hash, message),
            (Some(hash), Signed::Digest(digest)) if digest.len() == hash.output_len() => {
                digest.to_vec()
            }
            (Some(_), Signed::Digest(_)) => return Err(SignatureError::Mismatch),
            (None, _) => Vec::new(),
        };
        match (*self, key) {
            (Self::Pkcs1v15(hash), PublicKey::Rsa(k)) => {
                let padding = rsa::Pkcs1v15Sign {
                    hash_len: Some(hash.output_len()),
                    prefix: hash.digest_info_prefix().into(),
                };
                k.verify(padding, &digest, signature).map_err(mismatch)
            }
            (Self::Pss { hash, salt_len }, PublicKey::Rsa(k)) => {
                use rsa::pss::Pss;
                match hash {
                    HashAlg::Sha1 => k.verify(
                        Pss::<sha1::Sha1>::new_with_salt(salt_len),
                        &digest,
                        signature,
                    ),
                    HashAlg::Sha256 => k.verify(
                        Pss::<sha2::Sha256>::new_with_salt(salt_len),
                        &digest,
                        signature,
                    ),
                    HashAlg::Sha384 => k.verify(
                        Pss::<sha2::Sha384>::new_with_salt(salt_len),
                        &digest,
                        signature,
                    ),
                    HashAlg::Sha512 => k.verify(
                        Pss::<sha2::Sha512>::new_with_salt(salt_len),
                        &digest,
                        signature,
                    ),
                }
                .map_err(mismatch)
            }
            (Self::Ecdsa(_), PublicKey::P256(k)) => {
                let sig = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| SignatureError::Mismatch)?;
                p256::ecdsa::VerifyingKey::from(k)
                    .verify_prehash(&digest, &sig)
                    .map_err(mismatch)
            }
            (Self::Ecdsa(_), PublicKey::P384(k)) => {
                let sig = p384::ecdsa::Signature::from_der(signature)
                    .map_err(|_| SignatureError::Mismatch)?;
                p384::ecdsa::VerifyingKey::from(k)
                    .verify_prehash(&digest, &sig)
                    .map_err(mismatch)
            }
            (Self::Ed25519, PublicKey::Ed25519(k)) => {
                let Signed::Message(message) = signed else {
                    return Err(unsupported(
                        "an Ed25519 signature without signed attributes over a detached message cannot be checked as a stream",
                    ));
                };
                let sig = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| SignatureError::Mismatch)?;
                k.verify_strict(message, &sig).map_err(mismatch)
            }
            (scheme, key) => Err(unsupported(format!(
                "a {scheme:?} signature cannot come from a {} key",
                key.algorithm()
            ))),
        }
    }
}

impl Scheme {
    /// For an RSA PKCS#1 v1.5 signature, the digest it signs, read out with the public key
    /// (RFC 8017 §8.2.2 up to step 3). This tells a changed message (a well-formed block
    /// with another digest) from a signature that is not the key's at all. `None` for other
    /// schemes and when the block is not a PKCS#1 v1.5 signature under this scheme's hash.
    pub fn signed_digest(&self, key: &PublicKey, signature: &[u8]) -> Option<Vec<u8>> {
        use rsa::traits::PublicKeyParts;
        let (Self::Pkcs1v15(hash), PublicKey::Rsa(k)) = (*self, key) else {
            return None;
        };
        if signature.len() != k.size() {
            return None;
        }
        let s = rsa::BoxedUint::from_be_slice(signature, k.n_bits_precision()).ok()?;
        if s >= *k.n().as_ref() {
            return None;
        }
        let m = rsa::hazmat::rsa_encrypt(k, &s).ok()?.to_be_bytes();
        let em = &m[m.len() - k.size()..];
        let prefix = hash.digest_info_prefix();
        let t_len = prefix.len() + hash.output_len();
        let ps_end = em.len().checked_sub(t_len + 1)?;
        let well_formed = em.len() >= t_len + 11
            && em[..2] == [0x00, 0x01]
            && em[2..ps_end].iter().all(|&b| b == 0xFF)
            && em[ps_end] == 0
            && em[ps_end + 1..][..prefix.len()] == *prefix;
        well_formed.then(|| em[em.len() - hash.output_len()..].to_vec())
    }
}

fn mismatch<E>(_: E) -> SignatureError {
    SignatureError::Mismatch
}

/// RSASSA-PSS-params (RFC 8017 A.2.3), with the MGF1 hash required to equal the hash.
/// Absent parameters are read as the defaults (SHA-1, salt 20; RFC 4055 §3.1), so that
/// they meet the SHA-1 rule rather than slip past it.
fn pss(alg: &AlgorithmIdentifierOwned) -> Result<Scheme, SignatureError> {
    let bad = || unsupported("unreadable RSASSA-PSS parameters");
    let params = match &alg.parameters {
        None => rsa::pkcs1::RsaPssParamsOwned::default(),
        Some(params) => {
            let der = params.to_der().map_err(|_| bad())?;
            rsa::pkcs1::RsaPssParamsOwned::from_der(&der).map_err(|_| bad())?
        }
    };
    let hash = crate::hash::from_oid(params.hash.oid).ok_or_else(|| {
        unsupported(format!(
            "PSS with an unsupported hash ({})",
            oids::name(params.hash.oid)
        ))
    })?;
    let mgf_hash = params.mask_gen.parameters.as_ref().map(|p| p.oid);
    if params.mask_gen.oid != rfc5912::ID_MGF_1 || mgf_hash != Some(params.hash.oid) {
        return Err(unsupported(
            "PSS with a mask generation function other than MGF1 over the same hash",
        ));
    }
    if params.trailer_field != rsa::pkcs1::TrailerField::BC {
        return Err(bad());
    }
    Ok(Scheme::Pss {
        hash,
        salt_len: params.salt_len.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use const_oid::ObjectIdentifier as Oid;
    use der::asn1::Any;
    use rsa::pkcs1::RsaPssParams;

    fn alg(oid: Oid) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    #[test]
    fn signer_schemes_take_the_hash_of_the_digest_algorithm() {
        assert_eq!(
            Scheme::for_signer(&alg(rfc5912::RSA_ENCRYPTION), HashAlg::Sha384),
            Ok(Scheme::Pkcs1v15(HashAlg::Sha384))
        );
        assert_eq!(
            Scheme::for_signer(&alg(rfc5912::ID_EC_PUBLIC_KEY), HashAlg::Sha512),
            Ok(Scheme::Ecdsa(HashAlg::Sha512))
        );
        assert_eq!(
            Scheme::for_signer(&alg(rfc5912::ECDSA_WITH_SHA_256), HashAlg::Sha256),
            Ok(Scheme::Ecdsa(HashAlg::Sha256))
        );
        assert!(matches!(
            Scheme::for_signer(&alg(rfc5912::SHA_256_WITH_RSA_ENCRYPTION), HashAlg::Sha512),
            Err(SignatureError::Unsupported(_))
        ));
        assert!(
            matches!(Scheme::for_certificate(&alg(rfc5912::SHA_1_WITH_RSA_ENCRYPTION)), Err(SignatureError::Unsupported(m)) if m.contains("SHA-1"))
        );
    }

    #[test]
    fn sha1_message_digests_are_refused() {
        let pss_sha1 = AlgorithmIdentifierOwned {
            oid: rfc5912::ID_RSASSA_PSS,
            parameters: Some(Any::from_der(&[0x30, 0x00]).unwrap()),
        };
        for (signature, digest) in [
            (alg(rfc5912::RSA_ENCRYPTION), HashAlg::Sha1),
            (alg(rfc5912::SHA_1_WITH_RSA_ENCRYPTION), HashAlg::Sha1),
            (alg(rfc5912::SHA_1_WITH_RSA_ENCRYPTION), HashAlg::Sha256),
            (alg(rfc5912::ID_EC_PUBLIC_KEY), HashAlg::Sha1),
            (alg(oids::ECDSA_WITH_SHA1), HashAlg::Sha1),
            (alg(rfc8410::ID_ED_25519), HashAlg::Sha1),
            (pss_sha1.clone(), HashAlg::Sha1),
            (pss_sha1, HashAlg::Sha256),
            (alg(rfc5912::ID_RSASSA_PSS), HashAlg::Sha256),
        ] {
            let result = Scheme::for_signer(&signature, digest);
            assert!(
                matches!(&result, Err(SignatureError::Unsupported(m)) if m.contains("SHA-1") && m.contains("no longer trusted")),
                "{} {digest:?}: {result:?}",
                signature.oid
            );
        }
    }

    #[test]
    fn sha1_certificate_signatures_are_refused_whatever_the_padding() {
        let pss_named = RsaPssParams::<der::AnyRef<'_>>::new::<sha1::Sha1>(32);
        let pss = |parameters: Option<Any>| AlgorithmIdentifierOwned {
            oid: rfc5912::ID_RSASSA_PSS,
            parameters,
        };
        for signature in [
            alg(rfc5912::SHA_1_WITH_RSA_ENCRYPTION),
            alg(oids::ECDSA_WITH_SHA1),
            pss(Some(Any::from_der(&pss_named.to_der().unwrap()).unwrap())),
            pss(Some(Any::from_der(&[0x30, 0x00]).unwrap())),
            pss(None),
        ] {
            let result = Scheme::for_certificate(&signature);
            assert_eq!(
                result,
                Err(unsupported(
                    "a certificate is signed with SHA-1, which is no longer safe"
                )),
                "{:?}",
                signature.parameters
            );
        }
    }

    #[test]
    fn pss_parameters_are_read_and_checked() {
        let params = RsaPssParams::<der::AnyRef<'_>>::new::<sha2::Sha384>(48);
        let with = |params: &[u8]| AlgorithmIdentifierOwned {
            oid: rfc5912::ID_RSASSA_PSS,
            parameters: Some(Any::from_der(params).unwrap()),
        };
        let der = params.to_der().unwrap();
        assert_eq!(
            Scheme::for_certificate(&with(&der)),
            Ok(Scheme::Pss {
                hash: HashAlg::Sha384,
                salt_len: 48
            })
        );
        // Defaults: SHA-1, MGF1-SHA-1, salt 20.
        assert_eq!(
            pss(&with(&[0x30, 0x00])),
            Ok(Scheme::Pss {
                hash: HashAlg::Sha1,
                salt_len: 20
            })
        );
        let mut mixed = params.clone();
        mixed.mask_gen.parameters = Some(spki::AlgorithmIdentifierRef {
            oid: rfc5912::ID_SHA_256,
            parameters: None,
        });
        assert!(Scheme::for_certificate(&with(&mixed.to_der().unwrap())).is_err());
    }

    #[test]
    fn ed25519_needs_the_whole_message() {
        use ed25519_dalek::Signer;
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let public = PublicKey::Ed25519(key.verifying_key());
        let sig = key.sign(b"attributes").to_bytes();
        assert_eq!(
            Scheme::Ed25519.verify(&public, Signed::Message(b"attributes"), &sig),
            Ok(())
        );
        assert_eq!(
            Scheme::Ed25519.verify(&public, Signed::Message(b"attributez"), &sig),
            Err(SignatureError::Mismatch)
        );
        let digest = crate::hash::digest(HashAlg::Sha512, b"attributes");
        assert!(matches!(
            Scheme::Ed25519.verify(&public, Signed::Digest(&digest), &sig),
            Err(SignatureError::Unsupported(_))
        ));
    }

    #[test]
    fn rsa_signatures_verify_only_with_the_right_key_and_data() {
        let key = rsa::PrivateKey::new(&mut rand_core::UnwrapErr(getrandom::SysRng), 2048).unwrap();
        let public = PublicKey::Rsa(key.to_public_key());
        let digest = crate::hash::digest(HashAlg::Sha256, b"data");
        let sig = key
            .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
            .unwrap();
        let scheme = Scheme::Pkcs1v15(HashAlg::Sha256);
        assert_eq!(
            scheme.verify(&public, Signed::Message(b"data"), &sig),
            Ok(())
        );
        assert_eq!(
            scheme.verify(&public, Signed::Digest(&digest), &sig),
            Ok(())
        );
        assert_eq!(
            scheme.verify(&public, Signed::Message(b"date"), &sig),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            Scheme::Pkcs1v15(HashAlg::Sha384).verify(&public, Signed::Message(b"data"), &sig),
            Err(SignatureError::Mismatch)
        );
        let pss = key
            .sign_with_rng(
                &mut rand_core::UnwrapErr(getrandom::SysRng),
                rsa::pss::Pss::<sha2::Sha256>::new_with_salt(20),
                &digest,
            )
            .unwrap();
        let scheme = Scheme::Pss {
            hash: HashAlg::Sha256,
            salt_len: 20,
        };
        assert_eq!(
            scheme.verify(&public, Signed::Message(b"data"), &pss),
            Ok(())
        );
        assert_eq!(
            Scheme::Pss {
                hash: HashAlg::Sha256,
                salt_len: 32
            }
            .verify(&public, Signed::Message(b"data"), &pss),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            Scheme::Ecdsa(HashAlg::Sha256).verify(&public, Signed::Message(b"data"), &sig),
            Err(SignatureError::Unsupported(_))
        ));

        // The digest a PKCS#1 v1.5 signature signs can be read back; garbage yields none.
        assert_eq!(
            Scheme::Pkcs1v15(HashAlg::Sha256).signed_digest(&public, &sig),
            Some(digest.clone())
        );
        assert_eq!(
            Scheme::Pkcs1v15(HashAlg::Sha512).signed_digest(&public, &sig),
            None
        );
        let mut garbage = sig.clone();
        garbage[10] ^= 1;
        assert_eq!(
            Scheme::Pkcs1v15(HashAlg::Sha256).signed_digest(&public, &garbage),
            None
        );
    }
}
