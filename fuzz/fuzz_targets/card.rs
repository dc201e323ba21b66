//! The card: a sequence of APDUs sent to a factory-fresh card, or to one already logged
//! in (see `card_harness`). Any answer is fine; a panic is not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smime_card_fuzz::card_harness::run(data));
