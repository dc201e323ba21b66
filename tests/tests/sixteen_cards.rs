//! Sixteen `card-sim serve` cards, one in each of pcscd's readers, at once: they come up
//! together, pcscd shows every one, and each answers for itself while all are at work, as
//! a rack of YubiKeys on one machine would. It needs every reader, so it runs alone (see
//! `.config/nextest.toml`).

mod common;

use std::collections::BTreeSet;
use std::ffi::CString;
use std::time::Duration;

use common::Bench;
use e2e::READERS;

/// The serial of the `index`th card.
fn serial(index: usize) -> String {
    (7_000_000 + index).to_string()
}

/// Runs `work` on every item, each in a thread of its own; the results in order.
fn in_parallel<I: Send, O: Send>(items: Vec<I>, work: impl Fn(usize, I) -> O + Sync) -> Vec<O> {
    let work = &work;
    std::thread::scope(|scope| {
        let running: Vec<_> = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| scope.spawn(move || work(index, item)))
            .collect();
        running
            .into_iter()
            .map(|thread| thread.join().expect("a card's thread panicked"))
            .collect()
    })
}

/// What a card told about itself, and where its attestation of a fresh key and its
/// attestation certificate (F9) are.
struct Answer {
    chuid: String,
    attestation: String,
    f9: String,
}

/// `yubico-piv-tool status` names the card's own serial; a P-256 key generated in 9A is
/// attested by the card's F9 key, which verifies with the card's own F9 certificate.
fn status_and_attestation(index: usize, bench: &Bench) -> Answer {
    let status = bench.piv_tool_ok(&["-a", "status"]);
    assert!(
        status.contains(&format!("Serial Number:\t{}\n", serial(index))),
        "'{}' does not answer with serial {}:\n{status}",
        bench.reader(),
        serial(index)
    );
    let chuid = status
        .lines()
        .find_map(|line| line.strip_prefix("CHUID:\t"))
        .unwrap_or_else(|| panic!("no CHUID:\n{status}"))
        .to_owned();

    let public = bench.generate("9a", "ECCP256", "9a");
    let (attestation, f9) = bench.attest_verified("9a");
    let attested = bench.openssl_ok(&["x509", "-in", &attestation, "-noout", "-pubkey"]);
    assert_eq!(
        attested.trim(),
        String::from_utf8_lossy(&bench.read("9a.pub.pem")).trim(),
        "'{}' attested another key than {public}",
        bench.reader()
    );
    Answer {
        chuid,
        attestation,
        f9,
    }
}

#[test]
fn sixteen_cards_in_sixteen_readers_each_answer_for_their_own() {
    // Started at once: each start waits for pcscd to see its card.
    let benches = in_parallel(vec![(); READERS.len()], |index, ()| {
        Bench::with(&["--serial", &serial(index)])
    });
    let taken: BTreeSet<&str> = benches.iter().map(Bench::reader).collect();
    let all: BTreeSet<&str> = READERS.iter().map(|&(_, name)| name).collect();
    assert_eq!(taken, all, "the cards are not in every reader");

    // One client sees all sixteen cards present together.
    let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("pcscd runs");
    let mut states: Vec<pcsc::ReaderState> = READERS
        .iter()
        .map(|&(_, name)| pcsc::ReaderState::new(CString::new(name).unwrap(), pcsc::State::UNAWARE))
        .collect();
    ctx.get_status_change(Duration::from_secs(0), &mut states)
        .expect("pcscd reports the readers' states");
    let empty: Vec<_> = states
        .iter()
        .filter(|state| !state.event_state().contains(pcsc::State::PRESENT))
        .map(|state| state.name().to_string_lossy().into_owned())
        .collect();
    assert!(empty.is_empty(), "pcscd shows no card in {empty:?}");

    let answered = in_parallel(benches, |index, bench| {
        let answer = status_and_attestation(index, &bench);
        (bench, answer)
    });
    let chuids: BTreeSet<&str> = answered.iter().map(|(_, a)| a.chuid.as_str()).collect();
    assert_eq!(chuids.len(), READERS.len(), "two cards share a CHUID");
    // Each attestation key is the card's own: no card's attestation verifies with the
    // next card's F9 certificate.
    for (index, (bench, answer)) in answered.iter().enumerate() {
        let (_, next) = &answered[(index + 1) % answered.len()];
        let out = e2e::run(
            "openssl",
            &[
                "verify",
                "-CAfile",
                &next.f9,
                "-partial_chain",
                &answer.attestation,
            ],
        );
        let text = e2e::output_text(&out);
        // Refused for the chain, not for anything else that could make openssl fail: an
        // F9 of another name is no issuer, one of the same name signed with another key.
        let refused_for_the_chain = [
            "unable to get local issuer certificate",
            "certificate signature failure",
        ]
        .iter()
        .any(|reason| text.contains(reason));
        assert!(
            !out.status.success() && refused_for_the_chain,
            "the attestation of '{}' is not refused as unsigned by another card's F9:\n{text}",
            bench.reader(),
        );
    }
}
