"""Writing CSV: generated data sets and streamed predictions (reading is `csv_io`).

May import numpy, the standard library, `nncli.csv_io`, `nncli.csv_format`, `nncli.atomic`, `nncli.errors` and
`nncli.stop_signals`; never typer or rich.
Output goes to stdout (`-`) or to a file written atomically.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import itertools
import math
import os
import re
import select
import signal
import stat
import sys
import threading
import time
from typing import IO, Callable, Iterable, NamedTuple, Sequence

import numpy as np

from nncli import csv_format, stop_signals
from nncli.csv_io import CHUNK_ROWS, Table
from nncli.errors import NncliError
from nncli.stop_signals import held

def quote(text: str) -> str:
    """A CSV field: quoted (quotes doubled) when it holds a comma, quote or line break, or starts or ends with
    a space (which a reader would strip)."""
    if any(ch in text for ch in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


class _Column(NamedTuple):
    """A column for `_format_rows`: a printf format ("%s" for text already quoted, "%d", "%.<p>g") and the values
    (numbers (n, k) for k columns of one format); cells: the column already as `csv_format` cells (the predicted
    labels, gathered from each class's)."""
    fmt: str
    values: "np.ndarray | list"
    cells: np.ndarray | None = None


def _cells(col: _Column) -> np.ndarray | None:
    """The column as `csv_format` cells, or None where only the `%` operator can write it."""
    if col.cells is not None:
        return col.cells
    if col.fmt == "%s":
        return csv_format.text_cells(list(col.values))
    if col.fmt == "%d":
        return csv_format.d_cells(col.values)
    digits = int(col.fmt[2:-1])  # "%.<p>g"
    return csv_format.g_cells(col.values, digits) if digits <= csv_format.MOST_DIGITS else None


# A text that `quote` changes, in texts joined by NUL: a comma, quote or line end, or a space at either end.
_QUOTED = re.compile(r'[,"\r\n]|\s(?:\0|\Z)|(?:\A|\0)\s')


def _quote_all(texts: list[str]) -> list[str]:
    """`quote` of each text: one search of them all, and one call a text only where some text needs quotes (ids
    and categories seldom do; a call each was most of gen-data's time)."""
    return [quote(t) for t in texts] if _QUOTED.search("\0".join(texts)) else texts


def _blocks(cols: list[_Column]) -> list[_Column]:
    """Runs of number columns of one format and dtype as one (n, k) column, which one `csv_format` call formats
    (gen-data's 1,000 features: one call, not 1,000)."""
    runs: list[list[_Column]] = []
    for c in cols:
        last = runs[-1][-1] if runs else None
        if (last is not None and c.fmt != "%s" and c.fmt == last.fmt and c.cells is None and last.cells is None
                and c.values.dtype == last.values.dtype):  # type: ignore[union-attr]
            runs[-1].append(c)
        else:
            runs.append([c])
    return [r[0] if len(r) == 1 else _Column(r[0].fmt, np.column_stack([c.values for c in r])) for r in runs]


def _format_rows(cols: list[_Column]) -> str:
    """CSV text for a chunk's columns: each a matrix of bytes formatted in NumPy (`csv_format`), or, where a column
    cannot be (a text holding a NUL, more digits than `csv_format.MOST_DIGITS`), one `%` for the whole chunk,
    numbers formatted by the `%` operator in C rather than one Python call per cell.
    """
    if not cols or not len(cols[0].values):
        return ""
    cols = _blocks(cols)
    cells = [_cells(c) for c in cols]
    if all(c is not None for c in cells):
        return csv_format.join_rows(cells)  # type: ignore[arg-type]
    n = len(cols[0].values)
    block = [isinstance(c.values, np.ndarray) and c.values.ndim == 2 for c in cols]
    flat = [(c.fmt, v) for c, b in zip(cols, block) for v in (c.values.T if b else [c.values])]
    row = ",".join(fmt for fmt, _ in flat) + "\n"
    values = [v.tolist() if isinstance(v, np.ndarray) else v for _, v in flat]
    return (row * n) % tuple(values[0] if len(values) == 1 else itertools.chain.from_iterable(zip(*values)))


def _column(values: np.ndarray, fmt: str = "%.7g") -> _Column:
    """A column for `_format_rows`: text quoted as CSV needs, integers as is, floats by `fmt`."""
    if values.dtype.kind in "USO":  # (O: text as Python strings, see `csv_numbers.text_array`)
        return _Column("%s", _quote_all(values.tolist()))
    return _Column("%d" if values.dtype.kind in "iub" else fmt, values)


def _value_format(mean: float, scale: float) -> str:
    """The printf format for predicted values of a target with this mean and spread: the 7
    significant digits a float32 network resolves of the spread, plus the offset's digits
    (values near 1e6 varying by ~1 need 13: "%.7g" would round them to whole units)."""
    offset = abs(mean) / scale
    return f"%.{min(7 + (math.ceil(math.log10(offset)) if offset > 1 else 0), 17)}g"


# `write_predictions` formats at most about this many cells at once.
WRITE_CELLS = 1 << 16
# How long a stopped command waits for a reader that has stopped taking its output (`| less` left on
# one screen) before it cuts the row it is writing and ends.
STOP_GRACE_SECONDS = 2.0
# A pipe takes a write of up to PIPE_BUF bytes whole once select() says it can take any.
_PIECE = getattr(select, "PIPE_BUF", 512)


class _WholeRows:
    """Output for CSV text when it is not a regular file (stdout, `-o /dev/stdout`, a FIFO): each
    piece of whole rows goes out with the stop signals held (`stop_signals.held`), so that a Ctrl-C
    or SIGTERM does not cut a row short for the program reading the pipe (unless that program has
    taken nothing for STOP_GRACE_SECONDS); after one, the piece ends with the row being written. (A
    regular file is written atomically: stopped, it is not there at all.)

    The bytes go straight to the descriptor, in a loop over partial writes. A signal during a
    write(2) blocked on a full pipe makes it return early, and Python's buffered stdout then lost
    the rest of the piece even with a handler that raised nothing (a 63 MB test lost 249,464 bytes,
    mid-row). Into a pipe or a socket the bytes go PIPE_BUF at a time, each once select() says the
    reader has made room, so that no write blocks: a signal wakes the wait (`signal.set_wakeup_fd`),
    and from then on the wait is bounded. Without a descriptor (a stand-in for a closed stdout, a
    test's capture) the text goes through the stream itself.
    """

    def __init__(self, out: IO[str], *, document: bool = False, hold: bool = True):
        self._out = out
        # document: each piece is one whole (a JSON object, an SVG), never cut at a line's end by a
        # stop signal; hold=False: the signals are not held (`stop_signals.StopFlag` already keeps a
        # stop from raising), and only the loop over partial writes remains.
        self._document, self._hold = document, hold
        try:
            self._fd: int | None = out.fileno()
            mode = os.fstat(self._fd).st_mode
        except (AttributeError, OSError, ValueError):
            self._fd, mode = None, 0
        self._to_reader = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
        # One encoder for all the pieces: a byte-order mark (PYTHONIOENCODING=utf-8-sig) comes once.
        # The stream's error handler where it writes every character as some bytes that give it back
        # (surrogateescape: a label's undecodable byte); else strict: PYTHONIOENCODING=ascii:replace
        # wrote '?' for the letters of labels, with exit 0.
        self._encoding = getattr(out, "encoding", None) or "utf-8"
        errors = getattr(out, "errors", None)
        self._encoder = codecs.getincrementalencoder(self._encoding)(
            errors if errors in ("surrogateescape", "surrogatepass") else "strict")

    def write(self, text: str) -> None:
        stop_signals.reraise_if_lost()  # (a stop whose exception an import swallowed: no more rows)
        with held() if self._hold else contextlib.nullcontext([]) as pending:
            if self._fd is None:
                self._out.write(text)
                self._out.flush()
                return
            self._out.flush()  # (anything written to the stream before)
            failure = None
            try:
                data = memoryview(self._encoder.encode(text))
            except UnicodeEncodeError as e:
                # The rows before the one that cannot be written still go out, as before a bad input row.
                data = memoryview(self._encoder.encode(text[:_row_start(text, e.start)]))
                failure = NncliError(f"cannot write {e.object[e.start:e.end]!r} in {self._encoding}, the output's "
                                     f"encoding", hint="set PYTHONIOENCODING=utf-8, or write a file with -o "
                                     "(always UTF-8)")
            if self._to_reader and threading.current_thread() is threading.main_thread():
                self._to_a_reader(data, pending)
            else:
                while data:
                    try:
                        data = data[os.write(self._fd, data):]
                    except BlockingIOError:  # a descriptor someone made non-blocking
                        select.select([], [self._fd], [], 0.1)
            if failure is not None:
                raise failure

    def _to_a_reader(self, data: memoryview, pending: list[int]) -> None:
        """Write data into a pipe or socket without ever blocking in write(2); once a stop signal is
        pending, only to the end of the row being written, and only as long as the reader takes some
        every STOP_GRACE_SECONDS."""
        assert self._fd is not None
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        old_wakeup = signal.set_wakeup_fd(wake_w)
        try:
            progress = time.monotonic()
            cut = False
            while data:
                timeout = None
                if pending and not cut:  # stop at the next row's end: a slow reader took the whole piece
                    cut = True
                    if not self._document:
                        data = data[:data.tobytes().find(b"\n") + 1 or len(data)]
                if pending:
                    timeout = progress + STOP_GRACE_SECONDS - time.monotonic()
                    if timeout <= 0:
                        return  # the held signal is raised as `held` ends, with a row cut
                woken, ready, _ = select.select([wake_r], [self._fd], [], timeout)
                if woken:
                    os.read(wake_r, 64)  # a signal came (see `pending`)
                if ready:
                    try:
                        written = os.write(self._fd, data[:_PIECE])
                    except BlockingIOError:
                        written = 0
                    if written:
                        data = data[written:]
                        progress = time.monotonic()
        finally:
            signal.set_wakeup_fd(old_wakeup)
            os.close(wake_r)
            os.close(wake_w)

    def flush(self) -> None:
        self._out.flush()


def write_document(text: str, *, hold: bool = True) -> None:
    """A whole document (a JSON object and its line end, an SVG) to stdout: a stop signal that comes
    while a slow reader takes it ends the command after it, not part of the way through (see
    `_WholeRows`; hold=False under `stop_signals.StopFlag`)."""
    _WholeRows(sys.stdout, document=True, hold=hold).write(text)


def _row_start(text: str, i: int) -> int:
    """Where the CSV row holding text[i] starts: after the last line end before it that is outside
    quotes (an even number of quote marks before it: a kept cell may hold a line break)."""
    end = text.rfind("\n", 0, i)
    quotes = text.count('"', 0, end) if end >= 0 else 0
    while end >= 0 and quotes % 2:
        before = text.rfind("\n", 0, end)
        quotes -= text.count('"', before + 1 if before >= 0 else 0, end)
        end = before
    return end + 1


def _open_output(path: str, write_all: "Callable[[IO[str]], None]") -> None:
    """Run `write_all` on stdout, or on a file written atomically."""
    if path == "-":
        write_all(_WholeRows(sys.stdout))
        return
    from nncli.atomic import atomic_write

    def write(f: IO[bytes]) -> None:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        write_all(text if stat.S_ISREG(os.fstat(f.fileno()).st_mode) else _WholeRows(text))
        text.flush()
        text.detach()

    atomic_write(path, write)


def write_columns(path: str, columns: dict[str, np.ndarray]) -> None:
    """Write named columns (numbers or text) as a CSV file ('-' for stdout)."""
    def write_all(out: IO[str]) -> None:
        out.write(",".join(quote(c) for c in columns) + "\n")
        n = len(next(iter(columns.values())))
        step = max(1, min(CHUNK_ROWS, WRITE_CELLS // len(columns)))  # (16,384 rows of 10,000 columns: 1.5 GB)
        for s in range(0, n, step):
            out.write(_format_rows([_column(a[s:s + step], "%.6g") for a in columns.values()]))

    _open_output(path, write_all)


def prediction_names(model: "object", proba: bool) -> list[str]:
    """The columns `write_predictions` adds after the kept ones."""
    target = model.target  # type: ignore[attr-defined]
    if target.task == "regression":
        return ["prediction"] if len(target.names) == 1 else [f"prediction_{t}" for t in target.names]
    return ["prediction"] + ([f"p_{c}" for c in target.classes] if proba else [])


def write_predictions(path: str, model: "object", chunks: "Iterable[tuple[Table, np.ndarray, np.ndarray | None]]",
                      keep: Sequence[str], proba: bool) -> None:
    """Stream predictions as CSV: kept columns, then `prediction`, then `p_<class>` columns.

    Each chunk is written and flushed as it comes (the reader may be a chunk or two
    ahead), so when a later row fails, the output holds exactly the predictions of
    the rows before it.
    """
    target = model.target  # type: ignore[attr-defined]
    classes = np.array([quote(c) for c in target.classes], dtype=object)
    # Labels that are all as long (with their line end, in UTF-8), as 0/1 or digits are: the default
    # output's text is then one gather of fixed-width byte strings a chunk (8,192 rows: 9 us, against
    # 113 for a Python string per row, work that held the interpreter lock against the reader's threads).
    try:
        lines = [(c + "\n").encode() for c in classes.tolist()]
    except UnicodeEncodeError:  # (a lone surrogate, from a crafted model file: the usual path writes it)
        lines = []
    label_lines = np.array(lines) if target.task == "classification" and len(set(map(len, lines))) == 1 else None
    label_cells = csv_format.text_cells(classes.tolist())
    pred_names = prediction_names(model, proba)
    if target.task == "regression":
        value_formats = [_value_format(m, s) for m, s in zip(target.mean, target.scale)]

    def write_all(out: IO[str]) -> None:
        out.write(",".join(quote(c) for c in [*keep, *pred_names]) + "\n")
        out.flush()
        for chunk, pred, P in chunks:
            if label_lines is not None and not keep and P is None:
                out.write(label_lines.take(pred).tobytes().decode())  # (take: indices, never a mask)
                out.flush()
                continue
            # A few rows at a time where there are many columns (--proba of 1,500 classes: a chunk's
            # probabilities as Python floats took 2 GB)
            step = max(1, WRITE_CELLS // (len(keep) + len(pred_names)))
            for r in range(0, len(pred), step):
                rows = slice(r, r + step)
                cols = [_column(chunk.as_written.get(k, chunk.columns[k].values)[rows]) for k in keep]
                if target.task == "regression":
                    cols += [_column(pred[rows, j], fmt) for j, fmt in enumerate(value_formats)]
                else:
                    labels = pred[rows]
                    cols.append(_Column("%s", classes[labels], None if label_cells is None else
                                        label_cells.take(labels, axis=0)))  # (take: indices, never a mask)
                    if P is not None:
                        cols.append(_Column("%.6g", P[rows]))  # (formatted as one block)
                out.write(_format_rows(cols))
            out.flush()

    _open_output(path, write_all)
