//! Signing mail (RFC 8551 §3.5): the message's content becomes a MIME entity
//! ([`super::entity`]), which is hashed as it streams out; a CMS SignedData with
//! the S/MIME signed attributes, signed through a [`CmsSigner`], goes with it either as a
//! detached `application/pkcs7-signature` part of a `multipart/signed` message, or around
//! it as an opaque `application/pkcs7-mime; smime-type=signed-data` body.
//!
//! The input must be seekable and the output able to take back what it got ([`Rewind`]):
//! the mail is written in one pass, and again only if its body proves to need base64
//! partway (see [`super::entity`]). Memory stays flat whatever its size.

use std::io::{self, Read, Seek, Write};
use std::time::SystemTime;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::{Any, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode};
use sha2::Digest;

use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;

use super::attributes::{EssCertIdV2, IssuerSerial, SigningCertificateV2, SmimeCapability};
use super::base64_stream::Base64LineWriter;
use super::ber_writer;
use super::entity::{EntityError, Message, Pass};
use super::mime;
use super::rewind::Rewind;
use crate::hash::{self, HashAlg, Hasher};
use crate::signing::{SignatureBytes, SignatureScheme};

/// How the signature travels with the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `multipart/signed`: readable by any mail client, signature alongside.
    Multipart,
    /// `application/pkcs7-mime; smime-type=signed-data`: content inside the CMS object.
    Opaque,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Message(#[from] EntityError),
    #[error("the signer's certificate: {0}")]
    Certificate(String),
    /// The signer's own error (for a card: wrong PIN, blocked PIN, …) is this error's source.
    #[error("the signer could not sign")]
    Signing(#[source] signature::Error),
    #[error("encoding the signature: {0}")]
    Encoding(#[from] der::Error),
}

/// The signature side of a signer: its scheme and a way to sign bytes. A key on a card
/// is one (`crate::card_signer`); S/MIME needs nothing else of the card.
pub trait CmsSigner: signature::Signer<SignatureBytes> {
    fn scheme(&self) -> SignatureScheme;
}

/// What to sign with.
pub struct SignRequest<'a, S: CmsSigner> {
    pub signer: &'a S,
    /// The signer's certificate (DER).
    pub certificate: &'a [u8],
    /// Further certificates to include (intermediates), DER.
    pub chain: &'a [Vec<u8>],
    pub form: Form,
    /// The digest for messageDigest and micalg (the scheme's own hash, or SHA-512 for Ed25519).
    pub digest: HashAlg,
}

/// What was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignReport {
    pub digest: HashAlg,
    pub form: Form,
    /// Bytes of the signed MIME entity.
    pub signed_bytes: u64,
}

/// The digest an S/MIME signature with this scheme uses (RFC 8419: SHA-512 for Ed25519).
pub fn digest_for(scheme: SignatureScheme) -> HashAlg {
    scheme.hash().unwrap_or(HashAlg::Sha512)
}

/// The micalg parameter value (RFC 5751 §3.4.3.2): "sha-256" and so on.
pub fn micalg(alg: HashAlg) -> String {
    hash::name(alg).to_ascii_lowercase()
}

/// Signs the mail in `input` and writes the signed mail to `output`.
pub fn sign<R: Read + Seek, W: Rewind, S: CmsSigner>(
    input: R,
    output: W,
    request: &SignRequest<'_, S>,
) -> Result<SignReport, SignError> {
    Message::read(input)?.write_into(output, |message, out| write_signed(message, out, request))
}

/// One pass of [`sign`]: the whole signed mail, unless the entity's stream is abandoned.
fn write_signed<R: Read + Seek, S: CmsSigner>(
    message: &mut Message<R>,
    out: &mut impl Write,
    request: &SignRequest<'_, S>,
) -> Result<Pass<SignReport>, SignError> {
    message.write_outer_headers(out)?;
    let mut hasher = Hasher::new(request.digest);
    let mut signed_bytes = 0u64;
    match request.form {
        Form::Multipart => {
            let boundary = mime::new_boundary()?;
            write!(
                out,
                "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg={}; \r\n\tboundary=\"{boundary}\"\r\n\r\n",
                micalg(request.digest)
            )?;
            out.write_all(b"This is an S/MIME signed message\r\n\r\n")?;
            write!(out, "--{boundary}\r\n")?;
            let streamed = message.stream_entity(|chunk| -> Result<(), SignError> {
                hasher.update(chunk);
                signed_bytes += chunk.len() as u64;
                Ok(out.write_all(chunk)?)
            })?;
            if streamed == Pass::Abandoned {
                return Ok(Pass::Abandoned);
            }
            let cms = signed_data_der(request, &hasher_take(&mut hasher, request.digest))?;
            write!(out, "\r\n--{boundary}\r\n")?;
            out.write_all(
                b"Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\nContent-Description: S/MIME Cryptographic Signature\r\n\r\n",
            )?;
            let mut b64 = Base64LineWriter::new(&mut *out);
            b64.write_all(&cms)?;
            b64.finish()?;
            write!(out, "\r\n--{boundary}--\r\n")?;
        }
        Form::Opaque => {
            out.write_all(
                b"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n",
            )?;
            let mut b64 = Base64LineWriter::new(&mut *out);
            b64.write_all(&opaque_prefix(request.digest)?)?;
            let streamed = message.stream_entity(|chunk| -> Result<(), SignError> {
                hasher.update(chunk);
                signed_bytes += chunk.len() as u64;
                Ok(ber_writer::write_segment(&mut b64, chunk)?)
            })?;
            if streamed == Pass::Abandoned {
                return Ok(Pass::Abandoned);
            }
            let digest = hasher_take(&mut hasher, request.digest);
            b64.write_all(&opaque_suffix(request, &digest)?)?;
            b64.finish()?;
        }
    }
    Ok(Pass::Done(SignReport {
        digest: request.digest,
        form: request.form,
        signed_bytes,
    }))
}

fn hasher_take(hasher: &mut Hasher, alg: HashAlg) -> Vec<u8> {
    std::mem::replace(hasher, Hasher::new(alg)).finish()
}

/// The signed attributes (RFC 8551 §2.5): content type, signing time, message digest,
/// S/MIME capabilities and ESS signing certificate v2.
fn signed_attributes(certificate: &[u8], digest: &[u8]) -> Result<SetOfVec<Attribute>, SignError> {
    let attribute = |oid, value: Any| -> Result<Attribute, SignError> {
        Ok(Attribute {
            oid,
            values: SetOfVec::try_from(vec![value])?,
        })
    };
    let cert =
        Certificate::from_der(certificate).map_err(|e| SignError::Certificate(e.to_string()))?;
    let capabilities: Vec<SmimeCapability> = [
        rfc5911::ID_AES_256_CBC,
        rfc5911::ID_AES_192_CBC,
        rfc5911::ID_AES_128_CBC,
    ]
    .into_iter()
    .map(|capability_id| SmimeCapability {
        capability_id,
        parameters: None,
    })
    .collect();
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(sha2::Sha256::digest(certificate).to_vec())?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    cert.tbs_certificate().issuer().clone(),
                )],
                serial_number: cert.tbs_certificate().serial_number().clone(),
            }),
        }],
    };
    let now = UtcTime::from_system_time(SystemTime::now())?;
    Ok(SetOfVec::try_from(vec![
        attribute(
            rfc5911::ID_CONTENT_TYPE,
            Any::encode_from(&rfc5911::ID_DATA)?,
        )?,
        attribute(rfc5911::ID_SIGNING_TIME, Any::encode_from(&now)?)?,
        attribute(
            rfc5911::ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest.to_vec())?)?,
        )?,
        attribute(
            rfc5911::SMIME_CAPABILITIES,
            Any::encode_from(&capabilities)?,
        )?,
        attribute(
            rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2,
            Any::encode_from(&ess)?,
        )?,
    ])?)
}

/// The SignerInfo's signatureAlgorithm: rsaEncryption for PKCS#1 v1.5 (as OpenSSL and
/// RFC 5754 use in CMS), otherwise the scheme's own identifier.
fn cms_signature_algorithm(scheme: SignatureScheme) -> Result<AlgorithmIdentifierOwned, SignError> {
    Ok(match scheme {
        SignatureScheme::RsaPkcs1v15(_) => AlgorithmIdentifierOwned {
            oid: rfc5912::RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        other => other.algorithm_identifier()?,
    })
}

fn signer_info<S: CmsSigner>(
    request: &SignRequest<'_, S>,
    digest: &[u8],
) -> Result<(SignerInfo, Vec<Certificate>), SignError> {
    let cert = Certificate::from_der(request.certificate)
        .map_err(|e| SignError::Certificate(e.to_string()))?;
    let attrs = signed_attributes(request.certificate, digest)?;
    let to_sign = attrs.to_der()?;
    let signature = request
        .signer
        .try_sign(&to_sign)
        .map_err(SignError::Signing)?;
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: cert.tbs_certificate().issuer().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    });
    let info = SignerInfo {
        version: CmsVersion::V1,
        sid,
        digest_alg: AlgorithmIdentifierOwned {
            oid: hash::oid(request.digest),
            parameters: None,
        },
        signed_attrs: Some(attrs),
        signature_algorithm: cms_signature_algorithm(request.signer.scheme())?,
        signature: OctetString::new(signature.as_bytes().to_vec())?,
        unsigned_attrs: None,
    };
    let mut certs = vec![cert];
    for der in request.chain {
        certs.push(
            Certificate::from_der(der)
                .map_err(|e| SignError::Certificate(format!("chain: {e}")))?,
        );
    }
    Ok((info, certs))
}

fn certificate_set(certs: Vec<Certificate>) -> Result<CertificateSet, SignError> {
    Ok(CertificateSet::try_from(
        certs
            .into_iter()
            .map(CertificateChoices::Certificate)
            .collect::<Vec<_>>(),
    )?)
}

/// A detached SignedData in a ContentInfo (the `.p7s`), DER.
fn signed_data_der<S: CmsSigner>(
    request: &SignRequest<'_, S>,
    digest: &[u8],
) -> Result<Vec<u8>, SignError> {
    let (info, certs) = signer_info(request, digest)?;
    let signed = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![info.digest_alg.clone()])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: rfc5911::ID_DATA,
            econtent: None,
        },
        certificates: Some(certificate_set(certs)?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![info])?,
    };
    Ok(ContentInfo {
        content_type: rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&signed)?,
    }
    .to_der()?)
}

/// BER: the opening of an opaque SignedData up to the constructed eContent, all with
/// indefinite lengths so the content can stream through.
fn opaque_prefix(digest: HashAlg) -> Result<Vec<u8>, SignError> {
    let mut out = ber_writer::open_content_info(rfc5911::ID_SIGNED_DATA)?;
    out.extend_from_slice(&CmsVersion::V1.to_der()?);
    let digests = SetOfVec::try_from(vec![AlgorithmIdentifierOwned {
        oid: hash::oid(digest),
        parameters: None,
    }])?;
    out.extend_from_slice(&digests.to_der()?);
    out.extend(ber_writer::open(0x30));
    out.extend_from_slice(&rfc5911::ID_DATA.to_der()?);
    out.extend(ber_writer::open(0xA0));
    out.extend(ber_writer::open(0x24));
    Ok(out)
}

/// BER: the end of the eContent and the encapsulated content, then certificates and
/// signer infos, and the end-of-contents of the three outer levels.
fn opaque_suffix<S: CmsSigner>(
    request: &SignRequest<'_, S>,
    digest: &[u8],
) -> Result<Vec<u8>, SignError> {
    let (info, certs) = signer_info(request, digest)?;
    let mut out = ber_writer::close(3);
    // certificates [0] IMPLICIT SET OF: the SET's encoding with the tag replaced.
    let mut set = certificate_set(certs)?.to_der()?;
    set[0] = 0xA0;
    out.extend_from_slice(&set);
    out.extend_from_slice(&SignerInfos::try_from(vec![info])?.to_der()?);
    out.extend(ber_writer::close(3));
    Ok(out)
}
