"""`nncli show`'s view of what a model of one or two numeric features predicts: a map over two, a chart over one."""

import io

import numpy as np
import pytest
from rich.console import Console

from conftest import SAMPLES
from nncli import render, render_view
from nncli.core import preprocessing as P
from nncli.core.model import Model
from nncli.core.network import Network
from nncli.render_map import CLASS_GLYPHS, CLASS_RGB, RAMP_GLYPHS, RAMP_RGB, RegionMap


def model_of(features: list[str], W, b, *, classes=None, kinds=None, mean=None, scale=None, target="y") -> Model:
    """A linear model z = x_std @ W + b over numeric (or `kinds`) features, standardized by mean and scale."""
    W = np.asarray(W, np.float64)
    if classes is None:
        loss, target_ = "mse", P.Target([target], "regression", mean=np.zeros(W.shape[1]), scale=np.ones(W.shape[1]))
    else:
        loss, target_ = ("bce" if len(classes) == 2 else "ce"), P.Target([target], "classification", classes=classes)
    net = Network([W.shape[0], W.shape[1]], "relu", loss, np.float64)
    net.W[0][...] = W
    net.b[0][...] = b
    kinds = kinds or ["numeric"] * len(features)
    feats = [P.Feature(f, k, categories=["a", "b"] if k == "categorical" else []) for f, k in zip(features, kinds)]
    n = sum(f.width for f in feats)
    pre = P.Preprocessor(feats, np.zeros(n) if mean is None else np.asarray(mean, float),
                         np.ones(n) if scale is None else np.asarray(scale, float))
    return Model("linear", net, pre, target_, [])


def lines(renderable, width=80, colour=False) -> list:
    """The rendered lines, each a list of Rich segments."""
    c = Console(file=io.StringIO(), width=width, force_terminal=colour, color_system="truecolor" if colour else None,
                no_color=not colour)
    return c.render_lines(renderable, c.options, pad=False)


def text_of(renderable, width=80) -> list[str]:
    return ["".join(s.text for s in line).rstrip() for line in lines(renderable, width)]


def grid_rows(text: list[str]) -> list[str]:
    """The map's own cells: the rows between the header and the axis, right of `┤` or `│`."""
    return [line.split("┤" if "┤" in line else "│", 1)[1] for line in text if ("┤" in line or "│" in line)]


def test_a_two_class_map_puts_each_class_on_its_side_of_the_boundary_blank_where_unsure():
    # P(b) = sigmoid(4 x1): class a left of x1 = 0, b right of it, whatever x2; unsure (P under 0.6) near 0
    m = model_of(["x1", "x2"], [[4.0], [0.0]], [0.0], classes=["a", "b"])
    text = text_of(render_view.prediction_view(m))
    rows = grid_rows(text)
    assert rows and len({len(r) for r in rows}) == 1
    cols = len(rows[0])
    xs = [-2.5 + 5 * (c + 0.25) / (cols - 0.5) for c in range(cols)]  # each column's x, as the map samples it
    for r in rows:
        for x, ch in zip(xs, r):
            p = 1 / (1 + np.exp(-4 * x))
            want = CLASS_GLYPHS[1] if p >= 0.6 else CLASS_GLYPHS[0] if p <= 0.4 else " "
            assert ch == want, (x, p, r)
    assert " " in rows[0] and rows[0].startswith("o") and rows[0].endswith("x")
    assert text[0].startswith("x2") and "what the model predicts: y" in text[0]
    assert any(line.lstrip().startswith("x1") for line in text)  # the x axis's name, under it
    assert "o a  x b" in text[-2] and "standard deviations" in text[-1]


def test_the_map_spans_each_feature_mean_plus_minus_two_and_a_half_standard_deviations():
    m = model_of(["x1", "x2"], [[1.0], [-1.0]], [0.0], classes=["0", "1"], mean=[10.0, -3.0], scale=[2.0, 0.5])
    text = text_of(render_view.prediction_view(m))
    ticks = [line for line in text if "┤" in line]
    assert ticks[0].split()[0] == "-1.75" and ticks[-1].split()[0] == "-4.25"  # y: -3 ± 2.5 · 0.5
    x_ticks = text[-3].split()  # the x axis's tick labels: its name, then the ends and round numbers between
    assert x_ticks[1] == "5" and x_ticks[-1] == "15"  # x: 10 ± 2.5 · 2


def test_three_classes_each_have_their_region_and_the_boundary_is_a_dark_seam_in_colour():
    # Scores 3·x1, -3·x1 and 5·x2: class 2 on top, 0 right and 1 left below it
    m = model_of(["x1", "x2"], [[3.0, -3.0, 0.0], [0.0, 0.0, 5.0]], [0.0, 0.0, 0.0], classes=["r", "l", "top"])
    rows = grid_rows(text_of(render_view.prediction_view(m)))
    assert set(rows[0].strip()) == {CLASS_GLYPHS[2]}
    assert rows[-1].startswith(CLASS_GLYPHS[1]) and rows[-1].endswith(CLASS_GLYPHS[0])
    # In colour: two pixels a cell (▀: top in the foreground, bottom in the background), each its class's
    # colour, darker toward the boundary
    coloured = [line for line in lines(render_view.prediction_view(m), colour=True) if any(s.text == "▀" * len(s.text)
                                                                                      and s.text for s in line)]
    assert len(coloured) == len(rows)
    bottom = [s for s in coloured[-1] if s.text and set(s.text) == {"▀"}]
    far_left, far_right = bottom[0].style.bgcolor.get_truecolor(), bottom[-1].style.bgcolor.get_truecolor()
    assert max(abs(a - b) for a, b in zip(far_left, CLASS_RGB[1])) <= 3
    assert max(abs(a - b) for a, b in zip(far_right, CLASS_RGB[0])) <= 3
    seam = min(bottom, key=lambda s: sum(s.style.bgcolor.get_truecolor()))
    assert sum(seam.style.bgcolor.get_truecolor()) < 0.6 * min(sum(far_left), sum(far_right))


def test_a_regression_map_ramps_with_the_value_and_its_legend_gives_the_lowest_and_highest():
    m = model_of(["x1", "x2"], [[1.0], [0.0]], [5.0], target="price")  # price = 5 + x1
    view = render_view.prediction_view(m)
    text = text_of(view)
    rows = grid_rows(text)
    for r in rows:
        assert r[0] == RAMP_GLYPHS[0] and r[-1] == RAMP_GLYPHS[-1]
        assert [RAMP_GLYPHS.index(ch) for ch in r] == sorted(RAMP_GLYPHS.index(ch) for ch in r)
    assert "what the model predicts: price" in text[0]
    low, ramp, high = text[-2].split()
    assert ramp == RAMP_GLYPHS and float(low) == pytest.approx(2.5) and float(high) == pytest.approx(7.5)  # 5 ± 2.5


def test_one_feature_draws_the_prediction_along_it():
    m = model_of(["area"], [[2.0]], [1.0], target="price", mean=[3.0], scale=[1.0])  # price = 1 + 2 (area - 3)
    text = text_of(render_view.prediction_view(m))
    assert text[0].startswith("price") and "what the model predicts: price" in text[0]
    ticks = [line.split()[0] for line in text if "┤" in line]
    assert float(ticks[0]) == pytest.approx(6.0) and float(ticks[-1]) == pytest.approx(-4.0)  # 1 ± 2 · 2.5
    assert any(line.lstrip().startswith("area") for line in text)
    two = model_of(["x"], [[3.0]], [0.0], classes=["no", "yes"])
    assert "P(yes)" in "\n".join(text_of(render_view.prediction_view(two)))
    # A probability's axis runs from 0 to 1, though this one stays within 0.44 and 0.56
    weak = model_of(["x"], [[0.1]], [0.0], classes=["no", "yes"])
    ticks = [line.split()[0] for line in text_of(render_view.prediction_view(weak)) if "┤" in line]
    assert ticks[0] == "1" and ticks[-1] == "0"


@pytest.mark.parametrize("features,kinds,classes", [
    (["a", "b", "c"], None, ["0", "1"]),  # three features: no plane to draw
    (["a", "b"], ["numeric", "categorical"], ["0", "1"]),  # a categorical feature
    (["a", "b"], None, [str(k) for k in range(len(CLASS_RGB) + 1)]),  # more classes than colours
])
def test_no_view_where_there_is_nothing_to_draw_plainly(features, kinds, classes):
    n = 3 if kinds else len(features)
    k = 1 if len(classes) == 2 else len(classes)
    model = model_of(features, np.ones((n, k)), np.zeros(k), classes=classes, kinds=kinds)
    assert render_view.prediction_view(model) is None


def test_a_model_that_gives_nan_shows_question_marks_not_a_class():
    m = model_of(["x1", "x2"], [[np.nan], [0.0]], [0.0], classes=["a", "b"])
    rows = grid_rows(text_of(render_view.prediction_view(m)))
    assert set("".join(rows)) == {"?"}
    assert render_view.prediction_view(model_of(["x"], [[np.nan]], [0.0], classes=["a", "b"])) is None


@pytest.mark.parametrize("width", [20, 40, 200])
def test_the_map_fits_the_console_and_keeps_its_rows_whole(width):
    m = model_of(["x1", "x2"], [[4.0], [1.0]], [0.0], classes=["a", "b"])
    text = text_of(render_view.prediction_view(m), width)
    assert max(len(line) for line in text) <= width
    rows = grid_rows(text)
    assert 6 <= len(rows) <= 20 and len({len(r) for r in rows}) == 1


def test_the_sampler_is_asked_for_the_grid_the_console_calls_for():
    asked = []

    def sample(xs, ys):
        asked.append((list(xs), list(ys)))
        return [[(0, 1.0)] * len(xs) for _ in ys], ["only"]

    lines(RegionMap(sample, (0.0, 4.0), (0.0, 2.0), "x", "y"), width=60, colour=True)
    xs, ys = asked[0]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)  # left to right, top to bottom
    assert 0 < xs[0] < xs[1] - xs[0] and 4 - xs[-1] < xs[1] - xs[0]  # pixel centres inside the range
    assert len(ys) % 2 == 0  # two pixels a row in colour


def test_show_draws_the_map_of_a_two_feature_model_and_none_of_a_three_feature_one(cli, tmp_path):
    model = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "moons.csv", "--epochs", "2", "-q", "-o", model).exit_code == 0
    r = cli("show", model)
    assert r.exit_code == 0 and r.stdout == ""
    assert "what the model predicts: label" in r.stderr and "o 0  x 1" in r.stderr
    data = tmp_path / "blobs.csv"
    data.write_text(cli("gen-data", "blobs", "--features", "3", "-n", "60").stdout)
    assert cli("fit", data, "--epochs", "2", "-q", "-o", model).exit_code == 0
    r = cli("show", model)
    assert r.exit_code == 0 and "what the model predicts" not in r.stderr and "loss" in r.stderr


# -- show --data: a file's rows drawn over the view ---------------------------------------------------------
def test_rows_to_draw_keeps_every_stride_th_row_in_bounded_memory_over_chunks(monkeypatch):
    from nncli import apply

    m = model_of(["x1", "x2"], [[1.0], [0.0]], [0.0], classes=["a", "b"], mean=[10.0, 0.0], scale=[2.0, 1.0])
    rows = np.arange(1000, dtype=np.float64)

    def chunks(*args, **kwargs):  # ten chunks of 100 rows, standardized as `eval_chunks` gives them
        for lo in range(0, 1000, 100):
            raw = rows[lo:lo + 100]
            yield np.column_stack([(raw - 10) / 2, -raw]), (raw % 2).astype(np.intp), raw + 2

    monkeypatch.setattr(apply, "eval_chunks", chunks)
    monkeypatch.setattr(apply, "MAX_DRAWN", 40)
    X, y, n = apply.rows_to_draw(m, "f.csv")
    kept = np.arange(0, 1000, 32)  # the stride doubles to 32: 1000 / 32 -> 32 rows, at most 40
    assert n == 1000 and len(X) == len(kept) <= 40
    np.testing.assert_allclose(X[:, 0], kept)  # back in the data's units
    np.testing.assert_array_equal(X[:, 1], -kept)
    np.testing.assert_array_equal(y, kept % 2)


def test_rows_drawn_over_a_map_show_their_label_where_they_lie():
    # Class b right of x1 = 0. A b row far left lies in a's region, an a row far right in b's.
    m = model_of(["x1", "x2"], [[4.0], [0.0]], [0.0], classes=["a", "b"])
    X = np.array([[-2.0, 0.0], [2.0, 1.5], [-1.0, -2.0], [9.0, 0.0]])
    view = render_view.prediction_view(m, (X, np.array([1, 0, 0, 1]), 10), "pts.csv")
    text = text_of(view)
    rows = grid_rows(text)
    found = {(r, c): ch for r, row in enumerate(rows) for c, ch in enumerate(row) if ch in "AB"}
    assert sorted(found.values()) == ["A", "A", "B"]  # (the fourth row lies outside the map)
    cols, height = len(rows[0]), len(rows)
    where = {ch: [] for ch in "AB"}
    for (r, c), ch in found.items():
        where[ch].append((-2.5 + 5 * (c + 0.5) / cols, 2.5 - 5 * (r + 0.5) / height))  # each cell's centre
    [b] = where["B"]
    assert abs(b[0] + 2) < 5 / cols and abs(b[1]) < 5 / height and rows[found and next(
        r for (r, c), ch in found.items() if ch == "B")].startswith("o")
    assert "o/A a  x/B b  (blank: unsure)" in text and "(capitals: the rows of pts.csv, by their label)" in text
    assert "(1 of the rows drawn lies outside the map)" in text
    assert "(4 of the 10 rows of pts.csv drawn, spread evenly over the file)" in "\n".join(text)
    # In colour: a ● in the row's class's colour, over a map half as bright
    coloured = [s for line in lines(view, colour=True) for s in line if s.text == "●"]
    assert len(coloured) == 3
    assert {s.style.color.get_truecolor() for s in coloured} == {CLASS_RGB[0], CLASS_RGB[1]}


def test_rows_drawn_along_one_feature_are_dots_at_their_value_and_those_outside_the_window_are_counted():
    m = model_of(["x"], [[2.0]], [1.0], target="y")  # y = 1 + 2x, the window x from -2.5 to 2.5
    X = np.array([[1e30], [-1.0], [2.0]])  # (one row at 1e30 widened the chart until the curve was one column)
    text = text_of(render_view.prediction_view(m, (X, np.array([[9.0], [-1.0], [12.0]]), 3), "d.csv"))
    assert any("• rows of d.csv" in line for line in text)
    ticks = [line for line in text if "└" in line]
    assert text[text.index(ticks[0]) + 1].split()[-1] == "2.5"  # the window kept
    assert "(1 of the rows drawn lies outside the chart)" in " ".join(text)
    top = [line.split()[0] for line in text if "┤" in line][0]
    assert float(top) == pytest.approx(12.0)  # the row at (2, 12) drawn: the y axis reaches it


def test_show_data_draws_the_file_and_refuses_what_it_cannot_draw(cli, tmp_path):
    model = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "moons.csv", "--epochs", "2", "-q", "-o", model).exit_code == 0
    r = cli("show", model, "--data", SAMPLES / "moons.csv")
    assert r.exit_code == 0 and r.stdout == ""
    assert "moons.csv, by their label)" in " ".join(r.stderr.split()) and ("A" in r.stderr and "B" in r.stderr)
    r = cli("show", model, "--data", SAMPLES / "moons.csv", "--json")
    assert r.exit_code == 2 and "--json prints the model's metadata only" in r.stderr
    data = tmp_path / "blobs.csv"
    data.write_text(cli("gen-data", "blobs", "--features", "3", "-n", "60").stdout)
    assert cli("fit", data, "--epochs", "2", "-q", "-o", model).exit_code == 0
    r = cli("show", model, "--data", data)
    assert r.exit_code == 2 and "has none: it has 3 features, and show draws one or two" in r.stderr


def test_spans_of_very_different_sizes_draw_a_map_not_an_error():
    # x spans 5e-9 and y 7e299: the height's ratio overflowed to inf ("internal error: OverflowError")
    m = model_of(["x1", "x2"], [[0.0], [1.0]], [0.0], classes=["a", "b"], scale=[1e-9, 1.4e299])
    rows = grid_rows(text_of(render_view.prediction_view(m)))
    assert len(rows) == 20 and rows[0].strip() == "x" * len(rows[0].strip())


def test_a_chart_of_more_classes_than_it_has_curves_is_refused_with_the_reason():
    seven = model_of(["x"], np.ones((1, 7)), np.zeros(7), classes=[str(k) for k in range(7)])
    assert render_view.prediction_view(seven) is None
    assert render_view.view_refusal(seven) == "it predicts 7 classes, more than the 6 curves a chart draws"
    six = model_of(["x"], np.ones((1, 6)), np.zeros(6), classes=[str(k) for k in range(6)])
    assert render_view.view_refusal(six) is None and render_view.prediction_view(six) is not None
    wide = model_of(["x1", "x2", "x3"], np.ones((3, 1)), np.zeros(1), classes=["a", "b"])
    assert render_view.view_refusal(wide) == "it has 3 features, and show draws one or two"


def test_a_ramps_ends_and_a_legend_of_rows_say_what_tells_them_apart():
    far = model_of(["x1", "x2"], [[0.004], [0.0]], [5e6], target="price")  # 5,000,000 ± 0.01
    low, _, high = text_of(render_view.prediction_view(far))[-2].split()
    assert low != high and float(low) < 5e6 < float(high)
    three = model_of(["x"], np.eye(1, 3) * 3, np.zeros(3), classes=["a", "b", "c"])
    drawn = (np.array([[-1.0], [1.0]]), np.array([0, 2]), 2)  # (no row of class b)
    legend = text_of(render_view.prediction_view(three, drawn, "d.csv"))
    assert any("• a rows" in line and "• c rows" in line and "b rows" not in line for line in legend)


def test_show_data_may_not_be_overwritten_by_plot_and_delimiter_needs_data(cli, tmp_path):
    model = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "moons.csv", "--epochs", "1", "-q", "-o", model).exit_code == 0
    data = tmp_path / "d.csv"
    data.write_bytes((SAMPLES / "moons.csv").read_bytes())
    r = cli("show", model, "--data", data, "--plot", data)
    assert r.exit_code == 2 and "--plot" in r.stderr and "is also an input" in r.stderr
    assert data.read_bytes() == (SAMPLES / "moons.csv").read_bytes()
    r = cli("show", model, "--delimiter", ";")
    assert r.exit_code == 2 and "--delimiter is for the file of --data" in r.stderr


def test_a_boundary_between_two_of_many_classes_is_unsure_too():
    # Scores 3·x1, -3·x1 and two classes far below: the x1 = 0 boundary of four classes was drawn sure
    # (against 1 / k, a 50/50 seam scored 0.33)
    m = model_of(["x1", "x2"], [[3.0, -3.0, 0.0, 0.0], [0.0] * 4], [0.0, 0.0, -20.0, -20.0],
                 classes=["r", "l", "c", "d"])
    rows = grid_rows(text_of(render_view.prediction_view(m)))
    middle = len(rows[0]) // 2
    assert all(" " in r[middle - 3:middle + 3] for r in rows)
    assert set("".join(rows)) == {CLASS_GLYPHS[0], CLASS_GLYPHS[1], " "}


def test_sixteen_colour_terminals_get_the_glyphs_and_far_from_zero_the_ticks_differ():
    m = model_of(["x1", "x2"], [[4.0], [0.0]], [0.0], classes=["a", "b"], mean=[1e6, -3e8], scale=[0.01, 1.0])
    c = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="standard")
    drawn = c.render_lines(render_view.prediction_view(m), c.options, pad=False)
    text = ["".join(s.text for s in line) for line in drawn]
    assert not any("▀" in line for line in text) and any("ooo" in line for line in text)
    ticks = [line.split()[0] for line in text if "┤" in line]
    assert len(set(ticks)) == 3  # (all three read -3e+08 at four digits)
    x_ticks = next(text[i + 1] for i, line in enumerate(text) if "└" in line).split()[1:]
    assert len(set(x_ticks)) == len(x_ticks) > 1  # (all read 1e+06)


def test_a_map_where_the_model_gives_nan_says_what_the_question_marks_are():
    m = model_of(["x1", "x2"], [[np.nan], [0.0]], [0.0], classes=["a", "b"])
    assert "? no prediction (not a finite number)" in "\n".join(text_of(render_view.prediction_view(m)))


def test_a_live_fit_of_one_or_two_features_ends_saying_how_to_see_what_it_learned(cli, tmp_path):
    model = tmp_path / "m.npz"
    r = cli("fit", SAMPLES / "moons.csv", "--epochs", "2", "--progress", "live", "-o", model)
    said = " ".join(r.stderr.split())
    assert r.exit_code == 0 and f"nncli show {model} --data {SAMPLES / 'moons.csv'} draws what it predicts across " \
        "x1 and x2 over those rows" in said
    data = tmp_path / "blobs.csv"
    data.write_text(cli("gen-data", "blobs", "--features", "3", "-n", "60").stdout)
    r = cli("fit", data, "--epochs", "2", "--progress", "live", "-o", model)
    assert r.exit_code == 0 and "draws what it predicts" not in r.stderr and "saved to" in r.stderr
    # A delimiter given to fit (one it would not detect) goes into the command, which then runs
    colons = tmp_path / "c.txt"
    colons.write_text((SAMPLES / "moons.csv").read_text().replace(",", ":"))
    r = cli("fit", colons, "--delimiter", ":", "--epochs", "2", "--progress", "live", "-o", model)
    assert f"nncli show {model} --data {colons} --delimiter : draws" in " ".join(r.stderr.split())
    assert cli("show", model, "--data", colons, "--delimiter", ":").exit_code == 0
    # A tab is named as --delimiter takes it: a mutant quoted the tab itself, which reads as a space
    tabs = tmp_path / "t.txt"
    tabs.write_text((SAMPLES / "moons.csv").read_text().replace(",", "\t"))
    r = cli("fit", tabs, "--delimiter", "tab", "--epochs", "2", "--progress", "live", "-o", model)
    assert f"nncli show {model} --data {tabs} --delimiter tab draws" in " ".join(r.stderr.split())


def frame_of(screen, height: int) -> str:
    c = Console(file=io.StringIO(), width=90, height=height, no_color=True)
    c.print(screen)
    return c.file.getvalue()


def test_the_live_screen_draws_what_the_network_predicts_below_the_chart_where_there_is_room():
    from nncli import workflow
    from nncli.core.training import TrainConfig
    from nncli.render_live import TrainingScreen

    data = workflow.load_training_data(str(SAMPLES / "moons.csv"), workflow.DataOptions(), "auto")
    run = workflow.Training(data, workflow.ModelOptions(hidden=(8,)), TrainConfig(epochs=3), seed=0, dtype="float32")
    screen = TrainingScreen(render.training_header(run, data), 3, "acc")
    screen.view = render_view.live_view(run, data)
    for stats in run:
        screen.add(stats)
    assert "what the model predicts" not in frame_of(screen, 50)  # (not in a run's first second)
    screen.started -= 2.0

    def frame(height: int) -> str:
        return frame_of(screen, height)

    tall = frame(50)
    assert "what the model predicts: label" in tall and tall.index("epoch 3") < tall.index("what the model")
    assert tall.rstrip().splitlines()[-1].startswith("loss ")  # (the current numbers stay last)
    assert len(tall.splitlines()) <= 50
    assert "what the model predicts" not in frame(30) and "┤" in frame(30)  # (no room: the loss chart alone)
    for height in range(34, 42):  # (a map as tall as there is room for, never taller: the frame fits)
        shown = frame(height)
        assert "what the model predicts" in shown and len(shown.splitlines()) <= height, height
    map_rows = [line for line in tall.splitlines() if line.rstrip().endswith(("o", "x", " ")) and "│" in line
                and "┊" not in line]
    assert map_rows and max(len(line.split("│", 1)[1].rstrip()) for line in map_rows) <= 48  # (LIVE_MAP_COLUMNS)
    # Of the weights as they are now: the map changes as the network does
    before = frame(50)
    run.net.params[...] *= -1
    assert frame(50) != before
    screen.finished = 1.0  # (the last frame drops both: the summary comes after)
    assert "what the model predicts" not in frame(50)
    wide = workflow.load_training_data(str(SAMPLES / "regression.csv"), workflow.DataOptions(), "auto")
    assert render_view.live_view(workflow.Training(wide, workflow.ModelOptions(), TrainConfig(epochs=1), seed=0,
                                              dtype="float32"), wide) is None  # (five features: no view)


# -- RegionMap drawn directly, from a sampler of known pixels -----------------------------------------------------
def blocks(renderable, width=60) -> list:
    """The map's cells in colour: the segments of upper half blocks."""
    return [s for line in lines(renderable, width, colour=True) for s in line if s.text and set(s.text) == {"▀"}]


def swatches(renderable, width=60) -> list[tuple[int, int, int]]:
    """The legend's colours, left to right."""
    return [s.style.color.get_truecolor() for line in lines(renderable, width, colour=True) for s in line
            if s.text == "█"]


def test_each_colour_cell_is_its_top_pixel_over_its_bottom_pixel_each_at_its_own_sureness():
    """A cell's upper half block is its top pixel, its background its bottom one. Nothing checked which was
    which, nor that the bottom pixel was drawn at all: a map upside down within each cell, at half its
    height's resolution, or with the bottom pixel shaded by the top one's sureness, passed every test."""
    def sample(xs, ys):  # each cell's top pixel sure of class 0, its bottom pixel unsure of class 1
        return [[(q % 2, 1.0 - q % 2)] * len(xs) for q in range(len(ys))], ["a", "b"]

    cells = blocks(RegionMap(sample, (0.0, 4.0), (0.0, 2.0), "x", "y"))
    assert cells
    for s in cells:
        assert s.style.color.get_truecolor() == CLASS_RGB[0]
        bottom = s.style.bgcolor.get_truecolor()
        assert all(c < 0.5 * full for c, full in zip(bottom, CLASS_RGB[1]))  # dark: unsure
        k = bottom[0] / CLASS_RGB[1][0]
        assert all(abs(c - full * k) <= 1 for c, full in zip(bottom, CLASS_RGB[1]))  # its class's colour, darkened


def test_in_colour_a_map_under_rows_is_half_as_bright_and_their_dots_and_legend_say_whose_they_are():
    """A map under rows drawn over it no dimmer than without them, a row's dot on either pixel of its cell
    rather than their mean, or no legend line saying what the dots are: no test failed."""
    def sample(xs, ys):
        return [[(q % 2, 1.0)] * len(xs) for q in range(len(ys))], ["a", "b"]

    plain = RegionMap(sample, (0.0, 4.0), (0.0, 2.0), "x", "y")
    under = RegionMap(sample, (0.0, 4.0), (0.0, 2.0), "x", "y", points=[(2.0, 1.0, 1)], points_name="rows of d.csv")
    bright, dim = blocks(plain)[0].style, blocks(under)[0].style
    for full, half in ((bright.color, dim.color), (bright.bgcolor, dim.bgcolor)):
        assert all(abs(h - f / 2) <= 1 for f, h in zip(full.get_truecolor(), half.get_truecolor()))
    [dot] = [s for line in lines(under, 60, colour=True) for s in line if s.text == "●"]
    mean = [(a + b) / 2 for a, b in zip(dim.color.get_truecolor(), dim.bgcolor.get_truecolor())]
    assert dot.style.color.get_truecolor() == CLASS_RGB[1]
    assert all(abs(m - c) <= 1 for m, c in zip(mean, dot.style.bgcolor.get_truecolor()))
    said = [text.rstrip() for text in text_of(under)] + ["".join(s.text for s in line).rstrip()
                                                          for line in lines(under, 80, colour=True)]
    assert "(●: the rows of d.csv, in their label's colour)" in said


def test_in_colour_the_legend_gives_each_class_its_colour_and_a_ramp_runs_from_low_to_high():
    """The legend's swatches all in class 0's colour, a regression's map and legend in the classes'
    colours, or its legend's ramp reversed (its low end under the high value): all passed every test."""
    classes = RegionMap(lambda xs, ys: ([[(0, 1.0)] * len(xs) for _ in ys], ["a", "b", "c"]),
                        (0.0, 4.0), (0.0, 2.0), "x", "y")
    assert swatches(classes) == list(CLASS_RGB[:3])
    top = len(RAMP_RGB) - 1

    def ramp(xs, ys):  # the value's step grows with x, from the lowest to the highest
        return [[(min(top, int(x / 4 * len(RAMP_RGB))), 1.0) for x in xs] for _ in ys], ["2.5", "7.5"]

    regression = RegionMap(ramp, (0.0, 4.0), (0.0, 2.0), "x", "y", ramp=True)
    assert swatches(regression) == list(RAMP_RGB)
    row = blocks(regression)
    assert row[0].style.color.get_truecolor() == RAMP_RGB[0]
    assert {s.style.color.get_truecolor() for s in row} == set(RAMP_RGB)
    legend = ["".join(s.text for s in line) for line in lines(regression, 60, colour=True)][-1]
    assert legend.startswith("2.5 █") and legend.rstrip().endswith("█ 7.5")


def test_no_color_on_a_truecolor_terminal_draws_the_glyphs_not_blank_blocks():
    """NO_COLOR on a terminal of millions of colours: half blocks whose colours Rich then drops would draw a
    map of blank cells. Nothing tested that `console.no_color` alone makes glyphs."""
    m = model_of(["x1", "x2"], [[4.0], [0.0]], [0.0], classes=["a", "b"])
    c = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="truecolor", no_color=True)
    drawn = c.render_lines(render_view.prediction_view(m), c.options, pad=False)
    text = ["".join(s.text for s in line) for line in drawn]
    assert not any("▀" in line for line in text)
    rows = grid_rows(text)
    assert rows[0].startswith(CLASS_GLYPHS[0]) and rows[0].rstrip().endswith(CLASS_GLYPHS[1])


def test_the_maps_height_follows_its_ranges_ratio_so_that_shapes_keep_their_proportions():
    """A cell is about twice as tall as wide: without halving, a square would come out twice as tall as
    wide, and no test noticed (the tests' maps were all as tall as MAX_ROWS allows)."""
    def shape(y_span: float) -> tuple[int, int]:
        rows = grid_rows(text_of(RegionMap(lambda xs, ys: ([[(0, 1.0)] * len(xs) for _ in ys], ["a"]),
                                           (0.0, 4.0), (0.0, y_span), "x", "y")))
        return len(rows), len(rows[0])

    (low, cols), (high, _) = shape(1.0), shape(2.0)
    assert abs(high - 2 * low) <= 1  # twice the span, twice the rows
    assert abs(2 * low - cols * 1.0 / 4.0) <= 2  # a row two columns tall: the plane's units square


def text_with(points, ramp=False) -> tuple[list[str], list[str]]:
    """A map of x in [0, 4] and y in [0, 2] without colour, all one sure class (or the ramp's lowest step),
    with `points` drawn over it: the grid's rows and all the text."""
    region = RegionMap(lambda xs, ys: ([[(0, 1.0)] * len(xs) for _ in ys], ["0", "9"] if ramp else list("abcd")),
                       (0.0, 4.0), (0.0, 2.0), "x", "y", ramp=ramp, points=points, points_name="rows of d.csv")
    text = text_of(region)
    return grid_rows(text), text


def test_rows_at_the_maps_corners_are_drawn_in_its_corners_and_those_beyond_any_side_counted():
    """Rows drawn upside down (a cell's row counted from the bottom), a row on the right edge neither drawn
    nor counted, or one below the map drawn on its bottom row: none of it was tested."""
    corners = [(0.0, 2.0, 0), (4.0, 2.0, 1), (0.0, 0.0, 2), (4.0, 0.0, 3)]
    beyond = [(2.0, 9.0, 0), (2.0, -9.0, 0), (-1.0, 1.0, 0), (5.0, 1.0, 0)]
    rows, text = text_with(corners + beyond)
    assert (rows[0][0], rows[0][-1], rows[-1][0], rows[-1][-1]) == ("A", "B", "C", "D")
    assert sum(ch.isupper() for row in rows for ch in row) == 4
    assert "(4 of the rows drawn lie outside the map)" in text


def test_a_cell_of_several_rows_shows_the_label_most_of_them_have_the_lowest_of_a_tie():
    rows, _ = text_with([(1.0, 1.0, 1), (1.0, 1.0, 0), (1.0, 1.0, 1), (3.0, 1.0, 2), (3.0, 1.0, 1)])
    assert sorted(ch for row in rows for ch in row if ch.isupper()) == ["B", "B"]


def test_rows_over_a_regression_map_without_colour_are_the_digits_of_their_values_step():
    """Rows over a regression's map drawn as capitals, as a classifier's are, or a legend's range of digits
    past the last step: no test drew rows over a ramp."""
    top = len(RAMP_GLYPHS) - 1
    rows, text = text_with([(0.5, 1.0, 0), (3.5, 1.0, top)], ramp=True)
    assert sorted(ch for row in rows for ch in row if ch.isdigit()) == ["0", str(top)]
    assert f"(0–{top}: the rows of d.csv, by their value)" in text


# -- what the mutation tests of render_view.py found untested ------------------------------------------------
def in_float32(model: Model) -> Model:
    """The model with its weights in a float32 network, where 3e38 · 1.2 overflows to inf."""
    net = Network(model.network.sizes, "relu", model.network.loss_name, np.float32)
    net.params[...] = model.network.params
    model.network = net
    return model


def test_a_model_that_overflows_over_part_of_its_window_still_draws_the_rest():
    """A diverged float32 model whose predictions are inf beyond |x| > 1.1: `.all()` for `.any()` in the
    check for a curve with nothing to draw dropped the whole chart, and a map's ramp ends taken over the
    infinite cells too read `-inf` and `inf`, every cell one glyph."""
    chart = render_view.prediction_view(in_float32(model_of(["x"], [[3e38]], [0.0])))
    assert chart is not None
    text = text_of(chart)
    assert "what the model predicts: y" in text[0] and sum("┤" in line for line in text) >= 2
    plane = render_view.prediction_view(in_float32(model_of(["x1", "x2"], [[3e38], [0.0]], [0.0])))
    text = text_of(plane)
    low, ramp, high = text[-2].split()[:3]
    assert ramp == RAMP_GLYPHS and -3.5e38 < float(low) < -1e38 and 1e38 < float(high) < 3.5e38
    for row in grid_rows(text):
        drawn = row.strip("?")
        assert drawn[0] == RAMP_GLYPHS[0] and drawn[-1] == RAMP_GLYPHS[-1]  # (the finite middle ramps from end to end)
        assert [RAMP_GLYPHS.index(ch) for ch in drawn] == sorted(RAMP_GLYPHS.index(ch) for ch in drawn)
    assert "? no prediction (not a finite number)" in text[-2]  # (inf is a number: not "not a number")


def test_the_note_of_rows_drawn_counts_them_only_when_some_were_left_out():
    """`<=` for `<`: a file whose every row was drawn got "(3 of the 3 rows of d.csv drawn, spread evenly
    over the file)"."""
    m = model_of(["x"], [[2.0]], [1.0])
    X, y = np.array([[-1.0], [0.0], [2.0]]), np.array([[-1.0], [1.0], [5.0]])
    every = "\n".join(text_of(render_view.prediction_view(m, (X, y, 3), "d.csv")))
    assert "• rows of d.csv" in every and "drawn, spread evenly" not in every
    some = "\n".join(text_of(render_view.prediction_view(m, (X, y, 7), "d.csv")))
    assert "(3 of the 7 rows of d.csv drawn, spread evenly over the file)" in some


def test_rows_drawn_over_a_regression_map_show_the_step_of_their_value():
    """`show --data` of a regression of two features: each row is drawn as the digit of its value's step
    on the ramp (0 the lowest, 7 the highest); the raw value in its place drew `2.6` in a cell."""
    m = model_of(["x1", "x2"], [[1.0], [0.0]], [5.0], target="price")  # price = 5 + x1: 2.5 to 7.5 on the map
    X = np.array([[-2.0, 0.0], [0.0, -1.5], [2.0, 1.5], [1.0, 2.0]])
    y = np.array([[2.6], [5.2], [7.0], [100.0]])  # steps 0, 4, 7 and (past the ramp's top) 7
    text = text_of(render_view.prediction_view(m, (X, y, 4), "d.csv"))
    drawn = sorted(ch for row in grid_rows(text) for ch in row if ch.isdigit())
    assert drawn == ["0", "4", "7", "7"], text
    assert f"(0–{len(RAMP_GLYPHS) - 1}: the rows of d.csv, by their value)" in text


def test_a_map_is_refused_for_several_targets_and_drawn_for_as_many_classes_as_it_has_colours():
    two_targets = model_of(["x1", "x2"], np.ones((2, 2)), np.zeros(2))
    two_targets.target = P.Target(["y1", "y2"], "regression", mean=np.zeros(2), scale=np.ones(2))
    assert render_view.view_refusal(two_targets) == "it predicts several targets, and a map colours one"
    assert render_view.prediction_view(two_targets) is None
    k = len(CLASS_RGB)
    most = model_of(["x1", "x2"], np.ones((2, k)), np.zeros(k), classes=[str(c) for c in range(k)])
    assert render_view.view_refusal(most) is None and render_view.prediction_view(most) is not None


def scatters(view) -> dict:
    """The rows a chart draws (its scatter series), by name: [(x, y), ...]."""
    chart = view.renderables[0]
    return {s.name: list(zip(s.xs, s.values)) for s in chart.series if s.scatter}


def test_rows_drawn_along_one_feature_are_at_each_targets_value_or_their_label():
    """Each target of a regression its rows' own values (all at the first target's drew the second's rows
    wrong); of two classes at the label, 0 or 1 (the chart's P of the second class); of more, each class's
    rows at 1 in its curve's style, at their own x."""
    X = np.array([[-1.0], [0.5], [2.0]])
    two = model_of(["x"], [[1.0, -1.0]], [0.0, 0.0])
    two.target = P.Target(["y1", "y2"], "regression", mean=np.zeros(2), scale=np.ones(2))
    y = np.array([[1.0, -5.0], [2.0, 0.0], [3.0, 4.0]])
    assert scatters(render_view.prediction_view(two, (X, y, 3), "d.csv")) == {
        "rows of d.csv: y1": [(-1.0, 1.0), (0.5, 2.0), (2.0, 3.0)],
        "rows of d.csv: y2": [(-1.0, -5.0), (0.5, 0.0), (2.0, 4.0)]}
    binary = model_of(["x"], [[3.0]], [0.0], classes=["no", "yes"])
    assert scatters(render_view.prediction_view(binary, (X, np.array([0, 1, 1]), 3), "d.csv")) == {
        "rows of d.csv (at their label: 1 for yes)": [(-1.0, 0.0), (0.5, 1.0), (2.0, 1.0)]}
    three = model_of(["x"], np.eye(1, 3) * 3, np.zeros(3), classes=["a", "b", "c"])
    assert scatters(render_view.prediction_view(three, (X, np.array([2, 0, 2]), 3), "d.csv")) == {
        "a rows": [(0.5, 1.0)], "c rows": [(-1.0, 1.0), (2.0, 1.0)]}


def test_a_window_past_what_an_axis_holds_is_refused_with_the_reason():
    huge = model_of(["x1", "x2"], [[1.0], [0.0]], [0.0], classes=["a", "b"], scale=[1.0, 1e300])
    assert render_view.view_refusal(huge) == "its features span more than a chart's axis holds (1e300)"
    assert render_view.prediction_view(huge) is None


# -- what the second mutation tests of render_view.py found untested -----------------------------------------
def test_rows_on_the_edges_of_a_charts_window_are_drawn_not_counted_as_outside():
    """The window is each feature's mean ± 2.5 standard deviations, its ends included: `>` for `>=` (or `<`
    for `<=`) said a row at exactly -2.5 (or 2.5) "lies outside the chart" and left it out."""
    m = model_of(["x"], [[2.0]], [1.0])  # y = 1 + 2x; mean 0, scale 1: the window x from -2.5 to 2.5, exactly
    X, y = np.array([[-2.5], [0.0], [2.5]]), np.array([[-4.0], [1.0], [6.0]])
    view = render_view.prediction_view(m, (X, y, 3), "d.csv")
    assert "outside the chart" not in "\n".join(text_of(view))
    assert scatters(view) == {"rows of d.csv": [(-2.5, -4.0), (0.0, 1.0), (2.5, 6.0)]}


def test_a_chart_of_several_targets_labels_its_axis_prediction_and_of_one_the_targets_name():
    """The y axis of two targets' curves is neither target's: `>=` for `==` labelled it y1."""
    two = model_of(["x"], [[1.0, -1.0]], [0.0, 0.0])
    two.target = P.Target(["y1", "y2"], "regression", mean=np.zeros(2), scale=np.ones(2))
    chart = render_view.prediction_view(two).renderables[0]
    assert chart.y_label == "prediction" and chart.title == "what the model predicts"
    assert [s.name for s in chart.series] == ["y1", "y2"]
    one = render_view.prediction_view(model_of(["x"], [[1.0]], [0.0], target="price")).renderables[0]
    assert one.y_label == "price" and one.title == "what the model predicts: price"


def test_a_chart_samples_the_model_finely_enough_to_show_a_narrow_peak():
    """A ReLU network whose prediction is a triangle of height 1 and half-width 0.05 at x = 0, 0 elsewhere
    (20·(relu(x + 0.05) - 2·relu(x) + relu(x - 0.05))): sampled at 40 points, 0.128 apart, over the window
    -2.5 to 2.5, no sample fell in the triangle and the chart drew a flat line at 0 (its ticks all within
    1e-14 of it)."""
    net = Network([1, 3, 1], "relu", "mse", np.float64)
    net.W[0][...] = [[1.0, 1.0, 1.0]]
    net.b[0][...] = [0.05, 0.0, -0.05]
    net.W[1][...] = [[20.0], [-40.0], [20.0]]
    net.b[1][...] = [0.0]
    m = model_of(["x"], [[1.0]], [0.0])
    m.kind, m.network = "mlp", net
    xs = np.array([-0.05, -0.025, 0.0, 0.025, 0.05, 1.0])
    assert m.grid_outputs([xs])[:, 0] == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0, 0.0])  # (the triangle, as built)
    ticks = [float(line.split()[0]) for line in text_of(render_view.prediction_view(m)) if "┤" in line]
    assert max(ticks) >= 0.8 and min(ticks) <= 0.0, ticks  # (the curve reaches near the peak, and 0)


def test_a_column_whose_spread_is_only_rounding_is_drawn_about_its_value_as_a_constant_one():
    """A column of 1e6 whose scale is the floor fitting gives a spread of rounding (1e-12 of its mean): its
    window is a width about its value, not 1e6 ± 2.5e-6, whose ticks read 9.999999999975e+05 and
    1.000000000003e+06 (`s <= 0` for the relative test let it through)."""
    m = model_of(["x"], [[1.0]], [0.0], mean=[1e6], scale=[1e-6])
    text = text_of(render_view.prediction_view(m))
    ticks = text[[k for k, line in enumerate(text) if "└" in line][0] + 1].split()[1:]  # (after the axis's name)
    lo, hi = float(ticks[0]), float(ticks[-1])
    assert lo < 0.99e6 and hi > 1.01e6 and max(map(len, ticks)) <= 8, ticks
