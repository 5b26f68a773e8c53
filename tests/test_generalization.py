"""Generalization tools through the CLI: validation, early stopping, class weights, lr-find, divergence."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from conftest import SAMPLES, run_nncli, write_csv
from nncli.model_file import load_model
from nncli.workflow import split_rows


def test_val_split_is_stratified():
    labels = np.array([0] * 90 + [1] * 10)
    train, val = split_rows(100, 0.2, np.random.default_rng(0), labels)
    assert len(val) == 20 and np.bincount(labels[val]).tolist() == [18, 2]
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))


@pytest.mark.parametrize("sizes, fraction, expected", [
    ([3] * 10, 0.2, 6),  # per-class rounding took 10 (0.6 rounds to 1 in each class)
    ([4] * 20, 0.12, 10),  # ... and here 1 of 80 (0.48 rounds to 0)
    ([5, 5], 0.5, 5),  # round-half-to-even took 2 + 2
    ([25, 25], 0.1, 5),
    ([90, 10], 0.2, 20),
    ([100, 2, 2, 2, 2, 2], 0.79, 87),  # the small classes keep their last rows: the large one gives 3 more
    ([10, 10, 5], 0.3, 8),  # the one row over the classes' whole shares goes to the largest remainder (1.5 of 5)
])
def test_val_split_takes_the_fraction_of_the_whole_and_keeps_every_class_in_training(sizes, fraction, expected):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    for seed in range(20):
        train, val = split_rows(len(labels), fraction, np.random.default_rng(seed), labels)
        assert len(val) == expected
        assert set(labels[train].tolist()) == set(range(len(sizes)))  # every class still trains
        share = np.array(sizes) * fraction
        if (np.ceil(share) < np.array(sizes)).all():  # no class at its last training row: each near its share
            assert np.abs(np.bincount(labels[val], minlength=len(sizes)) - share).max() < 1
        assert sorted(np.concatenate([train, val]).tolist()) == list(range(len(labels)))


@pytest.mark.parametrize("n, fraction, expected", [(25, 0.1, 3), (5, 0.5, 3), (45, 0.1, 5), (10, 0.2, 2),
                                                    (90, 0.35, 32),  # (90 * 0.35 is 31.499999999999996)
                                                    (100, 0.004, 1)])  # (0.4 of a row: at least one)
def test_val_split_takes_as_many_rows_with_labels_or_without(n, fraction, expected):
    # The regression split rounded half to even (2 of 25 at 0.1) and the classes' half up (3)
    for labels in (None, np.arange(n) % 2):
        assert len(split_rows(n, fraction, np.random.default_rng(0), labels)[1]) == expected


def test_a_class_with_a_single_row_stays_in_training():
    labels = np.array([0, 0, 0, 0, 0, 1])
    for seed in range(50):
        train, val = split_rows(6, 0.1, np.random.default_rng(seed), labels)
        assert 5 in train and len(val) == 1


def test_validation_history_and_best_weights_are_saved(cli, tmp_path):
    model = tmp_path / "m.npz"
    r = cli("fit", SAMPLES / "moons.csv", "-o", model, "--val-split", "0.2", "--epochs", "40", "--patience", "5",
            "--hidden", "16")
    assert r.exit_code == 0, r.stderr
    assert "val_loss=" in r.stderr
    m = load_model(str(model))
    h = m.history
    assert len(h["val_loss"]) == m.info["epochs_run"] and np.isfinite(h["val_loss"]).all()
    best = int(np.nanargmin(h["val_loss"])) + 1
    assert m.info["weights_from_epoch"] == best == m.info["best_epoch"]
    assert m.info["final_val_loss"] == pytest.approx(h["val_loss"][best - 1])


def test_separate_validation_file(cli, tmp_path, moons_csv):
    train, test = moons_csv
    model = tmp_path / "m.npz"
    r = cli("fit", train, "--val", test, "-o", model, "--epochs", "5")
    assert r.exit_code == 0, r.stderr
    m = load_model(str(model))
    assert m.info["val_rows"] == 400 and m.info["rows"] == 600
    both = cli("fit", train, "--val", test, "--val-split", "0.2", "-o", model)
    assert both.exit_code == 2


def test_balanced_class_weights_raise_minority_recall(cli, tmp_path):
    rng = np.random.default_rng(0)
    n = 1000
    y = (rng.random(n) < 0.08).astype(int)
    X = rng.normal(size=(n, 2)) + y[:, None] * 1.2  # overlapping classes, 8% positives
    data = write_csv(tmp_path / "d.csv", ["a", "b", "y"], [(f"{a:.4f}", f"{b:.4f}", c) for (a, b), c in zip(X, y)])
    recalls = {}
    for cw in ("none", "balanced"):
        model = tmp_path / f"{cw}.npz"
        assert cli("fit", data, "-o", model, "--class-weight", cw, "--epochs", "30", "-q").exit_code == 0
        recalls[cw] = json.loads(cli("eval", model, data, "--json").stdout)["per_class"]["1"]["recall"]
    assert recalls["balanced"] > recalls["none"] + 0.2


def test_lr_find_prints_only_a_sane_learning_rate(tmp_path):
    r = run_nncli("lr-find", SAMPLES / "moons.csv", "--hidden", "16")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.count("\n") == 1
    lr = float(out)
    assert 1e-4 <= lr <= 1.0
    assert "suggested learning rate" in r.stderr.decode()
    # ... and it composes: nncli fit d.csv --lr $(nncli lr-find d.csv)
    fit = run_nncli("fit", SAMPLES / "moons.csv", "--lr", out.strip(), "--epochs", "3", "-o", tmp_path / "m.npz", "-q")
    assert fit.returncode == 0


def test_lr_find_says_when_the_loss_was_still_falling_at_lr_max(cli):
    # The suggestion is then only lr-max / 10: the sweep never found where the loss turns.
    r = cli("lr-find", SAMPLES / "blobs.csv", "--model", "linear", "--steps", "40")  # (adam: steps bounded by lr)
    assert r.exit_code == 0 and "still falling at --lr-max 10" in r.stderr and r.stdout == "1\n"
    r = cli("lr-find", SAMPLES / "moons.csv", "--hidden", "8", "--steps", "40")
    assert r.exit_code == 0 and "still falling" not in r.stderr


def test_a_val_split_that_leaves_a_handful_of_rows_gets_a_notice(cli, tmp_path):
    # --val-split 0.0001 early-stopped on one row's loss, 0.9999 trained on two rows, without a word
    for fraction, said in (("0.0001", "--val-split 0.0001 leaves 1 row for validation: its loss is noise, and "
                                      "early stopping follows it (a larger --val-split, or --val FILE)"),
                           ("0.999", "--val-split 0.999 leaves 2 rows for training: the model learns from a handful "
                                     "(a smaller --val-split)"),
                           ("0.2", None)):
        r = cli("fit", SAMPLES / "moons.csv", "-o", tmp_path / "m.npz", "--val-split", fraction, "--epochs", "1",
                "--progress", "plain")
        assert r.exit_code == 0 and (f"nncli: {said}\n" in r.stderr if said else "--val-split" not in r.stderr)



def test_lr_find_gives_fits_notices_about_the_data(cli, tmp_path):
    # It swept a 15-class classifier of a numeric target, or a constant one, without a word
    path = tmp_path / "d.csv"
    path.write_text("a,y\n" + "".join(f"{i % 7},{i % 15}\n" for i in range(300)))
    r = cli("lr-find", path, "--hidden", "8", "--steps", "20")
    assert r.exit_code == 0 and "nncli: the target 'y' holds 15 distinct whole numbers: read as classes" in r.stderr
    r = cli("lr-find", path, "--hidden", "8", "--steps", "20", "-q")
    assert r.exit_code == 0 and r.stderr == ""


def test_lr_find_says_when_the_loss_never_fell(cli):
    # --lr-min far too high: the loss rose from the first batch, and the suggestion (--lr-min itself)
    # came without a word
    r = cli("lr-find", SAMPLES / "moons.csv", "--hidden", "8", "--lr-min", "1e5", "--lr-max", "1e6")
    assert r.exit_code == 0 and "the loss never fell below its first value: even --lr-min 100000 may be too high" \
        in r.stderr and r.stdout == "1e+05\n"
    r = cli("lr-find", SAMPLES / "moons.csv", "--hidden", "8", "--steps", "40")
    assert r.exit_code == 0 and "never fell" not in r.stderr


def test_lr_find_json_gives_scripts_the_suggestion_the_sweep_and_its_warning(cli):
    # The warnings were notices alone, which -q silences: `$(nncli lr-find -q)` could not tell them
    for args, warning in ((["--model", "linear", "--steps", "40"], "still_falling"),
                          (["--hidden", "8", "--lr-min", "1e5", "--lr-max", "1e6"], "never_fell"),
                          (["--hidden", "8", "--steps", "40"], None)):
        r = cli("lr-find", SAMPLES / "blobs.csv", *args, "--json", "-q")
        assert r.exit_code == 0 and r.stderr == ""
        out = json.loads(r.stdout)
        assert out["warning"] == warning
        assert out["suggestion"] == float(cli("lr-find", SAMPLES / "blobs.csv", *args, "-q").stdout)
        assert len(out["lrs"]) == len(out["losses"]) >= 2 and out["lrs"] == sorted(out["lrs"])
        assert out["lowest_loss_lr"] == out["lrs"][int(np.argmin(out["losses"]))]


def test_lr_find_chart_names_the_suggestion_as_printed(cli):
    # The legend said 0.1072, the text and stdout 0.107
    r = cli("lr-find", SAMPLES / "moons.csv", "--hidden", "8", "--steps", "40")
    legend = re.search(r"▲ learning rate (\S+)", r.stderr)
    assert r.exit_code == 0 and legend and legend.group(1) == r.stdout.strip()
    assert f"suggested learning rate {r.stdout.strip()} " in r.stderr.replace("\n", " ")



@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_a_divergence_from_a_far_too_strong_l2_names_it(cli, tmp_path, optimizer):
    # The hint said "try --lr 0.01", which diverges too: lr·λ is still 1e4
    r = cli("fit", SAMPLES / "moons.csv", "-o", tmp_path / "m.npz", "--optimizer", optimizer, "--lr", "0.1",
            "--l2", "1e6", "--epochs", "5", "-q")
    assert r.exit_code == 1 and "training diverged at epoch 1" in r.stderr
    bound = 2 if optimizer == "sgd" else 3.8
    assert (f"hint: --l2 1e+06 is too strong for a rate of 0.1: the penalty alone makes the weights grow once lr × λ "
            f"reaches {bound:g} (here 1e+05); keep λ well under {bound / 0.1:g}") in r.stderr
    # A rate too high for the data, beside an L2 that alone would not diverge (lr × λ 1.2): the rate's hint
    r = cli("fit", SAMPLES / "regression.csv", "-o", tmp_path / "m.npz", "--optimizer", optimizer, "--lr", "60",
            "--l2", "0.02", "--epochs", "5", "-q")
    assert r.exit_code == 1 and "hint: try a smaller learning rate, e.g. --lr 6," in r.stderr


@pytest.mark.parametrize("optimizer, nesterov", [("sgd", False), ("momentum", False), ("momentum", True)])
def test_the_l2_divergence_bound_is_where_the_penalty_alone_grows_the_weights(optimizer, nesterov):
    # The optimizers' own steps on the penalty's gradient λ·w alone, lr × λ just under and just over the bound
    from nncli.core.optimizers import make_optimizer
    from nncli.core.training import TrainConfig, l2_divergence_bound

    bound = l2_divergence_bound(TrainConfig(optimizer=optimizer, nesterov=nesterov, momentum=0.9))
    for factor, grows in ((0.98, False), (1.02, True)):
        opt = make_optimizer(optimizer, 1, np.float64, 0.1, momentum=0.9, nesterov=nesterov)
        w = np.ones(1)
        for _ in range(3000):
            opt.step(w, (bound * factor / 0.1) * w)  # lr × λ = bound × factor
        assert (abs(w[0]) > 1) == grows


def test_divergence_exits_1_and_leaves_the_old_model_untouched(tmp_path):
    model = tmp_path / "m.npz"
    assert run_nncli("fit", SAMPLES / "regression.csv", "-o", model, "--epochs", "2", "-q").returncode == 0
    before = hashlib.sha256(model.read_bytes()).hexdigest()
    r = run_nncli("fit", SAMPLES / "regression.csv", "-o", model, "--optimizer", "sgd", "--lr", "50",
                  "--epochs", "50")
    err = r.stderr.decode()
    assert r.returncode == 1 and r.stdout == b""
    assert "training diverged at epoch" in err and "smaller learning rate" in err and "Traceback" not in err
    assert hashlib.sha256(model.read_bytes()).hexdigest() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_l2_and_dropout_are_recorded_and_predictions_deterministic(cli, tmp_path):
    model = tmp_path / "m.npz"
    r = cli("fit", SAMPLES / "blobs.csv", "-o", model, "--dropout", "0.3", "--l2", "0.01", "--epochs", "5", "-q")
    assert r.exit_code == 0
    m = load_model(str(model))
    assert m.config["dropout"] == 0.3 and m.config["l2"] == 0.01
    a = cli("predict", model, SAMPLES / "blobs.csv", "--proba").stdout
    assert a == cli("predict", model, SAMPLES / "blobs.csv", "--proba").stdout


@pytest.mark.parametrize("schedule", ["step", "exponential", "cosine", "plateau", "onecycle"])
def test_schedules_from_the_cli_record_the_learning_rates(cli, tmp_path, schedule):
    model = tmp_path / "m.npz"
    step = ("--lr-step", "2") if schedule in ("step", "plateau") else ()
    r = cli("fit", SAMPLES / "blobs.csv", "-o", model, "--lr-schedule", schedule, "--epochs", "8", "--lr", "0.01",
            *step, "--patience", "0", "-q")
    assert r.exit_code == 0, r.stderr
    lrs = load_model(str(model)).history["lr"]
    assert len(lrs) == 8 and len(set(np.round(lrs, 12))) > 1 or schedule == "plateau"


def test_lr_find_sweeps_with_the_optimizer_and_l2_fit_will_use(cli, monkeypatch):
    from nncli.core import training

    seen = []
    real = training.lr_sweep
    monkeypatch.setattr(training, "lr_sweep", lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    base = ("lr-find", SAMPLES / "moons.csv", "--hidden", "8", "--steps", "10", "-q")
    assert cli(*base).exit_code == 0
    assert cli(*base, "--optimizer", "momentum", "--momentum", "0.5", "--nesterov", "--l2", "0.03").exit_code == 0
    rows = len((SAMPLES / "moons.csv").read_text().splitlines()) - 1
    assert [(kw["optimizer"], kw["momentum"], kw["nesterov"], kw["l2"]) for kw in seen] == [
        ("adam", 0.9, False, training.default_l2(rows)), ("momentum", 0.5, True, 0.03)]  # (fit's default L2)
    r = cli(*base, "--momentum", "0.5")
    assert r.exit_code == 2 and "--momentum is for --optimizer momentum (not adam)" in r.stderr


def _history_model(loss, metric, *, epochs=None, stopped=None, kept=None, val_rows=0, task="classification"):
    from types import SimpleNamespace

    run = len(loss)
    return SimpleNamespace(info={"epochs_run": run, "weights_from_epoch": kept or run, "stopped": stopped,
                                 "val_rows": val_rows},
                           history={"loss": np.array(loss, float), "metric": np.array(metric, float)},
                           config={"epochs": epochs or run}, task=task)


def test_a_run_still_improving_when_its_epochs_ran_out_is_said_to_be():
    from nncli.workflow import still_improving

    falling, rising = np.linspace(1.0, 0.5, 100), np.linspace(0.5, 0.9, 100)  # 5.3% and +0.04 over the last 10
    said = still_improving(_history_model(falling, rising))
    assert said.startswith("training was still improving when its 100 epochs ran out (over the last 10: training "
                           "accuracy 0.86 → 0.9, loss 0.551 → 0.5)")
    assert said.endswith("only rows held out can tell (--val-split 0.2)")
    assert "R² 0.86 → 0.9" in still_improving(_history_model(falling, rising, task="regression"))
    assert "--val-split" not in still_improving(_history_model(falling, rising, val_rows=20))
    flat = np.full(100, 0.99)  # (rows a model separates: the log loss falls for ever, the accuracy does not)
    for quiet in (_history_model(falling, flat), _history_model(np.full(100, 0.5), rising),
                  _history_model(falling, rising, stopped="early"), _history_model(falling, rising, epochs=200),
                  _history_model(falling[:9], rising[:9]),  # (too few epochs for a tenth)
                  _history_model(falling, rising, kept=90)):  # (a best epoch kept from before the last tenth)
        assert still_improving(quiet) is None
    assert "(over the last epoch: training" in still_improving(_history_model(np.linspace(1, 0.2, 15),
                                                                              np.linspace(0.3, 0.9, 15)))
    # A best epoch kept within the last tenth is measured where it was
    said = still_improving(_history_model(falling, rising, kept=95))
    assert "loss 0.576 → 0.525" in said


def test_fit_says_a_slow_run_was_still_improving_and_a_converged_one_not(cli, tmp_path):
    slow = cli("fit", SAMPLES / "blobs.csv", "--model", "linear", "--optimizer", "sgd", "--lr", "0.003", "-e", "60",
               "-o", tmp_path / "m.npz", "--progress", "plain")
    assert slow.exit_code == 0 and "training was still improving when its 60 epochs ran out" in slow.stderr
    assert "Trained linear 2-3 (classification of 3 classes) for 60 epochs" in slow.stderr  # (the task said too)
    done = cli("fit", SAMPLES / "blobs.csv", "--model", "linear", "-o", tmp_path / "m.npz", "--progress", "plain")
    assert done.exit_code == 0 and "still improving" not in done.stderr
