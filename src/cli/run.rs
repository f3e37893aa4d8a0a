//! `regsync run`: the nightly job (see [`crate::night::run`]).

use std::io::Write as _;

use chrono::NaiveDate;

use crate::cli::Exit;
use crate::config::{Settings, today_in_japan};
use crate::night::run::Verdict;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The night to run for, as a Japan date (default: today in Asia/Tokyo)
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let outcome = crate::night::run::run(settings, args.as_of.unwrap_or_else(today_in_japan))?;
    writeln!(std::io::stdout().lock(), "{}", outcome.summary)?;
    Ok(match outcome.verdict {
        Verdict::Done => Exit::Done,
        Verdict::Rejected => Exit::Rejected,
        Verdict::MailPending => Exit::MailPending,
        Verdict::Locked | Verdict::GuardTripped => Exit::Refused,
    })
}
