//! Pass 5, the account portal's activations (R4): a pending account activated there becomes
//! active.

use super::{Target, Work, change, finish, person_of_account};
use crate::domain::account::State;
use crate::domain::plan::{Action, ActionKind, Person, ReviewReason, Rule};

impl Work<'_> {
    pub(super) fn activations(&mut self) {
        for row in &self.inputs.activations {
            let Some(i) = self.index.by_ecs_id(&row.ecs_id) else {
                let mut a = Action::new(
                    ActionKind::Review,
                    Rule::R4,
                    Person::default(),
                    Some(self.source(row.at)),
                    format!("R4: 有効化されたECS-ID「{}」が記録にありません", row.ecs_id),
                    format!("R4: activated ECS-ID `{}` is not on record", row.ecs_id),
                );
                a.ecs_id = Some(row.ecs_id.clone());
                a.review = Some(ReviewReason::UnknownAccount);
                self.actions.push((Target::None, a));
                continue;
            };
            let before = self.current(i).clone();
            if before.state != State::Pending {
                continue;
            }
            let mut after = before.clone();
            after.state = State::Active;
            after.activation_expired = false;
            let mut a = Action::new(
                ActionKind::Update,
                Rule::R4,
                person_of_account(&before),
                Some(self.source(row.at)),
                format!("R4: {}に有効化されました", row.activated_on),
                format!("R4: activated on {}", row.activated_on),
            );
            a.effective_on = Some(row.activated_on);
            a.changes = vec![change(
                "state",
                State::Pending.as_str(),
                State::Active.as_str(),
            )];
            let a = finish(a, &after);
            self.push(Target::Account(i), a, Some(after));
        }
    }
}
