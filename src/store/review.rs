//! The review queue: items that need a person (docs/contract.md: the `review` action). `apply` queues
//! them, one per situation (`migrations::review_about`): the same situation on a later night
//! updates the open item, and a resolved one stays resolved. `regsync review list` shows the
//! open ones; `regsync review resolve` closes one:
//! - with a note only ([`Store::resolve_review`]): bookkeeping, which does not change what a
//!   plan is computed on, so it does not bump the store's revision;
//! - `--same-as ECS-ID` ([`Store::link_review`]): the row's student number (and 個人番号, when
//!   the account has none) join that account, so the next plan matches the row to it (R2);
//! - `--different-person`: the candidates are not the row's person, so the next plan creates an
//!   account for it (R1, R2);
//! - `--keep-ours` (an ECS-ID mismatch, R6): the ECS-ID the registry wrote is not this person's;
//!   the next plan matches the row by its 個人番号 and student number and ignores that ECS-ID;
//! - `--accept-registry` (an ECS-ID mismatch, R6): the registry is right: the row's student
//!   number (and 個人番号) move from the account on record to the registry's ECS-ID, which must
//!   be on record (regsync never takes an ECS-ID it did not allocate, R2).
//!
//! The two that act change the next plan, so they bump the revision and write history.

use rusqlite::{OptionalExtension, Row, Transaction, TransactionBehavior};
use serde::Serialize;

use super::{
    INSERT_HISTORY, INSERT_STUDENT_NO, Store, StoreError, bump_revision, execute_account,
    insert_sql, load_account, now,
};
use crate::domain::model::{PersonId, StudentNo};
use crate::domain::plan::Action;
use crate::store::keys;

/// One review item as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ReviewItem {
    pub id: i64,
    pub run_id: Option<i64>,
    /// The snake_case name of the plan's `ReviewReason`.
    pub reason: String,
    pub ecs_id: Option<String>,
    pub source_file: Option<String>,
    pub source_row: Option<i64>,
    /// The plan's action, as JSON.
    pub details_json: String,
    /// `open` or `resolved`.
    pub status: String,
    pub resolution: Option<String>,
    pub resolved_at: Option<String>,
    /// The last run that found the situation again, and on how many runs it was found.
    pub last_run: Option<i64>,
    pub seen: i64,
}

const COLUMNS: &str = "id, run_id, reason, ecs_id, source_file, source_row, details_json, \
    status, resolution, resolved_at, last_run, seen";

fn item(r: &Row<'_>) -> rusqlite::Result<ReviewItem> {
    Ok(ReviewItem {
        id: r.get(0)?,
        run_id: r.get(1)?,
        reason: r.get(2)?,
        ecs_id: r.get(3)?,
        source_file: r.get(4)?,
        source_row: r.get(5)?,
        details_json: r.get(6)?,
        status: r.get(7)?,
        resolution: r.get(8)?,
        resolved_at: r.get(9)?,
        last_run: r.get(10)?,
        seen: r.get(11)?,
    })
}

/// How `review resolve` settles an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// Bookkeeping only: the note says what was done.
    Dismiss,
    /// The row's person is this account (R2).
    SameAs(String),
    /// The row's person is none of the candidates.
    DifferentPerson,
    /// R6: the registry's ECS-ID is not this person's; ours stands.
    KeepOurs,
    /// R6: the registry's ECS-ID is this person's; the identifiers move to it.
    AcceptRegistry,
}

/// The open item `id` in `tx`, or why it cannot be resolved.
fn open_item(tx: &Transaction<'_>, id: i64) -> Result<ReviewItem, StoreError> {
    let found = tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM review WHERE id = ?1"),
            [id],
            item,
        )
        .optional()?;
    let Some(found) = found else {
        return Err(StoreError::ReviewNotFound { id });
    };
    if found.status != "open" {
        return Err(StoreError::ReviewResolved {
            id,
            at: found.resolved_at.unwrap_or_default(),
        });
    }
    Ok(found)
}

/// The action and row's student number of an item of kind `reason`, which the acting
/// resolutions (`how`) need; any other kind, or a row without a student number, is refused.
fn item_row(
    found: &ReviewItem,
    how: &str,
    reason: &str,
) -> Result<(Action, StudentNo), StoreError> {
    if found.reason != reason {
        return Err(cannot(
            found,
            how,
            &format!(
                "it applies to `{reason}` items, and this one is `{}`; resolve it with a note",
                found.reason
            ),
        ));
    }
    let action: Action = serde_json::from_str(&found.details_json)?;
    let student_no = action
        .person
        .student_no
        .clone()
        .ok_or_else(|| cannot(found, how, "the row has no student number"))?;
    Ok((action, student_no))
}

fn cannot(found: &ReviewItem, how: &str, why: &str) -> StoreError {
    StoreError::ReviewCannot {
        id: found.id,
        how: how.to_string(),
        why: why.to_string(),
    }
}

/// The row's student number of a `name_birth_candidate` item, and its action.
fn candidate_row(found: &ReviewItem, how: &str) -> Result<(Action, StudentNo), StoreError> {
    item_row(found, how, "name_birth_candidate")
}

/// The row's student number of an `ecs_id_mismatch` item (R6), the account on record and the
/// ECS-ID the registry wrote, and its action.
fn mismatch_row(
    found: &ReviewItem,
    how: &str,
) -> Result<(Action, StudentNo, String, String), StoreError> {
    let (action, student_no) = item_row(found, how, "ecs_id_mismatch")?;
    let ours = action
        .ecs_id
        .as_ref()
        .map(|e| e.as_str().to_string())
        .ok_or_else(|| cannot(found, how, "the item names no account on record"))?;
    let registry = action
        .candidates
        .first()
        .map(|e| e.as_str().to_string())
        .ok_or_else(|| {
            cannot(
                found,
                how,
                "the item does not say which ECS-ID the registry wrote (queued before this resolution existed); resolve it with a note",
            )
        })?;
    Ok((action, student_no, ours, registry))
}

/// Marks the item resolved inside `tx`.
fn close(tx: &Transaction<'_>, id: i64, resolution: &str, at: &str) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE review SET status = 'resolved', resolution = ?2, resolved_at = ?3 \
         WHERE id = ?1 AND status = 'open'",
        (id, resolution, at),
    )?;
    Ok(())
}

impl Store {
    /// The open review items, oldest first.
    pub(crate) fn open_reviews(&self) -> Result<Vec<ReviewItem>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM review WHERE status = 'open' ORDER BY id"
        ))?;
        let rows = stmt.query_map([], item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The open review items whose row names `id` as its student number, 個人番号 or ECS-ID.
    pub(crate) fn open_reviews_naming(&self, id: &str) -> Result<Vec<ReviewItem>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM review WHERE status = 'open' AND ?1 IN ( \
             json_extract(details_json, '$.person.student_no'), \
             json_extract(details_json, '$.person.person_id'), \
             json_extract(details_json, '$.ecs_id')) ORDER BY id"
        ))?;
        let rows = stmt.query_map([id], item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every review item about one account, oldest first.
    pub(crate) fn reviews_for(&self, ecs_id: &str) -> Result<Vec<ReviewItem>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM review WHERE ecs_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([ecs_id], item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Resolves the open item `id` as `how` says, with `note` and the current time, in one
    /// transaction; an unknown or already resolved item is an error, and so is an acting
    /// resolution the item does not allow (the store is then unchanged).
    pub(crate) fn resolve_review(
        &mut self,
        id: i64,
        how: &Resolution,
        note: &str,
        run_id: Option<i64>,
    ) -> Result<ReviewItem, StoreError> {
        self.writable()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = open_item(&tx, id)?;
        let at = now();
        let resolution = match how {
            Resolution::Dismiss => note.to_string(),
            Resolution::SameAs(ecs_id) => {
                link(&tx, &found, ecs_id, run_id, &at)?;
                format!("same-as {ecs_id}: {note}")
            }
            Resolution::DifferentPerson => {
                let (action, student_no) = candidate_row(&found, "--different-person")?;
                for c in &action.candidates {
                    tx.execute(
                        "INSERT OR IGNORE INTO distinct_persons (student_no, ecs_id, review_id) \
                         SELECT ?1, ecs_id, ?3 FROM accounts WHERE ecs_id = ?2",
                        (student_no.as_str(), c.as_str(), id),
                    )?;
                }
                bump_revision(&tx)?;
                format!("different-person: {note}")
            }
            Resolution::KeepOurs => {
                let (_, student_no, ours, registry) = mismatch_row(&found, "--keep-ours")?;
                tx.execute(
                    "INSERT OR IGNORE INTO distinct_persons (student_no, ecs_id, review_id)                      VALUES (?1, ?2, ?3)",
                    (student_no.as_str(), registry.as_str(), id),
                )?;
                bump_revision(&tx)?;
                format!("keep-ours {ours} (not {registry}): {note}")
            }
            Resolution::AcceptRegistry => {
                let (ours, registry) = accept_registry(&tx, &found, run_id, &at)?;
                format!("accept-registry {registry} (was {ours}): {note}")
            }
        };
        close(&tx, id, &resolution, &at)?;
        tx.commit()?;
        Ok(ReviewItem {
            status: "resolved".into(),
            resolution: Some(resolution),
            resolved_at: Some(at),
            ..found
        })
    }
}

/// `--same-as`: the row's student number (and its 個人番号 when the account has none) join the
/// account `ecs_id`, with a history row, so the next plan matches the row to it (R2).
fn link(
    tx: &Transaction<'_>,
    found: &ReviewItem,
    ecs_id: &str,
    run_id: Option<i64>,
    at: &str,
) -> Result<(), StoreError> {
    let (action, student_no) = candidate_row(found, "--same-as")?;
    let refuse = |why: String| StoreError::ReviewCannot {
        id: found.id,
        how: "--same-as".into(),
        why,
    };
    let before = load_account(tx, ecs_id)?
        .ok_or_else(|| refuse(format!("there is no account `{ecs_id}`")))?;
    // Never two people on one ECS-ID by a slip of the keyboard: an item that names candidates
    // links to one of them.
    let names: Vec<&str> = action.candidates.iter().map(|c| c.as_str()).collect();
    if !names.is_empty() && !names.contains(&ecs_id) {
        return Err(refuse(format!(
            "`{ecs_id}` is not one of the item's candidates ({}); name one of them, or resolve with `--different-person`",
            names.join(", ")
        )));
    }

    let holder: Option<String> = tx
        .query_row(
            "SELECT ecs_id FROM student_nos WHERE student_no = ?1",
            [student_no.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(holder) = holder.filter(|h| h != ecs_id) {
        return Err(refuse(format!(
            "student number `{student_no}` is already on `{holder}`; an identifier is never on two accounts (R2)"
        )));
    }
    let mut after = before.clone();
    if !after.student_nos.contains(&student_no) {
        after.student_nos.push(student_no.clone());
    }
    if let (None, Some(p)) = (&after.person_id, &action.person.person_id) {
        let other: Option<String> = tx
            .query_row(
                "SELECT ecs_id FROM accounts WHERE person_id = ?1",
                [p.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(other) = other {
            return Err(refuse(format!("個人番号 `{p}` is already on `{other}`")));
        }
        after.person_id = Some(PersonId::new(p.as_str()));
    }
    let mut upsert = tx.prepare(&insert_sql(true))?;
    execute_account(&mut upsert, &after, &keys::derived(&after), None)?;
    if before.student_nos.len() < after.student_nos.len() {
        tx.execute(
            INSERT_STUDENT_NO,
            (
                ecs_id,
                (after.student_nos.len() - 1) as i64,
                student_no.as_str(),
            ),
        )?;
    }
    tx.execute(
        INSERT_HISTORY,
        (
            run_id,
            ecs_id,
            "link",
            "R2",
            serde_json::to_string(&before)?,
            serde_json::to_string(&after)?,
            at,
        ),
    )?;
    bump_revision(tx)
}

/// `--accept-registry`: the row's student number, and its 個人番号 when the account on record
/// holds it, leave that account and join the account the registry names, with a history row
/// on each; returns (ours, the registry's). The registry's ECS-ID must be on record.
fn accept_registry(
    tx: &Transaction<'_>,
    found: &ReviewItem,
    run_id: Option<i64>,
    at: &str,
) -> Result<(String, String), StoreError> {
    let (action, student_no, ours, registry) = mismatch_row(found, "--accept-registry")?;
    let refuse = |why: String| StoreError::ReviewCannot {
        id: found.id,
        how: "--accept-registry".into(),
        why,
    };
    let Some(to_before) = load_account(tx, &registry)? else {
        return Err(refuse(format!(
            "the registry's ECS-ID `{registry}` is on no account; regsync never takes an ECS-ID it did not allocate (R2): have the registry corrected, or resolve with --keep-ours"
        )));
    };
    let from_before =
        load_account(tx, &ours)?.ok_or_else(|| refuse(format!("there is no account `{ours}`")))?;
    let person_id = action.person.person_id.as_ref();
    if let (Some(have), Some(row)) = (&to_before.person_id, person_id)
        && have.as_str() != row.as_str()
    {
        return Err(refuse(format!(
            "`{registry}` has 個人番号 `{have}`, the row `{row}`: they are different people"
        )));
    }
    let mut from = from_before.clone();
    from.student_nos.retain(|s| *s != student_no);
    let moves_person = person_id.is_some() && from.person_id.as_ref() == person_id;
    if moves_person {
        from.person_id = None;
    }
    let mut to = to_before.clone();
    if !to.student_nos.contains(&student_no) {
        to.student_nos.push(student_no.clone());
    }
    if to.person_id.is_none() && moves_person {
        to.person_id = person_id.map(|p| PersonId::new(p.as_str()));
    }
    tx.execute(
        "DELETE FROM student_nos WHERE ecs_id = ?1 AND student_no = ?2",
        (&ours, student_no.as_str()),
    )?;
    let mut upsert = tx.prepare(&insert_sql(true))?;
    // The 個人番号 leaves one account before it joins the other (it is unique).
    execute_account(&mut upsert, &from, &keys::derived(&from), None)?;
    execute_account(&mut upsert, &to, &keys::derived(&to), None)?;
    if to_before.student_nos.len() < to.student_nos.len() {
        let position: i64 = tx.query_row(
            "SELECT coalesce(max(seq) + 1, 0) FROM student_nos WHERE ecs_id = ?1",
            [&registry],
            |r| r.get(0),
        )?;
        tx.execute(
            INSERT_STUDENT_NO,
            (&registry, position, student_no.as_str()),
        )?;
    }
    for (ecs_id, before, after) in [(&ours, &from_before, &from), (&registry, &to_before, &to)] {
        tx.execute(
            INSERT_HISTORY,
            (
                run_id,
                ecs_id,
                "relink",
                "R6",
                serde_json::to_string(before)?,
                serde_json::to_string(after)?,
                at,
            ),
        )?;
    }
    bump_revision(tx)?;
    Ok((ours, registry))
}
