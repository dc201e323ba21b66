//! A recorded session served as a card (`card-sim replay`): the n-th command is answered
//! with the n-th recorded response when it is the command recorded, so a session with a
//! real card becomes a regression test for the client that ran it.
//!
//! A redacted command matches any command of the same length whose other bytes are the
//! same (a PIN's place and length, not its value). The first command that differs, or that
//! comes after the recording ended, is answered 6F00 (no precise diagnosis: the client
//! stops there) and ends the replay, as does a command whose recorded response was
//! redacted (management-key authentication): its answer is not in the trace.
//!
//! Power events are not compared: pcscd powers a card on and off on its own schedule (at
//! connect, after idling), so they differ from run to run without the client changing.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use apdu_spec::piv::Instruction;
use apdu_spec::trace::{Event, Redactor, Trace, TraceError, TracedBytes};
use apdu_spec::{Response, StatusWord};
use thiserror::Error;

use crate::vpcd::VirtualCard;

/// Why a replay failed. Commands are counted from 1, as the trace's exchanges.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplayError {
    #[error("command {index} differs: recorded {recorded}, received {received}")]
    Differs {
        index: usize,
        recorded: String,
        received: String,
    },
    #[error(
        "command {index} ({name}) matches, but its recorded response was redacted: \
         a session with it cannot be replayed"
    )]
    Redacted { index: usize, name: &'static str },
    #[error("command {index} comes after the recording's {recorded} commands: received {received}")]
    BeyondEnd {
        index: usize,
        recorded: usize,
        received: String,
    },
    #[error("the client sent {replayed} of the {recorded} recorded commands")]
    Incomplete { replayed: usize, recorded: usize },
}

/// A recorded exchange.
struct Recorded {
    command: TracedBytes,
    response: TracedBytes,
}

/// A trace served as a card.
pub struct Replay {
    atr: Vec<u8>,
    exchanges: Vec<Recorded>,
    /// How many commands matched so far.
    replayed: usize,
    failure: Option<ReplayError>,
    /// Redacts the commands received, for the report: they may carry a PIN too.
    redactor: Redactor,
    /// Set at the first failure, to end serving.
    stop: Option<Arc<AtomicBool>>,
}

impl Replay {
    pub fn new(trace: Trace) -> Self {
        let exchanges = trace
            .events
            .into_iter()
            .filter_map(|event| match event {
                Event::Exchange {
                    command, response, ..
                } => Some(Recorded { command, response }),
                Event::PowerOn | Event::PowerOff | Event::Reset => None,
            })
            .collect();
        Self {
            atr: trace.header.atr,
            exchanges,
            replayed: 0,
            failure: None,
            redactor: Redactor::new(),
            stop: None,
        }
    }

    /// Sets `stop` at the first failure: the vpcd link ends when it sees it, once the
    /// failing command has its answer.
    pub fn stop_on_failure(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    pub fn open(path: &Path) -> Result<Self, TraceError> {
        Trace::open(path).map(Self::new)
    }

    /// The number of exchanges recorded.
    pub fn recorded(&self) -> usize {
        self.exchanges.len()
    }

    /// The number of commands that matched.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// The first failure, once there is one: the replay answers nothing more.
    pub fn failure(&self) -> Option<&ReplayError> {
        self.failure.as_ref()
    }

    /// The outcome: every recorded command was received as recorded and no other (the
    /// number of them), or what went wrong first.
    pub fn finish(&self) -> Result<usize, ReplayError> {
        match &self.failure {
            Some(failure) => Err(failure.clone()),
            None if self.replayed < self.exchanges.len() => Err(ReplayError::Incomplete {
                replayed: self.replayed,
                recorded: self.exchanges.len(),
            }),
            None => Ok(self.replayed),
        }
    }

    fn answer(&mut self, command: &[u8]) -> Result<Vec<u8>, ReplayError> {
        let index = self.replayed + 1;
        let Some(recorded) = self.exchanges.get(self.replayed) else {
            return Err(ReplayError::BeyondEnd {
                index,
                recorded: self.exchanges.len(),
                received: self.received(command),
            });
        };
        if !recorded.command.matches(command) {
            return Err(ReplayError::Differs {
                index,
                recorded: recorded.command.to_string(),
                received: self.received(command),
            });
        }
        let Some(response) = recorded.response.bytes() else {
            let name = command
                .get(1)
                .and_then(|&ins| Instruction::from_byte(ins))
                .map_or("unknown instruction", Instruction::name);
            return Err(ReplayError::Redacted { index, name });
        };
        let response = response.to_vec();
        self.redactor.exchange(command, &response);
        self.replayed += 1;
        Ok(response)
    }

    /// A received command as a trace would show it.
    fn received(&mut self, command: &[u8]) -> String {
        self.redactor
            .exchange(command, &StatusWord::NO_PRECISE_DIAGNOSIS.to_bytes())
            .command
            .to_string()
    }
}

impl VirtualCard for Replay {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }

    fn power_on(&mut self) {
        self.redactor.power_event();
    }

    fn power_off(&mut self) {
        self.redactor.power_event();
    }

    fn reset(&mut self) {
        self.redactor.power_event();
    }

    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        let failed = || Response::status(StatusWord::NO_PRECISE_DIAGNOSIS).encode();
        if self.failure.is_some() {
            return failed();
        }
        match self.answer(command) {
            Ok(response) => response,
            Err(failure) => {
                self.failure = Some(failure);
                if let Some(stop) = &self.stop {
                    stop.store(true, Ordering::Relaxed);
                }
                failed()
            }
        }
    }

    /// A replay writes no state, so no power cut tears one: nothing to take back.
    fn restore(&mut self, _state: crate::state::CardState) {}
}
