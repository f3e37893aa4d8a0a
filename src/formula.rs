//! Cells a spreadsheet would run as formulas (`=HYPERLINK(…)`, `+`, `-`, `@`), neutralised in
//! every CSV regsync writes (`report.csv`, the letters, `accounts export`, the directory report)
//! and restored in the one it reads back (`accounts import`).

/// `cell` with a leading `'` when Excel would read it as a formula ([`needs_quote_prefix`]).
pub(crate) fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_quote_prefix(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The inverse of [`neutralise`], for files regsync reads back (`accounts import` of an
/// `accounts export`): a leading `'` that [`neutralise`] would have added is removed; any other
/// cell is as it was.
pub(crate) fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote_prefix(rest) => rest,
        _ => cell,
    }
}

/// A cell starting with a tab or CR, or whose first non-blank character is `=`, `+`, `-` or `@`
/// (U+3000 and other Unicode spaces count as blank: Excel skips them before a formula too).
pub(crate) fn needs_quote_prefix(cell: &str) -> bool {
    if cell.starts_with(['\t', '\r']) {
        return true;
    }
    cell.trim_start().starts_with(['=', '+', '-', '@'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralised_cells_read_back_as_they_were() {
        for cell in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+理学部",
            "@SUM(A1)",
            "-1",
            "\tx",
            "山田",
            "'quoted",
            "'",
            "",
        ] {
            assert_eq!(unneutralise(&neutralise(cell)), cell, "{cell:?}");
        }
        assert_eq!(
            unneutralise("'山田"),
            "'山田",
            "a quote of the person's own stays"
        );
    }
}
