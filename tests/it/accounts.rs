//! `regsync accounts import` / `export` through the real binary, on a store in a temp folder.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

use crate::common::{Result, cmd};

const HEADER: &str = "ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限";

/// Four accounts covering each 区分 and 状態, several student numbers and every date column;
/// in ECS-ID order, UTF-8 with BOM and CRLF, as the export writes them.
fn directory() -> String {
    let rows = [
        HEADER,
        "a0100001,0001200001,01220011;55261012,山田　太郎,ヤマダ　タロウ,2004-04-01,理学研究科,学生,有効,yamada.taro.1a@st.kyoto-u.ac.jp,,,",
        "a0100002,0001200002,59267011,髙橋　﨑子,タカハシ　サキコ,1994-03-24,農学研究科,学生,有効化待ち,takahashi.sakiko.2b@st.kyoto-u.ac.jp,2026-05-15,,",
        "a0100005,0001200005,51193013,\"中村, 直樹\",ナカムラ　ナオキ,1988-07-21,文学研究科 研究員,学生以外,有効,nakamura.naoki.5z@st.kyoto-u.ac.jp,,,2027-03-31",
        "a0100007,,54231013,西村　恵,ニシムラ　メグミ,1999-02-14,経済学研究科,教職員移行,有効,nishimura.megumi.0r@st.kyoto-u.ac.jp,,2026-06-30,",
        "a0100009,0001200009,02190013,山田　花子,ヤマダ　ハナコ,2000-04-01,教育学部,学生,停止,yamada.hanako.1t@st.kyoto-u.ac.jp,,2021-10-14,",
    ];
    let mut s = String::from("\u{feff}");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

struct Env {
    dir: TempDir,
    config: PathBuf,
}

impl Env {
    fn new() -> Result<Env> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("regsync.toml");
        std::fs::write(&config, "[paths]\nstore = \"store.sqlite\"\n")?;
        Ok(Env { dir, config })
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store.sqlite")
    }

    fn write(&self, name: &str, content: &[u8]) -> Result<PathBuf> {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content)?;
        Ok(p)
    }

    fn cmd(&self) -> Command {
        let mut c = cmd(self.dir.path(), &[], &[]);
        c.arg("--config").arg(&self.config);
        c
    }

    fn import(&self, file: &Path) -> Result<std::process::Output> {
        Ok(self.cmd().args(["accounts", "import"]).arg(file).output()?)
    }

    fn export(&self, format: &str) -> Result<Vec<u8>> {
        let out = self
            .cmd()
            .args(["accounts", "export", "--format", format])
            .output()?;
        assert!(out.status.success(), "{out:?}");
        Ok(out.stdout)
    }
}

#[test]
fn import_prints_a_summary_and_export_gives_the_file_back() -> Result {
    let env = Env::new()?;
    let file = env.write("accounts.csv", directory().as_bytes())?;
    let out = env.import(&file)?;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout)?;
    assert!(
        stdout.contains("5 accounts imported into"),
        "unexpected summary: {stdout}"
    );
    assert_eq!(String::from_utf8(env.export("csv")?)?, directory());
    Ok(())
}

#[test]
fn csv_export_round_trips_through_import() -> Result {
    let first = Env::new()?;
    let file = first.write("accounts.csv", directory().as_bytes())?;
    assert!(first.import(&file)?.status.success());
    let exported = first.export("csv")?;

    let second = Env::new()?;
    let file = second.write("export.csv", &exported)?;
    assert!(second.import(&file)?.status.success());
    assert_eq!(second.export("csv")?, exported);
    assert_eq!(second.export("json")?, first.export("json")?);
    Ok(())
}

#[test]
fn cp932_directory_imports_like_utf8() -> Result {
    let env = Env::new()?;
    let text = directory();
    let text = text.trim_start_matches('\u{feff}');
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    let file = env.write("accounts-sjis.csv", &bytes)?;
    assert!(env.import(&file)?.status.success());
    assert_eq!(String::from_utf8(env.export("csv")?)?, directory());
    Ok(())
}

#[test]
fn json_export() -> Result {
    let env = Env::new()?;
    let file = env.write("accounts.csv", directory().as_bytes())?;
    assert!(env.import(&file)?.status.success());
    insta::assert_snapshot!(String::from_utf8(env.export("json")?)?);
    Ok(())
}

#[test]
fn export_of_a_missing_store_is_empty_and_creates_nothing() -> Result {
    let env = Env::new()?;
    assert_eq!(env.export("json")?, b"[]\n");
    assert!(!env.store().exists());
    Ok(())
}

#[test]
fn import_errors_are_located_and_nothing_is_imported() -> Result {
    let env = Env::new()?;
    let mut text = directory();
    for bad in [
        // Bad date, unknown 区分.
        "a0100010,0001200010,01250099,前田　亮,マエダ　リョウ,2006-13-40,文学部,院生,有効,maeda.ryo.9g@st.kyoto-u.ac.jp,,,",
        // Duplicate ECS-ID, a student number and a KUMOI already on row 2.
        "a0100001,0001200011,01220011,松田　太郎,マツダ　タロウ,2007-01-29,工学部,学生,有効,yamada.taro.1a@st.kyoto-u.ac.jp,,,",
        // Bad ECS-ID shape, unknown 状態.
        "A-100012,0001200012,08250022,森　結衣,モリ　ユイ,2004-02-25,医学部,学生,休止,mori.yui.2e@st.kyoto-u.ac.jp,,,",
    ] {
        text.push_str(bad);
        text.push_str("\r\n");
    }
    let file = env.write("bad.csv", text.as_bytes())?;
    let out = env.import(&file)?;
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stdout = String::from_utf8(out.stdout)?.replace(&file.display().to_string(), "[FILE]");
    insta::assert_snapshot!(stdout);
    assert!(
        !env.store().exists(),
        "a rejected file must not create the store"
    );
    Ok(())
}

#[test]
fn import_into_a_store_adds_only_new_accounts() -> Result {
    let env = Env::new()?;
    let file = env.write("accounts.csv", directory().as_bytes())?;
    assert!(env.import(&file)?.status.success());
    let before = env.export("json")?;

    let again = env.write(
        "more.csv",
        format!(
            "{HEADER}\r\na0100001,0001299999,01229999,別人　太郎,ベツジン　タロウ,2004-04-01,理学部,学生,有効,betsujin@st.kyoto-u.ac.jp,,,\r\n"
        )
        .as_bytes(),
    )?;
    let out = env.import(&again)?;
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8(out.stdout)?;
    assert!(stdout.contains("already in the store"), "{stdout}");
    assert_eq!(env.export("json")?, before);

    let new = env.write(
        "new.csv",
        format!(
            "{HEADER}\r\na0200001,0001299999,01229999,別人　太郎,ベツジン　タロウ,2004-04-01,理学部,学生,有効,betsujin@st.kyoto-u.ac.jp,,,\r\n"
        )
        .as_bytes(),
    )?;
    let out = env.import(&new)?;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let snapshot = regsync::store::Store::open(&env.store())?.snapshot()?;
    assert_eq!(snapshot.accounts.len(), 6);
    assert_eq!(snapshot.next_serial, 200_002);
    Ok(())
}

/// `[policy] id_digits = 7`: the store reads 7-digit serials on import (6-digit ones are
/// refused), keeps `next_serial` past them, and the plan allocates the next 7-digit ECS-ID.
#[test]
fn a_seven_digit_store_imports_and_allocates() -> Result {
    let env = Env::new()?;
    std::fs::write(
        &env.config,
        "[paths]\nstore = \"store.sqlite\"\n\n[policy]\nid_digits = 7\n",
    )?;
    let six = env.write(
        "six.csv",
        format!(
            "{HEADER}\r\na0100001,0001200001,01220011,山田　太郎,ヤマダ　タロウ,2004-04-01,理学部,学生,有効,yamada.taro@st.kyoto-u.ac.jp,,,\r\n"
        )
        .as_bytes(),
    )?;
    let out = env.import(&six)?;
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("expected `a0` and 7 digits (e.g. `a00106210`)"),
        "{stdout}"
    );

    let seven = env.write(
        "seven.csv",
        format!(
            "{HEADER}\r\n\
             a01500000,0001200001,01220011,山田　太郎,ヤマダ　タロウ,2004-04-01,理学部,学生,有効,yamada.taro@st.kyoto-u.ac.jp,,,\r\n\
             a00001234,0001200002,01220012,山田　花子,ヤマダ　ハナコ,2004-05-01,理学部,学生,有効,yamada.hanako@st.kyoto-u.ac.jp,,,\r\n"
        )
        .as_bytes(),
    )?;
    let out = env.import(&seven)?;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let snapshot = regsync::store::Store::open(&env.store())?.snapshot()?;
    assert_eq!(snapshot.accounts.len(), 2);
    assert_eq!(snapshot.next_serial, 1_500_001);

    // One continuing student and one new admission: the admission gets a01500001.
    let registrar = env.write(
        "registrar.csv",
        "学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\r\n\
         01220011,0001200001,a01500000,山田　太郎,ヤマダ　タロウ,2004-04-01,理学部,学部生,在学,2022-04-01,\r\n\
         01220012,0001200002,a00001234,山田　花子,ヤマダ　ハナコ,2004-05-01,理学部,学部生,在学,2022-04-01,\r\n\
         01260099,0001200099,,京大　一郎,キョウダイ　イチロウ,2007-06-01,理学部,学部生,在学,2026-04-01,\r\n"
            .as_bytes(),
    )?;
    let out = env
        .cmd()
        .args(["plan", "--as-of", "2026-04-02", "--out", "plan"])
        .arg(&registrar)
        .output()?;
    assert!(out.status.success(), "{out:?}");
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.dir.path().join("plan/plan.json"))?)?;
    let created: Vec<&str> = plan["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["kind"] == "create")
        .filter_map(|a| a["ecs_id"].as_str())
        .collect();
    assert_eq!(created, ["a01500001"], "{plan}");
    assert_eq!(plan["next_serial"], 1_500_002);
    Ok(())
}

/// The optional 身分 column: read by label, empty means unknown, anything else is an error.
#[test]
fn the_optional_status_column_is_imported() -> Result {
    let env = Env::new()?;
    let bad = env.write(
        "bad.csv",
        format!(
            "{HEADER},身分\r\na0100001,0001200001,01220011,山田　太郎,ヤマダ　タロウ,2004-04-01,理学部,学生,有効,yamada.taro@st.kyoto-u.ac.jp,,,,院生\r\n"
        )
        .as_bytes(),
    )?;
    let out = env.import(&bad)?;
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bad.csv:2:14(身分)"), "{stdout}");

    let good = env.write(
        "good.csv",
        format!(
            "{HEADER},身分\r\n\
             a0100001,0001200001,01220011,山田　太郎,ヤマダ　タロウ,2004-04-01,理学部,学生,有効,yamada.taro@st.kyoto-u.ac.jp,,,,学部生\r\n\
             a0100002,0001200002,58220012,山田　花子,ヤマダ　ハナコ,1999-05-01,理学研究科,学生,有効,yamada.hanako@st.kyoto-u.ac.jp,,,,大学院生\r\n\
             a0100003,0001200003,01220013,山田　次郎,ヤマダ　ジロウ,2004-06-01,理学部,学生,有効,yamada.jiro@st.kyoto-u.ac.jp,,,,\r\n"
        )
        .as_bytes(),
    )?;
    let out = env.import(&good)?;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&env.export("json")?)?;
    let status: Vec<&serde_json::Value> = json
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(
        status,
        [
            &serde_json::json!("undergraduate"),
            &serde_json::json!("graduate"),
            &serde_json::Value::Null
        ]
    );
    Ok(())
}

#[test]
fn csv_export_neutralises_formula_like_cells() -> Result {
    let env = Env::new()?;
    let hostile = format!(
        "\u{feff}{HEADER}\r\n\
         a0100001,,01220011,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",@SUM(A1),2004-04-01,+理学部,学生,有効,t.1a@st.kyoto-u.ac.jp,,,\r\n"
    );
    let file = env.write("hostile.csv", hostile.as_bytes())?;
    let o = env.import(&file)?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(env.export("csv")?)?;
    let mut rdr = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let row = rdr.records().next().ok_or("no row")??;
    assert_eq!(row.get(3), Some("'=HYPERLINK(\"http://x\",\"y\")"), "{csv}");
    assert_eq!(row.get(4), Some("'@SUM(A1)"), "{csv}");
    assert_eq!(row.get(6), Some("'+理学部"), "{csv}");
    for cell in row.iter() {
        assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
    }
    // JSON is data, not a spreadsheet: the name is given as it is.
    let json = String::from_utf8(env.export("json")?)?;
    assert!(json.contains("\"=HYPERLINK("), "{json}");
    // The export is the import format: read back into a new store, the accounts are the same.
    let again = Env::new()?;
    let file = again.write("exported.csv", csv.as_bytes())?;
    let o = again.import(&file)?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8(again.export("json")?)?, json);
    Ok(())
}
