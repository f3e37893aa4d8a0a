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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Created, waiting for activation with the one-time key (R4).
    Pending,
    Active,
    Stopped,
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

/// How a new account's credentials reach the person (R3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Cohort admissions: the account notification letter, through the faculty.
    Letter,
    /// Other admissions: in person at the support counter.
    Counter,
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
    pub fn stop_pending(&self) -> bool {
        self.state != State::Stopped && self.stop_on.is_some()
    }

    /// An active or pending student with no stop scheduled: the only accounts a full registrar
    /// snapshot's silence makes depart (R5), and the only ones a registrar row can be quiet
    /// about (`rules::is_quiet`).
    pub fn is_plain_student(&self) -> bool {
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
