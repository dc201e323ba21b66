//! The CMS side of a signed message: the SignedData decoded from BER (see
//! [`crate::smime::ber`]), each SignerInfo kept in the encoding it came in, the signed
//! attributes, and the certificates the message carries.

use cms::signed_data::{SignedData, SignerIdentifier};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911;
use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use super::{VerifyError, malformed};
use crate::hash::HashAlg;
use crate::oids;
use crate::smime::ber;

/// The content a signature covers.
pub(super) enum Content {
    /// Detached (multipart): only digests of it, one per algorithm hashed.
    Digests(Vec<(HashAlg, Vec<u8>)>),
    /// Encapsulated (opaque): the eContent bytes.
    Bytes(Vec<u8>),
}

/// A SignedData, with each SignerInfo's encoding as it came (after BER normalisation):
/// the signed attributes must be checked in the bytes that were signed.
pub(super) struct SignedMessage {
    pub(super) signed_data: SignedData,
    pub(super) signer_infos: Vec<Vec<u8>>,
    pub(super) content: Content,
}

/// Decodes a (BER) ContentInfo holding a SignedData; also returns each SignerInfo's DER as
/// it is in the message.
pub(super) fn decode_signed_data(ber: &[u8]) -> Result<(SignedData, Vec<Vec<u8>>), VerifyError> {
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
pub(super) struct SignedAttributes<'a>(pub(super) &'a x509_cert::attr::Attributes);

impl SignedAttributes<'_> {
    pub(super) fn value(
        &self,
        oid: ObjectIdentifier,
        name: &str,
    ) -> Result<Option<&der::Any>, VerifyError> {
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

    pub(super) fn required(
        &self,
        oid: ObjectIdentifier,
        name: &str,
    ) -> Result<&der::Any, VerifyError> {
        self.value(oid, name)?
            .ok_or_else(|| malformed(format!("the signed attributes lack {name}")))
    }
}

impl SignedMessage {
    pub(super) fn certificates(&self) -> impl Iterator<Item = &Certificate> {
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
    pub(super) fn signer_certificate(
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
}

/// The signed attributes of a SignerInfo's DER as signed: the `[0] IMPLICIT` field with
/// the SET OF tag (`31`) it has in the signature's input.
pub(super) fn signed_attributes_der(info_der: &[u8]) -> Result<Vec<u8>, VerifyError> {
    let fields = ber::children(info_der).map_err(malformed)?;
    let field = fields
        .iter()
        .find(|f| f.first() == Some(&0xA0))
        .ok_or_else(|| malformed("the signed attributes are missing"))?;
    let mut der = field.to_vec();
    der[0] = 0x31;
    Ok(der)
}
