use super::*;

const HEAD: &str = "ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限";

/// One account already in the store: ECS-ID `a0100001`, 個人番号 `0001200001`, student number
/// `01220011`, KUMOI `stored@st.example.ac.jp`.
fn store() -> Snapshot {
    Snapshot {
        accounts: vec![Account {
            kumoi: "stored@st.example.ac.jp".into(),
            person_id: Some(PersonId::new("0001200001")),
            student_nos: vec![StudentNo::new("01220011")],
            faculty: "理学部".into(),
            ..Account::sample("a0100001")
        }],
        ..Snapshot::default()
    }
}

/// The diagnostics as `check` prints them, then the accounts read, one line each.
fn outcome(bytes: &[u8]) -> String {
    let (accounts, diags) = parse(bytes, &store(), &IdFormat::default());
    let mut lines: Vec<String> = diags.iter().map(|d| d.render("f.csv", None)).collect();
    for a in &accounts {
        let nos: Vec<&str> = a.student_nos.iter().map(StudentNo::as_str).collect();
        lines.push(format!(
            "{} {} {:?} [{}] {} {:?} {:?} {:?} birth {:?} activate by {:?} stop {:?} {:?} until {:?}",
            a.ecs_id.as_str(),
            a.kumoi,
            a.person_id.as_ref().map(PersonId::as_str),
            nos.join(";"),
            a.name,
            a.status,
            a.role,
            a.state,
            a.birth_date,
            a.activation_deadline,
            a.stop_on,
            a.stop_reason,
            a.holder_until,
        ));
    }
    lines.join("\n")
}

/// `rows` after the 13-column header, CRLF; `expected` is [`outcome`] line by line.
fn check(rows: &[&str], expected: &[&str]) {
    check_file(HEAD, rows, expected);
}

fn check_file(header: &str, rows: &[&str], expected: &[&str]) {
    let mut text = format!("{header}\r\n");
    for r in rows {
        text.push_str(r);
        text.push_str("\r\n");
    }
    check_bytes(text.as_bytes(), expected);
}

fn check_bytes(bytes: &[u8], expected: &[&str]) {
    assert_eq!(
        outcome(bytes),
        expected.join("\n"),
        "{}",
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn good_rows_become_accounts_with_the_stop_reason_their_role_implies() {
    check(
        &[
            "a0100002,0001200002,01230001；55261012,髙橋　﨑子,タカハシ　サキコ,2004-04-01,理学部,学生,停止,takahashi@st.example.ac.jp,,2026-03-31,",
            "",
            "ａ0100003,,51193013,\"中村, 直樹\",,,文学研究科,学生以外,有効化待ち,nakamura@st.example.ac.jp,令和8年5月15日,2027-03-31,2027-03-31",
            "a0100004,,,西村　恵,,,,教職員移行,有効,nishimura@st.example.ac.jp,,2026/6/30,",
        ],
        &[
            "a0100002 takahashi@st.example.ac.jp Some(\"0001200002\") [01230001;55261012] 髙橋　﨑子 None Student Stopped birth Some(2004-04-01) activate by None stop Some(2026-03-31) Some(Departed) until None",
            "a0100003 nakamura@st.example.ac.jp None [51193013] 中村, 直樹 None Holder Pending birth None activate by Some(2026-05-15) stop Some(2027-03-31) Some(HolderExpired) until Some(2027-03-31)",
            "a0100004 nishimura@st.example.ac.jp None [] 西村　恵 None ConvertingStaff Active birth None activate by None stop Some(2026-06-30) Some(StaffConversion) until None",
        ],
    );
}

/// A line break or tab in a text cell (a name typed with Alt+Enter) reads as one space, as in
/// the registrar's exports.
#[test]
fn a_line_break_in_a_name_reads_as_one_space() {
    check(
        &[
            "a0100002,,,\"髙橋\r\n﨑子\",,,\"理学部\t数学科\",学生,有効,takahashi@st.example.ac.jp,,,",
        ],
        &[
            "a0100002 takahashi@st.example.ac.jp None [] 髙橋 﨑子 None Student Active birth None activate by None stop None None until None",
        ],
    );
}

#[test]
fn no_header_row() {
    check_bytes(
        b"",
        &[
            "f.csv: エラー error: 見出し行がありません。1行目は「ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限」です / no header row; the first row must be `ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限`",
        ],
    );
    check_bytes(
        b",,\r\n\r\n",
        &[
            "f.csv: エラー error: 見出し行がありません。1行目は「ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限」です / no header row; the first row must be `ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限`",
        ],
    );
}

#[test]
fn wrong_and_extra_headers_stop_the_file() {
    check_file(
        "ECS-ID,個人番号,学生番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限,備考,,",
        &["a0100002,,,山田　花子,,,,学生,有効,yamada@st.example.ac.jp,,,"],
        &[
            "f.csv:1:3(学生番号): エラー error: 見出しは「学籍番号」のはずですが「学生番号」です / expected the header `学籍番号`, found `学生番号`",
            "f.csv:1:14(備考): エラー error: 余分な列「備考」があります。列は「ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限」の13列（と任意の「身分」）です / unexpected column `備考`; the columns are `ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限` (and an optional `身分`)",
        ],
    );
    // The last column missing; 身分 followed by one more.
    check_file(
        "ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日",
        &[],
        &[
            "f.csv:1:13(): エラー error: 見出しは「利用期限」のはずですが「」です / expected the header `利用期限`, found ``",
        ],
    );
    check_file(
        &format!("{HEAD},身分,備考"),
        &[],
        &[
            "f.csv:1:15(備考): エラー error: 余分な列「備考」があります。列は「ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限」の13列（と任意の「身分」）です / unexpected column `備考`; the columns are `ECS-ID,個人番号,学籍番号,氏名,氏名カナ,生年月日,所属,区分,状態,KUMOI,有効化期限,停止予定日,利用期限` (and an optional `身分`)",
        ],
    );
}

#[test]
fn bytes_that_are_neither_utf8_nor_cp932() {
    check_bytes(
        b"ECS-ID,\x82\xa0\xff\xff\r\n",
        &[
            "f.csv:1:10: エラー error: 文字コードを読めません。UTF-8 か Shift_JIS（CP932）で保存してください / the bytes here are neither UTF-8 nor CP932 (Shift_JIS); save the file as UTF-8 or CP932",
        ],
    );
}

#[test]
fn ecs_id_errors() {
    check(
        &[
            ",,,空　欄,,,,学生,有効,a@st.example.ac.jp,,,",
            "A-100012,,,森　結衣,,,,学生,有効,b@st.example.ac.jp,,,",
            "a0100002,,,森　一,,,,学生,有効,c@st.example.ac.jp,,,",
            "a0100002,,,森　二,,,,学生,有効,d@st.example.ac.jp,,,",
            "a0100001,0001200001,01220011,山田　太郎,,,,院生,休止,stored@st.example.ac.jp,,,",
        ],
        &[
            "f.csv:2:1(ECS-ID): エラー error: ECS-ID が空です / the ECS-ID is empty",
            "f.csv:3:1(ECS-ID): エラー error: ECS-ID「A-100012」の形が違います。「a0」と数字6桁です（例: a0106210） / `A-100012` is not an ECS-ID; expected `a0` and 6 digits (e.g. `a0106210`)",
            "f.csv:5:1(ECS-ID): エラー error: ECS-ID「a0100002」が 4 行目と重複しています / ECS-ID `a0100002` is also on row 4",
            "f.csv:6:1(ECS-ID): エラー error: ECS-ID「a0100001」はすでにストアにあります。取り込みは新しいアカウントだけです / ECS-ID `a0100001` is already in the store; an import only adds new accounts",
        ],
    );
}

#[test]
fn person_id_and_student_number_errors() {
    check(
        &[
            "a0100002,0001200001,01220011,一,,,,学生,有効,a@st.example.ac.jp,,,",
            "a0100003,0001200003,01230003;;01230004,二,,,,学生,有効,b@st.example.ac.jp,,,",
            "a0100004,0001200003,01230003,三,,,,学生,有効,c@st.example.ac.jp,,,",
        ],
        &[
            "f.csv:2:2(個人番号): エラー error: 個人番号「0001200001」はストアの ECS-ID「a0100001」の人のものです（1人1ID, R2） / 個人番号 `0001200001` belongs to ECS-ID `a0100001` in the store (one person, one ECS-ID: R2)",
            "f.csv:2:3(学籍番号): エラー error: 学籍番号「01220011」はストアの ECS-ID「a0100001」のものです / student number `01220011` belongs to ECS-ID `a0100001` in the store",
            "f.csv:3:3(学籍番号): エラー error: 学籍番号「01230003;;01230004」に空の番号があります。「;」で区切って古い順に並べてください / `01230003;;01230004` has an empty student number; list them oldest first, separated by `;`",
            "f.csv:4:2(個人番号): エラー error: 個人番号「0001200003」が 3 行目と重複しています（1人1ID, R2） / 個人番号 `0001200003` is also on row 3 (one person, one ECS-ID: R2)",
            "f.csv:4:3(学籍番号): エラー error: 学籍番号「01230003」が 3 行目にもあります / student number `01230003` is also on row 3",
        ],
    );
}

#[test]
fn name_date_role_state_and_kumoi_errors() {
    check(
        &[
            "a0100002,,,,,2006-13-40,,院生,休止,not-a-mail,昨日,2026-02-30,hello",
            "a0100003,,,一,,平成31年5月1日,,学生,有効,stored@st.example.ac.jp,,,",
            "a0100004,,,二,,,,学生,有効,e@st.example.ac.jp,,,",
            "a0100005,,,三,,,,学生,有効,e@st.example.ac.jp,,,",
            "a0100006,,,四,,,,学生,有効,f@st.example.ac.jp,,,,余り",
            "a0100007,,,五\u{1b}[2J,ゴ\u{7},,理学部\u{202e},学生,有効,g@st.example.ac.jp,,,",
        ],
        &[
            "f.csv:2:4(氏名): エラー error: 氏名が空です / the name is empty",
            "f.csv:2:6(生年月日): エラー error: 「2006-13-40」は存在しない日付です（13月はありません）（例: 2026-04-01） / `2006-13-40` is not a real date (there is no month 13) (expected a date such as `2026-04-01`)",
            "f.csv:2:8(区分): エラー error: 区分「院生」は使えません。「学生」「学生以外」「教職員移行」のどれかです / 区分 `院生` is not one of `学生`, `学生以外`, `教職員移行`",
            "f.csv:2:9(状態): エラー error: 状態「休止」は使えません。「有効」「有効化待ち」「停止」のどれかです / 状態 `休止` is not one of `有効`, `有効化待ち`, `停止`",
            "f.csv:2:10(KUMOI): エラー error: KUMOI「not-a-mail」はメールアドレスではありません / KUMOI `not-a-mail` is not a mail address",
            "f.csv:2:11(有効化期限): エラー error: 「昨日」は日付として読めません（例: 2026/4/1、2026年4月1日、令和8年4月1日、R8.4.1）（例: 2026-04-01） / `昨日` is not a date; expected a form like `2026/4/1`, `2026年4月1日`, `令和8年4月1日` or `R8.4.1` (expected a date such as `2026-04-01`)",
            "f.csv:2:12(停止予定日): エラー error: 「2026-02-30」は存在しない日付です（2026年の2月は28日までです）（例: 2026-04-01） / `2026-02-30` is not a real date (February has 28 days in 2026) (expected a date such as `2026-04-01`)",
            "f.csv:2:13(利用期限): エラー error: 「hello」は日付として読めません（例: 2026/4/1、2026年4月1日、令和8年4月1日、R8.4.1）（例: 2026-04-01） / `hello` is not a date; expected a form like `2026/4/1`, `2026年4月1日`, `令和8年4月1日` or `R8.4.1` (expected a date such as `2026-04-01`)",
            "f.csv:3:10(KUMOI): エラー error: KUMOI「stored@st.example.ac.jp」はすでにストアの別のアカウントのものです / KUMOI `stored@st.example.ac.jp` already belongs to an account in the store",
            "f.csv:5:10(KUMOI): エラー error: KUMOI「e@st.example.ac.jp」が 4 行目と重複しています / KUMOI `e@st.example.ac.jp` is also on row 4",
            "f.csv:6:14(): エラー error: 見出しのない列に値「余り」があります / a value `余り` in a column with no header",
            "f.csv:7:4(氏名): エラー error: 「五\\u{1b}[2J」に制御文字（U+001B）が含まれています。書き出しを直してください / `五\\u{1b}[2J` holds control characters (U+001B); correct the export",
            "f.csv:7:5(氏名カナ): エラー error: 「ゴ\\u{7}」に制御文字（U+0007）が含まれています。書き出しを直してください / `ゴ\\u{7}` holds control characters (U+0007); correct the export",
            "f.csv:7:7(所属): エラー error: 「理学部\\u{202e}」に制御文字（U+202E）が含まれています。書き出しを直してください / `理学部\\u{202e}` holds control characters (U+202E); correct the export",
            "f.csv:3:6(生年月日): 警告 warning: 「平成31年5月1日」は平成の最終日（2019年4月30日）より後の日付です。2019年5月1日として読みました（正しくは「令和元年5月1日」） / `平成31年5月1日` is after the last day of 平成 (Heisei, 2019-04-30); read as 2019-05-01, properly written `令和元年5月1日`",
        ],
    );
}

#[test]
fn the_optional_status_column() {
    let header = format!("{HEAD},身分");
    check_file(
        &header,
        &[
            "a0100002,,,一,,,,学生,有効,a@st.example.ac.jp,,,,大学院生",
            "a0100003,,,二,,,,学生,有効,b@st.example.ac.jp,,,,",
            "a0100004,,,三,,,,学生,有効,c@st.example.ac.jp,,,,院生",
            "a0100005,,,四,,,,学生,有効,d@st.example.ac.jp,,,,特別研究学生,余り",
        ],
        &[
            "f.csv:4:14(身分): エラー error: 身分「院生」は使えません。「学部生」「大学院生」「研究生」「科目等履修生」「聴講生」「特別聴講学生」「特別研究学生」のどれかか空欄です / 身分 `院生` is not one of `学部生`, `大学院生`, `研究生`, `科目等履修生`, `聴講生`, `特別聴講学生`, `特別研究学生` (or empty)",
            "f.csv:5:15(): エラー error: 見出しのない列に値「余り」があります / a value `余り` in a column with no header",
        ],
    );
}

/// The shipped account file, damaged: ASCII bytes overwritten with what breaks CSV, dates, IDs
/// and addresses (so the file stays UTF-8 and the rows are parsed; the decoder has its own
/// tests), and sometimes cut in its second half. It is read or refused with reasons, never a
/// panic, and a file with rows in it never yields nothing at all: no accounts and no reason.
mod damaged {
    use proptest::prelude::*;

    use super::*;

    const SAMPLE: &[u8] = include_bytes!("../../../samples/accounts.csv");

    const BYTES: [u8; 12] = [
        b',', b'"', b'\n', b'\r', b'0', b'9', b'a', b'-', b'/', b'@', b' ', 0x00,
    ];

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn a_damaged_account_file_is_read_or_refused_with_reasons(
            writes in prop::collection::vec((any::<usize>(), prop::sample::select(BYTES.to_vec())), 1..12),
            cut in prop::option::weighted(0.2, any::<usize>()),
        ) {
            let ascii: Vec<usize> = (0..SAMPLE.len()).filter(|&i| SAMPLE[i].is_ascii()).collect();
            let mut bytes = SAMPLE.to_vec();
            for (at, b) in writes {
                bytes[ascii[at % ascii.len()]] = b;
            }
            if let Some(cut) = cut {
                bytes.truncate(SAMPLE.len() / 2 + cut % (SAMPLE.len() / 2));
            }
            let (accounts, diags) = parse(&bytes, &store(), &IdFormat::default());
            for d in &diags {
                d.render("accounts.csv", None);
            }
            prop_assert!(!accounts.is_empty() || !diags.is_empty());
        }
    }
}
