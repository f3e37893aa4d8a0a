//! The review queue through the real binary: one item per situation across nights, and the
//! resolutions that act (`--same-as`, `--different-person`), shown by `show` (issue 17).

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

    let o = output(
        dir.path(),
        &[
            "review",
            "resolve",
            &item,
            "--same-as",
            CANDIDATE,
            "--note",
            "confirmed",
        ],
        &[],
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
    let o = output(
        dir.path(),
        &[
            "review",
            "resolve",
            &item,
            "--same-as",
            "a0999999",
            "--note",
            "x",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no account `a0999999`"), "{}", text(&o));

    let o = output(
        dir.path(),
        &[
            "review",
            "resolve",
            &item,
            "--different-person",
            "--note",
            "checked the photo",
        ],
        &[],
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
