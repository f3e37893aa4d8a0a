//! `regsync plan [FILE...] [--out DIR]`: the dry run. Reads the inputs (default: the inbox),
//! computes the plan on the store as it is ([`crate::night::plan`]), and writes `plan.json`,
//! `report.html` and `report.csv`. It changes nothing: the store is opened read-only, or not at
//! all when it does not exist yet.

use std::io::Write as _;
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::cli::Exit;
use crate::config::{Settings, today_in_japan};
use crate::night::inbox::scan;
use crate::night::plan::compute;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files, CSV or Excel (default: every file in the inbox)
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Folder for plan.json, report.html and report.csv
    #[arg(long, value_name = "DIR", default_value = "plan")]
    pub out: PathBuf,

    /// The day to plan for, as a Japan date (default: today in Asia/Tokyo)
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,

    /// The language of report.html: ja or en (the other on hover)
    #[arg(long, value_name = "LANG", default_value = "ja")]
    pub lang: crate::report::Lang,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let mut skipped = Vec::new();
    let files = if args.files.is_empty() {
        let scan = scan(
            &settings.inbox,
            settings.settle,
            std::time::SystemTime::now(),
        )?;
        skipped = scan.skipped;
        scan.files
    } else {
        args.files
    };
    let as_of = args.as_of.unwrap_or_else(today_in_japan);
    let (plan, batch, repeated) = compute(settings, &files, as_of)?;
    let clock = std::time::Instant::now();
    let view = crate::report::View::dry_run(&args.out.join("plan.json"), args.lang);
    let directory = match crate::store::Store::open_read_only(&settings.store_path)? {
        Some(store) => crate::directory::write_plan_report(
            settings.directory.as_ref(),
            Some(&store),
            &plan,
            &args.out,
        )?,
        None => crate::directory::write_plan_report(
            settings.directory.as_ref(),
            None,
            &plan,
            &args.out,
        )?,
    };
    let summary = crate::report::summary_line(&plan);
    // The plan is handed over: it is freed while report.xlsx is compressed.
    let paths = crate::report::write_all(std::sync::Arc::new(plan), &args.out, &view)?;
    tracing::info!(
        ms = clock.elapsed().as_millis(),
        peak_mib = crate::metrics::peak_mib(),
        "reports written"
    );

    let mut out = std::io::stdout().lock();
    for s in &skipped {
        writeln!(out, "読みません / not read: {}", s.describe())?;
    }
    // Rejected files, and accepted ones with rows held out for an error.
    let faulty: Vec<_> = batch
        .files
        .iter()
        .filter(|f| !f.accepted || f.ingested.holds_rows())
        .collect();
    if !faulty.is_empty() {
        let ingested: Vec<_> = faulty.iter().map(|f| &f.ingested).collect();
        write!(out, "{}", crate::report::render_input_refs(&ingested))?;
        writeln!(out)?;
    }
    for r in &repeated {
        let p = &r.processed;
        writeln!(
            out,
            "処理済みのため計画に含めません / already processed, not planned again: {} (the same SHA-256 as `{}`, run {}, {})",
            r.path.display(),
            p.name,
            p.run_id
                .map_or_else(|| "—".to_string(), |id| id.to_string()),
            p.processed_at
        )?;
    }
    writeln!(out, "{summary}")?;
    writeln!(out, "report: {}", paths.report_html.display())?;
    writeln!(out, "        {}", paths.report_csv.display())?;
    writeln!(out, "        {}", paths.report_xlsx.display())?;
    writeln!(out, "plan:   {}", paths.plan_json.display())?;
    if let Some(d) = directory {
        writeln!(out, "directory: {}", d.display())?;
    }
    let exit = if faulty.is_empty() {
        Exit::Done
    } else {
        Exit::Rejected
    };
    Ok(exit)
}
