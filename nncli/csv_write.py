"""Writing CSV: generated data sets and streamed predictions (reading is `csv_io`).

May import numpy, the standard library, `nncli.csv_io`, `nncli.atomic` and `nncli.stop_signals`; never
typer or rich.
Output goes to stdout (`-`) or to a file written atomically.
"""

from __future__ import annotations

import codecs
import io
import itertools
import math
import os
import select
import stat
import sys
from typing import IO, Callable, Iterable, Sequence

import numpy as np

from nncli.csv_io import CHUNK_ROWS, Table
from nncli.stop_signals import held

def quote(text: str) -> str:
    """A CSV field: quoted (quotes doubled) when it holds a comma, quote or line break."""
    if any(ch in text for ch in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def _format_rows(cols: list[tuple[str, list]]) -> str:
    """CSV text for columns given as (printf format, values): one `%` for the whole chunk.

    Text values must already be quoted (format "%s"); numbers are formatted by
    the `%` operator in C rather than one Python call per cell.
    """
    if not cols:
        return ""
    if len(cols) == 1 and cols[0][0] == "%s":  # one text column, as predict writes by default
        return "\n".join(cols[0][1]) + "\n" if cols[0][1] else ""
    n = len(cols[0][1])
    row = ",".join(fmt for fmt, _ in cols) + "\n"
    values = cols[0][1] if len(cols) == 1 else list(itertools.chain.from_iterable(zip(*(v for _, v in cols))))
    return (row * n) % tuple(values)


def _column(values: np.ndarray, fmt: str = "%.7g") -> tuple[str, list]:
    """A column for `_format_rows`: text quoted as CSV needs, integers as is, floats by `fmt`."""
    if values.dtype.kind in "US":
        return "%s", [quote(v) for v in values.tolist()]
    return ("%d" if values.dtype.kind in "iub" else fmt), values.tolist()


def _value_format(mean: float, scale: float) -> str:
    """The printf format for predicted values of a target with this mean and spread: the 7
    significant digits a float32 network resolves of the spread, plus the offset's digits
    (values near 1e6 varying by ~1 need 13: "%.7g" would round them to whole units)."""
    offset = abs(mean) / scale
    return f"%.{min(7 + (math.ceil(math.log10(offset)) if offset > 1 else 0), 17)}g"


# How long a stopped command goes on writing its current piece of rows to a reader that has stopped
# reading (`| less` left on one screen): then the row is cut, and the command ends.
STOP_GRACE_SECONDS = 2.0


class _WholeRows:
    """Output for CSV text when it is not a regular file (stdout, `-o /dev/stdout`, a FIFO): each
    piece of whole rows goes out in full, with the stop signals held (`stop_signals.held`), so that
    a Ctrl-C or SIGTERM does not cut a row short for the program reading the pipe, unless that
    program has stopped reading for STOP_GRACE_SECONDS. (A regular file is written atomically:
    stopped, it is not there at all.)

    The bytes go straight to the descriptor, in a loop over partial writes. A signal during a
    write(2) blocked on a full pipe makes it return early, and Python's buffered stdout then lost
    the rest of the piece even with a handler that raised nothing (a 63 MB test lost 249,464 bytes,
    mid-row). A descriptor someone made non-blocking is waited on. Without a descriptor (a stand-in
    for a closed stdout, a test's capture) the text goes through the stream itself.
    """

    def __init__(self, out: IO[str]):
        self._out = out
        try:
            self._fd: int | None = out.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None
        # One encoder for all the pieces: a byte-order mark (PYTHONIOENCODING=utf-8-sig) comes once.
        self._encoder = codecs.getincrementalencoder(getattr(out, "encoding", None) or "utf-8")(
            getattr(out, "errors", None) or "strict")

    def write(self, text: str) -> None:
        with held(STOP_GRACE_SECONDS):
            if self._fd is None:
                self._out.write(text)
                self._out.flush()
                return
            self._out.flush()  # (anything written to the stream before)
            data = memoryview(self._encoder.encode(text))
            while data:
                try:
                    data = data[os.write(self._fd, data):]
                except BlockingIOError:
                    select.select([], [self._fd], [], 0.1)

    def flush(self) -> None:
        self._out.flush()


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
        for s in range(0, n, CHUNK_ROWS):
            out.write(_format_rows([_column(a[s:s + CHUNK_ROWS], "%.6g") for a in columns.values()]))

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
    pred_names = prediction_names(model, proba)
    if target.task == "regression":
        value_formats = [_value_format(m, s) for m, s in zip(target.mean, target.scale)]

    def write_all(out: IO[str]) -> None:
        out.write(",".join(quote(c) for c in [*keep, *pred_names]) + "\n")
        out.flush()
        for chunk, pred, P in chunks:
            cols = [_column(chunk.as_written.get(k, chunk.columns[k].values)) for k in keep]
            if target.task == "regression":
                cols += [_column(pred[:, j], fmt) for j, fmt in enumerate(value_formats)]
            else:
                cols.append(("%s", classes[pred].tolist()))
                if P is not None:
                    cols += [_column(P[:, j], "%.6g") for j in range(P.shape[1])]
            out.write(_format_rows(cols))
            out.flush()

    _open_output(path, write_all)
