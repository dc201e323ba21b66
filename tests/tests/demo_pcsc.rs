//! `smime-card demo --pcsc`: the demo's story through pcscd, its two cards served by
//! `card-sim` processes the demo starts and stops in the readers on ports 35963 and 35964.

use std::path::Path;
use std::process::{Command, Stdio};

use e2e::{Reader, card_sim_binary, output_text, smime_card_binary};

#[test]
fn demo_through_pcscd_tells_the_story_and_stops_its_cards() {
    // Both readers are the demo's alone while it runs.
    let readers = [Reader::claim_port(35963), Reader::claim_port(35964)];
    for reader in &readers {
        reader.wait_for_card(false);
    }
    // The demo runs the card-sim next to it.
    card_sim_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(smime_card_binary())
        .args(["demo", "--pcsc", "--dir"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("smime-card runs");
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    for expected in [
        "SMIME1's card is in the reader 'Virtual PCD 00 00'",
        "Good signature",
        "Refused, as it must be",
        "Every check held.",
    ] {
        assert!(
            text.contains(expected),
            "the demo did not say {expected:?}:\n{text}"
        );
    }
    // The demo's cards went with it.
    for reader in &readers {
        reader.wait_for_card(false);
    }
    let verified = test_pki::verify_mail(dir.path(), "received.eml", Path::new("ca/ca.pem"));
    assert!(
        verified.status.success(),
        "openssl cms -verify refused received.eml: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
