//! CSV as Japanese Excel writes it: CP932 or UTF-8, CRLF, quoted line breaks, title rows above
//! the header, padded empty columns and rows.
//!
//! Large files are read in parallel. CP932 never uses CR, LF, `,` or `"` as a trail byte, so a
//! record boundary can be found in the raw bytes: a LF outside quotes. The body after the header
//! is cut into chunks there, and each chunk is decoded, parsed and mapped on its own thread.
//! Chunks are joined in file order, so the result does not depend on the number of threads.
//!
//! Row numbers are spreadsheet rows (what the sender sees when opening the file in Excel): the
//! physical line of the record minus the line breaks quoted inside earlier records.

use csv::ByteRecord;
use rayon::prelude::*;

use crate::domain::model::Kind;
use crate::ingest::Outcome;
use crate::ingest::diag::{Diagnostic, Location};
use crate::ingest::encoding::{Encoding, body, decode_chunk, decode_chunk_into, locate, sniff};
use crate::ingest::map::{Cell, HEADER_SEARCH_ROWS, Mapped, Mapper, find_header};
use crate::ingest::profile::Profiles;

/// Target size of one parallel chunk.
const CHUNK: usize = 4 << 20;

pub fn read(bytes: &[u8], file: u32, profiles: &Profiles) -> Outcome {
    let encoding = sniff(bytes);
    let bom = bytes.len() - body(bytes, encoding).len();
    let body = &bytes[bom..];
    let mut out = Outcome {
        encoding: Some(encoding),
        ..Outcome::default()
    };

    // The header: the first records, decoded field by field.
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut head_rows: Vec<Vec<String>> = Vec::new();
    let mut head_lines: Vec<(u64, u64)> = Vec::new(); // (line, embedded line breaks before)
    let mut embedded = 0u64;
    let mut lines = LineCounter::default();
    let mut record = ByteRecord::new();
    let mut ends = Vec::new();
    while head_rows.len() < HEADER_SEARCH_ROWS {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) | Err(_) => break,
        }
        let line = lines.line_of(body, record.position().map_or(0, |p| p.byte() as usize));
        head_lines.push((line, embedded));
        embedded += memchr::memchr_iter(b'\n', record.as_slice()).count() as u64;
        let fields = record.iter().map(|f| decode_field(f, encoding)).collect();
        head_rows.push(fields);
        // csv stops at the CR of a CRLF; the data starts after the LF, on the next line.
        let mut end = rdr.position().byte() as usize;
        if body.get(end) == Some(&b'\n') {
            end += 1;
        }
        let next_line = 1 + memchr::memchr_iter(b'\n', &body[..end]).count() as u64;
        ends.push((end, next_line, embedded));
    }
    let header = match find_header(&head_rows, 1, profiles) {
        Ok(h) => h,
        Err(d) => {
            // Row numbers in the header search are record counts; make them spreadsheet rows.
            out.diagnostics.push(relocate_head(d, &head_lines));
            check_encoding(bytes, bom, body.len(), encoding, &mut out.diagnostics);
            return out;
        }
    };
    let (data_start, next_line, embedded_before) = ends[header.index];
    // The header row's own number, for the header diagnostics already made.
    let header_row = head_lines[header.index].0 - head_lines[header.index].1;
    out.header_row = Some(header_row as u32);
    check_encoding(bytes, bom, data_start, encoding, &mut out.diagnostics);
    out.kind = Some(header.kind());

    let data = &body[data_start..];
    let chunks = split_records(data, CHUNK);
    let mapper = Mapper::new(&header);
    let kind = header.kind();

    // Chunks are read in waves of a few per thread. While one wave is read, the previous one is
    // stitched onto the result; its emptied row vector and decode buffer then serve a later
    // wave. So the append overlaps the reading, and the memory a chunk needs is faulted in once
    // per scratch slot rather than once per chunk (a fresh page costs a fault and a zeroing).
    let wave = 2 * rayon::current_num_threads().max(1);
    let mut spare: Vec<Scratch> = Vec::new();
    let mut stitch = Stitch {
        line: next_line,
        embedded: embedded_before,
        // Every record ends at a LF (or the end), so this bounds the rows and the result never
        // grows by reallocation mid-file.
        mapped: Mapped::with_capacity(kind, memchr::memchr_iter(b'\n', data).count() + 1),
        rows: 0,
        diagnostics: Vec::new(),
    };
    let mut pending: Vec<(ChunkOut, usize)> = Vec::new();
    for group in chunks.chunks(wave) {
        let scratch: Vec<Scratch> = (0..group.len())
            .map(|_| spare.pop().unwrap_or_else(|| Scratch::new(kind)))
            .collect();
        let previous = std::mem::take(&mut pending);
        let (results, freed) = rayon::join(
            || {
                group
                    .par_iter()
                    .zip(scratch)
                    .map(|(&(start, end), sc)| {
                        let r = read_chunk(&data[start..end], encoding, sc, file, &mapper, kind);
                        (r, start)
                    })
                    .collect::<Vec<_>>()
            },
            || stitch.add(previous, |at| encoding_error(bytes, bom + data_start + at)),
        );
        spare.extend(freed);
        pending = results;
    }
    spare.extend(stitch.add(pending, |at| encoding_error(bytes, bom + data_start + at)));
    drop(spare);
    let Stitch {
        mapped,
        rows,
        diagnostics,
        ..
    } = stitch;
    out.rows += rows;
    out.diagnostics.extend(diagnostics);
    out.mapped = Some(mapped);
    out
}

fn decode_field(f: &[u8], encoding: Encoding) -> String {
    match decode_chunk(f, encoding) {
        Ok(s) => s.into_owned(),
        Err(_) => String::new(),
    }
}

fn relocate_head(mut d: Diagnostic, head_lines: &[(u64, u64)]) -> Diagnostic {
    if let Location::Row { row } | Location::Cell { row, .. } = &mut d.location
        && let Some((line, emb)) = head_lines.get((*row as usize).saturating_sub(1))
    {
        *row = (line - emb) as u32;
    }
    d
}

fn shift_location(loc: &mut Location, delta: u32) {
    if let Location::Row { row } | Location::Cell { row, .. } = loc {
        *row += delta;
    }
}

/// Checks that the bytes before the data (title rows and header) decode strictly.
fn check_encoding(
    bytes: &[u8],
    bom: usize,
    len: usize,
    encoding: Encoding,
    diags: &mut Vec<Diagnostic>,
) {
    if let Err(bad) = decode_chunk(&bytes[bom..bom + len], encoding) {
        diags.push(encoding_error(bytes, bom + bad.offset));
    }
}

fn encoding_error(bytes: &[u8], at: usize) -> Diagnostic {
    let (line, byte) = locate(bytes, at);
    let seq: Vec<String> = bytes[at..]
        .iter()
        .take(2)
        .map(|b| format!("0x{b:02X}"))
        .collect();
    let seq = seq.join(" ");
    Diagnostic::error(
        Location::Byte { line, byte },
        format!(
            "{line}行目の{byte}バイト目に文字として読めないバイト列 ({seq}) があります。Shift_JIS (CP932) でも UTF-8 でもありません"
        ),
        format!("line {line}, byte {byte}: bytes {seq} are neither Shift_JIS (CP932) nor UTF-8"),
    )
}

/// Cuts `data` into ranges of about `target` bytes that end just after a LF outside quotes.
pub(crate) fn split_records(data: &[u8], target: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(data.len() / target + 1);
    let mut start = 0;
    let mut pos = 0; // scanned up to here
    let mut in_quotes = false;
    while start < data.len() {
        let want = start.saturating_add(target);
        if want >= data.len() {
            out.push((start, data.len()));
            break;
        }
        // Bring the quote state up to `want`, then look for the next LF outside quotes.
        in_quotes ^= memchr::memchr_iter(b'"', &data[pos..want]).count() % 2 == 1;
        pos = want;
        let mut end = None;
        while let Some(nl) = memchr::memchr(b'\n', &data[pos..]) {
            let nl = pos + nl;
            in_quotes ^= memchr::memchr_iter(b'"', &data[pos..nl]).count() % 2 == 1;
            pos = nl + 1;
            if !in_quotes {
                end = Some(pos);
                break;
            }
        }
        match end {
            Some(end) => {
                out.push((start, end));
                start = end;
            }
            None => {
                out.push((start, data.len()));
                break;
            }
        }
    }
    out
}

/// A chunk's working memory, handed from wave to wave: the row vector and the per-record
/// buffers of the field reader.
struct Scratch {
    mapped: Mapped,
    fields: FieldBufs,
}

impl Scratch {
    fn new(kind: Kind) -> Self {
        Scratch {
            mapped: Mapped::new(kind),
            fields: FieldBufs::default(),
        }
    }
}

/// The reusable buffers of [`read_chunk`]: the decoded chunk, the fields of the current record
/// and the unescaped text of its fields with `""`.
#[derive(Default)]
struct FieldBufs {
    text: String,
    spans: Vec<Content>,
    unescaped: Vec<u8>,
}

/// The result so far, with the physical line and quoted line breaks reached, as chunk results
/// are added in file order.
struct Stitch {
    line: u64,
    embedded: u64,
    mapped: Mapped,
    rows: usize,
    diagnostics: Vec<Diagnostic>,
}

impl Stitch {
    /// Turns chunk-local rows into spreadsheet rows and file-level byte positions, moves the
    /// rows onto the result, and hands back the chunks' emptied scratch.
    fn add(
        &mut self,
        results: Vec<(ChunkOut, usize)>,
        encoding_error: impl Fn(usize) -> Diagnostic,
    ) -> Vec<Scratch> {
        let mut freed = Vec::with_capacity(results.len());
        for (mut r, start) in results {
            let delta = (self.line - 1).saturating_sub(self.embedded) as u32;
            if let Some(offset) = r.bad_bytes {
                self.diagnostics.push(encoding_error(start + offset));
            } else {
                r.scratch.mapped.shift_rows(delta);
                self.mapped.append_from(&mut r.scratch.mapped);
                for mut d in r.diagnostics {
                    shift_location(&mut d.location, delta);
                    self.diagnostics.push(d);
                }
                self.rows += r.rows;
            }
            self.line += r.lines;
            self.embedded += r.embedded;
            freed.push(r.scratch);
        }
        freed
    }
}

struct ChunkOut {
    /// The chunk's rows (in `scratch.mapped`), numbered within the chunk.
    scratch: Scratch,
    diagnostics: Vec<Diagnostic>,
    rows: usize,
    /// LF bytes in the chunk: how far the physical line count moves.
    lines: u64,
    /// Line breaks quoted inside fields of this chunk's records.
    embedded: u64,
    /// Offset within the chunk of the first byte that does not decode.
    bad_bytes: Option<usize>,
}

fn read_chunk(
    raw: &[u8],
    encoding: Encoding,
    scratch: Scratch,
    file: u32,
    mapper: &Mapper<'_>,
    kind: Kind,
) -> ChunkOut {
    let Scratch {
        mut mapped,
        mut fields,
    } = scratch;
    mapped.clear();
    let mut diagnostics = Vec::new();
    let (mut rows, mut embedded) = (0, 0u64);
    let mut text = std::mem::take(&mut fields.text);
    let (lines, bad_bytes) = match decode_chunk_into(raw, encoding, &mut text) {
        Ok(decoded) => {
            mapped.reserve(raw.len() / 96);
            let lines = read_records(
                decoded,
                file,
                mapper,
                &mut fields,
                &mut mapped,
                &mut diagnostics,
                &mut rows,
                &mut embedded,
            );
            (lines, None)
        }
        Err(bad) => (
            memchr::memchr_iter(b'\n', raw).count() as u64,
            Some(bad.offset),
        ),
    };
    fields.text = text;
    debug_assert!(mapped.kind() == kind);
    ChunkOut {
        scratch: Scratch { mapped, fields },
        diagnostics,
        rows,
        lines,
        embedded,
        bad_bytes,
    }
}

/// Parses and maps the records of one decoded chunk; returns the chunk's LF count.
///
/// The chunk is valid UTF-8 and [`Splitter`] cuts only at ASCII bytes, so every field is a
/// `&str` slice of it, used in place; only fields with `""` are copied (unescaped).
#[expect(clippy::too_many_arguments)]
fn read_records(
    text: &str,
    file: u32,
    mapper: &Mapper<'_>,
    bufs: &mut FieldBufs,
    mapped: &mut Mapped,
    diagnostics: &mut Vec<Diagnostic>,
    rows: &mut usize,
    embedded_out: &mut u64,
) -> u64 {
    let FieldBufs {
        spans, unescaped, ..
    } = bufs;
    let mut reader = Splitter::new(text.as_bytes());
    let mut spare: Vec<Cell<'static>> = Vec::with_capacity(32);
    let mut embedded = 0u64;
    while let Some(record) = reader.next_record(spans, unescaped) {
        let row = (record.line - embedded) as u32;
        embedded += record.breaks;
        let mut cells = recycle(std::mem::take(&mut spare));
        let unescaped: &[u8] = unescaped;
        cells.extend(spans.iter().map(|span| {
            let field = match *span {
                Content::Chunk(s, e) => text.get(s..e),
                Content::Unescaped(s, e) => std::str::from_utf8(&unescaped[s..e]).ok(),
            };
            match field {
                Some("") => Cell::Empty,
                Some(s) => Cell::Text(s),
                // Not reached: fields are cut at ASCII bytes of valid UTF-8.
                None => Cell::Error("UTF-8"),
            }
        }));
        if mapper.map_row(file, row, &cells, mapped, diagnostics) {
            *rows += 1;
        }
        spare = recycle(cells);
    }
    *embedded_out = embedded;
    // Decoding maps LF to LF one for one, so the text has the raw chunk's line count.
    reader.lines()
}

/// The end of an unquoted stretch of a field starting at `from`: the next `,`, CR or LF.
fn field_end(d: &[u8], from: usize) -> usize {
    d[from..]
        .iter()
        .position(|&b| matches!(b, b',' | b'\r' | b'\n'))
        .map_or(d.len(), |i| from + i)
}

/// A field's content: a range of the input (unquoted fields, and quoted ones without `""` or
/// text after the closing quote), or a range of the unescape buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content {
    Chunk(usize, usize),
    Unescaped(usize, usize),
}

/// A record found by [`Splitter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordAt {
    /// The 1-based physical line the record starts on.
    pub line: u64,
    /// LF bytes quoted inside the record's fields.
    pub breaks: u64,
}

/// A zero-copy CSV record splitter over raw bytes, splitting exactly as the `csv` crate does with
/// `has_headers(false)`, `flexible(true)` and its defaults: `,` between fields; `"` opens a quoted
/// field only as its first byte; inside, `""` is a quote and line breaks are text; after the
/// closing quote, text up to the next `,` or line break joins the field; CR, LF and CRLF end a
/// record; blank lines are skipped. Only ASCII bytes are structural, so it works on CP932 (whose
/// trail bytes are 0x40..=0xFC) as well as UTF-8.
pub(crate) struct Splitter<'a> {
    data: &'a [u8],
    pos: usize,
    /// LF bytes before `pos`.
    lf: u64,
}

impl<'a> Splitter<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Splitter {
            data,
            pos: 0,
            lf: 0,
        }
    }

    /// LF bytes in the whole input once the last record has been read.
    pub fn lines(&self) -> u64 {
        self.lf + memchr::memchr_iter(b'\n', &self.data[self.pos..]).count() as u64
    }

    /// The next record's fields into `spans` (and `unescaped`, both cleared first).
    pub fn next_record(
        &mut self,
        spans: &mut Vec<Content>,
        unescaped: &mut Vec<u8>,
    ) -> Option<RecordAt> {
        spans.clear();
        unescaped.clear();
        let d = self.data;
        let mut pos = self.pos;
        while let Some(&b) = d.get(pos) {
            match b {
                b'\n' => self.lf += 1,
                b'\r' => {}
                _ => break,
            }
            pos += 1;
        }
        if pos >= d.len() {
            self.pos = pos;
            return None;
        }
        let line = self.lf + 1;
        let mut breaks = 0u64;
        loop {
            let content = if d.get(pos) == Some(&b'"') {
                pos += 1;
                let mut piece = pos;
                let mut escaped = false;
                let from = unescaped.len();
                // Quoted LFs are counted on the way.
                let close = loop {
                    match memchr::memchr2(b'"', b'\n', &d[pos..]) {
                        None => break None,
                        Some(i) if d[pos + i] == b'\n' => {
                            breaks += 1;
                            pos += i + 1;
                        }
                        Some(i) => {
                            let q = pos + i;
                            if d.get(q + 1) == Some(&b'"') {
                                unescaped.extend_from_slice(&d[piece..=q]);
                                pos = q + 2;
                                piece = pos;
                                escaped = true;
                            } else {
                                break Some(q);
                            }
                        }
                    }
                };
                match close {
                    None => {
                        pos = d.len();
                        if escaped {
                            unescaped.extend_from_slice(&d[piece..]);
                            Content::Unescaped(from, unescaped.len())
                        } else {
                            Content::Chunk(piece, pos)
                        }
                    }
                    Some(q) => {
                        let after = q + 1;
                        pos = field_end(d, after);
                        if !escaped && pos == after {
                            Content::Chunk(piece, q)
                        } else {
                            unescaped.extend_from_slice(&d[piece..q]);
                            unescaped.extend_from_slice(&d[after..pos]);
                            Content::Unescaped(from, unescaped.len())
                        }
                    }
                }
            } else {
                let end = field_end(d, pos);
                let content = Content::Chunk(pos, end);
                pos = end;
                content
            };
            spans.push(content);
            if d.get(pos) == Some(&b',') {
                pos += 1;
            } else {
                break;
            }
        }
        self.lf += breaks;
        self.pos = pos;
        Some(RecordAt { line, breaks })
    }
}

/// Finds the physical line a record starts on. csv reports a record's start at the line break
/// before it (a CRLF's LF, blank lines), so leading CR and LF bytes are skipped first. Offsets
/// must come in increasing order; each call counts only the bytes since the last one.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    line: u64,
}

impl LineCounter {
    fn line_of(&mut self, data: &[u8], offset: usize) -> u64 {
        let mut start = offset.min(data.len());
        while matches!(data.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let start = start.max(self.pos);
        self.line += memchr::memchr_iter(b'\n', &data[self.pos..start]).count() as u64;
        self.pos = start;
        self.line + 1
    }
}

/// Empties a vector of cells and hands back its allocation for cells of another lifetime, so
/// the per-record cell list is allocated once per chunk, not once per row.
fn recycle<'b>(mut v: Vec<Cell<'_>>) -> Vec<Cell<'b>> {
    v.clear();
    v.into_iter().map(|_| Cell::Empty).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_never_cuts_inside_quotes() {
        let data = b"a,\"x\ny\",1\nb,\"p\nq\",2\nc,d,3\n";
        for target in 1..data.len() + 2 {
            let chunks = split_records(data, target);
            let mut joined = Vec::new();
            for &(s, e) in &chunks {
                let part = &data[s..e];
                assert_eq!(
                    memchr::memchr_iter(b'"', part).count() % 2,
                    0,
                    "target {target}: {chunks:?}"
                );
                joined.extend_from_slice(part);
            }
            assert_eq!(joined, data);
        }
    }

    fn profiles() -> Profiles {
        Profiles::builtin().unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// Either rows come out, or at least one error that points inside the file.
    fn rows_or_located_error(bytes: &[u8]) -> Result<(), String> {
        let out = read(bytes, 0, &profiles());
        let errors: Vec<&Diagnostic> = out.diagnostics.iter().filter(|d| d.is_error()).collect();
        if out.mapped.is_none() && errors.is_empty() {
            return Err("neither rows nor an error".into());
        }
        let lines = memchr::memchr_iter(b'\n', bytes).count() as u64 + 1;
        for d in errors {
            match d.location {
                Location::Byte { line, byte } if line > lines || byte == 0 => {
                    return Err(format!("{d:?} outside the file"));
                }
                Location::Row { row } | Location::Cell { row, .. }
                    if u64::from(row) > lines || row == 0 =>
                {
                    return Err(format!("{d:?} outside the file"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The records of `data` as the `csv` crate reads them: (line of the record's first byte,
    /// fields), with the line found as the readers here find it.
    /// Records as (line, fields).
    type Lines = Vec<(u64, Vec<Vec<u8>>)>;

    fn csv_crate_records(data: &[u8]) -> Lines {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(data);
        let mut lines = LineCounter::default();
        let mut out = Vec::new();
        let mut record = ByteRecord::new();
        while let Ok(true) = rdr.read_byte_record(&mut record) {
            let line = lines.line_of(data, record.position().map_or(0, |p| p.byte() as usize));
            out.push((line, record.iter().map(<[u8]>::to_vec).collect()));
        }
        out
    }

    fn splitter_records(data: &[u8]) -> (Lines, u64) {
        let mut sp = Splitter::new(data);
        let (mut spans, mut unescaped) = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        while let Some(r) = sp.next_record(&mut spans, &mut unescaped) {
            let fields: Vec<Vec<u8>> = spans
                .iter()
                .map(|s| match *s {
                    Content::Chunk(a, b) => data[a..b].to_vec(),
                    Content::Unescaped(a, b) => unescaped[a..b].to_vec(),
                })
                .collect();
            let breaks: u64 = fields
                .iter()
                .map(|f| memchr::memchr_iter(b'\n', f).count() as u64)
                .sum();
            assert_eq!(r.breaks, breaks);
            out.push((r.line, fields));
        }
        (out, sp.lines())
    }

    #[test]
    fn splitter_reads_excel_csv() {
        let data = b"\"t\",,\r\n\r\n\"a\"\"b\",\"x\ny\",c\"d\r\n\"p\"q,\"\",\n\"open";
        let (records, lines) = splitter_records(data);
        assert_eq!(records, csv_crate_records(data));
        let fields: Vec<Vec<&[u8]>> = records
            .iter()
            .map(|(_, f)| f.iter().map(Vec::as_slice).collect())
            .collect();
        assert_eq!(
            fields,
            vec![
                vec![&b"t"[..], b"", b""],
                vec![&b"a\"b"[..], b"x\ny", b"c\"d"],
                vec![&b"pq"[..], b"", b""],
                vec![&b"open"[..]],
            ]
        );
        assert_eq!(
            records.iter().map(|r| r.0).collect::<Vec<_>>(),
            [1, 3, 5, 6]
        );
        assert_eq!(lines, 5);
    }

    proptest::proptest! {
        #[test]
        fn splitter_agrees_with_the_csv_crate(
            data in proptest::collection::vec(proptest::sample::select(vec![
                b'a', b'1', b',', b'"', b'\r', b'\n', b' ', 0x81, 0x40, 0x82, 0xA0, 0x8A, 0x77, 0xE3, 0xFC, 0x80,
            ]), 0..256)
        ) {
            let (records, lines) = splitter_records(&data);
            proptest::prop_assert_eq!(&records, &csv_crate_records(&data));
            proptest::prop_assert_eq!(lines, memchr::memchr_iter(b'\n', &data).count() as u64);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            proptest::prop_assert_eq!(rows_or_located_error(&bytes), Ok(()));
        }

        #[test]
        fn arbitrary_rows_under_a_real_header_never_panic(
            body in proptest::collection::vec(proptest::sample::select(vec![
                b'0', b'1', b'9', b',', b'"', b'\r', b'\n', b' ', 0x81, 0x40, 0x82, 0xA0, 0xE0, 0xFC, 0x7F, 0xEF, 0xBB,
            ]), 0..1024)
        ) {
            let mut bytes = "学籍番号,氏名,氏名カナ,所属,身分,在籍状態\r\n".as_bytes().to_vec();
            bytes.extend(&body);
            proptest::prop_assert_eq!(rows_or_located_error(&bytes), Ok(()));
        }
    }
}
