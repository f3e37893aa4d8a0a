//! What `report.html` says around the plan: the outcome line at its top (applied, stopped by
//! the guard, or a dry run), the one-line legend of the rules, what each date of an action is,
//! and the language the page is written in. The plan itself never holds these: the same plan
//! is a dry run in `plan/` and applied in a night's folder.

use std::fmt::Write as _;

use crate::domain::plan::{Action, ActionKind, Rule};

/// The language of `report.html`: each label in it, the other on hover (`title=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ja" => Ok(Lang::Ja),
            "en" => Ok(Lang::En),
            _ => Err(format!("`{s}` is not a report language (ja, en)")),
        }
    }
}

impl Lang {
    /// `ja` or `en`, as the page's `lang` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The text in this language and the other one: `(shown, on hover)`.
    pub(crate) fn pick<'a>(self, ja: &'a str, en: &'a str) -> (&'a str, &'a str) {
        match self {
            Lang::Ja => (ja, en),
            Lang::En => (en, ja),
        }
    }
}

/// One limit the mass-change guard found exceeded, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub ja: String,
    pub en: String,
}

/// What happened to the plan the report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// `regsync plan`: nothing changed; `apply` names the command that would apply it.
    DryRun { apply: String },
    /// `run`, written before its apply: replaced once the apply has committed, so a page that
    /// still says this names a run that did not finish.
    Applying,
    /// Applied to the store at `at` (Japan time, `2026-04-02 02:31 JST`).
    Applied { at: String },
    /// The mass-change guard stopped the night: nothing changed. `apply` and `allow` are the
    /// two commands that go on.
    Guarded {
        limits: Vec<Limit>,
        apply: String,
        allow: String,
    },
}

impl Status {
    /// The class of the outcome line (`applied`, `guarded`, ...), for the stylesheet and tests.
    pub fn class(&self) -> &'static str {
        match self {
            Status::DryRun { .. } => "dry-run",
            Status::Applying => "applying",
            Status::Applied { .. } => "applied",
            Status::Guarded { .. } => "guarded",
        }
    }
}

/// How the report is written: the outcome at its top, and its language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub status: Status,
    pub lang: Lang,
}

impl View {
    /// A dry run in Japanese whose plan would be applied with `regsync apply plan/plan.json`.
    pub fn dry_run(plan_json: &std::path::Path, lang: Lang) -> View {
        View {
            status: Status::DryRun {
                apply: format!("regsync apply {}", plan_json.display()),
            },
            lang,
        }
    }
}

/// Now in Japan, as the outcome line of an applied report shows it.
pub fn now_in_japan() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%Y-%m-%d %H:%M JST")
        .to_string()
}

/// `<span title="other">shown</span>`: a label in the page's language with the other on hover.
pub(crate) fn label(out: &mut String, lang: Lang, ja: &str, en: &str) {
    let (shown, other) = lang.pick(ja, en);
    out.push_str("<span title=\"");
    super::html::escape_into(out, other);
    out.push_str("\">");
    super::html::escape_into(out, shown);
    out.push_str("</span>");
}

/// The outcome line: the first thing on the page, one sentence.
pub(crate) fn outcome(out: &mut String, view: &View, actions: usize) {
    let lang = view.lang;
    let _ = write!(
        out,
        "<section id=\"outcome\" class=\"outcome {}\">\n<p>",
        view.status.class()
    );
    let n = actions.to_string();
    match &view.status {
        Status::DryRun { apply } => {
            label(
                out,
                lang,
                &format!("試行（ドライラン）：何も変更していません。操作 {n} 件。適用するには"),
                &format!("Dry run: nothing changed. {n} action(s). To apply this plan:"),
            );
            command(out, apply);
        }
        Status::Applying => label(
            out,
            lang,
            &format!(
                "適用中：操作 {n} 件。この表示のままなら適用は完了していません（run の要約を確認してください）"
            ),
            &format!(
                "Being applied: {n} action(s). If this line stays, the apply did not finish (see the run's summary)"
            ),
        ),
        Status::Applied { at } => label(
            out,
            lang,
            &format!("適用済み {at}：操作 {n} 件をストアに反映しました"),
            &format!("Applied at {at}: {n} action(s) written to the store"),
        ),
        Status::Guarded {
            limits,
            apply,
            allow,
        } => {
            label(
                out,
                lang,
                "大量変更ガードにより停止：何も適用していません。",
                "Blocked by the mass-change guard: nothing applied.",
            );
            for l in limits {
                out.push(' ');
                label(out, lang, &format!("{}。", l.ja), &format!("{}.", l.en));
            }
            out.push(' ');
            label(
                out,
                lang,
                "確認の上、この計画を適用するには",
                "After review, apply this plan with",
            );
            command(out, apply);
            label(
                out,
                lang,
                "、またはこの run に限り上限を上げて",
                ", or raise the limit for one run with",
            );
            command(out, allow);
        }
    }
    out.push_str("</p>\n</section>\n");
}

fn command(out: &mut String, cmd: &str) {
    out.push_str(" <code class=\"cmd\">");
    super::html::escape_into(out, cmd);
    out.push_str("</code>");
}

/// The rules in one line each, `(rule, 日本語, English)`; docs/rules.md has the same lines.
pub(crate) const LEGEND: [(Rule, &str, &str); 14] = [
    (
        Rule::R1,
        "すべての学生（正規生・非正規生）に ECS-ID と KUMOI を1つずつ",
        "Every student, regular or non-regular, gets one ECS-ID and one KUMOI mailbox",
    ),
    (
        Rule::R2,
        "1人に1つの ECS-ID を生涯：再入学でも同じ ECS-ID と KUMOI、他人には割り当てない",
        "One person, one ECS-ID for life: the same ECS-ID and KUMOI on re-enrolment, never given to another person",
    ),
    (
        Rule::R3,
        "4月・10月入学は学部経由の通知書で、それ以外の入学は窓口で配付",
        "Admissions in the cohort months (April, October) get a letter through the faculty; others come to the counter",
    ),
    (
        Rule::R4,
        "新規アカウントは有効化待ち。有効化期限を過ぎたら窓口で延長",
        "A new account waits for activation until its deadline; past it, an extension at the counter",
    ),
    (
        Rule::R5,
        "学籍喪失（卒業・修了・退学・除籍）：通知の後に停止",
        "Losing student status (graduation, completion, withdrawal, expulsion): a notice, then a stop",
    ),
    (
        Rule::R6,
        "研究生になる修了者は同じ ECS-ID のまま。通知も停止もなし",
        "A graduate who becomes a research student keeps the ECS-ID; no notice, no stop",
    ),
    (
        Rule::R7,
        "学内の進学（学部から大学院、新しい学籍番号）は同じ ECS-ID の更新",
        "Moving on inside the university (a new student number) is an update of the same ECS-ID",
    ),
    (
        Rule::R8,
        "学籍を離れても利用継続申請の承認で学生以外の利用者として継続",
        "A former student approved for continued use (利用継続) stays as a non-student holder",
    ),
    (
        Rule::R9,
        "教職員になった学生の ECS-ID は6月30日に停止：移行時の通知と停止前のリマインダー",
        "A student who becomes staff: the ECS-ID stops on June 30, with a notice at conversion and a reminder before",
    ),
    (
        Rule::R9a,
        "在学中の教職員は ECS-ID を持つ。在学中は6月の停止なし",
        "Staff who are enrolled students keep or get an ECS-ID; no June stop while enrolled",
    ),
    (
        Rule::R10,
        "学生以外の利用者は年度ごとに更新：期限の1か月前に案内、更新がなければ翌日停止",
        "Non-student holders renew every fiscal year: a notice a month before the expiry, a stop the day after without renewal",
    ),
    (
        Rule::R11,
        "学振特別研究員は申請により学生以外の利用者として ECS-ID と KUMOI を持つ",
        "JSPS fellows who apply get an ECS-ID and KUMOI as non-student holders",
    ),
    (
        Rule::R12,
        "有効化キーはランダムに生成し、個人情報から作らず、メールで送らない",
        "Activation keys are random, never derived from personal data, never sent by mail",
    ),
    (
        Rule::R13,
        "パスワードと有効化キーはレポートにもログにも書かない（キーは letters/ のみ）",
        "No password or activation key in a report or a log; keys exist only in letters/",
    ),
];

/// The legend of the rules, one line each, those the plan uses marked.
pub(crate) fn legend(out: &mut String, lang: Lang, used: &std::collections::BTreeMap<Rule, usize>) {
    out.push_str("<section id=\"legend\">\n<h2>");
    label(out, lang, "規則", "rules");
    out.push_str("</h2>\n<dl class=\"legend\">\n");
    for (rule, ja, en) in LEGEND {
        let n = used.get(&rule).copied().unwrap_or(0);
        let class = if n > 0 { "" } else { " class=\"unused\"" };
        let _ = write!(out, "<div{class}><dt>{rule}</dt><dd>");
        label(out, lang, ja, en);
        out.push_str("</dd></div>\n");
    }
    out.push_str("</dl>\n</section>\n");
}

/// What an action's `effective_on` is, `(日本語, English)`: the same field holds an admission, a
/// status change, an approval, a hire, an activation deadline or the last day of a holder.
pub(crate) fn effective_label(a: &Action) -> (&'static str, &'static str) {
    match (a.kind, a.rule) {
        (ActionKind::Create | ActionKind::Reinstate, _) => ("入学", "admitted"),
        (ActionKind::ActivationExpired, _) => ("有効化期限", "activation deadline"),
        (ActionKind::Update, Rule::R4) => ("有効化", "activated"),
        (ActionKind::Update, Rule::R9 | Rule::R9a) => ("採用", "hired"),
        (ActionKind::Renew | ActionKind::MakeHolder, _)
        | (ActionKind::Update, Rule::R8 | Rule::R10 | Rule::R11) => ("承認", "approved"),
        (ActionKind::StaffConvert | ActionKind::StaffReminder, _) => ("移行", "converts"),
        (ActionKind::ExpiryNotice, _) => ("利用期限", "valid until"),
        _ => ("異動", "status change"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn the_legend_has_every_rule_once_and_rules_md_has_its_lines() {
        let rules: Vec<Rule> = LEGEND.iter().map(|(r, _, _)| *r).collect();
        assert_eq!(rules, Rule::ALL);
        let doc = include_str!("../../docs/rules.md");
        for (rule, ja, en) in LEGEND {
            assert!(doc.contains(&format!("| {rule} | {ja} | {en} |")), "{rule}");
        }
    }

    #[test]
    fn an_activation_deadline_is_not_a_status_change() {
        let a = fixture::action(ActionKind::ActivationExpired, Rule::R4, "x", "y");
        assert_eq!(effective_label(&a).1, "activation deadline");
        let d = fixture::action(ActionKind::Depart, Rule::R5, "x", "y");
        assert_eq!(effective_label(&d), ("異動", "status change"));
        let c = fixture::action(ActionKind::Create, Rule::R1, "x", "y");
        assert_eq!(effective_label(&c).0, "入学");
    }

    #[test]
    fn languages_parse() {
        assert_eq!("ja".parse::<Lang>(), Ok(Lang::Ja));
        assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
        assert!("fr".parse::<Lang>().is_err());
        assert_eq!(Lang::En.pick("あ", "a"), ("a", "あ"));
    }
}
