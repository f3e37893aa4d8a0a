//! Report: renders a [`Plan`] into the three files an administrator reviews before anything
//! changes — `plan.json` (the plan itself, byte-identical for the same plan), `report.csv` (one
//! row per action, for Excel) and `report.html` (one self-contained page). This is shell code:
//! it writes those files and does no other I/O. Each file is written to a temporary name in the
//! output folder and renamed into place once all three are written, so a reader never sees half
//! a report, and every error names the path it was about.
//!
//! A national night has 100,000 actions and the whole job has about a second, so the three
//! files are written in parallel and the two that grow with the plan (`plan.json`,
//! `report.csv`) are encoded in parallel chunks ([`write_par_chunks`]) that are written in plan
//! order: the bytes never depend on the thread count. `examples/report_bench.rs` times them.
//!
//! The renderers are also exposed as functions returning bytes ([`plan_json`], [`report_csv`],
//! [`report_html`]) so they can be tested and snapshotted without touching the disk.

pub(crate) mod csv;
pub(crate) mod directory;
mod held;
mod html;
mod inputs;
mod json;
pub mod view;
pub(crate) mod xlsx;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;

use crate::domain::plan::Plan;

pub use self::csv::report_csv;
pub use self::html::report_html;
pub(crate) use self::inputs::{render_input_refs, render_inputs};
pub(crate) use self::json::{check_seal, read_plan_json};
pub use self::view::{Lang, Limit, Status, View};
pub use self::xlsx::report_xlsx;

/// File names inside the output folder.
pub(crate) const PLAN_JSON: &str = "plan.json";
pub(crate) const REPORT_CSV: &str = "report.csv";
pub(crate) const REPORT_HTML: &str = "report.html";
pub(crate) const REPORT_XLSX: &str = "report.xlsx";

/// Where [`write_all`] put the three files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    pub plan_json: PathBuf,
    pub report_csv: PathBuf,
    pub report_html: PathBuf,
    pub report_xlsx: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot create report folder `{path}`: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The counts of the action kinds that occur, e.g. `depart 22, stop 3`, or `no actions`.
pub fn counts_line(plan: &Plan) -> String {
    let counts: Vec<String> = plan
        .counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect();
    if counts.is_empty() {
        "no actions".to_string()
    } else {
        counts.join(", ")
    }
}

/// One line: the day, the inputs and the counts per action kind — the summary cron mails.
pub(crate) fn summary_line(plan: &Plan) -> String {
    format!(
        "plan for {} on {} input file(s): {} action(s) — {}",
        plan.as_of,
        plan.inputs.len(),
        plan.actions.len(),
        counts_line(plan)
    )
}

/// Writes `plan.json`, `report.csv`, `report.xlsx` and `report.html` (its outcome line and
/// language from `view`) into `out_dir` (created if missing).
///
/// The files are rendered in parallel, each into a temporary file next to its final name; only
/// when all are written and synced are they renamed into place, so on error no earlier file is
/// replaced and no temporary is left behind.
///
/// `plan` is a reference, or the plan itself in an [`Arc`](std::sync::Arc) when the caller has
/// no further use for it: then whichever writer is the last to finish reading it frees it,
/// while the workbook is still being compressed (freeing a night's 100,000 actions takes
/// ~75 ms, which then no longer follow the files).
pub fn write_all<P>(plan: P, out_dir: &Path, view: &View) -> Result<ReportPaths, ReportError>
where
    P: std::ops::Deref<Target = Plan> + Clone + Send,
{
    crate::private::create_dir_all(out_dir).map_err(|source| ReportError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let paths = ReportPaths {
        plan_json: out_dir.join(PLAN_JSON),
        report_csv: out_dir.join(REPORT_CSV),
        report_html: out_dir.join(REPORT_HTML),
        report_xlsx: out_dir.join(REPORT_XLSX),
    };
    // The files are independent. report.xlsx, the longest, starts at once on this thread; the
    // others meanwhile on the pool (plan.json and the CSV also spread their actions over it).
    let others = plan.clone();
    let (xlsx, (json, (csv, html))) = rayon::join(
        || stage(&paths.report_xlsx, |w| xlsx::write_xlsx(plan, out_dir, w)),
        || {
            let plan = &*others;
            let written = rayon::join(
                || stage(&paths.plan_json, |w| json::write_plan_json(plan, w)),
                || {
                    rayon::join(
                        || stage(&paths.report_csv, |w| csv::write_csv(plan, w)),
                        || stage(&paths.report_html, |w| html::write_html(plan, view, w)),
                    )
                },
            );
            drop(others);
            written
        },
    );
    let mut staged = Vec::with_capacity(4);
    let mut first_error = None;
    for s in [json, xlsx, csv, html] {
        match s {
            Ok(s) => staged.push(s),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(err) = first_error {
        staged.into_iter().for_each(Staged::discard);
        return Err(err);
    }
    let mut staged = staged.into_iter();
    while let Some(s) = staged.next() {
        if let Err(err) = s.publish() {
            staged.for_each(Staged::discard);
            return Err(err);
        }
    }
    Ok(paths)
}

/// Writes `report.html` alone into `out_dir` again, for a new outcome line (a run's plan once
/// it is applied); the other files stay as they are.
pub fn rewrite_html(plan: &Plan, out_dir: &Path, view: &View) -> Result<PathBuf, ReportError> {
    let path = out_dir.join(REPORT_HTML);
    stage(&path, |w| html::write_html(plan, view, w))?.publish()?;
    Ok(path)
}

/// The plan as JSON with a trailing newline, one input, action or warning per line, fields in
/// the plan's declared order, so the same plan always gives the same bytes.
pub fn plan_json(plan: &Plan) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + plan.actions.len() * 1280);
    match json::write_plan_json(plan, &mut out) {
        Ok(()) => out,
        // The plan is plain derived structs with string keys and writing into a Vec cannot
        // fail, so this arm is unreachable; it still returns JSON rather than panicking.
        Err(e) => {
            let msg = serde_json::Value::String(e.to_string());
            format!("{{\"error\": {msg}}}\n").into_bytes()
        }
    }
}

/// Output buffer of each file: large writes, few system calls.
const WRITE_BUFFER: usize = 1 << 20;

/// Items rendered by one parallel task in [`write_par_chunks`].
pub(crate) const CHUNK: usize = 1024;
/// Items rendered ahead of the writer: bounds the buffers of a large plan (≈ 20 MB for
/// plan.json, whatever the number of actions).
pub(crate) const WINDOW: usize = 16 * CHUNK;

/// Renders `items` in parallel, [`CHUNK`] items per task into a buffer of `bytes_per_item`
/// each, and writes the buffers to `w` in item order, [`WINDOW`] items at a time; the buffers
/// are reused from one window to the next. The bytes are the same as rendering the items one
/// after another on one thread.
pub(crate) fn write_par_chunks<T: Sync, W: Write>(
    items: &[T],
    w: &mut W,
    bytes_per_item: usize,
    render: impl Fn(&[T], &mut Vec<u8>) -> io::Result<()> + Sync,
) -> io::Result<()> {
    let mut bufs: Vec<Vec<u8>> = Vec::new();
    for window in items.chunks(WINDOW) {
        let n = window.len().div_ceil(CHUNK);
        if bufs.len() < n {
            bufs.resize_with(n, || Vec::with_capacity(CHUNK * bytes_per_item));
        }
        let bufs = &mut bufs[..n];
        bufs.par_iter_mut()
            .zip(window.par_chunks(CHUNK))
            .try_for_each(|(buf, chunk)| {
                buf.clear();
                render(chunk, buf)
            })?;
        for buf in bufs.iter() {
            w.write_all(buf)?;
        }
    }
    Ok(())
}

/// A file written in full under a temporary name next to its final `path`.
#[derive(Debug)]
struct Staged {
    tmp: PathBuf,
    path: PathBuf,
}

impl Staged {
    /// Renames the temporary file over `path`; removes it when that fails.
    fn publish(self) -> Result<(), ReportError> {
        std::fs::rename(&self.tmp, &self.path).map_err(|source| {
            let _ = std::fs::remove_file(&self.tmp);
            ReportError::Write {
                path: self.path,
                source,
            }
        })
    }

    fn discard(self) {
        // Best effort: the error worth reporting is the one that made us discard.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Writes through `fill` into a temporary file next to `path` and syncs it. The temporary file
/// is removed when anything fails.
fn stage(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<Staged, ReportError> {
    let tmp = crate::private::temp_path(path);
    let result = (|| {
        let file = crate::private::create(&tmp)?;
        let mut w = BufWriter::with_capacity(WRITE_BUFFER, file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()
    })();
    match result {
        Ok(()) => Ok(Staged {
            tmp,
            path: path.to_path_buf(),
        }),
        Err(source) => {
            let _ = std::fs::remove_file(&tmp);
            Err(ReportError::Write {
                path: path.to_path_buf(),
                source,
            })
        }
    }
}

/// Whether any byte of `s` satisfies `pred`. Checks 32, then 8 bytes per step without
/// branching inside the step, which the compiler turns into vector compares; only the last few
/// bytes are checked one by one. Names, reasons and file names are scanned this way for
/// characters to escape or quote, 30 times per action, most of them shorter than 32 bytes.
#[inline]
pub(crate) fn any_byte(s: &[u8], pred: impl Fn(u8) -> bool) -> bool {
    let hit = |step: &[u8]| step.iter().fold(0u8, |hits, &b| hits | u8::from(pred(b))) != 0;
    let mut wide = s.chunks_exact(32);
    if wide.any(hit) {
        return true;
    }
    let mut narrow = wide.remainder().chunks_exact(8);
    narrow.any(hit) || narrow.remainder().iter().any(|&b| pred(b))
}

/// `2026-04-01`: what `NaiveDate`'s `Display` writes for years 0–9999, without going through
/// the formatting machinery (three dates a row, 100,000 rows).
pub(crate) fn push_date(out: &mut String, d: NaiveDate) {
    let year = d.year();
    if !(0..=9999).contains(&year) {
        let _ = write!(out, "{d}");
        return;
    }
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    let y = year.unsigned_abs();
    for n in [y / 1000, y / 100, y / 10, y] {
        out.push(digit(n));
    }
    for n in [d.month(), d.day()] {
        out.push('-');
        out.push(digit(n / 10));
        out.push(digit(n));
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    //! Small hand-made plans shared by the renderer tests.

    use chrono::NaiveDate;
    use compact_str::CompactString;

    use crate::domain::account::{Delivery, StopReason};
    use crate::domain::model::{EcsId, Kind, Status, StudentNo};
    use crate::domain::plan::{
        Action, ActionKind, Change, InputFile, Person, Plan, ReviewReason, Rule, Source,
    };

    pub(crate) fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    /// An action with only the fields every kind has.
    pub(crate) fn action(kind: ActionKind, rule: Rule, name: &str, faculty: &str) -> Action {
        let person = Person {
            name: CompactString::new(name),
            name_kana: CompactString::new("テスト タロウ"),
            student_no: Some(StudentNo::new("1029000001")),
            person_id: None,
            faculty: CompactString::new(faculty),
            status: Some(Status::Undergraduate),
        };
        let source = Some(Source {
            file: "registrar_20260401.csv".into(),
            row: 2,
        });
        let mut a = Action::new(kind, rule, person, source, String::new(), String::new());
        a.ecs_id = Some(EcsId::new("a0000001"));
        a
    }

    pub(crate) fn plan(actions: Vec<Action>) -> Plan {
        Plan {
            format: Plan::FORMAT,
            as_of: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default(),
            store_digest: "3f2a9c1e7b6d5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a09".into(),
            next_serial: 1,
            inputs: vec![InputFile {
                name: "registrar_20260401.csv".into(),
                sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                kind: Kind::Registrar,
                rows: 5,
            }],
            actions,
            warnings: Vec::new(),
            held: Vec::new(),
        }
    }

    /// One action of several kinds, in plan order (review first).
    pub(crate) fn small() -> Plan {
        let mut review = action(ActionKind::Review, Rule::R6, "山田 太郎", "工学部");
        review.ecs_id = Some(EcsId::new("a0000007"));
        review.review = Some(ReviewReason::EcsIdMismatch);
        review.reason_ja = "登録済みのECS-ID a0000007 と異なる a0000009 が記載されています".into();
        review.reason_en = "the export names ECS-ID a0000009, the record has a0000007".into();
        review.source = Some(Source {
            file: "registrar_20260401.csv".into(),
            row: 5,
        });

        let mut create = action(ActionKind::Create, Rule::R3, "髙橋 花子", "文学部");
        create.ecs_id = Some(EcsId::new("a0001234"));
        create.person.name_kana = CompactString::new("タカハシ ハナコ");
        create.person.student_no = Some(StudentNo::new("1260000001"));
        create.effective_on = date(2026, 4, 1);
        create.delivery = Some(Delivery::Letter);
        create.reason_ja = "4月入学（通知書で配付）".into();
        create.reason_en = "April admission (account letter)".into();

        let mut update = action(ActionKind::Update, Rule::R7, "佐藤 次郎", "工学研究科");
        update.ecs_id = Some(EcsId::new("a0000042"));
        update.person.status = Some(Status::Graduate);
        update.person.student_no = Some(StudentNo::new("7026000042"));
        update.effective_on = date(2026, 4, 1);
        update.changes = vec![
            Change {
                field: "student_no".into(),
                from: "1022000042".into(),
                to: "7026000042".into(),
            },
            Change {
                field: "faculty".into(),
                from: "工学部".into(),
                to: "工学研究科".into(),
            },
        ];
        update.reason_ja = "学部から大学院へ進学（同じECS-ID）".into();
        update.reason_en = "moved on to graduate school (same ECS-ID)".into();
        update.source = Some(Source {
            file: "registrar_20260401.csv".into(),
            row: 3,
        });

        let mut depart = action(ActionKind::Depart, Rule::R5, "=cmd|' /C calc'!A0", "工学部");
        depart.ecs_id = Some(EcsId::new("a0000100"));
        depart.effective_on = date(2026, 3, 25);
        depart.notice_on = date(2026, 4, 1);
        depart.stop_on = date(2026, 4, 15);
        depart.stop_reason = Some(StopReason::Departed);
        depart.reason_ja = "卒業（3月25日）。停止前に通知".into();
        depart.reason_en = "graduated on 2026-03-25; notice before stop".into();
        depart.source = Some(Source {
            file: "registrar_20260401.csv".into(),
            row: 4,
        });

        let mut stop = action(
            ActionKind::Stop,
            Rule::R9,
            "<script>alert(1)</script>",
            "事務局",
        );
        stop.ecs_id = Some(EcsId::new("a0000200"));
        stop.person.student_no = None;
        stop.person.status = None;
        stop.source = None;
        stop.stop_on = date(2026, 4, 1);
        stop.stop_reason = Some(StopReason::StaffConversion);
        stop.reason_ja = "教職員へ身分変更（6月30日停止）".into();
        stop.reason_en = "converted to staff; stop due".into();

        let mut p = plan(vec![review, create, update, depart, stop]);
        p.warnings = vec!["registrar_20260401.csv:6: 平成32年 is past the end of 平成".into()];
        p
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn dry() -> View {
        View::dry_run(Path::new("out/plan.json"), Lang::Ja)
    }

    #[test]
    fn plan_json_is_deterministic_pretty_and_newline_terminated() {
        let plan = fixture::small();
        let a = plan_json(&plan);
        let b = plan_json(&plan.clone());
        assert_eq!(a, b);
        assert!(a.ends_with(b"}\n"));
        let text = std::str::from_utf8(&a).unwrap();
        // Fields in the Plan's declared order.
        let format = text.find("\"format\"").unwrap();
        let as_of = text.find("\"as_of\"").unwrap();
        let actions = text.find("\"actions\"").unwrap();
        let warnings = text.find("\"warnings\"").unwrap();
        assert!(format < as_of && as_of < actions && actions < warnings);
        let back: Plan = serde_json::from_slice(&a).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn any_byte_finds_a_byte_anywhere() {
        let is_comma = |b: u8| b == b',';
        assert!(!any_byte(b"", is_comma));
        for len in [1, 31, 32, 33, 64, 100] {
            let mut s = vec![b'a'; len];
            assert!(!any_byte(&s, is_comma), "{len}");
            for at in 0..len {
                s[at] = b',';
                assert!(any_byte(&s, is_comma), "{len} {at}");
                s[at] = b'a';
            }
        }
    }

    #[test]
    fn dates_as_display_writes_them() {
        let dates = [
            (0, 1, 1),
            (1, 2, 3),
            (999, 12, 31),
            (2026, 4, 1),
            (9999, 12, 31),
        ];
        for (y, m, d) in dates {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let mut out = String::new();
            push_date(&mut out, date);
            assert_eq!(out, date.to_string());
        }
        for y in [-1, 10_000, -12_345] {
            let date = NaiveDate::from_ymd_opt(y, 6, 30).unwrap();
            let mut out = String::new();
            push_date(&mut out, date);
            assert_eq!(out, date.to_string());
        }
    }

    #[test]
    fn write_all_writes_three_files_and_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let plan = fixture::small();
        let view = View::dry_run(&out.join(PLAN_JSON), Lang::Ja);
        let paths = write_all(&plan, &out, &view).unwrap();
        assert_eq!(std::fs::read(&paths.plan_json).unwrap(), plan_json(&plan));
        assert_eq!(std::fs::read(&paths.report_csv).unwrap(), report_csv(&plan));
        assert_eq!(
            std::fs::read_to_string(&paths.report_html).unwrap(),
            report_html(&plan, &view)
        );
        assert!(
            std::fs::read(&paths.report_xlsx)
                .unwrap()
                .starts_with(b"PK")
        );
        // A plan handed over gives the same files, and is freed.
        let handed = std::sync::Arc::new(plan.clone());
        let watch = std::sync::Arc::downgrade(&handed);
        let other = dir.path().join("other");
        let other_paths = write_all(handed, &other, &view).unwrap();
        assert_eq!(watch.strong_count(), 0);
        for (a, b) in [
            (&paths.plan_json, &other_paths.plan_json),
            (&paths.report_csv, &other_paths.report_csv),
            (&paths.report_html, &other_paths.report_html),
        ] {
            assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
        }
        let sheet = |p: &Path| {
            let mut book: calamine::Xlsx<_> = calamine::open_workbook(p).unwrap();
            calamine::Reader::worksheet_range(&mut book, "actions").unwrap()
        };
        assert_eq!(sheet(&paths.report_xlsx), sheet(&other_paths.report_xlsx));
        // A second run replaces the files in place.
        write_all(&plan, &out, &view).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [PLAN_JSON, REPORT_CSV, REPORT_HTML, REPORT_XLSX]);
        // The outcome line changes alone.
        let applied = View {
            status: Status::Applied {
                at: "2026-04-02 02:31 JST".into(),
            },
            lang: Lang::Ja,
        };
        rewrite_html(&plan, &out, &applied).unwrap();
        let html = std::fs::read_to_string(&paths.report_html).unwrap();
        assert!(html.contains("適用済み 2026-04-02 02:31 JST"), "{html}");
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the output folder should be.
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, b"").unwrap();
        let err = write_all(&fixture::small(), &blocked, &dry()).unwrap_err();
        assert!(err.to_string().contains("blocked"), "{err}");
        assert!(
            err.to_string().starts_with("cannot create report folder `"),
            "{err}"
        );

        // A folder where plan.json should be: the rename fails and the temporary is removed.
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join(PLAN_JSON)).unwrap();
        let err = write_all(&fixture::small(), &out, &dry()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("cannot write `"), "{msg}");
        assert!(msg.contains("plan.json"), "{msg}");
        let leftovers = std::fs::read_dir(&out)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp-")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
