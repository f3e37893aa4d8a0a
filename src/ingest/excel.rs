//! Excel workbooks (.xlsx, .xlsm, .xlsb, .xls) through calamine: date cells, text dates, numeric
//! IDs that lost their leading zeros, formulas (their cached values; a formula without one is
//! an error at its cell, never an empty value) and title rows.
//!
//! The sheet named by a profile is read when the workbook has it; otherwise the first visible
//! worksheet. A number in a date column (a date that lost its format) is read in the workbook's
//! date system, 1900 or 1904, like its date cells.
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

use calamine::{
    CellErrorType, Data, Reader, SheetType, SheetVisible, Sheets, open_workbook_auto_from_rs,
};
use rayon::prelude::*;

use crate::ingest::Outcome;
use crate::ingest::diag::{Diagnostic, Location, column_letters};
use crate::ingest::map::{Cell, CellError, HEADER_SEARCH_ROWS, Mapped, Mapper, find_header};
use crate::ingest::profile::{Limits, Profiles};

/// One sheet row that holds a cell: its 0-based number and its cells by 0-based column.
type Row = (u32, Vec<Data>);

/// Cells by 0-based (row, column).
type Positions = Vec<(u32, u32)>;

pub(crate) fn read(bytes: Vec<u8>, file: u32, profiles: &Profiles) -> Outcome {
    let mut out = Outcome::default();
    match guarded(|| read_sheet(bytes, profiles)) {
        Ok(sheet) => {
            map_rows(&sheet, file, profiles, &mut out);
            out.sheet = Some(sheet.name);
        }
        Err((sheet, d)) => {
            out.sheet = sheet;
            out.diagnostics.push(d);
        }
    }
    out
}

/// Whether `bytes` begin as a workbook's do: a zip's local file header (`.xlsx`, `.xlsm`,
/// `.xlsb`) or a compound file's signature (`.xls`).
pub(crate) fn looks_like_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || biff::is_compound(bytes)
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

/// The sheet a workbook is read from.
struct Sheet {
    name: String,
    rows: Vec<Row>,
    /// The cells, sorted, that hold a formula without its result (see [`Rows::no_result`]).
    no_result: Positions,
    /// Whether the workbook counts its date serials from 1904.
    date1904: bool,
}

/// The sheet a profile names (else the first visible worksheet) and its rows, once the
/// workbook is within the limits, or why they cannot be read (with the sheet's name once it is
/// known).
fn read_sheet(bytes: Vec<u8>, profiles: &Profiles) -> Result<Sheet, (Option<String>, Diagnostic)> {
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
        .or_else(|| first_visible(book.sheets_metadata()))
        .or_else(|| names.first().cloned());
    let date1904 = match &book {
        Sheets::Xlsx(x) => x.has_1904_epoch(),
        Sheets::Xlsb(x) => x.has_1904_epoch(),
        Sheets::Xls(x) => x.has_1904_epoch(),
        Sheets::Ods(_) => false,
    };
    let Some(sheet) = sheet else {
        let d = Diagnostic::error(
            Location::File,
            "シートがありません",
            "the workbook has no sheet",
        );
        return Err((None, d));
    };
    match sheet_rows(&mut book, &sheet, &profiles.limits) {
        Ok((rows, no_result)) => Ok(Sheet {
            name: sheet,
            rows,
            no_result,
            date1904,
        }),
        Err(d) => Err((Some(sheet), d)),
    }
}

/// The first worksheet a person sees when opening the workbook: a hidden sheet (an old copy,
/// a lookup table) is never read unless a profile names it, nor is a chart sheet.
fn first_visible(sheets: &[calamine::Sheet]) -> Option<String> {
    sheets
        .iter()
        .find(|s| s.visible == SheetVisible::Visible && s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
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
fn map_rows(sheet: &Sheet, file: u32, profiles: &Profiles, out: &mut Outcome) {
    let rows = &sheet.rows;
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
    let mapper = Mapper::new(&header).with_1904_dates(sheet.date1904);
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
                mark_no_result(*row, &mut cells, &sheet.no_result);
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

/// Marks the cells of sheet row `row` that hold a formula without its result (`no_result`,
/// sorted): they are errors at the cell, never read as empty.
fn mark_no_result(row: u32, cells: &mut Vec<Cell<'_>>, no_result: &[(u32, u32)]) {
    let from = no_result.partition_point(|p| p.0 < row);
    for &(_, col) in no_result[from..].iter().take_while(|p| p.0 == row) {
        let col = col as usize;
        if cells.len() <= col {
            cells.resize(col + 1, Cell::Empty);
        }
        cells[col] = Cell::Error(CellError::NoResult);
    }
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
/// the cells the sheet holds are kept, however large a used range it declares; and the cells
/// that hold a formula without its result.
fn sheet_rows<RS: Read + Seek>(
    book: &mut Sheets<RS>,
    sheet: &str,
    limits: &Limits,
) -> Result<(Vec<Row>, Positions), Diagnostic> {
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
            // Excel saves a formula's result beside it; another writer may not.
            while let Some(c) = cells
                .next_cell_with_formula_metadata()
                .map_err(|e| unreadable(&e))?
            {
                let value = Data::from(c.value);
                if value == Data::Empty && c.formula.is_some() {
                    rows.no_result(c.pos)?;
                } else {
                    rows.push(c.pos, value)?;
                }
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
    /// The cells that hold a formula without its result.
    no_result: Positions,
}

impl<'l> Rows<'l> {
    fn new(limits: &'l Limits) -> Self {
        Rows {
            limits,
            done: Vec::new(),
            current: None,
            unsorted: false,
            no_result: Vec::new(),
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

    /// A cell holding a formula whose result the file does not hold: its row is kept (even if
    /// nothing else is in it) and the cell is remembered.
    fn no_result(&mut self, pos: (u32, u32)) -> Result<(), Diagnostic> {
        self.check(pos)?;
        self.no_result.push(pos);
        self.place(pos, Data::Empty);
        Ok(())
    }

    fn push(&mut self, pos: (u32, u32), value: Data) -> Result<(), Diagnostic> {
        if value == Data::Empty {
            return Ok(());
        }
        self.check(pos)?;
        self.place(pos, value);
        Ok(())
    }

    /// Puts `value` at `pos`, which is within the limits.
    fn place(&mut self, pos: (u32, u32), value: Data) {
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
    }

    /// The rows, and the cells that hold a formula without its result, each sorted.
    fn finish(mut self) -> (Vec<Row>, Positions) {
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
        self.no_result.sort_unstable();
        (rows, self.no_result)
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
        Data::Error(e) => Cell::Error(CellError::Value(match e {
            CellErrorType::Div0 => "#DIV/0!",
            CellErrorType::NA => "#N/A",
            CellErrorType::Name => "#NAME?",
            CellErrorType::Null => "#NULL!",
            CellErrorType::Num => "#NUM!",
            CellErrorType::Ref => "#REF!",
            CellErrorType::Value => "#VALUE!",
            CellErrorType::GettingData => "#GETTING_DATA",
        })),
    }
}

#[cfg(test)]
#[expect(
    clippy::expect_used,
    reason = "the workbooks are built by the tests themselves"
)]
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
            rows.finish().0,
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

    /// A cell of an `.xlsx` sheet: inline text, or a number (a date that lost its format).
    #[derive(Clone)]
    enum X<'a> {
        T(&'a str),
        N(f64),
        /// A formula, and its result when the writer saved one (Excel always does).
        F(&'a str, Option<f64>),
    }

    /// An `.xlsx` of `sheets` (name, `state` attribute or "", rows from A1), in the 1904 date
    /// system when `date1904`, written as the zip and XML it is.
    fn xlsx(date1904: bool, sheets: &[(&str, &str, Vec<Vec<X<'_>>>)]) -> Vec<u8> {
        use std::io::Write as _;
        let mut types = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
        );
        let mut book = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
        );
        if date1904 {
            book.push_str(r#"<workbookPr date1904="1"/>"#);
        }
        book.push_str("<sheets>");
        let mut rels = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
        );
        let mut parts = Vec::new();
        for (i, (name, state, rows)) in (1..).zip(sheets) {
            let state = if state.is_empty() {
                String::new()
            } else {
                format!(r#" state="{state}""#)
            };
            book.push_str(&format!(
                r#"<sheet name="{name}" sheetId="{i}"{state} r:id="rId{i}"/>"#
            ));
            rels.push_str(&format!(r#"<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>"#));
            types.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
            let mut xml = String::from(
                r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
            );
            for (r, cells) in (1..).zip(rows) {
                xml.push_str(&format!(r#"<row r="{r}">"#));
                for (c, cell) in (0..).zip(cells) {
                    let at = format!("{}{r}", column_letters(c));
                    xml.push_str(&match cell {
                        X::T(t) => format!(r#"<c r="{at}" t="inlineStr"><is><t>{t}</t></is></c>"#),
                        X::N(n) => format!(r#"<c r="{at}"><v>{n}</v></c>"#),
                        X::F(f, None) => format!(r#"<c r="{at}"><f>{f}</f></c>"#),
                        X::F(f, Some(v)) => format!(r#"<c r="{at}"><f>{f}</f><v>{v}</v></c>"#),
                    });
                }
                xml.push_str("</row>");
            }
            xml.push_str("</sheetData></worksheet>");
            parts.push((format!("xl/worksheets/sheet{i}.xml"), xml));
        }
        book.push_str("</sheets></workbook>");
        rels.push_str("</Relationships>");
        types.push_str("</Types>");
        parts.extend([
            ("[Content_Types].xml".to_string(), types),
            ("_rels/.rels".to_string(), r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string()),
            ("xl/workbook.xml".to_string(), book),
            ("xl/_rels/workbook.xml.rels".to_string(), rels),
        ]);
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, text) in parts {
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .expect("a part");
            zip.write_all(text.as_bytes()).expect("a part's bytes");
        }
        zip.finish().expect("the zip").into_inner()
    }

    /// A registrar row of student `no` in faculty `faculty`: its birth and admission dates are
    /// numbers in the workbook's date system (`birth`, `admitted`).
    fn student<'a>(no: &'a str, faculty: &'a str, birth: f64, admitted: f64) -> Vec<X<'a>> {
        vec![
            X::T(no),
            X::T(""),
            X::T(""),
            X::T("試験　太郎"),
            X::T("シケン　タロウ"),
            X::N(birth),
            X::T(faculty),
            X::T("学部生"),
            X::T("在学"),
            X::N(admitted),
        ]
    }

    fn registrar_rows(out: Outcome) -> Vec<crate::domain::model::RegistrarRow> {
        match out.mapped.map(|m| m.into_records()) {
            Some(crate::domain::model::Records::Registrar(rows)) => rows,
            _ => Vec::new(),
        }
    }

    fn header() -> Vec<X<'static>> {
        crate::testing::REGISTRAR_HEADER
            .map(X::T)
            .into_iter()
            .collect()
    }

    #[test]
    fn a_date_that_lost_its_format_is_read_in_the_workbooks_date_system() {
        let profiles = Profiles::builtin().expect("the built-in profiles");
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
        // 2007-05-10 and 2026-04-01: 1900 serials, and the same days counted from 1904.
        for (date1904, birth, admitted) in [(false, 39212.0, 46113.0), (true, 37750.0, 44651.0)] {
            let rows = vec![header(), student("01260001", "文学部", birth, admitted)];
            let out = read(xlsx(date1904, &[("在籍者", "", rows)]), 0, &profiles);
            assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
            let rows = registrar_rows(out);
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].birth_date, day(2007, 5, 10), "1904: {date1904}");
            assert_eq!(rows[0].admission_date, day(2026, 4, 1), "1904: {date1904}");
        }
    }

    #[test]
    fn without_the_profiles_sheet_the_first_visible_worksheet_is_read() {
        let profiles = Profiles::builtin().expect("the built-in profiles");
        let old = vec![header(), student("01250001", "旧学部", 39212.0, 45748.0)];
        let current = vec![
            header(),
            student("01260001", "文学部", 39212.0, 46113.0),
            student("01260002", "文学部", 39212.0, 46113.0),
        ];
        for hidden in ["hidden", "veryHidden"] {
            let book = xlsx(
                false,
                &[
                    ("前回", hidden, old.clone()),
                    ("在籍者一覧", "", current.clone()),
                ],
            );
            let out = read(book, 0, &profiles);
            assert_eq!(out.sheet.as_deref(), Some("在籍者一覧"), "{hidden}");
            let rows = registrar_rows(out);
            assert_eq!(rows.len(), 2, "{hidden}");
            assert_eq!(rows[0].faculty.as_str(), "文学部");
        }
        // A visible first sheet is still the one read.
        let book = xlsx(false, &[("前回", "", old), ("在籍者一覧", "", current)]);
        assert_eq!(read(book, 0, &profiles).sheet.as_deref(), Some("前回"));
    }

    /// A formula whose result the file does not hold (a workbook not saved by Excel) is an
    /// error at its cell, never an empty value: an optional date is not silently dropped, and
    /// a required name is not called empty. With its result saved, the result is read.
    #[test]
    fn a_formula_without_its_result_is_an_error_at_the_cell() {
        let profiles = Profiles::builtin().expect("the built-in profiles");
        let mut unsaved = student("01260001", "文学部", 39212.0, 0.0);
        unsaved[9] = X::F("DATE(2026,4,1)", None);
        let mut unsaved_name = student("01260002", "文学部", 39212.0, 46113.0);
        unsaved_name[3] = X::F("\"試験\"&amp;\"花子\"", None);
        let mut saved = student("01260003", "文学部", 39212.0, 0.0);
        saved[9] = X::F("DATE(2026,4,1)", Some(46113.0));
        let rows = vec![header(), unsaved, unsaved_name, saved];
        let out = read(xlsx(false, &[("在籍者", "", rows)]), 0, &profiles);
        let errors: Vec<String> = (out.diagnostics.iter())
            .map(|d| d.render("f.xlsx", out.sheet.as_deref()))
            .collect();
        let said = "the cell holds a formula whose result the file does not hold";
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("f.xlsx:在籍者!J2(入学年月日): ") && errors[0].contains(said),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("f.xlsx:在籍者!D3(氏名): ") && errors[1].contains(said),
            "{errors:?}"
        );
        let rows = registrar_rows(out);
        assert_eq!(rows.len(), 1, "the rows with an error are held out");
        assert_eq!(
            rows[0].admission_date,
            chrono::NaiveDate::from_ymd_opt(2026, 4, 1)
        );
    }
}
