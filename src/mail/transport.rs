//! How notices leave: SMTP (lettre, blocking, TLS by rustls) or `.eml` files in a folder (for
//! tests, demos and sites that hand mail to another system).
//!
//! The SMTP password never sits in the config: it is read, when mail is sent, from the
//! environment variable or the file the config names ([`Secret`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::TlsParameters;

use crate::mail::MailError;
use crate::mail::smtp::{self, Accepted, Failure, SmtpClient};
use crate::store::outbox::DueNotice;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain SMTP; only for a relay on the same host or a test server.
    None,
    /// Plain connect, then STARTTLS, which must succeed (port 587).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// Where the SMTP password comes from. Its `Debug` shows the source, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// An environment variable, by name.
    Env(String),
    /// A file holding the password (one line; a final newline is ignored).
    File(PathBuf),
}

impl Secret {
    fn read(&self) -> Result<String, MailError> {
        let value = match self {
            Secret::Env(var) => std::env::var(var).map_err(|_| {
                MailError::Secret(format!(
                    "the environment variable `{var}` (`mail.password_env`) is not set"
                ))
            })?,
            Secret::File(path) => {
                warn_if_readable_by_others(path);
                fs_err::read_to_string(path)
                    .map_err(|e| MailError::Secret(format!("{e} (`mail.password_file`)")))?
            }
        };
        let value = value.trim_end_matches(['\r', '\n']).to_string();
        if value.is_empty() {
            return Err(MailError::Secret(match self {
                Secret::Env(var) => format!("the environment variable `{var}` is empty"),
                Secret::File(path) => format!("the file `{}` is empty", path.display()),
            }));
        }
        Ok(value)
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the SMTP password file can be read by other users; make it mode 0600");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// One `.eml` file per notice in `dir`, named after the outbox row
    /// (`000123-departure-a0123456.eml`).
    File { dir: PathBuf },
    Smtp {
        host: String,
        port: u16,
        tls: Tls,
        /// Log in when given (with the password from `password`).
        username: Option<String>,
        password: Option<Secret>,
        timeout: Duration,
    },
}

/// A transport ready to send: the SMTP client is set up (and its password read) once per run.
pub(crate) enum Sender<'a> {
    File(&'a Path),
    Smtp {
        client: Arc<SmtpClient>,
        /// What the server could echo of the login, to scrub from error texts.
        secrets: Vec<String>,
    },
}

impl Transport {
    pub(crate) fn connect(&self) -> Result<Sender<'_>, MailError> {
        match self {
            Transport::File { dir } => Ok(Sender::File(dir)),
            Transport::Smtp {
                host,
                port,
                tls,
                username,
                password,
                timeout,
            } => {
                let tls_parameters = match tls {
                    Tls::None => None,
                    Tls::StartTls | Tls::Tls => Some(TlsParameters::new(host.clone()).map_err(
                        |e| MailError::Smtp {
                            host: host.clone(),
                            message: e.to_string(),
                        },
                    )?),
                };
                let mut credentials = None;
                let mut secrets = Vec::new();
                if let Some(user) = username {
                    let password = match password {
                        Some(secret) => secret.read()?,
                        None => {
                            return Err(MailError::Secret(
                                "`mail.username` is set but neither `mail.password_env` nor `mail.password_file`".into(),
                            ));
                        }
                    };
                    secrets = smtp::secrets(user, &password);
                    credentials = Some(Credentials::new(user.clone(), password));
                }
                let client = SmtpClient {
                    host: host.clone(),
                    port: *port,
                    tls: *tls,
                    tls_parameters,
                    credentials,
                    timeout: *timeout,
                };
                Ok(Sender::Smtp {
                    client: Arc::new(client),
                    secrets,
                })
            }
        }
    }
}

impl Sender<'_> {
    /// Sends one notice, the whole exchange bounded by `deadline`; `accepted` runs as soon as
    /// the message is taken (see [`SmtpClient::send`]).
    pub(crate) fn send(
        &self,
        n: &DueNotice,
        message: &Message,
        deadline: Instant,
        accepted: Accepted,
    ) -> Result<bool, Failure> {
        match self {
            Sender::File(dir) => {
                write_eml(dir, n, message).map_err(|e| Failure::Down(e.to_string()))?;
                Ok(accepted())
            }
            Sender::Smtp { client, .. } => {
                let envelope = message.envelope();
                let (Some(from), [to]) = (envelope.from(), envelope.to()) else {
                    return Err(Failure::Permanent(
                        "a notice has one sender and one recipient".into(),
                    ));
                };
                client.send(from, to, message.formatted(), deadline, accepted)
            }
        }
    }

    /// What to remove from an error text before it is stored or logged.
    pub(crate) fn secrets(&self) -> &[String] {
        match self {
            Sender::File(_) => &[],
            Sender::Smtp { secrets, .. } => secrets,
        }
    }
}

/// The file name of a notice's `.eml`: the outbox id, the notice, the ECS-ID (anything but
/// ASCII letters, digits, `-` and `_` replaced, so a strange ID cannot leave the folder).
pub(crate) fn eml_name(n: &DueNotice) -> String {
    format!("{:06}-{}-{}.eml", n.id, safe(&n.notice), safe(&n.ecs_id))
}

fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes the message next to its final name and renames it, so a crash never leaves half a
/// file under the final name.
fn write_eml(dir: &Path, n: &DueNotice, message: &Message) -> std::io::Result<()> {
    crate::private::create_dir_all(dir)?;
    let name = eml_name(n);
    let tmp = dir.join(format!(".{name}.tmp"));
    crate::private::write(&tmp, message.formatted())?;
    fs_err::rename(&tmp, dir.join(name))
}

/// The RFC 5322 message for a notice: UTF-8 plain text, the subject encoded per RFC 2047 by
/// lettre, and a Message-ID made from the notice's identity, so a re-send after a crash
/// carries the same ID and a receiving system can tell it is the same notice.
pub(crate) fn build_message(
    from: &Mailbox,
    n: &DueNotice,
    date: std::time::SystemTime,
) -> Result<Message, String> {
    let to: Mailbox =
        n.to.parse::<lettre::Address>()
            .map(|a| Mailbox::new(None, a))
            .map_err(|e| format!("invalid KUMOI address `{}`: {e}", n.to))?;
    let message_id = format!(
        "<regsync.{}.{}.{}.{}@{}>",
        n.id,
        safe(&n.notice),
        safe(&n.ecs_id),
        n.effective_on.format("%Y%m%d"),
        from.email.domain()
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(n.subject.as_str())
        .date(date)
        .message_id(Some(message_id))
        // RFC 2045: a body with a charset and a transfer encoding is MIME, and says so.
        .header(lettre::message::header::MIME_VERSION_1_0)
        .header(ContentType::TEXT_PLAIN)
        .body(n.body.clone())
        .map_err(|e| format!("cannot build the message: {e}"))
}
