//! The Excel copies of the lists people open in Excel: `report.xlsx` (the report's action list)
//! and the letter lists of `letters/`. Excel reads a CSV's `09268011` as the number 9268011;
//! here every identifier is a text cell in a column formatted as text (`@`), so its zeros stay
//! and a value typed into the column stays text too. The header row is frozen and has filters,
//! dates are date cells (`yyyy-mm-dd`) so the filters sort and pick them as dates, and columns
//! have widths that fit their usual contents. A cell is never a formula: text that starts with
//! `=` is text, so nothing needs neutralising as in the CSV files.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatBorder, Workbook, XlsxError};

use crate::domain::plan::{Action, ActionKind, Plan};

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

/// The columns of `report.xlsx`.
const COLUMNS: [Column; 19] = [
    col("種別 action", 16.0, Kind::General),
    col("規則 rule", 7.0, Kind::General),
    col("ECS-ID", 11.0, Kind::Text),
    col("学籍番号 student_no", 13.0, Kind::Text),
    col("個人番号 person_id", 13.0, Kind::Text),
    col("氏名 name", 16.0, Kind::General),
    col("氏名カナ name_kana", 18.0, Kind::General),
    col("所属 faculty", 18.0, Kind::General),
    col("身分 status", 10.0, Kind::General),
    col("入力ファイル file", 26.0, Kind::General),
    col("行 row", 6.0, Kind::General),
    col("日付の意味 date is", 12.0, Kind::General),
    col("日付 date", 11.0, Kind::Date),
    col("通知日 notice_on", 11.0, Kind::Date),
    col("停止日 stop_on", 11.0, Kind::Date),
    col("停止理由 stop_reason", 14.0, Kind::General),
    col("配付 delivery", 12.0, Kind::General),
    col("変更 changes", 30.0, Kind::General),
    col("理由 reason", 60.0, Kind::General),
];

const fn col(header: &'static str, width: f64, kind: Kind) -> Column {
    Column {
        header,
        width,
        kind,
    }
}

/// Writes `report.xlsx` into `w`: one row per action, in plan order, as `report.csv`; its
/// temporary file in `tempdir`. `plan` is let go once its rows are in the workbook: while this
/// thread compresses the workbook, another may free it (see [`super::write_all`]).
pub(crate) fn write_xlsx<W: Write>(
    plan: impl std::ops::Deref<Target = Plan> + Send,
    tempdir: &Path,
    w: &mut W,
) -> io::Result<()> {
    let book = actions(&plan, tempdir);
    let (bytes, ()) = rayon::join(
        || {
            book.and_then(|mut b| b.save_to_buffer())
                .map_err(xlsx_error)
        },
        move || drop(plan),
    );
    w.write_all(&bytes?)
}

/// `report.xlsx` as bytes (its temporary file in `tempdir`).
pub fn report_xlsx(plan: &Plan, tempdir: &Path) -> io::Result<Vec<u8>> {
    actions(plan, tempdir)
        .and_then(|mut b| b.save_to_buffer())
        .map_err(xlsx_error)
}

/// The workbook of `report.xlsx`, filled.
fn actions(plan: &Plan, tempdir: &Path) -> Result<Workbook, XlsxError> {
    // The action column's few labels, made once, not once per row.
    let kinds: Vec<String> = ActionKind::ALL
        .iter()
        .map(|k| format!("{} {}", k.label_ja(), k.as_str()))
        .collect();
    let rows = plan
        .actions
        .iter()
        .map(|a| cells(a, &kinds[a.kind as usize]));
    workbook("actions", &COLUMNS, rows, tempdir)
}

fn xlsx_error(e: XlsxError) -> io::Error {
    io::Error::other(format!("report.xlsx: {e}"))
}

fn cells<'a>(a: &'a Action, kind: &'a str) -> Vec<Cell<'a>> {
    let (date_ja, date_en) = super::view::effective_label(a);
    let mut changes = String::new();
    for (k, c) in a.changes.iter().enumerate() {
        if k > 0 {
            changes.push('\n');
        }
        // Writing into a String cannot fail.
        let _ = write!(changes, "{}: {} → {}", c.field, c.from, c.to);
    }
    let reason = match a.review {
        Some(r) => Cell::Owned(format!("[{}] {}", r.label_ja(), a.reason_ja)),
        None => Cell::Text(&a.reason_ja),
    };
    vec![
        Cell::Text(kind),
        Cell::Text(a.rule.as_str()),
        Cell::Text(a.ecs_id.as_ref().map_or("", |id| id.as_str())),
        Cell::Text(a.person.student_no.as_ref().map_or("", |n| n.as_str())),
        Cell::Text(a.person.person_id.as_ref().map_or("", |n| n.as_str())),
        Cell::Text(&a.person.name),
        Cell::Text(&a.person.name_kana),
        Cell::Text(&a.person.faculty),
        Cell::Text(a.person.status.map_or("", |s| s.label_ja())),
        Cell::Text(a.source.as_ref().map_or("", |s| s.file.as_str())),
        match &a.source {
            Some(s) => Cell::Number(f64::from(s.row)),
            None => Cell::Text(""),
        },
        if a.effective_on.is_some() {
            Cell::Owned(format!("{date_ja} {date_en}"))
        } else {
            Cell::Text("")
        },
        Cell::Date(a.effective_on),
        Cell::Date(a.notice_on),
        Cell::Date(a.stop_on),
        Cell::Text(a.stop_reason.map_or("", |r| r.label_ja())),
        Cell::Text(a.delivery.map_or("", |d| d.label_ja())),
        Cell::Owned(changes),
        reason,
    ]
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use calamine::{Data, Reader, Xlsx};

    use super::*;
    use crate::report::fixture;

    #[test]
    fn identifiers_stay_text_and_dates_are_dates() {
        let mut plan = fixture::small();
        plan.actions[1].person.student_no = Some(crate::domain::model::StudentNo::new("09268011"));
        let mut bytes = Vec::new();
        write_xlsx(&plan, &std::env::temp_dir(), &mut bytes).unwrap();
        let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("actions").unwrap();
        assert_eq!(range.height(), plan.actions.len() + 1);
        assert_eq!(
            range.get_value((0, 3)),
            Some(&Data::String("学籍番号 student_no".into()))
        );
        assert_eq!(
            range.get_value((2, 3)),
            Some(&Data::String("09268011".into()))
        );
        // A name that looks like a formula is text, as it was given.
        let formula = (1..range.height() as u32)
            .find(|&r| range.get_value((r, 5)) == Some(&Data::String("=cmd|' /C calc'!A0".into())));
        assert!(formula.is_some());
        // The create's admission date is a date cell.
        assert!(matches!(range.get_value((2, 12)), Some(Data::DateTime(_))));
        assert_eq!(
            range.get_value((2, 11)),
            Some(&Data::String("入学 admitted".into()))
        );
    }
}
