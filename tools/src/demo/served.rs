//! The cards of `smime-card demo --pcsc`: `card-sim serve` processes, each a card in its
//! own vpcd reader of pcscd, stopped when dropped, so an error midway leaves none running.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use host_driver::escape::Escaped;
use host_driver::readers::{ReaderContent, probe};
use host_driver::transport::list_readers;

/// How long a new card has to appear in its reader; pcscd polls vpcd every 400 ms.
const APPEARS_WITHIN: Duration = Duration::from_secs(15);

/// A running `card-sim serve` process.
pub struct ServedCard {
    child: Child,
}

impl ServedCard {
    /// Serves the card in `state` (a missing file becomes a factory-fresh card) to vpcd
    /// on `port`, and waits until pcscd shows it in `reader`.
    pub fn start(state: &Path, port: u16, reader: &str) -> anyhow::Result<Self> {
        if !list_readers()?.iter().any(|name| name == reader) {
            bail!("pcscd has no reader '{reader}': is vpcd (vsmartcard) configured?");
        }
        // Someone else's card there would be enrolled in place of the demo's.
        match probe(reader) {
            ReaderContent::Empty => {}
            _ => bail!("the reader '{reader}' already holds a card; remove it first"),
        }
        let binary = std::env::current_exe()?.with_file_name("card-sim");
        if !binary.is_file() {
            bail!(
                "card-sim is not built beside smime-card: {} is missing (cargo build -p card-sim, \
                 with --release for a release build)",
                binary.display()
            );
        }
        let log_path = state.with_extension("log");
        let log =
            File::create(&log_path).with_context(|| format!("writing {}", log_path.display()))?;
        let child = Command::new(&binary)
            .arg("serve")
            .arg("--state")
            .arg(state)
            .arg("--vpcd")
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut card = ServedCard { child };
        let deadline = Instant::now() + APPEARS_WITHIN;
        loop {
            if let Some(status) = card.child.try_wait()? {
                bail!(
                    "card-sim stopped ({status}); its log is {}",
                    log_path.display()
                );
            }
            match probe(reader) {
                ReaderContent::Piv(_) => return Ok(card),
                other if Instant::now() > deadline => bail!(
                    "the card did not appear in '{reader}' within {} s: {}",
                    APPEARS_WITHIN.as_secs(),
                    Escaped(&format!("{other:?}"))
                ),
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for ServedCard {
    fn drop(&mut self) {
        // The card saves every change as it happens: stopping it at once loses nothing.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
