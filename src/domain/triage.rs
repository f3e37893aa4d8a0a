//! Triage: which accounts a night's plan has to read in full.
//!
//! On a national registry nine rows in ten say what the store already knows. The rules would
//! decide "nothing" for each of them, but only after the account was read, cloned and compared
//! field by field. Triage decides that earlier and exactly, from [`Keys`]: a compact table of
//! every account (its identifiers, a fingerprint of the fields the registrar export carries, and
//! a few flags), which the store reads in a fraction of the time a full snapshot takes.
//!
//! 1. The store reads the [`Keys`].
//! 2. Ingest asks a [`Sifter`] about each registrar row: a row is *quiet* when the rules, given
//!    that row alone for that account, provably decide nothing ([`Sifter::quiet`] spells out the
//!    conditions, which mirror `rules::Work::still_student`). Quiet rows are dropped at once and
//!    only their account's slot is kept.
//! 3. [`select`] names the accounts the rules can act on: those any kept row points at (by any
//!    identifier, or as a kana + birth date candidate), those absent from a full snapshot, and
//!    those with something scheduled by `as_of`. A slot hit by a quiet row *and* by another row
//!    is *mixed*: the group of rows matters there, so the file is read again with those slots
//!    never sifted ([`Sifter::except`]).
//! 4. The store loads the selected accounts, and `rules::plan` runs on them as on a full
//!    snapshot, with the selected accounts that quiet rows matched passed as
//!    [`Inputs::quiet_seen`] (so they are not taken as absent).
//!
//! The plan is the same as on the full snapshot: the rules on the full snapshot give a quiet
//! row's account no action in the registrar pass, and every other pass only ever acts on
//! accounts [`select`] loads. `tests/it/triage.rs` checks the two plans are equal.
//!
//! The fingerprint and the kana + birth date key are stored with each account (the store
//! computes them with [`registrar_fp`] and [`kana_birth_key`] whenever it writes one). They are
//! part of the schema: changing either function needs a migration that recomputes them.

use chrono::NaiveDate;
use compact_str::CompactString;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use crate::domain::account::{Account, Role, State};
use crate::domain::model::{RegistrarRow, Status};
use crate::domain::rules::Inputs;
use crate::domain::text::{fold_kana_key_into, fold_key_into};

/// An account's position in [`Keys`]: its rank by ECS-ID.
pub type Slot = u32;

/// An identifier as a hash key: ASCII of up to 16 bytes packed exactly (the common case, so no
/// two identifiers can share a key), anything else as its xxh3-128 hash with the top bit set,
/// which packed ASCII never has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdKey(u128);

impl IdKey {
    pub fn of(s: &str) -> IdKey {
        let b = s.as_bytes();
        if b.len() <= 16 && b.is_ascii() {
            let mut buf = [0u8; 16];
            buf[..b.len()].copy_from_slice(b);
            IdKey(u128::from_le_bytes(buf))
        } else {
            IdKey(xxh3_128(b) | 1 << 127)
        }
    }
}

/// What triage needs of one account besides its identifiers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// [`registrar_fp`] of the account; `None` when its 身分 is not known yet (the next row
    /// fills it, which is a change).
    pub fp: Option<u128>,
    /// [`kana_birth_key`], 0 when the account has no birth date or no kana name.
    pub kana_birth: u64,
    /// The first day a scheduled action may fall due (`rules::may_be_due`); `None` for never.
    pub due_from: Option<NaiveDate>,
    pub flags: u8,
}

impl Facts {
    /// An active or pending student with nothing scheduled: the only accounts a row can be
    /// quiet about, and the only ones a full snapshot's silence makes depart (R5).
    pub const PLAIN_STUDENT: u8 = 1;
    pub const HAS_PERSON_ID: u8 = 2;
    pub const HAS_BIRTH_DATE: u8 = 4;
    /// Not stopped: what the mass-change guard counts.
    pub const NOT_STOPPED: u8 = 8;

    /// The facts of `a`, given its stored fingerprint and kana key.
    pub fn of(a: &Account, fp: Option<u128>, kana_birth: u64) -> Facts {
        Standing {
            role: a.role,
            state: a.state,
            has_person_id: a.person_id.is_some(),
            has_birth_date: a.birth_date.is_some(),
            activation_deadline: a.activation_deadline,
            activation_expired: a.activation_expired,
            stop_on: a.stop_on,
            reminder_on: a.reminder_on,
            reminder_sent: a.reminder_sent,
        }
        .facts(fp, kana_birth)
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The columns of an account that [`Facts`] derive from (what the store scans).
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    pub role: Role,
    pub state: State,
    pub has_person_id: bool,
    pub has_birth_date: bool,
    pub activation_deadline: Option<NaiveDate>,
    pub activation_expired: bool,
    pub stop_on: Option<NaiveDate>,
    pub reminder_on: Option<NaiveDate>,
    pub reminder_sent: bool,
}

impl Standing {
    pub fn facts(&self, fp: Option<u128>, kana_birth: u64) -> Facts {
        let stopped = self.state == State::Stopped;
        let mut flags = 0;
        if self.role == Role::Student && !stopped && self.stop_on.is_none() {
            flags |= Facts::PLAIN_STUDENT;
        }
        if self.has_person_id {
            flags |= Facts::HAS_PERSON_ID;
        }
        if self.has_birth_date {
            flags |= Facts::HAS_BIRTH_DATE;
        }
        if !stopped {
            flags |= Facts::NOT_STOPPED;
        }
        Facts {
            fp,
            kana_birth,
            due_from: self.due_from(),
            flags,
        }
    }

    /// The earliest `as_of` on which `rules::may_be_due` holds (and `due_actions` can act:
    /// never for a stopped account); a holder may always be due.
    fn due_from(&self) -> Option<NaiveDate> {
        if self.state == State::Stopped {
            return None;
        }
        if self.role == Role::Holder {
            return Some(NaiveDate::MIN);
        }
        let activation = self
            .activation_deadline
            .filter(|_| self.state == State::Pending && !self.activation_expired)
            .and_then(|d| d.succ_opt());
        let reminder = self.reminder_on.filter(|_| !self.reminder_sent);
        [activation, self.stop_on, reminder]
            .into_iter()
            .flatten()
            .min()
    }
}

fn status_code(s: Status) -> u8 {
    match s {
        Status::Undergraduate => 1,
        Status::Graduate => 2,
        Status::ResearchStudent => 3,
        Status::CreditAuditor => 4,
        Status::Auditor => 5,
        Status::SpecialAuditor => 6,
        Status::SpecialResearchStudent => 7,
    }
}

/// Reusable buffers for the folds, one per thread.
#[derive(Default)]
pub struct Scratch {
    name: String,
    kana: String,
}

/// The fingerprint of what a registrar row says about a person and the rules compare with the
/// account (`rules::refresh_person` and the student number): current student number and 所属
/// exactly, 身分, and the name and kana name by their folded keys, each length-prefixed.
pub fn registrar_fp(
    student_no: &str,
    faculty: &str,
    status: Status,
    name: &str,
    name_kana: &str,
    scratch: &mut Scratch,
) -> u128 {
    fold_key_into(name, &mut scratch.name);
    fold_kana_key_into(name_kana, &mut scratch.kana);
    let mut h = Xxh3::new();
    for part in [
        student_no,
        faculty,
        scratch.name.as_str(),
        scratch.kana.as_str(),
    ] {
        h.update(&(part.len() as u32).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update(&[status_code(status)]);
    h.digest128()
}

/// The fingerprint of an account, as the store keeps it; `None` until its 身分 is known.
pub fn account_fp(a: &Account, scratch: &mut Scratch) -> Option<u128> {
    let status = a.status?;
    let no = a.student_no().map_or("", |s| s.as_str());
    Some(registrar_fp(
        no,
        &a.faculty,
        status,
        &a.name,
        &a.name_kana,
        scratch,
    ))
}

/// The key of (birth date, folded kana name) that `Index::name_birth_candidates` matches on,
/// hashed; 0 when either is missing.
pub fn kana_birth_key(name_kana: &str, birth: Option<NaiveDate>, scratch: &mut Scratch) -> u64 {
    let Some(birth) = birth else { return 0 };
    fold_kana_key_into(name_kana, &mut scratch.kana);
    if scratch.kana.is_empty() {
        return 0;
    }
    let mut h = Xxh3::new();
    h.update(&birth.to_epoch_days().to_le_bytes());
    h.update(scratch.kana.as_bytes());
    h.digest().max(1)
}

/// Every account on record, compactly: what [`Sifter`] and [`select`] read.
#[derive(Debug, Default)]
pub struct Keys {
    /// ECS-IDs by slot, ascending.
    ecs_ids: Vec<CompactString>,
    facts: Vec<Facts>,
    by_person: FxHashMap<IdKey, Slot>,
    by_student_no: FxHashMap<IdKey, Slot>,
    /// (kana + birth key, slot), sorted; built on first use.
    by_kana_birth: std::sync::OnceLock<Vec<(u64, Slot)>>,
    pub next_serial: u64,
    pub digest: String,
}

/// One account's row for [`Keys::build`].
pub struct KeyRow<'a> {
    pub ecs_id: &'a str,
    pub person_id: Option<&'a str>,
    pub facts: Facts,
}

impl Keys {
    /// `accounts` in ECS-ID order; `student_nos` as (slot, student number), any order.
    pub fn build<'a>(
        accounts: impl IntoIterator<Item = KeyRow<'a>>,
        student_nos: impl IntoIterator<Item = (Slot, &'a str)>,
        next_serial: u64,
        digest: String,
    ) -> Keys {
        let mut keys = Keys {
            next_serial,
            digest,
            ..Keys::default()
        };
        for (slot, row) in accounts.into_iter().enumerate() {
            keys.push_account(slot as Slot, row);
        }
        for (slot, no) in student_nos {
            keys.by_student_no.insert(IdKey::of(no), slot);
        }
        keys
    }

    /// An empty table for `n` accounts; fill with [`Keys::push_account`] and
    /// [`Keys::push_student_no`].
    pub fn with_capacity(n: usize, next_serial: u64, digest: String) -> Keys {
        Keys {
            ecs_ids: Vec::with_capacity(n),
            facts: Vec::with_capacity(n),
            by_person: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            by_student_no: FxHashMap::with_capacity_and_hasher(n + n / 8, Default::default()),
            by_kana_birth: std::sync::OnceLock::new(),
            next_serial,
            digest,
        }
    }

    /// Adds the next account (in ECS-ID order) at `slot`, which must equal [`Keys::len`].
    pub fn push_account(&mut self, slot: Slot, row: KeyRow<'_>) {
        debug_assert_eq!(slot as usize, self.ecs_ids.len());
        debug_assert!(self.ecs_ids.last().is_none_or(|l| l.as_str() < row.ecs_id));
        if let Some(p) = row.person_id {
            self.by_person.insert(IdKey::of(p), slot);
        }
        self.ecs_ids.push(CompactString::new(row.ecs_id));
        self.facts.push(row.facts);
    }

    pub fn push_student_no(&mut self, slot: Slot, student_no: &str) {
        self.by_student_no.insert(IdKey::of(student_no), slot);
    }

    /// Appends `other`, whose accounts all sort after these (the store reads ranges in
    /// parallel and joins them in order).
    pub fn append(&mut self, other: Keys) {
        let base = self.ecs_ids.len() as Slot;
        debug_assert!(self.ecs_ids.last().is_none_or(|l| {
            other
                .ecs_ids
                .first()
                .is_none_or(|f| l.as_str() < f.as_str())
        }));
        self.ecs_ids.extend(other.ecs_ids);
        self.facts.extend(other.facts);
        self.by_person
            .extend(other.by_person.into_iter().map(|(k, s)| (k, s + base)));
        self.by_student_no
            .extend(other.by_student_no.into_iter().map(|(k, s)| (k, s + base)));
    }

    pub fn len(&self) -> usize {
        self.ecs_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ecs_ids.is_empty()
    }

    pub fn ecs_id(&self, slot: Slot) -> &str {
        &self.ecs_ids[slot as usize]
    }

    pub fn facts(&self, slot: Slot) -> &Facts {
        &self.facts[slot as usize]
    }

    pub fn by_person(&self, person_id: &str) -> Option<Slot> {
        self.by_person.get(&IdKey::of(person_id)).copied()
    }

    pub fn by_student_no(&self, student_no: &str) -> Option<Slot> {
        self.by_student_no.get(&IdKey::of(student_no)).copied()
    }

    pub fn by_ecs_id(&self, ecs_id: &str) -> Option<Slot> {
        self.ecs_ids
            .binary_search_by(|e| e.as_str().cmp(ecs_id))
            .ok()
            .map(|i| i as Slot)
    }

    /// Accounts not stopped: what the mass-change guard measures against.
    pub fn not_stopped(&self) -> usize {
        self.facts
            .par_iter()
            .filter(|f| f.has(Facts::NOT_STOPPED))
            .count()
    }

    /// Slots whose kana + birth key is `key` (a superset of the exact candidates: keys are
    /// hashes; the rules compare the folded names themselves).
    fn kana_birth(&self, key: u64) -> impl Iterator<Item = Slot> + '_ {
        let sorted = self.by_kana_birth.get_or_init(|| {
            let mut v: Vec<(u64, Slot)> = self
                .facts
                .par_iter()
                .enumerate()
                .filter(|(_, f)| f.kana_birth != 0)
                .map(|(i, f)| (f.kana_birth, i as Slot))
                .collect();
            v.par_sort_unstable();
            v
        });
        let start = sorted.partition_point(|(k, _)| *k < key);
        sorted[start..]
            .iter()
            .take_while(move |(k, _)| *k == key)
            .map(|(_, s)| *s)
    }
}

/// Decides, row by row during ingest, which registrar rows are quiet.
pub trait Sift: Sync {
    /// The slot of the account `row` is quiet about, or `None` to keep the row.
    fn quiet(&self, row: &RegistrarRow) -> Option<Slot>;
}

pub struct Sifter<'k> {
    keys: &'k Keys,
    /// Slots whose rows are always kept.
    except: FxHashSet<Slot>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

impl<'k> Sifter<'k> {
    pub fn new(keys: &'k Keys) -> Self {
        Sifter {
            keys,
            except: FxHashSet::default(),
        }
    }

    /// A sifter that keeps every row of `slots` (the mixed slots of a first read).
    pub fn except(keys: &'k Keys, slots: impl IntoIterator<Item = Slot>) -> Self {
        Sifter {
            keys,
            except: slots.into_iter().collect(),
        }
    }
}

impl Sift for Sifter<'_> {
    /// Quiet means: the row says the person is enrolled; its 個人番号 and student number find
    /// one account (the same one when both are on record) and its ECS-ID column, if any, names
    /// that account; the account is a plain student (student role, not stopped, no stop
    /// scheduled) whose 身分 is known; the row's student number is the account's current one
    /// and its 所属, 身分, name and kana name are the account's (the fingerprints are equal, and
    /// none of the three texts is blank, which the rules would skip); and the row brings no
    /// 個人番号 or birth date the account lacks. The rules then change nothing.
    fn quiet(&self, row: &RegistrarRow) -> Option<Slot> {
        if !row.enrollment.is_student()
            || row.faculty.is_empty()
            || row.name.is_empty()
            || row.name_kana.is_empty()
        {
            return None;
        }
        let keys = self.keys;
        let p = row
            .person_id
            .as_ref()
            .and_then(|p| keys.by_person(p.as_str()));
        let s = keys.by_student_no(row.student_no.as_str());
        let slot = match (p, s) {
            (Some(p), Some(s)) if p != s => return None,
            (Some(i), _) | (None, Some(i)) => i,
            (None, None) => return None,
        };
        if let Some(e) = &row.ecs_id
            && keys.ecs_id(slot) != e.as_str()
        {
            return None;
        }
        let f = keys.facts(slot);
        let fp = f.fp?;
        if !f.has(Facts::PLAIN_STUDENT)
            || (row.person_id.is_some() && !f.has(Facts::HAS_PERSON_ID))
            || (row.birth_date.is_some() && !f.has(Facts::HAS_BIRTH_DATE))
            || self.except.contains(&slot)
        {
            return None;
        }
        let row_fp = SCRATCH.with_borrow_mut(|scratch| {
            registrar_fp(
                row.student_no.as_str(),
                &row.faculty,
                row.status,
                &row.name,
                &row.name_kana,
                scratch,
            )
        });
        (row_fp == fp).then_some(slot)
    }
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
}

/// Names the accounts the rules can act on, given the kept rows (`inputs`) and the slots of
/// the quiet ones.
pub fn select(keys: &Keys, inputs: &Inputs, quiet: &[Slot], as_of: NaiveDate) -> Selection {
    let n = keys.len();
    let mut load = vec![false; n];
    let mut hits = vec![0u8; n];
    let mut quiet_hits = vec![0u8; n];
    for &s in quiet {
        let q = &mut quiet_hits[s as usize];
        *q = q.saturating_add(1);
    }
    let mark = |slots: &mut Vec<Slot>, load: &mut [bool]| {
        for &s in slots.iter() {
            load[s as usize] = true;
        }
        slots.clear();
    };
    let mut found: Vec<Slot> = Vec::with_capacity(4);
    let lookup = |found: &mut Vec<Slot>,
                  person_id: Option<&str>,
                  student_no: Option<&str>,
                  ecs_id: Option<&str>,
                  kana: &str,
                  birth: Option<NaiveDate>,
                  scratch: &mut Scratch| {
        found.extend(person_id.and_then(|p| keys.by_person(p)));
        found.extend(student_no.and_then(|s| keys.by_student_no(s)));
        found.extend(ecs_id.and_then(|e| keys.by_ecs_id(e)));
        found.sort_unstable();
        found.dedup();
        let identified = found.len();
        let kb = kana_birth_key(kana, birth, scratch);
        if kb != 0 {
            found.extend(keys.kana_birth(kb));
        }
        identified
    };
    let mut scratch = Scratch::default();
    for r in &inputs.registrar {
        let identified = lookup(
            &mut found,
            r.person_id.as_ref().map(|p| p.as_str()),
            Some(r.student_no.as_str()),
            r.ecs_id.as_ref().map(|e| e.as_str()),
            &r.name_kana,
            r.birth_date,
            &mut scratch,
        );
        for &s in &found[..identified] {
            let h = &mut hits[s as usize];
            *h = h.saturating_add(1);
        }
        mark(&mut found, &mut load);
    }
    for r in &inputs.staff {
        lookup(
            &mut found,
            r.person_id.as_ref().map(|p| p.as_str()),
            r.student_no.as_ref().map(|s| s.as_str()),
            r.ecs_id.as_ref().map(|e| e.as_str()),
            &r.name_kana,
            r.birth_date,
            &mut scratch,
        );
        mark(&mut found, &mut load);
    }
    for r in &inputs.renewals {
        lookup(
            &mut found,
            r.person_id.as_ref().map(|p| p.as_str()),
            r.student_no.as_ref().map(|s| s.as_str()),
            r.ecs_id.as_ref().map(|e| e.as_str()),
            &r.name_kana,
            r.birth_date,
            &mut scratch,
        );
        mark(&mut found, &mut load);
    }
    for r in &inputs.activations {
        found.extend(keys.by_ecs_id(r.ecs_id.as_str()));
        mark(&mut found, &mut load);
    }
    let full = inputs.full_snapshot;
    let slots: Vec<(Slot, bool, bool)> = (0..n)
        .into_par_iter()
        .filter_map(|i| {
            let f = &keys.facts[i];
            let seen = hits[i] > 0 || quiet_hits[i] > 0;
            let due = f.due_from.is_some_and(|d| d <= as_of);
            let absent = full && !seen && f.has(Facts::PLAIN_STUDENT);
            let mixed = quiet_hits[i] > 0 && u16::from(quiet_hits[i]) + u16::from(hits[i]) > 1;
            (load[i] || due || absent || mixed).then_some((i as Slot, mixed, quiet_hits[i] > 0))
        })
        .collect();
    let mut out = Selection::default();
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
