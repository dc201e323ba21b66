//! The store a power cut can reach: it wraps the card's own store, and tears the write the
//! plan names instead of making it.

use log::warn;

use super::Control;
use crate::state::CardState;
use crate::store::{StateStore, StoreError};

/// A card's store under the plan of faults.
pub(super) struct Guarded {
    inner: Box<dyn StateStore>,
    /// What the store holds whole: the state of the last write that completed. A torn
    /// write leaves the store holding this, so the card comes back with it. Kept in memory,
    /// as a store in memory has nothing to read it back from; like every state, it wipes
    /// its secrets when a write replaces it.
    durable: CardState,
    control: Control,
}

impl Guarded {
    pub(super) fn new(
        inner: impl StateStore + 'static,
        durable: CardState,
        control: Control,
    ) -> Self {
        control.mark_guarded();
        Self {
            inner: Box::new(inner),
            durable,
            control,
        }
    }
}

impl StateStore for Guarded {
    fn save(&mut self, state: &CardState) -> Result<(), StoreError> {
        if self.control.take_power_cut() {
            // What the torn write leaves behind is the store's business; that it failed to
            // leave it changes nothing for the card, which has lost power either way.
            if let Err(e) = self.inner.tear(state) {
                warn!("power cut: the torn write left nothing behind ({e})");
            }
            self.control.power_lost(self.durable.clone());
            return Err(StoreError::PowerLost);
        }
        self.inner.save(state)?;
        self.durable = state.clone();
        Ok(())
    }
}
