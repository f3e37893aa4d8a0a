//! Policy `row_errors = "hold_rows"` over generated nights, through the reader and the rules:
//! no person a held row names gets an action, and every other person's plan equals the plan
//! for the file without the bad row (its cells blanked, so row numbers stay).

#![expect(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;

use crate::domain::account::Account;
use crate::domain::model::{EcsId, PersonId, Status, StudentNo};
use crate::domain::plan::{Action, Plan};
use crate::domain::policy::Policy;
use crate::domain::rules::plan;
use crate::domain::rules::tests::{account, d, snapshot};
use crate::ingest::batch::{Batch, BatchFile};
use crate::ingest::profile::Profiles;
use crate::ingest::read_bytes;

const HEADER: &str =
    "学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\n";

/// What the night's snapshot says of account `i`.
#[derive(Debug, Clone, Copy)]
enum Fate {
    Absent,
    Enrolled,
    Graduated,
    Withdrawn,
    OnLeave,
}

/// How the bad row is broken.
#[derive(Debug, Clone, Copy)]
enum Break {
    /// An impossible birth date: every identifier is readable.
    Date,
    /// A student number of the wrong form: the 個人番号 and ECS-ID are readable.
    StudentNo,
    /// An unknown 在籍状態.
    Status,
}

fn student_no(i: usize) -> String {
    format!("0926{i:04}")
}

fn person_id(i: usize) -> String {
    format!("00030{i:05}")
}

fn ecs_id(i: usize) -> String {
    format!("a06{i:05}")
}

fn accounts(n: usize) -> Vec<Account> {
    (0..n)
        .map(|i| {
            account(
                &ecs_id(i),
                &person_id(i),
                &[&student_no(i)],
                Status::Undergraduate,
            )
        })
        .collect()
}

/// The rows of the night (account `i` by its fate, then `new` admissions), as CSV lines.
fn rows(fates: &[(Fate, bool)], new: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, (fate, with_ecs)) in fates.iter().enumerate() {
        let (enrollment, changed) = match fate {
            Fate::Absent => continue,
            Fate::Enrolled => ("在学", ""),
            Fate::Graduated => ("卒業", "2026-03-31"),
            Fate::Withdrawn => ("退学", "2026-03-15"),
            Fate::OnLeave => ("休学", "2026-04-01"),
        };
        let ecs = if *with_ecs { ecs_id(i) } else { String::new() };
        lines.push(format!(
            "{},{},{ecs},山田　太郎,ヤマダ　タロウ,2000-05-05,工学部,学部生,{enrollment},2022-04-01,{changed}",
            student_no(i),
            person_id(i)
        ));
    }
    for k in 0..new {
        lines.push(format!(
            "0926{:04},00039{k:05},,新入　生{k},シンニュウ　セイ{k},2007-0{}-1{k},工学部,学部生,在学,2026-04-01,",
            9000 + k,
            1 + k % 9
        ));
    }
    lines
}

fn broken(line: &str, how: Break) -> String {
    let mut cells: Vec<String> = line.split(',').map(String::from).collect();
    match how {
        Break::Date => cells[5] = "2026-02-30".into(),
        Break::StudentNo => cells[0] = "09AB".into(),
        Break::Status => cells[8] = "謎".into(),
    }
    cells.join(",")
}

/// The plan for the night whose registrar export holds `lines`.
fn night(accounts: &[Account], lines: &[String]) -> Plan {
    let mut text = String::from(HEADER);
    for l in lines {
        let _ = writeln!(text, "{l}");
    }
    let profiles = Profiles::builtin().unwrap();
    let ingested = read_bytes(Path::new("registrar.csv"), text.into_bytes(), 0, &profiles);
    let accepted = ingested.accepted();
    let mut batch = Batch {
        files: vec![BatchFile {
            ingested,
            sha256: String::new(),
            accepted,
        }],
    };
    let inputs = batch.inputs(&profiles);
    plan(
        &snapshot(accounts.to_vec()),
        &inputs,
        d("2026-04-02"),
        &Policy::default(),
    )
}

/// Whether `a` is about the person with these identifiers.
fn about(a: &Action, ids: &[&str]) -> bool {
    let named = |s: Option<&str>| s.is_some_and(|s| ids.contains(&s));
    named(a.ecs_id.as_ref().map(EcsId::as_str))
        || named(a.person.student_no.as_ref().map(StudentNo::as_str))
        || named(a.person.person_id.as_ref().map(PersonId::as_str))
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        Just(Fate::Absent),
        Just(Fate::Enrolled),
        Just(Fate::Enrolled),
        Just(Fate::Graduated),
        Just(Fate::Withdrawn),
        Just(Fate::OnLeave),
    ]
}

fn how() -> impl Strategy<Value = Break> {
    prop_oneof![
        Just(Break::Date),
        Just(Break::StudentNo),
        Just(Break::Status)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_held_row_freezes_its_person_and_leaves_every_other_plan_as_without_it(
        fates in proptest::collection::vec((fate(), any::<bool>()), 3..30),
        new in 0usize..4,
        pick in any::<prop::sample::Index>(),
        how in how(),
    ) {
        let accounts = accounts(fates.len());
        let lines = rows(&fates, new);
        prop_assume!(!lines.is_empty());
        let k = pick.index(lines.len());
        let mut bad = lines.clone();
        bad[k] = broken(&lines[k], how);
        let mut blank = lines.clone();
        blank[k] = ",,,,,,,,,,".into();

        let held = night(&accounts, &bad);
        let without = night(&accounts, &blank);
        if lines.len() == 1 {
            // Its only row held out, a full snapshot would depart everyone else: it is rejected
            // whole, as the header-only file is.
            prop_assert!(held.held.is_empty());
            prop_assert_eq!(held.actions, without.actions);
            return Ok(());
        }

        prop_assert_eq!(held.held.len(), 1);
        prop_assert_eq!(held.held[0].source.row, k as u32 + 2);
        // The bad row's person, by the identifiers on it and on the account they find.
        let cells: Vec<&str> = lines[k].split(',').collect();
        let on_record = (0..fates.len()).find(|&i| student_no(i) == cells[0]);
        let mut ids: Vec<String> = vec![cells[1].to_string()];
        if !matches!(how, Break::StudentNo) {
            ids.push(cells[0].to_string());
        }
        if let Some(i) = on_record {
            ids.extend([ecs_id(i), student_no(i), person_id(i)]);
        }
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        for a in &held.actions {
            prop_assert!(!about(a, &ids), "an action for a held person: {:?}", a);
        }
        let others: Vec<&Action> = without.actions.iter().filter(|a| !about(a, &ids)).collect();
        let held_actions: Vec<&Action> = held.actions.iter().collect();
        prop_assert_eq!(held_actions, others);
        prop_assert_eq!(held.next_serial, without.next_serial);
    }
}

#[test]
fn a_held_row_with_no_identifier_makes_nobody_absent_that_night() {
    let fates = [
        (Fate::Absent, false),
        (Fate::Enrolled, false),
        (Fate::Graduated, true),
    ];
    let accounts = accounts(fates.len());
    let mut lines = rows(&fates, 0);
    let before = night(&accounts, &lines);
    assert!(
        before
            .actions
            .iter()
            .any(|a| a.ecs_id.as_ref().map(EcsId::as_str) == Some("a0600000"))
    );
    // The enrolled student's row with no readable identifier and a bad date.
    lines[0] = ",,,山田　太郎,ヤマダ　タロウ,2000-02-30,工学部,学部生,在学,2022-04-01,".into();
    let after = night(&accounts, &lines);
    assert_eq!(after.held.len(), 1);
    assert!(after.held[0].ids.is_empty());
    // The absent student is not departed; the graduate still is.
    let ids: Vec<Option<&str>> = after
        .actions
        .iter()
        .map(|a| a.ecs_id.as_ref().map(EcsId::as_str))
        .collect();
    assert!(!ids.contains(&Some("a0600000")), "{ids:?}");
    assert!(ids.contains(&Some("a0600002")), "{ids:?}");
}
