//! The architecture's rules, checked on the source (as rust-analyzer's tidy tests do). Data
//! flows one way, files → typed records → plan → (apply) → store + outbox → mail, and no module
//! reaches back up that chain; the core (`domain`) takes no new outside crate. Unit tests
//! (`#[cfg(test)]` modules and test files) may use anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::Result;

/// The crate's top-level modules each module may use (`crate::NAME`). Leaves first, then the
/// chain, then what orchestrates it.
const MAY_USE: &[(&str, &[&str])] = &[
    ("digest", &[]),
    ("fault", &[]),
    ("formula", &[]),
    ("private", &[]),
    ("xlsx", &[]),
    ("domain", &[]),
    ("metrics", &["domain", "private"]),
    ("ingest", &["digest", "domain", "formula"]),
    ("triage", &["domain", "ingest", "metrics"]),
    // `triage`: the store keeps each account's triage facts in a column of its own and reads
    // them back for the planner (`store::keys`); the column's encoding is triage's.
    ("store", &["digest", "domain", "fault", "private", "triage"]),
    (
        "report",
        &["domain", "formula", "ingest", "private", "xlsx"],
    ),
    (
        "apply",
        &[
            "digest", "domain", "fault", "formula", "mail", "private", "store", "xlsx",
        ],
    ),
    ("mail", &["digest", "domain", "private", "store"]),
    (
        "directory",
        &["digest", "domain", "fault", "report", "store"],
    ),
    (
        "config",
        &["directory", "domain", "ingest", "mail", "private"],
    ),
    (
        "night",
        &[
            "apply",
            "config",
            "digest",
            "directory",
            "domain",
            "fault",
            "ingest",
            "mail",
            "metrics",
            "private",
            "report",
            "store",
            "triage",
        ],
    ),
    ("testing", &["apply", "domain", "ingest", "store", "triage"]),
    // The command line sits on top of everything.
    ("cli", &[ANY]),
];

/// The outside crates the core uses. Issue 15 asks for the standard library and rayon only;
/// the others are here until that is decided, and no new one joins them unnoticed.
const DOMAIN_CRATES: &[&str] = &[
    "chrono",
    "compact_str",
    "rayon",
    "rustc_hash",
    "serde",
    "thiserror",
    "unicode_normalization",
    "wana_kana",
];

/// In [`MAY_USE`]: every module.
const ANY: &str = "*";

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The `.rs` files under `dir` (or the file `dir.rs`), unit-test files left out.
fn sources(module: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "tests" {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    let file = src().join(format!("{module}.rs"));
    if file.is_file() {
        out.push(file);
    }
    walk(&src().join(module), &mut out);
    out.sort();
    out
}

/// The lines of `text` that are code: comments and `#[cfg(test)]` items (a module up to its
/// closing brace at the start of a line, or the one line after the attribute) left out.
fn code_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed == "#[cfg(test)]" {
            let indent = line.len() - trimmed.len();
            // Further attributes (each over one line or several), then the item.
            let mut open = 0i32;
            let item = lines.by_ref().find(|l| {
                let at_item = open == 0 && !l.trim_start().starts_with("#[");
                open += l.matches('[').count() as i32 - l.matches(']').count() as i32;
                at_item
            });
            if item.is_some_and(|l| l.trim_end().ends_with('{')) {
                let close = format!("{}}}", " ".repeat(indent));
                lines.by_ref().find(|l| l.trim_end() == close);
            }
            continue;
        }
        out.push(line);
    }
    out
}

/// Every `prefixNAME` on the code lines of `module`'s files: `NAME` (the path segment after
/// the prefix, empty for a `{` group), with where it was found.
fn uses(module: &str, prefix: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for path in sources(module) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let shown = path
            .strip_prefix(src())
            .unwrap_or(&path)
            .display()
            .to_string();
        for line in code_lines(&text) {
            let mut rest = line;
            while let Some(at) = rest.find(prefix) {
                let boundary = rest[..at]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                rest = &rest[at + prefix.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if boundary {
                    found.push((name, format!("src/{shown}: {}", line.trim())));
                }
            }
        }
    }
    found
}

#[test]
fn modules_use_only_what_is_upstream_of_them() -> Result {
    let listed: BTreeSet<&str> = MAY_USE.iter().map(|(m, _)| *m).collect();
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(src())? {
        let name = entry?.file_name();
        let module = name.to_string_lossy().trim_end_matches(".rs").to_string();
        if !matches!(module.as_str(), "lib" | "main") && !listed.contains(module.as_str()) {
            wrong.push(format!("src/{module}: not in MAY_USE; say what it may use"));
        }
    }
    for (module, may) in MAY_USE {
        for (used, at) in uses(module, "crate::") {
            if used.is_empty() {
                wrong.push(format!(
                    "{module}: one `crate::` path per module, not a group: {at}"
                ));
            } else if used != *module && !may.contains(&used.as_str()) && !may.contains(&ANY) {
                wrong.push(format!("{module} uses {used}: {at}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "modules reaching back up the chain (files → records → plan → apply → store + \
         outbox → mail; see ARCHITECTURE.md):\n{}",
        wrong.join("\n")
    );
    Ok(())
}

#[test]
fn the_core_takes_no_new_outside_crate() -> Result {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))?;
    // The names under [dependencies], as code spells them.
    let crates: BTreeSet<String> = manifest
        .split("\n[")
        .find(|s| s.starts_with("dependencies]"))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().replace('-', "_")))
        .filter(|k| !k.is_empty() && !k.starts_with('#'))
        .collect();
    assert!(
        crates.contains("chrono") && crates.contains("rayon"),
        "{crates:?}"
    );
    let mut wrong = Vec::new();
    for krate in &crates {
        if DOMAIN_CRATES.contains(&krate.as_str()) {
            continue;
        }
        for (_, at) in uses("domain", &format!("{krate}::")) {
            wrong.push(format!("{krate}: {at}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "the core uses outside crates:\n{}",
        wrong.join("\n")
    );
    Ok(())
}

#[test]
fn code_lines_leave_out_comments_and_unit_tests() {
    let text = "use crate::a;\n// crate::b\n#[cfg(test)]\n#[expect(\n    x,\n)]\nmod tests {\n    use crate::c;\n}\n\
                #[cfg(test)]\nuse crate::d;\nfn f() {\n    #[cfg(test)]\n    mod inner {\n        \
                use crate::e;\n    }\n    crate::f();\n}\n";
    assert_eq!(
        code_lines(text),
        ["use crate::a;", "fn f() {", "    crate::f();", "}"]
    );
}
