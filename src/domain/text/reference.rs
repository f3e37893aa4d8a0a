//! The folds as they were before the fast path: a verbatim copy of the old `fold_key` and
//! `fold_kana_key`, kept only to test the new ones against (byte-identical output for every
//! input) and to measure them against in `examples/fold_bench.rs`. Self-contained on purpose, so
//! that later changes to the helpers in `text.rs` cannot quietly change the reference too.

use unicode_normalization::UnicodeNormalization;

/// The old `fold_key`.
pub fn reference_fold_key(s: &str) -> String {
    if s.is_ascii() {
        return fold_ascii(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut again = fold_once(s, &mut out);
    for _ in 0..3 {
        if !again {
            break;
        }
        let mut next = String::with_capacity(out.len());
        again = fold_once(&out, &mut next);
        out = next;
    }
    out
}

/// The old `fold_kana_key`.
pub fn reference_fold_kana_key(s: &str) -> String {
    let key = reference_fold_key(s);
    if key.is_ascii() {
        return key;
    }
    let kata: String = key.chars().map(hiragana_to_katakana).collect();
    if kata.contains(['\u{3099}', '\u{309A}']) {
        reference_fold_key(&kata)
    } else {
        kata
    }
}

fn hiragana_to_katakana(c: char) -> char {
    match c {
        '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => {
            char::from_u32(u32::from(c) + 0x60).unwrap_or(c)
        }
        _ => c,
    }
}

fn fold_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    out.extend(
        s.chars()
            .filter(|c| !is_space_like(*c))
            .map(|c| c.to_ascii_lowercase()),
    );
    out
}

fn fold_once(s: &str, out: &mut String) -> bool {
    let mut again = false;
    let mut rest = s;
    loop {
        let protected = rest
            .char_indices()
            .find(|&(_, c)| is_compatibility_ideograph(c));
        let run = match protected {
            Some((i, _)) => &rest[..i],
            None => rest,
        };
        for c in run.nfkc() {
            again |= push_folded(c, out);
        }
        match protected {
            Some((i, c)) => {
                out.push(c);
                rest = &rest[i + c.len_utf8()..];
            }
            None => return again,
        }
    }
}

fn push_folded(c: char, out: &mut String) -> bool {
    if is_space_like(c) {
        return true;
    }
    match c {
        '\u{301C}' | '\u{FF5E}' => out.push('~'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FF0D}' | '\u{FE58}' | '\u{FE63}' => {
            out.push('-')
        }
        c if c.is_ascii_uppercase() => {
            out.push(c.to_ascii_lowercase());
            return true;
        }
        c if c.is_uppercase() => {
            out.extend(c.to_lowercase());
            return true;
        }
        c => out.push(c),
    }
    false
}

fn is_space_like(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

fn is_compatibility_ideograph(c: char) -> bool {
    matches!(c, '\u{F900}'..='\u{FAFF}' | '\u{2F800}'..='\u{2FA1F}')
}
