//! Mapping profiles: the TOML files in `mappings/` that say, for each kind of input file, which
//! columns mean what, which are required, how codes map to typed values, and how wide
//! zero-padded IDs are.
//!
//! A profile is checked completely when it is loaded ([`Profiles::load`]), before the first row
//! of any input is read: an unknown field, a vocabulary value that names no variant, or a field
//! the records cannot do without that is not marked required are configuration errors.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::jpdate::DateStyle;
use crate::domain::model::{Enrollment, JobType, Kind, RenewalKind, Status};
use crate::domain::text::{fold_key, is_private_use};

/// The profile shipped in `mappings/`, compiled in so that `regsync check` works from any folder.
const BUILTIN: [(&str, &str); 4] = [
    (
        "registrar.toml",
        include_str!("../../mappings/registrar.toml"),
    ),
    ("hr.toml", include_str!("../../mappings/hr.toml")),
    (
        "renewals.toml",
        include_str!("../../mappings/renewals.toml"),
    ),
    (
        "activations.toml",
        include_str!("../../mappings/activations.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read mapping profile `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mapping profile `{file}` is not valid TOML: {message}")]
    Toml { file: String, message: String },
    #[error("mapping profile `{file}`: {message}")]
    Invalid { file: String, message: String },
}

/// A value of one of the registry's vocabularies, as a profile maps a label or code to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Status(Status),
    Enrollment(Enrollment),
    JobType(JobType),
    RenewalKind(RenewalKind),
}

/// The fields a column can feed. Which fields a kind accepts is fixed by its record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    StudentNo,
    PersonId,
    EcsId,
    StaffNo,
    Name,
    NameKana,
    BirthDate,
    Faculty,
    Affiliation,
    Status,
    Enrollment,
    AdmissionDate,
    ChangeDate,
    JobType,
    HireDate,
    #[serde(rename = "kind")]
    ApplicationKind,
    ApprovedOn,
    ValidUntil,
    ActivatedOn,
}

impl Field {
    /// The fields each kind's record has, and which of them the record cannot do without.
    fn allowed(kind: Kind) -> &'static [(Field, bool)] {
        use Field::*;
        match kind {
            Kind::Registrar => &[
                (StudentNo, true),
                (PersonId, false),
                (EcsId, false),
                (Name, true),
                (NameKana, false),
                (BirthDate, false),
                (Faculty, true),
                (Status, true),
                (Enrollment, true),
                (AdmissionDate, false),
                (ChangeDate, false),
            ],
            Kind::Hr => &[
                (StaffNo, true),
                (PersonId, false),
                (StudentNo, false),
                (EcsId, false),
                (Name, true),
                (NameKana, false),
                (BirthDate, false),
                (Affiliation, false),
                (JobType, true),
                (HireDate, true),
            ],
            Kind::Renewals => &[
                (ApplicationKind, true),
                (EcsId, false),
                (PersonId, false),
                (StudentNo, false),
                (Name, true),
                (NameKana, false),
                (BirthDate, false),
                (Affiliation, false),
                (ApprovedOn, true),
                (ValidUntil, false),
            ],
            Kind::Activations => &[(EcsId, true), (ActivatedOn, true)],
        }
    }

    /// Parses a vocabulary value named in a profile into this field's typed code.
    fn code(self, name: &str) -> Option<Code> {
        match self {
            Field::Status => Status::from_name(name).map(Code::Status),
            Field::Enrollment => Enrollment::from_name(name).map(Code::Enrollment),
            Field::JobType => JobType::from_name(name).map(Code::JobType),
            Field::ApplicationKind => RenewalKind::from_name(name).map(Code::RenewalKind),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum ColumnType {
    /// An identifier or code; digits restored to `width` when Excel dropped leading zeros, then
    /// matched whole against `pattern` when the profile declares one.
    Id {
        width: Option<usize>,
        pattern: Option<IdPattern>,
    },
    /// Free text kept as written (trimmed of padding).
    Text,
    Date {
        styles: Vec<DateStyle>,
    },
    /// A vocabulary: the cell's label or code, exact or folded, maps to a typed value. `exact`
    /// is searched in order, comparing bytes: a handful of short labels, the common ones first
    /// (as the profile lists them), is quicker to scan than to hash.
    Enum {
        exact: Vec<(Box<str>, Code)>,
        folded: HashMap<String, Code>,
        labels: Vec<String>,
    },
}

/// The form an identifier column's values must have, as the profile writes it (`[0-9]{8}`),
/// matched against the whole value. The `regex` crate matches in time linear in the value, so a
/// hostile cell of thousands of letters costs no more than reading it.
#[derive(Debug, Clone)]
pub struct IdPattern {
    pub source: String,
    regex: regex::Regex,
    /// The pattern is a run of ASCII digits of a length in this range (`[0-9]{8}`,
    /// `[0-9]{6,10}`), the form of every shipped profile's patterns: checked by counting, as
    /// it is on every row (the regex, whose cache is shared between threads, took ~7 % of
    /// reading a file). Equal to the regex on every value (see the tests).
    digits: Option<(usize, usize)>,
}

impl IdPattern {
    fn new(source: &str) -> Result<Self, String> {
        regex::RegexBuilder::new(&format!("^(?:{source})$"))
            .size_limit(1 << 20)
            .build()
            .map(|regex| IdPattern {
                source: source.to_string(),
                regex,
                digits: digit_run(source),
            })
            .map_err(|e| format!("`{source}` is not a valid pattern: {e}"))
    }

    pub fn is_match(&self, value: &str) -> bool {
        match self.digits {
            Some((min, max)) => {
                (min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
            }
            None => self.regex.is_match(value),
        }
    }
}

/// The lengths a pattern `[0-9]{n}` or `[0-9]{m,n}` allows; `None` for any other pattern.
fn digit_run(source: &str) -> Option<(usize, usize)> {
    let counts = source.strip_prefix("[0-9]{")?.strip_suffix('}')?;
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<usize>().ok())
            .flatten()
    };
    let (min, max) = match counts.split_once(',') {
        Some((m, n)) => (number(m)?, number(n)?),
        None => (number(counts)?, number(counts)?),
    };
    (min <= max).then_some((min, max))
}

#[derive(Debug, Clone)]
pub struct Column {
    pub field: Field,
    pub header: String,
    /// Folded forms of the header and its aliases, compared with folded header cells.
    pub keys: Vec<String>,
    pub required: bool,
    pub ty: ColumnType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Snapshot {
    /// Every current student is in every export: absence means the person left.
    Full,
    /// Only changed rows: absence means nothing.
    Changes,
}

/// The checked profile of one kind of file.
#[derive(Debug, Clone)]
pub struct FileProfile {
    pub kind: Kind,
    pub title: String,
    pub sheet: Option<String>,
    pub snapshot: Snapshot,
    /// The label of the export date in the title rows above the header (`出力日`): the date
    /// after it (in the same cell after `:`, or in the next cell) orders the night's full
    /// snapshots, newest wins; without it, or when the file has none, modification time does.
    pub exported: Option<String>,
    pub columns: Vec<Column>,
    /// `[gaiji]`: the university's 外字, private-use characters, each with the standard
    /// characters it is read as in text columns.
    pub gaiji: BTreeMap<char, String>,
}

/// All kinds' profiles, the unit a mapping directory provides, with the bounds every workbook
/// is read within.
#[derive(Debug, Clone)]
pub struct Profiles {
    pub files: Vec<FileProfile>,
    /// `[limits]` of the configuration; the defaults otherwise.
    pub limits: Limits,
    /// `[policy] row_errors` and `row_errors_max_share`: whether a row with an error is held
    /// out or rejects its file.
    pub rows: RowPolicy,
}

/// What a data row with an error does to its file (see [`crate::domain::policy::RowErrors`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowPolicy {
    /// Hold the row out and use the rest of the file.
    pub hold: bool,
    /// More rows with errors than this share of the file's rows reject it whole all the same.
    pub max_share: f64,
}

impl RowPolicy {
    pub fn of(policy: &crate::domain::policy::Policy) -> Self {
        RowPolicy {
            hold: policy.row_errors == crate::domain::policy::RowErrors::HoldRows,
            max_share: policy.row_errors_max_share,
        }
    }

    /// Whether `held` rows with errors among `rows` data rows may be held out, the rest of the
    /// file used. One bad row is always held (a file of a few rows is still one typo).
    pub(crate) fn holds(&self, held: usize, rows: usize) -> bool {
        self.hold && (held <= 1 || held as f64 <= self.max_share * rows as f64)
    }
}

impl Default for RowPolicy {
    fn default() -> Self {
        RowPolicy::of(&crate::domain::policy::Policy::default())
    }
}

/// Bounds on a workbook, checked before anything is allocated in proportion to what the file
/// claims: a sheet's cells beyond `max_rows` or `max_columns` (or a declared used range beyond
/// them), or parts that expand to more than `max_uncompressed` bytes, reject the file. CSV
/// files are streamed and need none of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The last sheet row a cell may be on (1-based, title rows included).
    pub max_rows: u32,
    /// The last sheet column a cell may be in (1-based: 26 is Z).
    pub max_columns: u32,
    /// The most bytes a workbook's parts may expand to, all together.
    pub max_uncompressed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 2_000_000,
            max_columns: 200,
            max_uncompressed: 256 << 20,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    kind: Kind,
    title: String,
    sheet: Option<String>,
    snapshot: Option<Snapshot>,
    exported: Option<String>,
    columns: Vec<RawColumn>,
    #[serde(default)]
    gaiji: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    field: Field,
    header: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    required: bool,
    #[serde(rename = "type")]
    ty: RawType,
    width: Option<usize>,
    pattern: Option<String>,
    formats: Option<Vec<DateStyle>>,
    #[serde(default)]
    values: indexmap_free::OrderedValues,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum RawType {
    Id,
    Text,
    Date,
    Enum,
}

/// `values` keeps the profile's order so that messages list labels as the profile does.
mod indexmap_free {
    use serde::Deserialize;

    #[derive(Default)]
    pub(crate) struct OrderedValues(pub Vec<(String, String)>);

    impl<'de> Deserialize<'de> for OrderedValues {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let table = toml::Table::deserialize(d)?;
            let mut out = Vec::with_capacity(table.len());
            for (k, v) in table {
                match v {
                    toml::Value::String(s) => out.push((k, s)),
                    other => {
                        return Err(serde::de::Error::custom(format!(
                            "value for `{k}` must be a string, found {}",
                            other.type_str()
                        )));
                    }
                }
            }
            Ok(OrderedValues(out))
        }
    }
}

impl Profiles {
    /// The profile compiled into the binary (the repository's `mappings/`).
    pub fn builtin() -> Result<Self, ProfileError> {
        Self::from_sources(BUILTIN.iter().map(|(f, s)| (f.to_string(), s.to_string())))
    }

    /// Loads every `*.toml` in `dir`.
    pub fn load(dir: &Path) -> Result<Self, ProfileError> {
        let io = |source| ProfileError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            // `directory*.toml` are the directory's profiles (`crate::directory::profile`).
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("directory"))
            })
            .collect();
        names.sort();
        let mut sources = Vec::with_capacity(names.len());
        for path in names {
            let text = std::fs::read_to_string(&path).map_err(|source| ProfileError::Io {
                path: path.clone(),
                source,
            })?;
            sources.push((path.display().to_string(), text));
        }
        Self::from_sources(sources)
    }

    fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ProfileError> {
        let mut files: Vec<FileProfile> = Vec::new();
        for (file, text) in sources {
            let raw: RawProfile = toml::from_str(&text).map_err(|e| ProfileError::Toml {
                file: file.clone(),
                message: e.to_string(),
            })?;
            let profile = check(&file, raw)?;
            if files.iter().any(|f| f.kind == profile.kind) {
                return Err(ProfileError::Invalid {
                    file,
                    message: format!("a second profile for kind `{}`", profile.kind.as_str()),
                });
            }
            files.push(profile);
        }
        if files.is_empty() {
            return Err(ProfileError::Invalid {
                file: "mappings".into(),
                message: "no `*.toml` profiles".into(),
            });
        }
        files.sort_by_key(|f| f.kind);
        Ok(Profiles {
            files,
            limits: Limits::default(),
            rows: RowPolicy::default(),
        })
    }

    pub fn get(&self, kind: Kind) -> Option<&FileProfile> {
        self.files.iter().find(|f| f.kind == kind)
    }

    /// Whether a registrar file is a full snapshot (its absentees depart, R5; the newest of a
    /// night wins) rather than a partial export.
    pub fn registrar_is_full(&self) -> bool {
        self.get(Kind::Registrar)
            .is_some_and(|p| p.snapshot == Snapshot::Full)
    }
}

fn check(file: &str, raw: RawProfile) -> Result<FileProfile, ProfileError> {
    let invalid = |message: String| ProfileError::Invalid {
        file: file.to_string(),
        message,
    };
    let allowed = Field::allowed(raw.kind);
    let mut columns = Vec::with_capacity(raw.columns.len());
    for c in raw.columns {
        let Some(&(_, needed)) = allowed.iter().find(|(f, _)| *f == c.field) else {
            return Err(invalid(format!(
                "field `{:?}` is not part of a `{}` record",
                c.field,
                raw.kind.as_str()
            )));
        };
        if needed && !c.required {
            return Err(invalid(format!(
                "column `{}` must be `required = true`: every record needs it",
                c.header
            )));
        }
        if columns.iter().any(|k: &Column| k.field == c.field) {
            return Err(invalid(format!(
                "field of column `{}` is mapped twice",
                c.header
            )));
        }
        if c.pattern.is_some() && c.ty != RawType::Id {
            return Err(invalid(format!(
                "column `{}`: `pattern` is only for `type = \"id\"`",
                c.header
            )));
        }
        let ty = match c.ty {
            RawType::Id => ColumnType::Id {
                width: c.width,
                pattern: match c.pattern.as_deref() {
                    Some(p) => Some(
                        IdPattern::new(p)
                            .map_err(|e| invalid(format!("column `{}`: {e}", c.header)))?,
                    ),
                    None => None,
                },
            },
            RawType::Text => ColumnType::Text,
            RawType::Date => ColumnType::Date {
                styles: c
                    .formats
                    .unwrap_or_else(|| vec![DateStyle::Western, DateStyle::Wareki]),
            },
            RawType::Enum => {
                if c.values.0.is_empty() {
                    return Err(invalid(format!(
                        "column `{}` has `type = \"enum\"` but no `values`",
                        c.header
                    )));
                }
                let mut exact: Vec<(Box<str>, Code)> = Vec::new();
                let mut folded = HashMap::new();
                let mut labels = Vec::new();
                for (label, target) in c.values.0 {
                    let code = c.field.code(&target).ok_or_else(|| {
                        invalid(format!("column `{}`: `{label}` maps to `{target}`, which is not a value of this field", c.header))
                    })?;
                    folded.insert(fold_key(&label), code);
                    match exact.iter_mut().find(|(l, _)| **l == *label) {
                        Some(slot) => slot.1 = code,
                        None => exact.push((label.as_str().into(), code)),
                    }
                    labels.push(label);
                }
                ColumnType::Enum {
                    exact,
                    folded,
                    labels,
                }
            }
        };
        let is_enum_field = matches!(
            c.field,
            Field::Status | Field::Enrollment | Field::JobType | Field::ApplicationKind
        );
        if is_enum_field != matches!(ty, ColumnType::Enum { .. }) {
            return Err(invalid(format!(
                "column `{}`: the field and `type` do not agree",
                c.header
            )));
        }
        let mut keys = vec![fold_key(&c.header)];
        keys.extend(c.aliases.iter().map(|a| fold_key(a)));
        columns.push(Column {
            field: c.field,
            header: c.header,
            keys,
            required: c.required,
            ty,
        });
    }
    for (field, needed) in allowed {
        if *needed && !columns.iter().any(|c| c.field == *field) {
            return Err(invalid(format!(
                "no column for field `{field:?}`, which every record needs"
            )));
        }
    }
    Ok(FileProfile {
        kind: raw.kind,
        title: raw.title,
        sheet: raw.sheet,
        snapshot: raw.snapshot.unwrap_or(Snapshot::Full),
        exported: raw.exported.filter(|l| !l.trim().is_empty()),
        columns,
        gaiji: check_gaiji(raw.gaiji).map_err(invalid)?,
    })
}

/// `[gaiji]` keys are private-use code points written `U+E000`; each value is the standard
/// text it stands for, with no private-use or control character in it.
fn check_gaiji(raw: BTreeMap<String, String>) -> Result<BTreeMap<char, String>, String> {
    let mut table = BTreeMap::new();
    for (key, value) in raw {
        let c = key
            .strip_prefix("U+")
            .or_else(|| key.strip_prefix("u+"))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32)
            .ok_or_else(|| format!("`gaiji`: `{key}` is not a code point written as `U+E000`"))?;
        if !is_private_use(c) {
            return Err(format!(
                "`gaiji`: `{key}` is not a private-use character (U+E000–U+F8FF, U+F0000–U+10FFFD)"
            ));
        }
        if value.is_empty() || value.chars().any(|v| is_private_use(v) || v.is_control()) {
            return Err(format!(
                "`gaiji`: `{key}` must map to standard characters, such as `髙`"
            ));
        }
        table.insert(c, value);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digit_run_pattern_is_counted_and_others_go_to_the_regex() {
        for (source, counted) in [
            ("[0-9]{8}", Some((8, 8))),
            ("[0-9]{6,10}", Some((6, 10))),
            ("[0-9]{0,3}", Some((0, 3))),
            ("[0-9]{10,6}", None),
            ("[0-9]{8,}", None),
            ("[0-9]{,8}", None),
            ("[0-9]+", None),
            ("\\d{8}", None),
            ("[0-9]{8}|X", None),
            ("[0-9]{99999}", None),
            ("[0-9]{ 8}", None),
        ] {
            let p = IdPattern::new(source);
            assert_eq!(p.map(|p| p.digits).ok().flatten(), counted, "{source}");
        }
    }

    proptest::proptest! {
        /// The counted form is an optimisation: it must say what the regex says.
        #[test]
        fn a_counted_pattern_matches_what_its_regex_matches(
            value in proptest::prop_oneof!["[0-9]{0,12}", "[0-9０-９٣a-zA-Z \\n-]{0,12}"],
            (min, extra) in (0usize..10, 0usize..4),
        ) {
            for source in [format!("[0-9]{{{min}}}"), format!("[0-9]{{{min},{}}}", min + extra)] {
                let p = IdPattern::new(&source).map_err(proptest::test_runner::TestCaseError::fail)?;
                proptest::prop_assert!(p.digits.is_some());
                proptest::prop_assert_eq!(p.is_match(&value), p.regex.is_match(&value), "{} on {:?}", source, value);
            }
        }
    }

    #[test]
    fn builtin_profile_loads_all_four_kinds() {
        let p = Profiles::builtin().map_err(|e| e.to_string());
        let kinds: Vec<Kind> = p
            .iter()
            .flat_map(|p| p.files.iter().map(|f| f.kind))
            .collect();
        assert_eq!(kinds, Kind::ALL.to_vec());
    }

    #[test]
    fn unknown_vocabulary_target_is_a_config_error() {
        let text = r#"
kind = "activations"
title = "t"
[[columns]]
field = "ecs_id"
header = "ECS-ID"
required = true
type = "id"
[[columns]]
field = "activated_on"
header = "有効化日"
required = true
type = "enum"
values = { "x" = "nope" }
"#;
        let err = Profiles::from_sources([("a.toml".to_string(), text.to_string())]);
        assert!(matches!(err, Err(ProfileError::Invalid { .. })), "{err:?}");
    }

    #[test]
    fn field_every_record_needs_must_be_required() {
        let text = r#"
kind = "activations"
title = "t"
[[columns]]
field = "ecs_id"
header = "ECS-ID"
type = "id"
[[columns]]
field = "activated_on"
header = "有効化日"
required = true
type = "date"
"#;
        let err = Profiles::from_sources([("a.toml".to_string(), text.to_string())]);
        assert!(matches!(err, Err(ProfileError::Invalid { .. })), "{err:?}");
    }

    #[test]
    fn gaiji_entries_map_private_use_code_points_to_standard_text() {
        let load = |gaiji: &str| {
            let text = format!(
                "kind = \"activations\"\ntitle = \"t\"\n[[columns]]\nfield = \"ecs_id\"\nheader = \"ECS-ID\"\nrequired = true\ntype = \"id\"\n[[columns]]\nfield = \"activated_on\"\nheader = \"有効化日\"\nrequired = true\ntype = \"date\"\n[gaiji]\n{gaiji}\n"
            );
            Profiles::from_sources([("a.toml".to_string(), text)])
                .map(|p| p.files[0].gaiji.clone().into_iter().collect::<Vec<_>>())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            load("\"U+E000\" = \"髙\"\n\"u+f8ff\" = \"﨑\""),
            Ok(vec![
                ('\u{E000}', "髙".to_string()),
                ('\u{F8FF}', "﨑".to_string())
            ])
        );
        for (entry, expected) in [
            (
                "\"E000\" = \"髙\"",
                "is not a code point written as `U+E000`",
            ),
            (
                "\"U+ZZZZ\" = \"髙\"",
                "is not a code point written as `U+E000`",
            ),
            ("\"U+9AD9\" = \"高\"", "is not a private-use character"),
            ("\"U+E000\" = \"\"", "must map to standard characters"),
            (
                "\"U+E000\" = \"\u{E001}\"",
                "must map to standard characters",
            ),
        ] {
            let got = load(entry);
            assert!(
                got.as_ref().is_err_and(|e| e.contains(expected)),
                "{entry}: {got:?}"
            );
        }
    }

    #[test]
    fn an_id_pattern_must_compile_and_belongs_to_id_columns() {
        let profile = |extra: &str, ty: &str| {
            format!(
                "kind = \"activations\"\ntitle = \"t\"\n[[columns]]\nfield = \"ecs_id\"\nheader = \"ECS-ID\"\nrequired = true\ntype = \"{ty}\"\n{extra}\n[[columns]]\nfield = \"activated_on\"\nheader = \"有効化日\"\nrequired = true\ntype = \"date\"\n"
            )
        };
        let load = |text: String| Profiles::from_sources([("a.toml".to_string(), text)]);
        let ok = load(profile("pattern = \"[a-z][0-9]{7}\"", "id")).map_err(|e| e.to_string());
        let pattern = ok
            .as_ref()
            .ok()
            .and_then(|p| match &p.files[0].columns[0].ty {
                ColumnType::Id { pattern, .. } => pattern.clone(),
                _ => None,
            });
        assert!(pattern.as_ref().is_some_and(|p| p.is_match("a0183204")));
        assert!(pattern.as_ref().is_some_and(|p| !p.is_match("a01832045")));
        assert!(pattern.as_ref().is_some_and(|p| !p.is_match("xa0183204")));
        let bad = load(profile("pattern = \"[0-9\"", "id")).map_err(|e| e.to_string());
        assert!(
            bad.as_ref()
                .err()
                .is_some_and(|e| e.contains("is not a valid pattern")),
            "{bad:?}"
        );
        let text = load(profile("pattern = \"x\"", "text")).map_err(|e| e.to_string());
        assert!(
            text.as_ref()
                .err()
                .is_some_and(|e| e.contains("`pattern` is only for")),
            "{text:?}"
        );
    }
}
