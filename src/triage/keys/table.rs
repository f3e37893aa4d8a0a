//! The flat table behind [`super::IdMap`]: open addressing with linear probing, a key and its
//! slot side by side. Triage looks up one or two identifiers for each of a night's rows in a
//! table of every account, and almost every lookup misses the cache: here it reads one cache
//! line, where a SwissTable (`FxHashMap`) reads its control bytes and then its bucket, two.
//! The tests hold it equal to a `HashMap` of the same entries.

use super::Slot;

/// Keys (never 0, see [`super::IdKey`]) to slots; 0 marks an empty place. At most three
/// quarters full, so a probe always ends at an empty place.
#[derive(Debug, Default)]
pub(super) struct Table {
    places: Vec<(u64, Slot)>,
    /// 64 minus log2 of the number of places: a key's home is the top bits of its product
    /// with the golden ratio (Fibonacci hashing, which spreads consecutive numbers).
    shift: u32,
}

impl Table {
    /// A table with room for `n` keys.
    pub(super) fn with_capacity(n: usize) -> Table {
        let len = (n + n / 3 + 1).next_power_of_two().max(16);
        Table {
            places: vec![(0, 0); len],
            shift: 64 - len.trailing_zeros(),
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

    /// Sets `key` to `slot`; returns the slot it had. At most the capacity's number of keys:
    /// one more could fill the table.
    pub(super) fn insert(&mut self, key: u64, slot: Slot) -> Option<Slot> {
        debug_assert_ne!(key, 0, "0 marks an empty place");
        let i = self.place(key);
        let (k, prev) = std::mem::replace(&mut self.places[i], (key, slot));
        (k != 0).then_some(prev)
    }
}
