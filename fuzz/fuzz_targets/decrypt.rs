//! Decryption of a whole message (headers, base64, CMS, key agreement on the fixture card,
//! content decryption, reassembly).
#![no_main]

use libfuzzer_sys::fuzz_target;
use smime_card_fuzz::fixtures;

fuzz_target!(|data: &[u8]| {
    let _ = fixtures::decrypt(data, &mut Vec::new());
});
