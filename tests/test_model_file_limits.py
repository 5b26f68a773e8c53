"""Crafted model files that once got past the loader: memory bombs, hostile JSON, metadata
that contradicts itself. Each is refused in one line, before anything big is allocated."""

from __future__ import annotations

import io
import json
import re
import tracemalloc
import zipfile

import numpy as np
import pytest

from conftest import SAMPLES
from nncli import model_file
from nncli.core.limits import MAX_EPOCHS, MAX_HIDDEN_LAYERS, MAX_HIDDEN_WIDTH, MAX_MODEL_HIDDEN_LAYERS
from nncli.core.model import HISTORY_KEYS
from nncli.core.training import TrainConfig
from nncli.errors import ModelFileError
from nncli.workflow import DataOptions, ModelOptions, Training, load_training_data


@pytest.fixture(scope="module")
def arrays():
    """A real model's members: blobs (x1, x2 -> label in 0, 1, 2), hidden layer 8, 5 epochs."""
    data = load_training_data(str(SAMPLES / "blobs.csv"), DataOptions(), "auto", val_split=0.2,
                              rng=np.random.default_rng(0))
    run = Training(data, ModelOptions(hidden=(8,)), TrainConfig(epochs=5), seed=0, dtype="float32")
    list(run)
    return model_file.model_arrays(run.model())


def members(arrays, meta=None, meta_text: bytes | None = None, **changes):
    """A copy of the members with `changes`; `meta(m)` edits the metadata dict, `meta_text` replaces it."""
    out = {**arrays, **changes}
    if meta is not None:
        m = json.loads(arrays["meta"].tobytes())
        meta(m)
        meta_text = json.dumps(m).encode()
    if meta_text is not None:
        out["meta"] = np.frombuffer(meta_text, np.uint8)
    return out


def save(path, arrays, compressed=False):
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


def refused(path, message: str) -> int:
    """Loading `path` raises a ModelFileError saying `message`; returns the peak bytes allocated."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=re.escape(message)):
            model_file.load_model(str(path))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def history(arrays, values: np.ndarray, epochs: int | None = None):
    """Every history member set to `values`; `epochs`: what info says was run (default: unchanged)."""
    def meta(m):
        if epochs is not None:
            m["info"]["epochs_run"] = m["config"]["epochs"] = epochs
    return members(arrays, meta, **{f"history_{k}": values for k in HISTORY_KEYS})


# -- memory ------------------------------------------------------------------------------
def test_an_archive_inflating_far_beyond_its_size_is_refused_before_reading(arrays, tmp_path):
    # The audit's bomb, smaller: each history member deflates ~430-fold (under the 1000-fold a
    # single member was allowed), 24 MB from a file of ~60 kB; the history agrees with the metadata.
    n = 500_000
    values = np.zeros(n)
    values[::1000] = np.random.default_rng(0).random(n // 1000)
    path = save(tmp_path / "bomb.npz", history(arrays, values, epochs=n), compressed=True)
    assert path.stat().st_size < 100_000
    assert refused(path, "declares an absurd size") < 2_000_000  # one history member is 4 MB


def test_a_small_archive_may_inflate_far_more_than_50_fold(arrays, tmp_path):
    # The inflation limit counts from 1 MB of members up: below that there is nothing to bomb with, and a
    # history of constant values and NaN (no validation data) deflates several hundred-fold.
    n = 20_000
    m = members(history(arrays, np.full(n, np.nan), epochs=n), **{"history_loss": np.full(n, 0.5)})
    path = save(tmp_path / "m.npz", m, compressed=True)
    inflated = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    assert inflated < 1 << 20 and inflated > model_file.MAX_COMPRESSION_RATIO * path.stat().st_size
    assert model_file.load_model(str(path)).info["epochs_run"] == n


def test_a_history_longer_than_the_epochs_run_is_refused_before_reading(arrays, tmp_path):
    # Incompressible enough to pass the inflation limit: only the metadata says it is too long.
    n = 500_000
    values = np.zeros(n)
    values[::16] = np.random.default_rng(0).random(n // 16)
    path = save(tmp_path / "long.npz", history(arrays, values), compressed=True)
    assert refused(path, "history_loss holds 500,000 epochs but info says 5 were run") < 2_000_000


def test_epochs_run_beyond_the_cli_maximum_is_refused(arrays, tmp_path):
    path = save(tmp_path / "m.npz", members(arrays, lambda m: m["info"].update(epochs_run=25_000_000)))
    refused(path, "info says 25,000,000 epochs were run")
    # (fit --epochs takes up to MAX_EPOCHS: a file saying that many gets past this check, to its histories')
    path = save(tmp_path / "m.npz", members(arrays, lambda m: m["info"].update(epochs_run=MAX_EPOCHS)))
    refused(path, f"history_loss holds 5 epochs but info says {MAX_EPOCHS:,} were run")


def test_a_long_real_history_still_loads_from_a_compressed_file(arrays, tmp_path):
    """The inflation limit leaves room for the most compressible history training can write:
    loss and metric constant, no validation (NaN), constant lr; only the timings vary, as
    perf_counter differences late in a long uptime (few significant bits)."""
    n = 200_000
    rng = np.random.default_rng(0)
    start = 3e8 + np.cumsum(rng.random(n))
    m = members(arrays, **{"history_loss": np.full(n, 0.125), "history_metric": np.full(n, 0.75),
                           "history_val_loss": np.full(n, np.nan), "history_val_metric": np.full(n, np.nan),
                           "history_lr": np.full(n, 1e-3),
                           "history_seconds": (start + 3e-5 * (1 + 0.05 * rng.standard_normal(n))) - start})
    m = members(m, lambda meta: meta["info"].update(epochs_run=n))
    path = save(tmp_path / "long.npz", m, compressed=True)
    inflated = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    assert 20 < inflated / path.stat().st_size < model_file.MAX_COMPRESSION_RATIO
    loaded = model_file.load_model(str(path))
    assert loaded.info["epochs_run"] == n and len(loaded.history["seconds"]) == n


@pytest.mark.parametrize("before", [b"HTTP/1.1 200 OK\r\n\r\n", "npy"])
def test_bytes_before_the_archive_are_refused(arrays, tmp_path, before):
    # Python's zipfile finds the archive after them, NumPy's loader reads the first bytes: a .npy file in
    # front gave an array ("internal error"), a download's headers a message about pickled data
    if before == "npy":
        b = io.BytesIO()
        np.save(b, np.zeros(3))
        before = b.getvalue()
    path = save(tmp_path / "m.npz", members(arrays))
    path.write_bytes(before + path.read_bytes())
    refused(path, "other bytes come before the zip archive")


def test_a_member_stored_twice_is_refused(arrays, tmp_path):
    path = save(tmp_path / "m.npz", arrays)
    with zipfile.ZipFile(path, "a") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.zeros_like(arrays["params"]))
        zf.writestr("params.npy", buf.getvalue())
    refused(path, "a member appears twice in the archive")


# -- hostile JSON ------------------------------------------------------------------------
def test_metadata_nested_beyond_the_recursion_limit_is_not_valid_json(arrays, tmp_path):
    text = b'{"format":"nncli-model","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    refused(save(tmp_path / "m.npz", members(arrays, meta_text=text)), "metadata is not valid JSON")


def test_metadata_nested_deeper_than_any_model_is_refused(arrays, tmp_path):
    deep: list = []
    for _ in range(200):  # parses, but printing or writing it back could overflow the stack
        deep = [deep]
    path = save(tmp_path / "m.npz", members(arrays, lambda m: m["config"].update(extra=deep)))
    refused(path, "metadata is not valid JSON (nested more than 16 deep)")


@pytest.mark.parametrize("section, key, number", [("config", "lr", "NaN"), ("info", "seconds", "Infinity"),
                                                  ("info", "final_loss", "-Infinity"), ("info", "seconds", "1e999")])
def test_non_finite_numbers_in_the_metadata_are_refused(arrays, tmp_path, section, key, number):
    m = json.loads(arrays["meta"].tobytes())
    m[section][key] = "@@"
    text = json.dumps(m).replace('"@@"', number).encode()
    refused(save(tmp_path / "m.npz", members(arrays, meta_text=text)),
            f"metadata is not valid JSON (it holds the non-finite number {number})")


@pytest.mark.parametrize("where", ["top", "config"])
def test_a_name_given_twice_in_one_metadata_object_is_refused(arrays, tmp_path, where):
    # (Python's reader keeps the last value, others the first: the file would mean two things.)
    m = json.loads(arrays["meta"].tobytes())
    inside = m if where == "top" else m["config"]
    name = "sizes" if where == "top" else "lr"
    inside["@@"] = 0
    text = json.dumps(m).replace('"@@": 0', f'"{name}": {json.dumps(inside[name])}').encode()
    assert json.loads(text) == json.loads(arrays["meta"].tobytes())  # (read the last value's way, the same model)
    refused(save(tmp_path / "m.npz", members(arrays, meta_text=text)),
            f"metadata is not valid JSON (the name '{name}' appears twice in one object)")


# -- metadata consistency ----------------------------------------------------------------
def feature(i: int, **changes):
    return lambda m: m["features"][i].update(changes)


INCONSISTENT = {
    "feature named twice": (feature(1, name="x1"), "feature 'x1' appears twice"),
    "class label twice": (lambda m: m.update(classes=["0", "0", "2"]), "class label '0' appears twice"),
    "class labels not strings": (lambda m: m.update(classes=[0, 1, 2]), "classes should be a list of strings"),
    "target column twice": (lambda m: m.update(targets=["label", "label"]), "target column 'label' appears twice"),
    "classifier with two targets": (lambda m: m.update(targets=["label", "y"]),
                                    "a classifier with more than one target column"),
    "regression with classes": (lambda m: m.update(task="regression", loss="mse", targets=["y1", "y2", "y3"]),
                                "a regression model with class labels"),
    "feature is the target": (feature(0, name="label"), "column 'label' is both a feature and a target"),
    "category twice": (lambda m: m.update(features=[{**m["features"][0], "kind": "categorical", "categories": ["a", "a"]}]),
                       "a categorical feature lists a category twice"),
    "numeric feature with categories": (feature(0, categories=["a"]), "a numeric feature with categories"),
    "feature name not a string": (feature(0, name=1), "name should be a string"),
    "fill given as text": (feature(0, fill="0.5"), "fill should be a number"),
    "fractional layer size": (lambda m: m.update(sizes=[2.0, 8, 3]), "sizes should be a list of whole numbers"),
    # (JSON's true is no number, though Python's bool is an int: 'missing': true read as 1)
    "layer size true": (lambda m: m.update(sizes=[True, 8, 3]), "sizes should be a list of whole numbers"),
    "missing count true": (feature(0, missing=True), "missing should be a whole number"),
    "activation not a string": (lambda m: m.update(activation=["relu"]), "activation should be a string"),
    "unknown kind": (lambda m: m.update(kind="cnn"), "unknown model kind 'cnn'"),
    "unknown task": (lambda m: m.update(task="ranking"), "unknown task 'ranking'"),
    # (each was refused later, if at all, in other words: a dtype NumPy does not know was an internal error)
    "unknown activation": (lambda m: m.update(activation="swish"), "unknown activation 'swish'"),
    "unknown loss": (lambda m: m.update(loss="hinge"), "unknown loss 'hinge'"),
    "unknown dtype": (lambda m: m.update(dtype="bfloat8"), "unsupported dtype 'bfloat8'"),
    "unknown feature kind": (feature(0, kind="text"), "unknown feature kind"),
    "categorical without categories": (feature(0, kind="categorical", categories=[]),
                                       "a categorical feature without categories"),
    "no target": (lambda m: m.update(targets=[]), "no target column"),
    # 100,000 layers of width 1 in 80 KB: predict took 17.7 s and 1.85 GB for 20,000 rows (fit makes at
    # most 100, but nncli 1.0.0 made any number: a file may declare 1,000)
    "too many hidden layers": (lambda m: m.update(sizes=[2] + [1] * 1001 + [3]), "1,001 hidden layers (at most 1,000)"),
    # fit makes no layer wider than 100,000 units; predict's buffers are rows
    # x the widest layer (layers of 2^20 units between layers of one: 3.3 GB from a 42 MB file)
    "too wide a hidden layer": (lambda m: m.update(sizes=[2, 100_001, 3]), "a hidden layer of 100,001 units (at most 100,000)"),
    # (more than fit's 1,000: before 2026-11-30 it took any number, and such files load)
    "too many classes": (lambda m: m.update(classes=[str(k) for k in range(65_537)]), "65,537 classes (at most 65,536)"),
    # (`show` formats them as numbers: it said "internal error")
    "l2 not a number": (lambda m: m["config"].update(l2="abc"), "config field 'l2' is missing or of the wrong type"),
    "l2 rule not a number": (lambda m: m["config"].update(l2_default=[1]),
                             "config field 'l2_default' is missing or of the wrong type"),
    "linear with a hidden layer": (lambda m: m.update(kind="linear"), "a linear model with hidden layers"),
    "weights from an epoch not run": (lambda m: m["info"].update(weights_from_epoch=6),
                                      "best_epoch or weights_from_epoch is not among the epochs run"),
    "negative epochs": (lambda m: m["info"].update(epochs_run=-1), "info says -1 epochs were run"),
}


@pytest.mark.parametrize("n", [1001, model_file.MAX_MODEL_CLASSES])
def test_a_model_of_more_classes_than_fit_now_trains_still_loads(arrays, tmp_path, n):
    # fit took any number of classes before 2026-11-30, and such files loaded: they still do (up to the limit)
    classes = [f"c{k}" for k in range(n)]
    net = model_file.load_model(str(save(tmp_path / "m.npz", members(arrays)))).network
    sizes = [*net.sizes[:-1], n]
    params = np.zeros(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])), np.float32)
    m = members(arrays, lambda m: m.update(classes=classes, sizes=sizes), params=params)
    assert model_file.load_model(str(save(tmp_path / "m.npz", m))).target.classes == classes


@pytest.mark.parametrize("hidden", [[1] * MAX_HIDDEN_LAYERS, [MAX_HIDDEN_WIDTH], [1] * MAX_MODEL_HIDDEN_LAYERS])
def test_a_model_at_the_size_limits_fit_trains_to_still_loads(arrays, tmp_path, hidden):
    # `fit --hidden` takes up to MAX_HIDDEN_LAYERS layers of up to MAX_HIDDEN_WIDTH units: the loader
    # must read back every model fit can write (only one layer more, or one unit wider, is refused)
    sizes = [2, *hidden, 3]
    params = np.zeros(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])), np.float32)
    def resized(meta):
        meta.update(sizes=sizes)
        meta["info"].pop("gradient_rms")  # (the trained model's, of its own two layers)
        meta["info"].pop("weight_rms")
    net = model_file.load_model(str(save(tmp_path / "m.npz", members(arrays, resized, params=params)))).network
    assert net.sizes == sizes


def test_weights_from_before_the_first_epoch_load(arrays, tmp_path):
    # (epoch 0 is the weights training started from: the range of epochs a file may name starts there)
    m = members(arrays, lambda m: m["info"].update(best_epoch=0, weights_from_epoch=0))
    assert model_file.load_model(str(save(tmp_path / "m.npz", m))).info["best_epoch"] == 0


@pytest.mark.parametrize("case", sorted(INCONSISTENT))
def test_inconsistent_metadata_is_refused(arrays, tmp_path, case):
    change, message = INCONSISTENT[case]
    stats = {"y_mean": np.zeros(3), "y_scale": np.ones(3)} if case == "regression with classes" else {}
    refused(save(tmp_path / "m.npz", members(arrays, change, **stats)), message)


def test_a_scale_training_could_not_have_made_is_refused(arrays, tmp_path):
    # 1e-30 turns every input into ~1e30: the network saturates and predicts one class for all
    path = save(tmp_path / "m.npz", members(arrays, x_scale=np.full(2, 1e-30)))
    refused(path, "a standardization scale is too small to come from training")
    # around 0, a spread under float32's smallest normal number (training calls it none)
    path = save(tmp_path / "m.npz", members(arrays, x_mean=np.zeros(2), x_scale=np.full(2, 1e-39)))
    refused(path, "a standardization scale is too small to come from training")


# -- through the CLI ---------------------------------------------------------------------
SHOWN = {  # case: (show's options, what the one line says)
    "deep": ((), "metadata is not valid JSON"),
    "nan": (("--json",), "metadata is not valid JSON (it holds the non-finite number NaN)"),
    "dup-classes": ((), "class label 'a' appears twice"),
}


@pytest.mark.parametrize("case", sorted(SHOWN))
def test_show_reports_a_crafted_model_in_one_line(arrays, tmp_path, monkeypatch, cli, case):
    if case == "deep":
        m = members(arrays, meta_text=b'{"format":"nncli-model","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    elif case == "nan":
        text = arrays["meta"].tobytes()
        assert b'"lr": 0.001' in text
        m = members(arrays, meta_text=text.replace(b'"lr": 0.001', b'"lr": NaN'))
    else:
        m = members(arrays, lambda meta: meta.update(classes=["a", "a", "b"]))
    monkeypatch.chdir(tmp_path)
    save("m.npz", m)
    options, message = SHOWN[case]
    r = cli("show", "m.npz", *options)
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr == f"nncli: error: 'm.npz' is not a valid nncli model: {message}\n"


@pytest.mark.parametrize("columns, ok", [(150, True), (600, False)])
def test_fit_refuses_data_whose_model_would_be_too_big_to_load(tmp_path, cli, monkeypatch, columns, ok):
    """220,000 columns made an 18.6 MB schema: fit trained and saved a model that predict then
    refused. The size is checked before training (here against a limit of 1 MB + 40 KB)."""
    monkeypatch.setattr(model_file, "MAX_META_BYTES", (1 << 20) + (40 << 10))
    names = [f"a_rather_long_column_name_number_{j:05d}" for j in range(columns)]
    rows = [",".join(names + ["y"])] + [",".join(str((i + j) % 5) for j in range(columns)) + f",{i % 2}"
                                        for i in range(20)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    r = cli("fit", tmp_path / "d.csv", "-o", tmp_path / "m.npz", "--model", "linear", "--epochs", "1", "-q")
    if ok:
        assert r.exit_code == 0, r.stderr
        assert model_file.load_model(str(tmp_path / "m.npz")).pre.names == names
    else:  # (told from the header, before the rows are read: a 1,000,000-column file was read first for 41 s)
        assert r.exit_code == 1 and not (tmp_path / "m.npz").exists()
        assert "d.csv:1: the columns' names and categories would take at least 0.1 MB in the model file, more than " \
               "nncli reads back (0.0 MB)" in r.stderr


def test_fit_refuses_categories_whose_model_would_be_too_big_to_load(tmp_path, cli, monkeypatch):
    """Few columns pass the header's check; their categories are counted once the rows are read."""
    monkeypatch.setattr(model_file, "MAX_META_BYTES", (1 << 20) + (40 << 10))
    rows = ["a,b,c,y"] + [",".join(f"{k}{i % 30:02d}" + "x" * 500 for k in "abc") + f",{i % 2}" for i in range(60)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    r = cli("fit", tmp_path / "d.csv", "-o", tmp_path / "m.npz", "--model", "linear", "--epochs", "1", "-q")
    assert r.exit_code == 1 and not (tmp_path / "m.npz").exists()
    assert "the columns' names and categories would take 0.0 MB in the model file, more than nncli reads " \
           "back (0.0 MB)" in r.stderr, r.stderr
