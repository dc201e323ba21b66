//! Streaming base64 for MIME bodies: encoding into 76-character CRLF lines, and decoding
//! that ignores line breaks (pushed chunk by chunk, or pulled as a reader).

use std::io::{self, BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// MIME's line length for base64 (RFC 2045 §6.8).
pub const LINE: usize = 76;

/// The input bytes one line of [`LINE`] characters holds.
const LINE_INPUT: usize = LINE / 4 * 3;

/// How much encoded text gathers before it goes to the writer underneath: writes of
/// about this size, not one per line.
const BATCH: usize = 64 * 1024;

/// Writes base64 of everything written to it, in lines of 76 characters and CRLF.
///
/// A line is 57 input bytes, so whole lines are encoded straight from the input, each
/// into its place in a batch of lines; only input short of a line waits.
pub struct Base64LineWriter<W: Write> {
    out: W,
    /// Input short of a whole line.
    pending: Vec<u8>,
    /// Encoded lines not yet written to `out`.
    lines: Vec<u8>,
}

impl<W: Write> Base64LineWriter<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            pending: Vec::with_capacity(LINE_INPUT),
            lines: Vec::with_capacity(BATCH + LINE + 2),
        }
    }

    /// The writer underneath, with every whole line written so far in it (for a buffer
    /// that the caller drains as it fills).
    pub fn get_mut(&mut self) -> io::Result<&mut W> {
        self.write_lines()?;
        Ok(&mut self.out)
    }

    /// Encodes `input` (at most one line's worth) as a line of its own.
    fn push_line(&mut self, input: &[u8]) {
        let at = self.lines.len();
        self.lines.resize(at + input.len().div_ceil(3) * 4, 0);
        let written = STANDARD
            .encode_slice(input, &mut self.lines[at..])
            .expect("the line was sized for its base64");
        self.lines.truncate(at + written);
        self.lines.extend_from_slice(b"\r\n");
    }

    fn write_lines(&mut self) -> io::Result<()> {
        self.out.write_all(&self.lines)?;
        self.lines.clear();
        Ok(())
    }

    /// Encodes the last partial line and ends it; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.pending.is_empty() {
            let tail = std::mem::take(&mut self.pending);
            self.push_line(&tail);
        }
        self.write_lines()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Base64LineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        if !self.pending.is_empty() {
            let take = (LINE_INPUT - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() < LINE_INPUT {
                return Ok(buf.len());
            }
            let line = std::mem::take(&mut self.pending);
            self.push_line(&line);
            self.pending = line;
            self.pending.clear();
        }
        let mut lines = rest.chunks_exact(LINE_INPUT);
        for line in &mut lines {
            self.push_line(line);
            if self.lines.len() >= BATCH {
                self.write_lines()?;
            }
        }
        self.pending.extend_from_slice(lines.remainder());
        Ok(buf.len())
    }

    /// Writes the whole lines so far; a partial line waits for its end.
    fn flush(&mut self) -> io::Result<()> {
        self.write_lines()?;
        self.out.flush()
    }
}

/// Base64's whitespace, which MIME's line breaks (and stray blanks) are made of.
fn is_whitespace(b: u8) -> bool {
    b.is_ascii_whitespace()
}

/// Decodes base64 fed in arbitrary pieces, skipping whitespace.
#[derive(Default)]
pub struct Base64Decoder {
    /// Text without whitespace, not yet decoded.
    pending: Vec<u8>,
}

impl Base64Decoder {
    /// Decodes what it can of `chunk` into `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        // Every byte is stored, and the end moves past it only if it is not whitespace:
        // no branch per byte, which line breaks every 78 bytes would make mispredict.
        let mut end = self.pending.len();
        self.pending.resize(end + chunk.len(), 0);
        for &b in chunk {
            self.pending[end] = b;
            end += usize::from(!is_whitespace(b));
        }
        self.pending.truncate(end);
        let whole = self.pending.len() / 4 * 4;
        // Padding can only end the data; keep a padded group until the end.
        let usable = if memchr::memchr(b'=', &self.pending[..whole]).is_some() {
            whole.saturating_sub(4)
        } else {
            whole
        };
        STANDARD
            .decode_vec(&self.pending[..usable], out)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.pending.drain(..usable);
        Ok(())
    }

    pub fn finish(self, out: &mut Vec<u8>) -> io::Result<()> {
        STANDARD
            .decode_vec(&self.pending, out)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// The decoded bytes of a base64 stream, read as they are needed.
pub struct Base64Reader<R: BufRead> {
    input: R,
    /// `None` once the input has ended and the last group was decoded.
    decoder: Option<Base64Decoder>,
    decoded: Vec<u8>,
    /// How much of `decoded` was handed out.
    taken: usize,
}

impl<R: BufRead> Base64Reader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            decoder: Some(Base64Decoder::default()),
            decoded: Vec::new(),
            taken: 0,
        }
    }
}

impl<R: BufRead> Read for Base64Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.taken == self.decoded.len() {
            self.decoded.clear();
            self.taken = 0;
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                let decoder = self.decoder.take().expect("checked above");
                decoder.finish(&mut self.decoded)?;
                continue;
            }
            let n = chunk.len();
            decoder.push(chunk, &mut self.decoded)?;
            self.input.consume(n);
        }
        let n = buf.len().min(self.decoded.len() - self.taken);
        buf[..n].copy_from_slice(&self.decoded[self.taken..self.taken + n]);
        self.taken += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_76_characters_and_round_trip() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut w = Base64LineWriter::new(Vec::new());
        for piece in data.chunks(17) {
            w.write_all(piece).unwrap();
        }
        let text = w.finish().unwrap();
        let lines: Vec<&[u8]> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert!(
            lines[..lines.len() - 1]
                .iter()
                .all(|l| l.len() == LINE + 1 && l.ends_with(b"\r"))
        );
        let mut d = Base64Decoder::default();
        let mut back = Vec::new();
        for piece in text.chunks(13) {
            d.push(piece, &mut back).unwrap();
        }
        d.finish(&mut back).unwrap();
        assert_eq!(back, data);
        let mut read = Vec::new();
        Base64Reader::new(io::BufReader::with_capacity(7, &text[..]))
            .read_to_end(&mut read)
            .unwrap();
        assert_eq!(read, data);
    }

    #[test]
    fn lines_are_the_same_however_the_input_is_cut() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let encoded = STANDARD.encode(&data);
        let expected: Vec<u8> = encoded
            .as_bytes()
            .chunks(LINE)
            .flat_map(|line| [line, b"\r\n"].concat())
            .collect();
        for piece in [1, 56, 57, 58, 1000, 100_000] {
            let mut w = Base64LineWriter::new(Vec::new());
            for chunk in data.chunks(piece) {
                w.write_all(chunk).unwrap();
                w.flush().unwrap();
            }
            assert_eq!(w.finish().unwrap(), expected, "pieces of {piece}");
        }
    }
}
