//! The answers to reset of the card models (see [`crate::profile`]).
//!
//! [`ATR`], the default profile's: `3B 8B 80 01 80 F9 A0 00 00 03 08 00 00 10 00 C8`: direct convention; TD1 = 80 and
//! TD2 = 01 offer T=1 (an `3B 8x 80 01` ATR is how virtual and contactless cards present
//! themselves); then eleven historical bytes in compact-TLV form (category 80) holding
//! one object, tag F "application identifier" with the PIV AID's first nine bytes; TCK
//! last. The ATR names the PIV application and claims to be no particular product, so
//! OpenSC detects a PIV card by its standard probes.

pub const ATR: [u8; 16] = [
    0x3B, 0x8B, 0x80, 0x01, 0x80, 0xF9, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0xC8,
];

/// A YubiKey 5 over USB (Yubico's .NET SDK `ProductAtrs`; ykpiv.h): T=1, historical bytes
/// in compact-TLV form, card capabilities `C0 21 C0` (chaining and extended Lc/Le), then
/// "YubiKey" in ASCII.
pub const YUBIKEY_5: [u8; 23] = [
    0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59,
    0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
];

/// A YubiKey 4 (pcsc-tools' smartcard_list.txt; OpenSC matches "Yubikey4"): T=1, and the
/// historical bytes are the ASCII "Yubikey4", not compact-TLV, so no extended APDUs.
pub const YUBIKEY_4: [u8; 18] = [
    0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x59, 0x75, 0x62, 0x69, 0x6B, 0x65, 0x79,
    0x34, 0xD4,
];

/// An Oberthur/IDEMIA ID-One PIV 2.4.1 (SP 800-73-4) on Cosmo V8.1, from OpenSC's list of
/// PIV cards (card-piv.c). T=1; historical bytes `80 31 C1 52 41 1A`. A contact government
/// card: its ATR names no virtual or contactless reader, so OpenSC treats it as contact.
pub const ID_ONE_PIV: [u8; 17] = [
    0x3B, 0xD6, 0x96, 0x00, 0x81, 0xB1, 0xFE, 0x45, 0x1F, 0x87, 0x80, 0x31, 0xC1, 0x52, 0x41, 0x1A,
    0x2A,
];

#[cfg(test)]
mod tests {
    use super::*;
    use apdu_spec::atr;

    #[test]
    fn check_byte_makes_the_xor_zero() {
        for atr in [&ATR[..], &YUBIKEY_5, &YUBIKEY_4, &ID_ONE_PIV] {
            // With T=1 offered, the XOR of T0 through TCK must be zero (ISO 7816-3 §8.2.5).
            assert_eq!(atr[1..].iter().fold(0u8, |acc, b| acc ^ b), 0, "{atr:02X?}");
            let historical = atr::historical_bytes(atr).unwrap();
            // T0's low nibble counts the historical bytes; only TCK follows them.
            assert_eq!(historical.len(), (atr[1] & 0x0F) as usize);
            assert!(atr.ends_with(&[historical, &atr[atr.len() - 1..]].concat()));
        }
        assert!(atr::advertises_extended_length(&YUBIKEY_5));
        assert!(!atr::advertises_extended_length(&YUBIKEY_4));
        assert!(!atr::advertises_extended_length(&ID_ONE_PIV));
    }

    #[test]
    fn hosts_read_eleven_historical_bytes_and_no_extended_apdus() {
        let historical = atr::historical_bytes(&ATR).unwrap();
        assert_eq!(historical.len(), 11);
        // One object: tag F, the application identifier, holding the AID's first 9 bytes.
        let objects: Vec<_> = atr::compact_tlv(historical).collect();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].tag, 0xF);
        assert_eq!(objects[0].value, &apdu_spec::piv::aid::PIV_AID[..9]);
        // Hosts therefore chain long commands rather than send extended APDUs.
        assert!(!atr::advertises_extended_length(&ATR));
    }
}
