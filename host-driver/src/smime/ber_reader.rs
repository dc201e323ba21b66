//! BER read from a stream, one element at a time, for CMS structures whose content is too
//! large to hold: the small fields around it are read whole (and normalised with
//! [`super::ber::to_der`]), the content is read segment by segment.
//!
//! `openssl cms -stream` writes every level with an indefinite length and the content as a
//! constructed OCTET STRING of many segments; other writers use definite lengths and one
//! primitive string. [`BerReader`] follows both: a constructed value's end is either a
//! position or an end-of-contents marker ([`End`]).

use std::io::{self, Read};

/// Why the stream is not the BER that was expected.
#[derive(Debug, thiserror::Error)]
pub enum BerStreamError {
    #[error("not valid BER at byte {offset}: {reason}")]
    Invalid { offset: u64, reason: String },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Where a constructed value ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// At this offset (definite length).
    At(u64),
    /// At an end-of-contents marker, `00 00` (indefinite length).
    Marker,
}

/// An element's identifier and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The identifier octet (class, constructed bit and a tag number below 31: every tag
    /// CMS uses).
    pub tag: u8,
    /// `None` for the indefinite form.
    pub len: Option<u64>,
}

impl Header {
    pub fn constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }
}

/// Reads BER elements from `input`, keeping count of the offset.
pub struct BerReader<R: Read> {
    input: R,
    offset: u64,
    peeked: Option<u8>,
}

impl<R: Read> BerReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            offset: 0,
            peeked: None,
        }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn invalid(&self, reason: impl Into<String>) -> BerStreamError {
        BerStreamError::Invalid {
            offset: self.offset,
            reason: reason.into(),
        }
    }

    /// The next byte without taking it; `None` at the end of the input.
    pub fn peek(&mut self) -> Result<Option<u8>, BerStreamError> {
        if self.peeked.is_none() {
            let mut byte = [0];
            self.peeked = match self.input.read(&mut byte) {
                Ok(0) => None,
                Ok(_) => Some(byte[0]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return self.peek(),
                Err(e) => return Err(e.into()),
            };
        }
        Ok(self.peeked)
    }

    fn byte(&mut self) -> Result<u8, BerStreamError> {
        let b = self
            .peek()?
            .ok_or_else(|| self.invalid("unexpected end of data"))?;
        self.peeked = None;
        self.offset += 1;
        Ok(b)
    }

    /// Fills `buf` from the input.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), BerStreamError> {
        let Some((first, rest)) = buf.split_first_mut() else {
            return Ok(());
        };
        *first = self.byte()?;
        match self.input.read_exact(rest) {
            Ok(()) => {
                self.offset += rest.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(self.invalid("unexpected end of data"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The next element's identifier and length.
    pub fn header(&mut self) -> Result<Header, BerStreamError> {
        let tag = self.byte()?;
        if tag & 0x1F == 0x1F {
            return Err(self.invalid("a tag number above 30 where CMS has none"));
        }
        let len = self.length(tag & 0x20 != 0, &mut Vec::new())?;
        Ok(Header { tag, len })
    }

    /// Reads a length, appending its octets to `raw`.
    fn length(
        &mut self,
        constructed: bool,
        raw: &mut Vec<u8>,
    ) -> Result<Option<u64>, BerStreamError> {
        let first = self.byte()?;
        raw.push(first);
        match first {
            n if n < 0x80 => Ok(Some(u64::from(n))),
            0x80 if constructed => Ok(None),
            0x80 => Err(self.invalid("indefinite length on a primitive value")),
            n @ 0x81..=0x88 => {
                let mut len = 0u64;
                for _ in 0..n & 0x7F {
                    let b = self.byte()?;
                    raw.push(b);
                    len = len << 8 | u64::from(b);
                }
                Ok(Some(len))
            }
            _ => Err(self.invalid("a length too large")),
        }
    }

    /// The next element's header, which must have identifier `tag`.
    pub fn expect(&mut self, tag: u8, what: &str) -> Result<Header, BerStreamError> {
        let header = self.header()?;
        if header.tag != tag {
            return Err(self.invalid(format!(
                "expected {what} (tag {tag:02X}), found tag {:02X}",
                header.tag
            )));
        }
        Ok(header)
    }

    /// Where the constructed value whose contents start here ends.
    pub fn end_of(&self, header: &Header) -> End {
        match header.len {
            // A length no stream can hold ends past any end: reading up to it fails cleanly.
            Some(len) => End::At(self.offset.saturating_add(len)),
            None => End::Marker,
        }
    }

    /// Whether the value ending at `end` has ended; an end-of-contents marker is taken.
    pub fn at_end(&mut self, end: End) -> Result<bool, BerStreamError> {
        match end {
            End::At(at) if self.offset > at => Err(self.invalid("an element runs past its parent")),
            End::At(at) => Ok(self.offset == at),
            End::Marker => {
                if self.peek()? != Some(0) {
                    return Ok(false);
                }
                self.byte()?;
                match self.byte()? {
                    0 => Ok(true),
                    _ => Err(self.invalid("a malformed end-of-contents marker")),
                }
            }
        }
    }

    /// Requires the value ending at `end` to end here.
    pub fn finish(&mut self, end: End, what: &str) -> Result<(), BerStreamError> {
        if self.at_end(end)? {
            Ok(())
        } else {
            Err(self.invalid(format!("{what} has more elements than expected")))
        }
    }

    /// One whole element, as its BER encoding, refused past `limit` bytes.
    pub fn element(&mut self, limit: usize) -> Result<Vec<u8>, BerStreamError> {
        let mut out = Vec::new();
        self.copy_element(&mut out, limit, 0)?;
        Ok(out)
    }

    fn copy_element(
        &mut self,
        out: &mut Vec<u8>,
        limit: usize,
        depth: usize,
    ) -> Result<(), BerStreamError> {
        if depth > super::ber::MAX_DEPTH {
            return Err(self.invalid("values nested too deeply"));
        }
        let start = self.offset;
        let tag = self.byte()?;
        out.push(tag);
        if tag & 0x1F == 0x1F {
            // A high tag number, in an attribute or extension we only carry along.
            for _ in 0..5 {
                let b = self.byte()?;
                out.push(b);
                if b & 0x80 == 0 {
                    break;
                }
            }
            if out.last().is_some_and(|b| b & 0x80 != 0) {
                return Err(self.invalid("tag number too large"));
            }
        }
        let len = self.length(tag & 0x20 != 0, out)?;
        match len {
            Some(len) => {
                let len = usize::try_from(len)
                    .ok()
                    .filter(|&l| l <= limit.saturating_sub(out.len()))
                    .ok_or_else(|| self.invalid(too_large(limit)))?;
                let at = out.len();
                out.resize(at + len, 0);
                self.read_exact(&mut out[at..])?;
            }
            None => loop {
                if self.peek()? == Some(0) {
                    out.extend_from_slice(&[self.byte()?, self.byte()?]);
                    if out[out.len() - 1] != 0 {
                        return Err(self.invalid("a malformed end-of-contents marker"));
                    }
                    break;
                }
                self.copy_element(out, limit, depth + 1)?;
            },
        }
        if out.len() > limit {
            return Err(BerStreamError::Invalid {
                offset: start,
                reason: too_large(limit),
            });
        }
        Ok(())
    }

    /// Skips one whole element of at most `limit` bytes.
    pub fn skip(&mut self, limit: usize) -> Result<(), BerStreamError> {
        self.element(limit).map(drop)
    }
}

fn too_large(limit: usize) -> String {
    format!("an element larger than {limit} bytes where a small one belongs")
}

/// The octets of a string that may be primitive or constructed (BER segments, nested to
/// any depth), read piece by piece without holding them.
pub struct StringSegments {
    /// The ends of the constructed levels still open, innermost last.
    open: Vec<End>,
    /// Octets left in the current primitive segment.
    left: u64,
    /// The identifier of the segments (04 for an OCTET STRING).
    segment_tag: u8,
}

impl StringSegments {
    /// Starts reading the string whose header (`header`, of segments tagged
    /// `segment_tag` when constructed) was just read.
    pub fn new<R: Read>(reader: &BerReader<R>, header: &Header, segment_tag: u8) -> Self {
        if header.constructed() {
            Self {
                open: vec![reader.end_of(header)],
                left: 0,
                segment_tag,
            }
        } else {
            Self {
                open: Vec::new(),
                left: header.len.unwrap_or(0),
                segment_tag,
            }
        }
    }

    /// Reads the next octets into `buf`; 0 at the end of the string.
    pub fn read<R: Read>(
        &mut self,
        reader: &mut BerReader<R>,
        buf: &mut [u8],
    ) -> Result<usize, BerStreamError> {
        while self.left == 0 {
            let Some(&end) = self.open.last() else {
                return Ok(0);
            };
            if reader.at_end(end)? {
                self.open.pop();
                continue;
            }
            if self.open.len() > super::ber::MAX_DEPTH {
                return Err(reader.invalid("string segments nested too deeply"));
            }
            let header = reader.header()?;
            if header.tag & !0x20 != self.segment_tag {
                return Err(reader.invalid("a string segment of another type"));
            }
            if header.constructed() {
                self.open.push(reader.end_of(&header));
            } else {
                self.left = header.len.unwrap_or(0);
            }
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        reader.read_exact(&mut buf[..n])?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_too_large_for_any_stream_are_errors_not_panics() {
        // An OID whose 8-byte length wraps a usize, and a SEQUENCE whose contents would end
        // past u64::MAX.
        let huge_oid = h("06 88 FF FF FF FF FF FF FF F8 2A");
        assert!(BerReader::new(&huge_oid[..]).element(1024).is_err());
        let huge_sequence = h("30 88 FF FF FF FF FF FF FF FF 02 01 00");
        let mut reader = BerReader::new(&huge_sequence[..]);
        let header = reader.header().unwrap();
        let end = reader.end_of(&header);
        assert!(!reader.at_end(end).unwrap());
        assert!(reader.element(1024).is_ok());
        assert!(!reader.at_end(end).unwrap());
        assert!(
            reader.element(1024).is_err(),
            "the stream ends inside the value"
        );
    }

    fn h(text: &str) -> Vec<u8> {
        hex::decode(text.replace(' ', "")).unwrap()
    }

    fn segments(ber: &[u8]) -> Vec<u8> {
        let mut reader = BerReader::new(ber);
        let header = reader.header().unwrap();
        let mut string = StringSegments::new(&reader, &header, 0x04);
        let mut out = Vec::new();
        let mut buf = [0; 3];
        loop {
            let n = string.read(&mut reader, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(reader.peek().unwrap(), None, "the whole string was read");
        out
    }

    #[test]
    fn strings_read_the_same_primitive_constructed_and_nested() {
        assert_eq!(segments(&h("8005 6162636465")), b"abcde");
        let constructed = h("a080 04026162 0400 2480 040163 0000 04026465 0000");
        assert_eq!(segments(&constructed), b"abcde");
        let definite = h("a00d 04026162 2403040163 04026465");
        assert_eq!(segments(&definite), b"abcde");
        let other_type = h("a080 0c0161 0000");
        let mut reader = BerReader::new(&other_type[..]);
        let header = reader.header().unwrap();
        let mut string = StringSegments::new(&reader, &header, 0x04);
        assert!(string.read(&mut reader, &mut [0; 4]).is_err());
    }

    #[test]
    fn elements_are_copied_whole_with_their_lengths_as_written() {
        let ber = h("3080 020101 a003 0c0161 0000 0500");
        let mut reader = BerReader::new(&ber[..]);
        assert_eq!(reader.element(1024).unwrap(), ber[..12]);
        assert_eq!(reader.element(1024).unwrap(), [5, 0]);
        let long = [&[0x04, 0x82, 0x01, 0x00][..], &[7; 256]].concat();
        assert_eq!(BerReader::new(&long[..]).element(1024).unwrap(), long);
        assert!(BerReader::new(&long[..]).element(259).is_err());
    }

    #[test]
    fn ends_are_found_by_position_or_marker() {
        let ber = h("3080 0500 0000 3002 0500");
        let mut reader = BerReader::new(&ber[..]);
        let indefinite = reader.header().unwrap();
        let end = reader.end_of(&indefinite);
        assert!(!reader.at_end(end).unwrap());
        reader.skip(16).unwrap();
        reader.finish(end, "the test value").unwrap();
        let definite = reader.expect(0x30, "a SEQUENCE").unwrap();
        let end = reader.end_of(&definite);
        assert_eq!(end, End::At(10));
        assert!(reader.finish(end, "the test value").is_err());
    }
}
