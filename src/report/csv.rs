//! `report.csv`: one row per action, in plan order (review items first), for Excel.
//!
//! Excel guesses the encoding of a CSV it opens by double-click, and only a UTF-8 byte order
//! mark makes it read Japanese correctly, so the file starts with one. Names and reasons come
//! from input files other people made; a cell Excel would read as a formula (starting with `=`,
//! `+`, `-`, `@`, a tab or a carriage return, also after leading spaces) is neutralised with a
//! leading `'`, as OWASP's CSV-injection guidance recommends.
//!
//! Every action is one row, whatever the size of the plan (100,000 rows for a national night).
//! The rows are encoded here rather than through `csv::Writer`, which costs a copy and a state
//! machine per field: fields are written straight into the chunk buffer and quoted as the csv
//! crate's `QuoteStyle::Necessary` quotes them (a field holding `,` `"` CR or LF, inner quotes
//! doubled; tested against the csv crate). Chunks of rows are encoded in parallel and written
//! in plan order.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::domain::plan::{Action, Plan};
use crate::formula::needs_quote_prefix;
use crate::report::{any_byte, push_date, write_par_chunks};

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

/// Bytes per row, to size the chunk buffers (measured: ≈ 390 with Japanese names and reasons).
const ROW_BYTES: usize = 448;

/// `report.csv` as bytes: UTF-8 with BOM, CRLF line ends, one row per action.
pub fn report_csv(plan: &Plan) -> Vec<u8> {
    let mut out = Vec::with_capacity(512 + plan.actions.len() * ROW_BYTES);
    // Writing into a Vec cannot fail; should it ever, the bytes written so far are returned.
    let _ = write_csv(plan, &mut out);
    out
}

/// Streams `report.csv` into `w`: the BOM and the header, then the rows, encoded in parallel
/// chunks and written in plan order.
pub(crate) fn write_csv<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(BOM);
    let mut row = Row::new(&mut head);
    for h in HEADER {
        row.cell(h);
    }
    row.end();
    w.write_all(&head)?;
    write_par_chunks(&plan.actions, w, ROW_BYTES, |chunk, buf| {
        let mut scratch = String::with_capacity(256);
        for action in chunk {
            write_row(action, buf, &mut scratch);
        }
        Ok(())
    })
}

/// One record being written into `buf`.
struct Row<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Row<'a> {
    fn new(buf: &'a mut Vec<u8>) -> Row<'a> {
        Row { buf, first: true }
    }

    /// Appends one field, neutralised when Excel would read it as a formula, quoted when it
    /// holds a delimiter, a quote or a line end.
    fn cell(&mut self, cell: &str) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        let guard: &[u8] = if needs_quote_prefix(cell) { b"'" } else { b"" };
        let quote = any_byte(cell.as_bytes(), |b| {
            b == b',' || b == b'"' || b == b'\r' || b == b'\n'
        });
        if !quote {
            self.buf.extend_from_slice(guard);
            self.buf.extend_from_slice(cell.as_bytes());
            return;
        }
        self.buf.push(b'"');
        self.buf.extend_from_slice(guard);
        for (i, part) in cell.split('"').enumerate() {
            if i > 0 {
                self.buf.extend_from_slice(b"\"\"");
            }
            self.buf.extend_from_slice(part.as_bytes());
        }
        self.buf.push(b'"');
    }

    /// A field built in `scratch` by `fill`.
    fn built(&mut self, scratch: &mut String, fill: impl FnOnce(&mut String)) {
        scratch.clear();
        fill(scratch);
        self.cell(scratch);
    }

    fn end(self) {
        self.buf.extend_from_slice(b"\r\n");
    }
}

fn write_row(a: &Action, buf: &mut Vec<u8>, scratch: &mut String) {
    let mut row = Row::new(buf);
    row.built(scratch, |c| {
        push_ja_en(c, (a.kind.label_ja(), a.kind.as_str()))
    });
    row.cell(a.rule.as_str());
    row.cell(a.ecs_id.as_ref().map_or("", |id| id.as_str()));
    row.cell(a.person.student_no.as_ref().map_or("", |n| n.as_str()));
    row.cell(&a.person.name);
    row.cell(&a.person.name_kana);
    row.cell(&a.person.faculty);
    row.cell(a.person.status.map_or("", |s| s.label_ja()));
    row.cell(a.source.as_ref().map_or("", |s| s.file.as_str()));
    row.built(scratch, |c| {
        if let Some(s) = &a.source {
            let _ = write!(c, "{}", s.row);
        }
    });
    for date in [a.effective_on, a.notice_on, a.stop_on] {
        row.built(scratch, |c| {
            if let Some(d) = date {
                push_date(c, d);
            }
        });
    }
    row.built(scratch, |c| {
        if let Some(r) = a.stop_reason {
            push_ja_en(c, (r.label_ja(), r.as_str()));
        }
    });
    row.built(scratch, |c| {
        if let Some(d) = a.delivery {
            push_ja_en(c, (d.label_ja(), d.as_str()));
        }
    });
    row.built(scratch, |c| {
        for (i, ch) in a.changes.iter().enumerate() {
            if i > 0 {
                c.push_str("; ");
            }
            c.push_str(&ch.field);
            c.push_str(": ");
            c.push_str(&ch.from);
            c.push_str(" → ");
            c.push_str(&ch.to);
        }
    });
    row.built(scratch, |c| {
        if let Some(r) = a.review {
            push_ja_en(c, (r.label_ja(), r.as_str()));
        }
    });
    row.built(scratch, |c| {
        c.push_str(&a.reason_ja);
        if !a.reason_ja.is_empty() && !a.reason_en.is_empty() {
            c.push_str(" / ");
        }
        c.push_str(&a.reason_en);
    });
    row.end();
}

/// `日本語 (english)`.
/// A vocabulary value as `label_ja (as_str)`: Japanese first, then the plan's own English word,
/// so a reader of either language finds the value they search for.
fn push_ja_en(c: &mut String, (ja, en): (&str, &str)) {
    c.push_str(ja);
    c.push_str(" (");
    c.push_str(en);
    c.push(')');
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

    /// The csv crate's writer, as this file used to be written.
    fn csv_crate(rows: &[Vec<String>]) -> Vec<u8> {
        let mut wtr = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Necessary)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        for r in rows {
            wtr.write_record(r).unwrap();
        }
        wtr.into_inner().unwrap()
    }

    fn ours(rows: &[Vec<String>]) -> Vec<u8> {
        let mut buf = Vec::new();
        for r in rows {
            let mut row = Row::new(&mut buf);
            for c in r {
                row.cell(c);
            }
            row.end();
        }
        buf
    }

    #[test]
    fn quoting_as_the_csv_crate_quotes() {
        let cells = [
            "",
            "a",
            "a,b",
            "say \"hi\"",
            "\"",
            "\"\"",
            "line\nbreak",
            "cr\rhere",
            "crlf\r\n",
            " lead",
            "trail ",
            "山田,太郎",
            "'quoted'",
            "#hash",
            "\\back",
        ];
        let rows: Vec<Vec<String>> = cells
            .iter()
            .map(|c| vec![c.to_string(), "x".into(), c.to_string()])
            .collect();
        assert_eq!(ours(&rows), csv_crate(&rows));
    }

    proptest::proptest! {
        #[test]
        fn any_cells_are_written_as_the_csv_crate_writes_them_guarded(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a-z,\"\\r\\n\\t 　山'#=+@-]{0,6}", 3),
                1..4,
            )
        ) {
            // The one difference on purpose: the formula guard, applied here by hand.
            let guarded: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|c| if needs_quote_prefix(c) { format!("'{c}") } else { c.clone() })
                        .collect()
                })
                .collect();
            proptest::prop_assert_eq!(ours(&rows), csv_crate(&guarded));
        }
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
    fn large_plan_has_every_action_as_one_row_in_order() {
        // More actions than one parallel window, every row told apart by its source row; some
        // cells need quoting.
        let n = 100_000;
        let actions = (0..n)
            .map(|i| {
                let mut a = fixture::action(ActionKind::Depart, Rule::R5, "山田 太郎", "工学部");
                if let Some(s) = a.source.as_mut() {
                    s.row = i as u32;
                }
                if i % 7 == 0 {
                    a.reason_ja = format!("卒業, \"{i}\"");
                }
                a
            })
            .collect();
        let plan = fixture::plan(actions);
        let bytes = report_csv(&plan);
        let lines = bytes.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(lines, plan.actions.len() + 1);

        let body = bytes.strip_prefix(BOM).unwrap();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(body);
        let records: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), plan.actions.len() + 1);
        assert_eq!(&records[0][0], HEADER[0]);
        for (i, r) in records[1..].iter().enumerate() {
            assert_eq!(r.len(), HEADER.len());
            assert_eq!(r[9], i.to_string(), "row {i} in plan order");
        }
        assert_eq!(&records[8][17], "卒業, \"7\"");
    }
}
