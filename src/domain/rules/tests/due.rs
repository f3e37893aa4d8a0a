//! Pass 6, what falls due (R10): a holder's expiry notice a month before, and the stop after.

use super::*;

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
