"""The commands end to end: CliRunner for stdout/stderr apart, subprocesses for real pipelines."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SAMPLES, nncli_env, run_nncli, write_csv
from nncli.model_file import load_model, save_model

COMMANDS = ["gen-data", "fit", "predict", "eval", "show", "lr-find"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_is_in_the_readme(cli, command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")  # (click's narrowest)
    r = cli(command, "--help")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    start = lines.index("  Example:") + 1
    example = [line.strip() for line in lines[start:lines.index("", start)]]
    assert any(line.startswith("nncli " + command) for line in example)
    # one command a line, never folded (it said `nncli fit d.csv --lr $(nncli lr-` / `find d.csv -q)`)
    assert all(line.startswith("nncli ") and line.endswith(("csv", "npz", "svg", "mlp", "head", "--json", "-q)"))
               for line in example), example
    assert f"nncli {command}" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_every_command_is_in_the_readme(cli, command, monkeypatch):
    """Each option `--help` lists, long and short form, is named in README.md (as `--lr` or `-o`)."""
    monkeypatch.setenv("COLUMNS", "200")
    listed = re.findall(r"^ {2}(?:(-[a-zA-Z]), )?(--[a-z][a-z0-9-]*)", cli(command, "--help").stdout, re.MULTILINE)
    readme = (ROOT / "README.md").read_text()
    assert len(listed) >= 3
    for short, long in listed:
        assert re.search(re.escape(long) + r"(?![\w-])", readme), f"{command} {long}"
        assert not short or re.search(f"`{short}[` ]", readme), f"{command} {short}"


@pytest.mark.parametrize("kind", ["linear", "regression", "moons", "circles", "blobs", "spirals", "xor", "mixed"])
def test_gen_data_writes_csv_to_stdout_reproducibly(cli, kind):
    a = cli("gen-data", kind, "-n", "50", "--seed", "3")
    b = cli("gen-data", kind, "-n", "50", "--seed", "3")
    c = cli("gen-data", kind, "-n", "50", "--seed", "4")
    assert a.exit_code == 0 and a.stderr == ""
    rows = list(csv.reader(io.StringIO(a.stdout)))
    assert len(rows) == 51 and len({len(r) for r in rows}) == 1
    assert a.stdout == b.stdout != c.stdout


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.csv")), ids=lambda p: p.name)
def test_sample_data_is_what_gen_data_makes_with_seed_1(cli, path):
    rows = path.read_text().count("\n") - 1
    assert cli("gen-data", path.stem, "-n", rows, "--seed", "1").stdout == path.read_text()


def test_gen_data_draws_a_test_set_from_the_same_problem_with_another_seed_or_size(cli):
    """A test set drawn with another --seed or -n: the same coefficients, the same cluster centres."""
    def table(*args):
        return np.loadtxt(io.StringIO(cli("gen-data", *args).stdout), delimiter=",", skiprows=1)

    fits = []
    for n, seed in [(300, "1"), (301, "7")]:
        d = table("regression", "-n", n, "--seed", seed, "--noise", "0", "--features", "3")
        X, y = d[:, :3], d[:, 3] - np.sin(2 * d[:, 0]) - d[:, 1] ** 2 / 2
        fits.append(np.linalg.lstsq(X, y, rcond=None)[0])
    np.testing.assert_allclose(fits[0], fits[1], atol=1e-4)  # (the CSV has 6 significant digits)
    means = []
    for n, seed in [(4000, "1"), (3000, "7")]:
        d = table("blobs", "-n", n, "--seed", seed)
        means.append([d[d[:, 2] == k, :2].mean(axis=0) for k in range(3)])
    np.testing.assert_allclose(means[0], means[1], atol=0.15)


def test_gen_data_formats_a_wide_table_a_few_rows_at_a_time(tmp_path):
    """16,384 rows at a time whatever the columns: 2,000 rows of 10,000 features took 1.5 GB to write."""
    import csv
    import tracemalloc

    from nncli import csv_write

    columns = {f"x{j}": np.random.default_rng(j).normal(size=1000) for j in range(1000)}
    tracemalloc.start()
    csv_write.write_columns(str(tmp_path / "w.csv"), columns)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    with open(tmp_path / "w.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(columns) and len(rows) == 1001
    assert [float(v) for v in rows[500]] == pytest.approx([a[499] for a in columns.values()], rel=1e-5)
    assert peak < 25e6, peak  # (63 MB when the thousand rows were formatted at once)


def test_gen_data_linear_follows_the_classic_formula(cli):
    out = cli("gen-data", "linear", "-n", "2000").stdout
    data = np.loadtxt(io.StringIO(out), delimiter=",", skiprows=1)
    x, y = data[:, 0], data[:, 1]
    assert 0 <= x.min() and x.max() < 1
    noise = y - 2 * x - 1
    assert noise.min() >= -1e-5 and noise.max() < 1 + 1e-5 and abs(noise.mean() - 0.5) < 0.03


def gen_data_table(cli, *args):
    """The rows `gen-data ARGS` writes, as numbers, and its header."""
    out = cli("gen-data", *args).stdout
    return np.loadtxt(io.StringIO(out), delimiter=",", skiprows=1, ndmin=2), out.splitlines()[0].split(",")


def test_gen_data_circles_puts_class_1_on_the_small_circle_all_the_way_round(cli):
    """README: a small circle (class 1, radius 0.5) inside a large one (class 0, radius 1), each a
    whole circle: swapped radii or half circles would still be two classes of the right sizes."""
    rows, header = gen_data_table(cli, "circles", "-n", "2000", "--noise", "0")
    assert header == ["x1", "x2", "label"]
    radius = np.hypot(rows[:, 0], rows[:, 1])
    for label, r in [(0, 1.0), (1, 0.5)]:
        points = rows[rows[:, 2] == label]
        np.testing.assert_allclose(radius[rows[:, 2] == label], r, atol=1e-5)
        for x, y in [(1, 1), (-1, 1), (-1, -1), (1, -1)]:  # (points in each quadrant)
            assert ((np.sign(points[:, 0]) == x) & (np.sign(points[:, 1]) == y)).sum() > 100


def test_gen_data_spirals_are_arms_a_whole_turn_divided_by_the_classes_apart(cli):
    """Without noise each point of class c lies at angle 4r + 2πc/k: three arms by default, as many as
    --classes; arms half as far apart overlapped, and a default of 2 classes drew two."""
    for args, k in [((), 3), (("--classes", "5"), 5)]:
        rows, header = gen_data_table(cli, "spirals", "-n", "1000", "--noise", "0", *args)
        assert header == ["x1", "x2", "label"] and set(rows[:, 2]) == set(range(k))
        r = np.hypot(rows[:, 0], rows[:, 1])
        turn = np.arctan2(rows[:, 0], rows[:, 1]) - 4 * r - 2 * np.pi * rows[:, 2] / k
        off = np.angle(np.exp(1j * turn))  # (the difference, as an angle in (-π, π])
        assert np.abs(off[r > 0.01]).max() < 1e-3  # (the CSV's 6 digits blur the angle near the centre)


def test_gen_data_xor_labels_1_where_the_signs_differ_and_noise_moves_the_points(cli):
    rows, header = gen_data_table(cli, "xor", "-n", "1000")
    assert header == ["x1", "x2", "label"] and np.abs(rows[:, :2]).max() <= 1
    np.testing.assert_array_equal(rows[:, 2], (rows[:, 0] > 0) != (rows[:, 1] > 0))
    noisy, _ = gen_data_table(cli, "xor", "-n", "1000", "--noise", "0.5")
    np.testing.assert_array_equal(noisy[:, 2], rows[:, 2])  # (labels come from the points before noise)
    assert np.abs(noisy[:, :2]).max() > 1.2


def test_gen_data_prices_are_written_as_whole_numbers_in_full(cli):
    """A price of 1,234,567 once written `1.23457e+06` would be rounded to 6 digits: a price is every
    digit of a whole number (exponent form only past 15 digits, at noise far above the default)."""
    out = cli("gen-data", "prices", "-n", "2000").stdout
    prices = [line.rsplit(",", 1)[1] for line in out.splitlines()[1:]]
    assert all(re.fullmatch(r"[1-9][0-9]*", p) for p in prices), prices[:5]
    assert max(map(int, prices)) > 1_000_000


@pytest.mark.parametrize("features", [1, 2, 3])
def test_gen_data_regression_is_the_stated_formula_at_any_number_of_features(cli, features):
    """y = X·a + sin(2 x1) + x2²/2 (the x2 term from 2 features on): without noise, what is left after
    taking off the curved terms is exactly linear, and the header names one column per feature."""
    rows, header = gen_data_table(cli, "regression", "-n", "300", "--noise", "0", "--features", features)
    assert header == [f"x{j + 1}" for j in range(features)] + ["y"]
    X = rows[:, :features]
    y = rows[:, features] - np.sin(2 * X[:, 0]) - (X[:, 1] ** 2 / 2 if features > 1 else 0)
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.abs(X @ coef - y).max() < 1e-4 and np.abs(coef).max() <= 1


def test_gen_data_blobs_has_as_many_features_and_classes_as_asked(cli):
    rows, header = gen_data_table(cli, "blobs", "-n", "500", "--features", "4", "--classes", "5")
    assert header == ["x1", "x2", "x3", "x4", "label"] and set(rows[:, 4]) == set(range(5))


def test_fit_predict_eval_round_trip(cli, tmp_path, moons_csv):
    train, test = moons_csv
    model = tmp_path / "m.npz"
    r = cli("fit", train, "-o", model, "--epochs", "60", "--hidden", "32,32")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""  # fit prints nothing on stdout...
    assert "Model saved to" in r.stderr and "epoch=" in r.stderr  # ...and talks on stderr
    p = cli("predict", model, test, "--proba")
    assert p.exit_code == 0 and p.stderr == ""
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert list(rows[0]) == ["prediction", "p_0", "p_1"] and len(rows) == 400
    assert all(abs(float(r["p_0"]) + float(r["p_1"]) - 1) < 1e-5 for r in rows)
    # probabilities with 6 significant digits, as README says (7 would print other text for most of them)
    assert all(r[p] == "%.6g" % float(r[p]) for r in rows for p in ("p_0", "p_1"))
    assert max(len(re.sub(r"e.*|[-.]", "", r[p]).strip("0")) for r in rows for p in ("p_0", "p_1")) == 6  # not fewer
    truth = [r[-1] for r in csv.reader(open(test))][1:]
    acc = np.mean([r["prediction"] == t for r, t in zip(rows, truth)])
    assert acc >= 0.95
    e = cli("eval", model, test, "--json")
    result = json.loads(e.stdout)
    assert result["accuracy"] == pytest.approx(acc)
    assert result["confusion_matrix"] and set(result["per_class"]) == {"0", "1"}
    t = cli("eval", model, test)
    assert t.stdout == "" and "accuracy" in t.stderr or "accuracy" in t.stdout


def test_eval_table_goes_to_stdout_only_with_json(cli, tmp_path):
    model = tmp_path / "m.npz"
    cli("fit", SAMPLES / "blobs.csv", "-o", model, "--epochs", "5", "-q")
    human = cli("eval", model, SAMPLES / "blobs.csv")
    assert human.exit_code == 0 and "precision" in human.stderr and human.stdout == ""
    machine = cli("eval", model, SAMPLES / "blobs.csv", "--json")
    assert json.loads(machine.stdout)["classes"] == ["0", "1", "2"]


def test_fit_plot_dash_writes_the_saved_models_loss_curves_to_stdout(cli, tmp_path):
    """Only `fit --plot -` to a closed pipe and beside --json were tested: with its branch lost, fit wrote
    no SVG at all and exited 0."""
    model = tmp_path / "m.npz"
    r = cli("fit", SAMPLES / "moons.csv", "-o", model, "--epochs", "3", "--hidden", "4", "--plot", "-", "-q")
    assert r.exit_code == 0 and r.stderr == ""
    assert re.fullmatch(r"(?s)<\?xml [^\n]*\n<svg .*</svg>\n", r.stdout)
    assert r.stdout == cli("show", model, "--plot", "-").stdout  # (the curves of the model saved)


def test_string_labels_come_back_as_strings(cli, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "cat, big", "dog")
    data = write_csv(tmp_path / "d.csv", ["a", "b", "animal"],
                     [(f"{x:.4f}", f"{y:.4f}", f'"{l}"' if "," in l else l) for (x, y), l in zip(X, labels)])
    model = tmp_path / "m.npz"
    r = cli("fit", data, "-o", model, "--epochs", "30", "-q")
    assert r.exit_code == 0, r.stderr
    out = list(csv.reader(io.StringIO(cli("predict", model, data).stdout)))
    assert out[0] == ["prediction"] and {row[0] for row in out[1:]} == {"cat, big", "dog"}


@pytest.mark.parametrize("names", [("é,1", "ab,2"), ("0", "1"), ("dog", "cat, big")])
def test_predicted_labels_are_those_of_every_output_layout(cli, tmp_path, names):
    # Labels of one width in UTF-8 with their quotes and line end (the first two sets) are written
    # by a faster path than other labels and than the --proba layout: all must say the same.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    labels = np.where(X[:, 0] - X[:, 1] > 0, *names)
    data = write_csv(tmp_path / "d.csv", ["a", "b", "y"],
                     [(f"{x:.4f}", f"{y:.4f}", f'"{l}"' if "," in l else l) for (x, y), l in zip(X, labels)])
    model = tmp_path / "m.npz"
    assert cli("fit", data, "-o", model, "--epochs", "30", "-q").exit_code == 0
    plain = cli("predict", model, data)
    with_p = cli("predict", model, data, "--proba")
    assert plain.exit_code == 0 and with_p.exit_code == 0
    rows = list(csv.reader(io.StringIO(plain.stdout)))
    assert rows[0] == ["prediction"] and len(rows) == 301
    assert [r[0] for r in rows[1:]] == [r[0] for r in csv.reader(io.StringIO(with_p.stdout))][1:]
    assert {r[0] for r in rows[1:]} == set(names)


def test_regression_predictions_are_in_the_targets_units(cli, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 300)
    y = 1000 + 500 * x
    data = write_csv(tmp_path / "d.csv", ["x", "price"], [(f"{a:.5f}", f"{b:.3f}") for a, b in zip(x, y)])
    model = tmp_path / "m.npz"
    r = cli("fit", data, "-o", model, "--model", "linear", "--lr", "0.05", "--epochs", "100", "-q",
            "--val-split", "0")
    assert r.exit_code == 0, r.stderr
    preds = np.array([float(v) for v in cli("predict", model, data).stdout.split()[1:]])
    assert np.abs(preds - y).max() < 5
    assert load_model(str(model)).task == "regression"


def test_predictions_near_a_large_offset_keep_their_digits(cli, tmp_path):
    # Values near 1e6 that vary by ~1: "%.7g" would print them to whole units (errors up to 0.5).
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 2))
    y = 1e6 + 3 * x[:, 0] - 2 * x[:, 1]
    rows = [(f"{a:.6f}", f"{b:.6f}", f"{t:.4f}") for (a, b), t in zip(x, y)]
    data = write_csv(tmp_path / "d.csv", ["a", "b", "y"], rows)
    model = tmp_path / "m.npz"
    r = cli("fit", data, "-o", model, "--model", "linear", "--lr", "0.05", "--epochs", "100", "--l2", "0", "-q")
    assert r.exit_code == 0, r.stderr
    printed = np.array([float(v) for v in cli("predict", model, data).stdout.split()[1:]])
    m = load_model(str(model))
    exact = m.predict_values(m.inputs({"a": x[:, 0].astype(np.float32), "b": x[:, 1].astype(np.float32)}))[:, 0]
    assert np.abs(printed - exact).max() < 1e-4 * m.target.scale[0]
    assert np.abs(printed - y).std() < 0.1  # and the model itself is close: the digits matter


def test_predictions_of_several_targets_are_named_after_each(cli, tmp_path):
    """README: `prediction_<target>` for each of several targets. Every column was once named `prediction`, a
    header that no reader can tell apart, and no test had predicted more than one target."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(200, 2))
    rows = [(f"{a:.5f}", f"{b:.5f}", f"{a + b:.5f}", f"{a - 2 * b:.5f}") for a, b in x]
    data = write_csv(tmp_path / "d.csv", ["a", "b", "up", "down"], rows)
    model = tmp_path / "m.npz"
    r = cli("fit", data, "--target", "up,down", "--model", "linear", "--epochs", "5", "-o", model, "-q")
    assert r.exit_code == 0, r.stderr
    p = cli("predict", model, data)
    assert p.exit_code == 0, p.stderr
    out = list(csv.reader(io.StringIO(p.stdout)))
    assert out[0] == ["prediction_up", "prediction_down"] and len(out) == 201 and {len(row) for row in out} == {2}


def test_task_choice_is_announced_and_overridable(cli, tmp_path):
    data = write_csv(tmp_path / "d.csv", ["x", "y"], [(i, i % 3) for i in range(60)])
    m = tmp_path / "m.npz"
    assert cli("fit", data, "-o", m, "--epochs", "2", "-q").exit_code == 0
    assert load_model(str(m)).task == "classification"
    assert cli("fit", data, "-o", m, "--epochs", "2", "-q", "--task", "regression").exit_code == 0
    assert load_model(str(m)).task == "regression"


def test_predict_matches_features_by_name_in_any_order(cli, tmp_path, moons_csv):
    train, test = moons_csv
    model = tmp_path / "m.npz"
    cli("fit", train, "-o", model, "--epochs", "5", "-q")
    rows = list(csv.reader(open(test)))
    shuffled = tmp_path / "shuffled.csv"
    with open(shuffled, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["extra", rows[0][1], rows[0][0]])
        for r in rows[1:]:
            w.writerow(["zzz", r[1], r[0]])
    assert cli("predict", model, test).stdout == cli("predict", model, shuffled).stdout


def test_predict_says_when_a_file_has_no_rows(cli, tmp_path, moons_csv):
    """fit and eval refuse a header without rows; predict answers with an empty CSV, and says why."""
    train, _ = moons_csv
    model = tmp_path / "m.npz"
    cli("fit", train, "-o", model, "--epochs", "2", "-q")
    data = write_csv(tmp_path / "d.csv", ["x1", "x2"], [])
    r = cli("predict", model, data)
    assert r.exit_code == 0 and r.stdout == "prediction\n"
    assert r.stderr == f"nncli: {data}: a header and no rows, nothing to predict\n"
    assert cli("predict", model, data, "-q").stderr == ""
    one = write_csv(tmp_path / "one.csv", ["x1", "x2"], [(0.5, 0.5)])
    assert cli("predict", model, one).stderr == ""


def test_missing_feature_columns_are_listed(cli, tmp_path, moons_csv):
    train, _ = moons_csv
    model = tmp_path / "m.npz"
    cli("fit", train, "-o", model, "--epochs", "2", "-q")
    data = write_csv(tmp_path / "d.csv", ["x9"], [(1,)])
    r = cli("predict", model, data)
    assert r.exit_code == 1 and r.stdout == ""
    assert "missing columns: 'x1', 'x2'" in r.stderr


def test_bad_cell_names_file_line_and_column(cli, tmp_path):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "y"], [(1, 2, 0), (3, 4, 1), (5, "oops", 0)])
    r = cli("fit", data, "--categorical", "a", "-o", tmp_path / "m.npz")
    # 'b' is mostly numeric, so the text cell is a mistake, not a category
    assert r.exit_code == 1 and r.stdout == ""
    assert f"{data}:4:2 (column 'b')" in r.stderr and "'oops'" in r.stderr


@pytest.mark.parametrize("args", [
    ["--lr", "0"], ["--lr", "nan"], ["--epochs", "0"], ["--batch-size", "-1"], ["--hidden", "64,,3"],
    ["--hidden", "0"], ["--dropout", "1"], ["--activation", "swish"], ["--optimizer", "lbfgs"],
    ["--val-split", "1.5"], ["--task", "ranking"], ["--task", "classification", "-t", "a,b"],
    ["--task", "regression", "--class-weight", "balanced"],
])
def test_bad_options_exit_2_before_any_work(cli, tmp_path, args):
    r = cli("fit", tmp_path / "does-not-exist.csv", *args)
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith("nncli: error:") and "does-not-exist" not in r.stderr
    if "--task" in args and "ranking" not in args:  # lr-find shares the data options
        r = cli("lr-find", tmp_path / "does-not-exist.csv", *args)
        assert r.exit_code == 2 and "does-not-exist" not in r.stderr, r.stderr


def test_pipeline_gen_fit_predict_head(tmp_path):
    cmd = (f"{sys.executable} -m nncli gen-data moons -n 2000 | {sys.executable} -m nncli fit - -o m.npz --epochs 20 "
           f"&& {sys.executable} -m nncli gen-data moons -n 100 --seed 9 > test.csv "
           f"&& {sys.executable} -m nncli predict m.npz test.csv | head -3")
    r = subprocess.run(cmd, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)})  # (this checkout's)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["prediction", *r.stdout.splitlines()[1:3]] and len(r.stdout.splitlines()) == 3
    assert (tmp_path / "m.npz").exists() and "Traceback" not in r.stderr


def test_predict_reads_stdin_and_sorts_in_a_pipeline(tmp_path):
    model = tmp_path / "m.npz"
    assert run_nncli("fit", SAMPLES / "regression.csv", "-o", model, "--epochs", "3", "-q").returncode == 0
    data = (SAMPLES / "regression.csv").read_bytes()
    r = run_nncli("predict", model, input=data)
    assert r.returncode == 0 and r.stderr == b""
    values = [float(v) for v in r.stdout.decode().split()[1:]]
    assert len(values) == 1000 and all(np.isfinite(values))


def test_python_dash_m_and_version():
    r = run_nncli("--version")
    assert r.returncode == 0 and r.stdout.decode().startswith("nncli ")


def test_show_json_is_valid_json_when_an_equation_overflows(cli, tmp_path):
    # x spans 1e-4, y 1e306: the slope in the data's units is ~1e310, past float64's range.
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1e-4, 50)
    y = np.where(x > 5e-5, 1e306, -1e306) + rng.normal(0, 1e305, 50)
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    model = tmp_path / "m.npz"
    assert cli("fit", tmp_path / "d.csv", "--model", "linear", "--dtype", "float64", "--epochs", "5", "-q",
               "-o", model).exit_code == 0
    r = cli("show", model, "--json")

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    line = json.loads(r.stdout, parse_constant=refuse)["equation"]["y"]
    assert r.exit_code == 0 and line["weights"][0]["weight"] is None and math.isfinite(line["intercept"])


def test_show_describes_the_model(cli, tmp_path):
    model = tmp_path / "m.npz"
    cli("fit", SAMPLES / "linear.csv", "-o", model, "--model", "linear", "--optimizer", "sgd", "--lr", "0.1",
        "--batch-size", "200", "--epochs", "300", "--val-split", "0", "-q")
    r = cli("show", model)
    assert r.exit_code == 0 and r.stdout == ""
    assert "linear" in r.stderr and "equation" in r.stderr and "y = 2." in r.stderr.replace("1.9", "2.")
    meta = json.loads(cli("show", model, "--json").stdout)
    assert meta["kind"] == "linear" and meta["features"][0]["name"] == "x"
    # The printed equation in JSON too: y = 2x + 1 + uniform[0, 1) noise, so about 2x + 1.5
    line = meta["equation"]["y"]
    assert [w["input"] for w in line["weights"]] == ["x"]
    slope = line["weights"][0]["weight"]
    assert abs(slope - 2) < 0.1 and abs(line["intercept"] - 1.5) < 0.1
    m = load_model(str(model))
    x = np.array([[0.0], [1.0]], np.float32)
    values = m.predict_values(m.inputs({"x": x[:, 0]}))[:, 0]
    assert values == pytest.approx([line["intercept"], line["intercept"] + slope], rel=1e-5)
    # Negative coefficients with a minus sign, not "+ -1·b"
    m.network.W[0][0, 0] *= -1
    m.network.b[0][0] = -20.0  # (standardized units: y's mean is about 20 standard deviations)
    save_model(m, str(model))
    slope, intercept = load_model(str(model)).linear_coefficients()
    assert slope[0, 0] < 0 and intercept[0] < 0
    r = cli("show", model)
    [line] = [line.split(None, 1)[1].rstrip() for line in r.stderr.splitlines() if line.startswith("equation")]
    shown = re.fullmatch(r"y = -(\d\.\d+)·x - (\d+\.\d+)", line)
    assert shown, line
    assert float(shown[1]) == pytest.approx(-slope[0, 0], rel=1e-3)
    assert float(shown[2]) == pytest.approx(-intercept[0], rel=1e-3)


def test_show_gives_each_layer_s_gradient_size_where_sigmoid_layers_make_it_vanish(cli, tmp_path):
    """A learner sees vanishing gradients: through five sigmoid layers (derivative at most 1/4) the first
    layer's weight gradient is orders of magnitude below the output layer's; through ReLU it is not."""
    shown = {}
    for activation in ("sigmoid", "relu"):
        model = tmp_path / f"{activation}.npz"
        cli("fit", SAMPLES / "moons.csv", "-o", model, "--hidden", "16,16,16,16,16", "--activation", activation,
            "--epochs", "3", "-q")
        rms = json.loads(cli("show", model, "--json").stdout)["info"]["gradient_rms"]
        assert rms["epochs"] == [1, 2, 3] and all(len(row) == 6 for row in rms["rms"])
        shown[activation] = rms["rms"][0][0] / rms["rms"][0][-1]  # first layer / output layer, epoch 1
        r = cli("show", model)
        assert r.exit_code == 0 and "weight gradient (RMS)" in r.stderr and "weight gradient (RMS) per layer" in r.stderr
        table = r.stderr.split("weight gradient (RMS)")[1]
        rows = [line.split() for line in table.splitlines() if re.match(r"(layer \d|output) \(", line)]
        assert [" ".join(row[:-3]) for row in rows] == ["layer 1 (2→16)", *[f"layer {k} (16→16)" for k in range(2, 6)],
                                                        "output (16→1)"]
        assert float(rows[0][-3]) == pytest.approx(rms["rms"][0][0], rel=1e-2)  # (epoch 1's column)
    assert shown["sigmoid"] < 1e-3 and shown["relu"] > 1e-2


def test_show_gives_each_layer_s_weight_size_which_l2_holds_back(cli, tmp_path):
    """A learner sees what L2 does: without it a network's weights grow as it memorizes a few noisy rows;
    with it they end well below that."""
    small = tmp_path / "small.csv"
    small.write_text(cli("gen-data", "moons", "-n", "60", "--noise", "0.35", "--seed", "3").stdout)
    end = {}
    for l2 in ("0", "0.05"):
        model = tmp_path / f"l2-{l2}.npz"
        cli("fit", small, "-o", model, "--hidden", "32", "--l2", l2, "--epochs", "60", "--lr", "0.01", "--patience", "0", "-q")
        sizes = json.loads(cli("show", model, "--json").stdout)["info"]["weight_rms"]
        r = cli("show", model)
        rows = [line.split() for line in r.stderr.split("weight size (RMS)")[1].splitlines()[1:3]]
        assert [" ".join(row[:-3]) for row in rows] == ["layer 1 (2→32)", "output (32→1)"]
        assert [float(row[-1]) for row in rows] == pytest.approx(sizes["rms"][-1], rel=1e-2)  # (epoch 60's column)
        end[l2] = sizes["rms"][-1]
        if l2 == "0":
            assert all(last > first for first, last in zip(sizes["rms"][0], sizes["rms"][-1]))
    assert all(held < grown * 0.8 for held, grown in zip(end["0.05"], end["0"])), end


def test_show_lists_the_path_gradient_descent_took_to_a_linear_models_equation(cli, tmp_path):
    """Linear regression by gradient descent, seen step by step: the line at the start and at the end of
    epochs 1, 2, 3, 5, 10, 20 (and the last), in the data's units, walking to the equation `show` gives."""
    model = tmp_path / "line.npz"
    cli("fit", SAMPLES / "linear.csv", "-o", model, "--model", "linear", "--optimizer", "sgd", "--lr", "0.1",
        "--batch-size", "200", "--epochs", "25", "--l2", "0", "--patience", "0", "-q")
    shown = cli("show", model).stderr
    assert "How training moved y's coefficients from the initial weights (epoch 0)" in shown
    table = re.split(r"\n *epoch +x +intercept *\n", shown)[1].split("\n\n")[0]
    assert table.strip().splitlines()[-1].split()[:2] == ["25", "kept"]  # (--patience 0: the last epoch's weights)
    rows = [[float(v) for v in line.replace(" kept", "").split()] for line in table.strip().splitlines()]
    assert [row[0] for row in rows] == [0, 1, 2, 3, 5, 10, 20, 25]
    slope, intercept = re.search(r"y = ([\d.]+)·x \+ ([\d.]+)", shown).groups()
    assert rows[-1][1:] == pytest.approx([float(slope), float(intercept)], rel=1e-3)  # (epoch 25: the weights kept)
    slopes = [row[1] for row in rows]  # (full-batch steps on a convex loss: each moves toward the minimum)
    assert all(a < b for a, b in zip(slopes, slopes[1:])) and slopes[-1] - slopes[0] > 0.5


def _chart_ticks(text: str, label: str) -> list[float]:
    """The y-axis labels, top to bottom, of the chart in `text` whose first line starts with `label`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [label])
    end = next(i for i in range(start + 1, len(lines)) if "└" in lines[i])
    return [float(line.split("┤")[0]) for line in lines[start + 1:end] if "┤" in line]


def test_show_draws_a_classifiers_accuracy_and_a_schedules_learning_rate(cli, tmp_path):
    """Below the loss: a classifier's accuracy per epoch, training and validation (it can stall while the log
    loss falls), and the rate each epoch ran at when a schedule changed it; neither where it adds nothing."""
    model = tmp_path / "step.npz"
    cli("fit", SAMPLES / "moons.csv", "-o", model, "--hidden", "8", "--epochs", "8", "--val-split", "0.2",
        "--lr-schedule", "step", "--lr-step", "3", "-q")
    history = json.loads(cli("show", model, "--json").stdout)["history"]
    shown = cli("show", model).stderr
    accuracy = history["metric"] + history["val_metric"]
    ticks = _chart_ticks(shown, "accuracy")
    assert [ticks[0], ticks[-1]] == pytest.approx([max(accuracy), min(accuracy)], rel=2e-3)
    assert "learning rate per epoch (--lr-schedule step)" in shown
    ticks = _chart_ticks(shown, "lr")
    assert [ticks[0], ticks[-1]] == pytest.approx([0.001, 0.00025])
    assert history["lr"] == pytest.approx([0.001] * 3 + [0.0005] * 3 + [0.00025] * 2)

    model = tmp_path / "regression.npz"
    cli("fit", SAMPLES / "regression.csv", "-o", model, "--hidden", "8", "--epochs", "3", "-q")
    shown = cli("show", model).stderr
    assert "━ train" in shown and "accuracy" not in shown and "learning rate" not in shown


def test_shows_equation_and_imputed_values_reproduce_the_model_to_a_hundredth_of_the_spread(cli, tmp_path):
    """With 4 significant digits, `y = 3.199·x + 1.235e+05` was 43 from `predict` where y's spread was 9
    (the intercept lost its units), and an imputed year of 2005.578 read 2006."""
    rng = np.random.default_rng(0)
    x = rng.uniform(1990, 2020, 300)
    y = 123456.7 + 3.21 * (x - 1990) + rng.normal(0, 1, 300)
    data, model = tmp_path / "d.csv", tmp_path / "m.npz"
    data.write_text("x,y\n" + "".join(f"{a:.4f},{b:.4f}\n" for a, b in zip(x, y)) + ",123500\n")
    cli("fit", data, "--model", "linear", "--l2", "0", "--dtype", "float64", "--epochs", "300", "-q", "-o", model)
    r = cli("show", model)
    [line] = [line.split(None, 1)[1].rstrip() for line in r.stderr.splitlines() if line.startswith("equation")]
    shown = re.fullmatch(r"y = (\S+)·x ([-+]) (\S+)", line)
    assert shown, line
    slope, intercept = float(shown[1]), float(shown[3]) * (1 if shown[2] == "+" else -1)
    predicted = np.array([float(v) for v in cli("predict", model, data).stdout.split()[1:]])
    assert np.abs(slope * np.r_[x, np.median(x)] + intercept - predicted).max() < 0.01 * y.std()
    [fill] = [line.split()[-1] for line in r.stderr.splitlines() if line.startswith("x ")]
    assert abs(float(fill) - np.median(x)) < 0.01 * x.std()


@pytest.mark.parametrize("kind, classes", [("moons", 2), ("blobs", 3)])
def test_show_gives_a_linear_classifiers_equations_in_the_datas_units(cli, tmp_path, kind, classes):
    """Only a linear regression had its equation: the logistic regression of the README's tutorial (a
    straight boundary) could not be seen. Its log-odds, or each class's score, must give `predict`'s
    probabilities from the raw cells."""
    data, model = tmp_path / "d.csv", tmp_path / "m.npz"
    assert run_nncli("gen-data", kind, "-n", "300", "-o", data).returncode == 0
    assert cli("fit", data, "--model", "linear", "--epochs", "20", "-q", "-o", model).exit_code == 0
    meta = json.loads(cli("show", model, "--json").stdout)
    expected = ["log-odds(label=1)"] if classes == 2 else [f"score(label={c})" for c in range(classes)]
    assert list(meta["equation"]) == expected
    assert [e["class"] for e in meta["equation"].values()] == (["1"] if classes == 2 else [str(c) for c in range(classes)])
    text = cli("show", model).stderr
    assert [line.split(None, 1)[1].split(" = ")[0] for line in text.splitlines() if line.startswith("equation")] == \
        expected
    rows = np.loadtxt(data, delimiter=",", skiprows=1)[:, :2]
    W = np.array([[w["weight"] for w in meta["equation"][e]["weights"]] for e in expected]).T
    z = rows @ W + np.array([meta["equation"][e]["intercept"] for e in expected])
    p = 1 / (1 + np.exp(-z[:, 0])) if classes == 2 else np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    proba = np.loadtxt(io.StringIO(run_nncli("predict", model, data, "--proba").stdout.decode()), delimiter=",",
                       skiprows=1)[:, 1:]
    np.testing.assert_allclose(p, proba[:, 1] if classes == 2 else proba, atol=2e-5)


def test_show_and_eval_escape_control_characters_from_the_data(tmp_path):
    data = tmp_path / "d.csv"
    labels = ["cat", "dog\x1b]0;x"]
    data.write_text("evil\x1b[2J,y\n" + "".join(f"{i},{labels[i % 2]}\n" for i in range(40)))
    model = tmp_path / "m.npz"
    assert run_nncli("fit", data, "-o", model, "--epochs", "2", "-q").returncode == 0
    for args in (("show", model), ("eval", model, data)):
        r = run_nncli(*args)
        assert r.returncode == 0, r.stderr
        assert b"\x1b" not in r.stderr and b"\\x1b" in r.stderr


@pytest.mark.parametrize("best, suggestion, said", [(0.0316, 0.00316, "(a tenth of it)"),
                                                    (0.0316, 0.01, "(no lower than --lr-min)"),
                                                    (1e-7, 1e-7, "(no lower than --lr-min)")])
def test_lr_find_says_how_it_chose_the_suggestion(capsys, best, suggestion, said):
    from nncli import render
    from nncli.core.training import LrSweep

    render.show_lr_sweep(LrSweep(lrs=[1e-7, 1e-3, 0.0316, 1.0], losses=[1.0, 0.8, 0.5, 2.0], suggestion=suggestion,
                                 best_lr=best))
    assert said in " ".join(capsys.readouterr().err.split())


def test_show_says_enough_to_train_the_same_model_again(cli, tmp_path, monkeypatch):
    """What changes the weights is in `show`: rates in full (a rate rounded to 6 digits trains other
    weights), --na-values, the --val file, a thread count other than 1; and retraining from it gives the
    same weights."""
    monkeypatch.chdir(tmp_path)  # (short names: a long path folds across the report's lines)
    data, val = Path("m.csv"), Path("v.csv")
    data.write_text(cli("gen-data", "moons", "-n", "300").stdout)
    val.write_text(cli("gen-data", "moons", "-n", "100", "--seed", "1").stdout)
    model = Path("a.npz")
    options = ["--epochs", "4", "--hidden", "8", "--lr", "0.0012345678", "--l2", "0.0012345678",
               "--na-values=-999", "--val", val, "--threads", "2"]
    cli("fit", data, "-o", model, *options, "-q")
    shown = " ".join(cli("show", model).stderr.split())
    for item in ("lr=0.0012345678", "l2=0.0012345678", "na_values=-999", "threads=2",
                 f"(+ 100 for validation, from {val})"):
        assert item in shown, item
    again = Path("b.npz")
    cli("fit", data, "-o", again, *options, "-q")
    assert np.array_equal(load_model(str(model)).network.params, load_model(str(again)).network.params)
    cli("fit", data, "-o", again, "--epochs", "1", "-q")
    assert "threads=" not in " ".join(cli("show", again).stderr.split())  # (1, the default: not said)


def test_the_order_features_are_named_in_does_not_change_the_model(cli, tmp_path):
    """--features takes the columns in the file's order, as --ignore leaves them: naming them in another
    order once trained another model (the first input's weights start as another's)."""
    data = tmp_path / "mixed.csv"
    data.write_text(cli("gen-data", "mixed", "-n", "300").stdout)
    params = []
    for columns in (["--features", "x1,x2,color"], ["--features", "color,x2,x1"], ["--ignore", "id,size"]):
        cli("fit", data, "-o", tmp_path / "m.npz", "--hidden", "8", "--epochs", "3", *columns, "-q")
        model = load_model(str(tmp_path / "m.npz"))
        assert model.pre.names == ["x1", "color", "x2"]
        params.append(model.network.params)
    assert np.array_equal(params[0], params[1]) and np.array_equal(params[0], params[2])
    r = cli("fit", data, "-o", tmp_path / "m.npz", "--features", "x1,nope", "-q")
    assert r.exit_code == 1 and "no column named 'nope'" in r.stderr


def test_show_lists_every_training_option_that_was_set(cli, tmp_path):
    model = tmp_path / "m.npz"
    r = cli("fit", SAMPLES / "moons.csv", "-o", model, "--epochs", "3", "--val-split", "0.2", "--lr-schedule",
            "exponential", "--warmup", "2", "--class-weight", "balanced", "--optimizer", "momentum", "--nesterov", "-q")
    assert r.exit_code == 0, r.stderr
    shown = " ".join(cli("show", model).stderr.split())
    for item in ("optimizer=momentum", "momentum=0.9", "nesterov=True", "lr_schedule=exponential", "warmup=2",
                 "val_split=0.2", "class_weight=balanced", "(+ 200 for validation)"):
        assert item in shown, item
    plain = tmp_path / "p.npz"
    assert cli("fit", SAMPLES / "moons.csv", "-o", plain, "--epochs", "2", "-q").exit_code == 0
    shown = " ".join(cli("show", plain).stderr.split())
    assert "momentum=" not in shown and "class_weight" not in shown and "validation)" not in shown


def test_every_module_but_the_cli_and_the_render_family_imports_neither_typer_nor_rich():
    # (A fixed list of modules left out those added since: continued, table_checks, options, atomic.)
    modules = [f"nncli.core.{p.stem}" for p in (ROOT / "nncli" / "core").glob("*.py")]
    modules += [f"nncli.{p.stem}" for p in (ROOT / "nncli").glob("*.py")
                if p.stem not in ("cli", "__main__") and not p.stem.startswith("render")]
    code = f"import sys; import {', '.join(modules)}; print(sorted({{'typer', 'rich', 'click'}} & set(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=nncli_env())
    assert r.stdout == "[]\n" and len(modules) > 30 and "nncli.continued" in modules


def test_the_readmes_gradient_descent_by_hand_takes_the_steps_fit_took(tmp_path, monkeypatch, cli):
    """README, tutorial 1: three steps of gradient descent in NumPy from `info.param_path`'s start."""
    code = re.search(r"Gradient descent's steps, by hand:.*?```python\n(.*?)```", (ROOT / "README.md").read_text(),
                     re.S).group(1)
    monkeypatch.chdir(tmp_path)
    assert cli("gen-data", "linear", "-n", "200", "-o", "linear.csv").exit_code == 0
    r = cli("fit", "linear.csv", "--model", "linear", "--optimizer", "sgd", "--lr", "0.1", "--batch-size", "200",
            "--epochs", "300", "--l2", "0", "-o", "line.npz", "-q")
    assert r.exit_code == 0, r.stderr
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    steps = re.findall(r"epoch (\d): by hand w = (\S+); nncli w = (\S+)", printed.getvalue())
    assert [s[0] for s in steps] == ["1", "2", "3"] and len({s[2] for s in steps}) == 3  # (three steps, each moving w)
    assert all(by_hand == nncli for _, by_hand, nncli in steps), steps


def test_the_readmes_forward_pass_by_hand_gives_what_predict_gives(tmp_path, monkeypatch, cli):
    """README, "Predict and evaluate": the NumPy lines that compute p_1 from the model file's arrays."""
    code = re.search(r"computed those probabilities, by hand:.*?```python\n(.*?)```", (ROOT / "README.md").read_text(),
                     re.S).group(1)
    monkeypatch.chdir(tmp_path)
    assert cli("gen-data", "moons", "-n", "300", "--noise", "0.2", "-o", "moons.csv").exit_code == 0
    assert cli("fit", "moons.csv", "--hidden", "32,32", "--activation", "tanh", "-o", "moons.npz", "-e", "5",
               "-q").exit_code == 0
    assert cli("gen-data", "moons", "-n", "50", "--noise", "0.2", "--seed", "7", "-o", "test.csv").exit_code == 0
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    by_hand = [float(v) for v in printed.getvalue().strip("[] \n").split()]
    predicted = cli("predict", "moons.npz", "test.csv", "--proba").stdout.splitlines()[1:4]
    assert len(by_hand) == 3 and by_hand == pytest.approx([float(row.split(",")[2]) for row in predicted], abs=2e-6)


def test_the_cli_choices_are_the_core_registries():
    # The CLI spells its choices out (it may not import the core before --threads is applied).
    from nncli import cli as nncli_cli
    from nncli.core import activations, datagen, optimizers, schedules
    for choices, registry in [(nncli_cli.Kind, datagen.GENERATORS), (nncli_cli.Activation, activations.ACTIVATIONS),
                              (nncli_cli.Optimizer, optimizers.OPTIMIZERS), (nncli_cli.LrSchedule, schedules.SCHEDULES)]:
        assert sorted(c.value for c in choices) == sorted(registry)


def test_counts_of_one_are_singular(cli, tmp_path, capsys):
    data, model = write_csv(tmp_path / "one.csv", ["a", "y"], [(1, 2.5)]), tmp_path / "m.npz"
    r = cli("fit", data, "-o", model, "--task", "regression", "--epochs", "1", "--val-split", "0", "--progress", "plain")
    assert r.exit_code == 0, r.stderr
    summary = " ".join(r.stderr.split())
    assert "for 1 epoch in" in summary and "on 1 row." in summary
    shown = " ".join(cli("show", model).stderr.split())
    assert "1 row from" in shown and "1 epoch run;" in shown
    from types import SimpleNamespace

    from nncli import render
    from nncli.core.training import LrSweep

    m = load_model(str(model))
    run = SimpleNamespace(net=m.network, config=SimpleNamespace(optimizer="adam", lr=1e-3, batch_size=32, epochs=1,
                                                                   lr_schedule="constant", l2=0.0),
                          mopts=SimpleNamespace(kind="mlp"), init=None)
    data_ = SimpleNamespace(target=SimpleNamespace(task="regression", task_text="regression", classes=None), X_val=None, n_rows=1,
                            X=np.zeros((1, 1)), source="one.csv")
    header = " ".join(line.plain for line in render.training_header(run, data_))
    assert "1 row × 1 feature ·" in header and "up to 1 epoch" in header
    capsys.readouterr()
    render.show_lr_sweep(LrSweep(lrs=[1e-3], losses=[0.5], suggestion=1e-4, best_lr=1e-3))
    said = " ".join(capsys.readouterr().err.split())
    assert "swept 1 mini-batch" in said and "mini-batches" not in said


@pytest.mark.parametrize("args, message, hint", [
    (["fit", "d.csv", "--hidden", "64", "32"], "unexpected argument: '32'",
     "layer sizes are comma-separated: --hidden 64,32"),
    (["fit", "d.csv", "--hidden", "128", "16", "4"], "unexpected arguments: '16', '4'",
     "layer sizes are comma-separated: --hidden 128,16,4"),
    (["fit", "m.npz", "d.csv"], "unexpected argument: 'd.csv'", "to go on training a model: nncli fit d.csv --init m.npz"),
    (["lr-find", "m.npz", "d.csv"], "unexpected argument: 'd.csv'",
     "to go on training a model: nncli lr-find d.csv --init m.npz"),
    (["fit", "--hidden", "64", "32", "d.csv"], "unexpected argument: 'd.csv'", "layer sizes are comma-separated"),
    (["fit", "d.csv", "model.npz"], "unexpected argument: 'model.npz'", "the output file is an option: -o model.npz"),
    (["fit", "d.csv", "v.csv"], "unexpected argument: 'v.csv'", "a validation file is --val v.csv"),
    (["predict", "m.npz", "d.csv", "out.csv"], "unexpected argument: 'out.csv'", "the output file is an option: -o out.csv"),
    (["eval", "m.npz", "a.csv", "b.csv"], "unexpected argument: 'b.csv'", "see `nncli eval --help`"),
    (["fit", "d.csv", "a", "b"], "unexpected arguments: 'a', 'b'", "see `nncli fit --help`"),
    (["fit", "d.csv", "v.csv.gz"], "unexpected argument: 'v.csv.gz'", "a validation file is --val v.csv.gz"),
    (["fit", "d.csv", "v.csv", "-e", "1"], "unexpected argument: 'v.csv'", "a validation file is --val v.csv"),
    (["fit", "d.csv", "my v.csv"], "unexpected argument: 'my v.csv'", "a validation file is --val 'my v.csv'"),
    # an existing file is never offered as the output: -o would overwrite it
    (["predict", "m.npz", "d.csv", str(SAMPLES / "moons.csv")], f"unexpected argument: '{SAMPLES / 'moons.csv'}'",
     "see `nncli predict --help`"),
    (["fit", "d.csv", "--lr"], "Option '--lr' requires an argument.", "see `nncli fit --help`"),
    (["gen-data", "-n"], "Option '-n' requires an argument.", "see `nncli gen-data --help`"),
])
def test_usage_errors_say_what_to_write_instead(cli, args, message, hint):
    r = cli(*args)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith(f"nncli: error: {message}\nhint: ") and hint in r.stderr.splitlines()[1], r.stderr


def test_a_misspelt_column_or_label_gets_the_closest_name_and_every_name_quoted(cli, tmp_path):
    r = cli("fit", SAMPLES / "moons.csv", "--target", "Label", "-o", tmp_path / "m.npz")
    assert r.exit_code == 1 and r.stderr.endswith("hint: did you mean 'label'? the header has: 'x1', 'x2', 'label'\n")
    assert cli("fit", SAMPLES / "moons.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "-q").exit_code == 0
    r = cli("predict", tmp_path / "m.npz", SAMPLES / "linear.csv")
    assert r.exit_code == 1 and "missing columns: 'x1', 'x2'" in r.stderr
    assert r.stderr.endswith("hint: did you mean 'x' for 'x1'? the header has: 'x', 'y'\n")  # (offered once)
    # each missing name gets its close match (only the first's was looked for)
    (tmp_path / "typos.csv").write_text("X1,x3,lable\n0.5,0.5,0\n")
    r = cli("eval", tmp_path / "m.npz", tmp_path / "typos.csv")
    assert r.exit_code == 1 and "missing columns: 'x1', 'x2', 'label'" in r.stderr and r.stderr.endswith(
        "hint: did you mean 'X1' for 'x1'? did you mean 'lable' for 'label'? the header has: 'X1', 'x3', 'lable'\n")
    (tmp_path / "u.csv").write_text("x1,x2,label\n0.5,0.5,yes\n")
    r = cli("eval", tmp_path / "m.npz", tmp_path / "u.csv")
    assert r.exit_code == 1 and r.stderr.endswith("hint: the classes seen in training: '0', '1'\n")


def test_a_column_name_holding_a_comma_is_named_in_quotes(cli, tmp_path):
    # --ignore "Price, EUR" asked for 'Price' and 'EUR', and the hint offered 'Price, EUR': no way out
    rows = "".join(f"{i / 3},{i % 4},{i % 2}\n" for i in range(30))
    (tmp_path / "d.csv").write_text('"Price, EUR",n,y\n' + rows)
    r = cli("fit", tmp_path / "d.csv", "--ignore", "Price, EUR", "-o", tmp_path / "m.npz")
    assert r.exit_code == 1 and "no column named 'Price', 'EUR'" in r.stderr
    assert r.stderr.endswith("; a name holding a comma goes in double quotes: --ignore '\"Price, EUR\"'\n")
    r = cli("fit", tmp_path / "d.csv", "--ignore", '"Price, EUR"', "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.exit_code == 0 and [f.name for f in load_model(str(tmp_path / "m.npz")).pre.features] == ["n"]
    r = cli("fit", tmp_path / "d.csv", "--features", 'n, "Price, EUR"', "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.exit_code == 0 and [f.name for f in load_model(str(tmp_path / "m.npz")).pre.features] == ["Price, EUR", "n"]  # (in the file's order)
    r = cli("predict", tmp_path / "m.npz", tmp_path / "d.csv", "--keep", '"Price, EUR"')
    assert r.exit_code == 0 and r.stdout.startswith('"Price, EUR",prediction\n0.0,')
    r = cli("predict", tmp_path / "m.npz", tmp_path / "d.csv", "--keep", "Price, EUR")
    assert r.exit_code == 1 and r.stderr.endswith("; a name holding a comma goes in double quotes: '\"Price, EUR\"'\n")
    r = cli("fit", tmp_path / "d.csv", "--ignore", '"Price', "-o", tmp_path / "m.npz")
    assert r.exit_code == 2 and "--ignore '\"Price': cannot read it as a list of names" in r.stderr


def test_did_you_mean_never_offers_a_column_the_model_already_reads(cli, tmp_path):
    rows = "".join(f"{i},{2 * i},{i % 3},{i % 2}\n" for i in range(30))
    (tmp_path / "d.csv").write_text("feature_1,feature_2,feature_3,y\n" + rows)
    assert cli("fit", tmp_path / "d.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "-q").exit_code == 0
    (tmp_path / "e.csv").write_text("feature_1,feature_3,y\n1,2,0\n")
    r = cli("predict", tmp_path / "m.npz", tmp_path / "e.csv")
    assert r.exit_code == 1 and r.stderr.endswith("hint: the header has: 'feature_1', 'feature_3', 'y'\n")


def test_a_model_that_learned_nothing_is_said_to(tmp_path):
    """Adam at --lr 10 saved a coin flip's model (acc 0.51 on two even classes), exit 0 and no word."""
    data = tmp_path / "moons.csv"
    assert run_nncli("gen-data", "moons", "-n", "400", "-o", data).returncode == 0
    said = "the model does little or no better than always predicting the most common class"
    r = run_nncli("fit", data, "--lr", "10", "--epochs", "10", "-o", tmp_path / "m.npz", "--progress", "plain")
    assert r.returncode == 0 and said in r.stderr.decode() and "a --lr far too high or too low" in r.stderr.decode()
    r = run_nncli("fit", data, "--epochs", "10", "-o", tmp_path / "m.npz", "--progress", "plain")
    assert r.returncode == 0 and "little or no better" not in r.stderr.decode()
    # a linear model on circles: the straight boundary first, not the rate
    circles = tmp_path / "c.csv"
    assert run_nncli("gen-data", "circles", "-n", "400", "-o", circles).returncode == 0
    r = run_nncli("fit", circles, "--model", "linear", "--epochs", "20", "-o", tmp_path / "c.npz", "--progress", "plain")
    assert r.returncode == 0 and said in r.stderr.decode()
    assert "or features that do not tell the target" in r.stderr.decode()
    assert ": a model too simple for the data (--model linear draws one straight boundary, or line: an MLP bends), a " \
           "--lr far too high" in r.stderr.decode()
    # a rate far too low learns nothing either, and the hint named only one far too high
    r = run_nncli("fit", data, "--lr", "1e-7", "--epochs", "3", "-o", tmp_path / "m.npz", "--progress", "plain")
    assert r.returncode == 0 and said in r.stderr.decode() and "a --lr far too high or too low" in r.stderr.decode()
    noise = tmp_path / "noise.csv"
    noise.write_text("x,y\n" + "".join(f"{i % 17},{(i * 7919) % 101}\n" for i in range(300)))
    r = run_nncli("fit", noise, "--task", "regression", "--epochs", "5", "-o", tmp_path / "r.npz", "--progress", "plain")
    assert r.returncode == 0 and "the model does little or no better than predicting the mean (training R²" in r.stderr.decode()
    r = run_nncli("fit", data, "--lr", "10", "--epochs", "10", "-o", tmp_path / "m.npz", "-q")
    assert r.returncode == 0 and r.stderr == b""  # (quiet is quiet)
    # Balanced class weights trade accuracy for the rare class's recall: no notice for that
    rare = tmp_path / "rare.csv"
    rare.write_text("x,label\n" + "".join(f"{(i % 20 == 0) + (i * 7919 % 97) / 60:.3f},{int(i % 20 == 0)}\n"
                                          for i in range(400)))
    r = run_nncli("fit", rare, "--class-weight", "balanced", "--epochs", "5", "-o", tmp_path / "w.npz",
                  "--progress", "plain")
    assert r.returncode == 0 and "little or no better" not in r.stderr.decode()
    # Rare positives (2.7%) whose probabilities are learned: accuracy is the common class's share, but the
    # log loss is well under the class shares' (it was said to have learned nothing)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 5000))
    y = rng.random(5000) < 1 / (1 + np.exp(4.5 - 1.2 * a - 0.8 * b))
    rare.write_text("a,b,y\n" + "".join(f"{u:.4f},{v:.4f},{int(t)}\n" for u, v, t in zip(a, b, y)))
    r = run_nncli("fit", rare, "--epochs", "20", "-o", tmp_path / "w.npz", "--progress", "plain")
    assert r.returncode == 0 and "little or no better" not in r.stderr.decode()
    noise.write_text("x,y\n" + "".join(f"{i % 17},5\n" for i in range(50)))  # a constant: nothing to learn
    r = run_nncli("fit", noise, "--task", "regression", "--epochs", "5", "-o", tmp_path / "r.npz", "--progress", "plain")
    assert r.returncode == 0 and "little or no better" not in r.stderr.decode()


def test_a_model_that_learned_nothing_under_an_l2_of_0_01_or_more_is_told_to_try_a_smaller_one(cli, moons_csv,
                                                                                                 tmp_path):
    """The hint names a weight penalty from --l2 0.01 up (the default on fewer than 75 rows is 0.02), and not
    below: a threshold moved to 1 left every such run without that hint."""
    train, _ = moons_csv
    said = "a weight penalty too strong for so few rows (this run's --l2 is 0.01: try a smaller one)"
    r = cli("fit", train, "--lr", "1e-7", "--epochs", "3", "--l2", "0.01", "-o", tmp_path / "m.npz",
            "--progress", "plain")
    assert r.exit_code == 0 and "little or no better" in r.stderr and said in " ".join(r.stderr.split())
    r = cli("fit", train, "--lr", "1e-7", "--epochs", "3", "--l2", "0.009", "-o", tmp_path / "m.npz",
            "--progress", "plain")
    assert r.exit_code == 0 and "little or no better" in r.stderr and "weight penalty" not in r.stderr


def test_eval_on_the_training_file_says_these_are_training_scores(tmp_path):
    # A learner scoring the model on its own training file read the figures as a test, without a word
    data, other = tmp_path / "d.csv", tmp_path / "e.csv"
    assert run_nncli("gen-data", "moons", "-n", "200", "-o", data).returncode == 0
    assert run_nncli("gen-data", "moons", "-n", "200", "--seed", "3", "-o", other).returncode == 0
    assert run_nncli("fit", "d.csv", "-o", "m.npz", "--epochs", "2", "-q", cwd=tmp_path).returncode == 0
    said = "nncli: this is the file the model was trained on: these are training scores"
    for path, cwd in ((data, tmp_path), ("d.csv", tmp_path), ("./d.csv", tmp_path)):
        r = run_nncli("eval", tmp_path / "m.npz", path, cwd=cwd)
        assert r.returncode == 0 and said in r.stderr.decode()
    for args in (("eval", tmp_path / "m.npz", other), ("eval", tmp_path / "m.npz", "-q", data)):
        r = run_nncli(*args, cwd=tmp_path)
        assert r.returncode == 0 and said not in r.stderr.decode()
    # trained with --val-split, part of the file validated it: not the advice to do so
    assert run_nncli("fit", "d.csv", "-o", "v.npz", "--epochs", "2", "-q", "--val-split", "0.2", cwd=tmp_path).returncode == 0
    r = run_nncli("eval", "v.npz", "d.csv", cwd=tmp_path)
    assert r.returncode == 0 and "nncli: this is the file the model was trained on: 160 of its rows trained it and 40 " \
        "validated it, so these are mostly training scores; the validation figures are in `nncli show`" in r.stderr.decode()
    # A file of the same name in another folder, or the training file rewritten with other rows, is not it
    # (the path as `fit` was given it, from eval's folder, said so of both)
    (tmp_path / "sub").mkdir()
    assert run_nncli("gen-data", "moons", "-n", "200", "--seed", "4", "-o", tmp_path / "sub" / "d.csv").returncode == 0
    r = run_nncli("eval", tmp_path / "m.npz", "d.csv", cwd=tmp_path / "sub")
    assert r.returncode == 0 and said not in r.stderr.decode()
    data.write_bytes(other.read_bytes())  # (the same inode, other rows)
    r = run_nncli("eval", tmp_path / "m.npz", data, cwd=tmp_path)
    assert r.returncode == 0 and said not in r.stderr.decode()



def test_fit_with_the_training_file_as_val_says_so(tmp_path):
    data, other = tmp_path / "d.csv", tmp_path / "e.csv"
    assert run_nncli("gen-data", "moons", "-n", "200", "-o", data).returncode == 0
    assert run_nncli("gen-data", "moons", "-n", "200", "--seed", "3", "-o", other).returncode == 0
    said = "nncli: --val names the training file: its figures are training scores"
    for val, expected in (("./d.csv", True), (other, False)):
        r = run_nncli("fit", data, "--val", val, "-o", "m.npz", "--epochs", "2", "--progress", "plain", cwd=tmp_path)
        assert r.returncode == 0 and (said in r.stderr.decode()) == expected


def test_names_with_spaces_read_at_the_wrong_delimiter_get_the_delimiters_hint(cli, tmp_path):
    # The header was split at spaces to look for the names in it, which cut 'sepal length' in two
    rows = "".join(f"{i % 5},{i % 3},{i % 2}\n" for i in range(40))
    (tmp_path / "d.csv").write_text("sepal length,petal width,label\n" + rows)
    assert cli("fit", tmp_path / "d.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "-q").exit_code == 0
    said = "hint: the header is one column when split at ',': is that the file's delimiter? see --delimiter\n"
    for name, text in (("semi.csv", "sepal length;petal width;label\n1;2;0\n"),
                       ("tab.csv", "sepal length\tpetal width\tlabel\n1\t2\t0\n")):
        (tmp_path / name).write_text(text)
        for command in ("predict", "eval"):
            r = cli(command, tmp_path / "m.npz", tmp_path / name, "--delimiter", ",")
            assert r.exit_code == 1 and r.stderr.endswith(said), r.stderr
    (tmp_path / "one.csv").write_text("sepal length\n1\n")  # (a file of one of the columns: not the delimiter)
    r = cli("predict", tmp_path / "m.npz", tmp_path / "one.csv")
    assert r.exit_code == 1 and r.stderr.endswith("hint: the header has: 'sepal length'\n")


def test_the_default_l2_is_less_the_more_rows_train(tmp_path):
    """A constant default (0.005) pulled as hard on 10,000 rows as on 200: more data scored worse."""
    from nncli.model_file import load_model

    data = tmp_path / "d.csv"
    assert run_nncli("gen-data", "moons", "-n", "500", "-o", data).returncode == 0
    few = tmp_path / "few.csv"
    few.write_text("".join(data.read_text().splitlines(keepends=True)[:31]))  # 30 rows: 1.5 / 30 is capped
    for extra, l2, rule in (((), 1.5 / 500, 1.5), (("--val-split", "0.2"), 1.5 / 400, 1.5), (("--l2", "0.01"), 0.01, None),
                            (("--val", few), 1.5 / 500, 1.5)):
        assert run_nncli("fit", data, "-o", tmp_path / "m.npz", "--epochs", "1", "-q", *extra).returncode == 0
        config = load_model(str(tmp_path / "m.npz")).config
        assert config["l2"] == pytest.approx(l2) and config.get("l2_default") == rule
    assert run_nncli("fit", few, "-o", tmp_path / "m.npz", "--epochs", "1", "-q").returncode == 0
    assert load_model(str(tmp_path / "m.npz")).config["l2"] == pytest.approx(0.02)  # (1.5 / 2 rows was 0.75)


def test_gen_data_help_states_each_kinds_default_noise():
    """`--noise` said only "each kind has its default"; the values it now states are the ones used."""
    import re

    from nncli.core.datagen import GENERATORS

    text = " ".join(run_nncli("gen-data", "--help", env={"COLUMNS": "200"}).stdout.decode().split())
    listed = text.split("defaults:")[1].split(" --")[0]
    stated = dict(re.findall(r"(\w+) (\d+(?:\.\d+)?)", listed))
    assert set(stated) == set(GENERATORS)
    for kind, noise in stated.items():
        a = GENERATORS[kind](np.random.default_rng(3), 50)[0]
        b = GENERATORS[kind](np.random.default_rng(3), 50, noise=float(noise))[0]
        assert all(np.array_equal(a[c], b[c]) for c in a), kind


def test_with_l2_the_losses_are_the_datas_and_the_penalty_is_said_beside_them(tmp_path):
    """The reported losses once included the weight penalty: a learner read 1.18 after one epoch, above
    ln 2, and early stopping and the chart watched a validation loss that fell with the shrinking
    weights while the data's stayed flat. The validation loss is now what `eval` scores on those rows,
    and the penalty is said beside the losses: the training one's mean over the epoch's batches, the
    validation one the weights' own."""
    from nncli.model_file import load_model
    from nncli.render import fmt

    data, val, model = tmp_path / "d.csv", tmp_path / "v.csv", tmp_path / "m.npz"
    assert run_nncli("gen-data", "moons", "-n", "300", "-o", data).returncode == 0
    assert run_nncli("gen-data", "moons", "-n", "200", "--seed", "3", "-o", val).returncode == 0
    r = run_nncli("fit", data, "--l2", "0.05", "--hidden", "64,64", "--epochs", "5", "--val", val, "-o", model,
                  "--progress", "plain", "--json")
    m = load_model(str(model))
    end = 0.5 * 0.05 * float(np.vdot(m.network.weights, m.network.weights))
    info = json.loads(r.stdout)
    scored = json.loads(run_nncli("eval", model, val, "--json", "-q").stdout)
    assert info["final_val_loss"] == pytest.approx(scored["log_loss"], rel=1e-4)
    assert end > 0.5 * info["final_val_loss"]  # (a penalty counted in would show)
    assert info["final_val_l2_penalty"] == pytest.approx(end, rel=1e-5)
    assert info["final_l2_penalty"] == pytest.approx(end, rel=0.2)
    said = " ".join(r.stderr.decode().split())
    assert f"validation loss {fmt(info['final_val_loss'])}," in said
    assert f"L2 penalty {fmt(info['final_l2_penalty'])} (minimized along with the loss, not counted in it)" in said
    assert m.info["final_l2_penalty"] == info["final_l2_penalty"]
    r = run_nncli("fit", data, "--l2", "0", "--epochs", "5", "-o", model, "--progress", "plain", "--json")
    assert json.loads(r.stdout)["final_l2_penalty"] == 0 and "L2 penalty" not in r.stderr.decode()


def test_a_name_too_long_to_match_gets_the_listing_without_a_close_match_search():
    """difflib on a 60 MB class label took 13.5 s and 2.8 GB to say it was not seen in training."""
    from nncli.errors import MATCHED_CHARS, names_hint

    name = "x" * (MATCHED_CHARS - 1)
    assert names_hint(name + "y", [name, "b"], "names").startswith("did you mean")
    assert names_hint(name, [name + "y", "b"], "names").startswith("did you mean")
    assert names_hint(name + "yy", [name + "y", "b"], "names").startswith("names: ")
    assert names_hint(name, [name + "yy", "b"], "names").startswith("names: ")


def test_show_gives_the_schedules_settings_and_the_per_epoch_history(cli, tmp_path):
    """The model stored lr_decay and lr_step as None when defaulted, so "x 0.5 every 10 epochs" showed
    nowhere; the per-epoch learning rate and curves were in no JSON; --patience 0 read null in JSON."""
    model = tmp_path / "m.npz"
    cli("fit", SAMPLES / "moons.csv", "--lr-schedule", "step", "--epochs", "12", "--patience", "0", "-q", "-o", model)
    meta = json.loads(cli("show", model, "--json").stdout)
    assert (meta["config"]["lr_decay"], meta["config"]["lr_step"], meta["config"]["patience"]) == (0.5, 10, 0)
    assert meta["history"]["lr"] == pytest.approx([0.001] * 10 + [0.0005] * 2)
    assert len(meta["history"]["loss"]) == 12 and meta["history"]["val_loss"] == [None] * 12
    assert "lr_schedule=step, lr_decay=0.5, lr_step=10," in " ".join(cli("show", model).stderr.split())
    cli("fit", SAMPLES / "moons.csv", "--lr-schedule", "exponential", "--epochs", "5", "-q", "-o", model)
    config = json.loads(cli("show", model, "--json").stdout)["config"]
    assert config["lr_decay"] == pytest.approx(0.01 ** 0.25) and config.get("lr_step") is None


@pytest.mark.parametrize("value, traceback", [("0", False), ("", False), ("false", False), ("Off", False), ("1", True),
                                              ("yes", True)])
def test_nncli_debug_0_is_off(monkeypatch, capsys, value, traceback):
    # (NNCLI_DEBUG=0 printed tracebacks: any value counted as on)
    from nncli.cli import run

    monkeypatch.setenv("NNCLI_DEBUG", value)

    def broken():
        raise ZeroDivisionError("a bug")

    if traceback:  # (re-raised: Python prints it)
        with pytest.raises(ZeroDivisionError):
            run(broken)
    else:
        assert run(broken) == 1
        assert "nncli: error: internal error: ZeroDivisionError: 'a bug'" in capsys.readouterr().err


# -- --log-target: regression on log(1 + y) -----------------------------------------------------------
def _amounts(path, n=400, seed=0, rows=None):
    """Prices whose log grows linearly with two features: log(1 + price) = 0.01·area + 0.2·rooms + 3, noisy."""
    rng = np.random.default_rng(seed)
    area, rooms = rng.uniform(20, 300, n), rng.integers(1, 8, n).astype(float)
    price = np.expm1(0.01 * area + 0.2 * rooms + 3 + rng.normal(0, 0.05, n))
    path.write_text("area,rooms,price\n" + "".join(f"{a:.4f},{r:g},{p:.6g}\n" for a, r, p in zip(area, rooms, price)))
    return path


def test_log_target_trains_on_log_1_plus_y_and_predicts_y(cli, tmp_path):
    """A linear model on log(1 + y) finds the generating coefficients; `show` writes its equation for
    log(1 + price); predict undoes the log (its values are expm1 of the equation's); eval scores y itself,
    and adds RMSLE, which equals the RMSE of log(1 + y) computed from predict's output."""
    data, model = _amounts(tmp_path / "prices.csv"), tmp_path / "log.npz"
    r = cli("fit", data, "-o", model, "--model", "linear", "--log-target", "--epochs", "300", "--lr", "0.05",
            "--l2", "0", "--progress", "plain")
    assert r.exit_code == 0, r.stderr
    assert "training loss of log(1 + price)" in r.stderr
    summary = json.loads(cli("fit", data, "-o", tmp_path / "j.npz", "--log-target", "--epochs", "1", "--json").stdout)
    assert summary["target_transform"] == "log1p"  # (its final loss and R² are of log(1 + price))
    shown = cli("show", model).stderr
    assert "regression on log(1 + price) (mse loss)" in shown
    a, b, c = map(float, re.search(r"log\(1 \+ price\) = ([\d.]+)·area \+ ([\d.]+)·rooms \+ ([\d.]+)", shown).groups())
    assert (a, b, c) == pytest.approx((0.01, 0.2, 3), rel=0.03)
    rows = np.loadtxt(data, delimiter=",", skiprows=1)
    predicted = np.loadtxt(io.StringIO(cli("predict", model, data).stdout), skiprows=1)
    assert predicted == pytest.approx(np.expm1(a * rows[:, 0] + b * rows[:, 1] + c), rel=2e-3)
    scores = json.loads(cli("eval", model, data, "--json").stdout)
    truth = rows[:, 2]
    assert scores["mae"] == pytest.approx(np.abs(truth - predicted).mean(), rel=1e-4)
    assert scores["rmsle"] == pytest.approx(np.sqrt(np.mean((np.log1p(truth) - np.log1p(predicted)) ** 2)), rel=1e-3)
    assert "RMSLE" in cli("eval", model, data).stderr
    plain = tmp_path / "plain.npz"  # (without the option: no RMSLE, and y itself is what the network predicts)
    cli("fit", data, "-o", plain, "--model", "linear", "--epochs", "3", "-q")
    assert "rmsle" not in json.loads(cli("eval", plain, data, "--json").stdout)
    assert "price = " in cli("show", plain).stderr


def test_log_target_standardizes_log_1_plus_y_of_the_training_rows(tmp_path):
    """With a validation split, the target is standardized on the training rows' log(1 + y) (not y, not
    every row): the saved mean and scale are those rows' own."""
    from nncli.workflow import DataOptions, load_training_data

    data = _amounts(tmp_path / "prices.csv")
    for split in (0.0, 0.25):
        d = load_training_data(str(data), DataOptions(log_target=True), "auto", val_split=split,
                               rng=np.random.default_rng(0))
        train = np.log1p(d.target.decode_values(d.Y.astype(np.float64)))  # (back to y, then log(1 + y) again)
        assert d.target.mean == pytest.approx(train.mean(axis=0)) and d.target.scale == pytest.approx(train.std(axis=0))
        assert d.target.log and d.Y.mean() == pytest.approx(0, abs=1e-5)


def test_log_target_refuses_negative_values_and_classes(cli, tmp_path):
    data = _amounts(tmp_path / "prices.csv", n=50)
    lines = data.read_text().splitlines()
    lines[7] = lines[7].rsplit(",", 1)[0] + ",-2"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    for args, said in ((("fit", bad), "found -2 (1 row below 0)\n"),  # (the training file: all its rows read)
                       (("fit", data, "--val", bad), "found -2\n")):  # (a validation file: read a chunk at a time)
        r = cli(*args, "--log-target", "-o", tmp_path / "m.npz", "-q")
        assert r.exit_code == 1 and "bad.csv:8:3 (column 'price'): --log-target trains on log(1 + y)" in r.stderr
        assert said in r.stderr
    cli("fit", data, "--log-target", "-o", tmp_path / "ok.npz", "--epochs", "2", "-q")
    r = cli("eval", tmp_path / "ok.npz", bad, "--json")  # (eval scores y itself: a negative y is a fair test row)
    assert r.exit_code == 0 and json.loads(r.stdout)["rmsle"] is None
    r = cli("fit", SAMPLES / "moons.csv", "--log-target", "-o", tmp_path / "c.npz", "--epochs", "1", "-q")
    assert r.exit_code == 0 and load_model(str(tmp_path / "c.npz")).task == "regression"  # (0/1 counts, not classes)
    r = cli("fit", SAMPLES / "mixed.csv", "--log-target", "--ignore", "id", "-o", tmp_path / "c.npz", "-q")
    assert r.exit_code == 1 and "expected a finite number as the target, found 'yes'" in r.stderr
    assert r.stderr.endswith("hint: --log-target is for numbers to predict; labels are a classifier's (leave it out)\n")
    r = cli("fit", data, "--log-target", "--task", "classification", "-o", tmp_path / "c.npz", "-q")
    assert r.exit_code == 2 and "--log-target is for a number to predict" in r.stderr
    r = cli("lr-find", data, "--log-target", "-q")  # (the sweep steps on the loss fit will minimize)
    assert r.exit_code == 0 and float(r.stdout) > 0


def test_gen_data_prices_are_amounts_whose_log_is_linear_in_the_features(cli):
    """`prices`: log(price) = 9 + 0.012·area + 0.15·rooms + noise, as its docstring and README say."""
    rows = np.loadtxt(io.StringIO(cli("gen-data", "prices", "-n", "5000").stdout), delimiter=",", skiprows=1)
    area, rooms, price = rows.T
    assert 20 <= area.min() and area.max() <= 400 and set(rooms) == set(range(1, 8)) and price.min() > 0
    coef, *_ = np.linalg.lstsq(np.column_stack([area, rooms, np.ones(len(rows))]), np.log(price), rcond=None)
    assert coef == pytest.approx([0.012, 0.15, 9], rel=0.02)
    assert price.max() / price.min() > 100  # (orders of magnitude: what --log-target is for)


def test_predict_gives_every_row_of_a_one_column_file_a_prediction(cli, tmp_path):
    """A cell of spaces (csv.writer writes one unquoted) or `""` is a missing cell, not a blank line:
    predict once gave such a row none, and its output was a row short of the file's."""
    data = tmp_path / "one.csv"
    data.write_text("x,y\n1,1\n2,2\n3,5\n4,3\n")
    cli("fit", data, "-o", tmp_path / "m.npz", "--task", "regression", "--epochs", "1", "-q")
    rows = tmp_path / "rows.csv"
    with rows.open("w", newline="") as f:
        csv.writer(f).writerows([["x"], ["1"], [" "], [""], ["2"]])
    assert rows.read_bytes() == b'x\r\n1\r\n \r\n""\r\n2\r\n'
    r = cli("predict", tmp_path / "m.npz", rows)
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 1 + 4 and "imputed missing cells: 'x' (2)" in r.stderr


def test_gen_data_prices_stay_positive_numbers_at_the_largest_noise(cli):
    rows = np.loadtxt(io.StringIO(cli("gen-data", "prices", "-n", "20000", "--noise", "10").stdout), delimiter=",",
                      skiprows=1)
    assert np.isfinite(rows).all() and rows[:, 2].min() >= 0 and rows[:, 2].max() > 2.0 ** 63  # (past int64: once wrapped)
    r = cli("gen-data", "prices", "--noise", "10.5")
    assert r.exit_code == 2 and "--noise for prices must be at most 10, not 10.5: it spreads log(price)" in r.stderr


def test_a_log_target_model_predicts_no_value_below_0_and_eval_gives_its_rmsle(cli, tmp_path):
    """Counts that are often 0: the network's log(1 + y) may fall below 0, which would be a y in (-1, 0)
    that training never took; predictions stop at 0, and RMSLE (which needs values of 0 or more) is given."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 3, 500)
    counts = np.where(x < 1.5, 0, np.round(3 * np.exp(2 * (x - 1.5))))
    data = tmp_path / "counts.csv"
    data.write_text("x,count\n" + "".join(f"{a:.4f},{int(c)}\n" for a, c in zip(x, counts)))
    cli("fit", data, "--model", "linear", "--log-target", "-o", tmp_path / "m.npz", "-q")
    model = load_model(str(tmp_path / "m.npz"))
    W, b = model.linear_coefficients()
    assert (x * W[0, 0] + b[0] < 0).sum() > 50  # (the equation's log(1 + y) is below 0 on many rows)
    predicted = np.loadtxt(io.StringIO(cli("predict", tmp_path / "m.npz", data).stdout), skiprows=1)
    assert predicted.min() == 0 and (predicted == 0).sum() > 50
    scores = json.loads(cli("eval", tmp_path / "m.npz", data, "--json").stdout)
    assert scores["rmsle"] == pytest.approx(np.sqrt(np.mean((np.log1p(counts) - np.log1p(predicted)) ** 2)), rel=1e-3)


def test_log_target_with_several_targets_gives_each_its_equation_and_rmsle(cli, tmp_path):
    data = _amounts(tmp_path / "prices.csv")
    rows = data.read_text().splitlines()
    data.write_text("\n".join([rows[0] + ",rent"] + [r + f",{float(r.split(',')[2]) / 200:.6g}" for r in rows[1:]]) + "\n")
    cli("fit", data, "--model", "linear", "--log-target", "--target", "price,rent", "-o", tmp_path / "m.npz",
        "--epochs", "100", "--lr", "0.05", "-q")
    shown = cli("show", tmp_path / "m.npz").stderr
    assert "log(1 + price) = " in shown and "log(1 + rent) = " in shown
    assert "regression on log(1 + price), log(1 + rent)" in shown
    scores = json.loads(cli("eval", tmp_path / "m.npz", data, "--json").stdout)
    assert set(scores["per_target"]) == {"price", "rent"} and all(s["rmsle"] < 0.2 for s in scores["per_target"].values())


def test_the_path_ends_with_the_last_epoch_and_marks_the_one_kept(cli, tmp_path):
    """Early stopping keeps an epoch that is neither round nor last: its row is in the table, marked, and
    is the equation `show` gives; the last epoch run ends the table."""
    model = tmp_path / "es.npz"
    cli("fit", SAMPLES / "linear.csv", "-o", model, "--model", "linear", "--optimizer", "sgd", "--lr", "0.1",
        "--batch-size", "200", "--l2", "0", "--val-split", "0.5", "--patience", "5", "-q")
    m = load_model(str(model))
    kept, last = m.info["weights_from_epoch"], m.info["epochs_run"]
    assert kept not in (last, 10, 20) and kept > 5 and m.info["param_path"]["epochs"][-1] == last
    shown = cli("show", model).stderr
    row = re.search(rf"\n *{kept} kept +([\d.]+) +([\d.]+)\n", shown).groups()
    slope, intercept = re.search(r"y = ([\d.]+)·x \+ ([\d.]+)", shown).groups()
    assert [float(v) for v in row] == pytest.approx([float(slope), float(intercept)], rel=1e-3)
    assert re.search(rf"\n *{last} +[\d.]+ +[\d.]+\n", shown)


def test_show_keeps_the_path_and_layer_sizes_whole_in_a_narrow_window(tmp_path):
    """Rich narrowed every column alike: in 40 columns a path of eight inputs read `0…  -…  -…`."""
    data = tmp_path / "r8.csv"
    data.write_bytes(run_nncli("gen-data", "regression", "-n", "300", "--features", "8").stdout)
    for args in (["--model", "linear"], ["--hidden", "16,16,16"]):
        model = tmp_path / "m.npz"
        assert run_nncli("fit", data, "-o", model, "--epochs", "3", "-q", *args).returncode == 0
        shown = run_nncli("show", model, env={"COLUMNS": "40"}).stderr.decode()
        table = shown.split("How training moved" if args[1] == "linear" else "weight size")[1].split("\n\n")[0]
        assert "…" not in table and re.search(r"-?\d\.\d{3}", table), table


def test_the_cli_defaults_are_the_library_options_defaults():
    """The CLI spells its defaults out (it may not import the library before --threads is applied); the
    option dataclasses the benchmarks and tests drive have their own: they must agree."""
    import inspect

    from nncli import cli as nncli_cli
    from nncli.core.training import TrainConfig
    from nncli.options import parse_hidden
    from nncli.workflow import DataOptions, ModelOptions

    fit = inspect.signature(nncli_cli.fit).parameters
    assert ModelOptions().hidden == parse_hidden(nncli_cli.DEFAULTS["hidden"])
    assert DataOptions().max_categories == fit["max_categories"].default
    assert DataOptions().missing == fit["missing"].default.value and DataOptions().dtype == fit["dtype"].default.value
    assert ModelOptions().kind == fit["model"].default.value and ModelOptions().dropout == fit["dropout"].default
    for name in ("epochs", "batch_size"):
        assert getattr(TrainConfig(), name) == nncli_cli.DEFAULTS[name] == fit[name].default
    assert TrainConfig().lr == nncli_cli.DEFAULTS["lr"] and TrainConfig().optimizer == fit["optimizer"].default.value
