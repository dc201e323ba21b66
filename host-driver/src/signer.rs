//! A key on a card as a RustCrypto signer (`Keypair`, `Signer`,
//! `DynSignatureAlgorithmIdentifier`), so the `x509-cert` and `cms` builders sign with it
//! directly.

use std::cell::RefCell;

use apdu_spec::piv::Slot;
use const_oid::db::{rfc5912, rfc8410};
use der::asn1::BitString;
use der::{Any, Sequence};
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SignatureBitStringEncoding};

use crate::hash::HashAlg;
use crate::oids;
use crate::piv::operations::SignatureScheme;
use crate::piv::{PivCard, Secret};
use crate::public_key::PublicKey;
use crate::transport::Transport;

/// A signature as the card made it: the RSA block, DER ECDSA, or 64 Ed25519 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSignature(Box<[u8]>);

impl CardSignature {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl TryFrom<&[u8]> for CardSignature {
    type Error = signature::Error;

    fn try_from(bytes: &[u8]) -> Result<Self, signature::Error> {
        Ok(Self(bytes.into()))
    }
}

impl From<CardSignature> for Box<[u8]> {
    fn from(s: CardSignature) -> Self {
        s.0
    }
}

impl signature::SignatureEncoding for CardSignature {
    type Repr = Box<[u8]>;
}

impl SignatureBitStringEncoding for CardSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

/// Signs with the key in one slot of a card. The card sits in a `RefCell` because the
/// signing traits take `&self`. With a PIN, VERIFY precedes every signature in the same
/// transaction, as keys with PIN policy "always" (slot 9C) require.
pub struct CardSigner<'a, T: Transport> {
    card: &'a RefCell<PivCard<T>>,
    slot: Slot,
    public_key: PublicKey,
    scheme: SignatureScheme,
    pin: Option<Secret>,
}

impl<'a, T: Transport> CardSigner<'a, T> {
    /// A signer for `slot` with the key's usual scheme unless one is given.
    pub fn new(
        card: &'a RefCell<PivCard<T>>,
        slot: Slot,
        scheme: Option<SignatureScheme>,
    ) -> crate::Result<Self> {
        let public_key = card.borrow_mut().public_key(slot)?;
        let scheme = match scheme {
            Some(s) => s,
            None => SignatureScheme::default_for(&public_key)?,
        };
        Ok(Self {
            card,
            slot,
            public_key,
            scheme,
            pin: None,
        })
    }

    /// Verifies `pin` before every signature.
    pub fn with_pin(mut self, pin: Secret) -> Self {
        self.pin = Some(pin);
        self
    }

    pub fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
}

impl<T: Transport> signature::Keypair for CardSigner<'_, T> {
    type VerifyingKey = PublicKey;

    fn verifying_key(&self) -> PublicKey {
        self.public_key.clone()
    }
}

impl<T: Transport> signature::Signer<CardSignature> for CardSigner<'_, T> {
    fn try_sign(&self, message: &[u8]) -> Result<CardSignature, signature::Error> {
        let mut card = self
            .card
            .try_borrow_mut()
            .map_err(signature::Error::from_source)?;
        card.sign_message(
            self.slot,
            &self.public_key,
            self.scheme,
            message,
            self.pin.as_ref(),
        )
        .map(|s| CardSignature(s.into()))
        .map_err(signature::Error::from_source)
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

/// The AlgorithmIdentifier of a signature scheme, as X.509 and CMS carry it.
pub fn signature_algorithm(scheme: SignatureScheme) -> der::Result<AlgorithmIdentifierOwned> {
    let plain = |oid| AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    };
    // RFC 4055: the RSA PKCS#1 v1.5 identifiers carry an explicit NULL.
    let with_null = |oid| AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::null()),
    };
    Ok(match scheme {
        SignatureScheme::RsaPkcs1v15(h) => with_null(match h {
            HashAlg::Sha1 => rfc5912::SHA_1_WITH_RSA_ENCRYPTION,
            HashAlg::Sha256 => rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
            HashAlg::Sha384 => rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
            HashAlg::Sha512 => rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
        }),
        SignatureScheme::RsaPss(h) => {
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
        SignatureScheme::Ecdsa(h) => plain(match h {
            HashAlg::Sha1 => oids::ECDSA_WITH_SHA1,
            HashAlg::Sha256 => rfc5912::ECDSA_WITH_SHA_256,
            HashAlg::Sha384 => rfc5912::ECDSA_WITH_SHA_384,
            HashAlg::Sha512 => rfc5912::ECDSA_WITH_SHA_512,
        }),
        SignatureScheme::Ed25519 => plain(rfc8410::ID_ED_25519),
    })
}

impl<T: Transport> DynSignatureAlgorithmIdentifier for CardSigner<'_, T> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(signature_algorithm(self.scheme)?)
    }
}
