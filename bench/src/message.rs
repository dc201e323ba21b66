//! The mail the S/MIME figures are measured on: a header and a body of base64 text
//! (random bytes, 76 characters a line, as a large attachment is sent).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const HEADER: &[u8] =
    b"From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\nSubject: bench\n\n";
/// Raw bytes per line: 57 bytes make 76 base64 characters.
const LINE_BYTES: usize = 57;

/// Writes a mail of about `mib` MiB to `path`.
pub fn write(path: &Path, mib: u64) -> Result<()> {
    let mut out = BufWriter::with_capacity(
        1 << 20,
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    out.write_all(HEADER)?;
    // Each line is 77 bytes with its newline.
    let lines = mib * 1024 * 1024 / 77;
    let mut raw = vec![0u8; LINE_BYTES * 1024];
    let mut text = [0u8; 77];
    text[76] = b'\n';
    let mut written = 0;
    while written < lines {
        getrandom::fill(&mut raw).context("random bytes for the message")?;
        for chunk in raw.chunks(LINE_BYTES).take((lines - written) as usize) {
            STANDARD.encode_slice(chunk, &mut text[..76])?;
            out.write_all(&text)?;
            written += 1;
        }
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}
