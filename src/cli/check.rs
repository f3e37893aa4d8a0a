//! `regsync check FILE...`: per file its kind, encoding, row count and verdict, then every error
//! located as `FILE:ROW:COLUMN(header)`, in Japanese with the English beside it.

use std::io::Write as _;
use std::path::PathBuf;

use rayon::prelude::*;

use crate::cli::Exit;
use crate::config::Settings;
use crate::ingest::{Ingested, Sink, read_file_with};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files (CSV or Excel)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    // The records are mapped and checked but not kept: `check` reports, it does not plan.
    let results: Vec<Ingested> = args
        .files
        .par_iter()
        .enumerate()
        .map(|(i, p)| read_file_with(p, i as u32, &settings.profiles, Sink::CountOnly))
        .collect();
    let text = crate::report::render_inputs(&results);
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(if results.iter().all(|r| r.accepted() && !r.holds_rows()) {
        Exit::Done
    } else {
        Exit::Rejected
    })
}
