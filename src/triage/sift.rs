//! The [`Sifter`]: during ingest, which registrar rows are quiet (the rules, given that row
//! alone for its account, decide nothing).

use rustc_hash::FxHashSet;

use super::keys::{Facts, Found, IdKey, Keys, Packed, Slot, registrar_fp, with_scratch};
use crate::domain::model::RegistrarRow;
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
