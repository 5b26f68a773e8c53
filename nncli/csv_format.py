"""CSV output cells as bytes, a whole column at a time: `"%.<p>g" % x` and `"%d" % i` for every value in a few dozen
NumPy operations, rather than one Python call per cell with the interpreter lock held.

`csv_write` formats a chunk of predictions or generated data with these: each column (or block of columns) becomes an
array of bytes, a row of bytes per cell, padded with NUL to the longest; `join_rows` puts a chunk's columns side by side
with commas and line ends and drops every NUL. The text is exactly what the `%` operator writes, to the last digit:
where a value's rounding is too close to call in float64 (or it is not finite, or too large or small), that value is
formatted by `%` itself.

May import numpy and the standard library only.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# Significant digits `g_cells` formats in NumPy; more (a regression target offset far from zero) go through `%`.
MOST_DIGITS = 12
# Scaling by 10**(k - 22), k in 0..66, as at most two correctly rounded operations: a power of ten is exact in float64
# up to 10**22, and a negative one is not (dividing by 10**22 is).
_MUL = np.array([10.0 ** min(k - 22, 22) if k > 22 else 1.0 for k in range(67)])
_MUL2 = np.array([10.0 ** (k - 44) if k > 44 else 1.0 for k in range(67)])
_DIV = np.array([10.0 ** (22 - k) if k < 22 else 1.0 for k in range(67)])
# The three digits of an exponent's magnitude, one row per digit (up to 399: a float64's is at most 324).
_EXPONENT_DIGITS = np.array([list(b"%03d" % e) for e in range(400)], dtype=np.uint8).T.copy()
_CONSTANTS = np.frombuffer(b"-.0e+\0", dtype=np.uint8)  # source rows after the digits and the exponent's digits


@lru_cache(maxsize=None)
def _g_layouts(p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For `g_cells`: for every (notation and exponent, significant digits, sign), which source row gives each byte
    of the cell, and the cell's length; and each exponent's mode, times 2p, at exponent + 400.

    Source rows: p digits, the exponent's three digits, then `_CONSTANTS`. Key: (mode * p + digits - 1) * 2 + sign,
    where mode 0..p+3 is fixed notation with exponent mode - 4, and mode p+4..p+7 scientific notation, plus 2 for a
    negative exponent and 1 for a three-digit one.
    """
    minus, dot, zero, e, plus, nul = range(p + 3, p + 9)
    rows = []
    for mode in range(p + 8):
        for sig in range(1, p + 1):
            for negative in (0, 1):
                r = [minus] if negative else []
                x = mode - 4
                if mode >= p + 4:  # d.ddde+XX
                    exponent = mode - p - 4
                    r += [0] + ([dot, *range(1, sig)] if sig > 1 else [])
                    r += [e, minus if exponent & 2 else plus] + ([p] if exponent & 1 else []) + [p + 1, p + 2]
                elif x >= 0:  # ddd.dd
                    r += [*range(x + 1)] + ([dot, *range(x + 1, sig)] if sig > x + 1 else [])
                else:  # 0.000ddd
                    r += [zero, dot] + [zero] * (-x - 1) + [*range(sig)]
                rows.append(r + [nul] * (p + 8 - len(r)))
    exponents = np.arange(-400, 400)
    modes = np.where((exponents >= -4) & (exponents < p), exponents + 4,
                     p + 4 + 2 * (exponents < 0) + (np.abs(exponents) >= 100))
    return np.array(rows, dtype=np.intp), np.array([len(r) - r.count(nul) for r in rows]), modes * 2 * p


def _scaled(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """a * 10**(k - 22), within two roundings."""
    m = a * _MUL.take(k)
    m *= _MUL2.take(k)
    m /= _DIV.take(k)
    return m


def g_cells(values: np.ndarray, p: int) -> np.ndarray:
    """`"%.<p>g" % x` for each value (1 <= p <= MOST_DIGITS), as a uint8 array of shape values.shape + (width,),
    each cell's bytes padded with NUL.

    Each value is scaled by a power of ten to p digits before the point and rounded half to even, as `%` rounds the
    exact value. The scaled value is off by at most two roundings, so the two can differ only where it lies that
    close to a half; those values, and the ones that are not finite or lie beyond 10**-(45 - p)..10**(21 + p), are
    formatted by `%`.
    """
    shape = np.shape(values)
    v = np.asarray(values, dtype=np.float64).ravel()
    n = len(v)
    a = np.abs(v)
    zero = a == 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lg = np.floor(np.log10(a))  # the decimal exponent, or one off where log10 rounds across a power of ten
        lg[zero] = 0.0  # (zero is written "0" here, not by `%`)
        k = (p - 1 + 22) - lg  # (not finite for a value that is not)
        exact = (k >= 0) & (k <= 66)
        k[~exact] = 22
        k = k.astype(np.intp)
        m = _scaled(a, k)
        off = (m >= 10.0 ** p).view(np.int8) - (m < 10.0 ** (p - 1)).view(np.int8)
        off[zero] = 0
        if off.any():  # log10 rounded across a power of ten
            k -= off
            exact &= (k >= 0) & (k <= 66)
            k[~exact] = 22
            m = _scaled(a, k)
        digits = np.rint(m)
        # m is within two roundings of the exact value, each at most half a unit in the last place of 10**p (which
        # is above m): nearer a half than that, the exact value may round the other way.
        close = np.abs(m - np.floor(m) - 0.5) <= 4 * np.spacing(10.0 ** p)
    by_percent = np.flatnonzero(close | ~exact)
    digits[by_percent] = 0.0  # (their cells are overwritten; no NaN or huge value to cast to integers)
    rounded_up = digits >= 10.0 ** p  # 9.9999996 -> 10.00000: one more digit before the point
    digits[rounded_up] = 10.0 ** (p - 1)
    x = (p - 1 + 22) - k + rounded_up
    x[by_percent] = 0
    source = np.empty((p + 9, n), dtype=np.uint8)  # one column per value
    q = digits.astype(np.int32 if p <= 9 else np.int64)
    for i in range(p - 1, -1, -1):
        q10 = q // 10
        source[i] = q - q10 * 10
        q = q10
    last = (source[:p] != 0) * np.arange(1, p + 1, dtype=np.uint8)[:, None]
    significant = np.maximum(last.max(axis=0), 1)  # (trailing zeros are not written)
    source[:p] += ord("0")
    source[p:p + 3] = _EXPONENT_DIGITS.take(np.minimum(np.abs(x), 399), axis=1)
    source[p + 3:] = _CONSTANTS[:, None]
    layouts, lengths, modes = _g_layouts(p)
    key = modes.take(np.clip(x, -400, 399) + 400)
    key += 2 * significant
    key += np.signbit(v) - 2
    texts = [("%.*g" % (p, value)).encode() for value in v[by_percent].tolist()]
    width = max([int(lengths.take(key).max()) if n else 1, *map(len, texts)])
    # One byte position per row, each row all the values (NumPy's loops run long), then transposed.
    index = (layouts[:, :width].T * n).take(key, axis=1)  # (only as wide as the longest cell)
    index += np.arange(n)
    cells = source.ravel().take(index).T
    if texts:
        cells[by_percent] = _padded(texts, width)
    return cells.reshape(*shape, width)


def d_cells(values: np.ndarray) -> np.ndarray:
    """`"%d" % i` for each integer (or bool), as a uint8 array of shape values.shape + (width,): NUL where a shorter
    number has no sign or digit."""
    shape = np.shape(values)
    v = np.asarray(values).ravel()  # (bools too: they cast to 0 and 1)
    if v.dtype.kind == "u" and v.size and v.max() > np.iinfo(np.int64).max:
        texts = [b"%d" % i for i in v.tolist()]
        return _padded(texts, max(map(len, texts))).reshape(*shape, -1)
    v = v.astype(np.int64)
    n = len(v)
    negative = v < 0
    a = v.astype(np.uint64)
    a[negative] = ~a[negative] + np.uint64(1)  # (the magnitude of -2**63 too)
    width = len(str(int(a.max()))) if n else 1
    source = np.empty((width, n), dtype=np.uint8)
    q = a
    for i in range(width - 1, -1, -1):
        q10 = q // np.uint64(10)
        source[i] = q - q10 * np.uint64(10)
        q = q10
    length = np.ones(n, dtype=np.intp)
    for j in range(1, width):
        length += a >= np.uint64(10 ** j)
    source += ord("0")
    source[np.arange(width)[:, None] < width - length] = 0  # leading zeros
    cells = np.empty((n, width + 1), dtype=np.uint8)
    cells[:, 0] = negative * np.uint8(ord("-"))
    cells[:, 1:] = source.T
    return cells.reshape(*shape, width + 1)


def text_cells(texts: list[str]) -> np.ndarray | None:
    """Texts (already quoted for CSV) as a (n, width) uint8 array of UTF-8 padded with NUL; None where that cannot
    stand for them: a text holds a NUL, does not encode, or is so much longer than the rest that the array would
    waste memory. (One join and one encode in C, then NumPy: no Python call per text.)"""
    if not texts:
        return np.zeros((0, 1), dtype=np.uint8)
    joined = "\0".join(texts)
    if joined.count("\0") != len(texts) - 1:
        return None
    try:
        raw = np.frombuffer(joined.encode() + b"\0", dtype=np.uint8)
    except UnicodeEncodeError:  # (a lone surrogate)
        return None
    ends = np.flatnonzero(raw == 0)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts
    width = max(int(lengths.max()), 1)
    if len(texts) * width > 8 * len(raw) + (1 << 16):
        return None
    # Built one byte position per row, each row all the texts (NumPy's loops run long), and returned transposed.
    index = starts + np.arange(width)[:, None]
    np.minimum(index, len(raw) - 1, out=index)  # (the last text's padding: the final NUL)
    cells = raw.take(index)
    cells[np.arange(width)[:, None] >= lengths] = 0  # (the separator and the next texts)
    return cells.T


def _padded(texts: list[bytes], width: int) -> np.ndarray:
    """(len(texts), width) uint8: each text, padded with NUL (a NumPy bytes array: its items are)."""
    return np.array(texts, dtype=f"S{width}").view(np.uint8).reshape(len(texts), width)


def join_rows(columns: list[np.ndarray]) -> str:
    """CSV text of rows whose cells are these arrays' (n, width) or (n, columns, width) cells, side by side."""
    n = len(columns[0])
    blocks = [c.reshape(n, -1, c.shape[-1]) for c in columns]
    rows = np.empty((n, sum(b.shape[1] * (b.shape[2] + 1) for b in blocks)), dtype=np.uint8)
    at = 0
    for b in blocks:
        _, k, width = b.shape
        view = rows[:, at:at + k * (width + 1)]
        view.shape = (n, k, width + 1)  # (a view: raises rather than copy)
        view[:, :, :width] = b
        view[:, :, width] = ord(",")
        at += k * (width + 1)
    rows[:, -1] = ord("\n")
    return rows[rows != 0].tobytes().decode()
