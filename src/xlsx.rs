//! Workbooks of one sheet, for the lists people open in Excel: `report.xlsx` (the report's
//! action list, `report::xlsx`) and the letter lists of `letters/` (`apply::letters`). Excel
//! reads a CSV's `09268011` as the number 9268011; here every identifier is a text cell in a
//! column formatted as text (`@`), so its zeros stay and a value typed into the column stays
//! text too. The header row is frozen and has filters, dates are date cells (`yyyy-mm-dd`) so
//! the filters sort and pick them as dates, and columns have widths that fit their usual
//! contents. A cell is never a formula: text that starts with `=` is text, so nothing needs
//! neutralising as in the CSV files.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatBorder, Workbook, XlsxError};

/// A column: its header, its width in characters, and what its cells are shown as.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub header: &'static str,
    pub width: f64,
    pub kind: Kind,
}

/// How a column's cells are shown: its format, which the cells written into it take (Excel's
/// rule for a cell without a format of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    General,
    /// Identifiers: text (`@`), so their leading zeros stay.
    Text,
    /// Dates (`yyyy-mm-dd`).
    Date,
}

/// One cell of a row.
#[derive(Debug, Clone)]
pub(crate) enum Cell<'a> {
    Text(&'a str),
    Owned(String),
    Number(f64),
    Date(Option<NaiveDate>),
}

/// A workbook of one sheet named `sheet`: `columns` as a frozen, filtered header row, then
/// `rows`; [`Workbook::save_to_buffer`] gives the bytes of its `.xlsx` file.
///
/// The sheet is written row by row into an unnamed temporary file in `tempdir` (rust_xlsxwriter's
/// constant-memory mode: strings inline, no table of them in memory), and compressed at the
/// fastest level: a night's list of actions in a third of the time of the default mode, for a
/// file half again as large.
pub(crate) fn workbook<'a>(
    sheet: &str,
    columns: &[Column],
    rows: impl Iterator<Item = Vec<Cell<'a>>>,
    tempdir: &Path,
) -> Result<Workbook, XlsxError> {
    let mut book = Workbook::new();
    book.set_tempdir(tempdir)?;
    book.set_zip_compression_level(1);
    let ws = book.add_worksheet_with_constant_memory()?;
    ws.set_name(sheet)?;
    let header = Format::new()
        .set_bold()
        .set_background_color(0xF2F2F2)
        .set_border_bottom(FormatBorder::Thin);
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, col) in (0u16..).zip(columns) {
        ws.set_column_width(c, col.width)?;
        match col.kind {
            Kind::General => {}
            Kind::Text => {
                ws.set_column_format(c, &text)?;
            }
            Kind::Date => {
                ws.set_column_format(c, &date)?;
            }
        }
        ws.write_string_with_format(0, c, col.header, &header)?;
    }
    // The cells take their column's format; only a date outside a date column names its own
    // (a format named per cell is looked up by hashing it, a fifth of the sheet's time).
    let mut last_row = 0u32;
    for (r, cells) in (1u32..).zip(rows) {
        last_row = r;
        for (c, cell) in (0u16..).zip(cells) {
            match cell {
                Cell::Text("") | Cell::Date(None) => {}
                Cell::Owned(s) if s.is_empty() => {}
                Cell::Text(s) => {
                    ws.write_string(r, c, s)?;
                }
                Cell::Owned(s) => {
                    ws.write_string(r, c, s)?;
                }
                Cell::Number(n) => {
                    ws.write_number(r, c, n)?;
                }
                Cell::Date(Some(d)) => {
                    let day = excel_date(d)?;
                    match columns.get(usize::from(c)).map(|col| col.kind) {
                        Some(Kind::Date) => ws.write_datetime(r, c, &day)?,
                        _ => ws.write_date_with_format(r, c, &day, &date)?,
                    };
                }
            }
        }
    }
    let last_col = u16::try_from(columns.len().saturating_sub(1)).unwrap_or(0);
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, last_row, last_col)?;
    Ok(book)
}

/// A date as Excel holds it; a year Excel cannot show (before 1900) is an error, never a
/// wrong date.
fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    let year = u16::try_from(d.year()).map_err(|_| XlsxError::DateTimeRangeError(d.to_string()))?;
    // Month and day always fit a byte.
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8)
}

/// A column of `header`, `width` characters wide, its cells shown as `kind`.
pub(crate) const fn col(header: &'static str, width: f64, kind: Kind) -> Column {
    Column {
        header,
        width,
        kind,
    }
}
