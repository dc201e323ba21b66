//! A card whose session is recorded as a trace (`card-sim serve --trace`).
//!
//! It wraps whatever the vpcd link serves, so the link's loop needs no hook of its own:
//! every power event and exchange passes through here once, and is written, its secrets
//! redacted, before the answer goes back.

use std::fs::File;
use std::io;
use std::path::Path;
use std::time::Instant;

use apdu_spec::trace::{Header, Power, TraceWriter};
use log::error;

use crate::vpcd::VirtualCard;

/// `card` with every event written to a trace.
pub struct Recorded<C: VirtualCard> {
    card: C,
    trace: TraceWriter<File>,
    /// The first write that failed: the trace stops there, and the card serves on.
    failed: Option<io::Error>,
}

impl<C: VirtualCard> Recorded<C> {
    /// Creates the trace at `path` (readable by its owner alone), its header naming
    /// `writer` and the card's ATR.
    pub fn create(card: C, path: &Path, writer: &str) -> io::Result<Self> {
        let trace = TraceWriter::create(path, &Header::new(writer, &card.atr(), None))?;
        Ok(Self {
            card,
            trace,
            failed: None,
        })
    }

    pub fn card(&self) -> &C {
        &self.card
    }

    /// Whether the trace holds the whole session: the error that cut it short otherwise.
    pub fn finish(self) -> Result<C, io::Error> {
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.card),
        }
    }

    fn record(&mut self, write: impl FnOnce(&mut TraceWriter<File>) -> io::Result<()>) {
        if self.failed.is_none()
            && let Err(e) = write(&mut self.trace)
        {
            error!("the trace cannot be written ({e}); it stops here");
            self.failed = Some(e);
        }
    }

    fn power(&mut self, power: Power) {
        self.record(|trace| trace.power(power));
    }
}

impl<C: VirtualCard> VirtualCard for Recorded<C> {
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }

    fn power_on(&mut self) {
        self.card.power_on();
        self.power(Power::On);
    }

    fn power_off(&mut self) {
        self.card.power_off();
        self.power(Power::Off);
    }

    fn reset(&mut self) {
        self.card.reset();
        self.power(Power::Reset);
    }

    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        let started = Instant::now();
        let response = self.card.transmit(command);
        let elapsed = started.elapsed();
        self.record(|trace| trace.exchange(command, &response, Some(elapsed)));
        response
    }

    fn restore(&mut self, state: crate::state::CardState) {
        self.card.restore(state);
    }
}
