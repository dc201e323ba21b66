//! BER to DER, as far as CMS needs it: the `der` crate (and so `cms`) decodes DER only, but
//! `openssl cms -sign -stream` and `-nodetach` write BER.
//!
//! [`to_der`] rewrites
//! - indefinite lengths (`80 … 00 00`) as definite ones, and every length in its shortest form;
//! - constructed OCTET STRINGs and BIT STRINGs (and the constructed character strings),
//!   however nested, as one primitive string of the concatenated segments;
//! - BOOLEAN TRUE as `FF`.
//!
//! It does not sort SET OF (the `der` crate sorts on decoding) and cannot merge strings
//! hidden behind an IMPLICIT tag, whose type only the schema knows; CMS puts none of its
//! streamed content there. Already-DER input comes out unchanged.
//!
//! [`children`] splits the contents of a DER value into its elements, for the few places
//! that need the bytes exactly as they were signed (the signed attributes).

use std::ops::Range;

/// Values nest at most this deep (a guard against stack exhaustion on hostile input).
pub const MAX_DEPTH: usize = 64;

/// At most this many elements (values and string segments) are parsed: each costs far more
/// memory than the two bytes it can take in the input, so hostile input could otherwise
/// make [`to_der`] take some 25 times its own size. A CMS message has a few thousand
/// elements, and a streamed content one per segment of usually kilobytes.
pub const MAX_ELEMENTS: usize = 1 << 20;

/// Why the input is not BER.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not valid BER at byte {offset}: {reason}")]
pub struct BerError {
    pub offset: usize,
    pub reason: &'static str,
}

/// The DER form of the single BER value that `ber` holds (trailing bytes are an error).
pub fn to_der(ber: &[u8]) -> Result<Vec<u8>, BerError> {
    to_der_with_limit(ber, MAX_ELEMENTS)
}

/// [`to_der`], refusing input with more than `max_elements` elements.
fn to_der_with_limit(ber: &[u8], max_elements: usize) -> Result<Vec<u8>, BerError> {
    let mut parser = Parser {
        input: ber,
        pos: 0,
        elements_left: max_elements,
    };
    let node = parser.value(0)?;
    if parser.pos != ber.len() {
        return Err(parser.error("trailing bytes after the value"));
    }
    let mut out = Vec::with_capacity(node.encoded_len());
    node.write(ber, &mut out);
    debug_assert_eq!(out.len(), node.encoded_len());
    Ok(out)
}

/// The complete encodings (tag, length, contents) of the elements inside the DER value
/// `der`, in order.
pub fn children(der: &[u8]) -> Result<Vec<&[u8]>, BerError> {
    let mut parser = Parser {
        input: der,
        pos: 0,
        elements_left: usize::MAX,
    };
    let header = parser.header()?;
    let Some(len) = header.len else {
        return Err(parser.error("indefinite length in DER"));
    };
    let end = parser.end_of(len)?;
    let mut out = Vec::new();
    while parser.pos < end {
        let start = parser.pos;
        let h = parser.header()?;
        let len = h
            .len
            .ok_or_else(|| parser.error("indefinite length in DER"))?;
        parser.pos = parser.end_of(len)?;
        if parser.pos > end {
            return Err(parser.error("an element runs past its parent"));
        }
        out.push(&der[start..parser.pos]);
    }
    Ok(out)
}

/// A parsed value, pointing into the input.
enum Node {
    /// Copied as it is, with a fresh length.
    Primitive {
        id: Range<usize>,
        content: Range<usize>,
    },
    /// A BOOLEAN, written `00` or `FF`.
    Boolean { id: Range<usize>, value: bool },
    Constructed {
        id: Range<usize>,
        children: Vec<Node>,
        len: usize,
    },
    /// A string built from segments, written as one primitive string. For a BIT STRING,
    /// `unused_bits` comes first and the segments hold the bits only.
    String {
        tag: u8,
        unused_bits: Option<u8>,
        segments: Vec<Range<usize>>,
        len: usize,
    },
}

impl Node {
    fn content_len(&self) -> usize {
        match self {
            Self::Primitive { content, .. } => content.len(),
            Self::Boolean { .. } => 1,
            Self::Constructed { len, .. } | Self::String { len, .. } => *len,
        }
    }

    fn id_len(&self) -> usize {
        match self {
            Self::Primitive { id, .. }
            | Self::Boolean { id, .. }
            | Self::Constructed { id, .. } => id.len(),
            Self::String { .. } => 1,
        }
    }

    fn encoded_len(&self) -> usize {
        let len = self.content_len();
        self.id_len() + length_len(len) + len
    }

    fn write(&self, input: &[u8], out: &mut Vec<u8>) {
        match self {
            Self::Primitive { id, content } => {
                out.extend_from_slice(&input[id.clone()]);
                write_length(content.len(), out);
                out.extend_from_slice(&input[content.clone()]);
            }
            Self::Boolean { id, value } => {
                out.extend_from_slice(&input[id.clone()]);
                out.extend_from_slice(&[1, if *value { 0xFF } else { 0 }]);
            }
            Self::Constructed { id, children, len } => {
                out.extend_from_slice(&input[id.clone()]);
                write_length(*len, out);
                for child in children {
                    child.write(input, out);
                }
            }
            Self::String {
                tag,
                unused_bits,
                segments,
                len,
            } => {
                out.push(*tag);
                write_length(*len, out);
                out.extend(unused_bits);
                for segment in segments {
                    out.extend_from_slice(&input[segment.clone()]);
                }
            }
        }
    }
}

/// The bytes DER needs for a length.
fn length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

fn write_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

const BOOLEAN: u8 = 0x01;
const BIT_STRING: u8 = 0x03;
const CONSTRUCTED: u8 = 0x20;

/// Universal string types that BER lets a sender split into segments.
fn is_string_type(number: u8) -> bool {
    matches!(number, 3 | 4 | 12 | 18..=22 | 25..=30)
}

struct Header {
    id: Range<usize>,
    constructed: bool,
    /// `None` for the indefinite form.
    len: Option<usize>,
}

impl Header {
    /// The one-byte universal tag number, if this is a universal tag.
    fn universal(&self, input: &[u8]) -> Option<u8> {
        let first = input[self.id.start];
        (self.id.len() == 1 && first & 0xC0 == 0).then_some(first & 0x1F)
    }
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    /// How many more elements may be parsed.
    elements_left: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> BerError {
        BerError {
            offset: self.pos,
            reason,
        }
    }

    fn byte(&mut self) -> Result<u8, BerError> {
        let b = *self
            .input
            .get(self.pos)
            .ok_or_else(|| self.error("unexpected end of data"))?;
        self.pos += 1;
        Ok(b)
    }

    fn end_of(&self, len: usize) -> Result<usize, BerError> {
        self.pos
            .checked_add(len)
            .filter(|&end| end <= self.input.len())
            .ok_or_else(|| self.error("a length runs past the end of the data"))
    }

    /// Reads the identifier and length of an element, counting it against the limit.
    fn header(&mut self) -> Result<Header, BerError> {
        self.elements_left = self
            .elements_left
            .checked_sub(1)
            .ok_or_else(|| self.error("too many elements (a guard against exhausting memory)"))?;
        let start = self.pos;
        let first = self.byte()?;
        if first & 0x1F == 0x1F {
            // High tag number: base-128 digits, the last without the top bit.
            for _ in 0..5 {
                if self.byte()? & 0x80 == 0 {
                    break;
                }
            }
            if self.input[self.pos - 1] & 0x80 != 0 {
                return Err(self.error("tag number too large"));
            }
        }
        let id = start..self.pos;
        let constructed = first & CONSTRUCTED != 0;
        let len = match self.byte()? {
            n if n < 0x80 => Some(n as usize),
            0x80 if constructed => None,
            0x80 => return Err(self.error("indefinite length on a primitive value")),
            0xFF => return Err(self.error("reserved length form")),
            n => {
                let count = (n & 0x7F) as usize;
                let mut len = 0usize;
                for _ in 0..count {
                    let b = self.byte()?;
                    len = len
                        .checked_mul(256)
                        .and_then(|l| l.checked_add(b as usize))
                        .ok_or_else(|| self.error("length too large"))?;
                }
                Some(len)
            }
        };
        Ok(Header {
            id,
            constructed,
            len,
        })
    }

    /// Whether an end-of-contents marker (`00 00`) is next; consumes it if so.
    fn end_of_contents(&mut self) -> Result<bool, BerError> {
        match self.input.get(self.pos..self.pos + 2) {
            Some([0, 0]) => {
                self.pos += 2;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(self.error("indefinite-length value without end-of-contents")),
        }
    }

    /// Parses the elements of a constructed value's contents with `element`, up to its end
    /// (definite) or its end-of-contents marker (indefinite).
    fn elements<T>(
        &mut self,
        len: Option<usize>,
        mut element: impl FnMut(&mut Self) -> Result<T, BerError>,
    ) -> Result<Vec<T>, BerError> {
        let mut out = Vec::new();
        match len {
            Some(len) => {
                let end = self.end_of(len)?;
                while self.pos < end {
                    out.push(element(self)?);
                }
                if self.pos != end {
                    return Err(self.error("an element runs past its parent"));
                }
            }
            None => {
                while !self.end_of_contents()? {
                    out.push(element(self)?);
                }
            }
        }
        Ok(out)
    }

    fn value(&mut self, depth: usize) -> Result<Node, BerError> {
        if depth > MAX_DEPTH {
            return Err(self.error("values nested too deeply"));
        }
        let at = self.pos;
        let header = self.header()?;
        if self.input[at] == 0 {
            return Err(self.error("unexpected end-of-contents marker"));
        }
        let universal = header.universal(self.input);
        if !header.constructed {
            let len = header.len.expect("primitive values have a definite length");
            let content = self.pos..self.end_of(len)?;
            self.pos = content.end;
            if universal == Some(BOOLEAN) && len == 1 {
                return Ok(Node::Boolean {
                    id: header.id,
                    value: self.input[content.start] != 0,
                });
            }
            return Ok(Node::Primitive {
                id: header.id,
                content,
            });
        }
        match universal {
            Some(number) if is_string_type(number) => self.string(number, header.len, depth),
            _ => {
                let children = self.elements(header.len, |p| p.value(depth + 1))?;
                let len = children.iter().map(Node::encoded_len).sum();
                Ok(Node::Constructed {
                    id: header.id,
                    children,
                    len,
                })
            }
        }
    }

    /// A constructed string of universal type `number`: its segments, in order.
    fn string(&mut self, number: u8, len: Option<usize>, depth: usize) -> Result<Node, BerError> {
        let mut segments = Vec::new();
        let mut unused = Vec::new();
        self.segments(number, len, depth, &mut segments, &mut unused)?;
        let unused_bits = if number == BIT_STRING {
            // Every segment but the last must be whole bytes.
            if unused.iter().rev().skip(1).any(|&u| u != 0) {
                return Err(self.error("unused bits inside a segmented BIT STRING"));
            }
            Some(unused.last().copied().unwrap_or(0))
        } else {
            None
        };
        let len =
            segments.iter().map(Range::len).sum::<usize>() + usize::from(unused_bits.is_some());
        Ok(Node::String {
            tag: number,
            unused_bits,
            segments,
            len,
        })
    }

    fn segments(
        &mut self,
        number: u8,
        len: Option<usize>,
        depth: usize,
        segments: &mut Vec<Range<usize>>,
        unused: &mut Vec<u8>,
    ) -> Result<(), BerError> {
        if depth > MAX_DEPTH {
            return Err(self.error("values nested too deeply"));
        }
        self.elements(len, |p| {
            let header = p.header()?;
            if header.universal(p.input) != Some(number) {
                return Err(p.error("a string segment of another type"));
            }
            if header.constructed {
                return p.segments(number, header.len, depth + 1, segments, unused);
            }
            let len = header.len.expect("primitive values have a definite length");
            let mut content = p.pos..p.end_of(len)?;
            p.pos = content.end;
            if number == BIT_STRING {
                let Some(&bits) = p.input.get(content.start).filter(|_| !content.is_empty()) else {
                    return Err(p.error("a BIT STRING segment without its unused-bits byte"));
                };
                if bits > 7 {
                    return Err(p.error("more than 7 unused bits"));
                }
                unused.push(bits);
                content.start += 1;
            }
            segments.push(content);
            Ok(())
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_comes_out_unchanged() {
        let der = hex::decode("300f020101040361626330050101ff0500").unwrap();
        assert_eq!(to_der(&der).unwrap(), der);
        let long = [&[0x04, 0x82, 0x01, 0x00][..], &[7u8; 256]].concat();
        assert_eq!(to_der(&long).unwrap(), long);
    }

    #[test]
    fn indefinite_lengths_become_definite() {
        // SEQUENCE (indefinite) { INTEGER 1, SEQUENCE (indefinite) { NULL } }
        let ber = hex::decode("3080020101308005000000 0000".replace(' ', "")).unwrap();
        assert_eq!(
            to_der(&ber).unwrap(),
            hex::decode("30070201013002 0500".replace(' ', "")).unwrap()
        );
    }

    #[test]
    fn segmented_octet_strings_are_merged_however_nested() {
        // [0] (indefinite) { OCTET STRING (constructed, indefinite) { "ab", (constructed) { "c" }, "" } }
        let ber =
            hex::decode("a080 2480 04026162 2403040163 0400 0000 0000".replace(' ', "")).unwrap();
        assert_eq!(
            to_der(&ber).unwrap(),
            hex::decode("a005 0403616263".replace(' ', "")).unwrap()
        );
    }

    #[test]
    fn segmented_bit_strings_keep_the_last_unused_bits() {
        let ber = hex::decode("2380 030200ff 030204f0 0000".replace(' ', "")).unwrap();
        assert_eq!(to_der(&ber).unwrap(), hex::decode("030304fff0").unwrap());
        let bad = hex::decode("2380 030201fe 030200f0 0000".replace(' ', "")).unwrap();
        assert!(to_der(&bad).is_err());
    }

    #[test]
    fn long_form_lengths_are_shortened_and_booleans_made_ff() {
        let ber = hex::decode("30 83000007 0101 01 0481 01 41".replace(' ', "")).unwrap();
        assert_eq!(
            to_der(&ber).unwrap(),
            hex::decode("3006 0101ff 040141".replace(' ', "")).unwrap()
        );
    }

    #[test]
    fn merged_strings_longer_than_127_bytes_get_long_lengths() {
        let mut ber = vec![0x24, 0x80];
        for _ in 0..3 {
            ber.extend_from_slice(&[0x04, 0x64]);
            ber.extend_from_slice(&[0x5A; 100]);
        }
        ber.extend_from_slice(&[0, 0]);
        let der = to_der(&ber).unwrap();
        assert_eq!(&der[..4], &[0x04, 0x82, 0x01, 0x2C]);
        assert_eq!(der.len(), 4 + 300);
    }

    #[test]
    fn broken_input_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            &[0x30],
            &[0x30, 0x80, 0x05, 0x00],             // no end-of-contents
            &[0x04, 0x80, 0x00, 0x00],             // indefinite primitive
            &[0x30, 0x03, 0x04, 0x05, 0x00],       // child past parent
            &[0x24, 0x80, 0x02, 0x01, 0x00, 0, 0], // INTEGER inside an OCTET STRING
            &[0x05, 0x00, 0x05],                   // trailing bytes
            &[0x00, 0x00],
            &[0x04, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        ] {
            assert!(to_der(bad).is_err(), "{bad:02x?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 100)
            .flatten()
            .chain(std::iter::repeat_n(0u8, 200))
            .collect();
        assert!(to_der(&deep).is_err());
    }

    #[test]
    fn the_number_of_elements_is_capped() {
        // SEQUENCE { NULL × 10 }: 11 elements.
        let nulls = [&[0x30, 20][..], &[0x05, 0x00].repeat(10)].concat();
        assert_eq!(to_der_with_limit(&nulls, 11).unwrap(), nulls);
        let err = to_der_with_limit(&nulls, 10).unwrap_err();
        assert!(err.reason.contains("too many elements"), "{err}");
        // OCTET STRING (constructed, indefinite) { 7 empty segments, a constructed segment
        // holding an eighth }: 10 elements; the end-of-contents marker does not count.
        let segments = [
            &[0x24, 0x80][..],
            &[0x04, 0x00].repeat(7),
            &[0x24, 0x02, 0x04, 0x00],
            &[0x00, 0x00],
        ]
        .concat();
        assert_eq!(to_der_with_limit(&segments, 10).unwrap(), [0x04, 0x00]);
        assert!(to_der_with_limit(&segments, 9).is_err());
        // to_der holds to MAX_ELEMENTS: a SEQUENCE of as many NULLs is one element too many.
        let sequence_of_nulls = |count: usize| {
            let mut ber = vec![0x30, 0x84];
            ber.extend_from_slice(&(2 * count as u32).to_be_bytes());
            ber.extend(std::iter::repeat_n([0x05u8, 0x00], count).flatten());
            ber
        };
        let err = to_der(&sequence_of_nulls(MAX_ELEMENTS)).unwrap_err();
        assert!(err.reason.contains("too many elements"), "{err}");
        let most = sequence_of_nulls(MAX_ELEMENTS - 1);
        assert_eq!(to_der(&most).unwrap().len(), most.len() - 1);
    }

    #[test]
    fn children_are_the_exact_element_encodings() {
        let der = hex::decode("3008 020101 a003 040100".replace(' ', "")).unwrap();
        let parts = children(&der).unwrap();
        assert_eq!(parts, vec![&der[2..5], &der[5..10]]);
        assert!(children(&[0x30, 0x03, 0x02, 0x05, 0x00]).is_err());
    }
}
