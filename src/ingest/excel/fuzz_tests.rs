//! Mutated workbooks: whatever a few changed or cut bytes do to a real `.xls`, or to the XML
//! inside a real `.xlsx`, reading it ends with rows or a diagnostic, never a panic, and never
//! allocates in proportion to what the damaged file claims (a claim beyond the limits is
//! rejected before calamine lays out its cells).
#![expect(clippy::expect_used, reason = "the samples are known good")]

use std::io::{Cursor, Read as _, Write as _};

use proptest::prelude::*;

use crate::ingest::profile::Profiles;

const XLS: &[u8] = include_bytes!("../../../tests/data/xls/registrar-small.xls");
const XLSX: &[u8] = include_bytes!("../../../samples/registrar-2026-04-02.xlsx");

/// Numbers a damaged file is likely to carry where a row, a column, a count or a length goes.
const NUMBERS: [&str; 8] = [
    "0",
    "65536",
    "1048576",
    "2147483647",
    "4294967295",
    "4294967296",
    "99999999999999999999",
    "-1",
];

/// `base` with each `(at, byte)` written at `at` modulo its length, then cut at `cut` modulo
/// its length when given.
fn damaged(base: &[u8], writes: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for &(at, b) in writes {
        let n = bytes.len();
        bytes[at % n] = b;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut % base.len());
    }
    bytes
}

/// The parts of a zip archive, by name, in order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("the sample is a zip archive");
    (0..zip.len())
        .map(|i| {
            let mut part = zip.by_index(i).expect("a part of the sample");
            let mut data = Vec::new();
            part.read_to_end(&mut data).expect("the part reads");
            (part.name().expect("a part name").to_string(), data)
        })
        .collect()
}

fn rezip(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, data) in parts {
        zip.start_file(name.as_str(), options)
            .expect("a part starts");
        zip.write_all(data).expect("a part is written");
    }
    zip.finish().expect("the archive ends").into_inner()
}

/// `xml` with the digit run found at or after each `at` replaced by one of [`NUMBERS`].
fn renumbered(xml: &[u8], edits: &[(usize, usize)]) -> Vec<u8> {
    let mut out = xml.to_vec();
    for &(at, which) in edits {
        let from = at % out.len();
        let Some(start) = out[from..]
            .iter()
            .position(u8::is_ascii_digit)
            .map(|i| from + i)
        else {
            continue;
        };
        let end = out[start..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(out.len(), |i| start + i);
        out.splice(start..end, NUMBERS[which % NUMBERS.len()].bytes());
    }
    out
}

fn read(bytes: Vec<u8>) -> crate::ingest::Outcome {
    let profiles = Profiles::builtin().expect("the built-in profiles load");
    super::read(bytes, 0, &profiles)
}

#[test]
fn the_undamaged_samples_are_read() {
    for (name, bytes) in [("xls", XLS), ("xlsx", XLSX)] {
        let out = read(bytes.to_vec());
        assert!(out.rows > 0, "{name}: {:?}", out.diagnostics);
    }
    // The round trip through `unzip` and `rezip` keeps the workbook readable.
    assert!(read(rezip(&unzip(XLSX))).rows > 0);
}

proptest! {
    // 256 cases each; PROPTEST_CASES=20000 for a longer campaign.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_damaged_xls_is_read_or_rejected(
        writes in prop::collection::vec((any::<usize>(), any::<u8>()), 1..24),
        cut in prop::option::weighted(0.2, any::<usize>()),
    ) {
        // Fails on a panic, or on an abort of the test process.
        read(damaged(XLS, &writes, cut));
    }

    #[test]
    fn an_xlsx_with_damaged_xml_is_read_or_rejected(
        part in any::<usize>(),
        writes in prop::collection::vec((any::<usize>(), 0x20u8..0x7f), 0..8),
        edits in prop::collection::vec((any::<usize>(), any::<usize>()), 0..6),
        cut in prop::option::weighted(0.1, any::<usize>()),
    ) {
        let mut parts = unzip(XLSX);
        let xml: Vec<usize> = (0..parts.len())
            .filter(|&i| parts[i].0.ends_with(".xml"))
            .collect();
        let i = xml[part % xml.len()];
        let data = renumbered(&parts[i].1, &edits);
        parts[i].1 = damaged(&data, &writes, cut);
        read(rezip(&parts));
    }
}
