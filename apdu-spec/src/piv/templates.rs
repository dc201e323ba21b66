//! The constructed templates PIV commands carry: the application property template (61),
//! the dynamic authentication template (7C), the key generation control template (AC),
//! the public key template (7F49), and the data fields of YubiKey's IMPORT KEY and SET
//! MANAGEMENT KEY.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::aid::{NIST_RID, PIV_PIX};
use super::algorithm::Algorithm;
use crate::tlv::{self, Tag, Tlv, TlvError};

/// A value that must be exactly one byte.
fn one_byte(tag: Tag, value: &[u8]) -> Result<u8, TlvError> {
    match value {
        [b] => Ok(*b),
        _ => Err(TlvError::WrongSize(tag.0)),
    }
}

/// Application property template (SP 800-73-4 Part 1, §3.1.1), the answer to SELECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicationTemplate {
    pub pix: Vec<u8>,
    /// Tag 79's AID of the authority that allocated the PIX.
    pub authority: Vec<u8>,
    /// Tag 50: a human-readable label.
    pub label: Option<String>,
    /// Tag AC: the algorithms the card supports.
    pub algorithms: Vec<u8>,
}

impl ApplicationTemplate {
    pub const TAG: Tag = Tag(0x61);
    const PIX: Tag = Tag(0x4F);
    const AUTHORITY: Tag = Tag(0x79);
    const AID: Tag = Tag(0x4F);
    const LABEL: Tag = Tag(0x50);
    const ALGORITHMS: Tag = Tag(0xAC);
    const ALGORITHM: Tag = Tag(0x80);
    const OID: Tag = Tag(0x06);

    /// The PIV application's template with a label and an algorithm list.
    pub fn piv(label: &str, algorithms: &[Algorithm]) -> Self {
        Self {
            pix: PIV_PIX.to_vec(),
            authority: NIST_RID.to_vec(),
            label: Some(label.to_owned()),
            algorithms: algorithms.iter().map(|a| a.to_byte()).collect(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        tlv::write(&mut body, Self::PIX, &self.pix);
        tlv::write(
            &mut body,
            Self::AUTHORITY,
            &tlv::encode(Self::AID, &self.authority),
        );
        if let Some(label) = &self.label {
            tlv::write(&mut body, Self::LABEL, label.as_bytes());
        }
        if !self.algorithms.is_empty() {
            let mut list = Vec::new();
            for alg in &self.algorithms {
                tlv::write(&mut list, Self::ALGORITHM, &[*alg]);
            }
            // SP 800-73-4 ends the list with an object identifier tag of value 00.
            tlv::write(&mut list, Self::OID, &[0x00]);
            tlv::write(&mut body, Self::ALGORITHMS, &list);
        }
        tlv::encode(Self::TAG, &body)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, TlvError> {
        let outer = Tlv::parse_exact(bytes)?;
        if outer.tag != Self::TAG {
            return Err(TlvError::Missing(Self::TAG.0));
        }
        let mut apt = Self::default();
        for item in outer.children()? {
            match item.tag {
                Self::PIX => apt.pix = item.value.to_vec(),
                Self::AUTHORITY => {
                    apt.authority = tlv::find(item.value, Self::AID)?
                        .unwrap_or_default()
                        .to_vec();
                }
                Self::LABEL => apt.label = Some(String::from_utf8_lossy(item.value).into_owned()),
                Self::ALGORITHMS => {
                    for alg in item.children()? {
                        if alg.tag == Self::ALGORITHM {
                            apt.algorithms.push(one_byte(alg.tag, alg.value)?);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(apt)
    }
}

/// Dynamic authentication template (7C) of GENERAL AUTHENTICATE. A field that is
/// `Some(empty)` is a request for that item (`82 00`: "answer with the response").
/// Its values may be secrets; [`Zeroize`] lets a holder wipe them.
#[derive(Clone, PartialEq, Eq, Default, Zeroize)]
pub struct DynamicAuth {
    /// 80: witness.
    pub witness: Option<Vec<u8>>,
    /// 81: challenge (also the data to sign or decrypt).
    pub challenge: Option<Vec<u8>>,
    /// 82: response.
    pub response: Option<Vec<u8>>,
    /// 85: exponentiation (the peer's public point for ECDH).
    pub exponentiation: Option<Vec<u8>>,
}

impl std::fmt::Debug for DynamicAuth {
    /// Lengths only: witnesses, challenges and results may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = |v: &Option<Vec<u8>>| v.as_ref().map(Vec::len);
        f.debug_struct("DynamicAuth")
            .field("witness_len", &len(&self.witness))
            .field("challenge_len", &len(&self.challenge))
            .field("response_len", &len(&self.response))
            .field("exponentiation_len", &len(&self.exponentiation))
            .finish()
    }
}

impl DynamicAuth {
    pub const TAG: Tag = Tag(0x7C);
    pub const WITNESS: Tag = Tag(0x80);
    pub const CHALLENGE: Tag = Tag(0x81);
    pub const RESPONSE: Tag = Tag(0x82);
    pub const EXPONENTIATION: Tag = Tag(0x85);

    /// Encodes in the order yubico-piv-tool sends: 80, 82, 81, 85.
    pub fn encode(&self) -> Vec<u8> {
        let fields = [
            (Self::WITNESS, &self.witness),
            (Self::RESPONSE, &self.response),
            (Self::CHALLENGE, &self.challenge),
            (Self::EXPONENTIATION, &self.exponentiation),
        ];
        // Sized at once and wiped: a buffer that grows or is dropped leaves copies behind.
        let values: usize = fields
            .iter()
            .flat_map(|(_, f)| f.as_deref())
            .map(<[u8]>::len)
            .sum();
        let mut body = Zeroizing::new(Vec::with_capacity(values + 4 * fields.len()));
        for (tag, field) in fields {
            if let Some(value) = field {
                tlv::write(&mut body, tag, value);
            }
        }
        tlv::encode(Self::TAG, &body)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, TlvError> {
        let outer = Tlv::parse_exact(bytes)?;
        if outer.tag != Self::TAG {
            return Err(TlvError::Missing(Self::TAG.0));
        }
        let mut auth = Self::default();
        for item in outer.children()? {
            let value = Some(item.value.to_vec());
            match item.tag {
                Self::WITNESS => auth.witness = value,
                Self::CHALLENGE => auth.challenge = value,
                Self::RESPONSE => auth.response = value,
                Self::EXPONENTIATION => auth.exponentiation = value,
                _ => {}
            }
        }
        Ok(auth)
    }
}

/// Key generation control template (AC) of GENERATE ASYMMETRIC KEY PAIR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateRequest {
    pub algorithm: u8,
    pub pin_policy: Option<u8>,
    pub touch_policy: Option<u8>,
}

impl GenerateRequest {
    pub const TAG: Tag = Tag(0xAC);
    pub const ALGORITHM: Tag = Tag(0x80);
    pub const PIN_POLICY: Tag = Tag(0xAA);
    pub const TOUCH_POLICY: Tag = Tag(0xAB);

    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        tlv::write(&mut body, Self::ALGORITHM, &[self.algorithm]);
        if let Some(p) = self.pin_policy {
            tlv::write(&mut body, Self::PIN_POLICY, &[p]);
        }
        if let Some(t) = self.touch_policy {
            tlv::write(&mut body, Self::TOUCH_POLICY, &[t]);
        }
        tlv::encode(Self::TAG, &body)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, TlvError> {
        let outer = Tlv::parse_exact(bytes)?;
        if outer.tag != Self::TAG {
            return Err(TlvError::Missing(Self::TAG.0));
        }
        let (mut algorithm, mut pin_policy, mut touch_policy) = (None, None, None);
        for item in outer.children()? {
            match item.tag {
                Self::ALGORITHM => algorithm = Some(one_byte(item.tag, item.value)?),
                Self::PIN_POLICY => pin_policy = Some(one_byte(item.tag, item.value)?),
                Self::TOUCH_POLICY => touch_policy = Some(one_byte(item.tag, item.value)?),
                _ => {}
            }
        }
        let algorithm = algorithm.ok_or(TlvError::Missing(Self::ALGORITHM.0))?;
        Ok(Self {
            algorithm,
            pin_policy,
            touch_policy,
        })
    }
}

/// The public key template (7F49) that GENERATE returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeyTemplate {
    /// 81 modulus, 82 public exponent.
    Rsa { modulus: Vec<u8>, exponent: Vec<u8> },
    /// 86: an uncompressed EC point (04‖X‖Y), or the 32 bytes of an Ed25519/X25519 key.
    Point(Vec<u8>),
}

impl PublicKeyTemplate {
    pub const TAG: Tag = Tag(0x7F49);
    pub const MODULUS: Tag = Tag(0x81);
    pub const EXPONENT: Tag = Tag(0x82);
    pub const POINT: Tag = Tag(0x86);

    /// The template's content without the 7F49 wrapper (what metadata tag 04 holds).
    pub fn encode_content(&self) -> Vec<u8> {
        let mut body = Vec::new();
        match self {
            Self::Rsa { modulus, exponent } => {
                tlv::write(&mut body, Self::MODULUS, modulus);
                tlv::write(&mut body, Self::EXPONENT, exponent);
            }
            Self::Point(point) => tlv::write(&mut body, Self::POINT, point),
        }
        body
    }

    pub fn encode(&self) -> Vec<u8> {
        tlv::encode(Self::TAG, &self.encode_content())
    }

    /// Parses the content (the inside of 7F49, or metadata tag 04).
    pub fn parse_content(content: &[u8]) -> Result<Self, TlvError> {
        let items = tlv::parse_all(content)?;
        let get = |tag: Tag| {
            items
                .iter()
                .find(|t| t.tag == tag)
                .map(|t| t.value.to_vec())
        };
        if let Some(point) = get(Self::POINT) {
            return Ok(Self::Point(point));
        }
        let modulus = get(Self::MODULUS).ok_or(TlvError::Missing(Self::MODULUS.0))?;
        let exponent = get(Self::EXPONENT).ok_or(TlvError::Missing(Self::EXPONENT.0))?;
        Ok(Self::Rsa { modulus, exponent })
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, TlvError> {
        let outer = Tlv::parse_exact(bytes)?;
        if outer.tag != Self::TAG {
            return Err(TlvError::Missing(Self::TAG.0));
        }
        Self::parse_content(outer.value)
    }
}

/// The private key components of YubiKey's IMPORT KEY (INS FE); wiped when dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub enum ImportedKey {
    /// 01 p, 02 q, 03 dP, 04 dQ, 05 qInv: each half the modulus length.
    Rsa {
        p: Vec<u8>,
        q: Vec<u8>,
        dp: Vec<u8>,
        dq: Vec<u8>,
        qinv: Vec<u8>,
    },
    /// 06: the private scalar.
    Ecc(Vec<u8>),
    /// 07: the 32-byte seed.
    Ed25519(Vec<u8>),
    /// 08: the 32-byte secret.
    X25519(Vec<u8>),
}

impl std::fmt::Debug for ImportedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print private key material.
        let kind = match self {
            Self::Rsa { .. } => "Rsa",
            Self::Ecc(_) => "Ecc",
            Self::Ed25519(_) => "Ed25519",
            Self::X25519(_) => "X25519",
        };
        write!(f, "ImportedKey::{kind}(redacted)")
    }
}

/// The data field of IMPORT KEY: the components, then optional AA and AB policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportKeyData {
    pub key: ImportedKey,
    pub pin_policy: Option<u8>,
    pub touch_policy: Option<u8>,
}

impl ImportKeyData {
    pub fn encode(&self) -> Vec<u8> {
        // Room for every component at once: a buffer that grows leaves copies behind.
        let components = match &self.key {
            ImportedKey::Rsa { p, q, dp, dq, qinv } => {
                [p, q, dp, dq, qinv].map(Vec::len).iter().sum()
            }
            ImportedKey::Ecc(s) | ImportedKey::Ed25519(s) | ImportedKey::X25519(s) => s.len(),
        };
        let mut out = Vec::with_capacity(components + 5 * 4 + 2 * 3);
        match &self.key {
            ImportedKey::Rsa { p, q, dp, dq, qinv } => {
                for (tag, v) in [(0x01, p), (0x02, q), (0x03, dp), (0x04, dq), (0x05, qinv)] {
                    tlv::write(&mut out, Tag(tag), v);
                }
            }
            ImportedKey::Ecc(s) => tlv::write(&mut out, Tag(0x06), s),
            ImportedKey::Ed25519(s) => tlv::write(&mut out, Tag(0x07), s),
            ImportedKey::X25519(s) => tlv::write(&mut out, Tag(0x08), s),
        }
        if let Some(p) = self.pin_policy {
            tlv::write(&mut out, GenerateRequest::PIN_POLICY, &[p]);
        }
        if let Some(t) = self.touch_policy {
            tlv::write(&mut out, GenerateRequest::TOUCH_POLICY, &[t]);
        }
        out
    }

    /// Parses the components `algorithm` calls for.
    pub fn parse(algorithm: Algorithm, data: &[u8]) -> Result<Self, TlvError> {
        let items = tlv::parse_all(data)?;
        let get = |tag: u32| {
            items
                .iter()
                .find(|t| t.tag == Tag(tag))
                .map(|t| t.value.to_vec())
                .ok_or(TlvError::Missing(tag))
        };
        let key = match algorithm {
            a if a.is_rsa() => ImportedKey::Rsa {
                p: get(1)?,
                q: get(2)?,
                dp: get(3)?,
                dq: get(4)?,
                qinv: get(5)?,
            },
            Algorithm::EccP256 | Algorithm::EccP384 => ImportedKey::Ecc(get(6)?),
            Algorithm::Ed25519 => ImportedKey::Ed25519(get(7)?),
            Algorithm::X25519 => ImportedKey::X25519(get(8)?),
            _ => return Err(TlvError::Missing(0)),
        };
        let policy = |tag: Tag| -> Result<Option<u8>, TlvError> {
            items
                .iter()
                .find(|t| t.tag == tag)
                .map(|t| one_byte(tag, t.value))
                .transpose()
        };
        Ok(Self {
            key,
            pin_policy: policy(GenerateRequest::PIN_POLICY)?,
            touch_policy: policy(GenerateRequest::TOUCH_POLICY)?,
        })
    }
}

/// The data field of SET MANAGEMENT KEY: `<alg> 9B <len> <key>`; wiped when dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct ManagementKeyData {
    pub algorithm: u8,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for ManagementKeyData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ManagementKeyData {{ algorithm: {:02X}, key: redacted }}",
            self.algorithm
        )
    }
}

impl ManagementKeyData {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 2 + self.key.len());
        out.push(self.algorithm);
        tlv::write(&mut out, Tag(0x9B), &self.key);
        out
    }

    pub fn parse(data: &[u8]) -> Result<Self, TlvError> {
        let (&algorithm, rest) = data.split_first().ok_or(TlvError::Truncated)?;
        let tlv = Tlv::parse_exact(rest)?;
        if tlv.tag != Tag(0x9B) {
            return Err(TlvError::Missing(0x9B));
        }
        Ok(Self {
            algorithm,
            key: tlv.value.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_request_matches_yubico_framing() {
        let req = DynamicAuth {
            response: Some(vec![]),
            challenge: Some(vec![0xAA; 32]),
            ..Default::default()
        };
        let bytes = req.encode();
        assert_eq!(&bytes[..6], &[0x7C, 0x24, 0x82, 0x00, 0x81, 0x20]);
        assert_eq!(DynamicAuth::parse(&bytes).unwrap(), req);
    }

    #[test]
    fn apt_carries_label_and_algorithms() {
        let apt = ApplicationTemplate::piv("test", &[Algorithm::Rsa2048, Algorithm::EccP256]);
        let bytes = apt.encode();
        assert_eq!(
            &bytes[..13],
            &[
                0x61, bytes[1], 0x4F, 0x06, 0, 0, 0x10, 0, 1, 0, 0x79, 0x07, 0x4F
            ]
        );
        assert_eq!(ApplicationTemplate::parse(&bytes).unwrap(), apt);
    }

    #[test]
    fn generate_request_round_trip() {
        let req = GenerateRequest {
            algorithm: 0x11,
            pin_policy: Some(2),
            touch_policy: None,
        };
        assert_eq!(
            req.encode(),
            vec![0xAC, 0x06, 0x80, 0x01, 0x11, 0xAA, 0x01, 0x02]
        );
        assert_eq!(GenerateRequest::parse(&req.encode()).unwrap(), req);
        assert!(GenerateRequest::parse(&[0xAC, 0x00]).is_err());
    }

    #[test]
    fn public_key_round_trip() {
        let rsa = PublicKeyTemplate::Rsa {
            modulus: vec![0xC0; 256],
            exponent: vec![1, 0, 1],
        };
        let bytes = rsa.encode();
        assert_eq!(&bytes[..7], &[0x7F, 0x49, 0x82, 0x01, 0x09, 0x81, 0x82]);
        assert_eq!(PublicKeyTemplate::parse(&bytes).unwrap(), rsa);
    }

    #[test]
    fn import_and_management_key_data_round_trip() {
        let data = ImportKeyData {
            key: ImportedKey::Ecc(vec![7; 32]),
            pin_policy: Some(3),
            touch_policy: Some(1),
        };
        assert_eq!(
            ImportKeyData::parse(Algorithm::EccP256, &data.encode()).unwrap(),
            data
        );
        let mk = ManagementKeyData {
            algorithm: 0x03,
            key: vec![1; 24],
        };
        assert_eq!(&mk.encode()[..3], &[0x03, 0x9B, 24]);
        assert_eq!(ManagementKeyData::parse(&mk.encode()).unwrap(), mk);
    }
}
