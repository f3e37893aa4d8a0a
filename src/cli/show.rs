//! `regsync show ID`: one person's account: its current state and dates, what is scheduled to
//! fall due, the notices in the outbox, open and resolved review items, and the full history
//! with the fields each action changed. ID is an ECS-ID, any student number the person ever
//! had, or a 個人番号. Read-only; activation key hashes are never printed.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Context as _;
use chrono::NaiveDate;
use serde_json::Value;

use crate::cli::Exit;
use crate::config::Settings;
use crate::domain::account::{Account, Role, State, StopReason};
use crate::domain::plan::ActionKind;
use crate::domain::policy::Policy;
use crate::domain::rules::staff_reminder_on;
use crate::domain::schedule::{add_days, holder_expiry};
use crate::domain::text::fold_id;
use crate::store::Store;
use crate::store::lookup::MatchedBy;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An ECS-ID (`a0117214`), a student number (current or past) or a 個人番号
    #[arg(value_name = "ID")]
    pub id: String,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let id = fold_id(&args.id);
    let Some(store) = Store::open_read_only(&settings.store_path)? else {
        eprintln!(
            "error: `{id}` was not found: there is no store at `{}` yet\n見つかりません（ストアがまだありません）",
            settings.store_path.display()
        );
        return Ok(Exit::Failed);
    };
    let found = store.find_accounts(&id)?;
    if found.is_empty() {
        let queued = store.open_reviews_naming(&id)?;
        if !queued.is_empty() {
            // Not an account yet: a row that waits for a person's decision.
            let mut text = format!(
                "「{id}」はアカウントにはなく、要確認の項目にあります / `{id}` is on no account; it is in the review queue:\n"
            );
            for item in &queued {
                let _ = writeln!(
                    text,
                    "  #{}  {}  (regsync review list; regsync review resolve {} ...)",
                    item.id, item.reason, item.id
                );
            }
            std::io::stdout().lock().write_all(text.as_bytes())?;
            return Ok(Exit::Done);
        }
        eprintln!(
            "error: `{id}` is not an ECS-ID, student number or 個人番号 in the store\n\
             「{id}」に該当するアカウントはありません（ECS-ID・学籍番号・個人番号で検索）"
        );
        return Ok(Exit::Failed);
    }
    let mut text = String::new();
    if found.len() > 1 {
        let _ = writeln!(
            text,
            "「{id}」は {} 件のアカウントに該当します / `{id}` names {} accounts:\n",
            found.len(),
            found.len()
        );
    }
    for (i, (ecs_id, by)) in found.iter().enumerate() {
        if i > 0 {
            text.push_str("\n────────\n\n");
        }
        render(&store, ecs_id, &id, *by, &settings.policy, &mut text)
            .with_context(|| format!("reading account `{ecs_id}`"))?;
    }
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(Exit::Done)
}

fn render(
    store: &Store,
    ecs_id: &str,
    id: &str,
    by: MatchedBy,
    policy: &Policy,
    s: &mut String,
) -> anyhow::Result<()> {
    let Some(a) = store.account(ecs_id)? else {
        anyhow::bail!("account `{ecs_id}` vanished while reading");
    };
    let _ = writeln!(s, "{}  {}（{}）", a.ecs_id.as_str(), a.name, a.name_kana);
    let how = match by {
        MatchedBy::EcsId => "ECS-ID",
        MatchedBy::StudentNo => "学籍番号 student_no",
        MatchedBy::PersonId => "個人番号 person_id",
    };
    field(s, "検索 found by", &format!("{how} `{id}`"));
    let (st, role) = (a.state, a.role);
    field(s, "状態 state", &ja_en(st.label_ja(), st.as_str()));
    field(s, "区分 role", &ja_en(role.show_label_ja(), role.as_str()));
    field(s, "KUMOI", &a.kumoi);
    let nos: Vec<&str> = a.student_nos.iter().map(|n| n.as_str()).collect();
    field(
        s,
        "学籍番号 student_no",
        &if nos.is_empty() {
            "—".to_string()
        } else {
            nos.join(" → ")
        },
    );
    field(
        s,
        "個人番号 person_id",
        a.person_id.as_ref().map_or("—", |p| p.as_str()),
    );
    field(s, "所属 faculty", &a.faculty.replace('\n', " "));
    field(
        s,
        "身分 status",
        &a.status
            .map_or("—".into(), |st| ja_en(st.label_ja(), st.as_str())),
    );
    field(s, "生年月日 birth_date", &opt_date(a.birth_date));
    let mut deadline = opt_date(a.activation_deadline);
    if a.activation_expired {
        deadline.push_str(" — 期限切れ expired (R4)");
    }
    field(s, "有効化期限 activation", &deadline);
    let key = if store.has_activation_key(ecs_id)? {
        "発行済み issued (only its hash is stored)"
    } else {
        "—"
    };
    field(s, "有効化キー key", key);
    field(s, "停止予定 stop_on", &stop_text(a.stop_on, a.stop_reason));
    field(s, "学籍喪失日 departed_on", &opt_date(a.departed_on));
    let reminder = match a.reminder_on {
        Some(d) if a.reminder_sent => format!("{d} (送信済み sent)"),
        Some(d) => format!("{d} (未送信 not sent)"),
        None => "—".into(),
    };
    field(s, "リマインダー reminder", &reminder);
    field(s, "利用期限 holder_until", &opt_date(a.holder_until));

    s.push_str("\n予定 scheduled:\n");
    let due = scheduled(&a, policy);
    if due.is_empty() {
        s.push_str("  なし none\n");
    }
    for (date, _, what) in due {
        let _ = writeln!(s, "  {date}  {what}");
    }

    s.push_str("\n通知 notices (outbox):\n");
    let notices = store.notices_for(ecs_id)?;
    if notices.is_empty() {
        s.push_str("  なし none\n");
    }
    for n in notices {
        let sent = n.sent_at.as_deref().unwrap_or("—");
        let _ = write!(
            s,
            "  {}  effective {}  {}  sent {sent}  attempts {}",
            n.notice, n.effective_on, n.status, n.attempts
        );
        if let Some(e) = n.last_error.filter(|_| n.status != "sent") {
            let _ = write!(s, "  last error: {e}");
        }
        s.push('\n');
    }

    let reviews = store.reviews_for(ecs_id)?;
    if !reviews.is_empty() {
        s.push_str("\n要確認 review items:\n");
        for r in reviews {
            let _ = write!(s, "  #{}  {}  {}", r.id, r.reason, r.status);
            if let (Some(note), Some(at)) = (&r.resolution, &r.resolved_at) {
                let _ = write!(s, "  {at}: {note}");
            }
            s.push('\n');
        }
    }

    s.push_str("\n履歴 history:\n");
    for h in store.history(ecs_id)? {
        let run = match (&h.run_id, &h.run_command, &h.run_as_of) {
            (Some(id), Some(cmd), Some(as_of)) => format!("run {id} ({cmd}, as of {as_of})"),
            (Some(id), _, _) => format!("run {id}"),
            _ => "—".into(),
        };
        let rule = h.rule.as_deref().unwrap_or("—");
        let _ = writeln!(s, "  {}  {:<18} {:<4} {run}", h.at, h.action, rule);
        for line in diff(h.before_json.as_deref(), h.after_json.as_deref()) {
            let _ = writeln!(s, "      {line}");
        }
    }
    Ok(())
}

fn field(s: &mut String, label: &str, value: &str) {
    // Kanji and kana take two columns in a terminal.
    let width: usize = label
        .chars()
        .map(|c| if c >= '\u{1100}' { 2 } else { 1 })
        .sum();
    let pad = 26usize.saturating_sub(width);
    let _ = writeln!(s, "  {label}:{:pad$} {value}", "");
}

/// A value as show prints it: the Japanese label, then the stored name: `有効 (active)`.
fn ja_en(ja: &str, en: &str) -> String {
    format!("{ja} ({en})")
}

fn opt_date(d: Option<NaiveDate>) -> String {
    d.map_or("—".to_string(), |d| d.to_string())
}

fn stop_text(on: Option<NaiveDate>, reason: Option<StopReason>) -> String {
    match (on, reason) {
        (Some(d), Some(r)) => {
            format!("{d} — {}", ja_en(r.label_ja(), r.as_str()))
        }
        (Some(d), None) => d.to_string(),
        (None, _) => "—".into(),
    }
}

/// What will fall due for the account, by date, as the rules schedule it (the nightly run
/// decides; this only reads the account's dates, through the rules' own date functions):
/// (day, action, what it is).
fn scheduled(a: &Account, policy: &Policy) -> Vec<(NaiveDate, ActionKind, String)> {
    let mut due = Vec::new();
    if a.state == State::Stopped {
        return due;
    }
    if a.state == State::Pending
        && !a.activation_expired
        && let Some(d) = a.activation_deadline
    {
        let what = action_words(ActionKind::ActivationExpired);
        due.push((
            add_days(d, 1),
            ActionKind::ActivationExpired,
            format!("{what}, unless activated by the deadline (R4)"),
        ));
    }
    if let (Some(d), false) = (staff_reminder_on(a, policy), a.reminder_sent) {
        let what = action_words(ActionKind::StaffReminder);
        due.push((d, ActionKind::StaffReminder, format!("{what} (R9)")));
    }
    if let Some(d) = a.stop_on {
        let why = a.stop_reason.map_or(String::new(), |r| {
            format!(" — {}", ja_en(r.label_ja(), r.as_str()))
        });
        let what = action_words(ActionKind::Stop);
        due.push((d, ActionKind::Stop, format!("{what}{why}")));
    }
    if a.role == Role::Holder
        && let Some(until) = a.holder_until
    {
        let (notice_on, stop_on) = holder_expiry(until, policy.holder_notice_months);
        if a.expiry_notice_for != Some(until) {
            let what = action_words(ActionKind::ExpiryNotice);
            due.push((notice_on, ActionKind::ExpiryNotice, format!("{what} (R10)")));
        }
        if a.stop_on.is_none() {
            let stop = action_words(ActionKind::Stop);
            let why = StopReason::HolderExpired;
            let why = ja_en(why.label_ja(), why.as_str());
            let what = format!("{stop} — {why}, unless renewed (R10)");
            due.push((stop_on, ActionKind::Stop, what));
        }
    }
    due.sort();
    due
}

/// An action as the schedule names it: `停止 stop`.
fn action_words(kind: ActionKind) -> String {
    format!("{} {}", kind.label_ja(), kind.as_str())
}

/// The fields an action changed, one `field: before → after` line each; for a first row (no
/// before), the fields that say who the account is.
fn diff(before: Option<&str>, after: Option<&str>) -> Vec<String> {
    let parse = |s: Option<&str>| s.and_then(|s| serde_json::from_str::<Value>(s).ok());
    let (before, after) = (parse(before), parse(after));
    let Some(Value::Object(after)) = after else {
        return Vec::new();
    };
    match before {
        Some(Value::Object(before)) => after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, v)| {
                let old = before.get(k).map_or("—".to_string(), compact);
                format!("{k}: {old} → {}", compact(v))
            })
            .collect(),
        _ => {
            let shown: Vec<String> = after
                .iter()
                .filter(|(k, v)| {
                    !v.is_null()
                        && *v != &Value::Bool(false)
                        && !matches!(k.as_str(), "name_kana" | "birth_date")
                })
                .map(|(k, v)| format!("{k}={}", compact(v)))
                .collect();
            vec![shown.join(", ")]
        }
    }
}

fn compact(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.replace('\n', " "),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(compact).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_changed_fields_only() {
        let lines = diff(
            Some(r#"{"a":"x","b":["1"],"c":null}"#),
            Some(r#"{"a":"x","b":["1","2"],"c":"2026-04-01"}"#),
        );
        assert_eq!(lines, ["b: [1] → [1, 2]", "c: — → 2026-04-01"]);
    }

    #[test]
    fn diff_of_a_first_row_names_the_set_fields() {
        let lines = diff(
            None,
            Some(r#"{"ecs_id":"a0000001","stop_on":null,"x":false}"#),
        );
        assert_eq!(lines, ["ecs_id=a0000001"]);
    }

    /// What `show` lists as scheduled is what the nightly runs do, on that day: nights are
    /// planned and applied one after another from before the first listed day to the last.
    #[test]
    fn the_schedule_shown_is_what_the_nights_do() {
        use crate::domain::account::Snapshot;
        use crate::domain::rules::tests::{applied, d, inputs, run, snapshot};
        let holder = |id: &str, until: &str| Account {
            role: Role::Holder,
            holder_until: Some(d(until)),
            ..Account::sample(id)
        };
        let mut accounts: Vec<Account> = [
            "2027-03-31",
            "2027-04-29",
            "2027-06-29",
            "2026-08-31",
            "2026-12-31",
            "2027-01-30",
            "2028-02-29",
        ]
        .iter()
        .zip(1..)
        .map(|(until, n)| holder(&format!("a{n:07}"), until))
        .collect();
        // A conversion under way when the accounts were imported: a stop and no reminder date.
        accounts.push(Account {
            role: Role::ConvertingStaff,
            stop_on: Some(d("2027-06-30")),
            stop_reason: Some(StopReason::StaffConversion),
            ..Account::sample("a0000100")
        });
        accounts.push(Account {
            state: State::Pending,
            activation_deadline: Some(d("2026-06-01")),
            ..Account::sample("a0000101")
        });
        let policy = Policy::default();
        let none = inputs(Vec::new());
        for account in accounts {
            let shown = scheduled(&account, &policy);
            assert!(!shown.is_empty(), "{}", account.ecs_id.as_str());
            let first = shown.first().map_or(d("2026-01-01"), |s| s.0);
            let last = shown.last().map_or(first, |s| s.0);
            let mut snap: Snapshot = snapshot(vec![account.clone()]);
            let mut done = Vec::new();
            let mut night = first - chrono::Days::new(40);
            while night <= last {
                let plan = run(&snap, &none, &night.to_string());
                done.extend(plan.actions.iter().map(|a| (night, a.kind)));
                snap = applied(&snap, &plan);
                night = add_days(night, 1);
            }
            let shown: Vec<_> = shown.iter().map(|(day, kind, _)| (*day, *kind)).collect();
            assert_eq!(shown, done, "{}: shown, then done", account.ecs_id.as_str());
        }
    }
}
