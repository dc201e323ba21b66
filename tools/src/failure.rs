//! What the user reads when a command fails: the error in words, what to do about it, and
//! the exit code (documented in `--help`).

use host_driver::ca::CaError;
use host_driver::smime::decrypt::DecryptError;
use host_driver::smime::encrypt::EncryptError;
use host_driver::{Error, TransportError};

/// A mistake in how the command was called or in a value given to it (exit code 2).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A refusal explained by the CLI itself, with what to do instead (exit code 1).
#[derive(Debug)]
pub struct Advised {
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for Advised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Advised {}

pub const OTHER: u8 = 1;
pub const USAGE: u8 = 2;
pub const NO_CARD: u8 = 3;
pub const PIN: u8 = 4;
pub const MANAGEMENT_KEY: u8 = 5;
pub const UNSUPPORTED: u8 = 6;
pub const BAD_SIGNATURE: u8 = 7;
pub const NOT_DECRYPTED: u8 = 8;

/// A failure, explained.
#[derive(Debug, PartialEq, Eq)]
pub struct Explained {
    pub code: u8,
    pub message: String,
    pub hint: Option<String>,
}

const USE_ANOTHER_CARD: &str = "name a reader with --reader NAME (see `smime-card readers`), or use a simulated card with --sim FILE";

/// Explains `err`: the context the command added, then the first error it recognises.
pub fn explain(err: &anyhow::Error) -> Explained {
    let mut context = Vec::new();
    for cause in err.chain() {
        let found = if let Some(e) = cause.downcast_ref::<Error>() {
            Some(card_error(e))
        } else if let Some(e) = cause.downcast_ref::<TransportError>() {
            Some(transport_error(e))
        } else if let Some(e) = cause.downcast_ref::<CaError>() {
            refused_by_ca(e)
        } else if let Some(e) = cause.downcast_ref::<EncryptError>() {
            refused_recipient(e)
        } else if let Some(bad) = cause.downcast_ref::<crate::mail::BadSignature>() {
            Some((BAD_SIGNATURE, bad.to_string(), None))
        } else if let Some(e) = cause.downcast_ref::<DecryptError>() {
            decrypt_error(e)
        } else if let Some(a) = cause.downcast_ref::<Advised>() {
            Some((OTHER, a.message.clone(), Some(a.hint.clone())))
        } else {
            cause
                .downcast_ref::<Usage>()
                .map(|u| (USAGE, u.0.clone(), None))
        };
        if let Some((code, message, hint)) = found {
            context.push(message);
            return Explained {
                code,
                message: context.join(": "),
                hint,
            };
        }
        context.push(cause.to_string());
    }
    Explained {
        code: OTHER,
        message: format!("{err:#}"),
        hint: None,
    }
}

pub use host_driver::error::tries;

fn card_error(e: &Error) -> (u8, String, Option<String>) {
    let pin_blocked = || {
        (
            PIN,
            "the PIN is blocked".to_string(),
            Some("unblock it with `smime-card card unblock-pin` (needs the PUK)".to_string()),
        )
    };
    let puk_blocked = || {
        (
            PIN,
            "the PUK is blocked".to_string(),
            Some(
                "the PIN can no longer be unblocked; once the PIN is blocked too, \
                 `smime-card card reset` restores the factory PIN, PUK and management key \
                 and erases every key and certificate"
                    .to_string(),
            ),
        )
    };
    match e {
        Error::Transport(t) => transport_error(t),
        Error::WrongPin { tries_left: 0 } | Error::PinBlocked => pin_blocked(),
        Error::WrongPin { tries_left } => (
            PIN,
            format!("wrong PIN, {} left", tries(*tries_left)),
            Some(format!(
                "after {} more wrong PIN{} the PIN is blocked",
                tries_left,
                if *tries_left == 1 { "" } else { "s" }
            )),
        ),
        Error::WrongPuk { tries_left: 0 } | Error::PukBlocked => puk_blocked(),
        Error::WrongPuk { tries_left } => (
            PIN,
            format!("wrong PUK, {} left", tries(*tries_left)),
            Some(format!(
                "after {} more wrong PUK{} the PUK is blocked",
                tries_left,
                if *tries_left == 1 { "" } else { "s" }
            )),
        ),
        Error::LoginLost => (PIN, e.to_string(), Some("run the command again".into())),
        Error::UnacceptableNewValue => (USAGE, e.to_string(), None),
        Error::WrongManagementKey | Error::WrongManagementKeyOrNoTouch => (
            MANAGEMENT_KEY,
            e.to_string(),
            Some(
                "give the card's management key with --mgmt-key-env NAME, --mgmt-key-file FILE \
                 or --mgmt-key-prompt (without them the factory key is tried)"
                    .into(),
            ),
        ),
        Error::NoTouch { .. } => (
            OTHER,
            e.to_string(),
            Some(
                "run the command again and touch the card when asked; a card served by \
                 `card-sim serve` is touched with `card-sim touch --state FILE`"
                    .into(),
            ),
        ),
        Error::NotPiv(_) => (NO_CARD, e.to_string(), Some(USE_ANOTHER_CARD.into())),
        Error::Unsupported(_) => (UNSUPPORTED, e.to_string(), None),
        Error::SecurityStatusNotSatisfied
        | Error::NotFound(_)
        | Error::Card { .. }
        | Error::NotSaved { .. }
        | Error::CheckNotSaved { .. }
        | Error::Malformed(_)
        | Error::InvalidArgument(_)
        | Error::ResetRefused
        | Error::Attestation(_)
        | Error::Padding(_) => (OTHER, e.to_string(), None),
    }
}

/// A certificate given as a recipient that cannot be one is a value given wrongly.
/// A request or a value the CA refuses (exit code 2); `None` when the cause lies further
/// down (the card's own error, or reading and writing files).
fn refused_by_ca(e: &CaError) -> Option<(u8, String, Option<String>)> {
    match e {
        CaError::Io { .. } | CaError::Signing(_) | CaError::Build(_) => None,
        CaError::Exists(_) => Some((
            OTHER,
            e.to_string(),
            Some("choose another --dir".to_string()),
        )),
        _ => Some((USAGE, e.to_string(), None)),
    }
}

fn refused_recipient(e: &EncryptError) -> Option<(u8, String, Option<String>)> {
    match e {
        EncryptError::Recipient { .. }
        | EncryptError::Certificate(_)
        | EncryptError::NoRecipients => Some((USAGE, e.to_string(), None)),
        _ => None,
    }
}

/// A message that cannot be decrypted (exit code 8); `None` when the cause lies further
/// down (the card's own error, or reading and writing files).
fn decrypt_error(e: &DecryptError) -> Option<(u8, String, Option<String>)> {
    let hint = match e {
        DecryptError::Key(_) | DecryptError::Io(_) => return None,
        DecryptError::NotRecipient { .. } => Some(
            "decrypt it with the card that holds one of those keys (a retired key needs its \
             certificate in its slot, 82-95)"
                .to_string(),
        ),
        DecryptError::NotEncrypted(_)
        | DecryptError::Malformed(_)
        | DecryptError::Unsupported(_)
        | DecryptError::Failed => None,
    };
    Some((NOT_DECRYPTED, e.to_string(), hint))
}

fn transport_error(e: &TransportError) -> (u8, String, Option<String>) {
    match e {
        TransportError::NoReaders
        | TransportError::NoPivCard(_)
        | TransportError::SeveralCards(_) => {
            (NO_CARD, e.to_string(), Some(USE_ANOTHER_CARD.into()))
        }
        TransportError::Service(_) => (
            NO_CARD,
            e.to_string(),
            Some("start pcscd, or use a simulated card with --sim FILE".into()),
        ),
        TransportError::UnknownReader { .. }
        | TransportError::ReaderGone(_)
        | TransportError::AmbiguousReader { .. }
        | TransportError::NoCard(_)
        | TransportError::CardRemoved(_)
        | TransportError::Pcsc { .. } => (NO_CARD, e.to_string(), None),
        TransportError::Reset => (OTHER, e.to_string(), Some("run the command again".into())),
        TransportError::Store(_) | TransportError::Trace { .. } => (OTHER, e.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn explained(e: impl Into<anyhow::Error>) -> Explained {
        explain(&e.into())
    }

    #[test]
    fn pin_errors_say_how_many_tries_are_left_or_how_to_unblock() {
        let one = explained(Error::WrongPin { tries_left: 1 });
        assert_eq!(
            (one.code, one.message.as_str()),
            (4, "wrong PIN, 1 try left")
        );
        let blocked = explained(Error::WrongPin { tries_left: 0 });
        assert_eq!(blocked, explained(Error::PinBlocked));
        assert!(
            blocked
                .hint
                .unwrap()
                .contains("smime-card card unblock-pin")
        );
        assert!(
            explained(Error::PukBlocked)
                .hint
                .unwrap()
                .contains("card reset")
        );
    }

    #[test]
    fn exit_codes_follow_the_kind_of_failure() {
        let code = |e: Error| explained(e).code;
        assert_eq!(code(Error::WrongManagementKey), 5);
        assert_eq!(code(Error::Unsupported("RESET")), 6);
        assert_eq!(code(TransportError::NoReaders.into()), 3);
        assert_eq!(code(Error::NotPiv(apdu_spec::StatusWord::NOT_FOUND)), 3);
        assert_eq!(code(Error::Malformed("x".into())), 1);
        assert_eq!(explained(Usage("bad".into())).code, 2);
        assert_eq!(explained(std::io::Error::other("disk")).code, 1);
        let refused = EncryptError::Recipient {
            subject: "CN=Bob".into(),
            reason: "its key usage lacks keyEncipherment".into(),
        };
        assert_eq!(explained(refused).code, 2);
        assert_eq!(explained(EncryptError::TooLarge).code, 1);
        assert_eq!(explained(DecryptError::Failed).code, 8);
        let wrong_pin = DecryptError::Key(Box::new(Error::WrongPin { tries_left: 2 }));
        let e = explained(anyhow::Error::from(wrong_pin).context("decrypting mail.eml"));
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                4,
                "decrypting mail.eml: the key could not decrypt: wrong PIN, 2 tries left"
            )
        );
    }

    #[test]
    fn no_touch_says_to_touch_the_card_and_how_for_a_simulated_one() {
        let e = explained(Error::NoTouch {
            slot: apdu_spec::piv::Slot::Signature,
            certain: true,
        });
        assert_eq!(e.code, 1);
        assert!(e.message.contains("touch the card"), "{}", e.message);
        assert!(e.hint.unwrap().contains("card-sim touch --state FILE"));
    }

    #[test]
    fn context_comes_before_the_explained_error() {
        let err: anyhow::Result<()> = Err(Error::WrongManagementKey.into());
        let e = explain(
            &err.context("authenticating with the factory default management key")
                .unwrap_err(),
        );
        assert_eq!(e.code, 5);
        assert_eq!(
            e.message,
            "authenticating with the factory default management key: wrong management key"
        );
    }
}
