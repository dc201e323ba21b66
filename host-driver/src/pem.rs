//! PEM armour (RFC 7468) for certificates and keys, and reading files that may hold
//! either PEM or DER.

use crate::error::{Error, Result};

pub fn encode(label: &str, der: &[u8]) -> String {
    // Encoding fails only for labels outside RFC 7468's grammar; ours are constants.
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

/// The DER inside PEM with `label`, or the input itself when it is not PEM.
pub fn decode(label: &str, input: &[u8]) -> Result<Vec<u8>> {
    if !input.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Ok(input.to_vec());
    }
    let (found, der) = pem_rfc7468::decode_vec(input.trim_ascii())
        .map_err(|e| Error::InvalidArgument(format!("PEM: {e}")))?;
    if found != label {
        return Err(Error::InvalidArgument(format!(
            "expected PEM \"{label}\", found \"{found}\""
        )));
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_and_der_both_read() {
        let pem = encode("CERTIFICATE", &[0x30, 0x03, 1, 2, 3]);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\nMAMBAgM=\n"));
        assert_eq!(
            decode("CERTIFICATE", pem.as_bytes()).unwrap(),
            vec![0x30, 3, 1, 2, 3]
        );
        assert_eq!(
            decode("CERTIFICATE", &[0x30, 0x03]).unwrap(),
            vec![0x30, 0x03]
        );
        assert!(decode("PUBLIC KEY", pem.as_bytes()).is_err());
    }
}
