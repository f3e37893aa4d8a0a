//! A batch: the input files of one plan, read in parallel, each accepted (with the rows that
//! have errors held out, under policy `row_errors = "hold_rows"`) or rejected whole, with its
//! SHA-256 (so a file processed once is recognised when dropped again).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::digest::hex;
use crate::domain::model::Records;
use crate::domain::plan::InputFile;
use crate::domain::rules::Inputs;
use crate::ingest::QuietRows;
use crate::ingest::diag::escape_controls;
use crate::ingest::profile::Profiles;
use crate::ingest::{Ingested, Sink, read_source, unreadable};

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
        Batch::read_with(paths, profiles, Sink::Keep)
    }

    /// [`Batch::read`], with the rows going to `sink`.
    pub fn read_with(paths: &[PathBuf], profiles: &Profiles, sink: Sink<'_>) -> Batch {
        let files = paths
            .par_iter()
            .enumerate()
            .map(|(i, p)| read_one(p, i as u32, profiles, sink))
            .collect();
        Batch { files }
    }

    /// Takes the quiet registrar rows of the accepted files ([`Sink::Sift`]); held rows name
    /// their file as [`Batch::inputs`] names it, by its position among the accepted files.
    pub fn quiet(&mut self) -> QuietRows {
        let mut all = QuietRows::default();
        for (k, f) in self.files.iter_mut().filter(|f| f.accepted).enumerate() {
            let mut quiet = std::mem::take(&mut f.ingested.quiet);
            quiet
                .held
                .iter_mut()
                .for_each(|(_, r)| r.at.file = k as u32);
            all.extend(quiet);
        }
        all
    }

    pub fn rejected(&self) -> impl Iterator<Item = &BatchFile> {
        self.files.iter().filter(|f| !f.accepted)
    }

    /// The accepted files' records as the planner's inputs; rejected files contribute nothing.
    pub fn inputs(&mut self, profiles: &Profiles) -> Inputs {
        let mut inputs = Inputs::default();
        let accepted: Vec<&Path> = (self.files.iter())
            .filter(|f| f.ingested.records.is_some())
            .map(|f| f.ingested.path.as_path())
            .collect();
        let mut names = input_names(&accepted).into_iter();
        for f in &mut self.files {
            let ing = &mut f.ingested;
            let Some(records) = ing.records.take() else {
                continue;
            };
            // Rows name their file by its position among the accepted files.
            let k = inputs.files.len() as u32;
            let name = names.next().unwrap_or_else(|| display_name(&ing.path));
            inputs.files.push(InputFile {
                name: name.clone(),
                sha256: f.sha256.clone(),
                kind: records.kind(),
                rows: ing.rows,
            });
            for w in ing.warnings() {
                inputs.warnings.push(w.render(&name, ing.sheet.as_deref()));
            }
            for mut h in std::mem::take(&mut ing.held) {
                h.errors = ing
                    .errors()
                    .filter(|d| d.held_row() == Some(h.at.row))
                    .map(|d| d.render(&name, ing.sheet.as_deref()))
                    .collect();
                h.at.file = k;
                inputs.held.push(h);
            }
            match records {
                Records::Registrar(mut rows) => {
                    if profiles.registrar_is_full() {
                        inputs.full_snapshot = true;
                    }
                    rows.iter_mut().for_each(|r| r.at.file = k);
                    append(&mut inputs.registrar, rows);
                }
                Records::Hr(mut rows) => {
                    rows.iter_mut().for_each(|r| r.at.file = k);
                    append(&mut inputs.staff, rows);
                }
                Records::Renewals(mut rows) => {
                    rows.iter_mut().for_each(|r| r.at.file = k);
                    append(&mut inputs.renewals, rows);
                }
                Records::Activations(mut rows) => {
                    rows.iter_mut().for_each(|r| r.at.file = k);
                    append(&mut inputs.activations, rows);
                }
            }
        }
        inputs
    }
}

/// `rows` after `to`'s: the first file's rows are moved, not copied (a night's export is a
/// single file of 100,000 rows or more).
fn append<T>(to: &mut Vec<T>, mut rows: Vec<T>) {
    if to.is_empty() {
        std::mem::swap(to, &mut rows);
    } else {
        to.append(&mut rows);
    }
}

/// Reads one file of a batch; `index` is its position in the batch.
pub(crate) fn read_one(path: &Path, index: u32, profiles: &Profiles, sink: Sink<'_>) -> BatchFile {
    let read = crate::ingest::open_regular(path, true).and_then(|f| {
        // The file is hashed as it is read, in the same pass.
        let mut src = Hashing::new(f);
        let ingested = read_source(path, &mut src, index, profiles, sink)?;
        Ok((ingested, src.finish()?))
    });
    match read {
        Ok((ingested, sha256)) => BatchFile {
            accepted: ingested.accepted(),
            ingested,
            sha256,
        },
        Err(e) => BatchFile {
            ingested: unreadable(path, &e),
            sha256: String::new(),
            accepted: false,
        },
    }
}

/// A reader that feeds every byte it reads to SHA-256, each once: after a seek back, bytes
/// already hashed are not hashed again.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    /// The position of `inner`, and how far from the start the hash covers.
    pos: u64,
    hashed: u64,
}

impl<R: Read + Seek> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            pos: 0,
            hashed: 0,
        }
    }

    /// Hashes what has not been read yet and returns the whole file's digest in hex.
    fn finish(mut self) -> std::io::Result<String> {
        self.seek(SeekFrom::Start(self.hashed))?;
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok(hex(&self.hasher.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let end = self.pos + n as u64;
        if end > self.hashed {
            // `pos <= hashed` always: reads are contiguous, and seeks only go back.
            let skip = self.hashed.saturating_sub(self.pos) as usize;
            self.hasher.update(&buf[skip..n]);
            self.hashed = end;
        }
        self.pos = end;
        Ok(n)
    }
}

impl<R: Seek> Seek for Hashing<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

/// The name a file is shown by in plans and reports: its file name, without the folder, so the
/// plan does not depend on where the inbox is; escaped as [`shown`] escapes it.
pub(crate) fn display_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| shown(path), |n| escape_controls(&n.to_string_lossy()))
}

/// The names files go by in a plan, one per path, all different: the file name
/// ([`display_name`]); where two paths share one (`plan 04/reg.csv 05/reg.csv`), each of them
/// as given ([`shown`]); and a path given more than once, `#2`, `#3`... after its later copies.
/// Rows, reviews and reports then always say which file they mean.
fn input_names(paths: &[&Path]) -> Vec<String> {
    let short: Vec<String> = paths.iter().map(|p| display_name(p)).collect();
    let mut names: Vec<String> = Vec::with_capacity(paths.len());
    for (i, path) in paths.iter().enumerate() {
        let shared = short.iter().filter(|n| **n == short[i]).count() > 1;
        let base = if shared {
            shown(path)
        } else {
            short[i].clone()
        };
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}#{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// A path as printed: bytes that are not UTF-8 as U+FFFD, and control characters (a line break,
/// an escape sequence for the terminal) and the bidirectional overrides as escapes (`\n`,
/// `\u{1b}`, `\u{202e}`). A name dropped into the inbox cannot start a line of its own in a
/// summary or a report, nor change what the terminal or a reader shows around it.
pub(crate) fn shown(path: &Path) -> String {
    escape_controls(&path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256_hex;

    #[test]
    fn input_names_tell_files_of_the_same_name_apart() {
        let cases: [(&[&str], &[&str]); 4] = [
            (&["inbox/a.csv", "inbox/b.csv"], &["a.csv", "b.csv"]),
            (
                &["04/reg.csv", "hr.csv", "05/reg.csv"],
                &["04/reg.csv", "hr.csv", "05/reg.csv"],
            ),
            (&["reg.csv", "reg.csv"], &["reg.csv", "reg.csv#2"]),
            (
                &["a/reg.csv", "a/reg.csv", "b/reg.csv", "a/reg.csv"],
                &["a/reg.csv", "a/reg.csv#2", "b/reg.csv", "a/reg.csv#3"],
            ),
        ];
        for (paths, expected) in cases {
            let paths: Vec<&Path> = paths.iter().map(Path::new).collect();
            assert_eq!(input_names(&paths), expected, "{paths:?}");
        }
    }

    #[test]
    fn names_are_shown_without_control_characters() {
        use std::os::unix::ffi::OsStrExt as _;
        let cases: [(&[u8], &str); 5] = [
            (b"inbox/registrar.csv", "registrar.csv"),
            ("inbox/在籍者.csv".as_bytes(), "在籍者.csv"),
            (
                b"inbox/a\n\xe5\x8f\x97\xe7\x90\x86 OK b.csv",
                "a\\n受理 OK b.csv",
            ),
            (b"inbox/\x1b[2Jx\x7f.csv", "\\u{1b}[2Jx\\u{7f}.csv"),
            (
                b"inbox/bad\xffname\xe2\x80\xaevsc.csv",
                "bad\u{fffd}name\\u{202e}vsc.csv",
            ),
        ];
        for (bytes, expected) in cases {
            let path = Path::new(std::ffi::OsStr::from_bytes(bytes));
            assert_eq!(display_name(path), expected, "{bytes:?}");
            assert_eq!(shown(path), format!("inbox/{expected}"), "{bytes:?}");
        }
    }

    #[test]
    fn hashing_reader_hashes_each_byte_once() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut src = Hashing::new(std::io::Cursor::new(&data));
        let mut buf = [0u8; 3000];
        assert!(src.read_exact(&mut buf).is_ok());
        // Read again from the start, past what was hashed, then stop early.
        assert_eq!(src.seek(SeekFrom::Start(0)).ok(), Some(0));
        let mut more = [0u8; 5000];
        assert!(src.read_exact(&mut more).is_ok());
        assert_eq!(src.finish().ok(), Some(sha256_hex(&data)));
    }
}
