//! What the card forgets at reset or power-off: which application is selected, the PIN
//! and management-key logins, an outstanding challenge, and the last touch.

use std::time::Instant;

use zeroize::Zeroizing;

/// A management-key challenge the card is waiting for the answer to; single use.
pub enum Challenge {
    /// Single authentication: the host must return this encryption of the card's challenge.
    Single { expected: Zeroizing<Vec<u8>> },
    /// Mutual authentication: the host must return this witness, decrypted.
    Mutual { witness: Zeroizing<Vec<u8>> },
}

#[derive(Default)]
pub struct Session {
    /// Whether the PIV application is selected.
    pub selected: bool,
    /// Whether YubiKey's OTP application is selected (see `commands::otp`).
    pub otp_selected: bool,
    pub pin_verified: bool,
    /// A VERIFY that no PIN-policy-always key has used up yet.
    pub pin_fresh: bool,
    pub management_authenticated: bool,
    pub challenge: Option<Challenge>,
    /// When the button was last touched for an operation: keys with touch policy "cached"
    /// need no other touch for a while after it.
    pub touched_at: Option<Instant>,
}

impl Session {
    /// The session after power-on: PIV is the default application.
    pub fn power_on() -> Self {
        Self {
            selected: true,
            ..Self::default()
        }
    }

    pub fn log_out_pin(&mut self) {
        self.pin_verified = false;
        self.pin_fresh = false;
    }
}
