//! The records of an `.xlsb` worksheet, walked before calamine reads it.
//!
//! calamine's `.xlsb` sheet reader stops without an error in three places where a file is not
//! what Excel writes: at a row header past Excel's last row (1,048,576), at the first
//! end-of-sheet-data record, and it skips the short cell records (`BrtShort*`, the column left
//! out) that other programs than Excel write. A damaged or foreign file would then be read with
//! rows or cells missing and no word said, and a registrar export that lost rows departs the
//! students on them. So each worksheet part is walked here first, record by record as calamine
//! reads them, keeping no more than a row number: such a record, or a record cut short, rejects
//! the file, located.

use std::io::{BufReader, Read};

use crate::ingest::diag::{Diagnostic, Location};
use crate::ingest::profile::Limits;

/// Rows Excel can hold: a row header beyond this is not Excel's.
const EXCEL_ROWS: u32 = 1 << 20;

const ROW_HDR: u16 = 0x0000;
/// The cell records (`BrtCellBlank` .. `BrtFmlaError`) and the short forms after them
/// (`BrtShortBlank` .. `BrtShortIsst`).
const LAST_CELL: u16 = 0x000B;
const SHORT_CELLS: std::ops::RangeInclusive<u16> = 0x000C..=0x0012;
const BEGIN_SHEET_DATA: u16 = 0x0091;
const END_SHEET_DATA: u16 = 0x0092;

/// Whether the zip part `name` is a worksheet of an `.xlsb`.
pub(super) fn is_sheet(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("xl/worksheets/") && name.ends_with(".bin")
}

/// Walks one worksheet part, as the zip archive expands it.
pub(super) fn check_sheet(part: impl Read, limits: &Limits) -> Result<(), Diagnostic> {
    let mut records = Records::new(part);
    let mut ended = false;
    while let Some(typ) = records.typ().map_err(|_| cut_short())? {
        let len = records.len().map_err(|_| cut_short())?;
        if typ == ROW_HDR && len >= 4 {
            let row = records.u32()?;
            records.skip(len - 4)?;
            if row >= EXCEL_ROWS.min(limits.max_rows) {
                return Err(row_beyond(row, limits));
            }
        } else {
            records.skip(len)?;
        }
        if SHORT_CELLS.contains(&typ) {
            return Err(Diagnostic::error(
                Location::File,
                "セルがExcel以外のプログラムの短い形式で書かれていて読み取れません。Excelで開いて保存し直すか、CSVで出力してください",
                "the sheet stores cells in the short form other programs than Excel write, which cannot be read; open it in Excel and save it again, or export it as CSV",
            ));
        }
        if ended && (typ <= LAST_CELL || typ == BEGIN_SHEET_DATA) {
            return Err(Diagnostic::error(
                Location::File,
                "シートのデータの終わりの後にもセルがあります。ファイルが壊れています。Excelで開いて保存し直してください",
                "the sheet holds cells after the end of its data: the file is damaged; open it in Excel and save it again",
            ));
        }
        ended |= typ == END_SHEET_DATA;
    }
    Ok(())
}

/// A part's records as calamine frames them, read as a stream.
struct Records<R> {
    r: BufReader<R>,
    /// Bytes read so far: where the next record starts, between records.
    at: u64,
}

impl<R: Read> Records<R> {
    fn new(part: R) -> Self {
        Records {
            r: BufReader::new(part),
            at: 0,
        }
    }

    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        let mut b = [0u8];
        match self.r.read(&mut b)? {
            0 => Ok(None),
            _ => {
                self.at += 1;
                Ok(Some(b[0]))
            }
        }
    }

    fn u32(&mut self) -> Result<u32, Diagnostic> {
        let mut b = [0u8; 4];
        self.r.read_exact(&mut b).map_err(|_| cut_short())?;
        self.at += 4;
        Ok(u32::from_le_bytes(b))
    }

    /// The next record's type as calamine reads it (one byte, or two when the first has its
    /// high bit set), or `None` at the end of the part.
    fn typ(&mut self) -> std::io::Result<Option<u16>> {
        let Some(b) = self.byte()? else {
            return Ok(None);
        };
        if b & 0x80 == 0 {
            return Ok(Some(u16::from(b)));
        }
        let high = self.byte()?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
        Ok(Some(u16::from(b & 0x7F) | (u16::from(high & 0x7F) << 7)))
    }

    /// The record's length: up to four bytes of seven bits.
    fn len(&mut self) -> std::io::Result<u64> {
        let mut len = 0u64;
        for i in 0..4 {
            let b = self.byte()?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
            len |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                break;
            }
        }
        Ok(len)
    }

    fn skip(&mut self, n: u64) -> Result<(), Diagnostic> {
        let skipped = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())
            .map_err(|_| cut_short())?;
        self.at += skipped;
        if skipped < n {
            return Err(cut_short());
        }
        Ok(())
    }
}

fn cut_short() -> Diagnostic {
    Diagnostic::error(
        Location::File,
        "シートのデータが途中で切れています。Excelで開いて保存し直してください",
        "the sheet's data is cut short; open the workbook in Excel and save it again",
    )
}

fn row_beyond(row: u32, limits: &Limits) -> Diagnostic {
    let (n, max) = (u64::from(row) + 1, EXCEL_ROWS.min(limits.max_rows));
    Diagnostic::error(
        Location::Row {
            row: row.saturating_add(1),
        },
        format!("{n}行目は読み取りの上限（{max}行）の外にあります。ファイルが壊れています"),
        format!("row {n} is beyond the limit of {max} rows: the file is damaged"),
    )
}

#[cfg(test)]
#[expect(
    clippy::expect_used,
    reason = "the fixtures are built by the test itself"
)]
mod tests {
    use crate::ingest::Outcome;
    use crate::ingest::profile::Profiles;
    use crate::testing::xlsb::{parts, record, registrar, row_header, rt, zipped};

    /// Where each record of `part` starts, with its type, as the walk frames them (a test
    /// inserts records at these boundaries).
    fn record_starts(part: &[u8]) -> Vec<(usize, u16)> {
        let mut records = super::Records::new(part);
        let mut out = Vec::new();
        loop {
            let at = records.at as usize;
            let Ok(Some(typ)) = records.typ() else { break };
            out.push((at, typ));
            let len = records.len().expect("a record length");
            records.skip(len).expect("a whole record");
        }
        out
    }

    fn read(bytes: Vec<u8>) -> Outcome {
        let profiles = Profiles::builtin().expect("the built-in profiles load");
        super::super::read(bytes, 0, &profiles)
    }

    fn errors(out: &Outcome) -> Vec<String> {
        (out.diagnostics.iter())
            .map(|d| d.render("registrar.xlsb", out.sheet.as_deref()))
            .collect()
    }

    /// The workbook of [`registrar`]`(n)` with its sheet part replaced by `edit` of it.
    fn edited(n: u32, edit: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let mut parts = parts("在籍者", &registrar(n));
        let sheet = parts
            .iter_mut()
            .find(|p| p.0 == "xl/worksheets/sheet1.bin")
            .expect("the sheet part");
        sheet.1 = edit(&sheet.1);
        zipped(&parts).expect("zipped")
    }

    /// `sheet` with `extra` inserted just before its end-of-sheet-data record.
    fn before_end_of_data(sheet: &[u8], extra: &[u8]) -> Vec<u8> {
        let at = (record_starts(sheet).into_iter())
            .find(|r| r.1 == rt::END_SHEET_DATA)
            .expect("end of sheet data")
            .0;
        [&sheet[..at], extra, &sheet[at..]].concat()
    }

    #[test]
    fn an_xlsb_export_is_read_like_any_workbook() {
        let out = read(crate::testing::xlsb::workbook("在籍者", &registrar(5)).expect("xlsb"));
        assert!(errors(&out).is_empty(), "{:?}", errors(&out));
        assert_eq!(out.rows, 5);
        let Some(crate::domain::model::Records::Registrar(rows)) =
            out.mapped.map(|m| m.into_records())
        else {
            unreachable!("registrar rows")
        };
        assert_eq!(
            rows[0].student_no.as_str(),
            "01230000",
            "the width restored"
        );
        assert_eq!(rows[4].at.row, 8, "sheet row numbers");
        assert_eq!(
            rows[0].admission_date,
            chrono::NaiveDate::from_ymd_opt(2023, 4, 1)
        );
    }

    /// What calamine would read with rows or cells missing and no error is rejected, located (the
    /// first three cases are read without an error and with rows or cells lost without the walk);
    /// a sheet cut inside a record is rejected saying so.
    #[test]
    fn where_the_reader_would_stop_early_the_file_is_rejected() {
        let mut beyond_excel = Vec::new();
        // calamine ends the sheet at a row number above 1,048,576 (0-based).
        record(&mut beyond_excel, rt::ROW_HDR, &row_header((1 << 20) + 1));
        let mut short_cell = Vec::new();
        record(&mut short_cell, 0x0012, &[0, 0, 0, 0, 1, 0, 0, 0]);
        let mut data_again = Vec::new();
        record(&mut data_again, rt::END_SHEET_DATA, &[]);
        record(&mut data_again, rt::ROW_HDR, &row_header(40));
        let cases: [(&str, Vec<u8>, &str); 4] = [
            (
                "a row header past Excel's last row, amid the rows",
                edited(6, |s| {
                    // Before the row header of the fourth student.
                    let at = (record_starts(s).into_iter())
                        .filter(|r| r.1 == rt::ROW_HDR)
                        .nth(5)
                        .expect("a row header")
                        .0;
                    [&s[..at], &beyond_excel, &s[at..]].concat()
                }),
                "1048578行目は読み取りの上限（1048576行）の外にあります",
            ),
            (
                "a short cell record",
                edited(3, |s| before_end_of_data(s, &short_cell)),
                "短い形式",
            ),
            (
                "cells after the end of the sheet data",
                edited(3, |s| before_end_of_data(s, &data_again)),
                "シートのデータの終わりの後にもセルがあります",
            ),
            (
                "the sheet cut inside a record",
                edited(3, |s| s[..s.len() - 12].to_vec()),
                "途中で切れています",
            ),
        ];
        for (what, bytes, message) in cases {
            let out = read(bytes);
            assert!(out.mapped.is_none(), "{what}: read");
            let errors = errors(&out);
            assert!(
                errors.iter().any(|e| e.contains(message)),
                "{what}: {errors:?}"
            );
        }
    }

    /// The walker agrees with calamine on where records are: an undamaged sheet passes whole,
    /// at every size the length bytes take (one, two and three bytes).
    #[test]
    fn an_undamaged_sheet_passes_the_walk() {
        let limits = crate::ingest::profile::Limits::default();
        for cells in [0usize, 40, 20_000] {
            let mut sheet = Vec::new();
            record(&mut sheet, rt::BEGIN_SHEET_DATA, &[]);
            record(&mut sheet, rt::ROW_HDR, &row_header(3));
            // One text cell whose record is `cells` bytes long.
            record(&mut sheet, 0x0006, &vec![0u8; cells]);
            record(&mut sheet, rt::END_SHEET_DATA, &[]);
            record(&mut sheet, rt::END_SHEET, &[]);
            assert_eq!(super::check_sheet(&sheet[..], &limits), Ok(()), "{cells}");
        }
    }
}
