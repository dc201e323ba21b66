//! The table: one row per measured item, the median of its samples beside the peer's, and
//! their ratio; written as Markdown.

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
        let mut times: Vec<Duration> = samples.iter().map(|s| s.time).collect();
        times.sort();
        let middle = times.len() / 2;
        let median = if times.len() % 2 == 1 {
            times[middle]
        } else {
            (times[middle - 1] + times[middle]) / 2
        };
        Summary {
            median,
            max_rss_kib: samples.iter().filter_map(|s| s.max_rss_kib).max(),
            runs: samples.len(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Peer {
    pub name: String,
    pub summary: Summary,
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

    pub fn beside(
        section: &'static str,
        item: impl Into<String>,
        (ours, peer): (Vec<Sample>, Vec<Sample>),
        peer_name: impl Into<String>,
    ) -> Row {
        Row {
            section,
            item: item.into(),
            ours: Summary::of(&ours),
            peer: Some(Peer {
                name: peer_name.into(),
                summary: Summary::of(&peer),
            }),
        }
    }

    /// Ours over the peer's median time: above 1, ours is slower.
    pub fn ratio(&self) -> Option<f64> {
        let peer = self.peer.as_ref()?.summary.median.as_secs_f64();
        (peer > 0.0).then(|| self.ours.median.as_secs_f64() / peer)
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
    fn a_row_beside_a_peer_shows_the_ratio_of_the_medians() {
        let row = Row::beside(
            "card",
            "sign",
            (samples(&[30, 20, 40]), samples(&[10, 11, 9])),
            "openssl",
        );
        assert_eq!(row.ratio(), Some(3.0));
        let table = markdown(&[row]);
        assert!(
            table.contains("| card | sign | 3 | 30.0 ms | – | openssl | 10.0 ms | – | 3.00× |")
        );
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
