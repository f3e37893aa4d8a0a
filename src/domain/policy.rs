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
    /// Mass-change guard for the directory: the largest share of unlocked entries one push may
    /// lock (locks of existing entries; a new entry created locked is no lock)...
    pub guard_lock_share: f64,
    /// ...and the largest absolute number.
    pub guard_lock_count: u64,
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
            guard_lock_share: 0.05,
            guard_lock_count: 200,
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
        if !(0.0..=1.0).contains(&self.guard_lock_share) {
            return Err("`policy.guard_lock_share` must be between 0 and 1".into());
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

/// The shape of the ECS-IDs a store allocates: a prefix and a fixed number of digits, the serial
/// (`a0` + 6 digits: `a0106210` by default). It comes from the policy (`[policy] id_prefix`,
/// `id_digits`). The store reads serials with it (to keep `next_serial` past every ECS-ID it
/// holds) and `accounts import` checks ECS-IDs with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdFormat {
    pub prefix: String,
    pub digits: usize,
}

impl Default for IdFormat {
    fn default() -> Self {
        IdFormat::from(&Policy::default())
    }
}

impl From<&Policy> for IdFormat {
    fn from(policy: &Policy) -> Self {
        IdFormat {
            prefix: policy.id_prefix.clone(),
            digits: policy.id_digits as usize,
        }
    }
}

impl IdFormat {
    /// The serial of an ECS-ID of this shape, or None for any other.
    pub fn serial(&self, ecs_id: &str) -> Option<u64> {
        let digits = ecs_id.strip_prefix(self.prefix.as_str())?;
        if digits.len() != self.digits || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// The serial after the highest one among `ids` (0 when none has this shape).
    pub(crate) fn serial_after<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> u64 {
        ids.into_iter()
            .filter_map(|id| self.serial(id))
            .map(|s| s + 1)
            .max()
            .unwrap_or(0)
    }

    /// An ECS-ID of this shape for messages: `a0106210` with the default shape.
    pub fn example(&self) -> String {
        let serial = 106_210 % 10u64.saturating_pow(self.digits as u32);
        format!("{}{serial:0width$}", self.prefix, width = self.digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_id_serial_reads_only_the_standard_shape() {
        let ids = IdFormat::default();
        for (id, want) in [
            ("a0106210", Some(106_210)),
            ("a0000000", Some(0)),
            ("a0999999", Some(999_999)),
            ("a010621", None),
            ("a01062100", None),
            ("b0106210", None),
            ("a0１06210", None),
            ("", None),
        ] {
            assert_eq!(ids.serial(id), want, "{id}");
        }
        assert_eq!(ids.example(), "a0106210");
    }

    #[test]
    fn ecs_id_serial_follows_the_policy_shape() {
        let policy = Policy {
            id_digits: 7,
            ..Policy::default()
        };
        let ids = IdFormat::from(&policy);
        assert_eq!(ids.serial("a01062100"), Some(1_062_100));
        assert_eq!(ids.serial("a02999999"), Some(2_999_999));
        assert_eq!(ids.serial("a0106210"), None, "6 digits is another shape");
        assert_eq!(ids.example(), "a00106210");
        let short = IdFormat {
            prefix: "x".into(),
            digits: 3,
        };
        assert_eq!(short.serial("x042"), Some(42));
        assert_eq!(short.example(), "x210");
    }

    #[test]
    fn serial_after_is_one_past_the_highest() {
        let ids = IdFormat::default();
        assert_eq!(ids.serial_after([]), 0);
        assert_eq!(ids.serial_after(["a0000009", "x", "a0000002"]), 10);
        let seven = IdFormat {
            prefix: "a0".into(),
            digits: 7,
        };
        assert_eq!(
            seven.serial_after(["a01500000", "a0999999", "a00000002"]),
            1_500_001
        );
    }
}
