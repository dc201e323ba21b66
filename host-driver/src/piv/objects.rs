//! Data objects: reading and writing them, certificates (plain or gzip-compressed),
//! the CHUID, the discovery object and the key history.

use std::io::Read;

use apdu_spec::StatusWord;
pub use apdu_spec::piv::chuid::{Chuid, KeyHistory};
use apdu_spec::piv::command::{GetData, PutData};
use apdu_spec::piv::object::CertificateObject;
use apdu_spec::piv::{ObjectId, Slot};
use apdu_spec::tlv::Tlv;
use zeroize::Zeroizing;

use super::PivCard;
use crate::error::{Error, Result};
use crate::transport::Transport;

/// A certificate larger than this when decompressed is not a certificate.
const MAX_CERTIFICATE: u64 = 64 * 1024;

impl<T: Transport> PivCard<T> {
    /// The content of a data object (the value of its 53 tag, or the whole 7E/7F61
    /// template), or `None` when the card does not have it.
    pub fn read_object(&mut self, id: ObjectId) -> Result<Option<Vec<u8>>> {
        let data = self.run(|x| {
            let r = x.send(GetData { object: id })?;
            match r.sw {
                // An object may hold a secret (a PIN-protected management key): the answer
                // is wiped once its content is copied out.
                StatusWord::SUCCESS => Ok(Some(zeroize::Zeroizing::new(r.data))),
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
        let put = PutData {
            object: id,
            content: Zeroizing::new(content.to_vec()),
        };
        self.run(|x| {
            let r = x.send(put.clone())?;
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
        Chuid::parse(&content).map(Some).map_err(Error::malformed)
    }

    /// The discovery object's content (PIV AID and PIN usage policy), as stored.
    pub fn discovery(&mut self) -> Result<Option<Vec<u8>>> {
        self.read_object(ObjectId::DISCOVERY)
    }

    pub fn key_history(&mut self) -> Result<Option<KeyHistory>> {
        let Some(content) = self.read_object(ObjectId::KEY_HISTORY)? else {
            return Ok(None);
        };
        KeyHistory::parse(&content)
            .map(Some)
            .map_err(Error::malformed)
    }
}
