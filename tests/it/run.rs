//! `regsync run`, the nightly job, through the real binary: the guard, the lock, re-runs and
//! time zones.

use std::path::Path;

use crate::common::{NIGHT_0402, drop_in, files_under, imported, output, root, tempdir, text};

/// A temp folder with `config`, the sample accounts imported and `files` in the inbox.
fn night(files: &[&str], config: &str) -> tempfile::TempDir {
    let dir = imported(Some(config), &[]);
    drop_in(dir.path(), files);
    dir
}

/// Generous guard limits for the small sample world, where a March graduation is 10%.
const LOOSE: &str = "[policy]\nguard_share = 0.5\n";

fn export(dir: &Path) -> String {
    String::from_utf8_lossy(&output(dir, &["accounts", "export", "--format", "json"], &[]).stdout)
        .into_owned()
}

#[test]
fn the_guard_trips_on_a_mass_departure_and_applies_nothing() {
    // The default limit is 5% of active accounts: the sample March graduation departs ~10%.
    let dir = night(&NIGHT_0402, "");
    let before = export(dir.path());
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let says = text(&o);
    assert!(
        says.contains("depart exceed 5% of the") && says.contains("active accounts"),
        "{says}"
    );
    assert_eq!(export(dir.path()), before, "nothing applied");
    assert!(
        dir.path().join("inbox/registrar-2026-04-02.csv").exists(),
        "inputs stay in the inbox"
    );
    // The summary names the ways on: the report, `apply` of its plan, or `--allow` for one run.
    let allow = says
        .split('`')
        .find_map(|s| {
            s.strip_prefix("regsync run ")
                .filter(|a| a.starts_with("--allow"))
        })
        .map(str::to_string)
        .unwrap_or_default();
    assert!(allow.starts_with("--allow depart="), "{allow}");
    assert!(
        says.contains("report.html") && says.contains("regsync apply"),
        "{says}"
    );
    let guard_txt = std::fs::read_dir(dir.path().join("reports"))
        .ok()
        .and_then(|mut r| r.next())
        .and_then(|e| e.ok())
        .map(|e| e.path().join("guard.txt"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    assert!(guard_txt.contains(&allow), "{guard_txt}");

    // One limit too few still stops; the number the guard named lets the night through.
    let n: usize = allow
        .strip_prefix("--allow depart=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    let flag = "--allow";
    let less = format!("depart={}", n - 1);
    let o = output(
        dir.path(),
        &["run", "--as-of", "2026-04-02", flag, &less],
        &[],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert_eq!(export(dir.path()), before, "nothing applied");
    let exact = format!("depart={n}");
    let o = output(
        dir.path(),
        &["run", "--as-of", "2026-04-02", flag, &exact],
        &[],
    );
    assert!(matches!(o.status.code(), Some(0 | 5)), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "guard limit raised for this run: depart up to {n}"
        )),
        "{}",
        text(&o)
    );
    assert_ne!(export(dir.path()), before, "applied");
}

/// `--allow` holds for one run, so when a run that let one kind through trips on another,
/// the command it suggests names both: following it lets the night through.
#[test]
fn the_suggested_allow_names_every_kind_over_its_limit_even_those_let_through() {
    let dir = night(
        &NIGHT_0402,
        "[policy]\nguard_share = 0.01\nguard_create_share = 0.01\n",
    );
    let suggested = |o: &std::process::Output| {
        text(o)
            .split('`')
            .find_map(|s| {
                s.strip_prefix("regsync run ")
                    .filter(|a| a.starts_with("--allow"))
            })
            .map(|a| a.split(' ').map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let all = suggested(&o);
    let flags: Vec<&String> = all.iter().filter(|a| *a != "--allow").collect();
    assert!(flags.len() >= 2, "two kinds over their limits: {all:?}");
    // Let the first kind through, and the second one short by one: the suggestion still
    // names both, in full.
    let short = flags[1]
        .rsplit_once('=')
        .and_then(|(k, n)| n.parse::<usize>().ok().map(|n| format!("{k}={}", n - 1)))
        .unwrap_or_default();
    let o = output(
        dir.path(),
        &[
            "run",
            "--as-of",
            "2026-04-02",
            "--allow",
            flags[0],
            "--allow",
            &short,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert_eq!(suggested(&o), all, "{}", text(&o));
    let mut args = vec!["run", "--as-of", "2026-04-02"];
    args.extend(all.iter().map(String::as_str));
    let o = output(dir.path(), &args, &[]);
    assert!(matches!(o.status.code(), Some(0 | 5)), "{}", text(&o));
}

#[test]
fn a_store_never_set_up_is_refused_and_an_empty_one_stops_at_the_create_guard() {
    // A wrong working folder: no store, an export in the inbox. Nothing is created.
    let dir = tempdir();
    drop_in(dir.path(), &["samples/registrar-2026-04-02.csv"]);
    for args in [
        &["run", "--as-of", "2026-04-02"][..],
        &["plan", "--as-of", "2026-04-02"],
        &["apply", "plan/plan.json"],
        &["mail"],
    ] {
        let o = output(dir.path(), args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let says = text(&o);
        assert!(
            says.contains("regsync accounts import FILE") && says.contains("regsync init --empty"),
            "{says}"
        );
        assert!(
            !dir.path().join("regsync.sqlite").exists(),
            "{args:?} created a store"
        );
    }
    // `init` wants `--empty` said.
    let o = output(dir.path(), &["init"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!dir.path().join("regsync.sqlite").exists());

    // Set up empty on purpose: every row would be a new ECS-ID, and the guard stops the night.
    let o = output(dir.path(), &["init", "--empty"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = output(dir.path(), &["init", "--empty"], &[]);
    assert_eq!(o.status.code(), Some(2), "set up twice: {}", text(&o));
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let says = text(&o);
    assert!(
        says.contains("create exceed 30% of the 0 active accounts (0)"),
        "{says}"
    );
    assert!(says.contains("--allow create="), "{says}");
    assert!(
        files_under(&dir.path().join("reports"))
            .unwrap_or_default()
            .iter()
            .all(|p| !p.to_string_lossy().contains("letters")),
        "no letters written"
    );
    let exported = text(&output(dir.path(), &["accounts", "export"], &[]));
    assert_eq!(exported.lines().count(), 1, "only the header: {exported}");
    // The report says it too, with the ways on.
    let html = files_under(&dir.path().join("reports"))
        .unwrap_or_default()
        .iter()
        .find(|p| p.ends_with("report.html"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    assert!(
        html.contains("mass-change guard, nothing applied")
            && html.contains("create exceed 30% of the 0 active accounts (0)")
            && html.contains("--allow create="),
        "{html}"
    );
}

#[test]
fn a_second_run_on_the_same_night_changes_nothing() {
    let dir = night(&NIGHT_0402, LOOSE);
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let after_first = export(dir.path());
    // The same files dropped again are recognised and archived unread.
    drop_in(dir.path(), &NIGHT_0402);
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("4 already processed"), "{}", text(&o));
    assert!(text(&o).contains("0 action(s)"), "{}", text(&o));
    assert_eq!(export(dir.path()), after_first);
}

#[test]
fn scheduled_stops_fire_on_a_night_without_files() {
    let dir = night(&NIGHT_0402, LOOSE);
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The 18 departures of 04-02, and the holder whose late expiry notice went out that night
    // (R10: 14 days' notice).
    let o = output(dir.path(), &["run", "--as-of", "2026-04-16"], &[]);
    assert!(text(&o).contains("stop 19"), "{}", text(&o));
}

#[test]
fn a_rejected_file_is_set_aside_with_its_error_report() {
    let dir = night(&["samples/broken/bad-date.csv"], LOOSE);
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let report = std::fs::read_to_string(dir.path().join("rejected/bad-date.csv.errors.txt"))
        .unwrap_or_default();
    assert!(report.contains("bad-date.csv:6:6(生年月日)"), "{report}");
    assert!(!dir.path().join("inbox/bad-date.csv").exists());
}

#[test]
fn two_runs_started_together_one_runs_and_the_other_leaves_at_once() {
    let dir = night(&[], LOOSE);
    let spawn = || {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("regsync"));
        c.current_dir(dir.path())
            .args(["run", "--as-of", "2026-04-02"])
            .env("REGSYNC_FAULT", "hold-lock");
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn()
    };
    let (Ok(a), Ok(b)) = (spawn(), spawn()) else {
        unreachable!("spawn")
    };
    let started = std::time::Instant::now();
    let (Ok(a), Ok(b)) = (a.wait_with_output(), b.wait_with_output()) else {
        unreachable!("wait")
    };
    let mut codes = vec![a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(codes, vec![Some(0), Some(4)], "{}\n{}", text(&a), text(&b));
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn the_server_time_zone_does_not_change_the_plan() {
    let dir = night(&NIGHT_0402, LOOSE);
    let plan_in = |tz: &str, out: &str| {
        let mut args = vec!["plan", "--as-of", "2026-04-02", "--out", out];
        let files: Vec<String> = NIGHT_0402
            .iter()
            .map(|f| root().join(f).to_string_lossy().into_owned())
            .collect();
        args.extend(files.iter().map(String::as_str));
        let o = output(dir.path(), &args, &[("TZ", tz)]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        std::fs::read(dir.path().join(out).join("plan.json")).unwrap_or_default()
    };
    let utc = plan_in("UTC", "utc");
    assert!(!utc.is_empty());
    assert_eq!(utc, plan_in("America/Los_Angeles", "la"));
    assert_eq!(utc, plan_in("Asia/Tokyo", "tokyo"));
}

#[test]
fn a_config_syntax_error_on_a_password_line_never_shows_the_password() {
    let dir = crate::common::tempdir();
    crate::common::write(
        &dir.path().join("regsync.toml"),
        "[mail]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\npassword = \"hunter2\" oops\n",
    );
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!text(&o).contains("hunter2"), "{}", text(&o));
    assert!(text(&o).contains("line 4, column 22"), "{}", text(&o));
    assert!(
        !dir.path().join("regsync.sqlite").exists(),
        "nothing is done"
    );
}

#[test]
fn plan_names_a_file_the_store_processed_already_and_does_not_plan_it_again() {
    let dir = night(&NIGHT_0402, LOOSE);
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert!(matches!(o.status.code(), Some(0 | 5)), "{}", text(&o));
    let again = root().join("samples/registrar-2026-04-02.csv");
    let o = output(
        dir.path(),
        &["plan", "--as-of", "2026-04-02", &again.to_string_lossy()],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let says = text(&o);
    assert!(
        says.contains("already processed, not planned again")
            && says.contains("registrar-2026-04-02.csv"),
        "{says}"
    );
    assert!(says.contains("on 0 input file(s)"), "{says}");
}

/// Two full registrar snapshots in one night: the 2026-04-02 export, where 竹内　凛 (a0389418)
/// graduated, and an older one where she is still 在学. `newer_graduated` says which one has the
/// later modification time.
/// Two full snapshots of the 2026-04-02 night, one where a student graduated and one where she
/// is enrolled; the graduated one is the newer by modification time when `newer_graduated`.
/// With `dated`, their title rows say they were exported on these dates (graduated, enrolled).
fn two_snapshots(
    newer_graduated: bool,
    dated: Option<(&str, &str)>,
) -> (tempfile::TempDir, String) {
    let dir = imported(Some(LOOSE), &[]);
    let graduated =
        std::fs::read(root().join("samples/registrar-2026-04-02.csv")).unwrap_or_default();
    let (decoded, _, _) = encoding_rs::SHIFT_JIS.decode(&graduated);
    let row =
        "01220015,0001210617,a0389418,竹内　凛,タケウチ　リン,２００４／３／１４,文学部,学部生,";
    let enrolled = decoded.replace(
        &format!("{row}卒業,2022/4/1,2026/3/31,,,"),
        &format!("{row}在学,2022/4/1,,,,"),
    );
    assert_ne!(enrolled, decoded, "the sample row changed");
    let (graduated, enrolled) = match dated {
        Some((g, e)) => (
            decoded.replace("出力日: 2026/04/02", &format!("出力日: {g}")),
            enrolled.replace("出力日: 2026/04/02", &format!("出力日: {e}")),
        ),
        None => (decoded.to_string(), enrolled),
    };
    let (graduated, _, _) = encoding_rs::SHIFT_JIS.encode(&graduated);
    let (enrolled, _, _) = encoding_rs::SHIFT_JIS.encode(&enrolled);
    let inbox = dir.path().join("inbox");
    let _ = std::fs::create_dir_all(&inbox);
    let hours_ago = |h| std::time::SystemTime::now() - std::time::Duration::from_secs(3600 * h);
    let put = |name: &str, bytes: &[u8], hours: u64| {
        let path = inbox.join(name);
        let _ = std::fs::write(&path, bytes);
        let _ = std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(hours_ago(hours)));
    };
    let (g, e) = if newer_graduated { (1, 2) } else { (2, 1) };
    put("registrar-a.csv", &graduated, g);
    put("registrar-b.csv", &enrolled, e);
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert!(matches!(o.status.code(), Some(0 | 5)), "{}", text(&o));
    (dir, text(&o))
}

#[test]
fn of_two_full_snapshots_in_one_night_the_newest_wins_and_the_older_is_archived() {
    let (dir, said) = two_snapshots(true, None);
    assert!(
        said.contains("registrar-a.csv is the newest by modification time among the snapshots exported on 2026-04-02")
            && said.contains("superseded, archived unread into the plan: registrar-b.csv"),
        "{said}"
    );
    let shown = text(&output(dir.path(), &["show", "a0389418"], &[]));
    assert_eq!(shown.matches(" depart ").count(), 1, "{shown}");
    // Both files are archived; nothing is left in the inbox; the report names the older file.
    let archived = files_under(&dir.path().join("archive")).unwrap_or_default();
    assert_eq!(archived.len(), 2, "{archived:?}");
    assert!(
        files_under(&dir.path().join("inbox"))
            .unwrap_or_default()
            .is_empty()
    );
    let reports = files_under(&dir.path().join("reports")).unwrap_or_default();
    let html = reports
        .iter()
        .find(|p| p.ends_with("report.html"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    assert!(html.contains("registrar-b.csv") && html.contains("superseded"));

    // Reversed modification times: the snapshot where she is enrolled wins.
    let (dir, said) = two_snapshots(false, None);
    assert!(said.contains("registrar-b.csv is the newest"), "{said}");
    let shown = text(&output(dir.path(), &["show", "a0389418"], &[]));
    assert!(!shown.contains(" depart "), "{shown}");

    // The export dates in the title rows outrank modification times: the graduated snapshot,
    // exported a day later but copied in first, wins.
    let (dir, said) = two_snapshots(false, Some(("2026/04/02", "2026/04/01")));
    assert!(
        said.contains(
            "registrar-a.csv is the newest by the export date in its title row (2026-04-02)"
        ),
        "{said}"
    );
    let shown = text(&output(dir.path(), &["show", "a0389418"], &[]));
    assert_eq!(shown.matches(" depart ").count(), 1, "{shown}");
}

/// Two partial registrar exports (profile `snapshot = "changes"`) of one night, one where
/// 石川　恵 (a0105846) withdrew and one where she is enrolled; the withdrawal is the newer by
/// modification time when `newer_withdrew`.
fn two_partial_exports(newer_withdrew: bool) -> String {
    let dir = tempdir();
    let maps = dir.path().join("maps");
    let _ = std::fs::create_dir_all(&maps);
    for f in ["registrar", "hr", "renewals", "activations"] {
        let text = std::fs::read_to_string(root().join(format!("mappings/{f}.toml")))
            .unwrap_or_default()
            .replace("snapshot = \"full\"", "snapshot = \"changes\"");
        crate::common::write(&maps.join(format!("{f}.toml")), text);
    }
    crate::common::write(
        &dir.path().join("regsync.toml"),
        "[paths]\nmappings = \"maps\"\n[policy]\nguard_share = 0.5\n",
    );
    let accounts = root().join("samples/accounts.csv");
    let o = output(
        dir.path(),
        &["accounts", "import", &accounts.to_string_lossy()],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let header = "学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\n";
    let row = "01250012,0001205162,a0105846,石川　恵,イシカワ　メグミ,2007-01-16,文学部,学部生,";
    let withdrew = format!("{header}{row}退学,2025-04-01,2026-03-31\n");
    let enrolled = format!("{header}{row}在学,2025-04-01,\n");
    let hours_ago = |h| std::time::SystemTime::now() - std::time::Duration::from_secs(3600 * h);
    let (w, e): (u64, u64) = if newer_withdrew { (1, 2) } else { (2, 1) };
    for (name, text, hours) in [
        ("changes-a.csv", withdrew, w),
        ("changes-b.csv", enrolled, e),
    ] {
        let path = dir.path().join("inbox").join(name);
        crate::common::write(&path, text);
        let _ = std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(hours_ago(hours)));
    }
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert!(matches!(o.status.code(), Some(0 | 5)), "{}", text(&o));
    text(&o)
}

#[test]
fn partial_exports_merge_and_the_newest_row_per_person_wins() {
    let said = two_partial_exports(true);
    assert!(
        said.contains("depart 1"),
        "the newer withdrawal wins: {said}"
    );
    assert!(
        said.contains("1 row(s) of older exports superseded by a newer export's row"),
        "{said}"
    );
    let said = two_partial_exports(false);
    assert!(!said.contains("depart"), "the newer enrolment wins: {said}");
    assert!(
        !said.contains("review 1"),
        "no disagreement to review: {said}"
    );
}
