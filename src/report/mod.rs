//! Report: renders a [`Plan`] into the three files an administrator reviews before anything
//! changes — `plan.json` (the plan itself, byte-identical for the same plan), `report.csv` (one
//! row per action, for Excel) and `report.html` (one self-contained page). This is shell code:
//! it writes those files and does no other I/O. Each file is written to a temporary name in the
//! output folder and renamed into place, so a reader never sees half a report, and every error
//! names the path it was about.
//!
//! The renderers are also exposed as functions returning bytes ([`plan_json`], [`report_csv`],
//! [`report_html`]) so they can be tested and snapshotted without touching the disk.

mod csv;
mod html;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::domain::account::{Delivery, StopReason};
use crate::domain::plan::{Plan, ReviewReason};

pub use self::csv::report_csv;
pub use self::html::report_html;

/// File names inside the output folder.
pub const PLAN_JSON: &str = "plan.json";
pub const REPORT_CSV: &str = "report.csv";
pub const REPORT_HTML: &str = "report.html";

/// Where [`write_all`] put the three files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    pub plan_json: PathBuf,
    pub report_csv: PathBuf,
    pub report_html: PathBuf,
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

/// Writes `plan.json`, `report.csv` and `report.html` into `out_dir` (created if missing).
///
/// Each file replaces any earlier one atomically; on error the earlier file is left as it was.
pub fn write_all(plan: &Plan, out_dir: &Path) -> Result<ReportPaths, ReportError> {
    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let paths = ReportPaths {
        plan_json: out_dir.join(PLAN_JSON),
        report_csv: out_dir.join(REPORT_CSV),
        report_html: out_dir.join(REPORT_HTML),
    };
    // The plan and the CSV grow with the number of actions, so they stream into the file; the
    // HTML is capped per section and is built in memory first.
    write_atomic(&paths.plan_json, |w| write_plan_json(plan, w))?;
    write_atomic(&paths.report_csv, |w| {
        csv::write_csv(plan, w).map_err(io::Error::from)
    })?;
    let html = report_html(plan);
    write_atomic(&paths.report_html, |w| w.write_all(html.as_bytes()))?;
    Ok(paths)
}

/// The plan as pretty-printed JSON with a trailing newline, fields in the plan's declared
/// order, so the same plan always gives the same bytes.
pub fn plan_json(plan: &Plan) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + plan.actions.len() * 1024);
    match write_plan_json(plan, &mut out) {
        Ok(()) => out,
        // The plan is plain derived structs with string keys and writing into a Vec cannot
        // fail, so this arm is unreachable; it still returns JSON rather than panicking.
        Err(e) => {
            let msg = serde_json::Value::String(e.to_string());
            format!("{{\"error\": {msg}}}\n").into_bytes()
        }
    }
}

fn write_plan_json<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, plan).map_err(io::Error::from)?;
    w.write_all(b"\n")
}

/// Writes through `fill` into a temporary file next to `path`, then renames it over `path`.
/// The temporary file is removed when anything fails.
fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<(), ReportError> {
    let tmp = temp_path(path);
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(256 * 1024, file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|source| {
        // Best effort: the temporary file may not exist, and the real error is the one to report.
        let _ = std::fs::remove_file(&tmp);
        ReportError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// `.report.csv.tmp-<pid>` in the same folder, so the rename never crosses a file system.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

// Labels shared by the CSV and HTML renderers: Japanese first, then the plan's own English
// word, so a reader of either language finds the value they search for.

pub(crate) fn stop_reason_label(r: StopReason) -> (&'static str, &'static str) {
    match r {
        StopReason::Departed => ("学籍喪失", "departed"),
        StopReason::StaffConversion => ("教職員への身分変更", "staff_conversion"),
        StopReason::HolderExpired => ("利用期限切れ", "holder_expired"),
    }
}

pub(crate) fn delivery_label(d: Delivery) -> (&'static str, &'static str) {
    match d {
        Delivery::Letter => ("通知書（学部経由）", "letter"),
        Delivery::Counter => ("窓口", "counter"),
    }
}

pub(crate) fn review_label(r: ReviewReason) -> (&'static str, &'static str) {
    match r {
        ReviewReason::EcsIdMismatch => ("ECS-ID不一致", "ecs_id_mismatch"),
        ReviewReason::DuplicateRows => ("重複行", "duplicate_rows"),
        ReviewReason::NameBirthCandidate => ("氏名・生年月日の候補", "name_birth_candidate"),
        ReviewReason::AmbiguousMatch => ("照合先が複数", "ambiguous_match"),
        ReviewReason::AbsentFromSnapshot => ("全件データに不在", "absent_from_snapshot"),
        ReviewReason::UnknownAccount => ("未登録のアカウント", "unknown_account"),
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
    fn write_all_writes_three_files_and_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let plan = fixture::small();
        let paths = write_all(&plan, &out).unwrap();
        assert_eq!(std::fs::read(&paths.plan_json).unwrap(), plan_json(&plan));
        assert_eq!(std::fs::read(&paths.report_csv).unwrap(), report_csv(&plan));
        assert_eq!(
            std::fs::read_to_string(&paths.report_html).unwrap(),
            report_html(&plan)
        );
        // A second run replaces the files in place.
        write_all(&plan, &out).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [PLAN_JSON, REPORT_CSV, REPORT_HTML]);
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the output folder should be.
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, b"").unwrap();
        let err = write_all(&fixture::small(), &blocked).unwrap_err();
        assert!(err.to_string().contains("blocked"), "{err}");
        assert!(
            err.to_string().starts_with("cannot create report folder `"),
            "{err}"
        );

        // A folder where plan.json should be: the rename fails and the temporary is removed.
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join(PLAN_JSON)).unwrap();
        let err = write_all(&fixture::small(), &out).unwrap_err();
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
