//! Key agreement (RFC 5652 §6.2.2): ephemeral-static ECDH on P-256 and P-384 (RFC 5753)
//! and X25519 (RFC 8418). The decryptor computes the shared secret with the sender's
//! ephemeral public key; the key-encryption key is derived here with the X9.63 KDF
//! ([`crate::smime::kdf`]) and unwraps the content-encryption key (AES key wrap, RFC 3394).
//!
//! Every KDF hash other tools send is accepted, SHA-1 included: it is OpenSSL's default
//! for EC recipients (`dhSinglePass-stdDH-sha1kdf-scheme`), and the cofactor variants are
//! the same computation on these curves, whose cofactor is 1.

use aes_kw::{KwAes128, KwAes192, KwAes256};
use cipher::KeyInit;
use cms::enveloped_data::{KeyAgreeRecipientInfo, OriginatorIdentifierOrKey};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5753, rfc5911, rfc5912, rfc8410};
use p256::elliptic_curve::sec1::ToSec1Point;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use super::{DecryptError, Decryptor, malformed};
use crate::hash::{self, HashAlg};
use crate::oids;
use crate::public_key::PublicKey;
use crate::smime::kdf::{ecc_cms_shared_info, x963_kdf};

/// The KDF hash of a key agreement scheme.
fn kdf_hash(scheme: ObjectIdentifier) -> Option<HashAlg> {
    Some(match scheme {
        rfc5753::DH_SINGLE_PASS_STD_DH_SHA_1_KDF_SCHEME
        | rfc5753::DH_SINGLE_PASS_COFACTOR_DH_SHA_1_KDF_SCHEME => HashAlg::Sha1,
        rfc5753::DH_SINGLE_PASS_STD_DH_SHA_256_KDF_SCHEME
        | rfc5753::DH_SINGLE_PASS_COFACTOR_DH_SHA_256_KDF_SCHEME => HashAlg::Sha256,
        rfc5753::DH_SINGLE_PASS_STD_DH_SHA_384_KDF_SCHEME
        | rfc5753::DH_SINGLE_PASS_COFACTOR_DH_SHA_384_KDF_SCHEME => HashAlg::Sha384,
        rfc5753::DH_SINGLE_PASS_STD_DH_SHA_512_KDF_SCHEME
        | rfc5753::DH_SINGLE_PASS_COFACTOR_DH_SHA_512_KDF_SCHEME => HashAlg::Sha512,
        _ => return None,
    })
}

/// The length of the key an AES key wrap algorithm wraps with.
fn wrap_key_len(wrap: ObjectIdentifier) -> Option<usize> {
    match wrap {
        rfc5911::ID_AES_128_WRAP => Some(16),
        rfc5911::ID_AES_192_WRAP => Some(24),
        rfc5911::ID_AES_256_WRAP => Some(32),
        _ => None,
    }
}

/// The sender's ephemeral public key, in the form the decryptor takes for `own` key: an
/// uncompressed point on its curve (checked to be on it), or 32 bytes for X25519.
fn peer_public(kari: &KeyAgreeRecipientInfo, own: &PublicKey) -> Result<Vec<u8>, DecryptError> {
    let OriginatorIdentifierOrKey::OriginatorKey(originator) = &kari.originator else {
        return Err(DecryptError::Unsupported(
            "key agreement with the sender's static key (only ephemeral keys are supported)".into(),
        ));
    };
    let bits = originator
        .public_key
        .as_bytes()
        .ok_or_else(|| malformed("the sender's public key is not whole bytes"))?;
    let bad = || malformed("the sender's public key is not a point of the recipient's curve");
    let algorithm = originator.algorithm.oid;
    // The curve, when named, must be the recipient's; it is usually left out.
    let named_curve = originator
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let curve_ok = |curve| named_curve.is_none_or(|named| named == curve);
    match own {
        PublicKey::P256(_)
            if algorithm == rfc5912::ID_EC_PUBLIC_KEY && curve_ok(rfc5912::SECP_256_R_1) =>
        {
            let point = p256::PublicKey::from_sec1_bytes(bits).map_err(|_| bad())?;
            Ok(point.to_sec1_point(false).as_bytes().to_vec())
        }
        PublicKey::P384(_)
            if algorithm == rfc5912::ID_EC_PUBLIC_KEY && curve_ok(rfc5912::SECP_384_R_1) =>
        {
            let point = p384::PublicKey::from_sec1_bytes(bits).map_err(|_| bad())?;
            Ok(point.to_sec1_point(false).as_bytes().to_vec())
        }
        PublicKey::X25519(_) if algorithm == rfc8410::ID_X_25519 && bits.len() == 32 => {
            Ok(bits.to_vec())
        }
        _ => Err(bad()),
    }
}

/// The content-encryption key of `key_len` bytes from the encrypted key `index` of `kari`,
/// made for the key `key` whose certificate is `cert`; also how it was agreed.
pub(super) fn content_key<D: Decryptor>(
    decryptor: &mut D,
    key: &D::Key,
    cert: &Certificate,
    kari: &KeyAgreeRecipientInfo,
    index: usize,
    key_len: usize,
) -> Result<(Zeroizing<Vec<u8>>, String), DecryptError> {
    let scheme = &kari.key_enc_alg;
    let kdf = kdf_hash(scheme.oid).ok_or_else(|| {
        DecryptError::Unsupported(format!("key agreement with {}", oids::name(scheme.oid)))
    })?;
    let wrap = scheme
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
        .ok_or_else(|| malformed("the key agreement names no key wrap algorithm"))?;
    let kek_len = wrap_key_len(wrap.oid).ok_or_else(|| {
        DecryptError::Unsupported(format!("key wrap with {}", oids::name(wrap.oid)))
    })?;
    let own = crate::pki::public_key(cert).map_err(|e| malformed(e.to_string()))?;
    let peer = peer_public(kari, &own)?;
    let shared = decryptor
        .key_agreement(key, &peer)
        .map_err(DecryptError::Key)?;
    // RFC 8418 §2: an all-zero X25519 secret means a peer key of small order.
    if shared.iter().all(|&b| b == 0) {
        return Err(DecryptError::Failed);
    }
    let ukm = kari.ukm.as_ref().map(|u| u.as_bytes());
    let shared_info = ecc_cms_shared_info(&wrap, ukm, 8 * kek_len as u32)
        .map_err(|e| malformed(format!("the key agreement's shared info: {e}")))?;
    let kek = x963_kdf(kdf, &shared, &shared_info, kek_len);
    let wrapped = kari.recipient_enc_keys[index].enc_key.as_bytes();
    let cek = unwrap(&kek, wrapped)?;
    if cek.len() != key_len {
        return Err(DecryptError::Failed);
    }
    let curve = match own {
        PublicKey::P256(_) => "ECDH P-256",
        PublicKey::P384(_) => "ECDH P-384",
        _ => "X25519",
    };
    Ok((
        cek,
        format!(
            "{curve} with the {} KDF and AES-{} key wrap",
            hash::name(kdf),
            8 * kek_len
        ),
    ))
}

/// AES key unwrap (RFC 3394) of `wrapped` with `kek`.
fn unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    if wrapped.len() < 24 || wrapped.len() % 8 != 0 {
        return Err(DecryptError::Failed);
    }
    let mut out = Zeroizing::new(vec![0u8; wrapped.len() - 8]);
    let unwrapped = match kek.len() {
        16 => KwAes128::new_from_slice(kek)
            .map(|kw| kw.unwrap_key(wrapped, &mut out).map(<[u8]>::len)),
        24 => KwAes192::new_from_slice(kek)
            .map(|kw| kw.unwrap_key(wrapped, &mut out).map(<[u8]>::len)),
        _ => KwAes256::new_from_slice(kek)
            .map(|kw| kw.unwrap_key(wrapped, &mut out).map(<[u8]>::len)),
    };
    match unwrapped {
        Ok(Ok(len)) => {
            out.truncate(len);
            Ok(out)
        }
        _ => Err(DecryptError::Failed),
    }
}
