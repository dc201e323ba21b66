//! One APDU's round trip through pcscd and vpcd (SCardTransmit of GET VERSION), to
//! `card-sim serve` and to the echo card in two readers at once: the echo card's figure is
//! the floor the transport sets, the difference what card-sim adds.

use std::ffi::CString;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use apdu_spec::piv::command::GetVersion;
use e2e::Reader;

use crate::Plan;
use crate::measure::{Sample, alternate};
use crate::report::Row;
use crate::served::Served;

const SECTION: &str = "transport";
/// Round trips per sample: long enough to time, short enough for many samples.
const TRIPS: u32 = 500;

pub fn run(plan: &Plan) -> Result<Vec<Row>> {
    let dir = tempfile::tempdir_in(&plan.work)?;
    let (ours_reader, echo_reader) = (Reader::claim(), Reader::claim());
    let _card_sim = Served::card_sim(&ours_reader, &dir.path().join("card.json"))?;
    let _echo = Served::echo_card(&echo_reader)?;

    let context = pcsc::Context::establish(pcsc::Scope::User)
        .context("cannot reach pcscd: start it with .ci/pcsc-env.sh start")?;
    let connect = |reader: &Reader| -> Result<pcsc::Card> {
        let name = CString::new(reader.name)?;
        context
            .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .with_context(|| format!("cannot connect to the card in '{}'", reader.name))
    };
    let (ours, echo) = (connect(&ours_reader)?, connect(&echo_reader)?);
    let command = GetVersion.to_apdu().encode()?;
    let runs = if plan.quick { 5 } else { 15 };
    let samples = alternate(
        runs,
        // card-sim answers with its version, 3 bytes, and 90 00.
        || {
            round_trips(&ours, &command, |r| {
                r.len() == 5 && r.ends_with(&[0x90, 0x00])
            })
        },
        || round_trips(&echo, &command, |r| r == [0x90, 0x00]),
    )?;
    Ok(vec![Row::beside(
        SECTION,
        "SCardTransmit GET VERSION, card-sim serve",
        samples,
        "echo card (answers 90 00)",
    )])
}

/// One sample: the mean of [`TRIPS`] round trips, each answer checked by `expected`.
fn round_trips(
    card: &pcsc::Card,
    command: &[u8],
    expected: impl Fn(&[u8]) -> bool,
) -> Result<Sample> {
    let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE];
    let start = Instant::now();
    for _ in 0..TRIPS {
        let answer = card
            .transmit(command, &mut buffer)
            .context("SCardTransmit")?;
        if !expected(answer) {
            bail!("unexpected answer to GET VERSION: {answer:02X?}");
        }
    }
    Ok(Sample::time(start.elapsed() / TRIPS))
}
