//! The streamed BER reader of decryption: the input is the BER of an encrypted message's
//! body, read as EnvelopedData or AuthEnvelopedData and decrypted with the fixture card.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smime_card_fuzz::fixtures;

const HEADER: &[u8] = b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\
Content-Transfer-Encoding: binary\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    let _ = fixtures::decrypt(&[HEADER, data].concat(), &mut Vec::new());
});
