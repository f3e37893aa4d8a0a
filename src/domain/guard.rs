//! The mass-change guard: a nightly run must not depart, stop, convert or create a large number
//! of accounts by accident (a truncated export, a wrong file, a store that was never set up).
//! Per action kind, a plan may touch at most a share of the active accounts and at most an
//! absolute number (`guard_share`/`guard_count`; for new accounts `guard_create_share`/
//! `guard_create_count`); past either limit `run` applies nothing and says which limit tripped,
//! with the numbers and how to proceed. An administrator who has read the report can `apply`
//! the plan explicitly, or raise one kind's limit for one run (`run --allow KIND=N`).

use serde::Serialize;

use crate::domain::plan::{ActionKind, Plan};
use crate::domain::policy::Policy;

/// The action kinds the guard watches.
pub(crate) const GUARDED: [ActionKind; 4] = [
    ActionKind::Depart,
    ActionKind::Stop,
    ActionKind::StaffConvert,
    ActionKind::Create,
];

/// Which limit tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Limit {
    /// The share of active accounts (`share` of `active`, rounded down).
    Share { share_pct: u32, active: usize },
    /// The absolute number.
    Count,
}

/// One limit a plan exceeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Tripped {
    pub kind: ActionKind,
    pub count: usize,
    /// The limit exceeded, as a number of accounts.
    pub limit: usize,
    pub which: Limit,
}

impl Tripped {
    pub(crate) fn message_ja(&self) -> String {
        let (kind, count, limit) = (self.kind.as_str(), self.count, self.limit);
        match self.which {
            Limit::Share { share_pct, active } => format!(
                "{kind} が {count} 件：有効なアカウント {active} 件の {share_pct}%（{limit} 件）を超えています"
            ),
            Limit::Count => format!("{kind} が {count} 件：件数の上限（{limit} 件）を超えています"),
        }
    }

    pub(crate) fn message_en(&self) -> String {
        let (kind, count, limit) = (self.kind.as_str(), self.count, self.limit);
        match self.which {
            Limit::Share { share_pct, active } => format!(
                "{count} {kind} exceed {share_pct}% of the {active} active accounts ({limit})"
            ),
            Limit::Count => format!("{count} {kind} exceed the absolute limit ({limit})"),
        }
    }

    /// The `run` flag that lets this plan through for one run.
    pub(crate) fn allow_flag(&self) -> String {
        format!("--allow {}={}", self.kind.as_str(), self.count)
    }
}

/// The limits `plan` exceeds, given how many accounts are active (not stopped) before it.
/// `allowed` raises a kind's limits for this run to the given number (`run --allow KIND=N`).
pub fn check(
    plan: &Plan,
    active: usize,
    policy: &Policy,
    allowed: &[(ActionKind, usize)],
) -> Vec<Tripped> {
    let counts = plan.counts();
    let mut out = Vec::new();
    for kind in GUARDED {
        let count = counts
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n);
        if allowed.iter().any(|&(k, n)| k == kind && count <= n) {
            continue;
        }
        let (share, count_limit) = match kind {
            ActionKind::Create => (policy.guard_create_share, policy.guard_create_count),
            _ => (policy.guard_share, policy.guard_count),
        };
        let share_limit = (share * active as f64).floor() as usize;
        let count_limit = usize::try_from(count_limit).unwrap_or(usize::MAX);
        let which = if count > share_limit {
            Limit::Share {
                share_pct: (share * 100.0).round() as u32,
                active,
            }
        } else if count > count_limit {
            Limit::Count
        } else {
            continue;
        };
        let limit = match which {
            Limit::Share { .. } => share_limit,
            Limit::Count => count_limit,
        };
        out.push(Tripped {
            kind,
            count,
            limit,
            which,
        });
    }
    out
}

/// The `run` flags that let `plan` through, one per kind over its limit (`--allow depart=22
/// --allow stop=18`): all of them, also those a run's `--allow` let through, since `--allow`
/// holds for one run only.
pub(crate) fn allow_flags(plan: &Plan, active: usize, policy: &Policy) -> String {
    let over = check(plan, active, policy, &[]);
    let flags: Vec<String> = over.iter().map(Tripped::allow_flag).collect();
    flags.join(" ")
}

/// The directory's lock limit a push exceeds: locking existing, unlocked entries is the one
/// directory change that shuts people out, so a push that would lock more than
/// `guard_lock_share` of the `unlocked` entries (rounded down) or more than `guard_lock_count`
/// writes nothing (`directory push --allow-locks N` lets up to N through once).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LocksTripped {
    pub count: usize,
    pub limit: usize,
    pub which: Limit,
}

impl LocksTripped {
    pub(crate) fn message_ja(&self) -> String {
        let (count, limit) = (self.count, self.limit);
        match self.which {
            Limit::Share { share_pct, active } => format!(
                "ディレクトリのロックが {count} 件：ロックされていないエントリ {active} 件の {share_pct}%（{limit} 件）を超えています"
            ),
            Limit::Count => {
                format!("ディレクトリのロックが {count} 件：件数の上限（{limit} 件）を超えています")
            }
        }
    }

    pub(crate) fn message_en(&self) -> String {
        let (count, limit) = (self.count, self.limit);
        match self.which {
            Limit::Share { share_pct, active } => format!(
                "{count} directory locks exceed {share_pct}% of the {active} unlocked entries ({limit})"
            ),
            Limit::Count => format!("{count} directory locks exceed the absolute limit ({limit})"),
        }
    }
}

/// The lock limit `locks` (existing entries a push would lock) exceeds, given how many entries
/// are unlocked before it; `allowed` lets up to that many through.
pub(crate) fn check_locks(
    locks: usize,
    unlocked: usize,
    policy: &Policy,
    allowed: Option<usize>,
) -> Option<LocksTripped> {
    if locks == 0 || allowed.is_some_and(|n| locks <= n) {
        return None;
    }
    let share_limit = (policy.guard_lock_share * unlocked as f64).floor() as usize;
    let count_limit = usize::try_from(policy.guard_lock_count).unwrap_or(usize::MAX);
    let (which, limit) = if locks > share_limit {
        (
            Limit::Share {
                share_pct: (policy.guard_lock_share * 100.0).round() as u32,
                active: unlocked,
            },
            share_limit,
        )
    } else if locks > count_limit {
        (Limit::Count, count_limit)
    } else {
        return None;
    };
    Some(LocksTripped {
        count: locks,
        limit,
        which,
    })
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
            held: Vec::new(),
        }
    }

    #[test]
    fn guard_limits_by_share_and_by_count() {
        let policy = Policy::default();
        let share = |pct, active| {
            Some(Limit::Share {
                share_pct: pct,
                active,
            })
        };
        for (kind, n, active, tripped) in [
            (ActionKind::Depart, 50, 1000, None),
            (ActionKind::Depart, 51, 1000, share(5, 1000)),
            (ActionKind::Stop, 300, 1000, share(5, 1000)),
            (ActionKind::StaffConvert, 201, 100_000, Some(Limit::Count)),
            (ActionKind::StaffConvert, 200, 100_000, None),
            // New accounts: an April intake passes, a night on an empty store does not.
            (ActionKind::Create, 300, 1000, None),
            (ActionKind::Create, 301, 1000, share(30, 1000)),
            (ActionKind::Create, 1, 0, share(30, 0)),
            (ActionKind::Create, 10_001, 100_000, Some(Limit::Count)),
            (ActionKind::Create, 10_000, 100_000, None),
        ] {
            let got = check(&plan_with(kind, n), active, &policy, &[]);
            assert_eq!(
                got.first().map(|t| t.which),
                tripped,
                "{kind:?} {n} of {active}"
            );
        }
    }

    #[test]
    fn allowing_a_kind_lifts_its_limits_up_to_the_number_given_only() {
        let policy = Policy::default();
        let plan = plan_with(ActionKind::Create, 173);
        let tripped = check(&plan, 0, &policy, &[]);
        assert_eq!(tripped.len(), 1);
        assert_eq!(tripped[0].allow_flag(), "--allow create=173");
        assert_eq!(
            tripped[0].message_en(),
            "173 create exceed 30% of the 0 active accounts (0)"
        );
        assert!(check(&plan, 0, &policy, &[(ActionKind::Create, 173)]).is_empty());
        assert_eq!(
            check(&plan, 0, &policy, &[(ActionKind::Create, 172)]).len(),
            1
        );
        assert_eq!(
            check(&plan, 0, &policy, &[(ActionKind::Depart, 500)]).len(),
            1
        );
    }

    #[test]
    fn directory_locks_trip_by_share_of_unlocked_entries_and_by_count() {
        let policy = Policy::default();
        assert_eq!(check_locks(0, 10, &policy, None), None);
        // 5% of 100 is 5: five locks pass, six trip.
        assert_eq!(check_locks(5, 100, &policy, None), None);
        let t = check_locks(6, 100, &policy, None);
        assert_eq!(t.as_ref().map(|t| t.limit), Some(5));
        assert!(t.is_some_and(
            |t| t.message_en() == "6 directory locks exceed 5% of the 100 unlocked entries (5)"
        ));
        // 30% of the entries, the acceptance case.
        assert!(check_locks(30, 100, &policy, None).is_some());
        assert_eq!(check_locks(30, 100, &policy, Some(30)), None);
        let many = check_locks(201, 100_000, &policy, None);
        assert_eq!(many.map(|t| t.which), Some(Limit::Count));
    }
}
