//! What can go wrong talking to a card, as typed errors a CLI can turn into advice.

use apdu_spec::StatusWord;
use apdu_spec::piv::Slot;
use apdu_spec::piv::reference_data::Credential;

use crate::escape::Escaped;
use crate::transport::TransportError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("wrong PIN, {} left", tries(*.tries_left))]
    WrongPin { tries_left: u8 },
    #[error("wrong PUK, {} left", tries(*.tries_left))]
    WrongPuk { tries_left: u8 },
    #[error("the PIN is blocked")]
    PinBlocked,
    #[error("the PUK is blocked")]
    PukBlocked,
    #[error("the new value is not acceptable to the card (6 to 8 characters)")]
    UnacceptableNewValue,
    #[error(
        "the card refused: security status not satisfied (verify the PIN or authenticate with the management key first)"
    )]
    SecurityStatusNotSatisfied,
    #[error("the card resets only when both the PIN and the PUK are blocked")]
    ResetRefused,
    #[error("wrong management key")]
    WrongManagementKey,
    /// The card refused the management key, which needs a touch: a YubiKey answers a wrong
    /// key and a right one nobody touched for alike (6982).
    #[error(
        "wrong management key, or the card was not touched: the management key needs a touch; touch the card while it blinks"
    )]
    WrongManagementKeyOrNoTouch,
    /// The card refused a private-key operation (6982) for want of a touch. `certain`: the
    /// key's metadata says it needs one and the PIN was not wanting. Otherwise a missing
    /// touch is only the likeliest cause: the card does not tell the key's touch policy and
    /// refused right after accepting the PIN in the same operation.
    #[error("{}", no_touch(*.slot, *.certain))]
    NoTouch { slot: Slot, certain: bool },
    #[error(
        "the card was reset by another program, so its PIN login was lost; verify the PIN again"
    )]
    LoginLost,
    #[error("not a PIV card (SELECT of the PIV application answered {0})")]
    NotPiv(StatusWord),
    #[error("{0} is not on the card")]
    NotFound(String),
    #[error("this card does not support {0}")]
    Unsupported(&'static str),
    /// 6581: the card could not write its memory. A PIV card writes a change whole or not
    /// at all, so the card is as it was before the command.
    #[error(
        "{command} failed: the card could not write its memory (6581, memory failure); nothing on the card changed"
    )]
    NotSaved { command: &'static str },
    /// 6581 on a check of the PIN or PUK (VERIFY, CHANGE REFERENCE DATA, RESET RETRY
    /// COUNTER). The card spends a try and saves it before it compares, and gives it back
    /// only by a second save: either may be the one that failed, so the try may be gone.
    #[error(
        "{command} failed: the card could not write its memory (6581, memory failure); the {} check may have spent a try, and nothing else was saved",
        credential_name(*.credential)
    )]
    CheckNotSaved {
        command: &'static str,
        credential: Credential,
    },
    #[error("{command} failed: the card answered {sw}")]
    Card {
        command: &'static str,
        sw: StatusWord,
    },
    #[error("malformed answer from the card: {0}")]
    Malformed(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// Why the card's attestation does not hold; it may quote names from certificates,
    /// so it is shown escaped.
    #[error("attestation check failed: {}", Escaped(.0))]
    Attestation(String),
    #[error("RSA padding: {0}")]
    Padding(#[from] crate::rsa_padding::PaddingError),
}

fn no_touch(slot: Slot, certain: bool) -> String {
    if certain {
        format!(
            "the card was not touched: the key in slot {slot} needs a touch; touch the card \
             while it blinks (a YubiKey waits 15 seconds)"
        )
    } else {
        format!(
            "the card refused the key in slot {slot}: no touch, or the PIN was not accepted; \
             if the key needs a touch, touch the card while it blinks"
        )
    }
}

fn credential_name(credential: Credential) -> &'static str {
    match credential {
        Credential::Pin => "PIN",
        Credential::Puk => "PUK",
    }
}

/// "1 try", "2 tries".
pub fn tries(n: u8) -> String {
    if n == 1 {
        "1 try".into()
    } else {
        format!("{n} tries")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error for a status word the command's own handling did not expect.
    pub fn from_status(command: &'static str, sw: StatusWord) -> Self {
        match sw {
            StatusWord::SECURITY_STATUS_NOT_SATISFIED => Self::SecurityStatusNotSatisfied,
            StatusWord::INS_NOT_SUPPORTED => Self::Unsupported(command),
            StatusWord::MEMORY_FAILURE => Self::NotSaved { command },
            _ => Self::Card { command, sw },
        }
    }

    pub(crate) fn malformed(what: impl std::fmt::Display) -> Self {
        Self::Malformed(what.to_string())
    }
}
