"""Line charts for the terminal, drawn with braille dots as a Rich renderable.

Used for the live loss curves, `show`'s and the final chart of a live `fit`, and the lr-find plot. May import
Rich, the standard library and nncli.chart_scale (the scale rules it shares with the
SVG chart) only: no numpy, so any sequence of floats can be drawn, and no typer,
which stays in cli.py.

Each character cell holds a 2x4 grid of braille dots (U+2800 block), so a plot
``w`` columns wide has ``2 * w`` dots across. Long histories are reduced to min/max
envelopes, about one per dot column, before anything is drawn, so a frame costs
the same for 100 epochs as for 100,000.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from typing import NamedTuple, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from nncli.chart_scale import (LIMIT, buckets, drawn_at, format_number, format_tick, nice_step, padded, scale,
                                spans_decades, telling_digits)

# Bit of each dot in a braille cell, indexed [dot row][dot column] (Unicode dot numbering).
_DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
_BRAILLE_BLANK = 0x2800
# `0 < v` as a builtin, so filter() tests each value without running Python code per value.
_is_positive = partial(operator.lt, 0.0)


class Envelope(NamedTuple):
    """The finite values of ``values[start:stop]``, summarised for plotting."""

    start: int
    stop: int
    low: float
    high: float
    low_positive: float | None  # smallest value > 0, which is what a log axis can show


def downsample(values: Sequence[float], n_buckets: int) -> list[Envelope]:
    """Split `values` into at most `n_buckets` consecutive buckets and summarise each.

    Keeping both the minimum and the maximum of a bucket keeps spikes and noise
    visible, where a mean would smooth them away. Each value is visited once, by
    builtins only. Buckets with no finite value are left out, so NaN and inf are
    skipped.

    Parameters
    ----------
    values : sequence of float, shape (n,)
        Supports ``len`` and slicing (list, tuple, array).
    n_buckets : int
        At least 1. With ``n <= n_buckets`` every value gets its own bucket.
    """
    envelopes = []
    for start, stop in buckets(len(values), min(len(values), n_buckets)):
        finite = list(filter(math.isfinite, values[start:stop]))
        if not finite:
            continue
        low, high = min(finite), max(finite)
        low_positive = low if low > 0 else min(filter(_is_positive, finite), default=None)
        envelopes.append(Envelope(start, stop, float(low), float(high),
                                  None if low_positive is None else float(low_positive)))
    return envelopes


# Colours of a chart's curves, one each: a chart of more curves than this draws at most this many
# (the layers' gradients, the classes' probabilities).
CURVE_STYLES = ("cyan", "magenta", "yellow", "green", "blue", "red")


@dataclass(frozen=True)
class Series:
    """One curve: y `values` at x = 1..len(values) (epochs), or at `xs` when given. A `scatter` is points
    instead, at `xs` in any order: each its own dot, neither joined nor reduced (keep them few)."""

    name: str
    values: Sequence[float]
    xs: Sequence[float] | None = None
    style: str = "cyan"
    scatter: bool = False


@dataclass(frozen=True)
class Axis:
    """Maps plotting coordinates (log10 of the value on a log axis) onto `dots` dots."""

    lo: float
    hi: float
    log: bool
    dots: int

    def dot(self, t: float) -> int:
        return round((t - self.lo) / (self.hi - self.lo) * (self.dots - 1))

    def value(self, dot: float) -> float:
        t = self.lo + dot / (self.dots - 1) * (self.hi - self.lo)
        return 10**t if self.log else t


class _Canvas:
    """The braille dots of one series, as one bit mask per character cell."""

    def __init__(self, cols: int, rows: int) -> None:
        self.cells = [[0] * cols for _ in range(rows)]

    def line(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """Light every dot on the segment (Bresenham), so the curve has no holes."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self.cells[y0 // 4][x0 // 2] |= _DOT_BITS[y0 % 4][x0 % 2]
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy


def _draw(curve: list[tuple[float, float, float]], x_axis: Axis, y_axis: Axis, cols: int,
          rows: int, scatter: bool = False) -> _Canvas:
    """Draw (x, low, high) points: a bar from low to high, joined to the previous point (`scatter`:
    each point a dot at (x, high))."""
    canvas, previous = _Canvas(cols, rows), None
    if scatter:
        for x, _, high in curve:
            canvas.line(*(2 * [x_axis.dot(x), y_axis.dots - 1 - y_axis.dot(high)]))
        return canvas
    if len(curve) == 1:
        # A lone point fills its cell's width, or one dot would be easy to miss.
        x, _, high = curve[0]
        col, top = x_axis.dot(x), y_axis.dots - 1 - y_axis.dot(high)
        canvas.line(col - col % 2, top, col - col % 2 + 1, top)
    for x, low, high in curve:
        col = x_axis.dot(x)
        top, bottom = (y_axis.dots - 1 - y_axis.dot(v) for v in (high, low))
        canvas.line(col, top, col, bottom)
        middle = (top + bottom) // 2
        if previous is not None:
            canvas.line(*previous, col, middle)
        previous = (col, middle)
    return canvas


def _place(buffer: list[str], start: int, label: str, margin: int = 1) -> bool:
    """Write `label` at `start`, kept inside `buffer`, if `margin` blank cells stay around it."""
    if len(label) > len(buffer):
        return False
    start = max(0, min(start, len(buffer) - len(label)))
    stop = start + len(label)
    if any(c != " " for c in buffer[max(0, start - margin):stop + margin]):
        return False
    buffer[start:stop] = label
    return True


def _place_in_widest_gap(buffer: list[str], label: str) -> bool:
    gaps = re.finditer(" +", "".join(buffer))
    gap = max(gaps, key=lambda m: m.end() - m.start(), default=None)
    if gap is None:
        return False
    # A wide margin, so the label does not read as part of a tick number.
    return _place(buffer, (gap.start() + gap.end() - len(label)) // 2, label, margin=3)


def append_runs(text: Text, cells: list[tuple[str, str]]) -> None:
    """Append (character, style) cells, one span per run of a style: less ANSI output."""
    for style, run in groupby(cells, key=operator.itemgetter(1)):
        text.append("".join(ch for ch, _ in run), style)


def y_tick_labels(y_axis: Axis, rows: int, digits: int) -> dict[int, str]:
    """The y axis's labels by row of a plot `rows` high (four of `y_axis`'s dots a row): the top's, the
    bottom's and, five rows or more, the middle row's."""
    at = {0: y_axis.value(y_axis.dots - 1), rows - 1: y_axis.value(0)}
    if rows >= 5:
        mid = rows // 2
        # The value halfway down that row's four dots, where its ┤ points.
        at[mid] = y_axis.value(y_axis.dots - 1 - (4 * mid + 1.5))
    digits = telling_digits(at.values(), digits)
    return {row: format_number(v, digits) for row, v in at.items()}


def plot_row(console: Console, labels: dict[int, str], row: int, gutter: int, width: int,
             cells: list[tuple[str, str | Style]]) -> list[Segment]:
    """A plot row as the console writes it, cut at `width`: its y label, if any, right-aligned in the gutter,
    the axis (┤ at a label), then the (character, style) cells, a segment a run of a style (less ANSI
    output), and the line's end. Segments, not a Text: Rich laid each row's Text out again, character by
    character, for every frame (about 40% of the time a chart took to draw)."""
    get_style = console.get_style
    line = [Segment(f"{labels.get(row, ''):>{gutter}} "), Segment("┤" if row in labels else "│", get_style("dim"))]
    line += [Segment("".join(ch for ch, _ in run), get_style(style, default="none"))
             for style, run in groupby(cells, key=operator.itemgetter(1))]
    if gutter + 2 + len(cells) > width:  # (a width too narrow for the gutter and a column)
        line = Segment.adjust_line_length(line, width)
    line.append(Segment.line())
    return line


def header_line(y_label: str, title: str, gutter: int, cols: int) -> Text:
    """The line above a plot: the y axis's name, and the title centred over the plot `cols` wide."""
    header = Text(y_label, style="dim", no_wrap=True, overflow="ellipsis")
    if title:
        centred = gutter + 2 + (cols - cell_len(title)) // 2
        header.append(" " * max(1, centred - cell_len(y_label)))
        header.append(title, "bold")
    return header


def x_axis_lines(x_axis: Axis, gutter: int, cols: int, x_label: str, *, integral: bool = False,
                 log: bool = False, marker_col: int | None = None) -> RenderResult:
    """The x axis under a plot `cols` wide (two of `x_axis`'s dots a column) right of a `gutter`: the
    axis line with tick marks (▲ at `marker_col`), then the tick labels and `x_label`; `integral`: ticks
    on whole numbers (epochs)."""
    ends = [x_axis.value(0), x_axis.value(x_axis.dots - 1)]
    if integral:
        ends = [math.ceil(ends[0] - 1e-9), math.floor(ends[1] + 1e-9)]
    # Round steps in plotting coordinates: whole epochs, whole decades on a log axis.
    step = nice_step((x_axis.hi - x_axis.lo) / max(2, cols // 14))
    if integral or log:
        step = max(1.0, step)
    multiples = range(math.floor(x_axis.lo / step) + 1, math.ceil(x_axis.hi / step))
    middles = [10 ** (k * step) if log else k * step for k in multiples]
    # (A middle tick within half a step of an end gives way to it: -2 beside an end at -2.0000001 asked for
    # eight digits to tell them apart)
    apart = [m for m in middles if min(abs(scale(m, log) - scale(e, log)) for e in ends) >= step / 2]
    digits = telling_digits([*ends, *apart])

    x_label_in_gutter = cell_len(x_label) <= gutter
    # Middle ticks give way when the x label needs their room on the tick line.
    for candidates in (ends + middles, ends + middles[1::2], ends):
        buffer, ticks = [" "] * cols, set()
        for value in candidates:
            col = x_axis.dot(scale(value, log)) // 2
            label = format_tick(value, integral, digits)
            if _place(buffer, col - len(label) // 2, label):
                ticks.add(col)
        if x_label_in_gutter or _place_in_widest_gap(buffer, x_label):
            break

    axis_line = Text(" " * gutter + " └", style="dim", no_wrap=True, overflow="crop")
    append_runs(axis_line, [("▲", "bold") if col == marker_col else
                             ("┬" if col in ticks else "─", "dim") for col in range(cols)])
    yield axis_line
    gutter_text = f"{x_label:>{gutter}}  " if x_label_in_gutter else " " * (gutter + 2)
    tick_line = Text(gutter_text, style="dim", no_wrap=True, overflow="crop")
    tick_line.append("".join(buffer))
    yield tick_line


class LineChart:
    """A Rich renderable drawing `series` as braille line plots across the full width.

    Parameters
    ----------
    series : list of Series
        Drawn in order; where curves share a cell, the earlier series gives it its colour.
    height : int
        Rows of plot area; the header, axis, ticks and legend add up to four more lines.
    log_y : bool or None
        None chooses a log axis when the positive values span more than a decade.
        Values <= 0 are skipped on a log axis; with none positive it falls back to linear.
    log_x : bool
        Log x axis, e.g. for learning rates; x <= 0 is skipped.
    marker_x : float or None
        Marks this x (the best epoch) with a dotted column and a ▲ on the axis.
    whole_x : bool
        The series' own x values are epochs: ticks on whole numbers, as without them.
    y_span : (low, high) or None
        The y axis spans at least this (a probability: 0 to 1), on a linear axis.
    no_color : bool or None
        None follows the console: colours are off under NO_COLOR or when the console
        has no colour system (a file or pipe). Without colour the first series is
        plain and the others dim.
    """

    def __init__(self, series: list[Series], *, height: int = 12, title: str = "",
                 x_label: str = "epoch", y_label: str = "loss", log_y: bool | None = None,
                 log_x: bool = False, marker_x: float | None = None,
                 no_color: bool | None = None, whole_x: bool = False,
                 y_span: tuple[float, float] | None = None) -> None:
        if height < 2:
            raise ValueError(f"height must be at least 2 rows, got {height}")
        self.series, self.height, self.title = series, height, title
        self.x_label, self.y_label = x_label, y_label
        self.log_y, self.log_x, self.marker_x, self.no_color = log_y, log_x, marker_x, no_color
        self.whole_x, self.y_span = whole_x, y_span

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(min(20, options.max_width), options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        # The plot is narrower than the console, so 2 buckets per console column is enough.
        envelopes = [downsample(s.values, 1 if s.scatter else 2 * width) for s in self.series]
        log_y = self._choose_log_y(envelopes)
        curves = [self._scattered(s, log_y) if s.scatter else self._curve(s, env, log_y)
                  for s, env in zip(self.series, envelopes)]
        if not any(curves):
            yield Text("no data yet", style="dim")
            return

        x_lo, x_hi = padded(min(p[0] for c in curves for p in c),
                            max(p[0] for c in curves for p in c), self.log_x)
        y_lo, y_hi = padded(min(p[1] for c in curves for p in c),
                            max(p[2] for c in curves for p in c), log_y)
        if self.y_span is not None and not log_y:  # (a probability's chart from 0 to 1, whatever it reached)
            y_lo, y_hi = min(y_lo, self.y_span[0]), max(y_hi, self.y_span[1])
        digits = 4 if width >= 40 else 2  # narrow consoles need the room for the plot
        y_axis = Axis(y_lo, y_hi, log_y, 4 * self.height)
        labels = y_tick_labels(y_axis, self.height, digits)
        gutter = max(cell_len(label) for label in labels.values())
        cols = max(1, width - gutter - 2)
        x_axis = Axis(x_lo, x_hi, self.log_x, 2 * cols)

        canvases = [_draw(curve, x_axis, y_axis, cols, self.height, s.scatter) for curve, s in zip(curves, self.series)]

        no_color = self.no_color
        if no_color is None:
            no_color = console.no_color or console.color_system is None
        styles = [s.style for s in self.series]
        if no_color:
            styles = ["", *["dim"] * (len(styles) - 1)]
        marker_col = None
        if self.marker_x is not None and (self.marker_x > 0 or not self.log_x):
            t = scale(self.marker_x, self.log_x)
            if x_lo <= t <= x_hi:
                marker_col = x_axis.dot(t) // 2

        # Where a scatter's dots share a cell with a curve, the cell takes the scatter's colour: a row of one
        # class on another's curve read as that class's
        order = sorted(range(len(canvases)), key=lambda i: not self.series[i].scatter)  # (stable: else in order)
        drawing_order = [(canvases[i], styles[i]) for i in order]
        yield from self._header(gutter, cols)
        for row in range(self.height):
            cells = []
            for col in range(cols):
                bits, style = 0, None
                for canvas, series_style in drawing_order:
                    if canvas.cells[row][col]:
                        bits |= canvas.cells[row][col]
                        style = series_style if style is None else style
                if bits:
                    cells.append((chr(_BRAILLE_BLANK | bits), style))
                else:
                    cells.append(("┊" if col == marker_col else " ", "dim"))
            yield from plot_row(console, labels, row, gutter, width, cells)
        yield from self._x_axis(x_axis, gutter, cols, marker_col)
        yield self._legend(styles, no_color, marked=marker_col is not None)

    def _choose_log_y(self, envelopes: list[list[Envelope]]) -> bool:
        positive = [e for env in envelopes for e in env if e.low_positive is not None]
        if not positive:
            return False
        if self.log_y is not None:
            return self.log_y
        return spans_decades(min(e.low_positive for e in positive), max(e.high for e in positive))

    def _curve(self, series: Series, envelopes: list[Envelope],
               log_y: bool) -> list[tuple[float, float, float]]:
        """(x, low, high) in plotting coordinates, leaving out what the axes cannot show."""
        points = []
        for i, e in enumerate(envelopes):
            index = drawn_at(e.start, e.stop, i == 0, i == len(envelopes) - 1)
            x = index + 1 if series.xs is None else float(series.xs[index])
            low = e.low_positive if log_y else e.low
            if low is None or not abs(x) <= LIMIT or (self.log_x and x <= 0):
                continue
            if max(-low, e.high) > LIMIT:
                continue
            points.append((scale(x, self.log_x), scale(low, log_y), scale(e.high, log_y)))
        return points

    def _scattered(self, series: Series, log_y: bool) -> list[tuple[float, float, float]]:
        """A scatter's points as `_curve` gives a curve's, leaving out what the axes cannot show."""
        assert series.xs is not None
        return [(scale(x, self.log_x), scale(y, log_y), scale(y, log_y)) for x, y in zip(series.xs, series.values)
                if abs(x) <= LIMIT and abs(y) <= LIMIT and not (self.log_x and x <= 0) and not (log_y and y <= 0)]

    def _header(self, gutter: int, cols: int) -> RenderResult:
        if self.title or self.y_label:
            yield header_line(self.y_label, self.title, gutter, cols)

    def _epochs(self) -> bool:
        """Whether x is the epoch (no series has x values of its own, or `whole_x` says their x are epochs)."""
        return self.whole_x or all(s.xs is None for s in self.series)

    def _x_axis(self, x_axis: Axis, gutter: int, cols: int,
                marker_col: int | None) -> RenderResult:
        return x_axis_lines(x_axis, gutter, cols, self.x_label, integral=self._epochs(), log=self.log_x,
                            marker_col=marker_col)

    def _legend(self, styles: list[str], no_color: bool, marked: bool) -> Text:
        legend = Text(no_wrap=True, overflow="ellipsis")
        for i, (series, style) in enumerate(zip(self.series, styles)):
            glyph = "•" if series.scatter else "┄" if no_color and i > 0 else "━"
            legend.append(f"{'  ' if i else ''}{glyph} ", style)
            legend.append(series.name, style)
        if marked:
            legend.append(f"  ▲ {self.x_label} {format_tick(self.marker_x, self._epochs())}", "bold")
        return legend
