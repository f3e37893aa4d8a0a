//! Table-driven cases per rule, named after what they prove, in a file per pass. Each builds a
//! snapshot and rows, plans on a pinned `as_of`, and checks the actions; `assert_settled`
//! checks the law that applying a plan and planning again on the same inputs decides nothing
//! new. The helpers here build the fixtures; triage's tests use them too.

#![expect(clippy::unwrap_used, reason = "test fixtures")]

mod absent;
mod activations;
mod allocate;
mod counter;
mod due;
mod order;
mod registrar;
mod staff;

use super::*;
use crate::domain::account::{Delivery, StopReason};
use crate::domain::model::{Enrollment, JobType, PersonId, RenewalKind, StaffNo};
use crate::domain::plan::{ReviewReason, Rule};
use crate::domain::policy::Absent;
use crate::domain::schedule::add_days;
use std::collections::{BTreeMap, HashMap};

pub(crate) fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub(crate) fn account(ecs: &str, person: &str, nos: &[&str], status: Status) -> Account {
    Account {
        person_id: Some(PersonId::new(person)),
        student_nos: nos.iter().map(|s| StudentNo::new(s)).collect(),
        name_kana: "ヤマダ タロウ".into(),
        birth_date: Some(d("2000-05-05")),
        status: Some(status),
        ..Account::sample(ecs)
    }
}

pub(crate) fn row(
    n: u32,
    person: &str,
    no: &str,
    status: Status,
    enrollment: Enrollment,
    change: Option<&str>,
) -> RegistrarRow {
    RegistrarRow {
        at: RowRef { file: 0, row: n },
        student_no: StudentNo::new(no),
        person_id: Some(PersonId::new(person)),
        ecs_id: None,
        name: "山田　太郎".into(),
        name_kana: "ヤマダ タロウ".into(),
        birth_date: Some(d("2000-05-05")),
        faculty: "工学部".into(),
        status,
        enrollment,
        admission_date: None,
        change_date: change.map(d),
    }
}

pub(crate) fn staff(n: u32, person: &str, hired: &str) -> StaffRow {
    StaffRow {
        at: RowRef { file: 1, row: n },
        staff_no: StaffNo::new("1000001"),
        person_id: Some(PersonId::new(person)),
        student_no: None,
        ecs_id: None,
        name: "山田　太郎".into(),
        name_kana: "ヤマダ タロウ".into(),
        birth_date: None,
        affiliation: "工学研究科".into(),
        job_type: JobType::Staff,
        hire_date: d(hired),
    }
}

pub(crate) fn snapshot(accounts: Vec<Account>) -> Snapshot {
    Snapshot {
        accounts,
        next_serial: 100,
        digest: "test".into(),
        reserved: Default::default(),
        distinct: Default::default(),
    }
}

pub(crate) fn inputs(registrar: Vec<RegistrarRow>) -> Inputs {
    Inputs {
        files: vec![
            InputFile {
                name: "registrar.csv".into(),
                sha256: String::new(),
                kind: crate::domain::model::Kind::Registrar,
                rows: 0,
            },
            InputFile {
                name: "hr.csv".into(),
                sha256: String::new(),
                kind: crate::domain::model::Kind::Hr,
                rows: 0,
            },
        ],
        full_snapshot: false,
        registrar,
        ..Inputs::default()
    }
}

pub(crate) fn run(snap: &Snapshot, inputs: &Inputs, as_of: &str) -> Plan {
    plan(snap, inputs, d(as_of), &Policy::default())
}

pub(crate) fn kinds(p: &Plan) -> Vec<ActionKind> {
    p.actions.iter().map(|a| a.kind).collect()
}

/// What `apply` does to the accounts, in memory.
pub(crate) fn applied(snap: &Snapshot, plan: &Plan) -> Snapshot {
    let mut by_id: BTreeMap<EcsId, Account> = snap
        .accounts
        .iter()
        .map(|a| (a.ecs_id.clone(), a.clone()))
        .collect();
    for a in &plan.actions {
        if let Some(after) = &a.after {
            by_id.insert(after.ecs_id.clone(), after.clone());
        }
    }
    let accounts: Vec<Account> = by_id.into_values().collect();
    Snapshot {
        accounts,
        next_serial: plan.next_serial,
        digest: "after".into(),
        reserved: Default::default(),
        distinct: snap.distinct.clone(),
    }
}

/// Applying a plan and planning again on the same day and inputs decides nothing more.
pub(crate) fn assert_settled(snap: &Snapshot, inputs: &Inputs, as_of: &str) {
    let first = run(snap, inputs, as_of);
    let again = run(&applied(snap, &first), inputs, as_of);
    let left: Vec<ActionKind> = kinds(&again)
        .into_iter()
        .filter(|k| *k != ActionKind::Review)
        .collect();
    assert!(left.is_empty(), "replanning decided {left:?}");
}
