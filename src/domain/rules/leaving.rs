//! What the loss of student status leads to (R5, R8–R11): a departure (R5), a staff conversion
//! (R9, R9a) or a non-student holder (R8, R10, R11), decided alike by passes 1 to 4.

use chrono::NaiveDate;

use super::counter::rule_of_renewal;
use super::{Work, change, clear_stop};
use crate::domain::account::{Account, Approval, Hire, Role, State, StopReason};
use crate::domain::model::{EcsId, RenewalKind};
use crate::domain::plan::{Action, ActionKind, Person, ReviewReason, Rule, Source};
use crate::domain::schedule::{add_days, june_30_on_or_after, months_before};

/// What the loss of student status leads to ([`Work::leaving`]).
pub(super) enum Leaving {
    Depart,
    Convert(Hire),
    Hold(Approval),
}

impl Work<'_> {
    /// R5, R8, R9: what losing student status on `lost_on` leads to, from what the other
    /// sources said about the person: HR's hire makes a staff conversion (R9, which wins over an
    /// approval: staff cannot hold an ECS-ID); else an approval that covers the day makes a
    /// non-student holder (R8, R11); else it is a departure (R5).
    pub(super) fn leaving(&self, account: &Account, lost_on: NaiveDate) -> Leaving {
        if let Some(hire) = account.hire {
            return Leaving::Convert(hire);
        }
        match account.approval {
            Some(approval) if approval.until >= lost_on => Leaving::Hold(approval),
            _ => Leaving::Depart,
        }
    }

    /// R9 with R9a: the account becomes a converting staff member's. The conversion date is
    /// the later of the hire and the loss of student status (enrolled staff convert when the
    /// enrolment ends); the stop is the first June 30 on or after it, never sooner than the
    /// minimum notice from today; the reminder one month before the stop, never before today's
    /// notice. Returns the `staff_convert` action (without its `after`).
    pub(super) fn convert(
        &self,
        after: &mut Account,
        hire: Hire,
        person: Person,
        source: Option<Source>,
    ) -> Action {
        let converts_on = after
            .departed_on
            .map_or(hire.hired_on, |lost| lost.max(hire.hired_on));
        let stop_on =
            june_30_on_or_after(converts_on).max(add_days(self.as_of, self.policy.min_notice_days));
        let reminder = months_before(stop_on, self.policy.staff_reminder_months);
        after.role = Role::ConvertingStaff;
        after.stop_on = Some(stop_on);
        after.stop_reason = Some(StopReason::StaffConversion);
        after.reminder_on = Some(reminder);
        // A reminder due before today would only repeat today's notice.
        after.reminder_sent = reminder <= self.as_of;
        after.holder_until = None;
        after.expiry_notice_for = None;
        after.hire = Some(hire);
        let job = hire.job_type;
        let mut a = Action::new(
            ActionKind::StaffConvert,
            Rule::R9,
            person,
            source,
            format!(
                "R9: {}に{}として採用（移行日 {converts_on}）。ECS-IDは{stop_on}に停止します。本日、ファイルのバックアップとKUMOIからKUMailへの移行を案内し、{reminder}に再案内します",
                hire.hired_on,
                job.label_ja()
            ),
            format!(
                "R9: hired {} as {} (converts on {converts_on}); the ECS-ID stops on {stop_on}; notice today (back up files, move KUMOI mail to KUMail), reminder on {reminder}",
                hire.hired_on,
                job.label_en()
            ),
        );
        a.effective_on = Some(converts_on);
        a.notice_on = Some(self.as_of);
        a.stop_on = Some(stop_on);
        a.stop_reason = Some(StopReason::StaffConversion);
        a.role = Some(Role::ConvertingStaff);
        a
    }

    /// R9 over R8: an approval on record for someone who converts to staff is set aside for a
    /// person to look at (staff cannot hold an ECS-ID); the review item, if there was one.
    pub(super) fn approval_overruled(
        &self,
        after: &mut Account,
        person: Person,
        source: Option<Source>,
    ) -> Option<Action> {
        let approval = after.approval.take()?;
        Some(self.overruled_review(
            &after.ecs_id,
            approval.kind,
            approval.approved_on,
            person,
            source,
        ))
    }

    pub(super) fn overruled_review(
        &self,
        ecs_id: &EcsId,
        kind: RenewalKind,
        approved_on: NaiveDate,
        person: Person,
        source: Option<Source>,
    ) -> Action {
        let mut a = Action::new(
            ActionKind::Review,
            Rule::R9,
            person,
            source,
            format!(
                "R9: {}（{approved_on}承認）は適用しません。教職員に採用されたためECS-IDは6月末に停止します（教職員はECS-IDを保持できません）",
                kind.label_ja()
            ),
            format!(
                "R9: the {} approved on {approved_on} is not applied: the person was hired as staff, whose ECS-ID stops at the end of June",
                kind.label_en()
            ),
        );
        a.ecs_id = Some(ecs_id.clone());
        a.review = Some(ReviewReason::ApprovalOverruled);
        a
    }

    /// R8, R10, R11: the account becomes (or stays) a non-student holder until the approval's
    /// end. The date student status was lost stays on record (R9 may need it later). Returns
    /// the `make_holder` or `renew` action (without its `after`).
    pub(super) fn hold(
        &self,
        after: &mut Account,
        approval: Approval,
        person: Person,
        source: Option<Source>,
    ) -> Action {
        let before_until = after.holder_until;
        let was_holder = after.role == Role::Holder;
        let until = approval.until;
        after.role = Role::Holder;
        after.holder_until = Some(until);
        after.expiry_notice_for = None;
        after.approval = Some(approval);
        if after.state == State::Stopped {
            after.state = State::Active;
        }
        let departed_on = after.departed_on;
        clear_stop(after);
        after.departed_on = departed_on;
        let approved_on = approval.approved_on;
        let (kind, rule, ja, en) = if was_holder && approval.kind == RenewalKind::Renewal {
            (
                ActionKind::Renew,
                Rule::R10,
                format!("R10: 年度更新を承認（{approved_on}）。利用期限を{until}まで延長します"),
                format!("R10: renewal approved on {approved_on}; valid until {until}"),
            )
        } else {
            let rule = rule_of_renewal(approval.kind);
            (
                ActionKind::MakeHolder,
                rule,
                format!(
                    "{rule}: {}を承認（{approved_on}）。学生以外として{until}まで同じECS-IDを継続します",
                    approval.kind.label_ja(),
                ),
                format!(
                    "{rule}: {} approved on {approved_on}; keeps the same ECS-ID as a non-student holder until {until}",
                    approval.kind.label_en()
                ),
            )
        };
        let mut a = Action::new(kind, rule, person, source, ja, en);
        a.effective_on = Some(approved_on);
        a.role = Some(Role::Holder);
        a.changes = vec![change(
            "holder_until",
            &before_until.map(|d| d.to_string()).unwrap_or_default(),
            &until.to_string(),
        )];
        a
    }

    /// R5: the later of the effective date plus grace and today plus the minimum notice period.
    pub(super) fn departure_stop(&self, effective: Option<NaiveDate>) -> NaiveDate {
        let by_effect = add_days(
            effective.unwrap_or(self.as_of),
            self.policy.depart_grace_days,
        );
        let by_notice = add_days(self.as_of, self.policy.min_notice_days);
        by_effect.max(by_notice)
    }
}
