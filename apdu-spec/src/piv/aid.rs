//! The PIV application identifier (SP 800-73-4 Part 1, §2.2).

/// The NIST registered application provider identifier.
pub const NIST_RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];

/// The full PIV AID, version 1.0 of the card application.
pub const PIV_AID: [u8; 11] = [
    0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
];

/// The PIX without its version (what the APT's tag 4F carries).
pub const PIV_PIX: [u8; 6] = [0x00, 0x00, 0x10, 0x00, 0x01, 0x00];

/// SELECT may name the application by a prefix of the AID this long or longer
/// (yubico-piv-tool sends the 5-byte RID).
pub const MIN_SELECT_PREFIX: usize = 5;

/// Whether a SELECT's data names the PIV application (a prefix of at least
/// [`MIN_SELECT_PREFIX`] bytes, or the whole AID).
pub fn selects_piv(name: &[u8]) -> bool {
    name.len() >= MIN_SELECT_PREFIX && PIV_AID.starts_with(name)
}
