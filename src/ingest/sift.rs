//! Sifting registrar rows while they are read: a [`Sift`] (the planner's triage, `crate::triage`)
//! says of each row whether the rules can act on it. The rows it calls quiet are dropped at once
//! and only their account's slot is kept ([`QuietRows`]); ingest knows nothing else of triage.

use crate::domain::model::RegistrarRow;

/// An account's position in the planner's table of every account (`triage::Keys`).
pub type Slot = u32;

/// What a [`Sift`] makes of a registrar row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sifted {
    /// The rules may act on it: kept with the other rows.
    Keep,
    /// Quiet about the account in this slot: the row is dropped, the slot kept.
    Quiet(Slot),
    /// Quiet about the account in this slot, which another row is likely to name too: the row
    /// is set aside, so a mixed slot (one another row names too) takes it back without reading the file again.
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
    pub(crate) fn sift(&mut self, sifted: Sifted, row: RegistrarRow) -> Option<RegistrarRow> {
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
    pub(crate) fn append(&mut self, other: &mut QuietRows, delta: u32) {
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
