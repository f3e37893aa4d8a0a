use super::*;
use proptest::prelude::*;

/// What a case should come out as. Dates are ISO strings; errors are the exact English
/// message, so the table also pins down what staff are told.
#[derive(Debug)]
enum Want {
    Western(&'static str),
    Wareki(&'static str),
    /// Accepted with a past-era-end warning: the date and its proper era form.
    PastEnd(&'static str, &'static str),
    Err(&'static str),
    /// The generic "not a date" error, quoting the input.
    NotADate,
}
use Want::{Err as E, NotADate, PastEnd, Wareki as J, Western as W};

/// One line per outcome, so a mismatch shows both sides in full.
fn outcome(input: &str) -> String {
    match parse_date(input) {
        Ok(ParsedDate {
            date,
            style: DateStyle::Western,
            warning: None,
        }) => format!("western {date}"),
        Ok(ParsedDate {
            date,
            style: DateStyle::Wareki,
            warning: None,
        }) => format!("wareki {date}"),
        Ok(ParsedDate {
            date,
            style,
            warning: Some(DateWarning::PastEraEnd { proper, .. }),
        }) => format!("{style:?} past era end {date} {proper}"),
        Err(e) => format!("error {}", e.message_en()),
    }
}

fn check(input: &str, want: &Want) {
    let want = match want {
        W(date) => format!("western {date}"),
        J(date) => format!("wareki {date}"),
        PastEnd(date, proper) => format!("Wareki past era end {date} {proper}"),
        E(message) => format!("error {message}"),
        NotADate => format!(
            "error `{}` is not a date; expected a form like {EXAMPLES_EN}",
            input.trim()
        ),
    };
    assert_eq!(outcome(input), want, "input {input:?}");
}

fn check_all(cases: &[(&str, Want)]) {
    for (input, want) in cases {
        check(input, want);
    }
}

#[test]
fn plain_western_fast_path_agrees_with_the_lexer() {
    for input in [
        "2004-04-01",
        "2004/4/1",
        "2004.4.1",
        "2004-4-01",
        "2004/12/31",
        "2004-13-01",
        "2004-02-30",
        "2004-00-10",
        "2004/2/29",
        "2100/2/29",
        "0000-01-01",
        "2004-4/1",
        "2004-123-1",
        "2004-1-",
        "2004--1",
        "20040-4-1",
        "2004/4/1a",
        "2004ー4ー1",
    ] {
        let fast = plain_western(input).map(|(y, m, d)| western(input, y, m, d));
        if let Some(fast) = fast {
            assert_eq!(fast, parse_lexed(input), "{input}");
        }
        assert_eq!(parse_date(input), parse_lexed(input), "{input}");
    }
}

#[test]
fn era_table_is_consistent() {
    for era in Era::ALL {
        assert_ne!(era.first_day(), NaiveDate::MIN, "{era:?}");
        assert_eq!(Era::of(era.first_day()), Some(era));
        if let Some(last) = era.last_day() {
            assert_eq!(Era::of(last), Some(era));
        }
    }
    assert_eq!(Era::of(ymd(1868, 9, 7)), None);
}

#[test]
fn western_forms_parse() {
    check_all(&[
        ("2026-04-01", W("2026-04-01")),
        ("2026-4-1", W("2026-04-01")),
        ("2026/4/1", W("2026-04-01")),
        ("2026/04/01", W("2026-04-01")),
        ("2026.4.1", W("2026-04-01")),
        ("20260401", W("2026-04-01")),
        ("2026年4月1日", W("2026-04-01")),
        ("2026年04月01日", W("2026-04-01")),
        ("2026年 4月 1日", W("2026-04-01")),
        ("2026 / 4 / 1", W("2026-04-01")),
        ("  2026/4/1\u{3000}", W("2026-04-01")),
        ("2024/2/29", W("2024-02-29")),
        ("2000/2/29", W("2000-02-29")),
        ("1899/12/31", W("1899-12-31")),
    ]);
}

#[test]
fn full_width_and_dash_variants_fold() {
    check_all(&[
        ("２０２６／４／１", W("2026-04-01")),
        ("２０２６年４月１日", W("2026-04-01")),
        ("２０２６０４０１", W("2026-04-01")),
        ("２０２６－０４－０１", W("2026-04-01")),
        ("2026−4−1", W("2026-04-01")),
        ("2026ー4ー1", W("2026-04-01")),
        ("\u{3000}２０２６．４．１\u{3000}", W("2026-04-01")),
        ("Ｒ８．４．１", J("2026-04-01")),
        ("ｒ８／４／１", J("2026-04-01")),
        ("令和８年４月１日", J("2026-04-01")),
    ]);
}

#[test]
fn trailing_times_are_ignored() {
    check_all(&[
        ("2026/4/1 0:00", W("2026-04-01")),
        ("2026-04-01 00:00:00", W("2026-04-01")),
        ("2026/4/1 23:59:59.999", W("2026-04-01")),
        ("2026-04-01T09:30:00", W("2026-04-01")),
        ("2026年4月1日　0:00", W("2026-04-01")),
        ("２０２６／４／１　０：００", W("2026-04-01")),
        ("R8.4.1 0:00", J("2026-04-01")),
    ]);
}

#[test]
fn wareki_forms_and_abbreviations_parse() {
    check_all(&[
        ("令和8年4月1日", J("2026-04-01")),
        ("令和 8年 4月 1日", J("2026-04-01")),
        ("令和08年04月01日", J("2026-04-01")),
        ("R8.4.1", J("2026-04-01")),
        ("R08.04.01", J("2026-04-01")),
        ("r8.4.1", J("2026-04-01")),
        ("R8/4/1", J("2026-04-01")),
        ("R8-4-1", J("2026-04-01")),
        ("令08.04.01", J("2026-04-01")),
        ("平16.04.01", J("2004-04-01")),
        ("令8年4月1日", J("2026-04-01")),
        ("H20.3.31", J("2008-03-31")),
        ("h20.3.31", J("2008-03-31")),
        ("S50.1.1", J("1975-01-01")),
        ("s50.1.1", J("1975-01-01")),
        ("T10.5.5", J("1921-05-05")),
        ("t10.5.5", J("1921-05-05")),
        ("M40.1.1", J("1907-01-01")),
        ("m40.1.1", J("1907-01-01")),
    ]);
}

#[test]
fn gannen_is_year_one() {
    check_all(&[
        ("令和元年5月1日", J("2019-05-01")),
        ("令和元年12月31日", J("2019-12-31")),
        ("㋿元年5月1日", J("2019-05-01")),
        ("平成元年1月8日", J("1989-01-08")),
        ("令和1年5月1日", J("2019-05-01")),
        ("R元.5.1", J("2019-05-01")),
    ]);
}

#[test]
fn ligatures_name_their_era() {
    check_all(&[
        ("㋿8年4月1日", J("2026-04-01")),
        ("㍻31年4月30日", J("2019-04-30")),
        ("㍼64年1月7日", J("1989-01-07")),
        ("㍽15年12月24日", J("1926-12-24")),
        ("㍾45年7月29日", J("1912-07-29")),
    ]);
}

#[test]
fn every_era_boundary_last_day_and_first_day() {
    check_all(&[
        // Meiji starts.
        ("明治元年9月8日", J("1868-09-08")),
        // Meiji → Taisho.
        ("明治45年7月29日", J("1912-07-29")),
        ("M45.7.29", J("1912-07-29")),
        ("大正元年7月30日", J("1912-07-30")),
        ("T1.7.30", J("1912-07-30")),
        // Taisho → Showa.
        ("大正15年12月24日", J("1926-12-24")),
        ("T15.12.24", J("1926-12-24")),
        ("昭和元年12月25日", J("1926-12-25")),
        ("㍼元年12月25日", J("1926-12-25")),
        // Showa → Heisei.
        ("昭和64年1月7日", J("1989-01-07")),
        ("S64.1.7", J("1989-01-07")),
        ("平成元年1月8日", J("1989-01-08")),
        ("H1.1.8", J("1989-01-08")),
        // Heisei → Reiwa.
        ("平成31年4月30日", J("2019-04-30")),
        ("H31.4.30", J("2019-04-30")),
        ("令和元年5月1日", J("2019-05-01")),
        ("R1.5.1", J("2019-05-01")),
    ]);
}

#[test]
fn past_era_end_is_accepted_with_warning() {
    check_all(&[
        ("明治45年7月30日", PastEnd("1912-07-30", "大正元年7月30日")),
        (
            "大正15年12月25日",
            PastEnd("1926-12-25", "昭和元年12月25日"),
        ),
        ("昭和64年1月8日", PastEnd("1989-01-08", "平成元年1月8日")),
        ("S65.1.1", PastEnd("1990-01-01", "平成2年1月1日")),
        ("平成31年5月1日", PastEnd("2019-05-01", "令和元年5月1日")),
        ("H31.5.1", PastEnd("2019-05-01", "令和元年5月1日")),
        ("平成32年1月1日", PastEnd("2020-01-01", "令和2年1月1日")),
        ("㍻32年1月1日", PastEnd("2020-01-01", "令和2年1月1日")),
    ]);
}

#[test]
fn before_era_start_is_an_error_naming_the_first_day() {
    check_all(&[
        (
            "令和元年4月30日",
            E(
                "`令和元年4月30日` is before the first day of 令和 (Reiwa), 2019-05-01; 2019-04-30 is written `平成31年4月30日`",
            ),
        ),
        (
            "R1.4.30",
            E(
                "`R1.4.30` is before the first day of 令和 (Reiwa), 2019-05-01; 2019-04-30 is written `平成31年4月30日`",
            ),
        ),
        (
            "平成元年1月7日",
            E(
                "`平成元年1月7日` is before the first day of 平成 (Heisei), 1989-01-08; 1989-01-07 is written `昭和64年1月7日`",
            ),
        ),
        (
            "昭和元年12月24日",
            E(
                "`昭和元年12月24日` is before the first day of 昭和 (Showa), 1926-12-25; 1926-12-24 is written `大正15年12月24日`",
            ),
        ),
        (
            "大正元年7月29日",
            E(
                "`大正元年7月29日` is before the first day of 大正 (Taisho), 1912-07-30; 1912-07-29 is written `明治45年7月29日`",
            ),
        ),
        (
            "明治元年9月7日",
            E("`明治元年9月7日` is before the first day of 明治 (Meiji), 1868-09-08"),
        ),
    ]);
}

#[test]
fn impossible_dates_are_errors() {
    check_all(&[
        (
            "2026年2月30日",
            E("`2026年2月30日` is not a real date (February has 28 days in 2026)"),
        ),
        (
            "2025/2/29",
            E("`2025/2/29` is not a real date (February has 28 days in 2025)"),
        ),
        (
            "1900/2/29",
            E("`1900/2/29` is not a real date (February has 28 days in 1900)"),
        ),
        (
            "2026/4/31",
            E("`2026/4/31` is not a real date (April has 30 days in 2026)"),
        ),
        (
            "2026/13/1",
            E("`2026/13/1` is not a real date (there is no month 13)"),
        ),
        (
            "20261301",
            E("`20261301` is not a real date (there is no month 13)"),
        ),
        (
            "2026/4/0",
            E("`2026/4/0` is not a real date (there is no day 0)"),
        ),
        (
            "0000/1/1",
            E("`0000/1/1` is not a real date (there is no year 0)"),
        ),
        (
            "R8.2.29",
            E("`R8.2.29` is not a real date (February has 28 days in 2026)"),
        ),
        (
            "平成0年1月1日",
            E(
                "`平成0年1月1日`: there is no year 0 of 平成 (Heisei); era years start at 元年 (year 1)",
            ),
        ),
        (
            "平成123年1月1日",
            E(
                "`平成123年1月1日`: `123` is too long for a year of 平成 (Heisei); era years have at most two digits",
            ),
        ),
        (
            "99999999999年1月1日",
            E(
                "`99999999999年1月1日`: the year `99999999999` is neither a four-digit year (like `2026年`) nor an era year (like `令和8年`)",
            ),
        ),
        (
            "２６年４月１日",
            E(
                "`２６年４月１日`: the year `２６` is neither a four-digit year (like `2026年`) nor an era year (like `令和8年`)",
            ),
        ),
    ]);
}

#[test]
fn empty_and_garbage_are_errors() {
    const EMPTY: &str = "the date is empty; expected a date like `2026/4/1`, `2026年4月1日`, `令和8年4月1日` or `R8.4.1`";
    check_all(&[("", E(EMPTY)), ("  \u{3000}\t", E(EMPTY))]);
    check_all(&[
        ("hello", NotADate),
        ("2026/4", NotADate),
        ("2026/4/1/2", NotADate),
        ("2026/4-1", NotADate),
        ("4/1/2026", NotADate),
        ("26/4/1", NotADate),
        ("2026/004/01", NotADate),
        ("2026/4/1 25:00", NotADate),
        ("2026/4/1 0:0", NotADate),
        ("2026/4/10:00", NotADate),
        ("2026/4/1 0:00Z", NotADate),
        ("1234567", NotADate),
        ("2026年4月1", NotADate),
        ("令和", NotADate),
        ("令和8", NotADate),
        ("大学", NotADate),
        ("X8.4.1", NotADate),
        ("R8.4", NotADate),
        ("R8.4/1", NotADate),
        ("2026年4月1日(水)", NotADate),
        ("4月1日", NotADate),
        ("令和八年四月一日", NotADate),
    ]);
}

#[test]
fn messages_in_japanese_say_what_was_found_and_expected() {
    let lines: Vec<String> = [
        "",
        "hello",
        "2026年2月30日",
        "2026/13/1",
        "2026/4/0",
        "平成0年1月1日",
        "平成123年1月1日",
        "26年4月1日",
        "令和元年4月30日",
        "明治元年9月7日",
    ]
    .into_iter()
    .map(|input| match parse_date(input) {
        Ok(p) => format!("ok {}", p.date),
        Err(e) => e.message_ja(),
    })
    .chain(
        ["平成31年5月1日", "昭和64年1月8日"]
            .into_iter()
            .map(|input| match parse_date(input).map(|p| p.warning) {
                Ok(Some(w)) => format!("{}\n{}", w.message_ja(), w.message_en()),
                other => format!("{other:?}"),
            }),
    )
    .collect();
    insta::assert_snapshot!(lines.join("\n"), @r"
日付が空です（例: 2026/4/1、2026年4月1日、令和8年4月1日、R8.4.1）
「hello」は日付として読めません（例: 2026/4/1、2026年4月1日、令和8年4月1日、R8.4.1）
「2026年2月30日」は存在しない日付です（2026年の2月は28日までです）
「2026/13/1」は存在しない日付です（13月はありません）
「2026/4/0」は存在しない日付です（0日はありません）
「平成0年1月1日」に平成0年はありません（平成は元年から始まります）
「平成123年1月1日」の平成123年は元号の年として長すぎます（2桁まで）
「26年4月1日」の年「26」は4桁の西暦でも元号付きの年でもありません（例: 2026年、令和8年）
「令和元年4月30日」は令和の初日（2019年5月1日）より前の日付です（2019年4月30日は「平成31年4月30日」）
「明治元年9月7日」は明治の初日（1868年9月8日）より前の日付です
「平成31年5月1日」は平成の最終日（2019年4月30日）より後の日付です。2019年5月1日として読みました（正しくは「令和元年5月1日」）
`平成31年5月1日` is after the last day of 平成 (Heisei, 2019-04-30); read as 2019-05-01, properly written `令和元年5月1日`
「昭和64年1月8日」は昭和の最終日（1989年1月7日）より後の日付です。1989年1月8日として読みました（正しくは「平成元年1月8日」）
`昭和64年1月8日` is after the last day of 昭和 (Showa, 1989-01-07); read as 1989-01-08, properly written `平成元年1月8日`
");
}

#[test]
fn format_wareki_writes_gannen_and_nothing_before_meiji() {
    assert_eq!(
        format_wareki(ymd(2019, 5, 1)).as_deref(),
        Some("令和元年5月1日")
    );
    assert_eq!(
        format_wareki(ymd(2026, 4, 1)).as_deref(),
        Some("令和8年4月1日")
    );
    assert_eq!(format_wareki(ymd(1868, 9, 7)), None);
}

const FRAGMENTS: &[&str] = &[
    "0",
    "1",
    "2",
    "9",
    "12",
    "31",
    "64",
    "2026",
    "0401",
    "20260401",
    "99999999999",
    "１",
    "２",
    "０",
    "年",
    "月",
    "日",
    "元",
    "令和",
    "平成",
    "昭和",
    "大正",
    "明治",
    "令",
    "平",
    "㋿",
    "㍻",
    "㍼",
    "㍽",
    "㍾",
    "M",
    "T",
    "S",
    "H",
    "R",
    "r",
    "x",
    "/",
    ".",
    "-",
    "－",
    "／",
    "．",
    ":",
    "：",
    " ",
    "\u{3000}",
    "\t",
    "T",
    "é",
    "\u{0301}",
    "😀",
];

fn assert_total(input: &str) -> Result<(), TestCaseError> {
    match parse_date(input) {
        Ok(p) => {
            if let Some(w) = p.warning {
                prop_assert!(!w.message_ja().is_empty() && !w.message_en().ends_with('.'));
            }
        }
        Err(e) => {
            let (ja, en) = (e.message_ja(), e.message_en());
            prop_assert!(!ja.is_empty() && !en.is_empty());
            prop_assert!(!en.ends_with('.') && !ja.ends_with('。'), "{en} / {ja}");
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        assert_total(&input)?;
    }

    #[test]
    fn date_like_strings_never_panic(
        parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..14)
    ) {
        assert_total(&parts.concat())?;
    }

    #[test]
    fn dates_1900_to_2100_round_trip(days in 0_i64..73_049) {
        let date = ymd(1900, 1, 1) + chrono::Days::new(days.unsigned_abs());
        let western = format!("{}/{}/{}", date.year(), date.month(), date.day());
        let parsed = parse_date(&western);
        prop_assert_eq!(parsed, Ok(western_date(date)));

        let wareki = format_wareki(date);
        prop_assert!(wareki.is_some());
        let wareki = wareki.unwrap_or_default();
        let parsed = parse_date(&wareki);
        prop_assert_eq!(
            parsed,
            Ok(ParsedDate { date, style: DateStyle::Wareki, warning: None }),
            "{}", wareki
        );
    }
}
