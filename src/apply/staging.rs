//! The staging folder of one apply: `.apply-<random>.partial` beside the outputs, written and
//! synced before the store commits, renamed into place after. Its note [`STAGED_NOTE`] says
//! what the staged outputs belong to, so that [`super::recover`] can tell, after a crash, a
//! staging folder whose plan committed from one whose plan did not:
//!
//! ```text
//! <store digest the plan was made on>
//! run <id of the run that applies it>
//! kind apply | reissue
//! letters <number of letter rows>
//! ecs_id <ECS-ID of each letter row, one per line>
//! ```
//!
//! The note holds no key. The process that stages holds a lock on it until the outputs are
//! published or discarded, so a recovery never takes a staging folder still in use.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::apply::{
    ACTIONS_JSONL, ApplyError, LETTERS_DIR, LetterRow, create_private_dir, create_private_file,
    io_err, write_actions_jsonl, write_letters,
};
use crate::domain::plan::Plan;

pub(crate) const STAGING_PREFIX: &str = ".apply-";
pub(crate) const STAGING_SUFFIX: &str = ".partial";
/// Inside a staging folder: the note on what it holds (see the module documentation).
pub(crate) const STAGED_NOTE: &str = "plan_digest";

/// What a staging folder holds outputs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StagedKind {
    /// The letters and `actions.jsonl` of a plan.
    Apply,
    /// The letters of keys re-issued by a recovery.
    Reissue,
}

/// The note of a staging folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub plan_digest: String,
    pub run_id: i64,
    pub kind: StagedKind,
    /// The ECS-ID of each staged letter row.
    pub ecs_ids: Vec<String>,
}

impl Note {
    fn render(&self) -> String {
        let kind = match self.kind {
            StagedKind::Apply => "apply",
            StagedKind::Reissue => "reissue",
        };
        let mut s = format!(
            "{}\nrun {}\nkind {kind}\nletters {}\n",
            self.plan_digest,
            self.run_id,
            self.ecs_ids.len()
        );
        for id in &self.ecs_ids {
            s.push_str("ecs_id ");
            s.push_str(id);
            s.push('\n');
        }
        s
    }

    /// The note in `text`, or None when it is incomplete (the process stopped while writing
    /// it, before anything could commit).
    pub(crate) fn parse(text: &str) -> Option<Note> {
        if !text.ends_with('\n') {
            return None;
        }
        let mut lines = text.lines();
        let plan_digest = lines.next()?.trim().to_string();
        let run_id = lines.next()?.strip_prefix("run ")?.parse().ok()?;
        let kind = match lines.next()?.strip_prefix("kind ")? {
            "apply" => StagedKind::Apply,
            "reissue" => StagedKind::Reissue,
            _ => return None,
        };
        let n: usize = lines.next()?.strip_prefix("letters ")?.parse().ok()?;
        let ecs_ids: Vec<String> = lines
            .map(|l| l.strip_prefix("ecs_id ").map(str::to_string))
            .collect::<Option<_>>()?;
        (ecs_ids.len() == n).then_some(Note {
            plan_digest,
            run_id,
            kind,
            ecs_ids,
        })
    }
}

/// The outputs of one apply, written but not yet published.
#[derive(Debug)]
pub struct Staged {
    out: PathBuf,
    dir: PathBuf,
    letters: Vec<PathBuf>,
    actions: Option<usize>,
    /// The note, locked while this process may still publish or discard.
    _lock: std::fs::File,
}

/// Where an apply's outputs went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The letters folder, when the plan had letter creates.
    pub letters_dir: Option<PathBuf>,
    /// One CSV per faculty, inside `letters_dir`.
    pub letter_files: Vec<PathBuf>,
    pub actions_jsonl: PathBuf,
    /// Lines in `actions.jsonl`.
    pub actions: usize,
}

/// Kills the process at the test-only fault point `name` (see `crate::fault`): the crash tests
/// stop an apply at each rename and sync.
pub(crate) fn crash_point(name: &str) {
    if crate::fault::at(name) {
        std::process::abort();
    }
}

/// Writes the letters and `actions.jsonl` of `plan`, applied by run `run_id`, into a new
/// staging folder in `out` (which is created when missing). Call before the store commits;
/// then [`Staged::publish`] after the commit, or [`Staged::discard`] when it did not happen.
pub fn stage(
    out: &Path,
    plan: &Plan,
    rows: &[LetterRow],
    run_id: i64,
) -> Result<Staged, ApplyError> {
    let note = Note {
        plan_digest: plan.store_digest.clone(),
        run_id,
        kind: StagedKind::Apply,
        ecs_ids: rows.iter().map(|r| r.ecs_id.clone()).collect(),
    };
    stage_with(out, &note, rows, Some(plan))
}

/// Stages `rows` and, with a plan, its `actions.jsonl`, under `note`.
pub(crate) fn stage_with(
    out: &Path,
    note: &Note,
    rows: &[LetterRow],
    plan: Option<&Plan>,
) -> Result<Staged, ApplyError> {
    crate::private::create_dir_all(out).map_err(io_err(out))?;
    let mut tag = [0u8; 6];
    getrandom::fill(&mut tag).map_err(|e| ApplyError::Random(e.to_string()))?;
    let dir = out.join(format!(
        "{STAGING_PREFIX}{}{STAGING_SUFFIX}",
        crate::digest::hex(&tag)
    ));
    create_private_dir(&dir)?;
    let staged = (|| {
        let note_path = dir.join(STAGED_NOTE);
        let mut lock = create_private_file(&note_path)?;
        lock.try_lock().map_err(|e| io_err(&note_path)(e.into()))?;
        lock.write_all(note.render().as_bytes())
            .map_err(io_err(&note_path))?;
        lock.sync_all().map_err(io_err(&note_path))?;
        crash_point("stage-note-synced");
        let letters = if rows.is_empty() {
            Vec::new()
        } else {
            write_letters(&dir.join(LETTERS_DIR), rows)?
        };
        crash_point("stage-letters-synced");
        let actions = match plan {
            Some(plan) => Some(write_actions_jsonl(&dir.join(ACTIONS_JSONL), plan)?),
            None => None,
        };
        crash_point("stage-actions-synced");
        sync_dir(&dir);
        crash_point("stage-dir-synced");
        Ok(Staged {
            out: out.to_path_buf(),
            dir: dir.clone(),
            letters,
            actions,
            _lock: lock,
        })
    })();
    if staged.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    staged
}

impl Staged {
    /// The staging folder (named in messages when publishing fails).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the staged outputs into `out` (renames in one file system) and removes the
    /// staging folder.
    pub fn publish(self) -> Result<Published, ApplyError> {
        let letters_to = self.out.join(LETTERS_DIR);
        self.publish_to(&letters_to)
    }

    /// [`Staged::publish`] with the letters going to `letters_to` (a recovery's re-issued
    /// letters, when `letters/` is taken).
    pub(crate) fn publish_to(self, letters_to: &Path) -> Result<Published, ApplyError> {
        let actions_jsonl = self.out.join(ACTIONS_JSONL);
        if self.actions.is_some() {
            let staged_actions = self.dir.join(ACTIONS_JSONL);
            std::fs::rename(&staged_actions, &actions_jsonl).map_err(io_err(&actions_jsonl))?;
            crash_point("publish-actions-renamed");
        }
        let (letters_dir, letter_files) = if self.letters.is_empty() {
            (None, Vec::new())
        } else {
            // rename(2) replaces an empty folder silently: check again right before.
            if letters_to.symlink_metadata().is_ok() {
                return Err(ApplyError::Exists {
                    path: letters_to.to_path_buf(),
                });
            }
            std::fs::rename(self.dir.join(LETTERS_DIR), letters_to).map_err(io_err(letters_to))?;
            crash_point("publish-letters-renamed");
            let files = self
                .letters
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| letters_to.join(n))
                .collect();
            (Some(letters_to.to_path_buf()), files)
        };
        sync_dir(&self.out);
        crash_point("publish-out-synced");
        // Only the note is left.
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(Published {
            letters_dir,
            letter_files,
            actions_jsonl,
            actions: self.actions.unwrap_or(0),
        })
    }

    /// Removes the staging folder: the transaction did not commit, so its keys are void.
    pub fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Best effort: makes the folder's new entries durable (a no-op where folders cannot be
/// opened).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_reads_back_and_an_incomplete_one_is_none() {
        let note = Note {
            plan_digest: "abc".into(),
            run_id: 7,
            kind: StagedKind::Reissue,
            ecs_ids: vec!["a0000001".into(), "a0000002".into()],
        };
        let text = note.render();
        assert_eq!(Note::parse(&text), Some(note));
        let cut = text.rsplit_once("ecs_id").map_or("", |(head, _)| head);
        assert_eq!(Note::parse(cut), None, "a row short");
        assert_eq!(Note::parse("abc\n"), None);
        assert_eq!(Note::parse(""), None);
    }
}
