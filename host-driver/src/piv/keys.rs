//! Key slots: generate, import, read the public key and policies, move and delete.

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{GenerateAsymmetricKeyPair, ImportKey, MoveKey};
use apdu_spec::piv::metadata::Origin;
use apdu_spec::piv::templates::{ImportedKey, PublicKeyTemplate};
use apdu_spec::piv::{Algorithm, PinPolicy, Slot, TouchPolicy};

use super::PivCard;
use crate::error::{Error, Result};
use crate::public_key::PublicKey;
use crate::transport::Transport;

/// What the card says about a key slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub slot: Slot,
    pub algorithm: Algorithm,
    pub public_key: PublicKey,
    /// From metadata; unknown on cards without it.
    pub pin_policy: Option<PinPolicy>,
    pub touch_policy: Option<TouchPolicy>,
    pub origin: Option<Origin>,
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

    /// What is in a slot: from metadata where the card has it, otherwise from the
    /// slot's certificate. `None` for an empty slot.
    pub fn key_info(&mut self, slot: Slot) -> Result<Option<KeyInfo>> {
        if self.features().metadata() {
            let meta = match self.metadata(slot.key_ref()) {
                Ok(meta) => meta,
                Err(Error::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let algorithm = meta
                .algorithm
                .and_then(Algorithm::from_byte)
                .ok_or_else(|| Error::malformed("metadata without algorithm"))?;
            let content = meta
                .public_key
                .as_ref()
                .ok_or_else(|| Error::malformed("metadata without public key"))?;
            let template = PublicKeyTemplate::parse_content(content).map_err(Error::malformed)?;
            return Ok(Some(KeyInfo {
                slot,
                algorithm,
                public_key: PublicKey::from_template(algorithm, &template)?,
                pin_policy: meta.pin_policy(),
                touch_policy: meta.touch_policy(),
                origin: meta.origin,
            }));
        }
        let Some(der) = self.read_certificate(slot)? else {
            return Ok(None);
        };
        let cert =
            <x509_cert::Certificate as der::Decode>::from_der(&der).map_err(Error::malformed)?;
        let spki = der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
            .map_err(Error::malformed)?;
        let public_key = PublicKey::from_spki_der(&spki)?;
        Ok(Some(KeyInfo {
            slot,
            algorithm: public_key.algorithm(),
            public_key,
            pin_policy: None,
            touch_policy: None,
            origin: None,
        }))
    }

    /// The public key of the key in `slot`.
    pub fn public_key(&mut self, slot: Slot) -> Result<PublicKey> {
        self.key_info(slot)?
            .map(|info| info.public_key)
            .ok_or_else(|| Error::NotFound(format!("a key (or certificate) in slot {slot}")))
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
