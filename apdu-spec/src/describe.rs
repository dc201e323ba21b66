//! One-line descriptions of APDUs for logs, with the names this crate defines.
//!
//! Data is shown only where it is known to be public: the AID of SELECT and the
//! application template it returns, the tag list of GET DATA, the key generation template
//! and the public key GENERATE returns, and the answers of GET VERSION, GET SERIAL and GET
//! METADATA. Everything else is logged by its length alone: PINs, PUKs, management keys,
//! imported keys, data objects (which may hold a PIN-protected management key), and every
//! GENERAL AUTHENTICATE input and result, including the parts of a long answer that come
//! back through GET RESPONSE (decrypted session keys, shared secrets).

use crate::apdu::CommandApdu;
use crate::piv::Instruction;
use crate::response::Response;

/// Public data longer than this is logged by its length only.
const SHOWN_DATA: usize = 64;

/// Whether a command's data field is public.
fn command_data_is_public(ins: u8) -> bool {
    matches!(
        Instruction::from_byte(ins),
        Some(Instruction::Select | Instruction::GetData | Instruction::GenerateAsymmetricKeyPair)
    )
}

/// Whether the data a command answers with is public. GET RESPONSE is not: it carries
/// the rest of whatever answer came before it.
fn response_data_is_public(ins: u8) -> bool {
    matches!(
        Instruction::from_byte(ins),
        Some(
            Instruction::Select
                | Instruction::GetVersion
                | Instruction::GetSerial
                | Instruction::GetMetadata
                | Instruction::GenerateAsymmetricKeyPair
        )
    )
}

fn data(public: bool, bytes: &[u8]) -> String {
    match bytes.len() {
        0 => String::new(),
        n if !public || n > SHOWN_DATA => format!(" [{n} bytes]"),
        _ => format!(" {}", hex::encode_upper(bytes)),
    }
}

/// `VERIFY (00 20 00 80) [8 bytes]`
pub fn command(cmd: &CommandApdu) -> String {
    let name = Instruction::from_byte(cmd.ins).map_or("unknown instruction", Instruction::name);
    let chained = if cmd.is_chained() { ", chained" } else { "" };
    let le = cmd.le.map_or(String::new(), |le| format!(" Le={le}"));
    format!(
        "{name} ({:02X} {:02X} {:02X} {:02X}{chained}){}{le}",
        cmd.cla,
        cmd.ins,
        cmd.p1,
        cmd.p2,
        data(command_data_is_public(cmd.ins), &cmd.data)
    )
}

/// `9000 (success), 050701` for the response to instruction `ins`.
pub fn response(ins: u8, r: &Response) -> String {
    let body = if r.data.is_empty() {
        String::new()
    } else {
        format!(",{}", data(response_data_is_public(ins), &r.data))
    };
    format!("{}{body}", r.sw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StatusWord;

    #[test]
    fn secrets_are_never_shown() {
        let verify = CommandApdu::new(0, 0x20, 0, 0x80).with_data(b"123456\xFF\xFF".to_vec());
        assert_eq!(command(&verify), "VERIFY (00 20 00 80) [8 bytes]");
        let ecdh = Response::ok(vec![0x7C, 0x22, 0x82, 0x20, 1, 2, 3]);
        assert_eq!(response(0x87, &ecdh), "9000 (success), [7 bytes]");
        // The tail of a long decryption result arrives through GET RESPONSE.
        let tail = Response::ok(vec![0xAB; 8]);
        assert_eq!(response(0xC0, &tail), "9000 (success), [8 bytes]");
        // Objects may hold a PIN-protected management key.
        let put = CommandApdu::new(0, 0xDB, 0x3F, 0xFF)
            .with_data(vec![0x5C, 3, 0x5F, 0xC1, 0x09, 0x53, 2, 1, 2]);
        assert_eq!(command(&put), "PUT DATA (00 DB 3F FF) [9 bytes]");
        assert_eq!(
            response(0xCB, &Response::ok(vec![0x53, 0x01, 0x00])),
            "9000 (success), [3 bytes]"
        );
    }

    #[test]
    fn public_data_is_shown() {
        let select = CommandApdu::new(0, 0xA4, 4, 0).with_data(vec![0xA0, 0, 0, 3, 8]);
        assert_eq!(command(&select), "SELECT (00 A4 04 00) A000000308");
        assert_eq!(
            response(0xFD, &Response::ok(vec![5, 7, 1])),
            "9000 (success), 050701"
        );
        let get = CommandApdu::new(0, 0xCB, 0x3F, 0xFF).with_data(vec![0x5C, 1, 0x7E]);
        assert_eq!(command(&get), "GET DATA (00 CB 3F FF) 5C017E");
        assert_eq!(
            response(0xCB, &Response::status(StatusWord::NOT_FOUND)),
            "6A82 (file or application not found)"
        );
    }
}
