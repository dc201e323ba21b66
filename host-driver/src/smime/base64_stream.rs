//! Streaming base64 for MIME bodies: encoding into 76-character CRLF lines, and decoding
//! that ignores line breaks (pushed chunk by chunk, or pulled as a reader).
//!
//! `base64-simd` does the coding (vector code where the CPU has it, several times the
//! speed of the `base64` crate on MIME-sized bodies); this module does the lines.

use std::io::{self, BufRead, Read, Write};

use base64_simd::{AsOut, STANDARD};

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
            lines: Vec::with_capacity(2 * BATCH),
        }
    }

    /// The writer underneath, with every whole line written so far in it (for a buffer
    /// that the caller drains as it fills).
    pub fn get_mut(&mut self) -> io::Result<&mut W> {
        self.write_lines()?;
        Ok(&mut self.out)
    }

    /// Encodes `input` (whole lines, and at most one partial line at its end) in one go,
    /// then moves the lines apart, last first, to put each one's CRLF after it.
    fn push_lines(&mut self, input: &[u8]) {
        if input.is_empty() {
            return;
        }
        let count = input.len().div_ceil(LINE_INPUT);
        let text_len = STANDARD.encoded_length(input.len());
        let at = self.lines.len();
        self.lines.resize(at + text_len + 2 * count, 0);
        let encoded = STANDARD.encode(input, self.lines[at..at + text_len].as_out());
        debug_assert_eq!(encoded.len(), text_len);
        for line in (0..count).rev() {
            let start = at + line * LINE;
            let end = (start + LINE).min(at + text_len);
            let to = at + line * (LINE + 2);
            self.lines.copy_within(start..end, to);
            let crlf = to + (end - start);
            self.lines[crlf..crlf + 2].copy_from_slice(b"\r\n");
        }
    }

    /// Writes out the encoded lines. What the writer took is dropped even when it then
    /// fails, so a caller who tries again gets no line twice.
    fn write_lines(&mut self) -> io::Result<()> {
        let mut written = 0;
        let result = loop {
            if written == self.lines.len() {
                break Ok(());
            }
            match self.out.write(&self.lines[written..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.lines.drain(..written);
        result
    }

    /// Encodes the last partial line and ends it; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let tail = std::mem::take(&mut self.pending);
        self.push_lines(&tail);
        self.write_lines()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Base64LineWriter<W> {
    /// Takes as much of `buf` as fills the batch, at least one byte. A full batch goes
    /// out first, before any of `buf` is taken: an error then means nothing was written,
    /// as [`Write::write`] promises, and what waits stays under a batch and a line.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.lines.len() >= BATCH {
            self.write_lines()?;
        }
        let mut rest = buf;
        if !self.pending.is_empty() {
            let take = (LINE_INPUT - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() < LINE_INPUT {
                return Ok(buf.len());
            }
            let line = std::mem::take(&mut self.pending);
            self.push_lines(&line);
            self.pending = line;
            self.pending.clear();
        }
        let room = (BATCH.saturating_sub(self.lines.len())).div_ceil(LINE + 2);
        let whole = (rest.len() / LINE_INPUT).min(room) * LINE_INPUT;
        self.push_lines(&rest[..whole]);
        rest = &rest[whole..];
        if rest.len() < LINE_INPUT {
            self.pending.extend_from_slice(rest);
            rest = &[];
        }
        Ok(buf.len() - rest.len())
    }

    /// Writes the whole lines so far; a partial line waits for its end.
    fn flush(&mut self) -> io::Result<()> {
        self.write_lines()?;
        self.out.flush()
    }
}

/// Appends `text` to `out` without its ASCII whitespace (MIME's line breaks, and any
/// stray blanks).
///
/// Hand-written because the crates that strip whitespace do it a byte at a time: here
/// eight bytes are tested at once for a byte at or below the space (where all of ASCII's
/// whitespace is), and runs of words without one, most of a MIME line, are copied whole.
fn push_without_whitespace(text: &[u8], out: &mut Vec<u8>) {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH_BITS: u64 = u64::from_ne_bytes([0x80; 8]);
    out.reserve(text.len());
    let mut run_start = 0;
    let mut words = text.chunks_exact(8);
    for (i, word) in (&mut words).enumerate() {
        let w = u64::from_ne_bytes(word.try_into().expect("chunks of eight"));
        // Some byte is below 0x21 exactly when this is non-zero (the bit trick "has a
        // byte less than n", exact for n up to 128).
        if w.wrapping_sub(ONES * 0x21) & !w & HIGH_BITS != 0 {
            out.extend_from_slice(&text[run_start..i * 8]);
            out.extend(word.iter().copied().filter(|b| !b.is_ascii_whitespace()));
            run_start = (i + 1) * 8;
        }
    }
    let tail_start = text.len() - words.remainder().len();
    out.extend_from_slice(&text[run_start..tail_start]);
    out.extend(
        words
            .remainder()
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace()),
    );
}

fn invalid_base64(_: base64_simd::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "the base64 text is not valid")
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
        push_without_whitespace(chunk, &mut self.pending);
        let whole = self.pending.len() / 4 * 4;
        // Padding can only end the data; keep a padded group until the end.
        let usable = if memchr::memchr(b'=', &self.pending[..whole]).is_some() {
            whole.saturating_sub(4)
        } else {
            whole
        };
        STANDARD
            .decode_append(&self.pending[..usable], out)
            .map_err(invalid_base64)?;
        self.pending.drain(..usable);
        Ok(())
    }

    pub fn finish(self, out: &mut Vec<u8>) -> io::Result<()> {
        STANDARD
            .decode_append(&self.pending, out)
            .map_err(invalid_base64)
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
        let encoded = STANDARD.encode_to_string(&data);
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

    /// A writer that fails every `fail_every`th write, having taken nothing.
    struct Flaky {
        out: Vec<u8>,
        writes: usize,
        fail_every: usize,
    }

    impl Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            if self.writes.is_multiple_of(self.fail_every) {
                return Err(io::Error::other("the disk is full, for now"));
            }
            self.out.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn encoded_lines(data: &[u8]) -> Vec<u8> {
        STANDARD
            .encode_to_string(data)
            .as_bytes()
            .chunks(LINE)
            .flat_map(|line| [line, b"\r\n"].concat())
            .collect()
    }

    #[test]
    fn small_writes_keep_at_most_a_batch_and_a_line_waiting() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
        for piece in [1, 56] {
            let mut w = Base64LineWriter::new(Vec::new());
            let mut most = 0;
            for chunk in data.chunks(piece) {
                w.write_all(chunk).unwrap();
                most = most.max(w.lines.len() + w.pending.len());
            }
            // A batch, the line that completed it, and the input short of the next.
            let bound = BATCH + (LINE + 2) + LINE_INPUT;
            assert!(most < bound, "{most} bytes waited, pieces of {piece}");
            assert!(!w.out.is_empty(), "batches went out before the end");
            assert_eq!(
                w.finish().unwrap(),
                encoded_lines(&data),
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn a_write_that_fails_has_taken_nothing() {
        let data: Vec<u8> = (0..400_000u32).map(|i| (i * 11 % 241) as u8).collect();
        for piece in [1, 56, 1000, 300_000] {
            let flaky = Flaky {
                out: Vec::new(),
                writes: 0,
                fail_every: 2,
            };
            let mut w = Base64LineWriter::new(flaky);
            let mut failures = 0;
            for mut chunk in data.chunks(piece) {
                while !chunk.is_empty() {
                    match w.write(chunk) {
                        Ok(n) => chunk = &chunk[n..],
                        Err(_) => failures += 1,
                    }
                }
            }
            assert!(failures > 0, "pieces of {piece}");
            while w.flush().is_err() {}
            w.out.fail_every = usize::MAX;
            assert_eq!(
                w.finish().unwrap().out,
                encoded_lines(&data),
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn any_ascii_whitespace_is_skipped_and_other_bytes_are_not() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 13 % 256) as u8).collect();
        let clean = STANDARD.encode_to_string(&data);
        // Whitespace of every kind, alone and in runs, at places that fall inside and
        // across the eight-byte words.
        let mut text = Vec::new();
        for (i, &b) in clean.as_bytes().iter().enumerate() {
            text.push(b);
            match i % 11 {
                3 => text.push(b' '),
                5 => text.extend_from_slice(b"\t\x0c"),
                9 => text.extend_from_slice(b"\r\n \r\n"),
                _ => {}
            }
        }
        for piece in [1, 7, 8, 9, 64, 10_000] {
            let mut d = Base64Decoder::default();
            let mut back = Vec::new();
            for chunk in text.chunks(piece) {
                d.push(chunk, &mut back).unwrap();
            }
            d.finish(&mut back).unwrap();
            assert_eq!(back, data, "pieces of {piece}");
        }
        let mut control = clean.into_bytes();
        control[40] = 0x01;
        let mut d = Base64Decoder::default();
        let mut back = Vec::new();
        let pushed = d.push(&control, &mut back);
        assert!(pushed.is_err() || d.finish(&mut back).is_err());
    }
}
