//! The connection to vsmartcard's `vpcd` reader driver inside pcscd.
//!
//! The card is a TCP client of the reader. Each message, both ways, is a 2-byte
//! big-endian length and a payload. A 1-byte payload from vpcd is a control code
//! (00 power off, 01 power on, 02 reset: no answer; 04: answer with the ATR); anything
//! longer is a command APDU, answered with the response APDU. This module only frames
//! bytes; the card behind it is the same [`Card`] tests drive in process, or anything else
//! that answers as a card ([`VirtualCard`]: a recorded session replayed, a card recorded).
//!
//! The link may idle between frames for ever, but a frame begun, either way, must be
//! through within `FRAME_DEADLINE` (5 s): a reader that sends half a frame and goes
//! silent, or stops taking answers, is dropped and reconnected rather than left to hang
//! the card. Wherever the link waits (resolving, connecting, backing off, reading,
//! writing), it looks at the shutdown flag every `SHUTDOWN_POLL` (200 ms); the one
//! exception is the look-up at start for the loopback warning below.
//!
//! Every command goes through the plan of faults ([`ControlledCard`]): a card taken out of
//! the reader closes the connection and connects again only once it is put back (pcscd
//! then sees it absent); an answer broken part-way sends a part of its frame, closes, and
//! connects again at once (the card pulled and pushed back); a delayed answer waits,
//! watching for shutdown and removal, between the frames, so no frame deadline runs.
//!
//! PINs and keys cross the link in clear text: an address that is not loopback draws a
//! warning at start, and on loopback the card refuses a port whose listener belongs to
//! another user (neither root nor its own), unless told to allow it.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use apdu_spec::{CommandApdu, Response, describe};
use log::{debug, info, warn};
use socket2::SockRef;
use zeroize::{Zeroize, Zeroizing};

use crate::control::{Control, ControlledCard, Outcome};

mod destination;
pub mod frame;
mod proc_net_tcp;
mod virtual_card;

pub use destination::{AllowedListener, ForeignListener};
use frame::{GET_ATR, POWER_OFF, POWER_ON, RESET};
pub use virtual_card::VirtualCard;

/// Where Debian's vpcd listens for the first virtual reader.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:35963";

/// How often a blocked connect, read or write looks up to check for shutdown.
const SHUTDOWN_POLL: Duration = Duration::from_millis(200);
/// vpcd writes a frame's two parts back to back and reads answers at once: a frame that
/// takes longer means the reader is stuck or is not vpcd.
const FRAME_DEADLINE: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The answer to one vpcd message, or `None` where vpcd expects none.
pub fn answer(card: &mut impl VirtualCard, payload: &[u8]) -> Option<Vec<u8>> {
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
        [GET_ATR] => Some(card.atr()),
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

/// Why an attempt to connect failed.
#[derive(Debug, thiserror::Error)]
enum NotConnected {
    /// vpcd is not there (yet): worth trying again.
    #[error(transparent)]
    Unreachable(#[from] io::Error),
    /// Another user's program holds the port: never worth connecting to.
    #[error(transparent)]
    Refused(#[from] ForeignListener),
}

/// Why a connection ended.
#[derive(Debug)]
enum Ended {
    /// SIGINT or SIGTERM arrived.
    Shutdown,
    /// The reader went away (pcscd stopped or restarted).
    Lost(io::Error),
    /// The reader left a frame unfinished past [`FRAME_DEADLINE`]; says which way.
    Stalled(&'static str),
    /// The card was taken out of the reader.
    Removed,
    /// The link was broken part-way through an answer, as planned.
    Broken,
}

/// What ends any wait on the link besides its own progress.
struct Stop<'a> {
    shutdown: &'a AtomicBool,
    control: &'a Control,
}

impl Stop<'_> {
    fn reason(&self) -> Option<Ended> {
        if self.shutdown.load(Ordering::Relaxed) {
            Some(Ended::Shutdown)
        } else if !self.control.is_present() {
            Some(Ended::Removed)
        } else {
            None
        }
    }
}

impl From<io::Error> for Ended {
    fn from(e: io::Error) -> Self {
        Ended::Lost(e)
    }
}

/// Serves `card` to the vpcd at `address` until `shutdown` is set, reconnecting with
/// backoff whenever vpcd is not there or goes away, and staying away while the card is
/// out of the reader. Every power-off clears the login. Fails, without sending anything,
/// when the listener is one `allowed` does not admit.
pub fn serve(
    card: &mut ControlledCard<impl VirtualCard>,
    address: &str,
    allowed: AllowedListener,
    shutdown: &AtomicBool,
) -> Result<(), ForeignListener> {
    destination::warn_unless_loopback(address);
    let mut backoff = FIRST_BACKOFF;
    let mut reported_down = false;
    while !shutdown.load(Ordering::Relaxed) {
        if !card.control().is_present() {
            sleep_unless_shutdown(FIRST_BACKOFF, shutdown);
            continue;
        }
        let Some(attempt) = connect_unless_shutdown(address, allowed, shutdown) else {
            break;
        };
        match attempt {
            Ok(stream) => {
                info!("connected to vpcd at {address}");
                backoff = FIRST_BACKOFF;
                reported_down = false;
                let ended = connection(card, stream, shutdown);
                // Whatever happened to the reader, the card lost power: once, so a recorded
                // session shows one power-off. The layer already cut it for a broken answer,
                // and for a removal it saw itself.
                match ended {
                    Ended::Removed => card.leave(),
                    Ended::Broken => {}
                    _ => card.card_mut().power_off(),
                }
                match ended {
                    Ended::Shutdown => break,
                    Ended::Removed => info!("card taken out of the reader; waiting to be put back"),
                    Ended::Broken => info!("link broken mid-answer as planned; reconnecting"),
                    Ended::Lost(e) => warn!("vpcd connection lost ({e}); reconnecting"),
                    Ended::Stalled(why) => warn!(
                        "{why} within {FRAME_DEADLINE:?}; dropping the connection and reconnecting"
                    ),
                }
            }
            Err(NotConnected::Refused(e)) => return Err(e),
            Err(NotConnected::Unreachable(e)) => {
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
    Ok(())
}

/// Resolves and connects on a thread of its own, so that neither a slow name server nor
/// an unanswering reader delays a shutdown; `None` when shutdown came first.
fn connect_unless_shutdown(
    address: &str,
    allowed: AllowedListener,
    shutdown: &AtomicBool,
) -> Option<Result<TcpStream, NotConnected>> {
    let (result, hear_result) = mpsc::channel();
    let address = address.to_owned();
    // At shutdown the thread is left to finish on its own: nothing waits for it.
    thread::spawn(move || result.send(connect(&address, allowed)));
    loop {
        match hear_result.recv_timeout(SHUTDOWN_POLL) {
            Ok(result) => return Some(result),
            Err(RecvTimeoutError::Timeout) if shutdown.load(Ordering::Relaxed) => return None,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Some(Err(
                    io::Error::other("the connecting thread panicked").into()
                ));
            }
        }
    }
}

/// Connects within [`CONNECT_TIMEOUT`], trying every address `address` resolves to whose
/// listener `allowed` admits.
fn connect(address: &str, allowed: AllowedListener) -> Result<TcpStream, NotConnected> {
    let mut last = io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{address} resolves to no address"),
    );
    for addr in address.to_socket_addrs()? {
        destination::check_listener(addr, allowed)?;
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last.into())
}

fn sleep_unless_shutdown(total: Duration, shutdown: &AtomicBool) {
    let step = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < total && !shutdown.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        slept += step;
    }
}

fn connection(
    card: &mut ControlledCard<impl VirtualCard>,
    mut stream: TcpStream,
    shutdown: &AtomicBool,
) -> Ended {
    let control = card.control().clone();
    let stop = Stop {
        shutdown,
        control: &control,
    };
    // vpcd writes the length and the payload separately: without NODELAY and QUICKACK
    // every exchange waits for a delayed ACK (about 40 ms).
    if let Err(e) = stream
        .set_nodelay(true)
        .and_then(|()| stream.set_read_timeout(Some(SHUTDOWN_POLL)))
        .and_then(|()| stream.set_write_timeout(Some(SHUTDOWN_POLL)))
    {
        return Ended::Lost(e);
    }
    loop {
        // Reads see a shutdown only when they time out: a vpcd that keeps commands coming
        // would otherwise keep the card from ever seeing one.
        if let Some(ended) = stop.reason() {
            return ended;
        }
        let payload = match read_frame(&mut stream, &stop) {
            Ok(payload) => payload,
            Err(ended) => return ended,
        };
        if let Err(ended) = reply(card, &mut stream, &payload, &stop) {
            return ended;
        }
    }
}

/// Answers one vpcd message: a control code at once, a command APDU as the plan of
/// faults says.
fn reply(
    card: &mut ControlledCard<impl VirtualCard>,
    stream: &mut TcpStream,
    payload: &[u8],
    stop: &Stop<'_>,
) -> Result<(), Ended> {
    if payload.len() == 1 {
        return match answer(card.card_mut(), payload).map(Zeroizing::new) {
            Some(reply) => write_frame(stream, &reply, stop),
            None => Ok(()),
        };
    }
    match card.exchange(payload) {
        Outcome::Answer { response, after } => {
            if log::log_enabled!(log::Level::Debug) {
                log_exchange(payload, &response);
            }
            sleep_unless_stopped(after, stop)?;
            write_frame(stream, &response, stop)
        }
        Outcome::Broken { response, after } => {
            sleep_unless_stopped(after, stop)?;
            let frame = frame::encode(&response)?;
            // The length and the first byte: vpcd passes on what it got, and one byte is
            // less than any status word, so the host sees an answer cut short, never a
            // shorter answer that could pass for whole.
            let _ = stream.write_all(&frame[..=frame::HEADER_LEN]);
            Err(Ended::Broken)
        }
        Outcome::Removed => Err(Ended::Removed),
    }
}

/// Sleeps `total`, unless a shutdown or the card's removal ends the wait first.
fn sleep_unless_stopped(total: Duration, stop: &Stop<'_>) -> Result<(), Ended> {
    let until = Instant::now() + total;
    loop {
        if let Some(ended) = stop.reason() {
            return Err(ended);
        }
        let Some(left) = until.checked_duration_since(Instant::now()) else {
            return Ok(());
        };
        thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// Reads one frame, waiting for its first byte as long as it takes. The payload is wiped
/// when dropped: a command may carry a PIN or a key.
fn read_frame(stream: &mut TcpStream, stop: &Stop<'_>) -> Result<Zeroizing<Vec<u8>>, Ended> {
    let mut header = [0u8; frame::HEADER_LEN];
    read_full(stream, &mut header[..1], stop, None)?;
    let deadline = Some(Instant::now() + FRAME_DEADLINE);
    read_full(stream, &mut header[1..], stop, deadline)?;
    let mut payload = Zeroizing::new(vec![0u8; frame::payload_len(header)]);
    read_full(stream, &mut payload, stop, deadline)?;
    Ok(payload)
}

/// Fills `buf`; past `deadline`, the reader counts as stalled.
fn read_full(
    stream: &mut TcpStream,
    buf: &mut [u8],
    stop: &Stop<'_>,
    deadline: Option<Instant>,
) -> Result<(), Ended> {
    let stalled = "vpcd began a frame but did not finish it";
    transfer(buf.len(), stop, deadline, stalled, |filled| {
        // Linux clears QUICKACK after it fires; set it again before every read.
        let _ = SockRef::from(&*stream).set_tcp_quickack(true);
        stream.read(&mut buf[filled..])
    })
}

/// Writes length and payload in one call, so they leave in one segment.
fn write_frame(stream: &mut TcpStream, payload: &[u8], stop: &Stop<'_>) -> Result<(), Ended> {
    let frame = frame::encode(payload)?;
    let deadline = Some(Instant::now() + FRAME_DEADLINE);
    let stalled = "vpcd did not take the card's answer";
    transfer(frame.len(), stop, deadline, stalled, |written| {
        stream.write(&frame[written..])
    })
}

/// Moves `len` bytes with `step` (one read or write of what is left after the bytes
/// done so far, giving up after [`SHUTDOWN_POLL`]), checking for shutdown and removal
/// whenever it gives up and for the deadline before every step.
fn transfer(
    len: usize,
    stop: &Stop<'_>,
    deadline: Option<Instant>,
    stalled: &'static str,
    mut step: impl FnMut(usize) -> io::Result<usize>,
) -> Result<(), Ended> {
    let mut done = 0;
    while done < len {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Err(Ended::Stalled(stalled));
        }
        match step(done) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "vpcd closed the connection",
                )
                .into());
            }
            Ok(n) => done += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                if let Some(ended) = stop.reason() {
                    return Err(ended);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Card, CardConfig};
    use apdu_spec::piv::command::GetVersion;
    use std::net::TcpListener;
    use std::sync::Arc;

    /// How soon `serve` must return once shutdown is asked for: a few poll intervals, with
    /// room for a busy machine.
    const PROMPTLY: Duration = Duration::from_secs(1);

    fn card() -> Card {
        Card::in_memory(&CardConfig::default()).unwrap()
    }

    fn get_version() -> Vec<u8> {
        GetVersion.to_apdu().encode().unwrap()
    }

    /// A fake vpcd on an ephemeral loopback port, and its address.
    fn fake_vpcd() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        (listener, address)
    }

    /// Serves a fresh card to `address` on a thread; the receiver hears when `serve` returns.
    fn serve_in_background(address: &str) -> (Arc<AtomicBool>, mpsc::Receiver<()>) {
        let shutdown = Arc::new(AtomicBool::new(false));
        let (returned, hear_returned) = mpsc::channel();
        let (address, flag) = (address.to_owned(), shutdown.clone());
        thread::spawn(move || {
            let mut card = ControlledCard::new(card(), Control::default());
            serve(&mut card, &address, AllowedListener::RootOrOwnUser, &flag).unwrap();
            let _ = returned.send(());
        });
        (shutdown, hear_returned)
    }

    /// Sends the first byte of a frame and nothing more.
    fn send_half_a_frame(vpcd: &mut TcpStream) {
        vpcd.write_all(&[0x00]).unwrap();
    }

    /// Sends requests and reads no answer until the card stops taking requests: it is
    /// then stuck writing answers nobody reads.
    fn flood_until_the_card_stalls(vpcd: &mut TcpStream) {
        // GET DATA of the attestation certificate with extended Le: about 1 KB back each.
        let request = [
            0, 0xCB, 0x3F, 0xFF, 0, 0, 5, 0x5C, 3, 0x5F, 0xFF, 0x01, 0, 0,
        ];
        let batch = frame::encode(&request).unwrap().repeat(256);
        vpcd.set_write_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        while vpcd.write_all(&batch).is_ok() {}
    }

    /// Whether the card, stalled by `stall` on its first connection, gives up on it and
    /// connects again.
    fn reconnects_after(stall: fn(&mut TcpStream)) -> bool {
        let (listener, address) = fake_vpcd();
        let (reconnected, hear_reconnected) = mpsc::channel();
        thread::spawn(move || {
            let (mut first, _) = listener.accept().unwrap();
            stall(&mut first);
            let _second = listener.accept().unwrap();
            let _ = reconnected.send(());
        });
        let (shutdown, returned) = serve_in_background(&address);
        let outcome = hear_reconnected.recv_timeout(FRAME_DEADLINE + Duration::from_secs(10));
        shutdown.store(true, Ordering::Relaxed);
        let _ = returned.recv_timeout(PROMPTLY);
        outcome.is_ok()
    }

    /// Whether `serve` returns promptly when shutdown is asked for once the card has had
    /// time to block.
    fn returns_promptly_on_shutdown(shutdown: &AtomicBool, returned: &mpsc::Receiver<()>) -> bool {
        thread::sleep(2 * SHUTDOWN_POLL);
        shutdown.store(true, Ordering::Relaxed);
        returned.recv_timeout(PROMPTLY).is_ok()
    }

    /// Whether `serve` returns promptly on shutdown while `stall` keeps its connection blocked.
    fn returns_promptly_when_stalled_by(stall: fn(&mut TcpStream)) -> bool {
        let (listener, address) = fake_vpcd();
        let (stalled, hear_stalled) = mpsc::channel();
        // The stalled connection stays open as long as the thread's handle holds it.
        let _vpcd = thread::spawn(move || {
            let (mut connection, _) = listener.accept().unwrap();
            stall(&mut connection);
            let _ = stalled.send(());
            connection
        });
        let (shutdown, returned) = serve_in_background(&address);
        hear_stalled.recv_timeout(PROMPTLY * 10).unwrap();
        returns_promptly_on_shutdown(&shutdown, &returned)
    }

    #[test]
    fn shutdown_is_seen_mid_frame() {
        assert!(returns_promptly_when_stalled_by(send_half_a_frame));
    }

    #[test]
    fn shutdown_is_seen_while_the_reader_does_not_read() {
        assert!(returns_promptly_when_stalled_by(
            flood_until_the_card_stalls
        ));
    }

    #[test]
    fn shutdown_is_seen_while_vpcd_is_down() {
        let (listener, address) = fake_vpcd();
        drop(listener);
        let (shutdown, returned) = serve_in_background(&address);
        assert!(returns_promptly_on_shutdown(&shutdown, &returned));
    }

    #[test]
    fn half_a_frame_is_dropped_after_the_deadline_and_vpcd_reconnected() {
        assert!(reconnects_after(send_half_a_frame));
    }

    #[test]
    fn a_reader_that_stops_reading_is_dropped_after_the_deadline_and_reconnected() {
        assert!(reconnects_after(flood_until_the_card_stalls));
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

    /// Serves a fresh card under `control` to a fake vpcd on a thread; the shutdown flag.
    fn serve_controlled(control: &Control) -> (TcpListener, Arc<AtomicBool>) {
        let (listener, address) = fake_vpcd();
        let shutdown = Arc::new(AtomicBool::new(false));
        let (flag, control) = (shutdown.clone(), control.clone());
        thread::spawn(move || {
            let mut card = ControlledCard::new(card(), control);
            serve(&mut card, &address, AllowedListener::RootOrOwnUser, &flag).unwrap();
        });
        (listener, shutdown)
    }

    /// Whether the card connects to `listener` within `within`.
    fn connects_within(listener: &TcpListener, within: Duration) -> Option<TcpStream> {
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + within;
        while Instant::now() < until {
            if let Ok((stream, _)) = listener.accept() {
                stream.set_nonblocking(false).unwrap();
                return Some(stream);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn closed(stream: &mut TcpStream) -> bool {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        matches!(stream.read(&mut [0u8; 1]), Ok(0))
    }

    #[test]
    fn a_removed_card_leaves_the_reader_until_put_back() {
        let control = Control::default();
        let (listener, shutdown) = serve_controlled(&control);
        let mut first = connects_within(&listener, PROMPTLY * 10).expect("connects");
        control.remove();
        assert!(
            closed(&mut first),
            "the link closes when the card is pulled"
        );
        assert!(
            connects_within(&listener, 3 * SHUTDOWN_POLL).is_none(),
            "no card until it is put back"
        );
        control.insert();
        assert!(connects_within(&listener, PROMPTLY * 10).is_some());
        shutdown.store(true, Ordering::Relaxed);
    }

    #[test]
    fn a_broken_answer_is_cut_after_one_byte_and_the_card_comes_back_at_once() {
        let control = Control::default();
        control.drop_responses(1);
        let (listener, shutdown) = serve_controlled(&control);
        let mut first = connects_within(&listener, PROMPTLY * 10).expect("connects");
        frame::write(&mut first, &get_version()).unwrap();
        let mut received = Vec::new();
        first.read_to_end(&mut received).unwrap();
        // GET VERSION answers 5 bytes: the length and the first of them arrive.
        assert_eq!(received, [0, 5, 5]);
        let mut second = connects_within(&listener, PROMPTLY * 10).expect("comes back");
        frame::write(&mut second, &get_version()).unwrap();
        assert_eq!(*frame::read(&mut second).unwrap(), [5, 7, 1, 0x90, 0x00]);
        shutdown.store(true, Ordering::Relaxed);
    }

    #[test]
    fn an_answer_delayed_past_the_frame_deadline_still_comes() {
        let control = Control::default();
        let delay = FRAME_DEADLINE + Duration::from_secs(1);
        control.delay(delay, Some(1));
        let (listener, shutdown) = serve_controlled(&control);
        let mut vpcd = connects_within(&listener, PROMPTLY * 10).expect("connects");
        let start = Instant::now();
        frame::write(&mut vpcd, &get_version()).unwrap();
        vpcd.set_read_timeout(Some(delay * 3)).unwrap();
        assert_eq!(*frame::read(&mut vpcd).unwrap(), [5, 7, 1, 0x90, 0x00]);
        assert!(start.elapsed() >= delay);
        shutdown.store(true, Ordering::Relaxed);
    }

    #[test]
    fn a_failure_planned_for_an_instruction_reaches_the_reader() {
        let control = Control::default();
        control.fail(apdu_spec::StatusWord::MEMORY_FAILURE, 1, Some(0xFD));
        let (listener, shutdown) = serve_controlled(&control);
        let mut vpcd = connects_within(&listener, PROMPTLY * 10).expect("connects");
        frame::write(&mut vpcd, &get_version()).unwrap();
        assert_eq!(*frame::read(&mut vpcd).unwrap(), [0x65, 0x81]);
        frame::write(&mut vpcd, &get_version()).unwrap();
        assert_eq!(*frame::read(&mut vpcd).unwrap(), [5, 7, 1, 0x90, 0x00]);
        shutdown.store(true, Ordering::Relaxed);
    }

    /// A fake vpcd: the card connects, gets an ATR request, a power-on and one APDU.
    #[test]
    fn speaks_vpcd_framing_and_stops_on_shutdown() {
        let (listener, address) = fake_vpcd();
        let shutdown = Arc::new(AtomicBool::new(false));
        let flag = shutdown.clone();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut exchange = |payload: &[u8], reply: bool| -> Vec<u8> {
                // Length and payload in two writes, as vpcd sends them.
                let sent = frame::encode(payload).unwrap();
                let (header, payload) = sent.split_at(frame::HEADER_LEN);
                s.write_all(header).unwrap();
                s.write_all(payload).unwrap();
                if !reply {
                    return Vec::new();
                }
                frame::read(&mut s).unwrap().to_vec()
            };
            let atr = exchange(&[GET_ATR], true);
            exchange(&[POWER_ON], false);
            let version = exchange(&get_version(), true);
            flag.store(true, Ordering::Relaxed);
            (atr, version)
        });
        let mut card = ControlledCard::new(card(), Control::default());
        serve(
            &mut card,
            &address,
            AllowedListener::RootOrOwnUser,
            &shutdown,
        )
        .unwrap();
        let (atr, version) = server.join().unwrap();
        assert_eq!(atr, crate::atr::ATR.to_vec());
        assert_eq!(version, vec![5, 7, 1, 0x90, 0x00]);
    }
}
