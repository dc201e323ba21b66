//! How card-sim behaves as a card in a PC/SC stack: what a reset by one client does to the
//! next, what survives a restart or a SIGKILL of the process, and transactions of
//! competing clients. Driven through the `pcsc` crate with apdu-spec's encoders.

mod common;

use std::ffi::CString;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use apdu_spec::piv::command::{
    AuthKey, ChangeReferenceData, GeneralAuthenticate, GetResponse, Select, Verify,
};
use apdu_spec::piv::reference_data::{Credential, PaddedPin};
use apdu_spec::piv::templates::DynamicAuth;
use apdu_spec::piv::{Algorithm, Slot};
use apdu_spec::{CommandApdu, Response, StatusWord};
use common::{Bench, DEFAULT_PIN, Jitter, log_tail};
use e2e::SimCard;
use pcsc::{Context, Disposition, Protocols, Scope, ShareMode};

fn select() -> CommandApdu {
    Select::piv().to_apdu()
}

fn verify(pin: &str) -> CommandApdu {
    Verify::Pin(PaddedPin::pad(pin.as_bytes())).to_apdu()
}

/// VERIFY without data: asks whether the PIN is verified.
fn verify_status() -> CommandApdu {
    Verify::Status.to_apdu()
}

fn change_pin(old: &str, new: &str) -> CommandApdu {
    ChangeReferenceData {
        credential: Credential::Pin,
        current: PaddedPin::pad(old.as_bytes()),
        new: PaddedPin::pad(new.as_bytes()),
    }
    .to_apdu()
}

/// GENERAL AUTHENTICATE: sign a SHA-256 hash with the P-256 key in `slot`.
fn sign_p256(slot: Slot, hash: &[u8]) -> CommandApdu {
    let template = DynamicAuth {
        response: Some(Vec::new()),
        challenge: Some(hash.to_vec()),
        ..Default::default()
    };
    GeneralAuthenticate::new(Algorithm::EccP256, AuthKey::Slot(slot), template).to_apdu()
}

/// Why an exchange produced no response APDU.
#[derive(Debug)]
enum Failure {
    Pcsc(pcsc::Error),
    /// The reader returned fewer than the two status bytes (pcscd/vpcd do that when the
    /// card process dies in the middle of a command).
    NoStatusWord(Vec<u8>),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Pcsc(e) => write!(f, "PC/SC error: {e}"),
            Failure::NoStatusWord(bytes) => {
                write!(f, "response without a status word: {bytes:02X?}")
            }
        }
    }
}

fn exchange(card: &pcsc::Card, apdu: &CommandApdu) -> Result<Response, Failure> {
    let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
    let bytes = apdu.encode().expect("encodable APDU");
    let received = card.transmit(&bytes, &mut buf).map_err(Failure::Pcsc)?;
    Response::parse(received).ok_or_else(|| Failure::NoStatusWord(received.to_vec()))
}

/// Sends one command (short APDU) and collects 61xx continuations with GET RESPONSE.
fn transmit(card: &pcsc::Card, apdu: &CommandApdu) -> Result<Response, Failure> {
    let mut response = exchange(card, apdu)?;
    while let Some(n) = response.sw.remaining() {
        let get = GetResponse { length: n }.to_apdu();
        let next = exchange(card, &get)?;
        response.data.extend_from_slice(&next.data);
        response.sw = next.sw;
    }
    Ok(response)
}

fn expect_sw(card: &pcsc::Card, apdu: &CommandApdu, sw: StatusWord, what: &str) -> Vec<u8> {
    let r = transmit(card, apdu).unwrap_or_else(|e| panic!("{what}: transmit failed: {e}"));
    assert_eq!(r.sw, sw, "{what}: expected {sw}, got {}", r.sw);
    r.data
}

fn connect(ctx: &Context, reader: &str) -> pcsc::Card {
    let name = CString::new(reader).expect("reader name");
    ctx.connect(&name, ShareMode::Shared, Protocols::ANY)
        .unwrap_or_else(|e| panic!("connect to '{reader}': {e}"))
}

#[test]
fn reset_disposition_logs_the_next_client_out() {
    let card = SimCard::start();
    let ctx = Context::establish(Scope::User).expect("pcscd is running");

    // Client 1 logs in and leaves the card as it is.
    let mut c1 = connect(&ctx, card.reader.name);
    {
        let tx = c1.transaction().expect("transaction");
        expect_sw(&tx, &select(), StatusWord::SUCCESS, "SELECT");
        expect_sw(
            &tx,
            &verify(DEFAULT_PIN),
            StatusWord::SUCCESS,
            "VERIFY 123456",
        );
        expect_sw(
            &tx,
            &verify_status(),
            StatusWord::SUCCESS,
            "VERIFY status after login",
        );
        tx.end(Disposition::LeaveCard)
            .map_err(|(_, e)| e)
            .expect("end transaction");
    }
    c1.disconnect(Disposition::LeaveCard)
        .map_err(|(_, e)| e)
        .expect("disconnect, leave card");

    // Client 2 finds the login (the card was left alone), then disconnects with a reset.
    let mut c2 = connect(&ctx, card.reader.name);
    {
        let tx = c2.transaction().expect("transaction");
        expect_sw(&tx, &select(), StatusWord::SUCCESS, "SELECT");
        expect_sw(
            &tx,
            &verify_status(),
            StatusWord::SUCCESS,
            "VERIFY status after a LEAVE_CARD disconnect",
        );
        tx.end(Disposition::LeaveCard)
            .map_err(|(_, e)| e)
            .expect("end transaction");
    }
    c2.disconnect(Disposition::ResetCard)
        .map_err(|(_, e)| e)
        .expect("disconnect, reset card");

    // Client 3 is logged out.
    let c3 = connect(&ctx, card.reader.name);
    expect_sw(&c3, &select(), StatusWord::SUCCESS, "SELECT");
    let r = transmit(&c3, &verify_status()).expect("VERIFY status");
    assert_eq!(
        r.sw,
        StatusWord(0x63C3),
        "after SCARD_RESET_CARD the PIN must be unverified\n{}",
        log_tail(&card)
    );
    assert!(
        card.log().contains("reset"),
        "card-sim logged no reset:\n{}",
        log_tail(&card)
    );
    c3.disconnect(Disposition::LeaveCard)
        .map_err(|(_, e)| e)
        .expect("disconnect");
}

#[test]
fn generated_keys_sign_after_restart() {
    let mut bench = Bench::new();
    let (_, rsa_cert) = bench.key_with_certificate("9a", "RSA2048", "/CN=restart rsa");
    let (_, ec_cert) = bench.key_with_certificate("9e", "ECCP256", "/CN=restart ec");
    bench.piv_tool_ok(&["-a", "change-pin", "-P", DEFAULT_PIN, "-N", "246810"]);
    let sign_both = |bench: &Bench| {
        let text = bench.piv_tool_ok(&[
            "-a",
            "verify-pin",
            "-P",
            "246810",
            "-a",
            "test-signature",
            "-s",
            "9a",
            "-i",
            &rsa_cert,
        ]);
        assert!(text.contains("Successful RSA verification."), "{text}");
        // 9E needs no PIN.
        let text = bench.piv_tool_ok(&["-a", "test-signature", "-s", "9e", "-i", &ec_cert]);
        assert!(text.contains("Successful ECDSA verification."), "{text}");
    };
    sign_both(&bench);
    let status_before = bench.piv_tool_ok(&["-a", "status"]);

    bench.card.restart();

    let status_after = bench.piv_tool_ok(&["-a", "status"]);
    assert_eq!(
        status_after, status_before,
        "the card changed across a restart"
    );
    assert!(
        status_after.contains("CN=restart rsa") && status_after.contains("CN=restart ec"),
        "{status_after}"
    );
    sign_both(&bench);
    bench.piv_tool_fails(&["-a", "verify-pin", "-P", DEFAULT_PIN]);
}

#[test]
fn sigkill_during_pin_changes_keeps_old_or_new_pin() {
    const ROUNDS: usize = 12;
    let pins = ["123456", "654321"];
    let mut card = SimCard::start();
    let reader = card.reader.name;
    let mut jitter = Jitter::new();
    let mut current = 0usize; // index into `pins` of the PIN the card has
    let mut total_changes = 0;
    let mut in_flight_landed = 0;
    for round in 0..ROUNDS {
        let (started_tx, started_rx) = mpsc::channel();
        let start_pin = current;
        // Alternate the PIN as fast as the card allows until the card disappears.
        let client = std::thread::spawn(move || -> Result<(usize, usize, String), String> {
            let ctx = Context::establish(Scope::User).map_err(|e| e.to_string())?;
            let card = connect(&ctx, reader);
            let r = transmit(&card, &select()).map_err(|e| e.to_string())?;
            if r.sw != StatusWord::SUCCESS {
                return Err(format!("SELECT: {}", r.sw));
            }
            let (mut pin, mut changes) = (start_pin, 0usize);
            loop {
                match transmit(&card, &change_pin(pins[pin], pins[1 - pin])) {
                    Ok(r) if r.sw == StatusWord::SUCCESS => {
                        pin = 1 - pin;
                        changes += 1;
                        if changes == 1 {
                            let _ = started_tx.send(());
                        }
                    }
                    Ok(r) => {
                        return Err(format!(
                            "CHANGE REFERENCE DATA {} -> {}: {}",
                            pins[pin],
                            pins[1 - pin],
                            r.sw
                        ));
                    }
                    // The card went away mid-loop: the kill.
                    Err(e) => return Ok((pin, changes, e.to_string())),
                }
            }
        });
        started_rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| {
                panic!(
                    "round {round}: the client never changed the PIN\n{}",
                    log_tail(&card)
                )
            });
        std::thread::sleep(Duration::from_millis(jitter.below(40)));
        card.kill(libc::SIGKILL);
        let (confirmed, changes, ending) = client
            .join()
            .expect("client thread")
            .unwrap_or_else(|e| panic!("round {round}: {e}\n{}", log_tail(&card)));
        total_changes += changes;

        // The state file must load: `card-sim show`, then the card itself.
        let state = card.state.to_str().expect("utf-8 path").to_owned();
        let show = e2e::run(
            e2e::card_sim_binary().to_str().expect("utf-8"),
            &["show", "--state", &state],
        );
        assert!(
            show.status.success(),
            "round {round}: card-sim show failed:\n{}",
            e2e::output_text(&show)
        );
        card.start_again();

        // The PIN is the last confirmed one, or the one whose change was in flight.
        let ctx = Context::establish(Scope::User).expect("pcscd");
        let c = connect(&ctx, reader);
        expect_sw(&c, &select(), StatusWord::SUCCESS, "SELECT");
        let first = transmit(&c, &verify(pins[confirmed])).expect("VERIFY");
        current = if first.sw == StatusWord::SUCCESS {
            confirmed
        } else {
            assert!(
                first.sw.tries_left().is_some(),
                "round {round}: VERIFY {}: {}",
                pins[confirmed],
                first.sw
            );
            let second = transmit(&c, &verify(pins[1 - confirmed])).expect("VERIFY");
            assert_eq!(
                second.sw,
                StatusWord::SUCCESS,
                "round {round}: neither PIN works after SIGKILL ({} -> {}, {} -> {})\n{}",
                pins[confirmed],
                first.sw,
                pins[1 - confirmed],
                second.sw,
                log_tail(&card)
            );
            1 - confirmed
        };
        expect_sw(&c, &verify_status(), StatusWord::SUCCESS, "VERIFY status");
        c.disconnect(Disposition::LeaveCard)
            .map_err(|(_, e)| e)
            .expect("disconnect");
        if current != confirmed {
            in_flight_landed += 1;
        }
        // A correct PIN restored every try.
        let show = e2e::run_ok(
            e2e::card_sim_binary().to_str().expect("utf-8"),
            &["show", "--state", &state],
        );
        assert!(show.contains("3 of 3 tries left"), "round {round}:\n{show}");
        eprintln!(
            "round {round}: {changes} changes before SIGKILL ({ending}), PIN now {} ({})",
            pins[current],
            if current == confirmed {
                "last confirmed"
            } else {
                "the unconfirmed change landed"
            }
        );
    }
    eprintln!(
        "{total_changes} PIN changes in {ROUNDS} rounds; the change cut by SIGKILL landed {in_flight_landed} times"
    );
    assert!(
        total_changes >= ROUNDS,
        "too few PIN changes ran to test anything: {total_changes}"
    );
}

#[test]
fn concurrent_transactions_both_sign() {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::pkcs8::DecodePublicKey;
    use sha2::Digest;

    const ITERATIONS: usize = 25;
    let bench = Bench::new();
    let public = bench.generate("9a", "ECCP256", "concurrent");
    let pem = String::from_utf8(std::fs::read(&public).expect("public key")).expect("PEM");
    let key = p256::ecdsa::VerifyingKey::from_public_key_pem(&pem).expect("P-256 public key");
    let reader = bench.reader();
    let started = Instant::now();
    let signer = |who: usize| {
        std::thread::spawn(move || -> Vec<(Vec<u8>, Vec<u8>)> {
            let ctx = Context::establish(Scope::User).expect("pcscd");
            let mut card = connect(&ctx, reader);
            let mut out = Vec::new();
            for i in 0..ITERATIONS {
                let hash =
                    sha2::Sha256::digest(format!("client {who} message {i}").as_bytes()).to_vec();
                let tx = card.transaction().expect("transaction");
                expect_sw(&tx, &select(), StatusWord::SUCCESS, "SELECT");
                expect_sw(&tx, &verify(DEFAULT_PIN), StatusWord::SUCCESS, "VERIFY");
                let data = expect_sw(
                    &tx,
                    &sign_p256(Slot::Authentication, &hash),
                    StatusWord::SUCCESS,
                    "sign",
                );
                tx.end(Disposition::LeaveCard)
                    .map_err(|(_, e)| e)
                    .expect("end transaction");
                let signature = DynamicAuth::parse(&data)
                    .expect("7C template")
                    .response
                    .expect("tag 82");
                out.push((hash, signature));
            }
            // Leave the card as it is: the default (reset) would disturb the other client.
            card.disconnect(Disposition::LeaveCard)
                .map_err(|(_, e)| e)
                .expect("disconnect");
            out
        })
    };
    let (a, b) = (signer(1), signer(2));
    let results: Vec<_> = [a, b]
        .into_iter()
        .flat_map(|t| t.join().expect("signer thread"))
        .collect();
    eprintln!(
        "{} signatures by two clients in {:?}",
        results.len(),
        started.elapsed()
    );
    assert_eq!(results.len(), 2 * ITERATIONS);
    for (hash, der) in results {
        let signature = p256::ecdsa::Signature::from_der(&der).expect("DER ECDSA signature");
        key.verify_prehash(&hash, &signature)
            .expect("the signature verifies");
    }
}
