//! An APDU as a trace holds it: its bytes, with at most one run of them redacted.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a redacted byte is written: not hex, so it cannot be mistaken for a value.
const REDACTED: &str = "xx";

/// The bytes of a command or a response. A redacted run keeps its place and length (so a
/// reader sees `00 20 00 80 08` and eight redacted bytes) but not its values: this value
/// never holds them. One run is enough: a command's data field, or a response's data
/// before its status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedBytes {
    /// The bytes, zero where redacted.
    bytes: Vec<u8>,
    redacted: Range<usize>,
}

impl TracedBytes {
    /// Bytes kept whole.
    pub fn clear(bytes: &[u8]) -> Self {
        Self {
            bytes: bytes.to_vec(),
            redacted: 0..0,
        }
    }

    /// `bytes` with the run `redacted` (clamped to the bytes there are) left out.
    pub fn redacted(bytes: &[u8], redacted: Range<usize>) -> Self {
        let end = redacted.end.min(bytes.len());
        let start = redacted.start.min(end);
        let mut kept = Vec::with_capacity(bytes.len());
        kept.extend_from_slice(&bytes[..start]);
        kept.resize(end, 0);
        kept.extend_from_slice(&bytes[end..]);
        Self {
            bytes: kept,
            redacted: if start == end { 0..0 } else { start..end },
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn is_redacted(&self) -> bool {
        !self.redacted.is_empty()
    }

    /// The bytes, when none is redacted.
    pub fn bytes(&self) -> Option<&[u8]> {
        (!self.is_redacted()).then_some(&self.bytes)
    }

    /// Whether `bytes` could be what was recorded: as long, and equal wherever a byte was
    /// kept.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        bytes.len() == self.bytes.len()
            && bytes[..self.redacted.start] == self.bytes[..self.redacted.start]
            && bytes[self.redacted.end..] == self.bytes[self.redacted.end..]
    }

    fn parse(text: &str) -> Result<Self, String> {
        let pairs = text.as_bytes().chunks(2);
        if !text.len().is_multiple_of(2) {
            return Err(format!("{text:?} is not a whole number of bytes"));
        }
        let mut bytes = Vec::with_capacity(text.len() / 2);
        let mut redacted: Option<Range<usize>> = None;
        for (i, pair) in pairs.enumerate() {
            if pair.eq_ignore_ascii_case(REDACTED.as_bytes()) {
                match &mut redacted {
                    Some(run) if run.end == i => run.end += 1,
                    Some(_) => return Err(format!("{text:?} has more than one redacted run")),
                    None => redacted = Some(i..i + 1),
                }
                bytes.push(0);
            } else {
                let mut byte = [0u8];
                hex::decode_to_slice(pair, &mut byte)
                    .map_err(|_| format!("{text:?} is neither hex nor '{REDACTED}'"))?;
                bytes.push(byte[0]);
            }
        }
        Ok(Self {
            bytes,
            redacted: redacted.unwrap_or(0..0),
        })
    }
}

/// Upper-case hex, `xx` for each redacted byte: `0020008008xxxxxxxxxxxxxxxx`.
impl fmt::Display for TracedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Range { start, end } = self.redacted;
        f.write_str(&hex::encode_upper(&self.bytes[..start]))?;
        f.write_str(&REDACTED.repeat(end - start))?;
        f.write_str(&hex::encode_upper(&self.bytes[end..]))
    }
}

impl Serialize for TracedBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TracedBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_run_keeps_its_place_and_length_but_not_its_values() {
        let verify = [
            0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
        ];
        let traced = TracedBytes::redacted(&verify, 5..13);
        assert_eq!(traced.to_string(), "0020008008xxxxxxxxxxxxxxxx");
        assert!(traced.is_redacted());
        assert_eq!(traced.bytes(), None);
        assert!(!traced.bytes.windows(3).any(|w| w == b"123"));
        assert!(traced.matches(&verify));
        let mut other_pin = verify;
        other_pin[5] = b'9';
        assert!(
            traced.matches(&other_pin),
            "a redacted byte matches any value"
        );
        assert!(!traced.matches(&verify[..12]), "the length must match");
        let mut other_slot = verify;
        other_slot[3] = 0x81;
        assert!(!traced.matches(&other_slot), "kept bytes must match");
    }

    #[test]
    fn text_round_trips() {
        for text in ["", "9000", "0020008008xxxxxxxxxxxxxxxx", "xxxx9000", "xx"] {
            let parsed = TracedBytes::parse(text).unwrap();
            assert_eq!(parsed.to_string(), text);
        }
        assert_eq!(TracedBytes::parse("a0B1").unwrap().to_string(), "A0B1");
    }

    #[test]
    fn malformed_text_is_refused() {
        for bad in ["9", "90G0", "xx90xx", "x9"] {
            assert!(TracedBytes::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_run_redacts_nothing() {
        let traced = TracedBytes::redacted(&[0x90, 0x00], 0..0);
        assert!(!traced.is_redacted());
        assert_eq!(traced.bytes(), Some(&[0x90, 0x00][..]));
        let clamped = TracedBytes::redacted(&[1, 2, 3], 2..10);
        assert_eq!(clamped.to_string(), "0102xx");
    }
}
