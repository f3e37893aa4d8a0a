//! Matching input rows to accounts on record, in order of trust: 個人番号, then any student
//! number in the person's history, then an ECS-ID column. A kana name plus birth date never
//! matches on its own: it only makes a review candidate, because two people can share both and
//! giving one person's ECS-ID to another must never happen (R2).

use rustc_hash::FxHashMap as HashMap;

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::domain::account::Account;
use crate::domain::model::{EcsId, PersonId, StudentNo};
use crate::domain::text::fold_kana_key;

/// Lookups over a snapshot's accounts, by reference; indexes are account positions.
pub(crate) struct Index<'a> {
    pub accounts: &'a [Account],
    by_person: HashMap<&'a str, usize>,
    by_student_no: HashMap<&'a str, usize>,
    by_ecs_id: HashMap<&'a str, usize>,
    /// (birth date, folded kana) → accounts; built on first use, since most nights need none.
    by_name_birth: std::sync::OnceLock<HashMap<(NaiveDate, String), Vec<usize>>>,
}

/// What an input row's identifiers say about who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Match {
    /// One account, found by an identifier.
    Account(usize),
    /// No identifier is on record.
    New,
    /// The identifiers point at different accounts.
    Ambiguous(Vec<usize>),
    /// Matched by 個人番号 or student number, but the row's ECS-ID is another one (R6).
    EcsIdMismatch { account: usize, row_ecs_id: EcsId },
}

impl<'a> Index<'a> {
    pub fn new(accounts: &'a [Account]) -> Self {
        let (by_ecs_id, (by_person, by_student_no)) =
            rayon::join(
                || {
                    positions(
                        accounts.len(),
                        accounts.iter().map(|a| Some(a.ecs_id.as_str())),
                    )
                },
                || {
                    rayon::join(
                        || {
                            positions(
                                accounts.len(),
                                accounts
                                    .iter()
                                    .map(|a| a.person_id.as_ref().map(|p| p.as_str())),
                            )
                        },
                        || {
                            let mut m = HashMap::with_capacity_and_hasher(
                                accounts.len() + accounts.len() / 4,
                                Default::default(),
                            );
                            m.extend(accounts.iter().enumerate().flat_map(|(i, a)| {
                                a.student_nos.iter().map(move |s| (s.as_str(), i))
                            }));
                            m
                        },
                    )
                },
            );
        Index {
            accounts,
            by_person,
            by_student_no,
            by_ecs_id,
            by_name_birth: std::sync::OnceLock::new(),
        }
    }

    pub fn by_ecs_id(&self, id: &EcsId) -> Option<usize> {
        self.by_ecs_id.get(id.as_str()).copied()
    }

    /// Every account one of these identifiers is on record for (a held row's persons).
    pub(crate) fn named(
        &self,
        person_id: Option<&PersonId>,
        student_no: Option<&StudentNo>,
        ecs_id: Option<&EcsId>,
    ) -> impl Iterator<Item = usize> {
        let p = person_id.and_then(|p| self.by_person.get(p.as_str()).copied());
        let s = student_no.and_then(|s| self.by_student_no.get(s.as_str()).copied());
        let e = ecs_id.and_then(|e| self.by_ecs_id.get(e.as_str()).copied());
        p.into_iter().chain(s).chain(e)
    }

    /// Matches a row by its identifiers.
    pub(crate) fn identify(
        &self,
        person_id: Option<&PersonId>,
        student_no: Option<&StudentNo>,
        ecs_id: Option<&EcsId>,
    ) -> Match {
        let p = person_id.and_then(|p| self.by_person.get(p.as_str()).copied());
        let s = student_no.and_then(|s| self.by_student_no.get(s.as_str()).copied());
        let e = ecs_id.and_then(|e| self.by_ecs_id.get(e.as_str()).copied());
        let found = match (p, s) {
            (Some(p), Some(s)) if p != s => return Match::Ambiguous(vec![p, s]),
            (Some(i), _) | (None, Some(i)) => Some(i),
            (None, None) => None,
        };
        match (found, ecs_id) {
            (Some(i), Some(row_ecs_id)) if self.accounts[i].ecs_id != *row_ecs_id => {
                Match::EcsIdMismatch {
                    account: i,
                    row_ecs_id: row_ecs_id.clone(),
                }
            }
            (Some(i), _) => Match::Account(i),
            (None, _) => match e {
                // Found by ECS-ID alone: trust it only if the account's 個人番号 does not contradict.
                Some(i) => match (&self.accounts[i].person_id, person_id) {
                    (Some(have), Some(row)) if have != row => Match::Ambiguous(vec![i]),
                    _ => Match::Account(i),
                },
                None => Match::New,
            },
        }
    }

    /// Accounts with the same folded kana name and birth date: review candidates only.
    pub(crate) fn name_birth_candidates(
        &self,
        name_kana: &str,
        birth_date: Option<NaiveDate>,
    ) -> Vec<usize> {
        let Some(birth) = birth_date else {
            return Vec::new();
        };
        let key = fold_kana_key(name_kana);
        if key.is_empty() {
            return Vec::new();
        }
        self.name_birth()
            .get(&(birth, key))
            .cloned()
            .unwrap_or_default()
    }

    /// Builds the kana name + birth date index now, if it is not built yet. Call it before a
    /// parallel loop that needs it: built inside one, the threads that need it meanwhile wait
    /// instead of helping.
    pub(crate) fn prepare_name_birth(&self) {
        self.name_birth();
    }

    fn name_birth(&self) -> &HashMap<(NaiveDate, String), Vec<usize>> {
        self.by_name_birth.get_or_init(|| {
            let keys: Vec<Option<(NaiveDate, String)>> = self
                .accounts
                .par_iter()
                .map(|a| a.birth_date.map(|b| (b, fold_kana_key(&a.name_kana))))
                .collect();
            let mut map: HashMap<(NaiveDate, String), Vec<usize>> =
                HashMap::with_capacity_and_hasher(keys.len(), Default::default());
            for (i, k) in keys.into_iter().enumerate() {
                if let Some(k) = k.filter(|k| !k.1.is_empty()) {
                    map.entry(k).or_default().push(i);
                }
            }
            map
        })
    }
}

/// Each identifier of `ids` (one per account, if any) to the account's position.
fn positions<'a>(
    capacity: usize,
    ids: impl Iterator<Item = Option<&'a str>>,
) -> HashMap<&'a str, usize> {
    let mut m = HashMap::with_capacity_and_hasher(capacity, Default::default());
    m.extend(ids.enumerate().filter_map(|(i, id)| id.map(|id| (id, i))));
    m
}
