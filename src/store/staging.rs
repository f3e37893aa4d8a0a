//! What the recovery of an interrupted apply asks the store (see `crate::apply::recover`):
//! the activation key hashes its staged letters are checked against, whether a run wrote
//! anything, and the re-issue of keys whose letters were lost.

use std::collections::HashMap;

use rusqlite::{OptionalExtension as _, TransactionBehavior};

use super::{INSERT_HISTORY, Store, StoreError, now};

/// The history action of a re-issued activation key.
pub(crate) const REISSUE_KEY: &str = "reissue_key";

impl Store {
    /// The stored activation key hash of each of `ecs_ids` that has one.
    pub(crate) fn activation_key_hashes(
        &self,
        ecs_ids: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT activation_key_hash FROM accounts WHERE ecs_id = ?1 \
             AND activation_key_hash IS NOT NULL",
        )?;
        let mut found = HashMap::with_capacity(ecs_ids.len());
        for id in ecs_ids {
            if let Some(hash) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
                found.insert(id.clone(), hash);
            }
        }
        Ok(found)
    }

    /// Whether the apply of run `run_id` committed: it wrote history (other than re-issued
    /// keys), an input file, a review item or a notice.
    pub(crate) fn run_applied(&self, run_id: i64) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM history WHERE run_id = ?1 AND action <> ?2) \
             OR EXISTS (SELECT 1 FROM files WHERE run_id = ?1) \
             OR EXISTS (SELECT 1 FROM review WHERE run_id = ?1) \
             OR EXISTS (SELECT 1 FROM outbox WHERE created_run = ?1)",
            (run_id, REISSUE_KEY),
            |r| r.get(0),
        )?)
    }

    /// Which of `ecs_ids` run `run_id` wrote a history row for (a create, or a re-issued key).
    pub(crate) fn written_by_run(
        &self,
        run_id: i64,
        ecs_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM history WHERE run_id = ?1 AND ecs_id = ?2)",
        )?;
        let mut found = Vec::new();
        for id in ecs_ids {
            if stmt.query_row((run_id, id), |r| r.get::<_, bool>(0))? {
                found.push(id.clone());
            }
        }
        Ok(found)
    }

    /// Whether the key of `ecs_id` was re-issued by a run after `run_id`.
    pub(crate) fn reissued_after(&self, ecs_id: &str, run_id: i64) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM history WHERE ecs_id = ?1 AND action = ?2 AND run_id > ?3)",
            (ecs_id, REISSUE_KEY, run_id),
            |r| r.get(0),
        )?)
    }

    /// Replaces the activation key hashes of `hashes` (`(ecs_id, salt$hash)`) in one
    /// transaction, with a history row each. Keys are not part of what a plan is computed on,
    /// so the revision stays. The commit is on disk before this returns ([`Store::durably`]):
    /// the letters with the new keys are published after it.
    pub(crate) fn reissue_keys(
        &mut self,
        run_id: i64,
        hashes: &[(String, String)],
    ) -> Result<(), StoreError> {
        self.writable()?;
        self.durably(|store| store.reissue_in_transaction(run_id, hashes))
    }

    fn reissue_in_transaction(
        &mut self,
        run_id: i64,
        hashes: &[(String, String)],
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let at = now();
        {
            let mut update =
                tx.prepare("UPDATE accounts SET activation_key_hash = ?2 WHERE ecs_id = ?1")?;
            let mut history = tx.prepare(INSERT_HISTORY)?;
            for (ecs_id, hash) in hashes {
                if update.execute((ecs_id, hash))? != 1 {
                    return Err(StoreError::Corrupt(format!(
                        "account `{ecs_id}` to re-issue a key for is not in the store"
                    )));
                }
                history.execute((
                    run_id,
                    ecs_id,
                    REISSUE_KEY,
                    "R4",
                    None::<&str>,
                    None::<&str>,
                    &at,
                ))?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_run_applied_when_it_wrote_anything_but_reissued_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(&tmp.path().join("s.sqlite")).unwrap();
        let day = chrono::NaiveDate::MIN;
        let run = store.begin_run(day, "run").unwrap();
        assert!(!store.run_applied(run).unwrap());
        store
            .conn
            .execute(
                "INSERT INTO files (sha256, name, kind, rows, run_id, processed_at) \
                 VALUES ('x', 'f.csv', 'registrar', 1, ?1, 'now')",
                [run],
            )
            .unwrap();
        assert!(store.run_applied(run).unwrap());
        let other = store.begin_run(day, "run").unwrap();
        assert!(!store.run_applied(other).unwrap());
        assert!(
            store
                .written_by_run(other, &["a0000001".into()])
                .unwrap()
                .is_empty()
        );
    }
}
