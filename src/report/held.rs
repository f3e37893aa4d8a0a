//! The rows held out for an error (policy `row_errors = "hold_rows"`), first in the report: the
//! persons they name get no action tonight, so the administrator reads them before the actions.

use std::fmt::Write as _;

use crate::domain::plan::Plan;

/// The held rows' section of `report.html`; nothing when no row is held.
pub(super) fn html(out: &mut String, plan: &Plan, escape: fn(&mut String, &str)) {
    if plan.held.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section id=\"held\" class=\"warnings\">\n<h2>保留した行 <span class=\"en\">rows held out</span> <span class=\"n\">{} 件</span></h2>\n\
         <p>誤りのある行です。書かれた人（学籍番号・個人番号・ECS-ID）には今夜何もせず、不在ともみなしません。行を直して再出力してください。 \
         <span class=\"en\">Rows with errors: nobody they name gets an action tonight or is taken as absent. Fix the rows and export again.</span></p>\n<ul>\n",
        plan.held.len()
    );
    for h in &plan.held {
        out.push_str("<li>");
        escape(out, &format!("{}:{}", h.source.file, h.source.row));
        let ids: Vec<String> = [
            h.ids
                .student_no
                .as_ref()
                .map(|s| format!("学籍番号 {}", s.as_str())),
            h.ids
                .person_id
                .as_ref()
                .map(|p| format!("個人番号 {}", p.as_str())),
            h.ids
                .ecs_id
                .as_ref()
                .map(|e| format!("ECS-ID {}", e.as_str())),
            h.ids
                .staff_no
                .as_ref()
                .map(|s| format!("職員番号 {}", s.as_str())),
        ]
        .into_iter()
        .flatten()
        .collect();
        out.push_str(" — ");
        if ids.is_empty() {
            out.push_str("識別子を読めません（今夜はこのファイルで誰も不在とみなしません） <span class=\"en\">no identifier readable: nobody is taken as absent from this file tonight</span>");
        } else {
            escape(out, &ids.join(", "));
        }
        out.push_str("<ul>");
        for e in &h.errors {
            out.push_str("<li>");
            escape(out, e);
            out.push_str("</li>");
        }
        out.push_str("</ul></li>\n");
    }
    out.push_str("</ul>\n</section>\n");
}
