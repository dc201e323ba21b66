//! The echo card: a vpcd client that answers every APDU with 90 00 at once, so that a
//! round trip through it is what pcscd, vpcd and the sockets cost alone. It frames bytes
//! as `card-sim`'s vpcd link does (a 2-byte length, then the payload; a 1-byte payload is
//! a control code, of which only 04, "the ATR?", wants an answer) with the same socket
//! options, and it presents card-sim's ATR so that pcscd treats both cards alike.

use std::io::{Read, Write};
use std::net::TcpStream;

use anyhow::{Context, Result};
use socket2::SockRef;

const GET_ATR: u8 = 0x04;
const SUCCESS: [u8; 2] = [0x90, 0x00];

/// Serves the reader at `address` until vpcd closes the connection.
pub fn serve(address: &str) -> Result<()> {
    let mut stream =
        TcpStream::connect(address).with_context(|| format!("cannot reach vpcd at {address}"))?;
    // As in card-sim: vpcd writes length and payload apart, so without NODELAY and
    // QUICKACK every exchange would wait for a delayed ACK.
    stream.set_nodelay(true)?;
    loop {
        SockRef::from(&stream).set_tcp_quickack(true)?;
        let mut length = [0u8; 2];
        match stream.read_exact(&mut length) {
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other.context("reading from vpcd")?,
        }
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(length))];
        stream
            .read_exact(&mut payload)
            .context("reading from vpcd")?;
        let answer: &[u8] = match payload.as_slice() {
            [GET_ATR] => &card_sim::atr::ATR,
            [_] => continue,
            _ => &SUCCESS,
        };
        let mut frame = u16::try_from(answer.len())?.to_be_bytes().to_vec();
        frame.extend_from_slice(answer);
        stream.write_all(&frame).context("writing to vpcd")?;
    }
}
