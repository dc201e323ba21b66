//! The CMS structure of an encrypted message, read from a BER stream: the ContentInfo and
//! (Auth)EnvelopedData around the content (RFC 5652 §6.1, RFC 5083 §2), the recipient
//! infos, the content's algorithm, then the content itself in pieces, then what follows it
//! (the GCM tag and authenticated attributes).
//!
//! The fields around the content are small and read whole, each bounded; only the content
//! streams.

use std::io::Read;

use cms::enveloped_data::{RecipientInfo, RecipientInfos};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911;
use der::Decode;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;

use super::{DecryptError, malformed};
use crate::oids;
use crate::smime::ber;
use crate::smime::ber_reader::{BerReader, End, StringSegments};

/// The most bytes one field around the content may take (recipient infos with many
/// recipients, originator certificates, attributes).
const MAX_FIELD: usize = 1 << 20;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OCTET_STRING: u8 = 0x04;
/// `[0]` primitive and constructed, `[1]` and `[2]` constructed.
const CONTEXT_0: u8 = 0x80;
const CONTEXT_0_CONSTRUCTED: u8 = 0xA0;
const CONTEXT_1_CONSTRUCTED: u8 = 0xA1;
const CONTEXT_2_CONSTRUCTED: u8 = 0xA2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// EnvelopedData: confidentiality only (CBC).
    Enveloped,
    /// AuthEnvelopedData: authenticated encryption (GCM).
    AuthEnveloped,
}

/// An encrypted message read up to its content.
pub(super) struct Envelope {
    pub(super) kind: Kind,
    pub(super) recipient_infos: Vec<RecipientInfo>,
    pub(super) content_algorithm: AlgorithmIdentifierOwned,
    content: StringSegments,
    /// The ends of the ContentInfo, its `[0]`, the (Auth)EnvelopedData and the
    /// EncryptedContentInfo.
    ends: [End; 4],
}

/// What follows the content of an AuthEnvelopedData.
pub(super) struct Trailer {
    /// The DER of the authenticated attributes with the SET OF tag, as GCM authenticates
    /// them (RFC 5083 §2.2).
    pub(super) auth_attrs: Option<Vec<u8>>,
    /// The GCM tag.
    pub(super) mac: Option<Vec<u8>>,
}

/// One whole field, normalised to DER and decoded as `T`.
fn field<T: for<'a> Decode<'a>, R: Read>(
    reader: &mut BerReader<R>,
    what: &str,
) -> Result<(T, Vec<u8>), DecryptError> {
    let ber = reader.element(MAX_FIELD)?;
    let der = ber::to_der(&ber).map_err(|e| malformed(format!("{what} is {e}")))?;
    let value = T::from_der(&der).map_err(|e| malformed(format!("{what} cannot be read: {e}")))?;
    Ok((value, der))
}

/// Reads the CMS structure up to the first octet of the encrypted content.
pub(super) fn read_head<R: Read>(reader: &mut BerReader<R>) -> Result<Envelope, DecryptError> {
    let content_info = reader.expect(SEQUENCE, "a ContentInfo")?;
    let content_info = reader.end_of(&content_info);
    let (content_type, _) = field::<ObjectIdentifier, _>(reader, "the content type")?;
    let kind = match content_type {
        rfc5911::ID_ENVELOPED_DATA => Kind::Enveloped,
        rfc5911::ID_CT_AUTH_ENVELOPED_DATA => Kind::AuthEnveloped,
        rfc5911::ID_SIGNED_DATA => {
            return Err(DecryptError::NotEncrypted(
                "it is signed, not encrypted (verify it instead)".into(),
            ));
        }
        other => {
            return Err(DecryptError::NotEncrypted(format!(
                "its CMS content is {}",
                oids::name(other)
            )));
        }
    };
    let explicit = reader.expect(CONTEXT_0_CONSTRUCTED, "the content [0]")?;
    let explicit = reader.end_of(&explicit);
    let enveloped = reader.expect(SEQUENCE, "an EnvelopedData")?;
    let enveloped = reader.end_of(&enveloped);
    reader.skip(MAX_FIELD)?; // version: what follows says all that matters
    if reader.peek()? == Some(CONTEXT_0_CONSTRUCTED) {
        // originatorInfo: certificates a static-static key agreement would need; not used.
        reader.skip(MAX_FIELD)?;
    }
    let (RecipientInfos(infos), _) = field::<RecipientInfos, _>(reader, "the recipient infos")?;
    let encrypted = reader.expect(SEQUENCE, "an EncryptedContentInfo")?;
    let encrypted = reader.end_of(&encrypted);
    let (inner_type, _) = field::<ObjectIdentifier, _>(reader, "the encrypted content's type")?;
    if inner_type != rfc5911::ID_DATA {
        return Err(DecryptError::Unsupported(format!(
            "the encrypted content is {}, not data",
            oids::name(inner_type)
        )));
    }
    let (content_algorithm, _) =
        field::<AlgorithmIdentifierOwned, _>(reader, "the content-encryption algorithm")?;
    if reader.at_end(encrypted)? {
        return Err(DecryptError::Unsupported(
            "the encrypted content is detached (not in the message)".into(),
        ));
    }
    let content = reader.header()?;
    if content.tag & !0x20 != CONTEXT_0 {
        return Err(malformed("the encrypted content is not [0]"));
    }
    Ok(Envelope {
        kind,
        recipient_infos: infos.into_vec(),
        content_algorithm,
        content: StringSegments::new(reader, &content, OCTET_STRING),
        ends: [content_info, explicit, enveloped, encrypted],
    })
}

impl Envelope {
    /// The next octets of the encrypted content into `buf`; 0 at its end.
    pub(super) fn read_content<R: Read>(
        &mut self,
        reader: &mut BerReader<R>,
        buf: &mut [u8],
    ) -> Result<usize, DecryptError> {
        Ok(self.content.read(reader, buf)?)
    }

    /// Reads what follows the content, to the end of the structure.
    pub(super) fn read_trailer<R: Read>(
        &self,
        reader: &mut BerReader<R>,
    ) -> Result<Trailer, DecryptError> {
        let [content_info, explicit, enveloped, encrypted] = self.ends;
        reader.finish(encrypted, "the EncryptedContentInfo")?;
        let mut trailer = Trailer {
            auth_attrs: None,
            mac: None,
        };
        match self.kind {
            Kind::Enveloped => {
                if reader.peek()? == Some(CONTEXT_1_CONSTRUCTED) {
                    // unprotectedAttrs: nothing here depends on them.
                    reader.skip(MAX_FIELD)?;
                }
            }
            Kind::AuthEnveloped => {
                if reader.peek()? == Some(CONTEXT_1_CONSTRUCTED) {
                    let (_, mut der) =
                        field::<der::Any, _>(reader, "the authenticated attributes")?;
                    der[0] = SET;
                    trailer.auth_attrs = Some(der);
                }
                if reader.peek()? != Some(OCTET_STRING)
                    && reader.peek()? != Some(OCTET_STRING | 0x20)
                {
                    return Err(malformed("the authentication tag (mac) is missing"));
                }
                let (mac, _) = field::<OctetString, _>(reader, "the authentication tag")?;
                trailer.mac = Some(mac.into_bytes().into_vec());
                if reader.peek()? == Some(CONTEXT_2_CONSTRUCTED) {
                    reader.skip(MAX_FIELD)?;
                }
            }
        }
        reader.finish(enveloped, "the EnvelopedData")?;
        reader.finish(explicit, "the content [0]")?;
        reader.finish(content_info, "the ContentInfo")?;
        Ok(trailer)
    }
}
