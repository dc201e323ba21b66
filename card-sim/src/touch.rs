//! The card's touch button. A key whose touch policy asks for it waits here until someone
//! touches (a test, a person running `card-sim touch`, or the control socket), or gives up
//! after the card's touch timeout, as a YubiKey does.
//!
//! A [`Button`] is a handle: clones share one button, so the card waits on it while
//! another thread presses it.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest wait for a touch, or delay of one, that `card-sim` takes from its command
/// line or control socket: a day is beyond any use, and a mistyped number of many digits
/// gets an error instead of a card that waits for years.
pub const LONGEST_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// How long the card waits for a touch, and how long a touch serves keys whose touch policy
/// is "cached".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long an operation waits for a touch before the card refuses it (6982).
    pub timeout: Duration,
    /// How long after a touch a key with touch policy "cached" needs no other.
    pub cache: Duration,
}

impl Timing {
    /// A YubiKey's: it blinks for 15 seconds, and a touch is cached for 15 seconds.
    pub const YUBIKEY: Self = Self {
        timeout: Duration::from_secs(15),
        cache: Duration::from_secs(15),
    };
}

impl Default for Timing {
    fn default() -> Self {
        Self::YUBIKEY
    }
}

/// How the button is pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only by [`Button::press`].
    Manual,
    /// By itself, this long after the card starts waiting.
    Auto(Duration),
}

#[derive(Debug)]
struct Presses {
    mode: Mode,
    /// Operations waiting for a touch now.
    waiting: u32,
    /// Touches given to a waiting operation so far.
    touches: u64,
    /// Nobody will touch any more (the card is shutting down): waits end untouched.
    given_up: bool,
    /// Times the waits in progress were called off ([`Button::cancel`]): a wait ends when
    /// this changes, even if [`Button::resume`] came before it saw `cancelled`.
    cancels: u64,
    /// Called off until [`Button::resume`] (the card is out): a wait ends at once, untouched.
    cancelled: bool,
}

#[derive(Debug)]
struct Inner {
    presses: Mutex<Presses>,
    changed: Condvar,
}

/// A touch button, shared between the card and whoever presses it.
#[derive(Debug, Clone)]
pub struct Button {
    inner: Arc<Inner>,
}

impl Default for Button {
    /// A button only a press touches.
    fn default() -> Self {
        Self::new(Mode::Manual)
    }
}

impl Button {
    pub fn new(mode: Mode) -> Self {
        Self {
            inner: Arc::new(Inner {
                presses: Mutex::new(Presses {
                    mode,
                    waiting: 0,
                    touches: 0,
                    given_up: false,
                    cancels: 0,
                    cancelled: false,
                }),
                changed: Condvar::new(),
            }),
        }
    }

    /// A button that touches itself after `delay`.
    pub fn auto(delay: Duration) -> Self {
        Self::new(Mode::Auto(delay))
    }

    pub fn mode(&self) -> Mode {
        self.lock().mode
    }

    pub fn set_mode(&self, mode: Mode) {
        self.lock().mode = mode;
        self.inner.changed.notify_all();
    }

    /// Touches the button. Returns whether an operation was waiting for it: a touch while
    /// none waits does nothing, as on a card that is not blinking.
    pub fn press(&self) -> bool {
        let mut presses = self.lock();
        if presses.waiting == 0 {
            return false;
        }
        presses.touches += 1;
        drop(presses);
        self.inner.changed.notify_all();
        true
    }

    /// Ends every wait for a touch, now and later, untouched: the card is going away, and
    /// an operation it holds back should not hold back its shutdown too.
    pub fn give_up(&self) {
        self.lock().given_up = true;
        self.inner.changed.notify_all();
    }

    /// Ends the waits for a touch in progress, and every one until [`Self::resume`],
    /// untouched, even if a press comes before they see it. The card was pulled: an
    /// operation on it, waiting or about to, has no card left to finish on, and a touch
    /// must not let it.
    pub fn cancel(&self) {
        let mut presses = self.lock();
        presses.cancels += 1;
        presses.cancelled = true;
        drop(presses);
        self.inner.changed.notify_all();
    }

    /// Lets waits for a touch wait again after [`Self::cancel`]: the card is back, and the
    /// command now starting is the first since.
    pub fn resume(&self) {
        self.lock().cancelled = false;
    }

    /// Whether an operation is waiting for a touch now (the card is blinking).
    pub fn is_waiting(&self) -> bool {
        self.lock().waiting > 0
    }

    /// Waits until an operation waits for a touch, for at most `timeout`; whether one does.
    pub fn wait_until_waiting(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut presses = self.lock();
        while presses.waiting == 0 {
            if deadline.is_some_and(|at| Instant::now() >= at) {
                return false;
            }
            presses = self.wait(presses, deadline);
        }
        true
    }

    /// Blocks until the button is touched, for at most `timeout`; whether it was.
    pub fn wait_for_touch(&self, timeout: Duration) -> bool {
        let start = Instant::now();
        let deadline = start.checked_add(timeout);
        let mut presses = self.lock();
        // Checked before counting as waiting: a pulled card never blinks.
        if presses.cancelled {
            return false;
        }
        presses.waiting += 1;
        self.inner.changed.notify_all();
        let (seen, cancels) = (presses.touches, presses.cancels);
        let touched = loop {
            if presses.given_up || presses.cancelled || presses.cancels != cancels {
                break false;
            }
            if presses.touches != seen {
                break true;
            }
            let now = Instant::now();
            let touches_itself = match presses.mode {
                Mode::Auto(delay) => start.checked_add(delay),
                Mode::Manual => None,
            };
            if touches_itself.is_some_and(|at| now >= at) {
                break true;
            }
            if deadline.is_some_and(|at| now >= at) {
                break false;
            }
            let until = match (touches_itself, deadline) {
                (Some(touch), Some(deadline)) => Some(touch.min(deadline)),
                (touch, deadline) => touch.or(deadline),
            };
            presses = self.wait(presses, until);
        };
        presses.waiting -= 1;
        touched
    }

    /// Waits for a change, until `until`. `None` is a time further off than an [`Instant`]
    /// holds (a duration of years added to now): that wait ends only with a change.
    fn wait<'a>(
        &self,
        guard: MutexGuard<'a, Presses>,
        until: Option<Instant>,
    ) -> MutexGuard<'a, Presses> {
        // The counters stay meaningful even if a thread panicked holding the lock.
        match until {
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                match self.inner.changed.wait_timeout(guard, left) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
            None => self
                .inner
                .changed
                .wait(guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Presses> {
        // The counters stay meaningful even if a thread panicked holding the lock.
        self.inner.presses.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    /// Does `act` to `button` on a thread of its own, once an operation waits for it.
    fn once_waiting(button: &Button, act: fn(&Button)) -> thread::JoinHandle<()> {
        let button = button.clone();
        thread::spawn(move || {
            assert!(button.wait_until_waiting(Duration::from_secs(10)));
            act(&button);
        })
    }

    #[test]
    fn a_press_releases_the_waiting_operation() {
        let button = Button::default();
        let presser = once_waiting(&button, |b| assert!(b.press()));
        assert!(button.wait_for_touch(Duration::from_secs(10)));
        presser.join().unwrap();
        assert!(!button.is_waiting());
    }

    #[test]
    fn without_a_press_the_wait_times_out() {
        let button = Button::default();
        assert!(!button.wait_for_touch(Duration::from_millis(20)));
    }

    #[test]
    fn a_press_while_nothing_waits_is_not_kept_for_later() {
        let button = Button::default();
        assert!(!button.press());
        assert!(!button.wait_for_touch(Duration::from_millis(20)));
    }

    #[test]
    fn giving_up_ends_a_wait_untouched_and_every_later_one() {
        let button = Button::default();
        let giver = once_waiting(&button, Button::give_up);
        assert!(!button.wait_for_touch(Duration::from_secs(3600)));
        giver.join().unwrap();
        assert!(!button.wait_for_touch(Duration::from_secs(3600)));
    }

    #[test]
    fn a_wait_longer_than_time_can_hold_is_a_wait_without_end() {
        let button = Button::default();
        let presser = {
            let button = button.clone();
            thread::spawn(move || {
                assert!(button.wait_until_waiting(Duration::MAX));
                assert!(button.press());
            })
        };
        assert!(button.wait_for_touch(Duration::MAX));
        presser.join().unwrap();

        let never = Button::auto(Duration::MAX);
        assert!(!never.wait_for_touch(Duration::from_millis(20)));
    }

    #[test]
    fn a_cancel_ends_the_wait_in_progress_even_if_resumed_at_once() {
        let button = Button::default();
        let canceller = once_waiting(&button, |b| {
            b.cancel();
            b.resume();
            b.press();
        });
        assert!(!button.wait_for_touch(Duration::from_secs(3600)));
        canceller.join().unwrap();
        let presser = once_waiting(&button, |b| assert!(b.press()));
        assert!(button.wait_for_touch(Duration::from_secs(10)));
        presser.join().unwrap();
    }

    #[test]
    fn a_cancel_ends_every_later_wait_until_resumed() {
        let button = Button::default();
        button.cancel();
        // Pressed as soon as a wait starts: the first that starts is the one after resuming.
        let presser = once_waiting(&button, |b| assert!(b.press()));
        assert!(!button.wait_for_touch(Duration::from_secs(3600)));
        button.resume();
        assert!(button.wait_for_touch(Duration::from_secs(10)));
        presser.join().unwrap();
    }

    #[test]
    fn an_auto_button_touches_itself() {
        assert!(Button::auto(Duration::ZERO).wait_for_touch(Duration::from_millis(1)));
        assert!(Button::auto(Duration::from_millis(5)).wait_for_touch(Duration::from_secs(10)));
    }
}
