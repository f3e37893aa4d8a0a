//! The review queue: items that need a person (docs/contract.md: the `review` action). `apply` queues
//! them; `regsync review list` shows the open ones and `regsync review resolve` closes one with
//! a note. Resolving is bookkeeping: it does not change what a plan is computed on, so it does
//! not bump the store's revision (a reviewed plan stays applicable).

use rusqlite::{OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;

use super::{Store, StoreError, now};

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
}

const COLUMNS: &str = "id, run_id, reason, ecs_id, source_file, source_row, details_json, \
    status, resolution, resolved_at";

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
    })
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

    /// Every review item about one account, oldest first.
    pub(crate) fn reviews_for(&self, ecs_id: &str) -> Result<Vec<ReviewItem>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM review WHERE ecs_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([ecs_id], item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks the open item `id` resolved with `note` and the current time; an unknown or
    /// already resolved item is an error.
    pub(crate) fn resolve_review(&mut self, id: i64, note: &str) -> Result<ReviewItem, StoreError> {
        self.writable()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
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
        let at = now();
        tx.execute(
            "UPDATE review SET status = 'resolved', resolution = ?2, resolved_at = ?3 \
             WHERE id = ?1 AND status = 'open'",
            (id, note, &at),
        )?;
        tx.commit()?;
        Ok(ReviewItem {
            status: "resolved".into(),
            resolution: Some(note.to_string()),
            resolved_at: Some(at),
            ..found
        })
    }
}
