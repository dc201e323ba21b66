//! Verifying S/MIME signed mail (RFC 8551): `multipart/signed` (§3.5) with a detached
//! `application/pkcs7-signature`, and opaque `application/pkcs7-mime; smime-type=signed-data`
//! (§3.4.2).
//!
//! [`verify`] reads a whole message and answers with a [`Verdict`] or with the reason it
//! cannot be trusted, as a [`VerifyError`] a user can read. It goes through four steps,
//! one module each:
//!
//! - `multipart` streams a `multipart/signed` body: the signed first part is canonicalised
//!   and hashed as it is read and only the signature part is held in memory, so memory
//!   stays flat however large the message is;
//! - `opaque` reads an opaque body, whose content is inside the CMS structure, into memory;
//! - `signed_data` decodes the CMS SignedData (after BER normalisation, see [`super::ber`]);
//! - `signer` checks each signer: its signature, messageDigest, signingCertificateV2, and
//!   its certificate's path to a trust anchor.

mod multipart;
mod opaque;
mod signed_data;
mod signer;

use std::io::{self, BufRead, Write};
use std::time::SystemTime;

use x509_cert::Certificate;

use super::mime::{self, Header};
use crate::escape::{self, Escaped};
use crate::hash::HashAlg;
use crate::pki::{self, PathError};

pub use multipart::MAX_SIGNATURE_BYTES;
pub use opaque::MAX_OPAQUE_BYTES;

/// Content is handed to the hashers and the output, and opaque bodies are decoded, in
/// blocks of this size.
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

/// Why a message's signature cannot be trusted. Text from the message or a certificate in
/// it (names, addresses, header values) is shown escaped (see [`Escaped`]).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the message is not signed: {}", Escaped(.0))]
    NotSigned(String),
    #[error("the message is malformed: {}", Escaped(.0))]
    Malformed(String),
    #[error("the message body was changed after it was signed")]
    ContentTampered,
    #[error("the signature does not match the signer's key")]
    BadSignature,
    #[error(
        "the signer's certificate is neither in the message nor among the trusted certificates"
    )]
    SignerCertificateMissing,
    /// A certificate on the signer's path cannot be trusted, or no path reaches a trust
    /// anchor.
    #[error(transparent)]
    Path(#[from] PathError),
    /// The signer's certificate may not be used for signatures.
    #[error("{}", Escaped(.0))]
    KeyUsage(String),
    #[error(
        "the signer's certificate ({}) is not meant for email (its extended key usage lacks emailProtection)",
        Escaped(.subject)
    )]
    NotForEmail { subject: String },
    #[error(
        "the From address {} is not in the signer's certificate (it names {})",
        Escaped(.from),
        names(.certificate)
    )]
    AddressMismatch {
        from: String,
        certificate: Vec<String>,
    },
    /// The From header does not name exactly one mailbox, so there is no one sender whose
    /// address the signer's certificate could vouch for.
    #[error("the From header cannot be checked against the signer: {}", Escaped(.0))]
    AmbiguousFrom(String),
    #[error("cannot check the signature: {}", Escaped(.0))]
    Unsupported(String),
    #[error("reading the message: {0}")]
    Io(#[from] io::Error),
}

fn names(addresses: &[String]) -> String {
    escape::join_or(addresses, ", ", "no address")
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
            multipart::read_multipart(input, &content_type, content_out)?,
        ),
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => (
            Form::Opaque,
            opaque::read_opaque(input, &headers, &content_type, content_out)?,
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
        .map(|info| signer::check_signer(&message, info, options))
        .collect::<Result<Vec<_>, _>>()?;
    let count = signers.len();
    let mut signers = signers.into_iter();
    let signer = match &from {
        None => signers.next(),
        Some(address) => {
            // The first signer whose certificate names the address; else the first
            // signer's mismatch is the answer.
            let mut mismatch = None;
            let matching = signers.find(|s| match signer::check_address(address, &s.certificate) {
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
        signer: pki::subject(&signer.certificate),
        signer_addresses: signer::email_addresses(&signer.certificate),
        from,
        signing_time: signer.signing_time,
        digest: signer.digest,
        signature_algorithm: signer.signature_algorithm,
        chain: signer.chain,
        signatures: count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn names_and_addresses_in_reasons_are_escaped() {
        let e = VerifyError::AddressMismatch {
            from: "\"x\x1b[2J\r\"@example.org".into(),
            certificate: vec!["y\u{202e}@example.org".into(), "z@example.org".into()],
        };
        assert_eq!(
            e.to_string(),
            "the From address \"x\\u{1b}[2J\\u{d}\"@example.org is not in the signer's certificate (it names y\\u{202e}@example.org, z@example.org)"
        );
        let e = VerifyError::Path(PathError::UnknownCa {
            signer: "CN=Eve\u{9b}2J".into(),
            issuer: "CN=\u{2066}CA".into(),
        });
        assert_eq!(
            e.to_string(),
            "the signer's certificate (CN=Eve\\u{9b}2J) was not issued by any of the given CAs (its issuer is CN=\\u{2066}CA)"
        );
        let e = VerifyError::NotSigned("its type is text/\x1b[2Jplain".into());
        assert!(e.to_string().ends_with("text/\\u{1b}[2Jplain"), "{e}");
    }
}
