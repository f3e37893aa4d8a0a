//! The [`Sifter`]: during ingest, which registrar rows are quiet (the rules, given that row
//! alone for its account, decide nothing).

use rustc_hash::FxHashSet;

use super::keys::{Facts, Found, IdKey, Keys, Packed, Slot, registrar_fp, with_scratch};
use crate::domain::model::{PersonId, RegistrarRow};
use crate::domain::rules::{OnRecord, is_quiet};
use crate::ingest::{Sift, Sifted};

pub struct Sifter<'k> {
    keys: &'k Keys,
    /// Slots whose rows are always kept.
    except: FxHashSet<Slot>,
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
    /// Quiet means: the row's 個人番号 and student number find one account (the same one when
    /// both are on record; a 個人番号 not on record beside a known student number is news), its
    /// ECS-ID column, if any, names that account, and the rules' own test says the row changes
    /// nothing for it (`rules::is_quiet`, on the account's flags and fingerprint).
    ///
    /// A quiet row of an account with an earlier student number on record is held, not
    /// dropped: the export often still lists the earlier number's row (its 卒業 after 学部 →
    /// 大学院), which names the same account and makes it mixed. Held, the quiet row is at hand
    /// (`select::take_back`); dropped, every file would be read again (at 1M rows ~20,000 such
    /// accounts a night, and 0.7 s).
    fn sift(&self, row: &RegistrarRow) -> Sifted {
        let slot = self.slot_of(row);
        self.decide(row, slot.map(|s| self.on_record(s)))
    }

    /// The rows' lookups a batch at a time: first every row's slot, then every slot's record,
    /// then the decisions. Each step's reads are independent of each other, so the processor
    /// waits for their cache misses together, not one row after the other (a night's rows
    /// name accounts all over the table). The same steps as [`Sift::sift`]'s, in another
    /// order.
    fn sift_all(&self, rows: &[RegistrarRow], out: &mut Vec<Sifted>) {
        const AT_ONCE: usize = 32;
        for batch in rows.chunks(AT_ONCE) {
            let mut slots = [None; AT_ONCE];
            for (slot, row) in slots.iter_mut().zip(batch) {
                *slot = self.slot_of(row);
            }
            let mut records = [None; AT_ONCE];
            for (record, slot) in records.iter_mut().zip(&slots) {
                *record = slot.map(|s| self.on_record(s));
            }
            out.extend(
                batch
                    .iter()
                    .zip(records)
                    .map(|(row, record)| self.decide(row, record)),
            );
        }
    }
}

/// What the sifter reads of the account in a slot.
#[derive(Debug, Clone, Copy)]
struct Record {
    slot: Slot,
    ecs_key: IdKey,
    facts: Packed,
}

impl Sifter<'_> {
    /// The slot of the one account `row` can be quiet about, found by its identifiers; `None`
    /// when the row is news (see [`Sift::sift`]).
    fn slot_of(&self, row: &RegistrarRow) -> Option<Slot> {
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
        match (p, s) {
            (Found::Many(_), _) | (_, Found::Many(_)) => None,
            (Found::One(p), Found::One(s)) if p != s => None,
            (Found::One(i), _) => Some(i),
            // A 個人番号 not on record beside a known student number is news (R7: the
            // registry gave a new one), never quiet.
            (Found::None, Found::One(_)) if row.person_id.is_some() => None,
            (Found::None, Found::One(i)) => Some(i),
            (Found::None, Found::None) => None,
        }
    }

    fn on_record(&self, slot: Slot) -> Record {
        Record {
            slot,
            ecs_key: self.keys.ecs_keys[slot as usize],
            facts: self.keys.facts[slot as usize],
        }
    }

    /// Whether `row` is quiet about the account found for it: its ECS-ID column, if any,
    /// names that account, and the rules' own test says the row changes nothing for it.
    fn decide(&self, row: &RegistrarRow, record: Option<Record>) -> Sifted {
        let Some(Record {
            slot,
            ecs_key,
            facts,
        }) = record
        else {
            return Sifted::Keep;
        };
        if row
            .ecs_id
            .as_ref()
            .is_some_and(|e| ecs_key != IdKey::of(e.as_str()))
            || self.except.contains(&slot)
            || !is_quiet(row, &facts)
        {
            Sifted::Keep
        } else if facts.has(Packed::EARLIER_NUMBER) {
            Sifted::Held(slot)
        } else {
            Sifted::Quiet(slot)
        }
    }
}

/// What triage keeps of an account is enough for the rules' quiet test: the flags, and the
/// fingerprint of the registrar fields in place of the fields. The account was found by the
/// row's 個人番号 when the row has one, so holding one is holding that one.
impl OnRecord for Packed {
    fn is_plain_student(&self) -> bool {
        self.has(Facts::PLAIN_STUDENT)
    }

    fn holds_person_id(&self, _: &PersonId) -> bool {
        self.has(Facts::HAS_PERSON_ID)
    }

    fn has_birth_date(&self) -> bool {
        self.has(Facts::HAS_BIRTH_DATE)
    }

    fn same_registrar_fields(&self, row: &RegistrarRow) -> bool {
        let Some(fp) = self.fp() else {
            return false;
        };
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
        row_fp == fp
    }
}
