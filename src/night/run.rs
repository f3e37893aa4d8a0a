//! The nightly job: lock, inbox, plan, guard, apply, mail, archive or reject inputs, reports.
//!
//! It is written to be run by cron every night, twice by mistake, or after a crash, and to do
//! the right thing each time: a second concurrent run leaves at once; a file already processed
//! (same SHA-256) is archived without being read again; a bad file is set aside whole with its
//! error report; nothing is applied past the mass-change guard; notices go out after the
//! commit, from the outbox, so a crash loses none; the directory push and mail delivery stop at the run's deadline.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::config::Settings;
use crate::domain::guard::{self, Tripped};
use crate::domain::plan::{ActionKind, Plan};
use crate::ingest::Sink;
use crate::ingest::batch::{Batch, display_name, read_one, shown};
use crate::night::inbox::{self, Journal, Skipped, Taken};
use crate::store::Store;

/// How a night ended; `cli` maps each to its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Everything read was applied and every notice sent.
    Done,
    /// Done, but an input file was rejected and set aside, or rows of one were held out.
    Rejected,
    /// Done, but some notices are still waiting in the outbox.
    MailPending,
    /// Another run holds the lock: nothing was done.
    Locked,
    /// The mass-change guard tripped: nothing was applied and the inputs stay in the inbox.
    GuardTripped,
    /// Done and mail sent, but directory changes are still pending (the directory was down,
    /// or refused some).
    DirectoryPending,
    /// Done, but the directory's lock guard tripped: nothing was written to the directory.
    DirectoryGuard,
}

/// What a run did: its verdict and the one-paragraph summary cron mails.
#[derive(Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    pub summary: String,
    pub report_dir: Option<PathBuf>,
    /// The numbers of the summary, for the metrics file.
    pub stats: crate::metrics::RunStats,
}

/// The inbox after it was read: the batch to plan, and what happens to each file afterwards.
struct Inbox {
    batch: Batch,
    /// Accepted files: archived once the plan is applied.
    accepted: Vec<Taken>,
    /// Older full registrar snapshots of the night: archived, never read into the plan.
    superseded: Vec<Taken>,
    /// Which snapshot won and why, when several were in the inbox.
    newest: String,
    /// Files processed before (same SHA-256): archived unread.
    repeated: Vec<Taken>,
    /// Files and entries set aside in `rejected/`.
    rejected: usize,
    /// Accepted files with rows held out for an error, by SHA-256: their error report, and
    /// how many rows it holds out. A copy goes to `rejected/` with the report once applied.
    held: Vec<(String, String, usize)>,
    /// Entries left in the inbox unread.
    ignored: usize,
    /// Sentences for the summary: entries not read, and why.
    notes: Vec<String>,
}

/// What a night is asked to do.
#[derive(Debug, Clone)]
pub struct Night {
    /// The night, as a Japan date.
    pub as_of: NaiveDate,
    /// Guard limits raised for this run only (`run --allow KIND=N`).
    pub allow: Vec<(ActionKind, usize)>,
    /// The language of the night's report.html.
    pub lang: crate::report::Lang,
}

/// One nightly run.
pub fn run(settings: &Settings, night: &Night) -> anyhow::Result<Outcome> {
    let as_of = night.as_of;
    // After the deadline the run writes nothing more to the directory nor delivers, and ends;
    // what is left waits for the next one.
    let deadline = std::time::Instant::now() + settings.run_deadline;
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
    let mut plan = super::plan::plan_batch(settings, Some(&store), keys, &mut inbox.batch, as_of)?;
    let tripped = guard::check(&plan, active, &settings.policy, &night.allow);
    let allow = guard::allow_flags(&plan, active, &settings.policy);
    warn(&mut plan, &inbox, &tripped, &allow, &report_dir);
    let view = report_view(&tripped, &allow, &report_dir, night.lang);
    crate::report::write_all(&plan, &report_dir, &view)?;
    let ldap = settings.directory.as_ref();
    crate::directory::write_plan_report(ldap, Some(&store), &plan, &report_dir)?;
    let mut summary = format!(
        "regsync run {run_id} for {as_of}: {} file(s) read, {} rejected, {} already processed. {}.",
        inbox.batch.files.len(),
        inbox.rejected,
        inbox.repeated.len(),
        crate::report::summary_line(&plan)
    );
    if let Some(recovered) = recovered {
        let _ = write!(summary, " {recovered}");
    }
    for note in &inbox.notes {
        let _ = write!(summary, " {note}.");
    }
    let mut stats = crate::metrics::RunStats {
        actions: plan.counts().into_iter().collect(),
        files_accepted: inbox.accepted.len(),
        files_rejected: inbox.rejected,
        files_ignored: inbox.ignored + inbox.superseded.len(),
        files_already_processed: inbox.repeated.len(),
        guard_tripped: !tripped.is_empty(),
        ..Default::default()
    };

    if !tripped.is_empty() {
        refuse(&tripped, &allow, &report_dir, &mut summary)?;
        // The inputs stay in the inbox; their copies go.
        inbox::discard_staging(&settings.archive)?;
        // Earlier notices still waiting are sent all the same.
        send_mail(settings, &mut store, deadline, &mut summary, &mut stats);
        review_count(&store, &mut summary, &mut stats)?;
        if settings.directory.is_some() {
            stats.directory = Some(nothing_pushed(&store)?);
        }
        store.finish_run(run_id, &summary)?;
        return Ok(Outcome {
            verdict: Verdict::GuardTripped,
            summary,
            report_dir: Some(report_dir),
            stats,
        });
    }
    note_allowances(&night.allow, &mut summary);
    apply(
        settings,
        &mut store,
        &plan,
        run_id,
        &report_dir,
        &mut summary,
    )?;
    // The report's first line now says the plan is in the store, and since when.
    let applied = crate::report::View {
        status: crate::report::Status::Applied {
            at: crate::report::view::now_in_japan(),
        },
        lang: night.lang,
    };
    crate::report::rewrite_html(&plan, &report_dir, &applied)?;
    let archive = settings.archive.join(format!("{as_of}-run{run_id}"));
    file_inputs(settings, &inbox, &archive, &mut summary)?;
    let directory = push_directory(settings, &mut store, deadline, &mut summary, &mut stats)?;
    let pending = send_mail(settings, &mut store, deadline, &mut summary, &mut stats);
    review_count(&store, &mut summary, &mut stats)?;
    let _ = write!(summary, " Reports: {}.", report_dir.display());
    store.finish_run(run_id, &summary)?;
    let verdict = if directory == Some(Verdict::DirectoryGuard) {
        Verdict::DirectoryGuard
    } else if inbox.rejected > 0 || !inbox.held.is_empty() {
        Verdict::Rejected
    } else if pending {
        Verdict::MailPending
    } else if let Some(v) = directory {
        v
    } else {
        Verdict::Done
    };
    Ok(Outcome {
        verdict,
        summary,
        report_dir: Some(report_dir),
        stats,
    })
}

/// Says in the summary which guard limits `run --allow` raised for this run.
fn note_allowances(allow: &[(ActionKind, usize)], summary: &mut String) {
    for (kind, n) in allow {
        let _ = write!(
            summary,
            " ガードの上限をこの run に限り引き上げ / guard limit raised for this run: {} up to {n} (--allow).",
            kind.as_str()
        );
    }
}

/// The plan's warnings about the night's inputs and guard: superseded snapshots, and the guard's
/// verdict (it is what the administrator reads next).
fn warn(plan: &mut Plan, inbox: &Inbox, tripped: &[Tripped], allow: &str, report_dir: &Path) {
    for t in &inbox.superseded {
        plan.warnings.push(format!(
            "{}: 同じ夜のより新しい全件ファイルがあるため使いません / superseded by a newer full registrar snapshot of the night ({}); archived, not planned",
            t.name(),
            inbox.newest
        ));
    }
    for t in tripped {
        plan.warnings.push(format!(
            "大量変更ガード：何も適用していません / mass-change guard, nothing applied: {} / {}. \
             Review this report, then `regsync apply {}`, or `regsync run {}` for this run only",
            t.message_ja(),
            t.message_en(),
            report_dir.join("plan.json").display(),
            allow
        ));
    }
}

/// After the apply: a copy of each file with held rows goes to `rejected/` with its error
/// report, for the registrar; every accepted, superseded and already processed file is archived.
fn file_inputs(
    settings: &Settings,
    inbox: &Inbox,
    archive: &Path,
    summary: &mut String,
) -> anyhow::Result<()> {
    for taken in &inbox.accepted {
        if let Some((_, report, rows)) = inbox.held.iter().find(|(sha, ..)| *sha == taken.sha256) {
            let copy = copy_aside(&settings.rejected, taken, report)?;
            let _ = write!(
                summary,
                " Held: {rows} row(s) of {} (誤りのある行を保留しました。その行の人には今夜何もしません / rows with errors held out, nobody they name was acted on; report: {}.errors.txt).",
                taken.name(),
                copy.display()
            );
        }
    }
    for taken in inbox
        .accepted
        .iter()
        .chain(&inbox.superseded)
        .chain(&inbox.repeated)
    {
        archive_taken(archive, taken, summary)?;
    }
    inbox::discard_staging(&settings.archive)?;
    Ok(())
}

/// The review items open after the run, in the summary and the numbers.
fn review_count(
    store: &Store,
    summary: &mut String,
    stats: &mut crate::metrics::RunStats,
) -> anyhow::Result<()> {
    stats.review_open = store.open_reviews()?.len();
    let _ = write!(
        summary,
        " Review: {} open (`regsync review list`).",
        stats.review_open
    );
    Ok(())
}

/// Opens (creating it and its folder if needed) the file the run lock is taken on.
pub(crate) fn open_lock(lock_path: &Path) -> anyhow::Result<File> {
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
        stats: crate::metrics::RunStats::default(),
    }
}

/// Reads the inbox: entries that are not settled regular files are left or set aside unread;
/// each file is taken into a private copy ([`inbox::take`]); a file whose last attempt did not
/// finish is set aside; files already processed are set to be archived unread; the rest are
/// parsed one at a time, each attempt journaled, with a sifter over `keys`, and rejected files
/// are set aside with their error report.
fn read_inbox(
    settings: &Settings,
    store: &Store,
    keys: &crate::triage::Keys,
) -> anyhow::Result<Inbox> {
    let now = std::time::SystemTime::now();
    let scan = inbox::scan(&settings.inbox, settings.settle, now)?;
    let mut notes = Vec::new();
    let mut rejected = 0;
    notes.extend(inbox::ignored_note(&scan.skipped));
    // System and owner files are named as ignored and never touched; the rest is set aside or
    // left for the next run. Both stay unread.
    let mut ignored = 0;
    for skipped in &scan.skipped {
        let set_aside = skipped.why != inbox::Skip::Ignored && skip(settings, skipped, &mut notes)?;
        rejected += usize::from(set_aside);
        ignored += usize::from(!set_aside);
    }
    let staging = inbox::staging(&settings.archive)?;
    let journal = Journal::open(&settings.store_path)?;
    let unfinished = journal.unfinished()?;
    let (mut to_read, mut repeated) = (Vec::new(), Vec::new());
    for path in &scan.files {
        let taken = match inbox::take(path, &staging, settings.settle, now)? {
            Ok(t) => t,
            Err(why) => {
                let skipped = Skipped {
                    path: path.clone(),
                    why,
                };
                let set_aside = skip(settings, &skipped, &mut notes)?;
                rejected += usize::from(set_aside);
                ignored += usize::from(!set_aside);
                continue;
            }
        };
        if unfinished.iter().any(|(sha, _)| *sha == taken.sha256) {
            set_aside_taken(&settings.rejected, &taken, &crashed(&taken), &mut notes)?;
            journal.end(&taken.sha256)?;
            notes.push(format!(
                "Set aside: {} (前回の読み込みが完了しませんでした / a previous attempt to read it did not finish)",
                taken.name()
            ));
            rejected += 1;
        } else if store.processed(&taken.sha256)?.is_some() {
            repeated.push(taken);
        } else {
            to_read.push(taken);
        }
    }
    // An attempt on a file no longer in the inbox is forgotten.
    for (sha, name) in &unfinished {
        if std::fs::symlink_metadata(settings.inbox.join(name)).is_err() {
            journal.end(sha)?;
        }
    }
    let sifter = crate::triage::Sifter::new(keys);
    let merge_partial = !settings.profiles.registrar_is_full() && to_read.len() > 1;
    let mut files = Vec::with_capacity(to_read.len());
    for (i, taken) in to_read.iter().enumerate() {
        // One file at a time, so an attempt left in the journal names the file that killed it.
        journal.begin(&taken.sha256, &taken.name())?;
        if crate::fault::at(&format!("abort-reading:{}", taken.name())) {
            std::process::abort();
        }
        // Partial exports are merged row by row below, which needs every row: none is sifted.
        let sink = if merge_partial {
            Sink::Keep
        } else {
            Sink::Sift(&sifter)
        };
        files.push(read_one(&taken.copy, i as u32, &settings.profiles, sink));
        journal.end(&taken.sha256)?;
    }
    let mut batch = Batch { files };
    let (mut accepted, mut held) = (Vec::new(), Vec::new());
    for (f, taken) in batch.files.iter_mut().zip(to_read) {
        if f.accepted {
            if f.ingested.holds_rows() {
                let copy = std::mem::replace(&mut f.ingested.path, taken.path.clone());
                let report = crate::report::render_input_refs(&[&f.ingested]);
                f.ingested.path = copy;
                held.push((taken.sha256.clone(), report, f.ingested.rows_with_errors()));
            }
            accepted.push(taken);
            continue;
        }
        // The error report names the file as it was dropped.
        f.ingested.path = taken.path.clone();
        let report = crate::report::render_input_refs(&[&f.ingested]);
        notes.push(inbox::rejected_note(&f.ingested));
        set_aside_taken(&settings.rejected, &taken, &report, &mut notes)?;
        rejected += 1;
    }
    let (superseded, newest) =
        newest_snapshot_wins(settings, &mut batch, &mut accepted, &mut notes);
    if merge_partial {
        newest_rows_win(&mut batch, &accepted, &mut notes);
    }
    Ok(Inbox {
        batch,
        accepted,
        superseded,
        newest,
        repeated,
        rejected,
        held,
        ignored,
        notes,
    })
}

/// When the night's accepted files hold several full registrar snapshots, the newest is the
/// night's snapshot: by the export date in their title rows when the profile says where it is
/// (`exported`) and every one of them has it, else by the inbox file's modification time. The
/// older ones are taken out of the batch, never merged (an older snapshot would undo a newer
/// one, and the two would disagree about everyone who changed in between), and returned to be
/// archived, with the sentence saying which file won and why.
fn newest_snapshot_wins(
    settings: &Settings,
    batch: &mut Batch,
    accepted: &mut Vec<Taken>,
    notes: &mut Vec<String>,
) -> (Vec<Taken>, String) {
    let full = settings.profiles.registrar_is_full();
    let order = RegistrarOrder::of(batch, accepted);
    let snapshots = &order.newest_first;
    if !full || snapshots.len() < 2 {
        return (Vec::new(), String::new());
    }
    let by_date = order.by_date;
    let (_, newest, date) = snapshots[0];
    let tied = snapshots.iter().filter(|(_, _, d)| *d == date).count() > 1;
    let why = match date.filter(|_| by_date) {
        Some(date) if tied => format!(
            "{} is the newest by modification time among the snapshots exported on {date} (title row) / 出力日が同じため更新日時が最新",
            accepted[newest].name()
        ),
        Some(date) => format!(
            "{} is the newest by the export date in its title row ({date}) / 表題行の出力日が最新",
            accepted[newest].name()
        ),
        None => format!(
            "{} is the newest by modification time{} / 更新日時が最新",
            accepted[newest].name(),
            if snapshots.iter().any(|(_, _, d)| d.is_some()) {
                " (not every snapshot has an export date in its title row)"
            } else {
                ""
            }
        ),
    };
    let older: Vec<usize> = snapshots[1..].iter().map(|&(_, k, _)| k).collect();
    notes.push(format!(
        "Full registrar snapshots: {why}; superseded, archived unread into the plan: {} (古い全件ファイルは使いません)",
        older
            .iter()
            .map(|&k| accepted[k].name())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut superseded = Vec::new();
    for (k, t) in std::mem::take(accepted).into_iter().enumerate() {
        if older.contains(&k) {
            superseded.push(t);
        } else {
            accepted.push(t);
        }
    }
    batch
        .files
        .retain(|f| !(f.accepted && superseded.iter().any(|t| t.copy == f.ingested.path)));
    (superseded, why)
}

/// The night's accepted registrar files, newest first: by the export date in their title
/// rows when every one has it, then by modification time, then by name.
struct RegistrarOrder {
    /// (index in `batch.files`, index in the accepted files, export date).
    newest_first: Vec<(usize, usize, Option<NaiveDate>)>,
    /// Whether every file has an export date, so the dates decided.
    by_date: bool,
}

impl RegistrarOrder {
    fn of(batch: &Batch, accepted: &[Taken]) -> RegistrarOrder {
        use crate::domain::model::Kind;
        // `accepted` and the accepted files of `batch` are in the same order.
        let mut newest_first: Vec<(usize, usize, Option<NaiveDate>)> = batch
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.accepted)
            .enumerate()
            .filter(|(_, (_, f))| f.ingested.kind == Some(Kind::Registrar))
            .map(|(k, (i, f))| (i, k, f.ingested.exported_on))
            .collect();
        let by_date = newest_first.iter().all(|(_, _, d)| d.is_some());
        newest_first.sort_by_cached_key(|&(_, k, d)| {
            std::cmp::Reverse((
                d.filter(|_| by_date),
                accepted[k].modified(),
                accepted[k].name(),
            ))
        });
        RegistrarOrder {
            newest_first,
            by_date,
        }
    }
}

/// Partial registrar exports (profile `snapshot = "changes"`) of one night merge, the newest
/// row per person winning: a row of an older export is dropped when a newer export (in
/// [`RegistrarOrder`]) has a row with the same student number or 個人番号. Rows of one file
/// are all kept (two that disagree are a review item).
fn newest_rows_win(batch: &mut Batch, accepted: &[Taken], notes: &mut Vec<String>) {
    use crate::domain::model::Records;
    let files = RegistrarOrder::of(batch, accepted).newest_first;
    if files.len() < 2 {
        return;
    }
    let mut students = std::collections::HashSet::new();
    let mut persons = std::collections::HashSet::new();
    let mut dropped = 0;
    for (i, _, _) in files {
        let Some(Records::Registrar(rows)) = &mut batch.files[i].ingested.records else {
            continue;
        };
        let before = rows.len();
        rows.retain(|r| {
            !students.contains(&r.student_no)
                && r.person_id.as_ref().is_none_or(|p| !persons.contains(p))
        });
        dropped += before - rows.len();
        for r in rows.iter() {
            students.insert(r.student_no.clone());
            persons.extend(r.person_id.clone());
        }
    }
    if dropped > 0 {
        notes.push(format!(
            "Partial registrar exports merged: {dropped} row(s) of older exports superseded by a newer export's row for the same person (古い差分ファイルの行は、同じ人の新しい行に置き換えました)"
        ));
    }
}

/// An inbox entry that is not read: set aside unopened (returns true) or left for the next run.
fn skip(settings: &Settings, skipped: &Skipped, notes: &mut Vec<String>) -> anyhow::Result<bool> {
    if !skipped.why.set_aside() {
        notes.push(format!("{}: {}", skipped.why.heading(), skipped.describe()));
        return Ok(false);
    }
    let report = format!(
        "{}: エラー error: {} / {}\n",
        shown(&skipped.path),
        skipped.why.message_ja(),
        skipped.why.message_en()
    );
    // Renamed, never copied: a copy would read through the link or block on the FIFO.
    match rename_into(&settings.rejected, &skipped.path) {
        Ok(moved) => {
            write_report(&moved, &report)?;
            notes.push(format!("Set aside unread: {}", skipped.describe()));
        }
        Err(e) => notes.push(format!(
            "Not read and could not be set aside ({e:#}): {}",
            skipped.describe()
        )),
    }
    Ok(true)
}

/// The error report of a file whose last attempt did not finish.
fn crashed(taken: &Taken) -> String {
    format!(
        "{}: エラー error: 前回このファイルを読み込んでいる途中で処理が異常終了しました。読み込まずに取り除きます。内容を確認し、正しければ入れ直してください / \
         a previous run died while reading this file; it is set aside unread: check it, and drop it again if it is right\n",
        shown(&taken.path)
    )
}
/// The outcome line of the night's report as it is first written: stopped by the guard, with
/// the limits and the commands that go on, or about to be applied.
fn report_view(
    tripped: &[Tripped],
    allow: &str,
    report_dir: &Path,
    lang: crate::report::Lang,
) -> crate::report::View {
    use crate::report::{Limit, Status, View};
    let status = if tripped.is_empty() {
        Status::Applying
    } else {
        Status::Guarded {
            limits: tripped
                .iter()
                .map(|t| Limit {
                    ja: t.message_ja(),
                    en: t.message_en(),
                })
                .collect(),
            apply: format!("regsync apply {}", report_dir.join("plan.json").display()),
            allow: format!("regsync run {allow}"),
        }
    };
    View { status, lang }
}

/// The mass-change guard tripped: writes `guard.txt` beside the reports and says so in the
/// summary, with each limit, its numbers and the ways on. Nothing is applied and the inputs stay
/// in the inbox.
fn refuse(
    tripped: &[Tripped],
    allow: &str,
    report_dir: &Path,
    summary: &mut String,
) -> anyhow::Result<()> {
    let report = report_dir.join("report.html");
    let plan = report_dir.join("plan.json");
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
        allow
    );
    let path = report_dir.join("guard.txt");
    crate::private::write(&path, &text).with_context(|| format!("writing `{}`", path.display()))?;
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
        allow
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
        settings.directory.is_some(),
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

/// After the apply, before mail: pushes the directory journal's pending changes when
/// `[directory]` is configured (every pending row, whatever its retry time: once a night).
/// The directory down or refusing does not fail the run: the changes stay pending
/// ([`Verdict::DirectoryPending`]); the lock guard writes nothing ([`Verdict::DirectoryGuard`]).
fn push_directory(
    settings: &Settings,
    store: &mut Store,
    deadline: std::time::Instant,
    summary: &mut String,
    stats: &mut crate::metrics::RunStats,
) -> anyhow::Result<Option<Verdict>> {
    let Some(s) = &settings.directory else {
        return Ok(None);
    };
    match crate::directory::push::push(store, s, &settings.policy, false, None, Some(deadline)) {
        Ok(pushed) => {
            let _ = write!(summary, " {}", pushed.describe());
            stats.directory = Some(crate::metrics::DirectoryStats {
                added: pushed.added,
                modified: pushed.modified,
                unchanged: pushed.unchanged,
                refused: pushed.refused.len(),
                pending: pushed.pending_left,
            });
            Ok(if pushed.tripped.is_some() {
                Some(Verdict::DirectoryGuard)
            } else if pushed.incomplete() {
                Some(Verdict::DirectoryPending)
            } else {
                None
            })
        }
        Err(e @ crate::directory::DirectoryError::Config(_)) => {
            let _ = write!(
                summary,
                " Directory not pushed ({e}); the changes stay pending for the next run."
            );
            stats.directory = Some(nothing_pushed(store)?);
            Ok(Some(Verdict::DirectoryPending))
        }
        Err(e) => Err(e.into()),
    }
}

/// The directory's numbers of a run that pushed nothing: what waits.
fn nothing_pushed(store: &Store) -> anyhow::Result<crate::metrics::DirectoryStats> {
    Ok(crate::metrics::DirectoryStats {
        pending: store.directory_counts()?.pending,
        ..Default::default()
    })
}

/// Delivers what the outbox holds until `stop_at`; returns whether notices are still waiting or
/// one was refused for good tonight. A mail server that is down, slow or refusing the login
/// does not fail the run: the notices stay pending for the next one (exit 5).
fn send_mail(
    settings: &Settings,
    store: &mut Store,
    stop_at: std::time::Instant,
    summary: &mut String,
    stats: &mut crate::metrics::RunStats,
) -> bool {
    // Once a night, every notice that failed for now is tried again, whatever its backoff.
    match crate::mail::deliver(store, &settings.mail, true, Some(stop_at)) {
        Ok(r) => {
            stats.mail_sent = r.sent;
            stats.mail_failed = r.failed.len();
            stats.mail_unknown = r.unknown;
            stats.mail_pending = r.pending_left;
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

pub(crate) fn lock_path(store: &Path) -> PathBuf {
    let mut name = store
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    store.with_file_name(name)
}

/// Moves the copy of a rejected file into `dir` with its error report beside it
/// (`NAME.errors.txt`), then removes the inbox file if it has not changed since it was copied.
fn set_aside_taken(
    dir: &Path,
    taken: &Taken,
    report: &str,
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let moved = move_copy(dir, &taken.copy)?;
    write_report(&moved, report)?;
    inbox::sync_dir(dir)?;
    if !taken.remove_original()? {
        notes.push(changed(taken));
    }
    Ok(())
}

/// Copies an accepted file with rows held out into `dir` with its error report beside it
/// (`NAME.errors.txt`), for the registrar: the file itself is archived as applied.
fn copy_aside(dir: &Path, taken: &Taken, report: &str) -> anyhow::Result<PathBuf> {
    let target = free_name(dir, &taken.copy)?;
    std::fs::copy(&taken.copy, &target)
        .and_then(|_| File::open(&target)?.sync_all())
        .with_context(|| {
            format!(
                "copying `{}` to `{}`",
                taken.copy.display(),
                target.display()
            )
        })?;
    crate::private::set_mode(&target)?;
    write_report(&target, report)?;
    inbox::sync_dir(dir)?;
    Ok(target)
}

/// Moves the copy of an applied or already processed file into the night's archive, durably,
/// then removes the inbox file if it has not changed since it was copied: the archive holds
/// the bytes that were hashed, and a file changed since is read again by the next run.
fn archive_taken(archive: &Path, taken: &Taken, summary: &mut String) -> anyhow::Result<()> {
    move_copy(archive, &taken.copy)?;
    inbox::sync_dir(archive)?;
    if !taken.remove_original()? {
        let _ = write!(summary, " {}.", changed(taken));
    }
    Ok(())
}

fn changed(taken: &Taken) -> String {
    format!(
        "Left in the inbox: {} (読み込んだ後に変更されました。次回の実行で読みます / changed after it was read; left for the next run)",
        taken.name()
    )
}

fn write_report(moved: &Path, report: &str) -> anyhow::Result<()> {
    let mut report_path = moved.as_os_str().to_owned();
    report_path.push(".errors.txt");
    crate::private::write(Path::new(&report_path), report)
        .with_context(|| format!("writing `{}`", PathBuf::from(&report_path).display()))
}

/// Moves the private copy `copy` into `dir` as [`rename_into`] does, or, when `dir` is on
/// another file system, copies it there (synced) and removes it.
fn move_copy(dir: &Path, copy: &Path) -> anyhow::Result<PathBuf> {
    let target = free_name(dir, copy)?;
    if std::fs::rename(copy, &target).is_err() {
        std::fs::copy(copy, &target)
            .and_then(|_| File::open(&target)?.sync_all())
            .and_then(|()| std::fs::remove_file(copy))
            .with_context(|| format!("moving `{}` to `{}`", copy.display(), target.display()))?;
    }
    Ok(target)
}

/// A name in `dir` (created if needed) for `path`'s file name that no entry holds: a name
/// already there gets a numbered prefix (`2-NAME`); a long one is shortened ([`fitting`]).
fn free_name(dir: &Path, path: &Path) -> anyhow::Result<PathBuf> {
    crate::private::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let name = fitting(&display_name(path));
    let mut target = dir.join(&name);
    let mut n = 2;
    // `symlink_metadata`: a dangling link is a name taken too.
    while std::fs::symlink_metadata(&target).is_ok() {
        target = dir.join(format!("{n}-{name}"));
        n += 1;
    }
    Ok(target)
}

/// The longest name [`free_name`] gives: a numbered prefix and the `.errors.txt` written beside
/// it still fit the 255 bytes a file name may have.
const MAX_NAME: usize = 230;

/// `name`, or, when it is longer than [`MAX_NAME`] bytes, the start of its stem, `~`, eight hex
/// digits of the whole name's SHA-256 (two long names with one start stay apart) and its
/// extension: a file named too long to set aside with its report never stops a night.
fn fitting(name: &str) -> String {
    if name.len() <= MAX_NAME {
        return name.to_string();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    let tag = &crate::digest::sha256_hex(name.as_bytes())[..8];
    let mut end = MAX_NAME - ext.len() - tag.len() - 1;
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}~{tag}{ext}", &stem[..end])
}

/// Renames `path` into `dir` under a free name and returns the new path. Never copies, so a
/// link or a FIFO is moved as the entry it is.
fn rename_into(dir: &Path, path: &Path) -> anyhow::Result<PathBuf> {
    let target = free_name(dir, path)?;
    std::fs::rename(path, &target)
        .with_context(|| format!("moving `{}` to `{}`", path.display(), target.display()))?;
    crate::private::set_mode(&target)?;
    Ok(target)
}
