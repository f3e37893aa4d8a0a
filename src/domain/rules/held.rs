//! Rows held out for an error (policy `row_errors = "hold_rows"`): the persons a held row names
//! by any identifier readable in it are frozen for the night. Their rows in every file are set
//! aside, their accounts get no action and are never counted absent, so one bad row holds back
//! one person and the rest of the file proceeds. A held row of a full registrar snapshot with
//! no readable identifier could be anybody's: nobody is made absent that night (R5).

use std::borrow::Cow;

use rustc_hash::FxHashSet;

use super::Inputs;
use crate::domain::matching::Index;
use crate::domain::model::{EcsId, Kind, PersonId, RowIds, StaffNo, StudentNo};
use crate::domain::plan::Held;

/// The persons tonight's held rows name: their identifiers and the accounts they have.
#[derive(Debug, Default)]
pub(super) struct Frozen {
    pub(super) accounts: FxHashSet<usize>,
    student_nos: FxHashSet<StudentNo>,
    person_ids: FxHashSet<PersonId>,
    ecs_ids: FxHashSet<EcsId>,
    staff_nos: FxHashSet<StaffNo>,
    /// A full registrar snapshot has a held row that names nobody.
    pub(super) blind: bool,
}

impl Frozen {
    /// The persons `inputs.held` names, through every identifier on record for their accounts
    /// (a held row naming only the student number still freezes the rows giving the person's
    /// 個人番号).
    pub(super) fn new(index: &Index<'_>, inputs: &Inputs) -> Frozen {
        let mut frozen = Frozen::default();
        for h in &inputs.held {
            if h.ids.is_empty() {
                let kind = inputs.files.get(h.at.file as usize).map(|f| f.kind);
                frozen.blind |= kind == Some(Kind::Registrar) && inputs.full_snapshot;
                continue;
            }
            frozen.add(&h.ids);
            let found = index.named(
                h.ids.person_id.as_ref(),
                h.ids.student_no.as_ref(),
                h.ids.ecs_id.as_ref(),
            );
            for i in found {
                if frozen.accounts.insert(i) {
                    let a = &index.accounts[i];
                    frozen.ecs_ids.insert(a.ecs_id.clone());
                    frozen.person_ids.extend(a.person_id.clone());
                    frozen.student_nos.extend(a.student_nos.iter().cloned());
                }
            }
        }
        frozen
    }

    fn add(&mut self, ids: &RowIds) {
        self.student_nos.extend(ids.student_no.clone());
        self.person_ids.extend(ids.person_id.clone());
        self.ecs_ids.extend(ids.ecs_id.clone());
        self.staff_nos.extend(ids.staff_no.clone());
    }

    /// Whether a row with these identifiers is about a frozen person.
    fn names(
        &self,
        student_no: Option<&StudentNo>,
        person_id: Option<&PersonId>,
        ecs_id: Option<&EcsId>,
        staff_no: Option<&StaffNo>,
    ) -> bool {
        student_no.is_some_and(|s| self.student_nos.contains(s))
            || person_id.is_some_and(|p| self.person_ids.contains(p))
            || ecs_id.is_some_and(|e| self.ecs_ids.contains(e))
            || staff_no.is_some_and(|s| self.staff_nos.contains(s))
    }

    /// The inputs without the rows about frozen persons, and without absence when a held row
    /// could be anybody's; the inputs themselves when nothing is held.
    pub(super) fn thaw<'i>(&self, inputs: &'i Inputs) -> Cow<'i, Inputs> {
        if inputs.held.is_empty() {
            return Cow::Borrowed(inputs);
        }
        let mut kept = inputs.clone();
        kept.full_snapshot &= !self.blind;
        kept.registrar.retain(|r| {
            !self.names(
                Some(&r.student_no),
                r.person_id.as_ref(),
                r.ecs_id.as_ref(),
                None,
            )
        });
        kept.staff.retain(|r| {
            !self.names(
                r.student_no.as_ref(),
                r.person_id.as_ref(),
                r.ecs_id.as_ref(),
                Some(&r.staff_no),
            )
        });
        kept.renewals.retain(|r| {
            !self.names(
                r.student_no.as_ref(),
                r.person_id.as_ref(),
                r.ecs_id.as_ref(),
                None,
            )
        });
        kept.activations
            .retain(|r| !self.names(None, None, Some(&r.ecs_id), None));
        Cow::Owned(kept)
    }
}

/// The held rows as the plan reports them, in input order.
pub(super) fn reported(inputs: &Inputs) -> Vec<Held> {
    let mut held: Vec<Held> = inputs
        .held
        .iter()
        .map(|h| Held {
            source: crate::domain::plan::Source {
                file: inputs
                    .files
                    .get(h.at.file as usize)
                    .map_or_else(|| format!("#{}", h.at.file), |f| f.name.clone()),
                row: h.at.row,
            },
            ids: h.ids.clone(),
            errors: h.errors.clone(),
        })
        .collect();
    held.sort_by(|a, b| (&a.source.file, a.source.row).cmp(&(&b.source.file, b.source.row)));
    held
}
