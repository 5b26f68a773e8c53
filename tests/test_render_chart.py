"""Tests for the braille line chart: shape, width, scales, colours and robustness."""

import io
import math
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment

from conftest import nncli_env
from nncli.render_chart import LineChart, Series, downsample, format_number

BRAILLE = {chr(c) for c in range(0x2801, 0x2900)}
DECREASING = [1 / (1 + e) for e in range(50)]
NOISE = random.Random(7)  # (one generator: a new one for each value drew the same value 200 times, a flat line)
HISTORIES = {
    "flat": [0.5] * 30,
    "decreasing": DECREASING,
    "noisy": [1 + NOISE.gauss(0, 0.3) for _ in range(200)],
    "single epoch": [0.7],
    "extremes": [10 ** (4 - 12 * i / 99) for i in range(100)],
}


def render(chart: LineChart, width: int = 60, color: bool = False) -> list[str]:
    """The chart's output lines, as plain text."""
    console = Console(file=io.StringIO(), width=width, color_system="truecolor" if color else None,
                      force_terminal=color, record=True)
    console.print(chart)
    return console.export_text().splitlines()


def render_segments(chart: LineChart, width: int = 60, **console_options) -> list[list[Segment]]:
    console = Console(file=io.StringIO(), width=width, **console_options)
    return list(Segment.split_lines(console.render(chart)))


def plot_rows(lines: list[str]) -> list[str]:
    return [line for line in lines if any(ch in BRAILLE for ch in line)]


@pytest.mark.parametrize("name", HISTORIES)
@pytest.mark.parametrize("width", [60, 40, 20])
def test_every_history_draws_braille_within_the_width(name, width):
    lines = render(LineChart([Series("train", HISTORIES[name])], height=8), width=width)
    assert plot_rows(lines)
    assert all(cell_len(line) <= width for line in lines)


@pytest.mark.parametrize("width", [60, 40])
def test_lines_fit_the_width_with_colour_codes(width):
    chart = LineChart([Series("train", DECREASING), Series("validation [best]", DECREASING[::-1])],
                      title="a title much longer than the forty columns it has to fit in",
                      marker_x=10)
    lines = render_segments(chart, width=width, color_system="truecolor", force_terminal=True)
    assert all(Segment.get_line_length(line) <= width for line in lines)


@pytest.mark.parametrize("width", [3, 6, 9])
def test_plot_rows_are_cut_at_a_width_too_narrow_for_their_labels(width):
    """A plot row is written as segments, which nothing but the row cuts at the width it was given (a Text
    cut itself): a y label of 6 characters and its axis leave no column in 3, 6 or 9. The chart's and the
    map's rows, read uncut from `console.render`, in colour."""
    from nncli.render_map import RegionMap

    chart = LineChart([Series("train", [0.001234, 0.5, 1234.5]), Series("validation", [0.002, 0.4, 999.0])],
                      height=6, marker_x=2)
    region = RegionMap(lambda xs, ys: ([[(int(x > y), 0.9) for x in xs] for y in ys], ["a", "b"]),
                       (0.0, 1.0), (0.0, 1234.5), "x", "y")
    for renderable in (chart, region):
        lines = render_segments(renderable, width=width, color_system="truecolor", force_terminal=True)
        assert len(lines) > 6 and max(Segment.get_line_length(line) for line in lines) == width


@pytest.mark.parametrize("log_y", [None, False])
def test_decreasing_curve_starts_high_and_ends_low(log_y):
    rows = render(LineChart([Series("train", DECREASING)], height=10, log_y=log_y))[1:11]
    lit = [(col, row) for row, line in enumerate(rows)
           for col, ch in enumerate(line) if ch in BRAILLE]
    leftmost, rightmost = min(col for col, _ in lit), max(col for col, _ in lit)
    assert min(row for col, row in lit if col == leftmost) == 0
    assert min(row for col, row in lit if col == rightmost) == len(rows) - 1


def test_curve_is_continuous():
    # A steep drop still lights a dot in every plot row between its ends.
    lines = render(LineChart([Series("train", [1.0, 0.0, 0.0])], height=6, log_y=False))
    plot = lines[1:7]
    assert all(any(ch in BRAILLE for ch in line) for line in plot)


def test_legend_names_every_series_and_brackets_are_not_markup():
    lines = render(LineChart([Series("train", DECREASING), Series("[bold]validation", DECREASING)]))
    assert "train" in lines[-1]
    assert "[bold]validation" in lines[-1]


def test_extremes_choose_log_scale_and_label_both_ends():
    lines = render(LineChart([Series("train", HISTORIES["extremes"])], height=8))
    text = "\n".join(lines)
    assert "1e+04" in text and "1e-08" in text
    # On a log axis the geometric decay is a straight diagonal: the middle row is lit
    # near the middle.
    middle = lines[1 + 4]
    first_lit = min(i for i, ch in enumerate(middle) if ch in BRAILLE)
    assert 0.3 < first_lit / len(middle) < 0.7


def test_log_scale_is_auto_only_past_a_decade():
    # The middle row of five is labelled with the middle of the range: arithmetic on a
    # linear axis, geometric on a log axis.
    narrow = render(LineChart([Series("train", [0.9, 0.5])], height=5))
    assert narrow[3].split()[0] == "0.7"
    wide = render(LineChart([Series("train", [100.0, 1.0])], height=5))
    assert wide[3].split()[0] == "10"
    forced = render(LineChart([Series("train", [100.0, 1.0])], height=5, log_y=False))
    assert forced[3].split()[0] == "50.5"


def test_log_scale_skips_non_positive_values_and_falls_back_when_none_are_positive():
    assert plot_rows(render(LineChart([Series("train", [1.0, 0.0, -1.0, 0.01])], log_y=True)))
    lines = render(LineChart([Series("train", [-1.0, -2.0, -3.0])], log_y=True, height=5))
    assert plot_rows(lines)
    assert "-1" in lines[1] and "-3" in lines[5]


def test_non_finite_values_are_skipped():
    values = [1.0, math.nan, 0.5, math.inf, -math.inf, 0.25]
    lines = render(LineChart([Series("train", values)], height=5, log_y=False))
    assert plot_rows(lines)
    assert lines[1].split()[0] == "1" and lines[5].split()[0] == "0.25"


@pytest.mark.parametrize("series", [[], [Series("train", [])], [Series("train", [math.nan] * 3)]])
def test_no_data(series):
    assert render(LineChart(series)) == ["no data yet"]


def test_train_and_validation_get_their_own_colours():
    chart = LineChart([Series("train", DECREASING, style="cyan"),
                       Series("validation", [v + 0.2 for v in DECREASING], style="magenta")])
    lines = render_segments(chart, color_system="truecolor", force_terminal=True, no_color=False)
    colours = {str(seg.style.color.name) for line in lines for seg in line
               if seg.style and seg.style.color and any(ch in BRAILLE for ch in seg.text)}
    assert colours == {"cyan", "magenta"}


@pytest.mark.parametrize("console_options", [{"no_color": True, "force_terminal": True},
                                             {"color_system": None}])
def test_without_colour_the_second_series_is_dim(console_options):
    chart = LineChart([Series("train", DECREASING),
                       Series("validation", [v + 0.2 for v in DECREASING])])
    lines = render_segments(chart, **console_options)
    braille = [seg for line in lines for seg in line if any(ch in BRAILLE for ch in seg.text)]
    assert {bool(seg.style and seg.style.dim) for seg in braille} == {True, False}
    [validation] = [seg for seg in lines[-1] if "validation" in seg.text]
    [train] = [seg for seg in lines[-1] if "train" in seg.text]
    assert validation.style.dim and not (train.style and train.style.dim)


def test_explicit_no_color_overrides_the_console():
    chart = LineChart([Series("train", DECREASING, style="cyan")], no_color=True)
    lines = render_segments(chart, color_system="truecolor", force_terminal=True)
    assert not any(seg.style and seg.style.color for line in lines for seg in line)


def test_long_history_renders_the_same_lines_as_a_short_one():
    short = [1 / (1 + e) for e in range(100)]
    long = [1 / (1 + e / 1000) for e in range(100_000)]
    short_lines = render(LineChart([Series("train", short)]))
    long_lines = render(LineChart([Series("train", long)]))
    assert len(long_lines) == len(short_lines)
    assert "100000" in long_lines[-2].split()


def test_downsample_keeps_the_envelope_of_every_bucket():
    values = [0.0] * 1000
    values[123] = 5.0
    values[777] = -5.0
    envelopes = downsample(values, 10)
    assert len(envelopes) == 10
    assert max(e.high for e in envelopes) == 5.0 and min(e.low for e in envelopes) == -5.0
    assert [e.start for e in envelopes] == list(range(0, 1000, 100))
    assert envelopes[7].low_positive is None


def test_downsample_keeps_short_series_point_for_point():
    assert [(e.low, e.high) for e in downsample([3.0, 1.0, 2.0], 10)] == [(3, 3), (1, 1), (2, 2)]


def test_marker_and_explicit_xs():
    lrs = [10 ** (-6 + i / 10) for i in range(61)]
    chart = LineChart([Series("loss", [1 + abs(i - 40) / 10 for i in range(61)], xs=lrs)],
                      log_x=True, x_label="learning rate", marker_x=1e-2, height=6)
    lines = render(chart)
    assert "▲" in lines[-3]
    assert "1e-06" in lines[-2] and lines[-2].rstrip().endswith("1")
    assert "learning rate" in lines[-2]


@pytest.mark.parametrize("value, text", [(0.4512345, "0.4512"), (0.0012, "1.2e-03"),
                                         (13000, "1.3e+04"), (1e-8, "1e-08"), (0, "0"),
                                         (-2.5, "-2.5"), (1234.4, "1234")])
def test_format_number(value, text):
    assert format_number(value) == text


def test_labels_turn_scientific_below_a_hundredth_and_from_ten_thousand():
    """0.01 read `1e-02` and 10,000 `10000`: the plain range is 0.01 up to (not including) 1e4."""
    assert [format_number(v) for v in (0.01, -0.01, 9999, -9999)] == ["0.01", "-0.01", "9999", "-9999"]
    assert [format_number(v) for v in (0.00999, 10000, -10000)] == ["9.99e-03", "1e+04", "-1e+04"]
    assert format_number(10000, 6) == "1e+04" and format_number(12345.6, 6) == "1.23456e+04"  # (more digits too)
    assert [format_number(v) for v in (math.inf, -math.inf, math.nan)] == ["inf", "-inf", "nan"]


def test_scientific_labels_keep_at_most_the_digits_asked():
    """Scientific labels had a significant digit more than plain ones (`1.2346e-03` for 4)."""
    from nncli.chart_scale import format_number as label

    for v in (0.00123456, 123456789.0, -0.00098765):
        mantissa = label(v).split("e")[0].lstrip("-").replace(".", "")
        assert len(mantissa) == 4, label(v)
        assert len(label(v, 2).split("e")[0].lstrip("-").replace(".", "")) <= 2


def test_a_whole_x_too_large_to_read_digit_by_digit_stays_scientific():
    from nncli.chart_scale import format_tick

    assert format_tick(29340.0, whole=True) == "29340"
    assert format_tick(1e20, whole=True) == format_number(1e20) == "1e+20"


def test_axis_labels_get_the_digits_that_tell_them_apart():
    """An axis from 1,000,000.00 to 1,000,000.05 had every label `1e+06`; a value labelled twice (a flat
    curve's ticks) asked for every digit there is."""
    from nncli.chart_scale import telling_digits

    close = [1_000_000.0, 1_000_000.01, 1_000_000.05]
    digits = telling_digits(close)
    assert len({format_number(v, digits) for v in close}) == 3
    assert telling_digits([0.5, 0.5, 0.5, 1.0]) == telling_digits([0.5, 1.0]) == 4


def test_tick_steps_are_round_numbers_near_or_above_the_rough_step():
    """A step of exactly 2 was rounded up to 5 where it need not be below 2 (the SVG chart's ticks), and
    the nearest round step is nearest by ratio, not by difference."""
    from nncli.chart_scale import nice_step

    assert [nice_step(v, at_least=True) for v in (0.2, 2.0, 5.0, 10.0)] == [0.2, 2.0, 5.0, 10.0]
    assert [nice_step(v, at_least=True) for v in (2.1, 5.5)] == [5.0, 10.0]
    assert nice_step(3.3) == 5.0 and nice_step(3.0) == 2.0  # (3.3: 5/3.3 < 3.3/2)


def test_a_single_decade_keeps_a_linear_axis():
    """A curve from 10 down to 1 spans one decade, not more: it is drawn on a linear axis, as the SVG's."""
    from nncli.chart_scale import spans_decades

    assert not spans_decades(1.0, 10.0) and spans_decades(1.0, 10.01)
    rows = render(LineChart([Series("train", [10.0, 1.0])], height=5))
    assert rows[3].split()[0] == "5.5"  # the middle of the range: arithmetic


def test_a_flat_curve_on_a_log_axis_gets_half_a_decade_either_side():
    """A flat curve on a log axis is widened by half a decade each way (a linear one by a tenth of its
    value): widened by less, its labels crowd round the value, 1.783 and 2.244 about 2."""
    rows = render(LineChart([Series("train", [2.0] * 5)], height=5, log_y=True))
    labels = [float(line.split()[0]) for line in rows if "┤" in line]
    assert labels[1] == 2.0
    assert labels[0] / 2.0 == pytest.approx(10 ** 0.5, rel=1e-3)
    assert 2.0 / labels[-1] == pytest.approx(10 ** 0.5, rel=1e-3)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=300),
       width=st.integers(20, 200), log_y=st.sampled_from([None, True, False]))
def test_any_values_render_within_the_width(values, width, log_y):
    lines = render(LineChart([Series("train", values), Series("validation", values[::-1])],
                             log_y=log_y, height=4), width=width)
    assert lines and all(cell_len(line) <= width for line in lines)


def test_imports_neither_numpy_nor_typer():
    code = "import sys, nncli.render_chart; print(sorted({'numpy', 'typer'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=nncli_env())
    assert result.stdout.strip() == "[]"


def test_epochs_past_ten_thousand_keep_whole_numbers_on_both_charts():
    """A long run's epoch ticks read `5000  1e+04  1.5e+04  2e+04  2.934e+04` (a helper's audit)."""
    from nncli.svg_chart import render_svg

    losses = [1 / (1 + i) for i in range(29340)]
    lines = render(LineChart([Series("train", losses)], height=6, marker_x=29000), width=90)
    ticks, legend = lines[-2].split(), lines[-1]
    assert ticks[0] == "epoch" and [int(t) for t in ticks[1:]] == [1, 5000, 10000, 15000, 20000, 25000, 29340]
    assert legend.endswith("▲ epoch 29000")
    svg = render_svg([("train", losses)], marker_x=29000)
    assert "e+" not in svg and ">epoch 29000<" in svg
    rates = render(LineChart([Series("loss", [1.0, 0.5, 0.7], xs=[1e-5, 1e-3, 1e5])], height=6, log_x=True), width=60)
    assert "1e+05" in rates[-2]  # (other x values keep format_number's labels)


def test_a_scatter_is_one_dot_a_point_never_joined_nor_reduced():
    def dots(scatter: bool) -> int:
        xs, ys = [0.0, 10.0, 5.0, 2.0], [0.0, 10.0, 0.0, 7.0]  # (not in x order: a scatter may not be)
        text = "".join(render(LineChart([Series("rows", ys, xs=xs, scatter=scatter)], height=6, log_y=False)))
        return sum(bin(ord(ch) - 0x2800).count("1") for ch in text if 0x2800 < ord(ch) <= 0x28FF)

    assert dots(True) == 4
    assert dots(False) > 20  # (a curve joins its points)


def test_a_scatters_dots_take_their_own_colour_where_they_share_a_cell_with_a_curve():
    chart = LineChart([Series("curve", [1.0, 1.0], xs=[0.0, 10.0], style="cyan"),
                       Series("rows", [1.0], xs=[5.0], style="magenta", scatter=True)], height=4, log_y=False)
    styles = {str(seg.style) for line in render_segments(chart, force_terminal=True, color_system="truecolor")
              for seg in line
              if seg.text and 0x2800 < ord(seg.text[0]) <= 0x28FF}
    assert "magenta" in styles and "cyan" in styles


def test_a_scatters_points_are_drawn_at_their_own_height():
    """A scatter (the rows of the live screen's view) was drawn upside down and no test saw it: the row
    at 10 showed at the bottom, the row at 0 at the top (a mutant)."""
    lines = render(LineChart([Series("rows", [0.0, 10.0], xs=[0.0, 10.0], scatter=True)], height=4, log_y=False),
                   width=30)
    rows = [line for line in lines if "┤" in line or "│" in line]
    lit = [(row, col) for row, line in enumerate(rows) for col, ch in enumerate(line) if ch in BRAILLE]
    assert len(lit) == 2
    (top, top_col), (bottom, bottom_col) = min(lit), max(lit)
    assert (top, bottom) == (0, len(rows) - 1)
    assert top_col > bottom_col  # the high point (x 10) right, the low one (x 0) left


@pytest.mark.parametrize("epochs", [7, 12, 99, 999, 12345])
@pytest.mark.parametrize("width", [20, 23, 26, 60])
def test_tick_labels_and_the_axis_name_never_run_together(epochs, width):
    """Each tick label keeps a blank either side: without, ticks 10 and 12 read `1012`, and epoch 1 and
    the axis name `1epoch` (a mutant that dropped the margin)."""
    lines = render(LineChart([Series("train", [1 / (1 + i) for i in range(epochs)])], height=4), width=width)
    ticks = [t for t in lines[-2].split() if t != "epoch"]
    assert all(t.isdigit() for t in ticks), lines[-2]
    assert [int(t) for t in ticks] == sorted({int(t) for t in ticks}) and 1 <= int(ticks[0]) <= int(ticks[-1]) <= epochs


@pytest.mark.parametrize("width", [60, 80])
def test_the_axis_name_takes_the_widest_gap_and_leaves_the_middle_ticks(width):
    """lr-find's chart: `learning rate` put in the narrowest gap did not fit, and the middle ticks gave way
    to it where there was room for both (a mutant: at 60 and 80 columns only 1e-06 and 1 were left)."""
    lrs = [10 ** (-6 + i / 10) for i in range(61)]
    lines = render(LineChart([Series("loss", [1 + abs(i - 40) / 10 for i in range(61)], xs=lrs)], log_x=True,
                             x_label="learning rate", height=3), width=width)
    ticks = lines[-2].replace("learning rate", " ").split()
    assert "learning rate" in lines[-2] and ticks[0] == "1e-06" and ticks[-1] == "1"
    assert "0.01" in ticks


def test_each_value_is_drawn_at_its_nearest_dot():
    """An axis cut values down to the dot below (int, not round): a point was drawn up to a whole dot off
    (a mutant)."""
    from nncli.render_chart import Axis

    for lo, hi, dots in [(0.0, 1.0, 40), (-3.0, 7.5, 113), (1.0, 29340.0, 160)]:
        axis = Axis(lo, hi, False, dots)
        spacing = (hi - lo) / (dots - 1)
        for k in range(1001):
            t = lo + (hi - lo) * k / 1000
            assert abs(axis.value(axis.dot(t)) - t) <= spacing / 2 + 1e-9


def test_y_labels_end_at_the_axis():
    """The y labels are right-aligned against their ┤: left-aligned (a mutant), `0.2` stood apart from
    its tick while `1.043` touched its own."""
    lines = render(LineChart([Series("train", [1.043, 0.5, 0.2])], height=5, log_y=False))
    labelled = [line.split("┤")[0] for line in lines if "┤" in line]
    assert len(labelled) == 3 and len({len(label) for label in labelled}) == 1
    assert all(label.endswith(" ") and not label.endswith("  ") for label in labelled), labelled


def test_a_title_is_centred_over_the_plot():
    """lr-find's `learning-rate sweep` sat beside the y axis's name instead of over the middle of the plot
    (a mutant)."""
    title = "learning-rate sweep"
    lines = render(LineChart([Series("train", [1.0, 0.5, 0.2])], height=3, title=title), width=60)
    start = lines[0].index(title)
    plot = lines[1].index("┤") + 1  # (the plot's columns run from after the axis to the line's end)
    assert abs((start + len(title) / 2) - (plot + (60 - plot) / 2)) <= 1


@pytest.mark.parametrize("epochs", [1, 2, 3])
@pytest.mark.parametrize("width", [40, 60])
def test_a_short_runs_ticks_are_its_own_epochs(epochs, width):
    """Ticks on an epoch axis are epochs the run had: a run of one epoch was ticked 0 and 2 (a mutant that
    rounded the axis's ends outward), one of three 1.5 and 2.5 (one that let the step go below an epoch)."""
    lines = render(LineChart([Series("train", [1 / (1 + i) for i in range(epochs)])], height=3), width=width)
    ticks = [t for t in lines[-2].split() if t != "epoch"]
    assert ticks and all(t.isdigit() and 1 <= int(t) <= epochs for t in ticks), lines[-2]
    assert ticks[-1] == str(epochs)


def test_a_marker_past_the_drawn_curve_is_not_named_in_the_legend():
    """Weights kept from epoch 10 of a run whose loss was NaN after epoch 3: the curve ends at 3, and no ▲
    can be drawn. A mutant named `▲ epoch 10` in the legend all the same, of a mark nowhere on the chart."""
    lines = render(LineChart([Series("train", [1.0, 0.5, 0.4] + [math.nan] * 7)], height=3, marker_x=10))
    assert "▲" not in "\n".join(lines) and "┊" not in "\n".join(lines)
    marked = render(LineChart([Series("train", [1.0, 0.5, 0.4] + [math.nan] * 7)], height=3, marker_x=2))
    assert marked[-1].endswith("▲ epoch 2") and "▲" in marked[-3]


def test_an_x_label_as_wide_as_the_gutter_goes_in_the_gutter():
    """`epoch` beside y labels five characters wide (`0.125`) goes left of the ticks, as a shorter one does;
    a mutant took only a shorter one there and put `epoch` among the ticks."""
    lines = render(LineChart([Series("train", [0.125, 0.5, 0.25])], height=3), width=60)
    assert lines[-2].startswith("epoch  1") and lines[-2].split()[1:] == ["1", "2", "3"]


def test_the_marked_epoch_is_a_dotted_column_above_its_triangle():
    """The ▲ under the axis has a dotted column above it, through the plot where the curve is not: a
    mutant left the plot blank there, the mark only on the axis."""
    lines = render(LineChart([Series("train", DECREASING)], height=8, marker_x=20), width=60)
    col = lines[-3].index("▲")
    above = [line[col] for line in lines[1:9]]
    assert above.count("┊") >= 4 and set(above) <= {"┊"} | BRAILLE, above
    assert all("┊" not in line[:col] + line[col + 1:] for line in lines[1:9])


def test_x_values_said_to_be_epochs_are_ticked_as_whole_epochs():
    """`show`'s gradient chart gives the epochs it measured as x values (whole_x): a mutant that ignored
    whole_x ticked a run of 3 epochs `1 1.5 2 2.5 3`."""
    lines = render(LineChart([Series("gradient", [1.0, 0.5, 0.2], xs=[1, 2, 3])], height=3, whole_x=True), width=60)
    assert lines[-2].split() == ["1", "epoch", "2", "3"]


def test_a_lone_point_fills_its_cells_width():
    """One epoch is one point: drawn as a single dot it was easy to miss (a mutant); it takes both dot
    columns of its cell."""
    lit = [ch for line in render(LineChart([Series("train", [0.7])], height=4)) for ch in line if ch in BRAILLE]
    assert len(lit) == 1
    bits = ord(lit[0]) - 0x2800
    assert bits & 0x47 and bits & 0xB8  # a dot in the left column (dots 1-3, 7) and in the right (4-6, 8)
