//! `card-sim`: a virtual PIV card for pcscd's vpcd reader, and its state files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use apdu_spec::StatusWord;
use apdu_spec::piv::Algorithm;
use card_sim::control::{self, ControlSocket};
use card_sim::recorded::Recorded;
use card_sim::replay::Replay;
use card_sim::state::{CardState, MetadataSupport};
use card_sim::touch::{Button, LONGEST_WAIT, Mode, Timing};
use card_sim::vpcd::{self, AllowedListener};
use card_sim::{CardConfig, Control, ControlledCard, FileStore, Profile, StoreError, summary};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// A virtual PIV smart card that plugs into pcscd through vsmartcard's vpcd reader driver.
/// It plays a YubiKey 5.7, 5.4 or 4.3 PIV applet or a plain SP 800-73-4 card (`init
/// --profile`), byte for byte where clients look.
///
/// Exit codes: 0 success, 1 the state file (or a trace) could not be read, written or
/// created, another user's program holds the vpcd port, a control command failed or a
/// replay failed, 2 bad arguments.
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
    /// A missing state file becomes a factory-fresh card of the default profile, yubikey
    /// (PIN 123456, PUK 12345678, management key
    /// 010203040506070801020304050607080102030405060708, 3DES); `card-sim init` makes a
    /// card of another profile or with other choices; an existing file keeps its profile.
    /// Every change is saved at once, atomically. Set RUST_LOG=debug to log every APDU
    /// (only public data shown; PINs, keys, objects and results by their length).
    ///
    /// While it serves, `card-sim ctl --state FILE` plans faults through the control
    /// socket FILE.ctl beside the state file (mode 0600, removed on exit).
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
        /// Touch the card by itself, DELAY after an operation starts waiting for a touch
        /// (`0`, `500ms`, `2s`; at once when no DELAY is given). Without it, keys with a
        /// touch policy wait for `card-sim touch --state FILE`, as a YubiKey waits for a
        /// finger.
        #[arg(long, value_name = "DELAY", num_args = 0..=1, default_missing_value = "0",
              value_parser = duration)]
        auto_touch: Option<Duration>,
        /// How long an operation waits for a touch before the card refuses it (6982).
        #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = duration)]
        touch_timeout: Duration,
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
        /// The state file to create.
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
        /// metadata, attestation, import, move or reset instructions, no OTP application.
        /// Only with the yubikey profile: the models always have them.
        #[arg(long)]
        no_yubikey_extensions: bool,
        /// How GET METADATA answers: as a YubiKey (full), not at all (absent: 6D00, as
        /// YubiKeys before 5.3), or without the algorithm, policies and public key
        /// (partial, as some other PIV applets; not on yubikey-4.3 or piv, which have no
        /// GET METADATA). Clients must then learn them elsewhere.
        #[arg(long, value_enum, default_value_t = Metadata::Full)]
        metadata: Metadata,
    },
    /// Print a summary of the card: serial, version, tries left, slots. Never a secret.
    Show {
        /// The card's state file.
        #[arg(long)]
        state: PathBuf,
    },
    /// Plan faults for the card `card-sim serve` serves, through its control socket:
    /// pull it out, fail, delay or break answers, cut the power mid-write.
    Ctl {
        /// The state file of the card being served.
        #[arg(long)]
        state: PathBuf,
        #[command(subcommand)]
        command: CtlCommand,
    },
    /// Touch the served card's button (as `card-sim ctl --state FILE touch`).
    Touch {
        /// The state file of the card being served.
        #[arg(long)]
        state: PathBuf,
        #[command(flatten)]
        touch: TouchArgs,
    },
}

#[derive(Subcommand)]
enum CtlCommand {
    /// Take the card out of the reader: commands get no answer, pcscd sees no card.
    Remove,
    /// Put the card back: it powers up afresh, every login lost.
    Insert,
    /// Answer the next commands with a status word; the card never sees them.
    Fail {
        /// The status word, 4 hex digits (6581: memory failure).
        #[arg(long, value_parser = hex_status_word)]
        sw: StatusWord,
        /// How many commands.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
        /// Only commands with this instruction, 2 hex digits (DB: PUT DATA).
        #[arg(long, value_parser = hex_instruction)]
        ins: Option<u8>,
    },
    /// Hold back answers: the card acts at once, its answer comes late.
    Delay {
        /// Milliseconds.
        #[arg(long)]
        ms: u64,
        /// How many answers (all, until `clear`, without it).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        count: Option<u32>,
    },
    /// Break the link part-way through the next answers: the card acted on the command,
    /// and comes back at once, as one pulled and pushed back.
    Drop {
        /// How many answers.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
    },
    /// Cut the power in the middle of the next state write: the file keeps the state
    /// before it, the command gets no answer, and the card is out until `insert`.
    PowerCut,
    /// Touch the button.
    Touch(TouchArgs),
    /// Print what is planned and whether the card is in the reader.
    Status,
    /// Forget every planned fault (the card stays in or out as it is).
    Clear,
}

#[derive(Args)]
struct TouchArgs {
    /// First wait up to SECONDS (at most 86400, a day) for an operation to wait for a
    /// touch; fail if none does.
    #[arg(long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(..=LONGEST_WAIT.as_secs()))]
    wait: Option<u64>,
}

impl From<CtlCommand> for control::Command {
    fn from(command: CtlCommand) -> Self {
        match command {
            CtlCommand::Remove => Self::Remove,
            CtlCommand::Insert => Self::Insert,
            CtlCommand::Fail { sw, count, ins } => Self::Fail { sw, count, ins },
            CtlCommand::Delay { ms, count } => Self::Delay { ms, count },
            CtlCommand::Drop { count } => Self::Drop { count },
            CtlCommand::PowerCut => Self::PowerCut,
            CtlCommand::Touch(TouchArgs { wait }) => Self::Touch { wait },
            CtlCommand::Status => Self::Status,
            CtlCommand::Clear => Self::Clear,
        }
    }
}

/// A status word as the control protocol reads one.
fn hex_status_word(s: &str) -> Result<StatusWord, String> {
    control::parse_status_word(s).ok_or_else(|| "expected 4 hex digits, such as 6581".into())
}

/// An instruction as the control protocol reads one.
fn hex_instruction(s: &str) -> Result<u8, String> {
    control::parse_instruction(s).ok_or_else(|| "expected 2 hex digits, such as DB".into())
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

/// A duration as `2s`, `500ms`, or a bare number of seconds, at most a day (a touch is not
/// waited for longer). Hand-written: these three forms are all a touch delay needs, too few
/// for another dependency.
fn duration(s: &str) -> Result<Duration, String> {
    let (number, unit): (&str, fn(u64) -> Duration) = match s.strip_suffix("ms") {
        Some(ms) => (ms, Duration::from_millis),
        None => (s.strip_suffix('s').unwrap_or(s), Duration::from_secs),
    };
    match number.parse().map(unit) {
        Ok(d) if d <= LONGEST_WAIT => Ok(d),
        Ok(_) => Err(format!("{s} is longer than a day (86400s)")),
        Err(_) => Err(format!(
            "expected a duration such as 0, 500ms or 2s, not {s:?}"
        )),
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
            auto_touch,
            touch_timeout,
            trace,
        } => {
            // The handle whoever touches the card presses: the control socket's `touch`.
            let button = Button::new(auto_touch.map_or(Mode::Manual, Mode::Auto));
            let control = Control::new(button.clone());
            let mut card = ControlledCard::open(&state, &CardConfig::default(), control.clone())
                .map_err(|e| e.to_string())?;
            card.card_mut().set_touch_timing(Timing {
                timeout: touch_timeout,
                ..Timing::YUBIKEY
            });
            log::info!(
                "card {} from {}",
                card.card().state().serial,
                state.display()
            );
            match button.mode() {
                Mode::Manual => log::info!(
                    "keys with a touch policy wait up to {touch_timeout:?} for `card-sim touch --state {}`",
                    state.display()
                ),
                Mode::Auto(delay) => log::info!("the card touches itself after {delay:?}"),
            }
            let socket_path = control::socket_path(&state).map_err(|e| e.to_string())?;
            let socket = ControlSocket::bind(&socket_path, control)
                .map_err(|e| format!("cannot listen on {}: {e}", socket_path.display()))?;
            let shutdown = shutdown_on_signals()?;
            give_up_touches_at(shutdown.clone(), button);
            let allowed = allowed_listener(allow_foreign_listener);
            // Every change was saved when it happened: nothing is left to write.
            let served = match trace {
                Some(path) => serve_recorded(card, &path, &address, allowed, &shutdown),
                None => vpcd::serve(&mut card, &address, allowed, &shutdown).map_err(foreign),
            };
            drop(socket);
            served
        }
        Command::Ctl { state, command } => ctl(&state, &command.into()),
        Command::Touch { state, touch } => {
            ctl(&state, &control::Command::Touch { wait: touch.wait })
        }
        Command::Replay {
            trace,
            vpcd: address,
            allow_foreign_listener,
        } => {
            let shutdown = shutdown_on_signals()?;
            let replay = Replay::open(&trace)
                .map_err(|e| e.to_string())?
                .stop_on_failure(shutdown.clone());
            log::info!(
                "replaying {} commands from {}",
                replay.recorded(),
                trace.display()
            );
            let allowed = allowed_listener(allow_foreign_listener);
            // No control socket: a replay answers as recorded, and nothing else.
            let mut replay = ControlledCard::wrap(replay, Control::default());
            vpcd::serve(&mut replay, &address, allowed, &shutdown).map_err(foreign)?;
            let replayed = replay.into_card().finish().map_err(|e| e.to_string())?;
            println!("replayed {replayed} commands, all matched");
            Ok(())
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

/// Once `shutdown` is set, ends the card's waits for a touch (the operation fails with
/// 6982), so a signal is not held up by a touch that will not come. The thread looks every
/// 200 ms, as the vpcd link does.
fn give_up_touches_at(shutdown: Arc<AtomicBool>, button: Button) {
    std::thread::spawn(move || {
        while !shutdown.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
        }
        button.give_up();
    });
}

/// Sends `command` to the server of the card in `state` and prints its reply.
fn ctl(state: &Path, command: &control::Command) -> Result<(), String> {
    let reply = control::request(state, command).map_err(|e| e.to_string())?;
    println!("{reply}");
    Ok(())
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
    card: ControlledCard,
    path: &Path,
    address: &str,
    allowed: AllowedListener,
    shutdown: &AtomicBool,
) -> Result<(), String> {
    let writer = concat!("card-sim ", env!("CARGO_PKG_VERSION"));
    let mut recorded = card
        .try_map(|card| Recorded::create(card, path, writer))
        .map_err(|e| format!("cannot create the trace {}: {e}", path.display()))?;
    vpcd::serve(&mut recorded, address, allowed, shutdown).map_err(foreign)?;
    recorded
        .into_card()
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
    fn durations_read_as_seconds_or_milliseconds() {
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert_eq!(duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("86400s"), Ok(LONGEST_WAIT));
        for bad in ["", "s", "ms", "-1s", "1.5s", "2m", "fast"] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            duration("18446744073709551615s"),
            Err("18446744073709551615s is longer than a day (86400s)".into())
        );
        assert!(duration("86400001ms").is_err());
    }

    #[test]
    fn ctl_fail_takes_hex_digits_only() {
        let fail = |args: &[&str]| {
            Cli::try_parse_from(
                ["card-sim", "ctl", "--state", "c.json", "fail"]
                    .iter()
                    .chain(args),
            )
            .map(|cli| match cli.command {
                Command::Ctl {
                    command: CtlCommand::Fail { sw, ins, .. },
                    ..
                } => (sw, ins),
                _ => panic!("{args:?} did not parse as ctl fail"),
            })
        };
        assert_eq!(
            fail(&["--sw", "6581", "--ins", "db"]).unwrap(),
            (StatusWord::MEMORY_FAILURE, Some(0xDB))
        );
        assert!(fail(&["--sw", "+FFF"]).is_err());
        assert!(fail(&["--sw", "6581", "--ins", "+B"]).is_err());
    }

    #[test]
    fn auto_touch_takes_an_optional_delay() {
        let serve = |args: &[&str]| match Cli::try_parse_from(
            ["card-sim", "serve", "--state", "c.json"]
                .iter()
                .chain(args),
        ) {
            Ok(Cli {
                command:
                    Command::Serve {
                        auto_touch,
                        touch_timeout,
                        ..
                    },
            }) => (auto_touch, touch_timeout),
            _ => panic!("{args:?} did not parse as serve"),
        };
        let yubikey = Timing::YUBIKEY.timeout;
        assert_eq!(serve(&[]), (None, yubikey));
        assert_eq!(serve(&["--auto-touch"]), (Some(Duration::ZERO), yubikey));
        assert_eq!(
            serve(&["--auto-touch", "500ms", "--touch-timeout", "2s"]),
            (Some(Duration::from_millis(500)), Duration::from_secs(2))
        );
        let huge = "18446744073709551615s";
        for flag in ["--auto-touch", "--touch-timeout"] {
            assert!(
                Cli::try_parse_from(["card-sim", "serve", "--state", "c.json", flag, huge])
                    .is_err(),
                "{flag} {huge}"
            );
        }
        for command in [
            &["ctl", "--state", "c.json", "touch"][..],
            &["touch", "--state", "c.json"],
        ] {
            let wait = |secs: &str| {
                Cli::try_parse_from(["card-sim"].iter().chain(command).chain(&["--wait", secs]))
            };
            assert!(wait("86400").is_ok(), "{command:?}");
            assert!(wait("86401").is_err(), "{command:?}");
            assert!(wait("18446744073709551615").is_err(), "{command:?}");
        }
    }

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

    #[test]
    fn help_describes_every_argument_and_the_profiles() {
        use clap::CommandFactory;
        fn undescribed(command: &clap::Command, path: &str, found: &mut Vec<String>) {
            for arg in command.get_arguments() {
                if arg.get_help().is_none() {
                    found.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                undescribed(sub, &format!("{path} {}", sub.get_name()), found);
            }
        }
        let mut cli = Cli::command();
        cli.build();
        let mut found = Vec::new();
        undescribed(&cli, "card-sim", &mut found);
        assert!(found.is_empty(), "arguments without help: {found:?}");

        let about = cli.get_long_about().unwrap().to_string();
        for model in ["5.7", "5.4", "4.3", "SP 800-73-4", "--profile"] {
            assert!(about.contains(model), "{about}");
        }
        let serve = cli.find_subcommand("serve").unwrap();
        let serve = serve.get_long_about().unwrap().to_string();
        assert!(serve.contains("default profile"), "{serve}");
        assert!(serve.contains("card-sim init"), "{serve}");
    }
}
