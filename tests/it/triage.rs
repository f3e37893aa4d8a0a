//! Triage (`triage`) must never change a plan: the plan computed from the compact keys,
//! the sifted rows and the selected accounts equals the plan the rules compute on the full
//! snapshot with every row. Checked on generated worlds with every kind of row and account
//! state mixed in, and over the four nights of the shipped demo.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use regsync::config::Settings;
use regsync::domain::account::{Account, Role, State, StopReason};
use regsync::domain::model::{PersonId, Status, StudentNo};
use regsync::domain::plan::{ActionKind, Plan};
use regsync::domain::rules;
use regsync::ingest::Sink;
use regsync::ingest::batch::Batch;
use regsync::store::{IdFormat, Store};
use regsync::testing::XorShift;
use regsync::triage::{self, Sifter};

use crate::common::{Result, cmd, root};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
}

/// The plan on the full snapshot with every row kept: the reference.
fn full_plan(settings: &Settings, files: &[PathBuf], as_of: NaiveDate) -> Result<Plan> {
    let snapshot = match Store::open_read_only(&settings.store_path)? {
        Some(store) => store.snapshot()?,
        None => return Err("no store".into()),
    };
    let mut batch = Batch::read(files, &settings.profiles);
    let inputs = batch.inputs(&settings.profiles);
    Ok(rules::plan(&snapshot, &inputs, as_of, &settings.policy))
}

#[track_caller]
fn assert_same(settings: &Settings, files: &[PathBuf], as_of: NaiveDate) -> Result<Plan> {
    let full = full_plan(settings, files, as_of)?;
    let (triaged, _, _) = regsync::night::plan::compute(settings, files, as_of)?;
    let (a, b) = (
        serde_json::to_string_pretty(&full)?,
        serde_json::to_string_pretty(&triaged)?,
    );
    if a != b {
        let first = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        let context: Vec<String> = a
            .lines()
            .zip(b.lines())
            .skip(first.saturating_sub(20))
            .take(30)
            .map(|(x, y)| format!("{x}\n   | {y}"))
            .collect();
        return Err(format!(
            "triaged plan differs from the full plan at line {first}:\n{}",
            context.join("\n")
        )
        .into());
    }
    Ok(full)
}

fn creates(p: &Plan) -> usize {
    p.actions
        .iter()
        .filter(|a| a.kind == ActionKind::Create)
        .count()
}

const FAMILY: &[(&str, &str)] = &[
    ("山田", "ヤマダ"),
    ("鈴木", "スズキ"),
    ("髙橋", "タカハシ"),
    ("田中", "タナカ"),
    ("渡邊", "ワタナベ"),
];
const GIVEN: &[(&str, &str)] = &[
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("翔", "ショウ"),
    ("美咲", "ミサキ"),
];
const FACULTIES: &[&str] = &["文学部", "理学部", "工学研究科", "法学部"];
const STATUSES: &[(Status, &str)] = &[
    (Status::Undergraduate, "学部生"),
    (Status::Graduate, "大学院生"),
    (Status::ResearchStudent, "研究生"),
];

/// A world of `n` people: accounts in every state, and a registrar export whose rows say every
/// kind of thing about them (unchanged, spelled differently, changed, renumbered, departed,
/// absent, duplicated, contradicting, new, alike in kana and birth date to someone on record).
fn world(seed: u64, n: usize) -> (Vec<Account>, String) {
    let mut rng = XorShift::plain(XorShift::spread(seed));
    let mut accounts = Vec::new();
    let mut kumoi_used = std::collections::HashMap::<String, u32>::new();
    let mut csv = String::from(
        "学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\n",
    );
    for i in 0..n {
        let (fam, fam_kana) = *rng.pick(FAMILY);
        let (giv, giv_kana) = *rng.pick(GIVEN);
        let name = format!("{fam}\u{3000}{giv}");
        let kana = format!("{fam_kana}\u{3000}{giv_kana}");
        // Birth dates spread out, except on April 1, where kana + birth date twins occur.
        let birth = if i % 7 == 0 {
            "2004-04-01".to_string()
        } else {
            format!("2004-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))
        };
        let faculty = *rng.pick(FACULTIES);
        let (status, status_ja) = *rng.pick(STATUSES);
        let ecs = format!("a0{:06}", 100_000 + i);
        let person = format!("{:010}", 1_000_000 + i);
        let number = format!("{:08}", 20_000_000 + i);
        let mut a = Account {
            // KUMOI as allocation gives them (`yamada.tarou`, `yamada.tarou.2`, ...), which a
            // new person of the same kana name must not get again.
            kumoi: {
                let base = rules::romanize(&kana);
                let n = kumoi_used.entry(base.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    format!("{base}@st.example.ac.jp").into()
                } else {
                    format!("{base}.{n}@st.example.ac.jp").into()
                }
            },
            person_id: Some(PersonId::new(&person)),
            student_nos: vec![StudentNo::new(&number)],
            name: name.as_str().into(),
            name_kana: kana.as_str().into(),
            birth_date: Some(date(&birth)),
            faculty: faculty.into(),
            status: Some(status),
            ..Account::sample(&ecs)
        };
        match rng.below(40) {
            0 | 1 => {
                a.state = State::Stopped;
                a.stop_on = Some(date("2026-02-01"));
                a.stop_reason = Some(StopReason::Departed);
            }
            2 | 3 => {
                a.stop_on = Some(date("2026-05-01"));
                a.stop_reason = Some(StopReason::Departed);
                a.departed_on = Some(date("2026-03-31"));
            }
            4 => {
                a.role = Role::Holder;
                a.holder_until = Some(date("2026-04-30"));
            }
            5 | 6 => {
                a.state = State::Pending;
                a.activation_deadline = Some(date(if i % 2 == 0 {
                    "2026-04-01"
                } else {
                    "2026-05-01"
                }));
            }
            7 => {
                a.role = Role::ConvertingStaff;
                a.stop_on = Some(date("2026-06-30"));
                a.stop_reason = Some(StopReason::StaffConversion);
                a.reminder_on = Some(date("2026-03-31"));
            }
            8 | 9 => a.status = None,
            10 => a.person_id = None,
            11 => a.birth_date = None,
            12 => a.stop_on = Some(date("2026-04-02")),
            _ => {}
        }
        let mut row = |number: &str,
                       person: &str,
                       ecs: &str,
                       name: &str,
                       kana: &str,
                       faculty: &str,
                       status_ja: &str,
                       enrollment: &str,
                       changed: &str| {
            let _ = writeln!(
                csv,
                "{number},{person},{ecs},{name},{kana},{birth},{faculty},{status_ja},{enrollment},2022-04-01,{changed}"
            );
        };
        let has_account = rng.below(25) != 0;
        match rng.below(30) {
            // Absent from the export.
            0 => {}
            // Written differently, the same: ASCII space, no space, half-width kana.
            1 => row(
                &number,
                &person,
                "",
                &format!("{fam} {giv}"),
                &format!("{fam_kana}{giv_kana}"),
                faculty,
                status_ja,
                "在学",
                "",
            ),
            2 => row(
                &number,
                &person,
                &ecs,
                &name,
                "ﾀﾅｶ ﾀﾛｳ",
                faculty,
                status_ja,
                "在学",
                "",
            ),
            // Changed.
            3 => row(
                &number,
                &person,
                "",
                &name,
                &kana,
                "医学部",
                status_ja,
                "在学",
                "",
            ),
            4 => row(
                &number,
                &person,
                "",
                &name,
                &kana,
                faculty,
                "研究生",
                "在学",
                "",
            ),
            5 => row(
                &number,
                &person,
                "",
                &format!("{fam}\u{3000}次郎"),
                &kana,
                faculty,
                status_ja,
                "在学",
                "",
            ),
            // Renumbered: the old number finished, a new one enrolled.
            6 => {
                row(
                    &number,
                    &person,
                    "",
                    &name,
                    &kana,
                    faculty,
                    status_ja,
                    "修了",
                    "2026-03-31",
                );
                row(
                    &format!("9{}", &number[1..]),
                    &person,
                    "",
                    &name,
                    &kana,
                    "工学研究科",
                    "研究生",
                    "在学",
                    "",
                );
            }
            // Departed.
            7 => row(
                &number,
                &person,
                "",
                &name,
                &kana,
                faculty,
                status_ja,
                "卒業",
                "2026-03-31",
            ),
            // The same row twice; two rows that disagree; one unchanged and one departed.
            8 => {
                row(
                    &number, &person, "", &name, &kana, faculty, status_ja, "在学", "",
                );
                row(
                    &number, &person, "", &name, &kana, faculty, status_ja, "在学", "",
                );
            }
            9 => {
                row(
                    &number, &person, "", &name, &kana, faculty, status_ja, "在学", "",
                );
                row(
                    &number,
                    &person,
                    "",
                    &name,
                    &kana,
                    "医学部",
                    status_ja,
                    "在学",
                    "",
                );
            }
            10 => {
                row(
                    &number, &person, "", &name, &kana, faculty, status_ja, "在学", "",
                );
                row(
                    &format!("8{}", &number[1..]),
                    &person,
                    "",
                    &name,
                    &kana,
                    faculty,
                    status_ja,
                    "卒業",
                    "2026-03-31",
                );
            }
            // Another person's ECS-ID; another person's 個人番号; no 個人番号.
            11 => row(
                &number, &person, "a0100000", &name, &kana, faculty, status_ja, "在学", "",
            ),
            12 => row(
                &number,
                &format!("{:010}", 1_000_000 + (i + 1) % n),
                "",
                &name,
                &kana,
                faculty,
                status_ja,
                "在学",
                "",
            ),
            13 => row(
                &number, "", "", &name, &kana, faculty, status_ja, "在学", "",
            ),
            // Renumbered a year ago: the account has the earlier number too, and the export
            // lists the earlier number's row (its 卒業) or not.
            // R7: the registry gave a new 個人番号; unchanged otherwise, or renumbered with the
            // earlier number's row carrying the new one too.
            16 => row(
                &number,
                &format!("8{}", &person[1..]),
                "",
                &name,
                &kana,
                faculty,
                status_ja,
                "在学",
                "",
            ),
            17 => {
                let new_person = format!("8{}", &person[1..]);
                row(
                    &number,
                    &new_person,
                    "",
                    &name,
                    &kana,
                    faculty,
                    status_ja,
                    "卒業",
                    "2026-03-31",
                );
                row(
                    &format!("7{}", &number[1..]),
                    &new_person,
                    "",
                    &name,
                    &kana,
                    "工学研究科",
                    "大学院生",
                    "在学",
                    "",
                );
            }
            14 | 15 => {
                let earlier = format!("7{}", &number[1..]);
                a.student_nos.insert(0, StudentNo::new(&earlier));
                if rng.below(2) == 0 {
                    row(
                        &earlier,
                        &person,
                        "",
                        &name,
                        &kana,
                        "文学部",
                        "学部生",
                        "卒業",
                        "2025-03-31",
                    );
                }
                row(
                    &number, &person, "", &name, &kana, faculty, status_ja, "在学", "",
                );
            }
            _ => row(
                &number, &person, "", &name, &kana, faculty, status_ja, "在学", "",
            ),
        }
        if has_account {
            accounts.push(a);
        } else {
            // A new person on every third such row is the kana + birth date twin of someone.
            let birth = if i % 3 == 0 {
                "2004-04-01".to_string()
            } else {
                format!("2003-05-{:02}", 1 + i % 28)
            };
            let _ = writeln!(
                csv,
                "{:08},{:010},,{name},{kana},{birth},{faculty},{status_ja},在学,2026-04-01,",
                30_000_000 + i,
                5_000_000 + i
            );
        }
    }
    (accounts, csv)
}

fn settings_in(dir: &Path, extra: &str) -> Result<Settings> {
    let config = dir.join("regsync.toml");
    std::fs::write(
        &config,
        format!("[paths]\nstore = \"regsync.sqlite\"\n{extra}"),
    )?;
    Ok(Settings::load(Some(&config))?)
}

#[test]
fn triage_gives_the_full_plan_on_generated_worlds() -> Result {
    for seed in 1..=6 {
        let dir = tempfile::tempdir()?;
        let settings = settings_in(dir.path(), "")?;
        let (accounts, csv) = world(seed, 600);
        let mut store = Store::open(&settings.store_path)?;
        store.import(&accounts, &IdFormat::from(&settings.policy), None, None)?;
        drop(store);
        let file = dir.path().join("registrar.csv");
        std::fs::write(&file, csv)?;
        // The world has quiet rows, quiet rows of accounts the rules read anyway, and mixed ones.
        let store = Store::open_read_only(&settings.store_path)?.ok_or("no store")?;
        let keys = store.keys()?;
        let sifter = Sifter::new(&keys);
        let mut batch = Batch::read_with(
            std::slice::from_ref(&file),
            &settings.profiles,
            Sink::Sift(&sifter),
        );
        if let Some(f) = batch.rejected().next() {
            let first: Vec<String> = f
                .ingested
                .diagnostics
                .iter()
                .take(3)
                .map(|d| format!("{d:?}"))
                .collect();
            return Err(format!("seed {seed}: the export is rejected: {first:?}").into());
        }
        let (inputs, selection) =
            triage::narrow(&keys, &settings.profiles, &mut batch, date("2026-04-02"))?;
        // Quiet rows, quiet rows of accounts the rules read anyway, mixed accounts whose quiet
        // rows were held and taken back, and ones read again.
        let s = selection.stats;
        eprintln!("seed {seed}: {} rows kept, {s:?}", inputs.registrar.len());
        assert!(
            s.quiet > 200
                && s.quiet_seen > 0
                && s.taken_back > 0
                && s.held > s.taken_back
                && s.read_again > 0,
            "seed {seed}: {s:?}"
        );
        for as_of in ["2026-04-02", "2026-05-01", "2026-07-01"] {
            let plan = assert_same(&settings, std::slice::from_ref(&file), date(as_of))?;
            assert!(
                creates(&plan) > 5,
                "seed {seed}: a plan that creates accounts"
            );
        }
    }
    Ok(())
}

#[test]
fn triage_gives_the_full_plan_over_the_demo_nights() -> Result {
    let dir = tempfile::tempdir()?;
    let settings = settings_in(
        dir.path(),
        "[policy]\nguard_share = 0.25\n[mail]\ntransport = \"file\"\ndir = \"mail-out\"\n",
    )?;
    let samples = root().join("samples");
    let regsync = |args: &[&str]| -> Result {
        let out = cmd(dir.path(), args, &[]).output()?;
        if out.status.code().is_some_and(|c| c == 0 || c == 5) {
            Ok(())
        } else {
            Err(format!("regsync {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into())
        }
    };
    regsync(&[
        "accounts",
        "import",
        &samples.join("accounts.csv").to_string_lossy(),
    ])?;
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox)?;
    let nights: &[(&str, &[&str])] = &[
        (
            "2026-04-02",
            &[
                "registrar-2026-04-02.csv",
                "hr-2026-04-02.csv",
                "renewals-2026-04-02.csv",
                "activations-2026-04-02.csv",
            ],
        ),
        ("2026-04-17", &["registrar-2026-04-17.csv"]),
        ("2026-05-31", &[]),
        ("2026-06-30", &[]),
    ];
    for (night, files) in nights {
        for f in *files {
            std::fs::copy(samples.join(f), inbox.join(f))?;
            crate::common::settle(&inbox.join(f));
        }
        let files = regsync::night::plan::inbox_files(&inbox)?;
        assert_same(&settings, &files, date(night))?;
        regsync(&["run", "--as-of", night])?;
    }
    Ok(())
}
