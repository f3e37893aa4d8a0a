//! The notice templates: one minijinja text template per [`NoticeKind`], in Japanese, whose
//! first line is `Subject: ...`, then a blank line, then the body.
//!
//! The shipped templates (`mappings/templates/*.txt`) are compiled in; a mapping folder with a
//! `templates/` folder overrides them file by file. Every template is checked when it is loaded,
//! before any mail is rendered: it must parse, use no variable outside [`VARIABLES`] (so a
//! template can never print anything the job did not mean to put in a mail, R12/R13), and render
//! a sample notice into a subject line and a body.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::domain::notice::NoticeKind;
use crate::mail::MailError;

/// The support counter every notice names (docs/rules.md, "Words").
pub(crate) const COUNTER: &str = "情報環境支援センター（学術情報メディアセンター南館1F）";

/// The only variables a template may use. There is deliberately no password or activation
/// key among them: those never go out by mail (R3, R12, R13).
pub(crate) const VARIABLES: [&str; 7] = [
    "name",
    "ecs_id",
    "kumoi",
    "effective_on",
    "stop_on",
    "until",
    "counter",
];

fn builtin(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::Departure => include_str!("../../mappings/templates/departure.txt"),
        NoticeKind::StaffConversion => {
            include_str!("../../mappings/templates/staff_conversion.txt")
        }
        NoticeKind::StaffReminder => include_str!("../../mappings/templates/staff_reminder.txt"),
        NoticeKind::HolderExpiry => include_str!("../../mappings/templates/holder_expiry.txt"),
    }
}

fn file_name(kind: NoticeKind) -> String {
    format!("{}.txt", kind.as_str())
}

/// The values a template sees. Dates are already written the Japanese way (`2026年4月1日`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vars {
    pub name: String,
    pub ecs_id: String,
    pub kumoi: String,
    /// The date the cause took effect (the status loss, the hire date, the holder's last day);
    /// absent when the input had none.
    pub effective_on: Option<String>,
    /// The day the account stops.
    pub stop_on: String,
    /// The last day the account can be used: the day before `stop_on`.
    pub until: String,
    pub counter: String,
}

/// A rendered notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// The checked set of templates, one per notice kind.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// Where each template came from, for error messages (`built-in` or a path).
    origin: BTreeMap<&'static str, String>,
}

impl Templates {
    /// The compiled-in templates.
    pub fn builtin() -> Result<Templates, MailError> {
        Templates::load(None)
    }

    /// The templates of `dir/templates/` where a file exists, the built-in ones elsewhere;
    /// the built-ins alone when `dir` is None.
    pub fn load(dir: Option<&Path>) -> Result<Templates, MailError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_keep_trailing_newline(true);
        let mut origin = BTreeMap::new();
        for kind in NoticeKind::ALL {
            let name = kind.as_str();
            let path: Option<PathBuf> = dir
                .map(|d| d.join("templates").join(file_name(kind)))
                .filter(|p| p.is_file());
            let (source, from) = match path {
                Some(p) => {
                    let text = fs_err::read_to_string(&p).map_err(MailError::Io)?;
                    let from = p.display().to_string();
                    (text, from)
                }
                None => (builtin(kind).to_string(), "built-in".to_string()),
            };
            let bad = |message: String| MailError::Template {
                template: file_name(kind),
                origin: from.clone(),
                message,
            };
            env.add_template_owned(name, source)
                .map_err(|e| bad(e.to_string()))?;
            let template = env.get_template(name).map_err(|e| bad(e.to_string()))?;
            let mut unknown: Vec<String> = template
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !VARIABLES.contains(&v.as_str()))
                .collect();
            if !unknown.is_empty() {
                unknown.sort();
                return Err(bad(format!(
                    "uses `{}`, which a notice does not provide\nhint: a template may use only {}",
                    unknown.join("`, `"),
                    VARIABLES.map(|v| format!("`{v}`")).join(", ")
                )));
            }
            origin.insert(name, from);
        }
        let templates = Templates { env, origin };
        // A template that renders no subject fails here, not when the first notice goes out.
        for kind in NoticeKind::ALL {
            templates.render(kind, &Vars::sample())?;
        }
        Ok(templates)
    }

    /// Renders the notice of `kind` with `vars`.
    pub fn render(&self, kind: NoticeKind, vars: &Vars) -> Result<Rendered, MailError> {
        let name = kind.as_str();
        let bad = |message: String| MailError::Template {
            template: file_name(kind),
            origin: self
                .origin
                .get(name)
                .cloned()
                .unwrap_or_else(|| "built-in".to_string()),
            message,
        };
        let text = self
            .env
            .get_template(name)
            .and_then(|t| t.render(vars))
            .map_err(|e| bad(e.to_string()))?;
        split_subject(&text).map_err(bad)
    }
}

impl Vars {
    /// Sample values, for checking templates when they are loaded.
    pub fn sample() -> Vars {
        Vars {
            name: "京大　太郎".to_string(),
            ecs_id: "a0123456".to_string(),
            kumoi: "kyodai.taro.a1@st.kyoto-u.ac.jp".to_string(),
            effective_on: Some("2026年3月24日".to_string()),
            stop_on: "2026年4月7日".to_string(),
            until: "2026年4月6日".to_string(),
            counter: COUNTER.to_string(),
        }
    }
}

/// `Subject: ...`, a blank line, the body. The subject must be one non-empty line (it becomes
/// a header); the body keeps its text, with trailing blank lines trimmed to one newline.
fn split_subject(text: &str) -> Result<Rendered, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let first = first.strip_suffix('\r').unwrap_or(first);
    let Some(subject) = first.strip_prefix("Subject:") else {
        return Err(format!(
            "the first line must be `Subject: ...`, found `{}`",
            first.chars().take(60).collect::<String>()
        ));
    };
    let subject = subject.trim();
    if subject.is_empty() {
        return Err("the subject line is empty".to_string());
    }
    if subject.chars().any(char::is_control) {
        return Err("the subject contains a control character".to_string());
    }
    let body = match rest.split_once('\n') {
        Some((blank, body)) if blank.trim().is_empty() => body,
        None if rest.trim().is_empty() => "",
        _ => return Err("the `Subject:` line must be followed by a blank line".to_string()),
    };
    let body = body.trim_end();
    if body.is_empty() {
        return Err("the body is empty".to_string());
    }
    Ok(Rendered {
        subject: subject.to_string(),
        body: format!("{body}\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_subject_cases() {
        let ok = |t: &str, s: &str, b: &str| {
            assert_eq!(
                split_subject(t),
                Ok(Rendered {
                    subject: s.into(),
                    body: b.into()
                }),
                "{t:?}"
            );
        };
        let err = |t: &str| assert!(split_subject(t).is_err(), "{t:?}");
        ok("Subject: a\n\nbody\n", "a", "body\n");
        ok("Subject:  a \r\n\r\nbody\r\n\n\n", "a", "body\n");
        ok(
            "\u{feff}Subject: a\n\nline 1\n\nline 2",
            "a",
            "line 1\n\nline 2\n",
        );
        err("Subject: a\nbody\n");
        err("Subject: \n\nbody\n");
        err("Title: a\n\nbody\n");
        err("Subject: a\n\n\n");
        err("");
    }
}
