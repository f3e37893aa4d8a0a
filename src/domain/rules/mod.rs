//! The lifecycle rules R1–R11 as pure functions: given a store [`Snapshot`], the typed inputs,
//! `as_of` and the [`Policy`], [`plan`] returns the [`Plan`]. Nothing here reads a clock, a file
//! or the database, so the same arguments always give the same plan.
//!
//! The work runs in passes, a file each, each reading the accounts as the previous passes left
//! them:
//! 1. `registrar`: registrar rows, grouped per person and decided in parallel (R1–R7);
//! 2. `absent`: people on record missing from a full snapshot (R5, policy `absent`);
//! 3. `staff`: HR's roster (R9, R9a), which supersedes a departure decided in pass 1;
//! 4. `counter`: the counter's renewals and applications (R8, R10, R11);
//! 5. `activations`: the account portal's activations (R4);
//! 6. `due`: scheduled actions that fall due on `as_of` (stops, reminders, expiry notices, R4
//!    expiry).
//!
//! What the loss of student status leads to (a departure, a staff conversion or a holder) is
//! decided in one place, `leaving`, for passes 1 to 4. New ECS-IDs are allocated last
//! (`allocate`), in input order, from the snapshot's `next_serial`, so the plan does not depend
//! on the number of threads. This file holds the working state the passes share.

mod absent;
mod activations;
mod allocate;
mod counter;
mod due;
mod held;
mod leaving;
mod quiet;
mod registrar;
mod staff;

use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};

use chrono::NaiveDate;
use compact_str::CompactString;
use rayon::prelude::*;

use crate::domain::account::{Account, Reserved, Role, Snapshot, State};
use crate::domain::matching::Index;
use crate::domain::model::{
    ActivationRow, EcsId, HeldRow, RegistrarRow, RenewalRow, RowRef, StaffRow, Status, StudentNo,
};
use crate::domain::plan::{Action, ActionKind, Change, InputFile, Person, Plan, Source};
use crate::domain::policy::Policy;

pub(crate) use allocate::collides;
pub use allocate::romanize;
pub(crate) use due::staff_reminder_on;
pub(crate) use quiet::{OnRecord, is_quiet};

/// Everything read from the input files of one plan.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Indexed by [`RowRef::file`].
    pub files: Vec<InputFile>,
    /// True when a registrar file in the batch is a full snapshot: absence then means departure.
    pub full_snapshot: bool,
    pub registrar: Vec<RegistrarRow>,
    pub staff: Vec<StaffRow>,
    pub renewals: Vec<RenewalRow>,
    pub activations: Vec<ActivationRow>,
    pub warnings: Vec<String>,
    /// Accounts in the snapshot that a registrar row matched but triage dropped as quiet (see
    /// [`crate::triage`]): seen, so not absent from a full snapshot.
    pub quiet_seen: HashSet<EcsId>,
    /// Rows held out for an error (policy `row_errors = "hold_rows"`): the persons they name
    /// get no action tonight and are not absent (see `held`).
    pub held: Vec<HeldRow>,
}

/// Computes the plan. Pure: the same arguments give the same plan, whatever the thread count.
pub fn plan(snapshot: &Snapshot, inputs: &Inputs, as_of: NaiveDate, policy: &Policy) -> Plan {
    let index = Index::new(&snapshot.accounts);
    let frozen = held::Frozen::new(&index, inputs);
    let held = held::reported(inputs);
    let inputs = &*frozen.thaw(inputs);
    let mut work = Work {
        index,
        reserved: &snapshot.reserved,
        distinct: &snapshot.distinct,
        inputs,
        as_of,
        policy,
        touched: FxHashMap::default(),
        actions: Vec::new(),
        seen: FxHashSet::default(),
        created: Vec::new(),
    };
    work.registrar();
    work.absent();
    work.staff();
    work.renewals();
    work.activations();
    work.scheduled();
    if !frozen.accounts.is_empty() {
        work.actions
            .retain(|(t, _)| !matches!(t, Target::Account(i) if frozen.accounts.contains(i)));
        work.touched.retain(|i, _| !frozen.accounts.contains(i));
    }
    let next_serial = work.allocate(snapshot.next_serial);
    let mut actions = work.finish();
    // Stable, so the order does not depend on the number of threads. The positions are
    // sorted, not the actions: a merge sort of the actions themselves takes a buffer of half
    // of them.
    // Files are compared by their rank among the names (a handful), not by name each time.
    let mut names: Vec<&str> = actions
        .iter()
        .filter_map(|a| a.source.as_ref().map(|s| s.file.as_str()))
        .collect::<FxHashSet<&str>>()
        .into_iter()
        .collect();
    names.sort_unstable();
    let keys: Vec<(ActionKind, u8, usize, u32)> = actions
        .par_iter()
        .map(|a| match &a.source {
            Some(s) => (
                a.kind,
                0,
                names.binary_search(&s.file.as_str()).unwrap_or(0),
                s.row,
            ),
            None => (a.kind, 1, 0, 0),
        })
        .collect();
    let mut order: Vec<usize> = (0..actions.len()).collect();
    order.par_sort_by(|&i, &j| {
        keys[i]
            .cmp(&keys[j])
            .then_with(|| actions[i].ecs_id.cmp(&actions[j].ecs_id))
    });
    drop((keys, names));
    permute(&mut actions, order);
    Plan {
        format: Plan::FORMAT,
        as_of,
        store_digest: snapshot.digest.clone(),
        next_serial,
        inputs: inputs.files.clone(),
        actions,
        warnings: inputs.warnings.clone(),
        held,
    }
}

/// Reorders `items` in place so that position `k` holds what was at `order[k]`; `order` is a
/// permutation of the positions. Each cycle of the permutation is walked once, by swaps.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut at = start;
        loop {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// Who an action is about, as the working state has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Target {
    Account(usize),
    /// The n-th account created by this plan.
    New(usize),
    None,
}

/// The working state of one plan: the passes (a file each) read and extend it in turn.
/// How many accounts a reason text names at most.
const NAMED: usize = 10;

struct Work<'a> {
    index: Index<'a>,
    /// Identifiers of accounts outside the snapshot, for allocation.
    reserved: &'a Reserved,
    /// Rows' persons and accounts a person said are different people (`Snapshot::distinct`).
    distinct: &'a std::collections::BTreeSet<(StudentNo, EcsId)>,
    inputs: &'a Inputs,
    as_of: NaiveDate,
    policy: &'a Policy,
    /// Accounts changed by this plan, as they stand after the passes so far. Boxed: the
    /// registrar pass's decisions come boxed, and the table stays small as it grows.
    touched: FxHashMap<usize, Box<Account>>,
    actions: Vec<(Target, Action)>,
    /// Accounts some registrar row referred to (not absent, even when under review).
    seen: FxHashSet<usize>,
    /// Accounts this plan creates, with the input position that orders ID allocation.
    created: Vec<(RowRef, Account)>,
}

impl<'a> Work<'a> {
    fn current(&self, i: usize) -> &Account {
        self.touched
            .get(&i)
            .map_or(&self.index.accounts[i], |a| &**a)
    }

    fn source(&self, at: RowRef) -> Source {
        let file = self
            .inputs
            .files
            .get(at.file as usize)
            .map_or_else(|| format!("#{}", at.file), |f| f.name.clone());
        Source { file, row: at.row }
    }

    fn push(&mut self, target: Target, action: Action, after: Option<impl Into<Box<Account>>>) {
        if let (Target::Account(i), Some(after)) = (target, after) {
            self.touched.insert(i, after.into());
        }
        self.actions.push((target, action));
    }

    /// Drops actions of `kinds` this plan already decided for account `i` (a later pass knows better).
    fn supersede(&mut self, i: usize, kinds: &[ActionKind]) {
        self.actions
            .retain(|(t, a)| !(*t == Target::Account(i) && kinds.contains(&a.kind)));
    }

    /// The ECS-IDs of `accounts`, for a review item's text.
    /// The ECS-IDs of `accounts` for a reason text: at most [`NAMED`], then how many more (a
    /// common kana name and birth date must not make a review item grow without bound).
    fn ids(&self, accounts: &[usize]) -> String {
        let mut ids = accounts
            .iter()
            .take(NAMED)
            .map(|&i| self.index.accounts[i].ecs_id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if accounts.len() > NAMED {
            ids.push_str(&format!(" (+{})", accounts.len() - NAMED));
        }
        ids
    }

    /// Every action carries its account's final state in this plan, so apply is order-free.
    fn finish(self) -> Vec<Action> {
        let Work {
            index,
            actions,
            touched,
            created,
            seen,
            ..
        } = self;
        // The lookup maps are freed beside the work below, not after it (their many small
        // allocations took ~25 ms at 1M rows).
        rayon::join(
            move || drop((index, seen)),
            move || Self::settle(actions, touched, created),
        )
        .1
    }

    /// [`Work::finish`] proper: each action takes its account's final state.
    fn settle(
        mut actions: Vec<(Target, Action)>,
        mut touched: FxHashMap<usize, Box<Account>>,
        created: Vec<(RowRef, Account)>,
    ) -> Vec<Action> {
        let mut created: Vec<Option<Account>> = created.into_iter().map(|(_, a)| Some(a)).collect();
        // The last action about an account takes the account itself; an earlier one (an account
        // with several actions) gets a copy from the action that took it. A night's accounts
        // (100,000 at a million rows) are moved, not copied and then freed one by one.
        let mut holder: FxHashMap<Target, usize> =
            FxHashMap::with_capacity_and_hasher(touched.len() + created.len(), Default::default());
        for p in (0..actions.len()).rev() {
            let (target, kind) = (actions[p].0, actions[p].1.kind);
            let moved = match target {
                Target::Account(i) if kind != ActionKind::Review => touched.remove(&i).map(|a| *a),
                Target::New(k) => created.get_mut(k).and_then(Option::take),
                _ => continue,
            };
            let after = match moved {
                Some(acc) => {
                    holder.insert(target, p);
                    Some(acc)
                }
                None => holder
                    .get(&target)
                    .and_then(|&q| actions[q].1.after.clone()),
            };
            let Some(after) = after else { continue };
            let a = &mut actions[p].1;
            if let Target::New(_) = target {
                a.ecs_id = Some(after.ecs_id.clone());
            }
            a.after = Some(after);
        }
        debug_assert!(
            actions
                .iter()
                .all(|(_, a)| (a.kind == ActionKind::Review) == a.after.is_none()),
            "every action but a review carries the state after it"
        );
        // Collected in place: the allocation is reused.
        actions.into_iter().map(|(_, a)| a).collect()
    }
}

/// A new account, pending activation until `deadline` (R4), before its ECS-ID and KUMOI are
/// allocated.
fn new_account(
    role: Role,
    deadline: NaiveDate,
    student_nos: Vec<StudentNo>,
    faculty: CompactString,
    status: Option<Status>,
) -> Account {
    Account {
        ecs_id: EcsId::new(""),
        kumoi: CompactString::default(),
        person_id: None,
        student_nos,
        name: CompactString::default(),
        name_kana: CompactString::default(),
        birth_date: None,
        faculty,
        status,
        role,
        state: State::Pending,
        activation_deadline: Some(deadline),
        activation_expired: false,
        stop_on: None,
        stop_reason: None,
        departed_on: None,
        reminder_on: None,
        reminder_sent: false,
        holder_until: None,
        expiry_notice_for: None,
        hire: None,
        approval: None,
    }
}

/// Completes an action about an existing account: its ECS-ID. The state after it is the
/// account's final state in this plan, which [`Work::settle`] gives every such action.
fn finish(mut a: Action, after: &Account) -> Action {
    a.ecs_id = Some(after.ecs_id.clone());
    a
}

fn clear_stop(a: &mut Account) {
    a.stop_on = None;
    a.stop_reason = None;
    a.departed_on = None;
    a.reminder_on = None;
    a.reminder_sent = false;
}

fn change(field: &str, from: &str, to: &str) -> Change {
    Change {
        field: field.to_string(),
        from: from.to_string(),
        to: to.to_string(),
    }
}

fn person_of_account(a: &Account) -> Person {
    Person {
        name: a.name.clone(),
        name_kana: a.name_kana.clone(),
        student_no: a.student_no().cloned(),
        person_id: a.person_id.clone(),
        faculty: a.faculty.clone(),
        status: a.status,
    }
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod audit_tests;

#[cfg(test)]
mod law_tests;
