//! The control socket of `card-sim serve`: a Unix socket beside the state file
//! (`<state>.ctl`, mode 0600) that speaks the line protocol of [`Command`], one
//! connection at a time per thread, and the client side `card-sim ctl` uses.
//!
//! The socket is bound in a private directory (0700, made for it beside the state file)
//! and renamed into place once it is 0600, so it is never reachable with wider
//! permissions, whatever the umask, and no other thread's files are touched by a umask
//! change. The rename also replaces the socket a crashed `serve` left: the serve binding
//! holds the card's lock, so no live server owns that socket. Anything else there stays,
//! even if it appears while the socket is being put in place ([`put_in_place`]).

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use log::{debug, warn};

use super::{Command, Control};
use crate::store::real_path;

/// The longest line taken: every command fits many times over.
const MAX_LINE: u64 = 1024;
/// How long a client may take to send its line, and a server to answer one that does not
/// wait (every command but `touch wait=`, which may take its wait more).
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the accepting thread looks up to see whether it is to stop.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The control socket of the card whose state is in `state`: beside the state file's real
/// path, as its lock is, so every name of the file finds the same socket.
pub fn socket_path(state: &Path) -> io::Result<PathBuf> {
    let state = real_path(state)?;
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".ctl");
    Ok(state.with_file_name(name))
}

/// The longest path a socket address holds (`sun_path`, less its terminating NUL).
const SOCKET_PATH_MAX: usize = 107;

/// Runs `f` with a name of `path` short enough for a socket address: `path` itself, or
/// when it is longer, the same file reached through `/proc/self/fd` and its directory
/// held open. A state file deep in a build tree must not lose its control socket.
fn with_socket_name<T>(path: &Path, f: impl FnOnce(&Path) -> io::Result<T>) -> io::Result<T> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return f(path);
    };
    if path.as_os_str().len() <= SOCKET_PATH_MAX {
        return f(path);
    }
    let dir = fs::File::open(dir)?;
    f(&Path::new("/proc/self/fd")
        .join(dir.as_raw_fd().to_string())
        .join(name))
}

/// A listening control socket; removed, and its thread stopped, when dropped.
pub struct ControlSocket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlSocket {
    /// Listens at `path` for commands to `control`. An existing socket there (left by a
    /// crashed server) is replaced; anything else there is refused.
    pub fn bind(path: &Path, control: Control) -> io::Result<Self> {
        let dir = path.parent().unwrap_or(Path::new("."));
        // tempfile makes the directory 0700.
        let private = tempfile::Builder::new()
            .prefix(".card-sim-ctl-")
            .tempdir_in(dir)?;
        let staged = private.path().join("ctl");
        let listener = with_socket_name(&staged, |name| UnixListener::bind(name))?;
        fs::set_permissions(&staged, fs::Permissions::from_mode(0o600))?;
        if let Err(e) = put_in_place(&staged, path) {
            // What stood at `path` may be in the private directory now: never delete it.
            if fs::symlink_metadata(&staged).is_ok_and(|found| !found.file_type().is_socket()) {
                let _kept: PathBuf = private.keep();
            }
            return Err(e);
        }
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = thread::Builder::new()
            .name("control socket".into())
            .spawn(move || accept(&listener, &control, &stopping))?;
        Ok(Self {
            path: path.to_owned(),
            stop,
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Moves the socket at `staged` to `path`, replacing nothing there but a socket. Each step
/// is one atomic rename: a file that appears at `path` meanwhile is never lost, as it could
/// be between a look at `path` and a plain rename. Where renameat2 or one of its flags is
/// missing (NFS, some older file systems, a sandbox), it looks, then renames.
///
/// A failure while what stood at `path` is swapped out leaves it at `staged`: the caller
/// must then keep `staged`'s directory, whose error names it.
fn put_in_place(staged: &Path, path: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    let rename = |flags| renameat_with(CWD, staged, CWD, path, flags);
    let unsupported = |e: Errno| matches!(e, Errno::INVAL | Errno::NOSYS);
    match rename(RenameFlags::NOREPLACE) {
        Ok(()) => return Ok(()),
        Err(Errno::EXIST) => {}
        Err(e) if unsupported(e) => return look_then_rename(staged, path),
        Err(e) => return Err(e.into()),
    }
    // Swap what is there into the private directory, where nobody else changes it while it
    // is looked at, and swap it back unless it is a socket.
    match rename(RenameFlags::EXCHANGE) {
        Ok(()) => {}
        Err(e) if unsupported(e) => return look_then_rename(staged, path),
        Err(e) => return Err(e.into()),
    }
    let kept_at = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!(
                "{e}; what stood at {} is now {}",
                path.display(),
                staged.display()
            ),
        )
    };
    let found = fs::symlink_metadata(staged).map_err(kept_at)?;
    if let Err(refused) = refuse_unless_socket(path, &found) {
        rename(RenameFlags::EXCHANGE).map_err(|e| kept_at(e.into()))?;
        return Err(refused);
    }
    fs::remove_file(staged)
}

/// Where renameat2 cannot help: a look at `path`, then a plain rename over it.
fn look_then_rename(staged: &Path, path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(found) => refuse_unless_socket(path, &found)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::rename(staged, path)
}

fn refuse_unless_socket(path: &Path, found: &fs::Metadata) -> io::Result<()> {
    if found.file_type().is_socket() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ))
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = fs::remove_file(&self.path);
    }
}

/// Accepts connections until told to stop, each served on a thread of its own (a
/// `touch wait=` may wait long, and must not hold up a `remove`).
fn accept(listener: &UnixListener, control: &Control, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let control = control.clone();
                let served = thread::Builder::new()
                    .name("control connection".into())
                    .spawn(move || {
                        if let Err(e) = serve_connection(stream, &control) {
                            debug!("control connection ended: {e}");
                        }
                    });
                if let Err(e) = served {
                    warn!("control socket: no thread for a connection ({e})");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(STOP_POLL),
            Err(e) => {
                warn!("control socket: {e}");
                thread::sleep(STOP_POLL);
            }
        }
    }
}

/// Answers each line the client sends until it closes the connection.
fn serve_connection(stream: UnixStream, control: &Control) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = Vec::new();
        (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Ok(());
        }
        if line.last() != Some(&b'\n') && line.len() as u64 == MAX_LINE {
            let refusal = format!("error: a line is at most {MAX_LINE} bytes\n");
            return writer.write_all(refusal.as_bytes());
        }
        let reply = reply_to(&line, control);
        writer.write_all(format!("{reply}\n").as_bytes())?;
    }
}

/// The reply to one line: `ok …` or `error: …`.
fn reply_to(line: &[u8], control: &Control) -> String {
    let Ok(line) = std::str::from_utf8(line) else {
        return "error: the line is not UTF-8".into();
    };
    let result = line
        .parse::<Command>()
        .map_err(|e| e.to_string())
        .and_then(|command| {
            debug!("control: {command}");
            control.apply(&command).map_err(|e| e.to_string())
        });
    match result {
        Ok(text) => format!("ok {text}"),
        Err(message) => format!("error: {message}"),
    }
}

/// Why a request through the control socket failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Nobody listens on the socket: no file, or one a crashed server left.
    #[error("no card-sim serve is running for {}", .0.display())]
    NotServing(PathBuf),
    #[error("control socket {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    /// The server took the command and never answered: it is stopped, or stuck.
    #[error("the card-sim serve of {} did not answer within {} s", .state.display(), .after.as_secs())]
    NoReply { state: PathBuf, after: Duration },
    /// The server's `error:` reply.
    #[error("{0}")]
    Refused(String),
}

/// Sends `command` to the server of the card whose state is in `state`; the text of its
/// `ok` reply.
pub fn request(state: &Path, command: &Command) -> Result<String, RequestError> {
    let waits = match *command {
        Command::Touch { wait: Some(secs) } => Duration::from_secs(secs),
        _ => Duration::ZERO,
    };
    request_within(state, command, READ_TIMEOUT.saturating_add(waits))
}

/// [`request`], waiting at most `patience` for the reply: a stopped server (SIGSTOP, a
/// debugger) takes the command into its socket's backlog and would hold the client for
/// ever.
fn request_within(
    state: &Path,
    command: &Command,
    patience: Duration,
) -> Result<String, RequestError> {
    let not_serving = || RequestError::NotServing(state.to_owned());
    let path = socket_path(state).map_err(|_| not_serving())?;
    let io_error = |source| RequestError::Io {
        path: path.clone(),
        source,
    };
    let mut stream =
        with_socket_name(&path, |name| UnixStream::connect(name)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => not_serving(),
            _ => io_error(e),
        })?;
    stream.set_read_timeout(Some(patience)).map_err(io_error)?;
    stream
        .write_all(format!("{command}\n").as_bytes())
        .map_err(io_error)?;
    let mut reply = String::new();
    BufReader::new(stream)
        .take(MAX_LINE)
        .read_line(&mut reply)
        .map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => RequestError::NoReply {
                state: state.to_owned(),
                after: patience,
            },
            _ => io_error(e),
        })?;
    let reply = reply.trim_end();
    if let Some(text) = reply.strip_prefix("ok") {
        Ok(text.trim_start().to_owned())
    } else if let Some(message) = reply.strip_prefix("error: ") {
        Err(RequestError::Refused(message.to_owned()))
    } else if reply.is_empty() {
        Err(not_serving())
    } else {
        Err(RequestError::Refused(format!(
            "unexpected reply \"{reply}\""
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn state_in(dir: &Path) -> PathBuf {
        let state = dir.join("card.json");
        fs::write(&state, b"{}").unwrap();
        state
    }

    #[test]
    fn a_state_file_deep_in_a_tree_keeps_its_control_socket() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("d".repeat(60)).join("e".repeat(60));
        fs::create_dir_all(&deep).unwrap();
        let state = state_in(&deep);
        let path = socket_path(&state).unwrap();
        assert!(
            path.as_os_str().len() > SOCKET_PATH_MAX,
            "{}",
            path.display()
        );
        let _socket = ControlSocket::bind(&path, Control::default()).unwrap();
        assert!(path.exists());
        let status = request(&state, &Command::Status).unwrap();
        assert!(status.starts_with("card=present"), "{status}");
    }

    fn send_line(path: &Path, line: &[u8]) -> String {
        let mut stream = UnixStream::connect(path).unwrap();
        stream.write_all(line).unwrap();
        let mut reply = String::new();
        BufReader::new(stream).read_line(&mut reply).unwrap();
        reply
    }

    #[test]
    fn the_socket_is_private_and_answers_commands() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_in(dir.path());
        let control = Control::default();
        let path = socket_path(&state).unwrap();
        let socket = ControlSocket::bind(&path, control.clone()).unwrap();
        let meta = fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "the state file and the socket: the private directory is gone"
        );

        let removed = request(&state, &Command::Remove).unwrap();
        assert!(removed.starts_with("card=removed "), "{removed}");
        assert!(!control.is_present());
        drop(socket);
        assert!(!path.exists(), "removed when the server stops");
    }

    #[test]
    fn bad_input_gets_an_error_reply_and_the_connection_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_in(dir.path());
        let path = socket_path(&state).unwrap();
        let _socket = ControlSocket::bind(&path, Control::default()).unwrap();
        let mut stream = UnixStream::connect(&path).unwrap();
        stream
            .write_all(b"explode\n\xff\nfail sw=zz\nstatus\n")
            .unwrap();
        let replies: Vec<String> = BufReader::new(stream)
            .lines()
            .take(4)
            .map(Result::unwrap)
            .collect();
        assert!(replies[0].starts_with("error: unknown command \"explode\""));
        assert_eq!(replies[1], "error: the line is not UTF-8");
        assert_eq!(
            replies[2],
            "error: sw=zz is not a status word in 4 hex digits"
        );
        assert!(replies[3].starts_with("ok card=present"), "{}", replies[3]);

        let long = [b'x'; MAX_LINE as usize + 10];
        assert_eq!(
            send_line(&path, &long),
            format!("error: a line is at most {MAX_LINE} bytes\n")
        );
    }

    #[test]
    fn a_stale_socket_is_replaced_and_a_dead_one_is_no_server() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_in(dir.path());
        let path = socket_path(&state).unwrap();
        // A socket nobody listens on, as a crashed server leaves.
        drop(UnixListener::bind(&path).unwrap());
        let dead = request(&state, &Command::Status).unwrap_err();
        assert_eq!(
            dead.to_string(),
            format!("no card-sim serve is running for {}", state.display())
        );
        let _socket = ControlSocket::bind(&path, Control::default()).unwrap();
        request(&state, &Command::Status).unwrap();
    }

    #[test]
    fn a_file_that_is_no_socket_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_in(dir.path());
        let path = socket_path(&state).unwrap();
        fs::write(&path, b"mine").unwrap();
        let refused = ControlSocket::bind(&path, Control::default())
            .err()
            .unwrap();
        assert_eq!(refused.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"mine");
    }

    #[test]
    fn a_server_that_never_answers_is_given_up_on() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_in(dir.path());
        // Listening, as a stopped server's socket does, but accepting nothing.
        let _stopped = UnixListener::bind(socket_path(&state).unwrap()).unwrap();
        let patience = Duration::from_millis(50);
        let silent = request_within(&state, &Command::Status, patience).unwrap_err();
        assert!(
            matches!(silent, RequestError::NoReply { after, .. } if after == patience),
            "{silent}"
        );
    }

    /// What is at the socket's path when the socket is put in place, not only when `bind`
    /// begins, is kept: a file is never replaced.
    #[test]
    fn a_file_that_appears_before_the_socket_is_in_place_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let staged = dir.path().join("staged");
        let _listener = UnixListener::bind(&staged).unwrap();
        let path = dir.path().join("card.json.ctl");
        fs::write(&path, b"mine").unwrap();
        let refused = put_in_place(&staged, &path).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"mine");
        assert!(
            fs::symlink_metadata(&staged)
                .unwrap()
                .file_type()
                .is_socket()
        );

        fs::remove_file(&path).unwrap();
        drop(UnixListener::bind(&path).unwrap());
        put_in_place(&staged, &path).unwrap();
        assert!(
            !staged.exists(),
            "the stale socket is gone, the new one in its place"
        );
        assert!(fs::symlink_metadata(&path).unwrap().file_type().is_socket());
    }

    #[test]
    fn without_renameat2_a_stale_socket_is_replaced_and_a_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        let staged = dir.path().join("staged");
        let _listener = UnixListener::bind(&staged).unwrap();
        let path = dir.path().join("card.json.ctl");
        fs::write(&path, b"mine").unwrap();
        let refused = look_then_rename(&staged, &path).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"mine");

        fs::remove_file(&path).unwrap();
        drop(UnixListener::bind(&path).unwrap());
        look_then_rename(&staged, &path).unwrap();
        assert!(!staged.exists());
        assert!(fs::symlink_metadata(&path).unwrap().file_type().is_socket());
    }

    #[test]
    fn without_a_server_there_is_none_to_ask() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_in(dir.path());
        assert!(matches!(
            request(&state, &Command::Status),
            Err(RequestError::NotServing(_))
        ));
        assert!(matches!(
            request(&dir.path().join("nothing.json"), &Command::Status),
            Err(RequestError::NotServing(_))
        ));
    }
}
