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
    let night = Night {
        as_of: args.as_of.unwrap_or_else(today_in_japan),
        allow: args.allow,
    };
    let outcome = crate::night::run::run(settings, &night)?;
    writeln!(std::io::stdout().lock(), "{}", outcome.summary)?;
    Ok(match outcome.verdict {
        Verdict::Done => Exit::Done,
        Verdict::Rejected => Exit::Rejected,
        Verdict::MailPending | Verdict::DirectoryPending => Exit::MailPending,
        Verdict::Locked | Verdict::GuardTripped | Verdict::DirectoryGuard => Exit::Refused,
    })
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
