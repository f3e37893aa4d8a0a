//! Which notices a plan sends: the mails to KUMOI that rules R5, R9 and R10 require. Each notice
//! is identified by (account, kind, effective date) — the stop date it announces — so it is sent
//! once, and again only when that date changes (a corrected stop date gets a corrected notice).
//! Rendering the text and sending it are the shell's job (`mail`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::model::EcsId;
use crate::domain::plan::{ActionKind, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// R5: student status lost; the ECS-ID stops on the date given.
    Departure,
    /// R9: became staff; back up files, move KUMOI mail to KUMail; stops June 30.
    StaffConversion,
    /// R9: the reminder a month before the June 30 stop.
    StaffReminder,
    /// R10: a holder's year ends; renew at the counter or the account stops.
    HolderExpiry,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 4] = [
        NoticeKind::Departure,
        NoticeKind::StaffConversion,
        NoticeKind::StaffReminder,
        NoticeKind::HolderExpiry,
    ];

    /// The snake_case name serde, the outbox and the template files use.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Departure => "departure",
            NoticeKind::StaffConversion => "staff_conversion",
            NoticeKind::StaffReminder => "staff_reminder",
            NoticeKind::HolderExpiry => "holder_expiry",
        }
    }

    /// The value named `s` by [`NoticeKind::as_str`].
    pub fn from_name(s: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn of(kind: ActionKind) -> Option<NoticeKind> {
        match kind {
            ActionKind::Depart => Some(NoticeKind::Departure),
            ActionKind::StaffConvert => Some(NoticeKind::StaffConversion),
            ActionKind::StaffReminder => Some(NoticeKind::StaffReminder),
            ActionKind::ExpiryNotice => Some(NoticeKind::HolderExpiry),
            _ => None,
        }
    }
}

/// One notice a plan sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub ecs_id: EcsId,
    pub kind: NoticeKind,
    /// The stop date the notice announces; part of the notice's identity.
    pub effective_on: NaiveDate,
    /// The KUMOI address.
    pub to: String,
    /// Index of the action in `plan.actions` that sends it.
    pub action: usize,
}

/// The notices of a plan, in action order. Actions without a KUMOI address or stop date send none.
pub fn notices(plan: &Plan) -> Vec<Notice> {
    plan.actions
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let kind = NoticeKind::of(a.kind)?;
            let after = a.after.as_ref()?;
            let effective_on = a.stop_on?;
            (!after.kumoi.is_empty()).then(|| Notice {
                ecs_id: after.ecs_id.clone(),
                kind,
                effective_on,
                to: after.kumoi.to_string(),
                action: i,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::check_names;

    #[test]
    fn names_are_the_serde_names() {
        check_names(&NoticeKind::ALL, NoticeKind::as_str, NoticeKind::from_name);
    }
}
