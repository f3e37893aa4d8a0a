//! The account-letter lists (アカウント通知書, R3): for the cohort admissions of a plan (its
//! `create` actions with letter delivery), one CSV per faculty that the faculty prints and hands
//! out, and the same list as an Excel workbook (student numbers as text cells, so `09268011`
//! keeps its zero). They hold the activation keys, so each file is created with mode 0600 in a
//! 0700 folder, and they are the only place a key is ever written (R13).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::apply::keys::{ActivationKey, activation_keys, hash_keys};
use crate::apply::{ApplyError, create_private_dir, create_private_file, io_err};
use crate::domain::account::{Account, Delivery};
use crate::domain::plan::{ActionKind, Plan};
use crate::formula::neutralise;
use crate::xlsx::{Cell, Column, Kind, workbook};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The columns of a letter list.
pub const HEADER: [&str; 8] = [
    "所属",
    "学籍番号",
    "氏名",
    "氏名カナ",
    "ECS-ID",
    "KUMOI",
    "有効化キー",
    "有効化期限",
];

/// One account letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterRow {
    pub faculty: String,
    pub student_no: String,
    pub name: String,
    pub name_kana: String,
    pub ecs_id: String,
    pub kumoi: String,
    pub key: ActivationKey,
    pub activation_deadline: Option<NaiveDate>,
}

/// R3: the letters of `plan`, one per `create` with letter delivery, each with a fresh key,
/// ordered by faculty, student number and ECS-ID.
pub fn letters(plan: &Plan) -> Result<Vec<LetterRow>, ApplyError> {
    let accounts: Vec<&Account> = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Create && a.delivery == Some(Delivery::Letter))
        .filter_map(|a| a.after.as_ref())
        .collect();
    letters_for(&accounts)
}

/// The letters of `accounts`, each with a fresh key, ordered by faculty, student number and
/// ECS-ID (also for the keys a recovery re-issues).
pub(crate) fn letters_for(accounts: &[&Account]) -> Result<Vec<LetterRow>, ApplyError> {
    let keys = activation_keys(accounts.len())?;
    let mut rows = Vec::with_capacity(accounts.len());
    for (a, key) in accounts.iter().zip(keys) {
        rows.push(LetterRow {
            faculty: a.faculty.to_string(),
            student_no: a
                .student_no()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            name: a.name.to_string(),
            name_kana: a.name_kana.to_string(),
            ecs_id: a.ecs_id.as_str().to_string(),
            kumoi: a.kumoi.to_string(),
            key,
            activation_deadline: a.activation_deadline,
        });
    }
    rows.sort_by(|a, b| {
        (&a.faculty, &a.student_no, &a.ecs_id).cmp(&(&b.faculty, &b.student_no, &b.ecs_id))
    });
    Ok(rows)
}

/// `(ecs_id, salt$hash)` for each letter, for the store.
pub fn key_hashes(rows: &[LetterRow]) -> Result<Vec<(String, String)>, ApplyError> {
    let keys: Vec<(&ActivationKey, &str)> =
        rows.iter().map(|r| (&r.key, r.ecs_id.as_str())).collect();
    let hashes = hash_keys(&keys)?;
    Ok(rows
        .iter()
        .zip(hashes)
        .map(|(r, h)| (r.ecs_id.clone(), h))
        .collect())
}

/// Writes `rows` into the new folder `dir` (mode 0700; it must not exist), one `.xlsx` and one
/// CSV per faculty (UTF-8 with BOM, CRLF; files created with mode 0600), and returns the files.
/// The workbook is written first: a CSV read back whole after a crash has its workbook.
pub fn write_letters(dir: &Path, rows: &[LetterRow]) -> Result<Vec<PathBuf>, ApplyError> {
    create_private_dir(dir)?;
    let mut by_file: BTreeMap<String, Vec<&LetterRow>> = BTreeMap::new();
    for r in rows {
        by_file.entry(file_stem(&r.faculty)).or_default().push(r);
    }
    let mut paths = Vec::with_capacity(by_file.len());
    for (stem, rows) in by_file {
        paths.push(write_workbook(dir, &stem, &rows)?);
        let path = dir.join(format!("{stem}.csv"));
        let mut file = create_private_file(&path)?;
        file.write_all(BOM).map_err(io_err(&path))?;
        let csv_err = |source| ApplyError::Csv {
            path: path.clone(),
            source,
        };
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(file);
        w.write_record(HEADER).map_err(csv_err)?;
        for r in rows {
            let deadline = r
                .activation_deadline
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let cells = [
                r.faculty.as_str(),
                &r.student_no,
                &r.name,
                &r.name_kana,
                &r.ecs_id,
                &r.kumoi,
                r.key.expose(),
                &deadline,
            ];
            // As in `report.csv`: names come from other people's files.
            w.write_record(cells.iter().map(|c| neutralise(c).into_owned()))
                .map_err(csv_err)?;
        }
        let file = w.into_inner().map_err(|e| io_err(&path)(e.into_error()))?;
        file.sync_all().map_err(io_err(&path))?;
        crate::apply::staging::crash_point("stage-letter-synced");
        paths.push(path);
    }
    Ok(paths)
}

/// The columns of a letter workbook: identifiers and keys as text.
const COLUMNS: [Column; 8] = [
    Column {
        header: HEADER[0],
        width: 22.0,
        kind: Kind::General,
    },
    Column {
        header: HEADER[1],
        width: 12.0,
        kind: Kind::Text,
    },
    Column {
        header: HEADER[2],
        width: 16.0,
        kind: Kind::General,
    },
    Column {
        header: HEADER[3],
        width: 20.0,
        kind: Kind::General,
    },
    Column {
        header: HEADER[4],
        width: 11.0,
        kind: Kind::Text,
    },
    Column {
        header: HEADER[5],
        width: 30.0,
        kind: Kind::Text,
    },
    Column {
        header: HEADER[6],
        width: 22.0,
        kind: Kind::Text,
    },
    Column {
        header: HEADER[7],
        width: 12.0,
        kind: Kind::Date,
    },
];

/// `dir/STEM.xlsx`: one faculty's letters as a workbook, created with mode 0600 and synced.
fn write_workbook(dir: &Path, stem: &str, rows: &[&LetterRow]) -> Result<PathBuf, ApplyError> {
    let path = dir.join(format!("{stem}.xlsx"));
    let cells = rows.iter().map(|r| {
        vec![
            Cell::Text(&r.faculty),
            Cell::Text(&r.student_no),
            Cell::Text(&r.name),
            Cell::Text(&r.name_kana),
            Cell::Text(&r.ecs_id),
            Cell::Text(&r.kumoi),
            Cell::Text(r.key.expose()),
            Cell::Date(r.activation_deadline),
        ]
    });
    let bytes = workbook("letters", &COLUMNS, cells, dir)
        .and_then(|mut b| b.save_to_buffer())
        .map_err(|e| io_err(&path)(std::io::Error::other(e.to_string())))?;
    let mut file = create_private_file(&path)?;
    file.write_all(&bytes).map_err(io_err(&path))?;
    file.sync_all().map_err(io_err(&path))?;
    Ok(path)
}

/// A file name for a faculty: path separators, characters Windows forbids and control
/// characters (a 所属 cell may hold a line break) become `_`; a leading dot too, so the file is
/// never hidden nor `..`; long names are cut, as file names are limited to 255 bytes.
pub fn file_stem(faculty: &str) -> String {
    let mut s: String = faculty
        .trim()
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .take(60)
        .collect();
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    if s.trim().is_empty() {
        return "所属なし".to_string();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        for (faculty, want) in [
            ("理学部", "理学部"),
            ("工学研究科\n機械理工学専攻", "工学研究科_機械理工学専攻"),
            ("../etc/passwd", "_._etc_passwd"),
            ("a/b\\c:d", "a_b_c_d"),
            ("", "所属なし"),
            ("   ", "所属なし"),
            (".hidden", "_hidden"),
        ] {
            assert_eq!(file_stem(faculty), want, "{faculty:?}");
        }
        assert_eq!(file_stem(&"学".repeat(300)).chars().count(), 60);
    }

    #[test]
    #[expect(clippy::unwrap_used)]
    fn the_workbook_keeps_leading_zeros_as_text_and_is_private() {
        use std::os::unix::fs::PermissionsExt as _;

        use calamine::{Data, Reader, Xlsx, open_workbook};

        let dir = tempfile::tempdir().unwrap();
        let letters = dir.path().join("letters");
        let key = crate::apply::keys::activation_keys(1).unwrap().remove(0);
        let row = LetterRow {
            faculty: "理学部".into(),
            student_no: "09268011".into(),
            name: "=髙橋 花子".into(),
            name_kana: "タカハシ ハナコ".into(),
            ecs_id: "a0001234".into(),
            kumoi: "a0001234@st.kyoto-u.ac.jp".into(),
            key,
            activation_deadline: NaiveDate::from_ymd_opt(2026, 6, 1),
        };
        let files = write_letters(&letters, std::slice::from_ref(&row)).unwrap();
        assert_eq!(
            files,
            [letters.join("理学部.xlsx"), letters.join("理学部.csv")]
        );
        for f in &files {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
        let mut book: Xlsx<_> = open_workbook(&files[0]).unwrap();
        let range = book.worksheet_range("letters").unwrap();
        assert_eq!(
            range.get_value((0, 1)),
            Some(&Data::String("学籍番号".into()))
        );
        assert_eq!(
            range.get_value((1, 1)),
            Some(&Data::String("09268011".into()))
        );
        assert_eq!(
            range.get_value((1, 2)),
            Some(&Data::String("=髙橋 花子".into()))
        );
        assert_eq!(
            range.get_value((1, 6)),
            Some(&Data::String(row.key.expose().into()))
        );
        assert!(matches!(range.get_value((1, 7)), Some(Data::DateTime(_))));
    }

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(neutralise("=1+1"), "'=1+1");
        assert_eq!(neutralise("-x"), "'-x");
        assert_eq!(neutralise("山田"), "山田");
    }
}
