"""Turning a chunk's cells into typed columns: `csv_io`'s reader paces the input (blocks of
bytes, lines, threads) and hands every chunk to a `ColumnParser`, which knows which columns are
read and how (numbers, text, auto: numbers until a text cell shows) and makes them a `Table`.

May import numpy, the standard library, `nncli.errors`, `nncli.csv_numbers`, `nncli.csv_source` and
`nncli.core.preprocessing` (what number a cell holds); never `nncli.csv_io`, typer or rich.

A plain block (whole lines, no quotes) has its numeric columns converted all at once by
`csv_numbers` (`convert_block`, on the reader's worker threads); other lines go through
`numpy.loadtxt` (`fast`) or Python's `csv` module (`slow`), which locates every problem as
FILE:LINE:COLUMN.
"""

from __future__ import annotations

import csv
import math
from operator import methodcaller
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from nncli.core.preprocessing import cell_number, is_text, numbers_among
from nncli.csv_numbers import block_cells, parse_block, text_array, too_wide
from nncli.csv_source import refuse_bad_names
from nncli.errors import DataError, composed, names_hint, one_column_hint, quoting_hint, shorten

# Plain blocks are converted in pieces of about this size (`ColumnParser.piece_bytes`): a block of
# `csv_io.BLOCK_BYTES` whole. Each NumPy operation on a piece releases the GIL only while it runs, and
# the two converting threads hand it to each other around every one: on 128 KB pieces most last
# 3-20 us, and the hand-offs (a context switch each, ~35 us of kernel time here) were a fifth of the
# reader's CPU time. Pieces of 512 KB took the reader through 2M rows x 11 columns in 1.06-1.08
# instead of 1.54-1.59 s (benchmarks/RESULTS.md, section AC); whole blocks of 1 MB took `predict` of
# 10M rows 0.92-0.96x the time of 512 KB pieces, where two more threads want the GIL (section AW).
# Their temporaries, ~14 bytes a byte of piece on each thread, are what `TableReader.read` saves on
# small tables.
PARSE_BYTES = 1 << 20
# Or of this much per column, if more: each piece costs some work for every column (20,000 columns
# of which 10,000 text, 100 rows: in pieces of 10 rows they took 12.8 s to read, in one piece 0.6-0.9 s).
PARSE_BYTES_PER_COLUMN = 256
# Larger than any sane cell, small enough that a runaway quote cannot eat memory.
csv.field_size_limit(16 * 1024 * 1024)
_SPACES = b" \t\f\v\x1c\x1d\x1e\x1f"  # the ASCII that str.strip removes, but LF (and CR: not in a plain block)
_SPACES_LINE = re.compile(rb"(?m)^[" + re.escape(_SPACES) + rb"]+\n")


def _has_blank_line(block: bytes) -> bool:
    """Whether a plain block may have a blank line: nothing before its LF but what `str.strip` removes.
    The csv module (`slow`) skips an empty one, and reads one of spaces as a row whose cell is missing.
    Only a one-column file needs looking: elsewhere a blank line has too few fields for the fast paths.
    (Non-ASCII blocks are left to `slow`, which knows Unicode's
    spaces; the regular expression takes 5 ms a MB: only where spaces are.)"""
    if block[:1] == b"\n" or b"\n\n" in block or not block.isascii():
        return True
    return any(c in block for c in _SPACES) and _SPACES_LINE.search(block) is not None


@dataclass
class Column:
    """One column as read: numbers (NaN where missing) or text (stripped strings)."""

    name: str
    values: np.ndarray  # float array, or for text a str array (an object array of str where too wide)
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

    def rows(self, which: slice | np.ndarray) -> "Table":
        """These rows (a slice, or a mask or indices) of the columns and line numbers, as a new Table."""
        return Table(self.source, self.header, {c: replace(col, values=col.values[which]) for c, col in self.columns.items()},
                     self.lines[which], as_written={c: v[which] for c, v in self.as_written.items()})


def _names_inside(cell: str, names: Sequence[str]) -> bool:
    """Whether any of these names is a piece of one header cell split at another delimiter (`sepal
    length;petal width` read at ','), or at spaces (`x1 x2`): the delimiter is the file's mistake."""
    wanted = set(names)
    return any(wanted & {p.strip() for p in cell.split(d)} for d in ",;\t|") or bool(wanted & set(cell.split()))


class ColumnParser:
    """The columns a `TableReader` reads and how, and the conversion of its chunks into tables.

    `name`, `header` and `delimiter` are the file's (as the reader found them); see `TableReader`
    for `na_values` and `dtype`, and `select` for the columns. State that reading builds up:
    `first_text` (auto columns that have shown text: the line and cell of the first),
    `n_numeric` (cells that parsed as numbers in columns read as text) and `retexted` (see
    `TableReader.read`).
    """

    def __init__(self, name: str, header: list[str], delimiter: str, dtype: type, na_values: Iterable[str],
                 header_line: int = 1, chosen: str | None = None):
        self.name, self.header, self.delimiter, self.dtype = name, header, delimiter, dtype
        self.chosen = chosen  # the delimiter given (--delimiter, a `sep=` line), or None: detected
        self.header_line = header_line  # 2 after a `sep=` line (see TableReader)
        self.na_values = frozenset(v.strip() for v in na_values)  # (cells are compared stripped, on every path)
        self._na_bytes = frozenset(v.encode("utf-8", "surrogateescape") for v in self.na_values)  # (--na-values $'\xff')
        self._na_numbers = numbers_among(self.na_values, dtype)  # e.g. --na-values -999: see `mark_missing`
        self._skip_unselected = False  # unselected columns hold text: blank them before converting
        self._as_written: list[str] = []
        self.piece_bytes = PARSE_BYTES

    def select(self, columns: Sequence[str] | None = None, *, text: Iterable[str] = (),
               auto: Iterable[str] = (), auto_as_text: Iterable[str] = ()) -> None:
        """Choose the columns to read and how (see `TableReader`); before reading rows.

        `auto_as_text`: auto columns to read as text from the first row, still counting their
        numbers: those that `read` found to turn to text after whole chunks of numbers (`retexted`).
        """
        wanted = list(self.header) if columns is None else list(dict.fromkeys(columns))  # (each once)
        position: dict[str, int] = {}  # a dict, not header.index: a file may have 100,000 columns
        for i, c in enumerate(self.header):
            position.setdefault(c, i)
        missing = [c for c in wanted if c not in position]
        if missing:
            wanted_set = set(wanted)  # (a set: a file may have 100,000 columns)
            if len(self.header) == 1 and _names_inside(self.header[0], missing):
                hint = one_column_hint(self.chosen)  # (`x1,x2,label` split at ';': the names are in it)
            else:
                hint = names_hint(missing, self.header, "the header has",
                                  candidates=[c for c in self.header if c not in wanted_set]) \
                    + quoting_hint(None, missing, self.header)
            error = DataError(
                f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(shorten(c, 40) for c in missing)}",
                file=self.name, line=self.header_line, hint=hint)
            error.missing = missing  # (for a caller that can say which option named them)
            raise error
        refuse_bad_names(self.header, wanted, self.name, self.delimiter, self.header_line)
        self.columns = wanted
        self._idx = {c: position[c] for c in wanted}
        self._text = {c for c in text if c in self._idx}
        self._auto = {c for c in auto if c in self._idx} - self._text
        self._auto_as_text = {c for c in auto_as_text if c in self._auto}
        self.n_numeric = {c: 0 for c in wanted}
        self.first_text: dict[str, tuple[int, str]] = {}
        self.retexted: set[str] = set()  # see `TableReader.read`

    def keep_as_written(self, names: Iterable[str]) -> None:
        """Hand out these selected numeric columns' cells as written too (`Table.as_written`)."""
        self._as_written = [c for c in dict.fromkeys(names) if c in self._idx and c not in self._text]

    def reads_text(self, name: str) -> bool:
        """Text columns, and auto columns that have already shown a text cell."""
        return name in self._text or name in self.first_text or name in self._auto_as_text

    def text_now(self) -> frozenset[str]:
        return frozenset(c for c in self.columns if self.reads_text(c))

    def _written(self, text: Iterable[str]) -> list[str]:
        """The `as_written` columns that are read as numbers (a text column is as written anyway)."""
        return [c for c in self._as_written if c not in text]

    def mark_missing(self, numbers: np.ndarray) -> None:
        """NaN, in place, for every number that is one of the missing-value tokens (-999 in
        `--na-values`): by value, so '-999.0' is missing too, whichever path read the cell."""
        if self._na_numbers.size:
            numbers[np.isin(numbers, self._na_numbers)] = np.nan

    # -- plain blocks ---------------------------------------------------------
    def convert_block(self, block: bytes, n: int, text: frozenset[str],
                      then: Callable[[np.ndarray, int], object] | None, first_row: int = 0,
                      ) -> tuple[frozenset[str], np.ndarray, list[np.ndarray], object] | None:
        """A plain block's selected columns: the numeric ones converted all at once (`csv_numbers`),
        as the rows of one array; the `text` ones cut out as written; then `then` of the numbers and
        `first_row` (see `TableReader.chunks`). None if it needs a closer look. Runs on the reader's
        worker threads."""
        ncols, d = len(self.header), self.delimiter
        if ncols == 1 and _has_blank_line(block):
            return None
        number_idx = [self._idx[c] for c in self.columns if c not in text]
        text_idx = [self._idx[c] for c in self.columns if c in text]
        unselected = sorted(set(range(ncols)) - set(self._idx.values()))
        # (The flag read once: another converting thread may set it while this block is parsed, and a
        # failed first parse must still be retried without the unselected columns.)
        skipping = self._skip_unselected
        skip = sorted(text_idx + unselected) if skipping else text_idx
        cut = text_idx + [self._idx[c] for c in self._written(text)]  # text columns, then as_written
        numbers = np.empty((len(number_idx), n), self.dtype)
        cells: list[list[np.ndarray]] = [[] for _ in cut]
        start = row = 0
        piece_bytes = max(self.piece_bytes, PARSE_BYTES_PER_COLUMN * ncols)
        while start < len(block):
            end = block.rfind(b"\n", start, start + piece_bytes) + 1 or block.find(b"\n", start) + 1
            piece = block[start:end]
            arr = parse_block(piece, ncols, d, self.dtype, skip, self._na_bytes)
            if arr is None and unselected and not skipping:
                skipping = self._skip_unselected = True  # say an ignored id column of text: never convert it
                skip = sorted(text_idx + unselected)
                arr = parse_block(piece, ncols, d, self.dtype, skip, self._na_bytes)
            if arr is None:
                return None
            numbers[:, row:row + len(arr)] = arr.T[number_idx]  # (arr.T: one contiguous row per column)
            for k, c in enumerate(block_cells(piece, ncols, d, cut) if cut else []):
                cells[k].append(c)
            start, row = end, row + len(arr)
        self.mark_missing(numbers)
        return text, numbers, [join_text(c) for c in cells], then(numbers, first_row) if then is not None else None

    def block_table(self, start: int, converted: tuple[frozenset[str], np.ndarray, list[np.ndarray], object] | None
                    ) -> Table | None:
        """The table of a block as `convert_block` converted it (its first line is `start`); None if
        it was not, or wrongly: an auto column may have shown text since the conversion started."""
        if converted is None or converted[0] != self.text_now():
            return None
        text, numbers, cells, derived = converted
        lines = np.arange(start, start + numbers.shape[1], dtype=np.int64)
        rows, texts = iter(numbers), iter(cells)
        cols = {c: self.text_column(c, next(texts), lines) if c in text else Column(c, next(rows), False)
                for c in self.columns}
        written = dict(zip(self._written(text), texts))
        return Table(self.name, self.header, cols, lines, numbers, derived, written)

    # -- lines ----------------------------------------------------------------
    def fast(self, lines: list[str], start: int) -> Table | None:
        """Parse a chunk of plain numbers with numpy; None if anything needs a closer look."""
        n_delims = len(self.header) - 1
        d = self.delimiter
        # Ragged or blank lines: the slow path reports or skips them. (A blank line has no
        # delimiter; map with methodcaller counts at C speed.)
        if list(map(methodcaller("count", d), lines)).count(n_delims) != len(lines):
            return None
        if not n_delims and not all(map(str.strip, lines)):
            return None
        text = [c for c in self.columns if self.reads_text(c)]
        if (text or self._as_written) and too_wide(max(map(len, lines), default=0), len(lines), sum(map(len, lines))):
            return None  # loadtxt's text cells would all be as wide as the longest: `slow` (`text_array`)
        numeric = [c for c in self.columns if not self.reads_text(c)]
        cols: dict[str, Column] = {}
        try:
            if numeric:
                # (max_rows: else loadtxt sets aside a buffer of 50,000 rows a column, whatever the lines:
                # 250 lines of 5,000 text columns took 1.9 GB and 5.9 s, against 43 MB and 0.19 s)
                arr = np.loadtxt(lines, delimiter=d, dtype=self.dtype, comments=None,
                                 usecols=[self._idx[c] for c in numeric], ndmin=2, max_rows=len(lines))
                if not np.isfinite(arr).all():
                    return None  # NaN tokens (missing) or inf: the slow path sorts them out
                self.mark_missing(arr)
                for k, c in enumerate(numeric):
                    cols[c] = Column(c, np.ascontiguousarray(arr[:, k]), False)
            written = self._written(text)
            lines_arr = np.arange(start, start + len(lines), dtype=np.int64)
            if text or written:
                sarr = np.loadtxt(lines, delimiter=d, dtype=str, comments=None,
                                  usecols=[self._idx[c] for c in text + written], ndmin=2, max_rows=len(lines))
                for k, c in enumerate(text):
                    cols[c] = self.text_column(c, np.char.strip(sarr[:, k]), lines_arr)
        except ValueError:
            return None
        as_written = {c: np.char.strip(sarr[:, len(text) + k]) for k, c in enumerate(written)}
        return Table(self.name, self.header, cols, lines_arr, as_written=as_written)

    def slow(self, source: Iterator[str], n_lines: int, start: int) -> tuple[Table, DataError | None]:
        """Parse a chunk of `n_lines` lines with the csv module, locating every problem exactly.

        `source` yields the chunk's lines, then perhaps the file's lines after it (which a quoted
        newline may reach into). Returns the good rows before the first problem, and the problem.
        """
        reader = csv.reader(source, delimiter=self.delimiter, strict=True)
        n_fields = len(self.header)
        rows: list[list[str]] = []
        row_lines: list[int] = []
        error: DataError | None = None
        while reader.line_num < n_lines:
            line = start + reader.line_num
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                error = _malformed(e, self.name, line)
                break
            except DataError as e:  # the file's, when a quoted field reached a line it cannot read
                error = e
                break
            if not row or (len(row) == 1 and not row[0].strip() and n_fields > 1):
                # A blank line. In a one-column file only an empty one: `""` or a line of spaces is a row
                # whose cell is missing (csv.writer writes a cell of a space unquoted; dropping its row
                # left `predict` a row short, its predictions out of line with the file's rows).
                continue
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
        written = {c: _strip(transposed[self._idx[c]][:good]) for c in self._written(self.text_now())}
        if good < len(rows):
            cols = {c: Column(c, col.values[:good], col.is_text, col.n_numeric, col.first_text)
                    for c, col in cols.items()}
            lines_arr = lines_arr[:good]
        return Table(self.name, self.header, cols, lines_arr, as_written=written), error

    def _convert(self, name: str, cells: Sequence[str], lines: np.ndarray) -> tuple[Column, int | None]:
        """Convert one column's cells; returns the column and the row of its first bad cell."""
        if self.reads_text(name):
            return self.text_column(name, _strip(cells), lines), None
        values = np.zeros(len(cells), dtype=self.dtype)
        na = self.na_values
        bad = None
        for i, cell in enumerate(cells):
            s = cell.strip()
            if s in na:
                values[i] = np.nan
                continue
            v = cell_number(s)
            if (v is None or v != v) and name in self._auto:
                # Text in a column that may be categorical (a NaN that is not a missing-value token is
                # text too: 'Nan' may be a name): read it as text from now on.
                self.first_text[name] = (int(lines[i]), s)
                return self.text_column(name, _strip(cells), lines), None
            if v is None:
                bad = i
                break
            with np.errstate(over="ignore"):
                values[i] = v
            if not np.isfinite(values[i]):
                bad = i  # inf, too large for the dtype, or a NaN not in na
                break
        self.mark_missing(values)  # (the rows before a bad cell are used: -999.0 is missing there too)
        return Column(name, values, False), bad

    def text_column(self, name: str, values: np.ndarray, lines: np.ndarray) -> Column:
        """Wrap a text column; for auto columns, count numeric cells (categorical or typo?)."""
        if name in self._auto:
            n_num = 0
            for i, s in enumerate(values.tolist()):
                if s in self.na_values:
                    continue
                v = cell_number(s)
                if v is not None and v == v:
                    n_num += 1
                elif name not in self.first_text:
                    self.first_text[name] = (int(lines[i]), s)
            self.n_numeric[name] += n_num
        return Column(name, values, True, self.n_numeric[name], self.first_text.get(name))

    def joined(self, name: str, parts: list[Column]) -> Column:
        """One column of a whole table (`TableReader.read`) from its chunks' pieces."""
        n_numeric = self.n_numeric[name]
        if any(p.is_text for p in parts) and not all(p.is_text for p in parts):
            # An auto column that turned to text after numeric chunks, whose cells count as numbers.
            # Their text is gone: it is rebuilt from the numbers ('007' comes back as '7'), and the
            # column is noted in `retexted`, so that a caller can read the file again with it
            # as text from the start (`select(auto_as_text=...)`).
            n_numeric += sum(int(np.count_nonzero(~np.isnan(p.values))) for p in parts if not p.is_text)
            values = join_text([p.values if p.is_text else _numbers_as_text(p.values) for p in parts])
            self.retexted.add(name)
        elif parts[0].is_text:
            values = join_text([p.values for p in parts])
        else:
            values = np.concatenate([p.values for p in parts]) if len(parts) > 1 else parts[0].values
        return Column(name, values, is_text(values), n_numeric, self.first_text.get(name))

    def _bad_cell_error(self, name: str, cell: str, line: int) -> DataError:
        s = cell.strip()
        j = self._idx[name] + 1
        number = cell_number(s)
        if number is not None and math.isnan(number):  # 'NAN', or 'nan' where --na-values leaves it out
            return DataError(f"expected a number, found {shorten(s)} (not a missing-value token)", file=self.name,
                             line=line, column=j, column_name=name, hint=nan_hint(s, self.na_values))
        if number is not None:
            hint = "features must be finite numbers"
            if np.dtype(self.dtype) == np.float32 and math.isfinite(number):  # float64 holds it (not inf, 1e309)
                hint += " (nncli fit --dtype float64 takes huge values)"  # (the right advice in predict too)
            return DataError(f"value {shorten(s)} is not a finite {np.dtype(self.dtype).name}",
                             file=self.name, line=line, column=j, column_name=name, hint=hint)
        hint = cell_hints(self.na_values)(s, name) or \
            f"features must be numbers; missing cells are {missing_tokens(self.na_values)}"
        return DataError(f"expected a number, found {shorten(s)}", file=self.name, line=line,
                         column=j, column_name=name, hint=hint)


_GROUPED = re.compile(r"[-+]?[1-9]\d{0,2}([,_]\d{3})+(\.\d*)?")
_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+([eE][-+]?\d+)?")


def _malformed(e: csv.Error, name: str, line: int) -> DataError:
    """The csv module's complaint about a quote, as a DataError in the user's terms."""
    text = str(e)
    if "unexpected end of data" in text:  # a quoted field that runs to the end of the file
        return DataError("a quoted field opens on this line and is never closed", file=name, line=line,
                         hint='a stray " in a cell? quotes must enclose a whole field')
    if "expected after" in text:  # '"0.2"x'
        return DataError(f"malformed CSV: {text}", file=name, line=line,
                         hint='a quoted field must end at a delimiter: "a,b",c not "a,b"c')
    return DataError(f"malformed CSV: {text}", file=name, line=line)


def missing_tokens(na_values: Iterable[str]) -> str:
    """The cells that count as missing, for a hint: 'empty ones and NA, ?' (hints name what a
    model or fit really uses, which --na-values may have changed)."""
    tokens = sorted((t for t in na_values if t), key=lambda t: (t.lower(), t))
    return "empty ones" + (" and " + ", ".join(tokens) if tokens else " only")


# Cells that other programs write for a missing value (the defaults of pandas and R among them)
MISSING_LIKE = frozenset({"none", "null", "na", "n/a", "nan", "-", "--", "#n/a", "missing", "nil", "."})


def nan_hint(cell: str, na_values: Iterable[str]) -> str | None:
    """A hint for a NaN that is not one of the missing-value tokens ('NAN'), or another program's
    word for a missing cell ('None', 'NULL', '#N/A'), else None."""
    s = cell.strip()
    number = cell_number(s)
    if (number is not None and math.isnan(number)) or s.lower() in MISSING_LIKE:
        return (f"missing cells are {missing_tokens(na_values)} (nncli fit --na-values sets them, replacing the "
                "defaults; a model keeps those it was trained with)")
    return None


def separator_hint(cell: str) -> str | None:
    """A hint for a number written with thousands separators (1,234 or 1_000) or a decimal comma
    (0,5), else None."""
    if _GROUPED.fullmatch(cell.strip()):
        return THOUSANDS_HINT
    if _DECIMAL_COMMA.fullmatch(cell.strip()):
        return DECIMAL_COMMA_HINT
    return None


def header_hint(cell: str, name: str) -> str | None:
    """A hint for a cell that is its column's name (composed, as names are, and without the byte-order
    mark a file joined after another begins with): a header row again, else None."""
    if composed(cell.strip().removeprefix("\ufeff")) == name:
        return "this line repeats the header: files joined with cat? (tail -n +2 FILE leaves a file's header out)"
    return None


def cell_hints(na_values: Iterable[str]) -> Callable[[str, str], str | None]:
    """The hint for a cell that is no number (or no known label), if it is one written with a comma,
    another program's word for a missing cell or its column's name: (cell, column name) -> hint or
    None (`preprocessing.CellHint`)."""
    return lambda cell, name: separator_hint(cell) or nan_hint(cell, na_values) or header_hint(cell, name)


def header_row(table: Table, names: Sequence[str]) -> int | None:
    """The first row of these columns that is the header again (two files joined with cat), where
    they are all text (in a numeric column it is a bad cell, whose error says so); None if none."""
    columns = [table.columns[c] for c in names]
    if not table.n_rows or not columns or not all(col.is_text for col in columns):
        return None
    again = np.ones(table.n_rows, bool)
    first = table.header[0]
    for c, col in zip(names, columns):
        # (written decomposed, or after the byte-order mark of a second file joined with cat)
        spellings = {c, unicodedata.normalize("NFD", c)}
        if c == first:
            spellings |= {"\ufeff" + w for w in spellings}
        again &= np.isin(col.values, list(spellings))
    return int(np.argmax(again)) if again.any() else None


def header_row_error(table: Table, row: int, names: Sequence[str]) -> DataError:
    return DataError("the header again, as a row of data", file=table.source, line=int(table.lines[row]),
                     hint=header_hint(names[0], names[0]))


def refuse_header_rows(table: Table, names: Sequence[str]) -> None:
    """An error at the first row of these columns that is the header again (see `header_row`): it
    would be read as a row, its target a class named after the column."""
    row = header_row(table, names)
    if row is not None:
        raise header_row_error(table, row, names)


THOUSANDS_HINT = "thousands separators are not supported: write 1234.5, not 1,234.5"
DECIMAL_COMMA_HINT = "nncli reads '.' as the decimal point: write 0.5, not 0,5"


def _strip(cells: Sequence[str]) -> np.ndarray:
    return text_array([c.strip() for c in cells])


def join_text(parts: list[np.ndarray]) -> np.ndarray:
    """A text column's pieces (`text_array`s) as one: a str array as wide as the widest piece, or
    an object array where that is too wide."""
    if len(parts) == 1:
        return parts[0]
    n = sum(map(len, parts))
    if all(p.dtype.kind == "U" for p in parts):
        widths = [p.dtype.itemsize // 4 for p in parts]
        if not too_wide(max(widths), n, sum(w * len(p) for w, p in zip(widths, parts))):
            return np.concatenate(parts)
    return np.concatenate([p.astype(object) for p in parts])


def _numbers_as_text(values: np.ndarray) -> np.ndarray:
    """Numbers back to text as they were most likely written: the shortest form in their dtype."""
    return np.asarray(["" if v != v else np.format_float_positional(v, unique=True, trim="-") for v in values],
                      dtype=str)
