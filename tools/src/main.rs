//! `smime-card`: manage a PIV card, and sign, verify, encrypt and decrypt S/MIME mail
//! with it.
//! A thin shell: it parses arguments, asks for secrets, calls host-driver and formats what
//! comes back.

/// Like `eprintln!`, but a stderr that is gone (a closed terminal) loses the message instead
/// of panicking: what it reports has already happened, and the exit code still tells.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod ca;
mod card;
mod choose;
mod cli;
mod decrypt;
mod demo;
mod encrypt;
mod enroll;
mod failure;
mod mail;
mod output;
mod progress;
mod secrets;
mod status;
mod touch;

use std::process::ExitCode;

use clap::Parser;
use host_driver::escape::Escaped;

use cli::{Cli, Command};

fn main() -> ExitCode {
    env_logger::Builder::new()
        // A pipe has no terminal to ask, so env_logger would never colour what goes through
        // it: colour where stderr would be coloured. RUST_LOG_STYLE still decides.
        .write_style(anstream::AutoStream::choice(&std::io::stderr()).into())
        .parse_env(env_logger::Env::default().default_filter_or("warn"))
        .target(env_logger::Target::Pipe(Box::new(progress::AboveBars)))
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let explained = failure::explain(&err);
            // Errors may quote what a file or a card said; none may steer the terminal.
            say!("error: {}", Escaped(&explained.message));
            if let Some(hint) = explained.hint {
                say!("hint: {hint}");
            }
            ExitCode::from(explained.code)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Readers => choose::list_readers(),
        Command::Card(command) => card::run(&mut choose::open(&cli.card)?, command),
        Command::Enroll {
            email,
            name,
            ca,
            days,
            csr_out,
            algorithm,
            single_key,
            pin,
            puk,
            new_pin,
            new_puk,
            mgmt,
        } => {
            let plan = host_driver::enrolment::Plan {
                email,
                name,
                algorithm,
                single_key,
            };
            let secrets = enroll::SecretArgs {
                pin: &pin,
                puk: &puk,
                new_pin: &new_pin,
                new_puk: &new_puk,
                mgmt: &mgmt,
            };
            let issuer = match (ca, csr_out) {
                (Some(dir), _) => enroll::Issuer::LocalCa { dir, days },
                (None, Some(dir)) => enroll::Issuer::Requests(dir),
                (None, None) => unreachable!("clap requires --ca or --csr-out"),
            };
            enroll::enroll(choose::open(&cli.card)?, &plan, secrets, &issuer)
        }
        Command::Ca(command) => ca::run(&cli.card, command),
        Command::Demo { dir, pcsc } => demo::run(dir, pcsc),
        Command::Verify { input, ca, out } => mail::verify(&input, &ca, out.as_deref()),
        Command::Sign { mail, pin } => mail::sign(choose::open(&cli.card)?, &mail, || pin.read()),
        command @ Command::Encrypt { to_self, .. } => {
            let own = if to_self {
                Some(encrypt::own_certificate(&mut choose::open(&cli.card)?)?)
            } else {
                None
            };
            encrypt::encrypt(&command, own)
        }
        Command::Decrypt { mail, pin } => {
            decrypt::decrypt(choose::open(&cli.card)?, &mail, || pin.read())
        }
    }
}
