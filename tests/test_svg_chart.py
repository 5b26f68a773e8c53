"""Tests for the SVG line chart: a valid document, one path per curve, scales and escaping."""

import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nncli.svg_chart import MAX_POINTS, render_svg

SVG = "{http://www.w3.org/2000/svg}"
DECREASING = [1 / (1 + e) for e in range(50)]


def parse(svg: str) -> ET.Element:
    assert svg.startswith("<?xml")
    return ET.fromstring(svg.encode())


def paths(root: ET.Element) -> list[ET.Element]:
    return [p for p in root.iter(f"{SVG}path") if p.get("class") == "series"]


def tick_labels(root: ET.Element, axis: str) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")
            if t.get("class") == f"tick {axis}"]


def coordinates(path: ET.Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", path.get("d"))]


@pytest.mark.parametrize("n_series", [1, 2])
def test_one_path_per_series(n_series):
    series = [("train", DECREASING), ("validation", [v + 0.1 for v in DECREASING])][:n_series]
    root = parse(render_svg(series))
    assert root.tag == f"{SVG}svg"
    found = paths(root)
    assert [p.get("data-name") for p in found] == [name for name, _ in series]
    assert len({p.get("stroke") for p in found}) == n_series
    assert all(len(coordinates(p)) == len(DECREASING) for p in found)


def test_decreasing_curve_goes_down_the_page():
    [path] = paths(parse(render_svg([("train", DECREASING)])))
    points = coordinates(path)
    # SVG y grows downwards.
    assert points[0][1] < points[-1][1] and points[0][0] < points[-1][0]


def test_log_scale_for_a_series_spanning_decades():
    root = parse(render_svg([("train", [10 ** (-6 * i / 49) for i in range(50)])]))
    labels = tick_labels(root, "y")
    assert {"10-6", "100"} <= set(labels)
    assert all(label.startswith("10") for label in labels)


def test_linear_scale_for_a_narrow_series():
    root = parse(render_svg([("train", [0.9 - 0.4 * i / 49 for i in range(50)])]))
    labels = tick_labels(root, "y")
    assert "0.5" in labels and "0.9" in labels
    assert not any(label.startswith("10") for label in labels)


def test_forced_log_scale_on_a_narrow_series_still_has_ticks():
    labels = tick_labels(parse(render_svg([("train", [0.9, 0.5])], log_y=True)), "y")
    assert len(labels) >= 2


def test_user_text_is_escaped():
    name = 'val <&> "quoted"'
    root = parse(render_svg([(name, DECREASING)], title="<title> & co", x_label="x<1",
                            y_label="a&b"))
    assert paths(root)[0].get("data-name") == name
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert {name, "<title> & co", "x<1", "a&b"} <= set(texts)


def test_non_finite_values_leave_gaps():
    values = [1.0, 0.8, math.nan, 0.5, math.inf, -math.inf, 0.3, 0.2]
    [path] = paths(parse(render_svg([("train", values)])))
    assert path.get("d").count("M") == 3
    assert len(coordinates(path)) == 5


def test_log_scale_skips_non_positive_values():
    [path] = paths(parse(render_svg([("train", [1.0, 0.0, 1e-3, -1.0, 1e-4])])))
    assert len(coordinates(path)) == 3


def test_marker_line_at_marker_x():
    root = parse(render_svg([("train", DECREASING)], marker_x=10))
    [marker] = [line for line in root.iter(f"{SVG}line") if line.get("class") == "marker"]
    assert marker.get("stroke-dasharray")
    [path] = paths(root)
    assert float(marker.get("x1")) == pytest.approx(coordinates(path)[9][0], abs=0.11)
    assert not [line for line in parse(render_svg([("train", DECREASING)])).iter(f"{SVG}line")
                if line.get("class") == "marker"]


def test_explicit_xs_on_a_log_axis():
    lrs = [10 ** (-6 + i / 10) for i in range(61)]
    losses = [1 + abs(i - 40) / 10 for i in range(61)]
    root = parse(render_svg([("loss", losses)], xs=lrs, log_x=True, x_label="learning rate"))
    assert {"10-6", "10-3", "100"} <= set(tick_labels(root, "x"))
    xs = [x for x, _ in coordinates(paths(root)[0])]
    steps = [b - a for a, b in zip(xs, xs[1:])]
    assert max(steps) - min(steps) < 0.2  # geometric learning rates are evenly spaced


def test_long_history_is_downsampled_keeping_its_envelope():
    values = [1.0] * 100_000
    values[54_321] = 50.0
    [path] = paths(parse(render_svg([("train", values)])))
    points = coordinates(path)
    assert len(points) <= MAX_POINTS
    top = min(y for _, y in points)
    assert sum(1 for _, y in points if y == top) == 1  # the spike survives


@pytest.mark.parametrize("series", [[], [("train", [])], [("train", [math.nan])],
                                    [("train", [0.7])]])
def test_degenerate_series_still_make_a_document(series):
    root = parse(render_svg(series))
    assert len(paths(root)) == len(series)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=200),
       log_y=st.sampled_from([None, True, False]))
@example(values=[5e-324], log_y=True)  # found by hypothesis: 10**-324 underflowed to 0 in the tick rule
@example(values=[0.0, 5e-324], log_y=None)
def test_any_values_make_a_valid_document(values, log_y):
    root = parse(render_svg([("train", values), ("validation", values[::-1])], log_y=log_y))
    assert len(paths(root)) == 2
    for path in paths(root):
        assert all(math.isfinite(x) and math.isfinite(y) for x, y in coordinates(path))


def test_imports_only_the_standard_library():
    code = "import sys, nncli.svg_chart; print(sorted({'numpy', 'rich'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("validation, corner", [
    ([v + 0.1 for v in DECREASING], "top right"),  # falling curves leave the top right free
    ([0.5 + abs(e - 25) / 25 for e in range(50)], "bottom left"),  # overfitting: it rises at the end
])
def test_the_legend_goes_where_it_hides_the_fewest_points(validation, corner):
    """The legend sat in the top right always, over the validation loss rising at the end of a run
    (177 of 1,000 epochs hidden), the very thing the chart is for."""
    root = parse(render_svg([("train", DECREASING), ("validation", validation)]))
    box = next(r for r in root.iter(f"{SVG}rect") if r.get("class") == "legend")
    x0, y0 = float(box.get("x")), float(box.get("y"))
    x1, y1 = x0 + float(box.get("width")), y0 + float(box.get("height"))
    hidden = [(x, y) for p in paths(root) for x, y in coordinates(p) if x0 <= x <= x1 and y0 <= y <= y1]
    assert hidden == []
    width, height = float(root.get("width")), float(root.get("height"))
    assert corner == ("top" if y0 < height / 2 else "bottom") + " " + ("right" if x0 > width / 2 else "left")
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert all(x0 <= float(t.get("x")) <= x1 and y0 <= float(t.get("y")) <= y1 for t in labels)


def legend_entries(root: ET.Element) -> list[tuple[str, float, str]]:
    """The legend's (name, y, swatch colour) in order."""
    texts = [t for t in root.iter(f"{SVG}text") if t.get("class") == "legend"]
    swatches = [line for line in root.iter(f"{SVG}line") if line.get("class") == "legend"]
    assert len(texts) == len(swatches)
    for t, line in zip(texts, swatches):
        assert abs(float(t.get("y")) - 4 - float(line.get("y1"))) <= 1  # a name beside its own swatch
    return [("".join(t.itertext()), float(t.get("y")), line.get("stroke")) for t, line in zip(texts, swatches)]


def test_each_legend_entry_has_its_own_line_and_its_curves_colour():
    """Swatches all in the first curve's colour, or every name written on one line over the others: the
    legend's place was tested, not what it says."""
    series = [("train", DECREASING), ("validation", [v + 0.1 for v in DECREASING]), ("third", DECREASING[::-1])]
    root = parse(render_svg(series))
    entries = legend_entries(root)
    assert [name for name, _, _ in entries] == [name for name, _ in series]
    assert [colour for _, _, colour in entries] == [p.get("stroke") for p in paths(root)]
    ys = [y for _, y, _ in entries]
    assert all(b - a >= 11 for a, b in zip(ys, ys[1:]))  # a line of 11-pixel text each


def test_no_data_is_said_only_when_there_is_nothing_to_draw():
    """'no data' across the middle of every chart with curves passed: only documents without data were
    checked for it."""
    def says_no_data(series) -> bool:
        return "no data" in ["".join(t.itertext()) for t in parse(render_svg(series)).iter(f"{SVG}text")]

    assert says_no_data([("train", [math.nan])]) and says_no_data([])
    assert not says_no_data([("train", DECREASING)]) and not says_no_data([("train", [0.7])])


def test_a_value_with_no_neighbour_is_still_drawn_as_a_dot():
    """A one-epoch run, or a value between two NaNs, is a run of one point: a path of a bare moveto draws
    nothing at all (the round cap of a zero-length line is what shows it)."""
    for values, dots in (([0.7], 1), ([1.0, math.nan, 0.5, math.nan, 0.2], 3)):
        [path] = paths(parse(render_svg([("train", values)])))
        runs = path.get("d").split("M")[1:]
        assert len(runs) == dots
        assert all(re.fullmatch(r"\s*-?[\d.]+,-?[\d.]+\s*", run) is None for run in runs), path.get("d")


def test_a_short_run_has_whole_epochs_on_its_x_axis():
    """Three epochs would be labelled 1, 1.25, 1.5, ... (no such epochs) if the tick step were not held to
    whole epochs: no test had so short a run."""
    labels = tick_labels(parse(render_svg([("train", [1.0, 0.8, 0.7])])), "x")
    assert labels and all(label.isdigit() for label in labels)
    assert [int(label) for label in labels] == sorted({int(label) for label in labels})


def test_a_long_runs_axis_spans_its_first_to_its_last_epoch():
    """A long history is cut into buckets, the first and last drawn at their ends: drawn at their middles,
    the axis would begin at epoch 50 and a marker at the last epoch (weights kept at the end) go undrawn."""
    n = 100_000
    values = [1 / (1 + e) for e in range(n)]
    for marker in (1, n):
        root = parse(render_svg([("train", values)], marker_x=marker))
        [marker_line] = [line for line in root.iter(f"{SVG}line") if line.get("class") == "marker"]
        points = coordinates(paths(root)[0])
        end = points[0] if marker == 1 else points[-1]
        assert float(marker_line.get("x1")) == pytest.approx(end[0], abs=0.11)


def test_a_marker_outside_the_curves_epochs_is_not_drawn_outside_the_frame():
    root = parse(render_svg([("train", DECREASING)], marker_x=len(DECREASING) + 100))
    assert not [line for line in root.iter(f"{SVG}line") if line.get("class") == "marker"]
    lrs = [10 ** (-6 + i / 10) for i in range(61)]  # a log x axis: a marker at 0 has no place on it
    root = parse(render_svg([("loss", [1.0] * 61)], xs=lrs, log_x=True, marker_x=0))
    assert not [line for line in root.iter(f"{SVG}line") if line.get("class") == "marker"]


def test_a_falling_long_history_is_drawn_falling_not_as_a_saw():
    """Each bucket of a long history is drawn as its minimum and maximum in the order the curve passes
    them: drawn lowest first always, a falling curve would zigzag up inside every bucket."""
    values = [1 / (1 + e / 100) for e in range(100_000)]
    points = coordinates(paths(parse(render_svg([("train", values)], log_y=False)))[0])
    assert len(points) > 100
    assert all(b[1] >= a[1] for a, b in zip(points, points[1:]))  # SVG y grows downwards


def test_a_series_within_a_decade_gets_a_linear_axis_with_its_extremes_off_the_frame():
    """A loss between 0.5 and 0.9 on a log axis still has ticks reading 0.5 ... 0.9, and extremes on the
    frame change no label: the labels alone could not tell either."""
    root = parse(render_svg([("train", [0.9 - 0.4 * i / 49 for i in range(50)])]))
    ys = [float(t.get("y")) for t in root.iter(f"{SVG}text") if t.get("class") == "tick y"]
    gaps = [b - a for a, b in zip(ys, ys[1:])]
    assert len(gaps) >= 2 and max(gaps) - min(gaps) <= 0.2  # evenly spaced: linear
    frame = next(p for p in root.iter(f"{SVG}path") if p.get("class") == "axes").get("d")
    top, bottom = (float(v) for v in re.match(r"M[\d.]+,([\d.]+) V([\d.]+)", frame).groups())
    assert all(top < y < bottom for _, y in coordinates(paths(root)[0]))


def test_a_log_axis_over_many_decades_labels_a_few_of_them():
    """A loss falling through thirty decades (a linear model of exact data) labelled at every one of them
    is thirty-one labels over each other on a 420-pixel chart: the tests' curves spanned six."""
    labels = tick_labels(parse(render_svg([("train", [10.0 ** -e for e in range(31)])])), "y")
    assert 3 <= len(labels) <= 8


def test_a_log_axis_of_one_or_two_decades_is_labelled_at_1_2_and_5_times_powers_of_ten():
    labels = tick_labels(parse(render_svg([("train", [1.0 - 0.95 * i / 49 for i in range(50)])])), "y")
    assert {label.lstrip("0.")[0] for label in labels} == {"1", "2", "5"}  # (0.05 to 1: 0.05, 0.1, 0.2, 0.5, 1)


def test_a_forced_log_axis_with_nothing_positive_falls_back_to_linear():
    [path] = paths(parse(render_svg([("train", [-1.0, -2.0, 0.0])], log_y=True)))
    assert len(coordinates(path)) == 3


def test_control_characters_in_names_are_dropped_so_the_document_stays_xml():
    root = parse(render_svg([("val\x1b[31m\x00", DECREASING)], title="a\x07b", x_label="x\x0c"))
    assert paths(root)[0].get("data-name") == "val[31m"
    assert {"ab", "x"} <= {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}


def test_a_title_leaves_room_above_the_plot():
    root = parse(render_svg([("train", DECREASING)], title="nncli mlp 2-8-1: loss per epoch"))
    title = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "title")
    frame = next(p for p in root.iter(f"{SVG}path") if p.get("class") == "axes").get("d")
    assert float(re.match(r"M[\d.]+,([\d.]+)", frame).group(1)) > float(title.get("y")) + 4
