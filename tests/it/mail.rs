//! `regsync mail` through the real binary, against a real SMTP server on 127.0.0.1
//! ([`crate::smtp`]) and the file transport: each notice is delivered once, re-runs send
//! nothing, a server that is down leaves the notices pending (exit 5), and `--retry` sends each
//! exactly once when it is back.

use std::path::PathBuf;

use chrono::NaiveDate;
use regsync::domain::account::{Account, Role, StopReason};
use regsync::domain::model::StudentNo;
use regsync::domain::plan::{Action, ActionKind, Plan, Rule};
use regsync::store::outbox::OutboxEntry;
use regsync::store::{IdFormat, Store};
use tempfile::TempDir;

use crate::common::{Result, cmd};
use crate::smtp::{Mode, SmtpServer, dead_port};

pub(crate) fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| "bad date".into())
}

fn account(ecs_id: &str, name: &str, student_no: &str, role: Role) -> Account {
    Account {
        kumoi: format!("{ecs_id}@st.kyoto-u.ac.jp").into(),
        student_nos: vec![StudentNo::new(student_no)],
        name: name.into(),
        name_kana: "キョウダイ　タロウ".into(),
        role,
        ..Account::sample(ecs_id)
    }
}

fn action(kind: ActionKind, rule: Rule, after: &Account, stop_on: NaiveDate) -> Action {
    Action {
        ecs_id: Some(after.ecs_id.clone()),
        stop_on: Some(stop_on),
        stop_reason: Some(StopReason::Departed),
        after: Some(after.clone()),
        ..Action::sample(kind, rule)
    }
}

/// A store with accounts and one notice each in the outbox, rendered from a hand-made plan as
/// `apply` renders them.
pub(crate) struct Env {
    pub dir: TempDir,
    pub config: PathBuf,
    pub entries: Vec<OutboxEntry>,
}

impl Env {
    /// Three accounts: a departure, a staff conversion, a holder's expiry.
    pub fn new() -> Result<Env> {
        let dir = tempfile::tempdir()?;
        let accounts = [
            account("a0000001", "京大　太郎", "1029000001", Role::Student),
            account(
                "a0000002",
                "髙橋　花子",
                "1029000002",
                Role::ConvertingStaff,
            ),
            account("a0000003", "山﨑　三郎", "1029000003", Role::Holder),
        ];
        let mut store = Store::open(&dir.path().join("store.sqlite"))?;
        store.import(&accounts, &IdFormat::default(), None, None)?;
        let mut plan = Plan {
            format: Plan::FORMAT,
            as_of: date(2026, 3, 24)?,
            store_digest: store.digest()?,
            next_serial: 4,
            inputs: Vec::new(),
            actions: vec![
                action(
                    ActionKind::Depart,
                    Rule::R5,
                    &accounts[0],
                    date(2026, 4, 7)?,
                ),
                action(
                    ActionKind::StaffConvert,
                    Rule::R9,
                    &accounts[1],
                    date(2026, 6, 30)?,
                ),
                action(
                    ActionKind::ExpiryNotice,
                    Rule::R10,
                    &accounts[2],
                    date(2026, 4, 1)?,
                ),
            ],
            warnings: Vec::new(),
            held: Vec::new(),
        };
        plan.actions[0].effective_on = Some(date(2026, 3, 24)?);
        Env::enqueue(dir, &mut store, &plan)
    }

    /// `n` students, each with a departure notice.
    pub fn many(n: u32) -> Result<Env> {
        let dir = tempfile::tempdir()?;
        let accounts: Vec<Account> = (1..=n)
            .map(|i| {
                account(
                    &format!("a{i:07}"),
                    "京大　太郎",
                    &format!("10290{i:05}"),
                    Role::Student,
                )
            })
            .collect();
        let mut store = Store::open(&dir.path().join("store.sqlite"))?;
        store.import(&accounts, &IdFormat::default(), None, None)?;
        let stop_on = date(2026, 4, 7)?;
        let plan = Plan {
            format: Plan::FORMAT,
            as_of: date(2026, 3, 24)?,
            store_digest: store.digest()?,
            next_serial: u64::from(n) + 1,
            inputs: Vec::new(),
            actions: accounts
                .iter()
                .map(|a| Action {
                    effective_on: Some(date(2026, 3, 24).unwrap_or_default()),
                    ..action(ActionKind::Depart, Rule::R5, a, stop_on)
                })
                .collect(),
            warnings: Vec::new(),
            held: Vec::new(),
        };
        Env::enqueue(dir, &mut store, &plan)
    }

    fn enqueue(dir: TempDir, store: &mut Store, plan: &Plan) -> Result<Env> {
        let entries = regsync::mail::outbox_entries(plan)?;
        assert_eq!(entries.len(), plan.actions.len());
        let run = store.begin_run(plan.as_of, "test")?;
        assert_eq!(store.enqueue_notices(run, &entries)?, entries.len());
        // Enqueuing the same notices again adds nothing: one per (account, notice, date).
        assert_eq!(store.enqueue_notices(run, &entries)?, 0);
        let config = dir.path().join("regsync.toml");
        Ok(Env {
            dir,
            config,
            entries,
        })
    }

    pub fn smtp_config(&self, port: u16) -> Result {
        self.smtp_config_with(port, "")
    }

    /// The SMTP config, with `extra` lines added to `[mail]` (and sections after it).
    pub fn smtp_config_with(&self, port: u16, extra: &str) -> Result {
        std::fs::write(
            &self.config,
            format!(
                "[paths]\nstore = \"store.sqlite\"\n\n[mail]\ntransport = \"smtp\"\n\
                 host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\ntimeout_secs = 5\n\
                 from = \"情報環境支援センター <support@example.ac.jp>\"\n{extra}"
            ),
        )?;
        Ok(())
    }

    /// `regsync mail ARGS`: its exit code and the first line of its output.
    pub fn mail(&self, args: &[&str]) -> Result<(i32, String)> {
        let (code, out) = self.mail_all(args, &[])?;
        Ok((code, out.lines().next().unwrap_or_default().to_string()))
    }

    /// `regsync mail ARGS` with `env`: its exit code and all its output.
    pub fn mail_all(&self, args: &[&str], env: &[(&str, &str)]) -> Result<(i32, String)> {
        let out = cmd(self.dir.path(), &[], env)
            .arg("--config")
            .arg(&self.config)
            .arg("mail")
            .args(args)
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code().ok_or("killed by a signal")?;
        assert!(code == 0 || code == 5, "exit {code}: {stderr}");
        let stdout = String::from_utf8(out.stdout)?;
        Ok((code, format!("{}{stderr}", stdout.trim_end())))
    }

    pub fn store(&self) -> Result<Store> {
        Ok(Store::open(&self.dir.path().join("store.sqlite"))?)
    }

    /// (status, attempts) of each notice, in enqueue order.
    pub fn statuses(&self) -> Result<Vec<(String, u32)>> {
        let store = self.store()?;
        let mut out = Vec::new();
        for e in &self.entries {
            let (status, attempts, last_error) = store
                .notice_status(&e.ecs_id, &e.notice, e.effective_on)?
                .ok_or("notice missing")?;
            if let Some(err) = &last_error {
                // The stored error never carries the message text.
                assert!(!err.contains(e.body.lines().next().unwrap_or("?")), "{err}");
            }
            out.push((status, attempts));
        }
        Ok(out)
    }
}

/// The recipients the server got, sorted, and whether every message was one of ours.
pub(crate) fn recipients(server: &SmtpServer) -> Vec<String> {
    let mut to: Vec<String> = server.received().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    to
}

const ALL: [&str; 3] = [
    "a0000001@st.kyoto-u.ac.jp",
    "a0000002@st.kyoto-u.ac.jp",
    "a0000003@st.kyoto-u.ac.jp",
];

#[test]
fn each_notice_is_delivered_once_and_a_rerun_sends_nothing() -> Result {
    let env = Env::new()?;
    let server = SmtpServer::start(Mode::Accept)?;
    env.smtp_config(server.port())?;

    assert_eq!(
        env.mail(&[])?,
        (0, "sent 3, failed 0, unknown 0, pending 0".into())
    );
    assert_eq!(recipients(&server), ALL);
    let received = server.received();
    for m in &received {
        assert_eq!(m.from, "support@example.ac.jp");
        assert!(m.data.contains("Subject: =?utf-8?"), "{}", m.data);
        assert!(m.data.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(m.data.contains("Message-ID: <regsync."));
    }
    assert_eq!(
        env.statuses()?,
        vec![("sent".to_string(), 1); 3],
        "every row marked sent after one attempt"
    );

    assert_eq!(
        env.mail(&[])?,
        (0, "sent 0, failed 0, unknown 0, pending 0".into())
    );
    assert_eq!(
        env.mail(&["--retry"])?,
        (0, "sent 0, failed 0, unknown 0, pending 0".into())
    );
    assert_eq!(server.received().len(), 3, "nothing sent twice");
    server.stop();
    Ok(())
}

#[test]
fn smtp_down_leaves_notices_pending_and_retry_sends_each_exactly_once() -> Result {
    let env = Env::new()?;

    // Nothing listening: the first send fails, the run stops there, the rest stay pending; the
    // first waits for its backoff. Nothing failed for good.
    env.smtp_config(dead_port()?)?;
    let (code, out) = env.mail_all(&[], &[])?;
    assert_eq!(code, 5);
    assert!(
        out.starts_with("sent 0, failed 0, unknown 0, pending 3\n")
            && out.contains("delivery stopped, the rest stay pending"),
        "{out}"
    );
    assert_eq!(
        env.statuses()?,
        vec![
            ("pending".to_string(), 1),
            ("pending".to_string(), 0),
            ("pending".to_string(), 0)
        ]
    );
    let store = env.store()?;
    let e = &env.entries[0];
    let (_, _, last_error) = store
        .notice_status(&e.ecs_id, &e.notice, e.effective_on)?
        .ok_or("notice missing")?;
    assert!(last_error.is_some_and(|m| !m.is_empty()));
    drop(store);

    // A server that refuses service (421) counts as down too.
    let refusing = SmtpServer::start(Mode::Refuse)?;
    env.smtp_config(refusing.port())?;
    assert_eq!(
        env.mail(&[])?,
        (5, "sent 0, failed 0, unknown 0, pending 3".into())
    );
    assert!(refusing.received().is_empty());
    refusing.stop();

    // Back up: `--retry` also sends the ones waiting for their backoff, each once.
    let server = SmtpServer::start(Mode::Accept)?;
    env.smtp_config(server.port())?;
    assert_eq!(
        env.mail(&["--retry"])?,
        (0, "sent 3, failed 0, unknown 0, pending 0".into())
    );
    assert_eq!(recipients(&server), ALL);
    assert_eq!(
        env.statuses()?,
        vec![
            ("sent".to_string(), 2),
            ("sent".to_string(), 2),
            ("sent".to_string(), 1)
        ]
    );
    assert_eq!(
        env.mail(&["--retry"])?,
        (0, "sent 0, failed 0, unknown 0, pending 0".into())
    );
    assert_eq!(server.received().len(), 3);
    server.stop();
    Ok(())
}

#[test]
fn a_failed_notice_waits_for_its_backoff_without_retry() -> Result {
    let env = Env::new()?;
    env.smtp_config(dead_port()?)?;
    assert_eq!(env.mail(&[])?.0, 5);
    let server = SmtpServer::start(Mode::Accept)?;
    env.smtp_config(server.port())?;
    // The failed one is not due for 5 minutes; the two pending ones go out.
    assert_eq!(
        env.mail(&[])?,
        (5, "sent 2, failed 0, unknown 0, pending 1".into())
    );
    assert_eq!(
        recipients(&server),
        ["a0000002@st.kyoto-u.ac.jp", "a0000003@st.kyoto-u.ac.jp"]
    );
    server.stop();
    Ok(())
}

#[test]
fn the_file_transport_writes_one_eml_per_notice() -> Result {
    let env = Env::new()?;
    std::fs::write(
        &env.config,
        "[paths]\nstore = \"store.sqlite\"\n\n[mail]\ntransport = \"file\"\ndir = \"out\"\n",
    )?;
    assert_eq!(
        env.mail(&[])?,
        (0, "sent 3, failed 0, unknown 0, pending 0".into())
    );
    let mut names: Vec<String> = std::fs::read_dir(env.dir.path().join("out"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    names.sort();
    assert_eq!(
        names,
        [
            "000001-departure-a0000001.eml",
            "000002-staff_conversion-a0000002.eml",
            "000003-holder_expiry-a0000003.eml"
        ]
    );
    let eml = std::fs::read_to_string(env.dir.path().join("out").join(&names[0]))?;
    assert!(eml.contains("To: a0000001@st.kyoto-u.ac.jp\r\n"), "{eml}");
    assert!(eml.contains("\r\n\r\n"), "headers, a blank line, the body");
    assert_eq!(
        env.mail(&[])?,
        (0, "sent 0, failed 0, unknown 0, pending 0".into())
    );
    Ok(())
}

#[test]
fn mail_without_a_store_refuses_and_creates_nothing() -> Result {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("regsync.toml");
    std::fs::write(&config, "[paths]\nstore = \"store.sqlite\"\n")?;
    let o = cmd(dir.path(), &[], &[])
        .arg("--config")
        .arg(&config)
        .arg("mail")
        .output()?;
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("regsync accounts import FILE"), "{stderr}");
    assert!(!dir.path().join("store.sqlite").exists());
    Ok(())
}

#[test]
fn mail_config_errors_are_caught_before_any_work() -> Result {
    let cases = [
        (
            "transport = \"smtp\"\nhost = \"h\"\nusername = \"u\"\npassword = \"secret\"\n",
            "`mail.password` is not allowed",
        ),
        ("transport = \"smtp\"\n", "`mail.host` is missing"),
        (
            "transport = \"smtp\"\nhost = \"h\"\nusername = \"u\"\n",
            "no password source",
        ),
        (
            "transport = \"smtp\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"A\"\npassword_file = \"b\"\n",
            "both set",
        ),
        (
            "host = \"h\"\n",
            "`mail.host` is set but `mail.transport` is `file`",
        ),
        ("transport = \"pigeon\"\n", "unknown variant `pigeon`"),
        ("from = \"not an address\"\n", "`mail.from`"),
    ];
    for (mail, expected) in cases {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("regsync.toml");
        std::fs::write(&config, format!("[mail]\n{mail}"))?;
        let out = cmd(dir.path(), &[], &[])
            .arg("--config")
            .arg(&config)
            .arg("mail")
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{mail}: {stderr}");
        assert!(stderr.contains(expected), "{mail}: {stderr}");
        assert!(!stderr.contains("secret"), "the password is never echoed");
    }
    Ok(())
}

#[test]
fn a_corrected_date_replaces_the_unsent_notice_and_keeps_the_sent_one() -> Result {
    let env = Env::new()?;
    let mut store = env.store()?;
    let run = store.begin_run(date(2026, 3, 25)?, "test")?;
    let old = env.entries[0].clone();
    let mut corrected = old.clone();
    corrected.effective_on = date(2026, 4, 14)?;
    assert_eq!(store.enqueue_notices(run, &[corrected.clone()])?, 1);
    // The unsent notice for the old date would announce a wrong date: it is gone.
    assert_eq!(
        store.notice_status(&old.ecs_id, &old.notice, old.effective_on)?,
        None
    );
    assert!(
        store
            .notice_status(&corrected.ecs_id, &corrected.notice, corrected.effective_on)?
            .is_some_and(|(status, _, _)| status == "pending")
    );
    drop(store);

    // Once sent, a notice stays in the outbox whatever comes after it.
    std::fs::write(
        &env.config,
        "[paths]\nstore = \"store.sqlite\"\n\n[mail]\ndir = \"out\"\n",
    )?;
    assert_eq!(
        env.mail(&[])?,
        (0, "sent 3, failed 0, unknown 0, pending 0".into())
    );
    let mut store = env.store()?;
    let mut again = corrected.clone();
    again.effective_on = date(2026, 4, 21)?;
    assert_eq!(store.enqueue_notices(run, &[again])?, 1);
    assert!(
        store
            .notice_status(&corrected.ecs_id, &corrected.notice, corrected.effective_on)?
            .is_some_and(|(status, _, _)| status == "sent")
    );
    Ok(())
}
