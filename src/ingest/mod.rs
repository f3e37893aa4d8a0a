//! Ingest: input files → typed records, or a located reason why not.
//!
//! A file's format comes from its extension (`.csv`/`.txt`, `.xlsx`/`.xlsm`/`.xls`), its
//! encoding from its bytes ([`encoding`]), its kind from its header signature ([`map`]), and
//! the meaning of each column from the mapping profile ([`profile`]). An error in a data row's
//! cell holds that row out, with the identifiers readable in it, and the rest of the file is
//! used (policy `row_errors = "hold_rows"`, within `row_errors_max_share` of the rows); any
//! other error, or `reject_file`, rejects the file whole: its records are dropped, never partly
//! used. The account directory that
//! `accounts import` loads once has a fixed format of its own and its own reader ([`accounts`]).

pub mod accounts;
pub mod batch;
pub(crate) mod csv;
pub(crate) mod diag;
pub mod encoding;
pub(crate) mod excel;
pub(crate) mod map;
pub mod profile;
mod sift;
pub(crate) mod snapshot;

#[cfg(test)]
mod hold_tests;

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub(crate) use self::sift::Sifting;
pub use self::sift::{QuietRows, Sift, Sifted, Slot};
use crate::domain::model::{HeldRow, Kind, Records};
use crate::ingest::diag::{Diagnostic, Location};
use crate::ingest::encoding::Encoding;
use crate::ingest::map::Mapped;
use crate::ingest::profile::Profiles;

/// What a reader produced from one file's bytes.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) encoding: Option<Encoding>,
    pub(crate) sheet: Option<String>,
    pub(crate) kind: Option<Kind>,
    pub(crate) header_row: Option<u32>,
    /// The export date in the title rows (profile `exported`).
    pub(crate) exported_on: Option<chrono::NaiveDate>,
    /// Non-blank data rows read (with or without errors).
    pub(crate) rows: usize,
    pub(crate) mapped: Option<Mapped>,
    /// The registrar rows a [`Sink::Sift`] found quiet, in file order.
    pub(crate) quiet: QuietRows,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Excel,
}

/// One input file after ingest.
#[derive(Debug)]
pub struct Ingested {
    pub path: PathBuf,
    pub format: Option<Format>,
    pub encoding: Option<Encoding>,
    pub sheet: Option<String>,
    pub kind: Option<Kind>,
    /// The export date written in the file's title rows, when its profile says where.
    pub exported_on: Option<chrono::NaiveDate>,
    pub rows: usize,
    /// The typed rows; `None` when the file is rejected (empty when read with
    /// [`Sink::CountOnly`]).
    pub records: Option<Records>,
    /// The registrar rows a [`Sink::Sift`] found quiet (none when rejected).
    pub quiet: QuietRows,
    /// Rows held out for an error, with the identifiers readable in them, when the file is
    /// accepted all the same (policy `row_errors = "hold_rows"`).
    pub held: Vec<HeldRow>,
    /// Errors first (in file order), then warnings.
    pub diagnostics: Vec<Diagnostic>,
}

impl Ingested {
    pub fn accepted(&self) -> bool {
        self.records.is_some()
    }

    /// Accepted, with rows held out for an error.
    pub fn holds_rows(&self) -> bool {
        self.accepted() && self.errors().next().is_some()
    }

    /// How many data rows have errors (held out, when the file is accepted).
    pub fn rows_with_errors(&self) -> usize {
        Diagnostic::rows_held(&self.diagnostics)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
}

/// What becomes of the rows a reader maps.
#[derive(Clone, Copy, Default)]
pub enum Sink<'a> {
    /// Kept: an accepted file's [`Ingested::records`] holds every row.
    #[default]
    Keep,
    /// Mapped and checked like kept rows (same diagnostics, same row count), then dropped: an
    /// accepted file's records are empty. For `check`, which never needs a file's records.
    CountOnly,
    /// Kept, except registrar rows of CSV files that the sift finds quiet: those are dropped
    /// once mapped and checked, and only their account's slot is kept (and the row itself
    /// when the sift holds it), in [`Ingested::quiet`] (see `triage`). Workbooks are
    /// read as with `Keep`.
    Sift(&'a dyn Sift),
}

impl std::fmt::Debug for Sink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sink::Keep => "Keep",
            Sink::CountOnly => "CountOnly",
            Sink::Sift(_) => "Sift",
        })
    }
}

impl Sink<'_> {
    /// Whether mapped rows stay (all, or all but the quiet ones).
    pub(crate) fn keeps(&self) -> bool {
        !matches!(self, Sink::CountOnly)
    }
}

/// Reads one file, with the rows going to `sink`. `file` is its index in the batch, kept in
/// every record's [`RowRef`]. CSV files are streamed.
///
/// [`RowRef`]: crate::domain::model::RowRef
pub(crate) fn read_file_with(
    path: &Path,
    file: u32,
    profiles: &Profiles,
    sink: Sink<'_>,
) -> Ingested {
    let read =
        open_regular(path, true).and_then(|mut f| read_source(path, &mut f, file, profiles, sink));
    read.unwrap_or_else(|e| unreadable(path, &e))
}

/// Opens `path` for reading without blocking on a FIFO (and, unless `follow`, without
/// following a symbolic link: that fails with `ELOOP`), then checks on the opened handle that it
/// is a regular file, so what is read is what was checked.
pub(crate) fn open_regular(path: &Path, follow: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut flags = libc::O_NONBLOCK;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    if file.metadata()?.file_type().is_file() {
        Ok(file)
    } else {
        Err(std::io::Error::other(
            "通常のファイルではありません / not a regular file",
        ))
    }
}

/// Reads one file from `src`, positioned at its start; the path decides the format and names
/// the file in messages. CSV is streamed; a workbook is read whole first.
pub(crate) fn read_source<R: Read + Seek + Send>(
    path: &Path,
    src: &mut R,
    file: u32,
    profiles: &Profiles,
    sink: Sink<'_>,
) -> std::io::Result<Ingested> {
    if format_of(path) == Some(Format::Csv) {
        let mut outcome = csv::read_stream(src, file, profiles, sink, csv::Sizes::default())?;
        snapshot::reject_empty(&mut outcome, profiles);
        Ok(ingested(path, Some(Format::Csv), outcome, profiles))
    } else {
        let mut bytes = Vec::new();
        src.read_to_end(&mut bytes)?;
        Ok(read_bytes_with(path, bytes, file, profiles, sink))
    }
}

/// The result for a file that cannot be read.
pub(crate) fn unreadable(path: &Path, e: &std::io::Error) -> Ingested {
    Ingested {
        path: path.to_path_buf(),
        format: None,
        encoding: None,
        sheet: None,
        kind: None,
        exported_on: None,
        rows: 0,
        records: None,
        quiet: QuietRows::default(),
        held: Vec::new(),
        diagnostics: vec![Diagnostic::error(
            Location::File,
            format!("ファイルを読めません（{e}）"),
            format!("cannot read the file: {e}"),
        )],
    }
}

/// The format a file's extension names; `None` for extensions that are not read.
fn format_of(path: &Path) -> Option<Format> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("xlsx" | "xlsm" | "xls" | "xlsb") => Some(Format::Excel),
        Some("csv" | "txt" | "tsv") | None => Some(Format::Csv),
        Some(_) => None,
    }
}

/// Reads one file's bytes; the path only decides the format and names the file in messages.
pub fn read_bytes(path: &Path, bytes: Vec<u8>, file: u32, profiles: &Profiles) -> Ingested {
    read_bytes_with(path, bytes, file, profiles, Sink::Keep)
}

/// [`read_bytes`], with the rows going to `sink`.
fn read_bytes_with(
    path: &Path,
    bytes: Vec<u8>,
    file: u32,
    profiles: &Profiles,
    sink: Sink<'_>,
) -> Ingested {
    let format = format_of(path);
    let mut outcome = match format {
        Some(Format::Excel) => excel::read(bytes, file, profiles),
        Some(Format::Csv) => csv::read(&bytes, file, profiles, sink),
        None => {
            let other = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            Outcome {
                diagnostics: vec![Diagnostic::error(
                    Location::File,
                    format!(
                        "「.{other}」のファイルは読めません。CSV（.csv）かExcel（.xlsx, .xls）で出力してください"
                    ),
                    format!(
                        "`.{other}` files are not read; export as CSV (.csv) or Excel (.xlsx, .xls)"
                    ),
                )],
                ..Outcome::default()
            }
        }
    };
    snapshot::reject_empty(&mut outcome, profiles);
    ingested(path, format, outcome, profiles)
}

fn ingested(
    path: &Path,
    format: Option<Format>,
    outcome: Outcome,
    profiles: &Profiles,
) -> Ingested {
    let mut diagnostics = outcome.diagnostics;
    let rejected = rejects(&mut diagnostics, outcome.rows, profiles);
    // Errors first, each group in file order, so the first line printed is the first problem.
    diagnostics.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.location.cmp(&b.location))
    });
    let (records, held) = match (rejected, outcome.mapped) {
        (false, Some(m)) => {
            let (records, held) = m.into_parts();
            (Some(records), held)
        }
        _ => (None, Vec::new()),
    };
    let quiet = if records.is_some() {
        outcome.quiet
    } else {
        QuietRows::default()
    };
    Ingested {
        path: path.to_path_buf(),
        format,
        encoding: outcome.encoding,
        sheet: outcome.sheet,
        kind: outcome.kind,
        exported_on: outcome.exported_on,
        rows: outcome.rows,
        records,
        quiet,
        held,
        diagnostics,
    }
}

/// Whether a file with these diagnostics is rejected whole: an error outside a data row, or
/// errors in more rows than the policy holds out. The second case gets its own message, so the
/// sender reads why the whole file was refused.
fn rejects(diagnostics: &mut Vec<Diagnostic>, rows: usize, profiles: &Profiles) -> bool {
    if diagnostics.iter().any(Diagnostic::rejects_file) {
        return true;
    }
    let held = Diagnostic::rows_held(diagnostics);
    if held == 0 || profiles.rows.holds(held, rows) {
        return false;
    }
    if profiles.rows.hold {
        let share = profiles.rows.max_share * 100.0;
        diagnostics.push(Diagnostic::error(
            Location::File,
            format!(
                "{} 行中 {} 行に誤りがあり、保留できる割合（{share}%）を超えるため、ファイル全体を受け付けません",
                rows,
                held
            ),
            format!(
                "{} of {} rows have errors, more than the share that may be held out ({share}%): the whole file is rejected",
                held,
                rows
            ),
        ));
    }
    true
}
