//! The answer to reset as far as a host needs it: the historical bytes (ISO 7816-3 §8.2),
//! their compact-TLV objects (ISO 7816-4 §8.1.1), and whether the card capabilities
//! among them announce extended Lc and Le.

/// The category indicator of historical bytes that are a sequence of compact-TLV objects.
pub const CATEGORY_COMPACT_TLV: u8 = 0x80;
/// The compact-TLV tag of the card capabilities (ISO 7816-4 §8.1.1.2.7).
pub const CARD_CAPABILITIES: u8 = 0x7;
/// Bit 7 of the third card capabilities byte: the card takes extended Lc and Le fields.
pub const EXTENDED_LENGTH: u8 = 0x40;

/// One compact-TLV object: a 4-bit tag and up to 15 bytes of value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactTlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// The historical bytes of an ATR: T0's low nibble counts them; they follow the
/// interface bytes that T0 and each TDi announce. `None` when the ATR is too short.
pub fn historical_bytes(atr: &[u8]) -> Option<&[u8]> {
    let t0 = *atr.get(1)?;
    let count = (t0 & 0x0F) as usize;
    let mut y = t0 >> 4;
    let mut i = 2;
    loop {
        // TAi, TBi, TCi are present where bits 5, 6, 7 of the indicator are set; TDi
        // (bit 8) carries the next indicator.
        i += (y & 0b0111).count_ones() as usize;
        if y & 0b1000 == 0 {
            break;
        }
        y = *atr.get(i)? >> 4;
        i += 1;
    }
    atr.get(i..i + count)
}

/// The compact-TLV objects of historical bytes in category 80, up to the first that
/// is cut short; none for any other category.
pub fn compact_tlv(historical: &[u8]) -> impl Iterator<Item = CompactTlv<'_>> {
    let mut rest = match historical.split_first() {
        Some((&CATEGORY_COMPACT_TLV, objects)) => objects,
        _ => &[],
    };
    std::iter::from_fn(move || {
        let (&tl, tail) = rest.split_first()?;
        let len = (tl & 0x0F) as usize;
        let value = tail.get(..len)?;
        rest = &tail[len..];
        Some(CompactTlv {
            tag: tl >> 4,
            value,
        })
    })
}

/// Whether the ATR's card capabilities announce extended Lc and Le. A card that does not
/// say so is sent command chains rather than extended APDUs.
pub fn advertises_extended_length(atr: &[u8]) -> bool {
    historical_bytes(atr)
        .into_iter()
        .flat_map(compact_tlv)
        .find(|object| object.tag == CARD_CAPABILITIES && object.value.len() >= 3)
        .is_some_and(|capabilities| capabilities.value[2] & EXTENDED_LENGTH != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yubikey_atr_advertises_extended_apdus() {
        // A YubiKey 5 over USB: T=1 through TD1/TD2, then 13 historical bytes whose card
        // capabilities (73 C0 21 C0) have bit 7 of the third byte set.
        let yubikey = hex::decode("3BFD1300008131FE158073C021C057597562694B657940").unwrap();
        let historical = historical_bytes(&yubikey).unwrap();
        assert_eq!(historical.len(), 13);
        let capabilities = compact_tlv(historical).next().unwrap();
        assert_eq!(
            capabilities,
            CompactTlv {
                tag: CARD_CAPABILITIES,
                value: &[0xC0, 0x21, 0xC0]
            }
        );
        assert!(advertises_extended_length(&yubikey));
    }

    #[test]
    fn short_or_foreign_historical_bytes_advertise_nothing() {
        assert_eq!(historical_bytes(&[0x3B]), None);
        // T0 promises two historical bytes; one arrived.
        assert_eq!(historical_bytes(&[0x3B, 0x02, 0x80]), None);
        // Category 00 is not compact-TLV.
        assert_eq!(compact_tlv(&[0x00, 0x73, 0xC0, 0x21, 0xC0]).count(), 0);
        // Card capabilities cut short.
        assert!(!advertises_extended_length(&[
            0x3B, 0x04, 0x80, 0x73, 0xC0, 0x21
        ]));
    }
}
