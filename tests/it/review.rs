//! The review queue through the real binary: one item per situation across nights, and the
//! resolutions that act (`--same-as`, `--different-person`, `--keep-ours`,
//! `--accept-registry`), shown by `show` (issue 17).

use std::path::Path;

use crate::common::{drop_in, imported, output, root, text, write_settled};

const CONFIG: &str =
    "[policy]\nguard_share = 0.5\n[mail]\ntransport = \"file\"\ndir = \"mail-out\"\n";

/// The sample export of 2026-04-02 again, as another night's file (`blank` empty lines at its
/// end make its SHA-256 differ, so it is read again): the same situations, another file.
fn export_again(dir: &Path, night: u32, blank: usize) {
    let mut bytes =
        std::fs::read(root().join("samples/registrar-2026-04-02.csv")).unwrap_or_default();
    bytes.extend(b"\r\n".repeat(blank));
    write_settled(
        &dir.join(format!("inbox/registrar-night{night}.csv")),
        bytes,
    );
}

/// Runs the night and returns what it printed; the night must succeed.
fn night(dir: &Path, as_of: &str) -> String {
    let o = output(dir, &["run", "--as-of", as_of], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    text(&o)
}

/// `regsync review resolve ARGS...` in `dir`.
fn resolve(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["review", "resolve"];
    all.extend(args);
    output(dir, &all, &[])
}

fn review_list(dir: &Path) -> String {
    text(&output(dir, &["review", "list"], &[]))
}

/// The number of the `name_birth_candidate` item in `review list`'s output ("" when none).
fn candidate_item(list: &str) -> String {
    list.lines()
        .find(|l| l.contains("name_birth_candidate"))
        .and_then(|l| l.trim_start_matches('#').split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}

/// The sample export has a row (学籍番号 09268011, 山﨑　美咲) whose identifiers are new but whose
/// kana name and birth date are those of the stopped account a0892166.
const ROW: &str = "09268011";
const CANDIDATE: &str = "a0892166";

#[test]
fn the_same_mismatch_over_five_nights_is_one_item_and_same_as_links_the_row() {
    let dir = imported(Some(CONFIG), &[]);
    drop_in(dir.path(), &["samples/registrar-2026-04-02.csv"]);
    night(dir.path(), "2026-04-02");
    for n in 3..=6 {
        export_again(dir.path(), n, n as usize);
        night(dir.path(), &format!("2026-04-0{n}"));
    }
    let list = review_list(dir.path());
    assert_eq!(list.matches("name_birth_candidate").count(), 1, "{list}");
    assert!(list.contains("seen 5×"), "{list}");
    let item = candidate_item(&list);

    // Before it is resolved, `show` of the row's student number names the item.
    let shown = text(&output(dir.path(), &["show", ROW], &[]));
    assert!(
        shown.contains("review queue") && shown.contains(&format!("#{item}")),
        "{shown}"
    );

    let o = resolve(
        dir.path(),
        &[&item, "--same-as", CANDIDATE, "--note", "confirmed"],
    );
    assert!(o.status.success(), "{}", text(&o));
    export_again(dir.path(), 7, 7);
    let said = night(dir.path(), "2026-04-07");
    assert!(said.contains("reinstate 1"), "{said}");
    export_again(dir.path(), 8, 8);
    night(dir.path(), "2026-04-08");
    let list = review_list(dir.path());
    assert!(!list.contains("name_birth_candidate"), "{list}");

    // The account holds the row's student number; the link is in its history.
    let shown = text(&output(dir.path(), &["show", ROW], &[]));
    assert!(shown.starts_with(CANDIDATE), "{shown}");
    assert!(
        shown.contains(" link ") && shown.contains("review resolve"),
        "{shown}"
    );
}

#[test]
fn different_person_creates_an_account_and_is_not_asked_again() {
    let dir = imported(Some(CONFIG), &[]);
    drop_in(dir.path(), &["samples/registrar-2026-04-02.csv"]);
    night(dir.path(), "2026-04-02");
    let list = review_list(dir.path());
    let item = candidate_item(&list);
    assert!(!item.is_empty(), "{list}");
    // `--same-as` an account that is not there, or on a kind of item it does not fit, is
    // refused and changes nothing.
    let o = resolve(dir.path(), &[&item, "--same-as", "a0999999", "--note", "x"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no account `a0999999`"), "{}", text(&o));
    // Nor may it link the row to an account on record that is not one of the item's
    // candidates: two people would share one ECS-ID (R2).
    let stranger = "a0183204";
    let o = resolve(dir.path(), &[&item, "--same-as", stranger, "--note", "x"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "`{stranger}` is not one of the item's candidates ({CANDIDATE})"
        )),
        "{}",
        text(&o)
    );

    let o = resolve(
        dir.path(),
        &[&item, "--different-person", "--note", "checked the photo"],
    );
    assert!(o.status.success(), "{}", text(&o));
    export_again(dir.path(), 3, 3);
    let said = night(dir.path(), "2026-04-03");
    assert!(said.contains("create 1"), "{said}");
    export_again(dir.path(), 4, 4);
    let said = night(dir.path(), "2026-04-04");
    assert!(!said.contains("create"), "{said}");
    assert!(!review_list(dir.path()).contains("name_birth_candidate"));
    let shown = text(&output(dir.path(), &["show", ROW], &[]));
    assert!(
        !shown.starts_with(CANDIDATE),
        "a new account, not {CANDIDATE}: {shown}"
    );
}

/// Three students on record: A (`a0100001`) and C hold their numbers; Y (`a0100002`) is a
/// stopped account with an old number and no 個人番号. The registry writes Y's ECS-ID on A's
/// row: an ECS-ID mismatch (R6).
const MISMATCH_ACCOUNTS: &str = "ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限
a0100001,0001300001,01250001,青木　葵,アオキ　アオイ,2006-05-01,文学部,学生,有効,aoki.aoi@st.kyoto-u.ac.jp,,,
a0100002,,01190002,青木　葵,アオキ　アオイ,2006-05-01,文学部,学生,停止,aoki.aoi.2@st.kyoto-u.ac.jp,,2023-04-14,
a0100003,0001300003,01250003,石田　蓮,イシダ　レン,2006-06-02,文学部,学生,有効,ishida.ren@st.kyoto-u.ac.jp,,,
";

/// The night's full snapshot, A's row carrying the ECS-ID `registry`.
fn mismatch_export(dir: &Path, night: u32, registry: &str) {
    let text = format!(
        "学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\n\
         01250001,0001300001,{registry},青木　葵,アオキ　アオイ,2006-05-01,文学部,学部生,在学,2025-04-01,\n\
         01250003,0001300003,a0100003,石田　蓮,イシダ　レン,2006-06-02,文学部,学部生,在学,2025-04-01,\n{}",
        "\n".repeat(night as usize)
    );
    write_settled(&dir.join(format!("inbox/registrar-{night}.csv")), text);
}

/// A folder with the three accounts imported and the first mismatch night run; returns it and
/// the number of the `ecs_id_mismatch` item.
fn mismatched(registry: &str) -> (tempfile::TempDir, String) {
    let dir = crate::common::tempdir();
    crate::common::write(
        &dir.path().join("regsync.toml"),
        "[policy]\nguard_share = 0.9\n[mail]\ntransport = \"file\"\ndir = \"mail-out\"\n",
    );
    crate::common::write(&dir.path().join("accounts.csv"), MISMATCH_ACCOUNTS);
    let o = output(dir.path(), &["accounts", "import", "accounts.csv"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    mismatch_export(dir.path(), 1, registry);
    night(dir.path(), "2026-04-02");
    let list = review_list(dir.path());
    let item = list
        .lines()
        .find(|l| l.contains("ecs_id_mismatch"))
        .and_then(|l| l.trim_start_matches('#').split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    assert!(!item.is_empty(), "{list}");
    assert!(list.contains("--keep-ours | --accept-registry"), "{list}");
    (dir, item)
}

#[test]
fn keep_ours_ignores_the_registrys_ecs_id_and_the_item_does_not_return() {
    let (dir, item) = mismatched("a0100002");
    let o = resolve(
        dir.path(),
        &[&item, "--keep-ours", "--note", "registrar typo"],
    );
    assert!(o.status.success(), "{}", text(&o));
    for n in 2..=3 {
        mismatch_export(dir.path(), n, "a0100002");
        let said = night(dir.path(), &format!("2026-04-0{}", n + 1));
        assert!(said.contains("0 action(s)"), "matched as on record: {said}");
    }
    assert!(!review_list(dir.path()).contains("ecs_id_mismatch"));
    let shown = text(&output(dir.path(), &["show", "a0100001"], &[]));
    assert!(
        shown.contains("keep-ours a0100001 (not a0100002)"),
        "{shown}"
    );
}

#[test]
fn accept_registry_moves_the_number_to_the_registrys_ecs_id() {
    // An ECS-ID on no account is refused: regsync never takes an ECS-ID it did not allocate.
    let (dir, item) = mismatched("a0999999");
    let o = resolve(dir.path(), &[&item, "--accept-registry", "--note", "x"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is on no account"), "{}", text(&o));

    let (dir, item) = mismatched("a0100002");
    let o = resolve(
        dir.path(),
        &[&item, "--accept-registry", "--note", "registrar confirmed"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let shown = text(&output(dir.path(), &["show", "01250001"], &[]));
    assert!(shown.starts_with("a0100002"), "{shown}");
    assert!(shown.contains("relink"), "{shown}");
    // The next night the row is Y's: its readmission (R2); A, named by no row, departs (R5).
    mismatch_export(dir.path(), 2, "a0100002");
    let said = night(dir.path(), "2026-04-03");
    assert!(said.contains("reinstate 1"), "{said}");
    assert!(said.contains("depart 1"), "{said}");
    assert!(!review_list(dir.path()).contains("ecs_id_mismatch"));
}
