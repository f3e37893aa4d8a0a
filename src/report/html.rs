//! `report.html`: one self-contained page (inline CSS, no scripts, no external assets) that an
//! administrator reads in a browser before anything changes. It is written in one language
//! (Japanese unless `--lang en`), with the other on hover (`title=`), one line per label.
//!
//! The page leads with the outcome line — applied at a time, stopped by the mass-change guard
//! (which limit, the numbers and the commands that go on) or a dry run — then the counts per
//! action kind, per rule and per faculty × kind, the legend of the rules, the input files and
//! the warnings, then one section per action kind, review items first since they need a person;
//! the store digest and the plan's format are in the footer. Every piece of data goes through
//! [`escape_into`]; markup is only ever written from literals here.
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
use crate::report::view::{Lang, View, effective_label, label};

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
pub(crate) fn write_html<W: std::io::Write>(
    plan: &Plan,
    view: &View,
    w: &mut W,
) -> std::io::Result<()> {
    w.write_all(report_html(plan, view).as_bytes())
}

/// `report.html` as a string.
pub fn report_html(plan: &Plan, view: &View) -> String {
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
    let mut out = String::with_capacity(32 * 1024 + shown_rows * 900 + warnings_shown * 160);
    let lang = view.lang;

    head(&mut out, plan, lang);
    out.push_str("<body>\n<main>\n");
    header(&mut out, plan, lang);
    super::view::outcome(&mut out, view, plan.actions.len());
    super::held::html(&mut out, plan, escape_into);
    out.push_str("<div class=\"overview\">\n");
    summary(&mut out, plan, &sections, lang);
    rule_table(&mut out, plan, lang);
    faculty_table(&mut out, plan, lang);
    out.push_str("</div>\n");
    super::view::legend(&mut out, lang, &rule_counts(plan));
    inputs(&mut out, plan, lang);
    warnings(&mut out, plan, lang);
    for s in sections.iter().filter(|s| s.total > 0) {
        section(&mut out, s, lang);
    }
    footer(&mut out, plan, lang);
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

/// An action kind's name in English: its plan name with spaces (`carry over`).
fn kind_en(kind: ActionKind) -> String {
    kind.as_str().replace('_', " ")
}

/// A table header cell in the page's language, the other on hover.
fn th(out: &mut String, lang: Lang, class: &str, ja: &str, en: &str) {
    let (shown, other) = lang.pick(ja, en);
    let _ = write!(out, "<th{class} title=\"{other}\">{shown}</th>");
}

fn head(out: &mut String, plan: &Plan, lang: Lang) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"regsync\">\n<title>",
        lang.as_str()
    );
    out.push_str(
        lang.pick("アカウント同期 計画レポート ", "regsync plan report ")
            .0,
    );
    let _ = write!(out, "{}", plan.as_of);
    out.push_str("</title>\n<style>\n");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n");
}

fn header(out: &mut String, plan: &Plan, lang: Lang) {
    out.push_str("<header>\n<h1>");
    label(
        out,
        lang,
        "アカウント同期 計画レポート",
        "regsync plan report",
    );
    out.push_str("</h1>\n<dl class=\"meta\">\n<div><dt>");
    label(out, lang, "基準日", "as of");
    out.push_str("</dt><dd>");
    let _ = write!(out, "{}", plan.as_of);
    out.push_str("</dd></div>\n<div><dt>");
    label(out, lang, "入力ファイル", "input files");
    out.push_str("</dt><dd>");
    push_count(out, plan.inputs.len());
    out.push_str("</dd></div>\n<div><dt>");
    label(out, lang, "操作", "actions");
    out.push_str("</dt><dd>");
    push_count(out, plan.actions.len());
    out.push_str("</dd></div>\n</dl>\n</header>\n");
}

/// The values a reader seldom needs: the store state the plan was made on and its format.
fn footer(out: &mut String, plan: &Plan, lang: Lang) {
    out.push_str("<footer>\n<p>");
    label(out, lang, "ストアのダイジェスト", "store digest");
    out.push_str(" <code id=\"store-digest\">");
    escape_into(out, &plan.store_digest);
    out.push_str("</code> · ");
    label(out, lang, "形式", "format");
    let _ = write!(out, " <code id=\"format\">{}</code></p>\n<p>", plan.format);
    label(
        out,
        lang,
        "regsync — このページは plan.json から生成されています。全行は report.csv と report.xlsx にあります。",
        "regsync — generated from plan.json; every row is in report.csv and report.xlsx.",
    );
    out.push_str("</p>\n</footer>\n");
}

fn inputs(out: &mut String, plan: &Plan, lang: Lang) {
    out.push_str("<section id=\"inputs\">\n<h2>");
    label(out, lang, "入力ファイル", "input files");
    out.push_str("</h2>\n");
    if plan.inputs.is_empty() {
        out.push_str("<p class=\"none\">");
        label(out, lang, "なし", "none");
        out.push_str("</p>\n");
    } else {
        out.push_str("<table class=\"inputs\">\n<thead><tr>");
        th(out, lang, "", "ファイル", "file");
        th(out, lang, "", "種類", "kind");
        th(out, lang, " class=\"num\"", "行数", "rows");
        out.push_str("<th>SHA-256</th></tr></thead>\n<tbody>\n");
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

fn summary(out: &mut String, plan: &Plan, sections: &[Section<'_>], lang: Lang) {
    out.push_str("<section id=\"summary\">\n<h2>");
    label(out, lang, "概要", "summary");
    out.push_str("</h2>\n<table class=\"counts\">\n<thead><tr>");
    th(out, lang, "", "種別", "action");
    th(out, lang, " class=\"num\"", "件数", "count");
    out.push_str("</tr></thead>\n<tbody>\n");
    for s in sections {
        let class = match (s.total, s.kind) {
            (0, _) => " class=\"zero\"",
            (_, ActionKind::Review) => " class=\"attention\"",
            _ => "",
        };
        let _ = write!(out, "<tr{class} id=\"count-{}\"><td>", s.kind.as_str());
        if s.total > 0 {
            let _ = write!(out, "<a href=\"#{}\">", s.kind.as_str());
        }
        label(out, lang, s.kind.label_ja(), &kind_en(s.kind));
        if s.total > 0 {
            out.push_str("</a>");
        }
        out.push_str("</td><td class=\"num\">");
        push_count(out, s.total);
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n<tfoot><tr id=\"count-total\">");
    th(out, lang, "", "合計", "total");
    out.push_str("<th class=\"num\">");
    push_count(out, plan.actions.len());
    out.push_str("</th></tr></tfoot>\n</table>\n");
    let review = sections
        .iter()
        .find(|s| s.kind == ActionKind::Review)
        .map_or(0, |s| s.total);
    if review > 0 {
        out.push_str("<p class=\"review-note\"><a href=\"#review\">");
        let n = review.to_string();
        label(
            out,
            lang,
            &format!("要確認 {n} 件：適用の前に担当者の確認が必要です"),
            &format!("{n} review item(s) need a person before apply"),
        );
        out.push_str("</a></p>\n");
    }
    if !plan.warnings.is_empty() {
        out.push_str("<p class=\"warn-note\"><a href=\"#warnings\">");
        let n = plan.warnings.len().to_string();
        label(
            out,
            lang,
            &format!("警告 {n} 件"),
            &format!("{n} warning(s)"),
        );
        out.push_str("</a></p>\n");
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

fn rule_table(out: &mut String, plan: &Plan, lang: Lang) {
    let counts = rule_counts(plan);
    if counts.is_empty() {
        return;
    }
    out.push_str("<section id=\"rules\">\n<h2>");
    label(out, lang, "規則別の件数", "counts per rule");
    out.push_str("</h2>\n<table class=\"counts rules\">\n<thead><tr>");
    th(out, lang, "", "規則", "rule");
    th(out, lang, " class=\"num\"", "件数", "count");
    out.push_str("</tr></thead>\n<tbody>\n");
    for (rule, n) in &counts {
        let _ = write!(
            out,
            "<tr><td><a href=\"#legend\">{rule}</a></td><td class=\"num\">"
        );
        push_count(out, *n);
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn faculty_table(out: &mut String, plan: &Plan, lang: Lang) {
    out.push_str("<section id=\"faculty\">\n<h2>");
    label(out, lang, "所属別の件数", "counts per faculty");
    out.push_str("</h2>\n");
    let counts = faculty_counts(plan);
    if counts.is_empty() {
        out.push_str("<p class=\"none\">");
        label(out, lang, "操作はありません", "no actions");
        out.push_str("</p>\n</section>\n");
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
    out.push_str("<div class=\"scroll\"><table class=\"faculty\">\n<thead><tr>");
    th(out, lang, "", "所属", "faculty");
    for &k in &kinds {
        let kind = ActionKind::ALL[k];
        th(out, lang, " class=\"num\"", kind.label_ja(), &kind_en(kind));
    }
    th(out, lang, " class=\"num\"", "計", "total");
    out.push_str("</tr></thead>\n<tbody>\n");
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
    out.push_str("</tbody>\n<tfoot><tr>");
    th(out, lang, "", "合計", "total");
    for &k in &kinds {
        push_count_cell(out, totals[k]);
    }
    push_count_cell(out, plan.actions.len());
    out.push_str("</tr></tfoot>\n</table></div>\n</section>\n");
}

/// `1–500 件目` / `rows 1–500 of 1,300`, a page's summary.
fn page_label(out: &mut String, lang: Lang, first: usize, last: usize, total: usize) {
    let mut range = String::new();
    push_count(&mut range, first);
    range.push('–');
    push_count(&mut range, last);
    let mut of = String::new();
    push_count(&mut of, total);
    label(
        out,
        lang,
        &format!("{range} 件目"),
        &format!("rows {range} of {of}"),
    );
}

fn section(out: &mut String, s: &Section<'_>, lang: Lang) {
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
    label(out, lang, s.kind.label_ja(), &kind_en(s.kind));
    out.push_str(" <span class=\"n\">");
    push_count(out, s.total);
    out.push_str("</span></h2></summary>\n");
    if s.shown.len() <= PAGE_ROWS {
        table(out, &s.shown, lang);
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
            page_label(out, lang, first, last, s.total);
            out.push_str("</summary>\n");
            table(out, page, lang);
            out.push_str("</details>\n");
        }
    }
    let more = s.total - s.shown.len();
    if more > 0 {
        more_note(out, lang, more, "report.csv");
    }
    out.push_str("</details>\n</section>\n");
}

/// `ほか 94,850 件は report.csv にあります。`
fn more_note(out: &mut String, lang: Lang, more: usize, file: &str) {
    let mut n = String::new();
    push_count(&mut n, more);
    out.push_str("<p class=\"more\">");
    label(
        out,
        lang,
        &format!("ほか {n} 件は {file} にあります。"),
        &format!("{n} more in {file}."),
    );
    out.push_str("</p>\n");
}

/// One table of action rows.
fn table(out: &mut String, rows: &[&Action], lang: Lang) {
    out.push_str("<div class=\"scroll\"><table class=\"actions\">\n<thead><tr><th>ECS-ID</th>");
    for (ja, en) in [
        ("学籍番号", "student no"),
        ("氏名", "name / kana"),
        ("所属", "faculty / status"),
        ("規則", "rule"),
        ("入力", "source file:row"),
        ("日付", "dates"),
        ("配付", "delivery"),
        ("変更", "changes"),
        ("理由", "reason"),
    ] {
        th(out, lang, "", ja, en);
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for a in rows {
        row(out, a, lang);
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn row(out: &mut String, a: &Action, lang: Lang) {
    out.push_str("<tr><td class=\"id\">");
    push_or_dash(out, a.ecs_id.as_ref().map_or("", |id| id.as_str()));
    out.push_str("</td><td class=\"id\">");
    push_or_dash(out, a.person.student_no.as_ref().map_or("", |n| n.as_str()));
    out.push_str("</td><td class=\"name\"");
    if !a.person.name_kana.is_empty() {
        out.push_str(" title=\"");
        escape_into(out, &a.person.name_kana);
        out.push('"');
    }
    out.push('>');
    push_or_dash(out, &a.person.name);
    out.push_str("</td><td class=\"fac\">");
    push_or_dash(out, &a.person.faculty);
    if let Some(status) = a.person.status {
        out.push_str("<span class=\"sub\">");
        label(
            out,
            lang,
            status.label_ja(),
            &status.as_str().replace('_', " "),
        );
        out.push_str("</span>");
    }
    let _ = write!(
        out,
        "</td><td><a href=\"#legend\">{}</a></td><td class=\"src\">",
        a.rule
    );
    match &a.source {
        Some(src) => {
            escape_into(out, &src.file);
            let _ = write!(out, ":{}", src.row);
        }
        None => out.push('—'),
    }
    out.push_str("</td><td class=\"dates\">");
    let (eff_ja, eff_en) = effective_label(a);
    let dates = [
        (eff_ja, eff_en, a.effective_on),
        ("通知", "notice", a.notice_on),
        ("停止", "stop", a.stop_on),
    ];
    let mut any = false;
    for (ja, en, date) in dates {
        if let Some(d) = date {
            out.push_str("<span class=\"date\"><span class=\"dl\">");
            label(out, lang, ja, en);
            out.push_str("</span> ");
            push_date(out, d);
            out.push_str("</span>");
            any = true;
        }
    }
    if let Some(r) = a.stop_reason {
        out.push_str("<span class=\"sub\">");
        label(out, lang, r.label_ja(), &r.as_str().replace('_', " "));
        out.push_str("</span>");
        any = true;
    }
    if !any {
        out.push('—');
    }
    out.push_str("</td><td>");
    match a.delivery {
        Some(d) => label(out, lang, d.label_ja(), d.as_str()),
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
        out.push_str("<span class=\"badge\">");
        label(out, lang, r.label_ja(), &r.as_str().replace('_', " "));
        out.push_str("</span> ");
    }
    if a.reason_en.is_empty() {
        escape_into(out, &a.reason_ja);
    } else {
        label(out, lang, &a.reason_ja, &a.reason_en);
    }
    out.push_str("</td></tr>\n");
}

fn warnings(out: &mut String, plan: &Plan, lang: Lang) {
    if plan.warnings.is_empty() {
        return;
    }
    let n = plan.warnings.len();
    let _ = write!(
        out,
        "<section id=\"warnings\" class=\"warnings\">\n<details{}>\n<summary><h2>",
        if n <= OPEN_MAX { " open" } else { "" },
    );
    label(out, lang, "警告", "warnings");
    out.push_str(" <span class=\"n\">");
    push_count(out, n);
    out.push_str("</span></h2></summary>\n<ul>\n");
    for w in plan.warnings.iter().take(MAX_ROWS) {
        out.push_str("<li>");
        escape_into(out, w);
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
    if n > MAX_ROWS {
        // Warnings are not rows of report.csv; the full list is in the plan.
        more_note(out, lang, n - MAX_ROWS, "plan.json");
    }
    out.push_str("</details>\n</section>\n");
}

/// Appends `s` with `& < > " '` replaced by entities, safe in text and in quoted attributes.
pub(crate) fn escape_into(out: &mut String, s: &str) {
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
section.outcome p { font-size: 15px; font-weight: 600; padding: 10px 14px; border-radius: 6px; margin: 0 0 16px; }
.outcome.applied p { background: #dafbe1; border-left: 4px solid #1a7f37; }
.outcome.guarded p { background: var(--warn-bg); border-left: 4px solid #cf222e; }
.outcome.dry-run p { background: #ddf4ff; border-left: 4px solid var(--accent); }
.outcome.applying p { background: var(--review-bg); border-left: 4px solid #d4a72c; }
code.cmd { background: var(--bg); border: 1px solid var(--line); padding: 1px 5px; border-radius: 4px; color: var(--fg); }
dl.legend { display: grid; grid-template-columns: repeat(auto-fill, minmax(34em, 1fr)); gap: 0 24px; margin: 4px 0; font-size: 12.5px; }
dl.legend div { display: flex; gap: 8px; }
dl.legend dt { font-weight: 600; min-width: 2.6em; }
dl.legend dd { margin: 0; }
dl.legend div.unused { color: var(--muted); }
td.name[title] { text-decoration: underline dotted var(--line); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 10px; }
@media print { details { display: block; } thead th { position: static; } }
"#;

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
