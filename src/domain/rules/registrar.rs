//! Pass 1, the registrar's export (R1–R7): rows grouped per person and decided in parallel, a
//! block at a time: a new account (R1, R3, R4), carry-over, update or reinstatement (R2, R6,
//! R7), or the loss of student status (R5); what cannot be decided goes to review.

use chrono::NaiveDate;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::leaving::Leaving;
use super::{Target, Work, change, clear_stop, finish, new_account};
use crate::domain::account::{Account, Delivery, Role, State, StopReason};
use crate::domain::matching::Match;
use crate::domain::model::{EcsId, RegistrarRow, RowRef, Status, StudentNo};
use crate::domain::plan::{Action, ActionKind, Change, Person, ReviewReason, Rule, Source};
use crate::domain::schedule::add_days;
use crate::domain::text::{fold_kana_key, fold_key, has_private_use, is_private_use};

/// How many persons' registrar rows are decided at a time (see `Work::registrar`).
pub(super) const DECIDE_BLOCK: usize = 16_384;

/// The 個人番号 of rows matched to one account, each with that account: a row no identifier
/// finds but carrying one of them is the same person (R7: the registry gave a new 個人番号, and
/// the row of the number on record carries it too). A 個人番号 that rows give to two accounts
/// links nothing.
fn linked_person_ids<'r>(rows: &'r [RegistrarRow], matches: &[Match]) -> FxHashMap<&'r str, usize> {
    if !matches.iter().any(|m| matches!(m, Match::New)) {
        return FxHashMap::default();
    }
    let mut linked: FxHashMap<&str, Option<usize>> =
        FxHashMap::with_capacity_and_hasher(rows.len(), Default::default());
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

/// The rows of each person, in order of their first row, with the person's account when on
/// record: rows are grouped by account, else by 個人番号 or student number; a row matched to
/// several accounts, or with an ECS-ID of another, stands alone.
fn group_rows(rows: &[RegistrarRow], matches: &[Match]) -> Vec<(Option<usize>, Vec<usize>)> {
    #[derive(Hash, PartialEq, Eq)]
    enum Key<'r> {
        Account(usize),
        Person(&'r str),
        Student(&'r str),
        Row(usize),
    }
    let mut groups: Vec<(Option<usize>, Vec<usize>)> = Vec::with_capacity(rows.len());
    let mut by_key: FxHashMap<Key<'_>, usize> =
        FxHashMap::with_capacity_and_hasher(rows.len(), Default::default());
    let linked = linked_person_ids(rows, matches);
    for (i, (row, m)) in rows.iter().zip(matches).enumerate() {
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
    groups
}

/// R6, R2: the accounts a row under review names (its ECS-ID is another's, or its identifiers
/// point at several accounts). Such an account waits for the review: its other rows decide
/// nothing tonight. Read without the row under review, a completion row would depart a
/// research student whose new row names another ECS-ID (R5: a notice, then a stop).
fn contested(matches: &[Match]) -> FxHashSet<usize> {
    let mut contested = FxHashSet::default();
    for m in matches {
        match m {
            Match::EcsIdMismatch { account, .. } => {
                contested.insert(*account);
            }
            Match::Ambiguous(accounts) => contested.extend(accounts.iter().copied()),
            Match::Account(_) | Match::New => {}
        }
    }
    contested
}

/// What one person's registrar rows decide.
enum Decision {
    Nothing,
    Act(Vec<Action>, Option<Box<Account>>),
    Create(Box<(Action, Account)>),
    Review(Vec<Action>),
}

impl Work<'_> {
    pub(super) fn registrar(&mut self) {
        let inputs = self.inputs;
        let rows = &inputs.registrar;
        let matches: Vec<Match> = rows
            .par_iter()
            .map(|r| {
                // An ECS-ID a person said is not this row's person's (`review resolve
                // --keep-ours`, R6) is not read: the row matches by its other identifiers.
                let ecs_id = r.ecs_id.as_ref().filter(|e| {
                    self.distinct.is_empty()
                        || !self
                            .distinct
                            .contains(&(r.student_no.clone(), (*e).clone()))
                });
                self.index
                    .identify(r.person_id.as_ref(), Some(&r.student_no), ecs_id)
            })
            .collect();
        // The rows are grouped while, beside, the accounts they name are noted and the lookup
        // by kana name and birth date the new ones need is made.
        let any_new = matches.iter().any(|m| matches!(m, Match::New));
        let (index, seen) = (&self.index, &mut self.seen);
        let (groups, ()) = rayon::join(
            || group_rows(rows, &matches),
            || {
                seen.reserve(matches.len());
                for m in &matches {
                    match m {
                        Match::Account(a) | Match::EcsIdMismatch { account: a, .. } => {
                            seen.insert(*a);
                        }
                        Match::Ambiguous(v) => seen.extend(v.iter().copied()),
                        Match::New => {}
                    }
                }
                if any_new {
                    index.prepare_name_birth();
                }
            },
        );
        // Decided in parallel a block of groups at a time and recorded in order: only one
        // block's decisions (their actions and accounts) are held at once, not a whole night's
        // beside the plan they end up in.
        self.actions.reserve(rows.len());
        let contested = contested(&matches);
        let mut decisions: Vec<Decision> = Vec::new();
        for block in groups.chunks(DECIDE_BLOCK) {
            block
                .par_iter()
                .map(|(account, idx)| match account {
                    Some(a) if contested.contains(a) => Decision::Nothing,
                    _ => self.decide(rows, &matches[idx[0]], *account, idx),
                })
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
                let mut review = self.review_row(
                    group[0],
                    ReviewReason::EcsIdMismatch,
                    Some(on_record.clone()),
                    format!("R6: 登録簿のECS-ID「{row_ecs_id}」が記録上のECS-ID「{on_record}」と異なります"),
                    format!("R6: the export names ECS-ID `{row_ecs_id}` but `{on_record}` is on record"),
                );
                // The registry's view, for `review resolve --accept-registry`.
                review.candidates = vec![row_ecs_id.clone()];
                Decision::Review(vec![review])
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
                    let last = if k + 1 == n { after.take() } else { None };
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
        // Rows of one file by number; rows of several files by file and number.
        let (ja, en) = if group.iter().all(|r| r.at.file == group[0].at.file) {
            let rows: Vec<String> = group.iter().map(|r| r.at.row.to_string()).collect();
            (format!("{}行目", rows.join("・")), rows.join(", "))
        } else {
            let rows: Vec<Source> = group.iter().map(|r| self.source(r.at)).collect();
            let ja: Vec<String> = (rows.iter())
                .map(|s| format!("{} の{}行目", s.file, s.row))
                .collect();
            let en: Vec<String> = rows
                .iter()
                .map(|s| format!("{}:{}", s.file, s.row))
                .collect();
            (ja.join("・"), en.join(", "))
        };
        Some(self.review_row(
            group[0],
            ReviewReason::DuplicateRows,
            None,
            format!("同じ人の行が食い違っています（{ja}）"),
            format!("rows {en} are the same person and disagree"),
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
        let rule = match reason {
            ReviewReason::EcsIdMismatch => Rule::R6,
            ReviewReason::UnmappedGaiji => Rule::R7,
            _ => Rule::R2,
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
        if let [row] = group
            && super::is_quiet(row, before)
        {
            debug_assert!(
                matches!(self.still_student(before, row, group), Decision::Nothing),
                "a quiet row made the rules act: {row:?}"
            );
            return Decision::Nothing;
        }
        let current = group.iter().find(|r| r.enrollment.is_student());
        match current {
            Some(row) => self.still_student(before, row, group),
            None => self.lost_status(before, group),
        }
    }

    /// R1, R2, R6, R7, R9a: the person is enrolled as a student, still or again. The numbers and
    /// details follow the registry (R7), and one action says what else the enrolment means.
    fn still_student(
        &self,
        before: &Account,
        row: &RegistrarRow,
        group: &[&RegistrarRow],
    ) -> Decision {
        let new_number = before.student_no() != Some(&row.student_no);
        let held = self.gaiji_name_held(before, row);
        let (mut after, mut changes) = follow_registry(before, row, group, new_number);
        let source = Some(self.source(row.at));
        let person = person_of_row(row);
        if before.state == State::Stopped {
            let mut decision = reinstate(before, after, changes, person, source);
            if let (Decision::Act(actions, _), Some(review)) = (&mut decision, held) {
                actions.push(review);
            }
            return decision;
        }
        // A holder (past the expiry notice or not), or staff, enrolled again is a student
        // again (R1, R9a), whatever else the rows say.
        let role_back = before.role != Role::Student;
        if role_back {
            changes.push(change("role", before.role.as_str(), Role::Student.as_str()));
            after.role = Role::Student;
            after.holder_until = None;
            after.expiry_notice_for = None;
        }
        let action = if before.stop_pending() {
            let research = row.status == Status::ResearchStudent;
            Some(cancel_stop(
                before, &mut after, research, changes, person, source,
            ))
        } else {
            let carry_over = carries_over(before, row, group, new_number);
            continuing(carry_over, role_back, !changes.is_empty()).map(|(kind, rule, ja, en)| {
                let mut a = Action::new(kind, rule, person, source, ja.into(), en.into());
                a.changes = changes;
                a
            })
        };
        if action.is_none() && after == *before {
            return match held {
                Some(review) => Decision::Review(vec![review]),
                None => Decision::Nothing,
            };
        }
        let mut actions: Vec<Action> = action.into_iter().map(|a| finish(a, &after)).collect();
        actions.extend(held);
        Decision::Act(actions, Some(Box::new(after)))
    }

    /// R7: a name changed to one holding 外字 the mapping profile does not map (private-use
    /// characters, which print as blanks or boxes) is not taken; the name on record stays
    /// ([`refresh_person`]) and a review item asks a person to look.
    fn gaiji_name_held(&self, before: &Account, row: &RegistrarRow) -> Option<Action> {
        if row.name.is_empty()
            || !has_private_use(&row.name)
            || fold_key(&before.name) == fold_key(&row.name)
        {
            return None;
        }
        let codes: Vec<String> = row
            .name
            .chars()
            .filter(|&c| is_private_use(c))
            .map(|c| format!("U+{:04X}", u32::from(c)))
            .collect();
        let codes = codes.join(", ");
        Some(self.review_row(
            row,
            ReviewReason::UnmappedGaiji,
            Some(before.ecs_id.clone()),
            format!(
                "R7: 氏名「{}」→「{}」の変更に未登録の外字（{codes}）があるため、氏名を変更しません。マッピングプロファイルの [gaiji] に登録するか、登録簿を直してください",
                before.name, row.name
            ),
            format!(
                "R7: the name change from `{}` to `{}` holds 外字 the profile does not map ({codes}), so the name is not changed: add them to [gaiji] or correct the registry",
                before.name, row.name
            ),
        ))
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
                            row.enrollment.label_en()
                        ),
                    ),
                    None => (
                        format!(
                            "R5: {label}（異動年月日なし、本日扱い）。本日KUMOIへ通知し、{stop_on}に停止します"
                        ),
                        format!(
                            "R5: {} (no 異動年月日; taken as today); notice to KUMOI today, stop on {stop_on}",
                            row.enrollment.label_en()
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
            }
        }
        Decision::Act(actions, Some(Box::new(after)))
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
        let mut candidates = self
            .index
            .name_birth_candidates(&row.name_kana, row.birth_date);
        // Accounts a person said are not this row's person (`review resolve --different-person`).
        candidates.retain(|&c| {
            !self.distinct.contains(&(
                row.student_no.clone(),
                self.index.accounts[c].ecs_id.clone(),
            ))
        });
        if !candidates.is_empty() {
            let ids = self.ids(&candidates);
            let mut review = self.review_row(
                row,
                ReviewReason::NameBirthCandidate,
                None,
                format!("R2: 識別子は一致しませんが、氏名カナと生年月日が {ids} と同じです。同一人物なら同じECS-IDを使います"),
                format!("R2: no identifier matches, but the kana name and birth date equal those of {ids}; if the same person, the same ECS-ID must be used"),
            );
            review.candidates = candidates
                .iter()
                .take(super::NAMED)
                .map(|&c| self.index.accounts[c].ecs_id.clone())
                .collect();
            return Decision::Review(vec![review]);
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
}

/// R7: the account of a person still enrolled, as the rows have it: the export's earlier
/// numbers join the history, the current number goes last, and the details follow the registry.
/// Returns the account and the changes to tell.
fn follow_registry(
    before: &Account,
    row: &RegistrarRow,
    group: &[&RegistrarRow],
    new_number: bool,
) -> (Account, Vec<Change>) {
    let mut after = before.clone();
    let mut changes = Vec::new();
    // Earlier numbers of this export (修了 before 研究生) come first in the history.
    for r in group.iter().filter(|r| !r.enrollment.is_student()) {
        if !after.student_nos.contains(&r.student_no) {
            after.student_nos.push(r.student_no.clone());
        }
    }
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
    (after, changes)
}

/// R2: once enrolled, the same ECS-ID and KUMOI for life: a stopped account enrolled again is
/// reopened, as a student's.
fn reinstate(
    before: &Account,
    mut after: Account,
    changes: Vec<Change>,
    person: Person,
    source: Option<Source>,
) -> Decision {
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
    Decision::Act(vec![finish(a, &after)], Some(Box::new(after)))
}

/// R2, R6, R9a: the stop scheduled for a person who is enrolled is cancelled; the action tells
/// the `changes` too.
fn cancel_stop(
    before: &Account,
    after: &mut Account,
    research: bool,
    changes: Vec<Change>,
    person: Person,
    source: Option<Source>,
) -> Action {
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
        person,
        source,
        ja.into(),
        en.into(),
    );
    a.stop_on = before.stop_on;
    a.stop_reason = before.stop_reason;
    clear_stop(after);
    a.changes = changes;
    a
}

/// R6: a research student with a new number who finished a degree, in this export or as the
/// undergraduate or graduate student on record, carries the ECS-ID and password over.
fn carries_over(
    before: &Account,
    row: &RegistrarRow,
    group: &[&RegistrarRow],
    new_number: bool,
) -> bool {
    let research = row.status == Status::ResearchStudent;
    let was_student_status = matches!(
        before.status,
        Some(Status::Undergraduate | Status::Graduate)
    );
    let finished_in_export = group
        .iter()
        .any(|r| !r.enrollment.is_student() && r.student_no != row.student_no);
    research && new_number && (finished_in_export || was_student_status)
}

/// R1, R6, R7: the action for an enrolment that goes on with no stop to cancel, if any: a
/// carry-over (R6), else the role back to student (R1), else changed details (R7).
fn continuing(
    carry_over: bool,
    role_back: bool,
    changed: bool,
) -> Option<(ActionKind, Rule, &'static str, &'static str)> {
    if carry_over {
        Some((
            ActionKind::CarryOver,
            Rule::R6,
            "R6: 研究生として同じECS-IDとパスワードを継続します（有効化・停止通知は不要）",
            "R6: continues as a research student with the same ECS-ID and password; no activation, no stop notice",
        ))
    } else if role_back {
        Some((
            ActionKind::Update,
            Rule::R1,
            "R1: 学生として在籍しているため、区分を学生に戻します",
            "R1: enrolled as a student again; the role becomes student",
        ))
    } else if changed {
        Some((
            ActionKind::Update,
            Rule::R7,
            "R7: 在籍情報の変更（同じECS-IDのまま）",
            "R7: enrollment details changed; the ECS-ID stays the same",
        ))
    } else {
        None
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
    // A name with unmapped 外字 is never taken ([`Work::gaiji_name_held`]).
    if !row.name.is_empty()
        && !has_private_use(&row.name)
        && fold_key(&after.name) != fold_key(&row.name)
    {
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
