//! What the example generators (`gen_samples`, `gen_registrar`, `gen_world`) share: the headers
//! and title of the files they write, the Japanese era of a date, half-width katakana as old
//! registrar terminals typed it, and CP932 encoding that refuses what CP932 lacks. Their random
//! streams are `regsync::testing::XorShift`. Each generator includes this module with
//! `mod common;` and uses a part of it.

#![allow(dead_code, reason = "each generator uses a part of this module")]

use std::error::Error;

use chrono::{Datelike, NaiveDate};
use encoding_rs::{EncoderResult, SHIFT_JIS};

pub type Res<T> = Result<T, Box<dyn Error>>;

pub use regsync::testing::REGISTRAR_HEADER;

/// The first cell of the registrar export's title row.
pub const REGISTRAR_TITLE: &str = "令和8年度 在籍者一覧";

/// The account directory's header (`regsync accounts import`), in column order.
pub const ACCOUNTS_HEADER: [&str; 13] = regsync::ingest::accounts::HEADER;

/// A date the generator made from parts that are valid by construction (`NaiveDate::MIN` if
/// they were not).
pub fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// A date's Japanese era, from 昭和 on (every generated date is later).
pub struct Era {
    /// `令和`, `平成`, `昭和`.
    pub kanji: &'static str,
    /// `R`, `H`, `S`, as in `R8.3.31`.
    pub letter: &'static str,
    /// `㋿`, `㍻`, `㍼`.
    pub ligature: &'static str,
    /// The year of the era: 1 in its first year (元年).
    pub year: i32,
}

pub fn era(d: NaiveDate) -> Era {
    let (y, md) = (d.year(), (d.month(), d.day()));
    let (kanji, letter, ligature, first) = if (y, md) >= (2019, (5, 1)) {
        ("令和", "R", "㋿", 2019)
    } else if (y, md) >= (1989, (1, 8)) {
        ("平成", "H", "㍻", 1989)
    } else {
        ("昭和", "S", "㍼", 1926)
    };
    Era {
        kanji,
        letter,
        ligature,
        year: y - first + 1,
    }
}

/// Appends `kana` with its full-width katakana made half-width (ﾔﾏﾀﾞ ﾀﾛｳ), as old registrar
/// terminals typed them: voiced ones as a letter and a separate mark, an ideographic space as
/// an ASCII one.
pub fn push_half_width(out: &mut String, kana: &str) {
    const FULL: &str = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンァィゥェォャュョッー";
    const HALF: &str = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｬｭｮｯｰ";
    const VOICED: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボ";
    const VOICED_BASE: &str = "カキクケコサシスセソタチツテトハヒフヘホ";
    const SEMI: &str = "パピプペポ";
    const SEMI_BASE: &str = "ハヒフヘホ";
    let nth = |set: &str, c: char| set.chars().position(|x| x == c);
    let half = |c: char| nth(FULL, c).and_then(|i| HALF.chars().nth(i));
    for c in kana.chars() {
        if let Some(h) = half(c) {
            out.push(h);
        } else if let Some(i) = nth(VOICED, c) {
            out.extend(VOICED_BASE.chars().nth(i).and_then(half));
            out.push('ﾞ');
        } else if let Some(i) = nth(SEMI, c) {
            out.extend(SEMI_BASE.chars().nth(i).and_then(half));
            out.push('ﾟ');
        } else if c == 'ヴ' {
            out.push_str("ｳﾞ");
        } else if c == '\u{3000}' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
}

/// A CP932 encoder (Shift_JIS with the NEC and IBM extensions, as Japanese Windows writes it)
/// that refuses a character CP932 cannot encode rather than replacing it.
pub struct Cp932(encoding_rs::Encoder);

impl Cp932 {
    pub fn new() -> Cp932 {
        Cp932(SHIFT_JIS.new_encoder())
    }

    /// Appends `text`, encoded, to `out`.
    pub fn push(&mut self, text: &str, out: &mut Vec<u8>) -> Res<()> {
        let need = self
            .0
            .max_buffer_length_from_utf8_without_replacement(text.len())
            .ok_or("text too long to encode")?;
        out.reserve(need);
        let (result, _) = self
            .0
            .encode_from_utf8_to_vec_without_replacement(text, out, false);
        match result {
            EncoderResult::InputEmpty => Ok(()),
            EncoderResult::Unmappable(c) => {
                Err(format!("`{c}` (U+{:04X}) has no CP932 encoding", u32::from(c)).into())
            }
            EncoderResult::OutputFull => Err("CP932 output buffer full".into()),
        }
    }
}

/// `text` in CP932; a character CP932 lacks is an error.
pub fn cp932(text: &str) -> Res<Vec<u8>> {
    let mut out = Vec::new();
    Cp932::new().push(text, &mut out)?;
    Ok(out)
}
