//! Pass 6, what falls due on `as_of`: the activation deadline (R4), the staff reminder (R9), a
//! holder's expiry notice (R10) and the scheduled stops (R5, R9, R10).

use chrono::NaiveDate;
use rayon::prelude::*;

use super::{Target, Work, finish, person_of_account};
use crate::domain::account::{Account, Role, State, StopReason};
use crate::domain::plan::{Action, ActionKind, Rule};
use crate::domain::policy::Policy;
use crate::domain::schedule::{add_days, holder_expiry, months_before};

impl Work<'_> {
    pub(super) fn scheduled(&mut self) {
        let as_of = self.as_of;
        let policy = self.policy;
        let due: Vec<(usize, Vec<(Action, Account)>)> = (0..self.index.accounts.len())
            .into_par_iter()
            .filter_map(|i| {
                let acc = self.current(i);
                let found = due_actions(acc, as_of, policy);
                (!found.is_empty()).then_some((i, found))
            })
            .collect();
        for (i, found) in due {
            for (a, after) in found {
                self.push(Target::Account(i), a, Some(after));
            }
        }
    }
}

/// The scheduled actions due for one account on `as_of`, each with the account after it.
fn due_actions(acc: &Account, as_of: NaiveDate, policy: &Policy) -> Vec<(Action, Account)> {
    let mut out = Vec::new();
    if acc.state == State::Stopped || !may_be_due(acc, as_of, policy) {
        return out;
    }
    let mut cur = acc.clone();
    let person = person_of_account(acc);
    // R4: past the activation deadline, only the counter can help.
    if cur.state == State::Pending
        && !cur.activation_expired
        && cur.activation_deadline.is_some_and(|d| d < as_of)
    {
        cur.activation_expired = true;
        let deadline = cur.activation_deadline.unwrap_or(as_of);
        let mut a = Action::new(
            ActionKind::ActivationExpired,
            Rule::R4,
            person.clone(),
            None,
            format!("R4: 有効化期限（{deadline}）を過ぎました。延長は窓口で手続きが必要です"),
            format!("R4: not activated by {deadline}; an extension needs the counter"),
        );
        a.effective_on = Some(deadline);
        out.push((finish(a, &cur), cur.clone()));
    }
    // R9: the reminder before the June 30 stop.
    if cur.role == Role::ConvertingStaff
        && !cur.reminder_sent
        && let Some(reminder) = staff_reminder_on(&cur, policy).filter(|d| *d <= as_of)
        && let Some(stop_on) = cur.stop_on.filter(|s| *s > as_of)
    {
        cur.reminder_on = Some(reminder);
        cur.reminder_sent = true;
        let mut a = Action::new(
            ActionKind::StaffReminder,
            Rule::R9,
            person.clone(),
            None,
            format!("R9: {stop_on}のECS-ID停止前の再案内（バックアップとKUMailへの移行）"),
            format!(
                "R9: reminder before the ECS-ID stops on {stop_on} (back up, move mail to KUMail)"
            ),
        );
        a.notice_on = Some(as_of);
        a.stop_on = Some(stop_on);
        a.stop_reason = Some(StopReason::StaffConversion);
        out.push((finish(a, &cur), cur.clone()));
    }
    // R10: a holder's expiry notice one month before the day after the expiry, which is the
    // stop; a notice that goes out late (the first run after that day) moves the stop to
    // give the minimum notice, as for R5. The stop is scheduled with the notice: never one
    // without the other.
    if cur.role == Role::Holder
        && let Some(until) = cur.holder_until
    {
        let (notice_on, expiry_stop) = holder_expiry(until, policy.holder_notice_months);
        if as_of >= notice_on && cur.expiry_notice_for != Some(until) {
            let stop_on = expiry_stop.max(add_days(as_of, policy.min_notice_days));
            cur.expiry_notice_for = Some(until);
            cur.stop_on = Some(stop_on);
            cur.stop_reason = Some(StopReason::HolderExpired);
            let mut a = Action::new(
                ActionKind::ExpiryNotice,
                Rule::R10,
                person.clone(),
                None,
                format!(
                    "R10: 利用期限{until}の1か月前の案内。更新がなければ{stop_on}に停止します（窓口で利用継続申請）"
                ),
                format!(
                    "R10: valid until {until}; without a renewal at the counter the account stops on {stop_on}"
                ),
            );
            a.effective_on = Some(until);
            a.notice_on = Some(as_of);
            a.stop_on = Some(stop_on);
            a.stop_reason = Some(StopReason::HolderExpired);
            out.push((finish(a, &cur), cur.clone()));
        }
    }
    // A scheduled stop falls due.
    if let (Some(stop_on), Some(reason)) = (cur.stop_on, cur.stop_reason)
        && stop_on <= as_of
    {
        cur.state = State::Stopped;
        let rule = match reason {
            StopReason::Departed => Rule::R5,
            StopReason::StaffConversion => Rule::R9,
            StopReason::HolderExpired => Rule::R10,
        };
        let (ja, en) = match reason {
            StopReason::Departed => (
                "学籍喪失による停止",
                "stop after the loss of student status",
            ),
            StopReason::StaffConversion => (
                "教職員への身分変更による6月末停止",
                "June 30 stop after becoming staff",
            ),
            StopReason::HolderExpired => (
                "利用期限切れ（更新なし）による停止",
                "stop after the holder's year ended without renewal",
            ),
        };
        let mut a = Action::new(
            ActionKind::Stop,
            rule,
            person,
            None,
            format!("{rule}: {ja}（{stop_on}）"),
            format!("{rule}: {en} ({stop_on})"),
        );
        a.stop_on = Some(stop_on);
        a.stop_reason = Some(reason);
        a.effective_on = cur.departed_on.filter(|_| reason == StopReason::Departed);
        out.push((finish(a, &cur), cur.clone()));
    }
    out
}

/// A cheap test that rules out nearly every account before [`due_actions`] clones it: only
/// pending accounts, scheduled stops and reminders, and holders can fall due.
fn may_be_due(acc: &Account, as_of: NaiveDate, policy: &Policy) -> bool {
    (acc.state == State::Pending
        && !acc.activation_expired
        && acc.activation_deadline.is_some_and(|d| d < as_of))
        || acc.stop_on.is_some_and(|d| d <= as_of)
        || (!acc.reminder_sent && staff_reminder_on(acc, policy).is_some_and(|d| d <= as_of))
        || acc.role == Role::Holder
}

/// R9: the day the staff reminder falls due: as scheduled at the conversion, or, for a
/// conversion already under way when the accounts were imported (a stop date and no reminder
/// on record), the policy's months before the stop.
pub(crate) fn staff_reminder_on(acc: &Account, policy: &Policy) -> Option<NaiveDate> {
    if acc.role != Role::ConvertingStaff {
        return acc.reminder_on;
    }
    acc.reminder_on.or_else(|| {
        acc.stop_on
            .filter(|_| acc.stop_reason == Some(StopReason::StaffConversion))
            .map(|stop_on| months_before(stop_on, policy.staff_reminder_months))
    })
}
