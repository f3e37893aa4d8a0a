//! `regsync directory push [--dry-run] [--allow-locks N]` and `regsync directory diff [--fix]`:
//! bring the LDAP directory in line with the store, and report where it drifted. `run` pushes
//! after every apply; these are for a push by hand, a look before one, and reconciliation.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::cli::Exit;
use crate::config::Settings;
use crate::directory::{DirectoryError, DirectorySettings, push, reconcile};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write the journal's pending changes to the directory (exit 5 when some stay pending)
    #[command(after_help = super::help::DIRECTORY_PUSH)]
    Push(PushArgs),
    /// Compare the people subtree with the store: drift, missing entries, orphans
    #[command(after_help = super::help::DIRECTORY_DIFF)]
    Diff(DiffArgs),
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Print the LDIF that would be sent, reading the entries but writing nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Let up to N locks of existing entries through the lock guard for this push
    #[arg(long, value_name = "N")]
    pub allow_locks: Option<usize>,
    /// Also push changes waiting for their retry time
    #[arg(long)]
    pub retry: bool,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// Queue the corrections (drifted and missing entries) for the next push; orphans are
    /// only reported
    #[arg(long)]
    pub fix: bool,
    /// Folder for directory-diff.html and directory-diff.csv
    #[arg(long, value_name = "DIR", default_value = "directory-diff")]
    pub out: PathBuf,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let Some(s) = &settings.directory else {
        eprintln!(
            "error: `[directory]` が設定されていません / no `[directory]` section in the configuration\nhint: see README, \"The directory\""
        );
        return Ok(Exit::Usage);
    };
    // One writer at a time: the nightly run's lock.
    let lock_path = crate::night::run::lock_path(&settings.store_path);
    let mut lock = fd_lock::RwLock::new(crate::night::run::open_lock(&lock_path)?);
    let _held = match lock.try_write() {
        Ok(held) => held,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            eprintln!(
                "別の run が実行中です / another run holds the lock `{}`; nothing done",
                lock_path.display()
            );
            return Ok(Exit::Refused);
        }
        Err(e) => return Err(e).with_context(|| format!("locking `{}`", lock_path.display())),
    };
    let mut store = Store::open(&settings.store_path)?;
    match args.command {
        Command::Push(a) if a.dry_run => dry_run(&store, s),
        Command::Push(a) => {
            let pushed = push::push(
                &mut store,
                s,
                &settings.policy,
                !a.retry,
                a.allow_locks,
                None,
            )?;
            println!("{}", pushed.describe());
            Ok(if pushed.tripped.is_some() {
                Exit::Refused
            } else if pushed.incomplete() {
                Exit::MailPending
            } else {
                Exit::Done
            })
        }
        Command::Diff(a) => diff(&mut store, s, &a),
    }
}

/// Prints the LDIF of every pending change, as the entries are now; writes nothing.
fn dry_run(store: &Store, s: &DirectorySettings) -> anyhow::Result<Exit> {
    // What push would send: the pending rows and the accounts it would queue first.
    let mut rows = store.directory_pending(false)?;
    rows.extend(store.directory_unqueued()?);
    rows.sort_by(|a, b| a.desired.ecs_id.cmp(&b.desired.ecs_id));
    let total = rows.len();
    let mut conns = match push::connect(s, 1) {
        Ok(c) => c,
        Err(e @ DirectoryError::Unreachable { .. }) => {
            eprintln!("error: {e}");
            return Ok(Exit::MailPending);
        }
        Err(e) => return Err(e.into()),
    };
    let scan = push::scan_pays(total, store.directory_account_count()?);
    let planned = push::plan_changes(s, &mut conns, rows, scan, None)
        .map_err(|h| anyhow::anyhow!(h.to_string()))?;
    for c in conns {
        c.close();
    }
    let mut out = std::io::stdout().lock();
    let mut changes = 0;
    for p in &planned {
        if let Some(c) = p.change(s) {
            out.write_all(c.ldif().as_bytes())?;
            changes += 1;
        }
    }
    eprintln!(
        "dry run: {changes} change(s) for {total} pending row(s); {} already as desired; nothing written",
        total - changes
    );
    Ok(Exit::Done)
}

fn diff(store: &mut Store, s: &DirectorySettings, a: &DiffArgs) -> anyhow::Result<Exit> {
    use crate::directory::reconcile::Finding;
    let clock = std::time::Instant::now();
    let d = match reconcile::compare(store, s) {
        Ok(d) => d,
        Err(e @ DirectoryError::Unreachable { .. }) => {
            eprintln!("error: {e}");
            return Ok(Exit::MailPending);
        }
        Err(e) => return Err(e.into()),
    };
    let mut lines = Vec::new();
    for r in &d.rows {
        let what = format!("{} {}", r.finding.as_str(), r.finding.label_ja());
        match &r.change {
            Some(c) => lines.extend(c.lines(&what, r.ecs_id.as_deref().unwrap_or_default())),
            None => lines.push(crate::report::directory::Line {
                what,
                ecs_id: String::new(),
                dn: r.dn.clone(),
                attribute: String::new(),
                before: String::new(),
                after: String::new(),
            }),
        }
    }
    let summary = format!(
        "entries {}, accounts {}: drift {}, missing {}, orphans {} (orphans are never deleted)",
        d.entries,
        d.accounts,
        d.count(Finding::Drift),
        d.count(Finding::Missing),
        d.count(Finding::Orphan)
    );
    let html = crate::report::directory::write(
        &a.out,
        "directory-diff",
        "ディレクトリの差分 / directory diff",
        &summary,
        &lines,
    )?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{summary} in {} ms", clock.elapsed().as_millis())?;
    for r in d.rows.iter().take(20) {
        writeln!(out, "  {} {}", r.finding.as_str(), r.dn)?;
    }
    if d.rows.len() > 20 {
        writeln!(out, "  ... and {} more (see the report)", d.rows.len() - 20)?;
    }
    writeln!(out, "report: {}", html.display())?;
    if a.fix {
        let fixes: Vec<&crate::directory::Desired> = d.fixes.iter().collect();
        let n = store.directory_requeue(&fixes)?;
        writeln!(
            out,
            "fix: {n} correction(s) queued for the next push (`regsync directory push`); orphans untouched"
        )?;
    }
    Ok(Exit::Done)
}
