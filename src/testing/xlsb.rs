//! A small `.xlsb` writer (Excel's binary workbook, MS-XLSB) for the tests: one worksheet of
//! text, number and date cells, the text through a shared strings table as Excel writes it. No
//! crate writes `.xlsb` and no Debian tool exports it, so the fixtures are made here.
//!
//! A part is a sequence of records: the record type (7 bits a byte, at most two bytes), the
//! body's length (7 bits a byte, at most four), the body. [`record`] writes one, so a test can
//! also write the records a damaged or hostile file holds.

use std::io::{Cursor, Write as _};

use crate::testing::REGISTRAR_HEADER;

/// One cell of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum XlsbCell {
    /// Text, stored once in the shared strings table (`BrtCellIsst`).
    Text(String),
    /// A number in General format (`BrtCellReal`): an ID Excel turned into a number.
    Number(f64),
    /// A date as Excel stores it: the serial day (1 is 1900-01-01) with the date format
    /// `m/d/yyyy` (built-in format 14).
    Date(f64),
}

/// A sheet's rows: each its 0-based row number and its cells by 0-based column.
pub type XlsbRows = [(u32, Vec<(u32, XlsbCell)>)];

/// Record types used here (MS-XLSB 2.3).
pub mod rt {
    pub const ROW_HDR: u16 = 0x0000;
    pub const CELL_REAL: u16 = 0x0005;
    pub const CELL_ISST: u16 = 0x0007;
    pub const SST_ITEM: u16 = 0x0013;
    pub const XF: u16 = 0x002F;
    pub const BEGIN_SHEET: u16 = 0x0081;
    pub const END_SHEET: u16 = 0x0082;
    pub const BEGIN_BOOK: u16 = 0x0083;
    pub const END_BOOK: u16 = 0x0084;
    pub const BEGIN_BUNDLE_SHS: u16 = 0x008F;
    pub const END_BUNDLE_SHS: u16 = 0x0090;
    pub const BEGIN_SHEET_DATA: u16 = 0x0091;
    pub const END_SHEET_DATA: u16 = 0x0092;
    pub const WS_DIM: u16 = 0x0094;
    pub const WB_PROP: u16 = 0x0099;
    pub const BUNDLE_SH: u16 = 0x009C;
    pub const BEGIN_SST: u16 = 0x009F;
    pub const END_SST: u16 = 0x00A0;
    pub const BEGIN_CELL_XFS: u16 = 0x0269;
    pub const END_CELL_XFS: u16 = 0x026A;
}

/// Appends one record: its type, its length and `body`.
pub fn record(out: &mut Vec<u8>, typ: u16, body: &[u8]) {
    if typ < 0x80 {
        out.push(typ as u8);
    } else {
        out.push((typ & 0x7F) as u8 | 0x80);
        out.push((typ >> 7) as u8);
    }
    let mut len = body.len();
    loop {
        let low = (len & 0x7F) as u8;
        len >>= 7;
        if len == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(body);
}

/// An `XLWideString`: the count of UTF-16 units, then the units, little-endian.
fn wide(s: &str) -> Vec<u8> {
    let units: Vec<u16> = s.encode_utf16().collect();
    let mut out = (units.len() as u32).to_le_bytes().to_vec();
    units
        .iter()
        .for_each(|u| out.extend_from_slice(&u.to_le_bytes()));
    out
}

/// The start of a cell record: its column and its style (an index into the cell formats).
fn cell_head(col: u32, style: u32) -> Vec<u8> {
    let mut out = col.to_le_bytes().to_vec();
    out.extend_from_slice(&(style & 0x00FF_FFFF).to_le_bytes());
    out
}

/// A row header (`BrtRowHdr`) for 0-based row `row`: default height, no column spans.
pub fn row_header(row: u32) -> Vec<u8> {
    let mut body = row.to_le_bytes().to_vec();
    body.extend_from_slice(&0u32.to_le_bytes()); // ixfe
    body.extend_from_slice(&300u16.to_le_bytes()); // miyRw: 15 pt
    body.extend_from_slice(&[0, 0, 0]); // flags
    body.extend_from_slice(&0u32.to_le_bytes()); // ccolspan
    body
}

/// The worksheet part for `rows` (their text through `strings`), its used range declared as
/// the cells span.
pub fn sheet_part(rows: &XlsbRows, strings: &mut Vec<String>) -> Vec<u8> {
    let mut out = Vec::new();
    record(&mut out, rt::BEGIN_SHEET, &[]);
    let last_row = rows.iter().map(|r| r.0).max().unwrap_or(0);
    let last_col = (rows.iter().flat_map(|r| r.1.iter().map(|c| c.0)))
        .max()
        .unwrap_or(0);
    let first_row = rows.iter().map(|r| r.0).min().unwrap_or(0);
    let mut dim = Vec::new();
    for v in [first_row, last_row, 0, last_col] {
        dim.extend_from_slice(&v.to_le_bytes());
    }
    record(&mut out, rt::WS_DIM, &dim);
    record(&mut out, rt::BEGIN_SHEET_DATA, &[]);
    for (row, cells) in rows {
        record(&mut out, rt::ROW_HDR, &row_header(*row));
        for (col, cell) in cells {
            match cell {
                XlsbCell::Text(s) => {
                    let i = strings.iter().position(|t| t == s).unwrap_or_else(|| {
                        strings.push(s.clone());
                        strings.len() - 1
                    });
                    let mut body = cell_head(*col, 0);
                    body.extend_from_slice(&(i as u32).to_le_bytes());
                    record(&mut out, rt::CELL_ISST, &body);
                }
                XlsbCell::Number(v) | XlsbCell::Date(v) => {
                    let style = u32::from(matches!(cell, XlsbCell::Date(_)));
                    let mut body = cell_head(*col, style);
                    body.extend_from_slice(&v.to_le_bytes());
                    record(&mut out, rt::CELL_REAL, &body);
                }
            }
        }
    }
    record(&mut out, rt::END_SHEET_DATA, &[]);
    record(&mut out, rt::END_SHEET, &[]);
    out
}

/// The shared strings part.
pub fn strings_part(strings: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    let n = (strings.len() as u32).to_le_bytes();
    record(&mut out, rt::BEGIN_SST, &[n, n].concat());
    for s in strings {
        let mut body = vec![0u8]; // no rich text, no phonetic run
        body.extend_from_slice(&wide(s));
        record(&mut out, rt::SST_ITEM, &body);
    }
    record(&mut out, rt::END_SST, &[]);
    out
}

/// The styles part: two cell formats, General (0) and the date `m/d/yyyy` (1).
fn styles_part() -> Vec<u8> {
    let mut out = Vec::new();
    record(&mut out, rt::BEGIN_CELL_XFS, &2u32.to_le_bytes());
    for format in [0u16, 14] {
        let mut xf = 0xFFFFu16.to_le_bytes().to_vec(); // no parent style
        xf.extend_from_slice(&format.to_le_bytes());
        xf.extend_from_slice(&[0; 12]); // font, fill, border, alignment: the defaults
        record(&mut out, rt::XF, &xf);
    }
    record(&mut out, rt::END_CELL_XFS, &[]);
    out
}

/// The workbook part: one visible sheet named `sheet`, relationship `rId1`.
fn workbook_part(sheet: &str) -> Vec<u8> {
    let mut out = Vec::new();
    record(&mut out, rt::BEGIN_BOOK, &[]);
    let mut prop = 0u32.to_le_bytes().to_vec(); // not the 1904 date system
    prop.extend_from_slice(&0u32.to_le_bytes());
    prop.extend_from_slice(&wide(""));
    record(&mut out, rt::WB_PROP, &prop);
    record(&mut out, rt::BEGIN_BUNDLE_SHS, &[]);
    let mut sh = 0u32.to_le_bytes().to_vec(); // visible
    sh.extend_from_slice(&1u32.to_le_bytes()); // tab id
    sh.extend_from_slice(&wide("rId1"));
    sh.extend_from_slice(&wide(sheet));
    record(&mut out, rt::BUNDLE_SH, &sh);
    record(&mut out, rt::END_BUNDLE_SHS, &[]);
    record(&mut out, rt::END_BOOK, &[]);
    out
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName="/xl/worksheets/sheet1.bin" ContentType="application/vnd.ms-excel.worksheet"/><Override PartName="/xl/styles.bin" ContentType="application/vnd.ms-excel.styles"/><Override PartName="/xl/sharedStrings.bin" ContentType="application/vnd.ms-excel.sharedStrings"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.bin"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.bin"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.bin"/></Relationships>"#;

fn text(s: &str) -> XlsbCell {
    XlsbCell::Text(s.into())
}

/// A registrar export of `n` students as Excel saves it: a title row, the header, and per
/// student 学籍番号 as a number (its leading zero lost) and 入学年月日 as a date cell.
pub fn registrar(n: u32) -> Vec<(u32, Vec<(u32, XlsbCell)>)> {
    let mut rows = vec![
        (0, vec![(0, text("令和8年度 在籍者一覧"))]),
        (2, (0..).zip(REGISTRAR_HEADER.map(text)).collect()),
    ];
    for k in 0..n {
        // No ECS-ID (column 2) nor 異動年月日 (column 10), as for a new student.
        let cells = vec![
            (0, XlsbCell::Number(f64::from(1_230_000 + k))),
            (1, text(&format!("{:010}", 1_000_000 + k))),
            (3, text("鈴木　悠真")),
            (4, text("スズキ　ユウマ")),
            (5, text("H16.11.10")),
            (6, text("文学部")),
            (7, text("学部生")),
            (8, text("在学")),
            // 2023-04-01.
            (9, XlsbCell::Date(45017.0)),
        ];
        rows.push((3 + k, cells));
    }
    rows
}

/// The parts (zip entries) of a workbook whose one sheet, `sheet`, holds `rows`.
pub fn parts(sheet: &str, rows: &XlsbRows) -> Vec<(String, Vec<u8>)> {
    let mut strings = Vec::new();
    let sheet_bin = sheet_part(rows, &mut strings);
    vec![
        ("[Content_Types].xml".into(), CONTENT_TYPES.into()),
        ("_rels/.rels".into(), ROOT_RELS.into()),
        ("xl/workbook.bin".into(), workbook_part(sheet)),
        ("xl/_rels/workbook.bin.rels".into(), WORKBOOK_RELS.into()),
        ("xl/worksheets/sheet1.bin".into(), sheet_bin),
        ("xl/styles.bin".into(), styles_part()),
        ("xl/sharedStrings.bin".into(), strings_part(&strings)),
    ]
}

/// The parts zipped into a file (any workbook's: the fuzz tests rezip damaged `.xlsx` parts
/// with it too).
pub fn zipped(parts: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, data) in parts {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(data)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// A workbook whose one sheet, `sheet`, holds `rows`.
pub fn workbook(sheet: &str, rows: &XlsbRows) -> std::io::Result<Vec<u8>> {
    zipped(&parts(sheet, rows))
}
