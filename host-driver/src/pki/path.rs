//! Certificate path validation (RFC 5280 §6, as far as a mail signer or an attestation
//! needs it).
//!
//! [`validate`] finds a path from a signer's certificate up to one of the trust anchors,
//! through the intermediates at hand, and checks every certificate on it: its issuer's
//! signature, its validity at the given time, that every issuer is a CA allowed to sign
//! certificates (basicConstraints, keyUsage, pathLenConstraint), and that no extension
//! marked critical is one we do not understand. What the signer's certificate may be used
//! for is the caller's question.
//!
//! Not done: revocation (CRLs, OCSP), name constraints and certificate policies (a
//! certificate marking either critical is refused rather than half checked).

use std::time::SystemTime;

use const_oid::AssociatedOid;
use const_oid::ObjectIdentifier as Oid;
use const_oid::db::rfc5280;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

use super::algorithms::{Scheme, SignatureError, Signed};
use crate::escape::Escaped;
use crate::oids;
use crate::public_key::PublicKey;

/// The longest path searched, anchor included.
pub const MAX_PATH_LEN: usize = 8;

/// The most certificate signatures one search checks: many intermediates with the same
/// names (a mail message may carry any number) must not make the search exponential.
pub const MAX_SIGNATURE_CHECKS: usize = 64;

/// Why no trusted path leads from a certificate to the trust anchors. The names in it come
/// from certificates, so they are shown escaped (see [`Escaped`]).
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// No chain of names and signatures leads from `signer`, the certificate the path
    /// starts from, to an anchor.
    #[error(
        "the signer's certificate ({}) was not issued by any of the given CAs (its issuer is {})",
        Escaped(.signer),
        Escaped(.issuer)
    )]
    UnknownCa { signer: String, issuer: String },
    #[error("the certificate of {} expired on {not_after}", Escaped(.subject))]
    Expired {
        subject: String,
        not_after: der::DateTime,
    },
    #[error("the certificate of {} is not valid before {not_before}", Escaped(.subject))]
    NotYetValid {
        subject: String,
        not_before: der::DateTime,
    },
    #[error(
        "the certificate of {} is not a CA certificate, yet it issued the certificate of {}",
        Escaped(.subject),
        Escaped(.issued)
    )]
    NotCa { subject: String, issued: String },
    /// A CA's keyUsage or pathLenConstraint forbids the place it has on the path.
    #[error("{}", Escaped(.0))]
    CaConstraint(String),
    #[error(
        "there are too many certificates to search for a path (more than {MAX_SIGNATURE_CHECKS} signatures to check)"
    )]
    TooManyCertificates,
    #[error(
        "the certificate of {} is malformed: {}",
        Escaped(.subject),
        Escaped(.reason)
    )]
    Malformed { subject: String, reason: String },
    #[error("cannot check the signature: {}", Escaped(.0))]
    Unsupported(String),
}

/// Extensions whose meaning we enforce or that carry no constraint; any other critical
/// extension makes a certificate unusable.
const UNDERSTOOD: &[Oid] = &[
    rfc5280::ID_CE_BASIC_CONSTRAINTS,
    rfc5280::ID_CE_KEY_USAGE,
    rfc5280::ID_CE_EXT_KEY_USAGE,
    rfc5280::ID_CE_SUBJECT_ALT_NAME,
    rfc5280::ID_CE_ISSUER_ALT_NAME,
    rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
    // Any policy is accepted (RFC 5280 §6.1 with initial-policy-set anyPolicy and no
    // explicit policy required), so a critical policies extension constrains nothing.
    rfc5280::ID_CE_CERTIFICATE_POLICIES,
    rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
    rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS,
    rfc5280::ID_PE_AUTHORITY_INFO_ACCESS,
];

/// The subject DN, as RFC 4514 writes it.
pub fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

/// The certificate's public key.
pub fn public_key(cert: &Certificate) -> Result<PublicKey, PathError> {
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| malformed(cert, e))?;
    PublicKey::from_spki_der(&spki).map_err(|_| {
        PathError::Unsupported(format!(
            "the key of {} is of a type we cannot check",
            subject(cert)
        ))
    })
}

/// The extension of type `T`, if the certificate has it (once).
pub fn extension<'a, T>(cert: &'a Certificate) -> Result<Option<T>, PathError>
where
    T: Decode<'a, Error = der::Error> + AssociatedOid,
{
    cert.tbs_certificate()
        .get_extension::<T>()
        .map(|found| found.map(|(_critical, value)| value))
        .map_err(|e| malformed(cert, format!("an extension cannot be read: {e}")))
}

fn malformed(cert: &Certificate, reason: impl std::fmt::Display) -> PathError {
    PathError::Malformed {
        subject: subject(cert),
        reason: reason.to_string(),
    }
}

/// Whether `issuer`'s key made the signature on `cert` (names must chain too).
fn issued_by(cert: &Certificate, issuer: &Certificate) -> Result<bool, PathError> {
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Ok(false);
    }
    let scheme = Scheme::for_certificate(cert.signature_algorithm())
        .map_err(|e| PathError::Unsupported(format!("{}: {e}", subject(cert))))?;
    let key = public_key(issuer)?;
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| malformed(cert, e))?;
    let Some(signature) = cert.signature().as_bytes() else {
        return Ok(false);
    };
    match scheme.verify(&key, Signed::Message(&tbs), signature) {
        Ok(()) => Ok(true),
        Err(SignatureError::Mismatch) => Ok(false),
        Err(SignatureError::Unsupported(why)) => Err(PathError::Unsupported(why)),
    }
}

/// A path from `signer` to one of `anchors`, signer first and anchor last (a signer that is
/// itself an anchor is a path of one), using `intermediates` as needed.
///
/// Every complete path found is checked; the first that passes is returned. When none does,
/// the error is that of the first path found, or [`PathError::UnknownCa`] when no chain of
/// names and signatures reaches an anchor.
pub fn validate(
    signer: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
) -> Result<Vec<Certificate>, PathError> {
    let mut search = Search {
        intermediates,
        anchors,
        at,
        first_error: None,
        checks_left: MAX_SIGNATURE_CHECKS,
    };
    let mut path = vec![signer];
    match search.extend(&mut path) {
        Some(found) => Ok(found.into_iter().cloned().collect()),
        None => Err(search.first_error.unwrap_or_else(|| PathError::UnknownCa {
            signer: subject(signer),
            issuer: signer.tbs_certificate().issuer().to_string(),
        })),
    }
}

struct Search<'a> {
    intermediates: &'a [Certificate],
    anchors: &'a [Certificate],
    at: SystemTime,
    first_error: Option<PathError>,
    checks_left: usize,
}

impl<'a> Search<'a> {
    /// Depth first: anchors before intermediates, so the shortest trusted path wins.
    fn extend(&mut self, path: &mut Vec<&'a Certificate>) -> Option<Vec<&'a Certificate>> {
        let current = *path.last().expect("a path starts with the signer");
        if self.anchors.contains(current)
            && let Some(found) = self.complete(path)
        {
            return Some(found);
        }
        for anchor in self.anchors {
            if anchor != current && self.issued_by(current, anchor) {
                path.push(anchor);
                let found = self.complete(path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
        }
        if path.len() + 1 >= MAX_PATH_LEN {
            return None;
        }
        for candidate in self.intermediates {
            if !path.contains(&candidate) && self.issued_by(current, candidate) {
                path.push(candidate);
                let found = self.extend(path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }

    fn issued_by(&mut self, cert: &Certificate, issuer: &Certificate) -> bool {
        if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
            return false;
        }
        if self.checks_left == 0 {
            self.first_error
                .get_or_insert(PathError::TooManyCertificates);
            return false;
        }
        self.checks_left -= 1;
        issued_by(cert, issuer).unwrap_or_else(|e| {
            self.first_error.get_or_insert(e);
            false
        })
    }

    fn complete(&mut self, path: &[&'a Certificate]) -> Option<Vec<&'a Certificate>> {
        match check_path(path, self.at) {
            Ok(()) => Some(path.to_vec()),
            Err(e) => {
                self.first_error.get_or_insert(e);
                None
            }
        }
    }
}

/// Checks a path whose signatures chain (signer first, anchor last).
fn check_path(path: &[&Certificate], at: SystemTime) -> Result<(), PathError> {
    for cert in path {
        check_validity(cert, at)?;
        check_critical_extensions(cert)?;
    }
    // Each issuer, with the number of intermediates below it.
    for (i, pair) in path.windows(2).enumerate() {
        let (issued, issuer) = (pair[0], pair[1]);
        let is_anchor = i + 2 == path.len();
        check_ca(issuer, issued, i, is_anchor)?;
    }
    Ok(())
}

fn check_validity(cert: &Certificate, at: SystemTime) -> Result<(), PathError> {
    let validity = cert.tbs_certificate().validity();
    if at < validity.not_before.to_system_time() {
        return Err(PathError::NotYetValid {
            subject: subject(cert),
            not_before: validity.not_before.to_date_time(),
        });
    }
    if at > validity.not_after.to_system_time() {
        return Err(PathError::Expired {
            subject: subject(cert),
            not_after: validity.not_after.to_date_time(),
        });
    }
    Ok(())
}

fn check_critical_extensions(cert: &Certificate) -> Result<(), PathError> {
    let extensions = cert.tbs_certificate().extensions().into_iter().flatten();
    match extensions
        .filter(|e| e.critical)
        .find(|e| !UNDERSTOOD.contains(&e.extn_id))
    {
        Some(e) => Err(PathError::Unsupported(format!(
            "the certificate of {} has a critical extension we do not understand ({})",
            subject(cert),
            oids::name(e.extn_id)
        ))),
        None => Ok(()),
    }
}

/// `issuer` signed `issued`, with `below` intermediates under it on the path.
fn check_ca(
    issuer: &Certificate,
    issued: &Certificate,
    below: usize,
    is_anchor: bool,
) -> Result<(), PathError> {
    let tbs = issuer.tbs_certificate();
    let not_ca = || PathError::NotCa {
        subject: subject(issuer),
        issued: subject(issued),
    };
    match extension::<BasicConstraints>(issuer)? {
        Some(bc) if !bc.ca => return Err(not_ca()),
        Some(bc) => {
            if let Some(max) = bc.path_len_constraint
                && below > usize::from(max)
            {
                return Err(PathError::CaConstraint(format!(
                    "the CA {} allows {max} intermediate CAs below it, but the path has {below}",
                    subject(issuer)
                )));
            }
        }
        // A version 1 certificate (no extensions at all) is accepted as a CA only when it is
        // a trust anchor; any other CA must say it is one.
        None if is_anchor && tbs.extensions().is_none() => {}
        None => return Err(not_ca()),
    }
    if let Some(ku) = extension::<KeyUsage>(issuer)?
        && !ku.key_cert_sign()
    {
        return Err(PathError::CaConstraint(format!(
            "the CA certificate of {} may not sign certificates (its key usage lacks keyCertSign)",
            subject(issuer)
        )));
    }
    Ok(())
}
