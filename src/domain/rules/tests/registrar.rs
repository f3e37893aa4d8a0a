//! Pass 1, the registrar's export: admissions (R1, R3, R4), one ECS-ID for life (R2), the loss
//! of student status (R5), carry-over (R6), new numbers (R7), and the rows left to review.

use super::*;
use crate::domain::rules::registrar::DECIDE_BLOCK;

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

/// R2's case: a student whose account was stopped (P5, undergraduate number 02190011)…
fn stopped_undergraduate() -> Account {
    let mut old = account("a0000005", "P5", &["02190011"], Status::Undergraduate);
    old.state = State::Stopped;
    old
}

/// …enrolled again as a graduate student under a new number.
fn enrolled_again() -> RegistrarRow {
    row(
        9,
        "P5",
        "63261012",
        Status::Graduate,
        Enrollment::Enrolled,
        None,
    )
}

#[test]
fn r2_readmission_after_a_stop_reinstates_the_same_ecs_id_and_kumoi() {
    let old = stopped_undergraduate();
    let kumoi = old.kumoi.clone();
    let snap = snapshot(vec![old]);
    let inp = inputs(vec![enrolled_again()]);
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

/// R2 with R7: a stopped student enrolled again under a name with unmapped 外字 is reinstated,
/// and the name waits for a person, as for a student who never left.
#[test]
fn r2_r7_a_readmission_under_unmapped_gaiji_is_reinstated_and_the_name_is_a_review_item() {
    let mut old = stopped_undergraduate();
    old.name = "髙橋　花子".into();
    let snap = snapshot(vec![old]);
    let inp = inputs(vec![RegistrarRow {
        name: "\u{E000}橋　花子".into(),
        ..enrolled_again()
    }]);
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Review, ActionKind::Reinstate]);
    let review = &p.actions[0];
    assert_eq!(
        (review.rule, review.review),
        (Rule::R7, Some(ReviewReason::UnmappedGaiji))
    );
    let after = applied(&snap, &p);
    let account = &after.accounts[0];
    assert_eq!(
        (account.name.as_str(), account.state),
        ("髙橋　花子", State::Active)
    );
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
    let p = run(&snap, &inputs(vec![r.clone()]), "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Review]);
    assert_eq!(
        (p.actions[0].review, p.actions[0].rule),
        (Some(ReviewReason::EcsIdMismatch), Rule::R6)
    );
    // The registry's view, for `review resolve --accept-registry`.
    assert_eq!(p.actions[0].candidates, vec![EcsId::new("a0999999")]);

    // `review resolve --keep-ours`: a person said the registry's ECS-ID is not this row's
    // person's, so the row matches the account on record and nothing is asked again.
    let mut snap = snap;
    snap.distinct
        .insert((StudentNo::new("55251013"), EcsId::new("a0999999")));
    let p = run(&snap, &inputs(vec![r]), "2026-04-02");
    assert_eq!(kinds(&p), vec![], "{:?}", p.actions);
}

/// R5, R6: a completion row and a research-student row of one person, the new row naming
/// another ECS-ID: the mismatch is a review item, and the account waits for it. Read alone,
/// the completion row would depart (notice, then stop) a student the export shows continuing.
#[test]
fn r6_while_a_mismatched_row_of_the_person_is_reviewed_the_other_rows_depart_nobody() {
    let snap = snapshot(vec![account(
        "a0000012",
        "P12",
        &["55241003"],
        Status::Graduate,
    )]);
    let completed = row(
        4,
        "P12",
        "55241003",
        Status::Graduate,
        Enrollment::Completed,
        Some("2026-03-31"),
    );
    let mut continuing = row(
        5,
        "P12",
        "55267003",
        Status::ResearchStudent,
        Enrollment::Enrolled,
        None,
    );
    continuing.ecs_id = Some(EcsId::new("a0999999"));
    let inp = inputs(vec![completed, continuing.clone()]);
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Review], "{:?}", p.actions);
    assert_eq!(p.actions[0].review, Some(ReviewReason::EcsIdMismatch));

    // Resolved with `--keep-ours`: the rows are one person's again, and carry over (R6).
    let mut snap = snap;
    snap.distinct
        .insert((StudentNo::new("55267003"), EcsId::new("a0999999")));
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::CarryOver], "{:?}", p.actions);
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
    let reasons = |p: &Plan| {
        (
            p.actions[0].reason_ja.clone(),
            p.actions[0].reason_en.clone(),
        )
    };
    assert_eq!(
        reasons(&p),
        (
            "同じ人の行が食い違っています（2・3行目）".into(),
            "rows 2, 3 are the same person and disagree".into()
        )
    );

    // Rows from two files (two exports of the same registry): each row names its file.
    let mut inp = inp;
    inp.files[1].name = "05/registrar.csv".into();
    inp.files[1].kind = crate::domain::model::Kind::Registrar;
    inp.registrar[1].at.file = 1;
    let p = run(&snap, &inp, "2026-04-02");
    assert_eq!(p.actions[0].review, Some(ReviewReason::DuplicateRows));
    assert_eq!(
        reasons(&p),
        (
            "同じ人の行が食い違っています（registrar.csv の2行目・05/registrar.csv の3行目）"
                .into(),
            "rows registrar.csv:2, 05/registrar.csv:3 are the same person and disagree".into()
        )
    );
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

#[test]
fn r2_an_ecs_id_on_record_matches_a_row_whose_other_identifiers_are_new() {
    // The registrar re-keyed the person (new 個人番号 and student number) but the export still
    // carries the ECS-ID: the row is that account, never a second ECS-ID.
    let snap = snapshot(vec![account(
        "a0000021",
        "P21",
        &["01230021"],
        Status::Undergraduate,
    )]);
    let mut r = row(
        7,
        "P21-NEW",
        "05260021",
        Status::Graduate,
        Enrollment::Enrolled,
        None,
    );
    r.ecs_id = Some(EcsId::new("a0000021"));
    let p = run(&snap, &inputs(vec![r]), "2026-04-02");
    assert!(
        !kinds(&p).contains(&ActionKind::Create),
        "a second ECS-ID was planned: {:?}",
        kinds(&p)
    );
    assert!(
        p.actions.iter().all(|a| a
            .after
            .as_ref()
            .is_none_or(|x| x.ecs_id.as_str() == "a0000021")),
        "{:?}",
        p.actions
    );
}

#[test]
fn r2_an_ecs_id_not_on_record_is_a_review_item_never_a_new_id() {
    let snap = snapshot(vec![account(
        "a0000022",
        "P22",
        &["01230022"],
        Status::Undergraduate,
    )]);
    let mut r = row(
        8,
        "P-UNKNOWN",
        "05260099",
        Status::Undergraduate,
        Enrollment::Enrolled,
        None,
    );
    r.ecs_id = Some(EcsId::new("a0999998"));
    let p = run(&snap, &inputs(vec![r]), "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Review]);
    assert_eq!(p.actions[0].rule, Rule::R2);
    assert!(
        p.actions[0].reason_en.contains("a0999998"),
        "{}",
        p.actions[0].reason_en
    );
}

#[test]
fn r2_a_common_name_and_birth_date_names_ten_candidates_and_counts_the_rest() {
    // Twelve people on record share the row's kana name and birth date.
    let accounts: Vec<Account> = (0..12)
        .map(|i| {
            account(
                &format!("a00001{i:02}"),
                &format!("P1{i:02}"),
                &[&format!("0123{i:04}")],
                Status::Undergraduate,
            )
        })
        .collect();
    let snap = snapshot(accounts);
    let r = row(
        9,
        "PNEW",
        "09260001",
        Status::Undergraduate,
        Enrollment::Enrolled,
        None,
    );
    let p = run(&snap, &inputs(vec![r]), "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Review]);
    let a = &p.actions[0];
    assert_eq!(a.candidates.len(), 10);
    assert!(a.reason_en.contains("a0000109 (+2)"), "{}", a.reason_en);
    assert!(!a.reason_en.contains("a0000110"), "{}", a.reason_en);
}

#[test]
fn r2_candidates_a_person_said_are_different_people_no_longer_hold_the_row_back() {
    let mut snap = snapshot(vec![
        account("a0000031", "P31", &["01230031"], Status::Undergraduate),
        account("a0000032", "P32", &["01230032"], Status::Undergraduate),
    ]);
    let r = row(
        9,
        "PNEW",
        "09260031",
        Status::Undergraduate,
        Enrollment::Enrolled,
        None,
    );
    let no = StudentNo::new("09260031");
    // One of two candidates ruled out: still a review, naming the other only.
    snap.distinct.insert((no.clone(), EcsId::new("a0000031")));
    let p = run(&snap, &inputs(vec![r.clone()]), "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Review]);
    assert_eq!(p.actions[0].candidates, vec![EcsId::new("a0000032")]);
    // Both ruled out: the row's person is new (R1), with a new ECS-ID.
    snap.distinct.insert((no, EcsId::new("a0000032")));
    let p = run(&snap, &inputs(vec![r]), "2026-04-02");
    assert_eq!(kinds(&p), vec![ActionKind::Create]);
}

/// One case of the 外字 test: (name on record, the row's name, the row's 所属) → the action
/// kinds, and the name and 所属 on record after them.
type GaijiCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static [ActionKind],
    &'static str,
    &'static str,
);

/// R7 with 外字.
#[test]
fn r7_a_name_change_to_unmapped_gaiji_is_a_review_item_never_a_silent_update() {
    let cases: [GaijiCase; 5] = [
        // An ordinary change of name is followed.
        (
            "髙橋　太郎",
            "高橋　太郎",
            "工学部",
            &[ActionKind::Update],
            "高橋　太郎",
            "工学部",
        ),
        // To a name with U+E000 that no [gaiji] entry mapped: held for a person.
        (
            "髙橋　太郎",
            "\u{E000}橋　太郎",
            "工学部",
            &[ActionKind::Review],
            "髙橋　太郎",
            "工学部",
        ),
        // Other details still follow the registry; only the name waits.
        (
            "髙橋　太郎",
            "\u{E000}橋　太郎",
            "理学部",
            &[ActionKind::Review, ActionKind::Update],
            "髙橋　太郎",
            "理学部",
        ),
        // A name on record with the same 外字 is no change.
        (
            "\u{E000}橋　太郎",
            "\u{E000}橋　太郎",
            "工学部",
            &[],
            "\u{E000}橋　太郎",
            "工学部",
        ),
        // The profile mapped U+E000 to 髙 while reading: the same name, nothing to do.
        (
            "髙橋　太郎",
            "髙橋　太郎",
            "工学部",
            &[],
            "髙橋　太郎",
            "工学部",
        ),
    ];
    for (on_record, name, faculty, expected, name_after, faculty_after) in cases {
        let snap = snapshot(vec![Account {
            name: on_record.into(),
            ..account("a0000009", "P9", &["01260009"], Status::Undergraduate)
        }]);
        let inp = inputs(vec![RegistrarRow {
            name: name.into(),
            faculty: faculty.into(),
            ..row(
                4,
                "P9",
                "01260009",
                Status::Undergraduate,
                Enrollment::Enrolled,
                None,
            )
        }]);
        let p = run(&snap, &inp, "2026-04-02");
        assert_eq!(kinds(&p), expected, "{on_record} → {name}");
        for a in &p.actions {
            assert!(
                a.changes
                    .iter()
                    .all(|c| c.field != "name" || !c.to.contains('\u{E000}'))
            );
            if a.kind == ActionKind::Review {
                assert_eq!(
                    (a.rule, a.review, a.ecs_id.as_ref().map(EcsId::as_str)),
                    (
                        Rule::R7,
                        Some(ReviewReason::UnmappedGaiji),
                        Some("a0000009")
                    )
                );
                assert!(a.reason_en.contains("(U+E000)"), "{}", a.reason_en);
            }
        }
        let after = applied(&snap, &p);
        let account = &after.accounts[0];
        assert_eq!(
            (account.name.as_str(), account.faculty.as_str()),
            (name_after, faculty_after),
            "{on_record} → {name}"
        );
    }
}
