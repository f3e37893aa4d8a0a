//! Hostile workbooks through the real binary under `ulimit -v 4194304` (4 GiB of address space):
//! a used range claimed out to XFD1048576, a cell on row 4,000,000,000, zip bombs (one that
//! declares the few hundred MB it expands to, one that declares 1 KB and expands all the same),
//! a shared strings table that claims four billion strings, an `.xls` cut short, and a CSV
//! line that never ends.
//! Each lies in the inbox beside a good export: it is rejected with a message and set aside,
//! nothing aborts, the good export is applied the same night and the next night runs as usual.
//! The workbooks are written here, by hand, as the zip and XML an `.xlsx` is.

use std::io::{Cursor, Write as _};
use std::path::Path;

use crate::common::{Result, imported, root, settle, write_settled};

/// The parts every workbook here shares; the sheet is `xl/worksheets/sheet1.xml`.
const PARTS: [(&str, &str); 4] = [
    (
        "[Content_Types].xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
    ),
    (
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    ),
    (
        "xl/workbook.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="在籍者" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    ),
    (
        "xl/_rels/workbook.xml.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
    ),
];

const SHEET: &str = "xl/worksheets/sheet1.xml";
const SHEET_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

/// A workbook whose sheet XML is `head`, then `body` written `times` times (deflated as it is
/// written, so a bomb never exists uncompressed), then `tail`; `extra` parts beside it.
fn workbook(
    head: &str,
    body: &str,
    times: usize,
    tail: &str,
    extra: &[(&str, &str)],
) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6));
    for &(name, text) in PARTS.iter().chain(extra) {
        zip.start_file(name, deflated)?;
        zip.write_all(text.as_bytes())?;
    }
    zip.start_file(SHEET, deflated)?;
    zip.write_all(SHEET_HEAD.as_bytes())?;
    zip.write_all(head.as_bytes())?;
    // Many copies per write keep the loop short.
    let block = body.repeat(4096);
    for _ in 0..times / 4096 {
        zip.write_all(block.as_bytes())?;
    }
    zip.write_all(body.repeat(times % 4096).as_bytes())?;
    zip.write_all(tail.as_bytes())?;
    Ok(zip.finish()?.into_inner())
}

/// A cell of inline text at `at`.
fn text_cell(at: &str, text: &str) -> String {
    format!(r#"<c r="{at}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// Cells at A1 and XFD1048576, and a used range declared over the whole grid: 550 GB when
/// allocated as a rectangle.
fn corner_cells() -> Result<Vec<u8>> {
    let head = format!(
        r#"<dimension ref="A1:XFD1048576"/><sheetData><row r="1">{}</row><row r="1048576">{}</row>"#,
        text_cell("A1", "学籍番号"),
        text_cell("XFD1048576", "x")
    );
    workbook(&head, "", 0, "</sheetData></worksheet>", &[])
}

/// A registrar header on row 1 and one cell on row 4,000,000,000, with no declared range.
fn four_billion_rows() -> Result<Vec<u8>> {
    let header: String = ["学籍番号", "氏名", "氏名カナ", "所属", "身分", "在籍状態"]
        .iter()
        .zip(["A1", "B1", "C1", "D1", "E1", "F1"])
        .map(|(t, at)| text_cell(at, t))
        .collect();
    let head = format!(
        r#"<sheetData><row r="1">{header}</row><row r="4000000000">{}</row>"#,
        text_cell("A4000000000", "12345678")
    );
    workbook(&head, "", 0, "</sheetData></worksheet>", &[])
}

/// A header cell from a shared strings table that declares 4,294,967,296 strings in a part of
/// two hundred bytes: calamine reserves room for as many as it declares (100 GB).
fn shared_strings_claim() -> Result<Vec<u8>> {
    let strings = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="4294967296"><si><t>学籍番号</t></si></sst>"#;
    workbook(
        r#"<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>"#,
        "",
        0,
        "</sheetData></worksheet>",
        &[("xl/sharedStrings.xml", strings)],
    )
}

/// The shipped `.xls` sample cut after 8 KiB, as a copy that stopped half-way leaves it: its
/// sectors chain past the end of the file.
fn cut_short_xls() -> Result<Vec<u8>> {
    let mut xls = std::fs::read(root().join("tests/data/xls/registrar-small.xls"))?;
    assert!(xls.len() > 8192);
    xls.truncate(8192);
    Ok(xls)
}

/// One row of the bomb: small, and the same every time, so it deflates to almost nothing.
const BOMB_ROW: &str =
    r#"<row><c t="inlineStr"><is><t>0000000000000000000000000000</t></is></c></row>"#;

/// How many rows the bombs hold: about 380 MB of sheet XML, in a file of under 4 MiB.
const BOMB_ROWS: usize = 5_000_000;

/// A zip bomb that declares what it expands to.
fn bomb() -> Result<Vec<u8>> {
    workbook(
        "<sheetData>",
        BOMB_ROW,
        BOMB_ROWS,
        "</sheetData></worksheet>",
        &[],
    )
}

/// The same bomb, with the sheet's declared size patched down to 1 KB in its local header and
/// in the central directory: only the reader's own count of what it expands can stop it.
fn lying_bomb() -> Result<Vec<u8>> {
    let mut bytes = bomb()?;
    let name = SHEET.as_bytes();
    let mut patched = 0;
    for at in 0..bytes.len().saturating_sub(46 + name.len()) {
        let (size_at, name_at) = match &bytes[at..at + 4] {
            b"PK\x03\x04" => (at + 22, at + 30),
            b"PK\x01\x02" => (at + 24, at + 46),
            _ => continue,
        };
        if bytes.get(name_at..name_at + name.len()) == Some(name) {
            bytes[size_at..size_at + 4].copy_from_slice(&1024u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(
        patched, 2,
        "the local header and the central directory entry"
    );
    Ok(bytes)
}

/// `regsync ARGS` in `dir` under `ulimit -v 4194304`: exit code (None when killed by a signal)
/// and everything it printed.
fn limited(dir: &Path, args: &str) -> Result<(Option<i32>, String)> {
    let bin = assert_cmd::cargo::cargo_bin("regsync");
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 4194304; exec '{}' {args}",
            bin.display()
        ))
        .current_dir(dir)
        .env("TZ", "America/Los_Angeles")
        .env_remove("REGSYNC_FAULT")
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Ok((o.status.code(), text))
}

/// One hostile workbook beside the good 2026-04-02 registrar export: the night rejects the
/// workbook with `message` and applies the export; the next night runs as usual.
fn night_beside_a_good_export(name: &str, workbook: &[u8], message: &str) -> Result {
    let dir = imported(Some("[policy]\nguard_share = 0.5\n"), &[]);
    let inbox = dir.path().join("inbox");
    write_settled(&inbox.join(name), workbook);
    let good = "registrar-2026-04-02.csv";
    std::fs::copy(root().join("samples").join(good), inbox.join(good))?;
    settle(&inbox.join(good));

    let (code, out) = limited(dir.path(), "run --as-of 2026-04-02")?;
    assert_eq!(code, Some(3), "{name}: rejected, not aborted\n{out}");
    assert!(out.contains("2 file(s) read, 1 rejected"), "{name}\n{out}");
    let report = std::fs::read_to_string(dir.path().join(format!("rejected/{name}.errors.txt")))?;
    assert!(report.contains(message), "{name}: {report}");
    assert!(!inbox.join(name).exists(), "{name} is set aside");
    // The good export was applied that night: archived, and its departures planned.
    let archived = dir.path().join("archive/2026-04-02-run2").join(good);
    assert!(archived.exists(), "{name}\n{out}");
    assert!(out.contains("depart 22"), "{name}\n{out}");

    let next = "registrar-2026-04-17.csv";
    std::fs::copy(root().join("samples").join(next), inbox.join(next))?;
    settle(&inbox.join(next));
    let (code, out) = limited(dir.path(), "run --as-of 2026-04-17")?;
    assert_eq!(code, Some(0), "{name}: the next night\n{out}");
    assert!(out.contains("1 file(s) read, 0 rejected"), "{name}\n{out}");
    Ok(())
}

#[test]
fn a_used_range_out_to_xfd1048576_is_rejected_beside_a_good_export() -> Result {
    night_beside_a_good_export(
        "corner.xlsx",
        &corner_cells()?,
        "corner.xlsx: エラー error: シートの使用範囲 A1:XFD1048576 が読み取りの上限",
    )
}

#[test]
fn a_cell_on_row_four_billion_is_rejected_beside_a_good_export() -> Result {
    night_beside_a_good_export(
        "rows.xlsx",
        &four_billion_rows()?,
        "rows.xlsx:在籍者!A4000000000(): エラー error: セルA4000000000は読み取りの上限（2000000行、GR列まで）の外にあります",
    )
}

#[test]
fn a_zip_bomb_is_rejected_beside_a_good_export() -> Result {
    let bomb = bomb()?;
    assert!(bomb.len() < 4 << 20, "{} bytes", bomb.len());
    night_beside_a_good_export(
        "bomb.xlsx",
        &bomb,
        "the workbook expands to 362 MiB, beyond the limit of 256 MiB",
    )
}

#[test]
fn a_zip_bomb_that_lies_about_its_size_is_rejected_beside_a_good_export() -> Result {
    night_beside_a_good_export(
        "liar.xlsx",
        &lying_bomb()?,
        "larger than its declared uncompressed size",
    )
}

#[test]
fn check_rejects_each_hostile_workbook_under_the_memory_limit() -> Result {
    let dir = crate::common::tempdir();
    for (name, bytes) in [
        ("corner.xlsx", corner_cells()?),
        ("rows.xlsx", four_billion_rows()?),
        ("liar.xlsx", lying_bomb()?),
        ("strings.xlsx", shared_strings_claim()?),
        ("cut.xls", cut_short_xls()?),
    ] {
        std::fs::write(dir.path().join(name), bytes)?;
    }
    let (code, out) = limited(
        dir.path(),
        "check corner.xlsx rows.xlsx liar.xlsx strings.xlsx cut.xls",
    )?;
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("0 accepted, 5 rejected"), "{out}");
    // calamine's panic is the file's error, and nothing else prints it.
    assert!(!out.contains("panicked"), "{out}");
    Ok(())
}

#[test]
fn a_shared_strings_table_claiming_four_billion_strings_is_rejected_beside_a_good_export() -> Result
{
    night_beside_a_good_export(
        "strings.xlsx",
        &shared_strings_claim()?,
        "the shared strings table declares 4294967296 strings, more than its",
    )
}

#[test]
fn an_xls_cut_short_is_rejected_beside_a_good_export() -> Result {
    night_beside_a_good_export(
        "cut.xls",
        &cut_short_xls()?,
        "the workbook is damaged or cut short (its structure cannot be followed)",
    )
}

/// A CSV export whose last row runs on for 70 MiB without a line break (as a file cut while
/// being written, or one made of a single line, would): refused at 64 MiB, never read whole.
#[test]
fn a_csv_line_without_its_end_is_rejected_beside_a_good_export() -> Result {
    let mut csv = std::fs::read(root().join("samples/registrar-2026-04-02.csv"))?;
    csv.extend(std::iter::repeat_n(b'1', 70 << 20));
    night_beside_a_good_export(
        "endless.csv",
        &csv,
        "MiB without the end of a record (a line break outside quotes)",
    )
}

#[test]
fn an_xls_declaring_four_billion_rows_is_rejected_beside_a_good_export() -> Result {
    // The shipped `.xls` sample with its sheet's DIMENSIONS record (`00 02 0E 00`, BIFF8: a
    // 32-bit row count) patched to declare 4,000,000,000 rows.
    let mut xls = std::fs::read(root().join("tests/data/xls/registrar-small.xls"))?;
    let at = xls
        .windows(4)
        .position(|w| w == [0x00, 0x02, 0x0E, 0x00])
        .ok_or("no DIMENSIONS record")?;
    xls[at + 8..at + 12].copy_from_slice(&4_000_000_000u32.to_le_bytes());
    night_beside_a_good_export(
        "dims.xls",
        &xls,
        "sheet 1 declares the used range A1:K4000000000, beyond the limits",
    )
}
