//! Entries and the smallest change between what an entry is and what it should be, with its
//! LDIF (what `directory push --dry-run` prints and the reports show).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::digest::base64;
use crate::report::directory::Line;

/// Attributes by lowercase name (LDAP names are case-insensitive), each with the name as the
/// profile writes it and its values; no values means absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Attrs(BTreeMap<String, (String, Vec<String>)>);

impl Attrs {
    pub(crate) fn new() -> Attrs {
        Attrs::default()
    }

    pub(crate) fn set(&mut self, name: &str, values: Vec<String>) {
        self.0
            .insert(name.to_ascii_lowercase(), (name.to_string(), values));
    }

    /// The values of `name` (any case); empty when absent.
    pub(crate) fn get(&self, name: &str) -> &[String] {
        self.0
            .get(&name.to_ascii_lowercase())
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// Attributes with values: (name as written, values).
    pub(crate) fn present(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0
            .values()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.values().map(|(n, v)| (n.as_str(), v.as_slice()))
    }
}

/// An entry as a profile renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub dn: String,
    pub object_classes: Vec<String>,
    pub attrs: Attrs,
}

/// One attribute's change in a modify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Modification {
    /// Replace the values (the attribute was absent or held others).
    Replace(String, Vec<String>),
    /// Remove the attribute.
    Delete(String),
}

/// What a push sends for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// The entry is missing: add it whole.
    Add(Entry),
    /// The entry differs in these attributes only.
    Modify {
        dn: String,
        mods: Vec<Modification>,
        /// The values before, per changed attribute, for reports.
        before: Vec<(String, Vec<String>)>,
    },
}

/// The smallest change from `live` (the managed attributes the server holds, `None` when the
/// entry is missing) to `want`; `None` when they agree. Values are compared as sets.
pub(crate) fn diff(want: &Entry, live: Option<&Attrs>) -> Option<Change> {
    let Some(live) = live else {
        return Some(Change::Add(want.clone()));
    };
    let mut mods = Vec::new();
    let mut before = Vec::new();
    for (name, values) in want.attrs.iter() {
        let have = live.get(name);
        if same_values(have, values) {
            continue;
        }
        before.push((name.to_string(), have.to_vec()));
        if values.is_empty() {
            mods.push(Modification::Delete(name.to_string()));
        } else {
            mods.push(Modification::Replace(name.to_string(), values.to_vec()));
        }
    }
    (!mods.is_empty()).then(|| Change::Modify {
        dn: want.dn.clone(),
        mods,
        before,
    })
}

/// A DN compared without case or spaces around the commas (a server returns DNs as they were
/// added, a configured base may be written otherwise).
pub(crate) fn normalise_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.trim().to_lowercase())
        .collect::<Vec<_>>()
        .join(",")
}

fn same_values(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&str> = a.iter().map(String::as_str).collect();
    let mut b: Vec<&str> = b.iter().map(String::as_str).collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

impl Change {
    pub(crate) fn dn(&self) -> &str {
        match self {
            Change::Add(e) => &e.dn,
            Change::Modify { dn, .. } => dn,
        }
    }

    /// The change as LDIF (RFC 2849), values that are not safe strings in base64.
    pub(crate) fn ldif(&self) -> String {
        let mut out = String::new();
        line(&mut out, "dn", self.dn());
        match self {
            Change::Add(e) => {
                out.push_str("changetype: add\n");
                for oc in &e.object_classes {
                    line(&mut out, "objectClass", oc);
                }
                for (name, values) in e.attrs.present() {
                    for v in values {
                        line(&mut out, name, v);
                    }
                }
            }
            Change::Modify { mods, .. } => {
                out.push_str("changetype: modify\n");
                for m in mods {
                    match m {
                        Modification::Replace(name, values) => {
                            let _ = writeln!(out, "replace: {name}");
                            for v in values {
                                line(&mut out, name, v);
                            }
                        }
                        Modification::Delete(name) => {
                            let _ = writeln!(out, "delete: {name}");
                        }
                    }
                    out.push_str("-\n");
                }
            }
        }
        out.push('\n');
        out
    }

    /// The report's lines for this change, one per attribute it writes.
    pub(crate) fn lines(&self, what: &str, ecs_id: &str) -> Vec<Line> {
        self.rows()
            .into_iter()
            .map(|(attribute, before, after)| Line {
                what: what.to_string(),
                ecs_id: ecs_id.to_string(),
                dn: self.dn().to_string(),
                attribute,
                before,
                after,
            })
            .collect()
    }

    /// Per attribute: (name, values before, values after), for reports.
    pub(crate) fn rows(&self) -> Vec<(String, String, String)> {
        match self {
            Change::Add(e) => {
                let mut rows = vec![(
                    "objectClass".to_string(),
                    String::new(),
                    e.object_classes.join(", "),
                )];
                rows.extend(
                    e.attrs
                        .present()
                        .map(|(n, v)| (n.to_string(), String::new(), v.join(", "))),
                );
                rows
            }
            Change::Modify { mods, before, .. } => mods
                .iter()
                .zip(before)
                .map(|(m, (name, was))| {
                    let now = match m {
                        Modification::Replace(_, v) => v.join(", "),
                        Modification::Delete(_) => String::new(),
                    };
                    (name.clone(), was.join(", "), now)
                })
                .collect(),
        }
    }
}

/// One `name: value` line, base64 (`name:: ...`) when the value is not a safe string.
fn line(out: &mut String, name: &str, value: &str) {
    let safe = value
        .bytes()
        .all(|b| b.is_ascii() && b != 0 && b != b'\n' && b != b'\r')
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ');
    if safe {
        let _ = writeln!(out, "{name}: {value}");
    } else {
        let _ = writeln!(out, "{name}:: {}", base64(value.as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(mail: &str, lock: &[&str]) -> Entry {
        let mut attrs = Attrs::new();
        attrs.set("mail", vec![mail.to_string()]);
        attrs.set(
            "pwdAccountLockedTime",
            lock.iter().map(|s| s.to_string()).collect(),
        );
        Entry {
            dn: "uid=a1,ou=people".into(),
            object_classes: vec!["inetOrgPerson".into()],
            attrs,
        }
    }

    #[test]
    fn a_missing_entry_is_added_and_an_equal_one_left_alone() {
        let want = entry("a1@x", &[]);
        assert!(matches!(diff(&want, None), Some(Change::Add(_))));
        assert_eq!(diff(&want, Some(&want.attrs)), None);
    }

    #[test]
    fn only_differing_attributes_are_replaced_or_deleted() {
        let live = entry("a1@x", &["000001010000Z"]);
        let want = entry("a1@y", &[]);
        let Some(change) = diff(&want, Some(&live.attrs)) else {
            unreachable!("no change")
        };
        assert_eq!(
            change.ldif(),
            "dn: uid=a1,ou=people\nchangetype: modify\nreplace: mail\nmail: a1@y\n-\ndelete: pwdAccountLockedTime\n-\n\n"
        );
    }

    #[test]
    fn non_ascii_values_are_base64_in_ldif() {
        let mut want = entry("a1@x", &[]);
        want.attrs.set("cn;lang-ja", vec!["山田 太郎".into()]);
        let ldif = Change::Add(want).ldif();
        assert!(
            ldif.contains("cn;lang-ja:: 5bGx55SwIOWkqumDjg==\n"),
            "{ldif}"
        );
    }
}
