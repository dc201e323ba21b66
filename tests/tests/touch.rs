//! Touch through pcscd: a key yubico-piv-tool generates with a touch policy makes the
//! served card wait, inside the command, until it is touched; a command nobody touches the
//! card for fails as on a YubiKey, and the card goes on serving.
//!
//! A person touches with `card-sim touch --state FILE`; `card-sim serve --auto-touch DELAY`
//! touches later than the vpcd link's frame deadline (5 s), so the wait is seen to hold the
//! link, not break it.

mod common;

use std::time::{Duration, Instant};

use common::{Bench, test_signature_with_pin};

/// How long the card waits before touching itself: past the vpcd link's 5 s frame deadline.
const LATE_TOUCH: &str = "6s";

/// A P-256 key with `touch` policy in 9a and a certificate for it; the certificate's path.
fn touch_key(bench: &Bench, touch: &str) -> String {
    let public = bench.path("9a.pub.pem");
    let text = bench.piv_tool_ok(&[
        "-a",
        "generate",
        "-s",
        "9a",
        "-A",
        "ECCP256",
        &format!("--touch-policy={touch}"),
        "-o",
        &public,
    ]);
    assert!(
        text.contains("Successfully generated a new private key"),
        "{text}"
    );
    let cert = bench.certificate_for(&public, "/CN=touch", "9a");
    bench.piv_tool_ok(&["-a", "import-certificate", "-s", "9a", "-i", &cert]);
    cert
}

#[test]
fn a_touch_always_key_signs_for_yubico_piv_tool_once_the_card_is_touched() {
    let bench = Bench::serving(&["--auto-touch", LATE_TOUCH]);
    let cert = touch_key(&bench, "always");
    let text = bench.piv_tool_ok(&test_signature_with_pin("9a", &cert));
    assert!(text.contains("Successful ECDSA verification."), "{text}");
    let log = bench.card.log();
    assert!(log.contains("touch needed for the key in slot 9a"), "{log}");
    assert!(
        !log.contains("dropping the connection"),
        "the wait held the link: {log}"
    );
}

#[test]
fn card_sim_touch_releases_a_signature_yubico_piv_tool_waits_for() {
    let bench = Bench::serving(&[]);
    let cert = touch_key(&bench, "always");
    let untouched = bench.card.ctl_ok(&["touch"]);
    assert!(
        untouched.contains("no operation was waiting"),
        "{untouched}"
    );

    let reader = bench.reader();
    let signing = std::thread::spawn(move || {
        let mut args = vec!["-r", reader];
        args.extend(test_signature_with_pin("9a", &cert));
        e2e::run("yubico-piv-tool", &args)
    });
    let touched = e2e::run(
        e2e::card_sim_binary().to_str().expect("utf-8 path"),
        &[
            "touch",
            "--state",
            bench.card.state.to_str().expect("utf-8 path"),
            "--wait",
            "60",
        ],
    );
    let text = e2e::output_text(&touched);
    assert!(touched.status.success(), "card-sim touch: {text}");
    let signed = signing.join().unwrap();
    let text = e2e::output_text(&signed);
    assert!(signed.status.success(), "{text}");
    assert!(text.contains("Successful ECDSA verification."), "{text}");
}

#[test]
fn without_a_touch_the_signature_fails_and_the_card_serves_on() {
    let bench = Bench::serving(&["--touch-timeout", "1s"]);
    let cert = touch_key(&bench, "cached");
    bench.piv_tool_fails(&test_signature_with_pin("9a", &cert));
    let log = bench.card.log();
    assert!(
        log.contains("no touch for the key in slot 9a within 1s; the card refuses (6982)"),
        "{log}"
    );
    let status = bench.piv_tool_ok(&["-a", "status"]);
    assert!(status.contains("Slot 9a"), "{status}");
}

/// The card waits a day for a touch, the longest it takes: while the test runs, only the
/// signal can end that wait, so the card stopping at all says the signal ended it.
#[test]
fn a_signal_ends_a_wait_for_a_touch_and_the_card_stops_cleanly() {
    /// Time enough for yubico-piv-tool to reach the signature on a loaded machine.
    const PATIENT: Duration = Duration::from_secs(60);
    let mut bench = Bench::serving(&["--touch-timeout", "86400s"]);
    let cert = touch_key(&bench, "always");
    let reader = bench.reader();
    let signing = std::thread::spawn(move || {
        let mut args = vec!["-r", reader];
        args.extend(test_signature_with_pin("9a", &cert));
        e2e::run("yubico-piv-tool", &args)
    });
    let asked = Instant::now();
    while !bench
        .card
        .log()
        .contains("touch needed for the key in slot 9a")
    {
        assert!(
            asked.elapsed() < PATIENT,
            "the card never waited for a touch:\n{}",
            bench.card.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let status = bench.card.kill(libc::SIGTERM);
    assert!(status.success(), "card-sim ended cleanly: {status}");
    let signed = signing.join().unwrap();
    assert!(!signed.status.success(), "no touch, no signature");
}

/// A card that does not end on a signal fails the test that stops it, with the reason,
/// instead of hanging it: card-sim leaves SIGWINCH alone, so only the limit ends this wait.
#[test]
#[should_panic(expected = "card-sim did not end within 1 s of signal")]
fn a_card_that_does_not_stop_on_a_signal_fails_the_test_instead_of_hanging_it() {
    let mut card = e2e::SimCard::start_serving(&[]);
    card.kill_within(libc::SIGWINCH, Duration::from_secs(1));
}
