//! 外字 in text cells: the mapping profile's `[gaiji]` table read into standard characters, and
//! a warning at the cell for each private-use character it does not map.

use compact_str::CompactString;

use super::RowCtx;
use crate::domain::text::is_private_use;
use crate::ingest::diag::{Diagnostic, Location};

impl RowCtx<'_, '_> {
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
