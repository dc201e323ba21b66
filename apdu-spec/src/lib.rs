//! The wire format shared by the virtual card and the host: ISO 7816-4 command and
//! response APDUs, status words, BER-TLV, the answer to reset, and the PIV vocabulary
//! (SP 800-73-4 plus the YubiKey extensions).
//!
//! Every byte layout the two sides exchange is defined here once; neither side builds
//! a TLV or an APDU by hand.

pub mod apdu;
pub mod atr;
pub mod describe;
pub mod piv;
pub mod response;
pub mod status;
pub mod tlv;
pub mod trace;

pub use apdu::{ApduError, CommandApdu};
pub use response::Response;
pub use status::StatusWord;
pub use tlv::{Tag, Tlv, TlvError};
