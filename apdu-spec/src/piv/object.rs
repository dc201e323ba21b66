//! PIV data objects (SP 800-73-4 Part 1, Table 3) and YubiKey's, with the framing GET DATA
//! and PUT DATA put around them.

use crate::tlv::{self, Tag, Tlv, TlvError};

/// A data object identifier: the value of tag 5C in GET DATA and PUT DATA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub u32);

/// Tag 5C: the tag list that names the object.
pub const TAG_LIST: Tag = Tag(0x5C);
/// Tag 53: the object's content as GET DATA returns it and PUT DATA sends it.
pub const DATA: Tag = Tag(0x53);

/// Tags inside a certificate object.
pub const CERT_DER: Tag = Tag(0x70);
pub const CERT_INFO: Tag = Tag(0x71);
pub const CERT_LRC: Tag = Tag(0xFE);
/// CertInfo value 01: the certificate is gzip-compressed.
pub const CERT_INFO_GZIP: u8 = 0x01;

impl ObjectId {
    pub const DISCOVERY: Self = Self(0x7E);
    pub const BIOMETRIC_GROUP_TEMPLATE: Self = Self(0x7F61);
    pub const CARD_CAPABILITY_CONTAINER: Self = Self(0x5FC107);
    pub const CHUID: Self = Self(0x5FC102);
    pub const CERT_AUTHENTICATION: Self = Self(0x5FC105);
    pub const FINGERPRINTS: Self = Self(0x5FC103);
    pub const SECURITY_OBJECT: Self = Self(0x5FC106);
    pub const FACIAL_IMAGE: Self = Self(0x5FC108);
    pub const PRINTED_INFORMATION: Self = Self(0x5FC109);
    pub const CERT_SIGNATURE: Self = Self(0x5FC10A);
    pub const CERT_KEY_MANAGEMENT: Self = Self(0x5FC10B);
    pub const KEY_HISTORY: Self = Self(0x5FC10C);
    pub const CERT_CARD_AUTHENTICATION: Self = Self(0x5FC101);
    pub const IRIS_IMAGES: Self = Self(0x5FC121);
    pub const SM_CERT_SIGNER: Self = Self(0x5FC122);
    pub const PAIRING_CODE_REFERENCE: Self = Self(0x5FC123);
    /// YubiKey's administrative data (PIN-protected management key flags).
    pub const YUBICO_ADMIN_DATA: Self = Self(0x5FFF00);
    /// YubiKey's attestation certificate (the certificate of slot F9).
    pub const YUBICO_ATTESTATION_CERT: Self = Self(0x5FFF01);

    /// Retired key management certificate `n` (1–20), objects 5FC10D–5FC120.
    pub const fn retired_certificate(n: u8) -> Option<Self> {
        if n >= 1 && n <= 20 {
            Some(Self(0x5FC10C + n as u32))
        } else {
            None
        }
    }

    /// The standard PIV objects and YubiKey's two, in tag order.
    pub fn standard() -> impl Iterator<Item = ObjectId> {
        [
            Self::DISCOVERY,
            Self::BIOMETRIC_GROUP_TEMPLATE,
            Self::CERT_CARD_AUTHENTICATION,
            Self::CHUID,
            Self::FINGERPRINTS,
            Self::CERT_AUTHENTICATION,
            Self::SECURITY_OBJECT,
            Self::CARD_CAPABILITY_CONTAINER,
            Self::FACIAL_IMAGE,
            Self::PRINTED_INFORMATION,
            Self::CERT_SIGNATURE,
            Self::CERT_KEY_MANAGEMENT,
            Self::KEY_HISTORY,
        ]
        .into_iter()
        .chain((1..=20).filter_map(Self::retired_certificate))
        .chain([
            Self::IRIS_IMAGES,
            Self::SM_CERT_SIGNER,
            Self::PAIRING_CODE_REFERENCE,
        ])
        .chain([Self::YUBICO_ADMIN_DATA, Self::YUBICO_ATTESTATION_CERT])
    }

    /// Whether the ID names an object a card may hold: 7E, 7F61, or any 5FXXXX.
    pub fn is_valid(self) -> bool {
        matches!(self.0, 0x7E | 0x7F61 | 0x5F_0000..=0x5F_FFFF)
    }

    /// Objects SP 800-73-4 protects with the PIN for reading: fingerprints, facial image,
    /// printed information, iris images.
    pub fn read_needs_pin(self) -> bool {
        matches!(
            self,
            Self::FINGERPRINTS | Self::FACIAL_IMAGE | Self::PRINTED_INFORMATION | Self::IRIS_IMAGES
        )
    }

    /// The tag its content is wrapped in: the object's own tag for discovery and the
    /// biometric group template, 53 for every other object.
    pub fn content_tag(self) -> Tag {
        match self {
            Self::DISCOVERY | Self::BIOMETRIC_GROUP_TEMPLATE => Tag(self.0),
            _ => DATA,
        }
    }

    /// The object ID as bytes (1 to 3).
    pub fn to_bytes(self) -> Vec<u8> {
        let tag = Tag(self.0);
        self.0.to_be_bytes()[4 - tag.len()..].to_vec()
    }

    /// The data field of GET DATA: `5C len id`.
    pub fn tag_list(self) -> Vec<u8> {
        tlv::encode(TAG_LIST, &self.to_bytes())
    }

    /// Reads the object ID from the tag list that starts a GET DATA or PUT DATA data field;
    /// returns it and what follows.
    pub fn parse_tag_list(data: &[u8]) -> Result<(Self, &[u8]), TlvError> {
        let (tlv, rest) = Tlv::parse(data)?;
        if tlv.tag != TAG_LIST {
            return Err(TlvError::Missing(TAG_LIST.0));
        }
        if tlv.value.is_empty() || tlv.value.len() > 3 {
            return Err(TlvError::WrongSize(TAG_LIST.0));
        }
        let id = tlv.value.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32);
        Ok((Self(id), rest))
    }

    pub fn name(self) -> String {
        let known = match self {
            Self::DISCOVERY => "Discovery Object",
            Self::BIOMETRIC_GROUP_TEMPLATE => "Biometric Information Templates Group Template",
            Self::CARD_CAPABILITY_CONTAINER => "Card Capability Container",
            Self::CHUID => "Card Holder Unique Identifier",
            Self::CERT_AUTHENTICATION => "X.509 Certificate for PIV Authentication",
            Self::FINGERPRINTS => "Cardholder Fingerprints",
            Self::SECURITY_OBJECT => "Security Object",
            Self::FACIAL_IMAGE => "Cardholder Facial Image",
            Self::PRINTED_INFORMATION => "Printed Information",
            Self::CERT_SIGNATURE => "X.509 Certificate for Digital Signature",
            Self::CERT_KEY_MANAGEMENT => "X.509 Certificate for Key Management",
            Self::KEY_HISTORY => "Key History Object",
            Self::CERT_CARD_AUTHENTICATION => "X.509 Certificate for Card Authentication",
            Self::IRIS_IMAGES => "Cardholder Iris Images",
            Self::SM_CERT_SIGNER => "Secure Messaging Certificate Signer",
            Self::PAIRING_CODE_REFERENCE => "Pairing Code Reference Data Container",
            Self::YUBICO_ADMIN_DATA => "YubiKey Admin Data",
            Self::YUBICO_ATTESTATION_CERT => "YubiKey Attestation Certificate",
            Self(id @ 0x5FC10D..=0x5FC120) => {
                return format!(
                    "Retired X.509 Certificate for Key Management {}",
                    id - 0x5FC10C
                );
            }
            Self(id) => return format!("object {id:X}"),
        };
        known.into()
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}", self.0)
    }
}

/// The content of a certificate object: `70 <cert> 71 <info> FE <empty>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateObject {
    /// The certificate as stored: DER, or gzip of DER when `compressed`.
    pub certificate: Vec<u8>,
    pub compressed: bool,
}

impl CertificateObject {
    pub fn new(der: Vec<u8>) -> Self {
        Self {
            certificate: der,
            compressed: false,
        }
    }

    /// The value of tag 53.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.certificate.len() + 12);
        tlv::write(&mut out, CERT_DER, &self.certificate);
        tlv::write(
            &mut out,
            CERT_INFO,
            &[if self.compressed { CERT_INFO_GZIP } else { 0 }],
        );
        tlv::write(&mut out, CERT_LRC, &[]);
        out
    }

    pub fn parse(content: &[u8]) -> Result<Self, TlvError> {
        let items = tlv::parse_all(content)?;
        let certificate = items
            .iter()
            .find(|t| t.tag == CERT_DER)
            .ok_or(TlvError::Missing(CERT_DER.0))?
            .value
            .to_vec();
        let compressed = items
            .iter()
            .any(|t| t.tag == CERT_INFO && t.value.first() == Some(&CERT_INFO_GZIP));
        Ok(Self {
            certificate,
            compressed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lists() {
        assert_eq!(
            ObjectId::CERT_AUTHENTICATION.tag_list(),
            vec![0x5C, 3, 0x5F, 0xC1, 0x05]
        );
        assert_eq!(ObjectId::DISCOVERY.tag_list(), vec![0x5C, 1, 0x7E]);
        assert_eq!(
            ObjectId::BIOMETRIC_GROUP_TEMPLATE.tag_list(),
            vec![0x5C, 2, 0x7F, 0x61]
        );
        let (id, rest) = ObjectId::parse_tag_list(&[0x5C, 3, 0x5F, 0xC1, 0x0A, 0x53, 0]).unwrap();
        assert_eq!((id, rest), (ObjectId::CERT_SIGNATURE, &[0x53, 0][..]));
        assert!(ObjectId::parse_tag_list(&[0x5C, 0]).is_err());
    }

    #[test]
    fn certificate_objects_round_trip() {
        let obj = CertificateObject::new(vec![0x30, 0x03, 1, 2, 3]);
        let bytes = obj.encode();
        assert_eq!(bytes, vec![0x70, 5, 0x30, 3, 1, 2, 3, 0x71, 1, 0, 0xFE, 0]);
        assert_eq!(CertificateObject::parse(&bytes).unwrap(), obj);
        assert_eq!(ObjectId::standard().count(), 38);
    }
}
