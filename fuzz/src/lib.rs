//! What the fuzz targets share: how one input becomes a sequence of APDUs, the cards they
//! are sent to, and the fixtures (a card with keys and certificates, its CA) that mail
//! targets decrypt and verify with.
//!
//! The targets in `fuzz_targets/` are thin: each hands its input to the project's own
//! parser or to one of these harnesses, and a panic anywhere is the finding.

pub mod apdu_sequence;
pub mod card_harness;
pub mod fixtures;
