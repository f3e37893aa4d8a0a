//! The pure core: no files, database, clock, environment or network. Everything comes in as
//! arguments (`as_of`, policy, records) and goes out as values.

pub mod account;
pub mod guard;
pub mod jpdate;
pub mod matching;
pub mod model;
pub mod notice;
pub mod plan;
pub mod policy;
pub mod rules;
pub mod schedule;
pub mod text;
