//! `regsync check [FILE...]`: per file its kind, encoding, row count and verdict, then every
//! error located as `FILE:ROW:COLUMN(header)`, in Japanese with the English beside it. With no
//! file it checks the inbox as `run` would find it: the entries `run` would not read are named
//! first, with the reason.

use std::io::Write as _;
use std::path::PathBuf;

use rayon::prelude::*;

use crate::cli::Exit;
use crate::config::Settings;
use crate::ingest::{Ingested, Sink, read_file_with};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files, CSV or Excel (default: the files in the inbox that `run` would read)
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    // An entry `run` would set aside (a link, a folder, ...) is rejected here too.
    let mut set_aside = false;
    let files = if args.files.is_empty() {
        let scan = crate::night::inbox::scan(
            &settings.inbox,
            settings.settle,
            std::time::SystemTime::now(),
        )?;
        writeln!(
            out,
            "受信フォルダ / inbox: {} ({} 件のファイル / file(s) to read)",
            settings.inbox.display(),
            scan.files.len()
        )?;
        for s in &scan.skipped {
            let heading = if s.why.set_aside() {
                "Not read, `run` sets it aside"
            } else {
                s.why.heading()
            };
            writeln!(out, "{heading}: {}", s.describe())?;
            set_aside |= s.why.set_aside();
        }
        if !scan.skipped.is_empty() {
            writeln!(out)?;
        }
        scan.files
    } else {
        args.files
    };
    // The records are mapped and checked but not kept: `check` reports, it does not plan.
    let mut results: Vec<Ingested> = files
        .par_iter()
        .enumerate()
        .map(|(i, p)| read_file_with(p, i as u32, &settings.profiles, Sink::CountOnly))
        .collect();
    let store = crate::store::Store::open_read_only(&settings.store_path)?;
    if let Some(store) = &store {
        let previous = store
            .last_registrar_file()?
            .map(|f| crate::ingest::snapshot::Previous::new(f.name, f.rows));
        for r in &mut results {
            crate::ingest::snapshot::warn_if_shrunk(
                r,
                previous.as_ref(),
                &settings.profiles,
                settings.policy.snapshot_min_share,
            );
        }
    }
    let text = crate::report::render_inputs(&results);
    out.write_all(text.as_bytes())?;
    Ok(
        if results.iter().all(|r| r.accepted() && !r.holds_rows()) && !set_aside {
            Exit::Done
        } else {
            Exit::Rejected
        },
    )
}
