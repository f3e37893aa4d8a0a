//! Configuration: `regsync.toml` → checked [`Settings`], before any input is read.
//!
//! Every key is optional; the defaults are DOMAIN.md's policy values and a layout of folders
//! beside the config file (or the current folder when there is none). Relative paths in the file
//! are resolved against the file's folder, so cron can run regsync from anywhere.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::policy::Policy;
use crate::ingest::profile::{ProfileError, Profiles};

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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    paths: RawPaths,
    #[serde(default)]
    policy: Policy,
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
                    message: e.to_string(),
                })?;
                let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
                (raw, base)
            }
            None => (RawConfig::default(), PathBuf::new()),
        };
        let profiles = match &raw.paths.mappings {
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
            path: config_path,
            message,
        })?;
        Ok(Settings {
            base,
            profiles,
            store_path,
            inbox,
            archive,
            rejected,
            reports,
            policy: raw.policy,
        })
    }
}

/// Today's date in Japan, whatever the server's time zone: every date in regsync is a Japan date.
pub fn today_in_japan() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .date_naive()
}
