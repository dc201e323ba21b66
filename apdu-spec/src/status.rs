//! Status words (ISO 7816-4 §5.6): the two trailer bytes of every response.
//!
//! A status word other than 9000 is how a card says no, so the type doubles as the error
//! of card command handlers and of host operations.

use std::fmt;

/// SW1-SW2 as one number, e.g. `0x6982`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    pub const SUCCESS: Self = Self(0x9000);
    /// Warning: the returned data may be corrupted.
    pub const WARNING_DATA_CORRUPTED: Self = Self(0x6281);
    /// Warning: the selected file or application is deactivated / end of data reached.
    pub const WARNING_END_OF_DATA: Self = Self(0x6282);
    pub const WARNING_SELECTED_FILE_DEACTIVATED: Self = Self(0x6283);
    /// Error: memory failure (the card could not save its state).
    pub const MEMORY_FAILURE: Self = Self(0x6581);
    pub const WRONG_LENGTH: Self = Self(0x6700);
    pub const LOGICAL_CHANNEL_NOT_SUPPORTED: Self = Self(0x6881);
    pub const SECURE_MESSAGING_NOT_SUPPORTED: Self = Self(0x6882);
    pub const LAST_COMMAND_OF_CHAIN_EXPECTED: Self = Self(0x6883);
    pub const CHAINING_NOT_SUPPORTED: Self = Self(0x6884);
    pub const SECURITY_STATUS_NOT_SATISFIED: Self = Self(0x6982);
    pub const AUTH_METHOD_BLOCKED: Self = Self(0x6983);
    pub const REFERENCE_DATA_NOT_USABLE: Self = Self(0x6984);
    pub const CONDITIONS_NOT_SATISFIED: Self = Self(0x6985);
    pub const COMMAND_NOT_ALLOWED: Self = Self(0x6986);
    pub const INCORRECT_DATA: Self = Self(0x6A80);
    pub const FUNCTION_NOT_SUPPORTED: Self = Self(0x6A81);
    pub const NOT_FOUND: Self = Self(0x6A82);
    pub const NOT_ENOUGH_MEMORY: Self = Self(0x6A84);
    pub const INCORRECT_P1P2: Self = Self(0x6A86);
    pub const REFERENCE_DATA_NOT_FOUND: Self = Self(0x6A88);
    pub const WRONG_P1P2: Self = Self(0x6B00);
    pub const INS_NOT_SUPPORTED: Self = Self(0x6D00);
    pub const CLA_NOT_SUPPORTED: Self = Self(0x6E00);
    pub const NO_PRECISE_DIAGNOSIS: Self = Self(0x6F00);

    pub const fn from_bytes(sw1: u8, sw2: u8) -> Self {
        Self(u16::from_be_bytes([sw1, sw2]))
    }

    /// `61xx`: xx more bytes are waiting for GET RESPONSE (00 means 256 or more).
    pub const fn bytes_available(n: usize) -> Self {
        Self::from_bytes(0x61, if n >= 256 { 0 } else { n as u8 })
    }

    /// `6Cxx`: wrong Le; the command should be sent again with Le = xx.
    pub const fn wrong_le(exact: usize) -> Self {
        Self::from_bytes(0x6C, if exact >= 256 { 0 } else { exact as u8 })
    }

    /// `63Cx`: verification failed, x tries left (a YubiKey reports at most 15).
    pub const fn verify_failed(tries_left: u8) -> Self {
        Self::from_bytes(0x63, 0xC0 | if tries_left > 15 { 15 } else { tries_left })
    }

    pub const fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    pub const fn sw2(self) -> u8 {
        self.0 as u8
    }

    pub const fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    pub const fn is_success(self) -> bool {
        self.0 == 0x9000
    }

    /// For `61xx`, how many bytes are waiting (256 for `6100`).
    pub const fn remaining(self) -> Option<usize> {
        match self.sw1() {
            0x61 if self.sw2() == 0 => Some(256),
            0x61 => Some(self.sw2() as usize),
            _ => None,
        }
    }

    /// For `6Cxx`, the exact Le the card wants.
    pub const fn exact_le(self) -> Option<usize> {
        match self.sw1() {
            0x6C if self.sw2() == 0 => Some(256),
            0x6C => Some(self.sw2() as usize),
            _ => None,
        }
    }

    /// For `63Cx`, the tries left.
    pub const fn tries_left(self) -> Option<u8> {
        if self.sw1() == 0x63 && self.sw2() & 0xF0 == 0xC0 {
            Some(self.sw2() & 0x0F)
        } else {
            None
        }
    }

    /// What the status word means, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::SUCCESS => "success",
            Self::WARNING_DATA_CORRUPTED => "part of the returned data may be corrupted",
            Self::WARNING_END_OF_DATA => "end of data reached",
            Self::WARNING_SELECTED_FILE_DEACTIVATED => "selected file or application deactivated",
            Self::MEMORY_FAILURE => "memory failure",
            Self::WRONG_LENGTH => "wrong length",
            Self::LOGICAL_CHANNEL_NOT_SUPPORTED => "logical channel not supported",
            Self::SECURE_MESSAGING_NOT_SUPPORTED => "secure messaging not supported",
            Self::LAST_COMMAND_OF_CHAIN_EXPECTED => "last command of the chain expected",
            Self::CHAINING_NOT_SUPPORTED => "command chaining not supported",
            Self::SECURITY_STATUS_NOT_SATISFIED => "security status not satisfied",
            Self::AUTH_METHOD_BLOCKED => "authentication method blocked",
            Self::REFERENCE_DATA_NOT_USABLE => "reference data not usable",
            Self::CONDITIONS_NOT_SATISFIED => "conditions of use not satisfied",
            Self::COMMAND_NOT_ALLOWED => "command not allowed",
            Self::INCORRECT_DATA => "incorrect parameters in the data field",
            Self::FUNCTION_NOT_SUPPORTED => "function not supported",
            Self::NOT_FOUND => "file or application not found",
            Self::NOT_ENOUGH_MEMORY => "not enough memory space",
            Self::INCORRECT_P1P2 => "incorrect parameters P1-P2",
            Self::REFERENCE_DATA_NOT_FOUND => "referenced data not found",
            Self::WRONG_P1P2 => "wrong parameters P1-P2",
            Self::INS_NOT_SUPPORTED => "instruction not supported",
            Self::CLA_NOT_SUPPORTED => "class not supported",
            Self::NO_PRECISE_DIAGNOSIS => "no precise diagnosis",
            sw if sw.remaining().is_some() => "more response data available",
            sw if sw.exact_le().is_some() => "wrong Le",
            sw if sw.tries_left().is_some() => "verification failed",
            _ => "unknown status",
        }
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({:04X})", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tries_left() {
            Some(n) => write!(f, "{:04X} (verification failed, {n} tries left)", self.0),
            None => write!(f, "{:04X} ({})", self.0, self.describe()),
        }
    }
}

impl std::error::Error for StatusWord {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_counters_in_status_words() {
        assert_eq!(StatusWord(0x63C2).tries_left(), Some(2));
        assert_eq!(StatusWord(0x6100).remaining(), Some(256));
        assert_eq!(StatusWord(0x6110).remaining(), Some(16));
        assert_eq!(StatusWord(0x6C08).exact_le(), Some(8));
        assert_eq!(StatusWord::verify_failed(20), StatusWord(0x63CF));
        assert_eq!(StatusWord::bytes_available(300), StatusWord(0x6100));
        assert_eq!(StatusWord::SUCCESS.tries_left(), None);
    }

    #[test]
    fn displays_with_meaning() {
        assert_eq!(
            StatusWord(0x6982).to_string(),
            "6982 (security status not satisfied)"
        );
        assert_eq!(
            StatusWord(0x63C1).to_string(),
            "63C1 (verification failed, 1 tries left)"
        );
    }
}
