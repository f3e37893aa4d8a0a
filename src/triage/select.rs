//! [`select`]: the accounts a night's rules can act on, given the kept rows and the slots of the
//! quiet ones; [`take_back`]: the held quiet rows of mixed accounts back among the kept rows.

use chrono::NaiveDate;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::keys::{Facts, Keys, Scratch, Slot, kana_birth_key};
use crate::domain::rules::Inputs;
use crate::ingest::QuietRows;

/// Takes the held rows of the `mixed` slots back into `inputs.registrar`, in file order, and
/// those slots out of `quiet`, so [`select`] can run again as if the rows had been kept. A slot
/// with a quiet row that was dropped, not held, stays as it is (its files must be read again).
/// Returns how many rows came back.
pub(crate) fn take_back(inputs: &mut Inputs, quiet: &mut QuietRows, mixed: &[Slot]) -> usize {
    if mixed.is_empty() {
        return 0;
    }
    // Per mixed slot: its quiet rows, and how many of them were held.
    let mut counts: FxHashMap<Slot, (u32, u32)> = mixed.iter().map(|&s| (s, (0, 0))).collect();
    for s in &quiet.slots {
        if let Some(c) = counts.get_mut(s) {
            c.0 += 1;
        }
    }
    for (s, _) in &quiet.held {
        if let Some(c) = counts.get_mut(s) {
            c.1 += 1;
        }
    }
    counts.retain(|_, &mut (q, h)| q == h);
    if counts.is_empty() {
        return 0;
    }
    quiet.slots.retain(|s| !counts.contains_key(s));
    let (back, held): (Vec<_>, Vec<_>) = std::mem::take(&mut quiet.held)
        .into_iter()
        .partition(|(s, _)| counts.contains_key(s));
    quiet.held = held;
    let taken = back.len();
    let kept = std::mem::take(&mut inputs.registrar);
    debug_assert!(kept.windows(2).all(|w| w[0].at < w[1].at));
    let mut rows = Vec::with_capacity(kept.len() + back.len());
    let mut back = back.into_iter().map(|(_, r)| *r).peekable();
    for r in kept {
        while let Some(b) = back.next_if(|b| b.at < r.at) {
            rows.push(b);
        }
        rows.push(r);
    }
    rows.extend(back);
    inputs.registrar = rows;
    taken
}

/// What [`select`] decided.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// The accounts to read in full, ascending.
    pub load: Vec<Slot>,
    /// Loaded accounts a quiet row matched (not absent, though no kept row names them).
    pub quiet_seen: Vec<Slot>,
    /// Slots a quiet row and another row both hit: read again with these kept.
    pub mixed: Vec<Slot>,
    /// The kept registrar rows (positions in `Inputs::registrar`) that no identifier finds: the
    /// only ones that may create an account.
    pub unidentified: Vec<u32>,
    /// What [`super::narrow`] went through to make it, for the logs and the tests.
    pub stats: Stats,
}

/// Counts of a triage, for `REGSYNC_LOG=info` and the tests that check a world exercises every
/// path.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Quiet registrar rows (dropped or held).
    pub quiet: usize,
    /// Loaded accounts that quiet rows matched.
    pub quiet_seen: usize,
    /// Accounts a quiet row and another row both named, at the first selection.
    pub mixed: usize,
    /// Quiet rows held whole (of accounts with an earlier student number).
    pub held: usize,
    /// Held rows taken back among the kept rows.
    pub taken_back: usize,
    /// Accounts whose rows were read again (mixed, their quiet rows dropped).
    pub read_again: usize,
}

/// Names the accounts the rules can act on, given the kept rows (`inputs`) and the slots of
/// the quiet ones.
pub fn select(keys: &Keys, inputs: &Inputs, quiet: &[Slot], as_of: NaiveDate) -> Selection {
    if !(inputs.registrar.is_empty() && inputs.staff.is_empty() && inputs.renewals.is_empty()) {
        keys.kana_birth_index();
    }
    let n = keys.len();
    let mut load = vec![false; n];
    let mut hits = vec![0u8; n];
    let mut quiet_hits = vec![0u8; n];
    for &s in quiet {
        let q = &mut quiet_hits[s as usize];
        *q = q.saturating_add(1);
    }
    let unidentified = name_by_registrar_rows(keys, inputs, &mut load, &mut hits);
    name_by_other_rows(keys, inputs, &mut load);
    let full = inputs.full_snapshot;
    let slots: Vec<(Slot, bool, bool)> = (0..n)
        .into_par_iter()
        .filter_map(|i| {
            let f = &keys.facts[i];
            let seen = hits[i] > 0 || quiet_hits[i] > 0;
            let due = f.due_by(as_of);
            let absent = full && !seen && f.has(Facts::PLAIN_STUDENT);
            let mixed = quiet_hits[i] > 0 && u16::from(quiet_hits[i]) + u16::from(hits[i]) > 1;
            (load[i] || due || absent || mixed).then_some((i as Slot, mixed, quiet_hits[i] > 0))
        })
        .collect();
    let mut out = Selection {
        unidentified,
        ..Selection::default()
    };
    for (s, mixed, quiet) in slots {
        if mixed {
            out.mixed.push(s);
        }
        out.load.push(s);
        if quiet {
            out.quiet_seen.push(s);
        }
    }
    out
}

/// The identifiers a row names its account by, and its kana name and birth date for the R2
/// alikes.
struct Named<'a> {
    person_id: Option<&'a str>,
    student_no: Option<&'a str>,
    ecs_id: Option<&'a str>,
    kana: &'a str,
    birth: Option<NaiveDate>,
}

/// Puts into `found` the slots a row names, as the rules' matching would find them; returns how
/// many of them an identifier found (they come first).
fn lookup(keys: &Keys, found: &mut Vec<Slot>, row: &Named<'_>, scratch: &mut Scratch) -> usize {
    let mut certain = false;
    if let Some(p) = row.person_id {
        certain |= keys.by_person.extend_into(p, found);
    }
    if let Some(s) = row.student_no {
        certain |= keys.by_student_no.extend_into(s, found);
    }
    // Mostly the 個人番号 or the student number found the account the ECS-ID names already,
    // and the search among every ECS-ID is not needed.
    if let Some(e) = row.ecs_id
        && !found.iter().any(|&s| keys.ecs_id(s) == e)
    {
        found.extend(keys.by_ecs_id(e));
    }
    found.sort_unstable();
    found.dedup();
    let identified = found.len();
    // The rules look for kana + birth date alikes (R2) only for rows no identifier of theirs
    // finds; an account found for certain by its 個人番号 or student number is loaded, so
    // the rules find it too.
    if !certain {
        let kb = kana_birth_key(row.kana, row.birth, scratch);
        if kb != 0 {
            found.extend(keys.kana_birth(kb));
        }
    }
    identified
}

/// Marks the slots the kept registrar rows name to be loaded, in parallel, counting the ones an
/// identifier found as hits; returns the rows no identifier finds (the only ones that may create
/// an account).
fn name_by_registrar_rows(
    keys: &Keys,
    inputs: &Inputs,
    load: &mut [bool],
    hits: &mut [u8],
) -> Vec<u32> {
    const CHUNK: usize = 4096;
    // Per chunk: (slot, found by an identifier) pairs, and the rows found by none.
    type Chunk = (Vec<(Slot, bool)>, Vec<u32>);
    let named: Vec<Chunk> = inputs
        .registrar
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, rows)| {
            let mut out = Vec::with_capacity(rows.len() * 2);
            let mut unidentified = Vec::new();
            let mut found = Vec::with_capacity(4);
            let mut scratch = Scratch::default();
            for (k, r) in rows.iter().enumerate() {
                let row = Named {
                    person_id: r.person_id.as_ref().map(|p| p.as_str()),
                    student_no: Some(r.student_no.as_str()),
                    ecs_id: r.ecs_id.as_ref().map(|e| e.as_str()),
                    kana: &r.name_kana,
                    birth: r.birth_date,
                };
                let identified = lookup(keys, &mut found, &row, &mut scratch);
                if identified == 0 {
                    unidentified.push((c * CHUNK + k) as u32);
                }
                out.extend(found.iter().enumerate().map(|(j, &s)| (s, j < identified)));
                found.clear();
            }
            (out, unidentified)
        })
        .collect();
    let mut unidentified = Vec::new();
    for (slots, rows) in named {
        for (s, identified) in slots {
            load[s as usize] = true;
            if identified {
                let h = &mut hits[s as usize];
                *h = h.saturating_add(1);
            }
        }
        unidentified.extend(rows);
    }
    unidentified
}

/// Marks the slots HR's, the counter's and the activation rows name to be loaded: few rows,
/// each naming its accounts the same way.
fn name_by_other_rows(keys: &Keys, inputs: &Inputs, load: &mut [bool]) {
    let staff = inputs.staff.iter().map(|r| Named {
        person_id: r.person_id.as_ref().map(|p| p.as_str()),
        student_no: r.student_no.as_ref().map(|s| s.as_str()),
        ecs_id: r.ecs_id.as_ref().map(|e| e.as_str()),
        kana: &r.name_kana,
        birth: r.birth_date,
    });
    let renewals = inputs.renewals.iter().map(|r| Named {
        person_id: r.person_id.as_ref().map(|p| p.as_str()),
        student_no: r.student_no.as_ref().map(|s| s.as_str()),
        ecs_id: r.ecs_id.as_ref().map(|e| e.as_str()),
        kana: &r.name_kana,
        birth: r.birth_date,
    });
    let mut found = Vec::with_capacity(4);
    let mut scratch = Scratch::default();
    for row in staff.chain(renewals) {
        lookup(keys, &mut found, &row, &mut scratch);
        for s in found.drain(..) {
            load[s as usize] = true;
        }
    }
    for r in &inputs.activations {
        if let Some(s) = keys.by_ecs_id(r.ecs_id.as_str()) {
            load[s as usize] = true;
        }
    }
}
