//! Ingest through the library: CP932 extension characters, Excel-isms and width restoration.

use std::path::Path;

use regsync::domain::model::{Enrollment, Records, Status};
use regsync::ingest::profile::Profiles;
use regsync::ingest::read_bytes;

fn profiles() -> Profiles {
    Profiles::builtin().unwrap_or_else(|e| unreachable!("builtin profile: {e}"))
}

fn cp932(s: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(s);
    assert!(!unmappable, "test text must be CP932");
    bytes.into_owned()
}

#[test]
fn cp932_extension_characters_round_trip_into_records() {
    let names = [
        "①㈱",
        "髙橋　太郎",
        "山﨑　花子",
        "德永　健一",
        "\u{FA10}本　遥",
    ];
    let mut text =
        String::from("令和8年度 在籍者一覧,,,\r\n学籍番号,氏名,氏名カナ,所属,身分,在籍状態,,\r\n");
    for (i, n) in names.iter().enumerate() {
        text.push_str(&format!("0126000{i},{n},ﾀｶﾊｼ ﾀﾛｳ,工学部,学部生,在学,,\r\n"));
    }
    let got = read_bytes(Path::new("x.csv"), cp932(&text), 0, &profiles());
    let Some(Records::Registrar(rows)) = got.records else {
        unreachable!("rejected: {:?}", got.diagnostics)
    };
    let read: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(read, names);
    assert!(rows.iter().all(|r| !r.name.contains('\u{FFFD}')));
    // Row numbers are spreadsheet rows: title row 1, header row 2, data from row 3.
    assert_eq!(
        rows.iter().map(|r| r.at.row).collect::<Vec<_>>(),
        vec![3, 4, 5, 6, 7]
    );
}

#[test]
fn quoted_line_breaks_keep_spreadsheet_row_numbers() {
    let text = "学籍番号,氏名,氏名カナ,所属,身分,在籍状態\r\n\
                00000001,\"山田\r\n太郎\",ヤマダ,\"工学部,機械\",学部生,在学\r\n\
                00000002,鈴木,スズキ,文学部,学部生,停学\r\n";
    let got = read_bytes(Path::new("x.csv"), cp932(text), 0, &profiles());
    let err = got.errors().next().map(|d| d.render("x.csv", None));
    assert_eq!(
        err.as_deref()
            .map(|s| s.split(": エラー").next().unwrap_or("")),
        Some("x.csv:3:6(在籍状態)"),
        "the second record is on spreadsheet row 3 although it starts on line 4"
    );
}

#[test]
fn excel_ids_regain_their_leading_zeros_and_dates_come_out_right() {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/registrar-2026-04-02.xlsx"),
    )
    .unwrap_or_default();
    let got = read_bytes(Path::new("registrar.xlsx"), bytes, 0, &profiles());
    let Some(Records::Registrar(rows)) = got.records else {
        unreachable!("rejected: {:?}", got.diagnostics)
    };
    assert!(
        rows.iter().all(|r| r.student_no.as_str().len() == 8),
        "widths restored"
    );
    assert!(rows.iter().any(|r| r.student_no.as_str().starts_with('0')));
    assert!(
        rows.iter()
            .any(|r| r.status == Status::ResearchStudent && r.enrollment == Enrollment::Enrolled)
    );
    assert!(rows.iter().all(|r| r.birth_date.is_some()));
}

#[test]
fn csv_and_xlsx_samples_give_the_same_records() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |name: &str| {
        let bytes = std::fs::read(root.join(name)).unwrap_or_default();
        match read_bytes(Path::new(name), bytes, 0, &profiles()).records {
            Some(Records::Registrar(rows)) => rows
                .into_iter()
                .map(|r| {
                    (
                        r.student_no,
                        r.name,
                        r.name_kana,
                        r.status,
                        r.enrollment,
                        r.birth_date,
                        r.change_date,
                    )
                })
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        }
    };
    let csv = read("samples/registrar-2026-04-02.csv");
    assert!(!csv.is_empty());
    assert_eq!(csv, read("samples/registrar-2026-04-02.xlsx"));
}
