//! The connection to vsmartcard's `vpcd` reader driver inside pcscd.
//!
//! The card is a TCP client of the reader. Each message, both ways, is a 2-byte
//! big-endian length and a payload. A 1-byte payload from vpcd is a control code
//! (00 power off, 01 power on, 02 reset: no answer; 04: answer with the ATR); anything
//! longer is a command APDU, answered with the response APDU. This module only frames
//! bytes; the card behind it is the same [`Card`] tests drive in process.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use apdu_spec::{CommandApdu, Response, describe};
use log::{debug, info, warn};
use socket2::SockRef;
use zeroize::{Zeroize, Zeroizing};

use crate::Card;

/// Where Debian's vpcd listens for the first virtual reader.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:35963";

const POWER_OFF: u8 = 0x00;
const POWER_ON: u8 = 0x01;
const RESET: u8 = 0x02;
const GET_ATR: u8 = 0x04;

/// How often a blocked read looks up from the socket to check for shutdown.
const SHUTDOWN_POLL: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The answer to one vpcd message, or `None` where vpcd expects none.
pub fn answer(card: &mut Card, payload: &[u8]) -> Option<Vec<u8>> {
    match payload {
        [POWER_OFF] => {
            debug!("power off");
            card.power_off();
            None
        }
        [POWER_ON] => {
            debug!("power on");
            card.power_on();
            None
        }
        [RESET] => {
            debug!("reset");
            card.reset();
            None
        }
        [GET_ATR] => Some(card.atr().to_vec()),
        [other] => {
            warn!("unknown vpcd control code {other:02X}, ignored");
            None
        }
        apdu => {
            let response = card.transmit(apdu);
            if log::log_enabled!(log::Level::Debug) {
                log_exchange(apdu, &response);
            }
            Some(response)
        }
    }
}

fn log_exchange(apdu: &[u8], response: &[u8]) {
    match CommandApdu::parse(apdu) {
        Ok(cmd) => {
            let r = Response::parse(response)
                .map(|mut r| {
                    let described = describe::response(cmd.ins, &r);
                    r.data.zeroize();
                    described
                })
                .unwrap_or_default();
            debug!("{} -> {r}", describe::command(&cmd));
        }
        Err(e) => debug!(
            "malformed APDU of {} bytes ({e}) -> {:02X?}",
            apdu.len(),
            response
        ),
    }
}

/// Why a connection ended.
#[derive(Debug)]
enum Ended {
    /// SIGINT or SIGTERM arrived.
    Shutdown,
    /// The reader went away (pcscd stopped or restarted).
    Lost(io::Error),
}

/// Serves `card` to the vpcd at `address` until `shutdown` is set, reconnecting with
/// backoff whenever vpcd is not there or goes away. Every power-off clears the login.
pub fn serve(card: &mut Card, address: &str, shutdown: &AtomicBool) {
    let mut backoff = FIRST_BACKOFF;
    let mut reported_down = false;
    while !shutdown.load(Ordering::Relaxed) {
        match connect(address) {
            Ok(stream) => {
                info!("connected to vpcd at {address}");
                backoff = FIRST_BACKOFF;
                reported_down = false;
                let ended = connection(card, stream, shutdown);
                // Whatever happened to the reader, the card lost power.
                card.power_off();
                match ended {
                    Ended::Shutdown => break,
                    Ended::Lost(e) => warn!("vpcd connection lost ({e}); reconnecting"),
                }
            }
            Err(e) => {
                if !reported_down {
                    warn!(
                        "cannot reach vpcd at {address} ({e}); is pcscd with vpcd running? retrying"
                    );
                    reported_down = true;
                }
                sleep_unless_shutdown(backoff, shutdown);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    info!("shutting down");
}

/// Connects within [`CONNECT_TIMEOUT`], so a busy or unreachable reader never keeps the
/// card from noticing a shutdown.
fn connect(address: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{address} resolves to no address"),
    );
    for addr in address.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn sleep_unless_shutdown(total: Duration, shutdown: &AtomicBool) {
    let step = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < total && !shutdown.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        slept += step;
    }
}

fn connection(card: &mut Card, mut stream: TcpStream, shutdown: &AtomicBool) -> Ended {
    // vpcd writes the length and the payload separately: without NODELAY and QUICKACK
    // every exchange waits for a delayed ACK (about 40 ms).
    if let Err(e) = stream
        .set_nodelay(true)
        .and_then(|()| stream.set_read_timeout(Some(SHUTDOWN_POLL)))
    {
        return Ended::Lost(e);
    }
    loop {
        let payload = match read_frame(&mut stream, shutdown) {
            Ok(Some(payload)) => payload,
            Ok(None) => return Ended::Shutdown,
            Err(e) => return Ended::Lost(e),
        };
        if let Some(reply) = answer(card, &payload).map(Zeroizing::new)
            && let Err(e) = write_frame(&mut stream, &reply)
        {
            return Ended::Lost(e);
        }
    }
}

/// Reads one frame; `None` when shutdown was requested while waiting. The payload is
/// wiped when dropped: a command may carry a PIN or a key.
fn read_frame(
    stream: &mut TcpStream,
    shutdown: &AtomicBool,
) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    let mut len = [0u8; 2];
    if !read_full(stream, &mut len, shutdown)? {
        return Ok(None);
    }
    let mut payload = Zeroizing::new(vec![0u8; u16::from_be_bytes(len) as usize]);
    if !read_full(stream, &mut payload, shutdown)? {
        return Ok(None);
    }
    Ok(Some(payload))
}

/// Fills `buf`, waking up periodically to check for shutdown; `false` on shutdown.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], shutdown: &AtomicBool) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        // Linux clears QUICKACK after it fires; set it again before every read.
        let _ = SockRef::from(&*stream).set_tcp_quickack(true);
        match stream.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "vpcd closed the connection",
                ));
            }
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if shutdown.load(Ordering::Relaxed) {
                    return Ok(false);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Writes length and payload in one call, so they leave in one segment.
fn write_frame(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::other("response longer than 65535 bytes"))?;
    let mut frame = Zeroizing::new(Vec::with_capacity(payload.len() + 2));
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CardConfig;
    use apdu_spec::piv::command::GetVersion;
    use std::net::TcpListener;

    fn card() -> Card {
        Card::in_memory(&CardConfig::default()).unwrap()
    }

    fn get_version() -> Vec<u8> {
        GetVersion.to_apdu().encode().unwrap()
    }

    #[test]
    fn control_codes_and_apdus() {
        let mut card = card();
        assert_eq!(
            answer(&mut card, &[GET_ATR]).as_deref(),
            Some(&crate::atr::ATR[..])
        );
        assert_eq!(answer(&mut card, &[POWER_ON]), None);
        assert_eq!(
            answer(&mut card, &get_version()),
            Some(vec![5, 7, 1, 0x90, 0x00])
        );
        assert_eq!(answer(&mut card, &[RESET]), None);
        assert_eq!(answer(&mut card, &[0x09]), None);
    }

    /// A fake vpcd: the card connects, gets an ATR request, a power-on and one APDU.
    #[test]
    fn speaks_vpcd_framing_and_stops_on_shutdown() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let shutdown = std::sync::Arc::new(AtomicBool::new(false));
        let flag = shutdown.clone();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut exchange = |payload: &[u8], reply: bool| -> Vec<u8> {
                // Length and payload in two writes, as vpcd sends them.
                s.write_all(&(payload.len() as u16).to_be_bytes()).unwrap();
                s.write_all(payload).unwrap();
                if !reply {
                    return Vec::new();
                }
                let mut len = [0u8; 2];
                s.read_exact(&mut len).unwrap();
                let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
                s.read_exact(&mut buf).unwrap();
                buf
            };
            let atr = exchange(&[GET_ATR], true);
            exchange(&[POWER_ON], false);
            let version = exchange(&get_version(), true);
            flag.store(true, Ordering::Relaxed);
            (atr, version)
        });
        let mut card = card();
        serve(&mut card, &address, &shutdown);
        let (atr, version) = server.join().unwrap();
        assert_eq!(atr, crate::atr::ATR.to_vec());
        assert_eq!(version, vec![5, 7, 1, 0x90, 0x00]);
    }
}
