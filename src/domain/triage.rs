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
//!    that row alone for that account, provably decide nothing ([`Sift::sift`] spells out the
//!    conditions, which mirror `rules::Work::still_student`). Quiet rows are dropped at once and
//!    only their account's slot is kept ([`QuietRows`]).
//! 3. [`select`] names the accounts the rules can act on: those any kept row points at (by any
//!    identifier, or as a kana + birth date candidate), those absent from a full snapshot, and
//!    those with something scheduled by `as_of`. A slot hit by a quiet row *and* by another row
//!    is *mixed*: the group of rows matters there. The quiet rows of accounts with an earlier
//!    student number, the usual mixed ones, were held whole, and [`take_back`] returns them to
//!    the kept rows; for any other mixed slot the file is read again with those slots never
//!    sifted ([`Sifter::except`]).
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

use chrono::{Datelike, NaiveDate};
use compact_str::CompactString;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use crate::domain::account::{Account, Role, State};
use crate::domain::model::{RegistrarRow, Status, StudentNo};
use crate::domain::rules::Inputs;
use crate::domain::text::{fold_kana_key_into, fold_key_into};

/// An account's position in [`Keys`]: its rank by ECS-ID.
pub type Slot = u32;

/// An identifier as a 64-bit hash key. Exact for the identifiers registries use: digits only
/// (up to 17, with their count, so `0123` and `123` differ) or other ASCII up to 8 characters
/// (7 bits each). Anything else is its xxh3 hash, marked by the two top bits; [`IdMap`] notices
/// when two accounts' identifiers share a key, so a hash never joins two people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdKey(u64);

impl IdKey {
    const ASCII: u64 = 1 << 63;
    const HASHED: u64 = 3 << 62;

    /// Whether the key is the identifier itself, not its hash: equal exact keys are equal
    /// identifiers.
    pub fn is_exact(self) -> bool {
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
pub struct IdMap {
    one: FxHashMap<IdKey, Slot>,
    many: FxHashMap<IdKey, Vec<Slot>>,
}

/// What an [`IdMap`] holds for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found<'a> {
    None,
    One(Slot),
    Many(&'a [Slot]),
}

impl IdMap {
    fn build(entries: &[(IdKey, Slot)]) -> IdMap {
        let mut one: FxHashMap<IdKey, Slot> =
            FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
        let mut many: FxHashMap<IdKey, Vec<Slot>> = FxHashMap::default();
        for &(k, s) in entries {
            if let Some(prev) = one.insert(k, s)
                && prev != s
            {
                let slots = many.entry(k).or_insert_with(|| vec![prev]);
                if !slots.contains(&s) {
                    slots.push(s);
                }
            }
        }
        many.shrink_to_fit();
        IdMap { one, many }
    }

    pub fn get(&self, id: &str) -> Found<'_> {
        self.get_key(IdKey::of(id))
    }

    fn get_key(&self, k: IdKey) -> Found<'_> {
        if let Some(v) = self.many.get(&k) {
            return Found::Many(v);
        }
        self.one.get(&k).map_or(Found::None, |&s| Found::One(s))
    }

    /// Every slot `id`'s key names, into `out`; whether `id` itself is on record for certain
    /// (one was found and the key is exact, not a hash).
    fn extend_into(&self, id: &str, out: &mut Vec<Slot>) -> bool {
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

    /// The layout version of [`Facts::to_bytes`].
    const VERSION: u8 = 1;

    pub fn of(a: &Account, scratch: &mut Scratch) -> Facts {
        let stopped = a.state == State::Stopped;
        let mut flags = 0;
        if a.role == Role::Student && !stopped && a.stop_on.is_none() {
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

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
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
    pub fn decode(b: &[u8]) -> Option<(Facts, impl Iterator<Item = &str>)> {
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
    pub fn to_bytes(&self) -> [u8; 32] {
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
    pub fn from_bytes(b: &[u8]) -> Option<Facts> {
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
struct Packed {
    fp: u128,
    kana_birth: u64,
    /// Days from CE, `i32::MAX` for never.
    due: i32,
    /// [`Facts::flags`], and [`Packed::HAS_FP`].
    flags: u8,
}

impl Packed {
    const HAS_FP: u8 = 0x80;
    /// The account has an earlier student number on record (not stored: [`KeysPart::push`]
    /// sets it from the numbers).
    const EARLIER_NUMBER: u8 = 0x40;

    fn new(f: &Facts) -> Packed {
        Packed {
            fp: f.fp.unwrap_or(0),
            kana_birth: f.kana_birth,
            due: f.due_from.map_or(i32::MAX, |d| d.num_days_from_ce()),
            flags: f.flags | if f.fp.is_some() { Packed::HAS_FP } else { 0 },
        }
    }

    fn fp(&self) -> Option<u128> {
        (self.flags & Packed::HAS_FP != 0).then_some(self.fp)
    }

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn due_by(&self, as_of: NaiveDate) -> bool {
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

/// A slot by its kana + birth key: `(key, slot)`.
type KanaBirth = (u64, Slot);

/// Every account on record, compactly: what [`Sifter`] and [`select`] read.
#[derive(Debug, Default)]
pub struct Keys {
    /// ECS-IDs by slot, ascending (so found by binary search), and their keys.
    ecs_ids: Vec<CompactString>,
    /// Every [`FENCE`]-th ECS-ID, for [`partition_fenced`].
    ecs_fences: Vec<CompactString>,
    ecs_keys: Vec<IdKey>,
    facts: Vec<Packed>,
    by_person: IdMap,
    by_student_no: IdMap,
    /// (kana + birth key, slot), sorted, and its fences; built on first use.
    by_kana_birth: std::sync::OnceLock<(Vec<KanaBirth>, Vec<KanaBirth>)>,
    pub next_serial: u64,
    pub digest: String,
}

/// The accounts of one range of ECS-IDs, as the store reads them; slots count from the range's
/// first account.
#[derive(Debug, Default)]
pub struct KeysPart {
    pub ecs_ids: Vec<CompactString>,
    facts: Vec<Packed>,
    person_ids: Vec<(IdKey, Slot)>,
    student_nos: Vec<(IdKey, Slot)>,
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

    pub fn len(&self) -> usize {
        self.ecs_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ecs_ids.is_empty()
    }

    pub fn ecs_id(&self, slot: Slot) -> &str {
        &self.ecs_ids[slot as usize]
    }
}

impl Keys {
    /// Joins the parts (in ECS-ID order) and indexes them.
    pub fn from_parts(parts: Vec<KeysPart>, next_serial: u64, digest: String) -> Keys {
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

    pub fn by_person(&self, person_id: &str) -> Found<'_> {
        self.by_person.get(person_id)
    }

    pub fn by_student_no(&self, student_no: &str) -> Found<'_> {
        self.by_student_no.get(student_no)
    }

    pub fn by_ecs_id(&self, ecs_id: &str) -> Option<Slot> {
        let i = partition_fenced(&self.ecs_ids, &self.ecs_fences, |e| e.as_str() < ecs_id);
        (self.ecs_ids.get(i).map(|e| e.as_str()) == Some(ecs_id)).then_some(i as Slot)
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
    fn kana_birth_index(&self) -> (&[KanaBirth], &[KanaBirth]) {
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
fn fences<T: Clone>(sorted: &[T]) -> Vec<T> {
    sorted.iter().step_by(FENCE).cloned().collect()
}

/// `sorted.partition_point(below)`, found through `fences` (of `sorted`, by [`fences`]): a
/// binary search of the fences, small enough to stay in the processor's cache, then of one
/// stretch of [`FENCE`] entries. A plain binary search over millions of entries misses the
/// cache at nearly every step; triage makes one per kept row and identifier (at 3M accounts
/// `by_ecs_id` was 6× its 1M time).
fn partition_fenced<T>(sorted: &[T], fences: &[T], below: impl Fn(&T) -> bool) -> usize {
    debug_assert_eq!(fences.len(), sorted.len().div_ceil(FENCE));
    // Fences before `f` are below; the entries from fence `f` on are not.
    let f = fences.partition_point(&below);
    let (lo, hi) = (f.saturating_sub(1) * FENCE, (f * FENCE).min(sorted.len()));
    lo + sorted[lo..hi].partition_point(below)
}

/// What a [`Sift`] makes of a registrar row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sifted {
    /// The rules may act on it: kept with the other rows.
    Keep,
    /// Quiet about the account in this slot: the row is dropped, the slot kept.
    Quiet(Slot),
    /// Quiet about the account in this slot, which another row is likely to name too: the row
    /// is set aside, so a mixed slot ([`select`]) takes it back without reading the file again.
    Held(Slot),
}

/// The quiet registrar rows of a read: each one's slot, in file order, and the held ones whole.
#[derive(Debug, Default)]
pub struct QuietRows {
    pub slots: Vec<Slot>,
    /// The [`Sifted::Held`] rows, in file order, with their slots. Boxed: they are boxed in
    /// parallel, chunk by chunk, and then moved from chunk to file to batch as 16 bytes each,
    /// on one thread, and mostly dropped unused.
    pub held: Vec<(Slot, Box<RegistrarRow>)>,
}

impl QuietRows {
    /// Takes `row` in as `sifted` says; hands it back when it is to be kept.
    pub fn sift(&mut self, sifted: Sifted, row: RegistrarRow) -> Option<RegistrarRow> {
        match sifted {
            Sifted::Keep => return Some(row),
            Sifted::Quiet(slot) => self.slots.push(slot),
            Sifted::Held(slot) => {
                self.slots.push(slot);
                self.held.push((slot, Box::new(row)));
            }
        }
        None
    }

    /// Moves `other`'s rows after these, their spreadsheet rows moved down by `delta`.
    pub fn append(&mut self, other: &mut QuietRows, delta: u32) {
        for (_, row) in &mut other.held {
            row.at.row += delta;
        }
        self.slots.append(&mut other.slots);
        self.held.append(&mut other.held);
    }

    /// Takes `other`'s rows after these; no copy when there are none yet.
    pub fn extend(&mut self, mut other: QuietRows) {
        if self.is_empty() {
            *self = other;
        } else {
            self.append(&mut other, 0);
        }
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.held.clear();
    }

    /// No quiet rows (a held row has its slot in `slots` too).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// Decides, row by row during ingest, which registrar rows are quiet.
pub trait Sift: Sync {
    fn sift(&self, row: &RegistrarRow) -> Sifted;
}

pub struct Sifter<'k> {
    keys: &'k Keys,
    /// Slots whose rows are always kept.
    except: FxHashSet<Slot>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's fold buffers (for callers folding row after row).
pub fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with_borrow_mut(f)
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
    ///
    /// A quiet row of an account with an earlier student number on record is held, not
    /// dropped: the export often still lists the earlier number's row (its 卒業 after 学部 →
    /// 大学院), which names the same account and makes it mixed. Held, the quiet row is at hand
    /// ([`take_back`]); dropped, every file would be read again (at 1M rows ~20,000 such
    /// accounts a night, and 0.7 s).
    fn sift(&self, row: &RegistrarRow) -> Sifted {
        self.quiet(row).map_or(Sifted::Keep, |slot| {
            if self.keys.facts[slot as usize].has(Packed::EARLIER_NUMBER) {
                Sifted::Held(slot)
            } else {
                Sifted::Quiet(slot)
            }
        })
    }
}

impl Sifter<'_> {
    /// The slot of the account `row` is quiet about ([`Sift::sift`]), or `None`.
    fn quiet(&self, row: &RegistrarRow) -> Option<Slot> {
        if !row.enrollment.is_student()
            || row.faculty.is_empty()
            || row.name.is_empty()
            || row.name_kana.is_empty()
        {
            return None;
        }
        let keys = self.keys;
        let p = match &row.person_id {
            Some(p) => keys.by_person(p.as_str()),
            None => Found::None,
        };
        // With the 個人番号 on record, the student number need not be looked up: the
        // fingerprints below are equal only if it is the account's current number, which no
        // other account holds (student numbers are unique, and their keys exact or told apart).
        let s = match p {
            Found::One(_) if keys.by_student_no.many.is_empty() => Found::None,
            _ => keys.by_student_no(row.student_no.as_str()),
        };
        let slot = match (p, s) {
            (Found::Many(_), _) | (_, Found::Many(_)) => return None,
            (Found::One(p), Found::One(s)) if p != s => return None,
            (Found::One(i), _) => i,
            // A 個人番号 not on record beside a known student number is news (R7: the
            // registry gave a new one), never quiet.
            (Found::None, Found::One(_)) if row.person_id.is_some() => return None,
            (Found::None, Found::One(i)) => i,
            (Found::None, Found::None) => return None,
        };
        if let Some(e) = &row.ecs_id
            && keys.ecs_keys[slot as usize] != IdKey::of(e.as_str())
        {
            return None;
        }
        let f = &keys.facts[slot as usize];
        let fp = f.fp()?;
        if !f.has(Facts::PLAIN_STUDENT)
            || (row.person_id.is_some() && !f.has(Facts::HAS_PERSON_ID))
            || (row.birth_date.is_some() && !f.has(Facts::HAS_BIRTH_DATE))
            || self.except.contains(&slot)
        {
            return None;
        }
        let row_fp = with_scratch(|scratch| {
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

/// Takes the held rows of the `mixed` slots back into `inputs.registrar`, in file order, and
/// those slots out of `quiet`, so [`select`] can run again as if the rows had been kept. A slot
/// with a quiet row that was dropped, not held, stays as it is (its files must be read again).
/// Returns how many rows came back.
pub fn take_back(inputs: &mut Inputs, quiet: &mut QuietRows, mixed: &[Slot]) -> usize {
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
        let mut certain = false;
        if let Some(p) = person_id {
            certain |= keys.by_person.extend_into(p, found);
        }
        if let Some(s) = student_no {
            certain |= keys.by_student_no.extend_into(s, found);
        }
        // Mostly the 個人番号 or the student number found the account the ECS-ID names already,
        // and the search among every ECS-ID is not needed.
        if let Some(e) = ecs_id
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
            let kb = kana_birth_key(kana, birth, scratch);
            if kb != 0 {
                found.extend(keys.kana_birth(kb));
            }
        }
        identified
    };
    // The registrar rows in parallel: each names its slots (identified ones counted as hits).
    const CHUNK: usize = 4096;
    // Per chunk: (slot, found by an identifier) pairs, and the rows found by none.
    type Named = (Vec<(Slot, bool)>, Vec<u32>);
    let named: Vec<Named> = inputs
        .registrar
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, rows)| {
            let mut out = Vec::with_capacity(rows.len() * 2);
            let mut unidentified = Vec::new();
            let mut found = Vec::with_capacity(4);
            let mut scratch = Scratch::default();
            for (k, r) in rows.iter().enumerate() {
                let identified = lookup(
                    &mut found,
                    r.person_id.as_ref().map(|p| p.as_str()),
                    Some(r.student_no.as_str()),
                    r.ecs_id.as_ref().map(|e| e.as_str()),
                    &r.name_kana,
                    r.birth_date,
                    &mut scratch,
                );
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
    // HR's and the counter's rows: few, each naming its accounts the same way.
    let others = inputs
        .staff
        .iter()
        .map(|r| {
            (
                &r.person_id,
                &r.student_no,
                &r.ecs_id,
                &r.name_kana,
                r.birth_date,
            )
        })
        .chain(inputs.renewals.iter().map(|r| {
            (
                &r.person_id,
                &r.student_no,
                &r.ecs_id,
                &r.name_kana,
                r.birth_date,
            )
        }));
    let mut scratch = Scratch::default();
    for (person_id, student_no, ecs_id, kana, birth) in others {
        lookup(
            &mut found,
            person_id.as_ref().map(|p| p.as_str()),
            student_no.as_ref().map(|s| s.as_str()),
            ecs_id.as_ref().map(|e| e.as_str()),
            kana,
            birth,
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

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::model::Enrollment;
    use crate::domain::rules::tests::{account, row};

    /// Keys of the accounts, in ECS-ID order.
    fn keys_of(accounts: &[Account]) -> Keys {
        let mut part = KeysPart::default();
        let mut scratch = Scratch::default();
        for a in accounts {
            part.push(
                a.ecs_id.as_str(),
                a.person_id.as_ref().map(|p| p.as_str()),
                Facts::of(a, &mut scratch),
                a.student_nos.iter().map(|s| s.as_str()),
            );
        }
        Keys::from_parts(vec![part], 0, String::new())
    }

    fn enrolled(n: u32, person: &str, no: &str) -> RegistrarRow {
        row(
            n,
            person,
            no,
            Status::Undergraduate,
            Enrollment::Enrolled,
            None,
        )
    }

    #[test]
    fn an_unchanged_row_is_held_only_when_its_account_has_an_earlier_number() {
        let keys = keys_of(&[
            account("a0000001", "P1", &["S1"], Status::Undergraduate),
            account("a0000002", "P2", &["B2", "S2"], Status::Undergraduate),
        ]);
        let sifter = Sifter::new(&keys);
        let cases = [
            (enrolled(2, "P1", "S1"), Sifted::Quiet(0)),
            (enrolled(3, "P2", "S2"), Sifted::Held(1)),
            // The earlier number is not the account's current one: the rules act on it.
            (enrolled(4, "P2", "B2"), Sifted::Keep),
            (
                row(
                    5,
                    "P2",
                    "B2",
                    Status::Undergraduate,
                    Enrollment::Graduated,
                    Some("2026-03-31"),
                ),
                Sifted::Keep,
            ),
        ];
        for (r, want) in cases {
            assert_eq!(sifter.sift(&r), want, "row {}", r.at.row);
        }
        // Kept whatever the account when the first read found it mixed.
        let except = Sifter::except(&keys, [1]);
        assert_eq!(except.sift(&enrolled(3, "P2", "S2")), Sifted::Keep);
    }

    #[test]
    fn held_rows_of_mixed_slots_come_back_in_file_order() {
        let mut quiet = QuietRows::default();
        for (slot, n, sifted) in [
            (0, 2, Sifted::Held(0)),
            (1, 3, Sifted::Quiet(1)),
            (2, 5, Sifted::Held(2)),
            (1, 6, Sifted::Held(1)),
            (3, 8, Sifted::Held(3)),
        ] {
            let r = enrolled(n, "P", &format!("S{slot}"));
            assert!(quiet.sift(sifted, r).is_none());
        }
        assert!(quiet.sift(Sifted::Keep, enrolled(9, "P", "K")).is_some());
        let mut inputs = Inputs {
            registrar: [4, 7].map(|n| enrolled(n, "P", "K")).to_vec(),
            ..Inputs::default()
        };
        // Slot 1 had a quiet row dropped (row 3): it stays mixed, its held row stays held.
        let taken = take_back(&mut inputs, &mut quiet, &[0, 1, 3]);
        assert_eq!(taken, 2);
        let rows: Vec<u32> = inputs.registrar.iter().map(|r| r.at.row).collect();
        assert_eq!(rows, [2, 4, 7, 8]);
        assert_eq!(quiet.slots, [1, 2, 1]);
        let held: Vec<(Slot, u32)> = quiet.held.iter().map(|(s, r)| (*s, r.at.row)).collect();
        assert_eq!(held, [(2, 5), (1, 6)]);
        assert_eq!(take_back(&mut inputs, &mut quiet, &[1]), 0);
        assert_eq!(inputs.registrar.len(), 4);
    }

    proptest::proptest! {
        #[test]
        fn the_fenced_search_finds_what_a_binary_search_finds(
            mut sorted in proptest::collection::vec(0u16..400, 0..700),
            key in 0u16..410,
        ) {
            sorted.sort_unstable();
            let fenced = partition_fenced(&sorted, &fences(&sorted), |x| *x < key);
            proptest::prop_assert_eq!(fenced, sorted.partition_point(|x| *x < key));
        }
    }

    #[test]
    fn every_ecs_id_finds_its_slot_and_no_other_id_finds_one() {
        let accounts: Vec<Account> = (0..300)
            .map(|i| {
                let ecs = format!("a0{:06}", 3 * i + 1);
                account(
                    &ecs,
                    &format!("P{i}"),
                    &[&format!("S{i}")],
                    Status::Undergraduate,
                )
            })
            .collect();
        let keys = keys_of(&accounts);
        for (slot, a) in accounts.iter().enumerate() {
            assert_eq!(keys.by_ecs_id(a.ecs_id.as_str()), Some(slot as Slot));
        }
        for missing in ["a0000000", "a0000002", "a0000899", "a0000901", "b", ""] {
            assert_eq!(keys.by_ecs_id(missing), None, "{missing}");
        }
    }

    #[test]
    fn quiet_rows_of_later_chunks_move_down_their_rows() {
        let mut all = QuietRows::default();
        let mut chunk = QuietRows::default();
        chunk.sift(Sifted::Held(4), enrolled(2, "P", "S"));
        chunk.sift(Sifted::Quiet(5), enrolled(3, "P", "T"));
        all.append(&mut chunk, 100);
        assert!(chunk.is_empty() && chunk.held.is_empty());
        assert_eq!(all.slots, [4, 5]);
        assert_eq!(all.held[0].1.at.row, 102);
    }

    #[test]
    fn id_keys_are_exact_for_registry_identifiers() {
        let ids = [
            "0",
            "00",
            "000",
            "123",
            "0123",
            "00123",
            "12345678",
            "012345678901234567",
            "a0",
            "a0123456",
            "a0123457",
            "A0123456",
            "24A1234",
            "24A12345",
            "x",
            "",
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(IdKey::of(a), IdKey::of(b), "{a} vs {b}");
            }
        }
        // Long or non-ASCII identifiers are hashed, and marked so.
        assert_eq!(IdKey::of("学籍1").0 & IdKey::HASHED, IdKey::HASHED);
        assert_eq!(
            IdKey::of("123456789012345678").0 & IdKey::HASHED,
            IdKey::HASHED
        );
        assert_ne!(IdKey::of("a0123456").0 & IdKey::HASHED, IdKey::HASHED);
    }

    #[test]
    fn an_identifier_held_twice_maps_to_both_accounts() {
        let map = IdMap::build(&[
            (IdKey::of("1"), 0),
            (IdKey::of("2"), 1),
            (IdKey::of("1"), 2),
        ]);
        assert_eq!(map.get("1"), Found::Many(&[0, 2]));
        assert_eq!(map.get("2"), Found::One(1));
        assert_eq!(map.get("3"), Found::None);
    }

    #[test]
    fn facts_round_trip_through_bytes() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        for f in [
            Facts::default(),
            Facts {
                fp: Some(u128::MAX - 7),
                kana_birth: 42,
                due_from: Some(d("2026-06-30")),
                flags: Facts::PLAIN_STUDENT | Facts::NOT_STOPPED,
            },
            Facts {
                fp: Some(0),
                kana_birth: 0,
                due_from: Some(NaiveDate::MIN),
                flags: 0,
            },
        ] {
            assert_eq!(Facts::from_bytes(&f.to_bytes()), Some(f));
        }
        assert_eq!(Facts::from_bytes(&[0u8; 32]), None);
        let f = Facts::default();
        let nos = [StudentNo::new("0812"), StudentNo::new("5812")];
        let bytes = f.encode(&nos);
        let (back, got) = Facts::decode(&bytes).unwrap();
        assert_eq!(back, f);
        assert_eq!(got.collect::<Vec<_>>(), ["0812", "5812"]);
        assert_eq!(Facts::decode(&f.encode(&[])).unwrap().1.count(), 0);
        assert!(Facts::decode(&bytes[..bytes.len() - 1]).is_none());
        assert_eq!(Facts::from_bytes(&[0u8; 31]), None);
    }
}
