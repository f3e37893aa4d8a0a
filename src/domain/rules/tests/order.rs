//! The order of a plan: the same plan whatever the order of the rows, and the actions put in order.

use super::*;

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
