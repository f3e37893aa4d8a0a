//! The directory's part of the reports: per entry and attribute, the value before and after,
//! as one self-contained HTML page (no scripts, all data escaped) and a CSV for Excel (UTF-8
//! with BOM, formula-like cells neutralised). `plan` and `run` write `directory.html` and
//! `directory.csv` beside the plan's report (the directory change each action causes);
//! `directory diff` writes `directory-diff.html` and `.csv` (drift, missing entries, orphans).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// One line of a directory report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// What the line is about (an action kind, or a finding).
    pub what: String,
    pub ecs_id: String,
    pub dn: String,
    pub attribute: String,
    pub before: String,
    pub after: String,
}

/// Writes `<stem>.html` and `<stem>.csv` into `dir` (created private if needed); returns the
/// HTML path.
pub(crate) fn write(
    dir: &Path,
    stem: &str,
    title: &str,
    summary: &str,
    lines: &[Line],
) -> anyhow::Result<PathBuf> {
    crate::private::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let html_path = dir.join(format!("{stem}.html"));
    crate::private::write(&html_path, html(title, summary, lines))
        .with_context(|| format!("writing `{}`", html_path.display()))?;
    let csv_path = dir.join(format!("{stem}.csv"));
    crate::private::write(&csv_path, csv(lines))
        .with_context(|| format!("writing `{}`", csv_path.display()))?;
    Ok(html_path)
}

const HEADERS: [&str; 6] = [
    "種別 kind",
    "ECS-ID",
    "DN",
    "属性 attribute",
    "変更前 before",
    "変更後 after",
];

fn html(title: &str, summary: &str, lines: &[Line]) -> String {
    let mut out =
        String::from("<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><title>");
    escape(&mut out, title);
    out.push_str(
        "</title><style>body{font-family:sans-serif}table{border-collapse:collapse}\
         td,th{border:1px solid #999;padding:2px 6px;text-align:left}</style></head><body><h1>",
    );
    escape(&mut out, title);
    out.push_str("</h1><p>");
    escape(&mut out, summary);
    out.push_str("</p><table><tr>");
    for h in HEADERS {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr>\n");
    for l in lines {
        out.push_str("<tr>");
        for cell in [&l.what, &l.ecs_id, &l.dn, &l.attribute, &l.before, &l.after] {
            out.push_str("<td>");
            escape(&mut out, cell);
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></body></html>\n");
    out
}

fn csv(lines: &[Line]) -> Vec<u8> {
    let mut w = ::csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record(HEADERS);
    for l in lines {
        let _ = w.write_record(
            [&l.what, &l.ecs_id, &l.dn, &l.attribute, &l.before, &l.after]
                .map(|c| crate::formula::neutralise(c).into_owned()),
        );
    }
    w.into_inner().unwrap_or_default()
}

fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped_and_neutralised() {
        let l = Line {
            what: "drift".into(),
            ecs_id: "a1".into(),
            dn: "uid=a1,ou=people".into(),
            attribute: "mail".into(),
            before: "=HYPERLINK(\"x\")".into(),
            after: "<b>a1@x</b>".into(),
        };
        let h = html("t", "s", std::slice::from_ref(&l));
        assert!(h.contains("&lt;b&gt;a1@x&lt;/b&gt;"), "{h}");
        let c = String::from_utf8(csv(&[l])).unwrap_or_default();
        assert!(c.contains("'=HYPERLINK"), "{c}");
    }
}
