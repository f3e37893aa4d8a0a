//! The command line: one module per subcommand, each with an `Args` struct whose doc comments
//! become `--help` and a `run` function. [`main`] dispatches and maps outcomes to exit codes.

mod accounts;
mod apply;
mod check;
mod directory;
mod init;
mod mail;
mod plan;
mod review;
mod run;
mod show;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes of the product contract (docs/contract.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Done = 0,
    Failed = 1,
    Usage = 2,
    Rejected = 3,
    Refused = 4,
    MailPending = 5,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Keeps the university's student accounts (ECS-ID + KUMOI) in step with the student registry.
#[derive(Debug, Parser)]
#[command(name = "regsync", version, about)]
pub struct Cli {
    /// Configuration file (default: `./regsync.toml` when it exists, else built-in defaults)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate input files against the mapping profiles; change nothing
    Check(check::Args),
    /// Import the existing account directory once; export the store as CSV or JSON
    Accounts(accounts::Args),
    /// Set up a store with no accounts (`--empty`), for a university that starts with none
    Init(init::Args),
    /// Dry run: compute the plan and write plan.json, report.html and report.csv; change nothing
    Plan(plan::Args),
    /// The nightly job: lock, read the inbox, plan, guard, apply, send mail, archive or reject inputs
    Run(run::Args),
    /// Apply a reviewed plan.json in one transaction; write letters/ and actions.jsonl
    Apply(apply::Args),
    /// One person's account: state, scheduled actions, notices, full history
    Show(show::Args),
    /// The queue of items that need a person: list, resolve
    Review(review::Args),
    /// Send the notices waiting in the outbox (exit 5 when some are still pending)
    Mail(mail::Args),
    /// The LDAP directory: push the pending changes, or compare it with the store
    Directory(directory::Args),
}

pub fn main() -> ExitCode {
    // Diagnostics for operators, off unless asked for: `REGSYNC_LOG=info` shows the phases of a
    // plan with their times (no personal data, no secrets).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("REGSYNC_LOG"))
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Done.into()
            };
        }
    };
    let settings = match crate::config::Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage.into();
        }
    };
    // Before any file is made: the group that may read them.
    crate::private::set_group(settings.group);
    let needs_store = matches!(
        cli.command,
        Command::Plan(_)
            | Command::Run(_)
            | Command::Apply(_)
            | Command::Mail(_)
            | Command::Directory(_)
    );
    if needs_store {
        match init::refuse_unset_store(&settings) {
            Ok(None) => {}
            Ok(Some(exit)) => return exit.into(),
            Err(e) => {
                eprintln!("error: {e:#}");
                return Exit::Failed.into();
            }
        }
    }
    let result = match cli.command {
        Command::Init(args) => init::run(&settings, args),
        Command::Check(args) => check::run(&settings, args),
        Command::Accounts(args) => accounts::run(&settings, args),
        Command::Plan(args) => plan::run(&settings, args),
        Command::Run(args) => run::run(&settings, args),
        Command::Apply(args) => apply::run(&settings, args),
        Command::Show(args) => show::run(&settings, args),
        Command::Review(args) => review::run(&settings, args),
        Command::Mail(args) => mail::run(&settings, args),
        Command::Directory(args) => directory::run(&settings, args),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Failed.into()
        }
    }
}
