//! The plan: a value that says what must happen and why. `plan` writes it, the reports render
//! it and `apply` executes it, so the dry run and the real run cannot disagree.
//!
//! Each action carries the account as it will be after the action (`after`), so applying a
//! plan needs nothing but the plan and a store whose digest matches `store_digest`.

use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::domain::account::{Account, Delivery, Role, StopReason};
use crate::domain::model::{EcsId, Kind, PersonId, Status, StudentNo};

/// The plan's fixed vocabulary of actions (docs/contract.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Needs a person; sorts first so reports show review items first.
    Review,
    Create,
    Reinstate,
    Update,
    CarryOver,
    CancelStop,
    Depart,
    MakeHolder,
    Renew,
    StaffConvert,
    StaffReminder,
    ExpiryNotice,
    ActivationExpired,
    Stop,
}

impl ActionKind {
    pub const ALL: [ActionKind; 14] = [
        ActionKind::Review,
        ActionKind::Create,
        ActionKind::Reinstate,
        ActionKind::Update,
        ActionKind::CarryOver,
        ActionKind::CancelStop,
        ActionKind::Depart,
        ActionKind::MakeHolder,
        ActionKind::Renew,
        ActionKind::StaffConvert,
        ActionKind::StaffReminder,
        ActionKind::ExpiryNotice,
        ActionKind::ActivationExpired,
        ActionKind::Stop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Review => "review",
            ActionKind::Create => "create",
            ActionKind::Reinstate => "reinstate",
            ActionKind::Update => "update",
            ActionKind::CarryOver => "carry_over",
            ActionKind::CancelStop => "cancel_stop",
            ActionKind::Depart => "depart",
            ActionKind::MakeHolder => "make_holder",
            ActionKind::Renew => "renew",
            ActionKind::StaffConvert => "staff_convert",
            ActionKind::StaffReminder => "staff_reminder",
            ActionKind::ExpiryNotice => "expiry_notice",
            ActionKind::ActivationExpired => "activation_expired",
            ActionKind::Stop => "stop",
        }
    }

    /// The value named `s` by [`ActionKind::as_str`].
    pub fn from_name(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            ActionKind::Review => "要確認",
            ActionKind::Create => "新規作成",
            ActionKind::Reinstate => "再開（同一ID）",
            ActionKind::Update => "更新",
            ActionKind::CarryOver => "継続（研究生）",
            ActionKind::CancelStop => "停止取消",
            ActionKind::Depart => "学籍喪失（通知・停止予定）",
            ActionKind::MakeHolder => "学生以外へ変更",
            ActionKind::Renew => "年度更新",
            ActionKind::StaffConvert => "教職員への身分変更",
            ActionKind::StaffReminder => "停止前リマインダー",
            ActionKind::ExpiryNotice => "利用期限の案内",
            ActionKind::ActivationExpired => "有効化期限切れ",
            ActionKind::Stop => "停止",
        }
    }
}

/// The rules of docs/rules.md, named in every action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R9a,
    R10,
    R11,
    R12,
    R13,
}

impl Rule {
    pub const ALL: [Rule; 14] = [
        Rule::R1,
        Rule::R2,
        Rule::R3,
        Rule::R4,
        Rule::R5,
        Rule::R6,
        Rule::R7,
        Rule::R8,
        Rule::R9,
        Rule::R9a,
        Rule::R10,
        Rule::R11,
        Rule::R12,
        Rule::R13,
    ];

    /// The rule's name in DOMAIN.md, which is also its serde name (`R9a`).
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::R1 => "R1",
            Rule::R2 => "R2",
            Rule::R3 => "R3",
            Rule::R4 => "R4",
            Rule::R5 => "R5",
            Rule::R6 => "R6",
            Rule::R7 => "R7",
            Rule::R8 => "R8",
            Rule::R9 => "R9",
            Rule::R9a => "R9a",
            Rule::R10 => "R10",
            Rule::R11 => "R11",
            Rule::R12 => "R12",
            Rule::R13 => "R13",
        }
    }

    /// The value named `s` by [`Rule::as_str`].
    pub fn from_name(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Reasons and reports name a rule by [`Rule::as_str`].
impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an item needs a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// The export names an ECS-ID other than the one on record for the person (R6).
    EcsIdMismatch,
    /// Two rows for one person in one export disagree.
    DuplicateRows,
    /// No identifier matched, but a person on record has the same kana name and birth date.
    NameBirthCandidate,
    /// An identifier points at two different people on record.
    AmbiguousMatch,
    /// A person on record is missing from a full snapshot and policy says review.
    AbsentFromSnapshot,
    /// A row refers to an account the store does not have.
    UnknownAccount,
    /// A counter approval (R8, R10) for a person HR hired: the staff conversion wins (R9).
    ApprovalOverruled,
    /// The registry changed a name to one with 外字 the profile does not map (R7).
    UnmappedGaiji,
}

impl ReviewReason {
    pub const ALL: [ReviewReason; 8] = [
        ReviewReason::EcsIdMismatch,
        ReviewReason::DuplicateRows,
        ReviewReason::NameBirthCandidate,
        ReviewReason::AmbiguousMatch,
        ReviewReason::AbsentFromSnapshot,
        ReviewReason::UnknownAccount,
        ReviewReason::ApprovalOverruled,
        ReviewReason::UnmappedGaiji,
    ];

    /// The snake_case name serde, the review queue and the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewReason::EcsIdMismatch => "ecs_id_mismatch",
            ReviewReason::DuplicateRows => "duplicate_rows",
            ReviewReason::NameBirthCandidate => "name_birth_candidate",
            ReviewReason::AmbiguousMatch => "ambiguous_match",
            ReviewReason::AbsentFromSnapshot => "absent_from_snapshot",
            ReviewReason::UnknownAccount => "unknown_account",
            ReviewReason::ApprovalOverruled => "approval_overruled",
            ReviewReason::UnmappedGaiji => "unmapped_gaiji",
        }
    }

    /// The value named `s` by [`ReviewReason::as_str`].
    pub fn from_name(s: &str) -> Option<ReviewReason> {
        ReviewReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            ReviewReason::EcsIdMismatch => "ECS-ID不一致",
            ReviewReason::DuplicateRows => "重複行",
            ReviewReason::NameBirthCandidate => "氏名・生年月日の候補",
            ReviewReason::AmbiguousMatch => "照合先が複数",
            ReviewReason::AbsentFromSnapshot => "全件データに不在",
            ReviewReason::UnknownAccount => "未登録のアカウント",
            ReviewReason::ApprovalOverruled => "教職員移行のため承認を保留",
            ReviewReason::UnmappedGaiji => "氏名に未登録の外字",
        }
    }
}

/// The person an action is about, as the report shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: CompactString,
    pub name_kana: CompactString,
    pub student_no: Option<StudentNo>,
    pub person_id: Option<PersonId>,
    pub faculty: CompactString,
    pub status: Option<Status>,
}

/// The input row an action came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    pub row: u32,
}

/// An input row held out for an error: the persons it names get no action tonight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub source: Source,
    #[serde(flatten)]
    pub ids: crate::domain::model::RowIds,
    pub errors: Vec<String>,
}

/// One field an `update` (or `carry_over`, `reinstate`) changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub kind: ActionKind,
    pub rule: Rule,
    /// None only for review items about a row no account matched.
    pub ecs_id: Option<EcsId>,
    pub person: Person,
    pub source: Option<Source>,
    /// The date the cause took effect (異動年月日, 採用年月日, the holder's last day, ...).
    pub effective_on: Option<NaiveDate>,
    /// The date a notice goes out (today for notices sent by this plan).
    pub notice_on: Option<NaiveDate>,
    /// The scheduled stop this action sets, or the stop that falls due.
    pub stop_on: Option<NaiveDate>,
    pub stop_reason: Option<StopReason>,
    pub delivery: Option<Delivery>,
    pub role: Option<Role>,
    pub changes: Vec<Change>,
    pub review: Option<ReviewReason>,
    /// A `name_birth_candidate` review's candidates: the accounts with the row's kana name and
    /// birth date (at most ten; the reason text counts the rest). An `ecs_id_mismatch` review's
    /// one candidate: the ECS-ID the registry wrote (R6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<EcsId>,
    /// Why, in plain words, for the report.
    pub reason_ja: String,
    pub reason_en: String,
    /// The account after this action; `apply` writes exactly this. None for review items.
    pub after: Option<Account>,
}

impl Action {
    /// An action with its kind, rule, person, source and reason; every other field empty, for
    /// the rules to fill in.
    pub fn new(
        kind: ActionKind,
        rule: Rule,
        person: Person,
        source: Option<Source>,
        reason_ja: String,
        reason_en: String,
    ) -> Action {
        Action {
            kind,
            rule,
            ecs_id: None,
            person,
            source,
            effective_on: None,
            notice_on: None,
            stop_on: None,
            stop_reason: None,
            delivery: None,
            role: None,
            changes: Vec::new(),
            review: None,
            candidates: Vec::new(),
            reason_ja,
            reason_en,
            after: None,
        }
    }
}

/// One input file the plan was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    pub name: String,
    pub sha256: String,
    pub kind: Kind,
    pub rows: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub as_of: NaiveDate,
    /// Digest of the store state the plan was computed on; `apply` refuses any other.
    pub store_digest: String,
    /// The next ECS-ID serial after this plan's creations; `apply` raises the store's counter
    /// to it (never lowers it), so no serial is allocated twice (R2).
    pub next_serial: u64,
    pub inputs: Vec<InputFile>,
    pub actions: Vec<Action>,
    /// Warnings from the inputs (dates past an era's end, ...), as rendered lines.
    pub warnings: Vec<String>,
    /// Rows held out for an error, in input order: nobody they name has an action.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<Held>,
}

impl Plan {
    pub const FORMAT: u32 = 1;

    /// Number of actions of each kind, in [`ActionKind::ALL`] order, zero counts included.
    pub fn counts(&self) -> Vec<(ActionKind, usize)> {
        let mut counts = [0usize; ActionKind::ALL.len()];
        for a in &self.actions {
            counts[a.kind as usize] += 1;
        }
        ActionKind::ALL.iter().copied().zip(counts).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::check_names;

    #[test]
    fn names_are_the_serde_names() {
        check_names(&ActionKind::ALL, ActionKind::as_str, ActionKind::from_name);
        check_names(&Rule::ALL, Rule::as_str, Rule::from_name);
        check_names(
            &ReviewReason::ALL,
            ReviewReason::as_str,
            ReviewReason::from_name,
        );
    }

    #[test]
    fn a_rule_displays_as_its_debug_name() {
        for r in Rule::ALL {
            assert_eq!(r.to_string(), format!("{r:?}"));
        }
    }
}
