//! `directory diff`: the people subtree (read by paged search) against the store. Three kinds
//! of finding: an entry whose managed attributes differ from what the store says (changed by
//! hand), an account without an entry, and an entry under the base with no account (an
//! orphan: reported, never deleted). `--fix` queues the first two in the journal for the next
//! push, which the lock guard still watches.

use std::collections::HashMap;

use super::change::{Attrs, Change, diff, normalise_dn};
use super::client::Conn;
use super::{Desired, DirectoryError, DirectorySettings};
use crate::store::Store;

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finding {
    /// The entry differs from the store.
    Drift,
    /// The account has no entry.
    Missing,
    /// The entry has no account.
    Orphan,
}

impl Finding {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Finding::Drift => "drift",
            Finding::Missing => "missing",
            Finding::Orphan => "orphan",
        }
    }

    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            Finding::Drift => "属性の相違",
            Finding::Missing => "エントリなし",
            Finding::Orphan => "アカウントなし（削除しません）",
        }
    }
}

/// One finding: its kind, the ECS-ID (none for an orphan), the DN and the change that would
/// restore it (none for an orphan).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub finding: Finding,
    pub ecs_id: Option<String>,
    pub dn: String,
    pub change: Option<Change>,
}

/// The comparison's result.
#[derive(Debug, Default)]
pub(crate) struct Diff {
    pub entries: usize,
    pub accounts: usize,
    pub rows: Vec<Row>,
    /// The desired states of the drifted and missing accounts, for `--fix`.
    pub fixes: Vec<Desired>,
}

impl Diff {
    pub(crate) fn count(&self, f: Finding) -> usize {
        self.rows.iter().filter(|r| r.finding == f).count()
    }
}

/// Reads the subtree and compares it with every account in the store.
pub(crate) fn compare(store: &Store, s: &DirectorySettings) -> Result<Diff, DirectoryError> {
    let accounts = store.directory_accounts()?;
    let managed = s.profile.managed();
    let mut conn = Conn::open(s)?;
    let mut live: HashMap<String, (String, Attrs)> = HashMap::new();
    conn.scan(&s.base, &managed, |dn, attrs| {
        live.insert(normalise_dn(&dn), (dn, attrs));
        std::ops::ControlFlow::Continue(())
    })?;
    conn.close();
    let mut out = Diff {
        entries: live.len(),
        accounts: accounts.len(),
        ..Diff::default()
    };
    for d in accounts {
        let want = s.profile.render(&d, &s.base);
        let found = live.remove(&normalise_dn(&want.dn));
        let Some(change) = diff(&want, found.as_ref().map(|(_, a)| a)) else {
            continue;
        };
        let finding = if found.is_some() {
            Finding::Drift
        } else {
            Finding::Missing
        };
        out.rows.push(Row {
            finding,
            ecs_id: Some(d.ecs_id.clone()),
            dn: want.dn.clone(),
            change: Some(change),
        });
        out.fixes.push(d);
    }
    let mut orphans: Vec<String> = live.into_values().map(|(dn, _)| dn).collect();
    orphans.sort();
    out.rows.extend(orphans.into_iter().map(|dn| Row {
        finding: Finding::Orphan,
        ecs_id: None,
        dn,
        change: None,
    }));
    Ok(out)
}
