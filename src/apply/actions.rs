//! `actions.jsonl`: the actions an apply wrote, one JSON object per line, for the directory and
//! provisioning system. Only actions that change an account are listed (review items wait for
//! a person). Field names are the plan's and the store's vocabulary; dates are ISO; absent
//! values are `null`. No activation key: those go on the letters only (R13).

use std::io::Write as _;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use crate::apply::{ApplyError, io_err};
use crate::domain::account::{Delivery, Role, State, StopReason};
use crate::domain::model::Status;
use crate::domain::plan::{ActionKind, Plan, Rule};

/// One line of `actions.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionLine<'a> {
    pub kind: ActionKind,
    pub rule: Rule,
    pub ecs_id: &'a str,
    pub kumoi: &'a str,
    pub student_no: Option<&'a str>,
    pub name: &'a str,
    pub name_kana: &'a str,
    pub faculty: &'a str,
    pub status: Option<Status>,
    pub role: Role,
    pub state: State,
    pub activation_deadline: Option<NaiveDate>,
    pub stop_on: Option<NaiveDate>,
    pub stop_reason: Option<StopReason>,
    pub delivery: Option<Delivery>,
    pub effective_on: Option<NaiveDate>,
}

/// The lines for `plan`, in plan order.
pub fn action_lines(plan: &Plan) -> impl Iterator<Item = ActionLine<'_>> {
    plan.actions.iter().filter_map(|a| {
        let after = a.after.as_ref()?;
        Some(ActionLine {
            kind: a.kind,
            rule: a.rule,
            ecs_id: after.ecs_id.as_str(),
            kumoi: after.kumoi.as_str(),
            student_no: after.student_no().map(|s| s.as_str()),
            name: after.name.as_str(),
            name_kana: after.name_kana.as_str(),
            faculty: after.faculty.as_str(),
            status: after.status,
            role: after.role,
            state: after.state,
            activation_deadline: after.activation_deadline,
            stop_on: after.stop_on,
            stop_reason: after.stop_reason,
            delivery: a.delivery,
            effective_on: a.effective_on,
        })
    })
}

/// Writes `actions.jsonl` for `plan` to the new file `path` (private: it holds personal data;
/// see `crate::private`) and returns the number of lines.
pub fn write_actions_jsonl(path: &Path, plan: &Plan) -> Result<usize, ApplyError> {
    // Personal data, no key: the configured group may read it, like the reports.
    let file =
        crate::private::create_new(path, crate::private::Kind::Shared).map_err(io_err(path))?;
    let mut w = std::io::BufWriter::new(file);
    let mut n = 0;
    for line in action_lines(plan) {
        serde_json::to_writer(&mut w, &line).map_err(|source| ApplyError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        w.write_all(b"\n").map_err(io_err(path))?;
        n += 1;
    }
    let file = w.into_inner().map_err(|e| io_err(path)(e.into_error()))?;
    file.sync_all().map_err(io_err(path))?;
    Ok(n)
}
