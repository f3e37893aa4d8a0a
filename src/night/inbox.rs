//! The inbox: which of its entries a night reads, and how it takes them.
//!
//! Only regular files are read, never through a symbolic link: a link, a FIFO, a socket, a
//! device or a folder is named and set aside unopened. What Windows, macOS, Office and copy
//! tools leave on a shared folder (`Thumbs.db`, `desktop.ini`, `~$` owner files, hidden names,
//! `.tmp` and `.part` files) is named as ignored and left where it is, never read nor moved:
//! such files come back every night and are not the registrar's mistake. A file modified within
//! the settle window (`[inbox] settle_secs`) may still be being written and waits for the next
//! run.
//!
//! `run` takes each file it reads through a private copy: the file is opened without following
//! links, checked to be a regular file on the opened handle, and copied into a staging folder
//! while it is hashed. The copy is what is parsed, planned, and then archived or set aside, so
//! the archive holds exactly the bytes that were hashed and applied; the inbox file is removed
//! only when it is still the file that was copied (same inode, size and modification time).
//!
//! Before a file is parsed, the attempt is recorded in a journal beside the store (a folder of
//! one entry per file, named by its SHA-256) and the entry is removed once the file was read.
//! Files are parsed one at a time, so an entry left behind names the file whose reading killed
//! the process: the next run sets that file aside instead of trying it again, and the rest of
//! the inbox goes ahead.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

use crate::digest::hex;
use crate::ingest::batch::display_name;

/// Why an inbox entry is not read this night.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A system, owner or temporary file by its name: left in the inbox, never opened.
    Ignored,
    Symlink,
    Fifo,
    Socket,
    Device,
    Directory,
    /// Modified within the settle window.
    Unsettled,
    /// Changed while it was being copied.
    Changed,
    /// Shown under the same name as a file read before it this night (names that differ only
    /// in bytes that are not UTF-8, or in control characters, are shown alike).
    SameName,
    /// Could not be opened (its permissions, most likely).
    Unopenable,
}

impl Skip {
    /// Whether the entry is set aside in `rejected/` (else it is left in the inbox).
    pub fn set_aside(self) -> bool {
        !matches!(
            self,
            Skip::Ignored | Skip::Unsettled | Skip::Changed | Skip::SameName | Skip::Unopenable
        )
    }

    /// How a summary introduces an entry that is left in the inbox.
    pub fn heading(self) -> &'static str {
        match self {
            Skip::Ignored => "Ignored",
            Skip::Unsettled => "Waiting",
            _ => "Left in the inbox",
        }
    }

    pub fn message_ja(self) -> &'static str {
        match self {
            Skip::Ignored => "システムファイル・一時ファイルです。読まずに受信フォルダに残します",
            Skip::Symlink => "シンボリックリンクです。リンク先は読みません",
            Skip::Fifo => "名前付きパイプ（FIFO）です。読みません",
            Skip::Socket => "ソケットです。読みません",
            Skip::Device => "デバイスファイルです。読みません",
            Skip::Directory => "フォルダです。中身は読みません",
            Skip::Unsettled => "書き込み中の可能性があります。次回の実行で読みます",
            Skip::Changed => "読み込み中に変更されました。次回の実行で読みます",
            Skip::SameName => {
                "同じ名前に見えるファイルを今回すでに読んでいます。次回の実行で読みます"
            }
            Skip::Unopenable => "開けません。権限を確認してください",
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            Skip::Ignored => "a system, owner or temporary file; not read, left in the inbox",
            Skip::Symlink => "a symbolic link; its target is not read",
            Skip::Fifo => "a named pipe (FIFO); not read",
            Skip::Socket => "a socket; not read",
            Skip::Device => "a device file; not read",
            Skip::Directory => "a folder; its contents are not read",
            Skip::Unsettled => "still being written; left for the next run",
            Skip::Changed => "changed while it was being read; left for the next run",
            Skip::SameName => {
                "a file shown under the same name is read in this run; left for the next run"
            }
            Skip::Unopenable => "cannot be opened; check its permissions",
        }
    }

    fn of(file_type: std::fs::FileType) -> Option<Skip> {
        if file_type.is_file() {
            None
        } else if file_type.is_symlink() {
            Some(Skip::Symlink)
        } else if file_type.is_dir() {
            Some(Skip::Directory)
        } else if file_type.is_fifo() {
            Some(Skip::Fifo)
        } else if file_type.is_socket() {
            Some(Skip::Socket)
        } else {
            Some(Skip::Device)
        }
    }
}

/// An inbox entry that is not read this night.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: PathBuf,
    pub why: Skip,
}

impl Skipped {
    /// `NAME (日本語 / English)`, for summaries.
    pub fn describe(&self) -> String {
        format!(
            "{} ({} / {})",
            display_name(&self.path),
            self.why.message_ja(),
            self.why.message_en()
        )
    }
}

/// One sentence naming the ignored entries of `skipped` together (none when there are none).
pub(crate) fn ignored_note(skipped: &[Skipped]) -> Option<String> {
    let names: Vec<String> = skipped
        .iter()
        .filter(|s| s.why == Skip::Ignored)
        .map(|s| display_name(&s.path))
        .collect();
    (!names.is_empty()).then(|| {
        format!(
            "Ignored: {} ({} / {})",
            names.join(", "),
            Skip::Ignored.message_ja(),
            Skip::Ignored.message_en()
        )
    })
}

/// `Rejected: NAME: FIRST ERROR`, for the summary of a night that set a file aside; the whole
/// report is in `NAME.errors.txt`.
pub(crate) fn rejected_note(file: &crate::ingest::Ingested) -> String {
    let name = display_name(&file.path);
    let first = file
        .errors()
        .next()
        .map_or_else(String::new, |d| d.render(&name, file.sheet.as_deref()));
    let more = file.errors().count().saturating_sub(1);
    if more > 0 {
        format!("Rejected: {first} (ほか {more} 件 / and {more} more)")
    } else {
        format!("Rejected: {first}")
    }
}

/// The inbox as found: the regular files to read, by name, and the entries that are not read.
#[derive(Debug, Default)]
pub struct Scan {
    pub files: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
}

/// Whether an entry's name is one that Windows, macOS, Office or a copy tool leaves on a shared
/// folder: hidden names (`.DS_Store`, a partial upload), `Thumbs.db`, `desktop.ini`, an Office
/// owner file (`~$reg.xlsx`), a `.tmp` or `.part` file. Letter case does not matter, as on the
/// Windows side.
pub fn ignored_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    name.starts_with('.')
        || name.starts_with("~$")
        || matches!(lower.as_str(), "thumbs.db" | "ehthumbs.db" | "desktop.ini")
        || lower.ends_with(".tmp")
        || lower.ends_with(".part")
}

/// Lists the inbox without opening anything: regular files modified at least `settle` before
/// `now` are to be read; other entries are skipped with their reason, system and temporary
/// files by name ([`ignored_name`]) whatever they are.
pub fn scan(inbox: &Path, settle: Duration, now: SystemTime) -> anyhow::Result<Scan> {
    let mut scan = Scan::default();
    let entries = match std::fs::read_dir(inbox) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(scan),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "cannot read the inbox `{}`: {e}",
                inbox.display()
            ));
        }
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading the inbox `{}`", inbox.display()))?;
        let path = entry.path();
        if ignored_name(&entry.file_name().to_string_lossy()) {
            scan.skipped.push(Skipped {
                path,
                why: Skip::Ignored,
            });
            continue;
        }
        // `symlink_metadata` describes the entry itself, never what a link points to.
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            // Removed since the folder was listed.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading `{}`", path.display())),
        };
        let why = Skip::of(meta.file_type())
            .or_else(|| (!settled(&meta, settle, now)).then_some(Skip::Unsettled));
        match why {
            Some(why) => scan.skipped.push(Skipped { path, why }),
            None => scan.files.push(path),
        }
    }
    scan.files.sort();
    scan.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(scan)
}

/// Whether a file was last modified at least `settle` before `now` (a modification time in the
/// future counts as recent).
fn settled(meta: &std::fs::Metadata, settle: Duration, now: SystemTime) -> bool {
    if settle.is_zero() {
        return true;
    }
    meta.modified()
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .is_some_and(|age| age >= settle)
}

/// What identifies the file that was copied: it is removed from the inbox only if the name
/// still holds this file, unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Identity {
    fn of(meta: &std::fs::Metadata) -> Self {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        }
    }
}

/// An inbox file taken into the staging folder.
#[derive(Debug)]
pub(crate) struct Taken {
    /// The file in the inbox.
    pub(crate) path: PathBuf,
    /// The private copy: what is parsed, and what is archived or set aside.
    pub(crate) copy: PathBuf,
    pub(crate) sha256: String,
    identity: Identity,
}

impl Taken {
    pub(crate) fn name(&self) -> String {
        display_name(&self.path)
    }

    /// The inbox file's modification time when it was copied (seconds, nanoseconds).
    pub(crate) fn modified(&self) -> (i64, i64) {
        (self.identity.mtime, self.identity.mtime_nsec)
    }

    /// Removes the inbox file if it is still the file that was copied; returns whether it was
    /// (a file changed since is left for the next run).
    pub(crate) fn remove_original(&self) -> anyhow::Result<bool> {
        let same = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.file_type().is_file() && Identity::of(&m) == self.identity);
        if same {
            std::fs::remove_file(&self.path)
                .with_context(|| format!("removing `{}`", self.path.display()))?;
        }
        Ok(same)
    }
}

/// The staging folder of `run` below the archive, emptied of what a crashed run left there.
pub(crate) fn staging(archive: &Path) -> anyhow::Result<PathBuf> {
    discard_staging(archive)?;
    let dir = archive.join(STAGING);
    private_dir(&dir)?;
    Ok(dir)
}

/// Removes the staging folder and the copies left in it.
pub(crate) fn discard_staging(archive: &Path) -> anyhow::Result<()> {
    let dir = archive.join(STAGING);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("emptying `{}`", dir.display())),
    }
}

/// The staging folder's name below the archive (hidden, like a partial upload).
const STAGING: &str = ".incoming";

fn private_dir(dir: &Path) -> anyhow::Result<()> {
    crate::private::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))
}

/// Copies the inbox file `path` into `staging`, hashing the bytes as they are copied, and
/// syncs the copy. A file that is not (or no longer) a settled regular file, or that changes
/// while it is copied, is skipped.
pub(crate) fn take(
    path: &Path,
    staging: &Path,
    settle: Duration,
    now: SystemTime,
) -> anyhow::Result<Result<Taken, Skip>> {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path);
    let mut file = match opened {
        Ok(f) => f,
        // The entry became a link since it was listed.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(Err(Skip::Symlink)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Err(Skip::Changed)),
        Err(_) => return Ok(Err(Skip::Unopenable)),
    };
    let before = file
        .metadata()
        .with_context(|| format!("reading `{}`", path.display()))?;
    // What was opened is checked, not what the name pointed to when it was listed.
    if let Some(why) = Skip::of(before.file_type()) {
        return Ok(Err(why));
    }
    if !settled(&before, settle, now) {
        return Ok(Err(Skip::Unsettled));
    }
    let copy = staging.join(display_name(path));
    let mut out = match crate::private::create_new(&copy, crate::private::Kind::Shared) {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Ok(Err(Skip::SameName));
        }
        Err(e) => return Err(e).with_context(|| format!("creating `{}`", copy.display())),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading `{}`", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .with_context(|| format!("writing `{}`", copy.display()))?;
    }
    out.sync_all()
        .with_context(|| format!("writing `{}`", copy.display()))?;
    let after = file
        .metadata()
        .with_context(|| format!("reading `{}`", path.display()))?;
    if crate::fault::at("inbox-pause") {
        // A writer may change the inbox file now; the copy is what counts.
        std::thread::sleep(Duration::from_secs(2));
    }
    if Identity::of(&before) != Identity::of(&after) {
        std::fs::remove_file(&copy).with_context(|| format!("removing `{}`", copy.display()))?;
        return Ok(Err(Skip::Changed));
    }
    Ok(Ok(Taken {
        path: path.to_path_buf(),
        copy,
        sha256: hex(&hasher.finalize()),
        identity: Identity::of(&before),
    }))
}

/// The journal of read attempts: a folder beside the store with one entry per file being
/// parsed, named by the file's SHA-256 and holding its name.
pub(crate) struct Journal {
    dir: PathBuf,
}

impl Journal {
    pub(crate) fn open(store: &Path) -> anyhow::Result<Journal> {
        let mut name = store
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".reading");
        let dir = store.with_file_name(name);
        private_dir(&dir)?;
        Ok(Journal { dir })
    }

    /// The SHA-256 and name of every file whose last attempt did not finish.
    pub(crate) fn unfinished(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir)
            .with_context(|| format!("reading `{}`", self.dir.display()))?
        {
            let e = e.with_context(|| format!("reading `{}`", self.dir.display()))?;
            let sha = e.file_name().to_string_lossy().into_owned();
            if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                let name = std::fs::read_to_string(e.path()).unwrap_or_default();
                out.push((sha, name));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Records that the file `name` with `sha256` is about to be read, durably.
    pub(crate) fn begin(&self, sha256: &str, name: &str) -> anyhow::Result<()> {
        let path = self.dir.join(sha256);
        let mut f = crate::private::create(&path)
            .with_context(|| format!("writing `{}`", path.display()))?;
        f.write_all(name.as_bytes())
            .and_then(|()| f.sync_all())
            .with_context(|| format!("writing `{}`", path.display()))?;
        sync_dir(&self.dir)
    }

    /// Forgets the attempt on `sha256`: its read finished, or the file was set aside.
    pub(crate) fn end(&self, sha256: &str) -> anyhow::Result<()> {
        let path = self.dir.join(sha256);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing `{}`", path.display())),
        }
    }
}

/// Makes the entries of `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing `{}`", dir.display()))
}
