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

/// The signing rate in the summary line of a public-key algorithm, which ends in the
/// signatures and the verifications per second: `+F2:<n>:<bits>:<sign/s>:<verify/s>` for
/// RSA, `+F4` for ECDSA, and `+F6:<n>:<bits>:<name>:<sign/s>:<verify/s>` for EdDSA.
fn signatures_per_second(output: &str) -> Result<f64> {
    let Some(line) = output.lines().find(|l| l.starts_with("+F")) else {
        bail!("no summary line (+F...) in its output");
    };
    let fields: Vec<&str> = line.split(':').collect();
    let Some(&sign) = fields.len().checked_sub(2).and_then(|i| fields.get(i)) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_rate_is_read_from_each_kind_of_summary_line() {
        let rsa = "Doing 2048 bits private rsa's for 1s: 1360 2048 bits private RSA's in 1.00s\n\
                   +R2:1360:2048:1.00\n+F2:2:2048:1360.000000:50442.500000\n";
        assert_eq!(signatures_per_second(rsa).unwrap(), 1360.0);
        let ecdsa = "+F4:3:256:42595.000000:13851.162791\n";
        assert_eq!(signatures_per_second(ecdsa).unwrap(), 42595.0);
        let eddsa = "+F6:0:253:Ed25519:20707.894737:7628.947368\n";
        assert_eq!(signatures_per_second(eddsa).unwrap(), 20707.894737);
    }

    #[test]
    fn output_without_a_rate_is_an_error() {
        assert!(signatures_per_second("speed: Unknown algorithm rsa9\n").is_err());
        assert!(signatures_per_second("+F2:0:2048:0.000000:0.000000\n").is_err());
        assert!(signatures_per_second("+F2\n").is_err());
    }
}
