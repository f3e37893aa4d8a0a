//! The schema, as numbered migrations. Migration `n` (1-based) takes a store from
//! `PRAGMA user_version = n - 1` to `n`; each runs in the transaction that sets the version, so
//! a crash leaves the store at one version or the next, never between.
//!
//! Never edit a migration that has shipped: add the next one.

/// Migration 1: the first schema.
///
/// Dates are ISO `YYYY-MM-DD` text, enums the snake_case names of the domain types, so an
/// administrator can read the store with the `sqlite3` shell.
const V1: &str = r#"
-- One row per account, for ever: an ECS-ID is never deleted nor given to anyone else (R2).
CREATE TABLE accounts (
    ecs_id              TEXT PRIMARY KEY NOT NULL,
    kumoi               TEXT NOT NULL UNIQUE,
    person_id           TEXT,
    name                TEXT NOT NULL,
    name_kana           TEXT NOT NULL,
    birth_date          TEXT,
    faculty             TEXT NOT NULL,
    status              TEXT,
    role                TEXT NOT NULL CHECK (role IN ('student', 'holder', 'converting_staff')),
    state               TEXT NOT NULL CHECK (state IN ('pending', 'active', 'stopped')),
    activation_deadline TEXT,
    activation_expired  INTEGER NOT NULL DEFAULT 0 CHECK (activation_expired IN (0, 1)),
    stop_on             TEXT,
    stop_reason         TEXT CHECK (stop_reason IN ('departed', 'staff_conversion', 'holder_expired')),
    departed_on         TEXT,
    reminder_on         TEXT,
    reminder_sent       INTEGER NOT NULL DEFAULT 0 CHECK (reminder_sent IN (0, 1)),
    holder_until        TEXT,
    expiry_notice_for   TEXT
) WITHOUT ROWID;

CREATE INDEX accounts_person_id ON accounts (person_id) WHERE person_id IS NOT NULL;

CREATE TRIGGER accounts_never_deleted BEFORE DELETE ON accounts
BEGIN
    SELECT RAISE(ABORT, 'an account is never deleted: its ECS-ID may not be given again (R2)');
END;

-- The enrollment history of each account: every student number, oldest first (seq 0, 1, ...).
CREATE TABLE student_nos (
    ecs_id     TEXT NOT NULL REFERENCES accounts (ecs_id),
    seq        INTEGER NOT NULL,
    student_no TEXT NOT NULL UNIQUE,
    PRIMARY KEY (ecs_id, seq)
) WITHOUT ROWID;

-- Allocation counters; they only grow, so no ECS-ID serial is handed out twice (R2).
CREATE TABLE counters (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL CHECK (value >= 0)
);

CREATE TRIGGER counters_only_grow BEFORE UPDATE ON counters WHEN NEW.value < OLD.value
BEGIN
    SELECT RAISE(ABORT, 'a counter never decreases');
END;

INSERT INTO counters (name, value) VALUES ('next_serial', 0);

-- The store's identity (made once, at creation) and its revision (bumped by every write that
-- changes what a plan is computed on); together they make the digest a plan is checked against.
CREATE TABLE meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    store_uuid TEXT NOT NULL,
    revision   INTEGER NOT NULL CHECK (revision >= 0)
);

CREATE TABLE runs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    as_of      TEXT NOT NULL,
    started_at TEXT NOT NULL,
    command    TEXT NOT NULL,
    summary    TEXT
);

-- Input files already applied, by content: the same file twice changes nothing the second time.
CREATE TABLE files (
    sha256       TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    rows         INTEGER NOT NULL,
    run_id       INTEGER REFERENCES runs (id),
    processed_at TEXT NOT NULL
);

-- Items that need a person.
CREATE TABLE review (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER REFERENCES runs (id),
    reason       TEXT NOT NULL,
    ecs_id       TEXT REFERENCES accounts (ecs_id),
    source_file  TEXT,
    source_row   INTEGER,
    details_json TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution   TEXT,
    resolved_at  TEXT
);

CREATE INDEX review_status ON review (status);

-- Every change to an account, append-only.
CREATE TABLE history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER REFERENCES runs (id),
    ecs_id      TEXT NOT NULL REFERENCES accounts (ecs_id),
    action      TEXT NOT NULL,
    rule        TEXT,
    before_json TEXT,
    after_json  TEXT,
    at          TEXT NOT NULL
);

CREATE INDEX history_ecs_id ON history (ecs_id);

CREATE TRIGGER history_append_only_update BEFORE UPDATE ON history
BEGIN
    SELECT RAISE(ABORT, 'history is append-only');
END;

CREATE TRIGGER history_append_only_delete BEFORE DELETE ON history
BEGIN
    SELECT RAISE(ABORT, 'history is append-only');
END;

-- Notices to send, written in the apply transaction and sent after commit; each notice goes out
-- once per (account, notice, effective date).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    ecs_id          TEXT NOT NULL REFERENCES accounts (ecs_id),
    notice          TEXT NOT NULL,
    effective_on    TEXT NOT NULL,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    created_run     INTEGER REFERENCES runs (id),
    sent_at         TEXT,
    UNIQUE (ecs_id, notice, effective_on)
);

CREATE INDEX outbox_status ON outbox (status, next_attempt_at);
"#;

/// Migration 2: the hash of a new account's one-time activation key (R4, R12). Only the salted
/// hash is stored (`salt$sha256`, see `apply::hash_key`): the key itself is printed on the
/// account letter and nowhere else (R13). NULL for accounts that never had a key from regsync
/// (imported ones, counter deliveries).
const V2: &str = r#"
ALTER TABLE accounts ADD COLUMN activation_key_hash TEXT;
"#;

/// Migration 3: what a nightly plan's triage reads of every account instead of the account
/// itself (see `triage`): its `Facts` in 32 bytes (the fingerprint of the fields a
/// registrar row carries, the kana + birth date key, the first day something may fall due, a
/// few flags). Derived: the store computes it whenever it writes an account, and `migrate` fills
/// it for the accounts already there. The covering index lets the nightly scan read it with the
/// identifiers and nothing else.
const V3: &str = r#"
ALTER TABLE accounts ADD COLUMN triage BLOB;
CREATE INDEX accounts_triage ON accounts (ecs_id, person_id, triage);
"#;

/// Migration 4: the zlib preset dictionaries notice bodies are compressed against (see
/// `store::outbox`), one per template text, found by its hash; each outbox row names its own
/// (NULL for bodies compressed alone or kept as plain text).
const V4: &str = r#"
CREATE TABLE outbox_dicts (
    id     INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    dict   BLOB NOT NULL
);
ALTER TABLE outbox ADD COLUMN dict INTEGER REFERENCES outbox_dicts (id);
"#;

/// Migration 5: what HR and the counter said about a person, remembered with the account so
/// that a decision combines the latest facts from every source however the files arrived
/// (`Account::hire`, `Account::approval`): the hire date and 職種 from HR's roster (R9), and the
/// latest approval's kind, date and last covered day (R8, R10, R11). `migrate` also recomputes
/// the derived `triage` column: a conversion imported without a reminder date may now be due
/// before its stop.
const V5: &str = r#"
ALTER TABLE accounts ADD COLUMN hired_on TEXT;
ALTER TABLE accounts ADD COLUMN job_type TEXT
    CHECK (job_type IN ('faculty', 'staff', 'part_time_faculty', 'part_time_staff'));
ALTER TABLE accounts ADD COLUMN approval_kind TEXT
    CHECK (approval_kind IN ('continuation', 'renewal', 'jsps_fellow'));
ALTER TABLE accounts ADD COLUMN approved_on TEXT;
ALTER TABLE accounts ADD COLUMN approved_until TEXT;
"#;

/// Migration 6: notice bodies are plain zlib, each readable from its own row. The bodies
/// compressed against a dictionary are rewritten by `outbox::drop_dictionaries` before this
/// runs; `outbox_dicts` and `outbox.dict` stay, empty and NULL (a column a foreign key names
/// cannot be dropped without rebuilding the table).
const V6: &str = "";

/// Migration 7: the outbox claims a notice for one process at a time, and tells a notice the
/// server refused for good from one whose outcome is unknown (see `store::outbox`). SQLite
/// cannot change a CHECK, so the table is rebuilt: statuses `pending`, `sending` (held by
/// `lease_owner` until `lease_until`), `sent`, `unknown` and `failed` (refused for good). The
/// old rows keep their meaning: `pending` and `sent` stay; an old `failed` was a send to retry
/// after its backoff, so it becomes `pending` with its retry time, except the rows a process
/// left while sending (`outbox::INTERRUPTED`), whose outcome is `unknown`. The dictionary
/// column and table (empty since migration 6) go with the rebuild; the id sequence carries on,
/// so no id is given twice.
const V7: &str = r#"
CREATE TABLE outbox_v7 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    ecs_id          TEXT NOT NULL REFERENCES accounts (ecs_id),
    notice          TEXT NOT NULL,
    effective_on    TEXT NOT NULL,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            BLOB NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'unknown', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT,
    last_error      TEXT,
    created_run     INTEGER REFERENCES runs (id),
    sent_at         TEXT,
    lease_owner     TEXT,
    lease_until     TEXT,
    UNIQUE (ecs_id, notice, effective_on),
    CHECK ((status = 'sending') = (lease_owner IS NOT NULL AND lease_until IS NOT NULL))
);
INSERT INTO outbox_v7 (id, ecs_id, notice, effective_on, to_addr, subject, body, status,
                       attempts, next_attempt_at, last_error, created_run, sent_at)
SELECT id, ecs_id, notice, effective_on, to_addr, subject, body,
       CASE WHEN status <> 'failed' THEN status
            WHEN last_error = 'interrupted while sending; it will be sent again' THEN 'unknown'
            ELSE 'pending' END,
       attempts, next_attempt_at, last_error, created_run, sent_at
FROM outbox;
DELETE FROM sqlite_sequence WHERE name = 'outbox_v7';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_v7', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
DROP TABLE outbox_dicts;
ALTER TABLE outbox_v7 RENAME TO outbox;
CREATE INDEX outbox_status ON outbox (status, next_attempt_at);
"#;

/// What a review item is about, as SQL over its reason and its action's JSON: the kind of
/// conflict and the row's identifiers (ECS-ID, 個人番号, student number), and the reason text
/// (which names the candidates), except for duplicate rows (whose text names row numbers). The
/// same situation on another night, from another file or row, is about the same thing.
/// Migration 8 freezes it as the generated column `review.about`; a change needs a migration.
macro_rules! review_about {
    ($reason:literal, $details:literal) => {
        concat!(
            $reason,
            " || char(31) || coalesce(json_extract(",
            $details,
            ", '$.ecs_id'), '') || char(31) || coalesce(json_extract(",
            $details,
            ", '$.person.person_id'), '') || char(31) || coalesce(json_extract(",
            $details,
            ", '$.person.student_no'), '') || char(31) || CASE ",
            $reason,
            " WHEN 'duplicate_rows' THEN '' ELSE coalesce(json_extract(",
            $details,
            ", '$.reason_en'), '') END"
        )
    };
}
pub(crate) use review_about;

/// Migration 8: a review queue that resolves. Each item knows what it is about
/// ([`review_about`]), so a night that sees the same situation again updates the open item
/// (`last_run`, `seen`) instead of adding one, and a resolved item stays resolved while the
/// situation is unchanged. Open items that were already the same situation are folded into the
/// oldest. `distinct_persons` keeps the resolutions `--different-person`: the row's person
/// (by student number) is not the account named, so its name and birth date no longer make a
/// review candidate of it (R2).
const V8: &str = concat!(
    "ALTER TABLE review ADD COLUMN about TEXT GENERATED ALWAYS AS (",
    review_about!("reason", "details_json"),
    ") VIRTUAL;
ALTER TABLE review ADD COLUMN last_run INTEGER;
ALTER TABLE review ADD COLUMN seen INTEGER NOT NULL DEFAULT 1;
CREATE INDEX review_about ON review (about);
UPDATE review SET status = 'resolved',
    resolution = 'the same situation as #' || (SELECT min(o.id) FROM review o
        WHERE o.status = 'open' AND o.about = review.about),
    resolved_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
WHERE status = 'open' AND id > (SELECT min(o.id) FROM review o
    WHERE o.status = 'open' AND o.about = review.about);
CREATE TABLE distinct_persons (
    student_no TEXT NOT NULL,
    ecs_id     TEXT NOT NULL REFERENCES accounts (ecs_id),
    review_id  INTEGER REFERENCES review (id),
    PRIMARY KEY (student_no, ecs_id)
) WITHOUT ROWID;
"
);

/// Version 9: a person's statement that a row's person is not an ECS-ID may name an ECS-ID on no
/// account (`review resolve --keep-ours`: the registry wrote an ECS-ID that is not this
/// person's, R6), so `distinct_persons.ecs_id` no longer refers to `accounts`.
const V9: &str = "
CREATE TABLE distinct_persons_v9 (
    student_no TEXT NOT NULL,
    ecs_id     TEXT NOT NULL,
    review_id  INTEGER REFERENCES review (id),
    PRIMARY KEY (student_no, ecs_id)
) WITHOUT ROWID;
INSERT INTO distinct_persons_v9 (student_no, ecs_id, review_id)
    SELECT student_no, ecs_id, review_id FROM distinct_persons;
DROP TABLE distinct_persons;
ALTER TABLE distinct_persons_v9 RENAME TO distinct_persons;
";

/// Every migration, in order; the schema version is its length.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9];
