//! Asking for a touch, as ykman's "Touch your YubiKey...": on stderr, just before the
//! card needs it, when the key's metadata says it does.

use apdu_spec::piv::{KeyRef, Slot, TouchPolicy};
use host_driver::{PivCard, Transport};

/// Tells the user to touch the card for `what` (a key), if `policy` asks for touches.
pub fn prompt(what: &str, policy: Option<TouchPolicy>) {
    match policy {
        Some(TouchPolicy::Always) => {
            say!("Touch the card when it blinks ({what} needs a touch)...")
        }
        Some(TouchPolicy::Cached) => say!(
            "Touch the card if it blinks ({what} needs a touch, unless it was touched in the last 15 seconds)..."
        ),
        Some(TouchPolicy::Never | TouchPolicy::Default) | None => {}
    }
}

/// As [`prompt`] for the key in `slot`.
pub fn prompt_for_slot(slot: Slot, policy: Option<TouchPolicy>) {
    prompt(&format!("the key in slot {slot}"), policy);
}

/// Asks for a touch before authenticating with the management key, if it needs one.
pub fn prompt_for_management_key<T: Transport>(card: &mut PivCard<T>) -> host_driver::Result<()> {
    prompt("the management key", card.touch_policy(KeyRef::MANAGEMENT)?);
    Ok(())
}
