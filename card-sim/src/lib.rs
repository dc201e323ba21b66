//! A virtual PIV smart card that behaves like a YubiKey PIV applet of a chosen firmware, or
//! like a plain SP 800-73-4 card ([`Profile`]).
//!
//! [`Card`] is a value: [`Card::transmit`] takes the bytes of one command APDU and returns
//! the bytes of its response; [`Card::power_on`], [`Card::power_off`] and [`Card::reset`]
//! model the reader's power events. The card saves its state through a [`StateStore`]
//! (a file, or nothing for an in-memory card) and does no other I/O.
//!
//! Touch policies are recorded and reported (metadata, attestation) but simulated: a
//! virtual card has no button, so an operation that would wait for a touch proceeds at once.
//!
//! Besides the models, it can answer as YubiKey-like applets with GET METADATA missing or
//! partial do ([`MetadataSupport`]). [`Flavour`] names every such kind of card, so that
//! clients can be tested against all the cards they meet in the field.

pub mod atr;
pub mod attestation;
pub mod card;
mod commands;
pub mod flavour;
mod government;
pub mod keys;
pub mod objects;
pub mod pin;
pub mod profile;
pub mod session;
pub mod state;
pub mod store;
pub mod summary;
pub mod touch;
pub mod vpcd;

pub use card::Card;
pub use flavour::Flavour;
pub use profile::Profile;
pub use state::{CardConfig, CardState, MetadataSupport};
pub use store::{FileStore, MemoryStore, StateStore, StoreError};
pub use touch::Button;
