//! Triage: which accounts a night's plan has to read in full. It is a speed-up and nothing else:
//! [`narrow`] is its one door, and its contract is that the rules on the accounts it selects
//! give the plan they give on every account (`tests/it/triage.rs` and the unit tests check it on
//! generated worlds). Remove it and the plans stay the same, only slower.
//!
//! On a national registry nine rows in ten say what the store already knows. The rules would
//! decide "nothing" for each of them, but only after the account was read, cloned and compared
//! field by field. Triage decides that earlier and exactly, from [`Keys`]: a compact table of
//! every account (its identifiers, a fingerprint of the fields the registrar export carries, and
//! a few flags), which the store reads in a fraction of the time a full snapshot takes.
//!
//! 1. The store reads the [`Keys`] (`store::keys`).
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
//!    Steps 2 and 3 are [`narrow`].
//! 4. The store loads the selected accounts, and `rules::plan` runs on them as on a full
//!    snapshot, with the selected accounts that quiet rows matched passed as
//!    `Inputs::quiet_seen` (so they are not taken as absent).
//!
//! The plan is the same as on the full snapshot: the rules on the full snapshot give a quiet
//! row's account no action in the registrar pass, and every other pass only ever acts on
//! accounts [`select`] loads. `tests/it/triage.rs` checks the two plans are equal.
//!
//! The fingerprint and the kana + birth date key are stored with each account (the store
//! computes them with [`registrar_fp`] and [`kana_birth_key`] whenever it writes one). They are
//! part of the schema: changing either function, or a text fold they use, needs a migration that
//! recomputes them (`keys::fill_derived`); `tests.rs` pins them with golden values.

mod keys;
mod select;
mod sift;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::domain::rules::Inputs;
use crate::ingest::Sink;
use crate::ingest::batch::{Batch, BatchFile};
use crate::ingest::profile::Profiles;

#[cfg(test)]
pub(crate) use self::keys::Found;
pub(crate) use self::keys::{Facts, KeysPart, with_scratch};
pub use self::keys::{Keys, Slot};
pub use self::select::{Selection, Stats};
pub use self::sift::Sifter;

/// Takes the records of `batch` (read with a [`Sifter`] over `keys`) and selects the accounts
/// the rules can act on. The held quiet rows of mixed accounts are taken back; when a dropped
/// quiet row's account is named by another row too, the accepted files are read again with the
/// rows of those accounts kept. Returns the rows the rules need and the selection to load.
///
/// The contract: `rules::plan` on the accounts in `Selection::load`, with
/// `Inputs::quiet_seen` set from `Selection::quiet_seen`, equals `rules::plan` on every account.
pub fn narrow(
    keys: &Keys,
    profiles: &Profiles,
    batch: &mut Batch,
    as_of: NaiveDate,
) -> anyhow::Result<(Inputs, Selection)> {
    let (inputs, selection) = select_in(keys, profiles, batch, as_of);
    if selection.mixed.is_empty() {
        return Ok((inputs, selection));
    }
    let first = selection.stats;
    // A quiet row's account is named by another row too, and the quiet row was dropped: the
    // rules need both rows, so the accepted files are read again with the rows of those
    // accounts kept.
    let accepted: Vec<&BatchFile> = batch.files.iter().filter(|f| f.accepted).collect();
    let paths: Vec<PathBuf> = accepted.iter().map(|f| f.ingested.path.clone()).collect();
    let sifter_slots = selection.mixed.len();
    let sifter = Sifter::except(keys, selection.mixed.iter().copied());
    let mut again = Batch::read_with(&paths, profiles, Sink::Sift(&sifter));
    let same = again.files.len() == accepted.len()
        && again
            .files
            .iter()
            .zip(&accepted)
            .all(|(a, b)| a.accepted && a.sha256 == b.sha256);
    anyhow::ensure!(
        same,
        "an input file changed while it was being read; run again"
    );
    let (inputs, mut selection) = select_in(keys, profiles, &mut again, as_of);
    anyhow::ensure!(
        selection.mixed.is_empty(),
        "triage found rows to keep after keeping them; this is a bug in regsync, please report it"
    );
    selection.stats = Stats {
        read_again: sifter_slots,
        ..first
    };
    Ok((inputs, selection))
}

/// Takes `batch`'s rows and selects the accounts the rules can act on; the held quiet rows of
/// mixed accounts are taken back ([`select::take_back`]), so the selection's `mixed` names only
/// accounts with dropped quiet rows.
fn select_in(
    keys: &Keys,
    profiles: &Profiles,
    batch: &mut Batch,
    as_of: NaiveDate,
) -> (Inputs, Selection) {
    let clock = std::time::Instant::now();
    let mut inputs = batch.inputs(profiles);
    let mut quiet = batch.quiet();
    let mut selection = select::select(keys, &inputs, &quiet.slots, as_of);
    let held = quiet.held.len();
    let mixed = selection.mixed.len();
    let taken = select::take_back(&mut inputs, &mut quiet, &selection.mixed);
    if taken > 0 {
        selection = select::select(keys, &inputs, &quiet.slots, as_of);
    }
    selection.stats = Stats {
        quiet: quiet.slots.len() + taken,
        quiet_seen: selection.quiet_seen.len(),
        mixed,
        held,
        taken_back: taken,
        read_again: 0,
    };
    tracing::info!(
        kept = inputs.registrar.len(),
        quiet = quiet.slots.len(),
        load = selection.load.len(),
        mixed,
        taken_back = taken,
        still_mixed = selection.mixed.len(),
        ms = clock.elapsed().as_millis(),
        peak_mib = crate::metrics::peak_mib(),
        "rows triaged"
    );
    (inputs, selection)
}
