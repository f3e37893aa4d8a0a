//! Pass 4, the counter's renewals and applications (R8, R10, R11): approvals remembered while
//! the person is enrolled, holders made or renewed, and new accounts for JSPS fellows.

use chrono::NaiveDate;

use super::{Target, Work, change, finish, new_account, person_of_account};
use crate::domain::account::{Account, Approval, Delivery, Role, State, StopReason};
use crate::domain::matching::Match;
use crate::domain::model::{EcsId, RenewalKind, RenewalRow};
use crate::domain::plan::{Action, ActionKind, Person, ReviewReason, Rule};
use crate::domain::schedule::{add_days, fiscal_year_end};
use crate::domain::text::{fold_kana_key, fold_key};

impl Work<'_> {
    /// R8, R10, R11: the counter's approvals. Remembered on the account: an approval for a
    /// student still enrolled applies when student status ends (R8); for a person HR hired,
    /// the staff conversion wins and the approval goes to a person (R9).
    pub(super) fn renewals(&mut self) {
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
                        "{rule}: {}を承認（{}）。在学中のため学生のままです。学籍を失った日から{until}まで学生以外として継続します",
                        row.kind.label_ja(),
                        row.approved_on
                    ),
                    format!(
                        "{rule}: {} approved on {}; still enrolled, so the person stays a student, and becomes a non-student holder until {until} when student status ends",
                        row.kind.label_en(),
                        row.approved_on
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
        // The same check among the holders this night creates: the application in two files
        // (or twice in one) is one account.
        let alike_new: Vec<&Account> = (self.created.iter().map(|(_, a)| a))
            .filter(|a| a.role == Role::Holder && row.birth_date.is_some())
            .filter(|a| a.birth_date == row.birth_date)
            .filter(|a| fold_kana_key(&a.name_kana) == fold_kana_key(&row.name_kana))
            .collect();
        if alike_new
            .iter()
            .any(|a| fold_key(&a.name) == fold_key(&row.name))
        {
            return;
        }
        // Anyone else alike, on record or in another application tonight, is a person to ask.
        let alike = if candidates.is_empty() {
            alike_new.first().map(|a| {
                (
                    format!("今夜の別の申請（{}）", a.name),
                    format!("another application tonight ({})", a.name),
                )
            })
        } else {
            let ids = self.ids(&candidates);
            Some((ids.clone(), ids))
        };
        if let Some((ja, en)) = alike {
            let mut a = Action::new(
                ActionKind::Review,
                Rule::R11,
                person_of_renewal(row),
                Some(self.source(row.at)),
                format!(
                    "R11: 識別子のない申請です。氏名カナと生年月日が {ja} と同じです。同一人物なら同じECS-IDを使います"
                ),
                format!(
                    "R11: the application has no identifier, and its kana name and birth date equal those of {en}; if the same person, the same ECS-ID must be used"
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
pub(super) fn holder_year_end(approved_on: NaiveDate) -> NaiveDate {
    fiscal_year_end(
        approved_on
            .checked_add_months(chrono::Months::new(3))
            .unwrap_or(approved_on),
    )
}

pub(super) fn rule_of_renewal(kind: RenewalKind) -> Rule {
    match kind {
        RenewalKind::Continuation => Rule::R8,
        RenewalKind::Renewal => Rule::R10,
        RenewalKind::JspsFellow => Rule::R11,
    }
}
