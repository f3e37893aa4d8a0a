//! The SQLite store through its library API: creation, read-only snapshots, apply.

use chrono::NaiveDate;
use regsync::domain::account::Account;
use regsync::domain::model::{Kind, StudentNo};
use regsync::domain::plan::{Action, ActionKind, InputFile, Plan, ReviewReason, Rule};
use regsync::store::{ApplyExtra, IdFormat, Store, StoreError, empty_digest};

use crate::common::Result;

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| "bad date".into())
}

fn account(ecs_id: &str, student_nos: &[&str]) -> Result<Account> {
    Ok(Account {
        student_nos: student_nos.iter().map(|s| StudentNo::new(s)).collect(),
        birth_date: Some(date(2004, 4, 1)?),
        faculty: "理学部".into(),
        ..Account::sample(ecs_id)
    })
}

fn action(kind: ActionKind, rule: Rule, after: Option<Account>) -> Action {
    Action {
        ecs_id: after.as_ref().map(|a| a.ecs_id.clone()),
        after,
        ..Action::sample(kind, rule)
    }
}

fn plan(store_digest: String, actions: Vec<Action>, next_serial: u64) -> Result<Plan> {
    Ok(Plan {
        format: Plan::FORMAT,
        as_of: date(2026, 4, 2)?,
        store_digest,
        inputs: vec![InputFile {
            name: "registrar.csv".into(),
            sha256: "ab".repeat(32),
            kind: Kind::Registrar,
            rows: 2,
        }],
        actions,
        next_serial,
        warnings: Vec::new(),
        held: Vec::new(),
    })
}

/// A store with two imported accounts.
fn seeded(path: &std::path::Path) -> Result<Store> {
    let mut store = Store::open(path)?;
    store.import(
        &[
            account("a0000001", &["01220011", "55261012"])?,
            account("a0000003", &["01220012"])?,
        ],
        &IdFormat::default(),
        None,
        None,
    )?;
    Ok(store)
}

#[test]
fn open_read_only_on_a_missing_store_is_none_and_creates_nothing() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("none.sqlite");
    assert!(Store::open_read_only(&path)?.is_none());
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
    Ok(())
}

#[test]
fn a_new_store_has_the_empty_digest() -> Result {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("s.sqlite"))?;
    let snapshot = store.snapshot()?;
    assert_eq!(snapshot.digest, empty_digest());
    assert!(snapshot.accounts.is_empty());
    assert_eq!(snapshot.next_serial, 0);
    Ok(())
}

#[test]
fn snapshot_through_open_read_only_leaves_the_file_byte_identical() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("s.sqlite");
    let written = seeded(&path)?.snapshot()?;
    let before = std::fs::read(&path)?;
    {
        let mut store = Store::open_read_only(&path)?.ok_or("store missing")?;
        assert_eq!(store.snapshot()?, written);
        assert!(
            store
                .apply(
                    &plan(written.digest.clone(), vec![], 0)?,
                    1,
                    &ApplyExtra::default()
                )
                .is_err()
        );
    }
    assert_eq!(std::fs::read(&path)?, before);
    Ok(())
}

#[test]
fn snapshot_merges_student_numbers_in_order() -> Result {
    let dir = tempfile::tempdir()?;
    let snapshot = seeded(&dir.path().join("s.sqlite"))?.snapshot()?;
    assert_eq!(
        snapshot.accounts,
        vec![
            account("a0000001", &["01220011", "55261012"])?,
            account("a0000003", &["01220012"])?,
        ]
    );
    assert_eq!(snapshot.next_serial, 4);
    assert_ne!(snapshot.digest, empty_digest());
    Ok(())
}

#[test]
fn apply_with_a_stale_digest_is_refused() -> Result {
    let dir = tempfile::tempdir()?;
    let mut store = seeded(&dir.path().join("s.sqlite"))?;
    let before = store.snapshot()?;
    let stale = plan(
        empty_digest(),
        vec![action(
            ActionKind::Create,
            Rule::R1,
            Some(account("a0000004", &["01260001"])?),
        )],
        5,
    )?;
    let run = store.begin_run(date(2026, 4, 2)?, "apply")?;
    match store.apply(&stale, run, &ApplyExtra::default()) {
        Err(StoreError::Stale { expected, found }) => {
            assert_eq!(expected, empty_digest());
            assert_eq!(found, before.digest);
        }
        other => return Err(format!("expected Stale, got {other:?}").into()),
    }
    assert_eq!(store.snapshot()?, before);
    Ok(())
}

#[test]
fn apply_writes_the_after_accounts_and_bumps_the_digest() -> Result {
    let dir = tempfile::tempdir()?;
    let mut store = seeded(&dir.path().join("s.sqlite"))?;
    let before = store.snapshot()?;
    let mut updated = account("a0000001", &["01220011", "55261012", "55281001"])?;
    updated.faculty = "理学研究科".into();
    let created = account("a0000010", &["01260001"])?;
    let mut review = action(ActionKind::Review, Rule::R6, None);
    review.review = Some(ReviewReason::EcsIdMismatch);
    let p = plan(
        before.digest.clone(),
        vec![
            review,
            action(ActionKind::Create, Rule::R1, Some(created.clone())),
            action(ActionKind::Update, Rule::R7, Some(updated.clone())),
        ],
        0,
    )?;
    let run = store.begin_run(date(2026, 4, 2)?, "apply")?;
    let summary = store.apply(&p, run, &ApplyExtra::default())?;
    assert_eq!(
        (summary.accounts, summary.reviews, summary.files),
        (2, 1, 1)
    );

    let after = store.snapshot()?;
    assert_ne!(after.digest, before.digest);
    assert_eq!(after.digest, summary.digest);
    assert_eq!(
        after.accounts,
        vec![updated, account("a0000003", &["01220012"])?, created]
    );
    // One past the created a0000010.
    assert_eq!(after.next_serial, 11);
    assert!(store.processed(&"ab".repeat(32))?.is_some());

    // The same plan again is stale now: nothing happens twice.
    assert!(matches!(
        store.apply(&p, run, &ApplyExtra::default()),
        Err(StoreError::Stale { .. })
    ));
    Ok(())
}

#[test]
fn apply_refuses_to_create_an_ecs_id_that_exists() -> Result {
    let dir = tempfile::tempdir()?;
    let mut store = seeded(&dir.path().join("s.sqlite"))?;
    let before = store.snapshot()?;
    let p = plan(
        before.digest.clone(),
        vec![action(
            ActionKind::Create,
            Rule::R1,
            Some(account("a0000003", &["01260009"])?),
        )],
        0,
    )?;
    let run = store.begin_run(date(2026, 4, 2)?, "apply")?;
    assert!(matches!(
        store.apply(&p, run, &ApplyExtra::default()),
        Err(StoreError::EcsIdTaken { .. })
    ));
    assert_eq!(store.snapshot()?, before);
    Ok(())
}

#[test]
fn next_serial_never_decreases_through_apply() -> Result {
    let dir = tempfile::tempdir()?;
    let mut store = seeded(&dir.path().join("s.sqlite"))?;
    let run = store.begin_run(date(2026, 4, 2)?, "apply")?;
    let digest = store.snapshot()?.digest;
    store.apply(&plan(digest, vec![], 900)?, run, &ApplyExtra::default())?;
    let digest = store.snapshot()?.digest;
    store.apply(&plan(digest, vec![], 10)?, run, &ApplyExtra::default())?;
    assert_eq!(store.snapshot()?.next_serial, 900);
    Ok(())
}

/// The child half of [`a_crash_mid_apply_leaves_none_of_the_plan`]: it applies a two-account
/// plan to the store named by `REGSYNC_CRASH_STORE`, with the `apply-mid` fault point armed,
/// so the process aborts inside the transaction. Run on its own (no variable), it does nothing.
#[test]
fn crash_child() -> Result {
    let Some(path) = std::env::var_os("REGSYNC_CRASH_STORE") else {
        return Ok(());
    };
    let mut store = Store::open(std::path::Path::new(&path))?;
    let digest = store.snapshot()?.digest;
    let p = plan(
        digest,
        vec![
            action(
                ActionKind::Create,
                Rule::R1,
                Some(account("a0000010", &["01260001"])?),
            ),
            action(
                ActionKind::Create,
                Rule::R1,
                Some(account("a0000011", &["01260002"])?),
            ),
        ],
        12,
    )?;
    let run = store.begin_run(date(2026, 4, 2)?, "apply")?;
    store.apply(&p, run, &ApplyExtra::default())?;
    Err("the fault point did not abort the process".into())
}

#[test]
fn a_crash_mid_apply_leaves_none_of_the_plan() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("s.sqlite");
    let before = seeded(&path)?.snapshot()?;
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(["--exact", "store::crash_child", "--test-threads=1"])
        .env("REGSYNC_CRASH_STORE", &path)
        .env(regsync::fault::ENV, "apply-mid")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    assert!(!status.success(), "the child should have aborted");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(6),
            "the child should die of SIGABRT: {status:?}"
        );
    }
    let after = Store::open_read_only(&path)?
        .ok_or("store missing")?
        .snapshot()?;
    assert_eq!(after, before);
    Ok(())
}
