"""nncli's own exceptions.

The core and the I/O modules raise these; only `nncli.cli` turns them into one
`nncli: error: ...` line on stderr (plus an optional `hint:` line) and an exit
code. Imports nothing but the standard library.
"""

from __future__ import annotations

import difflib
import os
import shlex
import unicodedata
from typing import Sequence


def composed(name: str) -> str:
    """A column name with its combining marks composed (NFC), as nncli compares names: macOS may write
    'café' decomposed (e + a combining accent), which looks the same in any message, and did not
    match. A name without combining marks stays as written (NFC would change a few characters, such
    as CJK compatibility ideographs, to others that look alike)."""
    if name.isascii() or not any(map(unicodedata.combining, name)):
        return name
    run = 0
    for mark in map(unicodedata.combining, name):
        run = run + 1 if mark else 0
        if run > STREAM_SAFE_MARKS:  # no text: left as written (NFC took 9.7 s for 80,000 marks in a row)
            return name
    return unicodedata.normalize("NFC", name)


# Unicode's Stream-Safe Text Format (UAX #15) has at most 30 combining marks in a row; NFC orders a run of
# them by an insertion sort, whose time grows with the square of its length.
STREAM_SAFE_MARKS = 30


def quoting_hint(option: str | None, unknown: Sequence[str], header: Sequence[str]) -> str:
    """For a 'no column named' hint: how to name a column whose name holds a comma, if the unknown
    names look like its pieces (`--ignore "Price, EUR"` asked for 'Price' and 'EUR')."""
    whole = next((h for h in header if "," in h and unknown[0] in (p.strip() for p in h.split(","))), None)
    if whole is None:
        return ""
    quoted = '"' + whole.replace('"', '""') + '"'
    return f"; a name holding a comma goes in double quotes: {option + ' ' if option else ''}'{quoted}'"


def one_column_hint(delimiter: str | None) -> str:
    """For a header read as one column: the delimiter is most likely not the file's (`delimiter`: the
    one given with --delimiter, or None)."""
    if delimiter is None:
        return "the header is one column: is the file separated by spaces or something else? see --delimiter"
    return f"the header is one column when split at {delimiter!r}: is that the file's delimiter? see --delimiter"


def option_value(*names: str) -> str:
    """Column names as they go after --ignore and the like, to paste into a shell: a list of names is
    a CSV row (a name holding a comma or a quote in double quotes), quoted for the shell if need be
    (`--ignore 'Customer ID'`, `--ignore '"Order, No"'`)."""
    return shlex.quote(",".join('"' + n.replace('"', '""') + '"' if "," in n or '"' in n else n for n in names))


def shorten(text: object, limit: int = 60) -> str:
    """Quote user text for a message: printable, shortened, never markup.

    Control characters (terminal escape codes included) are shown escaped, so
    a hostile cell value or file name cannot move the cursor or recolour the
    terminal when it is echoed in an error message.
    """
    s = str(text)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return repr(s)


MATCHED_CHARS = 1_000  # names longer than this are not searched for a close match
MATCHED_NAMES = 10  # unknown names searched for a close match, at most (each searches every name)


def names_hint(unknown: str | Sequence[str], names: Sequence[str], listing: str, limit: int = 200,
               candidates: Sequence[str] | None = None) -> str:
    """A hint for names that are not among `names` (columns, class labels): for each unknown name
    (the first MATCHED_NAMES of them), the closest of the `candidates` (default: the names), if one is
    close (case aside), then `listing`: the names, each quoted, up to about `limit` characters."""
    unknown = [unknown] if isinstance(unknown, str) else list(unknown)
    by_lower = {n.lower(): n for n in reversed(names if candidates is None else candidates)}
    # (On the error path only, but files may have 100,000 columns, and a name or a label can be a
    # cell of megabytes: difflib on a 60 MB label took 13.5 s and 2.8 GB.)
    pool = [n for n in by_lower if len(n) <= MATCHED_CHARS] if len(by_lower) <= 10_000 else []
    close: dict[str, str] = {}  # close match -> the unknown name it is offered for (each offered once)
    for u in unknown[:MATCHED_NAMES]:
        m = difflib.get_close_matches(u.lower(), pool, n=1, cutoff=0.6) if len(u) <= MATCHED_CHARS else []
        if m:
            close.setdefault(m[0], u)
    shown, length = [], 0
    for n in names:
        if length > limit:
            shown.append("…")
            break
        shown.append(shorten(n, 40))
        length += len(shown[-1]) + 2
    if len(unknown) == 1:  # (which name it is for goes without saying)
        mean = "".join(f"did you mean {shorten(by_lower[m], 40)}? " for m in close)
    else:
        mean = "".join(f"did you mean {shorten(by_lower[m], 40)} for {shorten(u, 40)}? " for m, u in close.items())
    return f"{mean}{listing}: {', '.join(shown)}"


def cwd_exists() -> bool:
    """Whether the current directory is still there: once it is removed, no relative path names anything."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True


def gone_directory_note(path: str) -> str:
    """" (the current directory no longer exists)" for a relative path not found for that reason, else ""."""
    return "" if os.path.isabs(path) or cwd_exists() else " (the current directory no longer exists)"


def printable(text: object) -> str:
    """User text as is, except that control and unprintable characters are shown escaped.

    For file names in FILE:LINE:COLUMN locations, which read best unquoted.
    """
    s = str(text)
    return s if s.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


class NncliError(Exception):
    """Base class: a failure caused by the user's input, not a bug.

    Parameters
    ----------
    message : the one-line description (what went wrong, where, what was expected).
    hint : an optional suggestion printed on a second line.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(NncliError):
    """An invalid option value or combination; exit code 2."""

    exit_code = 2


class DataError(NncliError):
    """A problem in a data file, located as FILE:LINE:COLUMN (column 'name') when known.

    LINE is the physical line number (the header is line 1), COLUMN is 1-based.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        column_name: str | None = None,
        hint: str | None = None,
    ):
        self.file, self.line, self.column, self.column_name = file, line, column, column_name
        where = ""
        if file is not None:
            where = printable(file)
            if line is not None:
                where += f":{line}"
                if column is not None:
                    where += f":{column}"
            if column_name is not None:
                where += f" (column {shorten(column_name, 40)})"
            where += ": "
        super().__init__(where + message, hint)


class UnknownClassError(DataError):
    """A class label the model was not trained on; `spelt_otherwise`: the same number as one of its
    classes, written differently ('1.0' for '1')."""

    def __init__(self, message: str, *, spelt_otherwise: bool = False, **where):
        super().__init__(message, **where)
        self.spelt_otherwise = spelt_otherwise


class ModelFileError(NncliError):
    """A model file that is missing, corrupt, or not an nncli model."""


class DivergenceError(NncliError):
    """Training produced a non-finite loss or non-finite weights."""
