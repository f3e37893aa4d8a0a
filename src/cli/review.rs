//! `regsync review list` and `regsync review resolve ID [--same-as ECS-ID | --different-person |
//! --keep-ours | --accept-registry | --dismiss] --note TEXT`: the queue of items that need a person (ambiguous matches, ECS-ID
//! mismatches, duplicate rows, variant-kanji candidates). `apply` fills it, one item per
//! situation; an administrator resolves each item once (see `store::review`).

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::Value;

use crate::cli::Exit;
use crate::config::Settings;
use crate::config::today_in_japan;
use crate::store::review::{Resolution, ReviewItem};
use crate::store::{Store, StoreError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReviewCommand {
    /// List the open review items
    #[command(after_help = super::help::REVIEW_LIST)]
    List,
    /// Mark an open item resolved, with a note saying what was done
    #[command(after_help = super::help::REVIEW_RESOLVE)]
    Resolve(ResolveArgs),
}

#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The item's number, as `review list` shows it
    #[arg(value_name = "ID")]
    pub id: i64,
    /// The row's person is this account: its student number (and 個人番号) join the account,
    /// and the next plan matches the row to it (R2)
    #[arg(long, value_name = "ECS-ID", group = "how")]
    pub same_as: Option<String>,
    /// The row's person is none of the candidates: the next plan creates an account for it
    #[arg(long, group = "how")]
    pub different_person: bool,
    /// R6, an ECS-ID mismatch: the ECS-ID the registry wrote is not this person's; the account
    /// on record stands and the next plan ignores that ECS-ID for the row
    #[arg(long, group = "how")]
    pub keep_ours: bool,
    /// R6, an ECS-ID mismatch: the registry is right; the row's student number (and 個人番号)
    /// move from the account on record to the registry's ECS-ID, which must be on record
    #[arg(long, group = "how")]
    pub accept_registry: bool,
    /// Nothing to change in regsync (the default): the note says what was done
    #[arg(long, group = "how")]
    pub dismiss: bool,
    /// What was decided or done (kept with the item)
    #[arg(long, value_name = "TEXT")]
    pub note: String,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    match args.command {
        ReviewCommand::List => list(settings),
        ReviewCommand::Resolve(a) => resolve(settings, &a),
    }
}

fn list(settings: &Settings) -> anyhow::Result<Exit> {
    let items = match Store::open_read_only(&settings.store_path)? {
        Some(store) => store.open_reviews()?,
        None => Vec::new(),
    };
    let mut s = String::new();
    if items.is_empty() {
        s.push_str("要確認の項目はありません / no open review items\n");
    } else {
        let _ = writeln!(
            s,
            "要確認 {} 件 / {} open review item(s)\n",
            items.len(),
            items.len()
        );
    }
    for item in &items {
        render(item, &mut s);
    }
    std::io::stdout().lock().write_all(s.as_bytes())?;
    Ok(Exit::Done)
}

fn resolve(settings: &Settings, args: &ResolveArgs) -> anyhow::Result<Exit> {
    if args.note.trim().is_empty() {
        eprintln!(
            "error: the note is empty\nhint: say what was decided, e.g. `--note \"ECS-ID confirmed with the registrar\"`"
        );
        return Ok(Exit::Usage);
    }
    if !settings.store_path.exists() {
        anyhow::bail!(
            "there is no review item #{}: there is no store at `{}` yet",
            args.id,
            settings.store_path.display()
        );
    }
    let how = if let Some(ecs_id) = &args.same_as {
        Resolution::SameAs(ecs_id.trim().to_string())
    } else if args.different_person {
        Resolution::DifferentPerson
    } else if args.keep_ours {
        Resolution::KeepOurs
    } else if args.accept_registry {
        Resolution::AcceptRegistry
    } else {
        Resolution::Dismiss
    };
    let mut store = Store::open(&settings.store_path)?;
    let run_id = match how {
        Resolution::Dismiss => None,
        _ => Some(store.begin_run(today_in_japan(), "review resolve")?),
    };
    let item = match store.resolve_review(args.id, &how, &args.note, run_id) {
        Ok(item) => item,
        Err(e @ StoreError::ReviewCannot { .. }) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage);
        }
        Err(e) => return Err(e.into()),
    };
    let then = match how {
        Resolution::Dismiss => "",
        Resolution::SameAs(_) => {
            " 次回の plan でこの行はそのアカウントに対応します / the next plan matches the row to that account"
        }
        Resolution::DifferentPerson => {
            " 次回の plan でこの行には新しいアカウントを作ります / the next plan creates an account for the row"
        }
        Resolution::KeepOurs => {
            " 次回の plan では登録簿のこのECS-IDを無視し、記録どおりに対応します / the next plan ignores the registry's ECS-ID for the row and matches it as on record"
        }
        Resolution::AcceptRegistry => {
            " 学籍番号を登録簿のECS-IDへ移しました。次回の plan でこの行はそのアカウントに対応します / the student number moved to the registry's ECS-ID; the next plan matches the row to it"
        }
    };
    writeln!(
        std::io::stdout().lock(),
        "#{} を解決済みにしました / review item #{} resolved at {} ({}).{then}",
        item.id,
        item.id,
        item.resolved_at.as_deref().unwrap_or_default(),
        item.resolution.as_deref().unwrap_or_default()
    )?;
    Ok(Exit::Done)
}

fn render(item: &ReviewItem, s: &mut String) {
    let details: Value = serde_json::from_str(&item.details_json).unwrap_or(Value::Null);
    let get = |path: &[&str]| -> String {
        let mut v = &details;
        for p in path {
            v = &v[*p];
        }
        v.as_str().unwrap_or_default().replace('\n', " ")
    };
    let source = match (&item.source_file, item.source_row) {
        (Some(f), Some(r)) => format!("{f}:{r}"),
        (Some(f), None) => f.clone(),
        _ => "—".into(),
    };
    // An item about an ECS-ID no account has links to no account; the row's ECS-ID is in
    // its details, marked as not on record.
    let named = get(&["ecs_id"]);
    let ecs_id = match item.ecs_id.as_deref() {
        Some(id) => id.to_string(),
        None if !named.is_empty() => format!("{named} (記録なし / not on record)"),
        None => "—".into(),
    };
    let _ = writeln!(
        s,
        "#{}  {}  ECS-ID {ecs_id}  {source}  (runs {}, seen {}×)",
        item.id,
        item.reason,
        match (item.run_id, item.last_run) {
            (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
            (Some(a), _) => a.to_string(),
            _ => "—".into(),
        },
        item.seen,
    );
    let name = get(&["person", "name"]);
    let student_no = get(&["person", "student_no"]);
    if !name.is_empty() || !student_no.is_empty() {
        let _ = writeln!(
            s,
            "    氏名 name: {name}  学籍番号 student_no: {student_no}"
        );
    }
    for key in ["reason_ja", "reason_en"] {
        let text = get(&[key]);
        if !text.is_empty() {
            let _ = writeln!(s, "    {text}");
        }
    }
    if item.reason == "name_birth_candidate" {
        let _ = writeln!(
            s,
            "    → regsync review resolve {} --same-as ECS-ID | --different-person | --dismiss --note TEXT",
            item.id
        );
    }
    if item.reason == "ecs_id_mismatch" {
        let _ = writeln!(
            s,
            "    → regsync review resolve {} --keep-ours | --accept-registry | --dismiss --note TEXT",
            item.id
        );
    }
    s.push('\n');
}
