//! Where PINs, PUKs and management keys come from: a prompt without echo (the default),
//! an environment variable or a file. Values live in `Zeroizing` buffers or
//! [`Secret`]s, are wiped after use, and are never printed, not even in error messages.

use std::path::{Path, PathBuf};

use anyhow::Context;
use apdu_spec::piv::Algorithm;
use apdu_spec::piv::mgmt_key::ManagementKey;
use clap::Args;
use host_driver::{PivCard, Secret, Transport};
use zeroize::Zeroizing;

use crate::failure::Usage;
use crate::progress;

/// One kind of secret, for prompts and messages.
struct Kind {
    /// "PIN", "new PIN", …
    what: &'static str,
    env_flag: &'static str,
    file_flag: &'static str,
    /// Whether a prompt asks twice (new values).
    confirm: bool,
}

const PIN: Kind = Kind {
    what: "PIN",
    env_flag: "--pin-env",
    file_flag: "--pin-file",
    confirm: false,
};
const PUK: Kind = Kind {
    what: "PUK",
    env_flag: "--puk-env",
    file_flag: "--puk-file",
    confirm: false,
};
const NEW_PIN: Kind = Kind {
    what: "new PIN",
    env_flag: "--new-pin-env",
    file_flag: "--new-pin-file",
    confirm: true,
};
const NEW_PUK: Kind = Kind {
    what: "new PUK",
    env_flag: "--new-puk-env",
    file_flag: "--new-puk-file",
    confirm: true,
};
const MGMT_KEY: Kind = Kind {
    what: "management key",
    env_flag: "--mgmt-key-env",
    file_flag: "--mgmt-key-file",
    confirm: false,
};
const NEW_MGMT_KEY: Kind = Kind {
    what: "new management key",
    env_flag: "--new-key-env",
    file_flag: "--new-key-file",
    confirm: true,
};

/// The PIN.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// Read the PIN from the environment variable NAME (default: ask without echo)
    #[arg(long, value_name = "NAME", conflicts_with = "pin_file")]
    pin_env: Option<String>,
    /// Read the PIN from FILE (a trailing newline is ignored)
    #[arg(long, value_name = "FILE")]
    pin_file: Option<PathBuf>,
}

impl PinArgs {
    pub fn read(&self) -> anyhow::Result<Secret> {
        pin_like(&PIN, self.pin_env.as_deref(), self.pin_file.as_deref())
    }
}

/// The PUK.
#[derive(Debug, Args)]
pub struct PukArgs {
    /// Read the PUK from the environment variable NAME (default: ask without echo)
    #[arg(long, value_name = "NAME", conflicts_with = "puk_file")]
    puk_env: Option<String>,
    /// Read the PUK from FILE (a trailing newline is ignored)
    #[arg(long, value_name = "FILE")]
    puk_file: Option<PathBuf>,
}

impl PukArgs {
    pub fn read(&self) -> anyhow::Result<Secret> {
        pin_like(&PUK, self.puk_env.as_deref(), self.puk_file.as_deref())
    }
}

/// A new PIN.
#[derive(Debug, Args)]
pub struct NewPinArgs {
    /// Read the new PIN from the environment variable NAME (default: ask twice without
    /// echo)
    #[arg(long, value_name = "NAME", conflicts_with = "new_pin_file")]
    new_pin_env: Option<String>,
    /// Read the new PIN from FILE (a trailing newline is ignored)
    #[arg(long, value_name = "FILE")]
    new_pin_file: Option<PathBuf>,
}

impl NewPinArgs {
    pub fn read(&self) -> anyhow::Result<Secret> {
        pin_like(
            &NEW_PIN,
            self.new_pin_env.as_deref(),
            self.new_pin_file.as_deref(),
        )
    }
}

/// A new PUK.
#[derive(Debug, Args)]
pub struct NewPukArgs {
    /// Read the new PUK from the environment variable NAME (default: ask twice without
    /// echo)
    #[arg(long, value_name = "NAME", conflicts_with = "new_puk_file")]
    new_puk_env: Option<String>,
    /// Read the new PUK from FILE (a trailing newline is ignored)
    #[arg(long, value_name = "FILE")]
    new_puk_file: Option<PathBuf>,
}

impl NewPukArgs {
    pub fn read(&self) -> anyhow::Result<Secret> {
        pin_like(
            &NEW_PUK,
            self.new_puk_env.as_deref(),
            self.new_puk_file.as_deref(),
        )
    }
}

/// The card's current management key.
#[derive(Debug, Args)]
pub struct MgmtKeyArgs {
    /// Read the management key (hex) from the environment variable NAME (default: the
    /// factory key)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["mgmt_key_file", "mgmt_key_prompt"])]
    mgmt_key_env: Option<String>,
    /// Read the management key (hex) from FILE
    #[arg(long, value_name = "FILE", conflicts_with = "mgmt_key_prompt")]
    mgmt_key_file: Option<PathBuf>,
    /// Ask for the management key (hex) without echo
    #[arg(long)]
    mgmt_key_prompt: bool,
}

/// The management key to set.
#[derive(Debug, Args)]
pub struct NewMgmtKeyArgs {
    /// The new key in hex (other users can see it in the process list: prefer
    /// --new-key-env or --new-key-file; default: ask twice without echo)
    #[arg(long, value_name = "HEX", conflicts_with_all = ["new_key_env", "new_key_file"])]
    new_key: Option<String>,
    /// Read the new key (hex) from the environment variable NAME
    #[arg(long, value_name = "NAME", conflicts_with = "new_key_file")]
    new_key_env: Option<String>,
    /// Read the new key (hex) from FILE
    #[arg(long, value_name = "FILE")]
    new_key_file: Option<PathBuf>,
}

impl NewMgmtKeyArgs {
    /// The new key's bytes.
    pub fn read(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let text = match &self.new_key {
            Some(hex) => Zeroizing::new(hex.as_bytes().to_vec()),
            None => read(
                &NEW_MGMT_KEY,
                self.new_key_env.as_deref(),
                self.new_key_file.as_deref(),
            )?,
        };
        decode_hex(&NEW_MGMT_KEY, &text)
    }
}

/// Authenticates to the card with the management key the options name; else, where the
/// admin data says the key is stored PIN-protected (as ykman and `smime-card enroll` store
/// it), with that key, after asking for the PIN; else with the factory key. Returns the
/// key's algorithm.
pub fn authenticate<T: Transport>(
    card: &mut PivCard<T>,
    args: &MgmtKeyArgs,
    pin: &PinArgs,
) -> anyhow::Result<Algorithm> {
    let (key, which) = match given_management_key(card, args)? {
        Some(key) => (key, "the given management key"),
        None => match pin_protected_key(card, pin)? {
            Some(key) => (key, "the management key stored PIN-protected"),
            None => {
                let algorithm = card.management_algorithm()?.algorithm;
                let key = ManagementKey::factory(algorithm).with_context(|| {
                    format!("the card reports {algorithm} for its management key")
                })?;
                (key, "the factory default management key")
            }
        },
    };
    crate::touch::prompt_for_management_key(card)?;
    card.authenticate(&key)
        .with_context(|| format!("authenticating with {which}"))?;
    Ok(key.algorithm())
}

/// The management key the options name, in the algorithm the card's key has; `None`
/// when none is given.
pub fn given_management_key<T: Transport>(
    card: &mut PivCard<T>,
    args: &MgmtKeyArgs,
) -> anyhow::Result<Option<ManagementKey>> {
    let text = if args.mgmt_key_prompt {
        prompt(&MGMT_KEY)?
    } else if args.mgmt_key_env.is_some() || args.mgmt_key_file.is_some() {
        read(
            &MGMT_KEY,
            args.mgmt_key_env.as_deref(),
            args.mgmt_key_file.as_deref(),
        )?
    } else {
        return Ok(None);
    };
    let card_algorithm = card.management_algorithm()?;
    let bytes = decode_hex(&MGMT_KEY, &text)?;
    let algorithm =
        management_algorithm_for(card_algorithm.algorithm, card_algorithm.confirmed, &bytes)?;
    let key = ManagementKey::new(algorithm, &bytes)
        .with_context(|| format!("{algorithm} is not a management key algorithm"))?;
    Ok(Some(key))
}

/// The key stored PIN-protected, where the admin data says there is one (the PIN is
/// asked for only then).
fn pin_protected_key<T: Transport>(
    card: &mut PivCard<T>,
    pin: &PinArgs,
) -> anyhow::Result<Option<ManagementKey>> {
    if !card.admin_data()?.is_some_and(|a| a.management_key_stored) {
        return Ok(None);
    }
    let key = card.pin_protected_management_key(&pin.read()?)?.context(
        "the admin data says the management key is stored PIN-protected, but the card holds none",
    )?;
    Ok(Some(key))
}

/// The algorithm of a management key of `key`'s length: the card's, when it told it
/// (metadata, or by answering a request in it); otherwise what the length tells (16 bytes
/// AES-128, 32 AES-256, 24 the card's guess).
fn management_algorithm_for(
    reported: Algorithm,
    card_knows: bool,
    key: &[u8],
) -> anyhow::Result<Algorithm> {
    if reported.symmetric_key_len() == Some(key.len()) {
        return Ok(reported);
    }
    let by_length = match key.len() {
        16 => Some(Algorithm::Aes128),
        32 => Some(Algorithm::Aes256),
        _ => None,
    };
    match by_length {
        Some(algorithm) if !card_knows => Ok(algorithm),
        _ => Err(Usage(format!(
            "the card's management key is {reported}, which has {} bytes ({} hex digits); the given key has {} bytes",
            reported.symmetric_key_len().unwrap_or(0),
            2 * reported.symmetric_key_len().unwrap_or(0),
            key.len()
        ))
        .into()),
    }
}

/// The new management key for `algorithm` from `bytes`, with a usage error naming the
/// right length, or why the key is too weak to set.
pub fn new_management_key(algorithm: Algorithm, bytes: &[u8]) -> anyhow::Result<ManagementKey> {
    let key = ManagementKey::new(algorithm, bytes).ok_or_else(|| {
        let len = algorithm.symmetric_key_len().unwrap_or(0);
        Usage(format!(
            "a {algorithm} management key has {len} bytes ({} hex digits); the new key has {} bytes",
            2 * len,
            bytes.len()
        ))
    })?;
    match key.weakness() {
        Some(weakness) => Err(Usage(format!(
            "the new {algorithm} management key is weak: {weakness}; choose another (24 random bytes)"
        ))
        .into()),
        None => Ok(key),
    }
}

fn pin_like(kind: &Kind, env: Option<&str>, file: Option<&Path>) -> anyhow::Result<Secret> {
    let value = read(kind, env, file)?;
    Secret::new(value.to_vec()).map_err(|_| {
        Usage(format!(
            "the {} must have 6 to 8 characters (it has {})",
            kind.what,
            value.len()
        ))
        .into()
    })
}

/// A secret's bytes from the environment variable, the file, or a prompt.
fn read(kind: &Kind, env: Option<&str>, file: Option<&Path>) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    if let Some(name) = env {
        use std::os::unix::ffi::OsStringExt;
        let value = std::env::var_os(name).ok_or_else(|| {
            Usage(format!(
                "the environment variable {name} (for the {}) is not set",
                kind.what
            ))
        })?;
        return Ok(Zeroizing::new(value.into_vec()));
    }
    if let Some(path) = file {
        let mut value = Zeroizing::new(
            std::fs::read(path)
                .with_context(|| format!("reading the {} from {}", kind.what, path.display()))?,
        );
        if value.last() == Some(&b'\n') {
            value.pop();
            if value.last() == Some(&b'\r') {
                value.pop();
            }
        }
        return Ok(value);
    }
    prompt(kind)
}

/// Asks on the terminal without echo (twice for a new value).
fn prompt(kind: &Kind) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let ask = |label: String| {
        progress::suspended(|| rpassword::prompt_password(label))
            .map(Zeroizing::new)
            .map_err(|e| {
                Usage(format!(
                    "cannot ask for the {what} on the terminal ({e}); give it with {} NAME or {} FILE",
                    kind.env_flag,
                    kind.file_flag,
                    what = kind.what
                ))
            })
    };
    let first = ask(format!("{}: ", capitalised(kind.what)))?;
    if kind.confirm {
        let again = ask(format!("{} again: ", capitalised(kind.what)))?;
        if *again != *first {
            return Err(Usage(format!("the two entries of the {} differ", kind.what)).into());
        }
    }
    Ok(Zeroizing::new(first.as_bytes().to_vec()))
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Hex (whitespace around it ignored) to bytes; the error never shows the value.
fn decode_hex(kind: &Kind, text: &[u8]) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    hex::decode(text.trim_ascii())
        .map(Zeroizing::new)
        .map_err(|_| Usage(format!("the {} must be given in hex", kind.what)).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_length_decides_the_algorithm_only_when_the_card_cannot_tell() {
        assert_eq!(
            management_algorithm_for(Algorithm::Tdes, false, &[0; 24]).unwrap(),
            Algorithm::Tdes
        );
        assert_eq!(
            management_algorithm_for(Algorithm::Tdes, false, &[0; 16]).unwrap(),
            Algorithm::Aes128
        );
        assert_eq!(
            management_algorithm_for(Algorithm::Aes192, true, &[0; 24]).unwrap(),
            Algorithm::Aes192
        );
        let wrong = management_algorithm_for(Algorithm::Aes192, true, &[0; 16]).unwrap_err();
        assert!(wrong.to_string().contains("AES-192"), "{wrong}");
    }

    #[test]
    fn hex_errors_do_not_show_the_value() {
        let err = decode_hex(&MGMT_KEY, b"01020304zz")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("zz") && !err.contains("0102"), "{err}");
        assert_eq!(
            *decode_hex(&MGMT_KEY, b" 0a0B\n").unwrap(),
            vec![0x0a, 0x0b]
        );
    }
}
