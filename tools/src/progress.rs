//! Progress on stderr for work that takes a while: a bar over the file being signed,
//! verified, encrypted or decrypted, and a spinner while the card works without a word (an
//! RSA-4096 key takes a token tens of seconds). Drawn only when stderr is a terminal (and
//! not a dumb one: TERM unset or `dumb`), so scripts, pipes and CI see nothing extra. Every
//! bar clears itself when it goes, on success or error, so what is printed next stands
//! alone; prompts are written with the bars taken away ([`suspended`]) and log lines above
//! them ([`AboveBars`]), so neither garbles the other.

use std::fs::File;
use std::io::{self, Write};
use std::sync::LazyLock;
use std::time::Duration;

use indicatif::{
    MultiProgress, ProgressBar, ProgressBarIter, ProgressDrawTarget, ProgressFinish, ProgressStyle,
};

/// A file of known size: how far, how fast, how long still.
const FILE_BAR: &str =
    "{msg} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}";
/// A stream of unknown size (a pipe): how much so far, how fast.
const STREAM_SPINNER: &str = "{spinner} {msg} {binary_bytes} {binary_bytes_per_sec} ({elapsed})";
/// Work with no measure but time.
const WORK_SPINNER: &str = "{spinner} {msg} ({elapsed})";

/// How often a bar is redrawn when nothing moves: the card may keep the reading still
/// (a touch, a slow signature), and the time shown must go on.
const TICK: Duration = Duration::from_millis(100);

/// Every bar is drawn through this one, so anything else written to stderr can take the
/// bars away first and put them back after. Stderr as indicatif draws to it: hidden where
/// it is not a terminal, or a dumb one.
static BARS: LazyLock<MultiProgress> =
    LazyLock::new(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));

/// `file`, read through a bar saying `what` is done ("Signing"): with the file's size
/// when it is a regular file, the bytes read so far otherwise (a pipe, a terminal). The
/// position follows seeks, so a file read twice is shown twice. The bar goes with the
/// reader.
pub fn reading<'a>(what: &str, file: &'a File) -> ProgressBarIter<&'a File> {
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let bar = match size {
        Some(len) => ProgressBar::new(len).with_style(style(FILE_BAR)),
        None => ProgressBar::no_length().with_style(style(STREAM_SPINNER)),
    };
    shown(bar, what).wrap_read(file)
}

/// Runs `work` under a spinner saying `what`, with the time elapsed.
pub fn while_working<T>(what: &str, work: impl FnOnce() -> T) -> T {
    let spinner = shown(
        ProgressBar::new_spinner().with_style(style(WORK_SPINNER)),
        what,
    );
    let result = work();
    spinner.finish_and_clear();
    result
}

/// Runs `output`, which writes to the terminal (a prompt, a note), with the bars taken
/// away; they come back after it.
pub fn suspended<T>(output: impl FnOnce() -> T) -> T {
    if BARS.is_hidden() {
        return output();
    }
    // indicatif's `suspend` panics where it cannot clear or redraw the bars (the terminal
    // gone after a hangup) and has no form that returns the error; what is written here
    // needs that terminal too.
    BARS.suspend(output)
}

/// Stderr for another writer (the logger): each line goes above the bars. Where no bar is
/// drawn, straight to stderr; else through indicatif's `println`, which returns a failure
/// to write (the terminal gone) rather than panic as `suspend` does.
pub struct AboveBars;

impl Write for AboveBars {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        write_above(&BARS, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Writes `buf`, whole lines, above `bars`.
fn write_above(bars: &MultiProgress, buf: &[u8]) -> io::Result<()> {
    if bars.is_hidden() {
        return io::stderr().write_all(buf);
    }
    // env_logger hands over each record whole, as UTF-8; `println` ends each line.
    bars.println(String::from_utf8_lossy(buf))
}

/// `bar`, saying `what`, drawn among the others at once, cleared when it finishes or is
/// dropped.
fn shown(bar: ProgressBar, what: &str) -> ProgressBar {
    let bar = BARS.add(
        bar.with_message(what.to_owned())
            .with_finish(ProgressFinish::AndClear),
    );
    // Drawn here rather than by the first tick, whose thread may start only after quick
    // work is over: what is shown does not hang on the scheduler.
    bar.tick();
    bar.enable_steady_tick(TICK);
    bar
}

fn style(template: &str) -> ProgressStyle {
    // The templates are the constants above, each checked by a test.
    ProgressStyle::with_template(template).expect("a valid progress template")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A terminal that hung up: every write fails as on a pty whose other end closed.
    #[derive(Debug)]
    struct HungUp;

    impl indicatif::TermLike for HungUp {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            gone()
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            gone()
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            gone()
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            gone()
        }
        fn write_line(&self, _: &str) -> io::Result<()> {
            gone()
        }
        fn write_str(&self, _: &str) -> io::Result<()> {
            gone()
        }
        fn clear_line(&self) -> io::Result<()> {
            gone()
        }
        fn flush(&self) -> io::Result<()> {
            gone()
        }
    }

    fn gone() -> io::Result<()> {
        Err(io::Error::from_raw_os_error(libc::EIO))
    }

    #[test]
    fn a_log_line_to_a_terminal_gone_is_an_error_not_a_panic() {
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::term_like(Box::new(HungUp)));
        let bar = bars.add(ProgressBar::new(10));
        bar.tick();
        let written = write_above(&bars, b"a log line\n");
        assert_eq!(written.unwrap_err().raw_os_error(), Some(libc::EIO));
    }

    #[test]
    fn templates_are_valid() {
        for template in [FILE_BAR, STREAM_SPINNER, WORK_SPINNER] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }
}
