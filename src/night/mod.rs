//! The night's pipeline, below the command line: [`plan`] reads the inputs and the store and
//! computes the plan (what `regsync plan` shows); [`run`] is the nightly job around it (lock,
//! inbox, guard, apply, mail, archive) and returns a typed [`run::Outcome`]. Only `cli` turns
//! outcomes into exit codes.

pub mod inbox;
pub mod plan;
pub mod run;

/// The process's peak resident memory so far in MiB (`VmHWM`; Linux only, else 0), for the phase
/// lines of `REGSYNC_LOG=info`.
pub(crate) fn peak_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}
