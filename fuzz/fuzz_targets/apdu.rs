//! Command APDU parsing: any bytes either fail with an error or give a command that
//! encodes and parses back to itself. Responses and the log's descriptions of both must
//! cope with anything too.
#![no_main]

use apdu_spec::{CommandApdu, Response, describe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = CommandApdu::parse(data) {
        let encoded = cmd.encode().expect("a parsed command encodes");
        assert_eq!(CommandApdu::parse(&encoded).as_ref(), Ok(&cmd));
        let _ = describe::command(&cmd);
        if let Some(response) = Response::parse(data) {
            assert_eq!(response.encode(), data);
            let _ = describe::response(cmd.ins, &response);
        }
    }
});
