//! What the end-to-end tests share: where the samples are, the binary run in a folder and what
//! it printed, files written or dropped into an inbox, a folder with the sample accounts
//! imported, and the samples' 2026-04-02 night planned.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The four files of the samples' 2026-04-02 night, below [`root`].
pub(crate) const NIGHT_0402: [&str; 4] = [
    "samples/registrar-2026-04-02.csv",
    "samples/hr-2026-04-02.csv",
    "samples/renewals-2026-04-02.csv",
    "samples/activations-2026-04-02.csv",
];

/// The crate's root folder, which holds `samples/`.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn tempdir() -> TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => unreachable!("tempdir: {e}"),
    }
}

/// The binary, to run in `dir` with `args` and the environment variables `env` added.
pub(crate) fn cmd(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = match Command::cargo_bin("regsync") {
        Ok(c) => c,
        Err(e) => unreachable!("binary: {e}"),
    };
    c.current_dir(dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Runs the binary as [`cmd`] makes it and waits for it.
pub(crate) fn output(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    match cmd(dir, args, env).output() {
        Ok(o) => o,
        Err(e) => unreachable!("run: {e}"),
    }
}

/// What a run printed, stdout then stderr, for assertions and their messages.
pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes `contents` to `path`, creating its folder.
pub(crate) fn write(path: &Path, contents: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent()
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        unreachable!("create `{}`: {e}", parent.display());
    }
    if let Err(e) = std::fs::write(path, contents) {
        unreachable!("write `{}`: {e}", path.display());
    }
}

/// A temp folder with `config` as its `regsync.toml` (none for `None`) and the sample accounts
/// imported into its store; the import runs with `env` added.
pub(crate) fn imported(config: Option<&str>, env: &[(&str, &str)]) -> TempDir {
    let dir = tempdir();
    if let Some(config) = config {
        write(&dir.path().join("regsync.toml"), config);
    }
    let accounts = root().join("samples/accounts.csv");
    let o = output(
        dir.path(),
        &["accounts", "import", &accounts.to_string_lossy()],
        env,
    );
    assert!(o.status.success(), "{}", text(&o));
    dir
}

/// Copies `files` (paths below [`root`]) into `dir`'s inbox, dropped an hour ago ([`settle`]).
pub(crate) fn drop_in(dir: &Path, files: &[&str]) {
    let inbox = dir.join("inbox");
    let _ = std::fs::create_dir_all(&inbox);
    for f in files {
        let src = root().join(f);
        let to = inbox.join(src.file_name().unwrap_or_default());
        let _ = std::fs::copy(&src, &to);
        settle(&to);
    }
}

/// Sets `path`'s modification time an hour back, past the inbox's settle window: the file was
/// dropped a while before the run, not while it starts.
pub(crate) fn settle(path: &Path) {
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let set = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(an_hour_ago));
    if let Err(e) = set {
        unreachable!("set the time of `{}`: {e}", path.display());
    }
}

/// [`write`], then [`settle`]: a file dropped into an inbox a while ago.
pub(crate) fn write_settled(path: &Path, contents: impl AsRef<[u8]>) {
    write(path, contents);
    settle(path);
}

/// Every file in `dir` and its subfolders, in no particular order; a folder that does not
/// exist holds none.
pub(crate) fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for e in entries {
            let path = e?.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.push(path);
            }
        }
    }
    Ok(found)
}

/// One finished command: exit code (None when killed by a signal), stdout, stderr.
pub(crate) struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Both streams, raw, for the key search.
    pub bytes: Vec<u8>,
}

/// Runs the binary in `dir` with `args`, in a time zone far from Japan's and with no fault
/// injected unless `env` asks for one.
pub(crate) fn regsync(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Ran> {
    let mut cmd = cmd(dir, args, &[("TZ", "America/Los_Angeles")]);
    cmd.env_remove("REGSYNC_FAULT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output()?;
    let mut bytes = o.stdout.clone();
    bytes.extend_from_slice(&o.stderr);
    Ok(Ran {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        bytes,
    })
}

/// `r` if it exited 0, else an error with its output.
pub(crate) fn ok(r: Ran) -> Result<Ran> {
    if r.code == Some(0) {
        Ok(r)
    } else {
        Err(format!("exit {:?}\n{}\n{}", r.code, r.stdout, r.stderr).into())
    }
}

/// A temp folder with the sample accounts imported and the 2026-04-02 night planned into `p/`;
/// returns the folder and every command's output.
pub(crate) fn planned() -> Result<(TempDir, Vec<Ran>)> {
    let dir = tempfile::tempdir()?;
    let accounts = root().join("samples/accounts.csv");
    let import = ok(regsync(
        dir.path(),
        &["accounts", "import", &accounts.to_string_lossy()],
        &[],
    )?)?;
    let plan = ok(plan(dir.path(), "p")?)?;
    Ok((dir, vec![import, plan]))
}

/// Plans the samples' 2026-04-02 night in `dir` into `out`.
pub(crate) fn plan(dir: &Path, out: &str) -> Result<Ran> {
    let mut args: Vec<String> = ["plan", "--as-of", "2026-04-02", "--out", out]
        .map(String::from)
        .to_vec();
    args.extend(
        NIGHT_0402
            .iter()
            .map(|f| root().join(f).to_string_lossy().into_owned()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    regsync(dir, &args, &[])
}
