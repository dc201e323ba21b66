//! `card-sim serve` reconnects when pcscd restarts. The only test in its binary: it
//! restarts the shared pcscd, which must happen while no other test runs: `cargo test`
//! runs one binary at a time, and nextest runs this test alone (`.config/nextest.toml`).

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::{SimCard, output_text, run, run_ok};

#[test]
fn card_sim_comes_back_after_pcscd_restarts() {
    let card = SimCard::start();
    let status = || {
        run(
            "yubico-piv-tool",
            &["-r", card.reader.name, "-a", "version"],
        )
    };
    assert!(output_text(&status()).contains("5.7.1"));

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/pcsc-env.sh");
    run_ok("bash", &[script.to_str().unwrap(), "restart"]);

    // The card reconnects with backoff (at most two seconds between tries).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = status();
        if out.status.success() && output_text(&out).contains("5.7.1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the card did not come back:\n{}\n{}",
            output_text(&out),
            card.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(card.log().contains("reconnecting"), "{}", card.log());
}
