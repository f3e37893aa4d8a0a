//! Encoding detection and strict decoding of input files.
//!
//! Registrar files come as Windows-31J (CP932, what Japanese Excel calls Shift_JIS, with the NEC
//! and IBM extension characters ①, ㈱, 髙, 﨑, 德, 塚) or as UTF-8 with or without a BOM. The
//! rule is per file: a BOM means UTF-8; otherwise strict UTF-8; otherwise strict CP932; a file that
//! is none of these is rejected with the line and byte of the first bad sequence. Nothing is ever
//! replaced, so no U+FFFD can come out of here, and nothing is guessed field by field.
//!
//! encoding_rs's `SHIFT_JIS` is the WHATWG Shift_JIS decoder, which is Windows-31J including the
//! extensions. Three places where we are stricter than it:
//! - U+FFFD in a UTF-8 file is rejected: the text was already lost when the file was exported;
//! - the lone byte 0x80, which WHATWG passes through as the control character U+0080 but which
//!   is no character in CP932, is rejected;
//! - a file with no BOM that is long, clean UTF-8 (at least `UTF8_EVIDENCE` = 64 multi-byte
//!   characters) up to one bad byte is rejected as broken UTF-8 instead of being decoded as CP932:
//!   CP932 text almost never gets that far as UTF-8, and decoding UTF-8 as CP932 can succeed and
//!   store mojibake. So is a file that CP932 fails on before UTF-8 does (a UTF-8 export with a
//!   row pasted in from a CP932 one): its bad bytes are named on that row, not on the first
//!   line, where CP932 stumbles over the UTF-8.
//!
//! Excel's 「Unicode テキスト」 is UTF-16LE with a BOM (tab-separated); UTF-16 with a BOM, either
//! byte order, is decoded strictly and whole into UTF-8 ([`decode_utf16`]) before it is split,
//! so the rest of the reader only ever sees UTF-8. A file that decodes as nothing gets a guess
//! at what it is ([`likely`]): EUC-JP and UTF-16 without a BOM are told apart from bytes that
//! are simply broken, so the message can say how to save the file again.
//!
//! Files of 100+ MiB are normal, so the readers decode CP932 in parallel chunks cut after LF
//! bytes: LF (0x0A) is never a trail byte in CP932, so the decoder is in its initial state after
//! every LF and chunked decoding equals sequential decoding, errors included.

use std::borrow::Cow;

use encoding_rs::{DecoderResult, SHIFT_JIS};

const BOM: &[u8] = b"\xEF\xBB\xBF";
const REPLACEMENT: char = '\u{FFFD}';
const REPLACEMENT_UTF8: &[u8] = b"\xEF\xBF\xBD";

/// How many multi-byte UTF-8 characters before the first invalid byte make us call a file broken
/// UTF-8 rather than try CP932. Japanese CP932 text fails as UTF-8 within its first few non-ASCII
/// characters (kana and level-1 kanji start with 0x82..=0x9F, which UTF-8 only allows as a
/// continuation byte).
const UTF8_EVIDENCE: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    Utf8Bom,
    Utf8,
    Cp932,
    /// UTF-16 with a BOM, little-endian (Excel's 「Unicode テキスト」) or big-endian: decoded
    /// whole into UTF-8 before it is read.
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    /// The name shown to registrar staff in reports.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8Bom => "UTF-8 (BOM)",
            Encoding::Utf8 => "UTF-8",
            Encoding::Cp932 => "CP932 (Windows-31J)",
            Encoding::Utf16Le => "UTF-16LE (BOM)",
            Encoding::Utf16Be => "UTF-16BE (BOM)",
        }
    }
}

/// A malformed byte sequence in a chunk: where it starts within the chunk and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadBytes {
    pub offset: usize,
    pub bytes: Vec<u8>,
}

/// A file that is neither UTF-8 nor CP932, located at its first bad byte sequence. `line` and
/// `column` are 1-based; `column` counts bytes from the start of the line (a BOM counts on line 1).
///
/// `bytes` 0xEF 0xBF 0xBD (U+FFFD, the replacement character) in an otherwise valid UTF-8 file
/// get their own message: that file decoded, but it had already lost text before it reached us.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message_en())]
pub struct EncodingError {
    pub line: u64,
    pub column: u64,
    pub bytes: Vec<u8>,
    /// The file announced UTF-16 with its BOM; `bytes` are a unit that is no character.
    pub utf16: bool,
}

impl EncodingError {
    /// Whether this is a UTF-8 file carrying U+FFFD rather than bytes that decode as nothing.
    pub fn is_replacement_character(&self) -> bool {
        self.bytes == REPLACEMENT_UTF8
    }

    pub fn message_ja(&self) -> String {
        if self.utf16 {
            return format!(
                "{}行目の{}バイト目 ({}) は UTF-16 の文字になりません（対になっていないサロゲート、U+FFFD、またはファイル末尾の欠けたバイト）",
                self.line,
                self.column,
                byte_list(&self.bytes)
            );
        }
        if self.is_replacement_character() {
            return format!(
                "{}行目の{}バイト目に置換文字 U+FFFD (0xEF 0xBF 0xBD) があります。書き出しの時点で読めない文字が置き換えられ、元の文字が失われています",
                self.line, self.column
            );
        }
        format!(
            "{}行目の{}バイト目に文字コードとして読めないバイト列 ({}) があります。Shift_JIS (CP932) でも UTF-8 でもありません",
            self.line,
            self.column,
            byte_list(&self.bytes)
        )
    }

    pub(crate) fn message_en(&self) -> String {
        if self.utf16 {
            return format!(
                "line {}, byte {}: {} is no UTF-16 character (an unpaired surrogate, U+FFFD, or a last byte missing)",
                self.line,
                self.column,
                byte_list(&self.bytes)
            );
        }
        if self.is_replacement_character() {
            return format!(
                "line {}, byte {}: the file contains U+FFFD (the replacement character), so text was already lost when it was exported",
                self.line, self.column
            );
        }
        let (noun, verb) = if self.bytes.len() == 1 {
            ("byte", "is")
        } else {
            ("bytes", "are")
        };
        format!(
            "line {}, byte {}: {noun} {} {verb} neither Shift_JIS (CP932) nor UTF-8",
            self.line,
            self.column,
            byte_list(&self.bytes)
        )
    }
}

/// The bytes as a reader of the message looks them up: `0xEF 0xBF`. Not [`crate::digest::hex`],
/// which writes a digest as one lowercase run.
fn byte_list(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 5);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("0x{b:02X}"));
    }
    out
}

/// Cheap sniff: BOM → [`Encoding::Utf8Bom`]; valid UTF-8, or UTF-8 up to a bad byte that is
/// long and clean ([`broken_utf8`]) or that CP932 fails on sooner ([`cp932_fails_before`]) →
/// [`Encoding::Utf8`]; else [`Encoding::Cp932`], tentatively: strictness is checked when
/// decoding. A file that is neither is then reported where the better reading of it stops.
pub(crate) fn sniff(bytes: &[u8]) -> Encoding {
    if bytes.starts_with(BOM) {
        return Encoding::Utf8Bom;
    }
    match std::str::from_utf8(bytes) {
        Err(e) if !broken_utf8(bytes, &e) && !cp932_fails_before(bytes, e.valid_up_to()) => {
            Encoding::Cp932
        }
        _ => Encoding::Utf8,
    }
}

/// Whether CP932 fails on a line that ends before `end`, where UTF-8 first fails: the file
/// read as UTF-8 got further (a UTF-8 export with a row pasted in from a CP932 one).
fn cp932_fails_before(bytes: &[u8], end: usize) -> bool {
    let lines = memchr::memrchr(b'\n', &bytes[..end]).map_or(0, |lf| lf + 1);
    decode_chunk(&bytes[..lines], Encoding::Cp932).is_err()
}

/// Whether `bytes`, which fail as UTF-8 at `e`, are UTF-8 that broke rather than CP932: at
/// least [`UTF8_EVIDENCE`] multi-byte characters came before the failure. Such a file is read
/// as UTF-8, so its bad bytes are named where they are, not where CP932 first fails on the
/// UTF-8 before them.
fn broken_utf8(bytes: &[u8], e: &std::str::Utf8Error) -> bool {
    let lead_bytes = bytes[..e.valid_up_to()].iter().filter(|&&b| b >= 0xC0);
    lead_bytes.count() >= UTF8_EVIDENCE
}

/// The bytes after any BOM.
pub fn body(bytes: &[u8], enc: Encoding) -> &[u8] {
    match enc {
        Encoding::Utf8Bom => bytes.strip_prefix(BOM).unwrap_or(bytes),
        Encoding::Utf16Le | Encoding::Utf16Be => bytes.get(2..).unwrap_or_default(),
        Encoding::Utf8 | Encoding::Cp932 => bytes,
    }
}

/// The UTF-16 byte order a file's BOM announces (`FF FE` little-endian, `FE FF` big-endian).
pub(crate) fn utf16_bom(bytes: &[u8]) -> Option<Encoding> {
    match bytes {
        [0xFF, 0xFE, ..] => Some(Encoding::Utf16Le),
        [0xFE, 0xFF, ..] => Some(Encoding::Utf16Be),
        _ => None,
    }
}

/// Strictly decodes a whole UTF-16 file that starts with its BOM (`enc` from [`utf16_bom`])
/// into UTF-8. A lone surrogate, an odd last byte or U+FFFD is an [`EncodingError`] located at
/// its line and byte in the UTF-16 file.
pub(crate) fn decode_utf16(bytes: &[u8], enc: Encoding) -> Result<String, EncodingError> {
    let le = enc == Encoding::Utf16Le;
    let body = body(bytes, enc);
    let unit = |p: &[u8]| {
        if le {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    };
    let mut out = String::with_capacity(body.len() + body.len() / 2);
    // The file offset of the next unit, the line it is on and where that line starts.
    let (mut offset, mut line, mut line_start) = (2usize, 1u64, 0usize);
    let located = |offset: usize, line: u64, line_start: usize, bad: &[u8]| EncodingError {
        line,
        column: (offset - line_start + 1) as u64,
        bytes: bad.to_vec(),
        utf16: true,
    };
    for c in char::decode_utf16(body.chunks_exact(2).map(unit)) {
        match c {
            Ok(REPLACEMENT) => {
                return Err(located(
                    offset,
                    line,
                    line_start,
                    &bytes[offset..offset + 2],
                ));
            }
            Ok(c) => {
                out.push(c);
                offset += 2 * c.len_utf16();
                if c == '\n' {
                    line += 1;
                    line_start = offset;
                }
            }
            Err(_) => {
                return Err(located(
                    offset,
                    line,
                    line_start,
                    &bytes[offset..offset + 2],
                ));
            }
        }
    }
    if body.len() % 2 == 1 {
        return Err(located(offset, line, line_start, &bytes[offset..]));
    }
    Ok(out)
}

/// What a file that is neither UTF-8 nor CP932 (or whose header is not found) most likely is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Likely {
    /// No bytes at all.
    Empty,
    /// An Excel workbook (a zip, or an `.xls`'s compound file) named as a text file.
    Workbook,
    EucJp,
    /// UTF-16 without a BOM, little-endian or big-endian.
    Utf16NoBom {
        le: bool,
    },
}

impl Likely {
    /// The message for a rejected file, with how to save it again from Excel.
    pub(crate) fn message(self) -> (String, String) {
        match self {
            Likely::Empty => (
                "ファイルが空です（0 バイト）。書き出しをやり直してください".into(),
                "the file is empty (0 bytes): export it again".into(),
            ),
            Likely::Workbook => (
                "このファイルは Excel のブック（.xlsx または .xls）で、名前の拡張子が違います。拡張子を .xlsx（または .xls）に直して置き直すか、Excel で CSV として保存し直してください".into(),
                "the file is an Excel workbook (.xlsx or .xls) under another extension: rename it to .xlsx (or .xls) and drop it again, or save it from Excel as CSV".into(),
            ),
            Likely::EucJp => (
                "このファイルの文字コードは EUC-JP のようです。EUC-JP は読めません。Excel の［データ］→［テキストまたは CSV から］で元のファイルを「20932: 日本語 (EUC)」として読み込み、［名前を付けて保存］で「CSV (コンマ区切り)」か「CSV UTF-8 (コンマ区切り)」を選んで保存し直してください".into(),
                "the file looks like EUC-JP, which is not read: in Excel, load it with Data > From Text/CSV as `20932: Japanese (EUC)`, then Save As `CSV (Comma delimited)` or `CSV UTF-8 (Comma delimited)`".into(),
            ),
            Likely::Utf16NoBom { le } => {
                let name = if le { "UTF-16LE" } else { "UTF-16BE" };
                (
                    format!("このファイルは BOM のない {name} のようです。BOM がないと文字コードを判定できません。Excel で開き、［名前を付けて保存］で「Unicode テキスト」か「CSV UTF-8 (コンマ区切り)」を選んで保存し直してください"),
                    format!("the file looks like {name} without a BOM (byte-order mark), whose encoding cannot be told for sure: open it in Excel and Save As `Unicode Text` or `CSV UTF-8 (Comma delimited)`, which write one"),
                )
            }
        }
    }
}

/// How much of a file [`likely`] looks at.
pub(crate) const LIKELY_PREFIX: usize = 64 << 10;

/// A guess at the encoding of a file that did not decode as UTF-8 or CP932, or decoded into no
/// known header, from its first bytes: nothing at all; a workbook's signature (a zip's, an
/// `.xls`'s); UTF-16 without a BOM has a NUL in most ASCII characters,
/// on one side of each pair; EUC-JP decodes strictly as EUC-JP, which CP932 Japanese text (with
/// its lead bytes 0x81..=0x9F) almost never does.
pub(crate) fn likely(bytes: &[u8]) -> Option<Likely> {
    if bytes.is_empty() {
        return Some(Likely::Empty);
    }
    if crate::ingest::excel::looks_like_workbook(bytes) {
        return Some(Likely::Workbook);
    }
    let prefix = &bytes[..bytes.len().min(LIKELY_PREFIX)];
    let (mut even, mut odd) = (0usize, 0usize);
    for (i, &b) in prefix.iter().enumerate() {
        if b == 0 {
            if i % 2 == 0 {
                even += 1;
            } else {
                odd += 1;
            }
        }
    }
    // A quarter of the pairs with a NUL, nearly all on one side.
    if (even + odd) * 8 >= prefix.len() && prefix.len() >= 8 {
        if odd >= 9 * even {
            return Some(Likely::Utf16NoBom { le: true });
        }
        if even >= 9 * odd {
            return Some(Likely::Utf16NoBom { le: false });
        }
    }
    // Cut after the last LF, so no character is split.
    let cut = if prefix.len() < bytes.len() {
        memchr::memrchr(b'\n', prefix).map_or(0, |i| i + 1)
    } else {
        prefix.len()
    };
    let text =
        encoding_rs::EUC_JP.decode_without_bom_handling_and_without_replacement(&prefix[..cut])?;
    let japanese = text.chars().filter(|c| !c.is_ascii()).count();
    (japanese >= 4 && !text.contains('\u{FFFD}')).then_some(Likely::EucJp)
}

/// Strictly decodes a chunk of a file's [`body`] that starts and ends on a line boundary (just
/// after a LF, or at the start or end of the file). UTF-8 is borrowed; CP932 is decoded into an
/// owned string. On a malformed sequence (or U+FFFD in UTF-8), returns its offset within `bytes`
/// and the bytes.
pub(crate) fn decode_chunk<'a>(bytes: &'a [u8], enc: Encoding) -> Result<Cow<'a, str>, BadBytes> {
    match enc {
        // UTF-16 reaches the chunks already transcoded to UTF-8 (see [`decode_utf16`]).
        Encoding::Utf8Bom | Encoding::Utf8 | Encoding::Utf16Le | Encoding::Utf16Be => {
            std::str::from_utf8(bytes)
                .map_err(|e| utf8_bad_bytes(bytes, &e))
                .and_then(no_replacement)
                .map(Cow::Borrowed)
        }
        Encoding::Cp932 => decode_cp932(bytes).map(Cow::Owned),
    }
}

/// U+FFFD in a UTF-8 file means text was already lost upstream (an export that replaced what it
/// could not encode); it must not reach the store either.
fn no_replacement(text: &str) -> Result<&str, BadBytes> {
    match text.find(REPLACEMENT) {
        Some(offset) => Err(BadBytes {
            offset,
            bytes: REPLACEMENT_UTF8.to_vec(),
        }),
        None => Ok(text),
    }
}

fn utf8_bad_bytes(bytes: &[u8], e: &std::str::Utf8Error) -> BadBytes {
    let offset = e.valid_up_to();
    // No error_len means the input ended in the middle of a character.
    let end = e.error_len().map_or(bytes.len(), |len| offset + len);
    BadBytes {
        offset,
        bytes: bytes[offset..end].to_vec(),
    }
}

/// [`decode_chunk`] into a caller's buffer (cleared first), so that a reader decoding chunk
/// after chunk reuses one allocation instead of faulting in fresh pages for every chunk. UTF-8 is
/// still borrowed and leaves `buf` untouched.
pub(crate) fn decode_chunk_into<'a>(
    bytes: &'a [u8],
    enc: Encoding,
    buf: &'a mut String,
) -> Result<&'a str, BadBytes> {
    match enc {
        Encoding::Utf8Bom | Encoding::Utf8 | Encoding::Utf16Le | Encoding::Utf16Be => {
            std::str::from_utf8(bytes)
                .map_err(|e| utf8_bad_bytes(bytes, &e))
                .and_then(no_replacement)
        }
        Encoding::Cp932 => {
            buf.clear();
            decode_cp932_into(bytes, buf)?;
            Ok(buf.as_str())
        }
    }
}

fn decode_cp932(bytes: &[u8]) -> Result<String, BadBytes> {
    let mut out = String::new();
    decode_cp932_into(bytes, &mut out)?;
    Ok(out)
}

/// Appends the strict CP932 decoding of `bytes` to `out`, which must be empty.
fn decode_cp932_into(bytes: &[u8], out: &mut String) -> Result<(), BadBytes> {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    // Exact for ASCII plus two-byte characters (2 bytes → 3); only half-width katakana (1 → 3)
    // can need more, and the OutputFull arm below grows the string for it.
    out.reserve(bytes.len() + bytes.len() / 2 + 4);
    let mut read = 0;
    loop {
        let (result, n) = decoder.decode_to_string_without_replacement(&bytes[read..], out, true);
        read += n;
        match result {
            DecoderResult::InputEmpty => break,
            DecoderResult::OutputFull => {
                let rest = bytes.len() - read;
                out.reserve(
                    decoder
                        .max_utf8_buffer_length_without_replacement(rest)
                        .unwrap_or(rest.saturating_mul(3))
                        .max(4),
                );
            }
            DecoderResult::Malformed(len, after) => {
                let end = read.saturating_sub(usize::from(after));
                let start = end.saturating_sub(usize::from(len));
                // A lone 0x80 before the malformed sequence is the first error.
                return Err(find_lone_0x80(out, &bytes[..start])
                    .unwrap_or_else(|| cp932_bad_bytes(bytes, start, end)));
            }
        }
    }
    match find_lone_0x80(out, bytes) {
        Some(bad) => Err(bad),
        None => Ok(()),
    }
}

/// The first lone 0x80 byte in `bytes`, given what they decoded to. WHATWG decodes it to U+0080,
/// which nothing else decodes to, so the cheap search in the output nearly always settles it.
fn find_lone_0x80(decoded: &str, bytes: &[u8]) -> Option<BadBytes> {
    if !decoded.contains('\u{80}') {
        return None;
    }
    cp932_find_0x80(bytes).map(|offset| BadBytes {
        offset,
        bytes: vec![0x80],
    })
}

fn cp932_bad_bytes(bytes: &[u8], start: usize, end: usize) -> BadBytes {
    // A lead byte whose partner is ASCII (0x81 0x7F, or 0x81 before a line break) is reported by
    // the decoder as the lead alone; showing the pair tells the reader more.
    let end = if end == start + 1 && is_cp932_lead(bytes[start]) {
        (end + 1).min(bytes.len())
    } else {
        end
    };
    BadBytes {
        offset: start,
        bytes: bytes[start..end].to_vec(),
    }
}

fn is_cp932_lead(b: u8) -> bool {
    matches!(b, 0x81..=0x9F | 0xE0..=0xFC)
}

/// The offset of a lone 0x80 byte in CP932 text that decoded without error. 0x80 is also a valid
/// trail byte (0x81 0x80 is ÷), hence the walk by character, which is safe once decoding worked.
/// A lead byte at the very end (a truncated pair) is stepped over; the caller reports it.
fn cp932_find_0x80(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            0x80 => return Some(i),
            b if is_cp932_lead(b) => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// Turns a byte offset in the whole file into a 1-based line and a 1-based byte column. Lines end
/// at LF, so a CR belongs to the line it ends. An offset past the end is located at the end.
pub(crate) fn locate(file: &[u8], offset: usize) -> (u64, u64) {
    let before = &file[..offset.min(file.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = before.len() - line_start + 1;
    (line as u64, column as u64)
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A whole file decoded as the readers decode it: UTF-16 by its BOM, else the encoding
    /// [`sniff`] finds, then the body strictly.
    fn decode_file(bytes: &[u8]) -> Result<(Encoding, Cow<'_, str>), EncodingError> {
        if let Some(utf16) = utf16_bom(bytes) {
            return decode_utf16(bytes, utf16).map(|text| (utf16, Cow::Owned(text)));
        }
        let enc = sniff(bytes);
        let bom = bytes.len() - body(bytes, enc).len();
        decode_chunk(&bytes[bom..], enc)
            .map(|text| (enc, text))
            .map_err(|bad| {
                let (line, column) = locate(bytes, bom + bad.offset);
                EncodingError {
                    line,
                    column,
                    bytes: bad.bytes,
                    utf16: false,
                }
            })
    }

    fn to_cp932(s: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = SHIFT_JIS.encode(s);
        assert!(!unmappable, "not encodable in CP932: {s:?}");
        bytes.into_owned()
    }

    #[track_caller]
    fn check_error(input: &[u8], line: u64, column: u64, bad: &[u8]) {
        let err = decode_file(input).unwrap_err();
        assert_eq!(
            (err.line, err.column, err.bytes.as_slice()),
            (line, column, bad),
            "{input:?}"
        );
    }

    #[test]
    fn cp932_extension_characters_round_trip() {
        let text = "①㈱髙﨑德\u{FA10},山田太郎,やまだ,ヤマダ,ﾔﾏﾀﾞ ﾀﾛｳ,～－ー\r\n";
        let bytes = to_cp932(text);
        let (enc, decoded) = decode_file(&bytes).unwrap();
        assert_eq!(enc, Encoding::Cp932);
        assert_eq!(decoded, text);
        assert!(!decoded.contains('\u{FFFD}'));
        assert!(
            decoded.contains('\u{FA10}')
                && decoded.contains('\u{FA11}')
                && decoded.contains('\u{9AD9}')
        );
    }

    #[test]
    fn bom_detected_and_stripped() {
        let (enc, text) = decode_file("\u{FEFF}山田,1\n".as_bytes()).unwrap();
        assert_eq!(enc, Encoding::Utf8Bom);
        assert!(matches!(text, Cow::Borrowed("山田,1\n")));
        assert_eq!(sniff(b"\xEF\xBB\xBFa"), Encoding::Utf8Bom);
        assert_eq!(body(b"\xEF\xBB\xBFa", Encoding::Utf8Bom), b"a");
    }

    #[test]
    fn utf8_without_bom_borrowed() {
        let (enc, text) = decode_file("髙﨑,①\n".as_bytes()).unwrap();
        assert_eq!(enc, Encoding::Utf8);
        assert!(matches!(text, Cow::Borrowed("髙﨑,①\n")));
    }

    #[test]
    fn empty_and_ascii_files_are_utf8() {
        assert_eq!(
            decode_file(b"").unwrap(),
            (Encoding::Utf8, Cow::Borrowed(""))
        );
        assert_eq!(decode_file(b"a,b\r\n").unwrap().0, Encoding::Utf8);
    }

    #[test]
    fn sniff_falls_back_to_cp932() {
        assert_eq!(sniff(&to_cp932("山田")), Encoding::Cp932);
        assert_eq!(sniff("山田".as_bytes()), Encoding::Utf8);
    }

    #[test]
    fn bad_pair_reported_at_line_and_column() {
        check_error(b"a,b\r\nc,\x81\x7f\r\n", 2, 3, &[0x81, 0x7F]);
    }

    #[test]
    fn bad_pair_message_in_both_languages() {
        let err = decode_file(b"a,b\r\nc,\x81\x7f\r\n").unwrap_err();
        assert_eq!(
            err.message_en(),
            "line 2, byte 3: bytes 0x81 0x7F are neither Shift_JIS (CP932) nor UTF-8"
        );
        assert_eq!(err.to_string(), err.message_en());
        assert_eq!(
            err.message_ja(),
            "2行目の3バイト目に文字コードとして読めないバイト列 (0x81 0x7F) があります。Shift_JIS (CP932) でも UTF-8 でもありません"
        );
    }

    #[test]
    fn truncated_lead_byte_at_eof_reported() {
        let mut bytes = to_cp932("山田\n太郎");
        bytes.push(0x82);
        check_error(&bytes, 2, 5, &[0x82]);
        assert_eq!(
            decode_file(&bytes).unwrap_err().message_en(),
            "line 2, byte 5: byte 0x82 is neither Shift_JIS (CP932) nor UTF-8"
        );
    }

    #[test]
    fn lead_byte_before_line_break_reported_with_it() {
        check_error(b"x\x81\r\ny\n", 1, 2, &[0x81, 0x0D]);
    }

    #[test]
    fn unmapped_pair_reported() {
        // 0x85 0x40 is a well-formed pair in an empty CP932 row.
        check_error(b"ok\n\x82\xa0\x85\x40\n", 2, 3, &[0x85, 0x40]);
    }

    #[test]
    fn invalid_single_bytes_reported() {
        check_error(b"a\xA0", 1, 2, &[0xA0]);
        check_error(b"ab\n\xFD", 2, 1, &[0xFD]);
    }

    #[test]
    fn lone_0x80_rejected_although_whatwg_passes_it() {
        let mut bytes = to_cp932("山田\n");
        bytes.extend_from_slice(b"a\x80b\n");
        check_error(&bytes, 2, 2, &[0x80]);
    }

    #[test]
    fn broken_utf8_after_bom_is_not_tried_as_cp932() {
        // 0x82 0xA0 would be あ in CP932, but a BOM settles the encoding.
        check_error(b"\xEF\xBB\xBFab\n\x82\xA0", 2, 1, &[0x82]);
        check_error(b"\xEF\xBB\xBFa\xE3\x81", 1, 5, &[0xE3, 0x81]);
    }

    #[test]
    fn long_utf8_with_one_bad_byte_is_not_decoded_as_cp932() {
        // Valid as CP932 (E3 81 .. pairs and half-width kana), but clearly UTF-8 that lost a byte.
        let mut bytes = "あいうえおかきくけこ\n".repeat(7).into_bytes();
        bytes.extend_from_slice(b"\xE3\x81");
        bytes.extend_from_slice("あいう\n".as_bytes());
        let (line, column) = (8, 1);
        check_error(&bytes, line, column, &[0xE3, 0x81]);
    }

    #[test]
    fn replacement_character_in_utf8_rejected() {
        check_error("名前\n山\u{FFFD}\n".as_bytes(), 2, 4, REPLACEMENT_UTF8);
        check_error("\u{FEFF}\u{FFFD}".as_bytes(), 1, 4, REPLACEMENT_UTF8);
        let err = decode_file("\u{FFFD}".as_bytes()).unwrap_err();
        assert!(err.is_replacement_character());
        assert_eq!(
            err.message_en(),
            "line 1, byte 1: the file contains U+FFFD (the replacement character), so text was already lost when it was exported"
        );
    }

    #[test]
    fn decode_chunk_rejects_replacement_character_too() {
        let bad = decode_chunk("ab\u{FFFD}".as_bytes(), Encoding::Utf8).unwrap_err();
        assert_eq!(
            bad,
            BadBytes {
                offset: 2,
                bytes: REPLACEMENT_UTF8.to_vec()
            }
        );
    }

    #[test]
    fn cp932_trail_byte_0x80_is_fine() {
        // 0x81 0x80 is ÷; only a lone 0x80 is rejected.
        assert_eq!(
            decode_file(b"a\x81\x80\n").unwrap(),
            (Encoding::Cp932, Cow::Owned("a÷\n".into()))
        );
    }

    #[test]
    fn short_cp932_that_is_valid_utf8_reads_as_utf8() {
        // The limit of "strict UTF-8 first": 邉郎 in CP932 is E7 AA 98 59, which is also the UTF-8
        // for 糘Y. A Japanese header row (学 = 0x8A 0x77) rules this out for real files.
        let bytes = to_cp932("邉郎");
        assert_eq!(
            decode_file(&bytes).unwrap(),
            (Encoding::Utf8, Cow::Borrowed("糘Y"))
        );
        let mut with_header = to_cp932("学籍番号,氏名\r\n");
        with_header.extend_from_slice(&bytes);
        assert_eq!(
            decode_file(&with_header).unwrap().1,
            "学籍番号,氏名\r\n邉郎"
        );
    }

    #[test]
    fn lone_0x80_before_a_later_error_is_reported_first() {
        check_error(b"\n\x80\n\n\n\xE0", 2, 1, &[0x80]);
    }

    #[test]
    fn locate_counts_lines_and_bytes() {
        let file = b"ab\r\ncd\nef";
        assert_eq!(locate(file, 0), (1, 1));
        assert_eq!(locate(file, 2), (1, 3));
        assert_eq!(locate(file, 4), (2, 1));
        assert_eq!(locate(file, 8), (3, 2));
        assert_eq!(locate(file, 100), (3, 3));
    }

    #[test]
    fn the_first_error_in_file_order_is_reported() {
        let line = to_cp932("12345,髙﨑,やまだ\r\n");
        let lines = 500;
        let mut bytes = Vec::new();
        for i in 0..lines {
            if i == lines / 2 || i == lines - 3 {
                bytes.extend_from_slice(b"x,\x81\x7f\r\n");
            } else {
                bytes.extend_from_slice(&line);
            }
        }
        check_error(&bytes, lines as u64 / 2 + 1, 3, &[0x81, 0x7F]);
    }

    #[test]
    fn labels() {
        assert_eq!(Encoding::Utf8Bom.label(), "UTF-8 (BOM)");
        assert_eq!(Encoding::Utf8.label(), "UTF-8");
        assert_eq!(Encoding::Cp932.label(), "CP932 (Windows-31J)");
        assert_eq!(Encoding::Utf16Le.label(), "UTF-16LE (BOM)");
        assert_eq!(Encoding::Utf16Be.label(), "UTF-16BE (BOM)");
    }

    const CP932_TEXT: &str = "[a-zA-Z0-9,\r\n ぁ-んァ-ヶｦ-ﾟ①-⑳㈱山田太郎髙高﨑崎德徳\u{FA10}塚渡邊邉齋藤鈴木～－ー÷]{0,64}";

    fn check_decode_law(bytes: &[u8]) -> Result<(), TestCaseError> {
        match decode_file(bytes) {
            Ok((_, text)) => prop_assert!(!text.contains(REPLACEMENT)),
            // A UTF-16 file's lines end at the unit U+000A, and its columns count bytes.
            Err(e) if e.utf16 => {
                let (le, body) = (bytes[0] == 0xFF, &bytes[2..]);
                let units: Vec<u16> = body
                    .chunks(2)
                    .map(|p| match (p, le) {
                        ([a, b], true) => u16::from_le_bytes([*a, *b]),
                        ([a, b], false) => u16::from_be_bytes([*a, *b]),
                        _ => 0xFFFF,
                    })
                    .collect();
                let lines = 1 + units.iter().filter(|&&u| u == 0x0A).count();
                prop_assert!(e.line >= 1 && e.line as usize <= lines);
                prop_assert!(e.column >= 1 && e.column as usize <= bytes.len());
                prop_assert!(!e.bytes.is_empty() && e.bytes.len() <= 2);
            }
            Err(e) => {
                let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
                prop_assert!(e.line >= 1 && e.line as usize <= lines.len());
                let line_len = lines[e.line as usize - 1].len() as u64;
                prop_assert!(e.column >= 1 && e.column <= line_len);
                prop_assert!(!e.bytes.is_empty());
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            check_decode_law(&bytes)?;
        }

        #[test]
        fn cp932_like_bytes_never_panic(
            bytes in prop::collection::vec(prop_oneof![
                Just(b'\n'), Just(b'\r'), Just(b','), 0x20u8..0x7F, 0x80u8..=0x9F, 0xA0u8..=0xDF, 0xE0u8..=0xFF,
            ], 0..256)
        ) {
            check_decode_law(&bytes)?;
        }

        /// What the readers' chunked decoding rests on: CP932 decoded in two pieces cut just
        /// after a LF is CP932 decoded whole, errors included (LF is never a trail byte).
        #[test]
        fn cutting_after_a_lf_never_changes_the_result(
            bytes in prop::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..256),
            at in 0usize..256,
        ) {
            let cut = bytes
                .iter()
                .skip(at)
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| at + i + 1);
            let (head, tail) = bytes.split_at(cut.min(bytes.len()));
            let pieces = decode_cp932(head).and_then(|h| {
                decode_cp932(tail)
                    .map(|t| h + &t)
                    .map_err(|bad| BadBytes { offset: head.len() + bad.offset, ..bad })
            });
            prop_assert_eq!(pieces, decode_cp932(&bytes));
        }

        #[test]
        fn cp932_text_round_trips_or_reads_as_utf8(s in CP932_TEXT) {
            let bytes = to_cp932(&s);
            let (enc, decoded) = decode_file(&bytes).unwrap();
            // By the rule, bytes that are valid UTF-8 are read as UTF-8, even when they were
            // meant as CP932: see `short_cp932_that_is_valid_utf8_reads_as_utf8`.
            if std::str::from_utf8(&bytes).is_ok() {
                prop_assert_eq!(enc, Encoding::Utf8);
            } else {
                prop_assert_eq!(enc, Encoding::Cp932);
                prop_assert_eq!(decoded, s);
            }
        }

        #[test]
        fn cp932_file_with_japanese_header_round_trips(s in CP932_TEXT) {
            let text = format!("学籍番号,氏名\r\n{s}");
            let bytes = to_cp932(&text);
            let (enc, decoded) = decode_file(&bytes).unwrap();
            prop_assert_eq!(enc, Encoding::Cp932);
            prop_assert_eq!(decoded, text);
        }
    }
}
