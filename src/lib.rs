//! regsync keeps a university's student accounts (ECS-ID and KUMOI mailbox) in step with the
//! student registry.
//!
//! The crate is split into a pure core ([`domain`]: model, normalization, dates, matching,
//! rules and the plan) and an I/O shell ([`ingest`], [`cli`], ...). Data flows one way:
//! files → typed records → plan → store + outbox → mail. See `ARCHITECTURE.md`.

pub(crate) mod apply;
pub mod cli;
pub mod config;
mod digest;
pub mod directory;
pub mod domain;
pub mod fault;
mod formula;
pub mod ingest;
pub mod mail;
pub(crate) mod metrics;
pub mod night;
pub(crate) mod private;
pub mod report;
pub mod store;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod triage;
mod xlsx;
