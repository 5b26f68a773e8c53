"""A map of what a model predicts over the plane of its two features, for the terminal, as a Rich renderable.

`nncli show` draws it for a model of two numeric features: each class a colour (darker the less its lead
over the next class, so that a decision boundary is a dark seam), or for regression the predicted value
on a colour ramp. In colour each character cell holds two pixels, one above the other (an upper half
block: its foreground the top pixel, its background the bottom), so that a pixel is about square.
Without colour (NO_COLOR, a file or a pipe, or a terminal of 16 colours) each cell is one pixel drawn as
a character: a glyph a class, blank where the model is unsure, or a ramp of denser characters for larger
values. Rows of a file may be drawn over it (`show --data`).

May import Rich, the standard library, nncli.chart_scale and nncli.render_chart (for the axis it shares with
the line charts) only: no numpy. The caller's `sample` function runs the model on the grid the size of the
console calls for.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

from rich.cells import cell_len
from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.text import Text

from nncli.chart_scale import padded
from nncli.render_chart import Axis, header_line, plot_row, x_axis_lines, y_tick_labels

# One colour a class (Tableau 10): told apart on dark and light terminals, and by most colour-blind eyes
# in the first four.
CLASS_RGB = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
             (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
CLASS_GLYPHS = "ox+#*=%@&~"  # without colour: one a class, in the same order
POINT_GLYPHS = "ABCDEFGHIJ"  # without colour, a row of a file drawn over the map, by its class
# A regression's value from low to high: viridis (even in lightness, so it reads in grey too), and its
# characters from sparse to dense.
RAMP_RGB = ((68, 1, 84), (70, 50, 127), (54, 92, 141), (39, 127, 142), (31, 161, 135), (74, 194, 109),
            (159, 218, 58), (253, 231, 37))
RAMP_GLYPHS = ".:-=+*#@"
UNKNOWN_RGB, UNKNOWN_GLYPH = (90, 90, 90), "?"  # where the model gives NaN or ±inf
UNDER_POINTS = 0.5  # a map's brightness under rows drawn over it
FADE_STEPS = 16  # shades of sureness drawn
UNSURE = 0.2  # without colour, blank where the likeliest class leads the next by less (two classes: P < 0.6)
MAX_COLUMNS = 72  # a map wider than this is no clearer, only taller
MIN_ROWS, MAX_ROWS = 6, 20

# sample(xs, ys) -> (rows of (level, sureness) pixels, the first row at ys[0], and the legend's names): a
# level is a class index or a step of the ramp (-1: unknown), the sureness in [0, 1] (1 for regression);
# the names are the classes, or a ramp's lowest and highest value as text.
Pixels = Sequence[Sequence[tuple[int, float]]]
Sampler = Callable[[Sequence[float], Sequence[float]], tuple[Pixels, Sequence[str]]]


def _level_rgb(level: int, ramp: bool) -> tuple[int, int, int]:
    """A level's colour: a class's, a step of the ramp's, or unknown's (a level below 0)."""
    if level < 0:
        return UNKNOWN_RGB
    return (RAMP_RGB if ramp else CLASS_RGB)[level % len(CLASS_RGB)]


def _shade(rgb: tuple[int, int, int], step: int, under_points: bool) -> Color:
    """`rgb` darkened toward black as the sureness falls (`step` of FADE_STEPS), never below a quarter:
    unsure is a dark seam. `under_points`: half as bright again, so that rows drawn in their class's own
    colour stand out."""
    k = (0.25 + 0.75 * step / FADE_STEPS) * (UNDER_POINTS if under_points else 1.0)
    return Color.from_rgb(*(round(c * k) for c in rgb))


@functools.lru_cache(maxsize=16384)
def _half_block(ramp: bool, upper: int, upper_step: int, lower: int, lower_step: int, under_points: bool) -> Style:
    """A cell's two pixels, each a level and a step of sureness: the upper half block's colour over its
    background's. Made once a combination: a live screen draws a map several times a second, and making
    the colours and styles anew was most of a frame's time. (Rich keeps a Style's codes for the colour system
    it was first written in, as it does with the styles it makes itself: nncli writes to one console.)"""
    return Style(color=_shade(_level_rgb(upper, ramp), upper_step, under_points),
                 bgcolor=_shade(_level_rgb(lower, ramp), lower_step, under_points))


@functools.lru_cache(maxsize=4096)
def _dot(level: int, ramp: bool, cell: Style) -> Style:
    """A row of a file drawn over a `_half_block` cell: a bold dot in its level's colour, on the mean of the
    cell's two pixels."""
    upper, lower = cell.color.get_truecolor(), cell.bgcolor.get_truecolor()
    mean = Color.from_rgb(*((u + v) // 2 for u, v in zip(upper, lower)))
    return Style(color=Color.from_rgb(*_level_rgb(level, ramp)), bgcolor=mean, bold=True)


@dataclass
class RegionMap:
    """What a model predicts over `x_range` × `y_range` of its two features, drawn across the console.

    With `ramp`, a regression's values on a colour ramp; else classes, each a colour. The map's height
    follows the ranges' ratio, so that shapes keep their proportions while the two features' units are
    alike (between MIN_ROWS and MAX_ROWS rows).
    """

    sample: Sampler
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    x_label: str
    y_label: str
    ramp: bool = False
    title: str = ""
    no_color: bool | None = None
    # Rows of a file drawn over the map, (x, y, level): a class index, or a step of the ramp for the value
    # (POINT_GLYPHS, or digits for steps, without colour); `points_name` says whose, in the legend.
    points: Sequence[tuple[float, float, int]] = ()
    points_name: str = ""
    max_rows: int = MAX_ROWS  # (the live screen's room)
    max_columns: int = MAX_COLUMNS  # (the live screen draws a smaller map: a frame's cost is its cells')

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(min(20, options.max_width), options.max_width)

    def _glyph(self, level: int, sureness: float) -> str:
        if level < 0:
            return UNKNOWN_GLYPH
        if self.ramp:
            return RAMP_GLYPHS[level]
        return CLASS_GLYPHS[level % len(CLASS_GLYPHS)] if sureness >= UNSURE else " "

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        no_color = self.no_color
        if no_color is None:  # (16 colours: classes 0 and 2 both came out bright black, so glyphs instead)
            no_color = console.no_color or console.color_system in (None, "standard", "windows")
        (x_lo, x_hi), (y_lo, y_hi) = padded(*self.x_range, False), padded(*self.y_range, False)
        digits = 4 if options.max_width >= 40 else 2
        # The rows follow the ranges' ratio at the widest the map may be (a cell is about twice as tall as
        # wide: two pixels a cell are square; spans of 1e-9 and 1e299 make the ratio inf, which the bounds
        # take); its width follows the y labels', the values at the rows' middles.
        ratio = min(self.max_columns, options.max_width) * ((y_hi - y_lo) / (x_hi - x_lo)) / 2
        most = max(1, self.max_rows)
        rows = round(max(min(MIN_ROWS, most), min(most, ratio))) if ratio == ratio else most
        y_axis = Axis(y_lo, y_hi, False, 4 * rows)
        labels = y_tick_labels(y_axis, rows, digits)
        gutter = max(cell_len(label) for label in labels.values())
        cols = max(2, min(self.max_columns, options.max_width - gutter - 2))
        pixel_rows = rows if no_color else 2 * rows
        x_axis = Axis(x_lo, x_hi, False, 2 * cols)
        per = 4 * rows // pixel_rows  # the y axis's dots a pixel
        xs = [x_axis.value(2 * c + 0.5) for c in range(cols)]
        ys = [y_axis.value(y_axis.dots - 1 - (per * q + (per - 1) / 2)) for q in range(pixel_rows)]
        pixels, names = self.sample(xs, ys)

        drawn, outside = self._cells(x_lo, x_hi, y_lo, y_hi, cols, rows)

        yield header_line(self.y_label, self.title, gutter, cols)
        for row in range(rows):
            if no_color:
                cells = [(self._point_glyph(drawn[row, col]) if (row, col) in drawn else self._glyph(level, sure), "")
                         for col, (level, sure) in enumerate(pixels[row])]
            else:
                top, bottom = pixels[2 * row], pixels[2 * row + 1]
                under, cells = bool(drawn), []
                for col, ((a, s), (b, t)) in enumerate(zip(top, bottom)):  # (sureness in FADE_STEPS steps)
                    style = _half_block(self.ramp, a, round(min(1.0, max(0.0, s)) * FADE_STEPS),
                                        b, round(min(1.0, max(0.0, t)) * FADE_STEPS), under)
                    dot = drawn.get((row, col))
                    cells.append(("▀", style) if dot is None else ("●", _dot(dot, self.ramp, style)))
            yield from plot_row(console, labels, row, gutter, options.max_width, cells)
        yield from x_axis_lines(x_axis, gutter, cols, self.x_label)
        yield from self._legend(list(names), no_color, unknown=any(level < 0 for row in pixels for level, _ in row))
        if outside:
            yield Text(f"({outside:,} of the rows drawn lie{'s' if outside == 1 else ''} outside the map)", style="dim")

    def _cells(self, x_lo: float, x_hi: float, y_lo: float, y_hi: float, cols: int,
               rows: int) -> tuple[dict[tuple[int, int], int], int]:
        """The character cell of each point's (row, column), with the level most of its points have (the
        lowest of a tie), and how many points lie outside the map."""
        counts: dict[tuple[int, int], Counter] = {}
        outside = 0
        for x, y, level in self.points:
            if not (x_lo <= x <= x_hi and y_lo <= y <= y_hi):
                outside += 1
                continue
            col = min(cols - 1, int((x - x_lo) / (x_hi - x_lo) * cols))
            row = min(rows - 1, int((y_hi - y) / (y_hi - y_lo) * rows))
            counts.setdefault((row, col), Counter())[level] += 1
        return {cell: min(c, key=lambda k: (-c[k], k)) for cell, c in counts.items()}, outside

    def _point_glyph(self, level: int) -> str:
        return str(level) if self.ramp else POINT_GLYPHS[level % len(POINT_GLYPHS)]

    def _legend(self, names: list[str], no_color: bool, unknown: bool = False) -> RenderResult:
        """The classes' colours or glyphs, or the ramp's (and `unknown`'s, where the model gives NaN or ±inf),
        then a line on the rows drawn, if any."""
        legend = Text(no_wrap=True, overflow="ellipsis")
        if self.ramp:
            low, high = names
            legend.append(f"{low} ")
            if no_color:
                legend.append(RAMP_GLYPHS)
            else:
                for rgb in RAMP_RGB:
                    legend.append("█", Style(color=Color.from_rgb(*rgb)))
            legend.append(f" {high}")
        else:
            for k, name in enumerate(names):
                legend.append("  " if k else "")
                if no_color:
                    glyph = CLASS_GLYPHS[k % len(CLASS_GLYPHS)]
                    legend.append(f"{glyph}/{self._point_glyph(k)}" if self.points else glyph)
                else:
                    legend.append("█", Style(color=Color.from_rgb(*_level_rgb(k, self.ramp))))
                legend.append(f" {name}")
            legend.append("  (blank: unsure)" if no_color else "  (dark: unsure)", "dim")
        if unknown:
            legend.append("  ")
            legend.append(UNKNOWN_GLYPH if no_color else "█",
                          None if no_color else Style(color=Color.from_rgb(*UNKNOWN_RGB)))
            legend.append(" no prediction (not a finite number)")
        yield legend
        if self.points:
            by = "value" if self.ramp else "label"
            if no_color:
                glyphs = f"0–{len(RAMP_GLYPHS) - 1}" if self.ramp else "capitals"
                yield Text(f"({glyphs}: the {self.points_name}, by their {by})", style="dim")
            else:
                yield Text(f"(●: the {self.points_name}, in their {by}'s colour)", style="dim")
