//! GET METADATA answers (YubiKey 5.3+): a flat list of TLVs with tags 01–06.

use super::policy::{PinPolicy, TouchPolicy};
use crate::tlv::{self, Tag, TlvError};

pub const ALGORITHM: Tag = Tag(0x01);
pub const POLICY: Tag = Tag(0x02);
pub const ORIGIN: Tag = Tag(0x03);
pub const PUBLIC_KEY: Tag = Tag(0x04);
pub const IS_DEFAULT: Tag = Tag(0x05);
pub const RETRIES: Tag = Tag(0x06);

/// Where a key came from (tag 03).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Origin {
    Generated = 0x01,
    Imported = 0x02,
}

/// The metadata of a PIN, PUK, management key or key slot; each tag is present only
/// where it applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Algorithm byte (FF for PIN and PUK).
    pub algorithm: Option<u8>,
    /// PIN policy and touch policy as resolved for this slot.
    pub policy: Option<(u8, u8)>,
    pub origin: Option<Origin>,
    /// The public key as the 7F49 template's content (81/82 or 86), without the wrapper.
    pub public_key: Option<Vec<u8>>,
    /// Whether a PIN, PUK or management key still has its factory value.
    pub is_default: Option<bool>,
    /// (total retries, remaining retries).
    pub retries: Option<(u8, u8)>,
}

impl Metadata {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(alg) = self.algorithm {
            tlv::write(&mut out, ALGORITHM, &[alg]);
        }
        if let Some((pin, touch)) = self.policy {
            tlv::write(&mut out, POLICY, &[pin, touch]);
        }
        if let Some(origin) = self.origin {
            tlv::write(&mut out, ORIGIN, &[origin as u8]);
        }
        if let Some(key) = &self.public_key {
            tlv::write(&mut out, PUBLIC_KEY, key);
        }
        if let Some(default) = self.is_default {
            tlv::write(&mut out, IS_DEFAULT, &[default as u8]);
        }
        if let Some((total, left)) = self.retries {
            tlv::write(&mut out, RETRIES, &[total, left]);
        }
        out
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, TlvError> {
        let mut meta = Self::default();
        for item in tlv::parse_all(bytes)? {
            let v = item.value;
            let wrong = || TlvError::WrongSize(item.tag.0);
            match item.tag {
                ALGORITHM => meta.algorithm = Some(*v.first().ok_or_else(wrong)?),
                POLICY => match v {
                    [pin, touch] => meta.policy = Some((*pin, *touch)),
                    _ => return Err(wrong()),
                },
                ORIGIN => {
                    meta.origin = match v {
                        [0x01] => Some(Origin::Generated),
                        [0x02] => Some(Origin::Imported),
                        _ => return Err(wrong()),
                    }
                }
                PUBLIC_KEY => meta.public_key = Some(v.to_vec()),
                IS_DEFAULT => meta.is_default = Some(*v.first().ok_or_else(wrong)? != 0),
                RETRIES => match v {
                    [total, left] => meta.retries = Some((*total, *left)),
                    _ => return Err(wrong()),
                },
                _ => {} // Later firmware may add tags; skip them.
            }
        }
        Ok(meta)
    }

    pub fn pin_policy(&self) -> Option<PinPolicy> {
        self.policy.and_then(|(p, _)| PinPolicy::from_byte(p))
    }

    pub fn touch_policy(&self) -> Option<TouchPolicy> {
        self.policy.and_then(|(_, t)| TouchPolicy::from_byte(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_metadata_matches_a_yubikey() {
        let meta = Metadata {
            algorithm: Some(0xFF),
            is_default: Some(true),
            retries: Some((5, 5)),
            ..Default::default()
        };
        assert_eq!(
            meta.encode(),
            vec![0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x05, 0x05]
        );
        assert_eq!(Metadata::parse(&meta.encode()).unwrap(), meta);
    }
}
