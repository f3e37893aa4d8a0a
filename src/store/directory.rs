//! The directory journal: the desired directory state of every account an applied action
//! touched, and whether a push has made the entry match it (see `crate::directory`).
//!
//! A row is queued in the apply transaction, so the journal says exactly what the committed
//! accounts say. A push marks a row `done` only while its desired state is still the one it
//! pushed: an apply in between queues the newer state, which stays pending. A row whose push
//! failed stays pending with its attempts, its error and the time of its next try.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, now};
use crate::domain::account::Account;

/// An account's desired directory state, what a journal row holds: the fields a directory
/// profile renders, nothing else (no key, no key hash, no dates). Role, state and status are the store's snake_case names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    pub ecs_id: String,
    pub kumoi: String,
    pub name: String,
    pub name_kana: String,
    pub faculty: String,
    pub status: Option<String>,
    pub role: String,
    pub state: String,
}

impl Desired {
    pub(crate) fn of(a: &Account) -> Desired {
        Desired {
            ecs_id: a.ecs_id.as_str().to_string(),
            kumoi: a.kumoi.to_string(),
            name: a.name.to_string(),
            name_kana: a.name_kana.to_string(),
            faculty: a.faculty.to_string(),
            status: a.status.map(|s| s.as_str().to_string()),
            role: a.role.as_str().to_string(),
            state: a.state.as_str().to_string(),
        }
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub(crate) fn from_json(s: &str) -> Result<Desired, serde_json::Error> {
        serde_json::from_str(s)
    }
}

/// One pending row of the journal.
#[derive(Debug, Clone)]
pub(crate) struct JournalRow {
    pub desired: Desired,
    /// The stored JSON of `desired`, what [`Store::directory_done`] checks it still holds.
    pub desired_json: String,
}

impl JournalRow {
    fn new(desired: Desired) -> JournalRow {
        JournalRow {
            desired_json: desired.to_json(),
            desired,
        }
    }
}

/// What the journal holds, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct JournalCounts {
    pub pending: usize,
    pub done: usize,
}

/// Queues (or re-queues) `desired` unless the row already holds it as done: a desired state
/// the directory has already is not pushed again.
const QUEUE: &str = "INSERT INTO directory_journal (ecs_id, desired_json, status, queued_run, queued_at)
    VALUES (?1, ?2, 'pending', ?3, ?4)
    ON CONFLICT (ecs_id) DO UPDATE SET desired_json = excluded.desired_json, status = 'pending',
        queued_run = excluded.queued_run, queued_at = excluded.queued_at, attempts = 0,
        next_attempt_at = NULL, last_error = NULL, done_at = NULL
    WHERE directory_journal.status <> 'done' OR directory_journal.desired_json <> excluded.desired_json";

/// Queues, or forces pending whatever the row holds (`directory diff --fix`: the entry drifted
/// from a desired state the journal thought done).
const REQUEUE: &str =
    "INSERT INTO directory_journal (ecs_id, desired_json, status, queued_run, queued_at)
    VALUES (?1, ?2, 'pending', ?3, ?4)
    ON CONFLICT (ecs_id) DO UPDATE SET desired_json = excluded.desired_json, status = 'pending',
        queued_run = excluded.queued_run, queued_at = excluded.queued_at, attempts = 0,
        next_attempt_at = NULL, last_error = NULL, done_at = NULL";

/// Inside the apply transaction: the desired state of each account in `accounts` (the accounts
/// after the plan's actions, later actions last, so the last one wins).
pub(super) fn queue<'a>(
    tx: &Transaction<'_>,
    accounts: impl IntoIterator<Item = &'a Account>,
    run_id: Option<i64>,
    at: &str,
) -> Result<usize, StoreError> {
    let rows = accounts
        .into_iter()
        .map(|a| JournalRow::new(Desired::of(a)));
    queue_rows(tx, rows, run_id, at)
}

fn queue_rows(
    tx: &Transaction<'_>,
    rows: impl IntoIterator<Item = JournalRow>,
    run_id: Option<i64>,
    at: &str,
) -> Result<usize, StoreError> {
    let mut stmt = tx.prepare_cached(QUEUE)?;
    let mut n = 0;
    for r in rows {
        n += stmt.execute(params![
            r.desired.ecs_id.as_str(),
            r.desired_json,
            run_id,
            at
        ])?;
    }
    Ok(n)
}

impl Store {
    /// The pending rows, in ECS-ID order; with `due_only`, only those whose retry time has come.
    pub(crate) fn directory_pending(&self, due_only: bool) -> Result<Vec<JournalRow>, StoreError> {
        let at = now();
        let mut stmt = self.conn.prepare(
            "SELECT desired_json FROM directory_journal
             WHERE status = 'pending' AND (?1 = 0 OR next_attempt_at IS NULL OR next_attempt_at <= ?2)
             ORDER BY ecs_id",
        )?;
        let mut rows = stmt.query(params![i64::from(due_only), at])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let desired_json: String = r.get(0)?;
            let desired = Desired::from_json(&desired_json)
                .map_err(|e| StoreError::Corrupt(format!("directory_journal.desired_json: {e}")))?;
            out.push(JournalRow {
                desired,
                desired_json,
            });
        }
        Ok(out)
    }

    /// How many rows are pending and done.
    pub(crate) fn directory_counts(&self) -> Result<JournalCounts, StoreError> {
        let mut counts = JournalCounts::default();
        let mut stmt = self
            .conn
            .prepare("SELECT status, count(*) FROM directory_journal GROUP BY status")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let n = usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0);
            match r.get_ref(0)?.as_str().unwrap_or_default() {
                "pending" => counts.pending = n,
                _ => counts.done = n,
            }
        }
        Ok(counts)
    }

    /// Marks rows done, each only while it still holds the desired state that was pushed
    /// (`(ecs_id, desired_json)`); one transaction for the batch. Returns how many were marked.
    pub(crate) fn directory_done(
        &mut self,
        pushed: &[(String, String)],
    ) -> Result<usize, StoreError> {
        self.writable()?;
        let at = now();
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE directory_journal SET status = 'done', done_at = ?3, last_error = NULL,
                    next_attempt_at = NULL
                 WHERE ecs_id = ?1 AND desired_json = ?2 AND status = 'pending'",
            )?;
            for (ecs_id, json) in pushed {
                n += stmt.execute(params![ecs_id, json, at])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Records a failed push of the rows `ecs_ids` (the server refused the change, or could not
    /// be reached): each stays pending, one attempt more, tried again after its backoff (5
    /// minutes, doubling up to 6 hours), with `error` as its last error.
    pub(crate) fn directory_failed(
        &mut self,
        ecs_ids: &[&str],
        error: &str,
    ) -> Result<(), StoreError> {
        self.writable()?;
        let tx = self.conn.transaction()?;
        {
            let mut read = tx.prepare_cached(
                "SELECT attempts FROM directory_journal WHERE ecs_id = ?1 AND status = 'pending'",
            )?;
            let mut write = tx.prepare_cached(
                "UPDATE directory_journal SET attempts = ?2, next_attempt_at = ?3, last_error = ?4
                 WHERE ecs_id = ?1",
            )?;
            for ecs_id in ecs_ids {
                let Some(attempts) = read
                    .query_row([ecs_id], |r| r.get::<_, i64>(0))
                    .optional()?
                else {
                    continue;
                };
                let attempts = attempts.saturating_add(1);
                let next = retry_at(attempts);
                write.execute(params![ecs_id, attempts, next, error])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// `directory diff --fix`: queues `desired` for each account whose entry differs from it or
    /// is missing, whatever the journal held; one transaction.
    pub(crate) fn directory_requeue(&mut self, desired: &[&Desired]) -> Result<usize, StoreError> {
        self.writable()?;
        let at = now();
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached(REQUEUE)?;
            for d in desired {
                n += stmt.execute(params![d.ecs_id, d.to_json(), Option::<i64>::None, at])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// How many accounts the store holds (about how many entries the subtree holds).
    pub(crate) fn directory_account_count(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// How many accounts are not stopped: the entries that are unlocked (the lock guard's base).
    pub(crate) fn directory_unlocked_accounts(&self) -> Result<usize, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM accounts WHERE state <> 'stopped'",
            [],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The desired directory state of every account in the store, in ECS-ID order (for
    /// `directory diff`). Stopped accounts are included: their entries stay, locked.
    pub(crate) fn directory_accounts(&self) -> Result<Vec<Desired>, StoreError> {
        desired_of(&self.conn, "")
    }

    /// The accounts the journal has no row for, as rows to push: the accounts of a store
    /// imported or applied while `[directory]` was not configured (those nights queue
    /// nothing). Two counts when the journal covers every account, as it does after the first
    /// push.
    pub(crate) fn directory_unqueued(&self) -> Result<Vec<JournalRow>, StoreError> {
        unqueued(&self.conn)
    }

    /// Queues [`Store::directory_unqueued`], read and written in one transaction (an `apply`
    /// committing in between cannot have its newer state overwritten); returns how many.
    pub(crate) fn directory_seed(&mut self) -> Result<usize, StoreError> {
        self.writable()?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rows = unqueued(&tx)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let n = queue_rows(&tx, rows, None, &now())?;
        tx.commit()?;
        Ok(n)
    }
}

/// See [`Store::directory_unqueued`].
fn unqueued(conn: &rusqlite::Connection) -> Result<Vec<JournalRow>, StoreError> {
    let count = |table: &str| -> Result<i64, StoreError> {
        Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
    };
    if count("directory_journal")? >= count("accounts")? {
        return Ok(Vec::new());
    }
    let missing = desired_of(
        conn,
        "WHERE NOT EXISTS (SELECT 1 FROM directory_journal j WHERE j.ecs_id = accounts.ecs_id)",
    )?;
    Ok(missing.into_iter().map(JournalRow::new).collect())
}

/// The desired directory state of the accounts `filter` (a `WHERE` clause, or nothing) selects,
/// in ECS-ID order.
fn desired_of(conn: &rusqlite::Connection, filter: &str) -> Result<Vec<Desired>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT ecs_id, kumoi, name, name_kana, faculty, status, role, state
         FROM accounts {filter} ORDER BY ecs_id"
    ))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(Desired {
            ecs_id: r.get(0)?,
            kumoi: r.get(1)?,
            name: r.get(2)?,
            name_kana: r.get(3)?,
            faculty: r.get(4)?,
            status: r.get(5)?,
            role: r.get(6)?,
            state: r.get(7)?,
        });
    }
    Ok(out)
}

/// The retry time after `attempts` failed attempts: 5 minutes, doubling, at most 6 hours.
fn retry_at(attempts: i64) -> String {
    let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 10)).unwrap_or(10);
    let mins = (5i64 << shift).min(360);
    (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo) + chrono::Duration::minutes(mins))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}
