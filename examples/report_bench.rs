//! Times the three report writers on a synthetic national-size plan (issue 5): by default
//! 100,000 actions — 40 % creates, 20 % updates, 40 % departures, plus a few review items —
//! with Japanese names, bilingual reasons, changes and the `after` account of every action, as
//! `rules::plan` makes them.
//!
//! Run: `cargo run --release --example report_bench -- [--actions 100000] [--runs 7] [--out DIR] [--only-files]`
//!
//! Prints, per writer, the minimum and median wall time and the median CPU time (all threads)
//! over the runs of rendering into memory (`plan_json`, `report_csv`, `report_html`) and of
//! `report::write_all` into `DIR` (default: a temporary folder), with the size of each file.
//! Deterministic: the same arguments build the same plan.

use std::error::Error;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use compact_str::CompactString;

use regsync::domain::account::{Account, Delivery, Role, State, StopReason};
use regsync::domain::model::{Kind, PersonId, Status, StudentNo};
use regsync::domain::plan::{
    Action, ActionKind, Change, InputFile, Person, Plan, ReviewReason, Rule, Source,
};
use regsync::report;

type Res<T> = Result<T, Box<dyn Error>>;

const FAMILY: [(&str, &str); 8] = [
    ("山田", "ヤマダ"),
    ("佐藤", "サトウ"),
    ("髙橋", "タカハシ"),
    ("鈴木", "スズキ"),
    ("田中", "タナカ"),
    ("渡邉", "ワタナベ"),
    ("伊藤", "イトウ"),
    ("中村", "ナカムラ"),
];
const GIVEN: [(&str, &str); 8] = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("翔太", "ショウタ"),
    ("美咲", "ミサキ"),
    ("健一", "ケンイチ"),
    ("さくら", "サクラ"),
    ("大輔", "ダイスケ"),
    ("由美子", "ユミコ"),
];
const FACULTY: [&str; 6] = [
    "工学部",
    "文学部",
    "理学部",
    "医学部",
    "経済学部",
    "工学研究科",
];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn account(k: usize, person: &Person) -> Account {
    Account {
        kumoi: CompactString::new(format!("student.{k}@st.example.ac.jp")),
        person_id: person.person_id.clone(),
        student_nos: person.student_no.iter().cloned().collect(),
        name: person.name.clone(),
        name_kana: person.name_kana.clone(),
        birth_date: Some(date(
            2004 + (k % 8) as i32,
            1 + (k % 12) as u32,
            1 + (k % 28) as u32,
        )),
        faculty: person.faculty.clone(),
        status: person.status,
        ..Account::sample(&format!("a0{:06}", 1_000 + k))
    }
}

fn action(k: usize, n: usize) -> Action {
    let (fam, fam_kana) = FAMILY[k % FAMILY.len()];
    let (giv, giv_kana) = GIVEN[(k / FAMILY.len()) % GIVEN.len()];
    let faculty = FACULTY[k % FACULTY.len()];
    let person = Person {
        name: CompactString::new(format!("{fam}\u{3000}{giv}")),
        name_kana: CompactString::new(format!("{fam_kana} {giv_kana}")),
        student_no: Some(StudentNo::new(&format!("10{:08}", k))),
        person_id: Some(PersonId::new(&format!("P{:07}", k))),
        faculty: CompactString::new(faculty),
        status: Some(Status::Undergraduate),
    };
    let source = Some(Source {
        file: "registrar_20260402.csv".into(),
        row: 5 + k as u32,
    });
    let mut after = account(k, &person);
    let as_of = date(2026, 4, 2);
    // A handful of review items, then 40 % creates, 20 % updates, 40 % departures.
    let review_every = 10_000;
    let mut a = if k % review_every == 7 {
        let mut a = Action::new(
            ActionKind::Review,
            Rule::R2,
            person,
            source,
            format!(
                "R2: 識別子は一致しませんが、氏名カナと生年月日が a0{:06} と同じです。同一人物なら同じECS-IDを使います",
                k
            ),
            format!(
                "R2: no identifier matches, but the kana name and birth date equal those of a0{:06}; if the same person, the same ECS-ID must be used",
                k
            ),
        );
        a.review = Some(ReviewReason::NameBirthCandidate);
        return a;
    } else if k * 10 < n * 4 {
        let deadline = date(2026, 6, 1);
        after.state = State::Pending;
        after.activation_deadline = Some(deadline);
        let mut a = Action::new(
            ActionKind::Create,
            Rule::R1,
            person,
            source,
            format!(
                "R1/R3: 2026-04-01入学。アカウント通知書を所属学部等から配付（有効化期限 {deadline}）"
            ),
            format!(
                "R1/R3: admitted 2026-04-01; account letter through the faculty (activate by {deadline})"
            ),
        );
        a.effective_on = Some(date(2026, 4, 1));
        a.delivery = Some(Delivery::Letter);
        a.role = Some(Role::Student);
        a
    } else if k * 10 < n * 6 {
        let old = format!("10{:08}", k + 7_000_000);
        after.student_nos.insert(0, StudentNo::new(&old));
        after.status = Some(Status::Graduate);
        let mut a = Action::new(
            ActionKind::Update,
            Rule::R7,
            person,
            source,
            "R7: 学部から大学院へ進学（同じECS-ID）".into(),
            "R7: moved on to graduate school (same ECS-ID)".into(),
        );
        a.effective_on = Some(date(2026, 4, 1));
        a.changes = vec![
            Change {
                field: "student_no".into(),
                from: old,
                to: format!("10{:08}", k),
            },
            Change {
                field: "faculty".into(),
                from: "工学部".into(),
                to: "工学研究科".into(),
            },
            Change {
                field: "status".into(),
                from: "学部生".into(),
                to: "大学院生".into(),
            },
        ];
        a
    } else {
        let stop_on = date(2026, 4, 16);
        after.stop_on = Some(stop_on);
        after.stop_reason = Some(StopReason::Departed);
        after.departed_on = Some(date(2026, 3, 31));
        let mut a = Action::new(
            ActionKind::Depart,
            Rule::R5,
            person,
            source,
            format!(
                "R5: 卒業（2026-03-31）により学籍を喪失。本日KUMOIへ通知し、{stop_on}に停止します"
            ),
            format!("R5: graduated on 2026-03-31; notice to KUMOI today, stop on {stop_on}"),
        );
        a.effective_on = Some(date(2026, 3, 31));
        a.notice_on = Some(as_of);
        a.stop_on = Some(stop_on);
        a.stop_reason = Some(StopReason::Departed);
        a
    };
    a.ecs_id = Some(after.ecs_id.clone());
    a.after = Some(after);
    a
}

/// A plan of `n` actions, review items first as `rules::plan` orders them.
pub fn synthetic_plan(n: usize) -> Plan {
    let mut actions: Vec<Action> = (0..n).map(|k| action(k, n)).collect();
    actions.sort_by_key(|a| a.kind);
    Plan {
        format: Plan::FORMAT,
        as_of: date(2026, 4, 2),
        store_digest: "3f2a9c1e7b6d5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a09".into(),
        next_serial: 1_000 + n as u64,
        inputs: vec![InputFile {
            name: "registrar_20260402.csv".into(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            kind: Kind::Registrar,
            rows: n + 3,
        }],
        actions,
        warnings: vec!["registrar_20260402.csv:6: 平成32年 is past the end of 平成".into()],
        held: Vec::new(),
    }
}

/// CPU time of this process so far, all threads (Linux: `/proc/self/task/*/schedstat`, whose
/// first field is nanoseconds on a CPU); zero elsewhere. The machine is shared, so wall times
/// vary with the load while the CPU time of a writer does not.
fn cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

/// Minimum and median wall time of the runs (the minimum is the run least disturbed by other
/// jobs), and the median CPU time.
#[derive(Debug, Clone, Copy)]
struct Times {
    min: Duration,
    median: Duration,
    cpu: Duration,
}

impl std::fmt::Display for Times {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "wall min {:6.1} ms  median {:6.1} ms  cpu {:6.1} ms",
            ms(self.min),
            ms(self.median),
            ms(self.cpu)
        )
    }
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Times, T) {
    let mut walls = Vec::with_capacity(runs);
    let mut cpus = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        drop(last.take());
        let (t, c) = (Instant::now(), cpu_time());
        let v = f();
        walls.push(t.elapsed());
        cpus.push(cpu_time().saturating_sub(c));
        last = Some(v);
    }
    walls.sort();
    cpus.sort();
    let t = Times {
        min: walls.first().copied().unwrap_or_default(),
        median: walls.get(walls.len() / 2).copied().unwrap_or_default(),
        cpu: cpus.get(cpus.len() / 2).copied().unwrap_or_default(),
    };
    match last {
        Some(v) => (t, v),
        None => (t, f()),
    }
}

fn main() -> Res<()> {
    let mut n = 100_000usize;
    let mut runs = 7usize;
    let mut out: Option<PathBuf> = None;
    let mut only_files = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--actions" => n = value()?.parse()?,
            "--runs" => runs = value()?.parse::<usize>()?.max(1),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--only-files" => only_files = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let t = Instant::now();
    let plan = synthetic_plan(n);
    println!(
        "plan: {} actions ({}) built in {:?}",
        plan.actions.len(),
        regsync::report::counts_line(&plan),
        t.elapsed()
    );

    if !only_files {
        in_memory(&plan, runs);
    }

    let tmp;
    let dir = match out {
        Some(d) => d,
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let view = report::View::dry_run(&dir.join("plan.json"), report::Lang::Ja);
    let (all_t, paths) = time(runs, || report::write_all(&plan, &dir, &view));
    paths?;
    println!(
        "  write_all    {all_t}  (four files into {}, synced)",
        dir.display()
    );
    Ok(())
}

fn in_memory(plan: &Plan, runs: usize) {
    let (json_t, json) = time(runs, || report::plan_json(plan));
    let (csv_t, csv) = time(runs, || report::report_csv(plan));
    let view = report::View::dry_run(std::path::Path::new("plan/plan.json"), report::Lang::Ja);
    let (html_t, html) = time(runs, || report::report_html(plan, &view));
    let (xlsx_t, xlsx) = time(runs, || {
        report::report_xlsx(plan, &std::env::temp_dir()).unwrap_or_default()
    });
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!("in memory ({runs} runs):");
    println!("  plan.json    {json_t}  {:7.1} MiB", mib(json.len()));
    println!("  report.csv   {csv_t}  {:7.1} MiB", mib(csv.len()));
    println!("  report.html  {html_t}  {:7.1} MiB", mib(html.len()));
    println!("  report.xlsx  {xlsx_t}  {:7.1} MiB", mib(xlsx.len()));
}
