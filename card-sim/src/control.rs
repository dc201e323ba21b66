//! Faults on demand: a plan of what goes wrong next, shared by whoever drives it (a test in
//! process, or `card-sim ctl` through the control socket) and the layer that carries a
//! card's commands ([`ControlledCard`]).
//!
//! A [`Control`] is a handle: clones share one plan. Its methods are the commands: take
//! the card out of the reader and put it back, answer the next commands with a status
//! word, delay answers, break the link part-way through an answer, cut the power in the
//! middle of the next state write, touch the button. The [`Card`](crate::Card) itself
//! stays sans-IO and knows nothing of this: the layer between it and the bytes' carrier
//! applies the plan per command and says what to do ([`Outcome`]).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use apdu_spec::{CommandApdu, StatusWord};

use crate::state::CardState;
use crate::touch::Button;

mod command;
mod layer;
mod power_cut;
mod socket;

pub use command::{Command, ParseError, parse_instruction, parse_status_word};
pub use layer::{ControlledCard, Outcome, Presence};
pub use socket::{ControlSocket, RequestError, request, socket_path};

/// Answer the next commands (those with instruction `ins`, when given) with `sw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fail {
    pub sw: StatusWord,
    pub count: u32,
    pub ins: Option<u8>,
}

/// Hold back the next `count` answers (all, while `None`) by `by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay {
    pub by: Duration,
    pub count: Option<u32>,
}

/// Why a control command was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    /// The card was not built by [`ControlledCard::open`], `in_memory` or `with_store`: no
    /// write of its store can be cut, and a power cut armed would silently never come.
    #[error("this card's state store cannot lose power (it was not built with the control)")]
    NoGuardedStore,
    #[error("no operation waited for a touch within {0} s")]
    NothingWaited(u64),
}

/// What is planned, and the card's presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub present: bool,
    pub fail: Option<Fail>,
    pub delay: Option<Delay>,
    pub drops: u32,
    pub power_cut_armed: bool,
    pub touch_waiting: bool,
}

impl fmt::Display for Status {
    /// One line of `key=value` words, as the control socket answers `status`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let card = if self.present { "present" } else { "removed" };
        write!(f, "card={card} fail=")?;
        match self.fail {
            Some(Fail { sw, count, ins }) => {
                write!(f, "{:04X}x{count}", sw.0)?;
                if let Some(ins) = ins {
                    write!(f, "@{ins:02X}")?;
                }
            }
            None => f.write_str("none")?,
        }
        f.write_str(" delay=")?;
        match self.delay {
            Some(Delay { by, count: Some(n) }) => write!(f, "{}msx{n}", by.as_millis())?,
            Some(Delay { by, count: None }) => write!(f, "{}ms", by.as_millis())?,
            None => f.write_str("none")?,
        }
        let cut = if self.power_cut_armed { "armed" } else { "off" };
        let touch = if self.touch_waiting {
            "waiting"
        } else {
            "idle"
        };
        write!(f, " drop={} power-cut={cut} touch={touch}", self.drops)
    }
}

#[derive(Default)]
struct Plan {
    removed: bool,
    fail: Option<Fail>,
    delay: Option<Delay>,
    drops: u32,
    power_cut_armed: bool,
    /// A store wraps its writes with this plan, so a power cut can reach them.
    guarded: bool,
    /// Set by a write the power cut tore: the state the store still holds whole.
    power_lost: Option<Box<CardState>>,
    /// Times the card left the reader. A command that sees it change while the card works
    /// on it lost its card, even if the card is back by then.
    removals: u64,
}

impl Plan {
    /// The card leaves the reader (pulled, or its power cut).
    fn take_out(&mut self) {
        self.removed = true;
        self.removals += 1;
    }
}

/// What the plan says about one command, decided before the card sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The card is out of the reader: no answer.
    Absent,
    /// Answer with this status word, without the card seeing the command.
    Fail { sw: StatusWord, after: Duration },
    /// The card answers; the answer leaves after `after`, and the link breaks part-way
    /// through it when `broken`. `removals` is [`Plan::removals`] now: if it differs once
    /// the card has answered, the card was pulled meanwhile and the answer is lost.
    Pass {
        after: Duration,
        broken: bool,
        removals: u64,
    },
}

struct Shared {
    plan: Mutex<Plan>,
    button: Button,
}

/// A handle on the plan of faults; clones share it.
#[derive(Clone)]
pub struct Control {
    shared: Arc<Shared>,
}

impl Default for Control {
    /// A control whose button touches itself at once, as a card in a program does
    /// ([`Card::new`](crate::Card::new)); `button().set_mode` makes it wait for touches.
    fn default() -> Self {
        Self::new(Button::auto(Duration::ZERO))
    }
}

impl Control {
    /// A control with nothing planned, the card present, and `button` to touch.
    pub fn new(button: Button) -> Self {
        Self {
            shared: Arc::new(Shared {
                plan: Mutex::default(),
                button,
            }),
        }
    }

    /// The button the `touch` command presses: the card's, once under this control.
    pub fn button(&self) -> Button {
        self.shared.button.clone()
    }

    /// Takes the card out of the reader: commands get no answer until [`Self::insert`].
    /// An operation waiting for a touch, now or later, ends at once, unanswered: a pulled
    /// card neither keeps the reader busy until its touch timeout nor signs when touched
    /// meanwhile.
    pub fn remove(&self) {
        // Out first: the wait the cancel ends must find the card gone.
        self.plan().take_out();
        self.shared.button.cancel();
    }

    /// Puts the card back; it powers up afresh, every login lost.
    pub fn insert(&self) {
        self.plan().removed = false;
    }

    pub fn is_present(&self) -> bool {
        !self.plan().removed
    }

    /// Answers the next `count` commands (with instruction `ins` only, when given) with
    /// `sw`; the card never sees them.
    pub fn fail(&self, sw: StatusWord, count: u32, ins: Option<u8>) {
        self.plan().fail = (count > 0).then_some(Fail { sw, count, ins });
    }

    /// Holds back the next `count` answers, or every answer while `count` is `None`, by `by`.
    pub fn delay(&self, by: Duration, count: Option<u32>) {
        self.plan().delay = (count != Some(0)).then_some(Delay { by, count });
    }

    /// Breaks the link part-way through each of the next `count` answers, as a card
    /// pulled while answering and pushed back at once: the card acted on the command.
    pub fn drop_responses(&self, count: u32) {
        self.plan().drops = count;
    }

    /// Cuts the power in the middle of the next state write: the write is torn (the
    /// store keeps the state before it, whole), the command gets no answer, and the card
    /// is out of the reader until [`Self::insert`], as a card pulled while writing.
    pub fn power_cut(&self) -> Result<(), ControlError> {
        let mut plan = self.plan();
        if !plan.guarded {
            return Err(ControlError::NoGuardedStore);
        }
        plan.power_cut_armed = true;
        Ok(())
    }

    /// Touches the button; whether an operation was waiting for it.
    pub fn touch(&self) -> bool {
        self.shared.button.press()
    }

    /// Waits up to `timeout` for an operation to wait for a touch, then touches.
    pub fn touch_within(&self, timeout: Duration) -> Result<(), ControlError> {
        if self.shared.button.wait_until_waiting(timeout) && self.touch() {
            Ok(())
        } else {
            Err(ControlError::NothingWaited(timeout.as_secs()))
        }
    }

    /// Forgets every planned fault; the card stays in or out of the reader as it is.
    pub fn clear(&self) {
        let mut plan = self.plan();
        plan.fail = None;
        plan.delay = None;
        plan.drops = 0;
        plan.power_cut_armed = false;
    }

    pub fn status(&self) -> Status {
        let plan = self.plan();
        Status {
            present: !plan.removed,
            fail: plan.fail,
            delay: plan.delay,
            drops: plan.drops,
            power_cut_armed: plan.power_cut_armed,
            touch_waiting: self.shared.button.is_waiting(),
        }
    }

    /// Carries out `command`; the text of the `ok` reply.
    pub fn apply(&self, command: &Command) -> Result<String, ControlError> {
        match *command {
            Command::Remove => self.remove(),
            Command::Insert => self.insert(),
            Command::Fail { sw, count, ins } => self.fail(sw, count, ins),
            Command::Delay { ms, count } => self.delay(Duration::from_millis(ms), count),
            Command::Drop { count } => self.drop_responses(count),
            Command::PowerCut => self.power_cut()?,
            Command::Touch { wait: None } => {
                return Ok(if self.touch() {
                    "touched".into()
                } else {
                    "touched, but no operation was waiting for a touch".into()
                });
            }
            Command::Touch { wait: Some(secs) } => {
                self.touch_within(Duration::from_secs(secs))?;
                return Ok("touched".into());
            }
            Command::Status => {}
            Command::Clear => self.clear(),
        }
        Ok(self.status().to_string())
    }

    /// What the plan says about `command`; spends the counts it uses.
    pub(crate) fn step(&self, command: &[u8]) -> Step {
        let mut plan = self.plan();
        if plan.removed {
            return Step::Absent;
        }
        let after = match &mut plan.delay {
            Some(Delay { by, count: None }) => *by,
            Some(Delay { by, count: Some(n) }) => {
                let by = *by;
                *n -= 1;
                if *n == 0 {
                    plan.delay = None;
                }
                by
            }
            None => Duration::ZERO,
        };
        // Parsed only for a failure that asks for an instruction: most commands meet an
        // empty plan, and pay for no second parse of what the card parses anyway.
        if let Some(fail) = &mut plan.fail
            && (fail.ins.is_none() || fail.ins == instruction(command))
        {
            let sw = fail.sw;
            fail.count -= 1;
            if fail.count == 0 {
                plan.fail = None;
            }
            return Step::Fail { sw, after };
        }
        let broken = plan.drops > 0;
        if broken {
            plan.drops -= 1;
        }
        // Waits for a touch resume with the first command the card sees back in the reader,
        // not at `insert`: a command from before a pull must not wait, even if it reaches
        // its wait only once the card is back.
        self.shared.button.resume();
        Step::Pass {
            after,
            broken,
            removals: plan.removals,
        }
    }

    /// Whether the card left the reader since [`Self::step`] said `removals`.
    pub(crate) fn removed_since(&self, removals: u64) -> bool {
        self.plan().removals != removals
    }

    /// A store built through the control: it may now lose power.
    pub(crate) fn mark_guarded(&self) {
        self.plan().guarded = true;
    }

    /// Whether the next write is to be torn; disarms the cut.
    pub(crate) fn take_power_cut(&self) -> bool {
        std::mem::take(&mut self.plan().power_cut_armed)
    }

    /// A write was torn: `durable` is the state the store still holds. The card is out.
    pub(crate) fn power_lost(&self, durable: CardState) {
        let mut plan = self.plan();
        plan.power_lost = Some(Box::new(durable));
        plan.take_out();
    }

    /// The state to come back with, once, after a torn write.
    pub(crate) fn take_power_lost(&self) -> Option<Box<CardState>> {
        self.plan().power_lost.take()
    }

    fn plan(&self) -> MutexGuard<'_, Plan> {
        // The plan stays meaningful even if a thread panicked holding the lock.
        self.shared.plan.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The instruction of a command APDU; `None` for bytes that are none.
fn instruction(command: &[u8]) -> Option<u8> {
    CommandApdu::parse(command).ok().map(|c| c.ins)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: Option<u8> = Some(0xDB);

    /// A command APDU with instruction `ins` and no data.
    fn apdu(ins: u8) -> Vec<u8> {
        CommandApdu::new(0, ins, 0, 0).encode().unwrap()
    }

    #[test]
    fn a_failure_with_an_instruction_spares_the_others_and_counts_down() {
        let control = Control::default();
        control.fail(StatusWord::MEMORY_FAILURE, 2, DB);
        let pass = Step::Pass {
            after: Duration::ZERO,
            broken: false,
            removals: 0,
        };
        let fail = Step::Fail {
            sw: StatusWord::MEMORY_FAILURE,
            after: Duration::ZERO,
        };
        assert_eq!(control.step(&apdu(0xA4)), pass);
        assert_eq!(control.step(&apdu(0xDB)), fail);
        assert_eq!(control.step(&[0xDB]), pass, "no command APDU");
        assert_eq!(control.step(&apdu(0xDB)), fail);
        assert_eq!(control.step(&apdu(0xDB)), pass, "two failures, then none");
    }

    #[test]
    fn a_delay_without_count_lasts_until_cleared() {
        let control = Control::default();
        let by = Duration::from_millis(7);
        control.delay(by, None);
        for _ in 0..3 {
            assert_eq!(
                control.step(&apdu(0xFD)),
                Step::Pass {
                    after: by,
                    broken: false,
                    removals: 0,
                }
            );
        }
        control.clear();
        assert_eq!(
            control.step(&apdu(0xFD)),
            Step::Pass {
                after: Duration::ZERO,
                broken: false,
                removals: 0,
            }
        );
    }

    #[test]
    fn drops_count_down_and_a_removed_card_answers_nothing() {
        let control = Control::default();
        control.drop_responses(1);
        assert!(matches!(
            control.step(&apdu(0xFD)),
            Step::Pass { broken: true, .. }
        ));
        assert!(matches!(
            control.step(&apdu(0xFD)),
            Step::Pass { broken: false, .. }
        ));
        control.remove();
        assert_eq!(control.step(&apdu(0xFD)), Step::Absent);
        control.insert();
        assert!(matches!(
            control.step(&apdu(0xFD)),
            Step::Pass { removals: 1, .. }
        ));
    }

    #[test]
    fn a_power_cut_needs_a_store_that_can_lose_power() {
        let control = Control::default();
        assert_eq!(control.power_cut(), Err(ControlError::NoGuardedStore));
        control.mark_guarded();
        control.power_cut().unwrap();
        assert!(control.status().power_cut_armed);
        assert!(control.take_power_cut());
        assert!(!control.take_power_cut(), "one write, not every one");
    }

    #[test]
    fn status_reads_as_one_line() {
        let control = Control::default();
        control.fail(StatusWord::MEMORY_FAILURE, 1, DB);
        control.delay(Duration::from_millis(250), Some(2));
        control.remove();
        assert_eq!(
            control.status().to_string(),
            "card=removed fail=6581x1@DB delay=250msx2 drop=0 power-cut=off touch=idle"
        );
    }

    #[test]
    fn touch_within_fails_when_nothing_waits() {
        let control = Control::default();
        assert!(!control.touch());
        assert_eq!(
            control.touch_within(Duration::ZERO),
            Err(ControlError::NothingWaited(0))
        );
    }
}
