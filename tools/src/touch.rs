//! Asking for a touch, as ykman's "Touch your YubiKey...": on stderr, just before the
//! card needs it, when the key's metadata says it does.

use apdu_spec::piv::{Slot, TouchPolicy};

/// Tells the user to touch the card for the key in `slot`, if `policy` asks for touches.
pub fn prompt(slot: Slot, policy: Option<TouchPolicy>) {
    match policy {
        Some(TouchPolicy::Always) => {
            say!("Touch the card when it blinks (the key in slot {slot} needs a touch)...")
        }
        Some(TouchPolicy::Cached) => say!(
            "Touch the card if it blinks (the key in slot {slot} needs a touch, unless it was touched in the last 15 seconds)..."
        ),
        Some(TouchPolicy::Never | TouchPolicy::Default) | None => {}
    }
}
