//! Writing a trace as the session goes, and reading one back whole.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

use super::{Event, FORMAT, Header, Power, Redactor, VERSION};

/// Writes a trace line by line, each flushed as it is written: a trace is a log, kept as
/// far as the session went even when the program then fails or is killed.
pub struct TraceWriter<W: Write = File> {
    out: W,
    redactor: Redactor,
}

impl TraceWriter<File> {
    /// Creates (or empties) the file at `path`, readable by its owner alone, and writes the
    /// header. A trace of a real card still holds what its commands returned.
    pub fn create(path: &Path, header: &Header) -> io::Result<Self> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        // `mode` applies to a file created now; one that existed keeps its own otherwise.
        file.set_permissions(Permissions::from_mode(0o600))?;
        Self::new(file, header)
    }
}

impl<W: Write> TraceWriter<W> {
    /// Writes `header` to `out` and returns the writer of the lines that follow.
    pub fn new(out: W, header: &Header) -> io::Result<Self> {
        let mut writer = Self {
            out,
            redactor: Redactor::new(),
        };
        writer.line(header)?;
        Ok(writer)
    }

    /// Records one exchange, its secrets redacted.
    pub fn exchange(
        &mut self,
        command: &[u8],
        response: &[u8],
        elapsed: Option<Duration>,
    ) -> io::Result<()> {
        let redacted = self.redactor.exchange(command, response);
        self.line(&Event::Exchange {
            command: redacted.command,
            response: redacted.response,
            elapsed_us: elapsed.map(|d| d.as_micros().try_into().unwrap_or(u64::MAX)),
        })
    }

    /// Records a power event.
    pub fn power(&mut self, power: Power) -> io::Result<()> {
        self.redactor.power_event();
        self.line(&Event::from(power))
    }

    /// One line in one write, then flushed.
    fn line(&mut self, record: &impl Serialize) -> io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        self.out.write_all(&line)?;
        self.out.flush()
    }
}

/// Why a trace cannot be read.
#[derive(Debug, Error)]
pub enum TraceError {
    #[error("cannot read the trace {}: {source}", .path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read the trace: {0}")]
    Read(#[from] io::Error),
    #[error("the trace is empty: it has no header line")]
    Empty,
    #[error("line {line} of the trace: {source}")]
    Line {
        line: usize,
        source: serde_json::Error,
    },
    #[error(
        "the trace is {format} version {version}; this program reads {FORMAT} version {VERSION}"
    )]
    Format { format: String, version: u32 },
}

/// A trace read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub header: Header,
    pub events: Vec<Event>,
}

impl Trace {
    pub fn open(path: &Path) -> Result<Self, TraceError> {
        let file = File::open(path).map_err(|source| TraceError::Open {
            path: path.to_owned(),
            source,
        })?;
        Self::read(BufReader::new(file))
    }

    /// Reads the header and every event; blank lines are skipped.
    pub fn read(input: impl BufRead) -> Result<Self, TraceError> {
        let mut lines = input
            .lines()
            .enumerate()
            .map(|(i, line)| (i + 1, line))
            .filter(|(_, line)| !line.as_ref().is_ok_and(|l| l.trim().is_empty()));
        let (number, first) = lines.next().ok_or(TraceError::Empty)?;
        let header: Header = parse(number, &first?)?;
        if header.format != FORMAT || header.version != VERSION {
            return Err(TraceError::Format {
                format: header.format,
                version: header.version,
            });
        }
        let events = lines
            .map(|(number, line)| parse(number, &line?))
            .collect::<Result<_, _>>()?;
        Ok(Self { header, events })
    }
}

fn parse<T: serde::de::DeserializeOwned>(line: usize, text: &str) -> Result<T, TraceError> {
    serde_json::from_str(text).map_err(|source| TraceError::Line { line, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TracedBytes;

    fn header() -> Header {
        Header::new("test 1", &[0x3B, 0x80], Some("Virtual PCD 00 00".into()))
    }

    fn written(session: impl FnOnce(&mut TraceWriter<&mut Vec<u8>>)) -> String {
        let mut out = Vec::new();
        let mut writer = TraceWriter::new(&mut out, &header()).unwrap();
        session(&mut writer);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_session_round_trips_with_its_secrets_left_out() {
        let text = written(|w| {
            w.power(Power::On).unwrap();
            w.exchange(
                &hex::decode("00FD0000").unwrap(),
                &[5, 7, 1, 0x90, 0],
                Some(Duration::from_micros(42)),
            )
            .unwrap();
            w.exchange(
                &hex::decode("0020008008313233343536FFFF").unwrap(),
                &[0x90, 0],
                None,
            )
            .unwrap();
            w.power(Power::Reset).unwrap();
        });
        assert!(!text.contains("313233"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"format":"piv-apdu-trace","version":1,"writer":"test 1","atr":"3B80","reader":"Virtual PCD 00 00"}"#
        );
        assert_eq!(lines[1], r#"{"event":"power_on"}"#);
        assert_eq!(
            lines[2],
            r#"{"event":"exchange","command":"00FD0000","response":"0507019000","elapsed_us":42}"#
        );
        assert_eq!(
            lines[3],
            r#"{"event":"exchange","command":"0020008008xxxxxxxxxxxxxxxx","response":"9000"}"#
        );
        assert_eq!(lines[4], r#"{"event":"reset"}"#);

        let trace = Trace::read(text.as_bytes()).unwrap();
        assert_eq!(trace.header, header());
        assert_eq!(trace.events.len(), 4);
        assert_eq!(
            trace.events[2],
            Event::Exchange {
                command: TracedBytes::redacted(
                    &hex::decode("0020008008313233343536FFFF").unwrap(),
                    5..13
                ),
                response: TracedBytes::clear(&[0x90, 0]),
                elapsed_us: None,
            }
        );
    }

    #[test]
    fn a_power_event_resets_the_redactor() {
        let text = written(|w| {
            w.exchange(
                &hex::decode("00CB3FFF055C035FC10900").unwrap(),
                &[0x53, 0x01, 0x61, 0x01],
                None,
            )
            .unwrap();
            w.power(Power::Off).unwrap();
            w.exchange(&hex::decode("00C0000001").unwrap(), &[0xAA, 0x90, 0], None)
                .unwrap();
        });
        assert!(text.contains(r#""response":"AA9000""#), "{text}");
    }

    #[test]
    fn unreadable_traces_are_refused_with_the_line() {
        assert!(matches!(Trace::read(&b""[..]), Err(TraceError::Empty)));
        let other = r#"{"format":"other","version":1,"writer":"w","atr":"3b"}"#;
        assert!(matches!(
            Trace::read(other.as_bytes()),
            Err(TraceError::Format { .. })
        ));
        let newer = r#"{"format":"piv-apdu-trace","version":2,"writer":"w","atr":"3b"}"#;
        assert!(matches!(
            Trace::read(newer.as_bytes()),
            Err(TraceError::Format { version: 2, .. })
        ));
        let bad = format!(
            "{}\n\n{}\n",
            r#"{"format":"piv-apdu-trace","version":1,"writer":"w","atr":"3b"}"#,
            r#"{"event":"exchange","command":"00G0","response":"9000"}"#
        );
        let err = Trace::read(bad.as_bytes()).unwrap_err();
        assert!(matches!(err, TraceError::Line { line: 3, .. }), "{err}");
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn files_are_created_private() {
        let dir = std::env::temp_dir().join(format!("apdu-spec-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("session.jsonl");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let mut writer = TraceWriter::create(&path, &header()).unwrap();
        writer.power(Power::On).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let read = Trace::open(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(mode, 0o600);
        assert_eq!(read.events, vec![Event::PowerOn]);
    }
}
