//! `regsync apply` end to end on the shipped samples: letters with mode 0600, keys nowhere
//! else, a stale plan refused, re-planning after apply, and a crash mid-apply.

use std::path::{Path, PathBuf};

use crate::common::{Result, files_under, ok, plan, planned, regsync};

/// The activation keys in the letters (column 有効化キー).
fn keys_in_letters(letters: &Path) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(letters)? {
        let path = entry?.path();
        // Each faculty's workbook repeats its CSV (tests/it/operators.rs compares them).
        if path.extension().is_some_and(|e| e == "xlsx") {
            continue;
        }
        let text = std::fs::read_to_string(path)?;
        let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let key_col = rdr
            .headers()?
            .iter()
            .position(|h| h == "有効化キー")
            .ok_or("no 有効化キー column")?;
        for rec in rdr.records() {
            keys.push(rec?.get(key_col).ok_or("short row")?.to_string());
        }
    }
    Ok(keys)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn apply_writes_private_letters_whose_keys_appear_nowhere_else() -> Result {
    let (dir, mut outputs) = planned()?;
    let d = dir.path();
    let applied = ok(regsync(d, &["apply", "p/plan.json"], &[])?)?;
    assert!(applied.stdout.contains("create 34"), "{}", applied.stdout);
    assert!(applied.stdout.contains("p/letters"), "{}", applied.stdout);
    assert!(
        applied.stdout.contains("p/actions.jsonl"),
        "{}",
        applied.stdout
    );
    outputs.push(applied);

    let letters = d.join("p/letters");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&letters)?.permissions().mode() & 0o777,
            0o700
        );
        let mut n = 0;
        for entry in std::fs::read_dir(&letters)? {
            let path = entry?.path();
            let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
            let bytes = std::fs::read(&path)?;
            if path.extension().is_some_and(|e| e == "xlsx") {
                assert!(bytes.starts_with(b"PK"), "{}", path.display());
                assert!(path.with_extension("csv").is_file());
            } else {
                assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
                n += 1;
            }
        }
        assert!(n > 1, "one CSV per faculty");
    }
    let keys = keys_in_letters(&letters)?;
    // The 2026-04-01 cohort admissions (R3); the May admission and the JSPS fellow get their
    // account at the counter, without a letter.
    assert_eq!(keys.len(), 32);
    for k in &keys {
        assert_eq!(k.len(), 14, "{k}");
    }
    let lines = std::fs::read_to_string(d.join("p/actions.jsonl"))?;
    assert_eq!(lines.lines().count(), 74);

    // More commands whose output must not show a key either.
    outputs.push(ok(regsync(d, &["show", "a0117214"], &[])?)?);
    outputs.push(ok(regsync(
        d,
        &["accounts", "export", "--format", "json"],
        &[],
    )?)?);
    outputs.push(ok(regsync(d, &["review", "list"], &[])?)?);
    let created = lines
        .lines()
        .find(|l| l.contains(r#""delivery":"letter""#))
        .and_then(|l| l.split(r#""ecs_id":""#).nth(1))
        .and_then(|rest| rest.split('"').next())
        .ok_or("no letter create in actions.jsonl")?
        .to_string();
    let shown = ok(regsync(d, &["show", &created], &[])?)?;
    assert!(shown.stdout.contains("発行済み issued"), "{}", shown.stdout);
    assert!(!shown.stdout.contains('$'), "no hash: {}", shown.stdout);
    outputs.push(shown);

    let files: Vec<PathBuf> = files_under(d)?
        .into_iter()
        .filter(|f| !f.starts_with(&letters))
        .collect();
    assert!(files.iter().any(|f| f.ends_with("regsync.sqlite")));
    let contents: Vec<(PathBuf, Vec<u8>)> = files
        .into_iter()
        .map(|f| std::fs::read(&f).map(|b| (f, b)))
        .collect::<std::io::Result<_>>()?;
    for key in &keys {
        let bare = key.replace('-', "");
        for (path, bytes) in &contents {
            assert!(
                !contains(bytes, key) && !contains(bytes, &bare),
                "a key is in {}",
                path.display()
            );
        }
        for o in &outputs {
            assert!(!contains(&o.bytes, key) && !contains(&o.bytes, &bare));
        }
    }
    Ok(())
}

#[test]
fn a_plan_applies_once_and_replanning_finds_nothing_new() -> Result {
    let (dir, _) = planned()?;
    let d = dir.path();
    ok(regsync(d, &["apply", "p/plan.json"], &[])?)?;
    let store = d.join("regsync.sqlite");
    let before = std::fs::read(&store)?;

    let again = regsync(d, &["apply", "p/plan.json"], &[])?;
    assert_eq!(again.code, Some(4), "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("the store changed since this plan was made"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("make a new plan with `regsync plan`"));
    assert_eq!(
        std::fs::read(&store)?,
        before,
        "a refused apply writes nothing"
    );

    // The same files again: each is named as processed already, and none is planned again
    // (as `run` archives it unread).
    let replanned = ok(plan(d, "p2")?)?;
    assert!(
        replanned
            .stdout
            .contains("already processed, not planned again"),
        "{}",
        replanned.stdout
    );
    let p2: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("p2/plan.json"))?)?;
    let actions = p2["actions"].as_array().ok_or("no actions")?;
    let kinds: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap_or_default(),
                a["rule"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(kinds.is_empty(), "{kinds:?}");
    Ok(())
}

#[test]
fn a_second_apply_into_the_same_folder_never_overwrites_letters() -> Result {
    let (dir, _) = planned()?;
    let d = dir.path();
    ok(regsync(d, &["apply", "p/plan.json"], &[])?)?;
    // A fresh plan into the same folder as the first: its outputs would overwrite the first
    // apply's, so it is refused before anything is written.
    ok(plan(d, "p")?)?;
    let keys_before = keys_in_letters(&d.join("p/letters"))?;
    let r = regsync(d, &["apply", "p/plan.json"], &[])?;
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stderr.contains("exists already"), "{}", r.stderr);
    assert_eq!(keys_in_letters(&d.join("p/letters"))?, keys_before);
    Ok(())
}

#[test]
fn a_crash_mid_apply_leaves_the_store_unchanged_and_publishes_nothing() -> Result {
    let (dir, _) = planned()?;
    let d = dir.path();
    let store = d.join("regsync.sqlite");
    let digest = || -> Result<String> {
        Ok(regsync::store::Store::open_read_only(&store)?
            .ok_or("no store")?
            .digest()?)
    };
    let digest_before = digest()?;
    let export_before = ok(regsync(d, &["accounts", "export"], &[])?)?.stdout;

    let crashed = regsync(
        d,
        &["apply", "p/plan.json"],
        &[(regsync::fault::ENV, "apply-mid")],
    )?;
    assert_ne!(crashed.code, Some(0), "the fault point should abort");
    #[cfg(unix)]
    assert_eq!(crashed.code, None, "killed by SIGABRT: {}", crashed.stderr);
    assert_eq!(digest()?, digest_before);
    assert_eq!(
        ok(regsync(d, &["accounts", "export"], &[])?)?.stdout,
        export_before
    );
    assert!(!d.join("p/letters").exists(), "no letters published");
    assert!(!d.join("p/actions.jsonl").exists());

    // Again, right before the commit, when the letters are staged (they are written beside the
    // transaction, so the crash above may or may not have come before them).
    let crashed = regsync(
        d,
        &["apply", "p/plan.json"],
        &[(regsync::fault::ENV, "apply-staged")],
    )?;
    assert_ne!(crashed.code, Some(0), "the fault point should abort");
    assert_eq!(digest()?, digest_before);
    assert!(!d.join("p/letters").exists(), "no letters published");
    let staging = std::fs::read_dir(d.join("p"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .count();
    assert!(
        staging >= 1,
        "the staged letters are left in a hidden folder"
    );

    let second = ok(regsync(d, &["apply", "p/plan.json"], &[])?)?;
    assert!(
        second.stderr.contains("recovery of interrupted applies")
            && second.stderr.contains("never committed"),
        "{}",
        second.stderr
    );
    // A folder the first crash left before its note was written may remain: a folder with no
    // note is taken for another apply's, still being written, for ten minutes.
    let staging = std::fs::read_dir(d.join("p"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .filter(|e| e.path().join("plan_digest").exists())
        .count();
    assert_eq!(staging, 0, "the void staging folder is removed");
    assert!(d.join("p/letters").is_dir());
    assert!(d.join("p/actions.jsonl").is_file());
    assert_ne!(digest()?, digest_before);
    Ok(())
}

/// A reviewed plan changed by hand is not the plan that was reviewed: a departure removed, or a
/// departure turned into an immediate stop, is refused (exit 4) and nothing is written; the
/// plan as `plan` wrote it applies.
#[test]
fn a_plan_edited_after_it_was_written_is_refused() -> Result {
    let (dir, _) = planned()?;
    let d = dir.path();
    let path = d.join("p/plan.json");
    let written = std::fs::read_to_string(&path)?;
    let store = d.join("regsync.sqlite");
    let before = std::fs::read(&store)?;
    let without_a_departure: Vec<&str> = {
        let mut lines: Vec<&str> = written.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains("{\"kind\":\"depart\""))
            .ok_or("a departure")?;
        lines.remove(at);
        lines
    };
    let stopped_at_once = written.replacen(
        "\"state\":\"active\",\"activation_deadline\":null,\"activation_expired\":false,\"stop_on\":\"2026-04-16\"",
        "\"state\":\"stopped\",\"activation_deadline\":null,\"activation_expired\":false,\"stop_on\":\"2026-04-16\"",
        1,
    );
    assert_ne!(stopped_at_once, written, "a departure's account to edit");
    for edited in [without_a_departure.join("\n") + "\n", stopped_at_once] {
        std::fs::write(&path, &edited)?;
        let r = regsync(d, &["apply", "p/plan.json"], &[])?;
        assert_eq!(r.code, Some(4), "{}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("is not the plan that was reviewed")
                && r.stderr.contains("changed after `regsync plan` wrote it"),
            "{}",
            r.stderr
        );
        assert_eq!(std::fs::read(&store)?, before, "nothing written");
    }
    std::fs::write(&path, &written)?;
    ok(regsync(d, &["apply", "p/plan.json"], &[])?)?;
    Ok(())
}
