"""Reading a whole table through pyarrow's CSV parser: the `fast` extra, used by `csv_io`'s
`TableReader.read` when pyarrow is installed and the file is plain.

May import numpy, the standard library, pyarrow (only inside `read_with_arrow`), `nncli.csv_io`,
`nncli.csv_columns` (text columns), `nncli.core.preprocessing`, `nncli.allocator` and `nncli.options`
(`env_flag`); never typer or rich. Of the reader it uses the public side: `TableReader.path`, `rows_left` and `parser` (its
`csv_columns.ColumnParser`).

The result is exactly what nncli's own reader gives (tests/test_csv_arrow.py compares the two on
many kinds of odd file); a file that pyarrow would read differently, or that has any problem to
report as FILE:LINE:COLUMN, is left to nncli's reader (`read_with_arrow` returns None).
`NNCLI_NO_ARROW=1` switches this path off.
"""

from __future__ import annotations

import math
import os
import stat

import numpy as np

from nncli.allocator import release_free_memory
from nncli.core.preprocessing import cell_number
from nncli.csv_columns import join_text, text_array
from nncli.csv_io import Column, Table, TableReader
from nncli.options import env_flag

# Below this size pyarrow's import costs more than it saves.
ARROW_MIN_BYTES = 4 << 20
ARROW_SLAB_BYTES = 8 << 20  # pyarrow parses files this much at a time (see read_with_arrow)
# Wider files are left to nncli's reader: Arrow's costs per column overtake its speed per cell
# (reading 55 MB: 800 columns 0.51 s against 0.78; 2,000 columns 1.0 s against 0.84; 20,000
# columns 2.6 s against 0.9).
ARROW_MAX_COLUMNS = 1024


def _plain_bytes(data: bytearray) -> bool:
    """Whole lines that follow a line end, with no quote, NUL or non-ASCII byte (blank lines:
    see `read_with_arrow`)."""
    return not (b'"' in data or b"\0" in data or data[:1] in (b"\n", b"\r") or not data.isascii())


# Where a blank line is (Arrow reads it as a row of missing cells): a line end right after another.
# A CR ends a line by itself too, in Arrow as in nncli's reader ('1,2\r\r\n', '1,2\n\r3,4').
_BLANK_LINES = (b"\n\n", b"\n\r", b"\r\r")


def _lone_cr(data: bytes) -> bool:
    """Whether a CR ends a line by itself: Arrow and nncli's reader do, Python's `readline` does not."""
    return data.count(b"\r") != data.count(b"\r\n")


def _finite_number(cell: str) -> bool:
    """Whether a missing-value token is a number, say -999: Arrow reads it as one, and
    `ColumnParser.mark_missing` makes it missing afterwards, as on every other path."""
    number = cell_number(cell)
    return number is not None and math.isfinite(number)


def read_with_arrow(reader: TableReader) -> Table | None:
    """The whole table through pyarrow's CSV reader when it is installed and the file is plain.

    Plain: a regular, uncompressed file of at least ARROW_MIN_BYTES, of 2 to
    ARROW_MAX_COLUMNS columns, with one record per line (`_plain_bytes`), and every
    cell of a numeric column a finite number or a missing-value token (NaN, as
    the other paths give). Anything
    else, or any doubt, returns None and the caller takes the usual path, which
    locates every problem as FILE:LINE:COLUMN.

    The file is parsed ARROW_SLAB_BYTES at a time (each slab on pyarrow's
    threads) and the numbers copied into one block sized by the file's line
    count, so memory is the table once plus a slab: pyarrow's whole-file reader
    holds its own table and buffers besides (`nncli fit` on the *large*
    workload: 669 MiB peak RSS, against 441 MiB for nncli's own reader).
    """
    path, parser = reader.path, reader.parser
    # (One column: an empty line is a blank line, which Arrow reads as a row.)
    if (env_flag("NNCLI_NO_ARROW") or parser.first_text or path == "-"
            or not 1 < len(reader.header) <= ARROW_MAX_COLUMNS):
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) or os.path.getsize(path) < ARROW_MIN_BYTES:
            return None
        import pyarrow as pa
        import pyarrow.csv as pacsv

        # pyarrow's reads install handlers of their own for SIGINT and SIGTERM, which took a stop
        # signal from nncli's (lost: the command trained and saved) or ended the process while its
        # threads still ran (SIGABRT). Without them a signal reaches nncli once a slab is read.
        pa.enable_signal_handlers(False)
        # Arrow sizes its thread pool from OMP_NUM_THREADS, which `--threads` sets to 1 for BLAS: it
        # converts on as many threads as nncli's own reader (100,000 x 51 cells: 0.27 s on one, 0.18 on two).
        from nncli.csv_io import PARSE_THREADS

        if pa.cpu_count() != PARSE_THREADS:
            pa.set_cpu_count(PARSE_THREADS)
    except (OSError, ImportError):
        return None
    text = [c for c in reader.columns if parser.reads_text(c)]
    numeric = [c for c in reader.columns if c not in text]
    # Numbers are parsed as float64 and cast with NumPy: a decimal rounded to the double nearest,
    # then to float32, as float() and nncli's own reader do. Arrow's float32 parser rounds the
    # decimal straight to float32, which differs for a decimal near a midpoint between two
    # float32s ('1.0000000596046448': 1.0000001 against 1.0).
    number = pa.float64()
    options = dict(
        read_options=pacsv.ReadOptions(column_names=reader.header),
        parse_options=pacsv.ParseOptions(delimiter=reader.delimiter, newlines_in_values=False,
                                         ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            include_columns=reader.columns, null_values=sorted(v for v in parser.na_values if not _finite_number(v)),
            strings_can_be_null=False, column_types={c: pa.string() if c in text else number for c in reader.columns}),
    )
    cap = reader.rows_left()  # the file's line count: the block is allocated once, at its size
    if not cap:
        return None
    block = np.empty((len(numeric), cap), reader.dtype)
    texts: dict[str, list[np.ndarray]] = {c: [] for c in text}
    rows = nulls = 0
    buf = bytearray(ARROW_SLAB_BYTES)  # one buffer for every slab: fresh ones would page-fault
    # Arrow parses a copy of each slab in memory of its own. Given the bytearray itself, Arrow's threads
    # held Python objects, and one that let its last go while Python shut down (its reads of the slab
    # done, the command's work too) took the GIL, which ended the thread inside C++: the process aborted
    # ("terminate called without an active exception", exit status 134), 1-3 runs in 100 here.
    slab = pa.allocate_buffer(ARROW_SLAB_BYTES)
    into_slab = memoryview(slab).cast("B")  # (Arrow's memoryview holds signed bytes)
    try:
        with open(path, "rb") as f:
            if _lone_cr(b"".join(f.readline() for _ in range(reader.line_no))):
                return None  # the reader's lines so far are not these
            while size := f.readinto(buf):
                data = buf if size == len(buf) else bytes(memoryview(buf)[:size])  # (the last slab)
                if not _plain_bytes(data):
                    return None
                cut = size
                if data is buf:  # perhaps not the end: up to the last whole line
                    cut = buf.rfind(b"\n") + 1
                    if cut == 0:
                        return None
                    f.seek(cut - size, os.SEEK_CUR)
                into_slab[:cut] = memoryview(data)[:cut]
                t = pacsv.read_csv(pa.BufferReader(slab.slice(0, cut)), **options)
                m = t.num_rows
                if rows + m > cap:
                    return None  # more rows than lines: lone CRs end lines
                if t.column_names != reader.columns:
                    return None
                by_name = dict(zip(reader.columns, t.columns))  # not t.column(name): a linear search
                with np.errstate(over="ignore"):  # beyond float32: inf, which sends the file to the usual path
                    missing = [_copy_arrow_numbers(by_name[c], block[k, rows:rows + m]) for k, c in enumerate(numeric)]
                if all(missing) and any(data.find(blank, 0, cut) >= 0 for blank in _BLANK_LINES):
                    return None  # a blank line (see _BLANK_LINES)
                nulls += sum(missing)
                for c in text:
                    texts[c].append(text_array(by_name[c].to_pylist(), strip=True))
                rows += m
                del t, data, by_name
    except (pa.ArrowException, ValueError, OSError):
        return None
    finally:
        del buf, into_slab, slab
        pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed memory otherwise
        release_free_memory()  # and so does glibc's, tuned to (see `allocator`)
    if rows == 0:
        return None
    block = block[:, :rows]
    if np.isinf(block).any() or np.count_nonzero(np.isnan(block)) != nulls:
        return None  # a cell that parsed as inf or nan: the usual path says where
    parser.mark_missing(block)  # numbers among the missing-value tokens (not Arrow's null_values)
    start = reader.line_no + 1
    lines = np.arange(start, start + rows, dtype=np.int64)
    cols: dict[str, Column] = {}
    row_of = {c: k for k, c in enumerate(numeric)}  # not numeric.index: a file may have 100,000 columns
    for c in reader.columns:
        if c in text:
            cols[c] = parser.text_column(c, join_text(texts.pop(c)), lines)
        else:
            cols[c] = Column(c, block[row_of[c]], False, parser.n_numeric[c])
    # (No `numbers`: as from `read`, the block lives as long as its columns, so a consumer that
    # takes them one by one frees it.)
    return Table(reader.name, reader.header, cols, lines)


def _copy_arrow_numbers(column: "object", dest: np.ndarray) -> int:
    """Copy an Arrow column of numbers into dest, NaN where a cell is missing; returns how many are.

    Straight from the Arrow buffers: `to_numpy` would import pandas (0.2 s) on its first call.
    """
    pos = nulls = 0
    for piece in column.chunks:  # type: ignore[attr-defined]
        n = len(piece)
        out = dest[pos:pos + n]
        out[...] = np.frombuffer(piece.buffers()[1], np.float64, n, piece.offset * 8)  # (see errstate above)
        if piece.null_count:  # NaN where the validity bitmap has a 0
            bits = np.unpackbits(np.frombuffer(piece.buffers()[0], np.uint8), count=piece.offset + n,
                                 bitorder="little")
            out[bits[piece.offset:] == 0] = np.nan
            nulls += piece.null_count
        pos += n
    return nulls
