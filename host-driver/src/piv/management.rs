//! Management-key authentication (mutual, GENERAL AUTHENTICATE on key 9B), learning the
//! key's algorithm on cards that do not tell it, and YubiKey's SET MANAGEMENT KEY and RESET.

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{AuthKey, GeneralAuthenticate, Reset, SetManagementKey};
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::templates::DynamicAuth;
use apdu_spec::piv::{Algorithm, KeyRef, TouchPolicy};
use log::debug;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::PivCard;
use crate::error::{Error, Result};
use crate::transport::Transport;

/// The management key's algorithm, and whether the card told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagementAlgorithm {
    pub algorithm: Algorithm,
    /// Whether the card told it (in its metadata, or by answering a request in it);
    /// otherwise it is the likeliest guess.
    pub confirmed: bool,
}

/// The order a card that does not tell is asked in, after its likeliest algorithm: PIV's
/// 3DES, then AES from the most to the least common.
const ASKING_ORDER: [Algorithm; 4] = [
    Algorithm::Tdes,
    Algorithm::Aes192,
    Algorithm::Aes128,
    Algorithm::Aes256,
];

impl<T: Transport> PivCard<T> {
    /// The management key's algorithm: from metadata where the card tells it; otherwise
    /// the card is asked for a witness in each algorithm in turn, the likeliest first.
    ///
    /// Asking spends nothing: a card refuses a request in another algorithm at once (6A80
    /// on a YubiKey, 6A86 on card-sim), before it counts or changes anything, and the
    /// witness the right algorithm brings is never answered, so nothing is authenticated
    /// (the next request replaces it). Ask before authenticating: what a card does with an
    /// authentication already made when asked again is its own affair.
    pub fn management_algorithm(&mut self) -> Result<ManagementAlgorithm> {
        let meta = self.metadata_if_answered(KeyRef::MANAGEMENT)?;
        let told = meta
            .as_ref()
            .and_then(|m| m.algorithm)
            .and_then(Algorithm::from_byte)
            .filter(|a| a.is_symmetric());
        if let Some(algorithm) = told {
            return Ok(ManagementAlgorithm {
                algorithm,
                confirmed: true,
            });
        }
        let likeliest = self.likeliest_management_algorithm(meta.and_then(|m| m.is_default));
        let candidates: Vec<Algorithm> = std::iter::once(likeliest)
            .chain(ASKING_ORDER.into_iter().filter(|&a| a != likeliest))
            .collect();
        let accepted = self.run(|x| {
            for &algorithm in &candidates {
                let witness_request = DynamicAuth {
                    witness: Some(vec![]),
                    ..Default::default()
                };
                let request =
                    GeneralAuthenticate::new(algorithm, AuthKey::Management, witness_request);
                match x.send(request)?.sw {
                    StatusWord::SUCCESS => return Ok(Some(algorithm)),
                    StatusWord::INCORRECT_DATA | StatusWord::INCORRECT_P1P2 => {}
                    sw => {
                        debug!("a {algorithm} witness request answered {sw}; not asking further");
                        return Ok(None);
                    }
                }
            }
            Ok(None)
        })?;
        Ok(match accepted {
            Some(algorithm) => ManagementAlgorithm {
                algorithm,
                confirmed: true,
            },
            None => ManagementAlgorithm {
                algorithm: likeliest,
                confirmed: false,
            },
        })
    }

    /// A YubiKey's factory algorithm (3DES before firmware 5.7; AES-192 from 5.7, unless
    /// the key is known to be changed), or else PIV's 3DES.
    fn likeliest_management_algorithm(&self, is_default: Option<bool>) -> Algorithm {
        match self.features().version {
            Some(version) if version >= [5, 7, 0] && is_default != Some(false) => Algorithm::Aes192,
            _ => Algorithm::Tdes,
        }
    }

    /// Mutual authentication: the card proves it knows the key too.
    pub fn authenticate(&mut self, key: &ManagementKey) -> Result<()> {
        let host_challenge = random_block(key.block_size())?;
        let step =
            |template| GeneralAuthenticate::new(key.algorithm(), AuthKey::Management, template);
        // Before sending: the card may accept the key even if we then reject its answer.
        self.logged_in();
        let authenticated = self.run(|x| {
            let r = x.send(step(DynamicAuth {
                witness: Some(vec![]),
                ..Default::default()
            }))?;
            if !r.sw.is_success() {
                return Err(wrong_key_or(r.sw));
            }
            let encrypted = DynamicAuth::parse(&r.data)
                .ok()
                .and_then(|d| d.witness)
                .ok_or_else(|| Error::malformed("no witness"))?;
            // The decrypted witness goes into the command, whose template is wiped.
            let witness = key
                .decrypt(&encrypted)
                .ok_or_else(|| Error::malformed("witness of the wrong size"))?;
            let r = x.send(step(DynamicAuth {
                witness: Some(witness),
                challenge: Some(host_challenge.clone()),
                ..Default::default()
            }))?;
            if !r.sw.is_success() {
                return Err(wrong_key_or(r.sw));
            }
            let answer = DynamicAuth::parse(&r.data)
                .ok()
                .and_then(|d| d.response)
                .ok_or_else(|| Error::malformed("no response"))?;
            let expected = Zeroizing::new(
                key.encrypt(&host_challenge)
                    .ok_or_else(|| Error::malformed("challenge"))?,
            );
            if bool::from(answer.ct_eq(&expected)) {
                Ok(())
            } else {
                Err(Error::WrongManagementKey)
            }
        });
        match authenticated {
            // Asked only after a refusal, so an authentication that succeeds costs nothing more.
            Err(Error::WrongManagementKey)
                if self.touch_policy(KeyRef::MANAGEMENT).ok().flatten()
                    == Some(TouchPolicy::Always) =>
            {
                Err(Error::WrongManagementKeyOrNoTouch)
            }
            other => other,
        }
    }

    /// YubiKey's SET MANAGEMENT KEY (needs authentication with the current key).
    pub fn set_management_key(&mut self, new: &ManagementKey, require_touch: bool) -> Result<()> {
        if !self.features().yubikey() {
            return Err(Error::Unsupported("SET MANAGEMENT KEY"));
        }
        let mut key = new.clone();
        key.touch_required = require_touch;
        let set = SetManagementKey { key };
        self.run(|x| {
            x.expect("SET MANAGEMENT KEY", set.clone())?;
            Ok(())
        })
    }

    /// YubiKey's RESET: erases keys, certificates and objects; only when PIN and PUK are
    /// both blocked.
    pub fn reset_piv(&mut self) -> Result<()> {
        if !self.features().yubikey() {
            return Err(Error::Unsupported("RESET"));
        }
        self.run(|x| {
            let r = x.send(Reset)?;
            match r.sw {
                StatusWord::SUCCESS => Ok(()),
                StatusWord::CONDITIONS_NOT_SATISFIED => Err(Error::ResetRefused),
                sw => Err(Error::from_status("RESET", sw)),
            }
        })
    }
}

fn wrong_key_or(sw: StatusWord) -> Error {
    match sw {
        StatusWord::SECURITY_STATUS_NOT_SATISFIED => Error::WrongManagementKey,
        StatusWord::INCORRECT_P1P2 | StatusWord::INCORRECT_DATA => Error::InvalidArgument(format!(
            "the card's management key uses another algorithm ({sw})"
        )),
        sw => Error::from_status("GENERAL AUTHENTICATE", sw),
    }
}

pub(crate) fn random_block(len: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    getrandom::fill(&mut out)
        .map_err(|e| Error::InvalidArgument(format!("random number generator: {e}")))?;
    Ok(out)
}
