//! A real OpenLDAP server for the directory tests: a throwaway `slapd.conf` in a temp folder
//! (mdb, the ppolicy and auditlog overlays, the core, cosine, inetorgperson and nis schemas,
//! modules from `/usr/lib/ldap`) on a free 127.0.0.1 port, run in the foreground (`-d 0`) as a
//! child and killed on drop. Each test starts its own. The audit log is what "written exactly
//! once" assertions read; `ldapsearch`/`ldapmodify` (ldap-utils) read and change entries by
//! hand. A missing `slapd` fails the test: `.ci/run` installs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub(crate) const SUFFIX: &str = "dc=example,dc=ac,dc=jp";
pub(crate) const PEOPLE: &str = "ou=people,dc=example,dc=ac,dc=jp";
pub(crate) const ROOT_DN: &str = "cn=admin,dc=example,dc=ac,dc=jp";
/// The rootpw: tests look for it in every log and report.
pub(crate) const ROOT_PW: &str = "Bind-Secret-7d1f9a";

/// Attribute → values of one entry.
pub(crate) type Attrs = BTreeMap<String, Vec<String>>;

/// The TLS files of an `ldaps://` server.
pub(crate) struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub(crate) struct Slapd {
    dir: TempDir,
    child: Option<Child>,
    pub port: u16,
    tls: bool,
}

impl Slapd {
    /// A server on `ldap://127.0.0.1:PORT/` with the suffix and the people subtree.
    pub(crate) fn start() -> Slapd {
        Slapd::start_with(None)
    }

    /// With `tls`, the server listens on `ldaps://` only.
    pub(crate) fn start_with(tls: Option<&Tls>) -> Slapd {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => unreachable!("tempdir: {e}"),
        };
        let _ = std::fs::create_dir_all(dir.path().join("db"));
        let tls_lines = tls.map_or(String::new(), |t| {
            format!(
                "TLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                t.cert.display(),
                t.key.display()
            )
        });
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include /etc/ldap/schema/nis.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             moduleload ppolicy\n\
             moduleload auditlog\n\
             {tls_lines}\
             pidfile {dir}/slapd.pid\n\
             sizelimit unlimited\n\
             database mdb\n\
             suffix \"{SUFFIX}\"\n\
             rootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PW}\n\
             directory {dir}/db\n\
             maxsize 1073741824\n\
             index objectClass eq\n\
             index cn,uid eq\n\
             overlay ppolicy\n\
             overlay auditlog\n\
             auditlog {dir}/audit.ldif\n",
            dir = dir.path().display()
        );
        crate::common::write(&dir.path().join("slapd.conf"), conf);
        let mut server = Slapd {
            dir,
            child: None,
            port: 0,
            tls: tls.is_some(),
        };
        server.run_on_free_port();
        {
            server.modify(&format!(
                "dn: {SUFFIX}\nchangetype: add\nobjectClass: dcObject\nobjectClass: organization\no: example\ndc: example\n\n\
                 dn: {PEOPLE}\nchangetype: add\nobjectClass: organizationalUnit\nou: people\n"
            ));
        }
        server
    }

    fn run_on_free_port(&mut self) {
        for _ in 0..10 {
            let port = match std::net::TcpListener::bind("127.0.0.1:0") {
                Ok(l) => l.local_addr().map(|a| a.port()).unwrap_or(0),
                Err(e) => unreachable!("bind: {e}"),
            };
            let scheme = if self.tls { "ldaps" } else { "ldap" };
            let child = Command::new(slapd_bin())
                .arg("-f")
                .arg(self.dir.path().join("slapd.conf"))
                .arg("-h")
                .arg(format!("{scheme}://127.0.0.1:{port}/"))
                .args(["-d", "0"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let mut child = match child {
                Ok(c) => c,
                Err(e) => unreachable!(
                    "cannot start `slapd` ({e}): install Debian's slapd and ldap-utils (`.ci/run` does)"
                ),
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    self.port = port;
                    self.child = Some(child);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        unreachable!("slapd did not start");
    }

    /// Stops the server (the database stays): the directory is down.
    pub(crate) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server: frozen, it still accepts
    /// connections (the kernel does) but answers nothing, like a server that hangs.
    pub(crate) fn freeze(&self, frozen: bool) {
        let Some(c) = &self.child else {
            unreachable!("slapd is not running")
        };
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let sent = Command::new("kill")
            .args([signal, &c.id().to_string()])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "kill {signal} slapd");
    }

    /// Starts it again on the same port.
    pub(crate) fn restart(&mut self) {
        let port = self.port;
        let child = Command::new(slapd_bin())
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{port}/"))
            .args(["-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            unreachable!("slapd restart")
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "slapd did not restart");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls { "ldaps" } else { "ldap" };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }

    pub(crate) fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit.ldif")
    }

    /// The writes the audit log holds for entries under the people subtree, in order:
    /// (operation, DN lowercase). The suffix and subtree entries are left out.
    pub(crate) fn writes(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.audit_path()).unwrap_or_default();
        let mut out = Vec::new();
        let mut op: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let word = rest.split(' ').next().unwrap_or_default();
                if ["add", "modify", "delete", "modrdn"].contains(&word) {
                    op = Some(word.to_string());
                }
                continue;
            }
            if let (Some(o), Some(dn)) = (op.take(), line.strip_prefix("dn: ")) {
                let dn = dn.to_lowercase();
                if dn.ends_with(&format!(",{PEOPLE}")) {
                    out.push((o, dn));
                }
            }
        }
        out
    }

    /// The audit log's text.
    pub(crate) fn audit(&self) -> String {
        std::fs::read_to_string(self.audit_path()).unwrap_or_default()
    }

    /// Every entry one level under the people subtree, by lowercase DN, with all user and the
    /// lock attributes (names lowercase).
    pub(crate) fn people(&self) -> BTreeMap<String, Attrs> {
        let o = Command::new("ldapsearch")
            .env("LDAPTLS_REQCERT", "never")
            .args([
                "-x",
                "-LLL",
                "-o",
                "ldif-wrap=no",
                "-H",
                &self.url(),
                "-D",
                ROOT_DN,
                "-w",
                ROOT_PW,
            ])
            .args([
                "-b",
                PEOPLE,
                "-s",
                "one",
                "(objectClass=*)",
                "*",
                "pwdAccountLockedTime",
            ])
            .output();
        let o = match o {
            Ok(o) => o,
            Err(e) => unreachable!("cannot run `ldapsearch` ({e}): install ldap-utils"),
        };
        parse_ldif(&String::from_utf8_lossy(&o.stdout))
    }

    /// Runs `ldapmodify -c` with `ldif` (changetype records) as the root DN.
    pub(crate) fn modify(&self, ldif: &str) {
        use std::io::Write as _;
        let child = Command::new("ldapmodify")
            .env("LDAPTLS_REQCERT", "never")
            .args(["-x", "-c", "-H", &self.url(), "-D", ROOT_DN, "-w", ROOT_PW])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            unreachable!("cannot run `ldapmodify`: install ldap-utils")
        };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(ldif.as_bytes());
        }
        let o = child.wait_with_output();
        assert!(
            o.as_ref().is_ok_and(|o| o.status.success()),
            "ldapmodify: {o:?}"
        );
    }
}

/// `slapd` from Debian's package (in `/usr/sbin`, which a user's PATH may lack), else the PATH's.
fn slapd_bin() -> &'static str {
    if Path::new("/usr/sbin/slapd").exists() {
        "/usr/sbin/slapd"
    } else {
        "slapd"
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Entries of `ldapsearch -LLL -o ldif-wrap=no` output, base64 values decoded.
pub(crate) fn parse_ldif(text: &str) -> BTreeMap<String, Attrs> {
    let mut out = BTreeMap::new();
    for block in text.split("\n\n") {
        let mut dn = None;
        let mut attrs = Attrs::new();
        for line in block.lines() {
            let Some((name, rest)) = line.split_once(':') else {
                continue;
            };
            let value = match rest.strip_prefix(':') {
                Some(b64) => String::from_utf8_lossy(&decode_base64(b64.trim())).into_owned(),
                None => rest.trim_start().to_string(),
            };
            if name == "dn" {
                dn = Some(value.to_lowercase());
            } else {
                attrs.entry(name.to_lowercase()).or_default().push(value);
            }
        }
        if let Some(dn) = dn {
            out.insert(dn, attrs);
        }
    }
    out
}

fn decode_base64(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// A CA and a server certificate for 127.0.0.1 signed by it (openssl CLI), in `dir`:
/// returns (the CA file, the server's TLS files).
pub(crate) fn make_certs(dir: &Path) -> (PathBuf, Tls) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl").current_dir(dir).args(args).output();
        assert!(
            o.as_ref().is_ok_and(|o| o.status.success()),
            "openssl {args:?}: {o:?}"
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=regsync test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    crate::common::write(
        &dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    );
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        Tls {
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        },
    )
}
