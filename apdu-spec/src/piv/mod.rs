//! The PIV vocabulary: SP 800-73-4 and the YubiKey extensions that clients rely on.

pub mod aid;
pub mod algorithm;
pub mod attestation;
pub mod chuid;
pub mod command;
pub mod ins;
pub mod key_ref;
pub mod metadata;
pub mod mgmt_key;
pub mod object;
pub mod pin_protected;
pub mod policy;
pub mod reference_data;
pub mod templates;

pub use algorithm::Algorithm;
pub use command::PivCommand;
pub use ins::Instruction;
pub use key_ref::{KeyRef, Retired, Slot};
pub use metadata::Metadata;
pub use object::ObjectId;
pub use policy::{PinPolicy, TouchPolicy};
