//! The nightly job over a timeline of nights, with a real SMTP server on 127.0.0.1: the exact
//! set of mails each night (recipient, notice), none twice, also across re-runs, a crash in the
//! middle of apply and a mail server that is down; the guard, then an explicit apply; and no
//! activation key anywhere but the letters.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{
    NIGHT_0402, drop_in, files_under, imported, output, root, text, write, write_settled,
};
use crate::smtp::{Mode, SmtpServer, dead_port};

type Mail = (String, String); // (recipient, notice)

fn config(dir: &Path, port: u16) {
    let toml = format!(
        "[policy]\nguard_share = 0.5\n\n[mail]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n"
    );
    write(&dir.join("regsync.toml"), toml);
}

/// The notices a night's plan sends, read from the plan.json the run wrote.
fn planned_mails(dir: &Path, night: &str) -> Vec<Mail> {
    let reports = dir.join("reports");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&reports) else {
        return out;
    };
    let mut folders: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    folders.sort();
    // The last run of that night is the one that applied (an earlier one may have crashed).
    let Some(folder) = folders
        .iter()
        .rfind(|p| p.to_string_lossy().contains(night))
    else {
        return out;
    };
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("plan.json")).unwrap_or_default())
            .unwrap_or_default();
    for a in plan["actions"].as_array().into_iter().flatten() {
        let notice = match a["kind"].as_str() {
            Some("depart") => "departure",
            Some("staff_convert") => "staff_conversion",
            Some("staff_reminder") => "staff_reminder",
            Some("expiry_notice") => "holder_expiry",
            _ => continue,
        };
        out.push((
            a["after"]["kumoi"].as_str().unwrap_or_default().to_string(),
            notice.to_string(),
        ));
    }
    out
}

/// What the server received: recipient and the notice named in the Message-ID.
fn received(server: &SmtpServer) -> Vec<Mail> {
    server
        .received()
        .into_iter()
        .map(|m| {
            let notice = m
                .data
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .and_then(|l| l.split('.').nth(2))
                .unwrap_or_default()
                .to_string();
            (m.to.join(","), notice)
        })
        .collect()
}

fn sorted(v: &[Mail]) -> Vec<Mail> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[test]
fn a_timeline_of_nights_sends_each_notice_exactly_once() {
    let server = match SmtpServer::start(Mode::Accept) {
        Ok(s) => s,
        Err(e) => unreachable!("smtp: {e}"),
    };
    let dir = imported(None, &[]);
    config(dir.path(), server.port());
    let mut seen: Vec<Mail> = Vec::new();
    let nights: [(&str, &[&str]); 5] = [
        ("2026-04-02", &NIGHT_0402),
        ("2026-04-17", &["samples/registrar-2026-04-17.csv"]),
        ("2026-05-31", &[]),
        ("2026-06-30", &[]),
        ("2027-03-01", &[]),
    ];
    for (night, files) in nights {
        drop_in(dir.path(), files);
        let before = server.received().len();
        let o = output(dir.path(), &["run", "--as-of", night], &[]);
        assert_eq!(o.status.code(), Some(0), "{night}: {}", text(&o));
        let got: Vec<Mail> = received(&server)[before..].to_vec();
        let want = planned_mails(dir.path(), night);
        if night == "2026-04-02" {
            assert!(
                want.len() >= 20,
                "the March graduation departs many: {want:?}"
            );
        }
        assert_eq!(
            sorted(&got),
            sorted(&want),
            "{night}: the mails are exactly the plan's notices"
        );
        // The same night again: nothing new, nothing twice.
        let o = output(dir.path(), &["run", "--as-of", night], &[]);
        assert_eq!(o.status.code(), Some(0), "{night} again: {}", text(&o));
        assert_eq!(
            received(&server).len(),
            before + got.len(),
            "{night}: a second run sends nothing"
        );
        seen.extend(got);
    }
    let unique: BTreeSet<&Mail> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no mail twice over the timeline");
    // The nights exercise every notice of R5, R9 and R10.
    for (who, notice) in [
        ("a0189508", "staff_conversion"),
        ("a0189508", "staff_reminder"),
        ("a0192337", "departure"),
        ("a0798393", "holder_expiry"),
    ] {
        let kumoi = kumoi_of(dir.path(), who);
        assert!(
            !kumoi.is_empty() && seen.iter().any(|(to, n)| *to == kumoi && n == notice),
            "{who} {notice} in {seen:?}"
        );
    }
    // A departure superseded by a staff conversion on the same night never went out.
    let kumoi = kumoi_of(dir.path(), "a0189508");
    assert!(!seen.iter().any(|(to, n)| *to == kumoi && n == "departure"));
}

fn kumoi_of(dir: &Path, ecs_id: &str) -> String {
    let o = output(dir, &["accounts", "export", "--format", "json"], &[]);
    let all: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    all.as_array()
        .into_iter()
        .flatten()
        .find(|a| a["ecs_id"] == ecs_id)
        .and_then(|a| a["kumoi"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_crash_in_the_middle_of_apply_leaves_the_store_as_before_and_no_mail_twice() {
    let server = match SmtpServer::start(Mode::Accept) {
        Ok(s) => s,
        Err(e) => unreachable!("smtp: {e}"),
    };
    let dir = imported(None, &[]);
    config(dir.path(), server.port());
    drop_in(
        dir.path(),
        &[
            "samples/registrar-2026-04-02.csv",
            "samples/hr-2026-04-02.csv",
        ],
    );
    let export = || {
        text(&output(
            dir.path(),
            &["accounts", "export", "--format", "json"],
            &[],
        ))
    };
    let before = export();
    let o = output(
        dir.path(),
        &["run", "--as-of", "2026-04-02"],
        &[("REGSYNC_FAULT", "apply-mid")],
    );
    assert!(!o.status.success(), "the run was killed: {}", text(&o));
    assert_eq!(export(), before, "the store holds none of the plan");
    assert!(server.received().is_empty(), "no mail before commit");
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_ne!(export(), before);
    let got = received(&server);
    assert_eq!(
        sorted(&got),
        sorted(&planned_mails(dir.path(), "2026-04-02"))
    );
    let unique: BTreeSet<&Mail> = got.iter().collect();
    assert_eq!(unique.len(), got.len());
}

#[test]
fn smtp_down_applies_exits_5_and_the_next_run_sends_each_once() {
    let dir = imported(None, &[]);
    config(dir.path(), dead_port().unwrap_or(9));
    drop_in(
        dir.path(),
        &[
            "samples/registrar-2026-04-02.csv",
            "samples/hr-2026-04-02.csv",
        ],
    );
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(dir.path().join("archive").exists(), "applied and archived");
    let server = match SmtpServer::start(Mode::Accept) {
        Ok(s) => s,
        Err(e) => unreachable!("smtp: {e}"),
    };
    config(dir.path(), server.port());
    let o = output(dir.path(), &["run", "--as-of", "2026-04-03"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let got = received(&server);
    assert_eq!(
        sorted(&got),
        sorted(&planned_mails(dir.path(), "2026-04-02"))
    );
    let o = output(dir.path(), &["run", "--as-of", "2026-04-04"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(received(&server).len(), got.len(), "each exactly once");
}

#[test]
fn the_guard_trips_on_a_30_percent_drop_and_the_reviewed_plan_applies() {
    let dir = imported(None, &[]);
    write(
        &dir.path().join("regsync.toml"),
        "[mail]\ntransport = \"file\"\n",
    );
    // A truncated export: every third data row dropped from the registrar file.
    let bytes = std::fs::read(root().join("samples/registrar-2026-04-02.csv")).unwrap_or_default();
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    let mut cut = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if i < 6 || i % 3 != 0 {
            cut.extend_from_slice(l);
        }
    }
    write_settled(&dir.path().join("inbox/registrar-truncated.csv"), cut);
    let export = || {
        text(&output(
            dir.path(),
            &["accounts", "export", "--format", "json"],
            &[],
        ))
    };
    let before = export();
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("depart exceed"), "{}", text(&o));
    assert_eq!(export(), before, "nothing applied");
    let plan = std::fs::read_dir(dir.path().join("reports"))
        .ok()
        .and_then(|mut r| r.next())
        .and_then(|e| e.ok())
        .map(|e| e.path().join("plan.json"))
        .unwrap_or_default();
    let o = output(dir.path(), &["apply", &plan.to_string_lossy()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_ne!(export(), before, "the reviewed plan applied");
}

#[test]
fn activation_keys_appear_only_in_the_letters() {
    let server = match SmtpServer::start(Mode::Accept) {
        Ok(s) => s,
        Err(e) => unreachable!("smtp: {e}"),
    };
    let dir = imported(None, &[]);
    config(dir.path(), server.port());
    drop_in(dir.path(), &["samples/registrar-2026-04-02.csv"]);
    let o = output(dir.path(), &["run", "--as-of", "2026-04-02"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut letters = Vec::new();
    let mut others = Vec::new();
    let files = match files_under(dir.path()) {
        Ok(files) => files,
        Err(e) => unreachable!("read: {e}"),
    };
    for p in files {
        if p.components().any(|c| c.as_os_str() == "letters") {
            letters.push(p);
        } else {
            others.push(p);
        }
    }
    assert!(!letters.is_empty());
    let mut keys = Vec::new();
    for l in &letters {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(l)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600, "{}", l.display());
        let text = std::fs::read_to_string(l).unwrap_or_default();
        for line in text.lines().skip(1) {
            if let Some(k) = line
                .split(',')
                .find(|c| c.len() == 14 && c.matches('-').count() == 2)
            {
                keys.push(k.to_string());
            }
        }
    }
    assert!(!keys.is_empty());
    let mut haystacks: Vec<Vec<u8>> = others
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_default())
        .collect();
    haystacks.push(o.stdout.clone());
    haystacks.push(o.stderr.clone());
    haystacks.extend(server.received().into_iter().map(|m| m.data.into_bytes()));
    for k in &keys {
        let bare = k.replace('-', "");
        for h in &haystacks {
            let h = String::from_utf8_lossy(h);
            assert!(
                !h.contains(k.as_str()) && !h.contains(&bare),
                "key {k} leaked"
            );
        }
    }
}
