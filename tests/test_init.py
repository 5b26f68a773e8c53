"""`fit --init MODEL`: going on training a saved model, its weights, encoders and layers kept."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import SAMPLES, nncli_env, write_csv
from nncli import model_file


def fit(cli, *args):
    result = cli("fit", *map(str, args), "--progress", "plain")
    assert result.exit_code == 0, result.stderr
    return result


def test_a_run_starts_from_the_models_weights_and_says_so(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # (short names: `show` folds a long one)
    a, b = "a.npz", "b.npz"
    fit(cli, SAMPLES / "moons.csv", "-e", 6, "-o", a)
    # A step too small to move a float32 weight: the model that comes out is the one that went in
    fit(cli, SAMPLES / "moons.csv", "--init", a, "-e", 1, "--optimizer", "sgd", "--lr", 1e-30, "--l2", 0, "-o", b)
    before, after = model_file.load_model(a), model_file.load_model(b)
    assert np.array_equal(before.network.params, after.network.params)
    assert np.abs(before.network.params).max() > 0.1  # (trained weights, not zeros: the comparison means something)
    assert after.info["init"] == {"file": a, "source": str(SAMPLES / "moons.csv"), "epochs_before": 6}
    shown = cli("show", b)
    assert shown.exit_code == 0
    assert "started from  a.npz, whose weights had trained 6 epochs" in shown.stderr
    assert "7 in all" in shown.stderr
    # Its first epoch's loss is the trained model's, far below a fresh network's on the same rows
    fresh = "fresh.npz"
    fit(cli, SAMPLES / "moons.csv", "-e", 1, "--optimizer", "sgd", "--lr", 1e-30, "--l2", 0, "-o", fresh)
    assert after.history["loss"][0] < 0.6 * model_file.load_model(fresh).history["loss"][0]


def test_going_on_with_full_batch_sgd_is_one_longer_run(cli, tmp_path):
    # Plain gradient descent keeps no state but the weights: 8 epochs, then 8 more from the saved model,
    # take the same steps as 16 at once (to rounding: the rows of a batch are summed in another order)
    common = ["--optimizer", "sgd", "--lr", 0.3, "--l2", 0.001, "-b", 10_000, "--val-split", 0, "--patience", 0,
              "--hidden", "8", "-a", "tanh", "--dtype", "float64"]
    once, half, twice = (tmp_path / f"{n}.npz" for n in ("once", "half", "twice"))
    fit(cli, SAMPLES / "moons.csv", *common, "-e", 16, "-o", once)
    fit(cli, SAMPLES / "moons.csv", *common, "-e", 8, "-o", half)
    fit(cli, SAMPLES / "moons.csv", *common, "-e", 8, "--init", half, "-o", twice)
    whole, split, start = (model_file.load_model(str(p)) for p in (once, twice, half))
    assert np.allclose(split.network.params, whole.network.params, rtol=1e-9, atol=1e-12)
    assert not np.allclose(start.network.params, whole.network.params, rtol=1e-3)  # (the second run moved them)
    assert split.info["init"]["epochs_before"] == 8
    assert np.allclose(split.history["loss"], whole.history["loss"][8:], rtol=1e-9)


def test_data_is_read_with_the_models_encoders_not_fitted_anew(cli, tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    train = write_csv(tmp_path / "train.csv", ["x", "color", "y"],
                      [(i % 7, ("red", "blue")[i % 2], 2.5 * (i % 7) + i % 2 + i / 100) for i in range(60)])
    fit(cli, train, "-e", 3, "-o", a)
    # Other rows: x shifted far from training's, a color training never had
    more = write_csv(tmp_path / "more.csv", ["y", "color", "x"],
                     [(2.5 * (i % 7) + 30.25, ("red", "green")[i % 2], 15 + i % 7) for i in range(40)])
    result = fit(cli, more, "--init", a, "-e", 2, "-o", b)
    assert "categories not seen in training were encoded as all zeros: 'color' (20)" in result.stderr
    start, went_on = model_file.load_model(str(a)), model_file.load_model(str(b))
    for m in (start, went_on):  # (the column order of the file read does not matter either)
        assert [f.name for f in m.pre.features] == ["x", "color"]
    assert np.array_equal(went_on.pre.mean, start.pre.mean) and np.array_equal(went_on.pre.scale, start.pre.scale)
    assert went_on.pre.features[1].categories == start.pre.features[1].categories
    assert (went_on.target.mean, went_on.target.scale) == (start.target.mean, start.target.scale)
    assert went_on.info["rows"] == 40 and went_on.info["source"] == str(more)


def test_chained_runs_count_every_epoch_behind_the_weights(cli, tmp_path):
    a, b, c = (tmp_path / f"{n}.npz" for n in "abc")
    fit(cli, SAMPLES / "blobs.csv", "-e", 4, "-o", a)
    # Early stopping on: the epochs behind the weights are those up to the one kept, not all run
    fit(cli, SAMPLES / "blobs.csv", "--init", a, "-e", 5, "--val-split", 0.3, "--patience", 2, "-o", b)
    kept = model_file.load_model(str(b)).info["weights_from_epoch"]
    out = fit(cli, SAMPLES / "blobs.csv", "--init", b, "-e", 2, "-o", c, "--json", "-q")
    assert json.loads(out.stdout)["init"] == {"file": str(b), "source": str(SAMPLES / "blobs.csv"),
                                              "epochs_before": 4 + kept}


def test_a_class_the_model_lacks_is_an_error_and_a_missing_one_a_notice(cli, tmp_path):
    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "blobs.csv", "-e", 2, "-o", a)
    lines = (SAMPLES / "blobs.csv").read_text().splitlines()
    new = tmp_path / "new.csv"
    new.write_text("\n".join([lines[0], *lines[1:20], lines[20].rsplit(",", 1)[0] + ",7"]) + "\n")
    result = cli("fit", str(new), "--init", str(a), "-o", str(tmp_path / "b.npz"))
    assert result.exit_code == 1
    assert "class label '7' was not seen in training" in result.stderr
    assert "--init keeps the model's classes: a new class needs a new model" in result.stderr
    assert not (tmp_path / "b.npz").exists()
    result = cli("fit", str(SAMPLES / "blobs.csv"), "--init", str(a), "--val", str(new), "-o", str(tmp_path / "b.npz"))
    assert result.exit_code == 1 and "new.csv:21:3 (column 'label'): class label '7'" in result.stderr
    assert "--init keeps the model's classes: a new class needs a new model" in result.stderr
    two = tmp_path / "two.csv"
    two.write_text("\n".join([lines[0], *(r for r in lines[1:] if not r.endswith(",2"))]) + "\n")
    result = fit(cli, two, "--init", a, "-e", 1, "-o", tmp_path / "b.npz")
    assert "has no row of 1 of the model's 3 classes ('2')" in result.stderr


@pytest.mark.parametrize("option, value, says", [
    ("--hidden", "32", "it has 8"),
    ("--model", "linear", "it has mlp"),
    ("--target", "x1", "it has 'label'"),
    ("--ignore", "x1", "it has 'x1' as a feature"),
    ("--categorical", "x1", "it has no categorical column"),
    ("--dtype", "float64", "it has float32"),
    ("--task", "regression", "it has classification"),
    ("--log-target", None, "it has the classes of 'label' as its target: --log-target is for regression"),
    ("--na-values", "?", "it has the missing-cell texts NA,"),
    ("--features", "x1", "it has the feature columns 'x1', 'x2'"),
    ("--activation", "tanh", "it has relu"),
])
def test_an_option_the_model_decides_must_agree_with_it(cli, tmp_path, option, value, says):
    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "blobs.csv", "-e", 1, "--hidden", "8", "-o", a)
    result = cli("fit", str(SAMPLES / "blobs.csv"), "--init", str(a), option, *([value] if value else []),
                 "-o", str(tmp_path / "b.npz"))
    assert result.exit_code == 2
    assert f"{option} differs from the model given to --init ({says}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # (the error and its hint)


def test_options_that_agree_with_the_model_are_accepted(cli, tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    args = ["--target", "label", "--hidden", "8", "-a", "tanh", "--task", "classification", "--dtype", "float32"]
    fit(cli, SAMPLES / "blobs.csv", "-e", 1, *args, "-o", a)
    fit(cli, SAMPLES / "blobs.csv", "-e", 1, *args, "--init", a, "--dropout", 0.2, "-o", b)
    went_on = model_file.load_model(str(b))
    assert went_on.config["dropout"] == 0.2 and went_on.network.activation == "tanh"


def test_a_linear_model_takes_no_dropout_and_a_model_comes_from_a_file(cli, tmp_path):
    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "linear.csv", "-m", "linear", "-e", 1, "-o", a)
    result = cli("fit", str(SAMPLES / "linear.csv"), "--init", str(a), "--dropout", "0.1")
    assert result.exit_code == 2 and "--dropout is for hidden layers" in result.stderr
    result = cli("fit", str(SAMPLES / "linear.csv"), "--init", "-")
    assert result.exit_code == 2 and "a model is read from a file, not from stdin" in result.stderr
    result = cli("fit", str(SAMPLES / "linear.csv"), "--init", str(tmp_path / "none.npz"))
    assert result.exit_code == 1 and "cannot open model" in result.stderr and "No such file" in result.stderr


@pytest.mark.parametrize("record", [
    {"file": "a.npz", "source": "d.csv", "epochs_before": -1},
    {"file": "a.npz", "source": "d.csv", "epochs_before": True},
    {"file": "a.npz", "source": "d.csv", "epochs_before": 2.5},
    {"file": 3, "source": "d.csv", "epochs_before": 2},
    {"file": "a.npz", "epochs_before": 2},
    "a.npz",
])
def test_a_malformed_init_record_is_refused(cli, tmp_path, record):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    fit(cli, SAMPLES / "linear.csv", "-m", "linear", "-e", 1, "-o", a)
    fit(cli, SAMPLES / "linear.csv", "--init", a, "-e", 1, "-o", b)
    with np.load(b, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta["info"]["init"] = record
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    result = cli("show", str(tmp_path / "bad.npz"))
    assert result.exit_code == 1
    assert "info" in result.stderr and "init" in result.stderr


def test_weights_too_large_to_train_from_are_said_so(cli, tmp_path):
    """A weight of 1e20 overflowed the float32 L2 penalty every epoch: no epoch was kept, and `fit` took
    that for a stop signal ("internal error: KeyError: None")."""
    start = tmp_path / "start.npz"
    assert fit(cli, SAMPLES / "moons.csv", "-o", start, "--epochs", "1").exit_code == 0
    with np.load(start, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["params"][0] = np.float32(1e20)
    np.savez(tmp_path / "huge.npz", **arrays)
    r = cli("fit", SAMPLES / "moons.csv", "--init", tmp_path / "huge.npz", "-e", "1", "-q", "-o", tmp_path / "o.npz")
    assert r.exit_code == 1 and not (tmp_path / "o.npz").exists()
    assert r.stderr.startswith("nncli: error: no epoch ended with a finite loss (with its L2 penalty) to keep")


def test_lr_find_sweeps_from_the_models_weights(cli, tmp_path, monkeypatch):
    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "moons.csv", "-e", 3, "--hidden", "8", "-o", a)
    from nncli.core import training

    swept = []
    real = training.lr_sweep

    def spy(net, X, Y, *args, **kwargs):
        swept.append((net.params.copy(), X.copy()))
        return real(net, X, Y, *args, **kwargs)

    monkeypatch.setattr(training, "lr_sweep", spy)
    start = model_file.load_model(str(a))
    lines = (SAMPLES / "moons.csv").read_text().splitlines()
    shifted = tmp_path / "shifted.csv"  # (x1 moved by 5: standardized by the model's scaling, not its own)
    shifted.write_text("\n".join([lines[0], *(f"{float(r.split(',')[0]) + 5},{r.split(',', 1)[1]}"
                                             for r in lines[1:]), ""]))
    result = cli("lr-find", str(shifted), "--init", str(a), "-q")
    assert result.exit_code == 0 and float(result.stdout) > 0
    params, X = swept[0]
    assert np.array_equal(params, start.network.params)
    assert X[:, 0].mean() == pytest.approx(5 / start.pre.scale[0], rel=1e-3)
    assert abs(X[:, 1].mean()) < 1e-3
    result = cli("lr-find", str(SAMPLES / "moons.csv"), "--init", str(a), "--hidden", "16")
    assert result.exit_code == 2 and "--hidden differs from the model given to --init (it has 8)" in result.stderr


def test_no_output_may_overwrite_the_model_given_to_init(cli, tmp_path):
    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "moons.csv", "-e", 1, "--hidden", "4", "-o", a)
    before = a.read_bytes()
    result = cli("fit", str(SAMPLES / "moons.csv"), "--init", str(a), "--plot", str(a), "-o", str(tmp_path / "b.npz"))
    assert result.exit_code == 2 and "--plot" in result.stderr and "is also an input" in result.stderr and a.read_bytes() == before
    with open(a, "ab") as stdout:  # (`>> a.npz`: the JSON would have been appended to the model)
        r = subprocess.run([sys.executable, "-m", "nncli", "fit", str(SAMPLES / "moons.csv"), "--init", str(a),
                            "--json", "-q", "-o", str(tmp_path / "b.npz")], stdout=stdout, stderr=subprocess.PIPE,
                           env=nncli_env())
    assert r.returncode == 2 and b"read as an input" in r.stderr and a.read_bytes() == before


def test_the_training_command_line_runs_again_with_init_added(cli, tmp_path):
    # A categorical column with blanks has a '<missing>' category fit adds: --max-categories counts the
    # values present, as fit does (the model's 5 categories were taken for more than --max-categories 4)
    args = ["--ignore", "id", "--max-categories", 4, "-e", 1]
    data = tmp_path / "mixed.csv"
    data.write_text(cli("gen-data", "mixed", "-n", 300, "--seed", 3).stdout)
    fit(cli, data, *args, "-o", tmp_path / "a.npz")
    start = model_file.load_model(str(tmp_path / "a.npz"))
    assert max(len(f.categories) for f in start.pre.features) == 5  # (4 colours and '<missing>')
    fit(cli, data, *args, "--init", tmp_path / "a.npz", "-o", tmp_path / "b.npz")
    went_on = model_file.load_model(str(tmp_path / "b.npz"))
    # Its config records the data options the model decided, not this command line's defaults
    assert (went_on.config["target"], went_on.config["task"]) == (["label"], "classification")
    result = cli("fit", str(data), *map(str, args[:2]), "--max-categories", "3", "--init", str(tmp_path / "a.npz"))
    assert result.exit_code == 2 and "(it has 4 categories in a column)" in result.stderr


def test_a_linear_model_given_to_init_takes_no_activation(cli, tmp_path):
    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "linear.csv", "-m", "linear", "-e", 1, "-o", a)
    result = cli("fit", str(SAMPLES / "linear.csv"), "--init", str(a), "--activation", "relu")
    assert result.exit_code == 2 and "--activation differs from the model given to --init (it has no hidden layer)" \
        in result.stderr


def test_init_keeps_the_models_l2_unless_given(cli, tmp_path):
    big, small = tmp_path / "big.csv", tmp_path / "small.csv"
    big.write_text(cli("gen-data", "moons", "-n", 2000, "--seed", 7).stdout)
    small.write_text(cli("gen-data", "moons", "-n", 60, "--seed", 11).stdout)
    fit(cli, big, "-e", 2, "--hidden", "8", "-o", tmp_path / "a.npz")
    fit(cli, small, "-e", 1, "--init", tmp_path / "a.npz", "-o", tmp_path / "b.npz")
    fit(cli, small, "-e", 1, "--init", tmp_path / "a.npz", "--l2", 0.01, "-o", tmp_path / "c.npz")
    a, b, c = (model_file.load_model(str(tmp_path / f"{n}.npz")) for n in "abc")
    assert a.config["l2"] == pytest.approx(1.5 / 2000)  # (the rule, on the first run's rows)
    assert b.config["l2"] == a.config["l2"] and c.config["l2"] == 0.01  # (not 1.5 / 60)
    assert "l2=0.00075 (the starting model's)" in cli("show", str(tmp_path / "b.npz")).stderr


def test_a_single_class_file_goes_on_training_with_a_val_split_too(cli, tmp_path):
    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "moons.csv", "-e", 1, "--hidden", "4", "-o", a)
    lines = (SAMPLES / "moons.csv").read_text().splitlines()
    zero = tmp_path / "zero.csv"
    zero.write_text("\n".join([lines[0], *(r for r in lines[1:] if r.endswith(",0"))]) + "\n")
    for split in ([], ["--val-split", 0.2]):
        result = fit(cli, zero, "--init", a, "-e", 1, *split, "-o", tmp_path / "b.npz")
        assert "has no row of 1 of the model's 2 classes ('1')" in result.stderr


def test_hints_speak_of_the_model_given_to_init(cli, tmp_path):
    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "moons.csv", "-e", 1, "--hidden", "4", "-o", a)
    lines = (SAMPLES / "moons.csv").read_text().splitlines()
    spelt = tmp_path / "spelt.csv"  # (the class 1 written 1.0: not a new class)
    spelt.write_text("\n".join([lines[0], *lines[1:10], lines[10].rsplit(",", 1)[0] + ",1.0"]) + "\n")
    result = cli("fit", str(spelt), "--init", str(a))
    assert result.exit_code == 1 and "written differently" in result.stderr and "a new class" not in result.stderr
    prices = tmp_path / "prices.csv"
    prices.write_text(cli("gen-data", "prices", "-n", 200).stdout)
    fit(cli, prices, "--log-target", "-m", "linear", "-e", 1, "-o", tmp_path / "p.npz")
    rows = prices.read_text().splitlines()
    negative = tmp_path / "negative.csv"
    negative.write_text("\n".join([rows[0], *rows[1:5], rows[5].rsplit(",", 1)[0] + ",-5"]) + "\n")
    result = cli("fit", str(negative), "--init", str(tmp_path / "p.npz"))
    assert result.exit_code == 1
    assert "hint: the model given to --init predicts log(1 + y): it cannot go on training on a target below 0" \
        in result.stderr
    # A --val file's errors too: its hint said to leave out a --log-target the command line never gave
    result = cli("fit", str(prices), "--init", str(tmp_path / "p.npz"), "--val", str(negative))
    assert result.exit_code == 1 and "negative.csv:6:3" in result.stderr and "leave out --log-target" not in result.stderr
    assert "hint: the model given to --init predicts log(1 + y)" in result.stderr


def test_the_epochs_behind_a_model_stop_at_what_a_model_file_may_say(tmp_path):
    from types import SimpleNamespace

    from nncli.continued import epochs_behind

    at_limit = SimpleNamespace(info={"weights_from_epoch": 5, "init": {"epochs_before": model_file.MAX_EPOCHS_BEHIND}})
    assert epochs_behind(at_limit) == model_file.MAX_EPOCHS_BEHIND
    assert epochs_behind(SimpleNamespace(info={"weights_from_epoch": 5, "init": {"epochs_before": 7}})) == 12


def test_a_starting_model_better_on_validation_than_the_weights_kept_is_said_to_be(cli, tmp_path):
    from types import SimpleNamespace

    from nncli import apply
    from nncli.continued import start_was_better

    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "moons.csv", "-e", 3, "--hidden", "4", "-o", a)
    start = model_file.load_model(str(a))
    X, Y, _, _ = apply.load_eval_arrays(start, str(SAMPLES / "moons.csv"))
    before = float(start.network.loss.value(start.network.logits(X), Y))
    data = SimpleNamespace(X_val=X, Y_val=Y)
    worse = SimpleNamespace(info={"final_val_loss": before * 1.01, "weights_from_epoch": 4})
    said = start_was_better(start, data, worse)
    assert said == (f"the model given to --init scores a lower validation loss ({before:.4g}) than the weights kept "
                    f"({before * 1.01:.4g}, epoch 4): this run did not improve on it")
    better = SimpleNamespace(info={"final_val_loss": before * 0.99, "weights_from_epoch": 4})
    assert start_was_better(start, data, better) is None
    assert start_was_better(None, data, worse) is None
    assert start_was_better(start, SimpleNamespace(X_val=None, Y_val=None), worse) is None


def test_lr_find_on_a_converged_model_does_not_ask_for_a_smaller_lr_min(cli, tmp_path, monkeypatch):
    from nncli.core import training

    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "blobs.csv", "-e", 2, "--hidden", "4", "-o", a)
    real = training.lr_sweep

    def never_fell(*args, **kwargs):  # (as on a model at a minimum: the first rate's loss is the lowest)
        import dataclasses

        sweep = real(*args, **kwargs)
        return dataclasses.replace(sweep, best_lr=sweep.lrs[0])

    monkeypatch.setattr(training, "lr_sweep", never_fell)
    result = cli("lr-find", str(SAMPLES / "blobs.csv"), "--init", str(a))
    assert "no rate lowered the loss of the model given to --init" in result.stderr
    assert "smaller --lr-min" not in result.stderr
    result = cli("lr-find", str(SAMPLES / "blobs.csv"), "--hidden", "4")
    assert "try a smaller --lr-min" in result.stderr


def test_the_default_output_may_not_replace_the_model_given_to_init(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fit(cli, SAMPLES / "moons.csv", "-e", 1, "--hidden", "4")  # (model.npz, the default -o)
    before = (tmp_path / "model.npz").read_bytes()
    result = cli("fit", str(SAMPLES / "moons.csv"), "--init", "model.npz", "-e", "1")
    assert result.exit_code == 2 and "-o defaults to 'model.npz', the model given to --init" in result.stderr
    assert (tmp_path / "model.npz").read_bytes() == before
    fit(cli, SAMPLES / "moons.csv", "--init", "model.npz", "-e", 1, "-o", "model.npz")  # (named: deliberately)
    assert model_file.load_model("model.npz").info["init"]["epochs_before"] == 1


def test_lr_find_on_a_model_at_a_minimum_says_so(cli, tmp_path):
    a = tmp_path / "a.npz"  # (its lowest loss fell a few rates in, by the batches' noise: no word was said)
    fit(cli, SAMPLES / "moons.csv", "--hidden", 16, "-e", 400, "--patience", 0, "-o", a)
    result = cli("lr-find", str(SAMPLES / "moons.csv"), "--init", str(a), "--json")
    out = json.loads(result.stdout)
    assert out["warning"] in ("never_fell", "at_lr_min") and out["suggestion"] == 1e-7
    assert "no rate lowered the loss of the model given to --init: it may be at a minimum" in result.stderr


def test_fit_says_when_the_starting_model_scored_better_on_validation(cli, tmp_path):
    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "moons.csv", "--hidden", 16, "-e", 400, "--patience", 0, "-o", a)
    result = fit(cli, SAMPLES / "moons.csv", "--init", a, "--lr", 0.5, "--val-split", 0.2, "-e", 3, "--patience", 0,
                 "-o", a)  # (a rate far too high for a model at a minimum)
    said = " ".join(result.stderr.split())
    assert "the model given to --init scores a lower validation loss" in said
    assert f"this run did not improve on it (and -o has replaced {a})" in said or "(and -o has replaced" in said


def test_balanced_class_weights_with_init_weigh_the_classes_the_data_has(cli, tmp_path):
    from nncli.continued import load_init_data

    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "blobs.csv", "-e", 1, "--hidden", "4", "-o", a)
    lines = (SAMPLES / "blobs.csv").read_text().splitlines()
    two = tmp_path / "two.csv"
    rows = [r for r in lines[1:] if r.endswith(",0")][:30] + [r for r in lines[1:] if r.endswith(",1")][:10]
    two.write_text("\n".join([lines[0], *rows]) + "\n")
    data = load_init_data(model_file.load_model(str(a)), str(two), class_weight="balanced")
    # n / (classes present x the class's rows), as scikit-learn's over the classes in y: 40/(2*30), 40/(2*10)
    assert sorted(set(data.sample_weight.tolist())) == pytest.approx([40 / 60, 2.0])


def test_init_reads_the_files_other_columns_as_a_fresh_fit_does(cli, tmp_path):
    # --ignore naming a column the file lacks was accepted, and the file's other columns went unlisted
    a = tmp_path / "a.npz"
    data = tmp_path / "d.csv"
    data.write_text("id,x1,x2,label\n" + "".join(f"r{i},{i % 7 / 7},{i % 5 / 5},{i % 2}\n" for i in range(60)))
    fit(cli, data, "--ignore", "id", "-e", 1, "--hidden", "4", "-o", a)
    result = cli("fit", str(data), "--init", str(a), "--ignore", "nosuch", "-o", str(tmp_path / "b.npz"))
    assert result.exit_code == 1
    assert f"{data}:1: no column named 'nosuch'" in result.stderr and "the header has: 'id', 'x1'" in result.stderr
    result = fit(cli, data, "--init", a, "--ignore", "id", "-e", 1, "-o", tmp_path / "b.npz")
    table = [line.split()[:2] for line in result.stderr.splitlines()[:6]]
    assert table[:5] == [["column", "kind"], ["id", "ignored"], ["x1", "numeric"], ["x2", "numeric"],
                         ["label", "target"]]


def test_options_given_as_the_model_was_trained_are_accepted_and_layers_in_another_order_are_not(cli, tmp_path):
    """--categorical names the columns it was given, not those the model made categorical itself (a column of
    text), and --task auto is any model's task: compared as a whole, either would refuse the command line
    that trained the model, run again with --init added. --hidden gives the layers in order."""
    data = write_csv(tmp_path / "d.csv", ["zone", "color", "x", "label"],
                     [(i % 4, ("red", "blue", "green")[i % 3], i % 7 / 7, (i % 4 + i % 3) % 2) for i in range(120)])
    args = ["--categorical", "zone", "--task", "auto", "--hidden", "8,4", "-e", 1]
    fit(cli, data, *args, "-o", tmp_path / "a.npz")
    start = model_file.load_model(str(tmp_path / "a.npz"))
    assert {f.name for f in start.pre.features if f.kind == "categorical"} == {"zone", "color"}
    fit(cli, data, *args, "--init", tmp_path / "a.npz", "-o", tmp_path / "b.npz")
    result = cli("fit", str(data), "--hidden", "4,8", "--init", str(tmp_path / "a.npz"), "-o", str(tmp_path / "c.npz"))
    assert result.exit_code == 2 and "--hidden differs from the model given to --init (it has 8,4)" in result.stderr


def test_a_run_with_init_keeps_the_models_activation_and_takes_its_own_dropout(cli, tmp_path):
    """The config of a model that went on must record its network's activation (tanh), not the command
    line's default (relu); and dropout given with --init must drop units, as it does in a fresh run."""
    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "blobs.csv", "-e", 2, "--hidden", "8", "-a", "tanh", "-o", a)
    runs = {}
    for name, dropout in (("plain", []), ("dropped", ["--dropout", 0.5])):
        fit(cli, SAMPLES / "blobs.csv", "--init", a, "-e", 2, "--seed", 4, *dropout, "-o", tmp_path / f"{name}.npz")
        runs[name] = model_file.load_model(str(tmp_path / f"{name}.npz"))
    assert runs["plain"].config["activation"] == runs["plain"].network.activation == "tanh"
    assert runs["dropped"].config["dropout"] == 0.5
    # The same weights, rows and seed: only the dropped units make the epochs' losses differ
    assert list(runs["plain"].history["loss"]) != list(runs["dropped"].history["loss"])


def test_init_reads_the_delimiter_a_validation_file_and_missing_error_as_this_run_gives_them(cli, tmp_path):
    """--init reads with the model's encoders, but --delimiter, --val and --missing are this run's own; lost
    on the way, none was missed by a test (a file of ':' read as one column; a validation file not read,
    or read without the delimiter, or its imputed cells not said; --missing error imputing)."""
    def rows(n, seed):
        rng = np.random.default_rng(seed)
        return [(f"{a:.3f}", f"{b:.3f}", int(a > b)) for a, b in rng.random((n, 2))]

    train = tmp_path / "t.csv"
    train.write_text("x1:x2:label\n" + "".join(":".join(map(str, r)) + "\n" for r in rows(60, 1)))
    val_rows = rows(20, 2)
    val_rows[4] = ("", *val_rows[4][1:])  # (line 6)
    val = tmp_path / "v.csv"
    val.write_text("x1:x2:label\n" + "".join(":".join(map(str, r)) + "\n" for r in val_rows))
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    fit(cli, train, "--delimiter", ":", "-e", 1, "-o", a)
    result = fit(cli, train, "--init", a, "--delimiter", ":", "--val", val, "-e", 2, "-o", b)
    assert "imputed missing cells in the validation file: 'x1' (1)" in result.stderr
    went_on = model_file.load_model(str(b))
    assert (went_on.info["rows"], went_on.info["val_rows"], went_on.info["val_source"]) == (60, 20, str(val))
    assert all(np.isfinite(went_on.history["val_loss"]))
    result = cli("fit", str(val), "--init", str(a), "--delimiter", ":", "--missing", "error",
                 "-o", str(tmp_path / "c.npz"))
    assert result.exit_code == 1 and f"{val}:6:1 (column 'x1'): missing value" in result.stderr
    assert not (tmp_path / "c.npz").exists()


def test_a_val_split_with_init_holds_out_the_smaller_share_and_weighs_the_rows_that_train(cli, tmp_path):
    """The held-out share must validate and the rest train, not the other way round, and the balanced class
    weights must be the training rows', in their order, not those of every row of the file."""
    from nncli.continued import load_init_data

    a = tmp_path / "a.npz"
    fit(cli, SAMPLES / "blobs.csv", "-e", 1, "--hidden", "4", "-o", a)
    lines = (SAMPLES / "blobs.csv").read_text().splitlines()
    two = tmp_path / "two.csv"
    two.write_text("\n".join([lines[0], *[r for r in lines[1:] if r.endswith(",0")][:45],
                              *[r for r in lines[1:] if r.endswith(",1")][:15]]) + "\n")
    data = load_init_data(model_file.load_model(str(a)), str(two), val_split=0.25, class_weight="balanced",
                          rng=np.random.default_rng(0))
    assert len(data.X) + len(data.X_val) == 60 and len(data.X_val) < len(data.X)
    codes = np.argmax(data.Y, axis=1)
    counts = np.bincount(codes, minlength=3)
    assert np.allclose(data.sample_weight, len(codes) / (2 * counts[codes]))  # (two classes present)


def test_a_model_that_went_on_keeps_the_models_missing_cell_texts_and_counts_the_files_missing_cells(cli, tmp_path):
    """The model saved after --init must keep the model's --na-values (else predict refuses the very cells
    it trained on), its table must count the file's missing cells, and it must record the file it trained
    on (else `eval` of that file, since rewritten, takes it for the training file still)."""
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    rows = [(i % 7 / 7, i % 5 / 5, i % 2) for i in range(60)]
    fit(cli, write_csv(tmp_path / "d.csv", ["x1", "x2", "label"], rows), "--na-values", "gone", "-e", 1, "-o", a)
    more = write_csv(tmp_path / "more.csv", ["x1", "x2", "label"], [("gone" if i < 3 else x1, x2, k)
                                                                    for i, (x1, x2, k) in enumerate(rows)])
    result = fit(cli, more, "--init", a, "-e", 1, "-o", b)
    assert next(line.split() for line in result.stderr.splitlines() if line.startswith("x1 ")) == ["x1", "numeric", "3"]
    went_on = model_file.load_model(str(b))
    assert went_on.na_values == model_file.load_model(str(a)).na_values
    assert cli("predict", str(b), str(more)).exit_code == 0
    assert "this is the file the model was trained on" in cli("eval", str(b), str(more)).stderr
    write_csv(more, ["x1", "x2", "label"], rows[:40])  # (the same path, other rows)
    assert "this is the file the model was trained on" not in cli("eval", str(b), str(more)).stderr
