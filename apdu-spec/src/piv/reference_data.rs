//! PIN and PUK reference data on the wire (SP 800-73-4 Part 2, §3.2.1): 6 to 8 bytes,
//! padded with FF to 8.

use zeroize::Zeroizing;

/// The length of a padded PIN or PUK.
pub const PADDED_LEN: usize = 8;
/// The padding byte.
pub const PAD: u8 = 0xFF;

/// Pads a value to 8 bytes with FF (a longer value is cut to 8).
pub fn pad(value: &[u8]) -> Zeroizing<[u8; PADDED_LEN]> {
    let mut out = Zeroizing::new([PAD; PADDED_LEN]);
    let n = value.len().min(PADDED_LEN);
    out[..n].copy_from_slice(&value[..n]);
    out
}

/// The length of a padded value before its padding (where the first FF is).
pub fn unpadded_len(padded: &[u8]) -> usize {
    padded
        .iter()
        .position(|&b| b == PAD)
        .unwrap_or(padded.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_with_ff() {
        assert_eq!(*pad(b"123456"), *b"123456\xFF\xFF");
        assert_eq!(*pad(b"12345678"), *b"12345678");
        assert_eq!(unpadded_len(&*pad(b"1234567")), 7);
    }
}
