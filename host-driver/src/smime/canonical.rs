//! MIME canonical form (RFC 8551 §3.1.1): every line ends in CRLF. Converts a stream
//! chunk by chunk, so nothing but one pending CR is ever held back.

/// Turns bare LF into CRLF, keeps CRLF as it is.
#[derive(Debug, Default)]
pub struct CrlfCanonicalizer {
    /// The previous chunk ended with CR.
    pending_cr: bool,
}

impl CrlfCanonicalizer {
    /// Appends the canonical form of `chunk` to `out`: whole runs between line feeds are
    /// copied at once, so the cost is per line, not per byte.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.push_seeing_lines(chunk, out, |_| {});
    }

    /// [`Self::push`], calling `at_lf` with the index of each line feed in `chunk`: one
    /// walk over the line feeds serves whoever else needs them.
    fn push_seeing_lines(&mut self, chunk: &[u8], out: &mut Vec<u8>, mut at_lf: impl FnMut(usize)) {
        out.reserve(chunk.len() + chunk.len() / 32);
        let mut run_start = 0;
        for lf in memchr::memchr_iter(b'\n', chunk) {
            at_lf(lf);
            let after_cr = match lf.checked_sub(1) {
                Some(before) => chunk[before] == b'\r',
                None => self.pending_cr,
            };
            if !after_cr {
                out.extend_from_slice(&chunk[run_start..lf]);
                out.push(b'\r');
                // The LF starts the next run.
                run_start = lf;
            }
        }
        out.extend_from_slice(&chunk[run_start..]);
        if let Some(&last) = chunk.last() {
            self.pending_cr = last == b'\r';
        }
    }
}

/// The canonical form of a whole buffer.
pub fn to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    CrlfCanonicalizer::default().push(data, &mut out);
    out
}

/// What a body needs to travel through 7-bit mail.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BodyScan {
    pub eight_bit: bool,
    pub long_lines: bool,
    pub nul: bool,
    current_line: usize,
}

impl BodyScan {
    /// RFC 5322's limit, without the CRLF.
    pub const MAX_LINE: usize = 998;

    pub fn push(&mut self, chunk: &[u8]) {
        self.push_bytes(chunk);
        if self.long_lines {
            return;
        }
        let mut line_start = 0;
        for lf in memchr::memchr_iter(b'\n', chunk) {
            self.line_ends(&chunk[line_start..lf]);
            line_start = lf + 1;
        }
        self.line_goes_on(&chunk[line_start..]);
    }

    /// Scans `chunk` and appends its canonical form to `out`, walking its line feeds once
    /// for both: a body streamed as it is, while it is not known to be 7-bit safe.
    pub fn push_canonicalizing(
        &mut self,
        chunk: &[u8],
        canonical: &mut CrlfCanonicalizer,
        out: &mut Vec<u8>,
    ) {
        self.push_bytes(chunk);
        let mut line_start = 0;
        canonical.push_seeing_lines(chunk, out, |lf| {
            self.line_ends(&chunk[line_start..lf]);
            line_start = lf + 1;
        });
        self.line_goes_on(&chunk[line_start..]);
    }

    /// Notes NUL and 8-bit bytes.
    fn push_bytes(&mut self, chunk: &[u8]) {
        // The lowest and highest byte tell NUL and 8-bit; a fold without early exit
        // is one the compiler turns into vector code.
        let (low, high) = chunk
            .iter()
            .fold((u8::MAX, 0u8), |(low, high), &b| (low.min(b), high.max(b)));
        self.nul |= low == 0;
        self.eight_bit |= high >= 0x80;
    }

    // A line's length leaves out its CRs; they are counted only where the line's length
    // in bytes alone would be too long, or where it goes on in the next chunk.

    /// A line, or its last part, that ends at a line feed.
    fn line_ends(&mut self, line: &[u8]) {
        if self.current_line + line.len() > Self::MAX_LINE {
            self.long_lines |= self.current_line + without_cr(line) > Self::MAX_LINE;
        }
        self.current_line = 0;
    }

    /// The start of a line that goes on in the next chunk.
    fn line_goes_on(&mut self, part: &[u8]) {
        self.current_line += without_cr(part);
        self.long_lines |= self.current_line > Self::MAX_LINE;
    }

    /// Whether the body must be re-encoded (base64) to be 7-bit safe.
    pub fn needs_encoding(&self) -> bool {
        self.eight_bit || self.long_lines || self.nul
    }
}

/// The number of bytes in `bytes` other than CR.
fn without_cr(bytes: &[u8]) -> usize {
    bytes.len() - bytes.iter().filter(|&&b| b == b'\r').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lf_becomes_crlf_even_across_chunks() {
        let mut c = CrlfCanonicalizer::default();
        let mut out = Vec::new();
        for chunk in [&b"a\nb\r"[..], b"\nc\n", b"\r", b"\r\n"] {
            c.push(chunk, &mut out);
        }
        assert_eq!(out, b"a\r\nb\r\nc\r\n\r\r\n");
        assert_eq!(to_crlf(b"x\r\ny\n"), b"x\r\ny\r\n");
    }

    #[test]
    fn scan_finds_what_7bit_transport_cannot_carry() {
        let mut s = BodyScan::default();
        s.push(b"plain ascii\n");
        assert!(!s.needs_encoding());
        s.push("caf\u{e9}\n".as_bytes());
        assert!(s.eight_bit);
        let mut long = BodyScan::default();
        long.push(&[b'a'; 999]);
        assert!(long.long_lines && long.needs_encoding());
    }

    #[test]
    fn line_length_leaves_out_cr_wherever_the_chunks_are_cut() {
        // 998 characters and CRs spread over the line: not too long; one more is.
        let mut line = Vec::new();
        for i in 0..998 {
            line.push(b'a');
            if i % 100 == 0 {
                line.push(b'\r');
            }
        }
        let long = [&line[..], b"b"].concat();
        for cut in [1, 7, 500, 997, 2000] {
            let scan = |text: &[u8]| {
                let mut s = BodyScan::default();
                for piece in [&b"short\r\n"[..], text, b"\r\nend\n"] {
                    piece.chunks(cut).for_each(|chunk| s.push(chunk));
                }
                s
            };
            assert!(!scan(&line).long_lines, "cut {cut}");
            assert!(scan(&long).long_lines, "cut {cut}");
        }
    }

    #[test]
    fn scanning_while_canonicalising_finds_and_writes_what_each_alone_does() {
        let bodies: [&[u8]; 4] = [
            b"short\nlines\r\nonly\n",
            b"caf\xc3\xa9\n",
            &[&[b'a'; 998][..], b"\r\n", &[b'b'; 999], b"\n"].concat(),
            b"nul\0\r",
        ];
        for body in bodies {
            for cut in [1, 3, 64, 1000, 5000] {
                let (mut alone, mut with) = (BodyScan::default(), BodyScan::default());
                let (mut canonical, mut out) = (CrlfCanonicalizer::default(), Vec::new());
                for chunk in body.chunks(cut) {
                    alone.push(chunk);
                    with.push_canonicalizing(chunk, &mut canonical, &mut out);
                }
                assert_eq!(alone.needs_encoding(), with.needs_encoding(), "cut {cut}");
                assert_eq!(
                    (alone.eight_bit, alone.long_lines, alone.nul),
                    (with.eight_bit, with.long_lines, with.nul)
                );
                assert_eq!(out, to_crlf(body), "cut {cut}");
            }
        }
    }
}
