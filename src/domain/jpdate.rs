//! Japanese dates as registrar staff type them: western (`2026/4/1`, `2026年4月1日`,
//! `20260401`) and Japanese eras per JIS X 0301 (`令和8年4月1日`, `R8.4.1`, `㋿元年5月1日`),
//! in half or full width, with or without a trailing time that Excel text exports append.
//! This module owns turning one such cell into a [`NaiveDate`], the era table and its
//! boundaries, and the plain-words messages (Japanese and English) for dates it cannot accept.
//! It is hand-written rather than built on `chrono` format strings or NFKC: `parse_from_str`
//! knows neither eras, 元年, era ligatures nor full-width digits, and normalizing every cell
//! first would allocate once per row on a million-row export. Instead a small lexer folds each
//! character by hand (full width to ASCII, dash variants to `-`) into a fixed-size token array,
//! so parsing a date never allocates, whatever the script; only warnings and errors, which are
//! rare, allocate a copy of the input to show back to the person who dropped the file.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// How a date was written; a mapping profile may restrict which styles a column accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateStyle {
    /// 2026-04-01, 2026/4/1, 2026.4.1, 20260401, 2026年4月1日
    Western,
    /// 令和8年4月1日, R8.4.1, ㋿8年4月1日, 令和元年5月1日
    Wareki,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedDate {
    pub(crate) date: NaiveDate,
    pub(crate) style: DateStyle,
    pub(crate) warning: Option<DateWarning>,
}

/// The Japanese eras of JIS X 0301, oldest first.
///
/// Meiji starts on 1868-09-08, as in the ICU and (pre-11) .NET tables: the proclamation's
/// date in the old lunisolar calendar, read as if Gregorian. JIS X 0301 itself leaves Meiji
/// dates before M06.01.01 (1873-01-01, when Japan adopted the Gregorian calendar) out of
/// scope; they are read as Gregorian here, which only matters for dates no student has.
/// Where an era changed in the middle of a day (1912-07-30, 1926-12-25) the day belongs to
/// the new era, as in JIS X 0301 tables, so `明治45年7月30日` reads as past Meiji's end.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Era {
    /// 明治, `M`, ㍾
    Meiji,
    /// 大正, `T`, ㍽
    Taisho,
    /// 昭和, `S`, ㍼
    Showa,
    /// 平成, `H`, ㍻
    Heisei,
    /// 令和, `R`, ㋿
    Reiwa,
}

/// Builds a constant date; a typo in the table yields `NaiveDate::MIN`, which the tests catch.
const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => NaiveDate::MIN,
    }
}

impl Era {
    pub(crate) const ALL: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

    /// The era's first day (year 1, 元年, begins here).
    pub(crate) const fn first_day(self) -> NaiveDate {
        match self {
            Era::Meiji => ymd(1868, 9, 8),
            Era::Taisho => ymd(1912, 7, 30),
            Era::Showa => ymd(1926, 12, 25),
            Era::Heisei => ymd(1989, 1, 8),
            Era::Reiwa => ymd(2019, 5, 1),
        }
    }

    /// The era that followed this one, if any.
    pub(crate) const fn next(self) -> Option<Era> {
        match self {
            Era::Meiji => Some(Era::Taisho),
            Era::Taisho => Some(Era::Showa),
            Era::Showa => Some(Era::Heisei),
            Era::Heisei => Some(Era::Reiwa),
            Era::Reiwa => None,
        }
    }

    /// The era's last day; `None` for the current era.
    pub(crate) fn last_day(self) -> Option<NaiveDate> {
        self.next().and_then(|next| next.first_day().pred_opt())
    }

    /// The era a date falls in; `None` before Meiji.
    pub(crate) fn of(date: NaiveDate) -> Option<Era> {
        Era::ALL
            .into_iter()
            .rev()
            .find(|era| era.first_day() <= date)
    }

    /// 令和, 平成, ...
    pub(crate) const fn name_ja(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    /// Reiwa, Heisei, ... (Hepburn, for English messages).
    pub(crate) const fn name_en(self) -> &'static str {
        match self {
            Era::Meiji => "Meiji",
            Era::Taisho => "Taisho",
            Era::Showa => "Showa",
            Era::Heisei => "Heisei",
            Era::Reiwa => "Reiwa",
        }
    }
}

/// The proper era form of a date, `令和8年4月1日` or `令和元年5月1日`; `None` before Meiji.
pub(crate) fn format_wareki(date: NaiveDate) -> Option<String> {
    let era = Era::of(date)?;
    let year = date.year() - era.first_day().year() + 1;
    let name = era.name_ja();
    let (month, day) = (date.month(), date.day());
    Some(if year == 1 {
        format!("{name}元年{month}月{day}日")
    } else {
        format!("{name}{year}年{month}月{day}日")
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DateWarning {
    /// An era date past its era's end (平成31年5月1日): accepted as the western date.
    PastEraEnd {
        input: String,
        era: Era,
        date: NaiveDate,
        proper: String,
    },
}

impl DateWarning {
    pub(crate) fn message_ja(&self) -> String {
        match self {
            DateWarning::PastEraEnd {
                input,
                era,
                date,
                proper,
            } => {
                let name = era.name_ja();
                let last = era.last_day().map(ja_date).unwrap_or_default();
                format!(
                    "「{input}」は{name}の最終日（{last}）より後の日付です。{}として読みました（正しくは「{proper}」）",
                    ja_date(*date)
                )
            }
        }
    }

    pub(crate) fn message_en(&self) -> String {
        match self {
            DateWarning::PastEraEnd {
                input,
                era,
                date,
                proper,
            } => {
                let last = era.last_day().map(|d| d.to_string()).unwrap_or_default();
                format!(
                    "`{input}` is after the last day of {} ({}, {last}); read as {date}, properly written `{proper}`",
                    era.name_ja(),
                    era.name_en()
                )
            }
        }
    }
}

/// Why a date with a recognised shape does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::enum_variant_names,
    reason = "each variant names what the calendar lacks: no year zero, no such month or day"
)]
pub(crate) enum ImpossibleDate {
    /// `0000/1/1`
    NoYearZero,
    /// `2026/13/1`, `2026/0/1`
    NoSuchMonth { month: u32 },
    /// `2026年2月30日`, `2026/4/0`
    NoSuchDay {
        year: i32,
        month: u32,
        day: u32,
        days_in_month: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DateError {
    /// Nothing but whitespace.
    Empty,
    /// No accepted form matches.
    Unrecognized(String),
    /// A western year not written with four digits (`26年4月1日`, `99999999999年1月1日`).
    WesternYearDigits { input: String, year: String },
    /// Era year 0 (`平成0年1月1日`): era years start at 元年.
    EraYearZero { input: String, era: Era },
    /// An era year of three or more digits (`平成123年1月1日`).
    EraYearTooLong {
        input: String,
        era: Era,
        year: String,
    },
    /// The shape is right but the day does not exist (`2026年2月30日`, `2026/13/1`).
    NotARealDate {
        input: String,
        reason: ImpossibleDate,
    },
    /// An era date before the era began (`令和元年4月30日`); `proper` is how that day is written.
    BeforeEraStart {
        input: String,
        era: Era,
        date: NaiveDate,
        proper: Option<String>,
    },
}

const EXAMPLES_JA: &str = "例: 2026/4/1、2026年4月1日、令和8年4月1日、R8.4.1";
const EXAMPLES_EN: &str = "`2026/4/1`, `2026年4月1日`, `令和8年4月1日` or `R8.4.1`";

impl DateError {
    pub(crate) fn message_ja(&self) -> String {
        match self {
            DateError::Empty => format!("日付が空です（{EXAMPLES_JA}）"),
            DateError::Unrecognized(input) => {
                format!("「{input}」は日付として読めません（{EXAMPLES_JA}）")
            }
            DateError::WesternYearDigits { input, year } => format!(
                "「{input}」の年「{year}」は4桁の西暦でも元号付きの年でもありません（例: 2026年、令和8年）"
            ),
            DateError::EraYearZero { input, era } => {
                let name = era.name_ja();
                format!("「{input}」に{name}0年はありません（{name}は元年から始まります）")
            }
            DateError::EraYearTooLong { input, era, year } => format!(
                "「{input}」の{}{year}年は元号の年として長すぎます（2桁まで）",
                era.name_ja()
            ),
            DateError::NotARealDate { input, reason } => {
                let why = match reason {
                    ImpossibleDate::NoYearZero => "0年はありません".to_owned(),
                    ImpossibleDate::NoSuchMonth { month } => format!("{month}月はありません"),
                    ImpossibleDate::NoSuchDay { day: 0, .. } => "0日はありません".to_owned(),
                    ImpossibleDate::NoSuchDay {
                        year,
                        month,
                        days_in_month,
                        ..
                    } => format!("{year}年の{month}月は{days_in_month}日までです"),
                };
                format!("「{input}」は存在しない日付です（{why}）")
            }
            DateError::BeforeEraStart {
                input,
                era,
                date,
                proper,
            } => {
                let name = era.name_ja();
                let first = ja_date(era.first_day());
                let mut message = format!("「{input}」は{name}の初日（{first}）より前の日付です");
                if let Some(proper) = proper {
                    message.push_str(&format!("（{}は「{proper}」）", ja_date(*date)));
                }
                message
            }
        }
    }

    pub(crate) fn message_en(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateError::Empty => write!(f, "the date is empty; expected a date like {EXAMPLES_EN}"),
            DateError::Unrecognized(input) => {
                write!(
                    f,
                    "`{input}` is not a date; expected a form like {EXAMPLES_EN}"
                )
            }
            DateError::WesternYearDigits { input, year } => write!(
                f,
                "`{input}`: the year `{year}` is neither a four-digit year (like `2026年`) nor an era year (like `令和8年`)"
            ),
            DateError::EraYearZero { input, era } => write!(
                f,
                "`{input}`: there is no year 0 of {} ({}); era years start at 元年 (year 1)",
                era.name_ja(),
                era.name_en()
            ),
            DateError::EraYearTooLong { input, era, year } => write!(
                f,
                "`{input}`: `{year}` is too long for a year of {} ({}); era years have at most two digits",
                era.name_ja(),
                era.name_en()
            ),
            DateError::NotARealDate { input, reason } => {
                write!(f, "`{input}` is not a real date (")?;
                match reason {
                    ImpossibleDate::NoYearZero => write!(f, "there is no year 0")?,
                    ImpossibleDate::NoSuchMonth { month } => {
                        write!(f, "there is no month {month}")?;
                    }
                    ImpossibleDate::NoSuchDay { day: 0, .. } => write!(f, "there is no day 0")?,
                    ImpossibleDate::NoSuchDay {
                        year,
                        month,
                        days_in_month,
                        ..
                    } => write!(
                        f,
                        "{} has {days_in_month} days in {year}",
                        month_name_en(*month)
                    )?,
                }
                write!(f, ")")
            }
            DateError::BeforeEraStart {
                input,
                era,
                date,
                proper,
            } => {
                write!(
                    f,
                    "`{input}` is before the first day of {} ({}), {}",
                    era.name_ja(),
                    era.name_en(),
                    era.first_day()
                )?;
                if let Some(proper) = proper {
                    write!(f, "; {date} is written `{proper}`")?;
                }
                Ok(())
            }
        }
    }
}

fn ja_date(date: NaiveDate) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

fn month_name_en(month: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    month
        .checked_sub(1)
        .and_then(|i| NAMES.get(usize::try_from(i).ok()?))
        .copied()
        .unwrap_or("that month")
}

/// Parses a date as written in Japanese registry exports.
///
/// Accepts the western and era forms listed in the module docs, surrounded by any whitespace
/// (U+3000 included) and optionally followed by a time, which is checked for shape and dropped.
/// An era date past its era's end is accepted with [`DateWarning::PastEraEnd`].
pub(crate) fn parse_date(input: &str) -> Result<ParsedDate, DateError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(DateError::Empty);
    }
    if let Some((year, month, day)) = plain_western(input) {
        return western(input, year, month, day);
    }
    parse_lexed(input)
}

/// [`parse_date`] through the lexer, for a trimmed, non-empty input.
fn parse_lexed(input: &str) -> Result<ParsedDate, DateError> {
    let unrecognized = || DateError::Unrecognized(input.to_owned());
    let tokens = lex(input).ok_or_else(unrecognized)?;
    let date_part = strip_time(tokens.as_slice()).ok_or_else(unrecognized)?;
    // Spaces are tolerated between the parts (`令和 8年 4月 1日`, `2026 / 4 / 1`); they never
    // join two numbers, because the lexer already split numbers at the space.
    let mut parts = Tokens::new();
    for token in date_part.iter().filter(|t| **t != Token::Space) {
        parts.push(*token).ok_or_else(unrecognized)?;
    }
    use Token::{Era as E, Nen, Nichi, Num as N, Sep, Tsuki};
    match parts.as_slice() {
        [N(year), Sep(a), N(month), Sep(b), N(day)] if a == b && year.digits == 4 => {
            western(input, *year, *month, *day)
        }
        // Eight digits: the separator-less form (`20260401`); values are below 10^8.
        [N(n)] if n.digits == 8 => {
            let value = n.value.ok_or_else(unrecognized)?;
            let year = i32::try_from(value / 10_000).map_err(|_| unrecognized())?;
            let date = real_date(year, value / 100 % 100, value % 100)
                .map_err(|reason| not_real(input, reason))?;
            Ok(western_date(date))
        }
        [N(year), Nen, N(month), Tsuki, N(day), Nichi] => {
            if year.digits != 4 {
                return Err(DateError::WesternYearDigits {
                    input: input.to_owned(),
                    year: year.text(input).to_owned(),
                });
            }
            western(input, *year, *month, *day)
        }
        [E { era, .. }, year, Nen, N(month), Tsuki, N(day), Nichi] => {
            wareki(input, *era, *year, *month, *day)
        }
        [E { era, .. }, year, Sep(a), N(month), Sep(b), N(day)] if a == b => {
            wareki(input, *era, *year, *month, *day)
        }
        _ => Err(unrecognized()),
    }
}

/// The common case first, without the lexer: ASCII `2004-04-01`, `2004/4/1` or `2004.4.1`
/// (four-digit year, one or two digits for month and day, one separator twice). These are exactly
/// the inputs the lexer turns into `[Num, Sep, Num, Sep, Num]` with a four-digit year, so the
/// result is the same; anything else returns `None` and takes the general path.
fn plain_western(input: &str) -> Option<(Num, Num, Num)> {
    let b = input.as_bytes();
    if !(8..=10).contains(&b.len()) || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sep = *b.get(4)?;
    if !matches!(sep, b'-' | b'/' | b'.') {
        return None;
    }
    let num = |start: usize, end: usize| Num {
        value: Some(
            b[start..end]
                .iter()
                .fold(0, |v, d| v * 10 + u32::from(d - b'0')),
        ),
        digits: (end - start) as u8,
        start,
        end,
    };
    let digits_from = |start: usize| {
        let n = b
            .get(start..)?
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        (1..=2).contains(&n).then_some(start + n)
    };
    let month_end = digits_from(5)?;
    if b.get(month_end) != Some(&sep) {
        return None;
    }
    let day_end = digits_from(month_end + 1)?;
    (day_end == b.len()).then(|| (num(0, 4), num(5, month_end), num(month_end + 1, day_end)))
}

fn western_date(date: NaiveDate) -> ParsedDate {
    ParsedDate {
        date,
        style: DateStyle::Western,
        warning: None,
    }
}

fn not_real(input: &str, reason: ImpossibleDate) -> DateError {
    DateError::NotARealDate {
        input: input.to_owned(),
        reason,
    }
}

/// Month or day value, written with one or two digits.
fn small(n: Num) -> Option<u32> {
    if n.digits <= 2 { n.value } else { None }
}

fn western(input: &str, year: Num, month: Num, day: Num) -> Result<ParsedDate, DateError> {
    let unrecognized = || DateError::Unrecognized(input.to_owned());
    // Four digits, so at most 9999 and never out of `i32` range.
    let year = year
        .value
        .and_then(|y| i32::try_from(y).ok())
        .ok_or_else(unrecognized)?;
    let (month, day) = small(month).zip(small(day)).ok_or_else(unrecognized)?;
    let date = real_date(year, month, day).map_err(|reason| not_real(input, reason))?;
    Ok(western_date(date))
}

fn wareki(
    input: &str,
    era: Era,
    year: Token,
    month: Num,
    day: Num,
) -> Result<ParsedDate, DateError> {
    let unrecognized = || DateError::Unrecognized(input.to_owned());
    let era_year: i32 = match year {
        Token::Gan => 1,
        Token::Num(n) if n.digits > 2 => {
            return Err(DateError::EraYearTooLong {
                input: input.to_owned(),
                era,
                year: n.text(input).to_owned(),
            });
        }
        Token::Num(Num { value: Some(0), .. }) => {
            return Err(DateError::EraYearZero {
                input: input.to_owned(),
                era,
            });
        }
        Token::Num(n) => n
            .value
            .and_then(|v| i32::try_from(v).ok())
            .ok_or_else(unrecognized)?,
        _ => return Err(unrecognized()),
    };
    let (month, day) = small(month).zip(small(day)).ok_or_else(unrecognized)?;
    // Year N of an era is the era's first year plus N - 1; N has at most two digits.
    let year = era.first_day().year() + era_year - 1;
    let date = real_date(year, month, day).map_err(|reason| not_real(input, reason))?;
    if date < era.first_day() {
        return Err(DateError::BeforeEraStart {
            input: input.to_owned(),
            era,
            date,
            proper: format_wareki(date),
        });
    }
    // Past the era's end (平成31年5月1日) the day still exists: people keep writing the old era
    // for a while after a change, so accept it and say how it is properly written.
    let past_end = era.next().is_some_and(|next| date >= next.first_day());
    let warning = if past_end {
        format_wareki(date).map(|proper| DateWarning::PastEraEnd {
            input: input.to_owned(),
            era,
            date,
            proper,
        })
    } else {
        None
    };
    Ok(ParsedDate {
        date,
        style: DateStyle::Wareki,
        warning,
    })
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A calendar date, or why it does not exist (proleptic Gregorian, year 1 to 9999).
fn real_date(year: i32, month: u32, day: u32) -> Result<NaiveDate, ImpossibleDate> {
    if year == 0 {
        return Err(ImpossibleDate::NoYearZero);
    }
    if !(1..=12).contains(&month) {
        return Err(ImpossibleDate::NoSuchMonth { month });
    }
    let days_in_month = days_in_month(year, month);
    let no_such_day = ImpossibleDate::NoSuchDay {
        year,
        month,
        day,
        days_in_month,
    };
    if day == 0 || day > days_in_month {
        return Err(no_such_day);
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or(no_such_day)
}

/// A run of digits: its value (`None` past `u32`), how many digits, and where it is in the
/// trimmed input (to quote it back as typed, full width included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Num {
    value: Option<u32>,
    digits: u8,
    start: usize,
    end: usize,
}

impl Num {
    fn text(self, input: &str) -> &str {
        input.get(self.start..self.end).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Num(Num),
    /// An era, as a name (令和), a ligature (㋿) or a letter (`R`, `r`); `letter` lets the
    /// time check tell the ISO `T` from 大正 written out.
    Era {
        era: Era,
        letter: bool,
    },
    /// 元, as in 元年 (year 1 of an era).
    Gan,
    /// 年
    Nen,
    /// 月
    Tsuki,
    /// 日
    Nichi,
    /// `-`, `/` or `.`
    Sep(char),
    Colon,
    /// One or more whitespace characters.
    Space,
}

/// Enough for a date, a space and `00:00:00.000`; longer inputs are not dates.
const MAX_TOKENS: usize = 20;

/// A fixed-size token list, so that lexing never allocates.
struct Tokens {
    buf: [Token; MAX_TOKENS],
    len: usize,
}

impl Tokens {
    fn new() -> Self {
        Tokens {
            buf: [Token::Space; MAX_TOKENS],
            len: 0,
        }
    }

    fn push(&mut self, token: Token) -> Option<()> {
        *self.buf.get_mut(self.len)? = token;
        self.len += 1;
        Some(())
    }

    fn last(&self) -> Option<Token> {
        self.as_slice().last().copied()
    }

    fn as_slice(&self) -> &[Token] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// Folds one character to the ASCII it stands for in a date: full-width forms (`２`, `／`, `Ｒ`)
/// to ASCII, dash look-alikes to `-`, any whitespace to a space. Done by hand, per character,
/// so that no normalized copy of the input is ever built.
fn fold(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    match c {
        // Full-width ASCII block: U+FF01..U+FF5E map to U+0021..U+007E.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        // Hyphens, dashes and the minus sign; ー (long vowel mark) because IMEs produce it
        // when staff type `-` in kana mode.
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{30FC}' | '\u{FF70}' => '-',
        c if c.is_whitespace() => ' ',
        c => c,
    }
}

fn era_letter(c: char) -> Option<Era> {
    match c.to_ascii_uppercase() {
        'M' => Some(Era::Meiji),
        'T' => Some(Era::Taisho),
        'S' => Some(Era::Showa),
        'H' => Some(Era::Heisei),
        'R' => Some(Era::Reiwa),
        _ => None,
    }
}

fn era_initial(c: char) -> Option<Era> {
    match c {
        '明' => Some(Era::Meiji),
        '大' => Some(Era::Taisho),
        '昭' => Some(Era::Showa),
        '平' => Some(Era::Heisei),
        '令' => Some(Era::Reiwa),
        _ => None,
    }
}

fn era_name(first: char, second: char) -> Option<Era> {
    match (first, second) {
        ('明', '治') => Some(Era::Meiji),
        ('大', '正') => Some(Era::Taisho),
        ('昭', '和') => Some(Era::Showa),
        ('平', '成') => Some(Era::Heisei),
        ('令', '和') => Some(Era::Reiwa),
        _ => None,
    }
}

/// Splits the trimmed input into tokens; `None` on any character no date form uses.
fn lex(input: &str) -> Option<Tokens> {
    let mut tokens = Tokens::new();
    let mut chars = input.char_indices().peekable();
    while let Some((start, raw)) = chars.next() {
        let c = fold(raw);
        let token = match c {
            '0'..='9' => {
                let mut value = c.to_digit(10);
                let mut digits: u8 = 1;
                let mut end = start + raw.len_utf8();
                while let Some(&(at, next)) = chars.peek() {
                    let Some(d) = fold(next).to_digit(10) else {
                        break;
                    };
                    // Checked: `99999999999年` must fail politely, not overflow.
                    value = value
                        .and_then(|v| v.checked_mul(10))
                        .and_then(|v| v.checked_add(d));
                    digits = digits.saturating_add(1);
                    end = at + next.len_utf8();
                    chars.next();
                }
                Token::Num(Num {
                    value,
                    digits,
                    start,
                    end,
                })
            }
            '-' | '/' | '.' => Token::Sep(c),
            ':' => Token::Colon,
            ' ' | '\t' | '\r' | '\n' => {
                if tokens.last() == Some(Token::Space) {
                    continue;
                }
                Token::Space
            }
            '年' => Token::Nen,
            '月' => Token::Tsuki,
            '日' => Token::Nichi,
            '元' => Token::Gan,
            '㍾' => Token::Era {
                era: Era::Meiji,
                letter: false,
            },
            '㍽' => Token::Era {
                era: Era::Taisho,
                letter: false,
            },
            '㍼' => Token::Era {
                era: Era::Showa,
                letter: false,
            },
            '㍻' => Token::Era {
                era: Era::Heisei,
                letter: false,
            },
            '㋿' => Token::Era {
                era: Era::Reiwa,
                letter: false,
            },
            '明' | '大' | '昭' | '平' | '令' => {
                // The full name (令和), or JIS X 0301's one-kanji abbreviation (令08.04.01).
                let full = chars.peek().and_then(|&(_, second)| era_name(c, second));
                let era = match full {
                    Some(era) => {
                        chars.next();
                        era
                    }
                    None => era_initial(c)?,
                };
                Token::Era { era, letter: false }
            }
            c if c.is_ascii_alphabetic() => Token::Era {
                era: era_letter(c)?,
                letter: true,
            },
            _ => return None,
        };
        tokens.push(token)?;
    }
    Some(tokens)
}

/// Drops a trailing time (`2026/4/1 0:00`, `2026-04-01 00:00:00`, `2026-04-01T09:30:00.000`),
/// which Excel text exports append to dates; it is checked for shape and then ignored.
/// Returns the date part, or `None` if something time-like is malformed.
fn strip_time(tokens: &[Token]) -> Option<&[Token]> {
    let Some(colon) = tokens.iter().position(|t| *t == Token::Colon) else {
        return Some(tokens);
    };
    let hour_at = colon.checked_sub(1)?;
    let gap_at = colon.checked_sub(2)?;
    match tokens.get(gap_at)? {
        Token::Space
        | Token::Era {
            era: Era::Taisho,
            letter: true,
        } => {}
        _ => return None,
    }
    let upto = |n: &Num, max: u32, digits: &[u8]| {
        digits.contains(&n.digits) && n.value.is_some_and(|v| v <= max)
    };
    use Token::{Colon, Num as N, Sep};
    let valid = match tokens.get(hour_at..)? {
        [N(h), Colon, N(m)] => upto(h, 23, &[1, 2]) && upto(m, 59, &[2]),
        [N(h), Colon, N(m), Colon, N(s)] | [N(h), Colon, N(m), Colon, N(s), Sep('.'), N(_)] => {
            upto(h, 23, &[1, 2]) && upto(m, 59, &[2]) && upto(s, 59, &[2])
        }
        _ => false,
    };
    if valid { tokens.get(..gap_at) } else { None }
}

#[cfg(test)]
mod tests;
