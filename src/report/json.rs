//! `plan.json`: the plan, one input, action or warning per line. The plan's own fields are
//! laid out as pretty JSON (two-space indent); each item of its lists is serde_json's compact
//! form on its own line. Any JSON reader sees the same value serde writes for the [`Plan`]
//! (`apply` reads it with `serde_json::from_slice`), and the file is easy to grep and diff.
//!
//! A national plan has 100,000 actions (≈ 1.1 KB each, two thirds of it the `after` account),
//! and serde_json spends most of its time there on many small writes and on scanning every
//! key for characters to escape. So an action is encoded here by hand: keys and punctuation
//! as literals, strings copied whole when nothing in them needs escaping; enums, escaped
//! strings and dates outside 0–9999 go through serde_json itself. The bytes are exactly
//! serde_json's compact form (tested against it), and every struct is destructured by field, so
//! a field added to a plan type fails to compile here until it is written. The actions are
//! encoded in parallel, a chunk per task, and written in plan order: the bytes never depend on
//! the thread count.

use std::io::{self, Write};

use serde::Serialize;

use chrono::{Datelike, NaiveDate};

use crate::domain::account::Account;
use crate::domain::plan::{Action, Change, Person, Plan, Source};
use crate::report::{any_byte, write_par_chunks};

/// Bytes per action, to size the chunk buffers (measured: 1.1–1.2 KB with the `after` account).
const ACTION_BYTES: usize = 1280;

/// Streams `plan.json` into `w`, with a trailing newline.
pub(crate) fn write_plan_json<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    // Every field by name: a field added to `Plan` fails to compile here until it is written.
    let Plan {
        format,
        as_of,
        store_digest,
        next_serial,
        inputs,
        actions,
        warnings,
    } = plan;
    w.write_all(b"{")?;
    field(w, "format", format, true)?;
    field(w, "as_of", as_of, false)?;
    field(w, "store_digest", store_digest, false)?;
    field(w, "next_serial", next_serial, false)?;
    list(w, "inputs", inputs)?;
    key(w, "actions", false)?;
    match actions.split_first() {
        None => w.write_all(b"[]")?,
        Some((first, rest)) => {
            w.write_all(b"[")?;
            let mut buf = Vec::with_capacity(ACTION_BYTES);
            buf.extend_from_slice(b"\n    ");
            action(&mut buf, first)?;
            w.write_all(&buf)?;
            write_par_chunks(rest, w, ACTION_BYTES, |chunk, buf| {
                chunk.iter().try_for_each(|a| {
                    buf.extend_from_slice(b",\n    ");
                    action(buf, a)
                })
            })?;
            w.write_all(b"\n  ]")?;
        }
    }
    list(w, "warnings", warnings)?;
    w.write_all(b"\n}\n")
}

/// `\n  "name": ` after a comma unless it is the first field.
fn key<W: Write>(w: &mut W, name: &str, first: bool) -> io::Result<()> {
    if !first {
        w.write_all(b",")?;
    }
    w.write_all(b"\n  ")?;
    serde_json::to_writer(&mut *w, name)?;
    w.write_all(b": ")
}

fn field<W: Write, T: Serialize>(w: &mut W, name: &str, value: &T, first: bool) -> io::Result<()> {
    key(w, name, first)?;
    serde_json::to_writer(&mut *w, value).map_err(io::Error::from)
}

/// A list of the plan, one compact item per line; `[]` when empty.
fn list<W: Write, T: Serialize>(w: &mut W, name: &str, items: &[T]) -> io::Result<()> {
    key(w, name, false)?;
    if items.is_empty() {
        return w.write_all(b"[]");
    }
    w.write_all(b"[")?;
    for (i, it) in items.iter().enumerate() {
        item(w, it, i == 0)?;
    }
    w.write_all(b"\n  ]")
}

/// One list item on its own line: `,\n    {...}` (no comma before the first).
fn item<W: Write, T: Serialize>(w: &mut W, value: &T, first: bool) -> io::Result<()> {
    w.write_all(if first { b"\n    " } else { b",\n    " })?;
    serde_json::to_writer(&mut *w, value).map_err(io::Error::from)
}

/// One action in serde_json's compact form.
fn action(buf: &mut Vec<u8>, a: &Action) -> io::Result<()> {
    let Action {
        kind,
        rule,
        ecs_id,
        person,
        source,
        effective_on,
        notice_on,
        stop_on,
        stop_reason,
        delivery,
        role,
        changes,
        review,
        reason_ja,
        reason_en,
        after,
    } = a;
    buf.extend_from_slice(b"{\"kind\":");
    serde(buf, kind)?;
    buf.extend_from_slice(b",\"rule\":");
    serde(buf, rule)?;
    buf.extend_from_slice(b",\"ecs_id\":");
    opt_str(buf, ecs_id.as_ref().map(|id| id.as_str()))?;
    buf.extend_from_slice(b",\"person\":");
    write_person(buf, person)?;
    buf.extend_from_slice(b",\"source\":");
    match source {
        Some(Source { file, row }) => {
            buf.extend_from_slice(b"{\"file\":");
            string(buf, file)?;
            buf.extend_from_slice(b",\"row\":");
            uint(buf, u64::from(*row));
            buf.push(b'}');
        }
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b",\"effective_on\":");
    date(buf, *effective_on)?;
    buf.extend_from_slice(b",\"notice_on\":");
    date(buf, *notice_on)?;
    buf.extend_from_slice(b",\"stop_on\":");
    date(buf, *stop_on)?;
    buf.extend_from_slice(b",\"stop_reason\":");
    serde(buf, stop_reason)?;
    buf.extend_from_slice(b",\"delivery\":");
    serde(buf, delivery)?;
    buf.extend_from_slice(b",\"role\":");
    serde(buf, role)?;
    buf.extend_from_slice(b",\"changes\":[");
    for (i, Change { field, from, to }) in changes.iter().enumerate() {
        buf.extend_from_slice(if i == 0 {
            b"{\"field\":"
        } else {
            b",{\"field\":"
        });
        string(buf, field)?;
        buf.extend_from_slice(b",\"from\":");
        string(buf, from)?;
        buf.extend_from_slice(b",\"to\":");
        string(buf, to)?;
        buf.push(b'}');
    }
    buf.extend_from_slice(b"],\"review\":");
    serde(buf, review)?;
    buf.extend_from_slice(b",\"reason_ja\":");
    string(buf, reason_ja)?;
    buf.extend_from_slice(b",\"reason_en\":");
    string(buf, reason_en)?;
    buf.extend_from_slice(b",\"after\":");
    match after {
        Some(account) => write_account(buf, account)?,
        None => buf.extend_from_slice(b"null"),
    }
    buf.push(b'}');
    Ok(())
}

fn write_person(buf: &mut Vec<u8>, p: &Person) -> io::Result<()> {
    let Person {
        name,
        name_kana,
        student_no,
        person_id,
        faculty,
        status,
    } = p;
    buf.extend_from_slice(b"{\"name\":");
    string(buf, name)?;
    buf.extend_from_slice(b",\"name_kana\":");
    string(buf, name_kana)?;
    buf.extend_from_slice(b",\"student_no\":");
    opt_str(buf, student_no.as_ref().map(|n| n.as_str()))?;
    buf.extend_from_slice(b",\"person_id\":");
    opt_str(buf, person_id.as_ref().map(|n| n.as_str()))?;
    buf.extend_from_slice(b",\"faculty\":");
    string(buf, faculty)?;
    buf.extend_from_slice(b",\"status\":");
    serde(buf, status)?;
    buf.push(b'}');
    Ok(())
}

fn write_account(buf: &mut Vec<u8>, a: &Account) -> io::Result<()> {
    let Account {
        ecs_id,
        kumoi,
        person_id,
        student_nos,
        name,
        name_kana,
        birth_date,
        faculty,
        status,
        role,
        state,
        activation_deadline,
        activation_expired,
        stop_on,
        stop_reason,
        departed_on,
        reminder_on,
        reminder_sent,
        holder_until,
        expiry_notice_for,
        hire,
        approval,
    } = a;
    buf.extend_from_slice(b"{\"ecs_id\":");
    string(buf, ecs_id.as_str())?;
    buf.extend_from_slice(b",\"kumoi\":");
    string(buf, kumoi)?;
    buf.extend_from_slice(b",\"person_id\":");
    opt_str(buf, person_id.as_ref().map(|n| n.as_str()))?;
    buf.extend_from_slice(b",\"student_nos\":[");
    for (i, n) in student_nos.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        string(buf, n.as_str())?;
    }
    buf.extend_from_slice(b"],\"name\":");
    string(buf, name)?;
    buf.extend_from_slice(b",\"name_kana\":");
    string(buf, name_kana)?;
    buf.extend_from_slice(b",\"birth_date\":");
    date(buf, *birth_date)?;
    buf.extend_from_slice(b",\"faculty\":");
    string(buf, faculty)?;
    buf.extend_from_slice(b",\"status\":");
    serde(buf, status)?;
    buf.extend_from_slice(b",\"role\":");
    serde(buf, role)?;
    buf.extend_from_slice(b",\"state\":");
    serde(buf, state)?;
    buf.extend_from_slice(b",\"activation_deadline\":");
    date(buf, *activation_deadline)?;
    buf.extend_from_slice(b",\"activation_expired\":");
    boolean(buf, *activation_expired);
    buf.extend_from_slice(b",\"stop_on\":");
    date(buf, *stop_on)?;
    buf.extend_from_slice(b",\"stop_reason\":");
    serde(buf, stop_reason)?;
    buf.extend_from_slice(b",\"departed_on\":");
    date(buf, *departed_on)?;
    buf.extend_from_slice(b",\"reminder_on\":");
    date(buf, *reminder_on)?;
    buf.extend_from_slice(b",\"reminder_sent\":");
    boolean(buf, *reminder_sent);
    buf.extend_from_slice(b",\"holder_until\":");
    date(buf, *holder_until)?;
    buf.extend_from_slice(b",\"expiry_notice_for\":");
    date(buf, *expiry_notice_for)?;
    buf.extend_from_slice(b",\"hire\":");
    serde(buf, hire)?;
    buf.extend_from_slice(b",\"approval\":");
    serde(buf, approval)?;
    buf.push(b'}');
    Ok(())
}

/// Anything through serde_json: the enums (whose names serde's attributes decide) and the
/// rare values the fast paths leave to it.
fn serde<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *buf, value).map_err(io::Error::from)
}

/// A JSON string: copied whole between quotes unless it holds a character JSON escapes (`"`,
/// `\`, controls), which serde_json then escapes its own way.
fn string(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    let escapes = any_byte(s.as_bytes(), |b| b < 0x20 || b == b'"' || b == b'\\');
    if escapes {
        return serde(buf, s);
    }
    buf.reserve(s.len() + 2);
    buf.push(b'"');
    buf.extend_from_slice(s.as_bytes());
    buf.push(b'"');
    Ok(())
}

fn opt_str(buf: &mut Vec<u8>, s: Option<&str>) -> io::Result<()> {
    match s {
        Some(s) => string(buf, s),
        None => {
            buf.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// `"2026-04-01"` or `null`, as chrono's serde writes dates.
fn date(buf: &mut Vec<u8>, d: Option<NaiveDate>) -> io::Result<()> {
    let Some(d) = d else {
        buf.extend_from_slice(b"null");
        return Ok(());
    };
    if !(0..=9999).contains(&d.year()) {
        return serde(buf, &d);
    }
    let y = d.year().unsigned_abs();
    let (m, day) = (d.month(), d.day());
    let digit = |n: u32| b'0' + (n % 10) as u8;
    buf.extend_from_slice(&[
        b'"',
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(day / 10),
        digit(day),
        b'"',
    ]);
    Ok(())
}

fn uint(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

fn boolean(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::account::{Account, Role, State};
    use crate::domain::model::{EcsId, StudentNo};
    use crate::domain::plan::Action;
    use crate::report::fixture;

    fn render(plan: &Plan) -> String {
        let mut out = Vec::new();
        write_plan_json(plan, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The value serde itself writes for the plan, which `apply` reads back.
    fn same_value_as_serde(plan: &Plan, text: &str) {
        let ours: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, serde_json::to_value(plan).unwrap());
        assert_eq!(&serde_json::from_str::<Plan>(text).unwrap(), plan);
        assert_eq!(&Plan::from_json(text.as_bytes()).unwrap(), plan);
    }

    fn with_after(mut plan: Plan) -> Plan {
        plan.actions[1].after = Some(Account {
            ecs_id: EcsId::new("a0001234"),
            kumoi: "takahashi.hanako@st.example.ac.jp".into(),
            person_id: None,
            student_nos: vec![StudentNo::new("1260000001")],
            name: "髙橋 花子".into(),
            name_kana: "タカハシ ハナコ".into(),
            birth_date: None,
            faculty: "文学部".into(),
            status: None,
            role: Role::Student,
            state: State::Pending,
            activation_deadline: fixture::date(2026, 5, 31),
            activation_expired: false,
            stop_on: None,
            stop_reason: None,
            departed_on: None,
            reminder_on: None,
            reminder_sent: false,
            holder_until: None,
            expiry_notice_for: None,
            hire: None,
            approval: None,
        });
        plan
    }

    fn encoded(a: &Action) -> String {
        let mut buf = Vec::new();
        action(&mut buf, a).unwrap();
        String::from_utf8(buf).unwrap()
    }

    /// Every field set, strings that need escaping, dates at and past the four-digit years.
    fn everything() -> Action {
        let mut plan = with_after(fixture::small());
        let mut a = plan.actions.remove(1);
        let odd = "\"q\" \\ \n\r\t\u{1}\u{1f}\u{7f} \u{2028} 髙﨑 🍣 </script>";
        a.person.name = odd.into();
        a.person.person_id = Some(crate::domain::model::PersonId::new("P0000001"));
        a.source = Some(crate::domain::plan::Source {
            file: odd.into(),
            row: u32::MAX,
        });
        a.effective_on = NaiveDate::from_ymd_opt(0, 1, 1);
        a.notice_on = NaiveDate::from_ymd_opt(9999, 12, 31);
        a.stop_on = NaiveDate::from_ymd_opt(-5, 2, 28);
        a.stop_reason = Some(crate::domain::account::StopReason::HolderExpired);
        a.role = Some(Role::ConvertingStaff);
        a.review = Some(crate::domain::plan::ReviewReason::NameBirthCandidate);
        a.changes = vec![
            Change {
                field: "name".into(),
                from: odd.into(),
                to: String::new(),
            },
            Change {
                field: "faculty".into(),
                from: "工学部".into(),
                to: "工学研究科".into(),
            },
        ];
        a.reason_en = odd.into();
        if let Some(after) = a.after.as_mut() {
            after.person_id = Some(crate::domain::model::PersonId::new("P0000001"));
            after.student_nos.push(StudentNo::new("7026000042"));
            after.birth_date = NaiveDate::from_ymd_opt(10_000, 1, 1);
            after.status = Some(crate::domain::model::Status::SpecialResearchStudent);
            after.activation_expired = true;
            after.stop_on = fixture::date(2026, 6, 30);
            after.stop_reason = Some(crate::domain::account::StopReason::StaffConversion);
            after.departed_on = fixture::date(2026, 3, 31);
            after.reminder_on = fixture::date(2026, 5, 31);
            after.reminder_sent = true;
            after.holder_until = fixture::date(2027, 3, 31);
            after.expiry_notice_for = fixture::date(2027, 3, 31);
            after.hire = fixture::date(2026, 4, 1).map(|hired_on| crate::domain::account::Hire {
                hired_on,
                job_type: crate::domain::model::JobType::PartTimeStaff,
            });
            after.approval =
                fixture::date(2026, 3, 27).map(|approved_on| crate::domain::account::Approval {
                    kind: crate::domain::model::RenewalKind::Continuation,
                    approved_on,
                    until: NaiveDate::from_ymd_opt(2027, 3, 31).unwrap_or(approved_on),
                });
            after.kumoi = odd.into();
        }
        a
    }

    #[test]
    fn actions_are_serde_jsons_compact_bytes() {
        let mut actions = with_after(fixture::small()).actions;
        actions.push(everything());
        let mut empty = everything();
        empty.after.as_mut().unwrap().student_nos.clear();
        empty.changes.clear();
        actions.push(empty);
        for a in &actions {
            assert_eq!(encoded(a), serde_json::to_string(a).unwrap());
        }
    }

    proptest::proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_does(s in "\\PC*|[\\x00-\\x7f]*") {
            let mut buf = Vec::new();
            string(&mut buf, &s).unwrap();
            proptest::prop_assert_eq!(buf, serde_json::to_vec(&s).unwrap());
        }

        #[test]
        fn numbers_as_serde_json_writes_them(n: u64) {
            let mut buf = Vec::new();
            uint(&mut buf, n);
            proptest::prop_assert_eq!(buf, serde_json::to_vec(&n).unwrap());
        }
    }

    #[test]
    fn one_item_per_line_and_the_same_value_as_serde() {
        let plan = with_after(fixture::small());
        let text = render(&plan);
        let lines: Vec<&str> = text.lines().collect();
        // Braces, four scalar fields, three lists with their brackets, one line per item.
        let items = plan.inputs.len() + plan.actions.len() + plan.warnings.len();
        assert_eq!(lines.len(), 2 + 4 + 2 * 3 + items, "{text}");
        assert_eq!(lines[0], "{");
        assert_eq!(lines[1], "  \"format\": 1,");
        assert_eq!(lines[2], "  \"as_of\": \"2026-04-01\",");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("    {\"kind\":\"create\",\"rule\":\"R3\""))
        );
        assert!(text.ends_with("\n  ]\n}\n"));
        same_value_as_serde(&plan, &text);
    }

    #[test]
    fn empty_lists_stay_on_their_line() {
        let mut plan = fixture::plan(Vec::new());
        plan.inputs.clear();
        let text = render(&plan);
        assert!(text.contains("\n  \"inputs\": [],\n"), "{text}");
        assert!(text.contains("\n  \"actions\": [],\n"), "{text}");
        assert!(text.ends_with("\n  \"warnings\": []\n}\n"), "{text}");
        same_value_as_serde(&plan, &text);
    }

    #[test]
    fn chunks_are_written_in_plan_order() {
        // More actions than one parallel window, each told apart by its row.
        let n = 3 * crate::report::WINDOW + 17;
        let actions = (0..n)
            .map(|i| {
                let mut a = fixture::action(
                    crate::domain::plan::ActionKind::Create,
                    crate::domain::plan::Rule::R1,
                    "山田 太郎",
                    "工学部",
                );
                if let Some(s) = a.source.as_mut() {
                    s.row = i as u32;
                }
                a
            })
            .collect();
        let plan = fixture::plan(actions);
        let text = render(&plan);
        same_value_as_serde(&plan, &text);
        // Braces, scalars, the input list, the action list and the empty warnings.
        assert_eq!(text.lines().count(), 2 + 4 + 3 + (2 + n) + 1);
    }

    /// `apply` reads this layout line by line; any other layout of the same JSON, and any
    /// broken line, as serde_json does.
    #[test]
    fn plan_from_json_reads_the_written_layout_by_lines_and_any_other_as_serde() {
        let mut plan = with_after(fixture::small());
        plan.actions.push(everything());
        let text = render(&plan);
        assert_eq!(Plan::from_lines(text.as_bytes()).as_ref(), Some(&plan));
        let pretty = serde_json::to_string_pretty(&plan).unwrap();
        assert_eq!(Plan::from_lines(pretty.as_bytes()), None);
        assert_eq!(Plan::from_json(pretty.as_bytes()).unwrap(), plan);
        let broken = text.replacen("\"kind\":\"create\"", "\"kind\":\"creat\"", 1);
        assert_ne!(broken, text);
        assert_eq!(
            Plan::from_json(broken.as_bytes()).unwrap_err().to_string(),
            serde_json::from_str::<Plan>(&broken)
                .unwrap_err()
                .to_string()
        );
        // A second `actions` list outside the cut is refused as serde_json refuses it.
        let twice = text.replacen(
            "\n  \"warnings\": ",
            "\n  \"actions\": [],\n  \"warnings\": ",
            1,
        );
        assert!(Plan::from_json(twice.as_bytes()).is_err());
    }
}
