//! Excel workbooks (.xlsx, .xlsm, .xls) through calamine: date cells, text dates, numeric IDs
//! that lost their leading zeros, formulas (their cached values) and title rows.
//!
//! The sheet named by a profile is read when the workbook has it; otherwise the first sheet.

use std::io::Cursor;

use calamine::{CellErrorType, Data, Reader, open_workbook_auto_from_rs};
use rayon::prelude::*;

use crate::ingest::Outcome;
use crate::ingest::diag::{Diagnostic, Location};
use crate::ingest::map::{Cell, HEADER_SEARCH_ROWS, Mapped, Mapper, find_header};
use crate::ingest::profile::Profiles;

pub(crate) fn read(bytes: Vec<u8>, file: u32, profiles: &Profiles) -> Outcome {
    let mut out = Outcome::default();
    let mut book = match open_workbook_auto_from_rs(Cursor::new(bytes)) {
        Ok(b) => b,
        Err(e) => {
            out.diagnostics.push(Diagnostic::error(
                Location::File,
                format!("Excelファイルとして開けません（{e}）"),
                format!("cannot open as an Excel workbook: {e}"),
            ));
            return out;
        }
    };
    let names = book.sheet_names();
    let sheet = profiles
        .files
        .iter()
        .filter_map(|p| p.sheet.as_deref())
        .find(|s| names.iter().any(|n| n == s))
        .map(str::to_string)
        .or_else(|| names.first().cloned());
    let Some(sheet) = sheet else {
        out.diagnostics.push(Diagnostic::error(
            Location::File,
            "シートがありません",
            "the workbook has no sheet",
        ));
        return out;
    };
    out.sheet = Some(sheet.clone());
    let range = match book.worksheet_range(&sheet) {
        Ok(r) => r,
        Err(e) => {
            out.diagnostics.push(Diagnostic::error(
                Location::File,
                format!("シート「{sheet}」を読めません（{e}）"),
                format!("cannot read sheet `{sheet}`: {e}"),
            ));
            return out;
        }
    };
    // Row and column numbers are the sheet's, wherever the used range starts.
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let first_row_no = row0 + 1;
    let lead = col0 as usize;
    let rows: Vec<&[Data]> = range.rows().collect();
    let head: Vec<Vec<String>> = rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .map(|r| {
            let mut v = vec![String::new(); lead];
            v.extend(r.iter().map(header_text));
            v
        })
        .collect();
    let header = match find_header(&head, first_row_no, profiles) {
        Ok(h) => h,
        Err(d) => {
            out.diagnostics.push(d);
            return out;
        }
    };
    out.kind = Some(header.kind());
    out.header_row = Some(first_row_no + header.index as u32);
    let mapper = Mapper::new(&header);
    let body = &rows[header.index + 1..];
    let base = first_row_no + header.index as u32 + 1;
    let parts: Vec<(Mapped, Vec<Diagnostic>, usize)> = body
        .par_chunks(4096)
        .enumerate()
        .map(|(i, chunk)| {
            let mut mapped = Mapped::new(header.kind());
            let mut diags = Vec::new();
            let mut n = 0;
            let mut cells: Vec<Cell<'_>> = Vec::with_capacity(lead + 32);
            for (j, r) in chunk.iter().enumerate() {
                cells.clear();
                cells.resize(lead, Cell::Empty);
                cells.extend(r.iter().map(cell));
                let row = base + (i * 4096 + j) as u32;
                if mapper.map_row(file, row, &cells, &mut mapped, &mut diags) {
                    n += 1;
                }
            }
            (mapped, diags, n)
        })
        .collect();
    let mut mapped = Mapped::new(header.kind());
    for (m, d, n) in parts {
        mapped.append(m);
        out.diagnostics.extend(d);
        out.rows += n;
    }
    out.mapped = Some(mapped);
    out
}

fn header_text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn cell(d: &Data) -> Cell<'_> {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s),
        Data::Float(f) => Cell::Number(*f),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Bool(true) => Cell::Text("TRUE"),
        Data::Bool(false) => Cell::Text("FALSE"),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) => Cell::Date(t.date()),
            None => Cell::Number(dt.as_f64()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s),
        Data::Error(e) => Cell::Error(match e {
            CellErrorType::Div0 => "#DIV/0!",
            CellErrorType::NA => "#N/A",
            CellErrorType::Name => "#NAME?",
            CellErrorType::Null => "#NULL!",
            CellErrorType::Num => "#NUM!",
            CellErrorType::Ref => "#REF!",
            CellErrorType::Value => "#VALUE!",
            CellErrorType::GettingData => "#GETTING_DATA",
        }),
    }
}
