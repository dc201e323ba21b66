//! S/MIME verification of a whole message (MIME, multipart streaming, opaque bodies, CMS
//! decoding, signer checks) against the fixture CA.
#![no_main]

use host_driver::smime::verify::verify;
use libfuzzer_sys::fuzz_target;
use smime_card_fuzz::fixtures;

fuzz_target!(|data: &[u8]| {
    let mut content = Vec::new();
    let _ = verify(
        &mut &data[..],
        Some(&mut content),
        fixtures::verify_options(),
    );
});
