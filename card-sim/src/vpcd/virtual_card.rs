//! What the vpcd link serves: a card, or whatever answers as one.

use crate::Card;
use crate::state::CardState;

/// A card as the reader sees it: power events and APDUs. [`Card`] is one; a recorded
/// session replayed, or a card whose session is being recorded, are others.
pub trait VirtualCard {
    /// The answer to reset.
    fn atr(&self) -> Vec<u8>;
    fn power_on(&mut self);
    fn power_off(&mut self);
    fn reset(&mut self);
    /// The response APDU to one command APDU.
    fn transmit(&mut self, command: &[u8]) -> Vec<u8>;
    /// Takes back `state`, the last one written whole, after a power cut tore a write
    /// (see [`crate::control`]); the card starts afresh from it.
    fn restore(&mut self, state: CardState);
}

impl VirtualCard for Card {
    fn atr(&self) -> Vec<u8> {
        Card::atr(self).to_vec()
    }

    fn power_on(&mut self) {
        Card::power_on(self);
    }

    fn power_off(&mut self) {
        Card::power_off(self);
    }

    fn reset(&mut self) {
        Card::reset(self);
    }

    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        Card::transmit(self, command)
    }

    fn restore(&mut self, state: CardState) {
        Card::restore(self, state);
    }
}
