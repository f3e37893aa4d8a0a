//! The inbox of `run` through the real binary: a file still being written is left for the next
//! run and the archive holds exactly the bytes that were hashed; links, FIFOs and folders are
//! named and set aside unread; a file whose reading killed a run is set aside by the next one.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use crate::common::{Result, imported, regsync, root, settle, write, write_settled};

/// Generous guard limits for the small sample world, where a March graduation is 10%.
const LOOSE: &str = "[policy]\nguard_share = 0.5\n";

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The (name, SHA-256) of every input in the plan.json of `reports/<night>-run<run>/`.
fn planned_inputs(dir: &Path, night: &str, run: u32) -> Result<Vec<(String, String)>> {
    let path = dir.join(format!("reports/{night}-run{run}/plan.json"));
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    Ok(plan["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["name"].as_str().unwrap_or_default().to_string(),
                i["sha256"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

fn sample(name: &str) -> Result<Vec<u8>> {
    Ok(std::fs::read(root().join("samples").join(name))?)
}

#[test]
fn a_file_written_in_two_parts_is_not_read_until_it_settles_and_is_archived_as_hashed() -> Result {
    let dir = imported(Some(LOOSE), &[]);
    let inbox = dir.path().join("inbox");
    let name = "registrar-2026-04-02.csv";
    let whole = sample(name)?;
    let (first, second) = whole.split_at(whole.len() / 2);
    // The first part is written as the run starts (a modification time of now); HR's roster,
    // dropped an hour ago, is read that night.
    write(&inbox.join(name), first);
    write_settled(
        &inbox.join("hr-2026-04-02.csv"),
        sample("hr-2026-04-02.csv")?,
    );
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "Waiting: {name} (書き込み中の可能性があります。次回の実行で読みます / still being written; left for the next run)"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("1 file(s) read, 0 rejected"),
        "{}",
        r.stdout
    );
    let inputs = planned_inputs(dir.path(), "2026-04-02", 2)?;
    assert_eq!(
        inputs.iter().map(|i| i.0.as_str()).collect::<Vec<_>>(),
        ["hr-2026-04-02.csv"],
        "nothing is read from the file being written"
    );
    assert_eq!(std::fs::read(inbox.join(name))?, first, "left as it was");

    // The second part arrives; by the next run the file has not changed for an hour.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(inbox.join(name))?;
    std::io::Write::write_all(&mut file, second)?;
    drop(file);
    settle(&inbox.join(name));
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let archived = std::fs::read(dir.path().join("archive/2026-04-02-run3").join(name))?;
    assert_eq!(archived, whole);
    assert_eq!(
        planned_inputs(dir.path(), "2026-04-02", 3)?,
        [(name.to_string(), sha256(&whole))],
        "the plan names the SHA-256 of exactly the archived bytes"
    );
    assert!(!inbox.join(name).exists());
    Ok(())
}

#[test]
fn a_file_changed_while_the_run_reads_it_is_archived_as_hashed_and_left_for_the_next_run() -> Result
{
    let dir = imported(Some(&format!("{LOOSE}\n[inbox]\nsettle_secs = 0\n")), &[]);
    let inbox = dir.path().join("inbox");
    let name = "activations-2026-04-02.csv";
    let original = sample(name)?;
    write(&inbox.join(name), &original);
    // The run pauses after copying each file; meanwhile a writer appends a line.
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("regsync"))
        .current_dir(dir.path())
        .args(["run", "--as-of", "2026-04-02"])
        .env("REGSYNC_FAULT", "inbox-pause")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let copy = dir.path().join("archive/.incoming").join(name);
    let started = Instant::now();
    while !copy.exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(inbox.join(name))?;
    std::io::Write::write_all(&mut file, b"\r\n")?;
    drop(file);
    let o = child.wait_with_output()?;
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let archived = std::fs::read(dir.path().join("archive/2026-04-02-run2").join(name))?;
    assert_eq!(
        archived, original,
        "the archive holds the bytes that were hashed"
    );
    assert_eq!(
        planned_inputs(dir.path(), "2026-04-02", 2)?,
        [(name.to_string(), sha256(&original))]
    );
    assert!(
        out.contains(&format!(
            "Left in the inbox: {name} (読み込んだ後に変更されました"
        )),
        "{out}"
    );
    let mut changed = original.clone();
    changed.extend_from_slice(b"\r\n");
    assert_eq!(
        std::fs::read(inbox.join(name))?,
        changed,
        "left for the next run"
    );
    Ok(())
}

/// Runs `regsync run` in `dir`, killing it if it has not finished within a minute.
fn run_with_deadline(dir: &Path, args: &[&str]) -> Result<(Option<i32>, String)> {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("regsync"))
        .current_dir(dir)
        .args(args)
        .env_remove("REGSYNC_FAULT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill()?;
            return Err("the run hung".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output()?;
    Ok((
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    ))
}

#[test]
fn links_fifos_and_folders_in_the_inbox_are_named_and_set_aside_unread() -> Result {
    let dir = imported(Some(LOOSE), &[]);
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox)?;
    // A good export outside the inbox, reached only through a link.
    let outside = dir.path().join("elsewhere/registrar-2026-04-02.csv");
    write(&outside, sample("registrar-2026-04-02.csv")?);
    std::os::unix::fs::symlink(&outside, inbox.join("registrar-link.csv"))?;
    let fifo = inbox.join("pipe.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    assert!(made.success());
    std::fs::create_dir_all(inbox.join("folder.csv"))?;
    write_settled(
        &inbox.join("hr-2026-04-02.csv"),
        sample("hr-2026-04-02.csv")?,
    );

    // `plan` names them and reads none of them.
    let (code, out) = run_with_deadline(dir.path(), &["plan", "--as-of", "2026-04-02"])?;
    assert_eq!(code, Some(0), "{out}");
    for line in [
        "not read: folder.csv (フォルダです。中身は読みません / a folder; its contents are not read)",
        "not read: pipe.csv (名前付きパイプ（FIFO）です。読みません / a named pipe (FIFO); not read)",
        "not read: registrar-link.csv (シンボリックリンクです。リンク先は読みません / a symbolic link; its target is not read)",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }

    let (code, out) = run_with_deadline(dir.path(), &["run", "--as-of", "2026-04-02"])?;
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("1 file(s) read, 3 rejected"), "{out}");
    assert!(
        out.contains("Set aside unread: registrar-link.csv (シンボリックリンクです"),
        "{out}"
    );
    assert!(out.contains("Set aside unread: pipe.csv ("), "{out}");
    assert_eq!(
        planned_inputs(dir.path(), "2026-04-02", 2)?
            .into_iter()
            .map(|i| i.0)
            .collect::<Vec<_>>(),
        ["hr-2026-04-02.csv"],
        "the link's target is never read"
    );
    let rejected = dir.path().join("rejected");
    assert!(std::fs::symlink_metadata(rejected.join("registrar-link.csv"))?.is_symlink());
    assert!(
        std::fs::read_to_string(rejected.join("registrar-link.csv.errors.txt"))?
            .contains("a symbolic link; its target is not read")
    );
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::symlink_metadata(rejected.join("pipe.csv"))?.file_type()
    ));
    assert!(rejected.join("folder.csv").is_dir());
    assert_eq!(
        std::fs::read(&outside)?,
        sample("registrar-2026-04-02.csv")?
    );
    // The link's target would depart 18 students: none of that reached the plan.
    assert!(!out.contains("depart 18"), "{out}");
    Ok(())
}

#[test]
fn a_file_whose_reading_killed_a_run_is_set_aside_and_the_rest_of_the_inbox_goes_ahead() -> Result {
    let dir = imported(Some(LOOSE), &[]);
    let inbox = dir.path().join("inbox");
    // Files are read in name order: the roster first, and the fault kills the process there.
    let (crashing, good) = ("hr-2026-04-02.csv", "registrar-2026-04-02.csv");
    write_settled(&inbox.join(crashing), sample(crashing)?);
    write_settled(&inbox.join(good), sample(good)?);
    let fault = format!("abort-reading:{crashing}");
    let r = regsync(
        dir.path(),
        &["run", "--as-of", "2026-04-02"],
        &[("REGSYNC_FAULT", &fault)],
    )?;
    assert_eq!(
        r.code, None,
        "killed by the abort: {}{}",
        r.stdout, r.stderr
    );
    assert!(inbox.join(crashing).exists() && inbox.join(good).exists());

    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "Set aside: {crashing} (前回の読み込みが完了しませんでした / a previous attempt to read it did not finish)"
        )),
        "{}",
        r.stdout
    );
    let report = std::fs::read_to_string(
        dir.path()
            .join("rejected")
            .join(format!("{crashing}.errors.txt")),
    )?;
    assert!(
        report.contains("a previous run died while reading this file"),
        "{report}"
    );
    assert!(
        r.stdout.contains("depart 22"),
        "the good export is applied: {}",
        r.stdout
    );
    assert!(
        dir.path()
            .join("archive/2026-04-02-run3")
            .join(good)
            .exists()
    );

    // Dropped again after a look, the roster is read like any file, and the night after is
    // as usual.
    write_settled(&inbox.join(crashing), sample(crashing)?);
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-03"], &[])?;
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("1 file(s) read, 0 rejected"),
        "{}",
        r.stdout
    );
    Ok(())
}

/// Sets `path`'s modification time `secs` seconds back.
fn age(path: &Path, secs: u64) -> Result {
    let then = std::time::SystemTime::now() - Duration::from_secs(secs);
    std::fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(then)?;
    Ok(())
}

#[test]
fn windows_and_office_files_are_ignored_and_a_fresh_file_waits_for_the_next_night() -> Result {
    let dir = imported(Some(LOOSE), &[]);
    let inbox = dir.path().join("inbox");
    let (export, fresh) = ("registrar-2026-04-02.csv", "hr-2026-04-02.csv");
    write_settled(&inbox.join(export), sample(export)?);
    let litter = [
        "Thumbs.db",
        "desktop.ini",
        "~$reg.xlsx",
        ".DS_Store",
        "copy.part",
    ];
    for name in litter {
        write_settled(&inbox.join(name), b"\x00\x01 not an export");
    }
    write(&inbox.join(fresh), sample(fresh)?);
    age(&inbox.join(fresh), 10)?;

    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("1 file(s) read, 0 rejected"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "Ignored: .DS_Store, Thumbs.db, copy.part, desktop.ini, ~$reg.xlsx (システムファイル・一時ファイルです。読まずに受信フォルダに残します / a system, owner or temporary file; not read, left in the inbox)."
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "Waiting: {fresh} (書き込み中の可能性があります。次回の実行で読みます / still being written; left for the next run)"
        )),
        "{}",
        r.stdout
    );
    assert_eq!(
        planned_inputs(dir.path(), "2026-04-02", 2)?
            .into_iter()
            .map(|i| i.0)
            .collect::<Vec<_>>(),
        [export]
    );
    for name in litter {
        assert!(inbox.join(name).exists(), "{name} stays where it is");
    }
    assert!(
        !dir.path().join("rejected").exists(),
        "nothing is set aside"
    );

    // The next night the roster has not changed for a day: it is read.
    age(&inbox.join(fresh), 86_400)?;
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-03"], &[])?;
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(
        planned_inputs(dir.path(), "2026-04-03", 3)?
            .into_iter()
            .map(|i| i.0)
            .collect::<Vec<_>>(),
        [fresh]
    );
    assert!(!inbox.join(fresh).exists(), "archived");
    Ok(())
}

#[test]
fn the_summary_names_each_rejected_file_with_its_first_error() -> Result {
    let dir = imported(Some(LOOSE), &[]);
    let inbox = dir.path().join("inbox");
    for name in ["bad-date.csv", "unknown-status.csv"] {
        write_settled(
            &inbox.join(name),
            std::fs::read(root().join("samples/broken").join(name))?,
        );
    }
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("2 file(s) read, 2 rejected"),
        "{}",
        r.stdout
    );
    for name in ["bad-date.csv", "unknown-status.csv"] {
        let report = std::fs::read_to_string(
            dir.path()
                .join("rejected")
                .join(format!("{name}.errors.txt")),
        )?;
        // The report names the file by its path in the inbox; the summary by its name.
        let first = report
            .lines()
            .find_map(|l| l.find(&format!("{name}:")).map(|at| &l[at..]))
            .ok_or("no located error")?;
        assert!(
            r.stdout.contains(&format!("Rejected: {first}")),
            "{first}\n{}",
            r.stdout
        );
    }
    Ok(())
}

/// A rejected file whose name is as long as a file name may be (82 kanji, 250 bytes) is set
/// aside under a shortened name with its report beside it: the night ends as any night with a
/// rejected file, and the next night runs.
#[test]
fn a_rejected_file_with_a_very_long_name_is_set_aside_and_the_next_night_runs() -> Result {
    let dir = imported(Some(LOOSE), &[]);
    let inbox = dir.path().join("inbox");
    let long = format!("{}.csv", "長".repeat(82));
    write_settled(
        &inbox.join(&long),
        std::fs::read(root().join("samples/broken/bad-date.csv"))?,
    );
    for night in ["2026-04-02", "2026-04-03"] {
        let r = regsync(dir.path(), &["run", "--as-of", night], &[])?;
        let want = if night == "2026-04-02" { 3 } else { 0 };
        assert_eq!(r.code, Some(want), "{night}: {}{}", r.stdout, r.stderr);
    }
    assert!(!inbox.join(&long).exists());
    let mut set_aside: Vec<String> = std::fs::read_dir(dir.path().join("rejected"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    set_aside.sort();
    assert_eq!(set_aside.len(), 2, "{set_aside:?}");
    assert!(
        set_aside[0].starts_with("長長長") && set_aside[0].ends_with(".csv"),
        "{set_aside:?}"
    );
    assert_eq!(set_aside[1], format!("{}.errors.txt", set_aside[0]));
    Ok(())
}

/// A name dropped into the inbox is shown with its control characters escaped: it cannot start
/// a line of its own in the summary, nor send escape codes to the operator's terminal. Two
/// names shown alike (here a line break, and a backslash and an `n`) are read on two nights,
/// not refused together.
#[test]
fn names_with_control_characters_are_shown_escaped_and_two_shown_alike_are_read_on_two_nights()
-> Result {
    let dir = imported(Some(LOOSE), &[]);
    let inbox = dir.path().join("inbox");
    write_settled(
        &inbox.join("registrar\n.csv"),
        sample("registrar-2026-04-02.csv")?,
    );
    write_settled(
        &inbox.join("registrar\\n.csv"),
        sample("hr-2026-04-02.csv")?,
    );
    write_settled(&inbox.join("bad\u{1b}[2J.csv"), b"not,an,export\n");
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains('\u{1b}'), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "Left in the inbox: registrar\\n.csv (同じ名前に見えるファイルを今回すでに読んでいます。次回の実行で読みます / a file shown under the same name is read in this run; left for the next run)"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("2 file(s) read, 1 rejected"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Rejected: bad\\u{1b}[2J.csv: "),
        "{}",
        r.stdout
    );
    let left: Vec<_> = std::fs::read_dir(&inbox)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()?;
    assert_eq!(left.len(), 1, "{left:?}");
    // The other one the next night.
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-03"], &[])?;
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("1 file(s) read, 0 rejected"),
        "{}",
        r.stdout
    );
    assert_eq!(std::fs::read_dir(&inbox)?.count(), 0);
    Ok(())
}

#[test]
fn check_without_files_checks_the_inbox_as_run_would_find_it() -> Result {
    let dir = imported(None, &[]);
    let inbox = dir.path().join("inbox");
    write_settled(
        &inbox.join("registrar-2026-04-02.csv"),
        sample("registrar-2026-04-02.csv")?,
    );
    write_settled(&inbox.join("Thumbs.db"), b"\x00");
    write(
        &inbox.join("hr-2026-04-02.csv"),
        sample("hr-2026-04-02.csv")?,
    );
    let r = regsync(dir.path(), &["check"], &[])?;
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("(1 件のファイル / file(s) to read)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Ignored: Thumbs.db ("), "{}", r.stdout);
    assert!(
        r.stdout.contains("Waiting: hr-2026-04-02.csv ("),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("受理 OK") && l.contains("registrar-2026-04-02.csv")),
        "{}",
        r.stdout
    );

    // A folder `run` would set aside makes `check` exit 3, as a bad file does.
    std::fs::create_dir(inbox.join("old"))?;
    let r = regsync(dir.path(), &["check"], &[])?;
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Not read, `run` sets it aside: old (フォルダです"),
        "{}",
        r.stdout
    );
    Ok(())
}
