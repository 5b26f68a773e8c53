"""The tables people read (eval's report, fit's columns): numbers stay whole at any window width."""

import copy
import io
import re

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console

from conftest import SAMPLES
from nncli import render, render_show
from nncli.model_file import load_model
from nncli.options import split_list
from nncli.workflow import ColumnInfo
from test_render_map import model_of


def printed(renderable, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable, crop=False)  # as render prints tables: past the edge rather than cut
    return console.file.getvalue()


def classification(classes: list[str]) -> dict:
    k = len(classes)
    matrix = [[586 if i == j else 1042 * (i + 2 * j) for j in range(k)] for i in range(k)]
    per = {c: {"precision": 0.998, "recall": 1.0, "f1": None if i == 1 else 0.9964, "support": 962 + i * 41152}
           for i, c in enumerate(classes)}
    return {"task": "classification", "accuracy": 0.9977, "log_loss": 0.019, "rows": 123456, "classes": classes,
            "per_class": per, "macro": {"precision": 0.998, "recall": 0.999, "f1": 0.997}, "confusion_matrix": matrix}


def matrix_lines(result: dict, width: int) -> list[str]:
    """The lines of eval's report after the confusion matrix's title, printed at this width."""
    lines = printed(render.eval_report(result), width).splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("confusion matrix")) + 1:]


def numbers_in(result: dict) -> list[str]:
    """Every number eval's report shows, as it shows it."""
    out = ["0.9977", "0.0190", "123,456", "0.998", "1.000", "0.996", "0.999", "0.997", "123456"]
    out += [str(c["support"]) for c in result["per_class"].values()]
    out += [str(v) for row in result["confusion_matrix"] for v in row]
    return out


@pytest.mark.parametrize("classes", [["0", "1", "2"], ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]])
@pytest.mark.parametrize("width", range(12, 81, 4))
def test_eval_report_never_cuts_a_number(classes, width):
    result = classification(classes)
    text = printed(render.eval_report(result), width)
    tokens = set(text.split())
    missing = [n for n in numbers_in(result) if n not in tokens]
    assert not missing, text
    assert "…" not in "".join(t for t in tokens if re.fullmatch(r"[\d.,…]+", t))  # no number ends in an ellipsis


def test_eval_with_a_threshold_says_which_one_chose_the_classes():
    """`eval --threshold 0.3`'s report heads its scores with the threshold they were taken at: a mutant
    left the row out and no test saw."""
    result = {**classification(["0", "1"]), "threshold": 0.3}
    lines = [line.split() for line in printed(render.eval_report(result), 80).splitlines()]
    assert lines[0] == ["threshold", "0.3"] and lines[1] == ["accuracy", "0.9977"]
    assert "threshold" not in printed(render.eval_report(classification(["0", "1"])), 80)


@pytest.mark.parametrize("width", [20, 40])
def test_labels_give_way_before_numbers(width):
    # The audit's cases: at 20 columns `0…` for 0.998 and `5…` for 586, at 40 `precis…`.
    text = printed(render.eval_report(classification(["0", "1", "2"])), width)
    assert "0.998" in text and re.search(r"(^|\s)586\s", text)
    if width == 40:
        assert "precision" in text and all(cell_len(line) <= width for line in text.splitlines())
        assert re.search(r"^macro\s+0\.998", text, re.M)  # "macro avg" wraps between its words


def test_long_class_names_fold_rather_than_end_alike():
    # Cut with an ellipsis, Iris-versicolor and Iris-virginica would both read `Iris-v…`.
    text = printed(render.eval_report(classification(["Iris-setosa", "Iris-versicolor", "Iris-virginica"])), 30)
    assert "…" not in "".join(line.split()[0] for line in text.splitlines() if line[:1] == "I")
    assert all(cell_len(line) <= 30 for line in text.splitlines())


@pytest.mark.parametrize("width", [40, 80, 100])
def test_class_numbers_in_the_confusion_matrix_never_split(width):
    # Over counts of one digit, the header `11` narrowed to one character: `1` over `1`, which read
    # as two classes; at 40 columns, the row of class `10` was labelled `1`, a stray `0` below it.
    classes = [str(i) for i in range(25 if width > 40 else 12)]
    result = classification(classes)
    result["confusion_matrix"] = [[(i * 7 + j) % 3 for j in range(len(classes))] for i in range(len(classes))]
    lines = printed(render.eval_report(result), width).splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith("confusion matrix"))
    top = next(i for i in range(title, len(lines)) if lines[i].split()[:1] == ["0"])  # (the title may wrap)
    blocks = "\n".join(lines[top:]).split("\n\n")  # (columns in blocks as wide as the window)
    assert [c for block in blocks for c in block.splitlines()[0].split()] == classes
    for block in blocks:
        assert [line.split()[0] for line in block.splitlines()[1:]] == classes
    assert all(cell_len(line.rstrip()) <= width for line in lines[top:])
    assert len(blocks) == (2 if width == 80 else 1)


@pytest.mark.parametrize("width", [12, 20])
def test_a_class_name_of_four_characters_never_splits(width):
    # SHORT_WORD: folded to `100` over `0`, the row of class `1000` read as class 100's
    classes = ["1000", "1001", "1010"]
    text = printed(render.eval_report(classification(classes)), width)
    labels = [line.split()[0] for line in text.splitlines() if line[:2] == "10"]  # (per class, then the matrix)
    assert labels[:3] == classes and set(labels) == set(classes), text


def test_a_confusion_matrix_of_long_class_names_is_numbered_and_cut_into_blocks():
    """30 classes named like `class 07 — Ünïcödé label 東京都 …` (60 cells): one table 154 cells wide
    whose lines all wrapped, each name folded over 15 lines. Now a key, then blocks that fit."""
    classes = [f"class {i:02d} — Ünïcödé label 東京都 number {i} with a rather long tail" for i in range(30)]
    result = classification(classes)
    result["confusion_matrix"] = [[(i * 37 + j * 11) % 60 for j in range(30)] for i in range(30)]
    lines = printed(render.eval_report(result), 80).splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith("confusion matrix"))
    key, *blocks = "\n".join(lines[title + 1:]).split("\n\n")
    assert [line.strip().split(None, 1) for line in key.splitlines()] == [[str(i + 1), c] for i, c in enumerate(classes)]
    assert [int(c) for block in blocks for c in block.splitlines()[0].split()] == list(range(1, 31))
    for block in blocks:
        rows = [line.split() for line in block.splitlines()[1:]]
        assert [int(r[0]) for r in rows] == list(range(1, 31))
        columns = [int(c) - 1 for c in block.splitlines()[0].split()]
        assert [[int(v) for v in r[1:]] for r in rows] == [[result["confusion_matrix"][i][j] for j in columns]
                                                            for i in range(30)]
    assert all(cell_len(line.rstrip()) <= 80 for line in lines[title + 1:])
    assert len(lines) - title < 100  # (the matrix alone was 1,098 lines at 120 columns)


@pytest.mark.parametrize("width", [16, 24, 40])
def test_regression_report_and_columns_table_keep_numbers_whole(width):
    per = {name: {"mse": 1234.56789, "rmse": 35.13642, "mae": 27.0, "r2": 0.987654} for name in ("price_in_euros", "y2")}
    result = {"task": "regression", "per_target": per, "mse": 617.2839, "rmse": 17.5, "mae": 13.5, "r2": 0.5,
              "rows": 1_234_567}
    tokens = printed(render.eval_report(result), width).split()
    for n in ("1234.57", "35.1364", "27", "0.987654", "617.284", "17.5", "13.5", "0.500000", "1,234,567"):
        assert n in tokens
    infos = [ColumnInfo("a_rather_long_column_name", "numeric", 123456, 0),
             ColumnInfo("colour", "categorical", 7, 4321), ColumnInfo("label", "target")]
    tokens = printed(render.columns_table(infos), width).split()
    assert {"123456", "7", "4321"} <= set(tokens)


def test_fit_lists_every_column_up_to_fifty_and_counts_plain_numeric_ones_beyond():
    """Fifty columns are listed in full, fifty-one give their plain numeric columns a line (a mutant summed
    them up from fifty). The target and ignored columns leave `missing` blank: a missing target drops
    its row, and an ignored column is not read (a mutant gave the target's count)."""
    def table(n: int) -> list[str]:
        infos = [ColumnInfo(f"x{j}", "numeric") for j in range(n - 3)]
        infos += [ColumnInfo("id", "ignored", 2), ColumnInfo("colour", "categorical", 1, 3),
                  ColumnInfo("y", "target", 4)]
        return printed(render.columns_table(infos), 80).splitlines()

    fifty = table(50)
    assert len(fifty) == 51 and not any(line.startswith("…") for line in fifty)
    assert table(51)[-1] == "… and 48 numeric columns with no missing cell"
    rows = {line.split()[0]: line.split()[1:] for line in fifty[1:]}
    assert rows["y"] == ["target"] and rows["id"] == ["ignored"] and rows["colour"] == ["categorical", "1", "3"]
    assert rows["x0"] == ["numeric", "0"]


def test_eval_in_a_20_column_window_prints_whole_numbers(tmp_path):
    from conftest import run_nncli

    data, model = tmp_path / "d.csv", tmp_path / "m.npz"
    assert run_nncli("gen-data", "blobs", "-n", "300", "--classes", "3", "-o", data).returncode == 0
    assert run_nncli("fit", data, "-o", model, "--epochs", "2", "-q").returncode == 0
    r = run_nncli("eval", model, data, env={"COLUMNS": "20"})
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert not re.search(r"\d…", err), err
    # The macro average's row, support included: Console.print crops at the window's edge unless told not to.
    assert re.search(r"^\S+ +0\.\d{3} +0\.\d{3} +0\.\d{3} +300 +[01]\.\d{3}$", err, re.M), err  # (ROC AUC last)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A regression model with a feature imputed at a many-digit median, and its path."""
    from conftest import run_nncli
    from nncli.model_file import load_model

    d = tmp_path_factory.mktemp("show")
    (d / "d.csv").write_text("x,y\n" + "".join(f"{-0.1234567 * i},{i % 5}\n" for i in range(40)) + ",2\n")
    assert run_nncli("fit", d / "d.csv", "-o", d / "m.npz", "--epochs", "3", "--batch-size", "32", "-q").returncode == 0
    return load_model(str(d / "m.npz")), str(d / "m.npz")


def with_info(model, info: dict):
    """A copy of `model` whose info holds these entries too (the fixture's model stays as trained)."""
    changed = copy.copy(model)
    changed.info = {**model.info, **info}
    return changed


@pytest.mark.parametrize("width", [6, 10, 20, 22, 25, 40])
def test_show_and_the_live_summary_keep_numbers_whole(trained, width):
    """`show` cut `batch_size=32` to `batch_size=3…` and an imputed median to `-0.03…` in a narrow
    window, and the summary after a live run cut the time to `0.…`."""
    model, path = trained
    shown = re.sub(r"\s", "", printed(render_show.model_report(model, path), width))
    shown = shown.replace(model.info["data_sha256"][:16] + "…", "")  # (the data's hash is shortened on purpose)
    assert not re.search(r"\d…", shown) and "batch_size=32" in shown, shown
    summary = re.sub(r"\s", "", printed(render.summary_table(model, path), width))
    assert not re.search(r"\d…", summary) and f"{model.info['seconds']:.2f}s" in summary, summary


def test_the_summary_says_when_the_weights_saved_are_not_the_best_epochs(trained):
    # --patience 0 without validation keeps the last weights: Ctrl-C in epoch 56 said "best epoch 55",
    # the model holding epoch 56's
    model, path = trained
    model = with_info(model, {"best_epoch": 55, "weights_from_epoch": 56})
    text = " ".join(printed(render.summary_table(model, path), 120).split())
    assert "best epoch 55 (the weights saved are epoch 56's, the last)" in text
    model = with_info(model, {"best_epoch": 56})
    assert "weights saved" not in printed(render.summary_table(model, path), 120)


@pytest.mark.parametrize("val", [False, True])
def test_the_live_summary_of_a_cut_short_epoch_says_its_loss_was_not_measured(trained, val):
    """As the plain summary does (`final_scores`): after Ctrl-C with --patience 0 and no validation, the
    live summary's table read `loss -` and `accuracy -`, without a word why."""
    model, path = trained
    scores = {"final_val_loss": 0.25, "final_val_metric": 0.75} if val else {"final_val_loss": None}
    model = with_info(model, {"final_loss": None, "final_metric": None, "weights_from_epoch": 664, **scores})
    lines = printed(render.summary_table(model, path), 120).splitlines()
    assert "train loss and accuracy not measured (the weights are epoch 664's, cut short)" in lines
    assert not any(re.search(r"\s-$", line.rstrip()) for line in lines)
    assert any(re.fullmatch(r"loss\s+0\.2500", line.strip()) for line in lines) == val  # (validation's column alone)


def test_the_summaries_give_training_and_validation_scores_each_their_own(trained):
    """fit's plain summary gave the training accuracy as the validation one (a mutant), and no test read them."""
    model, path = trained
    model = with_info(model, {"final_loss": 0.5, "final_metric": 0.25, "final_val_loss": 0.75,
                              "final_val_metric": 0.125, "final_l2_penalty": 0.0})
    assert render.final_scores(model) == "training loss 0.5000, acc 0.2500; validation loss 0.7500, acc 0.1250"
    rows = [line.split() for line in printed(render.summary_table(model, path), 120).splitlines()]
    assert ["loss", "0.5000", "0.7500"] in rows and ["accuracy", "0.2500", "0.1250"] in rows
    assert rows[0][-2:] == ["train", "validation"]  # (a mutant swapped the columns' heads)


def test_the_plot_of_the_loss_marks_the_epoch_the_weights_come_from(trained):
    """`fit --plot`'s SVG marks the saved epoch, as the terminal's chart does with its ▲: a mutant drew
    the curves unmarked."""
    svg = render.loss_svg(with_info(trained[0], {"weights_from_epoch": 2}))
    assert ">epoch 2<" in svg and ">epoch 3<" not in svg


def test_the_live_summary_of_a_continued_run_counts_the_epochs_in_all(trained):
    """After `fit --init` from a model of 5 epochs, 3 more make 8 in all: a mutant said 5."""
    model, path = trained
    model = with_info(model, {"init": {"file": "start.npz", "epochs_before": 5}, "weights_from_epoch": 3})
    text = " ".join(printed(render.summary_table(model, path), 120).split())
    assert "started from start.npz (5 epochs): 8 epochs in all" in text


def test_the_live_summary_names_the_l2_penalty_only_where_it_counts(trained):
    """From 0.1% of the loss, as the plain summary (`fit --lr 100`: `L2 penalty 6.23e-08` beside loss 1.836)."""
    model, path = trained
    for penalty, shown in [(6.23e-8, False), (0.0019, True)]:
        model = with_info(model, {"final_loss": 1.836, "final_l2_penalty": penalty})
        assert ("L2 penalty" in printed(render.summary_table(model, path), 120)) == shown
        assert ("L2 penalty" in render.fit_summary(model, path).plain) == shown


def test_a_mistyped_columns_does_not_make_charts_endless(trained):
    from conftest import run_nncli

    r = run_nncli("show", trained[1], env={"COLUMNS": "99999999"}, timeout=60)
    assert r.returncode == 0
    assert max(map(len, r.stderr.decode().splitlines())) <= render.MAX_WIDTH


@pytest.mark.parametrize("columns", ["0", "1", "7"])
def test_columns_of_zero_or_a_few_still_shows_the_report(trained, columns):
    """COLUMNS=0 printed nothing (exit 0, the report lost), and a few columns a letter a line."""
    from conftest import run_nncli

    r = run_nncli("show", trained[1], env={"COLUMNS": columns}, timeout=60)
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 0 and any(re.match(r"model +mlp", line) for line in lines), lines
    width = 80 if columns == "0" else render.MIN_WIDTH  # (stderr is no terminal here)
    # The layer-size tables keep their numbers whole, past the window's edge if need be (as eval's)
    report = lines[:next(i for i, line in enumerate(lines) if line.startswith("weig"))]  # (`weight size` folds)
    assert max(map(len, report)) == width and max(map(len, lines)) <= 2 * width


def test_a_name_of_thousands_of_combining_marks_is_read_in_linear_time():
    """NFC orders a run of combining marks by an insertion sort: a target named 'a' and 80,000 marks took
    a model file 9.7 s to load (and a header cell as long, `fit` as long). Beyond Unicode's stream-safe 30
    marks in a row a name is left as written; a real one is still composed."""
    from nncli.errors import STREAM_SAFE_MARKS, composed
    assert composed("cafe\u0301") == "caf\u00e9"
    assert composed("e" + "\u0301" * STREAM_SAFE_MARKS) == "\u00e9" + "\u0301" * (STREAM_SAFE_MARKS - 1)
    # (the limit is on marks in a row: a long name of many accented letters, each e + its accent, is composed)
    assert composed("e\u0301" * (STREAM_SAFE_MARKS + 1)) == "\u00e9" * (STREAM_SAFE_MARKS + 1)
    # a name without combining marks stays as written (NFC would turn the CJK compatibility ideograph
    # U+F900 into U+8C48, which looks the same), and one that starts with a mark is composed too
    assert composed("\uf900") == "\uf900"
    assert composed("\u0301cafe\u0301") == "\u0301caf\u00e9"
    long = "a" + "\u0301\u0316" * 40_000
    assert composed(long) is long


def test_show_takes_a_float64_model_of_a_constant_column_near_float64s_limit(tmp_path, cli):
    """A constant column of 1e307 (`--dtype float64`): the digits its imputed value needs overflowed to
    inf, and `show` stopped with an internal error (OverflowError)."""
    data = tmp_path / "big.csv"
    data.write_text("a,big,y\n" + "".join(f"{i / 10},1e307,{i % 3 + 0.5}\n" for i in range(30)))
    assert cli("fit", data, "-m", "linear", "-e", "2", "--dtype", "float64", "-o", tmp_path / "m.npz", "-q").exit_code == 0
    r = cli("show", tmp_path / "m.npz")
    assert r.exit_code == 0 and "1e+307" in r.stderr, r.stderr


def test_show_lists_the_first_of_many_terms_classes_or_categories():
    """A crafted model of 500,000 categories took `show` 31 s (the equation built term by term by
    `+=`), one of 1,000,000 classes 33 s (the list wrapped as one text)."""
    k = render_show.SHOW_MAX_ITEMS
    names = [f"c{i}" for i in range(k + 50)]
    assert render_show._first(names) == ", ".join(names[:k]) + f", … ({k + 50:,} in all)"
    assert render_show._first(names[:k]) == ", ".join(names[:k])
    terms = render_show._linear_terms([1.0] * (k + 50) + [-0.5], names + [""], [1.0] * (k + 51), 1.0)
    assert terms.startswith("1·c0 + 1·c1 + ") and terms.endswith(f"1·c{k - 1} + … (50 more terms) - 0.5")
    assert render_show._linear_terms([2.0, -1.0, 0.5], ["a", "b", ""], [1.0] * 3, 1.0) == "2·a - 1·b + 0.5"


def test_show_names_settings_turned_off_whose_default_is_on(tmp_path):
    """`--l2 0 --patience 0` were left out of `show`'s training line, which then read as the defaults
    (l2 = 1.5 / rows, patience=20); settings off by default (dropout 0) stay out."""
    from conftest import run_nncli
    from nncli.model_file import load_model

    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    lines = {}
    for name, extra in (("off", ("--l2", "0", "--patience", "0")), ("default", ())):
        path = tmp_path / f"{name}.npz"
        assert run_nncli("fit", tmp_path / "d.csv", "-o", path, "--epochs", "2", "-q", *extra).returncode == 0
        report = printed(render_show.model_report(load_model(str(path)), str(path)), 200)
        lines[name] = next(line for line in report.splitlines() if line.startswith("training"))
    assert "l2=0.0," in lines["off"] and "patience=0" in lines["off"] and "dropout" not in lines["off"]
    assert "l2=0.02 (default: 1.5 / rows, capped for 30 rows)," in lines["default"] and "patience=20" in lines["default"]


def test_the_gradient_chart_keeps_zero_sizes_and_draws_what_can_be_told_apart():
    """A size of 0 (a dead ReLU layer) was left out of the log-scale chart, whose curve just ended; without
    colour, six layers' curves were drawn alike; a linear model's one row got the note about the next layer."""
    sizes, epochs = [2, 8, 8, 8, 8, 8, 8, 1], [1, 2, 3]
    rms = [[1e-3 * (i + 1) for i in range(7)], [1e-4 * (i + 1) for i in range(7)], [0.0] * 6 + [1e-2]]
    chart = render_show.gradient_chart(sizes, epochs, rms)
    assert [s.name for s in chart.series] == ["layer 1", "layer 2", "layer 3", "layer 5", "layer 6", "output"]
    assert list(chart.series[0].values) == [1e-3, 1e-4, 1e-5]  # (0 drawn at a tenth of the smallest other)
    plain = render_show.gradient_chart(sizes, epochs, rms, colour=False)
    assert [s.name for s in plain.series] == ["layer 1", "output"]
    assert render_show.gradient_chart(sizes, epochs, [[0.0] * 7] * 3) is None  # (nothing to draw on a log scale)
    assert render_show.gradient_chart(sizes, [1], rms[:1]) is None

    def note(sizes, rms):
        out = io.StringIO()
        Console(file=out, width=300).print(render_show.gradient_table(sizes, [1], rms))
        return out.getvalue()
    assert "0: no gradient at all" in note(sizes, rms[2:]) and "0: no gradient" not in note(sizes, rms[:1])
    assert "vanishing gradients" in note(sizes, rms[:1]) and "vanishing" not in note([3, 1], [[0.5]])


def test_the_gradient_note_and_chart_name_the_epochs_measured_and_tick_whole_epochs():
    # A 5-epoch model's note said "epochs 1–10, 12, 14, … 20, 25, …. A layer", and its chart ticked 1.5, 2.5
    sizes, epochs = [2, 8, 1], [1, 2, 3, 4, 5]
    rms = [[1e-3 * (k + 1), 1e-2] for k in range(5)]
    out = io.StringIO()
    Console(file=out, width=300).print(render_show.gradient_table(sizes, epochs, rms))
    assert "(on the first batch of epochs 1, 2, 3, 4, 5. A layer" in out.getvalue()
    out = io.StringIO()
    Console(file=out, width=80).print(render_show.gradient_chart(sizes, epochs, rms))
    ticks = out.getvalue().splitlines()[-2].split()
    assert ticks[0] == "epoch" and all(t.isdigit() for t in ticks[1:]) and ticks[-1] == "5"
    long = list(range(1, 11)) + [12, 14]
    out = io.StringIO()
    Console(file=out, width=300).print(render_show.gradient_table(sizes, long + [16], [[1.0, 1.0]] * 13))
    assert "epochs 1–10, 12, 14, … 16. A layer" in out.getvalue()


# -- what the mutation tests of render_show.py found untested ------------------------------------------------
def terms_of(equation: str) -> list[float]:
    """The coefficients of `_linear_terms`' '2·a - 1·b + 0.5', signed: [2.0, -1.0, 0.5]."""
    tokens = equation.replace(" + ", " +").replace(" - ", " -").split(" ")
    return [float(t.split("·")[0]) for t in tokens]


@pytest.mark.parametrize("coefficients, reach, spread", [
    ([123.456789] * 10 + [-0.5], [1.0] * 11, 1.0),  # (ten terms: each within a tenth of what all may be off)
    ([3.2109876, 123456.789], [2030.0, 1.0], 9.0),  # (SHOWN_WITHIN's case: y = 3.199·x + 1.235e+05, 43 off)
    ([-0.98765432, 1e-4 / 3], [50.0, 1.0], 0.3),
])
def test_an_equations_rounded_terms_together_stay_within_a_hundredth_of_the_spread(coefficients, reach, spread):
    """The digits each term gets: with the budget not split between the terms, or one digit fewer, ten
    terms of 123.456789 read 123.46 and their errors summed past 1% of the spread."""
    names = [f"x{k}" for k in range(len(coefficients) - 1)] + [""]
    shown = terms_of(render_show._linear_terms(coefficients, names, reach, spread))
    off = sum(abs(s - c) * r for s, c, r in zip(shown, coefficients, reach))
    assert off <= render_show.SHOWN_WITHIN * spread, (shown, off)


def test_no_more_digits_are_shown_than_a_float64_has():
    """17 significant digits tell every float64 apart: past them (`%.25g` of 0.1 is 0.1000000000000000055511151)
    the digits are the binary fraction's noise."""
    assert render_show._digits(0.1, 1.0, 1e-30) == 17
    assert render_show._linear_terms([0.1, 2.0], ["a", ""], [1.0, 1.0], 1e-28) == "0.10000000000000001·a + 2"


def test_an_equation_of_exactly_as_many_terms_as_show_lists_is_not_cut():
    k = render_show.SHOW_MAX_ITEMS
    terms = render_show._linear_terms([1.0] * k + [0.5], [f"c{i}" for i in range(k)] + [""], [1.0] * (k + 1), 1.0)
    assert "more terms" not in terms and terms.endswith(f"1·c{k - 1} + 0.5")


@pytest.mark.parametrize("value, spread", [(123456.0, 1e4), (-98765.4321, 2e3), (0.000123456, 1e-5),
                                           (0.001234, 1e-4), (2005.578, 8.7), (0.5, 0.5)])
def test_an_imputed_value_is_shown_within_a_hundredth_of_its_columns_spread(value, spread):
    """As an equation's terms are: `fmt` at four digits gives three significant digits from 1e5 up and
    below 1e-3 (a median of 123456 read 1.23e+05, 456 off where the spread was 9,600) and four decimals
    below 1 (0.001234 read 0.0012)."""
    within = render_show.SHOWN_WITHIN * spread
    shown = render_show._rounded(value, render_show._digits(value, 1.0, within))
    assert abs(float(shown) - value) <= within, shown
    assert [render_show._rounded(v, 4) for v in (0.0, -0.0, float("nan"))] == ["0", "0", "-"]


def test_show_names_a_classifiers_classes_and_only_a_networks_activation(cli, tmp_path):
    """The `classes` row could go missing, and `activation` be said of a linear model (which has none)
    and not of a network, with no test failing."""
    rows = {}
    for kind in ("linear", "mlp"):
        path = tmp_path / f"{kind}.npz"
        assert cli("fit", SAMPLES / "moons.csv", "-m", kind, "--epochs", "1", "-q", "-o", path).exit_code == 0
        report = printed(render_show.model_report(load_model(str(path)), str(path)), 200)
        rows[kind] = {line.split(None, 1)[0]: line.split(None, 1)[1].strip() for line in report.splitlines()
                      if line[:1].isalpha()}
        assert rows[kind]["classes"] == "0, 1"
    assert "activation" not in rows["linear"] and re.fullmatch(r"\w+ hidden, sigmoid output", rows["mlp"]["activation"])


def test_show_gives_na_values_as_fit_reads_them_back(cli, tmp_path):
    """A missing-value text holding a comma is quoted, as --na-values reads it (unquoted, `n,a` is read
    back as two texts, n and a)."""
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(20)) + '"n,a",1\n-999,2\n')
    path = tmp_path / "m.npz"
    assert cli("fit", tmp_path / "d.csv", "-o", path, "--na-values", '-999,"n,a"', "-e", "1", "-q").exit_code == 0
    report = printed(render_show.model_report(load_model(str(path)), str(path)), 300)
    [given] = re.findall(r"na_values=(\S+)$", next(line for line in report.splitlines() if line.startswith("training")))
    assert given == '-999,"n,a"' and split_list(given, "--na-values") == ("-999", "n,a")


def test_each_targets_equation_is_rounded_to_a_hundredth_of_its_own_spread(cli, tmp_path):
    """A linear regression of two targets, one spread 1e6 times wider: rounded to the first target's spread,
    the second's equation read `y2 = -0.007545·x + 123.5`, 0.04 off where y2's spread is 0.18; and an input's reach
    taken as its mean alone, 0 here, stopped `show` (math domain error)."""


    x = np.arange(-24.5, 25)  # (a mean of exactly 0: an input's reach must count its spread, not just its mean)
    (tmp_path / "d.csv").write_text("x,y1,y2\n" + "".join(f"{a!r},{1e4 * a!r},{123.456789 + 0.0123456 * a!r}\n"
                                                          for a in x.tolist()))
    path = tmp_path / "m.npz"
    assert cli("fit", tmp_path / "d.csv", "--target", "y1,y2", "-m", "linear", "--dtype", "float64", "-e", "2", "-q",
               "-o", path).exit_code == 0
    model = load_model(str(path))
    report = printed(render_show.model_report(model, str(path)), 300)
    equations = dict(line.split(None, 1)[1].strip().split(" = ") for line in report.splitlines()
                     if line.startswith("equation"))
    predicted = model.predict_values(model.inputs({"x": x}))
    for k, name in enumerate(("y1", "y2")):
        slope, intercept = terms_of(equations[name])
        off = np.abs(slope * x + intercept - predicted[:, k]).max()
        assert off <= render_show.SHOWN_WITHIN * model.target.scale[k], (name, equations[name])


def test_a_linear_classifier_of_many_classes_says_how_its_scores_give_probabilities():
    """The line under the equations of three classes could go missing with no test failing."""
    text = printed(render_show.model_report(model_of(["x1", "x2"], np.ones((2, 3)), np.zeros(3),
                                                     classes=["a", "b", "c"]), "m.npz"), 200)
    assert "P(class) = the softmax of the scores" in text
    two = printed(render_show.model_report(model_of(["x1", "x2"], np.ones((2, 1)), np.zeros(1), classes=["a", "b"]),
                                           "m.npz"), 200)
    assert "equation  log-odds(y=b) = " in two and "softmax" not in two


def test_a_model_of_exactly_as_many_features_as_show_lists_lists_them_all():
    """`>=` for `>`: a model of SHOW_MAX_ITEMS features ended its list with "… and 0 more features"."""
    k = render_show.SHOW_MAX_ITEMS
    for n, more in ((k, None), (k + 1, "… and 1 more features (--json lists them all)")):
        text = printed(render_show.model_report(model_of([f"f{i}" for i in range(n)], np.ones((n, 1)), [0.0],
                                                         classes=["a", "b"]), "m.npz"), 200)
        assert f"\nf{k - 1} " in text and f"\nf{k} " not in text
        assert (more in text) if more else ("more features" not in text)


def test_a_classifier_trained_without_validation_still_gets_its_accuracy_chart(cli, tmp_path):
    """Its validation accuracy is NaN every epoch: `.all()` for `.any()` over the scores dropped the
    chart of the training accuracy with them."""
    path = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "moons.csv", "--val-split", "0", "-e", "3", "-q", "-o", path).exit_code == 0
    chart = render_show.accuracy_chart(load_model(str(path)))
    assert chart is not None and chart.y_label == "accuracy"
    assert [s.name for s in chart.series] == ["train"]


def test_the_path_table_says_where_training_started(cli, tmp_path):
    """A run that went on from a model's weights says its path started from them, not from the initial
    weights (the condition inverted, no test failed)."""
    (tmp_path / "r.csv").write_text("x,y\n" + "".join(f"{i},{2 * i + 1.5}\n" for i in range(20)))
    assert cli("fit", tmp_path / "r.csv", "-m", "linear", "-e", "2", "-q", "-o", tmp_path / "a.npz").exit_code == 0
    fresh = printed(render_show.path_table(load_model(str(tmp_path / "a.npz"))), 200)
    assert "How training moved y's coefficients from the initial weights (epoch 0)" in fresh
    assert cli("fit", tmp_path / "r.csv", "-m", "linear", "-e", "2", "-q", "--init", tmp_path / "a.npz",
               "-o", tmp_path / "b.npz").exit_code == 0
    went_on = " ".join(printed(render_show.path_table(load_model(str(tmp_path / "b.npz"))), 200).split())
    assert "How training moved y's coefficients from the weights of the model it went on from (epoch 0)" in went_on


def test_the_gradient_note_names_one_epoch_in_the_singular_and_lists_twelve_in_full():
    """Twelve epochs measured (1–10, 12, 14) are listed one by one; with `<` for `<=` they read
    "epochs 1–10, 12, 14, … 14", and one epoch read "epochs 1" with `> 0` for `> 1`."""
    def note(epochs):
        out = io.StringIO()
        Console(file=out, width=300).print(render_show.gradient_table([2, 1], epochs, [[0.5]] * len(epochs)))
        return " ".join(out.getvalue().split())
    assert "(on the first batch of epoch 1)" in note([1])
    assert "(on the first batch of epochs 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14)" in note(list(range(1, 11)) + [12, 14])


@pytest.mark.parametrize("width", [17, 18, 19])
def test_the_widest_number_header_gives_way_first(width):
    """Narrowing takes cells off the widest header first: `recall` (6 cells over numbers of 5) stays whole
    while `precision` has more to give; taken from the narrowest first, `recall` was cut (`reca…`)."""
    from rich.table import Table

    from nncli.render_tables import WholeNumbers

    table = Table(box=None, pad_edge=False)
    for header in ("", "precision", "recall"):
        table.add_column(header, justify="right")
    table.add_row("a", "0.998", "1.000")
    header, row = printed(WholeNumbers(table), width).splitlines()
    assert header.split()[1] == "recall" and header.split()[0].startswith("preci")
    assert row.split() == ["a", "0.998", "1.000"]


@pytest.mark.parametrize("width", [60, 80, 120])
def test_a_numbered_confusion_matrix_fills_each_block_to_the_window(width):
    """Numbered, the row labels are the numbers 1..k, and each block takes as many columns as fit beside
    them: laid out as if the long names were still the labels, blocks were up to 18 cells short of the window."""
    classes = [f"class {i:02d} with a long descriptive name" for i in range(30)]
    result = classification(classes)
    result["confusion_matrix"] = [[(i * 37 + j * 11) % 60 for j in range(30)] for i in range(30)]
    lines = matrix_lines(result, width)
    key, *blocks = "\n".join(lines).split("\n\n")
    assert [c for block in blocks for c in block.splitlines()[0].split()] == [str(j + 1) for j in range(30)]
    for block in blocks[:-1]:  # (a column is 2 digits, 2 spaces from the last: one more would not fit)
        assert width - 4 < max(cell_len(line.rstrip()) for line in block.splitlines()) <= width


def test_class_names_head_the_confusion_matrix_when_they_fit_beside_folded_row_labels():
    """Two names of 30 cells fit as headers at 90 columns once the row labels fold (to LABEL_ROOM cells):
    the matrix keeps the names rather than numbering the classes after a key."""
    classes = ["first class, a thirty-cell name", "second class, a thirty-cell nm"]
    lines = matrix_lines(classification(classes), 90)
    assert re.split(r"\s{2,}", lines[0].strip()) == classes  # (not `1  2` after a key)
    assert all(cell_len(line.rstrip()) <= 90 for line in lines)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_the_confusion_matrixs_blocks_are_as_wide_as_the_widest_count_of_any_row(width):
    """A column is as wide as its widest count in any row, not in the first: with one-digit counts in the
    first row and two-digit ones below, blocks planned from the first row were too wide for the window,
    and their columns were squeezed to one space apart."""
    classes = [f"class {i:02d} with a long descriptive name" for i in range(30)]
    result = classification(classes)
    result["confusion_matrix"] = [[(i + j) % 10 if i == 0 else 10 + (i * 37 + j * 11) % 90 for j in range(30)]
                                  for i in range(30)]
    lines = matrix_lines(result, width)
    key, *blocks = "\n".join(lines).split("\n\n")
    assert all(cell_len(line.rstrip()) <= width for line in lines)
    assert not any(re.search(r"\S \S", line) for block in blocks for line in block.splitlines())  # (two spaces apart)
    for block in blocks:
        rows = [line.split() for line in block.splitlines()[1:]]
        columns = [int(c) - 1 for c in block.splitlines()[0].split()]
        assert [[int(v) for v in r[1:]] for r in rows] == [[result["confusion_matrix"][i][j] for j in columns]
                                                            for i in range(30)]


# -- what the second mutation tests of render_show.py found untested -----------------------------------------
def test_an_equation_is_rounded_to_a_hundredth_of_the_spread_even_where_each_term_is_off_by_nearly_half_a_digit():
    """Nine terms of 1.0004999 (rounded to 4 digits, 1.000, each is off by 0.0005, nearly half its last digit)
    where the spread is 0.4: the nine together may be off by 0.004, no more, which takes 1.0005. The
    hundredth written out (the test above reads SHOWN_WITHIN, which 0.1 for 0.01 moved with it), and the
    digits asked of half a last digit's error (a quarter gave 4 digits here, off by 0.0045)."""
    coefficients, reach, spread = [1.0004999] * 9 + [0.0], [1.0] * 10, 0.4
    names = [f"x{k}" for k in range(9)] + [""]
    shown = terms_of(render_show._linear_terms(coefficients, names, reach, spread))
    off = sum(abs(s - c) * r for s, c, r in zip(shown, coefficients, reach))
    assert off <= 0.01 * spread, (shown, off)


def test_an_equation_of_one_term_more_than_show_lists_is_cut_before_it():
    """SHOW_MAX_ITEMS terms and the intercept are shown whole (the test above); one term more is cut, the
    term left out counted: `+ 2` for `+ 1` showed all 201 terms."""
    k = render_show.SHOW_MAX_ITEMS
    terms = render_show._linear_terms([1.0] * (k + 1) + [0.5], [f"c{i}" for i in range(k + 1)] + [""],
                                      [1.0] * (k + 2), 1.0)
    assert terms.endswith(f"1·c{k - 1} + … (1 more terms) + 0.5")
    assert f"c{k}·" not in terms and f"·c{k} " not in terms


def test_a_coefficient_of_zero_is_added_not_subtracted():
    """`<=` for `<` in the sign of a term: a weight of exactly 0 (or -0.0) read `- 0·b`."""
    assert render_show._linear_terms([2.0, 0.0, -0.0, 0.0], ["a", "b", "c", ""], [1.0] * 4, 1.0) == \
        "2·a + 0·b + 0·c + 0"


def test_the_report_counts_the_parameters_and_names_missing_values_only_where_not_the_default():
    """A linear model of 2 inputs and 3 classes has 2·3 weights and 3 biases, 9 parameters (one fewer, no
    test failed); its training line says na_values only where they are not fit's default (`if True:` gave
    every model `na_values=NA,N/A,…`), and the empty text alone as `''`, not left blank."""
    from nncli.csv_io import DEFAULT_NA_VALUES

    m = model_of(["x1", "x2"], np.ones((2, 3)), np.zeros(3), classes=["a", "b", "c"])
    m.config = {"lr": 0.01, "epochs": 5}
    m.na_values = list(DEFAULT_NA_VALUES)

    def rows():
        return {line.split(None, 1)[0]: " ".join(line.split()[1:]) for line in
                printed(render_show.model_report(m, "m.npz"), 200).splitlines() if line[:1].isalpha()}
    assert rows()["model"] == "linear 2-3 (9 parameters, float64)"
    assert rows()["training"] == "lr=0.01, epochs=5"
    m.na_values = ["-999"]
    assert rows()["training"] == "lr=0.01, epochs=5, na_values=-999"
    m.na_values = [""]  # (--na-values '': only empty cells are missing, read back from `na_values=''`)
    assert rows()["training"] == "lr=0.01, epochs=5, na_values=''"


def test_every_term_keeps_at_least_four_significant_digits_where_fewer_would_do():
    """Where the spread is wide enough for 2 digits, a term still gets 4 (1.23456 reads 1.235, as the README's
    `y = 1.952·x + 1.548`): `max(3, …)` for `max(4, …)` wrote 1.23."""
    assert render_show._linear_terms([1.23456, -2.71828], ["x", ""], [1.0, 1.0], 1e6) == "1.235·x - 2.718"
    assert render_show._rounded(0.000123456, render_show._digits(0.000123456, 1.0, 1.0)) == "0.0001235"


def test_the_result_row_says_what_stopped_a_run_in_words():
    """A run ended by a hang-up reads "stopped by SIGHUP", as the live summary says it, not the word the file
    keeps ("stopped: hung up", with the lookup skipped); another word is shown as it is."""
    m = model_of(["x1", "x2"], np.ones((2, 1)), np.zeros(1), classes=["a", "b"])

    def result(stopped):
        m.info = {"epochs_run": 3, "weights_from_epoch": 3, "stopped": stopped}
        report = printed(render_show.model_report(m, "m.npz"), 200)
        return " ".join(next(line for line in report.splitlines() if line.startswith("result")).split()[1:])
    assert result("hung up").startswith("3 epochs run (stopped by SIGHUP); weights from epoch 3;")
    assert result("interrupted").startswith("3 epochs run (stopped: interrupted); weights from epoch 3;")


def test_a_classifiers_equation_is_rounded_to_a_hundredth_of_a_log_odds_over_two_spreads_of_each_input():
    """Nine inputs of spread 1.9, each of coefficient 1.0004999 in the log-odds: over each input's mean ± 2
    spreads the nine terms may together be off by 0.01 in the log-odds, which takes 5 digits (1.0005). An
    input's reach taken as 1 spread (or the log-odds' spread as 10) gave 4, 1.000, off by 0.017."""
    n, spread, c = 9, 1.9, 1.0004999
    m = model_of([f"x{i}" for i in range(n)], np.full((n, 1), c * spread), [0.0], classes=["a", "b"],
                 scale=[spread] * n)
    report = printed(render_show.model_report(m, "m.npz"), 300)
    [equation] = [line.split(" = ", 1)[1].strip() for line in report.splitlines() if line.startswith("equation")]
    shown = terms_of(equation)
    assert len(shown) == n + 1 and shown[-1] == 0.0
    off = sum(abs(s - c) * 2 * spread for s in shown[:-1])  # (each input as far as 2 spreads from its mean, 0)
    assert off <= 0.01, (equation, off)


def test_a_linear_classifier_of_one_class_more_than_show_lists_says_one_more():
    """`+ 1` in the test: 201 classes listed 200 equations without a word of the one left out."""
    k = render_show.SHOW_MAX_ITEMS
    classes = [f"c{i}" for i in range(k + 1)]
    text = printed(render_show.model_report(model_of(["x"], np.ones((1, k + 1)), np.zeros(k + 1), classes=classes),
                                            "m.npz"), 200)
    assert sum(line.startswith("equation") for line in text.splitlines()) == k
    assert "… (1 more classes; --json has them all)" in text


def test_the_features_table_gives_an_imputed_value_to_a_hundredth_of_its_own_columns_spread():
    """A median of 123.456789 in a column of spread 0.01 is shown within 0.0001 (123.4568); rounded to a
    hundredth of 1 instead of the column's spread it read 123.46, 0.0032 off, 32 hundredths of the spread."""
    m = model_of(["wide", "narrow"], np.ones((2, 1)), [0.0], classes=["a", "b"], mean=[0.0, 123.45],
                 scale=[1000.0, 0.01])
    m.pre.features[1].fill = 123.456789
    report = printed(render_show.model_report(m, "m.npz"), 200)
    [imputed] = [line.split()[-1] for line in report.splitlines() if line.startswith("narrow ")]
    assert abs(float(imputed) - 123.456789) <= 0.01 * 0.01, imputed


def test_the_accuracy_and_learning_rate_charts_mark_the_epoch_the_weights_come_from():
    """As the loss chart does (the ▲ under the axis and a dotted column): early stopping kept epoch 3 of 6,
    and `marker_x=None` left either chart unmarked with no test failing."""
    m = model_of(["x"], [[1.0]], [0.0], classes=["a", "b"])
    m.history = {"metric": np.array([0.5, 0.7, 0.9, 0.8, 0.8, 0.7]), "val_metric": np.full(6, np.nan),
                 "lr": np.array([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])}
    m.config, m.info = {"lr_schedule": "step"}, {"weights_from_epoch": 3}
    for chart in (render_show.accuracy_chart(m), render_show.lr_chart(m)):
        text = printed(chart, 60)
        assert chart.marker_x == 3 and "▲" in text and "┊" in text, text
    m.config["warmup"] = 2  # (and the learning rate's title names a warm-up: `if False` left it out)
    assert render_show.lr_chart(m).title == "learning rate per epoch (--lr-schedule step, --warmup 2)"


def test_the_layer_tables_middle_column_is_the_middle_epoch_measured():
    """Of five epochs measured, the first, the third and the last: `// 3` for `// 2` gave the second."""
    text = " ".join(printed(render_show.weight_table([2, 1], [1, 2, 3, 4, 5], [[0.1], [0.2], [0.3], [0.4], [0.5]]),
                            200).split())
    assert "weight size (RMS) epoch 1 epoch 3 epoch 5 output (2→1) 0.1000 0.3000 0.5000" in text, text


def test_show_without_colour_draws_two_layers_gradients_and_a_linear_models_path_not_weight_sizes(cli, tmp_path):
    """Off a colour terminal the gradient chart draws the first and the last layer alone (curves told apart
    by colour, six of them, read as one): `colour=True` drew all four. A linear model's path gives its
    weights themselves, so no table of their sizes follows it (`and steps is None` dropped, it did)."""
    path = tmp_path / "mlp.npz"
    assert cli("fit", SAMPLES / "moons.csv", "-m", "mlp", "--hidden", "3,3,3", "-e", "2", "-q",
               "-o", path).exit_code == 0
    shown = cli("show", path).stderr
    legend = next(line for line in shown.splitlines() if "layer 1" in line and "output" in line and "━" in line)
    assert "layer 2" not in legend and "layer 3" not in legend, legend
    (tmp_path / "r.csv").write_text("x,y\n" + "".join(f"{i},{2 * i + 1.5}\n" for i in range(20)))
    assert cli("fit", tmp_path / "r.csv", "-m", "linear", "-e", "2", "-q", "-o", tmp_path / "l.npz").exit_code == 0
    shown = cli("show", tmp_path / "l.npz").stderr
    assert "How training moved y's coefficients" in shown and "weight size (RMS)" not in shown


def test_the_path_table_keeps_the_kept_epoch_and_the_last_whichever_they_are():
    """Epochs 0 to 9 recorded, early stopping kept epoch 7: the rows are epochs 0, 1, 2, 3, 5 (1-2-5), 7 (the
    weights kept) and 9 (the last); either of the two left out of the condition, no test failed."""
    m = model_of(["x"], [[1.0]], [0.0])
    m.info = {"weights_from_epoch": 7, "param_path": {"epochs": list(range(10)),
                                                       "params": [[0.1 * e, 1.0] for e in range(10)]}}
    text = printed(render_show.path_table(m), 200)
    rows = [line.split()[0] + (" kept" if "kept" in line else "") for line in text.splitlines()[2:] if line.strip()]
    assert rows == ["0", "1", "2", "3", "5", "7 kept", "9"], text
