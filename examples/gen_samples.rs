//! Writes the sample world under `samples/`: the registrar exports (CP932 CSV and .xlsx), HR's
//! staff roster, the counter's approvals, the portal's activations, the existing account
//! directory, broken files, and a README that says which row exercises which rule.
//!
//! Run: `cargo run --example gen_samples -- samples`
//!
//! Deterministic: names, dates and numbers come from a fixed-seed xorshift generator, so the
//! same source always writes byte-identical files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate};
use regsync::testing::XorShift;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Formula, Workbook};

mod common;
use common::{
    ACCOUNTS_HEADER, Era, REGISTRAR_HEADER, REGISTRAR_TITLE, Res, cp932, era, push_half_width,
};

// ---------------------------------------------------------------------------------------------
// Small deterministic helpers

fn ymd(y: i32, m: u32, d: u32) -> Res<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("bad date {y}-{m}-{d}").into())
}

/// How a date is written in a file: the registrar's staff type dates in every way Excel allows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Iso,
    Slash,
    Kanji,
    Short,
    FullWidth,
    Ligature,
}

fn fmt_date(d: NaiveDate, f: Fmt) -> String {
    let Era {
        kanji: k,
        letter: s,
        ligature: lig,
        year: ey,
    } = era(d);
    let (y, m, dd) = (d.year(), d.month(), d.day());
    let ey_k = if ey == 1 {
        "元".to_string()
    } else {
        ey.to_string()
    };
    match f {
        Fmt::Iso => d.format("%Y-%m-%d").to_string(),
        Fmt::Slash => format!("{y}/{m}/{dd}"),
        Fmt::Kanji => format!("{k}{ey_k}年{m}月{dd}日"),
        Fmt::Short => format!("{s}{ey}.{m}.{dd}"),
        Fmt::FullWidth => format!("{y}/{m}/{dd}")
            .chars()
            .map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c),
                '/' => '／',
                _ => c,
            })
            .collect(),
        Fmt::Ligature => format!("{lig}{ey_k}年{m}月{dd}日"),
    }
}

fn fmt_name(f: Fmt) -> &'static str {
    match f {
        Fmt::Iso => "ISO",
        Fmt::Slash => "2006/4/1",
        Fmt::Kanji => "元号漢字",
        Fmt::Short => "H18.4.1",
        Fmt::FullWidth => "全角数字",
        Fmt::Ligature => "合字㍻",
    }
}

/// One CSV line as Excel writes it: quotes only where needed, `pad` empty cells, CRLF.
fn csv_line(cells: &[String], pad: usize, eol: &str) -> String {
    let mut out = String::new();
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if c.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&c.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(c);
        }
    }
    for _ in 0..pad {
        out.push(',');
    }
    out.push_str(eol);
    out
}

// ---------------------------------------------------------------------------------------------
// The vocabulary of the registrar profile (mappings/registrar.toml)

const UG: &str = "学部生";
const GR: &str = "大学院生";
const RS: &str = "研究生";
const CA: &str = "科目等履修生";
const AU: &str = "聴講生";
const SA: &str = "特別聴講学生";
const SR: &str = "特別研究学生";

fn status_code(label: &str) -> &'static str {
    match label {
        UG => "11",
        GR => "12",
        RS => "21",
        CA => "22",
        AU => "23",
        SA => "24",
        SR => "25",
        _ => "",
    }
}

const ENROLLED: &str = "在学";
const LEAVE: &str = "休学";
const GRADUATED: &str = "卒業";
const COMPLETED: &str = "修了";
const WITHDRAWN: &str = "退学";
const EXPELLED: &str = "除籍";

fn enroll_code(label: &str) -> &'static str {
    match label {
        ENROLLED => "1",
        LEAVE => "2",
        GRADUATED => "3",
        COMPLETED => "4",
        WITHDRAWN => "5",
        EXPELLED => "6",
        _ => "",
    }
}

/// Excel pads the formatted range: three empty columns right of the data on every row.
const REG_PAD: usize = 3;

/// Undergraduate faculties: name, code (first two digits of the student number), weight, years.
const FACULTIES: [(&str, &str, usize, i32); 9] = [
    ("文学部", "01", 8, 4),
    ("教育学部", "02", 4, 4),
    ("法学部", "03", 8, 4),
    ("経済学部", "04", 8, 4),
    ("理学部", "05", 9, 4),
    ("医学部", "06", 6, 6),
    ("薬学部", "07", 3, 4),
    ("工学部", "08", 16, 4),
    ("農学部", "09", 8, 4),
];
const SCHOOLS: [(&str, &str); 8] = [
    ("文学研究科", "51"),
    ("経済学研究科", "54"),
    ("理学研究科", "55"),
    ("医学研究科", "56"),
    ("工学研究科", "58"),
    ("農学研究科", "59"),
    ("人間・環境学研究科", "63"),
    ("情報学研究科", "66"),
];

const SURNAMES: [(&str, &str, &str); 48] = [
    ("佐藤", "サトウ", "sato"),
    ("鈴木", "スズキ", "suzuki"),
    ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"),
    ("伊藤", "イトウ", "ito"),
    ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"),
    ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"),
    ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"),
    ("山口", "ヤマグチ", "yamaguchi"),
    ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"),
    ("木村", "キムラ", "kimura"),
    ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"),
    ("清水", "シミズ", "shimizu"),
    ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"),
    ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"),
    ("石川", "イシカワ", "ishikawa"),
    ("前田", "マエダ", "maeda"),
    ("藤田", "フジタ", "fujita"),
    ("後藤", "ゴトウ", "goto"),
    ("長谷川", "ハセガワ", "hasegawa"),
    ("村上", "ムラカミ", "murakami"),
    ("近藤", "コンドウ", "kondo"),
    ("坂本", "サカモト", "sakamoto"),
    ("遠藤", "エンドウ", "endo"),
    ("福田", "フクダ", "fukuda"),
    ("太田", "オオタ", "ota"),
    ("三浦", "ミウラ", "miura"),
    ("岡本", "オカモト", "okamoto"),
    ("松田", "マツダ", "matsuda"),
    ("中川", "ナカガワ", "nakagawa"),
    ("小野", "オノ", "ono"),
    ("竹内", "タケウチ", "takeuchi"),
    ("金子", "カネコ", "kaneko"),
    ("和田", "ワダ", "wada"),
    ("上田", "ウエダ", "ueda"),
    ("今井", "イマイ", "imai"),
    ("野口", "ノグチ", "noguchi"),
    ("菊地", "キクチ", "kikuchi"),
];

const GIVEN: [(&str, &str, &str); 40] = [
    ("太郎", "タロウ", "taro"),
    ("翔太", "ショウタ", "shota"),
    ("大輝", "ダイキ", "daiki"),
    ("拓海", "タクミ", "takumi"),
    ("健太", "ケンタ", "kenta"),
    ("陽菜", "ヒナ", "hina"),
    ("結衣", "ユイ", "yui"),
    ("美咲", "ミサキ", "misaki"),
    ("さくら", "サクラ", "sakura"),
    ("葵", "アオイ", "aoi"),
    ("蓮", "レン", "ren"),
    ("悠真", "ユウマ", "yuma"),
    ("湊", "ミナト", "minato"),
    ("大和", "ヤマト", "yamato"),
    ("颯太", "ソウタ", "sota"),
    ("優花", "ユウカ", "yuka"),
    ("彩花", "アヤカ", "ayaka"),
    ("七海", "ナナミ", "nanami"),
    ("真央", "マオ", "mao"),
    ("遥", "ハルカ", "haruka"),
    ("海斗", "カイト", "kaito"),
    ("陸", "リク", "riku"),
    ("直樹", "ナオキ", "naoki"),
    ("智也", "トモヤ", "tomoya"),
    ("亮", "リョウ", "ryo"),
    ("花子", "ハナコ", "hanako"),
    ("千尋", "チヒロ", "chihiro"),
    ("美穂", "ミホ", "miho"),
    ("恵", "メグミ", "megumi"),
    ("和也", "カズヤ", "kazuya"),
    ("莉子", "リコ", "riko"),
    ("凛", "リン", "rin"),
    ("隼人", "ハヤト", "hayato"),
    ("萌", "モエ", "moe"),
    ("誠", "マコト", "makoto"),
    ("舞", "マイ", "mai"),
    ("奈々", "ナナ", "nana"),
    ("悠斗", "ユウト", "yuto"),
    ("美月", "ミヅキ", "mizuki"),
    ("康介", "コウスケ", "kosuke"),
];

// ---------------------------------------------------------------------------------------------
// The world

#[derive(Clone)]
struct Person {
    pid: String,
    fam: String,
    giv: String,
    kfam: String,
    kgiv: String,
    birth: NaiveDate,
    ecs: String,
    kumoi: String,
}

impl Person {
    fn name(&self) -> String {
        if self.giv.is_empty() {
            self.fam.clone()
        } else {
            format!("{}\u{3000}{}", self.fam, self.giv)
        }
    }
    fn kana(&self) -> String {
        format!("{}\u{3000}{}", self.kfam, self.kgiv)
    }
}

/// One registrar record as it will be written.
#[derive(Clone)]
struct Row {
    sno: String,
    pid: String,
    ecs: String,
    name: String,
    kana: String,
    birth: NaiveDate,
    birth_fmt: Fmt,
    faculty: String,
    status: &'static str,
    status_as_code: bool,
    enroll: &'static str,
    enroll_as_code: bool,
    admission: NaiveDate,
    adm_fmt: Fmt,
    change: Option<(NaiveDate, Fmt)>,
}

impl Row {
    fn cells(&self) -> Vec<String> {
        vec![
            self.sno.clone(),
            self.pid.clone(),
            self.ecs.clone(),
            self.name.clone(),
            self.kana.clone(),
            fmt_date(self.birth, self.birth_fmt),
            self.faculty.clone(),
            self.status_cell(),
            self.enroll_cell(),
            fmt_date(self.admission, self.adm_fmt),
            self.change.map(|(d, f)| fmt_date(d, f)).unwrap_or_default(),
        ]
    }
    fn status_cell(&self) -> String {
        if self.status_as_code {
            status_code(self.status).to_string()
        } else {
            self.status.to_string()
        }
    }
    fn enroll_cell(&self) -> String {
        if self.enroll_as_code {
            enroll_code(self.enroll).to_string()
        } else {
            self.enroll.to_string()
        }
    }
}

/// One row of accounts.csv (the directory before regsync).
struct Account {
    ecs: String,
    pid: String,
    snos: Vec<String>,
    name: String,
    kana: String,
    birth: NaiveDate,
    faculty: String,
    kind: &'static str,
    state: &'static str,
    kumoi: String,
    act_deadline: Option<NaiveDate>,
    stop: Option<NaiveDate>,
    expiry: Option<NaiveDate>,
}

/// A person worth a line in the README.
struct Notable {
    sno: String,
    pid: String,
    ecs: String,
    name: String,
    case: String,
}

struct World {
    rng: XorShift,
    next_pid: u64,
    ecs_used: BTreeSet<String>,
    kumoi_used: BTreeSet<String>,
    serial: BTreeMap<String, u32>,
    rows: Vec<Row>,
    accounts: Vec<Account>,
    notables: Vec<Notable>,
}

/// How a new registrar row renders a person's name.
#[derive(Clone, Copy)]
enum Sep {
    Ideographic,
    Ascii,
    None,
}

impl World {
    fn new() -> World {
        World {
            rng: XorShift::star(0x5EED_2026_0402_0001),
            next_pid: 1_204_117,
            ecs_used: BTreeSet::new(),
            kumoi_used: BTreeSet::new(),
            serial: BTreeMap::new(),
            rows: Vec::new(),
            accounts: Vec::new(),
            notables: Vec::new(),
        }
    }

    fn pid(&mut self) -> String {
        self.next_pid += 1 + self.rng.below(97) as u64;
        format!("{:010}", self.next_pid)
    }

    fn ecs(&mut self) -> String {
        loop {
            let id = format!("a0{:06}", 100_000 + self.rng.below(899_999));
            if self.ecs_used.insert(id.clone()) {
                return id;
            }
        }
    }

    fn kumoi(&mut self, rfam: &str, rgiv: &str) -> String {
        const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        loop {
            let a = ALNUM[self.rng.below(10)] as char;
            let b = ALNUM[10 + self.rng.below(26)] as char;
            let addr = format!("{rfam}.{rgiv}.{a}{b}@st.kyoto-u.ac.jp");
            if self.kumoi_used.insert(addr.clone()) {
                return addr;
            }
        }
    }

    /// Student number: faculty code, two-digit admission year, four-digit serial in a band
    /// (0xxx undergraduates, 1xxx masters, 3xxx doctors, 7xxx research students,
    /// 8xxx credit auditors/auditors, 9xxx special students).
    fn sno(&mut self, code: &str, year: i32, band: u32) -> String {
        let key = format!("{code}{:02}{band}", year % 100);
        let step = 1 + self.rng.below(3) as u32;
        let n = self.serial.entry(key).or_insert(band * 1000 + 10);
        *n += step;
        format!("{code}{:02}{:04}", year % 100, *n)
    }

    fn birth_between(&mut self, from: NaiveDate, days: usize) -> NaiveDate {
        from + Duration::days(self.rng.below(days) as i64)
    }

    fn random_person(&mut self, birth: NaiveDate, with_account: bool) -> Person {
        let (fam, kfam, rfam) = SURNAMES[self.rng.below(SURNAMES.len())];
        let (giv, kgiv, rgiv) = GIVEN[self.rng.below(GIVEN.len())];
        self.person(fam, giv, kfam, kgiv, rfam, rgiv, birth, with_account)
    }

    #[expect(clippy::too_many_arguments, reason = "a name has six parts")]
    fn person(
        &mut self,
        fam: &str,
        giv: &str,
        kfam: &str,
        kgiv: &str,
        rfam: &str,
        rgiv: &str,
        birth: NaiveDate,
        with_account: bool,
    ) -> Person {
        let pid = self.pid();
        let (ecs, kumoi) = if with_account {
            (self.ecs(), self.kumoi(rfam, rgiv))
        } else {
            (String::new(), String::new())
        };
        Person {
            pid,
            fam: fam.into(),
            giv: giv.into(),
            kfam: kfam.into(),
            kgiv: kgiv.into(),
            birth,
            ecs,
            kumoi,
        }
    }

    fn random_sep(&mut self) -> Sep {
        match self.rng.below(20) {
            0..=12 => Sep::Ideographic,
            13..=17 => Sep::Ascii,
            _ => Sep::None,
        }
    }

    fn random_birth_fmt(&mut self) -> Fmt {
        match self.rng.below(20) {
            0..=5 => Fmt::Iso,
            6..=11 => Fmt::Slash,
            12..=14 => Fmt::Kanji,
            15..=16 => Fmt::Short,
            17..=18 => Fmt::FullWidth,
            _ => Fmt::Ligature,
        }
    }

    fn random_adm_fmt(&mut self) -> Fmt {
        match self.rng.below(10) {
            0..=3 => Fmt::Iso,
            4..=6 => Fmt::Slash,
            7 => Fmt::Kanji,
            8 => Fmt::Short,
            _ => {
                if self.rng.percent(50) {
                    Fmt::FullWidth
                } else {
                    Fmt::Kanji
                }
            }
        }
    }

    /// A registrar row for `p`. `ecs_shown` is what the export's ECS-ID column says.
    #[expect(clippy::too_many_arguments, reason = "a row has many columns")]
    fn row(
        &mut self,
        p: &Person,
        sno: &str,
        ecs_shown: &str,
        faculty: &str,
        status: &'static str,
        enroll: &'static str,
        admission: NaiveDate,
        change: Option<(NaiveDate, Fmt)>,
        sep: Sep,
        half: bool,
    ) -> usize {
        let (name, kana) = match sep {
            _ if p.giv.is_empty() => (p.fam.clone(), p.kana()),
            Sep::Ideographic => (p.name(), p.kana()),
            Sep::Ascii => (
                format!("{} {}", p.fam, p.giv),
                format!("{} {}", p.kfam, p.kgiv),
            ),
            Sep::None => (format!("{}{}", p.fam, p.giv), p.kana()),
        };
        let kana = if half {
            let mut h = String::new();
            push_half_width(&mut h, &kana);
            h
        } else {
            kana
        };
        let birth_fmt = self.random_birth_fmt();
        let adm_fmt = self.random_adm_fmt();
        let status_as_code = self.rng.percent(4);
        let enroll_as_code = self.rng.percent(4);
        self.rows.push(Row {
            sno: sno.into(),
            pid: p.pid.clone(),
            ecs: ecs_shown.into(),
            name,
            kana,
            birth: p.birth,
            birth_fmt,
            faculty: faculty.into(),
            status,
            status_as_code,
            enroll,
            enroll_as_code,
            admission,
            adm_fmt,
            change,
        });
        self.rows.len() - 1
    }

    #[expect(clippy::too_many_arguments, reason = "an account has many fields")]
    fn account(
        &mut self,
        p: &Person,
        snos: &[&str],
        faculty: &str,
        kind: &'static str,
        state: &'static str,
        act_deadline: Option<NaiveDate>,
        stop: Option<NaiveDate>,
        expiry: Option<NaiveDate>,
    ) {
        self.accounts.push(Account {
            ecs: p.ecs.clone(),
            pid: p.pid.clone(),
            snos: snos.iter().map(|s| s.to_string()).collect(),
            name: p.name(),
            kana: p.kana(),
            birth: p.birth,
            faculty: faculty.into(),
            kind,
            state,
            kumoi: p.kumoi.clone(),
            act_deadline,
            stop,
            expiry,
        });
    }

    fn note(&mut self, p: &Person, sno: &str, case: impl Into<String>) {
        self.notables.push(Notable {
            sno: sno.into(),
            pid: p.pid.clone(),
            ecs: p.ecs.clone(),
            name: p.name(),
            case: case.into(),
        });
    }

    fn pick_faculty(&mut self) -> (&'static str, &'static str, i32) {
        let total: usize = FACULTIES.iter().map(|f| f.2).sum();
        let mut k = self.rng.below(total);
        for (name, code, w, years) in FACULTIES {
            if k < w {
                return (name, code, years);
            }
            k -= w;
        }
        ("工学部", "08", 4)
    }

    fn pick_school(&mut self) -> (&'static str, &'static str) {
        SCHOOLS[self.rng.below(SCHOOLS.len())]
    }

    /// Birth date of someone entering a 4-year course in April of `year` at 18.
    fn ug_birth(&mut self, year: i32) -> Res<NaiveDate> {
        Ok(self.birth_between(ymd(year - 19, 4, 2)?, 365))
    }
}

// ---------------------------------------------------------------------------------------------
// The cast

struct Cast {
    /// The April-17 withdrawal (row index into `rows`).
    withdraw_0417: usize,
    /// The May admission (row index).
    may_admission: usize,
    /// The 修了 person who becomes 研究生 only in the April-17 export.
    cancel_stop: (Person, String),
    hr: Vec<Vec<String>>,
    renewals: Vec<Vec<String>>,
    activations: Vec<Vec<String>>,
}

fn build(w: &mut World) -> Res<Cast> {
    let apr1 = ymd(2026, 4, 1)?;
    let mar31 = ymd(2026, 3, 31)?;
    let grad_fmts = [Fmt::Kanji, Fmt::Short, Fmt::Slash];
    let mut grad_fmt_i = 0usize;
    let mut grad_fmt = || {
        grad_fmt_i += 1;
        grad_fmts[grad_fmt_i % 3]
    };

    // --- Continuing undergraduates (在学), with accounts -------------------------------------
    let mut bulk_ug = Vec::new();
    for i in 0..95 {
        let (fac, code, years) = w.pick_faculty();
        let year = 2026 - years + 1 + w.rng.below(years as usize - 1) as i32;
        let birth = w.ug_birth(year)?;
        let p = w.random_person(birth, true);
        let sno = w.sno(code, year, 0);
        let sep = w.random_sep();
        // A few old-terminal rows with half-width kana (the account has full-width).
        let half = i % 24 == 5;
        let r = w.row(
            &p,
            &sno,
            &p.ecs,
            fac,
            UG,
            ENROLLED,
            ymd(year, 4, 1)?,
            None,
            sep,
            half,
        );
        w.account(&p, &[&sno], fac, "学生", "有効", None, None, None);
        if half {
            let kana = w.rows[r].kana.clone();
            w.note(
                &p,
                &sno,
                format!("half-width kana `{kana}` in the export, full-width in accounts.csv: no update expected"),
            );
        }
        bulk_ug.push(r);
    }

    // --- Continuing graduate students (在学) --------------------------------------------------
    for i in 0..25 {
        let (school, code) = w.pick_school();
        let doctor = i % 3 == 0;
        let year = if doctor {
            2023 + w.rng.below(3) as i32
        } else {
            2025
        };
        let age = if doctor { 23 } else { 21 };
        let birth = w.birth_between(ymd(year - age - 1, 4, 2)?, 700);
        let p = w.random_person(birth, true);
        let sno = w.sno(code, year, if doctor { 3 } else { 1 });
        let sep = w.random_sep();
        w.row(
            &p,
            &sno,
            &p.ecs,
            school,
            GR,
            ENROLLED,
            ymd(year, 4, 1)?,
            None,
            sep,
            false,
        );
        // Half of them were undergraduates here: their student-number history has two numbers.
        if w.rng.percent(50) {
            let (_, ucode, _) = w.pick_faculty();
            let old = w.sno(ucode, year - 4 - if doctor { 2 } else { 0 }, 0);
            w.account(&p, &[&old, &sno], school, "学生", "有効", None, None, None);
        } else {
            w.account(&p, &[&sno], school, "学生", "有効", None, None, None);
        }
    }

    // --- Special continuing students ---------------------------------------------------------
    // 髙橋 拓海: doctoral student, also hired by HR as 非常勤職員 (R9a).
    let takahashi = w.person(
        "髙橋",
        "拓海",
        "タカハシ",
        "タクミ",
        "takahashi",
        "takumi",
        ymd(1999, 11, 3)?,
        true,
    );
    let sno = w.sno("58", 2024, 3);
    w.row(
        &takahashi,
        &sno,
        &takahashi.ecs,
        "工学研究科",
        GR,
        ENROLLED,
        ymd(2024, 4, 1)?,
        None,
        Sep::Ideographic,
        false,
    );
    let old = w.sno("08", 2018, 0);
    w.account(
        &takahashi,
        &[&old, "58221045", &sno],
        "工学研究科",
        "学生",
        "有効",
        None,
        None,
        None,
    );
    w.note(
        &takahashi,
        &sno,
        "R9a: enrolled doctoral student (髙 U+9AD9) hired 2026-04-01 as 非常勤職員 in hr.csv: keeps the ECS-ID, no June shutdown while enrolled; the hire is recorded (`update`) for the day the enrolment ends",
    );
    let takahashi_sno = sno;

    // 山﨑 大和: 﨑 (U+FA11) consistently in the export and the directory.
    let yamazaki = w.person(
        "山﨑",
        "大和",
        "ヤマザキ",
        "ヤマト",
        "yamazaki",
        "yamato",
        ymd(2005, 6, 21)?,
        true,
    );
    let sno = w.sno("05", 2024, 0);
    w.row(
        &yamazaki,
        &sno,
        &yamazaki.ecs,
        "理学部",
        UG,
        ENROLLED,
        ymd(2024, 4, 1)?,
        None,
        Sep::Ideographic,
        false,
    );
    w.account(
        &yamazaki,
        &[&sno],
        "理学部",
        "学生",
        "有効",
        None,
        None,
        None,
    );
    w.note(
        &yamazaki,
        &sno,
        "﨑 (U+FA11, CP932 IBM extension) in both files: exact match, nothing to do",
    );

    // Name change: 佐藤 美咲 in the directory, 田中 美咲 in the export (R7 update of the name).
    let mut misaki = w.person(
        "佐藤",
        "美咲",
        "サトウ",
        "ミサキ",
        "sato",
        "misaki",
        ymd(2004, 9, 12)?,
        true,
    );
    let sno = w.sno("01", 2023, 0);
    w.account(&misaki, &[&sno], "文学部", "学生", "有効", None, None, None);
    misaki.fam = "田中".into();
    misaki.kfam = "タナカ".into();
    w.row(
        &misaki,
        &sno,
        &misaki.ecs,
        "文学部",
        UG,
        ENROLLED,
        ymd(2023, 4, 1)?,
        None,
        Sep::Ideographic,
        false,
    );
    w.note(
        &misaki,
        &sno,
        "name change (R7 update): 佐藤 美咲 in accounts.csv, 田中 美咲 in the export; same 学籍番号, 個人番号, ECS-ID",
    );

    // ECS-ID mismatch: the export shows an ECS-ID that is not the one on record (review).
    let morita = w.person(
        "森田",
        "健太",
        "モリタ",
        "ケンタ",
        "morita",
        "kenta",
        ymd(2002, 2, 8)?,
        true,
    );
    let sno = w.sno("55", 2025, 1);
    let wrong = w.ecs();
    w.row(
        &morita,
        &sno,
        &wrong,
        "理学研究科",
        GR,
        ENROLLED,
        ymd(2025, 4, 1)?,
        None,
        Sep::Ideographic,
        false,
    );
    let old = w.sno("05", 2021, 0);
    w.account(
        &morita,
        &[&old, &sno],
        "理学研究科",
        "学生",
        "有効",
        None,
        None,
        None,
    );
    w.note(
        &morita,
        &sno,
        format!("ECS-ID mismatch (review, R2/R6): the export says {wrong}, the directory says {}; {wrong} belongs to nobody", morita.ecs),
    );

    // --- On leave (休学): still students ------------------------------------------------------
    for i in 0..5 {
        let (fac, code, years) = w.pick_faculty();
        let year = 2026 - years + 1 + w.rng.below(years as usize - 1) as i32;
        let birth = w.ug_birth(year)?;
        let p = w.random_person(birth, true);
        if i == 0 {
            // A doctoral student since 令和元年10月 (October 2019), on leave.
            let p = w.random_person(ymd(1993, 5, 17)?, true);
            let sno = w.sno("63", 2019, 3);
            let r = w.row(
                &p,
                &sno,
                &p.ecs,
                "人間・環境学研究科",
                GR,
                LEAVE,
                ymd(2019, 10, 1)?,
                Some((ymd(2025, 10, 1)?, Fmt::Slash)),
                Sep::Ideographic,
                false,
            );
            w.rows[r].adm_fmt = Fmt::Kanji;
            w.account(
                &p,
                &[&sno],
                "人間・環境学研究科",
                "学生",
                "有効",
                None,
                None,
                None,
            );
            w.note(
                &p,
                &sno,
                "休学 since 2025-10-01, admitted `令和元年10月1日` (元年): still a student, nothing to do",
            );
            continue;
        }
        let sno = w.sno(code, year, 0);
        let r = w.row(
            &p,
            &sno,
            &p.ecs,
            fac,
            UG,
            LEAVE,
            ymd(year, 4, 1)?,
            Some((ymd(2026, 4, 1)?, Fmt::Iso)),
            Sep::Ideographic,
            false,
        );
        if i == 1 {
            w.rows[r].enroll_as_code = true;
            w.note(
                &p,
                &sno,
                "休学 written as code `2`: still a student, nothing to do",
            );
        }
        w.account(&p, &[&sno], fac, "学生", "有効", None, None, None);
    }

    // --- Graduations 2026-03-31 (卒業) ---------------------------------------------------------
    // Plain departures (R5).
    for i in 0..5 {
        let (fac, code, years) = w.pick_faculty();
        let year = 2026 - years;
        let birth = w.ug_birth(year)?;
        let p = w.random_person(birth, true);
        let sno = w.sno(code, year, 0);
        let f = grad_fmt();
        w.row(
            &p,
            &sno,
            &p.ecs,
            fac,
            UG,
            GRADUATED,
            ymd(year, 4, 1)?,
            Some((mar31, f)),
            Sep::Ideographic,
            false,
        );
        w.account(&p, &[&sno], fac, "学生", "有効", None, None, None);
        if i < 2 {
            w.note(
                &p,
                &sno,
                format!("R5 depart: 卒業, 異動年月日 `{}`", fmt_date(mar31, f)),
            );
        }
    }
    // R7: 卒業 2026-03-31 and a new 大学院生 row 2026-04-01 (new student number, same person).
    for i in 0..6 {
        let (fac, code, _) = w.pick_faculty();
        let year = 2022;
        let birth = w.ug_birth(year)?;
        let p = w.random_person(birth, true);
        let sno = w.sno(code, year, 0);
        let f = grad_fmt();
        w.row(
            &p,
            &sno,
            &p.ecs,
            fac,
            UG,
            GRADUATED,
            ymd(year, 4, 1)?,
            Some((mar31, f)),
            Sep::Ideographic,
            false,
        );
        w.account(&p, &[&sno], fac, "学生", "有効", None, None, None);
        let (school, scode) = w.pick_school();
        let new = w.sno(scode, 2026, 1);
        let shown = if i % 2 == 0 {
            p.ecs.clone()
        } else {
            String::new()
        };
        w.row(
            &p,
            &new,
            &shown,
            school,
            GR,
            ENROLLED,
            apr1,
            None,
            Sep::Ideographic,
            false,
        );
        w.note(
            &p,
            &new,
            format!(
                "R7 update: 卒業 {sno} ({fac}) and admitted {new} ({school}) 2026-04-01 in the same export; ECS-ID column {}",
                if shown.is_empty() { "blank on the new row (match by 個人番号)" } else { "filled on both rows" }
            ),
        );
    }
    // R9: 卒業 2026-03-31, hired 2026-04-01 as 事務職員.
    let ogawa = w.person(
        "小川",
        "由佳",
        "オガワ",
        "ユカ",
        "ogawa",
        "yuka",
        ymd(2003, 8, 30)?,
        true,
    );
    let ogawa_sno = w.sno("04", 2022, 0);
    w.row(
        &ogawa,
        &ogawa_sno,
        &ogawa.ecs,
        "経済学部",
        UG,
        GRADUATED,
        ymd(2022, 4, 1)?,
        Some((mar31, Fmt::Kanji)),
        Sep::Ascii,
        false,
    );
    w.account(
        &ogawa,
        &[&ogawa_sno],
        "経済学部",
        "学生",
        "有効",
        None,
        None,
        None,
    );
    w.note(
        &ogawa,
        &ogawa_sno,
        "R5 + R9: 卒業 2026-03-31, hired 2026-04-01 as 職員 (hr.csv with 個人番号, 学籍番号, ECS-ID): ECS-ID stops 2026-06-30",
    );

    // --- Completions 2026-03-31 (修了) ---------------------------------------------------------
    for i in 0..3 {
        let (school, code) = w.pick_school();
        let birth = w.birth_between(ymd(2001, 4, 2)?, 700);
        let p = w.random_person(birth, true);
        let sno = w.sno(code, 2024, 1);
        let f = grad_fmt();
        let r = w.row(
            &p,
            &sno,
            &p.ecs,
            school,
            GR,
            COMPLETED,
            ymd(2024, 4, 1)?,
            Some((mar31, f)),
            Sep::Ideographic,
            false,
        );
        if i == 0 {
            w.rows[r].enroll_as_code = true;
            w.rows[r].status_as_code = true;
            w.note(
                &p,
                &sno,
                "R5 depart: 修了 written as code `4`, 身分 as code `12`",
            );
        }
        w.account(&p, &[&sno], school, "学生", "有効", None, None, None);
    }
    // R6 carry-over: 修了 and, in the same export, 研究生 with a new number and the same ECS-ID.
    let tokunaga = w.person(
        "德永",
        "健一",
        "トクナガ",
        "ケンイチ",
        "tokunaga",
        "kenichi",
        ymd(2001, 12, 2)?,
        true,
    );
    let t_old = w.sno("08", 2020, 0);
    let t_m = w.sno("58", 2024, 1);
    w.row(
        &tokunaga,
        &t_m,
        &tokunaga.ecs,
        "工学研究科",
        GR,
        COMPLETED,
        ymd(2024, 4, 1)?,
        Some((mar31, Fmt::Short)),
        Sep::Ideographic,
        false,
    );
    w.account(
        &tokunaga,
        &[&t_old, &t_m],
        "工学研究科",
        "学生",
        "有効",
        None,
        None,
        None,
    );
    let t_rs = w.sno("58", 2026, 7);
    w.row(
        &tokunaga,
        &t_rs,
        &tokunaga.ecs,
        "工学研究科",
        RS,
        ENROLLED,
        apr1,
        None,
        Sep::Ideographic,
        false,
    );
    w.note(
        &tokunaga,
        &t_rs,
        format!("R6 carry_over: 修了 {t_m} (`R8.3.31`) and 研究生 {t_rs} from 2026-04-01 in the same export, same 個人番号 and ECS-ID (德 U+5FB7): no depart, no notice"),
    );

    // cancel_stop: 修了 in the 04-02 export; 研究生 only from the 04-17 export.
    let tsukamoto = w.person(
        "\u{FA10}本",
        "遥",
        "ツカモト",
        "ハルカ",
        "tsukamoto",
        "haruka",
        ymd(1997, 7, 7)?,
        true,
    );
    let ts_d = w.sno("55", 2023, 3);
    w.row(
        &tsukamoto,
        &ts_d,
        &tsukamoto.ecs,
        "理学研究科",
        GR,
        COMPLETED,
        ymd(2023, 4, 1)?,
        Some((mar31, Fmt::Slash)),
        Sep::Ideographic,
        false,
    );
    w.account(
        &tsukamoto,
        &["05160077", "55211020", &ts_d],
        "理学研究科",
        "学生",
        "有効",
        None,
        None,
        None,
    );
    let ts_rs = w.sno("55", 2026, 7);

    // R8: 修了, stays as 研究員 with a 利用継続 approval.
    let nakamura = w.person(
        "中村",
        "翔",
        "ナカムラ",
        "ショウ",
        "nakamura",
        "sho",
        ymd(1996, 1, 15)?,
        true,
    );
    let n_sno = w.sno("66", 2023, 3);
    w.row(
        &nakamura,
        &n_sno,
        &nakamura.ecs,
        "情報学研究科",
        GR,
        COMPLETED,
        ymd(2023, 4, 1)?,
        Some((mar31, Fmt::Kanji)),
        Sep::Ideographic,
        false,
    );
    w.account(
        &nakamura,
        &[&n_sno],
        "情報学研究科",
        "学生",
        "有効",
        None,
        None,
        None,
    );
    w.note(
        &nakamura,
        &n_sno,
        "R5 + R8 make_holder: 修了 `令和8年3月31日`, 利用継続 (研究員) approved 2026-03-27 in renewals.csv, valid until 2027-03-31",
    );

    // R9: 修了 (doctor), hired 2026-04-01 as 助教; HR gives only the 個人番号.
    let ishii = w.person(
        "石井",
        "大輔",
        "イシイ",
        "ダイスケ",
        "ishii",
        "daisuke",
        ymd(1995, 3, 3)?,
        true,
    );
    let ishii_sno = w.sno("56", 2022, 3);
    w.row(
        &ishii,
        &ishii_sno,
        &ishii.ecs,
        "医学研究科",
        GR,
        COMPLETED,
        ymd(2022, 4, 1)?,
        Some((mar31, Fmt::Short)),
        Sep::Ideographic,
        false,
    );
    w.account(
        &ishii,
        &[&ishii_sno],
        "医学研究科",
        "学生",
        "有効",
        None,
        None,
        None,
    );
    w.note(
        &ishii,
        &ishii_sno,
        "R5 + R9: 修了 2026-03-31, hired 2026-04-01 as 助教 (hr.csv gives only 個人番号): ECS-ID stops 2026-06-30",
    );

    // R9: 修了, hired 2026-07-01 as 技術職員; HR gives only the 学籍番号.
    let fujii = w.person(
        "藤井",
        "彩",
        "フジイ",
        "アヤ",
        "fujii",
        "aya",
        ymd(2001, 10, 10)?,
        true,
    );
    let fujii_sno = w.sno("59", 2024, 1);
    w.row(
        &fujii,
        &fujii_sno,
        &fujii.ecs,
        "農学研究科",
        GR,
        COMPLETED,
        ymd(2024, 4, 1)?,
        Some((mar31, Fmt::Iso)),
        Sep::Ideographic,
        false,
    );
    w.account(
        &fujii,
        &[&fujii_sno],
        "農学研究科",
        "学生",
        "有効",
        None,
        None,
        None,
    );
    w.note(
        &fujii,
        &fujii_sno,
        "R5 + R9: 修了 2026-03-31, hired 2026-07-01 as 技術職員 (hr.csv gives only 学籍番号): ECS-ID stops 2027-06-30",
    );

    // --- Withdrawals and an expulsion ---------------------------------------------------------
    let leave_dates = [
        (WITHDRAWN, ymd(2026, 3, 15)?, Fmt::Slash),
        (WITHDRAWN, ymd(2026, 2, 28)?, Fmt::Kanji),
        (WITHDRAWN, ymd(2026, 3, 31)?, Fmt::Iso),
        (EXPELLED, ymd(2025, 9, 30)?, Fmt::Short),
    ];
    for (i, (what, date, f)) in leave_dates.into_iter().enumerate() {
        let (fac, code, years) = w.pick_faculty();
        let year = 2026 - years + 1 + w.rng.below(years as usize - 1) as i32;
        let birth = w.ug_birth(year)?;
        let p = w.random_person(birth, true);
        let sno = w.sno(code, year, 0);
        let r = w.row(
            &p,
            &sno,
            &p.ecs,
            fac,
            UG,
            what,
            ymd(year, 4, 1)?,
            Some((date, f)),
            Sep::Ideographic,
            false,
        );
        if i == 1 {
            w.rows[r].enroll_as_code = true;
        }
        w.account(&p, &[&sno], fac, "学生", "有効", None, None, None);
        w.note(
            &p,
            &sno,
            format!(
                "R5 depart: {what}{} 異動年月日 `{}`",
                if w.rows[r].enroll_as_code {
                    " (code `5`)"
                } else {
                    ""
                },
                fmt_date(date, f)
            ),
        );
    }

    // --- Continuing non-regular students, incl. pending activations --------------------------
    let mut activations = Vec::new();
    // (身分, school index, admitted, account created, activated on)
    let nonreg = [
        (RS, 2usize, ymd(2025, 10, 1)?, None, None),
        (AU, 0, ymd(2025, 10, 1)?, None, None),
        (SR, 4, ymd(2025, 10, 1)?, None, None),
        (
            SR,
            7,
            ymd(2026, 2, 2)?,
            Some(ymd(2026, 2, 2)?),
            Some(ymd(2026, 3, 5)?),
        ),
        (
            RS,
            3,
            ymd(2026, 2, 16)?,
            Some(ymd(2026, 2, 16)?),
            Some(ymd(2026, 3, 19)?),
        ),
        (
            CA,
            1,
            ymd(2026, 3, 2)?,
            Some(ymd(2026, 3, 2)?),
            Some(ymd(2026, 3, 27)?),
        ),
        (AU, 6, ymd(2026, 1, 7)?, Some(ymd(2026, 1, 7)?), None),
        (RS, 5, ymd(2026, 3, 16)?, Some(ymd(2026, 3, 16)?), None),
    ];
    for (status, si, admitted, created, activated) in nonreg {
        let (school, code) = SCHOOLS[si];
        let band = match status {
            RS => 7,
            CA | AU => 8,
            _ => 9,
        };
        let birth = w.birth_between(ymd(1990, 4, 2)?, 3000);
        let p = w.random_person(birth, true);
        let sno = w.sno(code, admitted.year(), band);
        // Pending accounts are not yet known to the registrar: ECS-ID column blank.
        let shown = if created.is_some() {
            String::new()
        } else {
            p.ecs.clone()
        };
        w.row(
            &p,
            &sno,
            &shown,
            school,
            status,
            ENROLLED,
            admitted,
            None,
            Sep::Ideographic,
            false,
        );
        match created {
            Some(c) => {
                let deadline = c + Duration::days(60);
                w.account(
                    &p,
                    &[&sno],
                    school,
                    "学生",
                    "有効化待ち",
                    Some(deadline),
                    None,
                    None,
                );
                let case = match activated {
                    Some(a) => {
                        activations.push(vec![p.ecs.clone(), a.format("%Y-%m-%d").to_string()]);
                        format!(
                            "R4: pending (有効化期限 {deadline}), activated {a} in activations.csv → 有効"
                        )
                    }
                    None if deadline < ymd(2026, 4, 2)? => format!(
                        "R4 activation_expired: pending, 有効化期限 {deadline} already past on 2026-04-02, no activation"
                    ),
                    None => format!(
                        "R4: pending, 有効化期限 {deadline} in the future on 2026-04-02 (expired by 2026-06-30), no activation"
                    ),
                };
                w.note(&p, &sno, format!("{status} admitted {admitted}; {case}"));
            }
            None => w.account(&p, &[&sno], school, "学生", "有効", None, None, None),
        }
    }

    // --- New admissions 2026-04-01 (R1, R3: letters by faculty) -------------------------------
    for i in 0..20 {
        let (fac, code, _) = w.pick_faculty();
        let birth = w.ug_birth(2026)?;
        let p = w.random_person(birth, false);
        let sno = w.sno(code, 2026, 0);
        let sep = w.random_sep();
        let r = w.row(&p, &sno, "", fac, UG, ENROLLED, apr1, None, sep, i == 7);
        if i == 0 || i == 7 {
            let (bf, nm, kn) = (
                w.rows[r].birth_fmt,
                w.rows[r].name.clone(),
                w.rows[r].kana.clone(),
            );
            w.note(
                &p,
                &sno,
                format!(
                    "R1/R3 create (letter): new 学部生, name `{nm}`, kana `{kn}`, 生年月日 as {}",
                    fmt_name(bf)
                ),
            );
        }
    }
    for i in 0..5 {
        let (school, code) = w.pick_school();
        let birth = w.birth_between(ymd(2002, 4, 2)?, 900);
        let p = w.random_person(birth, false);
        let (school, code) = if i == 0 {
            ("工学研究科", "58")
        } else {
            (school, code)
        };
        let sno = w.sno(code, 2026, 1);
        let r = w.row(
            &p,
            &sno,
            "",
            school,
            GR,
            ENROLLED,
            apr1,
            None,
            Sep::Ideographic,
            false,
        );
        if i == 0 {
            w.rows[r].faculty = "工学研究科\n機械理工学専攻".into();
            w.note(
                &p,
                &sno,
                "R1/R3 create (letter): new 大学院生 whose 所属 holds a line break inside a quoted cell (`\"工学研究科⏎機械理工学専攻\"`, read as `工学研究科 機械理工学専攻`)",
            );
        }
    }
    // Reinstate (R2): a former student, account stopped, readmitted with a new number.
    let yamada = w.person(
        "山田",
        "太郎",
        "ヤマダ",
        "タロウ",
        "yamada",
        "taro",
        ymd(2000, 4, 1)?,
        true,
    );
    let y_old = w.sno("02", 2019, 0);
    w.account(
        &yamada,
        &[&y_old],
        "教育学部",
        "学生",
        "停止",
        None,
        Some(ymd(2021, 10, 14)?),
        None,
    );
    let y_new = w.sno("63", 2026, 1);
    let r = w.row(
        &yamada,
        &y_new,
        "",
        "人間・環境学研究科",
        GR,
        ENROLLED,
        apr1,
        None,
        Sep::Ascii,
        true,
    );
    w.rows[r].birth_fmt = Fmt::Short;
    w.note(
        &yamada,
        &y_new,
        format!("R2 reinstate: former student ({y_old}, 退学 2021, account 停止), readmitted 2026-04-01 with a new number, same 個人番号, ECS-ID blank in the export; kana half-width `ﾔﾏﾀﾞ ﾀﾛｳ`, 生年月日 `H12.4.1`"),
    );
    // Variant-kanji candidate: 山崎 (stopped account) vs 山﨑 (new row, new 個人番号).
    let yamazaki_old = w.person(
        "山崎",
        "美咲",
        "ヤマザキ",
        "ミサキ",
        "yamazaki",
        "misaki",
        ymd(2001, 7, 14)?,
        true,
    );
    let ym_old = w.sno("09", 2019, 0);
    w.account(
        &yamazaki_old,
        &[&ym_old],
        "農学部",
        "学生",
        "停止",
        None,
        Some(ymd(2023, 4, 14)?),
        None,
    );
    let mut yamazaki_new = yamazaki_old.clone();
    yamazaki_new.fam = "山﨑".into();
    yamazaki_new.pid = w.pid();
    yamazaki_new.ecs = String::new();
    let ym_new = w.sno("09", 2026, 8);
    let r = w.row(
        &yamazaki_new,
        &ym_new,
        "",
        "農学部",
        CA,
        ENROLLED,
        apr1,
        None,
        Sep::Ideographic,
        false,
    );
    w.rows[r].birth_fmt = Fmt::Kanji;
    w.note(
        &yamazaki_new,
        &ym_new,
        format!("variant-kanji candidate (review, never auto-match): new 科目等履修生 山﨑 美咲, new 個人番号, same kana and birth date (平成13年7月14日) as the stopped account {} 山崎 美咲 ({ym_old}, 個人番号 {})", yamazaki_old.ecs, yamazaki_old.pid),
    );
    // New non-regular students 2026-04-01.
    let newnonreg = [(RS, 4usize), (RS, 7), (CA, 1), (AU, 0), (SR, 2)];
    for (status, si) in newnonreg {
        let (school, code) = SCHOOLS[si];
        let band = match status {
            RS => 7,
            CA | AU => 8,
            _ => 9,
        };
        let adult = status == CA;
        let birth = if adult {
            ymd(1980, 6, 3)?
        } else {
            w.birth_between(ymd(1995, 4, 2)?, 2000)
        };
        let p = w.random_person(birth, false);
        let sno = w.sno(code, 2026, band);
        let r = w.row(
            &p,
            &sno,
            "",
            school,
            status,
            ENROLLED,
            apr1,
            None,
            Sep::Ideographic,
            false,
        );
        if adult {
            w.rows[r].birth_fmt = Fmt::Short;
            w.note(
                &p,
                &sno,
                "R1/R3 create (letter): new 科目等履修生, 生年月日 in 昭和 `S55.6.3`",
            );
        }
    }
    // Exchange students (特別聴講学生): a name with a comma needs quotes in CSV.
    let smith = w.person(
        "SMITH, John",
        "",
        "スミス",
        "ジョン",
        "smith",
        "john",
        ymd(2004, 2, 29)?,
        false,
    );
    let smith_sno = w.sno("08", 2026, 9);
    let r = w.row(
        &smith,
        &smith_sno,
        "",
        "工学部",
        SA,
        ENROLLED,
        apr1,
        None,
        Sep::Ideographic,
        false,
    );
    w.rows[r].birth_fmt = Fmt::Iso;
    w.note(
        &smith,
        &smith_sno,
        "R1/R3 create (letter): 特別聴講学生 `SMITH, John` (quoted because of the comma), born 2004-02-29",
    );
    let kim = w.person(
        "金",
        "敏智",
        "キム",
        "ミンジ",
        "kim",
        "minji",
        ymd(2003, 11, 20)?,
        false,
    );
    let kim_sno = w.sno("04", 2026, 9);
    w.row(
        &kim,
        &kim_sno,
        "",
        "経済学部",
        SA,
        ENROLLED,
        apr1,
        None,
        Sep::Ascii,
        false,
    );

    // The May admission (R3: not a cohort month → counter delivery).
    let harada = w.person(
        "原田",
        "葵",
        "ハラダ",
        "アオイ",
        "harada",
        "aoi",
        ymd(1998, 12, 24)?,
        false,
    );
    let h_sno = w.sno("56", 2026, 7);
    let may_admission = w.row(
        &harada,
        &h_sno,
        "",
        "医学研究科",
        RS,
        ENROLLED,
        ymd(2026, 5, 7)?,
        None,
        Sep::Ideographic,
        false,
    );
    w.rows[may_admission].adm_fmt = Fmt::Kanji;
    w.note(
        &harada,
        &h_sno,
        "R3 counter delivery: 研究生 admitted `令和8年5月7日` (May is not a cohort month); absent again from the 04-17 export",
    );

    // --- Accounts only: absent from the export (full snapshot → depart) ----------------------
    for _ in 0..5 {
        let (fac, code, years) = w.pick_faculty();
        let year = 2026 - years + 1 + w.rng.below(years as usize - 1) as i32;
        let birth = w.ug_birth(year)?;
        let p = w.random_person(birth, true);
        let sno = w.sno(code, year, 0);
        w.account(&p, &[&sno], fac, "学生", "有効", None, None, None);
        w.note(
            &p,
            &sno,
            "absent: 学生/有効 in accounts.csv, missing from the full-snapshot export (policy `absent` → depart)",
        );
    }
    // A former student whose account is simply stopped.
    let okada = w.person(
        "岡田",
        "隆",
        "オカダ",
        "タカシ",
        "okada",
        "takashi",
        ymd(1998, 5, 5)?,
        true,
    );
    let o_sno = w.sno("03", 2017, 0);
    w.account(
        &okada,
        &[&o_sno],
        "法学部",
        "学生",
        "停止",
        None,
        Some(ymd(2021, 4, 1)?),
        None,
    );
    w.note(
        &okada,
        &o_sno,
        "stopped account of a former student (卒業 2021): nothing to do",
    );

    // --- Non-student holders (R10) -----------------------------------------------------------
    let mut renewals = Vec::new();
    let holders = [
        (
            "理学研究科 研究員",
            ymd(2026, 3, 31)?,
            Some(ymd(2026, 3, 12)?),
        ),
        (
            "文学研究科 研究員",
            ymd(2026, 3, 31)?,
            Some(ymd(2026, 3, 24)?),
        ),
        ("農学研究科 研究員", ymd(2026, 3, 31)?, None),
        (
            "工学研究科 研究員（㈱京都先端材料 共同研究）",
            ymd(2027, 3, 31)?,
            None,
        ),
    ];
    for (i, (aff, expiry, renewed)) in holders.into_iter().enumerate() {
        let birth = w.birth_between(ymd(1988, 4, 2)?, 2500);
        let p = w.random_person(birth, true);
        let code = SCHOOLS
            .iter()
            .find(|(school, _)| aff.starts_with(school))
            .map_or("55", |(_, code)| code);
        let sno = w.sno(code, 2019, 3);
        w.account(
            &p,
            &[&sno],
            aff,
            "学生以外",
            "有効",
            None,
            None,
            Some(expiry),
        );
        let case = match renewed {
            Some(on) => {
                let kind = "年度更新";
                let approved = if i == 1 {
                    // The counter's tool writes this one with the Reiwa ligature.
                    "㋿8年3月24日".to_string()
                } else {
                    on.format("%Y/%m/%d").to_string()
                };
                renewals.push(vec![
                    kind.to_string(),
                    p.ecs.clone(),
                    p.pid.clone(),
                    String::new(),
                    p.name(),
                    p.kana(),
                    p.birth.format("%Y/%m/%d").to_string(),
                    aff.to_string(),
                    approved.clone(),
                    "2027/03/31".to_string(),
                ]);
                format!(
                    "R10 renew: 学生以外, 利用期限 {expiry}; {kind} approved `{approved}` in renewals.csv → 2027-03-31"
                )
            }
            None if expiry == ymd(2026, 3, 31)? => format!(
                "R10 late expiry notice: 学生以外, 利用期限 {expiry}, no renewal and no notice on record → expiry_notice on 2026-04-02, stop (holder_expired) on 2026-04-16 (14 days' notice)"
            ),
            None => format!(
                "R10: 学生以外, 利用期限 {expiry}: nothing now; expiry_notice due 2027-03-01 (a month before the stop on 2027-04-01)"
            ),
        };
        w.note(&p, &sno, case);
    }

    // --- A conversion already under way (教職員移行) -----------------------------------------
    let nishimura = w.person(
        "西村",
        "恵",
        "ニシムラ",
        "メグミ",
        "nishimura",
        "megumi",
        ymd(1999, 2, 14)?,
        true,
    );
    let ni_sno = w.sno("54", 2023, 1);
    w.account(
        &nishimura,
        &[&ni_sno],
        "経済学研究科",
        "教職員移行",
        "有効",
        None,
        Some(ymd(2026, 6, 30)?),
        None,
    );
    w.note(
        &nishimura,
        &ni_sno,
        "R9: 教職員移行 (修了 2025-09-30, hired 2025-10-01 as 技術職員, in hr.csv); 停止予定日 2026-06-30: the roster's hire is recorded on 04-02 (`update`, stop unchanged, no second notice); staff_reminder due 2026-05-31, stop on the night of 2026-06-30",
    );

    // --- Renewals: R8 continuation and R11 JSPS fellow ---------------------------------------
    renewals.insert(
        0,
        vec![
            "利用継続".into(),
            nakamura.ecs.clone(),
            nakamura.pid.clone(),
            n_sno.clone(),
            nakamura.name(),
            nakamura.kana(),
            "1996/01/15".into(),
            "情報学研究科 研究員".into(),
            "2026/03/27".into(),
            "2027/03/31".into(),
        ],
    );
    renewals.push(vec![
        "JSPS特別研究員".into(),
        String::new(),
        String::new(),
        String::new(),
        "青木 亮".into(),
        "アオキ リョウ".into(),
        "1994/08/19".into(),
        "理学研究科 日本学術振興会特別研究員(PD)".into(),
        "2026/04/01".into(),
        "2027/03/31".into(),
    ]);
    w.notables.push(Notable {
        sno: String::new(),
        pid: String::new(),
        ecs: String::new(),
        name: "青木 亮".into(),
        case: "R11 create (counter delivery) as 学生以外: JSPS特別研究員 approved 2026-04-01, no ECS-ID, no 個人番号, 有効期限 2027-03-31".into(),
    });

    // --- HR roster ---------------------------------------------------------------------------
    let hr_row = |staff: &str,
                  pid: &str,
                  sno: &str,
                  ecs: &str,
                  name: &str,
                  kana: &str,
                  birth: &str,
                  aff: &str,
                  job: &str,
                  hired: &str| {
        [staff, pid, sno, ecs, name, kana, birth, aff, job, hired]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    let hr = vec![
        hr_row(
            "0081234",
            "",
            "",
            "",
            "大野 正和",
            "オオノ マサカズ",
            "1968/04/22",
            "理学研究科",
            "教授",
            "2004/04/01",
        ),
        hr_row(
            "0093311",
            "",
            "",
            "",
            "菊地 由美子",
            "キクチ ユミコ",
            "1975/10/03",
            "工学研究科",
            "准教授",
            "2012/10/01",
        ),
        hr_row(
            "0104520",
            "",
            "",
            "",
            "野口 博",
            "ノグチ ヒロシ",
            "1980/01/30",
            "情報環境機構",
            "事務職員",
            "2008/04/01",
        ),
        hr_row(
            "0110877",
            "",
            "",
            "",
            "今井 聡子",
            "イマイ サトコ",
            "1990/12/12",
            "附属図書館",
            "技術職員",
            "2026/04/01",
        ),
        hr_row(
            "0110902",
            "",
            "",
            "",
            "竹内 修",
            "タケウチ オサム",
            "1958/07/07",
            "文学研究科",
            "非常勤講師",
            "2026/04/01",
        ),
        hr_row(
            "0110031",
            &ogawa.pid,
            &ogawa_sno,
            &ogawa.ecs,
            "小川 由佳",
            "オガワ ユカ",
            "2003/08/30",
            "経済学研究科 事務部",
            "職員",
            "2026/04/01",
        ),
        hr_row(
            "0110044",
            &ishii.pid,
            "",
            "",
            "石井 大輔",
            "イシイ ダイスケ",
            "1995/03/03",
            "医学研究科",
            "助教",
            "2026/04/01",
        ),
        hr_row(
            "0110388",
            "",
            &fujii_sno,
            "",
            "藤井 彩",
            "フジイ アヤ",
            "2001/10/10",
            "農学研究科",
            "技術職員",
            "2026/07/01",
        ),
        hr_row(
            "0110415",
            &takahashi.pid,
            &takahashi_sno,
            &takahashi.ecs,
            "髙橋 拓海",
            "タカハシ タクミ",
            "1999/11/03",
            "工学研究科（㈱京都先端材料 共同研究）",
            "非常勤職員",
            "2026/04/01",
        ),
        hr_row(
            "0107766",
            &nishimura.pid,
            &ni_sno,
            &nishimura.ecs,
            "西村 恵",
            "ニシムラ メグミ",
            "1999/02/14",
            "経済学研究科",
            "技術職員",
            "2025/10/01",
        ),
    ];

    // --- The April-17 withdrawal: a continuing undergraduate ---------------------------------
    let withdraw_0417 = bulk_ug[10];
    let r = &w.rows[withdraw_0417];
    let (sno, pid, ecs, name) = (r.sno.clone(), r.pid.clone(), r.ecs.clone(), r.name.clone());
    w.notables.push(Notable {
        sno,
        pid,
        ecs,
        name,
        case: "在学 on 04-02; 退学 with 異動年月日 2026-04-15 in the 04-17 export (R5 depart)"
            .into(),
    });
    w.note(
        &tsukamoto,
        &ts_d,
        format!("R5 depart on 04-02 (修了 `2026/3/31`, no 研究生 row; 塚 is U+FA10), then cancel_stop on 04-17: 研究生 {ts_rs} from 2026-04-01 appears with ECS-ID blank, same 個人番号 (R6)"),
    );

    Ok(Cast {
        withdraw_0417,
        may_admission,
        cancel_stop: (tsukamoto, ts_rs),
        hr,
        renewals,
        activations,
    })
}

// ---------------------------------------------------------------------------------------------
// Writers

/// Writes a registrar CSV (CP932, CRLF, title rows, padded columns, trailing empty rows) and
/// returns the physical line on which each student number's record starts.
fn write_registrar_csv(
    path: &Path,
    rows: &[Row],
    export_day: &str,
) -> Res<BTreeMap<String, usize>> {
    let width = REGISTRAR_HEADER.len();
    let blank = vec![String::new(); width];
    let mut text = String::new();
    let mut title = blank.clone();
    title[0] = REGISTRAR_TITLE.into();
    text.push_str(&csv_line(&title, REG_PAD, "\r\n"));
    let mut sub = blank.clone();
    sub[0] = format!("出力日: {export_day}");
    sub[6] = "教務部 教務企画課".into();
    text.push_str(&csv_line(&sub, REG_PAD, "\r\n"));
    text.push_str(&csv_line(&blank, REG_PAD, "\r\n"));
    let header: Vec<String> = REGISTRAR_HEADER.iter().map(|s| s.to_string()).collect();
    text.push_str(&csv_line(&header, REG_PAD, "\r\n"));
    let mut line = 5;
    let mut lines = BTreeMap::new();
    for r in rows {
        let cells = r.cells();
        let l = csv_line(&cells, REG_PAD, "\r\n");
        lines.insert(r.sno.clone(), line);
        line += 1 + cells.iter().map(|c| c.matches('\n').count()).sum::<usize>();
        text.push_str(&l);
    }
    text.push_str(&csv_line(&blank, REG_PAD, "\r\n"));
    text.push_str(&csv_line(&blank, REG_PAD, "\r\n"));
    fs_write(path, &cp932(&text)?)?;
    Ok(lines)
}

fn fs_write(path: &Path, bytes: &[u8]) -> Res<()> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn excel_date(d: NaiveDate) -> Res<ExcelDateTime> {
    Ok(ExcelDateTime::from_ymd(
        u16::try_from(d.year())?,
        u8::try_from(d.month())?,
        u8::try_from(d.day())?,
    )?)
}

/// The same rows as an Excel workbook: student numbers as numbers, 生年月日 and 入学年月日 as
/// date cells, 異動年月日 as text, codes as numbers, 工学部 as a formula with a cached value.
fn write_registrar_xlsx(path: &Path, rows: &[Row]) -> Res<BTreeMap<String, u32>> {
    let mut wb = Workbook::new();
    // A fixed creation time keeps the file byte-identical across runs.
    let created = ExcelDateTime::from_ymd(2026, 4, 2)?.and_hms(7, 30, 0)?;
    wb.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&created)
            .set_author("教務部 教務企画課"),
    );
    let ws = wb.add_worksheet();
    ws.set_name("在籍者")?;
    let bold = Format::new().set_bold();
    let birth_fmt = Format::new().set_num_format("yyyy/m/d");
    let adm_fmt = Format::new().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
    let wrap = Format::new().set_text_wrap();
    ws.merge_range(0, 0, 0, 10, REGISTRAR_TITLE, &bold)?;
    ws.write_string(1, 0, "出力日: 2026/04/02")?;
    ws.write_string(1, 6, "教務部 教務企画課")?;
    for (c, h) in REGISTRAR_HEADER.iter().enumerate() {
        ws.write_string_with_format(3, u16::try_from(c)?, *h, &bold)?;
    }
    let mut where_ = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let row = 4 + u32::try_from(i)?;
        where_.insert(r.sno.clone(), row + 1);
        ws.write_number(row, 0, r.sno.parse::<f64>()?)?;
        ws.write_string(row, 1, &r.pid)?;
        if !r.ecs.is_empty() {
            ws.write_string(row, 2, &r.ecs)?;
        }
        ws.write_string(row, 3, &r.name)?;
        ws.write_string(row, 4, &r.kana)?;
        ws.write_datetime_with_format(row, 5, excel_date(r.birth)?, &birth_fmt)?;
        if r.faculty == "工学部" {
            ws.write_formula(row, 6, Formula::new("=\"工学部\"").set_result("工学部"))?;
        } else if r.faculty.contains('\n') {
            ws.write_string_with_format(row, 6, &r.faculty, &wrap)?;
        } else {
            ws.write_string(row, 6, &r.faculty)?;
        }
        let status = r.status_cell();
        if r.status_as_code {
            ws.write_number(row, 7, status.parse::<f64>()?)?;
        } else {
            ws.write_string(row, 7, &status)?;
        }
        let enroll = r.enroll_cell();
        if r.enroll_as_code {
            ws.write_number(row, 8, enroll.parse::<f64>()?)?;
        } else {
            ws.write_string(row, 8, &enroll)?;
        }
        ws.write_datetime_with_format(row, 9, excel_date(r.admission)?, &adm_fmt)?;
        if let Some((d, f)) = r.change {
            ws.write_string(row, 10, fmt_date(d, f))?;
        }
    }
    ws.set_column_width(3, 16)?;
    ws.set_column_width(4, 18)?;
    ws.set_column_width(6, 20)?;
    wb.save(path)?;
    Ok(where_)
}

fn write_accounts(path: &Path, accounts: &[Account]) -> Res<()> {
    let mut text = String::from("\u{FEFF}");
    text.push_str(&ACCOUNTS_HEADER.join(","));
    text.push_str("\r\n");
    let iso = |d: Option<NaiveDate>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let mut sorted: Vec<&Account> = accounts.iter().collect();
    sorted.sort_by(|a, b| a.ecs.cmp(&b.ecs));
    for a in sorted {
        let cells = vec![
            a.ecs.clone(),
            a.pid.clone(),
            a.snos.join(";"),
            a.name.clone(),
            a.kana.clone(),
            a.birth.format("%Y-%m-%d").to_string(),
            a.faculty.clone(),
            a.kind.to_string(),
            a.state.to_string(),
            a.kumoi.clone(),
            iso(a.act_deadline),
            iso(a.stop),
            iso(a.expiry),
        ];
        text.push_str(&csv_line(&cells, 0, "\r\n"));
    }
    fs_write(path, text.as_bytes())
}

fn write_simple(path: &Path, header: &[&str], rows: &[Vec<String>], enc: Enc) -> Res<()> {
    let mut text = String::new();
    let eol = if enc == Enc::Utf8 { "\n" } else { "\r\n" };
    if enc == Enc::Utf8Bom {
        text.push('\u{FEFF}');
    }
    let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    text.push_str(&csv_line(&header, 0, eol));
    for r in rows {
        text.push_str(&csv_line(r, 0, eol));
    }
    match enc {
        Enc::Cp932 => fs_write(path, &cp932(&text)?),
        _ => fs_write(path, text.as_bytes()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Enc {
    Cp932,
    Utf8,
    Utf8Bom,
}

/// Broken files: a 15-row slice of the export with exactly one kind of problem each.
/// Returns, per file, a description of where the problems are.
fn write_broken(dir: &Path, rows: &[Row]) -> Res<Vec<(String, String)>> {
    std::fs::create_dir_all(dir)?;
    let slice: Vec<Row> = rows
        .iter()
        .filter(|r| !r.faculty.contains('\n'))
        .take(15)
        .cloned()
        .collect();
    let mut notes = Vec::new();
    let header: Vec<String> = REGISTRAR_HEADER.iter().map(|s| s.to_string()).collect();
    let title = |width: usize| {
        let mut t = vec![String::new(); width];
        t[0] = REGISTRAR_TITLE.to_string();
        csv_line(&t, REG_PAD, "\r\n")
    };
    // Data starts on line 3 (title, header).
    let line_of = |i: usize| i + 3;

    // bad-date.csv
    let mut text = title(header.len()) + &csv_line(&header, REG_PAD, "\r\n");
    for (i, r) in slice.iter().enumerate() {
        let mut c = r.cells();
        if i == 3 {
            c[5] = "2026年2月30日".into();
        }
        if i == 9 {
            c[5] = "令和元年4月30日".into();
        }
        text += &csv_line(&c, REG_PAD, "\r\n");
    }
    fs_write(&dir.join("bad-date.csv"), &cp932(&text)?)?;
    notes.push((
        "bad-date.csv".into(),
        format!(
            "line {} ({}) 生年月日 `2026年2月30日` (no such day); line {} ({}) 生年月日 `令和元年4月30日` (令和 began 2019-05-01): two errors, file rejected",
            line_of(3),
            slice[3].sno,
            line_of(9),
            slice[9].sno
        ),
    ));

    // bad-bytes.csv: 0x81 0x7F (0x7F is no trail byte) inside a name.
    let mut bytes = cp932(&(title(header.len()) + &csv_line(&header, REG_PAD, "\r\n")))?;
    for (i, r) in slice.iter().enumerate() {
        let mut c = r.cells();
        if i == 6 {
            let name = c[3].clone();
            let (fam, giv) = name
                .split_once(['\u{3000}', ' '])
                .unwrap_or((name.as_str(), ""));
            c[3] = format!("{fam}\u{E000}{giv}");
        }
        let enc = cp932(&csv_line(&c, REG_PAD, "\r\n").replace('\u{E000}', "@@BAD@@"))?;
        // Splice the invalid pair where the placeholder is.
        let marker = b"@@BAD@@";
        if let Some(pos) = enc.windows(marker.len()).position(|w| w == marker) {
            bytes.extend_from_slice(&enc[..pos]);
            bytes.extend_from_slice(&[0x81, 0x7F]);
            bytes.extend_from_slice(&enc[pos + marker.len()..]);
        } else {
            bytes.extend_from_slice(&enc);
        }
    }
    fs_write(&dir.join("bad-bytes.csv"), &bytes)?;
    notes.push((
        "bad-bytes.csv".into(),
        format!(
            "line {} ({}): bytes 0x81 0x7F between family and given name in 氏名 — not Shift_JIS/CP932 nor UTF-8; the whole file is rejected, never decoded with U+FFFD",
            line_of(6),
            slice[6].sno
        ),
    ));

    // missing-column.csv: 身分 (column 8) removed everywhere.
    let drop = |mut c: Vec<String>| {
        c.remove(7);
        c
    };
    let mut text = title(header.len() - 1) + &csv_line(&drop(header.clone()), REG_PAD, "\r\n");
    for r in &slice {
        text += &csv_line(&drop(r.cells()), REG_PAD, "\r\n");
    }
    fs_write(&dir.join("missing-column.csv"), &cp932(&text)?)?;
    notes.push((
        "missing-column.csv".into(),
        "the required column 身分 is missing from the header (line 2) and every row".into(),
    ));

    // unknown-status.csv
    let mut text = title(header.len()) + &csv_line(&header, REG_PAD, "\r\n");
    for (i, r) in slice.iter().enumerate() {
        let mut c = r.cells();
        if i == 4 {
            c[8] = "停学".into();
        }
        if i == 11 {
            c[8] = "9".into();
        }
        text += &csv_line(&c, REG_PAD, "\r\n");
    }
    fs_write(&dir.join("unknown-status.csv"), &cp932(&text)?)?;
    notes.push((
        "unknown-status.csv".into(),
        format!(
            "line {} ({}) 在籍状態 `停学`; line {} ({}) 在籍状態 code `9`: neither is in the profile",
            line_of(4),
            slice[4].sno,
            line_of(11),
            slice[11].sno
        ),
    ));
    Ok(notes)
}

// ---------------------------------------------------------------------------------------------
// README

fn readme(
    w: &World,
    rows0417: &[Row],
    csv_lines: &BTreeMap<String, usize>,
    csv_lines_0417: &BTreeMap<String, usize>,
    xlsx_rows: &BTreeMap<String, u32>,
    cast: &Cast,
    broken: &[(String, String)],
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Sample world\n\n\
Generated by `examples/gen_samples.rs`; regenerate with\n\n\
```sh\ncargo run --example gen_samples -- samples\n```\n\n\
The generator is deterministic (a fixed-seed xorshift, no OS randomness): running it again\n\
writes byte-identical files. This README is written by the same run, so its line numbers and\n\
ids match the files. Do not edit the files by hand; change the generator.\n\n\
The world is one small university on the nights **2026-04-02**, **2026-04-17**, **2026-05-31**\n\
and **2026-06-30** (the nights of `samples/demo.sh`). The same people appear across files with the same 個人番号, 学籍番号 and ECS-ID.\n"
    );
    let _ = writeln!(s, "## Files\n");
    let _ = writeln!(s, "| file | encoding | rows | shows |");
    let _ = writeln!(s, "| --- | --- | --- | --- |");
    let _ = writeln!(
        s,
        "| `registrar-2026-04-02.csv` | CP932, CRLF | {} records | the registrar's full snapshot as Japanese Excel saves it: title rows (lines 1–3) above the header (line 4), {} empty padded columns on every row, two empty rows at the end, a quoted line break and a quoted comma |",
        w.rows.len(),
        REG_PAD
    );
    let _ = writeln!(
        s,
        "| `registrar-2026-04-02.xlsx` | Excel | {} records | the same records on sheet `在籍者`: title in a merged A1:K1, header on row 4, 学籍番号 stored as numbers (leading zeros lost), 生年月日 and 入学年月日 as date cells, 異動年月日 as text, numeric codes as numbers, 所属 of every 工学部 row as the formula `=\"工学部\"` with its cached value |",
        w.rows.len()
    );
    let _ = writeln!(
        s,
        "| `registrar-2026-04-17.csv` | CP932, CRLF | {} records | the next export: as 04-02, plus one 研究生 row (cancel_stop), one 退学 on 2026-04-15, and without the May admission |",
        rows0417.len()
    );
    let _ = writeln!(
        s,
        "| `hr-2026-04-02.csv` | CP932, CRLF | {} staff | HR's roster: five never-students, four former/current students (R9, R9a), one conversion under way |",
        cast.hr.len()
    );
    let _ = writeln!(
        s,
        "| `renewals-2026-04-02.csv` | UTF-8 with BOM, CRLF | {} approvals | 利用継続 (R8), two 年度更新 of holders (R10; one approved date written `㋿8年3月24日`), one JSPS fellow (R11) |",
        cast.renewals.len()
    );
    let _ = writeln!(
        s,
        "| `activations-2026-04-02.csv` | UTF-8, LF | {} activations | ECS-IDs of pending accounts activated in March 2026 (R4) |",
        cast.activations.len()
    );
    let _ = writeln!(
        s,
        "| `accounts.csv` | UTF-8 with BOM, CRLF | {} accounts | the directory before regsync, for `regsync accounts import`; names always with U+3000 and full-width kana |",
        w.accounts.len()
    );
    let _ = writeln!(
        s,
        "| `broken/*.csv` | CP932, CRLF | 15 records each | one kind of problem per file (below) |"
    );
    let _ = writeln!(
        s,
        "| `../tests/data/xls/registrar-small.xls` | BIFF8 | 10 records | written by `samples/make_xls.py` (xlwt) from the first records of `registrar-2026-04-02.csv` |\n"
    );

    let _ = writeln!(s, "## The registrar export, column by column\n");
    let _ = writeln!(
        s,
        "Header (profile `mappings/registrar.toml`): `{}`.\n",
        REGISTRAR_HEADER.join(",")
    );
    let _ = writeln!(
        s,
        "- 学籍番号: 8 digits: faculty/school code (01–09 undergraduate faculties, 5x/6x graduate\n  schools), two-digit admission year, serial (0xxx 学部生, 1xxx 修士, 3xxx 博士, 7xxx 研究生,\n  8xxx 科目等履修生/聴講生, 9xxx 特別聴講学生/特別研究学生). Undergraduate numbers start with 0, so the\n  .xlsx loses that zero (`01230012` → `1230012`); the profile's `width = 8` restores it.\n\
- 個人番号: 10 digits with leading zeros (`00012xxxxx`), text in the .xlsx.\n\
- ECS-ID: `a0` + 6 digits; blank for new admissions and for pending accounts the registrar\n  does not know yet.\n\
- 氏名: mostly `姓\\u3000名`, some `姓 名` (ASCII space), some without a space; CP932 extension\n  characters 髙 (U+9AD9), 﨑 (U+FA11), 德 (U+5FB7), 塚 (U+FA10).\n\
- 氏名カナ: full-width katakana, a few rows in half-width katakana (`ﾔﾏﾀﾞ ﾀﾛｳ`).\n\
- 生年月日: ISO, `2006/4/1`, `平成18年4月1日`, `H18.4.1`, full-width `２００６／４／１`, ligature\n  `㍻18年4月1日`, Shōwa `S55.6.3`.\n\
- 身分 / 在籍状態: labels, and on a few rows the numeric codes of the profile (`11`, `12`, `21`…,\n  `1`…`6`).\n\
- 入学年月日: ISO, `2026/4/1`, `令和8年4月1日`, `R8.4.1`, full-width `２０２６／４／１`, `令和元年10月1日`.\n\
- 異動年月日: for 2026-03-31 graduations `令和8年3月31日`, `R8.3.31`, `2026/3/31` (and one ISO).\n"
    );

    let _ = writeln!(s, "## Interesting people\n");
    let _ = writeln!(
        s,
        "CSV line = physical line in `registrar-2026-04-02.csv` (04-17 line in brackets when it\ndiffers); xlsx row = Excel row number on sheet `在籍者`. `—` = not in that file.\n"
    );
    let _ = writeln!(
        s,
        "| 学籍番号 | 個人番号 | ECS-ID | 氏名 | CSV line | xlsx row | case |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- | --- |");
    for n in &w.notables {
        let line = csv_lines.get(&n.sno).map(|l| l.to_string());
        let line17 = csv_lines_0417.get(&n.sno).map(|l| l.to_string());
        let line_cell = match (line, line17) {
            (Some(a), Some(b)) if a == b => a,
            (Some(a), Some(b)) => format!("{a} [{b}]"),
            (Some(a), None) => format!("{a} [—]"),
            (None, Some(b)) => format!("— [{b}]"),
            (None, None) => "—".into(),
        };
        let xr = xlsx_rows
            .get(&n.sno)
            .map(|r| r.to_string())
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            if n.sno.is_empty() { "—" } else { &n.sno },
            if n.pid.is_empty() { "—" } else { &n.pid },
            if n.ecs.is_empty() { "—" } else { &n.ecs },
            n.name.replace('\u{3000}', " "),
            line_cell,
            xr,
            n.case.replace('|', "\\|")
        );
    }
    let cs = &cast.cancel_stop;
    let _ = writeln!(
        s,
        "\n04-17 only: 研究生 {} of {} ({}), line {}.\n",
        cs.1,
        cs.0.name().replace('\u{3000}', " "),
        cs.0.pid,
        csv_lines_0417
            .get(&cs.1)
            .map(|l| l.to_string())
            .unwrap_or_default()
    );

    // Counts for the guard paragraph: status lost without a continuing row for the same
    // person, plus accounts missing from the snapshot.
    let lost = [GRADUATED, COMPLETED, WITHDRAWN, EXPELLED];
    let continuing: BTreeSet<&str> = w
        .rows
        .iter()
        .filter(|r| !lost.contains(&r.enroll))
        .map(|r| r.pid.as_str())
        .collect();
    let departs = w
        .rows
        .iter()
        .filter(|r| lost.contains(&r.enroll) && !continuing.contains(r.pid.as_str()))
        .count();
    let in_export: BTreeSet<&str> = w.rows.iter().map(|r| r.pid.as_str()).collect();
    let absent = w
        .accounts
        .iter()
        .filter(|a| a.kind == "学生" && a.state != "停止" && !in_export.contains(a.pid.as_str()))
        .count();
    let active = w.accounts.iter().filter(|a| a.state != "停止").count();
    let _ = writeln!(
        s,
        "## Expected outcome by night (for end-to-end tests and the demo)\n"
    );
    let _ = writeln!(
        s,
        "- **2026-04-02** (`accounts import accounts.csv`, then the 04-02 registrar CSV or xlsx, hr,\n  renewals, activations): `create` for every 2026-04-01 admission (letters by faculty) and\n  for the May admission (counter delivery); `reinstate` 山田 太郎; `update` for the six R7 movers\n  and the name change; `carry_over` 德永 健一; `depart` for {departs} status-lost rows without a\n  continuing row and {absent} absent accounts, except the four whom HR's roster or a 利用継続\n  takes instead ({} departs in the plan); `make_holder` 中村 翔; `renew` two holders; a late\n  `expiry_notice` for the holder whose year ended without a notice (stop 2026-04-16); `staff_convert` 小川 由佳 and 石井 大輔 (stop 2026-06-30) and\n  藤井 彩 (from 2026-07-01, stop 2027-06-30); `update` for 髙橋 拓海 (R9a: the\n  hire is recorded, no stop) and 西村 恵 (the roster confirms the conversion); three pending accounts\n  activated; `activation_expired` for one; `review` for the ECS-ID mismatch and the 山﨑/山崎\n  candidate; `create` (counter) for the JSPS fellow. With the default guard (5 % or 200 per\n  action kind) the {} departs out of {active} live accounts trip the guard, as every\n  March-end run does: an administrator applies the reviewed plan explicitly.\n\
- **2026-04-17** (04-17 registrar CSV): `stop` for the 04-02 departures (due 2026-04-16) but\n  {}, whose `cancel_stop` (with `carry_over`) comes with the 研究生 row; `depart` for\n  the 2026-04-15 withdrawal; the May admission is missing from this snapshot although it was\n  created (pending) on 04-02, so the policy for absent records decides; `stop` (holder_expired)\n  for 高橋 花子, due 2026-04-16.\n- **2026-05-31** (no files): `staff_reminder` for 西村 恵, 小川 由佳, 石井 大輔; `activation_expired`\n  for the account still pending (deadline 2026-05-15); `stop` for the 04-17 departures.\n\
- **2026-06-30**: `stop` (staff_conversion) for 西村 恵, 小川 由佳, 石井 大輔; not for 髙橋 拓海\n  (enrolled) nor 藤井 彩 (2027-06-30); `activation_expired` for the 2026-04-01 admissions\n  nobody activated (deadline 2026-06-01, 60 days from their creation on 04-02).\n",
        departs + absent - 4,
        departs + absent - 4,
        cs.0.name().replace('\u{3000}', " ")
    );

    let _ = writeln!(s, "## Broken files (`broken/`)\n");
    let _ = writeln!(
        s,
        "Each is a CP932 CSV with a title row (line 1), the header (line 2) and the first 15\nrecords of the 04-02 export, with exactly one kind of problem:\n"
    );
    for (f, d) in broken {
        let _ = writeln!(s, "- `{f}`: {d}");
    }
    let _ = writeln!(
        s,
        "\n## The .xls fixture\n\n`samples/make_xls.py` (needs `pip install xlwt`) writes\n`tests/data/xls/registrar-small.xls`: sheet `在籍者`, a title row, the registrar header and 10\nrecords taken from `registrar-2026-04-02.csv` — the first 8, plus the first with 髙 in the\nname and the first with half-width kana. 学籍番号 is a number cell (leading zero lost), 生年月日\nan Excel date cell with format `yyyy/mm/dd`, everything else text. Run it after the generator:\n\n```sh\ncargo run --example gen_samples -- samples && python3 samples/make_xls.py\n```"
    );
    s
}

// ---------------------------------------------------------------------------------------------

fn main() -> Res<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: cargo run --example gen_samples -- DIR")?;
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir)?;

    let mut w = World::new();
    let cast = build(&mut w)?;

    let mut rows0402 = w.rows.clone();
    rows0402.sort_by(|a, b| a.sno.cmp(&b.sno));

    let mut rows0417: Vec<Row> = w
        .rows
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != cast.may_admission)
        .map(|(_, r)| r.clone())
        .collect();
    let wd_sno = w.rows[cast.withdraw_0417].sno.clone();
    for r in &mut rows0417 {
        if r.sno == wd_sno {
            r.enroll = WITHDRAWN;
            r.enroll_as_code = false;
            r.change = Some((ymd(2026, 4, 15)?, Fmt::Slash));
        }
    }
    let (ts, ts_rs) = &cast.cancel_stop;
    rows0417.push(Row {
        sno: ts_rs.clone(),
        pid: ts.pid.clone(),
        ecs: String::new(),
        name: ts.name(),
        kana: ts.kana(),
        birth: ts.birth,
        birth_fmt: Fmt::Kanji,
        faculty: "理学研究科".into(),
        status: RS,
        status_as_code: false,
        enroll: ENROLLED,
        enroll_as_code: false,
        admission: ymd(2026, 4, 1)?,
        adm_fmt: Fmt::Slash,
        change: None,
    });
    rows0417.sort_by(|a, b| a.sno.cmp(&b.sno));

    let lines0402 = write_registrar_csv(
        &dir.join("registrar-2026-04-02.csv"),
        &rows0402,
        "2026/04/02",
    )?;
    let xlsx_rows = write_registrar_xlsx(&dir.join("registrar-2026-04-02.xlsx"), &rows0402)?;
    let lines0417 = write_registrar_csv(
        &dir.join("registrar-2026-04-17.csv"),
        &rows0417,
        "2026/04/17",
    )?;
    write_simple(
        &dir.join("hr-2026-04-02.csv"),
        &[
            "職員番号",
            "個人番号",
            "学籍番号",
            "ECS-ID",
            "氏名",
            "氏名カナ",
            "生年月日",
            "所属",
            "職種",
            "採用年月日",
        ],
        &cast.hr,
        Enc::Cp932,
    )?;
    write_simple(
        &dir.join("renewals-2026-04-02.csv"),
        &[
            "申請種別",
            "ECS-ID",
            "個人番号",
            "学籍番号",
            "氏名",
            "氏名カナ",
            "生年月日",
            "所属",
            "承認日",
            "有効期限",
        ],
        &cast.renewals,
        Enc::Utf8Bom,
    )?;
    write_simple(
        &dir.join("activations-2026-04-02.csv"),
        &["ECS-ID", "有効化日"],
        &cast.activations,
        Enc::Utf8,
    )?;
    write_accounts(&dir.join("accounts.csv"), &w.accounts)?;
    let broken = write_broken(&dir.join("broken"), &rows0402)?;
    let text = readme(
        &w, &rows0417, &lines0402, &lines0417, &xlsx_rows, &cast, &broken,
    );
    fs_write(&dir.join("README.md"), text.as_bytes())?;

    println!(
        "wrote {}: {} registrar rows (04-02), {} (04-17), {} accounts, {} staff, {} approvals, {} activations",
        dir.display(),
        rows0402.len(),
        rows0417.len(),
        w.accounts.len(),
        cast.hr.len(),
        cast.renewals.len(),
        cast.activations.len()
    );
    Ok(())
}
