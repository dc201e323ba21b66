//! The answer to reset.
//!
//! `3B 8B 80 01 80 F9 A0 00 00 03 08 00 00 10 00 C8`: direct convention; TD1 = 80 and
//! TD2 = 01 offer T=1 (an `3B 8x 80 01` ATR is how virtual and contactless cards present
//! themselves); then eleven historical bytes in compact-TLV form (category 80) holding
//! one object, tag F "application identifier" with the PIV AID's first nine bytes; TCK
//! last. The ATR names the PIV application and claims to be no particular product, so
//! OpenSC detects a PIV card by its standard probes.

pub const ATR: [u8; 16] = [
    0x3B, 0x8B, 0x80, 0x01, 0x80, 0xF9, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0xC8,
];

#[cfg(test)]
mod tests {
    use super::*;
    use apdu_spec::atr;

    #[test]
    fn check_byte_makes_the_xor_zero() {
        // With T=1 offered, the XOR of T0 through TCK must be zero (ISO 7816-3 §8.2.5).
        assert_eq!(ATR[1..].iter().fold(0u8, |acc, b| acc ^ b), 0);
        // T0's low nibble counts the historical bytes.
        assert_eq!((ATR[1] & 0x0F) as usize, ATR.len() - 5);
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
