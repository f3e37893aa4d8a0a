//! `[metrics] textfile`: how the last `run` went, for node_exporter's textfile collector, in the
//! Prometheus text format. The file is written at the end of every run under a temporary name
//! in its folder and renamed over the old one, so the collector never reads half of it. It holds
//! counts only (no names, identifiers or keys), and it is mode 0644 whatever the umask and
//! `[paths] group`, because node_exporter reads it as its own user.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use crate::domain::plan::ActionKind;

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

/// The metrics file's mode: counts only, readable by node_exporter's user.
pub const MODE: u32 = 0o644;

/// What a run did, in numbers; the run's summary says the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Actions of the night's plan, per kind (every kind, zeros included).
    pub actions: Vec<(ActionKind, usize)>,
    /// Files planned.
    pub files_accepted: usize,
    /// Files and entries set aside in `rejected/`.
    pub files_rejected: usize,
    /// Entries left in the inbox unread (still being written, not readable, superseded).
    pub files_ignored: usize,
    /// Files processed before (same SHA-256), archived unread.
    pub files_already_processed: usize,
    pub mail_sent: usize,
    /// Refused for good in this run.
    pub mail_failed: usize,
    pub mail_unknown: usize,
    /// Left in the outbox after the run.
    pub mail_pending: usize,
    /// Review items open after the run.
    pub review_open: usize,
    pub guard_tripped: bool,
    /// The directory push, with `[directory]`.
    pub directory: Option<DirectoryStats>,
}

/// What a run's directory push did, in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryStats {
    pub added: usize,
    pub modified: usize,
    /// Entries already as desired, marked without a write.
    pub unchanged: usize,
    /// Changes the server refused in this run.
    pub refused: usize,
    /// Journal rows still pending after the run.
    pub pending: usize,
}

/// One run: its numbers, how it ended and when.
#[derive(Debug, Clone)]
pub struct RunMetrics<'a> {
    pub stats: &'a RunStats,
    pub exit_code: u8,
    /// The end of the run, in seconds since the Unix epoch.
    pub finished_at: f64,
    pub duration_secs: f64,
}

/// The text of the metrics file.
pub fn render(m: &RunMetrics<'_>) -> String {
    let s = m.stats;
    let mut out = String::with_capacity(4096);
    gauge(
        &mut out,
        "regsync_last_run_timestamp_seconds",
        "End of the last regsync run, Unix time.",
        &[("", m.finished_at)],
    );
    gauge(
        &mut out,
        "regsync_last_run_duration_seconds",
        "How long the last regsync run took.",
        &[("", m.duration_secs)],
    );
    gauge(
        &mut out,
        "regsync_last_run_exit_code",
        "Exit code of the last regsync run (0 done, 1 failed, 3 a file rejected, 4 refused, 5 mail or directory changes pending).",
        &[("", f64::from(m.exit_code))],
    );
    gauge(
        &mut out,
        "regsync_last_run_guard_tripped",
        "1 when the mass-change guard stopped the last run.",
        &[("", f64::from(u8::from(s.guard_tripped)))],
    );
    let actions: Vec<(String, f64)> = s
        .actions
        .iter()
        .map(|(k, n)| (format!("kind=\"{}\"", k.as_str()), *n as f64))
        .collect();
    let actions: Vec<(&str, f64)> = actions.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    gauge(
        &mut out,
        "regsync_last_run_actions",
        "Actions in the last run's plan, by kind.",
        &actions,
    );
    gauge(
        &mut out,
        "regsync_last_run_files",
        "Inbox files of the last run, by outcome.",
        &[
            ("outcome=\"accepted\"", s.files_accepted as f64),
            ("outcome=\"rejected\"", s.files_rejected as f64),
            ("outcome=\"ignored\"", s.files_ignored as f64),
            (
                "outcome=\"already_processed\"",
                s.files_already_processed as f64,
            ),
        ],
    );
    gauge(
        &mut out,
        "regsync_last_run_mail",
        "Notices of the last run's delivery, by result.",
        &[
            ("result=\"sent\"", s.mail_sent as f64),
            ("result=\"failed\"", s.mail_failed as f64),
            ("result=\"unknown\"", s.mail_unknown as f64),
        ],
    );
    gauge(
        &mut out,
        "regsync_mail_pending",
        "Notices waiting in the outbox after the last run.",
        &[("", s.mail_pending as f64)],
    );
    gauge(
        &mut out,
        "regsync_review_items_open",
        "Review items open after the last run.",
        &[("", s.review_open as f64)],
    );
    if let Some(d) = &s.directory {
        gauge(
            &mut out,
            "regsync_last_run_directory",
            "Entries of the last run's directory push, by result.",
            &[
                ("result=\"added\"", d.added as f64),
                ("result=\"modified\"", d.modified as f64),
                ("result=\"unchanged\"", d.unchanged as f64),
                ("result=\"refused\"", d.refused as f64),
            ],
        );
        gauge(
            &mut out,
            "regsync_directory_pending",
            "Directory changes waiting after the last run.",
            &[("", d.pending as f64)],
        );
    }
    out
}

fn gauge(out: &mut String, name: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// Writes `text` to `path` atomically: a temporary file in the same folder (mode [`MODE`],
/// synced), renamed over `path`. The folder must exist (node_exporter's textfile folder).
pub fn write_textfile(path: &Path, text: &str) -> io::Result<()> {
    let tmp = crate::private::temp_path(path);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(MODE)
            .open(&tmp)?;
        // The umask may have narrowed the mode.
        file.set_permissions(std::fs::Permissions::from_mode(MODE))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn written_whole_with_its_mode_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("regsync.prom");
        let stats = RunStats {
            actions: vec![(ActionKind::Depart, 3), (ActionKind::Create, 0)],
            files_accepted: 2,
            mail_pending: 1,
            ..RunStats::default()
        };
        let text = render(&RunMetrics {
            stats: &stats,
            exit_code: 5,
            finished_at: 1_775_000_000.5,
            duration_secs: 1.25,
        });
        write_textfile(&path, "old\n").unwrap();
        write_textfile(&path, &text).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, MODE);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        for line in [
            "regsync_last_run_exit_code 5",
            "regsync_last_run_actions{kind=\"depart\"} 3",
            "regsync_last_run_files{outcome=\"accepted\"} 2",
            "regsync_mail_pending 1",
            "regsync_last_run_duration_seconds 1.25",
            "# TYPE regsync_review_items_open gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        }
        // No folder: an error, nothing created.
        let err = write_textfile(&dir.path().join("no/such.prom"), &text).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn the_directory_is_measured_only_where_there_is_one() {
        let at = |stats: &RunStats| {
            render(&RunMetrics {
                stats,
                exit_code: 5,
                finished_at: 0.0,
                duration_secs: 0.0,
            })
        };
        let without = at(&RunStats::default());
        assert!(
            !without.contains("regsync_last_run_directory")
                && !without.contains("regsync_directory_pending"),
            "{without}"
        );
        let with = at(&RunStats {
            directory: Some(DirectoryStats {
                added: 2,
                refused: 1,
                pending: 7,
                ..DirectoryStats::default()
            }),
            ..RunStats::default()
        });
        for line in [
            "regsync_last_run_directory{result=\"added\"} 2",
            "regsync_last_run_directory{result=\"modified\"} 0",
            "regsync_last_run_directory{result=\"refused\"} 1",
            "regsync_directory_pending 7",
        ] {
            assert!(with.lines().any(|l| l == line), "{line}\n{with}");
        }
    }
}
