#![expect(clippy::unwrap_used)]

use super::keys::*;
use super::select::take_back;
use super::sift::Sifter;
use crate::domain::account::Account;
use crate::domain::model::Enrollment;
use crate::domain::model::{RegistrarRow, Status, StudentNo};
use crate::domain::rules::Inputs;
use crate::domain::rules::tests::{account, row};
use crate::ingest::{QuietRows, Sift, Sifted};
use chrono::NaiveDate;

/// Keys of the accounts, in ECS-ID order.
fn keys_of(accounts: &[Account]) -> Keys {
    let mut part = KeysPart::default();
    let mut scratch = Scratch::default();
    for a in accounts {
        part.push(
            a.ecs_id.as_str(),
            a.person_id.as_ref().map(|p| p.as_str()),
            Facts::of(a, &mut scratch),
            a.student_nos.iter().map(|s| s.as_str()),
        );
    }
    Keys::from_parts(vec![part], 0, String::new())
}

fn enrolled(n: u32, person: &str, no: &str) -> RegistrarRow {
    row(
        n,
        person,
        no,
        Status::Undergraduate,
        Enrollment::Enrolled,
        None,
    )
}

#[test]
fn an_unchanged_row_is_held_only_when_its_account_has_an_earlier_number() {
    let keys = keys_of(&[
        account("a0000001", "P1", &["S1"], Status::Undergraduate),
        account("a0000002", "P2", &["B2", "S2"], Status::Undergraduate),
    ]);
    let sifter = Sifter::new(&keys);
    let cases = [
        (enrolled(2, "P1", "S1"), Sifted::Quiet(0)),
        (enrolled(3, "P2", "S2"), Sifted::Held(1)),
        // The earlier number is not the account's current one: the rules act on it.
        (enrolled(4, "P2", "B2"), Sifted::Keep),
        (
            row(
                5,
                "P2",
                "B2",
                Status::Undergraduate,
                Enrollment::Graduated,
                Some("2026-03-31"),
            ),
            Sifted::Keep,
        ),
    ];
    for (r, want) in cases {
        assert_eq!(sifter.sift(&r), want, "row {}", r.at.row);
    }
    // Kept whatever the account when the first read found it mixed.
    let except = Sifter::except(&keys, [1]);
    assert_eq!(except.sift(&enrolled(3, "P2", "S2")), Sifted::Keep);
}

/// `Sifter::sift_all` (the rows' lookups a batch at a time) and `Sifting::run` (a batch taken
/// in) give what `sift` and `QuietRows::sift` give row by row: rows of 60 accounts, quiet,
/// held, changed, unknown, with an ECS-ID that names the account or another, more than one
/// lookup batch of them.
#[test]
fn sifting_a_batch_gives_what_sifting_row_by_row_gives() {
    let accounts: Vec<Account> = (0..60)
        .map(|i| {
            let ecs = format!("a0{:06}", i + 1);
            let (now, earlier) = (format!("S{i}"), format!("B{i}"));
            let numbers: Vec<&str> = if i % 7 == 0 {
                vec![&earlier, &now]
            } else {
                vec![&now]
            };
            account(&ecs, &format!("P{i}"), &numbers, Status::Undergraduate)
        })
        .collect();
    let keys = keys_of(&accounts);
    let rows: Vec<RegistrarRow> = (0..150u32)
        .map(|n| {
            let i = (n * 37) % 70;
            let mut r = match n % 5 {
                0 => row(
                    n,
                    &format!("P{i}"),
                    &format!("S{i}"),
                    Status::Undergraduate,
                    Enrollment::Graduated,
                    Some("2026-03-31"),
                ),
                1 => enrolled(n, &format!("P{i}"), &format!("B{i}")),
                _ => enrolled(n, &format!("P{i}"), &format!("S{i}")),
            };
            if n % 3 == 0 {
                r.ecs_id = Some(crate::domain::model::EcsId::new(&format!(
                    "a0{:06}",
                    i % 61 + 1
                )));
            }
            r
        })
        .collect();
    for sifter in [Sifter::new(&keys), Sifter::except(&keys, [3, 14])] {
        let one_by_one: Vec<Sifted> = rows.iter().map(|r| sifter.sift(r)).collect();
        assert!(one_by_one.iter().any(|s| matches!(s, Sifted::Quiet(_))));
        assert!(one_by_one.iter().any(|s| matches!(s, Sifted::Held(_))));
        assert!(one_by_one.contains(&Sifted::Keep));
        let mut at_once = vec![Sifted::Keep];
        sifter.sift_all(&rows, &mut at_once);
        assert_eq!(at_once[1..], one_by_one[..]);

        let (mut row_by_row, mut kept) = (QuietRows::default(), Vec::new());
        for (r, &s) in rows[10..].iter().zip(&one_by_one[10..]) {
            kept.extend(row_by_row.sift(s, r.clone()));
        }
        let (mut batched, mut rest) = (QuietRows::default(), rows[..10].to_vec());
        rest.extend(rows[10..].iter().cloned());
        crate::ingest::Sifting::default().run(&sifter, &mut rest, 10, &mut batched);
        assert_eq!(rest[..10], rows[..10]);
        assert_eq!(rest[10..], kept[..]);
        let held = |q: &QuietRows| -> Vec<(Slot, u32)> {
            q.held.iter().map(|(s, r)| (*s, r.at.row)).collect()
        };
        assert_eq!(batched.slots, row_by_row.slots);
        assert_eq!(held(&batched), held(&row_by_row));
    }
}

#[test]
fn held_rows_of_mixed_slots_come_back_in_file_order() {
    let mut quiet = QuietRows::default();
    for (slot, n, sifted) in [
        (0, 2, Sifted::Held(0)),
        (1, 3, Sifted::Quiet(1)),
        (2, 5, Sifted::Held(2)),
        (1, 6, Sifted::Held(1)),
        (3, 8, Sifted::Held(3)),
    ] {
        let r = enrolled(n, "P", &format!("S{slot}"));
        assert!(quiet.sift(sifted, r).is_none());
    }
    assert!(quiet.sift(Sifted::Keep, enrolled(9, "P", "K")).is_some());
    let mut inputs = Inputs {
        registrar: [4, 7].map(|n| enrolled(n, "P", "K")).to_vec(),
        ..Inputs::default()
    };
    // Slot 1 had a quiet row dropped (row 3): it stays mixed, its held row stays held.
    let taken = take_back(&mut inputs, &mut quiet, &[0, 1, 3]);
    assert_eq!(taken, 2);
    let rows: Vec<u32> = inputs.registrar.iter().map(|r| r.at.row).collect();
    assert_eq!(rows, [2, 4, 7, 8]);
    assert_eq!(quiet.slots, [1, 2, 1]);
    let held: Vec<(Slot, u32)> = quiet.held.iter().map(|(s, r)| (*s, r.at.row)).collect();
    assert_eq!(held, [(2, 5), (1, 6)]);
    assert_eq!(take_back(&mut inputs, &mut quiet, &[1]), 0);
    assert_eq!(inputs.registrar.len(), 4);
}

proptest::proptest! {
    #[test]
    fn the_fenced_search_finds_what_a_binary_search_finds(
        mut sorted in proptest::collection::vec(0u16..400, 0..700),
        key in 0u16..410,
    ) {
        sorted.sort_unstable();
        let fenced = partition_fenced(&sorted, &fences(&sorted), |x| *x < key);
        proptest::prop_assert_eq!(fenced, sorted.partition_point(|x| *x < key));
    }

    /// The flat table of an [`IdMap`] finds what a `HashMap` of the same entries finds: each
    /// key's distinct slots in the order they came, one or many, and nothing for other keys.
    /// Keys from a few small numbers (held twice, in clusters) and from all of `u64`.
    #[test]
    fn an_id_map_finds_what_a_hash_map_finds(
        entries in proptest::collection::vec(
            (proptest::prop_oneof![1u64..40, 1u64..=u64::MAX], 0u32..50),
            0..300,
        ),
        others in proptest::collection::vec(1u64..=u64::MAX, 0..20),
    ) {
        let entries: Vec<(IdKey, Slot)> = entries.into_iter().map(|(k, s)| (IdKey(k), s)).collect();
        let mut reference: std::collections::HashMap<IdKey, Vec<Slot>> = Default::default();
        for &(k, s) in &entries {
            let slots = reference.entry(k).or_default();
            if !slots.contains(&s) {
                slots.push(s);
            }
        }
        let map = IdMap::build(&entries);
        for k in entries.iter().map(|e| e.0).chain(others.into_iter().map(IdKey)) {
            let expected = match reference.get(&k).map(Vec::as_slice) {
                None => Found::None,
                Some([s]) => Found::One(*s),
                Some(slots) => Found::Many(slots),
            };
            proptest::prop_assert_eq!(map.get_key(k), expected, "{:?}", k);
        }
    }
}

#[test]
fn every_ecs_id_finds_its_slot_and_no_other_id_finds_one() {
    let accounts: Vec<Account> = (0..300)
        .map(|i| {
            let ecs = format!("a0{:06}", 3 * i + 1);
            account(
                &ecs,
                &format!("P{i}"),
                &[&format!("S{i}")],
                Status::Undergraduate,
            )
        })
        .collect();
    let keys = keys_of(&accounts);
    for (slot, a) in accounts.iter().enumerate() {
        assert_eq!(keys.by_ecs_id(a.ecs_id.as_str()), Some(slot as Slot));
    }
    for missing in ["a0000000", "a0000002", "a0000899", "a0000901", "b", ""] {
        assert_eq!(keys.by_ecs_id(missing), None, "{missing}");
    }
}

#[test]
fn quiet_rows_of_later_chunks_move_down_their_rows() {
    let mut all = QuietRows::default();
    let mut chunk = QuietRows::default();
    chunk.sift(Sifted::Held(4), enrolled(2, "P", "S"));
    chunk.sift(Sifted::Quiet(5), enrolled(3, "P", "T"));
    all.append(&mut chunk, 100);
    assert!(chunk.is_empty() && chunk.held.is_empty());
    assert_eq!(all.slots, [4, 5]);
    assert_eq!(all.held[0].1.at.row, 102);
}

#[test]
fn id_keys_are_exact_for_registry_identifiers() {
    let ids = [
        "0",
        "00",
        "000",
        "123",
        "0123",
        "00123",
        "12345678",
        "012345678901234567",
        "a0",
        "a0123456",
        "a0123457",
        "A0123456",
        "24A1234",
        "24A12345",
        "x",
        "",
    ];
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            assert_ne!(IdKey::of(a), IdKey::of(b), "{a} vs {b}");
        }
    }
    // Long or non-ASCII identifiers are hashed, and marked so.
    assert_eq!(IdKey::of("学籍1").0 & IdKey::HASHED, IdKey::HASHED);
    assert_eq!(
        IdKey::of("123456789012345678").0 & IdKey::HASHED,
        IdKey::HASHED
    );
    assert_ne!(IdKey::of("a0123456").0 & IdKey::HASHED, IdKey::HASHED);
}

#[test]
fn an_identifier_held_twice_maps_to_both_accounts() {
    let map = IdMap::build(&[
        (IdKey::of("1"), 0),
        (IdKey::of("2"), 1),
        (IdKey::of("1"), 2),
    ]);
    assert_eq!(map.get("1"), Found::Many(&[0, 2]));
    assert_eq!(map.get("2"), Found::One(1));
    assert_eq!(map.get("3"), Found::None);
}

#[test]
fn facts_round_trip_through_bytes() {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    for f in [
        Facts::default(),
        Facts {
            fp: Some(u128::MAX - 7),
            kana_birth: 42,
            due_from: Some(d("2026-06-30")),
            flags: Facts::PLAIN_STUDENT | Facts::NOT_STOPPED,
        },
        Facts {
            fp: Some(0),
            kana_birth: 0,
            due_from: Some(NaiveDate::MIN),
            flags: 0,
        },
    ] {
        assert_eq!(Facts::from_bytes(&f.to_bytes()), Some(f));
    }
    assert_eq!(Facts::from_bytes(&[0u8; 32]), None);
    let f = Facts::default();
    let nos = [StudentNo::new("0812"), StudentNo::new("5812")];
    let bytes = f.encode(&nos);
    let (back, got) = Facts::decode(&bytes).unwrap();
    assert_eq!(back, f);
    assert_eq!(got.collect::<Vec<_>>(), ["0812", "5812"]);
    assert_eq!(Facts::decode(&f.encode(&[])).unwrap().1.count(), 0);
    assert!(Facts::decode(&bytes[..bytes.len() - 1]).is_none());
    assert_eq!(Facts::from_bytes(&[0u8; 31]), None);
}

/// The fingerprints are stored with every account (the derived `triage` column), so they are
/// part of the schema. If this test fails, a change to `registrar_fp`, `kana_birth_key`,
/// `Facts::to_bytes` or a text fold they use (`fold_key`, `fold_kana_key`) changed the stored
/// values: add a store migration that recomputes the column (`keys::fill_derived`, as migration
/// 5 does), then update the values here.
#[test]
fn stored_fingerprints_are_pinned() {
    let mut scratch = Scratch::default();
    let fp = registrar_fp(
        "1260000001",
        "工学部",
        Status::Undergraduate,
        "髙橋　花子",
        "ﾀｶﾊｼ ハナコ",
        &mut scratch,
    );
    let birth = NaiveDate::from_ymd_opt(2007, 4, 2);
    let kb = kana_birth_key("ﾀｶﾊｼ ハナコ", birth, &mut scratch);
    let facts = Facts {
        fp: Some(fp),
        kana_birth: kb,
        due_from: NaiveDate::from_ymd_opt(2026, 5, 31),
        flags: Facts::PLAIN_STUDENT | Facts::HAS_BIRTH_DATE,
    };
    let golden = format!("{fp:032x} {kb:016x} {:02x?}", facts.to_bytes());
    assert_eq!(
        golden,
        "b945de15d6bc692fdc3a02a19fa35478 2aadfd3eb3e489e8 [78, 54, a3, 9f, a1, 02, 3a, dc, 2f, \
         69, bc, d6, 15, de, 45, b9, e8, 89, e4, b3, 3e, fd, ad, 2a, b7, 49, 0b, 00, 05, 01, 01, 00]",
        "a stored fingerprint changed: see this test's doc comment"
    );
}

/// The rules' quiet test gives the same answer on an account and on what triage keeps of it
/// (its flags and fingerprint), row by row: the one definition, two views of the account.
#[test]
fn quiet_on_the_account_and_on_its_facts_agree() {
    use crate::domain::account::State;
    use crate::domain::rules::is_quiet;
    let base = account("a0000001", "P1", &["1260000001"], Status::Undergraduate);
    let same = enrolled(2, "P1", "1260000001");
    let cases: Vec<(&str, Account, RegistrarRow, bool)> = vec![
        ("the same row", base.clone(), same.clone(), true),
        (
            "a name spaced otherwise",
            base.clone(),
            RegistrarRow {
                name: "山田 太郎".into(),
                ..same.clone()
            },
            true,
        ),
        (
            "another 所属",
            base.clone(),
            RegistrarRow {
                faculty: "理学部".into(),
                ..same.clone()
            },
            false,
        ),
        (
            "a blank 所属",
            base.clone(),
            RegistrarRow {
                faculty: "".into(),
                ..same.clone()
            },
            false,
        ),
        (
            "another 身分",
            base.clone(),
            RegistrarRow {
                status: Status::Graduate,
                ..same.clone()
            },
            false,
        ),
        (
            "another kana",
            base.clone(),
            RegistrarRow {
                name_kana: "ヤマダ ハナコ".into(),
                ..same.clone()
            },
            false,
        ),
        (
            "graduated",
            base.clone(),
            RegistrarRow {
                enrollment: Enrollment::Graduated,
                ..same.clone()
            },
            false,
        ),
        (
            "an earlier student number",
            base.clone(),
            enrolled(2, "P1", "0812"),
            false,
        ),
        (
            "a birth date the account lacks",
            Account {
                birth_date: None,
                ..base.clone()
            },
            RegistrarRow {
                birth_date: NaiveDate::from_ymd_opt(2000, 5, 5),
                ..same.clone()
            },
            false,
        ),
        (
            "a stop scheduled",
            Account {
                stop_on: NaiveDate::from_ymd_opt(2026, 4, 30),
                ..base.clone()
            },
            same.clone(),
            false,
        ),
        (
            "stopped",
            Account {
                state: State::Stopped,
                ..base.clone()
            },
            same.clone(),
            false,
        ),
        (
            "身分 not known yet",
            Account {
                status: None,
                ..base.clone()
            },
            same.clone(),
            false,
        ),
    ];
    let mut scratch = Scratch::default();
    for (what, a, r, quiet) in cases {
        let packed = Packed::new(&Facts::of(&a, &mut scratch));
        assert_eq!(is_quiet(&r, &a), quiet, "{what}: on the account");
        assert_eq!(is_quiet(&r, &packed), quiet, "{what}: on its facts");
    }
}
