//! One connection to the directory (ldap3, blocking): connect over `ldap://` (optionally
//! StartTLS) or `ldaps://`, bind, read the managed attributes of an entry or of a batch of
//! entries (one search), add, modify, and page through the people subtree. TLS fails closed:
//! the server's certificate must chain to the system's roots or to `[directory] ca_file`. The
//! bind password is read from its source when connecting and appears in no error.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use ldap3::{LdapConn, LdapConnSettings, LdapError, Mod, Scope, SearchEntry};

use super::change::{Attrs, Change, Modification, normalise_dn};
use super::{DirectoryError, DirectorySettings};

/// A bound connection.
pub(crate) struct Conn {
    ldap: LdapConn,
    timeout: std::time::Duration,
}

/// The server refused one operation: its result code and message.
#[derive(Debug, Clone)]
pub(crate) struct Refused {
    pub rc: u32,
    pub text: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LDAP result {} ({}): {}",
            self.rc,
            rc_name(self.rc),
            self.text
        )
    }
}

/// What an operation came to: done, refused by the server for this entry, or the connection
/// is gone (the push stops and the rest stays pending).
pub(crate) enum OpError {
    Refused(Refused),
    Lost(String),
}

impl Conn {
    /// Connects and binds with the configured DN and password.
    pub(crate) fn open(s: &DirectorySettings) -> Result<Conn, DirectoryError> {
        let unreachable = |message: String| DirectoryError::Unreachable {
            url: s.url.clone(),
            message,
        };
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(s.timeout)
            .set_starttls(s.starttls);
        if let Some(ca) = &s.ca_file {
            settings = settings.set_config(tls_config(ca).map_err(DirectoryError::Config)?);
        }
        let password = s.password.read()?;
        let mut ldap = LdapConn::with_settings(settings, &s.url)
            .map_err(|e| unreachable(describe_connect(&e, s.ca_file.is_some())))?;
        ldap.with_timeout(s.timeout);
        let bound = ldap
            .simple_bind(&s.bind_dn, password.as_str())
            .map_err(|e| unreachable(describe_connect(&e, s.ca_file.is_some())))?;
        if bound.rc != 0 {
            return Err(unreachable(format!(
                "バインドが拒否されました / the bind as `{}` was refused: {}",
                s.bind_dn,
                Refused {
                    rc: bound.rc,
                    text: bound.text
                }
            )));
        }
        Ok(Conn {
            ldap,
            timeout: s.timeout,
        })
    }

    /// The managed attributes (`attrs`, lowercase) of the entry `dn`; `None` when it does
    /// not exist.
    pub(crate) fn read(&mut self, dn: &str, attrs: &[String]) -> Result<Option<Attrs>, OpError> {
        self.ldap.with_timeout(self.timeout);
        let result = self
            .ldap
            .search(dn, Scope::Base, "(objectClass=*)", attrs)
            .map_err(lost)?;
        if result.1.rc == 32 {
            return Ok(None);
        }
        if result.1.rc != 0 {
            return Err(OpError::Refused(Refused {
                rc: result.1.rc,
                text: result.1.text,
            }));
        }
        Ok(result
            .0
            .into_iter()
            .next()
            .map(|e| managed_attrs(SearchEntry::construct(e), attrs)))
    }

    /// The managed attributes (`attrs`, lowercase) of the entries `rdn=VALUE,base` for each of
    /// `values`, by one search one level under `base` for all of them (`(|(uid=a)(uid=b)…)`),
    /// keyed by normalised DN: an entry that is not in the answer does not exist. The answer
    /// [`Conn::read`] gives entry by entry, in one round trip; `values` must stay under the
    /// server's size limit.
    pub(crate) fn read_batch(
        &mut self,
        base: &str,
        rdn: &str,
        values: &[&str],
        attrs: &[String],
    ) -> Result<HashMap<String, Attrs>, OpError> {
        let mut filter = String::from("(|");
        for v in values {
            filter.push_str(&format!("({rdn}={})", ldap3::ldap_escape(*v)));
        }
        filter.push(')');
        self.ldap.with_timeout(self.timeout);
        let ldap3::SearchResult(entries, result) = self
            .ldap
            .search(base, Scope::OneLevel, &filter, attrs)
            .map_err(lost)?;
        if result.rc == 32 {
            // No people subtree yet: none of the entries exists.
            return Ok(HashMap::new());
        }
        if result.rc != 0 {
            return Err(OpError::Refused(Refused {
                rc: result.rc,
                text: result.text,
            }));
        }
        Ok(entries
            .into_iter()
            .map(|e| {
                let e = SearchEntry::construct(e);
                (normalise_dn(&e.dn), managed_attrs(e, attrs))
            })
            .collect())
    }

    /// Writes one change.
    pub(crate) fn write(&mut self, change: &Change) -> Result<(), OpError> {
        self.ldap.with_timeout(self.timeout);
        let result = match change {
            Change::Add(e) => {
                let mut attrs: Vec<(String, HashSet<String>)> = vec![(
                    "objectClass".to_string(),
                    e.object_classes.iter().cloned().collect(),
                )];
                attrs.extend(
                    e.attrs
                        .present()
                        .map(|(n, v)| (n.to_string(), v.iter().cloned().collect())),
                );
                self.ldap.add(&e.dn, attrs)
            }
            Change::Modify { dn, mods, .. } => {
                let mods: Vec<Mod<String>> = mods
                    .iter()
                    .map(|m| match m {
                        Modification::Replace(n, v) => {
                            Mod::Replace(n.clone(), v.iter().cloned().collect())
                        }
                        Modification::Delete(n) => Mod::Delete(n.clone(), HashSet::new()),
                    })
                    .collect();
                self.ldap.modify(dn, mods)
            }
        }
        .map_err(lost)?;
        if result.rc == 0 {
            Ok(())
        } else {
            Err(OpError::Refused(Refused {
                rc: result.rc,
                text: result.text,
            }))
        }
    }

    /// Every entry one level under `base`, with the managed attributes, in pages of 500; calls
    /// `each` with the entry's RDN value (lowercase attribute `rdn`) and attributes.
    /// Reads every entry below `base` by one paged search, `attrs` of each, into `each`, until
    /// `each` breaks (the search is then left unfinished: drop the connection).
    pub(crate) fn scan(
        &mut self,
        base: &str,
        attrs: &[String],
        mut each: impl FnMut(String, Attrs) -> ControlFlow<()>,
    ) -> Result<(), DirectoryError> {
        let failed = |m: String| DirectoryError::Unreachable {
            url: base.to_string(),
            message: m,
        };
        let adapters: Vec<Box<dyn ldap3::adapters::Adapter<_, _>>> = vec![
            Box::new(ldap3::adapters::EntriesOnly::new()),
            Box::new(ldap3::adapters::PagedResults::new(500)),
        ];
        self.ldap.with_timeout(self.timeout);
        let mut stream = self
            .ldap
            .streaming_search_with(adapters, base, Scope::OneLevel, "(objectClass=*)", attrs)
            .map_err(|e| failed(e.to_string()))?;
        while let Some(entry) = stream.next().map_err(|e| failed(e.to_string()))? {
            let entry = SearchEntry::construct(entry);
            let dn = entry.dn.clone();
            if each(dn, managed_attrs(entry, attrs)).is_break() {
                return Ok(());
            }
        }
        let result = stream.result();
        if result.rc != 0 {
            return Err(failed(format!(
                "paged search of `{base}`: {}",
                Refused {
                    rc: result.rc,
                    text: result.text
                }
            )));
        }
        Ok(())
    }

    pub(crate) fn close(mut self) {
        let _ = self.ldap.unbind();
    }
}

/// The attributes of `entry` that are in `wanted` (lowercase; a name with options such as
/// `cn;lang-ja` is its own attribute), by lowercase name.
fn managed_attrs(entry: SearchEntry, wanted: &[String]) -> Attrs {
    let mut attrs = Attrs::new();
    for (name, values) in entry.attrs {
        if wanted.iter().any(|w| w.eq_ignore_ascii_case(&name)) {
            attrs.set(&name, values);
        }
    }
    for (name, values) in entry.bin_attrs {
        if wanted.iter().any(|w| w.eq_ignore_ascii_case(&name)) {
            attrs.set(
                &name,
                values
                    .into_iter()
                    .map(|v| String::from_utf8_lossy(&v).into_owned())
                    .collect(),
            );
        }
    }
    attrs
}

fn lost(e: LdapError) -> OpError {
    OpError::Lost(e.to_string())
}

/// A connection or bind error in words; a certificate the client does not trust says how to
/// trust it.
fn describe_connect(e: &LdapError, has_ca: bool) -> String {
    let text = e.to_string();
    let chain = error_chain(e);
    let lower = chain.to_lowercase();
    if lower.contains("certificate")
        || lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
    {
        let hint = if has_ca {
            "the certificate does not chain to `directory.ca_file`"
        } else {
            "hint: set `directory.ca_file` to the PEM file of the CA that signed the server's certificate"
        };
        format!(
            "サーバ証明書を検証できないため接続しません / the server's TLS certificate is not trusted, so nothing was sent: {chain}\n{hint}"
        )
    } else if text.is_empty() {
        chain
    } else {
        chain.trim_end().to_string()
    }
}

/// `e` and its sources in words, each followed by a space; a source whose words are already
/// there (ldap3 prints its cause inside its own message: `timeout: deadline has elapsed`) is
/// not repeated.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut chain = String::new();
    let mut source = Some(e);
    while let Some(s) = source {
        let words = s.to_string();
        if !chain.contains(&words) {
            chain.push_str(&words);
            chain.push(' ');
        }
        source = s.source();
    }
    chain
}

/// A rustls client configuration that trusts only the CAs in the PEM file `ca`.
fn tls_config(ca: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .map_err(|e| format!("cannot read `directory.ca_file` `{}`: {e}", ca.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("`directory.ca_file` `{}`: {e}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("`directory.ca_file` `{}`: {e}", ca.display()))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "`directory.ca_file` `{}` holds no PEM certificate",
            ca.display()
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name of an LDAP result code (RFC 4511).
fn rc_name(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        1 => "operationsError",
        3 => "timeLimitExceeded",
        10 => "referral",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    /// An error with an optional cause, that prints the cause inside its own words or not.
    #[derive(Debug)]
    struct Layer {
        words: &'static str,
        prints_cause: bool,
        cause: Option<Box<Layer>>,
    }

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match &self.cause {
                Some(c) if self.prints_cause => write!(f, "{}: {c}", self.words),
                _ => f.write_str(self.words),
            }
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.cause.as_deref().map(|c| c as _)
        }
    }

    fn layer(words: &'static str, prints_cause: bool, cause: Option<Layer>) -> Layer {
        Layer {
            words,
            prints_cause,
            cause: cause.map(Box::new),
        }
    }

    #[test]
    fn a_cause_is_named_once_whether_or_not_its_error_prints_it() {
        let elapsed = || layer("deadline has elapsed", false, None);
        let printed = layer("timeout", true, Some(elapsed()));
        assert_eq!(error_chain(&printed), "timeout: deadline has elapsed ");
        let silent = layer("timeout", false, Some(elapsed()));
        assert_eq!(error_chain(&silent), "timeout deadline has elapsed ");
        let deep = layer("bind", false, Some(printed));
        assert_eq!(error_chain(&deep), "bind timeout: deadline has elapsed ");
    }
}
