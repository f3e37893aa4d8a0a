//! Directory profiles (`mappings/directory*.toml`): how an account becomes an entry.
//!
//! A profile names its server kind (`openldap` or `active_directory`), the RDN attribute, the
//! object classes of a new entry, the attribute templates (`{field}` from the account: see
//! [`Field`]), the affiliation of each role, and the attributes that express each state
//! (pending, active, stopped). An empty value means the attribute is absent. Every attribute
//! must be one the server kind knows (with `;lang-xx` options), and none may hold a password:
//! a profile that breaks either rule, or has a template error, is refused when the
//! configuration is checked, naming its line.

use std::collections::BTreeMap;

use serde::Deserialize;
use unicode_normalization::UnicodeNormalization as _;

use super::{Desired, DirectoryError};
use crate::directory::change::{Attrs, Entry};

/// The shipped profiles, by file name.
const BUILTIN: &[(&str, &str)] = &[
    (
        "directory.toml",
        include_str!("../../mappings/directory.toml"),
    ),
    (
        "directory-ad.toml",
        include_str!("../../mappings/directory-ad.toml"),
    ),
];

/// Attributes that hold credentials: never written (R12, R13), whatever the profile says.
const SECRET_ATTRIBUTES: &[&str] = &[
    "userpassword",
    "unicodepwd",
    "authpassword",
    "sambantpassword",
    "sambalmpassword",
    "userpkcs12",
    "pwdhistory",
    "dbcspwd",
    "supplementalcredentials",
];

const OPENLDAP_ATTRIBUTES: &[&str] = &[
    "uid",
    "mail",
    "cn",
    "sn",
    "givenname",
    "displayname",
    "initials",
    "employeetype",
    "employeenumber",
    "departmentnumber",
    "businesscategory",
    "ou",
    "o",
    "title",
    "description",
    "preferredlanguage",
    "telephonenumber",
    "labeleduri",
    "pwdaccountlockedtime",
    "pwdpolicysubentry",
];

const AD_ATTRIBUTES: &[&str] = &[
    "cn",
    "samaccountname",
    "userprincipalname",
    "mail",
    "sn",
    "givenname",
    "displayname",
    "initials",
    "department",
    "company",
    "description",
    "employeetype",
    "employeeid",
    "employeenumber",
    "title",
    "physicaldeliveryofficename",
    "useraccountcontrol",
];

/// The server a profile is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    OpenLdap,
    ActiveDirectory,
}

/// A field of the account a template may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    EcsId,
    Kumoi,
    Name,
    Family,
    Given,
    Kana,
    KanaFamily,
    KanaGiven,
    Roman,
    RomanFamily,
    RomanGiven,
    Faculty,
    Role,
    Affiliation,
    Status,
}

const FIELDS: &[(&str, Field)] = &[
    ("ecs_id", Field::EcsId),
    ("kumoi", Field::Kumoi),
    ("name", Field::Name),
    ("family", Field::Family),
    ("given", Field::Given),
    ("kana", Field::Kana),
    ("kana_family", Field::KanaFamily),
    ("kana_given", Field::KanaGiven),
    ("roman", Field::Roman),
    ("roman_family", Field::RomanFamily),
    ("roman_given", Field::RomanGiven),
    ("faculty", Field::Faculty),
    ("role", Field::Role),
    ("affiliation", Field::Affiliation),
    ("status", Field::Status),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(Field),
}

/// A checked attribute template.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Template(Vec<Piece>);

/// A checked directory profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub file: String,
    pub kind: Kind,
    /// The RDN attribute; its value is the ECS-ID.
    pub rdn: String,
    pub object_classes: Vec<String>,
    attributes: Vec<(String, Template)>,
    affiliation: BTreeMap<String, String>,
    /// Per state (pending, active, stopped): attribute and value; `None` is absent.
    states: [Vec<(String, Option<String>)>; 3],
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    kind: String,
    rdn: String,
    object_classes: Vec<String>,
    attributes: toml::Table,
    #[serde(default)]
    affiliation: BTreeMap<String, String>,
    states: RawStates,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStates {
    pending: toml::Table,
    active: toml::Table,
    stopped: toml::Table,
}

impl Profile {
    /// The profile `name`: the file of that name in `mappings` when given and present, else the
    /// shipped one.
    pub(crate) fn load(
        name: &str,
        mappings: Option<&std::path::Path>,
    ) -> Result<Profile, DirectoryError> {
        if let Some(dir) = mappings {
            let path = dir.join(name);
            if path.is_file() {
                let text = fs_err::read_to_string(&path)
                    .map_err(|e| DirectoryError::Config(e.to_string()))?;
                return Profile::parse(&path.display().to_string(), &text);
            }
        }
        match BUILTIN.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Profile::parse(&format!("mappings/{n}"), text),
            None => Err(DirectoryError::Config(format!(
                "ディレクトリプロファイル `{name}` がありません / no directory profile `{name}`\nhint: the shipped ones are `directory.toml` (OpenLDAP) and `directory-ad.toml` (Active Directory)"
            ))),
        }
    }

    /// Parses and checks a profile's text; errors name `file` and the line.
    pub(crate) fn parse(file: &str, text: &str) -> Result<Profile, DirectoryError> {
        let raw: RawProfile = toml::from_str(text).map_err(|e| DirectoryError::Profile {
            file: file.to_string(),
            line: e.span().map_or(0, |s| {
                text.get(..s.start).map_or(0, |t| t.matches('\n').count()) + 1
            }),
            message: e.message().to_string(),
        })?;
        let err = |section: &str, key: &str, message: String| DirectoryError::Profile {
            file: file.to_string(),
            line: line_of(text, section, key),
            message,
        };
        let kind = match raw.kind.as_str() {
            "openldap" => Kind::OpenLdap,
            "active_directory" => Kind::ActiveDirectory,
            other => {
                return Err(err(
                    "",
                    "kind",
                    format!("`kind` = `{other}`: expected `openldap` or `active_directory`"),
                ));
            }
        };
        check_attribute(kind, &raw.rdn).map_err(|m| err("", "rdn", m))?;
        let mut attributes = Vec::new();
        for (name, value) in &raw.attributes {
            check_attribute(kind, name).map_err(|m| err("attributes", name, m))?;
            let toml::Value::String(t) = value else {
                return Err(err(
                    "attributes",
                    name,
                    format!("`{name}` must be a string template"),
                ));
            };
            let template = Template::parse(t).map_err(|m| err("attributes", name, m))?;
            attributes.push((name.clone(), template));
        }
        if !attributes
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(&raw.rdn))
        {
            return Err(err(
                "",
                "rdn",
                format!(
                    "the RDN attribute `{}` has no template in [attributes]",
                    raw.rdn
                ),
            ));
        }
        let mut states: [Vec<(String, Option<String>)>; 3] = Default::default();
        for (i, (section, table)) in [
            ("states.pending", &raw.states.pending),
            ("states.active", &raw.states.active),
            ("states.stopped", &raw.states.stopped),
        ]
        .into_iter()
        .enumerate()
        {
            for (name, value) in table {
                check_attribute(kind, name).map_err(|m| err(section, name, m))?;
                let toml::Value::String(v) = value else {
                    return Err(err(
                        section,
                        name,
                        format!("`{name}` must be a string (\"\" for absent)"),
                    ));
                };
                states[i].push((name.clone(), (!v.is_empty()).then(|| v.clone())));
            }
        }
        for role in raw.affiliation.keys() {
            if !["student", "holder", "converting_staff"].contains(&role.as_str()) {
                return Err(err(
                    "affiliation",
                    role,
                    format!(
                        "unknown role `{role}`: expected `student`, `holder` or `converting_staff`"
                    ),
                ));
            }
        }
        Ok(Profile {
            file: file.to_string(),
            kind,
            rdn: raw.rdn,
            object_classes: raw.object_classes,
            attributes,
            affiliation: raw.affiliation,
            states,
        })
    }

    /// The entry's DN under `base`.
    pub(crate) fn dn(&self, ecs_id: &str, base: &str) -> String {
        format!("{}={},{}", self.rdn, escape_dn_value(ecs_id), base)
    }

    /// Every attribute the profile manages (lowercase), `objectClass` excluded: what a push
    /// reads and may change. Any other attribute of an entry (a password the activation
    /// portal set, say) is never read nor touched.
    pub(crate) fn managed(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .attributes
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .chain(
                self.states
                    .iter()
                    .flatten()
                    .map(|(n, _)| n.to_ascii_lowercase()),
            )
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The attributes and values the stopped state sets that the active state does not: a
    /// change that writes one of them to an existing entry locks it (the lock guard).
    pub(crate) fn lock_attributes(&self) -> Vec<(String, String)> {
        self.states[2]
            .iter()
            .filter_map(|(n, v)| Some((n, v.as_ref()?)))
            .filter(|(n, v)| {
                !self.states[1]
                    .iter()
                    .any(|(an, av)| an.eq_ignore_ascii_case(n) && av.as_ref() == Some(*v))
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }

    /// The entry `desired` should be: its DN, object classes and every managed attribute (an
    /// absent one with no values).
    pub(crate) fn render(&self, desired: &Desired, base: &str) -> Entry {
        let names = Names::of(desired);
        let mut attrs = Attrs::new();
        for name in self.managed() {
            attrs.set(&name, Vec::new());
        }
        for (name, template) in &self.attributes {
            let value = template.render(desired, &names, &self.affiliation);
            attrs.set(
                name,
                if value.trim().is_empty() {
                    Vec::new()
                } else {
                    vec![value]
                },
            );
        }
        let state = match desired.state.as_str() {
            "pending" => 0,
            "active" => 1,
            _ => 2,
        };
        for (name, value) in &self.states[state] {
            attrs.set(name, value.iter().cloned().collect());
        }
        Entry {
            dn: self.dn(&desired.ecs_id, base),
            object_classes: self.object_classes.clone(),
            attrs,
        }
    }
}

/// The line (1-based) of `key` in `[section]` ("" for the top), or 0 when not found.
fn line_of(text: &str, section: &str, key: &str) -> usize {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(s) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            current = s.trim().to_string();
            continue;
        }
        let k = t
            .split('=')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"');
        if current == section && k == key {
            return i + 1;
        }
    }
    0
}

/// An attribute description the server kind knows, optionally with `;lang-xx` options, and no
/// password attribute.
fn check_attribute(kind: Kind, name: &str) -> Result<(), String> {
    let mut parts = name.split(';');
    let base = parts.next().unwrap_or_default().to_ascii_lowercase();
    if SECRET_ATTRIBUTES.contains(&base.as_str()) {
        return Err(format!(
            "`{name}` はパスワード属性です。regsync は書き込みません / `{name}` holds a password: regsync never writes one (R12, R13); passwords belong to the activation portal"
        ));
    }
    let known = match kind {
        Kind::OpenLdap => OPENLDAP_ATTRIBUTES,
        Kind::ActiveDirectory => AD_ATTRIBUTES,
    };
    if !known.contains(&base.as_str()) {
        return Err(format!(
            "未知の属性 `{name}` / unknown attribute `{name}` for this server kind; known: {}",
            known.join(", ")
        ));
    }
    for option in parts {
        let ok = option.strip_prefix("lang-").is_some_and(|tag| {
            !tag.is_empty() && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if !ok {
            return Err(format!(
                "attribute option `;{option}` in `{name}`: only language tags (`;lang-ja`) are allowed"
            ));
        }
    }
    Ok(())
}

impl Template {
    fn parse(t: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = t;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!("template `{t}`: `}}` without `{{`"));
            }
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("template `{t}`: `{{` without `}}`"))?;
            let name = &after[..close];
            let field = FIELDS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    format!(
                        "template `{t}`: unknown field `{{{name}}}`; known: {}",
                        FIELDS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            pieces.push(Piece::Field(field));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template(pieces))
    }

    fn render(&self, d: &Desired, names: &Names, affiliation: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => out.push_str(match f {
                    Field::EcsId => &d.ecs_id,
                    Field::Kumoi => &d.kumoi,
                    Field::Name => &d.name,
                    Field::Family => &names.family,
                    Field::Given => &names.given,
                    Field::Kana => &d.name_kana,
                    Field::KanaFamily => &names.kana_family,
                    Field::KanaGiven => &names.kana_given,
                    Field::Roman => &names.roman,
                    Field::RomanFamily => &names.roman_family,
                    Field::RomanGiven => &names.roman_given,
                    Field::Faculty => &d.faculty,
                    Field::Role => &d.role,
                    Field::Affiliation => affiliation.get(&d.role).unwrap_or(&d.role),
                    Field::Status => d.status.as_deref().unwrap_or_default(),
                }),
            }
        }
        out
    }
}

/// The parts of a registry name: family and given name split at the first space (ASCII or
/// U+3000), and the romanized form of the kana (Hepburn, each word capitalised).
struct Names {
    family: String,
    given: String,
    kana_family: String,
    kana_given: String,
    roman: String,
    roman_family: String,
    roman_given: String,
}

impl Names {
    fn of(d: &Desired) -> Names {
        let (family, given) = split_name(&d.name);
        let (kana_family, kana_given) = split_name(&d.name_kana);
        let roman_family = romanize(&kana_family);
        let roman_given = romanize(&kana_given);
        let roman = if roman_given.is_empty() {
            roman_family.clone()
        } else {
            format!("{roman_family} {roman_given}")
        };
        Names {
            family,
            given,
            kana_family,
            kana_given,
            roman,
            roman_family,
            roman_given,
        }
    }
}

fn split_name(name: &str) -> (String, String) {
    let name = name.trim_matches([' ', '\u{3000}']);
    match name.split_once([' ', '\u{3000}']) {
        Some((f, g)) => (f.to_string(), g.trim_matches([' ', '\u{3000}']).to_string()),
        None => (name.to_string(), String::new()),
    }
}

/// Kana → capitalised romaji; half-width kana are widened first.
fn romanize(kana: &str) -> String {
    use wana_kana::ConvertJapanese as _;
    let wide: String = kana.nfkc().collect();
    wide.split_whitespace()
        .map(|w| {
            let r = w.to_romaji();
            let mut c = r.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Escapes an RDN value (RFC 4514).
fn escape_dn_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == v.chars().count() && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(state: &str) -> Desired {
        Desired {
            ecs_id: "a0100001".into(),
            kumoi: "a0100001@st.example.ac.jp".into(),
            name: "山田\u{3000}太郎".into(),
            name_kana: "ﾔﾏﾀﾞ ﾀﾛｳ".into(),
            faculty: "工学部".into(),
            status: Some("undergraduate".into()),
            role: "student".into(),
            state: state.into(),
        }
    }

    #[test]
    fn the_shipped_profiles_load() {
        for (name, _) in BUILTIN {
            let p = Profile::load(name, None);
            assert!(p.is_ok(), "{name}: {p:?}");
        }
    }

    #[test]
    fn openldap_renders_names_mail_and_the_lock() {
        let p = Profile::load("directory.toml", None).unwrap_or_else(|e| unreachable!("{e}"));
        let e = p.render(&desired("active"), "ou=people,dc=example");
        assert_eq!(e.dn, "uid=a0100001,ou=people,dc=example");
        assert_eq!(e.attrs.get("mail"), ["a0100001@st.example.ac.jp"]);
        assert_eq!(e.attrs.get("cn"), ["Yamada Tarou"]);
        assert_eq!(e.attrs.get("cn;lang-ja"), ["山田\u{3000}太郎"]);
        assert_eq!(e.attrs.get("sn;lang-ja"), ["山田"]);
        assert_eq!(e.attrs.get("givenname"), ["Tarou"]);
        assert!(e.attrs.get("pwdaccountlockedtime").is_empty());
        let stopped = p.render(&desired("stopped"), "ou=people,dc=example");
        assert_eq!(stopped.attrs.get("pwdaccountlockedtime"), ["000001010000Z"]);
    }

    #[test]
    fn active_directory_disables_a_stopped_account() {
        let p = Profile::load("directory-ad.toml", None).unwrap_or_else(|e| unreachable!("{e}"));
        let e = p.render(&desired("stopped"), "OU=People,DC=example");
        assert_eq!(e.dn, "cn=a0100001,OU=People,DC=example");
        assert_eq!(e.attrs.get("samaccountname"), ["a0100001"]);
        assert_eq!(e.attrs.get("useraccountcontrol"), ["514"]);
        let active = p.render(&desired("active"), "OU=People,DC=example");
        assert_eq!(active.attrs.get("useraccountcontrol"), ["512"]);
    }

    #[test]
    fn a_bad_profile_is_refused_naming_its_line() {
        let base = "kind = \"openldap\"\nrdn = \"uid\"\nobject_classes = [\"inetOrgPerson\"]\n[attributes]\nuid = \"{ecs_id}\"\n";
        let states = "[states.pending]\n[states.active]\n[states.stopped]\n";
        for (extra, line, says) in [
            ("favouriteColour = \"{ecs_id}\"\n", 6, "unknown attribute"),
            ("userPassword = \"{ecs_id}\"\n", 6, "never writes"),
            ("mail = \"{mailbox}\"\n", 6, "unknown field"),
            ("mail = \"{kumoi\"\n", 6, "without"),
            ("\"cn;x-foo\" = \"{name}\"\n", 6, "language tags"),
        ] {
            let text = format!("{base}{extra}{states}");
            match Profile::parse("p.toml", &text) {
                Err(DirectoryError::Profile {
                    line: l, message, ..
                }) => {
                    assert_eq!(l, line, "{extra}: {message}");
                    assert!(message.contains(says), "{extra}: {message}");
                }
                other => unreachable!("{extra}: {other:?}"),
            }
        }
    }
}
