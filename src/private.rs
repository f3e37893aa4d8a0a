//! Private files: every file and folder regsync creates (the store and its `-wal`, `-shm` and
//! journal files, the lock, reports, the archive and `rejected/` with what is moved there,
//! mail files) is readable by its owner only, whatever the umask: files 0600, folders 0700.
//! When the configuration names a group (`[paths] group`), that group may read them too: files
//! 0640 and folders 0750, owned by the group. Letters keep 0600 in a 0700 folder in every case
//! ([`Kind::Secret`]): they hold activation keys.
//!
//! The mode is given at creation (so no other user can open the file in between) and set
//! again right after, since the umask can only take permissions away: a group read that the
//! umask removed is put back. On other systems than unix these functions create plain files
//! and folders.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The group that may read what regsync creates (a numeric gid), set once from the
/// configuration before any file is made.
static GROUP: OnceLock<Option<u32>> = OnceLock::new();

/// Sets the group of [`GROUP`]; a second call (with another value) is ignored.
pub(crate) fn set_group(gid: Option<u32>) {
    let _ = GROUP.set(gid);
}

fn group() -> Option<u32> {
    GROUP.get().copied().flatten()
}

/// What a file holds, which decides whether the configured group may read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Personal data the operators' group may read when one is configured.
    Shared,
    /// Activation keys: the owner only, always.
    Secret,
}

impl Kind {
    fn file_mode(self) -> u32 {
        match (self, group()) {
            (Kind::Shared, Some(_)) => 0o640,
            _ => 0o600,
        }
    }

    fn dir_mode(self) -> u32 {
        match (self, group()) {
            (Kind::Shared, Some(_)) => 0o750,
            _ => 0o700,
        }
    }
}

/// Creates `path` and any missing parent folders; each folder made is private. Folders that
/// exist already are left as they are (the operator's inbox, a shared parent).
pub(crate) fn create_dir_all(path: &Path) -> io::Result<()> {
    create_dirs(path).map_err(named(path))
}

fn create_dirs(path: &Path) -> io::Result<()> {
    if path.as_os_str().is_empty() || path.is_dir() {
        return Ok(());
    }
    if path.symlink_metadata().is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "exists and is not a folder",
        ));
    }
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut at = Some(path);
    while let Some(p) = at.filter(|p| !p.as_os_str().is_empty()) {
        if p.symlink_metadata().is_ok() {
            break;
        }
        missing.push(p.to_path_buf());
        at = p.parent();
    }
    for dir in missing.iter().rev() {
        match make_dir(dir, Kind::Shared) {
            Ok(()) => {}
            // Another process made it in between.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates the new folder `path` (failing when it exists) with the mode of `kind`.
pub(crate) fn create_dir(path: &Path, kind: Kind) -> io::Result<()> {
    make_dir(path, kind).map_err(named(path))
}

fn make_dir(path: &Path, kind: Kind) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(kind.dir_mode());
    }
    builder.create(path)?;
    set_dir_mode(path, kind)
}

/// Creates the new file `path` (failing when it exists) for writing, with the mode of `kind`
/// from its creation on.
pub(crate) fn create_new(path: &Path, kind: Kind) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    open_with_mode(&mut options, path, kind)
}

/// Opens `path` for writing, creating it when missing and truncating it otherwise; a file
/// made here is private from its creation on, and one that was there is made private too.
pub(crate) fn create(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    open_with_mode(&mut options, path, Kind::Shared)
}

/// Opens `path` with `options` plus the mode of `kind`, then sets the mode and group on the
/// open file.
pub(crate) fn open_with_mode(
    options: &mut std::fs::OpenOptions,
    path: &Path,
    kind: Kind,
) -> io::Result<File> {
    open_private(options, path, kind).map_err(named(path))
}

fn open_private(options: &mut std::fs::OpenOptions, path: &Path, kind: Kind) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(kind.file_mode());
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(kind.file_mode()))?;
        if let (Kind::Shared, Some(gid)) = (kind, group()) {
            std::os::unix::fs::fchown(&file, None, Some(gid))?;
        }
    }
    Ok(file)
}

/// Writes `bytes` to `path` as [`create`] opens it.
pub(crate) fn write(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    use std::io::Write as _;
    let mut file = create(path)?;
    file.write_all(bytes.as_ref()).map_err(named(path))
}

/// `.NAME.tmp-<pid>` beside `path`, for a write then a rename that never crosses a file
/// system; a dot name, so a reader of the folder (node_exporter's `*.prom`) never sees it.
pub(crate) fn temp_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Makes the existing file or folder `path` private (a file moved into the archive, the
/// store's own files that SQLite made).
pub(crate) fn set_mode(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        set_dir_mode(path, Kind::Shared)
    } else {
        set_file_mode(path, Kind::Shared)
    }
    .map_err(named(path))
}

/// The error `e` with `path` named in it, keeping its kind.
fn named(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("`{}`: {e}", path.display()))
}

fn set_file_mode(path: &Path, kind: Kind) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(kind.file_mode()))?;
        if let (Kind::Shared, Some(gid)) = (kind, group()) {
            std::os::unix::fs::chown(path, None, Some(gid))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, kind);
    Ok(())
}

fn set_dir_mode(path: &Path, kind: Kind) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(kind.dir_mode()))?;
        if let (Kind::Shared, Some(gid)) = (kind, group()) {
            std::os::unix::fs::chown(path, None, Some(gid))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, kind);
    Ok(())
}

/// The gid of `name`: a number, or a group name looked up in `/etc/group`.
pub(crate) fn resolve_group(name: &str) -> Option<u32> {
    let name = name.trim();
    if let Ok(gid) = name.parse::<u32>() {
        return Some(gid);
    }
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        let found = fields.next()? == name;
        let gid = fields.nth(1)?.parse().ok()?;
        found.then_some(gid)
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    #[test]
    fn made_folders_and_files_are_private_existing_ones_untouched() -> io::Result<()> {
        let tmp = tempfile::tempdir()?;
        let base = tmp.path();
        std::fs::set_permissions(base, std::fs::Permissions::from_mode(0o755))?;
        let deep = base.join("a/b/c");
        create_dir_all(&deep)?;
        assert_eq!(mode(&base.join("a")), 0o700);
        assert_eq!(mode(&deep), 0o700);
        assert_eq!(mode(base), 0o755, "an existing folder is left alone");
        let f = deep.join("x.txt");
        write(&f, "x")?;
        assert_eq!(mode(&f), 0o600);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666))?;
        write(&f, "y")?;
        assert_eq!(mode(&f), 0o600, "rewriting a file makes it private");
        assert!(
            create_new(&f, Kind::Secret).is_err(),
            "create_new never replaces"
        );
        Ok(())
    }

    #[test]
    fn group_names_and_numbers_resolve() {
        assert_eq!(resolve_group("0"), Some(0));
        assert_eq!(resolve_group(" 1234 "), Some(1234));
        assert_eq!(resolve_group("no-such-group-regsync-test"), None);
    }
}
