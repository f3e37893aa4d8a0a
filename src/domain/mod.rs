//! The pure core: no files, database, clock, environment or network. Everything comes in as
//! arguments (`as_of`, policy, records) and goes out as values.

pub mod account;
pub(crate) mod guard;
pub mod jpdate;
pub(crate) mod matching;
pub mod model;
pub(crate) mod notice;
pub mod plan;
pub mod policy;
pub mod rules;
pub(crate) mod schedule;
pub mod text;
