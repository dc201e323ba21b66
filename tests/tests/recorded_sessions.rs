//! Recorded sessions through pcscd: `smime-card --trace` and `card-sim serve --trace`
//! record what a client and the card said, no secret among it; `card-sim replay` serves
//! the recording in the same reader, so the same client run again gets the same result
//! with no card behind it, and a client that sends something else is stopped at its first
//! other command.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    DEFAULT_MGMT_KEY, DEFAULT_PIN, DEFAULT_PUK, ENROLMENT_SECRETS, NEW_PIN, NEW_PUK, enroll_args,
};
use e2e::{Reader, card_sim_binary, output_text, smime_card_binary};

const CONTENT: &str = "Content-Type: text/plain\r\n\r\nMeet me at the usual place.\r\n";

/// A `card-sim` process (`serve` or `replay`) in a claimed reader, its output in files.
struct CardSim {
    child: Child,
    output: PathBuf,
}

impl CardSim {
    /// Runs `card-sim <args> --vpcd <the reader's port>` and waits for pcscd to see the card.
    fn start(reader: &Reader, args: &[&str], output: PathBuf) -> CardSim {
        reader.wait_for_card(false);
        let log = File::create(&output).expect("output file");
        let child = Command::new(card_sim_binary())
            .args(args)
            .arg("--vpcd")
            .arg(format!("127.0.0.1:{}", reader.port))
            .stdout(log.try_clone().expect("output file"))
            .stderr(log)
            .spawn()
            .expect("card-sim starts");
        reader.wait_for_card(true);
        CardSim { child, output }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    /// Stops it with SIGTERM; its exit status and output.
    fn stop(self, reader: &Reader) -> (ExitStatus, String) {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.wait(reader)
    }

    /// Waits for it to end on its own; its exit status and output.
    fn wait(mut self, reader: &Reader) -> (ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for card-sim") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "card-sim did not end:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        reader.wait_for_card(false);
        // pcscd polls a vpcd reader every 400 ms: two polls' grace before the next card
        // in this reader, so it sees that one come.
        std::thread::sleep(Duration::from_millis(900));
        (status, self.output())
    }
}

impl Drop for CardSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A claimed reader and a scratch directory.
struct Session {
    reader: Reader,
    dir: tempfile::TempDir,
}

impl Session {
    fn new() -> Session {
        Session {
            reader: Reader::claim(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    fn serve(&self, extra: &[&str]) -> CardSim {
        let state = self.arg("card.json");
        let args = [&["serve", "--state", &state][..], extra].concat();
        CardSim::start(&self.reader, &args, self.path("serve.log"))
    }

    fn replay(&self, trace: &str) -> CardSim {
        CardSim::start(
            &self.reader,
            &["replay", &self.arg(trace)],
            self.path("replay.log"),
        )
    }

    /// `smime-card --reader <the reader> <args>` in the scratch directory, the secrets in
    /// the environment.
    fn smime_card(&self, args: &[&str]) -> Output {
        Command::new(smime_card_binary())
            .current_dir(self.dir.path())
            .env_remove("SMIME_CARD_READER")
            .env_remove("SMIME_CARD_SIM")
            .envs(ENROLMENT_SECRETS)
            .args(["--reader", self.reader.name])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("smime-card runs")
    }

    #[track_caller]
    fn smime_card_ok(&self, args: &[&str]) -> String {
        let out = self.smime_card(args);
        let text = output_text(&out);
        assert!(out.status.success(), "smime-card {args:?} failed:\n{text}");
        text
    }

    fn trace(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }
}

/// Whether `text` holds `secret` as a trace could: in hex of either case, or as it is.
fn holds(text: &str, secret: &[u8]) -> bool {
    text.contains(&hex::encode(secret))
        || text.contains(&hex::encode_upper(secret))
        || std::str::from_utf8(secret).is_ok_and(|ascii| text.contains(ascii))
}

/// The management key a card's state file holds, in hex.
fn management_key(state: &Path) -> String {
    let text = std::fs::read_to_string(state).unwrap();
    let start = text.find(r#""management_key""#).expect("a management key");
    let key = &text[start..];
    let key = &key[key.find(r#""key": ""#).expect("its key") + 8..];
    key[..key.find('"').unwrap()].to_owned()
}

fn decrypt_args<'a>(trace: &'a str, out: &'a str) -> [&'a str; 9] {
    let decrypt = [
        "decrypt",
        "--in",
        "mail.eml",
        "--out",
        out,
        "--pin-env",
        "NEW_PIN",
    ];
    let [a, b, c, d, e, f, g] = decrypt;
    ["--trace", trace, a, b, c, d, e, f, g]
}

#[test]
fn a_decryption_recorded_by_smime_card_replays_and_no_secret_is_in_its_traces() {
    let session = Session::new();
    let card = session.serve(&[]);
    let ca = session.arg("ca");
    session.smime_card_ok(&["ca", "init", "--dir", &ca, "--name", "Example Mail CA"]);
    // Enrolment sends the old and new PIN and PUK, and a random management key twice
    // (set, and stored PIN-protected).
    let enrol = [
        &["--trace", "enroll.jsonl"][..],
        &enroll_args("bob@example.org", "Bob", &ca),
    ]
    .concat();
    let enrolled = session.smime_card_ok(&enrol);
    assert!(enrolled.contains("enrolled and personalised"), "{enrolled}");
    session.smime_card_ok(&["card", "export-cert", "--slot", "9d", "--out", "bob.pem"]);
    std::fs::write(session.path("content.txt"), CONTENT).unwrap();
    let encrypt = [
        "encrypt",
        "--in",
        "content.txt",
        "--to",
        "bob.pem",
        "--out",
        "mail.eml",
    ];
    session.smime_card_ok(&encrypt);
    let report = session.smime_card_ok(&decrypt_args("decrypt.jsonl", "plain.eml"));
    let plain = std::fs::read(session.path("plain.eml")).unwrap();
    let new_key = hex::decode(management_key(&session.path("card.json"))).unwrap();
    let (status, log) = card.stop(&session.reader);
    assert!(status.success(), "{log}");

    let secrets: [&[u8]; 6] = [
        DEFAULT_PIN.as_bytes(),
        DEFAULT_PUK.as_bytes(),
        NEW_PIN.as_bytes(),
        NEW_PUK.as_bytes(),
        &new_key,
        &hex::decode(DEFAULT_MGMT_KEY).unwrap(),
    ];
    for name in ["enroll.jsonl", "decrypt.jsonl"] {
        let trace = session.trace(name);
        assert!(
            trace.starts_with(r#"{"format":"piv-apdu-trace","version":1,"writer":"smime-card "#)
        );
        assert!(
            trace.contains(&format!(r#""reader":"{}""#, session.reader.name)),
            "{trace}"
        );
        for secret in secrets {
            assert!(
                !holds(&trace, secret),
                "{} in {name}:\n{trace}",
                hex::encode(secret)
            );
        }
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(session.path(name)).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    // The PIN was verified: its command is there with its length, not its digits.
    assert!(
        session
            .trace("decrypt.jsonl")
            .contains(r#""command":"0020008008xxxxxxxxxxxxxxxx""#)
    );

    // The same decryption against the recording: the same mail, and every command matched.
    let replay = session.replay("decrypt.jsonl");
    let again = session.smime_card(&decrypt_args("again.jsonl", "replayed.eml"));
    assert!(
        again.status.success(),
        "{}\n--- replay\n{}",
        output_text(&again),
        replay.output()
    );
    assert_eq!(
        output_text(&again),
        report.replace("plain.eml", "replayed.eml")
    );
    assert_eq!(std::fs::read(session.path("replayed.eml")).unwrap(), plain);
    let (status, output) = replay.stop(&session.reader);
    assert!(status.success(), "{output}");
    assert!(output.contains("replayed "), "{output}");
    assert!(output.contains(" commands, all matched"), "{output}");

    // Another command: the replay answers its first other command 6F00, says which, and
    // ends with exit code 1.
    let replay = session.replay("decrypt.jsonl");
    let status_report = session.smime_card(&["card", "status"]);
    assert!(
        !status_report.status.success(),
        "{}",
        output_text(&status_report)
    );
    let (status, output) = replay.wait(&session.reader);
    assert_eq!(status.code(), Some(1), "{output}");
    let differs = output
        .lines()
        .find(|l| l.contains(" differs: recorded "))
        .unwrap_or_else(|| panic!("{output}"));
    assert!(differs.starts_with("card-sim: command "), "{differs}");
    assert!(differs.contains(", received "), "{differs}");
}

/// Runs `client` against `card-sim serve --trace <trace>`, which must succeed; what it
/// printed, and the trace.
fn record(session: &Session, trace: &str, client: impl Fn() -> Output) -> (String, String) {
    let card = session.serve(&["--trace", &session.arg(trace)]);
    let recorded = client();
    assert!(recorded.status.success(), "{}", output_text(&recorded));
    let (status, log) = card.stop(&session.reader);
    assert!(status.success(), "{log}");
    (output_text(&recorded), session.trace(trace))
}

/// Runs `client` against `card-sim replay <trace>`: it must print `recorded` again, and
/// the replay find every recorded command and no other.
fn replays_alike(session: &Session, trace: &str, client: impl Fn() -> Output, recorded: &str) {
    let replay = session.replay(trace);
    let replayed = client();
    assert!(
        replayed.status.success(),
        "{}\n--- replay\n{}",
        output_text(&replayed),
        replay.output()
    );
    assert_eq!(output_text(&replayed), recorded);
    let (status, output) = replay.stop(&session.reader);
    assert!(status.success(), "{output}");
    assert!(output.contains("all matched"), "{output}");
}

/// A client run in the session's reader, whatever the outcome.
fn client(program: &str, args: &[&str], env: &[(&str, &Path)]) -> Output {
    Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): run .ci/pcsc-env.sh install"))
}

#[test]
fn a_yubico_piv_tool_session_recorded_by_card_sim_replays_to_yubico_piv_tool() {
    let session = Session::new();
    let reader = session.reader.name;
    let args = [
        "-r",
        reader,
        "-a",
        "verify-pin",
        "-P",
        DEFAULT_PIN,
        "-a",
        "status",
    ];
    let piv_tool = || client("yubico-piv-tool", &args, &[]);
    let (recorded, text) = record(&session, "piv-tool.jsonl", piv_tool);
    assert!(text.starts_with(r#"{"format":"piv-apdu-trace","version":1,"writer":"card-sim "#));
    assert!(!holds(&text, DEFAULT_PIN.as_bytes()), "{text}");
    assert!(text.contains(r#"{"event":"power_on"}"#), "{text}");
    replays_alike(&session, "piv-tool.jsonl", piv_tool, &recorded);

    // Authenticating with the management key cannot be replayed: the card's answers
    // were redacted, and the host's challenge is random anyway.
    let key_arg = format!("-k{DEFAULT_MGMT_KEY}");
    let set_chuid = || {
        client(
            "yubico-piv-tool",
            &["-r", reader, &key_arg, "-a", "set-chuid"],
            &[],
        )
    };
    record(&session, "set-chuid.jsonl", set_chuid);
    let replay = session.replay("set-chuid.jsonl");
    let replayed = set_chuid();
    assert!(!replayed.status.success(), "{}", output_text(&replayed));
    let (status, output) = replay.wait(&session.reader);
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("(GENERAL AUTHENTICATE) matches, but its recorded response was redacted"),
        "{output}"
    );
}

#[test]
fn an_opensc_session_recorded_by_card_sim_replays_to_opensc() {
    let session = Session::new();
    let conf = session.path("opensc.conf");
    common::write_opensc_conf(&conf, session.reader.name);
    let args = ["--reader", session.reader.name, "--dump"];
    let pkcs15_tool = || client("pkcs15-tool", &args, &[("OPENSC_CONF", &conf)]);
    let (recorded, _) = record(&session, "opensc.jsonl", pkcs15_tool);
    replays_alike(&session, "opensc.jsonl", pkcs15_tool, &recorded);
}
