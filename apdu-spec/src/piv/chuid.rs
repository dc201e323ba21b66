//! The Card Holder Unique Identifier (SP 800-73-4 Part 1, Table 9) and the Key History
//! object (Table 19): the parts a card and a host exchange.

use crate::tlv::{self, Tag, TlvError};

const FASC_N: Tag = Tag(0x30);
const GUID: Tag = Tag(0x34);
const EXPIRATION: Tag = Tag(0x35);
const SIGNATURE: Tag = Tag(0x3E);
const LRC: Tag = Tag(0xFE);

/// The FASC-N a card carries when it belongs to no federal agency (all nines).
pub const FASC_N_NON_FEDERAL: [u8; 25] = [
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08,
    0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
];

/// The CHUID's content (the value of tag 53).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chuid {
    pub fasc_n: Vec<u8>,
    pub guid: Option<[u8; 16]>,
    /// YYYYMMDD.
    pub expiration: Option<String>,
}

impl Chuid {
    /// A non-federal CHUID with this GUID.
    pub fn new(guid: [u8; 16], expiration: &str) -> Self {
        Self {
            fasc_n: FASC_N_NON_FEDERAL.to_vec(),
            guid: Some(guid),
            expiration: Some(expiration.to_owned()),
        }
    }

    /// Encodes with an empty issuer signature (3E) and LRC (FE), as cards without a
    /// signed CHUID carry them.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        tlv::write(&mut out, FASC_N, &self.fasc_n);
        if let Some(guid) = &self.guid {
            tlv::write(&mut out, GUID, guid);
        }
        if let Some(expiration) = &self.expiration {
            tlv::write(&mut out, EXPIRATION, expiration.as_bytes());
        }
        tlv::write(&mut out, SIGNATURE, &[]);
        tlv::write(&mut out, LRC, &[]);
        out
    }

    pub fn parse(content: &[u8]) -> Result<Self, TlvError> {
        let items = tlv::parse_all(content)?;
        let find = |tag: Tag| items.iter().find(|t| t.tag == tag).map(|t| t.value);
        Ok(Self {
            fasc_n: find(FASC_N).unwrap_or_default().to_vec(),
            guid: find(GUID).and_then(|g| g.try_into().ok()),
            expiration: find(EXPIRATION).map(|e| String::from_utf8_lossy(e).into_owned()),
        })
    }
}

/// The Key History object's content: how many retired keys the card holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyHistory {
    pub keys_with_on_card_certs: u8,
    pub keys_with_off_card_certs: u8,
    pub off_card_cert_url: Option<String>,
}

impl KeyHistory {
    const ON_CARD: Tag = Tag(0xC1);
    const OFF_CARD: Tag = Tag(0xC2);
    const URL: Tag = Tag(0xF3);

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        tlv::write(&mut out, Self::ON_CARD, &[self.keys_with_on_card_certs]);
        tlv::write(&mut out, Self::OFF_CARD, &[self.keys_with_off_card_certs]);
        if let Some(url) = &self.off_card_cert_url {
            tlv::write(&mut out, Self::URL, url.as_bytes());
        }
        tlv::write(&mut out, LRC, &[]);
        out
    }

    pub fn parse(content: &[u8]) -> Result<Self, TlvError> {
        let items = tlv::parse_all(content)?;
        let byte = |tag: Tag| {
            items
                .iter()
                .find(|t| t.tag == tag)
                .and_then(|t| t.value.first().copied())
        };
        Ok(Self {
            keys_with_on_card_certs: byte(Self::ON_CARD).unwrap_or(0),
            keys_with_off_card_certs: byte(Self::OFF_CARD).unwrap_or(0),
            off_card_cert_url: items
                .iter()
                .find(|t| t.tag == Self::URL)
                .map(|t| String::from_utf8_lossy(t.value).into_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chuid_and_key_history_round_trip() {
        let chuid = Chuid::new([7; 16], "20991231");
        let bytes = chuid.encode();
        assert_eq!(&bytes[..2], &[0x30, 25]);
        assert_eq!(Chuid::parse(&bytes).unwrap(), chuid);
        let history = KeyHistory {
            keys_with_on_card_certs: 2,
            keys_with_off_card_certs: 1,
            off_card_cert_url: None,
        };
        assert_eq!(KeyHistory::parse(&history.encode()).unwrap(), history);
    }
}
