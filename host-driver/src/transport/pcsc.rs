//! Readers through the system's PC/SC service (pcscd): shared mode, one transaction per
//! operation, and recovery when another program resets the card or it is re-inserted.

use std::ffi::{CStr, CString};
use std::time::Duration;

use pcsc::{Card, Context, Disposition, Protocols, Scope, ShareMode};
use zeroize::Zeroizing;

use super::{Link, Transport, TransportError};
use crate::error::Error;

/// The names of the readers pcscd knows.
pub fn list_readers() -> Result<Vec<String>, TransportError> {
    let ctx = Context::establish(Scope::User).map_err(TransportError::Service)?;
    reader_names(&ctx)
}

fn reader_names(ctx: &Context) -> Result<Vec<String>, TransportError> {
    match ctx.list_readers_owned() {
        Ok(names) => Ok(names
            .into_iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect()),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(TransportError::Service(e)),
    }
}

/// The one reader whose name contains `wanted` (case-insensitive); an exact name always wins.
pub fn choose_reader(readers: &[String], wanted: &str) -> Result<String, TransportError> {
    if readers.is_empty() {
        return Err(TransportError::NoReaders);
    }
    if let Some(exact) = readers.iter().find(|r| r.as_str() == wanted) {
        return Ok(exact.clone());
    }
    let needle = wanted.to_lowercase();
    let matching: Vec<&String> = readers
        .iter()
        .filter(|r| r.to_lowercase().contains(&needle))
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(TransportError::UnknownReader {
            wanted: wanted.into(),
            readers: readers.to_vec(),
        }),
        _ => Err(TransportError::AmbiguousReader {
            wanted: wanted.into(),
            readers: matching.into_iter().cloned().collect(),
        }),
    }
}

/// How long to wait for pcscd to see a card go that left in the middle of an exchange:
/// pcscd looks at a reader every 400 ms or so.
const DEPARTURE_PATIENCE: Duration = Duration::from_secs(2);

pub struct PcscTransport {
    ctx: Context,
    reader: CString,
    /// Always `Some` but while dropping: pcsc's own drop would always reset the card, and
    /// other programs sharing it would lose their logins even when we made none.
    card: Option<Card>,
    /// How to leave the card when closing: reset once we have logged in.
    on_close: Disposition,
    mismatches: ProtoMismatches,
}

impl Drop for PcscTransport {
    fn drop(&mut self) {
        if let Some(card) = self.card.take() {
            let _ = card.disconnect(self.on_close);
        }
    }
}

impl PcscTransport {
    /// Connects (shared) to the card in the reader whose name contains `wanted`.
    pub fn connect(wanted: &str) -> Result<Self, TransportError> {
        let ctx = Context::establish(Scope::User).map_err(TransportError::Service)?;
        let name = choose_reader(&reader_names(&ctx)?, wanted)?;
        Self::connect_exact(ctx, name)
    }

    /// Connects to the reader named exactly `name`.
    pub fn connect_named(name: &str) -> Result<Self, TransportError> {
        let ctx = Context::establish(Scope::User).map_err(TransportError::Service)?;
        Self::connect_exact(ctx, name.to_owned())
    }

    fn connect_exact(ctx: Context, name: String) -> Result<Self, TransportError> {
        let reader = CString::new(name.clone()).map_err(|_| TransportError::UnknownReader {
            wanted: name.clone(),
            readers: Vec::new(),
        })?;
        let card = Some(connect_card(&ctx, &reader)?);
        Ok(Self {
            ctx,
            reader,
            card,
            on_close: Disposition::LeaveCard,
            mismatches: ProtoMismatches::default(),
        })
    }

    fn reader_name(&self) -> String {
        self.reader.to_string_lossy().into_owned()
    }

    /// After a reset or removal: reconnect, or a fresh connection if the card was
    /// re-inserted. The caller learns of it as [`TransportError::Reset`].
    fn recover(&mut self) -> Result<(), TransportError> {
        let reconnected = self.card.as_mut().is_some_and(|c| {
            c.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::LeaveCard)
                .is_ok()
        });
        if !reconnected {
            self.card = Some(connect_card(&self.ctx, &self.reader)?);
        }
        Ok(())
    }

    /// After an exchange the card left in the middle of: pcscd notices only at its next
    /// look at the reader, and until then would reconnect to the card that is gone. Waits
    /// for that look (a few hundred milliseconds), at most [`DEPARTURE_PATIENCE`].
    fn wait_for_departure(&self) {
        let mut states = [pcsc::ReaderState::new(
            self.reader.clone(),
            pcsc::State::UNAWARE,
        )];
        if self
            .ctx
            .get_status_change(Duration::ZERO, &mut states)
            .is_err()
        {
            return;
        }
        states[0].sync_current_state();
        if states[0].current_state().contains(pcsc::State::PRESENT) {
            // Any change will do; a timeout leaves the recovery to find what it finds.
            let _ = self.ctx.get_status_change(DEPARTURE_PATIENCE, &mut states);
        }
    }

    fn card(&mut self) -> Result<&mut Card, TransportError> {
        let reader = &self.reader;
        self.card
            .as_mut()
            .ok_or_else(|| TransportError::CardRemoved(reader.to_string_lossy().into_owned()))
    }
}

fn connect_card(ctx: &Context, reader: &CStr) -> Result<Card, TransportError> {
    ctx.connect(reader, ShareMode::Shared, Protocols::ANY)
        .map_err(|e| map_error(reader, e))
}

fn map_error(reader: &CStr, source: pcsc::Error) -> TransportError {
    let name = reader.to_string_lossy().into_owned();
    match source {
        pcsc::Error::NoSmartcard => TransportError::NoCard(name),
        pcsc::Error::RemovedCard => TransportError::CardRemoved(name),
        pcsc::Error::ResetCard => TransportError::Reset,
        pcsc::Error::UnknownReader | pcsc::Error::ReaderUnavailable => {
            TransportError::UnknownReader {
                wanted: name,
                readers: Vec::new(),
            }
        }
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => TransportError::Service(source),
        source => TransportError::Pcsc {
            reader: name,
            source,
        },
    }
}

/// pcscd's answer PROTO_MISMATCH when another program's reset of the card is still under
/// way: a handle that reconnected meanwhile has the protocol the reset then undid, and
/// reconnecting negotiates afresh. It is taken for that reset once per operation; any
/// further one in the same operation is a real fault (say a reader whose protocol never
/// matches) and is reported as the PC/SC error it is, not retried.
#[derive(Debug, Default)]
struct ProtoMismatches {
    /// This operation has had its PROTO_MISMATCH taken for a reset.
    excused: bool,
}

impl ProtoMismatches {
    /// Whether this PROTO_MISMATCH is taken for a reset.
    fn is_reset(&mut self) -> bool {
        !std::mem::replace(&mut self.excused, true)
    }

    /// An operation begins: however the last one ended, this one may be excused one.
    fn operation_begins(&mut self) {
        self.excused = false;
    }
}

/// The commands of one transaction; remembers whether the card was reset under it.
struct TransactionLink<'a> {
    tx: &'a pcsc::Transaction<'a>,
    reader: &'a CStr,
    mismatches: &'a mut ProtoMismatches,
    interrupted: bool,
    /// The card left in the middle of an exchange, before pcscd noticed.
    cut_short: bool,
    /// Every answer passes through here, decrypted keys and shared secrets included.
    buffer: Zeroizing<Vec<u8>>,
}

impl TransactionLink<'_> {
    fn cut_short(&mut self) -> TransportError {
        self.interrupted = true;
        self.cut_short = true;
        TransportError::CardRemoved(self.reader.to_string_lossy().into_owned())
    }
}

impl Link for TransactionLink<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self.tx.transmit(apdu, &mut self.buffer) {
            // No card answers without a status word: a reader passes on less, or fails the
            // exchange, when the card left in the middle of it (vpcd does either). Whether it
            // is back, the transaction's recovery finds out once pcscd has seen it go.
            Ok(response) if response.len() < 2 => Err(self.cut_short()),
            Err(pcsc::Error::NotTransacted) => Err(self.cut_short()),
            Ok(response) => Ok(response.to_vec()),
            Err(e @ (pcsc::Error::ResetCard | pcsc::Error::RemovedCard)) => {
                self.interrupted = true;
                Err(map_error(self.reader, e))
            }
            Err(pcsc::Error::ProtoMismatch) if self.mismatches.is_reset() => {
                self.interrupted = true;
                Err(TransportError::Reset)
            }
            Err(e) => Err(map_error(self.reader, e)),
        }
    }
}

impl Transport for PcscTransport {
    fn name(&self) -> String {
        self.reader_name()
    }

    fn atr(&self) -> Vec<u8> {
        let status = self.card.as_ref().and_then(|c| c.status2_owned().ok());
        status.map(|s| s.atr().to_vec()).unwrap_or_default()
    }

    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Link) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let reader = self.reader.clone();
        let card = self
            .card
            .as_mut()
            .ok_or_else(|| TransportError::CardRemoved(reader.to_string_lossy().into_owned()))?;
        let (result, interrupted, cut_short) = match card.transaction() {
            Ok(tx) => {
                let mut link = TransactionLink {
                    tx: &tx,
                    reader: &reader,
                    mismatches: &mut self.mismatches,
                    interrupted: false,
                    cut_short: false,
                    buffer: Zeroizing::new(vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED]),
                };
                let result = work(&mut link);
                let (interrupted, cut_short) = (link.interrupted, link.cut_short);
                if !interrupted {
                    // Ending can only fail if the card went away, which the next call sees.
                    let _ = tx.end(Disposition::LeaveCard);
                }
                (result, interrupted, cut_short)
            }
            Err(e @ (pcsc::Error::ResetCard | pcsc::Error::RemovedCard)) => {
                (Err(map_error(&reader, e).into()), true, false)
            }
            Err(e) => return Err(map_error(&reader, e).into()),
        };
        if cut_short {
            self.wait_for_departure();
        }
        if interrupted {
            return Err(match self.recover() {
                Ok(()) => TransportError::Reset,
                // The card left the reader under us and is not back: it was pulled.
                Err(TransportError::NoCard(name)) => TransportError::CardRemoved(name),
                Err(e) => e,
            }
            .into());
        }
        result
    }

    fn operation_begins(&mut self) {
        self.mismatches.operation_begins();
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        let reader = self.reader.clone();
        self.card()?
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
            .map_err(|e| map_error(&reader, e))
    }

    fn reset_when_closed(&mut self, reset: bool) {
        self.on_close = if reset {
            Disposition::ResetCard
        } else {
            Disposition::LeaveCard
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readers() -> Vec<String> {
        [
            "Virtual PCD 00 00",
            "Virtual PCD 00 01",
            "Yubico YubiKey OTP+FIDO+CCID 00 00",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn proto_mismatch_is_a_reset_once_per_operation() {
        let mut mismatches = ProtoMismatches::default();
        mismatches.operation_begins();
        assert!(
            mismatches.is_reset(),
            "the first is another program's reset"
        );
        assert!(
            !mismatches.is_reset(),
            "the second in one operation is a real error"
        );
        assert!(
            !mismatches.is_reset(),
            "a persistent mismatch stays an error within the operation"
        );
        mismatches.operation_begins();
        assert!(
            mismatches.is_reset(),
            "the next operation is excused one, however the last one ended"
        );
    }

    #[test]
    fn reader_choice_by_substring() {
        assert_eq!(choose_reader(&readers(), "yubikey").unwrap(), readers()[2]);
        assert_eq!(
            choose_reader(&readers(), "Virtual PCD 00 01").unwrap(),
            readers()[1]
        );
        assert!(
            matches!(choose_reader(&readers(), "virtual"), Err(TransportError::AmbiguousReader { readers, .. }) if readers.len() == 2)
        );
        let unknown = choose_reader(&readers(), "gemalto").unwrap_err();
        assert!(
            unknown
                .to_string()
                .contains("Virtual PCD 00 00, Virtual PCD 00 01, Yubico"),
            "{unknown}"
        );
        assert!(matches!(
            choose_reader(&[], "x"),
            Err(TransportError::NoReaders)
        ));
    }
}
