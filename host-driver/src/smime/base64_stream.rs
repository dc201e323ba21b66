//! Streaming base64 for MIME bodies: encoding into 76-character CRLF lines, and decoding
//! that ignores line breaks (pushed chunk by chunk, or pulled as a reader).

use std::io::{self, BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// MIME's line length for base64 (RFC 2045 §6.8).
pub const LINE: usize = 76;

/// Writes base64 of everything written to it, in lines of 76 characters and CRLF.
pub struct Base64LineWriter<W: Write> {
    out: W,
    pending: Vec<u8>,
    column: usize,
}

impl<W: Write> Base64LineWriter<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            pending: Vec::with_capacity(3),
            column: 0,
        }
    }

    /// The writer underneath (for a buffer that the caller drains as it fills).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn emit(&mut self, encoded: &[u8]) -> io::Result<()> {
        let mut rest = encoded;
        while !rest.is_empty() {
            let n = (LINE - self.column).min(rest.len());
            self.out.write_all(&rest[..n])?;
            self.column += n;
            rest = &rest[n..];
            if self.column == LINE {
                self.out.write_all(b"\r\n")?;
                self.column = 0;
            }
        }
        Ok(())
    }

    /// Flushes the last partial group and ends the last line; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let tail = STANDARD.encode(&self.pending);
        self.emit(tail.as_bytes())?;
        if self.column > 0 {
            self.out.write_all(b"\r\n")?;
        }
        Ok(self.out)
    }
}

impl<W: Write> Write for Base64LineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut data = std::mem::take(&mut self.pending);
        data.extend_from_slice(buf);
        let whole = data.len() / 3 * 3;
        let encoded = STANDARD.encode(&data[..whole]);
        self.emit(encoded.as_bytes())?;
        self.pending = data[whole..].to_vec();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Decodes base64 fed in arbitrary pieces, skipping whitespace.
#[derive(Default)]
pub struct Base64Decoder {
    pending: Vec<u8>,
}

impl Base64Decoder {
    /// Decodes what it can of `chunk` into `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        self.pending
            .extend(chunk.iter().copied().filter(|b| !b.is_ascii_whitespace()));
        let whole = self.pending.len() / 4 * 4;
        // Padding can only end the data; keep a padded group until the end.
        let usable = if self.pending[..whole].contains(&b'=') {
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
}
