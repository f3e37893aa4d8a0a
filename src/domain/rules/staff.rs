//! Pass 3, HR's roster (R9, R9a): a hire is remembered on the account and converts it to staff
//! unless the person is still enrolled; a conversion supersedes a departure of pass 1.

use super::{Target, Work, change, finish, person_of_account};
use crate::domain::account::{Account, Hire, Role, State, StopReason};
use crate::domain::matching::Match;
use crate::domain::model::{EcsId, RowRef, StaffRow};
use crate::domain::plan::{Action, ActionKind, Person, ReviewReason, Rule};

impl Work<'_> {
    /// R9, R9a: HR's roster. The hire is remembered on the account whatever its state, so a
    /// conversion follows whichever of the roster and the registrar's export came first.
    pub(super) fn staff(&mut self) {
        for row in &self.inputs.staff {
            let Some(i) = self.roster_account(row) else {
                continue;
            };
            let before = self.current(i).clone();
            let hire = Hire {
                hired_on: row.hire_date,
                job_type: row.job_type,
            };
            // R9a: an enrolled student keeps the ECS-ID while enrolled, staff or not; the hire
            // is remembered for the day the enrolment ends. A stopped account has nothing to
            // stop, but a readmission (R2) makes it a student's again, so it remembers too.
            let enrolled = (before.role == Role::Student
                && before.stop_reason != Some(StopReason::Departed))
                || before.state == State::Stopped;
            if enrolled {
                if before.hire != Some(hire) {
                    self.record_hire(i, row, &before, hire);
                }
                continue;
            }
            if before.role == Role::ConvertingStaff && before.hire == Some(hire) {
                continue; // the same roster again
            }
            self.convert_on_roster(i, row, &before, hire);
        }
    }

    /// The account a roster row names, if one. A row naming an ECS-ID no account has, or
    /// identifiers that disagree, is a review item.
    fn roster_account(&mut self, row: &StaffRow) -> Option<usize> {
        let m = self.index.identify(
            row.person_id.as_ref(),
            row.student_no.as_ref(),
            row.ecs_id.as_ref(),
        );
        match m {
            Match::Account(i) => Some(i),
            // Staff who never were students have no ECS-ID to stop.
            Match::New if row.ecs_id.is_none() => None,
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
                None
            }
            Match::Ambiguous(_) | Match::EcsIdMismatch { .. } => {
                let mut a = Action::new(
                    ActionKind::Review,
                    Rule::R9,
                    person_of_staff(row),
                    Some(self.source(row.at)),
                    "R9: 教職員名簿の行の識別子が記録と食い違っています".into(),
                    "R9: the staff row's identifiers disagree with the accounts on record".into(),
                );
                a.review = Some(ReviewReason::AmbiguousMatch);
                self.actions.push((Target::None, a));
                None
            }
        }
    }

    /// R9a: the hire of an enrolled person (or of a stopped account: R9) is recorded on the
    /// account `i` for the day the enrolment ends; nothing stops now.
    fn record_hire(&mut self, i: usize, row: &StaffRow, before: &Account, hire: Hire) {
        let mut after = before.clone();
        after.hire = Some(hire);
        let source = Some(self.source(row.at));
        let (ja, en) = if before.state == State::Stopped {
            (
                format!(
                    "R9: {}に{}として採用。ECS-IDは停止済みのため記録のみ",
                    row.hire_date,
                    row.job_type.label_ja()
                ),
                format!(
                    "R9: hired {} as {}; the ECS-ID is already stopped, the hire is recorded",
                    row.hire_date,
                    row.job_type.label_en()
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
                    "R9a: hired {} as {}; enrolled, so the ECS-ID stays until the enrolment ends (then the June 30 stop applies)",
                    row.hire_date,
                    row.job_type.label_en()
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
            person_of_account(before),
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
        let review = self.approval_overruled(&mut after, person_of_account(before), source);
        self.push(Target::Account(i), finish(a, &after), Some(after));
        if let Some(r) = review {
            self.actions.push((Target::Account(i), r));
        }
    }

    /// R9: the roster converts account `i` to staff, in place of a departure this plan decided.
    /// A conversion already under way with the same stop is only confirmed.
    fn convert_on_roster(&mut self, i: usize, row: &StaffRow, before: &Account, hire: Hire) {
        let mut after = before.clone();
        after.hire = Some(hire);
        let source = Some(self.source(row.at));
        self.supersede(i, &[ActionKind::Depart]);
        let person = person_of_account(before);
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
            format!("{rule}: {what_ja}の行のECS-ID「{shown}」は記録にありません"),
            format!("{rule}: the {what_en} row names ECS-ID `{shown}`, which is not on record"),
        );
        a.ecs_id = ecs_id;
        a.review = Some(ReviewReason::UnknownAccount);
        a
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
