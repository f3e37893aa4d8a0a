//! Excel workbooks (.xlsx, .xlsm, .xlsb, .xls) through calamine: date cells, text dates, numeric
//! IDs that lost their leading zeros, formulas (their cached values) and title rows.
//!
//! The sheet named by a profile is read when the workbook has it; otherwise the first sheet.
//!
//! A workbook is hostile input: a few kilobytes can claim a used range of a billion cells or
//! expand to gigabytes. So nothing is allocated in proportion to what a file claims. A zipped
//! workbook's parts must declare sizes within [`Limits::max_uncompressed`] before calamine opens
//! it (the `zip` crate then refuses to expand a part past its declared size), and the sheet is
//! read cell by cell, keeping only the cells it holds: a cell, or a declared used range, beyond
//! [`Limits::max_rows`] or [`Limits::max_columns`] rejects the file at once, located. An `.xls`,
//! which calamine parses whole as it opens it, has its records walked first ([`biff`]). A shared
//! strings table must declare no more strings than its part can hold (calamine reserves room
//! for them all); an `.xlsb` sheet must hold nothing at which calamine would stop reading it
//! early without an error ([`xlsb`]). calamine runs under [`guarded`]: where it panics on a
//! damaged or cut-short file, the file is rejected and the night goes on.

mod biff;
#[cfg(test)]
mod fuzz_tests;
mod xlsb;

use std::io::{Cursor, Read, Seek};

use calamine::{CellErrorType, Data, Reader, Sheets, open_workbook_auto_from_rs};
use rayon::prelude::*;

use crate::ingest::Outcome;
use crate::ingest::diag::{Diagnostic, Location, column_letters};
use crate::ingest::map::{Cell, HEADER_SEARCH_ROWS, Mapped, Mapper, find_header};
use crate::ingest::profile::{Limits, Profiles};

/// One sheet row that holds a cell: its 0-based number and its cells by 0-based column.
type Row = (u32, Vec<Data>);

pub(crate) fn read(bytes: Vec<u8>, file: u32, profiles: &Profiles) -> Outcome {
    let mut out = Outcome::default();
    match guarded(|| read_sheet(bytes, profiles)) {
        Ok((sheet, rows)) => {
            out.sheet = Some(sheet);
            map_rows(&rows, file, profiles, &mut out);
        }
        Err((sheet, d)) => {
            out.sheet = sheet;
            out.diagnostics.push(d);
        }
    }
    out
}

/// A workbook's parts checked against the limits before calamine opens it.
fn check(bytes: &[u8], limits: &Limits) -> Result<(), Diagnostic> {
    if bytes.starts_with(b"PK") {
        check_zip(bytes, limits)
    } else if biff::is_compound(bytes) {
        biff::check(bytes, limits)
    } else {
        Ok(())
    }
}

/// The sheet a profile names (else the first) and its rows, once the workbook is within the
/// limits, or why they cannot be read (with the sheet's name once it is known).
fn read_sheet(
    bytes: Vec<u8>,
    profiles: &Profiles,
) -> Result<(String, Vec<Row>), (Option<String>, Diagnostic)> {
    check(&bytes, &profiles.limits).map_err(|d| (None, d))?;
    let mut book = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
        let d = Diagnostic::error(
            Location::File,
            format!("Excelファイルとして開けません（{e}）"),
            format!("cannot open as an Excel workbook: {e}"),
        );
        (None, d)
    })?;
    let names = book.sheet_names();
    let sheet = profiles
        .files
        .iter()
        .filter_map(|p| p.sheet.as_deref())
        .find(|s| names.iter().any(|n| n == s))
        .map(str::to_string)
        .or_else(|| names.first().cloned());
    let Some(sheet) = sheet else {
        let d = Diagnostic::error(
            Location::File,
            "シートがありません",
            "the workbook has no sheet",
        );
        return Err((None, d));
    };
    match sheet_rows(&mut book, &sheet, &profiles.limits) {
        Ok(rows) => Ok((sheet, rows)),
        Err(d) => Err((Some(sheet), d)),
    }
}

thread_local! {
    /// Set while [`guarded`] runs calamine on this thread: its panics are the file's error.
    static IN_READER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs the reading of a workbook (the checks, then calamine) so that a panic in it (calamine
/// indexes past the end of some damaged or cut-short workbooks) rejects the file instead of
/// ending the night. Such a panic is logged at debug level, not printed: the file's diagnostic
/// says what happened.
fn guarded<T>(
    read: impl FnOnce() -> Result<T, (Option<String>, Diagnostic)>,
) -> Result<T, (Option<String>, Diagnostic)> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_READER.get() {
                tracing::debug!(at = ?info.location(), "the workbook reader panicked");
            } else {
                previous(info);
            }
        }));
    });
    let was = IN_READER.replace(true);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    IN_READER.set(was);
    result.unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let d = Diagnostic::error(
            Location::File,
            format!(
                "Excelファイルが壊れているか、途中で切れています（読み取りが中断しました: {why}）。Excelで開いて保存し直してください"
            ),
            format!(
                "the workbook is damaged or cut short (the reader stopped: {why}); open it in Excel and save it again"
            ),
        );
        Err((None, d))
    })
}

/// Maps the rows of the sheet: finds the header among the first rows of the used range, then
/// maps every row below it, in parallel chunks. Row and column numbers are the sheet's,
/// wherever the used range starts.
fn map_rows(rows: &[Row], file: u32, profiles: &Profiles, out: &mut Outcome) {
    let row0 = rows.first().map_or(0, |r| r.0);
    let first_row_no = row0.saturating_add(1);
    // The header search looks at the first rows of the used range, blank ones included.
    let mut head = vec![Vec::new(); HEADER_SEARCH_ROWS];
    for (n, cells) in rows
        .iter()
        .take_while(|r| r.0 - row0 < HEADER_SEARCH_ROWS as u32)
    {
        head[(n - row0) as usize] = cells.iter().map(header_text).collect();
    }
    let header = match find_header(&head, first_row_no, profiles) {
        Ok(h) => h,
        Err(d) => {
            out.diagnostics.push(d);
            return;
        }
    };
    let header_row = row0 + header.index as u32;
    out.exported_on = header.exported_on;
    out.kind = Some(header.kind());
    out.header_row = Some(header_row + 1);
    let mapper = Mapper::new(&header);
    let body = &rows[rows.partition_point(|r| r.0 <= header_row)..];
    let parts: Vec<(Mapped, Vec<Diagnostic>, usize)> = body
        .par_chunks(4096)
        .map(|chunk| {
            let mut mapped = Mapped::new(header.kind());
            let mut diags = Vec::new();
            let mut n = 0;
            let mut cells: Vec<Cell<'_>> = Vec::with_capacity(32);
            for (row, r) in chunk {
                cells.clear();
                cells.extend(r.iter().map(cell));
                if mapper.map_row(file, row + 1, &cells, &mut mapped, &mut diags) {
                    n += 1;
                }
            }
            (mapped, diags, n)
        })
        .collect();
    let mut mapped = Mapped::new(header.kind());
    for (m, d, n) in parts {
        mapped.append(m);
        out.diagnostics.extend(d);
        out.rows += n;
    }
    out.mapped = Some(mapped);
}

/// The declared sizes of a zipped workbook's parts, read from its central directory without
/// expanding anything: each and all together within the limit.
fn check_zip(bytes: &[u8], limits: &Limits) -> Result<(), Diagnostic> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        // Not a zip after all: calamine says what it is not.
        return Ok(());
    };
    let mut total: u64 = 0;
    let (mut shared_strings, mut xlsb_sheets) = (Vec::new(), Vec::new());
    for i in 0..zip.len() {
        let size = match zip.by_index_raw(i) {
            Ok(part) => {
                if part
                    .name()
                    .is_ok_and(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"))
                {
                    shared_strings.push(i);
                }
                if part.name().is_ok_and(|n| xlsb::is_sheet(&n)) {
                    xlsb_sheets.push(i);
                }
                part.size()
            }
            Err(e) => {
                return Err(Diagnostic::error(
                    Location::File,
                    format!("Excelファイルとして開けません（{e}）"),
                    format!("cannot open as an Excel workbook: {e}"),
                ));
            }
        };
        total = total.saturating_add(size);
    }
    check_total(total, limits)?;
    // calamine reserves room for as many shared strings as the table declares: 4,294,967,296 in
    // a 100-byte part would ask for 100 GB and abort the process.
    for i in shared_strings {
        if let Ok(part) = zip.by_index(i) {
            check_shared_strings(part)?;
        }
    }
    // Where calamine would stop reading an `.xlsb` sheet early without a word.
    for i in xlsb_sheets {
        if let Ok(part) = zip.by_index(i) {
            xlsb::check_sheet(part, limits)?;
        }
    }
    Ok(())
}

fn check_total(total: u64, limits: &Limits) -> Result<(), Diagnostic> {
    if total > limits.max_uncompressed {
        let (mib, max) = (total >> 20, limits.max_uncompressed >> 20);
        return Err(Diagnostic::error(
            Location::File,
            format!(
                "展開すると{mib} MiBになり、上限の{max} MiBを超えています。CSVで出力してください"
            ),
            format!(
                "the workbook expands to {mib} MiB, beyond the limit of {max} MiB; export it as CSV"
            ),
        ));
    }
    Ok(())
}

/// The `uniqueCount` of a shared strings table (its first `sst` element, as calamine finds
/// it) must fit the part: each string takes at least five bytes (`<si/>`).
fn check_shared_strings(part: zip::read::ZipFile<'_, Cursor<&[u8]>>) -> Result<(), Diagnostic> {
    let size = part.size();
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(part));
    let mut buf = Vec::new();
    let declared = loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e))
                if e.local_name().as_ref() == "sst" =>
            {
                let count = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == "uniqueCount");
                break count.map(|a| a.value.to_string());
            }
            // A part that is not XML is calamine's to refuse.
            Ok(quick_xml::events::Event::Eof) | Err(_) => break None,
            Ok(_) => {}
        }
    };
    let Some(declared) = declared else {
        return Ok(());
    };
    let count = declared.trim();
    // Only digits are a count to calamine; it ignores anything else.
    let digits = !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit());
    if !digits || count.parse::<u64>().is_ok_and(|n| n <= size / 5 + 1) {
        return Ok(());
    }
    Err(Diagnostic::error(
        Location::File,
        format!(
            "共有文字列の表が{declared}個の文字列を宣言していますが、{size}バイトには収まりません。Excelで開いて保存し直してください"
        ),
        format!(
            "the shared strings table declares {declared} strings, more than its {size} bytes can hold; open the workbook in Excel and save it again"
        ),
    ))
}

/// The cells of `sheet`, row by row, sorted by row, each row as long as its last cell: only
/// the cells the sheet holds are kept, however large a used range it declares.
fn sheet_rows<RS: Read + Seek>(
    book: &mut Sheets<RS>,
    sheet: &str,
    limits: &Limits,
) -> Result<Vec<Row>, Diagnostic> {
    let unreadable = |e: &dyn std::fmt::Display| {
        Diagnostic::error(
            Location::File,
            format!("シート「{sheet}」を読めません（{e}）"),
            format!("cannot read sheet `{sheet}`: {e}"),
        )
    };
    let mut rows = Rows::new(limits);
    match book {
        Sheets::Xlsx(x) => {
            let mut cells = x
                .worksheet_cells_reader(sheet)
                .map_err(|e| unreadable(&e))?;
            let dims = cells.dimensions();
            rows.check_claim(dims.start, dims.end)?;
            while let Some(c) = cells.next_cell().map_err(|e| unreadable(&e))? {
                rows.push(c.get_position(), Data::from(c.get_value().clone()))?;
            }
        }
        Sheets::Xlsb(x) => {
            let mut cells = x
                .worksheet_cells_reader(sheet)
                .map_err(|e| unreadable(&e))?;
            let dims = cells.dimensions();
            rows.check_claim(dims.start, dims.end)?;
            while let Some(c) = cells.next_cell().map_err(|e| unreadable(&e))? {
                rows.push(c.get_position(), Data::from(c.get_value().clone()))?;
            }
        }
        // An `.xls` has every sheet parsed when it is opened, within the bounds [`biff::check`]
        // found, and an `.ods` is bounded by its parts' sizes: their ranges are checked here
        // like any sheet's.
        Sheets::Xls(_) | Sheets::Ods(_) => {
            let range = book.worksheet_range(sheet).map_err(|e| unreadable(&e))?;
            if let (Some(start), Some(end)) = (range.start(), range.end()) {
                rows.check_claim(start, end)?;
            }
            let (row0, col0) = range.start().unwrap_or((0, 0));
            for (r, c, v) in range.used_cells() {
                rows.push((row0 + r as u32, col0 + c as u32), v.clone())?;
            }
        }
    }
    Ok(rows.finish())
}

/// The rows of a sheet as its cells stream in, within the limits.
struct Rows<'l> {
    limits: &'l Limits,
    done: Vec<Row>,
    current: Option<Row>,
    /// Whether a row came after a later one (calamine streams cells in file order, which Excel
    /// keeps sorted; another writer need not).
    unsorted: bool,
}

impl<'l> Rows<'l> {
    fn new(limits: &'l Limits) -> Self {
        Rows {
            limits,
            done: Vec::new(),
            current: None,
            unsorted: false,
        }
    }

    /// A cell at (0-based) `row`, `col` beyond the limits rejects the file.
    fn check(&self, (row, col): (u32, u32)) -> Result<(), Diagnostic> {
        let (max_rows, max_cols) = (self.limits.max_rows, self.limits.max_columns);
        if row < max_rows && col < max_cols {
            return Ok(());
        }
        let (last_col, r) = (column_letters(max_cols.saturating_sub(1)), row as u64 + 1);
        Err(Diagnostic::error(
            Location::Cell {
                row: row.saturating_add(1),
                column: col,
                header: String::new(),
            },
            format!(
                "セル{}{r}は読み取りの上限（{max_rows}行、{last_col}列まで）の外にあります",
                column_letters(col)
            ),
            format!(
                "cell {}{r} is beyond the limits of {max_rows} rows and columns up to {last_col}",
                column_letters(col)
            ),
        ))
    }

    /// The used range a sheet declares must lie within the limits too: a range far larger than
    /// any export is a broken or hostile file, even when its cells are few.
    fn check_claim(&self, start: (u32, u32), end: (u32, u32)) -> Result<(), Diagnostic> {
        if self.check(end).is_ok() {
            return Ok(());
        }
        let (from, to) = (
            format!("{}{}", column_letters(start.1), start.0 as u64 + 1),
            format!("{}{}", column_letters(end.1), end.0 as u64 + 1),
        );
        let (max_rows, last_col) = (
            self.limits.max_rows,
            column_letters(self.limits.max_columns.saturating_sub(1)),
        );
        Err(Diagnostic::error(
            Location::File,
            format!(
                "シートの使用範囲 {from}:{to} が読み取りの上限（{max_rows}行、{last_col}列まで）を超えています。不要な行・列を削除して保存し直してください"
            ),
            format!(
                "the sheet declares the used range {from}:{to}, beyond the limits of {max_rows} rows and columns up to {last_col}; delete the unused rows and columns and save it again"
            ),
        ))
    }

    fn push(&mut self, pos: (u32, u32), value: Data) -> Result<(), Diagnostic> {
        if value == Data::Empty {
            return Ok(());
        }
        self.check(pos)?;
        let (row, col) = (pos.0, pos.1 as usize);
        if self.current.as_ref().is_none_or(|c| c.0 != row) {
            if let Some(done) = self.current.take() {
                self.unsorted |= done.0 > row;
                self.done.push(done);
            }
            self.current = Some((row, Vec::new()));
        }
        if let Some((_, cells)) = &mut self.current {
            if cells.len() <= col {
                // Bounded by `max_columns`.
                cells.resize(col + 1, Data::Empty);
            }
            cells[col] = value;
        }
        Ok(())
    }

    fn finish(mut self) -> Vec<Row> {
        self.done.extend(self.current.take());
        if self.unsorted {
            self.done.sort_by_key(|r| r.0);
        }
        // A row number written twice: its cells join the first row of that number.
        let mut rows: Vec<Row> = Vec::with_capacity(self.done.len());
        for (n, cells) in self.done {
            match rows.last_mut() {
                Some((last, into)) if *last == n => {
                    if into.len() < cells.len() {
                        into.resize(cells.len(), Data::Empty);
                    }
                    for (i, c) in cells.into_iter().enumerate() {
                        if c != Data::Empty {
                            into[i] = c;
                        }
                    }
                }
                _ => rows.push((n, cells)),
            }
        }
        rows
    }
}

fn header_text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// One past the serial of 9999-12-31, Excel's last date (1904 system included).
const EXCEL_LAST_SERIAL: f64 = 2_958_466.0 + 1462.0;

fn cell(d: &Data) -> Cell<'_> {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s),
        Data::Float(f) => Cell::Number(*f),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Bool(true) => Cell::Text("TRUE"),
        Data::Bool(false) => Cell::Text("FALSE"),
        // Excel's dates end at 9999-12-31 (serial 2,958,465); calamine's conversion panics on a
        // serial far beyond (chrono's duration bound), which a damaged or hostile cell can hold.
        Data::DateTime(dt) if !(-1.0..=EXCEL_LAST_SERIAL).contains(&dt.as_f64()) => {
            Cell::Number(dt.as_f64())
        }
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) => Cell::Date(t.date()),
            None => Cell::Number(dt.as_f64()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s),
        Data::Error(e) => Cell::Error(match e {
            CellErrorType::Div0 => "#DIV/0!",
            CellErrorType::NA => "#N/A",
            CellErrorType::Name => "#NAME?",
            CellErrorType::Null => "#NULL!",
            CellErrorType::Num => "#NUM!",
            CellErrorType::Ref => "#REF!",
            CellErrorType::Value => "#VALUE!",
            CellErrorType::GettingData => "#GETTING_DATA",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Data {
        Data::String(s.to_string())
    }

    #[test]
    fn rows_keep_only_held_cells_sorted_with_repeated_rows_joined() {
        let limits = Limits::default();
        let mut rows = Rows::new(&limits);
        for (pos, v) in [
            ((4, 2), text("c5")),
            ((4, 0), text("a5")),
            ((1, 1), text("b2")),
            ((4, 1), Data::Empty),
            ((1, 0), text("a2")),
            ((4, 3), text("d5")),
        ] {
            assert_eq!(rows.push(pos, v), Ok(()));
        }
        assert_eq!(
            rows.finish(),
            vec![
                (1, vec![text("a2"), text("b2")]),
                (4, vec![text("a5"), Data::Empty, text("c5"), text("d5")]),
            ]
        );
    }

    #[test]
    fn a_cell_or_a_declared_range_beyond_the_limits_is_located() {
        let limits = Limits {
            max_rows: 10,
            max_columns: 3,
            max_uncompressed: 1 << 20,
        };
        let mut rows = Rows::new(&limits);
        assert_eq!(rows.push((9, 2), text("ok")), Ok(()));
        let far = rows
            .push((10, 0), text("x"))
            .err()
            .map(|d| d.render("f.xlsx", Some("S")));
        assert_eq!(
            far.as_deref(),
            Some(
                "f.xlsx:S!A11(): エラー error: セルA11は読み取りの上限（10行、C列まで）の外にあります / cell A11 is beyond the limits of 10 rows and columns up to C"
            )
        );
        assert!(rows.push((0, 3), text("x")).is_err());
        assert_eq!(rows.check_claim((0, 0), (9, 2)), Ok(()));
        let claim = rows
            .check_claim((0, 0), (1_048_575, 16_383))
            .err()
            .map(|d| d.en);
        assert_eq!(
            claim.as_deref(),
            Some(
                "the sheet declares the used range A1:XFD1048576, beyond the limits of 10 rows and columns up to C; delete the unused rows and columns and save it again"
            )
        );
    }
}
