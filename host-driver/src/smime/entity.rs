//! The MIME entity a mail message's content becomes before it is signed or encrypted
//! (RFC 8551 §3.1): the message's content headers, and its body in canonical form, in
//! base64 when 7-bit mail could not carry it as it is. The message's other headers (From,
//! To, Subject, Date, …) stay outside, on the message that carries the result.
//!
//! The entity's headers, which say whether the body is re-encoded, go out before the body,
//! and a body is known to be 7-bit safe only once its last byte is seen. So the entity is
//! written speculatively ([`Message::write_into`]): the body goes out as it is, scanned as
//! it streams, and the rare body that proves to need base64 is written again from the start
//! (the input is seekable, and the output must be able to take back what it got). Where
//! the output cannot, a first pass scans the body. A body already in base64 or
//! quoted-printable needs no scan. Memory stays flat whatever the message's size.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use super::base64_stream::Base64LineWriter;
use super::canonical::{BodyScan, CrlfCanonicalizer};
use super::mime::{self, ContentType, Header};
use super::rewind::Rewind;

#[derive(Debug, thiserror::Error)]
pub enum EntityError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("the message is not RFC 5322 mail: {0}")]
    NotMail(String),
    #[error(
        "the body has 8-bit data or over-long lines inside a multipart entity; encode its parts (base64 or quoted-printable) first"
    )]
    EightBitMultipart,
}

/// The size of the reads from the input. A chunk and its canonical copy stay in a core's
/// L2 cache for hashing, encrypting and writing: on a 100 MiB message, 64 KiB took 15 to
/// 20 % less CPU time than 256 KiB, whose larger syscalls saved less than the cache lost.
const CHUNK: usize = 64 * 1024;

/// How the body becomes the entity's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyEncoding {
    /// Already 7-bit safe: only line endings become CRLF.
    Canonical,
    /// Base64 of the body (text canonicalised to CRLF first).
    Base64 { text: bool },
}

/// What came of writing an entity: done, or abandoned because the body, streamed as it
/// is, proved to need base64 partway; what was written then is void.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub enum Pass<T = ()> {
    Done(T),
    Abandoned,
}

/// A mail message read as far as its body, ready to stream its entity.
pub struct Message<R> {
    reader: BufReader<R>,
    /// The headers that stay outside the entity.
    outer: Vec<Header>,
    /// The message's content headers, which the entity's headers are made from.
    content: Vec<Header>,
    content_type: ContentType,
    /// `None` while it is not known: the body is then streamed as it is, and scanned.
    body_encoding: Option<BodyEncoding>,
    body_start: u64,
}

impl<R: Read + Seek> Message<R> {
    /// Reads the headers.
    pub fn read(input: R) -> Result<Self, EntityError> {
        let mut reader = BufReader::with_capacity(CHUNK, input);
        let headers =
            mime::read_headers(&mut reader).map_err(|e| EntityError::NotMail(e.to_string()))?;
        if headers.is_empty() {
            return Err(EntityError::NotMail("it has no headers".into()));
        }
        let body_start = reader.stream_position()?;
        let content_type = mime::content_type(&headers);
        let encoding = mime::transfer_encoding(&headers);
        let already_encoded = matches!(encoding.as_str(), "base64" | "quoted-printable");
        let (content, mut outer): (Vec<Header>, Vec<Header>) =
            headers.into_iter().partition(Header::is_content_header);
        outer.retain(|h| !h.is("MIME-Version"));
        Ok(Self {
            reader,
            outer,
            content,
            content_type,
            body_encoding: already_encoded.then_some(BodyEncoding::Canonical),
            body_start,
        })
    }

    /// Writes, through `write`, the message that carries the entity into `output`, in one
    /// pass where `output` can take back what it got: should the body prove to need
    /// base64, `output` is rewound and `write` called again. Where `output` cannot, the
    /// body is scanned first. `write` streams the entity with [`Message::stream_entity`]
    /// and answers [`Pass::Abandoned`] when that does.
    pub fn write_into<W: Rewind, T, E>(
        &mut self,
        output: W,
        mut write: impl FnMut(&mut Self, &mut BufWriter<W>) -> Result<Pass<T>, E>,
    ) -> Result<T, E>
    where
        E: From<io::Error> + From<EntityError>,
    {
        let mut out = BufWriter::with_capacity(CHUNK, output);
        let start = out.get_mut().rewind_point()?;
        if start.is_none() {
            self.scan_body()?;
        }
        loop {
            if let Pass::Done(done) = write(self, &mut out)? {
                out.flush()?;
                return Ok(done);
            }
            // Only a speculative pass is abandoned, and only where there is a start.
            let start = start.ok_or_else(|| io::Error::other("abandoned a pass with no start"))?;
            // What is still buffered is void too: dropped, not written.
            let (mut inner, _void) = out.into_parts();
            inner.rewind_to(start)?;
            out = BufWriter::with_capacity(CHUNK, inner);
        }
    }

    /// Decides how the body is encoded by reading it through once, if that is not known.
    fn scan_body(&mut self) -> Result<(), EntityError> {
        if self.body_encoding.is_some() {
            return Ok(());
        }
        let mut scan = BodyScan::default();
        // Once the body needs encoding, nothing further in it can change that.
        while !scan.needs_encoding() {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len();
            scan.push(chunk);
            self.reader.consume(n);
        }
        self.body_encoding = Some(if scan.needs_encoding() {
            self.reencoded()?
        } else {
            BodyEncoding::Canonical
        });
        Ok(())
    }

    /// The encoding of a body that 7-bit mail cannot carry as it is.
    fn reencoded(&self) -> Result<BodyEncoding, EntityError> {
        if self.content_type.is_multipart() {
            return Err(EntityError::EightBitMultipart);
        }
        Ok(BodyEncoding::Base64 {
            text: self.content_type.mime_type.starts_with("text/"),
        })
    }

    /// The entity's header block, CRLF line endings, with the empty line that ends it:
    /// the message's content headers, with the transfer encoding replaced when the body
    /// is re-encoded.
    fn entity_head(&self, body_encoding: BodyEncoding) -> Vec<u8> {
        let reencoded = matches!(body_encoding, BodyEncoding::Base64 { .. });
        let mut entity_headers: Vec<&Header> = self
            .content
            .iter()
            .filter(|h| !(reencoded && h.is("Content-Transfer-Encoding")))
            .collect();
        let default_type = Header::new("Content-Type", "text/plain; charset=us-ascii");
        if !entity_headers.iter().any(|h| h.is("Content-Type")) {
            entity_headers.insert(0, &default_type);
        }
        let base64 = Header::new("Content-Transfer-Encoding", "base64");
        if reencoded {
            entity_headers.push(&base64);
        }
        let mut head = Vec::new();
        for h in entity_headers {
            h.write_crlf(&mut head);
        }
        head.extend_from_slice(b"\r\n");
        head
    }

    /// Writes the headers that stay outside the entity, then `MIME-Version: 1.0`: the
    /// start of the message that carries the signed or encrypted entity.
    pub fn write_outer_headers(&self, out: &mut impl Write) -> io::Result<()> {
        let mut block = Vec::new();
        for h in &self.outer {
            h.write_crlf(&mut block);
        }
        block.extend_from_slice(b"MIME-Version: 1.0\r\n");
        out.write_all(&block)
    }

    /// Streams the entity: its headers, then the body in canonical form. While the body's
    /// encoding is not known, it goes as it is, each chunk scanned before it is emitted;
    /// the first that proves it needs base64 ends the stream as [`Pass::Abandoned`], and
    /// the next stream is of the base64 form. An error of `emit` ends the stream and is
    /// returned.
    pub fn stream_entity<E>(
        &mut self,
        mut emit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Pass, E>
    where
        E: From<io::Error> + From<EntityError>,
    {
        self.reader.seek(SeekFrom::Start(self.body_start))?;
        let speculative = self.body_encoding.is_none();
        let body_encoding = self.body_encoding.unwrap_or(BodyEncoding::Canonical);
        emit(&self.entity_head(body_encoding))?;
        let reader = &mut self.reader;
        let mut canonical = CrlfCanonicalizer::default();
        let mut scratch = Vec::with_capacity(CHUNK + CHUNK / 8);
        match body_encoding {
            BodyEncoding::Canonical => {
                let mut scan = speculative.then(BodyScan::default);
                let mut abandoned = false;
                for_each_chunk(reader, |chunk| -> Result<bool, E> {
                    scratch.clear();
                    match &mut scan {
                        Some(scan) => {
                            scan.push_canonicalizing(chunk, &mut canonical, &mut scratch);
                            if scan.needs_encoding() {
                                abandoned = true;
                                return Ok(false);
                            }
                        }
                        None => canonical.push(chunk, &mut scratch),
                    }
                    emit(&scratch)?;
                    Ok(true)
                })?;
                if abandoned {
                    self.body_encoding = Some(self.reencoded()?);
                    return Ok(Pass::Abandoned);
                }
                self.body_encoding = Some(BodyEncoding::Canonical);
            }
            BodyEncoding::Base64 { text } => {
                // Base64 into a buffer that is handed on and emptied chunk by chunk.
                let mut b64 = Base64LineWriter::new(Vec::with_capacity(CHUNK / 3 * 4 + CHUNK / 8));
                for_each_chunk(reader, |chunk| -> Result<bool, E> {
                    if text {
                        scratch.clear();
                        canonical.push(chunk, &mut scratch);
                        b64.write_all(&scratch)?;
                    } else {
                        b64.write_all(chunk)?;
                    }
                    let encoded = b64.get_mut()?;
                    emit(encoded)?;
                    encoded.clear();
                    Ok(true)
                })?;
                emit(&b64.finish()?)?;
            }
        }
        Ok(Pass::Done(()))
    }
}

/// Calls `f` with the rest of `reader` in chunks, until it answers `false`.
fn for_each_chunk<E: From<io::Error>>(
    reader: &mut impl BufRead,
    mut f: impl FnMut(&[u8]) -> Result<bool, E>,
) -> Result<(), E> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let n = buf.len();
        if !f(buf)? {
            return Ok(());
        }
        reader.consume(n);
    }
}
