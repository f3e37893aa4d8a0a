//! Whether a store was set up on purpose. `run`, `plan`, `apply` and `mail` work only on a store
//! that `accounts import` (the university's existing account directory) or `init --empty` (a
//! university that really starts with no accounts) set up: a wrong working folder, a wrong
//! `store =` path or a forgotten import must not create a store and provision every student in
//! the export as new (R2).

use std::path::Path;

use chrono::NaiveDate;

use super::{Store, StoreError};

/// What is at a store's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// No file.
    Missing,
    /// A store no import or `init` set up, and with no account (made by an older regsync).
    Uninitialised,
    /// Set up by `accounts import` or `init --empty`, or holding accounts.
    Ready,
}

/// The commands that set a store up, as `runs.command` records them.
const SETUP_COMMANDS: &str = "'accounts import', 'init'";

impl Store {
    /// What is at `path`, read without changing it, whatever its schema version (`runs` and
    /// `accounts` are there from the first; a store to migrate is migrated by the command).
    pub fn setup_of(path: &Path) -> Result<Setup, StoreError> {
        if !path.exists() {
            return Ok(Setup::Missing);
        }
        let conn = super::open_reader(path)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 0 {
            return Ok(Setup::Uninitialised);
        }
        let ready: bool = conn.query_row(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM runs WHERE command IN ({SETUP_COMMANDS})) \
                 OR EXISTS (SELECT 1 FROM accounts)"
            ),
            [],
            |r| r.get(0),
        )?;
        Ok(if ready {
            Setup::Ready
        } else {
            Setup::Uninitialised
        })
    }

    /// `init --empty`: creates the store at `path` (or takes an uninitialised one) and records
    /// that it was set up with no accounts on purpose. Refused when it is set up already.
    pub fn init_empty(path: &Path, today: NaiveDate) -> Result<(), StoreError> {
        if Store::setup_of(path)? == Setup::Ready {
            return Err(StoreError::SetUpAlready {
                path: path.to_path_buf(),
            });
        }
        let mut store = Store::open(path)?;
        let run_id = store.begin_run(today, "init")?;
        store.finish_run(
            run_id,
            "空のストアとして初期化 / set up with no accounts (init --empty)",
        )
    }
}
