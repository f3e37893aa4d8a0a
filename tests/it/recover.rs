//! Letters are never lost: a `run` killed at each rename and sync of its apply (test-only fault
//! points) is followed by a normal one, after which every account created with a letter is on
//! exactly one published letter row whose key verifies against the store's hash, and no
//! staging folder is left.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::{NIGHT_0402, Result, drop_in, files_under, imported, regsync};

/// Generous guard limits for the small sample world, where a March graduation is 10%.
const LOOSE: &str = "[policy]\nguard_share = 0.5\n";

/// Every rename and sync of an apply, in the order they happen: staging (the note, a letter
/// file, all letters, actions.jsonl, the folder), the last moment before the commit, right after it, and
/// publishing (actions.jsonl renamed, letters renamed, the folder synced).
const POINTS: [&str; 10] = [
    "stage-note-synced",
    "stage-letter-synced",
    "stage-letters-synced",
    "stage-actions-synced",
    "stage-dir-synced",
    "apply-staged",
    "apply-committed",
    "publish-actions-renamed",
    "publish-letters-renamed",
    "publish-out-synced",
];

/// The points after the commit: the next run has something to publish.
const AFTER_COMMIT: [&str; 4] = [
    "apply-committed",
    "publish-actions-renamed",
    "publish-letters-renamed",
    "publish-out-synced",
];

/// `(ECS-ID, key)` of each row of the published letters below `reports`, and the staging
/// folders left.
/// `(ECS-ID, key)` of one letter row.
type LetterKey = (String, String);

fn published(reports: &Path) -> Result<(Vec<LetterKey>, Vec<PathBuf>)> {
    let mut rows = Vec::new();
    let mut staging = Vec::new();
    for f in files_under(reports)? {
        let hidden = f.components().any(|c| {
            let c = c.as_os_str().to_string_lossy();
            c.starts_with(".apply-")
        });
        if hidden {
            staging.push(f);
            continue;
        }
        let in_letters = f
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n.to_string_lossy().starts_with("letters"));
        // Each faculty's workbook repeats its CSV (tests/it/operators.rs compares them).
        if !in_letters || f.extension().is_some_and(|e| e == "xlsx") {
            continue;
        }
        let text = std::fs::read_to_string(&f)?;
        let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        for rec in rdr.records() {
            let rec = rec?;
            rows.push((
                rec.get(4).ok_or("short row")?.to_string(),
                rec.get(6).ok_or("short row")?.to_string(),
            ));
        }
    }
    Ok((rows, staging))
}

/// The stored activation key hash of every account that has one.
fn stored_hashes(dir: &Path) -> Result<HashMap<String, String>> {
    let db = rusqlite::Connection::open_with_flags(
        dir.join("regsync.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut stmt = db.prepare(
        "SELECT ecs_id, activation_key_hash FROM accounts WHERE activation_key_hash IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every account with a key is on exactly one published letter row, that row's key verifies,
/// every published row belongs to such an account, and no staging folder is left. Returns the
/// number of letters.
fn check_letters(dir: &Path, what: &str) -> Result<usize> {
    let hashes = stored_hashes(dir)?;
    let (rows, staging) = published(&dir.join("reports"))?;
    assert!(staging.is_empty(), "{what}: staging left: {staging:?}");
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (id, key) in &rows {
        let hash = hashes
            .get(id)
            .ok_or_else(|| format!("{what}: a letter for `{id}`, which has no key"))?;
        assert!(
            regsync::testing::verify_key(key, id, hash),
            "{what}: the key on `{id}`'s letter does not verify"
        );
        *seen.entry(id).or_default() += 1;
    }
    for id in hashes.keys() {
        assert_eq!(
            seen.get(id.as_str()),
            Some(&1),
            "{what}: `{id}` is not on exactly one letter"
        );
    }
    Ok(rows.len())
}

/// A folder with the sample accounts and the 2026-04-02 night in the inbox, run once with the
/// fault point `point` (the process aborts there).
fn killed_at(point: &str) -> Result<tempfile::TempDir> {
    let dir = imported(Some(LOOSE), &[]);
    drop_in(dir.path(), &NIGHT_0402);
    let r = regsync(
        dir.path(),
        &["run", "--as-of", "2026-04-02"],
        &[(regsync::fault::ENV, point)],
    )?;
    assert_eq!(r.code, None, "{point}: killed by SIGABRT\n{}", r.stderr);
    Ok(dir)
}

#[test]
fn a_kill_at_every_rename_and_sync_of_apply_loses_no_letter() -> Result {
    // In parallel: each point is a folder and two runs of its own.
    type Trial = std::result::Result<(String, usize, String), String>;
    let results: Vec<Trial> = std::thread::scope(|s| {
        let handles: Vec<_> = POINTS
            .iter()
            .map(|&point| {
                s.spawn(move || -> Trial {
                    let trial = || -> Result<(String, usize, String)> {
                        let dir = killed_at(point)?;
                        let next = regsync(dir.path(), &["run", "--as-of", "2026-04-03"], &[])?;
                        assert_eq!(
                            next.code,
                            Some(0),
                            "{point}: {}{}",
                            next.stdout,
                            next.stderr
                        );
                        let letters = check_letters(dir.path(), point)?;
                        Ok((point.to_string(), letters, next.stdout))
                    };
                    trial().map_err(|e| format!("{point}: {e}"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    for r in results {
        let (point, letters, summary) = r?;
        let recovered = summary
            .split("recovery of interrupted applies: ")
            .nth(1)
            .and_then(|t| t.split(". ").next())
            .unwrap_or("nothing to recover");
        println!("{point}: {letters} letters, each account on one; {recovered}");
        // The samples' 2026-04-01 cohort: 32 letters, whichever run published them.
        assert_eq!(letters, 32, "{point}");
        if AFTER_COMMIT.contains(&point.as_str()) {
            assert!(
                summary.contains("recovery of interrupted applies"),
                "{point}: {summary}"
            );
        }
        if point == "apply-committed" || point == "publish-actions-renamed" {
            assert!(
                summary.contains("32 letter(s) published"),
                "{point}: {summary}"
            );
        }
        if point.starts_with("stage-") || point == "apply-staged" {
            assert!(summary.contains("never committed"), "{point}: {summary}");
        }
    }
    Ok(())
}

/// A run killed right after its commit, whose staged letters were then damaged (one faculty's
/// file lost): the next run must re-issue their keys.
fn damaged_after_commit() -> Result<tempfile::TempDir> {
    let dir = killed_at("apply-committed")?;
    let staged_letter = files_under(&dir.path().join("reports"))?
        .into_iter()
        .find(|f| {
            f.to_string_lossy().contains(".apply-") && f.extension().is_some_and(|e| e == "csv")
        })
        .ok_or("no staged letter")?;
    std::fs::remove_file(&staged_letter)?;
    Ok(dir)
}

#[test]
fn letters_that_cannot_be_read_back_are_reissued_with_new_keys() -> Result {
    let dir = damaged_after_commit()?;
    let d = dir.path();
    let next = regsync(d, &["run", "--as-of", "2026-04-03"], &[])?;
    assert_eq!(next.code, Some(0), "{}{}", next.stdout, next.stderr);
    assert!(
        next.stdout.contains("32 activation key(s) re-issued"),
        "{}",
        next.stdout
    );
    assert_eq!(check_letters(d, "re-issue")?, 32);
    let db = rusqlite::Connection::open(d.join("regsync.sqlite"))?;
    let reissued: i64 = db.query_row(
        "SELECT count(*) FROM history WHERE action = 'reissue_key' AND rule = 'R4'",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(reissued, 32, "one history row per re-issued key");
    Ok(())
}

#[test]
fn apply_publishes_what_a_killed_apply_into_its_folder_left() -> Result {
    let (dir, _) = crate::common::planned()?;
    let d = dir.path();
    let killed = regsync(
        d,
        &["apply", "p/plan.json"],
        &[(regsync::fault::ENV, "publish-actions-renamed")],
    )?;
    assert_eq!(killed.code, None, "{}", killed.stderr);
    assert!(d.join("p/actions.jsonl").is_file());
    assert!(!d.join("p/letters").exists());
    // The plan committed: applying it again is refused, after the letters are published.
    let again = regsync(d, &["apply", "p/plan.json"], &[])?;
    assert_eq!(again.code, Some(4), "{}", again.stderr);
    assert!(
        again.stderr.contains("32 letter(s) published"),
        "{}",
        again.stderr
    );
    assert!(d.join("p/letters").is_dir());
    let staging = std::fs::read_dir(d.join("p"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".apply-"))
        .count();
    assert_eq!(staging, 0);
    Ok(())
}

/// The system calls of `regsync ARGS` in `dir`, as `strace -f -y` prints them (one per line,
/// file descriptors with their paths): the writes, syncs and renames. Returns the exit code
/// and the trace.
fn traced(dir: &Path, args: &[&str]) -> Result<(Option<i32>, String)> {
    let trace = dir.join("strace.txt");
    let status = std::process::Command::new("strace")
        .args(["-f", "-y", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=write,pwrite64,pwritev,fsync,fdatasync,rename,renameat,renameat2",
        ])
        .arg(env!("CARGO_BIN_EXE_regsync"))
        .args(args)
        .current_dir(dir)
        .env("TZ", "America/Los_Angeles")
        .env_remove(regsync::fault::ENV)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("strace (installed by .ci/run): {e}"))?;
    Ok((status.code(), std::fs::read_to_string(trace)?))
}

/// Every rename in `trace` that publishes out of a staging folder (`.apply-*`) comes after a
/// sync of the store's write-ahead log that follows the log's last write: what the letters
/// announce is on disk before them. Returns how many renames published.
fn synced_before_publishing(trace: &str, what: &str) -> Result<usize> {
    let mut written = false;
    let mut published = 0;
    for line in trace.lines() {
        let call = line.split_once(' ').map_or(line, |(_, c)| c.trim_start());
        if call.contains("-wal>") {
            if call.starts_with("fsync(") || call.starts_with("fdatasync(") {
                written = false;
            } else if call.starts_with("write(") || call.starts_with("pwrite") {
                written = true;
            }
        } else if call.starts_with("rename") {
            let (from, to) = call.split_once(", ").ok_or("a rename without two paths")?;
            if from.contains("/.apply-") && !to.contains("/.apply-") {
                assert!(
                    !written,
                    "{what}: published before the store's log was synced: {call}"
                );
                published += 1;
            }
        }
    }
    Ok(published)
}

/// Letters, mail and the directory follow the apply's commit, and SQLite in WAL mode with
/// `synchronous = NORMAL` leaves a commit in the operating system's cache: a power loss after
/// the letters were published could take back the accounts (and ECS-IDs) they announce. Traced
/// with strace, a night's run and a run that re-issues keys sync the log before they publish.
#[test]
fn the_store_is_on_disk_before_letters_are_published() -> Result {
    let dir = imported(Some(LOOSE), &[]);
    let d = dir.path();
    drop_in(d, &NIGHT_0402);
    let (code, trace) = traced(d, &["run", "--as-of", "2026-04-02"])?;
    assert_eq!(code, Some(0), "run");
    // actions.jsonl and the letters folder.
    assert_eq!(synced_before_publishing(&trace, "run")?, 2);

    let dir = damaged_after_commit()?;
    let d = dir.path();
    let (code, trace) = traced(d, &["run", "--as-of", "2026-04-03"])?;
    assert_eq!(code, Some(0), "re-issue");
    assert!(synced_before_publishing(&trace, "re-issue")? > 0);
    Ok(())
}
