//! Reading the store for a nightly plan at national scale: the compact [`Keys`] of every
//! account, then the few accounts triage selects, in full (see `domain::triage`).
//!
//! Both reads split the accounts into ranges of ECS-IDs, one per thread, each on its own
//! read-only connection in its own read transaction. Every range reads the store's digest in
//! its transaction; if they differ, a writer committed between them and the read is refused
//! (the plan would mix two states).

use std::cmp::Ordering;
use std::path::Path;

use rayon::prelude::*;
use rusqlite::{Connection, OpenFlags, Transaction};

use super::{
    ACCOUNT_COLUMNS, StoreError, account_from_row, digest_of, next_serial_of, opt_text, parse_iso,
    role_from, state_from, text,
};
use crate::domain::account::{Account, Snapshot};
use crate::domain::model::StudentNo;
use crate::domain::triage::{KeyRow, Keys, Scratch, Slot, Standing, account_fp, kana_birth_key};

/// Below this many accounts one range is read: connections cost more than they save.
const MIN_PER_RANGE: usize = 20_000;

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// The derived columns of `a` (migration 3): its registrar fingerprint and kana + birth key.
pub(crate) fn derived(a: &Account) -> (Option<[u8; 16]>, i64) {
    SCRATCH.with_borrow_mut(|scratch| {
        let fp = account_fp(a, scratch).map(u128::to_le_bytes);
        let kb = kana_birth_key(&a.name_kana, a.birth_date, scratch);
        (fp, kb as i64)
    })
}

/// Computes the derived columns of every account (migration 3, on a store written before it).
pub(crate) fn fill_derived(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let accounts = read_accounts(tx, (None, None), |_| true)?;
    let derived: Vec<_> = accounts.par_iter().map(derived).collect();
    let mut update =
        tx.prepare("UPDATE accounts SET registrar_fp = ?1, kana_birth = ?2 WHERE ecs_id = ?3")?;
    for (a, (fp, kb)) in accounts.iter().zip(derived) {
        update.execute((fp.as_ref().map(|b| &b[..]), kb, a.ecs_id.as_str()))?;
    }
    Ok(())
}

/// A range of ECS-IDs: from the first (inclusive) to the second (exclusive); `None` is open.
type Range = (Option<String>, Option<String>);

impl super::Store {
    /// The [`Keys`] of every account, with the next serial and the digest.
    pub fn keys(&self) -> Result<Keys, StoreError> {
        let count: i64 = self
            .conn
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?;
        let n = usize::try_from(count).unwrap_or(0);
        let parts = (n / MIN_PER_RANGE).clamp(1, rayon::current_num_threads());
        let mut bounds = Vec::with_capacity(parts + 1);
        bounds.push(None);
        for k in 1..parts {
            let at = (k * n / parts) as i64;
            let id: Option<String> = self.conn.query_row(
                "SELECT ecs_id FROM accounts ORDER BY ecs_id LIMIT 1 OFFSET ?1",
                [at],
                |r| r.get(0),
            )?;
            bounds.push(id);
        }
        bounds.push(None);
        let ranges: Vec<Range> = bounds
            .windows(2)
            .map(|w| (w[0].clone(), w[1].clone()))
            .collect();
        let path = self.path.clone();
        let parts: Vec<(Keys, String)> = ranges
            .into_par_iter()
            .map(|range| read_keys(&path, &range))
            .collect::<Result<_, _>>()?;
        let mut parts = parts.into_iter();
        let Some((mut keys, digest)) = parts.next() else {
            return Ok(Keys::default());
        };
        for (part, d) in parts {
            if d != digest {
                return Err(changed(&digest, &d));
            }
            keys.append(part);
        }
        Ok(keys)
    }

    /// The accounts at `slots` (ascending) of `keys`, in full, as a snapshot with the keys'
    /// serial and digest; refused when the store is no longer at the keys' digest.
    pub fn load(&self, keys: &Keys, slots: &[Slot]) -> Result<Snapshot, StoreError> {
        let n = keys.len();
        let parts = (slots.len() / (MIN_PER_RANGE / 4)).clamp(1, rayon::current_num_threads());
        // Split the selection evenly; each part reads the ECS-ID range its slots span.
        let chunks: Vec<&[Slot]> = slots.chunks(slots.len().div_ceil(parts).max(1)).collect();
        let path = self.path.clone();
        let loaded: Vec<Vec<Account>> = chunks
            .into_par_iter()
            .map(|chunk| -> Result<Vec<Account>, StoreError> {
                let (Some(&first), Some(&last)) = (chunk.first(), chunk.last()) else {
                    return Ok(Vec::new());
                };
                let conn = open(&path)?;
                let tx = conn.unchecked_transaction()?;
                let digest = digest_of(&tx)?;
                if digest != keys.digest {
                    return Err(changed(&keys.digest, &digest));
                }
                let lo = keys.ecs_id(first).to_string();
                let hi = ((last as usize) + 1 < n).then(|| keys.ecs_id(last + 1).to_string());
                let mut want = chunk.iter().peekable();
                let mut at = first;
                let accounts = read_accounts(&tx, (Some(lo), hi), |_| {
                    let pick = want.peek().is_some_and(|&&s| s == at);
                    if pick {
                        want.next();
                    }
                    at += 1;
                    pick
                })?;
                tx.finish()?;
                Ok(accounts)
            })
            .collect::<Result<_, _>>()?;
        Ok(Snapshot {
            accounts: loaded.into_iter().flatten().collect(),
            next_serial: keys.next_serial,
            digest: keys.digest.clone(),
        })
    }
}

fn changed(expected: &str, found: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "the store changed while it was being read (state `{expected}`, then `{found}`); run again"
    ))
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(open_err)?;
    Ok(conn)
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

fn read_keys(path: &Path, range: &Range) -> Result<(Keys, String), StoreError> {
    let conn = open(path)?;
    let tx = conn.unchecked_transaction()?;
    let digest = digest_of(&tx)?;
    let next_serial = next_serial_of(&tx)?;
    let (filter, params) = range_sql(range);
    let mut keys = Keys::with_capacity(0, next_serial, digest.clone());
    {
        let mut stmt = tx.prepare(&format!(
            "SELECT ecs_id, person_id, registrar_fp, kana_birth, role, state, \
             activation_deadline, activation_expired, stop_on, reminder_on, reminder_sent, \
             birth_date IS NOT NULL FROM accounts{filter} ORDER BY ecs_id"
        ))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        let mut slot: Slot = 0;
        while let Some(r) = rows.next()? {
            let ecs_id = text(r, 0)?;
            let bad = |column: &str, value: &str| {
                StoreError::Corrupt(format!("accounts.{column} = `{value}` for `{ecs_id}`"))
            };
            let date = |i: usize| -> Result<Option<chrono::NaiveDate>, StoreError> {
                match opt_text(r, i)? {
                    Some(s) => parse_iso(s).map(Some).ok_or_else(|| bad("date", s)),
                    None => Ok(None),
                }
            };
            let fp = match r.get_ref(2)? {
                rusqlite::types::ValueRef::Blob(b) => {
                    let b: [u8; 16] = b.try_into().map_err(|_| bad("registrar_fp", "?"))?;
                    Some(u128::from_le_bytes(b))
                }
                _ => None,
            };
            let role = text(r, 4)?;
            let state = text(r, 5)?;
            let person_id = opt_text(r, 1)?;
            let standing = Standing {
                role: role_from(role).ok_or_else(|| bad("role", role))?,
                state: state_from(state).ok_or_else(|| bad("state", state))?,
                has_person_id: person_id.is_some(),
                has_birth_date: r.get::<_, bool>(11)?,
                activation_deadline: date(6)?,
                activation_expired: r.get::<_, bool>(7)?,
                stop_on: date(8)?,
                reminder_on: date(9)?,
                reminder_sent: r.get::<_, bool>(10)?,
            };
            let kana_birth = r.get::<_, i64>(3)? as u64;
            keys.push_account(
                slot,
                KeyRow {
                    ecs_id,
                    person_id,
                    facts: standing.facts(fp, kana_birth),
                },
            );
            slot += 1;
        }
    }
    {
        let mut stmt = tx.prepare(&format!(
            "SELECT ecs_id, student_no FROM student_nos{filter} ORDER BY ecs_id, seq"
        ))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        let mut slot: Slot = 0;
        while let Some(r) = rows.next()? {
            let owner = text(r, 0)?;
            // Both statements walk the ECS-ID order; the foreign key makes every owner an account.
            while (slot as usize) < keys.len() && keys.ecs_id(slot) < owner {
                slot += 1;
            }
            if (slot as usize) < keys.len() && keys.ecs_id(slot) == owner {
                keys.push_student_no(slot, text(r, 1)?);
            }
        }
    }
    tx.finish()?;
    Ok((keys, digest))
}

/// The accounts of `range` in ECS-ID order for which `pick` (called once per account, in
/// order) says yes, with their student numbers. Two statements are walked side by side,
/// accounts by `ecs_id` and student numbers by `(ecs_id, seq)`, so a million accounts load in
/// one pass without a query per account; an account not picked is stepped over undecoded.
pub(crate) fn read_accounts(
    conn: &Connection,
    range: (Option<String>, Option<String>),
    mut pick: impl FnMut(usize) -> bool,
) -> Result<Vec<Account>, StoreError> {
    let (filter, params) = range_sql(&range);
    let mut acc_stmt = conn.prepare(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts{filter} ORDER BY ecs_id"
    ))?;
    let mut sn_stmt = conn.prepare(&format!(
        "SELECT ecs_id, student_no FROM student_nos{filter} ORDER BY ecs_id, seq"
    ))?;
    let mut accounts = Vec::new();
    let mut sn_rows = sn_stmt.query(rusqlite::params_from_iter(&params))?;
    let mut peeked: Option<(String, StudentNo)> = None;
    let mut rows = acc_stmt.query(rusqlite::params_from_iter(&params))?;
    let mut i = 0;
    while let Some(row) = rows.next()? {
        let picked = pick(i);
        i += 1;
        if !picked {
            continue;
        }
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
                // Numbers of accounts not picked (or, never, of no account).
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
