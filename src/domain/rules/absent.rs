//! Pass 2 (R5): the people on record missing from a full registrar snapshot depart, or go to
//! review, as the policy's `absent` says.

use rayon::prelude::*;

use super::leaving::Leaving;
use super::{Target, Work, finish, person_of_account};
use crate::domain::account::StopReason;
use crate::domain::plan::{Action, ActionKind, ReviewReason, Rule};
use crate::domain::policy::Absent;

impl Work<'_> {
    pub(super) fn absent(&mut self) {
        if !self.inputs.full_snapshot {
            return;
        }
        let missing: Vec<usize> = (0..self.index.accounts.len())
            .into_par_iter()
            .filter(|i| {
                let a = &self.index.accounts[*i];
                a.is_plain_student()
                    && !self.seen.contains(i)
                    && !self.inputs.quiet_seen.contains(&a.ecs_id)
            })
            .collect();
        for i in missing {
            let before = self.current(i).clone();
            let person = person_of_account(&before);
            match self.policy.absent {
                Absent::Review => {
                    let mut a = Action::new(
                        ActionKind::Review,
                        Rule::R5,
                        person,
                        None,
                        "R5: 在籍者エクスポートに載っていません（全件出力）".into(),
                        "R5: missing from a full registrar snapshot".into(),
                    );
                    a.ecs_id = Some(before.ecs_id.clone());
                    a.review = Some(ReviewReason::AbsentFromSnapshot);
                    self.actions.push((Target::Account(i), a));
                }
                Absent::Depart => {
                    let mut after = before.clone();
                    after.departed_on = Some(self.as_of);
                    match self.leaving(&after, self.as_of) {
                        Leaving::Convert(hire) => {
                            let a = self.convert(&mut after, hire, person.clone(), None);
                            let review = self.approval_overruled(&mut after, person, None);
                            self.push(Target::Account(i), finish(a, &after), Some(after));
                            if let Some(r) = review {
                                self.actions.push((Target::Account(i), r));
                            }
                            continue;
                        }
                        Leaving::Hold(approval) => {
                            let a = self.hold(&mut after, approval, person, None);
                            self.push(Target::Account(i), finish(a, &after), Some(after));
                            continue;
                        }
                        Leaving::Depart => {}
                    }
                    let stop_on = self.departure_stop(None);
                    after.stop_on = Some(stop_on);
                    after.stop_reason = Some(StopReason::Departed);
                    let mut a = Action::new(
                        ActionKind::Depart,
                        Rule::R5,
                        person,
                        None,
                        format!(
                            "R5: 在籍者エクスポート（全件）に載っていないため学籍喪失とみなします。本日通知し、{stop_on}に停止します"
                        ),
                        format!(
                            "R5: missing from a full registrar snapshot, taken as a loss of status; notice today, stop on {stop_on}"
                        ),
                    );
                    a.effective_on = after.departed_on;
                    a.notice_on = Some(self.as_of);
                    a.stop_on = Some(stop_on);
                    a.stop_reason = Some(StopReason::Departed);
                    let a = finish(a, &after);
                    self.push(Target::Account(i), a, Some(after));
                }
            }
        }
    }
}
