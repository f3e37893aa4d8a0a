//! End-to-end tests through the real `regsync` binary, all in one test binary so the suite
//! links once.

mod check;
mod ingest;
