//! How bytes reach a card: PC/SC readers, or a `card-sim` card in this process. The PIV
//! client runs over either through one small trait. [`Traced`] records any of them as a
//! trace; [`Replayed`] serves a trace back in process, as `card-sim replay` does through
//! pcscd.

#[cfg(feature = "sim")]
mod in_process;
mod pcsc;
#[cfg(feature = "sim")]
mod replayed;
mod traced;

#[cfg(feature = "sim")]
pub use in_process::InProcess;
pub use pcsc::{PcscTransport, list_readers};
#[cfg(feature = "sim")]
pub use replayed::Replayed;
pub use traced::Traced;

use crate::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("no smart card readers found; connect a reader, or start pcscd and card-sim")]
    NoReaders,
    #[error("no reader matches '{wanted}'; readers: {}", .readers.join(", "))]
    UnknownReader {
        wanted: String,
        readers: Vec<String>,
    },
    #[error("'{wanted}' matches several readers, name one of: {}", .readers.join(", "))]
    AmbiguousReader {
        wanted: String,
        readers: Vec<String>,
    },
    #[error("the reader '{0}' is gone; see the readers present with `smime-card readers`")]
    ReaderGone(String),
    #[error("no card in reader '{0}'; insert the card")]
    NoCard(String),
    #[error("the card was removed from '{0}'; insert it again")]
    CardRemoved(String),
    #[error("several PIV cards are present, choose one with --reader: {}", .0.join(", "))]
    SeveralCards(Vec<String>),
    #[error("no PIV card in any reader ({})", .0.join(", "))]
    NoPivCard(Vec<String>),
    /// The card was reset (or removed and re-inserted) under us; the transport has
    /// reconnected, and every login is lost. From [`Transport::transaction`] before any
    /// command, nothing was sent. From [`Link::transmit`], the command may have reached the
    /// card: pcscd refuses a handle the card was reset under before sending anything, but a
    /// card pulled out in the middle of a command may have acted on it.
    #[error("the card was reset by another program")]
    Reset,
    #[error("cannot reach the PC/SC service: {0}; is pcscd running?")]
    Service(::pcsc::Error),
    #[error("PC/SC error on '{reader}': {source}")]
    Pcsc {
        reader: String,
        source: ::pcsc::Error,
    },
    #[cfg(feature = "sim")]
    #[error(transparent)]
    Store(#[from] card_sim::StoreError),
    #[error("cannot write the trace {}: {source}", .path.display())]
    Trace {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// One exchange of bytes with the card.
pub trait Link {
    /// Sends one command APDU and returns the response APDU.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError>;
}

/// A card behind a reader.
pub trait Transport {
    /// The reader's name, for messages.
    fn name(&self) -> String;

    /// The card's answer to reset.
    fn atr(&self) -> Vec<u8>;

    /// Runs `work` with exclusive access to the card (a PC/SC transaction), so no other
    /// program's commands come between ours.
    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Link) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// One operation (however many transactions its retries take) begins. Allowances
    /// made for another program's reset hold for one operation, not beyond it.
    fn operation_begins(&mut self) {}

    /// Resets the card: every login is lost.
    fn reset(&mut self) -> Result<(), TransportError>;

    /// Whether the card is reset when this transport is closed, so that no login made
    /// through it outlives it (as yubico-piv-tool disconnects). Otherwise, as at first, the
    /// card is left as it is, and other programs sharing it keep their logins.
    fn reset_when_closed(&mut self, reset: bool);
}

/// A transport chosen at run time (PC/SC or in process, traced or not) is one type.
impl<T: Transport + ?Sized> Transport for Box<T> {
    fn name(&self) -> String {
        (**self).name()
    }

    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }

    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Link) -> Result<(), Error>,
    ) -> Result<(), Error> {
        (**self).transaction(work)
    }

    fn operation_begins(&mut self) {
        (**self).operation_begins();
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        (**self).reset()
    }

    fn reset_when_closed(&mut self, reset: bool) {
        (**self).reset_when_closed(reset);
    }
}
