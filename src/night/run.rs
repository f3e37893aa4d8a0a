//! The nightly job: lock, inbox, plan, guard, apply, mail, archive or reject inputs, reports.
//!
//! It is written to be run by cron every night, twice by mistake, or after a crash, and to do
//! the right thing each time: a second concurrent run leaves at once; a file already processed
//! (same SHA-256) is archived without being read again; a bad file is set aside whole with its
//! error report; nothing is applied past the mass-change guard; notices go out after the
//! commit, from the outbox, so a crash loses none; mail delivery stops at the run's deadline.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::config::Settings;
use crate::domain::guard::{self, Tripped};
use crate::domain::plan::{ActionKind, Plan};
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

/// What a night is asked to do.
#[derive(Debug, Clone)]
pub struct Night {
    /// The night, as a Japan date.
    pub as_of: NaiveDate,
    /// Guard limits raised for this run only (`run --allow KIND=N`).
    pub allow: Vec<(ActionKind, usize)>,
}

/// One nightly run.
pub fn run(settings: &Settings, night: &Night) -> anyhow::Result<Outcome> {
    let as_of = night.as_of;
    // After the deadline the run stops delivering and ends; notices left wait for the next one.
    let stop_mail_at = std::time::Instant::now() + settings.run_deadline;
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

    let tripped = guard::check(&plan, active, &settings.policy, &night.allow);
    if !tripped.is_empty() {
        refuse(&tripped, &report_dir, &mut summary)?;
        // Earlier notices still waiting are sent all the same.
        send_mail(settings, &mut store, stop_mail_at, &mut summary);
        store.finish_run(run_id, &summary)?;
        return Ok(Outcome {
            verdict: Verdict::GuardTripped,
            summary,
            report_dir: Some(report_dir),
        });
    }
    for (kind, n) in &night.allow {
        let _ = write!(
            summary,
            " ガードの上限をこの run に限り引き上げ / guard limit raised for this run: {} up to {n} (--allow).",
            kind.as_str()
        );
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
    let pending = send_mail(settings, &mut store, stop_mail_at, &mut summary);
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
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating `{}`", parent.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
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
/// summary, with each limit, its numbers and the ways on. Nothing is applied and the inputs stay
/// in the inbox.
fn refuse(tripped: &[Tripped], report_dir: &Path, summary: &mut String) -> anyhow::Result<()> {
    let report = report_dir.join("report.html");
    let plan = report_dir.join("plan.json");
    let allow: Vec<String> = tripped.iter().map(Tripped::allow_flag).collect();
    let mut text = String::new();
    for t in tripped {
        let _ = writeln!(text, "{} / {}", t.message_ja(), t.message_en());
    }
    let _ = writeln!(
        text,
        "\n進め方 / how to proceed:\n\
         1. {} を確認する / review the report.\n\
         2. 正しければ `regsync apply {}` で適用する / if it is right, apply that plan, or\n\
         3. この run に限り上限を上げて再実行する / run again with the limit raised for one run: \
         `regsync run {}` (recorded in the run's summary).",
        report.display(),
        plan.display(),
        allow.join(" ")
    );
    let path = report_dir.join("guard.txt");
    std::fs::write(&path, &text).with_context(|| format!("writing `{}`", path.display()))?;
    let _ = write!(
        summary,
        " 大量変更ガードにより何も適用していません / the mass-change guard tripped, nothing applied: {}. \
         Review {}, then apply it with `regsync apply {}`, or run again with `regsync run {}`.",
        tripped
            .iter()
            .map(|t| t.message_en())
            .collect::<Vec<_>>()
            .join("; "),
        report.display(),
        plan.display(),
        allow.join(" ")
    );
    Ok(())
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

/// Delivers what the outbox holds until `stop_at`; returns whether notices are still waiting or
/// one was refused for good tonight. A mail server that is down, slow or refusing the login
/// does not fail the run: the notices stay pending for the next one (exit 5).
fn send_mail(
    settings: &Settings,
    store: &mut Store,
    stop_at: std::time::Instant,
    summary: &mut String,
) -> bool {
    // Once a night, every notice that failed for now is tried again, whatever its backoff.
    match crate::mail::deliver(store, &settings.mail, true, Some(stop_at)) {
        Ok(r) => {
            let _ = write!(
                summary,
                " Mail: sent {}, failed {}, unknown {}, pending {}.",
                r.sent,
                r.failed.len(),
                r.unknown,
                r.pending_left
            );
            if !r.failed.is_empty() {
                let listed: Vec<String> = r
                    .failed
                    .iter()
                    .take(10)
                    .map(|f| format!("{} {}: {}", f.ecs_id, f.notice, f.reason))
                    .collect();
                let more = r.failed.len().saturating_sub(listed.len());
                let _ = write!(
                    summary,
                    " 恒久的な失敗 {} failed permanently: {}{}.",
                    r.failed.len(),
                    listed.join("; "),
                    if more > 0 {
                        format!("; and {more} more")
                    } else {
                        String::new()
                    }
                );
            }
            if let Some(stopped) = &r.stopped {
                let _ = write!(summary, " {}.", stopped.describe());
            }
            r.pending_left > 0 || !r.failed.is_empty()
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
