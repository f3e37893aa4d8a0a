//! `plan.json`: the plan, one input, action or warning per line. The plan's own fields are
//! laid out as pretty JSON (two-space indent); each item of its lists is serde_json's compact
//! form on its own line, so the file is easy to grep and diff, and any JSON reader sees the
//! value serde gives the [`Plan`] (`apply` reads it with [`Plan::from_json`]). The actions are
//! encoded in parallel, a chunk per task, and written in plan order: the bytes never depend on
//! the thread count. The last field seals the file: `apply` refuses a plan changed after it
//! was written ([`check_seal`]).

use std::io::{self, Write};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::domain::plan::{Action, Held, InputFile, Plan};
use crate::report::write_par_chunks;

/// Bytes per action, to size the chunk buffers (1.1–1.2 KB with the `after` account).
const ACTION_BYTES: usize = 1280;

/// Reads a plan from its JSON text, in any layout (as `serde_json::from_slice` would). Each
/// action's text is found first (a scan that only checks the syntax), then the actions are
/// parsed on every core: a national night's `plan.json` holds 100,000 actions, which `apply`
/// reads first thing. An error names the action by its position.
pub(crate) fn read_plan_json(text: &[u8]) -> serde_json::Result<Plan> {
    use rayon::prelude::*;
    use serde::de::Error as _;
    /// The plan with its actions still as text.
    #[derive(Deserialize)]
    struct Unparsed<'a> {
        format: u32,
        as_of: NaiveDate,
        store_digest: String,
        next_serial: u64,
        inputs: Vec<InputFile>,
        #[serde(borrow)]
        actions: Vec<&'a RawValue>,
        warnings: Vec<String>,
        #[serde(default)]
        held: Vec<Held>,
    }
    let raw: Unparsed<'_> = serde_json::from_slice(text)?;
    // Collected by position, so each action is parsed straight into its place in one list.
    let parsed: Vec<Result<Action, String>> = raw
        .actions
        .par_iter()
        .enumerate()
        .map(|(i, text)| {
            serde_json::from_str(text.get()).map_err(|e| format!("action {}: {e}", i + 1))
        })
        .collect();
    let actions = parsed
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(serde_json::Error::custom)?;
    // Every field by name: a field added to `Plan` fails to compile here until it is read.
    Ok(Plan {
        format: raw.format,
        as_of: raw.as_of,
        store_digest: raw.store_digest,
        next_serial: raw.next_serial,
        inputs: raw.inputs,
        actions,
        warnings: raw.warnings,
        held: raw.held,
    })
}

/// The last field of `plan.json`, before its value: the seal of every byte before it.
const SEAL: &[u8] = b",\n  \"seal\": \"xxh3-128:";

/// Streams `plan.json` into `w`, with a trailing newline, sealed: its last field is a hash
/// of everything before it ([`check_seal`]).
pub(crate) fn write_plan_json<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    let mut sealed = Sealing {
        inner: w,
        hash: xxhash_rust::xxh3::Xxh3::new(),
    };
    write_fields(plan, &mut sealed)?;
    let seal = sealed.hash.digest128();
    w.write_all(SEAL)?;
    write!(w, "{seal:032x}\"\n}}\n")
}

/// A writer that hashes what it passes on.
struct Sealing<'w, W> {
    inner: &'w mut W,
    hash: xxhash_rust::xxh3::Xxh3,
}

impl<W: Write> Write for Sealing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Whether `text` is a `plan.json` as `regsync plan` wrote it: its seal matches the bytes
/// before it. A plan edited by hand (an action removed, an account's fields changed) is not
/// the plan that was reviewed, and `apply` refuses it. Not a signature: it catches changes
/// made by mistake or by an editor, not by someone who recomputes it.
pub(crate) fn check_seal(text: &[u8]) -> Result<(), &'static str> {
    let Some(at) = memchr::memmem::rfind(text, SEAL) else {
        return Err("it has no seal: it was not written by this regsync's `plan`");
    };
    let rest = &text[at + SEAL.len()..];
    let written = rest.get(..32).and_then(|h| std::str::from_utf8(h).ok());
    let seal = xxhash_rust::xxh3::xxh3_128(&text[..at]);
    if written != Some(format!("{seal:032x}").as_str()) || rest.get(32..) != Some(b"\"\n}\n") {
        return Err("it was changed after `regsync plan` wrote it");
    }
    Ok(())
}

/// Every field of the plan but the seal.
fn write_fields<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    // Every field by name: a field added to `Plan` fails to compile here until it is written.
    let Plan {
        format,
        as_of,
        store_digest,
        next_serial,
        inputs,
        actions,
        warnings,
        held,
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
            item(w, first, true)?;
            write_par_chunks(rest, w, ACTION_BYTES, |chunk, buf| {
                chunk.iter().try_for_each(|a| item(buf, a, false))
            })?;
            w.write_all(b"\n  ]")?;
        }
    }
    list(w, "warnings", warnings)?;
    if !held.is_empty() {
        list(w, "held", held)?;
    }
    Ok(())
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

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::account::{Account, Role, State};
    use crate::domain::model::StudentNo;
    use crate::domain::plan::{Action, Change};
    use crate::report::fixture;

    fn render(plan: &Plan) -> String {
        let mut out = Vec::new();
        write_plan_json(plan, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The value serde itself writes for the plan, which `apply` reads back.
    fn same_value_as_serde(plan: &Plan, text: &str) {
        let mut ours: serde_json::Value = serde_json::from_str(text).unwrap();
        // The seal is the file's, not the plan's.
        let seal = ours.as_object_mut().and_then(|o| o.remove("seal"));
        assert!(seal.is_some_and(|s| s.is_string()));
        assert_eq!(ours, serde_json::to_value(plan).unwrap());
        assert_eq!(check_seal(text.as_bytes()), Ok(()));
        assert_eq!(&serde_json::from_str::<Plan>(text).unwrap(), plan);
        assert_eq!(&read_plan_json(text.as_bytes()).unwrap(), plan);
    }

    fn with_after(mut plan: Plan) -> Plan {
        plan.actions[1].after = Some(Account {
            kumoi: "takahashi.hanako@st.example.ac.jp".into(),
            student_nos: vec![StudentNo::new("1260000001")],
            name: "髙橋 花子".into(),
            name_kana: "タカハシ ハナコ".into(),
            faculty: "文学部".into(),
            state: State::Pending,
            activation_deadline: fixture::date(2026, 5, 31),
            ..Account::sample("a0001234")
        });
        plan
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
    fn one_item_per_line_and_the_same_value_as_serde() {
        let plan = with_after(fixture::small());
        let text = render(&plan);
        let lines: Vec<&str> = text.lines().collect();
        // Braces, four scalar fields, three lists with their brackets, one line per item, and
        // the seal.
        let items = plan.inputs.len() + plan.actions.len() + plan.warnings.len();
        assert_eq!(lines.len(), 2 + 4 + 2 * 3 + items + 1, "{text}");
        assert_eq!(lines[0], "{");
        assert_eq!(lines[1], "  \"format\": 1,");
        assert_eq!(lines[2], "  \"as_of\": \"2026-04-01\",");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("    {\"kind\":\"create\",\"rule\":\"R3\""))
        );
        assert!(lines[lines.len() - 2].starts_with("  \"seal\": \"xxh3-128:"));
        assert!(text.contains("\n  ],\n  \"seal\": \""), "{text}");
        same_value_as_serde(&plan, &text);
    }

    /// `apply` takes the plan as it was written, and nothing changed after: not an action
    /// removed, not a field of an account changed, not a plan without its seal.
    #[test]
    fn the_seal_refuses_a_plan_changed_after_it_was_written() {
        let text = render(&with_after(fixture::small()));
        assert_eq!(check_seal(text.as_bytes()), Ok(()));
        let changed = "it was changed after `regsync plan` wrote it";
        let renamed = text.replacen("\"name\":\"", "\"name\":\"X", 1);
        assert_eq!(check_seal(renamed.as_bytes()), Err(changed));
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with("    {\"kind\""))
            .unwrap();
        let mut fewer = lines.clone();
        fewer.remove(at);
        assert_eq!(
            check_seal((fewer.join("\n") + "\n").as_bytes()),
            Err(changed)
        );
        let trailing = format!("{text} ");
        assert_eq!(check_seal(trailing.as_bytes()), Err(changed));
        let unsealed = serde_json::to_string(&fixture::small()).unwrap();
        assert!(check_seal(unsealed.as_bytes()).is_err_and(|e| e.contains("no seal")));
    }

    #[test]
    fn empty_lists_stay_on_their_line() {
        let mut plan = fixture::plan(Vec::new());
        plan.inputs.clear();
        let text = render(&plan);
        assert!(text.contains("\n  \"inputs\": [],\n"), "{text}");
        assert!(text.contains("\n  \"actions\": [],\n"), "{text}");
        assert!(
            text.contains("\n  \"warnings\": [],\n  \"seal\": \""),
            "{text}"
        );
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
        // Braces, scalars, the input list, the action list, the empty warnings and the seal.
        assert_eq!(text.lines().count(), 2 + 4 + 3 + (2 + n) + 1 + 1);
    }

    /// `apply` reads any layout of the plan's JSON (this one, pretty, compact), and refuses a
    /// broken action with serde_json's own error.
    #[test]
    fn plan_from_json_reads_any_layout_and_refuses_a_broken_action() {
        let mut plan = with_after(fixture::small());
        plan.actions.push(everything());
        let text = render(&plan);
        let pretty = serde_json::to_string_pretty(&plan).unwrap();
        let compact = serde_json::to_string(&plan).unwrap();
        for layout in [&text, &pretty, &compact] {
            assert_eq!(read_plan_json(layout.as_bytes()).unwrap(), plan);
        }
        let broken = text.replacen("\"kind\":\"create\"", "\"kind\":\"creat\"", 1);
        assert_ne!(broken, text);
        let error = read_plan_json(broken.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("unknown variant `creat`"), "{error}");
        // A second `actions` list is refused.
        let twice = text.replacen(
            "\n  \"warnings\": ",
            "\n  \"actions\": [],\n  \"warnings\": ",
            1,
        );
        assert!(read_plan_json(twice.as_bytes()).is_err());
    }

    /// Every field set, escapes and odd dates included: the line is serde_json's compact form.
    #[test]
    fn an_action_line_is_serde_jsons_compact_form() {
        let mut plan = with_after(fixture::small());
        plan.actions.push(everything());
        let text = render(&plan);
        for a in &plan.actions {
            let line = format!("    {}", serde_json::to_string(a).unwrap());
            assert!(
                text.lines().any(|l| l.trim_end_matches(',') == line),
                "{line}"
            );
        }
    }
}
