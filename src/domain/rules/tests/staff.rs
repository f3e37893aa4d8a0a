//! Pass 3, HR's roster (R9, R9a): the conversion and its June 30 stop, and enrolled staff who
//! keep the ECS-ID.

use super::*;

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
