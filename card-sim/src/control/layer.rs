//! The layer between a card and whoever carries its bytes (the vpcd link, an in-process
//! transport): it applies the plan of faults to each command and says what to do.

use std::path::Path;
use std::time::Duration;

use zeroize::{Zeroize, Zeroizing};

use super::power_cut::Guarded;
use super::{Control, Step};
use crate::Card;
use crate::state::{CardConfig, CardState, CreateError};
use crate::store::{FileStore, MemoryStore, StateStore, StoreError};
use crate::vpcd::VirtualCard;

/// What to do with one command's answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Send `response` once `after` has passed.
    Answer {
        response: Zeroizing<Vec<u8>>,
        after: Duration,
    },
    /// After `after`, send part of `response` and break the link: the card acted on the
    /// command and comes back at once, powered up afresh.
    Broken {
        response: Zeroizing<Vec<u8>>,
        after: Duration,
    },
    /// No answer: the card is out of the reader (pulled, or its power cut mid-write).
    Removed,
}

/// Whether the card is in the reader, as a transport asks before a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Present,
    Absent,
    /// In again after being out: it was powered off meanwhile, every login lost. Said once.
    Back,
}

/// A card (or anything that answers as one) behind the plan of faults.
pub struct ControlledCard<C = Card> {
    card: C,
    control: Control,
    /// The card was seen out of the reader, and powered off then, and not yet seen back:
    /// by [`Self::presence`] (which then says [`Presence::Back`]), or by a command the plan
    /// lets through (the vpcd link never asks `presence`, it reconnects once the card is
    /// in). Seen back, the card is powered off again when next seen out.
    out: bool,
}

impl ControlledCard<Card> {
    /// `card` under `control`, touched by the control's button. Its store is out of the
    /// power cut's reach: a card built by [`Self::open`], [`Self::in_memory`] or
    /// [`Self::with_store`] can lose power mid-write.
    pub fn new(mut card: Card, control: Control) -> Self {
        card.set_button(control.button());
        Self::wrap(card, control)
    }

    /// The card whose state is in `path`, created factory-fresh with `config` when missing
    /// (as [`Card::open`]), its writes within the power cut's reach.
    pub fn open(path: &Path, config: &CardConfig, control: Control) -> Result<Self, StoreError> {
        let store = FileStore::open_exclusive(path)?;
        let (state, _created) = store.load_or_create(config)?;
        Ok(Self::with_store(state, store, control))
    }

    /// A factory-fresh card in memory, its writes within the power cut's reach.
    pub fn in_memory(config: &CardConfig, control: Control) -> Result<Self, CreateError> {
        Ok(Self::with_store(
            CardState::factory_new(config)?,
            MemoryStore,
            control,
        ))
    }

    /// A card over `state`, saving through `store`, which holds `state` now; its writes
    /// within the power cut's reach.
    pub fn with_store(
        state: CardState,
        store: impl StateStore + 'static,
        control: Control,
    ) -> Self {
        let store = Guarded::new(store, state.clone(), control.clone());
        Self::new(Card::new(state, store), control)
    }
}

impl<C: VirtualCard> ControlledCard<C> {
    /// `card` under `control`, as it is: whatever button it has stays.
    pub fn wrap(card: C, control: Control) -> Self {
        Self {
            card,
            control,
            out: false,
        }
    }

    /// The same plan over what `f` makes of the card, say the card recorded as it answers.
    pub fn try_map<D: VirtualCard, E>(
        self,
        f: impl FnOnce(C) -> Result<D, E>,
    ) -> Result<ControlledCard<D>, E> {
        Ok(ControlledCard {
            card: f(self.card)?,
            control: self.control,
            out: self.out,
        })
    }

    pub fn into_card(self) -> C {
        self.card
    }

    pub fn card(&self) -> &C {
        &self.card
    }

    pub fn card_mut(&mut self) -> &mut C {
        &mut self.card
    }

    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Whether the card is in the reader; a card that was out is powered off.
    pub fn presence(&mut self) -> Presence {
        match (self.control.is_present(), self.out) {
            (true, false) => Presence::Present,
            (true, true) => {
                self.out = false;
                Presence::Back
            }
            (false, _) => {
                self.leave();
                Presence::Absent
            }
        }
    }

    /// One command APDU through the plan.
    pub fn exchange(&mut self, command: &[u8]) -> Outcome {
        match self.control.step(command) {
            Step::Absent => {
                self.leave();
                Outcome::Removed
            }
            Step::Fail { sw, after } => {
                self.out = false;
                Outcome::Answer {
                    response: Zeroizing::new(sw.to_bytes().to_vec()),
                    after,
                }
            }
            Step::Pass {
                after,
                broken,
                removals,
            } => {
                self.out = false;
                let mut response = Zeroizing::new(self.card.transmit(command));
                if let Some(durable) = self.control.take_power_lost() {
                    self.card.restore(*durable);
                }
                // Out of the reader since the command came, in again or not: its power cut
                // mid-write, or pulled while it worked (say, waited for a touch). No answer
                // leaves a card that was gone, and it lost power then.
                if self.control.removed_since(removals) {
                    response.zeroize();
                    self.leave();
                    return Outcome::Removed;
                }
                if broken {
                    self.card.power_off();
                    return Outcome::Broken { response, after };
                }
                Outcome::Answer { response, after }
            }
        }
    }

    /// The card leaves the reader: it loses power, unless it is out already.
    pub(crate) fn leave(&mut self) {
        if !self.out {
            self.card.power_off();
            self.out = true;
        }
    }
}
