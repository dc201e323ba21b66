//! Which PC/SC readers hold a PIV card, and opening the card when there is exactly one.
//!
//! Probing only looks: it selects the PIV application in a shared connection, asks for
//! the version and serial, and disconnects leaving the card as it was (no reset), so other
//! programs using a card keep their PIN logins.

use crate::error::{Error, Result};
use crate::piv::{Features, PivCard};
use crate::transport::{PcscTransport, TransportError, list_readers};

/// What a reader holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderContent {
    /// No card in the reader.
    Empty,
    /// A card that answered the PIV application's SELECT.
    Piv(Features),
    /// A card without a PIV application.
    NotPiv,
    /// The reader or card could not be asked (busy, mute, gone): why.
    Unreachable(String),
}

/// One reader and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSurvey {
    pub name: String,
    pub content: ReaderContent,
}

impl ReaderSurvey {
    pub fn has_piv_card(&self) -> bool {
        matches!(self.content, ReaderContent::Piv(_))
    }
}

/// Every reader pcscd knows, with what it holds.
pub fn survey() -> Result<Vec<ReaderSurvey>, TransportError> {
    Ok(list_readers()?
        .into_iter()
        .map(|name| {
            let content = probe(&name);
            ReaderSurvey { name, content }
        })
        .collect())
}

/// The reader when exactly one holds a PIV card; otherwise an error that names the
/// readers ([`TransportError::NoReaders`], [`TransportError::NoPivCard`] or
/// [`TransportError::SeveralCards`]). The caller connects to it, through whatever
/// transport it wraps around PC/SC.
pub fn only_piv_reader() -> Result<String> {
    let readers = survey()?;
    let piv: Vec<&ReaderSurvey> = readers.iter().filter(|r| r.has_piv_card()).collect();
    match piv.as_slice() {
        [one] => Ok(one.name.clone()),
        [] if readers.is_empty() => Err(TransportError::NoReaders.into()),
        [] => Err(TransportError::NoPivCard(readers.into_iter().map(|r| r.name).collect()).into()),
        several => Err(TransportError::SeveralCards(
            several.iter().map(|r| r.name.clone()).collect(),
        )
        .into()),
    }
}

/// What the reader named exactly `name` holds, looked at as [`survey`] looks.
pub fn probe(name: &str) -> ReaderContent {
    let transport = match PcscTransport::connect_named(name) {
        Ok(t) => t,
        Err(TransportError::NoCard(_) | TransportError::CardRemoved(_)) => {
            return ReaderContent::Empty;
        }
        Err(e) => return ReaderContent::Unreachable(e.to_string()),
    };
    // Dropping the transport disconnects leaving the card as it was.
    match PivCard::open(transport) {
        Ok(card) => ReaderContent::Piv(card.features().clone()),
        Err(Error::NotPiv(_)) => ReaderContent::NotPiv,
        Err(e) => ReaderContent::Unreachable(e.to_string()),
    }
}
