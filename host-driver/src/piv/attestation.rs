//! YubiKey attestation: the card's statement, signed by its F9 key, that a slot's key
//! was generated on the card; checked here against the F9 certificate and, if given,
//! against trusted roots for F9.

use apdu_spec::StatusWord;
use apdu_spec::piv::Slot;
use apdu_spec::piv::command::Attest;
use der::{Decode, Encode};
use x509_cert::Certificate;

use super::{KeyInfo, KeySource, PivCard};
use crate::error::{Error, Result};
use crate::pki::{self, PathError};
use crate::public_key::PublicKey;
use crate::transport::Transport;

use apdu_spec::piv::attestation::{
    FIRMWARE as OID_FIRMWARE, POLICY as OID_POLICY, SERIAL as OID_SERIAL,
};

/// What a verified attestation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationInfo {
    pub slot: Slot,
    /// The attestation certificate (DER).
    pub certificate: Vec<u8>,
    /// The F9 certificate that issued it (DER).
    pub issuer: Vec<u8>,
    pub subject: String,
    pub firmware: Option<[u8; 3]>,
    pub serial: Option<u32>,
    /// (PIN policy, touch policy) bytes.
    pub policy: Option<(u8, u8)>,
    pub public_key: PublicKey,
}

/// Checks the path from an attestation certificate through the card's F9 certificate to
/// the trusted `roots` (any of which may be an intermediate, e.g. Yubico's), or to F9
/// itself when no roots are given: signatures, validity, CA constraints.
fn check_attestation_path(
    cert: &Certificate,
    f9: &Certificate,
    roots: &[Certificate],
) -> Result<()> {
    let now = std::time::SystemTime::now();
    let result = if roots.is_empty() {
        pki::validate(cert, &[], std::slice::from_ref(f9), now)
    } else {
        let mut intermediates = vec![f9.clone()];
        intermediates.extend(roots.iter().cloned());
        pki::validate(cert, &intermediates, roots, now)
    };
    result.map(drop).map_err(|e| match e {
        PathError::UnknownCa { issuer, .. } => Error::Attestation(format!(
            "the attestation certificate was not issued by a trusted root (the chain reaches {issuer})"
        )),
        e => Error::Attestation(e.to_string()),
    })
}

impl<T: Transport> PivCard<T> {
    /// YubiKey's ATTEST: the attestation certificate (DER) of the key in `slot`.
    pub fn attest(&mut self, slot: Slot) -> Result<Vec<u8>> {
        if !self.features().attestation() {
            return Err(Error::Unsupported("attestation"));
        }
        self.run(|x| {
            let r = x.send(Attest { slot })?;
            match r.sw {
                StatusWord::SUCCESS => Ok(r.data),
                StatusWord::INCORRECT_DATA | StatusWord::REFERENCE_DATA_NOT_FOUND => Err(Error::InvalidArgument(format!(
                    "slot {slot} holds no key generated on the card (imported keys cannot be attested)"
                ))),
                sw => Err(Error::from_status("ATTEST", sw)),
            }
        })
    }

    /// Attests the key in `slot` and checks the statement: signed by the F9 certificate,
    /// for the key the slot really holds, and (when `roots` are given) F9 issued by one
    /// of them.
    pub fn verify_attestation(&mut self, slot: Slot, roots: &[Vec<u8>]) -> Result<AttestationInfo> {
        let der = self.attest(slot)?;
        let issuer_der = self
            .read_certificate(Slot::Attestation)?
            .ok_or_else(|| Error::NotFound("the attestation certificate (object 5FFF01)".into()))?;
        let cert = Certificate::from_der(&der).map_err(Error::malformed)?;
        let issuer = Certificate::from_der(&issuer_der).map_err(Error::malformed)?;
        let roots = roots
            .iter()
            .map(|r| {
                Certificate::from_der(r)
                    .map_err(|e| Error::InvalidArgument(format!("a root certificate: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        check_attestation_path(&cert, &issuer, &roots)?;
        let tbs = cert.tbs_certificate();
        let spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(Error::malformed)?;
        let public_key = PublicKey::from_spki_der(&spki)?;
        // Only the card's own word on the slot's key is worth comparing: a certificate may
        // be older than the key the card attests.
        if let Some(KeyInfo {
            public_key: Some(key),
            source: Some(KeySource::Metadata),
            ..
        }) = self.key_info(slot)?
            && key != public_key
        {
            return Err(Error::Attestation(format!(
                "the attested key is not the key in slot {slot}"
            )));
        }
        let extension = |oid| {
            tbs.extensions()
                .into_iter()
                .flatten()
                .find(|e| e.extn_id == oid)
                .map(|e| e.extn_value.as_bytes().to_vec())
        };
        Ok(AttestationInfo {
            slot,
            subject: tbs.subject().to_string(),
            firmware: extension(OID_FIRMWARE).and_then(|v| v.try_into().ok()),
            serial: extension(OID_SERIAL).and_then(|v| u32::from_der(&v).ok()),
            policy: extension(OID_POLICY).and_then(|v| match v.as_slice() {
                [pin, touch] => Some((*pin, *touch)),
                _ => None,
            }),
            public_key,
            certificate: der,
            issuer: issuer_der,
        })
    }
}
