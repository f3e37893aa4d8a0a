//! CSV as Japanese Excel writes it: CP932 or UTF-8, CRLF, quoted line breaks, title rows above
//! the header, padded empty columns and rows; and tab-separated text, which is what Excel's
//! 「Unicode テキスト」 (UTF-16LE with a BOM) and 「テキスト (タブ区切り)」 write. The separator is
//! the one with which the header is found: a comma, else a tab.
//!
//! Large files are read in parallel. CP932 never uses CR, LF, `,` or `"` as a trail byte, so a
//! record boundary can be found in the raw bytes: a LF outside quotes. The body after the header
//! is cut into chunks there, and each chunk is decoded, parsed and mapped on its own thread.
//! Chunks are joined in file order, so the result does not depend on the number of threads.
//!
//! A file on disk is streamed ([`read_stream`]): the calling thread cuts the next chunks off the
//! file while the workers decode and map the previous ones, so only a few chunks are in memory
//! at a time. The chunks are exactly those [`read`] cuts from the whole file, so both give the
//! same result.
//!
//! Row numbers are spreadsheet rows (what the sender sees when opening the file in Excel): the
//! physical line of the record minus the line breaks quoted inside earlier records.

use std::io::{Read, Seek, SeekFrom};

use csv::ByteRecord;
use rayon::prelude::*;

use crate::domain::model::Kind;
use crate::ingest::diag::{Diagnostic, Location};
use crate::ingest::encoding::{
    Encoding, Likely, body, decode_chunk, decode_chunk_into, decode_utf16, likely, locate, sniff,
    utf16_bom,
};
use crate::ingest::map::{
    Cell, CellError, HEADER_SEARCH_ROWS, Header, Mapped, Mapper, Rows, find_header,
};
use crate::ingest::profile::Profiles;
use crate::ingest::{Outcome, Sink};
use crate::ingest::{QuietRows, Sifting};

use cutter::Cutter;
pub(crate) use splitter::{Content, Splitter};

/// Target size of one parallel chunk.
pub(crate) const CHUNK: usize = 2 << 20;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How a stream is cut: chunks of about `chunk` bytes (cut where [`split_records`] cuts), the
/// file read `step` bytes at a time past a chunk's target while looking for its end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) chunk: usize,
    pub(crate) step: usize,
    /// The most bytes one record (or the search for the header) may take: past it the file is
    /// refused, not read on into memory (a line without its end, an unclosed quote).
    pub(crate) record: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            chunk: CHUNK,
            step: 64 << 10,
            record: 64 << 20,
        }
    }
}

/// A record (or the rows before the header) running on past `Sizes::record` from `from`.
fn runaway(from: u64, record: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "from byte {from} on, {} MiB without the end of a record (a line break outside quotes): an unclosed quote, or not a CSV export",
            record >> 20
        ),
    )
}

/// Reads a whole file's bytes.
pub(crate) fn read(bytes: &[u8], file: u32, profiles: &Profiles, sink: Sink<'_>) -> Outcome {
    read_sized(bytes, file, profiles, sink, CHUNK)
}

/// Reads a whole file's bytes in chunks of about `chunk` bytes: UTF-16 (by its BOM) is decoded
/// whole into UTF-8 first; other files are decoded chunk by chunk as [`sniff`] finds them. A
/// file rejected for its bytes or for want of a header gets a guess at its encoding.
fn read_sized(
    bytes: &[u8],
    file: u32,
    profiles: &Profiles,
    sink: Sink<'_>,
    chunk: usize,
) -> Outcome {
    if let Some(utf16) = utf16_bom(bytes) {
        return match decode_utf16(bytes, utf16) {
            Ok(text) => {
                let mut out =
                    read_decoded(text.as_bytes(), Encoding::Utf8, file, profiles, sink, chunk);
                out.encoding = Some(utf16);
                out
            }
            Err(e) => Outcome {
                encoding: Some(utf16),
                diagnostics: vec![Diagnostic::error(
                    Location::Byte {
                        line: e.line,
                        byte: e.column,
                    },
                    e.message_ja(),
                    e.to_string(),
                )],
                ..Outcome::default()
            },
        };
    }
    let mut out = read_decoded(bytes, sniff(bytes), file, profiles, sink, chunk);
    name_likely_encoding(bytes, &mut out);
    out
}

/// When a file was rejected for its bytes or because no header was found in it, and its first
/// bytes look like an encoding that is not read (EUC-JP, UTF-16 without a BOM), says so and how
/// to save it again.
fn name_likely_encoding(prefix: &[u8], out: &mut Outcome) {
    let bad_bytes = out
        .diagnostics
        .iter()
        .any(|d| matches!(d.location, Location::Byte { .. }));
    if !(bad_bytes || out.kind.is_none()) {
        return;
    }
    if let Some(guess) = likely(prefix) {
        // It was not read as the encoding it was tried as: no label says it is that, and what
        // the header search made of the misread text (no header, or one "like" some other kind
        // of file) is no finding; the undecodable bytes stay named.
        out.encoding = None;
        if matches!(guess, Likely::Workbook | Likely::Empty) {
            // Not text at all: its bytes and its header are no finding either.
            out.diagnostics.clear();
        } else if out.kind.is_none() {
            out.diagnostics
                .retain(|d| matches!(d.location, Location::Byte { .. }));
        }
        let (ja, en) = guess.message();
        out.diagnostics
            .push(Diagnostic::error(Location::File, ja, en));
    }
}

/// The header search with a comma, then, when that finds no header and the first rows hold a
/// tab, with a tab: the records of the rows searched, the separator and the header found (or
/// the comma search's diagnostic).
fn find_head<'p>(
    body: &[u8],
    encoding: Encoding,
    limit: usize,
    profiles: &'p Profiles,
) -> (Head, u8, Result<Header<'p>, Diagnostic>) {
    let head = search_head(body, encoding, limit, b',');
    let found = find_header(&head.rows, 1, profiles);
    if found.is_ok() || !head.rows.iter().flatten().any(|f| f.contains('\t')) {
        return (head, b',', found);
    }
    let tabbed = search_head(body, encoding, limit, b'\t');
    match find_header(&tabbed.rows, 1, profiles) {
        Ok(header) => (tabbed, b'\t', Ok(header)),
        Err(_) => (head, b',', found),
    }
}

/// Reads a file's bytes, decoded as `encoding`.
fn read_decoded(
    bytes: &[u8],
    encoding: Encoding,
    file: u32,
    profiles: &Profiles,
    sink: Sink<'_>,
    chunk: usize,
) -> Outcome {
    let bom = bytes.len() - body(bytes, encoding).len();
    let body = &bytes[bom..];
    let mut out = Outcome {
        encoding: Some(encoding),
        ..Outcome::default()
    };
    let (head, sep, found) = find_head(body, encoding, HEADER_SEARCH_ROWS, profiles);
    let header = match found {
        Ok(h) => h,
        Err(d) => {
            // Row numbers in the header search are record counts; make them spreadsheet rows.
            out.diagnostics.push(relocate_head(d, &head.lines));
            check_encoding(bytes, bom, body.len(), encoding, &mut out.diagnostics);
            return out;
        }
    };
    out.exported_on = header.exported_on;
    let start = Start::new(&head, header, bytes, bom, encoding, &mut out);
    let data = &body[start.data_start..];
    let chunks = split_records(data, chunk.max(1));
    let mapper = Mapper::new(&start.header);
    let kind = start.header.kind();
    let mut stitch = Stitch::new(&start, bytes, bom, sink);
    if matches!(sink, Sink::Keep) {
        // Every record ends at a LF (or the end), so this bounds the rows and the result never
        // grows by reallocation mid-file.
        stitch.mapped = Mapped::with_capacity(kind, memchr::memchr_iter(b'\n', data).count() + 1);
    }

    // Chunks are read in waves of a few per thread. While one wave is read, the previous one is
    // stitched onto the result; its emptied row vector and decode buffer then serve a later
    // wave. So the append overlaps the reading, and the memory a chunk needs is faulted in once
    // per scratch slot rather than once per chunk (a fresh page costs a fault and a zeroing).
    let wave = 2 * rayon::current_num_threads().max(1);
    let mut spare: Vec<Scratch> = Vec::new();
    let mut pending: Vec<ChunkOut> = Vec::new();
    for group in chunks.chunks(wave) {
        let scratch = take_scratch(&mut spare, group.len(), kind);
        let previous = std::mem::take(&mut pending);
        let (results, freed) = rayon::join(
            || {
                group
                    .par_iter()
                    .zip(scratch)
                    .map(|(&(s, e), sc)| {
                        read_chunk(&data[s..e], encoding, sep, sc, file, &mapper, sink)
                    })
                    .collect::<Vec<_>>()
            },
            || stitch.add(previous),
        );
        spare.extend(freed);
        pending = results;
    }
    stitch.add(pending);
    stitch.finish(out)
}

/// Streams a file: the same result as [`read`] on its whole bytes, with only a few chunks in
/// memory at a time. `src` is read from its current position, which must be the file's start.
///
/// A file without a BOM is UTF-8 only when all of it is; when the first chunks are UTF-8 and a
/// later one is not, the file is read again from the start as a whole (the rare case of a CP932
/// file whose first megabytes are ASCII).
pub(crate) fn read_stream<R: Read + Seek + Send>(
    src: &mut R,
    file: u32,
    profiles: &Profiles,
    sink: Sink<'_>,
    sizes: Sizes,
) -> std::io::Result<Outcome> {
    let (chunk, step) = (sizes.chunk.max(1), sizes.step.max(1));
    let mut buf = Vec::new();
    let mut eof = fill(src, &mut buf, chunk.saturating_add(step))?;
    if utf16_bom(&buf).is_some() {
        // UTF-16 is decoded whole into UTF-8 first.
        read_whole(src, &mut buf, sizes, "a UTF-16 file")?;
        eof = true;
    }
    // The header: searched in what has been read, reading on until the search is settled, i.e.
    // the header record is followed by another one (so it is complete); a file that ends first
    // is read whole.
    let (encoding, bom, head, header, sep) = loop {
        if eof {
            return Ok(read_sized(&buf, file, profiles, sink, chunk));
        }
        let encoding = sniff_prefix(&buf);
        let bom = if encoding == Encoding::Utf8Bom {
            UTF8_BOM.len()
        } else {
            0
        };
        let (head, sep, found) = find_head(&buf[bom..], encoding, HEADER_SEARCH_ROWS + 1, profiles);
        if let Ok(header) = found
            && header.index + 1 < head.rows.len()
        {
            break (encoding, bom, head, header, sep);
        }
        if buf.len() > sizes.record {
            return Err(runaway(0, sizes.record));
        }
        let want = buf.len().saturating_mul(2);
        eof = fill(src, &mut buf, want)?;
    };
    let mut out = Outcome {
        encoding: Some(encoding),
        ..Outcome::default()
    };
    let start = Start::new(&head, header, &buf, bom, encoding, &mut out);
    let mapper = Mapper::new(&start.header);
    let kind = start.header.kind();
    let mut stitch = Stitch::new(&start, &buf, bom, sink);
    let mut cutter = Cutter {
        start: bom + start.data_start,
        buf,
        in_quotes: false,
        eof,
        chunk,
        step,
        record: sizes.record,
        offset: 0,
        pool: Vec::new(),
    };

    // As in `read`, in waves; while a wave is decoded and mapped, this thread stitches the
    // previous one and reads the next.
    let wave = 2 * rayon::current_num_threads().max(1);
    let mut spare: Vec<Scratch> = Vec::new();
    let mut pending: Vec<ChunkOut> = Vec::new();
    let mut next = cutter.take(src, wave)?;
    while !next.is_empty() {
        let scratch = take_scratch(&mut spare, next.len(), kind);
        let previous = std::mem::take(&mut pending);
        let (results, (freed, upcoming)) = rayon::join(
            || {
                next.par_iter()
                    .zip(scratch)
                    .map(|(raw, sc)| {
                        read_chunk(raw.bytes(), encoding, sep, sc, file, &mapper, sink)
                    })
                    .collect::<Vec<_>>()
            },
            || {
                let freed = stitch.add(previous);
                let upcoming = if stitch.not_utf8 {
                    Ok(Vec::new())
                } else {
                    cutter.take(src, wave)
                };
                (freed, upcoming)
            },
        );
        spare.extend(freed);
        pending = results;
        for raw in next {
            cutter.recycle(raw.buf);
        }
        next = upcoming?;
    }
    stitch.add(pending);
    if stitch.not_utf8 {
        // Not UTF-8 after all: the whole file is CP932 (or broken), and the header and the
        // chunks already read must be decoded as such.
        drop((stitch, cutter, spare));
        src.seek(SeekFrom::Start(0))?;
        let mut all = Vec::new();
        read_whole(
            src,
            &mut all,
            sizes,
            "a file that is UTF-8 only in its first megabytes",
        )?;
        return Ok(read_sized(&all, file, profiles, sink, chunk));
    }
    let mut out = stitch.finish(out);
    if out
        .diagnostics
        .iter()
        .any(|d| matches!(d.location, Location::Byte { .. }))
    {
        name_likely_encoding_of(src, &mut out)?;
    }
    Ok(out)
}

/// Reads the rest of `src` onto `buf`, for a file decoded whole (`what`): at most sixteen
/// records' bound, past which the file is refused rather than read into memory.
fn read_whole<R: Read>(
    src: &mut R,
    buf: &mut Vec<u8>,
    sizes: Sizes,
    what: &str,
) -> std::io::Result<()> {
    let most = sizes.record.saturating_mul(16);
    let room = most.saturating_add(1).saturating_sub(buf.len()) as u64;
    std::io::Read::by_ref(src).take(room).read_to_end(buf)?;
    if buf.len() > most {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{what} is read whole, and this one is over {} MiB: save it as CSV (UTF-8 or Shift_JIS)",
                most >> 20
            ),
        ));
    }
    Ok(())
}

/// Names the encoding a file read with bad bytes most likely has, from its first bytes.
fn name_likely_encoding_of<R: Read + Seek>(src: &mut R, out: &mut Outcome) -> std::io::Result<()> {
    src.seek(SeekFrom::Start(0))?;
    let mut prefix = Vec::new();
    src.take(crate::ingest::encoding::LIKELY_PREFIX as u64)
        .read_to_end(&mut prefix)?;
    name_likely_encoding(&prefix, out);
    Ok(())
}

/// The encoding [`sniff`] would find for a file starting with `prefix`, as far as the prefix
/// tells: a BOM and an invalid UTF-8 sequence settle it; a prefix that is UTF-8 (up to an
/// incomplete character at its end) says UTF-8 so far.
fn sniff_prefix(prefix: &[u8]) -> Encoding {
    if prefix.starts_with(UTF8_BOM) {
        return Encoding::Utf8Bom;
    }
    match std::str::from_utf8(prefix) {
        Err(e) if e.error_len().is_some() => sniff(prefix),
        _ => Encoding::Utf8,
    }
}

/// Reads until `buf` holds `len` bytes; returns whether the end of the input came first.
fn fill(src: &mut impl Read, buf: &mut Vec<u8>, len: usize) -> std::io::Result<bool> {
    let Some(want) = len.checked_sub(buf.len()).filter(|&w| w > 0) else {
        return Ok(false);
    };
    buf.reserve(want);
    let got = src.take(want as u64).read_to_end(buf)?;
    Ok(got < want)
}

/// The first records of a body, decoded field by field, for the header search.
struct Head {
    rows: Vec<Vec<String>>,
    /// Per record: (line, embedded line breaks before).
    lines: Vec<(u64, u64)>,
    /// Per record: (where the next record's bytes start, its line, embedded breaks before it).
    ends: Vec<(usize, u64, u64)>,
}

fn search_head(body: &[u8], encoding: Encoding, limit: usize, sep: u8) -> Head {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(sep)
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut head = Head {
        rows: Vec::new(),
        lines: Vec::new(),
        ends: Vec::new(),
    };
    let mut embedded = 0u64;
    let mut lines = LineCounter::default();
    let mut record = ByteRecord::new();
    while head.rows.len() < limit {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) | Err(_) => break,
        }
        let line = lines.line_of(body, record.position().map_or(0, |p| p.byte() as usize));
        head.lines.push((line, embedded));
        embedded += memchr::memchr_iter(b'\n', record.as_slice()).count() as u64;
        let fields = record.iter().map(|f| decode_field(f, encoding)).collect();
        head.rows.push(fields);
        // csv stops at the CR of a CRLF; the data starts after the LF, on the next line.
        let mut end = rdr.position().byte() as usize;
        if body.get(end) == Some(&b'\n') {
            end += 1;
        }
        let next_line = 1 + memchr::memchr_iter(b'\n', &body[..end]).count() as u64;
        head.ends.push((end, next_line, embedded));
    }
    head
}

/// Where the data starts, once the header is found.
struct Start<'p> {
    header: Header<'p>,
    /// Offset in the body (after any BOM) of the first data byte.
    data_start: usize,
    /// Physical line of `data_start`, and line breaks quoted in records before it.
    next_line: u64,
    embedded: u64,
}

impl<'p> Start<'p> {
    /// Records the header in `out`, with the check that the bytes before the data decode.
    /// `bytes` is the file, or a prefix of it holding the header.
    fn new(
        head: &Head,
        header: Header<'p>,
        bytes: &[u8],
        bom: usize,
        encoding: Encoding,
        out: &mut Outcome,
    ) -> Self {
        let (data_start, next_line, embedded) = head.ends[header.index];
        // The header row's own number, for the header diagnostics already made.
        let header_row = head.lines[header.index].0 - head.lines[header.index].1;
        out.header_row = Some(header_row as u32);
        check_encoding(bytes, bom, data_start, encoding, &mut out.diagnostics);
        out.kind = Some(header.kind());
        Start {
            header,
            data_start,
            next_line,
            embedded,
        }
    }
}

fn take_scratch(spare: &mut Vec<Scratch>, n: usize, kind: Kind) -> Vec<Scratch> {
    (0..n)
        .map(|_| spare.pop().unwrap_or_else(|| Scratch::new(kind)))
        .collect()
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
    bad_bytes(line, byte, bytes.get(at..).unwrap_or_default())
}

/// Bytes that do not decode, at a 1-based line and byte of the file; `seq` starts with them.
fn bad_bytes(line: u64, byte: u64, seq: &[u8]) -> Diagnostic {
    let seq: Vec<String> = seq.iter().take(2).map(|b| format!("0x{b:02X}")).collect();
    let seq = seq.join(" ");
    Diagnostic::error(
        Location::Byte { line, byte },
        format!(
            "{line}行目の{byte}バイト目に文字として読めないバイト列 ({seq}) があります。Shift_JIS (CP932) でも UTF-8 でもありません"
        ),
        format!("line {line}, byte {byte}: bytes {seq} are neither Shift_JIS (CP932) nor UTF-8"),
    )
}

/// Whether `bytes` hold an odd number of `"`. An XOR over the bytes, which the compiler turns
/// into wide compares: quotes are a fifth of an Excel CSV's bytes, too many for `memchr`'s
/// search loop, and a count needs wider lanes than a parity.
fn odd_quotes(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |acc, &b| acc ^ u8::from(b == b'"')) & 1 == 1
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
        in_quotes ^= odd_quotes(&data[pos..want]);
        pos = want;
        let mut end = None;
        while let Some(nl) = memchr::memchr(b'\n', &data[pos..]) {
            let nl = pos + nl;
            in_quotes ^= odd_quotes(&data[pos..nl]);
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

/// Registrar rows sifted at once: enough for their lookups to overlap, few enough that the
/// batch stays in cache.
const SIFT_BATCH: usize = 128;

/// The reusable buffers of [`read_chunk`]: the decoded chunk, the fields of the current record
/// and the unescaped text of its fields with `""`.
#[derive(Default)]
struct FieldBufs {
    text: String,
    spans: Vec<Content>,
    unescaped: Vec<u8>,
    /// The quiet rows ([`Sink::Sift`]).
    quiet: QuietRows,
    sifting: Sifting,
}

/// The result so far, with the physical line and quoted line breaks reached, as chunk results
/// are added in file order.
struct Stitch<'a> {
    line: u64,
    embedded: u64,
    /// File offset of the next chunk, and of the start of the line it starts in.
    offset: usize,
    line_start: usize,
    sink: Sink<'a>,
    mapped: Mapped,
    quiet: QuietRows,
    rows: usize,
    diagnostics: Vec<Diagnostic>,
    /// A chunk of a file read as UTF-8 is not UTF-8.
    not_utf8: bool,
}

impl<'a> Stitch<'a> {
    /// `bytes` is the file or a prefix of it up to at least the data start.
    fn new(start: &Start<'_>, bytes: &[u8], bom: usize, sink: Sink<'a>) -> Self {
        let offset = bom + start.data_start;
        Stitch {
            line: start.next_line,
            embedded: start.embedded,
            offset,
            line_start: memchr::memrchr(b'\n', &bytes[..offset]).map_or(0, |i| i + 1),
            sink,
            mapped: Mapped::new(start.header.kind()),
            quiet: QuietRows::default(),
            rows: 0,
            diagnostics: Vec::new(),
            not_utf8: false,
        }
    }

    /// Turns chunk-local rows into spreadsheet rows and file-level byte positions, moves the
    /// rows onto the result (or drops them, for [`Sink::CountOnly`]), and hands back the chunks'
    /// emptied scratch.
    fn add(&mut self, results: Vec<ChunkOut>) -> Vec<Scratch> {
        let mut freed = Vec::with_capacity(results.len());
        for mut r in results {
            let delta = (self.line - 1).saturating_sub(self.embedded) as u32;
            if let Some(bad) = &r.bad {
                let line = self.line + bad.line - 1;
                let byte = if bad.line == 1 {
                    (self.offset - self.line_start) as u64 + bad.byte
                } else {
                    bad.byte
                };
                self.diagnostics.push(bad_bytes(line, byte, &bad.seq));
                self.not_utf8 |= r.not_utf8;
            } else {
                if self.sink.keeps() {
                    r.scratch.mapped.shift_rows(delta);
                    self.mapped.append_from(&mut r.scratch.mapped);
                    self.quiet.append(&mut r.scratch.fields.quiet, delta);
                } else {
                    r.scratch.mapped.clear();
                }
                for mut d in r.diagnostics {
                    shift_location(&mut d.location, delta);
                    self.diagnostics.push(d);
                }
                self.rows += r.rows;
            }
            self.line += r.lines;
            self.embedded += r.embedded;
            if let Some(lf) = r.last_lf {
                self.line_start = self.offset + lf + 1;
            }
            self.offset += r.len;
            freed.push(r.scratch);
        }
        freed
    }

    fn finish(self, mut out: Outcome) -> Outcome {
        out.rows += self.rows;
        out.diagnostics.extend(self.diagnostics);
        out.mapped = Some(self.mapped);
        out.quiet = self.quiet;
        out
    }
}

/// The first bytes of a chunk that do not decode: 1-based line and byte within the chunk, and
/// the bytes from there.
struct BadAt {
    line: u64,
    byte: u64,
    seq: Vec<u8>,
}

struct ChunkOut {
    /// The chunk's rows (in `scratch.mapped`), numbered within the chunk.
    scratch: Scratch,
    diagnostics: Vec<Diagnostic>,
    rows: usize,
    /// Bytes in the chunk.
    len: usize,
    /// LF bytes in the chunk: how far the physical line count moves.
    lines: u64,
    /// Offset of the chunk's last LF.
    last_lf: Option<usize>,
    /// Line breaks quoted inside fields of this chunk's records.
    embedded: u64,
    bad: Option<BadAt>,
    /// Read as UTF-8 without a BOM, the chunk is not UTF-8, so neither is the file.
    not_utf8: bool,
}

fn read_chunk(
    raw: &[u8],
    encoding: Encoding,
    sep: u8,
    scratch: Scratch,
    file: u32,
    mapper: &Mapper<'_>,
    sink: Sink<'_>,
) -> ChunkOut {
    let Scratch {
        mut mapped,
        mut fields,
    } = scratch;
    mapped.clear();
    fields.quiet.clear();
    let mut diagnostics = Vec::new();
    let (mut rows, mut embedded) = (0, 0u64);
    let mut text = std::mem::take(&mut fields.text);
    let mut not_utf8 = false;
    let (lines, bad) = match decode_chunk_into(raw, encoding, &mut text) {
        Ok(decoded) => {
            if sink.keeps() {
                mapped.reserve(raw.len() / 96);
            }
            // The separator is a constant in the splitter's loop.
            let read_records = if sep == b'\t' {
                read_records::<b'\t'>
            } else {
                read_records::<b','>
            };
            let lines = read_records(
                decoded,
                sink,
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
        Err(bad) => {
            not_utf8 = encoding == Encoding::Utf8 && std::str::from_utf8(raw).is_err();
            let (line, byte) = locate(raw, bad.offset);
            let seq = raw.get(bad.offset..).unwrap_or_default();
            let seq = seq.iter().take(2).copied().collect();
            let lines = memchr::memchr_iter(b'\n', raw).count() as u64;
            (lines, Some(BadAt { line, byte, seq }))
        }
    };
    fields.text = text;
    debug_assert!(mapped.kind() == mapper.kind());
    ChunkOut {
        scratch: Scratch { mapped, fields },
        diagnostics,
        rows,
        len: raw.len(),
        lines,
        last_lf: memchr::memrchr(b'\n', raw),
        embedded,
        bad,
        not_utf8,
    }
}

/// Parses and maps the records of one decoded chunk (kept in `mapped` for [`Sink::Keep`]);
/// returns the chunk's LF count.
///
/// The chunk is valid UTF-8 and [`Splitter`] cuts only at ASCII bytes, so every field is a
/// `&str` slice of it, used in place; only fields with `""` are copied (unescaped).
#[expect(clippy::too_many_arguments)]
fn read_records<const SEP: u8>(
    text: &str,
    sink: Sink<'_>,
    file: u32,
    mapper: &Mapper<'_>,
    bufs: &mut FieldBufs,
    mapped: &mut Mapped,
    diagnostics: &mut Vec<Diagnostic>,
    rows: &mut usize,
    embedded_out: &mut u64,
) -> u64 {
    let FieldBufs {
        spans,
        unescaped,
        quiet,
        sifting,
        ..
    } = bufs;
    // The registrar rows from here on are sifted a batch at a time ([`Sifting`]).
    let mut unsifted = match &mapped.rows {
        Rows::Registrar(kept) => kept.len(),
        _ => 0,
    };
    let mut reader = Splitter::<SEP>::new(text.as_bytes());
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
                None => Cell::Error(CellError::Value("UTF-8")),
            }
        }));
        if mapper.map_row(file, row, &cells, mapped, diagnostics) {
            *rows += 1;
        }
        if let Sink::Sift(sift) = sink
            && let Rows::Registrar(kept) = &mut mapped.rows
            && kept.len() >= unsifted + SIFT_BATCH
        {
            sifting.run(sift, kept, unsifted, quiet);
            unsifted = kept.len();
        }
        if matches!(sink, Sink::CountOnly) {
            // The row was mapped and checked; dropping it here keeps the row vector at one
            // row, in cache, instead of a chunk's worth of fresh pages.
            mapped.clear();
        }
        spare = recycle(cells);
    }
    if let Sink::Sift(sift) = sink
        && let Rows::Registrar(kept) = &mut mapped.rows
        && kept.len() > unsifted
    {
        sifting.run(sift, kept, unsifted, quiet);
    }
    *embedded_out = embedded;
    // Decoding maps LF to LF one for one, so the text has the raw chunk's line count.
    reader.lines()
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

mod cutter;
mod splitter;
#[cfg(test)]
mod tests;
