//! Transparent huge pages for the heap, on Linux with glibc.
//!
//! A night at national scale allocates and first touches several hundred MB: the parsed plan,
//! SQLite's 256 MiB page cache, the key maps. With 4 KiB pages that is ~165,000 page faults in
//! one million-account `apply` (~0.8 s of kernel time on two cores, a fifth of the apply). Most
//! servers run transparent huge pages in `madvise` mode: the kernel backs with 2 MiB pages only
//! memory that asks for them, and glibc's malloc asks only when its `glibc.malloc.hugetlb=1`
//! tunable is set, which glibc reads from the environment when a process starts. So when the
//! kernel is in `madvise` mode and the tunable is not set, [`reexec`] runs this same program again
//! (its own path, same process id, arguments and open files) with
//! `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`. The
//! faults drop to a third and `apply` and `plan` take 10–18 % and ~7 % less time at 1M (see
//! `benches/SCALE.md`), for a few MiB more resident memory.
//!
//! Nothing is re-executed when `GLIBC_TUNABLES` is set already (the operator chose; the new
//! process has it too, so it never loops), when `REGSYNC_HUGE_PAGES=0`, or when the kernel is in
//! `always` or `never` mode. If the re-execution fails, the program carries on as it is.

use std::ffi::OsStr;

/// The environment variable glibc reads its tunables from.
const TUNABLES: &str = "GLIBC_TUNABLES";
/// What is set: glibc's malloc calls `madvise(MADV_HUGEPAGE)` on the memory it takes.
const HUGE_PAGES: &str = "glibc.malloc.hugetlb=1";
/// `REGSYNC_HUGE_PAGES=0` keeps the process as started.
const OPT_OUT: &str = "REGSYNC_HUGE_PAGES";
/// The kernel's transparent huge page mode.
const THP_MODE: &str = "/sys/kernel/mm/transparent_hugepage/enabled";

/// Whether to re-execute: the kernel's mode (the contents of [`THP_MODE`], which marks the
/// active one in brackets) is `madvise`, `GLIBC_TUNABLES` is not set and the operator did not
/// opt out.
fn wanted(tunables: Option<&OsStr>, opt_out: Option<&OsStr>, thp_mode: &str) -> bool {
    tunables.is_none()
        && opt_out.is_none_or(|v| v != "0")
        && thp_mode.split_whitespace().any(|m| m == "[madvise]")
}

/// Re-executes this program with huge pages for malloc when [`wanted`]; returns only when it
/// is not, or when the re-execution failed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(super) fn reexec() {
    use std::os::unix::process::CommandExt as _;
    let tunables = std::env::var_os(TUNABLES);
    let opt_out = std::env::var_os(OPT_OUT);
    // The kernel's file only when it can matter: not in the process started again.
    let mode = match tunables {
        None => std::fs::read_to_string(THP_MODE).unwrap_or_default(),
        Some(_) => String::new(),
    };
    if !wanted(tunables.as_deref(), opt_out.as_deref(), &mode) {
        return;
    }
    // The program's own path (not `/proc/self/exe`, which would show as `exe` in `ps`); if it
    // was replaced or removed since the start, this runs the new file or fails, and either is
    // fine.
    let Ok(program) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| "regsync".into());
    let _failed = std::process::Command::new(program)
        .arg0(arg0)
        .args(args)
        .env(TUNABLES, HUGE_PAGES)
        .exec();
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(super) fn reexec() {}

/// For `REGSYNC_LOG=debug`: the tunables this process runs with.
pub(super) fn describe() -> String {
    match std::env::var_os(TUNABLES) {
        Some(v) => format!("{TUNABLES}={}", v.to_string_lossy()),
        None => format!("{TUNABLES} not set"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reexecutes_only_in_madvise_mode_without_tunables_or_opt_out() {
        let madvise = "always [madvise] never\n";
        let cases: [(Option<&str>, Option<&str>, &str, bool); 8] = [
            (None, None, madvise, true),
            (None, Some("1"), madvise, true),
            (None, Some("0"), madvise, false),
            (Some(HUGE_PAGES), None, madvise, false),
            (Some("glibc.malloc.arena_max=2"), None, madvise, false),
            (None, None, "[always] madvise never\n", false),
            (None, None, "always madvise [never]\n", false),
            (None, None, "", false),
        ];
        for (tunables, opt_out, mode, expected) in cases {
            assert_eq!(
                wanted(tunables.map(OsStr::new), opt_out.map(OsStr::new), mode),
                expected,
                "{tunables:?} {opt_out:?} {mode:?}"
            );
        }
    }
}
