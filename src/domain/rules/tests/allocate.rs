//! Allocation (R2, R3): new KUMOI addresses take the smallest free number, and no ECS-ID is ever
//! given to a second person.

use super::*;
use crate::domain::rules::allocate::collides_with_any;

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
