use super::*;

fn profiles() -> Profiles {
    match Profiles::builtin() {
        Ok(p) => p,
        Err(e) => unreachable!("builtin profile: {e}"),
    }
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

#[test]
fn header_found_below_title_rows_and_kind_recognised() {
    let p = profiles();
    let rows = vec![
        row(&["令和8年度 在籍者一覧", "", ""]),
        row(&["", "", ""]),
        row(&[
            "学籍番号",
            "氏名",
            "氏名カナ",
            "所属",
            "身分",
            "在籍状態",
            "",
            "",
        ]),
    ];
    let h = find_header(&rows, 1, &p).map_err(|d| d.en);
    let h = h.as_ref().map(|h| (h.index, h.kind()));
    assert_eq!(h, Ok((2, Kind::Registrar)));
}

#[test]
fn the_export_date_is_read_after_its_label_in_the_title_rows() {
    let p = profiles();
    let header = row(&["学籍番号", "氏名", "氏名カナ", "所属", "身分", "在籍状態"]);
    let cases: [(&[&str], Option<&str>); 6] = [
        (&["出力日: 2026/04/02", ""], Some("2026-04-02")),
        (&["出力日：令和8年4月17日"], Some("2026-04-17")),
        (&["出 力 日", "", "R8.4.3"], Some("2026-04-03")),
        (&["出力日", "未定"], None),
        (&["作成者: 教務部"], None),
        (&["出力日: 2026/02/30"], None),
    ];
    for (title, want) in cases {
        let rows = vec![row(&["令和8年度 在籍者一覧"]), row(title), header.clone()];
        let h = find_header(&rows, 1, &p).map_err(|d| d.en);
        let got = h.map(|h| h.exported_on.map(|d| d.to_string()));
        assert_eq!(got, Ok(want.map(String::from)), "{title:?}");
    }
}

#[test]
fn header_matches_full_width_and_spaced_variants() {
    let p = profiles();
    let rows = vec![row(&["ＥＣＳ－ＩＤ", "有効化 日"])];
    assert_eq!(
        find_header(&rows, 1, &p)
            .map(|h| h.kind())
            .map_err(|d| d.en),
        Ok(Kind::Activations)
    );
}

#[test]
fn missing_required_column_is_named() {
    let p = profiles();
    let rows = vec![row(&["学籍番号", "氏名", "氏名カナ", "所属", "在籍状態"])];
    let err = find_header(&rows, 1, &p).err().map(|d| (d.location, d.ja));
    assert_eq!(
        err,
        Some((
            Location::Row { row: 1 },
            "在籍者エクスポートの見出し行に必須の列「身分」がありません".to_string()
        ))
    );
}

#[test]
fn quick_trim_agrees_with_trim_cell() {
    for s in [
        "",
        " ",
        "a",
        " a",
        "a ",
        "\u{3000}a\u{3000}",
        "\u{A0}a\u{A0}",
        "山田",
        "山田\u{3000}",
        "\u{3000}",
        "\t1\r",
        "ー",
        "\u{3042}\u{3000}x",
        "x\u{3000}\u{3042}",
        "\u{3080}",
    ] {
        assert_eq!(trim(s), trim_cell(s), "{s:?}");
    }
}

#[test]
fn excel_serials_and_yyyymmdd_numbers_are_dates() {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    for (n, date1904, want) in [
        (46113.0, false, day(2026, 4, 1)),
        (61.0, false, day(1900, 3, 1)),
        (2_958_465.0, false, day(9999, 12, 31)),
        // A workbook saved in the 1904 date system counts 1462 days fewer.
        (44651.0, true, day(2026, 4, 1)),
        (0.0, true, day(1904, 1, 1)),
        (2_957_003.0, true, day(9999, 12, 31)),
        (2_957_004.0, true, None),
        (20260401.0, false, day(2026, 4, 1)),
        (20260401.0, true, day(2026, 4, 1)),
        // A date and time that lost its format: the date.
        (46113.75, false, day(2026, 4, 1)),
        (44651.999, true, day(2026, 4, 1)),
        (1.5, false, day(1900, 1, 1)),
        (0.5, false, None),
        (20260401.5, false, None),
        (-1.0, false, None),
        (f64::NAN, false, None),
        (0.0, false, None),
    ] {
        assert_eq!(
            super::serial::excel_number_date(n, date1904),
            want,
            "{n} 1904={date1904}"
        );
    }
}

/// A text cell holding a control character (other than a line break or a tab, which an Excel
/// cell can hold) or a bidirectional override is an error at the cell, quoting it escaped; the
/// row is held out and the value never reaches the plan.
#[test]
fn control_characters_in_a_text_cell_are_an_error_at_the_cell() {
    let header = "学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\n";
    let cases: [(&str, Option<&str>); 8] = [
        ("山田 太郎", None),
        ("\"山田\t太郎\"", None),
        ("\"山田\n太郎\"", None),
        (
            "山田\u{1b}]0;x\u{7}太郎",
            Some("「山田\\u{1b}]0;x\\u{7}太郎」に制御文字（U+001B, U+0007）"),
        ),
        ("山田\u{0}太郎", Some("（U+0000）")),
        ("山田\u{7f}太郎", Some("（U+007F）")),
        ("山田\u{85}太郎", Some("（U+0085）")),
        (
            "\u{202e}郎太田山",
            Some("「\\u{202e}郎太田山」に制御文字（U+202E）"),
        ),
    ];
    let p = profiles();
    for (name, expected) in cases {
        let text = format!(
            "{header}01260011,0001212709,,{name},ヤマダ タロウ,2007-11-18,文学部,学部生,在学,2026-04-01,\n\
             01260012,0001212710,,鈴木 花子,スズキ ハナコ,2007-05-02,文学部,学部生,在学,2026-04-01,\n"
        );
        let read =
            crate::ingest::read_bytes(std::path::Path::new("r.csv"), text.into_bytes(), 0, &p);
        let errors: Vec<String> = read.errors().map(|d| d.render("r.csv", None)).collect();
        match expected {
            None => assert!(errors.is_empty(), "{name:?}: {errors:?}"),
            Some(part) => {
                assert_eq!(errors.len(), 1, "{name:?}: {errors:?}");
                assert!(errors[0].starts_with("r.csv:2:4(氏名): "), "{}", errors[0]);
                assert!(errors[0].contains(part), "{}", errors[0]);
                assert!(
                    !errors[0].chars().any(|c| c.is_control()),
                    "{:?}",
                    errors[0]
                );
                assert_eq!(Diagnostic::rows_held(&read.diagnostics), 1);
            }
        }
    }
}

/// A line break or a tab typed into a name or faculty cell (Alt+Enter in Excel, CRLF in the
/// CSV it writes) reads as one space: a name is one line wherever it is shown. Full-width
/// spaces stay.
#[test]
fn line_breaks_and_tabs_in_a_text_cell_read_as_one_space() {
    let header = "学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\n";
    let text = format!(
        "{header}01260011,0001212709,,\"山田\r\n太郎\",\"ヤマダ\tタロウ\",2007-11-18,\"工学部 \n情報工学科\",学部生,在学,2026-04-01,\n\
         01260012,0001212710,,鈴木　花子,スズキ ハナコ,2007-05-02,文学部,学部生,在学,2026-04-01,\n"
    );
    let read = crate::ingest::read_bytes(
        std::path::Path::new("r.csv"),
        text.into_bytes(),
        0,
        &profiles(),
    );
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    let Some(crate::domain::model::Records::Registrar(rows)) = read.records else {
        unreachable!("a registrar export: {:?}", read.records)
    };
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.name_kana.as_str(), r.faculty.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("山田 太郎", "ヤマダ タロウ", "工学部 情報工学科"),
            ("鈴木　花子", "スズキ ハナコ", "文学部"),
        ]
    );
}
