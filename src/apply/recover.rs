//! Recovery of interrupted applies: a staging folder (see [`super::staging`]) left by a
//! process that stopped is published when its plan committed, and removed when it did not,
//! so no activation key stays in a hidden folder. `run` calls [`recover`] before it plans, on
//! every night's report folder; `apply` on its output folder.
//!
//! Whether the plan committed is decided from the store, never from the files alone:
//! - letters staged: the staged keys are checked against the stored `activation_key_hash` of
//!   their accounts. All match: committed, published. None match: never committed (or since
//!   re-issued), removed. No letters left in it: renamed into place before the stop when the
//!   run wrote those accounts, else never written; either way the folder is removed.
//! - letters that cannot be read back whole, or only some of whose keys match: the accounts
//!   the staged run wrote get new keys (a `reissue_key` history row each), staged, committed
//!   and published the same way; an account re-issued since keeps its newer key.
//! - no letters: the plan committed when its run wrote history, files, review items or
//!   notices; then `actions.jsonl` is published.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::apply::staging::{
    Note, STAGED_NOTE, STAGING_PREFIX, STAGING_SUFFIX, StagedKind, stage_with, sync_dir,
};
use crate::apply::{ACTIONS_JSONL, LETTERS_DIR, letters};
use crate::store::Store;

/// A staging folder without a complete note younger than this may still be written by a
/// running apply; an older one is left from a stop before anything could commit.
const NOTE_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// What [`recover`] did, one line per staging folder, in Japanese and English.
#[derive(Debug, Default)]
pub struct Recovery {
    pub lines: Vec<String>,
    /// Some staging folder could not be recovered and is left in place.
    pub failed: bool,
}

impl Recovery {
    /// One paragraph for a run's summary, or None when there was nothing to recover.
    pub fn summary(&self) -> Option<String> {
        (!self.lines.is_empty()).then(|| {
            format!(
                "中断された適用の回復 / recovery of interrupted applies: {}.",
                self.lines.join("; ")
            )
        })
    }
}

/// How one staging folder was recovered.
enum Done {
    Published { letters: usize, to: Option<PathBuf> },
    AlreadyPublished,
    Reissued { keys: usize, to: PathBuf },
    NeverCommitted { keys: usize },
    InUse,
}

/// The staging folders in `folder`, by name.
pub fn staging_folders(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(STAGING_PREFIX) && name.ends_with(STAGING_SUFFIX)
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Recovers every staging folder found in `folders` (each an apply's output folder); keys
/// re-issued are recorded under `run_id`.
pub fn recover(store: &mut Store, folders: &[PathBuf], run_id: i64) -> Recovery {
    let mut recovery = Recovery::default();
    for out in folders {
        for dir in staging_folders(out) {
            let line = match recover_one(store, out, &dir, run_id) {
                Ok(Done::InUse) => continue,
                Ok(done) => describe(&dir, &done),
                Err(e) => {
                    recovery.failed = true;
                    format!(
                        "`{}` を回復できません（そのまま残します） / cannot recover `{}`, left in place: {e:#}",
                        dir.display(),
                        dir.display()
                    )
                }
            };
            tracing::warn!(%line, "apply recovery");
            recovery.lines.push(line);
        }
    }
    recovery
}

fn describe(dir: &Path, done: &Done) -> String {
    let d = dir.display();
    match done {
        Done::Published { letters, to } => match to {
            Some(to) => format!(
                "`{d}`: 適用済みの通知書 {letters} 件を公開 / committed, {letters} letter(s) published to `{}`",
                to.display()
            ),
            None => format!(
                "`{d}`: 適用済み、actions.jsonl を公開 / committed, actions.jsonl published"
            ),
        },
        Done::AlreadyPublished => {
            format!("`{d}`: 公開済みの残り、削除 / already published, removed")
        }
        Done::Reissued { keys, to } => format!(
            "`{d}`: 通知書を公開できないため有効化キー {keys} 件を再発行 / letters not publishable, {keys} activation key(s) re-issued to `{}`",
            to.display()
        ),
        Done::NeverCommitted { keys } => format!(
            "`{d}`: 適用されなかった（キー {keys} 件は無効）、削除 / never committed ({keys} key(s) void), removed"
        ),
        Done::InUse => String::new(),
    }
}

fn recover_one(store: &mut Store, out: &Path, dir: &Path, run_id: i64) -> anyhow::Result<Done> {
    let note_path = dir.join(STAGED_NOTE);
    let file = match std::fs::File::open(&note_path) {
        Ok(f) => f,
        Err(_) => return incomplete(dir),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(Done::InUse),
        Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
    }
    let text = std::fs::read_to_string(&note_path).unwrap_or_default();
    let Some(note) = Note::parse(&text) else {
        return incomplete(dir);
    };
    let done = if note.ecs_ids.is_empty() {
        without_letters(store, out, dir, &note)?
    } else {
        with_letters(store, out, dir, &note, run_id)?
    };
    remove(dir)?;
    drop(file);
    Ok(done)
}

/// A staging folder whose note is missing or cut short: nothing of it committed (the note is
/// written first), unless it is young enough to be an apply still writing it.
fn incomplete(dir: &Path) -> anyhow::Result<Done> {
    let age = std::fs::symlink_metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok());
    if age.is_none_or(|a| a < NOTE_GRACE) {
        return Ok(Done::InUse);
    }
    remove(dir)?;
    Ok(Done::NeverCommitted { keys: 0 })
}

fn remove(dir: &Path) -> anyhow::Result<()> {
    std::fs::remove_dir_all(dir).map_err(|e| anyhow::anyhow!("removing `{}`: {e}", dir.display()))
}

fn without_letters(store: &Store, out: &Path, dir: &Path, note: &Note) -> anyhow::Result<Done> {
    let staged = dir.join(ACTIONS_JSONL);
    if note.kind == StagedKind::Apply && store.run_applied(note.run_id)? {
        if staged.exists() {
            publish_file(&staged, &free_name(out, ACTIONS_JSONL, dir))?;
        }
        return Ok(Done::Published {
            letters: 0,
            to: None,
        });
    }
    Ok(Done::NeverCommitted { keys: 0 })
}

fn with_letters(
    store: &mut Store,
    out: &Path,
    dir: &Path,
    note: &Note,
    run_id: i64,
) -> anyhow::Result<Done> {
    let staged_letters = dir.join(LETTERS_DIR);
    if !staged_letters.exists() {
        // Either renamed into place after the commit, or never written: the store says which.
        return Ok(
            if store.written_by_run(note.run_id, &note.ecs_ids)?.is_empty() {
                Done::NeverCommitted { keys: 0 }
            } else {
                Done::AlreadyPublished
            },
        );
    }
    let rows = read_back(&staged_letters, note);
    let hashes = store.activation_key_hashes(&note.ecs_ids)?;
    let verified = rows.as_ref().map(|rows| {
        rows.iter()
            .filter(|(id, key)| {
                hashes
                    .get(id)
                    .is_some_and(|h| crate::apply::keys::verify_key(key, id, h))
            })
            .count()
    });
    match (rows, verified) {
        (Some(rows), Some(v)) if v == rows.len() => {
            let staged_actions = dir.join(ACTIONS_JSONL);
            if staged_actions.exists() {
                publish_file(&staged_actions, &free_name(out, ACTIONS_JSONL, dir))?;
            }
            let to = free_name(out, LETTERS_DIR, dir);
            publish_file(&staged_letters, &to)?;
            Ok(Done::Published {
                letters: rows.len(),
                to: Some(to),
            })
        }
        (Some(rows), Some(0)) => Ok(Done::NeverCommitted { keys: rows.len() }),
        _ => {
            // Unreadable, or some keys committed and some not: the accounts the run wrote get
            // new keys, unless a later recovery re-issued them already.
            let mut ids = Vec::new();
            for id in store.written_by_run(note.run_id, &note.ecs_ids)? {
                if !store.reissued_after(&id, note.run_id)? {
                    ids.push(id);
                }
            }
            if ids.is_empty() {
                return Ok(Done::NeverCommitted {
                    keys: note.ecs_ids.len(),
                });
            }
            reissue(store, out, dir, &ids, note, run_id)
        }
    }
}

/// The `(ECS-ID, key)` of every row of the staged letters, or None when they cannot be read
/// back whole (a file missing, cut short or damaged).
fn read_back(letters_dir: &Path, note: &Note) -> Option<Vec<(String, String)>> {
    let mut rows = Vec::with_capacity(note.ecs_ids.len());
    for entry in std::fs::read_dir(letters_dir).ok()? {
        let path = entry.ok()?.path();
        // The workbooks repeat the CSVs, and each is written before its CSV.
        if path.extension().is_some_and(|e| e == "xlsx") {
            continue;
        }
        let bytes = std::fs::read(path).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        if rdr.headers().ok()?.iter().ne(letters::HEADER) {
            return None;
        }
        for rec in rdr.records() {
            let rec = rec.ok()?;
            rows.push((rec.get(4)?.to_string(), rec.get(6)?.to_string()));
        }
    }
    let staged: BTreeSet<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    let noted: BTreeSet<&str> = note.ecs_ids.iter().map(String::as_str).collect();
    (rows.len() == note.ecs_ids.len() && staged == noted).then_some(rows)
}

/// New keys for `ids`: their letters are staged beside `out`, the hashes committed, the old
/// staging folder `dir` (whose keys are void now) loses its letters, and the new letters are
/// published. A crash anywhere in between is recovered like an apply's.
fn reissue(
    store: &mut Store,
    out: &Path,
    dir: &Path,
    ids: &[String],
    note: &Note,
    run_id: i64,
) -> anyhow::Result<Done> {
    let mut accounts = Vec::with_capacity(ids.len());
    for id in ids {
        match store.account(id)? {
            Some(a) => accounts.push(a),
            None => anyhow::bail!("account `{id}` of a staged letter is not in the store"),
        }
    }
    let refs: Vec<&crate::domain::account::Account> = accounts.iter().collect();
    let rows = letters::letters_for(&refs)?;
    let hashes = letters::key_hashes(&rows)?;
    let staged = stage_with(
        out,
        &Note {
            plan_digest: note.plan_digest.clone(),
            run_id,
            kind: StagedKind::Reissue,
            ecs_ids: rows.iter().map(|r| r.ecs_id.clone()).collect(),
        },
        &rows,
        None,
    )?;
    if let Err(e) = store.reissue_keys(run_id, &hashes) {
        staged.discard();
        return Err(e.into());
    }
    remove(&dir.join(LETTERS_DIR))?;
    let staged_actions = dir.join(ACTIONS_JSONL);
    if note.kind == StagedKind::Apply && staged_actions.exists() {
        publish_file(&staged_actions, &free_name(out, ACTIONS_JSONL, dir))?;
    }
    let to = free_name(out, LETTERS_DIR, dir);
    staged.publish_to(&to)?;
    Ok(Done::Reissued {
        keys: rows.len(),
        to,
    })
}

/// `out/name` when free, else `out/name` with the staging folder's tag added
/// (`letters-<tag>`, `actions-<tag>.jsonl`): a recovery never replaces an output.
fn free_name(out: &Path, name: &str, dir: &Path) -> PathBuf {
    let plain = out.join(name);
    if plain.symlink_metadata().is_err() {
        return plain;
    }
    let tag = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tag = tag
        .trim_start_matches(STAGING_PREFIX)
        .trim_end_matches(STAGING_SUFFIX);
    match name.split_once('.') {
        Some((stem, ext)) => out.join(format!("{stem}-{tag}.{ext}")),
        None => out.join(format!("{name}-{tag}")),
    }
}

fn publish_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    if to.symlink_metadata().is_ok() {
        anyhow::bail!("`{}` exists already", to.display());
    }
    std::fs::rename(from, to)
        .map_err(|e| anyhow::anyhow!("moving `{}` to `{}`: {e}", from.display(), to.display()))?;
    if let Some(parent) = to.parent() {
        sync_dir(parent);
    }
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn note(run_id: i64) -> Note {
        Note {
            plan_digest: "d".into(),
            run_id,
            kind: StagedKind::Apply,
            ecs_ids: Vec::new(),
        }
    }

    #[test]
    fn a_staging_folder_in_use_is_left_alone_and_a_dead_one_of_no_commit_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(&tmp.path().join("s.sqlite")).unwrap();
        let run_id = store.begin_run(chrono::NaiveDate::MIN, "test").unwrap();
        let out = tmp.path().join("out");
        let live = stage_with(&out, &note(run_id), &[], None).unwrap();
        let folders = [out.clone()];
        let r = recover(&mut store, &folders, run_id);
        assert!(r.lines.is_empty(), "{:?}", r.lines);
        assert!(live.dir().exists(), "held by its apply");
        // The process that staged it stops: its lock goes with it.
        let dir = live.dir().to_path_buf();
        drop(live);
        let r = recover(&mut store, &folders, run_id);
        assert_eq!(r.lines.len(), 1);
        assert!(r.lines[0].contains("never committed"), "{:?}", r.lines);
        assert!(!dir.exists());
        assert!(!r.failed);
    }

    #[test]
    fn recovered_outputs_never_replace_one_there() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".apply-0a1b2c.partial");
        assert_eq!(
            free_name(tmp.path(), LETTERS_DIR, &dir),
            tmp.path().join("letters")
        );
        std::fs::create_dir(tmp.path().join("letters")).unwrap();
        std::fs::write(tmp.path().join(ACTIONS_JSONL), "").unwrap();
        assert_eq!(
            free_name(tmp.path(), LETTERS_DIR, &dir),
            tmp.path().join("letters-0a1b2c")
        );
        assert_eq!(
            free_name(tmp.path(), ACTIONS_JSONL, &dir),
            tmp.path().join("actions-0a1b2c.jsonl")
        );
    }
}
