//! Suspicious full registrar snapshots. In a full snapshot a student on record who is missing
//! has left (R5), so an export that went wrong reads as a mass departure: one with no data rows
//! is rejected, and one much smaller than the previous full snapshot is a warning for `check`
//! and the plan (the mass-change guard still stands behind it in `run`).

use crate::domain::model::Kind;
use crate::ingest::Outcome;
use crate::ingest::diag::{Diagnostic, Location};
use crate::ingest::profile::Profiles;

/// A full registrar snapshot with a header and no data rows says that nobody is enrolled: read
/// as it is, everyone on record would depart (R5). The file is rejected; so is one whose every
/// data row has an error (held out, they would leave the same empty snapshot). A partial
/// export (`snapshot = "changes"`) may be empty.
pub(crate) fn reject_empty(outcome: &mut Outcome, profiles: &Profiles) {
    let empty = outcome.kind == Some(Kind::Registrar)
        && outcome.rows <= Diagnostic::rows_held(&outcome.diagnostics);
    let rejected = outcome.diagnostics.iter().any(Diagnostic::rejects_file);
    if empty && profiles.registrar_is_full() && !rejected {
        outcome.diagnostics.push(Diagnostic::error(
            Location::File,
            "在籍者の全件データですが、見出し行だけでデータ行がありません。このまま読むと在籍者全員が離籍（R5）になります。書き出しをやり直してください",
            "a full registrar snapshot with a header and no data rows: read as it is, it would depart everyone on record (R5); export it again",
        ));
    }
}

/// The previous full registrar snapshot the store processed: its name and data rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    pub name: String,
    pub rows: u64,
}

impl Previous {
    /// From the store's record of the file, its row count as SQLite holds it.
    pub fn new(name: String, rows: i64) -> Previous {
        Previous {
            name,
            rows: rows.max(0).unsigned_abs(),
        }
    }
}

/// The warning for a full snapshot of `rows` data rows that holds fewer than `min_share` of
/// the previous one's rows (`[policy] snapshot_min_share`), in Japanese and English.
pub fn shrunk(rows: usize, previous: &Previous, min_share: f64) -> Option<Diagnostic> {
    let floor = previous.rows as f64 * min_share;
    if rows as f64 >= floor {
        return None;
    }
    let percent = (min_share * 100.0).round();
    Some(Diagnostic::warning(
        Location::File,
        format!(
            "在籍者の全件データが {rows} 行で、前回の全件データ「{}」（{} 行）の {percent}% 未満です。書き出し漏れがないか確認してください。載っていない在籍者は離籍（R5）になります",
            previous.name, previous.rows
        ),
        format!(
            "a full registrar snapshot of {rows} rows, fewer than {percent}% of the previous one (`{}`, {} rows): check that the export is complete; every student missing from it departs (R5)",
            previous.name, previous.rows
        ),
    ))
}

/// Adds the [`shrunk`] warning to an accepted full registrar snapshot that is much smaller than
/// `previous`, the last one the store processed.
pub(crate) fn warn_if_shrunk(
    file: &mut crate::ingest::Ingested,
    previous: Option<&Previous>,
    profiles: &Profiles,
    min_share: f64,
) {
    let snapshot = file.kind == Some(Kind::Registrar) && profiles.registrar_is_full();
    if let Some(previous) = previous.filter(|_| snapshot && file.accepted()) {
        file.diagnostics
            .extend(shrunk(file.rows, previous, min_share));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rows: usize, previous: u64, share: f64, warns: bool) {
        let prev = Previous {
            name: "reg.csv".into(),
            rows: previous,
        };
        assert_eq!(
            shrunk(rows, &prev, share).is_some(),
            warns,
            "{rows} of {previous} at {share}"
        );
    }

    #[test]
    fn a_full_snapshot_with_no_row_free_of_errors_is_rejected_as_empty() {
        let profiles = Profiles::builtin().unwrap_or_else(|e| unreachable!("{e}"));
        let head = "学籍番号,氏名,氏名カナ,所属,身分,在籍状態\n";
        let good = "01230011,鈴木　悠真,スズキ　ユウマ,文学部,学部生,在学\n";
        let bad = "01230013,山田　太郎,ヤマダ　タロウ,文学部,学部生,謎\n";
        for (body, empty) in [("", true), (bad, true), (good, false)] {
            let text = format!("{head}{body}");
            let read = crate::ingest::read_bytes(
                std::path::Path::new("reg.csv"),
                text.into_bytes(),
                0,
                &profiles,
            );
            let said = read
                .errors()
                .any(|d| d.en.contains("would depart everyone"));
            assert_eq!(said, empty, "{body:?}");
            assert_eq!(read.accepted(), !empty, "{body:?}");
        }
        let text = format!("{head}{good}{bad}");
        let read = crate::ingest::read_bytes(
            std::path::Path::new("reg.csv"),
            text.into_bytes(),
            0,
            &profiles,
        );
        assert!(read.holds_rows(), "one good row and one held: used");
    }

    #[test]
    fn a_snapshot_under_the_share_of_the_previous_one_warns() {
        check(49, 100, 0.5, true);
        check(50, 100, 0.5, false);
        check(100, 100, 0.5, false);
        check(120, 100, 0.5, false);
        check(0, 1, 0.5, true);
        check(0, 0, 0.5, false);
        check(1, 100, 0.0, false);
        check(99, 100, 1.0, true);
    }

    #[test]
    fn the_warning_names_both_counts_and_the_previous_file() {
        let prev = Previous {
            name: "reg-0401.csv".into(),
            rows: 1000,
        };
        let d = shrunk(300, &prev, 0.5).unwrap_or_else(|| unreachable!());
        assert!(!d.is_error());
        assert!(
            d.en.contains("300 rows") && d.en.contains("`reg-0401.csv`, 1000 rows"),
            "{}",
            d.en
        );
        assert!(d.en.contains("50%"), "{}", d.en);
        assert!(d.ja.contains("離籍"), "{}", d.ja);
    }
}
