//! The harness of the end-to-end tests: a virtual reader claimed for the test's
//! duration, a `card-sim serve` process on a fresh state file, and helpers to run real
//! clients against it.
//!
//! pcscd must be running with the vpcd readers `.ci/pcsc-env.sh start` configures; a
//! missing pcscd or client is a test failure, never a skip.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The vpcd readers `.ci/pcsc-env.sh` sets up, in pcscd's order: TCP port and the reader's
/// name. Sixteen, as many as pcscd serves.
pub const READERS: [(u16, &str); 16] = [
    (35963, "Virtual PCD 00 00"),
    (35964, "Virtual PCD 00 01"),
    (35965, "Virtual PCD 1 00 00"),
    (35966, "Virtual PCD 1 00 01"),
    (35967, "Virtual PCD 2 00 00"),
    (35968, "Virtual PCD 2 00 01"),
    (35969, "Virtual PCD 3 00 00"),
    (35970, "Virtual PCD 3 00 01"),
    (35971, "Virtual PCD 4 00 00"),
    (35972, "Virtual PCD 4 00 01"),
    (35973, "Virtual PCD 5 00 00"),
    (35974, "Virtual PCD 5 00 01"),
    (35975, "Virtual PCD 6 00 00"),
    (35976, "Virtual PCD 6 00 01"),
    (35977, "Virtual PCD 7 00 00"),
    (35978, "Virtual PCD 7 00 01"),
];

/// How long [`SimCard::kill`] waits for `card-sim` to end: a bound on ending at all, not a
/// measure of speed, generous for a loaded machine.
pub const STOP_LIMIT: Duration = Duration::from_secs(60);

/// The `card-sim` binary: `$CARD_SIM_BIN`, or built once per test process.
pub fn card_sim_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| binary("CARD_SIM_BIN", "card-sim", "card-sim"))
}

/// The `smime-card` binary (package `smime-card`): `$SMIME_CARD_BIN`, or built once per
/// test process.
pub fn smime_card_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| binary("SMIME_CARD_BIN", "smime-card", "smime-card"))
}

/// The binary named by the environment variable `var`, when the test runner built it
/// already (scripts/test.sh does: under nextest, a cargo build per test process would
/// queue on cargo's lock); else `bin` of `package`, built now.
fn binary(var: &str, package: &str, bin: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(path.is_file(), "{var} names no file: {}", path.display());
            path
        }
        None => build_binary(package, bin),
    }
}

/// Builds `bin` of the workspace package `package` and returns its path.
fn build_binary(package: &str, bin: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {bin} failed");
    // target/<profile>/deps/<test> -> target/<profile>/<bin>
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let debug = profile_dir
        .parent()
        .expect("target")
        .join("debug")
        .join(bin);
    let path = profile_dir.join(bin);
    if path.exists() { path } else { debug }
}

/// A vpcd reader held exclusively (an flock on a file per port) for a test's lifetime,
/// so tests running in parallel, in one process or many, never share a reader. Tests that
/// wait for more than one reader claim them in the order of [`READERS`], so none waits for
/// a reader held by another that waits for one of its own.
pub struct Reader {
    pub port: u16,
    pub name: &'static str,
    _lock: File,
}

impl Reader {
    /// Any free reader. The last are tried first: the first ones are those that tests
    /// needing a particular reader (the demo's, the one OpenSC shows as installed) wait for.
    pub fn claim() -> Reader {
        let mut readers = READERS;
        readers.reverse();
        Self::claim_among(&readers)
    }

    /// The reader on `port`, once no other test holds it.
    pub fn claim_port(port: u16) -> Reader {
        let reader = READERS
            .iter()
            .find(|(p, _)| *p == port)
            .unwrap_or_else(|| panic!("no vpcd reader on port {port}"));
        Self::claim_among(std::slice::from_ref(reader))
    }

    fn claim_among(readers: &[(u16, &'static str)]) -> Reader {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            for &(port, name) in readers {
                let path = std::env::temp_dir().join(format!("card-sim-e2e-reader-{port}.lock"));
                let file = File::create(&path).expect("create reader lock file");
                // SAFETY: flock on a valid, open file descriptor.
                if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                    return Reader {
                        port,
                        name,
                        _lock: file,
                    };
                }
            }
            assert!(
                Instant::now() < deadline,
                "no free virtual reader in 5 minutes"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether pcscd reports a card in this reader.
    pub fn card_present(&self) -> bool {
        let Ok(ctx) = pcsc::Context::establish(pcsc::Scope::User) else {
            panic!("cannot reach pcscd: start it with .ci/pcsc-env.sh start");
        };
        let name = std::ffi::CString::new(self.name).expect("reader name");
        let mut states = [pcsc::ReaderState::new(name, pcsc::State::UNAWARE)];
        match ctx.get_status_change(Duration::from_millis(0), &mut states) {
            Ok(()) => states[0].event_state().contains(pcsc::State::PRESENT),
            Err(pcsc::Error::UnknownReader) => panic!(
                "pcscd has no reader '{}': run .ci/pcsc-env.sh start",
                self.name
            ),
            Err(_) => false,
        }
    }

    /// Waits until pcscd sees the card come (`true`) or go (`false`).
    pub fn wait_for_card(&self, present: bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.card_present() != present {
            assert!(
                Instant::now() < deadline,
                "card in '{}' did not become present={present}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A `card-sim serve` process connected to a claimed reader.
pub struct SimCard {
    pub reader: Reader,
    pub state: PathBuf,
    /// What `card-sim serve` is given beyond the state file and the reader.
    serve_args: Vec<String>,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl SimCard {
    /// A factory-fresh card (default creation choices) in a free reader.
    pub fn start() -> SimCard {
        Self::start_with(&[])
    }

    /// A factory-fresh card in the reader on `port`.
    pub fn start_in(port: u16) -> SimCard {
        Self::start_in_reader(Reader::claim_port(port), &[])
    }

    /// A card created with `card-sim init --state … <init_args>` first.
    pub fn start_with(init_args: &[&str]) -> SimCard {
        Self::start_in_reader(Reader::claim(), init_args)
    }

    /// A factory-fresh card served with `card-sim serve … <serve_args>`.
    pub fn start_serving(serve_args: &[&str]) -> SimCard {
        Self::start_serving_in(Reader::claim(), &[], serve_args)
    }

    fn start_in_reader(reader: Reader, init_args: &[&str]) -> SimCard {
        Self::start_serving_in(reader, init_args, &[])
    }

    fn start_serving_in(reader: Reader, init_args: &[&str], serve_args: &[&str]) -> SimCard {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("card.json");
        if !init_args.is_empty() {
            let out = Command::new(card_sim_binary())
                .arg("init")
                .arg("--state")
                .arg(&state)
                .args(init_args)
                .output()
                .expect("card-sim init runs");
            assert!(
                out.status.success(),
                "card-sim init failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut card = SimCard {
            reader,
            state,
            serve_args: serve_args.iter().map(|&a| a.to_owned()).collect(),
            child: None,
            _dir: dir,
        };
        card.reader.wait_for_card(false);
        card.serve();
        card
    }

    fn serve(&mut self) {
        let log = File::create(self.state.with_extension("log")).expect("log file");
        let child = Command::new(card_sim_binary())
            .args(["serve", "--state"])
            .arg(&self.state)
            .arg("--vpcd")
            .arg(format!("127.0.0.1:{}", self.reader.port))
            .args(&self.serve_args)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("card-sim serve starts");
        self.child = Some(child);
        self.reader.wait_for_card(true);
    }

    /// The process id of `card-sim serve`.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends `signal` and waits for the process to end, for at most [`STOP_LIMIT`].
    pub fn kill(&mut self, signal: i32) -> std::process::ExitStatus {
        self.kill_within(signal, STOP_LIMIT)
    }

    /// Sends `signal` and waits for the process to end. One that has not ended after
    /// `limit` is killed (SIGKILL) and the test fails: a card that hangs on a signal (say,
    /// held by a wait for a touch of a day) must fail the suite, not hang it.
    pub fn kill_within(&mut self, signal: i32, limit: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(child.id() as i32, signal) };
        // Polled: std has no wait with a timeout, and this is the one place that needs it.
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for card-sim") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "card-sim did not end within {} s of signal {signal}; killed it:\n{}",
                    limit.as_secs(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.reader.wait_for_card(false);
        // pcscd polls a vpcd reader every 400 ms. A card that comes back before pcscd has
        // finished with the old connection (after a SIGKILL mid-command, say) can go
        // unnoticed for good; two polls' grace lets the next start be seen.
        std::thread::sleep(Duration::from_millis(900));
        status
    }

    /// Stops `card-sim` cleanly (SIGTERM) and starts it again on the same state file.
    pub fn restart(&mut self) {
        let status = self.kill(libc::SIGTERM);
        assert!(
            status.success(),
            "card-sim did not exit cleanly on SIGTERM: {status}"
        );
        self.serve();
    }

    /// Starts `card-sim serve` again after [`Self::kill`].
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.serve();
    }

    /// Runs `card-sim ctl --state <this card> <args>`: faults on demand through the
    /// control socket of the running `card-sim serve`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(card_sim_binary())
            .arg("ctl")
            .arg("--state")
            .arg(&self.state)
            .args(args)
            .output()
            .expect("card-sim ctl runs")
    }

    /// Runs `card-sim ctl` and asserts it succeeded; returns its reply.
    #[track_caller]
    pub fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        let text = output_text(&out);
        assert!(out.status.success(), "card-sim ctl {args:?} failed: {text}");
        text
    }

    /// Takes the card out of its reader (`card-sim ctl remove`) and waits until pcscd sees
    /// it gone.
    pub fn remove(&self) {
        self.ctl_ok(&["remove"]);
        self.reader.wait_for_card(false);
    }

    /// Puts the card back (`card-sim ctl insert`) and waits until pcscd sees it.
    pub fn insert(&self) {
        self.ctl_ok(&["insert"]);
        self.reader.wait_for_card(true);
    }

    /// What `card-sim serve` logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.with_extension("log")).unwrap_or_default()
    }
}

impl Drop for SimCard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a client to completion; panics with a clear message if it is not installed.
pub fn run(program: &str, args: &[&str]) -> Output {
    run_with_input(program, args, None)
}

pub fn run_with_input(program: &str, args: &[&str], input: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): run .ci/pcsc-env.sh install"));
    if let Some(input) = input {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    child.wait_with_output().expect("client finishes")
}

/// Runs a client and asserts it succeeded; returns stdout and stderr together.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    let text = output_text(&out);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{text}",
        out.status
    );
    text
}

pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
