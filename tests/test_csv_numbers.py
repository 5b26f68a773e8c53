"""The block-wise number parser (`csv_numbers`) and the reader's byte and line modes.

The parser must give the same bits as numpy.loadtxt (correctly rounded, then
cast to the dtype) for every block it accepts, and refuse every block it cannot
convert exactly, so that the careful path reports the problem.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import nncli_env
import nncli.csv_columns as csv_columns
import nncli.csv_io as csv_io
import nncli.csv_numbers as csv_numbers
from nncli.csv_numbers import parse_block
from nncli.errors import DataError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FORMATS = ["%.6g", "%.9g", "%.15g", "%.17g", "%r", "%.3f", "%.12f", "%e", "%+.4E", "%.0f", "%g"]


def reference(text: str, dtype: type) -> np.ndarray:
    return np.loadtxt(io.StringIO(text), delimiter=",", dtype=dtype, ndmin=2, comments=None)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def fmt(f: str, v: float) -> str:
    return repr(v) if f == "%r" else f % v


@FAST
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=60),
       ncols=st.integers(1, 4), form=st.sampled_from(FORMATS), dtype=st.sampled_from([np.float32, np.float64]))
def test_any_accepted_block_matches_loadtxt_bit_for_bit(monkeypatch, values, ncols, form, dtype):
    monkeypatch.setattr(csv_numbers, "_MAX_ONE_BY_ONE", 1.0)  # exercise the one-by-one cells too
    values = (values * ncols)[: max(ncols, len(values) // ncols * ncols)]
    text = "".join(",".join(fmt(form, v) for v in values[i:i + ncols]) + "\n" for i in range(0, len(values), ncols))
    got = parse_block(text.encode(), ncols, ",", dtype)
    with np.errstate(over="ignore"):
        ref = reference(text, dtype)
    if got is None:
        assert not np.isfinite(ref).all()  # refused only for a number too large for the dtype
    else:
        assert same_bits(got, ref)


def test_long_cells_of_skipped_columns_do_not_send_the_block_to_float():
    """A skipped column (an ignored id, an unused target such as -0.828087) is blanked to '0's as long as
    its cells: cells of nine characters or more counted as long numbers to convert one by one, and a
    block with more than 2% of them was refused (predict then took the careful path, 1.7x the time)."""
    text = "".join(f"{i * 0.25},id-{i:08d},{-i / 7:.6f}\n" for i in range(500))
    got = parse_block(text.encode(), 3, ",", np.float32, skip=[1])
    assert got is not None
    assert same_bits(got[:, [0, 2]], reference(text.replace("id-", ""), np.float32)[:, [0, 2]])
    assert not got[:, 1].any()  # (skipped cells read 0)


@FAST
@given(values=st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32).map(lambda v: v if abs(v) > 1e-12 else 0.0),
                       min_size=1, max_size=200),
       form=st.sampled_from(["%.6g", "%.9g", "%.4f", "%.3e", "%.7g"]), dtype=st.sampled_from([np.float32, np.float64]))
def test_everyday_numbers_take_the_fast_path(values, form, dtype):
    """Everyday: magnitudes 1e-12..1e6 (1e-20 is exact too, but one cell at a time: exponent below -22)."""
    text = "".join(f"{form % v},{form % -v}\n" for v in values)
    got = parse_block(text.encode(), 2, ",", dtype)
    assert got is not None
    assert same_bits(got, reference(text, dtype))


@pytest.mark.parametrize("text", [
    "9007199254740993,1\n",  # 2**53 + 1: not exact in a double
    "1e22,1e-22\n", "1e23,1.5e-23\n", "0.1,0.2\n", "-0.0,+0\n", "5.,.5\n", "1E+05,1e-05\n",
    "1.00000005960464477539062500,1\n",  # halfway between two float32s
    "3.4028234663852886e38,1\n", "1.401298464324817e-45,1\n", "123456789.123456789,99999999.99999999\n",
    "0.000123456789,12345678.12345678\n", "00001.5000,-000\n", "1e-400,1\n",
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hard_numbers_match_loadtxt(text, dtype):
    got = parse_block(text.encode(), 2, ",", dtype)
    assert got is not None and same_bits(got, reference(text, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sixteen_fraction_digits_are_read_exactly_whatever_the_integer_part(monkeypatch, dtype):
    """`%.16f` writes 16 fraction digits, read as two words of 8: a bug reading only 7 of the first
    8 read 0.1234567890123456 as 0.0234567890123456. Before 2^53 is checked, the integer digits are
    multiplied by 10^16, which passes 2^64 from 1845 on: that wraps around to below 2^53 for about
    one integer part in 2,000 (1845 and 12913 among them), and a bug that let those through read
    1845.0000000000000001 as 0.3255926290448385."""
    monkeypatch.setattr(csv_numbers, "_MAX_ONE_BY_ONE", 1.0)  # (most of these cells go to float())
    ints = [0, 3, 42, 1845, 3690, 12913, 98765432]
    wraps = [i for i in ints if 0 < (i * 10**16) % 2**64 < 2**53]
    assert wraps == [1845, 3690, 12913]  # (the cases this test is about)
    cells = [f"{sign}{i}.{frac}" for i in ints for frac in ("1234567890123456", "0000000000000001", "9876543210987654")
             for sign in ("", "-")]
    text = "".join(f"{c},1.5\n" for c in cells)
    got = parse_block(text.encode(), 2, ",", dtype)
    assert got is not None and same_bits(got, reference(text, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_count_of_digits_and_every_exponent_near_the_limits(monkeypatch, dtype):
    # Where the fast path hands cells to float(): over 8 integer digits, over 16 fraction digits, a
    # power of ten beyond 10^22. Each count on each side of those limits, in one block.
    monkeypatch.setattr(csv_numbers, "_MAX_ONE_BY_ONE", 1.0)
    digits = "9876543210123456789"
    cells = [f"{sign}{digits[:i]}.{digits[-f:] if f else ''}".rstrip(".")
             for i in range(1, 20) for f in range(0, 19) for sign in ("", "-")]
    cells += [f"{m}e{e}" for m in ("1", "-7", "2.5", "123456789", "0.000123") for e in range(-30, 31)]
    text = "".join(f"{c},1\n" for c in cells)
    got = parse_block(text.encode(), 2, ",", dtype)
    assert got is not None and same_bits(got, reference(text, dtype))
    assert float(got[cells.index("987654321"), 0]) == pytest.approx(987654321, rel=1e-7)
    # A block with no positive exponent is divided by powers of ten alone, up to 10^22
    text = "".join(f"{m}e{e},1\n" for m in ("1", "-7", "2.5", "123456789") for e in range(-30, 1))
    got = parse_block(text.encode(), 2, ",", dtype)
    assert got is not None and same_bits(got, reference(text, dtype))


@pytest.mark.parametrize("text", [
    "1,,2\n", ",1\n", "1, 2\n", " 1,2\n", "nan,1\n", "inf,1\n", "NA,1\n", "1e,2\n", "-,1\n", ".,1\n", "e5,1\n",
    "+,1\n", "1.2.3,4\n", "1-2,3\n", "1+,2\n", "1e+-5,2\n", "--1,2\n", "1e1e1,2\n", "1e5.5,1\n", "1e5-,1\n",
    "1,2,3\n", "1\n", "1,2\n3\n", "1,2,3\n4\n", "1\n2,3,4\n",  # (the last two: as many fields as 2 rows)
    "1,2\n\n", "1,2", "1,2\r\n", '"1",2\n', "0x1A,1\n", "1_000,1\n", "1e999,1\n",
    "3.5e38,1\n", "1,2\x00\n", "1e123456789,1\n", "",
    "1,2\n3",  # a last line with no end: as many line ends as whole lines, and its cell after them
    "12:30,1\n", "1,2*3\n",  # ':' and '*', the bytes either side of '+'..'9'
])
def test_blocks_it_cannot_convert_exactly_are_refused(text):
    assert parse_block(text.encode(), 2, ",", np.float32) is None


def test_missing_cells_are_nan_and_other_text_is_refused():
    na = frozenset([b"", b"NA", b"?"])
    got = parse_block(b"1,,2\n NA ,3,?\n-4,5e1,\n", 3, ",", np.float32, na_values=na)
    want = np.array([[1, np.nan, 2], [np.nan, 3, np.nan], [-4, 50, np.nan]], np.float32)
    assert got is not None and np.array_equal(got, want, equal_nan=True)
    assert parse_block(b"1,,2\n", 3, ",", np.float32, na_values=frozenset([b"NA"])) is None  # empty: not NA
    got = parse_block(b"1.5,None\n2e3,4\n", 2, ",", np.float32, na_values=frozenset([b"None"]))  # (an e blanked)
    assert got is not None and np.array_equal(got, np.array([[1.5, np.nan], [2000, 4]], np.float32), equal_nan=True)
    for text in (b"1,NAN,2\n", b"1,N A,2\n", b"1,inf,2\n", b"1,nan,2\n"):
        assert parse_block(text, 3, ",", np.float32, na_values=na) is None


def test_other_delimiters_and_many_irregular_cells():
    assert same_bits(parse_block(b"1.5;-2\n3;4e2\n", 2, ";", np.float32), np.array([[1.5, -2], [3, 400]], np.float32))
    long = "".join(f"{v!r},1\n" for v in np.random.default_rng(0).standard_normal(100))  # 16-17 digits
    assert parse_block(long.encode(), 2, ",", np.float64) is None  # left to loadtxt, which is faster there


@pytest.mark.parametrize("text, by_column", [
    ("1.5,2,3.25\n-4.5,6,7.125\n0.5,-7,8.0\n", True),  # columns 0 and 2 of every row
    ("1.5,2.5,3\n4.5,5.5,6\n", True),  # adjacent columns
    ("1.5e3,2.5,3\n-4.5,5.5e-2,6\n", True),
    ("1.5,2,3\n3,4.5,6\n", False),  # as many points as rows, in other columns
    ("1,2.5,3\n4.5,5,6\n", False),
    ("1.5,2,3\n3.5,4.5,6\n6,7,8\n", False),
    ("1.5,2.5,3\n3.5e1.5,4,5\n", False),  # a point in an exponent: refused
])
def test_points_in_the_same_columns_of_every_row_are_placed_by_shape(monkeypatch, text, by_column):
    calls = []
    real = csv_numbers._columns
    monkeypatch.setattr(csv_numbers, "_columns",
                        lambda marks, *a: calls.append((marks, real(marks, *a))) or calls[-1][1])
    got = parse_block(text.encode(), 3, ",", np.float32)
    dots = np.flatnonzero(np.frombuffer(text.encode(), np.uint8) == ord("."))
    placed = [columns for marks, columns in calls if np.array_equal(marks, dots)]
    assert (placed[0] is not None) == by_column
    if "e1.5" in text:
        assert got is None
    else:
        assert got is not None and same_bits(got, reference(text, np.float32))


@FAST
@given(data=st.binary(max_size=40) | st.text("0123456789.-+eE,;/\n \t|xÅ", max_size=40).map(str.encode),
       delimiter=st.sampled_from([",", ";", "\t", "|", " ", "/", "e", "5", "\n"]))
def test_the_byte_check_allows_exactly_number_bytes_the_delimiter_and_lf(data, delimiter):
    allowed = b"0123456789.-+eE" + delimiter.encode() + b"\n"
    want = len(data.translate(None, allowed)) > 0
    e_marks = csv_numbers._e_marks(data, np.frombuffer(data, np.uint8))
    assert csv_numbers._has_other_bytes(data, delimiter, data.count(b"\n"), e_marks) == want


def test_a_comma_or_slash_in_a_cell_is_not_a_number_byte():
    for text, d in ((b"1,5;2\n", ";"), (b"1/5;2\n", ";"), (b"1/5,2\n", ","), (b"1;5,2\n", ",")):
        assert parse_block(text, 2, d, np.float32) is None
    assert same_bits(parse_block(b"1.5/-2\n", 2, "/", np.float32), np.array([[1.5, -2]], np.float32))


# -- the reader: blocks of bytes, and line by line after the first odd block ------------------------
def small_blocks(monkeypatch, size: int) -> None:
    """Blocks of `size` bytes, however few the columns."""
    monkeypatch.setattr(csv_io, "BLOCK_BYTES", size)
    monkeypatch.setattr(csv_io, "BLOCK_BYTES_PER_COLUMN", 0)


def write_rows(path, rows: list[str], newline: str = "\n") -> None:
    path.write_bytes(("a,b,c" + newline + "".join(r + newline for r in rows)).encode())


def test_of_bad_cells_in_several_columns_the_first_line_s_is_reported_and_no_row_from_it_on_is_handed_out(tmp_path):
    """A bad cell in column x1 at line 3 and another in x2 at line 5: the error is the first in the file
    (line 3, column 1), and only line 2 comes before it. Reported by its column's order instead, the error
    named line 5 and the rows handed out before it held line 3, its bad cell read as 0 (predict wrote it)."""
    (tmp_path / "d.csv").write_text("x1,x2\n1,2\noops,3\n4,5\n6,bad\n7,8\n")
    tables = []
    with csv_io.TableReader(str(tmp_path / "d.csv")) as reader:
        with pytest.raises(DataError) as e:
            for table in reader.chunks():
                tables.append(table)
    assert (e.value.line, e.value.column, e.value.column_name) == (3, 1, "x1")
    assert [t.lines.tolist() for t in tables] == [[2]]
    assert tables[0].columns["x1"].values.tolist() == [1] and tables[0].columns["x2"].values.tolist() == [2]


@pytest.mark.parametrize("body", ["c,x\n1,0\nNA,1\n2,2\noops,3\nnan,4\nlate,5\n3,6\n",
                                  "c\n1\nNA\n2\noops\nnan\nlate\n3\n"])
def test_a_column_read_as_text_from_the_start_names_its_first_word_not_a_missing_cell(tmp_path, body):
    """fit reads a file again with a column that turned to text after chunks of numbers as text from the
    start (`auto_as_text`): its first text cell, which errors and notices quote, is 'oops' at line 5 (not a
    later one), and its numbers count 3. Missing cells ('NA', 'nan') are neither: the first was quoted as its text."""
    (tmp_path / "d.csv").write_text(body)
    with csv_io.TableReader(str(tmp_path / "d.csv")) as reader:
        reader.select(["c"], auto=["c"], auto_as_text=["c"])
        col = reader.read().columns["c"]
    assert col.is_text and col.values.tolist() == ["1", "NA", "2", "oops", "nan", "late", "3"]
    assert col.first_text == (5, "oops") and col.n_numeric == 3


@pytest.mark.parametrize("end", ["\r", "\n"])
def test_text_cells_are_stripped_on_the_line_by_line_path_too(tmp_path, end):
    """Lone-CR line ends (old Mac files) are read line by line, through `numpy.loadtxt`: a category written
    ' red ' must be 'red' there as in blocks, or predict's cells miss the model's categories."""
    (tmp_path / "d.csv").write_bytes(end.join(["x,c", "1, red ", "2,blue", "3,  green", ""]).encode())
    table = csv_io.read_table(str(tmp_path / "d.csv"), text=["c"])
    assert table.columns["c"].values.tolist() == ["red", "blue", "green"]
    assert table.columns["x"].values.tolist() == [1, 2, 3] and table.lines.tolist() == [2, 3, 4]


def test_blocks_converted_before_an_auto_column_showed_text_are_read_again_as_text(tmp_path, monkeypatch):
    """The first block shows text in an auto column while the next blocks are already being converted, its
    cells taken for numbers: those conversions are stale. Taken as they were, the column came in numbers
    after text ('007' lost as 7, the column `retexted`: fit read the file twice, and from stdin refused it)."""
    small_blocks(monkeypatch, 64)
    cells = ["red"] + [f"{i:03d}" if i % 2 else f"{i}.50" for i in range(1, 40)]
    (tmp_path / "d.csv").write_text("c,x\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
    with csv_io.TableReader(str(tmp_path / "d.csv"), auto=["c"]) as reader:
        table = reader.read()
        assert reader.retexted == set()
    col = table.columns["c"]
    assert col.is_text and col.values.tolist() == cells and col.first_text == (2, "red")
    assert table.columns["x"].values.tolist() == list(range(40)) and table.lines.tolist() == list(range(2, 42))


@pytest.mark.parametrize("block", [16, 64, 1 << 18])
def test_blocks_of_any_size_give_the_same_table(tmp_path, monkeypatch, block):
    """Plain numbers, then missing cells and a blank line, then a quoted field with a newline."""
    small_blocks(monkeypatch, block)
    rows = [f"{i * 0.25:g},{-i},{i}e-1" for i in range(40)] + ["1,NA,2", "", "3,,4"]
    rows += [f"{i},{i},{i}" for i in range(10)] + ['"5",6,"7\n"'] + ["8,9,10"]
    path = tmp_path / "t.csv"
    write_rows(path, rows)
    t = csv_io.read_table(str(path))
    a = [i * 0.25 for i in range(40)] + [1, 3] + list(range(10)) + [5, 8]
    b = [-i for i in range(40)] + [np.nan, np.nan] + list(range(10)) + [6, 9]
    assert t.columns["a"].values.tolist() == a
    assert np.array_equal(t.columns["b"].values, np.asarray(b, np.float32), equal_nan=True)
    assert t.lines.tolist() == list(range(2, 43)) + [44] + list(range(45, 55)) + [55, 57]


@pytest.mark.parametrize("block", [16, 1 << 18])
def test_a_bad_cell_after_plain_blocks_is_reported_at_its_line(tmp_path, monkeypatch, block):
    small_blocks(monkeypatch, block)
    path = tmp_path / "t.csv"
    write_rows(path, [f"{i},{i},{i}" for i in range(30)] + ["1,x,2"])
    with pytest.raises(DataError) as e:
        csv_io.read_table(str(path))
    assert (e.value.line, e.value.column) == (32, 2)


@pytest.mark.parametrize("block", [16, 1 << 18])
def test_crlf_and_invalid_utf8_after_plain_blocks(tmp_path, monkeypatch, block):
    small_blocks(monkeypatch, block)
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b,c\n" + b"".join(b"%d,1,2\n" % i for i in range(20)) + b"7,8,9\r\n10,11,12\r\n")
    t = csv_io.read_table(str(path))
    assert t.columns["a"].values.tolist() == list(range(20)) + [7, 10] and t.lines[-1] == 23
    path.write_bytes(b"a,b,c\n" + b"".join(b"%d,1,2\n" % i for i in range(20)) + b"1,2,\xff\n")
    with pytest.raises(DataError, match="not valid UTF-8") as e:
        csv_io.read_table(str(path))
    assert e.value.line == 22


def test_a_first_line_with_no_end_is_refused_after_a_bounded_read(tmp_path, monkeypatch):
    """A minified JSON file given by mistake: line by line, its one line was read whole first."""
    small_blocks(monkeypatch, 64 << 10)
    monkeypatch.setattr(csv_io, "LINE_MAX_BYTES", 256 << 10)
    got = []
    real = csv_io.TableReader._read_raw
    monkeypatch.setattr(csv_io.TableReader, "_read_raw", lambda self, n: got.append(len(data := real(self, n))) or data)
    path = tmp_path / "one-line.json"
    path.write_bytes(b'{"a": [' + b"1, " * (1 << 20) + b"1]}")
    with pytest.raises(DataError, match=r":1: the first line is longer than 0.25 MB, with no line end: no CSV header"):
        csv_io.TableReader(str(path))
    assert sum(got) == (256 << 10) + 1
    cr = tmp_path / "cr.csv"  # a lone CR ends a line: a longer file of CR line ends reads as before
    cr.write_bytes(b"a,b\r" + b"1,2\r" * 100_000)
    with csv_io.TableReader(str(cr)) as reader:
        assert reader.header == ["a", "b"] and reader.read().n_rows == 100_000


LONG = 256 << 10  # LINE_MAX_BYTES in the tests below


@pytest.mark.parametrize("before, lead, fill", [
    (b"", b"", b"7"),  # plain bytes: read in blocks
    (b"", b"", b"\0"),  # /dev/zero after some rows
    (b'"x",1\n', b"", b"7"),  # a quote: read line by line
    (b"", b"1,2\r" * 5, b"8"),  # lines ended by lone CRs before it: line by line too
], ids=["blocks", "NUL", "quote", "CR"])
def test_a_line_with_no_end_is_refused_after_the_rows_before_it(tmp_path, monkeypatch, before, lead, fill):
    """Reading such a line whole took any amount of memory (`cat /dev/zero` after a header, forever)."""
    small_blocks(monkeypatch, 64 << 10)
    monkeypatch.setattr(csv_io, "LINE_MAX_BYTES", LONG)
    got = []
    real = csv_io.TableReader._read_raw
    monkeypatch.setattr(csv_io.TableReader, "_read_raw", lambda self, n: got.append(len(data := real(self, n))) or data)
    rows = b"".join(b"%d,%d\n" % (i, i) for i in range(5000))  # 42 KB: they and the long line's start share a block
    head = b"a,b\n" + before + rows + lead
    path = tmp_path / "t.csv"
    path.write_bytes(head + fill * (3 * LONG) + b"\n9,9\n")
    with csv_io.TableReader(str(path), text=["a"] if before else ()) as reader:
        seen = 0
        with pytest.raises(DataError, match=r"a line longer than 0.25 MB \(no line end in its first 0.25 MB\)") as e:
            for chunk in reader.chunks():
                seen += chunk.n_rows
    first = 2 + bool(before) + 5000 + lead.count(b"\r")  # the long line's number
    assert e.value.line == first and seen == first - 2
    assert sum(got) <= len(head) + LONG + 1  # never the whole line


def test_a_line_as_long_as_allowed_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_io, "LINE_MAX_BYTES", LONG)
    path = tmp_path / "t.csv"
    for end in (b"\n", b"\r\n", b"\r"):
        path.write_bytes(b"a,b" + end + b"1," + b"x" * (LONG - 2) + end + b"2,y" + end)
        t = csv_io.read_table(str(path), text=["b"])
        assert t.columns["a"].values.tolist() == [1, 2] and len(t.columns["b"].values[0]) == LONG - 2
        path.write_bytes(b"a,b" + end + b"1," + b"x" * (LONG - 1) + end + b"2,y" + end)
        with pytest.raises(DataError, match="a line longer than") as e:
            csv_io.read_table(str(path), text=["b"])
        assert e.value.line == 2


@pytest.mark.parametrize("lead, end", [("", "\n"), ('"q",1,a\n', "\n"), ("", "\r")], ids=["blocks", "quote", "CR"])
def test_one_long_text_cell_does_not_make_every_cell_as_wide(tmp_path, monkeypatch, lead, end):
    """A str array's cells all take the longest one's room: one cell of 100,000 characters among
    3,000 made 1.2 GB a copy. Such a column is an array of Python strings instead."""
    small_blocks(monkeypatch, 16 << 10)  # chunks of a few hundred rows: the long cell is in the first
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 500)
    long = "L" * 100_000
    rows = [f" {long} ,0.5,b"] + [f"r{i},{i},{'ab'[i % 2]}" for i in range(3000)]
    path = tmp_path / "t.csv"
    path.write_bytes(("id,x,label" + end + lead.replace("\n", end) + end.join(rows) + end).encode())
    tracemalloc.start()
    t = csv_io.read_table(str(path), text=["id", "label"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    ids = t.columns["id"].values
    skip = 1 if lead else 0
    assert ids.dtype == object and ids.tolist()[skip:] == [long] + [f"r{i}" for i in range(3000)]
    assert t.columns["id"].is_text and t.columns["label"].values.dtype.kind == "U"  # short cells: as before
    assert t.columns["x"].values[skip:].tolist() == [0.5] + list(range(3000))
    assert peak < 20e6, peak  # a str array of the ids alone: 1,200 MB


def test_up_to_20_distinct_integers_are_class_labels_and_more_are_numbers_to_predict():
    # README: "a target with text values, or with at most 20 distinct integers, is" classification
    from nncli.core.preprocessing import MAX_CLASS_INTEGERS, infer_task

    assert MAX_CLASS_INTEGERS == 20
    twenty = np.array([str(k % 20) for k in range(60)])
    assert infer_task(twenty) == "classification"
    assert infer_task(np.array([str(k % 21) for k in range(63)])) == "regression"
    assert infer_task(np.array(["1", "2", "2.5"])) == "regression"
    assert infer_task(np.array(["a", "1"])) == "classification"


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss counts KB on Linux")
def test_a_wide_table_of_text_takes_memory_by_its_cells_not_by_a_buffer_of_rows(tmp_path):
    """np.loadtxt, not told how many rows a chunk has, set aside 50,000 rows for each column: 250 lines
    of 2,500 text columns (a 1.3 MB file) took 1.05 GB to read, and 5,000 columns 2 GB. (Its own buffer,
    which tracemalloc does not see: the peak resident memory of a process that reads the table.)"""
    path = tmp_path / "wide.csv"
    with open(path, "w") as f:
        f.write(",".join(f"c{j}" for j in range(2500)) + ",label\n")
        for i in range(250):
            f.write(",".join("abcde"[(i * 7 + j * 3) % 5] for j in range(2500)) + f",{i % 2}\n")
    code = ("import resource, sys; from nncli.workflow import DataOptions, load_training_data; "
            "d = load_training_data(sys.argv[1], DataOptions(), 'auto'); "
            "print(d.X.shape[1], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                       env=nncli_env(NNCLI_NO_ARROW="1"))
    inputs, peak_kb = map(int, r.stdout.split())
    assert inputs == 2500 * 5 and peak_kb < 400_000, (r.stderr, peak_kb)  # (about 105 MB; 1,052 MB before)


_KEEP_FREED_MEMORY = """
import ctypes, os
import numpy as np
from nncli.allocator import keep_freed_memory, release_free_memory

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
statm = os.open("/proc/self/statm", os.O_RDONLY)
rss = lambda: int(os.pread(statm, 100, 0).split()[1]) * 4096  # (no buffer from malloc's heap)
print(keep_freed_memory(), keep_freed_memory())
mapped = libc.mallinfo2().hblks
one, big = np.ones(1 << 17), np.ones(20 << 17)  # 1 MB from the heap, 20 MB mmapped
print(libc.mallinfo2().hblks - mapped)
del one, big
libc.malloc.restype = ctypes.c_void_p
block = libc.malloc(12 << 20)  # (under the 16 MB for mmap; at the heap's top: nothing comes after it)
before = rss()
ctypes.memset(block, 1, 12 << 20)
full = rss()
libc.free(ctypes.c_void_p(block))
freed = rss()
release_free_memory()
print(full - before, full - freed, freed - rss())
"""


@pytest.mark.skipif(sys.platform != "linux" or not os.confstr("CS_GNU_LIBC_VERSION"), reason="glibc's malloc")
def test_malloc_keeps_freed_memory_for_the_next_temporaries_until_told_to_release_it():
    """The block-wise parser's temporaries of 128 KB and more were mmapped and unmapped each time, and
    page faults were 45% of read_table's time (`nncli.allocator`). Tuned (twice: True twice), a 1 MB
    array comes from the heap and a 20 MB one is still mmapped; 12 MB freed at the heap's top stay in
    the process (by default, free hands back what passes 128 KB there) until `release_free_memory`."""
    r = subprocess.run([sys.executable, "-c", _KEEP_FREED_MEMORY], capture_output=True, text=True, timeout=120,
                       env=nncli_env())
    if "mallinfo2" in r.stderr:
        pytest.skip("glibc before 2.33 has no mallinfo2")
    tuned, mapped, sizes = r.stdout.splitlines()
    assert tuned == "True True", r.stderr
    assert mapped == "1"  # the 20 MB array (untuned: both, malloc's threshold for mmap being 128 KB)
    used, returned_by_free, released = map(int, sizes.split())
    assert used > 10 << 20 and returned_by_free < 2 << 20 and released > 10 << 20, sizes


def test_targets_with_one_long_cell_are_looked_at_without_wide_str_arrays():
    """The distinct labels went into a str array as wide as the longest (200 labels and one of
    100,000 characters: 80 MB, 7.45 GiB for 2,000 and 1 MB), and NumPy's cast of wide str cells to
    numbers takes ~500 bytes a character."""
    from nncli.core.preprocessing import class_labels, infer_task, target_numbers

    long = "L" * 100_000
    labels = np.array([long] + [f"c{i}" for i in range(200)] * 3, dtype=object)
    tracemalloc.start()
    assert infer_task(labels) == "classification" and class_labels(labels)[0] == long
    numbers = target_numbers(np.array(["0." + "1" * 100_000, "1.5"]), "y")  # (a str array, 800 KB)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert numbers.tolist() == [float("0." + "1" * 100_000), 1.5]
    assert peak < 20e6, peak


def test_text_arrays_are_str_arrays_unless_too_wide():
    assert csv_numbers.text_array(["a", "bb", " c "], strip=True).tolist() == ["a", "bb", "c"]
    assert csv_numbers.text_array(["a", "bb"]).dtype == np.dtype("<U2")
    wide = csv_numbers.text_array([" " + "x" * 2_000_000 + " ", "y"], strip=True)
    assert wide.dtype == object and wide.tolist() == ["x" * 2_000_000, "y"]
    # Pieces of a column: str arrays join as one unless the widest would make it too wide.
    assert csv_columns.join_text([np.array(["a"]), np.array(["bcd"])]).dtype == np.dtype("<U3")
    joined = csv_columns.join_text([np.array(["a"] * 100_000), np.array(["z" * 100])])
    assert joined.dtype == object and joined.tolist() == ["a"] * 100_000 + ["z" * 100]
    # Targets read as either kind of array are the same numbers, or the same labels.
    from nncli.core.preprocessing import infer_task, target_numbers
    for cells in (["1.5", "2", "1e3"], ["1_000", "2"], ["3", "x"]):
        for kind in (str, object):
            arr = np.array(cells, dtype=kind)
            assert infer_task(arr) == infer_task(np.array(cells))
            try:
                got = target_numbers(arr, "y").tolist()
            except DataError as e:
                got = str(e)
            assert got == ([1.5, 2.0, 1000.0] if cells[0] == "1.5" else "expected a finite number as the target, "
                           f"found '{'1_000' if cells[0] == '1_000' else 'x'}'"), (cells, kind)


def test_a_wide_file_is_read_in_blocks_of_many_lines(tmp_path, monkeypatch):
    # Each block costs something per column: a wide file's blocks hold a few dozen lines, not one.
    monkeypatch.setattr(csv_io, "BLOCK_BYTES", 2048)  # the header's 1.5 KB, and two lines
    rng = np.random.default_rng(0)
    X = rng.integers(0, 100, (400, 300)).astype(np.float32)
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{j}" for j in range(300)) + "\n"
                    + "".join(",".join(str(int(v)) for v in row) + "\n" for row in X))
    sizes = []
    with csv_io.TableReader(str(path)) as reader:
        for t in reader.chunks():
            sizes.append(t.n_rows)
            np.testing.assert_array_equal(np.column_stack([t.columns[f"c{j}"].values for j in range(300)]),
                                          X[sum(sizes) - t.n_rows:sum(sizes)])
    assert sum(sizes) == 400
    assert 1 < len(sizes) <= path.stat().st_size // (csv_io.BLOCK_BYTES_PER_COLUMN * 300) + 1  # (not 400 of 1)


def test_a_wide_files_blocks_are_converted_in_pieces_of_many_lines(tmp_path, monkeypatch):
    """Each piece costs some work for every column (10,000 text columns: pieces of 10 rows took 12.8 s)."""
    pieces = []
    real = csv_columns.parse_block
    monkeypatch.setattr(csv_columns, "parse_block",
                        lambda piece, *a: pieces.append(piece.count(b"\n")) or real(piece, *a))
    monkeypatch.setattr(csv_columns, "PARSE_BYTES", 1 << 12)  # a few lines of 300 columns
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{j}" for j in range(300)) + "\n" + ("1,ab," * 150)[:-1].join(["", "\n"]) * 400)
    t = csv_io.read_table(str(path), text=[f"c{j}" for j in range(1, 300, 2)])
    assert t.n_rows == 400 and t.columns["c299"].values.tolist() == ["ab"] * 400
    assert sum(pieces) == 400 and min(pieces[:-1], default=400) >= 256 * 300 // 900  # (900 bytes a line)


def test_a_small_table_is_read_in_smaller_pieces_than_a_stream(tmp_path, monkeypatch):
    """`read` holds the whole table: on a small one, the conversion's temporaries are kept small
    beside it (smaller blocks and pieces); streaming, and a big table, use the full sizes."""
    monkeypatch.setattr(csv_io, "BLOCK_BYTES", 1 << 14)
    monkeypatch.setattr(csv_columns, "PARSE_BYTES", 1 << 12)
    pieces: list[int] = []
    lock = threading.Lock()

    def parse(piece, *args):
        with lock:
            pieces.append(len(piece))
        return parse_block(piece, *args)

    monkeypatch.setattr(csv_columns, "parse_block", parse)
    path = tmp_path / "t.csv"
    write_rows(path, [f"{i},{i / 4},{-i}" for i in range(20_000)])

    def largest(read) -> int:
        pieces.clear()
        read()
        return max(pieces)

    def stream() -> None:
        with csv_io.TableReader(str(path)) as reader:
            assert sum(t.n_rows for t in reader.chunks()) == 20_000

    def whole() -> None:
        assert csv_io.read_table(str(path)).columns["c"].values.tolist() == [-i for i in range(20_000)]

    assert 3 << 10 < largest(stream) <= 1 << 12
    assert largest(whole) <= 1 << 10
    monkeypatch.setattr(csv_io, "SMALL_TABLE_BYTES", 0)  # as if the table were big
    assert largest(whole) > 3 << 10


@pytest.mark.parametrize("rows, final_newline", [(1000, True), (15, False), (14, False), (1000, False)])
def test_streaming_chunks_never_exceed_chunk_rows(tmp_path, rows, final_newline):
    """Also when the file's last line has no line end (15 lines: 14 line ends, then one more line)."""
    path = tmp_path / "t.csv"
    path.write_bytes(("a,b,c\n" + "\n".join(f"{i},{i},{i}" for i in range(rows))
                      + ("\n" if final_newline else "")).encode())
    with csv_io.TableReader(str(path), chunk_rows=7) as reader:
        chunks = list(reader.chunks())
    assert max(t.n_rows for t in chunks) == 7 and sum(t.n_rows for t in chunks) == rows
    assert np.concatenate([t.columns["c"].values for t in chunks]).tolist() == list(range(rows))
    assert np.concatenate([t.lines for t in chunks]).tolist() == list(range(2, rows + 2))


def test_then_runs_on_the_converting_threads_for_block_chunks_only(tmp_path):
    """`chunks(then=f)`: f(numbers, first_row) of each plain block, computed off the consuming thread, is
    the chunk's `derived`; a chunk read line by line (after a cell quoted for its comma) has None there.
    first_row: the block's first row's number among the file's rows."""
    path = tmp_path / "t.csv"
    write_rows(path, [f"{i},{i / 2},x" for i in range(30)] + ['30,15,"x,y"']
               + [f"{i},{i / 2},x" for i in range(31, 40)])
    threads = set()

    def then(numbers, first_row):
        threads.add(threading.get_ident())
        return first_row, numbers.sum(axis=1)

    with csv_io.TableReader(str(path), text=["c"], chunk_rows=10) as reader:
        chunks = list(reader.chunks(then))
    assert sum(c.n_rows for c in chunks) == 40
    block = [c for c in chunks if c.derived is not None]
    assert [c.lines[0] for c in block] == [2, 12, 22]  # the three chunks before the quote
    for c in block:
        first_row, sums = c.derived
        assert first_row == c.lines[0] - 2
        np.testing.assert_array_equal(sums, [c.columns[k].values.sum() for k in "ab"])
    assert all(c.derived is None for c in chunks if c.lines[0] > 31)
    assert threads and threading.get_ident() not in threads


def test_then_counts_the_rows_before_each_block_past_blank_lines(tmp_path):
    """A blank line holds no row: `then`'s first_row for each block after one is its lines less the
    blank ones before it (single or double, at odd and even byte offsets, first or last in a block)."""
    rng = np.random.default_rng(7)
    lines = [f"{i},{'9' * rng.integers(1, 4)},{i % 3}" for i in range(600)]
    for at in sorted(rng.choice(len(lines), 60, replace=False), reverse=True):
        lines[at:at] = [""] * int(rng.integers(1, 3))
    write_rows(tmp_path / "t.csv", [""] + lines)  # (a blank line first, too)
    with csv_io.TableReader(str(tmp_path / "t.csv"), chunk_rows=10) as reader:
        chunks = list(reader.chunks(lambda numbers, first_row: first_row))
    rows_before = np.cumsum([0] + [c.n_rows for c in chunks])
    converted = [(c.derived, int(rows_before[k])) for k, c in enumerate(chunks) if c.derived is not None]
    assert rows_before[-1] == 600 and len(converted) > 20
    assert [first_row for first_row, _ in converted] == [rows for _, rows in converted]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_crlf_lines_are_read_in_blocks_like_lf_lines(tmp_path, bom):
    """Windows line ends sent a whole file through the csv module, line by line (predict: 2x the time)."""
    rows = [b"%d,%d.5,%d" % (i, i, i % 3) for i in range(40)]
    lf, crlf = tmp_path / "lf.csv", tmp_path / "crlf.csv"
    lf.write_bytes(bom + b"a,b,c\n" + b"\n".join(rows) + b"\n")
    crlf.write_bytes(bom + b"a,b,c\r\n" + b"\r\n".join(rows))  # (the last line without its end)

    def read(path):
        with csv_io.TableReader(str(path), chunk_rows=10) as reader:
            return reader.header, list(reader.chunks(lambda numbers, first_row: "converted as a block"))

    (h1, a), (h2, b) = read(lf), read(crlf)
    assert h1 == h2 == ["a", "b", "c"] and len(a) == len(b) == 4
    assert all(c.derived == "converted as a block" for c in a + b)
    for x, y in zip(a, b):
        assert x.lines.tolist() == y.lines.tolist()
        for k in "abc":
            np.testing.assert_array_equal(x.columns[k].values, y.columns[k].values)


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_fields_quoted_simply_are_read_in_blocks_like_unquoted_ones(tmp_path, delimiter):
    """Some programs quote every field: such a file went through the csv module, line by line (~12x)."""
    rows = [[f"{i}", f"{i}.5", "yes" if i % 3 else "no"] for i in range(40)]
    plain, quoted = tmp_path / "plain.csv", tmp_path / "quoted.csv"
    plain.write_text("\n".join(delimiter.join(r) for r in [["a", "b", "c"]] + rows) + "\n")
    quoted.write_text("\n".join(delimiter.join(f'"{c}"' for c in r) for r in [["a", "b", "c"]] + rows) + "\n")

    def read(path):
        with csv_io.TableReader(str(path), text=["c"], chunk_rows=10) as reader:
            return reader.header, list(reader.chunks(lambda numbers, first_row: "converted as a block"))

    (h1, a), (h2, b) = read(plain), read(quoted)
    assert h1 == h2 == ["a", "b", "c"] and len(b) == 4 and all(c.derived == "converted as a block" for c in a + b)
    for x, y in zip(a, b):
        assert x.lines.tolist() == y.lines.tolist()
        for k in "abc":
            np.testing.assert_array_equal(x.columns[k].values, y.columns[k].values)


@pytest.mark.parametrize("line, cells", [
    (b'"1","a"\n', [b"1", b"a"]), (b'"",2\n', [b"", b"2"]), (b'1,"2"\n"3",4\n', [b"1", b"2", b"3", b"4"]),
    (b'"1,5",2\n', None), (b'"1""5",2\n', None), (b'1"5",2\n', None), (b'"1"5,2\n', None), (b' "1",2\n', None),
    (b'"1\n2",3\n', None), (b'"1,2\n', None), (b'1,2"\n', None)])
def test_unquoted_takes_only_what_the_csv_module_reads_alike(line, cells):
    got = csv_numbers.unquoted(line, ",")
    assert got is None if cells is None else got.replace(b"\n", b",").rstrip(b",").split(b",") == cells
    if cells is not None:  # the csv module's reading of the line
        assert [c.encode() for row in csv.reader(io.StringIO(line.decode())) for c in row] == cells


@pytest.mark.parametrize("newline, quote", [("\n", False), ("\r\n", False), ("\n", True)])
def test_as_written_columns_come_as_numbers_and_as_written(tmp_path, newline, quote):
    """Blocks, lines through loadtxt (CRLF) and the csv module (a quoted cell) alike."""
    cells = ["1000000.125730", " 2.50 ", "-3", "1e-7", "0.1234567891"] * 3
    rows = [f"{c},{i},x{i}" for i, c in enumerate(cells)]
    if quote:
        rows[7] = f'"{cells[7]}",7,x7'
    write_rows(tmp_path / "t.csv", rows, newline)
    with csv_io.TableReader(str(tmp_path / "t.csv"), ["a", "b", "c"], text=["c"], as_written=["a", "c"],
                            chunk_rows=4) as reader:
        chunks = list(reader.chunks())
    assert [v for t in chunks for v in t.as_written["a"].tolist()] == [c.strip() for c in cells]
    assert [v for t in chunks for v in t.columns["a"].values.tolist()] == [np.float32(c) for c in cells]
    assert all(set(t.as_written) == {"a"} for t in chunks)  # c is text: as written anyway


def test_as_written_stops_with_the_rows_before_a_bad_cell(tmp_path):
    write_rows(tmp_path / "t.csv", ['"1.50",1,2', "2.25,oops,3", "4,5,6"])
    with csv_io.TableReader(str(tmp_path / "t.csv"), as_written=["a"]) as reader:
        chunks = reader.chunks()
        first = next(chunks)
        with pytest.raises(DataError, match="expected a number, found 'oops'"):
            next(chunks)
    assert first.as_written["a"].tolist() == ["1.50"] and first.n_rows == 1


def test_read_holds_numbers_once(tmp_path, monkeypatch):
    """A file of plain numbers (and text) is read into one block, every numeric column a view of it."""
    monkeypatch.setenv("NNCLI_NO_ARROW", "1")  # nncli's own reader (pyarrow: test_csv_arrow)
    path = tmp_path / "t.csv"
    write_rows(path, [f"{i},{i / 4},{-i}" for i in range(100)])
    t = csv_io.read_table(str(path))
    a, b = t.columns["a"].values, t.columns["c"].values
    assert a.base is not None and a.base is b.base and a.flags.c_contiguous
    assert b.tolist() == [-i for i in range(100)]
    write_rows(path, [f"{i},x{i},{i}" for i in range(100)])
    t = csv_io.read_table(str(path), text=["b"])
    assert t.columns["b"].values.tolist() == [f"x{i}" for i in range(100)]


@pytest.mark.parametrize("block", [16, 1 << 18])
def test_text_columns_and_ignored_columns_of_text(tmp_path, monkeypatch, block):
    """Categorical cells (any text but the delimiter) and unread id columns do not stop the block path."""
    small_blocks(monkeypatch, block)
    monkeypatch.setattr(csv_columns, "PARSE_BYTES", block // 2)
    path = tmp_path / "t.csv"
    rows = [f"id-{i}, {'Zürich' if i % 3 else 'e-1.5'} ,{i}e-1,,{i}" for i in range(40)]
    path.write_bytes(("id,city,x,empty,y\n" + "".join(r + "\n" for r in rows)).encode())
    t = csv_io.read_table(str(path), ["city", "x", "y"], text=["city"])
    assert t.columns["city"].values.tolist() == ["Zürich" if i % 3 else "e-1.5" for i in range(40)]
    assert t.columns["x"].values.tolist() == [np.float32(i / 10) for i in range(40)]
    assert t.columns["y"].values.tolist() == list(range(40))
    assert t.lines.tolist() == list(range(2, 42))


@pytest.mark.parametrize("block", [16, 1 << 18])
def test_labels_written_as_numbers_stay_text_as_written(tmp_path, monkeypatch, block):
    small_blocks(monkeypatch, block)
    monkeypatch.setattr(csv_columns, "PARSE_BYTES", block // 2)
    labels = ["03", "1.0", "-2", "7", "1e3", "0"] * 5
    path = tmp_path / "t.csv"
    write_rows(path, [f"{i},{lab},{i / 2}" for i, lab in enumerate(labels)])
    t = csv_io.read_table(str(path), text=["b"])
    assert t.columns["b"].is_text and t.columns["b"].values.tolist() == labels
    assert t.columns["c"].values.tolist() == [i / 2 for i in range(30)]
    with csv_io.TableReader(str(path), text=["b"]) as reader:
        chunks = list(reader.chunks())
    assert all(c.columns["b"].is_text for c in chunks)
    assert [v for c in chunks for v in c.columns["b"].values.tolist()] == labels


def test_two_marks_in_one_field_are_refused_on_every_row():
    """The same column holding two points (or exponents) on every row is not one per field."""
    for text in (b"1.2.3,4\n5.6.7,8\n", b"1e1e1,4\n5e1e1,8\n", b"1,2.3.4\n5,6.7.8\n"):
        assert parse_block(text, 2, ",", np.float32) is None
    got = parse_block(b"1.5,4\n5,8.5\n0,1\n", 2, ",", np.float32)
    assert got is not None and got.tolist() == [[1.5, 4], [5, 8.5], [0, 1]]


def test_a_text_column_of_empty_cells():
    assert csv_numbers.block_cells(b"1.5,2,\n3,4,\n", 3, ",", [2])[0].tolist() == ["", ""]


@pytest.mark.parametrize("body", [
    "1,-999,a\n2,-999.0,b\n3,-9990,c\n4,5,d\n",  # plain: one block, converted at once
    '1,-999,a\n2,-999.0,"b"\n3,-9990,c\n4,5,d\n',  # a quote: the csv module, line by line
    "1,-999,a\r2,-999.0,b\r3,-9990,c\r4,5,d\r",  # lone CR line ends: read line by line
])
@pytest.mark.parametrize("chunks", [False, True], ids=["read", "chunks"])
def test_a_number_among_the_missing_value_tokens_is_missing_on_every_path(tmp_path, body, chunks):
    # By value: -999.0 is -999; -9990 is not. It used to depend on the path: a plain block read
    # -999 as a number, a block with a quote somewhere as missing.
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n" + body)
    na = [*csv_io.DEFAULT_NA_VALUES, "-999"]
    with csv_io.TableReader(str(path), text=["label"], na_values=na) as reader:
        tables = list(reader.chunks()) if chunks else [reader.read()]
    b = np.concatenate([t.columns["b"].values for t in tables])
    np.testing.assert_array_equal(np.isnan(b), [True, True, False, False])
    assert b[2] == -9990 and b[3] == 5


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("block", [16, 1 << 18])
def test_a_one_column_file_skips_blank_lines_and_refuses_extra_fields(tmp_path, monkeypatch, block, newline):
    # With one column a blank line has the right number of fields (one): it read as a missing
    # cell, and '2,3' as 2, where the other paths skip the one and refuse the other. A line of
    # spaces is a row, its cell missing (csv.writer writes a cell of a space so; it was skipped,
    # and predict's output one row short)
    small_blocks(monkeypatch, block)
    path = tmp_path / "t.csv"
    path.write_bytes(newline.join(["x", "1", "", "  ", "2", ""]).encode())
    t = csv_io.read_table(str(path))
    assert np.isnan(t.columns["x"].values[1]) and t.columns["x"].values[[0, 2]].tolist() == [1.0, 2.0]
    assert t.lines.tolist() == [2, 4, 5]
    assert csv_io.read_table(str(path), text=["x"]).columns["x"].values.tolist() == ["1", "", "2"]
    # But `""` is a row, with an empty cell (the only way to write a missing cell there): it was skipped,
    # and predict's output one row short
    path.write_bytes(newline.join(["x", "1", '""', "", "2", ""]).encode())
    t = csv_io.read_table(str(path))
    assert np.isnan(t.columns["x"].values[1]) and t.columns["x"].values[[0, 2]].tolist() == [1.0, 2.0]
    assert t.lines.tolist() == [2, 3, 5]
    assert csv_io.read_table(str(path), text=["x"]).columns["x"].values.tolist() == ["1", "", "2"]
    path.write_bytes(newline.join(['"x"', '"1"', '""', '"2"', ""]).encode())  # every field quoted
    assert csv_io.read_table(str(path)).lines.tolist() == [2, 3, 4]
    path.write_bytes(newline.join(["x,y", "1,2", '""', "3,4", ""]).encode())  # with more columns: a blank line
    assert csv_io.read_table(str(path)).lines.tolist() == [2, 4]
    path.write_bytes(newline.join(["x", "1", "2,3", "4", ""]).encode())
    with pytest.raises(DataError, match="expected 1 fields as in the header, found 2") as e:
        csv_io.read_table(str(path))
    assert (e.value.line, e.value.column) == (3, 2)


def test_the_rows_before_an_undecodable_line_come_first(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"x,y\n1,0\n2,0\n\xff,0\n5,0\n")
    lines = []
    with pytest.raises(DataError, match="not valid UTF-8") as e:
        with csv_io.TableReader(str(path)) as reader:
            for chunk in reader.chunks():
                lines += chunk.lines.tolist()
    assert lines == [2, 3] and e.value.line == 4
    path.write_bytes(b"x,y\noops,0\n2,\xff\n")  # so an earlier bad cell is the problem reported
    with pytest.raises(DataError, match="found 'oops'") as e:
        csv_io.read_table(str(path))
    assert e.value.line == 2


class _Trickle(io.RawIOBase):
    """A pipe whose writer sends a byte at a time: each read gets one."""

    def __init__(self, data: bytes):
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if not self._data:
            return 0
        b[0], self._data = self._data[0], self._data[1:]
        return 1


def test_gzip_on_stdin_is_found_when_its_first_byte_comes_alone(monkeypatch):
    """The gzip check peeked at the first read, which from a pipe may hold one byte: the stream was then
    read as text, and refused as not UTF-8 at its second byte."""
    import nncli.csv_source as csv_source

    monkeypatch.setattr(csv_source, "_open_binary", lambda path: _Trickle(gzip.compress(b"a,b\n1,2\n3,4\n")))
    table = csv_io.read_table("-")
    assert table.header == ["a", "b"] and table.columns["b"].values.tolist() == [2, 4]


def test_corrupt_gzip_data_is_a_data_error(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff")  # an invalid deflate block
    with pytest.raises(DataError, match="cannot read the file: .*invalid block type") as e:
        csv_io.read_table(str(path))
    assert e.value.line is None


def test_a_corrupt_gzip_member_after_the_rows_blames_no_line(tmp_path):
    # The bytes are read ahead of the lines taken: the error named the line being taken (98,306 here).
    path = tmp_path / "t.csv.gz"
    rows = "x,y\n" + "".join(f"{i},{i % 7}\n" for i in range(200_000))
    path.write_bytes(gzip.compress(rows.encode()) + b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff")
    with pytest.raises(DataError, match="cannot read the file: .*invalid block type") as e:
        csv_io.read_table(str(path))
    assert e.value.line is None and "t.csv.gz: cannot read" in str(e.value)


def test_a_gzip_file_that_fails_its_crc_check_is_not_said_to_have_bytes_appended(tmp_path):
    # The hint about bytes after the compressed data is for "Not a gzipped file" past the first member only.
    data = bytearray(gzip.compress(b"x,y\n1,2\n3,4\n"))
    data[-8:-4] = bytes(b ^ 0xFF for b in data[-8:-4])  # the CRC-32 of the member
    path = tmp_path / "t.csv.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="cannot read the file: CRC check failed") as e:
        csv_io.read_table(str(path))
    assert not e.value.hint


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_one_column_file_reads_lines_of_any_spaces_as_missing_cells(tmp_path, newline):
    # str.strip's spaces beyond ' \t\f\v' (NBSP, \x1c): the block path once read such a line as a cell
    # as written; it is a row whose cell is missing, as a line of plain spaces is.
    path = tmp_path / "t.csv"
    path.write_bytes(newline.join(["color", "red", "\xa0", "\x1c", "blue", ""]).encode())
    t = csv_io.read_table(str(path), text=["color"])
    assert t.columns["color"].values.tolist() == ["red", "", "", "blue"] and t.lines.tolist() == [2, 3, 4, 5]


def test_the_rows_before_an_undecodable_line_inside_a_quoted_field_come_first(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b'x,y\n1,0\n2,0\n"3\n\xff",0\n5,0\n')
    lines = []
    with pytest.raises(DataError, match="not valid UTF-8") as e:
        with csv_io.TableReader(str(path), text=["x"]) as reader:
            for chunk in reader.chunks():
                lines += chunk.lines.tolist()
    assert lines == [2, 3] and e.value.line == 5


def test_an_undecodable_line_a_quoted_field_reaches_past_its_chunk_is_named_by_its_own_line(tmp_path, monkeypatch):
    """A quoted field open at a chunk's last line reads on, line by line, into the next chunk's lines: the
    line it finds undecodable is counted before it is named (it was named one line up, line 5 for 6)."""
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 4)
    path = tmp_path / "t.csv"
    path.write_bytes(b'x,y\n"1",0\n2,0\n3,0\n"4\n\xff",0\n5,0\n')  # (the field opened on line 5 ends on 6)
    lines = []
    with pytest.raises(DataError, match="not valid UTF-8") as e:
        with csv_io.TableReader(str(path), text=["x"]) as reader:
            assert reader.chunk_rows == 4
            for chunk in reader.chunks():
                lines += chunk.lines.tolist()
    assert lines == [2, 3, 4] and e.value.line == 6


@pytest.mark.parametrize("name_cell", ["ab", '"a,b"', '"a\nb"'])  # block path; simple quotes; the csv module's
def test_a_missing_value_token_padded_with_spaces_is_missing_on_every_path(tmp_path, name_cell):
    path = tmp_path / "t.csv"
    path.write_text(f"x,name,y\n1,{name_cell},2\n NA ,c,3\n-2.5, ? ,4\n")
    t = csv_io.read_table(str(path), text=["name"])
    assert np.array_equal(t.columns["x"].values, np.array([1, np.nan, -2.5], np.float32), equal_nan=True)
    assert t.columns["name"].values.tolist() == [name_cell.strip('"'), "c", "?"]


@pytest.mark.parametrize("content", [b"", b"\n1,2\n", b"a,\x00b\n1,2\n", b"a,a\n1,2\n", b"x,y\n1,2\n"])
def test_a_reader_that_fails_on_the_header_closes_its_file(tmp_path, monkeypatch, content):
    # (only an empty file's error closed it: NUL bytes, a bad header or a missing column left it open)
    opened = []
    real = csv_io.open_binary
    monkeypatch.setattr(csv_io, "open_binary", lambda path: opened.append(real(path)) or opened[-1])
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    with pytest.raises(DataError):
        csv_io.TableReader(str(path), ["a", "b"])
    assert len(opened) == 1 and opened[0].closed


@pytest.mark.parametrize("read", ["read_table", "chunks left early"])
def test_a_reader_closes_its_file_when_it_is_done(tmp_path, monkeypatch, read):
    opened = []
    real = csv_io.open_binary
    monkeypatch.setattr(csv_io, "open_binary", lambda path: opened.append(real(path)) or opened[-1])
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    if read == "read_table":
        assert csv_io.read_table(str(path)).n_rows == 2
    else:
        with csv_io.TableReader(str(path)) as reader:
            next(reader.chunks())
    assert len(opened) == 1 and opened[0].closed


@pytest.mark.parametrize("mark", ["e", "E"])
def test_exponents_in_a_block_with_missing_value_tokens_are_read_as_float_reads_them(mark):
    # With a missing-value token in the block, the exponents are found again in the blanked block.
    rows = [[f"1{mark}5", "NA"], [f"2.5{mark}-3", "7"], ["NA", f"-4{mark}+2"]]
    block = "".join(",".join(r) + "\n" for r in rows).encode()
    got = parse_block(block, 2, ",", np.float64, na_values=frozenset({b"NA"}))
    expected = np.array([[np.nan if c == "NA" else float(c) for c in r] for r in rows])
    assert got is not None
    np.testing.assert_array_equal(got, expected)


def test_only_a_regular_file_has_an_identity_for_eval_to_know_it_by(tmp_path):
    """`eval` tells the training file by its identity; a FIFO's (or a directory's) names no data, and
    was stored all the same, as if the file could be told again."""
    import os

    from nncli.csv_source import file_identity

    (tmp_path / "d.csv").write_text("x,y\n1,2\n")
    os.mkfifo(tmp_path / "fifo")
    identity = file_identity(str(tmp_path / "d.csv"))
    assert identity is not None and identity["size"] == 8
    assert file_identity(str(tmp_path / "fifo")) is None and file_identity(str(tmp_path)) is None
    assert file_identity("-") is None and file_identity(str(tmp_path / "gone.csv")) is None


def test_only_the_two_byte_gzip_magic_starts_gunzipping(tmp_path):
    """A file whose first byte is 0x1f but whose second is not 0x8b is no gzip stream: it is read as it
    is (a check of the first byte alone refused it as 'Not a gzipped file')."""
    from nncli.csv_source import open_binary

    (tmp_path / "d.csv").write_bytes(b"\x1fa,b\n1,2\n")
    with open_binary(str(tmp_path / "d.csv")) as f:
        assert f.read() == b"\x1fa,b\n1,2\n"
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(b"a,b\n1,2\n"))
    with open_binary(str(tmp_path / "d.csv.gz")) as f:
        assert f.read() == b"a,b\n1,2\n"


def test_a_line_break_inside_a_quoted_cell_is_kept_as_written(tmp_path):
    """A cell holding "a\\r\\nb" (Excel writes CRLF inside cells) is that text: decoding with newline
    translation turned it into "a\\nb", another category than the same cell at predict time."""
    (tmp_path / "d.csv").write_bytes(b'note,y\r\n"a\r\nb",1\r\n"c\rd",0\r\nplain,1\r\n')
    table = csv_io.read_table(str(tmp_path / "d.csv"), text={"note"})
    assert table.columns["note"].values.tolist() == ["a\r\nb", "c\rd", "plain"]


def test_a_later_line_that_starts_like_a_zip_archive_is_named_by_its_line(tmp_path):
    """The first bytes tell a file's format only on its first line: NUL bytes on line 3 after 'PK\\x03\\x04'
    are a fault on that line, not 'is a zip archive' (which named no line)."""
    (tmp_path / "d.csv").write_bytes(b"a,b\n1,2\nPK\x03\x04\x00,3\n")
    with pytest.raises(DataError, match="the file contains NUL bytes") as e:
        csv_io.read_table(str(tmp_path / "d.csv"), text={"a"})
    assert e.value.line == 3


def test_the_delimiter_is_the_commonest_candidate_in_the_header_and_on_a_tie_the_first():
    """`a,b;c` is comma-separated, as the documentation says of a tie (the mutation taking the last
    candidate of a tie made it ';', one column fewer, unnoticed); quoted names do not count."""
    from nncli.csv_source import detect_delimiter

    assert [detect_delimiter(h) for h in ("a;b;c,d", "a\tb\tc|d", "a|b")] == [";", "\t", "|"]
    assert [detect_delimiter(h) for h in ("a,b;c", "a;b\tc", "a\tb|c", "abc")] == [",", ";", "\t", ","]
    assert detect_delimiter('"a;b;c",d') == ","
