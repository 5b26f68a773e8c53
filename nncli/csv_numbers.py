"""Converting a block of CSV lines of plain decimal numbers, all cells at once.

May import numpy only. `csv_columns` hands this module blocks of whole lines; it
returns their numbers, or None when anything in the block needs a closer look
(then `csv_columns` reads the block the careful way, which also locates errors).

Why: `numpy.loadtxt` converts one cell at a time, ~170 ns a number on this
project's benchmark machine. Here every step is one NumPy operation over the
whole block, ~3x faster:

1. The block may hold only digits, `.`, `-`, `+`, `e`, `E`, the delimiter and
   `\\n` (the allowed bytes counted, `_has_other_bytes`; missing-value tokens are
   looked at first, see `parse_block`), and every line exactly `ncols` fields.
2. Each field is checked against the grammar  [sign] digits [. digits] [e [sign] digits]
   using the positions of its separators, dots, exponent marks and signs.
3. The digits before the point, after it, and of the exponent are read as
   8-byte words (the word ending at the point, the one or two ending at the
   mantissa's end, the one ending at the field's end) and converted 8 digits
   at a time with integer arithmetic (`_parse8`, the "SWAR" trick: three
   multiply-shift-mask steps per word).
4. value = +-I * 10^E with I the mantissa's digits as one integer. When
   I < 2^53 and |E| <= 22, I and 10^|E| are exact doubles, so one
   multiplication or division gives the correctly rounded double (Clinger's
   fast path): the same double as strtod, `float()` and `numpy.loadtxt`, bit
   for bit.

Cells outside that fast path (more than 8 digits before the point or 16
after it, 16 or more significant digits, exponents far from zero) are converted one by
one with `float()`, which also rounds correctly. A block with many of them is
left to loadtxt, which is faster at that.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_NUMBER_BYTES = b"0123456789.-+eE"
_NL, _DOT, _MINUS, _PLUS = ord("\n"), ord("."), ord("-"), ord("+")
_U8 = np.dtype("<u8")
# _KEEP_LAST[k]: the last k bytes of a word (byte 0 holds the first character).
_KEEP_LAST = np.array([0] + [(~0 << (8 * (8 - k))) & (2**64 - 1) for k in range(1, 9)], dtype=np.uint64)
_ZERO_DIGITS = _KEEP_LAST & np.uint64(0x3030303030303030)  # an ASCII '0' in each kept byte
# A decimal point k bytes from a word's end (k = 0: none): the bytes before it, and after it.
_BEFORE_POINT = np.array([0] + [(1 << (8 * (8 - k))) - 1 for k in range(1, 9)], dtype=np.uint64)
_AFTER_POINT = np.concatenate([[np.uint64(2**64 - 1)], _KEEP_LAST[:8]])
_POW10 = 10.0 ** np.arange(23)
_SIGNED_POW10 = np.concatenate([_POW10, -_POW10])
_POW10_INT = np.array([10**k for k in range(17)], dtype=np.uint64)
_MAX_EXACT = 2**53  # integers below this are exact doubles
_INT_LIMIT = np.array([_MAX_EXACT // 10**k for k in range(17)], dtype=np.uint64)
_MAX_ONE_BY_ONE = 0.02  # above this share of cells needing float(), loadtxt is faster
# Text columns are str arrays, each cell as wide as the longest (4 bytes a character): one cell of
# 100,000 characters among 2,000 short ones made 800 MB. Where that is over this size and over 4
# times the text, a column is an array of Python strings instead (`text_array`).
TEXT_ARRAY_SLACK = 4 << 20
# `block_cells` makes cells longer than this Python strings one by one: NumPy's cast of a bytes array
# to str takes a buffer of ~650 bytes for each character of the width (65 MB for one 100 KB cell).
LONG_CELL_BYTES = 1024


def _parse8(v: np.ndarray) -> np.ndarray:
    """Eight digits 0..9, one per byte of each little-endian uint64 (first digit in the lowest byte),
    to their value; in place."""
    t = v >> np.uint64(8)
    v *= np.uint64(10)
    v += t  # byte 2k: 10*d[2k] + d[2k+1] <= 99, no carries
    v &= np.uint64(0x00FF00FF00FF00FF)
    np.right_shift(v, np.uint64(16), out=t)
    v *= np.uint64(100)
    v += t  # 16-bit lane 2k: four digits <= 9999
    v &= np.uint64(0x0000FFFF0000FFFF)
    np.right_shift(v, np.uint64(32), out=t)
    v *= np.uint64(10000)
    v += t  # low 32 bits: all eight digits
    v &= np.uint64(0xFFFFFFFF)
    return v


def count_lines(data: bytes) -> int:
    """The number of LFs in `data` (NumPy counts bytes ~10x faster than `bytes.count`)."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == _NL))


def _words(padded: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The 8 bytes before each offset `end + 8` of `padded` (offset `end` of the block), as uint64."""
    view = np.ndarray((len(padded) - 7,), dtype=_U8, buffer=padded, strides=(1,))  # unaligned 8-byte loads
    return view[end]


def _digits(w: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The integer written by the last `count` (0..8) bytes of each word, all ASCII digits."""
    w &= _KEEP_LAST[count]  # the other bytes become 0
    w -= _ZERO_DIGITS[count]  # '0'..'9' -> 0..9 in the kept bytes; never a borrow, as each is >= '0'
    return _parse8(w)


def _mantissas(padded: np.ndarray, point: np.ndarray, end: np.ndarray, n_int: np.ndarray,
               n_frac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each mantissa's digits as one integer I, and where I is not exact (to convert one by one).

    `point`: the decimal point's offset in the block (`end` if none); `end`: the mantissa's end;
    `n_int` <= 8 digits before the point are read, `n_frac` <= 16 after it.
    """
    has_point = point < end
    n_digits = n_int + n_frac
    # Most mantissas fit one word ending at the mantissa's end, point included: shift the integer
    # digits up one byte over the point, and the digits are the word's last n_digits bytes.
    w = _words(padded, end)
    k = np.minimum(n_frac + 1, 8) * has_point  # the point's distance from the word's end (0: no point)
    w = ((w & _BEFORE_POINT[k]) << np.uint64(8)) | (w & _AFTER_POINT[k])
    I = _digits(w, np.minimum(n_digits, 8))
    one_by_one = np.zeros(len(I), dtype=bool)
    wide = np.flatnonzero(n_digits + has_point > 8)
    if len(wide):  # up to three words: the integer digits before the point, 8 + 8 fraction digits
        n_int, n_frac, point, end = np.minimum(n_int[wide], 8), n_frac[wide], point[wide], end[wide]
        J = _digits(_words(padded, point), n_int)
        one_by_one[wide] = J > _INT_LIMIT[n_frac]  # J * 10^n_frac alone would pass 2^53 (or overflow)
        J *= _POW10_INT[n_frac]
        J += _digits(_words(padded, end), np.minimum(n_frac, 8))
        J += _digits(_words(padded, end - 8), np.clip(n_frac - 8, 0, 8)) * np.uint64(10**8)
        I[wide] = J
    one_by_one |= I >= np.uint64(_MAX_EXACT)
    return I, one_by_one


def _owner(marks: np.ndarray, starts: np.ndarray, ends: np.ndarray, ncols: int) -> np.ndarray | None:
    """Index of the field holding each mark position; None if a field holds two."""
    columns = _columns(marks, starts, ends, ncols)
    if columns is not None:  # (a binary search per mark costs more)
        return np.arange(len(starts)).reshape(-1, ncols)[:, columns].ravel()
    field = np.searchsorted(ends, marks)
    if len(field) > 1 and np.any(field[1:] == field[:-1]):
        return None
    return field


def _columns(marks: np.ndarray, starts: np.ndarray, limit: np.ndarray, ncols: int) -> slice | np.ndarray | None:
    """The columns whose fields hold the marks, one each, when they are the same columns in every row
    (say a point in every float column, none in a column of integer labels): a slice for adjacent
    columns, else their indices. Each mark is checked to lie in its field, before `limit` (the
    fields' ends, or where their mantissas end). None when they are not so placed.

    The columns are the first row's. The marks, in order, are then a (rows, k) array, checked
    against views of `starts` and `limit`: no search, and for adjacent columns no gather (on
    512 KB of 10 float columns and a label column: ~0.2 ms, against ~0.5 for a point's field by
    index, its check and its scatter).
    """
    rows = len(starts) // ncols
    if rows == 0 or not len(marks) or len(marks) % rows:
        return None
    k = len(marks) // rows
    cols = np.searchsorted(limit[:ncols], marks[:k], side="right")  # the first row's: in which fields
    if cols[-1] >= ncols or np.any(cols[1:] <= cols[:-1]):
        return None
    c0 = int(cols[0])
    columns = slice(c0, c0 + k) if int(cols[-1]) == c0 + k - 1 else cols
    placed = marks.reshape(rows, k)
    inside = np.all(placed >= starts.reshape(rows, ncols)[:, columns])
    if inside and np.all(placed < limit.reshape(rows, ncols)[:, columns]):
        return columns
    return None


def parse_block(block: bytes, ncols: int, delimiter: str, dtype: type = np.float32,
                skip: Sequence[int] = (), na_values: frozenset[bytes] = frozenset()) -> np.ndarray | None:
    """The numbers of a block of lines as a (lines, ncols) array in column-major order, or None.

    `block` holds whole lines, each ending with `\\n`. None when the block has
    anything but plain decimal numbers (text, missing or empty cells not in `na_values`, spaces,
    quotes, CR, nan/inf), a line with the wrong number of fields, or a number
    that is not finite in `dtype`. Columns in `skip` may hold any text without
    the delimiter (they are not converted; their values in the result are 0).
    Cells that are one of `na_values` once stripped (b"" for empty cells) are NaN.
    """
    if not block or block[-1] != _NL:
        return None
    if skip:
        block = _blank(block, ncols, delimiter, skip)  # type: ignore[assignment]
        if block is None:
            return None
    missing = None
    B = np.frombuffer(block, dtype=np.uint8)
    is_end = B == _NL  # (made once, as `e_marks`: counted here, used by `_fields` and the exponents)
    n_lines = int(np.count_nonzero(is_end))
    e_marks = _e_marks(block, B)
    if _has_other_bytes(block, delimiter, n_lines, e_marks):
        if not na_values:
            return None
        block, missing = _blank_missing(block, delimiter, na_values)  # type: ignore[assignment]
        if block is None:
            return None
        B = np.frombuffer(block, dtype=np.uint8)  # (its LFs where they were)
        e_marks = _e_marks(block, B)  # a missing-value token may have held one ("None")
    starts, ends = _fields(B, delimiter, is_end)
    if len(ends) != n_lines * ncols or not np.all(B[ends[ncols - 1::ncols]] == _NL):
        return None  # some line has too many or too few fields
    # padded[i + 8] == B[i]; newlines around it, so no word reaches outside the buffer.
    padded = np.full(len(B) + 24, _NL, dtype=np.uint8)
    padded[8:8 + len(B)] = B

    first = B[starts]
    negative = first == _MINUS
    signed = negative | (first == _PLUS)
    n_signs = int(np.count_nonzero(B == _MINUS)) + int(np.count_nonzero(B == _PLUS))
    n_signs -= int(np.count_nonzero(signed))

    # Exponents: at most one `e` per field, followed by [sign] 1..8 digits.
    mantissa_end = ends
    exponent = None
    if e_marks is not None:
        exps = np.flatnonzero(e_marks)
        field = _owner(exps, starts, ends, ncols)
        if field is None:
            return None
        mantissa_end = ends.copy()
        mantissa_end[field] = exps
        after = padded[exps + 9]
        e_negative = after == _MINUS
        e_signed = e_negative | (after == _PLUS)
        n_signs -= int(np.count_nonzero(e_signed))
        e_digits = ends[field] - exps - 1 - e_signed
        if np.any(e_digits < 1) or np.any(e_digits > 8):
            return None
        value = _digits(_words(padded, ends[field]), e_digits).astype(np.int64)
        exponent = np.zeros(len(ends), dtype=np.int64)
        exponent[field] = np.where(e_negative, -value, value)
    if n_signs:
        return None  # a sign neither first in its field nor right after an `e`

    # The decimal point: at most one per field, before the exponent; absent = at the mantissa's end.
    point = mantissa_end
    if b"." in block:
        dots = np.flatnonzero(B == _DOT)
        point = mantissa_end.copy()
        columns = _columns(dots, starts, mantissa_end, ncols)
        if columns is not None:  # (views: no scatter)
            point.reshape(-1, ncols)[:, columns] = dots.reshape(len(point) // ncols, -1)
        else:
            field = _owner(dots, starts, ends, ncols)
            if field is None or np.any(dots >= mantissa_end[field]):
                return None
            point[field] = dots
    n_int = point - starts - signed
    n_frac = mantissa_end - point
    n_frac -= 1
    np.maximum(n_frac, 0, out=n_frac)
    has_digits = (n_int | n_frac) != 0
    if skip:
        has_digits.reshape(-1, ncols)[:, list(skip)] = True  # (skipped cells may be empty)
    if b"" in na_values:
        empty = np.flatnonzero(ends == starts)
        if len(empty):
            has_digits[empty] = True
            missing = empty if missing is None else np.union1d(missing, empty)
    if not has_digits.all():
        return None  # no digits: an empty cell, "-", ".", "e5", ...
    one_by_one_anyway = (n_int > 8) | (n_frac > 16)

    # value = +-I * 10^e, with I all the mantissa's digits as one integer and e = exponent - n_frac.
    n_frac = np.minimum(n_frac, 16)  # (more: float() below)
    I, one_by_one = _mantissas(padded, point, mantissa_end, n_int, n_frac)
    one_by_one |= one_by_one_anyway
    if skip:  # (a skipped cell is a run of '0's as long as its text: nothing to convert)
        one_by_one.reshape(-1, ncols)[:, list(skip)] = False
    x = I.astype(np.float64)
    e = -n_frac if exponent is None else exponent - n_frac
    if np.all(e <= 0):  # (always, without exponents) one division, by -10^k for negative numbers
        one_by_one |= e < -22
        k = np.minimum(-e, 22)
        k += 23 * negative
        x /= _SIGNED_POW10[k]
    else:
        one_by_one |= np.abs(e) > 22
        np.clip(e, -22, 22, out=e)
        x = np.where(e >= 0, x * _POW10[np.maximum(e, 0)], x / _POW10[np.maximum(-e, 0)])
        x *= np.where(negative, -1.0, 1.0)

    slow = np.flatnonzero(one_by_one)
    if len(slow) > _MAX_ONE_BY_ONE * len(x) + 8:
        return None
    for k in slow.tolist():
        x[k] = float(block[starts[k]:ends[k]])
    if missing is not None:
        x[missing] = np.nan
    out = np.empty((ncols, n_lines), dtype=dtype).T  # column-major: each column contiguous
    with np.errstate(over="ignore"):
        out[...] = x.reshape(n_lines, ncols)  # float32: the double rounded once more, as loadtxt does
    if np.isinf(out).any():
        return None  # too large for the dtype: the careful path names the cell (NaN: missing cells only)
    return out


def _e_marks(block: bytes, B: np.ndarray) -> np.ndarray | None:
    """Where `block` (as bytes B) has an `e` or `E`; None if nowhere."""
    if b"e" in block or b"E" in block:
        return np.bitwise_or(B, 0x20) == ord("e")
    return None


def _has_other_bytes(block: bytes, delimiter: str, n_lines: int, e_marks: np.ndarray | None) -> bool:
    """Whether `block` (of `n_lines` LFs, `e`s or `E`s where `e_marks` says) holds a byte other than a
    digit, `.`, `-`, `+`, `e`, `E`, the delimiter and LF.

    Counted with NumPy, which releases the GIL while it runs. `bytes.translate` would take about
    as long (~170 us a 512 KB piece) holding the GIL, which the other converting thread then waits for.
    """
    for c in ",/":  # in the range counted below, but allowed only as the delimiter
        if c != delimiter and c.encode() in block:
            return True
    B = np.frombuffer(block, dtype=np.uint8)
    allowed = np.count_nonzero(np.subtract(B, _PLUS, dtype=np.uint8) < 15)  # '+' ',' '-' '.' '/' '0'..'9'
    allowed += n_lines
    if e_marks is not None:
        allowed += np.count_nonzero(e_marks)
    if delimiter not in "+,-./0123456789eE\n":
        allowed += np.count_nonzero(B == ord(delimiter))
    return int(allowed) != len(B)


def _fields(B: np.ndarray, delimiter: str, is_end: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Where each field of a block starts, and where it ends (at its delimiter or LF). `is_end`, if
    given, marks B's LFs; the delimiters are added to it."""
    if is_end is None:
        is_end = B == _NL
    is_end |= B == ord(delimiter)
    ends = np.flatnonzero(is_end)
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    return starts, ends


def _blank(block: bytes, ncols: int, delimiter: str, columns: Sequence[int]) -> bytes | None:
    """The block with every byte of the given columns' cells turned to '0'; None if lines are ragged."""
    B = np.frombuffer(block, dtype=np.uint8).copy()
    starts, ends = _fields(B, delimiter)
    if len(ends) % ncols:
        return None
    cells = np.concatenate([np.arange(k, len(ends), ncols) for k in columns])
    return _zero_cells(B, starts[cells], ends[cells])


def _zero_cells(B: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bytes:
    """The bytes of B with the cells [starts, ends) (distinct fields) turned to '0's."""
    edge = np.zeros(len(B) + 1, dtype=np.int8)  # +1 where a cell starts, -1 where it ends
    edge[starts] += 1
    edge[ends] -= 1
    B[np.cumsum(edge[:-1], dtype=np.int8).view(bool)] = ord("0")
    return B.tobytes()


def _blank_missing(block: bytes, delimiter: str, na_values: frozenset[bytes]) -> tuple[bytes | None, np.ndarray]:
    """The block with cells that are missing-value tokens ("NA", "?") turned to '0's, and their
    field indices; (None, _) if some cell holds other text."""
    B = np.frombuffer(block, dtype=np.uint8).copy()
    other = np.ones(256, dtype=bool)
    other[list(_NUMBER_BYTES + delimiter.encode() + b"\n")] = False
    starts, ends = _fields(B, delimiter)
    # (Per field, not per byte: a 60 MB cell of text made int64 arrays of 60M positions, 1.27 GB.)
    fields = np.flatnonzero(np.logical_or.reduceat(other[B], starts))
    for f in fields.tolist():
        if block[starts[f]:ends[f]].strip() not in na_values:
            return None, fields
    return _zero_cells(B, starts[fields], ends[fields]), fields


def unquoted(block: bytes, delimiter: str) -> bytes | None:
    """The block (whole lines, each ending with LF) with the quotes of simply quoted fields removed, as
    the csv module reads them (`"1.5","a"` -> `1.5,a`); None if a quote does anything more: a
    delimiter, a line end or a doubled quote inside, a quote within a field, or a line of `""` alone.
    (Some programs quote every field: such a file went through the csv module line by line, ~12x
    the time.)"""
    if block.startswith(b'""\n') or b'\n""\n' in block:
        return None  # a line of one empty quoted field: a row (`""`), which without its quotes is a blank line
    B = np.frombuffer(block, dtype=np.uint8)
    quotes = np.flatnonzero(B == ord('"'))
    if len(quotes) % 2 or not len(quotes) or quotes[-1] + 1 >= len(B):
        return None
    opens, closes = quotes[0::2], quotes[1::2]
    d = ord(delimiter)
    before = B[np.maximum(opens - 1, 0)]
    after = B[closes + 1]
    if not (np.all((before == d) | (before == _NL) | (opens == 0)) and np.all((after == d) | (after == _NL))):
        return None
    bounds = np.cumsum((B == d) | (B == _NL), dtype=np.int32)  # delimiters and line ends so far
    if np.any(bounds[closes] != bounds[opens]):
        return None  # one inside a quoted field
    return block.translate(None, b'"')


def too_wide(longest: int, n: int, total: int) -> bool:
    """Whether n cells of `total` characters, the longest of `longest`, take too much room as a str
    array (see TEXT_ARRAY_SLACK)."""
    return 4 * longest * n > max(TEXT_ARRAY_SLACK, 4 * (total + 64 * n))


def text_array(cells: Sequence[str], strip: bool = False) -> np.ndarray:
    """Cells (stripped if `strip`) as a str array, or as an object array of Python strings where a
    str array would be too wide (`too_wide`)."""
    if not len(cells):
        return np.empty(0, dtype=str)
    if too_wide(max(map(len, cells)), len(cells), sum(map(len, cells))):
        out = np.empty(len(cells), dtype=object)
        out[:] = [c.strip() for c in cells] if strip else cells
        return out
    return np.char.strip(np.asarray(cells, dtype=str)) if strip else np.asarray(cells, dtype=str)


def block_cells(block: bytes, ncols: int, delimiter: str, columns: Sequence[int]) -> list[np.ndarray]:
    """The cells of some columns of a block that `parse_block` accepted, stripped (`text_array`)."""
    B = np.frombuffer(block, dtype=np.uint8)
    starts, ends = _fields(B, delimiter)
    ascii = block.isascii()
    padded = np.concatenate([B, np.zeros(LONG_CELL_BYTES, dtype=np.uint8)])  # (once: files may have 100,000 columns)
    cells = []
    for k in columns:
        first, length = starts[k::ncols], ends[k::ncols] - starts[k::ncols]
        longest = int(length.max())
        if longest > LONG_CELL_BYTES or too_wide(longest, len(length), int(length.sum())):  # (bytes >= characters)
            spans = zip(first.tolist(), ends[k::ncols].tolist())
            cells.append(text_array([block[a:b].decode("utf-8").strip() for a, b in spans]))
            continue
        width = max(longest, 1)  # (S0 is no dtype: all cells empty)
        window = sliding_window_view(padded, width)[first]  # each cell and what follows it
        text = np.where(np.arange(width) < length[:, None], window, 0)  # NUL padding ends an S string
        raw = text.view(f"S{width}").ravel()
        cells.append(np.char.strip(raw.astype(str) if ascii else np.char.decode(raw, "utf-8")))
    return cells
