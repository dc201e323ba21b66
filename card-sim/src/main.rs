//! `card-sim`: a virtual PIV card for pcscd's vpcd reader, and its state files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use apdu_spec::piv::Algorithm;
use card_sim::state::{CardState, MetadataSupport};
use card_sim::vpcd::{self, AllowedListener};
use card_sim::{Card, CardConfig, FileStore, Profile, StoreError, summary};
use clap::{Parser, Subcommand, ValueEnum};

/// A virtual PIV smart card (a YubiKey 5.7 PIV applet, byte for byte where clients look)
/// that plugs into pcscd through vsmartcard's vpcd reader driver.
///
/// Exit codes: 0 success, 1 the state file could not be read, written or created, or
/// another user's program holds the vpcd port, 2 bad arguments.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Connect the card to vpcd and answer the reader until SIGINT or SIGTERM.
    ///
    /// A missing state file becomes a factory-fresh card (PIN 123456, PUK 12345678,
    /// management key 010203040506070801020304050607080102030405060708, 3DES).
    /// Every change is saved at once, atomically. Set RUST_LOG=debug to log every APDU
    /// (only public data shown; PINs, keys, objects and results by their length).
    Serve {
        /// The card's state file.
        #[arg(long)]
        state: PathBuf,
        /// vpcd's address: 35963 is the reader "Virtual PCD 00 00", 35964 "Virtual PCD 00 01".
        #[arg(long, default_value = vpcd::DEFAULT_ADDRESS, value_parser = socket_address)]
        vpcd: String,
        /// Connect even when a program of another user (neither root nor you) listens on the
        /// loopback vpcd port. Without it the card refuses: such a program could pose as
        /// vpcd to collect PINs and keys.
        #[arg(long)]
        allow_foreign_listener: bool,
    },
    /// Create a factory-fresh card with the given choices (refuses to overwrite a card).
    Init {
        #[arg(long)]
        state: PathBuf,
        /// The card model: yubikey (5.7 with a 3DES management key, for Debian's tools),
        /// yubikey-5.7 (as shipped: AES-192 management key), yubikey-5.4, yubikey-4.3 (no
        /// metadata, no AES), piv (plain SP 800-73-4 government card). The other choices
        /// combine with it where the model allows.
        #[arg(long, default_value_t = Profile::default(), value_parser = profile)]
        profile: Profile,
        /// Serial number (random by default).
        #[arg(long)]
        serial: Option<u32>,
        /// Management key algorithm; the profile's by default (3DES, but AES-192 for
        /// yubikey-5.7). 3DES is what Debian's yubico-piv-tool 2.2 and OpenSC's piv-tool
        /// can use.
        #[arg(long, value_enum)]
        management_key_algorithm: Option<MgmtAlgorithm>,
        /// PIN tries before the PIN blocks (1-255).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..))]
        pin_tries: u8,
        /// PUK tries before the PUK blocks (1-255).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..))]
        puk_tries: u8,
        /// Answer only SP 800-73-4 commands, like a plain PIV card: no version, serial,
        /// metadata, attestation, import, move or reset instructions.
        #[arg(long)]
        no_yubikey_extensions: bool,
        /// How GET METADATA answers: as a YubiKey (full), not at all (absent: 6D00, as
        /// YubiKeys before 5.3), or without the algorithm, policies and public key
        /// (partial, as some other PIV applets). Clients must then learn them elsewhere.
        #[arg(long, value_enum, default_value_t = Metadata::Full)]
        metadata: Metadata,
    },
    /// Print a summary of the card: serial, version, tries left, slots. Never a secret.
    Show {
        #[arg(long)]
        state: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum MgmtAlgorithm {
    #[value(name = "3des")]
    Tdes,
    Aes128,
    Aes192,
    Aes256,
}

impl From<MgmtAlgorithm> for Algorithm {
    fn from(a: MgmtAlgorithm) -> Self {
        match a {
            MgmtAlgorithm::Tdes => Algorithm::Tdes,
            MgmtAlgorithm::Aes128 => Algorithm::Aes128,
            MgmtAlgorithm::Aes192 => Algorithm::Aes192,
            MgmtAlgorithm::Aes256 => Algorithm::Aes256,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Metadata {
    Full,
    Absent,
    Partial,
}

impl From<Metadata> for MetadataSupport {
    fn from(m: Metadata) -> Self {
        match m {
            Metadata::Full => MetadataSupport::Full,
            Metadata::Absent => MetadataSupport::Absent,
            Metadata::Partial => MetadataSupport::Partial,
        }
    }
}

/// A profile by its name.
fn profile(s: &str) -> Result<Profile, String> {
    s.parse()
        .map_err(|e: card_sim::profile::UnknownProfile| e.to_string())
}

/// Accepts HOST:PORT that resolves to at least one address.
fn socket_address(s: &str) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    match s.to_socket_addrs() {
        Ok(addrs) if addrs.len() > 0 => Ok(s.to_owned()),
        Ok(_) => Err(format!("{s} resolves to no address")),
        Err(e) => Err(format!("expected HOST:PORT such as 127.0.0.1:35963 ({e})")),
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("card-sim: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve {
            state,
            vpcd: address,
            allow_foreign_listener,
        } => {
            let mut card = Card::open(&state, &CardConfig::default()).map_err(|e| e.to_string())?;
            log::info!("card {} from {}", card.state().serial, state.display());
            let shutdown = Arc::new(AtomicBool::new(false));
            for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(signal, shutdown.clone())
                    .map_err(|e| format!("signal handler: {e}"))?;
            }
            let allowed = if allow_foreign_listener {
                AllowedListener::AnyUser
            } else {
                AllowedListener::RootOrOwnUser
            };
            // Every change was saved when it happened: nothing is left to write.
            vpcd::serve(&mut card, &address, allowed, &shutdown)
                .map_err(|e| format!("{e}; pass --allow-foreign-listener to connect anyway"))
        }
        Command::Init {
            state,
            profile,
            serial,
            management_key_algorithm,
            pin_tries,
            puk_tries,
            no_yubikey_extensions,
            metadata,
        } => {
            let factory = profile.config();
            let config = CardConfig {
                serial,
                management_algorithm: management_key_algorithm
                    .map_or(factory.management_algorithm, Algorithm::from),
                pin_tries,
                puk_tries,
                yubikey_extensions: factory.yubikey_extensions && !no_yubikey_extensions,
                metadata: metadata.into(),
                ..factory
            };
            let card = init(&state, &config)?;
            println!(
                "created card {} ({}) in {}",
                card.serial,
                card.profile,
                state.display()
            );
            Ok(())
        }
        Command::Show { state } => {
            let card = FileStore::new(&state).load().map_err(|e| e.to_string())?;
            print!("{}", summary::summary(&card));
            Ok(())
        }
    }
}

/// Creates a factory-fresh card with `config` in `state`, which must not exist. It holds
/// the card's lock while writing, as every writer does: a program claiming the card then
/// never takes the write's temporary file for one a crash left, and removes it.
fn init(state: &Path, config: &CardConfig) -> Result<CardState, String> {
    let card = CardState::factory_new(config).map_err(|e| e.to_string())?;
    let store = FileStore::open_exclusive(state).map_err(|e| e.to_string())?;
    store.create(&card).map_err(|e| match e {
        StoreError::Write { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
            format!(
                "{} already exists; remove it first to create a new card",
                state.display()
            )
        }
        e => e.to_string(),
    })?;
    Ok(card)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_refuses_a_choice_the_model_lacks_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("card.json");
        let config = CardConfig {
            management_algorithm: Algorithm::Aes128,
            ..Profile::YubiKey43.config()
        };
        let refused = init(&state, &config).unwrap_err();
        assert!(
            refused.contains("yubikey-4.3") && refused.contains("AES-128"),
            "{refused}"
        );
        assert!(!state.exists(), "nothing written");
    }

    #[test]
    fn init_refuses_a_card_in_use_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("card.json");
        let serving = FileStore::open_exclusive(&state).unwrap();
        let refused = init(&state, &CardConfig::default()).unwrap_err();
        assert!(refused.contains("in use"), "{refused}");
        assert!(!state.exists(), "nothing written");

        drop(serving);
        init(&state, &CardConfig::default()).unwrap();
        let again = init(&state, &CardConfig::default()).unwrap_err();
        assert!(again.contains("already exists"), "{again}");
    }
}
