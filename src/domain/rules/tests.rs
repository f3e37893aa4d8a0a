//! Table-driven cases per rule, named after what they prove. Each builds a snapshot and rows,
//! plans on a pinned `as_of`, and checks the actions; `replan` checks the law that applying a
//! plan and planning again on the same inputs decides nothing new.

#![expect(clippy::unwrap_used, reason = "test fixtures")]

use super::allocate::collides_with_any;
use super::registrar::DECIDE_BLOCK;
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
        ecs_id: EcsId::new(ecs),
        kumoi: CompactString::new(format!("{ecs}@st.example.ac.jp")),
        person_id: Some(PersonId::new(person)),
        student_nos: nos.iter().map(|s| StudentNo::new(s)).collect(),
        name: "山田　太郎".into(),
        name_kana: "ヤマダ タロウ".into(),
        birth_date: Some(d("2000-05-05")),
        faculty: "工学部".into(),
        status: Some(status),
        role: Role::Student,
        state: State::Active,
        activation_deadline: None,
        activation_expired: false,
        stop_on: None,
        stop_reason: None,
        departed_on: None,
        reminder_on: None,
        reminder_sent: false,
        holder_until: None,
        expiry_notice_for: None,
        hire: None,
        approval: None,
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

#[test]
fn r5_graduation_first_seen_two_days_later_gives_notice_now_and_stop_in_14_days() {
    let snap = snapshot(vec![account(
        "a0000001",
        "P1",
        &["01230001"],
        Status::Undergraduate,
    )]);
    let inp = inputs(vec![row(
        5,
        "P1",
        "01230001",
        Status::Undergraduate,
        Enrollment::Graduated,
        Some("2026-03-31"),
    )]);
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Depart]);
    let a = &p.actions[0];
    assert_eq!(
        (a.rule, a.notice_on, a.stop_on, a.effective_on),
        (
            Rule::R5,
            Some(d("2026-04-02")),
            Some(d("2026-04-16")),
            Some(d("2026-03-31"))
        )
    );
    assert_eq!(
        a.source,
        Some(Source {
            file: "registrar.csv".into(),
            row: 5
        })
    );
    assert_settled(&snap, &inp, "2026-04-02");
    // The stop falls due on the 16th, not before.
    let after = applied(&snap, &p);
    assert!(kinds(&run(&after, &inputs(vec![]), "2026-04-15")).is_empty());
    let due = run(&after, &inputs(vec![]), "2026-04-16");
    assert_eq!(kinds(&due), vec![ActionKind::Stop]);
    assert_eq!(due.actions[0].stop_reason, Some(StopReason::Departed));
}

#[test]
fn r5_long_past_effective_date_still_gets_the_minimum_notice() {
    let snap = snapshot(vec![account(
        "a0000001",
        "P1",
        &["01230001"],
        Status::Undergraduate,
    )]);
    let inp = inputs(vec![row(
        5,
        "P1",
        "01230001",
        Status::Undergraduate,
        Enrollment::Withdrawn,
        Some("2026-05-31"),
    )]);
    let p = run(&snap, &inp, "2026-05-02");
    // Effective later than notice + 14 days: the effective date wins.
    assert_eq!(p.actions[0].stop_on, Some(d("2026-05-31")));
}

#[test]
fn r6_completion_and_research_student_in_the_same_export_carry_over_without_notice() {
    let snap = snapshot(vec![account(
        "a0000002",
        "P2",
        &["58241012"],
        Status::Graduate,
    )]);
    let inp = inputs(vec![
        row(
            7,
            "P2",
            "58241012",
            Status::Graduate,
            Enrollment::Completed,
            Some("2026-03-31"),
        ),
        row(
            8,
            "P2",
            "58267011",
            Status::ResearchStudent,
            Enrollment::Enrolled,
            None,
        ),
    ]);
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::CarryOver]);
    let a = &p.actions[0];
    assert_eq!((a.rule, a.notice_on, a.stop_on), (Rule::R6, None, None));
    let after = a.after.as_ref().unwrap();
    assert_eq!(after.ecs_id.as_str(), "a0000002");
    assert_eq!(
        after.student_nos,
        vec![StudentNo::new("58241012"), StudentNo::new("58267011")]
    );
    assert_eq!(after.status, Some(Status::ResearchStudent));
    assert_settled(&snap, &inp, "2026-04-02");
}

#[test]
fn r6_research_student_arriving_one_export_after_completion_cancels_the_stop() {
    let snap = snapshot(vec![account(
        "a0000003",
        "P3",
        &["55233013"],
        Status::Graduate,
    )]);
    let first = inputs(vec![row(
        3,
        "P3",
        "55233013",
        Status::Graduate,
        Enrollment::Completed,
        Some("2026-03-31"),
    )]);
    let p1 = run(&snap, &first, "2026-04-02");
    assert_eq!(kinds(&p1), vec![ActionKind::Depart]);
    let snap2 = applied(&snap, &p1);
    let second = inputs(vec![
        row(
            3,
            "P3",
            "55233013",
            Status::Graduate,
            Enrollment::Completed,
            Some("2026-03-31"),
        ),
        row(
            4,
            "P3",
            "55267013",
            Status::ResearchStudent,
            Enrollment::Enrolled,
            None,
        ),
    ]);
    let p2 = run(&snap2, &second, "2026-04-10");
    assert_eq!(kinds(&p2), vec![ActionKind::CancelStop]);
    assert_eq!(p2.actions[0].rule, Rule::R6);
    let after = p2.actions[0].after.as_ref().unwrap();
    assert_eq!((after.stop_on, after.ecs_id.as_str()), (None, "a0000003"));
    assert_settled(&snap2, &second, "2026-04-10");
}

#[test]
fn r7_undergraduate_to_graduate_school_with_a_new_number_is_an_update_with_the_same_ecs_id() {
    let snap = snapshot(vec![account(
        "a0000004",
        "P4",
        &["01220011"],
        Status::Undergraduate,
    )]);
    let inp = inputs(vec![
        row(
            2,
            "P4",
            "01220011",
            Status::Undergraduate,
            Enrollment::Graduated,
            Some("2026-03-31"),
        ),
        row(
            3,
            "P4",
            "56261012",
            Status::Graduate,
            Enrollment::Enrolled,
            None,
        ),
    ]);
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Update]);
    let a = &p.actions[0];
    assert_eq!(
        (a.rule, a.ecs_id.as_ref().map(EcsId::as_str)),
        (Rule::R7, Some("a0000004"))
    );
    assert!(
        a.changes
            .iter()
            .any(|c| c.field == "student_no" && c.to == "56261012")
    );
    assert_settled(&snap, &inp, "2026-04-02");
}

#[test]
fn r2_readmission_after_a_stop_reinstates_the_same_ecs_id_and_kumoi() {
    let mut old = account("a0000005", "P5", &["02190011"], Status::Undergraduate);
    old.state = State::Stopped;
    let kumoi = old.kumoi.clone();
    let snap = snapshot(vec![old]);
    let inp = inputs(vec![row(
        9,
        "P5",
        "63261012",
        Status::Graduate,
        Enrollment::Enrolled,
        None,
    )]);
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Reinstate]);
    let after = p.actions[0].after.as_ref().unwrap();
    assert_eq!(
        (after.ecs_id.as_str(), &after.kumoi, after.state),
        ("a0000005", &kumoi, State::Active)
    );
    assert_eq!(p.next_serial, 100, "no new ECS-ID");
    assert_settled(&snap, &inp, "2026-04-02");
}

#[test]
fn r9_staff_conversion_stops_on_the_first_june_30_with_a_reminder_a_month_before() {
    for (hired, stop, reminder) in [
        ("2026-04-01", "2026-06-30", "2026-05-31"),
        ("2026-07-01", "2027-06-30", "2027-05-31"),
    ] {
        let snap = snapshot(vec![account(
            "a0000006",
            "P6",
            &["04220011"],
            Status::Undergraduate,
        )]);
        let mut inp = inputs(vec![row(
            4,
            "P6",
            "04220011",
            Status::Undergraduate,
            Enrollment::Graduated,
            Some("2026-03-31"),
        )]);
        inp.staff = vec![staff(2, "P6", hired)];
        let p = run(&snap, &inp, "2026-04-02");
        assert_eq!(
            kinds(&p),
            vec![ActionKind::StaffConvert],
            "hired {hired}: the departure is superseded"
        );
        let a = &p.actions[0];
        assert_eq!(
            (a.rule, a.stop_on, a.notice_on),
            (Rule::R9, Some(d(stop)), Some(d("2026-04-02"))),
            "hired {hired}"
        );
        assert_eq!(
            a.after.as_ref().unwrap().reminder_on,
            Some(d(reminder)),
            "hired {hired}"
        );
        assert_settled(&snap, &inp, "2026-04-02");
        let after = applied(&snap, &p);
        let r = run(&after, &inputs(vec![]), reminder);
        assert_eq!(kinds(&r), vec![ActionKind::StaffReminder], "hired {hired}");
        let s = run(&applied(&after, &r), &inputs(vec![]), stop);
        assert_eq!(kinds(&s), vec![ActionKind::Stop], "hired {hired}");
    }
}

#[test]
fn r9a_enrolled_staff_keep_the_ecs_id() {
    let snap = snapshot(vec![account(
        "a0000007",
        "P7",
        &["58243012"],
        Status::Graduate,
    )]);
    let mut inp = inputs(vec![row(
        6,
        "P7",
        "58243012",
        Status::Graduate,
        Enrollment::Enrolled,
        None,
    )]);
    inp.staff = vec![staff(3, "P7", "2026-04-01")];
    // The hire is remembered for the day the enrolment ends; nothing stops.
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Update]);
    assert_eq!(p.actions[0].rule, Rule::R9a);
    let after = p.actions[0].after.as_ref().unwrap();
    assert_eq!((after.role, after.stop_on), (Role::Student, None));
    assert_eq!(after.hire.map(|h| h.hired_on), Some(d("2026-04-01")));
    assert_settled(&snap, &inp, "2026-04-02");
}

#[test]
fn r10_holder_gets_the_expiry_notice_a_month_before_and_stops_the_day_after() {
    let mut h = account("a0000008", "P8", &[], Status::Graduate);
    h.role = Role::Holder;
    h.holder_until = Some(d("2027-03-31"));
    let snap = snapshot(vec![h]);
    let none = inputs(vec![]);
    assert!(run(&snap, &none, "2027-02-28").actions.is_empty());
    let p = run(&snap, &none, "2027-03-01");
    assert_eq!(kinds(&p), vec![ActionKind::ExpiryNotice]);
    assert_eq!(
        (p.actions[0].notice_on, p.actions[0].stop_on),
        (Some(d("2027-03-01")), Some(d("2027-04-01")))
    );
    let noticed = applied(&snap, &p);
    assert!(
        run(&noticed, &none, "2027-03-15").actions.is_empty(),
        "the notice goes once"
    );
    assert!(run(&noticed, &none, "2027-03-31").actions.is_empty());
    let s = run(&noticed, &none, "2027-04-01");
    assert_eq!(kinds(&s), vec![ActionKind::Stop]);
    assert_eq!(s.actions[0].stop_reason, Some(StopReason::HolderExpired));
}

#[test]
fn r10_renewal_extends_a_year_and_no_notice_follows() {
    let mut h = account("a0000009", "P9", &[], Status::Graduate);
    h.role = Role::Holder;
    h.holder_until = Some(d("2027-03-31"));
    let snap = snapshot(vec![h]);
    let mut inp = inputs(vec![]);
    inp.renewals = vec![RenewalRow {
        at: RowRef { file: 0, row: 2 },
        kind: RenewalKind::Renewal,
        ecs_id: Some(EcsId::new("a0000009")),
        person_id: None,
        student_no: None,
        name: "山田　太郎".into(),
        name_kana: "".into(),
        birth_date: None,
        affiliation: "".into(),
        approved_on: d("2027-02-10"),
        valid_until: None,
    }];
    let p = run(&snap, &inp, "2027-02-20");
    assert_eq!(kinds(&p), vec![ActionKind::Renew]);
    assert_eq!(
        p.actions[0].after.as_ref().unwrap().holder_until,
        Some(d("2028-03-31"))
    );
    let renewed = applied(&snap, &p);
    assert!(
        run(&renewed, &inputs(vec![]), "2027-03-01")
            .actions
            .is_empty()
    );
    assert!(
        run(&renewed, &inputs(vec![]), "2027-04-01")
            .actions
            .is_empty()
    );
    assert_settled(&snap, &inp, "2027-02-20");
}

#[test]
fn r8_continuation_makes_a_holder_instead_of_a_departure() {
    let snap = snapshot(vec![account(
        "a0000010",
        "P10",
        &["66233013"],
        Status::Graduate,
    )]);
    let mut inp = inputs(vec![row(
        4,
        "P10",
        "66233013",
        Status::Graduate,
        Enrollment::Completed,
        Some("2026-03-31"),
    )]);
    inp.renewals = vec![RenewalRow {
        at: RowRef { file: 0, row: 2 },
        kind: RenewalKind::Continuation,
        ecs_id: Some(EcsId::new("a0000010")),
        person_id: None,
        student_no: None,
        name: "山田　太郎".into(),
        name_kana: "".into(),
        birth_date: None,
        affiliation: "研究員".into(),
        approved_on: d("2026-04-01"),
        valid_until: None,
    }];
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::MakeHolder]);
    let after = p.actions[0].after.as_ref().unwrap();
    assert_eq!(
        (after.role, after.holder_until, after.stop_on),
        (Role::Holder, Some(d("2027-03-31")), None)
    );
    assert_settled(&snap, &inp, "2026-04-02");
}

#[test]
fn r1_r3_admissions_by_letter_in_cohort_months_and_at_the_counter_otherwise() {
    // R4: the 60 days count from the admission when it is after the export.
    for (admitted, delivery, deadline) in [
        ("2026-04-01", Delivery::Letter, "2026-06-01"),
        ("2026-05-07", Delivery::Counter, "2026-07-06"),
        ("2026-10-01", Delivery::Letter, "2026-11-30"),
    ] {
        let mut r = row(
            3,
            "PN",
            "01260001",
            Status::Undergraduate,
            Enrollment::Enrolled,
            None,
        );
        r.admission_date = Some(d(admitted));
        let inp = inputs(vec![r]);
        let p = run(&snapshot(vec![]), &inp, "2026-04-02");
        assert_eq!(kinds(&p), vec![ActionKind::Create]);
        let a = &p.actions[0];
        assert_eq!(a.delivery, Some(delivery), "admitted {admitted}");
        let after = a.after.as_ref().unwrap();
        assert_eq!(after.ecs_id.as_str(), "a0000100");
        assert_eq!(after.kumoi.as_str(), "yamada.tarou@st.kyoto-u.ac.jp");
        assert_eq!(
            (after.state, after.activation_deadline),
            (State::Pending, Some(d(deadline)))
        );
        assert_eq!(p.next_serial, 101);
        assert_settled(&snapshot(vec![]), &inp, "2026-04-02");
    }
}

#[test]
fn r4_activation_is_recorded_and_a_missed_deadline_is_marked_once() {
    let mut pending = account("a0000011", "P11", &["01260001"], Status::Undergraduate);
    pending.state = State::Pending;
    pending.activation_deadline = Some(d("2026-05-31"));
    let snap = snapshot(vec![pending]);
    let mut inp = inputs(vec![]);
    inp.activations = vec![ActivationRow {
        at: RowRef { file: 0, row: 2 },
        ecs_id: EcsId::new("a0000011"),
        activated_on: d("2026-04-10"),
    }];
    let p = run(&snap, &inp, "2026-04-11");
    assert_eq!(
        (kinds(&p), p.actions[0].rule),
        (vec![ActionKind::Update], Rule::R4)
    );
    assert_eq!(p.actions[0].after.as_ref().unwrap().state, State::Active);
    let none = inputs(vec![]);
    assert!(
        run(&snap, &none, "2026-05-31").actions.is_empty(),
        "the deadline day itself is still fine"
    );
    let e = run(&snap, &none, "2026-06-01");
    assert_eq!(kinds(&e), vec![ActionKind::ActivationExpired]);
    assert_settled(&snap, &none, "2026-06-01");
}

#[test]
fn r11_jsps_fellow_without_an_ecs_id_gets_a_holder_account_at_the_counter() {
    let mut inp = inputs(vec![]);
    inp.renewals = vec![RenewalRow {
        at: RowRef { file: 0, row: 5 },
        kind: RenewalKind::JspsFellow,
        ecs_id: None,
        person_id: None,
        student_no: None,
        name: "青木　亮".into(),
        name_kana: "アオキ リョウ".into(),
        birth_date: Some(d("1995-01-01")),
        affiliation: "理学研究科".into(),
        approved_on: d("2026-04-01"),
        valid_until: None,
    }];
    let p = run(&snapshot(vec![]), &inp, "2026-04-02");
    assert_eq!(
        (kinds(&p), p.actions[0].rule, p.actions[0].delivery),
        (vec![ActionKind::Create], Rule::R11, Some(Delivery::Counter))
    );
    let after = p.actions[0].after.as_ref().unwrap();
    assert_eq!(
        (after.role, after.holder_until, after.kumoi.as_str()),
        (
            Role::Holder,
            Some(d("2027-03-31")),
            "aoki.ryou@st.kyoto-u.ac.jp"
        )
    );
    // The same application read again creates nobody (R2: one person, one ECS-ID).
    assert_settled(&snapshot(vec![]), &inp, "2026-04-02");
}

#[test]
fn r6_a_different_ecs_id_in_the_export_is_a_review_item_not_a_change() {
    let snap = snapshot(vec![account(
        "a0000012",
        "P12",
        &["55251013"],
        Status::Graduate,
    )]);
    let mut r = row(
        4,
        "P12",
        "55251013",
        Status::Graduate,
        Enrollment::Enrolled,
        None,
    );
    r.ecs_id = Some(EcsId::new("a0999999"));
    let p = run(&snap, &inputs(vec![r]), "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Review]);
    assert_eq!(
        (p.actions[0].review, p.actions[0].rule),
        (Some(ReviewReason::EcsIdMismatch), Rule::R6)
    );
}

#[test]
fn r2_same_kana_and_birth_date_without_an_identifier_is_a_review_candidate_never_a_match() {
    let mut old = account("a0000013", "P13", &["01100001"], Status::Undergraduate);
    old.state = State::Stopped;
    old.name = "山崎　美咲".into();
    old.name_kana = "ヤマザキ ミサキ".into();
    let snap = snapshot(vec![old]);
    let mut r = row(
        3,
        "PNEW",
        "09268011",
        Status::Undergraduate,
        Enrollment::Enrolled,
        None,
    );
    r.name = "山﨑　美咲".into();
    r.name_kana = "ﾔﾏｻﾞｷ ﾐｻｷ".into();
    let p = run(&snap, &inputs(vec![r]), "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Review]);
    assert_eq!(p.actions[0].review, Some(ReviewReason::NameBirthCandidate));
    assert_eq!(
        p.next_serial, 100,
        "no ECS-ID is given while a person decides"
    );
}

#[test]
fn two_disagreeing_rows_for_one_person_are_a_review_item() {
    let snap = snapshot(vec![account(
        "a0000014",
        "P14",
        &["01230001"],
        Status::Undergraduate,
    )]);
    let inp = inputs(vec![
        row(
            2,
            "P14",
            "01230001",
            Status::Undergraduate,
            Enrollment::Enrolled,
            None,
        ),
        row(
            3,
            "P14",
            "01230001",
            Status::Undergraduate,
            Enrollment::Withdrawn,
            Some("2026-03-31"),
        ),
    ]);
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Review]);
    assert_eq!(p.actions[0].review, Some(ReviewReason::DuplicateRows));
}

#[test]
fn r5_absent_from_a_full_snapshot_departs_or_goes_to_review_by_policy() {
    let snap = snapshot(vec![
        account("a0000015", "P15", &["01230001"], Status::Undergraduate),
        account("a0000016", "P16", &["01230002"], Status::Undergraduate),
    ]);
    let mut inp = inputs(vec![row(
        2,
        "P15",
        "01230001",
        Status::Undergraduate,
        Enrollment::Enrolled,
        None,
    )]);
    inp.full_snapshot = true;
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Depart]);
    assert_eq!(
        (
            p.actions[0].ecs_id.as_ref().map(EcsId::as_str),
            p.actions[0].stop_on
        ),
        (Some("a0000016"), Some(d("2026-04-16")))
    );
    let policy = Policy {
        absent: Absent::Review,
        ..Policy::default()
    };
    let r = plan(&snap, &inp, d("2026-04-02"), &policy);
    assert_eq!(
        r.actions.iter().map(|a| a.kind).collect::<Vec<_>>(),
        vec![ActionKind::Review]
    );
    assert_settled(&snap, &inp, "2026-04-02");
}

#[test]
fn plan_is_the_same_whatever_the_row_order() {
    let snap = snapshot(vec![
        account("a0000017", "P17", &["01230001"], Status::Undergraduate),
        account("a0000018", "P18", &["01230002"], Status::Undergraduate),
    ]);
    let rows = vec![
        row(
            2,
            "P17",
            "01230001",
            Status::Undergraduate,
            Enrollment::Graduated,
            Some("2026-03-31"),
        ),
        row(
            3,
            "P18",
            "01230002",
            Status::Graduate,
            Enrollment::Enrolled,
            None,
        ),
        row(
            4,
            "PX",
            "01260009",
            Status::Undergraduate,
            Enrollment::Enrolled,
            None,
        ),
        row(
            5,
            "PY",
            "01260010",
            Status::Undergraduate,
            Enrollment::Enrolled,
            None,
        ),
    ];
    let a = run(&snap, &inputs(rows.clone()), "2026-04-02");
    let mut reversed = rows;
    reversed.reverse();
    let b = run(&snap, &inputs(reversed), "2026-04-02");
    assert_eq!(a, b);
}

/// The registrar pass decides a block of persons at a time (`DECIDE_BLOCK`): a night larger
/// than two blocks, admissions with graduations of accounts on record among them, gives every
/// row its action, and ECS-IDs in row order.
#[test]
fn r1_r5_a_night_of_several_decide_blocks_acts_on_every_row_in_order() {
    let n = 2 * DECIDE_BLOCK + 100;
    let on_record: Vec<Account> = (0..20)
        .map(|k| Account {
            name_kana: "スズキ ハナコ".into(),
            ..account(
                &format!("a9{k:06}"),
                &format!("Q{k:07}"),
                &[&format!("9{k:07}")],
                Status::Undergraduate,
            )
        })
        .collect();
    let mut rows = Vec::new();
    for k in 0..n {
        let mut r = row(
            k as u32 + 2,
            &format!("P{k:07}"),
            &format!("{k:08}"),
            Status::Undergraduate,
            Enrollment::Enrolled,
            None,
        );
        // Distinct people (no kana + birth date look-alikes), all named ヤマダ タロウ.
        r.birth_date = d("1930-01-01").checked_add_days(chrono::Days::new(k as u64));
        rows.push(r);
        if k % (n / 20) == 0 && k / (n / 20) < 20 {
            let g = k / (n / 20);
            rows.push(row(
                rows.len() as u32 + 2,
                &format!("Q{g:07}"),
                &format!("9{g:07}"),
                Status::Undergraduate,
                Enrollment::Graduated,
                Some("2026-03-31"),
            ));
        }
    }
    // Row numbers in file order.
    for (i, r) in rows.iter_mut().enumerate() {
        r.at.row = i as u32 + 2;
    }
    let p = run(&snapshot(on_record), &inputs(rows), "2026-04-01");
    let creates: Vec<&Action> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Create)
        .collect();
    assert_eq!(creates.len(), n);
    let ids: Vec<&str> = creates
        .iter()
        .map(|a| a.ecs_id.as_ref().unwrap().as_str())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ECS-IDs follow the rows"
    );
    // One name for everyone: yamada.tarou, then .2, .3, ... each once (R3).
    let kumoi: HashSet<&str> = creates
        .iter()
        .map(|a| a.after.as_ref().unwrap().kumoi.as_str())
        .collect();
    assert_eq!(kumoi.len(), n);
    assert!(kumoi.contains(format!("yamada.tarou.{n}@st.kyoto-u.ac.jp").as_str()));
    assert!(
        creates
            .windows(2)
            .all(|w| { w[0].source.as_ref().unwrap().row < w[1].source.as_ref().unwrap().row })
    );
    let departed: HashSet<&str> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Depart)
        .map(|a| a.ecs_id.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(departed.len(), 20);
}

/// R3: a new KUMOI is the smallest free `base.n` (n >= 2) among the accounts in the snapshot
/// and those outside it (`reserved`); `base.02` or `base.x.4` do not take a number.
#[test]
fn r3_kumoi_suffixes_skip_numbers_taken_in_or_outside_the_snapshot() {
    let mut on_record = account("a0000001", "Q0000001", &["90000001"], Status::Undergraduate);
    on_record.kumoi = "yamada.tarou.4@st.kyoto-u.ac.jp".into();
    let mut snap = snapshot(vec![on_record]);
    snap.reserved.kumoi_local_parts = [
        "yamada.tarou",
        "yamada.tarou.02",
        "yamada.tarou.3",
        "yamada.tarou.x.5",
    ]
    .into_iter()
    .map(CompactString::from)
    .collect();
    let rows = (0..3)
        .map(|k| {
            let mut r = row(
                k + 2,
                &format!("P{k:07}"),
                &format!("1{k:07}"),
                Status::Undergraduate,
                Enrollment::Enrolled,
                None,
            );
            r.birth_date = Some(d("2001-01-01") + chrono::Days::new(u64::from(k)));
            r
        })
        .collect();
    let p = run(&snap, &inputs(rows), "2026-04-01");
    let kumoi: Vec<&str> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Create)
        .map(|a| a.after.as_ref().unwrap().kumoi.as_str())
        .collect();
    assert_eq!(
        kumoi,
        [
            "yamada.tarou.2@st.kyoto-u.ac.jp",
            "yamada.tarou.5@st.kyoto-u.ac.jp",
            "yamada.tarou.6@st.kyoto-u.ac.jp"
        ]
    );
}

/// R3: the local parts an allocation for `base` could give, and only those, collide with it.
#[test]
fn r3_only_the_base_and_its_numbered_forms_collide() {
    let cases = [
        ("yamada.tarou", "yamada.tarou", true),
        ("yamada.tarou", "yamada.tarou.2", true),
        ("yamada.tarou", "yamada.tarou.123456789", true),
        ("yamada.tarou", "yamada.tarou.1234567890", false),
        ("yamada.tarou", "yamada.tarou.02", false),
        ("yamada.tarou", "yamada.tarou.", false),
        ("yamada.tarou", "yamada.tarou.x1", false),
        ("yamada.tarou", "yamada.tarou.4.2", false),
        ("yamada.tarou", "yamada.taroumaru", false),
        ("yamada.tarou", "yamada.tarou2", false),
        ("yamada.tarou", "yamada", false),
        ("yamada.tarou.4", "yamada.tarou.4.2", true),
    ];
    for (base, local, expected) in cases {
        assert_eq!(collides(base, local), expected, "{base} / {local}");
        let one: FxHashSet<&str> = [base].into_iter().collect();
        assert_eq!(collides_with_any(&one, local), expected, "{base} / {local}");
    }
}

/// The lookup form of `collides` agrees with it on any strings of the letters that matter.
#[test]
fn collides_with_any_agrees_with_collides() {
    use proptest::prelude::*;
    let word = "[a0-2.]{0,7}";
    proptest!(|(bases in proptest::collection::vec(word, 1..4), local in word)| {
        let set: FxHashSet<&str> = bases.iter().map(String::as_str).collect();
        let any = bases.iter().any(|b| collides(b, &local));
        prop_assert_eq!(collides_with_any(&set, &local), any);
    });
}

/// `permute` puts at each position what `order` names, for any permutation.
#[test]
fn permute_follows_the_order() {
    use proptest::prelude::*;
    proptest!(|(order in Just((0..200usize).collect::<Vec<_>>()).prop_shuffle())| {
        let items: Vec<String> = (0..200).map(|k| format!("item {k}")).collect();
        let expected: Vec<String> = order.iter().map(|&k| items[k].clone()).collect();
        let mut got = items;
        permute(&mut got, order);
        prop_assert_eq!(got, expected);
    });
}

mod ecs_id_uniqueness {
    use super::*;
    use proptest::prelude::*;

    /// 10,000 admissions over many nights, with graduations, stops and readmissions between
    /// them: every ECS-ID is given to exactly one person, and a readmitted person gets theirs back.
    fn simulate(seed: u64, nights: usize, per_night: usize) -> Result<(), String> {
        let mut snap = snapshot(vec![]);
        let mut rng = seed | 1;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut owner: HashMap<String, String> = HashMap::new(); // ecs_id → person
        let mut person_no = 0u32;
        let mut day = d("2026-04-01");
        for _ in 0..nights {
            let mut rows = Vec::new();
            for k in 0..per_night {
                person_no += 1;
                let p = format!("P{person_no:07}");
                let mut r = row(
                    k as u32 + 2,
                    &p,
                    &format!("{person_no:08}"),
                    Status::Undergraduate,
                    Enrollment::Enrolled,
                    None,
                );
                // Distinct people: no kana + birth date look-alikes (those only make review items).
                r.birth_date =
                    d("1990-01-01").checked_add_days(chrono::Days::new(u64::from(person_no)));
                rows.push(r);
            }
            // Some people on record graduate; some stopped people come back with a new number.
            for a in snap.accounts.iter() {
                let pid = a
                    .person_id
                    .as_ref()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default();
                let r = next() % 100;
                if a.state == State::Active && r < 5 {
                    rows.push(row(
                        0,
                        &pid,
                        a.student_nos[0].as_str(),
                        Status::Undergraduate,
                        Enrollment::Graduated,
                        Some("2026-03-31"),
                    ));
                } else if a.state == State::Stopped && r < 10 {
                    person_no += 1;
                    rows.push(row(
                        0,
                        &pid,
                        &format!("{person_no:08}"),
                        Status::Graduate,
                        Enrollment::Enrolled,
                        None,
                    ));
                }
            }
            let p = plan(&snap, &inputs(rows), day, &Policy::default());
            for a in &p.actions {
                let (Some(id), Some(after)) = (&a.ecs_id, &a.after) else {
                    continue;
                };
                let person = after
                    .person_id
                    .as_ref()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default();
                if let Some(prev) = owner.insert(id.as_str().to_string(), person.clone())
                    && prev != person
                {
                    return Err(format!("{id} given to {prev} and {person}"));
                }
            }
            snap = applied(&snap, &p);
            // Activate everyone so accounts can depart; time moves past the stops.
            for a in &mut snap.accounts {
                if a.state == State::Pending {
                    a.state = State::Active;
                }
            }
            day = add_days(day, 20);
            let stops = plan(&snap, &inputs(vec![]), day, &Policy::default());
            snap = applied(&snap, &stops);
        }
        let created = owner.len();
        if created < nights * per_night {
            return Err(format!(
                "only {created} IDs for {} admissions",
                nights * per_night
            ));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2, ..ProptestConfig::default() })]
        #[test]
        fn r2_no_ecs_id_is_ever_given_to_a_second_person(seed in any::<u64>()) {
            prop_assert_eq!(simulate(seed, 20, 500), Ok(()));
        }
    }
}
