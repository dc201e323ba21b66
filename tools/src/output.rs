//! The files commands write (`--out`): a temporary file beside the target takes its place
//! only once it is complete, so a failure (of the command, or of the disk) leaves the old
//! file as it was, or no file, and never half of a new one, even when `--out` names the
//! input.

use std::fs::{File, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context;
use tempfile::NamedTempFile;

/// Who may read a file written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// Its owner only (0600): mail, which may be private.
    Owner,
    /// Whoever the umask lets (0666 less the umask), as for any new file: public keys
    /// and certificates. A file replaced keeps its mode, so a private copy stays private.
    Anyone,
}

/// A file being written in place of `path`.
pub struct Output<'a> {
    path: &'a Path,
    temp: NamedTempFile,
}

impl<'a> Output<'a> {
    /// A temporary file in `path`'s directory.
    pub fn create(path: &'a Path, readers: Readers) -> anyhow::Result<Self> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mode = match readers {
            Readers::Owner => 0o600,
            Readers::Anyone => std::fs::metadata(path).map_or(0o666, |m| m.permissions().mode()),
        };
        let temp = tempfile::Builder::new()
            .permissions(Permissions::from_mode(mode))
            .tempfile_in(dir)
            .with_context(|| format!("writing into {}", dir.display()))?;
        Ok(Self { path, temp })
    }

    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Puts the complete file in place of `path`. An output dropped without this leaves
    /// `path` as it was.
    pub fn commit(self) -> anyhow::Result<()> {
        let writing = || format!("writing {}", self.path.display());
        // On disk before the rename: a crash then cannot leave an empty file behind.
        self.temp.as_file().sync_all().with_context(writing)?;
        self.temp.persist(self.path).with_context(writing)?;
        Ok(())
    }
}

/// Writes `bytes` to `path`, whole or not at all.
pub fn write(path: &Path, bytes: &[u8], readers: Readers) -> anyhow::Result<()> {
    let mut output = Output::create(path, readers)?;
    output
        .file()
        .write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    output.commit()
}
