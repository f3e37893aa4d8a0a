//! Calendar arithmetic of the rules: notice periods, the June 30 staff shutdown (R9), the end
//! of 年度 on March 31 (R10) and "one month before". All dates are Japan calendar dates; the
//! caller decides what "today" is (`as_of`), so nothing here reads a clock.

use chrono::{Datelike, Days, Months, NaiveDate};

/// `date + days`, saturating at the end of the calendar rather than failing.
pub(crate) fn add_days(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX)
}

/// One month before `date`, month-end aware: the last day of a month maps to the last day of
/// the month before (June 30 → May 31), any other day to the same day a month earlier, clamped
/// (April 1 → March 1, March 30 → February 28).
pub(crate) fn months_before(date: NaiveDate, months: u32) -> NaiveDate {
    let is_month_end = date
        .succ_opt()
        .is_none_or(|next| next.month() != date.month());
    if is_month_end {
        let first = date.with_day(1).unwrap_or(date);
        let prev_first = first
            .checked_sub_months(Months::new(months))
            .unwrap_or(NaiveDate::MIN);
        let next_first = prev_first
            .checked_add_months(Months::new(1))
            .unwrap_or(NaiveDate::MAX);
        next_first.pred_opt().unwrap_or(prev_first)
    } else {
        date.checked_sub_months(Months::new(months))
            .unwrap_or(NaiveDate::MIN)
    }
}

/// R10: a holder whose 利用期限 is `until` stops the day after it and gets the expiry notice
/// `months` before that day (a 利用期限 of March 31 stops on April 1, notice on March 1):
/// (notice day, stop day).
pub(crate) fn holder_expiry(until: NaiveDate, months: u32) -> (NaiveDate, NaiveDate) {
    let stop = add_days(until, 1);
    (months_before(stop, months), stop)
}

/// R9: the first June 30 on or after `date`.
pub(crate) fn june_30_on_or_after(date: NaiveDate) -> NaiveDate {
    let this_year = NaiveDate::from_ymd_opt(date.year(), 6, 30).unwrap_or(date);
    if date <= this_year {
        this_year
    } else {
        NaiveDate::from_ymd_opt(date.year() + 1, 6, 30).unwrap_or(date)
    }
}

/// R10: the last day (March 31) of the 年度 that contains `date`.
pub(crate) fn fiscal_year_end(date: NaiveDate) -> NaiveDate {
    let year = if date.month() >= 4 {
        date.year() + 1
    } else {
        date.year()
    };
    NaiveDate::from_ymd_opt(year, 3, 31).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn one_month_before_is_month_end_aware() {
        for (date, want) in [
            ("2026-06-30", "2026-05-31"),
            ("2027-04-01", "2027-03-01"),
            ("2027-03-30", "2027-02-28"),
            ("2027-03-31", "2027-02-28"),
            ("2028-03-31", "2028-02-29"),
            ("2026-01-15", "2025-12-15"),
        ] {
            assert_eq!(months_before(d(date), 1), d(want), "{date}");
        }
    }

    #[test]
    fn r9_first_june_30_on_or_after() {
        for (date, want) in [
            ("2026-04-01", "2026-06-30"),
            ("2026-06-30", "2026-06-30"),
            ("2026-07-01", "2027-06-30"),
            ("2027-01-10", "2027-06-30"),
        ] {
            assert_eq!(june_30_on_or_after(d(date)), d(want), "{date}");
        }
    }

    #[test]
    fn r10_end_of_nendo() {
        for (date, want) in [
            ("2026-04-01", "2027-03-31"),
            ("2027-03-31", "2027-03-31"),
            ("2027-01-05", "2027-03-31"),
        ] {
            assert_eq!(fiscal_year_end(d(date)), d(want), "{date}");
        }
    }
}
