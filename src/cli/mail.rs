//! `regsync mail [--retry]`: send the notices waiting in the outbox. `run` does this after every
//! apply; this command is for retrying by hand, or from a second cron line when the mail server
//! was down at night.

use std::io::Write as _;

use crate::cli::Exit;
use crate::config::Settings;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also retry notices that failed for now, without waiting for their retry time (not those
    /// refused for good, nor those whose outcome is unknown)
    #[arg(long)]
    pub retry: bool,
}

/// Exit 0 when nothing is left to send, 5 when some notices are still pending, or one was
/// refused for good by this run. Each message's SMTP exchange is bounded by `[mail]
/// deadline_secs`; the command as a whole is not (it ends when the outbox is done or the server
/// fails).
pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    // No store yet means no outbox: nothing to send, and nothing to create.
    if !settings.store_path.exists() {
        writeln!(out, "sent 0, failed 0, unknown 0, pending 0")?;
        return Ok(Exit::Done);
    }
    let mut store = Store::open(&settings.store_path)?;
    let report = crate::mail::deliver(&mut store, &settings.mail, args.retry, None)?;
    writeln!(out, "{}", report.render())?;
    Ok(if report.pending_left == 0 && report.failed.is_empty() {
        Exit::Done
    } else {
        Exit::MailPending
    })
}
