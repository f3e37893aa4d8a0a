//! `regsync plan [FILE...] [--out DIR]`: the dry run. Reads the inputs (default: the inbox),
//! computes the plan on the store as it is, and writes `plan.json`, `report.html` and
//! `report.csv`. It changes nothing: the store is opened read-only, or not at all when it does
//! not exist yet.
//!
//! Planning reads the store in two steps around the files (see `domain::triage`): the compact
//! keys of every account first, so ingest can drop the rows that change nothing; then, in
//! full, only the accounts the rules can act on. `run` plans the same way.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::cli::Exit;
use crate::config::{Settings, today_in_japan};
use std::collections::BTreeSet;

use crate::domain::account::{Reserved, Snapshot};
use crate::domain::model::EcsId;
use crate::domain::plan::Plan;
use crate::domain::rules;
use crate::domain::triage::{self, Keys, Sifter};
use crate::ingest::Sink;
use crate::ingest::batch::{Batch, BatchFile};
use crate::store::{Store, empty_digest};

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
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let files = if args.files.is_empty() {
        inbox_files(&settings.inbox)?
    } else {
        args.files
    };
    let as_of = args.as_of.unwrap_or_else(today_in_japan);
    let (plan, batch) = compute(settings, &files, as_of)?;
    let clock = std::time::Instant::now();
    let paths = crate::report::write_all(&plan, &args.out)?;
    tracing::info!(
        ms = clock.elapsed().as_millis(),
        peak_mib = crate::cli::peak_mib(),
        "reports written"
    );

    let mut out = std::io::stdout().lock();
    let rejected: Vec<_> = batch.rejected().collect();
    if !rejected.is_empty() {
        let ingested: Vec<_> = rejected.iter().map(|f| &f.ingested).collect();
        write!(out, "{}", crate::cli::check::render_refs(&ingested))?;
        writeln!(out)?;
    }
    writeln!(out, "{}", summary(&plan))?;
    writeln!(out, "report: {}", paths.report_html.display())?;
    writeln!(out, "        {}", paths.report_csv.display())?;
    writeln!(out, "plan:   {}", paths.plan_json.display())?;
    let exit = if rejected.is_empty() {
        Exit::Done
    } else {
        Exit::Rejected
    };
    drop(rejected);
    // The process ends here: freeing a big night's plan and rows one allocation at a time
    // (~0.1 s at 1M rows) would only delay the exit.
    std::mem::forget((plan, batch));
    Ok(exit)
}

/// Reads the files and the store and computes the plan; writes nothing.
pub fn compute(
    settings: &Settings,
    files: &[PathBuf],
    as_of: NaiveDate,
) -> anyhow::Result<(Plan, Batch)> {
    let store = Store::open_read_only(&settings.store_path)
        .with_context(|| format!("opening the store `{}`", settings.store_path.display()))?;
    let clock = std::time::Instant::now();
    let keys = read_keys(settings, store.as_ref())?;
    tracing::info!(
        accounts = keys.len(),
        ms = clock.elapsed().as_millis(),
        peak_mib = crate::cli::peak_mib(),
        "keys read"
    );
    let sifter = Sifter::new(&keys);
    let clock = std::time::Instant::now();
    let mut batch = Batch::read_with(files, &settings.profiles, Sink::Sift(&sifter));
    tracing::info!(
        ms = clock.elapsed().as_millis(),
        peak_mib = crate::cli::peak_mib(),
        "files read"
    );
    let plan = plan_batch(settings, store.as_ref(), keys, &mut batch, as_of)?;
    Ok((plan, batch))
}

/// The compact keys of every account on record (none without a store).
pub fn read_keys(settings: &Settings, store: Option<&Store>) -> anyhow::Result<Keys> {
    match store {
        Some(store) => store
            .keys()
            .with_context(|| format!("reading the store `{}`", settings.store_path.display())),
        None => Ok(Keys::from_parts(Vec::new(), 0, empty_digest())),
    }
}

/// Plans the accepted files of `batch`, read with a [`Sifter`] over `keys`: selects the
/// accounts the rules can act on, loads them, and runs the rules (see `domain::triage`). Takes
/// the batch's records.
pub fn plan_batch(
    settings: &Settings,
    store: Option<&Store>,
    keys: Keys,
    batch: &mut Batch,
    as_of: NaiveDate,
) -> anyhow::Result<Plan> {
    let owned_keys = keys;
    let keys = &owned_keys;
    let profiles = &settings.profiles;
    let (mut inputs, mut selection) = triage_batch(keys, profiles, batch, as_of);
    if !selection.mixed.is_empty() {
        // A quiet row's account is named by another row too, and the quiet row was dropped: the
        // rules need both rows, so the accepted files are read again with the rows of those
        // accounts kept.
        let accepted: Vec<&BatchFile> = batch.files.iter().filter(|f| f.accepted).collect();
        let paths: Vec<PathBuf> = accepted.iter().map(|f| f.ingested.path.clone()).collect();
        let sifter = Sifter::except(keys, selection.mixed.iter().copied());
        let mut again = Batch::read_with(&paths, profiles, Sink::Sift(&sifter));
        let same = again.files.len() == accepted.len()
            && again
                .files
                .iter()
                .zip(&accepted)
                .all(|(a, b)| a.accepted && a.sha256 == b.sha256);
        anyhow::ensure!(
            same,
            "an input file changed while it was being read; run again"
        );
        (inputs, selection) = triage_batch(keys, profiles, &mut again, as_of);
        anyhow::ensure!(
            selection.mixed.is_empty(),
            "triage found rows to keep after keeping them; this is a bug in regsync, please report it"
        );
    }
    let clock = std::time::Instant::now();
    let snapshot = match store {
        Some(store) => {
            // Both read on their own connections, side by side.
            let path = store.path();
            let (snapshot, reserved) = rayon::join(
                || crate::store::keys::load(path, keys, &selection.load),
                || reserved(settings, path, keys, &inputs, &selection.unidentified),
            );
            let mut snapshot = snapshot.with_context(|| {
                format!("reading the store `{}`", settings.store_path.display())
            })?;
            snapshot.reserved = reserved?;
            snapshot
        }
        None => Snapshot {
            accounts: Vec::new(),
            next_serial: keys.next_serial,
            digest: keys.digest.clone(),
            reserved: Default::default(),
        },
    };
    inputs.quiet_seen = selection
        .quiet_seen
        .iter()
        .map(|&s| EcsId::new(keys.ecs_id(s)))
        .collect();
    // The rules need only what was selected: the keys (a large share of the peak memory) go.
    drop(owned_keys);
    tracing::info!(
        ms = clock.elapsed().as_millis(),
        peak_mib = crate::cli::peak_mib(),
        "accounts loaded"
    );
    let clock = std::time::Instant::now();
    let plan = rules::plan(&snapshot, &inputs, as_of, &settings.policy);
    tracing::info!(
        actions = plan.actions.len(),
        ms = clock.elapsed().as_millis(),
        peak_mib = crate::cli::peak_mib(),
        "rules applied"
    );
    Ok(plan)
}

/// Takes `batch`'s rows and selects the accounts the rules can act on; the held quiet rows of
/// mixed accounts are taken back (`triage::take_back`), so the selection's `mixed` names only
/// accounts with dropped quiet rows.
fn triage_batch(
    keys: &Keys,
    profiles: &crate::ingest::profile::Profiles,
    batch: &mut Batch,
    as_of: NaiveDate,
) -> (rules::Inputs, triage::Selection) {
    let clock = std::time::Instant::now();
    let mut inputs = batch.inputs(profiles);
    let mut quiet = batch.quiet();
    let mut selection = triage::select(keys, &inputs, &quiet.slots, as_of);
    let mixed = selection.mixed.len();
    let taken = triage::take_back(&mut inputs, &mut quiet, &selection.mixed);
    if taken > 0 {
        selection = triage::select(keys, &inputs, &quiet.slots, as_of);
    }
    tracing::info!(
        kept = inputs.registrar.len(),
        quiet = quiet.slots.len(),
        load = selection.load.len(),
        mixed,
        taken_back = taken,
        still_mixed = selection.mixed.len(),
        ms = clock.elapsed().as_millis(),
        peak_mib = crate::cli::peak_mib(),
        "rows triaged"
    );
    (inputs, selection)
}

/// What the accounts left out of a partial snapshot hold that this plan could allocate: the
/// KUMOI local parts starting with the romanized kana of every row that may create an account
/// (registrar rows no identifier finds, and the counter's applications), and ECS-IDs past the
/// counter.
fn reserved(
    settings: &Settings,
    store: &Path,
    keys: &Keys,
    inputs: &rules::Inputs,
    unidentified: &[u32],
) -> anyhow::Result<Reserved> {
    use rayon::prelude::*;
    let bases: BTreeSet<String> = unidentified
        .par_iter()
        .map(|&i| rules::romanize(&inputs.registrar[i as usize].name_kana))
        .chain(
            inputs
                .renewals
                .par_iter()
                .map(|r| rules::romanize(&r.name_kana)),
        )
        .collect();
    let policy = &settings.policy;
    let first = format!(
        "{}{:0width$}",
        policy.id_prefix,
        keys.next_serial,
        width = policy.id_digits as usize
    );
    crate::store::keys::reserved(store, &keys.digest, &first, &bases)
        .with_context(|| format!("reading the store `{}`", settings.store_path.display()))
}

/// The files in the inbox, by name; hidden files and folders are skipped.
pub fn inbox_files(inbox: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(inbox) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "cannot read the inbox `{}`: {e}",
                inbox.display()
            ));
        }
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading the inbox `{}`", inbox.display()))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if path.is_file() && !hidden {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The counts of the action kinds that occur, e.g. `depart 22, stop 3`, or `no actions`.
pub fn counts_line(plan: &Plan) -> String {
    let counts: Vec<String> = plan
        .counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect();
    if counts.is_empty() {
        "no actions".to_string()
    } else {
        counts.join(", ")
    }
}

/// One line: the day, the inputs and the counts per action kind — the summary cron mails.
pub fn summary(plan: &Plan) -> String {
    format!(
        "plan for {} on {} input file(s): {} action(s) — {}",
        plan.as_of,
        plan.inputs.len(),
        plan.actions.len(),
        counts_line(plan)
    )
}
