//! `report.csv`: one row per action, in plan order (review items first), for Excel.
//!
//! Excel guesses the encoding of a CSV it opens by double-click, and only a UTF-8 byte order
//! mark makes it read Japanese correctly, so the file starts with one. Names and reasons come
//! from input files other people made; a cell Excel would read as a formula (starting with `=`,
//! `+`, `-`, `@`, a tab or a carriage return, also after leading spaces) is neutralised with a
//! leading `'`, as OWASP's CSV-injection guidance recommends.

use std::fmt::Write as _;
use std::io::Write;

use csv::{ByteRecord, QuoteStyle, Terminator, WriterBuilder};

use crate::domain::plan::{Action, Plan};
use crate::report::{delivery_label, review_label, stop_reason_label};

const BOM: &[u8] = b"\xEF\xBB\xBF";

const HEADER: [&str; 18] = [
    "種別 action",
    "規則 rule",
    "ECS-ID",
    "学籍番号 student_no",
    "氏名 name",
    "氏名カナ name_kana",
    "所属 faculty",
    "身分 status",
    "入力ファイル file",
    "行 row",
    "異動日 effective_on",
    "通知日 notice_on",
    "停止日 stop_on",
    "停止理由 stop_reason",
    "配付 delivery",
    "変更 changes",
    "要確認理由 review",
    "理由 reason",
];

/// `report.csv` as bytes: UTF-8 with BOM, CRLF line ends, one row per action.
pub fn report_csv(plan: &Plan) -> Vec<u8> {
    let mut out = Vec::with_capacity(512 + plan.actions.len() * 256);
    // Writing into a Vec cannot fail; should it ever, the bytes written so far are returned.
    let _ = write_csv(plan, &mut out);
    out
}

/// Streams `report.csv` into `w`, one row at a time, reusing one record buffer.
pub(crate) fn write_csv<W: Write>(plan: &Plan, mut w: W) -> csv::Result<()> {
    w.write_all(BOM)?;
    let mut wtr = WriterBuilder::new()
        .quote_style(QuoteStyle::Necessary)
        .terminator(Terminator::CRLF)
        .from_writer(w);
    wtr.write_record(HEADER)?;
    let mut record = ByteRecord::with_capacity(512, HEADER.len());
    let mut cell = String::with_capacity(256);
    for action in &plan.actions {
        record.clear();
        fill_record(action, &mut record, &mut cell);
        wtr.write_byte_record(&record)?;
    }
    wtr.flush()?;
    Ok(())
}

fn fill_record(a: &Action, record: &mut ByteRecord, buf: &mut String) {
    let mut field = |fill: &dyn Fn(&mut String)| {
        buf.clear();
        fill(buf);
        push_neutralised(record, buf);
    };
    field(&|c| {
        let _ = write!(c, "{} ({})", a.kind.label_ja(), a.kind.as_str());
    });
    field(&|c| {
        let _ = write!(c, "{:?}", a.rule);
    });
    field(&|c| c.push_str(a.ecs_id.as_ref().map_or("", |id| id.as_str())));
    field(&|c| c.push_str(a.person.student_no.as_ref().map_or("", |n| n.as_str())));
    field(&|c| c.push_str(&a.person.name));
    field(&|c| c.push_str(&a.person.name_kana));
    field(&|c| c.push_str(&a.person.faculty));
    field(&|c| c.push_str(a.person.status.map_or("", |s| s.label_ja())));
    field(&|c| c.push_str(a.source.as_ref().map_or("", |s| s.file.as_str())));
    field(&|c| {
        if let Some(s) = &a.source {
            let _ = write!(c, "{}", s.row);
        }
    });
    for date in [a.effective_on, a.notice_on, a.stop_on] {
        field(&|c| {
            if let Some(d) = date {
                let _ = write!(c, "{d}");
            }
        });
    }
    field(&|c| {
        if let Some(r) = a.stop_reason {
            push_ja_en(c, stop_reason_label(r));
        }
    });
    field(&|c| {
        if let Some(d) = a.delivery {
            push_ja_en(c, delivery_label(d));
        }
    });
    field(&|c| {
        for (i, ch) in a.changes.iter().enumerate() {
            if i > 0 {
                c.push_str("; ");
            }
            let _ = write!(c, "{}: {} → {}", ch.field, ch.from, ch.to);
        }
    });
    field(&|c| {
        if let Some(r) = a.review {
            push_ja_en(c, review_label(r));
        }
    });
    field(&|c| {
        c.push_str(&a.reason_ja);
        if !a.reason_ja.is_empty() && !a.reason_en.is_empty() {
            c.push_str(" / ");
        }
        c.push_str(&a.reason_en);
    });
}

/// `日本語 (english)`.
fn push_ja_en(c: &mut String, (ja, en): (&str, &str)) {
    let _ = write!(c, "{ja} ({en})");
}

/// Appends `cell` to the record, with a leading `'` when Excel would read it as a formula.
fn push_neutralised(record: &mut ByteRecord, cell: &str) {
    if needs_quote_prefix(cell) {
        let mut guarded = String::with_capacity(cell.len() + 1);
        guarded.push('\'');
        guarded.push_str(cell);
        record.push_field(guarded.as_bytes());
    } else {
        record.push_field(cell.as_bytes());
    }
}

/// A cell starting with a tab or CR, or whose first non-blank character is `=`, `+`, `-` or `@`
/// (U+3000 and other Unicode spaces count as blank: Excel skips them before a formula too).
fn needs_quote_prefix(cell: &str) -> bool {
    if cell.starts_with(['\t', '\r']) {
        return true;
    }
    cell.trim_start().starts_with(['=', '+', '-', '@'])
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::plan::{ActionKind, Rule};
    use crate::report::fixture;

    /// The data rows (header and BOM dropped), parsed back with the csv crate.
    fn rows(plan: &Plan) -> Vec<Vec<String>> {
        let bytes = report_csv(plan);
        let body = bytes.strip_prefix(BOM).unwrap();
        let mut rdr = csv::ReaderBuilder::new().from_reader(body);
        rdr.records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    fn name_cell(name: &str) -> String {
        let plan = fixture::plan(vec![fixture::action(
            ActionKind::Update,
            Rule::R7,
            name,
            "工学部",
        )]);
        rows(&plan).remove(0).remove(4)
    }

    #[test]
    fn starts_with_utf8_bom_and_bilingual_header() {
        let bytes = report_csv(&fixture::small());
        assert!(bytes.starts_with(b"\xEF\xBB\xBF\xE7\xA8\xAE\xE5\x88\xA5 action,"));
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(text.split('\n').next().unwrap().ends_with("理由 reason\r"));
    }

    #[test]
    fn formula_cells_are_neutralised() {
        let cases = [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1+2", "'+1+2"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("  =1+1", "'  =1+1"),
            ("\u{3000}=1+1", "'\u{3000}=1+1"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("山田 太郎", "山田 太郎"),
            ("O'Brien", "O'Brien"),
            ("a=b", "a=b"),
            ("", ""),
        ];
        for (name, expected) in cases {
            assert_eq!(name_cell(name), expected, "name {name:?}");
        }
    }

    #[test]
    fn every_column_is_neutralised_not_just_names() {
        let mut a = fixture::action(ActionKind::Review, Rule::R6, "x", "=faculty");
        a.reason_ja = "-bad".into();
        let row = rows(&fixture::plan(vec![a])).remove(0);
        assert_eq!(row[6], "'=faculty");
        assert_eq!(row[17], "'-bad");
    }

    #[test]
    fn plan_order_and_columns() {
        let rows = rows(&fixture::small());
        let kinds: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(
            kinds,
            [
                "要確認 (review)",
                "新規作成 (create)",
                "更新 (update)",
                "学籍喪失（通知・停止予定） (depart)",
                "停止 (stop)",
            ]
        );
        assert!(rows.iter().all(|r| r.len() == HEADER.len()));
        assert_eq!(
            rows[2][15],
            "student_no: 1022000042 → 7026000042; faculty: 工学部 → 工学研究科"
        );
    }

    #[test]
    fn snapshot_small_plan() {
        let bytes = report_csv(&fixture::small());
        let text = String::from_utf8(bytes).unwrap();
        // The snapshot shows the BOM and line ends as visible marks so a change to either is
        // caught, while the file stays readable.
        let shown = text
            .replace('\u{feff}', "<BOM>")
            .replace("\r\n", "<CRLF>\n");
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn large_plan_streams_every_row() {
        let a = fixture::action(ActionKind::Create, Rule::R1, "山田 太郎", "工学部");
        let plan = fixture::plan(vec![a; 100_000]);
        let bytes = report_csv(&plan);
        let lines = bytes.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(lines, 100_001);
    }
}
