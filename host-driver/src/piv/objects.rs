//! Data objects: reading and writing them, certificates (plain or gzip-compressed),
//! the CHUID, the discovery object and the key history.

use std::io::Read;

use apdu_spec::StatusWord;
use apdu_spec::piv::object::CertificateObject;
use apdu_spec::piv::{Instruction, ObjectId, Slot};
use apdu_spec::tlv::{self, Tag, Tlv};

use super::PivCard;
use super::exchange::{command, command_no_data};
use crate::error::{Error, Result};
use crate::transport::Transport;

/// A certificate larger than this when decompressed is not a certificate.
const MAX_CERTIFICATE: u64 = 64 * 1024;

/// The parts of the Card Holder Unique Identifier a host uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chuid {
    pub fasc_n: Vec<u8>,
    pub guid: Option<[u8; 16]>,
    /// YYYYMMDD.
    pub expiration: Option<String>,
}

/// The key history object: how many retired keys the card has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyHistory {
    pub keys_with_on_card_certs: u8,
    pub keys_with_off_card_certs: u8,
    pub off_card_cert_url: Option<String>,
}

impl<T: Transport> PivCard<T> {
    /// The content of a data object (the value of its 53 tag, or the whole 7E/7F61
    /// template), or `None` when the card does not have it.
    pub fn read_object(&mut self, id: ObjectId) -> Result<Option<Vec<u8>>> {
        let data = self.run(|x| {
            let r = x.send(command(Instruction::GetData, 0x3F, 0xFF, id.tag_list()))?;
            match r.sw {
                StatusWord::SUCCESS => Ok(Some(r.data)),
                StatusWord::NOT_FOUND => Ok(None),
                sw => Err(Error::from_status("GET DATA", sw)),
            }
        })?;
        let Some(data) = data else { return Ok(None) };
        let outer = Tlv::parse(&data).map_err(Error::malformed)?.0;
        if outer.tag != id.content_tag() {
            return Err(Error::malformed(format!(
                "object {id} came back with tag {:X}",
                outer.tag.0
            )));
        }
        Ok(Some(outer.value.to_vec()))
    }

    /// Writes a data object (needs the management key); empty content deletes it.
    pub fn write_object(&mut self, id: ObjectId, content: &[u8]) -> Result<()> {
        let mut data = id.tag_list();
        tlv::write(&mut data, id.content_tag(), content);
        self.run(|x| {
            let r = x.send(command_no_data(
                Instruction::PutData,
                0x3F,
                0xFF,
                data.clone(),
            ))?;
            match r.sw {
                StatusWord::SUCCESS => Ok(()),
                StatusWord::NOT_ENOUGH_MEMORY => Err(Error::InvalidArgument(format!(
                    "{} does not fit in the card's storage",
                    id.name()
                ))),
                sw => Err(Error::from_status("PUT DATA", sw)),
            }
        })
    }

    /// The DER certificate for `slot`, decompressed if the card stores it gzipped.
    pub fn read_certificate(&mut self, slot: Slot) -> Result<Option<Vec<u8>>> {
        let Some(content) = self.read_object(slot.certificate_object())? else {
            return Ok(None);
        };
        let object = CertificateObject::parse(&content).map_err(Error::malformed)?;
        if !object.compressed {
            return Ok(Some(object.certificate));
        }
        let mut der = Vec::new();
        flate2::read::GzDecoder::new(object.certificate.as_slice())
            .take(MAX_CERTIFICATE)
            .read_to_end(&mut der)
            .map_err(|e| Error::malformed(format!("compressed certificate: {e}")))?;
        Ok(Some(der))
    }

    pub fn write_certificate(&mut self, slot: Slot, der: &[u8]) -> Result<()> {
        self.write_object(
            slot.certificate_object(),
            &CertificateObject::new(der.to_vec()).encode(),
        )
    }

    pub fn delete_certificate(&mut self, slot: Slot) -> Result<()> {
        self.write_object(slot.certificate_object(), &[])
    }

    pub fn chuid(&mut self) -> Result<Option<Chuid>> {
        let Some(content) = self.read_object(ObjectId::CHUID)? else {
            return Ok(None);
        };
        let items = tlv::parse_all(&content).map_err(Error::malformed)?;
        let find = |tag: u32| items.iter().find(|t| t.tag == Tag(tag)).map(|t| t.value);
        Ok(Some(Chuid {
            fasc_n: find(0x30).unwrap_or_default().to_vec(),
            guid: find(0x34).and_then(|g| g.try_into().ok()),
            expiration: find(0x35).map(|e| String::from_utf8_lossy(e).into_owned()),
        }))
    }

    /// The discovery object's content (PIV AID and PIN usage policy), as stored.
    pub fn discovery(&mut self) -> Result<Option<Vec<u8>>> {
        self.read_object(ObjectId::DISCOVERY)
    }

    pub fn key_history(&mut self) -> Result<Option<KeyHistory>> {
        let Some(content) = self.read_object(ObjectId::KEY_HISTORY)? else {
            return Ok(None);
        };
        let items = tlv::parse_all(&content).map_err(Error::malformed)?;
        let byte = |tag: u32| {
            items
                .iter()
                .find(|t| t.tag == Tag(tag))
                .and_then(|t| t.value.first().copied())
        };
        Ok(Some(KeyHistory {
            keys_with_on_card_certs: byte(0xC1).unwrap_or(0),
            keys_with_off_card_certs: byte(0xC2).unwrap_or(0),
            off_card_cert_url: items
                .iter()
                .find(|t| t.tag == Tag(0xF3))
                .map(|t| String::from_utf8_lossy(t.value).into_owned()),
        }))
    }
}
