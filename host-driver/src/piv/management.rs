//! Management-key authentication (mutual, GENERAL AUTHENTICATE on key 9B) and YubiKey's
//! SET MANAGEMENT KEY and RESET.

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{AuthKey, GeneralAuthenticate, Reset, SetManagementKey};
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::templates::DynamicAuth;
use apdu_spec::piv::{Algorithm, KeyRef};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::PivCard;
use crate::error::{Error, Result};
use crate::transport::Transport;

impl<T: Transport> PivCard<T> {
    /// The management key's algorithm: from metadata where the card has it, else 3DES,
    /// the algorithm SP 800-78 cards use.
    pub fn management_algorithm(&mut self) -> Result<Algorithm> {
        if !self.features().metadata() {
            return Ok(Algorithm::Tdes);
        }
        let meta = self.metadata(KeyRef::MANAGEMENT)?;
        meta.algorithm
            .and_then(Algorithm::from_byte)
            .filter(|a| a.is_symmetric())
            .ok_or_else(|| {
                Error::malformed("management key metadata without a symmetric algorithm")
            })
    }

    /// Mutual authentication: the card proves it knows the key too.
    pub fn authenticate(&mut self, key: &ManagementKey) -> Result<()> {
        let host_challenge = random_block(key.block_size())?;
        let step =
            |template| GeneralAuthenticate::new(key.algorithm(), AuthKey::Management, template);
        // Before sending: the card may accept the key even if we then reject its answer.
        self.logged_in();
        self.run(|x| {
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
        })
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
