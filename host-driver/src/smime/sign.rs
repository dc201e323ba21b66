//! Signing mail (RFC 8551 §3.5): the message's content headers and body become a MIME
//! entity in canonical form, which is hashed as it streams out; a CMS SignedData with
//! the S/MIME signed attributes, signed through a [`CmsSigner`], goes with it either as a
//! detached `application/pkcs7-signature` part of a `multipart/signed` message, or around
//! it as an opaque `application/pkcs7-mime; smime-type=signed-data` body.
//!
//! The input is read twice (once to see whether the body is 7-bit safe, once to sign
//! it), so it must be seekable; memory stays flat whatever its size.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
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
use super::canonical::{BodyScan, CrlfCanonicalizer};
use super::mime::{self, Header};
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
    #[error("the message is not RFC 5322 mail: {0}")]
    NotMail(String),
    #[error(
        "the body has 8-bit data or over-long lines inside a multipart entity; encode its parts (base64 or quoted-printable) first"
    )]
    EightBitMultipart,
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

/// How the body becomes the signed entity's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyEncoding {
    /// Already 7-bit safe: only line endings become CRLF.
    Canonical,
    /// Base64 of the body (text canonicalised to CRLF first).
    Base64 { text: bool },
}

/// Signs the mail in `input` and writes the signed mail to `output`.
pub fn sign<R: Read + Seek, W: Write, S: CmsSigner>(
    input: R,
    output: W,
    request: &SignRequest<'_, S>,
) -> Result<SignReport, SignError> {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let headers = mime::read_headers(&mut reader).map_err(|e| SignError::NotMail(e.to_string()))?;
    if headers.is_empty() {
        return Err(SignError::NotMail("it has no headers".into()));
    }
    let body_start = reader.stream_position()?;

    // First pass: does the body travel as it is?
    let mut scan = BodyScan::default();
    for_each_chunk(&mut reader, |chunk| {
        scan.push(chunk);
        Ok(())
    })?;
    let content_type = mime::content_type(&headers);
    let encoding = mime::transfer_encoding(&headers);
    let already_encoded = matches!(encoding.as_str(), "base64" | "quoted-printable");
    let body_encoding = if scan.needs_encoding() && !already_encoded {
        if content_type.is_multipart() {
            return Err(SignError::EightBitMultipart);
        }
        BodyEncoding::Base64 {
            text: content_type.mime_type.starts_with("text/"),
        }
    } else {
        BodyEncoding::Canonical
    };

    // The signed entity's headers: the message's content headers, with the transfer
    // encoding replaced when the body is re-encoded.
    let mut entity_headers: Vec<Header> = headers
        .iter()
        .filter(|h| h.is_content_header())
        .filter(|h| {
            !(matches!(body_encoding, BodyEncoding::Base64 { .. })
                && h.is("Content-Transfer-Encoding"))
        })
        .cloned()
        .collect();
    if mime::find(&entity_headers, "Content-Type").is_none() {
        entity_headers.insert(
            0,
            Header::new("Content-Type", "text/plain; charset=us-ascii"),
        );
    }
    if matches!(body_encoding, BodyEncoding::Base64 { .. }) {
        entity_headers.push(Header::new("Content-Transfer-Encoding", "base64"));
    }
    let mut entity_head = Vec::new();
    for h in &entity_headers {
        h.write_crlf(&mut entity_head);
    }
    entity_head.extend_from_slice(b"\r\n");

    let outer: Vec<&Header> = headers
        .iter()
        .filter(|h| !h.is_content_header() && !h.is("MIME-Version"))
        .collect();
    let mut out = io::BufWriter::with_capacity(64 * 1024, output);
    for h in &outer {
        let mut line = Vec::new();
        h.write_crlf(&mut line);
        out.write_all(&line)?;
    }
    out.write_all(b"MIME-Version: 1.0\r\n")?;

    reader.seek(SeekFrom::Start(body_start))?;
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
            stream_entity(&mut reader, &entity_head, body_encoding, |chunk| {
                hasher.update(chunk);
                signed_bytes += chunk.len() as u64;
                out.write_all(chunk)
            })?;
            let cms = signed_data_der(request, &hasher_take(&mut hasher, request.digest))?;
            write!(out, "\r\n--{boundary}\r\n")?;
            out.write_all(
                b"Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\nContent-Description: S/MIME Cryptographic Signature\r\n\r\n",
            )?;
            let mut b64 = Base64LineWriter::new(&mut out);
            b64.write_all(&cms)?;
            b64.finish()?;
            write!(out, "\r\n--{boundary}--\r\n")?;
        }
        Form::Opaque => {
            out.write_all(
                b"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n",
            )?;
            let mut b64 = Base64LineWriter::new(&mut out);
            b64.write_all(&opaque_prefix(request.digest)?)?;
            stream_entity(&mut reader, &entity_head, body_encoding, |chunk| {
                hasher.update(chunk);
                signed_bytes += chunk.len() as u64;
                // Each chunk is one primitive OCTET STRING of the constructed eContent.
                let mut header = vec![0x04];
                apdu_spec::tlv::write_length(chunk.len(), &mut header);
                b64.write_all(&header)?;
                b64.write_all(chunk)
            })?;
            let digest = hasher_take(&mut hasher, request.digest);
            b64.write_all(&opaque_suffix(request, &digest)?)?;
            b64.finish()?;
        }
    }
    out.flush()?;
    Ok(SignReport {
        digest: request.digest,
        form: request.form,
        signed_bytes,
    })
}

fn hasher_take(hasher: &mut Hasher, alg: HashAlg) -> Vec<u8> {
    std::mem::replace(hasher, Hasher::new(alg)).finish()
}

/// Calls `f` with the rest of `reader` in chunks.
fn for_each_chunk(
    reader: &mut impl BufRead,
    mut f: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let n = buf.len();
        f(buf)?;
        reader.consume(n);
    }
}

/// Streams the signed entity: its headers, then the body in canonical form.
fn stream_entity(
    reader: &mut impl BufRead,
    head: &[u8],
    encoding: BodyEncoding,
    mut emit: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    emit(head)?;
    let mut canonical = CrlfCanonicalizer::default();
    let mut scratch = Vec::with_capacity(80 * 1024);
    match encoding {
        BodyEncoding::Canonical => for_each_chunk(reader, |chunk| {
            scratch.clear();
            canonical.push(chunk, &mut scratch);
            emit(&scratch)
        }),
        BodyEncoding::Base64 { text } => {
            // Base64 into a buffer that is handed on and emptied chunk by chunk.
            let mut b64 = Base64LineWriter::new(Vec::with_capacity(112 * 1024));
            for_each_chunk(reader, |chunk| {
                if text {
                    scratch.clear();
                    canonical.push(chunk, &mut scratch);
                    b64.write_all(&scratch)?;
                } else {
                    b64.write_all(chunk)?;
                }
                let encoded = b64.get_mut();
                emit(encoded)?;
                encoded.clear();
                Ok(())
            })?;
            emit(&b64.finish()?)
        }
    }
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
    let mut out = vec![0x30, 0x80];
    out.extend_from_slice(&rfc5911::ID_SIGNED_DATA.to_der()?);
    out.extend_from_slice(&[0xA0, 0x80, 0x30, 0x80]);
    out.extend_from_slice(&CmsVersion::V1.to_der()?);
    let digests = SetOfVec::try_from(vec![AlgorithmIdentifierOwned {
        oid: hash::oid(digest),
        parameters: None,
    }])?;
    out.extend_from_slice(&digests.to_der()?);
    out.extend_from_slice(&[0x30, 0x80]);
    out.extend_from_slice(&rfc5911::ID_DATA.to_der()?);
    out.extend_from_slice(&[0xA0, 0x80, 0x24, 0x80]);
    Ok(out)
}

/// BER: the end of the eContent and the encapsulated content, then certificates and
/// signer infos, and the end-of-contents of the three outer levels.
fn opaque_suffix<S: CmsSigner>(
    request: &SignRequest<'_, S>,
    digest: &[u8],
) -> Result<Vec<u8>, SignError> {
    let (info, certs) = signer_info(request, digest)?;
    let mut out = vec![0, 0, 0, 0, 0, 0];
    // certificates [0] IMPLICIT SET OF: the SET's encoding with the tag replaced.
    let mut set = certificate_set(certs)?.to_der()?;
    set[0] = 0xA0;
    out.extend_from_slice(&set);
    out.extend_from_slice(&SignerInfos::try_from(vec![info])?.to_der()?);
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    Ok(out)
}
