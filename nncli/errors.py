"""nncli's own exceptions.

The core and the I/O modules raise these; only `nncli.cli` turns them into one
`nncli: error: ...` line on stderr (plus an optional `hint:` line) and an exit
code. Imports nothing but the standard library.
"""

from __future__ import annotations


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


class ModelFileError(NncliError):
    """A model file that is missing, corrupt, or not an nncli model."""


class DivergenceError(NncliError):
    """Training produced a non-finite loss or non-finite weights."""
