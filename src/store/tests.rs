use super::*;

#[test]
fn ecs_id_serial_reads_only_the_standard_shape() {
    for (id, want) in [
        ("a0106210", Some(106_210)),
        ("a0000000", Some(0)),
        ("a0999999", Some(999_999)),
        ("a010621", None),
        ("a01062100", None),
        ("b0106210", None),
        ("a0１06210", None),
        ("", None),
    ] {
        assert_eq!(ecs_id_serial(id), want, "{id}");
    }
}

#[test]
fn serial_after_is_one_past_the_highest() {
    assert_eq!(serial_after([]), 0);
    assert_eq!(serial_after(["a0000009", "x", "a0000002"]), 10);
}

#[test]
fn parse_iso_matches_chrono() {
    for s in ["2026-04-01", "2024-02-29", "1999-12-31"] {
        assert_eq!(
            parse_iso(s),
            NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            "{s}"
        );
    }
    for s in [
        "2025-02-29",
        "2026-4-01",
        "2026/04/01",
        "20260401",
        "2026-13-01",
    ] {
        assert_eq!(parse_iso(s), None, "{s}");
    }
}

#[test]
fn hex_is_lowercase_two_digits_per_byte() {
    assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn next_serial_never_decreases() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Random(e.to_string()))?;
    let store = Store::open(&dir.path().join("s.sqlite"))?;
    let tx = store.conn.unchecked_transaction()?;
    raise_next_serial(&tx, 500)?;
    raise_next_serial(&tx, 20)?;
    assert_eq!(next_serial_of(&tx)?, 500);
    // Even a direct write cannot lower it: the schema's trigger refuses.
    let lowered = tx.execute(
        "UPDATE counters SET value = 1 WHERE name = 'next_serial'",
        [],
    );
    assert!(lowered.is_err());
    assert_eq!(next_serial_of(&tx)?, 500);
    Ok(())
}

#[test]
fn uuid_is_version_4() -> Result<(), StoreError> {
    let u = new_uuid()?;
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
    assert_ne!(u, new_uuid()?);
    Ok(())
}
