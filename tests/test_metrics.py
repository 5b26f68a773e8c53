"""Evaluation metrics and probabilities against independent float64 references."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest

from conftest import ROOT, SAMPLES, write_csv
from nncli.core import metrics
from nncli.core.losses import sigmoid_output
from nncli.model_file import load_model


def exact_sigmoid(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def test_sigmoid_output_keeps_the_digits_of_small_probabilities_in_float32():
    # (1 + tanh(z/2)) / 2 had an absolute error of ~6e-8: p(-17) = 4.1e-8 came out as 6.0e-8.
    z = np.linspace(-80, 80, 3201, dtype=np.float32)
    p = sigmoid_output(z.copy())
    assert p.dtype == np.float32
    np.testing.assert_allclose(p, exact_sigmoid(z), rtol=2e-6, atol=0)


def test_two_class_probabilities_are_each_accurate_in_both_tails(tmp_path, cli):
    # P(class 0) is computed from its own logit: as 1 - P(class 1) a small one would be 0 or noise.
    model = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "moons.csv", "-o", model, "--epochs", "3", "-q").exit_code == 0
    m = load_model(str(model))
    Z = np.linspace(-40, 40, 801, dtype=np.float32).reshape(-1, 1)
    P = m.probabilities(Z)
    np.testing.assert_allclose(P[:, 1], exact_sigmoid(Z[:, 0]), rtol=2e-6, atol=0)
    np.testing.assert_allclose(P[:, 0], exact_sigmoid(-Z[:, 0]), rtol=2e-6, atol=0)


def test_log_loss_comes_from_the_logits_in_float64():
    rng = np.random.default_rng(0)
    # Two classes, one logit each row; logits out to +-60, where float32 probabilities round to 0 or 1.
    z = np.concatenate([rng.normal(0, 3, 500), [-60.0, -40.0, 25.0, 60.0]]).astype(np.float32)
    y = np.concatenate([rng.integers(0, 2, 500), [1, 1, 0, 0]])
    p_true = np.where(y == 1, exact_sigmoid(z), exact_sigmoid(-z))
    reference = -np.mean(np.log(p_true))
    assert metrics.log_loss(y, z.reshape(-1, 1)) == pytest.approx(reference, rel=1e-12)
    # Several classes: -log softmax of the true class, computed here with the max subtracted.
    Z = rng.normal(0, 4, (300, 4)).astype(np.float32)
    Z[0] = [-50, 0, 10, 50]
    y = rng.integers(0, 4, 300)
    y[0] = 0  # log-probability -100: its float32 probability would be 0
    Z64 = Z.astype(np.float64)
    shifted = Z64 - Z64.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert metrics.log_loss(y, Z) == pytest.approx(-logp[np.arange(300), y].mean(), rel=1e-12)


@pytest.fixture(scope="module")
def far_classes(tmp_path_factory):
    """Rows of three classes far apart (a, b, c), and a model trained on them."""
    from typer.testing import CliRunner

    from nncli.cli import app

    folder = tmp_path_factory.mktemp("far")
    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, 600)
    x = rng.normal(0, 1, (600, 2)) + np.array([[-8, 0], [0, 8], [8, 0]])[label]
    rows = [(f"{u:.4f}", f"{v:.4f}", "abc"[k]) for (u, v), k in zip(x, label)]
    train, model = write_csv(folder / "train.csv", ["x1", "x2", "y"], rows), folder / "m.npz"
    assert CliRunner().invoke(app, ["fit", str(train), "-o", str(model), "--epochs", "20", "-q"]).exit_code == 0
    return rows, model


def test_eval_macro_averages_leave_out_classes_absent_from_the_file(tmp_path, cli, far_classes):
    rows, model = far_classes
    part = write_csv(tmp_path / "ab.csv", ["x1", "x2", "y"], [r for r in rows if r[2] != "c"])
    result = json.loads(cli("eval", model, part, "--json").stdout)
    assert result["classes"] == ["a", "b", "c"] and result["accuracy"] == 1.0
    absent = result["per_class"]["c"]
    assert absent["support"] == 0 and absent["precision"] is absent["recall"] is absent["f1"] is None
    assert result["macro"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}  # was 2/3: c counted as 0
    table = cli("eval", model, part).stderr.splitlines()
    assert [line.split() for line in table if line.startswith("c ")][0] == ["c", "–", "–", "–", "0", "–"]  # (ROC AUC too)


def test_a_class_predicted_but_absent_from_the_file_counts_as_scikit_learn_counts_it(tmp_path, cli, far_classes):
    # Precision 0 for the absent class that was predicted; recall and F1 0 (sklearn's zero_division=0).
    rows, model = far_classes
    relabelled = [(u, v, "a" if y == "c" else y) for u, v, y in rows]  # no c in the truth
    result = json.loads(cli("eval", model, write_csv(tmp_path / "d.csv", ["x1", "x2", "y"], relabelled), "--json").stdout)
    cm = np.array(result["confusion_matrix"])
    assert cm[:, 2].sum() > 0 and cm[2].sum() == 0
    assert result["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "roc_auc": None}
    precision = np.diag(cm) / cm.sum(axis=0)
    recall = np.diag(cm)[:2] / cm.sum(axis=1)[:2]
    assert result["macro"]["precision"] == pytest.approx(precision.mean())  # over all three classes
    assert result["macro"]["recall"] == pytest.approx(np.append(recall, 0.0).mean())


def test_the_confusion_matrix_holds_counts_written_as_whole_numbers(tmp_path, cli, far_classes):
    """Rows counted, not measured: a mutant that counted them in floats printed 418.0 in eval's table and
    its JSON, and passed (418.0 == 418 in Python)."""
    rows, model = far_classes
    data = write_csv(tmp_path / "d.csv", ["x1", "x2", "y"], rows)
    cm = json.loads(cli("eval", model, data, "--json", "-q").stdout)["confusion_matrix"]
    assert [[type(c) for c in row] for row in cm] == [[int] * 3] * 3 and sum(map(sum, cm)) == len(rows)
    table = cli("eval", model, data, "-q").stderr.split("confusion matrix (rows: true, columns: predicted)")[1]
    assert [line.split() for line in table.strip().splitlines()] == [["a", "b", "c"]] + [
        [c, *map(str, row)] for c, row in zip("abc", cm)]


def test_eval_json_stays_json_when_the_errors_overflow(tmp_path, cli):
    # Targets near 1e150, evaluated on targets near 1e160: squared errors overflow float64.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2))
    y = x @ [1.0, 2.0]
    train = write_csv(tmp_path / "a.csv", ["a", "b", "y"], [(u, v, t * 1e150) for (u, v), t in zip(x, y)])
    other = write_csv(tmp_path / "b.csv", ["a", "b", "y"], [(u, v, t * 1e160) for (u, v), t in zip(x, y)])
    model = tmp_path / "m.npz"
    assert cli("fit", train, "-o", model, "--epochs", "2", "-q").exit_code == 0
    result = json.loads(cli("eval", model, other, "--json").stdout, parse_constant=lambda c: pytest.fail(c))
    # the MSE is past float64's range (null); the RMSE is not, and is computed over the targets' size
    assert result["mse"] is None and 1e159 < result["rmse"] < 1e162 and result["mae"] > 1e159


def test_metrics_of_targets_near_the_float64_limit_are_finite():
    # eval printed RMSE inf and R² – for a model fit reported at R² 0.968 (targets near 1e300), and MAE
    # inf near 1.7e308: their squares or sums overflowed, the metrics themselves do not
    from nncli.core import metrics

    rng = np.random.default_rng(0)
    for size in (1e300, 1.3e308):
        truth = (1 + 0.05 * rng.normal(size=200)) * size
        pred = truth + 0.01 * size * rng.normal(size=200)
        t, p = truth / size, pred / size
        assert metrics.rmse(truth, pred) == pytest.approx(np.sqrt(np.mean((t - p) ** 2)) * size)
        assert metrics.mae(truth, pred) == pytest.approx(np.mean(np.abs(t - p)) * size)
        assert metrics.r2(truth, pred) == pytest.approx(metrics.r2(t, p))
        assert np.isfinite(metrics.r2(truth, pred)) and 0.9 < metrics.r2(truth, pred) < 1
    assert metrics.mse([1.0, 2.0], [1.5, 2.0]) == 0.125  # (ordinary figures as before, to the bit)


def test_r2_of_a_prediction_far_past_ordinary_targets_is_far_below_zero():
    # One prediction near 1e300 among targets near 1: R² = 1 - ~1e600 / 2 is past float64's range. Rescaled
    # together with the prediction, the targets' spread underflowed to 0, and R² read 0 ("as good as the mean").
    truth = np.array([1.0, 2.0, 3.0])
    assert metrics.r2(truth, [1.0, 2.0, 1e300]) == -np.inf
    assert metrics.r2(truth, [1.0, 2.0, 1e150]) == pytest.approx(1 - (1e150 - 3) ** 2 / 2)  # (no overflow)
    # where it is in range, the same as the sums computed without overflow would give
    big = np.array([1e200, 2e200, 3e200])
    assert metrics.r2(big, big + [0, 0.5e200, 0]) == pytest.approx(metrics.r2([1, 2, 3], [1, 2.5, 3])) == 0.875
    assert metrics.r2(np.zeros(2), [1e300, 0.0]) == 0.0  # (constant targets, not predicted exactly: 0, as documented)


def test_an_mse_whose_squares_sum_past_float64_is_still_the_mean_square():
    # Each squared error is 1e308, their sum overflows: the mean itself, 1e308, does not.
    truth, pred = np.full(4, 1.5e154), np.full(4, 0.5e154)
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum((truth - pred) ** 2))
    assert metrics.mse(truth, pred) == pytest.approx(1e308)


def test_targets_near_1e170_train_a_model_that_loads(tmp_path, cli):
    # Their spread, squared, overflowed: the model was saved with an infinite scale, then refused.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 2))
    data = write_csv(tmp_path / "a.csv", ["a", "b", "y"], [(u, v, t * 1e170) for (u, v), t in zip(x, x @ [1.0, 2.0])])
    model = tmp_path / "m.npz"
    assert cli("fit", data, "-o", model, "--model", "linear", "--epochs", "200", "-q").exit_code == 0
    m = load_model(str(model))
    assert np.isfinite(m.target.scale).all() and m.target.scale[0] == pytest.approx(np.std(x @ [1.0, 2.0]) * 1e170)


def test_a_target_whose_spread_is_rounding_trains_with_an_r2_of_0(tmp_path, cli):
    # Targets of ~1e-194 spread less than the least scale standardizing takes: their variance, standardized,
    # was subnormal, R² = 1 - loss / it overflowed to -inf, and saving the model failed ("internal error").
    rng = np.random.default_rng(1)
    data = write_csv(tmp_path / "a.csv", ["a", "y"], [(u, repr(float(v) * 3e-194)) for u, v in rng.random((200, 2))])
    r = cli("fit", data, "-o", tmp_path / "m.npz", "--dtype", "float64", "--epochs", "3", "--json", "-q")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["final_metric"] == 0.0
    assert load_model(str(tmp_path / "m.npz")).history["metric"].tolist() == [0.0, 0.0, 0.0]
    # Near 1e-170 the ratio stayed finite: R² -1.6e262, while the notice called the target constant
    data = write_csv(tmp_path / "b.csv", ["a", "y"], [(u, repr(float(v) * 1e-170)) for u, v in rng.random((200, 2))])
    r = cli("fit", data, "-o", tmp_path / "m.npz", "--dtype", "float64", "--epochs", "3", "--json", "-q")
    assert r.exit_code == 0 and json.loads(r.stdout)["final_metric"] == 0.0


def test_targets_near_the_float64_limit_train(tmp_path, cli):
    # Their sum overflowed: the mean was inf, every standardized target -inf, and fit said "diverged,
    # lower the learning rate".
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    data = write_csv(tmp_path / "a.csv", ["x", "y"], [(a, (1.2 + 0.1 * a) * 1e308) for a in x])
    model = tmp_path / "m.npz"
    assert cli("fit", data, "-o", model, "--model", "linear", "--epochs", "50", "-q").exit_code == 0
    m = load_model(str(model))
    assert m.target.mean[0] == pytest.approx((1.2 + 0.1 * x.mean()) * 1e308)
    assert m.target.scale[0] == pytest.approx(0.1 * x.std() * 1e308)


def test_eval_log_loss_matches_the_printed_probabilities(tmp_path, cli):
    model = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "blobs.csv", "-o", model, "--epochs", "20", "-q").exit_code == 0
    result = json.loads(cli("eval", model, SAMPLES / "blobs.csv", "--json").stdout)
    printed = list(csv.DictReader(io.StringIO(cli("predict", model, SAMPLES / "blobs.csv", "--proba").stdout)))
    truth = [r[-1] for r in csv.reader(open(SAMPLES / "blobs.csv"))][1:]
    p_true = np.array([float(r["p_" + t]) for r, t in zip(printed, truth)])
    assert result["log_loss"] == pytest.approx(-np.mean(np.log(p_true)), rel=1e-4)


def test_eval_of_several_targets_gives_each_ones_metrics_and_scikit_learns_means(tmp_path, cli):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 2))
    y1 = 3 * x[:, 0] + rng.normal(0, 0.3, 400)  # well explained
    y2 = 1000 + 50 * x[:, 1] + rng.normal(0, 40, 400)  # other units, noisy
    rows = [(f"{a:.5f}", f"{b:.5f}", f"{c:.5f}", f"{d:.3f}") for (a, b), c, d in zip(x, y1, y2)]
    data, model = write_csv(tmp_path / "d.csv", ["a", "b", "y1", "y2"], rows), tmp_path / "m.npz"
    assert cli("fit", data, "--target", "y1,y2", "--model", "linear", "-o", model, "--epochs", "30", "-q").exit_code == 0
    result = json.loads(cli("eval", model, data, "--json").stdout)
    printed = list(csv.DictReader(io.StringIO(cli("predict", model, data).stdout)))
    pred = np.array([[float(r["prediction_y1"]), float(r["prediction_y2"])] for r in printed])
    truth = np.column_stack([y1, y2])
    for j, name in enumerate(["y1", "y2"]):
        e = pred[:, j] - truth[:, j]
        own = result["per_target"][name]
        assert own["rmse"] == pytest.approx(np.sqrt(np.mean(e ** 2)), rel=1e-4)
        assert own["mae"] == pytest.approx(np.mean(np.abs(e)), rel=1e-4)
        assert own["r2"] == pytest.approx(1 - np.sum(e ** 2) / np.sum((truth[:, j] - truth[:, j].mean()) ** 2), abs=1e-5)
    per = result["per_target"].values()
    for k in ("mse", "rmse", "mae", "r2"):  # scikit-learn's multioutput="uniform_average"
        assert result[k] == pytest.approx(np.mean([s[k] for s in per]), rel=1e-9)
    assert result["rmse"] < np.sqrt(result["mse"])  # not the pooled root: that mixes the two units
    table = cli("eval", model, data, "-q").stderr  # (-q: no notice that this is the training file)
    assert table.split()[:3] == ["y1", "y2", "mean"]


@pytest.mark.parametrize("k", [100, 101])
def test_eval_of_many_classes_leaves_out_the_confusion_matrix_past_100(tmp_path, cli, k):
    """1,500 classes: a table of 2.25 million cells took eval 121 s and 1.7 GB for 10 rows (and
    50,000 classes a 20 GB matrix). Per-class scores are counted without it."""
    rng = np.random.default_rng(0)
    rows = [(f"{rng.normal():.3f}", f"{rng.normal():.3f}", f"c{i % k}") for i in range(3 * k)]
    data = write_csv(tmp_path / "d.csv", ["x1", "x2", "y"], rows)
    assert cli("fit", data, "-o", tmp_path / "m.npz", "--epochs", "1", "-q").exit_code == 0
    result = json.loads(cli("eval", tmp_path / "m.npz", data, "--json").stdout)
    report = cli("eval", tmp_path / "m.npz", data).stderr
    assert len(result["per_class"]) == k and sum(c["support"] for c in result["per_class"].values()) == 3 * k
    if k == 100:
        cm = np.array(result["confusion_matrix"])
        assert cm.shape == (k, k) and cm.sum() == 3 * k and "confusion matrix (rows: true" in report
        supports = [result["per_class"][f"c{i}"]["support"] for i in range(k)]
        assert sorted(cm.sum(axis=1).tolist()) == sorted(supports)
    else:
        assert result["confusion_matrix"] is None and "(no confusion matrix for 101 classes)" in report


def test_per_class_scores_from_counts_match_the_confusion_matrix():
    rng = np.random.default_rng(3)
    truth, pred = rng.integers(0, 7, 500), rng.integers(0, 6, 500)  # class 6 never predicted
    cm = metrics.confusion_matrix(truth, pred, 7)
    precision, recall, f1, support, predicted = metrics.precision_recall_f1(truth, pred, 7)
    tp = np.diag(cm)
    np.testing.assert_array_equal(support, cm.sum(axis=1))
    np.testing.assert_array_equal(predicted, cm.sum(axis=0))
    np.testing.assert_allclose(precision, np.where(predicted > 0, tp / np.maximum(predicted, 1), 0))
    np.testing.assert_allclose(recall, tp / cm.sum(axis=1))
    np.testing.assert_allclose(f1, np.where(precision + recall > 0, 2 * precision * recall / (precision + recall + 1e-300), 0))


def test_r2_of_a_constant_target_is_one_when_predicted_exactly_else_zero():
    # (scikit-learn's convention, as the docstring says; a mutant scoring the exact prediction 0 passed)
    y = np.full((5, 1), 3.0)
    assert metrics.r2(y, y) == 1.0 and metrics.r2(y, y + 0.1) == 0.0
    two = np.column_stack([np.full(5, 3.0), np.arange(5.0)])
    assert metrics.r2(two, two) == 1.0


def test_eval_scores_do_not_depend_on_where_the_file_is_cut_into_chunks(tmp_path, cli, monkeypatch):
    """eval reads a chunk at a time; its log loss once summed each chunk's mean × rows, whose last digits
    moved with the chunks' sizes (a CRLF copy of a file has fewer rows a chunk): now every row's loss,
    summed once."""
    from nncli import apply, csv_io

    data = tmp_path / "b.csv"
    data.write_text(cli("gen-data", "blobs", "-n", "3000", "--features", "20", "--classes", "5").stdout)
    cli("fit", data, "-o", tmp_path / "m.npz", "--hidden", "8", "--epochs", "2", "-q")
    model = load_model(str(tmp_path / "m.npz"))
    scores = []
    for rows in (7, 100, 3000):
        monkeypatch.setattr(csv_io, "CHUNK_ROWS", rows)
        scores.append(apply.evaluate_model(model, str(data)))
    assert scores[0] == scores[1] == scores[2]  # (bit for bit)


def test_roc_auc_is_the_chance_a_positive_scores_above_a_negative_ties_counting_half():
    rng = np.random.default_rng(0)
    for n in (2, 7, 50, 301):
        positive = rng.random(n) < 0.3
        positive[:2] = [True, False]  # (both kinds)
        score = np.round(rng.normal(size=n) + positive, 1)  # (rounded: many ties)
        pos, neg = score[positive], score[~positive]
        pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
        assert metrics.roc_auc(positive, score) == pytest.approx(pairs / (len(pos) * len(neg)), abs=1e-12)
    assert metrics.roc_auc(np.ones(5, bool), np.arange(5.0)) is None
    assert metrics.roc_auc(np.zeros(5, bool), np.arange(5.0)) is None
    assert metrics.roc_auc(np.array([False, True]), np.array([0.1, 0.9])) == 1.0


def test_roc_auc_keeps_every_digit_of_many_rows_and_of_close_float64_scores():
    """Ranks are summed in float64: a mutant summing 20,000 rows' ranks in float32 was 1.5e-8 off, and one
    rounding the scores to float32 tied a float64 model's logits that differ past float32's 7 digits."""
    rng = np.random.default_rng(0)
    positive = rng.random(20_000) < 0.5
    score = np.round(rng.normal(size=20_000) + positive, 2)
    pos, neg = score[positive], np.sort(score[~positive])
    below, up_to = np.searchsorted(neg, pos, "left"), np.searchsorted(neg, pos, "right")
    pairs = below.sum() + 0.5 * (up_to - below).sum()  # (exact: integers and halves)
    assert metrics.roc_auc(positive, score) == pytest.approx(pairs / (len(pos) * len(neg)), abs=1e-12)
    assert metrics.roc_auc(np.array([False, True]), np.array([30.0, 30.0 + 1e-9])) == 1.0


def _binary_logits(cli, tmp_path, train, score, *fit_args):
    """A two-class model trained on `train` with `fit_args`; its path, the classes of `score`'s rows and
    their logits (float64)."""
    from nncli import apply

    model = tmp_path / "m.npz"
    assert cli("fit", train, "-o", model, "-q", *fit_args).exit_code == 0
    m = load_model(str(model))
    X, _, raw, _ = apply.load_eval_arrays(m, str(score))
    return model, raw, m.network.logits(X)[:, 0].astype(np.float64)


def test_eval_gives_a_binary_classifiers_roc_auc_from_its_logits(tmp_path, cli):
    # An over-confident model (100 noisy rows, no penalty): on fresh rows, hundreds of float32
    # probabilities are exactly 1, positives and negatives alike, and their AUC would count them as ties
    small, fresh = tmp_path / "small.csv", tmp_path / "fresh.csv"
    small.write_text(cli("gen-data", "moons", "-n", "100", "--noise", "0.35", "--seed", "3").stdout)
    fresh.write_text(cli("gen-data", "moons", "-n", "1000", "--noise", "0.35", "--seed", "4").stdout)
    model, raw, z = _binary_logits(cli, tmp_path, small, fresh, "--hidden", "64,64", "--l2", "0", "--lr", "0.01",
                                   "-e", "500", "--patience", "0")
    pos, neg = z[raw == 1], z[raw == 0]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    result = json.loads(cli("eval", model, fresh, "--json", "-q").stdout)
    assert result["roc_auc"] == pytest.approx(pairs / (len(pos) * len(neg)), abs=1e-12)
    with np.errstate(over="ignore"):
        rounded = (1 / (1 + np.exp(-z.astype(np.float32)))).astype(np.float32)
    assert (rounded == 1).sum() > 100 and abs(metrics.roc_auc(raw == 1, rounded) - result["roc_auc"]) > 1e-3
    assert 0.5 < result["roc_auc"] < 1
    model, _, _ = _binary_logits(cli, tmp_path, SAMPLES / "moons.csv", SAMPLES / "moons.csv", "--hidden", "4", "-e", "3")
    result = json.loads(cli("eval", model, SAMPLES / "moons.csv", "--json", "-q").stdout)
    assert f"ROC AUC   {result['roc_auc']:.4f}" in cli("eval", model, SAMPLES / "moons.csv", "-q").stderr
    one = tmp_path / "one.csv"  # (rows of a single class: no ranking to score)
    one.write_text("".join(line for line in open(SAMPLES / "moons.csv") if not line.rstrip().endswith(",1")))
    assert json.loads(cli("eval", model, one, "--json", "-q").stdout)["roc_auc"] is None
    assert re.search(r"^ROC AUC +–$", cli("eval", model, one, "-q").stderr, re.M)


def test_eval_gives_each_classs_roc_auc_against_the_rest_and_their_mean(tmp_path, cli, monkeypatch):
    from nncli import apply
    from nncli.core.losses import log_softmax

    model = tmp_path / "m3.npz"
    assert cli("fit", SAMPLES / "blobs.csv", "-o", model, "--epochs", "1", "--hidden", "4", "-q").exit_code == 0
    m = load_model(str(model))
    X, _, raw, _ = apply.load_eval_arrays(m, str(SAMPLES / "blobs.csv"))
    logp = log_softmax(m.network.logits(X).astype(np.float64))
    expected = []
    for k in range(3):  # (one vs rest, ranked by each class's probability: as roc_auc_score(multi_class="ovr"))
        pos, neg = logp[raw == k, k], logp[raw != k, k]
        expected.append(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                        / (len(pos) * len(neg)))
    result = json.loads(cli("eval", model, SAMPLES / "blobs.csv", "--json", "-q").stdout)
    got = [result["per_class"][c]["roc_auc"] for c in result["classes"]]
    assert got == pytest.approx(expected, abs=1e-6) and result["roc_auc"] == pytest.approx(np.mean(expected), abs=1e-6)
    assert 0 < min(got) and max(got) < 1 and len(set(got)) == 3  # (one epoch of 4 units: no ranking perfect)
    assert re.search(r"^ROC AUC \(macro\) +\d\.\d{4}$", cli("eval", model, SAMPLES / "blobs.csv", "-q").stderr, re.M)
    # A class the file lacks has none, and the mean leaves it out
    two = tmp_path / "two.csv"
    two.write_text("".join(line for line in open(SAMPLES / "blobs.csv") if not line.rstrip().endswith(",2")))
    result = json.loads(cli("eval", model, two, "--json", "-q").stdout)
    aucs = [result["per_class"][c]["roc_auc"] for c in result["classes"]]
    assert aucs[2] is None and result["roc_auc"] == pytest.approx((aucs[0] + aucs[1]) / 2)
    # Past the cells it keeps for ranking, none at all (rather than memory without bound)
    monkeypatch.setattr(apply, "AUC_CELLS", len(raw) * 3 - 1)
    result = apply.evaluate_model(m, str(SAMPLES / "blobs.csv"))
    assert result["roc_auc"] is None and result["per_class"]["0"]["roc_auc"] is None


def test_a_threshold_chooses_the_second_class_where_its_probability_is_above_it(tmp_path, cli):
    model, raw, z = _binary_logits(cli, tmp_path, SAMPLES / "moons.csv", SAMPLES / "moons.csv", "--hidden", "4",
                                   "-e", "3")
    default = cli("predict", model, SAMPLES / "moons.csv").stdout
    assert cli("predict", model, SAMPLES / "moons.csv", "--threshold", "0.5").stdout == default
    plain = json.loads(cli("eval", model, SAMPLES / "moons.csv", "--json", "-q").stdout)
    for t in (0.2, 0.8):
        printed = cli("predict", model, SAMPLES / "moons.csv", "--threshold", str(t)).stdout.split()[1:]
        chosen = (z > np.log(t / (1 - t))).astype(int)
        assert printed == [str(c) for c in chosen]
        assert 0 < (chosen != [int(c) for c in default.split()[1:]]).sum()  # (it moved some rows)
        result = json.loads(cli("eval", model, SAMPLES / "moons.csv", "--json", "-q", "--threshold", str(t)).stdout)
        assert result["threshold"] == t and result["accuracy"] == pytest.approx((chosen == raw).mean())
        assert result["confusion_matrix"] == [[int(((raw == a) & (chosen == b)).sum()) for b in (0, 1)] for a in (0, 1)]
        assert (result["log_loss"], result["roc_auc"]) == (plain["log_loss"], plain["roc_auc"])  # (not the choice)
    three = tmp_path / "m3.npz"
    assert cli("fit", SAMPLES / "blobs.csv", "-o", three, "--epochs", "1", "-q").exit_code == 0
    for args, said in ((("predict", three, SAMPLES / "blobs.csv"), "is for a model of two classes; "),
                       (("eval", three, SAMPLES / "blobs.csv"), "predicts 3 classes"),
                       (("predict", model, SAMPLES / "moons.csv", "--threshold", "1"), "must be less than 1")):
        r = cli(*args, *(["--threshold", "0.3"] if "--threshold" not in args else []))
        assert r.exit_code == 2 and said in r.stderr


def test_a_row_at_even_odds_is_the_first_class_with_or_without_a_threshold_of_one_half():
    """A logit of exactly 0 (probability 0.5 of each class) is class 0 however the class is chosen: by
    default, with --threshold 0.5 (which must change nothing) and in training's accuracy. Were the
    default `>= 0`, such a row's prediction would flip with a --threshold 0.5 that should be a no-op."""
    m = load_model(str(ROOT / "tests" / "old_models" / "1.3.0" / "moons_mlp.npz"))
    assert m.target.loss == "bce"
    Z = np.array([[-1e-30], [0.0], [-0.0], [1e-30]], m.network.dtype)
    assert m.predict_classes(Z).tolist() == m.predict_classes(Z, 0.5).tolist() == [0, 0, 0, 1]
    chosen = np.empty(len(Z), bool)
    m.network.classes(Z, out=chosen)  # (as training counts its accuracy)
    assert chosen.tolist() == [False, False, False, True]


def test_r2_and_rmse_of_values_whose_squares_underflow():
    # Squares under 1e-308 are 0: targets spread ~1e-200 read as constant (R² 1.0 for any tiny predictions,
    # 0 for larger ones), and an RMSE of 1e-200 read 0. R² does not change with the unit; RMSE scales with it.
    truth, pred = np.array([1.0, 2.0, 3.0]), np.array([3.0, 1.0, 2.0])
    for unit in (1e-170, 1e-200, 1e-300):
        assert metrics.r2(truth * unit, pred * unit) == pytest.approx(metrics.r2(truth, pred)) == -2.0
        assert metrics.rmse(truth * unit, pred * unit) == pytest.approx(metrics.rmse(truth, pred) * unit, rel=1e-12)
    assert metrics.r2(truth * 1e-200, [0.0, 0.0, 1e-40]) == -np.inf  # (far below: ss_res / ss_tot ~ 1e320)


def test_rmsle_is_none_where_a_prediction_is_below_zero_as_where_a_target_is():
    """log(1 + y) of a value below -1 does not exist, and one between -1 and 0 is no error of sizes: RMSLE is None
    for either side's (a mutant that looked at the targets only gave nan, or a figure, for the predictions')."""
    assert metrics.rmsle([1.0, 2.0], [1.0, -0.5]) is None and metrics.rmsle([1.0, 2.0], [1.0, -3.0]) is None
    assert metrics.rmsle([1.0, -0.5], [1.0, 2.0]) is None
    assert metrics.rmsle([0.0, 3.0], [0.0, 1.0]) == pytest.approx(np.sqrt(np.log(2.0) ** 2 / 2))


def test_r2_of_a_constant_target_whose_float_mean_is_not_that_value():
    # The mean of 300 copies of 0.1 is 0.09999999999999999: ss_tot 3e-33, and R² read -5e31, not the documented 0.
    y = np.full(300, 0.1)
    assert metrics.r2(y, y + 0.1) == 0.0 and metrics.r2(y, y) == 1.0
    assert metrics.r2(np.column_stack([y, np.arange(300.0)]), np.column_stack([y + 0.1, np.arange(300.0)])) == 0.5


def test_a_binary_classifiers_roc_auc_is_not_held_to_the_cells_kept_for_many_classes(tmp_path, cli, monkeypatch):
    """Two classes rank the rows by one logit (8 bytes a row): AUC_CELLS bounds the per-class
    log-probabilities of more classes only: a binary model's ROC AUC is given past it too."""
    from nncli import apply

    model = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "moons.csv", "-o", model, "--epochs", "2", "--hidden", "4", "-q").exit_code == 0
    whole = apply.evaluate_model(load_model(str(model)), str(SAMPLES / "moons.csv"))
    monkeypatch.setattr(apply, "AUC_CELLS", 10)
    assert apply.evaluate_model(load_model(str(model)), str(SAMPLES / "moons.csv"))["roc_auc"] == whole["roc_auc"]
    assert whole["roc_auc"] is not None
