//! Delivery: send what the outbox holds, after `apply` committed it. Each notice is claimed for
//! this process with a lease before its send and settled right after it, each step in its own
//! small transaction (see [`crate::store::outbox`]).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration};
use chrono_tz::Tz;
use serde::Serialize;

use crate::mail::smtp::{Accepted, Failure};
use crate::mail::transport::build_message;
use crate::mail::{MailError, MailSettings};
use crate::store::Store;
use crate::store::outbox::{DueNotice, Lease, Settled};

/// What one delivery run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct DeliveryReport {
    /// Notices the server took in this run.
    pub sent: usize,
    /// Notices the server refused for good in this run; they are never retried.
    pub failed: Vec<Refused>,
    /// Notices handed over in this run without a reply; sent again after `[mail]
    /// unknown_delay_mins`.
    pub unknown: usize,
    /// Notices not sent yet after this run: pending (a temporary failure's among them), being
    /// sent by another process, and unknown.
    pub pending_left: usize,
    /// Why delivery stopped before the outbox was empty, if it did.
    pub stopped: Option<Stopped>,
}

/// A notice the server refused for good, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Refused {
    pub ecs_id: String,
    pub notice: String,
    pub reason: String,
}

/// Why a delivery run stopped early; the notices left stay pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) enum Stopped {
    /// The server could not be reached, or did not finish an exchange in time.
    Down(String),
    /// The server refused the login.
    Auth(String),
    /// The run's deadline came.
    Deadline,
}

impl DeliveryReport {
    /// `sent 3, failed 1, unknown 0, pending 2`, then a line per notice refused for good and the
    /// reason delivery stopped, if it did.
    pub(crate) fn render(&self) -> String {
        let mut s = format!(
            "sent {}, failed {}, unknown {}, pending {}",
            self.sent,
            self.failed.len(),
            self.unknown,
            self.pending_left
        );
        for r in &self.failed {
            let _ = write!(
                s,
                "\n恒久的な失敗 failed permanently: {} {}: {}",
                r.ecs_id, r.notice, r.reason
            );
        }
        if let Some(stopped) = &self.stopped {
            let _ = write!(s, "\n{}", stopped.describe());
        }
        s
    }
}

impl Stopped {
    pub(crate) fn describe(&self) -> String {
        match self {
            Stopped::Down(e) => format!(
                "配信を中断しました。残りは次回送信します / delivery stopped, the rest stay pending: {e}"
            ),
            Stopped::Auth(e) => format!(
                "SMTP の認証に失敗したため配信を中止しました。通知は未送信のまま残ります / the SMTP login was refused, delivery stopped at the first attempt and the notices stay pending: {e}"
            ),
            Stopped::Deadline => "実行期限に達したため配信を中止しました。残りは次回送信します / the run's deadline came, delivery stopped and the rest stay pending".to_string(),
        }
    }
}

/// How many rows are read from the outbox at a time.
const BATCH: usize = 200;

/// How much longer than a message's deadline a lease lasts: time to record the outcome.
const LEASE_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

/// The wait before retrying a notice that failed `attempts` times: 5 minutes, doubling with
/// each failure, at most 6 hours (a mail server down for the night is retried a few times,
/// not hammered).
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    Duration::minutes((5i64 << doublings).min(6 * 60))
}

/// Sends the outbox's due notices through `mail.transport`: every pending one whose retry time
/// has come (all pending ones when `retry_all`), and unknown ones whose delay has passed. Rows
/// whose process died while sending become unknown first. Delivery stops when the transport is
/// down, the login is refused, or `stop_at` (the run's deadline) comes; the rest stay pending.
pub(crate) fn deliver(
    store: &mut Store,
    mail: &MailSettings,
    retry_all: bool,
    stop_at: Option<Instant>,
) -> Result<DeliveryReport, MailError> {
    let mut report = DeliveryReport::default();
    let sender = mail.transport.connect()?;
    let owner = lease_owner()?;
    // Marks a notice sent on the thread that read the 250 (see `smtp`).
    let recorder = Arc::new(Mutex::new(store.sent_recorder(&owner)?));
    let mut after_id = 0;
    'batches: loop {
        let now = now();
        // What processes took before (a killed one's marks first: its notices were sent).
        store.fold_sent_marks(|o| o != owner && owner_is_gone(o))?;
        store.expire_leases(&now, &(now + mail.unknown_delay), |o| {
            o != owner && owner_is_gone(o)
        })?;
        let due = store.due_notices(&now, retry_all, after_id, BATCH)?;
        if due.is_empty() {
            break;
        }
        for n in &due {
            after_id = n.id;
            let started = Instant::now();
            if stop_at.is_some_and(|s| started >= s) {
                report.stopped = Some(Stopped::Deadline);
                break 'batches;
            }
            let now = self::now();
            let lease = Lease {
                owner: owner.clone(),
                until: now + chrono_std(mail.deadline + LEASE_MARGIN),
            };
            if !store.claim_notice(n.id, &lease, &now, retry_all)? {
                // Sent, or taken by another process, since it was read.
                continue;
            }
            let deadline =
                stop_at.map_or(started + mail.deadline, |s| s.min(started + mail.deadline));
            let accepted: Accepted = {
                let (recorder, id) = (Arc::clone(&recorder), n.id);
                Box::new(move || {
                    let r = recorder.lock().map_err(|_| ()).and_then(|r| {
                        r.mark_sent(id, &self::now()).map_err(|e| {
                            tracing::warn!(id, error = %e, "marking a sent notice failed; trying again");
                        })
                    });
                    r.is_ok()
                })
            };
            let sent = build_message(&mail.from, n, now.into())
                .map_err(Failure::Permanent)
                .and_then(|m| sender.send(n, &m, deadline, accepted));
            let failure = match sent {
                Ok(recorded) => {
                    if !recorded {
                        store.mark_sent(n.id, &self::now())?;
                    }
                    report.sent += 1;
                    tracing::info!(id = n.id, notice = %n.notice, ecs_id = %n.ecs_id, "notice sent");
                    continue;
                }
                Err(f) => f,
            };
            if let Some(stop) = settle(
                store,
                mail,
                n,
                &owner,
                failure,
                sender.secrets(),
                &mut report,
            )? {
                // An exchange cut short by the run's deadline is the deadline's doing.
                let run_over = stop_at.is_some_and(|s| Instant::now() >= s);
                report.stopped = Some(match stop {
                    Stopped::Down(_) if run_over => Stopped::Deadline,
                    stop => stop,
                });
                break 'batches;
            }
        }
    }
    // This delivery's marks, once no worker can add one (an abandoned worker's late 250 is
    // lost with the file: its notice ends `unknown` when its lease runs out).
    drop(recorder);
    store.fold_sent_marks(|o| o == owner || owner_is_gone(o))?;
    report.pending_left = store.pending_count()?;
    Ok(report)
}

/// Records a send that did not deliver `n`; returns why delivery stops, if it does.
fn settle(
    store: &mut Store,
    mail: &MailSettings,
    n: &DueNotice,
    owner: &str,
    failure: Failure,
    secrets: &[String],
    report: &mut DeliveryReport,
) -> Result<Option<Stopped>, MailError> {
    let now = now();
    let clean = |e: &str| scrub(e, &n.body, secrets);
    let retry_at = now + backoff(n.attempts.saturating_add(1));
    let (settled, stop) = match failure {
        Failure::Temporary(e) => (
            Settled::Retry {
                error: clean(&e),
                at: retry_at,
            },
            None,
        ),
        Failure::Permanent(e) => {
            let error = clean(&e);
            report.failed.push(Refused {
                ecs_id: n.ecs_id.clone(),
                notice: n.notice.clone(),
                reason: error.clone(),
            });
            (Settled::Failed { error }, None)
        }
        Failure::Down(e) => {
            let error = clean(&e);
            let stop = Stopped::Down(error.clone());
            (
                Settled::Retry {
                    error,
                    at: retry_at,
                },
                Some(stop),
            )
        }
        Failure::Auth(e) => {
            let error = clean(&e);
            let stop = Stopped::Auth(error.clone());
            (Settled::Released { error }, Some(stop))
        }
        Failure::Unknown(e) => {
            // A server that took the message but does not answer is not one to keep sending to.
            let error = clean(&e);
            report.unknown += 1;
            let stop = Stopped::Down(error.clone());
            let at = now + mail.unknown_delay;
            (Settled::Unknown { error, at }, Some(stop))
        }
    };
    store.settle_notice(n.id, owner, &settled)?;
    let error = match &settled {
        Settled::Retry { error, .. }
        | Settled::Unknown { error, .. }
        | Settled::Failed { error }
        | Settled::Released { error } => error,
    };
    tracing::warn!(id = n.id, notice = %n.notice, ecs_id = %n.ecs_id, error, "notice not sent");
    Ok(stop)
}

fn now() -> DateTime<Tz> {
    chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo)
}

fn chrono_std(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// This process's name on the rows it holds: its pid and a random token (a pid is reused
/// after its process ends; the token is not).
fn lease_owner() -> Result<String, MailError> {
    let mut token = [0u8; 8];
    getrandom::fill(&mut token).map_err(|e| MailError::Io(std::io::Error::other(e.to_string())))?;
    Ok(format!(
        "{}:{}",
        std::process::id(),
        crate::digest::hex(&token)
    ))
}

/// Whether the process named in a lease `owner` has ended, as far as this host can tell (the
/// store is used from one host: its lock file says so): its pid is no longer a live process
/// (`/proc`, on Linux). Elsewhere, or when unsure, the lease runs until it expires.
fn owner_is_gone(owner: &str) -> bool {
    let Some(pid) = owner.split(':').next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return false;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        // A zombie has ended; only its parent has not collected it yet.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// The error text to store and log: at most 500 characters, never a line of the message body
/// (a server that echoes what it received must not copy a notice into the store or logs), and
/// never a credential (a server that echoes the AUTH exchange must not put the password, or its
/// base64, there either).
pub(crate) fn scrub(error: &str, body: &str, secrets: &[String]) -> String {
    let mut error = error.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        error = error.replace(secret.as_str(), "[credentials removed]");
    }
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
    fn scrub_removes_body_lines_and_credentials_and_truncates() {
        let body = "山田 様\nあなたのECS-IDは停止されます。\n";
        let secrets = crate::mail::smtp::secrets("regsync", "s3cret-pass");
        let cases = [
            (
                "550 rejected: あなたのECS-IDは停止されます。",
                "550 rejected: [message text removed]",
            ),
            ("connection refused", "connection refused"),
            (
                "permanent error (535): bad login AUTH PLAIN AHJlZ3N5bmMAczNjcmV0LXBhc3M=",
                "permanent error (535): bad login AUTH PLAIN [credentials removed]",
            ),
            (
                "535 czNjcmV0LXBhc3M= is wrong, s3cret-pass",
                "535 [credentials removed] is wrong, [credentials removed]",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(scrub(error, body, &secrets), expected);
        }
        // A secret cut in two by the length limit is removed before the cut.
        let long = format!("{}s3cret-pass", "x".repeat(495));
        assert!(!scrub(&long, body, &secrets).contains("s3cr"));
        assert_eq!(scrub(&"x".repeat(1000), body, &secrets).len(), 500);
    }

    #[test]
    fn an_owner_is_gone_when_its_pid_is_not_running() {
        assert!(!owner_is_gone(&format!("{}:00", std::process::id())));
        assert!(!owner_is_gone("not-a-pid:00"));
        if std::path::Path::new("/proc/self").exists() {
            // pid 1 runs as long as the system does; the largest pid never does.
            assert!(!owner_is_gone("1:00"));
            assert!(owner_is_gone(&format!("{}:00", u32::MAX)));
        }
    }
}
