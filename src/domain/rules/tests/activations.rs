//! Pass 5, the portal's activations (R4), and the activation deadline that falls due without
//! one.

use super::*;

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
