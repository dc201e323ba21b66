//! MIME canonical form (RFC 8551 §3.1.1): every line ends in CRLF. Converts a stream
//! chunk by chunk, so nothing but one pending CR is ever held back.

/// Turns bare LF into CRLF, keeps CRLF as it is.
#[derive(Debug, Default)]
pub struct CrlfCanonicalizer {
    /// The previous chunk ended with CR.
    pending_cr: bool,
}

impl CrlfCanonicalizer {
    /// Appends the canonical form of `chunk` to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len() + chunk.len() / 32);
        for &b in chunk {
            if b == b'\n' && !self.pending_cr {
                out.push(b'\r');
            }
            out.push(b);
            self.pending_cr = b == b'\r';
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
        for &b in chunk {
            match b {
                b'\n' => self.current_line = 0,
                b'\r' => {}
                _ => {
                    self.current_line += 1;
                    self.long_lines |= self.current_line > Self::MAX_LINE;
                    self.eight_bit |= b >= 0x80;
                    self.nul |= b == 0;
                }
            }
        }
    }

    /// Whether the body must be re-encoded (base64) to be 7-bit safe.
    pub fn needs_encoding(&self) -> bool {
        self.eight_bit || self.long_lines || self.nul
    }
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
}
