//! A virtual PIV smart card that behaves like a YubiKey PIV applet of a chosen firmware, or
//! like a plain SP 800-73-4 card ([`Profile`]).
//!
//! [`Card`] is a value: [`Card::transmit`] takes the bytes of one command APDU and returns
//! the bytes of its response; [`Card::power_on`], [`Card::power_off`] and [`Card::reset`]
//! model the reader's power events. The card saves its state through a [`StateStore`]
//! (a file, or nothing for an in-memory card) and does no other I/O.
//!
//! A key with a touch policy waits for its card's [`Button`] inside `transmit`, as a
//! YubiKey holds back its answer until touched, and fails with 6982 when no touch comes in
//! time ([`touch::Timing`]). Another thread presses the button; a card made by [`Card::new`]
//! presses its own at once, until given another ([`Card::set_button`]).
//!
//! Faults on demand ([`control`]) sit between the card and whoever carries its bytes: a
//! card pulled out, planned status words, late or broken answers, a power cut in the
//! middle of a state write, for tests in process and through `card-sim ctl`.
//!
//! Besides the models, it can answer as YubiKey-like applets with GET METADATA missing or
//! partial do ([`MetadataSupport`]). [`Flavour`] names every such kind of card, so that
//! clients can be tested against all the cards they meet in the field.
//!
//! A session can be recorded ([`recorded::Recorded`]) and served again to the client
//! that ran it ([`replay::Replay`]), in the trace format of [`apdu_spec::trace`].

pub mod atr;
pub mod attestation;
pub mod card;
mod commands;
pub mod control;
pub mod flavour;
mod government;
pub mod keys;
pub mod objects;
pub mod pin;
pub mod profile;
pub mod recorded;
pub mod replay;
pub mod session;
pub mod state;
pub mod store;
pub mod summary;
pub mod touch;
pub mod vpcd;

pub use card::Card;
pub use control::{Control, ControlledCard};
pub use flavour::Flavour;
pub use profile::Profile;
pub use state::{CardConfig, CardState, MetadataSupport};
pub use store::{FileStore, MemoryStore, StateStore, StoreError};
pub use touch::Button;
