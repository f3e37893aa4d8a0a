//! Rendering: every template for a sample notice (snapshots), the variables a template may
//! use, and the messages built from outbox rows.

#![expect(clippy::panic, reason = "tests fail by panicking")]

use chrono::NaiveDate;
use compact_str::CompactString;

use super::transport::{build_message, eml_name};
use super::*;
use crate::domain::account::{Account, Role, StopReason};
use crate::domain::model::StudentNo;
use crate::domain::notice::NoticeKind;
use crate::domain::plan::{Action, ActionKind, Rule};
use crate::store::outbox::DueNotice;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn account(ecs_id: &str, name: &str, role: Role) -> Account {
    Account {
        kumoi: CompactString::new(format!("{ecs_id}@st.kyoto-u.ac.jp")),
        student_nos: vec![StudentNo::new("1029000001")],
        name: CompactString::new(name),
        name_kana: CompactString::new("キョウダイ　タロウ"),
        role,
        ..Account::sample(ecs_id)
    }
}

fn action(
    kind: ActionKind,
    rule: Rule,
    after: Account,
    effective_on: Option<NaiveDate>,
    stop_on: NaiveDate,
    reason: StopReason,
) -> Action {
    Action {
        ecs_id: Some(after.ecs_id.clone()),
        effective_on,
        notice_on: Some(date(2026, 3, 24)),
        stop_on: Some(stop_on),
        stop_reason: Some(reason),
        after: Some(after),
        ..Action::sample(kind, rule)
    }
}

/// One action per notice kind, plus one that sends none (an update) and a departure without
/// an effective date.
fn sample_plan() -> Plan {
    let mut update = action(
        ActionKind::Update,
        Rule::R7,
        account("a0000009", "更新　一郎", Role::Student),
        None,
        date(2026, 4, 1),
        StopReason::Departed,
    );
    update.stop_on = None;
    let actions = vec![
        action(
            ActionKind::Depart,
            Rule::R5,
            account("a0000001", "京大　太郎", Role::Student),
            Some(date(2026, 3, 24)),
            date(2026, 4, 7),
            StopReason::Departed,
        ),
        update,
        action(
            ActionKind::StaffConvert,
            Rule::R9,
            account("a0000002", "髙橋　花子", Role::ConvertingStaff),
            Some(date(2026, 4, 1)),
            date(2026, 6, 30),
            StopReason::StaffConversion,
        ),
        action(
            ActionKind::StaffReminder,
            Rule::R9,
            account("a0000003", "佐藤　次郎", Role::ConvertingStaff),
            None,
            date(2026, 6, 30),
            StopReason::StaffConversion,
        ),
        action(
            ActionKind::ExpiryNotice,
            Rule::R10,
            account("a0000004", "山﨑　三郎", Role::Holder),
            Some(date(2026, 3, 31)),
            date(2026, 4, 1),
            StopReason::HolderExpired,
        ),
        action(
            ActionKind::Depart,
            Rule::R5,
            account("a0000005", "鈴木　四郎", Role::Student),
            None,
            date(2026, 4, 7),
            StopReason::Departed,
        ),
    ];
    Plan {
        format: Plan::FORMAT,
        as_of: date(2026, 3, 24),
        store_digest: "digest".into(),
        next_serial: 10,
        inputs: Vec::new(),
        actions,
        warnings: Vec::new(),
        held: Vec::new(),
    }
}

fn shown(r: &Rendered) -> String {
    format!("Subject: {}\n\n{}", r.subject, r.body)
}

#[test]
fn snapshot_every_template() {
    let plan = sample_plan();
    let notices = crate::domain::notice::notices(&plan);
    assert_eq!(notices.len(), 5);
    for n in &notices {
        let rendered = render(n, &plan).unwrap_or_else(|e| Rendered {
            subject: "ERROR".into(),
            body: e.to_string(),
        });
        let dated = if plan.actions[n.action].effective_on.is_some() {
            ""
        } else {
            "-undated"
        };
        insta::assert_snapshot!(format!("{}{dated}", n.kind.as_str()), shown(&rendered));
    }
}

#[test]
fn every_template_names_the_counter_and_the_stop_date() {
    let plan = sample_plan();
    for n in crate::domain::notice::notices(&plan) {
        let r = render(&n, &plan).unwrap_or_else(|e| Rendered {
            subject: String::new(),
            body: e.to_string(),
        });
        let text = shown(&r);
        assert!(text.contains(COUNTER), "{:?}", n.kind);
        assert!(text.contains(&ja_date(n.effective_on)), "{:?}", n.kind);
        assert!(text.contains(n.to.as_str()), "{:?}", n.kind);
    }
}

/// R12, R13: no template prints a password or a key. The templates can only use the listed
/// variables (checked at load), and none of those is a secret; the rendered text has no
/// password value and no key-like run of letters and digits besides the ECS-ID and address.
#[test]
fn no_template_carries_a_secret() {
    let plan = sample_plan();
    for n in crate::domain::notice::notices(&plan) {
        let Ok(r) = render(&n, &plan) else {
            panic!("render failed for {:?}", n.kind);
        };
        let text = shown(&r)
            .replace(n.to.as_str(), "")
            .replace(n.ecs_id.as_str(), "");
        assert!(!text.contains("パスワード値"), "{:?}", n.kind);
        assert!(!text.contains("有効化キー"), "{:?}", n.kind);
        let longest_run = text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest_run < 8, "{:?}: key-like string in {text}", n.kind);
    }
}

fn load_with(kind: NoticeKind, text: &str) -> Result<Templates, MailError> {
    let dir = tempfile::tempdir()?;
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(&templates)?;
    std::fs::write(templates.join(format!("{}.txt", kind.as_str())), text)?;
    Templates::load(Some(dir.path()))
}

#[test]
fn a_template_may_use_only_the_listed_variables() {
    for bad in ["{{ password }}", "{{ activation_key }}", "{{ after.name }}"] {
        let text = format!("Subject: x\n\n{bad}\n");
        match load_with(NoticeKind::Departure, &text) {
            Err(MailError::Template { message, .. }) => {
                assert!(
                    message.contains("which a notice does not provide"),
                    "{message}"
                );
            }
            other => panic!("{bad}: expected a template error, got {other:?}"),
        }
    }
}

#[test]
fn a_template_without_a_subject_line_is_refused_at_load() {
    for bad in [
        "Hello\n\nbody",
        "Subject: x\nbody",
        "Subject: {{ name }\n\nbody",
    ] {
        assert!(
            matches!(
                load_with(NoticeKind::HolderExpiry, bad),
                Err(MailError::Template { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn a_mapping_template_overrides_the_builtin_one() {
    let Ok(templates) = load_with(
        NoticeKind::StaffReminder,
        "Subject: 再案内 {{ stop_on }}\n\n{{ name }} 様\n{{ counter }}\n",
    ) else {
        panic!("the override should load");
    };
    let plan = sample_plan();
    let Ok(entries) = outbox_entries_with(&templates, &plan) else {
        panic!("render failed");
    };
    let reminder = entries
        .iter()
        .find(|e| e.notice == "staff_reminder")
        .map(|e| (e.subject.clone(), e.body.clone()));
    assert_eq!(
        reminder,
        Some((
            "再案内 2026年6月30日".to_string(),
            "佐藤　次郎 様\n情報環境支援センター（学術情報メディアセンター南館1F）\n".to_string()
        ))
    );
    // The others are still the built-in ones.
    let departure = entries.iter().find(|e| e.notice == "departure");
    assert!(departure.is_some_and(|e| e.subject.starts_with("【重要】")));
}

#[test]
fn outbox_entries_follow_the_notices() {
    let plan = sample_plan();
    let Ok(entries) = outbox_entries(&plan) else {
        panic!("render failed");
    };
    let keys: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.ecs_id.as_str(),
                e.notice.as_str(),
                e.effective_on,
                e.to.as_str(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            (
                "a0000001",
                "departure",
                date(2026, 4, 7),
                "a0000001@st.kyoto-u.ac.jp"
            ),
            (
                "a0000002",
                "staff_conversion",
                date(2026, 6, 30),
                "a0000002@st.kyoto-u.ac.jp"
            ),
            (
                "a0000003",
                "staff_reminder",
                date(2026, 6, 30),
                "a0000003@st.kyoto-u.ac.jp"
            ),
            (
                "a0000004",
                "holder_expiry",
                date(2026, 4, 1),
                "a0000004@st.kyoto-u.ac.jp"
            ),
            (
                "a0000005",
                "departure",
                date(2026, 4, 7),
                "a0000005@st.kyoto-u.ac.jp"
            ),
        ]
    );
}

#[test]
fn a_notice_whose_action_is_missing_is_an_error_not_a_panic() {
    let plan = sample_plan();
    let mut n = crate::domain::notice::notices(&plan)[0].clone();
    n.action = 99;
    assert!(matches!(render(&n, &plan), Err(MailError::Notice { .. })));
}

fn due(id: i64, ecs_id: &str, to: &str) -> DueNotice {
    DueNotice {
        id,
        ecs_id: ecs_id.into(),
        notice: "departure".into(),
        effective_on: date(2026, 4, 7),
        to: to.into(),
        subject: "【重要】ECS-ID（学生アカウント）の利用停止のお知らせ".into(),
        body: "京大　太郎 様\n\n本文です。\n".into(),
        attempts: 0,
    }
}

#[test]
fn messages_are_utf8_plain_text_with_an_encoded_subject_and_a_stable_id() {
    let Ok(from) = DEFAULT_FROM.parse() else {
        panic!("the default sender parses");
    };
    let n = due(123, "a0123456", "kyodai.taro@st.kyoto-u.ac.jp");
    let Ok(m) = build_message(&from, &n, std::time::SystemTime::UNIX_EPOCH) else {
        panic!("message builds");
    };
    let text = String::from_utf8_lossy(&m.formatted()).into_owned();
    assert!(
        text.is_ascii(),
        "headers and body are 7-bit encoded: {text}"
    );
    for expected in [
        "From: =?utf-8?b?",
        "<support@example.ac.jp>\r\n",
        "To: kyodai.taro@st.kyoto-u.ac.jp\r\n",
        "Subject: =?utf-8?b?",
        "Message-ID: <regsync.123.departure.a0123456.20260407@example.ac.jp>\r\n",
        "MIME-Version: 1.0\r\n",
        "Content-Type: text/plain; charset=utf-8\r\n",
        "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn a_bad_address_fails_that_message_only() {
    let Ok(from) = DEFAULT_FROM.parse() else {
        panic!("the default sender parses");
    };
    let n = due(1, "a0000001", "not an address");
    let err = build_message(&from, &n, std::time::SystemTime::UNIX_EPOCH).err();
    assert!(err.is_some_and(|e| e.contains("invalid KUMOI address")));
}

#[test]
fn eml_names_are_deterministic_and_stay_in_the_folder() {
    assert_eq!(
        eml_name(&due(123, "a0123456", "x@y")),
        "000123-departure-a0123456.eml"
    );
    assert_eq!(
        eml_name(&due(7, "../../etc/x", "x@y")),
        "000007-departure-______etc_x.eml"
    );
}
