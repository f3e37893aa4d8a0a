//! After the passes (R3): each new account gets its ECS-ID, from the snapshot's `next_serial`,
//! and its KUMOI address, the romanized kana name or the smallest free numbered form of it.

use compact_str::CompactString;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::Work;
use crate::domain::model::EcsId;

impl Work<'_> {
    /// Gives each created account its ECS-ID and KUMOI address, in input order. Returns the
    /// next serial after the last one used.
    pub(super) fn allocate(&mut self, mut serial: u64) -> u64 {
        if self.created.is_empty() {
            return serial;
        }
        let mut order: Vec<usize> = (0..self.created.len()).collect();
        order.sort_by_key(|&k| self.created[k].0);
        // Romanizing is the costly part and depends on nothing else: done in parallel first.
        // Only the local parts a new one could collide with are kept ([`collides`]): those
        // of the accounts in the snapshot here, those outside it in `reserved`.
        let (index, reserved, created) = (&self.index, self.reserved, &self.created);
        let bases: Vec<String> = created
            .par_iter()
            .map(|(_, a)| romanize(&a.name_kana))
            .collect();
        let wanted: FxHashSet<&str> = bases.iter().map(String::as_str).collect();
        let mut taken: FxHashSet<CompactString> = index
            .accounts
            .par_iter()
            .map(|a| a.kumoi.split('@').next().unwrap_or(""))
            .filter(|local| collides_with_any(&wanted, local))
            .map(CompactString::new)
            .collect();
        taken.reserve(created.len());
        let is_taken = |taken: &FxHashSet<CompactString>, local: &str| {
            taken.contains(local) || reserved.kumoi_local_parts.contains(local)
        };
        // For each base a new account has, the numbers `n` of the `base.n` already taken,
        // ascending: the smallest free one is found by walking them, not by trying `base.2`,
        // `base.3`, ... against the set (a name shared by thousands of accounts cost thousands
        // of tries at its first new account).
        // One walk over both sets: a local part `b.n` counts for base `b`.
        let mut numbers: FxHashMap<&str, Suffixes> = wanted
            .iter()
            .map(|&base| (base, Suffixes::default()))
            .collect();
        for local in taken.iter().chain(&reserved.kumoi_local_parts) {
            if let Some((b, n)) = local.rsplit_once('.')
                && let Some(s) = numbers.get_mut(b)
                && let Some(n) = suffix_number(n)
            {
                s.taken.push(n);
            }
        }
        numbers
            .par_iter_mut()
            .for_each(|(_, s)| s.taken.sort_unstable());
        for k in order {
            let ecs_id = loop {
                let id = format!(
                    "{}{:0width$}",
                    self.policy.id_prefix,
                    serial,
                    width = self.policy.id_digits as usize
                );
                serial += 1;
                let id = EcsId::new(&id);
                if self.index.by_ecs_id(&id).is_none() && !self.reserved.ecs_ids.contains(&id) {
                    break id;
                }
            };
            let base = bases[k].as_str();
            // The base itself, else the smallest free `base.n`, n >= 2.
            let local = if is_taken(&taken, base) {
                let s = numbers.entry(base).or_default();
                loop {
                    let n = s.next_free();
                    let local = CompactString::new(format!("{base}.{n}"));
                    if !is_taken(&taken, &local) {
                        break local;
                    }
                }
            } else {
                CompactString::new(base)
            };
            taken.insert(local.clone());
            let account = &mut self.created[k].1;
            account.ecs_id = ecs_id;
            account.kumoi = CompactString::new(format!("{local}@{}", self.policy.kumoi_domain));
        }
        serial
    }
}

/// The numbers `n` of the local parts `base.n` taken for one base, and the next one to try.
#[derive(Debug, Default)]
struct Suffixes {
    /// Ascending; numbers below `next` are passed.
    taken: Vec<u32>,
    at: usize,
    next: u32,
}

impl Suffixes {
    /// The smallest number from 2 up, past the ones returned before, that is not taken.
    fn next_free(&mut self) -> u32 {
        let mut n = self.next.max(2);
        loop {
            while self.at < self.taken.len() && self.taken[self.at] < n {
                self.at += 1;
            }
            if self.taken.get(self.at) == Some(&n) {
                n += 1;
            } else {
                self.next = n + 1;
                return n;
            }
        }
    }
}

/// `n` when `s` is a number as `format!("{n}")` writes it (no sign, no leading zero).
fn suffix_number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether the KUMOI local part `local` is one a new account with the romanized `base` could
/// be given (R3): `base` itself, or `base.n` with `n` as allocation writes it. No other local
/// part can collide with an allocation, so the store and the snapshot need not be searched for
/// more (`yamada.tarou.x1` and `yamada.taroumaru` never can).
pub(crate) fn collides(base: &str, local: &str) -> bool {
    local == base
        || local
            .strip_prefix(base)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|n| suffix_number(n).is_some())
}

/// [`collides`] for any of `bases`, by hash lookups.
pub(super) fn collides_with_any(bases: &FxHashSet<&str>, local: &str) -> bool {
    bases.contains(local)
        || local
            .rsplit_once('.')
            .is_some_and(|(b, n)| bases.contains(b) && suffix_number(n).is_some())
}

/// The KUMOI local part from a kana name: `ヤマダ タロウ` → `yamada.tarou`. Anything that does
/// not romanize to ASCII letters falls back to `student`.
pub fn romanize(name_kana: &str) -> String {
    use wana_kana::ConvertJapanese;
    let folded = crate::domain::text::fold_kana_key_spaced(name_kana);
    let parts: Vec<String> = folded
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.to_romaji()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        "student".to_string()
    } else {
        parts.join(".")
    }
}
