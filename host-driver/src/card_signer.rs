//! A key on a card as a signer: RustCrypto's `Keypair`, `Signer` and
//! `DynSignatureAlgorithmIdentifier`, so the `x509-cert` and `cms` builders sign with it
//! directly, and S/MIME's [`CmsSigner`].
//!
//! This adapter is the one place that knows both the PIV client and the signing traits:
//! `piv/` speaks to the card and `smime/` signs through a trait, and neither depends on the
//! other.

use std::cell::RefCell;

use apdu_spec::piv::Slot;
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier};

use crate::piv::{PivCard, Secret};
use crate::public_key::PublicKey;
use crate::signing::{SignatureBytes, SignatureScheme};
use crate::smime::sign::CmsSigner;
use crate::transport::Transport;

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
    /// A signer for `slot` with the key's usual scheme unless one is given; the card (or
    /// the slot's certificate) tells the public key.
    pub fn new(
        card: &'a RefCell<PivCard<T>>,
        slot: Slot,
        scheme: Option<SignatureScheme>,
    ) -> crate::Result<Self> {
        let public_key = card.borrow_mut().public_key(slot)?;
        Self::for_public_key(card, slot, public_key, scheme)
    }

    /// A signer for the key in `slot` whose public half the caller has (from GENERATE, say),
    /// as a card without metadata cannot tell it before the slot has a certificate.
    pub fn for_public_key(
        card: &'a RefCell<PivCard<T>>,
        slot: Slot,
        public_key: PublicKey,
        scheme: Option<SignatureScheme>,
    ) -> crate::Result<Self> {
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

impl<T: Transport> signature::Signer<SignatureBytes> for CardSigner<'_, T> {
    fn try_sign(&self, message: &[u8]) -> Result<SignatureBytes, signature::Error> {
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
        .map(SignatureBytes::from)
        .map_err(signature::Error::from_source)
    }
}

impl<T: Transport> DynSignatureAlgorithmIdentifier for CardSigner<'_, T> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.scheme.algorithm_identifier()?)
    }
}

impl<T: Transport> CmsSigner for CardSigner<'_, T> {
    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
