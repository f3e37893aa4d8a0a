//! What an operator meets around the nightly job: the letters as Excel files, a closed pipe,
//! logs without colour codes in a file, and each command's help.

use calamine::{Data, Reader, Xlsx, open_workbook};

use crate::common::{NIGHT_0402, Result, drop_in, imported, regsync, root};

#[test]
fn the_nights_letters_are_also_workbooks_whose_cells_equal_the_csv() -> Result {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = imported(Some("[policy]\nguard_share = 0.5\n"), &[]);
    drop_in(dir.path(), &NIGHT_0402);
    let r = regsync(dir.path(), &["run", "--as-of", "2026-04-02"], &[])?;
    assert!(matches!(r.code, Some(0 | 5)), "{}{}", r.stdout, r.stderr);
    let letters = std::fs::read_dir(dir.path().join("reports"))?
        .filter_map(|e| e.ok().map(|e| e.path().join("letters")))
        .find(|p| p.is_dir())
        .ok_or("no letters")?;
    let mut workbooks = 0;
    for entry in std::fs::read_dir(&letters)? {
        let path = entry?.path();
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o600,
            "{}",
            path.display()
        );
        if path.extension().is_none_or(|e| e != "xlsx") {
            continue;
        }
        workbooks += 1;
        let csv_text = std::fs::read_to_string(path.with_extension("csv"))?;
        let mut rdr = csv::Reader::from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
        let csv_rows: Vec<csv::StringRecord> =
            rdr.records().collect::<std::result::Result<_, _>>()?;
        let mut book: Xlsx<_> = open_workbook(&path)?;
        let range = book.worksheet_range("letters")?;
        assert_eq!(range.height(), csv_rows.len() + 1);
        for (i, rec) in csv_rows.iter().enumerate() {
            let r = i as u32 + 1;
            // 学籍番号, ECS-ID and the key: the same text, leading zeros and all.
            for c in [1u32, 4, 6] {
                assert_eq!(
                    range.get_value((r, c)),
                    Some(&Data::String(rec[c as usize].to_string())),
                    "{}:{r}:{c}",
                    path.display()
                );
            }
        }
    }
    assert!(workbooks > 0);
    Ok(())
}

#[test]
fn a_closed_pipe_ends_quietly() -> Result {
    // The JSON export of the sample accounts is larger than a pipe holds, so `head` closes it
    // while regsync is still writing.
    let dir = imported(None, &[]);
    let bin = assert_cmd::cargo::cargo_bin("regsync");
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' accounts export --format json | head -c 10 >/dev/null",
            bin.display()
        ))
        .current_dir(dir.path())
        .output()?;
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(o.status.code(), Some(0));
    Ok(())
}

#[test]
fn logs_in_a_file_have_no_colour_codes_and_import_draws_no_progress() -> Result {
    let dir = imported(None, &[]);
    let files: Vec<String> = NIGHT_0402
        .iter()
        .map(|f| root().join(f).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["plan", "--as-of", "2026-04-02"];
    args.extend(files.iter().map(String::as_str));
    let r = regsync(dir.path(), &args, &[("REGSYNC_LOG", "info")])?;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("reports written"), "{}", r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);

    // Not a terminal: the import's progress draws nothing at all.
    let fresh = tempfile::tempdir()?;
    let accounts = root().join("samples/accounts.csv");
    let r = regsync(
        fresh.path(),
        &["accounts", "import", &accounts.to_string_lossy()],
        &[],
    )?;
    assert_eq!(r.code, Some(0));
    assert_eq!(r.stderr, "");
    assert!(!r.stdout.contains('\r') && !r.stdout.contains('\u{1b}'));
    Ok(())
}

#[test]
fn help_has_examples_exit_codes_and_the_log_variable() -> Result {
    let dir = tempfile::tempdir()?;
    let main = regsync(dir.path(), &["--help"], &[])?;
    assert!(main.stdout.contains("REGSYNC_LOG"), "{}", main.stdout);
    for cmd in ["run", "apply", "check"] {
        let r = regsync(dir.path(), &[cmd, "--help"], &[])?;
        assert_eq!(r.code, Some(0));
        assert!(
            r.stdout.contains(&format!("  regsync {cmd} ")),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("Exit codes:"), "{}", r.stdout);
    }
    let r = regsync(dir.path(), &["run", "--help"], &[])?;
    assert!(
        r.stdout
            .contains("4  refused: the mass-change guard tripped")
    );
    Ok(())
}
