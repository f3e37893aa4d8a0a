//! The verdict on each input file, then every diagnostic located as `FILE:ROW:COLUMN(header)`,
//! in Japanese with the English beside it: what `check` prints, what `plan` prints for rejected
//! files, and the `NAME.errors.txt` a run leaves beside a file it set aside.

use std::fmt::Write as _;

use crate::ingest::Ingested;
use crate::ingest::batch::shown;
use crate::ingest::diag::escape_controls;

/// How many diagnostics of one file are printed before the rest are only counted.
const SHOWN_PER_FILE: usize = 50;

/// The whole report, as printed.
pub(crate) fn render_inputs(results: &[Ingested]) -> String {
    render_input_refs(&results.iter().collect::<Vec<_>>())
}

/// [`render_inputs`] over borrowed results (`plan` and `run` print only the rejected files).
pub(crate) fn render_input_refs(results: &[&Ingested]) -> String {
    let mut s = String::new();
    let width = results
        .iter()
        .map(|r| shown(&r.path).chars().count())
        .max()
        .unwrap_or(0);
    for &r in results {
        let verdict = if r.holds_rows() {
            "一部保留 HELD"
        } else if r.accepted() {
            "受理 OK      "
        } else {
            "却下 REJECTED"
        };
        let kind = r.kind.map_or("?", |k| k.as_str());
        let enc = r.encoding.map_or_else(
            || match r.format {
                Some(crate::ingest::Format::Excel) => "Excel".to_string(),
                _ => "-".to_string(),
            },
            |e| e.label().to_string(),
        );
        let enc = match &r.sheet {
            Some(sheet) => format!("Excel [{}]", escape_controls(sheet)),
            None => enc,
        };
        let path = shown(&r.path);
        let _ = write!(
            s,
            "{verdict}  {path:<width$}  {kind:<11} {enc:<20} {:>7} 行 rows",
            r.rows
        );
        let (errors, warnings) = (r.errors().count(), r.warnings().count());
        if errors > 0 {
            let _ = write!(s, "  {errors} 件のエラー errors");
        }
        if r.holds_rows() {
            let held = r.rows_with_errors();
            let _ = write!(
                s,
                "  {held} 行を保留、残りの行は使います / {held} row(s) held out, the rest is used"
            );
        }
        if warnings > 0 {
            let _ = write!(s, "  {warnings} 件の警告 warnings");
        }
        s.push('\n');
    }
    for &r in results {
        if r.diagnostics.is_empty() {
            continue;
        }
        s.push('\n');
        let path = shown(&r.path);
        for d in r.diagnostics.iter().take(SHOWN_PER_FILE) {
            s.push_str(&d.render(&path, r.sheet.as_deref()));
            s.push('\n');
        }
        let rest = r.diagnostics.len().saturating_sub(SHOWN_PER_FILE);
        if rest > 0 {
            let _ = writeln!(s, "{path}: ほか {rest} 件 / {rest} more not shown");
        }
    }
    let rejected = results.iter().filter(|r| !r.accepted()).count();
    let _ = writeln!(
        s,
        "\n{} 件受理、{rejected} 件却下 / {} accepted, {rejected} rejected{}",
        results.len() - rejected,
        results.len() - rejected,
        if rejected > 0 {
            " (a rejected file is set aside whole; nothing in it is used)"
        } else {
            ""
        }
    );
    if results.iter().any(|r| r.holds_rows()) {
        s.push_str(
            "誤りのある行は保留し、その行に書かれた人には今夜何もしません。行を直して再出力してください / \
             rows with errors are held out: nobody they name gets any action tonight; fix the rows and export again\n",
        );
    }
    s
}
