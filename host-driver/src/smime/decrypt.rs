//! Decrypting S/MIME mail (RFC 8551 §3.3): `application/pkcs7-mime` with a CMS
//! EnvelopedData (AES-CBC) or AuthEnvelopedData (AES-GCM, RFC 5083/5084), for one of the
//! keys a [`Decryptor`] holds.
//!
//! [`decrypt`] reads the message as a stream and goes through these steps, one module each:
//!
//! - `envelope` reads the CMS structure from its BER (definite or indefinite lengths, as
//!   `openssl cms -stream` writes it) up to the encrypted content, and after it;
//! - the recipient info for one of the decryptor's certificates (named by issuer and
//!   serial number, or by subject key identifier) gives the content-encryption key:
//!   `key_transport` for RSA (PKCS#1 v1.5 with implicit rejection, or OAEP), and
//!   `key_agreement` for ECDH on P-256 and P-384 and X25519 (RFC 5753, RFC 8418);
//! - `content` decrypts the content as it streams: CBC holds back only its last block for
//!   the padding check, GCM keeps the ciphertext in a private temporary file until the
//!   tag is checked, so nothing unauthenticated reaches the output;
//! - `reassemble` puts the message's own headers (From, To, Subject, Date, …) back in
//!   front of the decrypted entity.
//!
//! Every failure after the private-key operation — a wrong padding, a key that does not
//! unwrap, a wrong CBC padding or GCM tag — is the one [`DecryptError::Failed`], so that
//! how decryption fails says nothing about the key. The output is written as decryption
//! goes: a caller must keep it only when [`decrypt`] returns `Ok`.

mod content;
mod envelope;
mod key_agreement;
mod key_transport;
mod reassemble;

use std::fmt;
use std::io::{self, BufRead, Read, Write};

use cms::cert::IssuerAndSerialNumber;
use cms::enveloped_data::{
    KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo, KeyTransRecipientInfo, RecipientIdentifier,
    RecipientInfo,
};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use zeroize::Zeroizing;

use super::base64_stream::Base64Reader;
use super::ber_reader::{BerReader, BerStreamError};
use super::mime::{self, ContentType};
use crate::escape::Escaped;
use content::ContentCipher;
use envelope::Kind;

/// An error of the key holder (for a card: a wrong PIN, a card removed, …).
pub type KeyError = Box<dyn std::error::Error + Send + Sync>;

/// Whoever holds the private keys: their certificates, and the two private-key operations
/// decryption needs. A card is one (`crate::card_decryptor`); S/MIME needs nothing else of
/// it.
pub trait Decryptor {
    /// How the holder names a key (for a card: its slot).
    type Key: Clone + fmt::Display;

    /// The keys that may decrypt, each with its certificate, the preferred first.
    fn recipient_keys(&mut self) -> Result<Vec<(Self::Key, Certificate)>, KeyError>;

    /// The raw RSA private-key operation on `block`, which has the modulus' length; the
    /// result is still padded.
    fn rsa_private(
        &mut self,
        key: &Self::Key,
        block: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyError>;

    /// ECDH with `peer_public` (an uncompressed point on the key's curve, or 32 bytes for
    /// X25519): the shared secret.
    fn key_agreement(
        &mut self,
        key: &Self::Key,
        peer_public: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyError>;
}

/// Why a message could not be decrypted. Text from the message or its certificates is
/// shown escaped.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    #[error("the message is not encrypted: {}", Escaped(.0))]
    NotEncrypted(String),
    #[error("the encrypted message is malformed: {}", Escaped(.0))]
    Malformed(String),
    #[error("cannot decrypt: {}", Escaped(.0))]
    Unsupported(String),
    #[error(
        "none of these keys can decrypt the message: it was encrypted for {}; the keys here are {}",
        names(.recipients),
        names(.keys)
    )]
    NotRecipient {
        /// The recipients the message names.
        recipients: Vec<String>,
        /// The keys the decryptor holds, with their certificates' subjects.
        keys: Vec<String>,
    },
    /// The key holder's own error (for a card: wrong PIN, blocked PIN, …) is the source.
    #[error("the key could not decrypt")]
    Key(#[source] KeyError),
    #[error(
        "decryption failed: the message was changed after it was encrypted, or it was not encrypted for this key"
    )]
    Failed,
    #[error("{0}")]
    Io(#[from] io::Error),
}

fn names(items: &[String]) -> String {
    crate::escape::join_or(items, "; ", "none")
}

fn malformed(what: impl fmt::Display) -> DecryptError {
    DecryptError::Malformed(what.to_string())
}

impl From<BerStreamError> for DecryptError {
    fn from(e: BerStreamError) -> Self {
        match e {
            BerStreamError::Io(e) => Self::Io(e),
            invalid => malformed(format!("the CMS structure is {invalid}")),
        }
    }
}

/// What was decrypted, and how.
#[derive(Debug, Clone)]
pub struct DecryptReport<K> {
    /// The key that decrypted it.
    pub key: K,
    /// The subject of that key's certificate.
    pub recipient: String,
    /// "RSA PKCS#1 v1.5", "ECDH P-256 with SHA-1 KDF and AES-256 key wrap", …
    pub key_management: String,
    /// "AES-256-CBC", "AES-128-GCM", …
    pub content_cipher: &'static str,
    /// The decrypted entity's Content-Type.
    pub content_type: ContentType,
    /// Bytes of the decrypted entity.
    pub content_bytes: u64,
}

impl<K> DecryptReport<K> {
    /// Whether the decrypted entity is signed mail (multipart/signed, or opaque
    /// signed-data), to be verified next.
    pub fn is_signed(&self) -> bool {
        let ct = &self.content_type;
        match ct.mime_type.as_str() {
            "multipart/signed" => true,
            "application/pkcs7-mime" | "application/x-pkcs7-mime" => ct
                .param("smime-type")
                .is_none_or(|t| t.eq_ignore_ascii_case("signed-data")),
            _ => false,
        }
    }
}

/// Decrypts the message `input` (headers and body) with a key of `decryptor`, writing the
/// decrypted message to `output`: the message's headers, then the entity that was
/// encrypted. What reaches `output` is only to be kept when this returns `Ok`.
pub fn decrypt<D: Decryptor>(
    input: &mut impl BufRead,
    output: &mut dyn Write,
    decryptor: &mut D,
) -> Result<DecryptReport<D::Key>, DecryptError> {
    let headers = mime::read_headers(input)
        .map_err(|e| DecryptError::NotEncrypted(format!("it is not mail: {e}")))?;
    if headers.iter().filter(|h| h.is("Content-Type")).count() > 1 {
        return Err(malformed(
            "the message has more than one Content-Type header",
        ));
    }
    let content_type = mime::content_type(&headers);
    match content_type.mime_type.as_str() {
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => {}
        other => return Err(DecryptError::NotEncrypted(format!("its type is {other}"))),
    }
    match content_type
        .param("smime-type")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("enveloped-data" | "authenveloped-data") => {}
        Some(other) => {
            return Err(DecryptError::NotEncrypted(format!("it is S/MIME {other}")));
        }
    }
    let mut output = reassemble::Reassembler::new(&headers, output);
    let opened = match mime::transfer_encoding(&headers).as_str() {
        "binary" | "8bit" => decrypt_body(BerReader::new(input), &mut output, decryptor)?,
        _ => decrypt_body(
            BerReader::new(Base64Reader::new(input)),
            &mut output,
            decryptor,
        )?,
    };
    let (content_type, content_bytes) = output.finish()?;
    Ok(DecryptReport {
        content_type,
        content_bytes,
        ..opened
    })
}

/// Decrypts the CMS structure `reader` holds into `output`; the report's content fields are
/// left for the caller.
fn decrypt_body<R: Read, D: Decryptor>(
    mut reader: BerReader<R>,
    output: &mut dyn Write,
    decryptor: &mut D,
) -> Result<DecryptReport<D::Key>, DecryptError> {
    let mut envelope = envelope::read_head(&mut reader)?;
    let cipher = ContentCipher::from_algorithm(
        &envelope.content_algorithm,
        envelope.kind == Kind::AuthEnveloped,
    )?;
    let opened = open(decryptor, &envelope.recipient_infos, cipher.key_len())?;
    cipher.decrypt(&opened.content_key, &mut reader, &mut envelope, output)?;
    if reader.peek()?.is_some() {
        return Err(malformed("there is more data after the CMS structure"));
    }
    Ok(DecryptReport {
        key: opened.key,
        recipient: opened.recipient,
        key_management: opened.key_management,
        content_cipher: cipher.name(),
        content_type: ContentType::default_text(),
        content_bytes: 0,
    })
}

/// A recipient info opened: the content-encryption key, and which key opened it how.
struct Opened<K> {
    key: K,
    recipient: String,
    key_management: String,
    content_key: Zeroizing<Vec<u8>>,
}

/// How a recipient info names the certificate of the key it was made for.
enum RecipientName<'a> {
    IssuerSerial(&'a IssuerAndSerialNumber),
    KeyIdentifier(&'a SubjectKeyIdentifier),
}

impl RecipientName<'_> {
    fn names(&self, cert: &Certificate) -> bool {
        let tbs = cert.tbs_certificate();
        match self {
            Self::IssuerSerial(isn) => {
                tbs.issuer() == &isn.issuer && tbs.serial_number() == &isn.serial_number
            }
            Self::KeyIdentifier(ski) => matches!(
                tbs.get_extension::<SubjectKeyIdentifier>(),
                Ok(Some((_, own))) if own == **ski
            ),
        }
    }
}

impl fmt::Display for RecipientName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IssuerSerial(isn) => write!(
                f,
                "the certificate with serial number {} from {}",
                isn.serial_number, isn.issuer
            ),
            Self::KeyIdentifier(ski) => write!(
                f,
                "the key with identifier {}",
                hex_string(ski.0.as_bytes())
            ),
        }
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A recipient info, for one recipient.
enum Recipient<'a> {
    Transport(&'a KeyTransRecipientInfo),
    /// Key agreement, with the index of the recipient's encrypted key.
    Agreement(&'a KeyAgreeRecipientInfo, usize),
}

/// Each recipient the message names, with its recipient info.
fn recipients(infos: &[RecipientInfo]) -> Vec<(RecipientName<'_>, Recipient<'_>)> {
    let mut out = Vec::new();
    for info in infos {
        match info {
            RecipientInfo::Ktri(ktri) => {
                let name = match &ktri.rid {
                    RecipientIdentifier::IssuerAndSerialNumber(isn) => {
                        RecipientName::IssuerSerial(isn)
                    }
                    RecipientIdentifier::SubjectKeyIdentifier(ski) => {
                        RecipientName::KeyIdentifier(ski)
                    }
                };
                out.push((name, Recipient::Transport(ktri)));
            }
            RecipientInfo::Kari(kari) => {
                for (i, rek) in kari.recipient_enc_keys.iter().enumerate() {
                    let name = match &rek.rid {
                        KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(isn) => {
                            RecipientName::IssuerSerial(isn)
                        }
                        KeyAgreeRecipientIdentifier::RKeyId(id) => {
                            RecipientName::KeyIdentifier(&id.subject_key_identifier)
                        }
                    };
                    out.push((name, Recipient::Agreement(kari, i)));
                }
            }
            // Symmetric keys and passwords are for other kinds of holders.
            _ => {}
        }
    }
    out
}

/// Finds the first of the decryptor's keys the message was encrypted for, and recovers the
/// content-encryption key (of `key_len` bytes) with it.
fn open<D: Decryptor>(
    decryptor: &mut D,
    infos: &[RecipientInfo],
    key_len: usize,
) -> Result<Opened<D::Key>, DecryptError> {
    let keys = decryptor.recipient_keys().map_err(DecryptError::Key)?;
    let named = recipients(infos);
    for (key, cert) in &keys {
        let Some((_, recipient)) = named.iter().find(|(name, _)| name.names(cert)) else {
            continue;
        };
        let public = crate::pki::public_key(cert).map_err(|e| malformed(e.to_string()))?;
        let (content_key, key_management) = match recipient {
            Recipient::Transport(ktri) => {
                key_transport::content_key(decryptor, key, &public, ktri, key_len)?
            }
            Recipient::Agreement(kari, index) => {
                key_agreement::content_key(decryptor, key, &public, kari, *index, key_len)?
            }
        };
        return Ok(Opened {
            key: key.clone(),
            recipient: crate::pki::subject(cert),
            key_management,
            content_key,
        });
    }
    Err(DecryptError::NotRecipient {
        recipients: named.iter().map(|(name, _)| name.to_string()).collect(),
        keys: keys
            .iter()
            .map(|(key, cert)| format!("{key}: {}", crate::pki::subject(cert)))
            .collect(),
    })
}
