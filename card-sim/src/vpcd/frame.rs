//! vpcd's wire format, for the card's link and for anything else that speaks to vpcd or
//! plays it (tests, benchmarks). Each message, both ways, is a 2-byte big-endian length
//! and a payload; a 1-byte payload from vpcd is one of the control codes below.

use std::io::{self, Read, Write};

use zeroize::Zeroizing;

/// Power off; no answer.
pub const POWER_OFF: u8 = 0x00;
/// Power on; no answer.
pub const POWER_ON: u8 = 0x01;
/// Reset; no answer.
pub const RESET: u8 = 0x02;
/// Answer with the ATR.
pub const GET_ATR: u8 = 0x04;

/// The length in front of every payload.
pub const HEADER_LEN: usize = 2;

/// The payload length a frame's header announces.
pub fn payload_len(header: [u8; HEADER_LEN]) -> usize {
    u16::from_be_bytes(header).into()
}

/// The frame that carries `payload`: one buffer, so that a single write sends length and
/// payload in one segment. Wiped when dropped: a payload may hold a PIN or a key.
pub fn encode(payload: &[u8]) -> io::Result<Zeroizing<Vec<u8>>> {
    let len = u16::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a vpcd frame carries at most 65535 bytes",
        )
    })?;
    let mut frame = Zeroizing::new(Vec::with_capacity(payload.len() + 2));
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    Ok(frame)
}

/// Writes one frame, blocking until it is sent.
pub fn write(to: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    to.write_all(&encode(payload)?)
}

/// Reads one frame, blocking until it is whole; a stream that ends first is
/// [`io::ErrorKind::UnexpectedEof`]. The payload is wiped when dropped.
pub fn read(from: &mut impl Read) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut header = [0u8; HEADER_LEN];
    from.read_exact(&mut header)?;
    let mut payload = Zeroizing::new(vec![0u8; payload_len(header)]);
    from.read_exact(&mut payload)?;
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_length_then_payload_and_reads_back() {
        let mut wire = Vec::new();
        write(&mut wire, &[0x00, 0xA4, 0x04, 0x00]).unwrap();
        assert_eq!(wire, [0x00, 0x04, 0x00, 0xA4, 0x04, 0x00]);
        assert_eq!(*read(&mut &wire[..]).unwrap(), [0x00, 0xA4, 0x04, 0x00]);
    }

    #[test]
    fn an_oversized_payload_or_a_cut_frame_is_an_error() {
        let too_long = vec![0u8; 65536];
        assert_eq!(
            encode(&too_long).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let cut: &[u8] = &[0x00, 0x04, 0x00];
        assert_eq!(
            read(&mut &cut[..]).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
