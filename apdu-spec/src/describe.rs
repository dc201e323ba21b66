//! One-line descriptions of APDUs for logs, with the names this crate defines and every
//! secret redacted: PINs, PUKs, management keys, imported keys, and the inputs and
//! results of GENERAL AUTHENTICATE (witnesses, decrypted session keys, shared secrets).

use crate::apdu::CommandApdu;
use crate::piv::Instruction;
use crate::response::Response;

/// Data longer than this is logged by its length only.
const SHOWN_DATA: usize = 64;

/// Whether the data of this instruction (command or response) may carry a secret.
pub fn carries_secret(ins: u8) -> bool {
    matches!(
        Instruction::from_byte(ins),
        Some(
            Instruction::Verify
                | Instruction::ChangeReferenceData
                | Instruction::ResetRetryCounter
                | Instruction::GeneralAuthenticate
                | Instruction::ImportKey
                | Instruction::SetManagementKey
        )
    )
}

fn data(ins: u8, bytes: &[u8]) -> String {
    match bytes.len() {
        0 => String::new(),
        n if carries_secret(ins) => format!(" [{n} bytes redacted]"),
        n if n > SHOWN_DATA => format!(" [{n} bytes]"),
        _ => format!(" {}", hex(bytes)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `VERIFY (00 20 00 80) [8 bytes redacted] Le=absent`
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
        data(cmd.ins, &cmd.data)
    )
}

/// `9000 (success) 3 bytes: 050701` for the response to instruction `ins`.
pub fn response(ins: u8, r: &Response) -> String {
    let body = if r.data.is_empty() {
        String::new()
    } else {
        format!(",{}", data(ins, &r.data))
    };
    format!("{}{body}", r.sw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StatusWord;

    #[test]
    fn secrets_are_redacted() {
        let verify = CommandApdu::new(0, 0x20, 0, 0x80).with_data(b"123456\xFF\xFF".to_vec());
        let line = command(&verify);
        assert_eq!(line, "VERIFY (00 20 00 80) [8 bytes redacted]");
        assert!(!line.contains("313233"));
        let ecdh = Response::ok(vec![0x7C, 0x22, 0x82, 0x20, 1, 2, 3]);
        assert_eq!(response(0x87, &ecdh), "9000 (success), [7 bytes redacted]");
    }

    #[test]
    fn public_data_is_shown() {
        let select = CommandApdu::new(0, 0xA4, 4, 0).with_data(vec![0xA0, 0, 0, 3, 8]);
        assert_eq!(command(&select), "SELECT (00 A4 04 00) A000000308");
        assert_eq!(
            response(0xFD, &Response::ok(vec![5, 7, 1])),
            "9000 (success), 050701"
        );
        assert_eq!(
            response(0xCB, &Response::status(StatusWord::NOT_FOUND)),
            "6A82 (file or application not found)"
        );
    }
}
