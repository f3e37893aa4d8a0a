//! Writes a large registrar export for benchmarks: CP932, CRLF, every cell quoted, exactly as
//! Japanese Excel saves a text-formatted sheet as "CSV (コンマ区切り)".
//!
//! Run: `cargo run --release --example gen_registrar -- --rows 1000000 --out bench-data/registrar-1m.csv [--seed 1]`
//!
//! The rows follow the conventions of `samples/registrar-2026-04-02.csv` (see `samples/README.md`):
//! a title row above the header of `mappings/registrar.toml`; 8-digit 学籍番号 (faculty code,
//! admission year, serial), 10-digit 個人番号, ECS-IDs `a0` + 6 digits on about 95% of rows;
//! kanji names with CP932 extension characters (髙, 﨑, 德, 塚 U+FA10) on about 1% of rows;
//! katakana readings, a few percent in half-width (`ﾔﾏﾀﾞ ﾀﾛｳ`); dates as ISO, `2004/4/1`,
//! `平成16年4月1日` and `R8.3.31`; about 90% 在学, some 休学 and 3% 卒業/修了/退学 with a 異動年月日.
//! Every row maps without error, so the benchmark measures the path every good row takes.
//!
//! Deterministic for a seed: an xorshift64* stream (`regsync::testing`), no OS randomness. The
//! text is streamed in blocks through an encoding_rs encoder into a `BufWriter`, so memory stays
//! flat whatever the row count, and a character CP932 cannot encode is an error, never a
//! replacement.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};
use regsync::testing::XorShift;

mod common;
use common::{Cp932, Era, REGISTRAR_HEADER, REGISTRAR_TITLE, Res, era, push_half_width, ymd};

/// (kanji, katakana) surnames, common ones first.
const SURNAMES: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("山下", "ヤマシタ"),
    ("中島", "ナカジマ"),
    ("石井", "イシイ"),
    ("小川", "オガワ"),
    ("前田", "マエダ"),
    ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"),
    ("藤田", "フジタ"),
    ("後藤", "ゴトウ"),
    ("近藤", "コンドウ"),
    ("村上", "ムラカミ"),
    ("遠藤", "エンドウ"),
    ("青木", "アオキ"),
    ("坂本", "サカモト"),
    ("斉藤", "サイトウ"),
    ("福田", "フクダ"),
    ("太田", "オオタ"),
    ("西村", "ニシムラ"),
    ("藤井", "フジイ"),
    ("岡本", "オカモト"),
    ("松田", "マツダ"),
    ("中川", "ナカガワ"),
    ("中野", "ナカノ"),
    ("原田", "ハラダ"),
    ("小野", "オノ"),
    ("田村", "タムラ"),
    ("竹内", "タケウチ"),
    ("金子", "カネコ"),
    ("和田", "ワダ"),
    ("中山", "ナカヤマ"),
    ("藤原", "フジワラ"),
    ("石田", "イシダ"),
    ("上田", "ウエダ"),
    ("森田", "モリタ"),
    ("野口", "ノグチ"),
    ("菅原", "スガワラ"),
];

/// Surnames with CP932 extension characters (NEC/IBM rows), used on about 1% of rows.
const EXTENSION_SURNAMES: &[(&str, &str)] = &[
    ("髙橋", "タカハシ"),
    ("山﨑", "ヤマサキ"),
    ("德永", "トクナガ"),
    ("\u{FA10}本", "ツカモト"),
    ("髙木", "タカギ"),
    ("宮﨑", "ミヤザキ"),
    ("德田", "トクダ"),
    ("大\u{FA10}", "オオツカ"),
];

/// (kanji, katakana) given names.
const GIVEN_NAMES: &[(&str, &str)] = &[
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("翔", "ショウ"),
    ("陽菜", "ヒナ"),
    ("悠真", "ユウマ"),
    ("美咲", "ミサキ"),
    ("湊", "ミナト"),
    ("結衣", "ユイ"),
    ("蓮", "レン"),
    ("葵", "アオイ"),
    ("陸", "リク"),
    ("凛", "リン"),
    ("海斗", "カイト"),
    ("美月", "ミヅキ"),
    ("大翔", "ヒロト"),
    ("七海", "ナナミ"),
    ("悠斗", "ユウト"),
    ("彩花", "アヤカ"),
    ("智也", "トモヤ"),
    ("真央", "マオ"),
    ("恵", "メグミ"),
    ("健太", "ケンタ"),
    ("拓海", "タクミ"),
    ("さくら", "サクラ"),
    ("優花", "ユウカ"),
    ("颯太", "ソウタ"),
    ("大輝", "ダイキ"),
    ("萌", "モエ"),
    ("直樹", "ナオキ"),
    ("由佳", "ユカ"),
    ("亮", "リョウ"),
    ("千尋", "チヒロ"),
    ("翼", "ツバサ"),
    ("舞", "マイ"),
    ("隼人", "ハヤト"),
    ("愛", "アイ"),
    ("駿", "シュン"),
    ("莉子", "リコ"),
    ("樹", "イツキ"),
    ("光", "ヒカル"),
];

/// (faculty code, name) of undergraduate faculties (学部生) and graduate schools (大学院生).
const FACULTIES: &[(u32, &str)] = &[
    (1, "文学部"),
    (2, "教育学部"),
    (3, "法学部"),
    (4, "経済学部"),
    (5, "理学部"),
    (6, "医学部"),
    (7, "工学部"),
    (8, "農学部"),
    (9, "薬学部"),
];
const GRADUATE_SCHOOLS: &[(u32, &str)] = &[
    (51, "文学研究科"),
    (53, "法学研究科"),
    (55, "理学研究科"),
    (57, "工学研究科"),
    (58, "農学研究科"),
    (61, "医学系研究科"),
];

/// 身分 labels other than 学部生 and 大学院生.
const OTHER_STATUSES: &[&str] = &[
    "研究生",
    "科目等履修生",
    "聴講生",
    "特別聴講学生",
    "特別研究学生",
];

/// The export night; admission years run up to it.
const AS_OF_YEAR: i32 = 2026;

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Writes a date the way registrar staff type it: ISO and `2004/4/1` mostly, then the era forms.
fn push_date(out: &mut String, d: NaiveDate, rng: &mut XorShift) {
    let (y, m, day) = (d.year(), d.month(), d.day());
    let Era {
        kanji,
        letter,
        year: ey,
        ..
    } = era(d);
    let _ = match rng.below_scaled(10) {
        0..=3 => write!(out, "{y:04}-{m:02}-{day:02}"),
        4..=6 => write!(out, "{y}/{m}/{day}"),
        7 | 8 => write!(out, "{kanji}{ey}年{m}月{day}日"),
        _ => write!(out, "{letter}{ey}.{m}.{day}"),
    };
}

/// A bijection on `0..m` for a prime `p` that does not divide `m`: unique IDs without a set.
fn spread(i: u64, p: u64, m: u64, offset: u64) -> u64 {
    (i.wrapping_mul(p) + offset) % m
}

struct Args {
    rows: u64,
    out: PathBuf,
    seed: u64,
}

fn parse_args() -> Res<Args> {
    let mut rows = None;
    let mut out = None;
    let mut seed = 1;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("`{a}` needs a value"));
        match a.as_str() {
            "--rows" => rows = Some(value()?.parse()?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--seed" => seed = value()?.parse()?,
            other => {
                return Err(format!(
                    "unknown argument `{other}`\nusage: gen_registrar --rows N --out FILE [--seed S]"
                )
                .into());
            }
        }
    }
    Ok(Args {
        rows: rows.ok_or("missing `--rows N`")?,
        out: out.ok_or("missing `--out FILE`")?,
        seed,
    })
}

/// One row (without quotes yet): the 11 cells of the profile, in header order.
fn row_cells(i: u64, rng: &mut XorShift, counters: &mut [u32; 100], cells: &mut [String; 11]) {
    for c in cells.iter_mut() {
        c.clear();
    }
    // 身分 first: it decides the faculty list, the serial range and the student's age.
    let pick = rng.below_scaled(1000);
    let (status, graduate) = match pick {
        0..=749 => ("学部生", false),
        750..=949 => ("大学院生", true),
        _ => (*rng.pick_scaled(OTHER_STATUSES), false),
    };
    let (code, faculty) = if graduate {
        *rng.pick_scaled(GRADUATE_SCHOOLS)
    } else {
        *rng.pick_scaled(FACULTIES)
    };
    let years_back = if graduate {
        rng.below_scaled(3) as i32
    } else {
        rng.below_scaled(6) as i32
    };
    let admission_year = AS_OF_YEAR - years_back;
    // A real faculty numbers students `code`, year, 4-digit serial; a million rows would run a
    // faculty-year out of serials, so here the code is followed by a 6-digit per-code counter,
    // which keeps every 学籍番号 unique up to a million rows per faculty.
    let n = &mut counters[code as usize];
    *n += 1 + rng.below_scaled(3) as u32;
    let _ = write!(cells[0], "{code:02}{:06}", *n % 1_000_000);
    let _ = write!(
        cells[1],
        "{:010}",
        1_000_000 + spread(i, 2_654_435_761, 8_999_999, 12_345)
    );
    if rng.per_mille(950) {
        let _ = write!(cells[2], "a0{:06}", spread(i, 618_031, 1_000_000, 271_828));
    }

    let (sur, sur_kana) = if rng.per_mille(10) {
        *rng.pick_scaled(EXTENSION_SURNAMES)
    } else {
        *rng.pick_scaled(SURNAMES)
    };
    let (given, given_kana) = *rng.pick_scaled(GIVEN_NAMES);
    let sep = match rng.below_scaled(100) {
        0..=79 => "\u{3000}",
        80..=89 => " ",
        _ => "",
    };
    let _ = write!(cells[3], "{sur}{sep}{given}");
    if rng.per_mille(30) {
        push_half_width(&mut cells[4], sur_kana);
        cells[4].push(' ');
        push_half_width(&mut cells[4], given_kana);
    } else {
        let ksep = if sep == " " { " " } else { "\u{3000}" };
        let _ = write!(cells[4], "{sur_kana}{ksep}{given_kana}");
    }

    let birth_year = admission_year - if graduate { 22 } else { 18 } - rng.below_scaled(2) as i32;
    let m = 1 + rng.below_scaled(12) as u32;
    let d = 1 + rng.below_scaled(days_in_month(birth_year, m) as usize) as u32;
    push_date(&mut cells[5], ymd(birth_year, m, d), rng);
    cells[6].push_str(if graduate && rng.per_mille(500) {
        "大学院"
    } else {
        ""
    });
    cells[6].push_str(faculty);
    cells[7].push_str(status);

    let enrollment = match rng.below_scaled(1000) {
        0..=899 => "在学",
        900..=969 => "休学",
        970..=984 if graduate => "修了",
        970..=984 if status == "学部生" => "卒業",
        970..=984 => "修了",
        _ => "退学",
    };
    cells[8].push_str(enrollment);
    push_date(&mut cells[9], ymd(admission_year, 4, 1), rng);
    match enrollment {
        "在学" => {}
        "休学" => push_date(&mut cells[10], ymd(AS_OF_YEAR, 4, 1), rng),
        "退学" => {
            let m = 1 + rng.below_scaled(3) as u32;
            let d = 1 + rng.below_scaled(28) as u32;
            push_date(&mut cells[10], ymd(AS_OF_YEAR, m, d), rng);
        }
        _ => push_date(&mut cells[10], ymd(AS_OF_YEAR, 3, 31), rng),
    }
}

fn push_quoted_row<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for (k, c) in cells.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push('"');
        // Excel doubles quotes inside a quoted cell; none of the generated values has one, but
        // the writer should not be the place where that assumption breaks.
        for part in c.as_ref().split_inclusive('"') {
            out.push_str(part);
            if part.ends_with('"') {
                out.push('"');
            }
        }
        out.push('"');
    }
    out.push_str("\r\n");
}

/// Encodes `text` to CP932, writes it and empties it.
fn flush(
    text: &mut String,
    cp932: &mut Cp932,
    bytes: &mut Vec<u8>,
    w: &mut impl std::io::Write,
) -> Res<()> {
    bytes.clear();
    cp932.push(text, bytes)?;
    w.write_all(bytes)?;
    text.clear();
    Ok(())
}

fn main() -> Res<()> {
    let args = parse_args()?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs_err::create_dir_all(dir)?;
    }
    let file = fs_err::File::create(&args.out)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut cp932 = Cp932::new();
    let mut text = String::with_capacity(1 << 20);
    let mut bytes = Vec::with_capacity(1 << 20);
    let mut rng = XorShift::star(XorShift::spread(args.seed));

    let mut title = [""; 11];
    title[0] = REGISTRAR_TITLE;
    push_quoted_row(&mut text, &title);
    push_quoted_row(&mut text, &REGISTRAR_HEADER);
    let mut cells: [String; 11] = Default::default();
    let mut counters = [0u32; 100];
    for i in 0..args.rows {
        row_cells(i, &mut rng, &mut counters, &mut cells);
        push_quoted_row(&mut text, &cells);
        if text.len() >= (1 << 20) - 4096 {
            flush(&mut text, &mut cp932, &mut bytes, &mut w)?;
        }
    }
    flush(&mut text, &mut cp932, &mut bytes, &mut w)?;
    w.flush()?;
    let size = fs_err::metadata(&args.out)?.len();
    eprintln!(
        "wrote {} rows, {size} bytes ({:.1} MiB, {:.1} bytes/row) to {}",
        args.rows,
        size as f64 / (1 << 20) as f64,
        size as f64 / args.rows.max(1) as f64,
        args.out.display()
    );
    Ok(())
}
