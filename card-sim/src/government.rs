//! The data objects a government PIV card carries when issued (SP 800-73-4 Part 1,
//! Appendix A): a CHUID whose FASC-N names an agency and the credential, with an expiration
//! date; a Card Capability Container; the Discovery object. A YubiKey leaves CCC empty and
//! carries a non-federal FASC-N.
//!
//! The CHUID's issuer signature element (3E) is present but empty: signing it needs the
//! issuer's content-signing certificate, which a simulated card does not have.

use apdu_spec::piv::ObjectId;
use apdu_spec::piv::chuid::Chuid;
use apdu_spec::tlv::{self, Tag};

/// The fields of a FASC-N (TIG SCEPACS §6), as decimal digits.
struct Fascn<'a> {
    agency: &'a str,
    system: &'a str,
    credential: &'a str,
    series: &'a str,
    issue: &'a str,
    person: &'a str,
    category: &'a str,
    organization: &'a str,
    association: &'a str,
}

/// The FASC-N's 5-bit characters: 4 data bits, least significant first, and odd parity.
const START: u8 = 0b1011;
const SEPARATOR: u8 = 0b1101;
const END: u8 = 0b1111;

impl Fascn<'_> {
    /// The 25-byte BCD encoding: start sentinel, the fields with separators, end sentinel
    /// and a longitudinal redundancy character over the data bits.
    fn encode(&self) -> [u8; 25] {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<u8>>();
        let mut chars = vec![START];
        for (i, field) in [
            self.agency,
            self.system,
            self.credential,
            self.series,
            self.issue,
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                chars.push(SEPARATOR);
            }
            chars.extend(digits(field));
        }
        chars.push(SEPARATOR);
        for field in [
            self.person,
            self.category,
            self.organization,
            self.association,
        ] {
            chars.extend(digits(field));
        }
        chars.push(END);
        chars.push(chars.iter().fold(0, |lrc, c| lrc ^ c));
        let mut out = [0u8; 25];
        for (i, c) in chars.iter().enumerate() {
            let parity = u8::from(c.count_ones() % 2 == 0);
            let five = (c & 1) << 4 | (c & 2) << 2 | (c & 4) | (c & 8) >> 2 | parity;
            for bit in 0..5 {
                if five & (0x10 >> bit) != 0 {
                    let n = i * 5 + bit;
                    out[n / 8] |= 0x80 >> (n % 8);
                }
            }
        }
        out
    }
}

/// The CHUID (5FC102) of a card whose serial number is `serial`: agency 0032, system 0001
/// (the TIG's example issuer), the credential number taken from the serial, and an
/// expiration date five years after `issued`.
pub fn chuid(serial: u32, guid: [u8; 16], issued: der::DateTime) -> Vec<u8> {
    let credential = format!("{:06}", serial % 1_000_000);
    let person = format!("{serial:010}");
    let fasc_n = Fascn {
        agency: "0032",
        system: "0001",
        credential: &credential,
        series: "0",
        issue: "1",
        person: &person,
        category: "1",
        organization: "0032",
        association: "1",
    };
    let chuid = Chuid {
        fasc_n: fasc_n.encode().to_vec(),
        guid: Some(guid),
        expiration: Some(five_years_after(issued)),
    };
    tlv::encode(ObjectId::CHUID.content_tag(), &chuid.encode())
}

/// The same day five years on as `YYYYMMDD` (the CHUID's expiration date), the 28th for
/// a card issued on 29 February when that year has none; the year stays within four digits.
fn five_years_after(issued: der::DateTime) -> String {
    let (year, month) = (issued.year().saturating_add(5).min(9999), issued.month());
    let day = match der::DateTime::new(year, month, issued.day(), 0, 0, 0) {
        Ok(date) => date.day(),
        Err(_) => 28,
    };
    format!("{year:04}{month:02}{day:02}")
}

/// The Card Capability Container (5FC107, SP 800-73-4 Table 8): the card identifier (GSC-RID
/// A0 00 00 01 16, manufacturer FF, card type 02 Java Card, and 14 bytes unique to the
/// card), versions 2.1 of the container and grammar, data model 10 (PIV), the empty
/// elements a PIV card keeps, and the LRC.
pub fn ccc(card_id: [u8; 14]) -> Vec<u8> {
    let mut identifier = vec![0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02];
    identifier.extend_from_slice(&card_id);
    let mut content = Vec::new();
    tlv::write(&mut content, Tag(0xF0), &identifier);
    tlv::write(&mut content, Tag(0xF1), &[0x21]);
    tlv::write(&mut content, Tag(0xF2), &[0x21]);
    tlv::write(&mut content, Tag(0xF3), &[]);
    tlv::write(&mut content, Tag(0xF4), &[0x00]);
    tlv::write(&mut content, Tag(0xF5), &[0x10]);
    for tag in [0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE] {
        tlv::write(&mut content, Tag(tag), &[]);
    }
    tlv::encode(ObjectId::CARD_CAPABILITY_CONTAINER.content_tag(), &content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apdu_spec::piv::chuid::FASC_N_NON_FEDERAL;

    fn date(year: u16, month: u8, day: u8) -> der::DateTime {
        der::DateTime::new(year, month, day, 0, 0, 0).unwrap()
    }

    #[test]
    fn expiry_is_a_real_date_five_years_on() {
        assert_eq!(five_years_after(date(2026, 11, 29)), "20311129");
        // 2033 is no leap year, 2036 is.
        assert_eq!(five_years_after(date(2028, 2, 29)), "20330228");
        assert_eq!(five_years_after(date(2031, 2, 28)), "20360228");
        assert_eq!(five_years_after(date(9998, 1, 1)), "99990101");
    }

    #[test]
    fn fasc_n_encoding_matches_the_non_federal_constant() {
        let nines = Fascn {
            agency: "9999",
            system: "9999",
            credential: "999999",
            series: "0",
            issue: "1",
            person: "0000000000",
            category: "3",
            organization: "0000",
            association: "1",
        };
        assert_eq!(nines.encode(), FASC_N_NON_FEDERAL);
    }

    #[test]
    fn chuid_carries_agency_guid_and_expiration() {
        let object = chuid(12345678, [7; 16], date(2026, 11, 29));
        let outer = tlv::Tlv::parse_exact(&object).unwrap();
        let parsed = Chuid::parse(outer.value).unwrap();
        assert_eq!(parsed.guid, Some([7; 16]));
        assert_eq!(parsed.expiration.as_deref(), Some("20311129"));
        assert_eq!(parsed.fasc_n.len(), 25);
        assert_ne!(parsed.fasc_n, FASC_N_NON_FEDERAL);
        // Agency 0032 after the start sentinel: 11010, then 0 = 00001, 0, 3 = 11001, 2 = 01000.
        assert_eq!(parsed.fasc_n[0], 0b1101_0000);
    }
}
