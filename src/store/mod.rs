//! The store: one SQLite file (rusqlite, bundled) that holds every account ever created, its
//! enrollment history, the allocation counter, the runs, the processed input files, the review
//! queue, the append-only history and the outbox of notices.
//!
//! It is created on first use and kept current by numbered migrations ([`migrations`], tracked
//! by `PRAGMA user_version`). It runs in WAL mode with foreign keys on; the log file is kept
//! between runs (as large as the largest night's), and new stores use 64 KiB pages. Every write
//! goes through one explicit transaction: [`Store::apply`] writes a whole plan or nothing, and
//! [`Store::import`] a whole accounts file or nothing.
//!
//! A plan is computed on a [`Snapshot`] whose `digest` names the store's identity (a random id
//! made at creation) and its revision (bumped by every write that changes what a plan is
//! computed on). `apply` refuses a plan made on any other digest, so a reviewed plan is never
//! applied to a store that changed since.

mod apply;
pub(crate) mod directory;
pub(crate) mod keys;
pub(crate) mod lookup;
pub mod migrations;
pub mod outbox;
pub(crate) mod review;
pub mod setup;
mod staging;

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use compact_str::CompactString;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde::Serialize;

use crate::digest::{hex, sha256_hex};
use crate::domain::account::{Account, Approval, Hire, Role, Snapshot, State, StopReason};
use crate::domain::model::{EcsId, JobType, PersonId, RenewalKind, Status, StudentNo};
pub use crate::domain::policy::IdFormat;

/// The schema version this code reads and writes.
pub(crate) const SCHEMA_VERSION: i64 = migrations::MIGRATIONS.len() as i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store `{path}`: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the store `{path}` has schema version {found}, newer than this regsync supports ({supported})\nhint: use a newer regsync"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "the store `{path}` has schema version {found}, older than this regsync's ({supported})\nhint: any command that writes migrates it: the nightly `regsync run`, or `regsync mail` (which sends only notices already queued)"
    )]
    SchemaTooOld {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("cannot make the store file `{path}` private: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the store `{path}` was opened read-only")]
    ReadOnly { path: PathBuf },
    #[error(
        "the plan was made on store state `{expected}`, but the store is now at `{found}`\nhint: make a new plan with `regsync plan`"
    )]
    Stale { expected: String, found: String },
    #[error("ECS-ID `{ecs_id}` is already in the store; an ECS-ID is never given twice (R2)")]
    EcsIdTaken { ecs_id: String },
    #[error("cannot write account `{ecs_id}`: {source}")]
    Account {
        ecs_id: String,
        source: rusqlite::Error,
    },
    #[error("the store holds an unreadable value: {0}")]
    Corrupt(String),
    #[error("cannot get random bytes for the store id: {0}")]
    Random(String),
    #[error(
        "the plan creates no account `{ecs_id}` to store an activation key hash for\nhint: key hashes are only for the plan's `create` actions"
    )]
    KeyWithoutAccount { ecs_id: String },
    #[error("there is no review item #{id}\nhint: `regsync review list` shows the open ones")]
    ReviewNotFound { id: i64 },
    #[error("review item #{id} was already resolved at {at}")]
    ReviewResolved { id: i64, at: String },
    #[error("the store `{path}` is set up already (by `accounts import` or `init`)")]
    SetUpAlready { path: PathBuf },
    #[error("review item #{id} cannot be resolved with `{how}`: {why}")]
    ReviewCannot { id: i64, how: String, why: String },
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("the transaction was called off before its commit")]
    Cancelled,
    #[error("store error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The digest of a store that does not exist yet (or was never written): a plan made on no
/// store applies to a freshly created one.
pub fn empty_digest() -> String {
    sha256_hex(b"regsync: empty store")
}

/// What `apply` wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplySummary {
    /// Accounts created or changed.
    pub accounts: usize,
    /// Review items queued.
    pub reviews: usize,
    /// Input files recorded as processed (files seen before are not counted).
    pub files: usize,
    pub next_serial: u64,
    /// The store's digest after the apply.
    pub digest: String,
}

/// What [`Store::apply`] writes besides the plan, in the same transaction.
#[derive(Default)]
pub struct ApplyExtra<'a> {
    /// `(ecs_id, salt$hash)` of the activation keys of the plan's letter creates (R4, R12);
    /// only the hash is stored, the key goes on the letter.
    pub key_hashes: &'a [(String, String)],
    /// Called last, inside the transaction, before the commit: the caller enqueues the plan's
    /// notices in the outbox here, so they are committed with the plan or not at all.
    pub before_commit: Option<&'a BeforeCommit<'a>>,
    /// The shape of the plan's new ECS-IDs (the policy's), to keep `next_serial` past them.
    pub ids: IdFormat,
    /// Whether `[directory]` is configured: only then is the desired directory state of the
    /// touched accounts queued (a store without a directory keeps no journal; the first push
    /// queues what was never queued, [`Store::directory_seed`]).
    pub directory: bool,
}

/// The hook of [`ApplyExtra::before_commit`].
pub(crate) type BeforeCommit<'a> = dyn Fn(&Transaction<'_>) -> Result<(), StoreError> + 'a;

impl std::fmt::Debug for ApplyExtra<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hashes are not secret, but nothing about keys belongs in a log.
        f.debug_struct("ApplyExtra")
            .field("key_hashes", &self.key_hashes.len())
            .field("before_commit", &self.before_commit.is_some())
            .field("ids", &self.ids)
            .field("directory", &self.directory)
            .finish()
    }
}

/// An input file to record as processed.
#[derive(Debug, Clone, Copy)]
pub struct FileRecord<'a> {
    pub sha256: &'a str,
    pub name: &'a str,
    /// `registrar`, `hr`, `renewals`, `activations` or `accounts`.
    pub kind: &'a str,
    pub rows: usize,
}

/// An input file the store has processed before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessedFile {
    pub sha256: String,
    pub name: String,
    pub kind: String,
    pub rows: i64,
    pub run_id: Option<i64>,
    pub processed_at: String,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    read_only: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// The page size of a new store, in bytes (see [`Store::open`]).
pub(crate) const PAGE_SIZE: i64 = 65_536;

const ACCOUNT_COLUMNS: &str = "ecs_id, kumoi, person_id, name, name_kana, birth_date, faculty, \
    status, role, state, activation_deadline, activation_expired, stop_on, stop_reason, \
    departed_on, reminder_on, reminder_sent, holder_until, expiry_notice_for, hired_on, job_type, \
    approval_kind, approved_on, approved_until";

/// The position of the column after [`ACCOUNT_COLUMNS`] in a `SELECT {ACCOUNT_COLUMNS}, ...`.
const AFTER_ACCOUNT_COLUMNS: usize = 24;

impl Store {
    /// Opens the store at `path`, creating it (and migrating it to [`SCHEMA_VERSION`]) when
    /// needed. The folder must exist.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        create_private(path)?;
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        // 64 KiB pages, SQLite's largest (its default is 4 KiB): a night's apply changes a
        // tenth of the accounts at random, so it writes nearly every page of the accounts table
        // and its indexes whatever their size, each to the write-ahead log and then back into
        // the file. With 64 KiB pages there are a quarter as many pages to look up, log and
        // copy as with 16 KiB: a million-account apply took 3.0-3.2 s instead of 3.6-3.9 s
        // (its commit 0.4 s instead of 0.75 s), and plans took as long. Only a new file takes
        // it (it must come before WAL mode); an existing store keeps its pages (`VACUUM` with
        // the journal out of WAL mode converts one; see benches/SCALE.md).
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(open_err)?;
        // WAL: readers (a `plan` while `run` applies) never block the writer, nor it them.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "the store is not in WAL mode");
        }
        // NORMAL is durable across application crashes in WAL mode; only a power loss may
        // lose the last commits, never corrupt the file. The commits that letters, mail or the
        // directory follow are synced ([`Store::durably`]).
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        // A night's apply touches ~10% of a million accounts in one transaction: with SQLite's
        // default 2 MiB page cache it re-reads B-tree pages from the OS over and over and spills
        // dirty pages into the WAL mid-transaction. 256 MiB keeps its working set (pages are only
        // allocated as used).
        conn.pragma_update(None, "cache_size", -262_144)
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        stable_plans(&conn).map_err(open_err)?;
        // Keep the write-ahead log file when the last connection closes (its frames are all
        // checkpointed by then): deleting it frees, and the next apply allocates again, as much
        // disk as the night wrote (~600 MB at 1M accounts), which took ~0.2 s at each end. The
        // file stays as large as the largest night's log.
        conn.file_control(
            Some(rusqlite::MAIN_DB),
            rusqlite::FileControl::PersistWal(&mut 1),
        )
        .map_err(open_err)?;
        migrate(&mut conn, path)?;
        make_private(path)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            read_only: false,
        })
    }

    /// Opens an existing store without the right to change it (for `plan`, which must leave
    /// the store file byte-identical), or returns None when there is no file at `path`.
    /// A store of another schema version is refused.
    pub fn open_read_only(path: &Path) -> Result<Option<Store>, StoreError> {
        if !path.exists() {
            return Ok(None);
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = open_reader(path)?;
        conn.pragma_update(None, "query_only", true)
            .map_err(open_err)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open_err)?;
        match found.cmp(&SCHEMA_VERSION) {
            Ordering::Equal => {}
            Ordering::Less => {
                return Err(StoreError::SchemaTooOld {
                    path: path.to_path_buf(),
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            Ordering::Greater => {
                return Err(StoreError::SchemaTooNew {
                    path: path.to_path_buf(),
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
        }
        Ok(Some(Store {
            conn,
            path: path.to_path_buf(),
            read_only: true,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current digest: what a plan made now would carry as `store_digest`.
    pub fn digest(&self) -> Result<String, StoreError> {
        digest_of(&self.conn)
    }

    /// Every account (ordered by ECS-ID) with its student numbers, the next serial and the
    /// digest, read in one read transaction.
    ///
    /// For the nightly plan, [`Store::keys`] and [`keys::load`] read far less.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let digest = digest_of(&tx)?;
        let next_serial = next_serial_of(&tx)?;
        let accounts = keys::read_accounts(&tx)?;
        let distinct = distinct_of(&tx)?;
        tx.finish()?;
        Ok(Snapshot {
            accounts,
            next_serial,
            digest,
            reserved: Default::default(),
            distinct,
        })
    }

    /// One account with its student numbers.
    pub fn account(&self, ecs_id: &str) -> Result<Option<Account>, StoreError> {
        load_account(&self.conn, ecs_id)
    }

    /// Records the start of a run (`plan`, `apply`, `run`, `accounts import`, ...). Runs are
    /// bookkeeping: they do not change the digest.
    pub fn begin_run(&mut self, as_of: NaiveDate, command: &str) -> Result<i64, StoreError> {
        self.writable()?;
        self.conn.execute(
            "INSERT INTO runs (as_of, started_at, command) VALUES (?1, ?2, ?3)",
            (iso(as_of), now(), command),
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Stores a run's one-line summary.
    pub(crate) fn finish_run(&mut self, run_id: i64, summary: &str) -> Result<(), StoreError> {
        self.writable()?;
        self.conn.execute(
            "UPDATE runs SET summary = ?2 WHERE id = ?1",
            (run_id, summary),
        )?;
        Ok(())
    }

    /// The registrar file processed last (a full snapshot when the profile says so).
    pub fn last_registrar_file(&self) -> Result<Option<ProcessedFile>, StoreError> {
        self.processed_where("kind = 'registrar' ORDER BY rowid DESC LIMIT 1", [])
    }

    /// The input file with this content, if it was processed before.
    pub fn processed(&self, sha256: &str) -> Result<Option<ProcessedFile>, StoreError> {
        self.processed_where("sha256 = ?1", [sha256])
    }

    /// The first row of `files` that `filter` (a `WHERE` clause, with its order) selects.
    fn processed_where(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Option<ProcessedFile>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT sha256, name, kind, rows, run_id, processed_at FROM files WHERE {filter}"
                ),
                params,
                |r| {
                    Ok(ProcessedFile {
                        sha256: r.get(0)?,
                        name: r.get(1)?,
                        kind: r.get(2)?,
                        rows: r.get(3)?,
                        run_id: r.get(4)?,
                        processed_at: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Adds accounts that are not in the store yet (the one-time `accounts import`), in one
    /// transaction, with a history row each; `next_serial` becomes at least one past the
    /// highest serial among them (ECS-IDs of the shape `ids`). An ECS-ID, KUMOI or student
    /// number already in the store fails the whole import.
    pub fn import(
        &mut self,
        accounts: &[Account],
        ids: &IdFormat,
        file: Option<FileRecord<'_>>,
        run_id: Option<i64>,
    ) -> Result<usize, StoreError> {
        self.writable()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let at = now();
        {
            let mut exists = tx.prepare("SELECT 1 FROM accounts WHERE ecs_id = ?1")?;
            let mut insert = tx.prepare(&insert_sql(false))?;
            let mut insert_sn = tx.prepare(INSERT_STUDENT_NO)?;
            let mut history = tx.prepare(INSERT_HISTORY)?;
            for a in accounts {
                if exists.exists([a.ecs_id.as_str()])? {
                    return Err(StoreError::EcsIdTaken {
                        ecs_id: a.ecs_id.to_string(),
                    });
                }
                execute_account(&mut insert, a, &keys::derived(a), None)?;
                write_student_nos(&mut insert_sn, None, a, 0)?;
                history.execute((
                    run_id,
                    a.ecs_id.as_str(),
                    "import",
                    None::<&str>,
                    None::<&str>,
                    serde_json::to_string(a)?,
                    &at,
                ))?;
            }
        }
        let next = ids.serial_after(accounts.iter().map(|a| a.ecs_id.as_str()));
        raise_next_serial(&tx, next)?;
        if let Some(f) = file {
            record_file(&tx, f, run_id, &at)?;
        }
        bump_revision(&tx)?;
        tx.commit()?;
        // The import's log holds the whole directory (~1 GB at a million accounts). Kept at
        // that size (`PersistWal`), it would take the disk for good, and the next open that
        // has to recover the log would read through all of it; a night's apply grows it again
        // to what a night writes. A reader holding the log open leaves it as it is.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(accounts.len())
    }

    /// Runs `f`, one transaction whose commit is followed by effects outside the store (letters
    /// with activation keys published, mail sent, the directory written), with SQLite's
    /// `synchronous = FULL`: the commit returns only once the write-ahead log is on disk, so a
    /// power loss after those effects cannot take back the accounts they announce. Every other
    /// commit keeps NORMAL (see [`Store::open`]). The setting can change only outside a
    /// transaction, hence around `f`.
    pub(crate) fn durably<T>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        let done = f(self);
        // After a commit, a failure to return to NORMAL must not turn it into an error (the
        // caller would discard the committed letters); FULL only costs time.
        if let Err(e) = self.conn.pragma_update(None, "synchronous", "NORMAL") {
            tracing::warn!(error = %e, "the store stays at synchronous = FULL for this process");
        }
        done
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.read_only {
            Err(StoreError::ReadOnly {
                path: self.path.clone(),
            })
        } else {
            Ok(())
        }
    }
}

/// Creates the store file, empty (an empty file is a new SQLite database), with the private
/// mode before SQLite opens it: SQLite gives its `-wal`, `-shm` and `-journal` files the mode
/// of the database file.
fn create_private(path: &Path) -> Result<(), StoreError> {
    if path.symlink_metadata().is_ok() {
        return Ok(());
    }
    match crate::private::create_new(path, crate::private::Kind::Shared) {
        Ok(_) => Ok(()),
        // Another process made it in between.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Makes the store file and the files SQLite keeps beside it private: a store made by an
/// earlier version (or under another umask), and the group of `-wal` and `-shm`, which SQLite
/// creates with the process's group.
fn make_private(path: &Path) -> Result<(), StoreError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        let file = PathBuf::from(name);
        if file.exists() {
            crate::private::set_mode(&file).map_err(|source| StoreError::Io {
                path: file.clone(),
                source,
            })?;
        }
    }
    Ok(())
}

/// A read-only connection to the store at `path`: for `open_read_only`, and for the readers
/// that run beside another connection (`keys`, `load`, `reserved`, apply's reader).
fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(open_err)?;
    stable_plans(&conn).map_err(open_err)?;
    Ok(conn)
}

/// Turns on SQLite's query planner stability guarantee: a statement keeps the plan it was
/// prepared with, whatever values are bound. Without it, a bound value SQLite looks at while
/// planning marks the statement to be prepared again whenever that value changes, which the
/// per-account statements of `apply` and `load` paid on every execution.
fn stable_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map(|_| ())
}

/// Brings the schema to [`SCHEMA_VERSION`], one migration per transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in migrations::MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= found {
            continue;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the write lock.
        let now_at: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now_at >= version {
            continue;
        }
        if version == 6 {
            outbox::drop_dictionaries(&tx)?;
        }
        tx.execute_batch(sql)?;
        if version == 1 {
            tx.execute(
                "INSERT INTO meta (id, store_uuid, revision) VALUES (1, ?1, 0)",
                [new_uuid()?],
            )?;
        }
        // The derived `triage` column (migration 3), computed from every column of the
        // account: once the columns are all there (a store is only used at the last version).
        if version == 5 {
            keys::fill_derived(&tx)?;
        }
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

/// A random (version 4) UUID from the operating system's generator.
fn new_uuid() -> Result<String, StoreError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| StoreError::Random(e.to_string()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn digest_of(conn: &Connection) -> Result<String, StoreError> {
    let (uuid, revision): (String, i64) = conn.query_row(
        "SELECT store_uuid, revision FROM meta WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    // A store nothing was written to yet is the empty store a plan without a store was made on.
    if revision == 0 {
        return Ok(empty_digest());
    }
    Ok(sha256_hex(format!("{uuid}\n{revision}").as_bytes()))
}

fn next_serial_of(conn: &Connection) -> Result<u64, StoreError> {
    let v: i64 = conn.query_row(
        "SELECT value FROM counters WHERE name = 'next_serial'",
        [],
        |r| r.get(0),
    )?;
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("counters.next_serial = {v}")))
}

/// R2: the counter only grows (the table's trigger enforces it too).
fn raise_next_serial(tx: &Transaction<'_>, at_least: u64) -> Result<(), StoreError> {
    let v = i64::try_from(at_least)
        .map_err(|_| StoreError::Corrupt(format!("next_serial {at_least} is out of range")))?;
    tx.execute(
        "UPDATE counters SET value = max(value, ?1) WHERE name = 'next_serial'",
        [v],
    )?;
    Ok(())
}

/// The review decisions "this row's person is not that account" (migration 8).
fn distinct_of(
    tx: &Transaction<'_>,
) -> Result<std::collections::BTreeSet<(StudentNo, EcsId)>, StoreError> {
    let mut stmt = tx.prepare("SELECT student_no, ecs_id FROM distinct_persons")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            StudentNo::new(&r.get::<_, String>(0)?),
            EcsId::new(&r.get::<_, String>(1)?),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn bump_revision(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("UPDATE meta SET revision = revision + 1 WHERE id = 1", [])?;
    Ok(())
}

/// Returns 1 when the file was recorded, 0 when it was there already.
fn record_file(
    tx: &Transaction<'_>,
    f: FileRecord<'_>,
    run_id: Option<i64>,
    at: &str,
) -> Result<usize, StoreError> {
    Ok(tx.execute(
        "INSERT OR IGNORE INTO files (sha256, name, kind, rows, run_id, processed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (f.sha256, f.name, f.kind, f.rows as i64, run_id, at),
    )?)
}

const INSERT_STUDENT_NO: &str =
    "INSERT INTO student_nos (ecs_id, seq, student_no) VALUES (?1, ?2, ?3)";

const INSERT_HISTORY: &str = "INSERT INTO history \
    (run_id, ecs_id, action, rule, before_json, after_json, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// The insert of an account's columns, then the derived `triage` (migration 3) and the hash of
/// its activation key (migration 2). The upsert leaves a stored key hash as it is.
fn insert_sql(upsert: bool) -> String {
    let columns = format!("{ACCOUNT_COLUMNS}, triage");
    let mut sql = format!(
        "INSERT INTO accounts ({columns}, activation_key_hash) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
          ?20, ?21, ?22, ?23, ?24, ?25, ?26)"
    );
    if upsert {
        sql.push_str(" ON CONFLICT (ecs_id) DO UPDATE SET ");
        let sets: Vec<String> = columns
            .split(", ")
            .skip(1)
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        sql.push_str(&sets.join(", "));
    }
    sql
}

/// Every column of an account but its keys (ECS-ID, KUMOI, 個人番号), for an account whose keys
/// did not change; a stored key hash is kept unless one is given. Parameters are numbered as in
/// [`insert_sql`] (`?2` KUMOI and `?3` 個人番号 are bound and unused), so [`execute_account`]
/// binds both.
const UPDATE_ACCOUNT: &str = "UPDATE accounts SET name = ?4, name_kana = ?5, birth_date = ?6, \
    faculty = ?7, status = ?8, role = ?9, state = ?10, activation_deadline = ?11, \
    activation_expired = ?12, stop_on = ?13, stop_reason = ?14, departed_on = ?15, \
    reminder_on = ?16, reminder_sent = ?17, holder_until = ?18, expiry_notice_for = ?19, \
    hired_on = ?20, job_type = ?21, approval_kind = ?22, approved_on = ?23, approved_until = ?24, \
    triage = ?25, activation_key_hash = coalesce(?26, activation_key_hash) WHERE ecs_id = ?1";

/// Runs `stmt` (the insert or [`UPDATE_ACCOUNT`]) with the columns of `a`, in `insert_sql`'s
/// order, its derived `triage` column and the hash of its activation key; returns the rows
/// changed.
fn execute_account(
    stmt: &mut rusqlite::Statement<'_>,
    a: &Account,
    triage: &[u8],
    key_hash: Option<&str>,
) -> Result<usize, StoreError> {
    stmt.execute(rusqlite::params![
        a.ecs_id.as_str(),
        a.kumoi.as_str(),
        a.person_id.as_ref().map(PersonId::as_str),
        a.name.as_str(),
        a.name_kana.as_str(),
        a.birth_date.map(iso),
        a.faculty.as_str(),
        a.status.map(Status::as_str),
        a.role.as_str(),
        a.state.as_str(),
        a.activation_deadline.map(iso),
        a.activation_expired,
        a.stop_on.map(iso),
        a.stop_reason.map(StopReason::as_str),
        a.departed_on.map(iso),
        a.reminder_on.map(iso),
        a.reminder_sent,
        a.holder_until.map(iso),
        a.expiry_notice_for.map(iso),
        a.hire.map(|h| iso(h.hired_on)),
        a.hire.map(|h| h.job_type.as_str()),
        a.approval.map(|p| p.kind.as_str()),
        a.approval.map(|p| iso(p.approved_on)),
        a.approval.map(|p| iso(p.until)),
        triage,
        key_hash,
    ])
    .map_err(|source| StoreError::Account {
        ecs_id: a.ecs_id.to_string(),
        source,
    })
}

/// Writes the student numbers of `a` from position `from` on; with `delete_sn`, after deleting
/// all the stored ones (then `from` must be 0).
fn write_student_nos(
    insert_sn: &mut rusqlite::Statement<'_>,
    delete_sn: Option<&mut rusqlite::Statement<'_>>,
    a: &Account,
    from: usize,
) -> Result<(), StoreError> {
    let ecs_id = a.ecs_id.as_str();
    let err = |source| StoreError::Account {
        ecs_id: ecs_id.to_string(),
        source,
    };
    if let Some(delete) = delete_sn {
        delete.execute([ecs_id]).map_err(err)?;
    }
    for (seq, no) in a.student_nos.iter().enumerate().skip(from) {
        insert_sn
            .execute((ecs_id, seq as i64, no.as_str()))
            .map_err(err)?;
    }
    Ok(())
}

fn load_account(conn: &Connection, ecs_id: &str) -> Result<Option<Account>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE ecs_id = ?1"
    ))?;
    let mut rows = stmt.query([ecs_id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut account = account_from_row(row)?;
    let mut sn =
        conn.prepare_cached("SELECT student_no FROM student_nos WHERE ecs_id = ?1 ORDER BY seq")?;
    let mut sn_rows = sn.query([ecs_id])?;
    while let Some(r) = sn_rows.next()? {
        account.student_nos.push(StudentNo::new(text(r, 0)?));
    }
    Ok(Some(account))
}

/// One row of [`ACCOUNT_COLUMNS`], borrowing the row's text (no allocation for short fields).
fn account_from_row(r: &Row<'_>) -> Result<Account, StoreError> {
    let ecs_id = text(r, 0)?;
    let bad = |column: &str, value: &str| {
        StoreError::Corrupt(format!("accounts.{column} = `{value}` for `{ecs_id}`"))
    };
    let role = text(r, 8)?;
    let state = text(r, 9)?;
    Ok(Account {
        ecs_id: EcsId::new(ecs_id),
        kumoi: CompactString::new(text(r, 1)?),
        person_id: opt_text(r, 2)?.map(PersonId::new),
        student_nos: Vec::new(),
        name: CompactString::new(text(r, 3)?),
        name_kana: CompactString::new(text(r, 4)?),
        birth_date: date(r, 5, ecs_id)?,
        faculty: CompactString::new(text(r, 6)?),
        status: match opt_text(r, 7)? {
            Some(s) => Some(Status::from_name(s).ok_or_else(|| bad("status", s))?),
            None => None,
        },
        role: Role::from_name(role).ok_or_else(|| bad("role", role))?,
        state: State::from_name(state).ok_or_else(|| bad("state", state))?,
        activation_deadline: date(r, 10, ecs_id)?,
        activation_expired: r.get::<_, bool>(11)?,
        stop_on: date(r, 12, ecs_id)?,
        stop_reason: match opt_text(r, 13)? {
            Some(s) => Some(StopReason::from_name(s).ok_or_else(|| bad("stop_reason", s))?),
            None => None,
        },
        departed_on: date(r, 14, ecs_id)?,
        reminder_on: date(r, 15, ecs_id)?,
        reminder_sent: r.get::<_, bool>(16)?,
        holder_until: date(r, 17, ecs_id)?,
        expiry_notice_for: date(r, 18, ecs_id)?,
        hire: match (date(r, 19, ecs_id)?, opt_text(r, 20)?) {
            (Some(hired_on), Some(j)) => Some(Hire {
                hired_on,
                job_type: JobType::from_name(j).ok_or_else(|| bad("job_type", j))?,
            }),
            _ => None,
        },
        approval: match (opt_text(r, 21)?, date(r, 22, ecs_id)?, date(r, 23, ecs_id)?) {
            (Some(k), Some(approved_on), Some(until)) => Some(Approval {
                kind: RenewalKind::from_name(k).ok_or_else(|| bad("approval_kind", k))?,
                approved_on,
                until,
            }),
            _ => None,
        },
    })
}

fn text<'r>(r: &'r Row<'_>, i: usize) -> Result<&'r str, StoreError> {
    opt_text(r, i)?.ok_or_else(|| StoreError::Corrupt(format!("column {i} is NULL")))
}

fn opt_text<'r>(r: &'r Row<'_>, i: usize) -> Result<Option<&'r str>, StoreError> {
    match r.get_ref(i)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(b) => std::str::from_utf8(b)
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("column {i} is not UTF-8"))),
        other => Err(StoreError::Corrupt(format!(
            "column {i} is {:?}, not text",
            other.data_type()
        ))),
    }
}

fn date(r: &Row<'_>, i: usize, ecs_id: &str) -> Result<Option<NaiveDate>, StoreError> {
    match opt_text(r, i)? {
        None => Ok(None),
        Some(s) => parse_iso(s)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("date `{s}` in column {i} for `{ecs_id}`"))),
    }
}

/// `YYYY-MM-DD`, parsed by hand: a million birth dates per snapshot make chrono's
/// format-driven parser show up in profiles.
fn parse_iso(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// `YYYY-MM-DD` without chrono's format-string interpreter (apply binds five dates per
/// account); the same text as `%Y-%m-%d` for the years a store holds.
fn iso(d: NaiveDate) -> String {
    use chrono::Datelike as _;
    use std::fmt::Write as _;
    if !(0..=9999).contains(&d.year()) {
        return d.format("%Y-%m-%d").to_string();
    }
    let mut s = String::with_capacity(10);
    let _ = write!(s, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    s
}

/// The current time in Japan, for the store's timestamps.
fn now() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests;
