//! `PivCard`: a PIV client for any card. It speaks SP 800-73-4 first and uses YubiKey's
//! instructions only where the card answers them, detected when the card is opened.

mod attestation;
mod exchange;
mod keys;
mod management;
mod objects;
pub mod operations;
mod pin;
mod pin_protected;

pub use attestation::AttestationInfo;
pub use keys::{KeyInfo, KeySource};
pub use management::ManagementAlgorithm;
pub(crate) use management::random_block;
pub use objects::{Chuid, KeyHistory};
pub use pin::Secret;

use apdu_spec::piv::command::{GetMetadata, GetSerial, GetVersion, Select};
use apdu_spec::piv::templates::ApplicationTemplate;
use apdu_spec::piv::{KeyRef, Metadata};
use apdu_spec::{StatusWord, atr};
use log::debug;

use crate::error::{Error, Result};
use crate::transport::{Transport, TransportError};
use exchange::{Exchange, SecretSent};

/// What the card turned out to support.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// The firmware version, from YubiKey's GET VERSION.
    pub version: Option<[u8; 3]>,
    /// The serial number, from YubiKey's GET SERIAL.
    pub serial: Option<u32>,
    /// The algorithms SELECT's answer lists (empty when the card lists none).
    pub algorithms: Vec<u8>,
    /// The application label SELECT's answer carries.
    pub label: Option<String>,
    /// Whether the ATR advertises extended Lc/Le.
    pub extended_apdus: bool,
}

impl Features {
    fn at_least(&self, version: [u8; 3]) -> bool {
        self.version.is_some_and(|v| v >= version)
    }

    /// YubiKey's GET METADATA (firmware 5.3 and later), by the version: a card may still not
    /// answer it, or answer in part (see [`PivCard::metadata_if_answered`]).
    pub fn metadata(&self) -> bool {
        self.at_least([5, 3, 0])
    }

    /// AES management keys (YubiKey 5.4 and later).
    pub fn aes_management_key(&self) -> bool {
        self.at_least([5, 4, 0])
    }

    /// YubiKey's ATTEST (4.3 and later).
    pub fn attestation(&self) -> bool {
        self.at_least([4, 3, 0])
    }

    /// YubiKey's IMPORT KEY, SET MANAGEMENT KEY, SET PIN RETRIES and RESET.
    pub fn yubikey(&self) -> bool {
        self.version.is_some()
    }

    /// YubiKey's MOVE and DELETE KEY (5.7 and later).
    pub fn move_key(&self) -> bool {
        self.at_least([5, 7, 0])
    }
}

/// How often one operation is tried when the card keeps being reset under it. Each reset
/// is another program ending its session, so a few tries see through any burst of them;
/// a card reset without end is reported rather than chased.
const ATTEMPTS: usize = 8;

pub struct PivCard<T: Transport> {
    transport: T,
    features: Features,
    /// The card was reset under us since the PIN was last verified.
    login_lost: bool,
    /// Whether a login (PIN or management key) was made through this value.
    logged_in: bool,
    /// Whether logins may outlive this value (see [`PivCard::keep_session`]).
    keep_session: bool,
}

impl<T: Transport> PivCard<T> {
    /// Selects the PIV application and learns what the card supports.
    pub fn open(transport: T) -> Result<Self> {
        let extended_apdus = atr::advertises_extended_length(&transport.atr());
        let mut card = Self {
            transport,
            features: Features {
                extended_apdus,
                ..Features::default()
            },
            login_lost: false,
            logged_in: false,
            keep_session: false,
        };
        let (apt, version, serial) = card.run(|x| {
            let apt = x.send(Select::piv())?;
            if !apt.sw.is_success() {
                return Err(Error::NotPiv(apt.sw));
            }
            let version = x.send(GetVersion)?;
            let serial = x.send(GetSerial)?;
            Ok((apt.data, version, serial))
        })?;
        // The APT is optional in practice; a card that answers SELECT with 9000 is PIV.
        if let Ok(apt) = ApplicationTemplate::parse(&apt) {
            card.features.algorithms = apt.algorithms;
            card.features.label = apt.label;
        }
        if let (StatusWord::SUCCESS, [a, b, c]) = (version.sw, version.data.as_slice()) {
            card.features.version = Some([*a, *b, *c]);
        }
        if let (StatusWord::SUCCESS, Ok(bytes)) =
            (serial.sw, <[u8; 4]>::try_from(serial.data.as_slice()))
        {
            card.features.serial = Some(u32::from_be_bytes(bytes));
        }
        Ok(card)
    }

    pub fn features(&self) -> &Features {
        &self.features
    }

    pub fn reader(&self) -> String {
        self.transport.name()
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Runs one operation in one transaction, after a SELECT (another program may have
    /// selected another application in between). If the card was reset under us before
    /// any PIN or PUK was sent, the operation is tried again on the reconnected card, up
    /// to [`ATTEMPTS`] times in all: programs sharing the card reset it whenever one of
    /// them closes after a login, and with several at work another reset can come before
    /// the retry. A PIN or PUK is never sent twice for one call: a reset after the card
    /// answered one is [`Error::LoginLost`] (the login it made is gone), a reset while one
    /// was on its way is [`TransportError::Reset`] (whether the card acted on it is
    /// unknown). An operation that lacks its login after a reset, now or later until the
    /// PIN is verified again, is likewise reported as [`Error::LoginLost`].
    pub(crate) fn run<R>(
        &mut self,
        mut op: impl FnMut(&mut Exchange<'_>) -> Result<R>,
    ) -> Result<R> {
        self.transport.operation_begins();
        let mut attempts = 0;
        let result = loop {
            attempts += 1;
            let (result, secret_sent) = self.attempt(&mut op);
            if !matches!(result, Err(Error::Transport(TransportError::Reset))) {
                break result;
            }
            self.login_lost = true;
            match secret_sent {
                SecretSent::Answered => break Err(Error::LoginLost),
                SecretSent::Possibly => break result,
                SecretSent::No if attempts == ATTEMPTS => break result,
                SecretSent::No => {}
            }
        };
        match result {
            Err(Error::SecurityStatusNotSatisfied) if self.login_lost => Err(Error::LoginLost),
            other => other,
        }
    }

    /// Lets the logins made through this value (PIN, management key) outlive it. By
    /// default the card is reset when the transport closes after any login, so no other
    /// program finds the card unlocked; a caller that hands the session on opts out here.
    pub fn keep_session(&mut self, keep: bool) {
        self.keep_session = keep;
        self.end_logins_on_close();
    }

    /// The PIN was verified again: the logins are what the caller knows them to be.
    pub(crate) fn login_restored(&mut self) {
        self.login_lost = false;
        self.logged_in();
    }

    /// A login was made: unless the caller keeps the session, it ends with the transport.
    pub(crate) fn logged_in(&mut self) {
        self.logged_in = true;
        self.end_logins_on_close();
    }

    fn end_logins_on_close(&mut self) {
        self.transport
            .reset_when_closed(self.logged_in && !self.keep_session);
    }

    /// One try of [`PivCard::run`], and how far a PIN or PUK got in it.
    fn attempt<R>(
        &mut self,
        op: &mut impl FnMut(&mut Exchange<'_>) -> Result<R>,
    ) -> (Result<R>, SecretSent) {
        let extended = self.features.extended_apdus;
        let mut out = None;
        let mut secret_sent = SecretSent::No;
        let mut pin_verified = false;
        let result = self.transport.transaction(&mut |link| {
            let mut x = Exchange {
                link,
                extended,
                secret_sent: SecretSent::No,
                pin_verified: false,
            };
            let select = x.send(Select::piv());
            let done = match select {
                Ok(select) if !select.sw.is_success() => Err(Error::NotPiv(select.sw)),
                Ok(_) => op(&mut x).map(|r| out = Some(r)),
                Err(e) => Err(e),
            };
            secret_sent = x.secret_sent;
            pin_verified = x.pin_verified;
            done
        });
        // A login this try made and no reset undid: what the card refuses now, it
        // refuses for another reason (a touch, a policy), not for a lost login.
        if pin_verified && !matches!(result, Err(Error::Transport(TransportError::Reset))) {
            self.login_lost = false;
        }
        let result = result
            .and_then(|()| out.ok_or_else(|| Error::malformed("the operation returned nothing")));
        (result, secret_sent)
    }

    /// Resets the card (every login is lost).
    pub fn reset_connection(&mut self) -> Result<()> {
        Ok(self.transport.reset()?)
    }

    /// GET METADATA for a PIN, the PUK, the management key or a key slot.
    pub fn metadata(&mut self, key: KeyRef) -> Result<Metadata> {
        if !self.features.metadata() {
            return Err(Error::Unsupported("GET METADATA"));
        }
        let data = self.run(|x| {
            let r = x.send(GetMetadata { key })?;
            match r.sw {
                StatusWord::SUCCESS => Ok(r.data),
                StatusWord::REFERENCE_DATA_NOT_FOUND => {
                    Err(Error::NotFound(format!("key {:02x}", key.0)))
                }
                sw => Err(Error::from_status("GET METADATA", sw)),
            }
        })?;
        Metadata::parse(&data).map_err(Error::malformed)
    }

    /// GET METADATA where the card answers it: `None` from a card without it (6D00, not a
    /// YubiKey), for a key it does not describe (6A88), or for an answer that is no use.
    /// Metadata is an optimisation: callers learn elsewhere what it does not say.
    pub fn metadata_if_answered(&mut self, key: KeyRef) -> Result<Option<Metadata>> {
        match self.metadata(key) {
            Ok(meta) => Ok(Some(meta)),
            Err(
                e @ (Error::Unsupported(_)
                | Error::NotFound(_)
                | Error::Malformed(_)
                | Error::SecurityStatusNotSatisfied
                | Error::NotSaved { .. }
                | Error::Card { .. }),
            ) => {
                debug!("no metadata for key {:02x}: {e}", key.0);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
