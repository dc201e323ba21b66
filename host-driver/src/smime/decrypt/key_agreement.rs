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
/// made for the key `key` whose public half is `own`; also how it was agreed.
pub(super) fn content_key<D: Decryptor>(
    decryptor: &mut D,
    key: &D::Key,
    own: &PublicKey,
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
    let peer = peer_public(kari, own)?;
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
    if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) {
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

#[cfg(test)]
mod tests {
    use cms::content_info::CmsVersion;
    use cms::enveloped_data::{
        KeyAgreeRecipientIdentifier, OriginatorPublicKey, RecipientEncryptedKey,
        RecipientKeyIdentifier,
    };
    use der::asn1::{BitString, OctetString};
    use x509_cert::ext::pkix::SubjectKeyIdentifier;

    use super::*;
    use crate::smime::decrypt::KeyError;

    /// Static keys in software: what a card computes, for a sender built here.
    struct Software {
        p256: p256::SecretKey,
        x25519: x25519_dalek::StaticSecret,
    }

    impl Decryptor for Software {
        type Key = &'static str;

        fn recipient_keys(
            &mut self,
        ) -> Result<Vec<(&'static str, x509_cert::Certificate)>, KeyError> {
            Ok(Vec::new())
        }

        fn rsa_private(&mut self, _: &&str, _: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
            Err("no RSA key".into())
        }

        fn key_agreement(&mut self, _: &&str, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
            if let Ok(x) = <[u8; 32]>::try_from(peer) {
                let shared = self
                    .x25519
                    .diffie_hellman(&x25519_dalek::PublicKey::from(x));
                return Ok(Zeroizing::new(shared.as_bytes().to_vec()));
            }
            let peer = p256::PublicKey::from_sec1_bytes(peer)?;
            let shared =
                p256::ecdh::diffie_hellman(self.p256.to_nonzero_scalar(), peer.as_affine());
            Ok(Zeroizing::new(shared.raw_secret_bytes().to_vec()))
        }
    }

    /// A KARI as a sender makes it: `ephemeral` public key, the content key wrapped with the
    /// key derived from `shared`.
    fn kari(
        algorithm: ObjectIdentifier,
        ephemeral: &[u8],
        shared: &[u8],
        ukm: Option<&[u8]>,
        cek: &[u8],
    ) -> KeyAgreeRecipientInfo {
        let wrap = AlgorithmIdentifierOwned {
            oid: rfc5911::ID_AES_128_WRAP,
            parameters: None,
        };
        let info = ecc_cms_shared_info(&wrap, ukm, 128).unwrap();
        let kek = x963_kdf(HashAlg::Sha256, shared, &info, 16);
        let mut wrapped = vec![0u8; cek.len() + 8];
        KwAes128::new_from_slice(&kek)
            .unwrap()
            .wrap_key(cek, &mut wrapped)
            .unwrap();
        KeyAgreeRecipientInfo {
            version: CmsVersion::V3,
            originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
                algorithm: AlgorithmIdentifierOwned {
                    oid: algorithm,
                    parameters: None,
                },
                public_key: BitString::from_bytes(ephemeral).unwrap(),
            }),
            ukm: ukm.map(|u| OctetString::new(u).unwrap()),
            key_enc_alg: AlgorithmIdentifierOwned {
                oid: rfc5753::DH_SINGLE_PASS_STD_DH_SHA_256_KDF_SCHEME,
                parameters: Some(der::Any::encode_from(&wrap).unwrap()),
            },
            recipient_enc_keys: vec![RecipientEncryptedKey {
                rid: KeyAgreeRecipientIdentifier::RKeyId(RecipientKeyIdentifier {
                    subject_key_identifier: SubjectKeyIdentifier(OctetString::new([1]).unwrap()),
                    date: None,
                    other: None,
                }),
                enc_key: OctetString::new(wrapped).unwrap(),
            }],
        }
    }

    #[test]
    fn p256_and_x25519_recipients_recover_the_content_key() {
        let mut card = Software {
            p256: p256::SecretKey::from_slice(&[0x11; 32]).unwrap(),
            x25519: x25519_dalek::StaticSecret::from([0x22; 32]),
        };
        let cek = [0x5A; 32];

        let ephemeral = p256::SecretKey::from_slice(&[0x33; 32]).unwrap();
        let own = PublicKey::P256(card.p256.public_key());
        let shared = p256::ecdh::diffie_hellman(
            ephemeral.to_nonzero_scalar(),
            card.p256.public_key().as_affine(),
        );
        let sent = kari(
            rfc5912::ID_EC_PUBLIC_KEY,
            ephemeral.public_key().to_sec1_point(false).as_bytes(),
            shared.raw_secret_bytes(),
            Some(b"user keying material"),
            &cek,
        );
        let (got, how) = content_key(&mut card, &"software", &own, &sent, 0, 32).unwrap();
        assert_eq!(&got[..], &cek);
        assert_eq!(how, "ECDH P-256 with the SHA-256 KDF and AES-128 key wrap");
        // The content key must have the content cipher's length.
        assert!(matches!(
            content_key(&mut card, &"software", &own, &sent, 0, 16),
            Err(DecryptError::Failed)
        ));

        let ephemeral = x25519_dalek::StaticSecret::from([0x44; 32]);
        let own_x = x25519_dalek::PublicKey::from(&card.x25519);
        let shared = ephemeral.diffie_hellman(&own_x);
        let sender = x25519_dalek::PublicKey::from(&ephemeral);
        let sent = kari(
            rfc8410::ID_X_25519,
            sender.as_bytes(),
            shared.as_bytes(),
            None,
            &cek,
        );
        let own = PublicKey::X25519(*own_x.as_bytes());
        let (got, how) = content_key(&mut card, &"software", &own, &sent, 0, 32).unwrap();
        assert_eq!(&got[..], &cek);
        assert_eq!(how, "X25519 with the SHA-256 KDF and AES-128 key wrap");

        // Another ephemeral key than the one the key was wrapped for: one failure.
        let other = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([0x55; 32]));
        let forged = kari(
            rfc8410::ID_X_25519,
            other.as_bytes(),
            shared.as_bytes(),
            None,
            &cek,
        );
        assert!(matches!(
            content_key(&mut card, &"software", &own, &forged, 0, 32),
            Err(DecryptError::Failed)
        ));
        // A point off the recipient's curve is refused before the card computes anything.
        let off_curve = kari(rfc5912::ID_EC_PUBLIC_KEY, &[4; 65], &[1; 32], None, &cek);
        let own = PublicKey::P256(card.p256.public_key());
        assert!(matches!(
            content_key(&mut card, &"software", &own, &off_curve, 0, 32),
            Err(DecryptError::Malformed(_))
        ));
    }
}
