//! The control socket's line protocol: one command per line, answered by one line,
//! `ok <text>` or `error: <message>`.
//!
//! ```text
//! remove                                 take the card out of the reader
//! insert                                 put it back
//! fail sw=6581 [count=N] [ins=DB]        answer the next N commands (default 1) with SW
//! delay ms=500 [count=N]                 hold back the next N answers (default: all, until clear)
//! drop [count=N]                         break the link part-way through the next N answers
//! power-cut                              cut the power in the middle of the next state write
//! touch [wait=SECONDS]                   touch (first waiting, up to a day, until an operation waits)
//! status                                 what is planned
//! clear                                  forget every planned fault
//! ```
//!
//! Numbers are decimal; a status word and an instruction are hexadecimal. Every command
//! but `touch` answers with the status line (see [`Status`](super::Status)).

use std::fmt;
use std::str::FromStr;

use apdu_spec::StatusWord;
use hex::FromHex;

use crate::touch::LONGEST_WAIT;

/// One line of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Remove,
    Insert,
    Fail {
        sw: StatusWord,
        count: u32,
        ins: Option<u8>,
    },
    Delay {
        ms: u64,
        count: Option<u32>,
    },
    Drop {
        count: u32,
    },
    PowerCut,
    Touch {
        wait: Option<u64>,
    },
    Status,
    Clear,
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty command")]
    Empty,
    #[error(
        "unknown command \"{0}\" (remove, insert, fail, delay, drop, power-cut, touch, status, clear)"
    )]
    Unknown(String),
    #[error("{command} takes no argument \"{argument}\"")]
    UnexpectedArgument {
        command: &'static str,
        argument: String,
    },
    #[error("{command} needs {key}=")]
    Missing {
        command: &'static str,
        key: &'static str,
    },
    #[error("{key}={value} is not {expected}")]
    BadValue {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// The `key=value` arguments of one line.
struct Arguments<'a> {
    command: &'static str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Arguments<'a> {
    fn new(
        command: &'static str,
        words: impl Iterator<Item = &'a str>,
        known: &[&str],
    ) -> Result<Self, ParseError> {
        let mut pairs = Vec::new();
        for word in words {
            match word.split_once('=') {
                Some((key, value))
                    if known.contains(&key) && !pairs.iter().any(|(k, _)| *k == key) =>
                {
                    pairs.push((key, value));
                }
                _ => {
                    return Err(ParseError::UnexpectedArgument {
                        command,
                        argument: word.to_owned(),
                    });
                }
            }
        }
        Ok(Self { command, pairs })
    }

    fn get<T>(
        &self,
        key: &'static str,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ParseError> {
        let Some((_, value)) = self.pairs.iter().find(|(k, _)| *k == key) else {
            return Ok(None);
        };
        parse(value).map(Some).ok_or_else(|| ParseError::BadValue {
            key,
            value: (*value).to_owned(),
            expected,
        })
    }

    fn count(&self) -> Result<Option<u32>, ParseError> {
        self.get("count", "a count of 1 or more", |v| {
            v.parse().ok().filter(|n| *n > 0)
        })
    }

    fn require<T>(&self, key: &'static str, value: Option<T>) -> Result<T, ParseError> {
        value.ok_or(ParseError::Missing {
            command: self.command,
            key,
        })
    }
}

/// A status word in 4 hex digits, such as 6581: hex digits only, no sign or prefix
/// (`u16::from_str_radix` would take `+FFF`). The protocol and `card-sim ctl` both read
/// one this way.
pub fn parse_status_word(v: &str) -> Option<StatusWord> {
    <[u8; 2]>::from_hex(v)
        .ok()
        .map(|sw| StatusWord(u16::from_be_bytes(sw)))
}

/// An instruction in 2 hex digits, such as DB, read as [`parse_status_word`] reads.
pub fn parse_instruction(v: &str) -> Option<u8> {
    <[u8; 1]>::from_hex(v).ok().map(|[ins]| ins)
}

impl FromStr for Command {
    type Err = ParseError;

    fn from_str(line: &str) -> Result<Self, ParseError> {
        let mut words = line.split_ascii_whitespace();
        let name = words.next().ok_or(ParseError::Empty)?;
        let plain = |command: Command,
                     name: &'static str,
                     mut words: std::str::SplitAsciiWhitespace<'_>| {
            Arguments::new(name, words.by_ref(), &[]).map(|_| command)
        };
        match name {
            "remove" => plain(Command::Remove, "remove", words),
            "insert" => plain(Command::Insert, "insert", words),
            "power-cut" => plain(Command::PowerCut, "power-cut", words),
            "status" => plain(Command::Status, "status", words),
            "clear" => plain(Command::Clear, "clear", words),
            "fail" => {
                let args = Arguments::new("fail", words, &["sw", "count", "ins"])?;
                let sw = args.get("sw", "a status word in 4 hex digits", parse_status_word)?;
                Ok(Command::Fail {
                    sw: args.require("sw", sw)?,
                    count: args.count()?.unwrap_or(1),
                    ins: args.get("ins", "an instruction in 2 hex digits", parse_instruction)?,
                })
            }
            "delay" => {
                let args = Arguments::new("delay", words, &["ms", "count"])?;
                let ms = args.get("ms", "milliseconds", |v| v.parse().ok())?;
                Ok(Command::Delay {
                    ms: args.require("ms", ms)?,
                    count: args.count()?,
                })
            }
            "drop" => {
                let args = Arguments::new("drop", words, &["count"])?;
                Ok(Command::Drop {
                    count: args.count()?.unwrap_or(1),
                })
            }
            "touch" => {
                let args = Arguments::new("touch", words, &["wait"])?;
                Ok(Command::Touch {
                    wait: args.get("wait", "seconds, at most a day (86400)", |v| {
                        v.parse().ok().filter(|s| *s <= LONGEST_WAIT.as_secs())
                    })?,
                })
            }
            other => Err(ParseError::Unknown(other.to_owned())),
        }
    }
}

impl fmt::Display for Command {
    /// The command as a line of the protocol (without the newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Command::Remove => f.write_str("remove"),
            Command::Insert => f.write_str("insert"),
            Command::Fail { sw, count, ins } => {
                write!(f, "fail sw={:04X} count={count}", sw.0)?;
                match ins {
                    Some(ins) => write!(f, " ins={ins:02X}"),
                    None => Ok(()),
                }
            }
            Command::Delay { ms, count } => {
                write!(f, "delay ms={ms}")?;
                match count {
                    Some(n) => write!(f, " count={n}"),
                    None => Ok(()),
                }
            }
            Command::Drop { count } => write!(f, "drop count={count}"),
            Command::PowerCut => f.write_str("power-cut"),
            Command::Touch { wait: None } => f.write_str("touch"),
            Command::Touch { wait: Some(s) } => write!(f, "touch wait={s}"),
            Command::Status => f.write_str("status"),
            Command::Clear => f.write_str("clear"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_reads_back_as_written() {
        let commands = [
            Command::Remove,
            Command::Insert,
            Command::Fail {
                sw: StatusWord::MEMORY_FAILURE,
                count: 2,
                ins: Some(0xDB),
            },
            Command::Fail {
                sw: StatusWord(0x6F00),
                count: 1,
                ins: None,
            },
            Command::Delay {
                ms: 500,
                count: None,
            },
            Command::Delay {
                ms: 0,
                count: Some(3),
            },
            Command::Drop { count: 1 },
            Command::PowerCut,
            Command::Touch { wait: None },
            Command::Touch { wait: Some(10) },
            Command::Status,
            Command::Clear,
        ];
        for command in commands {
            assert_eq!(command.to_string().parse::<Command>(), Ok(command));
        }
    }

    #[test]
    fn defaults_and_case() {
        assert_eq!(
            "fail sw=6a82 ins=cb".parse(),
            Ok(Command::Fail {
                sw: StatusWord::NOT_FOUND,
                count: 1,
                ins: Some(0xCB)
            })
        );
        assert_eq!("drop".parse(), Ok(Command::Drop { count: 1 }));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let error = |line: &str| line.parse::<Command>().unwrap_err().to_string();
        assert_eq!(error(""), "empty command");
        assert!(error("explode").starts_with("unknown command \"explode\""));
        assert_eq!(error("fail"), "fail needs sw=");
        assert_eq!(
            error("fail sw=65811"),
            "sw=65811 is not a status word in 4 hex digits"
        );
        assert_eq!(
            error("fail sw=6581 count=0"),
            "count=0 is not a count of 1 or more"
        );
        assert_eq!(
            error("fail sw=6581 sw=6582"),
            "fail takes no argument \"sw=6582\""
        );
        assert_eq!(error("remove now"), "remove takes no argument \"now\"");
        assert_eq!(error("delay count=2"), "delay needs ms=");
        assert_eq!(
            error("touch wait=-1"),
            "wait=-1 is not seconds, at most a day (86400)"
        );
        assert_eq!(
            error("touch wait=18446744073709551615"),
            "wait=18446744073709551615 is not seconds, at most a day (86400)"
        );
        assert_eq!(
            "touch wait=86400".parse(),
            Ok(Command::Touch { wait: Some(86400) })
        );
    }

    #[test]
    fn hex_values_are_hex_digits_and_nothing_else() {
        assert_eq!(parse_status_word("6a82"), Some(StatusWord::NOT_FOUND));
        assert_eq!(parse_instruction("DB"), Some(0xDB));
        for bad in ["+FFF", "-FFF", " FFF", "0x6A", "6A8", "6A820", ""] {
            assert_eq!(parse_status_word(bad), None, "{bad:?}");
        }
        for bad in ["+F", "-1", " F", "F", "DBB", ""] {
            assert_eq!(parse_instruction(bad), None, "{bad:?}");
        }
        assert_eq!(
            "fail sw=+FFF".parse::<Command>().unwrap_err().to_string(),
            "sw=+FFF is not a status word in 4 hex digits"
        );
    }
}
