"""The model file: round trips exactly, holds no pickles, and refuses anything else clearly."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile

import numpy as np
import pytest

from conftest import SAMPLES, run_nncli
from nncli import __version__, model_file
from nncli.errors import ModelFileError
from nncli.workflow import PATH_MAX_INPUTS, DataOptions, ModelOptions, Training, load_training_data
from nncli.core.training import TrainConfig


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data = load_training_data(str(SAMPLES / "blobs.csv"), DataOptions(), "auto", val_split=0.2,
                              rng=np.random.default_rng(0))
    run = Training(data, ModelOptions(hidden=(8,)), TrainConfig(epochs=5), seed=0, dtype="float32")
    list(run)
    model = run.model()
    path = tmp_path_factory.mktemp("m") / "m.npz"
    model_file.save_model(model, str(path))
    return model, data, path


def test_save_load_gives_identical_predictions(trained):
    model, data, path = trained
    loaded = model_file.load_model(str(path))
    assert np.array_equal(loaded.network.params, model.network.params)
    assert np.array_equal(loaded.predict_proba(data.X), model.predict_proba(data.X))
    assert loaded.target.classes == model.target.classes == ["0", "1", "2"]
    assert loaded.pre.encoded_names() == model.pre.encoded_names()
    assert loaded.history["loss"].tolist() == model.history["loss"].tolist()
    assert loaded.info["data_sha256"] == data.sha256


def test_file_holds_only_plain_arrays(trained):
    _, _, path = trained
    with zipfile.ZipFile(path) as zf:
        names = sorted(n[:-4] for n in zf.namelist())
    assert names == sorted(model_file.MEMBERS)
    with np.load(path, allow_pickle=False) as npz:  # would raise on any object array
        for k in npz.files:
            assert npz[k].dtype.kind in "fu" and not npz[k].dtype.hasobject
        meta = json.loads(npz["meta"].tobytes())
    assert meta["format"] == "nncli-model" and meta["format_version"] == 1


def rewrite(path, out, change):
    """Copy a model file, letting `change(arrays)` edit the arrays dict."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    np.savez(out, **arrays)
    return out


def change_meta(edit):
    """A `rewrite` change that lets `edit(meta)` edit the metadata dict."""
    def change(arrays):
        meta = json.loads(arrays["meta"].tobytes())
        edit(meta)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    return change


def edit_meta(**fields):
    return change_meta(lambda meta: meta.update(fields))


def drop_meta(key):
    return change_meta(lambda meta: meta.pop(key))


def edit_feature(i, **fields):
    """Set fields of the metadata's i-th feature (None: remove the field)."""
    def edit(meta):
        for k, v in fields.items():
            meta["features"][i].pop(k) if v is None else meta["features"][i].update({k: v})
    return change_meta(edit)


def rewrite_member(path, out, name, change):
    """Copy a model file's zip archive as it is, but for member `name`'s bytes, which `change` rewrites."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, change(data) if info.filename == name else data)
    return out


CORRUPTIONS = {
    "wrong version": (edit_meta(format_version=99), "format version '99'"),
    # ("1" is not 1: the quotes show it is text)
    "version as text": (edit_meta(format_version="1"), "format version '\"1\"'; this nncli reads versions 1 to 2"),
    "not an nncli model": (edit_meta(format="other"), "format name"),
    "missing key": (lambda a: a.pop("x_mean"), "missing x_mean"),
    "extra key": (lambda a: a.update(evil=np.zeros(3)), "unexpected member"),
    "shape contradicts metadata": (lambda a: a.update(params=a["params"][:-1]), "the layers need"),
    "non-finite weights": (lambda a: a["params"].__setitem__(0, np.nan), "non-finite"),
    "object array": (lambda a: a.update(params=np.array([{"x": 1}], dtype=object)), "only plain numbers"),
    "inconsistent sizes": (edit_meta(sizes=[3, 8, 3]), "inputs but the features encode"),
    # (each of these would load a model whose predictions are silently wrong)
    "outputs do not fit the classes": (edit_meta(sizes=[2, 8, 4]), r"4 outputs do not fit the target \(3 expected\)"),
    "one class": (edit_meta(classes=["0"]), "a classifier needs at least two classes"),
    "loss does not fit the target": (edit_meta(loss="mse"), "loss mse does not fit the target"),
    "a classifier with target means": (lambda a: a.update(y_mean=np.zeros(1), y_scale=np.ones(1)),
                                       "y_mean/y_scale shape"),
    # (every nncli writes these in float64: a regression's y_scale in uint8 predicted garbage, exit 0)
    "narrow scales": (lambda a: a.update(x_scale=a["x_scale"].astype(np.float32)), "x_scale is float32, not float64"),
    "narrow history": (lambda a: a.update(history_loss=a["history_loss"].astype(np.float16)),
                       "history_loss is float16, not float64"),
    "metadata field missing": (drop_meta("features"), "metadata field 'features' is missing$"),
    "a feature's field missing": (edit_feature(0, kind=None), r"metadata field 'features\[0\]\.kind' is missing$"),
    # (float() of it raised OverflowError: "internal error")
    "a fill past float64": (edit_feature(1, fill=10 ** 400), "it holds a number past float64's range"),
    # (predict's CSV writer could not encode it: "internal error: UnicodeEncodeError")
    "a lone surrogate": (edit_meta(na_values=["", "a\ud800"]), "it holds a lone UTF-16 surrogate"),
    # (fit --init trained with it: negative weight decay)
    "a negative l2": (change_meta(lambda meta: meta["config"].update(l2=-1e6)), "config's l2 is not between 0 and 1e6"),
}



LAYER_SIZES = ("gradient_rms", "weight_rms")  # info's per-layer sizes on some epochs


def edit_sizes(**fields):
    def change(field):
        def edit(arrays):
            meta = json.loads(arrays["meta"].tobytes())
            meta["info"][field].update(fields)
            arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        return edit
    return change


@pytest.mark.parametrize("field", LAYER_SIZES)
@pytest.mark.parametrize("change", [
    edit_sizes(rms=[[0.1]] * 5),  # one number where the model has two layers
    edit_sizes(epochs=[1, 2, 3, 4, 6]),  # an epoch beyond the five run
    edit_sizes(epochs=[1, 3, 2, 4, 5]),  # not increasing
    edit_sizes(epochs=[1, 2, 3, 4]),  # fewer epochs than rows of sizes
    edit_sizes(rms=[[0.1, -0.2]] * 5),  # a negative size
    edit_sizes(rms=[[0.1, "0.2"]] * 5),
    edit_sizes(rms=[[0.1, True]] * 5),
])
def test_layer_sizes_that_do_not_fit_the_model_are_refused(trained, tmp_path, change, field):
    _, _, path = trained
    refused = f"info's {field} is not one size a layer for increasing epochs among those run"
    with pytest.raises(ModelFileError, match=re.escape(refused)):
        model_file.load_model(str(rewrite(path, tmp_path / "bad.npz", change(field))))


@pytest.mark.parametrize("field", LAYER_SIZES)
def test_layer_sizes_are_saved_and_loaded_and_optional(trained, tmp_path, field):
    model, _, path = trained
    saved = model_file.load_model(str(path)).info[field]
    assert saved == model.info[field] and saved["epochs"] == [1, 2, 3, 4, 5]  # (each of the first ten)
    assert all(len(row) == 2 and min(row) > 0 for row in saved["rms"])  # (blobs' 2-8-3 network: two layers)

    def older(arrays):  # a model saved before they were measured
        meta = json.loads(arrays["meta"].tobytes())
        del meta["info"][field]
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    assert field not in model_file.load_model(str(rewrite(path, tmp_path / "old.npz", older))).info


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    """A linear model of two inputs and one output, which records its parameters' path."""
    data = load_training_data(str(SAMPLES / "moons.csv"), DataOptions(), "auto", val_split=0.0,
                              rng=np.random.default_rng(0))
    run = Training(data, ModelOptions(kind="linear"), TrainConfig(epochs=12), seed=0, dtype="float32")
    initial = run.net.params.astype(np.float64).tolist()
    list(run)
    path = tmp_path_factory.mktemp("m") / "linear.npz"
    model_file.save_model(run.model(), str(path))
    return initial, path


def test_a_linear_models_path_starts_at_its_initial_weights_and_is_saved(linear, tmp_path):
    initial, path = linear
    model = model_file.load_model(str(path))
    steps = model.info["param_path"]
    assert steps["epochs"] == [0, *range(1, 11), 12] and steps["params"][0] == initial
    assert steps["params"][-1] == model.network.params.astype(np.float64).tolist()  # (epoch 12: the last, kept)

    def older(arrays):  # a model saved before the path was recorded
        meta = json.loads(arrays["meta"].tobytes())
        del meta["info"]["param_path"]
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    assert "param_path" not in model_file.load_model(str(rewrite(path, tmp_path / "old.npz", older))).info


def edit_path(**fields):
    def change(arrays):
        meta = json.loads(arrays["meta"].tobytes())
        meta["info"]["param_path"].update(fields)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    return change


@pytest.mark.parametrize("change", [
    edit_path(params=[[0.1, 0.2]] * 12),  # two numbers where the model has three parameters
    edit_path(epochs=[0, *range(1, 11), 13]),  # an epoch beyond the twelve run
    edit_path(epochs=[-1, *range(1, 11), 12]),
    edit_path(epochs=[0, 2, 1, *range(3, 11), 12]),  # not increasing
    edit_path(epochs=list(range(11))),  # fewer epochs than rows of parameters
    edit_path(params=[[0.1, "0.2", 0.3]] * 12),
    edit_path(params=[[0.1, True, 0.3]] * 12),
])
def test_a_path_that_does_not_fit_the_model_is_refused(linear, tmp_path, change):
    _, path = linear
    refused = "info's param_path is not the parameters at increasing epochs among those run"
    with pytest.raises(ModelFileError, match=re.escape(refused)):
        model_file.load_model(str(rewrite(path, tmp_path / "bad.npz", change)))


@pytest.mark.parametrize("inputs, recorded", [(PATH_MAX_INPUTS, True), (PATH_MAX_INPUTS + 1, False)])
def test_only_a_small_linear_model_of_one_output_records_its_path(trained, tmp_path, inputs, recorded):
    assert "param_path" not in trained[0].info  # (an mlp)
    table = tmp_path / "t.csv"
    X = np.random.default_rng(0).normal(size=(20, inputs))
    np.savetxt(table, np.column_stack([X, X.sum(axis=1)]), delimiter=",", comments="",
               header=",".join([*(f"x{i}" for i in range(inputs)), "y"]))
    for path, sizes in ((table, [inputs, 1]), (SAMPLES / "blobs.csv", [2, 3])):  # (blobs: one equation a class)
        data = load_training_data(str(path), DataOptions(), "auto", val_split=0.0, rng=np.random.default_rng(0))
        run = Training(data, ModelOptions(kind="linear"), TrainConfig(epochs=2), seed=0, dtype="float32")
        list(run)
        assert run.net.sizes == sizes and ("param_path" in run.model().info) == (recorded and sizes[-1] == 1)


@pytest.fixture(scope="module")
def log_target(tmp_path_factory):
    """A regression on log(1 + y), saved."""
    folder = tmp_path_factory.mktemp("log")
    rows = np.random.default_rng(0).uniform(0, 1, (40, 2))
    table = folder / "t.csv"
    np.savetxt(table, np.column_stack([rows, np.exp(3 * rows[:, 0])]), delimiter=",", comments="", header="a,b,y")
    data = load_training_data(str(table), DataOptions(log_target=True), "auto", rng=np.random.default_rng(0))
    run = Training(data, ModelOptions(hidden=(4,)), TrainConfig(epochs=2), seed=0, dtype="float32")
    list(run)
    path = folder / "m.npz"
    model_file.save_model(run.model(), str(path))
    return run.model(), path


def test_a_log_target_is_saved_as_format_version_2(log_target, trained):
    model, path = log_target
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(npz["meta"].tobytes())
    assert meta["format_version"] == 2 and meta["target_transform"] == "log1p"
    loaded = model_file.load_model(str(path))
    assert loaded.target.log and loaded.target.mean == pytest.approx(model.target.mean)
    X = np.zeros((3, 2), np.float32)
    assert loaded.predict_values(X) == pytest.approx(np.expm1(loaded.network.logits(X) * model.target.scale
                                                              + model.target.mean))
    with np.load(trained[2], allow_pickle=False) as npz:  # (every other model stays version 1, which any nncli reads)
        assert json.loads(npz["meta"].tobytes())["format_version"] == 1


@pytest.mark.parametrize("which, change, refused", [
    # (a version-1 reader would predict log(1 + y) as y)
    ("log", edit_meta(format_version=1), "target_transform 'log1p' does not fit format version 1 and a 'regression' task"),
    ("log", edit_meta(target_transform="log"), "target_transform 'log' does not fit format version 2"),
    ("log", edit_meta(target_transform=None), "format version 2 (a regression on log(1 + y)) without its target_transform"),
    ("log", edit_meta(target_transform=[1]), "target_transform '[1]' does not fit format version 2"),
    ("plain", edit_meta(target_transform="log1p"), "target_transform 'log1p' does not fit format version 1"),
    ("plain", edit_meta(target_transform="log1p", format_version=2),  # a classifier (blobs)
     "target_transform 'log1p' does not fit format version 2 and a 'classification' task"),
])
def test_a_target_transform_that_does_not_fit_is_refused(log_target, trained, tmp_path, which, change, refused):
    path = log_target[1] if which == "log" else trained[2]
    with pytest.raises(ModelFileError, match=re.escape(refused)):
        model_file.load_model(str(rewrite(path, tmp_path / "bad.npz", change)))


def test_a_reader_of_version_1_alone_refuses_a_log_target_model(log_target, monkeypatch):
    """What version 2 is for: an nncli from before --log-target reads versions up to 1, and refuses the
    file rather than predicting log(1 + y) as y."""
    monkeypatch.setattr(model_file, "FORMAT_VERSION", 1)
    with pytest.raises(ModelFileError, match="format version '2'; this nncli reads versions 1 to 1"):
        model_file.load_model(str(log_target[1]))


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_models_are_refused(trained, tmp_path, case):
    _, _, path = trained
    change, message = CORRUPTIONS[case]
    bad = rewrite(path, tmp_path / "bad.npz", change) if case != "object array" else None
    if bad is None:  # np.savez would pickle the object array into the file: build it by hand
        bad = tmp_path / "bad.npz"
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        with zipfile.ZipFile(bad, "w") as zf:
            for k, v in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.array([{"x": 1}], dtype=object) if k == "params" else v,
                                          allow_pickle=True)
                zf.writestr(k + ".npy", buf.getvalue())
    with pytest.raises(ModelFileError, match=message):
        model_file.load_model(str(bad))


def test_a_file_from_a_newer_nncli_names_its_writer_and_this_version(trained, tmp_path):
    _, _, path = trained
    bad = rewrite(path, tmp_path / "new.npz", edit_meta(format_version=3, nncli_version="9.1.0"))
    with pytest.raises(ModelFileError) as e:
        model_file.load_model(str(bad))
    assert "format version '3'; this nncli reads versions 1 to 2" in str(e.value)
    assert e.value.hint.startswith(f"it was written by nncli 9.1.0, and this is {__version__}")


@pytest.mark.parametrize("version, shown", [("0.9.1", "0.9.1"), (None, None), ("x" * 40, "x" * 40), ("x" * 41, None),
                                            ("", None), (7, None)])
def test_show_json_gives_the_version_the_file_says_wrote_it(trained, tmp_path, version, shown):
    """A file without a usable nncli_version was said to be this nncli's."""
    _, _, path = trained
    bad = rewrite(path, tmp_path / "v.npz", drop_meta("nncli_version") if version is None
                  else edit_meta(nncli_version=version))
    r = run_nncli("show", bad, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["nncli_version"] == shown


def test_a_file_of_more_hidden_layers_than_fit_makes_loads(tmp_path):
    """`fit --hidden` takes at most 100 layers, but nncli 1.0.0 took any number, and wrote them."""
    data = load_training_data(str(SAMPLES / "blobs.csv"), DataOptions(), "auto", rng=np.random.default_rng(0))
    run = Training(data, ModelOptions(hidden=(2,) * 101), TrainConfig(epochs=1), seed=0, dtype="float32")
    list(run)
    path = tmp_path / "deep.npz"
    model_file.save_model(run.model(), str(path))
    assert len(model_file.load_model(str(path)).network.sizes) == 103


def test_names_that_compose_to_one_are_refused_saying_so(trained, tmp_path):
    """nncli 1.0.0 read a header's names as written: 'café' composed (NFC) and decomposed were two columns."""
    _, _, path = trained
    rename = change_meta(lambda meta: (meta["features"][0].update(name="caf\u00e9"),
                                       meta["features"][1].update(name="cafe\u0301")))
    with pytest.raises(ModelFileError, match="two features are both 'café', once in composed and once in decomposed"):
        model_file.load_model(str(rewrite(path, tmp_path / "nfc.npz", rename)))


def test_a_member_in_fortran_order_is_refused_saying_so(trained, tmp_path):
    """It was "has dtype <f8; only plain numbers are allowed", of a float64 member."""
    _, _, path = trained

    def fortran(data: bytes) -> bytes:
        assert b"'fortran_order': False" in data
        return data.replace(b"'fortran_order': False", b"'fortran_order': True ")

    bad = rewrite_member(path, tmp_path / "fortran.npz", "x_mean.npy", fortran)
    with pytest.raises(ModelFileError, match="member 'x_mean' is stored in Fortran order, which nncli never writes"):
        model_file.load_model(str(bad))


def test_a_gzipped_model_is_refused_saying_how_to_read_it(trained, tmp_path):
    """It was "not a zip archive; a CSV file?"."""
    import gzip
    _, _, path = trained
    packed = tmp_path / "m.npz.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(ModelFileError, match="is not a valid nncli model: it is gzip-compressed") as e:
        model_file.load_model(str(packed))
    assert e.value.hint == f"gunzip it first: gunzip -c {packed} > {tmp_path / 'm.npz'}"


def test_absurd_declared_shape_is_refused_before_allocating(trained, tmp_path):
    _, _, path = trained
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    bad = rewrite_member(path, tmp_path / "huge.npz", "params.npy", lambda data: header.getvalue() + b"\0" * 64)
    with pytest.raises(ModelFileError, match=r"member 'params' declares 4,000,000,000,000 bytes but holds 64"):  # (not the path)
        model_file.load_model(str(bad))


@pytest.mark.parametrize("content, message", [
    (b"", "is not a valid nncli model: the file is empty"),
    (b"not a zip at all", "is not an nncli model (it is not a zip archive; a CSV file?)"),
    (b"PK\x03\x04truncated", "is not a valid nncli model: the zip archive is damaged or truncated"),
])
def test_non_models_are_refused(tmp_path, content, message):
    p = tmp_path / "x.npz"
    p.write_bytes(content)
    with pytest.raises(ModelFileError, match=re.escape(message)):
        model_file.load_model(str(p))


def test_a_model_path_that_cannot_be_followed_is_one_line_naming_the_reason(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink("loop.npz", "loop.npz")  # ELOOP
    with pytest.raises(ModelFileError) as e:
        model_file.load_model("loop.npz")
    assert str(e.value) == "cannot open model 'loop.npz': Too many levels of symbolic links"
    assert e.value.hint is None


def test_members_in_npy_format_2_load_as_format_1_members_do(trained, tmp_path):
    # (.npy 2.0 is the same array with a longer header-length field: another writer may choose it)
    model, data, path = trained
    v2 = tmp_path / "v2.npz"
    with np.load(path, allow_pickle=False) as npz, zipfile.ZipFile(v2, "w") as zf:
        for k in npz.files:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, npz[k], version=(2, 0))
            zf.writestr(k + ".npy", buf.getvalue())
    with zipfile.ZipFile(v2) as zf, zf.open("params.npy") as f:
        assert np.lib.format.read_magic(f) == (2, 0)
    loaded = model_file.load_model(str(v2))
    assert np.array_equal(loaded.predict_proba(data.X), model.predict_proba(data.X))


def test_truncated_model_is_refused(trained, tmp_path):
    _, _, path = trained
    p = tmp_path / "t.npz"
    p.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(ModelFileError):
        model_file.load_model(str(p))


def test_cli_reports_a_bad_model_in_one_line(tmp_path):
    p = tmp_path / "x.npz"
    p.write_bytes(b"garbage")
    r = run_nncli("predict", p, SAMPLES / "moons.csv")
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode().startswith("nncli: error:") and "Traceback" not in r.stderr.decode()


def test_atomic_save_leaves_old_file_when_writing_fails(trained, tmp_path, monkeypatch):
    model, _, _ = trained
    path = tmp_path / "m.npz"
    path.write_bytes(b"old model")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        model_file.save_model(model, str(path))
    assert path.read_bytes() == b"old model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_a_label_utf8_cannot_carry_is_written_as_any_other_label(trained, tmp_path):
    # JSON can hold a lone surrogate ('\udcff'), which UTF-8 cannot: the labels' fast path (labels of one
    # width as bytes) must leave such a model to the usual one, which writes it as the output's encoding
    # and error handler say (here: the byte 0xff), not fail with a traceback.
    _, _, path = trained
    model = rewrite(path, tmp_path / "s.npz", edit_meta(classes=["\udcff", "1", "2"]))
    r = run_nncli("predict", model, SAMPLES / "blobs.csv", env={"PYTHONIOENCODING": "utf-8:surrogateescape"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == b"prediction" and set(lines[1:]) <= {b"\xff", b"1", b"2"} and b"\xff" in lines[1:]
    assert r.stdout.count(b"\n") == len(lines) == 601  # (every row with its line end)


@pytest.mark.parametrize("field", ["final_loss", "param_path"])
def test_a_whole_number_past_float64_in_the_metadata_is_refused(linear, tmp_path, field):
    """A 400-digit integer is valid JSON, but float() of it overflows: every command crashed with an
    OverflowError on such a crafted file."""
    def huge(arrays):
        meta = json.loads(arrays["meta"].tobytes())
        if field == "param_path":
            meta["info"]["param_path"]["params"][1][0] = 12345.5
        else:
            meta["info"]["final_loss"] = 12345.5
        arrays["meta"] = np.frombuffer(json.dumps(meta).replace("12345.5", "1" + "0" * 400).encode(), np.uint8)
    with pytest.raises(ModelFileError, match="holds the non-finite number 10000000000000000000…"):
        model_file.load_model(str(rewrite(linear[1], tmp_path / "big.npz", huge)))
