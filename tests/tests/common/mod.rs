//! Helpers shared by the interop suites: a working directory per test, the real clients
//! (yubico-piv-tool, openssl, OpenSC's tools) pointed at the test's own reader, and
//! failure messages that carry the card's APDU log.
#![allow(dead_code)]

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use e2e::{SimCard, output_text};
use test_pki::{Profile, TestCa};

/// The management key every fresh card has (3DES).
pub const DEFAULT_MGMT_KEY: &str = "010203040506070801020304050607080102030405060708";
pub const DEFAULT_PIN: &str = "123456";
pub const DEFAULT_PUK: &str = "12345678";
pub const OPENSC_PKCS11: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
/// The PIN and PUK `smime-card enroll` gives the card in the tests.
pub const NEW_PIN: &str = "24681357";
pub const NEW_PUK: &str = "97531864";

/// The environment [`enroll_args`] reads the secrets from.
pub const ENROLMENT_SECRETS: [(&str, &str); 4] = [
    ("PIN", DEFAULT_PIN),
    ("PUK", DEFAULT_PUK),
    ("NEW_PIN", NEW_PIN),
    ("NEW_PUK", NEW_PUK),
];

/// `smime-card enroll` of `email` with the local CA in `ca`, the secrets read from
/// [`ENROLMENT_SECRETS`].
pub fn enroll_args<'a>(email: &'a str, name: &'a str, ca: &'a str) -> [&'a str; 15] {
    [
        "enroll",
        "--email",
        email,
        "--name",
        name,
        "--ca",
        ca,
        "--pin-env",
        "PIN",
        "--puk-env",
        "PUK",
        "--new-pin-env",
        "NEW_PIN",
        "--new-puk-env",
        "NEW_PUK",
    ]
}

/// yubico-piv-tool's arguments to verify the PIN and sign with the key in `slot`,
/// checking the signature against `cert`.
pub fn test_signature_with_pin<'a>(slot: &'a str, cert: &'a str) -> [&'a str; 10] {
    [
        "-a",
        "verify-pin",
        "-P",
        DEFAULT_PIN,
        "-a",
        "test-signature",
        "-s",
        slot,
        "-i",
        cert,
    ]
}

/// The last lines of the card's log, for failure messages.
pub fn log_tail(card: &SimCard) -> String {
    let log = card.log();
    let lines: Vec<&str> = log.lines().collect();
    let start = lines.len().saturating_sub(60);
    format!(
        "--- card-sim log (last {} lines) ---\n{}",
        lines.len() - start,
        lines[start..].join("\n")
    )
}

/// Runs `program` with extra environment variables; a missing program fails the test.
pub fn run_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_env_in(Command::new(program), args, env)
}

/// Runs `cmd` with `args` and extra environment variables, input from nowhere.
fn run_env_in(mut cmd: Command, args: &[&str], env: &[(&str, &str)]) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): run .ci/pcsc-env.sh install"));
    child.wait_with_output().expect("client finishes")
}

/// Writes an OpenSC configuration to `path` that shows OpenSC the reader `ours` alone.
///
/// OpenSC's clients look at every reader: the PKCS#11 module probes the card of each
/// (with its default card drivers, SELECTs of foreign AIDs that deselect PIV and drop its
/// logins, as a YubiKey does) and gives slots to the first 4 readers only. Other tests'
/// cards are no business of this one, and probing them would break their yubico-piv-tool
/// runs between two transactions and cost time that grows with the cards in use: every
/// reader but ours is ignored. Only the PIV driver probes ours, one slot per reader.
pub fn write_opensc_conf(path: &Path, ours: &str) {
    let ignored: Vec<String> = e2e::READERS
        .iter()
        .filter(|&&(_, name)| name != ours)
        .map(|(_, name)| format!("\"{name}\""))
        .collect();
    std::fs::write(
        path,
        format!(
            "app default {{\n\tignored_readers = {};\n\tframework pkcs15 {{\n\t}}\n}}\n\
             app opensc-pkcs11 {{\n\tcard_drivers = PIV-II;\n\
             \tpkcs11 {{\n\t\tmax_virtual_slots = 64;\n\t\tslots_per_card = 1;\n\t}}\n}}\n",
            ignored.join(", ")
        ),
    )
    .expect("write opensc.conf");
}

/// A test's card, its scratch directory and the clients aimed at its reader.
pub struct Bench {
    pub card: SimCard,
    pub dir: tempfile::TempDir,
    ca: OnceCell<TestCa>,
}

impl Bench {
    /// A factory-fresh card (default creation choices).
    pub fn new() -> Bench {
        Self::with(&[])
    }

    /// A card of the card-sim profile `profile` (`card-sim init --profile`), serial 1234567.
    pub fn of_profile(profile: &str) -> Bench {
        Self::with(&["--profile", profile, "--serial", "1234567"])
    }

    /// A card made with `card-sim init <init_args>`.
    pub fn with(init_args: &[&str]) -> Bench {
        Self::of(SimCard::start_with(init_args))
    }

    /// A factory-fresh card served with `card-sim serve … <serve_args>`.
    pub fn serving(serve_args: &[&str]) -> Bench {
        Self::of(SimCard::start_serving(serve_args))
    }

    fn of(card: SimCard) -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        write_opensc_conf(&dir.path().join("opensc.conf"), card.reader.name);
        Bench {
            card,
            dir,
            ca: OnceCell::new(),
        }
    }

    pub fn reader(&self) -> &'static str {
        self.card.reader.name
    }

    /// A path in the test's directory, as a string for command lines.
    pub fn path(&self, name: &str) -> String {
        self.path_buf(name)
            .to_str()
            .expect("utf-8 temp path")
            .to_owned()
    }

    pub fn path_buf(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path_buf(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    pub fn write(&self, name: &str, data: &[u8]) {
        std::fs::write(self.path_buf(name), data).unwrap_or_else(|e| panic!("write {name}: {e}"));
    }

    /// `yubico-piv-tool -r <our reader> <args>`, whatever the outcome.
    pub fn piv_tool(&self, args: &[&str]) -> Output {
        let mut full = vec!["-r", self.reader()];
        full.extend_from_slice(args);
        e2e::run("yubico-piv-tool", &full)
    }

    /// `yubico-piv-tool` that must succeed; returns stdout and stderr together.
    pub fn piv_tool_ok(&self, args: &[&str]) -> String {
        let out = self.piv_tool(args);
        self.expect_ok("yubico-piv-tool", args, &out)
    }

    /// `yubico-piv-tool` that must fail (exit code 1); returns its output.
    pub fn piv_tool_fails(&self, args: &[&str]) -> String {
        let out = self.piv_tool(args);
        let text = output_text(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "yubico-piv-tool {args:?} should have failed with exit code 1 ({}):\n{text}\n{}",
            out.status,
            log_tail(&self.card)
        );
        text
    }

    /// `yubico-piv-tool -a verify-pin -a test-signature` of the key in `slot` against its
    /// certificate `cert`; must succeed. Returns the tool's output.
    pub fn piv_tool_test_signature(&self, slot: &str, cert: &str) -> String {
        self.piv_tool_ok(&test_signature_with_pin(slot, cert))
    }

    /// An OpenSC tool with our opensc.conf; must succeed.
    pub fn opensc_ok(&self, program: &str, args: &[&str]) -> String {
        let out = self.opensc(program, args);
        self.expect_ok(program, args, &out)
    }

    pub fn opensc(&self, program: &str, args: &[&str]) -> Output {
        let conf = self.path("opensc.conf");
        run_env(program, args, &[("OPENSC_CONF", &conf)])
    }

    /// `pkcs11-tool --module opensc-pkcs11.so --slot <our slot> <args>`; must succeed.
    pub fn pkcs11_ok(&self, args: &[&str]) -> String {
        let slot = self.pkcs11_slot();
        let mut full = vec!["--module", OPENSC_PKCS11, "--slot", &slot];
        full.extend_from_slice(args);
        self.opensc_ok("pkcs11-tool", &full)
    }

    /// The PKCS#11 slot id of our reader, from `pkcs11-tool -L` ("Slot 5 (0x5): <reader>"),
    /// checking that the slot holds a token.
    pub fn pkcs11_slot(&self) -> String {
        let listing = self.opensc_ok("pkcs11-tool", &["--module", OPENSC_PKCS11, "-L"]);
        let (id, token) = parse_pkcs11_slot(&listing, self.reader()).unwrap_or_else(|| {
            panic!(
                "no PKCS#11 slot for reader '{}' in:\n{listing}",
                self.reader()
            )
        });
        assert!(
            token.contains("token label"),
            "slot {id} for '{}' has no token:\n{listing}",
            self.reader()
        );
        id
    }

    /// The ECDH secret the 9D key (PKCS#11 ID 03) derives through pkcs11-tool with `pin`,
    /// against a fresh peer key on `curve`, and the one openssl derives from the peer key and
    /// `public` (the card key's public half, PEM): (card's, openssl's).
    pub fn pkcs11_ecdh_beside_openssl(
        &self,
        curve: &str,
        public: &str,
        pin: &str,
    ) -> (Vec<u8>, Vec<u8>) {
        let peer = self.path(&format!("peer-{curve}.key"));
        let peer_der = self.path(&format!("peer-{curve}.pub.der"));
        let paramgen = format!("ec_paramgen_curve:{curve}");
        self.openssl_ok(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            &paramgen,
            "-out",
            &peer,
        ]);
        self.openssl_ok(&[
            "pkey", "-in", &peer, "-pubout", "-outform", "DER", "-out", &peer_der,
        ]);
        let (card, host) = (
            format!("card-{curve}.secret"),
            format!("host-{curve}.secret"),
        );
        let (card_path, host_path) = (self.path(&card), self.path(&host));
        let derive = ["--derive", "--id", "03", "-m", "ECDH1-DERIVE"];
        let files = ["--input-file", &peer_der, "-o", &card_path];
        self.pkcs11_ok(&[&["--login", "--pin", pin][..], &derive, &files].concat());
        let openssl = [
            "pkeyutl", "-derive", "-inkey", &peer, "-peerkey", public, "-out", &host_path,
        ];
        self.openssl_ok(&openssl);
        (self.read(&card), self.read(&host))
    }

    /// `smime-card --reader <our reader> <args>`, with the default PIN in `$CARD_PIN`.
    pub fn smime_card(&self, args: &[&str]) -> Output {
        let binary = e2e::smime_card_binary().to_str().expect("utf-8 path");
        let mut full = vec!["--reader", self.reader()];
        full.extend_from_slice(args);
        let mut cmd = Command::new(binary);
        cmd.env_remove("SMIME_CARD_READER")
            .env_remove("SMIME_CARD_SIM")
            .current_dir(self.dir.path());
        run_env_in(cmd, &full, &[("CARD_PIN", DEFAULT_PIN)])
    }

    /// `smime-card` that must succeed; returns stdout and stderr together.
    pub fn smime_card_ok(&self, args: &[&str]) -> String {
        let out = self.smime_card(args);
        self.expect_ok("smime-card", args, &out)
    }

    pub fn openssl_ok(&self, args: &[&str]) -> String {
        let out = e2e::run("openssl", args);
        self.expect_ok("openssl", args, &out)
    }

    fn expect_ok(&self, program: &str, args: &[&str], out: &Output) -> String {
        let text = output_text(out);
        assert!(
            out.status.success(),
            "{program} {args:?} failed ({}):\n{text}\n{}",
            out.status,
            log_tail(&self.card)
        );
        text
    }

    /// Generates a key in `slot` with yubico-piv-tool (default management key), writing the
    /// public key to `<name>.pub.pem`; returns that path.
    pub fn generate(&self, slot: &str, algorithm: &str, name: &str) -> String {
        let public = self.path(&format!("{name}.pub.pem"));
        let text =
            self.piv_tool_ok(&["-a", "generate", "-s", slot, "-A", algorithm, "-o", &public]);
        assert!(
            text.contains("Successfully generated a new private key"),
            "{text}"
        );
        public
    }

    /// Has the card attest the key in `slot` and checks the attestation against the card's
    /// own attestation certificate (F9). Returns the paths of both (PEM).
    pub fn attest_verified(&self, slot: &str) -> (String, String) {
        let attestation = self.path(&format!("attest-{slot}.pem"));
        self.piv_tool_ok(&["-a", "attest", "-s", slot, "-o", &attestation]);
        let f9 = self.path("f9.pem");
        self.piv_tool_ok(&["-a", "read-certificate", "-s", "f9", "-o", &f9]);
        let verified = self.openssl_ok(&["verify", "-CAfile", &f9, "-partial_chain", &attestation]);
        assert!(verified.contains(": OK"), "{verified}");
        (attestation, f9)
    }

    /// Makes a certificate for `public` (PEM) issued by a throwaway CA (the tool's own
    /// selfsign fails with OpenSSL 3) and writes it to `<name>.pem`; returns the path.
    pub fn certificate_for(&self, public: &str, subject: &str, name: &str) -> String {
        let ca = self.ca.get_or_init(|| TestCa::new(self.dir.path()));
        let cert = ca.certify(Path::new(public), name, &Profile::new(subject));
        cert.to_str().expect("utf-8 temp path").to_owned()
    }

    /// Generates a key and imports a certificate for it into `slot`. Returns (public key
    /// PEM path, certificate PEM path).
    pub fn key_with_certificate(
        &self,
        slot: &str,
        algorithm: &str,
        subject: &str,
    ) -> (String, String) {
        let name = format!("{slot}-{algorithm}");
        let public = self.generate(slot, algorithm, &name);
        let cert = self.certificate_for(&public, subject, &name);
        let text = self.piv_tool_ok(&["-a", "import-certificate", "-s", slot, "-i", &cert]);
        assert!(
            text.contains("Successfully imported a new certificate"),
            "{text}"
        );
        (public, cert)
    }
}

/// What the PKCS#11 signature tests sign.
pub const MESSAGE: &[u8] = b"card-sim interop: the quick brown fox jumps over the lazy dog\n";

/// Signs MESSAGE with the key `id` and `mechanism`, returning the signature file's path.
pub fn pkcs11_sign(bench: &Bench, id: &str, mechanism: &str, extra: &[&str], name: &str) -> String {
    let input = bench.path("message");
    bench.write("message", MESSAGE);
    let sig = bench.path(name);
    let mut args = vec![
        "--login",
        "--pin",
        DEFAULT_PIN,
        "--sign",
        "--id",
        id,
        "-m",
        mechanism,
        "-i",
        &input,
        "-o",
        &sig,
    ];
    args.extend_from_slice(extra);
    bench.pkcs11_ok(&args);
    sig
}

pub fn openssl_verify(bench: &Bench, digest: &str, public: &str, sig: &str, sigopts: &[&str]) {
    let input = bench.path("message");
    let mut args = vec!["dgst", digest, "-verify", public, "-signature", sig];
    for opt in sigopts {
        args.extend_from_slice(&["-sigopt", opt]);
    }
    args.push(&input);
    let text = bench.openssl_ok(&args);
    assert!(text.contains("Verified OK"), "{text}");
}

/// Finds `reader`'s slot in a `pkcs11-tool -L` listing: its id (as printed, `0x5`) and the
/// lines describing its token.
pub fn parse_pkcs11_slot(listing: &str, reader: &str) -> Option<(String, String)> {
    let mut lines = listing.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("Slot ") else {
            continue;
        };
        let Some((head, description)) = rest.split_once("): ") else {
            continue;
        };
        if description.trim() != reader {
            continue;
        }
        let id = head.split_once('(')?.1.to_owned();
        let mut token = String::new();
        while let Some(next) = lines.peek() {
            if next.starts_with("Slot ") {
                break;
            }
            token.push_str(next);
            token.push('\n');
            lines.next();
        }
        return Some((id, token));
    }
    None
}

/// Whether `needle` occurs in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A cheap pseudo-random sequence (xorshift) seeded from the clock, for timing jitter.
pub struct Jitter(u64);

impl Jitter {
    pub fn new() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(1);
        Jitter((nanos as u64) | 1)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
