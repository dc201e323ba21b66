//! A `card-sim` card in this process: no reader, no daemon. The card runs behind
//! card-sim's plan of faults ([`Control`]), so tests reach the error paths a reader
//! shows (a card pulled, a status word, a broken or late answer, a power cut) through
//! the same transport the tools use.

use std::path::Path;

use card_sim::control::{Outcome, Presence};
use card_sim::{Card, CardConfig, Control, ControlledCard};

use super::{Link, Transport, TransportError};
use crate::error::Error;

pub struct InProcess {
    card: ControlledCard,
    name: String,
}

impl InProcess {
    /// `card` behind a plan of faults of its own, which touches the card's own button; its
    /// store is out of a power cut's reach.
    pub fn new(card: Card, name: impl Into<String>) -> Self {
        let control = Control::new(card.button());
        Self::controlled(ControlledCard::new(card, control), name)
    }

    /// A card already behind a plan of faults.
    pub fn controlled(card: ControlledCard, name: impl Into<String>) -> Self {
        Self {
            card,
            name: name.into(),
        }
    }

    /// The card whose state is in `path` (created factory-fresh when missing).
    pub fn open(path: &Path) -> Result<Self, TransportError> {
        let card = ControlledCard::open(path, &CardConfig::default(), Control::default())?;
        Ok(Self::controlled(
            card,
            format!("card-sim {}", path.display()),
        ))
    }

    /// A factory-fresh card that lives in memory.
    pub fn in_memory(config: &CardConfig) -> Result<Self, TransportError> {
        let card = ControlledCard::in_memory(config, Control::default())
            .map_err(|e| TransportError::Store(e.into()))?;
        Ok(Self::controlled(card, "card-sim (in memory)"))
    }

    pub fn card(&self) -> &Card {
        self.card.card()
    }

    /// The card's plan of faults; clone it to plan faults while the card is in use.
    pub fn control(&self) -> &Control {
        self.card.control()
    }

    fn removed(&self) -> TransportError {
        TransportError::CardRemoved(self.name.clone())
    }
}

/// The card's commands within one transaction, as a reader carries them.
struct ControlledLink<'a> {
    card: &'a mut ControlledCard,
    name: &'a str,
}

impl Link for ControlledLink<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self.card.exchange(apdu) {
            Outcome::Answer { response, after } => {
                std::thread::sleep(after);
                Ok(response.to_vec())
            }
            // The card acted on the command and came back at once, logged out: as pcscd
            // reports a card reset under a command.
            Outcome::Broken { after, .. } => {
                std::thread::sleep(after);
                Err(TransportError::Reset)
            }
            Outcome::Removed => Err(TransportError::CardRemoved(self.name.to_owned())),
        }
    }
}

impl Transport for InProcess {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn atr(&self) -> Vec<u8> {
        self.card.card().atr().to_vec()
    }

    /// A card out of the reader is [`TransportError::CardRemoved`]; the first transaction
    /// once it is back is [`TransportError::Reset`] before any command, as PC/SC reports a
    /// card re-inserted under a handle, so the caller learns its logins are gone.
    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Link) -> Result<(), Error>,
    ) -> Result<(), Error> {
        match self.card.presence() {
            Presence::Absent => Err(self.removed().into()),
            Presence::Back => Err(TransportError::Reset.into()),
            Presence::Present => work(&mut ControlledLink {
                card: &mut self.card,
                name: &self.name,
            }),
        }
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        if !self.card.control().is_present() {
            return Err(self.removed());
        }
        self.card.card_mut().reset();
        Ok(())
    }

    /// The card lives and dies with this transport: nothing outlives it to reset.
    fn reset_when_closed(&mut self, _reset: bool) {}
}
