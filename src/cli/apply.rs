//! `regsync apply PLAN [--out DIR]`: applies a reviewed plan to the store, in one transaction,
//! or refuses it (exit 4) when the store changed since the plan was made.
//!
//! Order, for crash safety (see [`crate::apply`]): the digest is checked, the activation keys
//! are made and the letters and `actions.jsonl` are staged in a hidden folder; then the store
//! commits the plan with the keys' hashes; then the staged files are renamed into place. A
//! crash before the commit publishes nothing; a failure after it is reported loudly with the
//! folder that holds the letters, and the next `apply` into the folder (or the next `run`, for
//! its report folders) publishes them (see [`crate::apply::recover`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::apply::{self, Executed, Published};
use crate::cli::Exit;
use crate::config::Settings;
use crate::domain::plan::Plan;
use crate::store::{ApplySummary, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The reviewed plan (`plan.json` written by `regsync plan`)
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// Folder for `actions.jsonl` and `letters/` (default: the plan's folder)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<Exit> {
    let clock = std::time::Instant::now();
    let bytes = fs_err::read(&args.plan)?;
    if let Err(why) = crate::report::check_seal(&bytes) {
        eprintln!(
            "error: `{}` is not the plan that was reviewed: {why}\nhint: make the plan again with `regsync plan`, review it, and apply that one",
            args.plan.display()
        );
        return Ok(Exit::Refused);
    }
    let plan = crate::report::read_plan_json(&bytes)
        .with_context(|| format!("`{}` is not a regsync plan", args.plan.display()))?;
    drop(bytes);
    tracing::info!(
        actions = plan.actions.len(),
        ms = clock.elapsed().as_millis(),
        "plan read"
    );
    if plan.format != Plan::FORMAT {
        anyhow::bail!(
            "`{}` has plan format {}, this regsync reads format {}\nhint: make a new plan with `regsync plan`",
            args.plan.display(),
            plan.format,
            Plan::FORMAT
        );
    }
    let out = match args.out {
        Some(o) => o,
        None => match args.plan.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };

    let mut store = Store::open(&settings.store_path)?;
    // What an interrupted apply into this folder left is published or removed first; keys it
    // re-issues are recorded under this apply's run.
    let mut run_id = None;
    if !apply::staging_folders(&out).is_empty() {
        let id = store.begin_run(plan.as_of, "apply")?;
        let recovery = apply::recover(&mut store, std::slice::from_ref(&out), id);
        if let Some(text) = recovery.summary() {
            eprintln!("warning: {text}");
        }
        run_id = Some(id);
    }
    let found = store.digest()?;
    if found != plan.store_digest {
        refuse(&plan.store_digest, &found)?;
        return Ok(Exit::Refused);
    }
    let run_id = match run_id {
        Some(id) => id,
        None => store.begin_run(plan.as_of, "apply")?,
    };
    // Notices are queued in the same transaction; `regsync mail` (or the next run) sends them.
    let (summary, published, letters) = match apply::execute(
        &mut store,
        &plan,
        run_id,
        &out,
        &settings.mail.templates,
        &(&settings.policy).into(),
        settings.directory.is_some(),
    )? {
        Executed::Done {
            summary,
            published,
            letters,
        } => (summary, published, letters),
        Executed::Stale { expected, found } => {
            refuse(&expected, &found)?;
            return Ok(Exit::Refused);
        }
        Executed::Unpublished { staging, error } => {
            let line = format!(
                "applied, but the outputs were not published: {error}\n\
                 The store HAS the plan. The letters (with the only copy of the activation keys) \
                 and actions.jsonl are in `{}`: move them into `{}` by hand.\n\
                 hint: if they are lost, the counter issues new keys (R4)",
                staging.display(),
                out.display()
            );
            store.finish_run(run_id, "applied; outputs not published")?;
            eprintln!("error: {line}");
            return Ok(Exit::Failed);
        }
    };
    let text = render_summary(
        &plan,
        &args.plan,
        &settings.store_path,
        &summary,
        &published,
        letters,
    );
    store.finish_run(run_id, text.lines().next().unwrap_or_default())?;
    let mut out_text = std::io::stdout().lock();
    out_text.write_all(text.as_bytes())?;
    if let Some(report) = mark_applied(&plan, &args.plan)? {
        writeln!(
            out_text,
            "report: `{}` now says it is applied",
            report.display()
        )?;
    }
    Ok(Exit::Done)
}

/// The report beside the applied `plan.json`, when there is one (a dry run's, or a night the
/// guard stopped), is written again with the outcome line "applied at", in its own language.
fn mark_applied(
    plan: &crate::domain::plan::Plan,
    plan_path: &std::path::Path,
) -> anyhow::Result<Option<std::path::PathBuf>> {
    use std::io::Read as _;
    let dir = plan_path.parent().unwrap_or(std::path::Path::new(""));
    let report = dir.join("report.html");
    let mut head = [0u8; 64];
    let Ok(n) = std::fs::File::open(&report).and_then(|mut f| f.read(&mut head)) else {
        return Ok(None);
    };
    let lang = if String::from_utf8_lossy(&head[..n]).contains("<html lang=\"en\">") {
        crate::report::Lang::En
    } else {
        crate::report::Lang::Ja
    };
    let view = crate::report::View {
        status: crate::report::Status::Applied {
            at: crate::report::view::now_in_japan(),
        },
        lang,
    };
    Ok(Some(crate::report::rewrite_html(plan, dir, &view)?))
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

fn refuse(plan_digest: &str, store_digest: &str) -> anyhow::Result<()> {
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "error: the store changed since this plan was made (plan digest {}, store {}); make a new plan with `regsync plan`\n\
         エラー: 計画の作成後にストアが変更されました。`regsync plan` で計画を作り直してください\n\
         nothing was applied / 何も適用していません",
        short(plan_digest),
        short(store_digest)
    )?;
    Ok(())
}

fn render_summary(
    plan: &Plan,
    plan_path: &Path,
    store_path: &Path,
    summary: &ApplySummary,
    published: &Published,
    letters: usize,
) -> String {
    let counts = crate::report::counts_line(plan);
    let mut s = format!(
        "applied `{}` (as of {}) to `{}`: {} action(s) — {counts}\n",
        plan_path.display(),
        plan.as_of,
        store_path.display(),
        plan.actions.len(),
    );
    s.push_str(&format!(
        "適用しました: アカウント {} 件, 要確認 {} 件, 入力ファイル {} 件 / accounts written {}, review items queued {}, input files recorded {}\n",
        summary.accounts, summary.reviews, summary.files, summary.accounts, summary.reviews, summary.files
    ));
    match &published.letters_dir {
        Some(dir) => {
            s.push_str(&format!(
                "letters: `{}` — 通知書 {letters} 件, {} file(s), mode 0600; the activation keys are only there\n",
                dir.display(),
                published.letter_files.len()
            ));
            for f in &published.letter_files {
                s.push_str(&format!("         {}\n", f.display()));
            }
        }
        None => s.push_str("letters: none (no cohort admissions in this plan)\n"),
    }
    s.push_str(&format!(
        "actions: `{}` ({} line(s))\n",
        published.actions_jsonl.display(),
        published.actions
    ));
    s
}
