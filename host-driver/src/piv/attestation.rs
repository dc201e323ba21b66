//! YubiKey attestation: the card's statement, signed by its F9 key, that a slot's key
//! was generated on the card; checked here against the F9 certificate and, if given,
//! against trusted roots for F9.

use apdu_spec::StatusWord;
use apdu_spec::piv::{Instruction, Slot};
use der::{Decode, Encode};
use x509_cert::Certificate;

use super::PivCard;
use super::exchange::command;
use crate::error::{Error, Result};
use crate::oids::{ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, SHA256_WITH_RSA};
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

/// Checks that `issuer`'s key signed `cert`.
pub fn verify_issued_by(cert: &Certificate, issuer: &Certificate) -> Result<()> {
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Err(Error::Attestation(
            "the certificate's issuer is not the attestation certificate's subject".into(),
        ));
    }
    let tbs = cert.tbs_certificate().to_der().map_err(Error::malformed)?;
    let signature = cert.signature().raw_bytes();
    let spki = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(Error::malformed)?;
    let key = PublicKey::from_spki_der(&spki)?;
    let bad = |e: signature::Error| Error::Attestation(format!("signature does not verify: {e}"));
    use signature::Verifier;
    match (cert.signature_algorithm().oid, &key) {
        (SHA256_WITH_RSA, PublicKey::Rsa(k)) => {
            let hash = crate::piv::operations::digest(crate::rsa_padding::HashAlg::Sha256, &tbs);
            k.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hash, signature)
                .map_err(|_| Error::Attestation("RSA signature does not verify".into()))
        }
        (ECDSA_WITH_SHA256, PublicKey::P256(k)) => {
            let sig = p256::ecdsa::DerSignature::from_bytes(signature).map_err(bad)?;
            p256::ecdsa::VerifyingKey::from(k)
                .verify(&tbs, &sig)
                .map_err(bad)
        }
        (ECDSA_WITH_SHA384, PublicKey::P384(k)) => {
            let sig = p384::ecdsa::DerSignature::from_bytes(signature).map_err(bad)?;
            p384::ecdsa::VerifyingKey::from(k)
                .verify(&tbs, &sig)
                .map_err(bad)
        }
        (oid, _) => Err(Error::Attestation(format!(
            "unsupported signature algorithm {oid}"
        ))),
    }
}

impl<T: Transport> PivCard<T> {
    /// YubiKey's ATTEST: the attestation certificate (DER) of the key in `slot`.
    pub fn attest(&mut self, slot: Slot) -> Result<Vec<u8>> {
        if !self.features().attestation() {
            return Err(Error::Unsupported("attestation"));
        }
        self.run(|x| {
            let r = x.send(command(Instruction::Attest, slot.to_byte(), 0x00, vec![]))?;
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
        verify_issued_by(&cert, &issuer)?;
        if !roots.is_empty() {
            let trusted = roots
                .iter()
                .filter_map(|r| Certificate::from_der(r).ok())
                .any(|root| verify_issued_by(&issuer, &root).is_ok());
            if !trusted {
                return Err(Error::Attestation(
                    "the attestation certificate was not issued by a trusted root".into(),
                ));
            }
        }
        let tbs = cert.tbs_certificate();
        let spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(Error::malformed)?;
        let public_key = PublicKey::from_spki_der(&spki)?;
        if self.features().metadata() && self.public_key(slot)? != public_key {
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
