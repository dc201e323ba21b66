//! Verifying S/MIME signed mail (RFC 8551): `multipart/signed` (§3.5) with a detached
//! `application/pkcs7-signature`, and opaque `application/pkcs7-mime; smime-type=signed-data`
//! (§3.4.2).
//!
//! [`verify`] reads a whole message and answers with a [`Verdict`] or with the reason it
//! cannot be trusted, as a [`VerifyError`] a user can read.
//!
//! The multipart form streams: the signed first part is canonicalised (CRLF line endings)
//! and hashed line by line as it is read, and only the signature part is held in memory, so
//! memory stays flat however large the message is. The signature part comes after the
//! content, so the content is hashed with every algorithm the `micalg` parameter names (all
//! of SHA-1, SHA-256, SHA-384 and SHA-512 when it names none we know).
//!
//! The opaque form holds the message in memory: the signed content is inside the CMS
//! structure, which is decoded as a whole (after BER normalisation, see [`super::ber`]).

use std::io::{self, BufRead, Read, Write};
use std::time::SystemTime;

use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::time::Time;

use super::algorithms::{Scheme, SignatureError, Signed};
use super::attributes::SigningCertificateV2;
use super::base64_stream::Base64Decoder;
use super::mime::{self, ContentType, Header};
use super::{ber, chain};
use crate::hash::{self, HashAlg, Hasher};
use crate::oids;

/// The most bytes the signature part (the CMS SignedData with its certificates) may decode to.
pub const MAX_SIGNATURE_BYTES: usize = 4 << 20;

/// The most bytes the body of an opaque message may decode to: it is held in memory (twice,
/// while the CMS structure is normalised and decoded). The multipart form streams and has
/// no such limit.
pub const MAX_OPAQUE_BYTES: usize = 64 << 20;

/// Lines longer than this are read in pieces (a boundary line is never this long).
const MAX_SEGMENT: usize = 8 << 10;

/// Content is handed to the hashers and the output in blocks of this size.
const SINK_BLOCK: usize = 64 << 10;

/// What a signature is checked against.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The CAs trusted to vouch for signers. A signer certificate listed here is trusted
    /// itself.
    pub trust_anchors: Vec<Certificate>,
    /// The time at which certificates must be valid.
    pub at: SystemTime,
}

impl VerifyOptions {
    /// Trusting `trust_anchors`, now.
    pub fn new(trust_anchors: Vec<Certificate>) -> Self {
        Self {
            trust_anchors,
            at: SystemTime::now(),
        }
    }
}

/// How the message carried its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `multipart/signed`: readable content, detached signature.
    Multipart,
    /// `application/pkcs7-mime`: the content inside the signature.
    Opaque,
}

/// A signature that holds, and what it vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub form: Form,
    /// The signer's subject DN.
    pub signer: String,
    /// The mail addresses of the signer's certificate.
    pub signer_addresses: Vec<String>,
    /// The address in the message's From header, which is one of `signer_addresses`.
    /// `None` when the message has no From header (then no address was checked).
    pub from: Option<String>,
    /// When the signer says it signed (the signingTime attribute); not proven.
    pub signing_time: Option<der::DateTime>,
    pub digest: HashAlg,
    /// "RSA-2048 PKCS#1 v1.5 with SHA-256", "ECDSA P-256 with SHA-256", …
    pub signature_algorithm: String,
    /// Subject DNs from the signer's certificate up to the trust anchor.
    pub chain: Vec<String>,
    /// How many signatures the message has (all of them verified).
    pub signatures: usize,
}

/// Why a message's signature cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the message is not signed: {0}")]
    NotSigned(String),
    #[error("the message is malformed: {0}")]
    Malformed(String),
    #[error("the message body was changed after it was signed")]
    ContentTampered,
    #[error("the signature does not match the signer's key")]
    BadSignature,
    #[error(
        "the signer's certificate is neither in the message nor among the trusted certificates"
    )]
    SignerCertificateMissing,
    #[error(
        "the signer's certificate ({signer}) was not issued by any of the given CAs (its issuer is {issuer})"
    )]
    UnknownCa { signer: String, issuer: String },
    #[error("the certificate of {subject} expired on {not_after}")]
    Expired {
        subject: String,
        not_after: der::DateTime,
    },
    #[error("the certificate of {subject} is not valid before {not_before}")]
    NotYetValid {
        subject: String,
        not_before: der::DateTime,
    },
    #[error(
        "the certificate of {subject} is not a CA certificate, yet it issued the certificate of {issued}"
    )]
    NotCa { subject: String, issued: String },
    #[error("{0}")]
    KeyUsage(String),
    #[error(
        "the signer's certificate ({subject}) is not meant for email (its extended key usage lacks emailProtection)"
    )]
    NotForEmail { subject: String },
    #[error("the From address {from} is not in the signer's certificate (it names {})", names(.certificate))]
    AddressMismatch {
        from: String,
        certificate: Vec<String>,
    },
    /// The From header does not name exactly one mailbox, so there is no one sender whose
    /// address the signer's certificate could vouch for.
    #[error("the From header cannot be checked against the signer: {0}")]
    AmbiguousFrom(String),
    #[error("cannot check the signature: {0}")]
    Unsupported(String),
    #[error("reading the message: {0}")]
    Io(#[from] io::Error),
}

fn names(addresses: &[String]) -> String {
    if addresses.is_empty() {
        "no address".into()
    } else {
        addresses.join(", ")
    }
}

fn malformed(what: impl std::fmt::Display) -> VerifyError {
    VerifyError::Malformed(what.to_string())
}

/// The address of the message's From header (RFC 5322 §3.6.2), `None` without one. More
/// than one From header is malformed (§3.6 allows one); a From header that does not name
/// exactly one readable mailbox cannot be checked against a signer.
fn from_address(headers: &[Header]) -> Result<Option<String>, VerifyError> {
    let mut froms = headers.iter().filter(|h| h.is("From"));
    let (from, None) = (froms.next(), froms.next()) else {
        return Err(malformed("the message has more than one From header"));
    };
    from.map(|h| {
        let value = h.value();
        mime::mailbox_address(&value).map_err(|e| {
            // Quoted for the reader, and cut short: a header may be long.
            let mut shown: String = value.chars().take(200).collect();
            if shown.len() < value.len() {
                shown.push('…');
            }
            VerifyError::AmbiguousFrom(format!("{shown:?} {e}"))
        })
    })
    .transpose()
}

/// Verifies the signed message `input` (headers and body, LF or CRLF line endings).
///
/// `content_out`, when given, receives the signed content — the MIME entity that was signed,
/// headers included, with CRLF line endings — whether or not the signature holds; trust it
/// only when this returns `Ok`. In the multipart form it is written as it streams.
///
/// Every signature in the message must hold. When the message has a From header, its
/// address must be in the certificate of a signer, whose verdict is returned (else the
/// first signer's).
pub fn verify(
    input: &mut impl BufRead,
    content_out: Option<&mut dyn Write>,
    options: &VerifyOptions,
) -> Result<Verdict, VerifyError> {
    let headers = mime::read_headers(input)?;
    let from = from_address(&headers)?;
    if headers.iter().filter(|h| h.is("Content-Type")).count() > 1 {
        return Err(malformed(
            "the message has more than one Content-Type header",
        ));
    }
    let content_type = mime::content_type(&headers);
    let (form, message) = match content_type.mime_type.as_str() {
        "multipart/signed" => (
            Form::Multipart,
            read_multipart(input, &content_type, content_out)?,
        ),
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => (
            Form::Opaque,
            read_opaque(input, &headers, &content_type, content_out)?,
        ),
        other => return Err(VerifyError::NotSigned(format!("its type is {other}"))),
    };
    if message.signer_infos.is_empty() {
        return Err(VerifyError::NotSigned(
            "the signature part holds no signature".into(),
        ));
    }
    let signers = message
        .signer_infos
        .iter()
        .map(|info| message.check_signer(info, options))
        .collect::<Result<Vec<_>, _>>()?;
    let count = signers.len();
    let mut signers = signers.into_iter();
    let signer = match &from {
        None => signers.next(),
        Some(address) => {
            // The first signer whose certificate names the address; else the first
            // signer's mismatch is the answer.
            let mut mismatch = None;
            let matching = signers.find(|s| match chain::check_address(address, &s.certificate) {
                Ok(()) => true,
                Err(e) => {
                    mismatch.get_or_insert(e);
                    false
                }
            });
            if matching.is_none()
                && let Some(e) = mismatch
            {
                return Err(e);
            }
            matching
        }
    };
    let Some(signer) = signer else {
        return Err(VerifyError::NotSigned(
            "the signature part holds no signature".into(),
        ));
    };
    Ok(Verdict {
        form,
        signer: chain::subject(&signer.certificate),
        signer_addresses: chain::email_addresses(&signer.certificate),
        from,
        signing_time: signer.signing_time,
        digest: signer.digest,
        signature_algorithm: signer.signature_algorithm,
        chain: signer.chain,
        signatures: count,
    })
}

/// A signature that holds: its signer and what was checked.
struct CheckedSigner {
    certificate: Certificate,
    signing_time: Option<der::DateTime>,
    digest: HashAlg,
    signature_algorithm: String,
    chain: Vec<String>,
}

/// The content a signature covers.
enum Content {
    /// Detached (multipart): only digests of it, one per algorithm hashed.
    Digests(Vec<(HashAlg, Vec<u8>)>),
    /// Encapsulated (opaque): the eContent bytes.
    Bytes(Vec<u8>),
}

/// A SignedData, with each SignerInfo's encoding as it came (after BER normalisation):
/// the signed attributes must be checked in the bytes that were signed.
struct SignedMessage {
    signed_data: SignedData,
    signer_infos: Vec<Vec<u8>>,
    content: Content,
}

// ---------------------------------------------------------------------------------------
// multipart/signed

/// Reads the body of a `multipart/signed` message: hashes the first part as it streams,
/// then decodes the signature part.
fn read_multipart(
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

// ---------------------------------------------------------------------------------------
// application/pkcs7-mime

/// Reads an opaque signed message: the whole body, decoded, in memory.
fn read_opaque(
    input: &mut impl BufRead,
    headers: &[Header],
    content_type: &ContentType,
    content_out: Option<&mut dyn Write>,
) -> Result<SignedMessage, VerifyError> {
    match content_type
        .param("smime-type")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("signed-data") => {}
        Some("enveloped-data" | "authenveloped-data") => {
            return Err(VerifyError::NotSigned(
                "it is encrypted (decrypt it first, then verify what it holds)".into(),
            ));
        }
        Some(other) => return Err(VerifyError::NotSigned(format!("it is S/MIME {other}"))),
    }
    let ber = read_opaque_body(input, &mime::transfer_encoding(headers), MAX_OPAQUE_BYTES)?;
    let (mut signed_data, signer_infos) = decode_signed_data(&ber)?;
    drop(ber);
    let econtent = signed_data
        .encap_content_info
        .econtent
        .take()
        .ok_or_else(|| {
            malformed(
                "the signed-data carries no content (a detached signature without its message)",
            )
        })?;
    let content = econtent
        .decode_as::<OctetString>()
        .map_err(|e| malformed(format!("the signed content is not an OCTET STRING: {e}")))?
        .into_bytes()
        .into_vec();
    drop(econtent);
    if let Some(out) = content_out {
        out.write_all(&content)?;
        out.flush()?;
    }
    Ok(SignedMessage {
        signed_data,
        signer_infos,
        content: Content::Bytes(content),
    })
}

fn opaque_too_large(limit: usize) -> VerifyError {
    let size = if limit.is_multiple_of(1 << 20) {
        format!("{} MiB", limit >> 20)
    } else {
        format!("{limit} bytes")
    };
    VerifyError::Unsupported(format!(
        "opaque (application/pkcs7-mime) messages above {size} are not verified, as they are held in memory; multipart/signed messages have no such limit"
    ))
}

/// The decoded body of an opaque message, refused once it exceeds `limit` bytes.
fn read_opaque_body(
    input: &mut impl BufRead,
    encoding: &str,
    limit: usize,
) -> Result<Vec<u8>, VerifyError> {
    let too_large = || opaque_too_large(limit);
    let mut ber = Vec::new();
    match encoding {
        "binary" | "8bit" => {
            input.take(limit as u64 + 1).read_to_end(&mut ber)?;
            if ber.len() > limit {
                return Err(too_large());
            }
        }
        _ => {
            let mut decoder = Base64Decoder::default();
            loop {
                let chunk = input.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                // Decoded in pieces so that the check comes before the memory is taken.
                let n = chunk.len().min(SINK_BLOCK);
                decoder
                    .push(&chunk[..n], &mut ber)
                    .map_err(|e| malformed(format!("the body is not base64: {e}")))?;
                input.consume(n);
                if ber.len() > limit {
                    return Err(too_large());
                }
            }
            decoder
                .finish(&mut ber)
                .map_err(|e| malformed(format!("the body is not base64: {e}")))?;
            if ber.len() > limit {
                return Err(too_large());
            }
        }
    }
    Ok(ber)
}

// ---------------------------------------------------------------------------------------
// CMS

/// Decodes a (BER) ContentInfo holding a SignedData; also returns each SignerInfo's DER as
/// it is in the message.
fn decode_signed_data(ber: &[u8]) -> Result<(SignedData, Vec<Vec<u8>>), VerifyError> {
    let der = ber::to_der(ber).map_err(|e| malformed(format!("the CMS structure is {e}")))?;
    let bad =
        |e: &dyn std::fmt::Display| malformed(format!("the CMS structure cannot be read: {e}"));
    let content_info = ber::children(&der).map_err(|e| bad(&e))?;
    let [content_type, explicit] = content_info[..] else {
        return Err(bad(&"a ContentInfo has two fields"));
    };
    let content_type = ObjectIdentifier::from_der(content_type).map_err(|e| bad(&e))?;
    if content_type != rfc5911::ID_SIGNED_DATA {
        return Err(VerifyError::NotSigned(format!(
            "its CMS content is {}, not signed-data",
            oids::name(content_type)
        )));
    }
    let signed_data = match (
        explicit.first(),
        &ber::children(explicit).map_err(|e| bad(&e))?[..],
    ) {
        (Some(0xA0), [signed_data]) => *signed_data,
        _ => return Err(bad(&"the content is not [0] EXPLICIT")),
    };
    let fields = ber::children(signed_data).map_err(|e| bad(&e))?;
    let signer_infos = fields
        .last()
        .filter(|f| f.first() == Some(&0x31))
        .ok_or_else(|| bad(&"no SignerInfos"))?;
    let signer_infos = ber::children(signer_infos)
        .map_err(|e| bad(&e))?
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let signed_data = SignedData::from_der(signed_data).map_err(|e| bad(&e))?;
    Ok((signed_data, signer_infos))
}

/// The signed attributes of a SignerInfo, each checked to occur once with one value.
struct SignedAttributes<'a>(&'a x509_cert::attr::Attributes);

impl SignedAttributes<'_> {
    fn value(&self, oid: ObjectIdentifier, name: &str) -> Result<Option<&der::Any>, VerifyError> {
        let mut found = self.0.iter().filter(|a| a.oid == oid);
        let Some(attribute) = found.next() else {
            return Ok(None);
        };
        if found.next().is_some() || attribute.values.len() != 1 {
            return Err(malformed(format!(
                "the {name} attribute must occur once, with one value"
            )));
        }
        Ok(attribute.values.iter().next())
    }

    fn required(&self, oid: ObjectIdentifier, name: &str) -> Result<&der::Any, VerifyError> {
        self.value(oid, name)?
            .ok_or_else(|| malformed(format!("the signed attributes lack {name}")))
    }
}

impl SignedMessage {
    fn certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.signed_data
            .certificates
            .iter()
            .flat_map(|set| set.0.iter())
            .filter_map(|choice| match choice {
                cms::cert::CertificateChoices::Certificate(cert) => Some(cert),
                _ => None,
            })
    }

    /// The certificate `sid` names, from the message or else from the trust anchors.
    fn signer_certificate(
        &self,
        sid: &SignerIdentifier,
        anchors: &[Certificate],
    ) -> Option<Certificate> {
        let matches = |cert: &&Certificate| match sid {
            SignerIdentifier::IssuerAndSerialNumber(isn) => {
                cert.tbs_certificate().issuer() == &isn.issuer
                    && cert.tbs_certificate().serial_number() == &isn.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                matches!(cert.tbs_certificate().get_extension::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
            }
        };
        self.certificates()
            .find(matches)
            .or_else(|| anchors.iter().find(matches))
            .cloned()
    }

    /// Checks one SignerInfo (its DER as in the message): the signature, the content
    /// digest, the certificate path and what the certificate allows.
    fn check_signer(
        &self,
        info_der: &[u8],
        options: &VerifyOptions,
    ) -> Result<CheckedSigner, VerifyError> {
        let info = SignerInfo::from_der(info_der)
            .map_err(|e| malformed(format!("a SignerInfo cannot be read: {e}")))?;
        let digest_alg = crate::hash::from_oid(info.digest_alg.oid).ok_or_else(|| {
            VerifyError::Unsupported(format!(
                "the digest algorithm {} is not supported",
                oids::name(info.digest_alg.oid)
            ))
        })?;
        // The scheme first: it refuses SHA-1 whatever the content and its micalg.
        let scheme = Scheme::for_signer(&info.signature_algorithm, digest_alg)
            .map_err(|e| VerifyError::Unsupported(e.to_string()))?;
        let econtent_type = self.signed_data.encap_content_info.econtent_type;
        if econtent_type != rfc5911::ID_DATA {
            return Err(VerifyError::Unsupported(format!(
                "the signed content is {}, not data",
                oids::name(econtent_type)
            )));
        }
        let content_digest = match &self.content {
            Content::Digests(digests) => digests
                .iter()
                .find(|(alg, _)| *alg == digest_alg)
                .map(|(_, d)| d.clone())
                .ok_or_else(|| {
                    malformed(format!(
                        "the signature uses {} but the micalg parameter of the message names {}",
                        crate::hash::name(digest_alg),
                        digests
                            .iter()
                            .map(|(alg, _)| crate::hash::name(*alg))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
            Content::Bytes(content) => crate::hash::digest(digest_alg, content),
        };

        let certificate = self
            .signer_certificate(&info.sid, &options.trust_anchors)
            .ok_or(VerifyError::SignerCertificateMissing)?;
        let key = chain::public_key(&certificate)?;
        let signature = info.signature.as_bytes();
        let unsupported = |e: SignatureError| match e {
            SignatureError::Mismatch => VerifyError::BadSignature,
            SignatureError::Unsupported(why) => VerifyError::Unsupported(why),
        };

        let mut signing_time = None;
        match &info.signed_attrs {
            Some(attrs) => {
                let attributes = SignedAttributes(attrs);
                // RFC 5652 §5.4: the signature covers the DER of the SET OF attributes. Check
                // it in the bytes as they came; re-encoding sorts them, which helps only a
                // signer that sent them unsorted.
                let as_sent = signed_attributes_der(info_der)?;
                let sorted = attrs.to_der().map_err(malformed)?;
                let verified = scheme.verify(&key, Signed::Message(&as_sent), signature);
                match verified {
                    Err(SignatureError::Mismatch) if sorted != as_sent => {
                        scheme.verify(&key, Signed::Message(&sorted), signature)
                    }
                    other => other,
                }
                .map_err(unsupported)?;

                let content_type = attributes
                    .required(rfc5911::ID_CONTENT_TYPE, "contentType")?
                    .decode_as::<ObjectIdentifier>()
                    .map_err(malformed)?;
                if content_type != econtent_type {
                    return Err(malformed(
                        "the contentType attribute differs from the content's type",
                    ));
                }
                let message_digest = attributes
                    .required(rfc5911::ID_MESSAGE_DIGEST, "messageDigest")?
                    .decode_as::<OctetString>()
                    .map_err(malformed)?;
                if message_digest.as_bytes() != content_digest.as_slice() {
                    return Err(VerifyError::ContentTampered);
                }
                if let Some(time) = attributes.value(rfc5911::ID_SIGNING_TIME, "signingTime")? {
                    let time = Time::from_der(&time.to_der().map_err(malformed)?)
                        .map_err(|e| malformed(format!("the signingTime attribute: {e}")))?;
                    signing_time = Some(time.to_date_time());
                }
                if let Some(ess) = attributes.value(
                    rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2,
                    "signingCertificateV2",
                )? {
                    check_signing_certificate(ess, &certificate)?;
                }
            }
            None => {
                let signed = match (&self.content, scheme) {
                    (Content::Bytes(content), Scheme::Ed25519) => Signed::Message(content),
                    _ => Signed::Digest(&content_digest),
                };
                if let Err(e) = scheme.verify(&key, signed, signature) {
                    // Without signed attributes the signature covers the content's digest
                    // directly; RSA lets us see whether it is another message's.
                    return Err(match scheme.signed_digest(&key, signature) {
                        Some(_) => VerifyError::ContentTampered,
                        None => unsupported(e),
                    });
                }
            }
        }

        let intermediates: Vec<Certificate> = self
            .certificates()
            .filter(|c| **c != certificate)
            .cloned()
            .collect();
        let path = chain::validate(
            &certificate,
            &intermediates,
            &options.trust_anchors,
            options.at,
        )?;
        chain::check_signer_usage(&certificate)?;
        Ok(CheckedSigner {
            signature_algorithm: scheme.describe(&key),
            chain: path.iter().map(chain::subject).collect(),
            certificate,
            signing_time,
            digest: digest_alg,
        })
    }
}

/// The signed attributes of a SignerInfo's DER as signed: the `[0] IMPLICIT` field with
/// the SET OF tag (`31`) it has in the signature's input.
fn signed_attributes_der(info_der: &[u8]) -> Result<Vec<u8>, VerifyError> {
    let fields = ber::children(info_der).map_err(malformed)?;
    let field = fields
        .iter()
        .find(|f| f.first() == Some(&0xA0))
        .ok_or_else(|| malformed("the signed attributes are missing"))?;
    let mut der = field.to_vec();
    der[0] = 0x31;
    Ok(der)
}

/// ESS signingCertificateV2 (RFC 5035): the first ESSCertIDv2 must be the signer's
/// certificate, so that it cannot be swapped for another with the same key.
fn check_signing_certificate(
    value: &der::Any,
    certificate: &Certificate,
) -> Result<(), VerifyError> {
    let ess = SigningCertificateV2::from_der(&value.to_der().map_err(malformed)?)
        .map_err(|e| malformed(format!("the signingCertificateV2 attribute: {e}")))?;
    let Some(first) = ess.certs.first() else {
        return Err(malformed(
            "the signingCertificateV2 attribute names no certificate",
        ));
    };
    let hash_oid = first
        .hash_algorithm
        .as_ref()
        .map_or(rfc5912::ID_SHA_256, |a| a.oid);
    let Some(hash) = crate::hash::from_oid(hash_oid) else {
        return Err(VerifyError::Unsupported(format!(
            "signingCertificateV2 with hash {}",
            oids::name(hash_oid)
        )));
    };
    let der = certificate.to_der().map_err(malformed)?;
    if crate::hash::digest(hash, &der) != first.cert_hash.as_bytes() {
        return Err(malformed(
            "the signature names a different signing certificate than the one it was checked with",
        ));
    }
    Ok(())
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

    #[test]
    fn unsigned_and_encrypted_messages_are_not_signed() {
        let options = VerifyOptions::new(Vec::new());
        let plain =
            verify(&mut &b"From: a@example.org\n\nhello\n"[..], None, &options).unwrap_err();
        assert!(matches!(plain, VerifyError::NotSigned(_)), "{plain}");
        let enveloped =
            b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\n\nMAA=\n";
        let err = verify(&mut &enveloped[..], None, &options).unwrap_err();
        assert!(err.to_string().contains("encrypted"), "{err}");
        let pgp = b"Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=x\n\n--x\n";
        assert!(matches!(
            verify(&mut &pgp[..], None, &options).unwrap_err(),
            VerifyError::NotSigned(_)
        ));
    }

    #[test]
    fn opaque_bodies_above_the_limit_are_refused() {
        use base64::Engine;
        let body = vec![0x5A; 3000];
        let base64 = base64::engine::general_purpose::STANDARD.encode(&body);
        let lines: Vec<&[u8]> = base64.as_bytes().chunks(76).collect();
        let base64 = lines.join(&b"\r\n"[..]);
        for (encoding, input) in [("binary", &body[..]), ("base64", &base64[..])] {
            assert_eq!(
                read_opaque_body(&mut &input[..], encoding, 3000).unwrap(),
                body,
                "{encoding}"
            );
            let err = read_opaque_body(&mut &input[..], encoding, 2999).unwrap_err();
            assert!(
                matches!(&err, VerifyError::Unsupported(m) if m.contains("opaque (application/pkcs7-mime) messages above 2999 bytes are not verified")),
                "{encoding}: {err}"
            );
        }
        // The limit is checked as the body streams: an endless one is not read to its end.
        for (encoding, byte) in [("base64", b'A'), ("binary", 0)] {
            let mut endless = io::BufReader::new(io::repeat(byte));
            let err = read_opaque_body(&mut endless, encoding, 1 << 20).unwrap_err();
            assert!(err.to_string().contains("above 1 MiB"), "{encoding}: {err}");
        }
        assert_eq!(
            opaque_too_large(MAX_OPAQUE_BYTES).to_string(),
            "cannot check the signature: opaque (application/pkcs7-mime) messages above 64 MiB are not verified, as they are held in memory; multipart/signed messages have no such limit"
        );
    }

    #[test]
    fn verdict_reasons_read_as_sentences() {
        let e = VerifyError::AddressMismatch {
            from: "x@example.org".into(),
            certificate: vec!["y@example.org".into()],
        };
        assert_eq!(
            e.to_string(),
            "the From address x@example.org is not in the signer's certificate (it names y@example.org)"
        );
        assert_eq!(
            VerifyError::ContentTampered.to_string(),
            "the message body was changed after it was signed"
        );
    }
}
