//! `cron/install.sh` into a staging root, as a package build would run it: every path the
//! systemd units and the crontab name exists afterwards, `systemd-analyze verify` accepts the
//! installed units, the timer fires at 02:30 Japan time on a UTC machine, and the commented
//! configuration it writes is one regsync accepts.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Result, root, tempdir};

/// Runs `systemd-analyze` with `args` (and the environment `env`); the tool must be there
/// (`.ci/run` installs Debian's `systemd` when it is missing).
fn systemd_analyze(args: &[&str], env: &[(&str, &str)]) -> Result<std::process::Output> {
    let mut cmd = Command::new("systemd-analyze");
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().map_err(|e| {
        format!("`systemd-analyze` did not run ({e}); install Debian's `systemd` package").into()
    })
}

/// The absolute paths a unit file's or crontab's lines name: `Key=/path ...` values and
/// `file://` URLs, or every word starting with `/` in a crontab line.
fn named_paths(text: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let value = line.split_once('=').map_or(line, |(_, v)| v);
        for word in value.split_whitespace() {
            let word = word.trim_start_matches("file://").trim_end_matches(';');
            if word.starts_with('/') {
                out.push(PathBuf::from(word));
            }
        }
    }
    out
}

/// Copies this machine's systemd units (`/usr/lib/systemd/system`) into `staged`, as the
/// distribution installs them on a real root.
fn with_distro_units(staged: &Path) -> Result {
    std::fs::create_dir_all(staged.join("usr/lib/systemd"))?;
    let copied = Command::new("cp")
        .arg("-a")
        .arg("/usr/lib/systemd/system")
        .arg(staged.join("usr/lib/systemd"))
        .status()?;
    if copied.success() {
        Ok(())
    } else {
        Err("cannot copy /usr/lib/systemd/system (install Debian's `systemd` package)".into())
    }
}

/// `path` inside the staging root `staged`.
fn within(staged: &Path, path: &Path) -> PathBuf {
    staged.join(path.strip_prefix("/").unwrap_or(path))
}

#[test]
fn install_sh_into_a_staging_root_gives_units_systemd_accepts_and_a_0230_japan_timer() -> Result {
    let tmp = tempdir();
    let staged = tmp.path().join("root");
    let bin = assert_cmd::cargo::cargo_bin("regsync");
    let o = Command::new("bash")
        .arg(root().join("cron/install.sh"))
        .env("DESTDIR", &staged)
        .env("BIN", &bin)
        .output()?;
    let said = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        said.contains("regsync --config /srv/regsync/regsync.toml accounts import"),
        "{said}"
    );

    let units = staged.join("etc/systemd/system");
    let service = std::fs::read_to_string(units.join("regsync.service"))?;
    let timer = std::fs::read_to_string(units.join("regsync.timer"))?;
    let crontab =
        std::fs::read_to_string(staged.join("usr/local/share/doc/regsync/regsync.crontab"))?;
    let mut named = named_paths(&service);
    named.extend(named_paths(&crontab));
    assert!(named.len() >= 8, "{named:?}");
    for path in &named {
        // The log is a file cron appends to; its folder must be there.
        let must = if path.extension().is_some_and(|e| e == "log") {
            path.parent().unwrap_or(path)
        } else {
            path
        };
        assert!(
            within(&staged, must).exists(),
            "`{}` is named but not installed",
            must.display()
        );
    }
    // Debian's cron ignores CRON_TZ: the line is written in UTC, 02:30 in Tokyo.
    assert!(
        !crontab
            .lines()
            .any(|l| l.trim_start().starts_with("CRON_TZ"))
    );
    assert!(
        crontab.lines().any(|l| l.starts_with("30 17 * * * ")),
        "{crontab}"
    );
    let inbox = std::fs::metadata(staged.join("srv/regsync/inbox"))?;
    assert_eq!(
        inbox.permissions().mode() & 0o7777,
        0o2770,
        "setgid, group-writable"
    );
    let reports = std::fs::metadata(staged.join("srv/regsync/reports"))?;
    assert_eq!(reports.permissions().mode() & 0o7777, 0o700);

    // A real root has the distribution's units (sysinit.target, timers.target, ...) beside ours.
    with_distro_units(&staged)?;
    let root_arg = format!("--root={}", staged.display());
    let service_path = units.join("regsync.service");
    let timer_path = units.join("regsync.timer");
    let v = systemd_analyze(
        &[
            "verify",
            &root_arg,
            &service_path.to_string_lossy(),
            &timer_path.to_string_lossy(),
        ],
        &[],
    )?;
    let complaints = String::from_utf8_lossy(&v.stderr).into_owned();
    assert!(
        v.status.success() && complaints.trim().is_empty(),
        "{complaints}"
    );

    // The timer's schedule, on a machine whose clock is UTC, from the start of 2026-04-01 UTC.
    let on_calendar = timer
        .lines()
        .find_map(|l| l.strip_prefix("OnCalendar="))
        .ok_or("the timer has an OnCalendar=")?;
    assert_eq!(on_calendar, "*-*-* 02:30:00 Asia/Tokyo");
    let base = "--base-time=2026-04-01 00:00:00 UTC";
    let c = systemd_analyze(
        &["calendar", "--iterations=1", base, on_calendar],
        &[("TZ", "UTC")],
    )?;
    let shown = String::from_utf8_lossy(&c.stdout).into_owned();
    assert!(
        c.status.success(),
        "{shown}{}",
        String::from_utf8_lossy(&c.stderr)
    );
    assert!(
        shown.contains("Next elapse: Wed 2026-04-01 17:30:00 UTC"),
        "{shown}"
    );
    let c = systemd_analyze(
        &["calendar", "--iterations=1", base, on_calendar],
        &[("TZ", "Asia/Tokyo")],
    )?;
    let shown = String::from_utf8_lossy(&c.stdout).into_owned();
    assert!(
        shown.contains("Next elapse: Thu 2026-04-02 02:30:00 JST"),
        "{shown}"
    );

    // The commented configuration is valid, and its inbox is the installed one.
    let config = staged.join("srv/regsync/regsync.toml");
    let o = Command::new(within(&staged, Path::new("/usr/local/bin/regsync")))
        .arg("--config")
        .arg(&config)
        .arg("check")
        .output()?;
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("srv/regsync/inbox (0 件のファイル / file(s) to read)"),
        "{out}"
    );
    Ok(())
}

#[test]
fn a_verify_that_finds_no_binary_fails() -> Result {
    // The check above is only worth something if `verify` looks inside the root.
    let tmp = tempdir();
    let staged = tmp.path();
    let units = staged.join("etc/systemd/system");
    std::fs::create_dir_all(&units)?;
    std::fs::copy(
        root().join("cron/regsync.service"),
        units.join("regsync.service"),
    )?;
    with_distro_units(staged)?;
    let root_arg = format!("--root={}", staged.display());
    let v = systemd_analyze(
        &[
            "verify",
            &root_arg,
            &units.join("regsync.service").to_string_lossy(),
        ],
        &[],
    )?;
    assert!(!v.status.success());
    assert!(
        String::from_utf8_lossy(&v.stderr).contains("/usr/local/bin/regsync is not executable"),
        "{}",
        String::from_utf8_lossy(&v.stderr)
    );
    Ok(())
}
