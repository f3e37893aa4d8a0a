//! `report.html` in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs) renders the reports of a dry run, an applied night and a night the guard stopped,
//! and the rendered page is checked: the outcome line, the counts, the legend and no script. A
//! machine without Chromium fails here; it does not skip.

use std::path::{Path, PathBuf};

use crate::common::{NIGHT_0402, Result, drop_in, imported, planned, regsync};

/// The browser: `$CHROMIUM`, else `chromium` on the PATH.
fn chromium() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    });
    found.ok_or_else(|| {
        "the browser test needs Debian's `chromium` (apt-get install chromium; .ci/run installs it)"
            .into()
    })
}

/// Chromium's flags for one headless page load with nothing from the network.
fn headless(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .map(String::from)
    .into_iter()
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// The page at `html` as Chromium rendered it (`--dump-dom`).
fn rendered(html: &Path) -> Result<String> {
    let profile = tempfile::tempdir()?;
    let url = format!("file://{}", html.canonicalize()?.display());
    let o = std::process::Command::new("timeout")
        .arg("120")
        .arg(chromium()?)
        .args(headless(profile.path()))
        .arg("--dump-dom")
        .arg(&url)
        .output()?;
    let dom = String::from_utf8(o.stdout)?;
    if !o.status.success() || !dom.contains("</html>") {
        return Err(format!(
            "chromium on {url}: {:?}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        )
        .into());
    }
    Ok(dom)
}

/// The outcome line's section, as rendered.
fn outcome(dom: &str) -> Result<&str> {
    let at = dom
        .find("<section id=\"outcome\"")
        .ok_or("no outcome line")?;
    let rest = &dom[at..];
    Ok(&rest[..rest.find("</section>").ok_or("outcome not closed")?])
}

/// The total of the summary table, as rendered.
fn total(dom: &str) -> Result<usize> {
    let row = &dom[dom.find("id=\"count-total\"").ok_or("no total row")?..];
    let cell = &row[row.find("class=\"num\">").ok_or("no total cell")? + 12..];
    let n = &cell[..cell.find('<').ok_or("total cell not closed")?];
    Ok(n.replace(',', "").parse()?)
}

/// What every rendered report has: the outcome line first, all the rules in the legend, the
/// digest in the footer, no script, and as many action rows as the plan has actions.
fn common_checks(dom: &str, actions: usize) -> Result {
    let first = dom.find("<section").ok_or("no section")?;
    assert_eq!(Some(first), dom.find("<section id=\"outcome\""));
    assert!(
        !dom.to_lowercase().contains("<script"),
        "a script in the page"
    );
    let legend = &dom[dom.find("<section id=\"legend\"").ok_or("no legend")?..];
    for rule in [
        "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R9a", "R10", "R11", "R12", "R13",
    ] {
        assert!(legend.contains(&format!("<dt>{rule}</dt>")), "{rule}");
    }
    let footer = dom.find("<footer>").ok_or("no footer")?;
    assert!(dom.find("id=\"store-digest\"").ok_or("no digest")? > footer);
    assert_eq!(total(dom)?, actions);
    assert_eq!(dom.matches("<tr><td class=\"id\">").count(), actions);
    Ok(())
}

fn actions_in(plan_json: &Path) -> Result<usize> {
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(plan_json)?)?;
    Ok(plan["actions"].as_array().ok_or("no actions")?.len())
}

/// The one report folder of a run under `dir/reports`.
fn night_folder(dir: &Path) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("reports"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    found.sort();
    found.pop().ok_or_else(|| "no report folder".into())
}

#[test]
fn chromium_renders_the_outcome_of_a_dry_run_an_applied_night_and_a_guarded_one() -> Result {
    // The dry run of the samples' night.
    let (dir, _) = planned()?;
    let p = dir.path().join("p");
    let n = actions_in(&p.join("plan.json"))?;
    assert!(n > 20, "{n}");
    let dom = rendered(&p.join("report.html"))?;
    common_checks(&dom, n)?;
    let line = outcome(&dom)?;
    assert!(line.contains("class=\"outcome dry-run\""), "{line}");
    assert!(line.contains(&format!(
        "試行（ドライラン）：何も変更していません。操作 {n} 件。"
    )));
    assert!(
        line.contains("<code class=\"cmd\">regsync apply p/plan.json</code>"),
        "{line}"
    );

    // The same night applied by `run`, with limits wide enough for it.
    let dir = imported(Some("[policy]\nguard_share = 0.5\n"), &[]);
    drop_in(dir.path(), &NIGHT_0402);
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert!(matches!(r.code, Some(0 | 5)), "{}{}", r.stdout, r.stderr);
    let folder = night_folder(dir.path())?;
    let n = actions_in(&folder.join("plan.json"))?;
    assert!(
        r.stdout.contains(&format!(": {n} action(s) — ")),
        "{}",
        r.stdout
    );
    let dom = rendered(&folder.join("report.html"))?;
    common_checks(&dom, n)?;
    let line = outcome(&dom)?;
    assert!(line.contains("class=\"outcome applied\""), "{line}");
    assert!(line.contains("適用済み 20"), "{line}");
    assert!(
        line.contains(&format!("JST：操作 {n} 件をストアに反映しました")),
        "{line}"
    );

    // The default guard stops it; the English page says which limit and the ways on.
    let dir = imported(None, &[]);
    drop_in(dir.path(), &NIGHT_0402);
    let r = regsync(
        dir.path(),
        &["run", "--as-of", "2026-04-02", "--lang", "en"],
        &[],
    )?;
    assert_eq!(r.code, Some(4), "{}{}", r.stdout, r.stderr);
    let folder = night_folder(dir.path())?;
    let n = actions_in(&folder.join("plan.json"))?;
    let dom = rendered(&folder.join("report.html"))?;
    assert!(dom.starts_with("<html lang=\"en\">") || dom.contains("<html lang=\"en\">"));
    common_checks(&dom, n)?;
    let line = outcome(&dom)?;
    assert!(line.contains("class=\"outcome guarded\""), "{line}");
    assert!(
        line.contains(">Blocked by the mass-change guard: nothing applied.<"),
        "{line}"
    );
    assert!(line.contains("depart exceed 5% of the"), "{line}");
    let allow = r
        .stdout
        .split('`')
        .find(|s| s.starts_with("regsync run --allow depart="))
        .ok_or("no --allow in the summary")?;
    assert!(
        line.contains(&format!("<code class=\"cmd\">{allow}</code>")),
        "{allow}: {line}"
    );
    let night = folder.file_name().ok_or("no name")?.to_string_lossy();
    let apply = format!("regsync apply reports/{night}/plan.json");
    assert!(line.contains(&apply), "{line}");
    assert!(
        line.contains("(8).</span>"),
        "a limit is a sentence: {line}"
    );

    // The administrator applies the reviewed plan: its page now says so, still in English.
    let plan = format!("reports/{night}/plan.json");
    let r = regsync(dir.path(), &["apply", &plan], &[])?;
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("now says it is applied"), "{}", r.stdout);
    let dom = rendered(&folder.join("report.html"))?;
    common_checks(&dom, n)?;
    let line = outcome(&dom)?;
    assert!(line.contains("class=\"outcome applied\""), "{line}");
    assert!(line.contains(">Applied at 20"), "{line}");
    assert!(
        line.contains(&format!("JST: {n} action(s) written to the store<")),
        "{line}"
    );
    Ok(())
}
