//! [`Store::apply`]: a whole plan in one transaction, on two threads.
//!
//! The writing connection holds the write lock from its first statement to the commit, so the
//! last committed state, which any other connection reads, is exactly the state it started
//! from. A second thread uses that: on its own read connection it looks up what each account
//! was before its action, decides how the row is written ([`How`]), encodes the derived
//! `triage` column and the history row, and hands these to the writer in batches, in ECS-ID
//! order. The writer only executes statements. B-tree work and lookups plus JSON then run on
//! two cores, and the reader's connection is closed before the commit, so the checkpoint that
//! follows it can copy the whole write-ahead log.
//!
//! History rows hold, for a new account, the whole account (`after_json`); for any other
//! action, the fields that changed: their values before (`before_json`) and after
//! (`after_json`). Rows written before this change hold whole accounts on both sides; `show`
//! reads both kinds the same way.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;

use rusqlite::{Statement, Transaction, TransactionBehavior};
use serde_json::{Map, Value};

use super::keys;
use super::{
    ACCOUNT_COLUMNS, AFTER_ACCOUNT_COLUMNS, ApplyExtra, ApplySummary, FileRecord, INSERT_HISTORY,
    INSERT_STUDENT_NO, Store, StoreError, UPDATE_ACCOUNT, account_from_row, bump_revision,
    digest_of, execute_account, insert_sql, next_serial_of, now, raise_next_serial, record_file,
    write_student_nos,
};
use crate::domain::account::Account;
use crate::domain::model::{EcsId, StudentNo};
use crate::domain::plan::{Action, ActionKind, Plan};
use crate::store::migrations::review_about;

/// Actions per batch handed from the reader to the writer.
const BATCH: usize = 1_024;
/// Batches the reader may run ahead of the writer.
const AHEAD: usize = 8;

/// How an account's row is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// A new account: inserted, with its activation key hash if it has one, and its student
    /// numbers.
    Insert,
    /// Same KUMOI and 個人番号: every other column, so SQLite leaves those two indexes alone; the
    /// student numbers only as far as they changed.
    Update { student_nos: Numbers },
    /// KUMOI or 個人番号 changed (or the account was not found): the whole row and all its
    /// student numbers.
    Replace,
}

/// Which student numbers a written account writes: an insert all of them from the first, a
/// replace all of them after deleting the stored ones, an update as far as they changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Numbers {
    /// None: they did not change.
    Same,
    /// The stored numbers are the first ones of the new list (a number was added, as at a
    /// renumbering, R7): the new ones, from this position on. The stored rows and their index
    /// entries stay as they are.
    From(usize),
    /// Any other change: all of them, after deleting the stored ones.
    All,
}

impl Numbers {
    pub(super) fn between(before: &[StudentNo], after: &[StudentNo]) -> Numbers {
        if before == after {
            Numbers::Same
        } else if after.starts_with(before) {
            Numbers::From(before.len())
        } else {
            Numbers::All
        }
    }

    /// Writes the student numbers of `a` as this says.
    fn write(
        self,
        insert_sn: &mut Statement<'_>,
        delete_sn: &mut Statement<'_>,
        a: &Account,
    ) -> Result<(), StoreError> {
        match self {
            Numbers::Same => Ok(()),
            Numbers::From(from) => write_student_nos(insert_sn, None, a, from),
            Numbers::All => write_student_nos(insert_sn, Some(delete_sn), a, 0),
        }
    }
}

/// One action of the plan, ready for the writer.
struct Step<'p> {
    action: &'p Action,
    write: Option<Write<'p>>,
}

/// An account row to write and its history row.
struct Write<'p> {
    after: &'p Account,
    how: How,
    triage: Vec<u8>,
    before_json: Option<String>,
    after_json: String,
}

impl Store {
    /// Applies a plan in one transaction, or refuses it ([`StoreError::Stale`]) when the store
    /// is no longer at the state the plan was made on.
    ///
    /// Each action's `after` account is written as is (its student numbers replace the stored
    /// ones) with a history row of what changed (see the module docs); review items are
    /// queued; `next_serial` is raised to the plan's (and past every created ECS-ID); the
    /// plan's input files are recorded as processed; the revision is bumped.
    ///
    /// A review item about a situation the queue has already (open or resolved) is not queued
    /// again (see `migrations::review_about`). `extra` adds the activation key hashes of created accounts and a hook that runs
    /// inside the transaction just before the commit (the outbox).
    ///
    /// Its commit is on disk before this returns ([`Store::durably`]): the letters, mail and
    /// directory writes that follow it cannot outlive it.
    pub fn apply(
        &mut self,
        plan: &Plan,
        run_id: i64,
        extra: &ApplyExtra<'_>,
    ) -> Result<ApplySummary, StoreError> {
        self.writable()?;
        self.durably(|store| store.apply_in_transaction(plan, run_id, extra))
    }

    fn apply_in_transaction(
        &mut self,
        plan: &Plan,
        run_id: i64,
        extra: &ApplyExtra<'_>,
    ) -> Result<ApplySummary, StoreError> {
        // Tests kill the process here, after half of the actions are written (see `fault`).
        let fault = crate::fault::at("apply-mid");
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = digest_of(&tx)?;
        if found != plan.store_digest {
            return Err(StoreError::Stale {
                expected: plan.store_digest.clone(),
                found,
            });
        }
        let key_hashes = key_hashes(plan, extra.key_hashes)?;
        let at = now();
        let clock = std::time::Instant::now();
        // In ECS-ID order (stable: one account's actions keep the plan's order), so the B-trees
        // keyed by ECS-ID are written front to back instead of at random pages.
        let mut ordered: Vec<&Action> = plan.actions.iter().collect();
        ordered.sort_by(|a, b| a.ecs_id.cmp(&b.ecs_id));
        let writes = Writes {
            key_hashes: &key_hashes,
            run_id,
            at: &at,
        };
        let mut summary = write_actions(&tx, &path, &plan.store_digest, &ordered, &writes, fault)?;
        tracing::info!(
            ms = clock.elapsed().as_millis(),
            "accounts and history written"
        );
        let serial_after = extra.ids.serial_after(created_ids(plan));
        raise_next_serial(&tx, plan.next_serial.max(serial_after))?;
        for input in &plan.inputs {
            let f = FileRecord {
                sha256: &input.sha256,
                name: &input.name,
                kind: input.kind.as_str(),
                rows: input.rows,
            };
            summary.files += record_file(&tx, f, Some(run_id), &at)?;
        }
        // The directory's desired state of every account the plan touched, in plan order so
        // an account's last action wins; committed with the accounts or not at all.
        if extra.directory {
            super::directory::queue(
                &tx,
                plan.actions.iter().filter_map(|a| a.after.as_ref()),
                Some(run_id),
                &at,
            )?;
        }
        let clock = std::time::Instant::now();
        if let Some(hook) = extra.before_commit {
            hook(&tx)?;
        }
        tracing::info!(ms = clock.elapsed().as_millis(), "outbox written");
        let clock = std::time::Instant::now();
        bump_revision(&tx)?;
        summary.next_serial = next_serial_of(&tx)?;
        summary.digest = digest_of(&tx)?;
        tx.commit()?;
        tracing::info!(ms = clock.elapsed().as_millis(), "committed");
        Ok(summary)
    }
}

/// What every write of one apply shares.
struct Writes<'a> {
    key_hashes: &'a HashMap<&'a str, &'a str>,
    run_id: i64,
    at: &'a str,
}

/// Writes the plan's actions (in `ordered`, ECS-ID order) inside `tx`: a reader thread on its
/// own connection reads each account's stored row and prepares the writes ([`prepare`]) a few
/// batches ahead of this thread, which writes them. With `fault`, the process aborts after half
/// of them (the crash tests).
fn write_actions(
    tx: &Transaction<'_>,
    path: &Path,
    digest: &str,
    ordered: &[&Action],
    writes: &Writes<'_>,
    fault: bool,
) -> Result<ApplySummary, StoreError> {
    let half = (ordered.len() / 2).max(1);
    let mut summary = ApplySummary::default();
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let (send, batches) = mpsc::sync_channel(AHEAD);
        std::thread::Builder::new()
            .name("apply-reader".into())
            .spawn_scoped(scope, move || {
                if let Err(e) = prepare(path, digest, ordered, &send) {
                    // The writer stops at the error; if it is gone already, so is the need.
                    let _ = send.send(Err(e));
                }
            })
            .map_err(|e| StoreError::Corrupt(format!("cannot start a thread: {e}")))?;
        let mut statements = Statements::prepare(tx)?;
        let mut done = 0;
        let mut waited = std::time::Duration::ZERO;
        let mut batches = batches.into_iter();
        // Ends when the reader has sent every step (and dropped its sender).
        loop {
            let t = std::time::Instant::now();
            let Some(batch) = batches.next() else { break };
            waited += t.elapsed();
            for step in batch? {
                if let Some(w) = &step.write {
                    statements.write_account(w, step.action, writes)?;
                    summary.accounts += 1;
                }
                if step.action.kind == ActionKind::Review {
                    summary.reviews += statements.queue_review(step.action, writes.run_id)?;
                }
                done += 1;
                if fault && done == half {
                    std::process::abort();
                }
            }
        }
        tracing::info!(ms = waited.as_millis(), "the writer waited for the reader");
        if done != ordered.len() {
            return Err(StoreError::Corrupt(format!(
                "apply prepared {done} of the plan's {} actions",
                ordered.len()
            )));
        }
        Ok(())
    })?;
    Ok(summary)
}

/// The statements the apply transaction writes with, prepared once.
struct Statements<'t> {
    insert: Statement<'t>,
    replace: Statement<'t>,
    update: Statement<'t>,
    insert_sn: Statement<'t>,
    delete_sn: Statement<'t>,
    history: Statement<'t>,
    review_seen: Statement<'t>,
    review: Statement<'t>,
}

impl<'t> Statements<'t> {
    fn prepare(tx: &'t Transaction<'_>) -> Result<Statements<'t>, StoreError> {
        Ok(Statements {
            insert: tx.prepare(&insert_sql(false))?,
            replace: tx.prepare(&insert_sql(true))?,
            update: tx.prepare(UPDATE_ACCOUNT)?,
            insert_sn: tx.prepare(INSERT_STUDENT_NO)?,
            delete_sn: tx.prepare("DELETE FROM student_nos WHERE ecs_id = ?1")?,
            history: tx.prepare(INSERT_HISTORY)?,
            // An item about an ECS-ID no account has (a row naming an unknown account) links
            // to no account: the ECS-ID stays in its details. The same situation found again
            // (another night, file or row: see `review_about`) is not queued again: the open
            // item is brought up to date, and a resolved one stays resolved.
            review_seen: tx.prepare(concat!(
                "UPDATE review SET last_run = ?1, seen = seen + 1, source_file = ?4, \
                 source_row = ?5, details_json = ?6 WHERE status = 'open' AND about = (",
                review_about!("?2", "?6"),
                ")"
            ))?,
            review: tx.prepare(concat!(
                "INSERT INTO review (run_id, last_run, reason, ecs_id, source_file, source_row, \
                 details_json) \
                 SELECT ?1, ?1, ?2, (SELECT ecs_id FROM accounts WHERE ecs_id = ?3), ?4, ?5, ?6 \
                 WHERE NOT EXISTS (SELECT 1 FROM review WHERE about = (",
                review_about!("?2", "?6"),
                "))"
            ))?,
        })
    }

    /// Writes an account row, its student numbers and its history row.
    fn write_account(
        &mut self,
        w: &Write<'_>,
        action: &Action,
        writes: &Writes<'_>,
    ) -> Result<(), StoreError> {
        let a = w.after;
        let numbers = match w.how {
            How::Insert => {
                let hash = writes.key_hashes.get(a.ecs_id.as_str()).copied();
                execute_account(&mut self.insert, a, &w.triage, hash)?;
                Numbers::From(0)
            }
            How::Update { student_nos } => {
                if execute_account(&mut self.update, a, &w.triage, None)? != 1 {
                    return Err(StoreError::Corrupt(format!(
                        "account `{}` vanished during apply",
                        a.ecs_id
                    )));
                }
                student_nos
            }
            How::Replace => {
                execute_account(&mut self.replace, a, &w.triage, None)?;
                Numbers::All
            }
        };
        numbers.write(&mut self.insert_sn, &mut self.delete_sn, a)?;
        self.history.execute((
            writes.run_id,
            a.ecs_id.as_str(),
            action.kind.as_str(),
            action.rule.as_str(),
            w.before_json.as_deref(),
            w.after_json.as_str(),
            writes.at,
        ))?;
        Ok(())
    }

    /// Queues a review item unless an item about the same situation exists (an open one is
    /// brought up to date); returns how many were queued.
    fn queue_review(&mut self, action: &Action, run_id: i64) -> Result<usize, StoreError> {
        let reason = match &action.review {
            Some(r) => r.as_str().to_string(),
            None => "unspecified".to_string(),
        };
        let params = (
            run_id,
            reason,
            action.ecs_id.as_ref().map(EcsId::as_str),
            action.source.as_ref().map(|s| s.file.as_str()),
            action.source.as_ref().map(|s| s.row),
            serde_json::to_string(action)?,
        );
        if self.review_seen.execute(params.clone())? > 0 {
            return Ok(0);
        }
        Ok(self.review.execute(params)?)
    }
}

/// The activation key hashes by ECS-ID; every one must be for an account the plan creates.
fn key_hashes<'e>(
    plan: &Plan,
    hashes: &'e [(String, String)],
) -> Result<HashMap<&'e str, &'e str>, StoreError> {
    let created: std::collections::HashSet<&str> = created_ids(plan).collect();
    hashes
        .iter()
        .map(|(ecs_id, hash)| {
            if created.contains(ecs_id.as_str()) {
                Ok((ecs_id.as_str(), hash.as_str()))
            } else {
                Err(StoreError::KeyWithoutAccount {
                    ecs_id: ecs_id.clone(),
                })
            }
        })
        .collect()
}

/// The ECS-IDs of the accounts `plan` creates.
fn created_ids(plan: &Plan) -> impl Iterator<Item = &str> {
    plan.actions
        .iter()
        .filter(|a| a.kind == ActionKind::Create)
        .filter_map(|a| a.after.as_ref())
        .map(|a| a.ecs_id.as_str())
}

/// The reader: every action of `ordered` as a [`Step`], in order, in batches, read on its own
/// connection at `digest`. An account with several actions is written once per action; each
/// one's `before` is the previous one's `after`.
fn prepare<'p>(
    path: &std::path::Path,
    digest: &str,
    ordered: &[&'p Action],
    send: &mpsc::SyncSender<Result<Vec<Step<'p>>, StoreError>>,
) -> Result<(), StoreError> {
    let clock = std::time::Instant::now();
    let conn = super::open_reader(path)?;
    let tx = conn.unchecked_transaction()?;
    let found = digest_of(&tx)?;
    if found != digest {
        return Err(keys::changed(digest, &found));
    }
    let mut stmt = tx.prepare(&format!(
        "SELECT {ACCOUNT_COLUMNS}, triage FROM accounts WHERE ecs_id = ?1"
    ))?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut last: Option<&Account> = None;
    for &action in ordered {
        let write = match &action.after {
            None => None,
            Some(after) => {
                let before = match last {
                    Some(prev) if prev.ecs_id == after.ecs_id => Some(prev.clone()),
                    _ => read(&mut stmt, &after.ecs_id)?,
                };
                last = Some(after);
                Some(Write::new(action, before.as_ref(), after)?)
            }
        };
        batch.push(Step { action, write });
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if send.send(Ok(full)).is_err() {
                // The writer stopped (it failed); nothing more is needed.
                return Ok(());
            }
        }
    }
    drop(stmt);
    tx.finish()?;
    drop(conn);
    tracing::info!(
        ms = clock.elapsed().as_millis(),
        "the reader prepared every action"
    );
    if !batch.is_empty() {
        let _ = send.send(Ok(batch));
    }
    Ok(())
}

/// One account with its student numbers (from its `triage` column), if it is in the store.
fn read(stmt: &mut Statement<'_>, ecs_id: &EcsId) -> Result<Option<Account>, StoreError> {
    let mut rows = stmt.query([ecs_id.as_str()])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut account = account_from_row(row)?;
    let (_, nos) = keys::triage_of(row, AFTER_ACCOUNT_COLUMNS, ecs_id.as_str())?;
    account.student_nos.extend(nos.map(StudentNo::new));
    Ok(Some(account))
}

impl<'p> Write<'p> {
    fn new(
        action: &Action,
        before: Option<&Account>,
        after: &'p Account,
    ) -> Result<Self, StoreError> {
        let how = match before {
            Some(_) if action.kind == ActionKind::Create => {
                return Err(StoreError::EcsIdTaken {
                    ecs_id: after.ecs_id.to_string(),
                });
            }
            None if action.kind == ActionKind::Create => How::Insert,
            Some(b) if b.kumoi == after.kumoi && b.person_id == after.person_id => How::Update {
                student_nos: Numbers::between(&b.student_nos, &after.student_nos),
            },
            _ => How::Replace,
        };
        let (before_json, after_json) = history_json(before, after)?;
        Ok(Write {
            after,
            how,
            triage: keys::derived(after),
            before_json,
            after_json,
        })
    }
}

/// The two JSON objects of a history row: none and the whole account for a new one; otherwise
/// the fields that changed, with their values before and after.
fn history_json(
    before: Option<&Account>,
    after: &Account,
) -> Result<(Option<String>, String), serde_json::Error> {
    let Some(before) = before else {
        return Ok((None, serde_json::to_string(after)?));
    };
    let (Value::Object(was), Value::Object(now)) =
        (serde_json::to_value(before)?, serde_json::to_value(after)?)
    else {
        // An account always serializes to an object.
        return Ok((
            Some(serde_json::to_string(before)?),
            serde_json::to_string(after)?,
        ));
    };
    let mut old = Map::new();
    let mut new = Map::new();
    for (field, value) in now {
        let prior = was.get(&field).cloned().unwrap_or(Value::Null);
        if prior != value {
            old.insert(field.clone(), prior);
            new.insert(field, value);
        }
    }
    Ok((
        Some(Value::Object(old).to_string()),
        Value::Object(new).to_string(),
    ))
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::model::{PersonId, Status};

    fn account() -> Account {
        Account {
            kumoi: "taro.yamada".into(),
            person_id: Some(PersonId::new("P1")),
            student_nos: vec![StudentNo::new("1029000001")],
            name: "山田 太郎".into(),
            name_kana: "ヤマダ タロウ".into(),
            birth_date: chrono::NaiveDate::from_ymd_opt(2004, 5, 6),
            status: Some(Status::Undergraduate),
            ..Account::sample("a0100001")
        }
    }

    #[test]
    fn history_of_a_new_account_is_the_whole_account() {
        let a = account();
        let (before, after) = history_json(None, &a).unwrap();
        assert_eq!(before, None);
        assert_eq!(after, serde_json::to_string(&a).unwrap());
    }

    #[test]
    fn history_of_a_change_holds_only_the_changed_fields() {
        let before = account();
        let mut after = before.clone();
        after.student_nos.push(StudentNo::new("6930000001"));
        after.faculty = "工学研究科".into();
        after.stop_on = chrono::NaiveDate::from_ymd_opt(2026, 4, 30);
        let (was, now) = history_json(Some(&before), &after).unwrap();
        let was: Value = serde_json::from_str(&was.unwrap()).unwrap();
        let now: Value = serde_json::from_str(&now).unwrap();
        assert_eq!(
            was,
            serde_json::json!({"student_nos": ["1029000001"], "faculty": "工学部", "stop_on": null})
        );
        assert_eq!(
            now,
            serde_json::json!({
                "student_nos": ["1029000001", "6930000001"], "faculty": "工学研究科",
                "stop_on": "2026-04-30"
            })
        );
        let (was, now) = history_json(Some(&before), &before).unwrap();
        assert_eq!((was.as_deref(), now.as_str()), (Some("{}"), "{}"));
    }
}
