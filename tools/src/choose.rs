//! Which card a command talks to (`--reader`, `--sim`, or the only PIV card present), and
//! `smime-card readers`.

use anyhow::Context;
use host_driver::escape::Escaped;
use host_driver::readers::{ReaderContent, survey};
use host_driver::{InProcess, PcscTransport, PivCard, Transport, TransportError};

use crate::cli::CardChoice;
use crate::status::version_text;

/// An opened card: through PC/SC, or simulated in this process.
pub enum Opened {
    Pcsc(PivCard<PcscTransport>),
    Sim(Box<PivCard<InProcess>>),
}

pub fn open(choice: &CardChoice) -> anyhow::Result<Opened> {
    if let Some(path) = &choice.sim {
        let transport = InProcess::open(path)
            .with_context(|| format!("opening the simulated card {}", path.display()))?;
        return Ok(Opened::Sim(Box::new(PivCard::open(transport)?)));
    }
    if let Some(wanted) = &choice.reader {
        let transport = PcscTransport::connect(wanted)?;
        let reader = transport.name();
        let card = PivCard::open(transport).with_context(|| format!("the card in '{reader}'"))?;
        return Ok(Opened::Pcsc(card));
    }
    Ok(Opened::Pcsc(host_driver::readers::open_only_piv_card()?))
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
