//! One message by SMTP within a deadline that bounds the whole exchange (connect, EHLO,
//! STARTTLS, AUTH, MAIL, RCPT, DATA, the message, QUIT), not one read.
//!
//! lettre's timeout bounds each read: a server that trickles a byte at a time never trips it.
//! So the exchange runs on a worker thread and the caller waits for its result with
//! `recv_timeout`. A worker still running at the deadline is abandoned behind a [`Gate`]: it
//! checks the gate before every command and cannot hand the message over once the caller has
//! given up, so "not handed over" stays true. Its connection is closed by its next read timeout
//! or by the end of the process; lettre gives no handle on the socket to shut it from outside.
//!
//! lettre does not set TCP_NODELAY and gives no access to the socket, and its own `send` writes
//! the message and the final `.` in two writes: the second, small, waited for the server's
//! delayed acknowledgement of the first (Nagle) before the server could answer 250, widening
//! the window between "accepted" and "marked sent". Here the dot-stuffed message and its final
//! `.` leave in one write, so there is nothing for Nagle to hold back.

use std::fmt;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Quit, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use crate::digest::base64;
use crate::mail::Tls;

/// Why one message was not delivered, and what that says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The server refused this message for now (4xx): retry it later.
    Temporary(String),
    /// The server refused this message for good (5xx for its mailbox or content).
    Permanent(String),
    /// The server cannot be reached or does not take mail now (refused connection, 421, a
    /// sender refused, no complete exchange within the deadline before the message was handed
    /// over): the night's delivery stops; nothing was delivered.
    Down(String),
    /// The login was refused: the night's delivery stops at once; nothing was delivered.
    Auth(String),
    /// The message was handed over (its final `.` written) but no reply came: it may or may not
    /// have been accepted.
    Unknown(String),
}

/// What runs on the worker the moment the server takes a message (it marks the notice sent);
/// true when it did its work.
pub(crate) type Accepted = Box<dyn FnOnce() -> bool + Send>;

/// What the caller and an abandoned worker share: whether the caller gave up, and whether the
/// worker handed the message over. Both change under the lock, so exactly one of "handed over"
/// and "given up first" holds.
#[derive(Debug, Default)]
struct Gate {
    abandoned: bool,
    handed_over: bool,
}

/// An SMTP server to send to, built once per run (its password read once).
pub(crate) struct SmtpClient {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub tls_parameters: Option<TlsParameters>,
    pub credentials: Option<Credentials>,
    /// Bounds each read and write (lettre's timeout).
    pub timeout: Duration,
}

impl SmtpClient {
    /// Sends `message` (RFC 5322 bytes) from `from` to `to`, the whole exchange bounded by
    /// `deadline`. `accepted` runs on the worker as soon as the server took the message, before
    /// anything else; its result comes back as the `Ok` value.
    pub(crate) fn send(
        self: &Arc<Self>,
        from: &Address,
        to: &Address,
        message: Vec<u8>,
        deadline: Instant,
        accepted: Accepted,
    ) -> Result<bool, Failure> {
        let gate = Arc::new(Mutex::new(Gate::default()));
        let (tx, rx) = mpsc::channel();
        let worker = {
            let (client, gate) = (Arc::clone(self), Arc::clone(&gate));
            let (from, to) = (from.clone(), to.clone());
            std::thread::Builder::new()
                .name("smtp".into())
                .spawn(move || {
                    client.exchange(&from, &to, &message, &gate, deadline, accepted, &tx);
                })
        };
        if let Err(e) = worker {
            return Err(Failure::Down(format!("cannot start the SMTP thread: {e}")));
        }
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(result) => result,
            Err(_) => {
                let mut g = gate.lock().unwrap_or_else(|p| p.into_inner());
                g.abandoned = true;
                if g.handed_over {
                    Err(Failure::Unknown(
                        "no reply to the message within the deadline; it may have been accepted"
                            .into(),
                    ))
                } else {
                    Err(Failure::Down(format!(
                        "the SMTP exchange with `{}` did not finish within the deadline",
                        self.host
                    )))
                }
            }
        }
    }

    /// The exchange itself, on the worker thread. A 250 is recorded (`accepted`) and the
    /// outcome sent to `done` as soon as it is known, before QUIT.
    #[expect(
        clippy::too_many_arguments,
        reason = "one exchange's inputs, passed once"
    )]
    fn exchange(
        &self,
        from: &Address,
        to: &Address,
        message: &[u8],
        gate: &Mutex<Gate>,
        deadline: Instant,
        accepted: Accepted,
        done: &mpsc::Sender<Result<bool, Failure>>,
    ) {
        let hello = ClientId::default();
        let wrapper = match self.tls {
            Tls::Tls => self.tls_parameters.as_ref(),
            _ => None,
        };
        let mut conn = match SmtpConnection::connect(
            (self.host.as_str(), self.port),
            Some(self.read_timeout(deadline)),
            &hello,
            wrapper,
            None,
        ) {
            Ok(conn) => conn,
            Err(e) => {
                drop(accepted);
                let _ = done.send(Err(Failure::Down(e.to_string())));
                return;
            }
        };
        let result = self
            .session(&mut conn, &hello, from, to, message, gate, deadline)
            .map(|()| accepted());
        let ok = result.is_ok();
        let _ = done.send(result);
        if ok {
            let _ = conn.command(Quit);
        } else {
            conn.abort();
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one exchange's state, passed down once"
    )]
    fn session(
        &self,
        conn: &mut SmtpConnection,
        hello: &ClientId,
        from: &Address,
        to: &Address,
        message: &[u8],
        gate: &Mutex<Gate>,
        deadline: Instant,
    ) -> Result<(), Failure> {
        let down = |e: lettre::transport::smtp::Error| Failure::Down(e.to_string());
        let step = |conn: &mut SmtpConnection| -> Result<(), Failure> {
            if gate.lock().map(|g| g.abandoned).unwrap_or(true) {
                return Err(Failure::Down("abandoned at the deadline".into()));
            }
            conn.set_timeout(Some(self.read_timeout(deadline)))
                .map_err(|e| Failure::Down(e.to_string()))
        };
        if let (Tls::StartTls, Some(params)) = (self.tls, &self.tls_parameters) {
            step(conn)?;
            conn.starttls(params, hello).map_err(down)?;
        }
        if let Some(credentials) = &self.credentials {
            step(conn)?;
            conn.auth(DEFAULT_MECHANISMS, credentials)
                .map_err(|e| match e.status() {
                    Some(_) => Failure::Auth(e.to_string()),
                    None if e.is_client() => Failure::Auth(e.to_string()),
                    None => Failure::Down(e.to_string()),
                })?;
        }
        let mut options = Vec::new();
        if !(AsRef::<str>::as_ref(from).is_ascii() && AsRef::<str>::as_ref(to).is_ascii()) {
            options.push(MailParameter::SmtpUtfEight);
        }
        if !message.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(Failure::Down(
                    "the server does not take 8-bit mail (no 8BITMIME)".into(),
                ));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        step(conn)?;
        // A refused sender is refused for every notice: the night stops there.
        conn.command(Mail::new(Some(from.clone()), options))
            .map_err(down)?;
        step(conn)?;
        conn.command(Rcpt::new(to.clone(), Vec::new()))
            .map_err(refused)?;
        step(conn)?;
        conn.command(Data).map_err(refused)?;
        let content = Content::new(message)?;
        {
            let mut g = gate.lock().unwrap_or_else(|p| p.into_inner());
            if g.abandoned {
                return Err(Failure::Down("abandoned at the deadline".into()));
            }
            g.handed_over = true;
        }
        conn.set_timeout(Some(self.read_timeout(deadline)))
            .map_err(|e| Failure::Unknown(e.to_string()))?;
        conn.command(content).map_err(|e| match e.status() {
            Some(_) => refused(e),
            // A write or read that failed once the message was on its way: it may have been
            // taken whole.
            None => Failure::Unknown(e.to_string()),
        })?;
        Ok(())
    }

    /// lettre's per-read timeout, never past the deadline (at least a millisecond: zero means
    /// "no timeout" to the socket).
    fn read_timeout(&self, deadline: Instant) -> Duration {
        deadline
            .saturating_duration_since(Instant::now())
            .min(self.timeout)
            .max(Duration::from_millis(1))
    }
}

/// A reply refusing this message: 421 means the server is closing (down), other 4xx are
/// temporary, 5xx permanent; anything without a reply is the server being unreachable.
fn refused(e: lettre::transport::smtp::Error) -> Failure {
    match e.status().map(u16::from) {
        Some(421) | None => Failure::Down(e.to_string()),
        Some(400..=499) => Failure::Temporary(e.to_string()),
        Some(_) => Failure::Permanent(e.to_string()),
    }
}

/// The DATA section: the message dot-stuffed, ending with CRLF and the final `.`, written in one
/// write (lettre's `command` writes what `Display` gives in one `write_all`).
struct Content(String);

impl Content {
    fn new(message: &[u8]) -> Result<Content, Failure> {
        let text = std::str::from_utf8(message)
            .map_err(|_| Failure::Permanent("the message is not UTF-8".into()))?;
        let mut out = String::with_capacity(text.len() + 64);
        for line in text.split_inclusive('\n') {
            if line.starts_with('.') {
                out.push('.');
            }
            out.push_str(line);
        }
        if !out.ends_with("\r\n") {
            out.push_str("\r\n");
        }
        out.push_str(".\r\n");
        Ok(Content(out))
    }
}

impl fmt::Display for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a server could echo of the login: the password, and the base64 payloads of AUTH PLAIN
/// and AUTH LOGIN. [`crate::mail::deliver::scrub`] removes them from any error text.
pub(crate) fn secrets(username: &str, password: &str) -> Vec<String> {
    vec![
        password.to_string(),
        base64(format!("\0{username}\0{password}").as_bytes()),
        base64(password.as_bytes()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
            ("\0user\0secret", "AHVzZXIAc2VjcmV0"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn content_is_dot_stuffed_and_ends_with_the_final_dot() -> Result<(), Failure> {
        let cases = [
            ("a\r\n.b\r\n", "a\r\n..b\r\n.\r\n"),
            (".\r\n", "..\r\n.\r\n"),
            ("no end", "no end\r\n.\r\n"),
        ];
        for (input, expected) in cases {
            assert_eq!(Content::new(input.as_bytes())?.0, expected, "{input:?}");
        }
        Ok(())
    }
}
