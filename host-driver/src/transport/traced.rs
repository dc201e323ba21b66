//! Any transport with its session recorded as a trace (`smime-card --trace`): every
//! exchange, its secrets redacted (see [`apdu_spec::trace::redact`]), and the resets the
//! host makes or meets. Each line is written before the answer goes on, so the trace
//! holds the session as far as it went even when the operation then fails.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use apdu_spec::trace::{Header, Power, TraceWriter};

use super::{Link, Transport, TransportError};
use crate::error::{Error, Result};

/// `T` with its session recorded.
pub struct Traced<T: Transport> {
    inner: T,
    trace: TraceWriter<File>,
    path: PathBuf,
}

impl<T: Transport> Traced<T> {
    /// Creates the trace at `path` (readable by its owner alone), its header naming
    /// `writer`, the card's ATR and the reader.
    pub fn create(inner: T, path: &Path, writer: &str) -> Result<Self, TransportError> {
        let header = Header::new(writer, &inner.atr(), Some(inner.name()));
        let trace = TraceWriter::create(path, &header).map_err(|e| trace_error(path, e))?;
        Ok(Self {
            inner,
            trace,
            path: path.to_owned(),
        })
    }
}

/// A link whose exchanges go to the trace.
struct TracedLink<'a> {
    link: &'a mut dyn Link,
    trace: &'a mut TraceWriter<File>,
    path: &'a Path,
}

impl Link for TracedLink<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let started = Instant::now();
        let response = self.link.transmit(apdu)?;
        self.trace
            .exchange(apdu, &response, Some(started.elapsed()))
            .map_err(|e| trace_error(self.path, e))?;
        Ok(response)
    }
}

fn trace_error(path: &Path, source: io::Error) -> TransportError {
    TransportError::Trace {
        path: path.to_owned(),
        source,
    }
}

impl<T: Transport> Transport for Traced<T> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn atr(&self) -> Vec<u8> {
        self.inner.atr()
    }

    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Link) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let (trace, path) = (&mut self.trace, self.path.as_path());
        let outcome = self
            .inner
            .transaction(&mut |link| work(&mut TracedLink { link, trace, path }));
        if let Err(Error::Transport(TransportError::Reset)) = &outcome {
            // Another program reset the card: the trace shows where.
            self.trace
                .power(Power::Reset)
                .map_err(|e| trace_error(&self.path, e))?;
        }
        outcome
    }

    fn operation_begins(&mut self) {
        self.inner.operation_begins();
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()?;
        self.trace
            .power(Power::Reset)
            .map_err(|e| trace_error(&self.path, e))
    }

    fn reset_when_closed(&mut self, reset: bool) {
        self.inner.reset_when_closed(reset);
    }
}
