//! The MIME header parsing of S/MIME verification and decryption: the header block, the
//! Content-Type and its parameters, the transfer encoding and the From mailbox.
#![no_main]

use host_driver::smime::mime;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    let Ok(headers) = mime::read_headers(&mut input) else {
        return;
    };
    let content_type = mime::content_type(&headers);
    let _ = content_type.param("boundary");
    let _ = mime::transfer_encoding(&headers);
    for header in &headers {
        let value = header.value();
        let _ = mime::mailbox_address(&value);
        let _ = mime::ContentType::parse(&value);
        let mut written = Vec::new();
        header.write_crlf(&mut written);
        let reread = mime::read_headers(&mut &written[..]).expect("a written header reads");
        assert_eq!(reread.len(), 1, "{written:?}");
    }
});
