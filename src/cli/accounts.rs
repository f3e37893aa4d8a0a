//! `regsync accounts import FILE` and `regsync accounts export`: the one-time load of the
//! account directory that exists before regsync, and a dump of the store.
//!
//! The directory format and its reader are in [`crate::ingest::accounts`]: a file with any
//! error imports nothing, and every problem is printed located as `FILE:ROW:COLUMN(header)`.
//! The export writes the same format (UTF-8 with BOM, CRLF), so an export imports into a fresh
//! store unchanged, or JSON (fields described in `docs/accounts-json.md`).

use std::io::Write;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::{Serialize, Serializer as _};

use crate::cli::Exit;
use crate::config::Settings;
use crate::digest::sha256_hex;
use crate::domain::account::{Account, Role, Snapshot, State, StopReason};
use crate::domain::model::{PersonId, Status, StudentNo};
use crate::ingest::accounts::{HEADER, parse};
use crate::ingest::diag::{Diagnostic, Location};
use crate::store::{FileRecord, IdFormat, Store};

/// How many diagnostics are printed before the rest are only counted (as `check` does).
const SHOWN: usize = 50;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AccountsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AccountsCommand {
    /// Load the existing account directory (CSV) into the store; nothing is imported when any
    /// row is wrong
    #[command(after_help = super::help::IMPORT)]
    Import(ImportArgs),
    /// Write every account in the store, as CSV (the import format) or JSON
    #[command(after_help = super::help::EXPORT)]
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The account directory: CSV, UTF-8 (with or without BOM) or CP932, header
    /// `ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限`,
    /// optionally followed by `身分`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The import format: UTF-8 with BOM, CRLF
    Csv,
    /// An array of objects (see docs/accounts-json.md)
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    /// Write to FILE instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    match args.command {
        AccountsCommand::Import(a) => import(settings, &a),
        AccountsCommand::Export(a) => export(settings, &a),
    }
}

/// A spinner on stderr with the step under way and the time taken, only on a terminal: cron,
/// a pipe or a log file get nothing from it.
fn progress() -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn import(settings: &Settings, args: &ImportArgs) -> anyhow::Result<Exit> {
    let path = &args.file;
    let shown = path.display().to_string();
    let bar = progress();
    bar.set_message(format!("読み込み中 / reading {shown}"));
    let exit = import_with(settings, path, &shown, &bar);
    bar.finish_and_clear();
    exit
}

fn import_with(
    settings: &Settings,
    path: &std::path::Path,
    shown: &str,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Exit> {
    let bytes = match fs_err::read(path) {
        Ok(b) => b,
        Err(e) => {
            let d = Diagnostic::error(
                Location::File,
                format!("ファイルを読めません（{e}）"),
                format!("cannot read the file: {e}"),
            );
            bar.finish_and_clear();
            print_rejected(shown, &[d])?;
            return Ok(Exit::Rejected);
        }
    };
    // What is in the store already, to refuse a second account for the same ECS-ID, KUMOI or
    // student number. A store that does not exist yet is not created for a rejected file.
    let existing = if settings.store_path.exists() {
        Store::open(&settings.store_path)?.snapshot()?
    } else {
        Snapshot::default()
    };
    let ids = IdFormat::from(&settings.policy);
    bar.set_message(format!("検査中 / checking {shown}"));
    let (accounts, diagnostics) = parse(&bytes, &existing, &ids);
    if diagnostics.iter().any(Diagnostic::is_error) {
        bar.finish_and_clear();
        print_rejected(shown, &diagnostics)?;
        return Ok(Exit::Rejected);
    }
    bar.suspend(|| -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        for d in &diagnostics {
            writeln!(out, "{}", d.render(shown, None))?;
        }
        Ok(())
    })?;
    bar.set_message(format!(
        "ストアに書き込み中 / writing {} accounts to the store",
        accounts.len()
    ));
    let mut store = Store::open(&settings.store_path)?;
    let run_id = store.begin_run(today_tokyo(), "accounts import")?;
    let sha256 = sha256_hex(&bytes);
    let name = path
        .file_name()
        .map_or_else(|| shown.to_string(), |n| n.to_string_lossy().into_owned());
    let n = store.import(
        &accounts,
        &ids,
        Some(FileRecord {
            sha256: &sha256,
            name: &name,
            kind: "accounts",
            rows: accounts.len(),
        }),
        Some(run_id),
    )?;
    let summary = format!(
        "{n} 件のアカウントを取り込みました / {n} accounts imported into {}",
        settings.store_path.display()
    );
    store.finish_run(run_id, &summary)?;
    bar.finish_and_clear();
    writeln!(std::io::stdout().lock(), "{summary}")?;
    Ok(Exit::Done)
}

fn print_rejected(shown: &str, diagnostics: &[Diagnostic]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    writeln!(out, "却下 REJECTED  {shown}  {errors} 件のエラー errors\n")?;
    for d in diagnostics.iter().take(SHOWN) {
        writeln!(out, "{}", d.render(shown, None))?;
    }
    let rest = diagnostics.len().saturating_sub(SHOWN);
    if rest > 0 {
        writeln!(out, "{shown}: ほか {rest} 件 / {rest} more not shown")?;
    }
    writeln!(
        out,
        "\n何も取り込んでいません / nothing was imported (a file with any error is set aside whole)"
    )?;
    Ok(())
}

fn export(settings: &Settings, args: &ExportArgs) -> anyhow::Result<Exit> {
    // Read-only: an export never creates or changes the store.
    let snapshot = match Store::open_read_only(&settings.store_path)? {
        Some(s) => s.snapshot()?,
        None => Snapshot::default(),
    };
    match &args.out {
        Some(p) => {
            let mut w = std::io::BufWriter::new(crate::private::create(p)?);
            write_export(&mut w, args.format, &snapshot.accounts)?;
            w.flush()?;
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            write_export(&mut w, args.format, &snapshot.accounts)?;
            w.flush()?;
        }
    }
    Ok(Exit::Done)
}

fn write_export(
    w: &mut impl Write,
    format: ExportFormat,
    accounts: &[Account],
) -> anyhow::Result<()> {
    match format {
        ExportFormat::Csv => write_csv(w, accounts),
        ExportFormat::Json => write_json(w, accounts),
    }
}

fn today_tokyo() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .date_naive()
}

/// The import format: UTF-8 with BOM (Excel opens it as UTF-8), CRLF.
fn write_csv(w: &mut impl Write, accounts: &[Account]) -> anyhow::Result<()> {
    w.write_all(b"\xEF\xBB\xBF")?;
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w);
    out.write_record(HEADER)?;
    let day = |d: Option<NaiveDate>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let mut nos = String::new();
    for a in accounts {
        nos.clear();
        for (i, n) in a.student_nos.iter().enumerate() {
            if i > 0 {
                nos.push(';');
            }
            nos.push_str(n.as_str());
        }
        // Cells Excel would read as formulas are neutralised, as in `report.csv`: names come
        // from other people's files and the file opens in Excel directly.
        let cells = [
            a.ecs_id.as_str(),
            a.person_id.as_ref().map_or("", PersonId::as_str),
            &nos,
            &a.name,
            &a.name_kana,
            &day(a.birth_date),
            &a.faculty,
            a.role.label_ja(),
            a.state.label_ja(),
            &a.kumoi,
            &day(a.activation_deadline),
            &day(a.stop_on),
            &day(a.holder_until),
        ];
        out.write_record(
            cells
                .iter()
                .map(|c| crate::formula::neutralise(c).into_owned()),
        )?;
    }
    out.flush()?;
    Ok(())
}

/// One account in the JSON export. The field names are a published interface
/// (`docs/accounts-json.md`): add fields, never rename them.
#[derive(Serialize)]
struct JsonAccount<'a> {
    ecs_id: &'a str,
    kumoi: &'a str,
    person_id: Option<&'a str>,
    student_nos: &'a [StudentNo],
    name: &'a str,
    name_kana: &'a str,
    birth_date: Option<NaiveDate>,
    faculty: &'a str,
    status: Option<Status>,
    role: Role,
    state: State,
    activation_deadline: Option<NaiveDate>,
    activation_expired: bool,
    stop_on: Option<NaiveDate>,
    stop_reason: Option<StopReason>,
    departed_on: Option<NaiveDate>,
    reminder_on: Option<NaiveDate>,
    reminder_sent: bool,
    holder_until: Option<NaiveDate>,
    expiry_notice_for: Option<NaiveDate>,
}

impl<'a> From<&'a Account> for JsonAccount<'a> {
    fn from(a: &'a Account) -> Self {
        JsonAccount {
            ecs_id: a.ecs_id.as_str(),
            kumoi: &a.kumoi,
            person_id: a.person_id.as_ref().map(PersonId::as_str),
            student_nos: &a.student_nos,
            name: &a.name,
            name_kana: &a.name_kana,
            birth_date: a.birth_date,
            faculty: &a.faculty,
            status: a.status,
            role: a.role,
            state: a.state,
            activation_deadline: a.activation_deadline,
            activation_expired: a.activation_expired,
            stop_on: a.stop_on,
            stop_reason: a.stop_reason,
            departed_on: a.departed_on,
            reminder_on: a.reminder_on,
            reminder_sent: a.reminder_sent,
            holder_until: a.holder_until,
            expiry_notice_for: a.expiry_notice_for,
        }
    }
}

/// A JSON array of [`JsonAccount`], streamed (no copy of the whole store in memory).
fn write_json(w: &mut impl Write, accounts: &[Account]) -> anyhow::Result<()> {
    let mut ser = serde_json::Serializer::pretty(&mut *w);
    ser.collect_seq(accounts.iter().map(JsonAccount::from))?;
    w.write_all(b"\n")?;
    Ok(())
}
