//! Samples and how they are taken: a child process timed from spawn to exit with its peak
//! memory, or an in-process operation repeated for a while; ours and the peer's taken in
//! pairs, so that drift in the machine's load falls on both alike.

use std::io::{Read, Seek};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// One measurement: the time one operation took, and for a process its peak memory.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub time: Duration,
    /// Maximum resident set size, in KiB.
    pub max_rss_kib: Option<u64>,
}

impl Sample {
    pub fn time(time: Duration) -> Sample {
        Sample {
            time,
            max_rss_kib: None,
        }
    }
}

/// Runs `ours` and `peer` `runs` times each, in pairs, after one warm-up pair whose samples
/// are dropped (a first run meets cold caches and unloaded libraries). The pairs take turns
/// at going first, ABBA (ours, peer, peer, ours, ...), so that what comes with either slot
/// (a cold cache on a file just written, the writeback of the run before) falls on both
/// sides alike. Sample `i` of each side is from pair `i`.
pub fn alternate(
    runs: usize,
    mut ours: impl FnMut() -> Result<Sample>,
    mut peer: impl FnMut() -> Result<Sample>,
) -> Result<(Vec<Sample>, Vec<Sample>)> {
    ours()?;
    peer()?;
    let mut samples = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for pair in 0..runs {
        if pair % 2 == 0 {
            samples.0.push(ours()?);
            samples.1.push(peer()?);
        } else {
            samples.1.push(peer()?);
            samples.0.push(ours()?);
        }
    }
    Ok(samples)
}

/// Runs `sample` `runs` times: for what has no peer.
pub fn repeat(runs: usize, mut sample: impl FnMut() -> Result<Sample>) -> Result<Vec<Sample>> {
    (0..runs).map(|_| sample()).collect()
}

/// The time per operation of `operation` done again and again for at least `span` (at
/// least once): one sample of an operation too quick to time alone.
pub fn per_operation(span: Duration, mut operation: impl FnMut() -> Result<()>) -> Result<Sample> {
    let start = Instant::now();
    let mut count = 0u32;
    while count == 0 || start.elapsed() < span {
        operation()?;
        count += 1;
    }
    Ok(Sample::time(start.elapsed() / count))
}

/// Runs `command` to its end, its output discarded, and returns its wall time and peak
/// memory. A failure is an error that quotes what the command wrote to stderr.
pub fn process(command: &mut Command) -> Result<Sample> {
    let mut stderr = tempfile::tempfile().context("a file for stderr")?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr.try_clone()?);
    let start = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {}", describe(command)))?;
    let (status, max_rss_kib) = wait_with_rusage(child.id())?;
    let time = start.elapsed();
    if !exited_cleanly(status) {
        let mut message = String::new();
        stderr.rewind()?;
        stderr.read_to_string(&mut message)?;
        bail!(
            "{} failed (wait status {status:#x}):\n{}",
            describe(command),
            message.trim_end()
        );
    }
    Ok(Sample {
        time,
        max_rss_kib: Some(max_rss_kib),
    })
}

/// Runs a setup step (not measured) that must succeed; returns its stdout.
pub fn setup(command: &mut Command) -> Result<Vec<u8>> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", describe(command)))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}):\n{}",
            describe(command),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(out.stdout)
}

/// Waits for the child `pid`; returns its wait status and its peak memory in KiB.
/// Hand-written because std's `Child::wait` drops the rusage that `wait4` gives, and
/// `getrusage(RUSAGE_CHILDREN)` holds only the largest of all children so far.
fn wait_with_rusage(pid: u32) -> Result<(i32, u64)> {
    let pid = libc::pid_t::try_from(pid)?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own child, not yet waited for; both pointers are valid.
        if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("wait4");
        }
    }
    // Linux counts ru_maxrss in KiB.
    Ok((status, u64::try_from(usage.ru_maxrss)?))
}

fn exited_cleanly(status: i32) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::time::Duration;

    use super::*;

    #[test]
    fn pairs_take_turns_at_going_first_after_a_dropped_warm_up_pair() {
        let order = RefCell::new(Vec::new());
        let run = |side: &'static str| {
            let order = &order;
            move || {
                order.borrow_mut().push(side);
                let n = order.borrow().len() as u64;
                Ok(Sample::time(Duration::from_millis(n)))
            }
        };
        let (ours, peer) = alternate(4, run("ours"), run("peer")).unwrap();
        assert_eq!(
            *order.borrow(),
            [
                "ours", "peer", "ours", "peer", "peer", "ours", "ours", "peer", "peer", "ours"
            ]
        );
        // The warm-up (1 and 2) is dropped; sample i of each side is from pair i.
        let millis = |s: &[Sample]| s.iter().map(|s| s.time.as_millis()).collect::<Vec<_>>();
        assert_eq!(millis(&ours), [3, 6, 7, 10]);
        assert_eq!(millis(&peer), [4, 5, 8, 9]);
    }

    #[test]
    fn a_failure_of_either_side_ends_the_run() {
        let failed = alternate(3, || Ok(Sample::time(Duration::ZERO)), || bail!("no peer"));
        assert!(failed.is_err());
    }
}
