//! Numbers in a date column, as Excel leaves them when a date loses its format.

use chrono::NaiveDate;

/// A number in a date column: `20260401` as written by hand, or an Excel date serial (with or
/// without a time of day) that lost its date format, in the workbook's date system
/// (`date1904`: day 0 is 1904-01-01).
pub(super) fn excel_number_date(n: f64, date1904: bool) -> Option<NaiveDate> {
    if !n.is_finite() {
        return None;
    }
    // A serial's fraction is its time of day, which a date column does not keep (as for a
    // date cell with a time); a `yyyymmdd` number has none.
    let i = n.trunc() as i64;
    if (19_000_101..=29_991_231).contains(&i) && n.fract() == 0.0 {
        return NaiveDate::from_ymd_opt(
            (i / 10000) as i32,
            ((i / 100) % 100) as u32,
            (i % 100) as u32,
        );
    }
    if date1904 && (0..=2_957_003).contains(&i) {
        let base = NaiveDate::from_ymd_opt(1904, 1, 1)?;
        return base.checked_add_signed(chrono::Duration::days(i));
    }
    if !date1904 && (1..=2_958_465).contains(&i) {
        // Excel's day 1 is 1900-01-01 and it counts a 1900-02-29 that never was.
        let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
        let days = if i < 60 { i + 1 } else { i };
        return base.checked_add_signed(chrono::Duration::days(days));
    }
    None
}
