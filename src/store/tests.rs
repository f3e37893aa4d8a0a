use super::*;
use crate::domain::plan::{ActionKind, Plan};

#[test]
fn iso_matches_chrono() {
    for (y, m, d) in [
        (2026, 4, 1),
        (2024, 2, 29),
        (1999, 12, 31),
        (5, 1, 9),
        (-1, 1, 1),
    ] {
        let date = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        assert_eq!(iso(date), date.format("%Y-%m-%d").to_string(), "{date:?}");
        assert_eq!(
            parse_iso(&iso(date)).filter(|_| y >= 0),
            Some(date).filter(|_| y >= 0)
        );
    }
}

#[test]
fn parse_iso_matches_chrono() {
    for s in ["2026-04-01", "2024-02-29", "1999-12-31"] {
        assert_eq!(
            parse_iso(s),
            NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            "{s}"
        );
    }
    for s in [
        "2025-02-29",
        "2026-4-01",
        "2026/04/01",
        "20260401",
        "2026-13-01",
    ] {
        assert_eq!(parse_iso(s), None, "{s}");
    }
}

#[test]
fn next_serial_never_decreases() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Random(e.to_string()))?;
    let store = Store::open(&dir.path().join("s.sqlite"))?;
    let tx = store.conn.unchecked_transaction()?;
    raise_next_serial(&tx, 500)?;
    raise_next_serial(&tx, 20)?;
    assert_eq!(next_serial_of(&tx)?, 500);
    // Even a direct write cannot lower it: the schema's trigger refuses.
    let lowered = tx.execute(
        "UPDATE counters SET value = 1 WHERE name = 'next_serial'",
        [],
    );
    assert!(lowered.is_err());
    assert_eq!(next_serial_of(&tx)?, 500);
    Ok(())
}

#[test]
fn uuid_is_version_4() -> Result<(), StoreError> {
    let u = new_uuid()?;
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
    assert_ne!(u, new_uuid()?);
    Ok(())
}

#[test]
fn a_version_1_store_is_refused_read_only_and_migrated_by_open() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Random(e.to_string()))?;
    let path = dir.path().join("v1.sqlite");
    {
        let conn = Connection::open(&path)?;
        conn.execute_batch(migrations::MIGRATIONS[0])?;
        conn.execute(
            "INSERT INTO meta (id, store_uuid, revision) VALUES (1, 'x', 0)",
            [],
        )?;
        conn.pragma_update(None, "user_version", 1)?;
    }
    match Store::open_read_only(&path) {
        Err(StoreError::SchemaTooOld { found: 1, .. }) => {}
        other => {
            return Err(StoreError::Corrupt(format!(
                "expected SchemaTooOld, got {other:?}"
            )));
        }
    }
    let store = Store::open(&path)?;
    let version: i64 = store
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(version, SCHEMA_VERSION);
    assert!(!store.has_activation_key("a0000001")?);
    drop(store);
    assert!(Store::open_read_only(&path)?.is_some());
    Ok(())
}

/// A new account (pending, no 個人番号) for the apply tests.
fn new_account() -> Account {
    Account {
        kumoi: "a0000001@example.jp".into(),
        student_nos: vec![StudentNo::new("01260001")],
        faculty: "理学部".into(),
        state: State::Pending,
        ..Account::sample("a0000001")
    }
}

/// A plan on the empty store with one action per `(kind, after)`.
fn plan_of(actions: Vec<(ActionKind, Account)>) -> Plan {
    use crate::domain::plan::{Action, Rule};
    Plan {
        format: Plan::FORMAT,
        as_of: NaiveDate::from_ymd_opt(2026, 4, 2).unwrap_or_default(),
        store_digest: empty_digest(),
        next_serial: 2,
        inputs: Vec::new(),
        actions: actions
            .into_iter()
            .map(|(kind, after)| Action {
                ecs_id: Some(after.ecs_id.clone()),
                after: Some(after),
                ..Action::sample(kind, Rule::R1)
            })
            .collect(),
        warnings: Vec::new(),
        held: Vec::new(),
    }
}

#[test]
fn key_hashes_go_only_to_created_accounts_and_the_hook_runs_in_the_transaction()
-> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Random(e.to_string()))?;
    let mut store = Store::open(&dir.path().join("s.sqlite"))?;
    let plan = plan_of(vec![(ActionKind::Create, new_account())]);
    let run = store.begin_run(plan.as_of, "apply")?;
    let wrong = [("a0000009".to_string(), "s$h".to_string())];
    let extra = ApplyExtra {
        key_hashes: &wrong,
        before_commit: None,
        ids: IdFormat::default(),
        directory: false,
    };
    assert!(matches!(
        store.apply(&plan, run, &extra),
        Err(StoreError::KeyWithoutAccount { .. })
    ));
    assert!(store.snapshot()?.accounts.is_empty(), "nothing was applied");

    let hashes = [("a0000001".to_string(), "s$h".to_string())];
    let hook = |tx: &Transaction<'_>| -> Result<(), StoreError> {
        // The account is visible inside the transaction.
        let n: i64 = tx.query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?;
        assert_eq!(n, 1);
        Err(StoreError::Corrupt("hook refuses".into()))
    };
    let extra = ApplyExtra {
        key_hashes: &hashes,
        before_commit: Some(&hook),
        ids: IdFormat::default(),
        directory: false,
    };
    assert!(matches!(
        store.apply(&plan, run, &extra),
        Err(StoreError::Corrupt(_))
    ));
    assert!(
        store.snapshot()?.accounts.is_empty(),
        "a failing hook rolls back"
    );

    let extra = ApplyExtra {
        key_hashes: &hashes,
        before_commit: None,
        ids: IdFormat::default(),
        directory: false,
    };
    store.apply(&plan, run, &extra)?;
    assert!(store.has_activation_key("a0000001")?);
    Ok(())
}

/// An account with several actions in one plan is written once per action, in the plan's
/// order; each history row holds what that action changed, and the key hash of the create
/// stays.
#[test]
fn several_actions_on_one_account_apply_in_order() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Random(e.to_string()))?;
    let mut store = Store::open(&dir.path().join("s.sqlite"))?;
    let created = new_account();
    let mut moved = created.clone();
    moved.faculty = "工学部".into();
    moved.student_nos.push(StudentNo::new("02260001"));
    let mut renamed = moved.clone();
    renamed.kumoi = "taro.yamada@example.jp".into();
    let plan = plan_of(vec![
        (ActionKind::Create, created.clone()),
        (ActionKind::Update, moved),
        (ActionKind::Update, renamed.clone()),
    ]);
    let run = store.begin_run(plan.as_of, "apply")?;
    let hashes = [("a0000001".to_string(), "s$h".to_string())];
    let extra = ApplyExtra {
        key_hashes: &hashes,
        before_commit: None,
        ids: IdFormat::default(),
        directory: false,
    };
    assert_eq!(store.apply(&plan, run, &extra)?.accounts, 3);
    assert_eq!(store.account("a0000001")?, Some(renamed));
    assert!(store.has_activation_key("a0000001")?);
    let history: Vec<(String, Option<String>, Option<String>)> = store
        .history("a0000001")?
        .into_iter()
        .map(|h| (h.action, h.before_json, h.after_json))
        .collect();
    assert_eq!(
        history,
        [
            (
                "create".into(),
                None,
                Some(serde_json::to_string(&created)?)
            ),
            (
                "update".into(),
                Some(r#"{"faculty":"理学部","student_nos":["01260001"]}"#.into()),
                Some(r#"{"faculty":"工学部","student_nos":["01260001","02260001"]}"#.into())
            ),
            (
                "update".into(),
                Some(r#"{"kumoi":"a0000001@example.jp"}"#.into()),
                Some(r#"{"kumoi":"taro.yamada@example.jp"}"#.into())
            ),
        ]
    );

    // The same plan again: its create finds the account (R2), and nothing more is written.
    let again = Plan {
        store_digest: store.digest()?,
        ..plan
    };
    assert!(matches!(
        store.apply(&again, run, &ApplyExtra::default()),
        Err(StoreError::EcsIdTaken { .. })
    ));
    assert_eq!(store.history("a0000001")?.len(), 3);
    Ok(())
}

/// An update writes the student numbers as far as they changed: only the added ones when the
/// stored ones come first (R7's renumbering), all of them after any other change. Each plan is
/// applied on its own, and the stored numbers are read back from `student_nos` and from the
/// plan's key scan alike.
#[test]
fn student_numbers_are_rewritten_as_far_as_they_changed() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Random(e.to_string()))?;
    use crate::triage::Found;
    let mut store = Store::open(&dir.path().join("s.sqlite"))?;
    let created = new_account();
    let with = |nos: &[&str]| Account {
        student_nos: nos.iter().map(|n| StudentNo::new(n)).collect(),
        ..created.clone()
    };
    let steps = [
        (ActionKind::Create, with(&["01260001"])),
        // Added: one row more.
        (ActionKind::Update, with(&["01260001", "02260001"])),
        (
            ActionKind::Update,
            with(&["01260001", "02260001", "03260001"]),
        ),
        // Corrected in the middle: all rewritten.
        (
            ActionKind::Update,
            with(&["01260001", "02260009", "03260001"]),
        ),
        // Dropped at the end, then at the start.
        (ActionKind::Update, with(&["01260001", "02260009"])),
        (ActionKind::Update, with(&["02260009"])),
        // The first one back in front.
        (ActionKind::Update, with(&["01260001", "02260009"])),
    ];
    for (kind, after) in steps {
        let plan = Plan {
            store_digest: store.digest()?,
            ..plan_of(vec![(kind, after.clone())])
        };
        let run = store.begin_run(plan.as_of, "apply")?;
        store.apply(&plan, run, &ApplyExtra::default())?;
        assert_eq!(store.account("a0000001")?, Some(after.clone()));
        let keys = store.keys()?;
        for no in ["01260001", "02260001", "02260009", "03260001"] {
            let held = after.student_nos.iter().any(|n| n.as_str() == no);
            let found = matches!(keys.by_student_no(no), Found::One(_));
            assert_eq!(found, held, "{no} with {:?}", after.student_nos);
        }
    }
    Ok(())
}

#[test]
fn numbers_between_finds_what_an_update_writes() {
    use super::apply::Numbers;
    let nos = |n: &[&str]| -> Vec<StudentNo> { n.iter().map(|n| StudentNo::new(n)).collect() };
    let cases = [
        (&["1"][..], &["1"][..], Numbers::Same),
        (&[][..], &[][..], Numbers::Same),
        (&["1"][..], &["1", "2"][..], Numbers::From(1)),
        (&[][..], &["1"][..], Numbers::From(0)),
        (&["1", "2"][..], &["1"][..], Numbers::All),
        (&["1", "2"][..], &["2", "1"][..], Numbers::All),
        (&["1"][..], &["2", "1"][..], Numbers::All),
    ];
    for (before, after, expected) in cases {
        assert_eq!(
            Numbers::between(&nos(before), &nos(after)),
            expected,
            "{before:?} -> {after:?}"
        );
    }
}

/// A new store in a temporary folder (kept while the `TempDir` lives) with [`new_account`]
/// imported in a run, and that run's id.
fn store_with_one_account() -> Result<(tempfile::TempDir, Store, i64), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Random(e.to_string()))?;
    let mut store = Store::open(&dir.path().join("s.sqlite"))?;
    let run = store.begin_run(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(), "t")?;
    store.import(&[new_account()], &IdFormat::default(), None, Some(run))?;
    Ok((dir, store, run))
}

/// Up to ten of the outbox's notices due now (failed ones only when their retry is due).
fn due_now(store: &Store) -> Result<Vec<super::outbox::DueNotice>, StoreError> {
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
    store.due_notices(&now, false, 0, 10)
}

/// Notice texts are stored zlib-compressed; rows stored as plain text (by earlier versions) read
/// the same.
#[test]
fn outbox_bodies_round_trip_compressed_and_plain() -> Result<(), StoreError> {
    use super::outbox::OutboxEntry;
    let (_dir, mut store, run) = store_with_one_account()?;
    let text = "山田　太郎 様\n\nあなたのECS-ID（学生アカウント）は2026年4月30日に停止します。\n"
        .repeat(8);
    let entry = OutboxEntry {
        ecs_id: "a0000001".into(),
        notice: "departure".into(),
        effective_on: NaiveDate::from_ymd_opt(2026, 4, 30).unwrap_or_default(),
        to: "a0000001@example.jp".into(),
        subject: "停止のお知らせ".into(),
        body: text.clone(),
    };
    assert_eq!(store.enqueue_notices(run, &[entry])?, 1);
    let stored: i64 = store
        .conn
        .query_row("SELECT length(body) FROM outbox", [], |r| r.get(0))?;
    assert!(stored < text.len() as i64 / 2, "{stored} bytes");
    store.conn.execute(
        "INSERT INTO outbox (ecs_id, notice, effective_on, to_addr, subject, body) \
         VALUES ('a0000001', 'holder_expiry', '2026-05-31', 'a0000001@example.jp', 's', ?1)",
        ["平文の本文\n"],
    )?;
    let due: Vec<String> = due_now(&store)?.into_iter().map(|n| n.body).collect();
    assert_eq!(due, [text, "平文の本文\n".to_string()]);
    Ok(())
}

/// A store at schema `version`, built by the migrations up to it, with one account and one
/// run, and `rows` (SQL) run on it.
fn store_at(version: usize, rows: &str) -> Result<tempfile::TempDir, StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Random(e.to_string()))?;
    let conn = Connection::open(dir.path().join("s.sqlite"))?;
    for sql in &migrations::MIGRATIONS[..version] {
        conn.execute_batch(sql)?;
    }
    conn.execute_batch(
        "INSERT INTO meta (id, store_uuid, revision) VALUES (1, 'x', 0);
         INSERT INTO accounts (ecs_id, kumoi, name, name_kana, faculty, role, state)
             VALUES ('a0000001', 'a0000001@example.jp', '京大　太郎', 'キョウダイ　タロウ', '工学部', 'student', 'active');
         INSERT INTO runs (id, as_of, started_at, command) VALUES (1, '2026-03-02', '2026-03-02T00:00:00+09:00', 't');",
    )?;
    conn.execute_batch(rows)?;
    conn.pragma_update(
        None,
        "user_version",
        i64::try_from(version).unwrap_or(i64::MAX),
    )?;
    Ok(dir)
}

/// A store at version 5 whose outbox holds bodies compressed against a preset dictionary
/// (`outbox_dicts`, written by earlier versions): migration 6 stores them again as plain zlib,
/// and they read back the same.
#[test]
fn migration_6_rewrites_bodies_compressed_against_a_dictionary() -> Result<(), StoreError> {
    let text = "京大　太郎 様\n\n卒業・修了・退学等により、学籍を失われたことを確認しました。\n";
    let dict = text.replace("京大　太郎", "山田　花子").into_bytes();
    let mut z = flate2::Compress::new(flate2::Compression::fast(), true);
    z.set_dictionary(&dict)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut against = Vec::with_capacity(text.len() + 64);
    z.compress_vec(text.as_bytes(), &mut against, flate2::FlushCompress::Finish)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let dir = store_at(5, "")?;
    {
        let conn = Connection::open(dir.path().join("s.sqlite"))?;
        conn.execute(
            "INSERT INTO outbox_dicts (id, sha256, dict) VALUES (7, 'x', ?1)",
            [&dict],
        )?;
        conn.execute(
            "INSERT INTO outbox (ecs_id, notice, effective_on, to_addr, subject, body, created_run, dict) \
             VALUES ('a0000001', 'departure', '2026-04-30', 'a0000001@example.jp', 's', ?1, 1, 7)",
            [&against],
        )?;
    }
    let store = Store::open(&dir.path().join("s.sqlite"))?;
    let due: Vec<String> = due_now(&store)?.into_iter().map(|n| n.body).collect();
    assert_eq!(due, [text.to_string()]);
    Ok(())
}

/// Migration 7 keeps what each outbox row meant: pending and sent stay; a send that failed for
/// now stays to be retried after its backoff (now `pending`); a row a process left while
/// sending becomes `unknown`. The ids carry on after the highest ever given.
#[test]
fn migration_7_keeps_the_meaning_of_every_outbox_row() -> Result<(), StoreError> {
    let row = |id: i64, day: u32, status: &str, attempts: u32, error: &str, next: &str| {
        format!(
            "INSERT INTO outbox (id, ecs_id, notice, effective_on, to_addr, subject, body, status, \
             attempts, last_error, next_attempt_at, created_run) VALUES ({id}, 'a0000001', 'departure', \
             '2026-04-{day:02}', 'a0000001@example.jp', 's', 'text', '{status}', {attempts}, {error}, {next}, 1);"
        )
    };
    let interrupted = format!("'{}'", super::outbox::INTERRUPTED);
    let rows = [
        row(1, 1, "pending", 0, "NULL", "NULL"),
        row(2, 2, "sent", 1, "NULL", "NULL"),
        row(
            3,
            3,
            "failed",
            1,
            "'451 try later'",
            "'2026-03-02T10:00:00+09:00'",
        ),
        row(
            4,
            4,
            "failed",
            1,
            &interrupted,
            "'2026-03-02T10:00:00+09:00'",
        ),
        row(9, 9, "pending", 0, "NULL", "NULL"),
        "DELETE FROM outbox WHERE id = 9;".to_string(),
    ]
    .concat();
    let dir = store_at(6, &rows)?;
    let mut store = Store::open(&dir.path().join("s.sqlite"))?;
    let statuses: Vec<(i64, String, i64, Option<String>)> = store
        .conn
        .prepare("SELECT id, status, attempts, next_attempt_at FROM outbox ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let retry_at = Some("2026-03-02T10:00:00+09:00".to_string());
    assert_eq!(
        statuses,
        [
            (1, "pending".to_string(), 0, None),
            (2, "sent".to_string(), 1, None),
            (3, "pending".to_string(), 1, retry_at.clone()),
            (4, "unknown".to_string(), 1, retry_at),
        ]
    );
    let dicts: i64 = store.conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'outbox_dicts'",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(dicts, 0);
    // The next notice gets an id above every id given before, the deleted 9 included.
    use super::outbox::OutboxEntry;
    let run = store.begin_run(NaiveDate::from_ymd_opt(2026, 3, 3).unwrap_or_default(), "t")?;
    let entry = OutboxEntry {
        ecs_id: "a0000001".into(),
        notice: "staff_reminder".into(),
        effective_on: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default(),
        to: "a0000001@example.jp".into(),
        subject: "s".into(),
        body: "b".into(),
    };
    assert_eq!(store.enqueue_notices(run, &[entry])?, 1);
    let last: i64 = store
        .conn
        .query_row("SELECT max(id) FROM outbox", [], |r| r.get(0))?;
    assert_eq!(last, 10);
    Ok(())
}

/// Two notices of one kind for one account in one batch: the later (a corrected date) replaces
/// the earlier, as it would across batches.
#[test]
fn a_later_date_in_the_same_batch_replaces_the_unsent_notice() -> Result<(), StoreError> {
    use super::outbox::OutboxEntry;
    let (_dir, mut store, run) = store_with_one_account()?;
    let entry = |day| OutboxEntry {
        ecs_id: "a0000001".into(),
        notice: "departure".into(),
        effective_on: NaiveDate::from_ymd_opt(2026, 4, day).unwrap_or_default(),
        to: "a0000001@example.jp".into(),
        subject: format!("4月{day}日に停止します"),
        body: "本文\n".to_string(),
    };
    store.enqueue_notices(run, &[entry(15), entry(30)])?;
    let due: Vec<String> = due_now(&store)?.into_iter().map(|n| n.subject).collect();
    assert_eq!(due, ["4月30日に停止します"]);
    Ok(())
}

#[test]
fn an_import_leaves_no_log_behind() -> Result<(), StoreError> {
    let (dir, store, _) = store_with_one_account()?;
    let wal = std::fs::metadata(dir.path().join("s.sqlite-wal"))
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    assert_eq!(wal.len(), 0);
    assert_eq!(store.snapshot()?.accounts.len(), 1);
    Ok(())
}

/// The KUMOI local parts `keys::reserved` finds for a base are the base and its numbered
/// forms (`rules::collides`), whatever else starts like it, in any domain.
#[test]
fn reserved_local_parts_are_the_base_and_its_numbered_forms() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Random(e.to_string()))?;
    let path = dir.path().join("s.sqlite");
    let mut store = Store::open(&path)?;
    let locals = [
        ("yamada.tarou", "st.kyoto-u.ac.jp"),
        ("yamada.tarou.3", "st.kyoto-u.ac.jp"),
        ("yamada.tarou.12", "old.example.jp"),
        ("yamada.tarou.02", "st.kyoto-u.ac.jp"),
        ("yamada.tarou.x1", "st.kyoto-u.ac.jp"),
        ("yamada.tarou.4.2", "st.kyoto-u.ac.jp"),
        ("yamada.taroumaru", "st.kyoto-u.ac.jp"),
        ("yamada.tarou-2", "st.kyoto-u.ac.jp"),
        ("yamada", "st.kyoto-u.ac.jp"),
        ("sato.hanako.7", "st.kyoto-u.ac.jp"),
    ];
    let accounts: Vec<Account> = locals
        .iter()
        .enumerate()
        .map(|(k, (local, domain))| Account {
            ecs_id: EcsId::new(&format!("a{:07}", k + 1)),
            kumoi: format!("{local}@{domain}").into(),
            student_nos: vec![StudentNo::new(&format!("0126{k:04}"))],
            ..new_account()
        })
        .collect();
    store.import(&accounts, &IdFormat::default(), None, None)?;
    let digest = super::digest_of(&store.conn)?;
    let bases = ["yamada.tarou".to_string(), "suzuki.ichirou".to_string()].into();
    let found = super::keys::reserved(&path, &digest, "a9999999", &bases)?;
    let found: Vec<&str> = found.kumoi_local_parts.iter().map(|l| l.as_str()).collect();
    assert_eq!(found, ["yamada.tarou", "yamada.tarou.12", "yamada.tarou.3"]);
    Ok(())
}

/// A new store takes `PAGE_SIZE` pages; an existing file keeps the pages it has.
#[test]
fn new_stores_take_large_pages_and_existing_ones_keep_theirs() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Random(e.to_string()))?;
    let page_size = |store: &Store| -> Result<i64, StoreError> {
        Ok(store.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?)
    };
    let new = Store::open(&dir.path().join("new.sqlite"))?;
    assert_eq!(page_size(&new)?, super::PAGE_SIZE);
    let old_path = dir.path().join("old.sqlite");
    {
        let conn = rusqlite::Connection::open(&old_path)?;
        conn.execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x); DROP TABLE t;")?;
    }
    let old = Store::open(&old_path)?;
    assert_eq!(page_size(&old)?, 4096);
    Ok(())
}

/// The keys read in several ranges, side by side, are the keys read in one.
#[test]
fn keys_read_in_ranges_are_the_keys_read_whole() -> Result<(), Box<dyn std::error::Error>> {
    use crate::triage::{Found, Keys, Slot};
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("regsync.sqlite");
    let mut store = Store::open(&path)?;
    // Enough numbered ECS-IDs for three ranges, with a gap.
    let accounts: Vec<Account> = (1..=64_000u32)
        .filter(|k| !(20_000..30_000).contains(k))
        .map(|k| Account {
            ecs_id: EcsId::new(&format!("a{k:07}")),
            kumoi: format!("u{k}@example.jp").into(),
            person_id: Some(crate::domain::model::PersonId::new(&format!("{:010}", k))),
            student_nos: vec![StudentNo::new(&format!("2{k:07}"))],
            ..new_account()
        })
        .collect();
    store.import(&accounts, &IdFormat::default(), None, None)?;
    drop(store);
    // The ranges are one per thread of the pool the keys are read in.
    let keys_in = |threads: usize| -> Result<Keys, Box<dyn std::error::Error>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let keys = pool.install(|| -> Result<Keys, StoreError> {
            let store = Store::open_read_only(&path)?
                .ok_or_else(|| StoreError::Corrupt("no store".into()))?;
            store.keys()
        })?;
        Ok(keys)
    };
    let (whole, ranges) = (keys_in(1)?, keys_in(3)?);
    assert_eq!(ranges.len(), accounts.len());
    for (slot, a) in accounts.iter().enumerate() {
        let slot = slot as Slot;
        assert_eq!(ranges.ecs_id(slot), a.ecs_id.as_str());
        assert_eq!(whole.ecs_id(slot), a.ecs_id.as_str());
        let no = a.student_nos[0].as_str();
        assert_eq!(ranges.by_student_no(no), Found::One(slot));
        let person = a.person_id.as_ref().map_or("", |p| p.as_str());
        assert_eq!(ranges.by_person(person), Found::One(slot));
    }
    assert_eq!(
        (ranges.next_serial, &ranges.digest),
        (whole.next_serial, &whole.digest)
    );
    Ok(())
}

#[test]
fn after_account_columns_counts_the_account_columns() {
    assert_eq!(
        super::ACCOUNT_COLUMNS.split(',').count(),
        super::AFTER_ACCOUNT_COLUMNS
    );
}

/// A sent mark appended right after the server's 250 makes the row `sent` when folded, from a
/// process that ended too; a line cut short is left for later; a live process's file stays.
#[test]
fn sent_marks_fold_into_the_outbox_and_finished_files_go() -> Result<(), StoreError> {
    use super::outbox::OutboxEntry;
    let (dir, mut store, run) = store_with_one_account()?;
    let entry = |day| OutboxEntry {
        ecs_id: "a0000001".into(),
        notice: if day == 15 {
            "departure"
        } else {
            "staff_conversion"
        }
        .into(),
        effective_on: NaiveDate::from_ymd_opt(2026, 4, day).unwrap_or_default(),
        to: "a0000001@example.jp".into(),
        subject: "s".into(),
        body: "本文\n".to_string(),
    };
    store.enqueue_notices(run, &[entry(15), entry(30)])?;
    let ids: Vec<i64> = due_now(&store)?.iter().map(|n| n.id).collect();
    assert_eq!(ids.len(), 2);
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
    let recorder = store.sent_recorder("4242:feed")?;
    recorder.mark_sent(ids[0], &now)?;
    let marks = dir.path().join("s.sqlite.sent/4242-feed");
    // The second mark was being written when the process died: half a line.
    {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&marks)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        write!(f, "{} 2026", ids[1]).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    }
    // Its process is still running: marked, and the file stays.
    assert_eq!(store.fold_sent_marks(|_| false)?, 1);
    assert!(marks.exists());
    let status = |store: &Store, id: i64| -> Result<String, StoreError> {
        Ok(store
            .conn
            .query_row("SELECT status FROM outbox WHERE id = ?1", [id], |r| {
                r.get(0)
            })?)
    };
    assert_eq!(status(&store, ids[0])?, "sent");
    assert_eq!(status(&store, ids[1])?, "pending");
    // Folded again after the process ended: nothing new, and the file goes.
    assert_eq!(store.fold_sent_marks(|owner| owner == "4242:feed")?, 0);
    assert!(!marks.exists());
    Ok(())
}
