//! A real `card-sim serve` process, with this test playing the vpcd it connects to, and a
//! kill (SIGKILL) that lands when its moment comes, whatever the card is doing then.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::net::{TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use card_sim::vpcd::frame::{self, GET_ATR, POWER_ON};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fs::inotify;
use rustix::io::Errno;

use crate::common::Reader;

/// How long a card that is not being killed may take to connect or to answer.
const PATIENCE: Duration = Duration::from_secs(30);

/// The vpcd side of the link: a listener on an ephemeral loopback port.
pub struct Vpcd {
    listener: TcpListener,
    address: String,
}

impl Vpcd {
    pub fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        // Non-blocking, so that waiting for a card can notice it exited instead.
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap().to_string();
        Self { listener, address }
    }

    /// Starts `card-sim serve` on `state`, waits for it to connect and powers the card on.
    /// Its log goes to `log`.
    pub fn serve(&self, state: &Path, log: &Path) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_card-sim"))
            .arg("serve")
            .arg("--state")
            .arg(state)
            .arg("--vpcd")
            .arg(&self.address)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(log).unwrap())
            .spawn()
            .expect("card-sim starts");
        let stream = self.accept(&mut child, log).unwrap_or_else(|problem| {
            // No card-sim outlives the test, whatever happens to it.
            let _ = child.kill();
            let _ = child.wait();
            panic!("{problem}")
        });
        let mut served = Served {
            child,
            stream,
            kill_at: None,
            killed: false,
        };
        let atr = served.exchange(&[GET_ATR]).expect("the card sends its ATR");
        assert!(!atr.is_empty(), "an ATR");
        frame::write(&mut served.stream, &[POWER_ON]).expect("the card takes power");
        served
    }

    /// The card's connection, or why there is none.
    fn accept(&self, child: &mut Child, log: &Path) -> Result<TcpStream, String> {
        let start = Instant::now();
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    stream.set_nodelay(true).unwrap();
                    return Ok(stream);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("accepting the card: {e}")),
            }
            if let Some(status) = child.try_wait().unwrap() {
                let log = fs::read_to_string(log).unwrap_or_default();
                return Err(format!(
                    "card-sim serve ended ({status}) instead of connecting:\n{log}"
                ));
            }
            if start.elapsed() > PATIENCE {
                return Err(format!("card-sim did not connect within {PATIENCE:?}"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Where the kill cut an exchange short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Killed {
    BeforeSending,
    BeforeAnswer,
}

/// A card being served, and when it is to be killed.
pub struct Served {
    child: Child,
    stream: TcpStream,
    kill_at: Option<Instant>,
    killed: bool,
}

/// Exchanges before a kill is armed must all succeed.
impl Reader for Served {
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        assert!(self.kill_at.is_none(), "an exchange that may not fail");
        self.exchange(command).expect("card-sim answers")
    }
}

/// A test that fails midway leaves no card-sim behind.
impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// From now on, any exchange can be cut short by the kill at `at`.
    pub fn arm_kill(&mut self, at: Instant) {
        self.kill_at = Some(at);
    }

    /// Sends one frame and reads the answer. The kill lands as soon as it is due: before
    /// sending, or while waiting for the answer. An answer the card sent whole before it
    /// died still counts.
    pub fn exchange(&mut self, payload: &[u8]) -> Result<Vec<u8>, Killed> {
        if self.kill_is_due() {
            self.kill();
        }
        if self.killed {
            return Err(Killed::BeforeSending);
        }
        match frame::write(&mut self.stream, payload) {
            Ok(()) => self.answer(),
            Err(e) => Err(self.cut_short(e)),
        }
    }

    /// Sends one frame and kills the card the moment one of `events` (a file created or
    /// moved into `dir`) happens to a file named as `marks` says, then reads what the card
    /// sent before it died: an answer it sent whole still counts. inotify wakes the test
    /// at the event, so no loop spins on a core the card needs; an answer that starts
    /// first ends the wait without a kill.
    pub fn exchange_killed_on(
        &mut self,
        payload: &[u8],
        dir: &Path,
        events: inotify::WatchFlags,
        marks: impl Fn(&OsStr) -> bool,
    ) -> Result<Vec<u8>, Killed> {
        assert!(self.kill_at.is_none(), "one kill at a time");
        let watch = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
            .expect("inotify");
        // Watching before sending: no event the command causes goes unseen.
        inotify::add_watch(&watch, dir, events).expect("inotify watch");
        frame::write(&mut self.stream, payload).expect("the card takes the command");
        let deadline = Instant::now() + PATIENCE;
        let mut events = [MaybeUninit::uninit(); 4096];
        while !self.killed {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "card-sim did not answer");
            let mut ready = [
                PollFd::new(&watch, PollFlags::IN),
                PollFd::new(&self.stream, PollFlags::IN),
            ];
            match poll(&mut ready, Some(&Timespec::try_from(left).unwrap())) {
                Err(Errno::INTR) => continue,
                result => result.expect("poll"),
            };
            let (happened, answered) = (
                !ready[0].revents().is_empty(),
                !ready[1].revents().is_empty(),
            );
            if happened {
                let mut reader = inotify::Reader::new(&watch, &mut events);
                while let Ok(event) = reader.next() {
                    if event
                        .file_name()
                        .is_some_and(|name| marks(OsStr::from_bytes(name.to_bytes())))
                    {
                        self.kill();
                        break;
                    }
                }
            }
            if answered {
                break;
            }
        }
        self.answer()
    }

    /// The answer to the frame just sent, or the kill that cut it short.
    fn answer(&mut self) -> Result<Vec<u8>, Killed> {
        match frame::read(self) {
            Ok(answer) => Ok(answer.to_vec()),
            Err(e) => Err(self.cut_short(e)),
        }
    }

    /// An exchange that failed: only a kill may have done that.
    fn cut_short(&self, e: io::Error) -> Killed {
        assert!(self.killed, "card-sim failed unkilled: {e}");
        Killed::BeforeAnswer
    }

    /// Kills the card when its moment comes, if no exchange did, and waits for it to end.
    pub fn kill_when_due(mut self) {
        if let Some(at) = self.kill_at {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
        }
        self.kill();
        let status = self.child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "card-sim was killed, not ended on its own: {status}"
        );
    }

    fn kill_is_due(&self) -> bool {
        self.kill_at.is_some_and(|at| Instant::now() >= at)
    }

    fn kill(&mut self) {
        if !self.killed {
            // SIGKILL: nothing in the card runs after it. It fails only for a card that
            // already ended, which waiting reports.
            let _ = self.child.kill();
            self.killed = true;
        }
    }
}

/// The card's answers, read so that no read waits past the kill's moment: then the card
/// is killed, and what it sent before it died is still read.
impl Read for Served {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let until_kill = match self.kill_at {
                Some(at) if !self.killed => at.saturating_duration_since(Instant::now()),
                _ => PATIENCE,
            };
            if until_kill.is_zero() {
                self.kill();
                continue;
            }
            self.stream
                .set_read_timeout(Some(until_kill.min(PATIENCE)))?;
            match self.stream.read(buf) {
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) && self.kill_is_due()
                        && !self.killed => {}
                other => return other,
            }
        }
    }
}
