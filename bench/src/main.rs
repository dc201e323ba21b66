//! One benchmark of the whole, each figure the median of runs alternated with its peer's:
//! an APDU through pcscd beside an echo card, yubico-piv-tool against card-sim, the card's
//! key generation and signatures beside openssl, and smime-card beside `openssl cms`.
//! Prints one table and writes it to `<out>/report.md`. `scripts/bench.sh` builds what it
//! needs and starts pcscd.

mod echo_card;
mod measure;
mod message;
mod on_card;
mod openssl_speed;
mod programs;
mod report;
mod served;
mod smime;
mod transport;
mod yubico;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

/// Measure card-sim, the PC/SC stack and smime-card beside their peers; prints a Markdown
/// table and writes it to OUT/report.md
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Fewer runs, and S/MIME messages of 1 and 100 MiB only (not 1 GiB)
    #[arg(long)]
    quick: bool,
    /// Only these sections (comma-separated; default: all)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SECTION")]
    only: Vec<Section>,
    /// Where the report goes; scratch files live in OUT/work while they are needed
    #[arg(long, value_name = "OUT", default_value = "target/bench")]
    out: PathBuf,
    #[command(subcommand)]
    command: Option<Internal>,
}

#[derive(Subcommand)]
enum Internal {
    /// The echo card the transport section measures beside card-sim (started by the
    /// benchmark itself)
    #[command(hide = true)]
    EchoCard {
        #[arg(long, value_name = "HOST:PORT")]
        vpcd: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    /// One APDU's round trip through pcscd and vpcd (needs pcscd)
    Transport,
    /// yubico-piv-tool status and signatures (needs pcscd)
    Yubico,
    /// Key generation and signatures on the in-process card, beside openssl
    Card,
    /// smime-card sign, verify, encrypt, decrypt, beside openssl cms
    Smime,
}

impl Section {
    fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }

    fn run(self, plan: &Plan) -> Result<Vec<report::Row>> {
        match self {
            Section::Transport => transport::run(plan),
            Section::Yubico => yubico::run(plan),
            Section::Card => on_card::run(plan),
            Section::Smime => smime::run(plan),
        }
    }
}

/// What every section is told.
pub struct Plan {
    pub quick: bool,
    /// Where scratch files go (not /tmp, which may be memory).
    pub work: PathBuf,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Internal::EchoCard { vpcd }) = cli.command {
        return echo_card::serve(&vpcd);
    }
    let plan = Plan {
        quick: cli.quick,
        work: cli.out.join("work"),
    };
    std::fs::create_dir_all(&plan.work)
        .with_context(|| format!("cannot create {}", plan.work.display()))?;
    let mut rows = Vec::new();
    for &section in Section::value_variants() {
        if !(cli.only.is_empty() || cli.only.contains(&section)) {
            continue;
        }
        eprintln!("bench: {} ...", section.name());
        let new = section.run(&plan)?;
        eprint!("{}", report::markdown(&new));
        rows.extend(new);
    }
    let _ = std::fs::remove_dir(&plan.work);

    let table = report::markdown(&rows);
    let path = cli.out.join("report.md");
    std::fs::write(&path, &table).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{table}");
    eprintln!("bench: written to {}", path.display());
    Ok(())
}
