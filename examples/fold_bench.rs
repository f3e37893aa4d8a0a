//! Old vs new name folds, in ns per call: the NFKC-every-time `fold_key`/`fold_kana_key` that
//! were there before the fast path (kept in `src/domain/text/reference.rs`) against today's, both
//! the allocating form and `_into` with one reused buffer, the way a 1M-row nightly plan calls
//! them.
//!
//! Run: `cargo run --release --example fold_bench [rows]` (default 1 000 000 rows).

use std::hint::black_box;
use std::time::Instant;

use regsync::domain::text::{fold_kana_key, fold_kana_key_into, fold_key, fold_key_into};
use regsync::testing::XorShift;

#[path = "../src/domain/text/reference.rs"]
mod reference;

use reference::{reference_fold_kana_key, reference_fold_key};

/// What registrar name cells look like: kanji with an ideographic or ASCII space, readings in
/// full-width katakana, hiragana or half-width katakana (voiced marks and all), romaji, and a
/// few that need the exact NFKC fold (a compatibility ideograph, a spacing voiced mark).
const NAMES: &[&str] = &[
    "山田\u{3000}太郎",
    "ヤマダ\u{3000}タロウ",
    "ﾔﾏﾀﾞ ﾀﾛｳ",
    "やまだ たろう",
    "佐々木\u{3000}花子",
    "ササキ ハナコ",
    "ｻｻｷ ﾊﾅｺ",
    "髙橋 一郎",
    "タカハシ\u{3000}イチロウ",
    "\u{20BB7}野\u{3000}美咲",
    "ジョン・スミス",
    "SMITH John",
    "ＫＩＭ\u{3000}Ｍｉｎｓｕ",
    "渡邊 健太",
    "ﾜﾀﾅﾍﾞ ｹﾝﾀ",
    "山\u{FA11}\u{3000}大輔",
];

/// A fixed xorshift64* stream, so every run folds the same rows.
fn rows(n: usize) -> Vec<String> {
    let mut rng = XorShift::star(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|_| {
            let pick = rng.next_u64() >> 33;
            let k = usize::try_from(pick).unwrap_or(0) % NAMES.len();
            NAMES.get(k).copied().unwrap_or_default().to_owned()
        })
        .collect()
}

/// Best of three runs over all rows, in ns per call.
fn time(rows: &[String], mut f: impl FnMut(&str) -> usize) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        let mut total = 0_usize;
        for r in rows {
            total = total.wrapping_add(f(black_box(r)));
        }
        black_box(total);
        let ns = start.elapsed().as_secs_f64() * 1e9;
        best = best.min(ns);
    }
    best / rows.len() as f64
}

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000_usize);
    let rows = rows(n);
    for r in &rows[..NAMES.len().min(rows.len())] {
        assert_eq!(fold_key(r), reference_fold_key(r), "{r}");
        assert_eq!(fold_kana_key(r), reference_fold_kana_key(r), "{r}");
    }
    println!(
        "{n} mixed names ({} distinct), ns/call, best of 3:",
        NAMES.len()
    );
    let mut buf = String::new();
    let old = time(&rows, |s| reference_fold_key(s).len());
    let new = time(&rows, |s| fold_key(s).len());
    let into = time(&rows, |s| {
        fold_key_into(s, &mut buf);
        buf.len()
    });
    println!(
        "fold_key       old {old:7.1}   new {new:7.1}   new _into {into:7.1}   ({:.1}x / {:.1}x)",
        old / new,
        old / into
    );
    let old = time(&rows, |s| reference_fold_kana_key(s).len());
    let new = time(&rows, |s| fold_kana_key(s).len());
    let into = time(&rows, |s| {
        fold_kana_key_into(s, &mut buf);
        buf.len()
    });
    println!(
        "fold_kana_key  old {old:7.1}   new {new:7.1}   new _into {into:7.1}   ({:.1}x / {:.1}x)",
        old / new,
        old / into
    );

    println!("\nper name, fold_kana_key, ns/call (old / new _into):");
    let per_name = (n / 10).max(1);
    for name in NAMES {
        let same = vec![(*name).to_owned(); per_name];
        let old = time(&same, |s| reference_fold_kana_key(s).len());
        let into = time(&same, |s| {
            fold_kana_key_into(s, &mut buf);
            buf.len()
        });
        println!("  {old:7.1} / {into:6.1}   {name}");
    }
}
