//! The card as a value: bytes of a command APDU in, bytes of the response out, with
//! command chaining, response chaining (61xx / GET RESPONSE) and power events. No I/O
//! beyond the state store it is given.

use std::fmt::Display;
use std::path::Path;
use std::time::{Duration, Instant};

use apdu_spec::apdu::{self, CommandApdu, EXTENDED_MAX_LE, SHORT_MAX_LE};
use apdu_spec::piv::command::GetResponse;
use apdu_spec::piv::{Instruction, TouchPolicy};
use apdu_spec::{Response, StatusWord};
use zeroize::{Zeroize, Zeroizing};

use crate::commands;
use crate::session::Session;
use crate::state::{CardConfig, CardState, CreateError};
use crate::store::{FileStore, MemoryStore, StateStore, StoreError};
use crate::touch::{Button, Mode, Timing};

/// The most command data a chain may gather: room for the largest object or RSA-4096
/// import with their framing.
const MAX_CHAINED_DATA: usize = 16 * 1024;

/// The PIV application: persistent state, the session, where to save, and the button.
pub struct Piv {
    pub state: CardState,
    pub session: Session,
    store: Box<dyn StateStore>,
    button: Button,
    touch_timing: Timing,
}

impl Piv {
    /// Persists the state; a card that cannot write answers 6581 (memory failure).
    pub fn save(&mut self) -> Result<(), StatusWord> {
        self.store
            .save(&self.state)
            .map_err(|_| StatusWord::MEMORY_FAILURE)
    }

    /// Applies a change and saves it. When the change or the save fails, the change is
    /// undone: the card never keeps what it reported as failed (6581 for the save).
    pub fn commit(
        &mut self,
        change: impl FnOnce(&mut CardState) -> Result<(), StatusWord>,
    ) -> Result<(), StatusWord> {
        let before = self.state.clone();
        let result = change(&mut self.state).and_then(|()| self.save());
        if result.is_err() {
            self.state = before;
        }
        result
    }

    /// Waits for the touch `policy` asks of the key `what` names: none for "never", one for
    /// "always", and for "cached" one unless the card was touched within the cache window.
    /// Refuses with 6982 when none came in time, as a YubiKey does once it stops blinking.
    pub fn touch(&mut self, policy: TouchPolicy, what: impl Display) -> Result<(), StatusWord> {
        let cached = |at: Instant| at.elapsed() < self.touch_timing.cache;
        match policy {
            TouchPolicy::Always => {}
            TouchPolicy::Cached if self.session.touched_at.is_some_and(cached) => return Ok(()),
            TouchPolicy::Cached => {}
            TouchPolicy::Never | TouchPolicy::Default => return Ok(()),
        }
        let timeout = self.touch_timing.timeout;
        match self.button.mode() {
            Mode::Manual => log::info!(
                "touch needed for {what}: waiting up to {timeout:?} (`card-sim touch --state FILE` touches the card)"
            ),
            Mode::Auto(delay) => {
                log::info!("touch needed for {what}: the card touches itself after {delay:?}")
            }
        }
        if !self.button.wait_for_touch(timeout) {
            log::warn!("no touch for {what} within {timeout:?}; the card refuses (6982)");
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        self.session.touched_at = Some(Instant::now());
        Ok(())
    }
}

/// Blocks of a chained command gathered so far; wiped when dropped, as they may hold a
/// key being imported.
struct Chain {
    header: (u8, u8, u8),
    data: Zeroizing<Vec<u8>>,
}

/// Response bytes waiting for GET RESPONSE; wiped when dropped, as they may hold a
/// decrypted key or a shared secret.
struct Pending {
    data: Zeroizing<Vec<u8>>,
    offset: usize,
}

/// A virtual PIV card.
pub struct Card {
    piv: Piv,
    chain: Option<Chain>,
    pending: Option<Pending>,
}

impl Card {
    /// A card over `state`, saving through `store`; powered on. Its button touches itself at
    /// once: a card in a program has nobody to touch it unless the program gives it a
    /// button of its own ([`Card::set_button`]), as `card-sim serve` does.
    pub fn new(state: CardState, store: impl StateStore + 'static) -> Self {
        Self {
            piv: Piv {
                state,
                session: Session::power_on(),
                store: Box::new(store),
                button: Button::auto(Duration::ZERO),
                touch_timing: Timing::YUBIKEY,
            },
            chain: None,
            pending: None,
        }
    }

    /// A factory-fresh card that lives in memory only.
    pub fn in_memory(config: &CardConfig) -> Result<Self, CreateError> {
        Ok(Self::new(CardState::factory_new(config)?, MemoryStore))
    }

    /// The card whose state is in `path`, created factory-fresh with `config` when the file
    /// does not exist. A file that exists but cannot be read is an error, never a reset.
    pub fn open(path: &Path, config: &CardConfig) -> Result<Self, StoreError> {
        let store = FileStore::open_exclusive(path)?;
        let (state, _created) = store.load_or_create(config)?;
        Ok(Self::new(state, store))
    }

    /// The answer to reset of the card's model.
    pub fn atr(&self) -> &'static [u8] {
        self.piv.state.profile.atr()
    }

    /// Cold start: the session begins anew. Returns the ATR.
    pub fn power_on(&mut self) -> &'static [u8] {
        self.clear_volatile();
        self.atr()
    }

    /// Power off: every login is lost.
    pub fn power_off(&mut self) {
        self.clear_volatile();
    }

    /// Warm reset: as power off then on. Returns the ATR.
    pub fn reset(&mut self) -> &'static [u8] {
        self.power_on()
    }

    /// Power comes back after a write was cut short: the state is `state`, what the store
    /// still holds, and the session begins anew.
    pub fn restore(&mut self, state: CardState) {
        self.piv.state = state;
        self.clear_volatile();
    }

    fn clear_volatile(&mut self) {
        self.piv.session = Session::power_on();
        self.chain = None;
        self.pending = None;
    }

    /// The card's button: a handle another thread presses (clones share the button).
    pub fn button(&self) -> Button {
        self.piv.button.clone()
    }

    /// Gives the card another button, say one only a person presses.
    pub fn set_button(&mut self, button: Button) {
        self.piv.button = button;
    }

    pub fn touch_timing(&self) -> Timing {
        self.piv.touch_timing
    }

    /// How long the card waits for a touch and caches one (a YubiKey's 15 s by default);
    /// tests use shorter ones.
    pub fn set_touch_timing(&mut self, timing: Timing) {
        self.piv.touch_timing = timing;
    }

    /// The persistent state (for inspection; secrets stay behind their types).
    pub fn state(&self) -> &CardState {
        &self.piv.state
    }

    /// Whether the PIN is verified in the current session.
    pub fn pin_verified(&self) -> bool {
        self.piv.session.pin_verified
    }

    /// Processes one command APDU and returns the response APDU.
    pub fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        let mut response = self.process(command);
        let bytes = response.encode();
        // Only the caller's copy of a secret answer remains.
        response.data.zeroize();
        bytes
    }

    fn process(&mut self, bytes: &[u8]) -> Response {
        let cmd = match CommandApdu::parse(bytes) {
            Ok(cmd) => cmd,
            Err(_) => {
                self.chain = None;
                self.pending = None;
                return StatusWord::WRONG_LENGTH.into();
            }
        };
        if cmd.cla & !apdu::CLA_CHAINING != 0 {
            self.chain = None;
            self.pending = None;
            return StatusWord::CLA_NOT_SUPPORTED.into();
        }
        if cmd.ins == Instruction::GetResponse as u8 && !cmd.is_chained() {
            return self.get_response(&cmd);
        }
        self.pending = None;
        let Some(cmd) = self.gather_chain(cmd) else {
            return Response::ok_empty();
        };
        let cmd = match cmd {
            Ok(cmd) => cmd,
            Err(sw) => return sw.into(),
        };
        match commands::dispatch(&mut self.piv, &cmd) {
            Ok(data) => self.respond(data, cmd.le, cmd.extended),
            Err(sw) => sw.into(),
        }
    }

    /// Adds a block to the chain. `None`: more blocks are expected (answer 9000). Otherwise
    /// the whole command, or the error that ends the chain.
    fn gather_chain(&mut self, cmd: CommandApdu) -> Option<Result<CommandApdu, StatusWord>> {
        // SELECT is never the tail of a chain: it begins a new conversation, as a program
        // that finds a chain another one abandoned must be able to rely on.
        if cmd.ins == Instruction::Select as u8 && !cmd.is_chained() {
            self.chain = None;
            return Some(Ok(cmd));
        }
        let header = (cmd.ins, cmd.p1, cmd.p2);
        let mut chain = match self.chain.take() {
            Some(chain) if chain.header == header => chain,
            // A block of another command abandons the chain, as a card that was reset would.
            _ => Chain {
                header,
                data: Zeroizing::default(),
            },
        };
        if chain.data.len() + cmd.data.len() > MAX_CHAINED_DATA {
            return Some(Err(StatusWord::WRONG_LENGTH));
        }
        if cmd.is_chained() {
            // Room for the longest chain at once: a buffer that grows leaves copies behind.
            let room = MAX_CHAINED_DATA - chain.data.len();
            chain.data.reserve_exact(room);
            chain.data.extend_from_slice(&cmd.data);
            self.chain = Some(chain);
            return None;
        }
        if chain.data.is_empty() {
            return Some(Ok(cmd));
        }
        chain.data.extend_from_slice(&cmd.data);
        Some(Ok(CommandApdu {
            data: chain.data,
            ..cmd
        }))
    }

    /// Sends as much of `data` as the command's Le allows, keeping the rest for GET RESPONSE.
    /// A command without Le still gets its data (as a YubiKey answers), up to 256 bytes in
    /// a short APDU and 65536 in an extended one.
    fn respond(&mut self, data: Vec<u8>, le: Option<usize>, extended: bool) -> Response {
        let limit = if extended {
            EXTENDED_MAX_LE
        } else {
            SHORT_MAX_LE
        };
        let chunk = le.unwrap_or(limit).min(limit);
        self.pending = Some(Pending {
            data: Zeroizing::new(data),
            offset: 0,
        });
        self.next_chunk(chunk)
    }

    fn get_response(&mut self, cmd: &CommandApdu) -> Response {
        let request = match GetResponse::parse(cmd) {
            Ok(request) => request,
            Err(sw) => return sw.into(),
        };
        if self.pending.is_none() {
            return StatusWord::INCORRECT_DATA.into();
        }
        self.next_chunk(request.length)
    }

    fn next_chunk(&mut self, chunk: usize) -> Response {
        let Some(pending) = self.pending.as_mut() else {
            return StatusWord::INCORRECT_DATA.into();
        };
        let rest = &pending.data[pending.offset..];
        let n = rest.len().min(chunk);
        let out = rest[..n].to_vec();
        pending.offset += n;
        let left = pending.data.len() - pending.offset;
        if left == 0 {
            self.pending = None;
            Response::ok(out)
        } else {
            Response::new(out, StatusWord::bytes_available(left))
        }
    }
}
