//! BER-TLV as ISO 7816-4 uses it: tags of one to three bytes (`7C`, `7F49`, `5FC105`) and
//! definite lengths of one to four bytes, always encoded in the shortest form.
//!
//! Parsing borrows from the input and never recurses on its own: PIV treats the value of
//! a data object (53) as opaque, so the caller decides which values are nested TLVs.

use thiserror::Error;

/// A tag, its bytes read as a big-endian number (`Tag(0x5FC105)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

/// One TLV whose value borrows from the parsed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: Tag,
    pub value: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TlvError {
    #[error("TLV ends early")]
    Truncated,
    #[error("tag is longer than three bytes")]
    TagTooLong,
    #[error("length field {0:#04x} is indefinite or longer than four bytes")]
    BadLength(u8),
    #[error("{0} bytes follow the TLV")]
    TrailingBytes(usize),
    #[error("required tag {0:X} missing")]
    Missing(u32),
    #[error("tag {0:X} has a value of the wrong size")]
    WrongSize(u32),
}

impl Tag {
    /// How many bytes the tag takes on the wire.
    pub const fn len(self) -> usize {
        match self.0 {
            0..=0xFF => 1,
            0x100..=0xFFFF => 2,
            0x1_0000..=0xFF_FFFF => 3,
            _ => 4,
        }
    }

    pub const fn is_empty(self) -> bool {
        false
    }

    /// Bit 6 of the first byte: the value is itself a sequence of TLVs.
    pub const fn is_constructed(self) -> bool {
        let first = (self.0 >> (8 * (self.len() - 1))) as u8;
        first & 0x20 != 0
    }

    pub fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes()[4 - self.len()..]);
    }

    /// Reads one tag off the front of `input`.
    fn read(input: &[u8]) -> Result<(Self, &[u8]), TlvError> {
        let (&first, mut rest) = input.split_first().ok_or(TlvError::Truncated)?;
        let mut tag = first as u32;
        if first & 0x1F == 0x1F {
            loop {
                let (&b, tail) = rest.split_first().ok_or(TlvError::Truncated)?;
                rest = tail;
                tag = (tag << 8) | b as u32;
                if tag > 0xFF_FFFF {
                    return Err(TlvError::TagTooLong);
                }
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        Ok((Self(tag), rest))
    }
}

/// Writes a definite length in its shortest form.
pub fn write_length(len: usize, out: &mut Vec<u8>) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => {
            out.push(0x82);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            out.push(0x83);
            out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        }
        _ => {
            out.push(0x84);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

fn read_length(input: &[u8]) -> Result<(usize, &[u8]), TlvError> {
    let (&first, rest) = input.split_first().ok_or(TlvError::Truncated)?;
    if first < 0x80 {
        return Ok((first as usize, rest));
    }
    let n = (first & 0x7F) as usize;
    if n == 0 || n > 4 {
        return Err(TlvError::BadLength(first));
    }
    if rest.len() < n {
        return Err(TlvError::Truncated);
    }
    let len = rest[..n]
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | b as usize);
    Ok((len, &rest[n..]))
}

impl<'a> Tlv<'a> {
    pub fn new(tag: Tag, value: &'a [u8]) -> Self {
        Self { tag, value }
    }

    /// Parses one TLV off the front of `input`; returns it and what follows.
    pub fn parse(input: &'a [u8]) -> Result<(Self, &'a [u8]), TlvError> {
        let (tag, rest) = Tag::read(input)?;
        let (len, rest) = read_length(rest)?;
        if rest.len() < len {
            return Err(TlvError::Truncated);
        }
        let (value, rest) = rest.split_at(len);
        Ok((Self { tag, value }, rest))
    }

    /// Parses `input` as exactly one TLV with nothing after it.
    pub fn parse_exact(input: &'a [u8]) -> Result<Self, TlvError> {
        match Self::parse(input)? {
            (tlv, []) => Ok(tlv),
            (_, rest) => Err(TlvError::TrailingBytes(rest.len())),
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        write(out, self.tag, self.value);
    }

    pub fn to_vec(&self) -> Vec<u8> {
        encode(self.tag, self.value)
    }

    /// The value read as a sequence of TLVs.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, TlvError> {
        parse_all(self.value)
    }
}

/// Parses a concatenation of TLVs, all of it.
pub fn parse_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, rest) = Tlv::parse(input)?;
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// The value of the first TLV with `tag` in a concatenation.
pub fn find(input: &[u8], tag: Tag) -> Result<Option<&[u8]>, TlvError> {
    Ok(parse_all(input)?
        .into_iter()
        .find(|t| t.tag == tag)
        .map(|t| t.value))
}

/// Appends tag, length and value to `out`.
pub fn write(out: &mut Vec<u8>, tag: Tag, value: &[u8]) {
    tag.write(out);
    write_length(value.len(), out);
    out.extend_from_slice(value);
}

pub fn encode(tag: Tag, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    write(&mut out, tag, value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_byte_tags_and_long_lengths() {
        let value = vec![0xAB; 300];
        let bytes = encode(Tag(0x5FC105), &value);
        assert_eq!(&bytes[..6], &[0x5F, 0xC1, 0x05, 0x82, 0x01, 0x2C]);
        let tlv = Tlv::parse_exact(&bytes).unwrap();
        assert_eq!(tlv.tag, Tag(0x5FC105));
        assert_eq!(tlv.value, &value[..]);
    }

    #[test]
    fn lengths_are_minimal() {
        assert_eq!(encode(Tag(0x53), &[0; 0x7F])[..2], [0x53, 0x7F]);
        assert_eq!(encode(Tag(0x53), &[0; 0x80])[..3], [0x53, 0x81, 0x80]);
    }

    #[test]
    fn constructed_bit() {
        assert!(Tag(0x7C).is_constructed());
        assert!(Tag(0x7F49).is_constructed());
        assert!(!Tag(0x5FC105).is_constructed());
        assert!(!Tag(0x53).is_constructed());
    }

    #[test]
    fn rejects_truncation_and_bad_lengths() {
        assert_eq!(Tlv::parse(&[0x53, 0x05, 1, 2]), Err(TlvError::Truncated));
        assert_eq!(Tlv::parse(&[0x53, 0x80]), Err(TlvError::BadLength(0x80)));
        assert_eq!(Tlv::parse(&[0x5F, 0xC1]), Err(TlvError::Truncated));
        assert_eq!(
            Tlv::parse(&[0x5F, 0xC1, 0x85, 0x81, 0x01]),
            Err(TlvError::TagTooLong)
        );
    }
}
