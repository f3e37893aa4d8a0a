//! The mass-change guard: a nightly run must not depart, stop or convert a large part of the
//! accounts by accident (a truncated export, a wrong file). Per action kind, a plan may touch at
//! most `guard_share` of the active accounts and at most `guard_count` accounts; past either
//! limit `run` applies nothing and says which limit tripped. An administrator who has read the
//! report can still `apply` the plan explicitly.

use serde::Serialize;

use crate::domain::plan::{ActionKind, Plan};
use crate::domain::policy::Policy;

/// The action kinds the guard watches.
pub(crate) const GUARDED: [ActionKind; 3] = [
    ActionKind::Depart,
    ActionKind::Stop,
    ActionKind::StaffConvert,
];

/// One limit a plan exceeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Tripped {
    pub kind: ActionKind,
    pub count: usize,
    /// The limit exceeded, as a number of accounts.
    pub limit: usize,
    /// `share` when the share of active accounts tripped, `count` for the absolute number.
    pub which: &'static str,
}

impl Tripped {
    pub(crate) fn message_ja(&self) -> String {
        match self.which {
            "share" => format!(
                "{} が {} 件：有効なアカウントの割合の上限（{} 件）を超えています",
                self.kind.as_str(),
                self.count,
                self.limit
            ),
            _ => format!(
                "{} が {} 件：件数の上限（{} 件）を超えています",
                self.kind.as_str(),
                self.count,
                self.limit
            ),
        }
    }

    pub(crate) fn message_en(&self) -> String {
        match self.which {
            "share" => format!(
                "{} {} exceeds the share limit of active accounts ({})",
                self.count,
                self.kind.as_str(),
                self.limit
            ),
            _ => format!(
                "{} {} exceeds the absolute limit ({})",
                self.count,
                self.kind.as_str(),
                self.limit
            ),
        }
    }
}

/// The limits `plan` exceeds, given how many accounts are active (not stopped) before it.
pub fn check(plan: &Plan, active: usize, policy: &Policy) -> Vec<Tripped> {
    let share_limit = (policy.guard_share * active as f64).floor() as usize;
    let count_limit = usize::try_from(policy.guard_count).unwrap_or(usize::MAX);
    let counts = plan.counts();
    let mut out = Vec::new();
    for kind in GUARDED {
        let count = counts
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n);
        if count > share_limit {
            out.push(Tripped {
                kind,
                count,
                limit: share_limit,
                which: "share",
            });
        } else if count > count_limit {
            out.push(Tripped {
                kind,
                count,
                limit: count_limit,
                which: "count",
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::{Action, Person, Rule};

    fn plan_with(kind: ActionKind, n: usize) -> Plan {
        let a = Action::new(
            kind,
            Rule::R5,
            Person::default(),
            None,
            String::new(),
            String::new(),
        );
        Plan {
            format: Plan::FORMAT,
            as_of: chrono::NaiveDate::MIN,
            store_digest: String::new(),
            next_serial: 0,
            inputs: Vec::new(),
            actions: vec![a; n],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn guard_limits_by_share_and_by_count() {
        let policy = Policy::default();
        for (kind, n, active, tripped) in [
            (ActionKind::Depart, 50, 1000, None),
            (ActionKind::Depart, 51, 1000, Some("share")),
            (ActionKind::Stop, 300, 1000, Some("share")),
            (ActionKind::StaffConvert, 201, 100_000, Some("count")),
            (ActionKind::StaffConvert, 200, 100_000, None),
            (ActionKind::Create, 5000, 1000, None),
        ] {
            let got = check(&plan_with(kind, n), active, &policy);
            assert_eq!(
                got.first().map(|t| t.which),
                tripped,
                "{kind:?} {n} of {active}"
            );
        }
    }
}
