//! Text normalization for matching. The original text is what we store and print; the keys made
//! here are only what two values are compared on, so a fold can be generous without ever
//! changing what a person sees.
//!
//! Three strengths, for three kinds of cell:
//! - [`fold_id`] for identifiers and codes (`student_no`, `ecs_id`, department codes): trim and
//!   full-width ASCII → ASCII, nothing else. It runs on every cell, so it borrows when it can.
//! - [`fold_key`] for names and free text: NFKC plus explicit folds for spaces, wave dashes, minus
//!   signs and letter case. Variant kanji (髙/高, 﨑/崎, 塚/塚) are never folded: they may make a
//!   review candidate, never an automatic match.
//! - [`fold_kana_key`] for kana readings: [`fold_key`], then hiragana → katakana.
//!
//! The two name folds run on every registrar row, so each has an `_into` form that writes into a
//! reused buffer, and a fast path that skips NFKC for the characters Japanese names are made of
//! (see `fold_fast`); the rest takes the exact NFKC fold.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// Trims ASCII whitespace, U+3000 (ideographic space) and U+00A0 (no-break space) from both ends.
/// Excel pads cells with all three.
pub(crate) fn trim_cell(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{3000}' || c == '\u{A0}')
}

/// A cell's text on one line: each run of spaces, tabs and line breaks that holds a tab or a line
/// break becomes one space. Excel keeps a line break typed into a cell (Alt+Enter, or a wrapped
/// 所属 pasted from elsewhere) and exports it; a name or faculty is one line wherever it is shown
/// (a letter's address, a mail's greeting, the directory's `cn`). Full-width spaces are kept:
/// they are part of how a Japanese name is written.
///
/// Borrows when there is nothing to change, which is nearly always.
pub(crate) fn one_line(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            run.push(c);
            continue;
        }
        flush_run(&mut out, &mut run);
        out.push(c);
    }
    flush_run(&mut out, &mut run);
    Cow::Owned(out)
}

/// Ends a run of [`one_line`]'s white space: as it was when it is only spaces, else one space.
fn flush_run(out: &mut String, run: &mut String) {
    if run.contains(['\t', '\n', '\r']) {
        out.push(' ');
    } else {
        out.push_str(run);
    }
    run.clear();
}

/// The key identifiers and codes are matched on: [`trim_cell`], then full-width ASCII
/// (U+FF01..=U+FF5E) → ASCII. Case, inner spaces and everything else are kept, because in a code
/// they may mean something.
///
/// Borrows when the trimmed cell is already ASCII, which is nearly always.
pub(crate) fn fold_id(s: &str) -> Cow<'_, str> {
    let t = trim_cell(s);
    if t.is_ascii() {
        return Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(t.len());
    out.extend(t.chars().map(full_width_ascii_to_ascii));
    Cow::Owned(out)
}

fn full_width_ascii_to_ascii(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => u8::try_from(u32::from(c) - 0xFEE0).map_or(c, char::from),
        _ => c,
    }
}

/// The key names and free text are matched on.
///
/// NFKC, which among other things turns full-width ASCII into ASCII and half-width katakana into
/// full-width (voiced marks included: ｶﾞ → ガ, ｰ → ー), plus these folds:
/// - every space-like character is removed: White_Space (ASCII space, tab, U+00A0, U+3000, all
///   of Zs...) and the invisible U+200B, U+2060, U+FEFF that copy-paste from the web leaves;
/// - wave dashes 〜 (U+301C) and ～ (U+FF5E) → `~`;
/// - minus and hyphen variants (U+2010..=U+2015, U+2212, U+FF0D, U+FE58, U+FE63) → `-`; the
///   katakana prolonged sound mark ー (U+30FC) is a letter, not a minus, and stays;
/// - letters to lowercase.
///
/// Variant kanji are never folded. NFKC would map some CJK compatibility ideographs to their
/// unified form (塚 U+FA10 → 塚 U+585A) while leaving others alone (﨑 U+FA11 has no
/// decomposition), so characters in U+F900..=U+FAFF and U+2F800..=U+2FA1F are kept as written and
/// only the runs between them are normalized.
///
/// Idempotent: `fold_key(&fold_key(s)) == fold_key(s)`.
///
/// Allocates the key it returns; to fold many cells, reuse one buffer with [`fold_key_into`].
pub fn fold_key(s: &str) -> String {
    let mut out = String::new();
    fold_key_into(s, &mut out);
    out
}

/// [`fold_key`] written into `out`, which is cleared first and whose capacity is reused.
///
/// Every registrar row's name is folded in the nightly plan, so the usual cell (kanji, kana,
/// spaces, ASCII, half-width katakana) takes a single pass with no NFKC and, once `out` has grown
/// to the longest name, no allocation. Anything else goes through the full NFKC fold; the two give
/// the same bytes for every input (tested against the old implementation).
pub fn fold_key_into(s: &str, out: &mut String) {
    if !fold_fast::<false>(s, out) {
        fold_exact(s, out);
    }
}

/// [`fold_key`], then hiragana → katakana, so やまだ, ヤマダ and ﾔﾏﾀﾞ give one key. Small kana
/// stay small (ァ ≠ ア): they are different readings.
///
/// Allocates the key it returns; to fold many cells, reuse one buffer with
/// [`fold_kana_key_into`].
pub fn fold_kana_key(s: &str) -> String {
    let mut out = String::new();
    fold_kana_key_into(s, &mut out);
    out
}

/// [`fold_kana_key`] written into `out`, which is cleared first and whose capacity is reused.
/// Same fast path as [`fold_key_into`], with hiragana turned into katakana in the same pass.
pub fn fold_kana_key_into(s: &str, out: &mut String) {
    if fold_fast::<true>(s, out) {
        return;
    }
    fold_exact(s, out);
    if out.is_ascii() {
        return;
    }
    let kata: String = out.chars().map(hiragana_to_katakana).collect();
    // A voiced mark that had nothing to compose with on a hiragana may have one on the katakana
    // (わ゙ has no precomposed form, ヷ does), so fold once more when one is left over.
    if kata.contains(['\u{3099}', '\u{309A}']) {
        fold_exact(&kata, out);
    } else {
        out.clear();
        out.push_str(&kata);
    }
}

fn hiragana_to_katakana(c: char) -> char {
    match c {
        // ぁ..ゖ and the iteration marks ゝゞ sit exactly 0x60 below their katakana.
        '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => {
            char::from_u32(u32::from(c) + 0x60).unwrap_or(c)
        }
        _ => c,
    }
}

/// The folds without running NFKC, for text made only of characters whose NFKC result is known
/// whatever their neighbours are. Returns `false` at the first other character; `out` then holds
/// a partial key, which the caller overwrites with the exact fold.
///
/// Why this is exact: every character accepted here either is removed (a space-like character,
/// whose NFKC is itself or U+0020, removed either way), or NFKC-maps to one fixed character
/// (itself, or for full-width ASCII, half-width katakana and a few dashes the obvious one) that
/// is a starter with NFKC_Quick_Check=Yes. Such a character never composes with what precedes it,
/// and none of them composes with a following starter, so NFKC works character by character and
/// removing a space brings nothing together that could compose; the second pass of
/// [`fold_exact`] would change nothing. The one exception is handled on the spot: a half-width
/// voiced mark ﾞ/ﾟ right after a half-width kana it composes with (ｶﾞ → ガ); a mark anywhere else
/// (after a full-width kana, after a space, alone, doubled) falls back. Combining characters such
/// as U+3099, compatibility ideographs (kept as written by the exact fold) and everything
/// unlisted fall back too.
///
/// `KANA` turns hiragana into katakana as [`fold_kana_key`] does; the output then holds no
/// hiragana and no combining mark, so the kana refold never applies.
fn fold_fast<const KANA: bool>(s: &str, out: &mut String) -> bool {
    out.clear();
    // The fold never lengthens text (half-width kana stay 3 bytes, ｶﾞ goes from 6 to 3, full-width
    // ASCII from 3 to 1), so this is the only reservation.
    out.reserve(s.len());
    if s.is_ascii() {
        // Romaji names and codes: byte by byte, with no UTF-8 decoding.
        for b in s.bytes() {
            match b {
                b' ' | b'\t'..=b'\r' => {}
                _ => out.push(char::from(b.to_ascii_lowercase())),
            }
        }
        return true;
    }
    // `s[copied..i]` is a pending run of characters that fold to themselves, copied in one go.
    let mut copied = 0;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        let mut end = i + c.len_utf8();
        let folded = match c {
            // Unified ideographs (Extension A, the main block, Extension B), 々, full-width
            // katakana ァ..ヺ with ・ and ー: NFKC leaves them alone and they have no case.
            '\u{4E00}'..='\u{9FFF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{20000}'..='\u{2A6DF}'
            | '\u{3005}'
            | '\u{30A1}'..='\u{30FC}' => continue,
            '\u{3041}'..='\u{3096}' => {
                if KANA {
                    Some(hiragana_to_katakana(c))
                } else {
                    continue;
                }
            }
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            // The ASCII White_Space characters, and the rest of the removed space-like set that
            // Excel and web copy-paste put in names (U+3000 and U+00A0 NFKC to U+0020).
            ' ' | '\t'..='\r' | '\u{3000}' | '\u{A0}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' => {
                None
            }
            '\0'..='\x7F' => continue,
            // U+2011 NFKCs to U+2010, U+FE58 to U+2014 and U+FE63 to U+002D: all end as `-`.
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' => Some('-'),
            '\u{301C}' => Some('~'),
            // Full-width ASCII NFKCs to ASCII (－ to `-` and ～ to `~` among them).
            '\u{FF01}'..='\u{FF5E}' => Some(full_width_ascii_to_ascii(c).to_ascii_lowercase()),
            '\u{FF61}'..='\u{FF9D}' => {
                let Some(&base) = usize::try_from(u32::from(c) - 0xFF61)
                    .ok()
                    .and_then(|k| HALF_WIDTH_KANA.get(k))
                else {
                    return false;
                };
                match chars.as_str().chars().next() {
                    Some(m @ ('\u{FF9E}' | '\u{FF9F}')) => {
                        // NFKC makes ﾞ/ﾟ the combining U+3099/U+309A and composes them with the
                        // full-width base when Unicode has the precomposed kana.
                        let mark = if m == '\u{FF9E}' {
                            '\u{3099}'
                        } else {
                            '\u{309A}'
                        };
                        let Some(voiced) = unicode_normalization::char::compose(base, mark) else {
                            return false;
                        };
                        chars.next();
                        end += m.len_utf8();
                        Some(voiced)
                    }
                    _ => Some(base),
                }
            }
            _ => return false,
        };
        if copied < i {
            out.push_str(&s[copied..i]);
        }
        if let Some(f) = folded {
            out.push(f);
        }
        copied = end;
    }
    out.push_str(&s[copied..]);
    true
}

/// NFKC of the half-width katakana block U+FF61..=U+FF9D (｡ to ﾝ), one full-width character
/// each. The half-width voiced marks U+FF9E/U+FF9F are not here: they combine.
const HALF_WIDTH_KANA: [char; 61] = [
    '。', '「', '」', '、', '・', 'ヲ', 'ァ', 'ィ', 'ゥ', 'ェ', 'ォ', 'ャ', 'ュ', 'ョ', 'ッ', 'ー',
    'ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク', 'ケ', 'コ', 'サ', 'シ', 'ス', 'セ', 'ソ', 'タ',
    'チ', 'ツ', 'テ', 'ト', 'ナ', 'ニ', 'ヌ', 'ネ', 'ノ', 'ハ', 'ヒ', 'フ', 'ヘ', 'ホ', 'マ', 'ミ',
    'ム', 'メ', 'モ', 'ヤ', 'ユ', 'ヨ', 'ラ', 'リ', 'ル', 'レ', 'ロ', 'ワ', 'ン',
];

/// The exact [`fold_key`] into `out` (cleared first): NFKC with the folds, repeated while a pass
/// removed a character or changed a case.
fn fold_exact(s: &str, out: &mut String) {
    out.clear();
    let mut again = fold_once(s, out);
    // Removing a space can bring a base letter next to a combining mark that NFKC split off
    // (`か゛` → `か \u{3099}` → `か\u{3099}`), and that pair only composes on a second pass. The
    // second pass removes nothing (NFKC output holds no compatibility characters), so this ends;
    // the bound is a backstop, not a limit we expect to reach.
    for _ in 0..3 {
        if !again {
            break;
        }
        let previous = out.clone();
        out.clear();
        again = fold_once(&previous, out);
    }
}

/// One pass of the folds into `out`. Returns whether it removed a character or changed a
/// character's case, the two things that can make a second pass differ.
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

/// Pushes the fold of one NFKC-normalized character.
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
            // A lowercase letter can compose where its capital cannot (t + U+0308 is ẗ, T + U+0308
            // is nothing), so a case change also asks for a second pass.
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

/// CJK compatibility ideographs: variant kanji with their own code points (﨑, 塚, 德 in some
/// fonts...). Some of them have canonical decompositions, which NFKC (and even NFC) would apply.
fn is_compatibility_ideograph(c: char) -> bool {
    matches!(c, '\u{F900}'..='\u{FAFF}' | '\u{2F800}'..='\u{2FA1F}')
}

/// Kana name folded for romanization, keeping one ASCII space between family and given names.
pub(crate) fn fold_kana_key_spaced(s: &str) -> String {
    s.split(|c: char| c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(fold_kana_key)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `c` is a private-use character: a 外字, a character a university or a vendor added
/// for itself (CP932's user-defined area F040–F9FC decodes to U+E000–U+E757). It prints as a
/// blank or a box anywhere else, so a name holding one is never taken silently.
pub(crate) fn is_private_use(c: char) -> bool {
    matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}')
}

/// Whether `s` holds a private-use character ([`is_private_use`]). Such a character's UTF-8
/// starts with a byte of 0xEE or more, so most text is settled by one pass over its bytes,
/// written as a fold without an early exit so that it compiles to wide compares (every text
/// cell of a national export passes here).
pub(crate) fn has_private_use(s: &str) -> bool {
    s.bytes().fold(false, |high, b| high | (b >= 0xEE)) && s.chars().any(is_private_use)
}

#[cfg(test)]
mod reference;

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::reference::{reference_fold_kana_key, reference_fold_key};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn private_use_characters_are_told_from_their_neighbours() {
        for (s, private) in [
            ("山田　太郎", false),
            ("\u{E000}橋", true),
            ("Ａ１ｱ", false),
            ("\u{F8FF}", true),
            ("\u{F900}\u{FA10}", false),
            ("\u{D7FF}\u{E000}", true),
            ("\u{F0000}", true),
            ("\u{10FFFD}", true),
            ("😀", false),
        ] {
            assert_eq!(has_private_use(s), private, "{s:?}");
        }
    }

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(fold_key(input), expected, "fold_key({input:?})");
    }

    #[track_caller]
    fn check_kana(input: &str, expected: &str) {
        assert_eq!(fold_kana_key(input), expected, "fold_kana_key({input:?})");
    }

    #[test]
    fn u3000_space_removed() {
        check("山田\u{3000}太郎", "山田太郎");
    }

    #[test]
    fn ascii_space_and_tab_removed() {
        check(" Yamada\tTaro ", "yamadataro");
    }

    #[test]
    fn no_break_and_other_zs_spaces_removed() {
        check("山田\u{A0}太郎\u{2003}\u{202F}\u{205F}", "山田太郎");
    }

    #[test]
    fn zero_width_space_and_bom_removed() {
        check("\u{FEFF}山田\u{200B}太郎", "山田太郎");
    }

    #[test]
    fn wave_dashes_become_tilde() {
        check("4月1日〜3月31日", "4月1日~3月31日");
        check("4月1日～3月31日", "4月1日~3月31日");
    }

    #[test]
    fn minus_variants_become_hyphen_minus() {
        for dash in ['－', '−', '‐', '‑', '‒', '–', '—', '―', '﹘', '﹣', '-'] {
            check(&format!("1{dash}2"), "1-2");
        }
    }

    #[test]
    fn prolonged_sound_mark_is_not_minus() {
        check("ヨーコ", "ヨーコ");
    }

    #[test]
    fn half_width_prolonged_sound_mark_becomes_full_width() {
        check("ﾖｰｺ", "ヨーコ");
    }

    #[test]
    fn half_width_kana_becomes_full_width() {
        check("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ");
    }

    #[test]
    fn half_width_voiced_marks_compose() {
        check("ｶﾞｷﾞｸﾞﾊﾟﾋﾟｳﾞ", "ガギグパピヴ");
    }

    #[test]
    fn spacing_voiced_mark_after_space_removal_composes() {
        // ゛ (U+309B) is NFKC'd to space + U+3099; with the space gone, か + U+3099 is が.
        check("か゛", "が");
    }

    #[test]
    fn full_width_latin_and_digits_become_ascii_lowercase() {
        check("ＡＢＣ１２３", "abc123");
    }

    #[test]
    fn latin_letters_lowercased() {
        check("McDONALD Émile", "mcdonaldémile");
    }

    #[test]
    fn decomposed_accent_composes() {
        check("E\u{301}mile", "émile");
    }

    #[test]
    fn lowercased_letter_composes_with_following_mark() {
        // Found by the idempotence proptest: T + U+0308 has no composite, t + U+0308 is ẗ.
        check("T\u{308}", "\u{1E97}");
    }

    #[test]
    fn variant_kanji_not_folded() {
        check("髙橋", "髙橋");
        check("高橋", "高橋");
        check("山﨑", "山﨑");
        check("德川", "德川");
        assert_ne!(fold_key("髙橋"), fold_key("高橋"));
        assert_ne!(fold_key("山﨑"), fold_key("山崎"));
        assert_ne!(fold_key("德川"), fold_key("徳川"));
    }

    #[test]
    fn compatibility_ideograph_with_decomposition_kept() {
        // U+FA10 塚 has a canonical decomposition to U+585A 塚; plain NFKC would merge them.
        assert_eq!("\u{FA10}".nfkc().collect::<String>(), "\u{585A}");
        check("大\u{FA10}", "大\u{FA10}");
        assert_ne!(fold_key("大\u{FA10}"), fold_key("大\u{585A}"));
        // The supplement block too: U+2F8A6 decomposes to U+6148.
        check("\u{2F8A6}", "\u{2F8A6}");
    }

    #[test]
    fn runs_around_compatibility_ideographs_still_normalized() {
        check(
            "ﾔﾏ\u{FA11}\u{3000}ＡＢ\u{FA10}ｶﾞ",
            "ヤマ\u{FA11}ab\u{FA10}ガ",
        );
    }

    #[test]
    fn circled_digits_and_ligatures_unfolded_by_nfkc() {
        check("①㈱㍻", "1(株)平成");
    }

    #[test]
    fn empty_and_spaces_only_become_empty() {
        check("", "");
        check(" \u{3000}\t", "");
    }

    #[test]
    fn ascii_fast_path_matches_general_path() {
        for s in ["", "Abc Def", "a\tb\nc\x0bd\x0ce\rf", "A-B~C", "\x00\x7f"] {
            let mut general = String::new();
            fold_once(s, &mut general);
            let mut fast = String::new();
            assert!(fold_fast::<false>(s, &mut fast), "{s:?}");
            assert_eq!(fast, general, "{s:?}");
        }
    }

    #[test]
    fn hiragana_katakana_and_half_width_share_a_kana_key() {
        let key = fold_kana_key("ヤマダ");
        check_kana("やまだ", &key);
        check_kana("ﾔﾏﾀﾞ", &key);
        check_kana("やま　だ", &key);
    }

    #[test]
    fn kana_key_keeps_small_kana_and_prolonged_mark() {
        check_kana("じぇーむず", "ジェームズ");
        assert_ne!(fold_kana_key("ぁ"), fold_kana_key("あ"));
    }

    #[test]
    fn kana_key_folds_iteration_marks_and_vu() {
        check_kana("いすゞ", "イスヾ");
        check_kana("ゔぁ", "ヴァ");
    }

    #[test]
    fn kana_key_composes_voiced_wa() {
        // わ + U+3099 has no precomposed hiragana; ワ + U+3099 is ヷ (U+30F7).
        check_kana("わ\u{3099}", "\u{30F7}");
    }

    #[test]
    fn trim_cell_trims_excel_padding() {
        assert_eq!(trim_cell("\u{3000} 山田\u{A0}\r\n"), "山田");
        assert_eq!(trim_cell("山 田"), "山 田");
        assert_eq!(trim_cell(""), "");
    }

    #[test]
    fn one_line_turns_line_breaks_and_tabs_into_one_space() {
        let cases = [
            ("山田　太郎", "山田　太郎"),
            ("Yamada  Taro", "Yamada  Taro"),
            ("山田\n太郎", "山田 太郎"),
            ("山田\r\n太郎", "山田 太郎"),
            ("工学部 \r\n 情報工学科", "工学部 情報工学科"),
            ("山田\t\t太郎", "山田 太郎"),
            ("山田　\n太郎", "山田　 太郎"),
            ("a\nb c\td", "a b c d"),
            ("", ""),
        ];
        for (cell, expected) in cases {
            assert_eq!(one_line(cell), expected, "{cell:?}");
        }
        assert!(matches!(one_line("山田 太郎"), Cow::Borrowed(_)));
    }

    #[test]
    fn fold_id_borrows_clean_ascii() {
        assert!(matches!(fold_id("24A1234"), Cow::Borrowed("24A1234")));
        assert!(matches!(fold_id("  24A1234\r"), Cow::Borrowed("24A1234")));
    }

    #[test]
    fn fold_id_full_width_becomes_ascii() {
        let id = fold_id("\u{3000}２４Ａ１２３４－ｘ\u{3000}");
        assert!(matches!(id, Cow::Owned(_)));
        assert_eq!(id, "24A1234-x");
    }

    #[test]
    fn fold_id_keeps_case_and_non_ascii() {
        assert_eq!(fold_id("Ab"), "Ab");
        assert_eq!(fold_id("ａ髙"), "a髙");
    }

    /// Characters around the boundaries the folds care about, mixed with anything at all.
    fn tricky_string() -> impl Strategy<Value = String> {
        let tricky = prop::sample::select(vec![
            ' ',
            '\u{3000}',
            '\u{A0}',
            '\u{200B}',
            '\u{309B}',
            '\u{309C}',
            '\u{3099}',
            '\u{309A}',
            '\u{301}',
            '\u{308}',
            '\u{A8}',
            'ｶ',
            'ﾞ',
            'ﾟ',
            'ｰ',
            'ー',
            'か',
            'わ',
            'ワ',
            '\u{FA10}',
            '\u{FA11}',
            '\u{2F8A6}',
            '髙',
            '①',
            '㍻',
            'Ａ',
            'İ',
            'Σ',
            'ß',
            '～',
            '〜',
            '−',
            'e',
            'E',
            '\u{1100}',
            '\u{1161}',
            '\u{11A8}',
        ]);
        prop::collection::vec(prop_oneof![tricky, any::<char>()], 0..24)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn fold_key_is_idempotent(s in tricky_string()) {
            let once = fold_key(&s);
            prop_assert_eq!(fold_key(&once), once);
        }

        #[test]
        fn fold_key_is_idempotent_on_any_text(s in "\\PC*") {
            let once = fold_key(&s);
            prop_assert_eq!(fold_key(&once), once);
        }

        #[test]
        fn fold_kana_key_is_idempotent(s in tricky_string()) {
            let once = fold_kana_key(&s);
            prop_assert_eq!(fold_kana_key(&once), once);
        }

        #[test]
        fn fold_key_keeps_no_space(s in tricky_string()) {
            prop_assert!(!fold_key(&s).chars().any(is_space_like));
        }

        #[test]
        fn fold_id_is_idempotent(s in tricky_string()) {
            let once = fold_id(&s).into_owned();
            prop_assert_eq!(fold_id(&once), once.as_str());
        }
    }

    #[test]
    fn fold_key_leaves_no_replacement_or_protected_change() {
        let s = "髙﨑德\u{FA10}";
        assert_eq!(
            fold_key(s)
                .chars()
                .filter(|c| is_compatibility_ideograph(*c))
                .count(),
            2
        );
        assert!(!fold_key(s).contains('\u{FFFD}'));
        assert_eq!(fold_key(s).chars().count(), 4);
        assert_eq!(fold_key(s).chars().last().unwrap(), '\u{FA10}');
    }

    #[track_caller]
    fn check_against_reference(s: &str) {
        assert_eq!(fold_key(s), reference_fold_key(s), "fold_key({s:?})");
        assert_eq!(
            fold_kana_key(s),
            reference_fold_kana_key(s),
            "fold_kana_key({s:?})"
        );
    }

    #[test]
    fn half_width_kana_table_is_nfkc() {
        for (k, &full) in HALF_WIDTH_KANA.iter().enumerate() {
            let half = char::from_u32(0xFF61 + u32::try_from(k).unwrap()).unwrap();
            assert_eq!(
                half.to_string().nfkc().collect::<String>(),
                full.to_string()
            );
        }
        assert_eq!(HALF_WIDTH_KANA.last(), Some(&'ン'));
    }

    #[test]
    fn fast_path_takes_the_usual_names() {
        let mut out = String::new();
        for s in [
            "山田\u{3000}太郎",
            "佐々木 花子",
            "\u{20BB7}野",
            "やまだ たろう",
            "ヤマダ\u{3000}タロウ",
            "ﾔﾏﾀﾞ ﾀﾛｳ",
            "ｶﾞｷﾞｸﾞﾊﾟﾋﾟｳﾞﾜﾞｦﾞ",
            "ジョン・スミス",
            "Yamada Taro",
            "ＹＡＭＡＤＡ　１２３",
            "1〜2－3",
        ] {
            assert!(fold_fast::<false>(s, &mut out), "fold_key {s:?}");
            assert!(fold_fast::<true>(s, &mut out), "fold_kana_key {s:?}");
            check_against_reference(s);
        }
    }

    #[test]
    fn fast_path_leaves_unsettled_text_to_nfkc() {
        let mut out = String::new();
        for s in [
            "か\u{3099}",
            "カ\u{309A}",
            "ｶ\u{3099}",
            "かﾞ",
            "ｶ ﾞ",
            "ｶﾞﾞ",
            "ｱﾞ",
            "ｰﾞ",
            "ﾞ",
            "か゛",
            "山\u{FA11}",
            "大\u{FA10}",
            "E\u{301}",
            "①",
            "ゞ",
        ] {
            assert!(!fold_fast::<false>(s, &mut out), "fold_key {s:?}");
            assert!(!fold_fast::<true>(s, &mut out), "fold_kana_key {s:?}");
            check_against_reference(s);
        }
    }

    #[test]
    fn fast_path_exact_on_every_char_it_takes() {
        let mut out = String::new();
        let mut taken = 0_u32;
        for c in char::MIN..=char::MAX {
            let s = c.to_string();
            if fold_fast::<false>(&s, &mut out) {
                taken += 1;
                assert_eq!(out, reference_fold_key(&s), "fold_key({s:?})");
                assert!(fold_fast::<true>(&s, &mut out), "{s:?}");
                assert_eq!(out, reference_fold_kana_key(&s), "fold_kana_key({s:?})");
            } else {
                assert!(!fold_fast::<true>(&s, &mut out), "{s:?}");
            }
        }
        // The CJK blocks alone are 69 728 characters; the rest is kana, ASCII and the like.
        assert!(taken > 70_000, "{taken}");
    }

    /// Composition is between neighbours, so every pair of the small characters the fast path
    /// takes (plus a few kanji and the characters that must send it to NFKC) is checked.
    #[test]
    fn fast_path_exact_on_every_pair_of_small_chars() {
        let mut out = String::new();
        let mut alphabet: Vec<char> = ('\0'..='\u{FFFF}')
            .filter(|&c| !matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'))
            .filter(|&c| fold_fast::<false>(&c.to_string(), &mut out))
            .collect();
        alphabet.extend([
            '山',
            '\u{3400}',
            '\u{9FFF}',
            '\u{20BB7}',
            'ﾞ',
            'ﾟ',
            '\u{3099}',
            '\u{309A}',
            '゛',
            '゜',
            'ゝ',
            'ゞ',
            'ヽ',
            'ヾ',
            '\u{FA10}',
            '\u{FA11}',
            '\u{301}',
            'ヰ',
            'ゐ',
        ]);
        assert!(alphabet.len() > 450, "{}", alphabet.len());
        let mut s = String::new();
        for &a in &alphabet {
            for &b in &alphabet {
                s.clear();
                s.push(a);
                s.push(b);
                fold_key_into(&s, &mut out);
                assert_eq!(out, reference_fold_key(&s), "fold_key({s:?})");
                fold_kana_key_into(&s, &mut out);
                assert_eq!(out, reference_fold_kana_key(&s), "fold_kana_key({s:?})");
            }
        }
    }

    #[test]
    fn into_reuses_the_buffer() {
        let mut out = String::with_capacity(64);
        out.push_str("left over from the last row");
        let before = out.as_ptr();
        fold_key_into("ﾔﾏﾀﾞ\u{3000}太郎", &mut out);
        assert_eq!(out, "ヤマダ太郎");
        fold_kana_key_into("やまだ たろう", &mut out);
        assert_eq!(out, "ヤマダタロウ");
        assert_eq!(out.as_ptr(), before, "no new allocation on the fast path");
    }

    /// Text the way Japanese registrar cells come, with everything that makes NFKC do real work
    /// next to it: combining and spacing voiced marks, half-width kana, compatibility ideographs,
    /// full-width ASCII, dashes and spaces.
    fn japanese_string() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            ' ',
            '\u{3000}',
            '\u{A0}',
            '\t',
            '\u{200B}',
            '\u{FEFF}',
            '\u{2003}',
            'ﾞ',
            'ﾟ',
            'ｰ',
            '\u{3099}',
            '\u{309A}',
            '゛',
            '゜',
            'ゝ',
            'ゞ',
            'ヽ',
            'ヾ',
            '々',
            '・',
            'ー',
            'ゐ',
            'ヰ',
            'わ',
            'ワ',
            'ｳ',
            'ﾜ',
            'ｦ',
            'ﾊ',
            '\u{FA10}',
            '\u{FA11}',
            '\u{2F8A6}',
            '\u{20BB7}',
            '髙',
            '〜',
            '～',
            '~',
            '‐',
            '‑',
            '−',
            '－',
            '―',
            '﹘',
            '﹣',
            '-',
            'Ａ',
            'ｚ',
            '１',
            'A',
            'z',
            '\u{301}',
            '①',
            '㍻',
            'İ',
            'ß',
        ]);
        let c = prop_oneof![
            4 => special,
            3 => proptest::char::range('\u{4E00}', '\u{9FFF}'),
            3 => proptest::char::range('\u{3041}', '\u{309F}'),
            3 => proptest::char::range('\u{30A0}', '\u{30FF}'),
            3 => proptest::char::range('\u{FF61}', '\u{FF9F}'),
            2 => proptest::char::range('\u{FF01}', '\u{FF5E}'),
            2 => proptest::char::range(' ', '~'),
            1 => proptest::char::range('\u{F900}', '\u{FAFF}'),
            1 => any::<char>(),
        ];
        prop::collection::vec(c, 0..16).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn fold_key_equals_reference(s in japanese_string()) {
            prop_assert_eq!(fold_key(&s), reference_fold_key(&s));
        }

        #[test]
        fn fold_kana_key_equals_reference(s in japanese_string()) {
            prop_assert_eq!(fold_kana_key(&s), reference_fold_kana_key(&s));
        }

        #[test]
        fn into_with_a_dirty_buffer_equals_allocating(
            s in japanese_string(),
            dirt in japanese_string(),
        ) {
            let mut buf = dirt.clone();
            fold_key_into(&s, &mut buf);
            prop_assert_eq!(&buf, &fold_key(&s));
            let mut buf = dirt;
            buf.push_str("ﾔﾏﾀﾞ");
            fold_kana_key_into(&s, &mut buf);
            prop_assert_eq!(&buf, &fold_kana_key(&s));
            fold_key_into(&s, &mut buf);
            prop_assert_eq!(&buf, &fold_key(&s));
        }
    }
}
