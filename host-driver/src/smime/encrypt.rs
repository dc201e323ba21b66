//! Encrypting mail (RFC 8551 §3.3): the message's content becomes a MIME entity
//! ([`super::entity`]), which is encrypted as it streams into a CMS EnvelopedData (AES-CBC)
//! or AuthEnvelopedData (AES-GCM, RFC 5083), carried as an `application/pkcs7-mime` body
//! under the message's own headers (From, To, Subject, Date, …).
//!
//! The content key goes to each [`Recipient`], checked and made from their certificate, in
//! a RecipientInfo: RSA key transport ([`key_transport`]) or ECDH and X25519 key agreement
//! ([`key_agreement`]). Nothing here needs a card: encrypting takes only certificates.
//!
//! The CMS structure is indefinite-length BER, the ciphertext a constructed OCTET STRING
//! of segments, so memory stays flat whatever the message's size. The input must be
//! seekable and the output able to take back what it got ([`Rewind`]): the mail is written
//! in one pass, and again, under a new content key, only if its body proves to need base64
//! partway (see [`super::entity`]).

mod content;
mod key_agreement;
mod key_transport;
mod recipient;

use std::io::{self, Read, Seek, Write};

use cms::content_info::CmsVersion;
use cms::enveloped_data::{RecipientInfo, RecipientInfos};
use const_oid::db::rfc5911;
use der::Encode;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;

pub use content::ContentCipher;
pub use key_transport::RsaPadding;
pub use recipient::Recipient;

use super::base64_stream::Base64LineWriter;
use super::ber_writer;
use super::entity::{EntityError, Message, Pass};
use super::rewind::Rewind;
use crate::escape::Escaped;
use content::ContentEncryptor;

#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Message(#[from] EntityError),
    #[error("no recipients: encrypting needs at least one recipient's certificate")]
    NoRecipients,
    #[error("a recipient's certificate cannot be read: {}", Escaped(.0))]
    Certificate(String),
    /// The certificate does not allow encrypting to its key.
    #[error("cannot encrypt for {}: {reason}", Escaped(.subject))]
    Recipient { subject: String, reason: String },
    #[error("cannot encrypt the content key: {0}")]
    KeyEncryption(&'static str),
    #[error("the message is too large for AES-GCM (64 GiB at most); choose a CBC cipher")]
    TooLarge,
    #[error("the system's random number generator failed")]
    Random(#[source] getrandom::Error),
    #[error("encoding the encrypted message: {0}")]
    Encoding(#[from] der::Error),
}

/// What to encrypt for whom.
#[derive(Debug, Clone, Copy)]
pub struct EncryptRequest<'a> {
    pub recipients: &'a [Recipient],
    pub cipher: ContentCipher,
    /// The padding for recipients with RSA keys.
    pub rsa_padding: RsaPadding,
}

/// What was encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptReport {
    pub cipher: ContentCipher,
    /// Bytes of the encrypted MIME entity.
    pub encrypted_bytes: u64,
}

/// Encrypts the mail in `input` for the request's recipients and writes the encrypted mail
/// to `output`.
pub fn encrypt<R: Read + Seek, W: Rewind>(
    input: R,
    output: W,
    request: &EncryptRequest<'_>,
) -> Result<EncryptReport, EncryptError> {
    if request.recipients.is_empty() {
        return Err(EncryptError::NoRecipients);
    }
    Message::read(input)?.write_into(output, |message, out| {
        write_enveloped(message, out, request)
    })
}

/// One pass of [`encrypt`]: the whole encrypted mail, unless the entity's stream is
/// abandoned. Each pass has a content key of its own, so no key and IV ever encrypt two
/// different plaintexts.
fn write_enveloped<R: Read + Seek>(
    message: &mut Message<R>,
    out: &mut impl Write,
    request: &EncryptRequest<'_>,
) -> Result<Pass<EncryptReport>, EncryptError> {
    let mut content = ContentEncryptor::new(request.cipher)?;
    let infos = request
        .recipients
        .iter()
        .map(|r| r.recipient_info(content.key(), request.rsa_padding))
        .collect::<Result<Vec<_>, _>>()?;

    message.write_outer_headers(out)?;
    let smime_type = if request.cipher.is_authenticated() {
        "authEnveloped-data"
    } else {
        "enveloped-data"
    };
    write!(
        out,
        "Content-Type: application/pkcs7-mime; smime-type={smime_type}; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n"
    )?;
    let mut b64 = Base64LineWriter::new(out);
    b64.write_all(&envelope_prefix(
        request.cipher,
        infos,
        content.algorithm(),
    )?)?;
    let mut ciphertext = Vec::with_capacity(128 * 1024);
    let mut encrypted_bytes = 0u64;
    let streamed = message.stream_entity(|chunk| {
        encrypted_bytes += chunk.len() as u64;
        content.update(chunk, &mut ciphertext)?;
        write_ciphertext(&mut b64, &mut ciphertext)
    })?;
    if streamed == Pass::Abandoned {
        return Ok(Pass::Abandoned);
    }
    let tag = content.finish(&mut ciphertext);
    write_ciphertext(&mut b64, &mut ciphertext)?;
    b64.write_all(&envelope_suffix(tag)?)?;
    b64.finish()?;
    Ok(Pass::Done(EncryptReport {
        cipher: request.cipher,
        encrypted_bytes,
    }))
}

/// Writes what `ciphertext` holds as one segment of the encrypted content, and empties it.
fn write_ciphertext(out: &mut impl Write, ciphertext: &mut Vec<u8>) -> Result<(), EncryptError> {
    if !ciphertext.is_empty() {
        ber_writer::write_segment(out, ciphertext)?;
        ciphertext.clear();
    }
    Ok(())
}

/// BER: the opening of the (Auth)EnvelopedData up to the encrypted content, left open
/// for its segments.
fn envelope_prefix(
    cipher: ContentCipher,
    infos: Vec<RecipientInfo>,
    algorithm: &AlgorithmIdentifierOwned,
) -> Result<Vec<u8>, EncryptError> {
    // RFC 5652 §6.1: version 0 while every recipient info is version 0 (RSA recipients
    // named by issuer and serial number), else 2. RFC 5083 §2.1: always 0.
    let all_version_0 = infos
        .iter()
        .all(|info| matches!(info, RecipientInfo::Ktri(ktri) if ktri.version == CmsVersion::V0));
    let (content_type, version) = if cipher.is_authenticated() {
        (rfc5911::ID_CT_AUTH_ENVELOPED_DATA, CmsVersion::V0)
    } else if all_version_0 {
        (rfc5911::ID_ENVELOPED_DATA, CmsVersion::V0)
    } else {
        (rfc5911::ID_ENVELOPED_DATA, CmsVersion::V2)
    };
    let mut out = ber_writer::open_content_info(content_type)?;
    out.extend(version.to_der()?);
    out.extend(RecipientInfos::try_from(infos)?.to_der()?);
    // EncryptedContentInfo, and its encryptedContent [0] IMPLICIT OCTET STRING.
    out.extend(ber_writer::open(0x30));
    out.extend(rfc5911::ID_DATA.to_der()?);
    out.extend(algorithm.to_der()?);
    out.extend(ber_writer::open(0xA0));
    Ok(out)
}

/// BER: the end of the encrypted content and of the EncryptedContentInfo, the tag of
/// AuthEnvelopedData (its `mac`), and the end of the three outer levels.
fn envelope_suffix(tag: Option<[u8; 16]>) -> Result<Vec<u8>, EncryptError> {
    let mut out = ber_writer::close(2);
    if let Some(tag) = tag {
        out.extend(OctetString::new(tag)?.to_der()?);
    }
    out.extend(ber_writer::close(3));
    Ok(out)
}
