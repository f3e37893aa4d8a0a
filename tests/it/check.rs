//! `regsync check` on the shipped samples: every good sample passes, every broken one is
//! rejected with messages that point at the exact row and column.

use crate::common::{output, root};

/// `regsync check FILES` in the crate's root: the exit code and stdout.
fn check(files: &[&str]) -> (i32, String) {
    let mut args = vec!["check"];
    args.extend(files);
    let o = output(&root(), &args, &[]);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn every_good_sample_passes() {
    let (code, out) = check(&[
        "samples/registrar-2026-04-02.csv",
        "samples/registrar-2026-04-02.xlsx",
        "samples/registrar-2026-04-17.csv",
        "samples/hr-2026-04-02.csv",
        "samples/renewals-2026-04-02.csv",
        "samples/activations-2026-04-02.csv",
        "tests/data/xls/registrar-small.xls",
    ]);
    insta::assert_snapshot!(out);
    assert_eq!(code, 0);
}

#[test]
fn broken_samples_are_rejected_with_located_errors() {
    for name in ["bad-date", "bad-bytes", "missing-column", "unknown-status"] {
        let path = format!("samples/broken/{name}.csv");
        let (code, out) = check(&[&path]);
        insta::assert_snapshot!(name, out);
        assert_eq!(code, 3, "{name}");
    }
}

#[test]
fn check_rejects_a_student_number_that_is_not_eight_digits() -> crate::common::Result {
    let dir = crate::common::tempdir();
    let long = "A".repeat(5000);
    let csv = format!(
        "学籍番号,氏名,氏名カナ,所属,身分,在籍状態\r\n\
         ABCDEFGH,山田　太郎,ヤマダ　タロウ,工学部,学部生,在学\r\n\
         {long},鈴木　花子,スズキ　ハナコ,文学部,学部生,在学\r\n\
         1234567,佐藤　一郎,サトウ　イチロウ,理学部,学部生,在学\r\n"
    );
    std::fs::write(dir.path().join("ids.csv"), csv)?;
    let o = output(dir.path(), &["check", "ids.csv"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(
        out.contains(
            "ids.csv:2:1(学籍番号): エラー error: 「ABCDEFGH」は学籍番号の形式（[0-9]{8}）に合いません / `ABCDEFGH` does not have the form of a 学籍番号: `[0-9]{8}` was expected"
        ),
        "{out}"
    );
    let shown = "A".repeat(40);
    assert!(
        out.contains(&format!(
            "ids.csv:3:1(学籍番号): エラー error: 「{shown}…」（5000文字）は学籍番号の形式"
        )),
        "{out}"
    );
    assert!(!out.contains(&"A".repeat(41)), "a long value is cut short");
    // Seven digits are a number that lost its leading zero: 01234567.
    assert!(!out.contains("ids.csv:4:"), "{out}");
    assert!(out.contains("2 of 3 rows have errors"), "{out}");
    Ok(())
}
