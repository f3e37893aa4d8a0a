//! `regsync mail [--retry]`: send the notices waiting in the outbox. `run` does this after every
//! apply; this command is for retrying by hand, or from a second cron line when the mail server
//! was down at night.

use std::io::Write as _;

use crate::cli::Exit;
use crate::config::Settings;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also retry failed notices now, without waiting for their retry time
    #[arg(long)]
    pub retry: bool,
}

/// Exit 0 when nothing is left to send, 5 when some notices are still pending or failed.
pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    // No store yet means no outbox: nothing to send, and nothing to create.
    if !settings.store_path.exists() {
        writeln!(out, "sent 0, failed 0, pending 0")?;
        return Ok(Exit::Done);
    }
    let mut store = Store::open(&settings.store_path)?;
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
    let report = crate::mail::deliver(&mut store, &settings.mail, now, args.retry)?;
    writeln!(
        out,
        "sent {}, failed {}, pending {}",
        report.sent, report.failed, report.pending_left
    )?;
    Ok(if report.pending_left == 0 {
        Exit::Done
    } else {
        Exit::MailPending
    })
}
