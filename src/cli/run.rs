//! `regsync run`: the nightly job (see [`crate::night::run`]).

use std::io::Write as _;

use chrono::NaiveDate;

use crate::cli::Exit;
use crate::config::{Settings, today_in_japan};
use crate::domain::guard::GUARDED;
use crate::domain::plan::ActionKind;
use crate::night::run::{Night, Verdict};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The night to run for, as a Japan date (default: today in Asia/Tokyo)
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// Let up to N actions of KIND through the mass-change guard for this run only, after
    /// reading the report of the night it stopped (e.g. `--allow create=173`); recorded in the
    /// run's summary in the store. Repeatable.
    #[arg(long, value_name = "KIND=N", value_parser = parse_allow)]
    pub allow: Vec<(ActionKind, usize)>,
    /// The language of the night's report.html: ja or en (the other on hover)
    #[arg(long, value_name = "LANG", default_value = "ja")]
    pub lang: crate::report::Lang,
}

/// `KIND=N` for `--allow`: a kind the guard watches and a count.
fn parse_allow(s: &str) -> Result<(ActionKind, usize), String> {
    let kinds = || {
        GUARDED
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (kind, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KIND=N (KIND one of {})", kinds()))?;
    let kind = ActionKind::from_name(kind.trim())
        .filter(|k| GUARDED.contains(k))
        .ok_or_else(|| format!("`{kind}` is not a kind the guard watches ({})", kinds()))?;
    let n = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number of actions"))?;
    Ok((kind, n))
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let started = std::time::Instant::now();
    let night = Night {
        as_of: args.as_of.unwrap_or_else(today_in_japan),
        allow: args.allow,
        lang: args.lang,
    };
    let outcome = crate::night::run::run(settings, &night);
    let exit = match &outcome {
        Ok(o) => match o.verdict {
            Verdict::Done => Exit::Done,
            Verdict::Rejected => Exit::Rejected,
            Verdict::MailPending => Exit::MailPending,
            Verdict::Locked | Verdict::GuardTripped => Exit::Refused,
        },
        Err(_) => Exit::Failed,
    };
    if let Some(path) = &settings.metrics_textfile {
        let stats = outcome
            .as_ref()
            .map(|o| o.stats.clone())
            .unwrap_or_default();
        write_metrics(path, &stats, exit, started);
    }
    let outcome = outcome?;
    writeln!(std::io::stdout().lock(), "{}", outcome.summary)?;
    Ok(exit)
}

/// Writes the metrics file; a failure is said on stderr and changes nothing else (the night's
/// work is done, and the file's old timestamp tells monitoring the rest).
fn write_metrics(
    path: &std::path::Path,
    stats: &crate::metrics::RunStats,
    exit: Exit,
    started: std::time::Instant,
) {
    let finished_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let text = crate::metrics::render(&crate::metrics::RunMetrics {
        stats,
        exit_code: exit as u8,
        finished_at,
        duration_secs: started.elapsed().as_secs_f64(),
    });
    if let Err(e) = crate::metrics::write_textfile(path, &text) {
        eprintln!(
            "warning: メトリクスを書けません / cannot write the metrics file `{}`: {e}",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_takes_a_guarded_kind_and_a_count() {
        assert_eq!(parse_allow("create=173"), Ok((ActionKind::Create, 173)));
        assert_eq!(parse_allow(" depart = 12 "), Ok((ActionKind::Depart, 12)));
        for bad in ["create", "create=x", "review=3", "nonsense=1", "=4"] {
            assert!(parse_allow(bad).is_err(), "{bad}");
        }
    }
}
