//! The bounds of an `.xls` (BIFF5/BIFF8 in a compound file), checked before calamine opens it.
//!
//! Calamine parses every sheet of an `.xls` as it opens the file: it reserves room for the
//! used range each sheet's DIMENSIONS record declares (a 32-bit row count in BIFF8, so a few
//! bytes can ask for terabytes) and then lays out the cells it found over their bounding box.
//! So the workbook stream is walked here first, record by record, without allocating more than
//! the stream itself: a declared range or a cell beyond the limits, or sheets whose ranges
//! together would need more memory than `max_uncompressed` allows, reject the file.

use calamine::Data;

use crate::ingest::diag::{Diagnostic, Location, column_letters};
use crate::ingest::profile::Limits;

const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;

/// Whether `bytes` are a compound file (what an `.xls` is).
pub(super) fn is_compound(bytes: &[u8]) -> bool {
    bytes.starts_with(&SIGNATURE)
}

/// Checks the workbook stream of the compound file `bytes` against `limits`. A file whose
/// structure cannot be followed here is rejected: calamine's reader is more lenient, and what
/// it makes of a damaged structure (a stream pieced together from the wrong sectors) can claim
/// cells over gigabytes.
pub(super) fn check(bytes: &[u8], limits: &Limits) -> Result<(), Diagnostic> {
    let Some(stream) = workbook_stream(bytes) else {
        return Err(Diagnostic::error(
            Location::File,
            "Excelファイルが壊れているか、途中で切れています（ファイルの構造をたどれません）。Excelで開いて保存し直してください",
            "the workbook is damaged or cut short (its structure cannot be followed); open it in Excel and save it again",
        ));
    };
    Sheets::new(limits).walk(&stream)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The bytes of the `Workbook` (BIFF8) or `Book` (BIFF5) stream, following the compound
/// file's allocation tables; every chain is bounded by the number of sectors, so a loop in a
/// hostile table ends.
fn workbook_stream(bytes: &[u8]) -> Option<Vec<u8>> {
    let shift = u16_at(bytes, 0x1E)?;
    if !(7..=16).contains(&shift) {
        return None;
    }
    let size = 1usize << shift;
    let sectors = bytes.len() / size;
    let sector = |n: u32| bytes.get((n as usize + 1) * size..(n as usize + 2) * size);
    // The FAT's own sectors: 109 in the header, then a chain of DIFAT sectors.
    let mut fat_sectors: Vec<u32> = (0..109)
        .filter_map(|i| u32_at(bytes, 0x4C + 4 * i))
        .collect();
    let mut difat = u32_at(bytes, 0x44)?;
    let mut steps = 0;
    while difat < END_OF_CHAIN && steps < sectors {
        let s = sector(difat)?;
        let per = size / 4 - 1;
        fat_sectors.extend((0..per).filter_map(|i| u32_at(s, 4 * i)));
        difat = u32_at(s, 4 * per)?;
        steps += 1;
    }
    let fat_count = u32_at(bytes, 0x2C)? as usize;
    let mut fat = Vec::new();
    for &n in fat_sectors.iter().take(fat_count.min(sectors)) {
        let s = sector(n)?;
        fat.extend((0..size / 4).filter_map(|i| u32_at(s, 4 * i)));
    }
    let chain = |start: u32| {
        let mut out = Vec::new();
        let mut n = start;
        while n < END_OF_CHAIN && out.len() <= sectors {
            out.push(n);
            n = *fat.get(n as usize)?;
        }
        Some(out)
    };
    let read = |start: u32, len: usize| {
        let mut out = Vec::with_capacity(len.min(bytes.len()));
        for n in chain(start)? {
            out.extend_from_slice(sector(n)?);
        }
        out.truncate(len);
        Some(out)
    };
    let dir = read(u32_at(bytes, 0x30)?, bytes.len())?;
    let cutoff = u32_at(bytes, 0x38)? as usize;
    let entries: Vec<&[u8]> = dir.chunks_exact(128).collect();
    let root = entries.first()?;
    for entry in &entries {
        let name_len = (u16_at(entry, 0x40)? as usize).min(64);
        let name: Vec<u16> = (0..name_len.saturating_sub(2) / 2)
            .filter_map(|i| u16_at(entry, 2 * i))
            .collect();
        let name = String::from_utf16_lossy(&name);
        let workbook = ["Workbook", "Book"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n));
        if entry.get(0x42) != Some(&2) || !workbook {
            continue;
        }
        let start = u32_at(entry, 0x74)?;
        let len = (u32_at(entry, 0x78)? as usize).min(bytes.len());
        if len >= cutoff {
            return read(start, len);
        }
        // A small stream lives in the mini stream, in 64-byte sectors of its own table.
        let mini = read(u32_at(root, 0x74)?, bytes.len())?;
        let mini_fat: Vec<u32> = read(u32_at(bytes, 0x3C)?, bytes.len())?
            .chunks_exact(4)
            .filter_map(|c| u32_at(c, 0))
            .collect();
        let mini_size = 1usize << u16_at(bytes, 0x20)?.min(12);
        let mut out = Vec::with_capacity(len);
        let mut n = start;
        while n < END_OF_CHAIN && out.len() < len {
            let at = n as usize * mini_size;
            out.extend_from_slice(mini.get(at..at + mini_size)?);
            n = *mini_fat.get(n as usize)?;
        }
        out.truncate(len);
        return Some(out);
    }
    None
}

/// The records of `stream` from its start as calamine frames them (type, length, data; a
/// CONTINUE record is a record of its own here, and its bytes are skipped alike), up to the
/// first that runs past the end, where calamine stops with an error.
fn records(stream: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let (typ, len) = (u16_at(stream, at)?, u16_at(stream, at + 2)? as usize);
        let data = stream.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        Some((typ, data))
    })
}

/// The sheets' offsets in the workbook stream: the BoundSheet8 records of the globals, up to
/// their EOF, as calamine collects them.
fn sheet_offsets(stream: &[u8]) -> Vec<usize> {
    records(stream)
        .take_while(|(typ, _)| *typ != 0x000A)
        .filter(|(typ, _)| *typ == 0x0085)
        .filter_map(|(_, data)| u32_at(data, 0).map(|p| p as usize))
        .collect()
}

/// What the walk over the records has seen.
struct Sheets<'l> {
    limits: &'l Limits,
    /// The cells calamine would hold or reserve so far, over all sheets.
    cells: u64,
    /// The current worksheet's bounding box of cells: (first row, last row, first col, last col).
    bounds: Option<(u32, u32, u32, u32)>,
    sheet: u32,
}

impl<'l> Sheets<'l> {
    fn new(limits: &'l Limits) -> Self {
        Sheets {
            limits,
            cells: 0,
            bounds: None,
            sheet: 0,
        }
    }

    /// The most cells all sheets may span together: what `max_uncompressed` bytes hold.
    fn budget(&self) -> u64 {
        self.limits.max_uncompressed / std::mem::size_of::<Data>() as u64
    }

    /// Walks each sheet where calamine reads it: from the offset its BoundSheet8 record in the
    /// globals gives (a damaged offset lands calamine mid-record, and what it then takes for
    /// cells is what it lays out), to the sheet's EOF, nested substreams (charts) skipped.
    fn walk(mut self, stream: &[u8]) -> Result<(), Diagnostic> {
        for pos in sheet_offsets(stream) {
            // An offset past the stream: calamine stops there with an error.
            let Some(sheet) = stream.get(pos..) else {
                continue;
            };
            self.sheet += 1;
            self.walk_sheet(sheet)?;
        }
        Ok(())
    }

    fn walk_sheet(&mut self, sheet: &[u8]) -> Result<(), Diagnostic> {
        let (mut seen_bof, mut nested) = (false, 0usize);
        for (typ, data) in records(sheet) {
            if nested > 0 {
                match typ {
                    0x0809 => nested += 1,
                    0x000A => nested -= 1,
                    _ => {}
                }
                continue;
            }
            match typ {
                // BOF: the sheet's own first, then a nested substream's.
                0x0809 if seen_bof => nested += 1,
                0x0809 => seen_bof = true,
                0x000A => break,
                0x0200 => self.dimensions(data)?,
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 => {
                    if let (Some(row), Some(col)) = (u16_at(data, 0), u16_at(data, 2)) {
                        self.cell(row as u32, col as u32)?;
                    }
                }
                // MULRK: a run of cells on one row, the last column at the end.
                0x00BD if data.len() >= 6 => {
                    if let (Some(row), Some(first), Some(last)) = (
                        u16_at(data, 0),
                        u16_at(data, 2),
                        u16_at(data, data.len() - 2),
                    ) {
                        self.cell(row as u32, first as u32)?;
                        self.cell(row as u32, last as u32)?;
                    }
                }
                _ => {}
            }
        }
        self.end_sheet()
    }

    /// A declared used range: within the limits, and within the budget with the sheets before.
    fn dimensions(&mut self, d: &[u8]) -> Result<(), Diagnostic> {
        let (first_row, end_row, first_col, end_col) = match d.len() {
            10 => (
                u16_at(d, 0).map(u32::from),
                u16_at(d, 2).map(u32::from),
                u16_at(d, 4),
                u16_at(d, 6),
            ),
            14 | 16 => (u32_at(d, 0), u32_at(d, 4), u16_at(d, 8), u16_at(d, 10)),
            _ => return Ok(()),
        };
        let (Some(fr), Some(er), Some(fc), Some(ec)) = (first_row, end_row, first_col, end_col)
        else {
            return Ok(());
        };
        let (fc, ec) = (u32::from(fc), u32::from(ec));
        let area =
            u64::from(er.saturating_sub(fr).max(1)) * u64::from(ec.saturating_sub(fc).max(1));
        let within = er <= self.limits.max_rows
            && ec <= self.limits.max_columns
            && fr <= er
            && self.cells.saturating_add(area) <= self.budget();
        if within {
            self.cells += area;
            return Ok(());
        }
        let range = format!(
            "{}{}:{}{}",
            column_letters(fc),
            u64::from(fr) + 1,
            column_letters(ec.saturating_sub(1)),
            u64::from(er.max(1))
        );
        Err(self.beyond(
            &format!("の使用範囲 {range}"),
            &format!("declares the used range {range}"),
        ))
    }

    fn cell(&mut self, row: u32, col: u32) -> Result<(), Diagnostic> {
        if row >= self.limits.max_rows || col >= self.limits.max_columns {
            let at = format!("{}{}", column_letters(col), u64::from(row) + 1);
            return Err(self.beyond(&format!("のセル{at}"), &format!("holds cell {at}")));
        }
        self.bounds = Some(match self.bounds {
            None => (row, row, col, col),
            Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(col), c1.max(col)),
        });
        Ok(())
    }

    /// The sheet ends: calamine lays its cells out over their bounding box.
    fn end_sheet(&mut self) -> Result<(), Diagnostic> {
        let Some((r0, r1, c0, c1)) = self.bounds.take() else {
            return Ok(());
        };
        let area = u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1);
        self.cells = self.cells.saturating_add(area);
        if self.cells <= self.budget() {
            return Ok(());
        }
        let range = format!(
            "{}{}:{}{}",
            column_letters(c0),
            u64::from(r0) + 1,
            column_letters(c1),
            u64::from(r1) + 1
        );
        Err(self.beyond(
            &format!("のセル範囲 {range}"),
            &format!("spans the cells {range}"),
        ))
    }

    fn beyond(&self, ja: &str, en: &str) -> Diagnostic {
        let (rows, cols) = (
            self.limits.max_rows,
            column_letters(self.limits.max_columns.saturating_sub(1)),
        );
        let mib = self.limits.max_uncompressed >> 20;
        let sheet = self.sheet;
        Diagnostic::error(
            Location::File,
            format!(
                "{sheet}枚目のシート{ja}が読み取りの上限（{rows}行、{cols}列まで、全シートで{mib} MiB分のセル）を超えています"
            ),
            format!(
                "sheet {sheet} {en}, beyond the limits of {rows} rows, columns up to {cols} and {mib} MiB of cells in all sheets"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &[u8] = include_bytes!("../../../tests/data/xls/registrar-small.xls");

    /// The sample with its sheet's DIMENSIONS record (`00 02 0E 00`) rewritten by `patch`.
    fn patched(patch: impl Fn(&mut [u8])) -> Vec<u8> {
        let mut bytes = SMALL.to_vec();
        let at = bytes
            .windows(4)
            .position(|w| w == [0x00, 0x02, 0x0E, 0x00])
            .unwrap_or_default();
        patch(&mut bytes[at + 4..at + 18]);
        bytes
    }

    #[test]
    fn the_sample_workbook_stream_is_found_and_within_the_limits() {
        let stream = workbook_stream(SMALL).unwrap_or_default();
        assert_eq!(
            stream.get(..2),
            Some(&[0x09, 0x08][..]),
            "starts with a BOF"
        );
        assert_eq!(check(SMALL, &Limits::default()), Ok(()));
    }

    #[test]
    fn a_declared_range_of_four_billion_rows_is_rejected() {
        let hostile = patched(|d| d[4..8].copy_from_slice(&4_000_000_000u32.to_le_bytes()));
        let err = check(&hostile, &Limits::default()).err().map(|d| d.en);
        assert_eq!(
            err.as_deref(),
            Some(
                "sheet 1 declares the used range A1:K4000000000, beyond the limits of 2000000 rows, columns up to GR and 256 MiB of cells in all sheets"
            )
        );
    }

    #[test]
    fn sheets_beyond_the_cell_budget_are_rejected() {
        let small = Limits {
            max_uncompressed: 64 * std::mem::size_of::<Data>() as u64,
            ..Limits::default()
        };
        let err = check(SMALL, &small).err().map(|d| d.en);
        assert!(err.is_some_and(|e| e.contains("beyond the limits")));
    }
}
