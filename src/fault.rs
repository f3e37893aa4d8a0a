//! Fault points for the tests: with the `fault-injection` feature (which the tests enable, see
//! `Cargo.toml`), `REGSYNC_FAULT=NAME` makes the process stop or wait at the point `NAME`, so a
//! test can kill a run between two steps or hold its lock. Without the feature, [`at`] is a
//! constant `false` and a release build has no fault point.

/// The environment variable naming the fault point to trigger.
#[cfg(feature = "fault-injection")]
pub const ENV: &str = "REGSYNC_FAULT";

/// Whether the fault point `name` is triggered in this process.
#[cfg(feature = "fault-injection")]
pub fn at(name: &str) -> bool {
    std::env::var_os(ENV).is_some_and(|v| v == name)
}

/// Whether the fault point `name` is triggered in this process: never, without the
/// `fault-injection` feature.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn at(_name: &str) -> bool {
    false
}
