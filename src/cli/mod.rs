//! The command line: one module per subcommand, each with an `Args` struct whose doc comments
//! become `--help` and a `run` function. [`main`] dispatches and maps outcomes to exit codes.

mod accounts;
mod apply;
mod check;
mod help;
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
#[command(name = "regsync", version, about, after_help = MAIN_HELP)]
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
    #[command(after_help = help::CHECK)]
    Check(check::Args),
    /// Import the existing account directory once; export the store as CSV or JSON
    #[command(after_help = help::ACCOUNTS)]
    Accounts(accounts::Args),
    /// Set up a store with no accounts (`--empty`), for a university that starts with none
    #[command(after_help = help::INIT)]
    Init(init::Args),
    /// Dry run: compute the plan and write plan.json, report.html, report.csv and report.xlsx; change nothing
    #[command(after_help = help::PLAN)]
    Plan(plan::Args),
    /// The nightly job: lock, read the inbox, plan, guard, apply, send mail, archive or reject inputs
    #[command(after_help = help::RUN)]
    Run(run::Args),
    /// Apply a reviewed plan.json in one transaction; write letters/ and actions.jsonl
    #[command(after_help = help::APPLY)]
    Apply(apply::Args),
    /// One person's account: state, scheduled actions, notices, full history
    #[command(after_help = help::SHOW)]
    Show(show::Args),
    /// The queue of items that need a person: list, resolve
    #[command(after_help = help::REVIEW)]
    Review(review::Args),
    /// Send the notices waiting in the outbox (exit 5 when some are still pending)
    #[command(after_help = help::MAIL)]
    Mail(mail::Args),
}

/// The end of `regsync --help`: the environment and where the rest is written down.
const MAIN_HELP: &str = "\
Environment:
  REGSYNC_LOG  diagnostics on stderr, off by default: `REGSYNC_LOG=info` shows the phases of a
               plan with their times and each notice sent or not sent (no personal data beyond
               ECS-IDs, no secrets); `debug` shows more. Colours only on a terminal.

Examples:
  regsync accounts import directory.csv     # once, before the first night
  regsync plan --as-of 2026-04-02           # dry run on the inbox: reports in plan/
  regsync run                               # the nightly job (cron or the systemd timer)

Exit codes and guarantees: docs/contract.md. Each command's --help has its own example.";

pub fn main() -> ExitCode {
    // Diagnostics for operators, off unless asked for: `REGSYNC_LOG=info` shows the phases of a
    // plan with their times (no personal data, no secrets).
    // Colour codes only on a terminal: cron's mail and a log file get plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("REGSYNC_LOG"))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
        Command::Plan(_) | Command::Run(_) | Command::Apply(_) | Command::Mail(_)
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
    };
    match result {
        Ok(exit) => exit.into(),
        // The reader of standard output went away (`accounts export | head`): it asked for no
        // more, so that is the end, quietly.
        Err(e) if is_broken_pipe(&e) => Exit::Done.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Failed.into()
        }
    }
}

/// Whether `e` is, or was caused by, writing to a pipe whose reader has closed it.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        let io = c.downcast_ref::<std::io::Error>().map(std::io::Error::kind);
        // serde_json and csv wrap the write's error without naming it as their source.
        let json = c
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind);
        let csv = c.downcast_ref::<csv::Error>().and_then(|e| match e.kind() {
            csv::ErrorKind::Io(io) => Some(io.kind()),
            _ => None,
        });
        [io, json, csv].contains(&Some(BrokenPipe))
    })
}
