//! Delivery: send what the outbox holds, after `apply` committed it, marking each row in its
//! own small transaction as it goes (see [`crate::store::outbox`]).

use chrono::{DateTime, Duration};
use chrono_tz::Tz;
use serde::Serialize;

use crate::mail::transport::build_message;
use crate::mail::{MailError, MailSettings};
use crate::store::Store;

/// What one delivery run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct DeliveryReport {
    /// Notices sent in this run.
    pub sent: usize,
    /// Notices whose send failed in this run (they will be retried).
    pub failed: usize,
    /// Notices not sent yet after this run: pending, and failed ones waiting for a retry.
    pub pending_left: usize,
}

/// How many rows are read from the outbox at a time.
const BATCH: usize = 200;

/// The wait before retrying a notice that failed `attempts` times: 5 minutes, doubling with
/// each failure, at most 6 hours (a mail server down for the night is retried a few times,
/// not hammered).
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    Duration::minutes((5i64 << doublings).min(6 * 60))
}

/// Sends the outbox's due notices through `mail.transport`: every pending one, and failed ones
/// whose retry time has come (all failed ones when `retry_all`). Each row is claimed before its
/// send and marked sent or failed right after it.
///
/// When the transport itself is down (connection refused, timeout, a folder that cannot be
/// written), the run stops after the first such failure: the rest stay pending for the next
/// run instead of each waiting for its own timeout.
pub(crate) fn deliver(
    store: &mut Store,
    mail: &MailSettings,
    now: DateTime<Tz>,
    retry_all: bool,
) -> Result<DeliveryReport, MailError> {
    let mut report = DeliveryReport::default();
    let sender = mail.transport.connect()?;
    let mut after_id = 0;
    'batches: loop {
        let due = store.due_notices(&now, retry_all, after_id, BATCH)?;
        if due.is_empty() {
            break;
        }
        for n in &due {
            after_id = n.id;
            let retry_at = now + backoff(n.attempts.saturating_add(1));
            if !store.claim_notice(n, &retry_at)? {
                // Sent or claimed by another `mail` since it was read.
                continue;
            }
            let sent = build_message(&mail.from, n, now.into())
                .map_err(|message| (message, false))
                .and_then(|m| {
                    sender
                        .send(n, &m)
                        .map_err(|e| (e.message, e.transport_down))
                });
            match sent {
                Ok(()) => {
                    store.mark_sent(n.id, &now)?;
                    report.sent += 1;
                    tracing::info!(id = n.id, notice = %n.notice, ecs_id = %n.ecs_id, "notice sent");
                }
                Err((message, transport_down)) => {
                    let error = scrub(&message, &n.body);
                    store.mark_failed(n.id, &error, &retry_at)?;
                    report.failed += 1;
                    tracing::warn!(id = n.id, notice = %n.notice, ecs_id = %n.ecs_id, error, "notice not sent");
                    if transport_down {
                        break 'batches;
                    }
                }
            }
        }
    }
    report.pending_left = store.pending_count()?;
    Ok(report)
}

/// The error text to store and log: at most 500 characters, and never a line of the message
/// body (a server that echoes what it received must not copy a notice into the store or logs).
pub(crate) fn scrub(error: &str, body: &str) -> String {
    let mut error: String = error.chars().take(500).collect();
    for line in body.lines().map(str::trim) {
        if line.chars().count() >= 8 && error.contains(line) {
            error = error.replace(line, "[message text removed]");
        }
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_minutes_and_stops_at_six_hours() {
        let minutes = |a| backoff(a).num_minutes();
        assert_eq!(
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 100].map(minutes),
            [5, 5, 10, 20, 40, 80, 160, 320, 360, 360]
        );
    }

    #[test]
    fn scrub_removes_body_lines_and_truncates() {
        let body = "山田 様\nあなたのECS-IDは停止されます。\n";
        assert_eq!(
            scrub("550 rejected: あなたのECS-IDは停止されます。", body),
            "550 rejected: [message text removed]"
        );
        assert_eq!(scrub("connection refused", body), "connection refused");
        assert_eq!(scrub(&"x".repeat(1000), body).len(), 500);
    }
}
