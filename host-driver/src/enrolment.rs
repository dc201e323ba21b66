//! Enrolment, as an organisation's enrollment agent does it: keys born on the card, a
//! PKCS#10 request per key signed by the card, certificates from a CA written back, a fresh
//! CHUID, and the card personalised (new PIN and PUK, a random management key stored
//! PIN-protected), so it leaves with no factory secret.
//!
//! Every step can be run again, so an interrupted enrolment resumes where it stopped:
//! - a slot whose certificate is for the slot's key is done (on a card that does not tell
//!   its keys, a slot with a certificate is done); any other slot gets a new key;
//! - the PIN is changed when the current PIN still works; when only the new one does,
//!   that step (and the CA's) was done before;
//! - the PUK is probed with its new value only when resuming after the PIN step;
//! - the management key is done when the key stored PIN-protected authenticates and the
//!   admin data flags it.
//!
//! The CA is reached through [`Issuer`]; without one, the requests are handed back and
//! enrolment stops until their certificates are on the card.

use std::cell::RefCell;

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::reference_data::{FACTORY_PIN, FACTORY_PUK};
use apdu_spec::piv::{Algorithm, Slot};
use der::asn1::{Ia5String, Utf8StringRef};
use der::{Decode, Encode};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, RequestBuilder};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::request::CertReq;

use crate::card_signer::CardSigner;
use crate::error::Error;
use crate::piv::{Chuid, KeyInfo, KeySource, PivCard, Secret};
use crate::pki::algorithms::{Scheme, Signed};
use crate::public_key::PublicKey;
use crate::signing::SignatureBytes;
use crate::transport::Transport;

/// What a certificate's key is for: the CA's own notion, so a slot's usage is what the
/// local CA issues for.
pub use crate::ca::Purpose;

/// A CA that issues S/MIME certificates for requests.
pub trait Issuer {
    /// The certificate (DER) for the PKCS#10 request `csr_der`, for `email`, for `usage`.
    fn issue(
        &mut self,
        csr_der: &[u8],
        email: &str,
        usage: Purpose,
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>;
}

/// The local CA issues for enrolment as for `ca issue`: the request's own signature and its
/// one address are checked, then the certificate carries the usage the slot is for.
pub struct LocalCa<S: crate::ca::CaSigner> {
    pub ca: crate::ca::CertificateAuthority<S>,
    /// How long the certificates it issues are valid, in days.
    pub days: u32,
}

impl<S: crate::ca::CaSigner> Issuer for LocalCa<S> {
    fn issue(
        &mut self,
        csr_der: &[u8],
        email: &str,
        usage: Purpose,
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.ca.issue(csr_der, email, usage, self.days)?)
    }
}

/// Whom the card is enrolled for and how.
#[derive(Debug, Clone)]
pub struct Plan {
    pub email: String,
    /// The certificates' subject common name.
    pub name: String,
    pub algorithm: Algorithm,
    /// One key in 9A for both usages, instead of 9C for signing and 9D for encryption.
    pub single_key: bool,
}

impl Plan {
    /// The slots enrolment fills, with what each key is for.
    pub fn slots(&self) -> &'static [(Slot, Purpose)] {
        if self.single_key {
            &[(Slot::Authentication, Purpose::Both)]
        } else {
            &[
                (Slot::Signature, Purpose::Signing),
                (Slot::KeyManagement, Purpose::Encryption),
            ]
        }
    }
}

/// The secrets enrolment uses and sets.
pub struct Secrets {
    pub pin: Secret,
    pub puk: Secret,
    pub new_pin: Secret,
    pub new_puk: Secret,
    /// The card's management key, when given; otherwise the one stored PIN-protected, or
    /// the factory key.
    pub management_key: Option<ManagementKey>,
}

/// A request for one slot, signed by the card, waiting for its certificate.
#[derive(Debug, Clone)]
pub struct Request {
    pub slot: Slot,
    pub usage: Purpose,
    /// PKCS#10 (DER).
    pub der: Vec<u8>,
}

/// How far enrolment went.
#[derive(Debug)]
pub enum Outcome {
    /// Certificates on the card, the card personalised.
    Enrolled,
    /// No issuer: these requests need certificates on the card before enrolment goes on.
    Requests(Vec<Request>),
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolmentError {
    #[error(transparent)]
    Card(#[from] Error),
    #[error("the new {0} is the factory value; choose another")]
    FactoryValue(&'static str),
    #[error("{0} is not an e-mail address a certificate can carry (ASCII, with an @)")]
    Address(String),
    #[error("the certificate request for slot {slot}: {reason}")]
    Request { slot: Slot, reason: String },
    #[error("the CA did not issue the {} certificate: {source}", .usage)]
    Issuer {
        usage: Purpose,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the certificate issued for slot {0} is not for the slot's key")]
    CertificateMismatch(Slot),
}

pub type Result<T, E = EnrolmentError> = std::result::Result<T, E>;

/// A CHUID's expiration, as a fresh card's: not before the certificates'.
const CHUID_EXPIRATION: &str = "20991231";

/// Enrols the card as `plan` says; `progress` is told each step as it happens.
pub fn enrol<T: Transport>(
    card: &RefCell<PivCard<T>>,
    plan: &Plan,
    secrets: &Secrets,
    mut issuer: Option<&mut dyn Issuer>,
    progress: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    for (new, factory, what) in [
        (&secrets.new_pin, FACTORY_PIN, "PIN"),
        (&secrets.new_puk, FACTORY_PUK, "PUK"),
    ] {
        if new.is(factory) {
            return Err(EnrolmentError::FactoryValue(what));
        }
    }
    let address = Ia5String::new(&plan.email)
        .ok()
        .filter(|_| plan.email.contains('@'))
        .ok_or_else(|| EnrolmentError::Address(plan.email.clone()))?;

    let (pin, pin_changed) = working_pin(&mut card.borrow_mut(), secrets)?;
    if pin_changed {
        progress("The PIN was changed before: resuming with the new PIN.");
    }
    let stored_key_in_force = authenticate(&mut card.borrow_mut(), secrets, pin)?;
    progress("Authenticated with the management key.");

    let mut waiting = Vec::new();
    for &(slot, usage) in plan.slots() {
        if has_its_certificate(&mut card.borrow_mut(), slot)? {
            progress(&format!("Slot {slot} already holds its certificate."));
            continue;
        }
        let key = card
            .borrow_mut()
            .generate(slot, plan.algorithm, None, None)?;
        progress(&format!(
            "Generated an {} key in slot {slot} for {}.",
            plan.algorithm, usage
        ));
        let der = request(card, slot, &key, plan, &address, pin)?;
        progress(&format!("The card signed the request for slot {slot}."));
        let Some(issuer) = issuer.as_deref_mut() else {
            waiting.push(Request { slot, usage, der });
            continue;
        };
        let certificate = issuer
            .issue(&der, &plan.email, usage)
            .map_err(|source| EnrolmentError::Issuer { usage, source })?;
        install(&mut card.borrow_mut(), slot, &key, &certificate)?;
        progress(&format!("Stored the certificate in slot {slot}."));
    }
    if !waiting.is_empty() {
        return Ok(Outcome::Requests(waiting));
    }

    let mut card = card.borrow_mut();
    let mut guid = [0u8; 16];
    getrandom::fill(&mut guid).map_err(|e| Error::InvalidArgument(format!("random: {e}")))?;
    card.write_object(
        apdu_spec::piv::ObjectId::CHUID,
        &Chuid::new(guid, CHUID_EXPIRATION).encode(),
    )?;
    progress("Wrote a fresh CHUID.");

    if !pin_changed {
        card.change_pin(&secrets.pin, &secrets.new_pin)?;
        progress("The PIN was changed.");
    }
    // A key stored PIN-protected by another tool says nothing of the PUK: it is changed
    // (or found changed) whatever the key's state.
    change_puk(&mut card, secrets, pin_changed || stored_key_in_force)?;
    progress("The PUK is the one chosen.");
    if stored_key_in_force {
        progress("The management key was stored PIN-protected before.");
        return Ok(Outcome::Enrolled);
    }
    if card.features().yubikey() {
        let key = random_management_key(card.features().aes_management_key())?;
        card.set_pin_protected_management_key(&key)?;
        progress(&format!(
            "Set a random {} management key, stored PIN-protected.",
            key.algorithm()
        ));
    } else {
        progress("This card cannot change its management key; it keeps the current one.");
    }
    Ok(Outcome::Enrolled)
}

/// The PIN that works now, and whether it is the new one. A wrong current PIN spends a
/// try, which the new PIN, if right, gives back; the new PIN is tried only while that
/// cannot spend the last try.
fn working_pin<'s, T: Transport>(
    card: &mut PivCard<T>,
    secrets: &'s Secrets,
) -> Result<(&'s Secret, bool)> {
    match card.verify_pin(&secrets.pin) {
        Ok(()) => Ok((&secrets.pin, false)),
        Err(wrong @ Error::WrongPin { tries_left }) if tries_left < 2 => Err(wrong.into()),
        Err(wrong @ Error::WrongPin { .. }) => match card.verify_pin(&secrets.new_pin) {
            Ok(()) => Ok((&secrets.new_pin, true)),
            Err(Error::WrongPin { .. }) => Err(wrong.into()),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// Authenticates with the given key, else the one stored PIN-protected, else the factory
/// key; returns whether the stored key, flagged in the admin data, is in force (the
/// management key step is then done).
fn authenticate<T: Transport>(
    card: &mut PivCard<T>,
    secrets: &Secrets,
    pin: &Secret,
) -> Result<bool> {
    if let Some(key) = &secrets.management_key {
        card.authenticate(key)?;
        return Ok(false);
    }
    if let Some(stored) = card.pin_protected_management_key(pin)? {
        match card.authenticate(&stored) {
            Ok(()) => {
                let flagged = card.admin_data()?.is_some_and(|a| a.management_key_stored);
                return Ok(flagged);
            }
            // Stored but never set: enrolment was interrupted in between.
            Err(Error::WrongManagementKey) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let algorithm = card.management_algorithm()?.algorithm;
    let factory = ManagementKey::factory(algorithm)
        .ok_or_else(|| Error::malformed(format!("{algorithm} management key")))?;
    card.authenticate(&factory)?;
    Ok(false)
}

/// Whether `slot` holds a certificate for its key (any certificate, where the card does
/// not tell the key).
fn has_its_certificate<T: Transport>(card: &mut PivCard<T>, slot: Slot) -> Result<bool> {
    let Some(der) = card.read_certificate(slot)? else {
        return Ok(false);
    };
    let certified = certified_key(&der).ok();
    Ok(match card.key_info_with_certificate(slot, Some(&der))? {
        Some(KeyInfo {
            public_key: Some(key),
            source: Some(KeySource::Metadata),
            ..
        }) => certified == Some(key),
        _ => certified.is_some(),
    })
}

fn certified_key(der: &[u8]) -> std::result::Result<PublicKey, Error> {
    let cert = x509_cert::Certificate::from_der(der).map_err(Error::malformed)?;
    crate::pki::public_key(&cert).map_err(Error::malformed)
}

/// A PKCS#10 request for `key` signed by the card: subject CN=name, and an extension
/// request for the address as subjectAltName. Its signature is checked before it goes
/// anywhere.
fn request<T: Transport>(
    card: &RefCell<PivCard<T>>,
    slot: Slot,
    key: &PublicKey,
    plan: &Plan,
    address: &Ia5String,
    pin: &Secret,
) -> Result<Vec<u8>> {
    let failed = |reason: String| EnrolmentError::Request { slot, reason };
    let signer = CardSigner::for_public_key(card, slot, key.clone(), None)?.with_pin(pin.clone());
    let mut builder =
        RequestBuilder::new(common_name(&plan.name).map_err(|e| failed(e.to_string()))?)
            .map_err(|e| failed(e.to_string()))?;
    builder
        .add_extension(&SubjectAltName(vec![GeneralName::Rfc822Name(
            address.clone(),
        )]))
        .map_err(|e| failed(e.to_string()))?;
    let request = builder
        .build::<_, SignatureBytes>(&signer)
        .map_err(|e| failed(e.to_string()))?;
    check_request(&request, key).map_err(failed)?;
    request.to_der().map_err(|e| failed(e.to_string()))
}

/// The name `CN=<name>`, the name taken whole (no RFC 4514 parsing of commas).
fn common_name(name: &str) -> der::Result<Name> {
    let cn = AttributeTypeAndValue {
        oid: const_oid::db::rfc4519::CN,
        value: Utf8StringRef::new(name)?.into(),
    };
    let mut names = RdnSequence::default();
    names.push(RelativeDistinguishedName::try_from(vec![cn])?);
    Name::from_der(&names.to_der()?)
}

/// The request names `key` and its signature holds.
fn check_request(request: &CertReq, key: &PublicKey) -> std::result::Result<(), String> {
    let spki = request
        .info
        .public_key
        .to_der()
        .map_err(|e| e.to_string())?;
    if PublicKey::from_spki_der(&spki).map_err(|e| e.to_string())? != *key {
        return Err("it names another key than the card's".into());
    }
    let scheme = Scheme::for_certificate(&request.algorithm).map_err(|e| e.to_string())?;
    let info = request.info.to_der().map_err(|e| e.to_string())?;
    let signature = request
        .signature
        .as_bytes()
        .ok_or("its signature is not whole bytes")?;
    scheme
        .verify(key, Signed::Message(&info), signature)
        .map_err(|e| format!("its signature does not hold: {e}"))
}

/// Writes `certificate` to `slot`, if it is for `key`.
fn install<T: Transport>(
    card: &mut PivCard<T>,
    slot: Slot,
    key: &PublicKey,
    certificate: &[u8],
) -> Result<()> {
    if certified_key(certificate)? != *key {
        return Err(EnrolmentError::CertificateMismatch(slot));
    }
    card.write_certificate(slot, certificate)?;
    Ok(())
}

/// Changes the PUK; when `maybe_done`, a PUK that refuses the current value is tried with
/// the new one, and taken as changed if it is (the card gives the try back).
fn change_puk<T: Transport>(
    card: &mut PivCard<T>,
    secrets: &Secrets,
    maybe_done: bool,
) -> Result<()> {
    match card.change_puk(&secrets.puk, &secrets.new_puk) {
        // The new PUK is tried only while that cannot spend the last try.
        Err(wrong @ Error::WrongPuk { tries_left }) if maybe_done && tries_left >= 2 => {
            match card.change_puk(&secrets.new_puk, &secrets.new_puk) {
                Err(Error::WrongPuk { .. }) => Err(wrong.into()),
                other => Ok(other?),
            }
        }
        other => Ok(other?),
    }
}

/// A random management key no weakness check refuses: AES-192 where the card takes AES,
/// else 3DES.
fn random_management_key(aes: bool) -> Result<ManagementKey> {
    let algorithm = if aes {
        Algorithm::Aes192
    } else {
        Algorithm::Tdes
    };
    loop {
        let bytes = crate::piv::random_block(24)?;
        let key = ManagementKey::new(algorithm, &bytes)
            .ok_or_else(|| Error::malformed(format!("{algorithm} key length")))?;
        if key.weakness().is_none() && !key.is_default() {
            return Ok(key);
        }
    }
}
