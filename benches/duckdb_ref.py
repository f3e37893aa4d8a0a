"""The DuckDB reference of benches/scale.sh: the same night's classification done in Python + DuckDB.

    duckdb_ref.py REGISTRAR.csv ACCOUNTS.csv [--skip 3] [--tmp-dir DIR]

1. Python transcodes REGISTRAR.csv (CP932, as the registrar's Excel writes it) to a UTF-8 temp
   file, dropping the title rows above the header (DuckDB cannot read CP932 offline).
2. DuckDB reads that file and ACCOUNTS.csv (UTF-8 with BOM, the `regsync accounts import`
   format, with or without its optional 身分 column) with read_csv, every column as text (IDs
   are zero-padded), and joins them: each registrar row is matched to an account by 個人番号,
   else by any of the account's 学籍番号, and classified:
     new          no account matches
     departed     卒業 / 修了 / 退学 / 除籍 and the person has no enrolled row
     superseded   the old number of a person who has an enrolled row under another number
     renumbered   enrolled under a number that is not the account's current (last) one
     changed      enrolled, same number, but 所属, 身分 or 氏名 (spaces ignored) differ
     unchanged    enrolled and nothing differs
   and the accounts no row matches are counted as absent (R5's full-snapshot departures).
3. Prints the counts (one `class count` line each) and, on stderr, the time of each phase.

It is the work `regsync plan` does minus the rules' details and the reports, so it is a floor
to compare regsync's plan time with, not the same output.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

import duckdb

STUDENT = ("在学", "休学")


def transcode(src: str, dst: str, skip: int) -> None:
    with open(src, encoding="cp932", newline="") as f, open(dst, "w", encoding="utf-8", newline="") as g:
        for _ in range(skip):
            f.readline()
        shutil.copyfileobj(f, g, 1 << 22)


def classify(con: duckdb.DuckDBPyConnection, registrar: str, accounts: str) -> list[tuple[str, int]]:
    # Only the columns the classification reads are kept (DuckDB still parses every field).
    acc_cols = {
        row[0]
        for row in con.execute(
            "DESCRIBE SELECT * FROM read_csv(?, header = true, all_varchar = true)", [accounts]
        ).fetchall()
    }
    acc_status = '"身分"' if "身分" in acc_cols else "NULL"
    con.execute(
        f"""CREATE TEMP TABLE acc AS
        SELECT "ECS-ID", "個人番号", "学籍番号", "氏名", "所属", {acc_status} AS "身分"
        FROM read_csv(?, header = true, all_varchar = true)""",
        [accounts],
    )
    con.execute(
        """CREATE TEMP TABLE reg AS
        SELECT "学籍番号", "個人番号", "氏名", "所属", "身分", "在籍状態"
        FROM read_csv(?, header = true, all_varchar = true)""",
        [registrar],
    )
    # Each row's account: by 個人番号, else by any of the account's student numbers.
    con.execute(
        """CREATE TEMP TABLE m AS
        WITH acc_no AS (
            SELECT "ECS-ID" AS ecs, unnest(string_split("学籍番号", ';')) AS no FROM acc
        )
        SELECT r.*, coalesce(p."ECS-ID", n.ecs) AS ecs
        FROM reg r
        LEFT JOIN acc p ON p."個人番号" = r."個人番号"
        LEFT JOIN acc_no n ON n.no = r."学籍番号"
        """
    )
    enrolled = "\"在籍状態\" IN ('" + "', '".join(STUDENT) + "')"
    return con.execute(
        f"""
        SELECT class, count(*) FROM (
            SELECT CASE
                WHEN m.ecs IS NULL THEN 'new'
                WHEN NOT enrolled AND person_enrolled THEN 'superseded'
                WHEN NOT enrolled THEN 'departed'
                WHEN list_last(string_split(a."学籍番号", ';')) <> m."学籍番号" THEN 'renumbered'
                WHEN a."所属" IS DISTINCT FROM m."所属"
                  OR a."身分" <> m."身分"
                  OR replace(replace(a."氏名", ' ', ''), '　', '')
                     <> replace(replace(m."氏名", ' ', ''), '　', '') THEN 'changed'
                ELSE 'unchanged'
            END AS class
            FROM (
                SELECT *, {enrolled} AS enrolled,
                       bool_or({enrolled}) OVER (PARTITION BY ecs) AS person_enrolled
                FROM m
            ) m
            LEFT JOIN acc a ON a."ECS-ID" = m.ecs
        )
        GROUP BY class
        UNION ALL
        SELECT 'absent', (SELECT count(*) FROM acc) - (SELECT count(DISTINCT ecs) FROM m)
        ORDER BY 1
        """
    ).fetchall()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("registrar", help="the registrar export, CP932")
    ap.add_argument("accounts", help="the account directory, UTF-8 (regsync accounts import format)")
    ap.add_argument("--skip", type=int, default=3, help="title rows above the header (default 3)")
    ap.add_argument("--tmp-dir", default=None, help="where the UTF-8 copy is written (default: TMPDIR)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    fd, utf8 = tempfile.mkstemp(prefix="registrar-utf8-", suffix=".csv", dir=args.tmp_dir)
    os.close(fd)
    try:
        transcode(args.registrar, utf8, args.skip)
        t1 = time.perf_counter()
        con = duckdb.connect()
        counts = classify(con, utf8, args.accounts)
        t2 = time.perf_counter()
    finally:
        os.unlink(utf8)
    for cls, n in counts:
        print(f"{cls} {n}")
    print(
        f"duckdb_ref: transcode {t1 - t0:.2f} s, read + join {t2 - t1:.2f} s, "
        f"duckdb {duckdb.__version__}, {con.execute('SELECT current_setting(' + repr('threads') + ')').fetchone()[0]} threads",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
