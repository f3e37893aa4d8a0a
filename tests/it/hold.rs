//! Policy `row_errors` (issue 17): one bad row holds back one person, not the file. Each test
//! runs the binary on a store of a thousand students and a full registrar snapshot of them.

use std::fmt::Write as _;
use std::path::Path;

use crate::common::{Result, regsync, root, tempdir, write, write_settled};

const STUDENTS: usize = 1000;
/// Students the snapshot says graduated (R5: notice, then stop).
const GRADUATES: [usize; 9] = [10, 20, 30, 40, 50, 60, 70, 80, 90];
/// A graduate whose row also carries an impossible birth date: held, not departed.
const HELD: usize = 50;
/// On record but missing from the snapshot: departs (R5), since the held row names its person.
const MISSING: usize = 500;

fn ecs_id(i: usize) -> String {
    format!("a07{i:05}")
}

fn student_no(i: usize) -> String {
    format!("0923{i:04}")
}

fn person_id(i: usize) -> String {
    format!("00020{i:05}")
}

fn birth(i: usize) -> String {
    format!("2004-{:02}-{:02}", 1 + i % 12, 1 + i % 28)
}

/// The store's directory: a thousand active undergraduates.
fn accounts_csv() -> String {
    let mut s = String::from(
        "ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限\n",
    );
    for i in 0..STUDENTS {
        let _ = writeln!(
            s,
            "{},{},{},試験　花子{i},シケン　ハナコ,{},理学部,学生,有効,shiken.hanako.{i}@st.kyoto-u.ac.jp,,,",
            ecs_id(i),
            person_id(i),
            student_no(i),
            birth(i)
        );
    }
    s
}

/// The full snapshot of the night: every student but [`MISSING`], [`GRADUATES`] graduated, and
/// the row of [`HELD`] with 2026-02-30 as its birth date when `bad`.
fn registrar_csv(bad: bool) -> String {
    let mut s = String::from(
        "令和8年度 在籍者一覧\n学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\n",
    );
    for i in (0..STUDENTS).filter(|&i| i != MISSING) {
        let born = if bad && i == HELD {
            "2026-02-30".to_string()
        } else {
            birth(i)
        };
        let (status, changed) = if GRADUATES.contains(&i) {
            ("卒業", "2026-03-31")
        } else {
            ("在学", "")
        };
        let _ = writeln!(
            s,
            "{},{},{},試験　花子{i},シケン　ハナコ,{born},理学部,学部生,{status},2022-04-01,{changed}",
            student_no(i),
            person_id(i),
            ecs_id(i)
        );
    }
    s
}

/// A folder with the thousand students imported and `config` as its `regsync.toml`.
fn university(config: &str) -> Result<tempfile::TempDir> {
    let dir = tempdir();
    write(&dir.path().join("regsync.toml"), config);
    write(&dir.path().join("accounts.csv"), accounts_csv());
    let import = regsync(dir.path(), &["accounts", "import", "accounts.csv"], &[])?;
    assert_eq!(import.code, Some(0), "{}{}", import.stdout, import.stderr);
    Ok(dir)
}

/// The ECS-IDs each action of the night's plan is about, by kind.
fn planned(dir: &Path) -> Result<(Vec<(String, String)>, serde_json::Value)> {
    let text = std::fs::read(dir.join("reports/2026-04-02-run2/plan.json"))?;
    let plan: serde_json::Value = serde_json::from_slice(&text)?;
    let actions = plan["actions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|a| {
                    (
                        a["kind"].as_str().unwrap_or_default().to_string(),
                        a["ecs_id"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((actions, plan))
}

#[test]
fn hold_rows_holds_one_bad_row_and_applies_the_other_999() -> Result {
    let dir = university("")?;
    write_settled(&dir.path().join("inbox/registrar.csv"), registrar_csv(true));
    let run = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, Some(3), "held rows make the night exit 3\n{out}");
    assert!(out.contains("Held: 1 row(s) of registrar.csv"), "{out}");

    let (actions, plan) = planned(dir.path())?;
    // Eight graduates and the missing student depart; the held graduate has no action at all.
    let departed: Vec<&str> = actions
        .iter()
        .filter(|(k, _)| k == "depart")
        .map(|(_, id)| id.as_str())
        .collect();
    let mut expected: Vec<String> = GRADUATES
        .iter()
        .filter(|&&i| i != HELD)
        .map(|&i| ecs_id(i))
        .collect();
    expected.push(ecs_id(MISSING));
    assert_eq!(departed, expected, "{actions:?}");
    assert!(
        actions.iter().all(|(_, id)| *id != ecs_id(HELD)),
        "the held row's person gets no action: {actions:?}"
    );
    let held = plan["held"].as_array().cloned().unwrap_or_default();
    assert_eq!(held.len(), 1, "{plan}");
    assert_eq!(held[0]["student_no"], student_no(HELD).as_str());
    let report = std::fs::read_to_string(dir.path().join("reports/2026-04-02-run2/report.html"))?;
    let (held_at, actions_at) = (
        report.find("id=\"held\""),
        report.find("class=\"overview\""),
    );
    assert!(
        held_at.is_some() && held_at < actions_at,
        "the report lists held rows first"
    );

    // Applied: the departures are in the store; the held student is untouched.
    let departed_on = |id: &str| -> Result<String> {
        let show = regsync(dir.path(), &["show", id], &[])?;
        let line = show.stdout.lines().find(|l| l.contains("departed_on:"));
        Ok(line.unwrap_or_default().to_string())
    };
    assert!(departed_on(&ecs_id(GRADUATES[0]))?.ends_with("2026-03-31"));
    assert!(departed_on(&ecs_id(HELD))?.ends_with('—'));
    // The registrar's copy and its located error report are in rejected/; the file itself is
    // archived as applied.
    let errors = std::fs::read_to_string(dir.path().join("rejected/registrar.csv.errors.txt"))?;
    let row = HELD + 3;
    assert!(
        errors.contains(&format!("registrar.csv:{row}:6(生年月日)")),
        "{errors}"
    );
    assert!(dir.path().join("rejected/registrar.csv").exists());
    assert!(
        dir.path()
            .join("archive/2026-04-02-run2/registrar.csv")
            .exists()
    );
    Ok(())
}

#[test]
fn reject_file_uses_nothing_from_a_file_with_one_bad_row() -> Result {
    let dir = university("[policy]\nrow_errors = \"reject_file\"\n")?;
    write_settled(&dir.path().join("inbox/registrar.csv"), registrar_csv(true));
    let run = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, Some(3), "{out}");
    assert!(out.contains("1 file(s) read, 1 rejected"), "{out}");
    let (actions, plan) = planned(dir.path())?;
    assert!(actions.is_empty(), "nothing from the file: {actions:?}");
    assert!(plan.get("held").is_none(), "{plan}");
    let errors = std::fs::read_to_string(dir.path().join("rejected/registrar.csv.errors.txt"))?;
    assert!(errors.contains("却下 REJECTED"), "{errors}");
    Ok(())
}

#[test]
fn an_encoding_error_rejects_the_whole_file_under_both_policies() -> Result {
    for config in ["", "[policy]\nrow_errors = \"reject_file\"\n"] {
        let dir = university(config)?;
        let bad = std::fs::read(root().join("samples/broken/bad-bytes.csv"))?;
        write_settled(&dir.path().join("inbox/bad-bytes.csv"), bad);
        let run = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
        let out = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, Some(3), "{config}\n{out}");
        assert!(
            out.contains("1 file(s) read, 1 rejected"),
            "{config}\n{out}"
        );
        let (actions, _) = planned(dir.path())?;
        assert!(actions.is_empty(), "{config}: {actions:?}");
    }
    Ok(())
}

#[test]
fn more_bad_rows_than_the_policy_share_reject_the_file_whole() -> Result {
    let dir = university("[policy]\nrow_errors_max_share = 0.001\n")?;
    // Two bad rows of 999: more than 0.1 %.
    let text = registrar_csv(true).replacen(",2004-02-02,", ",2004-02-31,", 1);
    write_settled(&dir.path().join("inbox/registrar.csv"), text);
    let run = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, Some(3), "{out}");
    assert!(out.contains("1 rejected"), "{out}");
    let errors = std::fs::read_to_string(dir.path().join("rejected/registrar.csv.errors.txt"))?;
    assert!(errors.contains("2 of 999 rows have errors"), "{errors}");
    Ok(())
}
