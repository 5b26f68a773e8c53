"""Opening a CSV file for reading: bytes (gunzipped, from a file or stdin), checked text lines,
and the header row with its delimiter. `csv_io.TableReader` reads the rows.

May import the standard library, `nncli.errors` and `nncli.stop_signals` only.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import os
import re
import select
import stat
import sys
import zlib
from typing import IO, Iterable

from nncli import stop_signals
from nncli.errors import DataError, composed, gone_directory_note, shorten

DELIMITERS = (",", ";", "\t", "|")
# What reading a file can raise besides DataError: I/O errors, and a gzip stream's faults (a bad
# header, a truncated stream, a bad CRC, corrupt compressed data).
READ_ERRORS = (gzip.BadGzipFile, EOFError, OSError, zlib.error)


def file_identity(path: str) -> dict | None:
    """What tells this very file, unchanged, from any other (its device, inode, size and modification
    time), without naming its directory; None for stdin and what is not a regular file."""
    try:
        st = os.stat(path) if path != "-" else None
    except (OSError, ValueError):
        return None
    if st is None or not stat.S_ISREG(st.st_mode):
        return None
    return {"device": st.st_dev, "inode": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def read_error(e: Exception, name: str) -> DataError:
    """The DataError for one of READ_ERRORS. It names no line: the bytes are read ahead of the lines
    taken, in blocks, so the line being taken is not where the fault is (a corrupt gzip member after
    the last row was blamed on line 98,306)."""
    if isinstance(e, EOFError):  # a gzip stream cut short
        return DataError("the gzip data ends early (a truncated or unfinished file)", file=name)
    if isinstance(e, gzip.BadGzipFile) and str(e).startswith("Not a gzipped file"):
        # (after the first member: bytes appended to the file; `gzip -d` ignores them with a warning)
        return DataError(f"cannot read the file: {e}", file=name,
                         hint="bytes that are not gzip data follow the compressed data; `zcat FILE | nncli ... -` "
                              "reads what comes before them")
    return DataError(f"cannot read the file: {e}", file=name)


def display_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


class _Stdin(io.FileIO):
    """Descriptor 0, unbuffered and left open, which waits for data in `select` a quarter of a second
    at a time before each read: a Ctrl-C that comes just before a blocking read(2) starts would
    otherwise wait for that read to return (with rows typed at a terminal: for ever, 1 run in ~40).
    Between the waits, Python runs the signal's handler."""

    def __init__(self, fd: int):
        super().__init__(fd, "rb", closefd=False)
        mode = os.fstat(fd).st_mode
        self._waits = not stat.S_ISREG(mode)  # (a regular file is always ready)

    def _wait(self) -> None:
        if self._waits:
            while not select.select([self], [], [], 0.25)[0]:
                stop_signals.reraise_if_lost()  # (a Ctrl-C whose exception an import swallowed)

    def readinto(self, b: "bytearray | memoryview") -> int | None:  # type: ignore[override]
        self._wait()
        return super().readinto(b)

    def read(self, size: int | None = -1) -> bytes | None:  # (FileIO's own read does not go through readinto)
        self._wait()
        return super().read(size)


def refuse_unreadable(path: str) -> None:
    """DataError unless `path` names something to open and read as CSV (not stdin): a file, FIFO or
    device, not a missing path or a directory. Reads nothing."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"no such file: {shorten(path)}{gone_directory_note(path)}") from None
    except OSError as e:
        raise DataError(f"cannot open {shorten(path)}: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{shorten(path)} is a directory, not a CSV file")


def _open_binary(path: str) -> IO[bytes]:
    if path == "-":
        if sys.stdin is None:  # started with `<&-`
            raise DataError("cannot read <stdin>: standard input is closed")
        try:
            # Descriptor 0 unbuffered, not `sys.stdin.buffer`: the reader's thread may be blocked
            # reading it when a signal ends the command, and at exit Python takes the lock of
            # `sys.stdin.buffer`, which that thread would hold ("Fatal Python error:
            # _enter_buffered_busy", exit 134 instead of 130).
            return _Stdin(sys.stdin.fileno())
        except (AttributeError, OSError, ValueError):  # a stand-in with no descriptor (a test's input)
            return sys.stdin.buffer
    refuse_unreadable(path)
    try:
        return open(path, "rb")
    except OSError as e:
        raise DataError(f"cannot open {shorten(path)}: {e.strerror}") from None


def open_binary(path: str) -> IO[bytes]:
    """Open a CSV file (or `-` for stdin) as buffered bytes, gunzipping transparently."""
    raw = _open_binary(path)
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    head = buffered.peek(2)
    if not head:  # at the end already. A terminal's Ctrl-D ends one read only: reading on waited for
        if path != "-":  # more typing (`nncli predict MODEL`, Ctrl-D before any row hung for ever)
            buffered.close()
        return io.BufferedReader(io.BytesIO(b""))
    if head == b"\x1f":  # a pipe gave one byte so far (a peek reads once): the gzip magic needs the next
        head = buffered.read(2)  # (a gzip stream's first byte: no text that a terminal would type)
        buffered = io.BufferedReader(Prepend(head, buffered))  # type: ignore[arg-type]
    if head[:2] == b"\x1f\x8b":
        buffered = io.BufferedReader(gzip.GzipFile(fileobj=buffered))  # type: ignore[arg-type]
    return buffered


def as_text(f: IO[bytes], encoding: str = "utf-8-sig") -> IO[str]:
    # newline="" keeps line endings as they are, as the csv module wants, while
    # line iteration still splits on LF, CRLF and lone CR. Invalid bytes become
    # surrogates, so that `Lines` can name the line they are on: a decode error
    # would surface a whole read-ahead block early.
    return io.TextIOWrapper(f, encoding=encoding, errors="surrogateescape", newline="")


class Prepend(io.RawIOBase):
    """A binary stream that yields `head`, then the rest of `rest` (which it never closes)."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self._head, self._rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: "bytearray | memoryview") -> int:  # type: ignore[override]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read1(len(b)) if hasattr(self._rest, "read1") else self._rest.read(len(b))
        b[:len(data)] = data
        return len(data)


class LineLimit:
    """Reads a binary stream (`read`, `read1`) as long as no line goes on for more than `limit` bytes
    with no line end (LF or CR); past that it reads as at the end, with `too_long` set, having handed
    out at most `limit` + 1 bytes of that line. Reading such a line whole, as line iteration would,
    can take any amount of memory: `(echo a,b; cat /dev/zero) | nncli fit -`.

    Once the stream has ended it stays ended: a terminal's Ctrl-D ends one read only, and the reads
    after it would wait for more typing (a second Ctrl-D).
    """

    def __init__(self, f: IO[bytes], limit: int):
        self._f, self.limit = f, limit
        self.run = 0  # bytes since the last line end
        self.too_long = False
        self._ended = False

    def read(self, n: int) -> bytes:
        want = self._room(n)
        data = self._f.read(want) if want else b""
        self._ended |= len(data) < want  # (a buffered read returns less only at the end)
        return self._counted(data)

    def read1(self, n: int) -> bytes:
        want = self._room(n)
        data = self._f.read1(want) if want else b""  # (`open_binary`'s streams are all buffered)
        self._ended |= not data and want > 0
        return self._counted(data)

    def _room(self, n: int) -> int:
        return 0 if self.too_long or self._ended else min(n, self.limit + 1 - self.run)

    def _counted(self, data: bytes) -> bytes:
        end = data.rfind(b"\n")
        end = max(end, data.rfind(b"\r", end + 1))  # (only the bytes after the last LF are searched)
        self.run = len(data) - end - 1 if end >= 0 else self.run + len(data)
        self.too_long = self.run > self.limit
        return data


# The first bytes of files given as CSV data by mistake: what the file is, and what to do instead.
OTHER_FORMATS = (
    (b"PK\x03\x04", "is a zip archive (an nncli model? an Excel workbook?), not a CSV file",
     "nncli reads CSV text: save a workbook as CSV; a model goes first (nncli predict MODEL DATA, nncli eval "
     "MODEL DATA) or after --init (nncli fit DATA --init MODEL)"),
    (b"PAR1", "is a Parquet file, not a CSV file", "nncli reads CSV text: convert it to CSV"),
    (b"\xff\xfe\x00\x00", "is UTF-32 text", "save it as UTF-8 CSV"),  # (before UTF-16's mark, which it starts with)
    (b"\x00\x00\xfe\xff", "is UTF-32 text", "save it as UTF-8 CSV"),
    (b"\xff\xfe", "is UTF-16 text", "save it as UTF-8 CSV"),
    (b"\xfe\xff", "is UTF-16 text", "save it as UTF-8 CSV"),
)


def _other_format(head: bytes, name: str) -> DataError | None:
    """The error for a file whose first bytes `head` say it is no CSV text, else None.

    Asked only once the first line is found not to be text: a CSV file may well begin with 'PAR1'.
    """
    for magic, what, hint in OTHER_FORMATS:
        # (Parquet's mark is followed by a binary byte, 0x15: 'PAR1,café' is a column name in Latin-1)
        if head.startswith(magic) and (magic != b"PAR1" or head[4:5] not in (b"", b"\n", b"\r") and head[4] < 0x20):
            return DataError(f"{shorten(name)} {what}", hint=hint)
    return None


def line_error(line: str, line_no: int, name: str) -> DataError | None:
    """The error for undecodable bytes (surrogates, see `as_text`) or NUL bytes in a line, naming the
    line, or on the first line the file's format when its first bytes tell it; None for a good line."""
    byte = None
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError as e:
            byte = ord(line[e.start]) - 0xDC00
    if byte is None and "\0" not in line:
        return None
    other = _other_format(line[:5].encode("utf-8", "surrogateescape"), name) if line_no == 1 else None
    if other is not None:
        return other
    head = line[:64]
    for k, order in ((1, "LE"), (0, "BE")):  # every other byte NUL: UTF-16 (mostly ASCII), without a byte-order mark
        if line_no == 1 and len(head) >= 4 and set(head[k::2]) == {"\0"} and "\0" not in head[1 - k::2]:
            return DataError(f"the file looks like UTF-16{order} text (every other byte is NUL); nncli reads UTF-8",
                             file=name, line=line_no, hint=f"convert it: iconv -f UTF-16{order} -t UTF-8 FILE > new.csv")
    if byte is not None:
        return DataError(f"the file is not valid UTF-8 text (byte 0x{byte:02x})",
                         file=name, line=line_no, hint="save the file as UTF-8 CSV")
    return DataError("the file contains NUL bytes; is it a binary file?", file=name, line=line_no,
                     hint="nncli reads CSV text files (optionally gzipped)")


class Lines:
    """Line iterator that counts physical lines and turns I/O faults into DataErrors."""

    def __init__(self, f: IO[str], name: str):
        self.f, self.name, self.line_no = f, name, 0
        self._error: DataError | None = None  # a bad line that `take` found after good ones

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def __iter__(self) -> "Lines":
        return self

    def __next__(self) -> str:
        self._raise_pending()
        try:
            line = next(self.f)
        except READ_ERRORS as e:
            raise read_error(e, self.name) from None
        self.line_no += 1
        self._check(line, self.line_no)
        return line

    def _check(self, line: str, line_no: int) -> None:
        error = line_error(line, line_no, self.name)
        if error is not None:
            raise error

    def take(self, n: int) -> list[str]:
        """The next n lines (fewer at the end), checked a whole chunk at a time.

        Lines before a bad one are returned first, and the bad one raises at the next call:
        the rows before it are read (and reported) as from a file that ends there.
        """
        self._raise_pending()
        try:
            lines = list(itertools.islice(self.f, n))  # C-level iteration: no Python call per line
        except READ_ERRORS as e:
            raise read_error(e, self.name) from None
        text = "".join(lines)
        suspicious = "\0" in text
        if not suspicious and not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                suspicious = True
        if suspicious:  # rare: find the exact line
            for k, line in enumerate(lines):
                try:
                    self._check(line, self.line_no + k + 1)
                except DataError as e:
                    if not k:
                        raise
                    self._error, lines = e, lines[:k]
                    break
        self.line_no += len(lines)
        return lines


_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def detect_delimiter(header_line: str) -> str:
    """The candidate delimiter that occurs most often in the header line (',' on a tie or none).

    Quoted names do not count: `"a;b",c` is comma-separated.
    """
    unquoted = _QUOTED.sub("", header_line)
    counts = [unquoted.count(d) for d in DELIMITERS]
    best = max(range(len(DELIMITERS)), key=lambda i: (counts[i], -i))
    return DELIMITERS[best] if counts[best] else ","


def parse_header(line: str, name: str, delimiter: str, line_no: int = 1) -> list[str]:
    try:
        fields = next(csv.reader([line], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration) as e:
        if line.count('"') % 2:  # a quote left open: the name would go on past the line's end
            raise DataError("cannot parse the header row: a quoted column name is not closed on its line",
                            file=name, line=line_no, hint="column names cannot hold line breaks") from None
        raise DataError(f"cannot parse the header row: {e}", file=name, line=line_no) from None
    return [composed(h.strip()) for h in fields]


def refuse_bad_names(header: list[str], used: Iterable[str], name: str, delimiter: str, line: int = 1) -> None:
    """An error at the first column of the header that is used (`used`: names) and has no name, or a
    name that another column has too. Unused columns may (`predict` ignores an Excel export's unnamed
    or repeated extra columns)."""
    used = set(used)
    seen: dict[str, int] = {}
    for j, h in enumerate(header, 1):
        if h in used and not h:
            hint = "give every column a name in the first row"
            if len(header) > 1 and j == 1:
                hint = "a pandas index? write the file with to_csv(..., index=False)"
            elif len(header) > 1 and j == len(header):
                hint = f"the header line ends with the delimiter {shorten(delimiter)}"
            elif not any(header[j:]):  # (a spreadsheet's empty columns at the right)
                hint = (f"the header ends with {len(header) - j + 1} empty names (a spreadsheet's empty columns?): "
                        "--features names the columns to use, and the others are left alone"
                        + ("; the target is the last column unless --target names another" if not header[-1] else ""))
            raise DataError("empty column name in the header", file=name, line=line, column=j, hint=hint)
        if h in used and h in seen:
            raise DataError(f"duplicate column name {shorten(h)} (also column {seen[h]})",
                            file=name, line=line, column=j, hint="column names must be unique")
        seen.setdefault(h, j)
