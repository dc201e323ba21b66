//! Key agreement (RFC 5652 §6.2.2): ephemeral-static ECDH on P-256 and P-384 (RFC 5753) and
//! X25519 (RFC 8418). Each recipient gets a fresh key pair; the key-encryption key is the
//! X9.63 KDF with SHA-256 of the shared secret ([`crate::smime::kdf`],
//! dhSinglePass-stdDH-sha256kdf-scheme), and it wraps the content key with AES key wrap
//! (RFC 3394).
//!
//! The wrap key matches the curve's strength: AES-128 for P-256 and X25519 (about 128 bits,
//! which a longer key would not raise), AES-256 for P-384 (about 192 bits; AES-192 wrap is
//! little supported). The X9.63 KDF serves X25519 too: RFC 8418 allows it beside HKDF, and
//! every reader of EC recipients has it.
//!
//! The `cms` crate's builder is not used: in 0.3.0-rc.0 it wraps the content key with an
//! all-zero key.

use aes_kw::KeyInit;
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo, OriginatorIdentifierOrKey,
    OriginatorPublicKey, RecipientEncryptedKey,
};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5753, rfc5911, rfc5912, rfc8410};
use der::asn1::{Any, BitString, OctetString};
use p256::elliptic_curve::sec1::{FromSec1Point, ModulusSize, ToSec1Point};
use p256::elliptic_curve::{self as ec, Generate};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::EncryptError;
use crate::hash::HashAlg;
use crate::public_key::PublicKey;
use crate::smime::kdf::{ecc_cms_shared_info, x963_kdf};

/// The KeyAgreeRecipientInfo for `key` (P-256, P-384 or X25519), the recipient named by
/// issuer and serial number.
pub(super) fn recipient_info(
    key: &PublicKey,
    rid: IssuerAndSerialNumber,
    content_key: &[u8],
) -> Result<KeyAgreeRecipientInfo, EncryptError> {
    let agreement = agree(key)?;
    let wrap = agreement.wrap.algorithm();
    let kek_len = agreement.wrap.key_len();
    let shared_info = ecc_cms_shared_info(&wrap, None, 8 * kek_len as u32)?;
    let kek = x963_kdf(
        HashAlg::Sha256,
        &agreement.shared_secret,
        &shared_info,
        kek_len,
    );
    let wrapped = agreement.wrap.wrap(&kek, content_key)?;

    Ok(KeyAgreeRecipientInfo {
        version: CmsVersion::V3,
        originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
            // Parameters absent: the curve is the recipient's (as OpenSSL writes it, and as
            // RFC 8410 requires for X25519).
            algorithm: AlgorithmIdentifierOwned {
                oid: agreement.originator_oid,
                parameters: None,
            },
            public_key: BitString::from_bytes(&agreement.originator_key)?,
        }),
        ukm: None,
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: rfc5753::DH_SINGLE_PASS_STD_DH_SHA_256_KDF_SCHEME,
            parameters: Some(Any::encode_from(&wrap)?),
        },
        recipient_enc_keys: vec![RecipientEncryptedKey {
            rid: KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(rid),
            enc_key: OctetString::new(wrapped)?,
        }],
    })
}

/// One side of an ephemeral-static exchange: the shared secret, the ephemeral public key
/// the recipient needs to compute it too, and the wrap that suits the curve.
struct Agreement {
    shared_secret: Zeroizing<Vec<u8>>,
    originator_oid: ObjectIdentifier,
    originator_key: Vec<u8>,
    wrap: Wrap,
}

/// AES key wrap (RFC 3394) of the content key.
#[derive(Debug, Clone, Copy)]
enum Wrap {
    Aes128,
    Aes256,
}

impl Wrap {
    /// The identifier, parameters absent (RFC 3565 §2.3.2).
    fn algorithm(self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            Self::Aes128 => rfc5911::ID_AES_128_WRAP,
            Self::Aes256 => rfc5911::ID_AES_256_WRAP,
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }

    fn wrap(self, kek: &[u8], content_key: &[u8]) -> Result<Vec<u8>, EncryptError> {
        const KEK_LEN: &str = "the KEK has the wrap's length";
        let mut out = vec![0; content_key.len() + aes_kw::IV_LEN];
        let wrapped = match self {
            Self::Aes128 => aes_kw::KwAes128::new_from_slice(kek)
                .expect(KEK_LEN)
                .wrap_key(content_key, &mut out)
                .map(<[u8]>::len),
            Self::Aes256 => aes_kw::KwAes256::new_from_slice(kek)
                .expect(KEK_LEN)
                .wrap_key(content_key, &mut out)
                .map(<[u8]>::len),
        };
        let len = wrapped.map_err(|_| EncryptError::KeyEncryption("AES key wrap failed"))?;
        out.truncate(len);
        Ok(out)
    }
}

fn agree(key: &PublicKey) -> Result<Agreement, EncryptError> {
    let (shared_secret, originator_oid, originator_key, wrap) = match key {
        PublicKey::P256(recipient) => {
            let (shared, ephemeral) = ecdh(recipient)?;
            (shared, rfc5912::ID_EC_PUBLIC_KEY, ephemeral, Wrap::Aes128)
        }
        PublicKey::P384(recipient) => {
            let (shared, ephemeral) = ecdh(recipient)?;
            (shared, rfc5912::ID_EC_PUBLIC_KEY, ephemeral, Wrap::Aes256)
        }
        PublicKey::X25519(recipient) => {
            // A fresh secret, used once: "static" is only the name of the type that can
            // be made from our own random bytes.
            let mut secret = Zeroizing::new([0; 32]);
            getrandom::fill(&mut *secret).map_err(EncryptError::Random)?;
            let ephemeral = x25519_dalek::StaticSecret::from(*secret);
            let shared = ephemeral.diffie_hellman(&x25519_dalek::PublicKey::from(*recipient));
            // A low-order recipient key would make the secret one anybody can compute.
            if !shared.was_contributory() {
                return Err(EncryptError::KeyEncryption(
                    "the recipient's X25519 key is a low-order point",
                ));
            }
            (
                shared.as_bytes().to_vec(),
                rfc8410::ID_X_25519,
                x25519_dalek::PublicKey::from(&ephemeral)
                    .as_bytes()
                    .to_vec(),
                Wrap::Aes128,
            )
        }
        PublicKey::Rsa(_) | PublicKey::Ed25519(_) => {
            return Err(EncryptError::KeyEncryption("not a key-agreement key"));
        }
    };
    Ok(Agreement {
        shared_secret: Zeroizing::new(shared_secret),
        originator_oid,
        originator_key,
        wrap,
    })
}

/// Ephemeral-static ECDH with `recipient` on its curve: the shared secret (the
/// x-coordinate of the shared point) and the ephemeral public key, uncompressed.
fn ecdh<C>(recipient: &ec::PublicKey<C>) -> Result<(Vec<u8>, Vec<u8>), EncryptError>
where
    C: ec::CurveArithmetic,
    ec::AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    ec::FieldBytesSize<C>: ModulusSize,
{
    let ephemeral = ec::ecdh::EphemeralSecret::<C>::try_generate_from_rng(&mut getrandom::SysRng)
        .map_err(EncryptError::Random)?;
    let shared = ephemeral.diffie_hellman(recipient);
    let public = ephemeral.public_key().to_sec1_point(false);
    Ok((
        shared.raw_secret_bytes().to_vec(),
        public.as_bytes().to_vec(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;

    const CONTENT_KEY: [u8; 32] = [0x5a; 32];

    fn rid() -> IssuerAndSerialNumber {
        IssuerAndSerialNumber {
            issuer: Name::default(),
            serial_number: SerialNumber::new(&[1]).unwrap(),
        }
    }

    fn originator(kari: &KeyAgreeRecipientInfo) -> &OriginatorPublicKey {
        match &kari.originator {
            OriginatorIdentifierOrKey::OriginatorKey(key) => key,
            other => panic!("the originator is not a key: {other:?}"),
        }
    }

    /// What the recipient does with its shared secret `z`: derive the KEK and unwrap.
    fn unwrap_as_recipient(kari: &KeyAgreeRecipientInfo, z: &[u8]) -> Vec<u8> {
        assert_eq!(kari.version, CmsVersion::V3);
        assert_eq!(
            kari.key_enc_alg.oid,
            rfc5753::DH_SINGLE_PASS_STD_DH_SHA_256_KDF_SCHEME
        );
        let wrap: AlgorithmIdentifierOwned = kari
            .key_enc_alg
            .parameters
            .as_ref()
            .unwrap()
            .decode_as()
            .unwrap();
        let kek_len = if wrap.oid == rfc5911::ID_AES_128_WRAP {
            16
        } else {
            32
        };
        let info = ecc_cms_shared_info(&wrap, None, 8 * kek_len as u32).unwrap();
        let kek = x963_kdf(HashAlg::Sha256, z, &info, kek_len);
        let wrapped = kari.recipient_enc_keys[0].enc_key.as_bytes();
        let mut out = vec![0; wrapped.len() - aes_kw::IV_LEN];
        match kek_len {
            16 => aes_kw::KwAes128::new_from_slice(&kek)
                .unwrap()
                .unwrap_key(wrapped, &mut out)
                .unwrap(),
            _ => aes_kw::KwAes256::new_from_slice(&kek)
                .unwrap()
                .unwrap_key(wrapped, &mut out)
                .unwrap(),
        };
        out
    }

    #[test]
    fn an_x25519_recipient_derives_the_key_that_unwraps_the_content_key() {
        let secret = x25519_dalek::StaticSecret::from([7; 32]);
        let public = PublicKey::X25519(x25519_dalek::PublicKey::from(&secret).to_bytes());
        let kari = recipient_info(&public, rid(), &CONTENT_KEY).unwrap();
        let originator = originator(&kari);
        assert_eq!(originator.algorithm.oid, rfc8410::ID_X_25519);
        assert_eq!(originator.algorithm.parameters, None);
        let theirs: [u8; 32] = originator.public_key.raw_bytes().try_into().unwrap();
        let z = secret.diffie_hellman(&x25519_dalek::PublicKey::from(theirs));
        assert_eq!(unwrap_as_recipient(&kari, z.as_bytes()), CONTENT_KEY);
    }

    #[test]
    fn ec_recipients_derive_the_key_that_unwraps_the_content_key() {
        let secret = p256::SecretKey::from_slice(&[0x11; 32]).unwrap();
        let kari =
            recipient_info(&PublicKey::P256(secret.public_key()), rid(), &CONTENT_KEY).unwrap();
        let theirs =
            p256::PublicKey::from_sec1_bytes(originator(&kari).public_key.raw_bytes()).unwrap();
        let z = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), theirs.as_affine());
        assert_eq!(
            unwrap_as_recipient(&kari, z.raw_secret_bytes()),
            CONTENT_KEY
        );

        let secret = p384::SecretKey::from_slice(&[0x22; 48]).unwrap();
        let kari =
            recipient_info(&PublicKey::P384(secret.public_key()), rid(), &CONTENT_KEY).unwrap();
        let theirs =
            p384::PublicKey::from_sec1_bytes(originator(&kari).public_key.raw_bytes()).unwrap();
        let z = p384::ecdh::diffie_hellman(secret.to_nonzero_scalar(), theirs.as_affine());
        assert_eq!(
            unwrap_as_recipient(&kari, z.raw_secret_bytes()),
            CONTENT_KEY
        );
    }

    #[test]
    fn a_low_order_x25519_key_is_refused() {
        let err = recipient_info(&PublicKey::X25519([0; 32]), rid(), &CONTENT_KEY).unwrap_err();
        assert!(matches!(err, EncryptError::KeyEncryption(_)), "{err:?}");
    }
}
