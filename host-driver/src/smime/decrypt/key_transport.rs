//! Key transport (RFC 5652 §6.2.1): the content-encryption key encrypted to an RSA key,
//! with PKCS#1 v1.5 (rsaEncryption) or OAEP (RFC 3560, RFC 8017 §7.1), recovered with the
//! decryptor's raw private operation and unpadded here.
//!
//! PKCS#1 v1.5 is decoded with implicit rejection
//! ([`crate::rsa_padding::pkcs1v15_decrypt_implicit`]): a wrong padding yields a stand-in
//! key, and the message then fails as a changed one does, so no error tells a padding
//! oracle anything. OAEP is decoded in constant time with one error for every failure.

use cms::enveloped_data::KeyTransRecipientInfo;
use const_oid::db::rfc5912;
use der::Sequence;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::{DecryptError, Decryptor, malformed};
use crate::hash::{self, HashAlg};
use crate::oids;
use crate::public_key::PublicKey;
use crate::rsa_padding::{self, PaddingError};

/// RSAES-OAEP-params (RFC 8017 appendix A.2.1); absent fields take the SHA-1 defaults.
#[derive(Sequence)]
struct OaepParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    label_source: Option<AlgorithmIdentifierOwned>,
}

/// OAEP's hash, MGF1 hash and label.
struct Oaep {
    hash: HashAlg,
    mgf_hash: HashAlg,
    label: Vec<u8>,
}

impl Oaep {
    fn from_parameters(parameters: Option<&der::Any>) -> Result<Self, DecryptError> {
        let bad = |what: &str| malformed(format!("the OAEP parameters: {what}"));
        let params = match parameters {
            None => OaepParams {
                hash: None,
                mask_gen: None,
                label_source: None,
            },
            Some(any) => any
                .decode_as::<OaepParams>()
                .map_err(|e| bad(&e.to_string()))?,
        };
        let hash_of = |alg: &AlgorithmIdentifierOwned| {
            hash::from_oid(alg.oid).ok_or_else(|| {
                DecryptError::Unsupported(format!("OAEP with {}", oids::name(alg.oid)))
            })
        };
        let hash = params.hash.as_ref().map_or(Ok(HashAlg::Sha1), hash_of)?;
        let mgf_hash = match &params.mask_gen {
            None => HashAlg::Sha1,
            Some(mgf) if mgf.oid == rfc5912::ID_MGF_1 => {
                let inner = mgf
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
                    .ok_or_else(|| bad("MGF1 without its hash"))?;
                hash_of(&inner)?
            }
            Some(mgf) => {
                return Err(DecryptError::Unsupported(format!(
                    "OAEP with the mask generation function {}",
                    oids::name(mgf.oid)
                )));
            }
        };
        let label = match &params.label_source {
            None => Vec::new(),
            Some(source) if source.oid == rfc5912::ID_P_SPECIFIED => source
                .parameters
                .as_ref()
                .map(|p| p.decode_as::<OctetString>())
                .transpose()
                .map_err(|_| bad("the label is not an OCTET STRING"))?
                .map(|l| l.into_bytes().into_vec())
                .unwrap_or_default(),
            Some(source) => {
                return Err(DecryptError::Unsupported(format!(
                    "OAEP with the label source {}",
                    oids::name(source.oid)
                )));
            }
        };
        Ok(Self {
            hash,
            mgf_hash,
            label,
        })
    }
}

/// The content-encryption key of `key_len` bytes from `ktri`, made for the RSA key `key`
/// whose public half is `public`; also how it was transported.
pub(super) fn content_key<D: Decryptor>(
    decryptor: &mut D,
    key: &D::Key,
    public: &PublicKey,
    ktri: &KeyTransRecipientInfo,
    key_len: usize,
) -> Result<(Zeroizing<Vec<u8>>, String), DecryptError> {
    let PublicKey::Rsa(_) = public else {
        return Err(malformed(format!(
            "RSA key transport to a {} key",
            public.algorithm()
        )));
    };
    let k = public.rsa_modulus_len().expect("an RSA key");
    let padding = match ktri.key_enc_alg.oid {
        rfc5912::RSA_ENCRYPTION => None,
        rfc5912::ID_RSAES_OAEP => {
            Some(Oaep::from_parameters(ktri.key_enc_alg.parameters.as_ref())?)
        }
        other => {
            return Err(DecryptError::Unsupported(format!(
                "key transport with {}",
                oids::name(other)
            )));
        }
    };
    // The ciphertext is an integer of the modulus' length; some writers drop leading zeros.
    let encrypted = ktri.enc_key.as_bytes();
    if encrypted.len() > k {
        return Err(DecryptError::Failed);
    }
    let mut block = vec![0u8; k - encrypted.len()];
    block.extend_from_slice(encrypted);
    let plain = decryptor
        .rsa_private(key, &block)
        .map_err(DecryptError::Key)?;
    let bits = 8 * k;
    Ok(match padding {
        None => (
            rsa_padding::pkcs1v15_decrypt_implicit(&plain, k, key_len).map_err(padding_error)?,
            format!("RSA-{bits} PKCS#1 v1.5"),
        ),
        Some(oaep) => {
            let cek =
                rsa_padding::oaep_decrypt_unpad(oaep.hash, oaep.mgf_hash, &oaep.label, &plain, k)
                    .map_err(padding_error)?;
            if cek.len() != key_len {
                return Err(DecryptError::Failed);
            }
            let mgf = if oaep.mgf_hash == oaep.hash {
                String::new()
            } else {
                format!(", MGF1 with {}", hash::name(oaep.mgf_hash))
            };
            (
                cek,
                format!("RSA-{bits} OAEP with {}{mgf}", hash::name(oaep.hash)),
            )
        }
    })
}

/// Every padding failure is the one decryption failure; a modulus too small for the key
/// is one too (the message cannot have been made for it).
fn padding_error(_: PaddingError) -> DecryptError {
    DecryptError::Failed
}
