"""Scale rules shared by the terminal chart (render_chart.py) and the SVG chart (svg_chart.py).

Number labels, round tick steps, when an axis goes logarithmic, how a range of
zero width is widened, and how a long curve is cut into buckets, so both charts of one
history read the same. Standard library only: svg_chart.py must stay free of numpy and rich.
"""

from __future__ import annotations

import math
from typing import Sequence

# Larger magnitudes are skipped like inf: the span between two of them, the padding of
# a flat range or 10 to the power of a padded log would overflow.
LIMIT = 1e300


def format_number(v: float, digits: int = 4) -> str:
    """Format an axis label compactly with at most `digits` significant digits.

    Plain notation from 0.01 up to 1e4, otherwise scientific with trailing zeros
    dropped: ``0.4512``, ``1234``, ``1.2e-03``, ``1.3e+04``, ``1e-08``.
    """
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    if 1e-2 <= abs(v) < 1e4:
        return f"{v:.{digits}g}"
    mantissa, exponent = f"{v:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{exponent}"


def format_tick(v: float, whole: bool, digits: int = 4) -> str:
    """An x tick's label: `format_number`, but a whole number (an epoch) whole: `29340` rather than
    `2.934e+04`."""
    if whole and float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return format_number(v, digits)


def telling_digits(values: Sequence[float], digits: int = 4) -> int:
    """The fewest significant digits, `digits` or more, that tell an axis's distinct labelled `values`
    apart: an axis from 1,000,000.00 to 1,000,000.05 had every label `1e+06`."""
    ordered = sorted(set(values))
    pairs = list(zip(ordered, ordered[1:]))
    while digits < 15 and any(format_number(a, digits) == format_number(b, digits) for a, b in pairs):
        digits += 1
    return digits


def nice_step(raw: float, *, at_least: bool = False) -> float:
    """A 1, 2 or 5 times a power of ten for a tick step of about `raw` (> 0).

    The nearest one by ratio, or with `at_least` the smallest that is not below `raw`.
    """
    power = 10 ** math.floor(math.log10(raw))
    steps = [m * power for m in (1, 2, 5, 10)]
    if at_least:
        return next(step for step in steps if step >= raw)
    return min(steps, key=lambda step: abs(math.log(step / raw)))


def spans_decades(low_positive: float, high: float) -> bool:
    """The log-axis rule: positive values from `low_positive` to `high` span more than a decade."""
    return high / low_positive > 10


def scale(v: float, log: bool) -> float:
    """A value in plotting coordinates: log10 on a log axis."""
    return math.log10(v) if log else v


def padded(lo: float, hi: float, log: bool) -> tuple[float, float]:
    """Widen a zero-width range (a flat curve, a single epoch) so it can be mapped."""
    if lo < hi:
        return lo, hi
    pad = 0.5 if log else (abs(lo) * 0.1 or 1.0)
    return lo - pad, hi + pad


def buckets(n: int, k: int) -> list[tuple[int, int]]:
    """`n` values cut into `k` (at most `n`) consecutive buckets of near-equal size, as (start, stop)
    pairs: how both charts reduce a long curve to what they can draw."""
    return [(b * n // k, (b + 1) * n // k) for b in range(k)]


def drawn_at(start: int, stop: int, first: bool, last: bool) -> int:
    """The index of the value whose x a bucket of values[start:stop] is drawn at: its middle, but the
    first and last buckets at their ends, so the axis spans the data exactly."""
    return start if first else stop - 1 if last else (start + stop - 1) // 2
