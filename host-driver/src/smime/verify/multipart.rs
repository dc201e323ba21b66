//! Reading a `multipart/signed` body (RFC 1847, RFC 8551 §3.5) as it streams: the first
//! part is canonicalised (CRLF line endings), hashed line by line and written out as it is
//! read, and only the signature part is held in memory. The signature comes after the
//! content, so the content is hashed with every algorithm the `micalg` parameter names (all
//! of SHA-1, SHA-256, SHA-384 and SHA-512 when it names none we know).

use std::io::{self, BufRead, Write};

use super::signed_data::{Content, SignedMessage, decode_signed_data};
use super::{SINK_BLOCK, VerifyError, malformed};
use crate::hash::{self, HashAlg, Hasher};
use crate::smime::base64_stream::Base64Decoder;
use crate::smime::mime::{self, ContentType};

/// The most bytes the signature part (the CMS SignedData with its certificates) may decode to.
pub const MAX_SIGNATURE_BYTES: usize = 4 << 20;

/// Lines longer than this are read in pieces (a boundary line is never this long).
const MAX_SEGMENT: usize = 8 << 10;

/// Reads the body of a `multipart/signed` message: hashes the first part as it streams,
/// then decodes the signature part.
pub(super) fn read_multipart(
    input: &mut impl BufRead,
    content_type: &ContentType,
    content_out: Option<&mut dyn Write>,
) -> Result<SignedMessage, VerifyError> {
    let protocol = content_type
        .param("protocol")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if protocol != "application/pkcs7-signature" && protocol != "application/x-pkcs7-signature" {
        let what = if protocol.is_empty() {
            "no protocol".to_owned()
        } else {
            protocol
        };
        return Err(VerifyError::NotSigned(format!(
            "multipart/signed with {what}, not S/MIME"
        )));
    }
    let boundary = content_type
        .param("boundary")
        .filter(|b| !b.is_empty())
        .ok_or_else(|| malformed("multipart/signed without a boundary"))?;
    let boundary = boundary.as_bytes();
    let mut lines = LineReader::new(input);

    // The preamble, up to the first delimiter.
    loop {
        let Some(line) = lines.next()? else {
            return Err(malformed("the multipart/signed body has no part"));
        };
        if line.starts_line && delimiter(line.text, boundary).is_some() {
            break;
        }
    }

    // The signed part: everything up to the CRLF before the next delimiter, which belongs
    // to the delimiter (RFC 2046 §5.1.1), so each line ending is held back until the next
    // line is known not to be one.
    let mut sink = ContentSink::new(
        &hashes_for_micalg(content_type.param("micalg")),
        content_out,
    );
    let mut held_line_ending = false;
    loop {
        let Some(line) = lines.next()? else {
            return Err(malformed("the message ends inside the signed part"));
        };
        if line.starts_line {
            match delimiter(line.text, boundary) {
                Some(false) => break,
                Some(true) => {
                    return Err(malformed(
                        "the multipart/signed message has no signature part",
                    ));
                }
                None => {}
            }
        }
        if held_line_ending {
            sink.write(b"\r\n")?;
        }
        sink.write(line.text)?;
        held_line_ending = line.ended;
    }
    let digests = sink.finish()?;

    // The signature part.
    let part_headers = mime::read_headers(lines.input)?;
    let part_type = mime::content_type(&part_headers).mime_type;
    if part_type != "application/pkcs7-signature" && part_type != "application/x-pkcs7-signature" {
        return Err(malformed(format!(
            "the second part of the multipart/signed message is {part_type}, not a signature"
        )));
    }
    let encoding = mime::transfer_encoding(&part_headers);
    if encoding != "base64" {
        return Err(malformed(format!(
            "the signature part is in {encoding}, expected base64"
        )));
    }
    let mut decoder = Base64Decoder::default();
    let mut der = Vec::new();
    loop {
        let Some(line) = lines.next()? else {
            return Err(malformed("the signature part has no closing boundary"));
        };
        if line.starts_line {
            match delimiter(line.text, boundary) {
                Some(true) => break,
                // RFC 1847 §2.1: the content and the signature, nothing else. A part after
                // the signature would be shown as if it were signed.
                Some(false) => {
                    return Err(malformed(
                        "a multipart/signed message has exactly two parts (RFC 1847), the content and the signature, but this one has another part after the signature",
                    ));
                }
                None => {}
            }
        }
        decoder
            .push(line.text, &mut der)
            .map_err(|e| malformed(format!("the signature part is not base64: {e}")))?;
        if der.len() > MAX_SIGNATURE_BYTES {
            return Err(malformed("the signature part is larger than 4 MiB"));
        }
    }
    decoder
        .finish(&mut der)
        .map_err(|e| malformed(format!("the signature part is not base64: {e}")))?;

    let (signed_data, signer_infos) = decode_signed_data(&der)?;
    if signed_data.encap_content_info.econtent.is_some() {
        return Err(malformed(
            "the detached signature of a multipart/signed message carries content of its own",
        ));
    }
    Ok(SignedMessage {
        signed_data,
        signer_infos,
        content: Content::Digests(digests),
    })
}

/// Whether `text` (a line without its ending) is a delimiter of `boundary`: `Some(true)` for
/// the close delimiter. Trailing blanks (transport padding) are allowed.
fn delimiter(text: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = text.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    rest.iter()
        .all(|&b| b == b' ' || b == b'\t')
        .then_some(close)
}

/// The hashes to compute for the content, from the `micalg` parameter (RFC 8551 §3.5.3):
/// those it names, or all when it names one we do not know (or is absent).
fn hashes_for_micalg(micalg: Option<&str>) -> Vec<HashAlg> {
    let Some(micalg) = micalg else {
        return hash::ALL.to_vec();
    };
    let named: Option<Vec<HashAlg>> = micalg.split(',').map(hash::from_name).collect();
    named
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| hash::ALL.to_vec())
}

/// A piece of a line: at most [`MAX_SEGMENT`] bytes, without its line ending.
struct Line<'a> {
    text: &'a [u8],
    /// It ended with LF (or CRLF), which is not in `text`.
    ended: bool,
    /// It begins a line (a long line comes in several pieces).
    starts_line: bool,
}

/// Reads a body in lines, long lines in pieces, so that memory is bounded by
/// [`MAX_SEGMENT`] whatever the input. A CR LF pair is never split between pieces.
struct LineReader<'r, R: BufRead> {
    input: &'r mut R,
    buf: Vec<u8>,
    starts_line: bool,
}

impl<'r, R: BufRead> LineReader<'r, R> {
    fn new(input: &'r mut R) -> Self {
        Self {
            input,
            buf: Vec::with_capacity(MAX_SEGMENT + 1),
            starts_line: true,
        }
    }

    fn next(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                break;
            }
            let room = MAX_SEGMENT - self.buf.len();
            let window = &available[..available.len().min(room)];
            if let Some(i) = window.iter().position(|&b| b == b'\n') {
                self.buf.extend_from_slice(&window[..=i]);
                self.input.consume(i + 1);
                break;
            }
            let n = window.len();
            self.buf.extend_from_slice(window);
            self.input.consume(n);
            if self.buf.len() == MAX_SEGMENT {
                // Keep a CR with the LF that follows it.
                if self.buf.last() == Some(&b'\r') && self.input.fill_buf()?.first() == Some(&b'\n')
                {
                    self.buf.push(b'\n');
                    self.input.consume(1);
                }
                break;
            }
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        let starts_line = self.starts_line;
        let ended = self.buf.last() == Some(&b'\n');
        mime::strip_line_ending(&mut self.buf);
        self.starts_line = ended;
        Ok(Some(Line {
            text: &self.buf,
            ended,
            starts_line,
        }))
    }
}

/// Where the signed content goes: every hasher, and the caller's output, in blocks.
struct ContentSink<'w> {
    hashers: Vec<(HashAlg, Hasher)>,
    out: Option<&'w mut dyn Write>,
    block: Vec<u8>,
}

impl<'w> ContentSink<'w> {
    fn new(hashes: &[HashAlg], out: Option<&'w mut dyn Write>) -> Self {
        Self {
            hashers: hashes.iter().map(|&h| (h, Hasher::new(h))).collect(),
            out,
            block: Vec::with_capacity(SINK_BLOCK),
        }
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if self.block.len() + data.len() > SINK_BLOCK {
            self.flush()?;
        }
        if data.len() >= SINK_BLOCK {
            return self.emit(data);
        }
        self.block.extend_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let block = std::mem::take(&mut self.block);
        self.emit(&block)?;
        self.block = block;
        self.block.clear();
        Ok(())
    }

    fn emit(&mut self, data: &[u8]) -> io::Result<()> {
        for (_, hasher) in &mut self.hashers {
            hasher.update(data);
        }
        if let Some(out) = self.out.as_mut() {
            out.write_all(data)?;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<Vec<(HashAlg, Vec<u8>)>> {
        self.flush()?;
        if let Some(out) = self.out.as_mut() {
            out.flush()?;
        }
        Ok(self
            .hashers
            .into_iter()
            .map(|(alg, h)| (alg, h.finish()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the multipart reader hashes (and writes out) of `body`; its signature part is
    /// garbage, so reading fails after the content has streamed.
    fn signed_part(body: &[u8]) -> Vec<u8> {
        let ct = ContentType::parse(
            "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=b",
        );
        let mut out = Vec::new();
        let err = read_multipart(&mut &body[..], &ct, Some(&mut out))
            .err()
            .expect("the CMS part is garbage");
        assert!(matches!(err, VerifyError::Malformed(_)), "{err}");
        out
    }

    #[test]
    fn the_crlf_before_the_delimiter_belongs_to_it() {
        let tail = "--b\nContent-Type: application/pkcs7-signature\nContent-Transfer-Encoding: base64\n\nMAA=\n--b--\n";
        let lf = format!("preamble\n--b\nContent-Type: text/plain\n\nline one\nbare\rcr\n\n{tail}");
        assert_eq!(
            signed_part(lf.as_bytes()),
            b"Content-Type: text/plain\r\n\r\nline one\r\nbare\rcr\r\n"
        );
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(signed_part(crlf.as_bytes()), signed_part(lf.as_bytes()));
        // A part without a final line ending, and a boundary-like line inside.
        let tight = format!("--b\nx\n--bb\n --b\n--b \n{}", &tail[4..]);
        assert_eq!(signed_part(tight.as_bytes()), b"x\r\n--bb\r\n --b");
    }

    #[test]
    fn delimiters_need_the_exact_boundary_at_a_line_start() {
        assert_eq!(delimiter(b"--abc", b"abc"), Some(false));
        assert_eq!(delimiter(b"--abc--", b"abc"), Some(true));
        assert_eq!(delimiter(b"--abc  \t", b"abc"), Some(false));
        assert_eq!(delimiter(b"--abcd", b"abc"), None);
        assert_eq!(delimiter(b"-abc", b"abc"), None);
        assert_eq!(delimiter(b" --abc", b"abc"), None);
    }

    #[test]
    fn long_lines_come_in_pieces_and_crlf_is_never_split() {
        let mut text = vec![b'x'; MAX_SEGMENT - 1];
        text.extend_from_slice(b"\r\n--b\n");
        let mut input = &text[..];
        let mut lines = LineReader::new(&mut input);
        let first = lines.next().unwrap().unwrap();
        assert_eq!(
            (first.text.len(), first.ended, first.starts_line),
            (MAX_SEGMENT - 1, true, true)
        );
        let second = lines.next().unwrap().unwrap();
        assert_eq!((second.text, second.starts_line), (&b"--b"[..], true));

        let long = vec![b'y'; 3 * MAX_SEGMENT + 5];
        let mut input = &long[..];
        let mut lines = LineReader::new(&mut input);
        let mut starts = Vec::new();
        while let Some(line) = lines.next().unwrap() {
            assert!(line.text.len() <= MAX_SEGMENT);
            starts.push(line.starts_line);
        }
        assert_eq!(starts, [true, false, false, false]);
    }

    #[test]
    fn micalg_picks_the_hashes() {
        assert_eq!(hashes_for_micalg(Some("sha-256")), [HashAlg::Sha256]);
        assert_eq!(
            hashes_for_micalg(Some("SHA-384, sha512")),
            [HashAlg::Sha384, HashAlg::Sha512]
        );
        assert_eq!(hashes_for_micalg(Some("md5")).len(), 4);
        assert_eq!(hashes_for_micalg(None).len(), 4);
    }
}
