//! `card-sim ctl` and `card-sim touch` against a real `card-sim serve`, with this test
//! playing the vpcd it connects to: the socket's permissions, each fault as the reader sees
//! it, bad input, and a server that is gone.

use std::fs;
use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use apdu_spec::piv::command::{GetVersion, Select, Verify};
use apdu_spec::piv::reference_data::PaddedPin;
use apdu_spec::{CommandApdu, StatusWord};
use card_sim::FileStore;
use card_sim::vpcd::frame::{self, GET_ATR, POWER_ON};

const PATIENCE: Duration = Duration::from_secs(30);

/// `card-sim serve` on a fresh card, connected to this test's vpcd.
struct Served {
    child: Child,
    listener: TcpListener,
    link: TcpStream,
    state: PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("card.json");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_card-sim"))
            .args(["serve", "--state"])
            .arg(&state)
            .arg("--vpcd")
            .arg(listener.local_addr().unwrap().to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("card-sim starts");
        let mut served = Self {
            child,
            link: accept(&listener, PATIENCE).expect("card-sim connects"),
            listener,
            state,
            _dir: dir,
        };
        served.power_on();
        served
    }

    fn power_on(&mut self) {
        frame::write(&mut self.link, &[GET_ATR]).unwrap();
        frame::read(&mut self.link).unwrap();
        frame::write(&mut self.link, &[POWER_ON]).unwrap();
    }

    /// One command; `None` when the card closed the link instead of answering.
    fn transmit(&mut self, apdu: CommandApdu) -> Option<StatusWord> {
        frame::write(&mut self.link, &apdu.encode().unwrap()).unwrap();
        let response = frame::read(&mut self.link).ok()?;
        let [.., sw1, sw2] = response[..] else {
            panic!("no status word")
        };
        Some(StatusWord::from_bytes(sw1, sw2))
    }

    /// Waits for the card to connect again after its link closed.
    fn reconnected(&mut self) {
        self.link = accept(&self.listener, PATIENCE).expect("card-sim connects again");
        self.power_on();
    }

    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_card-sim"))
            .args(["ctl", "--state"])
            .arg(&self.state)
            .args(args)
            .output()
            .unwrap()
    }

    #[track_caller]
    fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "ctl {args:?}: {}{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    fn socket(&self) -> PathBuf {
        let mut name = self.state.file_name().unwrap().to_os_string();
        name.push(".ctl");
        self.state.with_file_name(name)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn accept(listener: &TcpListener, within: Duration) -> Option<TcpStream> {
    let start = Instant::now();
    while start.elapsed() < within {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(PATIENCE)).unwrap();
                return Some(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    None
}

fn closed(link: &mut TcpStream) -> bool {
    matches!(link.read(&mut [0u8; 1]), Ok(0))
}

fn verify(pin: &str) -> CommandApdu {
    Verify::Pin(PaddedPin::pad(pin.as_bytes())).to_apdu()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits for the socket `serve` listens on (it binds after claiming the card).
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < PATIENCE, "no socket {}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn ctl_drives_the_served_card_through_a_private_socket() {
    let mut card = Served::start();
    wait_for(&card.socket());
    let meta = fs::symlink_metadata(card.socket()).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.mode() & 0o777, 0o600);

    assert_eq!(
        card.ctl_ok(&["status"]),
        "card=present fail=none delay=none drop=0 power-cut=off touch=idle\n"
    );
    card.ctl_ok(&["fail", "--sw", "6581", "--ins", "fd"]);
    assert_eq!(
        card.transmit(Select::piv().to_apdu()),
        Some(StatusWord::SUCCESS)
    );
    assert_eq!(
        card.transmit(GetVersion.to_apdu()),
        Some(StatusWord::MEMORY_FAILURE)
    );
    assert_eq!(
        card.transmit(GetVersion.to_apdu()),
        Some(StatusWord::SUCCESS)
    );

    card.ctl_ok(&["remove"]);
    assert!(closed(&mut card.link), "a pulled card leaves the reader");
    assert!(accept(&card.listener, Duration::from_millis(600)).is_none());
    card.ctl_ok(&["insert"]);
    card.reconnected();

    card.ctl_ok(&["drop"]);
    assert_eq!(card.transmit(GetVersion.to_apdu()), None, "half a frame");
    card.reconnected();
    assert_eq!(
        card.transmit(GetVersion.to_apdu()),
        Some(StatusWord::SUCCESS)
    );

    assert_eq!(
        card.ctl_ok(&["touch"]),
        "touched, but no operation was waiting for a touch\n"
    );
    let touch = Command::new(env!("CARGO_BIN_EXE_card-sim"))
        .args(["touch", "--wait", "0", "--state"])
        .arg(&card.state)
        .output()
        .unwrap();
    assert_eq!(touch.status.code(), Some(1));
    assert_eq!(
        stderr(&touch),
        "card-sim: no operation waited for a touch within 0 s\n"
    );
}

#[test]
fn bad_arguments_are_exit_code_2_and_a_server_gone_is_named() {
    let mut card = Served::start();
    wait_for(&card.socket());
    for bad in [
        &["fail", "--sw", "65"][..],
        &["fail", "--sw", "6581", "--count", "0"],
        &["fail", "--sw", "6581", "--ins", "xyz"],
        &["delay"],
        &["explode"],
    ] {
        assert_eq!(card.ctl(bad).status.code(), Some(2), "{bad:?}");
    }

    // SAFETY: signalling our own child.
    unsafe { libc::kill(card.child.id() as i32, libc::SIGTERM) };
    assert!(card.child.wait().unwrap().success());
    assert!(!card.socket().exists(), "serve removes its socket");
    let gone = card.ctl(&["status"]);
    assert_eq!(gone.status.code(), Some(1));
    assert_eq!(
        stderr(&gone),
        format!(
            "card-sim: no card-sim serve is running for {}\n",
            card.state.display()
        )
    );
}

#[test]
fn a_power_cut_loses_the_answer_and_keeps_the_state_on_disk_whole() {
    let mut card = Served::start();
    wait_for(&card.socket());
    assert_eq!(
        card.transmit(Select::piv().to_apdu()),
        Some(StatusWord::SUCCESS)
    );
    card.ctl_ok(&["power-cut"]);
    assert_eq!(card.transmit(verify("000000")), None, "no answer");
    let status = card.ctl_ok(&["status"]);
    assert!(status.starts_with("card=removed "), "{status}");
    let on_disk = FileStore::new(&card.state).load().unwrap();
    assert_eq!(on_disk.pin.tries_left, 3);

    card.ctl_ok(&["insert"]);
    card.reconnected();
    assert_eq!(
        card.transmit(Select::piv().to_apdu()),
        Some(StatusWord::SUCCESS)
    );
    assert_eq!(
        card.transmit(Verify::Status.to_apdu()),
        Some(StatusWord::verify_failed(3)),
        "no try spent by the VERIFY that got no answer"
    );
}
