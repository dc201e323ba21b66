//! A certificate request (PKCS#10, RFC 2986) as the CA reads it: its signature checked with
//! the key it carries, and the addresses it names.

use const_oid::AssociatedOid;
use const_oid::db::{rfc2985, rfc4524};
use der::asn1::Ia5String;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, ExtensionReq};

use super::CaError;
use crate::pki::algorithms::{Scheme, Signed};
use crate::public_key::PublicKey;

/// A request whose signature holds.
#[derive(Debug)]
pub struct Request {
    pub subject: Name,
    pub subject_public_key_info: SubjectPublicKeyInfoOwned,
    pub public_key: PublicKey,
    /// Every address it names: its subjectAltName's rfc822Names (from the extensionRequest
    /// attribute), then any emailAddress in the subject (legacy, RFC 8550 §3).
    pub addresses: Vec<String>,
    /// Whether the addresses include a subjectAltName rfc822Name.
    names_address_in_san: bool,
}

impl Request {
    /// Reads a DER request and checks its signature; SHA-1 signatures are refused as
    /// they are on certificates.
    pub fn from_der(der: &[u8]) -> Result<Self, CaError> {
        let malformed = |e: der::Error| CaError::malformed("certificate request", e);
        let request = CertReq::from_der(der).map_err(malformed)?;
        let info = request.info;
        let spki_der = info.public_key.to_der().map_err(malformed)?;
        let public_key = PublicKey::from_spki_der(&spki_der)
            .map_err(|e| CaError::malformed("certificate request", e))?;
        let scheme = Scheme::for_certificate(&request.algorithm)?;
        let signed = info.to_der().map_err(malformed)?;
        let signature = request
            .signature
            .as_bytes()
            .ok_or_else(|| CaError::Malformed("certificate request: signature bits".into()))?;
        scheme.verify(&public_key, Signed::Message(&signed), signature)?;

        let mut addresses = Vec::new();
        for attribute in info.attributes.iter() {
            if attribute.oid != ExtensionReq::OID {
                continue;
            }
            for value in attribute.values.iter() {
                let extensions: ExtensionReq = value.decode_as().map_err(malformed)?;
                for extension in extensions.0 {
                    if extension.extn_id != SubjectAltName::OID {
                        continue;
                    }
                    let names = SubjectAltName::from_der(extension.extn_value.as_bytes())
                        .map_err(malformed)?;
                    addresses.extend(names.0.into_iter().filter_map(|name| match name {
                        GeneralName::Rfc822Name(address) => Some(address.to_string()),
                        _ => None,
                    }));
                }
            }
        }
        let names_address_in_san = !addresses.is_empty();
        // The subject is copied into the certificate, so an address it names in any form
        // mail clients read (PKCS#9 emailAddress, RFC 4524 mail) counts as one asked for.
        for atv in info.subject.iter() {
            if atv.oid == rfc2985::PKCS_9_AT_EMAIL_ADDRESS || atv.oid == rfc4524::MAIL {
                let address: Ia5String = atv.value.decode_as().map_err(malformed)?;
                addresses.push(address.to_string());
            }
        }
        Ok(Self {
            subject: info.subject,
            subject_public_key_info: info.public_key,
            public_key,
            addresses,
            names_address_in_san,
        })
    }

    /// `expected` as a certificate carries it, provided the request names it in its
    /// subjectAltName and names no other address anywhere.
    pub fn check_address(&self, expected: &str) -> Result<Ia5String, CaError> {
        let address = Ia5String::new(expected)
            .ok()
            .filter(|_| is_address(expected))
            .ok_or_else(|| CaError::InvalidAddress(expected.into()))?;
        if let Some(other) = self.addresses.iter().find(|a| !same_address(a, expected)) {
            return Err(CaError::OtherAddress {
                expected: expected.into(),
                found: other.clone(),
            });
        }
        if !self.names_address_in_san {
            return Err(CaError::NoAddress(expected.into()));
        }
        Ok(address)
    }
}

/// `local@domain`, each part non-empty.
fn is_address(text: &str) -> bool {
    matches!(text.rsplit_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty())
}

/// The local part as written, the domain in any case (RFC 5321 §2.4).
fn same_address(a: &str, b: &str) -> bool {
    match (a.rsplit_once('@'), b.rsplit_once('@')) {
        (Some((la, da)), Some((lb, db))) => la == lb && da.eq_ignore_ascii_case(db),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_compare_in_any_case_local_parts_exactly() {
        assert!(same_address("alice@Example.ORG", "alice@example.org"));
        assert!(!same_address("Alice@example.org", "alice@example.org"));
        assert!(!same_address("alice", "alice"));
        assert!(is_address("a@b") && !is_address("@b") && !is_address("a@"));
    }
}
