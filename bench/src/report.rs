//! The table: one row per measured item, the median of its samples beside the peer's, and
//! the median of the ratios of the pairs they were taken in; written as Markdown.

use std::cmp::Ordering;
use std::fmt::Write;
use std::time::Duration;

use crate::measure::Sample;

/// What the samples of one side of a row say.
#[derive(Clone, Debug)]
pub struct Summary {
    pub median: Duration,
    /// The largest peak memory of any run (processes only).
    pub max_rss_kib: Option<u64>,
    pub runs: usize,
}

impl Summary {
    /// `samples` must not be empty.
    pub fn of(samples: &[Sample]) -> Summary {
        let times = samples.iter().map(|s| s.time).collect();
        Summary {
            median: median(times, |a, b| (a + b) / 2).expect("at least one sample"),
            max_rss_kib: samples.iter().filter_map(|s| s.max_rss_kib).max(),
            runs: samples.len(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Peer {
    pub name: String,
    pub summary: Summary,
    /// Ours over the peer's time, the median over the pairs: a pair shares the machine's
    /// state of the moment, which a ratio of the two medians would mix across pairs.
    pub ratio: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub section: &'static str,
    pub item: String,
    pub ours: Summary,
    pub peer: Option<Peer>,
}

impl Row {
    /// An item with no peer to compare with.
    pub fn alone(section: &'static str, item: impl Into<String>, ours: &[Sample]) -> Row {
        Row {
            section,
            item: item.into(),
            ours: Summary::of(ours),
            peer: None,
        }
    }

    /// An item beside its peer, from samples taken in pairs ([`crate::measure::alternate`]):
    /// sample `i` of ours beside sample `i` of the peer's.
    pub fn beside(
        section: &'static str,
        item: impl Into<String>,
        (ours, peer): (Vec<Sample>, Vec<Sample>),
        peer_name: impl Into<String>,
    ) -> Row {
        let ratios = ours
            .iter()
            .zip(&peer)
            .filter(|(_, p)| !p.time.is_zero())
            .map(|(o, p)| o.time.as_secs_f64() / p.time.as_secs_f64())
            .collect();
        Row {
            section,
            item: item.into(),
            ours: Summary::of(&ours),
            peer: Some(Peer {
                name: peer_name.into(),
                summary: Summary::of(&peer),
                ratio: median(ratios, |a, b| (a + b) / 2.0),
            }),
        }
    }

    /// Ours over the peer's time, the median over the pairs: above 1, ours is slower.
    pub fn ratio(&self) -> Option<f64> {
        self.peer.as_ref()?.ratio
    }

    fn cells(&self) -> [String; 9] {
        let peer = self.peer.as_ref();
        [
            self.section.to_owned(),
            self.item.clone(),
            self.ours.runs.to_string(),
            time(self.ours.median),
            rss(self.ours.max_rss_kib),
            peer.map_or_else(|| "–".into(), |p| p.name.clone()),
            peer.map_or_else(|| "–".into(), |p| time(p.summary.median)),
            peer.map_or_else(|| "–".into(), |p| rss(p.summary.max_rss_kib)),
            self.ratio().map_or_else(|| "–".into(), ratio),
        ]
    }
}

/// The middle one of `values`, or `mean` of the middle two; none of none.
fn median<T: Copy + PartialOrd>(mut values: Vec<T>, mean: impl Fn(T, T) -> T) -> Option<T> {
    // Times and ratios of times that are not zero are never NaN.
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[middle]),
        _ => Some(mean(values[middle - 1], values[middle])),
    }
}

const HEADER: [&str; 9] = [
    "section",
    "item",
    "runs",
    "ours (median)",
    "ours peak RSS",
    "peer",
    "peer (median)",
    "peer peak RSS",
    "ours ÷ peer",
];

/// The rows as one Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    };
    line(&mut out, &HEADER.map(String::from));
    line(&mut out, &HEADER.map(|_| "---".to_owned()));
    for row in rows {
        line(&mut out, &row.cells());
    }
    out
}

/// Three significant digits in the unit that suits.
fn time(d: Duration) -> String {
    let s = d.as_secs_f64();
    let (value, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else {
        (s * 1e6, "µs")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

/// Two decimals, or two significant digits below 0.1 (in-process beside a process).
fn ratio(r: f64) -> String {
    // Zero, a negative or no number has no significant digits to count.
    if !(r.is_finite() && r > 0.0) || r >= 0.1 {
        format!("{r:.2}×")
    } else {
        let decimals = (1 - r.log10().floor() as i32).clamp(2, 9) as usize;
        format!("{r:.decimals$}×")
    }
}

fn rss(kib: Option<u64>) -> String {
    kib.map_or_else(|| "–".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(ms: &[u64]) -> Vec<Sample> {
        ms.iter()
            .map(|&m| Sample::time(Duration::from_millis(m)))
            .collect()
    }

    /// A row of "sign" on the card beside openssl, from pairs of times in ms.
    fn beside(ours: &[u64], peer: &[u64]) -> Row {
        Row::beside("card", "sign", (samples(ours), samples(peer)), "openssl")
    }

    #[test]
    fn the_median_is_the_middle_sample_or_the_mean_of_the_middle_two() {
        assert_eq!(
            Summary::of(&samples(&[9, 1, 5])).median,
            Duration::from_millis(5)
        );
        assert_eq!(
            Summary::of(&samples(&[9, 1, 5, 3])).median,
            Duration::from_millis(4)
        );
    }

    #[test]
    fn a_row_beside_a_peer_shows_both_medians_and_the_ratio() {
        let row = beside(&[30, 20, 40], &[10, 11, 9]);
        assert_eq!(row.ratio(), Some(3.0));
        let table = markdown(&[row]);
        assert!(
            table.contains("| card | sign | 3 | 30.0 ms | – | openssl | 10.0 ms | – | 3.00× |")
        );
    }

    #[test]
    fn the_ratio_is_the_median_of_the_ratios_of_the_pairs() {
        // Pairs 10/20, 20/10, 30/15: ratios 0.5, 2 and 2; the medians' ratio is 20/15.
        let row = beside(&[10, 20, 30], &[20, 10, 15]);
        assert_eq!(row.ratio(), Some(2.0));
        let even = beside(&[10, 30, 40, 10], &[10, 10, 10, 20]);
        // Ratios 1, 3, 4 and 0.5: the mean of 1 and 3.
        assert_eq!(even.ratio(), Some(2.0));
    }

    #[test]
    fn pairs_whose_peer_took_no_time_have_no_ratio() {
        let row = beside(&[10, 20, 30], &[0, 10, 0]);
        assert_eq!(row.ratio(), Some(2.0));
        let none = beside(&[10], &[0]);
        assert_eq!(none.ratio(), None);
        assert!(markdown(&[none]).ends_with("| – |\n"));
    }

    #[test]
    fn small_ratios_keep_two_significant_digits() {
        assert_eq!(ratio(1.234), "1.23×");
        assert_eq!(ratio(0.0637), "0.064×");
        assert_eq!(ratio(0.00374), "0.0037×");
    }

    #[test]
    fn a_ratio_without_significant_digits_is_shown_as_it_is() {
        assert_eq!(ratio(0.0), "0.00×");
        assert_eq!(ratio(-0.5), "-0.50×");
        assert_eq!(ratio(f64::INFINITY), "inf×");
        assert_eq!(ratio(f64::NAN), "NaN×");
    }

    #[test]
    fn times_keep_three_significant_digits() {
        assert_eq!(time(Duration::from_nanos(41_234)), "41.2 µs");
        assert_eq!(time(Duration::from_micros(1_500)), "1.50 ms");
        assert_eq!(time(Duration::from_millis(123_400)), "123 s");
    }
}
