//! PIN and PUK: verify, change, unblock. Values are padded with FF to 8 bytes on the
//! host, as SP 800-73-4 requires, and wiped from memory after use.

use apdu_spec::StatusWord;
use apdu_spec::piv::command::{ChangeReferenceData, ResetRetryCounter, SetPinRetries, Verify};
use apdu_spec::piv::reference_data::{Credential, PAD, PaddedPin};
use zeroize::Zeroizing;

use super::PivCard;
use crate::error::{Error, Result};
use crate::transport::Transport;

/// A PIN or PUK; its bytes are wiped when it is dropped and never printed.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// 6 to 8 characters (PIV allows bytes other than FF; digits are customary).
    pub fn new(value: impl Into<Vec<u8>>) -> Result<Self> {
        let value = Zeroizing::new(value.into());
        if !(6..=8).contains(&value.len()) || value.contains(&PAD) {
            return Err(Error::InvalidArgument(
                "a PIN or PUK has 6 to 8 characters".into(),
            ));
        }
        Ok(Self(value))
    }

    /// Whether this is `value` (compared in constant time).
    pub fn is(&self, value: &[u8]) -> bool {
        self.0.len() == value.len() && bool::from(subtle::ConstantTimeEq::ct_eq(&self.0[..], value))
    }

    pub(super) fn padded(&self) -> PaddedPin {
        PaddedPin::pad(&self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// The status of a failed PIN or PUK check as an error.
pub(super) fn wrong(sw: StatusWord, checked: Credential, command: &'static str) -> Error {
    let puk = checked == Credential::Puk;
    match (sw.tries_left(), sw) {
        (Some(tries_left), _) if puk => Error::WrongPuk { tries_left },
        (Some(tries_left), _) => Error::WrongPin { tries_left },
        (None, StatusWord::AUTH_METHOD_BLOCKED) if puk => Error::PukBlocked,
        (None, StatusWord::AUTH_METHOD_BLOCKED) => Error::PinBlocked,
        (None, StatusWord::CONDITIONS_NOT_SATISFIED) => Error::UnacceptableNewValue,
        (None, StatusWord::MEMORY_FAILURE) => Error::CheckNotSaved {
            command,
            credential: checked,
        },
        (None, sw) => Error::from_status(command, sw),
    }
}

impl<T: Transport> PivCard<T> {
    /// VERIFY the PIN.
    pub fn verify_pin(&mut self, pin: &Secret) -> Result<()> {
        let verify = Verify::Pin(pin.padded());
        // Before sending: the card may log in even if its answer never reaches us.
        self.logged_in();
        self.run(|x| {
            let r = x.send(verify.clone())?;
            if r.sw.is_success() {
                Ok(())
            } else {
                Err(wrong(r.sw, Credential::Pin, "VERIFY"))
            }
        })?;
        self.login_restored();
        Ok(())
    }

    /// The PIN tries left, without spending one (VERIFY without data). `None` when the
    /// PIN is verified in this session (the card then does not tell).
    pub fn pin_tries_left(&mut self) -> Result<Option<u8>> {
        self.run(|x| {
            let r = x.send(Verify::Status)?;
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
        let supported = self.run(|x| Ok(x.send(Verify::LogOut)?.sw.is_success()))?;
        if supported {
            Ok(())
        } else {
            self.reset_connection()
        }
    }

    pub fn change_pin(&mut self, current: &Secret, new: &Secret) -> Result<()> {
        self.change_reference(Credential::Pin, current, new)
    }

    pub fn change_puk(&mut self, current: &Secret, new: &Secret) -> Result<()> {
        self.change_reference(Credential::Puk, current, new)
    }

    fn change_reference(
        &mut self,
        credential: Credential,
        current: &Secret,
        new: &Secret,
    ) -> Result<()> {
        let change = ChangeReferenceData {
            credential,
            current: current.padded(),
            new: new.padded(),
        };
        self.run(|x| {
            let r = x.send(change.clone())?;
            if r.sw.is_success() {
                Ok(())
            } else {
                Err(wrong(r.sw, credential, "CHANGE REFERENCE DATA"))
            }
        })
    }

    /// RESET RETRY COUNTER: the PUK sets a new PIN and unblocks it.
    pub fn unblock_pin(&mut self, puk: &Secret, new_pin: &Secret) -> Result<()> {
        let reset = ResetRetryCounter {
            puk: puk.padded(),
            new_pin: new_pin.padded(),
        };
        self.run(|x| {
            let r = x.send(reset.clone())?;
            if r.sw.is_success() {
                Ok(())
            } else {
                Err(wrong(r.sw, Credential::Puk, "RESET RETRY COUNTER"))
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
                SetPinRetries {
                    pin_tries,
                    puk_tries,
                },
            )?;
            Ok(())
        })
    }
}
