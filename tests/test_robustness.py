"""Hostile inputs, damaged model files and faults, each through the real CLI in a process of its own.

Every row of CASES runs nncli as its own process (forked from the fork server of tests/forks.py; a
sample also as `python -m nncli`, to check the two agree) in a fresh directory that holds a valid
model (`model.npz`), an earlier model at the output path (`out.npz`), an earlier
output CSV (`out.csv`) and the case's own files. Each row asserts the exit code,
the stderr pattern and stdout; every row also checks the invariants of the
contract: no traceback or `Exception ignored` noise, a failure is one
`nncli: error:` line (plus maybe one `hint:` line), no file changes unless the
row says so (sha256 before/after), no new files, no temporary files left behind.

The rows run in parallel (one process each) on first use, so the module stays fast.
Signals, pipes and FIFOs, which need a live process, have their own tests below.
"""

from __future__ import annotations

import csv
import functools
import gzip
import itertools
import fcntl
import hashlib
import io
import json
import os
import re
import select
import shlex
import shutil
import signal
import stat
import struct
import subprocess
import sys
import termios
import threading
import time
import tracemalloc
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Callable, Union

import numpy as np
import pytest

from conftest import (SAMPLES, device_like, forge_declared_size, fork_server, nncli_env, patch_zip_directory,
                      run_nncli, write_csv)
from nncli.cli import Terminated
from nncli.errors import ModelFileError
from nncli.model_file import load_model

# -- the table --------------------------------------------------------------------------------------
FileMaker = Union[bytes, Callable[[bytes], bytes]]  # content, or a function of the valid model's bytes


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    code: int
    err: str = ""  # regex searched in stderr
    out: str | None = None  # regex stdout must match in full; None: empty on failure, anything on success
    files: dict[str, FileMaker] = field(default_factory=dict)
    changes: tuple[str, ...] = ()  # files that must change (npz: and load); every other file stays as it was
    stdout_to: str | None = None  # e.g. /dev/full
    fsize_limit: int | None = None  # RLIMIT_FSIZE in bytes: a file cannot grow past it (EFBIG)
    stdin: bytes = b""


FIT = ("fit", "data.csv", "-o", "out.npz", "--epochs", "2", "--hidden", "3", "--val-split", "0", "-q")
PREDICT = ("predict", "model.npz", "data.csv")
EVAL = ("eval", "model.npz", "data.csv", "--json")
HEADER = "a,b,label"
ROWS = ["1,2,x", "2,1,y", "3,4,x", "4,3,y", "5,6,x", "6,5,y"]
DEVFULL_OK = os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode)


def csv_bytes(*lines: str, nl: str = "\n", final: bool = True) -> bytes:
    return (nl.join(lines) + (nl if final else "")).encode()


def data(*lines: str, **kw) -> dict[str, FileMaker]:
    return {"data.csv": csv_bytes(*lines, **kw)}


def with_row(row: str, at: int = 1) -> dict[str, FileMaker]:
    """The good training table with `row` as data row number `at` (line at + 1)."""
    rows = list(ROWS)
    rows.insert(at - 1, row)
    return data(HEADER, *rows)


def fit_ok(id: str, files: dict[str, FileMaker], *extra: str) -> Case:
    return Case(id, FIT + extra, 0, files=files, changes=("out.npz",))


def fit_err(id: str, files: dict[str, FileMaker], err: str, *extra: str) -> Case:
    return Case(id, FIT + extra, 1, err, files=files)


def usage(id: str, *args: str, err: str) -> Case:
    # missing.csv does not exist: a usage error reported instead proves the options are checked first
    return Case(id, ("fit", "missing.csv", "-o", "out.npz", *args), 2, err)


def xlsx() -> bytes:
    """The start of an Excel workbook: a zip archive of XML files."""
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
    return buf.getvalue()


XLSX = xlsx()
# The start of a gzipped file of 100,000 rows: the stream ends 47,120 lines in
GZIP_CUT_SHORT = gzip.compress(csv_bytes("x1,x2", *(f"{i % 7},{i % 5}" for i in range(100_000))))[:830]
# The first bytes of a Parquet file that pyarrow wrote (magic, then a page header), its magic at the end
PARQUET = bytes.fromhex("5041523115041580" "7d158e7d4c15d00f" "1500120000c03ef4") + bytes(range(256)) + b"PAR1"


def bad_model(id: str, make: FileMaker, err: str) -> Case:
    return Case(id, ("predict", "bad.npz", "data.csv"), 1, r"'bad\.npz' is not a valid nncli model: " + err,
                files={"bad.npz": make, **data("x1,x2", "0.5,0.5")})


def npz(**arrays: np.ndarray) -> bytes:
    buf = BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def members(model: bytes) -> dict[str, np.ndarray]:
    with np.load(BytesIO(model)) as z:
        return {k: z[k] for k in z.files}


def edit_meta(**changes: object) -> Callable[[bytes], bytes]:
    def make(model: bytes) -> bytes:
        arrays = members(model)
        meta = {**json.loads(arrays["meta"].tobytes()), **changes}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        return npz(**arrays)
    return make


def edit_arrays(**changes: np.ndarray | None) -> Callable[[bytes], bytes]:
    def make(model: bytes) -> bytes:
        arrays = members(model)
        for k, v in changes.items():
            if v is None:
                del arrays[k]
            else:
                arrays[k] = v(arrays[k]) if callable(v) else v
        return npz(**arrays)
    return make


def edit_meta_in(section: str, **changes: object) -> Callable[[bytes], bytes]:
    """Change some keys of one metadata section ("config", "info"), keeping the others."""
    def make(model: bytes) -> bytes:
        arrays = members(model)
        meta = json.loads(arrays["meta"].tobytes())
        meta[section] = {**meta[section], **changes}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        return npz(**arrays)
    return make


class CreatesAFile:
    """Unpickling this calls open('pwned', 'w'): a payload that must never run."""

    def __reduce__(self):
        return (open, ("pwned", "w"))


def pickled_params(model: bytes) -> bytes:
    arrays = members(model)
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in arrays.items():
            with z.open(k + ".npy", "w") as f:
                value = np.array([CreatesAFile()], dtype=object) if k == "params" else v
                np.lib.format.write_array(f, value, allow_pickle=True)
    return buf.getvalue()


def raw_pickle_member(model: bytes) -> bytes:
    import pickle

    src = zipfile.ZipFile(BytesIO(model))
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for info in src.infolist():
            z.writestr(info.filename, pickle.dumps(CreatesAFile()) if info.filename == "params.npy"
                       else src.read(info))
    return buf.getvalue()


def deflate_bomb(model: bytes) -> bytes:
    """params claims 2 million floats: 8 MB that deflate into about 8 kB."""
    src = zipfile.ZipFile(BytesIO(model))
    head = BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False, "shape": (2_000_000,)})
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for info in src.infolist():
            if info.filename == "params.npy":
                z.writestr(info.filename, head.getvalue() + bytes(8_000_000), compress_type=zipfile.ZIP_DEFLATED)
            else:
                z.writestr(info.filename, src.read(info))
    return buf.getvalue()


def not_a_model_zip(_: bytes) -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hello")
    return buf.getvalue()


NO_FLOAT64_HINT = r"\nhint: features must be finite numbers$"
LONG_NUMBER = "1" * 200_000 + "x"
HOSTILE_NAME = "\udcffbad\x1b[31m.csv"  # the byte 0xff (not UTF-8) and an escape sequence
BIG_ROWS = 250_000


@functools.cache
def big_body() -> bytes:
    return "".join(f"{i % 1000 / 1000:.6f},{i % 777 / 777:.6f},{'xy'[i % 2]}\n" for i in range(BIG_ROWS)).encode()


def big_with(last_row: str) -> dict[str, FileMaker]:
    """A 5 MB training table whose last row is `last_row` (made when the case runs)."""
    return {"data.csv": lambda _: f"{HEADER}\n".encode() + big_body() + f"{last_row}\n".encode()}
CASES = [
    # -- CSV content ------------------------------------------------------------------------------
    fit_ok("empty-cell-imputed", with_row("1,,x", 3)),
    fit_err("empty-cell-refused", with_row("1,,x", 3), r"data\.csv:4:2 \(column 'b'\): missing value",
            "--missing", "error"),
    fit_err("non-numeric-cell", with_row("1,abc,x", 3),
            r"data\.csv:4:2 \(column 'b'\): expected a number, found 'abc'"),
    fit_ok("nan-token-imputed", with_row("nan,1,x", 2)),
    fit_ok("NA-token-imputed", with_row("NA,1,x", 2)),
    fit_err("nan-token-refused", with_row("1,NaN,x", 5), r"data\.csv:6:2 \(column 'b'\): missing value",
            "--missing", "error"),
    # The float64 hint only where float64 would hold the value: not for inf or 1e309, nor with --dtype float64.
    fit_err("inf-token", with_row("inf,1,x", 2), r"data\.csv:3:1 \(column 'a'\): value 'inf' is not a finite float32"
            + NO_FLOAT64_HINT),
    fit_err("inf-token-float64", with_row("inf,1,x", 2),
            r"data\.csv:3:1 \(column 'a'\): value 'inf' is not a finite float64" + NO_FLOAT64_HINT, "--dtype", "float64"),
    fit_err("minus-inf-token", with_row("1,-Infinity,x", 6),
            r"data\.csv:7:2 \(column 'b'\): value '-Infinity' is not a finite"),
    fit_err("1e309", with_row("1e309,1,x", 1), r"data\.csv:2:1 \(column 'a'\): value '1e309' is not a finite float32"
            + NO_FLOAT64_HINT),
    fit_err("1e309-float64", with_row("1e309,1,x", 1),
            r"data\.csv:2:1 \(column 'a'\): value '1e309' is not a finite float64" + NO_FLOAT64_HINT,
            "--dtype", "float64"),
    fit_err("float32-overflow", with_row("1,3.5e38,x", 4),
            r"data\.csv:5:2 \(column 'b'\): value '3\.5e38' is not a finite float32\n"
            r"hint: features must be finite numbers \(nncli fit --dtype float64 takes huge values\)$"),
    fit_err("quote-never-closed", with_row('1,"2,x', 3),
            r"^nncli: error: data\.csv:4: a quoted field opens on this line and is never closed\n"
            r"hint: a stray \" in a cell\? quotes must enclose a whole field\n$"),
    fit_err("text-after-a-closing-quote", with_row('1,"2"x,x', 3),
            r"^nncli: error: data\.csv:4: malformed CSV: .*\nhint: a quoted field must end at a delimiter"),
    Case("ignoring-the-target", FIT + ("--ignore", "label"), 2, r"^nncli: error: --ignore names 'label', the target "
         r"column\nhint: the target is the last column unless --target NAME\n$", files=data(HEADER, *ROWS)),
    Case("the-target-among-the-features", FIT + ("--target", "a", "--features", "a,b"), 2,
         r"^nncli: error: --target and --features both name 'a'\n$", files=data(HEADER, *ROWS)),
    Case("labels-among-several-targets", FIT + ("--target", "label,b"), 1,
         r"^nncli: error: data\.csv:2:3 \(column 'label'\): expected a finite number as the target, found 'x'\n"
         r"hint: several target columns are numbers to predict \(regression\); a column of labels is the target of a "
         r"classifier of its own\n$", files=data(HEADER, *ROWS)),
    # --categorical of a column the other options leave out: dropped without a word
    Case("categorical-and-ignored", FIT + ("--categorical", "a", "--ignore", "a"), 2,
         r"^nncli: error: --categorical and --ignore both name 'a'\n$", files=data(HEADER, *ROWS)),
    Case("categorical-not-among-the-features", FIT + ("--categorical", "a", "--features", "b"), 2,
         r"^nncli: error: --categorical names 'a', which --features leaves out\nhint: a column --categorical names "
         r"is a feature: add it to --features\n$", files=data(HEADER, *ROWS)),
    Case("the-target-as-categorical", FIT + ("--categorical", "label"), 2, r"^nncli: error: --categorical names "
         r"'label', the target column\nhint: the target is the last column unless --target NAME; with --task "
         r"classification its values are classes\n$",
         files=data(HEADER, *ROWS)),
    fit_err("thousands-separator", with_row('"1,234",1,x', 2),
            r"data\.csv:3:1 \(column 'a'\): expected a number, found '1,234'.*\nhint: thousands separators"),
    fit_err("underscore-digits", with_row("1_000,1,x", 2),
            r"data\.csv:3:1 \(column 'a'\): expected a number, found '1_000'.*\nhint: thousands separators"),
    fit_err("escape-codes-are-shown-escaped", with_row("1,\x1b[31mred,x", 2),
            r"data\.csv:3:2 \(column 'b'\): expected a number, found '\\x1b\[31mred'"),
    # Hints and notices repeat column names and paths as they are (to be typed): escaped all the same.
    fit_err("hint-escapes-a-hostile-column-name", data("a\x1b[31m,b,label", "zz,2,x", *ROWS),
            r"found 'zz'.*\nhint: fix the cell, or use --categorical 'a\\x1b\[31m' / --ignore 'a\\x1b\[31m'\n"),
    fit_err("id-like-column-hint-escapes-its-name", data("id\x1b]0;PWNED\x07,a,b,label",
                                                         *(f"u{i},{r}" for i, r in enumerate(ROWS))),
            r"\nhint: an id-like column\? --ignore 'id\\x1b\]0;PWNED\\x07'; else", "--max-categories", "2"),
    Case("notice-escapes-a-hostile-column-name", FIT[:-1] + ("--progress", "plain"), 0,
         r"nncli: imputed missing cells: 'a\\x1b\[44m\[bold\]x' \(1\)",
         files=data("a\x1b[44m[bold]x,b,label", ",2,x", *ROWS), changes=("out.npz",)),
    Case("summary-escapes-a-hostile-output-path", ("fit", "data.csv", "-o", "m\x1b]0;OWNED\x07.npz", "--epochs", "1",
                                                   "--progress", "plain"), 0,
         r"Model saved to m\\x1b\]0;OWNED\\x07\.npz\.", files={**data(HEADER, *ROWS), "m\x1b]0;OWNED\x07.npz": b"old"},
         changes=("m\x1b]0;OWNED\x07.npz",)),
    fit_err("very-long-cell-is-shortened", with_row(f"1,{LONG_NUMBER},x", 2),
            r"data\.csv:3:2 \(column 'b'\): expected a number, found '1{50,60}…'"),
    fit_ok("very-long-line-in-ignored-column", data("note," + HEADER, *("z" * 300_000 + "," + r for r in ROWS)),
           "--ignore", "note"),
    fit_ok("utf8-bom", {"data.csv": b"\xef\xbb\xbf" + csv_bytes(HEADER, *ROWS)}, "--features", "a,b"),
    fit_ok("crlf", data(HEADER, *ROWS, nl="\r\n")),
    fit_ok("lone-cr", data(HEADER, *ROWS, nl="\r")),
    fit_ok("quoted-fields", data('"a","b","label"', *('"' + r.replace(",", '","') + '"' for r in ROWS))),
    fit_ok("quoted-label-with-delimiter-and-newline", data(HEADER, *(r.replace("x", '"x,\n1"') for r in ROWS))),
    fit_ok("blank-lines", data(HEADER, "", ROWS[0], "   ", *ROWS[1:], "", "")),
    fit_ok("no-final-newline", data(HEADER, *ROWS, final=False)),
    fit_ok("semicolon-delimiter", data(*(r.replace(",", ";") for r in [HEADER, *ROWS]))),
    # A file big enough for any whole-file fast path (4 MB and more): a problem on its last line
    # must still be found and located.
    fit_err("big-file-inf-on-last-line", big_with("0.5,inf,y"),
            rf"data\.csv:{BIG_ROWS + 2}:2 \(column 'b'\): value 'inf'"),
    fit_err("big-file-float32-overflow-on-last-line", big_with("1e39,1,y"),
            rf"data\.csv:{BIG_ROWS + 2}:1 \(column 'a'\): value '1e39' is not a finite float32"),
    fit_err("big-file-text-on-last-line", big_with("0.5,oops,y"),
            rf"data\.csv:{BIG_ROWS + 2}:2 \(column 'b'\): expected a number, found 'oops'"),
    fit_err("big-file-ragged-last-line", big_with("0.5,y"), rf"data\.csv:{BIG_ROWS + 2}:3 \(column 'label'\): expected 3 fields"),
    fit_err("big-file-empty-cell-refused", big_with("0.5,,y"),
            rf"data\.csv:{BIG_ROWS + 2}:2 \(column 'b'\): missing value", "--missing", "error"),
    # -- CSV structure ----------------------------------------------------------------------------
    fit_err("empty-file", {"data.csv": b""}, r"data\.csv:1: the file is empty"),
    fit_err("blank-file", {"data.csv": b"\n\n"}, r"data\.csv:1: expected a header row, found a blank line"),
    fit_err("blank-line-before-header", data("", HEADER, *ROWS), r"data\.csv:1: expected a header row, found a blank"),
    fit_err("header-only", data(HEADER), r"data\.csv:2: the file has a header but no data rows"),
    fit_err("ragged-too-few", with_row("1,x", 3), r"data\.csv:4:3 \(column 'label'\): expected 3 fields as in the header, found 2"),
    fit_err("ragged-too-many", with_row("1,2,x,9", 3), r"data\.csv:4:4: expected 3 fields as in the header, found 4"),
    fit_err("duplicate-header", data("a,a,label", *ROWS), r"data\.csv:1:2: duplicate column name 'a'"),
    fit_err("empty-header-name", data("a,,label", *ROWS),
            r"^nncli: error: data\.csv:1:2: empty column name in the header\nhint: give every column a name in the first row\n$"),
    Case("empty-first-header-name-pandas-index", FIT, 1, r"^nncli: error: data\.csv:1:1: empty column name in the header\n"
         r"hint: a pandas index\? write the file with to_csv\(\.\.\., index=False\)\n$",
         files=data("," + HEADER, *(f"{i},{r}" for i, r in enumerate(ROWS)))),
    Case("empty-last-header-name", FIT, 1, r"^nncli: error: data\.csv:1:4: empty column name in the header\n"
         r"hint: the header line ends with the delimiter ';'\n$", files=data("a;b;label;", "1;2;x;", "2;1;y;")),
    # Columns predict does not use may be unnamed, or named twice (Excel exports): they were refused
    Case("predict-ignores-an-unnamed-column", PREDICT, 0, out=r"prediction\n\S+\n", files=data(",x1,x2", "0,1,2")),
    Case("predict-ignores-a-trailing-delimiter", PREDICT, 0, out=r"prediction\n\S+\n", files=data("x1;x2;", "1;2;")),
    Case("predict-ignores-columns-named-twice", PREDICT, 0, out=r"prediction\n\S+\n", files=data("n,x1,n,x2", "a,1,b,2")),
    Case("predict-refuses-a-feature-named-twice", PREDICT, 1, r"data\.csv:1:3: duplicate column name 'x1' \(also column 1\)",
         files=data("x1,x2,x1", "1,2,3")),
    # the wrong delimiter: the hint was about quoting names holding a comma, names the user never typed
    Case("predict-the-wrong-delimiter", PREDICT + ("--delimiter", ";"), 1, r"data\.csv:1: missing columns: 'x1', 'x2'\n"
         r"hint: the header is one column when split at ';': is that the file's delimiter\? see --delimiter\n$",
         files=data("x1,x2", "1,2")),
    Case("predict-a-space-separated-file", PREDICT, 1, r"hint: the header is one column: is the file separated by "
         r"spaces or something else\? see --delimiter\n$", files=data("x1 x2", "1 2")),  # (the delimiter was detected)
    Case("predict-a-file-of-one-other-column", PREDICT, 1, r"missing columns: 'x1', 'x2'\nhint: the header has: "
         r"'sepal length'\n$", files=data("sepal length", "1")),  # (a name with a space: not a delimiter's fault)
    Case("predict-keep-of-a-column-named-twice", PREDICT + ("--keep", "n"), 1,
         r"data\.csv:1:4: duplicate column name 'n' \(also column 1\)", files=data("n,x1,x2,n", "a,1,2,b")),
    fit_err("target-missing", data(HEADER, *ROWS), r"data\.csv:1: no column named 'price'", "--target", "price"),
    fit_err("single-row-one-class", data(HEADER, ROWS[0]), r"single class"),
    fit_ok("single-row-regression", data("a,y", "1,2.5"), "--task", "regression"),
    fit_err("single-row-needs-no-validation", data("a,y", "1,2.5"), r"--val-split needs at least two rows",
            "--task", "regression", "--val-split", "0.5"),
    fit_err("single-column", data("label", "x", "y"), r"data\.csv:1: no feature columns left.*\nhint: .*--delimiter"),
    fit_err("single-column-with-the-delimiter-given", data("a,b", "1,2"), r"hint: the header is one column when split at "
            r"';': is that the file's delimiter\?", "--delimiter", ";"),
    fit_err("space-separated", data("a b label", "1 2 x", "2 1 y"), r"no feature columns left.*\nhint: the header is one"),
    # (the hint names what --ignore left: without it, "no feature columns" in a file of three columns)
    fit_err("every-feature-ignored", data(HEADER, *ROWS), r"^nncli: error: data\.csv:1: no feature columns left "
            r"\(the table needs at least one besides the target\)\n"
            r"hint: --ignore leaves out every column but the target 'label'\n$", "--ignore", "a,b"),
    fit_err("every-feature-ignored-of-two-targets", data("a,b,c", "1,2,3", "2,3,4"), r"no feature columns left.*\n"
            r"hint: --ignore leaves out every column but the targets 'b', 'c'\n$", "--ignore", "a", "--target", "b,c"),
    # Every column named as the target: the header's fault, not "no feature columns left"
    fit_err("every-column-named-as-the-target", data("y,y", "1,0", "3,1"),
            r"data\.csv:1:2: duplicate column name 'y' \(also column 1\)"),
    fit_err("every-column-unnamed", data(",,", "1,0,1", "3,1,0"), r"data\.csv:1:1: empty column name in the header"),
    fit_err("non-utf8", {"data.csv": csv_bytes(HEADER, *ROWS[:2]) + b"1,\xff\xfe,x\n"},
            r"data\.csv:4: the file is not valid UTF-8 text \(byte 0xff\)"),
    fit_err("binary-file", {"data.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"},
            r"data\.csv:\d: the file (is not valid UTF-8 text|contains NUL bytes)"),
    fit_err("nul-bytes", with_row("1,2\x003,x", 2), r"data\.csv:3: the file contains NUL bytes"),
    # A file of another format is named as such, not reported as a bad byte on line 1.
    fit_err("model-as-data", {"data.csv": lambda m: m}, r"^nncli: error: 'data\.csv' is a zip archive \(an nncli model\? "
            r"an Excel workbook\?\), not a CSV file\nhint: .*nncli predict MODEL DATA.*nncli fit DATA --init MODEL\)\n$"),
    Case("model-as-data-in-predict", ("predict", "model.npz", "model.npz"), 1, r"^nncli: error: 'model\.npz' is a zip archive"),
    Case("workbook-as-data-in-eval", ("eval", "model.npz", "book.xlsx"), 1, r"^nncli: error: 'book\.xlsx' is a zip archive",
         files={"book.xlsx": XLSX}),
    Case("parquet-as-data-in-lr-find", ("lr-find", "data.parquet"), 1,
         r"^nncli: error: 'data\.parquet' is a Parquet file, not a CSV file\nhint: ", files={"data.parquet": PARQUET}),
    fit_err("utf-16-le", {"data.csv": b"\xff\xfe" + "\n".join((HEADER, *ROWS)).encode("utf-16-le")},
            r"^nncli: error: 'data\.csv' is UTF-16 text\nhint: save it as UTF-8 CSV\n$"),
    # without a byte-order mark it was "NUL bytes; is it a binary file?"
    fit_err("utf-16-le-without-a-bom", {"data.csv": "\n".join((HEADER, *ROWS)).encode("utf-16-le")},
            r"^nncli: error: data\.csv:1: the file looks like UTF-16LE text \(every other byte is NUL\); nncli reads "
            r"UTF-8\nhint: convert it: iconv -f UTF-16LE -t UTF-8 FILE > new\.csv\n$"),
    fit_err("utf-16-le-without-a-bom-accented", {"data.csv": "café,b,label\n1,2,x\n".encode("utf-16-le")},
            r"^nncli: error: data\.csv:1: the file looks like UTF-16LE text"),  # (it said: not valid UTF-8, byte 0xe9)
    Case("utf-16-be-without-a-bom-in-predict", PREDICT, 1, r"^nncli: error: data\.csv:1: the file looks like UTF-16BE text",
         files={"data.csv": "x1,x2\n1,2\n".encode("utf-16-be")}),
    Case("utf-16-be-in-predict", PREDICT, 1, r"^nncli: error: 'data\.csv' is UTF-16 text\n",
         files={"data.csv": b"\xfe\xff" + "x1,x2\n1,2\n".encode("utf-16-be")}),
    Case("gzipped-utf-16-on-stdin", ("predict", "model.npz"), 1, r"^nncli: error: '<stdin>' is UTF-16 text\n",
         stdin=gzip.compress("x1,x2\n1,2\n".encode("utf-16"))),
    fit_ok("a-csv-file-may-begin-with-par1", data("PAR1,b,label", *ROWS)),
    fit_err("a-latin-1-csv-beginning-with-par1", {"data.csv": "\n".join(("PAR1,café,label", *ROWS)).encode("latin-1")},
            r"^nncli: error: data\.csv:1: the file is not valid UTF-8 text \(byte 0xe9\)\n"),
    fit_err("utf-32-le", {"data.csv": b"\xff\xfe\x00\x00" + "\n".join((HEADER, *ROWS)).encode("utf-32-le")},
            r"^nncli: error: 'data\.csv' is UTF-32 text\nhint: save it as UTF-8 CSV\n$"),
    # (Python's bare "Not a gzipped file (b'ga')" alone; `gzip -d` ignores them with a warning)
    fit_err("gzip-with-bytes-after-it", {"data.csv": gzip.compress(csv_bytes(HEADER, *ROWS)) + b"garbage"},
            r"^nncli: error: data\.csv: cannot read the file: Not a gzipped file \(b'ga'\)\nhint: bytes that are not "
            r"gzip data follow the compressed data"),
    fit_err("truncated-gzip", {"data.csv": bytes.fromhex("1f8b0800000000000003")},
            r"^nncli: error: data\.csv: the gzip data ends early \(a truncated or unfinished file\)\n$"),
    Case("gzip-cut-short-after-many-lines", PREDICT, 1, r"^nncli: error: data\.csv: the gzip data ends early \(a truncated "
         r"or unfinished file\)\n$", out=r"(prediction\n)?([01]\n)*",
         files={"data.csv": GZIP_CUT_SHORT}),
    Case("empty-stdin", ("fit", "-", "-o", "out.npz"), 1, r"<stdin>:1: the file is empty"),
    Case("binary-stdin", ("predict", "model.npz"), 1, r"<stdin>:1: the file (is not valid UTF-8|contains NUL)",
         stdin=bytes(range(256)) * 4),
    Case("predict-from-stdin", ("predict", "model.npz", "-"), 0, out=r"prediction\n[01]\n", stdin=b"x1,x2\n1,0.5\n"),
    # /dev/stdin is the writing end of the pipe the data comes through: reading would never end
    Case("predict-output-is-stdin", ("predict", "model.npz", "-", "-o", "/dev/stdin"), 2,
         r"the output '/dev/stdin' is the standard input", stdin=b"x1,x2\n1,0.5\n"),
    Case("fit-output-is-stdin", ("fit", "-", "-o", "/dev/stdin", "--epochs", "1", "-q"), 2,
         r"the output '/dev/stdin' is the standard input", stdin=csv_bytes(HEADER, *ROWS)),
    Case("gzip-on-stdin", FIT[:1] + ("-",) + FIT[2:], 0, stdin=gzip.compress(csv_bytes(HEADER, *ROWS)),
         changes=("out.npz",)),
    Case("hostile-file-name", ("eval", "model.npz", HOSTILE_NAME), 1,
         r"^nncli: error: \\udcffbad\\x1b\[31m\.csv:3:2 \(column 'x2'\): expected a number",
         files={HOSTILE_NAME: csv_bytes("x1,x2,label", "1,2,0", "2,oops,1")}),
    Case("directory", ("fit", ".", "-o", "out.npz"), 1, r"'\.' is a directory, not a CSV file"),
    Case("no-such-file", ("fit", "nope.csv", "-o", "out.npz"), 1, r"no such file: 'nope\.csv'"),
    Case("fit-output-directory-missing", ("fit", "missing.csv", "-o", "nodir/m.npz"), 2,
         r"cannot write 'nodir/m\.npz': no such directory"),
    Case("predict-output-directory-missing", ("predict", "model.npz", "missing.csv", "-o", "nodir/p.csv"), 2,
         r"cannot write 'nodir/p\.csv': no such directory"),
    Case("gen-data-output-directory-missing", ("gen-data", "-o", "nodir/d.csv"), 2, r"cannot write 'nodir/d\.csv'"),
    Case("output-is-an-input", ("predict", "model.npz", "out.csv", "-o", "out.csv"), 2, r"is also an input"),
    # (the model is an input too: predictions written over it would destroy it)
    Case("output-is-the-model", ("predict", "model.npz", "out.csv", "-o", "model.npz"), 2, r"'model\.npz' is also an input"),
    Case("fit-output-dash", FIT[:2] + ("-o", "-"), 2, r"--output '-': a model is written to a file, not to stdout", files=data(HEADER, *ROWS)),
    # 'out.npz/' names a directory: it was saved as out.npz, over the file of that name
    Case("fit-output-a-directory", FIT[:2] + ("-o", "."), 2, r"cannot write '\.': a directory, not a file path",
         files=data(HEADER, *ROWS)),  # (it said "--output '.' must be a file path"; predict's -o said this)
    Case("fit-output-ends-with-a-slash", FIT[:2] + ("-o", "out.npz/"), 2, r"cannot write 'out\.npz/': a directory",
         files={**data(HEADER, *ROWS), "out.npz": b"keep me\n"}),
    Case("gen-data-output-ends-with-a-slash", ("gen-data", "-o", "new.csv/"), 2, r"cannot write 'new\.csv/'"),
    Case("gen-data-output-ends-with-slash-dot", ("gen-data", "-o", "data.csv/."), 2,
         r"cannot write 'data\.csv/\.': a directory", files=data(HEADER, *ROWS)),
    # os.access says root may write anywhere, /proc too: the save failed after training
    *([Case("fit-output-in-proc-as-root", FIT[:2] + ("-o", "/proc/out.npz"), 2, r"cannot write '/proc/out\.npz'",
            files=data(HEADER, *ROWS))] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
    # A name longer than the file system takes was refused only by the save, after training. One as
    # long as it takes is saved (the temporary file's name, made from it, was longer still).
    Case("fit-output-name-too-long", FIT[:2] + ("-o", "P" * 252 + ".npz") + FIT[4:], 2,
         r"cannot write 'P+…': File name too long", files=data(HEADER, *ROWS)),
    Case("fit-output-name-as-long-as-allowed", FIT[:2] + ("-o", "P" * 251 + ".npz") + FIT[4:], 0, "",
         files={**data(HEADER, *ROWS), "P" * 251 + ".npz": b"old\n"}, changes=("P" * 251 + ".npz",)),
    Case("fit-output-is-the-data", FIT[:2] + ("-o", "data.csv"), 2, r"-o 'data\.csv' is also an input",
         files=data(HEADER, *ROWS)),
    Case("fit-plot-is-the-data", FIT + ("--plot", "data.csv"), 2, r"--plot 'data\.csv' is also an input",
         files=data(HEADER, *ROWS)),
    # the validation file is an input too: the model written over it would destroy it
    Case("fit-output-is-the-val", ("fit", "data.csv", "-o", "v.csv", "--val", "v.csv", "--epochs", "2", "-q"), 2,
         r"'v\.csv' is also an input", files={**data(HEADER, *ROWS), "v.csv": csv_bytes(HEADER, *ROWS)}),
    Case("fit-plot-is-the-val", ("fit", "data.csv", "--val", "v.csv", "--plot", "v.csv", "--epochs", "2", "-q"), 2,
         r"'v\.csv' is also an input", files={**data(HEADER, *ROWS), "v.csv": csv_bytes(HEADER, *ROWS)}),
    Case("predict-output-empty-path", ("predict", "model.npz", "missing.csv", "-o", ""), 2,
         r"cannot write '': an empty path"),
    # the output would have had two columns of one name
    Case("predict-keep-a-column-named-prediction", PREDICT + ("--keep", "prediction"), 2,
         r"--keep 'prediction': the predictions have a column of that name", files=data("x1,x2,prediction", "1,0.5,a")),
    Case("predict-keep-a-column-named-like-a-probability", PREDICT + ("--keep", "p_1", "--proba"), 2,
         r"--keep 'p_1': the predictions have a column of that name", files=data("x1,x2,p_1", "1,0.5,a")),
    Case("predict-output-a-directory", ("predict", "model.npz", "missing.csv", "-o", "."), 2,
         r"cannot write '\.': a directory"),
    usage("fit-plot-a-directory", "--plot", ".", err=r"cannot write '\.': a directory"),
    usage("fit-too-many-hidden-layers", "--hidden", ",".join(["2"] * 101), err=r"--hidden: at most 100 hidden layers, not 101"),
    usage("fit-plot-to-stdout-and-json", "--plot", "-", "--json", err=r"--plot - and --json both write to stdout"),
    # the rate never reached --lr
    usage("fit-warmup-past-the-epochs", "--warmup", "2", "--epochs", "2", err=r"--warmup 2 is not less than --epochs 2: no epoch "
          r"would be left after the warm-up"),
    usage("fit-onecycle-warmup-past-the-epochs", "--lr-schedule", "onecycle", "--warmup", "10", "--epochs", "10",
          err=r"--warmup 10 leaves --lr-schedule onecycle no epoch to come down from --lr in: give at most --epochs - 2 \(8\)"),
    # onecycle's last epoch ran at the peak rate: no epoch was left to come down to lr/1e4 in
    usage("fit-onecycle-warmup-leaves-no-decay", "--lr-schedule", "onecycle", "--warmup", "9", "--epochs", "10",
          err=r"--warmup 9 leaves --lr-schedule onecycle no epoch to come down from --lr in: give at most --epochs - 2 \(8\)"),
    # /dev/stdout is stdout too: the model and the JSON (or the SVG) came out one after the other
    Case("fit-output-dev-stdout-and-json", FIT[:2] + ("-o", "/dev/stdout", "--json") + FIT[4:], 2,
         r"--output '/dev/stdout' and --json both write to stdout", files=data(HEADER, *ROWS)),
    Case("fit-output-dev-stdout-and-plot-to-stdout", FIT[:2] + ("-o", "/dev/stdout", "--plot", "-") + FIT[4:], 2,
         r"--output '/dev/stdout' and --plot - both write to stdout", files=data(HEADER, *ROWS)),
    Case("proba-of-a-regression-model", ("predict", "reg.npz", "data.csv", "--proba"), 2,
         r"--proba needs a classifier; 'reg\.npz' predicts values", files=data("a", "1")),
    Case("class-weight-of-a-regression", FIT + ("--task", "regression", "--class-weight", "balanced"), 2,
         r"--class-weight balanced weighs classes, and this target is a regression", files=data("a,y", "1,2", "2,3")),
    Case("class-weight-of-an-auto-regression", FIT + ("--class-weight", "balanced"), 2,
         r"--class-weight balanced weighs classes, and this target is a regression", files=data("a,y", "1,2.5", "2,3.5")),
    Case("gen-data-option-the-kind-ignores", ("gen-data", "xor", "--features", "5"), 2,
         r"--features does not apply to xor \(it does to regression, blobs\)"),
    Case("gen-data-missing-rate-the-kind-ignores", ("gen-data", "moons", "--missing-rate", "0.2"), 2,
         r"--missing-rate does not apply to moons \(it does to mixed\)"),
    Case("fit-data-and-val-both-stdin", ("fit", "-", "--val", "-", "--val-split", "0"), 2,
         r"stdin can be read only once"),
    # (a directory is no stream: reading it says what it is)
    Case("fit-data-and-val-one-directory", ("fit", ".", "--val", ".", "-o", "out.npz"), 1, r"'\.' is a directory"),
    Case("fit-data-and-val-both-stdin-by-name", ("fit", "-", "--val", "/dev/stdin", "-o", "out.npz"), 2,
         r"stdin and --val '/dev/stdin' are one stream, which can be read only once", stdin=b"a,b\n1,2\n"),
    usage("dropout-without-hidden-layers", "--model", "linear", "--dropout", "0.5",
          err=r"--dropout is for hidden layers, and --model linear has none"),
    usage("hidden-sizes-without-hidden-layers", "--model", "linear", "--hidden", "64,64",
          err=r"--hidden is for hidden layers, and --model linear has none"),
    usage("activation-without-hidden-layers", "-m", "linear", "-a", "tanh",
          err=r"--activation is for hidden layers, and --model linear has none"),
    usage("features-also-ignored", "--features", "x1,x2", "--ignore", "x2",
          err=r"--features and --ignore both name 'x2'"),
    usage("nesterov-with-adam", "--nesterov", err=r"--nesterov is for --optimizer momentum \(not adam\)"),
    usage("momentum-with-sgd", "--optimizer", "sgd", "--momentum", "0.5",
          err=r"--momentum is for --optimizer momentum \(not sgd\)"),
    usage("lr-decay-with-a-constant-rate", "--lr-decay", "0.5",
          err=r"--lr-decay is for --lr-schedule step, exponential or plateau \(not constant\)"),
    usage("lr-step-with-cosine", "--lr-schedule", "cosine", "--lr-step", "3",
          err=r"--lr-step is for --lr-schedule step or plateau \(not cosine\)"),
    usage("target-listed-twice", "--target", "a,a", err=r"--target 'a,a': 'a' is listed twice"),
    usage("features-listed-twice", "--features", "a, b,a", err=r"--features 'a, b,a': 'a' is listed twice"),
    # Inputs near the float32 limit pass the reader but overflow in the network: an error at their
    # line, after the rows before it (not a class made up from NaN, not NaN in JSON).
    Case("predict-output-not-finite", PREDICT, 1, r"data\.csv:3: the network's output is not finite",
         out=r"prediction\n[01]\n", files=data("x1,x2", "1,0.5", "3e38,3e38", "0,0")),
    Case("eval-output-not-finite", EVAL, 1, r"data\.csv:3: the network's output is not finite",
         files=data("x1,x2,label", "1,0.5,0", "-3e38,3e38,1")),
    Case("fit-plot-is-the-new-model", FIT[:3] + ("new.npz",) + FIT[4:] + ("--plot", "./new.npz"), 2,
         r"'\./new\.npz' is also an input", files=data(HEADER, *ROWS)),
    # -- arguments: exit 2 before any work -----------------------------------------------------------
    usage("epochs-zero", "--epochs", "0", err=r"--epochs must be at least 1, not 0"),
    usage("epochs-negative", "--epochs", "-5", err=r"--epochs must be at least 1, not -5"),
    usage("epochs-huge", "--epochs", "100000000000", err=r"--epochs must be at most 10,000,000, not 100,000,000,000"),
    usage("batch-zero", "--batch-size", "0", err=r"--batch-size must be at least 1, not 0"),
    usage("batch-negative", "--batch-size", "-1", err=r"--batch-size must be at least 1, not -1"),
    usage("batch-huge", "--batch-size", "10000000000000",
          err=r"--batch-size must be at most 100,000,000, not 10,000,000,000,000"),
    usage("lr-zero", "--lr", "0", err=r"--lr must be more than 0, not 0"),
    usage("lr-negative", "--lr", "-0.01", err=r"--lr must be more than 0, not -0\.01"),
    usage("lr-nan", "--lr", "nan", err=r"--lr must be a finite number, not nan"),
    usage("lr-inf", "--lr", "inf", err=r"--lr must be a finite number, not inf"),
    usage("lr-text", "--lr", "fast", err=r"Invalid value for '--lr'"),
    usage("hidden-empty-size", "--hidden", "64,,3", err=r"--hidden '64,,3': sizes must be whole numbers"),
    usage("hidden-zero", "--hidden", "0", err=r"--hidden '0': sizes must be whole numbers"),
    usage("hidden-negative", "--hidden", "-1", err=r"--hidden '-1': sizes must be whole numbers"),
    usage("hidden-huge", "--hidden", "99999999", err=r"--hidden '99999999': sizes must be whole numbers"),
    usage("dropout-one", "--dropout", "1", err=r"--dropout must be less than 1, not 1"),
    usage("dropout-negative", "--dropout", "-0.1", err=r"--dropout must be at least 0, not -0\.1"),
    usage("unknown-activation", "--activation", "swish", err=r"'swish' is not one of 'relu'"),
    usage("unknown-optimizer", "--optimizer", "lbfgs", err=r"'lbfgs' is not one of 'adam'"),
    usage("unknown-task", "--task", "ranking", err=r"'ranking' is not one of 'auto'"),
    usage("val-split-one", "--val-split", "1", err=r"--val-split must be less than 1, not 1"),
    usage("val-split-negative", "--val-split", "-0.2", err=r"--val-split must be at least 0, not -0\.2"),
    usage("val-split-nan", "--val-split", "nan", err=r"--val-split must be a finite number, not nan"),
    usage("seed-negative", "--seed", "-1", err=r"--seed must be 0 or more, not -1"),
    Case("gen-data-seed-negative", ("gen-data", "--seed", "-3"), 2, r"--seed must be 0 or more, not -3"),
    fit_ok("na-values-only-empty-cells", with_row(",2,x", 2), "--na-values", ""),
    fit_err("na-values-only-empty-cells-so-NA-is-text", with_row("NA,2,x", 2),
            r"data\.csv:3:1 \(column 'a'\): expected a number, found 'NA'", "--na-values", ""),
    usage("unknown-option", "--epoch", "3", err=r"No such option: --epoch"),
    # an option of the command's, before the command: the hint sent to `nncli fit --help`, which lists it
    Case("option-before-the-command", ("-q", "fit", "missing.csv"), 2,
         r"No such option: -q\nhint: options go after the command: nncli fit -q \.\.\.\n$"),
    Case("option-with-its-value-before-the-command", ("--lr=0.1", "fit", "missing.csv"), 2,
         r"No such option: --lr.*\nhint: options go after the command: nncli fit --lr \.\.\.\n$"),
    Case("unknown-option-before-the-command", ("--bogus", "fit", "missing.csv"), 2,
         r"No such option: --bogus\nhint: see `nncli fit --help`\n$"),
    usage("hidden-superscript-digit", "--hidden", "²", err=r"--hidden '²': sizes must be whole numbers"),  # isdigit
    Case("lr-find-bad-batch", ("lr-find", "missing.csv", "--batch-size", "0"), 2,
         r"--batch-size must be at least 1, not 0"),
    Case("lr-find-max-below-min", ("lr-find", "missing.csv", "--lr-min", "1", "--lr-max", "0.1"), 2,
         r"^nncli: error: --lr-max must be more than --lr-min \(1\), not 0\.1\n$"),
    # (its span --lr-max / --lr-min overflowed: the suggestion printed was inf, which fit then refused)
    Case("lr-find-min-subnormal", ("lr-find", "missing.csv", "--lr-min", "1e-320"), 2,
         r"^nncli: error: --lr-min must be at least 1e-30, not 9\.99989e-321\n$"),
    Case("lr-find-seed-negative", ("lr-find", "missing.csv", "--seed", "-2"), 2, r"--seed must be 0 or more, not -2"),
    Case("predict-bad-delimiter", ("predict", "model.npz", "missing.csv", "--delimiter", "ab"), 2,
         r"--delimiter 'ab': use one ASCII character"),
    # (the readers split bytes: '§' is two in UTF-8, and read 1§2 as the number 156)
    usage("non-ascii-delimiter", "--delimiter", "§", err=r"--delimiter '§': use one ASCII character"),
    usage("letter-delimiter", "--delimiter", "a", err=r"--delimiter 'a': use one ASCII character that is not a letter, "
          r"digit or quote"),
    Case("gen-data-zero-rows", ("gen-data", "-n", "0"), 2, r"--samples must be at least 1, not 0"),
    # -- model files ------------------------------------------------------------------------------
    # A file that is no zip at all: most likely the data, given where the model goes (no Python text shown)
    Case("csv-as-the-model", ("predict", "data.csv", "model.npz"), 1, r"^nncli: error: 'data\.csv' is not an nncli model "
         r"\(it is not a zip archive; a CSV file\?\)\nhint: usage: nncli predict MODEL \[DATA\]\n$", files=data("x1,x2", "1,2")),
    Case("csv-as-the-model-in-eval", ("eval", "data.csv", "model.npz"), 1,
         r"^nncli: error: 'data\.csv' is not an nncli model .*\nhint: usage: nncli eval MODEL DATA\n$", files=data("x1,x2", "1,2")),
    Case("csv-as-the-model-in-show", ("show", "data.csv"), 1,
         r"^nncli: error: 'data\.csv' is not an nncli model .*\nhint: usage: nncli show MODEL\n$", files=data("x1,x2", "1,2")),
    bad_model("empty-model", b"", r"the file is empty\n$"),
    bad_model("truncated", lambda m: m[: len(m) // 2], r"the zip archive is damaged or truncated\nhint: "),
    bad_model("truncated-tail", lambda m: m[:-10], r"the zip archive is damaged or truncated\nhint: "),
    bad_model("zip-but-not-a-model", not_a_model_zip, r"a zip archive, but none that `nncli fit` writes"),
    bad_model("npz-but-not-a-model", npz(x=np.zeros(3)), r"a NumPy archive, but none that `nncli fit` writes"),
    bad_model("wrong-version", edit_meta(format_version=99), r"format version '99'; this nncli reads versions 1 to 2"),
    bad_model("version-as-text", edit_meta(format_version="1"), r"format version '\"1\"'; this nncli reads versions 1 to 2"),
    bad_model("version-as-true", edit_meta(format_version=True), r"format version 'true'; this nncli reads versions 1 to 2"),
    bad_model("version-as-float", edit_meta(format_version=1.0), r"format version '1\.0'; this nncli reads versions 1 to 2"),
    bad_model("wrong-format-name", edit_meta(format="other"), r"not an nncli model \(format name missing\)"),
    bad_model("missing-key", edit_arrays(x_mean=None), r"missing x_mean"),
    bad_model("extra-key", edit_arrays(extra=np.zeros(2)), r"unexpected member 'extra'"),
    bad_model("params-too-short", edit_arrays(params=lambda p: p[:-1]), r"params has \d+ values, the layers need"),
    bad_model("scale-shape", edit_arrays(x_scale=np.ones(5)), r"x_mean/x_scale shape"),
    bad_model("sizes-contradict-features", edit_meta(sizes=[5, 4, 1]), r"layer sizes start with 5 inputs"),
    bad_model("absurd-layer-sizes", edit_meta(sizes=[2, 10 ** 30, 1]), r"bad layer sizes"),
    bad_model("infinite-layer-size", edit_meta(sizes=[2, float("inf"), 1]), r"metadata field malformed \(sizes should be a list of whole numbers\)$"),
    bad_model("metadata-not-json", edit_arrays(meta=np.frombuffer(b"{nope", np.uint8)), r"metadata is not valid JSON"),
    bad_model("features-malformed", edit_meta(features="abc"), r"metadata field malformed \(features should be a list of objects\)$"),
    bad_model("info-field-of-the-wrong-type", edit_meta(info={"rows": "many", "epochs_run": 3, "seconds": 1.0}),
              r"info field 'rows' is missing or of the wrong type"),
    bad_model("config-field-missing", edit_meta(config={}), r"config field 'epochs' is missing or of the wrong type"),
    bad_model("infinite-fill-value", edit_meta(features=[{"name": "x1", "kind": "numeric", "fill": 1e999,
                                                          "categories": [], "missing": 0}] * 2),
              r"a feature's fill value is not finite"),
    bad_model("non-finite-weights", edit_arrays(params=lambda p: np.full_like(p, np.nan)), r"params holds non-finite"),
    bad_model("non-finite-scale", edit_arrays(x_scale=lambda s: s * np.inf), r"x_scale holds non-finite"),
    bad_model("zero-scale", edit_arrays(x_scale=lambda s: s * 0), r"a standardization scale is not positive"),
    bad_model("pickled-object-array", pickled_params, r"member 'params' has dtype \|O; only plain numbers"),
    bad_model("raw-pickle-member", raw_pickle_member, r"member 'params' is not a NumPy array"),
    bad_model("declared-size-beyond-file", lambda m: forge_declared_size(m, "params", 300_000_000),
              r"member 'params' declares more bytes than the file holds"),
    bad_model("encrypted-member", lambda m: patch_zip_directory(m, "meta", 8, "<H", 1),
              r"member 'meta' is encrypted or compressed in a way NumPy never writes"),
    bad_model("unknown-compression", lambda m: patch_zip_directory(m, "params", 10, "<H", 99),
              r"member 'params' is encrypted or compressed in a way NumPy never writes"),
    bad_model("zip-version-too-new", lambda m: patch_zip_directory(m, "x_mean", 6, "<H", 64),
              r"cannot read it as a model archive"),
    bad_model("deflate-bomb", deflate_bomb, r"member 'params' declares an absurd size"),
    Case("show-damaged-model", ("show", "bad.npz", "--json"), 1, r"'bad\.npz' is not a valid nncli model",
         files={"bad.npz": lambda m: m[:-100]}),
    Case("show-plot-over-the-model", ("show", "model.npz", "--plot", "model.npz"), 2, r"is also an input"),
    Case("show-plot-to-stdout", ("show", "model.npz", "--plot", "-"), 0, out=r"(?s)<\?xml [^\n]*\n<svg .*</svg>\n"),
    Case("show-plot-to-stdout-and-json", ("show", "model.npz", "--plot", "-", "--json"), 2,
         r"--plot - and --json both write to stdout"),
    Case("show-plot-to-dev-stdout-and-json", ("show", "model.npz", "--plot", "/dev/stdout", "--json"), 2,
         r"--plot '/dev/stdout' and --json both write to stdout"),
    Case("show-plot-to-a-directory", ("show", "model.npz", "--plot", "."), 2, r"cannot write '\.': a directory"),
    # (a usage error before any work, as elsewhere: it was found only once the model had loaded)
    # (it said "cannot open model '-': No such file or directory")
    Case("model-from-stdin-predict", ("predict", "-", "missing.csv"), 2, r"^nncli: error: a model is read from a file, "
         r"not from stdin \('-'\)\nhint: save it to a file first \(a file named '-' is \./-\)\n$"),
    Case("model-from-stdin-eval", ("eval", "-", "missing.csv"), 2, r"^nncli: error: a model is read from a file"),
    Case("model-from-stdin-show", ("show", "-"), 2, r"^nncli: error: a model is read from a file"),
    Case("show-bad-plot-and-no-model", ("show", "missing.npz", "--plot", ""), 2,
         r"^nncli: error: cannot write '': an empty path, not a file path\n$"),
    # Text from a crafted model is shown, never obeyed: no escape reaches the terminal (checked for
    # every row), and markup is not parsed (an unbalanced closing tag was a Rich MarkupError).
    Case("show-escapes-in-the-config", ("show", "bad.npz"), 0, r"lr_schedule=\\x1b\[2J",
         files={"bad.npz": edit_meta_in("config", lr_schedule="\x1b[2Jcleared")}),
    Case("show-markup-in-the-info", ("show", "bad.npz"), 0, r"stopped: \[/bold\]\[link=x\]",
         files={"bad.npz": edit_meta_in("info", stopped="[/bold][link=x]")}),
    # val_rows, unchecked, crashed `show` ({:,} of a string) while predict and eval took the file
    Case("show-val-rows-not-a-number", ("show", "bad.npz"), 1, r"info field 'val_rows' is missing or of the wrong type",
         files={"bad.npz": edit_meta_in("info", val_rows="5")}),
    Case("lr-find-empty-file", ("lr-find", "data.csv", "-q"), 1, r"data\.csv:1: the file is empty",
         files={"data.csv": b""}),
    Case("lr-find-one-class", ("lr-find", "data.csv", "-q"), 1, r"single class", files=data("a,label", "1,x", "2,x")),
    Case("model-is-a-directory", ("predict", ".", "data.csv"), 1, r"model '\.' is not a regular file",
         files=data("x1,x2", "1,2")),
    Case("model-missing", ("eval", "nope.npz", "data.csv"), 1, r"cannot open model 'nope\.npz'",
         files=data("x1,x2", "1,2")),
    # -- data against the model (trained on x1,x2 -> label with classes 0 and 1) --------------------
    Case("missing-feature-column", PREDICT, 1, r"data\.csv:1: missing column: 'x2'", files=data("x1,label", "1,0")),
    Case("missing-feature-columns", EVAL, 1, r"data\.csv:1: missing columns: 'x1', 'x2'", files=data("label", "0")),
    Case("extra-and-reordered-columns", PREDICT + ("--keep", "id"), 0, out=r"id,prediction\nr1,[01]\nr2,[01]\n",
         files=data("x2,extra,id,x1", "0.5,zzz,r1,1", "-0.2,,r2,0")),
    Case("unseen-class-label", EVAL, 1, r"data\.csv:3:3 \(column 'label'\): class label '7' was not seen in training",
         files=data("x1,x2,label", "1,0.5,0", "0,0.5,7")),
    Case("class-label-written-as-a-float", EVAL, 1,
         r"class label '1\.0' was not seen in training.*\nhint: .*'1\.0' is written differently from '1'",
         files=data("x1,x2,label", "1,0.5,1.0")),
    Case("missing-label", EVAL, 1, r"data\.csv:3:3 \(column 'label'\): the target is missing",
         files=data("x1,x2,label", "1,0.5,0", "0,0.5,")),
    Case("predict-stops-at-bad-line", PREDICT, 1, r"data\.csv:5:2 \(column 'x2'\): expected a number, found 'oops'",
         out=r"prediction\n([01]\n){3}", files=data("x1,x2", "1,0.5", "0,0.5", "2,1", "1,oops", "0,0")),
    Case("predict-to-file-is-atomic", PREDICT + ("-o", "out.csv"), 1, r"data\.csv:3:1 \(column 'x1'\)",
         files=data("x1,x2", "1,0.5", "inf,0.5")),
    Case("predict-to-file", PREDICT + ("-o", "out.csv"), 0, files=data("x1,x2", "1,0.5"), changes=("out.csv",)),
    Case("eval-regression-target-not-a-number", ("eval", "reg.npz", "data.csv"), 1,
         r"data\.csv:3:2 \(column 'y'\): expected a finite number as the target, found 'n/a!'",
         files=data("a,y", "1,2", "2,n/a!")),
    # -- numerical --------------------------------------------------------------------------------
    fit_ok("zero-variance-feature", data("a,b,label", *(f"7,{i},{'xy'[i % 2]}" for i in range(6)))),
    fit_err("single-class-target", data("a,label", "1,x", "2,x", "3,x"), r"single class \('x'\)"),
    fit_ok("constant-regression-target", data("a,y", "1,5", "2,5", "3,5"), "--task", "regression"),
    fit_ok("extreme-finite-values", data("a,b,label", *(f"{(-1) ** i * 1e30},{i},{'xy'[i % 2]}" for i in range(6)))),
    fit_err("diverging-learning-rate", data("a,y", *(f"{i},{2 * i + 1}" for i in range(20))),
            r"training diverged at epoch \d+", "--task", "regression", "--lr", "1e5", "--optimizer", "sgd",
            "--epochs", "50", "--json"),
    # -- faults -----------------------------------------------------------------------------------
    Case("full-disk-on-save", FIT + ("--json",), 1, r"cannot write 'out\.npz': File too large",
         files=data(HEADER, *ROWS),
         fsize_limit=1024),
    Case("full-disk-on-predict-output", PREDICT + ("-o", "out.csv"), 1, r"cannot write 'out\.csv': File too large",
         files=data("x1,x2", *(["1,0.5"] * 5000)), fsize_limit=4096),
    *([] if not DEVFULL_OK else [
        # `full` writes as /dev/full (see `device_like`): should writing ever replace the path instead of
        # writing into it, only the test's own node or link is lost, never the device.
        Case("predict-o-dev-full", PREDICT + ("-o", "full"), 1, r"cannot write 'full': No space left",
             files=data("x1,x2", "1,0.5")),
        Case("gen-data-o-dev-full", ("gen-data", "-o", "full"), 1, r"cannot write 'full': No space left"),
        Case("fit-o-dev-full", FIT[:3] + ("full",) + FIT[4:], 1, r"cannot write 'full': No space left",
             files=data(HEADER, *ROWS)),
        Case("predict-stdout-dev-full", PREDICT, 1, r"cannot write the output: No space left",
             files=data("x1,x2", "1,0.5"), stdout_to="/dev/full"),
        Case("gen-data-stdout-dev-full", ("gen-data",), 1, r"cannot write the output: No space left",
             stdout_to="/dev/full"),
        Case("show-json-stdout-dev-full", ("show", "model.npz", "--json"), 1, r"cannot write the output: No space left",
             stdout_to="/dev/full"),
        Case("eval-json-stdout-dev-full", EVAL, 1, r"cannot write the output: No space left",
             files=data("x1,x2,label", "1,0.5,0"), stdout_to="/dev/full"),
        # A plot file is written before the model's rename: its failure leaves no model (it used to
        # exit 1 with the model replaced). Stdout gets data only once the model is saved, so a
        # failure there says the model was saved.
        Case("fit-plot-dev-full-saves-no-model", FIT + ("--plot", "full"), 1, r"cannot write 'full': No space left",
             files=data(HEADER, *ROWS)),
        Case("fit-json-stdout-dev-full-says-the-model-was-saved", FIT + ("--json",), 1,
             r"cannot write the output: No space left on device\nhint: the model was saved to 'out\.npz'",
             files=data(HEADER, *ROWS), stdout_to="/dev/full", changes=("out.npz",)),
    ]),
    Case("predict-o-dev-null", PREDICT + ("-o", "null"), 0, files=data("x1,x2", "1,0.5")),  # null -> /dev/null
    # a zip archive records where its members start from the file's position, which /dev/null keeps at
    # 0: zipfile failed ("internal error: 'argument out of range'")
    Case("fit-o-dev-null", FIT[:2] + ("-o", "null") + FIT[4:] + ("--epochs", "200", "--patience", "0"), 0, files=data(HEADER, *ROWS)),
]


# -- running the table ----------------------------------------------------------------------------
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(directory: Path) -> dict[str, str]:
    """sha256 of each regular file; symlinks by their target (a device is not read)."""
    return {p.name: f"-> {os.readlink(p)}" if p.is_symlink() else sha256(p)
            for p in directory.iterdir() if p.is_symlink() or p.is_file()}


LIMITED = ("import resource, runpy, signal, sys; n = int(sys.argv.pop(1));"
           "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); resource.setrlimit(resource.RLIMIT_FSIZE, (n, n));"
           "sys.argv[0] = 'nncli'; runpy.run_module('nncli', run_name='__main__')")


@dataclass
class Outcome:
    code: int
    stdout: bytes
    stderr: bytes
    before: dict[str, str]
    after: dict[str, str]
    directory: Path


def run_case(case: Case, directory: Path, models: dict[str, bytes], forked: bool = True) -> Outcome:
    """Run one row in `directory`: forked from the fork server (tests/forks.py), or as `python -m nncli`."""
    directory.mkdir()
    for name in ("model.npz", "out.npz", "reg.npz"):
        (directory / name).write_bytes(models["reg" if name == "reg.npz" else "cls"])
    (directory / "out.csv").write_text("an earlier output\n")
    device_like(directory / "null", os.devnull)
    if DEVFULL_OK:
        device_like(directory / "full", "/dev/full")
    for name, content in case.files.items():
        (directory / name).write_bytes(content(models["cls"]) if callable(content) else content)
    before = snapshot(directory)
    server = fork_server() if forked else None
    if server is not None:
        r = server.run(list(case.args), cwd=directory, input=case.stdin, stdout_to=case.stdout_to,
                       fsize_limit=case.fsize_limit)
    else:
        cmd = [sys.executable, "-m", "nncli", *case.args]
        if case.fsize_limit is not None:
            cmd = [sys.executable, "-c", LIMITED, str(case.fsize_limit), *case.args]
        with open(case.stdout_to or os.devnull, "wb") as out:
            r = subprocess.run(cmd, input=case.stdin, stdout=out if case.stdout_to else subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=directory, env=nncli_env(), timeout=120)
    return Outcome(r.returncode, r.stdout or b"", r.stderr, before, snapshot(directory), directory)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, bytes]:
    """One small classifier (x1,x2 -> label 0/1) and one regressor (a -> y), trained once."""
    from nncli.core.datagen import moons

    d = tmp_path_factory.mktemp("models")
    x = moons(np.random.default_rng(0), 200)[0]
    (d / "cls.csv").write_text("x1,x2,label\n" + "".join(f"{a:.4f},{b:.4f},{c}\n" for a, b, c in
                                                          zip(x["x1"], x["x2"], x["label"])))
    (d / "reg.csv").write_text("a,y\n" + "".join(f"{i},{3 * i + 1}\n" for i in range(30)))
    for name, extra in (("cls", ()), ("reg", ("--task", "regression"))):
        r = subprocess.run([sys.executable, "-m", "nncli", "fit", f"{name}.csv", "-o", f"{name}.npz", "--epochs",
                            "3", "--hidden", "4", "-q", *extra], cwd=d, env=nncli_env(), capture_output=True)
        assert r.returncode == 0, r.stderr
    return {name: (d / f"{name}.npz").read_bytes() for name in ("cls", "reg")}


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory, models) -> dict[str, Outcome]:
    """Run the selected rows of CASES, a few at a time, in their own directories."""
    wanted = {item.callspec.params["case"].id for item in request.session.items
              if item.module is request.module and "case" in getattr(getattr(item, "callspec", None), "params", ())}
    base = tmp_path_factory.mktemp("cases")
    chosen = [c for c in CASES if c.id in wanted]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda c: run_case(c, base / c.id, models), chosen)
        return {c.id: r for c, r in zip(chosen, results)}


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


ONE_ERROR = re.compile(r"nncli: error: [^\n]+\n(hint: [^\n]+\n)?")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, outcomes):
    o = outcomes[case.id]
    stderr = o.stderr.decode("utf-8", "replace")
    assert o.code == case.code, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert "\x1b" not in stderr  # user text never reaches the terminal as control codes
    if case.code != 0:
        assert ONE_ERROR.fullmatch(stderr), stderr
        assert "internal error" not in stderr
    assert re.search(case.err, stderr), stderr
    stdout = o.stdout.decode("utf-8", "replace")
    if case.out is not None:
        assert re.fullmatch(case.out, stdout), stdout
    elif case.code != 0:
        assert stdout == ""
    # Files: exactly the expected ones changed; nothing new, in particular no temporary files.
    assert set(o.after) == set(o.before), sorted(set(o.after) ^ set(o.before))
    changed = {name for name in o.before if o.before[name] != o.after[name]}
    assert changed == set(case.changes)
    umask = os.umask(0)
    os.umask(umask)
    for name in case.changes:
        assert stat.S_IMODE((o.directory / name).stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
        if name.endswith(".npz"):
            load_model(str(o.directory / name))


# The rows that use what the fork server sets up (stdin, stdout to a device, a file-size limit), and every
# 20th row besides.
SAMPLE = [c for i, c in enumerate(CASES) if c.stdin or c.stdout_to or c.fsize_limit is not None or i % 20 == 0]


def test_a_forked_run_does_what_python_m_nncli_does(tmp_path, models):
    """The rows run forked from the fork server (tests/forks.py); run as `python -m nncli` too, a sample
    of them exits with the same code, prints the same bytes and changes the same files."""
    def both(c: Case) -> tuple[Outcome, Outcome]:
        return (run_case(c, tmp_path / "forked" / c.id, models),
                run_case(c, tmp_path / "started" / c.id, models, forked=False))

    (tmp_path / "forked").mkdir()
    (tmp_path / "started").mkdir()
    with ThreadPoolExecutor(max_workers=4) as pool:
        for c, (forked, started) in zip(SAMPLE, pool.map(both, SAMPLE)):
            said = [o.stderr.replace(bytes(o.directory), b"DIR") for o in (forked, started)]
            assert (forked.code, forked.stdout, said[0]) == (started.code, started.stdout, said[1]), c.id
            assert [{n for n in o.before if o.before[n] != o.after.get(n)} for o in (forked, started)] == \
                [set(c.changes)] * 2, c.id


STREAMS = """import sys
for s in (sys.stdin, sys.stdout, sys.stderr):
    raw = getattr(s.buffer, "raw", s.buffer)
    print(s.name, s.mode, s.encoding, s.errors, s.line_buffering, s.write_through, type(s.buffer).__name__,
          raw.name, raw.mode, raw.closefd, s.seekable(), s.isatty(), s.fileno(), file=sys.stderr)
"""


@pytest.mark.parametrize("stdin, stdout_to", [(b"", None), (b"x1\n", DEVFULL_OK and "/dev/full" or None),
                                              (None, None)])
def test_a_forked_runs_standard_streams_are_made_as_a_fresh_process_makes_them(stdin, stdout_to):
    """The server's own streams were made over other files: a stream keeps what it learned then."""
    server = fork_server()
    if server is None:
        pytest.skip("no fork server off Linux")
    forked = server.run([], code=STREAMS, input=stdin, stdout_to=stdout_to)
    with open(stdout_to or os.devnull, "wb") as out:
        started = subprocess.run([sys.executable, "-c", STREAMS], input=stdin, env=server.env, stderr=subprocess.PIPE,
                                 stdout=out if stdout_to else subprocess.PIPE)
    assert forked.returncode == started.returncode == 0, forked.stderr
    assert forked.stderr == started.stderr


# -- tests that need a live process ------------------------------------------------------------------
def start(*args: str, cwd: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nncli", *args], cwd=cwd, env=nncli_env(), **kw)


@pytest.mark.parametrize("closed, args, code, said", [
    (">&-", PREDICT, 1, "cannot write the output: standard output is closed"),
    (">&-", FIT, 0, ""),  # fit prints no data: nothing is lost
    ("2>&-", FIT[:-1], 0, None),  # no -q: its report goes nowhere, as asked, and the model is saved
    ("<&-", ("predict", "model.npz"), 1, "cannot read <stdin>: standard input is closed"),
    # Open the wrong way round counts as closed: started with `2>&-`, a launcher shell script (pyenv's
    # shims) leaves itself open read-only on descriptor 2.
    ("2<data.csv", FIT[:-1], 0, None),
    ("1<data.csv", PREDICT, 1, "cannot write the output: standard output is closed"),
    ("0>in.txt", ("predict", "model.npz"), 1, "cannot read <stdin>: standard input is closed"),
    # Its descriptor now holds /dev/null: writing to /dev/stdout would lose the output without a word.
    (">&-", PREDICT + ("-o", "/dev/stdout"), 2, "cannot write '/dev/stdout': standard output is closed"),
    (">&-", FIT[:3] + ("/dev/fd/1",) + FIT[4:], 2, "cannot write '/dev/fd/1': standard output is closed"),
    (">&-", ("gen-data", "-o", "/proc/self/fd/1"), 2, "cannot write '/proc/self/fd/1': standard output is closed"),
    # while /dev/null itself is fine: the very device that now stands in for stdout (so not `device_like`)
    (">&-", PREDICT + ("-o", "/dev/null"), 0, ""),
    # (the /dev/null standing in for stdin is not the same stream as a --val /dev/null)
    ("<&-", ("fit", "-", "--val", "/dev/null", "-o", "out.npz"), 1, "cannot read <stdin>: standard input is closed"),
], ids=["stdout-predict", "stdout-fit", "stderr-fit", "stdin-predict", "stderr-read-only-fit",
        "stdout-read-only-predict", "stdin-write-only-predict", "stdout-predict-o-dev-stdout",
        "stdout-fit-o-dev-fd-1", "stdout-gen-data-o-proc-self-fd-1", "stdout-predict-o-dev-null",
        "stdin-fit-val-dev-null"])
def test_a_command_started_without_a_standard_stream(tmp_path, models, closed, args, code, said):
    (tmp_path / "model.npz").write_bytes(models["cls"])
    (tmp_path / "data.csv").write_bytes(csv_bytes(HEADER, *ROWS) if args[0] == "fit" else csv_bytes("x1,x2", "1,2"))
    err = tmp_path / "err.txt"
    shell = f'exec "$0" -m nncli "$@" {closed}' + (f" 2>{err}" if not closed.startswith("2") else "")
    r = subprocess.run(["sh", "-c", shell, sys.executable, *args], cwd=tmp_path, env=nncli_env(), timeout=120)
    assert r.returncode == code
    if said is not None:
        assert err.read_text() == (f"nncli: error: {said}\n" if said else "")
    if args[0] == "fit" and code == 0:
        load_model(str(tmp_path / "out.npz"))
    assert {p.name for p in tmp_path.iterdir()} <= {"data.csv", "err.txt", "in.txt", "model.npz", "out.npz"}


@pytest.mark.parametrize("value", ["999", "0", "two", "²"])
def test_a_bad_nncli_threads_is_reported_as_such(value, tmp_path):
    r = run_nncli("eval", "nope.npz", "nope.csv", env={"NNCLI_THREADS": value})
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.decode() == f"nncli: error: NNCLI_THREADS must be a whole number from 1 to 256, not '{value}'\n"
    # Commands without --threads ignore it (they were refused)
    r = run_nncli("gen-data", "-n", "2", "-o", tmp_path / "d.csv", env={"NNCLI_THREADS": value})
    assert r.returncode == 0 and r.stderr == b""
    assert run_nncli("fit", tmp_path / "d.csv", "-o", tmp_path / "m.npz", "-q", "--epochs", "1",
                     env={"NNCLI_THREADS": "2"}).returncode == 0
    r = run_nncli("show", tmp_path / "m.npz", "--json", env={"NNCLI_THREADS": value})
    assert r.returncode == 0 and r.stderr == b"" and json.loads(r.stdout)["kind"] == "mlp"


@pytest.mark.parametrize("signalled, code, said", [(KeyboardInterrupt, 130, "interrupted"),
                                                  (Terminated, 143, "terminated"),
                                                  (lambda: Terminated(signal.SIGHUP), 129, "hung up")])
def test_an_error_raised_while_stopping_for_a_signal_reports_the_signal(capsys, signalled, code, said):
    """A second Ctrl-C in the middle of a save: closing the half-written zip raises ValueError."""
    from nncli.cli import run

    def invoke() -> None:
        try:
            raise signalled()
        except BaseException:
            raise ValueError("Can't close the ZIP file while there is an open writing handle on it")

    assert run(invoke) == code
    assert capsys.readouterr().err == f"nncli: error: {said}\n"


@pytest.mark.parametrize("argv, hint", [(["fit", "d.csv"], "try a smaller --batch-size or a smaller model"),
                                        (["predict", "m.npz", "--threads", "1"], "the data or the model is too big"),
                                        (["gen-data", "mixed", "-n", "100000000"], "try a smaller -n\n")])
def test_out_of_memory_hints_at_what_the_command_can_change(capsys, argv, hint):
    """predict has no --batch-size: the hint named it all the same."""
    from nncli.cli import run

    def invoke() -> None:
        raise MemoryError

    assert run(invoke, argv) == 1
    assert capsys.readouterr().err.startswith(f"nncli: error: out of memory\nhint: {hint}")


def test_stdin_is_read_after_a_wait_that_lets_a_signal_handler_run(monkeypatch):
    """A Ctrl-C just before read(2) blocks on a terminal waited for the read to return: `predict`
    with rows to type hung in ~1 run of 40 (a pty loop: 5 of 290 before, 0 of 180 after). Stdin that
    is not a regular file is waited on in `select`, a quarter of a second at a time."""
    import select as select_module

    from nncli import csv_source

    r, w = os.pipe()
    os.write(w, b"a,b\n1,2\n")
    os.close(w)
    waits = []
    real = select_module.select

    def select(rlist, wlist, xlist, timeout=None):
        waits.append(timeout)
        return ([], [], []) if len(waits) == 1 else real(rlist, wlist, xlist, timeout)  # (a first wait timed out)

    monkeypatch.setattr(csv_source.select, "select", select)
    try:
        stdin = io.BufferedReader(csv_source._Stdin(r))  # (as `open_binary` reads it)
        assert stdin.read(100) == b"a,b\n1,2\n" and waits[:2] == [0.25, 0.25]
    finally:
        os.close(r)


def test_a_stop_signal_turned_into_its_exception_is_recorded_until_handled():
    # (what `reraise_if_lost` raises again when the exception was lost on its way: see the test below)
    from nncli import stop_signals

    for signum, exception in ((signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, stop_signals.Terminated)):
        with pytest.raises(exception):
            stop_signals.raise_for(signum)
        assert stop_signals.raised == signum
        stop_signals.handled()
        assert stop_signals.raised is None


def test_once_the_outcome_is_settled_a_stop_signal_takes_its_default_action():
    # (a second Ctrl-C while the reader's threads are joined at exit ends the process by the signal,
    # instead of an exception that could only be printed as "Exception ignored in ...")
    from nncli import stop_signals

    before = {s: signal.getsignal(s) for s in stop_signals.STOPS}
    try:
        stop_signals.kill_from_now_on()
        for s, h in before.items():
            assert signal.getsignal(s) == (h if h in (signal.SIG_IGN, None) else signal.SIG_DFL)
    finally:
        for s, h in before.items():
            if h is not None:
                signal.signal(s, h)


def test_a_ctrl_c_whose_exception_was_lost_stops_the_wait_for_typed_rows(monkeypatch):
    """A Ctrl-C that came while NumPy imported numpy.random (lazily, in `fit`) raised its
    KeyboardInterrupt inside that extension module's initialization, which lost it: `fit -` then waited
    for typed rows for ever (1 run in ~40 with the machine loaded; the pty test hung). The wait for
    input now raises a stop signal again that no handler has ended the command with."""
    import select as select_module

    from nncli import csv_source, stop_signals

    real, waits = select_module.select, []

    def select(rlist, wlist, xlist, timeout=None):  # a terminal nobody types at, three waits long
        waits.append(timeout)
        if len(waits) > 3:
            raise AssertionError("still waiting for typed rows after a Ctrl-C")
        return [], [], []

    r, w = os.pipe()
    try:
        stdin = csv_source._Stdin(r)
        stop_signals.raised = signal.SIGINT  # raised, and lost on its way
        monkeypatch.setattr(csv_source.select, "select", select)
        with pytest.raises(KeyboardInterrupt):
            stdin.read(10)
        assert waits == [0.25]  # at the end of the first wait
        monkeypatch.setattr(csv_source.select, "select", real)
        stop_signals.raised = None
        os.write(w, b"x\n")
        assert stdin.read(10) == b"x\n"  # nothing pending: reads as ever
    finally:
        stop_signals.handled()
        os.close(r)
        os.close(w)



def test_a_stop_lost_in_the_cast_of_a_chunks_targets_stops_eval_before_it_scores_that_chunk(cli, tmp_path, monkeypatch):
    """NumPy's cast of a chunk's target text to numbers runs the stop handler and drops its exception: the
    labelled file's reader must raise it again before handing on the chunk (else the stop comes a chunk
    late, or once all of a one-chunk file is scored)."""
    from nncli import apply, model_file, stop_signals

    model = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "linear.csv", "-m", "linear", "-e", "1", "-o", model, "-q").exit_code == 0
    real = apply.target_numbers

    def cast_that_loses_a_stop(*args, **kwargs):
        stop_signals.raised = signal.SIGINT  # (the handler ran, and NumPy dropped what it raised)
        return real(*args, **kwargs)

    monkeypatch.setattr(apply, "target_numbers", cast_that_loses_a_stop)
    with pytest.raises(KeyboardInterrupt):
        next(apply.eval_chunks(model_file.load_model(str(model)), str(SAMPLES / "linear.csv")))


@pytest.mark.parametrize("signum, code, said", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_stop_signal_whose_exception_an_import_lost_still_stops_the_command(tmp_path, capsys, signum, code, said):
    """A Ctrl-C or SIGTERM while NumPy imported numpy.random raised its exception inside that module's
    initialization, which lost it: the command ran to its end and exited 0 (5 runs of 150 for a `fit`
    of 100 epochs, with its model saved), or an import failed on it ("internal error: ImportError").
    The command now stops at its next step (training, an output's commit, rows written), or ends as stopped."""
    from nncli import atomic, csv_write, stop_signals
    from nncli.cli import run
    from nncli.stop_signals import StopFlag

    try:
        stop_signals.raised = signum  # raised, and lost on its way
        assert run(lambda: None) == code  # a command that ran to its end
        assert capsys.readouterr().err == f"nncli: error: {said}\n" and stop_signals.raised is None

        def failing_import() -> None:
            raise ImportError("Failed to import 'zlib.decompress'")

        stop_signals.raised = signum
        assert run(failing_import) == code and capsys.readouterr().err == f"nncli: error: {said}\n"

        stopped = (KeyboardInterrupt, stop_signals.Terminated)
        stop_signals.raised = signum
        with pytest.raises(stopped):
            with StopFlag():  # before training
                raise AssertionError("trained")
        out = tmp_path / "out.csv"
        with pytest.raises(stopped):
            atomic.atomic_write(str(out), lambda f: f.write(b"a\n"))  # no file, as for any stop
        assert list(tmp_path.iterdir()) == []
        r, w = os.pipe()
        try:
            with pytest.raises(stopped):
                csv_write._WholeRows(open(w, "w", closefd=False)).write("1,2\n")
            os.close(w)
            w = -1
            assert os.read(r, 100) == b""  # no rows
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
        stop_signals.handled()
        from nncli.__main__ import _early  # (the handler until the command line's modules have loaded)

        with pytest.raises(SystemExit):
            _early(signum, None)
        assert stop_signals.raised == signum  # for `cli.main` to raise again, should an import swallow the exit
        assert capsys.readouterr().err == f"nncli: error: {said}\n"
        assert run(lambda: None) == code and capsys.readouterr().err == ""  # (said once, not twice)
        assert run(lambda: stop_signals.raise_for(signum)) == code  # a later stop, once that one was handled: said
        assert capsys.readouterr().err == f"nncli: error: {said}\n"
        other = signal.SIGTERM if signum == signal.SIGINT else signal.SIGINT
        stop_signals.raised, stop_signals.announced = signum, signum
        assert run(lambda: stop_signals.raise_for(other)) == 128 + other  # a second, other signal: said
        assert capsys.readouterr().err == f"nncli: error: {stop_signals.STOPS[other]}\n"
    finally:
        stop_signals.handled()


def test_a_thread_the_system_will_not_start_is_an_error_not_a_bug(capsys):
    """--threads 256 under `ulimit -v`: Python's RuntimeError was reported as an internal error."""
    from nncli.cli import run

    def invoke() -> None:
        raise RuntimeError("can't start new thread")

    assert run(invoke, ["fit", "d.csv", "--threads", "256"]) == 1
    assert capsys.readouterr().err == ("nncli: error: cannot start another thread: the system's limit\n"
                                       "hint: use fewer --threads\n")


@pytest.fixture
def big_csv(tmp_path) -> Path:
    path = tmp_path / "big.csv"
    r = start("gen-data", "moons", "-n", "50000", "-o", str(path), cwd=tmp_path)
    assert r.wait(timeout=60) == 0
    return path


@pytest.mark.parametrize("command", [("predict", "model.npz", "big.csv"), ("gen-data", "-n", "300000")],
                         ids=["predict", "gen-data"])
def test_writing_into_a_closed_pipe_is_quiet(tmp_path, models, big_csv, command):
    """`nncli predict ... | head -1`: the reader goes away; nncli stops without noise, exit 0."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    p = start(*command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() in (b"prediction\n", b"x,y\n")
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=60) == 0
    assert err == b""


def run_into_closed_pipe(stream: str, *args: str, cwd: Path, unbuffered: bool = False) -> subprocess.CompletedProcess:
    """nncli with `stream` ("stdout" or "stderr") a pipe whose reader has already gone, as `| head -1`
    that has exited, so that the first write to it fails; the other stream is captured.

    Python buffers stdout and stderr as usual (stderr by line), unless `unbuffered` (PYTHONUNBUFFERED=1).
    """
    env = nncli_env()
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    read, write = os.pipe()
    os.close(read)
    other = "stderr" if stream == "stdout" else "stdout"
    try:
        return subprocess.run([sys.executable, "-m", "nncli", *args], cwd=cwd, env=env, timeout=120,
                              stdin=subprocess.DEVNULL, **{stream: write, other: subprocess.PIPE})
    finally:
        os.close(write)


FIT_JSON = FIT[:-1] + ("--json",)  # (without -q: it reports on stderr)


@pytest.mark.parametrize("args, code, unbuffered", [
    (FIT_JSON + ("--progress", "plain"), 0, False),
    (FIT_JSON + ("--progress", "plain"), 0, True),
    (FIT_JSON + ("--progress", "live"), 0, False),
    (("lr-find", "data.csv", "--hidden", "3", "--steps", "5"), 0, False),
    (("eval", "model.npz", "labelled.csv"), 0, False),
    (("show", "model.npz"), 0, False),
    (("show", "model.npz"), 0, True),
    (("predict", "missing.npz", "data.csv"), 1, False),
    (FIT[:-1] + ("--epochs", "0"), 2, False),
    ((), 2, False),  # the help, on stderr
    ((), 2, True),
], ids=["fit-plain", "fit-plain-unbuffered", "fit-live", "lr-find", "eval", "show", "show-unbuffered",
        "error", "usage-error", "no-arguments", "no-arguments-unbuffered"])
def test_a_closed_stderr_pipe_changes_nothing_but_the_messages(tmp_path, models, args, code, unbuffered):
    """`nncli fit ... 2>&1 >/dev/null | head -1`: once stderr's reader has gone, what is for people is
    dropped; the command carries on, writes its data and files, and exits with its own code (Rich
    would exit 1, and a failed flush of stderr at exit makes it 120)."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    (tmp_path / "data.csv").write_bytes(csv_bytes(HEADER, *ROWS))
    (tmp_path / "labelled.csv").write_bytes(csv_bytes("x1,x2,label", "1,0.5,0", "-0.5,0.2,1", "0,1,0"))
    r = run_into_closed_pipe("stderr", *args, cwd=tmp_path, unbuffered=unbuffered)
    assert r.returncode == code
    if args[:1] == ("fit",) and code == 0:
        assert json.loads(r.stdout)["model"] == "out.npz"  # stdout untouched by the broken stderr
        load_model(str(tmp_path / "out.npz"))
    elif args[:1] == ("lr-find",):
        assert float(r.stdout) > 0
    else:
        assert r.stdout == b""


def test_an_output_that_stdout_is_redirected_to_is_named_as_such(tmp_path):
    """`fit d.csv -o m.npz --json > m.npz` said "give the first a file name": it had one."""
    (tmp_path / "data.csv").write_bytes(csv_bytes(HEADER, *ROWS))
    with open(tmp_path / "out.npz", "wb") as out:
        r = subprocess.run([sys.executable, "-m", "nncli", "fit", "data.csv", "-o", "out.npz", "--json"], cwd=tmp_path,
                           env=nncli_env(), stdout=out, stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 2 and r.stderr.decode() == (
        "nncli: error: stdout is 'out.npz', the file --output writes, and --json writes stdout too; redirect "
        "stdout to another file\n")


def test_data_named_like_the_default_output_is_said_so(tmp_path, monkeypatch, cli):
    """`nncli fit model.npz` (a CSV so named) said "-o 'model.npz' is also an input": no -o was given."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.npz").write_bytes(csv_bytes(HEADER, *ROWS))
    r = cli("fit", "model.npz")
    assert r.exit_code == 2 and r.stderr == ("nncli: error: -o defaults to 'model.npz', which is the data: name the "
                                             "output\nhint: -o FILE saves the model there\n")


def test_a_missing_val_file_is_said_before_the_data_is_read(tmp_path, monkeypatch, cli):
    """`fit big.csv --val typo.csv` read all of big.csv (or all of stdin) before saying --val was missing."""
    from nncli.csv_io import TableReader
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("x,y\n1,0\n2,1\n3,0\n4,1\n")
    opened = []
    monkeypatch.setattr(TableReader, "__init__", lambda self, *a, **k: opened.append(a) or 1 / 0)
    r = cli("fit", "data.csv", "--val", "typo.csv", "-q")
    assert r.exit_code == 1 and opened == [] and r.stderr == "nncli: error: no such file: 'typo.csv'\n"


GONE = "the current directory no longer exists"


@pytest.mark.parametrize("args, said", [
    (("gen-data", "-n", "3", "-o", "g.csv"), f"{GONE}\nhint: cd into one that does, and run the command again\n"),
    (("fit", "data.csv", "-o", "{out}", "-q"), f"{GONE}\nhint: cd into one that does, and run the command again\n"),
    (("predict", "{model}", "data.csv"), f"no such file: 'data.csv' ({GONE})\n"),
    (("eval", "model.npz", "{data}"), f"cannot open model 'model.npz': No such file or directory ({GONE})\n"),
    (("fit", "{data}", "-o", "{out}", "-q"), None),  # (absolute paths need no current directory)
], ids=["relative-output", "relative-data", "predict-relative-data", "eval-relative-model", "absolute-paths"])
def test_a_current_directory_that_no_longer_exists_is_said_so(tmp_path, models, args, said):
    """The message was "cannot write the output: No such file or directory", for an input too."""
    (tmp_path / "data.csv").write_text("x,y\n1,0\n2,1\n3,0\n4,1\n")
    (tmp_path / "model.npz").write_bytes(models["cls"])
    args = [a.format(data=tmp_path / "data.csv", out=tmp_path / "m.npz", model=tmp_path / "model.npz") for a in args]
    gone = tmp_path / "gone"
    gone.mkdir()
    script = f"cd {shlex.quote(str(gone))} && rmdir ../gone && exec {shlex.quote(sys.executable)} -m nncli " + \
        " ".join(shlex.quote(a) for a in args)
    r = subprocess.run(["bash", "-c", script], env=nncli_env(), capture_output=True, timeout=120)
    assert r.returncode == (0 if said is None else 1) and r.stdout == b"", r.stderr
    if said is not None:
        assert r.stderr.decode() == "nncli: error: " + said


def test_a_missing_absolute_path_is_not_blamed_on_a_removed_current_directory(tmp_path, models):
    """An absolute path needs no current directory: that it is missing is all there is to say."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    gone = tmp_path / "gone"
    for args in (("predict", tmp_path / "model.npz", tmp_path / "nothing.csv"),
                 ("eval", tmp_path / "nothing.npz", tmp_path / "nothing.csv")):
        gone.mkdir()
        script = f"cd {shlex.quote(str(gone))} && rmdir ../gone && exec {shlex.quote(sys.executable)} -m nncli " + \
            " ".join(shlex.quote(str(a)) for a in args)
        r = subprocess.run(["bash", "-c", script], env=nncli_env(), capture_output=True, timeout=120)
        assert r.returncode == 1 and r.stdout == b"", r.stderr
        said = r.stderr.decode()
        assert said.startswith("nncli: error: ") and "no such file" in said.lower() and GONE not in said, said


@pytest.mark.skipif(not DEVFULL_OK, reason="needs /dev/full")
@pytest.mark.parametrize("args, code", [
    (("eval", "model.npz", "labelled.csv"), 1),  # its scores on stderr are its result
    (("show", "model.npz"), 1),
    (("eval", "model.npz", "labelled.csv", "--json"), 0),  # the result on stdout: stderr is for people
    (("predict", "model.npz", "data.csv"), 0),
], ids=["eval", "show", "eval-json", "predict"])
def test_a_report_that_stderr_cannot_take_fails_the_command(tmp_path, models, args, code):
    """`nncli eval m.npz d.csv 2> report.txt` on a full disk exited 0, its report unwritten; a reader
    that has gone away (`2>&1 | head`) is no failure (above)."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    (tmp_path / "data.csv").write_bytes(csv_bytes("x1,x2", "1,0.5", "-0.5,0.2"))
    (tmp_path / "labelled.csv").write_bytes(csv_bytes("x1,x2,label", "1,0.5,0", "-0.5,0.2,1", "0,1,0"))
    with open("/dev/full", "wb") as full:
        r = subprocess.run([sys.executable, "-m", "nncli", *args], cwd=tmp_path, env=nncli_env(), timeout=120,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=full)
    assert r.returncode == code
    assert (r.stdout != b"") == (code == 0)


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("-h",), ("fit", "--help")],
                         ids=["version", "help", "h", "fit-help"])
def test_top_level_help_and_version_into_a_closed_pipe_are_quiet(tmp_path, args):
    """`nncli --version | true`: printed while the top-level options are parsed, before the command
    runs, and stopped quietly with 0 like any other closed stdout. (Unbuffered, so that --version's
    print meets the closed pipe at once, not in the final flush.)"""
    r = run_into_closed_pipe("stdout", *args, cwd=tmp_path, unbuffered=True)
    assert (r.returncode, r.stderr) == (0, b"")


@pytest.mark.parametrize("extra", [("--json",), ("--plot", "-")], ids=["json", "plot"])
def test_fit_data_into_a_closed_stdout_pipe_keeps_the_model_and_exits_0(tmp_path, extra):
    # `nncli fit ... --json | true`: the model is saved; the reader that went wants nothing more
    (tmp_path / "data.csv").write_bytes(csv_bytes(HEADER, *ROWS))
    r = run_into_closed_pipe("stdout", *FIT, *extra, cwd=tmp_path, unbuffered=True)
    assert (r.returncode, r.stderr) == (0, b"")
    load_model(str(tmp_path / "out.npz"))


@pytest.mark.parametrize("rows", [5, 20_005])  # the bad line in the first chunk, or after a whole chunk
def test_predict_output_holds_exactly_the_rows_before_the_bad_line(tmp_path, models, rows):
    (tmp_path / "model.npz").write_bytes(models["cls"])
    good = [f"{i % 3 - 1},{i % 5 / 5}" for i in range(rows - 2)]
    (tmp_path / "good.csv").write_text("x1,x2\n" + "".join(r + "\n" for r in good))
    (tmp_path / "bad.csv").write_text("x1,x2\n" + "".join(r + "\n" for r in good) + "1,??\n0,0\n")
    ok = subprocess.run([sys.executable, "-m", "nncli", "predict", "model.npz", "good.csv"], cwd=tmp_path,
                        env=nncli_env(), capture_output=True)
    bad = subprocess.run([sys.executable, "-m", "nncli", "predict", "model.npz", "bad.csv"], cwd=tmp_path,
                         env=nncli_env(), capture_output=True)
    assert ok.returncode == 0 and bad.returncode == 1
    assert bad.stdout == ok.stdout  # every row before line `rows`, complete, and nothing else
    assert bad.stderr.decode().startswith(f"nncli: error: bad.csv:{rows}:2 (column 'x2'): expected a number")


def test_columns_are_matched_by_name(tmp_path, models):
    (tmp_path / "model.npz").write_bytes(models["cls"])
    (tmp_path / "a.csv").write_text("x1,x2\n1,0.5\n-0.5,0.2\n0,1\n")
    (tmp_path / "b.csv").write_text("note,x2,x1\nhi,0.5,1\n,0.2,-0.5\nz,1,0\n")
    out = [subprocess.run([sys.executable, "-m", "nncli", "predict", "model.npz", f, "--proba"], cwd=tmp_path,
                          env=nncli_env(), capture_output=True).stdout for f in ("a.csv", "b.csv")]
    assert out[0] == out[1] and out[0].count(b"\n") == 4


def test_a_column_that_turns_to_text_keeps_its_numbers_as_written(tmp_path):
    """Numeric chunks of a column that later shows text become text as they were written (not 12.0)."""
    from nncli.csv_io import TableReader

    rows = ["12", "7", "0.5", "", "A1", "B", "C", "D", "E"]
    path = tmp_path / "t.csv"
    path.write_text("code,y\n" + "".join(f"{r},1\n" for r in rows))
    with TableReader(str(path), auto={"code"}, chunk_rows=2) as reader:
        col = reader.read().columns["code"]
    assert col.is_text and col.values.tolist() == rows
    assert col.n_numeric == 3 and col.first_text == (6, "A1")


@pytest.mark.parametrize("args", [PREDICT, FIT[:2] + FIT[4:], ("gen-data", "-n", "5")], ids=["predict", "fit", "gen-data"])
def test_o_dev_stdout_writes_into_a_pipe(tmp_path, models, args):
    """`-o /dev/stdout | ...` writes into the pipe, although its realpath (/proc/PID/fd/pipe:[N]) names nothing."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    (tmp_path / "data.csv").write_bytes(csv_bytes(HEADER, *ROWS) if args[0] == "fit" else csv_bytes("x1,x2", "1,2"))
    before = sorted(p.name for p in tmp_path.iterdir())
    r = subprocess.run([sys.executable, "-m", "nncli", *args, "-o", "/dev/stdout"], cwd=tmp_path, env=nncli_env(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary file, nothing else written
    if args[0] == "fit":
        (tmp_path / "piped.npz").write_bytes(r.stdout)
        assert load_model(str(tmp_path / "piped.npz")).pre.names == ["a", "b"]
    else:  # the same bytes as written to a file
        assert subprocess.run([sys.executable, "-m", "nncli", *args, "-o", "file.csv"], cwd=tmp_path,
                              env=nncli_env(), timeout=120).returncode == 0
        assert r.stdout == (tmp_path / "file.csv").read_bytes() and r.stdout.count(b"\n") > 1


def test_o_dev_stdout_appends_to_a_file_opened_with_append(tmp_path, models):
    """`-o /dev/stdout >> log.csv` writes through the descriptor the shell opened: it appends, where
    renaming a temporary file over the path (or opening it again) replaced the log."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    (tmp_path / "data.csv").write_bytes(csv_bytes("x1,x2", "1,2"))
    log = tmp_path / "log.csv"
    log.write_bytes(b"earlier\n")
    for _ in range(2):
        with open(log, "ab") as out:
            r = subprocess.run([sys.executable, "-m", "nncli", *PREDICT, "-o", "/dev/stdout"], cwd=tmp_path,
                               env=nncli_env(), stdout=out, stderr=subprocess.PIPE, timeout=120)
        assert r.returncode == 0, r.stderr
    one = subprocess.run([sys.executable, "-m", "nncli", *PREDICT], cwd=tmp_path, env=nncli_env(),
                         capture_output=True, timeout=120).stdout
    assert log.read_bytes() == b"earlier\n" + one + one and one.count(b"\n") == 2


@pytest.mark.parametrize("args, stdin", [
    (PREDICT, False), (("predict", "model.npz", "-"), True), (EVAL, False),
    (("lr-find", "data.csv", "-q", "--steps", "5"), False), (("show", "model.npz", "--json"), False)])
def test_stdout_appending_to_an_input_file_is_refused(tmp_path, models, args, stdin):
    """`nncli predict m.npz d.csv >> d.csv` read its own output as more rows (and so on, for ever on a
    big file); cat refuses that too. Stdout may be the model (show --json) or stdin's file."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    (tmp_path / "data.csv").write_bytes(csv_bytes("x1,x2,label", "1,2,0", "2,1,1", "0,1,0", "1,1,1", "2,2,0"))
    target = tmp_path / ("model.npz" if args[0] == "show" else "data.csv")
    before = target.read_bytes()
    with open(target, "ab") as out, open(tmp_path / "data.csv", "rb") as data_in:
        r = subprocess.run([sys.executable, "-m", "nncli", *args], cwd=tmp_path, env=nncli_env(),
                           stdin=data_in if stdin else subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                           timeout=120)
    assert r.returncode == 2
    what = "the standard input" if stdin else repr(target.name)
    assert re.fullmatch(rf"nncli: error: stdout is {re.escape(what)}, which is read as an input; refusing to "
                        rf"write .* into it \(redirect stdout to another file\)\n", r.stderr.decode())
    assert target.read_bytes() == before


def test_stdout_pointed_at_an_input_is_no_matter_when_nothing_is_written_there(tmp_path, models):
    """`nncli predict m.npz d.csv -o p.csv >> d.csv` writes nothing to stdout: refusing it, as if the
    predictions went there, went unnoticed."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    (tmp_path / "data.csv").write_bytes(csv_bytes("x1,x2", "1,2", "2,1"))
    with open(tmp_path / "data.csv", "ab") as out:
        r = subprocess.run([sys.executable, "-m", "nncli", "predict", "model.npz", "data.csv", "-o", "p.csv"],
                           cwd=tmp_path, env=nncli_env(), stdout=out, stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 0 and r.stderr == b""
    assert (tmp_path / "data.csv").read_bytes() == csv_bytes("x1,x2", "1,2", "2,1")
    assert (tmp_path / "p.csv").read_bytes().startswith(b"prediction\n")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs a link owned by another user")
def test_a_symlink_another_user_planted_in_a_shared_directory_is_not_followed(tmp_path):
    """/tmp/model.npz -> ~/.bashrc, planted by someone else: renaming over the link's target never met
    the kernel's protected_symlinks rule, and replaced the victim's file with a model."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    for link, to in (("model.npz", victim), ("chain.npz", "model.npz")):
        (shared / link).symlink_to(to)
    os.lchown(shared / "model.npz", 65534, 65534)
    (tmp_path / "data.csv").write_bytes(csv_bytes(HEADER, *ROWS))
    for out, said in (("model.npz", "it is a symlink another user owns"),
                      ("chain.npz", "the link '.*' it leads to is a symlink another user owns")):
        r = subprocess.run([sys.executable, "-m", "nncli", *FIT[:2], "-o", f"shared/{out}", *FIT[4:]],
                           cwd=tmp_path, env=nncli_env(), capture_output=True, timeout=120)
        assert r.returncode == 2 and re.search(rf"cannot write 'shared/{out}': {said} in a shared directory",
                                               r.stderr.decode()), r.stderr
    assert victim.read_text() == "precious\n"
    os.lchown(shared / "model.npz", 0, 0)  # the user's own link is followed
    from nncli.atomic import atomic_write
    atomic_write(str(shared / "model.npz"), lambda f: f.write(b"new"))
    assert victim.read_bytes() == b"new" and (shared / "model.npz").is_symlink()


def test_an_output_that_is_a_loop_of_symlinks_is_refused_and_left(tmp_path):
    # `> loop.npz` says "Too many levels of symbolic links"; the save replaced the link with the model
    (tmp_path / "data.csv").write_bytes(csv_bytes(HEADER, *ROWS))
    os.symlink("loop.npz", tmp_path / "loop.npz")
    os.symlink("b.csv", tmp_path / "a.csv")
    os.symlink("a.csv", tmp_path / "b.csv")
    for out in ("loop.npz", "a.csv"):
        args = FIT[:3] + (out,) + FIT[4:] if out.endswith(".npz") else ("gen-data", "-n", "5", "-o", out)
        r = subprocess.run([sys.executable, "-m", "nncli", *args], cwd=tmp_path, env=nncli_env(),
                           capture_output=True, timeout=120)
        assert r.returncode == 2 and r.stderr.decode() == (
            f"nncli: error: cannot write '{out}': too many levels of symbolic links\n"), r.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_symlink()) == ["a.csv", "b.csv", "loop.npz"]


def test_a_new_file_gets_ordinary_permissions_under_any_umask_and_its_rename_is_made_durable(tmp_path, monkeypatch):
    from nncli import atomic
    synced = []  # (what each fsync'd descriptor is, when, and how much of a file it holds)
    real_fsync = os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: synced.append(
        (stat.S_ISDIR(os.fstat(fd).st_mode), (tmp_path / "new.npz").exists(),
         None if stat.S_ISDIR(os.fstat(fd).st_mode) else os.fstat(fd).st_size)) or real_fsync(fd))
    old = os.umask(0o027)
    try:
        atomic.atomic_write(str(tmp_path / "new.npz"), lambda f: f.write(b"new"))
    finally:
        assert os.umask(old) == 0o027  # (the umask read to make the mode is put back)
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o640  # (not mkstemp's 0600, nor 0644)
    # the data (all of it: flushed out of Python's buffer first) before the rename, the directory after it
    assert synced == [(False, False, 3), (True, True, None)]


def test_replacing_a_file_keeps_its_permissions_and_spares_a_write_protected_one(tmp_path, monkeypatch):
    """A private model (0600) came back world-readable (0644), and a read-only one was replaced."""
    from nncli import atomic
    from nncli.errors import NncliError
    private = tmp_path / "private.npz"
    private.write_bytes(b"old")
    private.chmod(0o600)
    atomic.atomic_write(str(private), lambda f: f.write(b"new"))
    assert private.read_bytes() == b"new" and stat.S_IMODE(private.stat().st_mode) == 0o600
    locked = tmp_path / "locked.npz"
    locked.write_bytes(b"old")
    locked.chmod(0o444)
    # (as root os.access says yes to everything; the rule is the same as for any user's os.access)
    real_access = os.access
    monkeypatch.setattr(atomic.os, "access", lambda p, m: False if str(p) == str(locked) else real_access(p, m))
    with pytest.raises(NncliError, match=r"cannot write '.*': the file is write-protected"):
        atomic.atomic_write(str(locked), lambda f: f.write(b"new"))
    assert locked.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["locked.npz", "private.npz"]


def test_replacing_a_file_keeps_its_owner_and_group(tmp_path):
    """A model another user owned (a group-shared one, or a user's replaced under sudo) came back as
    the writer's, mode 600 and all: its owner could no longer read it."""
    from nncli import atomic
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user takes root")
    shared = tmp_path / "shared.npz"
    shared.write_bytes(b"old")
    os.chown(shared, 12345, 23456)
    shared.chmod(0o640)
    atomic.atomic_write(str(shared), lambda f: f.write(b"new"))
    st = shared.stat()
    assert shared.read_bytes() == b"new" and (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (12345, 23456, 0o640)


def test_another_users_file_in_a_sticky_directory_is_refused_before_any_work(tmp_path, monkeypatch):
    """In a sticky directory (as /tmp) only a file's owner may rename over it: writable as it was, the
    check let `fit` train, and the save at the end failed (exit 1, "Operation not permitted")."""
    from nncli import atomic, options
    from nncli.errors import UsageError
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    theirs = shared / "model.npz"
    theirs.write_bytes(b"old")
    theirs.chmod(0o666)
    assert atomic.not_replaceable(str(theirs)) is None  # (this user's own file, in a directory it owns)
    monkeypatch.setattr(atomic.os, "geteuid", lambda: 54321)  # another user, owning neither
    with pytest.raises(UsageError, match="another user's in a sticky directory"):
        options.check_output(str(theirs))
    shared.chmod(0o777)  # not sticky: any user who may write the directory may replace the file
    assert atomic.not_replaceable(str(theirs)) is None


def test_the_temporary_file_is_private_beside_the_path_and_never_anothers(tmp_path, monkeypatch):
    """The new content is written to a file of its own in the path's directory (renaming from another file
    system fails, EXDEV), readable by no one else until it gets the final mode (a private model replaced would
    be readable by others while written), and a file already under the name drawn is left alone (O_EXCL)."""
    from nncli import atomic
    target = tmp_path / "private.npz"
    target.write_bytes(b"old")
    target.chmod(0o600)
    names = iter(["aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(names))
    theirs = tmp_path / ".private.npz.aaaaaaaa.tmp"  # (another run's, or another user's, of the name drawn first)
    theirs.write_bytes(b"theirs")
    seen = []

    def write(f):
        f.write(b"new")
        seen.extend((p.name, stat.S_IMODE(p.stat().st_mode)) for p in tmp_path.iterdir() if p.name.endswith("b.tmp"))

    old = os.umask(0)  # (the umask would not narrow a temporary file made 0666)
    try:
        atomic.atomic_write(str(target), write)
    finally:
        os.umask(old)
    assert seen == [(".private.npz.bbbbbbbb.tmp", 0o600)]
    assert target.read_bytes() == b"new" and theirs.read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".private.npz.aaaaaaaa.tmp", "private.npz"]


def test_replacing_a_file_renames_a_new_one_over_it(tmp_path):
    """Copying the new content into the old file (truncating it first) is not atomic: a crash between
    would leave a cut model. A rename leaves the old inode whole to whoever still holds it (a hard link,
    a reader that had it open), and drops a set-user-ID or sticky bit (only the permission bits are kept)."""
    from nncli import atomic
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    path.chmod(0o4750)
    os.link(path, tmp_path / "backup.npz")
    with open(path, "rb") as reader:
        atomic.atomic_write(str(path), lambda f: f.write(b"new"))
        assert reader.read() == b"old"
    assert path.read_bytes() == b"new" and (tmp_path / "backup.npz").read_bytes() == b"old"
    assert stat.S_IMODE(path.stat().st_mode) == 0o750


def test_an_owner_that_cannot_be_given_keeps_at_least_the_group(tmp_path, monkeypatch):
    """A user replacing a group-shared model (660, another member's) may not give the file to its owner,
    but may to the group they share: without that the group would lose the model."""
    from nncli import atomic
    shared = tmp_path / "shared.npz"
    shared.write_bytes(b"old")
    st = shared.stat()
    monkeypatch.setattr(atomic.os, "geteuid", lambda: st.st_uid + 1)  # (the file is another user's)
    calls = []

    def chown(path, uid, gid):
        calls.append((uid, gid))
        if uid != -1:
            raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomic.os, "chown", chown)
    atomic.atomic_write(str(shared), lambda f: f.write(b"new"))
    assert shared.read_bytes() == b"new" and calls == [(st.st_uid, st.st_gid), (-1, st.st_gid)]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs files owned by other users")
def test_links_and_files_the_kernel_would_let_this_user_use_are_not_refused(tmp_path):
    """The shared-directory rules apply as the kernel's do, no wider: a symlink is refused only in a
    directory both sticky and world-writable and when owned by neither the user nor the directory's owner;
    another user's file in a sticky directory may be replaced by the directory's owner, and by root."""
    from nncli import atomic
    victim = tmp_path / "victim.npz"
    victim.write_bytes(b"old")
    for mode, dir_owner, link_owner in ((0o1777, 65534, 65534),  # the link is the directory owner's
                                        (0o1775, 0, 65534),      # sticky, not world-writable
                                        (0o0777, 0, 65534)):     # world-writable, not sticky
        d = tmp_path / f"d{mode:o}-{dir_owner}"
        d.mkdir()
        d.chmod(mode)
        os.chown(d, dir_owner, dir_owner)
        (d / "model.npz").symlink_to(victim)
        os.lchown(d / "model.npz", link_owner, link_owner)
        assert atomic.not_replaceable(str(d / "model.npz")) is None, (oct(mode), dir_owner)
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    theirs = sticky / "theirs.npz"
    theirs.write_bytes(b"old")
    os.chown(theirs, 12345, 12345)
    os.chown(sticky, 23456, 23456)
    assert atomic.not_replaceable(str(theirs)) is None  # (root: CAP_FOWNER)
    atomic.atomic_write(str(theirs), lambda f: f.write(b"new"))
    assert theirs.read_bytes() == b"new"
    os.chown(theirs, 12345, 12345)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(atomic.os, "geteuid", lambda: 23456)  # the directory's owner, not the file's
        assert atomic.not_replaceable(str(theirs)) is None
        m.setattr(atomic.os, "geteuid", lambda: 34567)  # neither (as in the test above)
        assert "another user's in a sticky directory" in atomic.not_replaceable(str(theirs))


@pytest.mark.parametrize("output", ["null", "/dev/stdout"])
def test_a_plot_is_written_when_the_model_goes_to_a_device(tmp_path, output):
    """A model written in place (a device, a descriptor) is committed as a renamed one is: the plot
    file, written just before, must not be left out (fit would exit 0 without it)."""
    device_like(tmp_path / "null", os.devnull)
    r = run_nncli("fit", SAMPLES / "moons.csv", "-o", output, "--epochs", "2", "--val-split", "0", "-q",
                  "--plot", tmp_path / "loss.svg", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert b"<svg" in (tmp_path / "loss.svg").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.svg", "null"]
    assert not (tmp_path / "null").is_file()


def test_a_fifo_as_the_output_is_written_into_not_replaced(tmp_path):
    """A FIFO (as a device) is written in place: renaming a file over it would leave its reader waiting,
    and the path a plain file."""
    from nncli import atomic
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # (a reader already there: opening to write does not wait)
    try:
        atomic.atomic_write(str(fifo), lambda f: f.write(b"x\n"))
        assert os.read(reader, 100) == b"x\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_model_whose_fifo_reader_leaves_before_its_end_is_an_error(tmp_path):
    """A broken pipe ends CSV output quietly with 0, but a model cut short is no model: saving one into a
    FIFO whose reader read 10 bytes and left exited 0 without a word when save_model let the broken pipe
    through to the command's handling of one."""
    fifo = tmp_path / "m.npz"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # (there first: opening to write does not wait)
    got = []

    def read_a_little():  # (waits a minute at most: the test fails, not hangs, if nothing comes)
        select.select([reader], [], [], 60)
        got.append(os.read(reader, 10))
        os.close(reader)

    thread = threading.Thread(target=read_a_little)
    thread.start()
    # (a network of 256 x 256 weights, 260 kB: far more than a pipe holds until its reader reads)
    r = run_nncli("fit", SAMPLES / "moons.csv", "-o", "m.npz", "--hidden", "256,256", "--epochs", "1", "-q",
                  cwd=tmp_path)
    thread.join()
    assert len(got) == 1 and got[0].startswith(b"PK\x03\x04") and r.stdout == b""  # (it began writing the zip)
    assert r.returncode == 1 and r.stderr.decode() == (
        "nncli: error: cannot write 'm.npz': its reader closed it before the model was written whole\n"
        "hint: a model file is of use only whole: save it to a file, then copy that\n")


def test_a_chain_of_the_users_own_symlinks_is_written_through(tmp_path):
    """Only a loop (or a chain longer than the kernel follows, 40) is refused: a few links are followed
    to the file they lead to, which is replaced; the links stay links."""
    from nncli import atomic
    (tmp_path / "real.npz").write_bytes(b"old")
    for name, to in (("c.npz", "real.npz"), ("b.npz", "c.npz"), ("a.npz", "b.npz")):
        (tmp_path / name).symlink_to(to)
    assert atomic.not_replaceable(str(tmp_path / "a.npz")) is None
    atomic.atomic_write(str(tmp_path / "a.npz"), lambda f: f.write(b"new"))
    assert (tmp_path / "real.npz").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_symlink()) == ["a.npz", "b.npz", "c.npz"]


def test_writing_to_a_descriptor_leaves_it_open(tmp_path):
    """`-o /dev/fd/N` writes through the process's own descriptor N: closing it after the write would leave the
    number free for the next file opened, which would then take what was meant for N (stdout, for /dev/stdout)."""
    from nncli import atomic
    r, w = os.pipe()
    try:
        atomic.atomic_write(f"/dev/fd/{w}", lambda f: f.write(b"x\n"))
        os.write(w, b"y\n")  # (still this pipe's)
        assert os.read(r, 100) == b"x\ny\n"
    finally:
        os.close(r)
        os.close(w)


def test_the_descriptor_a_path_leads_to_is_found_through_every_name_for_it(tmp_path):
    """`-o /dev/stdout` and its other names, the user's symlinks to it among them, are written through this
    process's open descriptor: a name missed was opened anew, which replaced a log stdout appends to
    (`-o link >> log.csv`) and wrote into the /dev/null standing in for a closed stdout (`>&-`), exit 0.
    A name for another process's descriptor is none of ours."""
    from nncli.std_streams import descriptor_named
    r, w = os.pipe()
    try:
        chain = tmp_path / "a"  # the user's own symlinks to a symlink to it: a -> b -> c (relative) -> /dev/fd/w
        (tmp_path / "c").symlink_to(os.path.relpath(f"/dev/fd/{w}", tmp_path))
        (tmp_path / "b").symlink_to("c")
        chain.symlink_to(tmp_path / "b")
        (tmp_path / "file").write_bytes(b"")
        assert {name: descriptor_named(name) for name in (
            "/dev/stdout", "/dev/stderr", f"/dev/fd/{w}", f"/proc/self/fd/{w}", f"/proc/{os.getpid()}/fd/{w}",
            f"/proc/self/task/{threading.get_native_id()}/fd/{w}", str(chain),
            f"/proc/{os.getppid()}/fd/{w}", str(tmp_path / "file"), str(tmp_path / "missing"), "")} == {
            "/dev/stdout": 1, "/dev/stderr": 2, f"/dev/fd/{w}": w, f"/proc/self/fd/{w}": w,
            f"/proc/{os.getpid()}/fd/{w}": w, f"/proc/self/task/{threading.get_native_id()}/fd/{w}": w, str(chain): w,
            f"/proc/{os.getppid()}/fd/{w}": None, str(tmp_path / "file"): None, str(tmp_path / "missing"): None,
            "": None}
    finally:
        os.close(r)
        os.close(w)


def test_a_silenced_stream_writes_into_dev_null_through_its_own_descriptor():
    """Once a stream's reader has gone, `silence` points its descriptor at /dev/null: what is written later
    goes nowhere without failing, and no descriptor is left open for it. A stream with no descriptor (the
    stand-in for a closed stdout) is left as it is."""
    from nncli.std_streams import ClosedOutput, silence
    r, w = os.pipe()
    os.close(r)  # the reader has gone
    with os.fdopen(w, "w") as stream:
        before = sorted(os.listdir("/proc/self/fd"))
        silence(stream)
        assert sorted(os.listdir("/proc/self/fd")) == before
        assert os.fstat(w).st_rdev == os.stat(os.devnull).st_rdev
        stream.write("x" * 100_000)
        stream.flush()
    silence(ClosedOutput())  # (raises nothing)


def test_a_stream_that_is_gone_or_closed_is_no_terminal():
    from nncli.std_streams import is_terminal
    closed = open(os.devnull)
    closed.close()
    assert [is_terminal(s) for s in (None, closed, object(), io.StringIO())] == [False] * 4


@pytest.mark.parametrize("closed", ["2>&-", "<&-"])
def test_o_dev_stdout_is_written_when_another_standard_stream_is_closed(tmp_path, closed):
    """Only the names of a closed stream are refused: with stderr (or stdin) closed, `-o /dev/stdout` was
    refused as "standard output is closed"."""
    r = subprocess.run(["sh", "-c", f'exec "$0" -m nncli gen-data -n 3 -o /dev/stdout {closed}', sys.executable],
                       cwd=tmp_path, env=nncli_env(), capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"x,y\n") and len(r.stdout.splitlines()) == 4


@pytest.mark.parametrize("closed", ["2>&-", "2<data.csv", ">&-", "1<data.csv", "<&-", "0>in.txt"])
def test_a_closed_standard_descriptor_is_filled_with_dev_null_open_both_ways(tmp_path, closed):
    """Each closed (or wrong-way-round) standard descriptor is given /dev/null, open for reading and writing,
    and named in CLOSED; no other descriptor is left open for it (but the stand-in for a missing sys.stderr)."""
    (tmp_path / "data.csv").write_text("x\n")
    (tmp_path / "fill.py").write_text(
        "import fcntl, json, os, sys\n"
        "from nncli import std_streams\n"
        "std_streams.fill_closed_streams()\n"
        "null = os.stat(os.devnull).st_rdev\n"
        "left = [int(fd) for fd in os.listdir('/proc/self/fd')]  # (and the listing's own, closed by now)\n"
        "stand_in = sys.stderr.fileno() if sys.stderr.fileno() > 2 else None\n"
        "json.dump({'closed': sorted(std_streams.CLOSED),\n"
        "           'null_both_ways': [fd for fd in (0, 1, 2) if os.fstat(fd).st_rdev == null\n"
        "                              and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR],\n"
        "           'others': [fd for fd in left if fd > 2 and fd != stand_in\n"
        "                      and os.path.exists(f'/proc/self/fd/{fd}')]},\n"
        "          open('out.json', 'w'))\n")
    with open(tmp_path / "data.csv") as stdin, open(tmp_path / "stdout.txt", "w") as stdout:  # (not /dev/null)
        r = subprocess.run(["sh", "-c", f'exec "$0" fill.py {closed}', sys.executable], cwd=tmp_path, env=nncli_env(),
                           stdin=stdin, stdout=stdout, timeout=60)
    assert r.returncode == 0
    fd = 0 if closed.startswith(("<", "0")) else 1 if closed.startswith((">", "1")) else 2
    assert json.loads((tmp_path / "out.json").read_text()) == {"closed": [fd], "null_both_ways": [fd], "others": []}


def test_a_socket_as_the_output_is_refused_before_any_work(tmp_path, monkeypatch):
    """A socket passed as a file written in place: `fit` trained, then failed to open it."""
    import socket
    from nncli import options
    from nncli.errors import UsageError
    monkeypatch.chdir(tmp_path)  # (a socket's path is short: 108 bytes)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind("sock")
        with pytest.raises(UsageError, match="cannot write 'sock': a socket, not a file"):
            options.check_output("sock")


def test_dev_stdout_on_a_socket_is_written_through_it(tmp_path):
    """Stdout may be a socket (a service's, under socket activation): `-o /dev/stdout` writes it through
    descriptor 1, as for a pipe. Taken for a socket path of its own, it was refused, unnoticed."""
    import socket

    ours, theirs = socket.socketpair()
    with ours, theirs:
        p = subprocess.Popen([sys.executable, "-m", "nncli", "gen-data", "-n", "3", "-o", "/dev/stdout"], cwd=tmp_path,
                             env=nncli_env(), stdout=theirs, stderr=subprocess.PIPE)
        theirs.close()
        out = b"".join(iter(lambda: ours.recv(65536), b""))
        err = p.stderr.read()
        p.stderr.close()
    assert p.wait(timeout=60) == 0 and err == b"", err
    assert out.startswith(b"x,y\n") and len(out.splitlines()) == 4


def test_a_fifo_this_user_may_not_write_is_refused_before_any_work(tmp_path, monkeypatch):
    """A FIFO or device is written in place, so the user must be allowed to write it: taken as writable,
    `fit` trained, then failed to open it. (Root may write any FIFO: `os.access` answers here as it does
    for another user.)"""
    from nncli import options
    from nncli.errors import UsageError

    fifo = tmp_path / "f"
    os.mkfifo(fifo, 0o444)
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: (not mode & os.W_OK or os.fspath(path) != str(fifo))
                        and access(path, mode, **kw))
    with pytest.raises(UsageError, match="no permission"):
        options.check_output(str(fifo))


def test_a_fifo_with_a_writer_is_read_like_a_file(tmp_path, models):
    (tmp_path / "model.npz").write_bytes(models["cls"])
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("x1,x2\n1,0.5\n0,0.5\n"))
    writer.start()
    r = subprocess.run([sys.executable, "-m", "nncli", "predict", "model.npz", "rows.csv"], cwd=tmp_path,
                       env=nncli_env(), capture_output=True, timeout=60)
    writer.join()
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(rb"prediction\n[01]\n[01]\n", r.stdout)


def test_a_fifo_as_the_model_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "m.npz")  # nobody writes to it: opening it to read would hang
    (tmp_path / "d.csv").write_text("x1,x2\n1,2\n")
    r = subprocess.run([sys.executable, "-m", "nncli", "predict", "m.npz", "d.csv"], cwd=tmp_path, env=nncli_env(),
                       capture_output=True, timeout=60)
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr == b"nncli: error: model 'm.npz' is not a regular file\n"


def _no_file_permission_override() -> None:
    """In the child (preexec_fn): give up root's power to read any file, CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH, so that permission bits hold for it as for any user."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    for cap in (1, 2):
        if prctl(24, cap, 0, 0, 0):  # PR_CAPBSET_DROP: python, exec'd next, has not got it
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_a_model_without_read_permission_is_one_line_naming_the_reason(tmp_path, models):
    (tmp_path / "m.npz").write_bytes(models["cls"])
    (tmp_path / "m.npz").chmod(0)
    (tmp_path / "d.csv").write_text("x1,x2\n1,2\n")
    try:
        r = subprocess.run([sys.executable, "-m", "nncli", "predict", "m.npz", "d.csv"], cwd=tmp_path, env=nncli_env(),
                           capture_output=True, timeout=60,
                           preexec_fn=_no_file_permission_override if os.geteuid() == 0 else None)
    except subprocess.SubprocessError:  # the prctl failed
        pytest.skip("running as root without CAP_SETPCAP: cannot give up reading files whatever their permissions")
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr == b"nncli: error: cannot open model 'm.npz': Permission denied\n"


def test_a_pickle_payload_is_never_run_in_process(tmp_path, models, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.npz").write_bytes(pickled_params(models["cls"]))
    with pytest.raises(ModelFileError, match="only plain numbers"):
        load_model("m.npz")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("make", [lambda m: forge_declared_size(m, "params", 500_000_000), deflate_bomb],
                         ids=["declared-size", "deflate-bomb"])
def test_a_small_model_file_cannot_make_the_loader_allocate_much(tmp_path, models, make):
    path = tmp_path / "m.npz"
    path.write_bytes(make(models["cls"]))
    assert path.stat().st_size < 20_000
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError):
            load_model(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


FULL_DISK = """
mount -t tmpfs -o size=64k tmpfs disk || exit 77
cp old.npz disk/out.npz
head -c 100000 /dev/zero > disk/filler 2>/dev/null
"$PYTHON" -m nncli fit data.csv -o disk/out.npz --epochs 2 --hidden 3 --val-split 0 -q
echo "exit $?" >&2
sha256sum disk/out.npz >&2
ls -A disk >&2
"""


def test_a_full_disk_leaves_the_old_model_and_no_temporary(tmp_path, models):
    """A really full file system: a 64 kB tmpfs, filled up, in a private mount namespace."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a small tmpfs privately")
    (tmp_path / "disk").mkdir()
    (tmp_path / "old.npz").write_bytes(models["cls"])
    (tmp_path / "data.csv").write_bytes(csv_bytes(HEADER, *ROWS))
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", FULL_DISK], cwd=tmp_path,
                       env={**nncli_env(), "PYTHON": sys.executable}, capture_output=True, timeout=120)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode()[:200]}")
    err = r.stderr.decode()
    assert err.startswith("nncli: error: cannot write 'disk/out.npz': No space left on device\n"
                          "hint: the previous file at that path, if any, is unchanged\nexit 1\n"), err
    assert f"{sha256(tmp_path / 'old.npz')}  disk/out.npz\n" in err
    assert err.endswith("\nfiller\nout.npz\n"), err  # no temporary file left
    assert r.stdout == b""


@pytest.mark.parametrize("signal_exception", [KeyboardInterrupt, Terminated], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_save_leaves_the_old_file_and_no_temporary(tmp_path, signal_exception):
    """What nncli's SIGINT and SIGTERM handlers raise, arriving in the middle of a save."""
    from nncli.atomic import atomic_write

    target = tmp_path / "m.npz"
    target.write_bytes(b"the old model")

    def write_then_interrupt(f):
        f.write(b"half a new mod")
        raise signal_exception

    with pytest.raises(signal_exception):
        atomic_write(str(target), write_then_interrupt)
    assert target.read_bytes() == b"the old model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def skip_an_ignored_hangup(signum: int) -> None:
    """Under `nohup` the children inherit SIGHUP ignored, and nncli rightly leaves it so."""
    if signum == signal.SIGHUP and signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
        pytest.skip("SIGHUP is ignored in this session (nohup)")


@pytest.mark.parametrize("signum, code, said",
                         [(signal.SIGINT, 130, b"interrupted"), (signal.SIGTERM, 143, b"terminated"),
                          (signal.SIGHUP, 129, b"hung up")],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_during_predict_is_one_line(tmp_path, models, big_csv, signum, code, said):
    skip_an_ignored_hangup(signum)
    (tmp_path / "model.npz").write_bytes(models["cls"])
    p = start("predict", "model.npz", str(big_csv), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"prediction\n"
    p.send_signal(signum)
    _, err = p.communicate(timeout=60)
    assert p.returncode == code
    assert err == b"nncli: error: " + said + b"\n"


def test_a_stop_signal_held_while_writing_comes_after_the_write_and_a_second_at_once(monkeypatch):
    from nncli import stop_signals

    old = {s: signal.signal(s, stop_signals.raise_for) for s in stop_signals.STOPS}  # as `nncli.cli.main` does
    try:
        done = []
        with pytest.raises(KeyboardInterrupt):
            with stop_signals.held():
                signal.raise_signal(signal.SIGINT)
                done.append("after the signal")  # the block goes on
                signal.raise_signal(signal.SIGINT)  # the same stop sent twice at once (GNU timeout): held too
                done.append("after its echo")
            done.append("after the block")  # not reached: the signal is raised as the block ends
        assert done == ["after the signal", "after its echo"]
        monkeypatch.setattr(stop_signals, "SAME_STOP_SECONDS", 0.0)  # (no waiting in a test)
        with pytest.raises(Terminated):
            with stop_signals.held():
                signal.raise_signal(signal.SIGINT)
                signal.raise_signal(signal.SIGTERM)  # the second: raised at once
                done.append("after the second")
        assert done == ["after the signal", "after its echo"]
        assert signal.getsignal(signal.SIGTERM) is stop_signals.raise_for  # put back
    finally:
        stop_signals.restore(old)


def test_fit_takes_a_signal_sent_twice_at_once_as_one(monkeypatch):
    """GNU `timeout -s INT 600 nncli fit ...` signals the command, then its whole process group: the
    echo must not count as the second signal that stops without saving."""
    from nncli import stop_signals
    from nncli.stop_signals import StopFlag

    with StopFlag() as stop:
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)  # microseconds later: the same stop
        assert stop.signum == signal.SIGINT
    monkeypatch.setattr(stop_signals, "SAME_STOP_SECONDS", 0.0)  # a second one, later
    with pytest.raises(KeyboardInterrupt):
        with StopFlag():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)


def test_a_second_ctrl_c_by_hand_stops_fit_at_once_however_soon(monkeypatch):
    """Only the same stop sent twice at once (GNU `timeout`: microseconds apart) is one; a second Ctrl-C
    by hand comes a tenth of a second later at the least, and stops at once. The clock is a stand-in
    (the other tests set SAME_STOP_SECONDS to 0): a window of seconds took it for the first one's echo,
    unnoticed, and so did a first signal whose time was not kept."""
    from types import SimpleNamespace

    from nncli import stop_signals
    from nncli.stop_signals import StopFlag

    now, done = [1000.0], []
    monkeypatch.setattr(stop_signals, "time", SimpleNamespace(monotonic=lambda: now[0]))
    with pytest.raises(KeyboardInterrupt):
        with StopFlag():
            signal.raise_signal(signal.SIGINT)
            now[0] += 0.00002
            signal.raise_signal(signal.SIGINT)  # its echo
            done.append("went on after the echo")  # (training goes on, to save)
            now[0] += 0.1
            signal.raise_signal(signal.SIGINT)  # by hand
            done.append("went on after the second")
    assert done == ["went on after the echo"]


def test_once_the_model_is_being_committed_signals_change_nothing_and_the_handlers_are_put_back(monkeypatch):
    """What stopped training is the first signal, for the model's record, the notice and the exit code;
    from `committing()` on, a second one neither stops nor replaces it (a Ctrl-C after a SIGTERM made
    it "interrupted", 130). Unnoticed too: a StopFlag that left its handler in place after training."""
    from nncli import stop_signals
    from nncli.stop_signals import StopFlag

    monkeypatch.setattr(stop_signals, "SAME_STOP_SECONDS", 0.0)  # (each signal here is a second one)
    before = {s: signal.getsignal(s) for s in stop_signals.STOPS}
    with StopFlag("m.npz") as stop:
        assert stop() == ""
        signal.raise_signal(signal.SIGTERM)
        assert (stop.signum, stop()) == (signal.SIGTERM, "terminated")
        stop.committing()
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:  # (not left to pytest, which would take it for a Ctrl-C of its own)
            pytest.fail("a second signal stopped fit once the model was being committed")
    assert (stop.signum, stop()) == (signal.SIGTERM, "terminated")
    assert {s: signal.getsignal(s) for s in stop_signals.STOPS} == before


def test_csv_on_stdout_is_cut_at_a_row_boundary_by_a_signal(monkeypatch):
    """A signal in the middle of a write to a pipe let half a row through, then raised: the program
    reading it got a row cut short. Here the signal comes half way through the text's write."""
    from nncli import csv_write

    class SlowPipe(io.StringIO):
        def write(self, text):
            if text.count("\n") < 2:  # the header
                return super().write(text)
            super().write(text[:len(text) // 2])
            signal.raise_signal(signal.SIGINT)
            return super().write(text[len(text) // 2:])

    out = SlowPipe()
    monkeypatch.setattr(sys, "stdout", out)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)  # (even if the tests started with it ignored)
    try:
        with pytest.raises(KeyboardInterrupt):
            csv_write.write_columns("-", {"x": np.arange(10.0), "label": np.array(["a", "b"] * 5)})
    finally:
        signal.signal(signal.SIGINT, old)
    lines = out.getvalue().splitlines(keepends=True)
    assert lines[0] == "x,label\n" and all(line.endswith("\n") and line.count(",") == 1 for line in lines)
    assert len(lines) == 11


def start_blocked_on_a_full_pipe(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, int]:
    """Start `gen-data blobs -n 20000 ARGS` into a pipe nobody reads; return once nncli (single-threaded
    here) sleeps with the pipe at least half full: blocked half way through writing its first chunk of
    rows (of two). Also returns the pipe's size."""
    p = start("gen-data", "blobs", "-n", "20000", *args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    size = fcntl.fcntl(p.stdout.fileno(), fcntl.F_GETPIPE_SZ)
    wait_until_blocked_writing(p.stdout.fileno(), p, size, 60)
    return p, size


def wait_until_blocked_writing(fd: int, p: subprocess.Popen, size: int, seconds: float) -> None:
    """Return once `p` sleeps with the pipe FD reads (of `size` bytes) at least half full. First wait,
    without taking a core from the command, for its first byte: the checks of its state that follow
    spin, and spinning through its start-up or its training halved the speed of whatever else the
    machine ran. (`seconds`: a safety net against a hung command, not a timing test.)"""
    deadline = time.monotonic() + seconds
    if not select.select([fd], [], [], 120)[0]:
        p.kill()
        raise AssertionError(f"{p.args} wrote nothing in 120 s")
    waiting = bytearray(4)

    def blocked_writing() -> bool:
        fcntl.ioctl(fd, termios.FIONREAD, waiting)
        state = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return struct.unpack("i", waiting)[0] >= size // 2 and state == "S"

    while not blocked_writing():
        assert time.monotonic() < deadline and p.poll() is None


LINUX_PIPES = pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="needs Linux's pipe size query")


@LINUX_PIPES
@pytest.mark.parametrize("output", [[], ["-o", "/dev/stdout"]], ids=["stdout", "-o /dev/stdout"])
def test_a_signal_during_a_write_blocked_on_a_full_pipe_ends_the_output_at_a_row(tmp_path, output):
    """SIGTERM while stdout's reader is slow: write(2) was cut short, and the output ended mid-row."""
    full = run_nncli("gen-data", "blobs", "-n", "20000").stdout
    p, size = start_blocked_on_a_full_pipe(tmp_path, *output)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert (p.returncode, err) == (143, b"nncli: error: terminated\n")
    assert size // 2 < len(out) < len(full) and full.startswith(out) and out.endswith(b"\n")
    # and at the end of the row being written: a slow reader took the rest of the piece (16,384 rows),
    # the command going on for half a minute after Ctrl-C
    assert len(out) < size + 2 * max(map(len, full.splitlines(keepends=True)))


def json_fit(data: Path, model: Path) -> tuple:
    """A `fit --json` whose document, and whose model's `eval --json` and `show --json`, overfill the smallest pipe."""
    return ("fit", data, "--task", "classification", "--hidden", "4,4,4,4,4,4,4,4,4,4", "-e", "100", "--patience",
            "0", "-q", "-o", model, "--json")


@pytest.fixture(scope="module")
def hundred_classes(tmp_path_factory) -> tuple[Path, Path, bytes]:
    """Data of 100 classes, a model fitted on it by `json_fit` (made once for the tests that use it: ~3 s), and
    that fit's standard output."""
    directory = tmp_path_factory.mktemp("hundred_classes")
    data = directory / "b.csv"
    assert run_nncli("gen-data", "blobs", "-n", "2000", "--classes", "100", "-o", data).returncode == 0
    r = run_nncli(*json_fit(data, directory / "m.npz"))
    assert r.returncode == 0
    return data, directory / "m.npz", r.stdout


def terminated_while_blocked_writing(args, cwd) -> tuple[int, bytes, bytes]:
    """Run nncli with `args`, its stdout a pipe of 4 KB (the smallest) read by no one until the command is
    blocked writing into it; then SIGTERM it and read all it writes: (exit code, stdout, stderr)."""
    read_end, write_end = os.pipe()
    size = fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, 4096)
    with os.fdopen(read_end, "rb") as reader:
        p = start(*map(str, args), cwd=cwd, stdout=write_end, stderr=subprocess.PIPE)
        os.close(write_end)
        wait_until_blocked_writing(reader.fileno(), p, size, 120)
        p.send_signal(signal.SIGTERM)
        out = reader.read()
        err = p.stderr.read()
        p.wait(timeout=60)
    return p.returncode, out, err


@LINUX_PIPES
@pytest.mark.parametrize("command", ["eval", "show", "fit"])
def test_a_signal_while_a_slow_reader_takes_a_json_document_lets_it_finish(tmp_path, hundred_classes, command):
    """SIGTERM while stdout's reader had taken 64 KB of a 70 KB `eval --json`: it got half an object (jq: unfinished
    string at EOF). The document goes out whole, then the command stops as the signal asks."""
    data, model, fitted = hundred_classes
    args = {"eval": ("eval", model, data, "--json", "-q"), "show": ("show", model, "--json"),
            "fit": json_fit(data, tmp_path / "m.npz")}[command]
    whole = fitted if command == "fit" else run_nncli(*args).stdout
    assert len(whole) > 2 * 4096
    code, out, err = terminated_while_blocked_writing(args, tmp_path)
    assert code == 143, err
    assert out == whole if command != "fit" else json.loads(out).keys() == json.loads(whole).keys()
    json.loads(out)


@LINUX_PIPES
def test_a_signal_while_a_slow_reader_takes_an_svg_lets_it_finish(tmp_path):
    """`show --plot -` writes an SVG of many lines: cut at the line being written, as CSV rows are, a SIGTERM while
    its reader was slow left an SVG without its end, which no viewer opens (JSON is one line: no test saw it)."""
    data, model = tmp_path / "s.csv", tmp_path / "m.npz"
    assert run_nncli("gen-data", "blobs", "-n", "200", "-o", data).returncode == 0
    # (a long loss curve)
    r = run_nncli("fit", data, "--hidden", "4", "-e", "1000", "--patience", "0", "-q", "-o", model)
    assert r.returncode == 0, r.stderr
    args = ("show", model, "--plot", "-")
    whole = run_nncli(*args).stdout
    assert len(whole) > 2 * 4096 and whole.count(b"\n") > 10
    code, out, err = terminated_while_blocked_writing(args, tmp_path)
    assert code == 143, err
    assert out == whole and out.endswith(b"</svg>\n")


def test_the_file_given_as_stdin_is_not_an_output(tmp_path):
    write_csv(tmp_path / "d.csv", HEADER.split(","), [r.split(",") for r in ROWS])
    before = (tmp_path / "d.csv").read_bytes()
    with open(tmp_path / "d.csv", "rb") as stdin:
        r = subprocess.run([sys.executable, "-m", "nncli", "fit", "-", "-o", "d.csv", "--epochs", "1", "-q"],
                           stdin=stdin, cwd=tmp_path, env=nncli_env(), capture_output=True, timeout=120)
    assert r.returncode == 2 and b"the output 'd.csv' is the standard input" in r.stderr
    assert (tmp_path / "d.csv").read_bytes() == before


def test_the_fifo_given_as_stdin_is_not_an_output(tmp_path, models):
    """`nncli predict m.npz - -o f < f`: the predictions would go into the FIFO the rows are read from.
    Only a regular file on stdin was refused, unnoticed."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    os.mkfifo(tmp_path / "f")
    fifo = os.open(tmp_path / "f", os.O_RDWR)  # (its own writer: the rows wait in it, and opening never blocks)
    try:
        os.write(fifo, b"x1,x2\n1,0.5\n")
        r = subprocess.run([sys.executable, "-m", "nncli", "predict", "model.npz", "-", "-o", "f"], stdin=fifo,
                           cwd=tmp_path, env=nncli_env(), capture_output=True, timeout=60)
    finally:
        os.close(fifo)
    assert r.returncode == 2 and b"the output 'f' is the standard input" in r.stderr, r.stderr


def test_data_from_stdin_may_go_to_dev_stdout_or_to_a_file_named_dash(tmp_path, models):
    """Neither `-o /dev/stdout` nor `-o ./-` is the standard input the rows come from: refusing them (the
    descriptor taken for 0's, '-' compared as a path) went unnoticed."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    rows = b"x1,x2\n1,0.5\n0,0.5\n"
    r = run_nncli("predict", "model.npz", "-", "-o", "/dev/stdout", input=rows, cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == b"" and r.stdout.startswith(b"prediction\n")
    assert r.stdout.count(b"\n") == 3
    r = run_nncli("predict", "model.npz", "-", "-o", "./-", input=rows, cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == b"" and r.stdout == b""
    assert (tmp_path / "-").read_bytes().startswith(b"prediction\n")


def test_an_output_that_is_another_name_of_an_input_is_refused(tmp_path, models):
    """A hard link of the data, or on a case-insensitive file system `Data.csv` for data.csv, is the data:
    only comparing the files, not their paths, tells. Comparing the paths alone went unnoticed."""
    (tmp_path / "model.npz").write_bytes(models["cls"])
    (tmp_path / "data.csv").write_bytes(csv_bytes("x1,x2", "1,0.5"))
    os.link(tmp_path / "data.csv", tmp_path / "link.csv")
    r = run_nncli("predict", "model.npz", "data.csv", "-o", "link.csv", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr == b"nncli: error: -o 'link.csv' is also an input or another output; " \
                                            b"refusing to overwrite it\n"
    assert (tmp_path / "link.csv").read_bytes() == csv_bytes("x1,x2", "1,0.5")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_a_signal_while_the_reader_waits_on_an_open_pipe_exits_130(tmp_path, models):
    """The reader's thread blocked reading stdin held the lock of `sys.stdin.buffer`, which Python takes
    at exit: "Fatal Python error: _enter_buffered_busy", exit 134 (as `tail -f log.csv | nncli predict`)."""
    (tmp_path / "m.npz").write_bytes(models["cls"])
    p = start("predict", "m.npz", cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rows = "".join(f"{i % 7 / 10},{i % 5 / 10}\n" for i in range(200_000))  # past the first 1 MB read
        p.stdin.write(("x1,x2\n" + rows).encode())  # and the pipe stays open: the reader waits for more
        p.stdin.flush()
        assert p.stdout.readline() == b"prediction\n"
        deadline = time.monotonic() + 60

        def all_asleep() -> bool:  # (the thread that reads then waits in read(2) for the rest of its block)
            tasks = Path(f"/proc/{p.pid}/task").iterdir()
            return all((t / "stat").read_text().rsplit(")", 1)[1].split()[0] == "S" for t in tasks)

        while not all_asleep():
            assert time.monotonic() < deadline and p.poll() is None
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 130
        err = p.stderr.read()
        assert err == b"nncli: error: interrupted\n", err
    finally:
        p.kill()
        p.communicate()


def test_an_endless_first_line_of_nul_bytes_is_refused_at_its_first_block(tmp_path):
    """/dev/zero as data: its first line has no end, and was read whole before its bytes were looked at
    (until the kernel killed the process). The child's memory is capped, so a regression fails instead."""
    code = ("import resource, runpy, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
            "sys.argv = ['nncli', 'fit', '/dev/zero', '-o', 'm.npz']\n"
            "runpy.run_module('nncli', run_name='__main__')\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=nncli_env(), capture_output=True, timeout=120)
    assert r.returncode == 1 and r.stderr.startswith(b"nncli: error: /dev/zero:1: the file contains NUL bytes"), r.stderr
    assert not (tmp_path / "m.npz").exists()



def test_endless_nul_bytes_after_some_rows_are_refused_after_a_bounded_read(tmp_path):
    """`(printf 'a,b\\n1,2\\n'; cat /dev/zero) | nncli fit -`: the third line has no end, and was read
    whole (for ever). Now the rows before it are read, and the line is refused at LINE_MAX_BYTES.
    The child's memory is capped, so a regression fails instead of taking the machine's memory."""
    feed = subprocess.Popen(["bash", "-c", "printf 'a,b\\n1,2\\n3,4\\n'; exec cat /dev/zero"], stdout=subprocess.PIPE)
    code = ("import resource, runpy, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
            "sys.argv = ['nncli', 'fit', '-', '-o', 'm.npz']\n"
            "runpy.run_module('nncli', run_name='__main__')\n")
    try:
        r = subprocess.run([sys.executable, "-c", code], stdin=feed.stdout, cwd=tmp_path, env=nncli_env(),
                           capture_output=True, timeout=120)
    finally:
        feed.stdout.close()
        feed.kill()
        feed.wait()
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith(b"nncli: error: <stdin>:4: a line longer than 64 MB (no line end in its first 64 MB)\n"), r.stderr
    assert not (tmp_path / "m.npz").exists()

@LINUX_PIPES
def test_a_signal_stops_the_output_to_a_reader_that_has_stopped_reading(tmp_path):
    """Holding the signal until the rows are out must not wait for ever on a reader that reads no more."""
    p, _ = start_blocked_on_a_full_pipe(tmp_path)
    try:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 143  # after STOP_GRACE_SECONDS
    finally:
        p.kill()
        p.communicate()


def test_text_the_output_encoding_cannot_hold_is_a_clear_error(tmp_path):
    write_csv(tmp_path / "d.csv", ["x", "label"], [(i, ["café", "thé"][i % 2]) for i in range(6)])
    assert run_nncli("fit", "d.csv", "-o", "m.npz", "--epochs", "2", "-q", cwd=tmp_path).returncode == 0
    r = run_nncli("predict", "m.npz", "d.csv", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 1 and r.stdout == b"prediction\n"
    assert r.stderr.decode().splitlines() == [
        "nncli: error: cannot write '\\xe9' in ascii, the output's encoding",
        "hint: set PYTHONIOENCODING=utf-8, or write a file with -o (always UTF-8)"]


@pytest.mark.parametrize("encoding", ["ascii:replace", "latin-1:backslashreplace", "latin-1"])
def test_predictions_the_output_encoding_cannot_hold_are_never_replaced(tmp_path, encoding):
    """A lossy error handler (PYTHONIOENCODING=ascii:replace) wrote '?' for the letters of labels, exit 0;
    and the rows before the one that cannot be written were lost with it."""
    labels = ["Zürich", "naïve", "東京"]
    write_csv(tmp_path / "d.csv", ["x", "label"], [(i, labels[i // 10]) for i in range(30)])
    assert run_nncli("fit", "d.csv", "-o", "m.npz", "--epochs", "300", "-q", cwd=tmp_path).returncode == 0
    expected = run_nncli("predict", "m.npz", "d.csv", cwd=tmp_path).stdout.decode().splitlines(keepends=True)
    r = run_nncli("predict", "m.npz", "d.csv", cwd=tmp_path, env={"PYTHONIOENCODING": encoding})
    assert r.returncode == 1 and "cannot write" in r.stderr.decode()
    codec = encoding.split(":")[0]
    writable = list(itertools.takewhile(lambda row: row.encode(codec, "ignore").decode(codec) == row, expected))
    assert len(writable) < len(expected)  # (the test's premise: some prediction cannot be written)
    assert r.stdout.decode(codec) == "".join(writable)  # the rows before it, each as it is


def test_a_row_the_output_encoding_cannot_hold_is_left_out_whole_though_it_holds_a_line_break(tmp_path):
    # (cut at the line break inside its quotes, stdout ended in half a row: '"abc', a quote left open)
    write_csv(tmp_path / "d.csv", ["x1", "x2", "label"], [(i % 5, i % 3, "ab"[i % 2]) for i in range(40)])
    assert run_nncli("fit", "d.csv", "-o", "m.npz", "--epochs", "2", "-q", cwd=tmp_path).returncode == 0
    (tmp_path / "n.csv").write_text('x1,x2,note\n0.1,0.2,plain\n0.5,0.5,"abc\ndéf"\n0.6,0.5,after\n')
    r = run_nncli("predict", "m.npz", "n.csv", "--keep", "note", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 1 and "cannot write" in r.stderr.decode()
    rows = list(csv.reader(io.StringIO(r.stdout.decode("ascii"), newline="")))
    assert [row[0] for row in rows] == ["note", "plain"] and r.stdout.endswith(b"\n")


def test_a_byte_order_mark_asked_for_comes_once():
    out = run_nncli("gen-data", "blobs", "-n", "20000", env={"PYTHONIOENCODING": "utf-8-sig"}).stdout
    assert out.startswith(b"\xef\xbb\xbfx1,") and out.count(b"\xef\xbb\xbf") == 1  # (two chunks of rows)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux's pidfd_open")
def test_fit_whose_terminal_goes_away_saves_and_exits_129(tmp_path):
    """Closing the terminal (or losing the ssh connection) sends SIGHUP, and then every write to the
    terminal fails with EIO: fit stopped at its next line of output, saving nothing, exit 1."""
    import pty

    write_csv(tmp_path / "d.csv", ["a", "b", "label"], [(i % 7, i % 3, "xy"[i % 2]) for i in range(400)])
    pid, terminal = pty.fork()
    if pid == 0:  # (the child: a session of its own, the new terminal its controlling one)
        try:
            signal.signal(signal.SIGHUP, signal.SIG_DFL)  # (pytest may run under nohup)
            os.chdir(tmp_path)
            os.environ.update(nncli_env())
            os.execv(sys.executable, [sys.executable, "-m", "nncli", "fit", "d.csv", "-o", "m.npz", "--epochs",
                                      "10000000", "--patience", "0", "--hidden", "4", "--progress", "plain"])
        finally:
            os._exit(127)
    deadline = time.monotonic() + 60
    try:
        seen = b""
        while b"epoch=" not in seen:  # training is under way
            assert select.select([terminal], [], [], deadline - time.monotonic())[0], seen
            seen += os.read(terminal, 4096)
        os.close(terminal)  # the terminal goes away: SIGHUP
        terminal = -1
        child = os.pidfd_open(pid)  # readable once the child has ended
        try:
            assert select.select([child], [], [], deadline - time.monotonic())[0], "fit goes on"
        finally:
            os.close(child)
    finally:
        if terminal >= 0:
            os.close(terminal)
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped == 0:  # still running (the test has failed): not left behind
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 129
    assert load_model(str(tmp_path / "m.npz")).info["stopped"]
    assert sorted(q.name for q in tmp_path.iterdir()) == ["d.csv", "m.npz"]


SETTLED = ("import signal, sys\n"
           "from nncli.cli import main\n"
           "try:\n"
           "    main()\n"
           "except SystemExit as e:\n"
           "    print(e.code, *(signal.getsignal(s) is signal.SIG_DFL for s in (signal.SIGINT, signal.SIGTERM)))\n")


@pytest.mark.parametrize("args, code", [(["gen-data", "-n", "2"], 0), (["show", "no-such.npz"], 1)])
def test_once_a_command_has_ended_a_further_signal_ends_the_process_at_once(tmp_path, args, code):
    """A second Ctrl-C while the interpreter shut down (joining the CSV reader's threads) printed
    "Exception ignored in ..." and a traceback. Once the outcome is settled, signals kill as by default."""
    r = subprocess.run([sys.executable, "-c", SETTLED, *args], capture_output=True, env=nncli_env(), cwd=tmp_path,
                       timeout=60)
    assert r.stdout.decode().splitlines()[-1] == f"{code} True True", r.stderr


def test_a_ctrl_c_while_the_options_are_parsed_says_interrupted(cli, monkeypatch):
    """Typer turns a KeyboardInterrupt outside a command into a silent 130."""
    from typer.core import TyperGroup

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(TyperGroup, "make_context", interrupted)
    r = cli("gen-data", "-n", "2")
    assert (r.exit_code, r.stdout, r.stderr) == (130, "", "nncli: error: interrupted\n")


def once_then(signum: int, call: Callable) -> Callable:
    """`call`, then (the first time only) the signal `signum` to this process, as if it came just then."""
    calls = []

    def wrapped(*args, **kwargs):
        result = call(*args, **kwargs)
        if not calls:
            calls.append(1)
            signal.raise_signal(signum)
        return result
    return wrapped


@pytest.mark.parametrize("second_after", ["write", "rename", "report"])
def test_a_second_signal_stops_without_saving_only_until_the_model_is_renamed_into_place(
        tmp_path, monkeypatch, cli, second_after):
    """Ctrl-C, then Ctrl-C again during the save: written but not yet renamed, nothing is saved (the
    old model stays); once renamed into place, the model is saved, and the notice says so."""
    from nncli import render, stop_signals

    monkeypatch.setattr(stop_signals, "SAME_STOP_SECONDS", 0.0)  # (the two come close together here)
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "d.csv", ["a", "b", "label"], [(i % 7, i % 3, "xy"[i % 2]) for i in range(40)])
    (tmp_path / "m.npz").write_bytes(b"the old model")
    monkeypatch.setattr(render, "run_training", once_then(signal.SIGINT, render.run_training))  # the first
    if second_after == "write":  # the temporary file's fsync, just before the rename
        monkeypatch.setattr(os, "fsync", once_then(signal.SIGINT, os.fsync))
    elif second_after == "rename":
        monkeypatch.setattr(os, "replace", once_then(signal.SIGINT, os.replace))
    else:  # the summary paragraph, before the notice
        monkeypatch.setattr(render, "finish_training", once_then(signal.SIGINT, render.finish_training))
    r = cli("fit", "d.csv", "-o", "m.npz", "--epochs", "2", "--hidden", "3", "--progress", "plain")
    assert r.exit_code == 130
    if second_after == "write":
        # (it said "interrupted", no more: was anything saved?)
        assert r.stderr.endswith("\nnncli: error: interrupted again: nothing saved to 'm.npz'\n"), r.stderr
        assert (tmp_path / "m.npz").read_bytes() == b"the old model"
    else:
        assert r.stderr.endswith("\nnncli: interrupted: saved the best weights so far to 'm.npz'\n"), r.stderr
        assert load_model("m.npz").info["epochs_run"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "m.npz"]  # no temporary file left


def start_long_fit(directory: Path, **kw) -> tuple[subprocess.Popen, bytes]:
    """Start a `fit` of 10 million epochs on d.csv into m.npz; return once it is training, with its stderr so far."""
    (directory / "d.csv").write_text("a,b,label\n" + "".join(f"{i % 7},{i % 3},{'xy'[i % 2]}\n" for i in range(400)))
    p = start("fit", "d.csv", "-o", "m.npz", "--epochs", "10000000", "--patience", "0", "--hidden", "4",
              "--progress", "plain", cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    seen = b""
    for line in p.stderr:  # wait, without sleeping, until training is under way
        seen += line
        if line.startswith(b"epoch="):
            break
    return p, seen


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_during_fit_saves_the_best_weights_so_far(tmp_path, models, signum, code):
    skip_an_ignored_hangup(signum)
    (tmp_path / "m.npz").write_bytes(models["cls"])
    old = sha256(tmp_path / "m.npz")
    p, seen = start_long_fit(tmp_path)
    p.send_signal(signum)
    out, rest = p.communicate(timeout=60)
    err = (seen + rest).decode()
    assert p.returncode == code, err
    assert out == b""
    assert "Traceback" not in err
    word = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}[signum]
    assert f"nncli: {word}: saved the weights so far to 'm.npz'" in err  # --patience 0, no validation: the last
    model = load_model(str(tmp_path / "m.npz"))
    assert sha256(tmp_path / "m.npz") != old
    assert 1 <= model.info["epochs_run"] < 10_000_000
    assert model.info["stopped"] == word and model.pre.names == ["a", "b"]  # (what `show` says stopped it)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "m.npz"]  # no temporary file left


@pytest.mark.parametrize("ignored, other, code", [(signal.SIGINT, signal.SIGTERM, 143),
                                                  (signal.SIGTERM, signal.SIGINT, 130)], ids=["SIGINT", "SIGTERM"])
def test_fit_keeps_a_signal_ignored_since_it_started(tmp_path, ignored, other, code):
    """`nncli fit ... &` in a script starts with SIGINT ignored: fit must not stop for it.

    The ignored signal is sent while fit trains, then the other one: fit stops for that one, as
    for a first signal (exit code and notice), and saves. Had it heeded the ignored one, the
    other would come second (stop at once, nothing saved) or find the process gone (130 vs 143).
    """
    p, seen = start_long_fit(tmp_path, preexec_fn=lambda: signal.signal(ignored, signal.SIG_IGN))
    p.send_signal(ignored)
    p.send_signal(other)
    out, rest = p.communicate(timeout=60)
    err = (seen + rest).decode()
    assert p.returncode == code, err
    word = "terminated" if other == signal.SIGTERM else "interrupted"
    assert f"nncli: {word}: saved the weights so far to 'm.npz'" in err and "error" not in err
    assert load_model(str(tmp_path / "m.npz")).info["stopped"]


def test_a_fifo_given_as_the_data_and_as_val_is_refused_not_waited_on(tmp_path):
    # Opening it a second time waited for ever for another writer.
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    r = run_nncli("fit", fifo, "--val", fifo, "-o", tmp_path / "out.npz", timeout=30)
    assert r.returncode == 2 and "are one stream, which can be read only once" in r.stderr.decode()


def test_a_fifo_with_a_missing_other_input_is_told_the_missing_file_not_a_bug(tmp_path):
    """`nncli fit <(zcat d.gz) --val typo.csv`: a stream beside a file that cannot be looked at was
    compared with nothing ("internal error: IndexError"), unnoticed."""
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    for data, val in (("f", "missing.csv"), ("missing.csv", "f")):
        r = run_nncli("fit", data, "--val", val, "-o", "out.npz", cwd=tmp_path, timeout=30)
        assert (r.returncode, r.stderr) == (1, b"nncli: error: no such file: 'missing.csv'\n")


def test_a_terminal_given_as_the_data_and_as_val_is_refused(tmp_path):
    # A terminal is read once, like a pipe: --val /dev/stdin would wait for more typing.
    import pty

    leader, follower = pty.openpty()
    try:
        r = subprocess.run([sys.executable, "-m", "nncli", "fit", "-", "--val", "/dev/stdin", "-o", tmp_path / "m.npz"],
                           stdin=follower, capture_output=True, env=nncli_env(), timeout=30)
    finally:
        os.close(follower)
        os.close(leader)
    assert r.returncode == 2 and "stdin and --val '/dev/stdin' are one stream" in r.stderr.decode()


@pytest.mark.parametrize("args", [FIT[:3] + ("/dev/stdout",) + FIT[4:], ("gen-data", "-n", "5000", "-o", "/dev/stdout")],
                         ids=["fit", "gen-data"])
def test_o_dev_stdout_into_a_closed_pipe_stops_quietly_unless_a_model_is_cut(tmp_path, args):
    # CSV written in place to stdout's pipe: its reader gone, as `| head -c 10` that has exited, was
    # "cannot write '/dev/stdout': Broken pipe" and exit 1, where stdout itself stops quietly. A model
    # is of use only whole: one cut short is an error (it was exit 0, as if delivered).
    (tmp_path / "data.csv").write_bytes(csv_bytes(HEADER, *ROWS))
    r = run_into_closed_pipe("stdout", *args, cwd=tmp_path)
    if args[0] == "fit":
        assert r.returncode == 1 and r.stderr.startswith(
            b"nncli: error: cannot write '/dev/stdout': its reader closed it before the model was written whole\n")
    else:
        assert r.returncode == 0 and r.stderr == b"", r.stderr


def test_numpys_text_cast_drops_a_stops_exception_and_reading_stops_at_the_next_chunk(tmp_path, monkeypatch):
    """NumPy's astype(float64) of a text array runs the signal handler and drops what it raised: `eval`
    scored the rest of a 6-million-row file after SIGTERM, `lr-find` ran its sweep and printed a rate.
    The stop is taken up again before the next chunk (here: as if the handler had just run)."""
    from nncli import apply, csv_io, stop_signals
    from nncli.csv_io import TableReader

    data = tmp_path / "d.csv"
    assert run_nncli("gen-data", "regression", "-n", "3000", "-o", data).returncode == 0
    assert run_nncli("fit", data, "-o", tmp_path / "m.npz", "-e", "1", "-q").returncode == 0
    model = load_model(str(tmp_path / "m.npz"))
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 1000)
    for read in (lambda: apply.eval_chunks(model, str(data)),
                 lambda: TableReader(str(data), ()).__enter__().chunks()):
        chunks = read()
        next(chunks)
        monkeypatch.setattr(stop_signals, "raised", signal.SIGTERM)  # (the handler ran; its exception was lost)
        with pytest.raises(Terminated):
            next(chunks)
        monkeypatch.setattr(stop_signals, "raised", None)


@pytest.mark.parametrize("failure", [OSError(5, "Input/output error"), BrokenPipeError(), ModelFileError("x")])
def test_a_lost_stop_followed_by_a_failure_exits_as_the_stop(failure, monkeypatch, capsys):
    """SIGHUP whose exception NumPy dropped, then the write to the hung-up terminal failing (EIO): exit 1,
    "cannot write the output", where 129 was due."""
    from nncli import stop_signals
    from nncli.cli import run

    def invoke():
        stop_signals.raised = signal.SIGHUP
        raise failure

    monkeypatch.setattr(stop_signals, "raised", None)
    assert run(invoke, []) == 129
    assert "cannot write" not in capsys.readouterr().err


def test_a_plot_whose_reader_has_gone_does_not_cost_the_model(tmp_path):
    """`fit --plot /dev/stdout` into a pipe whose reader had gone: "cannot write 'm.npz': Broken pipe",
    exit 1, no model; `--plot -` saved it and exited 0."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    for plot in ("/dev/stdout", "-"):
        r = subprocess.run([sys.executable, "-m", "nncli", "fit", str(SAMPLES / "moons.csv"), "-e", "2", "-q",
                            "--hidden", "4", "-o", "m.npz", "--plot", plot], stdout=write_end, stderr=subprocess.PIPE,
                           cwd=tmp_path, env=nncli_env(), timeout=120)
        assert (r.returncode, r.stderr) == (0, b"")
        assert load_model(str(tmp_path / "m.npz")).info["epochs_run"] == 2
        (tmp_path / "m.npz").unlink()
    os.close(write_end)


def test_a_stop_while_the_temporary_file_is_made_leaves_none_behind(tmp_path, monkeypatch):
    """A signal between mkstemp's creating the file and the `try` that removes it left `.NAME.xxxx.tmp`
    (blocking signals around it did not help while another thread ran: the signal went there)."""
    from nncli import atomic

    real = os.open

    def stopped_on_the_way(path, *args, **kwargs):
        fd = real(path, *args, **kwargs)
        if str(path).endswith(".tmp"):
            os.kill(os.getpid(), signal.SIGINT)  # (as if Ctrl-C came as it returned: to the process, any thread)
            start = time.monotonic()
            while time.monotonic() - start < 10:  # (here, until its handler runs: within microseconds)
                pass
        return fd

    monkeypatch.setattr(atomic.os, "open", stopped_on_the_way)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    done = threading.Event()
    other = threading.Thread(target=done.wait)  # (a thread of the team, or of the reader, alive meanwhile)
    other.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            atomic.atomic_write(str(tmp_path / "out.csv"), lambda f: f.write(b"x\n"))
    finally:
        done.set()
        other.join()
        signal.signal(signal.SIGINT, old)
    assert list(tmp_path.iterdir()) == []
