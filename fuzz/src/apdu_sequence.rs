//! The card target's input: a mode byte, then APDUs, each after a 2-byte big-endian
//! length. A length that runs past the input takes what is left, so every input is a
//! valid sequence and the fuzzer spends no time on framing errors.

/// The first byte of the input: which card, and whether it is logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode(pub u8);

impl Mode {
    /// PIN verified and management key authenticated before the APDUs are sent, so the
    /// fuzzer starts where key generation, imports and PUT DATA are allowed.
    pub fn authenticated(self) -> bool {
        self.0 & 1 != 0
    }

    /// Which card flavour (see [`crate::card_harness::FLAVOURS`]).
    pub fn flavour(self) -> usize {
        usize::from(self.0 >> 1)
    }
}

/// Splits `input` into its mode and its APDUs.
pub fn split(input: &[u8]) -> Option<(Mode, Vec<&[u8]>)> {
    let (&mode, mut rest) = input.split_first()?;
    let mut apdus = Vec::new();
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (apdu, after) = tail.split_at(len);
        apdus.push(apdu);
        rest = after;
    }
    Some((Mode(mode), apdus))
}

/// The input that [`split`] turns into `mode` and `apdus` (for seeds).
pub fn join(mode: Mode, apdus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![mode.0];
    for apdu in apdus {
        let len = u16::try_from(apdu.len()).expect("an APDU of at most 65535 bytes");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(apdu);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_then_split_gives_the_apdus_back() {
        let apdus = vec![vec![0, 0xA4, 4, 0], vec![], vec![0x00; 300]];
        let input = join(Mode(3), &apdus);
        let (mode, split) = split(&input).unwrap();
        assert_eq!(mode, Mode(3));
        assert!(mode.authenticated());
        assert_eq!(mode.flavour(), 1);
        assert_eq!(split, apdus.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }

    #[test]
    fn a_length_past_the_end_takes_the_rest() {
        let (_, apdus) = split(&[0, 0xFF, 0xFF, 1, 2, 3]).unwrap();
        assert_eq!(apdus, vec![&[1, 2, 3][..]]);
        assert!(split(&[]).is_none());
    }
}
