"""Model files written by earlier nncli versions keep working: the same predictions, and every command.

`old_models/VERSION/NAME.npz` were trained by that version of nncli (1.0.0 at bcfda40, 1.1.0 at
1aeaa73, 1.2.0 at 58f1162, 1.3.0 at dc8a903) on data made by `nncli gen-data`; `NAME.predicted.csv` is what that version's
`nncli predict` (with --proba for a classifier) printed for the file in `old_models/data/` named below.
"""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from conftest import ROOT
from nncli import __version__

OLD = ROOT / "tests" / "old_models"
# (version, model, the file it predicted; its columns beyond the features are ignored)
MODELS = [
    ("1.0.0", "mixed_mlp", "mixed_t"),    # categorical features with missing cells, two classes
    ("1.0.0", "reg_f64", "reg_t"),        # a float64 regression
    ("1.0.0", "blobs_tanh", "blobs_t"),   # three classes, tanh, --val-split
    ("1.1.0", "prices_log", "prices_t"),  # --log-target: format version 2
    ("1.1.0", "mixed_lin", "mixed_t"),    # a linear model of categories
    ("1.2.0", "spirals_pat", "moons_t"),  # leaky_relu, stopped early by --patience
    ("1.2.0", "blobs_sig", "blobs_t"),    # sigmoid hidden layer, dropout, a cosine schedule
    ("1.3.0", "moons_mlp", "moons_t"),    # the default network (Glorot weights, random hidden biases)
    ("1.3.0", "mixed_lin", "mixed_t"),    # a linear model of categories, trained on other rows than it predicts
]


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def same_number(a: str, b: str) -> bool:
    """Equal as printed to 6 significant digits, but for the last one (1.0.0 rounded some
    probabilities a unit differently, and printed ones under 1e-6 from another float32 rounding)."""
    x, y = float(a), float(b)
    return math.isclose(x, y, rel_tol=2e-6, abs_tol=2e-6)


@pytest.mark.parametrize("version,name,data", MODELS)
def test_an_old_model_predicts_what_it_predicted_then(version, name, data, cli):
    model, table = OLD / version / f"{name}.npz", OLD / "data" / f"{data}.csv"
    then = rows((OLD / version / f"{name}.predicted.csv").read_text())
    proba = len(then[0]) > 1
    r = cli("predict", model, table, *(["--proba"] if proba else []))
    assert r.exit_code == 0, r.stderr
    now = rows(r.stdout)
    assert now[0] == then[0] and len(now) == len(then) > 100
    for old, new in zip(then[1:], now[1:]):
        if proba:  # the label itself, then each probability
            assert new[0] == old[0] and all(same_number(a, b) for a, b in zip(old[1:], new[1:])), (old, new)
        else:
            assert same_number(old[0], new[0]), (old, new)


@pytest.mark.parametrize("version,name,data", MODELS)
def test_every_command_takes_an_old_model(version, name, data, cli, tmp_path):
    model, table = OLD / version / f"{name}.npz", OLD / "data" / f"{data}.csv"
    shown = cli("show", model, "--json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["nncli_version"] == version  # the file's writer, not this nncli
    report = cli("show", model)
    assert report.exit_code == 0 and f"written by nncli {version}" in " ".join(report.stderr.split()), report.stderr
    scored = cli("eval", model, table, "--json")
    assert scored.exit_code == 0, scored.stderr
    assert json.loads(scored.stdout)["rows"] == len(table.read_text().splitlines()) - 1
    again = cli("fit", table, "--init", model, "--epochs", "2", "-o", tmp_path / "again.npz", "-q")
    assert again.exit_code == 0, again.stderr
    assert json.loads(cli("show", tmp_path / "again.npz", "--json").stdout)["nncli_version"] == __version__
