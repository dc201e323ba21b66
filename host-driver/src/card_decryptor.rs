//! The keys on a card as an S/MIME [`Decryptor`]: the key management key (slot 9D) and the
//! retired key management keys (82–95), which keep last year's keys so that mail encrypted
//! to their certificates still opens. Each key is known by the certificate stored beside
//! it.
//!
//! Like `card_signer`, this adapter is the one place that knows both the PIV client and
//! the decryption trait.

use std::fmt;

use apdu_spec::piv::{Slot, TouchPolicy};
use der::{Decode, Encode};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::piv::{PivCard, Secret};
use crate::public_key::PublicKey;
use crate::smime::decrypt::{Decryptor, KeyError};
use crate::transport::Transport;

/// How many retired key management slots PIV has (82 to 95).
const RETIRED_SLOTS: u8 = 20;

/// A key on the card: its slot, and its public key as its certificate states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardKey {
    pub slot: Slot,
    pub public_key: PublicKey,
}

impl fmt::Display for CardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "slot {}", self.slot.name())
    }
}

/// Decrypts with the keys of a card. With a PIN, VERIFY precedes every private-key
/// operation in the same transaction.
pub struct CardDecryptor<'a, T: Transport> {
    card: &'a mut PivCard<T>,
    slot: Option<Slot>,
    pin: Option<Secret>,
    touch_prompt: Option<Box<dyn FnMut(Slot, TouchPolicy) + 'a>>,
}

impl<'a, T: Transport> CardDecryptor<'a, T> {
    /// Every key management key of the card: 9D first, then the retired ones.
    pub fn new(card: &'a mut PivCard<T>) -> Self {
        Self {
            card,
            slot: None,
            pin: None,
            touch_prompt: None,
        }
    }

    /// Only the key in `slot`.
    pub fn only(mut self, slot: Slot) -> Self {
        self.slot = Some(slot);
        self
    }

    /// Verifies `pin` before every private-key operation.
    pub fn with_pin(mut self, pin: Secret) -> Self {
        self.pin = Some(pin);
        self
    }

    /// Calls `prompt` before each operation with a key whose metadata says it needs a touch
    /// ("always" or "cached"), so the user can be asked for one; a card without metadata is
    /// not asked.
    pub fn with_touch_prompt(mut self, prompt: impl FnMut(Slot, TouchPolicy) + 'a) -> Self {
        self.touch_prompt = Some(Box::new(prompt));
        self
    }

    /// Asks for a touch if the key in `slot` needs one and a prompt was given.
    fn prompt_touch(&mut self, slot: Slot) -> crate::Result<()> {
        let Some(prompt) = self.touch_prompt.as_mut() else {
            return Ok(());
        };
        if let Some(policy @ (TouchPolicy::Always | TouchPolicy::Cached)) =
            self.card.touch_policy(slot.key_ref())?
        {
            prompt(slot, policy);
        }
        Ok(())
    }

    /// The slots to look in. The key history object counts the retired keys whose
    /// certificates are on the card, which fill the retired slots from 82 up (SP 800-73-4
    /// §3.3.2); a card without one (YubiKey tools do not write it) is searched in all 20.
    fn slots(&mut self) -> crate::Result<Vec<Slot>> {
        if let Some(slot) = self.slot {
            return Ok(vec![slot]);
        }
        let retired = match self.card.key_history()? {
            Some(history) => history.keys_with_on_card_certs.min(RETIRED_SLOTS),
            None => RETIRED_SLOTS,
        };
        Ok(std::iter::once(Slot::KeyManagement)
            .chain((1..=retired).filter_map(Slot::retired))
            .collect())
    }
}

impl<T: Transport> Decryptor for CardDecryptor<'_, T> {
    type Key = CardKey;

    fn recipient_keys(&mut self) -> Result<Vec<(CardKey, Certificate)>, KeyError> {
        let mut keys = Vec::new();
        for slot in self.slots()? {
            let der = match self.card.read_certificate(slot) {
                Ok(Some(der)) => der,
                Ok(None) => continue,
                // One broken certificate object must not keep the other keys from working.
                Err(crate::Error::Malformed(e)) => {
                    log::warn!(
                        "the certificate object of slot {} is malformed: {e}",
                        slot.name()
                    );
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            // A certificate we cannot read names no key we could use: skip it.
            let Ok(cert) = Certificate::from_der(&der) else {
                log::warn!("the certificate in slot {} cannot be read", slot.name());
                continue;
            };
            let spki = cert.tbs_certificate().subject_public_key_info().to_der()?;
            let Ok(public_key) = PublicKey::from_spki_der(&spki) else {
                log::warn!("the key of slot {} is of an unknown type", slot.name());
                continue;
            };
            keys.push((CardKey { slot, public_key }, cert));
        }
        Ok(keys)
    }

    fn rsa_private(&mut self, key: &CardKey, block: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.prompt_touch(key.slot)?;
        Ok(self.card.private_operation(
            key.slot,
            key.public_key.algorithm(),
            block,
            self.pin.as_ref(),
        )?)
    }

    fn key_agreement(
        &mut self,
        key: &CardKey,
        peer_public: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.prompt_touch(key.slot)?;
        Ok(self
            .card
            .key_agreement(key.slot, &key.public_key, peer_public, self.pin.as_ref())?)
    }
}
