//! 外字 in text cells: the mapping profile's `[gaiji]` table read into standard characters, and
//! a warning at the cell for each private-use character it does not map. Control characters in
//! text cells: an error at the cell.

use compact_str::CompactString;

use super::RowCtx;
use crate::domain::text::is_private_use;
use crate::ingest::diag::{Diagnostic, Location, escape_controls, is_hidden_control};

/// A character a text cell may not hold: a control character other than the line break and the
/// tab a cell can hold in Excel (an escape, a bell, a NUL), or a bidirectional override. Such a
/// name would reach the store, the directory, the mail and the terminal of whoever looks it up.
pub(super) fn is_control_in_text(c: char) -> bool {
    is_hidden_control(c) && !matches!(c, '\n' | '\r' | '\t')
}

impl RowCtx<'_, '_> {
    /// A text holding [`is_control_in_text`] characters: an error at the cell, which holds its
    /// row out; the value is not used.
    pub(super) fn controls(&mut self, pos: u32, header: &str, value: &str) -> CompactString {
        let mut codes: Vec<String> = Vec::new();
        for c in value.chars().filter(|&c| is_control_in_text(c)) {
            let code = format!("U+{:04X}", u32::from(c));
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        let (shown, codes) = (escape_controls(value), codes.join(", "));
        self.error(
            pos,
            header,
            format!("「{shown}」に制御文字（{codes}）が含まれています。書き出しを直してください"),
            format!("`{shown}` holds control characters ({codes}); correct the export"),
        );
        CompactString::default()
    }

    /// A text holding 外字 (private-use characters): each one the profile's `[gaiji]` maps is
    /// replaced by its standard characters; one it does not map stays, with a warning at the
    /// cell (the rules never take a name change to it silently, R7).
    pub(super) fn gaiji(&mut self, pos: u32, header: &str, value: &str) -> CompactString {
        let mut out = String::with_capacity(value.len());
        let mut unmapped: Vec<String> = Vec::new();
        for c in value.chars() {
            match self.mapper.gaiji.get(&c) {
                Some(standard) => out.push_str(standard),
                None => {
                    out.push(c);
                    let code = format!("U+{:04X}", u32::from(c));
                    if is_private_use(c) && !unmapped.contains(&code) {
                        unmapped.push(code);
                    }
                }
            }
        }
        if !unmapped.is_empty() {
            let codes = unmapped.join(", ");
            self.diags.push(Diagnostic::warning(
                Location::Cell {
                    row: self.row,
                    column: pos,
                    header: header.to_string(),
                },
                format!(
                    "「{value}」に外字（私用領域の文字 {codes}）があり、マッピングプロファイルの [gaiji] に対応がありません。ほかの環境では空白や□で表示されます。[gaiji] に標準の文字を登録するか、書き出しを直してください（氏名の変更は確認待ちになります）"
                ),
                format!(
                    "`{value}` holds 外字, private-use characters ({codes}) that the profile's [gaiji] table does not map: they print as blanks or boxes elsewhere; add them to [gaiji] or correct the export (a name change to it is held for review)"
                ),
            ));
        }
        CompactString::from(out)
    }
}
