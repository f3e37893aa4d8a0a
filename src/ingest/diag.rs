//! Located diagnostics: what was found where, in Japanese and English, for the person who
//! dropped the file. Every input error names the file, the row and the column with its header.

use std::fmt::Write as _;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The file is accepted; the message says what was read in a way the sender may not expect.
    Warning,
    /// The file is rejected whole.
    Error,
}

/// Where in a file a diagnostic points.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Location {
    /// The file as a whole (unreadable, no header row, ...).
    File,
    /// A byte position, for encoding errors: 1-based line and byte within the line.
    Byte { line: u64, byte: u64 },
    /// A whole row (spreadsheet row number, 1-based, title rows included).
    Row { row: u32 },
    /// One cell: its row, its 0-based column and the header written above it.
    Cell {
        row: u32,
        column: u32,
        header: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    #[serde(flatten)]
    pub location: Location,
    pub ja: String,
    pub en: String,
    /// An error in a data row's cell: it holds that row out (policy `row_errors`) rather than
    /// making the whole file untrustworthy.
    #[serde(skip)]
    pub(crate) in_row: bool,
}

impl Diagnostic {
    pub fn error(location: Location, ja: impl Into<String>, en: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            location,
            ja: ja.into(),
            en: en.into(),
            in_row: false,
        }
    }

    pub(crate) fn warning(
        location: Location,
        ja: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            location,
            ja: ja.into(),
            en: en.into(),
            in_row: false,
        }
    }

    /// This error, marked as one that holds its data row out.
    pub(crate) fn in_row(mut self) -> Self {
        self.in_row = true;
        self
    }

    /// The data row an error holds out, if it is one.
    pub(crate) fn held_row(&self) -> Option<u32> {
        match (&self.location, self.in_row && self.is_error()) {
            (Location::Row { row } | Location::Cell { row, .. }, true) => Some(*row),
            _ => None,
        }
    }

    /// How many distinct data rows these diagnostics hold out.
    pub(crate) fn rows_held(diagnostics: &[Diagnostic]) -> usize {
        let mut rows: Vec<u32> = diagnostics
            .iter()
            .filter_map(Diagnostic::held_row)
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows.len()
    }

    /// Whether an error makes its whole file untrustworthy (one outside a data row).
    pub(crate) fn rejects_file(&self) -> bool {
        self.is_error() && self.held_row().is_none()
    }

    pub(crate) fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `FILE:ROW:COLUMN(header): 日本語 / English`, with `FILE:Sheet!C12(header)` for workbooks.
    pub fn render(&self, file: &str, sheet: Option<&str>) -> String {
        let mut s = String::with_capacity(file.len() + self.ja.len() + self.en.len() + 32);
        s.push_str(file);
        match &self.location {
            Location::File => {}
            Location::Byte { line, byte } => {
                let _ = write!(s, ":{line}:{byte}");
            }
            Location::Row { row } => match sheet {
                Some(sheet) => {
                    let _ = write!(s, ":{sheet}!{row}");
                }
                None => {
                    let _ = write!(s, ":{row}");
                }
            },
            Location::Cell {
                row,
                column,
                header,
            } => match sheet {
                Some(sheet) => {
                    let _ = write!(s, ":{sheet}!{}{row}({header})", column_letters(*column));
                }
                None => {
                    let _ = write!(s, ":{row}:{}({header})", column + 1);
                }
            },
        }
        let tag = match self.severity {
            Severity::Error => "エラー error",
            Severity::Warning => "警告 warning",
        };
        let _ = write!(s, ": {tag}: {} / {}", self.ja, self.en);
        // A cell's value quoted in a message is the sender's text: one line, and nothing the
        // terminal would act on.
        escape_controls(&s)
    }
}

/// Whether `c` changes how the text around it is shown rather than being part of it: a control
/// character (a line break, an escape that a terminal acts on) or a bidirectional override.
fn is_hidden_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A character a text cell may not hold: a control character other than the line break and the
/// tab a cell can hold in Excel (an escape, a bell, a NUL), or a bidirectional override. Such a
/// name would reach the store, the directory, the mail and the terminal of whoever looks it up.
fn is_control_in_text(c: char) -> bool {
    is_hidden_control(c) && !matches!(c, '\n' | '\r' | '\t')
}

/// The error for a text cell holding [`is_control_in_text`] characters, in Japanese and
/// English, quoting it escaped; `None` when it holds none.
pub(crate) fn control_characters(value: &str) -> Option<(String, String)> {
    let mut codes: Vec<String> = Vec::new();
    for c in value.chars().filter(|&c| is_control_in_text(c)) {
        let code = format!("U+{:04X}", u32::from(c));
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    if codes.is_empty() {
        return None;
    }
    let (shown, codes) = (escape_controls(value), codes.join(", "));
    Some((
        format!("「{shown}」に制御文字（{codes}）が含まれています。書き出しを直してください"),
        format!("`{shown}` holds control characters ({codes}); correct the export"),
    ))
}

/// `s` with each [`is_hidden_control`] character written as its escape (`\n`, `\u{1b}`,
/// `\u{202e}`), for a line printed on a terminal or in a report.
pub(crate) fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hidden_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Spreadsheet column letters for a 0-based index: 0 → A, 25 → Z, 26 → AA.
pub(crate) fn column_letters(index: u32) -> String {
    let mut n = index as u64 + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_follow_excel() {
        for (i, want) in [
            (0, "A"),
            (2, "C"),
            (25, "Z"),
            (26, "AA"),
            (27, "AB"),
            (701, "ZZ"),
            (702, "AAA"),
        ] {
            assert_eq!(column_letters(i), want);
        }
    }

    #[test]
    fn cell_renders_as_file_row_column_header() {
        let d = Diagnostic::error(
            Location::Cell {
                row: 12,
                column: 2,
                header: "氏名".into(),
            },
            "空です",
            "empty",
        );
        assert_eq!(
            d.render("a.csv", None),
            "a.csv:12:3(氏名): エラー error: 空です / empty"
        );
        assert_eq!(
            d.render("a.xlsx", Some("在籍者")),
            "a.xlsx:在籍者!C12(氏名): エラー error: 空です / empty"
        );
    }
}
