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
