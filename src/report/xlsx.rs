//! `report.xlsx`: the report's action list as a workbook (see [`crate::xlsx`]), one row per
//! action in plan order, the columns of `report.csv`.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use rust_xlsxwriter::{Workbook, XlsxError};

use crate::domain::plan::{Action, ActionKind, Plan};
use crate::xlsx::{Cell, Column, Kind, col, workbook};

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
