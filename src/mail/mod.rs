//! Mail: the notices to KUMOI that rules R5, R9 and R10 require, from plan to mailbox.
//!
//! [`outbox_entries`] renders a plan's notices ([`crate::domain::notice::notices`]) with the
//! templates ([`templates`]); `apply` enqueues them in its transaction
//! ([`crate::store::outbox::enqueue`]); after commit, [`deliver`] sends what the outbox holds
//! through a [`Transport`] (SMTP, or `.eml` files for tests and demos), claiming each row for
//! one process with a lease and recording its outcome as it goes. Mail is never sent inside the
//! apply transaction, and a notice is sent once per (account, notice, effective date), across
//! re-runs and concurrent processes; across a crash, as far as SMTP allows (a notice whose
//! outcome is unknown is sent again after a delay, with the same Message-ID).
//!
//! No mail carries a password or an activation key: the templates cannot name one (R12, R13).

mod deliver;
mod smtp;
pub(crate) mod templates;
mod transport;

use chrono::NaiveDate;
use lettre::message::Mailbox;

use crate::domain::notice::{Notice, notices};
use crate::domain::plan::Plan;
use crate::store::StoreError;
use crate::store::outbox::OutboxEntry;

pub use deliver::backoff;
pub(crate) use deliver::deliver;
pub use templates::Templates;
pub(crate) use templates::{COUNTER, Rendered, Vars};
pub use transport::{Secret, Tls, Transport};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail template `{template}` ({origin}): {message}")]
    Template {
        template: String,
        origin: String,
        message: String,
    },
    #[error("notice {notice} for `{ecs_id}`: {message}")]
    Notice {
        notice: String,
        ecs_id: String,
        message: String,
    },
    #[error("cannot read the SMTP password: {0}")]
    Secret(String),
    #[error("cannot set up the SMTP transport to `{host}`: {message}")]
    Smtp { host: String, message: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The checked `[mail]` settings.
#[derive(Debug)]
pub struct MailSettings {
    pub transport: Transport,
    /// The sender of every notice.
    pub from: Mailbox,
    pub templates: Templates,
    /// How long one message may take, the whole SMTP exchange (`[mail] deadline_secs`).
    pub deadline: std::time::Duration,
    /// How long a notice whose outcome is unknown waits before it is sent again (`[mail]
    /// unknown_delay_mins`).
    pub unknown_delay: chrono::Duration,
}

/// The default sender; a real installation names its own in `[mail] from`.
pub(crate) const DEFAULT_FROM: &str = "情報環境支援センター <support@example.ac.jp>";

/// Renders `notice` with the built-in templates. See [`render_with`].
pub fn render(notice: &Notice, plan: &Plan) -> Result<Rendered, MailError> {
    render_with(&Templates::builtin()?, notice, plan)
}

/// Renders `notice` from its action (`plan.actions[notice.action]`): the name and KUMOI
/// address of the account after the action, the action's effective date, and the stop date.
pub(crate) fn render_with(
    templates: &Templates,
    notice: &Notice,
    plan: &Plan,
) -> Result<Rendered, MailError> {
    let bad = |message: &str| MailError::Notice {
        notice: notice.kind.as_str().to_string(),
        ecs_id: notice.ecs_id.to_string(),
        message: message.to_string(),
    };
    let action = plan
        .actions
        .get(notice.action)
        .ok_or_else(|| bad("its action is not in the plan"))?;
    let after = action
        .after
        .as_ref()
        .ok_or_else(|| bad("its action has no account"))?;
    let stop_on = action.stop_on.unwrap_or(notice.effective_on);
    let until = stop_on
        .pred_opt()
        .ok_or_else(|| bad("its stop date is out of range"))?;
    let vars = Vars {
        name: after.name.to_string(),
        ecs_id: after.ecs_id.to_string(),
        kumoi: after.kumoi.to_string(),
        effective_on: action.effective_on.map(ja_date),
        stop_on: ja_date(stop_on),
        until: ja_date(until),
        counter: COUNTER.to_string(),
    };
    templates.render(notice.kind, &vars)
}

/// The outbox rows for a plan's notices, rendered with the built-in templates.
/// See [`outbox_entries_with`].
pub fn outbox_entries(plan: &Plan) -> Result<Vec<OutboxEntry>, MailError> {
    outbox_entries_with(&Templates::builtin()?, plan)
}

/// The outbox rows for a plan's notices, in action order, rendered with `templates` (use
/// `settings.mail.templates`, which honours a mapping folder's `templates/`).
///
/// On one thread: `apply` renders on a side thread while its writer and reader threads run, and
/// has until the writer is done (~2 s at a million accounts) for ~0.6 s of rendering. Rendered
/// on every core, the notices took cores from the writer, which alone decides how long an apply
/// takes (4 % slower at 1M in alternating runs).
pub(crate) fn outbox_entries_with(
    templates: &Templates,
    plan: &Plan,
) -> Result<Vec<OutboxEntry>, MailError> {
    rendered(templates, plan).collect()
}

/// [`outbox_entries_with`] one notice at a time, so a caller can store each before the next is
/// rendered (`apply` compresses them as they come).
pub(crate) fn rendered<'a>(
    templates: &'a Templates,
    plan: &'a Plan,
) -> impl Iterator<Item = Result<OutboxEntry, MailError>> + 'a {
    notices(plan).into_iter().map(move |n| {
        let r = render_with(templates, &n, plan)?;
        Ok(OutboxEntry {
            ecs_id: n.ecs_id.to_string(),
            notice: n.kind.as_str().to_string(),
            effective_on: n.effective_on,
            to: n.to,
            subject: r.subject,
            body: r.body,
        })
    })
}

/// `2026年4月1日`: how the notices write dates.
pub(crate) fn ja_date(d: NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

#[cfg(test)]
mod tests;
