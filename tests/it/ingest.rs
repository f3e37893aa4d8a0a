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

/// The sample registrar export as Excel's 「Unicode テキスト」 writes it: UTF-16 with a BOM,
/// tab-separated, CRLF (fields with a tab, a quote or a line break quoted).
fn unicode_text(csv_cp932: &[u8], little_endian: bool) -> Vec<u8> {
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(csv_cp932);
    assert!(!bad, "the sample is CP932");
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut tsv = String::new();
    for record in rdr.records() {
        let record = record.unwrap_or_else(|e| unreachable!("sample CSV: {e}"));
        let fields: Vec<String> = record
            .iter()
            .map(|f| {
                if f.contains(['\t', '"', '\n', '\r']) {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.to_string()
                }
            })
            .collect();
        tsv.push_str(&fields.join("\t"));
        tsv.push_str("\r\n");
    }
    utf16(&tsv, little_endian, true)
}

fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + text.len() * 2);
    let units = bom
        .then_some(0xFEFF_u16)
        .into_iter()
        .chain(text.encode_utf16());
    for u in units {
        if little_endian {
            out.extend_from_slice(&u.to_le_bytes());
        } else {
            out.extend_from_slice(&u.to_be_bytes());
        }
    }
    out
}

#[test]
fn unicode_text_in_either_byte_order_reads_as_the_cp932_csv_does() {
    let csv = std::fs::read(crate::common::root().join("samples/registrar-2026-04-02.csv"))
        .unwrap_or_else(|e| unreachable!("sample: {e}"));
    let p = profiles();
    let from_csv = read_bytes(Path::new("registrar.csv"), csv.clone(), 0, &p);
    assert!(from_csv.accepted(), "{:?}", from_csv.diagnostics);
    for (le, label) in [(true, "UTF-16LE (BOM)"), (false, "UTF-16BE (BOM)")] {
        let got = read_bytes(Path::new("registrar.txt"), unicode_text(&csv, le), 0, &p);
        assert!(got.accepted(), "{label}: {:?}", got.diagnostics);
        assert_eq!(got.encoding.map(|e| e.label()), Some(label));
        assert_eq!(got.rows, from_csv.rows);
        assert_eq!(
            format!("{:?}", got.records),
            format!("{:?}", from_csv.records),
            "{label}: the same records, rows numbered alike"
        );
    }
}

#[test]
fn a_bad_utf16_unit_is_located_in_the_utf16_file() {
    let mut text = "学籍番号\t氏名\t氏名カナ\t所属\t身分\t在籍状態\r\n".to_string();
    text.push_str("01260001\t山田\u{FFFD}\tヤマダ\t工学部\t学部生\t在学\r\n");
    let got = read_bytes(Path::new("u.txt"), utf16(&text, true, true), 0, &profiles());
    assert!(!got.accepted());
    let d = &got.diagnostics[0];
    // Line 2; the BOM is not on it. 「01260001\t山田」 is 11 units, 22 bytes.
    assert_eq!(
        d.render("u.txt", None),
        "u.txt:2:23: エラー error: 2行目の23バイト目 (0xFD 0xFF) は UTF-16 の文字になりません（対になっていないサロゲート、U+FFFD、またはファイル末尾の欠けたバイト） / line 2, byte 23: 0xFD 0xFF is no UTF-16 character (an unpaired surrogate, U+FFFD, or a last byte missing)"
    );
}

#[test]
fn eucjp_and_utf16_without_a_bom_are_named_with_how_to_save_them_again() {
    let csv = std::fs::read(crate::common::root().join("samples/registrar-2026-04-02.csv"))
        .unwrap_or_else(|e| unreachable!("sample: {e}"));
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&csv);
    let (euc, _, _) = encoding_rs::EUC_JP.encode(&text);
    let cases = [
        (
            euc.into_owned(),
            "the file looks like EUC-JP, which is not read",
        ),
        (
            utf16(&text, true, false),
            "the file looks like UTF-16LE without a BOM",
        ),
        (
            utf16(&text, false, false),
            "the file looks like UTF-16BE without a BOM",
        ),
    ];
    for (bytes, expected) in cases {
        let got = read_bytes(Path::new("r.csv"), bytes, 0, &profiles());
        assert!(!got.accepted());
        let messages: Vec<String> = got.errors().map(|d| d.render("r.csv", None)).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains(expected) && m.contains("Save As")),
            "{expected}: {messages:#?}"
        );
        // Nothing about a header read from the misread text.
        assert!(
            messages.iter().all(|m| !m.contains("header")),
            "{expected}: {messages:#?}"
        );
    }
    // A CP932 file with one bad byte is broken, not another encoding.
    let mut broken = csv.clone();
    let at = broken.len() - 10;
    broken[at] = 0x80;
    let got = read_bytes(Path::new("r.csv"), broken, 0, &profiles());
    assert!(!got.accepted());
    assert!(
        got.errors().all(|d| !d.en.contains("looks like")),
        "{:?}",
        got.diagnostics
    );
}

/// An empty file and a workbook under a CSV name are named for what they are, not as bytes
/// that are neither CP932 nor UTF-8, nor as a missing header.
#[test]
fn an_empty_file_and_a_workbook_named_csv_are_said_to_be_so() {
    let xlsx = std::fs::read(crate::common::root().join("samples/registrar-2026-04-02.xlsx"))
        .unwrap_or_else(|e| unreachable!("sample: {e}"));
    let xls = {
        let mut b = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        b.extend([0u8; 504]);
        b
    };
    for (name, bytes, expected) in [
        ("r.csv", Vec::new(), "the file is empty (0 bytes)"),
        (
            "r.csv",
            xlsx.clone(),
            "the file is an Excel workbook (.xlsx or .xls)",
        ),
        ("r", xlsx, "the file is an Excel workbook (.xlsx or .xls)"),
        (
            "r.txt",
            xls,
            "the file is an Excel workbook (.xlsx or .xls)",
        ),
    ] {
        let got = read_bytes(Path::new(name), bytes, 0, &profiles());
        assert!(!got.accepted());
        let messages: Vec<String> = got.errors().map(|d| d.render(name, None)).collect();
        assert_eq!(messages.len(), 1, "{name}: {messages:#?}");
        assert!(messages[0].contains(expected), "{name}: {messages:#?}");
    }
}

#[test]
fn the_sample_saved_as_unicode_text_plans_byte_for_byte_as_the_cp932_csv() -> crate::common::Result
{
    use crate::common::{imported, ok, regsync, root, write};
    use sha2::Digest as _;
    let dir = imported(None, &[]);
    let csv_path = root().join("samples/registrar-2026-04-02.csv");
    let csv = std::fs::read(&csv_path)?;
    let txt = unicode_text(&csv, true);
    write(&dir.path().join("registrar-2026-04-02.txt"), &txt);
    let csv_arg = csv_path.to_string_lossy();
    let plan = ["plan", "--as-of", "2026-04-02", "--out"];
    ok(regsync(
        dir.path(),
        &[&plan[..], &["a", &csv_arg]].concat(),
        &[],
    )?)?;
    ok(regsync(
        dir.path(),
        &[&plan[..], &["b", "registrar-2026-04-02.txt"]].concat(),
        &[],
    )?)?;
    let a = std::fs::read_to_string(dir.path().join("a/plan.json"))?;
    let b = std::fs::read_to_string(dir.path().join("b/plan.json"))?;
    let hex = |bytes: &[u8]| -> String {
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    // The plans without their seals, which differ with the names and hashes in them.
    let unsealed = |s: &str| {
        s.split(",\n  \"seal\": ")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let a = unsealed(&a);
    let b = unsealed(&b)
        .replace("registrar-2026-04-02.txt", "registrar-2026-04-02.csv")
        .replace(&hex(&txt), &hex(&csv));
    assert!(a.len() > 10_000 && a.contains("\"depart\""), "a real plan");
    assert!(
        a == b,
        "the two plans differ beyond the file's name and hash"
    );

    // `check` labels it.
    let r = ok(regsync(
        dir.path(),
        &["check", "registrar-2026-04-02.txt"],
        &[],
    )?)?;
    assert!(
        r.stdout.contains("registrar   UTF-16LE (BOM)"),
        "{}",
        r.stdout
    );
    Ok(())
}

#[test]
fn check_names_eucjp() -> crate::common::Result {
    use crate::common::{regsync, root, tempdir, write};
    let dir = tempdir();
    let csv = std::fs::read(root().join("samples/registrar-2026-04-02.csv"))?;
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&csv);
    let (euc, _, _) = encoding_rs::EUC_JP.encode(&text);
    write(&dir.path().join("euc.csv"), &euc);
    let r = regsync(dir.path(), &["check", "euc.csv"], &[])?;
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("euc.csv: エラー error: このファイルの文字コードは EUC-JP のようです。"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("the file looks like EUC-JP"),
        "{}",
        r.stdout
    );
    // Not labelled as the CP932 it was tried as.
    assert!(!r.stdout.contains("CP932 (Windows-31J)"), "{}", r.stdout);
    Ok(())
}

/// The sample registrar export saved as `.xlsb` (Excel's binary workbook), as Excel would save
/// the CSV: 学籍番号 a number (its leading zero lost), ISO 入学年月日 date cells, the rest
/// text. It gives the same records as the CSV, row numbers included.
#[test]
fn csv_and_xlsb_samples_give_the_same_records() -> crate::common::Result {
    use regsync::testing::xlsb::{XlsbCell, workbook};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let csv_bytes = std::fs::read(root.join("samples/registrar-2026-04-02.csv"))?;
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&csv_bytes);
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).ok_or("epoch")?;
    let mut sheet = Vec::new();
    let mut admission = None;
    let records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .into_records();
    for (n, record) in (0u32..).zip(records) {
        let record = record?;
        if record.get(0) == Some("学籍番号") {
            admission = record.iter().position(|h| h == "入学年月日");
        }
        let mut cells = Vec::new();
        for (col, field) in (0u32..).zip(record.iter()) {
            let date = chrono::NaiveDate::parse_from_str(field, "%Y-%m-%d").ok();
            let cell = match (col, field.parse::<u32>(), date) {
                (_, _, _) if field.is_empty() => continue,
                (0, Ok(id), _) => XlsbCell::Number(f64::from(id)),
                (c, _, Some(d)) if Some(c as usize) == admission => {
                    XlsbCell::Date((d - epoch).num_days() as f64)
                }
                _ => XlsbCell::Text(field.to_string()),
            };
            cells.push((col, cell));
        }
        sheet.push((n, cells));
    }
    assert!(admission.is_some(), "the header names 入学年月日");
    let xlsb = workbook("在籍者", &sheet)?;
    let read = |name: &str, bytes: Vec<u8>| {
        let got = read_bytes(Path::new(name), bytes, 0, &profiles());
        match got.records {
            Some(Records::Registrar(rows)) => rows,
            _ => unreachable!("{name}: {:?}", got.diagnostics),
        }
    };
    let from_csv = read("registrar.csv", csv_bytes);
    let from_xlsb = read("registrar.xlsb", xlsb);
    assert_eq!(from_csv.len(), 203);
    assert_eq!(from_csv, from_xlsb);
    Ok(())
}
