//! Recorded sessions: the APDUs a host and a card exchanged, as JSON lines with the
//! secrets left out, written by the host tool and by the virtual card alike and read back
//! to replay a session.
//!
//! The first line is a [`Header`]: the format's name and version, the program that wrote
//! it, the card's ATR and the reader when known. Each line after it is an [`Event`]: an
//! exchange (command and response in hex, `xx` for each redacted byte, and the time the
//! card took when the writer measured it) or a power event, in the order the writer saw
//! them:
//!
//! ```text
//! {"format":"piv-apdu-trace","version":1,"writer":"smime-card 0.1.0","atr":"3BF8...","reader":"Virtual PCD 00 00"}
//! {"event":"exchange","command":"00A4040009A00000030800001000","response":"61..9000","elapsed_us":812}
//! {"event":"exchange","command":"0020008008xxxxxxxxxxxxxxxx","response":"9000"}
//! {"event":"power_off"}
//! ```
//!
//! [`redact`] says what is left out; the writer applies it before anything reaches the
//! file.

mod bytes;
mod file;
pub mod redact;

pub use bytes::TracedBytes;
pub use file::{Trace, TraceError, TraceWriter};
pub use redact::{RedactedExchange, Redactor};

use serde::{Deserialize, Serialize};

/// The format's name, the header's `format`.
pub const FORMAT: &str = "piv-apdu-trace";
/// The version this crate writes and reads.
pub const VERSION: u32 = 1;

/// The first line of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The program that wrote the trace, and its version.
    pub writer: String,
    /// The card's answer to reset.
    #[serde(
        serialize_with = "hex::serde::serialize_upper",
        deserialize_with = "hex::serde::deserialize"
    )]
    pub atr: Vec<u8>,
    /// The reader, when the writer knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
}

impl Header {
    /// A header of this format and version.
    pub fn new(writer: impl Into<String>, atr: &[u8], reader: Option<String>) -> Self {
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
            writer: writer.into(),
            atr: atr.to_vec(),
            reader,
        }
    }
}

/// A line after the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Exchange {
        command: TracedBytes,
        response: TracedBytes,
        /// Microseconds from sending the command to having the response, as the writer
        /// measured them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        elapsed_us: Option<u64>,
    },
    PowerOn,
    PowerOff,
    Reset,
}

/// What the reader did to the card's power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    On,
    Off,
    Reset,
}

impl From<Power> for Event {
    fn from(power: Power) -> Self {
        match power {
            Power::On => Self::PowerOn,
            Power::Off => Self::PowerOff,
            Power::Reset => Self::Reset,
        }
    }
}
