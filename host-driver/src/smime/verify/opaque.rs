//! Reading an opaque `application/pkcs7-mime; smime-type=signed-data` body (RFC 8551
//! §3.4.2): the signed content is inside the CMS structure, so the whole body is decoded
//! and held in memory, up to a limit.

use std::io::{BufRead, Read, Write};

use der::asn1::OctetString;

use super::signed_data::{Content, SignedMessage, decode_signed_data};
use super::{SINK_BLOCK, VerifyError, malformed};
use crate::smime::base64_stream::Base64Decoder;
use crate::smime::mime::{self, ContentType, Header};

/// The most bytes the body of an opaque message may decode to: it is held in memory (twice,
/// while the CMS structure is normalised and decoded). The multipart form streams and has
/// no such limit.
pub const MAX_OPAQUE_BYTES: usize = 64 << 20;

/// Reads an opaque signed message: the whole body, decoded, in memory.
pub(super) fn read_opaque(
    input: &mut impl BufRead,
    headers: &[Header],
    content_type: &ContentType,
    content_out: Option<&mut dyn Write>,
) -> Result<SignedMessage, VerifyError> {
    match content_type
        .param("smime-type")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("signed-data") => {}
        Some("enveloped-data" | "authenveloped-data") => {
            return Err(VerifyError::NotSigned(
                "it is encrypted (decrypt it first, then verify what it holds)".into(),
            ));
        }
        Some(other) => return Err(VerifyError::NotSigned(format!("it is S/MIME {other}"))),
    }
    let ber = read_opaque_body(input, &mime::transfer_encoding(headers), MAX_OPAQUE_BYTES)?;
    let (mut signed_data, signer_infos) = decode_signed_data(&ber)?;
    drop(ber);
    let econtent = signed_data
        .encap_content_info
        .econtent
        .take()
        .ok_or_else(|| {
            malformed(
                "the signed-data carries no content (a detached signature without its message)",
            )
        })?;
    let content = econtent
        .decode_as::<OctetString>()
        .map_err(|e| malformed(format!("the signed content is not an OCTET STRING: {e}")))?
        .into_bytes()
        .into_vec();
    drop(econtent);
    if let Some(out) = content_out {
        out.write_all(&content)?;
        out.flush()?;
    }
    Ok(SignedMessage {
        signed_data,
        signer_infos,
        content: Content::Bytes(content),
    })
}

fn opaque_too_large(limit: usize) -> VerifyError {
    let size = if limit.is_multiple_of(1 << 20) {
        format!("{} MiB", limit >> 20)
    } else {
        format!("{limit} bytes")
    };
    VerifyError::Unsupported(format!(
        "opaque (application/pkcs7-mime) messages above {size} are not verified, as they are held in memory; multipart/signed messages have no such limit"
    ))
}

/// The decoded body of an opaque message, refused once it exceeds `limit` bytes.
fn read_opaque_body(
    input: &mut impl BufRead,
    encoding: &str,
    limit: usize,
) -> Result<Vec<u8>, VerifyError> {
    let too_large = || opaque_too_large(limit);
    let mut ber = Vec::new();
    match encoding {
        "binary" | "8bit" => {
            input.take(limit as u64 + 1).read_to_end(&mut ber)?;
            if ber.len() > limit {
                return Err(too_large());
            }
        }
        _ => {
            let mut decoder = Base64Decoder::default();
            loop {
                let chunk = input.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                // Decoded in pieces so that the check comes before the memory is taken.
                let n = chunk.len().min(SINK_BLOCK);
                decoder
                    .push(&chunk[..n], &mut ber)
                    .map_err(|e| malformed(format!("the body is not base64: {e}")))?;
                input.consume(n);
                if ber.len() > limit {
                    return Err(too_large());
                }
            }
            decoder
                .finish(&mut ber)
                .map_err(|e| malformed(format!("the body is not base64: {e}")))?;
            if ber.len() > limit {
                return Err(too_large());
            }
        }
    }
    Ok(ber)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_bodies_above_the_limit_are_refused() {
        use base64::Engine;
        let body = vec![0x5A; 3000];
        let base64 = base64::engine::general_purpose::STANDARD.encode(&body);
        let lines: Vec<&[u8]> = base64.as_bytes().chunks(76).collect();
        let base64 = lines.join(&b"\r\n"[..]);
        for (encoding, input) in [("binary", &body[..]), ("base64", &base64[..])] {
            assert_eq!(
                read_opaque_body(&mut &input[..], encoding, 3000).unwrap(),
                body,
                "{encoding}"
            );
            let err = read_opaque_body(&mut &input[..], encoding, 2999).unwrap_err();
            assert!(
                matches!(&err, VerifyError::Unsupported(m) if m.contains("opaque (application/pkcs7-mime) messages above 2999 bytes are not verified")),
                "{encoding}: {err}"
            );
        }
        // The limit is checked as the body streams: an endless one is not read to its end.
        for (encoding, byte) in [("base64", b'A'), ("binary", 0)] {
            let mut endless = std::io::BufReader::new(std::io::repeat(byte));
            let err = read_opaque_body(&mut endless, encoding, 1 << 20).unwrap_err();
            assert!(err.to_string().contains("above 1 MiB"), "{encoding}: {err}");
        }
        assert_eq!(
            opaque_too_large(MAX_OPAQUE_BYTES).to_string(),
            "cannot check the signature: opaque (application/pkcs7-mime) messages above 64 MiB are not verified, as they are held in memory; multipart/signed messages have no such limit"
        );
    }
}
