//! The process itself: on Linux with glibc, in the kernel's `madvise` mode of transparent huge
//! pages, `regsync` runs again with glibc's malloc asking for huge pages (see `cli::heap`),
//! unless the operator set `GLIBC_TUNABLES` or `REGSYNC_HUGE_PAGES=0`.

use assert_cmd::Command;

/// What the started program reports (`REGSYNC_LOG=debug`) about its tunables.
fn heap_line(env: &[(&str, &str)]) -> String {
    let mut cmd = match Command::cargo_bin("regsync") {
        Ok(c) => c,
        Err(e) => unreachable!("binary: {e}"),
    };
    cmd.env_remove("GLIBC_TUNABLES")
        .env_remove("REGSYNC_HUGE_PAGES")
        .env("REGSYNC_LOG", "debug")
        .env("NO_COLOR", "1")
        .arg("--version");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => unreachable!("run: {e}"),
    };
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find(|l| l.contains("started"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn malloc_asks_for_huge_pages_when_the_kernel_gives_them_on_request() {
    let madvise = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|m| m.contains("[madvise]"));
    let expected = if madvise && cfg!(all(target_os = "linux", target_env = "gnu")) {
        "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"
    } else {
        "GLIBC_TUNABLES not set"
    };
    assert!(heap_line(&[]).contains(expected), "{}", heap_line(&[]));
    let off = heap_line(&[("REGSYNC_HUGE_PAGES", "0")]);
    assert!(off.contains("GLIBC_TUNABLES not set"), "{off}");
    let chosen = heap_line(&[("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")]);
    assert!(
        chosen.contains("GLIBC_TUNABLES=glibc.malloc.arena_max=2"),
        "{chosen}"
    );
}
