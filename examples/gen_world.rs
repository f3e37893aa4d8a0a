//! Writes a large generated world for the benchmarks (`benches/plan.sh`, `benches/scale.sh`):
//! the account directory as it stands before tonight (`accounts.csv`, for
//! `regsync accounts import`) and one night's full registrar export against it (`registrar.csv`,
//! CP932, CRLF, title rows above the header).
//!
//! Run: `cargo run --release --example gen_world -- --rows 1000000 --out bench-data/world-1m
//! [--seed 1] [--id-digits 6] [--no-status] [--next-night]`
//!
//! - The accounts carry 身分 (the import's optional 14th column), as a store does after earlier
//!   nights: tonight's plan then only acts on what changed. `--no-status` writes the 13-column
//!   directory of a first import instead, whose 身分 the first plan fills in quietly.
//! - ECS-IDs are `a0` + `--id-digits` digits (default 6, which caps the world at about
//!   1.04 M rows; 3 M rows need 7, with `[policy] id_digits = 7` in the config).
//! - `--next-night` also writes `registrar-next.csv`: the same export again on the next day
//!   (the same rows, its 出力日 title row one day later, so its SHA-256 differs and `regsync run`
//!   reads it rather than archiving it as already processed). Against the store after tonight's
//!   plan is applied it is a night with no changes.
//!
//! People, not rows, are drawn; each person is one of
//! - 90 % continuing students: an account and one unchanged 在学 row;
//! - 4 % new admissions: a 在学 row (admitted 2026-04-01, no ECS-ID) and no account;
//! - 3 % departures: an account and one 卒業 / 修了 / 退学 row with its 異動年月日;
//! - 2 % renumbered (学部 → 大学院): an account, the old number's 卒業 row and the new
//!   number's 在学 row (a graduate school, same 個人番号);
//! - 1 % absent: an account and no row (R5).
//!
//! So `--rows N` writes about N rows (101 rows per 100 people) and about 0.95·N accounts.
//! Identifiers are unique by construction; kana names are varied enough (family × three-part
//! given name × a birth date over eight years) that new admissions rarely share a
//! (kana, birth date) with an account, so the R2 review-candidate path stays rare.
//!
//! Deterministic: an xorshift64* stream seeded per person, so the same arguments always write
//! the same bytes. Streamed through `BufWriter`s; nothing holds a whole file.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};
use regsync::testing::XorShift;

mod common;
use common::{ACCOUNTS_HEADER, Cp932, Era, REGISTRAR_HEADER, REGISTRAR_TITLE, Res, era, ymd};

// ---------------------------------------------------------------------------------------------
// Names and affiliations

/// (kanji, kana, romaji)
type Part = (&'static str, &'static str, &'static str);

const FAMILY: &[Part] = &[
    ("佐藤", "サトウ", "sato"),
    ("鈴木", "スズキ", "suzuki"),
    ("高橋", "タカハシ", "takahashi"),
    ("髙橋", "タカハシ", "takahashi"),
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
    ("山﨑", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"),
    ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"),
    ("石川", "イシカワ", "ishikawa"),
    ("山下", "ヤマシタ", "yamashita"),
    ("中島", "ナカジマ", "nakajima"),
    ("石井", "イシイ", "ishii"),
    ("小川", "オガワ", "ogawa"),
    ("前田", "マエダ", "maeda"),
    ("岡田", "オカダ", "okada"),
    ("長谷川", "ハセガワ", "hasegawa"),
    ("藤田", "フジタ", "fujita"),
    ("後藤", "ゴトウ", "goto"),
    ("近藤", "コンドウ", "kondo"),
    ("村上", "ムラカミ", "murakami"),
    ("遠藤", "エンドウ", "endo"),
    ("青木", "アオキ", "aoki"),
    ("坂本", "サカモト", "sakamoto"),
    ("竹内", "タケウチ", "takeuchi"),
    ("德永", "トクナガ", "tokunaga"),
];

const GIVEN_HEAD: &[Part] = &[
    ("悠", "ユウ", "yu"),
    ("健", "ケン", "ken"),
    ("陽", "ハル", "haru"),
    ("蒼", "ソウ", "so"),
    ("大", "ダイ", "dai"),
    ("涼", "リョウ", "ryo"),
    ("翔", "ショウ", "sho"),
    ("拓", "タク", "taku"),
    ("美", "ミ", "mi"),
    ("紗", "サ", "sa"),
    ("愛", "アイ", "ai"),
    ("奈", "ナ", "na"),
    ("結", "ユイ", "yui"),
    ("真", "マ", "ma"),
    ("和", "カズ", "kazu"),
    ("恵", "メグ", "megu"),
    ("千", "チ", "chi"),
    ("光", "ヒカ", "hika"),
    ("直", "ナオ", "nao"),
    ("康", "ヤス", "yasu"),
];

const GIVEN_MID: &[Part] = &[
    ("", "", ""),
    ("乃", "ノ", "no"),
    ("理", "リ", "ri"),
    ("志", "シ", "shi"),
    ("希", "キ", "ki"),
    ("実", "ミ", "mi"),
    ("斗", "ト", "to"),
    ("妃", "ヒ", "hi"),
    ("世", "セ", "se"),
];

const GIVEN_TAIL: &[Part] = &[
    ("斗", "ト", "to"),
    ("太", "タ", "ta"),
    ("輝", "キ", "ki"),
    ("介", "スケ", "suke"),
    ("馬", "マ", "ma"),
    ("也", "ヤ", "ya"),
    ("子", "コ", "ko"),
    ("花", "カ", "ka"),
    ("菜", "ナ", "na"),
    ("帆", "ホ", "ho"),
    ("里", "リ", "ri"),
    ("美", "ミ", "mi"),
    ("恵", "エ", "e"),
    ("央", "オ", "o"),
    ("一", "イチ", "ichi"),
    ("治", "ジ", "ji"),
    ("郎", "ロウ", "ro"),
    ("平", "ヘイ", "hei"),
    ("吾", "ゴ", "go"),
    ("音", "ネ", "ne"),
];

/// (code, undergraduate faculty, graduate school, weight)
const FACULTIES: &[(u32, &str, &str, usize)] = &[
    (1, "文学部", "文学研究科", 9),
    (2, "教育学部", "教育学研究科", 4),
    (3, "法学部", "法学研究科", 11),
    (4, "経済学部", "経済学研究科", 10),
    (5, "理学部", "理学研究科", 13),
    (6, "医学部", "医学研究科", 10),
    (7, "薬学部", "薬学研究科", 4),
    (8, "工学部", "工学研究科", 26),
    (9, "農学部", "農学研究科", 13),
];

/// Graduate schools without an undergraduate faculty of their own: code, name.
const INDEPENDENT_SCHOOLS: &[(u32, &str)] = &[(61, "人間・環境学研究科"), (62, "情報学研究科")];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Continuing,
    New,
    Departed,
    Renumbered,
    Absent,
}

fn kind_of(r: u64) -> Kind {
    match r % 100 {
        0..90 => Kind::Continuing,
        90..94 => Kind::New,
        94..97 => Kind::Departed,
        97..99 => Kind::Renumbered,
        _ => Kind::Absent,
    }
}

/// One person, drawn from their own stream.
struct Person {
    kind: Kind,
    grad: bool,
    faculty: usize,
    /// For graduate students: an independent school instead of `FACULTIES[faculty]`'s.
    school: Option<usize>,
    family: usize,
    head: usize,
    mid: usize,
    tail: usize,
    birth: NaiveDate,
    admitted: NaiveDate,
    fmt: u64,
    sep: u64,
}

fn draw(seed: u64, k: u64) -> Person {
    let mut r = XorShift::star(XorShift::for_item(seed, k));
    let kind = kind_of(r.next_u64());
    let grad = kind != Kind::Renumbered && r.below_high(100) < 22;
    let total: usize = FACULTIES.iter().map(|f| f.3).sum();
    let mut w = r.below_high(total);
    let mut faculty = 0;
    for (i, f) in FACULTIES.iter().enumerate() {
        if w < f.3 {
            faculty = i;
            break;
        }
        w -= f.3;
    }
    let school = (grad && r.below_high(100) < 15).then(|| r.below_high(INDEPENDENT_SCHOOLS.len()));
    // Undergraduates admitted 2020–2025 (born in the school year 18 years before); graduate
    // students admitted 2020–2025, born 22–30 years before. New admissions: 2026-04-01.
    let year = match kind {
        Kind::New => 2026,
        Kind::Renumbered => 2022,
        _ => 2020 + r.below_high(6) as i32,
    };
    let admitted = if r.below_high(100) < 97 {
        ymd(year, 4, 1)
    } else {
        ymd(year - i32::from(kind != Kind::New), 10, 1)
    };
    let age = if grad {
        22 + r.below_high(8) as i32
    } else {
        18
    };
    let born_from = ymd(year - age - 1, 4, 2);
    let birth = born_from + chrono::Days::new(r.below_high(365) as u64);
    Person {
        kind,
        grad,
        faculty,
        school,
        family: r.below_high(FAMILY.len()),
        head: r.below_high(GIVEN_HEAD.len()),
        mid: r.below_high(GIVEN_MID.len()),
        tail: r.below_high(GIVEN_TAIL.len()),
        birth,
        admitted,
        fmt: r.next_u64(),
        sep: r.next_u64(),
    }
}

impl Person {
    fn affiliation(&self) -> (u32, &'static str) {
        let (code, ug, gs, _) = FACULTIES[self.faculty];
        match (self.grad, self.school) {
            (false, _) => (code, ug),
            (true, None) => (50 + code, gs),
            (true, Some(s)) => INDEPENDENT_SCHOOLS[s],
        }
    }
    fn status(&self) -> &'static str {
        if self.grad {
            "大学院生"
        } else {
            "学部生"
        }
    }
    fn name(&self, out: &mut String, sep: &str) {
        out.push_str(FAMILY[self.family].0);
        out.push_str(sep);
        out.push_str(GIVEN_HEAD[self.head].0);
        out.push_str(GIVEN_MID[self.mid].0);
        out.push_str(GIVEN_TAIL[self.tail].0);
    }
    fn kana(&self, out: &mut String) {
        out.push_str(FAMILY[self.family].1);
        out.push('\u{3000}');
        out.push_str(GIVEN_HEAD[self.head].1);
        out.push_str(GIVEN_MID[self.mid].1);
        out.push_str(GIVEN_TAIL[self.tail].1);
    }
}

/// Per affiliation code, the next serial of its student numbers (`CC` + 6 digits).
struct Numbers([u32; 100]);

impl Numbers {
    fn next(&mut self, code: u32) -> String {
        let n = &mut self.0[code as usize];
        *n += 1;
        assert!(
            *n < 1_000_000,
            "student numbers of code {code:02} exhausted"
        );
        format!("{code:02}{:06}", *n)
    }
}

// ---------------------------------------------------------------------------------------------
// Dates as the registrar's staff type them

fn era_date(out: &mut String, d: NaiveDate, short: bool) {
    let (m, day) = (d.month(), d.day());
    let Era {
        kanji,
        letter,
        year,
        ..
    } = era(d);
    if short {
        let _ = write!(out, "{letter}{year}.{m}.{day}");
    } else {
        let _ = write!(out, "{kanji}{year}年{m}月{day}日");
    }
}

/// Mostly `2004/4/11`, some ISO, some era forms.
fn reg_date(out: &mut String, d: NaiveDate, style: u64) {
    match style % 10 {
        0..6 => {
            let _ = write!(out, "{}/{}/{}", d.year(), d.month(), d.day());
        }
        6 | 7 => {
            let _ = write!(out, "{d}");
        }
        8 => era_date(out, d, false),
        _ => era_date(out, d, true),
    }
}

// ---------------------------------------------------------------------------------------------
// Output

/// The registrar exports, written in CP932: each line is encoded into a reused buffer, and an
/// unmappable character is an error. Every line goes to each of `outs` (tonight's export and,
/// with `--next-night`, tomorrow's); [`Exports::title`] writes a different line to each.
struct Exports<W: Write> {
    outs: Vec<W>,
    cp932: Cp932,
    buf: Vec<u8>,
}

impl<W: Write> Exports<W> {
    fn line(&mut self, line: &str) -> Res<()> {
        self.encode(line)?;
        for out in &mut self.outs {
            out.write_all(&self.buf)?;
        }
        Ok(())
    }

    /// `lines[i]` into `outs[i]`.
    fn title(&mut self, lines: &[String]) -> Res<()> {
        for (i, line) in lines.iter().enumerate().take(self.outs.len()) {
            self.encode(line)?;
            self.outs[i].write_all(&self.buf)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Res<()> {
        for out in &mut self.outs {
            out.flush()?;
        }
        Ok(())
    }

    /// Encodes `line` + CRLF into `buf`.
    fn encode(&mut self, line: &str) -> Res<()> {
        self.buf.clear();
        self.cp932
            .push(line, &mut self.buf)
            .map_err(|e| format!("{e}: {line}"))?;
        self.buf.extend_from_slice(b"\r\n");
        Ok(())
    }
}

struct Args {
    rows: u64,
    out: PathBuf,
    seed: u64,
    id_digits: u32,
    status: bool,
    next_night: bool,
}

const USAGE: &str =
    "usage: --rows N --out DIR [--seed S] [--id-digits D] [--no-status] [--next-night]";

fn args() -> Res<Args> {
    let mut rows = None;
    let mut out = None;
    let mut seed = 1;
    let mut id_digits = 6;
    let mut status = true;
    let mut next_night = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("`{a}` needs a value"));
        match a.as_str() {
            "--rows" => rows = Some(value()?.replace('_', "").parse()?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--seed" => seed = value()?.parse()?,
            "--id-digits" => id_digits = value()?.parse()?,
            "--no-status" => status = false,
            "--next-night" => next_night = true,
            _ => return Err(format!("unknown argument `{a}`; {USAGE}").into()),
        }
    }
    if !(3..=12).contains(&id_digits) {
        return Err("--id-digits must be between 3 and 12 (as `[policy] id_digits`)".into());
    }
    Ok(Args {
        rows: rows.ok_or_else(|| format!("--rows N is required; {USAGE}"))?,
        out: out.ok_or_else(|| format!("--out DIR is required; {USAGE}"))?,
        seed,
        id_digits,
        status,
        next_night,
    })
}

/// Japanese Excel pads every row of this export with three empty columns.
const PAD: &str = ",,,";

fn main() -> Res<()> {
    let args = args()?;
    let people = args.rows * 100 / 101;
    std::fs::create_dir_all(&args.out)?;

    // Accounts get ECS-IDs from a shuffled run of serials, so ECS-ID order is unrelated to
    // student-number order; the serials stay low enough for this night's admissions.
    let with_account: u64 = (0..people)
        .filter(|&k| {
            !matches!(
                kind_of(XorShift::star(XorShift::for_item(args.seed, k)).next_u64()),
                Kind::New
            )
        })
        .count() as u64;
    let first_serial = 1000u32;
    let mut serials: Vec<u32> = (0..with_account as u32).map(|i| first_serial + i).collect();
    let mut shuffle = XorShift::star(XorShift::for_item(args.seed, u64::MAX));
    for i in (1..serials.len()).rev() {
        serials.swap(i, shuffle.below_high(i + 1));
    }
    let last = first_serial as u64 + with_account;
    let admissions = people - with_account;
    let digits = args.id_digits as usize;
    let serial_end = 10u64.pow(args.id_digits);
    if last + admissions >= serial_end {
        return Err(format!(
            "{people} people need ECS-ID serials up to {}; `a0` + {digits} digits ends at {}; \
             use --id-digits {} (and `[policy] id_digits` in the config)",
            last + admissions,
            serial_end - 1,
            args.id_digits + 1
        )
        .into());
    }

    let accounts_path = args.out.join("accounts.csv");
    let registrar_path = args.out.join("registrar.csv");
    let next_path = args.out.join("registrar-next.csv");
    let mut acc = BufWriter::with_capacity(1 << 20, File::create(&accounts_path)?);
    acc.write_all("\u{feff}".as_bytes())?;
    acc.write_all(ACCOUNTS_HEADER.join(",").as_bytes())?;
    if args.status {
        acc.write_all(",身分".as_bytes())?;
    }
    acc.write_all(b"\r\n")?;
    let mut outs = vec![BufWriter::with_capacity(
        1 << 20,
        File::create(&registrar_path)?,
    )];
    if args.next_night {
        outs.push(BufWriter::with_capacity(1 << 20, File::create(&next_path)?));
    } else if next_path.exists() {
        // A stale one would not match this world.
        std::fs::remove_file(&next_path)?;
    }
    let mut reg = Exports {
        outs,
        cp932: Cp932::new(),
        buf: Vec::new(),
    };
    reg.line(&format!("{REGISTRAR_TITLE}{}", ",".repeat(13)))?;
    reg.title(
        &["2026/04/02", "2026/04/03"]
            .map(|day| format!("出力日: {day},,,,,,教務部 教務企画課{}", ",".repeat(7))),
    )?;
    reg.line(&",".repeat(13))?;
    reg.line(&format!("{}{PAD}", REGISTRAR_HEADER.join(",")))?;

    let mut numbers = Numbers([0; 100]);
    let mut line = String::with_capacity(256);
    let mut name = String::with_capacity(64);
    let mut kana = String::with_capacity(64);
    // The new numbers of renumbered people: the export lists them with the graduate schools,
    // after the undergraduate rows, so they are written at the end.
    let mut later: Vec<String> = Vec::new();
    let (mut n_rows, mut n_accounts) = (0u64, 0u64);
    let mut counts = [0u64; 5];
    let mut next_account = 0usize;
    let graduation = ymd(2026, 3, 31);

    for k in 0..people {
        let p = draw(args.seed, k);
        counts[p.kind as usize] += 1;
        let (code, affiliation) = p.affiliation();
        let student_no = numbers.next(code);
        let person_id = format!("{:010}", 12_000_000 + k);
        name.clear();
        p.name(&mut name, "\u{3000}");
        kana.clear();
        p.kana(&mut kana);

        let ecs_id = if p.kind == Kind::New {
            String::new()
        } else {
            let serial = serials[next_account];
            next_account += 1;
            format!("a0{serial:0digits$}")
        };

        if p.kind != Kind::New {
            // Graduate students who were undergraduates here carry both numbers, oldest first.
            let history = if p.grad && p.sep.is_multiple_of(3) {
                let (ug_code, ..) = FACULTIES[p.faculty];
                format!("{};{student_no}", numbers.next(ug_code))
            } else {
                student_no.clone()
            };
            let g = &GIVEN_HEAD[p.head].2;
            let kumoi = format!(
                "{}.{g}{}{}.{}@st.kyoto-u.ac.jp",
                FAMILY[p.family].2,
                GIVEN_MID[p.mid].2,
                GIVEN_TAIL[p.tail].2,
                base36(k)
            );
            line.clear();
            let _ = write!(
                line,
                "{ecs_id},{person_id},{history},{name},{kana},{},{affiliation},学生,有効,{kumoi},,,",
                p.birth
            );
            if args.status {
                // As the last export gave it: the renumbered were still undergraduates.
                line.push(',');
                line.push_str(p.status());
            }
            line.push_str("\r\n");
            acc.write_all(line.as_bytes())?;
            n_accounts += 1;
        }

        // The registrar's staff write names with U+3000, an ASCII space or none at all.
        let reg_name = match p.sep % 20 {
            0 => {
                let mut s = String::new();
                p.name(&mut s, " ");
                s
            }
            1 => {
                let mut s = String::new();
                p.name(&mut s, "");
                s
            }
            _ => name.clone(),
        };
        let row = |line: &mut String,
                   no: &str,
                   ecs: &str,
                   affiliation: &str,
                   status: &str,
                   enrollment: &str,
                   admitted: NaiveDate,
                   changed: Option<NaiveDate>| {
            line.clear();
            let _ = write!(line, "{no},{person_id},{ecs},{reg_name},{kana},");
            reg_date(line, p.birth, p.fmt);
            let _ = write!(line, ",{affiliation},{status},{enrollment},");
            reg_date(line, admitted, p.fmt >> 8);
            line.push(',');
            if let Some(d) = changed {
                reg_date(line, d, p.fmt >> 16);
            }
            line.push_str(PAD);
        };

        match p.kind {
            Kind::Continuing | Kind::New => {
                let ecs = if p.kind == Kind::New { "" } else { &ecs_id };
                row(
                    &mut line,
                    &student_no,
                    ecs,
                    affiliation,
                    p.status(),
                    "在学",
                    p.admitted,
                    None,
                );
                reg.line(&line)?;
                n_rows += 1;
            }
            Kind::Departed => {
                let (enrollment, on) = match (p.fmt >> 24) % 10 {
                    0 => ("退学", ymd(2026, 1 + (p.fmt >> 32) as u32 % 3, 15)),
                    _ if p.grad => ("修了", graduation),
                    _ => ("卒業", graduation),
                };
                row(
                    &mut line,
                    &student_no,
                    &ecs_id,
                    affiliation,
                    p.status(),
                    enrollment,
                    p.admitted,
                    Some(on),
                );
                reg.line(&line)?;
                n_rows += 1;
            }
            Kind::Renumbered => {
                row(
                    &mut line,
                    &student_no,
                    &ecs_id,
                    affiliation,
                    "学部生",
                    "卒業",
                    p.admitted,
                    Some(graduation),
                );
                reg.line(&line)?;
                let (ug_code, _, school, _) = FACULTIES[p.faculty];
                let new_no = numbers.next(50 + ug_code);
                row(
                    &mut line,
                    &new_no,
                    &ecs_id,
                    school,
                    "大学院生",
                    "在学",
                    ymd(2026, 4, 1),
                    None,
                );
                later.push(line.clone());
                n_rows += 2;
            }
            Kind::Absent => {}
        }
    }
    for l in &later {
        reg.line(l)?;
    }
    acc.flush()?;
    reg.flush()?;
    println!(
        "{}: {n_accounts} accounts{}; {}{}: {n_rows} rows \
         ({} continuing, {} new, {} departed, {} renumbered, {} absent; {people} people)",
        accounts_path.display(),
        if args.status {
            " with 身分"
        } else {
            " without 身分"
        },
        registrar_path.display(),
        if args.next_night {
            format!(" (and {})", next_path.display())
        } else {
            String::new()
        },
        counts[Kind::Continuing as usize],
        counts[Kind::New as usize],
        counts[Kind::Departed as usize],
        counts[Kind::Renumbered as usize],
        counts[Kind::Absent as usize],
    );
    Ok(())
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}
