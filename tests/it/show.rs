//! `regsync show` and `regsync review` after applying the 2026-04-02 sample night.

use crate::common::{Result, ok, planned, regsync};

fn applied() -> Result<tempfile::TempDir> {
    let (dir, _) = planned()?;
    ok(regsync(dir.path(), &["apply", "p/plan.json"], &[])?)?;
    Ok(dir)
}

#[test]
fn show_prints_the_account_and_its_history_by_any_identifier() -> Result {
    let dir = applied()?;
    let d = dir.path();
    // 德永 健一: R6 carry_over (修了 58241012 → 研究生 58267011), 個人番号 0001211193.
    let by_ecs_id = ok(regsync(d, &["show", "a0117214"], &[])?)?.stdout;
    for want in [
        "a0117214",
        "德永",
        "有効 (active)",
        "58241012 → 58267011",
        "0001211193",
        "研究生 (research_student)",
        "履歴 history:",
        "import",
        "carry_over",
        "R6",
        "status: — → research_student",
    ] {
        assert!(by_ecs_id.contains(want), "missing `{want}` in\n{by_ecs_id}");
    }
    for id in ["58241012", "58267011", "0001211193", "ａ０１１７２１４"] {
        let shown = ok(regsync(d, &["show", id], &[])?)?.stdout;
        assert!(shown.starts_with("a0117214 "), "{id}: {shown}");
    }
    // 長谷川 美月: R5 depart with a scheduled stop.
    let departed = ok(regsync(d, &["show", "a0183204"], &[])?)?.stdout;
    assert!(departed.contains("学籍喪失 (departed)"), "{departed}");
    assert!(departed.contains("depart"), "{departed}");
    Ok(())
}

#[test]
fn show_of_an_unknown_id_fails_clearly() -> Result {
    let dir = applied()?;
    let r = regsync(dir.path(), &["show", "a0000000"], &[])?;
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("`a0000000` is not an ECS-ID"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    Ok(())
}

#[test]
fn review_items_are_listed_and_resolved_once() -> Result {
    let dir = applied()?;
    let d = dir.path();
    let list = ok(regsync(d, &["review", "list"], &[])?)?.stdout;
    assert!(list.contains("2 open review item(s)"), "{list}");
    assert!(list.contains("ecs_id_mismatch"), "{list}");
    assert!(list.contains("a0202284"), "{list}");
    assert!(list.contains("registrar-2026-04-02.csv:161"), "{list}");
    assert!(list.contains("name_birth_candidate"), "{list}");
    assert!(list.contains("registrar-2026-04-02.csv:144"), "{list}");

    let first_id = list
        .lines()
        .find_map(|l| l.strip_prefix('#'))
        .and_then(|l| l.split_whitespace().next())
        .ok_or("no item id")?
        .to_string();
    let resolved = ok(regsync(
        d,
        &[
            "review",
            "resolve",
            &first_id,
            "--note",
            "checked with the registrar",
        ],
        &[],
    )?)?;
    assert!(resolved.stdout.contains("resolved"), "{}", resolved.stdout);
    let again = regsync(d, &["review", "resolve", &first_id, "--note", "again"], &[])?;
    assert_eq!(again.code, Some(1));
    assert!(
        again.stderr.contains("already resolved"),
        "{}",
        again.stderr
    );
    let unknown = regsync(d, &["review", "resolve", "999", "--note", "x"], &[])?;
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown.stderr.contains("no review item #999"),
        "{}",
        unknown.stderr
    );

    let list = ok(regsync(d, &["review", "list"], &[])?)?.stdout;
    assert!(list.contains("1 open review item(s)"), "{list}");
    assert!(!list.contains(&format!("#{first_id} ")), "{list}");
    Ok(())
}

/// An identifier that is one account's 個人番号 and another's student number names both: `show`
/// lists each with how it matched, and says there are two, never only the first it found.
#[test]
fn an_identifier_naming_two_accounts_shows_both() -> Result {
    let dir = crate::common::tempdir();
    let d = dir.path();
    crate::common::write(
        &d.join("accounts.csv"),
        "ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限\n\
         a0400001,01230042,01230041,青木　一,アオキ　ハジメ,2003-01-01,文学部,学生,有効,aoki.hajime@st.kyoto-u.ac.jp,,,\n\
         a0400002,0000000002,01230042,上田　二郎,ウエダ　ジロウ,2003-02-02,文学部,学生,有効,ueda.jiro@st.kyoto-u.ac.jp,,,\n",
    );
    ok(regsync(d, &["accounts", "import", "accounts.csv"], &[])?)?;
    let shown = ok(regsync(d, &["show", "01230042"], &[])?)?.stdout;
    assert!(shown.contains("`01230042` names 2 accounts"), "{shown}");
    for want in [
        "a0400002  上田　二郎",
        "学籍番号 student_no `01230042`",
        "a0400001  青木　一",
        "個人番号 person_id `01230042`",
    ] {
        assert!(shown.contains(want), "missing `{want}` in\n{shown}");
    }
    Ok(())
}
