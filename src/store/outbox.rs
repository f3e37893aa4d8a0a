//! The outbox: notices written by `apply` inside its transaction and sent after commit by
//! `mail`. A notice is one row per (account, notice, effective date) — the table's UNIQUE key —
//! so re-running a plan or a night enqueues nothing twice, and a notice goes out again only
//! when its date changes.
//!
//! Delivery marks each row in its own small transaction: claimed before the send, sent or
//! failed right after it. A crash mid-delivery therefore leaves at most the one message in
//! flight to be sent again, and two `mail` processes never send the same row.
//!
//! Timestamps are RFC 3339 in Japan time with whole seconds (`2026-04-01T02:00:00+09:00`), the
//! same shape as the rest of the store, so text order is time order.
//!
//! A notice's text is stored zlib-compressed (a BLOB in the `body` column: ~2 KB of mostly
//! Japanese text becomes ~1 KB, and a March night queues tens of thousands); a TEXT body is read
//! as it is. Callers hand in text ([`OutboxEntry`]) and get text back; [`Packed::new`] compresses
//! a notice before the transaction, which [`enqueue`] then writes.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use super::{Store, StoreError, iso, parse_iso};

/// A rendered notice to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub ecs_id: String,
    /// [`NoticeKind::as_str`](crate::domain::notice::NoticeKind::as_str).
    pub notice: String,
    /// The stop date the notice announces; part of the notice's identity.
    pub effective_on: NaiveDate,
    /// The KUMOI address.
    pub to: String,
    pub subject: String,
    /// The notice's text.
    pub body: String,
}

/// A notice ready for the outbox: its text compressed ([`Packed::new`]).
pub struct Packed {
    entry: OutboxEntry,
    body: Vec<u8>,
}

impl Packed {
    /// The notice with its text compressed; the text is dropped.
    pub fn new(mut entry: OutboxEntry) -> Packed {
        let body = deflate(&std::mem::take(&mut entry.body));
        Packed { entry, body }
    }
}

/// zlib at the fast level (the level makes little difference to the size of a notice). Each
/// thread keeps one compressor: setting one up costs more than compressing a notice, and a
/// fresh ~300 KB state per notice fragments the heap (tens of thousands of notices a night).
fn deflate(text: &str) -> Vec<u8> {
    thread_local! {
        static COMPRESS: std::cell::RefCell<flate2::Compress> =
            std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::fast(), true));
    }
    COMPRESS.with_borrow_mut(|z| {
        z.reset();
        // zlib's bound for one call that finishes the stream.
        let mut out = Vec::with_capacity(text.len() + text.len() / 1000 + 64);
        let done = z.compress_vec(text.as_bytes(), &mut out, flate2::FlushCompress::Finish);
        debug_assert!(matches!(done, Ok(flate2::Status::StreamEnd)), "{done:?}");
        out.shrink_to_fit();
        out
    })
}

/// The text of a zlib stream.
fn inflate(bytes: &[u8]) -> Result<String, StoreError> {
    use std::io::Read as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    flate2::read::ZlibDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| StoreError::Corrupt(format!("an outbox body does not decompress: {e}")))?;
    Ok(text)
}

/// An outbox row as delivery reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DueNotice {
    pub id: i64,
    pub ecs_id: String,
    pub notice: String,
    pub effective_on: NaiveDate,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Sends tried so far.
    pub attempts: u32,
}

/// How many outbox rows are in each state.
///
/// `pending`: to be sent (after `next_attempt_at` when set: a temporary failure's backoff);
/// `sending`: held by one process (`lease_owner`) until `lease_until`; `sent`: the server took
/// it; `unknown`: handed over without a reply, or its process died while sending: sent again,
/// with the same Message-ID, from `next_attempt_at`; `failed`: refused for good (5xx), never
/// retried, the server's reason in `last_error`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct OutboxCounts {
    pub pending: usize,
    pub sending: usize,
    pub unknown: usize,
    pub failed: usize,
    pub sent: usize,
}

/// The error recorded for a row whose process ended while sending it (migration 7 also finds it
/// in rows a version without leases left).
pub(crate) const INTERRUPTED: &str = "interrupted while sending; it will be sent again";

/// When a row is due for sending: pending (after its retry time unless `?2`, retry all), or
/// unknown after its delay. `?3` is now.
const DUE: &str = "(status = 'pending' \
    AND (?2 OR next_attempt_at IS NULL OR next_attempt_at <= ?3) \
    OR status = 'unknown' AND next_attempt_at <= ?3)";

/// A process's hold on the rows it sends: who (a random token and the pid) and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lease {
    pub owner: String,
    pub until: DateTime<Tz>,
}

/// How a send that did not deliver a notice ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Not delivered (a 4xx, or the server unreachable): pending again from `at`.
    Retry { error: String, at: DateTime<Tz> },
    /// Handed over without a reply: sent again from `at`.
    Unknown { error: String, at: DateTime<Tz> },
    /// Refused for good (5xx): never retried.
    Failed { error: String },
    /// Not tried after all (the login was refused): pending, the attempt not counted.
    Released { error: String },
}

/// Enqueues the packed `notices` inside the caller's transaction (`apply`'s), ignoring notices already in
/// the outbox (same account, notice and effective date). An unsent notice of the same account
/// and kind for another date is dropped: its date was corrected, and the old text would announce
/// a wrong date. Returns the number of rows inserted.
///
/// Rows are written in ECS-ID order (one account's notices keep their order), so the outbox's
/// key index is written front to back; only the accounts that have an unsent notice at all are
/// looked at for stale ones.
pub fn enqueue(tx: &Transaction<'_>, run_id: i64, notices: &[Packed]) -> Result<usize, StoreError> {
    // ECS-ID → the kinds of notice it has unsent.
    let mut unsent: std::collections::HashMap<String, Vec<String>> = Default::default();
    {
        let mut stmt = tx.prepare(
            "SELECT DISTINCT ecs_id, notice FROM outbox WHERE status IN ('pending', 'unknown', 'failed')",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            unsent.entry(r.get(0)?).or_default().push(r.get(1)?);
        }
    }
    let mut drop_stale = tx.prepare_cached(
        "DELETE FROM outbox WHERE ecs_id = ?1 AND notice = ?2 AND effective_on <> ?3 \
         AND status IN ('pending', 'unknown', 'failed')",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox \
         (ecs_id, notice, effective_on, to_addr, subject, body, created_run) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut ordered: Vec<&Packed> = notices.iter().collect();
    ordered.sort_by(|a, b| {
        (&a.entry.ecs_id, &a.entry.notice).cmp(&(&b.entry.ecs_id, &b.entry.notice))
    });
    let mut inserted = 0;
    // The last entry inserted: in this order, the only one of the batch that a later entry of the
    // same account and kind (for another date) replaces.
    let mut last: Option<(&str, &str)> = None;
    for Packed { entry: e, body } in ordered {
        let effective_on = iso(e.effective_on);
        let key = (e.ecs_id.as_str(), e.notice.as_str());
        let stored = unsent
            .get(key.0)
            .is_some_and(|kinds| kinds.iter().any(|k| k == key.1));
        if stored || last == Some(key) {
            drop_stale.execute((&e.ecs_id, &e.notice, &effective_on))?;
        }
        let added = insert.execute((
            &e.ecs_id,
            &e.notice,
            &effective_on,
            &e.to,
            &e.subject,
            body,
            run_id,
        ))?;
        if added == 1 {
            last = Some(key);
        }
        inserted += added;
    }
    Ok(inserted)
}

/// Migration 6: the bodies compressed against a preset dictionary (migration 4's
/// `outbox_dicts`, no longer written) are stored again as plain zlib, so that reading a body
/// needs nothing but its row.
pub(super) fn drop_dictionaries(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = tx
        .prepare("SELECT o.id, o.body, d.dict FROM outbox o JOIN outbox_dicts d ON d.id = o.dict")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = tx.prepare("UPDATE outbox SET body = ?1, dict = NULL WHERE id = ?2")?;
    for (id, body, dict) in rows {
        update.execute((deflate(&inflate_against(&body, &dict)?), id))?;
    }
    tx.execute("UPDATE outbox SET dict = NULL", [])?;
    tx.execute("DELETE FROM outbox_dicts", [])?;
    Ok(())
}

/// The text of a zlib stream compressed against the preset dictionary `dict` (migration 6).
fn inflate_against(bytes: &[u8], dict: &[u8]) -> Result<String, StoreError> {
    let bad = |why: &str| StoreError::Corrupt(format!("an outbox body does not decompress: {why}"));
    let mut z = flate2::Decompress::new(true);
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() * 16 + 256);
    loop {
        let read = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let input = bytes.get(read..).unwrap_or_default();
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
        let before = (z.total_in(), out.len());
        match z.decompress_vec(input, &mut out, flate2::FlushDecompress::Finish) {
            Ok(flate2::Status::StreamEnd) => break,
            Ok(_) if before == (z.total_in(), out.len()) && out.len() < out.capacity() => {
                return Err(bad("it ends early"));
            }
            Ok(_) => {}
            Err(e) if e.needs_dictionary().is_some() => {
                z.set_dictionary(dict)
                    .map_err(|_| bad("it was compressed against another dictionary"))?;
            }
            Err(e) => return Err(bad(&e.to_string())),
        }
    }
    String::from_utf8(out).map_err(|e| bad(&e.to_string()))
}

/// See [`Store::sent_recorder`].
pub(crate) struct SentRecorder {
    file: std::fs::File,
    path: std::path::PathBuf,
}

impl SentRecorder {
    /// Records that the server took row `id` at `at`: one line appended in one write (a
    /// process killed by a signal never leaves half of it), folded into the outbox by
    /// [`Store::fold_sent_marks`].
    pub(crate) fn mark_sent(&self, id: i64, at: &DateTime<Tz>) -> Result<(), StoreError> {
        use std::io::Write as _;
        let line = format!("{id} {}\n", timestamp(at));
        (&self.file)
            .write_all(line.as_bytes())
            .map_err(|e| StoreError::Corrupt(format!("writing `{}`: {e}", self.path.display())))
    }
}

/// The folder of sent marks beside the store (`regsync.sqlite.sent/`): one file per delivering
/// process, named after its lease owner, one line `ID TIMESTAMP` per notice the server took.
///
/// Why a file and not the store: the time between the server's 250 and the record is the
/// window in which a kill -9 makes a notice go out twice (its lease ends `unknown`, and it is
/// sent again). An append takes microseconds; a store commit (64 KiB pages into the WAL) took
/// a hundred and more. Every delivery folds the marks into the outbox before it reads it.
fn sent_dir(store: &std::path::Path) -> std::path::PathBuf {
    let mut name = store
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".sent");
    store.with_file_name(name)
}

/// A lease owner (`pid:token`) as a file name.
fn marks_file_name(owner: &str) -> String {
    owner
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Row `?1` was taken by the server at `?2` (a [`timestamp`]): `sent`, whatever it was, its
/// lease and retry cleared; a row sent already keeps the time it was first recorded.
const MARK_SENT: &str = "UPDATE outbox SET status = 'sent', sent_at = ?2, last_error = NULL, \
    next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL \
    WHERE id = ?1 AND status <> 'sent'";

fn mark_sent(conn: &rusqlite::Connection, id: i64, at: &DateTime<Tz>) -> Result<(), StoreError> {
    conn.prepare_cached(MARK_SENT)?
        .execute((id, timestamp(at)))?;
    Ok(())
}

/// `at` as the store writes timestamps.
pub(crate) fn timestamp(at: &DateTime<Tz>) -> String {
    at.with_timezone(&chrono_tz::Asia::Tokyo)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

impl Store {
    /// [`enqueue`] in a transaction of its own (tests, and tools that add notices by hand).
    pub fn enqueue_notices(
        &mut self,
        run_id: i64,
        entries: &[OutboxEntry],
    ) -> Result<usize, StoreError> {
        self.writable()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let packed: Vec<Packed> = entries.iter().cloned().map(Packed::new).collect();
        let n = enqueue(&tx, run_id, &packed)?;
        tx.commit()?;
        Ok(n)
    }

    /// Up to `limit` rows due for sending at `now`, with an id above `after_id`, in id order:
    /// pending rows (those waiting for a retry only once their time has come, or at once when
    /// `retry_all`) and rows whose outcome is unknown once their delay has passed. A row
    /// another process holds (`sending`) is never due.
    pub(crate) fn due_notices(
        &self,
        now: &DateTime<Tz>,
        retry_all: bool,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<DueNotice>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT id, ecs_id, notice, effective_on, to_addr, subject, body, attempts \
             FROM outbox WHERE id > ?1 AND {DUE} ORDER BY id LIMIT ?4"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query((after_id, retry_all, timestamp(now), limit))?;
        let mut due = Vec::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let effective_on: String = r.get(3)?;
            let attempts: i64 = r.get(7)?;
            due.push(DueNotice {
                id,
                ecs_id: r.get(1)?,
                notice: r.get(2)?,
                effective_on: parse_iso(&effective_on).ok_or_else(|| {
                    StoreError::Corrupt(format!("outbox.effective_on = `{effective_on}` (id {id})"))
                })?,
                to: r.get(4)?,
                subject: r.get(5)?,
                body: match r.get_ref(6)? {
                    rusqlite::types::ValueRef::Blob(b) => inflate(b)?,
                    _ => r.get(6)?,
                },
                attempts: u32::try_from(attempts).map_err(|_| {
                    StoreError::Corrupt(format!("outbox.attempts = {attempts} (id {id})"))
                })?,
            });
        }
        Ok(due)
    }

    /// Takes row `id` for one send: `sending`, held by `lease.owner` until `lease.until`, the
    /// attempt counted. One UPDATE whose WHERE is the row being due ([`Store::due_notices`]),
    /// so of two processes that read the same row only one gets it; the other gets false and
    /// must not send it.
    pub(crate) fn claim_notice(
        &mut self,
        id: i64,
        lease: &Lease,
        now: &DateTime<Tz>,
        retry_all: bool,
    ) -> Result<bool, StoreError> {
        self.writable()?;
        let changed = self.conn.execute(
            &format!(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1, \
                     lease_owner = ?4, lease_until = ?5 \
                 WHERE id = ?1 AND {DUE}"
            ),
            (
                id,
                retry_all,
                timestamp(now),
                &lease.owner,
                timestamp(&lease.until),
            ),
        )?;
        Ok(changed == 1)
    }

    /// Marks row `id` sent at `at`, in a transaction of its own, right after the server's 250.
    /// Whoever holds it now: the message was accepted.
    pub(crate) fn mark_sent(&mut self, id: i64, at: &DateTime<Tz>) -> Result<(), StoreError> {
        self.writable()?;
        mark_sent(&self.conn, id, at)
    }

    /// The sent marks of the delivering process `owner` (see [`sent_dir`]), for the thread that
    /// reads the server's 250: the record follows the reply at once.
    pub(crate) fn sent_recorder(&self, owner: &str) -> Result<SentRecorder, StoreError> {
        self.writable()?;
        let dir = sent_dir(&self.path);
        let io = |path: &std::path::Path, e: std::io::Error| {
            StoreError::Corrupt(format!("creating `{}`: {e}", path.display()))
        };
        crate::private::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let path = dir.join(marks_file_name(owner));
        let file = crate::private::open_with_mode(
            std::fs::OpenOptions::new().append(true).create(true),
            &path,
            crate::private::Kind::Shared,
        )
        .map_err(|e| io(&path, e))?;
        // The owner, for whoever folds the file after this process ended.
        let recorder = SentRecorder { file, path };
        {
            use std::io::Write as _;
            (&recorder.file)
                .write_all(format!("# {owner}\n").as_bytes())
                .map_err(|e| io(&recorder.path, e))?;
        }
        Ok(recorder)
    }

    /// Folds every sent mark into the outbox (the row becomes `sent`, whatever it was), in one
    /// transaction; then removes the files whose process `done` says has ended (this one's own
    /// at the end of its delivery, those of processes gone). Returns the rows marked.
    pub(crate) fn fold_sent_marks(
        &mut self,
        done: impl Fn(&str) -> bool,
    ) -> Result<usize, StoreError> {
        self.writable()?;
        let dir = sent_dir(&self.path);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(0);
        };
        let mut marks: Vec<(i64, String)> = Vec::new();
        let mut finished = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let mut owner = "";
            // Only whole lines: one being appended right now is taken next time.
            for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
                let line = line.trim_end();
                if let Some(o) = line.strip_prefix("# ") {
                    owner = o;
                } else if let Some((id, at)) = line.split_once(' ')
                    && let Ok(id) = id.parse()
                {
                    marks.push((id, at.to_string()));
                }
            }
            if !owner.is_empty() && done(owner) {
                finished.push(path);
            }
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut marked = 0;
        {
            let mut stmt = tx.prepare(MARK_SENT)?;
            for (id, at) in &marks {
                marked += stmt.execute((id, at))?;
            }
        }
        tx.commit()?;
        for path in finished {
            let _ = std::fs::remove_file(path);
        }
        Ok(marked)
    }

    /// Records the end of a send that did not deliver (or may not have) row `id`, if `owner`
    /// still holds it. `error` must not hold the message text or a credential.
    pub(crate) fn settle_notice(
        &mut self,
        id: i64,
        owner: &str,
        settled: &Settled,
    ) -> Result<(), StoreError> {
        self.writable()?;
        let (status, error, next, uncount) = match settled {
            Settled::Retry { error, at } => ("pending", error, Some(timestamp(at)), false),
            Settled::Unknown { error, at } => ("unknown", error, Some(timestamp(at)), false),
            Settled::Failed { error } => ("failed", error, None, false),
            Settled::Released { error } => ("pending", error, None, true),
        };
        self.conn.execute(
            "UPDATE outbox SET status = ?1, last_error = ?2, next_attempt_at = ?3, \
                 attempts = attempts - ?4, lease_owner = NULL, lease_until = NULL \
             WHERE id = ?5 AND status = 'sending' AND lease_owner = ?6",
            (status, error, next, i64::from(uncount), id, owner),
        )?;
        Ok(())
    }

    /// Rows held by a process that is gone (its lease expired by `now`, or `dead` says its
    /// owner has ended) become `unknown`, to be sent again from `retry_at`: the process may
    /// have died after the server took the message. Returns how many.
    pub(crate) fn expire_leases(
        &mut self,
        now: &DateTime<Tz>,
        retry_at: &DateTime<Tz>,
        dead: impl Fn(&str) -> bool,
    ) -> Result<usize, StoreError> {
        self.writable()?;
        let owners: Vec<String> = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT lease_owner FROM outbox \
                 WHERE status = 'sending' AND lease_owner IS NOT NULL",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut expire = self.conn.prepare_cached(
            "UPDATE outbox SET status = 'unknown', last_error = ?1, next_attempt_at = ?2, \
                 lease_owner = NULL, lease_until = NULL \
             WHERE status = 'sending' AND lease_owner = ?3 AND (?4 OR lease_until <= ?5)",
        )?;
        let mut n = 0;
        for owner in owners {
            n += expire.execute((
                INTERRUPTED,
                timestamp(retry_at),
                &owner,
                dead(&owner),
                timestamp(now),
            ))?;
        }
        Ok(n)
    }

    /// Notices not sent yet and still to be: pending, being sent, and unknown ones.
    pub(crate) fn pending_count(&self) -> Result<usize, StoreError> {
        let c = self.outbox_counts()?;
        Ok(c.pending + c.sending + c.unknown)
    }

    pub(crate) fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, count(*) FROM outbox GROUP BY status")?;
        let mut rows = stmt.query([])?;
        let mut counts = OutboxCounts::default();
        while let Some(r) = rows.next()? {
            let status: String = r.get(0)?;
            let n: i64 = r.get(1)?;
            let n = usize::try_from(n).unwrap_or(0);
            match status.as_str() {
                "pending" => counts.pending = n,
                "sending" => counts.sending = n,
                "unknown" => counts.unknown = n,
                "failed" => counts.failed = n,
                "sent" => counts.sent = n,
                other => {
                    return Err(StoreError::Corrupt(format!("outbox.status = `{other}`")));
                }
            }
        }
        Ok(counts)
    }

    /// One outbox row's state, for tests and `show`: status, attempts, last error.
    pub fn notice_status(
        &self,
        ecs_id: &str,
        notice: &str,
        effective_on: NaiveDate,
    ) -> Result<Option<(String, u32, Option<String>)>, StoreError> {
        self.conn
            .query_row(
                "SELECT status, attempts, last_error FROM outbox \
                 WHERE ecs_id = ?1 AND notice = ?2 AND effective_on = ?3",
                (ecs_id, notice, iso(effective_on)),
                |r| {
                    let attempts: i64 = r.get(1)?;
                    Ok((
                        r.get(0)?,
                        u32::try_from(attempts).unwrap_or(u32::MAX),
                        r.get(2)?,
                    ))
                },
            )
            .optional()
            .map_err(StoreError::from)
    }
}
