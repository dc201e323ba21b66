//! A card process in a vpcd reader: `card-sim serve`, or the echo card. Stopped when
//! dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};
use e2e::Reader;

use crate::programs::sibling;

pub struct Served {
    child: Child,
}

impl Served {
    /// `card-sim serve` on the state file `state` (made factory-fresh if missing).
    pub fn card_sim(reader: &Reader, state: &Path) -> Result<Served> {
        let mut command = Command::new(sibling("card-sim")?);
        command.arg("serve").arg("--state").arg(state);
        Self::start(reader, command)
    }

    /// The echo card: this program's `echo-card` command.
    pub fn echo_card(reader: &Reader) -> Result<Served> {
        let exe = std::env::current_exe().context("where the benchmark runs from")?;
        let mut command = Command::new(exe);
        command.arg("echo-card");
        Self::start(reader, command)
    }

    fn start(reader: &Reader, mut command: Command) -> Result<Served> {
        reader.wait_for_card(false);
        let child = command
            .arg("--vpcd")
            .arg(format!("127.0.0.1:{}", reader.port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {:?}", command.get_program()))?;
        let served = Served { child };
        reader.wait_for_card(true);
        Ok(served)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
