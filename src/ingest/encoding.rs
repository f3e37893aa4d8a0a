//! Encoding detection (placeholder with the helper's interface; replaced when `text` merges).
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    Utf8Bom,
    Utf8,
    Cp932,
}
impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8Bom => "UTF-8 (BOM)",
            Encoding::Utf8 => "UTF-8",
            Encoding::Cp932 => "CP932 (Windows-31J)",
        }
    }
}
pub fn sniff(bytes: &[u8]) -> Encoding {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        Encoding::Utf8Bom
    } else if std::str::from_utf8(bytes).is_ok() {
        Encoding::Utf8
    } else {
        Encoding::Cp932
    }
}
pub fn body(bytes: &[u8], enc: Encoding) -> &[u8] {
    if enc == Encoding::Utf8Bom {
        &bytes[3..]
    } else {
        bytes
    }
}
pub struct BadBytes {
    pub offset: usize,
    pub bytes: Vec<u8>,
}
pub fn decode_chunk(bytes: &[u8], enc: Encoding) -> Result<Cow<'_, str>, BadBytes> {
    match enc {
        Encoding::Cp932 => encoding_rs::SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(bytes)
            .ok_or(BadBytes {
                offset: 0,
                bytes: vec![],
            }),
        _ => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|e| BadBytes {
                offset: e.valid_up_to(),
                bytes: vec![],
            }),
    }
}
pub fn locate(file: &[u8], offset: usize) -> (u64, u64) {
    let before = &file[..offset.min(file.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, (offset - start) as u64 + 1)
}
