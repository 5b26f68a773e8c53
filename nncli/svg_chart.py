"""Line charts as standalone SVG documents: the loss curves `--plot` saves.

Standard library and nncli.chart_scale only (no numpy, no rich), so a chart can be
written wherever there is a history of floats. The caller writes the returned text
to a file.

The scale rules are the terminal chart's (render_chart.py), shared through
chart_scale.py: a log y axis when the positive values span more than a decade,
non-finite values skipped (here as gaps), and long histories reduced to min/max
envelopes so a file stays small.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Sequence
from xml.sax.saxutils import escape

from nncli.chart_scale import (LIMIT, buckets, drawn_at, format_number, format_tick, nice_step, padded, scale,
                                spans_decades, telling_digits)

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
MAX_POINTS = 2000  # per path; longer histories become 1000 min/max pairs

# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

Point = tuple[float, float]


def _escape(text: str) -> str:
    """User text made safe as SVG content or as an attribute value in double quotes."""
    return escape(_NOT_XML.sub("", text), {'"': "&quot;"})


def _ticks(lo: float, hi: float, log: bool, integral: bool, target: int) -> list[tuple[float, str]]:
    """About `target` round ticks: (position in plotting coordinates, label as SVG content).

    A log axis spanning three or more decades is labelled at powers of ten, written
    10 with a superscript; a shorter one at 1, 2 and 5 times a power of ten.
    """
    if log:
        decades = range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)
        if len(decades) >= 3:
            every = math.ceil(len(decades) / target)
            return [(k, f'10<tspan dy="-6" font-size="9">{k}</tspan>')
                    for k in decades if k % every == 0]
        values = [m * 10.0**k for k in range(math.floor(lo), math.ceil(hi) + 1) for m in (1, 2, 5)]
        # (10.0**k underflows to 0 below 1e-323: such values get no tick.)
        ticks = [(math.log10(v), format_number(v)) for v in values if v > 0 and lo <= math.log10(v) <= hi]
        if len(ticks) >= 2:
            return ticks
        # Under a factor of 2 or so: round values from the linear rule, placed logarithmically.
        return [(math.log10(v), label) for v, label in _ticks(10**lo, 10**hi, False, False, target)
                if v > 0]
    if not (hi - lo) / target > 0:  # a span at the bottom of the float range: one tick
        return [(lo, format_number(lo))]
    step = nice_step((hi - lo) / target, at_least=True)
    if integral:
        step = max(1.0, step)  # whole epochs
    multiples = range(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1)
    digits = telling_digits([k * step for k in multiples])  # (0.7744 four times, on a flat curve)
    return [(k * step, format_tick(k * step, integral, digits)) for k in multiples]


def _plottable(log: bool) -> Callable[[float], bool]:
    """Whether a value can be placed on the axis: finite, and positive on a log axis."""
    return (lambda v: 0 < v <= LIMIT) if log else (lambda v: -LIMIT <= v <= LIMIT)


def _runs(values: Sequence[float], xs: Sequence[float] | None, log_x: bool,
          log_y: bool) -> list[list[Point]]:
    """Consecutive plottable (x, y) points, split where a value cannot be drawn.

    Up to MAX_POINTS values are kept one for one; longer series are cut into
    MAX_POINTS / 2 buckets, each drawn as its minimum and maximum in the order the
    curve passes them, so spikes and noise survive. A bucket with nothing to draw
    leaves a gap. Points are returned in plotting coordinates (log10 on a log axis).
    """
    ok_x, ok_y = _plottable(log_x), _plottable(log_y)
    n = len(values)
    k = n if n <= MAX_POINTS else MAX_POINTS // 2
    runs: list[list[Point]] = [[]]
    for b, (start, stop) in enumerate(buckets(n, k)):
        index = drawn_at(start, stop, b == 0, b == k - 1)
        x = index + 1 if xs is None else float(xs[index])
        valid = [float(v) for v in values[start:stop] if ok_y(v)]
        if not valid or not ok_x(x):
            if runs[-1]:
                runs.append([])
            continue
        low, high = min(valid), max(valid)
        ys = [low, high] if valid[0] <= valid[-1] else [high, low]
        runs[-1].extend((scale(x, log_x), scale(y, log_y)) for y in ys[: 1 if low == high else 2])
    return [run for run in runs if run]


def render_svg(series: list[tuple[str, Sequence[float]]], *, title: str = "",
               x_label: str = "epoch", y_label: str = "loss", log_y: bool | None = None,
               xs: Sequence[float] | None = None, log_x: bool = False,
               marker_x: float | None = None, width: int = 720, height: int = 420) -> str:
    """Draw (name, values) curves as a line chart and return the SVG document.

    Parameters
    ----------
    series : list of (str, sequence of float)
        Each curve's legend name and its y values, one ``<path class="series">`` each.
    xs : sequence of float or None
        The x of value i for every series; None means epochs 1, 2, ...
    log_y : bool or None
        None chooses a log axis when the positive values span more than a decade.
        Values <= 0 are skipped on a log axis; with none positive it falls back to linear.
    log_x : bool
        Log x axis, e.g. for learning rates; x <= 0 is skipped.
    marker_x : float or None
        Draws a dashed vertical line at this x, e.g. the best epoch.
    width, height : int
        Size in pixels.
    """
    positive = [v for _, values in series for v in values if 0 < v <= LIMIT]
    if log_y is None:
        log_y = bool(positive) and spans_decades(min(positive), max(positive))
    log_y = log_y and bool(positive)
    curves = [_runs(values, xs, log_x, log_y) for _, values in series]
    points = [p for runs in curves for run in runs for p in run]
    x_lo, x_hi = _span([p[0] for p in points], log_x)
    y_lo, y_hi = _span([p[1] for p in points], log_y)
    y_pad = (y_hi - y_lo) * 0.04  # keeps the extremes off the frame
    y_lo, y_hi = y_lo - y_pad, y_hi + y_pad

    left, right, top, bottom = 70, width - 20, 40 if title else 20, height - 50

    def px(t: float) -> float:
        return left + (t - x_lo) / (x_hi - x_lo) * (right - left)

    def py(t: float) -> float:
        return bottom - (t - y_lo) / (y_hi - y_lo) * (bottom - top)

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" fill="#333">',
           '<rect width="100%" height="100%" fill="white"/>']
    if title:
        out.append(f'<text class="title" x="{width / 2:.1f}" y="24" text-anchor="middle" '
                   f'font-size="15" font-weight="bold">{_escape(title)}</text>')
    for t, label in _ticks(y_lo, y_hi, log_y, False, 6):
        y = py(t)
        out.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#e5e5e5"/>')
        out.append(f'<text class="tick y" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{label}</text>')
    for t, label in _ticks(x_lo, x_hi, log_x, xs is None, 8):
        x = px(t)
        out.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 5}" '
                   'stroke="#333"/>')
        out.append(f'<text class="tick x" x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">'
                   f'{label}</text>')
    out.append(f'<path class="axes" d="M{left},{top} V{bottom} H{right}" fill="none" '
               'stroke="#333"/>')
    out.append(f'<text class="x-label" x="{(left + right) / 2:.1f}" y="{height - 12}" '
               f'text-anchor="middle">{_escape(x_label)}</text>')
    out.append(f'<text class="y-label" transform="translate(16 {(top + bottom) / 2:.1f}) '
               f'rotate(-90)" text-anchor="middle">{_escape(y_label)}</text>')
    if not points:
        out.append(f'<text x="{(left + right) / 2:.1f}" y="{(top + bottom) / 2:.1f}" '
                   'text-anchor="middle" fill="#999">no data</text>')

    for i, ((name, _), runs) in enumerate(zip(series, curves)):
        # A one-point run is a zero-length line: round caps still draw it as a dot.
        d = " ".join(f"M{px(run[0][0]):.1f},{py(run[0][1]):.1f} "
                     + (" ".join(f"L{px(x):.1f},{py(y):.1f}" for x, y in run[1:]) or "h0")
                     for run in runs)
        out.append(f'<path class="series" data-name="{_escape(name)}" d="{d}" fill="none" '
                   f'stroke="{COLORS[i % len(COLORS)]}" stroke-width="1.6" '
                   'stroke-linejoin="round" stroke-linecap="round"/>')

    if marker_x is not None and (marker_x > 0 or not log_x) and points:
        t = scale(marker_x, log_x)
        if x_lo <= t <= x_hi:
            x = px(t)
            out.append(f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" '
                       'stroke="#555" stroke-dasharray="5 4"/>')
            out.append(f'<text class="marker-label" x="{x + 4:.1f}" y="{top + 12}" fill="#555">'
                       f'{_escape(f"{x_label} {format_tick(marker_x, xs is None)}")}</text>')

    if series:
        # Text is not measured in SVG: the backdrop's width is a guess from the longest name. It goes
        # in the corner over the fewest points (top right unless curves run there: a validation loss
        # rising at the end of the run is the point of the chart).
        box_w, box_h = 7 * max(len(name) for name, _ in series) + 42, 16 * len(series) + 8
        corners = [(right - box_w - 2, top + 2), (left + 4, top + 2), (right - box_w - 2, bottom - box_h - 2),
                   (left + 4, bottom - box_h - 2)]
        drawn = [(px(x), py(y)) for x, y in points]

        def covered(corner: tuple[float, float]) -> int:
            x0, y0 = corner
            return sum(x0 - 4 <= x <= x0 + box_w + 4 and y0 - 4 <= y <= y0 + box_h + 4 for x, y in drawn)

        bx, by = min(corners, key=covered)  # (the first of equals: top right)
        out.append(f'<rect class="legend" x="{bx:.0f}" y="{by:.0f}" width="{box_w}" height="{box_h}" '
                   'fill="white" fill-opacity="0.85"/>')
        for i, (name, _) in enumerate(series):
            y = by + 12 + 16 * i
            out.append(f'<text class="legend" x="{bx + box_w - 32:.0f}" y="{y + 4:.0f}" text-anchor="end">'
                       f'{_escape(name)}</text>')
            out.append(f'<line class="legend" x1="{bx + box_w - 26:.0f}" x2="{bx + box_w - 6:.0f}" y1="{y:.0f}" '
                       f'y2="{y:.0f}" stroke="{COLORS[i % len(COLORS)]}" stroke-width="2.5"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _span(ts: list[float], log: bool) -> tuple[float, float]:
    """The range of plotting coordinates, widened when it is a single value (or empty)."""
    if not ts:
        return 0.0, 1.0
    return padded(min(ts), max(ts), log)
