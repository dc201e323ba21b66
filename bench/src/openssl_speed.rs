//! `openssl speed` as the peer of the card's signatures: one run signs for a second, and
//! its machine-readable summary (`-mr`) gives the rate.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::measure::{Sample, setup};

/// One sample: the time per signature `openssl speed -seconds 1 <algorithm>` reports.
pub fn sign(algorithm: &str) -> Result<Sample> {
    let out = setup(Command::new("openssl").args(["speed", "-mr", "-seconds", "1", algorithm]))?;
    let rate = signatures_per_second(&String::from_utf8_lossy(&out))
        .with_context(|| format!("reading `openssl speed {algorithm}`"))?;
    Ok(Sample::time(Duration::from_secs_f64(1.0 / rate)))
}

/// The signing rate from the first summary line of a public-key signature. Each kind of
/// line has its tag and its fields in a fixed order: after the tag, the algorithm's index
/// and its bits, then for EdDSA the curve's name, then the signatures per second. What
/// follows differs between versions (OpenSSL 3.2 added RSA's encryptions and decryptions
/// per second after the verifications), so the rate is read from the front, never the end.
fn signatures_per_second(output: &str) -> Result<f64> {
    let Some((line, position)) = output.lines().find_map(|line| {
        let tag = line.split(':').next()?;
        Some((line, sign_position(tag)?))
    }) else {
        bail!("no summary line of a signature (+F2, +F4 or +F6) in its output");
    };
    let Some(sign) = line.split(':').nth(position) else {
        bail!("a summary line too short: {line}");
    };
    let rate: f64 = sign
        .parse()
        .with_context(|| format!("no rate in the summary line {line}"))?;
    if !(rate.is_finite() && rate > 0.0) {
        bail!("no signature was made: {line}");
    }
    Ok(rate)
}

/// Where the signatures per second sit in a summary line with `tag`, counting the tag as 0:
/// `+F2` RSA and `+F4` ECDSA (`<index>:<bits>:<sign/s>:...`), `+F6` EdDSA
/// (`<index>:<bits>:<curve>:<sign/s>:...`). Other tags (DSA's `+F3` among them) are not
/// measured here.
fn sign_position(tag: &str) -> Option<usize> {
    match tag {
        "+F2" | "+F4" => Some(3),
        "+F6" => Some(4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_rate_is_read_from_each_kind_of_summary_line_of_openssl_3_0() {
        let rsa = "Doing 2048 bits private rsa's for 1s: 1360 2048 bits private RSA's in 1.00s\n\
                   +R2:1360:2048:1.00\n+F2:2:2048:1360.000000:50442.500000\n";
        assert_eq!(signatures_per_second(rsa).unwrap(), 1360.0);
        let ecdsa = "+F4:3:256:42595.000000:13851.162791\n";
        assert_eq!(signatures_per_second(ecdsa).unwrap(), 42595.0);
        let eddsa = "+F6:0:253:Ed25519:20707.894737:7628.947368\n";
        assert_eq!(signatures_per_second(eddsa).unwrap(), 20707.894737);
    }

    #[test]
    fn rsa_from_openssl_3_2_on_gives_the_signing_rate_not_the_encryption_rate() {
        // sign/s, verify/s, encrypt/s, decrypt/s.
        let rsa = "+R1:1360:2048:1.00\n\
                   +F2:2:2048:1360.000000:50442.500000:48000.000000:1400.000000\n";
        assert_eq!(signatures_per_second(rsa).unwrap(), 1360.0);
    }

    #[test]
    fn lines_of_other_kinds_are_passed_over() {
        let output = "+H:16:64\n+F10:1:x:5.0\n+F4:3:256:42595.000000:13851.162791\n";
        assert_eq!(signatures_per_second(output).unwrap(), 42595.0);
    }

    #[test]
    fn output_without_a_rate_is_an_error() {
        assert!(signatures_per_second("speed: Unknown algorithm rsa9\n").is_err());
        assert!(signatures_per_second("+F2:0:2048:0.000000:0.000000\n").is_err());
        assert!(signatures_per_second("+F2\n").is_err());
        assert!(signatures_per_second("+F6:0:253:Ed25519\n").is_err());
        assert!(signatures_per_second("+F3:0:2048:10.0:10.0\n").is_err());
    }
}
