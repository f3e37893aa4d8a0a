//! `regsync run`: the nightly job (see [`crate::run`]).

use std::io::Write as _;

use chrono::NaiveDate;

use crate::cli::Exit;
use crate::config::{Settings, today_in_japan};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The night to run for, as a Japan date (default: today in Asia/Tokyo)
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let outcome = crate::run::run(settings, args.as_of.unwrap_or_else(today_in_japan))?;
    writeln!(std::io::stdout().lock(), "{}", outcome.summary)?;
    Ok(outcome.exit)
}
