//! The LDAP directory against a real slapd (`slapd.rs`): a timeline of nights after which the
//! people subtree equals the store and the audit log shows each change written once; a push
//! killed in the middle; the directory down for a night; drift found and fixed; no key or
//! password anywhere; the lock guard; TLS that fails closed; the Active Directory profile's LDIF.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::{
    NIGHT_0402, drop_in, files_under, imported, output, root, text, write, write_settled,
};
use crate::slapd::{PEOPLE, ROOT_DN, ROOT_PW, Slapd, make_certs};

const PW_ENV: &str = "REGSYNC_TEST_LDAP_PASSWORD";

fn env() -> [(&'static str, &'static str); 1] {
    [(PW_ENV, ROOT_PW)]
}

/// `regsync.toml` with the directory at `url`; `extra` is added to `[directory]`.
fn config(url: &str, extra: &str) -> String {
    config_timeout(url, 5, extra)
}

/// [`config`] with `timeout_secs` for connecting and each operation.
fn config_timeout(url: &str, timeout_secs: u32, extra: &str) -> String {
    format!(
        "[policy]\nguard_share = 0.5\nguard_lock_share = 0.5\n\n[mail]\ntransport = \"file\"\n\n[directory]\nurl = \"{url}\"\nbind_dn = \"{ROOT_DN}\"\npassword_env = \"{PW_ENV}\"\nbase = \"{PEOPLE}\"\nconnections = 2\ntimeout_secs = {timeout_secs}\n{extra}"
    )
}

/// A folder with the sample accounts imported and the directory at `server`.
fn setup(server: &Slapd) -> tempfile::TempDir {
    imported(Some(&config(&server.url(), "")), &env())
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    output(dir, args, &env())
}

/// Every account in the store: ECS-ID → (kumoi, state).
fn accounts(dir: &Path) -> BTreeMap<String, (String, String)> {
    let o = run(dir, &["accounts", "export", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let mut out = BTreeMap::new();
    for a in v.as_array().into_iter().flatten() {
        let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
        out.insert(s("ecs_id"), (s("kumoi"), s("state")));
    }
    out
}

/// The people subtree equals the store: one entry per ECS-ID, mail = KUMOI, locked if and only
/// if stopped, pending accounts marked as the profile says.
fn assert_in_step(dir: &Path, server: &Slapd, when: &str) {
    let accounts = accounts(dir);
    let people = server.people();
    assert!(!accounts.is_empty());
    assert_eq!(people.len(), accounts.len(), "{when}: one entry per ECS-ID");
    for (ecs_id, (kumoi, state)) in &accounts {
        let dn = format!("uid={ecs_id},{PEOPLE}").to_lowercase();
        let Some(e) = people.get(&dn) else {
            unreachable!("{when}: no entry for {ecs_id}")
        };
        let one = |k: &str| e.get(k).map(|v| v.join("|")).unwrap_or_default();
        assert_eq!(one("uid"), *ecs_id);
        assert_eq!(one("mail"), *kumoi, "{when}: {ecs_id} mail");
        let locked = one("pwdaccountlockedtime") == "000001010000Z";
        assert_eq!(
            locked,
            state == "stopped",
            "{when}: {ecs_id} is {state}, locked {locked}"
        );
        assert_eq!(
            one("description") == "pending activation",
            state == "pending",
            "{when}: {ecs_id} is {state}"
        );
        assert!(!one("cn").is_empty() && !one("cn;lang-ja").is_empty() && !one("sn").is_empty());
    }
}

/// The DNs written more than once in `writes`.
fn twice(writes: &[(String, String)]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    writes
        .iter()
        .filter(|(_, dn)| !seen.insert(dn.clone()))
        .map(|(_, dn)| dn.clone())
        .collect()
}

#[test]
fn a_timeline_of_nights_keeps_the_directory_equal_to_the_store_writing_each_change_once() {
    let server = Slapd::start();
    let dir = setup(&server);
    let nights: [(&str, &[&str]); 5] = [
        ("2026-04-02", &NIGHT_0402),
        ("2026-04-17", &["samples/registrar-2026-04-17.csv"]),
        ("2026-05-31", &[]),
        ("2026-06-30", &[]),
        ("2027-04-01", &[]),
    ];
    let mut total_modified = 0;
    for (night, files) in nights {
        drop_in(dir.path(), files);
        let before_entries = server.people();
        let before = server.writes().len();
        let o = run(dir.path(), &["run", "--as-of", night]);
        assert_eq!(o.status.code(), Some(0), "{night}: {}", text(&o));
        assert!(text(&o).contains("Directory: added"), "{}", text(&o));
        assert_in_step(dir.path(), &server, night);
        let writes = server.writes()[before..].to_vec();
        assert_eq!(
            twice(&writes),
            Vec::<String>::new(),
            "{night}: nothing written twice"
        );
        // Exactly the entries whose desired state changed were written.
        let after_entries = server.people();
        let changed: BTreeSet<String> = after_entries
            .iter()
            .filter(|(dn, e)| before_entries.get(*dn) != Some(e))
            .map(|(dn, _)| dn.clone())
            .collect();
        let written: BTreeSet<String> = writes.iter().map(|(_, dn)| dn.clone()).collect();
        assert_eq!(
            written, changed,
            "{night}: the writes are the changed entries"
        );
        if night == "2026-04-02" {
            assert!(
                written.len() > 100,
                "the first night adds every entry: {}",
                written.len()
            );
        }
        total_modified += writes.iter().filter(|(op, _)| op == "modify").count();
        if night == "2026-04-17" {
            // The night's report shows each stop's directory change before the run wrote it.
            let report = files_under(&dir.path().join("reports"))
                .unwrap_or_default()
                .into_iter()
                .find(|p| {
                    p.to_string_lossy().contains("2026-04-17") && p.ends_with("directory.csv")
                })
                .and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default();
            assert!(
                report.lines().any(|l| l.starts_with("stop,")
                    && l.contains("pwdAccountLockedTime")
                    && l.ends_with(",000001010000Z")),
                "{report}"
            );
        }
        // The same night again writes nothing.
        let o = run(dir.path(), &["run", "--as-of", night]);
        assert_eq!(o.status.code(), Some(0), "{night} again: {}", text(&o));
        assert_eq!(
            server.writes().len(),
            before + writes.len(),
            "{night} again wrote"
        );
        assert!(
            server.writes().iter().all(|(op, _)| op != "delete"),
            "never a delete"
        );
    }
    assert!(
        total_modified > 10,
        "departures, stops and renewals modify entries"
    );
}

#[test]
fn a_push_killed_in_the_middle_converges_without_writing_anything_twice() {
    let server = Slapd::start();
    let dir = setup(&server);
    drop_in(dir.path(), &NIGHT_0402);
    let o = output(
        dir.path(),
        &["run", "--as-of", "2026-04-02"],
        &[(PW_ENV, ROOT_PW), ("REGSYNC_FAULT", "directory-push-mid")],
    );
    assert_eq!(o.status.code(), None, "killed: {}", text(&o));
    let total = accounts(dir.path()).len();
    let o = run(dir.path(), &["run", "--as-of", "2026-04-02"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let count = |word: &str| -> usize {
        let t = text(&o);
        t.split(&format!("{word} "))
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX)
    };
    // What the killed push wrote is found as desired and marked, not written again.
    let (added, unchanged) = (count("added"), count("unchanged"));
    assert!(unchanged > 0 && added > 0, "{}", text(&o));
    assert_eq!(added + unchanged, total, "{}", text(&o));
    assert_in_step(dir.path(), &server, "after the kill");
    assert_eq!(server.writes().len(), total, "each entry written once");
    assert_eq!(
        twice(&server.writes()),
        Vec::<String>::new(),
        "nothing written twice"
    );
}

/// `o` ended with exit 5 (done, with something left for the next run) and said `words`.
fn exit_5_saying(o: &std::process::Output, words: &str) {
    assert_eq!(o.status.code(), Some(5), "{}", text(o));
    assert!(text(o).contains(words), "{}", text(o));
}

/// After a night that left the directory behind, the next night's run (2026-04-03) exits 0
/// and leaves the directory equal to the store, every entry added exactly once in all.
fn the_next_night_adds_each_entry_once(dir: &Path, server: &Slapd) {
    let o = run(dir, &["run", "--as-of", "2026-04-03"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_in_step(dir, server, "the next night");
    assert_eq!(twice(&server.writes()), Vec::<String>::new());
    assert_eq!(
        server.writes().len(),
        accounts(dir).len(),
        "each entry added once"
    );
}

#[test]
fn the_directory_down_for_a_night_applies_exits_5_and_the_next_night_pushes_each_once() {
    let mut server = Slapd::start();
    let metrics = "\n[metrics]\ntextfile = \"regsync.prom\"\n";
    let dir = imported(Some(&config(&server.url(), metrics)), &env());
    server.stop();
    drop_in(dir.path(), &NIGHT_0402);
    let o = run(dir.path(), &["run", "--as-of", "2026-04-02"]);
    exit_5_saying(&o, "cannot reach the directory");
    // The metrics say what waits for the directory (every account tonight).
    let prom = dir.path().join("regsync.prom");
    let waiting = accounts(dir.path()).len() as f64;
    let m = crate::metrics::parsed(&prom).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(m.get("regsync_directory_pending"), Some(&waiting), "{m:?}");
    assert_eq!(
        m.get("regsync_last_run_directory{result=\"added\"}"),
        Some(&0.0)
    );
    assert_eq!(m.get("regsync_last_run_exit_code"), Some(&5.0));
    assert!(
        !dir.path().join("inbox/registrar-2026-04-02.csv").exists(),
        "applied and archived"
    );
    let departed = accounts(dir.path())
        .get("a0192337")
        .map(|(_, s)| s.clone())
        .unwrap_or_default();
    assert_eq!(departed, "active", "the night was applied");
    server.restart();
    assert!(server.writes().is_empty());
    the_next_night_adds_each_entry_once(dir.path(), &server);
    let m = crate::metrics::parsed(&prom).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(m.get("regsync_directory_pending"), Some(&0.0), "{m:?}");
    assert_eq!(
        m.get("regsync_last_run_directory{result=\"added\"}"),
        Some(&waiting)
    );
}

/// A directory that accepts connections but never answers (its slapd frozen): the night is
/// applied and ends after the directory's timeout, not hung, with exit 5 and the cause named; the
/// lock is free, and once the server answers again the next night pushes each entry once.
#[test]
fn a_directory_that_never_answers_costs_the_night_its_timeout_and_holds_nothing() {
    let server = Slapd::start();
    let dir = imported(Some(&config_timeout(&server.url(), 1, "")), &env());
    drop_in(dir.path(), &NIGHT_0402);
    server.freeze(true);
    let started = std::time::Instant::now();
    // A run that hangs is killed here, and fails below.
    let o = crate::common::cmd(dir.path(), &["run", "--as-of", "2026-04-02"], &env())
        .timeout(std::time::Duration::from_secs(30))
        .output();
    let took = started.elapsed();
    server.freeze(false);
    let o = o.unwrap_or_else(|e| unreachable!("run: {e}"));
    exit_5_saying(&o, "cannot reach the directory");
    assert!(text(&o).contains("timeout"), "{}", text(&o));
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
    assert!(
        !dir.path().join("inbox/registrar-2026-04-02.csv").exists(),
        "applied and archived"
    );
    assert!(server.writes().is_empty());
    the_next_night_adds_each_entry_once(dir.path(), &server);
}

/// The 2026-04-02 night with a run deadline of 2 s and the test-only fault point `fault`
/// making the directory slow: it must end with exit 5 and say the deadline passed. Then the
/// next night, at the normal pace, must add each entry once. Returns how long the slow night
/// took, the entries it wrote and the accounts there are.
fn slow_directory_night(fault: &str) -> (std::time::Duration, usize, usize) {
    let server = Slapd::start();
    let slow = format!("[run]\ndeadline_secs = 2\n\n{}", config(&server.url(), ""));
    let dir = imported(Some(&slow), &env());
    drop_in(dir.path(), &NIGHT_0402);
    let started = std::time::Instant::now();
    let o = output(
        dir.path(),
        &["run", "--as-of", "2026-04-02"],
        &[env()[0], (regsync::fault::ENV, fault)],
    );
    let took = started.elapsed();
    exit_5_saying(&o, "the run's deadline passed");
    let written = server.writes().len();
    write(&dir.path().join("regsync.toml"), config(&server.url(), ""));
    the_next_night_adds_each_entry_once(dir.path(), &server);
    (took, written, accounts(dir.path()).len())
}

/// A directory slow to answer writes (`directory-write-slow`: 100 ms before each, ~10 s for
/// the night's ~200 entries over two connections): the run starts no write after its deadline;
/// the entries written are marked, and the next night writes the rest.
#[test]
fn the_run_deadline_stops_a_slow_push_and_the_next_night_writes_the_rest_once() {
    let (took, written, accounts) = slow_directory_night("directory-write-slow");
    assert!(took < std::time::Duration::from_secs(6), "took {took:?}");
    assert!(written < accounts, "{written} of {accounts} written");
}

/// A directory slow to search (`directory-read-slow`: 3 s before each search of up to 100
/// entries, two per connection tonight, so 6 s to read them all): the push is still reading
/// at the deadline, so it writes nothing (the lock guard must see every change first).
#[test]
fn a_push_still_reading_at_the_run_deadline_writes_nothing() {
    let (took, written, _) = slow_directory_night("directory-read-slow");
    assert!(
        took < std::time::Duration::from_millis(5500),
        "took {took:?}"
    );
    assert_eq!(written, 0);
}

/// A push that reads the whole subtree by one paged search (forced, and slowed, by the
/// test-only fault point `directory-scan-slow`: 30 ms before each entry, ~6 s for the ~200
/// entries of the first night) on a night with changes and a run deadline of 2 s: the scan
/// stops at the deadline and nothing is written; the night after writes the changes.
#[test]
fn a_scan_still_running_at_the_run_deadline_writes_nothing() {
    let server = Slapd::start();
    let dir = setup(&server);
    drop_in(dir.path(), &NIGHT_0402);
    let o = run(dir.path(), &["run", "--as-of", "2026-04-02"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before = server.writes().len();
    let slow = format!("[run]\ndeadline_secs = 2\n\n{}", config(&server.url(), ""));
    write(&dir.path().join("regsync.toml"), slow);
    drop_in(dir.path(), &["samples/registrar-2026-04-17.csv"]);
    let started = std::time::Instant::now();
    let o = output(
        dir.path(),
        &["run", "--as-of", "2026-04-17"],
        &[env()[0], (regsync::fault::ENV, "directory-scan-slow")],
    );
    let took = started.elapsed();
    exit_5_saying(&o, "the run's deadline passed");
    // Scanning on to the end would take 6 s.
    assert!(
        took < std::time::Duration::from_millis(4500),
        "took {took:?}"
    );
    assert_eq!(server.writes().len(), before, "nothing written");
    write(&dir.path().join("regsync.toml"), config(&server.url(), ""));
    let o = run(dir.path(), &["run", "--as-of", "2026-04-18"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(server.writes().len() > before, "the changes written");
    assert_in_step(dir.path(), &server, "the night after");
}

#[test]
fn drift_is_reported_and_fixed_and_an_orphan_is_left_alone() {
    let server = Slapd::start();
    let dir = setup(&server);
    // The pushes here read the subtree by paged search, as a push of many rows does.
    let scan = [(PW_ENV, ROOT_PW), ("REGSYNC_FAULT", "directory-scan")];
    let o = output(dir.path(), &["directory", "push"], &scan);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let accounts = accounts(dir.path());
    let active = accounts
        .iter()
        .find(|(_, (_, s))| s == "active")
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    let stopped = accounts
        .iter()
        .find(|(_, (_, s))| s == "stopped")
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    server.modify(&format!(
        "dn: uid={active},{PEOPLE}\nchangetype: modify\nreplace: mail\nmail: hijacked@example.com\n\n\
         dn: uid={stopped},{PEOPLE}\nchangetype: modify\ndelete: pwdAccountLockedTime\n\n\
         dn: uid=zz000001,{PEOPLE}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: zz000001\ncn: Orphan\nsn: Orphan\n"
    ));
    let o = run(dir.path(), &["directory", "diff"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("drift 2, missing 0, orphans 1"), "{t}");
    for id in [&active, &stopped, &"zz000001".to_string()] {
        assert!(t.to_lowercase().contains(&format!("uid={id}")), "{id}: {t}");
    }
    let csv = std::fs::read_to_string(dir.path().join("directory-diff/directory-diff.csv"))
        .unwrap_or_default();
    assert!(
        csv.contains("hijacked@example.com") && csv.contains("orphan"),
        "{csv}"
    );
    let o = run(dir.path(), &["directory", "diff", "--fix"]);
    assert!(
        text(&o).contains("fix: 2 correction(s) queued"),
        "{}",
        text(&o)
    );
    let before = server.writes().len();
    let o = output(dir.path(), &["directory", "push"], &scan);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("modified 2, unchanged 0"), "{}", text(&o));
    assert_eq!(server.writes().len(), before + 2, "two entries restored");
    let people = server.people();
    let get = |id: &str, k: &str| {
        people
            .get(&format!("uid={id},{PEOPLE}").to_lowercase())
            .and_then(|e| e.get(k))
            .map(|v| v.join("|"))
            .unwrap_or_default()
    };
    assert_eq!(get(&active, "mail"), accounts[&active].0);
    assert_eq!(get(&stopped, "pwdaccountlockedtime"), "000001010000Z");
    assert_eq!(get("zz000001", "cn"), "Orphan", "the orphan stays");
    let o = run(dir.path(), &["directory", "diff"]);
    assert!(
        text(&o).contains("drift 0, missing 0, orphans 1"),
        "{}",
        text(&o)
    );
}

/// A store imported and run for a night without `[directory]` keeps no journal (nothing is
/// queued for a directory that is not there); once the section is added, the first push
/// queues every account and the directory equals the store, and the next writes nothing.
#[test]
fn accounts_applied_before_the_directory_was_configured_are_pushed_by_the_first_push() {
    let server = Slapd::start();
    let without = "[policy]\nguard_share = 0.5\n\n[mail]\ntransport = \"file\"\n";
    let dir = imported(Some(without), &env());
    drop_in(dir.path(), &NIGHT_0402);
    let o = run(dir.path(), &["run", "--as-of", "2026-04-02"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("Directory:"), "{}", text(&o));
    let journal = rusqlite::Connection::open(dir.path().join("regsync.sqlite")).and_then(|c| {
        c.query_row("SELECT count(*) FROM directory_journal", [], |r| {
            r.get::<_, i64>(0)
        })
    });
    assert_eq!(journal.ok(), Some(0), "no journal without a directory");
    write(&dir.path().join("regsync.toml"), config(&server.url(), ""));
    let o = run(dir.path(), &["directory", "push", "--dry-run"]);
    let accounts = accounts(dir.path());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .matches("changetype: add")
            .count(),
        accounts.len(),
        "{}",
        text(&o)
    );
    let o = run(dir.path(), &["directory", "push"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "{} account(s) never queued before",
            accounts.len()
        )),
        "{}",
        text(&o)
    );
    assert_in_step(dir.path(), &server, "the first push");
    let before = server.writes().len();
    let o = run(dir.path(), &["run", "--as-of", "2026-04-03"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        server.writes().len(),
        before,
        "the next night writes nothing"
    );
}

/// The batched read (one search per hundred entries, the default) and the paged scan of the
/// subtree find the same changes as reading entry by entry: on a subtree with a hand-changed
/// mail, a removed lock, a deleted entry and an orphan, and every row queued again, `directory
/// push --dry-run` prints the same LDIF under each.
#[test]
fn batched_and_scanned_reads_find_the_same_changes_as_reading_each_entry() {
    let server = Slapd::start();
    let dir = setup(&server);
    let o = run(dir.path(), &["directory", "push"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let accounts = accounts(dir.path());
    let with = |state: &str| {
        accounts
            .iter()
            .filter(|(_, (_, s))| s == state)
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>()
    };
    let (active, stopped) = (with("active"), with("stopped"));
    assert!(active.len() >= 2 && !stopped.is_empty());
    server.modify(&format!(
        "dn: uid={},{PEOPLE}\nchangetype: modify\nreplace: mail\nmail: hijacked@example.com\n\n\
         dn: uid={},{PEOPLE}\nchangetype: modify\ndelete: pwdAccountLockedTime\n\n\
         dn: uid={},{PEOPLE}\nchangetype: delete\n\n\
         dn: uid=zz000001,{PEOPLE}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: zz000001\ncn: Orphan\nsn: Orphan\n",
        active[0], stopped[0], active[1]
    ));
    let store = rusqlite::Connection::open(dir.path().join("regsync.sqlite"));
    let queued =
        store.and_then(|c| c.execute("UPDATE directory_journal SET status = 'pending'", []));
    assert_eq!(queued.ok(), Some(accounts.len()));
    let ldif = |fault: &str| {
        let o = output(
            dir.path(),
            &["directory", "push", "--dry-run"],
            &[(PW_ENV, ROOT_PW), ("REGSYNC_FAULT", fault)],
        );
        assert_eq!(o.status.code(), Some(0), "{fault}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let each = ldif("directory-read-each");
    assert_eq!(each.matches("changetype: modify").count(), 2, "{each}");
    assert_eq!(each.matches("changetype: add").count(), 1, "{each}");
    assert!(each.contains(&format!("uid={},", active[1])), "{each}");
    assert_eq!(ldif("none"), each, "batched");
    assert_eq!(ldif("directory-scan"), each, "scanned");
}

#[test]
fn no_activation_key_nor_the_bind_password_reaches_the_directory_or_any_output() {
    let server = Slapd::start();
    let dir = setup(&server);
    drop_in(dir.path(), &["samples/registrar-2026-04-02.csv"]);
    let o = run(
        dir.path(),
        &["plan", "--as-of", "2026-04-02", "--out", "dry"],
    );
    let mut outputs = vec![o.stdout, o.stderr];
    let o = run(dir.path(), &["run", "--as-of", "2026-04-02"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    outputs.extend([o.stdout, o.stderr]);
    let o = run(dir.path(), &["directory", "diff"]);
    outputs.extend([o.stdout, o.stderr]);
    // Keys from the letters: the only place they exist.
    let mut keys = Vec::new();
    let mut others = Vec::new();
    for p in files_under(dir.path()).unwrap_or_default() {
        if p.components().any(|c| c.as_os_str() == "letters") {
            let t = std::fs::read_to_string(&p).unwrap_or_default();
            for line in t.lines().skip(1) {
                keys.extend(
                    line.split(',')
                        .filter(|c| c.len() == 14 && c.matches('-').count() == 2)
                        .map(String::from),
                );
            }
        } else {
            others.push(std::fs::read(&p).unwrap_or_default());
        }
    }
    assert!(!keys.is_empty(), "the night made letters");
    assert!(
        dir.path().join("dry/directory.html").exists(),
        "the dry run shows the directory"
    );
    others.extend(outputs);
    others.push(server.audit().into_bytes());
    let people = format!("{:?}", server.people());
    others.push(people.into_bytes());
    for h in &others {
        let h = String::from_utf8_lossy(h);
        assert!(!h.contains(ROOT_PW), "the bind password leaked");
        for k in &keys {
            assert!(
                !h.contains(k.as_str()) && !h.contains(&k.replace('-', "")),
                "key {k} leaked"
            );
        }
    }
    let audit = server.audit().to_lowercase();
    assert!(
        !audit.contains("userpassword") && !audit.contains("$"),
        "no password or key hash written"
    );
}

#[test]
fn a_night_that_would_lock_30_percent_of_the_entries_trips_the_guard_and_writes_nothing() {
    let server = Slapd::start();
    // The default lock limits: 5% of the unlocked entries, 200.
    let dir = imported(
        Some(&config(&server.url(), "").replace("guard_lock_share = 0.5\n", "")),
        &env(),
    );
    let o = run(dir.path(), &["directory", "push"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A truncated export: every third data row dropped, so a third of the students depart.
    let bytes = std::fs::read(root().join("samples/registrar-2026-04-02.csv")).unwrap_or_default();
    let mut cut = Vec::new();
    for (i, l) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        if i < 6 || i % 3 != 0 {
            cut.extend_from_slice(l);
        }
    }
    write_settled(&dir.path().join("inbox/registrar-truncated.csv"), cut);
    let o = run(dir.path(), &["run", "--as-of", "2026-04-02"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "departures give notice, lock nothing: {}",
        text(&o)
    );
    let before = server.writes().len();
    // Two weeks later the stops fall due: a third of the entries would be locked.
    let o = run(dir.path(), &["run", "--as-of", "2026-04-16"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains("directory locks exceed 5% of the"),
        "{}",
        text(&o)
    );
    assert_eq!(server.writes().len(), before, "nothing written");
    let stopped = accounts(dir.path())
        .values()
        .filter(|(_, s)| s == "stopped")
        .count();
    let unlocked = server
        .people()
        .values()
        .filter(|e| !e.contains_key("pwdaccountlockedtime"))
        .count();
    assert!(
        stopped * 100 >= 25 * unlocked,
        "some 30%: {stopped} of {unlocked}"
    );
    let o = run(dir.path(), &["directory", "push", "--allow-locks", "1000"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_in_step(dir.path(), &server, "after the allowed push");
}

#[test]
fn ldaps_to_an_untrusted_certificate_fails_closed_unless_the_ca_file_is_configured() {
    let certs = crate::common::tempdir();
    let (ca, tls) = make_certs(certs.path());
    let server = Slapd::start_with(Some(&tls));
    let dir = setup(&server);
    let o = run(dir.path(), &["directory", "push"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("not trusted") && t.contains("directory.ca_file"),
        "{t}"
    );
    assert!(server.writes().is_empty(), "nothing sent");
    write(
        &dir.path().join("regsync.toml"),
        config(&server.url(), &format!("ca_file = \"{}\"\n", ca.display())),
    );
    let o = run(dir.path(), &["directory", "push"]);
    exit_5_saying(&o, "174 waiting for their retry time");
    let o = run(dir.path(), &["directory", "push", "--retry"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_in_step(dir.path(), &server, "over ldaps");
}

#[test]
fn the_active_directory_profile_sends_user_entries_disabled_when_stopped() {
    let server = Slapd::start();
    let dir = imported(
        Some(&config(&server.url(), "profile = \"directory-ad.toml\"\n")),
        &env(),
    );
    let o = run(dir.path(), &["directory", "push", "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ldif = String::from_utf8_lossy(&o.stdout).to_string();
    let accounts = accounts(dir.path());
    assert_eq!(ldif.matches("changetype: add").count(), accounts.len());
    let (id, _) = accounts
        .iter()
        .find(|(_, (_, s))| s == "stopped")
        .map(|(i, v)| (i.clone(), v.clone()))
        .unwrap_or_default();
    let block = ldif
        .split("\n\n")
        .find(|b| b.starts_with(&format!("dn: cn={id},")))
        .unwrap_or_default();
    for line in [
        "objectClass: user",
        &format!("sAMAccountName: {id}"),
        "userAccountControl: 514",
    ] {
        assert!(block.contains(line), "{line} in {block}");
    }
    assert!(
        !ldif.to_lowercase().contains("unicodepwd")
            && !ldif.to_lowercase().contains("userpassword")
    );
    assert!(server.writes().is_empty(), "a dry run writes nothing");
    // A profile with a password attribute is refused when the configuration is checked.
    write(
        &dir.path().join("maps/directory-ad.toml"),
        std::fs::read_to_string(root().join("mappings/directory-ad.toml"))
            .unwrap_or_default()
            .replace(
                "[affiliation]",
                "unicodePwd = \"{ecs_id}\"\n\n[affiliation]",
            ),
    );
    for f in [
        "registrar.toml",
        "hr.toml",
        "renewals.toml",
        "activations.toml",
    ] {
        let _ = std::fs::copy(
            root().join("mappings").join(f),
            dir.path().join("maps").join(f),
        );
    }
    let _ = copy_dir(
        &root().join("mappings/templates"),
        &dir.path().join("maps/templates"),
    );
    let toml = config(&server.url(), "profile = \"directory-ad.toml\"\n")
        .replace("[policy]", "[paths]\nmappings = \"maps\"\n\n[policy]");
    write(&dir.path().join("regsync.toml"), toml);
    let o = run(dir.path(), &["directory", "push", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("line 21") && text(&o).contains("never writes"),
        "{}",
        text(&o)
    );
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        std::fs::copy(e.path(), to.join(e.file_name()))?;
    }
    Ok(())
}

#[test]
fn a_change_the_server_refuses_is_named_and_holds_back_no_other() {
    let server = Slapd::start();
    let dir = setup(&server);
    let accounts = accounts(dir.path());
    let Some(victim) = accounts.keys().nth(3).cloned() else {
        unreachable!("no accounts")
    };
    // An entry of another class already at the account's DN: no mail, no cn may go on it.
    server.modify(&format!(
        "dn: uid={victim},{PEOPLE}\nchangetype: add\nobjectClass: account\nuid: {victim}\n"
    ));
    let o = run(dir.path(), &["directory", "push"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("refused 1"), "{t}");
    assert!(
        t.contains(&format!("uid={victim},{PEOPLE}")) && t.contains("objectClassViolation"),
        "{t}"
    );
    assert_eq!(
        server.people().len(),
        accounts.len(),
        "every other entry was added"
    );
    // It waits for its retry time; the others are done.
    let o = run(dir.path(), &["directory", "push"]);
    assert!(
        text(&o).contains("pending 1") && text(&o).contains("1 waiting"),
        "{}",
        text(&o)
    );
}
