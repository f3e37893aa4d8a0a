//! `report.html`: one self-contained page (inline CSS, no scripts, no external assets) that an
//! administrator reads in a browser before anything changes. Japanese first, English labels
//! beside it.
//!
//! The page leads with the summary — counts per action kind, per rule and per faculty × kind —
//! then the input files and the warnings, then one section per action kind, review items first
//! since they need a person. Every piece of data goes through [`escape_into`]; markup is only
//! ever written from literals here.
//!
//! A national plan holds 100,000 actions, which no browser lays out comfortably as one table,
//! so a kind's section is a `<details>` that starts closed when it is long, and its rows are
//! paged: pages of [`PAGE_ROWS`], each its own `<details>` with only the first open, so a
//! browser lays out one page of rows until the reader opens another. A section shows at most
//! [`MAX_ROWS`] rows; the rest are in `report.csv`, which has every action. A small nightly plan
//! (one page per kind) reads as one open table per kind. The page is built in one pre-sized
//! `String` in a single pass over the actions.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::domain::plan::{Action, ActionKind, Plan, Rule};
use crate::report::push_date;

/// Rows per page of a section.
pub(crate) const PAGE_ROWS: usize = 500;
/// Rows shown per section (ten pages); the rest are in `report.csv`.
pub(crate) const MAX_ROWS: usize = 10 * PAGE_ROWS;
/// Sections longer than this start closed (the review section is always open).
const OPEN_MAX: usize = 200;
/// Characters of a digest shown (the full value is in the tooltip and in plan.json).
const SHORT_DIGEST: usize = 12;

const KINDS: usize = ActionKind::ALL.len();

/// The actions of one kind: how many there are, and the first [`MAX_ROWS`] in plan order.
struct Section<'a> {
    kind: ActionKind,
    total: usize,
    shown: Vec<&'a Action>,
}

/// Writes `report.html` into `w`.
pub(crate) fn write_html<W: std::io::Write>(plan: &Plan, w: &mut W) -> std::io::Result<()> {
    w.write_all(report_html(plan).as_bytes())
}

/// `report.html` as a string.
pub fn report_html(plan: &Plan) -> String {
    let mut sections: Vec<Section<'_>> = ActionKind::ALL
        .iter()
        .map(|&kind| Section {
            kind,
            total: 0,
            shown: Vec::new(),
        })
        .collect();
    for a in &plan.actions {
        if let Some(s) = sections.get_mut(a.kind as usize) {
            s.total += 1;
            if s.shown.len() < MAX_ROWS {
                s.shown.push(a);
            }
        }
    }
    let shown_rows: usize = sections.iter().map(|s| s.shown.len()).sum();
    let warnings_shown = plan.warnings.len().min(MAX_ROWS);
    let mut out = String::with_capacity(24 * 1024 + shown_rows * 900 + warnings_shown * 160);

    head(&mut out, plan);
    out.push_str("<body>\n<main>\n");
    header(&mut out, plan);
    super::held::html(&mut out, plan, escape_into);
    out.push_str("<div class=\"overview\">\n");
    summary(&mut out, plan, &sections);
    rule_table(&mut out, plan);
    faculty_table(&mut out, plan);
    out.push_str("</div>\n");
    inputs(&mut out, plan);
    warnings(&mut out, plan);
    for s in sections.iter().filter(|s| s.total > 0) {
        section(&mut out, s);
    }
    out.push_str(
        "<footer>regsync — このページは plan.json から生成されています。\
         全行は report.csv を参照してください。 / \
         Generated from plan.json; every row is in report.csv.</footer>\n",
    );
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// Number of actions per faculty and kind (kinds in [`ActionKind::ALL`] order), faculties
/// sorted by name; an empty faculty is its own row.
pub(crate) fn faculty_counts(plan: &Plan) -> BTreeMap<&str, [usize; KINDS]> {
    let mut counts: BTreeMap<&str, [usize; KINDS]> = BTreeMap::new();
    for a in &plan.actions {
        let row = counts.entry(a.person.faculty.as_str()).or_default();
        if let Some(n) = row.get_mut(a.kind as usize) {
            *n += 1;
        }
    }
    counts
}

fn head(out: &mut String, plan: &Plan) {
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"regsync\">\n<title>",
    );
    out.push_str("アカウント同期 計画レポート ");
    let _ = write!(out, "{}", plan.as_of);
    out.push_str(" (");
    escape_into(out, short(&plan.store_digest));
    out.push_str(")</title>\n<style>\n");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n");
}

fn header(out: &mut String, plan: &Plan) {
    out.push_str("<header>\n<h1>アカウント同期 計画レポート <span class=\"en\">regsync plan report</span></h1>\n<dl class=\"meta\">\n");
    out.push_str("<div><dt>基準日 <span class=\"en\">as of</span></dt><dd>");
    let _ = write!(out, "{}", plan.as_of);
    out.push_str("</dd></div>\n<div><dt>ストア <span class=\"en\">store digest</span></dt><dd><code title=\"");
    escape_into(out, &plan.store_digest);
    out.push_str("\">");
    escape_into(out, short(&plan.store_digest));
    out.push_str("</code></dd></div>\n<div><dt>操作 <span class=\"en\">actions</span></dt><dd>");
    push_count(out, plan.actions.len());
    out.push_str(" 件</dd></div>\n<div><dt>形式 <span class=\"en\">format</span></dt><dd>");
    let _ = write!(out, "{}", plan.format);
    out.push_str("</dd></div>\n</dl>\n</header>\n");
}

fn inputs(out: &mut String, plan: &Plan) {
    out.push_str(
        "<section id=\"inputs\">\n<h2>入力ファイル <span class=\"en\">input files</span></h2>\n",
    );
    if plan.inputs.is_empty() {
        out.push_str("<p class=\"none\">なし <span class=\"en\">none</span></p>\n");
    } else {
        out.push_str(
            "<table class=\"inputs\">\n<thead><tr>\
             <th>ファイル<span class=\"en\">file</span></th>\
             <th>種類<span class=\"en\">kind</span></th>\
             <th class=\"num\">行数<span class=\"en\">rows</span></th>\
             <th>SHA-256</th></tr></thead>\n<tbody>\n",
        );
        for f in &plan.inputs {
            out.push_str("<tr><td>");
            escape_into(out, &f.name);
            out.push_str("</td><td>");
            out.push_str(f.kind.as_str());
            out.push_str("</td><td class=\"num\">");
            push_count(out, f.rows);
            out.push_str("</td><td><code title=\"");
            escape_into(out, &f.sha256);
            out.push_str("\">");
            escape_into(out, short(&f.sha256));
            out.push_str("</code></td></tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn summary(out: &mut String, plan: &Plan, sections: &[Section<'_>]) {
    out.push_str(
        "<section id=\"summary\">\n<h2>概要 <span class=\"en\">summary</span></h2>\n\
         <table class=\"counts\">\n<thead><tr>\
         <th>種別<span class=\"en\">action</span></th>\
         <th class=\"num\">件数<span class=\"en\">count</span></th></tr></thead>\n<tbody>\n",
    );
    for s in sections {
        let class = match (s.total, s.kind) {
            (0, _) => " class=\"zero\"",
            (_, ActionKind::Review) => " class=\"attention\"",
            _ => "",
        };
        let _ = write!(out, "<tr{class}><td>");
        if s.total > 0 {
            let _ = write!(out, "<a href=\"#{}\">", s.kind.as_str());
        }
        out.push_str(s.kind.label_ja());
        let _ = write!(out, " <code>{}</code>", s.kind.as_str());
        if s.total > 0 {
            out.push_str("</a>");
        }
        out.push_str("</td><td class=\"num\">");
        push_count(out, s.total);
        out.push_str("</td></tr>\n");
    }
    out.push_str(
        "</tbody>\n<tfoot><tr><th>合計 <span class=\"en\">total</span></th><th class=\"num\">",
    );
    push_count(out, plan.actions.len());
    out.push_str("</th></tr></tfoot>\n</table>\n");
    let review = sections
        .iter()
        .find(|s| s.kind == ActionKind::Review)
        .map_or(0, |s| s.total);
    if review > 0 {
        out.push_str("<p class=\"review-note\"><a href=\"#review\">要確認 ");
        push_count(out, review);
        out.push_str(
            " 件：適用の前に担当者の確認が必要です <span class=\"en\">need a person before apply</span></a></p>\n",
        );
    }
    if !plan.warnings.is_empty() {
        out.push_str("<p class=\"warn-note\"><a href=\"#warnings\">警告 ");
        push_count(out, plan.warnings.len());
        out.push_str(" 件 <span class=\"en\">warnings</span></a></p>\n");
    }
    out.push_str("</section>\n");
}

/// Number of actions per rule, in rule order; rules with no action are left out.
pub(crate) fn rule_counts(plan: &Plan) -> BTreeMap<Rule, usize> {
    let mut counts = BTreeMap::new();
    for a in &plan.actions {
        *counts.entry(a.rule).or_insert(0) += 1;
    }
    counts
}

fn rule_table(out: &mut String, plan: &Plan) {
    let counts = rule_counts(plan);
    if counts.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"rules\">\n<h2>規則別の件数 <span class=\"en\">counts per rule</span></h2>\n\
         <table class=\"counts rules\">\n<thead><tr>\
         <th>規則<span class=\"en\">rule</span></th>\
         <th class=\"num\">件数<span class=\"en\">count</span></th></tr></thead>\n<tbody>\n",
    );
    for (rule, n) in &counts {
        let _ = write!(out, "<tr><td>{rule}</td><td class=\"num\">");
        push_count(out, *n);
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn faculty_table(out: &mut String, plan: &Plan) {
    out.push_str("<section id=\"faculty\">\n<h2>所属別の件数 <span class=\"en\">counts per faculty</span></h2>\n");
    let counts = faculty_counts(plan);
    if counts.is_empty() {
        out.push_str("<p class=\"none\">操作はありません <span class=\"en\">no actions</span></p>\n</section>\n");
        return;
    }
    // Only kinds that occur get a column, so the table stays narrow enough to read.
    let mut totals = [0usize; KINDS];
    for row in counts.values() {
        for (t, n) in totals.iter_mut().zip(row) {
            *t += n;
        }
    }
    let kinds: Vec<usize> = (0..KINDS).filter(|&k| totals[k] > 0).collect();
    out.push_str(
        "<div class=\"scroll\"><table class=\"faculty\">\n<thead><tr>\
         <th>所属<span class=\"en\">faculty</span></th>",
    );
    for &k in &kinds {
        let kind = ActionKind::ALL[k];
        out.push_str("<th class=\"num\">");
        out.push_str(kind.label_ja());
        let _ = write!(out, "<span class=\"en\">{}</span></th>", kind.as_str());
    }
    out.push_str(
        "<th class=\"num\">計<span class=\"en\">total</span></th></tr></thead>\n<tbody>\n",
    );
    for (faculty, row) in &counts {
        out.push_str("<tr><th>");
        push_or_dash(out, faculty);
        out.push_str("</th>");
        for &k in &kinds {
            push_count_cell(out, row[k]);
        }
        push_count_cell(out, row.iter().sum());
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n<tfoot><tr><th>合計 <span class=\"en\">total</span></th>");
    for &k in &kinds {
        push_count_cell(out, totals[k]);
    }
    push_count_cell(out, plan.actions.len());
    out.push_str("</tr></tfoot>\n</table></div>\n</section>\n");
}

fn section(out: &mut String, s: &Section<'_>) {
    let kind = s.kind.as_str();
    let review = s.kind == ActionKind::Review;
    let _ = write!(
        out,
        "<section id=\"{kind}\" class=\"kind{}\">\n<details{}>\n<summary><h2>",
        if review { " review" } else { "" },
        if review || s.total <= OPEN_MAX {
            " open"
        } else {
            ""
        },
    );
    out.push_str(s.kind.label_ja());
    let _ = write!(out, " <code>{kind}</code> <span class=\"n\">");
    push_count(out, s.total);
    out.push_str(" 件</span></h2></summary>\n");
    if s.shown.len() <= PAGE_ROWS {
        table(out, &s.shown);
    } else {
        // Pages of PAGE_ROWS rows, the first open: a closed page's rows are not laid out.
        for (i, page) in s.shown.chunks(PAGE_ROWS).enumerate() {
            let first = i * PAGE_ROWS + 1;
            let last = i * PAGE_ROWS + page.len();
            let _ = write!(
                out,
                "<details class=\"page\" id=\"{kind}-p{}\"{}>\n<summary>",
                i + 1,
                if i == 0 { " open" } else { "" },
            );
            push_count(out, first);
            out.push('–');
            push_count(out, last);
            out.push_str(" 件目 <span class=\"en\">rows ");
            push_count(out, first);
            out.push('–');
            push_count(out, last);
            out.push_str(" of ");
            push_count(out, s.total);
            out.push_str("</span></summary>\n");
            table(out, page);
            out.push_str("</details>\n");
        }
    }
    let more = s.total - s.shown.len();
    if more > 0 {
        out.push_str("<p class=\"more\">ほか ");
        push_count(out, more);
        out.push_str(" 件は report.csv にあります。 <span class=\"en\">");
        push_count(out, more);
        out.push_str(" more in report.csv.</span></p>\n");
    }
    out.push_str("</details>\n</section>\n");
}

/// One table of action rows.
fn table(out: &mut String, rows: &[&Action]) {
    out.push_str(
        "<div class=\"scroll\"><table class=\"actions\">\n<thead><tr>\
         <th>ECS-ID</th>\
         <th>学籍番号<span class=\"en\">student no</span></th>\
         <th>氏名<span class=\"en\">name / kana</span></th>\
         <th>所属<span class=\"en\">faculty / status</span></th>\
         <th>規則<span class=\"en\">rule</span></th>\
         <th>入力<span class=\"en\">source file:row</span></th>\
         <th>日付<span class=\"en\">dates</span></th>\
         <th>配付<span class=\"en\">delivery</span></th>\
         <th>変更<span class=\"en\">changes</span></th>\
         <th>理由<span class=\"en\">reason</span></th>\
         </tr></thead>\n<tbody>\n",
    );
    for a in rows {
        row(out, a);
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn row(out: &mut String, a: &Action) {
    out.push_str("<tr><td class=\"id\">");
    push_or_dash(out, a.ecs_id.as_ref().map_or("", |id| id.as_str()));
    out.push_str("</td><td class=\"id\">");
    push_or_dash(out, a.person.student_no.as_ref().map_or("", |n| n.as_str()));
    out.push_str("</td><td class=\"name\">");
    push_or_dash(out, &a.person.name);
    if !a.person.name_kana.is_empty() {
        out.push_str("<span class=\"sub\">");
        escape_into(out, &a.person.name_kana);
        out.push_str("</span>");
    }
    out.push_str("</td><td class=\"fac\">");
    push_or_dash(out, &a.person.faculty);
    if let Some(status) = a.person.status {
        out.push_str("<span class=\"sub\">");
        out.push_str(status.label_ja());
        out.push_str("</span>");
    }
    let _ = write!(out, "</td><td>{}</td><td class=\"src\">", a.rule);
    match &a.source {
        Some(src) => {
            escape_into(out, &src.file);
            let _ = write!(out, ":{}", src.row);
        }
        None => out.push('—'),
    }
    out.push_str("</td><td class=\"dates\">");
    let dates = [
        ("異動", "effective", a.effective_on),
        ("通知", "notice", a.notice_on),
        ("停止", "stop", a.stop_on),
    ];
    let mut any = false;
    for (ja, en, date) in dates {
        if let Some(d) = date {
            let _ = write!(
                out,
                "<span class=\"date\"><span class=\"dl\" title=\"{en}\">{ja}</span> "
            );
            push_date(out, d);
            out.push_str("</span>");
            any = true;
        }
    }
    if let Some(r) = a.stop_reason {
        let (ja, en) = (r.label_ja(), r.as_str());
        let _ = write!(out, "<span class=\"sub\" title=\"{en}\">{ja}</span>");
        any = true;
    }
    if !any {
        out.push('—');
    }
    out.push_str("</td><td>");
    match a.delivery {
        Some(d) => {
            let (ja, en) = (d.label_ja(), d.as_str());
            let _ = write!(out, "{ja}<span class=\"sub\">{en}</span>");
        }
        None => out.push('—'),
    }
    out.push_str("</td><td>");
    if a.changes.is_empty() {
        out.push('—');
    } else {
        out.push_str("<ul class=\"changes\">");
        for c in &a.changes {
            out.push_str("<li><code>");
            escape_into(out, &c.field);
            out.push_str("</code> <del>");
            escape_into(out, &c.from);
            out.push_str("</del> → <ins>");
            escape_into(out, &c.to);
            out.push_str("</ins></li>");
        }
        out.push_str("</ul>");
    }
    out.push_str("</td><td class=\"reason\">");
    if let Some(r) = a.review {
        let (ja, en) = (r.label_ja(), r.as_str());
        let _ = write!(out, "<span class=\"badge\" title=\"{en}\">{ja}</span> ");
    }
    escape_into(out, &a.reason_ja);
    if !a.reason_en.is_empty() {
        out.push_str("<span class=\"sub\">");
        escape_into(out, &a.reason_en);
        out.push_str("</span>");
    }
    out.push_str("</td></tr>\n");
}

fn warnings(out: &mut String, plan: &Plan) {
    if plan.warnings.is_empty() {
        return;
    }
    let n = plan.warnings.len();
    let _ = write!(
        out,
        "<section id=\"warnings\" class=\"warnings\">\n<details{}>\n<summary><h2>警告 <span class=\"en\">warnings</span> <span class=\"n\">",
        if n <= OPEN_MAX { " open" } else { "" },
    );
    push_count(out, n);
    out.push_str(" 件</span></h2></summary>\n<ul>\n");
    for w in plan.warnings.iter().take(MAX_ROWS) {
        out.push_str("<li>");
        escape_into(out, w);
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
    if n > MAX_ROWS {
        // Warnings are not rows of report.csv; the full list is in the plan.
        let more = n - MAX_ROWS;
        out.push_str("<p class=\"more\">ほか ");
        push_count(out, more);
        out.push_str(" 件は plan.json にあります。 <span class=\"en\">");
        push_count(out, more);
        out.push_str(" more in plan.json.</span></p>\n");
    }
    out.push_str("</details>\n</section>\n");
}

/// Appends `s` with `& < > " '` replaced by entities, safe in text and in quoted attributes.
fn escape_into(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        let entity = match ch {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

fn push_or_dash(out: &mut String, s: &str) {
    if s.is_empty() {
        out.push('—');
    } else {
        escape_into(out, s);
    }
}

/// `123456` as `123,456`.
fn push_count(out: &mut String, n: usize) {
    let digits = n.to_string();
    let len = digits.len();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
}

fn push_count_cell(out: &mut String, n: usize) {
    if n == 0 {
        out.push_str("<td class=\"num zero\">0</td>");
    } else {
        out.push_str("<td class=\"num\">");
        push_count(out, n);
        out.push_str("</td>");
    }
}

/// The first [`SHORT_DIGEST`] characters of a digest.
fn short(digest: &str) -> &str {
    match digest.char_indices().nth(SHORT_DIGEST) {
        Some((i, _)) => &digest[..i],
        None => digest,
    }
}

const CSS: &str = r#":root {
  --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #ffffff; --band: #f6f8fa;
  --accent: #0b5cad; --review: #9a6700; --review-bg: #fff8c5; --warn-bg: #ffebe9;
}
* { box-sizing: border-box; }
body {
  margin: 0; color: var(--fg); background: var(--bg); line-height: 1.55; font-size: 14px;
  font-family: "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Noto Sans CJK JP", "Noto Sans JP",
    "Yu Gothic UI", "Yu Gothic", Meiryo, system-ui, sans-serif;
}
main { max-width: 1400px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 17px; margin: 28px 0 10px; display: inline; }
section > h2, header > h2 { display: block; }
.en { color: var(--muted); font-weight: normal; font-size: 0.85em; }
th .en { display: block; font-size: 11px; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.92em; }
h2 code, td code, th code { color: var(--muted); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
dl.meta { display: flex; flex-wrap: wrap; gap: 8px 32px; margin: 0 0 8px; }
dl.meta div { display: flex; gap: 8px; align-items: baseline; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; font-weight: 600; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { border: 1px solid var(--line); padding: 5px 9px; text-align: left; vertical-align: top; }
thead th { background: var(--band); position: sticky; top: 0; font-weight: 600; }
tfoot th, tfoot td { background: var(--band); font-weight: 600; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.zero, tr.zero td, tr.zero a { color: #a0a7ae; }
tr.attention td { background: var(--review-bg) !important; font-weight: 600; }
.overview { display: flex; flex-wrap: wrap; gap: 0 48px; align-items: flex-start; }
.overview > section { min-width: 0; max-width: 100%; }
table.counts { min-width: 360px; }
table.counts td, table.counts th { padding: 3px 9px; }
table.faculty thead th { max-width: 8em; }
table.faculty tbody th { white-space: nowrap; font-weight: 600; }
table.actions { width: 100%; }
table.actions th { white-space: nowrap; }
.scroll { overflow-x: auto; }
.sub { display: block; color: var(--muted); font-size: 12px; }
td.id, td.src { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; white-space: nowrap; }
td.name, td.fac { white-space: nowrap; }
td.dates { white-space: nowrap; font-variant-numeric: tabular-nums; }
.date { display: block; }
.dl { display: inline-block; min-width: 2.6em; color: var(--muted); font-size: 12px; }
td.reason { min-width: 14em; }
ul.changes { margin: 0; padding: 0; list-style: none; }
ul.changes li { white-space: normal; }
del { color: #a40e26; text-decoration: line-through; }
ins { color: #116329; text-decoration: none; }
.badge { display: inline-block; padding: 0 6px; border-radius: 9px; background: var(--review-bg);
  color: var(--review); border: 1px solid #d4a72c; font-size: 12px; font-weight: 600; }
section.kind { margin-top: 22px; }
details > summary { cursor: pointer; padding: 6px 0; list-style-position: outside; }
details > summary h2 { margin: 0; }
summary .n { font-size: 14px; font-weight: normal; color: var(--muted); margin-left: 6px; }
section.review > details > summary h2 { color: var(--review); }
section.review table.actions thead th { background: var(--review-bg); }
p.more { margin: 6px 0; padding: 6px 10px; background: var(--band); border-left: 3px solid var(--accent); }
p.none { color: var(--muted); }
p.warn-note a { color: #a40e26; font-weight: 600; }
p.review-note a { color: var(--review); font-weight: 600; }
details.page { margin: 2px 0; }
details.page > summary { padding: 3px 0; color: var(--accent); font-variant-numeric: tabular-nums; }
details.page[open] > summary { font-weight: 600; }
section.warnings ul { margin: 6px 0; padding: 8px 12px 8px 28px; background: var(--warn-bg); border-radius: 6px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 10px; }
@media print { details { display: block; } thead th { position: static; } }
"#;

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::plan::Rule;
    use crate::report::fixture;

    #[test]
    fn script_in_name_is_escaped() {
        let html = report_html(&fixture::small());
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn every_special_character_is_escaped() {
        let mut out = String::new();
        escape_into(&mut out, "a&b<c>d\"e'f 髙﨑");
        assert_eq!(out, "a&amp;b&lt;c&gt;d&quot;e&#39;f 髙﨑");
    }

    #[test]
    fn data_in_every_field_is_escaped() {
        let evil = "<b>\"x\"</b>";
        let mut a = fixture::action(ActionKind::Review, Rule::R6, evil, evil);
        a.person.name_kana = evil.into();
        a.reason_ja = evil.into();
        a.reason_en = evil.into();
        a.source = Some(crate::domain::plan::Source {
            file: evil.into(),
            row: 1,
        });
        a.changes = vec![crate::domain::plan::Change {
            field: evil.into(),
            from: evil.into(),
            to: evil.into(),
        }];
        let mut plan = fixture::plan(vec![a]);
        plan.warnings = vec![evil.into()];
        plan.store_digest = evil.into();
        plan.inputs[0].name = evil.into();
        plan.inputs[0].sha256 = evil.into();
        let html = report_html(&plan);
        assert!(!html.contains("<b>"));
        assert!(!html.contains("\"x\""));
    }

    #[test]
    fn counts_per_faculty() {
        let plan = fixture::plan(vec![
            fixture::action(ActionKind::Create, Rule::R1, "a", "工学部"),
            fixture::action(ActionKind::Create, Rule::R1, "b", "工学部"),
            fixture::action(ActionKind::Depart, Rule::R5, "c", "工学部"),
            fixture::action(ActionKind::Create, Rule::R1, "d", "文学部"),
            fixture::action(ActionKind::Review, Rule::R6, "e", ""),
        ]);
        let counts = faculty_counts(&plan);
        let of = |f: &str, k: ActionKind| counts.get(f).map_or(0, |row| row[k as usize]);
        assert_eq!(counts.len(), 3);
        assert_eq!(of("工学部", ActionKind::Create), 2);
        assert_eq!(of("工学部", ActionKind::Depart), 1);
        assert_eq!(of("工学部", ActionKind::Review), 0);
        assert_eq!(of("文学部", ActionKind::Create), 1);
        assert_eq!(of("", ActionKind::Review), 1);
        let total: usize = counts.values().flatten().sum();
        assert_eq!(total, plan.actions.len());
    }

    #[test]
    fn summary_first_then_inputs_warnings_review_and_the_other_kinds() {
        let html = report_html(&fixture::small());
        let at = |id: &str| html.find(&format!("<section id=\"{id}\"")).unwrap();
        let order = [
            "summary", "rules", "faculty", "inputs", "warnings", "review", "create", "update",
            "depart", "stop",
        ];
        for pair in order.windows(2) {
            assert!(at(pair[0]) < at(pair[1]), "{} before {}", pair[0], pair[1]);
        }
        assert!(html.contains("<a href=\"#review\">要確認 1 件："));
    }

    #[test]
    fn counts_per_rule() {
        let plan = fixture::small();
        let counts: Vec<(Rule, usize)> = rule_counts(&plan).into_iter().collect();
        assert_eq!(
            counts,
            [
                (Rule::R3, 1),
                (Rule::R5, 1),
                (Rule::R6, 1),
                (Rule::R7, 1),
                (Rule::R9, 1)
            ]
        );
    }

    #[test]
    fn digest_is_shortened() {
        assert_eq!(short("3f2a9c1e7b6d5a4f"), "3f2a9c1e7b6d");
        assert_eq!(short("abc"), "abc");
    }

    #[test]
    fn thousands_separators() {
        for (n, expected) in [(0, "0"), (999, "999"), (1_000, "1,000"), (98_000, "98,000")] {
            let mut out = String::new();
            push_count(&mut out, n);
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn snapshot_small_plan() {
        let html = report_html(&fixture::small());
        // The stylesheet is presentation; the snapshot is about structure and data.
        let html = html.replace(CSS, "/* CSS */\n");
        insta::assert_snapshot!(html);
    }

    /// The action rows of the page (`<tr>`s of the action tables).
    fn action_rows(html: &str) -> usize {
        html.matches("<tr><td class=\"id\">").count()
    }

    #[test]
    fn small_sections_are_one_open_table() {
        let html = report_html(&fixture::small());
        assert!(!html.contains("class=\"page\""));
        assert_eq!(
            html.matches("<details open>").count(),
            6,
            "five kinds and the warnings"
        );
        assert_eq!(action_rows(&html), 5);
    }

    #[test]
    fn long_sections_are_paged_with_every_row() {
        // 2,000 actions: 1,300 creates (three pages), 500 departures (one page), 200 reviews.
        let mut actions = Vec::new();
        for (kind, rule, n) in [
            (ActionKind::Review, Rule::R6, 200),
            (ActionKind::Create, Rule::R1, 1_300),
            (ActionKind::Depart, Rule::R5, 500),
        ] {
            for i in 0..n {
                let mut a = fixture::action(kind, rule, &format!("山田 {i:04}"), "工学部");
                a.ecs_id = Some(crate::domain::model::EcsId::new(&format!(
                    "{}{i:05}",
                    &kind.as_str()[..1]
                )));
                actions.push(a);
            }
        }
        let plan = fixture::plan(actions);
        let html = report_html(&plan);

        // Summary and counts before any section of rows.
        let first_rows = html.find("<table class=\"actions\">").unwrap();
        assert!(html.find("<section id=\"summary\"").unwrap() < first_rows);
        assert!(html.find("<section id=\"faculty\"").unwrap() < first_rows);
        assert!(html.contains("<td class=\"num\">1,300</td>"));

        // Every row is on the page, each once, in plan order.
        assert_eq!(action_rows(&html), 2_000);
        let mut last = 0;
        for a in &plan.actions {
            let id = a.ecs_id.as_ref().unwrap().as_str();
            let cell = format!("<tr><td class=\"id\">{id}</td>");
            assert_eq!(html.matches(&cell).count(), 1, "{id}");
            let at = html.find(&cell).unwrap();
            assert!(at > last, "{id} out of order");
            last = at;
        }

        // Creates: a closed section of three pages, only the first open.
        let create = &html[html.find("<section id=\"create\"").unwrap()..];
        let create = &create[..create.find("</section>").unwrap()];
        assert!(create.starts_with("<section id=\"create\" class=\"kind\">\n<details>\n"));
        assert_eq!(create.matches("<details class=\"page\"").count(), 3);
        assert!(create.contains(
            "<details class=\"page\" id=\"create-p1\" open>\n<summary>1–500 件目 \
             <span class=\"en\">rows 1–500 of 1,300</span></summary>"
        ));
        assert!(
            create.contains("<details class=\"page\" id=\"create-p2\">\n<summary>501–1,000 件目")
        );
        assert!(
            create.contains("<details class=\"page\" id=\"create-p3\">\n<summary>1,001–1,300 件目")
        );
        assert_eq!(action_rows(create), 1_300);
        assert!(!create.contains("report.csv にあります"));

        // Departures fit one page: one table, no pager. Reviews stay open.
        let depart = &html[html.find("<section id=\"depart\"").unwrap()..];
        assert!(!depart[..depart.find("</section>").unwrap()].contains("class=\"page\""));
        assert!(html.contains("<section id=\"review\" class=\"kind review\">\n<details open>\n"));
    }

    #[test]
    fn large_plan_caps_rows_and_closes_sections() {
        let create = fixture::action(ActionKind::Create, Rule::R1, "山田 太郎", "工学部");
        let review = fixture::action(ActionKind::Review, Rule::R6, "山田 次郎", "文学部");
        let mut actions = vec![review; 150];
        actions.extend(std::iter::repeat_n(create, 99_850));
        let plan = fixture::plan(actions);
        let start = std::time::Instant::now();
        let html = report_html(&plan);
        let elapsed = start.elapsed();
        assert!(html.contains("ほか 94,850 件は report.csv にあります。"));
        assert!(html.contains("94,850 more in report.csv."));
        assert_eq!(action_rows(&html), MAX_ROWS + 150);
        assert_eq!(
            html.matches("<details class=\"page\"").count(),
            MAX_ROWS / PAGE_ROWS
        );
        assert_eq!(
            html.matches("<details class=\"page\" id=\"create-p1\" open>")
                .count(),
            1
        );
        assert!(html.contains("<section id=\"create\" class=\"kind\">\n<details>\n"));
        assert!(html.contains("<section id=\"review\" class=\"kind review\">\n<details open>\n"));
        // Not a timing assertion (CI machines vary); printed for `--nocapture` runs.
        println!(
            "100,000 actions rendered in {elapsed:?}, {} bytes",
            html.len()
        );
    }
}
