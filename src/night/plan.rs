//! Planning a night: read the inputs and the store, select the accounts the rules can act on,
//! load them, and run the rules. `plan` stops here; `run` goes on to apply (see [`super::run`]).
//!
//! The store is read in two steps around the files (see [`crate::triage`]): the compact keys of
//! every account first, so ingest can drop the rows that change nothing; then, in full, only the
//! accounts the rules can act on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::config::Settings;
use crate::domain::account::{Reserved, Snapshot};
use crate::domain::model::EcsId;
use crate::domain::plan::Plan;
use crate::domain::rules;
use crate::ingest::Sink;
use crate::ingest::batch::Batch;
use crate::metrics::peak_mib;
use crate::store::{Store, empty_digest};
use crate::triage::{self, Keys, Sifter};

/// A file given to `plan` that the store has processed already (same SHA-256): named, and not
/// planned again, as `run` archives it unread.
#[derive(Debug, Clone)]
pub struct Repeated {
    pub path: PathBuf,
    pub processed: crate::store::ProcessedFile,
}

/// Reads the files and the store and computes the plan; writes nothing. Files the store has
/// processed already are left out of the plan and returned.
pub fn compute(
    settings: &Settings,
    files: &[PathBuf],
    as_of: NaiveDate,
) -> anyhow::Result<(Plan, Batch, Vec<Repeated>)> {
    let store = Store::open_read_only(&settings.store_path)
        .with_context(|| format!("opening the store `{}`", settings.store_path.display()))?;
    let clock = std::time::Instant::now();
    let keys = read_keys(settings, store.as_ref())?;
    tracing::info!(
        accounts = keys.len(),
        ms = clock.elapsed().as_millis(),
        peak_mib = peak_mib(),
        "keys read"
    );
    let sifter = Sifter::new(&keys);
    let clock = std::time::Instant::now();
    let mut batch = Batch::read_with(files, &settings.profiles, Sink::Sift(&sifter));
    tracing::info!(
        ms = clock.elapsed().as_millis(),
        peak_mib = peak_mib(),
        "files read"
    );
    let mut repeated = Vec::new();
    if let Some(store) = &store {
        for f in batch.files.iter().filter(|f| !f.sha256.is_empty()) {
            if let Some(processed) = store.processed(&f.sha256)? {
                repeated.push(Repeated {
                    path: f.ingested.path.clone(),
                    processed,
                });
            }
        }
        batch
            .files
            .retain(|f| !repeated.iter().any(|r| r.path == f.ingested.path));
    }
    let plan = plan_batch(settings, store.as_ref(), keys, &mut batch, as_of)?;
    Ok((plan, batch, repeated))
}

/// The compact keys of every account on record (none without a store).
pub(crate) fn read_keys(settings: &Settings, store: Option<&Store>) -> anyhow::Result<Keys> {
    match store {
        Some(store) => store
            .keys()
            .with_context(|| format!("reading the store `{}`", settings.store_path.display())),
        None => Ok(Keys::from_parts(Vec::new(), 0, empty_digest())),
    }
}

/// Plans the accepted files of `batch`, read with a [`Sifter`] over `keys`: selects the
/// accounts the rules can act on, loads them, and runs the rules (see `triage`). Takes
/// the batch's records.
pub(crate) fn plan_batch(
    settings: &Settings,
    store: Option<&Store>,
    keys: Keys,
    batch: &mut Batch,
    as_of: NaiveDate,
) -> anyhow::Result<Plan> {
    if let Some(store) = store {
        let previous = store
            .last_registrar_file()?
            .map(|f| crate::ingest::snapshot::Previous::new(f.name, f.rows));
        for f in batch.files.iter_mut().filter(|f| f.accepted) {
            crate::ingest::snapshot::warn_if_shrunk(
                &mut f.ingested,
                previous.as_ref(),
                &settings.profiles,
                settings.policy.snapshot_min_share,
            );
        }
    }
    let owned_keys = keys;
    let keys = &owned_keys;
    let (mut inputs, selection) = triage::narrow(keys, &settings.profiles, batch, as_of)?;
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
            distinct: Default::default(),
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
        peak_mib = peak_mib(),
        "accounts loaded"
    );
    let clock = std::time::Instant::now();
    let plan = rules::plan(&snapshot, &inputs, as_of, &settings.policy);
    tracing::info!(
        actions = plan.actions.len(),
        ms = clock.elapsed().as_millis(),
        peak_mib = peak_mib(),
        "rules applied"
    );
    Ok(plan)
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

/// The regular files in the inbox, by name, whatever their age; hidden files, links and other
/// entries are skipped (see [`super::inbox::scan`]).
pub fn inbox_files(inbox: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let scan = super::inbox::scan(
        inbox,
        std::time::Duration::ZERO,
        std::time::SystemTime::now(),
    )?;
    Ok(scan.files)
}
