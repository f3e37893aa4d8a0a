//! The flat table behind [`super::IdMap`]: open addressing with linear probing, a key and its
//! slot side by side. Triage looks up one or two identifiers for each of a night's rows in a
//! table of every account, and almost every lookup misses the cache: here it reads one cache
//! line, where a SwissTable (`FxHashMap`) reads its control bytes and then its bucket, two.
//! The tests hold it equal to a `HashMap` of the same entries.

use super::Slot;

/// Keys (never 0, see [`super::IdKey`]) to slots; 0 marks an empty place. At most three
/// quarters full (it doubles before), so a probe always ends at an empty place.
#[derive(Debug, Default)]
pub(super) struct Table {
    places: Vec<(u64, Slot)>,
    /// 64 minus log2 of the number of places: a key's home is the top bits of its product
    /// with the golden ratio (Fibonacci hashing, which spreads consecutive numbers).
    shift: u32,
    len: usize,
}

impl Table {
    /// A table with room for `n` keys before it grows.
    pub(super) fn with_capacity(n: usize) -> Table {
        let places = (n + n / 3 + 1).next_power_of_two().max(16);
        Table {
            places: vec![(0, 0); places],
            shift: 64 - places.trailing_zeros(),
            len: 0,
        }
    }

    fn grow(&mut self) {
        let old = std::mem::replace(self, Table::with_capacity(self.places.len()));
        for (key, slot) in old.places.into_iter().filter(|p| p.0 != 0) {
            self.insert(key, slot);
        }
    }

    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The place holding `key`, or the empty place where it would go.
    fn place(&self, key: u64) -> usize {
        let mask = self.places.len() - 1;
        let mut i = self.home(key);
        while !matches!(self.places[i].0, k if k == key || k == 0) {
            i = (i + 1) & mask;
        }
        i
    }

    pub(super) fn get(&self, key: u64) -> Option<Slot> {
        if self.places.is_empty() {
            return None;
        }
        match self.places[self.place(key)] {
            (0, _) => None,
            (_, slot) => Some(slot),
        }
    }

    /// Sets `key` to `slot`; returns the slot it had.
    pub(super) fn insert(&mut self, key: u64, slot: Slot) -> Option<Slot> {
        debug_assert_ne!(key, 0, "0 marks an empty place");
        if (self.len + 1) * 4 > self.places.len() * 3 {
            self.grow();
        }
        let i = self.place(key);
        let (k, prev) = std::mem::replace(&mut self.places[i], (key, slot));
        self.len += usize::from(k == 0);
        (k != 0).then_some(prev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A table finds what a `HashMap` of the same inserts finds (the last slot set for each
        /// key), and returns the same previous slots, however small it started: it grows.
        #[test]
        fn a_table_finds_what_a_hash_map_finds(
            inserts in proptest::collection::vec(
                (proptest::prop_oneof![1u64..40, 1u64..=u64::MAX], proptest::num::u32::ANY),
                0..400,
            ),
            capacity in 0usize..64,
            others in proptest::collection::vec(1u64..=u64::MAX, 0..20),
        ) {
            let mut table = Table::with_capacity(capacity);
            let mut reference = std::collections::HashMap::new();
            for &(k, s) in &inserts {
                proptest::prop_assert_eq!(table.insert(k, s), reference.insert(k, s));
            }
            for k in inserts.iter().map(|i| i.0).chain(others) {
                proptest::prop_assert_eq!(table.get(k), reference.get(&k).copied());
            }
            proptest::prop_assert_eq!(table.len, reference.len());
        }
    }
}
