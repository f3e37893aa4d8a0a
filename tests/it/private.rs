//! Files regsync creates are private whatever the umask: run under `umask 000`, the store and
//! its `-wal`/`-shm`, the lock, the reports, the archive, `rejected/`, the mail files and an
//! export are 0600 in 0700 folders; with `[paths] group` they are 0640/0750 and owned by that
//! group, letters staying 0600/0700.

#![cfg(unix)]

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{NIGHT_0402, Result, root, text, write};

/// Runs the binary in `dir` with `args` under `umask 000`.
fn under_umask_000(dir: &Path, args: &[&str]) -> Result<Output> {
    let bin = assert_cmd::cargo::cargo_bin("regsync");
    Ok(std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("sh")
        .arg(bin)
        .args(args)
        .current_dir(dir)
        .env_remove("REGSYNC_FAULT")
        .output()?)
}

/// Every file and folder below `dir` but `keep` (what the test made itself), with its mode
/// and group.
fn walk(dir: &Path, keep: &[&str]) -> Result<Vec<(PathBuf, u32, u32, bool)>> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d)? {
            let path = e?.path();
            let rel = path.strip_prefix(dir)?.to_string_lossy().into_owned();
            if keep.contains(&rel.as_str()) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path)?;
            if meta.is_dir() {
                todo.push(path.clone());
            }
            found.push((path, meta.mode() & 0o777, meta.gid(), meta.is_dir()));
        }
    }
    Ok(found)
}

/// A night under `umask 000` with `config`: the sample accounts imported, the 2026-04-02 files
/// and one bad file in the inbox, and an export written with `--out`.
fn night(config: &str) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    write(&d.join("regsync.toml"), config);
    let accounts = root().join("samples/accounts.csv");
    let o = under_umask_000(d, &["accounts", "import", &accounts.to_string_lossy()])?;
    assert!(o.status.success(), "{}", text(&o));
    let files: Vec<&str> = NIGHT_0402
        .iter()
        .copied()
        .chain(["samples/broken/bad-date.csv"])
        .collect();
    crate::common::drop_in(d, &files);
    let o = under_umask_000(d, &["run", "--as-of", "2026-04-02"])?;
    assert_eq!(
        o.status.code(),
        Some(3),
        "the bad file is rejected: {}",
        text(&o)
    );
    let o = under_umask_000(d, &["accounts", "export", "--out", "export.csv"])?;
    assert!(o.status.success(), "{}", text(&o));
    Ok(dir)
}

/// What the night must have made, so the walk cannot pass on an empty folder.
fn assert_made(found: &[(PathBuf, u32, u32, bool)]) {
    for name in [
        "regsync.sqlite",
        "regsync.sqlite-wal",
        "regsync.sqlite-shm",
        "regsync.sqlite.lock",
        "report.html",
        "report.csv",
        "plan.json",
        "actions.jsonl",
        "bad-date.csv.errors.txt",
        "registrar-2026-04-02.csv",
        "export.csv",
    ] {
        assert!(
            found
                .iter()
                .any(|(p, ..)| p.file_name().is_some_and(|n| n == name)),
            "{name} was not made"
        );
    }
    assert!(
        found
            .iter()
            .any(|(p, ..)| p.extension().is_some_and(|e| e == "eml")),
        "no mail file"
    );
}

#[test]
fn umask_000_leaves_no_file_readable_or_writable_by_others() -> Result {
    let dir = night("[policy]\nguard_share = 0.5\n")?;
    let found = walk(dir.path(), &["regsync.toml", "inbox"])?;
    assert_made(&found);
    for (path, mode, _, is_dir) in &found {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{} is {mode:o}", path.display());
    }
    println!("{} files and folders, every one owner-only", found.len());
    Ok(())
}

#[test]
fn a_configured_group_may_read_everything_but_the_letters() -> Result {
    // The current user's primary group: the one a new file gets.
    let probe = tempfile::NamedTempFile::new()?;
    let gid = probe.as_file().metadata()?.gid();
    let dir = night(&format!(
        "[paths]\ngroup = \"{gid}\"\n\n[policy]\nguard_share = 0.5\n"
    ))?;
    let found = walk(dir.path(), &["regsync.toml", "inbox"])?;
    assert_made(&found);
    let mut letters = 0;
    for (path, mode, group, is_dir) in &found {
        let secret = path.components().any(|c| c.as_os_str() == "letters");
        let want = match (secret, *is_dir) {
            (true, true) => 0o700,
            (true, false) => 0o600,
            (false, true) => 0o750,
            (false, false) => 0o640,
        };
        letters += usize::from(secret && !is_dir);
        assert_eq!(*mode, want, "{} is {mode:o}", path.display());
        assert_eq!(*group, gid, "{}", path.display());
    }
    assert!(letters > 0, "the night wrote letters");
    Ok(())
}
