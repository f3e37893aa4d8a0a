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

/// The buffers of sifting registrar rows a batch at a time: the batch's results, and its rows
/// on their way.
#[derive(Debug, Default)]
pub(crate) struct Sifting {
    sifted: Vec<Sifted>,
    spare: Vec<RegistrarRow>,
}

impl Sifting {
    /// Sifts the rows of `rows` from `from` on ([`Sift::sift_all`]): the quiet ones go to
    /// `quiet`, the kept ones stay, in order.
    pub(crate) fn run(
        &mut self,
        sift: &dyn Sift,
        rows: &mut Vec<RegistrarRow>,
        from: usize,
        quiet: &mut QuietRows,
    ) {
        self.sifted.clear();
        sift.sift_all(&rows[from..], &mut self.sifted);
        debug_assert_eq!(self.sifted.len(), rows.len() - from);
        self.spare.extend(rows.drain(from..));
        for (row, &s) in self.spare.drain(..).zip(&self.sifted) {
            rows.extend(quiet.sift(s, row));
        }
    }
}

/// Decides, during ingest, which registrar rows are quiet.
pub trait Sift: Sync {
    fn sift(&self, row: &RegistrarRow) -> Sifted;

    /// [`Sift::sift`] of each of `rows`, in order, appended to `out`. A sift may look its rows
    /// up together, so that their lookups wait on memory at once.
    fn sift_all(&self, rows: &[RegistrarRow], out: &mut Vec<Sifted>) {
        out.extend(rows.iter().map(|r| self.sift(r)));
    }
}
