//! `[metrics] textfile`: the Prometheus text file a night leaves for node_exporter, read with
//! the `prometheus_client` Python package's parser (`.ci/run` installs it), and its numbers
//! compared with the run's summary.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::common::{NIGHT_0402, Result, drop_in, imported, regsync, root, write_settled};

/// The samples of every metric in `file`, as `name{label="v"}` → value, read by
/// `prometheus_client.parser.text_string_to_metric_families`.
pub(crate) fn parsed(file: &Path) -> Result<BTreeMap<String, f64>> {
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
    assert family.type == "gauge", family.name
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        out[s.name + ("{" + labels + "}" if labels else "")] = s.value
print(json.dumps(out))
"#;
    let o = std::process::Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(file)
        .output()
        .map_err(|e| format!("python3 (the metrics test needs it and prometheus_client): {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "the prometheus_client parser refused `{}` (pip install prometheus_client; .ci/run does): {}",
            file.display(),
            String::from_utf8_lossy(&o.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&o.stdout)?)
}

/// The number right before `word` in `text` (`3 rejected` → 3).
fn before(text: &str, word: &str) -> Result<f64> {
    let at = text
        .find(word)
        .ok_or_else(|| format!("no `{word}` in {text}"))?;
    let n = text[..at].trim_end().rsplit(' ').next().unwrap_or_default();
    n.trim_end_matches(',')
        .parse()
        .map_err(|e| format!("`{n}` before `{word}`: {e}").into())
}

/// The number right after `word` in `text` (`sent 0` → 0).
fn after(text: &str, word: &str) -> Result<f64> {
    let at = text
        .find(word)
        .ok_or_else(|| format!("no `{word}` in {text}"))?
        + word.len();
    let n: String = text[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    n.parse()
        .map_err(|e| format!("`{n}` after `{word}`: {e}").into())
}

#[test]
fn a_nights_metrics_parse_and_equal_its_summary() -> Result {
    let config = "[policy]\nguard_share = 0.5\n\n[metrics]\ntextfile = \"textfile/regsync.prom\"\n";
    let dir = imported(Some(config), &[]);
    drop_in(dir.path(), &NIGHT_0402);
    // One bad file: set aside, exit 3.
    let bad = std::fs::read(root().join("samples/broken/bad-date.csv"))?;
    write_settled(&dir.path().join("inbox/bad-date.csv"), bad);
    std::fs::create_dir(dir.path().join("textfile"))?;
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    let summary = r.stdout.trim();

    let file = dir.path().join("textfile/regsync.prom");
    let mode = std::fs::metadata(&file)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let m = parsed(&file)?;
    let get = |k: &str| m.get(k).copied().ok_or_else(|| format!("no {k} in {m:?}"));

    assert_eq!(get("regsync_last_run_exit_code")?, 3.0);
    assert_eq!(get("regsync_last_run_guard_tripped")?, 0.0);
    let at = get("regsync_last_run_timestamp_seconds")?;
    assert!(at >= started.as_secs_f64() && at < started.as_secs_f64() + 600.0);
    assert!(get("regsync_last_run_duration_seconds")? > 0.0);

    // Files: the summary's rejected and already processed; accepted = the plan's inputs.
    assert_eq!(
        get("regsync_last_run_files{outcome=\"rejected\"}")?,
        before(summary, "rejected")?
    );
    assert_eq!(get("regsync_last_run_files{outcome=\"rejected\"}")?, 1.0);
    assert_eq!(
        get("regsync_last_run_files{outcome=\"already_processed\"}")?,
        before(summary, "already processed")?
    );
    assert_eq!(
        get("regsync_last_run_files{outcome=\"accepted\"}")?,
        before(summary, "input file(s)")?
    );
    assert_eq!(get("regsync_last_run_files{outcome=\"accepted\"}")?, 4.0);
    assert_eq!(get("regsync_last_run_files{outcome=\"ignored\"}")?, 0.0);

    // Actions: the summary's total and each kind it names; every other kind is zero.
    let total: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("regsync_last_run_actions{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, before(summary, "action(s)")?);
    let counts = summary
        .split(" action(s) — ")
        .nth(1)
        .and_then(|s| s.split('.').next())
        .ok_or("no counts in the summary")?;
    let mut named = 0.0;
    for part in counts.split(", ") {
        let (kind, n) = part.rsplit_once(' ').ok_or(part.to_string())?;
        let n: f64 = n.parse().map_err(|e| format!("{part}: {e}"))?;
        assert_eq!(
            get(&format!("regsync_last_run_actions{{kind=\"{kind}\"}}"))?,
            n,
            "{kind}"
        );
        named += n;
    }
    assert_eq!(named, total);

    // Mail and review items.
    for (result, word) in [
        ("sent", "Mail: sent"),
        ("failed", "failed"),
        ("unknown", "unknown"),
    ] {
        let want = after(&summary[summary.find("Mail: ").ok_or("no mail")?..], word)?;
        assert_eq!(
            get(&format!("regsync_last_run_mail{{result=\"{result}\"}}"))?,
            want,
            "{result}"
        );
    }
    assert_eq!(get("regsync_mail_pending")?, after(summary, "pending")?);
    assert_eq!(
        get("regsync_review_items_open")?,
        after(summary, "Review:")?
    );
    let listed = regsync(dir.path(), &["review", "list"], &[])?;
    assert!(get("regsync_review_items_open")? > 0.0);
    assert_eq!(
        listed.stdout.lines().filter(|l| l.starts_with('#')).count() as f64,
        get("regsync_review_items_open")?,
        "{}",
        listed.stdout
    );
    Ok(())
}

#[test]
fn a_guarded_night_says_so_and_a_missing_folder_is_a_warning() -> Result {
    let dir = imported(Some("[metrics]\ntextfile = \"m/regsync.prom\"\n"), &[]);
    drop_in(dir.path(), &NIGHT_0402);
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(4), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("cannot write the metrics file"),
        "{}",
        r.stderr
    );
    std::fs::create_dir(dir.path().join("m"))?;
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(4), "{}{}", r.stdout, r.stderr);
    let m = parsed(&dir.path().join("m/regsync.prom"))?;
    assert_eq!(m.get("regsync_last_run_exit_code"), Some(&4.0));
    assert_eq!(m.get("regsync_last_run_guard_tripped"), Some(&1.0));
    assert_eq!(
        m.get("regsync_last_run_actions{kind=\"depart\"}").copied(),
        Some(after(&r.stdout, "depart")?)
    );
    Ok(())
}
