//! Pass 2 (R5): people on record missing from a full snapshot depart or go to review, as the
//! policy says.

use super::*;

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
    // The departure is effective today, in the action as on the account.
    let after = p.actions[0].after.as_ref().map(|a| a.departed_on);
    assert_eq!(
        (p.actions[0].effective_on, after),
        (Some(d("2026-04-02")), Some(Some(d("2026-04-02"))))
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
