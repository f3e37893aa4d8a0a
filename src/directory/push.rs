//! The push: the journal's pending rows written to the directory, each exactly once.
//!
//! In two phases over `[directory] connections` connections. First every pending row's entry
//! is read and the smallest change computed ([`super::change::diff`]); the lock guard is
//! checked on the whole set, so a push that would lock too many entries writes nothing. Then
//! the changes are written, and each row is marked done after its write (in batches). A push
//! killed between a write and its mark leaves the row pending: the next push reads the entry,
//! finds it as desired and marks it without writing. A change the server refuses (a schema
//! violation) is reported with its entry and the server's message, stays pending with a
//! backoff, and does not hold back the others. A lost connection stops the push, and so does
//! the run's deadline: a push still reading at the deadline writes nothing (the lock guard
//! must see every change), one writing starts no write after it. What is left stays pending.

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::Instant;

use super::change::{Change, Entry, Modification, diff, normalise_dn};
use super::client::{Conn, OpError};
use super::{DirectoryError, DirectorySettings};
use crate::domain::guard::{self, LocksTripped};
use crate::domain::policy::Policy;
use crate::store::Store;
use crate::store::directory::JournalRow;

/// Marks written per store transaction.
const MARK_BATCH: usize = 512;

/// What a push did.
#[derive(Debug, Default)]
pub(crate) struct Pushed {
    /// Entries added.
    pub added: usize,
    /// Entries modified.
    pub modified: usize,
    /// Rows whose entry was already as desired (marked without a write).
    pub unchanged: usize,
    /// Changes the server refused: (DN, the server's message).
    pub refused: Vec<(String, String)>,
    /// Rows still pending after the push.
    pub pending_left: usize,
    /// Pending rows this push left for their retry time.
    pub waiting: usize,
    /// The directory could not be reached, or the connection was lost: why.
    pub unreachable: Option<String>,
    /// The run's deadline passed before every change was written.
    pub deadline: bool,
    /// The lock guard tripped: nothing was written.
    pub tripped: Option<LocksTripped>,
    /// Accounts queued by this push because they never were (applied or imported without
    /// `[directory]`).
    pub seeded: usize,
}

impl Pushed {
    /// One sentence for summaries.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!(
            "Directory: added {}, modified {}, unchanged {}, refused {}, pending {}.",
            self.added,
            self.modified,
            self.unchanged,
            self.refused.len(),
            self.pending_left
        );
        if self.seeded > 0 {
            s.push_str(&format!(
                " {} account(s) never queued before (applied or imported without [directory]) were queued (未登録のアカウントを追加しました).",
                self.seeded
            ));
        }
        for (dn, why) in self.refused.iter().take(10) {
            s.push_str(&format!(" 拒否 refused: {dn}: {why}."));
        }
        if self.refused.len() > 10 {
            s.push_str(&format!(" and {} more refused.", self.refused.len() - 10));
        }
        if self.waiting > 0 {
            s.push_str(&format!(
                " {} waiting for their retry time (`regsync directory push --retry` pushes them now).",
                self.waiting
            ));
        }
        if let Some(why) = &self.unreachable {
            s.push_str(&format!(
                " {why}; ディレクトリの変更は次回に送ります / the directory changes stay pending for the next run."
            ));
        }
        if self.deadline {
            s.push_str(
                " 実行の期限を過ぎたため、残りの変更は次回に送ります / the run's deadline passed, so the remaining changes stay pending for the next run.",
            );
        }
        if let Some(t) = &self.tripped {
            s.push_str(&format!(
                " ディレクトリの大量ロックガードにより何も書き込んでいません / the directory lock guard tripped, nothing written: {} / {}. Review, then `regsync directory push --allow-locks {}`.",
                t.message_ja(),
                t.message_en(),
                t.count
            ));
        }
        s
    }

    /// Whether anything is left for a later push (exit 5 in `run`).
    pub(crate) fn incomplete(&self) -> bool {
        self.pending_left > 0
            || !self.refused.is_empty()
            || self.unreachable.is_some()
            || self.deadline
    }
}

/// One pending row and what its entry needs.
pub(crate) struct Planned {
    pub row: JournalRow,
    need: Need,
}

/// What an entry needs, held for every row of a push until the guard has seen them all: an
/// add keeps no entry (a rendered entry is the bulk of a push's memory) and is rendered again
/// from the row when it is written or printed.
enum Need {
    Nothing,
    Add,
    Modify(Change),
}

impl Planned {
    fn new(row: JournalRow, change: Option<Change>) -> Planned {
        let need = match change {
            None => Need::Nothing,
            Some(Change::Add(_)) => Need::Add,
            Some(m @ Change::Modify { .. }) => Need::Modify(m),
        };
        Planned { row, need }
    }

    /// The change the entry needs (`None`: as desired already).
    pub(crate) fn change(&self, s: &DirectorySettings) -> Option<Cow<'_, Change>> {
        match &self.need {
            Need::Nothing => None,
            Need::Add => Some(Cow::Owned(Change::Add(
                s.profile.render(&self.row.desired, &s.base),
            ))),
            Need::Modify(m) => Some(Cow::Borrowed(m)),
        }
    }
}

/// From this many rows, and a quarter of the accounts, on, a push reads the people subtree
/// once by paged search instead of each entry by itself: one round trip per page instead of
/// one per entry, worth it when most of the subtree is wanted.
const SCAN_FROM: usize = 5_000;

/// Whether `rows` pending rows out of `accounts` are read by one paged search of the subtree.
pub(crate) fn scan_pays(rows: usize, accounts: usize) -> bool {
    (rows >= SCAN_FROM && rows.saturating_mul(4) >= accounts)
        || crate::fault::at("directory-scan")
        || crate::fault::at("directory-scan-slow")
}

/// Reads the entries of `rows` (in batches over `conns`, in contiguous shares in parallel, or
/// by one paged search of the subtree for many rows) and computes each one's change. A
/// lost connection ends it with the error.
pub(crate) fn plan_changes(
    s: &DirectorySettings,
    conns: &mut [Conn],
    rows: Vec<JournalRow>,
    scan: bool,
    stop_at: Option<Instant>,
) -> Result<Vec<Planned>, Halt> {
    let managed = s.profile.managed();
    if scan && let Some(conn) = conns.first_mut() {
        return scan_changes(s, conn, &managed, rows, stop_at);
    }
    let share = rows.len().div_ceil(conns.len().max(1)).max(1);
    let mut rows = rows;
    let mut chunks: Vec<Vec<JournalRow>> = Vec::new();
    while !rows.is_empty() {
        let rest = rows.split_off(share.min(rows.len()));
        chunks.push(std::mem::replace(&mut rows, rest));
    }
    let results: Vec<Result<Vec<Planned>, Halt>> = std::thread::scope(|scope| {
        let handles: Vec<_> = conns
            .iter_mut()
            .zip(chunks)
            .map(|(conn, chunk)| {
                let managed = &managed;
                scope.spawn(move || read_share(s, conn, managed, chunk, stop_at))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Halt::Lost("a directory worker panicked".into())))
            })
            .collect()
    });
    let mut planned = Vec::new();
    for r in results {
        planned.extend(r?);
    }
    Ok(planned)
}

/// The changes of `rows` by one paged search of the subtree: each entry's change is computed
/// as the entry arrives (nothing but the changes is kept), and a row whose entry never came is
/// an add.
fn scan_changes(
    s: &DirectorySettings,
    conn: &mut Conn,
    managed: &[String],
    rows: Vec<JournalRow>,
    stop_at: Option<Instant>,
) -> Result<Vec<Planned>, Halt> {
    // Tests make the server slow to page through the subtree: 30 ms before each entry.
    let slow = crate::fault::at("directory-scan-slow");
    let mut late = false;
    let index: std::collections::HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| (normalise_dn(&s.profile.dn(&row.desired.ecs_id, &s.base)), i))
        .collect();
    let mut seen: Vec<Option<Option<Change>>> = vec![None; rows.len()];
    conn.scan(&s.base, managed, |dn, attrs| {
        if slow {
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        if past(stop_at) {
            late = true;
            return ControlFlow::Break(());
        }
        if let Some(&i) = index.get(&normalise_dn(&dn)) {
            let want = s.profile.render(&rows[i].desired, &s.base);
            seen[i] = Some(diff(&want, Some(&attrs)));
        }
        ControlFlow::Continue(())
    })
    .map_err(|e| Halt::Lost(e.to_string()))?;
    if late {
        return Err(Halt::Deadline);
    }
    drop(index);
    Ok(rows
        .into_iter()
        .zip(seen)
        .map(|(row, seen)| {
            let change =
                seen.unwrap_or_else(|| diff(&s.profile.render(&row.desired, &s.base), None));
            Planned::new(row, change)
        })
        .collect())
}

/// Entries read per search: under the size limit of a default slapd (500) and of Active
/// Directory (1,000).
const READ_BATCH: usize = 100;

/// Reads the entries of one connection's share of the rows, [`READ_BATCH`] at a time by one
/// search each ([`Conn::read_batch`]); entry by entry when the server refuses the batched
/// search, or under the test-only fault point `directory-read-each` (the simple path the
/// batched one is tested against).
fn read_share(
    s: &DirectorySettings,
    conn: &mut Conn,
    managed: &[String],
    rows: Vec<JournalRow>,
    stop_at: Option<Instant>,
) -> Result<Vec<Planned>, Halt> {
    let each = crate::fault::at("directory-read-each");
    // Tests make the server slow to search: each batch waits 3 s first.
    let slow = crate::fault::at("directory-read-slow");
    let mut out = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        if slow {
            std::thread::sleep(std::time::Duration::from_secs(3));
        }
        if past(stop_at) {
            return Err(Halt::Deadline);
        }
        let batch: Vec<(JournalRow, Entry)> = rows
            .by_ref()
            .take(READ_BATCH)
            .map(|row| {
                let want = s.profile.render(&row.desired, &s.base);
                (row, want)
            })
            .collect();
        let ids: Vec<&str> = batch
            .iter()
            .map(|(r, _)| r.desired.ecs_id.as_str())
            .collect();
        let live = if each {
            None
        } else {
            match conn.read_batch(&s.base, &s.profile.rdn, &ids, managed) {
                Ok(live) => Some(live),
                Err(OpError::Lost(m)) => return Err(Halt::Lost(m)),
                Err(OpError::Refused(r)) => {
                    tracing::warn!(error = %r, "a batched read was refused; reading entry by entry");
                    None
                }
            }
        };
        for (row, want) in batch {
            let change = match &live {
                Some(live) => diff(&want, live.get(&normalise_dn(&want.dn))),
                None => match conn.read(&want.dn, managed) {
                    Ok(entry) => diff(&want, entry.as_ref()),
                    Err(OpError::Lost(m)) => return Err(Halt::Lost(m)),
                    Err(OpError::Refused(r)) => {
                        return Err(Halt::Lost(format!("reading `{}`: {r}", want.dn)));
                    }
                },
            };
            out.push(Planned::new(row, change));
        }
    }
    Ok(out)
}

/// Why reading or writing stopped before the push was done.
pub(crate) enum Halt {
    /// The connection was lost (or a read refused): why.
    Lost(String),
    /// The run's deadline passed.
    Deadline,
}

impl std::fmt::Display for Halt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Halt::Lost(m) => f.write_str(m),
            Halt::Deadline => f.write_str("the run's deadline passed"),
        }
    }
}

/// Whether `stop_at` has come.
fn past(stop_at: Option<Instant>) -> bool {
    stop_at.is_some_and(|t| Instant::now() >= t)
}

/// Opens `n` connections (at least one).
pub(crate) fn connect(s: &DirectorySettings, n: usize) -> Result<Vec<Conn>, DirectoryError> {
    (0..n.max(1)).map(|_| Conn::open(s)).collect()
}

/// Whether `change` locks an existing entry: it sets a stopped state's attribute that was
/// absent or different, on an entry that exists.
fn locks(change: &Change, lock_attrs: &[(String, String)]) -> bool {
    let Change::Modify { mods, .. } = change else {
        return false;
    };
    mods.iter().any(|m| match m {
        Modification::Replace(name, values) => lock_attrs
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(name) && values.iter().any(|x| x == v)),
        Modification::Delete(_) => false,
    })
}

/// Pushes the journal's pending rows (with `due_only`, only those whose retry time came).
/// `allow_locks` lets up to that many locks through the guard for this push. No write starts
/// after `stop_at` (the run's deadline); the rows not written stay pending.
pub(crate) fn push(
    store: &mut Store,
    s: &DirectorySettings,
    policy: &Policy,
    due_only: bool,
    allow_locks: Option<usize>,
    stop_at: Option<Instant>,
) -> Result<Pushed, DirectoryError> {
    let seeded = store.directory_seed()?;
    let rows = store.directory_pending(due_only)?;
    let mut pushed = Pushed {
        waiting: store.directory_counts()?.pending.saturating_sub(rows.len()),
        seeded,
        ..Pushed::default()
    };
    if rows.is_empty() {
        pushed.pending_left = store.directory_counts()?.pending;
        return Ok(pushed);
    }
    let n = s.connections.min(rows.len().div_ceil(64)).max(1);
    let mut conns = match connect(s, n) {
        Ok(c) => c,
        Err(DirectoryError::Unreachable { url, message }) => {
            let ids: Vec<&str> = rows.iter().map(|r| r.desired.ecs_id.as_str()).collect();
            let why = format!(
                "ディレクトリに接続できません / cannot reach the directory `{url}`: {message}"
            );
            store.directory_failed(&ids, &why)?;
            pushed.unreachable = Some(why);
            pushed.pending_left = store.directory_counts()?.pending;
            return Ok(pushed);
        }
        Err(e) => return Err(e),
    };
    let scan = scan_pays(rows.len(), store.directory_account_count()?);
    let planned = match plan_changes(s, &mut conns, rows, scan, stop_at) {
        Ok(p) => p,
        Err(Halt::Deadline) => {
            pushed.deadline = true;
            pushed.pending_left = store.directory_counts()?.pending;
            return Ok(pushed);
        }
        Err(Halt::Lost(m)) => {
            pushed.unreachable = Some(format!("the connection to `{}` was lost: {m}", s.url));
            pushed.pending_left = store.directory_counts()?.pending;
            return Ok(pushed);
        }
    };
    let lock_attrs = s.profile.lock_attributes();
    let lock_count = planned
        .iter()
        .filter(|p| matches!(&p.need, Need::Modify(c) if locks(c, &lock_attrs)))
        .count();
    let unlocked = store.directory_unlocked_accounts()? + lock_count;
    if let Some(t) = guard::check_locks(lock_count, unlocked, policy, allow_locks) {
        pushed.tripped = Some(t);
        pushed.pending_left = store.directory_counts()?.pending;
        for c in conns {
            c.close();
        }
        return Ok(pushed);
    }
    write_changes(store, s, &mut conns, planned, stop_at, &mut pushed)?;
    for c in conns {
        c.close();
    }
    pushed.pending_left = store.directory_counts()?.pending;
    Ok(pushed)
}

/// What one write came to.
enum Written {
    Added,
    Modified,
    Unchanged,
    Refused(String),
}

/// Writes the planned changes over `conns` in parallel, none starting after `stop_at`, and
/// marks each row done after its write, in batches, on this thread.
fn write_changes(
    store: &mut Store,
    s: &DirectorySettings,
    conns: &mut [Conn],
    planned: Vec<Planned>,
    stop_at: Option<Instant>,
    pushed: &mut Pushed,
) -> Result<(), DirectoryError> {
    let total = planned.len();
    let share = total.div_ceil(conns.len().max(1)).max(1);
    let mut planned = planned;
    let mut chunks: Vec<Vec<Planned>> = Vec::new();
    while !planned.is_empty() {
        let rest = planned.split_off(share.min(planned.len()));
        chunks.push(std::mem::replace(&mut planned, rest));
    }
    // Tests kill the process here once half of the rows are written, before their marks.
    let fault = crate::fault::at("directory-push-mid");
    // Tests make the server slow: each write waits 100 ms first.
    let slow = crate::fault::at("directory-write-slow");
    let (tx, rx) = mpsc::sync_channel::<(JournalRow, String, Written)>(1024);
    std::thread::scope(|scope| -> Result<(), DirectoryError> {
        let mut lost = Vec::new();
        for (conn, chunk) in conns.iter_mut().zip(chunks) {
            let tx = tx.clone();
            lost.push(scope.spawn(move || -> Option<Halt> {
                for p in chunk {
                    if slow {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    if past(stop_at) {
                        return Some(Halt::Deadline);
                    }
                    let change = p.change(s);
                    let dn = change
                        .as_ref()
                        .map(|c| c.dn().to_string())
                        .unwrap_or_default();
                    let outcome = match change.as_deref() {
                        None => Written::Unchanged,
                        Some(change) => match conn.write(change) {
                            Ok(()) if matches!(change, Change::Add(_)) => Written::Added,
                            Ok(()) => Written::Modified,
                            Err(OpError::Refused(r)) => Written::Refused(r.to_string()),
                            Err(OpError::Lost(m)) => return Some(Halt::Lost(m)),
                        },
                    };
                    drop(change);
                    if tx.send((p.row, dn, outcome)).is_err() {
                        return None;
                    }
                }
                None
            }));
        }
        drop(tx);
        let mut marks: Vec<(String, String)> = Vec::new();
        let mut refused_ids: Vec<(String, String)> = Vec::new();
        let mut seen = 0;
        for (row, dn, outcome) in rx {
            seen += 1;
            match outcome {
                Written::Added => pushed.added += 1,
                Written::Modified => pushed.modified += 1,
                Written::Unchanged => pushed.unchanged += 1,
                Written::Refused(why) => {
                    pushed.refused.push((dn, why.clone()));
                    refused_ids.push((row.desired.ecs_id.clone(), why));
                    continue;
                }
            }
            if fault && seen * 2 >= total {
                std::process::abort();
            }
            marks.push((row.desired.ecs_id, row.desired_json));
            if marks.len() >= MARK_BATCH {
                store.directory_done(&marks)?;
                marks.clear();
            }
        }
        store.directory_done(&marks)?;
        for (ecs_id, why) in &refused_ids {
            store.directory_failed(&[ecs_id.as_str()], why)?;
        }
        for h in lost {
            match h.join() {
                Ok(Some(Halt::Lost(m))) => pushed.unreachable = Some(m),
                Ok(Some(Halt::Deadline)) => pushed.deadline = true,
                Ok(None) | Err(_) => {}
            }
        }
        Ok(())
    })
}
