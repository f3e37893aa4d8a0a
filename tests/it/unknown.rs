//! Rows that name an ECS-ID not on record, through the real binary. Each such row (registrar,
//! HR, renewals of every 申請種別, activations) becomes an `unknown_account` review item that
//! `apply` queues without failing (the item links to no account); nothing else is decided for
//! it, so no account is created or given a new ECS-ID for it (R2); and a nightly run with such a
//! row still applies the rest of the night, archives its files and leaves later nights free.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::common::{files_under, imported, output, root, settle, text, write, write_settled};

/// The ECS-IDs of every account in the store (`accounts export --format json`).
fn exported(dir: &Path) -> BTreeSet<String> {
    let o = output(dir, &["accounts", "export", "--format", "json"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let accounts: Vec<serde_json::Value> = match serde_json::from_slice(&o.stdout) {
        Ok(v) => v,
        Err(e) => unreachable!("export: {e}\n{}", text(&o)),
    };
    accounts
        .iter()
        .filter_map(|a| a["ecs_id"].as_str())
        .map(str::to_owned)
        .collect()
}

/// Guard limits loose enough for the sample March graduation (22 departs of 171), mail to files.
const CONFIG: &str =
    "[policy]\nguard_share = 0.25\n[mail]\ntransport = \"file\"\ndir = \"mail-out\"\n";

/// 太田 湊 (a0451576), pending in accounts.csv and activated in the sample activations file.
const PENDING: &str = "a0451576";

/// The names of the files in `dir` and in its subfolders, sorted.
fn names_under(dir: &Path) -> Vec<String> {
    let files = match files_under(dir) {
        Ok(files) => files,
        Err(e) => unreachable!("read `{}`: {e}", dir.display()),
    };
    let mut names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_activation_of_an_unknown_ecs_id_is_reviewed_and_the_night_still_applies() {
    let dir = imported(Some(CONFIG), &[]);
    let d = dir.path();
    let before = exported(d);
    assert!(!before.contains("a0499999"), "the ECS-ID must be unknown");
    let state = |o: &Output, want: &str| {
        text(o)
            .lines()
            .any(|l| l.contains("状態 state:") && l.contains(want))
    };
    let o = output(d, &["show", PENDING], &[]);
    assert!(state(&o, "(pending)"), "{}", text(&o));
    let registrar = root().join("samples/registrar-2026-04-02.csv");
    write_settled(
        &d.join("inbox/activations-unknown.csv"),
        format!("ECS-ID,有効化日\na0499999,2026-04-15\n{PENDING},2026-03-05\n"),
    );
    if let Err(e) = std::fs::copy(&registrar, d.join("inbox/registrar-2026-04-02.csv")) {
        unreachable!("copy `{}`: {e}", registrar.display());
    }
    settle(&d.join("inbox/registrar-2026-04-02.csv"));

    let o = output(d, &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("2 file(s) read, 0 rejected"),
        "{}",
        text(&o)
    );
    assert_eq!(names_under(&d.join("inbox")), Vec::<String>::new());
    let archived = names_under(&d.join("archive"));
    for f in ["activations-unknown.csv", "registrar-2026-04-02.csv"] {
        assert!(archived.iter().any(|a| a == f), "{f} not in {archived:?}");
    }

    // The row is one review item, about an account nobody has.
    let o = output(d, &["review", "list"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let list = text(&o);
    let item = list
        .split("\n\n")
        .find(|b| b.contains("a0499999"))
        .unwrap_or_default();
    assert!(item.contains("unknown_account"), "{list}");
    assert!(item.contains("activations-unknown.csv:2"), "{list}");
    let after = exported(d);
    assert!(!after.contains("a0499999"), "a0499999 was given");
    assert!(before.is_subset(&after), "no account lost");

    // The rest of the night was applied: the other activation, and the March departures.
    let o = output(d, &["show", PENDING], &[]);
    assert!(state(&o, "有効 (active)"), "{}", text(&o));
    // 長谷川 美月 (卒業 R8.3.31) and 菊地 舞 (卒業 2026/3/31): notice today, stop in 14 days.
    for id in ["a0183204", "a0693451"] {
        let o = output(d, &["show", id], &[]);
        assert!(
            text(&o).contains("2026-04-16  停止 stop — 学籍喪失 (departed)"),
            "{id}: {}",
            text(&o)
        );
    }

    // The next night has nothing left over from the first.
    let o = output(d, &["run", "--as-of", "2026-04-03"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("0 file(s) read"), "{}", text(&o));
    assert_eq!(names_under(&d.join("inbox")), Vec::<String>::new());
}

// ---- every kind of input -------------------------------------------------------------------

/// 身分 labels of `mappings/registrar.toml`.
const STATUSES: [&str; 7] = [
    "学部生",
    "大学院生",
    "研究生",
    "科目等履修生",
    "聴講生",
    "特別聴講学生",
    "特別研究学生",
];

/// 在籍状態: labels and numeric codes, still a student or not.
const ENROLLMENTS: [&str; 13] = [
    "在学", "1", "休学", "2", "留学", "卒業", "3", "修了", "4", "退学", "5", "除籍", "6",
];

/// 職種 labels of `mappings/hr.toml`.
const JOB_TYPES: [&str; 11] = [
    "教員",
    "教授",
    "准教授",
    "講師",
    "助教",
    "職員",
    "事務職員",
    "技術職員",
    "非常勤講師",
    "非常勤職員",
    "時間雇用職員",
];

/// 申請種別 of `mappings/renewals.toml`, per kind: 利用継続 (R8), 年度更新 (R10), JSPS (R11).
const RENEWAL_KINDS: [&[&str]; 3] = [
    &["利用継続", "身分変更"],
    &["年度更新", "利用延長"],
    &["JSPS特別研究員", "日本学術振興会特別研究員", "学振"],
];

/// Names no sample account has (kana and birth date could otherwise suggest a candidate).
const NAMES: [(&str, &str); 4] = [
    ("未登録　一郎", "ミトウロク　イチロウ"),
    ("未登録 花子", "ミトウロク ハナコ"),
    ("架空次郎", "カクウジロウ"),
    ("SMITH, Jane", "スミス ジェーン"),
];

fn date(year: u32, (month, day): (u32, u32)) -> String {
    format!("{year}-{month:02}-{day:02}")
}

fn month_day() -> impl Strategy<Value = (u32, u32)> {
    (1u32..=3, 1u32..=28)
}

/// One generated row whose ECS-ID is unknown; its identifiers come from the number `n`.
#[derive(Debug, Clone)]
enum Row {
    Registrar {
        status: &'static str,
        enrollment: &'static str,
        with_person_id: bool,
        name: usize,
        born: u32,
    },
    Hr {
        job: &'static str,
        with_person_id: bool,
        with_student_no: bool,
        name: usize,
        hired: (u32, u32),
    },
    Renewal {
        kind: &'static str,
        with_person_id: bool,
        name: usize,
        approved: (u32, u32),
    },
    Activation {
        on: (u32, u32),
    },
}

fn registrar_row() -> impl Strategy<Value = Row> {
    (
        prop::sample::select(STATUSES.as_slice()),
        prop::sample::select(ENROLLMENTS.as_slice()),
        any::<bool>(),
        0..NAMES.len(),
        1970u32..2008,
    )
        .prop_map(
            |(status, enrollment, with_person_id, name, born)| Row::Registrar {
                status,
                enrollment,
                with_person_id,
                name,
                born,
            },
        )
}

fn hr_row() -> impl Strategy<Value = Row> {
    (
        prop::sample::select(JOB_TYPES.as_slice()),
        any::<bool>(),
        any::<bool>(),
        0..NAMES.len(),
        month_day(),
    )
        .prop_map(
            |(job, with_person_id, with_student_no, name, hired)| Row::Hr {
                job,
                with_person_id,
                with_student_no,
                name,
                hired,
            },
        )
}

/// One row of each kind of application, under any of its labels.
fn renewal_rows() -> impl Strategy<Value = Vec<Row>> {
    RENEWAL_KINDS
        .iter()
        .map(|labels| {
            (
                prop::sample::select(*labels),
                any::<bool>(),
                0..NAMES.len(),
                month_day(),
            )
                .prop_map(|(kind, with_person_id, name, approved)| Row::Renewal {
                    kind,
                    with_person_id,
                    name,
                    approved,
                })
        })
        .collect::<Vec<_>>()
}

fn activation_row() -> impl Strategy<Value = Row> {
    month_day().prop_map(|on| Row::Activation { on })
}

/// Up to 10 rows: 1–3 registrar, 1–2 HR, the 3 kinds of application, 1–2 activations.
const MAX_ROWS: usize = 10;

fn rows() -> impl Strategy<Value = Vec<Row>> {
    (
        prop::collection::vec(registrar_row(), 1..=3),
        prop::collection::vec(hr_row(), 1..=2),
        renewal_rows(),
        prop::collection::vec(activation_row(), 1..=2),
    )
        .prop_map(|(mut r, h, n, a)| {
            r.extend(h);
            r.extend(n);
            r.extend(a);
            r
        })
}

/// An ECS-ID no sample account has, one per `n` in 0..200: `a04999nn` (the ID format of new
/// accounts) or `z9` + 6 digits.
fn unknown_ecs_id(n: u32) -> String {
    if n < 100 {
        format!("a04999{n:02}")
    } else {
        format!("z9{:06}", n * 4_999)
    }
}

/// The four input files (header rows as in the samples and `mappings/*.toml`), and per row its
/// ECS-ID and what it was, for messages.
struct Files {
    registrar: String,
    hr: String,
    renewals: String,
    activations: String,
    named: Vec<(String, String)>,
}

fn files(rows: &[Row], numbers: &[u32]) -> Files {
    let mut f = Files {
        registrar: "学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\n".into(),
        hr: "職員番号,個人番号,学籍番号,ECS-ID,氏名,氏名カナ,生年月日,所属,職種,採用年月日\n".into(),
        renewals: "申請種別,ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,承認日,有効期限\n"
            .into(),
        activations: "ECS-ID,有効化日\n".into(),
        named: Vec::new(),
    };
    for (row, &n) in rows.iter().zip(numbers) {
        let ecs_id = unknown_ecs_id(n);
        // Faculty/school code 99 and these 個人番号 and 職員番号 ranges are not in the samples.
        let student_no = format!("{:08}", 99_000_000 + n);
        let person_id = format!("{:010}", 99_900_000 + n);
        let staff_no = format!("{:07}", 900_000 + n);
        let opt = |on: bool, v: &str| if on { v.to_owned() } else { String::new() };
        let (what, line, file) = match row {
            Row::Registrar {
                status,
                enrollment,
                with_person_id,
                name,
                born,
            } => {
                let (kanji, kana) = NAMES[*name];
                let still = matches!(*enrollment, "在学" | "1" | "休学" | "2" | "留学");
                let changed = if still { "" } else { "2026-03-31" };
                (
                    format!("registrar {status} {enrollment}"),
                    format!(
                        "{student_no},{},{ecs_id},\"{kanji}\",{kana},{born}-05-01,文学部,{status},{enrollment},2022-04-01,{changed}\n",
                        opt(*with_person_id, &person_id),
                    ),
                    &mut f.registrar,
                )
            }
            Row::Hr {
                job,
                with_person_id,
                with_student_no,
                name,
                hired,
            } => {
                let (kanji, kana) = NAMES[*name];
                (
                    format!("hr {job}"),
                    format!(
                        "{staff_no},{},{},{ecs_id},\"{kanji}\",{kana},1980/01/30,理学研究科,{job},{}\n",
                        opt(*with_person_id, &person_id),
                        opt(*with_student_no, &student_no),
                        date(2026, *hired),
                    ),
                    &mut f.hr,
                )
            }
            Row::Renewal {
                kind,
                with_person_id,
                name,
                approved,
            } => {
                let (kanji, kana) = NAMES[*name];
                (
                    format!("renewals {kind}"),
                    format!(
                        "{kind},{ecs_id},{},,\"{kanji}\",{kana},1990/07/14,文学研究科 研究員,{},2027/03/31\n",
                        opt(*with_person_id, &person_id),
                        date(2026, *approved),
                    ),
                    &mut f.renewals,
                )
            }
            Row::Activation { on } => (
                "activations".to_owned(),
                format!("{ecs_id},{}\n", date(2026, *on)),
                &mut f.activations,
            ),
        };
        file.push_str(&line);
        f.named.push((ecs_id, what));
    }
    f
}

fn check(rows: &[Row], numbers: &[u32]) -> Result<(), TestCaseError> {
    let f = files(rows, numbers);
    let dir = imported(Some(""), &[]);
    let d = dir.path();
    let before = exported(d);
    let written = [
        ("in/registrar.csv", &f.registrar),
        ("in/hr.csv", &f.hr),
        ("in/renewals.csv", &f.renewals),
        ("in/activations.csv", &f.activations),
    ];
    for (name, contents) in written {
        write(&d.join(name), contents);
    }
    for (ecs_id, what) in &f.named {
        prop_assert!(!before.contains(ecs_id), "{what}: {ecs_id} is on record");
    }

    let mut args = vec!["plan"];
    args.extend(written.iter().map(|(name, _)| *name));
    args.extend(["--out", "p", "--as-of", "2026-04-02"]);
    let o = output(d, &args, &[]);
    prop_assert_eq!(o.status.code(), Some(0), "plan: {}", text(&o));
    let o = output(d, &["apply", "p/plan.json"], &[]);
    prop_assert_eq!(o.status.code(), Some(0), "apply: {}", text(&o));

    let o = output(d, &["review", "list"], &[]);
    prop_assert!(o.status.success(), "{}", text(&o));
    let list = text(&o);
    let missing: Vec<String> = f
        .named
        .iter()
        .filter(|(ecs_id, _)| {
            !list
                .split("\n\n")
                .any(|item| item.contains(ecs_id.as_str()) && item.contains("unknown_account"))
        })
        .map(|(ecs_id, what)| format!("{what}: {ecs_id}"))
        .collect();
    prop_assert!(
        missing.is_empty(),
        "no unknown_account review item names {missing:?}\n{list}"
    );

    // Nothing was created for these rows, nor given any of their ECS-IDs.
    let after = exported(d);
    for (ecs_id, what) in &f.named {
        prop_assert!(!after.contains(ecs_id), "{what}: {ecs_id} was given");
    }
    prop_assert_eq!(
        after.difference(&before).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "accounts created for rows naming unknown ECS-IDs"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        // Each case spawns the binary five times; a failure shrinks briefly.
        max_shrink_iters: 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_row_naming_an_unknown_ecs_id_is_reviewed_and_never_given_one(
        rows in rows(),
        numbers in prop::collection::btree_set(0u32..200, MAX_ROWS)
            .prop_map(Vec::from_iter)
            .prop_shuffle(),
    ) {
        check(&rows, &numbers)?;
    }
}
