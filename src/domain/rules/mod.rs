//! The lifecycle rules R1–R11 as pure functions: given a store [`Snapshot`], the typed inputs,
//! `as_of` and the [`Policy`], [`plan`] returns the [`Plan`]. Nothing here reads a clock, a file
//! or the database, so the same arguments always give the same plan.
//!
//! The work runs in passes, each reading the accounts as the previous passes left them:
//! 1. registrar rows, grouped per person and decided in parallel (R1–R7);
//! 2. people on record missing from a full snapshot (R5, policy `absent`);
//! 3. HR's roster (R9, R9a), which supersedes a departure decided in pass 1;
//! 4. the counter's renewals and applications (R8, R10, R11);
//! 5. activations (R4);
//! 6. scheduled actions that fall due on `as_of` (stops, reminders, expiry notices, R4 expiry).
//!
//! New ECS-IDs are allocated last, in input order, from the snapshot's `next_serial`, so the
//! plan does not depend on the number of threads.

use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};

use chrono::NaiveDate;
use compact_str::CompactString;
use rayon::prelude::*;

use crate::domain::account::{
    Account, Approval, Delivery, Hire, Reserved, Role, Snapshot, State, StopReason,
};
use crate::domain::matching::{Index, Match};
use crate::domain::model::{
    ActivationRow, EcsId, Enrollment, RegistrarRow, RenewalKind, RenewalRow, RowRef, StaffRow,
    Status, StudentNo,
};
use crate::domain::plan::{
    Action, ActionKind, Change, InputFile, Person, Plan, ReviewReason, Rule, Source,
};
use crate::domain::policy::{Absent, Policy};
use crate::domain::schedule::{add_days, fiscal_year_end, june_30_on_or_after, months_before};
use crate::domain::text::{fold_kana_key, fold_key};

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
    /// [`crate::domain::triage`]): seen, so not absent from a full snapshot.
    pub quiet_seen: HashSet<EcsId>,
}

/// How many persons' registrar rows are decided at a time (see `Work::registrar`).
const DECIDE_BLOCK: usize = 16_384;

/// Computes the plan. Pure: the same arguments give the same plan, whatever the thread count.
pub fn plan(snapshot: &Snapshot, inputs: &Inputs, as_of: NaiveDate, policy: &Policy) -> Plan {
    let mut work = Work {
        index: Index::new(&snapshot.accounts),
        reserved: &snapshot.reserved,
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

/// The 個人番号 of rows matched to one account, each with that account: a row no identifier
/// finds but carrying one of them is the same person (R7: the registry gave a new 個人番号, and
/// the row of the number on record carries it too). A 個人番号 that rows give to two accounts
/// links nothing.
fn linked_person_ids<'r>(rows: &'r [RegistrarRow], matches: &[Match]) -> FxHashMap<&'r str, usize> {
    let mut linked: FxHashMap<&str, Option<usize>> = FxHashMap::default();
    if !matches.iter().any(|m| matches!(m, Match::New)) {
        return FxHashMap::default();
    }
    for (row, m) in rows.iter().zip(matches) {
        if let (Match::Account(a), Some(p)) = (m, &row.person_id) {
            linked
                .entry(p.as_str())
                .and_modify(|e| {
                    if *e != Some(*a) {
                        *e = None;
                    }
                })
                .or_insert(Some(*a));
        }
    }
    linked
        .into_iter()
        .filter_map(|(p, a)| a.map(|a| (p, a)))
        .collect()
}

/// Who an action is about, as the working state has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Target {
    Account(usize),
    /// The n-th account created by this plan.
    New(usize),
    None,
}

struct Work<'a> {
    index: Index<'a>,
    /// Identifiers of accounts outside the snapshot, for allocation.
    reserved: &'a Reserved,
    inputs: &'a Inputs,
    as_of: NaiveDate,
    policy: &'a Policy,
    /// Accounts changed by this plan, as they stand after the passes so far.
    touched: FxHashMap<usize, Account>,
    actions: Vec<(Target, Action)>,
    /// Accounts some registrar row referred to (not absent, even when under review).
    seen: FxHashSet<usize>,
    /// Accounts this plan creates, with the input position that orders ID allocation.
    created: Vec<(RowRef, Account)>,
}

/// What the loss of student status leads to ([`Work::leaving`]).
enum Leaving {
    Depart,
    Convert(Hire),
    Hold(Approval),
}

/// What one person's registrar rows decide.
enum Decision {
    Nothing,
    Act(Vec<Action>, Option<Box<Account>>),
    Create(Box<(Action, Account)>),
    Review(Vec<Action>),
}

impl<'a> Work<'a> {
    fn current(&self, i: usize) -> &Account {
        self.touched.get(&i).unwrap_or(&self.index.accounts[i])
    }

    fn source(&self, at: RowRef) -> Source {
        let file = self
            .inputs
            .files
            .get(at.file as usize)
            .map_or_else(|| format!("#{}", at.file), |f| f.name.clone());
        Source { file, row: at.row }
    }

    fn push(&mut self, target: Target, action: Action, after: Option<Account>) {
        if let (Target::Account(i), Some(after)) = (target, after) {
            self.touched.insert(i, after);
        }
        self.actions.push((target, action));
    }

    /// Drops actions of `kinds` this plan already decided for account `i` (a later pass knows better).
    fn supersede(&mut self, i: usize, kinds: &[ActionKind]) {
        self.actions
            .retain(|(t, a)| !(*t == Target::Account(i) && kinds.contains(&a.kind)));
    }

    // ---- pass 1: registrar -------------------------------------------------------------

    fn registrar(&mut self) {
        let inputs = self.inputs;
        let rows = &inputs.registrar;
        let matches: Vec<Match> = rows
            .par_iter()
            .map(|r| {
                self.index
                    .identify(r.person_id.as_ref(), Some(&r.student_no), r.ecs_id.as_ref())
            })
            .collect();
        // Group rows per person: by account when on record, else by 個人番号 or student number.
        #[derive(Hash, PartialEq, Eq)]
        enum Key<'r> {
            Account(usize),
            Person(&'r str),
            Student(&'r str),
            Row(usize),
        }
        let mut groups: Vec<(Option<usize>, Vec<usize>)> = Vec::new();
        let mut by_key: FxHashMap<Key<'_>, usize> =
            FxHashMap::with_capacity_and_hasher(rows.len(), Default::default());
        let linked = linked_person_ids(rows, &matches);
        for (i, (row, m)) in rows.iter().zip(&matches).enumerate() {
            let (key, account) = match m {
                Match::Account(a) => (Key::Account(*a), Some(*a)),
                Match::New => {
                    // R7, R2: the export links this row to an account through another row of
                    // the same 個人番号 (a new 個人番号 beside a student number on record).
                    let link = row
                        .person_id
                        .as_ref()
                        .and_then(|p| linked.get(p.as_str()).copied());
                    match (link, &row.person_id) {
                        (Some(a), _) => (Key::Account(a), Some(a)),
                        (None, Some(p)) => (Key::Person(p.as_str()), None),
                        (None, None) => (Key::Student(row.student_no.as_str()), None),
                    }
                }
                Match::Ambiguous(_) | Match::EcsIdMismatch { .. } => (Key::Row(i), None),
            };
            match by_key.get(&key) {
                Some(&g) => groups[g].1.push(i),
                None => {
                    by_key.insert(key, groups.len());
                    groups.push((account, vec![i]));
                }
            }
        }
        for m in &matches {
            match m {
                Match::Account(a) | Match::EcsIdMismatch { account: a, .. } => {
                    self.seen.insert(*a);
                }
                Match::Ambiguous(v) => self.seen.extend(v.iter().copied()),
                Match::New => {}
            }
        }
        // Decided in parallel a block of groups at a time and recorded in order: only one
        // block's decisions (their actions and accounts) are held at once, not a whole night's
        // beside the plan they end up in.
        self.actions.reserve(rows.len());
        if matches.iter().any(|m| matches!(m, Match::New)) {
            self.index.prepare_name_birth();
        }
        let mut decisions: Vec<Decision> = Vec::new();
        for block in groups.chunks(DECIDE_BLOCK) {
            block
                .par_iter()
                .map(|(account, idx)| self.decide(rows, &matches[idx[0]], *account, idx))
                .collect_into_vec(&mut decisions);
            for ((account, idx), decision) in block.iter().zip(decisions.drain(..)) {
                self.record(rows[idx[0]].at, *account, decision);
            }
        }
    }

    /// What one person's registrar rows (`idx` into `rows`, the first matched as `first`)
    /// decide; `account` is theirs when on record.
    fn decide(
        &self,
        rows: &[RegistrarRow],
        first: &Match,
        account: Option<usize>,
        idx: &[usize],
    ) -> Decision {
        let group: Vec<&RegistrarRow> = idx.iter().map(|&i| &rows[i]).collect();
        match (first, account) {
            (Match::Ambiguous(accounts), _) => Decision::Review(vec![self.review_row(
                group[0],
                ReviewReason::AmbiguousMatch,
                None,
                format!(
                    "学籍番号・個人番号・ECS-IDが別々のアカウント（{}）を指しています",
                    self.ids(accounts)
                ),
                format!(
                    "the row's identifiers point at different accounts ({})",
                    self.ids(accounts)
                ),
            )]),
            (
                Match::EcsIdMismatch {
                    account,
                    row_ecs_id,
                },
                _,
            ) => {
                let on_record = &self.index.accounts[*account].ecs_id;
                Decision::Review(vec![self.review_row(
                    group[0],
                    ReviewReason::EcsIdMismatch,
                    Some(on_record.clone()),
                    format!("R6: 登録簿のECS-ID「{row_ecs_id}」が記録上のECS-ID「{on_record}」と異なります"),
                    format!("R6: the export names ECS-ID `{row_ecs_id}` but `{on_record}` is on record"),
                )])
            }
            (_, Some(a)) => self.decide_known(a, &group),
            (_, None) => self.decide_new(&group),
        }
    }

    /// Records what one person's registrar rows decided.
    fn record(&mut self, at: RowRef, account: Option<usize>, decision: Decision) {
        match decision {
            Decision::Nothing => {}
            Decision::Act(actions, mut after) => {
                let target = account.map_or(Target::None, Target::Account);
                let n = actions.len();
                for (k, a) in actions.into_iter().enumerate() {
                    let last = if k + 1 == n {
                        after.take().map(|b| *b)
                    } else {
                        None
                    };
                    self.push(target, a, last);
                }
            }
            Decision::Create(created) => {
                let (action, account) = *created;
                self.actions.push((Target::New(self.created.len()), action));
                self.created.push((at, account));
            }
            Decision::Review(actions) => {
                for a in actions {
                    self.actions.push((Target::None, a));
                }
            }
        }
    }

    fn ids(&self, accounts: &[usize]) -> String {
        accounts
            .iter()
            .map(|&i| self.index.accounts[i].ecs_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Rows that say the same person is two different things are left to a person.
    fn disagreeing(&self, group: &[&RegistrarRow]) -> Option<Action> {
        let enrolled: Vec<&&RegistrarRow> =
            group.iter().filter(|r| r.enrollment.is_student()).collect();
        let same_no_differs = group.iter().enumerate().any(|(i, a)| {
            group[..i].iter().any(|b| {
                a.student_no == b.student_no
                    && (a.enrollment != b.enrollment
                        || a.status != b.status
                        || a.faculty != b.faculty)
            })
        });
        let two_enrolled = enrolled
            .iter()
            .any(|a| enrolled.iter().any(|b| a.student_no != b.student_no));
        if !(same_no_differs || two_enrolled) {
            return None;
        }
        let rows: Vec<String> = group.iter().map(|r| r.at.row.to_string()).collect();
        Some(self.review_row(
            group[0],
            ReviewReason::DuplicateRows,
            None,
            format!("同じ人の行が食い違っています（{}行目）", rows.join("・")),
            format!("rows {} are the same person and disagree", rows.join(", ")),
        ))
    }

    fn review_row(
        &self,
        row: &RegistrarRow,
        reason: ReviewReason,
        ecs_id: Option<EcsId>,
        ja: String,
        en: String,
    ) -> Action {
        let rule = if reason == ReviewReason::EcsIdMismatch {
            Rule::R6
        } else {
            Rule::R2
        };
        let mut a = Action::new(
            ActionKind::Review,
            rule,
            person_of_row(row),
            Some(self.source(row.at)),
            ja,
            en,
        );
        a.ecs_id = ecs_id;
        a.review = Some(reason);
        a
    }

    /// A person on record: carry over, update, reinstate, cancel a stop, or depart.
    fn decide_known(&self, i: usize, group: &[&RegistrarRow]) -> Decision {
        if let Some(review) = self.disagreeing(group) {
            return Decision::Review(vec![review]);
        }
        let before = &self.index.accounts[i];
        let current = group.iter().find(|r| r.enrollment.is_student());
        match current {
            Some(row) => self.still_student(before, row, group),
            None => self.lost_status(before, group),
        }
    }

    fn still_student(
        &self,
        before: &Account,
        row: &RegistrarRow,
        group: &[&RegistrarRow],
    ) -> Decision {
        let mut after = before.clone();
        let mut changes = Vec::new();
        // Earlier numbers of this export (修了 before 研究生) come first in the history.
        for r in group.iter().filter(|r| !r.enrollment.is_student()) {
            if !after.student_nos.contains(&r.student_no) {
                after.student_nos.push(r.student_no.clone());
            }
        }
        let new_number = before.student_no() != Some(&row.student_no);
        if new_number {
            changes.push(change(
                "student_no",
                before.student_no().map(|s| s.as_str()).unwrap_or(""),
                row.student_no.as_str(),
            ));
            after.student_nos.retain(|s| *s != row.student_no);
            after.student_nos.push(row.student_no.clone());
        }
        refresh_person(&mut after, row, &mut changes);
        let source = Some(self.source(row.at));
        let person = person_of_row(row);
        let research = row.status == Status::ResearchStudent;
        let was_student_status = matches!(
            before.status,
            Some(Status::Undergraduate | Status::Graduate)
        );
        let finished_in_export = group
            .iter()
            .any(|r| !r.enrollment.is_student() && r.student_no != row.student_no);
        let carry_over = research && new_number && (finished_in_export || was_student_status);

        if before.state == State::Stopped {
            // R2: once enrolled, the same ECS-ID and KUMOI for life.
            after.state = State::Active;
            after.role = Role::Student;
            clear_stop(&mut after);
            let mut a = Action::new(
                ActionKind::Reinstate,
                Rule::R2,
                person,
                source,
                format!(
                    "R2: 再入学のため、停止中のECS-ID {} とKUMOI {} を再開します",
                    before.ecs_id, before.kumoi
                ),
                format!(
                    "R2: enrolled again; the stopped ECS-ID {} and KUMOI {} are reopened",
                    before.ecs_id, before.kumoi
                ),
            );
            a.changes = changes;
            return Decision::Act(vec![finish(a, &after)], Some(Box::new(after)));
        }

        let mut actions = Vec::new();
        // A holder (past the expiry notice or not), or staff, enrolled again is a student
        // again (R1, R9a), whatever else the rows say.
        let role_back = before.role != Role::Student;
        if role_back {
            changes.push(change("role", role_str(before.role), "student"));
            after.role = Role::Student;
            after.holder_until = None;
            after.expiry_notice_for = None;
        }
        if before.stop_pending() {
            let (rule, ja, en) = match before.stop_reason {
                Some(StopReason::StaffConversion) => (
                    Rule::R9a,
                    "R9a: 在学中の教職員は停止しません（6月末停止を取り消します）",
                    "R9a: staff who are enrolled keep the ECS-ID; the June 30 stop is cancelled",
                ),
                _ if research => (
                    Rule::R6,
                    "R6: 研究生として在籍が続くため、停止予定を取り消します",
                    "R6: continues as a research student; the scheduled stop is cancelled",
                ),
                _ => (
                    Rule::R2,
                    "R2: 再び在籍しているため、停止予定を取り消します",
                    "R2: enrolled again before the stop; the scheduled stop is cancelled",
                ),
            };
            let mut a = Action::new(
                ActionKind::CancelStop,
                rule,
                person.clone(),
                source.clone(),
                ja.into(),
                en.into(),
            );
            a.stop_on = before.stop_on;
            a.stop_reason = before.stop_reason;
            clear_stop(&mut after);
            a.changes = std::mem::take(&mut changes);
            actions.push(a);
        } else if carry_over {
            let mut a = Action::new(
                ActionKind::CarryOver,
                Rule::R6,
                person,
                source,
                "R6: 研究生として同じECS-IDとパスワードを継続します（有効化・停止通知は不要）".into(),
                "R6: continues as a research student with the same ECS-ID and password; no activation, no stop notice"
                    .into(),
            );
            a.changes = changes;
            actions.push(a);
        } else if role_back {
            let mut a = Action::new(
                ActionKind::Update,
                Rule::R1,
                person,
                source,
                "R1: 学生として在籍しているため、区分を学生に戻します".into(),
                "R1: enrolled as a student again; the role becomes student".into(),
            );
            a.changes = changes;
            actions.push(a);
        } else if !changes.is_empty() {
            let mut a = Action::new(
                ActionKind::Update,
                Rule::R7,
                person,
                source,
                "R7: 在籍情報の変更（同じECS-IDのまま）".into(),
                "R7: enrollment details changed; the ECS-ID stays the same".into(),
            );
            a.changes = changes;
            actions.push(a);
        }
        if actions.is_empty() && after == *before {
            return Decision::Nothing;
        }
        let actions = actions.into_iter().map(|a| finish(a, &after)).collect();
        Decision::Act(actions, Some(Box::new(after)))
    }

    /// R5: every row says the person lost student status. What follows depends on what the
    /// other sources said about the person, whenever they said it ([`Work::leaving`]).
    fn lost_status(&self, before: &Account, group: &[&RegistrarRow]) -> Decision {
        // The latest change is the cause; rows without a date count as today.
        let Some(row) = group.iter().max_by_key(|r| (r.change_date, r.at)) else {
            return Decision::Nothing;
        };
        if before.state == State::Stopped || before.role != Role::Student {
            return Decision::Nothing;
        }
        let effective = row.change_date;
        if before.stop_pending() {
            // Already departing; a corrected effective date gives a corrected stop and notice.
            if before.stop_reason != Some(StopReason::Departed) || before.departed_on == effective {
                return Decision::Nothing;
            }
        }
        let mut after = before.clone();
        let mut changes = Vec::new();
        refresh_person(&mut after, row, &mut changes);
        if !after.student_nos.contains(&row.student_no) {
            after.student_nos.push(row.student_no.clone());
        }
        after.departed_on = effective;
        let source = Some(self.source(row.at));
        let person = person_of_row(row);
        let mut actions = match self.leaving(&after, effective.unwrap_or(self.as_of)) {
            Leaving::Convert(hire) => {
                let mut a = self.convert(&mut after, hire, person.clone(), source.clone());
                a.changes = changes;
                let mut actions = vec![a];
                actions.extend(self.approval_overruled(&mut after, person, source));
                actions
            }
            Leaving::Hold(approval) => {
                let mut a = self.hold(&mut after, approval, person, source);
                a.changes.splice(0..0, changes);
                vec![a]
            }
            Leaving::Depart => {
                let stop_on = self.departure_stop(effective);
                after.stop_on = Some(stop_on);
                after.stop_reason = Some(StopReason::Departed);
                let label = row.enrollment.label_ja();
                let (ja, en) = match effective {
                    Some(e) => (
                        format!(
                            "R5: {label}（{e}）により学籍を喪失。本日KUMOIへ通知し、{stop_on}に停止します"
                        ),
                        format!(
                            "R5: {} on {e}; notice to KUMOI today, stop on {stop_on}",
                            enrollment_en(row.enrollment)
                        ),
                    ),
                    None => (
                        format!(
                            "R5: {label}（異動年月日なし、本日扱い）。本日KUMOIへ通知し、{stop_on}に停止します"
                        ),
                        format!(
                            "R5: {} (no 異動年月日; taken as today); notice to KUMOI today, stop on {stop_on}",
                            enrollment_en(row.enrollment)
                        ),
                    ),
                };
                let mut a = Action::new(ActionKind::Depart, Rule::R5, person, source, ja, en);
                a.effective_on = effective;
                a.notice_on = Some(self.as_of);
                a.stop_on = Some(stop_on);
                a.stop_reason = Some(StopReason::Departed);
                a.changes = changes;
                vec![a]
            }
        };
        for a in &mut actions {
            if a.kind != ActionKind::Review {
                a.ecs_id = Some(after.ecs_id.clone());
                a.after = Some(after.clone());
            }
        }
        Decision::Act(actions, Some(Box::new(after)))
    }

    /// R5, R8, R9: what losing student status on `lost_on` leads to, from what the other
    /// sources said about the person: HR's hire makes a staff conversion (R9, which wins over an
    /// approval: staff cannot hold an ECS-ID); else an approval that covers the day makes a
    /// non-student holder (R8, R11); else it is a departure (R5).
    fn leaving(&self, account: &Account, lost_on: NaiveDate) -> Leaving {
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
    fn convert(
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
                "R9: hired {} as {job:?} (converts on {converts_on}); the ECS-ID stops on {stop_on}; notice today (back up files, move KUMOI mail to KUMail), reminder on {reminder}",
                hire.hired_on
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
    fn approval_overruled(
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

    fn overruled_review(
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
                "R9: the {kind:?} approved on {approved_on} is not applied: the person was hired as staff, whose ECS-ID stops at the end of June"
            ),
        );
        a.ecs_id = Some(ecs_id.clone());
        a.review = Some(ReviewReason::ApprovalOverruled);
        a
    }

    /// R8, R10, R11: the account becomes (or stays) a non-student holder until the approval's
    /// end. The date student status was lost stays on record (R9 may need it later). Returns
    /// the `make_holder` or `renew` action (without its `after`).
    fn hold(
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
                    "{rule:?}: {}を承認（{approved_on}）。学生以外として{until}まで同じECS-IDを継続します",
                    approval.kind.label_ja(),
                ),
                format!(
                    "{rule:?}: {:?} approved on {approved_on}; keeps the same ECS-ID as a non-student holder until {until}",
                    approval.kind
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
    fn departure_stop(&self, effective: Option<NaiveDate>) -> NaiveDate {
        let by_effect = add_days(
            effective.unwrap_or(self.as_of),
            self.policy.depart_grace_days,
        );
        let by_notice = add_days(self.as_of, self.policy.min_notice_days);
        by_effect.max(by_notice)
    }

    /// R1, R3, R4: a new student gets a pending account, by letter in cohort months.
    fn decide_new(&self, group: &[&RegistrarRow]) -> Decision {
        if let Some(review) = self.disagreeing(group) {
            return Decision::Review(vec![review]);
        }
        // An ECS-ID no account has: never silently replaced by a new one (R2).
        if let Some((row, ecs_id)) = group
            .iter()
            .find_map(|r| r.ecs_id.as_ref().map(|e| (*r, e)))
        {
            return Decision::Review(vec![self.review_row(
                row,
                ReviewReason::UnknownAccount,
                Some(ecs_id.clone()),
                format!("R2: 行のECS-ID「{ecs_id}」は記録にありません。学籍番号・個人番号も一致しません"),
                format!("R2: the row's ECS-ID `{ecs_id}` is not on record, and neither is its student number or 個人番号"),
            )]);
        }
        let Some(row) = group.iter().find(|r| r.enrollment.is_student()) else {
            return Decision::Nothing;
        };
        let candidates = self
            .index
            .name_birth_candidates(&row.name_kana, row.birth_date);
        if !candidates.is_empty() {
            let ids = self.ids(&candidates);
            return Decision::Review(vec![self.review_row(
                row,
                ReviewReason::NameBirthCandidate,
                None,
                format!("R2: 識別子は一致しませんが、氏名カナと生年月日が {ids} と同じです。同一人物なら同じECS-IDを使います"),
                format!("R2: no identifier matches, but the kana name and birth date equal those of {ids}; if the same person, the same ECS-ID must be used"),
            )]);
        }
        let admitted = row.admission_date.unwrap_or(self.as_of);
        let delivery = self.delivery(admitted);
        let mut student_nos: Vec<StudentNo> = group
            .iter()
            .filter(|r| !r.enrollment.is_student())
            .map(|r| r.student_no.clone())
            .collect();
        student_nos.push(row.student_no.clone());
        // R4: the days to activate count from the admission, not from an early export.
        let deadline = add_days(admitted.max(self.as_of), self.policy.activation_days);
        let mut account = new_account(
            Role::Student,
            deadline,
            student_nos,
            row.faculty.clone(),
            Some(row.status),
        );
        account.person_id = row.person_id.clone();
        account.name = row.name.clone();
        account.name_kana = row.name_kana.clone();
        account.birth_date = row.birth_date;
        account.holder_until = None;
        let (ja, en) = match delivery {
            Delivery::Letter => (
                format!(
                    "R1/R3: {admitted}入学。アカウント通知書を所属学部等から配付（有効化期限 {deadline}）"
                ),
                format!(
                    "R1/R3: admitted {admitted}; account letter through the faculty (activate by {deadline})"
                ),
            ),
            Delivery::Counter => (
                format!(
                    "R1/R3: {admitted}入学（4月・10月以外）。窓口で交付（有効化期限 {deadline}）"
                ),
                format!(
                    "R1/R3: admitted {admitted}, outside the cohort months; handed out at the counter (activate by {deadline})"
                ),
            ),
        };
        let mut a = Action::new(
            ActionKind::Create,
            Rule::R1,
            person_of_row(row),
            Some(self.source(row.at)),
            ja,
            en,
        );
        a.effective_on = row.admission_date;
        a.delivery = Some(delivery);
        a.role = Some(Role::Student);
        Decision::Create(Box::new((a, account)))
    }

    fn delivery(&self, admitted: NaiveDate) -> Delivery {
        use chrono::Datelike;
        if self.policy.cohort_months.contains(&admitted.month()) {
            Delivery::Letter
        } else {
            Delivery::Counter
        }
    }

    // ---- pass 2: absent from a full snapshot --------------------------------------------

    fn absent(&mut self) {
        if !self.inputs.full_snapshot {
            return;
        }
        let missing: Vec<usize> = (0..self.index.accounts.len())
            .into_par_iter()
            .filter(|i| {
                let a = &self.index.accounts[*i];
                a.role == Role::Student
                    && a.state != State::Stopped
                    && !a.stop_pending()
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
                    a.notice_on = Some(self.as_of);
                    a.stop_on = Some(stop_on);
                    a.stop_reason = Some(StopReason::Departed);
                    let a = finish(a, &after);
                    self.push(Target::Account(i), a, Some(after));
                }
            }
        }
    }

    // ---- pass 3: HR roster ----------------------------------------------------------------

    /// R9, R9a: HR's roster. The hire is remembered on the account whatever its state, so a
    /// conversion follows whichever of the roster and the registrar's export came first.
    fn staff(&mut self) {
        for row in &self.inputs.staff {
            let m = self.index.identify(
                row.person_id.as_ref(),
                row.student_no.as_ref(),
                row.ecs_id.as_ref(),
            );
            let i = match m {
                Match::Account(i) => i,
                // Staff who never were students have no ECS-ID to stop.
                Match::New if row.ecs_id.is_none() => continue,
                Match::New => {
                    let a = self.unknown_account(
                        Rule::R9,
                        person_of_staff(row),
                        row.at,
                        row.ecs_id.clone(),
                        "教職員名簿",
                        "staff roster",
                    );
                    self.actions.push((Target::None, a));
                    continue;
                }
                Match::Ambiguous(_) | Match::EcsIdMismatch { .. } => {
                    let mut a = Action::new(
                        ActionKind::Review,
                        Rule::R9,
                        person_of_staff(row),
                        Some(self.source(row.at)),
                        "R9: 教職員名簿の行の識別子が記録と食い違っています".into(),
                        "R9: the staff row's identifiers disagree with the accounts on record"
                            .into(),
                    );
                    a.review = Some(ReviewReason::AmbiguousMatch);
                    self.actions.push((Target::None, a));
                    continue;
                }
            };
            let before = self.current(i).clone();
            let hire = Hire {
                hired_on: row.hire_date,
                job_type: row.job_type,
            };
            let mut after = before.clone();
            after.hire = Some(hire);
            let source = Some(self.source(row.at));
            // R9a: an enrolled student keeps the ECS-ID while enrolled, staff or not; the hire
            // is remembered for the day the enrolment ends. A stopped account has nothing to
            // stop, but a readmission (R2) makes it a student's again, so it remembers too.
            let enrolled = (before.role == Role::Student
                && before.stop_reason != Some(StopReason::Departed))
                || before.state == State::Stopped;
            if enrolled {
                if before.hire == Some(hire) {
                    continue;
                }
                let (ja, en) = if before.state == State::Stopped {
                    (
                        format!(
                            "R9: {}に{}として採用。ECS-IDは停止済みのため記録のみ",
                            row.hire_date,
                            row.job_type.label_ja()
                        ),
                        format!(
                            "R9: hired {} as {:?}; the ECS-ID is already stopped, the hire is recorded",
                            row.hire_date, row.job_type
                        ),
                    )
                } else {
                    (
                        format!(
                            "R9a: {}に{}として採用。在学中はECS-IDを停止しません（在学が終わる日から6月末停止の対象）",
                            row.hire_date,
                            row.job_type.label_ja()
                        ),
                        format!(
                            "R9a: hired {} as {:?}; enrolled, so the ECS-ID stays until the enrolment ends (then the June 30 stop applies)",
                            row.hire_date, row.job_type
                        ),
                    )
                };
                let rule = if before.state == State::Stopped {
                    Rule::R9
                } else {
                    Rule::R9a
                };
                let mut a = Action::new(
                    ActionKind::Update,
                    rule,
                    person_of_account(&before),
                    source.clone(),
                    ja,
                    en,
                );
                a.effective_on = Some(row.hire_date);
                a.changes = vec![change(
                    "hire",
                    &before
                        .hire
                        .map(|h| h.hired_on.to_string())
                        .unwrap_or_default(),
                    &row.hire_date.to_string(),
                )];
                // Staff cannot hold an ECS-ID as non-students: an approval waiting for the end
                // of the enrolment will not apply (R9 over R8).
                let review =
                    self.approval_overruled(&mut after, person_of_account(&before), source);
                self.push(Target::Account(i), finish(a, &after), Some(after));
                if let Some(r) = review {
                    self.actions.push((Target::Account(i), r));
                }
                continue;
            }
            if before.role == Role::ConvertingStaff && before.hire == Some(hire) {
                continue; // the same roster again
            }
            self.supersede(i, &[ActionKind::Depart]);
            let person = person_of_account(&before);
            let mut a = self.convert(&mut after, hire, person.clone(), source.clone());
            if before.role == Role::ConvertingStaff && before.stop_on == after.stop_on {
                // A conversion already under way (imported, or from an earlier roster) with
                // the same stop: the roster is remembered, and nobody is told twice.
                after.reminder_sent |= before.reminder_sent;
                a.kind = ActionKind::Update;
                a.notice_on = None;
                a.reason_ja = format!(
                    "R9: 教職員名簿で{}の採用を確認。ECS-IDの停止日（{}）は変わりません",
                    row.hire_date,
                    after.stop_on.map(|d| d.to_string()).unwrap_or_default()
                );
                a.reason_en = format!(
                    "R9: the staff roster confirms the hire of {}; the ECS-ID still stops on {}",
                    row.hire_date,
                    after.stop_on.map(|d| d.to_string()).unwrap_or_default()
                );
                a.changes = vec![change("hire", "", &row.hire_date.to_string())];
            }
            let review = self.approval_overruled(&mut after, person, source);
            self.push(Target::Account(i), finish(a, &after), Some(after));
            if let Some(r) = review {
                self.actions.push((Target::Account(i), r));
            }
        }
    }

    /// A review item for a row that names an ECS-ID (or other identifier) no account has: a
    /// person looks at it; nothing is applied for the row.
    fn unknown_account(
        &self,
        rule: Rule,
        person: Person,
        at: RowRef,
        ecs_id: Option<EcsId>,
        what_ja: &str,
        what_en: &str,
    ) -> Action {
        let shown = ecs_id.as_ref().map_or("", EcsId::as_str);
        let mut a = Action::new(
            ActionKind::Review,
            rule,
            person,
            Some(self.source(at)),
            format!("{rule:?}: {what_ja}の行のECS-ID「{shown}」は記録にありません"),
            format!("{rule:?}: the {what_en} row names ECS-ID `{shown}`, which is not on record"),
        );
        a.ecs_id = ecs_id;
        a.review = Some(ReviewReason::UnknownAccount);
        a
    }

    // ---- pass 4: renewals and applications --------------------------------------------

    /// R8, R10, R11: the counter's approvals. Remembered on the account: an approval for a
    /// student still enrolled applies when student status ends (R8); for a person HR hired,
    /// the staff conversion wins and the approval goes to a person (R9).
    fn renewals(&mut self) {
        for row in &self.inputs.renewals {
            let m = self.index.identify(
                row.person_id.as_ref(),
                row.student_no.as_ref(),
                row.ecs_id.as_ref(),
            );
            let i = match m {
                Match::Account(i) => i,
                Match::New if row.kind == RenewalKind::JspsFellow && row.ecs_id.is_none() => {
                    self.jsps_fellow(row);
                    continue;
                }
                Match::New | Match::Ambiguous(_) | Match::EcsIdMismatch { .. } => {
                    let mut a = Action::new(
                        ActionKind::Review,
                        rule_of_renewal(row.kind),
                        person_of_renewal(row),
                        Some(self.source(row.at)),
                        format!(
                            "{}の申請（ECS-ID「{}」）が記録上のアカウントと結び付きません",
                            row.kind.label_ja(),
                            row.ecs_id.as_ref().map_or("", EcsId::as_str)
                        ),
                        format!(
                            "the {} application (ECS-ID `{}`) matches no single account on record",
                            row.kind.label_ja(),
                            row.ecs_id.as_ref().map_or("", EcsId::as_str)
                        ),
                    );
                    a.ecs_id = row.ecs_id.clone();
                    a.review = Some(if m == Match::New {
                        ReviewReason::UnknownAccount
                    } else {
                        ReviewReason::AmbiguousMatch
                    });
                    self.actions.push((Target::None, a));
                    continue;
                }
            };
            let before = self.current(i).clone();
            let approval = Approval {
                kind: row.kind,
                approved_on: row.approved_on,
                until: row
                    .valid_until
                    .unwrap_or_else(|| holder_year_end(row.approved_on)),
            };
            let source = Some(self.source(row.at));
            let person = person_of_account(&before);
            // R9 over R8: staff, or a person HR hired, cannot hold an ECS-ID as a non-student.
            if before.role == Role::ConvertingStaff || before.hire.is_some() {
                let a = self.overruled_review(
                    &before.ecs_id,
                    row.kind,
                    row.approved_on,
                    person,
                    source,
                );
                self.actions.push((Target::Account(i), a));
                continue;
            }
            let enrolled = before.role == Role::Student
                && before.state != State::Stopped
                && before.stop_reason != Some(StopReason::Departed);
            if enrolled {
                if before.approval == Some(approval) {
                    continue;
                }
                let mut after = before.clone();
                after.approval = Some(approval);
                let rule = rule_of_renewal(row.kind);
                let until = approval.until;
                let mut a = Action::new(
                    ActionKind::Update,
                    rule,
                    person,
                    source,
                    format!(
                        "{rule:?}: {}を承認（{}）。在学中のため学生のままです。学籍を失った日から{until}まで学生以外として継続します",
                        row.kind.label_ja(),
                        row.approved_on
                    ),
                    format!(
                        "{rule:?}: {:?} approved on {}; still enrolled, so the person stays a student, and becomes a non-student holder until {until} when student status ends",
                        row.kind, row.approved_on
                    ),
                );
                a.effective_on = Some(row.approved_on);
                a.changes = vec![change(
                    "approval",
                    &before
                        .approval
                        .map(|a| a.until.to_string())
                        .unwrap_or_default(),
                    &until.to_string(),
                )];
                self.push(Target::Account(i), finish(a, &after), Some(after));
                continue;
            }
            if before.role == Role::Holder
                && before.holder_until.is_some_and(|h| h >= approval.until)
                && before.state != State::Stopped
            {
                continue; // already granted: the same file twice changes nothing
            }
            let mut after = before.clone();
            self.supersede(i, &[ActionKind::Depart]);
            let a = self.hold(&mut after, approval, person, source);
            self.push(Target::Account(i), finish(a, &after), Some(after));
        }
    }

    /// R11: a JSPS fellow without an ECS-ID applies at the counter and becomes a holder.
    fn jsps_fellow(&mut self, row: &RenewalRow) {
        // The application carries no identifier, so the kana name and birth date are all there
        // is. A holder on record with the same name too is this application, already applied
        // (the same file read twice); anyone else alike is a person to ask, never a second ID.
        let candidates = self
            .index
            .name_birth_candidates(&row.name_kana, row.birth_date);
        let same = |i: &usize| {
            let a = self.current(*i);
            a.role == Role::Holder && fold_key(&a.name) == fold_key(&row.name)
        };
        if candidates.iter().any(same) {
            return;
        }
        if !candidates.is_empty() {
            let ids = self.ids(&candidates);
            let mut a = Action::new(
                ActionKind::Review,
                Rule::R11,
                person_of_renewal(row),
                Some(self.source(row.at)),
                format!(
                    "R11: 識別子のない申請です。氏名カナと生年月日が {ids} と同じです。同一人物なら同じECS-IDを使います"
                ),
                format!(
                    "R11: the application has no identifier, and its kana name and birth date equal those of {ids}; if the same person, the same ECS-ID must be used"
                ),
            );
            a.review = Some(ReviewReason::NameBirthCandidate);
            self.actions.push((Target::None, a));
            return;
        }
        let until = row
            .valid_until
            .unwrap_or_else(|| holder_year_end(row.approved_on));
        let deadline = add_days(self.as_of, self.policy.activation_days);
        let mut account = new_account(
            Role::Holder,
            deadline,
            Vec::new(),
            row.affiliation.clone(),
            None,
        );
        account.person_id = row.person_id.clone();
        account.name = row.name.clone();
        account.name_kana = row.name_kana.clone();
        account.birth_date = row.birth_date;
        account.holder_until = Some(until);
        account.approval = Some(Approval {
            kind: row.kind,
            approved_on: row.approved_on,
            until,
        });
        let mut a = Action::new(
            ActionKind::Create,
            Rule::R11,
            person_of_renewal(row),
            Some(self.source(row.at)),
            format!(
                "R11: 日本学術振興会特別研究員の申請（{}）。学生以外として{until}まで、窓口で交付",
                row.approved_on
            ),
            format!(
                "R11: JSPS fellow's application of {}; a non-student holder until {until}, handed out at the counter",
                row.approved_on
            ),
        );
        a.effective_on = Some(row.approved_on);
        a.delivery = Some(Delivery::Counter);
        a.role = Some(Role::Holder);
        self.actions.push((Target::New(self.created.len()), a));
        self.created.push((row.at, account));
    }

    // ---- pass 5: activations ------------------------------------------------------------

    fn activations(&mut self) {
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
            a.changes = vec![change("state", "pending", "active")];
            let a = finish(a, &after);
            self.push(Target::Account(i), a, Some(after));
        }
    }

    // ---- pass 6: what falls due today ---------------------------------------------------

    fn scheduled(&mut self) {
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

    // ---- allocation and the final form --------------------------------------------------

    /// Gives each created account its ECS-ID and KUMOI address, in input order. Returns the
    /// next serial after the last one used.
    fn allocate(&mut self, mut serial: u64) -> u64 {
        if self.created.is_empty() {
            return serial;
        }
        let mut order: Vec<usize> = (0..self.created.len()).collect();
        order.sort_by_key(|&k| self.created[k].0);
        // Romanizing is the costly part and depends on nothing else: done in parallel first.
        // Only the local parts a new one could collide with are kept ([`collides`]): those
        // of the accounts in the snapshot here, those outside it in `reserved`.
        let (index, reserved, created) = (&self.index, self.reserved, &self.created);
        let bases: Vec<String> = created
            .par_iter()
            .map(|(_, a)| romanize(&a.name_kana))
            .collect();
        let wanted: FxHashSet<&str> = bases.iter().map(String::as_str).collect();
        let mut taken: FxHashSet<CompactString> = index
            .accounts
            .par_iter()
            .map(|a| a.kumoi.split('@').next().unwrap_or(""))
            .filter(|local| collides_with_any(&wanted, local))
            .map(CompactString::new)
            .collect();
        taken.reserve(created.len());
        let is_taken = |taken: &FxHashSet<CompactString>, local: &str| {
            taken.contains(local) || reserved.kumoi_local_parts.contains(local)
        };
        // For each base a new account has, the numbers `n` of the `base.n` already taken,
        // ascending: the smallest free one is found by walking them, not by trying `base.2`,
        // `base.3`, ... against the set (a name shared by thousands of accounts cost thousands
        // of tries at its first new account).
        // One walk over both sets: a local part `b.n` counts for base `b`.
        let mut numbers: FxHashMap<&str, Suffixes> = wanted
            .iter()
            .map(|&base| (base, Suffixes::default()))
            .collect();
        for local in taken.iter().chain(&reserved.kumoi_local_parts) {
            if let Some((b, n)) = local.rsplit_once('.')
                && let Some(s) = numbers.get_mut(b)
                && let Some(n) = suffix_number(n)
            {
                s.taken.push(n);
            }
        }
        numbers
            .par_iter_mut()
            .for_each(|(_, s)| s.taken.sort_unstable());
        for k in order {
            let ecs_id = loop {
                let id = format!(
                    "{}{:0width$}",
                    self.policy.id_prefix,
                    serial,
                    width = self.policy.id_digits as usize
                );
                serial += 1;
                let id = EcsId::new(&id);
                if self.index.by_ecs_id(&id).is_none() && !self.reserved.ecs_ids.contains(&id) {
                    break id;
                }
            };
            let base = bases[k].as_str();
            // The base itself, else the smallest free `base.n`, n >= 2.
            let local = if is_taken(&taken, base) {
                let s = numbers.entry(base).or_default();
                loop {
                    let n = s.next_free();
                    let local = CompactString::new(format!("{base}.{n}"));
                    if !is_taken(&taken, &local) {
                        break local;
                    }
                }
            } else {
                CompactString::new(base)
            };
            taken.insert(local.clone());
            let account = &mut self.created[k].1;
            account.ecs_id = ecs_id;
            account.kumoi = CompactString::new(format!("{local}@{}", self.policy.kumoi_domain));
        }
        serial
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
        mut touched: FxHashMap<usize, Account>,
        created: Vec<(RowRef, Account)>,
    ) -> Vec<Action> {
        let mut created: Vec<Option<Account>> = created.into_iter().map(|(_, a)| Some(a)).collect();
        // The last action about an account takes the account itself; an earlier one (an account
        // with several actions) gets a copy from the action that took it. A night's accounts
        // (100,000 at a million rows) are moved, not copied and then freed one by one.
        let mut holder: FxHashMap<Target, usize> = FxHashMap::default();
        for p in (0..actions.len()).rev() {
            let (target, kind) = (actions[p].0, actions[p].1.kind);
            let moved = match target {
                Target::Account(i) if kind != ActionKind::Review => touched.remove(&i),
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
        // Collected in place: the allocation is reused.
        actions.into_iter().map(|(_, a)| a).collect()
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
        let expiry_stop = add_days(until, 1);
        let notice_on = months_before(expiry_stop, policy.holder_notice_months);
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
            format!("{rule:?}: {ja}（{stop_on}）"),
            format!("{rule:?}: {en} ({stop_on})"),
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
fn staff_reminder_on(acc: &Account, policy: &Policy) -> Option<NaiveDate> {
    if acc.role != Role::ConvertingStaff {
        return acc.reminder_on;
    }
    acc.reminder_on.or_else(|| {
        acc.stop_on
            .filter(|_| acc.stop_reason == Some(StopReason::StaffConversion))
            .map(|stop_on| months_before(stop_on, policy.staff_reminder_months))
    })
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

/// Completes an action about an existing account: its ECS-ID and the state after it.
fn finish(mut a: Action, after: &Account) -> Action {
    a.ecs_id = Some(after.ecs_id.clone());
    a.after = Some(after.clone());
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

/// R7: affiliation, 身分 and name follow the registry.
fn refresh_person(after: &mut Account, row: &RegistrarRow, changes: &mut Vec<Change>) {
    if after.faculty != row.faculty && !row.faculty.is_empty() {
        changes.push(change("faculty", &after.faculty, &row.faculty));
        after.faculty = row.faculty.clone();
    }
    match after.status {
        // An account imported without 身分 learns it quietly: nothing changed for the person.
        None => after.status = Some(row.status),
        Some(s) if s != row.status => {
            changes.push(change("status", s.label_ja(), row.status.label_ja()));
            after.status = Some(row.status);
        }
        Some(_) => {}
    }
    // Names differ only when their folded keys do: 「山田　太郎」 and 「山田太郎」 are the same
    // name, 「髙橋」 and 「高橋」 are not.
    if !row.name.is_empty() && fold_key(&after.name) != fold_key(&row.name) {
        changes.push(change("name", &after.name, &row.name));
        after.name = row.name.clone();
    }
    if !row.name_kana.is_empty() && fold_kana_key(&after.name_kana) != fold_kana_key(&row.name_kana)
    {
        changes.push(change("name_kana", &after.name_kana, &row.name_kana));
        after.name_kana = row.name_kana.clone();
    }
    // A 個人番号 the registry gave anew follows too: the row was matched by another
    // identifier, and no other account holds this 個人番号 (matching would have said so).
    if let Some(p) = &row.person_id
        && after.person_id.as_ref() != Some(p)
    {
        changes.push(change(
            "person_id",
            after.person_id.as_ref().map_or("", |p| p.as_str()),
            p.as_str(),
        ));
        after.person_id = Some(p.clone());
    }
    if after.birth_date.is_none() && row.birth_date.is_some() {
        after.birth_date = row.birth_date;
    }
}

fn person_of_row(r: &RegistrarRow) -> Person {
    Person {
        name: r.name.clone(),
        name_kana: r.name_kana.clone(),
        student_no: Some(r.student_no.clone()),
        person_id: r.person_id.clone(),
        faculty: r.faculty.clone(),
        status: Some(r.status),
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

fn person_of_staff(r: &StaffRow) -> Person {
    Person {
        name: r.name.clone(),
        name_kana: r.name_kana.clone(),
        student_no: r.student_no.clone(),
        person_id: r.person_id.clone(),
        faculty: r.affiliation.clone(),
        status: None,
    }
}

fn person_of_renewal(r: &RenewalRow) -> Person {
    Person {
        name: r.name.clone(),
        name_kana: r.name_kana.clone(),
        student_no: r.student_no.clone(),
        person_id: r.person_id.clone(),
        faculty: r.affiliation.clone(),
        status: None,
    }
}

/// R8, R10, R11: the last day an approval without 有効期限 covers. Approvals given in the last
/// quarter of a 年度 (January to March: renewals after the expiry notice, continuations before
/// the March graduation, JSPS fellows before April) are for the 年度 that starts next April;
/// others cover the current 年度. Depending only on the approval date keeps the same file, read
/// twice, from extending twice.
fn holder_year_end(approved_on: NaiveDate) -> NaiveDate {
    fiscal_year_end(
        approved_on
            .checked_add_months(chrono::Months::new(3))
            .unwrap_or(approved_on),
    )
}

fn rule_of_renewal(kind: RenewalKind) -> Rule {
    match kind {
        RenewalKind::Continuation => Rule::R8,
        RenewalKind::Renewal => Rule::R10,
        RenewalKind::JspsFellow => Rule::R11,
    }
}

fn role_str(r: Role) -> &'static str {
    match r {
        Role::Student => "student",
        Role::Holder => "holder",
        Role::ConvertingStaff => "converting_staff",
    }
}

fn enrollment_en(e: Enrollment) -> &'static str {
    match e {
        Enrollment::Enrolled => "enrolled",
        Enrollment::OnLeave => "on leave",
        Enrollment::StudyAbroad => "studying abroad",
        Enrollment::Graduated => "graduated",
        Enrollment::Completed => "completed",
        Enrollment::Withdrawn => "withdrew",
        Enrollment::Expelled => "expelled",
    }
}

/// The numbers `n` of the local parts `base.n` taken for one base, and the next one to try.
#[derive(Debug, Default)]
struct Suffixes {
    /// Ascending; numbers below `next` are passed.
    taken: Vec<u32>,
    at: usize,
    next: u32,
}

impl Suffixes {
    /// The smallest number from 2 up, past the ones returned before, that is not taken.
    fn next_free(&mut self) -> u32 {
        let mut n = self.next.max(2);
        loop {
            while self.at < self.taken.len() && self.taken[self.at] < n {
                self.at += 1;
            }
            if self.taken.get(self.at) == Some(&n) {
                n += 1;
            } else {
                self.next = n + 1;
                return n;
            }
        }
    }
}

/// `n` when `s` is a number as `format!("{n}")` writes it (no sign, no leading zero).
fn suffix_number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether the KUMOI local part `local` is one a new account with the romanized `base` could
/// be given (R3): `base` itself, or `base.n` with `n` as allocation writes it. No other local
/// part can collide with an allocation, so the store and the snapshot need not be searched for
/// more (`yamada.tarou.x1` and `yamada.taroumaru` never can).
pub fn collides(base: &str, local: &str) -> bool {
    local == base
        || local
            .strip_prefix(base)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|n| suffix_number(n).is_some())
}

/// [`collides`] for any of `bases`, by hash lookups.
fn collides_with_any(bases: &FxHashSet<&str>, local: &str) -> bool {
    bases.contains(local)
        || local
            .rsplit_once('.')
            .is_some_and(|(b, n)| bases.contains(b) && suffix_number(n).is_some())
}

/// The KUMOI local part from a kana name: `ヤマダ タロウ` → `yamada.tarou`. Anything that does
/// not romanize to ASCII letters falls back to `student`.
pub fn romanize(name_kana: &str) -> String {
    use wana_kana::ConvertJapanese;
    let folded = crate::domain::text::fold_kana_key_spaced(name_kana);
    let parts: Vec<String> = folded
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.to_romaji()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        "student".to_string()
    } else {
        parts.join(".")
    }
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod audit_tests;

#[cfg(test)]
mod law_tests;
