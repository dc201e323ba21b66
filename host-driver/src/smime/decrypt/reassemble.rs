//! The decrypted message: the headers the encrypted message travelled with (From, To,
//! Subject, Date, …), then the entity that was encrypted, with its own headers.
//!
//! Only the start of the entity is held, until its header block ends: a header the entity
//! has itself (a sender may have encrypted a whole message, From and all) wins over the
//! outer one of the same name, so none comes twice. The outer content headers describe the
//! encryption and are dropped.

use std::io::{self, Write};

use crate::smime::mime::{self, ContentType, Header};

/// Writes the decrypted entity behind the outer headers.
pub(super) struct Reassembler<'a> {
    outer: Vec<Header>,
    /// The start of the entity, until its header block is complete.
    head: Option<Vec<u8>>,
    content_type: ContentType,
    written: u64,
    out: &'a mut dyn Write,
}

impl<'a> Reassembler<'a> {
    pub(super) fn new(outer: &[Header], out: &'a mut dyn Write) -> Self {
        Self {
            outer: outer
                .iter()
                .filter(|h| !h.is_content_header())
                .cloned()
                .collect(),
            head: Some(Vec::new()),
            content_type: ContentType::default_text(),
            written: 0,
            out,
        }
    }

    /// Ends the message; returns the entity's Content-Type and size.
    pub(super) fn finish(mut self) -> io::Result<(ContentType, u64)> {
        self.release_head()?;
        self.out.flush()?;
        Ok((self.content_type, self.written))
    }

    /// Writes the merged headers and what is held of the entity.
    fn release_head(&mut self) -> io::Result<()> {
        let Some(head) = self.head.take() else {
            return Ok(());
        };
        let mut merged = Vec::new();
        match mime::read_headers(&mut &head[..]) {
            Ok(inner) => {
                self.content_type = mime::content_type(&inner);
                let inner_has = |name: &str| inner.iter().any(|h| h.is(name));
                for h in self.outer.iter().filter(|h| !inner_has(&h.name)) {
                    h.write_crlf(&mut merged);
                }
            }
            // Not a MIME entity (no header block): the content is the body.
            Err(_) => {
                for h in &self.outer {
                    h.write_crlf(&mut merged);
                }
                merged.extend_from_slice(b"\r\n");
            }
        }
        self.out.write_all(&merged)?;
        self.out.write_all(&head)
    }
}

/// Where the header block at the start of `data` ends (after its empty line), if it does.
fn header_block_end(data: &[u8]) -> Option<usize> {
    if data.starts_with(b"\n") {
        return Some(1);
    }
    if data.starts_with(b"\r\n") {
        return Some(2);
    }
    let lf = data.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = data.windows(3).position(|w| w == b"\n\r\n").map(|i| i + 3);
    lf.into_iter().chain(crlf).min()
}

impl Write for Reassembler<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len() as u64;
        let Some(head) = self.head.as_mut() else {
            return self.out.write_all(buf).map(|()| buf.len());
        };
        head.extend_from_slice(buf);
        if let Some(end) = header_block_end(head) {
            let rest = head.split_off(end);
            self.release_head()?;
            self.out.write_all(&rest)?;
        } else if head.len() > mime::MAX_HEADER_BYTES {
            self.release_head()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reassemble(outer: &str, entity: &[u8], piece: usize) -> (String, ContentType) {
        let headers = mime::read_headers(&mut outer.as_bytes()).unwrap();
        let mut out = Vec::new();
        let mut r = Reassembler::new(&headers, &mut out);
        for chunk in entity.chunks(piece) {
            r.write_all(chunk).unwrap();
        }
        let (content_type, written) = r.finish().unwrap();
        assert_eq!(written, entity.len() as u64);
        (String::from_utf8(out).unwrap(), content_type)
    }

    const OUTER: &str = "From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\n";

    #[test]
    fn outer_headers_go_in_front_of_the_entity_in_any_pieces() {
        let entity = b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n";
        for piece in [1, 3, 1000] {
            let (message, content_type) = reassemble(OUTER, entity, piece);
            assert_eq!(
                message,
                "From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
            );
            assert_eq!(content_type.param("charset"), Some("utf-8"));
        }
    }

    #[test]
    fn headers_inside_win_and_content_without_headers_is_the_body() {
        let (message, _) = reassemble(OUTER, b"From: c@example.org\nSubject: inner\n\nbody\n", 4);
        assert_eq!(
            message,
            "To: b@example.org\r\nMIME-Version: 1.0\r\nFrom: c@example.org\nSubject: inner\n\nbody\n"
        );
        let (message, content_type) = reassemble(OUTER, b"just text, no headers\n", 5);
        assert!(
            message.ends_with("MIME-Version: 1.0\r\n\r\njust text, no headers\n"),
            "{message}"
        );
        assert_eq!(content_type, ContentType::default_text());
        let (message, _) = reassemble(OUTER, b"", 1);
        assert!(message.ends_with("MIME-Version: 1.0\r\n"), "{message}");
    }
}
