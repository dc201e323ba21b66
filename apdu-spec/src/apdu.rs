//! Command APDUs (ISO 7816-4 §5.1): the four cases, each with short or extended lengths.

use thiserror::Error;
use zeroize::Zeroizing;

/// The largest Nc of a short APDU.
pub const SHORT_MAX_DATA: usize = 255;
/// The largest Ne of a short APDU (encoded as `00`).
pub const SHORT_MAX_LE: usize = 256;
/// The largest Nc of an extended APDU.
pub const EXTENDED_MAX_DATA: usize = 65_535;
/// The largest Ne of an extended APDU (encoded as `00 00`).
pub const EXTENDED_MAX_LE: usize = 65_536;

/// CLA bit 5 (0x10): more blocks of this command follow (command chaining).
pub const CLA_CHAINING: u8 = 0x10;

/// Why a byte string is not a command APDU.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApduError {
    #[error("a command APDU needs at least 4 header bytes, got {0}")]
    TooShort(usize),
    #[error("the body's length field does not match the {0} bytes that follow the header")]
    LengthMismatch(usize),
    #[error("an extended length field of 0 data bytes is not allowed")]
    ZeroExtendedLc,
    #[error("{0} data bytes do not fit in an APDU (at most 65535)")]
    DataTooLong(usize),
    #[error("Le {0} is out of range (1..=65536)")]
    LeOutOfRange(usize),
}

/// A command APDU: header, data field (Nc bytes) and the expected response length Ne.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandApdu {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    /// Wiped when dropped. Many commands carry secrets (a PIN, a key to import, a
    /// management-key cryptogram); wiping every data field is simpler than deciding
    /// command by command, and costs one pass over a few hundred bytes.
    pub data: Zeroizing<Vec<u8>>,
    /// Ne: `None` when the command has no Le field; `Some(256)` for a short `00`,
    /// `Some(65536)` for an extended `00 00`.
    pub le: Option<usize>,
    /// Whether the length fields are extended: `parse` records what the bytes used (a
    /// card may answer an extended command with more than 256 bytes at once); `encode`
    /// uses extended lengths when this is set or when Nc or Ne need them.
    pub extended: bool,
}

impl CommandApdu {
    /// A case 1 command (no data, no Le); add parts with the builder methods.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Zeroizing::default(),
            le: None,
            extended: false,
        }
    }

    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = Zeroizing::new(data.into());
        self
    }

    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// Whether CLA announces that more blocks of this command follow.
    pub fn is_chained(&self) -> bool {
        self.cla & CLA_CHAINING != 0
    }

    /// Whether this APDU needs the extended length encoding.
    pub fn needs_extended(&self) -> bool {
        self.data.len() > SHORT_MAX_DATA || self.le.is_some_and(|le| le > SHORT_MAX_LE)
    }

    /// Whether `encode` writes extended length fields. A command without data and Le
    /// has no length fields at all.
    fn encodes_extended(&self) -> bool {
        self.needs_extended() || (self.extended && (!self.data.is_empty() || self.le.is_some()))
    }

    /// Parses any of the seven encodings: 1, 2S, 3S, 4S, 2E, 3E, 4E.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let Some((header, body)) = bytes.split_first_chunk::<4>() else {
            return Err(ApduError::TooShort(bytes.len()));
        };
        let [cla, ins, p1, p2] = *header;
        let (data, le) = parse_body(body)?;
        Ok(Self {
            cla,
            ins,
            p1,
            p2,
            data: Zeroizing::new(data.to_vec()),
            le,
            // Only a well-formed extended body starts with a 00 marker and is longer
            // than a lone Le byte.
            extended: body.len() >= 3 && body[0] == 0,
        })
    }

    /// Encodes with short lengths unless `extended` asks for extended ones or the sizes
    /// need them.
    pub fn encode(&self) -> Result<Vec<u8>, ApduError> {
        let nc = self.data.len();
        if nc > EXTENDED_MAX_DATA {
            return Err(ApduError::DataTooLong(nc));
        }
        if let Some(le) = self.le
            && !(1..=EXTENDED_MAX_LE).contains(&le)
        {
            return Err(ApduError::LeOutOfRange(le));
        }
        let mut out = Vec::with_capacity(4 + 3 + nc + 3);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if self.encodes_extended() {
            out.push(0);
            if nc > 0 {
                out.extend_from_slice(&(nc as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                // 65536 wraps to 00 00, as the standard encodes it.
                out.extend_from_slice(&(le as u16).to_be_bytes());
            }
        } else {
            if nc > 0 {
                out.push(nc as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.push(le as u8);
            }
        }
        Ok(out)
    }
}

/// Splits an APDU body into its data field and Ne.
fn parse_body(body: &[u8]) -> Result<(&[u8], Option<usize>), ApduError> {
    let mismatch = || ApduError::LengthMismatch(body.len());
    match body {
        // Case 1.
        [] => Ok((&[], None)),
        // Case 2S.
        [le] => Ok((&[], Some(short_le(*le)))),
        // Extended: a 00 marker then a two-byte field.
        [0, rest @ ..] if rest.len() >= 2 => {
            let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            let after = &rest[2..];
            if after.is_empty() {
                // Case 2E: the two bytes are Le.
                return Ok((&[], Some(extended_le(n))));
            }
            if n == 0 {
                return Err(ApduError::ZeroExtendedLc);
            }
            match after.len().checked_sub(n) {
                Some(0) => Ok((after, None)),
                Some(2) => Ok((
                    &after[..n],
                    Some(extended_le(
                        u16::from_be_bytes([after[n], after[n + 1]]) as usize
                    )),
                )),
                _ => Err(mismatch()),
            }
        }
        // A lone 00 marker byte with one more byte is neither short nor extended.
        [0, _] => Err(mismatch()),
        // Short Lc (1..=255).
        [lc, rest @ ..] => {
            let n = *lc as usize;
            match rest.len().checked_sub(n) {
                Some(0) => Ok((rest, None)),
                Some(1) => Ok((&rest[..n], Some(short_le(rest[n])))),
                _ => Err(mismatch()),
            }
        }
    }
}

fn short_le(b: u8) -> usize {
    if b == 0 { SHORT_MAX_LE } else { b as usize }
}

fn extended_le(n: usize) -> usize {
    if n == 0 { EXTENDED_MAX_LE } else { n }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_hex(s: &str) -> Result<CommandApdu, ApduError> {
        CommandApdu::parse(&hex::decode(s.replace(' ', "")).unwrap())
    }

    #[test]
    fn parses_every_case() {
        let c1 = parse_hex("00 FD 00 00").unwrap();
        assert_eq!((c1.data.len(), c1.le), (0, None));
        let c2 = parse_hex("00 C0 00 00 00").unwrap();
        assert_eq!(c2.le, Some(256));
        let c3 = parse_hex("00 A4 04 00 05 A0 00 00 03 08").unwrap();
        assert_eq!(
            (c3.data.to_vec(), c3.le),
            (hex::decode("A000000308").unwrap(), None)
        );
        let c4 = parse_hex("00 A4 04 00 05 A0 00 00 03 08 00").unwrap();
        assert_eq!(c4.le, Some(256));
        assert!(!c4.extended);
        let c2e = parse_hex("00 CB 3F FF 00 00 00").unwrap();
        assert_eq!((c2e.le, c2e.extended), (Some(65536), true));
        let c3e = parse_hex("00 DB 3F FF 00 00 02 AA BB").unwrap();
        assert_eq!((c3e.data.to_vec(), c3e.le), (vec![0xAA, 0xBB], None));
        let c4e = parse_hex("00 87 07 9A 00 00 01 7C 01 00").unwrap();
        assert_eq!((c4e.data.to_vec(), c4e.le), (vec![0x7C], Some(256)));
        assert!(c4e.extended);
        // The encoding it arrived in is the encoding it leaves in.
        assert_eq!(
            hex::encode_upper(c4e.encode().unwrap()),
            "0087079A0000017C0100"
        );
    }

    #[test]
    fn rejects_malformed_lengths() {
        assert_eq!(parse_hex("00 A4 04"), Err(ApduError::TooShort(3)));
        assert!(matches!(
            parse_hex("00 A4 04 00 05 A0 00"),
            Err(ApduError::LengthMismatch(_))
        ));
        assert!(matches!(
            parse_hex("00 A4 04 00 02 A0 00 00 00"),
            Err(ApduError::LengthMismatch(_))
        ));
        assert_eq!(
            parse_hex("00 A4 04 00 00 00 00 AA"),
            Err(ApduError::ZeroExtendedLc)
        );
    }

    #[test]
    fn encodes_short_until_it_cannot() {
        let short = CommandApdu::new(0, 0xCB, 0x3F, 0xFF)
            .with_data(vec![0x5C, 1, 0x7E])
            .with_le(256);
        assert_eq!(
            short.encode().unwrap(),
            hex::decode("00CB3FFF035C017E00").unwrap()
        );
        let long = CommandApdu::new(0, 0xDB, 0x3F, 0xFF).with_data(vec![1; 300]);
        let bytes = long.encode().unwrap();
        assert_eq!(&bytes[4..7], &[0, 0x01, 0x2C]);
        let parsed = CommandApdu::parse(&bytes).unwrap();
        assert!(parsed.extended);
        assert_eq!(
            parsed,
            CommandApdu {
                extended: true,
                ..long
            }
        );
    }
}
