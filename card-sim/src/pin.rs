//! PIN and PUK: an 8-byte reference value (6–8 characters padded with FF) and a retry
//! counter that blocks at zero.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub const DEFAULT_TRIES: u8 = 3;
pub use apdu_spec::piv::reference_data::{
    FACTORY_PIN as DEFAULT_PIN, FACTORY_PUK as DEFAULT_PUK, PADDED_LEN, pad,
};

/// Why a new PIN or PUK value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadValue {
    /// Not 8 bytes.
    WrongLength,
    /// Fewer than 6 characters, padding in the middle, or a character the card refuses.
    Unacceptable,
}

/// A PIN or PUK with its counters.
#[derive(Clone)]
pub struct Pin {
    value: Zeroizing<[u8; PADDED_LEN]>,
    default: Zeroizing<[u8; PADDED_LEN]>,
    pub max_tries: u8,
    pub tries_left: u8,
    /// PUKs on a YubiKey 5.7 accept only bytes 00–7F.
    ascii_only: bool,
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Pin {{ tries: {}/{}, value: redacted }}",
            self.tries_left, self.max_tries
        )
    }
}

impl Pin {
    pub fn new_pin(tries: u8) -> Self {
        Self::with_default(DEFAULT_PIN, tries, false)
    }

    pub fn new_puk(tries: u8) -> Self {
        Self::with_default(DEFAULT_PUK, tries, true)
    }

    fn with_default(default: &[u8], tries: u8, ascii_only: bool) -> Self {
        Self {
            value: pad(default),
            default: pad(default),
            max_tries: tries,
            tries_left: tries,
            ascii_only,
        }
    }

    /// Restores a stored value and counters.
    pub(crate) fn restore(&mut self, value: [u8; PADDED_LEN], max_tries: u8, tries_left: u8) {
        *self.value = value;
        self.max_tries = max_tries;
        self.tries_left = tries_left.min(max_tries);
    }

    pub(crate) fn value(&self) -> &[u8; PADDED_LEN] {
        &self.value
    }

    pub fn is_blocked(&self) -> bool {
        self.tries_left == 0
    }

    pub fn is_default(&self) -> bool {
        self.value.ct_eq(&*self.default).into()
    }

    /// Spends one try. Callers persist the counter *before* comparing, so that pulling
    /// the power during the comparison cannot give a free guess.
    pub fn spend_try(&mut self) {
        self.tries_left = self.tries_left.saturating_sub(1);
    }

    /// Constant-time comparison with a padded candidate; on success the counter is full again.
    pub fn check(&mut self, candidate: &[u8]) -> bool {
        let ok = candidate.len() == PADDED_LEN && bool::from(self.value.ct_eq(candidate));
        if ok {
            self.tries_left = self.max_tries;
        }
        ok
    }

    /// Checks that a padded 8-byte value is acceptable as a new reference value.
    pub fn validate_new(&self, padded: &[u8]) -> Result<(), BadValue> {
        if padded.len() != PADDED_LEN {
            return Err(BadValue::WrongLength);
        }
        let len = apdu_spec::piv::reference_data::unpadded_len(padded);
        let padding_ok = padded[len..]
            .iter()
            .all(|&b| b == apdu_spec::piv::reference_data::PAD);
        let chars_ok = !self.ascii_only || padded[..len].iter().all(|&b| b < 0x80);
        if len < 6 || !padding_ok || !chars_ok {
            return Err(BadValue::Unacceptable);
        }
        Ok(())
    }

    /// Sets a new (validated) value and fills the counter.
    pub fn set(&mut self, padded: &[u8]) {
        self.value.copy_from_slice(&padded[..PADDED_LEN]);
        self.tries_left = self.max_tries;
    }

    /// Back to the factory value with `tries` tries.
    pub fn reset(&mut self, tries: u8) {
        *self.value = *self.default;
        self.max_tries = tries;
        self.tries_left = tries;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_blocks_and_success_restores_it() {
        let mut pin = Pin::new_pin(3);
        pin.spend_try();
        assert!(!pin.check(&*pad(b"000000")));
        assert_eq!(pin.tries_left, 2);
        pin.spend_try();
        assert!(pin.check(&*pad(b"123456")));
        assert_eq!(pin.tries_left, 3);
        for _ in 0..3 {
            pin.spend_try();
        }
        assert!(pin.is_blocked());
    }

    #[test]
    fn new_values_are_validated() {
        let pin = Pin::new_pin(3);
        assert_eq!(
            pin.validate_new(&*pad(b"12345")),
            Err(BadValue::Unacceptable)
        );
        assert_eq!(pin.validate_new(b"1234"), Err(BadValue::WrongLength));
        assert_eq!(
            pin.validate_new(&[b'1', b'2', 0xFF, b'4', b'5', b'6', b'7', b'8']),
            Err(BadValue::Unacceptable)
        );
        assert_eq!(pin.validate_new(&*pad(b"654321")), Ok(()));
        let puk = Pin::new_puk(3);
        assert_eq!(
            puk.validate_new(&*pad(b"12345\x80\x81\x82")),
            Err(BadValue::Unacceptable)
        );
    }
}
