//! A batch: the input files of one plan, read in parallel, each accepted whole or rejected
//! whole, with its SHA-256 (so a file processed once is recognised when dropped again).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::domain::model::{Kind, Records};
use crate::domain::plan::InputFile;
use crate::domain::rules::Inputs;
use crate::ingest::profile::{Profiles, Snapshot};
use crate::ingest::{Ingested, read_bytes};

/// One file of the batch after ingest.
pub struct BatchFile {
    pub ingested: Ingested,
    pub sha256: String,
    /// Decided at read time: [`Batch::inputs`] moves the records out of accepted files.
    pub accepted: bool,
}

pub struct Batch {
    pub files: Vec<BatchFile>,
}

impl Batch {
    /// Reads `paths` in parallel; files keep their order.
    pub fn read(paths: &[PathBuf], profiles: &Profiles) -> Batch {
        let files = paths
            .par_iter()
            .enumerate()
            .map(|(i, p)| read_one(p, i as u32, profiles))
            .collect();
        Batch { files }
    }

    pub fn rejected(&self) -> impl Iterator<Item = &BatchFile> {
        self.files.iter().filter(|f| !f.accepted)
    }

    /// The accepted files' records as the planner's inputs; rejected files contribute nothing.
    pub fn inputs(&mut self, profiles: &Profiles) -> Inputs {
        let mut inputs = Inputs::default();
        for f in &mut self.files {
            let ing = &mut f.ingested;
            let Some(records) = ing.records.take() else {
                continue;
            };
            // Rows name their file by its position among the accepted files.
            let k = inputs.files.len() as u32;
            let name = display_name(&ing.path);
            inputs.files.push(InputFile {
                name: name.clone(),
                sha256: f.sha256.clone(),
                kind: records.kind(),
                rows: ing.rows,
            });
            for w in ing.warnings() {
                inputs.warnings.push(w.render(&name, ing.sheet.as_deref()));
            }
            match records {
                Records::Registrar(mut rows) => {
                    if profiles
                        .get(Kind::Registrar)
                        .is_some_and(|p| p.snapshot == Snapshot::Full)
                    {
                        inputs.full_snapshot = true;
                    }
                    rows.iter_mut().for_each(|r| r.at.file = k);
                    inputs.registrar.extend(rows);
                }
                Records::Hr(mut rows) => {
                    rows.iter_mut().for_each(|r| r.at.file = k);
                    inputs.staff.extend(rows);
                }
                Records::Renewals(mut rows) => {
                    rows.iter_mut().for_each(|r| r.at.file = k);
                    inputs.renewals.extend(rows);
                }
                Records::Activations(mut rows) => {
                    rows.iter_mut().for_each(|r| r.at.file = k);
                    inputs.activations.extend(rows);
                }
            }
        }
        inputs
    }
}

fn read_one(path: &Path, index: u32, profiles: &Profiles) -> BatchFile {
    match std::fs::read(path) {
        Ok(bytes) => {
            let sha256 = sha256_hex(&bytes);
            let ingested = read_bytes(path, bytes, index, profiles);
            BatchFile {
                accepted: ingested.accepted(),
                ingested,
                sha256,
            }
        }
        Err(_) => BatchFile {
            ingested: crate::ingest::read_file(path, index, profiles),
            sha256: String::new(),
            accepted: false,
        },
    }
}

/// The name a file is shown by in plans and reports: its file name, without the folder, so the
/// plan does not depend on where the inbox is.
pub fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
    }
    s
}
