//! Pass 4, the counter's approvals (R8, R10, R11): a continuation instead of a departure, a
//! renewal, and a JSPS fellow's new account.

use super::*;

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

    // The same application in two files of one night is one account; another application
    // with that kana name and birth date but another name is a person to ask.
    let first = inp.renewals[0].clone();
    let again = RenewalRow {
        at: RowRef { file: 1, row: 2 },
        ..first.clone()
    };
    let alike = RenewalRow {
        at: RowRef { file: 1, row: 3 },
        name: "青木　良".into(),
        ..first.clone()
    };
    inp.renewals = vec![first, again, alike];
    let p = run(&snapshot(vec![]), &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Review, ActionKind::Create]);
    assert_eq!(p.actions[0].review, Some(ReviewReason::NameBirthCandidate));
    assert_settled(&snapshot(vec![]), &inp, "2026-04-02");
}
