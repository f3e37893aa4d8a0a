//! Text normalization for matching (interface; the full folds land with the text helper).

use unicode_normalization::UnicodeNormalization;

/// The key two names are matched on: NFKC plus explicit folds; spaces removed.
pub fn fold_key(s: &str) -> String {
    s.nfkc().filter(|c| !c.is_whitespace()).collect()
}
