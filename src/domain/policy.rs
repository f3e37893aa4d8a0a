//! Policy: the rules' policy values (docs/rules.md), with their defaults. Read from the config's
//! `[policy]` section; the core receives them as a value.

use serde::{Deserialize, Serialize};

/// What to do with a student on record who is missing from a full registrar snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Absent {
    /// Treat as a departure (R5) effective today.
    Depart,
    /// Put a review item in front of a person instead.
    Review,
}

/// What a row with an error does to its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowErrors {
    /// The row is held out and the persons it names are frozen for the night; the rest of the
    /// file is used.
    HoldRows,
    /// The whole file is rejected.
    RejectFile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// R3: admissions in these months get the account letter through the faculty.
    pub cohort_months: Vec<u32>,
    /// R4: days a new account has to be activated.
    pub activation_days: u32,
    /// R5: days after the effective date of a status loss before the stop.
    pub depart_grace_days: u32,
    /// R5: minimum days between the departure notice and the stop.
    pub min_notice_days: u32,
    /// R5: a student missing from a full snapshot.
    pub absent: Absent,
    /// R9: months before the June 30 stop that the reminder goes out.
    pub staff_reminder_months: u32,
    /// R10: months before a holder's stop that the expiry notice goes out.
    pub holder_notice_months: u32,
    /// Mass-change guard: the largest share of active accounts one run may depart, stop or convert
    /// (per action kind)...
    pub guard_share: f64,
    /// ...and the largest absolute number.
    pub guard_count: u64,
    /// Mass-change guard for new accounts: the largest number one run may create, as a share of
    /// the active accounts (so a night on an empty or wrong store stops for a person)...
    pub guard_create_share: f64,
    /// ...and as an absolute number.
    pub guard_create_count: u64,
    /// New ECS-IDs: this prefix followed by `id_digits` digits (`a0` + 6 → `a0123456`).
    pub id_prefix: String,
    pub id_digits: u32,
    /// KUMOI addresses: `<family>.<given>@<kumoi_domain>` from the romanized kana name, with
    /// `.2`, `.3`, ... on collision.
    pub kumoi_domain: String,
    /// A data row with an error: held out, or the whole file rejected.
    pub row_errors: RowErrors,
    /// With `hold_rows`, a file whose rows with errors are more than this share of its rows is
    /// rejected whole all the same (a wrong column or a broken export, not one typo).
    pub row_errors_max_share: f64,
    /// A full registrar snapshot with fewer data rows than this share of the previous one is
    /// called out as a warning (`check`, the plan's warnings).
    pub snapshot_min_share: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            cohort_months: vec![4, 10],
            activation_days: 60,
            depart_grace_days: 0,
            min_notice_days: 14,
            absent: Absent::Depart,
            staff_reminder_months: 1,
            holder_notice_months: 1,
            guard_share: 0.05,
            guard_count: 200,
            // An April intake is some 15-20 % of a university's active accounts, up to some 6,000.
            guard_create_share: 0.30,
            guard_create_count: 10_000,
            id_prefix: "a0".to_string(),
            id_digits: 6,
            kumoi_domain: "st.kyoto-u.ac.jp".to_string(),
            row_errors: RowErrors::HoldRows,
            row_errors_max_share: 0.05,
            snapshot_min_share: 0.5,
        }
    }
}

impl Policy {
    /// Checks values that would make the rules meaningless.
    pub fn check(&self) -> Result<(), String> {
        if self.cohort_months.iter().any(|m| !(1..=12).contains(m)) {
            return Err("`policy.cohort_months` must hold month numbers 1 to 12".into());
        }
        if !(0.0..=1.0).contains(&self.guard_share) {
            return Err("`policy.guard_share` must be between 0 and 1".into());
        }
        if !(0.0..=10.0).contains(&self.guard_create_share) {
            return Err("`policy.guard_create_share` must be between 0 and 10".into());
        }
        if !(0.0..=1.0).contains(&self.row_errors_max_share) {
            return Err("`policy.row_errors_max_share` must be between 0 and 1".into());
        }
        if !(0.0..=1.0).contains(&self.snapshot_min_share) {
            return Err("`policy.snapshot_min_share` must be between 0 and 1".into());
        }
        if self.id_prefix.is_empty() || !self.id_prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("`policy.id_prefix` must be ASCII letters and digits".into());
        }
        if !(3..=12).contains(&self.id_digits) {
            return Err("`policy.id_digits` must be between 3 and 12".into());
        }
        if self.kumoi_domain.is_empty() || self.kumoi_domain.contains('@') {
            return Err("`policy.kumoi_domain` must be a domain such as `st.kyoto-u.ac.jp`".into());
        }
        Ok(())
    }
}
