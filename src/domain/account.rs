//! Accounts as the store holds them: one ECS-ID per person for life (R2), with its KUMOI
//! address, role, state and the dates that drive the scheduled actions. The core reads a
//! [`Snapshot`] of them and never writes; `apply` turns a plan's actions into new account rows.

use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::domain::model::{EcsId, JobType, PersonId, RenewalKind, Status, StudentNo};

/// Why a person holds an ECS-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An enrolled student (R1).
    Student,
    /// A non-student holder who renews every 年度 (R8, R10, R11).
    Holder,
    /// A former student now on staff, whose ECS-ID stops on June 30 (R9).
    ConvertingStaff,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Student, Role::Holder, Role::ConvertingStaff];

    /// The snake_case name serde, the store and the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Student => "student",
            Role::Holder => "holder",
            Role::ConvertingStaff => "converting_staff",
        }
    }

    /// The value named `s` by [`Role::as_str`].
    pub(crate) fn from_name(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// 区分 as the accounts file writes it (import and export, `docs/accounts-json.md`).
    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            Role::Student => "学生",
            Role::Holder => "学生以外",
            Role::ConvertingStaff => "教職員移行",
        }
    }

    /// The value labelled `s` by [`Role::label_ja`].
    pub(crate) fn from_label_ja(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.label_ja() == s)
    }

    /// 区分 as `regsync show` prints it. It says 教職員へ移行中 where [`Role::label_ja`] says
    /// 教職員移行: two words for one role, both kept until one is chosen.
    pub(crate) fn show_label_ja(self) -> &'static str {
        match self {
            Role::ConvertingStaff => "教職員へ移行中",
            Role::Student | Role::Holder => self.label_ja(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Created, waiting for activation with the one-time key (R4).
    Pending,
    Active,
    Stopped,
}

impl State {
    pub const ALL: [State; 3] = [State::Pending, State::Active, State::Stopped];

    /// The snake_case name serde, the store and the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Active => "active",
            State::Stopped => "stopped",
        }
    }

    /// The value named `s` by [`State::as_str`].
    pub(crate) fn from_name(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// 状態, as the accounts file and `regsync show` write it.
    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            State::Pending => "有効化待ち",
            State::Active => "有効",
            State::Stopped => "停止",
        }
    }

    /// The value labelled `s` by [`State::label_ja`].
    pub(crate) fn from_label_ja(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.label_ja() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Student status lost (R5).
    Departed,
    /// Became faculty or staff (R9).
    StaffConversion,
    /// A holder did not renew (R10).
    HolderExpired,
}

impl StopReason {
    pub const ALL: [StopReason; 3] = [
        StopReason::Departed,
        StopReason::StaffConversion,
        StopReason::HolderExpired,
    ];

    /// The snake_case name serde, the store and the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Departed => "departed",
            StopReason::StaffConversion => "staff_conversion",
            StopReason::HolderExpired => "holder_expired",
        }
    }

    /// The value named `s` by [`StopReason::as_str`].
    pub(crate) fn from_name(s: &str) -> Option<StopReason> {
        StopReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            StopReason::Departed => "学籍喪失",
            StopReason::StaffConversion => "教職員への身分変更",
            StopReason::HolderExpired => "利用期限切れ",
        }
    }
}

/// How a new account's credentials reach the person (R3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Cohort admissions: the account notification letter, through the faculty.
    Letter,
    /// Other admissions: in person at the support counter.
    Counter,
}

impl Delivery {
    pub const ALL: [Delivery; 2] = [Delivery::Letter, Delivery::Counter];

    /// The snake_case name serde and the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Letter => "letter",
            Delivery::Counter => "counter",
        }
    }

    /// The value named `s` by [`Delivery::as_str`].
    pub fn from_name(s: &str) -> Option<Delivery> {
        Delivery::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            Delivery::Letter => "通知書（学部経由）",
            Delivery::Counter => "窓口",
        }
    }
}

/// One person's account, with everything the rules need to decide what is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub ecs_id: EcsId,
    pub kumoi: CompactString,
    pub person_id: Option<PersonId>,
    /// Every student number the person had, oldest first; the last is the current one.
    pub student_nos: Vec<StudentNo>,
    pub name: CompactString,
    pub name_kana: CompactString,
    pub birth_date: Option<NaiveDate>,
    pub faculty: CompactString,
    pub status: Option<Status>,
    pub role: Role,
    pub state: State,
    /// R4: a pending account must be activated by this date.
    pub activation_deadline: Option<NaiveDate>,
    /// R4: set once the deadline passed and the account was marked.
    pub activation_expired: bool,
    /// A scheduled stop: the day the stop action falls due, and why.
    pub stop_on: Option<NaiveDate>,
    pub stop_reason: Option<StopReason>,
    /// R5: the effective date of the status loss behind a departure.
    pub departed_on: Option<NaiveDate>,
    /// R9: the day the staff reminder falls due, and whether it went out.
    pub reminder_on: Option<NaiveDate>,
    pub reminder_sent: bool,
    /// R10: the last day a holder's account is valid (end of 年度).
    pub holder_until: Option<NaiveDate>,
    /// R10: the `holder_until` an expiry notice was already sent for.
    pub expiry_notice_for: Option<NaiveDate>,
    /// R9: the latest hire HR's roster reported for the person, kept whatever the person's
    /// state then, so that a conversion follows from the facts however the files arrived.
    #[serde(default)]
    pub hire: Option<Hire>,
    /// R8, R10, R11: the latest approval from the counter, kept likewise (an approval for a
    /// student who is still enrolled applies when student status ends).
    #[serde(default)]
    pub approval: Option<Approval>,
}

/// R9: what HR's roster said: hired on this date in this job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hire {
    pub hired_on: NaiveDate,
    pub job_type: JobType,
}

/// R8, R10, R11: an approval from the counter and the last day it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub kind: RenewalKind,
    pub approved_on: NaiveDate,
    pub until: NaiveDate,
}

impl Account {
    pub fn student_no(&self) -> Option<&StudentNo> {
        self.student_nos.last()
    }

    /// A departure or staff conversion is scheduled and has not happened yet.
    pub(crate) fn stop_pending(&self) -> bool {
        self.state != State::Stopped && self.stop_on.is_some()
    }

    /// An active or pending student with no stop scheduled: the only accounts a full registrar
    /// snapshot's silence makes depart (R5), and the only ones a registrar row can be quiet
    /// about (`rules::is_quiet`).
    pub(crate) fn is_plain_student(&self) -> bool {
        self.role == Role::Student && self.state != State::Stopped && self.stop_on.is_none()
    }
}

/// What the store holds, as the core sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every account ever created, stopped ones included, ordered by ECS-ID.
    pub accounts: Vec<Account>,
    /// The next ECS-ID serial to allocate; only ever grows, so no ID is given twice (R2).
    pub next_serial: u64,
    /// Digest of the store state this snapshot was read from (a plan is refused on any other).
    pub digest: String,
    /// When `accounts` is not every account (a nightly plan reads only those triage selects,
    /// see `triage`): the identifiers the others hold that this plan's allocation could
    /// otherwise pick.
    #[serde(default)]
    pub reserved: Reserved,
    /// Review decisions that a row's person (by student number) is not the account named,
    /// though their kana name and birth date are the same (`review resolve --different-person`):
    /// that account is no longer a review candidate for that row (R2).
    #[serde(default)]
    pub distinct: std::collections::BTreeSet<(StudentNo, EcsId)>,
}

/// ECS-IDs and KUMOI local parts on record outside a partial snapshot's accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reserved {
    /// ECS-IDs at or past the next serial (none while the counter is past every serial).
    pub ecs_ids: std::collections::BTreeSet<EcsId>,
    /// Local parts of the KUMOI addresses that this plan's allocation could collide with: the
    /// romanized names of the accounts it may create, alone or numbered (`rules::collides`).
    pub kumoi_local_parts: std::collections::BTreeSet<CompactString>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::check_names;

    #[test]
    fn names_are_the_serde_names() {
        check_names(&Role::ALL, Role::as_str, Role::from_name);
        check_names(&State::ALL, State::as_str, State::from_name);
        check_names(&StopReason::ALL, StopReason::as_str, StopReason::from_name);
        check_names(&Delivery::ALL, Delivery::as_str, Delivery::from_name);
    }

    #[test]
    fn labels_read_back() {
        for r in Role::ALL {
            assert_eq!(Role::from_label_ja(r.label_ja()), Some(r));
        }
        for st in State::ALL {
            assert_eq!(State::from_label_ja(st.label_ja()), Some(st));
        }
        assert_eq!(Role::from_label_ja("教職員へ移行中"), None);
    }
}
