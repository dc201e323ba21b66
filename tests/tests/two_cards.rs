//! Two `card-sim serve` processes, each its own card in its own reader, side by side.

use e2e::{SimCard, run_ok};

#[test]
fn two_cards_in_two_readers_answer_independently() {
    let first = SimCard::start_with(&["--serial", "1111111"]);
    let second = SimCard::start_with(&["--serial", "2222222"]);
    assert_ne!(first.reader.name, second.reader.name);
    let status =
        |card: &SimCard| run_ok("yubico-piv-tool", &["-r", card.reader.name, "-a", "status"]);
    assert!(
        status(&first).contains("Serial Number:\t1111111"),
        "{}",
        status(&first)
    );
    assert!(
        status(&second).contains("Serial Number:\t2222222"),
        "{}",
        status(&second)
    );
    // A PIN spent on one card leaves the other's counter alone.
    let out = e2e::run(
        "yubico-piv-tool",
        &["-r", first.reader.name, "-P", "000000", "-a", "verify-pin"],
    );
    assert!(!out.status.success());
    assert!(status(&first).contains("PIN tries left:\t2"));
    assert!(status(&second).contains("PIN tries left:\t3"));
}
