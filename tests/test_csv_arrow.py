"""The optional pyarrow path of read_table gives exactly what the plain path gives, or steps aside."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import nncli_env
from nncli import csv_arrow, csv_io
from nncli.csv_io import read_table
from nncli.errors import DataError

pytest.importorskip("pyarrow")


@pytest.fixture(autouse=True)
def arrow_for_any_size(monkeypatch):
    monkeypatch.setattr(csv_arrow, "ARROW_MIN_BYTES", 0)


def read_both(path, monkeypatch, columns=None, **options):
    """(table or error) with pyarrow allowed, then with it switched off."""
    out = []
    for off in (False, True):
        if off:
            monkeypatch.setenv("NNCLI_NO_ARROW", "1")
        try:
            out.append(read_table(str(path), columns, **options))
        except DataError as e:
            out.append(str(e))
    monkeypatch.delenv("NNCLI_NO_ARROW", raising=False)
    return out


def assert_same(a, b):
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    assert a.header == b.header and list(a.columns) == list(b.columns)
    np.testing.assert_array_equal(a.lines, b.lines)
    for c in a.columns:
        x, y = a.columns[c], b.columns[c]
        assert (x.is_text, x.n_numeric, x.first_text, x.values.dtype) == (y.is_text, y.n_numeric, y.first_text,
                                                                          y.values.dtype)
        np.testing.assert_array_equal(x.values, y.values)


PLAIN = "a,b,label\n1.5,2,cat\n-3e-2,4.25,dog\n7,0.1, cat\n"


def in_fresh_python(code: str) -> str:
    """What `code` prints, run by a Python of its own (nothing imported yet) with this checkout's nncli; it
    must succeed."""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=nncli_env())
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_pyarrow_leaves_the_stop_signals_to_nncli(tmp_path, monkeypatch):
    # Its reads installed handlers of their own: a SIGTERM during `fit`'s read was lost (the command
    # trained and saved, 3 runs in 150) or ended the process while pyarrow's threads ran (SIGABRT)
    import pyarrow as pa

    calls = []
    monkeypatch.setattr(pa, "enable_signal_handlers", lambda enable: calls.append(enable))
    path = tmp_path / "plain.csv"
    path.write_text(PLAIN)
    table = read_table(str(path), text=["label"], auto=["a", "b"])
    assert table.n_rows == 3 and calls and not any(calls)


def test_plain_numeric_file_is_read_by_arrow(tmp_path, monkeypatch):
    path = tmp_path / "plain.csv"
    path.write_text(PLAIN)
    arrow, plain = read_both(path, monkeypatch, text=["label"], auto=["a", "b"])
    assert_same(arrow, plain)

    def no_chunks(self):
        raise AssertionError("the plain path ran")

    monkeypatch.setattr(csv_io.TableReader, "chunks", no_chunks)
    assert_same(read_table(str(path), text=["label"], auto=["a", "b"]), plain)


def test_a_wide_file_is_left_to_the_plain_path(tmp_path, monkeypatch):
    path = tmp_path / "plain.csv"
    path.write_text(PLAIN)
    monkeypatch.setattr(csv_arrow, "ARROW_MAX_COLUMNS", 2)
    with csv_io.TableReader(str(path), text=["label"]) as reader:
        assert csv_arrow.read_with_arrow(reader) is None
    monkeypatch.setattr(csv_arrow, "ARROW_MAX_COLUMNS", 3)
    with csv_io.TableReader(str(path), text=["label"]) as reader:
        assert csv_arrow.read_with_arrow(reader) is not None


@pytest.mark.parametrize("body", [
    "1.5,2,cat\n,4,dog\n",  # a missing cell
    "1.5,2,cat\nNA,4,dog\n",
    "1.5,-999,cat\n2,4,dog\n",  # a custom NA value (see na_values below)
    "1.5,2,cat\n\n2,4,dog\n",  # a blank line: line numbers must still count it
    "1.5,2,cat\r\n\r\n2,4,dog\r\n",  # a blank CRLF line
    "1.5,2,cat\r\n2,4,dog\r\n\r\n",  # a blank CRLF line at the end (Windows exports)
    "1.5,2,cat\n2,4,dog\n\r\n",
    '1.5,2,"c,at"\n2,4,dog\n',  # quotes
    '1.5,2,"c\nat"\n2,4,dog\n',  # a quoted line break: the rows after it are a line further on
    "1.5,2,cat\r\n2,4,dog\r\n",  # CRLF
    "1.5,2,cat\r2,4,dog\r",  # lone CR
    "1.5,abc,cat\n2,4,dog\n",  # a bad cell: the same FILE:LINE:COLUMN error
    "1.5,2,cat\n2,4\n",  # a short row
    "1.5,inf,cat\n2,4,dog\n",
    "1.5, 2 ,cat\n2,4,dog\n",  # spaces around a number
    "1_000,2,cat\n2,4,dog\n",
    "1.5,2,cat\n2,4,dög\n",  # non-ASCII text
    "1.5,2,cat\n2,4,d\0og\n",  # a NUL byte in a text cell: the same error
    "1.5,2,cat\n2,4,dog",  # no final newline
    "1e39,2,cat\n2,4,dog\n",  # too large for float32
])
def test_any_doubt_gives_the_plain_paths_result(tmp_path, monkeypatch, body):
    path = tmp_path / "t.csv"
    path.write_bytes(("a,b,label\n" + body).encode())
    na = [*csv_io.DEFAULT_NA_VALUES, "-999"]
    arrow, plain = read_both(path, monkeypatch, text=["label"], na_values=na)
    assert_same(arrow, plain)
    arrow, plain = read_both(path, monkeypatch, text=["label"], auto=["a", "b"], na_values=na)
    assert_same(arrow, plain)


def test_selected_columns_and_float64(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text("a;b;c\n0.1;2;3\n4;5;6\n")
    arrow, plain = read_both(path, monkeypatch, ["c", "a"], dtype=np.float64)
    assert_same(arrow, plain)
    assert arrow.columns["a"].values.dtype == np.float64


def test_arrow_parses_memory_of_its_own_not_a_python_buffer(tmp_path, monkeypatch):
    # Arrow's threads holding a Python buffer (`pa.py_buffer`) took the GIL to let it go, and one that did
    # so while Python shut down aborted the process after the command's work ("terminate called without
    # an active exception", exit status 134): 1-3 runs in 100 of this file's next test, and of `nncli fit`.
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def refuse(*a, **k):
        raise AssertionError("a Python-owned buffer handed to Arrow")

    parsed = []
    real = pacsv.read_csv
    monkeypatch.setattr(pa, "py_buffer", refuse)
    monkeypatch.setattr(pacsv, "read_csv", lambda *a, **k: parsed.append(1) or real(*a, **k))
    monkeypatch.setattr(csv_arrow, "ARROW_MIN_BYTES", 0)
    monkeypatch.setattr(csv_arrow, "ARROW_SLAB_BYTES", 4096)  # several slabs
    path = tmp_path / "d.csv"
    path.write_text("a,b\n" + "".join(f"{i / 7:.6g},{i}\n" for i in range(2000)))
    t = read_table(str(path))
    assert len(parsed) > 1 and t.columns["b"].values.tolist() == list(range(2000))


def test_plain_numbers_go_through_pyarrow_without_importing_pandas(tmp_path):
    path = tmp_path / "d.csv"
    rng = np.random.default_rng(0)
    path.write_text("a,b,c\n" + "".join(f"{x:.6g},{y:.6g},{int(z)}\n" for x, y, z in rng.normal(size=(3000, 3))))
    code = (
        "import sys, numpy as np\n"
        "import pyarrow.csv, nncli.csv_io as c, nncli.csv_arrow as ca\n"
        "calls = []\n"
        "real = pyarrow.csv.read_csv\n"
        "pyarrow.csv.read_csv = lambda *a, **k: calls.append(1) or real(*a, **k)\n"
        "ca.ARROW_MIN_BYTES = 0\n"
        f"t = c.read_table({str(path)!r})\n"
        "assert calls, 'pyarrow was not used'\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
        "a, b = t.columns['a'].values, t.columns['c'].values\n"
        "assert a.base is not None and a.base is b.base  # one block\n"
        f"ref = np.loadtxt({str(path)!r}, delimiter=',', skiprows=1, dtype=np.float32)\n"
        "assert (np.stack([t.columns[c].values for c in 'abc']) == ref.T).all()\n"
    )
    in_fresh_python(code)


def test_arrow_converts_on_the_readers_threads_whatever_blas_is_given(tmp_path):
    """`--threads` sets OMP_NUM_THREADS=1 for BLAS, from which Arrow sized its pool: `nncli fit` read
    with pyarrow on one thread (the 431 MB *large* CSV: 8.3 s a 1-epoch fit, against 6.6 on two)."""
    path = tmp_path / "d.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(100)))
    code = (
        "import os\n"
        "os.environ['OMP_NUM_THREADS'] = '1'  # (as nncli.options.one_blas_thread leaves it)\n"
        "import pyarrow as pa, nncli.csv_io as c, nncli.csv_arrow as ca\n"
        "ca.ARROW_MIN_BYTES = 0\n"
        "assert pa.cpu_count() == 1\n"
        f"c.read_table({str(path)!r})\n"
        "print(pa.cpu_count(), c.PARSE_THREADS)\n"
    )
    arrow, own = in_fresh_python(code).split()
    assert arrow == own


@pytest.mark.parametrize("slab", [40, 97, 1 << 20])
def test_slabs_join_into_the_same_table(tmp_path, monkeypatch, slab):
    """The file is parsed a slab at a time: any slab size gives the plain path's table (a line
    longer than a slab: the plain path itself)."""
    monkeypatch.setattr(csv_arrow, "ARROW_SLAB_BYTES", slab)
    rng = np.random.default_rng(3)
    rows = [f"{x:.5g},{'' if i % 7 == 3 else f'{y:.4g}'},{'cat' if i % 2 else 'dog'}"
            for i, (x, y) in enumerate(rng.normal(size=(300, 2)))]
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    arrow, plain = read_both(path, monkeypatch, text=["label"])
    assert_same(arrow, plain)
    assert np.isnan(arrow.columns["b"].values).sum() == sum(i % 7 == 3 for i in range(300))
    if slab > 40:  # lines are up to ~25 bytes: every slab holds whole lines, so Arrow reads it all

        def no_chunks(self):
            raise AssertionError("the plain path ran")

        monkeypatch.setattr(csv_io.TableReader, "chunks", no_chunks)
        assert_same(read_table(str(path), text=["label"]), plain)


def test_lines_of_very_different_lengths_across_slabs(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_arrow, "ARROW_SLAB_BYTES", 256)
    rows = [f"{i}.25,{i},{'long-label-' * 4 if i < 6 else 'a'}" for i in range(400)]
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    arrow, plain = read_both(path, monkeypatch, text=["label"])
    assert_same(arrow, plain)

    def no_chunks(self):
        raise AssertionError("the plain path ran")

    monkeypatch.setattr(csv_io.TableReader, "chunks", no_chunks)
    t = read_table(str(path), text=["label"])
    assert t.columns["b"].values.tolist() == list(range(400))


def test_a_number_among_the_missing_value_tokens_is_missing_with_arrow_too(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,-999,x\n2,-999.0,y\n3,-9990,x\n")
    arrow, plain = read_both(path, monkeypatch, text=["label"], na_values=[*csv_io.DEFAULT_NA_VALUES, "-999"])
    assert_same(arrow, plain)
    np.testing.assert_array_equal(np.isnan(arrow.columns["b"].values), [True, True, False])


NEAR_MIDPOINTS = ["1.0000000596046448", "2.1019476964872256e-45", "0.7006492321624086e-45", "7e-46",
                  "1.00000017881393432617187499", "1.401298464324817e-45", "16777217", "0.1", "3.4028234e38"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numbers_near_a_float32_midpoint_round_as_the_plain_path_rounds_them(tmp_path, monkeypatch, dtype):
    # To the nearest double first, then to float32 (as float() and loadtxt): Arrow's own float32
    # parser rounds the decimal straight to float32, and read '1.0000000596046448' as 1.0000001.
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "".join(f"{v},{i}\n" for i, v in enumerate(NEAR_MIDPOINTS)))
    arrow, plain = read_both(path, monkeypatch, dtype=dtype)
    assert_same(arrow, plain)
    assert arrow.columns["a"].values.tobytes() == np.array([float(v) for v in NEAR_MIDPOINTS]).astype(dtype).tobytes()


def test_a_number_that_rounds_past_float32_gives_the_plain_paths_error(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3.4028235677973366e38,3\n")
    arrow, plain = read_both(path, monkeypatch)
    assert isinstance(arrow, str) and arrow == plain


@pytest.mark.parametrize("body, lines", [
    (b"a,b\r1,2\n3,4\n5,6\n", [2, 3, 4]),  # the header ends with a lone CR: skipping it by LFs lost a row
    (b"a,b\n1,2\r\r\n3,4\n", [2, 4]),  # a blank line made by a lone CR: Arrow read a row of missing cells
    (b"a,b\n1,2\n\r3,4\n", [2, 4]),
    (b"x\na\n \nb\n", [2, 3, 4]),  # one column: a line of spaces is a row whose cell is missing
])
def test_lone_crs_and_blank_lines_read_as_without_arrow(tmp_path, monkeypatch, body, lines):
    path = tmp_path / "odd.csv"
    path.write_bytes(body)
    arrow, plain = read_both(path, monkeypatch, text=["x"] if body.startswith(b"x") else [])
    assert plain.lines.tolist() == lines
    assert_same(arrow, plain)


def test_crlf_files_stay_on_the_arrow_path_whatever_their_slabs_split(tmp_path, monkeypatch):
    # A slab cut between a CR and its LF ended in what looked like a lone CR: the file left Arrow.
    monkeypatch.setattr(csv_arrow, "ARROW_SLAB_BYTES", 69)  # 6 lines of 10 bytes, and the next one to its CR
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"a,b\r\n" + b"".join(b"%d.25,%d\r\n" % (i, i % 3) for i in range(100, 300)))
    with csv_io.TableReader(str(path)) as reader:
        assert csv_arrow.read_with_arrow(reader) is not None
    arrow, plain = read_both(path, monkeypatch)
    assert_same(arrow, plain)


def test_padded_missing_value_tokens_and_repeated_columns_read_alike_on_both_paths(tmp_path, monkeypatch):
    """Through the API (the command line strips --na-values and refuses repeated names): a token ' NA '
    was pyarrow's exact match for the raw cell and never the plain path's, which compares cells
    stripped; a column asked for twice was a KeyError on both paths."""
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1.5,2,cat\n1, NA ,dog\n")
    arrow, plain = read_both(path, monkeypatch, text=["label"], na_values=["", " NA "])
    assert_same(arrow, plain)
    assert np.isnan(plain.columns["b"].values[1])
    arrow, plain = read_both(path, monkeypatch, ["a", "label", "a"], text=["label"], na_values=["NA"])
    assert_same(arrow, plain)
    assert list(plain.columns) == ["a", "label"] and plain.columns["a"].values.tolist() == [1.5, 1.0]


def test_a_blank_line_at_the_start_of_a_slab_reads_as_without_arrow(tmp_path, monkeypatch):
    # A blank line is a line end right after another: where a slab begins, the first is in the slab before.
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n1.5,2\n3.5,4\n\n5.5,6\n7.5,8\n")
    for slab in range(10, 24):  # (lines of 6 bytes: some of these sizes begin a slab with the blank line)
        monkeypatch.setattr(csv_arrow, "ARROW_SLAB_BYTES", slab)
        arrow, plain = read_both(path, monkeypatch)
        assert plain.lines.tolist() == [2, 3, 5, 6]
        assert_same(arrow, plain)


@pytest.mark.parametrize("setting, arrow", [("1", False), ("yes", False), ("0", True), ("", True)])
def test_nncli_no_arrow_switches_the_pyarrow_path_off(tmp_path, monkeypatch, setting, arrow):
    """README: `NNCLI_NO_ARROW=1` turns the pyarrow path off (the way round a pyarrow that misbehaves);
    the other tests compare the two paths through it, so a check that ignored it compared pyarrow with itself."""
    import pyarrow.csv as pacsv

    calls = []
    real = pacsv.read_csv
    monkeypatch.setattr(pacsv, "read_csv", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setenv("NNCLI_NO_ARROW", setting)
    path = tmp_path / "plain.csv"
    path.write_text(PLAIN)
    table = read_table(str(path), text=["label"])
    assert bool(calls) == arrow and table.n_rows == 3
