//! The shell side of `apply`: activation keys (R4, R12), the account-letter lists per faculty
//! (R3) and `actions.jsonl` for the provisioning system. The store transaction itself is
//! [`crate::store::Store::apply`]; this module prepares what goes with it and publishes the
//! files once it committed.
//!
//! Crash safety. Letters carry the only copy of each new account's activation key, and the store
//! keeps only a salted hash, so the letters must exist exactly when the transaction committed.
//! [`stage`] writes the letters and `actions.jsonl` into a fresh hidden folder
//! `.apply-<random>.partial` beside the outputs (mode 0700, files 0600, synced to disk)
//! *before* the commit; [`Staged::publish`] renames them into place *after* it. A crash before
//! the commit leaves only that hidden folder, whose keys match nothing in the store; a crash
//! between the commit and the rename leaves the valid letters in it. Either way the next `run`
//! (or `apply` into the folder) settles it from the store ([`recover`]): published when its
//! keys verify, removed when they match nothing, new keys issued when it cannot be read back.

pub mod actions;
pub mod keys;
pub mod letters;
mod recover;
mod staging;

use std::path::{Path, PathBuf};

pub use actions::write_actions_jsonl;
pub use letters::{LetterRow, letters, write_letters};
pub use recover::{recover, staging_folders};
pub use staging::{Published, Staged, stage};

use crate::domain::plan::Plan;
use crate::store::outbox::Packed;

/// The name of the published letters folder inside the output folder.
pub const LETTERS_DIR: &str = "letters";
/// The name of the published list of applied actions inside the output folder.
pub const ACTIONS_JSONL: &str = "actions.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
    #[error("cannot write `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("cannot write `{path}`: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "`{path}` exists already (written by an earlier apply?)\nhint: move it away, or give another folder with `--out`"
    )]
    Exists { path: PathBuf },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ApplyError + '_ {
    move |source| ApplyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Refuses outputs that are there already: a second apply into the same folder must not
/// overwrite the letters (and keys) of the first.
pub fn check_outputs(out: &Path, with_letters: bool) -> Result<(), ApplyError> {
    let mut paths = vec![out.join(ACTIONS_JSONL)];
    if with_letters {
        paths.push(out.join(LETTERS_DIR));
    }
    for path in paths {
        if path.symlink_metadata().is_ok() {
            return Err(ApplyError::Exists { path });
        }
    }
    Ok(())
}

/// A folder of 0700 (on unix), failing when it exists.
pub(crate) fn create_private_dir(path: &Path) -> Result<(), ApplyError> {
    crate::private::create_dir(path, crate::private::Kind::Secret).map_err(io_err(path))
}

/// A new file of mode 0600 (on unix) from its creation on, failing when it exists: a key
/// never sits in a file another user could have opened in between.
pub(crate) fn create_private_file(path: &Path) -> Result<std::fs::File, ApplyError> {
    crate::private::create_new(path, crate::private::Kind::Secret).map_err(io_err(path))
}

/// How one execution of a plan ended.
pub enum Executed {
    /// Committed and published.
    Done {
        summary: crate::store::ApplySummary,
        published: Published,
        letters: usize,
    },
    /// The store changed since the plan was made: nothing applied, nothing published.
    Stale { expected: String, found: String },
    /// Committed, but the staged letters and `actions.jsonl` could not be moved into place; they
    /// are still in `staging` (the only copy of the activation keys).
    Unpublished { staging: PathBuf, error: ApplyError },
}

/// Applies `plan` to `store` as one transaction and publishes its outputs into `out`: the
/// activation keys are made first; then, while the store writes the plan (with the keys'
/// hashes), a thread of its own renders the plan's notices with `templates` and stages the
/// letters and `actions.jsonl`; the transaction enqueues the notices in the outbox and commits
/// only once both are done; then the staged files are renamed into place. With `directory`
/// (`[directory]` configured), the touched accounts' directory states are queued in the same
/// transaction. Used by `apply` and `run`.
pub fn execute(
    store: &mut crate::store::Store,
    plan: &Plan,
    run_id: i64,
    out: &Path,
    templates: &crate::mail::Templates,
    ids: &crate::store::IdFormat,
    directory: bool,
) -> anyhow::Result<Executed> {
    let clock = std::time::Instant::now();
    let rows = letters(plan)?;
    check_outputs(out, !rows.is_empty())?;
    let hashes = letters::key_hashes(&rows)?;
    tracing::info!(
        keys = hashes.len(),
        ms = clock.elapsed().as_millis(),
        "activation keys made"
    );
    std::thread::scope(|scope| {
        let side = std::thread::Builder::new()
            .name("apply-notices".into())
            .spawn_scoped(scope, || {
                render_and_stage(templates, plan, out, &rows, run_id)
            })?;
        // The hook below runs on this thread, inside the transaction: plain cells do.
        let side = std::cell::Cell::new(Some(side));
        // What the side thread left: its staged outputs, or the error that stopped it.
        let staged: std::cell::Cell<Option<Staged>> = std::cell::Cell::new(None);
        let failed: std::cell::Cell<Option<anyhow::Error>> = std::cell::Cell::new(None);
        let join = || -> Option<anyhow::Result<(Vec<Packed>, Staged)>> {
            let handle = side.take()?;
            Some(
                handle
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            )
        };
        let enqueue = |tx: &rusqlite::Transaction<'_>| -> Result<(), crate::store::StoreError> {
            match join() {
                Some(Ok((entries, done))) => {
                    staged.set(Some(done));
                    // Tests kill the process here, letters staged, just before the commit.
                    if crate::fault::at("apply-staged") {
                        std::process::abort();
                    }
                    crate::store::outbox::enqueue(tx, run_id, &entries)?;
                    Ok(())
                }
                Some(Err(e)) => {
                    failed.set(Some(e));
                    Err(crate::store::StoreError::Cancelled)
                }
                None => Err(crate::store::StoreError::Cancelled),
            }
        };
        let clock = std::time::Instant::now();
        let extra = crate::store::ApplyExtra {
            key_hashes: &hashes,
            before_commit: Some(&enqueue),
            ids: ids.clone(),
            directory,
        };
        let applied = store.apply(plan, run_id, &extra);
        // The side thread's outputs, when the transaction did not take them.
        let discard = || {
            if let Some(Ok((_, done))) = join() {
                done.discard();
            }
            if let Some(done) = staged.take() {
                done.discard();
            }
        };
        let summary = match applied {
            Ok(s) => {
                tracing::info!(
                    ms = clock.elapsed().as_millis(),
                    "store transaction committed"
                );
                s
            }
            Err(crate::store::StoreError::Stale { expected, found }) => {
                discard();
                return Ok(Executed::Stale { expected, found });
            }
            Err(e) => {
                discard();
                return Err(match failed.take() {
                    Some(side_error) => side_error,
                    None => e.into(),
                });
            }
        };
        let staged = staged.take().ok_or_else(|| {
            anyhow::anyhow!("the store committed a plan whose outputs were not staged")
        })?;
        staging::crash_point("apply-committed");
        Ok(publish(staged, summary, rows.len()))
    })
}

/// The side thread of [`execute`]: renders the plan's notices and stages the letters and
/// `actions.jsonl`, while the store writes the plan.
fn render_and_stage(
    templates: &crate::mail::Templates,
    plan: &Plan,
    out: &Path,
    rows: &[LetterRow],
    run_id: i64,
) -> anyhow::Result<(Vec<Packed>, Staged)> {
    let clock = std::time::Instant::now();
    // Each notice is compressed as soon as it is rendered: a night's texts are never all held
    // at once. On this one thread: the writer needs the cores.
    let entries = crate::mail::rendered(templates, plan)
        .map(|e| e.map(Packed::new))
        .collect::<Result<Vec<_>, _>>()?;
    tracing::info!(
        notices = entries.len(),
        ms = clock.elapsed().as_millis(),
        "notices rendered and compressed"
    );
    let clock = std::time::Instant::now();
    // From here until the commit, every way out discards the staged keys.
    let staged = stage(out, plan, rows, run_id)?;
    tracing::info!(
        ms = clock.elapsed().as_millis(),
        "letters and actions.jsonl staged"
    );
    Ok((entries, staged))
}

/// Moves the staged outputs of a committed plan into place.
fn publish(staged: Staged, summary: crate::store::ApplySummary, letters: usize) -> Executed {
    let staging = staged.dir().to_path_buf();
    match staged.publish() {
        Ok(published) => Executed::Done {
            summary,
            published,
            letters,
        },
        Err(error) => Executed::Unpublished { staging, error },
    }
}
