//! `regsync review list` and `regsync review resolve ID --note TEXT`: the queue of items that
//! need a person (ambiguous matches, ECS-ID mismatches, duplicate rows, variant-kanji
//! candidates). `apply` fills it; an administrator resolves each item with a note, once.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::Value;

use crate::cli::Exit;
use crate::config::Settings;
use crate::store::Store;
use crate::store::review::ReviewItem;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReviewCommand {
    /// List the open review items
    List,
    /// Mark an open item resolved, with a note saying what was done
    Resolve(ResolveArgs),
}

#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The item's number, as `review list` shows it
    #[arg(value_name = "ID")]
    pub id: i64,
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
    let mut store = Store::open(&settings.store_path)?;
    let item = store.resolve_review(args.id, &args.note)?;
    println!(
        "#{} を解決済みにしました / review item #{} resolved at {}",
        item.id,
        item.id,
        item.resolved_at.as_deref().unwrap_or_default()
    );
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
        "#{}  {}  ECS-ID {ecs_id}  {source}",
        item.id, item.reason,
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
    s.push('\n');
}
