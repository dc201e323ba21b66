//! Secrets the card holds leave nothing behind in the memory it frees: the PIN-protected
//! management key in printed information (5FC109) is wiped from every copy of the state,
//! the one a write replaces, the one kept for a power cut, the ones a state file is
//! written from and read into, and the card's own when it goes.
//!
//! A test binary of its own, as it installs an allocator that looks into every block
//! freed while it watches.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use apdu_spec::piv::ObjectId;
use apdu_spec::piv::command::PutData;
use apdu_spec::piv::mgmt_key::ManagementKey;
use card_sim::control::Outcome;
use card_sim::{CardConfig, Control, ControlledCard};
use common::Reader;

/// The secret: bytes that appear nowhere else.
const SECRET: [u8; 16] = [
    0xD3, 0x7A, 0x91, 0x0E, 0x5C, 0xB2, 0x48, 0xF6, 0x2D, 0x83, 0x6B, 0xE9, 0x14, 0xA7, 0x3F, 0xC5,
];
/// The secret as a state file writes it.
const SECRET_HEX: &[u8; 32] = b"d37a910e5cb248f62d836be914a73fc5";

/// Counts the freed blocks that still held the secret, while `WATCHING`.
struct Watching;

static WATCHING: AtomicBool = AtomicBool::new(false);
static LEFT_BEHIND: AtomicUsize = AtomicUsize::new(0);

/// Whether `block` holds half of `secret` or more, anywhere in it: a piece of a secret
/// left behind (a vector outgrown while decoding, say) is a leak too.
fn holds(block: &[u8], secret: &[u8]) -> bool {
    let part = secret.len() / 2;
    secret
        .windows(part)
        .any(|piece| block.windows(part).any(|w| w.eq_ignore_ascii_case(piece)))
}

unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WATCHING.load(Ordering::Relaxed) {
            // The block is still ours until System takes it back.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds(block, &SECRET) || holds(block, SECRET_HEX) {
                LEFT_BEHIND.fetch_add(1, Ordering::Relaxed);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

impl Reader for ControlledCard {
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        match self.exchange(command) {
            Outcome::Answer { response, after } | Outcome::Broken { response, after } => {
                assert_eq!(after, Duration::ZERO);
                response.to_vec()
            }
            Outcome::Removed => Vec::new(),
        }
    }
}

/// Selected and authenticated with the factory management key, ready to write.
fn log_in(card: &mut ControlledCard) {
    common::select(card);
    let algorithm = card.card().state().management_key.algorithm();
    let key = ManagementKey::factory(algorithm).unwrap();
    assert!(common::authenticate_with(card, &key).is_success());
}

/// Writes a small retired certificate object `n`; whether the card took it.
fn write_other(card: &mut ControlledCard, n: u8) -> bool {
    let object = ObjectId::retired_certificate(n).unwrap();
    common::put_data(card, object, &[0x70, 0x01, n]).is_success()
}

#[test]
fn printed_information_is_wiped_from_every_copy_of_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let mut card = ControlledCard::open(&path, &CardConfig::default(), Control::default()).unwrap();
    log_in(&mut card);
    // Printed information's tag 88 (issuer), holding the secret as ykman holds a key there.
    let printed = [&[0x88, SECRET.len() as u8][..], &SECRET].concat();
    assert!(common::put_data(&mut card, ObjectId::PRINTED_INFORMATION, &printed).is_success());
    drop(printed);

    // From here on the test holds no copy: whatever holds the secret is the card's.
    WATCHING.store(true, Ordering::Relaxed);
    assert!(
        write_other(&mut card, 1),
        "a write copies and saves the state"
    );
    assert!(
        write_other(&mut card, 2),
        "and replaces the copy the last one kept"
    );
    card.control().power_cut().unwrap();
    let torn = PutData {
        object: ObjectId::retired_certificate(3).unwrap(),
        content: vec![0x70, 0x01, 0x03].into(),
    };
    let torn = torn.to_apdu().encode().unwrap();
    assert_eq!(card.exchange(&torn), Outcome::Removed, "a torn write");
    card.control().insert();
    log_in(&mut card);
    assert!(write_other(&mut card, 4));
    drop(card);
    // Read back from its file, the card holds the secret again, and lets it go wiped.
    let card = ControlledCard::open(&path, &CardConfig::default(), Control::default()).unwrap();
    drop(card);
    WATCHING.store(false, Ordering::Relaxed);

    assert_eq!(
        LEFT_BEHIND.load(Ordering::Relaxed),
        0,
        "freed blocks that held the secret"
    );
}
