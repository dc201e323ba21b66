//! A `card-sim` card in this process: no reader, no daemon.

use std::path::Path;

use card_sim::{Card, CardConfig};

use super::{Link, Transport, TransportError};
use crate::error::Error;

pub struct InProcess {
    card: Card,
    name: String,
}

impl InProcess {
    pub fn new(card: Card, name: impl Into<String>) -> Self {
        Self {
            card,
            name: name.into(),
        }
    }

    /// The card whose state is in `path` (created factory-fresh when missing).
    pub fn open(path: &Path) -> Result<Self, TransportError> {
        let card = Card::open(path, &CardConfig::default())?;
        Ok(Self::new(card, format!("card-sim {}", path.display())))
    }

    /// A factory-fresh card that lives in memory.
    pub fn in_memory(config: &CardConfig) -> Result<Self, TransportError> {
        let card = Card::in_memory(config).map_err(|e| TransportError::Store(e.into()))?;
        Ok(Self::new(card, "card-sim (in memory)"))
    }

    pub fn card(&self) -> &Card {
        &self.card
    }
}

impl Link for Card {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(Card::transmit(self, apdu))
    }
}

impl Transport for InProcess {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn atr(&self) -> Vec<u8> {
        self.card.atr().to_vec()
    }

    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Link) -> Result<(), Error>,
    ) -> Result<(), Error> {
        work(&mut self.card)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.card.reset();
        Ok(())
    }

    /// The card lives and dies with this transport: nothing outlives it to reset.
    fn reset_when_closed(&mut self, _reset: bool) {}
}
