//! The compact table of every account ([`Keys`]): identifiers as hash keys, and per account its
//! [`Facts`] (a fingerprint of what a registrar row carries, the kana + birth date key, the
//! first day something may fall due, a few flags). The store keeps the facts with each account
//! (the derived `triage` column) and reads this table in a fraction of a full snapshot's time.

use chrono::{Datelike, NaiveDate};
use compact_str::CompactString;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use crate::domain::account::{Account, Role, State};
use crate::domain::model::{Status, StudentNo};
use crate::domain::text::{fold_kana_key_into, fold_key_into};
pub use crate::ingest::Slot;

mod table;

/// An identifier as a 64-bit hash key. Exact for the identifiers registries use: digits only
/// (up to 17, with their count, so `0123` and `123` differ) or other ASCII up to 8 characters
/// (7 bits each). Anything else is its xxh3 hash, marked by the two top bits; [`IdMap`] notices
/// when two accounts' identifiers share a key, so a hash never joins two people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct IdKey(pub(super) u64);

impl IdKey {
    pub(super) const ASCII: u64 = 1 << 63;
    pub(super) const HASHED: u64 = 3 << 62;

    /// Whether the key is the identifier itself, not its hash: equal exact keys are equal
    /// identifiers.
    pub(crate) fn is_exact(self) -> bool {
        self.0 & IdKey::HASHED != IdKey::HASHED
    }

    pub fn of(s: &str) -> IdKey {
        let b = s.as_bytes();
        if !b.is_empty() && b.len() <= 17 && b.iter().all(u8::is_ascii_digit) {
            let n = b.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            return IdKey(n | (b.len() as u64) << 57);
        }
        if b.len() <= 8 && b.iter().all(|&c| c != 0 && c.is_ascii()) {
            let n = b.iter().fold(0u64, |n, &c| n << 7 | u64::from(c));
            return IdKey(n | IdKey::ASCII);
        }
        IdKey(xxh3_64(b) | IdKey::HASHED)
    }
}

/// Identifier keys to slots. A key held by several accounts (the same identifier twice, or,
/// rarely, two hashes alike) maps to all of them, so triage keeps the rows that name it and
/// loads every one of those accounts; the rules then match on the identifiers themselves.
#[derive(Debug, Default)]
pub(crate) struct IdMap {
    /// Each key's slot, or [`IdMap::MANY`] for a key in `many` ([`table`] says why a table of
    /// its own).
    one: table::Table,
    pub(super) many: FxHashMap<IdKey, Vec<Slot>>,
}

/// What an [`IdMap`] holds for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    None,
    One(Slot),
    Many(&'a [Slot]),
}

impl IdMap {
    /// In `one`, a key held by several accounts: its slots are in `many`. No slot is this
    /// large (a slot counts accounts).
    const MANY: Slot = Slot::MAX;

    pub(super) fn build(entries: &[(IdKey, Slot)]) -> IdMap {
        let mut one = table::Table::with_capacity(entries.len());
        let mut many: FxHashMap<IdKey, Vec<Slot>> = FxHashMap::default();
        for &(k, s) in entries {
            debug_assert_ne!(s, IdMap::MANY);
            match one.insert(k.0, s) {
                None => {}
                Some(prev) if prev == s => {}
                Some(IdMap::MANY) => {
                    one.insert(k.0, IdMap::MANY);
                    let slots = many.entry(k).or_default();
                    if !slots.contains(&s) {
                        slots.push(s);
                    }
                }
                Some(prev) => {
                    one.insert(k.0, IdMap::MANY);
                    many.insert(k, vec![prev, s]);
                }
            }
        }
        many.shrink_to_fit();
        IdMap { one, many }
    }

    pub fn get(&self, id: &str) -> Found<'_> {
        self.get_key(IdKey::of(id))
    }

    pub(super) fn get_key(&self, k: IdKey) -> Found<'_> {
        match self.one.get(k.0) {
            None => Found::None,
            Some(IdMap::MANY) => self.many.get(&k).map_or(Found::None, |v| Found::Many(v)),
            Some(s) => Found::One(s),
        }
    }

    /// Every slot `id`'s key names, into `out`; whether `id` itself is on record for certain
    /// (one was found and the key is exact, not a hash).
    pub(super) fn extend_into(&self, id: &str, out: &mut Vec<Slot>) -> bool {
        let k = IdKey::of(id);
        match self.get_key(k) {
            Found::None => return false,
            Found::One(s) => out.push(s),
            Found::Many(v) => out.extend_from_slice(v),
        }
        k.is_exact()
    }
}

/// What triage needs of one account besides its identifiers. The store keeps it with each
/// account, as [`Facts::to_bytes`], computed by [`Facts::of`] whenever it writes the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Facts {
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
    pub(crate) const PLAIN_STUDENT: u8 = 1;
    pub(crate) const HAS_PERSON_ID: u8 = 2;
    pub(crate) const HAS_BIRTH_DATE: u8 = 4;
    /// Not stopped: what the mass-change guard counts.
    pub(crate) const NOT_STOPPED: u8 = 8;

    /// The layout version of [`Facts::to_bytes`].
    pub(super) const VERSION: u8 = 1;

    pub fn of(a: &Account, scratch: &mut Scratch) -> Facts {
        let stopped = a.state == State::Stopped;
        let mut flags = 0;
        if a.is_plain_student() {
            flags |= Facts::PLAIN_STUDENT;
        }
        if a.person_id.is_some() {
            flags |= Facts::HAS_PERSON_ID;
        }
        if a.birth_date.is_some() {
            flags |= Facts::HAS_BIRTH_DATE;
        }
        if !stopped {
            flags |= Facts::NOT_STOPPED;
        }
        Facts {
            fp: account_fp(a, scratch),
            kana_birth: kana_birth_key(&a.name_kana, a.birth_date, scratch),
            due_from: due_from(a),
            flags,
        }
    }

    /// The stored form (the store's `accounts.triage`): [`Facts::to_bytes`], then the account's
    /// student numbers, oldest first, each followed by a zero byte, so a scan of the accounts
    /// alone yields every identifier (and `store::keys::load` the history).
    pub fn encode(&self, student_nos: &[StudentNo]) -> Vec<u8> {
        let mut b = Vec::with_capacity(
            32 + student_nos
                .iter()
                .map(|s| s.as_str().len() + 1)
                .sum::<usize>(),
        );
        b.extend_from_slice(&self.to_bytes());
        for no in student_nos {
            b.extend_from_slice(no.as_str().as_bytes());
            b.push(0);
        }
        b
    }

    /// The facts and the student numbers of [`Facts::encode`]; `None` for other bytes.
    pub(crate) fn decode(b: &[u8]) -> Option<(Facts, impl Iterator<Item = &str>)> {
        let facts = Facts::from_bytes(b.get(..32)?)?;
        let rest = std::str::from_utf8(&b[32..]).ok()?;
        if !rest.is_empty() && !rest.ends_with('\0') {
            return None;
        }
        let nos = rest.split_terminator('\0');
        Some((facts, nos))
    }

    /// 32 bytes: fingerprint (16, LE), kana key (8), due date (4, days from CE, `i32::MIN` for
    /// none), flags, whether there is a fingerprint, the layout version, one zero.
    pub(crate) fn to_bytes(self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[..16].copy_from_slice(&self.fp.unwrap_or(0).to_le_bytes());
        b[16..24].copy_from_slice(&self.kana_birth.to_le_bytes());
        let due = self.due_from.map_or(i32::MIN, |d| d.num_days_from_ce());
        b[24..28].copy_from_slice(&due.to_le_bytes());
        b[28] = self.flags;
        b[29] = u8::from(self.fp.is_some());
        b[30] = Facts::VERSION;
        b
    }

    /// `None` for bytes not made by [`Facts::to_bytes`] of this version.
    pub(crate) fn from_bytes(b: &[u8]) -> Option<Facts> {
        let b: &[u8; 32] = b.try_into().ok()?;
        if b[30] != Facts::VERSION || b[29] > 1 {
            return None;
        }
        let fp = u128::from_le_bytes(b[..16].try_into().ok()?);
        let due = i32::from_le_bytes(b[24..28].try_into().ok()?);
        Some(Facts {
            fp: (b[29] == 1).then_some(fp),
            kana_birth: u64::from_le_bytes(b[16..24].try_into().ok()?),
            due_from: if due == i32::MIN {
                None
            } else {
                Some(NaiveDate::from_num_days_from_ce_opt(due)?)
            },
            flags: b[28],
        })
    }
}

/// [`Facts`] as [`Keys`] holds them: 32 bytes a slot.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Packed {
    pub(super) fp: u128,
    pub(super) kana_birth: u64,
    /// Days from CE, `i32::MAX` for never.
    pub(super) due: i32,
    /// [`Facts::flags`], and [`Packed::HAS_FP`].
    pub(super) flags: u8,
}

impl Packed {
    pub(super) const HAS_FP: u8 = 0x80;
    /// The account has an earlier student number on record (not stored: [`KeysPart::push`]
    /// sets it from the numbers).
    pub(super) const EARLIER_NUMBER: u8 = 0x40;

    pub(super) fn new(f: &Facts) -> Packed {
        Packed {
            fp: f.fp.unwrap_or(0),
            kana_birth: f.kana_birth,
            due: f.due_from.map_or(i32::MAX, |d| d.num_days_from_ce()),
            flags: f.flags | if f.fp.is_some() { Packed::HAS_FP } else { 0 },
        }
    }

    pub(super) fn fp(&self) -> Option<u128> {
        (self.flags & Packed::HAS_FP != 0).then_some(self.fp)
    }

    pub(super) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    pub(super) fn due_by(&self, as_of: NaiveDate) -> bool {
        self.due <= as_of.num_days_from_ce()
    }
}

/// The earliest `as_of` on which `rules::may_be_due` holds for `a` (and `due_actions` can act:
/// never for a stopped account); a holder may always be due.
fn due_from(a: &Account) -> Option<NaiveDate> {
    if a.state == State::Stopped {
        return None;
    }
    // A holder may always be due; so may a conversion imported without its reminder date,
    // whose reminder follows from the policy's months (`rules::staff_reminder_on`).
    if a.role == Role::Holder
        || (a.role == Role::ConvertingStaff && a.reminder_on.is_none() && !a.reminder_sent)
    {
        return Some(NaiveDate::MIN);
    }
    let activation = a
        .activation_deadline
        .filter(|_| a.state == State::Pending && !a.activation_expired)
        .and_then(|d| d.succ_opt());
    let reminder = a.reminder_on.filter(|_| !a.reminder_sent);
    [activation, a.stop_on, reminder]
        .into_iter()
        .flatten()
        .min()
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
pub(crate) struct Scratch {
    pub(super) name: String,
    pub(super) kana: String,
}

/// The fingerprint of what a registrar row says about a person and the rules compare with the
/// account (`rules::refresh_person` and the student number): current student number and 所属
/// exactly, 身分, and the name and kana name by their folded keys, each length-prefixed.
pub(crate) fn registrar_fp(
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
pub(crate) fn account_fp(a: &Account, scratch: &mut Scratch) -> Option<u128> {
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
pub(crate) fn kana_birth_key(
    name_kana: &str,
    birth: Option<NaiveDate>,
    scratch: &mut Scratch,
) -> u64 {
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

/// A slot by its kana + birth key: `(key, slot)`.
type KanaBirth = (u64, Slot);

/// Every account on record, compactly: what [`Sifter`] and [`select`] read.
#[derive(Debug, Default)]
pub struct Keys {
    /// ECS-IDs by slot, ascending (so found by binary search), and their keys.
    pub(super) ecs_ids: Vec<CompactString>,
    /// Every [`FENCE`]-th ECS-ID, for [`partition_fenced`].
    pub(super) ecs_fences: Vec<CompactString>,
    pub(super) ecs_keys: Vec<IdKey>,
    pub(super) facts: Vec<Packed>,
    pub(super) by_person: IdMap,
    pub(super) by_student_no: IdMap,
    /// (kana + birth key, slot), sorted, and its fences; built on first use.
    pub(super) by_kana_birth: std::sync::OnceLock<(Vec<KanaBirth>, Vec<KanaBirth>)>,
    pub next_serial: u64,
    pub digest: String,
}

/// The accounts of one range of ECS-IDs, as the store reads them; slots count from the range's
/// first account.
#[derive(Debug, Default)]
pub(crate) struct KeysPart {
    pub ecs_ids: Vec<CompactString>,
    pub(super) facts: Vec<Packed>,
    pub(super) person_ids: Vec<(IdKey, Slot)>,
    pub(super) student_nos: Vec<(IdKey, Slot)>,
}

impl KeysPart {
    /// Adds the next account of the range (in ECS-ID order), with its student numbers.
    pub fn push<'a>(
        &mut self,
        ecs_id: &str,
        person_id: Option<&str>,
        facts: Facts,
        student_nos: impl IntoIterator<Item = &'a str>,
    ) {
        let slot = self.ecs_ids.len() as Slot;
        if let Some(p) = person_id {
            self.person_ids.push((IdKey::of(p), slot));
        }
        let before = self.student_nos.len();
        self.student_nos
            .extend(student_nos.into_iter().map(|no| (IdKey::of(no), slot)));
        let mut packed = Packed::new(&facts);
        if self.student_nos.len() - before > 1 {
            packed.flags |= Packed::EARLIER_NUMBER;
        }
        self.ecs_ids.push(CompactString::new(ecs_id));
        self.facts.push(packed);
    }
}

impl Keys {
    /// Joins the parts (in ECS-ID order) and indexes them.
    pub(crate) fn from_parts(parts: Vec<KeysPart>, next_serial: u64, digest: String) -> Keys {
        // The first part's vectors grow to hold the others (no copy of the first).
        let mut parts = parts.into_iter();
        let mut all = parts.next().unwrap_or_default();
        for mut part in parts {
            let base = all.ecs_ids.len() as Slot;
            all.person_ids
                .extend(part.person_ids.iter().map(|&(k, s)| (k, s + base)));
            all.student_nos
                .extend(part.student_nos.iter().map(|&(k, s)| (k, s + base)));
            all.ecs_ids.append(&mut part.ecs_ids);
            all.facts.append(&mut part.facts);
        }
        let KeysPart {
            ecs_ids,
            facts,
            person_ids,
            student_nos,
        } = all;
        debug_assert!(ecs_ids.windows(2).all(|w| w[0] < w[1]));
        let ((by_person, by_student_no), ecs_keys) = rayon::join(
            || rayon::join(|| IdMap::build(&person_ids), || IdMap::build(&student_nos)),
            || ecs_ids.par_iter().map(|e| IdKey::of(e)).collect(),
        );
        drop((person_ids, student_nos));
        Keys {
            ecs_fences: fences(&ecs_ids),
            ecs_ids,
            ecs_keys,
            facts,
            by_person,
            by_student_no,
            by_kana_birth: std::sync::OnceLock::new(),
            next_serial,
            digest,
        }
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

    pub(crate) fn by_person(&self, person_id: &str) -> Found<'_> {
        self.by_person.get(person_id)
    }

    pub(crate) fn by_student_no(&self, student_no: &str) -> Found<'_> {
        self.by_student_no.get(student_no)
    }

    pub fn by_ecs_id(&self, ecs_id: &str) -> Option<Slot> {
        let i = partition_fenced(&self.ecs_ids, &self.ecs_fences, |e| e.as_str() < ecs_id);
        (self.ecs_ids.get(i).map(|e| e.as_str()) == Some(ecs_id)).then_some(i as Slot)
    }

    /// Accounts not stopped: what the mass-change guard measures against.
    pub(crate) fn not_stopped(&self) -> usize {
        self.facts
            .par_iter()
            .filter(|f| f.has(Facts::NOT_STOPPED))
            .count()
    }

    /// Slots whose kana + birth key is `key` (a superset of the exact candidates: keys are
    /// hashes; the rules compare the folded names themselves).
    pub(super) fn kana_birth(&self, key: u64) -> impl Iterator<Item = Slot> + '_ {
        let (sorted, fences) = self.kana_birth_index();
        let start = partition_fenced(sorted, fences, |(k, _)| *k < key);
        sorted[start..]
            .iter()
            .take_while(move |(k, _)| *k == key)
            .map(|(_, s)| *s)
    }

    /// Every slot with a kana + birth key, by key; made on first use, on every thread. A first
    /// use inside a parallel loop would make it on one thread while the others wait for it
    /// (at 3M accounts ~0.17 s), so [`select`] asks for it before its loop.
    pub(super) fn kana_birth_index(&self) -> (&[KanaBirth], &[KanaBirth]) {
        let (sorted, fences) = self.by_kana_birth.get_or_init(|| {
            let mut v: Vec<(u64, Slot)> = self
                .facts
                .par_iter()
                .enumerate()
                .filter(|(_, f)| f.kana_birth != 0)
                .map(|(i, f)| (f.kana_birth, i as Slot))
                .collect();
            v.par_sort_unstable();
            let f = fences(&v);
            (v, f)
        });
        (sorted, fences)
    }
}

/// How far apart the entries [`fences`] samples are.
const FENCE: usize = 64;

/// Every [`FENCE`]-th entry of `sorted`, from the first.
pub(super) fn fences<T: Clone>(sorted: &[T]) -> Vec<T> {
    sorted.iter().step_by(FENCE).cloned().collect()
}

/// `sorted.partition_point(below)`, found through `fences` (of `sorted`, by [`fences`]): a
/// binary search of the fences, small enough to stay in the processor's cache, then of one
/// stretch of [`FENCE`] entries. A plain binary search over millions of entries misses the
/// cache at nearly every step; triage makes one per kept row and identifier (at 3M accounts
/// `by_ecs_id` was 6× its 1M time).
pub(super) fn partition_fenced<T>(sorted: &[T], fences: &[T], below: impl Fn(&T) -> bool) -> usize {
    debug_assert_eq!(fences.len(), sorted.len().div_ceil(FENCE));
    // Fences before `f` are below; the entries from fence `f` on are not.
    let f = fences.partition_point(&below);
    let (lo, hi) = (f.saturating_sub(1) * FENCE, (f * FENCE).min(sorted.len()));
    lo + sorted[lo..hi].partition_point(below)
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's fold buffers (for callers folding row after row).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with_borrow_mut(f)
}
