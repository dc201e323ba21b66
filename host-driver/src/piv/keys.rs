//! Key slots: generate, import, read the public key and policies, move and delete.
//!
//! What a slot holds is learnt from GET METADATA where the card answers it in full. Cards
//! in the field answer it in part or not at all (6D00, or 9000 without the algorithm, the
//! policies or the public key), so metadata is an optimisation: what it leaves out is read
//! from the slot's certificate.

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{GenerateAsymmetricKeyPair, ImportKey, MoveKey};
use apdu_spec::piv::metadata::{Metadata, Origin};
use apdu_spec::piv::templates::{ImportedKey, PublicKeyTemplate};
use apdu_spec::piv::{Algorithm, KeyRef, PinPolicy, Slot, TouchPolicy};
use log::debug;

use super::PivCard;
use crate::error::{Error, Result};
use crate::public_key::PublicKey;
use crate::transport::Transport;

/// Where what is known about a slot's key was learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The card's metadata: the key the slot holds.
    Metadata,
    /// The slot's certificate: the key it was issued for, which a newer key may have
    /// replaced on a card that does not tell.
    Certificate,
}

/// What is known about a key slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub slot: Slot,
    /// `None` when neither the card nor a certificate tells.
    pub algorithm: Option<Algorithm>,
    /// `None` when neither the card nor a certificate tells.
    pub public_key: Option<PublicKey>,
    /// Where `algorithm` and `public_key` were learnt; `None` when neither is known.
    pub source: Option<KeySource>,
    /// From metadata; unknown on cards without it.
    pub pin_policy: Option<PinPolicy>,
    pub touch_policy: Option<TouchPolicy>,
    pub origin: Option<Origin>,
}

impl KeyInfo {
    /// A slot's key from its metadata (`None`: the card does not describe the slot) and the
    /// key its certificate names. A public key in metadata is the card's own word and wins;
    /// an algorithm alone that disagrees with the certificate loses to it. `None` when
    /// neither tells of a key.
    fn reconcile(
        slot: Slot,
        meta: Option<&Metadata>,
        certified: Option<PublicKey>,
    ) -> Option<Self> {
        let said_algorithm = meta
            .and_then(|m| m.algorithm)
            .and_then(Algorithm::from_byte)
            .filter(|a| a.is_asymmetric());
        let said_key = |algorithm: Algorithm| {
            let template = PublicKeyTemplate::parse_content(meta?.public_key.as_deref()?).ok()?;
            PublicKey::from_template(algorithm, &template).ok()
        };
        let (public_key, source) = match (said_algorithm.and_then(said_key), certified) {
            (Some(key), _) => (Some(key), Some(KeySource::Metadata)),
            (None, Some(certified)) => {
                let algorithm = certified.algorithm();
                if let Some(said) = said_algorithm.filter(|&a| a != algorithm) {
                    debug!(
                        "slot {slot}: metadata says {said}, its certificate names a {algorithm} key; trusting the certificate"
                    );
                }
                // A public key in metadata without a usable algorithm is read as the
                // certificate's algorithm.
                match said_key(algorithm) {
                    Some(key) => (Some(key), Some(KeySource::Metadata)),
                    None => (Some(certified), Some(KeySource::Certificate)),
                }
            }
            (None, None) => (None, said_algorithm.map(|_| KeySource::Metadata)),
        };
        if meta.is_none() && public_key.is_none() {
            return None;
        }
        Some(Self {
            slot,
            algorithm: public_key
                .as_ref()
                .map(PublicKey::algorithm)
                .or(said_algorithm),
            public_key,
            source,
            pin_policy: meta.and_then(Metadata::pin_policy),
            touch_policy: meta.and_then(Metadata::touch_policy),
            origin: meta.and_then(|m| m.origin),
        })
    }
}

/// The public key a certificate names; `None`, logged, for one that cannot be read (the
/// caller shows the certificate's own trouble where it matters).
fn certified_key(slot: Slot, der: &[u8]) -> Option<PublicKey> {
    let key = <x509_cert::Certificate as der::Decode>::from_der(der)
        .map_err(Error::malformed)
        .and_then(|cert| {
            der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
                .map_err(Error::malformed)
        })
        .and_then(|spki| PublicKey::from_spki_der(&spki));
    key.map_err(|e| debug!("slot {slot}: no key from its certificate: {e}"))
        .ok()
}

impl<T: Transport> PivCard<T> {
    /// GENERATE ASYMMETRIC KEY PAIR (needs the management key); returns the public key.
    pub fn generate(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
        pin_policy: Option<PinPolicy>,
        touch_policy: Option<TouchPolicy>,
    ) -> Result<PublicKey> {
        if !algorithm.is_asymmetric() {
            return Err(Error::InvalidArgument(format!(
                "{algorithm} is not a key pair algorithm"
            )));
        }
        let generate = GenerateAsymmetricKeyPair {
            slot,
            algorithm,
            pin_policy,
            touch_policy,
        };
        let data = self.run(|x| {
            let r = x.send(generate)?;
            match r.sw {
                StatusWord::SUCCESS => Ok(r.data),
                StatusWord::INCORRECT_DATA | StatusWord::FUNCTION_NOT_SUPPORTED => {
                    Err(Error::InvalidArgument(format!(
                        "the card does not generate {algorithm} keys with these policies"
                    )))
                }
                sw => Err(Error::from_status("GENERATE ASYMMETRIC KEY PAIR", sw)),
            }
        })?;
        let template = PublicKeyTemplate::parse(&data).map_err(Error::malformed)?;
        PublicKey::from_template(algorithm, &template)
    }

    /// YubiKey's IMPORT KEY (needs the management key).
    pub fn import_key(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
        key: ImportedKey,
        pin_policy: Option<PinPolicy>,
        touch_policy: Option<TouchPolicy>,
    ) -> Result<()> {
        if !self.features().yubikey() {
            return Err(Error::Unsupported("IMPORT KEY"));
        }
        let import = ImportKey {
            slot,
            algorithm,
            key,
            pin_policy,
            touch_policy,
        };
        self.run(|x| {
            x.expect("IMPORT KEY", import.clone())?;
            Ok(())
        })
    }

    /// What is in a slot: from metadata, and from the slot's certificate what metadata
    /// leaves out (see [`KeyInfo`]). `None` when neither tells of a key.
    pub fn key_info(&mut self, slot: Slot) -> Result<Option<KeyInfo>> {
        self.describe(slot, |card| {
            let der = match card.read_certificate(slot) {
                Err(Error::Malformed(why)) => {
                    debug!("slot {slot}: unreadable certificate object: {why}");
                    None
                }
                read => read?,
            };
            Ok(der.and_then(|der| certified_key(slot, &der)))
        })
    }

    /// As [`Self::key_info`], with the slot's certificate (DER) the caller has read already.
    pub fn key_info_with_certificate(
        &mut self,
        slot: Slot,
        certificate: Option<&[u8]>,
    ) -> Result<Option<KeyInfo>> {
        self.describe(slot, |_| {
            Ok(certificate.and_then(|der| certified_key(slot, der)))
        })
    }

    /// Metadata first; the certificate only when metadata does not give the public key.
    fn describe(
        &mut self,
        slot: Slot,
        certified: impl FnOnce(&mut Self) -> Result<Option<PublicKey>>,
    ) -> Result<Option<KeyInfo>> {
        let meta = self.metadata_if_answered(slot.key_ref())?;
        let described = KeyInfo::reconcile(slot, meta.as_ref(), None);
        if described.as_ref().is_some_and(|d| d.public_key.is_some()) {
            return Ok(described);
        }
        let certified = certified(self)?;
        Ok(KeyInfo::reconcile(slot, meta.as_ref(), certified))
    }

    /// The touch policy of `key` (a slot's key, or the management key), where the card's
    /// metadata tells it.
    pub fn touch_policy(&mut self, key: KeyRef) -> Result<Option<TouchPolicy>> {
        Ok(self
            .metadata_if_answered(key)?
            .and_then(|m| m.touch_policy()))
    }

    /// The public key of the key in `slot`.
    pub fn public_key(&mut self, slot: Slot) -> Result<PublicKey> {
        match self.key_info(slot)? {
            Some(KeyInfo {
                public_key: Some(key),
                ..
            }) => Ok(key),
            Some(_) => Err(Error::NotFound(format!(
                "a description of the key in slot {slot} (metadata, or a certificate)"
            ))),
            None => Err(Error::NotFound(format!(
                "a key (or certificate) in slot {slot}"
            ))),
        }
    }

    /// Deletes the key in `slot` (YubiKey 5.7's DELETE KEY; needs the management key).
    pub fn delete_key(&mut self, slot: Slot) -> Result<()> {
        self.move_or_delete(MoveKey {
            source: slot,
            destination: None,
        })
    }

    /// Moves a key to an empty slot (YubiKey 5.7; the certificate stays where it was).
    pub fn move_key(&mut self, from: Slot, to: Slot) -> Result<()> {
        self.move_or_delete(MoveKey {
            source: from,
            destination: Some(to),
        })
    }

    fn move_or_delete(&mut self, command: MoveKey) -> Result<()> {
        if !self.features().move_key() {
            return Err(Error::Unsupported(
                "deleting or moving keys (YubiKey 5.7 and later)",
            ));
        }
        self.run(|x| {
            let r = x.send(command)?;
            match r.sw {
                StatusWord::SUCCESS => Ok(()),
                StatusWord::REFERENCE_DATA_NOT_FOUND => {
                    Err(Error::NotFound(format!("a key in slot {}", command.source)))
                }
                StatusWord::INCORRECT_DATA => Err(Error::InvalidArgument(
                    "the destination slot holds a key".into(),
                )),
                sw => Err(Error::from_status("MOVE KEY", sw)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOT: Slot = Slot::Signature;

    fn p256(scalar: u8) -> PublicKey {
        PublicKey::P256(
            p256::SecretKey::from_slice(&[scalar; 32])
                .unwrap()
                .public_key(),
        )
    }

    /// Metadata tag 04 for `key`.
    fn content(key: &PublicKey) -> Vec<u8> {
        let PublicKey::P256(k) = key else {
            panic!("P-256 only")
        };
        PublicKeyTemplate::Point(k.to_sec1_bytes().to_vec()).encode_content()
    }

    fn meta(algorithm: Option<Algorithm>, key: Option<&PublicKey>) -> Metadata {
        Metadata {
            algorithm: algorithm.map(Algorithm::to_byte),
            public_key: key.map(content),
            origin: Some(Origin::Generated),
            ..Default::default()
        }
    }

    /// What `KeyInfo` makes of `said` and `certified`: algorithm, public key, source.
    fn learnt(
        said: Option<Metadata>,
        certified: Option<&PublicKey>,
    ) -> (Option<Algorithm>, Option<PublicKey>, Option<KeySource>) {
        let info = KeyInfo::reconcile(SLOT, said.as_ref(), certified.cloned()).expect("a key");
        (info.algorithm, info.public_key, info.source)
    }

    const P256: Option<Algorithm> = Some(Algorithm::EccP256);

    #[test]
    fn an_algorithm_that_disagrees_with_the_certificate_loses_to_it() {
        let certified = p256(1);
        let said = meta(Some(Algorithm::EccP384), None);
        assert_eq!(
            learnt(Some(said), Some(&certified)),
            (P256, Some(certified), Some(KeySource::Certificate))
        );
    }

    #[test]
    fn a_public_key_in_metadata_is_the_cards_word_even_under_a_wrong_algorithm() {
        let (on_card, certified) = (p256(1), p256(2));
        // No algorithm, a wrong one, and the right one with a certificate older than the key.
        for algorithm in [None, Some(Algorithm::Rsa2048), P256] {
            let said = meta(algorithm, Some(&on_card));
            assert_eq!(
                learnt(Some(said), Some(&certified)),
                (P256, Some(on_card.clone()), Some(KeySource::Metadata)),
                "{algorithm:?}"
            );
        }
    }

    #[test]
    fn what_nothing_tells_stays_unknown() {
        assert_eq!(KeyInfo::reconcile(SLOT, None, None), None);
        let origin_only = KeyInfo::reconcile(SLOT, Some(&meta(None, None)), None).unwrap();
        assert_eq!(
            (
                origin_only.algorithm,
                origin_only.public_key,
                origin_only.origin
            ),
            (None, None, Some(Origin::Generated))
        );
        let p384 = Some(Algorithm::EccP384);
        assert_eq!(
            learnt(Some(meta(p384, None)), None),
            (p384, None, Some(KeySource::Metadata))
        );
        assert_eq!(
            learnt(None, Some(&p256(3))),
            (P256, Some(p256(3)), Some(KeySource::Certificate))
        );
    }
}
