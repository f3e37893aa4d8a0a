//! The nightly job: lock, inbox, plan, guard, apply, mail, archive or reject inputs, reports.
//!
//! It is written to be run by cron every night, twice by mistake, or after a crash, and to do
//! the right thing each time: a second concurrent run leaves at once; a file already processed
//! (same SHA-256) is archived without being read again; a bad file is set aside whole with its
//! error report; nothing is applied past the mass-change guard; notices go out after the
//! commit, from the outbox, so a crash never sends one twice.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::config::Settings;
use crate::domain::guard::{self, Tripped};
use crate::domain::plan::Plan;
use crate::ingest::Sink;
use crate::ingest::batch::{Batch, display_name};
use crate::store::Store;

/// How a night ended; `cli` maps each to its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Everything read was applied and every notice sent.
    Done,
    /// Done, but an input file was rejected and set aside.
    Rejected,
    /// Done, but some notices are still waiting in the outbox.
    MailPending,
    /// Another run holds the lock: nothing was done.
    Locked,
    /// The mass-change guard tripped: nothing was applied and the inputs stay in the inbox.
    GuardTripped,
}

/// What a run did: its verdict and the one-paragraph summary cron mails.
#[derive(Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    pub summary: String,
    pub report_dir: Option<PathBuf>,
}

/// The inbox after it was read: the batch to plan, and what happens to each file afterwards.
struct Inbox {
    batch: Batch,
    /// Accepted files: archived once the plan is applied.
    accepted: Vec<PathBuf>,
    /// Files processed before (same SHA-256): archived unread.
    repeated: Vec<PathBuf>,
    /// Files set aside in `rejected/` with their error report.
    rejected: Vec<PathBuf>,
}

/// One nightly run for `as_of`.
pub fn run(settings: &Settings, as_of: NaiveDate) -> anyhow::Result<Outcome> {
    let lock_path = lock_path(&settings.store_path);
    let mut lock = fd_lock::RwLock::new(open_lock(&lock_path)?);
    let _held = match lock.try_write() {
        Ok(held) => held,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(locked(&lock_path)),
        Err(e) => return Err(e).with_context(|| format!("locking `{}`", lock_path.display())),
    };
    if crate::fault::at("hold-lock") {
        // Hold the lock a while, so tests can start two runs together.
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    let mut store = Store::open(&settings.store_path)?;
    let run_id = store.begin_run(as_of, "run")?;
    let report_dir = settings.reports.join(format!("{as_of}-run{run_id}"));
    let recovered = recover(settings, &mut store, run_id);

    let keys = super::plan::read_keys(settings, Some(&store))?;
    let mut inbox = read_inbox(settings, &store, &keys)?;
    // The mass-change guard measures against the accounts not stopped.
    let active = keys.not_stopped();
    let plan = super::plan::plan_batch(settings, Some(&store), keys, &mut inbox.batch, as_of)?;
    crate::report::write_all(&plan, &report_dir)?;
    let mut summary = format!(
        "regsync run {run_id} for {as_of}: {} file(s) read, {} rejected, {} already processed. {}",
        inbox.accepted.len() + inbox.rejected.len(),
        inbox.rejected.len(),
        inbox.repeated.len(),
        crate::report::summary_line(&plan)
    );
    if let Some(recovered) = recovered {
        let _ = write!(summary, " {recovered}");
    }

    let tripped = guard::check(&plan, active, &settings.policy);
    if !tripped.is_empty() {
        refuse(&tripped, &report_dir, &mut summary)?;
        // Earlier notices still waiting are sent all the same.
        send_mail(settings, &mut store, &mut summary);
        store.finish_run(run_id, &summary)?;
        return Ok(Outcome {
            verdict: Verdict::GuardTripped,
            summary,
            report_dir: Some(report_dir),
        });
    }
    apply(
        settings,
        &mut store,
        &plan,
        run_id,
        &report_dir,
        &mut summary,
    )?;
    let archive = settings.archive.join(format!("{as_of}-run{run_id}"));
    for path in inbox.accepted.iter().chain(&inbox.repeated) {
        move_into(&archive, path)?;
    }
    let pending = send_mail(settings, &mut store, &mut summary);
    let _ = write!(summary, " Reports: {}.", report_dir.display());
    store.finish_run(run_id, &summary)?;
    let verdict = if !inbox.rejected.is_empty() {
        Verdict::Rejected
    } else if pending {
        Verdict::MailPending
    } else {
        Verdict::Done
    };
    Ok(Outcome {
        verdict,
        summary,
        report_dir: Some(report_dir),
    })
}

/// Opens (creating it and its folder if needed) the file the run lock is taken on.
fn open_lock(lock_path: &Path) -> anyhow::Result<File> {
    if let Some(parent) = lock_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::private::create_dir_all(parent)
            .with_context(|| format!("creating `{}`", parent.display()))?;
    }
    crate::private::open_with_mode(
        OpenOptions::new().create(true).truncate(false).write(true),
        lock_path,
        crate::private::Kind::Shared,
    )
    .with_context(|| format!("opening the lock `{}`", lock_path.display()))
}

/// The outcome of a run that found the lock held: it leaves at once.
fn locked(lock_path: &Path) -> Outcome {
    Outcome {
        verdict: Verdict::Locked,
        summary: format!(
            "別の run が実行中です（`{}`）。何もせずに終了します / another run holds the lock `{}`; nothing done",
            lock_path.display(),
            lock_path.display()
        ),
        report_dir: None,
    }
}

/// Reads the inbox: files already processed are set to be archived unread, rejected files are
/// set aside with their error report, the rest are read (with a sifter over `keys`).
fn read_inbox(
    settings: &Settings,
    store: &Store,
    keys: &crate::triage::Keys,
) -> anyhow::Result<Inbox> {
    let files = super::plan::inbox_files(&settings.inbox)?;
    let sifter = crate::triage::Sifter::new(keys);
    let mut batch = Batch::read_with(&files, &settings.profiles, Sink::Sift(&sifter));
    let mut repeated = Vec::new();
    for f in &batch.files {
        if !f.sha256.is_empty() && store.processed(&f.sha256)?.is_some() {
            repeated.push(f.ingested.path.clone());
        }
    }
    batch.files.retain(|f| !repeated.contains(&f.ingested.path));
    let rejected: Vec<PathBuf> = batch.rejected().map(|f| f.ingested.path.clone()).collect();
    for f in batch.rejected() {
        let report = crate::report::render_input_refs(&[&f.ingested]);
        set_aside(&settings.rejected, &f.ingested.path, &report)?;
    }
    let accepted = batch
        .files
        .iter()
        .filter(|f| f.accepted)
        .map(|f| f.ingested.path.clone())
        .collect();
    Ok(Inbox {
        batch,
        accepted,
        repeated,
        rejected,
    })
}

/// The mass-change guard tripped: writes `guard.txt` beside the reports and says so in the
/// summary. Nothing is applied and the inputs stay in the inbox.
fn refuse(tripped: &[Tripped], report_dir: &Path, summary: &mut String) -> anyhow::Result<()> {
    let mut text = String::new();
    for t in tripped {
        let _ = writeln!(text, "{} / {}", t.message_ja(), t.message_en());
    }
    let path = report_dir.join("guard.txt");
    crate::private::write(&path, &text).with_context(|| format!("writing `{}`", path.display()))?;
    let _ = write!(
        summary,
        " 大量変更ガードにより何も適用していません / the mass-change guard tripped, nothing applied: {}. \
         Review {} and apply it with `regsync apply {}`.",
        tripped
            .iter()
            .map(|t| t.message_en())
            .collect::<Vec<_>>()
            .join("; "),
        report_dir.join("report.html").display(),
        report_dir.join("plan.json").display()
    );
    Ok(())
}

/// Before planning: the staging folders that earlier runs left in their report folders (a
/// crash while publishing letters) are published, re-issued or removed (see
/// [`crate::apply::recover`]); returns what was done, for the summary.
fn recover(settings: &Settings, store: &mut Store, run_id: i64) -> Option<String> {
    let mut folders: Vec<PathBuf> = match std::fs::read_dir(&settings.reports) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(_) => return None,
    };
    folders.sort();
    crate::apply::recover(store, &folders, run_id).summary()
}

/// Applies the plan in one transaction; the notices are queued in it and sent after the commit,
/// from the outbox. A plan with no actions and no inputs writes nothing.
fn apply(
    settings: &Settings,
    store: &mut Store,
    plan: &Plan,
    run_id: i64,
    report_dir: &Path,
    summary: &mut String,
) -> anyhow::Result<()> {
    if plan.actions.is_empty() && plan.inputs.is_empty() {
        return Ok(());
    }
    let templates = &settings.mail.templates;
    match crate::apply::execute(
        store,
        plan,
        run_id,
        report_dir,
        templates,
        &(&settings.policy).into(),
    )? {
        crate::apply::Executed::Done {
            published, letters, ..
        } => {
            if let Some(dir) = &published.letters_dir {
                let _ = write!(
                    summary,
                    " Letters: {letters} in {} (mode 0600).",
                    dir.display()
                );
            }
            Ok(())
        }
        crate::apply::Executed::Stale { expected, found } => {
            // Only another writer between our snapshot and our apply can cause this; the lock
            // keeps other runs out, so an `apply` by hand is the one left.
            anyhow::bail!(
                "the store changed while this run was planning (plan {expected}, store {found}); run again"
            )
        }
        crate::apply::Executed::Unpublished { staging, error } => {
            anyhow::bail!(
                "applied, but the letters and actions.jsonl were not published ({error}); they are in `{}`",
                staging.display()
            )
        }
    }
}

/// Delivers what the outbox holds; returns whether notices are still waiting. A mail server that
/// is down does not fail the run: the notices stay pending for the next one (exit 5).
fn send_mail(settings: &Settings, store: &mut Store, summary: &mut String) -> bool {
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
    // Once a night, every notice that failed before is tried again, whatever its backoff.
    match crate::mail::deliver(store, &settings.mail, now, true) {
        Ok(r) => {
            let _ = write!(
                summary,
                " Mail: sent {}, failed {}, pending {}.",
                r.sent, r.failed, r.pending_left
            );
            r.pending_left > 0
        }
        Err(e) => {
            let _ = write!(
                summary,
                " Mail not sent ({e}); the notices stay pending for the next run."
            );
            true
        }
    }
}

fn lock_path(store: &Path) -> PathBuf {
    let mut name = store
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    store.with_file_name(name)
}

/// Moves a rejected file into `dir` with its error report beside it (`NAME.errors.txt`).
fn set_aside(dir: &Path, path: &Path, report: &str) -> anyhow::Result<()> {
    let moved = move_into(dir, path)?;
    let mut report_path = moved.clone().into_os_string();
    report_path.push(".errors.txt");
    crate::private::write(Path::new(&report_path), report)
        .with_context(|| format!("writing `{}`", PathBuf::from(&report_path).display()))?;
    Ok(())
}

/// Moves `path` into `dir` (created if needed), never overwriting: a name already there gets a
/// numbered suffix. Returns the new path.
fn move_into(dir: &Path, path: &Path) -> anyhow::Result<PathBuf> {
    crate::private::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let name = display_name(path);
    let mut target = dir.join(&name);
    let mut n = 2;
    while target.exists() {
        target = dir.join(format!("{n}-{name}"));
        n += 1;
    }
    std::fs::rename(path, &target)
        .or_else(|_| std::fs::copy(path, &target).and_then(|_| std::fs::remove_file(path)))
        .with_context(|| format!("moving `{}` to `{}`", path.display(), target.display()))?;
    crate::private::set_mode(&target)?;
    Ok(target)
}
