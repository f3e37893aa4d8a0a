//! The account directory reader: the CSV that `regsync accounts import` loads once, the
//! accounts that existed before regsync.
//!
//! The file is CSV (UTF-8 with or without BOM, or CP932) with the header [`HEADER`],
//! optionally followed by a 14th column 身分 (for a directory that already knows it, e.g. a
//! store rebuilt after earlier nights). ECS-IDs must have the policy's shape
//! (`[policy] id_prefix`, `id_digits`). It is validated like any input: every problem is
//! located as `FILE:ROW:COLUMN(header)`, all of them are reported, and a file with any error
//! yields no accounts. The 区分 and 状態 labels are defined here both ways, so that
//! `accounts export` writes what this reads.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use compact_str::CompactString;

use crate::domain::account::{Account, Role, Snapshot, State, StopReason};
use crate::domain::jpdate::parse_date;
use crate::domain::model::{EcsId, PersonId, Status, StudentNo};
use crate::domain::policy::IdFormat;
use crate::domain::text::{fold_id, one_line, trim_cell};
use crate::ingest::diag::{Diagnostic, Location, control_characters};
use crate::ingest::encoding::{body, decode_chunk, locate, sniff};

/// The directory's header, column by column.
pub const HEADER: [&str; 13] = [
    "ECS-ID",
    "個人番号",
    "学籍番号",
    "氏名",
    "氏名カナ",
    "生年月日",
    "所属",
    "区分",
    "状態",
    "KUMOI",
    "有効化期限",
    "停止予定日",
    "利用期限",
];

/// The optional column after [`HEADER`]: 身分, by its label (学部生, 大学院生, 研究生, ...);
/// an empty cell leaves it unknown, as a directory without the column does.
const STATUS_HEADER: &str = "身分";

const C_ECS_ID: usize = 0;
const C_PERSON_ID: usize = 1;
const C_STUDENT_NOS: usize = 2;
const C_NAME: usize = 3;
const C_NAME_KANA: usize = 4;
const C_BIRTH_DATE: usize = 5;
const C_FACULTY: usize = 6;
const C_ROLE: usize = 7;
const C_STATE: usize = 8;
const C_KUMOI: usize = 9;
const C_ACTIVATION_DEADLINE: usize = 10;
const C_STOP_ON: usize = 11;
const C_HOLDER_UNTIL: usize = 12;
const C_STATUS: usize = 13;

/// Reads an account directory: the accounts, or (with any error) the diagnostics that reject
/// it. `existing` is what the store holds; an ECS-ID, KUMOI, student number or 個人番号
/// already there is an error. ECS-IDs must have the shape `ids`.
pub fn parse(bytes: &[u8], existing: &Snapshot, ids: &IdFormat) -> (Vec<Account>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let encoding = sniff(bytes);
    let text_body = body(bytes, encoding);
    let bom = bytes.len() - text_body.len();
    let text = match decode_chunk(text_body, encoding) {
        Ok(t) => t,
        Err(bad) => {
            let (line, byte) = locate(bytes, bom + bad.offset);
            diags.push(Diagnostic::error(
                Location::Byte { line, byte },
                "文字コードを読めません。UTF-8 か Shift_JIS（CP932）で保存してください",
                "the bytes here are neither UTF-8 nor CP932 (Shift_JIS); save the file as UTF-8 or CP932",
            ));
            return (Vec::new(), diags);
        }
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut seen = Seen::new(existing);
    let mut accounts = Vec::new();
    // None before the header; then whether it is good and has the 身分 column.
    let mut header_ok: Option<Option<bool>> = None;
    let mut record = csv::StringRecord::new();
    let mut row: u32 = 0;
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                diags.push(Diagnostic::error(
                    Location::Row { row: row + 1 },
                    format!("CSV として読めません（{e}）"),
                    format!("not valid CSV: {e}"),
                ));
                break;
            }
        }
        // Each record is one spreadsheet row, whatever line breaks are quoted inside it.
        row += 1;
        if record.iter().all(|f| trim_cell(f).is_empty()) {
            continue;
        }
        match header_ok {
            None => {
                let ok = check_header(&record, row, &mut diags);
                header_ok = Some(ok);
                if ok.is_none() {
                    break;
                }
            }
            Some(has_status) => {
                let shape = Shape {
                    ids,
                    has_status: has_status == Some(true),
                };
                if let Some(a) = parse_row(&record, row, &shape, &mut seen, &mut diags) {
                    accounts.push(a);
                }
            }
        }
    }
    if header_ok.is_none() && diags.is_empty() {
        diags.push(Diagnostic::error(
            Location::File,
            format!("見出し行がありません。1行目は「{}」です", HEADER.join(",")),
            format!(
                "no header row; the first row must be `{}`",
                HEADER.join(",")
            ),
        ));
    }
    diags.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.location.cmp(&b.location))
    });
    if diags.iter().any(Diagnostic::is_error) {
        accounts.clear();
    }
    (accounts, diags)
}

/// None when the header is wrong (the diagnostics say why); else whether it has the optional
/// 身分 column.
fn check_header(record: &csv::StringRecord, row: u32, diags: &mut Vec<Diagnostic>) -> Option<bool> {
    let before = diags.len();
    // Excel pads rows with empty trailing columns.
    let found: Vec<&str> = record.iter().map(trim_cell).collect();
    let len = found
        .iter()
        .rposition(|f| !f.is_empty())
        .map_or(0, |i| i + 1);
    for (i, want) in HEADER.iter().enumerate() {
        let got = found.get(i).copied().unwrap_or("");
        if got != *want {
            diags.push(Diagnostic::error(
                Location::Cell {
                    row,
                    column: i as u32,
                    header: got.to_string(),
                },
                format!("見出しは「{want}」のはずですが「{got}」です"),
                format!("expected the header `{want}`, found `{got}`"),
            ));
        }
    }
    let has_status = found.get(C_STATUS) == Some(&STATUS_HEADER);
    let columns = HEADER.len() + usize::from(has_status);
    for (i, got) in found.iter().enumerate().take(len).skip(columns) {
        diags.push(Diagnostic::error(
            Location::Cell {
                row,
                column: i as u32,
                header: (*got).to_string(),
            },
            format!(
                "余分な列「{got}」があります。列は「{}」の13列（と任意の「{STATUS_HEADER}」）です",
                HEADER.join(",")
            ),
            format!(
                "unexpected column `{got}`; the columns are `{}` (and an optional `{STATUS_HEADER}`)",
                HEADER.join(",")
            ),
        ));
    }
    (diags.len() == before).then_some(has_status)
}

/// What the header said about the rows, and the ECS-IDs' shape.
struct Shape<'a> {
    ids: &'a IdFormat,
    has_status: bool,
}

impl Shape<'_> {
    fn columns(&self) -> usize {
        HEADER.len() + usize::from(self.has_status)
    }
}

/// The values already taken, with where they were taken (a row of this file, or the store).
struct Seen<'s> {
    ecs_ids: HashMap<CompactString, u32>,
    kumoi: HashMap<CompactString, u32>,
    student_nos: HashMap<CompactString, u32>,
    person_ids: HashMap<CompactString, u32>,
    store_ecs_ids: HashSet<&'s str>,
    store_kumoi: HashSet<&'s str>,
    store_student_nos: HashMap<&'s str, &'s str>,
    store_person_ids: HashMap<&'s str, &'s str>,
}

impl<'s> Seen<'s> {
    fn new(existing: &'s Snapshot) -> Self {
        let a = &existing.accounts;
        Seen {
            ecs_ids: HashMap::new(),
            kumoi: HashMap::new(),
            student_nos: HashMap::new(),
            person_ids: HashMap::new(),
            store_ecs_ids: a.iter().map(|a| a.ecs_id.as_str()).collect(),
            store_kumoi: a.iter().map(|a| a.kumoi.as_str()).collect(),
            store_student_nos: a
                .iter()
                .flat_map(|a| {
                    a.student_nos
                        .iter()
                        .map(|n| (n.as_str(), a.ecs_id.as_str()))
                })
                .collect(),
            store_person_ids: a
                .iter()
                .filter_map(|a| Some((a.person_id.as_ref()?.as_str(), a.ecs_id.as_str())))
                .collect(),
        }
    }
}

fn cell_at(row: u32, column: usize) -> Location {
    Location::Cell {
        row,
        column: column as u32,
        header: HEADER
            .get(column)
            .copied()
            .unwrap_or(STATUS_HEADER)
            .to_string(),
    }
}

/// One data row; None when it has an error (the diagnostics say which).
fn parse_row(
    record: &csv::StringRecord,
    row: u32,
    shape: &Shape<'_>,
    seen: &mut Seen<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Account> {
    let before = diags.len();
    let mut r = Row { record, row, diags };
    r.check_unheaded(shape.columns());
    let ecs_id = r.ecs_id(shape.ids, seen)?;
    let person_id = r.person_id(seen);
    let student_nos = r.student_nos(seen);
    let name = r.name();
    let name_kana = r.text(C_NAME_KANA);
    let faculty = r.text(C_FACULTY);
    let birth_date = r.date(C_BIRTH_DATE);
    let activation_deadline = r.date(C_ACTIVATION_DEADLINE);
    let stop_on = r.date(C_STOP_ON);
    let holder_until = r.date(C_HOLDER_UNTIL);
    let role = r.role();
    let state = r.state();
    let status = if shape.has_status { r.status() } else { None };
    let kumoi = r.kumoi(seen);

    if r.diags[before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    let (role, state) = (role?, state?);
    Some(Account {
        ecs_id: EcsId::new(&ecs_id),
        kumoi: kumoi.into(),
        person_id: (!person_id.is_empty()).then(|| PersonId::new(&person_id)),
        student_nos,
        name: name.into(),
        name_kana: name_kana.into(),
        birth_date,
        faculty: faculty.into(),
        // Without the 身分 column (a first import), the next registrar export fills it in.
        status,
        role,
        state,
        activation_deadline,
        activation_expired: false,
        stop_on,
        // The directory gives the stop date but not its reason; the role implies it.
        stop_reason: stop_on.map(|_| implied_stop_reason(role)),
        departed_on: None,
        reminder_on: None,
        reminder_sent: false,
        holder_until,
        expiry_notice_for: None,
        hire: None,
        approval: None,
    })
}

/// One data row while it is read: its cells, its row number, and the file's diagnostics.
/// Each step reads one column (or a few alike), reports what is wrong with it, and returns
/// its value as far as it could be read.
struct Row<'r, 'd> {
    record: &'r csv::StringRecord,
    row: u32,
    diags: &'d mut Vec<Diagnostic>,
}

impl<'r> Row<'r, '_> {
    /// The cell in `column`, trimmed, without the `'` that `accounts export` puts before a
    /// formula-like cell; empty past the end of a short row.
    fn cell(&self, column: usize) -> &'r str {
        trim_cell(crate::formula::unneutralise(
            self.record.get(column).unwrap_or(""),
        ))
    }

    fn error(&mut self, column: usize, ja: String, en: String) {
        self.diags
            .push(Diagnostic::error(cell_at(self.row, column), ja, en));
    }

    /// [`Row::cell`] on [`one_line`], with an error when it holds control characters.
    fn text(&mut self, column: usize) -> Cow<'r, str> {
        let value = self.cell(column);
        if let Some((ja, en)) = control_characters(value) {
            self.error(column, ja, en);
        }
        one_line(value)
    }

    /// A value past the header's columns has no meaning to read it by.
    fn check_unheaded(&mut self, columns: usize) {
        let extra = self
            .record
            .iter()
            .enumerate()
            .skip(columns)
            .find(|(_, f)| !trim_cell(f).is_empty());
        if let Some((i, f)) = extra {
            let f = trim_cell(f);
            self.diags.push(Diagnostic::error(
                Location::Cell {
                    row: self.row,
                    column: i as u32,
                    header: String::new(),
                },
                format!("見出しのない列に値「{f}」があります"),
                format!("a value `{f}` in a column with no header"),
            ));
        }
    }

    /// ECS-ID: the policy's shape (`a0` + 6 digits), once in the file and not in the store
    /// (R2). None when the store has it: the row is then not read further.
    fn ecs_id(&mut self, ids: &IdFormat, seen: &mut Seen<'_>) -> Option<String> {
        let ecs_id = fold_id(self.cell(C_ECS_ID)).into_owned();
        if ecs_id.is_empty() {
            self.error(
                C_ECS_ID,
                "ECS-ID が空です".into(),
                "the ECS-ID is empty".into(),
            );
        } else if ids.serial(&ecs_id).is_none() {
            self.error(
                C_ECS_ID,
                format!(
                    "ECS-ID「{ecs_id}」の形が違います。「{}」と数字{}桁です（例: {}）",
                    ids.prefix,
                    ids.digits,
                    ids.example()
                ),
                format!(
                    "`{ecs_id}` is not an ECS-ID; expected `{}` and {} digits (e.g. `{}`)",
                    ids.prefix,
                    ids.digits,
                    ids.example()
                ),
            );
        }
        if seen.store_ecs_ids.contains(ecs_id.as_str()) {
            self.error(
                C_ECS_ID,
                format!(
                    "ECS-ID「{ecs_id}」はすでにストアにあります。取り込みは新しいアカウントだけです"
                ),
                format!(
                    "ECS-ID `{ecs_id}` is already in the store; an import only adds new accounts"
                ),
            );
            // The rest of the row is that account's own data: saying so once is enough.
            return None;
        } else if ids.serial(&ecs_id).is_some()
            && let Some(first) = seen.ecs_ids.insert(ecs_id.as_str().into(), self.row)
        {
            self.error(
                C_ECS_ID,
                format!("ECS-ID「{ecs_id}」が {first} 行目と重複しています"),
                format!("ECS-ID `{ecs_id}` is also on row {first}"),
            );
        }
        Some(ecs_id)
    }

    /// 個人番号: optional; one person, one ECS-ID (R2), so once in the file and not in the
    /// store.
    fn person_id(&mut self, seen: &mut Seen<'_>) -> String {
        let person_id = fold_id(self.cell(C_PERSON_ID)).into_owned();
        if person_id.is_empty() {
            return person_id;
        }
        if let Some(other) = seen.store_person_ids.get(person_id.as_str()) {
            self.error(
                C_PERSON_ID,
                format!(
                    "個人番号「{person_id}」はストアの ECS-ID「{other}」の人のものです（1人1ID, R2）"
                ),
                format!(
                    "個人番号 `{person_id}` belongs to ECS-ID `{other}` in the store (one person, one ECS-ID: R2)"
                ),
            );
        } else if let Some(first) = seen.person_ids.insert(person_id.as_str().into(), self.row) {
            self.error(
                C_PERSON_ID,
                format!("個人番号「{person_id}」が {first} 行目と重複しています（1人1ID, R2）"),
                format!(
                    "個人番号 `{person_id}` is also on row {first} (one person, one ECS-ID: R2)"
                ),
            );
        }
        person_id
    }

    /// 学籍番号: oldest first, separated by `;`; each once in the file and not in the store.
    fn student_nos(&mut self, seen: &mut Seen<'_>) -> Vec<StudentNo> {
        let mut student_nos = Vec::new();
        let raw_nos = self.cell(C_STUDENT_NOS);
        if raw_nos.is_empty() {
            return student_nos;
        }
        for part in raw_nos.split([';', '；']) {
            let no = fold_id(part).into_owned();
            if no.is_empty() {
                self.error(
                    C_STUDENT_NOS,
                    format!(
                        "学籍番号「{raw_nos}」に空の番号があります。「;」で区切って古い順に並べてください"
                    ),
                    format!(
                        "`{raw_nos}` has an empty student number; list them oldest first, separated by `;`"
                    ),
                );
                continue;
            }
            if let Some(other) = seen.store_student_nos.get(no.as_str()) {
                self.error(
                    C_STUDENT_NOS,
                    format!("学籍番号「{no}」はストアの ECS-ID「{other}」のものです"),
                    format!("student number `{no}` belongs to ECS-ID `{other}` in the store"),
                );
            } else if let Some(first) = seen.student_nos.insert(no.as_str().into(), self.row) {
                self.error(
                    C_STUDENT_NOS,
                    format!("学籍番号「{no}」が {first} 行目にもあります"),
                    format!("student number `{no}` is also on row {first}"),
                );
            }
            student_nos.push(StudentNo::new(&no));
        }
        student_nos
    }

    /// 氏名: required.
    fn name(&mut self) -> Cow<'r, str> {
        let name = self.text(C_NAME);
        if name.is_empty() {
            self.error(C_NAME, "氏名が空です".into(), "the name is empty".into());
        }
        name
    }

    /// A date column: empty, or any form [`parse_date`] reads (a date past its era's end is
    /// read with a warning).
    fn date(&mut self, column: usize) -> Option<NaiveDate> {
        let s = self.cell(column);
        if s.is_empty() {
            return None;
        }
        match parse_date(s) {
            Ok(p) => {
                if let Some(w) = p.warning {
                    self.diags.push(Diagnostic::warning(
                        cell_at(self.row, column),
                        w.message_ja(),
                        w.message_en(),
                    ));
                }
                Some(p.date)
            }
            Err(e) => {
                self.diags.push(Diagnostic::error(
                    cell_at(self.row, column),
                    format!("{}（例: 2026-04-01）", e.message_ja()),
                    format!("{} (expected a date such as `2026-04-01`)", e.message_en()),
                ));
                None
            }
        }
    }

    /// 区分, by its label.
    fn role(&mut self) -> Option<Role> {
        let role_cell = self.cell(C_ROLE);
        let role = Role::from_label_ja(role_cell);
        if role.is_none() {
            let labels = Role::ALL.map(Role::label_ja);
            self.error(
                C_ROLE,
                format!(
                    "区分「{role_cell}」は使えません。「{}」のどれかです",
                    labels.join("」「")
                ),
                format!("区分 `{role_cell}` is not one of `{}`", labels.join("`, `")),
            );
        }
        role
    }

    /// 状態, by its label.
    fn state(&mut self) -> Option<State> {
        let state_cell = self.cell(C_STATE);
        let state = State::from_label_ja(state_cell);
        if state.is_none() {
            let labels = STATES_LISTED.map(State::label_ja);
            self.error(
                C_STATE,
                format!(
                    "状態「{state_cell}」は使えません。「{}」のどれかです",
                    labels.join("」「")
                ),
                format!(
                    "状態 `{state_cell}` is not one of `{}`",
                    labels.join("`, `")
                ),
            );
        }
        state
    }

    /// 身分 (the optional column), by its label; an empty cell leaves it unknown.
    fn status(&mut self) -> Option<Status> {
        let s = self.cell(C_STATUS);
        let status = Status::from_label_ja(s);
        if !s.is_empty() && status.is_none() {
            let labels = Status::ALL.map(Status::label_ja);
            self.error(
                C_STATUS,
                format!(
                    "身分「{s}」は使えません。「{}」のどれかか空欄です",
                    labels.join("」「")
                ),
                format!(
                    "身分 `{s}` is not one of `{}` (or empty)",
                    labels.join("`, `")
                ),
            );
        }
        status
    }

    /// KUMOI: a mail address, once in the file and not in the store.
    fn kumoi(&mut self, seen: &mut Seen<'_>) -> &'r str {
        let kumoi = self.cell(C_KUMOI);
        if !valid_mail(kumoi) {
            self.error(
                C_KUMOI,
                format!("KUMOI「{kumoi}」はメールアドレスではありません"),
                format!("KUMOI `{kumoi}` is not a mail address"),
            );
        } else if seen.store_kumoi.contains(kumoi) {
            self.error(
                C_KUMOI,
                format!("KUMOI「{kumoi}」はすでにストアの別のアカウントのものです"),
                format!("KUMOI `{kumoi}` already belongs to an account in the store"),
            );
        } else if let Some(first) = seen.kumoi.insert(kumoi.into(), self.row) {
            self.error(
                C_KUMOI,
                format!("KUMOI「{kumoi}」が {first} 行目と重複しています"),
                format!("KUMOI `{kumoi}` is also on row {first}"),
            );
        }
        kumoi
    }
}

/// 状態 in the order a wrong cell's message lists the labels: the usual one first.
const STATES_LISTED: [State; 3] = [State::Active, State::Pending, State::Stopped];

fn valid_mail(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && s.is_ascii()
                && !s.bytes().any(|b| b.is_ascii_whitespace() || b == b',')
        }
        None => false,
    }
}

fn implied_stop_reason(role: Role) -> StopReason {
    match role {
        Role::Student => StopReason::Departed,
        Role::Holder => StopReason::HolderExpired,
        Role::ConvertingStaff => StopReason::StaffConversion,
    }
}

#[cfg(test)]
mod tests;
