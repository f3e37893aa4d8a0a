//! Reading the store for a nightly plan at national scale: the compact [`Keys`] of every
//! account, then the few accounts triage selects, in full (see `triage`).
//!
//! Both reads split the accounts into ranges of ECS-IDs, one per thread, each on its own
//! read-only connection in its own read transaction. Every range reads the store's digest in
//! its transaction; if they differ, a writer committed between them and the read is refused
//! (the plan would mix two states).

use std::cmp::Ordering;
use std::path::Path;

use rayon::prelude::*;
use rusqlite::{Connection, Transaction};

use super::{
    ACCOUNT_COLUMNS, AFTER_ACCOUNT_COLUMNS, StoreError, account_from_row, digest_of,
    next_serial_of, opt_text, text,
};
use compact_str::CompactString;

use crate::domain::account::{Account, Reserved, Snapshot};
use crate::domain::model::EcsId;
use crate::domain::model::StudentNo;
use crate::triage::{Facts, Keys, KeysPart, Slot, with_scratch};

/// Below this many accounts one range is read: connections cost more than they save.
const MIN_PER_RANGE: usize = 20_000;

/// The derived column of `a` (migration 3): its triage facts.
pub(crate) fn derived(a: &Account) -> Vec<u8> {
    with_scratch(|scratch| Facts::of(a, scratch).encode(&a.student_nos))
}

/// Computes the derived column of every account (migration 3, on a store written before it).
pub(crate) fn fill_derived(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let accounts = read_accounts(tx)?;
    let derived: Vec<_> = accounts.par_iter().map(derived).collect();
    let mut update = tx.prepare("UPDATE accounts SET triage = ?1 WHERE ecs_id = ?2")?;
    for (a, facts) in accounts.iter().zip(derived) {
        update.execute((&facts[..], a.ecs_id.as_str()))?;
    }
    Ok(())
}

/// Where [`Store::keys`] splits `lo` ..= `hi`, the first and last ECS-IDs, into `parts` ranges
/// when they are one prefix and zero-padded numbers of one width (`a0000001` .. `a0950124`, as
/// regsync allocates them): evenly spaced numbers, which split the accounts evenly when the
/// serials are dense, found without counting the accounts. `None` for other IDs; no points
/// when the numbers span fewer than two ranges' worth.
fn numbered_splits(lo: &str, hi: &str, parts: usize) -> Option<Vec<String>> {
    let prefix = lo
        .bytes()
        .zip(hi.bytes())
        .take_while(|(a, b)| a == b && !a.is_ascii_digit())
        .count();
    let (a, b) = (&lo[prefix..], &hi[prefix..]);
    let digits = |s: &str| !s.is_empty() && s.len() <= 18 && s.bytes().all(|c| c.is_ascii_digit());
    if a.len() != b.len() || !digits(a) || !digits(b) {
        return None;
    }
    let (x, y) = (a.parse::<u64>().ok()?, b.parse::<u64>().ok()?);
    let span = y.checked_sub(x)? + 1;
    let parts = (span / MIN_PER_RANGE as u64).clamp(1, parts as u64);
    Some(
        (1..parts)
            .map(|k| {
                // In u128: an 18-digit span times `k` does not fit in u64.
                let at = x + (u128::from(span) * u128::from(k) / u128::from(parts)) as u64;
                format!("{}{at:0w$}", &lo[..prefix], w = a.len())
            })
            .collect(),
    )
}

/// A range of ECS-IDs: from the first (inclusive) to the second (exclusive); `None` is open.
type Range = (Option<String>, Option<String>);

impl super::Store {
    /// Where the keys scan splits the ECS-IDs into ranges, one per thread, each starting a
    /// range: evenly spaced numbers between the first and last ECS-ID ([`numbered_splits`]), or
    /// else the accounts counted and every n-th ECS-ID found (~25 ms at 1M accounts).
    fn split_points(&self) -> Result<Vec<String>, StoreError> {
        let threads = rayon::current_num_threads();
        // Two statements: SQLite finds a lone min() or max() at one end of the index, but
        // scans the table for both in one.
        let end = |sql: &str| -> Result<Option<String>, StoreError> {
            Ok(self.conn.query_row(sql, [], |r| r.get(0))?)
        };
        let first = end("SELECT min(ecs_id) FROM accounts")?;
        let last = end("SELECT max(ecs_id) FROM accounts")?;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Vec::new());
        };
        if let Some(points) = numbered_splits(&first, &last, threads) {
            return Ok(points);
        }
        let count: i64 = self
            .conn
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?;
        let n = usize::try_from(count).unwrap_or(0);
        let parts = (n / MIN_PER_RANGE).clamp(1, threads);
        let mut points = Vec::with_capacity(parts);
        for k in 1..parts {
            let at = (k * n / parts) as i64;
            let id: Option<String> = self.conn.query_row(
                "SELECT ecs_id FROM accounts ORDER BY ecs_id LIMIT 1 OFFSET ?1",
                [at],
                |r| r.get(0),
            )?;
            points.extend(id);
        }
        Ok(points)
    }

    /// The [`Keys`] of every account, with the next serial and the digest.
    pub fn keys(&self) -> Result<Keys, StoreError> {
        let mut bounds: Vec<Option<String>> = vec![None];
        bounds.extend(self.split_points()?.into_iter().map(Some));
        bounds.push(None);
        let ranges: Vec<Range> = bounds
            .windows(2)
            .map(|w| (w[0].clone(), w[1].clone()))
            .collect();
        let path = self.path.clone();
        let parts: Vec<(KeysPart, String, u64)> = ranges
            .into_par_iter()
            .map(|range| read_keys(&path, &range))
            .collect::<Result<_, _>>()?;
        let digest = parts.first().map(|p| p.1.clone()).unwrap_or_default();
        let next_serial = parts.first().map_or(0, |p| p.2);
        if let Some(other) = parts.iter().find(|p| p.1 != digest) {
            return Err(changed(&digest, &other.1));
        }
        let parts = parts.into_iter().map(|p| p.0).collect();
        Ok(Keys::from_parts(parts, next_serial, digest))
    }
}

/// The accounts at `slots` (ascending) of `keys` in the store at `path`, in full, as a snapshot
/// with the keys' serial and digest; refused when the store is no longer at the keys' digest.
/// The slots are looked up by primary key in parts, each on its own connection, a few per
/// thread, so that the threads share them evenly whatever else runs beside (`reserved`).
pub fn load(path: &Path, keys: &Keys, slots: &[Slot]) -> Result<Snapshot, StoreError> {
    {
        let parts = (slots.len() / 2_000).clamp(1, 4 * rayon::current_num_threads());
        let chunks: Vec<&[Slot]> = slots.chunks(slots.len().div_ceil(parts).max(1)).collect();
        let loaded: Vec<Vec<Account>> = chunks
            .into_par_iter()
            .map(|chunk| -> Result<Vec<Account>, StoreError> {
                let conn = super::open_reader(path)?;
                let tx = conn.unchecked_transaction()?;
                let digest = digest_of(&tx)?;
                if digest != keys.digest {
                    return Err(changed(&keys.digest, &digest));
                }
                let mut accounts = Vec::with_capacity(chunk.len());
                let mut stmt = tx.prepare(&format!(
                    "SELECT {ACCOUNT_COLUMNS}, triage FROM accounts WHERE ecs_id = ?1"
                ))?;
                for &slot in chunk {
                    let ecs_id = keys.ecs_id(slot);
                    let mut rows = stmt.query([ecs_id])?;
                    let row = rows
                        .next()?
                        .ok_or_else(|| changed(&keys.digest, "an account less"))?;
                    let mut account = account_from_row(row)?;
                    let (_, nos) = triage_of(row, AFTER_ACCOUNT_COLUMNS, ecs_id)?;
                    account.student_nos.extend(nos.map(StudentNo::new));
                    accounts.push(account);
                }
                drop(stmt);
                tx.finish()?;
                Ok(accounts)
            })
            .collect::<Result<_, _>>()?;
        let distinct = {
            let conn = super::open_reader(path)?;
            let tx = conn.unchecked_transaction()?;
            let digest = digest_of(&tx)?;
            if digest != keys.digest {
                return Err(changed(&keys.digest, &digest));
            }
            super::distinct_of(&tx)?
        };
        Ok(Snapshot {
            accounts: loaded.into_iter().flatten().collect(),
            next_serial: keys.next_serial,
            digest: keys.digest.clone(),
            reserved: Default::default(),
            distinct,
        })
    }
}

/// The identifiers on record that a plan over a partial snapshot could otherwise allocate
/// again: the ECS-IDs from `first_new_id` on (in ECS-ID order), and the local parts of the
/// KUMOI addresses that are one of `bases` or one of them numbered (`base.N`).
/// Read from the store at `path` (on its own connection) in a transaction at `digest`, or
/// refused.
pub(crate) fn reserved(
    path: &Path,
    digest: &str,
    first_new_id: &str,
    bases: &std::collections::BTreeSet<String>,
) -> Result<Reserved, StoreError> {
    {
        let conn = super::open_reader(path)?;
        let tx = conn.unchecked_transaction()?;
        let found = digest_of(&tx)?;
        if found != digest {
            return Err(changed(digest, &found));
        }
        let mut reserved = Reserved::default();
        {
            let mut stmt = tx.prepare("SELECT ecs_id FROM accounts WHERE ecs_id >= ?1")?;
            let mut rows = stmt.query([first_new_id])?;
            while let Some(r) = rows.next()? {
                reserved.ecs_ids.insert(EcsId::new(text(r, 0)?));
            }
            // The addresses whose local part is `base` or `base.n` (`rules::collides`), by two
            // ranges of the index: `base@` up to `baseA` and `base.` up to `base/` ('A' and '/'
            // follow '@' and '.'). Not every address starting with `base`: at 3M accounts a
            // common name starts hundreds of thousands of others.
            let mut stmt =
                tx.prepare("SELECT kumoi FROM accounts WHERE kumoi >= ?1 AND kumoi < ?2")?;
            for base in bases {
                for (from, to) in [('@', 'A'), ('.', '/')] {
                    let mut rows = stmt.query((format!("{base}{from}"), format!("{base}{to}")))?;
                    while let Some(r) = rows.next()? {
                        let kumoi = text(r, 0)?;
                        let local = kumoi.split('@').next().unwrap_or("");
                        if crate::domain::rules::collides(base, local) {
                            reserved.kumoi_local_parts.insert(CompactString::new(local));
                        }
                    }
                }
            }
        }
        tx.finish()?;
        Ok(reserved)
    }
}

pub(super) fn changed(expected: &str, found: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "the store changed while it was being read (state `{expected}`, then `{found}`); run again"
    ))
}

/// `WHERE` clause and parameters for a range of the `ecs_id` column.
fn range_sql(range: &Range) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    if let Some(lo) = &range.0 {
        params.push(lo.clone());
        clauses.push(format!("ecs_id >= ?{}", params.len()));
    }
    if let Some(hi) = &range.1 {
        params.push(hi.clone());
        clauses.push(format!("ecs_id < ?{}", params.len()));
    }
    if clauses.is_empty() {
        (String::new(), params)
    } else {
        (format!(" WHERE {}", clauses.join(" AND ")), params)
    }
}

/// The decoded `triage` column `i` of `r`.
pub(super) fn triage_of<'r>(
    r: &'r rusqlite::Row<'_>,
    i: usize,
    ecs_id: &str,
) -> Result<(Facts, impl Iterator<Item = &'r str>), StoreError> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Blob(b) => Facts::decode(b),
        _ => None,
    }
    .ok_or_else(|| StoreError::Corrupt(format!("accounts.triage of `{ecs_id}` is not readable")))
}

fn read_keys(path: &Path, range: &Range) -> Result<(KeysPart, String, u64), StoreError> {
    let conn = super::open_reader(path)?;
    let tx = conn.unchecked_transaction()?;
    let digest = digest_of(&tx)?;
    let next_serial = next_serial_of(&tx)?;
    let (filter, params) = range_sql(range);
    let mut part = KeysPart::default();
    {
        let mut stmt = tx.prepare(&format!(
            "SELECT ecs_id, person_id, triage FROM accounts INDEXED BY accounts_triage\
             {filter} ORDER BY ecs_id"
        ))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        while let Some(r) = rows.next()? {
            let ecs_id = text(r, 0)?;
            let (facts, nos) = triage_of(r, 2, ecs_id)?;
            part.push(ecs_id, opt_text(r, 1)?, facts, nos);
        }
    }
    tx.finish()?;
    Ok((part, digest, next_serial))
}

/// Every account in ECS-ID order, with its student numbers. Two statements are walked side by
/// side, accounts by `ecs_id` and student numbers by `(ecs_id, seq)`, so a million accounts load
/// in one pass without a query per account.
pub(crate) fn read_accounts(conn: &Connection) -> Result<Vec<Account>, StoreError> {
    let mut acc_stmt = conn.prepare(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY ecs_id"
    ))?;
    let mut sn_stmt =
        conn.prepare("SELECT ecs_id, student_no FROM student_nos ORDER BY ecs_id, seq")?;
    let mut accounts = Vec::new();
    let mut sn_rows = sn_stmt.query([])?;
    let mut peeked: Option<(String, StudentNo)> = None;
    let mut rows = acc_stmt.query([])?;
    while let Some(row) = rows.next()? {
        let mut account = account_from_row(row)?;
        let ecs_id = account.ecs_id.as_str();
        loop {
            if let Some((owner, no)) = &peeked {
                match owner.as_str().cmp(ecs_id) {
                    Ordering::Less => peeked = None,
                    Ordering::Equal => {
                        account.student_nos.push(no.clone());
                        peeked = None;
                    }
                    Ordering::Greater => break,
                }
                continue;
            }
            let Some(r) = sn_rows.next()? else { break };
            let owner = text(r, 0)?;
            match owner.cmp(ecs_id) {
                // A number of no account: the foreign key forbids it.
                Ordering::Less => {}
                Ordering::Equal => account.student_nos.push(StudentNo::new(text(r, 1)?)),
                Ordering::Greater => {
                    peeked = Some((owner.to_string(), StudentNo::new(text(r, 1)?)));
                    break;
                }
            }
        }
        accounts.push(account);
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::numbered_splits;

    #[test]
    fn numbered_ecs_ids_split_evenly_without_counting() {
        let cases: &[(&str, &str, usize, Option<&[&str]>)] = &[
            ("a0000001", "a0950124", 2, Some(&["a0475063"])),
            ("a000000001", "a002999999", 2, Some(&["a001500000"])),
            (
                "a0000001",
                "a0950124",
                4,
                Some(&["a0237532", "a0475063", "a0712594"]),
            ),
            // Too few to be worth a second connection.
            ("a0000001", "a0030000", 2, Some(&[])),
            ("a0000001", "a0000001", 2, Some(&[])),
            (
                "x000000000000000000",
                "x999999999999999999",
                3,
                Some(&["x333333333333333333", "x666666666666666666"]),
            ),
            // Not one prefix and numbers of one width: the accounts are counted instead.
            ("a0000001", "a10000001", 2, None),
            ("a0000001", "b0000001", 2, None),
            ("legacy-x", "legacy-y", 2, None),
        ];
        for &(lo, hi, parts, want) in cases {
            let got = numbered_splits(lo, hi, parts);
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want, "{lo} .. {hi} in {parts}");
        }
        // Many threads over 18-digit numbers: the points still rise, one per range.
        let points = numbered_splits("x000000000000000000", "x999999999999999999", 32);
        let points = points.unwrap_or_default();
        assert_eq!(points.len(), 31);
        assert!(points.windows(2).all(|w| w[0] < w[1]), "{points:?}");
        assert_eq!(points[15], "x500000000000000000");
    }
}
