//! Text normalization for matching (interface; the full folds land with the text helper).

use unicode_normalization::UnicodeNormalization;

/// The key two names are matched on: NFKC plus explicit folds; spaces removed.
pub fn fold_key(s: &str) -> String {
    s.nfkc().filter(|c| !c.is_whitespace()).collect()
}

/// Identifiers and codes: trimmed, full-width ASCII folded (placeholder until the text helper lands).
pub fn fold_id(s: &str) -> std::borrow::Cow<'_, str> {
    let t = trim_cell(s);
    if t.is_ascii() {
        t.into()
    } else {
        t.nfkc().collect::<String>().into()
    }
}

/// Trims spreadsheet padding: ASCII whitespace, U+3000 and U+00A0.
pub fn trim_cell(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{3000}' || c == '\u{a0}')
}

/// Kana-name key (placeholder until the text helper lands): fold_key, hiragana → katakana.
pub fn fold_kana_key(s: &str) -> String {
    fold_key(s)
        .chars()
        .map(|c| {
            if ('\u{3041}'..='\u{3096}').contains(&c) {
                char::from_u32(c as u32 + 0x60).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// Kana name folded for romanization, keeping one ASCII space between family and given names.
pub fn fold_kana_key_spaced(s: &str) -> String {
    s.split(|c: char| c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(fold_kana_key)
        .collect::<Vec<_>>()
        .join(" ")
}
