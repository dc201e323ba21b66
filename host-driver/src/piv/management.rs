//! Management-key authentication (mutual, GENERAL AUTHENTICATE on key 9B) and YubiKey's
//! SET MANAGEMENT KEY and RESET.

use apdu_spec::StatusWord;
use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::templates::{DynamicAuth, ManagementKeyData};
use apdu_spec::piv::{Algorithm, Instruction, KeyRef};
use subtle::ConstantTimeEq;

use super::PivCard;
use super::exchange::{command, command_no_data};
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
        let alg = key.algorithm().to_byte();
        let host_challenge = random_block(key.block_size())?;
        self.run(|x| {
            let step1 = DynamicAuth {
                witness: Some(vec![]),
                ..Default::default()
            };
            let r = x.send(command(
                Instruction::GeneralAuthenticate,
                alg,
                KeyRef::MANAGEMENT.0,
                step1.encode(),
            ))?;
            if !r.sw.is_success() {
                return Err(wrong_key_or(r.sw));
            }
            let encrypted = DynamicAuth::parse(&r.data)
                .ok()
                .and_then(|d| d.witness)
                .ok_or_else(|| Error::malformed("no witness"))?;
            let witness = key
                .decrypt(&encrypted)
                .ok_or_else(|| Error::malformed("witness of the wrong size"))?;
            let step2 = DynamicAuth {
                witness: Some(witness),
                challenge: Some(host_challenge.clone()),
                ..Default::default()
            };
            let r = x.send(command(
                Instruction::GeneralAuthenticate,
                alg,
                KeyRef::MANAGEMENT.0,
                step2.encode(),
            ))?;
            if !r.sw.is_success() {
                return Err(wrong_key_or(r.sw));
            }
            let answer = DynamicAuth::parse(&r.data)
                .ok()
                .and_then(|d| d.response)
                .ok_or_else(|| Error::malformed("no response"))?;
            let expected = key
                .encrypt(&host_challenge)
                .ok_or_else(|| Error::malformed("challenge"))?;
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
        let data = zeroize::Zeroizing::new(
            ManagementKeyData {
                algorithm: new.algorithm().to_byte(),
                key: new.key_bytes().to_vec(),
            }
            .encode(),
        );
        let p2 = if require_touch { 0xFE } else { 0xFF };
        self.run(|x| {
            x.expect(
                "SET MANAGEMENT KEY",
                command_no_data(Instruction::SetManagementKey, 0xFF, p2, data.to_vec()),
            )?;
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
            let r = x.send(command_no_data(Instruction::Reset, 0, 0, vec![]))?;
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
