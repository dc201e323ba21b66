//! PIN and PUK: verify, change, unblock. Values are padded with FF to 8 bytes on the
//! host, as SP 800-73-4 requires, and wiped from memory after use.

use apdu_spec::StatusWord;
use apdu_spec::piv::{Instruction, KeyRef};
use zeroize::Zeroizing;

use super::PivCard;
use super::exchange::command_no_data;
use crate::error::{Error, Result};
use crate::transport::Transport;

/// A PIN or PUK; its bytes are wiped when it is dropped and never printed.
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// 6 to 8 characters (PIV allows bytes other than FF; digits are customary).
    pub fn new(value: impl Into<Vec<u8>>) -> Result<Self> {
        let value = Zeroizing::new(value.into());
        if !(6..=8).contains(&value.len()) || value.contains(&apdu_spec::piv::reference_data::PAD) {
            return Err(Error::InvalidArgument(
                "a PIN or PUK has 6 to 8 characters".into(),
            ));
        }
        Ok(Self(value))
    }

    pub(super) fn padded(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(apdu_spec::piv::reference_data::pad(&self.0).to_vec())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// The status of a failed PIN or PUK check as an error.
pub(super) fn wrong(sw: StatusWord, key: KeyRef, command: &'static str) -> Error {
    let puk = key == KeyRef::PUK;
    match (sw.tries_left(), sw) {
        (Some(tries_left), _) if puk => Error::WrongPuk { tries_left },
        (Some(tries_left), _) => Error::WrongPin { tries_left },
        (None, StatusWord::AUTH_METHOD_BLOCKED) if puk => Error::PukBlocked,
        (None, StatusWord::AUTH_METHOD_BLOCKED) => Error::PinBlocked,
        (None, StatusWord::CONDITIONS_NOT_SATISFIED) => Error::UnacceptableNewValue,
        (None, sw) => Error::from_status(command, sw),
    }
}

impl<T: Transport> PivCard<T> {
    /// VERIFY the PIN.
    pub fn verify_pin(&mut self, pin: &Secret) -> Result<()> {
        let data = pin.padded();
        self.run(|x| {
            let r = x.send(command_no_data(
                Instruction::Verify,
                0x00,
                KeyRef::PIN.0,
                data.to_vec(),
            ))?;
            if r.sw.is_success() {
                Ok(())
            } else {
                Err(wrong(r.sw, KeyRef::PIN, "VERIFY"))
            }
        })?;
        self.login_restored();
        Ok(())
    }

    /// The PIN tries left, without spending one (VERIFY without data). `None` when the
    /// PIN is verified in this session (the card then does not tell).
    pub fn pin_tries_left(&mut self) -> Result<Option<u8>> {
        self.run(|x| {
            let r = x.send(command_no_data(
                Instruction::Verify,
                0x00,
                KeyRef::PIN.0,
                vec![],
            ))?;
            match (r.sw, r.sw.tries_left()) {
                (StatusWord::SUCCESS, _) => Ok(None),
                (_, Some(n)) => Ok(Some(n)),
                (StatusWord::AUTH_METHOD_BLOCKED, _) => Ok(Some(0)),
                (sw, None) => Err(Error::from_status("VERIFY", sw)),
            }
        })
    }

    /// Forgets the PIN login (YubiKey 5.4.3+; elsewhere a card reset does it).
    pub fn log_out(&mut self) -> Result<()> {
        let supported = self.run(|x| {
            let r = x.send(command_no_data(
                Instruction::Verify,
                0xFF,
                KeyRef::PIN.0,
                vec![],
            ))?;
            Ok(r.sw.is_success())
        })?;
        if supported {
            Ok(())
        } else {
            self.reset_connection()
        }
    }

    pub fn change_pin(&mut self, current: &Secret, new: &Secret) -> Result<()> {
        self.change_reference(KeyRef::PIN, current, new)
    }

    pub fn change_puk(&mut self, current: &Secret, new: &Secret) -> Result<()> {
        self.change_reference(KeyRef::PUK, current, new)
    }

    fn change_reference(&mut self, key: KeyRef, current: &Secret, new: &Secret) -> Result<()> {
        let data = Zeroizing::new([current.padded().as_slice(), new.padded().as_slice()].concat());
        self.run(|x| {
            let r = x.send(command_no_data(
                Instruction::ChangeReferenceData,
                0x00,
                key.0,
                data.to_vec(),
            ))?;
            if r.sw.is_success() {
                Ok(())
            } else {
                Err(wrong(r.sw, key, "CHANGE REFERENCE DATA"))
            }
        })
    }

    /// RESET RETRY COUNTER: the PUK sets a new PIN and unblocks it.
    pub fn unblock_pin(&mut self, puk: &Secret, new_pin: &Secret) -> Result<()> {
        let data = Zeroizing::new([puk.padded().as_slice(), new_pin.padded().as_slice()].concat());
        self.run(|x| {
            let r = x.send(command_no_data(
                Instruction::ResetRetryCounter,
                0x00,
                KeyRef::PIN.0,
                data.to_vec(),
            ))?;
            if r.sw.is_success() {
                Ok(())
            } else {
                Err(wrong(r.sw, KeyRef::PUK, "RESET RETRY COUNTER"))
            }
        })
    }

    /// YubiKey's SET PIN RETRIES (needs the management key and the PIN); PIN and PUK go
    /// back to their defaults.
    pub fn set_pin_retries(&mut self, pin_tries: u8, puk_tries: u8) -> Result<()> {
        if !self.features().yubikey() {
            return Err(Error::Unsupported("SET PIN RETRIES"));
        }
        self.run(|x| {
            x.expect(
                "SET PIN RETRIES",
                command_no_data(Instruction::SetPinRetries, pin_tries, puk_tries, vec![]),
            )?;
            Ok(())
        })
    }
}
