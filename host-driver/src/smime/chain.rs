//! Certificate path validation for a mail signer (RFC 5280 §6, as far as S/MIME needs it).
//!
//! [`validate`] finds a path from the signer's certificate up to one of the trust anchors,
//! through the intermediates the message carries, and checks every certificate on it:
//! its issuer's signature, its validity at the given time, that every issuer is a CA
//! allowed to sign certificates (basicConstraints, keyUsage, pathLenConstraint), and that
//! no extension marked critical is one we do not understand. [`check_signer_usage`] and
//! [`check_address`] then ask whether the signer's certificate is meant for signing mail,
//! and from the address the message claims.
//!
//! Not done: revocation (CRLs, OCSP), name constraints and certificate policies (a
//! certificate marking either critical is refused rather than half checked).

use std::time::SystemTime;

use const_oid::ObjectIdentifier as Oid;
use const_oid::db::{rfc2985, rfc5280};
use der::Encode;
use der::asn1::Ia5String;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

use super::algorithms::{Scheme, SignatureError, Signed};
use super::verify::VerifyError;
use crate::oids;
use crate::public_key::PublicKey;

/// The longest path searched, anchor included.
pub const MAX_PATH_LEN: usize = 8;

/// The most certificate signatures one search checks: a message may carry many
/// certificates with the same names, and must not make the search exponential.
pub const MAX_SIGNATURE_CHECKS: usize = 64;

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
pub fn public_key(cert: &Certificate) -> Result<PublicKey, VerifyError> {
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| VerifyError::Malformed(e.to_string()))?;
    PublicKey::from_spki_der(&spki).map_err(|_| {
        VerifyError::Unsupported(format!(
            "the key of {} is of a type we cannot check",
            subject(cert)
        ))
    })
}

/// Whether `issuer`'s key made the signature on `cert` (names must chain too).
fn issued_by(cert: &Certificate, issuer: &Certificate) -> Result<bool, VerifyError> {
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Ok(false);
    }
    let scheme = Scheme::for_certificate(cert.signature_algorithm())
        .map_err(|e| VerifyError::Unsupported(format!("{}: {e}", subject(cert))))?;
    let key = public_key(issuer)?;
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| VerifyError::Malformed(e.to_string()))?;
    let Some(signature) = cert.signature().as_bytes() else {
        return Ok(false);
    };
    match scheme.verify(&key, Signed::Message(&tbs), signature) {
        Ok(()) => Ok(true),
        Err(SignatureError::Mismatch) => Ok(false),
        Err(SignatureError::Unsupported(why)) => Err(VerifyError::Unsupported(why)),
    }
}

/// A path from `signer` to one of `anchors`, signer first and anchor last (a signer that is
/// itself an anchor is a path of one), using `intermediates` as needed.
///
/// Every complete path found is checked; the first that passes is returned. When none does,
/// the error is that of the first path found, or [`VerifyError::UnknownCa`] when no chain of
/// names and signatures reaches an anchor.
pub fn validate(
    signer: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
) -> Result<Vec<Certificate>, VerifyError> {
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
        None => Err(search
            .first_error
            .unwrap_or_else(|| VerifyError::UnknownCa {
                signer: subject(signer),
                issuer: signer.tbs_certificate().issuer().to_string(),
            })),
    }
}

struct Search<'a> {
    intermediates: &'a [Certificate],
    anchors: &'a [Certificate],
    at: SystemTime,
    first_error: Option<VerifyError>,
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
            self.first_error.get_or_insert_with(|| {
                VerifyError::Malformed(format!(
                    "the message carries too many certificates to search for a path (more than {MAX_SIGNATURE_CHECKS} signatures to check)"
                ))
            });
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
fn check_path(path: &[&Certificate], at: SystemTime) -> Result<(), VerifyError> {
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

fn check_validity(cert: &Certificate, at: SystemTime) -> Result<(), VerifyError> {
    let validity = cert.tbs_certificate().validity();
    if at < validity.not_before.to_system_time() {
        return Err(VerifyError::NotYetValid {
            subject: subject(cert),
            not_before: validity.not_before.to_date_time(),
        });
    }
    if at > validity.not_after.to_system_time() {
        return Err(VerifyError::Expired {
            subject: subject(cert),
            not_after: validity.not_after.to_date_time(),
        });
    }
    Ok(())
}

fn check_critical_extensions(cert: &Certificate) -> Result<(), VerifyError> {
    let extensions = cert.tbs_certificate().extensions().into_iter().flatten();
    match extensions
        .filter(|e| e.critical)
        .find(|e| !UNDERSTOOD.contains(&e.extn_id))
    {
        Some(e) => Err(VerifyError::Unsupported(format!(
            "the certificate of {} has a critical extension we do not understand ({})",
            subject(cert),
            oids::name(e.extn_id)
        ))),
        None => Ok(()),
    }
}

fn malformed_extension(cert: &Certificate, e: der::Error) -> VerifyError {
    VerifyError::Malformed(format!(
        "an extension of the certificate of {}: {e}",
        subject(cert)
    ))
}

/// `issuer` signed `issued`, with `below` intermediates under it on the path.
fn check_ca(
    issuer: &Certificate,
    issued: &Certificate,
    below: usize,
    is_anchor: bool,
) -> Result<(), VerifyError> {
    let tbs = issuer.tbs_certificate();
    let not_ca = || VerifyError::NotCa {
        subject: subject(issuer),
        issued: subject(issued),
    };
    match tbs
        .get_extension::<BasicConstraints>()
        .map_err(|e| malformed_extension(issuer, e))?
    {
        Some((_, bc)) if !bc.ca => return Err(not_ca()),
        Some((_, bc)) => {
            if let Some(max) = bc.path_len_constraint
                && below > usize::from(max)
            {
                return Err(VerifyError::KeyUsage(format!(
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
    if let Some((_, ku)) = tbs
        .get_extension::<KeyUsage>()
        .map_err(|e| malformed_extension(issuer, e))?
        && !ku.key_cert_sign()
    {
        return Err(VerifyError::KeyUsage(format!(
            "the CA certificate of {} may not sign certificates (its key usage lacks keyCertSign)",
            subject(issuer)
        )));
    }
    Ok(())
}

/// The signer's certificate must allow signing (keyUsage digitalSignature or
/// nonRepudiation) and mail (extendedKeyUsage emailProtection or anyExtendedKeyUsage);
/// either extension may be absent, which allows everything.
pub fn check_signer_usage(cert: &Certificate) -> Result<(), VerifyError> {
    let tbs = cert.tbs_certificate();
    if let Some((_, ku)) = tbs
        .get_extension::<KeyUsage>()
        .map_err(|e| malformed_extension(cert, e))?
        && !ku.digital_signature()
        && !ku.non_repudiation()
    {
        return Err(VerifyError::KeyUsage(format!(
            "the signer's certificate ({}) may not be used for signatures (its key usage lacks digitalSignature and nonRepudiation)",
            subject(cert)
        )));
    }
    if let Some((_, eku)) = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(|e| malformed_extension(cert, e))?
        && !eku
            .0
            .iter()
            .any(|p| *p == rfc5280::ID_KP_EMAIL_PROTECTION || *p == rfc5280::ANY_EXTENDED_KEY_USAGE)
    {
        return Err(VerifyError::NotForEmail {
            subject: subject(cert),
        });
    }
    Ok(())
}

/// The mail addresses a certificate is for: its rfc822Name subjectAltNames, or, when it has
/// no subjectAltName extension, the emailAddress attributes of its subject.
pub fn email_addresses(cert: &Certificate) -> Vec<String> {
    let tbs = cert.tbs_certificate();
    match tbs.get_extension::<SubjectAltName>() {
        Ok(Some((_, san))) => san
            .0
            .iter()
            .filter_map(|name| match name {
                GeneralName::Rfc822Name(address) => Some(address.to_string()),
                _ => None,
            })
            .collect(),
        _ => tbs
            .subject()
            .iter()
            .filter(|atv| atv.oid == rfc2985::PKCS_9_AT_EMAIL_ADDRESS)
            .filter_map(|atv| atv.value.decode_as::<Ia5String>().ok())
            .map(|address| address.to_string())
            .collect(),
    }
}

/// The address `from` must be one the certificate is for (compared without regard to case).
pub fn check_address(from: &str, cert: &Certificate) -> Result<(), VerifyError> {
    let addresses = email_addresses(cert);
    if addresses.iter().any(|a| a.eq_ignore_ascii_case(from)) {
        Ok(())
    } else {
        Err(VerifyError::AddressMismatch {
            from: from.to_owned(),
            certificate: addresses,
        })
    }
}
