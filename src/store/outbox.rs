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
//! A notice's text is kept zlib-compressed ([`Body`]; a BLOB in the `body` column) against a
//! preset [`Dictionary`]: its template's text, rendered with sample values. A notice is ~2 KB
//! of mostly Japanese text, nine tenths of it its template's: alone it compresses to ~1 KB,
//! against the dictionary to ~140 bytes. A March night at a million students queues ~40,000
//! notices, so the apply transaction writes ~35 MB less than with plain zlib (~75 MB less than
//! plain text). Each dictionary is stored once (`outbox_dicts`, found by its hash) and every row
//! compressed against it names it (`dict`), so a notice reads back the same after its template
//! changed. Rows written before read the same: plain text, or zlib without a dictionary.

use std::sync::Arc;

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
    pub body: Body,
}

/// A zlib preset dictionary notice bodies are compressed against (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct Dictionary {
    bytes: Vec<u8>,
    sha256: String,
}

impl Dictionary {
    /// The dictionary of `text`. zlib looks back at most 32 KiB, so only that much of the end
    /// of a longer text is used.
    pub fn new(text: &str) -> Dictionary {
        let bytes = text.as_bytes();
        let bytes = bytes[bytes.len().saturating_sub(WINDOW)..].to_vec();
        Dictionary {
            sha256: super::sha256_hex(&bytes),
            bytes,
        }
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dictionary({} bytes, {})", self.bytes.len(), self.sha256)
    }
}

/// zlib's window: the longest dictionary it uses.
const WINDOW: usize = 32 * 1024;

/// A notice's text, compressed as the outbox stores it, with the dictionary it was compressed
/// against, if any.
#[derive(Clone, PartialEq, Eq)]
pub struct Body {
    bytes: Vec<u8>,
    dict: Option<Arc<Dictionary>>,
}

impl Body {
    /// Compresses `text` on its own.
    pub fn new(text: &str) -> Body {
        Body {
            bytes: deflate(text, None),
            dict: None,
        }
    }

    /// Compresses `text` against `dict` (its template's dictionary: the closer the text, the
    /// smaller the body).
    pub fn against(text: &str, dict: &Arc<Dictionary>) -> Body {
        Body {
            bytes: deflate(text, Some(&dict.bytes)),
            dict: Some(Arc::clone(dict)),
        }
    }

    /// The text back.
    pub fn text(&self) -> Result<String, StoreError> {
        inflate(&self.bytes, self.dict.as_deref().map(|d| &d.bytes[..]))
    }

    /// The bytes stored.
    pub fn stored(&self) -> &[u8] {
        &self.bytes
    }

    /// The dictionary the body was compressed against.
    pub fn dictionary(&self) -> Option<&Arc<Dictionary>> {
        self.dict.as_ref()
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.text() {
            Ok(text) => text.fmt(f),
            Err(_) => write!(f, "<{} unreadable bytes>", self.bytes.len()),
        }
    }
}

/// zlib (fast level: rendering and compressing run beside the apply transaction, and the level
/// makes little difference to the size of a notice), against `dict` when given. Each thread
/// keeps one compressor: setting one up costs more than compressing a notice.
fn deflate(text: &str, dict: Option<&[u8]>) -> Vec<u8> {
    thread_local! {
        static COMPRESS: std::cell::RefCell<flate2::Compress> =
            std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::fast(), true));
    }
    COMPRESS.with_borrow_mut(|z| {
        z.reset();
        if let Some(dict) = dict {
            let set = z.set_dictionary(dict);
            debug_assert!(set.is_ok(), "{set:?}");
        }
        // zlib's bound for one call that finishes the stream.
        let mut out = Vec::with_capacity(text.len() + text.len() / 1000 + 64);
        let done = z.compress_vec(text.as_bytes(), &mut out, flate2::FlushCompress::Finish);
        debug_assert!(matches!(done, Ok(flate2::Status::StreamEnd)), "{done:?}");
        out.shrink_to_fit();
        out
    })
}

/// The text of a zlib stream, compressed against `dict` when the stream asks for one.
fn inflate(bytes: &[u8], dict: Option<&[u8]>) -> Result<String, StoreError> {
    let bad =
        |why: String| StoreError::Corrupt(format!("an outbox body does not decompress: {why}"));
    let mut z = flate2::Decompress::new(true);
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() * 4 + 256);
    loop {
        let (read_before, out_before) = (z.total_in(), out.len());
        let read = usize::try_from(read_before).unwrap_or(usize::MAX);
        let input = bytes.get(read..).unwrap_or_default();
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
        match z.decompress_vec(input, &mut out, flate2::FlushDecompress::Finish) {
            Ok(flate2::Status::StreamEnd) => break,
            Ok(_) => {
                // No progress with room to write: the stream is cut short.
                if z.total_in() == read_before
                    && out.len() == out_before
                    && out.len() < out.capacity()
                {
                    return Err(bad("it ends early".into()));
                }
            }
            Err(e) => match (e.needs_dictionary(), dict) {
                (Some(wanted), Some(dict)) => {
                    // zlib refuses a dictionary whose checksum is not the one the stream names.
                    let other = || bad("it was compressed against another dictionary".into());
                    if z.set_dictionary(dict).map_err(|_| other())? != wanted {
                        return Err(other());
                    }
                }
                (Some(_), None) => return Err(bad("its dictionary is missing".into())),
                _ => return Err(bad(e.to_string())),
            },
        }
    }
    String::from_utf8(out).map_err(|e| bad(e.to_string()))
}

/// An outbox row as delivery reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueNotice {
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub pending: usize,
    pub failed: usize,
    pub sent: usize,
}

/// The error recorded for a row whose send was interrupted (the process stopped between the
/// claim and the result). Replaced by the real outcome when the send finishes.
pub const INTERRUPTED: &str = "interrupted while sending; it will be sent again";

/// Enqueues `entries` inside the caller's transaction (`apply`'s), ignoring notices already in
/// the outbox (same account, notice and effective date). An unsent notice of the same account
/// and kind for another date is dropped: its date was corrected, and the old text would announce
/// a wrong date. Returns the number of rows inserted.
///
/// Rows are written in ECS-ID order (one account's notices keep their order), so the outbox's
/// key index is written front to back; only the accounts that have an unsent notice at all are
/// looked at for stale ones.
pub fn enqueue(
    tx: &Transaction<'_>,
    run_id: i64,
    entries: &[OutboxEntry],
) -> Result<usize, StoreError> {
    // ECS-ID → the kinds of notice it has unsent.
    let mut unsent: std::collections::HashMap<String, Vec<String>> = Default::default();
    {
        let mut stmt = tx.prepare(
            "SELECT DISTINCT ecs_id, notice FROM outbox WHERE status IN ('pending', 'failed')",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            unsent.entry(r.get(0)?).or_default().push(r.get(1)?);
        }
    }
    let mut drop_stale = tx.prepare_cached(
        "DELETE FROM outbox WHERE ecs_id = ?1 AND notice = ?2 AND effective_on <> ?3 \
         AND status IN ('pending', 'failed')",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox \
         (ecs_id, notice, effective_on, to_addr, subject, body, created_run, dict) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let dict_ids = store_dictionaries(tx, entries)?;
    let mut ordered: Vec<&OutboxEntry> = entries.iter().collect();
    ordered.sort_by(|a, b| (&a.ecs_id, &a.notice).cmp(&(&b.ecs_id, &b.notice)));
    let mut inserted = 0;
    // The last entry inserted: in this order, the only one of the batch that a later entry of the
    // same account and kind (for another date) replaces.
    let mut last: Option<(&str, &str)> = None;
    for e in ordered {
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
            e.body.stored(),
            run_id,
            e.body
                .dictionary()
                .and_then(|d| dict_ids.get(d.sha256()).copied()),
        ))?;
        if added == 1 {
            last = Some(key);
        }
        inserted += added;
    }
    Ok(inserted)
}

/// Stores each dictionary the bodies of `entries` were compressed against, unless it is there
/// already; returns their ids by hash.
fn store_dictionaries<'e>(
    tx: &Transaction<'_>,
    entries: &'e [OutboxEntry],
) -> Result<std::collections::HashMap<&'e str, i64>, StoreError> {
    let mut ids = std::collections::HashMap::new();
    for dict in entries.iter().filter_map(|e| e.body.dictionary()) {
        if ids.contains_key(dict.sha256()) {
            continue;
        }
        tx.prepare_cached("INSERT OR IGNORE INTO outbox_dicts (sha256, dict) VALUES (?1, ?2)")?
            .execute((dict.sha256(), &dict.bytes[..]))?;
        let id: i64 = tx
            .prepare_cached("SELECT id FROM outbox_dicts WHERE sha256 = ?1")?
            .query_row([dict.sha256()], |r| r.get(0))?;
        ids.insert(dict.sha256(), id);
    }
    Ok(ids)
}

/// `at` as the store writes timestamps.
pub fn timestamp(at: &DateTime<Tz>) -> String {
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
        let n = enqueue(&tx, run_id, entries)?;
        tx.commit()?;
        Ok(n)
    }

    /// Up to `limit` rows due for sending at `now`, with an id above `after_id`, in id order:
    /// every pending row, and failed rows whose retry time has come (every failed row when
    /// `retry_all`).
    pub fn due_notices(
        &self,
        now: &DateTime<Tz>,
        retry_all: bool,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<DueNotice>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, ecs_id, notice, effective_on, to_addr, subject, body, attempts, dict \
             FROM outbox \
             WHERE id > ?1 AND (status = 'pending' OR (status = 'failed' \
                 AND (?2 OR next_attempt_at IS NULL OR next_attempt_at <= ?3))) \
             ORDER BY id LIMIT ?4",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query((after_id, retry_all, timestamp(now), limit))?;
        let mut due = Vec::new();
        // The dictionaries by id, each read once.
        let mut dicts: std::collections::HashMap<i64, Vec<u8>> = Default::default();
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
                    rusqlite::types::ValueRef::Blob(b) => {
                        let dict = r.get::<_, Option<i64>>(8)?;
                        if let Some(d) = dict
                            && !dicts.contains_key(&d)
                        {
                            dicts.insert(d, self.dictionary(d)?);
                        }
                        inflate(b, dict.and_then(|d| dicts.get(&d)).map(|d| &d[..]))?
                    }
                    _ => r.get(6)?,
                },
                attempts: u32::try_from(attempts).map_err(|_| {
                    StoreError::Corrupt(format!("outbox.attempts = {attempts} (id {id})"))
                })?,
            });
        }
        Ok(due)
    }

    /// The bytes of dictionary `id`.
    fn dictionary(&self, id: i64) -> Result<Vec<u8>, StoreError> {
        self.conn
            .prepare_cached("SELECT dict FROM outbox_dicts WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("outbox_dicts has no dictionary {id}")))
    }

    /// Claims `n` for one send attempt: counts the attempt and records it as interrupted, with
    /// `retry_at` as its retry time, so that a crash during the send leaves a failed row that a
    /// later run retries. Returns false (and changes nothing) when the row changed since it was
    /// read — sent or claimed by another `mail` — so the caller must not send it.
    pub fn claim_notice(
        &mut self,
        n: &DueNotice,
        retry_at: &DateTime<Tz>,
    ) -> Result<bool, StoreError> {
        self.writable()?;
        let changed = self.conn.execute(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, \
                 last_error = ?1, next_attempt_at = ?2 \
             WHERE id = ?3 AND attempts = ?4 AND status <> 'sent'",
            (
                INTERRUPTED,
                timestamp(retry_at),
                n.id,
                i64::from(n.attempts),
            ),
        )?;
        Ok(changed == 1)
    }

    /// Marks row `id` sent at `at`.
    pub fn mark_sent(&mut self, id: i64, at: &DateTime<Tz>) -> Result<(), StoreError> {
        self.writable()?;
        self.conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?1, last_error = NULL, \
                 next_attempt_at = NULL WHERE id = ?2",
            (timestamp(at), id),
        )?;
        Ok(())
    }

    /// Marks row `id` failed with `error` (which must not hold the message text), to be tried
    /// again from `retry_at`. The attempt was counted by [`Store::claim_notice`].
    pub fn mark_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: &DateTime<Tz>,
    ) -> Result<(), StoreError> {
        self.writable()?;
        self.conn.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?1, next_attempt_at = ?2 \
             WHERE id = ?3",
            (error, timestamp(retry_at), id),
        )?;
        Ok(())
    }

    /// Notices not sent yet: pending ones and failed ones waiting for a retry.
    pub fn pending_count(&self) -> Result<usize, StoreError> {
        let c = self.outbox_counts()?;
        Ok(c.pending + c.failed)
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
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
