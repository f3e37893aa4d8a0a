//! `regsync plan` on the shipped samples: the report is what the rules decide, the store is not
//! touched, and the plan is byte-identical across runs and thread counts.

use std::path::Path;

use crate::common::{NIGHT_0402, imported, output, root, tempdir};

/// The binary on `threads` threads, in a time zone far from Japan's.
fn regsync(dir: &Path, args: &[&str], threads: &str) -> std::process::Output {
    output(dir, args, &env(threads))
}

fn env(threads: &str) -> [(&str, &str); 2] {
    [
        ("RAYON_NUM_THREADS", threads),
        ("TZ", "America/Los_Angeles"),
    ]
}

/// A temp folder with the sample accounts imported into `regsync.sqlite`.
fn world() -> tempfile::TempDir {
    imported(None, &env("2"))
}

fn plan(dir: &Path, out: &str, threads: &str) -> Vec<u8> {
    let mut args = vec![
        "plan".to_string(),
        "--as-of".into(),
        "2026-04-02".into(),
        "--out".into(),
        out.into(),
    ];
    args.extend(
        NIGHT_0402
            .iter()
            .map(|f| root().join(f).to_string_lossy().into_owned()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = regsync(dir, &args, threads);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(dir.join(out).join("plan.json")).unwrap_or_default()
}

#[test]
fn plan_on_the_samples_reports_every_rule_and_changes_nothing() {
    let dir = world();
    let store = dir.path().join("regsync.sqlite");
    let before = std::fs::read(&store).unwrap_or_default();
    let one = plan(dir.path(), "out1", "1");
    let two = plan(dir.path(), "out2", "2");
    let again = plan(dir.path(), "out3", "2");
    assert!(!one.is_empty());
    assert_eq!(one, two, "1 thread and 2 threads give the same plan.json");
    assert_eq!(two, again, "two runs give the same plan.json");
    assert_eq!(
        std::fs::read(&store).unwrap_or_default(),
        before,
        "the store file is byte-identical"
    );
    let csv = std::fs::read_to_string(dir.path().join("out1/report.csv")).unwrap_or_default();
    assert!(csv.starts_with('\u{feff}'));
    insta::assert_snapshot!(csv);
}

/// After an upgrade, `plan` on a store of the previous schema is refused with a hint that is
/// true: `regsync mail` migrates it (sending nothing here), and then `plan` reads it.
#[test]
fn a_store_of_an_older_schema_is_migrated_by_the_command_the_hint_names() {
    let dir = tempdir();
    let older = regsync::store::migrations::MIGRATIONS.len() - 1;
    let made = (|| -> rusqlite::Result<()> {
        let conn = rusqlite::Connection::open(dir.path().join("regsync.sqlite"))?;
        for sql in &regsync::store::migrations::MIGRATIONS[..older] {
            conn.execute_batch(sql)?;
        }
        conn.execute(
            "INSERT INTO meta (id, store_uuid, revision) VALUES (1, 'x', 0)",
            [],
        )?;
        // Set up as a real one was, by an import.
        conn.execute(
            "INSERT INTO runs (as_of, started_at, command) \
             VALUES ('2026-03-01', '2026-03-01T00:00:00Z', 'accounts import')",
            [],
        )?;
        conn.pragma_update(None, "user_version", older as i64)
    })();
    assert!(made.is_ok(), "{made:?}");
    let night: Vec<String> = NIGHT_0402
        .iter()
        .map(|f| root().join(f).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["plan", "--as-of", "2026-04-02", "--out", "out"];
    args.extend(night.iter().map(String::as_str));

    let refused = regsync(dir.path(), &args, "2");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_ne!(refused.status.code(), Some(0));
    assert!(stderr.contains("older than this regsync's"), "{stderr}");
    assert!(stderr.contains("`regsync mail`"), "{stderr}");

    let mail = regsync(dir.path(), &["mail"], "2");
    assert_eq!(
        mail.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&mail.stderr)
    );
    let planned = regsync(dir.path(), &args, "2");
    assert_eq!(
        planned.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&planned.stderr)
    );
}

/// Two exports with the same file name from two folders (`plan 04/reg.csv 05/reg.csv`): the
/// plan names each by its path, so a row, a review item and the report say which file they
/// mean; the same file given twice is told apart as `#2`.
#[test]
fn files_of_the_same_name_are_named_by_their_paths() -> crate::common::Result {
    let dir = world();
    for (folder, sample) in [
        ("04", "samples/registrar-2026-04-02.csv"),
        ("05", "samples/registrar-2026-04-17.csv"),
    ] {
        std::fs::create_dir_all(dir.path().join(folder))?;
        std::fs::copy(root().join(sample), dir.path().join(folder).join("reg.csv"))?;
    }
    let args = [
        "plan",
        "--as-of",
        "2026-04-17",
        "--out",
        "out",
        "04/reg.csv",
        "05/reg.csv",
        "05/reg.csv",
    ];
    let o = regsync(dir.path(), &args, "2");
    assert_eq!(o.status.code(), Some(0), "{}", crate::common::text(&o));
    let plan = std::fs::read_to_string(dir.path().join("out/plan.json"))?;
    let plan: serde_json::Value = serde_json::from_str(&plan)?;
    let names: Vec<&str> = plan["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["04/reg.csv", "05/reg.csv", "05/reg.csv#2"]);
    // A person whose rows in the two exports disagree is one review item naming both rows.
    let reviews: Vec<&str> = plan["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["review"] == "duplicate_rows")
        .filter_map(|a| a["reason_en"].as_str())
        .collect();
    assert!(!reviews.is_empty());
    assert!(
        reviews
            .iter()
            .any(|r| r.contains("04/reg.csv:") && r.contains("05/reg.csv:")),
        "{reviews:?}"
    );
    Ok(())
}
