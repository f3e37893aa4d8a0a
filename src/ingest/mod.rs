//! Ingest: reading input files into typed records (filled in with the ingest work).

pub mod encoding;
