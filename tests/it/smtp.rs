//! A minimal SMTP server on 127.0.0.1 for the mail tests: enough of RFC 5321 for lettre without
//! TLS (greeting, EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA with dot-unstuffing, RSET,
//! NOOP, QUIT), one thread per connection. It records every message it accepts, and can
//! misbehave on demand ([`Mode`]): refuse service, answer slowly, trickle its replies a byte at
//! a time, refuse a mailbox for good, or refuse the login echoing the AUTH line back.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA section, dot-unstuffed, CRLF line ends kept.
    pub data: String,
    /// How long the final `.` took to arrive after the 354 (the client's write of the message).
    pub data_time: Duration,
    /// When the final `.` was read: from then on the message counts as received.
    pub at: Instant,
}

impl Received {
    /// The message's `Message-ID` header.
    pub fn message_id(&self) -> Option<&str> {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .map(str::trim)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// Greets with 421 and hangs up, like a server that is up but not accepting mail.
    Refuse,
    /// Waits this long before each reply.
    Slow(Duration),
    /// Sends each reply one byte at a time, this long apart.
    Trickle(Duration),
    /// Answers RCPT for this address with 550.
    Reject(String),
    /// Offers AUTH and refuses every login with 535, echoing the AUTH line it got.
    AuthEcho,
    /// Offers AUTH and takes this PLAIN payload (base64), refusing any other.
    Auth(String),
    /// Takes the message whole, then never answers it (until the server stops).
    SilentAfterData,
}

pub struct SmtpServer {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SmtpServer {
    pub fn start(mode: Mode) -> std::io::Result<SmtpServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        // Non-blocking accept, so the loop can see the stop flag.
        listener.set_nonblocking(true)?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let received = Arc::clone(&received);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut sessions = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let server = Session {
                                mode: mode.clone(),
                                received: Arc::clone(&received),
                                stop: Arc::clone(&stop),
                            };
                            sessions.push(std::thread::spawn(move || {
                                let _ = server.run(stream);
                            }));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(_) => break,
                    }
                }
                for s in sessions {
                    let _ = s.join();
                }
            })
        };
        Ok(SmtpServer {
            port,
            received,
            stop,
            thread: Some(thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A port on 127.0.0.1 with nothing listening: bound, then released.
pub fn dead_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.local_addr().map(|a| a.port())
}

struct Session {
    mode: Mode,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl Session {
    fn reply(&self, out: &mut TcpStream, text: &str) -> std::io::Result<()> {
        match &self.mode {
            Mode::Slow(d) => std::thread::sleep(*d),
            Mode::Trickle(d) => {
                for b in text.as_bytes() {
                    if self.stop.load(Ordering::SeqCst) {
                        return Err(std::io::ErrorKind::Interrupted.into());
                    }
                    out.write_all(&[*b])?;
                    std::thread::sleep(*d);
                }
                return Ok(());
            }
            _ => {}
        }
        out.write_all(text.as_bytes())
    }

    fn run(&self, stream: TcpStream) -> std::io::Result<()> {
        stream.set_nonblocking(false)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut out = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        if self.mode == Mode::Refuse {
            return out.write_all(b"421 test.invalid Service not available\r\n");
        }
        let auth = matches!(self.mode, Mode::AuthEcho | Mode::Auth(_));
        self.reply(&mut out, "220 test.invalid ESMTP test server\r\n")?;
        let mut from = String::new();
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 || self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let command = line.trim_end();
            let upper = command.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                let extensions = if auth {
                    "250-test.invalid\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                } else {
                    "250-test.invalid\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                };
                self.reply(&mut out, extensions)?;
            } else if upper.starts_with("HELO") {
                self.reply(&mut out, "250 test.invalid\r\n")?;
            } else if upper.starts_with("AUTH") {
                let ok = match &self.mode {
                    Mode::Auth(payload) => command.ends_with(&format!(" {payload}")),
                    _ => false,
                };
                if ok {
                    self.reply(&mut out, "235 2.7.0 Authentication successful\r\n")?;
                } else {
                    // Like a careless server: the AUTH line comes back in the error.
                    let echo = format!("535 5.7.8 Authentication failed: {command}\r\n");
                    self.reply(&mut out, &echo)?;
                }
            } else if upper.starts_with("MAIL FROM:") {
                from = address(&command[10..]);
                to.clear();
                self.reply(&mut out, "250 OK\r\n")?;
            } else if upper.starts_with("RCPT TO:") {
                let rcpt = address(&command[8..]);
                if matches!(&self.mode, Mode::Reject(r) if *r == rcpt) {
                    let refusal =
                        format!("550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown\r\n");
                    self.reply(&mut out, &refusal)?;
                } else {
                    to.push(rcpt);
                    self.reply(&mut out, "250 OK\r\n")?;
                }
            } else if upper == "DATA" {
                self.reply(&mut out, "354 End data with <CR><LF>.<CR><LF>\r\n")?;
                let started = Instant::now();
                let mut data = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let at = Instant::now();
                let data_time = at - started;
                if let Ok(mut r) = self.received.lock() {
                    r.push(Received {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                        data_time,
                        at,
                    });
                }
                if self.mode == Mode::SilentAfterData {
                    while !self.stop.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    return Ok(());
                }
                self.reply(&mut out, "250 OK: queued\r\n")?;
            } else if upper == "RSET" || upper == "NOOP" {
                self.reply(&mut out, "250 OK\r\n")?;
            } else if upper == "QUIT" {
                self.reply(&mut out, "221 Bye\r\n")?;
                return Ok(());
            } else {
                self.reply(&mut out, "502 Command not implemented\r\n")?;
            }
        }
    }
}

/// `<user@host>` (with optional parameters after it) → `user@host`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    let end = arg.find('>').map_or(arg.len(), |i| i + 1);
    arg[..end]
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}
