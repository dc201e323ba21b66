//! YubiKey's attestation certificate extensions (arc 1.3.6.1.4.1.41482.3): what a card
//! states about the key it attests.

use const_oid::ObjectIdentifier;

/// Firmware version: an OCTET STRING of three bytes.
pub const FIRMWARE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.3");
/// Serial number: a DER INTEGER inside the OCTET STRING.
pub const SERIAL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.7");
/// PIN policy and touch policy: two bytes.
pub const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.8");
/// Form factor: one byte.
pub const FORM_FACTOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.9");
