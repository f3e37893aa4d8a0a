//! `regsync init --empty`: sets up a store with no accounts, for a university that really
//! starts with none (see `store::setup`). The usual start is `accounts import`.

use std::io::Write as _;

use crate::cli::Exit;
use crate::config::{Settings, today_in_japan};
use crate::store::setup::Setup;
use crate::store::{Store, StoreError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start with no accounts: every student of the first export will be new (the mass-change
    /// guard still stops that night for a person)
    #[arg(long)]
    pub empty: bool,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let path = &settings.store_path;
    if !args.empty {
        eprintln!(
            "error: `init` sets up a store with no accounts, and says so with `--empty`\n\
             hint: a university with accounts already imports them instead: `regsync accounts import FILE`"
        );
        return Ok(Exit::Usage);
    }
    match Store::init_empty(path, today_in_japan()) {
        Ok(()) => {}
        Err(e @ StoreError::SetUpAlready { .. }) => {
            eprintln!("error: {e}; nothing done");
            return Ok(Exit::Usage);
        }
        Err(e) => return Err(e.into()),
    }
    writeln!(
        std::io::stdout().lock(),
        "空のストアを作りました / set up an empty store at `{}`",
        path.display()
    )?;
    Ok(Exit::Done)
}

/// `run`, `plan`, `apply` and `mail` refuse a store that was not set up on purpose (exit 2),
/// with the commands that set one up; `None` when the store is ready.
pub(crate) fn refuse_unset_store(settings: &Settings) -> anyhow::Result<Option<Exit>> {
    let path = &settings.store_path;
    let what = match Store::setup_of(path)? {
        Setup::Ready => return Ok(None),
        Setup::Missing => "there is no store at",
        Setup::Uninitialised => "nothing was ever imported into the store",
    };
    eprintln!(
        "error: {what} `{}`; nothing done\n\
         ストアが用意されていません。何もしていません\n\
         hint: check the working folder and `[paths] store` in the config; then set the store up once:\n  \
         regsync accounts import FILE   # the university's existing account directory\n  \
         regsync init --empty           # only for a university that really starts with no accounts",
        path.display()
    );
    Ok(Some(Exit::Usage))
}
