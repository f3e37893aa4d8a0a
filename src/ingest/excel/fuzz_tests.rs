//! Mutated workbooks: whatever a few changed or cut bytes do to a real `.xls`, to the XML
//! inside a real `.xlsx`, or to the records inside an `.xlsb` (made by
//! [`crate::testing::xlsb`]), reading it ends with rows or a diagnostic, never a panic, and never
//! allocates in proportion to what the damaged file claims (a claim beyond the limits is
//! rejected before calamine lays out its cells).
#![expect(clippy::expect_used, reason = "the samples are known good")]

use std::io::{Cursor, Read as _};

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
    crate::testing::xlsb::zipped(parts).expect("the parts zip")
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

/// The parts of a registrar `.xlsb` of a few students.
fn xlsb_parts() -> Vec<(String, Vec<u8>)> {
    crate::testing::xlsb::parts("在籍者", &crate::testing::xlsb::registrar(4))
}

#[test]
fn the_undamaged_samples_are_read() {
    let xlsb = rezip(&xlsb_parts());
    for (name, bytes) in [("xls", XLS), ("xlsx", XLSX), ("xlsb", &xlsb)] {
        let out = read(bytes.to_vec());
        assert!(out.rows > 0, "{name}: {:?}", out.diagnostics);
    }
    // The round trip through `unzip` and `rezip` keeps the workbook readable.
    assert!(read(rezip(&unzip(XLSX))).rows > 0);
}

/// A date cell whose serial lies far outside Excel's dates is a number to the mapper (an error
/// at the cell where a date belongs), never a panic in the conversion.
#[test]
fn a_date_cell_far_outside_excels_dates_is_a_number() {
    use calamine::{Data, ExcelDateTime, ExcelDateTimeType};
    for (value, date) in [
        (45017.0, chrono::NaiveDate::from_ymd_opt(2023, 4, 1)),
        (2_958_465.0, chrono::NaiveDate::from_ymd_opt(9999, 12, 31)),
        (1e20, None),
        (-1e20, None),
        (f64::MAX, None),
        (f64::NAN, None),
    ] {
        for is_1904 in [false, true] {
            let d = Data::DateTime(ExcelDateTime::new(
                value,
                ExcelDateTimeType::DateTime,
                is_1904,
            ));
            let got = super::cell(&d);
            match date {
                Some(date) if !is_1904 => assert_eq!(got, super::Cell::Date(date)),
                Some(_) => assert!(matches!(got, super::Cell::Date(_)), "{value}: {got:?}"),
                None => assert!(matches!(got, super::Cell::Number(_)), "{value}: {got:?}"),
            }
        }
    }
}

/// Damage the fuzzing found (20,000 cases a run): a few bytes in the compound file's sectors,
/// after which calamine still pieced a workbook stream together and laid out cells over 7 to
/// 73 GB, aborting the process. The structure cannot be followed by the check, so the file is
/// rejected before calamine opens it.
#[test]
fn a_damaged_xls_whose_structure_cannot_be_followed_is_rejected_before_it_is_read() {
    let cases: [&[(usize, u8)]; 1] = [&[
        (1036, 88),
        (6693, 18),
        (4376, 54),
        (3782, 253),
        (9494, 57),
        (8764, 51),
        (8491, 203),
        (2822, 11),
        (3400, 63),
    ]];
    let limits = crate::ingest::profile::Limits::default();
    for writes in cases {
        let bytes = damaged(XLS, writes, None);
        let err = super::check(&bytes, &limits).err().map(|d| d.en);
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("its structure cannot be followed")),
            "{writes:?}: {err:?}"
        );
        assert!(read(bytes).mapped.is_none());
    }
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
    fn an_xlsb_with_damaged_records_is_read_or_rejected(
        part in any::<usize>(),
        writes in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12),
        cut in prop::option::weighted(0.1, any::<usize>()),
    ) {
        let mut parts = xlsb_parts();
        let bin: Vec<usize> = (0..parts.len())
            .filter(|&i| parts[i].0.ends_with(".bin"))
            .collect();
        let i = bin[part % bin.len()];
        parts[i].1 = damaged(&parts[i].1, &writes, cut);
        read(rezip(&parts));
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
