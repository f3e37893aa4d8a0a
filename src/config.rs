//! Configuration: `regsync.toml` → checked [`Settings`], before any input is read.
//!
//! Every key is optional; the defaults are the rules' policy values (docs/rules.md) and a layout of folders
//! beside the config file (or the current folder when there is none). Relative paths in the file
//! are resolved against the file's folder, so cron can run regsync from anywhere.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::policy::Policy;
use crate::ingest::profile::{Limits, ProfileError, Profiles};
use crate::mail::{MailError, MailSettings, Secret, Templates, Tls, Transport};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config `{path}` is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    paths: RawPaths,
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    mail: RawMail,
    #[serde(default)]
    run: RawRun,
    #[serde(default)]
    inbox: RawInbox,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    metrics: RawMetrics,
    directory: Option<RawDirectory>,
}

/// `[metrics]`: where `run` writes its Prometheus text file (see `metrics`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    textfile: Option<PathBuf>,
}

/// `[directory]`: the LDAP directory accounts are provisioned into (see `crate::directory`).
/// Absent: no directory is written and nothing else changes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    /// `ldap://host:port` or `ldaps://host:port`.
    url: Option<String>,
    /// StartTLS on an `ldap://` URL.
    #[serde(default)]
    starttls: bool,
    /// A PEM file of the CAs to trust instead of the system's.
    ca_file: Option<PathBuf>,
    bind_dn: Option<String>,
    /// Never allowed: read only to refuse it with a clear message.
    password: Option<toml::Value>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    /// The people subtree, e.g. `ou=people,dc=example,dc=ac,dc=jp`.
    base: Option<String>,
    /// Connecting and each operation; 30 when absent.
    timeout_secs: Option<u64>,
    /// Connections a push writes over; 4 when absent.
    connections: Option<usize>,
    /// The directory profile's file name (`directory.toml` when absent).
    profile: Option<String>,
}

/// `[inbox]`: how `run` and `plan` treat the files they find in the inbox.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInbox {
    /// A file modified less than this many seconds ago is still being written: it is left for
    /// the next run. 120 when absent; 0 reads every file at once.
    settle_secs: Option<u64>,
}

/// `[limits]`: the bounds a workbook is read within (see [`Limits`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_rows: Option<u32>,
    max_columns: Option<u32>,
    max_uncompressed_mib: Option<u64>,
}

impl RawLimits {
    fn check(self) -> Result<Limits, String> {
        let d = Limits::default();
        let limits = Limits {
            max_rows: self.max_rows.unwrap_or(d.max_rows),
            max_columns: self.max_columns.unwrap_or(d.max_columns),
            max_uncompressed: self
                .max_uncompressed_mib
                .map_or(d.max_uncompressed, |m| m.saturating_mul(1 << 20)),
        };
        if limits.max_rows == 0 || limits.max_columns == 0 || limits.max_uncompressed == 0 {
            return Err("`limits.max_rows`, `limits.max_columns` and `limits.max_uncompressed_mib` must be at least 1".into());
        }
        if limits.max_columns > 16_384 || limits.max_rows > 1 << 30 {
            return Err("`limits.max_columns` is at most 16384 (XFD) and `limits.max_rows` at most 1073741824".into());
        }
        Ok(limits)
    }
}

/// `[run]`: the nightly job.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    /// How long a run may deliver mail, counted from its start; 7200 when absent.
    deadline_secs: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawTransport {
    #[default]
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawTls {
    None,
    StartTls,
    Tls,
}

/// `[mail]`: how notices are sent. See [`check_mail`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    /// `file` (default) or `smtp`.
    #[serde(default)]
    transport: RawTransport,
    /// File transport: the folder for `.eml` files; `mail-out` when absent.
    dir: Option<PathBuf>,
    /// The sender, e.g. `情報環境支援センター <support@example.ac.jp>`.
    from: Option<String>,
    host: Option<String>,
    /// 587 when absent (465 with `tls = "tls"`).
    port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    tls: Option<RawTls>,
    username: Option<String>,
    /// Never allowed: read only to refuse it with a clear message.
    password: Option<toml::Value>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    /// 30 when absent.
    timeout_secs: Option<u64>,
    /// The whole SMTP exchange of one message; 120 when absent.
    deadline_secs: Option<u64>,
    /// The wait before a notice whose outcome is unknown is sent again; 360 when absent.
    unknown_delay_mins: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    /// A folder of mapping profiles; the built-in profile when absent.
    mappings: Option<PathBuf>,
    /// The SQLite store; `regsync.sqlite` when absent.
    store: Option<PathBuf>,
    /// Where registrar staff drop files; `inbox` when absent.
    inbox: Option<PathBuf>,
    /// Where `run` moves processed inputs; `archive` when absent.
    archive: Option<PathBuf>,
    /// Where `run` sets aside rejected inputs with their error reports; `rejected` when absent.
    rejected: Option<PathBuf>,
    /// Where `run` writes each night's reports; `reports` when absent.
    reports: Option<PathBuf>,
    /// A group (name or gid) that may read the files regsync creates; owner only when absent.
    group: Option<String>,
}

/// Checked settings.
#[derive(Debug)]
pub struct Settings {
    /// The folder relative paths are resolved against.
    pub base: PathBuf,
    pub profiles: Profiles,
    /// The SQLite store (`[paths] store`, resolved against the config's folder).
    pub store_path: PathBuf,
    /// The inbox `plan` and `run` read when no files are named.
    pub inbox: PathBuf,
    pub archive: PathBuf,
    pub rejected: PathBuf,
    pub reports: PathBuf,
    pub policy: Policy,
    /// `[mail]`: transport, sender and the checked notice templates.
    pub mail: MailSettings,
    /// `[run] deadline_secs`: after this long a run writes nothing more to the directory, stops
    /// delivering mail and ends (exit 5).
    pub run_deadline: std::time::Duration,
    /// `[inbox] settle_secs`: files modified more recently are left for the next run.
    pub settle: std::time::Duration,
    /// `[paths] group`: the gid that may read the files regsync creates (see `private`).
    pub group: Option<u32>,
    /// `[metrics] textfile`: the file each `run` writes its numbers to, for node_exporter.
    pub metrics_textfile: Option<PathBuf>,
    /// `[directory]`: the LDAP directory, when configured.
    pub directory: Option<crate::directory::DirectorySettings>,
}

impl Settings {
    /// Loads `path`, or `./regsync.toml` when it exists, or the defaults.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let default = Path::new("regsync.toml");
        let path = match path {
            Some(p) => Some(p),
            None if default.is_file() => Some(default),
            None => None,
        };
        let (raw, base) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
                    path: p.to_path_buf(),
                    source,
                })?;
                let raw: RawConfig = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                    path: p.to_path_buf(),
                    message: toml_message(&text, &e),
                })?;
                let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
                (raw, base)
            }
            None => (RawConfig::default(), PathBuf::new()),
        };
        let mut profiles = match &raw.paths.mappings {
            Some(dir) => Profiles::load(&base.join(dir))?,
            None => Profiles::builtin()?,
        };
        let store_path = base.join(
            raw.paths
                .store
                .as_deref()
                .unwrap_or(Path::new("regsync.sqlite")),
        );
        let dir = |p: &Option<PathBuf>, default: &str| {
            base.join(p.as_deref().unwrap_or(Path::new(default)))
        };
        let inbox = dir(&raw.paths.inbox, "inbox");
        let archive = dir(&raw.paths.archive, "archive");
        let rejected = dir(&raw.paths.rejected, "rejected");
        let reports = dir(&raw.paths.reports, "reports");
        let config_path = path
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("(defaults)"));
        raw.policy.check().map_err(|message| ConfigError::Invalid {
            path: config_path.clone(),
            message,
        })?;
        let group = match raw.paths.group.as_deref() {
            None => None,
            Some(name) => Some(crate::private::resolve_group(name).ok_or_else(|| {
                ConfigError::Invalid {
                    path: config_path.clone(),
                    message: format!(
                        "`paths.group` = `{name}` はグループ名でも数値の gid でもありません / is neither a group in `/etc/group` nor a numeric gid"
                    ),
                }
            })?),
        };
        let run_deadline = match raw.run.deadline_secs.unwrap_or(7200) {
            0 => {
                return Err(ConfigError::Invalid {
                    path: config_path,
                    message: "`run.deadline_secs` must be at least 1".into(),
                });
            }
            secs => std::time::Duration::from_secs(secs),
        };
        profiles.limits = raw.limits.check().map_err(|message| ConfigError::Invalid {
            path: config_path.clone(),
            message,
        })?;
        profiles.rows = crate::ingest::profile::RowPolicy::of(&raw.policy);
        let settle = std::time::Duration::from_secs(raw.inbox.settle_secs.unwrap_or(120));
        let mappings = raw.paths.mappings.as_deref().map(|d| base.join(d));
        let directory =
            match raw.directory {
                None => None,
                Some(d) => Some(check_directory(d, &base, mappings.as_deref()).map_err(
                    |message| ConfigError::Invalid {
                        path: config_path.clone(),
                        message,
                    },
                )?),
            };
        let mail = check_mail(raw.mail, &base, mappings.as_deref()).map_err(|e| match e {
            MailConfigError::Invalid(message) => ConfigError::Invalid {
                path: config_path,
                message,
            },
            MailConfigError::Mail(e) => ConfigError::Mail(e),
        })?;
        let metrics_textfile = raw.metrics.textfile.map(|p| base.join(p));
        Ok(Settings {
            base,
            profiles,
            store_path,
            inbox,
            archive,
            rejected,
            reports,
            policy: raw.policy,
            mail,
            run_deadline,
            settle,
            group,
            metrics_textfile,
            directory,
        })
    }
}

/// The message for a TOML error in `text`. The `toml` crate quotes the offending line; when
/// that line or one beside it mentions a password, only the line and column are given, so a
/// password typed into the file never reaches a terminal, a log or cron's mail.
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return e.to_string();
    };
    let start = span.start.min(text.len());
    let line_no = text.get(..start).map_or(0, |t| t.matches('\n').count());
    let line_start = text
        .get(..start)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let column = text.get(line_start..start).map_or(0, |t| t.chars().count()) + 1;
    let near = text
        .lines()
        .enumerate()
        .skip(line_no.saturating_sub(1))
        .take(3)
        .any(|(_, l)| l.to_lowercase().contains("password"));
    if near {
        format!(
            "TOML の構文または値の誤り（{}行 {}列）。password を含む行なので内容は表示しません / \
             TOML syntax or value error at line {}, column {column}; the line is not shown because it mentions a password",
            line_no + 1,
            column,
            line_no + 1
        )
    } else {
        e.to_string()
    }
}

/// `[directory]` → [`crate::directory::DirectorySettings`]. The bind password is never in the
/// config: only where to read it, and it is read when a connection is made.
fn check_directory(
    raw: RawDirectory,
    base: &Path,
    mappings: Option<&Path>,
) -> Result<crate::directory::DirectorySettings, String> {
    use crate::directory::PasswordSource;
    if raw.password.is_some() {
        return Err("`directory.password` is not allowed: a password never goes in the config file\nhint: name an environment variable with `directory.password_env = \"REGSYNC_LDAP_PASSWORD\"` or a file with `directory.password_file = \"/etc/regsync/ldap.pass\"`".into());
    }
    let url = raw.url.unwrap_or_default().trim().to_string();
    let ldaps = url.starts_with("ldaps://");
    if !ldaps && !url.starts_with("ldap://") {
        return Err(format!(
            "`directory.url` = `{url}` は ldap:// か ldaps:// の URL ではありません / is not an `ldap://` or `ldaps://` URL"
        ));
    }
    if ldaps && raw.starttls {
        return Err("`directory.starttls` is for `ldap://` URLs; `ldaps://` is TLS already".into());
    }
    if raw.ca_file.is_some() && !ldaps && !raw.starttls {
        return Err("`directory.ca_file` is set but the connection is not TLS\nhint: use `ldaps://` or `starttls = true`".into());
    }
    let bind_dn = raw.bind_dn.unwrap_or_default();
    if bind_dn.trim().is_empty() {
        return Err("`directory.bind_dn` is missing".into());
    }
    let people = raw.base.unwrap_or_default();
    if people.trim().is_empty() || !people.contains('=') {
        return Err(
            "`directory.base` is missing or not a DN (e.g. `ou=people,dc=example,dc=ac,dc=jp`)"
                .into(),
        );
    }
    let password = match (raw.password_env, raw.password_file) {
        (Some(_), Some(_)) => {
            return Err("`directory.password_env` and `directory.password_file` are both set\nhint: keep one".into());
        }
        (Some(var), None) if !var.trim().is_empty() => PasswordSource::Env(var),
        (None, Some(file)) => PasswordSource::File(base.join(file)),
        _ => {
            return Err(
                "`directory` needs `password_env` or `password_file` for the bind password".into(),
            );
        }
    };
    let timeout = match raw.timeout_secs.unwrap_or(30) {
        0 => return Err("`directory.timeout_secs` must be at least 1".into()),
        secs => std::time::Duration::from_secs(secs),
    };
    let connections = raw.connections.unwrap_or(4);
    if !(1..=64).contains(&connections) {
        return Err("`directory.connections` must be between 1 and 64".into());
    }
    let profile = crate::directory::Profile::load(
        raw.profile.as_deref().unwrap_or("directory.toml"),
        mappings,
    )
    .map_err(|e| e.to_string())?;
    Ok(crate::directory::DirectorySettings {
        url,
        starttls: raw.starttls,
        ca_file: raw.ca_file.map(|f| base.join(f)),
        bind_dn,
        password,
        base: people.trim().to_string(),
        timeout,
        connections,
        profile,
    })
}

enum MailConfigError {
    Invalid(String),
    Mail(MailError),
}

impl From<MailError> for MailConfigError {
    fn from(e: MailError) -> Self {
        MailConfigError::Mail(e)
    }
}

/// `[mail]` → [`MailSettings`]. The SMTP password is never in the config: only where to read it
/// (an environment variable or a file), and it is read when mail is sent, so commands that send
/// nothing do not need it. Keys that the chosen transport does not use are refused, so a typo'd
/// setup fails here rather than silently writing files instead of sending.
fn check_mail(
    raw: RawMail,
    base: &Path,
    mappings: Option<&Path>,
) -> Result<MailSettings, MailConfigError> {
    let invalid = |m: &str| MailConfigError::Invalid(m.to_string());
    if raw.password.is_some() {
        return Err(invalid(
            "`mail.password` is not allowed: a password never goes in the config file\nhint: name an environment variable with `mail.password_env = \"REGSYNC_SMTP_PASSWORD\"` or a file with `mail.password_file = \"/etc/regsync/smtp.pass\"`",
        ));
    }
    let from_text = raw.from.as_deref().unwrap_or(crate::mail::DEFAULT_FROM);
    let from = from_text.parse().map_err(|e| {
        MailConfigError::Invalid(format!(
            "`mail.from` = `{from_text}` is not a mail address: {e}\nhint: write `名前 <user@example.ac.jp>` or `user@example.ac.jp`"
        ))
    })?;
    let transport = match raw.transport {
        RawTransport::File => {
            let smtp_keys = [
                ("host", raw.host.is_some()),
                ("port", raw.port.is_some()),
                ("tls", raw.tls.is_some()),
                ("username", raw.username.is_some()),
                ("password_env", raw.password_env.is_some()),
                ("password_file", raw.password_file.is_some()),
                ("timeout_secs", raw.timeout_secs.is_some()),
                ("deadline_secs", raw.deadline_secs.is_some()),
            ];
            if let Some((key, _)) = smtp_keys.iter().find(|(_, set)| *set) {
                return Err(MailConfigError::Invalid(format!(
                    "`mail.{key}` is set but `mail.transport` is `file`\nhint: add `transport = \"smtp\"` to send by SMTP"
                )));
            }
            Transport::File {
                dir: base.join(raw.dir.as_deref().unwrap_or(Path::new("mail-out"))),
            }
        }
        RawTransport::Smtp => {
            if raw.dir.is_some() {
                return Err(invalid(
                    "`mail.dir` is set but `mail.transport` is `smtp`\nhint: `dir` is for `transport = \"file\"`",
                ));
            }
            let host = match raw.host {
                Some(h) if !h.trim().is_empty() => h.trim().to_string(),
                _ => {
                    return Err(invalid(
                        "`mail.transport` is `smtp` but `mail.host` is missing\nhint: add `host = \"smtp.example.ac.jp\"`",
                    ));
                }
            };
            let tls = match raw.tls.unwrap_or(RawTls::StartTls) {
                RawTls::None => Tls::None,
                RawTls::StartTls => Tls::StartTls,
                RawTls::Tls => Tls::Tls,
            };
            let port = raw.port.unwrap_or(if tls == Tls::Tls { 465 } else { 587 });
            let password = match (raw.password_env, raw.password_file) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "`mail.password_env` and `mail.password_file` are both set\nhint: keep one",
                    ));
                }
                (Some(var), None) if var.trim().is_empty() => {
                    return Err(invalid("`mail.password_env` is empty"));
                }
                (Some(var), None) => Some(Secret::Env(var)),
                (None, Some(file)) => Some(Secret::File(base.join(file))),
                (None, None) => None,
            };
            match (&raw.username, &password) {
                (Some(_), None) => {
                    return Err(invalid(
                        "`mail.username` is set but no password source\nhint: add `password_env = \"REGSYNC_SMTP_PASSWORD\"` or `password_file = \"/etc/regsync/smtp.pass\"`",
                    ));
                }
                (None, Some(_)) => {
                    return Err(invalid(
                        "a password source is set but `mail.username` is missing",
                    ));
                }
                _ => {}
            }
            let timeout_secs = raw.timeout_secs.unwrap_or(30);
            if timeout_secs == 0 {
                return Err(invalid("`mail.timeout_secs` must be at least 1"));
            }
            Transport::Smtp {
                host,
                port,
                tls,
                username: raw.username,
                password,
                timeout: std::time::Duration::from_secs(timeout_secs),
            }
        }
    };
    let deadline = match raw.deadline_secs.unwrap_or(120) {
        0 => return Err(invalid("`mail.deadline_secs` must be at least 1")),
        secs => std::time::Duration::from_secs(secs),
    };
    let unknown_delay = raw
        .unknown_delay_mins
        .and_then(|m| i64::try_from(m).ok())
        .map_or(chrono::Duration::hours(6), chrono::Duration::minutes);
    Ok(MailSettings {
        transport,
        from,
        templates: Templates::load(mappings)?,
        deadline,
        unknown_delay,
    })
}

/// Today's date in Japan, whatever the server's time zone: every date in regsync is a Japan date.
pub(crate) fn today_in_japan() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> String {
        match toml::from_str::<RawConfig>(text) {
            Ok(_) => String::new(),
            Err(e) => toml_message(text, &e),
        }
    }

    #[test]
    fn a_toml_error_on_a_password_line_never_echoes_the_line() {
        for text in [
            "[mail]\npassword = \"hunter2\" x\n",
            "[mail]\nPASSWORD = \"hunter2\n",
            "[mail]\npassword2 = \"hunter2\"\n",
            "[mail]\npassword = \"hunter2\"\nhost = = 1\n",
        ] {
            let m = message(text);
            assert!(!m.contains("hunter2"), "{text:?} gave {m}");
            assert!(m.contains("line "), "{m}");
        }
        let m = message("[mail]\npassword = \"hunter2\" x\n");
        assert!(m.contains("line 2, column 22"), "{m}");
    }

    #[test]
    fn other_toml_errors_keep_the_quoted_line() {
        let m = message("[paths]\nstore = = \"x\"\n");
        assert!(m.contains("store = = "), "{m}");
    }
}
