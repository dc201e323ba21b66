//! `smime-card` against card-sim through pcscd and vpcd, as against a card in a reader:
//! card management end to end, and a card reset by another program between operations.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use apdu_spec::piv::mgmt_key::ManagementKey;
use apdu_spec::piv::{Algorithm, Slot};
use e2e::{SimCard, output_text, smime_card_binary};
use host_driver::hash::HashAlg;
use host_driver::{Error, PcscTransport, PivCard, Secret, SignatureScheme};
use pcsc::{Context, Disposition, Protocols, Scope, ShareMode};
use test_pki::{Profile, TestCa};

const PIN: &str = "123456";

/// Runs `smime-card --reader <the card's reader> <args>` with `env` (secrets go through
/// environment variables named on the command line).
fn smime_card(card: &SimCard, args: &[&str], env: &[(&str, &str)]) -> Output {
    smime_card_command(card, args, env)
        .output()
        .expect("smime-card runs")
}

/// The command line of [`smime_card`], not started.
fn smime_card_command(card: &SimCard, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(smime_card_binary());
    cmd.env_remove("SMIME_CARD_READER")
        .env_remove("SMIME_CARD_SIM")
        .arg("--reader")
        .arg(card.reader.name)
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs it and asserts success; returns stdout.
#[track_caller]
fn smime_card_ok(card: &SimCard, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = smime_card(card, args, env);
    assert!(
        out.status.success(),
        "smime-card {args:?} failed ({}):\n{}\n--- card-sim log\n{}",
        out.status,
        output_text(&out),
        card.log()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Generates a P-256 key in 9A with smime-card, has the test CA certify it as Alice's
/// (`alice.pem` in `dir`) with `profile`, and stores the certificate on the card.
fn enroll_9a(card: &SimCard, dir: &Path, profile: &Profile) -> String {
    let cert = certified_9a(card, dir, profile);
    smime_card_ok(card, &import_9a(&cert), &[]);
    cert
}

/// Generates a P-256 key in 9A and has the test CA certify it (`alice.pem` in `dir`),
/// without storing the certificate on the card.
fn certified_9a(card: &SimCard, dir: &Path, profile: &Profile) -> String {
    let public_key = dir.join("9a.pub.pem").to_str().unwrap().to_owned();
    let generate = ["card", "generate", "--slot", "9a", "--algorithm", "p256"];
    smime_card_ok(
        card,
        &[&generate[..], &["--out", &public_key]].concat(),
        &[],
    );
    let cert = TestCa::new(dir).certify(Path::new(&public_key), "alice", profile);
    cert.to_str().unwrap().to_owned()
}

/// The arguments that store the certificate `cert` in 9A.
fn import_9a(cert: &str) -> [&str; 6] {
    ["card", "import-cert", "--slot", "9a", "--in", cert]
}

/// Another PC/SC client connects to the card and disconnects resetting it.
fn reset_by_another_client(card: &SimCard) {
    let ctx = Context::establish(Scope::User).expect("pcscd runs");
    let reader = std::ffi::CString::new(card.reader.name).unwrap();
    let other = ctx
        .connect(&reader, ShareMode::Shared, Protocols::ANY)
        .expect("connect the second client");
    other
        .disconnect(Disposition::ResetCard)
        .map_err(|(_, e)| e)
        .expect("disconnect with reset");
}

#[test]
fn smime_card_manages_a_card_in_a_pcsc_reader() {
    let card = SimCard::start();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    let readers =
        String::from_utf8_lossy(&smime_card(&card, &["readers"], &[]).stdout).into_owned();
    let line = readers
        .lines()
        .find(|l| l[2..].starts_with(&format!("{} ", card.reader.name)))
        .unwrap_or_else(|| panic!("{} not listed:\n{readers}", card.reader.name));
    assert!(
        line.starts_with("* ") && line.contains("PIV card, serial"),
        "{line}"
    );

    let status = smime_card_ok(&card, &["card", "status"], &[]);
    assert!(
        status.contains(&format!("Reader:         {}\n", card.reader.name)),
        "{status}"
    );
    assert!(
        status.contains("PIN:            3 of 3 tries left"),
        "{status}"
    );

    let alice = enroll_9a(&card, dir.path(), &Profile::new("/CN=Alice"));
    let exported = smime_card_ok(&card, &["card", "export-cert", "--slot", "9a"], &[]);
    assert_eq!(exported, std::fs::read_to_string(&alice).unwrap());
    let status = smime_card_ok(&card, &["card", "status"], &[]);
    assert!(status.contains("  Subject:      CN=Alice\n"), "{status}");

    smime_card_ok(
        &card,
        &[
            "card",
            "change-pin",
            "--pin-env",
            "PIN",
            "--new-pin-env",
            "NEW",
        ],
        &[("PIN", PIN), ("NEW", "24681357")],
    );
    let wrong = smime_card(
        &card,
        &["card", "verify-pin", "--pin-env", "PIN"],
        &[("PIN", PIN)],
    );
    assert_eq!(wrong.status.code(), Some(4), "{}", output_text(&wrong));
    assert!(
        output_text(&wrong).contains("wrong PIN, 2 tries left"),
        "{}",
        output_text(&wrong)
    );
    smime_card_ok(
        &card,
        &["card", "verify-pin", "--pin-env", "PIN"],
        &[("PIN", "24681357")],
    );

    let report = smime_card_ok(
        &card,
        &[
            "card",
            "attest",
            "--slot",
            "9a",
            "--out",
            &path("attestation.pem"),
        ],
        &[],
    );
    assert!(
        report.contains("Slot:           9a (PIV Authentication)\n"),
        "{report}"
    );
    assert!(
        report.contains("Verified:       signed by the card's attestation key"),
        "{report}"
    );
    assert!(
        std::fs::read_to_string(path("attestation.pem"))
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
}

#[test]
fn a_reset_by_another_program_between_two_commands_does_not_disturb_the_next() {
    let card = SimCard::start();
    smime_card_ok(&card, &["card", "status"], &[]);
    reset_by_another_client(&card);
    assert_factory_pin_with_every_try(&card);
}

/// The card shows every PIN try left, and the factory PIN verifies.
#[track_caller]
fn assert_factory_pin_with_every_try(card: &SimCard) {
    let status = smime_card_ok(card, &["card", "status"], &[]);
    assert!(
        status.contains("PIN:            3 of 3 tries left"),
        "{status}"
    );
    smime_card_ok(
        card,
        &["card", "verify-pin", "--pin-env", "PIN"],
        &[("PIN", PIN)],
    );
}

#[test]
fn a_login_lost_to_a_reset_is_reported_and_verifying_again_restores_it() {
    let card = SimCard::start();
    let transport = PcscTransport::connect(card.reader.name).expect("connect");
    let mut piv = PivCard::open(transport).expect("open the PIV card");
    piv.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
        .expect("default management key");
    let key = piv
        .generate(Slot::Authentication, Algorithm::EccP256, None, None)
        .expect("generate");
    let scheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
    piv.verify_pin(&Secret::new(PIN).unwrap()).expect("PIN");
    piv.sign_message(Slot::Authentication, &key, scheme, b"before", None)
        .expect("signs while logged in");

    reset_by_another_client(&card);
    // What needs no PIN goes on after the reset...
    assert_eq!(
        piv.public_key(Slot::Authentication).expect("public key"),
        key
    );
    reset_by_another_client(&card);
    // ...and what needs the PIN says the login was lost instead of replaying it.
    match piv.sign_message(Slot::Authentication, &key, scheme, b"after", None) {
        Err(Error::LoginLost) => {}
        other => panic!("expected LoginLost, got {other:?}\n{}", card.log()),
    }
    piv.verify_pin(&Secret::new(PIN).unwrap())
        .expect("PIN again");
    piv.sign_message(Slot::Authentication, &key, scheme, b"after", None)
        .expect("signs after verifying again");
}

#[test]
fn a_removed_card_is_a_clear_error_and_a_card_put_back_works_again() {
    let card = SimCard::start();
    smime_card_ok(&card, &["card", "status"], &[]);
    card.remove();
    let out = smime_card(&card, &["card", "status"], &[]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("no card in reader") && text.contains(card.reader.name),
        "{text}"
    );
    card.insert();
    smime_card_ok(&card, &["card", "status"], &[]);
}

/// Runs smime-card with `args` and pulls the card out of its reader while the first
/// command smime-card sends waits for its answer (held back by `card-sim ctl delay`).
fn pulled_during(card: &SimCard, args: &[&str], env: &[(&str, &str)]) -> Output {
    card.ctl_ok(&["delay", "--ms", "3000", "--count", "1"]);
    let running = smime_card_command(card, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("smime-card starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // The delay is spent once a command has reached the card.
    while card.ctl_ok(&["status"]).contains("delay=3000ms") {
        assert!(
            std::time::Instant::now() < deadline,
            "smime-card sent nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    card.ctl_ok(&["remove"]);
    running.wait_with_output().expect("smime-card finishes")
}

#[test]
fn a_card_pulled_during_signing_is_a_clear_error_and_once_back_it_signs() {
    let card = SimCard::start();
    let dir = tempfile::tempdir().unwrap();
    enroll_9a(&card, dir.path(), &Profile::new("/CN=Alice"));
    let mail = dir.path().join("mail.txt");
    std::fs::write(&mail, "Subject: hello\r\n\r\nhello\r\n").unwrap();
    let signed = dir.path().join("signed.eml");
    let sign = [
        "sign",
        "--slot",
        "9a",
        "--in",
        mail.to_str().unwrap(),
        "--out",
        signed.to_str().unwrap(),
        "--pin-env",
        "PIN",
    ];
    let out = pulled_during(&card, &sign, &[("PIN", PIN)]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains(&format!("the card was removed from '{}'", card.reader.name)),
        "{text}"
    );
    assert!(!signed.exists(), "nothing written");
    card.reader.wait_for_card(false);

    card.insert();
    smime_card_ok(&card, &sign, &[("PIN", PIN)]);
    assert!(signed.exists());
}

#[test]
fn a_power_cut_during_a_pin_change_keeps_the_old_pin_and_every_try() {
    let card = SimCard::start();
    card.ctl_ok(&["power-cut"]);
    let change = [
        "card",
        "change-pin",
        "--pin-env",
        "PIN",
        "--new-pin-env",
        "NEW",
    ];
    let out = smime_card(&card, &change, &[("PIN", PIN), ("NEW", "24681357")]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("the card was removed"), "{text}");
    card.reader.wait_for_card(false);

    card.insert();
    assert_factory_pin_with_every_try(&card);
}

#[test]
fn a_memory_failure_on_a_certificate_import_is_reported_and_nothing_is_stored() {
    let card = SimCard::start();
    let dir = tempfile::tempdir().unwrap();
    let cert = certified_9a(&card, dir.path(), &Profile::new("/CN=Alice"));
    let import = import_9a(&cert);
    card.ctl_ok(&["fail", "--sw", "6581", "--ins", "db"]);
    let out = smime_card(&card, &import, &[]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("PUT DATA failed: the card could not write its memory"),
        "{text}"
    );
    let export = smime_card(&card, &["card", "export-cert", "--slot", "9a"], &[]);
    assert!(!export.status.success(), "{}", output_text(&export));

    smime_card_ok(&card, &import, &[]);
    smime_card_ok(&card, &["card", "export-cert", "--slot", "9a"], &[]);
}

#[test]
fn an_answer_broken_mid_response_is_the_card_pulled_and_pushed_back() {
    let card = SimCard::start();
    card.ctl_ok(&["drop"]);
    let out = smime_card(&card, &["card", "status"], &[]);
    let text = output_text(&out);
    // pcscd sees the card go and come back: the driver reports it removed, unless it is
    // back already when the driver looks, and the reading is simply done again.
    assert!(
        out.status.success()
            || (out.status.code() == Some(3) && text.contains("the card was removed")),
        "{text}"
    );
    card.reader.wait_for_card(true);
    smime_card_ok(&card, &["card", "status"], &[]);
}

/// What another program gets when it asks the card for a signature with the PIN-once key
/// in 9A without giving the PIN.
fn signature_status_for_another_client(card: &SimCard) -> u16 {
    use apdu_spec::piv::command::{AuthKey, GeneralAuthenticate, Select};
    use apdu_spec::piv::templates::DynamicAuth;
    let ctx = Context::establish(Scope::User).expect("pcscd runs");
    let reader = std::ffi::CString::new(card.reader.name).unwrap();
    let other = ctx
        .connect(&reader, ShareMode::Shared, Protocols::ANY)
        .expect("connect the second client");
    let mut buffer = [0; 1024];
    let mut transmit = |apdu: apdu_spec::CommandApdu| {
        let response = other
            .transmit(&apdu.encode().unwrap(), &mut buffer)
            .expect("transmit");
        let (_, sw) = response.split_last_chunk::<2>().expect("status word");
        u16::from_be_bytes(*sw)
    };
    assert_eq!(transmit(Select::piv().to_apdu()), 0x9000);
    let request = DynamicAuth {
        response: Some(vec![]),
        challenge: Some(vec![7; 32]),
        ..Default::default()
    };
    let sign = GeneralAuthenticate::new(
        Algorithm::EccP256,
        AuthKey::Slot(Slot::Authentication),
        request,
    );
    transmit(sign.to_apdu())
}

#[test]
fn smime_card_leaves_no_login_behind_for_other_programs() {
    let card = SimCard::start();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    enroll_9a(
        &card,
        dir.path(),
        &Profile::signing("/CN=Alice", "alice@example.org"),
    );
    std::fs::write(
        path("mail.txt"),
        "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello\r\n",
    )
    .unwrap();
    let pin = [("PIN", PIN)];

    smime_card_ok(&card, &["card", "verify-pin", "--pin-env", "PIN"], &pin);
    assert_eq!(signature_status_for_another_client(&card), 0x6982);

    let sign = [
        "sign",
        "--slot",
        "9a",
        "--pin-env",
        "PIN",
        "--in",
        &path("mail.txt"),
        "--out",
        &path("signed.eml"),
    ];
    smime_card_ok(&card, &sign, &pin);
    assert_eq!(signature_status_for_another_client(&card), 0x6982);
}

#[test]
fn a_library_caller_that_keeps_the_session_leaves_the_login_for_the_next() {
    let card = SimCard::start();
    let mut piv = PivCard::open(PcscTransport::connect(card.reader.name).unwrap()).unwrap();
    piv.authenticate(&ManagementKey::factory(Algorithm::Tdes).unwrap())
        .unwrap();
    piv.generate(Slot::Authentication, Algorithm::EccP256, None, None)
        .unwrap();
    piv.verify_pin(&Secret::new(PIN.as_bytes().to_vec()).unwrap())
        .unwrap();
    piv.keep_session(true);
    drop(piv);
    assert_eq!(signature_status_for_another_client(&card), 0x9000);
}
