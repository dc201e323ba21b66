//! The echo card: a vpcd client that answers every APDU with 90 00 at once, so that a
//! round trip through it is what pcscd, vpcd and the sockets cost alone. It frames bytes
//! with `card-sim`'s vpcd frames (a 1-byte payload is a control code, of which only
//! "the ATR?" wants an answer) and the same socket options, and it presents card-sim's
//! ATR so that pcscd treats both cards alike.

use std::net::TcpStream;

use anyhow::{Context, Result};
use card_sim::vpcd::frame::{self, GET_ATR};
use socket2::SockRef;

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
        let payload = match frame::read(&mut stream) {
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other.context("reading from vpcd")?,
        };
        let answer: &[u8] = match payload.as_slice() {
            [GET_ATR] => &card_sim::atr::ATR,
            [_] => continue,
            _ => &SUCCESS,
        };
        frame::write(&mut stream, answer).context("writing to vpcd")?;
    }
}
