//! `card-sim`: a virtual PIV card for pcscd's vpcd reader, and its state files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use apdu_spec::piv::Algorithm;
use card_sim::recorded::Recorded;
use card_sim::replay::Replay;
use card_sim::state::{CardState, MetadataSupport};
use card_sim::vpcd::{self, AllowedListener};
use card_sim::{Card, CardConfig, FileStore, StoreError, summary};
use clap::{Parser, Subcommand, ValueEnum};

/// A virtual PIV smart card (a YubiKey 5.7 PIV applet, byte for byte where clients look)
/// that plugs into pcscd through vsmartcard's vpcd reader driver.
///
/// Exit codes: 0 success, 1 the state file (or a trace) could not be read, written or
/// created, another user's program holds the vpcd port, or a replay failed, 2 bad
/// arguments.
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
        /// Record the session in FILE (created 0600) as JSON lines: every APDU and power
        /// event, PINs, PUKs, management keys and imported keys redacted. `card-sim replay`
        /// serves it again.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
    /// Serve a recorded session (`serve --trace`, `smime-card --trace`) as a card that
    /// answers the same commands with the same responses, until SIGINT or SIGTERM.
    ///
    /// The first command that differs from the recording (a redacted PIN matches any PIN
    /// of its length), comes after its end, or needs a redacted response is answered 6F00
    /// and reported, and the replay exits 1. At SIGINT or SIGTERM it exits 0 when every
    /// recorded command was received, 1 when some were not.
    Replay {
        /// The trace to serve.
        trace: PathBuf,
        /// vpcd's address, as for `serve`.
        #[arg(long, default_value = vpcd::DEFAULT_ADDRESS, value_parser = socket_address)]
        vpcd: String,
        /// As for `serve`.
        #[arg(long)]
        allow_foreign_listener: bool,
    },
    /// Create a factory-fresh card with the given choices (refuses to overwrite a card).
    Init {
        #[arg(long)]
        state: PathBuf,
        /// Serial number (random by default).
        #[arg(long)]
        serial: Option<u32>,
        /// Management key algorithm. 3DES is what Debian's yubico-piv-tool 2.2 and
        /// OpenSC's piv-tool can use; a YubiKey 5.7 ships with AES-192.
        #[arg(long, value_enum, default_value_t = MgmtAlgorithm::Tdes)]
        management_key_algorithm: MgmtAlgorithm,
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
            trace,
        } => {
            let mut card = Card::open(&state, &CardConfig::default()).map_err(|e| e.to_string())?;
            log::info!("card {} from {}", card.state().serial, state.display());
            let shutdown = shutdown_on_signals()?;
            let allowed = allowed_listener(allow_foreign_listener);
            // Every change was saved when it happened: nothing is left to write.
            match trace {
                Some(path) => serve_recorded(card, &path, &address, allowed, &shutdown),
                None => vpcd::serve(&mut card, &address, allowed, &shutdown).map_err(foreign),
            }
        }
        Command::Replay {
            trace,
            vpcd: address,
            allow_foreign_listener,
        } => {
            let shutdown = shutdown_on_signals()?;
            let mut replay = Replay::open(&trace)
                .map_err(|e| e.to_string())?
                .stop_on_failure(shutdown.clone());
            log::info!(
                "replaying {} commands from {}",
                replay.recorded(),
                trace.display()
            );
            let allowed = allowed_listener(allow_foreign_listener);
            vpcd::serve(&mut replay, &address, allowed, &shutdown).map_err(foreign)?;
            let replayed = replay.finish().map_err(|e| e.to_string())?;
            println!("replayed {replayed} commands, all matched");
            Ok(())
        }
        Command::Init {
            state,
            serial,
            management_key_algorithm,
            pin_tries,
            puk_tries,
            no_yubikey_extensions,
            metadata,
        } => {
            let config = CardConfig {
                serial,
                management_algorithm: management_key_algorithm.into(),
                pin_tries,
                puk_tries,
                yubikey_extensions: !no_yubikey_extensions,
                metadata: metadata.into(),
            };
            let card = init(&state, &config)?;
            println!("created card {} in {}", card.serial, state.display());
            Ok(())
        }
        Command::Show { state } => {
            let card = FileStore::new(&state).load().map_err(|e| e.to_string())?;
            print!("{}", summary::summary(&card));
            Ok(())
        }
    }
}

/// A flag SIGINT and SIGTERM set.
fn shutdown_on_signals() -> Result<Arc<AtomicBool>, String> {
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, shutdown.clone())
            .map_err(|e| format!("signal handler: {e}"))?;
    }
    Ok(shutdown)
}

fn allowed_listener(allow_foreign_listener: bool) -> AllowedListener {
    if allow_foreign_listener {
        AllowedListener::AnyUser
    } else {
        AllowedListener::RootOrOwnUser
    }
}

fn foreign(e: vpcd::ForeignListener) -> String {
    format!("{e}; pass --allow-foreign-listener to connect anyway")
}

/// Serves `card` with its session recorded in `path`; fails when the trace could not be
/// written whole.
fn serve_recorded(
    card: Card,
    path: &Path,
    address: &str,
    allowed: AllowedListener,
    shutdown: &AtomicBool,
) -> Result<(), String> {
    let writer = concat!("card-sim ", env!("CARGO_PKG_VERSION"));
    let mut recorded = Recorded::create(card, path, writer)
        .map_err(|e| format!("cannot create the trace {}: {e}", path.display()))?;
    vpcd::serve(&mut recorded, address, allowed, shutdown).map_err(foreign)?;
    recorded
        .finish()
        .map(drop)
        .map_err(|e| format!("the trace {} is incomplete: {e}", path.display()))
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
