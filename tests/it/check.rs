//! `regsync check` on the shipped samples: every good sample passes, every broken one is
//! rejected with messages that point at the exact row and column.

use crate::common::{output, root};

/// `regsync check FILES` in the crate's root: the exit code and stdout.
fn check(files: &[&str]) -> (i32, String) {
    let mut args = vec!["check"];
    args.extend(files);
    let o = output(&root(), &args, &[]);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn every_good_sample_passes() {
    let (code, out) = check(&[
        "samples/registrar-2026-04-02.csv",
        "samples/registrar-2026-04-02.xlsx",
        "samples/registrar-2026-04-17.csv",
        "samples/hr-2026-04-02.csv",
        "samples/renewals-2026-04-02.csv",
        "samples/activations-2026-04-02.csv",
        "tests/data/xls/registrar-small.xls",
    ]);
    insta::assert_snapshot!(out);
    assert_eq!(code, 0);
}

#[test]
fn broken_samples_are_rejected_with_located_errors() {
    for name in ["bad-date", "bad-bytes", "missing-column", "unknown-status"] {
        let path = format!("samples/broken/{name}.csv");
        let (code, out) = check(&[&path]);
        insta::assert_snapshot!(name, out);
        assert_eq!(code, 3, "{name}");
    }
}

#[test]
fn check_rejects_a_student_number_that_is_not_eight_digits() -> crate::common::Result {
    let dir = crate::common::tempdir();
    let long = "A".repeat(5000);
    let csv = format!(
        "学籍番号,氏名,氏名カナ,所属,身分,在籍状態\r\n\
         ABCDEFGH,山田　太郎,ヤマダ　タロウ,工学部,学部生,在学\r\n\
         {long},鈴木　花子,スズキ　ハナコ,文学部,学部生,在学\r\n\
         1234567,佐藤　一郎,サトウ　イチロウ,理学部,学部生,在学\r\n"
    );
    std::fs::write(dir.path().join("ids.csv"), csv)?;
    let o = output(dir.path(), &["check", "ids.csv"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(
        out.contains(
            "ids.csv:2:1(学籍番号): エラー error: 「ABCDEFGH」は学籍番号の形式（[0-9]{8}）に合いません / `ABCDEFGH` does not have the form of a 学籍番号: `[0-9]{8}` was expected"
        ),
        "{out}"
    );
    let shown = "A".repeat(40);
    assert!(
        out.contains(&format!(
            "ids.csv:3:1(学籍番号): エラー error: 「{shown}…」（5000文字）は学籍番号の形式"
        )),
        "{out}"
    );
    assert!(!out.contains(&"A".repeat(41)), "a long value is cut short");
    // Seven digits are a number that lost its leading zero: 01234567.
    assert!(!out.contains("ids.csv:4:"), "{out}");
    assert!(out.contains("2 of 3 rows have errors"), "{out}");
    Ok(())
}

/// The sample export's title and header rows, and its first `rows` data rows (CP932 bytes).
fn sample_head(rows: usize) -> crate::common::Result<Vec<u8>> {
    let bytes = std::fs::read(root().join("samples/registrar-2026-04-02.csv"))?;
    // Three title rows, the header, then the data.
    let keep = 4 + rows;
    let mut out = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n').take(keep) {
        out.extend_from_slice(line);
    }
    Ok(out)
}

#[test]
fn a_header_only_full_snapshot_is_rejected_because_it_would_depart_everyone()
-> crate::common::Result {
    let dir = crate::common::imported(None, &[]);
    let inbox = dir.path().join("inbox");
    crate::common::write_settled(&inbox.join("registrar-empty.csv"), sample_head(0)?);
    let o = output(dir.path(), &["check", "inbox/registrar-empty.csv"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(
        out.contains("inbox/registrar-empty.csv: エラー error: 在籍者の全件データですが、見出し行だけでデータ行がありません。このまま読むと在籍者全員が離籍（R5）になります。書き出しをやり直してください / a full registrar snapshot with a header and no data rows: read as it is, it would depart everyone on record (R5); export it again"),
        "{out}"
    );
    // `run` sets it aside too, and nobody departs.
    let r = crate::common::regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Rejected: registrar-empty.csv: エラー error: 在籍者の全件データですが"),
        "{}",
        r.stdout
    );
    // The summary's action counts hold no departure.
    assert!(
        !r.stdout.contains("— depart") && !r.stdout.contains(", depart"),
        "{}",
        r.stdout
    );
    Ok(())
}

#[test]
fn a_full_snapshot_much_smaller_than_the_previous_one_is_a_warning() -> crate::common::Result {
    let dir = crate::common::imported(Some("[policy]\nguard_share = 0.5\n"), &[]);
    let inbox = dir.path().join("inbox");
    crate::common::drop_in(dir.path(), &["samples/registrar-2026-04-02.csv"]);
    let r = crate::common::regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);

    // The next export holds 20 of the 203 rows.
    crate::common::write_settled(&inbox.join("registrar-0403.csv"), sample_head(20)?);
    let o = output(dir.path(), &["check", "inbox/registrar-0403.csv"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "a warning does not reject: {out}");
    let warning = "a full registrar snapshot of 20 rows, fewer than 50% of the previous one (`registrar-2026-04-02.csv`, 203 rows): check that the export is complete";
    assert!(
        out.contains("inbox/registrar-0403.csv: 警告 warning: 在籍者の全件データが 20 行で"),
        "{out}"
    );
    assert!(out.contains(warning), "{out}");
    // The plan carries it among its warnings, so the report shows it.
    let r = crate::common::regsync(
        dir.path(),
        &["plan", "--as-of", "2026-04-03", "--out", "p"],
        &[],
    )?;
    let plan = std::fs::read_to_string(dir.path().join("p/plan.json"))?;
    assert!(plan.contains(warning), "{}{plan}", r.stdout);
    let html = std::fs::read_to_string(dir.path().join("p/report.html"))?;
    assert!(
        html.contains("fewer than 50% of the previous one"),
        "{html}"
    );
    Ok(())
}

/// The sample export with 鈴木　悠真 (a0241537, enrolled) written with the 外字 U+E000 for 鈴:
/// CP932 F040, the first code of the user-defined area.
fn with_gaiji() -> crate::common::Result<Vec<u8>> {
    let bytes = std::fs::read(root().join("samples/registrar-2026-04-02.csv"))?;
    let (suzuki, _, _) = encoding_rs::SHIFT_JIS.encode("鈴木　悠真");
    let at = bytes
        .windows(suzuki.len())
        .position(|w| w == &*suzuki)
        .ok_or("鈴木　悠真 is in the sample")?;
    let mut out = bytes.clone();
    out[at..at + 2].copy_from_slice(&[0xF0, 0x40]);
    Ok(out)
}

/// A copy of the shipped mapping profiles in `dir/mappings`, with `gaiji` as the registrar
/// profile's `[gaiji]` table.
fn mappings_with(dir: &std::path::Path, gaiji: &str) -> crate::common::Result {
    let to = dir.join("mappings");
    std::fs::create_dir_all(&to)?;
    for kind in ["registrar", "hr", "renewals", "activations"] {
        let mut text = std::fs::read_to_string(root().join(format!("mappings/{kind}.toml")))?;
        if kind == "registrar" {
            text = text.replace("[gaiji]\n", &format!("[gaiji]\n{gaiji}\n"));
        }
        std::fs::write(to.join(format!("{kind}.toml")), text)?;
    }
    Ok(())
}

/// The plan's actions for one ECS-ID: (kind, review reason, the names it changes to).
fn actions_for(plan: &str, ecs_id: &str) -> Vec<(String, String, Vec<String>)> {
    plan.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim_end_matches(',')).ok())
        .filter(|a| a["ecs_id"] == ecs_id)
        .map(|a| {
            let names = a["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["field"] == "name")
                .map(|c| c["to"].as_str().unwrap_or_default().to_string())
                .collect();
            (
                a["kind"].as_str().unwrap_or_default().to_string(),
                a["review"].as_str().unwrap_or_default().to_string(),
                names,
            )
        })
        .collect()
}

#[test]
fn gaiji_is_warned_at_its_cell_mapped_by_the_profile_and_an_unmapped_name_change_is_reviewed()
-> crate::common::Result {
    use crate::common::{imported, ok, regsync, write};
    let dir = imported(Some("[policy]\nguard_share = 0.5\n"), &[]);
    write(&dir.path().join("reg.csv"), with_gaiji()?);
    let r = ok(regsync(dir.path(), &["check", "reg.csv"], &[])?)?;
    assert!(
        r.stdout.contains("reg.csv:7:4(氏名): 警告 warning: 「\u{E000}木　悠真」に外字（私用領域の文字 U+E000）があり"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "private-use characters (U+E000) that the profile's [gaiji] table does not map"
        ),
        "{}",
        r.stdout
    );
    ok(regsync(
        dir.path(),
        &["plan", "--as-of", "2026-04-02", "--out", "p", "reg.csv"],
        &[],
    )?)?;
    let plan = std::fs::read_to_string(dir.path().join("p/plan.json"))?;
    assert_eq!(
        actions_for(&plan, "a0241537"),
        [("review".to_string(), "unmapped_gaiji".to_string(), vec![])],
        "{plan}"
    );

    // A profile that maps U+E000 to 髙 reads the name as 髙木　悠真: a plain change of name.
    mappings_with(dir.path(), "\"U+E000\" = \"髙\"")?;
    write(
        &dir.path().join("regsync.toml"),
        "[paths]\nmappings = \"mappings\"\n[policy]\nguard_share = 0.5\n",
    );
    let r = ok(regsync(dir.path(), &["check", "reg.csv"], &[])?)?;
    assert!(!r.stdout.contains("U+E000"), "{}", r.stdout);
    ok(regsync(
        dir.path(),
        &["plan", "--as-of", "2026-04-02", "--out", "q", "reg.csv"],
        &[],
    )?)?;
    let plan = std::fs::read_to_string(dir.path().join("q/plan.json"))?;
    assert_eq!(
        actions_for(&plan, "a0241537"),
        [(
            "update".to_string(),
            String::new(),
            vec!["髙木　悠真".to_string()]
        )],
        "{plan}"
    );
    Ok(())
}
