//! The workspace's own programs, built beside this one (`cargo build --release`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// The binary `name` in the directory of the running benchmark.
pub fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("where the benchmark runs from")?;
    let path = exe.with_file_name(name);
    if !path.is_file() {
        bail!(
            "{} is missing: build it with `cargo build --release --bins` (scripts/bench.sh does)",
            path.display()
        );
    }
    Ok(path)
}
