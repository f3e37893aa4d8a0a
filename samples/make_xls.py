#!/usr/bin/env python3
"""Write tests/data/xls/registrar-small.xls, a BIFF8 (.xls) registrar export for calamine.

Needs `pip install xlwt`. Run from the repository root, after the Rust generator:

    cargo run --example gen_samples -- samples && python3 samples/make_xls.py

The records come from samples/registrar-2026-04-02.csv (CP932): the first 8 records, the first
record with 髙 in the name and the first with half-width kana, so the fixture stays consistent
with the sample world. Excel-isms exercised:

- sheet `在籍者`, a title row and an empty row above the header;
- 学籍番号 written as a NUMBER cell, so 01220011 is stored as 1220011 (the profile's width 8
  must restore the zero);
- 生年月日 written as an Excel DATE cell (a number with a date format), whatever text format
  the CSV used; 入学年月日 and 異動年月日 kept as text;
- CP932 extension characters (髙) and half-width katakana, stored as BIFF8 UTF-16 strings.
"""

import csv
import datetime
import io
import os
import re
import sys
import unicodedata

import xlwt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "samples", "registrar-2026-04-02.csv")
TARGET = os.path.join(ROOT, "tests", "data", "xls", "registrar-small.xls")

ERAS = {"明治": 1867, "大正": 1911, "昭和": 1925, "平成": 1988, "令和": 2018,
        "M": 1867, "T": 1911, "S": 1925, "H": 1988, "R": 2018}


def parse_date(text):
    """The date formats the generator writes: ISO, 2006/4/1, 平成18年4月1日, H18.4.1, full-width
    digits and era ligatures (NFKC turns ㍻ into 平成 and full-width digits into ASCII)."""
    t = unicodedata.normalize("NFKC", text).strip()
    m = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", t)
    if m:
        return datetime.date(*map(int, m.groups()))
    m = re.fullmatch(r"([MTSHR])(\d{1,2})\.(\d{1,2})\.(\d{1,2})", t)
    if m:
        era, y, mo, d = m.groups()
        return datetime.date(ERAS[era] + int(y), int(mo), int(d))
    m = re.fullmatch(r"(明治|大正|昭和|平成|令和)(\d{1,2}|元)年(\d{1,2})月(\d{1,2})日", t)
    if m:
        era, y, mo, d = m.groups()
        year = 1 if y == "元" else int(y)
        return datetime.date(ERAS[era] + year, int(mo), int(d))
    raise ValueError(f"unknown date format: {text!r}")


def is_half_kana(s):
    return any("\uff61" <= c <= "\uff9f" for c in s)


def main():
    with open(SOURCE, "rb") as f:
        text = f.read().decode("cp932")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "学籍番号")
    header = [h for h in rows[header_at] if h]
    width = len(header)
    records = [r[:width] for r in rows[header_at + 1:] if any(c for c in r)]

    chosen = records[:8]
    chosen.append(next(r for r in records if "髙" in r[3]))
    chosen.append(next(r for r in records[8:] if is_half_kana(r[4])))
    assert len(chosen) == 10

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("在籍者")
    bold = xlwt.easyxf("font: bold on")
    date_style = xlwt.easyxf(num_format_str="yyyy/mm/dd")
    ws.write(0, 0, "令和8年度 在籍者一覧", bold)
    for c, h in enumerate(header):
        ws.write(2, c, h, bold)
    birth_col = header.index("生年月日")
    for i, rec in enumerate(chosen):
        row = 3 + i
        for c, value in enumerate(rec):
            if c == 0:
                ws.write(row, c, int(value))  # a number: the leading zero is lost
            elif c == birth_col:
                ws.write(row, c, parse_date(value), date_style)
            elif value:
                ws.write(row, c, value)
    os.makedirs(os.path.dirname(TARGET), exist_ok=True)
    wb.save(TARGET)
    print(f"wrote {TARGET}: {len(chosen)} records")
    for rec in chosen:
        print("  " + ",".join(rec))


if __name__ == "__main__":
    sys.exit(main())
