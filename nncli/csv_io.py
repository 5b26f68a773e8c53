"""Reading tables: with `csv_write`, the only CSV code in nncli.

May import numpy, the standard library, `nncli.errors`, `nncli.csv_source` (opening the file, the
header), `nncli.csv_numbers`, `nncli.allocator`, `nncli.core.preprocessing` (what number a cell
holds) and (in `TableReader.read`) `nncli.csv_arrow`; never typer or rich.

Reading is chunked, so `predict` can stream files of any length. Plain files
are read in blocks of bytes, and a block of numbers (text columns and missing
cells allowed) is converted all at once by `csv_numbers`, on worker threads.
Any other block goes through `numpy.loadtxt` or, for quotes, blank lines,
missing or bad cells, Python's `csv` module, which locates every problem as
FILE:LINE:COLUMN (physical line numbers, the header is line 1); from the first
block with a quote or a CR on, the rest of the file is read line by line.

Accepted: a header row; `,` `;` tab or `|` delimiters (detected from the
header); UTF-8 with or without a BOM; gzip (detected by its magic bytes, so it
works on stdin too); LF, CRLF or lone-CR line endings; quoted fields with
embedded delimiters and newlines; blank lines (skipped); a missing final newline.
"""

from __future__ import annotations

import collections
import csv
import gzip
import io
import itertools
import math
from operator import methodcaller
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

import numpy as np

from nncli.allocator import keep_freed_memory
from nncli.core.preprocessing import cell_number, numbers_among
from nncli.csv_source import Lines, Prepend, as_text, detect_delimiter, display_name, open_binary, parse_header
from nncli.csv_numbers import block_cells, count_lines, parse_block
from nncli.errors import DataError, shorten

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

DEFAULT_NA_VALUES = ("", "NA", "N/A", "null", "NaN", "nan", "?")
CHUNK_ROWS = 16384
CHUNK_CELLS = 1 << 20  # wide files get fewer rows per chunk: parsing temporaries stay ~4 MB
BLOCK_BYTES = 1 << 19  # plain files are read in blocks of about this size (at most chunk_rows lines)
BLOCK_BYTES_PER_COLUMN = 256  # or of this much per column, if more (see TableReader.__init__)
PARSE_BYTES = 1 << 17  # and converted in pieces of about this size, whose temporaries stay in cache
PARSE_THREADS = min(2, os.cpu_count() or 1)  # threads converting blocks of numbers
# Larger than any sane cell, small enough that a runaway quote cannot eat memory.
csv.field_size_limit(16 * 1024 * 1024)


@dataclass
class Column:
    """One column as read: numbers (NaN where missing) or text (stripped strings)."""

    name: str
    values: np.ndarray  # float array, or a numpy str_ array for text
    is_text: bool
    n_numeric: int = 0  # text columns: how many cells parsed as numbers
    first_text: tuple[int, str] | None = None  # (line, cell) of the first non-numeric cell


@dataclass
class Table:
    """A table read from a CSV file: the selected columns and each row's line number."""

    source: str
    header: list[str]
    columns: dict[str, Column]
    lines: np.ndarray  # physical line number of each row, int64
    # From the block path: the numeric columns (in `columns` order) as the rows of one array, of
    # which those columns' values are views; `read` copies a chunk's numbers in one operation.
    numbers: np.ndarray | None = None
    derived: object = None  # what `chunks(then=...)` computed from `numbers` (block path only)
    as_written: dict[str, np.ndarray] = field(default_factory=dict)  # see TableReader's `as_written`

    @property
    def n_rows(self) -> int:
        return len(self.lines)



class TableReader:
    """Reads a CSV file chunk by chunk; see `read_table` and `chunks`.

    Parameters
    ----------
    path : file path, or "-" for stdin.
    columns : names of the columns to read (None: all). Unlisted columns are
        never parsed, so garbage in an ignored column is harmless.
    text : columns always kept as text (categorical features, labels, --keep).
    auto : numeric columns that may turn out to be text (fit-time inference).
    as_written : numeric columns whose cells `chunks` also hands out as written (stripped
        text, in `Table.as_written`): `predict --keep` of a feature echoes its input.
    na_values : cells that mean "missing" (NaN in numeric columns).
    delimiter : one character, or None to detect it from the header.
    dtype : float dtype of numeric columns.
    """

    def __init__(
        self,
        path: str,
        columns: Sequence[str] | None = None,
        *,
        text: Iterable[str] = (),
        auto: Iterable[str] = (),
        as_written: Iterable[str] = (),
        na_values: Iterable[str] = DEFAULT_NA_VALUES,
        delimiter: str | None = None,
        dtype: type = np.float32,
        chunk_rows: int | None = None,
    ):
        self.name = display_name(path)
        self._path = path
        self.dtype = dtype
        self._stdin = path == "-"
        keep_freed_memory()  # the block-wise parser's temporaries would page-fault otherwise
        self._raw = open_binary(path)
        self._lines: Lines | None = None  # set when reading line by line (see `_to_lines`)
        self._pending = b""  # bytes read ahead, not yet handed out (byte mode)
        self._eof = False
        self._odd = False  # a block that is not plain was put back: switch to lines
        self._skip_unselected = False  # unselected columns hold text: blank them before converting
        self._line_no = 0
        first = self._first_line()
        if not first or not first[0].strip():
            self.close()
            raise DataError("the file is empty (expected a header row)" if not first else
                            "expected a header row, found a blank line", file=self.name, line=1)
        self.delimiter = delimiter or detect_delimiter(first[0])
        self.header = parse_header(first[0], self.name, self.delimiter)
        self.chunk_rows = chunk_rows or max(256, min(CHUNK_ROWS, CHUNK_CELLS // len(self.header)))
        # A block of a wide file holds a few dozen lines at least: each block costs a little for every
        # column (20,000 columns: 10.5 -> 3.0 s for `fit` on 400 rows, 55 MB).
        self._block_bytes = max(BLOCK_BYTES, BLOCK_BYTES_PER_COLUMN * len(self.header))
        self._na = frozenset(na_values)
        self._na_bytes = frozenset(v.encode() for v in self._na)
        self._na_numbers = numbers_among(self._na, dtype)  # e.g. --na-values -999: see `mark_missing`
        self._slow_forever = False
        self.select(columns, text=text, auto=auto)
        self._as_written = [c for c in dict.fromkeys(as_written) if c in self._idx and c not in self._text]

    def select(self, columns: Sequence[str] | None = None, *, text: Iterable[str] = (),
               auto: Iterable[str] = (), auto_as_text: Iterable[str] = ()) -> None:
        """Choose the columns to read and how (see the class docstring); before reading rows.

        `auto_as_text`: auto columns to read as text from the first row, still counting their
        numbers: those that `read` found to turn to text after whole chunks of numbers (`retexted`).
        """
        wanted = list(self.header) if columns is None else list(columns)
        position: dict[str, int] = {}  # a dict, not header.index: a file may have 100,000 columns
        for i, c in enumerate(self.header):
            position.setdefault(c, i)
        missing = [c for c in wanted if c not in position]
        if missing:
            self.close()
            raise DataError(
                f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(shorten(c, 40) for c in missing)}",
                file=self.name, line=1, hint=f"the header has: {shorten(', '.join(self.header), 200)}",
            )
        self.columns = wanted
        self._idx = {c: position[c] for c in wanted}
        self._text = {c for c in text if c in self._idx}
        self._auto = {c for c in auto if c in self._idx} - self._text
        self._auto_as_text = {c for c in auto_as_text if c in self._auto}
        self._n_numeric = {c: 0 for c in wanted}
        self._first_text: dict[str, tuple[int, str]] = {}
        self.retexted: set[str] = set()  # see `read`

    # -- public ---------------------------------------------------------------
    def close(self) -> None:
        try:
            if not self._stdin:  # leave the process's stdin open
                self._raw.close()
        except (OSError, ValueError):
            pass

    @property
    def line_no(self) -> int:
        """Physical lines consumed so far (the header is line 1)."""
        return self._lines.line_no if self._lines is not None else self._line_no

    # -- taking lines ---------------------------------------------------------
    # Plain files are read in blocks of bytes ("byte mode"): a block of whole lines
    # with no quote, CR or NUL byte and valid UTF-8 has one record per line, and a
    # block of plain numbers converts in one go (`csv_numbers`). The first block
    # with anything else switches to reading decoded text line by line for the rest
    # of the file (`_to_lines`), where quoted newlines and odd line endings are
    # handled and undecodable bytes are located.
    def _read_raw(self, n: int) -> bytes:
        try:
            return self._raw.read(n)
        except (gzip.BadGzipFile, EOFError, OSError) as e:
            raise DataError(f"cannot read the file: {e}", file=self.name, line=self.line_no + 1) from None

    def _to_lines(self, pending: bytes, encoding: str = "utf-8") -> Lines:
        f = as_text(io.BufferedReader(Prepend(pending, self._raw)), encoding)  # type: ignore[arg-type]
        self._lines = Lines(f, self.name)
        self._lines.line_no = self._line_no
        self._pending = b""
        return self._lines

    @staticmethod
    def _plain(block: bytes) -> bool:
        if b'"' in block or b"\r" in block or b"\0" in block:
            return False
        if block.isascii():
            return True
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    def _first_line(self) -> list[str]:
        head = self._read_raw(BLOCK_BYTES)
        end = head.find(b"\n")
        if end < 0 or not self._plain(head[:end]):
            return self._to_lines(head, "utf-8-sig").take(1)
        self._pending = head[end + 1:]
        self._line_no = 1
        return [head[:end].decode("utf-8").removeprefix("\ufeff")]

    def _next_block(self) -> bytes:
        """The next whole lines (each ending with LF), at most about `_block_bytes` and `chunk_rows` lines."""
        parts = [self._pending]
        size = len(self._pending)
        while not self._eof and (size < self._block_bytes or b"\n" not in parts[-1]):
            data = self._read_raw(self._block_bytes)
            if not data:
                self._eof = True
            parts.append(data)
            size += len(data)
        buf = b"".join(parts)
        cut = len(buf) if self._eof else buf.rfind(b"\n", 0, max(self._block_bytes, buf.find(b"\n") + 1)) + 1
        if cut > 2 * len(self.header) * self.chunk_rows:  # then it may hold more than chunk_rows lines
            ends = np.flatnonzero(np.frombuffer(buf, np.uint8, cut) == ord("\n"))
            if len(ends) > self.chunk_rows:
                cut = int(ends[self.chunk_rows - 1]) + 1
        block, self._pending = buf[:cut], buf[cut:]
        if block and not block.endswith(b"\n"):
            block += b"\n"  # no newline at the end of the file
        return block

    def __enter__(self) -> "TableReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chunks(self, then: Callable[[np.ndarray], object] | None = None) -> Iterator[Table]:
        """Yield the rows as tables of at most `chunk_rows` rows.

        On a bad row or cell, the good rows before it are yielded first, then
        the DataError is raised: a streaming consumer has handled exactly the
        rows before the bad line.

        `then(numbers)`, if given, runs on the converting thread as soon as a
        block's numbers are converted (`Table.numbers`): in parallel with the
        other blocks, while the numbers are in cache. Its result is the chunk's
        `Table.derived`; chunks read another way have None there. It must be
        safe to run on several threads at once.
        """
        from concurrent.futures import ThreadPoolExecutor

        # The threads hand the GIL to each other around every NumPy call; with Python's default
        # 5 ms switch interval a thread that wants it back can idle that long each time.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
        # Plain blocks are converted ahead, on worker threads (NumPy releases the GIL), while
        # this thread reads the file and the caller works on the previous chunk. Anything that
        # depends on earlier rows (text columns, error reports) is done here, in order.
        ahead: collections.deque[tuple[int, bytes, Future]] = collections.deque()
        with ThreadPoolExecutor(PARSE_THREADS) as pool:
            try:
                while True:
                    while self._lines is None and not self._odd and len(ahead) <= PARSE_THREADS:
                        if not self._read_ahead(ahead, pool, then):
                            break
                    if ahead:
                        table, error = self._block_table(*ahead.popleft())
                    elif self._odd:  # the first block that is not plain: line by line from here on
                        self._odd = False
                        self._to_lines(self._pending)
                        continue
                    elif self._lines is None:
                        return
                    else:
                        start = self.line_no + 1
                        lines = self._lines.take(self.chunk_rows)
                        if not lines:
                            return
                        table = None
                        if not self._slow_forever and '"' not in "".join(lines):
                            table = self._fast(lines, start)
                        error = None
                        if table is None:
                            table, error = self._slow(lines, start)
                    if table.n_rows:
                        yield table
                    if error is not None:
                        raise error
            finally:
                for _, _, job in ahead:
                    job.cancel()

    def _read_ahead(self, ahead: "collections.deque", pool: "ThreadPoolExecutor",
                    then: Callable[[np.ndarray], object] | None) -> bool:
        """Queue the next plain block, its conversion started on `pool`; False at the end or an odd block."""
        block = self._next_block()
        if not block:
            return False
        if not self._plain(block):
            self._pending = block + self._pending  # read again, line by line, once `ahead` is empty
            self._odd = True
            return False
        start, n = self._line_no + 1, count_lines(block)
        self._line_no += n
        ahead.append((start, block, pool.submit(self._convert_block, block, n, self._text_now(), then)))
        return True

    def _text_now(self) -> frozenset[str]:
        return frozenset(c for c in self.columns if self._reads_text(c))

    def _convert_block(self, block: bytes, n: int, text: frozenset[str], then: Callable[[np.ndarray], object] | None
                       ) -> tuple[frozenset[str], np.ndarray, list[np.ndarray], object] | None:
        """A plain block's selected columns: the numeric ones converted all at once (`csv_numbers`),
        as the rows of one array; the `text` ones cut out as written; then `then` of the numbers.
        None if it needs a closer look."""
        ncols, d = len(self.header), self.delimiter
        number_idx = [self._idx[c] for c in self.columns if c not in text]
        text_idx = [self._idx[c] for c in self.columns if c in text]
        unselected = sorted(set(range(ncols)) - set(self._idx.values()))
        skip = sorted(text_idx + unselected) if self._skip_unselected else text_idx
        cut = text_idx + [self._idx[c] for c in self._written(text)]  # text columns, then as_written
        numbers = np.empty((len(number_idx), n), self.dtype)
        cells: list[list[np.ndarray]] = [[] for _ in cut]
        start = row = 0
        while start < len(block):
            end = block.rfind(b"\n", start, start + PARSE_BYTES) + 1 or block.find(b"\n", start) + 1
            piece = block[start:end]
            arr = parse_block(piece, ncols, d, self.dtype, skip, self._na_bytes)
            if arr is None and unselected and not self._skip_unselected:
                self._skip_unselected = True  # say an ignored id column of text: never convert it
                skip = sorted(text_idx + unselected)
                arr = parse_block(piece, ncols, d, self.dtype, skip, self._na_bytes)
            if arr is None:
                return None
            numbers[:, row:row + len(arr)] = arr.T[number_idx]  # (arr.T: one contiguous row per column)
            for k, c in enumerate(block_cells(piece, ncols, d, cut) if cut else []):
                cells[k].append(c)
            start, row = end, row + len(arr)
        self.mark_missing(numbers)
        return text, numbers, [np.concatenate(c) for c in cells], then(numbers) if then is not None else None

    def _block_table(self, start: int, block: bytes, job: "Future") -> tuple[Table, DataError | None]:
        """The table of a plain block: as converted by `job`, else through loadtxt or the csv module."""
        converted = job.result()
        # An auto column may have shown text since the job started: then it was converted wrongly.
        if converted is not None and converted[0] == self._text_now():
            text, numbers, cells, derived = converted
            lines = np.arange(start, start + numbers.shape[1], dtype=np.int64)
            rows, texts = iter(numbers), iter(cells)
            cols = {c: self._text_column(c, next(texts), lines) if c in text else Column(c, next(rows), False)
                    for c in self.columns}
            written = dict(zip(self._written(text), texts))
            return Table(self.name, self.header, cols, lines, numbers, derived, written), None
        lines = block.decode("utf-8").split("\n")
        lines.pop()  # after the last LF
        table = self._fast(lines, start)
        return (table, None) if table is not None else self._slow(lines, start)

    def read(self) -> Table:
        """Read all remaining rows into one table.

        From a regular file, numbers go straight into one block sized by the
        file's line count, so the table is held once; text columns, and numbers
        from stdin or gzip, are joined from their chunks.
        """
        from nncli.csv_arrow import read_with_arrow

        table = read_with_arrow(self)  # when the `fast` extra is installed and the file plain
        if table is not None:
            return table
        cap = self._rows_left()
        numeric = [c for c in self.columns if not self._reads_text(c)]
        block = np.empty((len(numeric), cap), self.dtype) if cap is not None and numeric else None
        row_of = {c: k for k, c in enumerate(numeric)} if block is not None else {}
        pieces: dict[str, list[Column]] = {c: [] for c in self.columns}
        lines, n = [], 0
        for chunk in self.chunks():
            m = chunk.n_rows
            if block is not None and n + m > block.shape[1]:  # more rows than LFs: a file with lone-CR line ends
                for c, k in row_of.items():
                    pieces[c].append(Column(c, block[k, :n].copy(), False))
                block, row_of = None, {}
            if chunk.numbers is not None and block is not None and len(row_of) == len(numeric) == len(chunk.numbers):
                block[:, n:n + m] = chunk.numbers  # every numeric column at once
                for c in numeric:
                    del chunk.columns[c]
            for c, col in chunk.columns.items():
                k = row_of.get(c)
                if k is not None and not col.is_text:
                    block[k, n:n + m] = col.values  # type: ignore[index]
                    continue
                if k is not None:  # an auto column turned to text: its numbers so far become a piece
                    pieces[c].append(Column(c, block[k, :n].copy(), False))  # type: ignore[index]
                    del row_of[c]
                pieces[c].append(col)
            chunk.columns.clear()  # this chunk's numbers are in the block now
            lines.append(chunk.lines)
            n += m
        if not n:
            raise DataError("the file has a header but no data rows", file=self.name, line=2)
        cols = {}
        for c in self.columns:
            if c in row_of:
                cols[c] = Column(c, block[row_of[c], :n], False, self._n_numeric[c])  # type: ignore[index]
                continue
            parts = pieces.pop(c)  # pop: each column's chunks are freed once joined
            n_numeric = self._n_numeric[c]
            if any(p.is_text for p in parts) and not all(p.is_text for p in parts):
                # An auto column that turned to text after numeric chunks, whose cells count as numbers.
                # Their text is gone: it is rebuilt from the numbers ('007' comes back as '7'), and the
                # column is noted in `retexted`, so that a caller can read the file again with it
                # as text from the start (`select(auto_as_text=...)`).
                n_numeric += sum(int(np.count_nonzero(~np.isnan(p.values))) for p in parts if not p.is_text)
                values = np.concatenate([p.values if p.is_text else _numbers_as_text(p.values) for p in parts])
                self.retexted.add(c)
            else:
                values = np.concatenate([p.values for p in parts]) if len(parts) > 1 else parts[0].values
            cols[c] = Column(c, values, values.dtype.kind == "U", n_numeric, self._first_text.get(c))
        return Table(self.name, self.header, cols, np.concatenate(lines))

    def _rows_left(self) -> int | None:
        """At most how many rows are left: the lines of a regular, uncompressed file; else None."""
        try:
            if self._stdin or not stat.S_ISREG(os.stat(self._path).st_mode):
                return None
            total = 0
            with open(self._path, "rb") as f:
                if f.read(2) == b"\x1f\x8b":
                    return None
                f.seek(0)
                while data := f.read(1 << 22):
                    total += count_lines(data)
        except OSError:
            return None
        return max(total + 1 - self.line_no, 0)  # + 1: a last line without LF (lone-CR files: see read)

    # -- parsing --------------------------------------------------------------
    def _fast(self, lines: list[str], start: int) -> Table | None:
        """Parse a chunk of plain numbers with numpy; None if anything needs a closer look."""
        n_delims = len(self.header) - 1
        d = self.delimiter
        # Ragged or blank lines: the slow path reports or skips them. (A blank line has no
        # delimiter; map with methodcaller counts at C speed.)
        if n_delims:
            if list(map(methodcaller("count", d), lines)).count(n_delims) != len(lines):
                return None
        elif any(not s.strip() for s in lines):
            return None
        text = [c for c in self.columns if self._reads_text(c)]
        numeric = [c for c in self.columns if not self._reads_text(c)]
        cols: dict[str, Column] = {}
        try:
            if numeric:
                arr = np.loadtxt(lines, delimiter=d, dtype=self.dtype, comments=None,
                                 usecols=[self._idx[c] for c in numeric], ndmin=2)
                if not np.isfinite(arr).all():
                    return None  # NaN tokens (missing) or inf: the slow path sorts them out
                self.mark_missing(arr)
                for k, c in enumerate(numeric):
                    cols[c] = Column(c, np.ascontiguousarray(arr[:, k]), False)
            written = self._written(text)
            lines_arr = np.arange(start, start + len(lines), dtype=np.int64)
            if text or written:
                sarr = np.loadtxt(lines, delimiter=d, dtype=str, comments=None,
                                  usecols=[self._idx[c] for c in text + written], ndmin=2)
                for k, c in enumerate(text):
                    cols[c] = self._text_column(c, np.char.strip(sarr[:, k]), lines_arr)
        except ValueError:
            return None
        as_written = {c: np.char.strip(sarr[:, len(text) + k]) for k, c in enumerate(written)}
        return Table(self.name, self.header, cols, lines_arr, as_written=as_written)

    def mark_missing(self, numbers: np.ndarray) -> None:
        """NaN, in place, for every number that is one of the missing-value tokens (-999 in
        `--na-values`): by value, so '-999.0' is missing too, whichever path read the cell."""
        if self._na_numbers.size:
            numbers[np.isin(numbers, self._na_numbers)] = np.nan

    def _reads_text(self, name: str) -> bool:
        """Text columns, and auto columns that have already shown a text cell."""
        return name in self._text or name in self._first_text or name in self._auto_as_text

    def _written(self, text: Iterable[str]) -> list[str]:
        """The `as_written` columns that are read as numbers (a text column is as written anyway)."""
        return [c for c in self._as_written if c not in text]

    def _slow(self, lines: list[str], start: int) -> tuple[Table, DataError | None]:
        """Parse a chunk with the csv module, locating every problem exactly.

        Returns the good rows before the first problem, and the problem.
        """
        if any('"' in s for s in lines):
            self._slow_forever = True  # a quoted newline may cross a chunk boundary
            source: Iterator[str] = itertools.chain(lines, self._lines)
        else:
            source = iter(lines)
        reader = csv.reader(source, delimiter=self.delimiter, strict=True)
        n_fields = len(self.header)
        rows: list[list[str]] = []
        row_lines: list[int] = []
        error: DataError | None = None
        while reader.line_num < len(lines):
            line = start + reader.line_num
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                error = DataError(f"malformed CSV: {e}", file=self.name, line=line)
                break
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != n_fields:
                short = len(row) < n_fields  # point at the first missing field, or the first extra one
                error = DataError(
                    f"expected {n_fields} fields as in the header, found {len(row)}",
                    file=self.name, line=line, column=len(row) + 1 if short else n_fields + 1,
                    column_name=self.header[len(row)] if short else None,
                    hint="every row needs one value per header column (quote values that contain the delimiter)",
                )
                break
            rows.append(row)
            row_lines.append(line)
        lines_arr = np.asarray(row_lines, dtype=np.int64)
        if not rows:
            return Table(self.name, self.header, {}, lines_arr), error
        transposed = list(zip(*rows))
        cols: dict[str, Column] = {}
        good = len(rows)
        for c in self.columns:
            cells = transposed[self._idx[c]]
            col, bad = self._convert(c, cells, lines_arr)
            cols[c] = col
            if bad is not None and bad < good:
                good = bad
                error = self._bad_cell_error(c, cells[bad], int(lines_arr[bad]))
        written = {c: _strip(transposed[self._idx[c]][:good]) for c in self._written(self._text_now())}
        if good < len(rows):
            cols = {c: Column(c, col.values[:good], col.is_text, col.n_numeric, col.first_text)
                    for c, col in cols.items()}
            lines_arr = lines_arr[:good]
        return Table(self.name, self.header, cols, lines_arr, as_written=written), error

    def _convert(self, name: str, cells: Sequence[str], lines: np.ndarray) -> tuple[Column, int | None]:
        """Convert one column's cells; returns the column and the row of its first bad cell."""
        if self._reads_text(name):
            return self._text_column(name, _strip(cells), lines), None
        values = np.empty(len(cells), dtype=self.dtype)
        na = self._na
        for i, cell in enumerate(cells):
            s = cell.strip()
            if s in na:
                values[i] = np.nan
                continue
            v = cell_number(s)
            if v is None:
                if name in self._auto:
                    # Text in a column that may be categorical: read it as text from now on.
                    self._first_text[name] = (int(lines[i]), s)
                    return self._text_column(name, _strip(cells), lines), None
                return Column(name, values, False), i
            with np.errstate(over="ignore"):
                values[i] = v
            if not np.isfinite(values[i]) and v == v:
                return Column(name, values, False), i  # inf, or too large for the dtype
        self.mark_missing(values)
        return Column(name, values, False), None

    def _text_column(self, name: str, values: np.ndarray, lines: np.ndarray) -> Column:
        """Wrap a text column; for auto columns, count numeric cells (categorical or typo?)."""
        if name in self._auto:
            n_num = 0
            for i, s in enumerate(values.tolist()):
                if s in self._na:
                    continue
                if cell_number(s) is not None:
                    n_num += 1
                elif name not in self._first_text:
                    self._first_text[name] = (int(lines[i]), s)
            self._n_numeric[name] += n_num
        return Column(name, values, True, self._n_numeric[name], self._first_text.get(name))

    def _bad_cell_error(self, name: str, cell: str, line: int) -> DataError:
        s = cell.strip()
        j = self._idx[name] + 1
        number = cell_number(s)
        if number is not None:
            hint = "features must be finite numbers"
            if np.dtype(self.dtype) == np.float32 and math.isfinite(number):  # float64 holds it (not inf, 1e309)
                hint += " (try --dtype float64 for huge values)"
            return DataError(f"value {shorten(s)} is not a finite {np.dtype(self.dtype).name}",
                             file=self.name, line=line, column=j, column_name=name, hint=hint)
        hint = separator_hint(s) or "features must be numbers; empty and NA cells count as missing"
        return DataError(f"expected a number, found {shorten(s)}", file=self.name, line=line,
                         column=j, column_name=name, hint=hint)


_GROUPED = re.compile(r"[-+]?\d{1,3}([,_]\d{3})+(\.\d*)?")


def separator_hint(cell: str) -> str | None:
    """A hint for a number written with thousands separators (1,234 or 1_000), else None."""
    if _GROUPED.fullmatch(cell.strip()):
        return "thousands separators are not supported: write 1234.5, not 1,234.5"
    return None


def _strip(cells: Sequence[str]) -> np.ndarray:
    return np.asarray([c.strip() for c in cells], dtype=str) if cells else np.empty(0, dtype=str)


def _numbers_as_text(values: np.ndarray) -> np.ndarray:
    """Numbers back to text as they were most likely written: the shortest form in their dtype."""
    return np.asarray(["" if v != v else np.format_float_positional(v, unique=True, trim="-") for v in values],
                      dtype=str)


def read_table(path: str, columns: Sequence[str] | None = None, **options: object) -> Table:
    """Read a whole CSV file (see `TableReader` for the options)."""
    with TableReader(path, columns, **options) as reader:  # type: ignore[arg-type]
        return reader.read()
