//! Writing BER whose length is not known in advance (X.690 §8.1.3.6): a constructed value
//! opened with the indefinite length and closed with end-of-contents, and content as a
//! constructed OCTET STRING of primitive segments, so content of any size streams through
//! a CMS structure.

use std::io::{self, Write};

use const_oid::ObjectIdentifier;
use der::Encode;

/// The identifier and length octets of a constructed value of `tag` whose end is marked
/// by end-of-contents.
pub fn open(tag: u8) -> [u8; 2] {
    [tag, 0x80]
}

/// The end-of-contents octets that close `levels` open values.
pub fn close(levels: usize) -> Vec<u8> {
    vec![0; 2 * levels]
}

/// The opening of a ContentInfo (RFC 5652 §3) of `content_type` down to the content's own
/// SEQUENCE: three values left open, for [`close`]`(3)` to end.
pub fn open_content_info(content_type: ObjectIdentifier) -> der::Result<Vec<u8>> {
    let mut out = open(0x30).to_vec();
    out.extend(content_type.to_der()?);
    out.extend(open(0xA0));
    out.extend(open(0x30));
    Ok(out)
}

/// Writes `segment` as one primitive OCTET STRING inside a constructed one (X.690 §8.7.3.2).
pub fn write_segment(out: &mut impl Write, segment: &[u8]) -> io::Result<()> {
    let mut header = vec![0x04];
    apdu_spec::tlv::write_length(segment.len(), &mut header);
    out.write_all(&header)?;
    out.write_all(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_of_an_open_octet_string_read_back_as_its_content() {
        let mut ber = open(0x24).to_vec();
        write_segment(&mut ber, b"abc").unwrap();
        write_segment(&mut ber, &[7; 200]).unwrap();
        ber.extend(close(1));
        assert_eq!(&ber[..7], &[0x24, 0x80, 0x04, 0x03, b'a', b'b', b'c']);
        assert_eq!(&ber[7..10], &[0x04, 0x81, 200]);
        let der = crate::smime::ber::to_der(&ber).unwrap();
        let value = der::asn1::OctetString::new([&b"abc"[..], &[7; 200]].concat()).unwrap();
        assert_eq!(der, der::Encode::to_der(&value).unwrap());
    }
}
