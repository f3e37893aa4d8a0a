//! The one integration-test binary: every end-to-end test is a module here, so the suite links
//! once.

mod accounts;
mod apply;
mod browser;
mod check;
mod common;
mod hold;
mod hostile;
mod inbox;
mod ingest;
mod install;
mod mail;
mod mail_faults;
mod metrics;
mod nights;
mod operators;
mod plan;
mod private;
mod recover;
mod review;
mod run;
mod show;
mod smtp;
mod store;
mod triage;
mod unknown;
