//! The LDAP directory: every ECS-ID provisioned into the university's directory exactly once,
//! never destructively, and checked against what the directory really holds.
//!
//! The store's directory journal (`store::directory`) holds, for every account an applied
//! action touched, its desired directory state ([`Desired`]). A push ([`push`]) renders each
//! pending row through the directory profile ([`profile`]), reads the entry, computes the
//! smallest change ([`change`]: add the entry when missing, replace only the attributes that
//! differ), writes it and marks the row done. A push killed between a write and its mark reads
//! the entry again next time and finds nothing to do, so nothing is written twice. Entries are
//! created, updated and locked, never deleted; no password, activation key or key hash is ever
//! part of an entry (the profile refuses password attributes). [`reconcile`] compares the
//! people subtree with the store (`directory diff`).

pub(crate) mod change;
pub(crate) mod client;
pub(crate) mod profile;
pub(crate) mod push;
pub(crate) mod reconcile;

use std::path::PathBuf;
use std::time::Duration;

pub use crate::store::directory::Desired;
pub use profile::Profile;

/// Where the bind password comes from. Its `Debug` shows the source, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// An environment variable, by name.
    Env(String),
    /// A file holding the password (one line; a final newline is ignored).
    File(PathBuf),
}

/// The bind password, read when a connection is made; `Debug` redacts it.
pub(crate) struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl PasswordSource {
    pub(crate) fn read(&self) -> Result<Password, DirectoryError> {
        let value = match self {
            PasswordSource::Env(var) => std::env::var(var).map_err(|_| {
                DirectoryError::Config(format!(
                    "環境変数 `{var}` が未設定です / the environment variable `{var}` (`directory.password_env`) is not set"
                ))
            })?,
            PasswordSource::File(path) => fs_err::read_to_string(path).map_err(|e| {
                DirectoryError::Config(format!("{e} (`directory.password_file`)"))
            })?,
        };
        let value = value.trim_end_matches(['\r', '\n']).to_string();
        if value.is_empty() {
            return Err(DirectoryError::Config(match self {
                PasswordSource::Env(var) => {
                    format!("the environment variable `{var}` is empty")
                }
                PasswordSource::File(path) => format!("the file `{}` is empty", path.display()),
            }));
        }
        Ok(Password(value))
    }
}

/// The checked `[directory]` settings.
#[derive(Debug)]
pub struct DirectorySettings {
    /// `ldap://host:port`, or `ldaps://host:port`.
    pub url: String,
    /// StartTLS on an `ldap://` URL.
    pub starttls: bool,
    /// A PEM file of the CAs to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    pub bind_dn: String,
    pub password: PasswordSource,
    /// The people subtree: entries are `RDN=ECS-ID,<base>`.
    pub base: String,
    /// Connecting and each operation.
    pub timeout: Duration,
    /// Connections a push writes over in parallel.
    pub connections: usize,
    pub profile: Profile,
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0}")]
    Config(String),
    #[error("directory profile `{file}` line {line}: {message}")]
    Profile {
        file: String,
        line: usize,
        message: String,
    },
    /// The server could not be reached, refused the TLS handshake or the bind.
    #[error("ディレクトリに接続できません / cannot reach the directory `{url}`: {message}")]
    Unreachable { url: String, message: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The directory part of a plan's report: for each action that changes an account, the change
/// its entry will see (attribute before → after), computed from the store's account before the
/// action and the action's `after`, through the profile. Nothing is read from the directory.
pub(crate) fn plan_lines(
    store: Option<&crate::store::Store>,
    plan: &crate::domain::plan::Plan,
    s: &DirectorySettings,
) -> Result<Vec<crate::report::directory::Line>, DirectoryError> {
    // An account's state before the plan, then after each of its actions in turn.
    let mut current: std::collections::HashMap<String, Option<change::Entry>> =
        std::collections::HashMap::new();
    let mut lines = Vec::new();
    for action in &plan.actions {
        let Some(after) = &action.after else {
            continue;
        };
        let ecs_id = after.ecs_id.as_str().to_string();
        let before = match current.remove(&ecs_id) {
            Some(b) => b,
            None => match store {
                Some(store) => store
                    .account(&ecs_id)?
                    .map(|a| s.profile.render(&Desired::of(&a), &s.base)),
                None => None,
            },
        };
        let want = s.profile.render(&Desired::of(after), &s.base);
        if let Some(change) = change::diff(&want, before.as_ref().map(|e| &e.attrs)) {
            lines.extend(change.lines(action.kind.as_str(), &ecs_id));
        }
        current.insert(ecs_id, Some(want));
    }
    Ok(lines)
}

/// Writes `directory.html` and `directory.csv` beside a plan's report when `[directory]` is
/// configured; returns the HTML path.
pub(crate) fn write_plan_report(
    settings: Option<&DirectorySettings>,
    store: Option<&crate::store::Store>,
    plan: &crate::domain::plan::Plan,
    dir: &std::path::Path,
) -> anyhow::Result<Option<PathBuf>> {
    let Some(s) = settings else {
        return Ok(None);
    };
    let lines = plan_lines(store, plan, s)?;
    let entries: std::collections::BTreeSet<&str> = lines.iter().map(|l| l.dn.as_str()).collect();
    let summary = format!(
        "{} 件のエントリが変わります / {} entries change ({} attribute values); profile {}, base {}",
        entries.len(),
        entries.len(),
        lines.len(),
        s.profile.file,
        s.base
    );
    crate::report::directory::write(
        dir,
        "directory",
        "ディレクトリの変更 / directory changes",
        &summary,
        &lines,
    )
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bind_password_never_shows_in_debug() {
        let p = Password("hunter2-ldap".to_string());
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        let source = PasswordSource::Env("REGSYNC_LDAP_PASSWORD".into());
        assert!(!format!("{source:?}").contains("hunter2"));
    }
}
