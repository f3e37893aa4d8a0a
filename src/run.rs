//! The nightly job: lock, inbox, plan, guard, apply, mail, archive or reject inputs, reports.
//!
//! It is written to be run by cron every night, twice by mistake, or after a crash, and to do
//! the right thing each time: a second concurrent run exits at once; a file already processed
//! (same SHA-256) is archived without being read again; a bad file is set aside whole with its
//! error report; nothing is applied past the mass-change guard; notices go out after the
//! commit, from the outbox, so a crash never sends one twice.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::cli::Exit;
use crate::config::Settings;
use crate::domain::guard;
use crate::ingest::batch::{Batch, display_name};
use crate::store::Store;

/// What a run did, for the exit code and the one-paragraph summary.
pub struct Outcome {
    pub exit: Exit,
    pub summary: String,
    pub report_dir: Option<PathBuf>,
}

/// One nightly run for `as_of`.
pub fn run(settings: &Settings, as_of: NaiveDate) -> anyhow::Result<Outcome> {
    // A second run started while this one holds the lock leaves at once (exit 4).
    let lock_path = lock_path(&settings.store_path);
    if let Some(parent) = lock_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating `{}`", parent.display()))?;
    }
    let lock_file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening the lock `{}`", lock_path.display()))?;
    let mut lock = fd_lock::RwLock::new(lock_file);
    let _held = match lock.try_write() {
        Ok(held) => held,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            return Ok(Outcome {
                exit: Exit::Refused,
                summary: format!(
                    "別の run が実行中です（`{}`）。何もせずに終了します / another run holds the lock `{}`; nothing done",
                    lock_path.display(),
                    lock_path.display()
                ),
                report_dir: None,
            });
        }
        Err(e) => return Err(e).with_context(|| format!("locking `{}`", lock_path.display())),
    };

    // Test-only: hold the lock a while, so tests can start two runs together.
    if std::env::var(crate::store::FAULT_ENV).is_ok_and(|v| v == "hold-lock") {
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    let mut store = Store::open(&settings.store_path)?;
    let run_id = store.begin_run(as_of, "run")?;
    let report_dir = settings.reports.join(format!("{as_of}-run{run_id}"));

    // The inbox: files already processed are archived unread; the rest are read.
    let files = crate::cli::plan::inbox_files(&settings.inbox)?;
    let keys = crate::cli::plan::read_keys(settings, Some(&store))?;
    let sifter = crate::domain::triage::Sifter::new(&keys);
    let mut batch = Batch::read_with(
        &files,
        &settings.profiles,
        crate::ingest::Sink::Sift(&sifter),
    );
    let mut repeated = Vec::new();
    for f in &batch.files {
        if !f.sha256.is_empty() && store.processed(&f.sha256)?.is_some() {
            repeated.push(f.ingested.path.clone());
        }
    }
    batch.files.retain(|f| !repeated.contains(&f.ingested.path));
    let rejected: Vec<PathBuf> = batch.rejected().map(|f| f.ingested.path.clone()).collect();
    for f in batch.rejected() {
        set_aside(
            &settings.rejected,
            &f.ingested.path,
            &crate::cli::check::render_refs(&[&f.ingested]),
        )?;
    }
    let accepted: Vec<PathBuf> = batch
        .files
        .iter()
        .filter(|f| f.accepted)
        .map(|f| f.ingested.path.clone())
        .collect();

    // The mass-change guard measures against the accounts not stopped.
    let active = keys.not_stopped();
    let plan = crate::cli::plan::plan_batch(settings, Some(&store), keys, &mut batch, as_of)?;
    crate::report::write_all(&plan, &report_dir)?;

    let mut summary = String::new();
    let _ = write!(summary, "regsync run {run_id} for {as_of}: ");
    let _ = write!(
        summary,
        "{} file(s) read, {} rejected, {} already processed. {}",
        accepted.len() + rejected.len(),
        rejected.len(),
        repeated.len(),
        crate::cli::plan::summary(&plan)
    );

    // The mass-change guard: past a limit, nothing is applied and the inputs stay in the inbox.
    let tripped = guard::check(&plan, active, &settings.policy);
    if !tripped.is_empty() {
        let mut text = String::new();
        for t in &tripped {
            let _ = writeln!(text, "{} / {}", t.message_ja(), t.message_en());
        }
        std::fs::write(report_dir.join("guard.txt"), &text)
            .with_context(|| format!("writing `{}`", report_dir.join("guard.txt").display()))?;
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
        // Earlier notices still waiting are sent all the same.
        send_mail(settings, &mut store, &mut summary);
        store.finish_run(run_id, &summary)?;
        return Ok(Outcome {
            exit: Exit::Refused,
            summary,
            report_dir: Some(report_dir),
        });
    }

    if !plan.actions.is_empty() || !plan.inputs.is_empty() {
        // Notices are queued in the apply transaction and sent after the commit, from the outbox.
        match crate::apply::execute(
            &mut store,
            &plan,
            run_id,
            &report_dir,
            &settings.mail.templates,
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
            }
            crate::apply::Executed::Stale { expected, found } => {
                // Only another writer between our snapshot and our apply can cause this; the lock
                // keeps other runs out, so an `apply` by hand is the one left.
                anyhow::bail!(
                    "the store changed while this run was planning (plan {expected}, store {found}); run again"
                )
            }
            crate::apply::Executed::Unpublished { staging, error, .. } => {
                anyhow::bail!(
                    "applied, but the letters and actions.jsonl were not published ({error}); they are in `{}`",
                    staging.display()
                )
            }
        }
    }
    let archive = settings.archive.join(format!("{as_of}-run{run_id}"));
    for path in accepted.iter().chain(&repeated) {
        move_into(&archive, path)?;
    }
    let pending = send_mail(settings, &mut store, &mut summary);
    let _ = write!(summary, " Reports: {}.", report_dir.display());
    store.finish_run(run_id, &summary)?;
    let exit = if !rejected.is_empty() {
        Exit::Rejected
    } else if pending {
        Exit::MailPending
    } else {
        Exit::Done
    };
    Ok(Outcome {
        exit,
        summary,
        report_dir: Some(report_dir),
    })
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
    std::fs::write(&report_path, report)
        .with_context(|| format!("writing `{}`", PathBuf::from(&report_path).display()))?;
    Ok(())
}

/// Moves `path` into `dir` (created if needed), never overwriting: a name already there gets a
/// numbered suffix. Returns the new path.
fn move_into(dir: &Path, path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
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
    Ok(target)
}
