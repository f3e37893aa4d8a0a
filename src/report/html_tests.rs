//! Tests of `report.html`.
#![expect(clippy::unwrap_used)]

use super::*;
use crate::domain::plan::Rule;
use crate::report::fixture;
use crate::report::view::{Status, View};

fn view() -> View {
    View::dry_run(std::path::Path::new("plan/plan.json"), Lang::Ja)
}

#[test]
fn script_in_name_is_escaped() {
    let html = report_html(&fixture::small(), &view());
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
    let html = report_html(&plan, &view());
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
    let html = report_html(&fixture::small(), &view());
    let at = |id: &str| html.find(&format!("<section id=\"{id}\"")).unwrap();
    let order = [
        "outcome", "summary", "rules", "faculty", "legend", "inputs", "warnings", "review",
        "create", "update", "depart", "stop",
    ];
    for pair in order.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} before {}", pair[0], pair[1]);
    }
    assert!(html.contains("<a href=\"#review\"><span title=\"1 review item(s) need a person before apply\">要確認 1 件："));
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
    let html = report_html(&fixture::small(), &view());
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
    let html = report_html(&fixture::small(), &view());
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
    let html = report_html(&plan, &view());

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
        "<details class=\"page\" id=\"create-p1\" open>\n<summary>\
         <span title=\"rows 1–500 of 1,300\">1–500 件目</span></summary>"
    ));
    assert!(
        create.contains("<details class=\"page\" id=\"create-p2\">\n<summary><span title=\"rows 501–1,000 of 1,300\">501–1,000 件目")
    );
    assert!(
        create.contains("<details class=\"page\" id=\"create-p3\">\n<summary><span title=\"rows 1,001–1,300 of 1,300\">1,001–1,300 件目")
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
    let html = report_html(&plan, &view());
    let elapsed = start.elapsed();
    assert!(html.contains("ほか 94,850 件は report.csv にあります。"));
    assert!(html.contains("title=\"94,850 more in report.csv.\""));
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

#[test]
fn the_outcome_line_comes_first_and_says_what_happened() {
    let plan = fixture::small();
    let dry = report_html(&plan, &view());
    let first_section = dry.find("<section").unwrap();
    assert_eq!(
        first_section,
        dry.find("<section id=\"outcome\" class=\"outcome dry-run\">")
            .unwrap()
    );
    assert!(dry.contains("何も変更していません"));
    assert!(dry.contains("<code class=\"cmd\">regsync apply plan/plan.json</code>"));

    let guarded = View {
        status: Status::Guarded {
            limits: vec![crate::report::Limit {
                ja: "depart 18 件が上限を超えています".into(),
                en: "18 depart exceed 5% of the 171 active accounts (8)".into(),
            }],
            apply: "regsync apply reports/x/plan.json".into(),
            allow: "regsync run --allow depart=18".into(),
        },
        lang: Lang::En,
    };
    let html = report_html(&plan, &guarded);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    let line = &html[html.find("<section id=\"outcome\"").unwrap()..];
    let line = &line[..line.find("</section>").unwrap()];
    for want in [
        "class=\"outcome guarded\"",
        ">Blocked by the mass-change guard: nothing applied.</span>",
        "18 depart exceed 5% of the 171 active accounts (8)",
        "regsync run --allow depart=18",
        "regsync apply reports/x/plan.json",
    ] {
        assert!(line.contains(want), "{want}: {line}");
    }
}

#[test]
fn one_language_per_line_with_the_other_on_hover() {
    let plan = fixture::small();
    let ja = report_html(&plan, &view());
    let en = report_html(
        &plan,
        &View {
            lang: Lang::En,
            ..view()
        },
    );
    // The create's reason: shown in one language, the other in its title.
    assert!(ja.contains(
        "<span title=\"April admission (account letter)\">4月入学（通知書で配付）</span>"
    ));
    assert!(en.contains(
        "<span title=\"4月入学（通知書で配付）\">April admission (account letter)</span>"
    ));
    // Dates say what they are; the store's digest and the format are in the footer.
    assert!(
        ja.contains("<span class=\"dl\"><span title=\"admitted\">入学</span></span> 2026-04-01")
    );
    let footer = ja.find("<footer>").unwrap();
    assert!(ja.find(&plan.store_digest).unwrap() > footer);
    assert!(ja.find("id=\"format\"").unwrap() > footer);
    // Every rule has its line in the legend; no script anywhere.
    for rule in crate::domain::plan::Rule::ALL {
        assert!(ja.contains(&format!("<dt>{rule}</dt>")), "{rule}");
    }
    assert!(!ja.to_lowercase().contains("<script") && !en.to_lowercase().contains("<script"));
}
