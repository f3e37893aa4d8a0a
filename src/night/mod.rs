//! The night's pipeline, below the command line: [`plan`] reads the inputs and the store and
//! computes the plan (what `regsync plan` shows); [`run`] is the nightly job around it (lock,
//! inbox, guard, apply, mail, archive) and returns a typed [`run::Outcome`]. Only `cli` turns
//! outcomes into exit codes.

pub mod inbox;
pub mod plan;
pub mod run;
