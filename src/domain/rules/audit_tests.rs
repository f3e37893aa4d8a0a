//! The decisions an audit of R2–R10 found wrong, each as the rows that reproduced it, and the
//! rules decided after it (留学, the conversion date, late holder notices, one outcome when
//! sources conflict). Named after the rule each one proves.

#![expect(clippy::unwrap_used, reason = "test fixtures")]

use super::tests::{account, applied, assert_settled, d, inputs, kinds, row, run, snapshot, staff};
use super::*;
use crate::domain::account::StopReason;
use crate::domain::model::{Enrollment, JobType, PersonId, RenewalKind, StaffNo};
use crate::domain::plan::{ReviewReason, Rule};

fn renewal(n: u32, kind: RenewalKind, ecs_id: &str, approved: &str) -> RenewalRow {
    RenewalRow {
        at: RowRef { file: 1, row: n },
        kind,
        ecs_id: Some(EcsId::new(ecs_id)),
        person_id: None,
        student_no: None,
        name: "山田　太郎".into(),
        name_kana: "ヤマダ タロウ".into(),
        birth_date: None,
        affiliation: "工学研究科 研究員".into(),
        approved_on: d(approved),
        valid_until: None,
    }
}

fn holder(ecs: &str, until: &str) -> Account {
    let mut h = account(ecs, "PH", &[], Status::Graduate);
    h.role = Role::Holder;
    h.holder_until = Some(d(until));
    h
}

/// Plans `nights` in turn, applying each plan in memory; returns the accounts at the end and
/// every plan.
fn nights(mut snap: Snapshot, nights: &[(&str, Inputs)]) -> (Snapshot, Vec<Plan>) {
    let mut plans = Vec::new();
    for (as_of, inp) in nights {
        let p = run(&snap, inp, as_of);
        snap = applied(&snap, &p);
        plans.push(p);
    }
    (snap, plans)
}

// ---- 1. rows naming an account not on record --------------------------------------------

#[test]
fn r4_r10_r9_rows_naming_an_unknown_ecs_id_are_review_items_with_nothing_else() {
    let snap = snapshot(vec![account(
        "a0000001",
        "P1",
        &["01230001"],
        Status::Undergraduate,
    )]);
    let mut inp = inputs(vec![]);
    inp.activations = vec![ActivationRow {
        at: RowRef { file: 0, row: 2 },
        ecs_id: EcsId::new("a0499999"),
        activated_on: d("2026-04-15"),
    }];
    inp.renewals = vec![renewal(2, RenewalKind::Renewal, "a0499998", "2026-03-12")];
    let mut hr = staff(2, "PX", "2026-04-01");
    hr.person_id = None;
    hr.ecs_id = Some(EcsId::new("a0499997"));
    inp.staff = vec![hr];
    let mut reg = row(
        3,
        "PNEW",
        "01269999",
        Status::Undergraduate,
        Enrollment::Enrolled,
        None,
    );
    reg.ecs_id = Some(EcsId::new("a0499996"));
    inp.registrar = vec![reg];
    let p = run(&snap, &inp, "2026-04-16");
    assert_eq!(kinds(&p), vec![ActionKind::Review; 4]);
    let mut named: Vec<&str> = p
        .actions
        .iter()
        .map(|a| {
            assert_eq!(a.review, Some(ReviewReason::UnknownAccount));
            assert!(a.after.is_none());
            a.ecs_id.as_ref().unwrap().as_str()
        })
        .collect();
    named.sort_unstable();
    assert_eq!(named, ["a0499996", "a0499997", "a0499998", "a0499999"]);
    assert_eq!(p.next_serial, 100, "no new ECS-ID for a row naming one");
}

// ---- 2. approvals from January to March ----------------------------------------------------

#[test]
fn r8_r11_approvals_from_january_to_march_without_an_end_cover_the_next_nendo() {
    // 利用継続 approved 2026-03-27 for a student who completed on 03-31.
    let snap = snapshot(vec![account(
        "a0000002",
        "P2",
        &["66233013"],
        Status::Graduate,
    )]);
    let mut inp = inputs(vec![row(
        2,
        "P2",
        "66233013",
        Status::Graduate,
        Enrollment::Completed,
        Some("2026-03-31"),
    )]);
    inp.renewals = vec![renewal(
        2,
        RenewalKind::Continuation,
        "a0000002",
        "2026-03-27",
    )];
    let (after, plans) = nights(snap, &[("2026-04-02", inp), ("2026-04-03", inputs(vec![]))]);
    assert_eq!(kinds(&plans[0]), vec![ActionKind::MakeHolder]);
    assert!(plans[1].actions.is_empty(), "no expiry notice the next day");
    let a = &after.accounts[0];
    assert_eq!(
        (a.role, a.holder_until, a.stop_on),
        (Role::Holder, Some(d("2027-03-31")), None)
    );

    // A JSPS fellow approved 2026-03-25 holds until the end of the next 年度.
    let mut inp = inputs(vec![]);
    let mut jsps = renewal(3, RenewalKind::JspsFellow, "", "2026-03-25");
    jsps.ecs_id = None;
    jsps.birth_date = Some(d("1995-01-01"));
    inp.renewals = vec![jsps];
    let (after, plans) = nights(
        snapshot(vec![]),
        &[("2026-03-26", inp), ("2026-04-01", inputs(vec![]))],
    );
    assert_eq!(kinds(&plans[0]), vec![ActionKind::Create]);
    assert!(plans[1].actions.is_empty(), "not stopped on 04-01");
    assert_eq!(after.accounts[0].holder_until, Some(d("2027-03-31")));
}

// ---- 3. the roster before the graduation -------------------------------------------------

/// The HR row: `0620001,0000006201,51240001,a0620001,順番　一,ジュンバン　イチ,
/// 2000/01/01,文学研究科,助教,2026/04/01`.
fn junban_hr() -> StaffRow {
    StaffRow {
        at: RowRef { file: 1, row: 2 },
        staff_no: StaffNo::new("0620001"),
        person_id: Some(PersonId::new("0000006201")),
        student_no: Some(StudentNo::new("51240001")),
        ecs_id: Some(EcsId::new("a0620001")),
        name: "順番　一".into(),
        name_kana: "ジュンバン　イチ".into(),
        birth_date: Some(d("2000-01-01")),
        affiliation: "文学研究科".into(),
        job_type: JobType::Faculty,
        hire_date: d("2026-04-01"),
    }
}

fn junban() -> Account {
    account("a0620001", "0000006201", &["51240001"], Status::Graduate)
}

fn junban_completes() -> RegistrarRow {
    row(
        5,
        "0000006201",
        "51240001",
        Status::Graduate,
        Enrollment::Completed,
        Some("2026-03-31"),
    )
}

#[test]
fn r9_a_roster_read_while_enrolled_converts_when_the_graduation_arrives_later() {
    let mut hr = inputs(vec![]);
    hr.staff = vec![junban_hr()];
    let (after, plans) = nights(
        snapshot(vec![junban()]),
        &[
            ("2026-03-20", hr),
            ("2026-04-02", inputs(vec![junban_completes()])),
        ],
    );
    assert_eq!(
        kinds(&plans[0]),
        vec![ActionKind::Update],
        "R9a: remembered"
    );
    assert_eq!(kinds(&plans[1]), vec![ActionKind::StaffConvert]);
    let a = &after.accounts[0];
    assert_eq!(
        (a.role, a.stop_on, a.stop_reason, a.reminder_on),
        (
            Role::ConvertingStaff,
            Some(d("2026-06-30")),
            Some(StopReason::StaffConversion),
            Some(d("2026-05-31"))
        )
    );
}

// ---- 4. an approval and a hire in one plan ---------------------------------------------

#[test]
fn r9_over_r8_a_hire_and_a_continuation_in_one_plan_convert_and_queue_the_approval() {
    let mut inp = inputs(vec![junban_completes()]);
    inp.staff = vec![junban_hr()];
    inp.renewals = vec![renewal(
        3,
        RenewalKind::Continuation,
        "a0620001",
        "2026-03-27",
    )];
    let snap = snapshot(vec![junban()]);
    let p = run(&snap, &inp, "2026-04-02");
    // Review items sort first in a plan.
    assert_eq!(
        kinds(&p),
        vec![ActionKind::Review, ActionKind::StaffConvert]
    );
    assert_eq!(p.actions[0].review, Some(ReviewReason::ApprovalOverruled));
    // The mail says June 30, and so does the store.
    let a = &applied(&snap, &p).accounts[0];
    assert_eq!(
        (a.role, a.stop_on, a.holder_until),
        (Role::ConvertingStaff, Some(d("2026-06-30")), None)
    );
    let notices = crate::domain::notice::notices(&p);
    assert_eq!(notices.len(), 1);
    assert_eq!(p.actions[notices[0].action].stop_on, Some(d("2026-06-30")));
}

#[test]
fn r9_over_r8_either_order_across_nights_ends_converting_without_the_approval() {
    let completes = || inputs(vec![junban_completes()]);
    let mut hr = inputs(vec![]);
    hr.staff = vec![junban_hr()];
    let mut approval = inputs(vec![]);
    approval.renewals = vec![renewal(
        3,
        RenewalKind::Continuation,
        "a0620001",
        "2026-03-27",
    )];
    let orders = [
        [
            ("2026-03-28", completes()),
            ("2026-03-30", hr.clone()),
            ("2026-04-01", approval.clone()),
        ],
        [
            ("2026-03-28", completes()),
            ("2026-03-30", approval.clone()),
            ("2026-04-01", hr.clone()),
        ],
        [
            ("2026-03-28", approval.clone()),
            ("2026-03-30", hr.clone()),
            ("2026-04-01", completes()),
        ],
        [
            ("2026-03-28", hr.clone()),
            ("2026-03-30", approval.clone()),
            ("2026-04-01", completes()),
        ],
    ];
    for order in orders {
        let (after, plans) = nights(snapshot(vec![junban()]), &order);
        let a = &after.accounts[0];
        assert_eq!(
            (a.role, a.stop_on, a.holder_until, a.approval),
            (Role::ConvertingStaff, Some(d("2026-06-30")), None, None),
            "{:?}",
            order.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
        let reviews = plans
            .iter()
            .flat_map(|p| &p.actions)
            .filter(|a| a.review == Some(ReviewReason::ApprovalOverruled))
            .count();
        assert_eq!(reviews, 1, "the approval goes to a person once");
    }
}

// ---- 5. a new 個人番号 -------------------------------------------------------------------

#[test]
fn r7_a_new_person_id_links_the_earlier_numbers_row_to_the_new_numbers_row() {
    let snap = snapshot(vec![account(
        "a0000005",
        "P_OLD",
        &["01220005"],
        Status::Undergraduate,
    )]);
    let inp = inputs(vec![
        row(
            3,
            "P_NEW",
            "01220005",
            Status::Undergraduate,
            Enrollment::Graduated,
            Some("2026-03-31"),
        ),
        row(
            9,
            "P_NEW",
            "51260005",
            Status::Graduate,
            Enrollment::Enrolled,
            None,
        ),
    ]);
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Update], "no depart, no review");
    assert_eq!(p.actions[0].rule, Rule::R7);
    let a = p.actions[0].after.as_ref().unwrap();
    assert_eq!(a.person_id, Some(PersonId::new("P_NEW")));
    assert_eq!(
        a.student_nos,
        [StudentNo::new("01220005"), StudentNo::new("51260005")]
    );
    assert!(crate::domain::notice::notices(&p).is_empty(), "no mail");
    assert_settled(&snap, &inp, "2026-04-02");

    // The current number's row alone with a new 個人番号 is an update too, never ignored.
    let inp = inputs(vec![row(
        3,
        "P_NEW",
        "01220005",
        Status::Undergraduate,
        Enrollment::Enrolled,
        None,
    )]);
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Update]);
    assert_eq!(p.actions[0].changes[0].field, "person_id");
}

// ---- 6. October admissions ---------------------------------------------------------------

#[test]
fn r4_october_admission_deadline_counts_from_admission() {
    let mut r = row(
        3,
        "PO",
        "01260099",
        Status::Undergraduate,
        Enrollment::Enrolled,
        None,
    );
    r.admission_date = Some(d("2026-10-01"));
    let (after, plans) = nights(
        snapshot(vec![]),
        &[
            ("2026-04-02", inputs(vec![r])),
            ("2026-06-02", inputs(vec![])),
        ],
    );
    assert_eq!(kinds(&plans[0]), vec![ActionKind::Create]);
    assert!(plans[1].actions.is_empty(), "not expired before arrival");
    assert_eq!(after.accounts[0].activation_deadline, Some(d("2026-11-30")));
    let p = run(&after, &inputs(vec![]), "2026-12-01");
    assert_eq!(kinds(&p), vec![ActionKind::ActivationExpired]);
}

// ---- 7. conversions imported in flight ------------------------------------------------

#[test]
fn r9_a_conversion_imported_without_a_reminder_date_gets_its_reminder() {
    let mut a = account("a0426256", "P7", &["54231011"], Status::Graduate);
    a.role = Role::ConvertingStaff;
    a.stop_on = Some(d("2026-06-30"));
    a.stop_reason = Some(StopReason::StaffConversion);
    let snap = snapshot(vec![a]);
    let none = inputs(vec![]);
    assert!(run(&snap, &none, "2026-05-30").actions.is_empty());
    let p = run(&snap, &none, "2026-05-31");
    assert_eq!(kinds(&p), vec![ActionKind::StaffReminder]);
    assert_eq!(p.actions[0].stop_on, Some(d("2026-06-30")));
    let reminded = applied(&snap, &p);
    assert!(
        run(&reminded, &none, "2026-06-01").actions.is_empty(),
        "once"
    );
    assert_eq!(
        kinds(&run(&reminded, &none, "2026-06-30")),
        vec![ActionKind::Stop]
    );
}

// ---- 8. an approval for a student still enrolled ---------------------------------------

#[test]
fn r8_a_continuation_for_a_student_enrolled_in_the_same_run_applies_when_status_ends() {
    let snap = snapshot(vec![account(
        "a0000008",
        "P8",
        &["66233013"],
        Status::Graduate,
    )]);
    let enrolled = || {
        row(
            2,
            "P8",
            "66233013",
            Status::Graduate,
            Enrollment::Enrolled,
            None,
        )
    };
    let mut first = inputs(vec![enrolled()]);
    first.renewals = vec![renewal(
        2,
        RenewalKind::Continuation,
        "a0000008",
        "2026-03-10",
    )];
    let (after, plans) = nights(
        snap,
        &[
            ("2026-03-11", first),
            ("2026-03-12", inputs(vec![enrolled()])),
            (
                "2026-04-02",
                inputs(vec![row(
                    2,
                    "P8",
                    "66233013",
                    Status::Graduate,
                    Enrollment::Completed,
                    Some("2026-03-31"),
                )]),
            ),
        ],
    );
    assert_eq!(kinds(&plans[0]), vec![ActionKind::Update]);
    assert_eq!(plans[0].actions[0].rule, Rule::R8);
    assert_eq!(
        plans[0].actions[0].after.as_ref().unwrap().role,
        Role::Student
    );
    assert!(
        plans[1].actions.is_empty(),
        "the next export does not flip anything"
    );
    assert_eq!(
        kinds(&plans[2]),
        vec![ActionKind::MakeHolder],
        "no departure notice"
    );
    let a = &after.accounts[0];
    assert_eq!(
        (a.role, a.holder_until, a.stop_on),
        (Role::Holder, Some(d("2027-03-31")), None)
    );
}

// ---- the decisions -----------------------------------------------------------------------

#[test]
fn r5_study_abroad_is_enrolled_and_never_departs() {
    let snap = snapshot(vec![account(
        "a0000010",
        "P10",
        &["01230010"],
        Status::Undergraduate,
    )]);
    let mut inp = inputs(vec![row(
        2,
        "P10",
        "01230010",
        Status::Undergraduate,
        Enrollment::StudyAbroad,
        Some("2026-04-01"),
    )]);
    inp.full_snapshot = true;
    assert!(run(&snap, &inp, "2026-04-02").actions.is_empty());
}

#[test]
fn r9_r9a_conversion_date_is_the_later_of_the_hire_and_the_end_of_enrolment() {
    // (hired, job, status lost, stop, reminder)
    for (hired, job, lost, stop, reminder) in [
        // A TA/RA hired while enrolled, completing on 03-31: June 30, not 14 days.
        (
            "2025-04-01",
            JobType::PartTimeStaff,
            "2026-03-31",
            "2026-06-30",
            "2026-05-31",
        ),
        // Hired before completing in September: converts in September, stops the next June.
        (
            "2026-04-01",
            JobType::Faculty,
            "2026-09-30",
            "2027-06-30",
            "2027-05-31",
        ),
        // Hired after the graduation: the hire decides.
        (
            "2026-07-01",
            JobType::Staff,
            "2026-03-31",
            "2027-06-30",
            "2027-05-31",
        ),
    ] {
        let mut hr = staff(2, "P11", hired);
        hr.job_type = job;
        let mut with_hr = inputs(vec![]);
        with_hr.staff = vec![hr];
        let lost_row = row(
            4,
            "P11",
            "58231011",
            Status::Graduate,
            Enrollment::Completed,
            Some(lost),
        );
        let (after, plans) = nights(
            snapshot(vec![account(
                "a0000011",
                "P11",
                &["58231011"],
                Status::Graduate,
            )]),
            &[
                ("2026-03-20", with_hr),
                ("2026-03-21", inputs(vec![lost_row])),
            ],
        );
        assert_eq!(
            kinds(&plans[1]),
            vec![ActionKind::StaffConvert],
            "hired {hired}"
        );
        let a = &after.accounts[0];
        assert_eq!(
            (a.stop_on, a.reminder_on, a.reminder_sent),
            (Some(d(stop)), Some(d(reminder)), false),
            "hired {hired}, lost {lost}"
        );
    }
}

#[test]
fn r10_a_late_holder_notice_moves_the_stop_to_give_the_minimum_notice() {
    // (first run, stop) for a holder valid until 2026-03-31 with no notice sent yet.
    for (first_run, stop) in [
        ("2026-03-01", "2026-04-01"),
        ("2026-03-20", "2026-04-03"),
        ("2026-04-05", "2026-04-19"),
    ] {
        let snap = snapshot(vec![holder("a0000012", "2026-03-31")]);
        let p = run(&snap, &inputs(vec![]), first_run);
        assert_eq!(kinds(&p), vec![ActionKind::ExpiryNotice], "{first_run}");
        assert_eq!(p.actions[0].stop_on, Some(d(stop)), "{first_run}");
        let noticed = applied(&snap, &p);
        let before_stop = d(stop).pred_opt().unwrap().to_string();
        assert!(
            run(&noticed, &inputs(vec![]), &before_stop)
                .actions
                .is_empty()
        );
        let s = run(&noticed, &inputs(vec![]), stop);
        assert_eq!(kinds(&s), vec![ActionKind::Stop], "{first_run}");
    }
    // The notice for a year ending 2027-03-31 is on 03-01, a month before the stop on 04-01.
    let snap = snapshot(vec![holder("a0000013", "2027-03-31")]);
    assert!(run(&snap, &inputs(vec![]), "2027-02-28").actions.is_empty());
    assert_eq!(
        kinds(&run(&snap, &inputs(vec![]), "2027-03-01")),
        vec![ActionKind::ExpiryNotice]
    );
}
