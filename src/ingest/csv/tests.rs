use super::*;

#[test]
fn split_never_cuts_inside_quotes() {
    let data = b"a,\"x\ny\",1\nb,\"p\nq\",2\nc,d,3\n";
    for target in 1..data.len() + 2 {
        let chunks = split_records(data, target);
        let mut joined = Vec::new();
        for &(s, e) in &chunks {
            let part = &data[s..e];
            assert_eq!(
                memchr::memchr_iter(b'"', part).count() % 2,
                0,
                "target {target}: {chunks:?}"
            );
            joined.extend_from_slice(part);
        }
        assert_eq!(joined, data);
    }
}

fn profiles() -> Profiles {
    Profiles::builtin().unwrap_or_else(|e| unreachable!("{e}"))
}

/// Either rows come out, or at least one error that points inside the file.
fn rows_or_located_error(bytes: &[u8]) -> Result<(), String> {
    let out = read(bytes, 0, &profiles(), Sink::Keep);
    let errors: Vec<&Diagnostic> = out.diagnostics.iter().filter(|d| d.is_error()).collect();
    if out.mapped.is_none() && errors.is_empty() {
        return Err("neither rows nor an error".into());
    }
    let lines = memchr::memchr_iter(b'\n', bytes).count() as u64 + 1;
    for d in errors {
        match d.location {
            Location::Byte { line, byte } if line > lines || byte == 0 => {
                return Err(format!("{d:?} outside the file"));
            }
            Location::Row { row } | Location::Cell { row, .. }
                if u64::from(row) > lines || row == 0 =>
            {
                return Err(format!("{d:?} outside the file"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Everything a reader reports, records included, for comparing readers.
fn summary(out: Outcome) -> String {
    let records = out.mapped.map(Mapped::into_records);
    format!(
        "{:?} {:?} {:?} {} {:?} {:?}",
        out.encoding, out.kind, out.header_row, out.rows, out.diagnostics, records
    )
}

/// A registrar export with title rows, quoted line breaks, `""`, bare CR record ends,
/// unquoted rows, bad values, and (with `bad`) bytes that do not decode in late rows.
fn export(rows: usize, bad: bool) -> String {
    let mut s = String::from("\"令和8年度 在籍者一覧\",,\r\n\r\n");
    s.push_str("\"学籍番号\",\"個人番号\",\"ECS-ID\",\"氏名\",\"氏名カナ\",\"生年月日\",\"所属\",\"身分\",\"在籍状態\",\"入学年月日\",\"異動年月日\"\r\n");
    for i in 0..rows {
        let name = match i % 7 {
            3 => "山田\n太郎",
            5 => "山田 \"\"髙\"\" 太郎",
            _ => "山田 太郎",
        };
        let status = if i % 17 == 2 { "学生" } else { "学部生" };
        let end = if i % 13 == 0 { "\r" } else { "\r\n" };
        if i % 19 == 4 {
            s.push_str(&format!(
                "0700{i:04},,a0{i:06},鈴木,スズキ,2004/4/1,工学部,{status},休学,平成16年4月1日,{end}"
            ));
        } else {
            s.push_str(&format!(
                "\"0700{i:04}\",\"\",\"a0{i:06}\",\"{name}\",\"ヤマダ タロウ\",\"2004-04-01\",\"工学部\",\"{status}\",\"在学\",\"2022-04-01\",\"\"{end}"
            ));
        }
        if bad && (i == rows / 2 || i + 3 == rows) {
            s.push_str("\"0799\",\"BAD\"\r\n");
        }
    }
    s
}

fn cp932(text: &str) -> Vec<u8> {
    let mut bytes = encoding_rs::SHIFT_JIS.encode(text).0.into_owned();
    // Bytes no CP932 decoder takes: a lead byte before ASCII, and a lone 0x80.
    while let Some(at) = bytes.windows(5).position(|w| w == b"\"BAD\"") {
        bytes.splice(at + 1..at + 4, [0x81, 0x7F, b'x']);
        if let Some(next) = bytes[at + 4..].windows(5).position(|w| w == b"\"BAD\"") {
            let at = at + 4 + next;
            bytes.splice(at + 1..at + 4, [b'y', 0x80, b'z']);
        }
    }
    bytes
}

/// The streamed reader, with chunks and reads of a few bytes, equals the whole-file reader:
/// records, row numbers, diagnostics and byte positions, across every chunk boundary.
#[test]
fn streaming_in_tiny_chunks_equals_reading_the_whole_file() {
    let p = profiles();
    let files = [
        cp932(&export(40, false)),
        cp932(&export(40, true)),
        export(40, true).into_bytes(),
        [&b"\xEF\xBB\xBF"[..], export(30, false).as_bytes()].concat(),
        // UTF-8 up to a late CP932 pair: read again as a whole.
        [export(30, false).as_bytes(), &b"\"1\",\"\x82\xA0\"\r\n"[..]].concat(),
        // No line break at the end; a header and nothing else.
        cp932(export(20, false).trim_end()),
        cp932(&export(0, false)),
    ];
    for (n, bytes) in files.iter().enumerate() {
        for sink in [Sink::Keep, Sink::CountOnly] {
            let whole = summary(read(bytes, 3, &p, sink));
            for (chunk, step) in [(7, 3), (1, 1), (13, 64), (64, 5), (4096, 7)] {
                let streamed = read_stream(
                    &mut std::io::Cursor::new(bytes),
                    3,
                    &p,
                    sink,
                    Sizes {
                        chunk,
                        step,
                        ..Sizes::default()
                    },
                );
                let streamed = streamed.map(summary).map_err(|e| e.to_string());
                assert_eq!(
                    streamed.as_ref(),
                    Ok(&summary(read_sized(bytes, 3, &p, sink, chunk))),
                    "file {n}, chunk {chunk}, step {step}, {sink:?}"
                );
                // A chunk that does not decode is reported once, at its first bad bytes, so
                // files with bad bytes depend on where chunks end (as ever); others do not.
                if ![1, 2, 4].contains(&n) {
                    assert_eq!(streamed, Ok(whole.clone()), "file {n}, chunk {chunk}");
                }
            }
        }
        let keep = read(bytes, 0, &p, Sink::Keep);
        let count = read(bytes, 0, &p, Sink::CountOnly);
        assert_eq!(keep.rows, count.rows);
        assert_eq!(keep.diagnostics, count.diagnostics);
    }
}

#[test]
fn late_bad_bytes_are_located_in_the_whole_file() {
    let bytes = cp932(&export(40, true));
    let out = read_stream(
        &mut std::io::Cursor::new(&bytes),
        0,
        &profiles(),
        Sink::CountOnly,
        Sizes {
            chunk: 7,
            step: 3,
            ..Sizes::default()
        },
    );
    let found: Vec<Location> = out
        .map(|o| o.diagnostics)
        .unwrap_or_default()
        .into_iter()
        .filter(|d| matches!(d.location, Location::Byte { .. }))
        .map(|d| d.location)
        .collect();
    let expected: Vec<Location> = [[0x81, 0x7F], [b'y', 0x80]]
        .iter()
        .filter_map(|w| bytes.windows(2).position(|x| x == w))
        .map(|at| at + usize::from(bytes[at] == b'y'))
        .map(|at| {
            let (line, byte) = locate(&bytes, at);
            Location::Byte { line, byte }
        })
        .collect();
    assert_eq!(expected.len(), 2);
    assert_eq!(found, expected);
}

/// A UTF-8 export with one row pasted in from a CP932 file: the bad bytes are named on that
/// row (not on the title, where CP932 would first fail on the UTF-8), and nothing else is
/// reported (no header "like" another kind, which the title and header misread as CP932 gave).
#[test]
fn a_cp932_row_in_a_utf8_export_is_located_on_that_row() {
    let row = |no: u32, faculty: &str| {
        format!(
            "0126{no:04},,,山田　太郎,ヤマダ　タロウ,2007-05-10,{faculty},学部生,在学,2026-04-01,\r\n"
        )
    };
    let mut good = String::from("令和8年度 在籍者一覧\r\n");
    good.push_str("学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\r\n");
    for no in 1..=3 {
        good.push_str(&row(no, "文学部"));
    }
    let mut long = good.into_bytes();
    long.extend(cp932(&row(4, "山﨑学部")));
    // Too short for the evidence of a long clean UTF-8 start: CP932 fails on the title first.
    let mut short = "学籍番号,個人番号,ECS-ID,氏名,氏名カナ,生年月日,所属,身分,在籍状態,入学年月日,異動年月日\r\n".as_bytes().to_vec();
    short.extend(cp932(&row(4, "山﨑学部")));
    for (bytes, bad_line) in [(long, 6), (short, 2)] {
        check_bad_line(&bytes, bad_line);
    }
}

/// The only diagnostic of reading `bytes`, whole and streamed: bad bytes on `bad_line`.
fn check_bad_line(bytes: &[u8], bad_line: u64) {
    for out in [
        read(bytes, 0, &profiles(), Sink::Keep),
        read_stream(
            &mut std::io::Cursor::new(bytes),
            0,
            &profiles(),
            Sink::Keep,
            Sizes::default(),
        )
        .unwrap_or_default(),
    ] {
        let errors: Vec<Location> = out.diagnostics.iter().map(|d| d.location.clone()).collect();
        assert!(
            matches!(errors[..], [Location::Byte { line, .. }] if line == bad_line),
            "{:?}",
            out.diagnostics
        );
    }
}

/// The records of `data` as the `csv` crate reads them: (line of the record's first byte,
/// fields), with the line found as the readers here find it.
/// Records as (line, fields).
type Lines = Vec<(u64, Vec<Vec<u8>>)>;

fn csv_crate_records(data: &[u8]) -> Lines {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut lines = LineCounter::default();
    let mut out = Vec::new();
    let mut record = ByteRecord::new();
    while let Ok(true) = rdr.read_byte_record(&mut record) {
        let line = lines.line_of(data, record.position().map_or(0, |p| p.byte() as usize));
        out.push((line, record.iter().map(<[u8]>::to_vec).collect()));
    }
    out
}

fn splitter_records(data: &[u8]) -> (Lines, u64) {
    let mut sp = Splitter::<b','>::new(data);
    let (mut spans, mut unescaped) = (Vec::new(), Vec::new());
    let mut out = Vec::new();
    while let Some(r) = sp.next_record(&mut spans, &mut unescaped) {
        let fields: Vec<Vec<u8>> = spans
            .iter()
            .map(|s| match *s {
                Content::Chunk(a, b) => data[a..b].to_vec(),
                Content::Unescaped(a, b) => unescaped[a..b].to_vec(),
            })
            .collect();
        let breaks: u64 = fields
            .iter()
            .map(|f| memchr::memchr_iter(b'\n', f).count() as u64)
            .sum();
        assert_eq!(r.breaks, breaks);
        out.push((r.line, fields));
    }
    (out, sp.lines())
}

#[test]
fn splitter_reads_excel_csv() {
    let data = b"\"t\",,\r\n\r\n\"a\"\"b\",\"x\ny\",c\"d\r\n\"p\"q,\"\",\n\"open";
    let (records, lines) = splitter_records(data);
    assert_eq!(records, csv_crate_records(data));
    let fields: Vec<Vec<&[u8]>> = records
        .iter()
        .map(|(_, f)| f.iter().map(Vec::as_slice).collect())
        .collect();
    assert_eq!(
        fields,
        vec![
            vec![&b"t"[..], b"", b""],
            vec![&b"a\"b"[..], b"x\ny", b"c\"d"],
            vec![&b"pq"[..], b"", b""],
            vec![&b"open"[..]],
        ]
    );
    assert_eq!(
        records.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 3, 5, 6]
    );
    assert_eq!(lines, 5);
}

proptest::proptest! {
    #[test]
    fn splitter_agrees_with_the_csv_crate(
        data in proptest::collection::vec(proptest::sample::select(vec![
            b'a', b'1', b',', b'"', b'\r', b'\n', b' ', 0x81, 0x40, 0x82, 0xA0, 0x8A, 0x77, 0xE3, 0xFC, 0x80,
        ]), 0..256)
    ) {
        let (records, lines) = splitter_records(&data);
        proptest::prop_assert_eq!(&records, &csv_crate_records(&data));
        proptest::prop_assert_eq!(lines, memchr::memchr_iter(b'\n', &data).count() as u64);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
        proptest::prop_assert_eq!(rows_or_located_error(&bytes), Ok(()));
    }

    #[test]
    fn arbitrary_rows_under_a_real_header_never_panic(
        body in proptest::collection::vec(proptest::sample::select(vec![
            b'0', b'1', b'9', b',', b'"', b'\r', b'\n', b' ', 0x81, 0x40, 0x82, 0xA0, 0xE0, 0xFC, 0x7F, 0xEF, 0xBB,
        ]), 0..1024)
    ) {
        let mut bytes = "学籍番号,氏名,氏名カナ,所属,身分,在籍状態\r\n".as_bytes().to_vec();
        bytes.extend(&body);
        proptest::prop_assert_eq!(rows_or_located_error(&bytes), Ok(()));
    }
}

/// A record that never ends (no line break, or a quote never closed) is refused once it runs
/// past `Sizes::record`, and so are rows before any header, and a file read whole (UTF-16, or
/// UTF-8 only in its first chunks) past sixteen times that: a file is never read whole into
/// memory for want of a line break, nor without a bound.
#[test]
fn a_record_without_its_end_is_refused_past_the_bound() {
    let sizes = Sizes {
        chunk: 4096,
        step: 1024,
        record: 1 << 20,
    };
    let read = |bytes: &[u8]| {
        read_stream(
            &mut std::io::Cursor::new(bytes),
            0,
            &profiles(),
            Sink::CountOnly,
            sizes,
        )
        .map(|o| o.rows)
        .map_err(|e| e.to_string())
    };
    let good = cp932(&export(40, false));
    assert!(read(&good).is_ok_and(|rows| rows > 0));
    // A line with no end; a quote opened and never closed.
    for (open, tail) in [(&b""[..], &b"1"[..]), (b"\"", b"1\r\n")] {
        let mut bytes = good.clone();
        bytes.extend_from_slice(open);
        bytes.extend(tail.iter().cycle().take(3 << 20));
        let err = read(&bytes).err().unwrap_or_default();
        assert!(err.contains("1 MiB without the end of a record"), "{err}");
    }
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(b"a\0,\0".iter().cycle().take(17 << 20));
    let err = read(&utf16).err().unwrap_or_default();
    assert!(
        err.starts_with("a UTF-16 file is read whole, and this one is over 16 MiB"),
        "{err}"
    );
    // UTF-8 in its first chunks and not later: read again whole, and so bounded like UTF-16.
    let mut late = export(40, false).into_bytes();
    late.extend(
        b"01260011,0001212709,,Yamada,YAMADA,2007-11-18,X,Y,Z,,\r\n"
            .iter()
            .cycle()
            .take(17 << 20),
    );
    late.extend(b"01260011,0001212709,,\x8e\x52,YAMADA,2007-11-18,X,Y,Z,,\r\n");
    let err = read(&late).err().unwrap_or_default();
    assert!(
        err.starts_with("a file that is UTF-8 only in its first megabytes is read whole, and this one is over 16 MiB"),
        "{err}"
    );
    let no_header = vec![b'x'; 3 << 20];
    let err = read(&no_header).err().unwrap_or_default();
    assert!(
        err.starts_with("from byte 0 on, 1 MiB without the end"),
        "{err}"
    );
}
