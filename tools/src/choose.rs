//! Which card a command talks to (`--reader`, `--sim`, or the only PIV card present), and
//! `smime-card readers`.

use anyhow::Context;
use host_driver::escape::Escaped;
use host_driver::readers::{ReaderContent, only_piv_reader, survey};
use host_driver::{InProcess, PcscTransport, PivCard, Traced, Transport, TransportError};

use crate::cli::CardChoice;
use crate::status::version_text;

/// An opened card: through PC/SC or simulated in this process, its session recorded or
/// not, as the options chose.
pub type Opened = PivCard<Box<dyn Transport>>;

pub fn open(choice: &CardChoice) -> anyhow::Result<Opened> {
    let transport: Box<dyn Transport> = if let Some(path) = &choice.sim {
        Box::new(
            InProcess::open(path)
                .with_context(|| format!("opening the simulated card {}", path.display()))?,
        )
    } else if let Some(wanted) = &choice.reader {
        Box::new(PcscTransport::connect(wanted)?)
    } else {
        Box::new(PcscTransport::connect_named(&only_piv_reader()?)?)
    };
    let transport = match &choice.trace {
        Some(path) => {
            let writer = concat!("smime-card ", env!("CARGO_PKG_VERSION"));
            Box::new(Traced::create(transport, path, writer)?)
        }
        None => transport,
    };
    let reader = transport.name();
    let card = PivCard::open(transport);
    if choice.reader.is_some() {
        Ok(card.with_context(|| format!("the card in '{reader}'"))?)
    } else {
        Ok(card?)
    }
}

/// `smime-card readers`: one line per reader, '*' before those holding a PIV card.
pub fn list_readers() -> anyhow::Result<()> {
    let readers = survey()?;
    if readers.is_empty() {
        return Err(TransportError::NoReaders.into());
    }
    let width = readers.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for r in readers {
        let mark = if r.has_piv_card() { '*' } else { ' ' };
        let what = match &r.content {
            ReaderContent::Empty => "no card".to_string(),
            ReaderContent::NotPiv => "a card without a PIV application".to_string(),
            ReaderContent::Unreachable(why) => format!("cannot be read: {why}"),
            ReaderContent::Piv(features) => {
                let mut text = "PIV card".to_string();
                if let Some(serial) = features.serial {
                    text.push_str(&format!(", serial {serial}"));
                }
                if let Some(version) = &features.version {
                    text.push_str(&format!(", version {}", version_text(version)));
                }
                text
            }
        };
        // A reader's name comes from its USB descriptor: printed escaped.
        let name = Escaped(&r.name).to_string();
        println!("{mark} {name:<width$}  {what}");
    }
    Ok(())
}
