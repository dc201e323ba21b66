//! `smime-card` as a user runs it, against simulated cards (`--sim STATE`) in temporary
//! directories: what it prints, and its exit codes. What a card does runs on every flavour
//! of card (each YubiKey model, cards whose metadata is missing or partial, a plain PIV
//! card); what only some models do fails cleanly on the others.

use std::cell::OnceCell;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use apdu_spec::piv::Instruction;
use card_sim::{CardState, FileStore, Flavour};
use test_pki::{KeyType, Profile, TestCa};

const PIN: &str = "123456";
const PUK: &str = "12345678";
const DEFAULT_MGMT_KEY: &str = "010203040506070801020304050607080102030405060708";

/// What one run printed and how it ended.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().expect("exit code (not a signal)"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn describe(&self) -> String {
        format!(
            "exit code {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    #[track_caller]
    fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "{}", self.describe());
        self
    }

    #[track_caller]
    fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    fn stdout_has(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.describe()
        );
        self
    }
}

/// A simulated card in its own directory; every run passes secrets through environment
/// variables named on the command line, as a script would.
struct Sim {
    dir: tempfile::TempDir,
    state: PathBuf,
    ca: OnceCell<TestCa>,
}

impl Sim {
    /// A YubiKey, made factory-fresh on first use.
    fn new() -> Sim {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("card.json");
        Sim {
            dir,
            state,
            ca: OnceCell::new(),
        }
    }

    /// A card of `flavour`, written as `card-sim init` does. Not through `Card::open`: its
    /// lock could outlive it in a child another test forks meanwhile, and the card would
    /// then seem in use.
    fn of(flavour: Flavour) -> Sim {
        let sim = Sim::new();
        let card = CardState::factory_new(&flavour.config()).expect("a new card");
        FileStore::new(&sim.state)
            .create(&card)
            .expect("create the card's state file");
        sim
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = smime_card();
        cmd.arg("--sim").arg(&self.state).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("smime-card runs"))
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs with files limited to `bytes` (RLIMIT_FSIZE), as on a disk that fills up: a
    /// write past the limit fails (EFBIG) rather than killing the process (SIGXFSZ).
    fn run_with_file_limit(&self, args: &[&str], bytes: u64) -> Run {
        let mut cmd = smime_card();
        cmd.arg("--sim").arg(&self.state).args(args);
        // SAFETY: setrlimit and signal are async-signal-safe and touch no memory of the
        // parent.
        unsafe {
            cmd.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR
                    || libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == -1
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Run::from(cmd.output().expect("smime-card runs"))
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> Run {
        self.run(args).expect_code(0)
    }

    #[track_caller]
    fn ok_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_env(args, env).expect_code(0)
    }

    fn verify_pin(&self, pin: &str) -> Run {
        self.run_env(&["card", "verify-pin", "--pin-env", "PIN"], &[("PIN", pin)])
    }

    fn unblock_pin(&self, puk: &str, new_pin: &str) -> Run {
        self.run_env(
            &[
                "card",
                "unblock-pin",
                "--puk-env",
                "PUK",
                "--new-pin-env",
                "NEW",
            ],
            &[("PUK", puk), ("NEW", new_pin)],
        )
    }

    /// Generates a P-256 key in `slot` and returns the public key file.
    fn generate_p256(&self, slot: &str) -> PathBuf {
        let out = self.path(&format!("{slot}.pub.pem"));
        self.ok(&[
            "card",
            "generate",
            "--slot",
            slot,
            "--algorithm",
            "p256",
            "--out",
            out.to_str().unwrap(),
        ]);
        out
    }

    /// A throwaway CA in the test's directory, made on first use.
    fn ca(&self) -> &TestCa {
        self.ca.get_or_init(|| {
            let profile = Profile::ca("/CN=Test CA");
            TestCa::self_signed(self.dir.path(), "ca", KeyType::P256, &profile)
        })
    }

    /// A certificate for `public_key` (PEM) issued by the test CA, with no extensions (so
    /// no address); returns (PEM, DER) files.
    fn certificate(&self, public_key: &Path, common_name: &str) -> (PathBuf, PathBuf) {
        let profile = Profile::new(&format!("/CN={common_name}"));
        let pem = self.ca().certify(public_key, common_name, &profile);
        let der = self.path(&format!("{common_name}.der"));
        std::fs::write(&der, test_pki::der_of(&pem)).expect("write the DER certificate");
        (pem, der)
    }
}

/// The binary, with nothing from the caller's environment choosing a card, and no
/// terminal input.
fn smime_card() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smime-card"));
    cmd.env_remove("SMIME_CARD_READER")
        .env_remove("SMIME_CARD_SIM")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// The firmware version the flavour's model reports, as `card status` prints it.
fn firmware(flavour: Flavour) -> String {
    let [a, b, c] = flavour.profile().firmware().expect("a YubiKey model");
    format!("{a}.{b}.{c}")
}

/// The name of the management key algorithm a fresh card of `flavour` has.
fn factory_algorithm(flavour: Flavour) -> String {
    flavour.profile().factory_management_algorithm().to_string()
}

/// How `card status` shows `left` of 3 tries: with the total where the card tells it.
fn tries_left(flavour: Flavour, left: u8) -> String {
    if flavour.answers_metadata() {
        format!("{left} of 3 tries left")
    } else {
        format!("{left} tries left")
    }
}

card_sim::test_each_flavour!(
    status_of_a_fresh_card_shows_what_the_card_tells,
    generated_key_gets_a_certificate_that_exports_unchanged,
    certificate_for_another_key_or_an_empty_slot_is_refused_where_the_card_tells,
    wrong_pin_tells_the_tries_left_with_exit_code_4,
    pin_from_a_file_ignores_the_trailing_newline,
    blocked_pin_advises_unblocking_with_the_puk,
    unblock_pin_with_the_puk_sets_a_new_pin,
    change_pin_and_change_puk_take_effect,
    new_management_key_is_needed_afterwards_and_the_default_fails_with_exit_5,
    management_key_of_the_wrong_length_is_a_usage_error,
    reset_is_refused_until_pin_and_puk_are_blocked_and_then_restores_the_factory_state,
    attest_prints_the_slot_and_verifies_against_the_cards_attestation_certificate,
    attest_refuses_an_empty_slot,
    delete_removes_the_certificate_then_the_key,
    secrets_never_reach_the_output,
    sign_then_verify_from_the_command_line,
    a_failed_signature_loses_nothing_even_when_out_names_the_input,
    names_and_addresses_from_certificates_and_headers_are_printed_escaped,
    a_weak_or_degenerate_3des_management_key_is_refused_and_the_card_keeps_its_key,
);

/// The value after `label:` on the report line that starts with it.
fn field<'a>(report: &'a str, label: &str) -> &'a str {
    report
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label}:")))
        .unwrap_or_else(|| panic!("no {label:?} line in\n{report}"))
        .trim()
}

fn status_of_a_fresh_card_shows_what_the_card_tells(flavour: Flavour) {
    let sim = Sim::of(flavour);
    let status = sim.ok(&["card", "status"]).stdout;
    if flavour.yubikey_instructions() {
        let serial = field(&status, "Serial");
        if flavour.profile().knows(Instruction::GetSerial) {
            assert!(serial.parse::<u32>().is_ok(), "{status}");
        } else {
            assert_eq!(
                serial, "unknown (the card does not tell)",
                "before YubiKey 5"
            );
        }
        assert_eq!(field(&status, "Version"), firmware(flavour));
        let extensions = field(&status, "YubiKey ext.");
        assert!(extensions.starts_with("yes"), "{status}");
        assert_eq!(
            extensions.contains("metadata"),
            flavour.answers_metadata(),
            "{status}"
        );
        assert!(status.contains("Slot f9 (Attestation):"), "{status}");
    } else {
        assert_eq!(field(&status, "YubiKey ext."), "no (a plain PIV card)");
        assert_eq!(field(&status, "Serial"), "unknown (the card does not tell)");
    }
    let pin = field(&status, "PIN");
    let (puk, management_key) = (field(&status, "PUK"), field(&status, "Management key"));
    if flavour.answers_metadata() {
        for tries in [pin, puk] {
            assert!(
                tries.starts_with("3 of 3 tries left, factory default"),
                "{status}"
            );
        }
        let factory = format!("{}, factory default", factory_algorithm(flavour));
        assert!(management_key.starts_with(&factory), "{status}");
    } else {
        assert_eq!(pin, "3 tries left");
        assert_eq!(puk, "unknown (the card does not tell)");
        assert_eq!(management_key, "3DES", "the card accepts a 3DES request");
    }
    let guid = field(&status, "CHUID GUID");
    if flavour.profile().issues_chuid() {
        assert_eq!(guid.len(), 36, "{status}");
    } else {
        assert_eq!(guid, "none", "a YubiKey model has no CHUID: {status}");
    }
    assert!(!status.contains("Slot 9a"), "{status}");
}

fn generated_key_gets_a_certificate_that_exports_unchanged(flavour: Flavour) {
    let sim = Sim::of(flavour);
    let public_key = sim.generate_p256("9a");
    assert!(
        std::fs::read_to_string(&public_key)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
    let (pem, der) = sim.certificate(&public_key, "Alice");
    sim.ok(&[
        "card",
        "import-cert",
        "--slot",
        "9a",
        "--in",
        pem.to_str().unwrap(),
    ])
    .stderr_has("Stored the certificate in slot 9a");

    let status = sim.ok(&["card", "status"]).stdout;
    let slot = &status[status.find("Slot 9a (PIV Authentication):").expect(&status)..];
    if flavour.answers_metadata() {
        assert_eq!(field(slot, "  Key"), "ECC P-256, generated on the card");
    } else {
        assert_eq!(field(slot, "  Key"), "ECC P-256", "from the certificate");
    }
    if flavour.full_metadata() {
        assert_eq!(field(slot, "  PIN policy"), "once");
    } else {
        assert!(!slot.contains("PIN policy"), "{status}");
    }
    assert_eq!(field(slot, "  Subject"), "CN=Alice");
    assert_eq!(field(slot, "  Issuer"), "CN=Test CA");
    assert!(field(slot, "  Valid").contains(" to "), "{status}");

    let exported = sim.ok(&["card", "export-cert", "--slot", "9a"]).stdout;
    assert_eq!(exported, std::fs::read_to_string(&pem).unwrap());
    let out = sim.path("exported.der");
    sim.ok(&[
        "card",
        "export-cert",
        "--slot",
        "9a",
        "--der",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(out).unwrap(), std::fs::read(&der).unwrap());

    // DER in, PEM out: the same certificate.
    sim.ok(&[
        "card",
        "import-cert",
        "--slot",
        "9a",
        "--in",
        der.to_str().unwrap(),
    ]);
    let again = sim.ok(&["card", "export-cert", "--slot", "9a"]).stdout;
    assert_eq!(again, std::fs::read_to_string(&pem).unwrap());
}

fn certificate_for_another_key_or_an_empty_slot_is_refused_where_the_card_tells(flavour: Flavour) {
    let sim = Sim::of(flavour);
    let key_9a = sim.generate_p256("9a");
    sim.generate_p256("9c");
    let (pem, _) = sim.certificate(&key_9a, "Alice");
    let pem = pem.to_str().unwrap();
    let import_into = |slot| sim.run(&["card", "import-cert", "--slot", slot, "--in", pem]);
    if !flavour.answers_metadata() {
        // Nothing to check against: the certificate is stored.
        import_into("9c").expect_code(0);
        import_into("9d").expect_code(0);
        return;
    }
    import_into("9d")
        .expect_code(1)
        .stderr_has("slot 9d (Key Management) holds no key")
        .stderr_has("--force");
    if !flavour.full_metadata() {
        // The card tells that 9c holds a key, not which.
        import_into("9c").expect_code(0);
        return;
    }
    import_into("9c")
        .expect_code(1)
        .stderr_has("the certificate is for another key than the one in slot 9c")
        .stderr_has("--force");
    sim.run(&["card", "export-cert", "--slot", "9c"])
        .expect_code(1)
        .stderr_has("holds no certificate");
    sim.ok(&[
        "card",
        "import-cert",
        "--slot",
        "9c",
        "--in",
        pem,
        "--force",
    ]);
    sim.ok(&["card", "export-cert", "--slot", "9c"])
        .stdout_has("-----BEGIN CERTIFICATE-----");
}

fn wrong_pin_tells_the_tries_left_with_exit_code_4(flavour: Flavour) {
    let sim = Sim::of(flavour);
    sim.verify_pin("654321")
        .expect_code(4)
        .stderr_has("error: wrong PIN, 2 tries left");
    sim.verify_pin("654321")
        .expect_code(4)
        .stderr_has("error: wrong PIN, 1 try left");
    sim.verify_pin(PIN).expect_code(0);
    let status = sim.ok(&["card", "status"]).stdout;
    assert!(
        field(&status, "PIN").starts_with(&tries_left(flavour, 3)),
        "{status}"
    );
}

fn pin_from_a_file_ignores_the_trailing_newline(flavour: Flavour) {
    let sim = Sim::of(flavour);
    let file = sim.path("pin.txt");
    std::fs::write(&file, format!("{PIN}\n")).unwrap();
    sim.ok(&["card", "verify-pin", "--pin-file", file.to_str().unwrap()]);
    std::fs::write(&file, "000000\r\n").unwrap();
    sim.run(&["card", "verify-pin", "--pin-file", file.to_str().unwrap()])
        .expect_code(4);
}

fn blocked_pin_advises_unblocking_with_the_puk(flavour: Flavour) {
    let sim = Sim::of(flavour);
    for _ in 0..2 {
        sim.verify_pin("000000").expect_code(4);
    }
    sim.verify_pin("000000")
        .expect_code(4)
        .stderr_has("error: the PIN is blocked")
        .stderr_has("unblock it with `smime-card card unblock-pin` (needs the PUK)");
    // The right PIN does not help any more.
    sim.verify_pin(PIN)
        .expect_code(4)
        .stderr_has("the PIN is blocked");
}

fn unblock_pin_with_the_puk_sets_a_new_pin(flavour: Flavour) {
    let sim = Sim::of(flavour);
    for _ in 0..3 {
        sim.verify_pin("000000").expect_code(4);
    }
    sim.unblock_pin("87654321", "24681357")
        .expect_code(4)
        .stderr_has("wrong PUK, 2 tries left");
    sim.unblock_pin(PUK, "2468")
        .expect_code(2)
        .stderr_has("the new PIN must have 6 to 8 characters");
    sim.unblock_pin(PUK, "24681357")
        .expect_code(0)
        .stderr_has("unblocked");
    sim.verify_pin("24681357").expect_code(0);
    sim.verify_pin(PIN).expect_code(4);
}

fn change_pin_and_change_puk_take_effect(flavour: Flavour) {
    let sim = Sim::of(flavour);
    sim.run_env(
        &[
            "card",
            "change-pin",
            "--pin-env",
            "OLD",
            "--new-pin-env",
            "NEW",
        ],
        &[("OLD", "999999"), ("NEW", "11223344")],
    )
    .expect_code(4)
    .stderr_has("wrong PIN, 2 tries left");
    sim.ok_env(
        &[
            "card",
            "change-pin",
            "--pin-env",
            "OLD",
            "--new-pin-env",
            "NEW",
        ],
        &[("OLD", PIN), ("NEW", "11223344")],
    );
    sim.verify_pin("11223344").expect_code(0);
    sim.verify_pin(PIN).expect_code(4);

    let new_puk = sim.path("puk.txt");
    std::fs::write(&new_puk, "55667788\n").unwrap();
    sim.ok_env(
        &[
            "card",
            "change-puk",
            "--puk-env",
            "OLD",
            "--new-puk-file",
            new_puk.to_str().unwrap(),
        ],
        &[("OLD", PUK)],
    );
    let status = sim.ok(&["card", "status"]).stdout;
    let puk = if flavour.answers_metadata() {
        "3 of 3 tries left"
    } else {
        "unknown (the card does not tell)"
    };
    assert_eq!(field(&status, "PUK"), puk, "{status}");
    sim.unblock_pin(PUK, "13572468")
        .expect_code(4)
        .stderr_has("wrong PUK");
    sim.unblock_pin("55667788", "13572468").expect_code(0);
    sim.verify_pin("13572468").expect_code(0);
}

const NEW_AES192_KEY: &str = "00112233445566778899aabbccddeeff0011223344556677";

/// `card set-mgmt-key` to [`NEW_AES192_KEY`], with `extra` options.
fn set_aes192_mgmt_key<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let set = [
        "card",
        "set-mgmt-key",
        "--new-key",
        NEW_AES192_KEY,
        "--algorithm",
        "aes192",
    ];
    [&set[..], extra].concat()
}

fn new_management_key_is_needed_afterwards_and_the_default_fails_with_exit_5(flavour: Flavour) {
    let sim = Sim::of(flavour);
    let new_key = NEW_AES192_KEY;
    let set = set_aes192_mgmt_key(&[]);
    if !flavour.yubikey_instructions() {
        sim.run(&set)
            .expect_code(6)
            .stderr_has("this card does not support SET MANAGEMENT KEY");
        return;
    }
    if !flavour
        .profile()
        .supports_management_algorithm(apdu_spec::piv::Algorithm::Aes192)
    {
        // AES came with YubiKey 5.4: the card refuses the key.
        sim.run(&set).expect_code(1).stderr_has("6A80");
        return;
    }
    sim.ok(&set).stderr_has("AES-192");
    let status = sim.ok(&["card", "status"]).stdout;
    let shown = match flavour {
        _ if flavour.full_metadata() => "AES-192, not the factory default, touch never",
        Flavour::MetadataPartial => "AES-192, not the factory default",
        _ => "AES-192",
    };
    assert_eq!(field(&status, "Management key"), shown);

    let generate = ["card", "generate", "--slot", "9d", "--algorithm", "p384"];
    sim.run(&generate)
        .expect_code(5)
        .stderr_has("authenticating with the factory default management key: wrong management key")
        .stderr_has("--mgmt-key-env");
    let with_key: Vec<&str> = generate
        .iter()
        .copied()
        .chain(["--mgmt-key-env", "MGMT"])
        .collect();
    sim.run_env(&with_key, &[("MGMT", DEFAULT_MGMT_KEY)])
        .expect_code(5)
        .stderr_has("authenticating with the given management key");
    sim.ok_env(&with_key, &[("MGMT", new_key)])
        .stdout_has("-----BEGIN PUBLIC KEY-----");
    let status = sim.ok(&["card", "status"]).stdout;
    assert_eq!(
        status.contains("Slot 9d (Key Management):"),
        flavour.answers_metadata(),
        "a key without a certificate is known only from metadata: {status}"
    );
}

fn management_key_of_the_wrong_length_is_a_usage_error(flavour: Flavour) {
    let sim = Sim::of(flavour);
    sim.run(&["card", "set-mgmt-key", "--new-key", "0011"])
        .expect_code(2)
        .stderr_has(&format!(
            "a {} management key has 24 bytes (48 hex digits)",
            factory_algorithm(flavour)
        ));
    sim.run(&["card", "set-mgmt-key", "--new-key", "not hex at all"])
        .expect_code(2)
        .stderr_has("must be given in hex");
    sim.run(&["card", "generate", "--slot", "9a", "--algorithm", "aes128"])
        .expect_code(2);
}

fn reset_is_refused_until_pin_and_puk_are_blocked_and_then_restores_the_factory_state(
    flavour: Flavour,
) {
    let sim = Sim::of(flavour);
    sim.generate_p256("9a");
    if !flavour.yubikey_instructions() {
        sim.run(&["card", "reset"])
            .expect_code(6)
            .stderr_has("does not support RESET");
        return;
    }
    let puk = if flavour.answers_metadata() {
        "the PUK has 3 tries left"
    } else {
        "the PUK may not be blocked"
    };
    sim.run(&["card", "reset"])
        .expect_code(1)
        .stderr_has("resets only when both the PIN and the PUK are blocked")
        .stderr_has(&format!("the PIN has 3 tries left, {puk}"))
        .stderr_has("unblock-pin");
    for _ in 0..3 {
        sim.verify_pin("000000").expect_code(4);
    }
    for _ in 0..2 {
        sim.unblock_pin("00000000", "13572468").expect_code(4);
    }
    sim.unblock_pin("00000000", "13572468")
        .expect_code(4)
        .stderr_has("the PUK is blocked")
        .stderr_has("smime-card card reset");
    let status = sim.ok(&["card", "status"]).stdout;
    assert!(field(&status, "PIN").starts_with("blocked"), "{status}");
    if flavour.answers_metadata() {
        assert!(field(&status, "PUK").starts_with("blocked"), "{status}");
    }

    sim.ok(&["card", "reset"]).stderr_has("was reset");
    let status = sim.ok(&["card", "status"]).stdout;
    assert!(
        field(&status, "PIN").starts_with(&tries_left(flavour, 3)),
        "{status}"
    );
    assert!(!status.contains("Slot 9a"), "{status}");
    sim.verify_pin(PIN).expect_code(0);
}

fn attest_prints_the_slot_and_verifies_against_the_cards_attestation_certificate(flavour: Flavour) {
    let sim = Sim::of(flavour);
    sim.ok(&[
        "card",
        "generate",
        "--slot",
        "9c",
        "--algorithm",
        "p256",
        "--pin-policy",
        "always",
        "--touch-policy",
        "cached",
    ]);
    if !flavour.yubikey_instructions() {
        sim.run(&["card", "attest", "--slot", "9c"])
            .expect_code(6)
            .stderr_has("this card does not support attestation");
        return;
    }
    let status = sim.ok(&["card", "status"]).stdout;
    let serial = if flavour.profile().knows(Instruction::GetSerial) {
        field(&status, "Serial").to_string()
    } else {
        // The PIV application of a YubiKey 4 has no GET SERIAL: its attestations tell it.
        FileStore::new(&sim.state)
            .load()
            .unwrap()
            .serial
            .to_string()
    };

    let out = sim.path("attestation.pem");
    let report = sim
        .ok(&[
            "card",
            "attest",
            "--slot",
            "9c",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout;
    assert_eq!(field(&report, "Slot"), "9c (Digital Signature)");
    assert_eq!(field(&report, "Subject"), "CN=YubiKey PIV Attestation 9c");
    assert_eq!(field(&report, "Firmware"), firmware(flavour));
    assert_eq!(field(&report, "Serial"), serial);
    assert_eq!(field(&report, "PIN policy"), "always");
    assert_eq!(field(&report, "Touch policy"), "cached");
    assert!(field(&report, "Verified").starts_with("signed by the card's attestation key"));
    let cert = std::fs::read_to_string(&out).unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"), "{cert}");

    // The F9 certificate as the trusted root verifies; an unrelated CA does not.
    let f9 = sim.path("f9.pem");
    sim.ok(&[
        "card",
        "export-cert",
        "--slot",
        "f9",
        "--out",
        f9.to_str().unwrap(),
    ]);
    sim.ok(&[
        "card",
        "attest",
        "--slot",
        "9c",
        "--roots",
        f9.to_str().unwrap(),
    ])
    .stdout_has("whose certificate a given root issued");
    let ca = sim.ca().cert();
    sim.run(&[
        "card",
        "attest",
        "--slot",
        "9c",
        "--roots",
        ca.to_str().unwrap(),
    ])
    .expect_code(1)
    .stderr_has("not issued by a trusted root");
}

fn attest_refuses_an_empty_slot(flavour: Flavour) {
    let sim = Sim::of(flavour);
    let refused = sim.run(&["card", "attest", "--slot", "9a"]);
    if flavour.yubikey_instructions() {
        refused.expect_code(1).stderr_has("slot 9a");
    } else {
        refused.expect_code(6);
    }
}

fn delete_removes_the_certificate_then_the_key(flavour: Flavour) {
    let sim = Sim::of(flavour);
    let public_key = sim.generate_p256("9a");
    let (pem, _) = sim.certificate(&public_key, "Alice");
    sim.ok(&[
        "card",
        "import-cert",
        "--slot",
        "9a",
        "--in",
        pem.to_str().unwrap(),
    ]);
    sim.run(&["card", "delete", "--slot", "9a"]).expect_code(2);

    sim.ok(&["card", "delete", "--slot", "9a", "--cert"]);
    sim.run(&["card", "export-cert", "--slot", "9a"])
        .expect_code(1)
        .stderr_has("slot 9a (PIV Authentication) holds no certificate");
    let status = sim.ok(&["card", "status"]).stdout;
    if flavour.answers_metadata() {
        let slot = &status[status.find("Slot 9a").expect(&status)..];
        let key = if flavour.full_metadata() {
            "ECC P-256, generated on the card"
        } else {
            "unknown (the card does not tell, and no certificate names it), generated on the card"
        };
        assert_eq!(field(slot, "  Key"), key);
        assert_eq!(field(slot, "  Certificate"), "none");
    } else {
        assert!(
            !status.contains("Slot 9a"),
            "nothing tells of the key: {status}"
        );
    }

    if !flavour.profile().knows(Instruction::MoveKey) {
        sim.run(&["card", "delete", "--slot", "9a", "--key"])
            .expect_code(6)
            .stderr_has("this card does not support deleting or moving keys");
        return;
    }
    sim.ok(&["card", "delete", "--slot", "9a", "--key"]);
    let status = sim.ok(&["card", "status"]).stdout;
    assert!(!status.contains("Slot 9a"), "{status}");
}

#[test]
fn deleting_a_key_on_a_plain_piv_card_is_unsupported_with_exit_6() {
    let sim = Sim::of(Flavour::PlainPiv);
    sim.run(&["card", "delete", "--slot", "9a", "--key", "--cert"])
        .expect_code(6)
        .stderr_has("this card does not support deleting or moving keys");
    sim.run(&["card", "reset"]).expect_code(6);
}

#[test]
fn unknown_reader_is_a_clear_error_with_exit_3() {
    let run = Run::from(
        smime_card()
            .args(["--reader", "nonexistent-reader-xyz", "card", "status"])
            .output()
            .expect("smime-card runs"),
    )
    .expect_code(3);
    // pcscd may or may not run here: either it lists its readers, or it is not reachable.
    assert!(
        run.stderr
            .contains("no reader matches 'nonexistent-reader-xyz'")
            || run.stderr.contains("is pcscd running?")
            || run.stderr.contains("no smart card readers found"),
        "{}",
        run.describe()
    );
}

#[test]
fn reader_and_sim_together_are_a_usage_error() {
    let sim = Sim::new();
    sim.run(&["--reader", "x", "card", "status"])
        .expect_code(2)
        .stderr_has("cannot be used with");
}

#[test]
fn an_unset_secret_variable_is_a_usage_error_that_names_it() {
    let sim = Sim::new();
    sim.run(&["card", "verify-pin", "--pin-env", "SMIME_CARD_TEST_UNSET"])
        .expect_code(2)
        .stderr_has("the environment variable SMIME_CARD_TEST_UNSET (for the PIN) is not set");
}

#[test]
fn missing_secret_source_without_a_terminal_says_how_to_give_it() {
    let sim = Sim::new();
    let mut cmd = smime_card();
    cmd.arg("--sim")
        .arg(&sim.state)
        .args(["card", "verify-pin"]);
    // A new session has no controlling terminal, as under cron or CI: /dev/tty cannot be
    // opened even when the tests run in one.
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| match libc::setsid() {
            -1 => Err(std::io::Error::last_os_error()),
            _ => Ok(()),
        });
    }
    Run::from(cmd.output().expect("smime-card runs"))
        .expect_code(2)
        .stderr_has("cannot ask for the PIN on the terminal")
        .stderr_has("give it with --pin-env NAME or --pin-file FILE");
}

#[test]
fn help_documents_the_exit_codes() {
    let run = Run::from(smime_card().arg("--help").output().unwrap()).expect_code(0);
    for line in [
        "3  no reader, no card, or not a PIV card",
        "4  wrong or blocked PIN or PUK",
        "5  wrong management key",
        "6  the card does not support the operation",
        "8  the message cannot be decrypted",
    ] {
        assert!(run.stdout.contains(line), "{}", run.describe());
    }
}

fn secrets_never_reach_the_output(flavour: Flavour) {
    let sim = Sim::of(flavour);
    let secret_pin = "975310";
    let run = sim
        .run_env(
            &["card", "verify-pin", "--pin-env", "PIN"],
            &[("PIN", secret_pin), ("RUST_LOG", "trace")],
        )
        .expect_code(4);
    assert!(
        !run.stdout.contains(secret_pin) && !run.stderr.contains(secret_pin),
        "{}",
        run.describe()
    );
    let hex: String = secret_pin.bytes().map(|b| format!("{b:02x}")).collect();
    let output = format!("{}{}", run.stdout, run.stderr).to_lowercase();
    assert!(
        !output.contains(&hex) && !output.replace(' ', "").contains(&hex),
        "{}",
        run.describe()
    );
}

/// A card of `flavour` with a P-256 key and certificate in 9c, and a message to sign.
fn signing_card(flavour: Flavour) -> Sim {
    let sim = Sim::of(flavour);
    let public = sim.generate_p256("9c");
    let (pem, _) = sim.certificate(&public, "Alice");
    import_cert(&sim, "9c", &pem);
    // No From header: the test CA issues certificates without addresses.
    std::fs::write(sim.path("mail.txt"), "Subject: s\n\nbody text\n").unwrap();
    sim
}

fn sign_then_verify_from_the_command_line(flavour: Flavour) {
    let sim = signing_card(flavour);
    let (mail, signed) = (sim.path("mail.txt"), sim.path("signed.eml"));
    sim.ok_env(
        &[
            "sign",
            "--in",
            mail.to_str().unwrap(),
            "--out",
            signed.to_str().unwrap(),
            "--pin-env",
            "PIN",
        ],
        &[("PIN", "123456")],
    );
    let ca = sim.ca().cert();
    sim.ok(&[
        "verify",
        "--in",
        signed.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
    ])
    .stdout_has("Good signature");
    let forged = sim.path("forged.eml");
    std::fs::write(
        &forged,
        std::fs::read_to_string(&signed)
            .unwrap()
            .replace("body text", "body test"),
    )
    .unwrap();
    sim.run(&[
        "verify",
        "--in",
        forged.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
    ])
    .expect_code(7)
    .stderr_has("changed after it was signed");
}

fn a_failed_signature_loses_nothing_even_when_out_names_the_input(flavour: Flavour) {
    let sim = signing_card(flavour);
    let mail = sim.path("mail.txt");
    let before = std::fs::read(&mail).unwrap();
    let path = mail.to_str().unwrap();
    sim.run_env(
        &["sign", "--in", path, "--out", path, "--pin-env", "PIN"],
        &[("PIN", "000000")],
    )
    .expect_code(4)
    .stderr_has("wrong PIN");
    assert_eq!(
        std::fs::read(&mail).unwrap(),
        before,
        "the message is intact"
    );
    // Signing in place works once the PIN is right.
    sim.ok_env(
        &["sign", "--in", path, "--out", path, "--pin-env", "PIN"],
        &[("PIN", "123456")],
    );
    assert!(
        std::fs::read_to_string(&mail)
            .unwrap()
            .contains("multipart/signed")
    );
}

/// Whether `text` holds a character a terminal would obey rather than show: a control
/// character other than the line feed, or a bidi override or isolate.
fn steers_a_terminal(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

fn names_and_addresses_from_certificates_and_headers_are_printed_escaped(flavour: Flavour) {
    let sim = Sim::of(flavour);
    let public = sim.generate_p256("9c");
    // openssl reads -subj as Latin-1: the UTF-8 bytes C2 9B of U+009B (CSI, a C1
    // control) become U+00C2 U+009B in the certificate.
    let profile = Profile::signing("/CN=Eve \u{9b}2J", "eve@example.org")
        .extension("subjectAltName=email:eve@example.org,email:eve\x1b[2J@example.org");
    let pem = sim.ca().certify(&public, "eve", &profile);
    let pem = pem.to_str().unwrap();
    sim.ok(&["card", "import-cert", "--slot", "9c", "--in", pem]);
    let (ca, other) = (sim.ca().cert(), sim.path("other"));
    std::fs::create_dir(&other).unwrap();
    let other = TestCa::new(&other).cert();
    let (mail, signed) = (sim.path("mail.txt"), sim.path("signed.eml"));
    let verify = |from: &str, ca: &Path| {
        std::fs::write(&mail, format!("From: {from}\nSubject: s\n\nbody\n")).unwrap();
        let (mail, signed) = (mail.to_str().unwrap(), signed.to_str().unwrap());
        let sign = ["sign", "--in", mail, "--out", signed, "--pin-env", "PIN"];
        sim.ok_env(&sign, &[("PIN", PIN)]);
        let run = sim.run(&["verify", "--in", signed, "--ca", ca.to_str().unwrap()]);
        assert!(
            !steers_a_terminal(&run.stdout) && !steers_a_terminal(&run.stderr),
            "{:?}",
            run.describe()
        );
        run
    };

    let good = verify("eve@example.org", &ca).expect_code(0).stdout;
    assert_eq!(field(&good, "Signer"), "CN=Eve \u{c2}\\u{9b}2J");
    assert!(
        field(&good, "Addresses").starts_with("eve@example.org, eve\\u{1b}[2J@example.org"),
        "{good}"
    );
    let status = sim.ok(&["card", "status"]).stdout;
    assert!(!steers_a_terminal(&status), "{status:?}");
    assert!(status.contains("CN=Eve \u{c2}\\u{9b}2J"), "{status}");

    // In the reasons a signature is refused: names, and addresses from either side.
    verify("eve@example.org", &other)
        .expect_code(7)
        .stderr_has("(CN=Eve \u{c2}\\u{9b}2J)");
    verify("\"eve\x1b[2J\r\"@example.org", &ca)
        .expect_code(7)
        .stderr_has("the From address \"eve\\u{1b}[2J\\u{d}\"@example.org is not")
        .stderr_has("eve\\u{1b}[2J@example.org)");
    verify("eve\u{202e}gro.elpmaxe@example.org", &ca)
        .expect_code(7)
        .stderr_has("eve\\u{202e}gro.elpmaxe@example.org");
}

fn a_weak_or_degenerate_3des_management_key_is_refused_and_the_card_keeps_its_key(
    flavour: Flavour,
) {
    let sim = Sim::of(flavour);
    for (new_key, why) in [
        // K1 = K2 = K3: the factory key itself.
        (
            DEFAULT_MGMT_KEY,
            "first and second parts are the same DES key",
        ),
        (
            "00112233445566770011223344556677 8899aabbccddeeff",
            "first and second parts are the same DES key",
        ),
        // K2 = K3 but for the parity bits.
        (
            "0011223344556677 8899aabbccddeeff 8998abbacddceffe",
            "second and third parts are the same DES key",
        ),
        (
            "0011223344556677 01fe01fe01fe01fe 8899aabbccddeeff",
            "second part is a DES weak or semi-weak key",
        ),
        (
            "1e1e1e1e0f0f0f0f 0011223344556677 8899aabbccddeeff",
            "first part is a DES weak or semi-weak key",
        ),
    ] {
        let new_key = new_key.replace(' ', "");
        let set = ["card", "set-mgmt-key", "--algorithm", "3des", "--new-key"];
        sim.run(&[&set[..], &[&new_key]].concat())
            .expect_code(2)
            .stderr_has(why)
            .stderr_has("choose another");
    }
    let status = sim.ok(&["card", "status"]).stdout;
    let kept = if flavour.answers_metadata() {
        format!("{}, factory default", factory_algorithm(flavour))
    } else {
        "3DES".into()
    };
    assert!(
        field(&status, "Management key").starts_with(&kept),
        "{status}"
    );
    // Authenticating with a weak key still works: the factory 3DES key is one (and the
    // factory AES-192 key of a 5.7 has its bytes).
    let generate = ["card", "generate", "--slot", "9a", "--algorithm", "p256"];
    let with_key = [&generate[..], &["--mgmt-key-env", "MGMT"]].concat();
    sim.ok(&generate);
    sim.ok_env(&with_key, &[("MGMT", DEFAULT_MGMT_KEY)]);

    // Two-key 3DES (K1 = K3) is not degenerate.
    let two_key = "00112233445566778899aabbccddeeff0011223344556677";
    let set = ["card", "set-mgmt-key", "--algorithm", "3des", "--new-key"];
    if !flavour.yubikey_instructions() {
        sim.run(&[&set[..], &[two_key]].concat()).expect_code(6);
        return;
    }
    sim.ok(&[&set[..], &[two_key]].concat());
    sim.ok_env(&with_key, &[("MGMT", two_key)]);
}

#[test]
fn an_out_file_is_written_whole_or_not_at_all() {
    let sim = Sim::new();
    sim.generate_p256("9c");
    let (fresh, existing) = (sim.path("fresh.pem"), sim.path("existing.pem"));
    std::fs::write(&existing, "kept\n").unwrap();
    let unchanged = || {
        assert!(!fresh.exists(), "nothing is written to a new path");
        assert_eq!(std::fs::read_to_string(&existing).unwrap(), "kept\n");
        let names: Vec<String> = std::fs::read_dir(sim.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(".tmp")),
            "no temporary file is left: {names:?}"
        );
    };
    // The disk fills up halfway through the output.
    for command in [
        &["card", "export-cert", "--slot", "f9"][..],
        &["card", "attest", "--slot", "9c"],
    ] {
        for out in [&fresh, &existing] {
            let args = [command, &["--out", out.to_str().unwrap()]].concat();
            sim.run_with_file_limit(&args, 100)
                .expect_code(1)
                .stderr_has("File too large");
            unchanged();
        }
    }
    // The operation fails before anything is written.
    for out in [&fresh, &existing] {
        let args = ["card", "export-cert", "--slot", "9c", "--out"];
        sim.run(&[&args[..], &[out.to_str().unwrap()]].concat())
            .expect_code(1)
            .stderr_has("holds no certificate");
        unchanged();
    }
    let generate = ["card", "generate", "--slot", "9a", "--algorithm", "p256"];
    for out in [&fresh, &existing] {
        let with_key = [&generate[..], &["--mgmt-key-env", "MGMT", "--out"]].concat();
        sim.run_env(
            &[&with_key[..], &[out.to_str().unwrap()]].concat(),
            &[("MGMT", "00112233445566778899aabbccddeeff0011223344556677")],
        )
        .expect_code(5);
        unchanged();
    }
    // Whole outputs replace the file.
    let args = ["card", "export-cert", "--slot", "f9", "--out"];
    sim.ok(&[&args[..], &[existing.to_str().unwrap()]].concat());
    assert!(
        std::fs::read_to_string(&existing)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
}

/// A recipient of encrypted mail with a P-256 key: `<name>.pem` and `<name>.key` in the
/// test's directory.
fn recipient(sim: &Sim, name: &str) -> PathBuf {
    let profile = Profile::encryption(&format!("/CN={name}"), &format!("{name}@example.org"))
        .extension("keyUsage=critical,keyAgreement");
    sim.ca().issue(name, KeyType::P256, &profile)
}

/// What `openssl cms -decrypt` makes of `file` with `name`'s key.
#[track_caller]
fn openssl_decrypt(sim: &Sim, file: &Path, name: &str) -> Vec<u8> {
    let decrypted = sim.path("decrypted.eml");
    let (cert, key) = (
        sim.path(&format!("{name}.pem")),
        sim.path(&format!("{name}.key")),
    );
    let args = [file, &cert, &key, &decrypted].map(|p| p.to_str().unwrap());
    test_pki::openssl_ok(
        sim.dir.path(),
        &[
            "cms", "-decrypt", "-in", args[0], "-recip", args[1], "-inkey", args[2], "-out",
            args[3],
        ],
    );
    std::fs::read(&decrypted).unwrap()
}

#[test]
fn encrypt_for_a_certificate_and_openssl_opens_it() {
    let sim = Sim::new();
    let bob = recipient(&sim, "Bob");
    let (mail, encrypted) = (sim.path("mail.txt"), sim.path("encrypted.eml"));
    std::fs::write(
        &mail,
        "To: bob@example.org\nSubject: plans\n\nsecret text\n",
    )
    .unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    sim.ok(&[
        "encrypt",
        "--in",
        &path(&mail),
        "--to",
        &path(&bob),
        "--out",
        &path(&encrypted),
        "--cipher",
        "aes256-gcm",
    ])
    .stderr_has("with aes256-gcm for CN=Bob; wrote");
    let sent = std::fs::read_to_string(&encrypted).unwrap();
    assert!(
        sent.starts_with("To: bob@example.org\r\nSubject: plans\r\n"),
        "{sent}"
    );
    assert!(sent.contains("smime-type=authEnveloped-data"), "{sent}");
    assert!(!sent.contains("secret text"), "{sent}");
    assert_eq!(
        openssl_decrypt(&sim, &encrypted, "Bob"),
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\nsecret text\r\n"
    );
}

#[test]
fn encrypt_self_adds_the_cards_key_management_certificate() {
    let sim = Sim::new();
    let mail = sim.path("mail.txt");
    std::fs::write(&mail, "Subject: notes\n\nto myself\n").unwrap();
    let (mail, out) = (mail.to_str().unwrap(), sim.path("encrypted.eml"));
    let out = out.to_str().unwrap();
    sim.run(&["encrypt", "--in", mail, "--self", "--out", out])
        .expect_code(2)
        .stderr_has("slot 9d (Key Management) holds no certificate");
    let public = sim.generate_p256("9d");
    let (own, _) = sim.certificate(&public, "Alice");
    sim.ok(&[
        "card",
        "import-cert",
        "--slot",
        "9d",
        "--in",
        own.to_str().unwrap(),
    ]);
    let bob = recipient(&sim, "Bob");
    let bob = bob.to_str().unwrap();
    sim.ok(&["encrypt", "--in", mail, "--to", bob, "--self", "--out", out])
        .stderr_has("with aes256-cbc for CN=Bob; CN=Alice; wrote");
    let printed = test_pki::openssl_ok(sim.dir.path(), &["cms", "-cmsout", "-print", "-in", out]);
    assert_eq!(printed.matches("d.kari:").count(), 2, "{printed}");
    assert!(openssl_decrypt(&sim, Path::new(out), "Bob").ends_with(b"to myself\r\n"));
    sim.ok(&["encrypt", "--in", mail, "--self", "--out", out])
        .stderr_has("for CN=Alice; wrote");
    sim.run(&["encrypt", "--in", mail, "--out", out])
        .expect_code(2)
        .stderr_has("--to");
}

#[test]
fn sign_with_encrypt_to_signs_then_encrypts_under_the_same_headers() {
    let sim = signing_card(Flavour::YubiKey);
    let bob = recipient(&sim, "Bob");
    let (mail, sent) = (sim.path("mail.txt"), sim.path("sent.eml"));
    let (mail, sent_path) = (mail.to_str().unwrap(), sent.to_str().unwrap());
    let sign = ["sign", "--in", mail, "--out", sent_path, "--pin-env", "PIN"];
    sim.run_env(
        &[&sign[..], &["--cipher", "aes128-cbc"]].concat(),
        &[("PIN", PIN)],
    )
    .expect_code(2)
    .stderr_has("add --encrypt-to CERT or --encrypt-self");
    assert!(!sent.exists());
    let encrypt = [
        "--encrypt-to",
        bob.to_str().unwrap(),
        "--cipher",
        "aes128-gcm",
    ];
    sim.ok_env(&[&sign[..], &encrypt[..]].concat(), &[("PIN", PIN)])
        .stderr_has("Signed")
        .stderr_has("Encrypted");
    let text = std::fs::read_to_string(&sent).unwrap();
    assert!(
        text.starts_with("Subject: s\r\nMIME-Version: 1.0\r\n"),
        "{text}"
    );
    assert!(text.contains("smime-type=authEnveloped-data"), "{text}");
    let signed = String::from_utf8(openssl_decrypt(&sim, &sent, "Bob")).unwrap();
    assert!(
        signed.starts_with("Content-Type: multipart/signed;"),
        "{signed}"
    );
    let decrypted = sim.path("decrypted.eml");
    let ca = sim.ca().cert();
    sim.ok(&[
        "verify",
        "--in",
        decrypted.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
    ])
    .stdout_has("Good signature");
}

/// The size of [`large_mail`]: as the bar shows it, "4.00 MiB".
const LARGE_MAIL_BYTES: usize = 4 << 20;

/// A mail of [`LARGE_MAIL_BYTES`] in `sim`'s directory, large enough that signing it
/// takes a moment.
fn large_mail(sim: &Sim) -> PathBuf {
    let line = "a line of a long mail, there to make signing it take a moment\n";
    let mut mail = String::from("Subject: large\n\n");
    while mail.len() < LARGE_MAIL_BYTES {
        mail.push_str(line);
    }
    mail.truncate(LARGE_MAIL_BYTES);
    let path = sim.path("large.txt");
    std::fs::write(&path, mail).expect("write the large mail");
    path
}

/// `sign`'s arguments for `mail` into `out`, the PIN from $PIN.
fn sign_args<'a>(mail: &'a Path, out: &'a Path) -> [&'a str; 7] {
    let (mail, out) = (mail.to_str().unwrap(), out.to_str().unwrap());
    ["sign", "--in", mail, "--out", out, "--pin-env", "PIN"]
}

impl Sim {
    /// Runs with stdout and stderr on a pseudo-terminal (util-linux `script`), as in a
    /// terminal window; `stdout` is all the terminal was sent.
    fn run_on_a_terminal(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let quoted = |arg: &str| format!("'{}'", arg.replace('\'', r"'\''"));
        let mut command = quoted(env!("CARGO_BIN_EXE_smime-card"));
        for arg in [&["--sim", self.state.to_str().unwrap()], args].concat() {
            command = format!("{command} {}", quoted(arg));
        }
        let mut script = Command::new("script");
        // -e: smime-card's exit code; the session's record goes nowhere.
        script.args(["-q", "-e", "-c", &command, "/dev/null"]);
        // A terminal that draws (not TERM=dumb), whatever the caller's environment.
        script
            .env_remove("SMIME_CARD_READER")
            .env_remove("SMIME_CARD_SIM")
            .env_remove("RUST_LOG")
            .env("TERM", "xterm")
            .stdin(Stdio::null());
        for (k, v) in env {
            script.env(k, v);
        }
        Run::from(script.output().expect("util-linux script runs"))
    }
}

/// The part of `shown` after the last drawing of the bar or spinner showing `bar`: it
/// must be cleared before anything else is printed.
#[track_caller]
fn after_the_cleared_bar<'a>(shown: &'a Run, bar: &str) -> &'a str {
    let last = shown
        .stdout
        .rfind(bar)
        .unwrap_or_else(|| panic!("no {bar:?} bar:\n{}", shown.describe()));
    let rest = &shown.stdout[last..];
    let clear = "\r\x1b[2K";
    let cleared = rest
        .find(clear)
        .unwrap_or_else(|| panic!("the last bar is not cleared:\n{}", shown.describe()));
    &rest[cleared + clear.len()..]
}

#[test]
fn a_large_sign_prints_no_progress_when_stderr_is_not_a_terminal() {
    let sim = signing_card(Flavour::YubiKey);
    let mail = large_mail(&sim);
    let signed = sim.path("large.eml");
    let run = sim
        .run_env(
            &sign_args(&mail, &signed),
            // A terminal type that draws: only stderr not being a terminal hides the bar.
            &[("PIN", PIN), ("TERM", "xterm")],
        )
        .expect_code(0);
    // One line, the result: no bar, no carriage return, no escape sequence.
    assert!(!steers_a_terminal(&run.stderr), "{}", run.describe());
    assert!(!run.stderr.contains("MiB"), "{}", run.describe());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.describe());
    assert!(run.stderr.starts_with("Signed "), "{}", run.describe());
}

#[test]
fn a_large_sign_on_a_terminal_shows_a_bar_cleared_before_the_result_or_the_error() {
    let sim = signing_card(Flavour::YubiKey);
    let mail = large_mail(&sim);
    let signed = sim.path("large.eml");
    let sign = sign_args(&mail, &signed);
    let shown = sim.run_on_a_terminal(&sign, &[("PIN", PIN)]).expect_code(0);
    // The bar knows the file's size, which nothing else prints this way.
    assert!(
        shown.stdout.contains("/4.00 MiB "),
        "no size in the bar:\n{}",
        shown.describe()
    );
    let after = after_the_cleared_bar(&shown, "Signing [");
    assert!(after.starts_with("Signed "), "{}", shown.describe());
    assert!(
        std::fs::read_to_string(&signed)
            .unwrap()
            .contains("multipart/signed")
    );

    // The card refuses the PIN only once the message is read: the error stands alone too.
    std::fs::remove_file(&signed).unwrap();
    let refused = sim
        .run_on_a_terminal(&sign, &[("PIN", "000000")])
        .expect_code(4);
    let after = after_the_cleared_bar(&refused, "Signing [");
    assert!(after.starts_with("error: "), "{}", refused.describe());
    assert!(after.contains("wrong PIN"), "{}", refused.describe());
    assert!(!signed.exists(), "nothing is written");
}

#[test]
fn key_generation_on_a_terminal_shows_a_spinner_cleared_before_the_key() {
    let sim = Sim::of(Flavour::YubiKey);
    let args = ["card", "generate", "--slot", "9a", "--algorithm", "p256"];
    let shown = sim.run_on_a_terminal(&args, &[]).expect_code(0);
    let after = after_the_cleared_bar(&shown, "Generating an ECC P-256 key in slot 9a");
    assert!(
        after.starts_with("Generated an ECC P-256 key in slot 9a"),
        "{}",
        shown.describe()
    );
    assert!(
        after.contains("-----BEGIN PUBLIC KEY-----"),
        "{}",
        shown.describe()
    );
    // Without a terminal: the note and the key alone.
    let plain = sim.ok(&args);
    assert!(!steers_a_terminal(&plain.stderr), "{}", plain.describe());
    assert!(!plain.stderr.contains("Generating"), "{}", plain.describe());
}

#[test]
fn a_certificate_not_for_encryption_is_refused_with_exit_2_and_nothing_written() {
    let sim = Sim::new();
    let carol = sim.ca().issue(
        "Carol",
        KeyType::P256,
        &Profile::signing("/CN=Carol", "carol@example.org"),
    );
    let (mail, out) = (sim.path("mail.txt"), sim.path("encrypted.eml"));
    std::fs::write(&mail, "Subject: s\n\nbody\n").unwrap();
    sim.run(&[
        "encrypt",
        "--in",
        mail.to_str().unwrap(),
        "--to",
        carol.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .expect_code(2)
    .stderr_has("cannot encrypt for CN=Carol: its key usage lacks keyAgreement");
    assert!(!out.exists(), "nothing is written");
}

/// [`signing_card`] with an RSA key in 9d and a recipient certificate for it, `Bob.pem`
/// from the test CA.
fn decrypting_card() -> Sim {
    let sim = signing_card(Flavour::YubiKey);
    let public = sim.path("9d.pub.pem");
    sim.ok(&[
        "card",
        "generate",
        "--slot",
        "9d",
        "--algorithm",
        "rsa2048",
        "--out",
        public.to_str().unwrap(),
    ]);
    certify_bob_in_9d(&sim, &public);
    sim
}

fn import_cert(sim: &Sim, slot: &str, pem: &Path) {
    sim.ok(&[
        "card",
        "import-cert",
        "--slot",
        slot,
        "--in",
        pem.to_str().unwrap(),
    ]);
}

/// Bob's encryption certificate for `public`, as `Bob.pem` and in slot 9d.
fn certify_bob_in_9d(sim: &Sim, public: &Path) {
    let profile = Profile::encryption("/CN=Bob", "bob@example.org");
    let pem = sim.ca().certify(public, "Bob", &profile);
    import_cert(sim, "9d", &pem);
}

/// `openssl cms -encrypt` of `input` to `recipient` (in the test's directory) as `out`,
/// with no From header: the test CA's certificates name no address a signature inside
/// could vouch for.
fn openssl_encrypt(sim: &Sim, input: &str, cipher: &str, recipient: &str, out: &str) {
    test_pki::encrypt_mail(sim.dir.path(), input, out, &[cipher], recipient, &[]);
}

impl Sim {
    /// `smime-card <command> --in <input> --out <out> --pin-env PIN <extra>` with `pin`, the
    /// files in the test's directory.
    fn mail(&self, command: &str, input: &str, out: &str, pin: &str, extra: &[&str]) -> Run {
        let (input, out) = (self.path(input), self.path(out));
        let files = [
            "--in",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        let args = [&[command][..], &files, &["--pin-env", "PIN"], extra].concat();
        self.run_env(&args, &[("PIN", pin)])
    }

    fn decrypt(&self, input: &str, out: &str, pin: &str, extra: &[&str]) -> Run {
        self.mail("decrypt", input, out, pin, extra)
    }
}

#[test]
fn sign_and_decrypt_ask_for_a_touch_where_the_key_needs_one() {
    let sim = decrypting_card();
    openssl_encrypt(&sim, "mail.txt", "-aes128", "Bob.pem", "mail.eml");
    const ASKED: &str = "Touch the card";
    // Neither key needs a touch: nobody is asked.
    let signed = sim
        .mail("sign", "mail.txt", "signed.eml", PIN, &[])
        .expect_code(0);
    assert!(!signed.stderr.contains(ASKED), "{}", signed.describe());
    let opened = sim
        .decrypt("mail.eml", "plain.eml", PIN, &[])
        .expect_code(0);
    assert!(!opened.stderr.contains(ASKED), "{}", opened.describe());

    // A 9c key that needs a touch every time (the card in process touches itself).
    let public = sim.path("touched.pub.pem");
    let generate = |slot: &str, algorithm: &str, touch: &str| {
        sim.ok(&[
            "card",
            "generate",
            "--slot",
            slot,
            "--algorithm",
            algorithm,
            "--touch-policy",
            touch,
            "--out",
            public.to_str().unwrap(),
        ]);
    };
    generate("9c", "p256", "always");
    let (pem, _) = sim.certificate(&public, "Alice");
    import_cert(&sim, "9c", &pem);
    sim.mail("sign", "mail.txt", "signed.eml", PIN, &[])
        .expect_code(0)
        .stderr_has("Touch the card when it blinks (the key in slot 9c needs a touch)");

    generate("9d", "rsa2048", "cached");
    certify_bob_in_9d(&sim, &public);
    openssl_encrypt(&sim, "mail.txt", "-aes128", "Bob.pem", "mail.eml");
    sim.decrypt("mail.eml", "plain.eml", PIN, &[])
        .expect_code(0)
        .stderr_has("Touch the card if it blinks (the key in slot 9d needs a touch");
}

#[test]
fn a_management_key_with_touch_is_asked_a_touch_for_and_a_refusal_names_both_causes() {
    let sim = Sim::of(Flavour::YubiKey);
    let new_key = NEW_AES192_KEY;
    sim.ok(&set_aes192_mgmt_key(&["--touch"]));
    let generate = [
        "card",
        "generate",
        "--slot",
        "9d",
        "--algorithm",
        "p256",
        "--mgmt-key-env",
        "MGMT",
    ];
    sim.ok_env(&generate, &[("MGMT", new_key)])
        .stderr_has("Touch the card when it blinks (the management key needs a touch)");
    sim.run_env(&generate, &[("MGMT", DEFAULT_MGMT_KEY)])
        .expect_code(5)
        .stderr_has("wrong management key, or the card was not touched");
}

#[test]
fn decrypt_restores_the_message_with_its_headers() {
    let sim = decrypting_card();
    for cipher in ["-aes-256-gcm", "-aes128"] {
        openssl_encrypt(&sim, "mail.txt", cipher, "Bob.pem", "mail.eml");
        let name = &cipher[1..].to_ascii_uppercase();
        sim.decrypt("mail.eml", "plain.eml", PIN, &[])
            .expect_code(0)
            .stdout_has(&format!(
                "Decrypted with the key in slot 9d (Key Management) (CN=Bob): RSA-2048 PKCS#1 v1.5, {}",
                if cipher == "-aes128" { "AES-128-CBC" } else { name }
            ));
        let plain = std::fs::read_to_string(sim.path("plain.eml")).unwrap();
        assert!(
            plain.starts_with("To: bob@example.org\r\n") && plain.contains("Subject: s\r\n"),
            "{plain}"
        );
        assert!(plain.ends_with("\r\n\r\nbody text\r\n"), "{plain}");
        assert!(!plain.contains("Plans"), "the inner Subject wins: {plain}");
    }
}

#[test]
fn a_message_that_cannot_be_decrypted_leaves_no_output_and_says_why() {
    let sim = decrypting_card();
    let carol = sim.ca().issue(
        "Carol",
        KeyType::P256,
        &Profile::encryption("/CN=Carol", "carol@example.org"),
    );
    openssl_encrypt(
        &sim,
        "mail.txt",
        "-aes256",
        carol.to_str().unwrap(),
        "carol.eml",
    );
    openssl_encrypt(&sim, "mail.txt", "-aes-256-gcm", "Bob.pem", "gcm.eml");
    openssl_encrypt(&sim, "mail.txt", "-aes256", "Bob.pem", "cbc.eml");
    test_pki::flip_cms_bit(sim.dir.path(), "gcm.eml", |der| der.len() - 1);
    test_pki::flip_cms_bit(sim.dir.path(), "cbc.eml", |der| der.len() - 17);
    for (mail, pin, code, message) in [
        (
            "carol.eml",
            PIN,
            8,
            "none of these keys can decrypt the message: it was encrypted for the certificate with serial number",
        ),
        (
            "gcm.eml",
            PIN,
            8,
            "decryption failed: the message was changed",
        ),
        (
            "cbc.eml",
            PIN,
            8,
            "decryption failed: the message was changed",
        ),
        (
            "gcm.eml",
            "999999",
            4,
            "the key could not decrypt: wrong PIN, 2 tries left",
        ),
    ] {
        sim.decrypt(mail, "plain.eml", pin, &[])
            .expect_code(code)
            .stderr_has(message);
        assert!(!sim.path("plain.eml").exists(), "{mail}: no output");
    }
    sim.decrypt("carol.eml", "plain.eml", PIN, &[])
        .stderr_has("the keys here are slot 9d (Key Management): CN=Bob")
        .stderr_has("hint: decrypt it with the card that holds one of those keys");
    sim.decrypt("mail.txt", "plain.eml", PIN, &[])
        .expect_code(8)
        .stderr_has("the message is not encrypted: its type is text/plain");
}

#[test]
fn a_signed_message_inside_is_verified_with_ca_and_kept_only_if_it_holds() {
    let sim = decrypting_card();
    let ca = sim.ca().cert();
    let ca = ca.to_str().unwrap();
    sim.mail("sign", "mail.txt", "signed.eml", PIN, &[])
        .expect_code(0);
    openssl_encrypt(&sim, "signed.eml", "-aes-256-gcm", "Bob.pem", "good.eml");
    sim.decrypt("good.eml", "plain.eml", PIN, &["--ca", ca])
        .expect_code(0)
        .stdout_has("Good signature (multipart/signed)")
        .stdout_has("Signer:     CN=Alice");
    assert!(
        std::fs::read_to_string(sim.path("plain.eml"))
            .unwrap()
            .contains("multipart/signed")
    );
    sim.decrypt("good.eml", "unchecked.eml", PIN, &[])
        .expect_code(0)
        .stdout_has("its signature was NOT checked (give --ca)");

    let forged = std::fs::read_to_string(sim.path("signed.eml"))
        .unwrap()
        .replace("body text", "body test");
    std::fs::write(sim.path("forged.eml"), forged).unwrap();
    openssl_encrypt(&sim, "forged.eml", "-aes256", "Bob.pem", "bad.eml");
    sim.decrypt("bad.eml", "forged-plain.eml", PIN, &["--ca", ca])
        .expect_code(7)
        .stderr_has("BAD signature: the message body was changed after it was signed");
    assert!(!sim.path("forged-plain.eml").exists());
}

const NEW_PIN: &str = "24681357";
const NEW_PUK: &str = "97531864";

impl Sim {
    /// `enroll` for alice@example.org with --csr-out into the test's directory; secrets
    /// through the environment.
    fn enroll(&self, extra: &[&str]) -> Run {
        let dir = self.dir.path().to_str().unwrap();
        self.enroll_to(&["--csr-out", dir], extra)
    }

    /// `enroll` for Alice with the factory PIN and PUK and the new ones, its certificates
    /// from `issuer` (`--csr-out DIR` or `--ca DIR`).
    fn enroll_to(&self, issuer: &[&str], extra: &[&str]) -> Run {
        let args = [
            "enroll",
            "--email",
            "alice@example.org",
            "--name",
            "Alice Example",
            "--pin-env",
            "PIN",
            "--puk-env",
            "PUK",
            "--new-pin-env",
            "NEW_PIN",
            "--new-puk-env",
            "NEW_PUK",
        ];
        self.run_env(
            &[&args[..], issuer, extra].concat(),
            &[
                ("PIN", PIN),
                ("PUK", PUK),
                ("NEW_PIN", NEW_PIN),
                ("NEW_PUK", NEW_PUK),
            ],
        )
    }

    /// The test CA's answer to `<usage>.csr.pem`, stored in `slot` with `card import-cert`.
    fn issue_and_import(&self, usage: &str, slot: &str, profile: &Profile) -> PathBuf {
        let cert =
            self.ca()
                .certify_request(&self.path(&format!("{usage}.csr.pem")), usage, profile);
        self.ok(&[
            "card",
            "import-cert",
            "--slot",
            slot,
            "--in",
            cert.to_str().unwrap(),
        ]);
        cert
    }
}

#[test]
fn enrolment_writes_requests_then_resumes_to_a_personalised_card_that_signs() {
    let sim = Sim::new();
    sim.enroll(&[])
        .expect_code(0)
        .stderr_has("Generated an ECC P-256 key in slot 9c")
        .stderr_has("Wrote the request for slot 9d");
    // The card still has its factory secrets until the certificates are in.
    sim.verify_pin(PIN).expect_code(0);
    let subject = "/CN=Alice Example";
    let sign = sim.issue_and_import(
        "sign",
        "9c",
        &Profile::signing(subject, "alice@example.org"),
    );
    let encrypt = sim.issue_and_import(
        "encrypt",
        "9d",
        // keyEncipherment even for an EC key: OpenSSL 3.0's smimeencrypt purpose requires it.
        &Profile::encryption(subject, "alice@example.org"),
    );
    sim.enroll(&[])
        .expect_code(0)
        .stderr_has("Slot 9c already holds its certificate")
        .stderr_has("Wrote a fresh CHUID")
        .stderr_has("stored PIN-protected")
        .stderr_has("enrolled and personalised");

    let ca = sim.ca().cert();
    for (cert, purpose) in [(&sign, "smimesign"), (&encrypt, "smimeencrypt")] {
        test_pki::openssl_ok(
            sim.dir.path(),
            &[
                "verify",
                "-purpose",
                purpose,
                "-CAfile",
                ca.to_str().unwrap(),
                cert.to_str().unwrap(),
            ],
        );
    }

    // The factory PIN, PUK and management key are gone; the PIN alone finds the new key.
    sim.verify_pin(PIN).expect_code(4);
    sim.verify_pin(NEW_PIN).expect_code(0);
    sim.run_env(
        &[
            "card",
            "generate",
            "--slot",
            "9a",
            "--algorithm",
            "p256",
            "--mgmt-key-env",
            "K",
        ],
        &[("K", DEFAULT_MGMT_KEY)],
    )
    .expect_code(5);
    sim.ok_env(
        &[
            "card",
            "generate",
            "--slot",
            "9a",
            "--algorithm",
            "p256",
            "--pin-env",
            "PIN",
        ],
        &[("PIN", NEW_PIN)],
    );

    let (mail, signed) = (sim.path("mail.txt"), sim.path("signed.eml"));
    std::fs::write(&mail, "From: alice@example.org\nSubject: s\n\nbody\n").unwrap();
    sim.ok_env(
        &[
            "sign",
            "--in",
            mail.to_str().unwrap(),
            "--out",
            signed.to_str().unwrap(),
            "--pin-env",
            "PIN",
        ],
        &[("PIN", NEW_PIN)],
    );
    sim.ok(&[
        "verify",
        "--in",
        signed.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
    ])
    .stdout_has("Good signature");

    // Enrolling again finds everything done.
    sim.enroll(&[])
        .expect_code(0)
        .stderr_has("resuming with the new PIN")
        .stderr_has("stored PIN-protected before");
}

#[test]
fn enrolment_refuses_the_factory_pin_as_the_new_one() {
    let sim = Sim::new();
    sim.run_env(
        &[
            "enroll",
            "--email",
            "a@example.org",
            "--name",
            "A",
            "--csr-out",
            ".",
            "--pin-env",
            "P",
            "--puk-env",
            "U",
            "--new-pin-env",
            "P",
            "--new-puk-env",
            "N",
        ],
        &[("P", PIN), ("U", PUK), ("N", NEW_PUK)],
    )
    .expect_code(1)
    .stderr_has("the new PIN is the factory value");
}

/// A request (PEM) openssl makes with a new P-256 key, for `address`.
fn mail_request(sim: &Sim, name: &str, address: &str) -> PathBuf {
    let key = KeyType::P256.generate(sim.dir.path(), name);
    let csr = sim.path(&format!("{name}.csr"));
    let san = format!("subjectAltName=email:{address}");
    test_pki::openssl_ok(
        sim.dir.path(),
        &[
            "req",
            "-new",
            "-key",
            key.to_str().unwrap(),
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            &san,
            "-out",
            csr.to_str().unwrap(),
        ],
    );
    csr
}

/// `openssl verify -purpose PURPOSE` of `cert` against the CA certificate `ca`.
#[track_caller]
fn openssl_verifies(sim: &Sim, ca: &Path, cert: &Path, purpose: &str) {
    let out = test_pki::openssl_ok(
        sim.dir.path(),
        &[
            "verify",
            "-CAfile",
            ca.to_str().unwrap(),
            "-purpose",
            purpose,
            cert.to_str().unwrap(),
        ],
    );
    assert!(out.contains(": OK"), "{out}");
}

#[test]
fn ca_init_and_issue_make_certificates_openssl_verifies_and_refuse_other_addresses() {
    use std::os::unix::fs::PermissionsExt;
    let sim = Sim::new();
    let dir = sim.path("CA");
    let dir = dir.to_str().unwrap();
    sim.ok(&[
        "ca",
        "init",
        "--dir",
        dir,
        "--key",
        "p384",
        "--name",
        "Example Mail CA",
    ])
    .stderr_has("Created the CA \"CN=Example Mail CA\"");
    let key_mode = std::fs::metadata(sim.path("CA/ca.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);

    let csr = mail_request(&sim, "alice", "alice@example.org");
    let cert = sim.path("alice.pem");
    let issue = |email: &str, usage: &str| {
        sim.run(&[
            "ca",
            "issue",
            "--dir",
            dir,
            "--csr",
            csr.to_str().unwrap(),
            "--email",
            email,
            "--usage",
            usage,
            "--out",
            cert.to_str().unwrap(),
        ])
    };
    issue("alice@example.org", "sign")
        .expect_code(0)
        .stderr_has("Issued a certificate for alice@example.org (signing)");
    openssl_verifies(&sim, &sim.path("CA/ca.pem"), &cert, "smimesign");

    let before = std::fs::read(&cert).unwrap();
    issue("bob@example.org", "sign").expect_code(2).stderr_has(
        "the request names alice@example.org, but this certificate is for bob@example.org",
    );
    assert_eq!(std::fs::read(&cert).unwrap(), before, "nothing written");
    sim.run(&["ca", "init", "--dir", dir, "--name", "Again"])
        .expect_code(1)
        .stderr_has("already exists");
}

#[test]
fn a_ca_on_the_card_keeps_its_certificate_in_9c_and_issues_certificates_openssl_verifies() {
    let sim = Sim::new();
    sim.generate_p256("9c");
    let dir = sim.path("CA");
    let dir = dir.to_str().unwrap();
    let pin = [("PIN", PIN)];
    sim.ok_env(
        &[
            "ca",
            "init",
            "--ca-card",
            "--dir",
            dir,
            "--name",
            "Card CA",
            "--pin-env",
            "PIN",
        ],
        &pin,
    )
    .stderr_has("slot 9c");
    let on_card = sim.ok(&["card", "export-cert", "--slot", "9c"]).stdout;
    assert_eq!(
        on_card,
        std::fs::read_to_string(sim.path("CA/ca.pem")).unwrap()
    );
    assert!(!sim.path("CA/ca.key").exists());

    let csr = mail_request(&sim, "bob", "bob@example.org");
    let cert = sim.path("bob.pem");
    sim.ok_env(
        &[
            "ca",
            "issue",
            "--ca-card",
            "--dir",
            dir,
            "--csr",
            csr.to_str().unwrap(),
            "--email",
            "bob@example.org",
            "--usage",
            "sign",
            "--out",
            cert.to_str().unwrap(),
            "--pin-env",
            "PIN",
        ],
        &pin,
    );
    openssl_verifies(&sim, &sim.path("CA/ca.pem"), &cert, "smimesign");
}

#[test]
fn enrolment_through_the_local_ca_leaves_a_card_that_signs_encrypts_and_decrypts() {
    let sim = Sim::new();
    let ca_dir = sim.path("ca");
    let ca_dir = ca_dir.to_str().unwrap();
    sim.ok(&["ca", "init", "--dir", ca_dir, "--name", "Example Mail CA"]);
    sim.enroll_to(&["--ca", ca_dir], &[])
        .expect_code(0)
        .stderr_has("enrolled and personalised");
    let ca = format!("{ca_dir}/ca.pem");

    // What the card holds chains to the CA: 9c for signing mail, 9d (keyAgreement, as RFC
    // 5480 has it for EC keys; OpenSSL's smimeencrypt purpose wants keyEncipherment) for
    // receiving it.
    for (slot, purpose) in [("9c", "smimesign"), ("9d", "any")] {
        let cert = sim.path(&format!("{slot}.pem"));
        let cert = cert.to_str().unwrap();
        let export = ["card", "export-cert", "--slot", slot, "--out", cert];
        sim.ok(&export);
        test_pki::openssl_ok(
            sim.dir.path(),
            &["verify", "-purpose", purpose, "-CAfile", &ca, cert],
        );
    }

    let (mail, sent, received) = (
        sim.path("mail.txt"),
        sim.path("sent.eml"),
        sim.path("in.eml"),
    );
    std::fs::write(&mail, "From: alice@example.org\nSubject: s\n\nbody\n").unwrap();
    let (mail, sent, received) = (
        mail.to_str().unwrap(),
        sent.to_str().unwrap(),
        received.to_str().unwrap(),
    );
    let sign = [
        "sign",
        "--in",
        mail,
        "--out",
        sent,
        "--encrypt-self",
        "--pin-env",
        "PIN",
    ];
    sim.ok_env(&sign, &[("PIN", NEW_PIN)]);
    let decrypt = [
        "decrypt",
        "--in",
        sent,
        "--out",
        received,
        "--ca",
        &ca,
        "--pin-env",
        "PIN",
    ];
    sim.ok_env(&decrypt, &[("PIN", NEW_PIN)])
        .stdout_has("Good signature");
}

#[test]
fn demo_tells_the_whole_story_in_process_and_openssl_agrees() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = smime_card()
        .arg("demo")
        .arg("--dir")
        .arg(dir.path())
        .output()
        .expect("smime-card runs");
    Run::from(out)
        .expect_code(0)
        .stdout_has("Good signature")
        .stdout_has("Refused, as it must be")
        .stdout_has("Every check held.");
    for file in [
        "ca/ca.pem",
        "smime1.json",
        "smime2.json",
        "smime1-sign.pem",
        "smime1-encrypt.pem",
        "smime2-sign.pem",
        "smime2-encrypt.pem",
        "mail.txt",
        "sent.eml",
        "received.eml",
        "tampered.eml",
    ] {
        assert!(dir.path().join(file).is_file(), "the demo left no {file}");
    }
    // Nothing decrypted from the tampered copy is left behind.
    assert!(!dir.path().join("tampered-received.eml").exists());
    let verified = test_pki::verify_mail(dir.path(), "received.eml", Path::new("ca/ca.pem"));
    assert!(
        verified.status.success(),
        "openssl cms -verify refused received.eml: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
