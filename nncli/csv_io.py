"""Reading tables: with `csv_write`, the only CSV code in nncli. This module paces the input
(blocks of bytes, lines, the converting threads); `csv_columns` turns each chunk's cells into
typed columns (`ColumnParser`, which a reader holds as `TableReader.parser`).

May import numpy, the standard library, `nncli.errors`, `nncli.csv_source` (opening the file, the
header), `nncli.csv_columns`, `nncli.csv_numbers`, `nncli.allocator`, `nncli.stop_signals` (a stop between chunks),
`nncli.core.team` (its GIL setting for threads) and (in `TableReader.read`) `nncli.csv_arrow`; never typer
or rich.

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
import io
import itertools
import os
import re
import stat
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

import numpy as np

from nncli import csv_columns, stop_signals
from nncli.allocator import keep_freed_memory
from nncli.csv_columns import Column, ColumnParser, Table
from nncli.csv_source import (READ_ERRORS, LineLimit, Lines, Prepend, as_text, detect_delimiter, display_name,
                               line_error, open_binary, parse_header, read_error)
from nncli.csv_numbers import count_lines, unquoted
from nncli.errors import DataError

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

# Excel's first line `sep=;` says which delimiter the file uses: one character, not a quote, letter or digit
# (as --delimiter).
_SEP_LINE = re.compile(r'sep=([^"\r\n\w])', re.IGNORECASE | re.ASCII)
DEFAULT_NA_VALUES = ("", "NA", "N/A", "null", "NaN", "nan", "?")
CHUNK_ROWS = 16384
CHUNK_CELLS = 1 << 20  # wide files get fewer rows per chunk: parsing temporaries stay ~4 MB
BLOCK_BYTES = 1 << 20  # plain files are read in blocks of about this size (at most chunk_rows lines)
# `read` holds the whole table beside the blocks in flight and their conversion's temporaries, which
# grow with the blocks and their pieces (`csv_columns.PARSE_BYTES`). A table of numbers smaller than
# this is read in blocks half as big and pieces of 128 KB: 100,000 x 51 numbers then peak at 1.41x
# their float32 array instead of 2.08x (with 1 MB blocks in 512 KB pieces), and take 0.38 s instead of 0.23.
SMALL_TABLE_BYTES = 128 << 20
# A line with no line end in this much is refused (a minified JSON file given by mistake, or
# /dev/zero), where reading it whole would take any amount of memory first (`csv_source.LineLimit`).
LINE_MAX_BYTES = 64 << 20
BLOCK_BYTES_PER_COLUMN = 256  # or of this much per column, if more (see TableReader.__init__)
PARSE_THREADS = min(2, os.cpu_count() or 1)  # threads converting blocks of numbers


def _is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


_LF_LF = 0x0A0A  # two LFs, read as one 16-bit number


def _blank_lines(block: bytes) -> int:
    """Empty lines in a block of whole LF-ended lines: they hold no row, so the rows after one come a
    place earlier than their lines."""
    # Two LFs in a row, looked for as 16-bit numbers at even offsets and at odd ones: 0.12 ms a MB,
    # with the GIL free, against 1.1 ms holding it for `b"\n\n" in block` (LFs are too frequent for
    # its skips), while the converting threads wait for the GIL.
    if not block:
        return 0  # (NumPy refuses the odd offset of an empty buffer)
    if not block.startswith(b"\n") and not any((np.frombuffer(block, "<u2", (len(block) - offset) // 2, offset)
                                                 == _LF_LF).any() for offset in (0, 1)):
        return 0
    ends = np.frombuffer(block, np.uint8) == 10
    return int(ends[0]) + int(np.count_nonzero(ends[1:] & ends[:-1]))


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
    chunk_rows : at most this many rows a chunk (the reader takes fewer for a wide file).
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
        self.path = path
        self.dtype = dtype
        self._stdin = path == "-"
        # Rows typed at a terminal are read as they come (one read each, not 1 MB), each a chunk of its
        # own, none read ahead: `predict` answers each row as it is typed (it answered them all at Ctrl-D).
        self._typed = self._stdin and _is_terminal(0)
        keep_freed_memory()  # the block-wise parser's temporaries would page-fault otherwise
        self._raw = open_binary(path)
        try:
            self._start(columns, text, auto, as_written, na_values, delimiter, dtype, chunk_rows)
        except BaseException:  # (a bad header, a missing column, NUL bytes: the file is not left open)
            self.close()
            raise

    def _start(self, columns: Sequence[str] | None, text: Iterable[str], auto: Iterable[str],
               as_written: Iterable[str], na_values: Iterable[str], delimiter: str | None, dtype: type,
               chunk_rows: int | None) -> None:
        """The rest of `__init__`, once the file is open: the header, the parser, the columns."""
        self._source = LineLimit(self._raw, LINE_MAX_BYTES)  # what both byte and line mode read
        self._lines: Lines | None = None  # set when reading line by line (see `_to_lines`)
        self._pending = b""  # bytes read ahead, not yet handed out (byte mode)
        self._eof = False
        self._odd = False  # a block that is not plain was put back: switch to lines
        self._line_no = 0
        self._rows_ahead = 0  # rows in the plain blocks queued so far (see `_read_ahead`)
        first = self._first_line()
        declared = _SEP_LINE.fullmatch(first[0].rstrip("\r\n ")) if first else None  # (`sep=\t`: no strip)
        if declared:  # a spreadsheet's `sep=;` line: the delimiter, then the header
            delimiter = delimiter or declared.group(1)
            first = self._lines.take(1) if self._lines is not None else self._first_line(self._pending, 2)
        self.header_line = 1 + bool(declared)  # (the line header errors name)
        if not first or not first[0].strip():
            raise DataError("the file is empty (expected a header row)" if not first else
                            "expected a header row, found a blank line", file=self.name, line=self.header_line,
                            hint="standard input held nothing (DATA '-', or predict's DATA left out, reads it): "
                                 "pipe the rows in, or name a file" if self._stdin and not first else None)
        self.delimiter = delimiter or detect_delimiter(first[0])
        self.header = parse_header(first[0], self.name, self.delimiter, self.header_line)
        self.chunk_rows = min(chunk_rows or CHUNK_ROWS, max(256, min(CHUNK_ROWS, CHUNK_CELLS // len(self.header))))
        # A block of a wide file holds a few dozen lines at least: each block costs a little for every
        # column (20,000 columns: 10.5 -> 3.0 s for `fit` on 400 rows, 55 MB).
        self._block_bytes = self._at_least_per_column(BLOCK_BYTES)
        if self._typed:
            self.chunk_rows, self._block_bytes = 1, 1
        self.parser = ColumnParser(self.name, self.header, self.delimiter, dtype, na_values, self.header_line,
                                   chosen=delimiter)
        self._slow_forever = False
        self.select(columns, text=text, auto=auto)
        self.parser.keep_as_written(as_written)

    def select(self, columns: Sequence[str] | None = None, *, text: Iterable[str] = (),
               auto: Iterable[str] = (), auto_as_text: Iterable[str] = ()) -> None:
        """Choose the columns to read and how (see the class docstring); before reading rows.

        `auto_as_text`: auto columns to read as text from the first row, still counting their
        numbers: those that `read` found to turn to text after whole chunks of numbers (`retexted`).
        """
        try:
            self.parser.select(columns, text=text, auto=auto, auto_as_text=auto_as_text)
        except DataError:  # a missing column
            self.close()
            raise

    def _at_least_per_column(self, block_bytes: int) -> int:
        return max(block_bytes, BLOCK_BYTES_PER_COLUMN * len(self.header))

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

    @property
    def columns(self) -> list[str]:
        """The selected columns, in the order asked for."""
        return self.parser.columns

    @property
    def retexted(self) -> set[str]:
        """Auto columns that `read` found to turn to text after whole chunks of numbers."""
        return self.parser.retexted

    # -- taking lines ---------------------------------------------------------
    # Plain files are read in blocks of bytes ("byte mode"): a block of whole lines
    # with no quote, CR or NUL byte and valid UTF-8 has one record per line, and a
    # block of plain numbers converts in one go (`csv_numbers`). The first block
    # with anything else switches to reading decoded text line by line for the rest
    # of the file (`_to_lines`), where quoted newlines and odd line endings are
    # handled and undecodable bytes are located.
    def _read_raw(self, n: int) -> bytes:
        try:
            return self._source.read1(n) if self._typed else self._source.read(n)
        except READ_ERRORS as e:
            raise read_error(e, self.name) from None

    def _to_lines(self, pending: bytes, encoding: str = "utf-8") -> Lines:
        f = as_text(io.BufferedReader(Prepend(pending, self._source)), encoding)  # type: ignore[arg-type]
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

    def _first_line(self, start: bytes = b"", line: int = 1) -> list[str]:
        """The header line (line `line`, its bytes beginning with `start`), as a list of one string,
        or of none at the end of the file."""
        # Read until the header's line end (a lone CR may end it too), a NUL or LINE_MAX_BYTES.
        parts = [start]
        while not any(b in parts[-1] for b in (b"\n", b"\r", b"\0")):
            parts.append(self._read_raw(BLOCK_BYTES))
            if not parts[-1]:
                break
        head = b"".join(parts)
        end = head.find(b"\n")
        if end < 0 and b"\r" not in head:
            nul = head.find(b"\0")
            if nul >= 0:
                error = line_error(head[:max(nul + 1, 64)].decode("utf-8", "surrogateescape"), line, self.name)
                assert error is not None  # (a NUL is one)
                raise error
            if self._source.too_long:
                raise DataError(f"the first line is longer than {LINE_MAX_BYTES / 2**20:g} MB, with no line end: "
                                "no CSV header", file=self.name, line=line,
                                hint="nncli reads CSV text files, a header row first")
        header = head[:end].removesuffix(b"\r")  # (CRLF line ends: see `_read_ahead`)
        # (Quoted names are for `parse_header`, as long as none holds a line break.)
        if end < 0 or header.count(b'"') % 2 or not self._plain(header.replace(b'"', b"")):
            self._line_no = line - 1
            return self._to_lines(head, "utf-8-sig").take(1)
        self._pending = head[end + 1:]
        self._line_no = line
        return [header.decode("utf-8").removeprefix("\ufeff")]

    def _next_block(self) -> tuple[bytes, int]:
        """The next whole lines (each ending with LF), at most about `_block_bytes` and `chunk_rows`
        lines, and how many lines."""
        parts = [self._pending]
        size = len(self._pending)
        while not self._eof and (size < self._block_bytes or b"\n" not in parts[-1]):
            data = self._read_raw(self._block_bytes)
            if not data:
                self._eof = True
            parts.append(data)
            size += len(data)
        buf = b"".join(parts)
        if self._source.too_long:  # the lines before the one with no end; `_end` refuses that one
            buf = buf[:max(buf.rfind(b"\n"), buf.rfind(b"\r")) + 1]
        cut = len(buf) if self._eof else buf.rfind(b"\n", 0, max(self._block_bytes, buf.find(b"\n") + 1)) + 1
        n = count_lines(memoryview(buf)[:cut])  # (counting: a third of the time of finding them all)
        unended = int(self._eof and cut > 0 and buf[cut - 1] != ord("\n"))  # a last line without LF
        if n + unended > self.chunk_rows:  # (then n >= chunk_rows: the cut falls on a line end)
            ends = np.flatnonzero(np.frombuffer(buf, np.uint8, cut) == ord("\n"))
            cut, n = int(ends[self.chunk_rows - 1]) + 1, self.chunk_rows
        block, self._pending = buf[:cut], buf[cut:]
        if block and not block.endswith(b"\n"):
            block += b"\n"  # no newline at the end of the file
            n += unended
        return block, n

    def __enter__(self) -> "TableReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chunks(self, then: Callable[[np.ndarray, int], object] | None = None) -> Iterator[Table]:
        """Yield the rows as tables of at most `chunk_rows` rows.

        On a bad row or cell, the good rows before it are yielded first, then
        the DataError is raised: a streaming consumer has handled exactly the
        rows before the bad line.

        `then(numbers, first_row)`, if given, runs on the converting thread as
        soon as a block's numbers are converted (`Table.numbers`): in parallel
        with the other blocks, while the numbers are in cache. `first_row` is the
        number of the block's first row among the file's rows (0 for the first
        after the header), as far as the lines tell (the caller checks it against
        the rows it has seen). Its result is the chunk's
        `Table.derived`; chunks read another way have None there. It must be
        safe to run on several threads at once.
        """
        from concurrent.futures import ThreadPoolExecutor

        from nncli.core.team import quick_gil_handoff

        quick_gil_handoff()
        # Plain blocks are converted ahead, on worker threads (NumPy releases the GIL), while
        # this thread reads the file and the caller works on the previous chunk. Anything that
        # depends on earlier rows (text columns, error reports) is done here, in order.
        ahead: collections.deque[tuple[int, bytes, Future]] = collections.deque()
        pool, wait = ThreadPoolExecutor(PARSE_THREADS), True
        try:
            while True:
                while self._lines is None and not self._odd and len(ahead) <= (0 if self._typed else PARSE_THREADS):
                    if not self._read_ahead(ahead, pool, then):
                        break
                if ahead:
                    table, error = self._block_table(*ahead.popleft())
                elif self._odd:  # the first block that is not plain: line by line from here on
                    self._odd = False
                    self._to_lines(self._pending)
                    continue
                elif self._lines is None:
                    self._end()
                    return
                else:
                    start = self.line_no + 1
                    lines = self._lines.take(self.chunk_rows)
                    if self._source.too_long and lines and not lines[-1].endswith(("\n", "\r")):
                        lines.pop()  # the start of a line with no end, cut short by `_source`
                        self._lines.line_no -= 1
                    if not lines:
                        self._end()
                        return
                    table = None
                    if not self._slow_forever and '"' not in "".join(lines):
                        table = self.parser.fast(lines, start)
                    error = None
                    if table is None:
                        table, error = self._slow(lines, start)
                # (a stop whose exception NumPy swallowed: its text-to-number cast on this thread runs the
                # handler and drops what it raised; stopped here, a chunk at most late)
                stop_signals.reraise_if_lost()
                if table.n_rows:
                    yield table
                if error is not None:
                    raise error
        except BaseException:  # (GeneratorExit included: the consumer stopped early, or was stopped)
            # Not waiting for the blocks still being converted: this generator is closed while a
            # stopped command unwinds, where a second Ctrl-C raised in the wait could only be printed
            # as "Exception ignored in ..." with a traceback. The threads are joined at exit.
            wait = False
            raise
        finally:
            for _, _, job in ahead:
                job.cancel()
            pool.shutdown(wait=wait)

    def _end(self) -> None:
        """At the end of what was read: refuse a line that went on past LINE_MAX_BYTES with no end."""
        if self._source.too_long:
            raise DataError(f"a line longer than {LINE_MAX_BYTES / 2**20:g} MB (no line end in its first "
                            f"{LINE_MAX_BYTES / 2**20:g} MB)", file=self.name,
                            line=self.line_no + 1, hint="nncli reads CSV text files, one row per line")

    def _read_ahead(self, ahead: "collections.deque", pool: "ThreadPoolExecutor",
                    then: Callable[[np.ndarray, int], object] | None) -> bool:
        """Queue the next plain block, its conversion started on `pool`; False at the end or an odd block."""
        block, n = self._next_block()
        if not block:
            return False
        # CRLF line ends (Windows) read as LF: the same lines, and a CR anywhere else (a lone one ends
        # a line for the csv module) stays, so the block is not plain. (~1.6 ms a MB, against ~25 ms
        # a MB for reading it line by line.)
        lf = block.replace(b"\r\n", b"\n") if b"\r" in block else block
        if b'"' in lf:  # simply quoted fields read without their quotes (`csv_numbers.unquoted`)
            plain = unquoted(lf, self.delimiter)
            lf = lf if plain is None else plain
        if not self._plain(lf):
            self._pending = block + self._pending  # read again, line by line, once `ahead` is empty
            self._odd = True
            return False
        block = lf
        start = self._line_no + 1
        self._line_no += n
        first_row = self._rows_ahead
        self._rows_ahead += n - _blank_lines(block)
        parser = self.parser
        ahead.append((start, block, pool.submit(parser.convert_block, block, n, parser.text_now(), then, first_row)))
        return True

    def _block_table(self, start: int, block: bytes, job: "Future") -> tuple[Table, DataError | None]:
        """The table of a plain block: as converted by `job`, else through loadtxt or the csv module."""
        table = self.parser.block_table(start, job.result())
        if table is not None:
            return table, None
        lines = block.decode("utf-8").split("\n")
        lines.pop()  # after the last LF
        table = self.parser.fast(lines, start)
        return (table, None) if table is not None else self._slow(lines, start)

    def _slow(self, lines: list[str], start: int) -> tuple[Table, DataError | None]:
        """The csv module's reading of a chunk (`ColumnParser.slow`): the good rows before the first
        problem, and the problem."""
        if any('"' in s for s in lines):
            self._slow_forever = True  # a quoted newline may cross a chunk boundary
            return self.parser.slow(itertools.chain(lines, self._lines), len(lines), start)
        return self.parser.slow(iter(lines), len(lines), start)

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
        parser = self.parser
        cap = self.rows_left()
        numeric = [c for c in self.columns if not parser.reads_text(c)]
        block = np.empty((len(numeric), cap), self.dtype) if cap is not None and numeric else None
        if block is None or block.nbytes < SMALL_TABLE_BYTES:  # (stdin: no size, perhaps small)
            self._block_bytes = self._at_least_per_column(BLOCK_BYTES // 2)
            parser.piece_bytes = max(1, csv_columns.PARSE_BYTES // 8)
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
                    if n:  # (none when text came in the first chunk: an empty piece made the file be read twice)
                        pieces[c].append(Column(c, block[k, :n].copy(), False))  # type: ignore[index]
                    del row_of[c]
                pieces[c].append(col)
            chunk.columns.clear()  # this chunk's numbers are in the block now
            lines.append(chunk.lines)
            n += m
        if not n:
            raise DataError("the file has a header but no data rows", file=self.name, line=self.header_line + 1)
        cols = {}
        for c in self.columns:
            if c in row_of:
                cols[c] = Column(c, block[row_of[c], :n], False, parser.n_numeric[c])  # type: ignore[index]
            else:
                cols[c] = parser.joined(c, pieces.pop(c))  # pop: each column's chunks are freed once joined
        return Table(self.name, self.header, cols, np.concatenate(lines))

    def rows_left(self) -> int | None:
        """At most how many rows are left: the lines of a regular, uncompressed file; else None."""
        try:
            if self._stdin or not stat.S_ISREG(os.stat(self.path).st_mode):
                return None
            total = 0
            with open(self.path, "rb") as f:
                if f.read(2) == b"\x1f\x8b":
                    return None
                f.seek(0)
                while data := f.read(1 << 22):
                    total += count_lines(data)
        except OSError:
            return None
        return max(total + 1 - self.line_no, 0)  # + 1: a last line without LF (lone-CR files: see read)


def read_table(path: str, columns: Sequence[str] | None = None, **options: object) -> Table:
    """Read a whole CSV file (see `TableReader` for the options)."""
    with TableReader(path, columns, **options) as reader:  # type: ignore[arg-type]
        return reader.read()
