//! Reading one person's record for `regsync show`: which account an identifier names, its
//! history and its notices. Read-only; key hashes are never read here.

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::{Store, StoreError};

/// One history row: an action applied to an account, with the account before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRow {
    pub id: i64,
    pub run_id: Option<i64>,
    /// The run's command and `as_of`, when the run is known.
    pub run_command: Option<String>,
    pub run_as_of: Option<String>,
    pub action: String,
    pub rule: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub at: String,
}

/// One outbox row of an account (the body is not read: `show` lists, it does not resend).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NoticeRow {
    pub notice: String,
    pub effective_on: String,
    pub status: String,
    pub attempts: i64,
    pub sent_at: Option<String>,
    pub last_error: Option<String>,
    pub subject: String,
}

/// How an identifier given to `show` matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MatchedBy {
    EcsId,
    StudentNo,
    PersonId,
}

impl Store {
    /// The accounts `id` names, each with how: the account with that ECS-ID, the account that
    /// ever had that student number, the accounts with that 個人番号. Kinds of identifier can
    /// share a value (an 8-digit 個人番号 that is another person's student number): every
    /// account it names is listed, none hidden behind the first.
    pub(crate) fn find_accounts(&self, id: &str) -> Result<Vec<(String, MatchedBy)>, StoreError> {
        let mut found: Vec<(String, MatchedBy)> = Vec::new();
        for (sql, by) in [
            (
                "SELECT ecs_id FROM accounts WHERE ecs_id = ?1",
                MatchedBy::EcsId,
            ),
            (
                "SELECT ecs_id FROM student_nos WHERE student_no = ?1",
                MatchedBy::StudentNo,
            ),
            (
                "SELECT ecs_id FROM accounts WHERE person_id = ?1 ORDER BY ecs_id",
                MatchedBy::PersonId,
            ),
        ] {
            let mut stmt = self.conn.prepare(sql)?;
            let ids: Vec<String> = stmt
                .query_map([id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for e in ids {
                if !found.iter().any(|(f, _)| *f == e) {
                    found.push((e, by));
                }
            }
        }
        Ok(found)
    }

    /// The account's history, oldest first.
    pub fn history(&self, ecs_id: &str) -> Result<Vec<HistoryRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT h.id, h.run_id, r.command, r.as_of, h.action, h.rule, h.before_json, \
             h.after_json, h.at FROM history h LEFT JOIN runs r ON r.id = h.run_id \
             WHERE h.ecs_id = ?1 ORDER BY h.id",
        )?;
        let rows = stmt.query_map([ecs_id], |r| {
            Ok(HistoryRow {
                id: r.get(0)?,
                run_id: r.get(1)?,
                run_command: r.get(2)?,
                run_as_of: r.get(3)?,
                action: r.get(4)?,
                rule: r.get(5)?,
                before_json: r.get(6)?,
                after_json: r.get(7)?,
                at: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The account's notices in the outbox, by effective date.
    pub(crate) fn notices_for(&self, ecs_id: &str) -> Result<Vec<NoticeRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT notice, effective_on, status, attempts, sent_at, last_error, subject \
             FROM outbox WHERE ecs_id = ?1 ORDER BY effective_on, id",
        )?;
        let rows = stmt.query_map([ecs_id], |r| {
            Ok(NoticeRow {
                notice: r.get(0)?,
                effective_on: r.get(1)?,
                status: r.get(2)?,
                attempts: r.get(3)?,
                sent_at: r.get(4)?,
                last_error: r.get(5)?,
                subject: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Store {
    /// Whether regsync issued an activation key for the account (the hash itself never
    /// leaves the store through here).
    pub(crate) fn has_activation_key(&self, ecs_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT activation_key_hash IS NOT NULL FROM accounts WHERE ecs_id = ?1",
                [ecs_id],
                |r| r.get::<_, bool>(0),
            )
            .optional()?
            .unwrap_or(false))
    }
}
