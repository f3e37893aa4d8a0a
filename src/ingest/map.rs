//! From cells to typed records: finding the header row below any title rows, recognising the
//! file's kind by its header signature, and turning each row's cells into a typed record
//! according to the mapping profile, with a located diagnostic for every bad cell.
//!
//! Both readers (CSV and Excel) hand rows of [`Cell`]s to this module, so a date, an ID or a
//! code means the same thing whichever format it came in.

use chrono::NaiveDate;
use compact_str::CompactString;

use crate::domain::jpdate::{DateStyle, parse_date};
use crate::domain::model::{
    ActivationRow, EcsId, HeldRow, Kind, PersonId, RegistrarRow, RenewalRow, RowIds, RowRef,
    StaffNo, StaffRow, StudentNo,
};
use crate::domain::text::{fold_id, fold_key, has_private_use, one_line, trim_cell};
use crate::ingest::diag::{Diagnostic, Location};
use crate::ingest::profile::{Code, Column, ColumnType, Field, FileProfile, IdPattern, Profiles};

/// How many rows from the top are searched for the header row.
pub(crate) const HEADER_SEARCH_ROWS: usize = 30;

/// How many characters of a value that does not match its pattern a message shows.
const SHOWN_CHARS: usize = 40;

/// One cell as a reader found it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    Empty,
    Text(&'a str),
    /// An Excel number (IDs that lost their leading zeros, date serials without a date format).
    Number(f64),
    /// An Excel date cell.
    Date(NaiveDate),
    /// A cell with no value to read: an Excel error value, or a formula without its result.
    Error(CellError<'a>),
}

/// Why a cell has no value to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellError<'a> {
    /// An Excel error value such as `#N/A`.
    Value(&'a str),
    /// A formula whose result the file does not hold: it was written by a program other than
    /// Excel, which saves a formula's result beside it.
    NoResult,
}

impl Cell<'_> {
    fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => trim(s).is_empty(),
            _ => false,
        }
    }
}

/// [`trim_cell`], answering at once for the usual cell, which starts and ends with a byte
/// that begins no padding character (ASCII white space, U+3000 `E3 80 80`, U+00A0 `C2 A0`) and
/// ends none.
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&f), Some(&l))
            if !f.is_ascii_whitespace()
                && f != 0xE3
                && f != 0xC2
                && !l.is_ascii_whitespace()
                && l != 0x80
                && l != 0xA0 =>
        {
            s
        }
        _ => trim_cell(s),
    }
}

/// The header row found in a file: its position and where each profile column sits.
#[derive(Debug, Clone)]
pub(crate) struct Header<'p> {
    /// 0-based index of the header among the rows handed to [`find_header`].
    pub(crate) index: usize,
    pub(crate) profile: &'p FileProfile,
    /// For each mapped column: the profile column, its 0-based position and the header as written.
    pub(crate) columns: Vec<(&'p Column, u32, String)>,
    /// The export date written in the title rows, when the profile says where (`exported`).
    pub(crate) exported_on: Option<NaiveDate>,
}

impl Header<'_> {
    pub(crate) fn kind(&self) -> Kind {
        self.profile.kind
    }
}

/// Finds the header row among the first rows of a file and recognises the file's kind: the
/// first row that holds every required column of some profile. When no row does, the error
/// names the closest profile and the columns it lacks.
pub(crate) fn find_header<'p>(
    rows: &[Vec<String>],
    first_row_no: u32,
    profiles: &'p Profiles,
) -> Result<Header<'p>, Diagnostic> {
    // (missing count, row index, profile, missing headers) of the best near miss.
    let mut closest: Option<(usize, usize, &FileProfile, Vec<&str>)> = None;
    for (index, row) in rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let folded: Vec<String> = row.iter().map(|c| fold_key(c)).collect();
        if folded.iter().all(String::is_empty) {
            continue;
        }
        let mut found: Option<Header<'p>> = None;
        for profile in &profiles.files {
            let missing: Vec<&str> = profile
                .columns
                .iter()
                .filter(|c| c.required && !folded.iter().any(|f| c.keys.contains(f)))
                .map(|c| c.header.as_str())
                .collect();
            if missing.is_empty() {
                let columns = map_columns(profile, row, &folded);
                let better = found
                    .as_ref()
                    .is_none_or(|h| columns.len() > h.columns.len());
                if better {
                    found = Some(Header {
                        index,
                        profile,
                        columns,
                        exported_on: exported_on(profile, &rows[..index]),
                    });
                }
            } else if missing.len() < profile.columns.iter().filter(|c| c.required).count()
                && closest.as_ref().is_none_or(|(m, ..)| missing.len() < *m)
            {
                closest = Some((missing.len(), index, profile, missing));
            }
        }
        if let Some(header) = found {
            check_duplicates(&header, first_row_no)?;
            return Ok(header);
        }
    }
    Err(match closest {
        Some((_, index, profile, missing)) => {
            let list = missing
                .iter()
                .map(|m| format!("「{m}」"))
                .collect::<Vec<_>>()
                .join("");
            let list_en = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ");
            Diagnostic::error(
                Location::Row {
                    row: first_row_no + index as u32,
                },
                format!("{}の見出し行に必須の列{list}がありません", profile.title),
                format!(
                    "the header row looks like a `{}` file but lacks the required column(s) {list_en}",
                    profile.kind.as_str()
                ),
            )
        }
        None => {
            let kinds = profiles
                .files
                .iter()
                .map(|p| p.title.as_str())
                .collect::<Vec<_>>()
                .join("・");
            Diagnostic::error(
                Location::File,
                format!("先頭{HEADER_SEARCH_ROWS}行に見出し行が見つかりません（想定: {kinds}）"),
                format!(
                    "no header row in the first {HEADER_SEARCH_ROWS} rows matches any mapping profile (expected one of: {})",
                    profiles
                        .files
                        .iter()
                        .map(|p| p.kind.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }
    })
}

/// The date after the profile's `exported` label in the title rows: `出力日: 2026/04/02` in one
/// cell, or the label in one cell and the date in the next non-empty one.
fn exported_on(profile: &FileProfile, titles: &[Vec<String>]) -> Option<NaiveDate> {
    let label = fold_key(profile.exported.as_deref()?);
    for row in titles {
        for (k, cell) in row.iter().enumerate() {
            let cell = cell.trim();
            // The shortest start of the cell that folds to the label (folds drop spaces and
            // widths, so 「出力日」 and 「出 力 日」 both match).
            let Some(end) = cell
                .char_indices()
                .map(|(i, c)| i + c.len_utf8())
                .find(|&i| fold_key(&cell[..i]) == label)
            else {
                continue;
            };
            let rest = cell[end..]
                .trim_start_matches([':', '：', ' ', '　'])
                .trim();
            let text = if rest.is_empty() {
                row[k + 1..]
                    .iter()
                    .map(|c| c.trim())
                    .find(|c| !c.is_empty())?
            } else {
                rest
            };
            return parse_date(text).ok().map(|d| d.date);
        }
    }
    None
}

fn map_columns<'p>(
    profile: &'p FileProfile,
    row: &[String],
    folded: &[String],
) -> Vec<(&'p Column, u32, String)> {
    let mut out = Vec::new();
    for (pos, key) in folded.iter().enumerate() {
        if key.is_empty() {
            continue;
        }
        if let Some(col) = profile.columns.iter().find(|c| c.keys.contains(key)) {
            let written = row
                .get(pos)
                .map(|s| trim_cell(s).to_string())
                .unwrap_or_default();
            out.push((col, pos as u32, written));
        }
    }
    out
}

fn check_duplicates(header: &Header<'_>, first_row_no: u32) -> Result<(), Diagnostic> {
    for (i, (col, pos, written)) in header.columns.iter().enumerate() {
        if let Some((_, first_pos, first_written)) = header.columns[..i]
            .iter()
            .find(|(c, ..)| c.field == col.field)
        {
            return Err(Diagnostic::error(
                Location::Cell {
                    row: first_row_no + header.index as u32,
                    column: *pos,
                    header: written.clone(),
                },
                format!(
                    "「{written}」は「{first_written}」と同じ項目です。どちらか一方の列だけにしてください"
                ),
                format!(
                    "column `{written}` means the same as column {} `{first_written}`; keep only one of them",
                    first_pos + 1
                ),
            ));
        }
    }
    Ok(())
}

/// Maps rows of one file, once its header is known. Cheap to share across threads.
pub(crate) struct Mapper<'p> {
    kind: Kind,
    /// The profile's `[gaiji]` table.
    gaiji: &'p std::collections::BTreeMap<char, String>,
    /// Indexed by [`Field`] slot: the column feeding it, its position and its written header.
    slots: Vec<Option<(&'p Column, u32, String)>>,
    /// Whether a date serial counts from 1904 (a workbook saved so, as Excel for Mac once did).
    date1904: bool,
}

fn slot(field: Field) -> usize {
    field as usize
}

const SLOTS: usize = Field::ActivatedOn as usize + 1;

/// The typed rows one reader produces, in file order, and the rows held out for an error with
/// the identifiers readable in them.
pub(crate) struct Mapped {
    pub(crate) rows: Rows,
    pub(crate) held: Vec<HeldRow>,
}

/// The typed rows of one kind.
pub(crate) enum Rows {
    Registrar(Vec<RegistrarRow>),
    Hr(Vec<StaffRow>),
    Renewals(Vec<RenewalRow>),
    Activations(Vec<ActivationRow>),
}

impl Mapped {
    pub(crate) fn new(kind: Kind) -> Self {
        Mapped::with_capacity(kind, 0)
    }

    pub(crate) fn with_capacity(kind: Kind, n: usize) -> Self {
        let rows = match kind {
            Kind::Registrar => Rows::Registrar(Vec::with_capacity(n)),
            Kind::Hr => Rows::Hr(Vec::with_capacity(n)),
            Kind::Renewals => Rows::Renewals(Vec::with_capacity(n)),
            Kind::Activations => Rows::Activations(Vec::with_capacity(n)),
        };
        Mapped {
            rows,
            held: Vec::new(),
        }
    }

    /// Adds `delta` to every row number (readers number rows within a chunk first).
    pub(crate) fn shift_rows(&mut self, delta: u32) {
        fn shift<T>(v: &mut [T], delta: u32, at: impl Fn(&mut T) -> &mut RowRef) {
            for r in v {
                at(r).row += delta;
            }
        }
        match &mut self.rows {
            Rows::Registrar(v) => shift(v, delta, |r| &mut r.at),
            Rows::Hr(v) => shift(v, delta, |r| &mut r.at),
            Rows::Renewals(v) => shift(v, delta, |r| &mut r.at),
            Rows::Activations(v) => shift(v, delta, |r| &mut r.at),
        }
        shift(&mut self.held, delta, |r| &mut r.at);
    }

    pub(crate) fn kind(&self) -> Kind {
        match &self.rows {
            Rows::Registrar(_) => Kind::Registrar,
            Rows::Hr(_) => Kind::Hr,
            Rows::Renewals(_) => Kind::Renewals,
            Rows::Activations(_) => Kind::Activations,
        }
    }

    /// Removes every row, keeping the allocation for reuse.
    pub(crate) fn clear(&mut self) {
        match &mut self.rows {
            Rows::Registrar(v) => v.clear(),
            Rows::Hr(v) => v.clear(),
            Rows::Renewals(v) => v.clear(),
            Rows::Activations(v) => v.clear(),
        }
        self.held.clear();
    }

    pub(crate) fn reserve(&mut self, n: usize) {
        match &mut self.rows {
            Rows::Registrar(v) => v.reserve(n),
            Rows::Hr(v) => v.reserve(n),
            Rows::Renewals(v) => v.reserve(n),
            Rows::Activations(v) => v.reserve(n),
        }
    }

    /// Moves the rows of `other` (of the same kind) after these rows, leaving `other` empty
    /// with its allocation.
    pub(crate) fn append_from(&mut self, other: &mut Mapped) {
        match (&mut self.rows, &mut other.rows) {
            (Rows::Registrar(a), Rows::Registrar(b)) => a.append(b),
            (Rows::Hr(a), Rows::Hr(b)) => a.append(b),
            (Rows::Renewals(a), Rows::Renewals(b)) => a.append(b),
            (Rows::Activations(a), Rows::Activations(b)) => a.append(b),
            _ => debug_assert!(false, "chunks of one file share a kind"),
        }
        self.held.append(&mut other.held);
    }

    /// Appends `other` (of the same kind) after these rows.
    pub(crate) fn append(&mut self, mut other: Mapped) {
        self.append_from(&mut other);
    }

    /// The typed rows and the held ones.
    pub(crate) fn into_parts(self) -> (crate::domain::model::Records, Vec<HeldRow>) {
        use crate::domain::model::Records;
        let records = match self.rows {
            Rows::Registrar(v) => Records::Registrar(v),
            Rows::Hr(v) => Records::Hr(v),
            Rows::Renewals(v) => Records::Renewals(v),
            Rows::Activations(v) => Records::Activations(v),
        };
        (records, self.held)
    }

    /// The typed rows.
    #[cfg(test)]
    pub(crate) fn into_records(self) -> crate::domain::model::Records {
        self.into_parts().0
    }
}

/// One row being mapped: its cells, its number and where its diagnostics go.
struct RowCtx<'a, 'c> {
    mapper: &'a Mapper<'a>,
    cells: &'a [Cell<'c>],
    row: u32,
    diags: &'a mut Vec<Diagnostic>,
    ok: bool,
}

impl<'p> Mapper<'p> {
    pub(crate) fn new(header: &Header<'p>) -> Self {
        let mut slots = vec![None; SLOTS];
        for (col, pos, written) in &header.columns {
            slots[slot(col.field)] = Some((*col, *pos, written.clone()));
        }
        Mapper {
            kind: header.kind(),
            gaiji: &header.profile.gaiji,
            slots,
            date1904: false,
        }
    }

    /// For a workbook whose date serials count from 1904: a number in a date column (a date
    /// that lost its format) is read in that system, like the workbook's date cells.
    pub(crate) fn with_1904_dates(self, date1904: bool) -> Self {
        Mapper { date1904, ..self }
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Maps one row (skipping it when every cell is blank). `row` is the number reported in
    /// diagnostics and kept in the record. Returns whether a non-blank row was seen.
    pub(crate) fn map_row(
        &self,
        file: u32,
        row: u32,
        cells: &[Cell<'_>],
        out: &mut Mapped,
        diags: &mut Vec<Diagnostic>,
    ) -> bool {
        if cells.iter().all(Cell::is_blank) {
            return false;
        }
        let at = RowRef { file, row };
        let mut ctx = RowCtx {
            mapper: self,
            cells,
            row,
            diags,
            ok: true,
        };
        // Every cell is read before the record is assembled, so one row reports all its errors.
        let held = match &mut out.rows {
            Rows::Registrar(v) => ctx.registrar(at).map(|r| v.push(r)),
            Rows::Hr(v) => ctx.staff(at).map(|r| v.push(r)),
            Rows::Renewals(v) => ctx.renewal(at).map(|r| v.push(r)),
            Rows::Activations(v) => ctx.activation(at).map(|r| v.push(r)),
        };
        if let Err(ids) = held {
            out.held.push(HeldRow {
                at,
                ids,
                errors: Vec::new(),
            });
        }
        true
    }
}

impl<'a, 'c> RowCtx<'a, 'c> {
    /// The registrar row; when a cell has an error or the student number, status or enrollment
    /// is missing, the identifiers readable in the row instead.
    fn registrar(&mut self, at: RowRef) -> Result<RegistrarRow, RowIds> {
        let student_no = self.id(Field::StudentNo);
        let person_id = self.id(Field::PersonId);
        let ecs_id = self.id(Field::EcsId);
        let name = self.text(Field::Name);
        let name_kana = self.text(Field::NameKana);
        let birth_date = self.date(Field::BirthDate);
        let faculty = self.text(Field::Faculty);
        let status = self.code(Field::Status);
        let enrollment = self.code(Field::Enrollment);
        let admission_date = self.date(Field::AdmissionDate);
        let change_date = self.date(Field::ChangeDate);
        let person_id = person_id.map(PersonId);
        let ecs_id = ecs_id.map(EcsId);
        let (
            true,
            Some(student_no),
            Some(Code::Status(status)),
            Some(Code::Enrollment(enrollment)),
        ) = (self.ok, &student_no, status, enrollment)
        else {
            return Err(RowIds {
                student_no: student_no.map(StudentNo),
                person_id,
                ecs_id,
                staff_no: None,
            });
        };
        Ok(RegistrarRow {
            at,
            student_no: StudentNo(student_no.clone()),
            person_id,
            ecs_id,
            name,
            name_kana,
            birth_date,
            faculty,
            status,
            enrollment,
            admission_date,
            change_date,
        })
    }

    /// The HR row; when a cell has an error or the staff number, job type or hire date is
    /// missing, the identifiers readable in the row instead.
    fn staff(&mut self, at: RowRef) -> Result<StaffRow, RowIds> {
        let staff_no = self.id(Field::StaffNo);
        let person_id = self.id(Field::PersonId);
        let student_no = self.id(Field::StudentNo);
        let ecs_id = self.id(Field::EcsId);
        let name = self.text(Field::Name);
        let name_kana = self.text(Field::NameKana);
        let birth_date = self.date(Field::BirthDate);
        let affiliation = self.text(Field::Affiliation);
        let job_type = self.code(Field::JobType);
        let hire_date = self.date(Field::HireDate);
        let person_id = person_id.map(PersonId);
        let student_no = student_no.map(StudentNo);
        let ecs_id = ecs_id.map(EcsId);
        let (true, Some(staff_no), Some(Code::JobType(job_type)), Some(hire_date)) =
            (self.ok, &staff_no, job_type, hire_date)
        else {
            return Err(RowIds {
                student_no,
                person_id,
                ecs_id,
                staff_no: staff_no.map(StaffNo),
            });
        };
        Ok(StaffRow {
            at,
            staff_no: StaffNo(staff_no.clone()),
            person_id,
            student_no,
            ecs_id,
            name,
            name_kana,
            birth_date,
            affiliation,
            job_type,
            hire_date,
        })
    }

    /// The renewal row; when a cell has an error or the application kind or approval date is
    /// missing, the identifiers readable in the row instead.
    fn renewal(&mut self, at: RowRef) -> Result<RenewalRow, RowIds> {
        let kind = self.code(Field::ApplicationKind);
        let ecs_id = self.id(Field::EcsId);
        let person_id = self.id(Field::PersonId);
        let student_no = self.id(Field::StudentNo);
        let name = self.text(Field::Name);
        let name_kana = self.text(Field::NameKana);
        let birth_date = self.date(Field::BirthDate);
        let affiliation = self.text(Field::Affiliation);
        let approved_on = self.date(Field::ApprovedOn);
        let valid_until = self.date(Field::ValidUntil);
        if let (true, Some(Code::RenewalKind(kind)), Some(approved_on)) =
            (self.ok, kind, approved_on)
        {
            return Ok(RenewalRow {
                at,
                kind,
                ecs_id: ecs_id.map(EcsId),
                person_id: person_id.map(PersonId),
                student_no: student_no.map(StudentNo),
                name,
                name_kana,
                birth_date,
                affiliation,
                approved_on,
                valid_until,
            });
        }
        Err(RowIds {
            student_no: student_no.map(StudentNo),
            person_id: person_id.map(PersonId),
            ecs_id: ecs_id.map(EcsId),
            staff_no: None,
        })
    }

    /// The activation row; when a cell has an error or the ECS-ID or activation date is
    /// missing, the identifiers readable in the row instead.
    fn activation(&mut self, at: RowRef) -> Result<ActivationRow, RowIds> {
        let ecs_id = self.id(Field::EcsId);
        let activated_on = self.date(Field::ActivatedOn);
        match (self.ok, ecs_id, activated_on) {
            (true, Some(ecs_id), Some(activated_on)) => Ok(ActivationRow {
                at,
                ecs_id: EcsId(ecs_id),
                activated_on,
            }),
            (_, ecs_id, _) => Err(RowIds {
                ecs_id: ecs_id.map(EcsId),
                ..RowIds::default()
            }),
        }
    }

    /// The cell feeding `field`, with its column; `None` when the profile or file lacks it.
    /// The column and header borrow from the mapper, not from `self`, so they outlive the
    /// `&mut self` an error needs: the header is copied only into a diagnostic, never per cell.
    fn cell(&self, field: Field) -> Option<(&'a Column, u32, &'a str, Cell<'c>)> {
        let mapper: &'a Mapper<'a> = self.mapper;
        let (col, pos, written) = mapper.slots[slot(field)].as_ref()?;
        let cell = self
            .cells
            .get(*pos as usize)
            .copied()
            .unwrap_or(Cell::Empty);
        Some((col, *pos, written.as_str(), cell))
    }

    fn error(&mut self, column: u32, header: &str, ja: String, en: String) {
        self.ok = false;
        self.diags.push(
            Diagnostic::error(
                Location::Cell {
                    row: self.row,
                    column,
                    header: header.to_string(),
                },
                ja,
                en,
            )
            .in_row(),
        );
    }

    /// A required cell that is blank.
    fn missing(&mut self, column: u32, header: &str) {
        self.error(
            column,
            header,
            "必須の項目が空です".into(),
            "required value is empty".into(),
        );
    }

    fn excel_error(&mut self, column: u32, header: &str, e: CellError<'_>) {
        let (ja, en) = match e {
            CellError::Value(e) => (
                format!("Excelのエラー値「{e}」が入っています"),
                format!("the cell holds the Excel error value `{e}`"),
            ),
            CellError::NoResult => (
                "数式の計算結果がファイルに保存されていません（Excel以外で作られたファイル）。Excelで開いて保存し直してください".to_string(),
                "the cell holds a formula whose result the file does not hold (it was not saved by Excel); open it in Excel and save it again".to_string(),
            ),
        };
        self.error(column, header, ja, en);
    }

    fn id(&mut self, field: Field) -> Option<CompactString> {
        let (col, pos, header, cell) = self.cell(field)?;
        let (required, width, pattern) = match &col.ty {
            ColumnType::Id { width, pattern } => (col.required, *width, pattern.as_ref()),
            _ => (col.required, None, None),
        };
        let raw: std::borrow::Cow<'_, str> = match cell {
            Cell::Empty => "".into(),
            // `fold_id` trims and then folds full-width ASCII; a cell that is ASCII once trimmed
            // has nothing to fold.
            Cell::Text(s) => match trim(s) {
                t if t.is_ascii() => t.into(),
                t => fold_id(t),
            },
            // Only Excel numbers need a buffer; text cells, nearly all of them, borrow.
            Cell::Number(n) if n.fract() == 0.0 && (0.0..1e18).contains(&n) => {
                (n as u64).to_string().into()
            }
            Cell::Number(n) => {
                self.error(
                    pos,
                    header,
                    format!("番号として読めない数値です:「{n}」"),
                    format!("`{n}` is not a whole number"),
                );
                return None;
            }
            Cell::Date(d) => {
                self.error(
                    pos,
                    header,
                    format!("番号の欄に日付「{d}」が入っています"),
                    format!("a date `{d}` where an identifier was expected"),
                );
                return None;
            }
            Cell::Error(e) => {
                self.excel_error(pos, header, e);
                return None;
            }
        };
        if raw.is_empty() {
            if required {
                self.missing(pos, header);
            }
            return None;
        }
        if let Some(width) = width {
            let digits = raw.bytes().all(|b| b.is_ascii_digit());
            if digits && raw.len() < width {
                // Excel stores 00123456 as the number 123456; the declared width brings the zeros back.
                let mut s = CompactString::with_capacity(width);
                for _ in raw.len()..width {
                    s.push('0');
                }
                s.push_str(&raw);
                return self.matching(pos, header, pattern, s);
            }
            if digits && raw.len() > width {
                self.error(
                    pos,
                    header,
                    format!("「{raw}」は{width}桁を超えています"),
                    format!("`{raw}` is longer than the declared {width} digits"),
                );
                return None;
            }
        }
        let spaced = if raw.is_ascii() {
            // The ASCII control characters and white space are the bytes up to 0x20, and 0x7F.
            raw.bytes().any(|b| b <= b' ' || b == 0x7F)
        } else {
            raw.chars().any(|c| c.is_control() || c.is_whitespace())
        };
        if spaced {
            self.error(
                pos,
                header,
                format!("番号に空白や改行が含まれています:「{raw}」"),
                format!("identifier `{raw}` contains a space or line break"),
            );
            return None;
        }
        self.matching(pos, header, pattern, CompactString::new(&raw))
    }

    /// `value` when it has the form the profile declares for its column, else a located error
    /// showing the value (cut short when long, with its length).
    fn matching(
        &mut self,
        pos: u32,
        header: &str,
        pattern: Option<&IdPattern>,
        value: CompactString,
    ) -> Option<CompactString> {
        let Some(pattern) = pattern else {
            return Some(value);
        };
        if pattern.is_match(&value) {
            return Some(value);
        }
        let chars = value.chars().count();
        let shown: String = if chars > SHOWN_CHARS {
            let head: String = value.chars().take(SHOWN_CHARS).collect();
            format!("{head}…")
        } else {
            value.to_string()
        };
        let (ja_len, en_len) = if chars > SHOWN_CHARS {
            (format!("（{chars}文字）"), format!(" ({chars} characters)"))
        } else {
            (String::new(), String::new())
        };
        let source = &pattern.source;
        self.error(
            pos,
            header,
            format!("「{shown}」{ja_len}は{header}の形式（{source}）に合いません"),
            format!(
                "`{shown}`{en_len} does not have the form of a {header}: `{source}` was expected"
            ),
        );
        None
    }

    fn text(&mut self, field: Field) -> CompactString {
        let Some((col, pos, header, cell)) = self.cell(field) else {
            return CompactString::default();
        };
        let required = col.required;
        let value = match cell {
            Cell::Empty => CompactString::default(),
            Cell::Text(s) => CompactString::new(one_line(trim(s))),
            Cell::Number(n) => CompactString::new(format!("{n}")),
            Cell::Date(d) => CompactString::new(d.to_string()),
            Cell::Error(e) => {
                self.excel_error(pos, header, e);
                return CompactString::default();
            }
        };
        // A control character is an error at the cell, which holds its row out.
        if let Some((ja, en)) = crate::ingest::diag::control_characters(&value) {
            self.error(pos, header, ja, en);
            return CompactString::default();
        }
        if value.is_empty() && required {
            self.missing(pos, header);
        }
        if has_private_use(&value) {
            return self.gaiji(pos, header, &value);
        }
        value
    }

    fn date(&mut self, field: Field) -> Option<NaiveDate> {
        let (col, pos, header, cell) = self.cell(field)?;
        let required = col.required;
        let styles: &[DateStyle] = match &col.ty {
            ColumnType::Date { styles } => styles,
            _ => &[],
        };
        match cell {
            Cell::Empty => {
                if required {
                    self.missing(pos, header);
                }
                None
            }
            Cell::Date(d) => Some(d),
            Cell::Number(n) => match serial::excel_number_date(n, self.mapper.date1904) {
                Some(d) => Some(d),
                None => {
                    self.error(
                        pos,
                        header,
                        format!("日付として読めない数値です:「{n}」"),
                        format!("number `{n}` is not a date"),
                    );
                    None
                }
            },
            Cell::Error(e) => {
                self.excel_error(pos, header, e);
                None
            }
            Cell::Text(s) => {
                let s = trim(s);
                if s.is_empty() {
                    if required {
                        self.missing(pos, header);
                    }
                    return None;
                }
                match parse_date(s) {
                    Ok(p) if !styles.contains(&p.style) => {
                        self.error(
                            pos,
                            header,
                            format!("「{s}」はこの列で使えない書き方の日付です"),
                            format!("`{s}` is written in a date style this column does not accept"),
                        );
                        None
                    }
                    Ok(p) => {
                        if let Some(w) = p.warning {
                            self.diags.push(Diagnostic::warning(
                                Location::Cell {
                                    row: self.row,
                                    column: pos,
                                    header: header.to_string(),
                                },
                                w.message_ja(),
                                w.message_en(),
                            ));
                        }
                        Some(p.date)
                    }
                    Err(e) => {
                        self.error(pos, header, e.message_ja(), e.message_en());
                        None
                    }
                }
            }
        }
    }

    fn code(&mut self, field: Field) -> Option<Code> {
        let (col, pos, header, cell) = self.cell(field)?;
        let ColumnType::Enum {
            exact,
            folded,
            labels,
        } = &col.ty
        else {
            return None;
        };
        let mut num = String::new();
        let text: &str = match cell {
            Cell::Empty => "",
            Cell::Text(s) => trim(s),
            Cell::Number(n) => {
                use std::fmt::Write as _;
                let _ = write!(num, "{n}");
                &num
            }
            Cell::Date(_) => "?",
            Cell::Error(e) => {
                self.excel_error(pos, header, e);
                return None;
            }
        };
        if text.is_empty() {
            self.missing(pos, header);
            return None;
        }
        let exact = exact.iter().find(|(l, _)| l.as_bytes() == text.as_bytes());
        if let Some(code) = exact
            .map(|(_, c)| c)
            .or_else(|| folded.get(&fold_key(text)))
        {
            return Some(*code);
        }
        let expected = labels
            .iter()
            .filter(|l| !l.bytes().all(|b| b.is_ascii_digit()))
            .cloned()
            .collect::<Vec<_>>();
        let codes = labels
            .iter()
            .filter(|l| l.bytes().all(|b| b.is_ascii_digit()))
            .cloned()
            .collect::<Vec<_>>();
        let (ja_codes, en_codes) = if codes.is_empty() {
            (String::new(), String::new())
        } else {
            (
                format!("（コード {}）", codes.join(", ")),
                format!(" (or codes {})", codes.join(", ")),
            )
        };
        self.error(
            pos,
            header,
            format!(
                "「{text}」は{header}として登録されていない値です。使える値: {}{ja_codes}",
                expected.join("、")
            ),
            format!(
                "`{text}` is not a known {header} value; expected one of {}{en_codes}",
                expected.join(", ")
            ),
        );
        None
    }
}

mod gaiji;
mod serial;
#[cfg(test)]
mod tests;
