//! Checking one signer of a message: its signature over the signed attributes (or the
//! content), the messageDigest and contentType attributes, signingCertificateV2, the
//! certificate path to a trust anchor (see [`crate::pki`]), and what the S/MIME profile
//! asks of the certificate: that it is for signing mail, and from the address the message
//! claims.

use cms::signed_data::SignerInfo;
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc2985, rfc5280, rfc5911, rfc5912};
use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, SubjectAltName};
use x509_cert::time::Time;

use super::signed_data::{Content, SignedAttributes, SignedMessage, signed_attributes_der};
use super::{VerifyError, VerifyOptions, malformed};
use crate::hash::{self, HashAlg};
use crate::oids;
use crate::pki;
use crate::pki::algorithms::{Scheme, SignatureError, Signed};
use crate::smime::attributes::SigningCertificateV2;

/// A signature that holds: its signer and what was checked.
pub(super) struct CheckedSigner {
    pub(super) certificate: Certificate,
    pub(super) signing_time: Option<der::DateTime>,
    pub(super) digest: HashAlg,
    pub(super) signature_algorithm: String,
    pub(super) chain: Vec<String>,
}

/// Checks one SignerInfo (its DER as in the message): the signature, the content
/// digest, the certificate path and what the certificate allows.
pub(super) fn check_signer(
    message: &SignedMessage,
    info_der: &[u8],
    options: &VerifyOptions,
) -> Result<CheckedSigner, VerifyError> {
    let info = SignerInfo::from_der(info_der)
        .map_err(|e| malformed(format!("a SignerInfo cannot be read: {e}")))?;
    let digest_alg = hash::from_oid(info.digest_alg.oid).ok_or_else(|| {
        VerifyError::Unsupported(format!(
            "the digest algorithm {} is not supported",
            oids::name(info.digest_alg.oid)
        ))
    })?;
    // The scheme first: it refuses SHA-1 whatever the content and its micalg.
    let scheme = Scheme::for_signer(&info.signature_algorithm, digest_alg)
        .map_err(|e| VerifyError::Unsupported(e.to_string()))?;
    let econtent_type = message.signed_data.encap_content_info.econtent_type;
    if econtent_type != rfc5911::ID_DATA {
        return Err(VerifyError::Unsupported(format!(
            "the signed content is {}, not data",
            oids::name(econtent_type)
        )));
    }
    let content_digest = match &message.content {
        Content::Digests(digests) => digests
            .iter()
            .find(|(alg, _)| *alg == digest_alg)
            .map(|(_, d)| d.clone())
            .ok_or_else(|| {
                malformed(format!(
                    "the signature uses {} but the micalg parameter of the message names {}",
                    hash::name(digest_alg),
                    digests
                        .iter()
                        .map(|(alg, _)| hash::name(*alg))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        Content::Bytes(content) => hash::digest(digest_alg, content),
    };

    let certificate = message
        .signer_certificate(&info.sid, &options.trust_anchors)
        .ok_or(VerifyError::SignerCertificateMissing)?;
    let key = pki::public_key(&certificate)?;
    let signature = info.signature.as_bytes();
    let unsupported = |e: SignatureError| match e {
        SignatureError::Mismatch => VerifyError::BadSignature,
        SignatureError::Unsupported(why) => VerifyError::Unsupported(why),
    };

    let mut signing_time = None;
    match &info.signed_attrs {
        Some(attrs) => {
            let attributes = SignedAttributes(attrs);
            // RFC 5652 §5.4: the signature covers the DER of the SET OF attributes. Check
            // it in the bytes as they came; re-encoding sorts them, which helps only a
            // signer that sent them unsorted.
            let as_sent = signed_attributes_der(info_der)?;
            let sorted = attrs.to_der().map_err(malformed)?;
            let verified = scheme.verify(&key, Signed::Message(&as_sent), signature);
            match verified {
                Err(SignatureError::Mismatch) if sorted != as_sent => {
                    scheme.verify(&key, Signed::Message(&sorted), signature)
                }
                other => other,
            }
            .map_err(unsupported)?;

            let content_type = attributes
                .required(rfc5911::ID_CONTENT_TYPE, "contentType")?
                .decode_as::<ObjectIdentifier>()
                .map_err(malformed)?;
            if content_type != econtent_type {
                return Err(malformed(
                    "the contentType attribute differs from the content's type",
                ));
            }
            let message_digest = attributes
                .required(rfc5911::ID_MESSAGE_DIGEST, "messageDigest")?
                .decode_as::<OctetString>()
                .map_err(malformed)?;
            if message_digest.as_bytes() != content_digest.as_slice() {
                return Err(VerifyError::ContentTampered);
            }
            if let Some(time) = attributes.value(rfc5911::ID_SIGNING_TIME, "signingTime")? {
                let time = Time::from_der(&time.to_der().map_err(malformed)?)
                    .map_err(|e| malformed(format!("the signingTime attribute: {e}")))?;
                signing_time = Some(time.to_date_time());
            }
            if let Some(ess) = attributes.value(
                rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2,
                "signingCertificateV2",
            )? {
                check_signing_certificate(ess, &certificate)?;
            }
        }
        None => {
            let signed = match (&message.content, scheme) {
                (Content::Bytes(content), Scheme::Ed25519) => Signed::Message(content),
                _ => Signed::Digest(&content_digest),
            };
            if let Err(e) = scheme.verify(&key, signed, signature) {
                // Without signed attributes the signature covers the content's digest
                // directly; RSA lets us see whether it is another message's.
                return Err(match scheme.signed_digest(&key, signature) {
                    Some(_) => VerifyError::ContentTampered,
                    None => unsupported(e),
                });
            }
        }
    }

    let intermediates: Vec<Certificate> = message
        .certificates()
        .filter(|c| **c != certificate)
        .cloned()
        .collect();
    let path = pki::validate(
        &certificate,
        &intermediates,
        &options.trust_anchors,
        options.at,
    )?;
    check_signer_usage(&certificate)?;
    Ok(CheckedSigner {
        signature_algorithm: scheme.describe(&key),
        chain: path.iter().map(pki::subject).collect(),
        certificate,
        signing_time,
        digest: digest_alg,
    })
}

/// ESS signingCertificateV2 (RFC 5035): the first ESSCertIDv2 must be the signer's
/// certificate, so that it cannot be swapped for another with the same key.
fn check_signing_certificate(
    value: &der::Any,
    certificate: &Certificate,
) -> Result<(), VerifyError> {
    let ess = SigningCertificateV2::from_der(&value.to_der().map_err(malformed)?)
        .map_err(|e| malformed(format!("the signingCertificateV2 attribute: {e}")))?;
    let Some(first) = ess.certs.first() else {
        return Err(malformed(
            "the signingCertificateV2 attribute names no certificate",
        ));
    };
    let hash_oid = first
        .hash_algorithm
        .as_ref()
        .map_or(rfc5912::ID_SHA_256, |a| a.oid);
    let Some(hash_alg) = hash::from_oid(hash_oid) else {
        return Err(VerifyError::Unsupported(format!(
            "signingCertificateV2 with hash {}",
            oids::name(hash_oid)
        )));
    };
    let der = certificate.to_der().map_err(malformed)?;
    if hash::digest(hash_alg, &der) != first.cert_hash.as_bytes() {
        return Err(malformed(
            "the signature names a different signing certificate than the one it was checked with",
        ));
    }
    Ok(())
}

/// The signer's certificate must allow signing (keyUsage digitalSignature or
/// nonRepudiation) and mail (extendedKeyUsage emailProtection or anyExtendedKeyUsage);
/// either extension may be absent, which allows everything.
fn check_signer_usage(cert: &Certificate) -> Result<(), VerifyError> {
    if let Some(ku) = pki::extension::<KeyUsage>(cert)?
        && !ku.digital_signature()
        && !ku.non_repudiation()
    {
        return Err(VerifyError::KeyUsage(format!(
            "the signer's certificate ({}) may not be used for signatures (its key usage lacks digitalSignature and nonRepudiation)",
            pki::subject(cert)
        )));
    }
    if let Some(eku) = pki::extension::<ExtendedKeyUsage>(cert)?
        && !eku
            .0
            .iter()
            .any(|p| *p == rfc5280::ID_KP_EMAIL_PROTECTION || *p == rfc5280::ANY_EXTENDED_KEY_USAGE)
    {
        return Err(VerifyError::NotForEmail {
            subject: pki::subject(cert),
        });
    }
    Ok(())
}

/// The mail addresses a certificate is for: its rfc822Name subjectAltNames, or, when it has
/// no subjectAltName extension, the emailAddress attributes of its subject.
pub(super) fn email_addresses(cert: &Certificate) -> Vec<String> {
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
pub(super) fn check_address(from: &str, cert: &Certificate) -> Result<(), VerifyError> {
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
