//! YubiKey's PIN-protected management key, the convention ykman and Yubico's apps share:
//! the admin data (5FFF00, readable by anyone) says the key is stored, and the printed
//! information (5FC109, readable only after VERIFY) carries it. The key's algorithm is not
//! stored: it is the card's 9B key's.

use zeroize::Zeroizing;

use crate::tlv::{self, Tag, Tlv, TlvError};

const ADMIN_DATA: Tag = Tag(0x80);
const FLAGS: Tag = Tag(0x81);
const SALT: Tag = Tag(0x82);
const PIN_CHANGED: Tag = Tag(0x83);
const PRINTED_INFORMATION: Tag = Tag(0x88);
const MANAGEMENT_KEY: Tag = Tag(0x89);

/// Flag 0x01: the PUK was blocked on purpose.
const PUK_BLOCKED: u8 = 0x01;
/// Flag 0x02: the management key is stored PIN-protected.
const KEY_STORED: u8 = 0x02;

/// The admin data's content (the value of tag 53).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminData {
    pub puk_blocked: bool,
    pub management_key_stored: bool,
    /// Marks the older scheme, a management key derived from the PIN with this salt.
    pub salt: Option<Vec<u8>>,
    /// When the PIN was last changed (seconds since 1970).
    pub pin_changed: Option<u32>,
}

impl AdminData {
    pub fn encode(&self) -> Vec<u8> {
        let mut flags = 0;
        if self.puk_blocked {
            flags |= PUK_BLOCKED;
        }
        if self.management_key_stored {
            flags |= KEY_STORED;
        }
        let mut inner = Vec::new();
        tlv::write(&mut inner, FLAGS, &[flags]);
        if let Some(salt) = &self.salt {
            tlv::write(&mut inner, SALT, salt);
        }
        if let Some(time) = self.pin_changed {
            tlv::write(&mut inner, PIN_CHANGED, &time.to_be_bytes());
        }
        tlv::encode(ADMIN_DATA, &inner)
    }

    pub fn parse(content: &[u8]) -> Result<Self, TlvError> {
        let outer = Tlv::parse_exact(content)?;
        if outer.tag != ADMIN_DATA {
            return Err(TlvError::Missing(ADMIN_DATA.0));
        }
        let items = outer.children()?;
        let find = |tag: Tag| items.iter().find(|t| t.tag == tag).map(|t| t.value);
        let flags = find(FLAGS).and_then(|f| f.first().copied()).unwrap_or(0);
        let pin_changed = find(PIN_CHANGED)
            .map(|t| <[u8; 4]>::try_from(t).map_err(|_| TlvError::WrongSize(PIN_CHANGED.0)))
            .transpose()?
            .map(u32::from_be_bytes);
        Ok(Self {
            puk_blocked: flags & PUK_BLOCKED != 0,
            management_key_stored: flags & KEY_STORED != 0,
            salt: find(SALT).map(<[u8]>::to_vec),
            pin_changed,
        })
    }
}

/// The management key as the printed information carries it. Wiped when dropped.
pub struct StoredManagementKey(pub Zeroizing<Vec<u8>>);

impl StoredManagementKey {
    /// The printed information's content: `88 { 89 <key> }`.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let inner = Zeroizing::new(tlv::encode(MANAGEMENT_KEY, &self.0));
        Zeroizing::new(tlv::encode(PRINTED_INFORMATION, &inner))
    }

    /// The key in the printed information's content; `None` when it holds none.
    pub fn parse(content: &[u8]) -> Result<Option<Self>, TlvError> {
        let outer = Tlv::parse_exact(content)?;
        if outer.tag != PRINTED_INFORMATION {
            return Ok(None);
        }
        Ok(outer
            .children()?
            .into_iter()
            .find(|t| t.tag == MANAGEMENT_KEY)
            .map(|t| Self(Zeroizing::new(t.value.to_vec()))))
    }
}

impl std::fmt::Debug for StoredManagementKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredManagementKey(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_data_says_the_key_is_stored_as_ykman_writes_it() {
        let data = AdminData {
            management_key_stored: true,
            ..AdminData::default()
        };
        assert_eq!(data.encode(), [0x80, 0x03, 0x81, 0x01, 0x02]);
        assert_eq!(AdminData::parse(&data.encode()).unwrap(), data);
        let full = AdminData {
            puk_blocked: true,
            management_key_stored: false,
            salt: Some(vec![9; 16]),
            pin_changed: Some(0x6000_0000),
        };
        assert_eq!(AdminData::parse(&full.encode()).unwrap(), full);
    }

    #[test]
    fn stored_key_round_trips_in_88_89() {
        let key = StoredManagementKey(Zeroizing::new(vec![7; 24]));
        let bytes = key.encode();
        assert_eq!(&bytes[..4], &[0x88, 26, 0x89, 24]);
        let back = StoredManagementKey::parse(&bytes).unwrap().unwrap();
        assert_eq!(*back.0, vec![7; 24]);
        assert!(StoredManagementKey::parse(&[0x99, 0x00]).unwrap().is_none());
    }
}
