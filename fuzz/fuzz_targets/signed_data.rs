//! The CMS SignedData decoder of verification: the input is the BER of an opaque signed
//! message's body (BER normalisation, then SignedData decoding and the signer checks).
#![no_main]

use host_driver::smime::{ber, verify::verify};
use libfuzzer_sys::fuzz_target;
use smime_card_fuzz::fixtures;

const HEADER: &[u8] = b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\
Content-Transfer-Encoding: binary\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    if let Ok(der) = ber::to_der(data) {
        assert_eq!(
            ber::to_der(&der).as_ref(),
            Ok(&der),
            "DER is its own normal form"
        );
        let _ = ber::children(&der);
    }
    let message = [HEADER, data].concat();
    let _ = verify(&mut &message[..], None, fixtures::verify_options());
});
