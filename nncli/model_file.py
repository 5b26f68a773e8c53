"""THE nncli model file format: specification, atomic save, validated load.

A model file is a NumPy `.npz` archive (a zip of `.npy` arrays) holding
exactly these members, none of them object arrays, nothing pickled:

| member          | dtype            | shape          | content                                         |
|-----------------|------------------|----------------|-------------------------------------------------|
| `meta`          | uint8            | (n_bytes,)     | UTF-8 JSON object, described below              |
| `params`        | float32/float64  | (n_params,)    | all weights then all biases, layer by layer     |
| `x_mean`        | float64          | (n_inputs,)    | mean of each encoded input column (training)    |
| `x_scale`       | float64          | (n_inputs,)    | standard deviation (1 where constant)           |
| `y_mean`        | float64          | (n_targets,)   | regression: target means; classification: (0,)  |
| `y_scale`       | float64          | (n_targets,)   | regression: target std devs; classification: (0,) |
| `history_<key>` | float64          | (n_epochs,)    | per epoch, key in loss, metric, val_loss, val_metric, lr, seconds (NaN where absent) |

`params` layout: for layers l = 1..L with sizes s_0..s_L, first every W_l
(s_{l-1} x s_l, row-major) in order, then every b_l (s_l). So
n_params = sum(s_{l-1} s_l + s_l).

`meta` JSON keys:
- `format`: "nncli-model"; `format_version`: 1; `nncli_version`: the writer's version
- `kind`: "linear" | "mlp"; `task`: "classification" | "regression"
- `sizes`: [s_0, ..., s_L]; `activation`: hidden activation name; `loss`: "mse" | "bce" | "ce"; `dtype`: "float32" | "float64"
- `features`: list of {name, kind: "numeric"|"categorical", fill (imputed value), categories (list of str), missing (count at fit)};
  s_0 = sum of widths (1 per numeric, len(categories) per categorical)
- `targets`: target column names; `classes`: class labels (classification; s_L = 1 for two classes, else len(classes))
- `na_values`: cell texts that meant "missing" at fit time
- `config`: the training configuration (epochs, batch_size, lr, optimizer, seed, ...)
- `info`: facts about the run (rows, data_sha256, best_epoch, epochs_run, stopped, final metrics, created)
- the `config` and `info` fields listed in CONFIG_FIELDS and INFO_FIELDS below are required, with those types

Loading checks everything before using anything: a zip, exactly these
members, each a plain numeric array whose declared size matches the bytes
stored (so a tiny file cannot make us allocate gigabytes), shapes consistent
with the metadata, finite parameters. Any failure is a ModelFileError.

Saving writes a temporary file in the target's directory, flushes and fsyncs
it, then renames it over the target: the path holds either the old model or
the complete new one, never half a file.

Imports numpy, the standard library, `nncli.errors` and `nncli.core`.
"""

from __future__ import annotations

import json
import math
import os
import stat
import zipfile
import zlib
from typing import Any

import numpy as np

from nncli import __version__
from nncli.atomic import atomic_write
from nncli.core.model import HISTORY_KEYS, Model
from nncli.core.network import Network
from nncli.core.preprocessing import Feature, Preprocessor, Target
from nncli.errors import ModelFileError, shorten

FORMAT = "nncli-model"
FORMAT_VERSION = 1
MAX_META_BYTES = 16 * 1024 * 1024
MAX_ARRAY_BYTES = 2 * 1024 ** 3
MAX_COMPRESSION_RATIO = 1000  # a zip bomb expands by far more than any real array
ARRAY_KEYS = ("params", "x_mean", "x_scale", "y_mean", "y_scale") + tuple(f"history_{k}" for k in HISTORY_KEYS)
MEMBERS = ("meta",) + ARRAY_KEYS


# The training records' fields that readers use, with the JSON types they must have.
# Other fields are kept as they are.
_NUMBER = (int, float)
CONFIG_FIELDS = {"epochs": (int,), "lr": _NUMBER, "batch_size": (int,), "optimizer": (str,)}
INFO_FIELDS = {"rows": (int,), "epochs_run": (int,), "seconds": _NUMBER, "best_epoch": (int,),
               "weights_from_epoch": (int,), "source": (str,), "data_sha256": (str,), "stopped": (str, type(None)),
               **{f"final_{k}": (*_NUMBER, type(None)) for k in ("loss", "metric", "val_loss", "val_metric")}}


def _bad_field(record: dict, fields: dict[str, tuple[type, ...]]) -> str | None:
    """The first field missing or not of its type (a JSON true is not a number), else None."""
    for k, types in fields.items():
        if k not in record or not isinstance(record[k], types) or isinstance(record[k], bool):
            return k
    return None


# -- save --------------------------------------------------------------------------------
def model_arrays(model: Model) -> dict[str, np.ndarray]:
    """Everything that goes into the file, as named arrays."""
    net, pre, target = model.network, model.pre, model.target
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nncli_version": __version__,
        "kind": model.kind,
        "task": target.task,
        "sizes": net.sizes,
        "activation": net.activation,
        "loss": net.loss_name,
        "dtype": net.dtype.name,
        "features": [
            {"name": f.name, "kind": f.kind, "fill": f.fill, "categories": f.categories, "missing": f.missing}
            for f in pre.features
        ],
        "targets": target.names,
        "classes": target.classes,
        "na_values": list(model.na_values),
        "config": model.config,
        "info": model.info,
    }
    n_epochs = len(model.history.get("loss", ()))
    arrays = {
        "meta": np.frombuffer(json.dumps(meta, allow_nan=False, default=_json_default).encode(), dtype=np.uint8),
        "params": net.params,
        "x_mean": np.asarray(pre.mean, np.float64),
        "x_scale": np.asarray(pre.scale, np.float64),
        "y_mean": np.asarray(target.mean if target.task == "regression" else [], np.float64),
        "y_scale": np.asarray(target.scale if target.task == "regression" else [], np.float64),
    }
    for k in HISTORY_KEYS:
        arrays[f"history_{k}"] = np.asarray(model.history.get(k, np.full(n_epochs, np.nan)), np.float64)
    return arrays


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"cannot store {type(o).__name__} in model metadata")


def save_model(model: Model, path: str) -> None:
    """Save atomically to `path` (see the module docstring for the format)."""
    arrays = model_arrays(model)
    atomic_write(path, lambda f: np.savez(f, **arrays))


# -- load --------------------------------------------------------------------------------
def _fail(path: str, what: str, hint: str | None = None) -> ModelFileError:
    return ModelFileError(f"{shorten(path)} is not a valid nncli model: {what}", hint=hint)


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str,
                 archive_size: int) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a member's .npy header, checked against its stored size."""
    name = info.filename[:-4]
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        raise _fail(path, f"member {shorten(name)} is encrypted or compressed in a way NumPy never writes")
    if info.header_offset + info.compress_size > archive_size or (
            info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size):
        # Sizes in the zip directory are what NumPy allocates; they must fit in the file.
        raise _fail(path, f"member {shorten(name)} declares more bytes than the file holds",
                    hint="it may be truncated or tampered with")
    if info.file_size > MAX_ARRAY_BYTES or (
        info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO and info.file_size > 1 << 20
    ):
        raise _fail(path, f"member {shorten(name)} declares an absurd size ({info.file_size:,} bytes)")
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"npy version {version}")
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise _fail(path, f"member {shorten(name)} is not a NumPy array ({shorten(e, 80)})") from None
        header_len = f.tell()
    if dtype.hasobject or dtype.kind not in "fu" or fortran:
        raise _fail(path, f"member {shorten(name)} has dtype {dtype.str}; only plain numbers are allowed",
                    hint="model files never contain objects or pickled data")
    if len(shape) != 1:
        raise _fail(path, f"member {shorten(name)} has shape {shape}, expected one dimension")
    declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if declared != info.file_size - header_len:
        raise _fail(path, f"member {shorten(name)} declares {declared:,} bytes but holds {info.file_size - header_len:,}")
    return shape, dtype


def load_model(path: str) -> Model:
    """Load and validate a model file; every problem is a ModelFileError."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ModelFileError(f"cannot open model {shorten(path)}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(f"model {shorten(path)} is not a regular file")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            names = {n[:-4] for n in infos if n.endswith(".npy")}
            if len(names) != len(infos) or "meta" not in names:
                raise _fail(path, "not an nncli model archive", hint="make one with `nncli fit`")
            missing = sorted(set(MEMBERS) - names)
            extra = sorted(names - set(MEMBERS))
            if missing:
                raise _fail(path, f"missing {', '.join(missing)}")
            if extra:
                raise _fail(path, f"unexpected member{'s' if len(extra) > 1 else ''} {shorten(', '.join(extra))}")
            headers = {n: _read_header(zf, infos[n + ".npy"], path, st.st_size) for n in MEMBERS}
            if headers["meta"][0][0] > MAX_META_BYTES or headers["meta"][1] != np.uint8:
                raise _fail(path, "metadata is not a JSON byte string of sane size")
        with np.load(path, allow_pickle=False) as npz:
            arrays = {n: npz[n] for n in MEMBERS}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, EOFError, ValueError, OSError,
            KeyError) as e:  # NotImplementedError: zipfile's word for a zip feature it does not read
        raise _fail(path, f"cannot read it as a model archive ({shorten(e, 80)})",
                    hint="it may be truncated or not a model file") from None
    return _build(path, arrays)


def _build(path: str, arrays: dict[str, np.ndarray]) -> Model:
    try:
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _fail(path, "metadata is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _fail(path, "not an nncli model (format name missing)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise _fail(path, f"format version {shorten(meta.get('format_version'))}; this nncli reads version {FORMAT_VERSION}",
                    hint="use the nncli version that wrote it, or train the model again")
    try:
        sizes = [int(s) for s in meta["sizes"]]
        kind, task, activation, loss, dtype = (meta["kind"], meta["task"], meta["activation"], meta["loss"], meta["dtype"])
        features = [Feature(str(f["name"]), str(f["kind"]), float(f["fill"]), [str(c) for c in f["categories"]],
                            int(f["missing"])) for f in meta["features"]]
        targets = [str(t) for t in meta["targets"]]
        classes = [str(c) for c in meta["classes"]]
        na_values = [str(v) for v in meta["na_values"]]
        config, info = dict(meta["config"]), dict(meta["info"])
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        raise _fail(path, f"metadata field missing or malformed ({shorten(e, 60)})") from None
    from nncli.core.activations import ACTIVATIONS
    from nncli.core.losses import LOSSES

    bad_config, bad_info = _bad_field(config, CONFIG_FIELDS), _bad_field(info, INFO_FIELDS)
    checks = [
        (kind in ("linear", "mlp"), f"unknown model kind {shorten(kind)}"),
        (task in ("classification", "regression"), f"unknown task {shorten(task)}"),
        (activation in ACTIVATIONS, f"unknown activation {shorten(activation)}"),
        (loss in LOSSES, f"unknown loss {shorten(loss)}"),
        (dtype in ("float32", "float64"), f"unsupported dtype {shorten(dtype)}"),
        (len(sizes) >= 2 and min(sizes) >= 1 and max(sizes) <= 1 << 20, f"bad layer sizes {shorten(sizes)}"),
        (all(f.kind in ("numeric", "categorical") for f in features), "unknown feature kind"),
        (all(f.kind == "numeric" or f.categories for f in features), "a categorical feature without categories"),
        (bool(targets), "no target column"),
        (all(math.isfinite(f.fill) and f.missing >= 0 for f in features),
         "a feature's fill value is not finite or its missing count negative"),
        (bad_config is None, f"config field {shorten(bad_config)} is missing or of the wrong type"),
        (bad_info is None, f"info field {shorten(bad_info)} is missing or of the wrong type"),
    ]
    for ok, what in checks:
        if not ok:
            raise _fail(path, what)
    n_inputs = sum(1 if f.kind == "numeric" else len(f.categories) for f in features)
    target = Target(targets, task, classes=classes, mean=arrays["y_mean"], scale=arrays["y_scale"])
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    n_targets = len(targets) if task == "regression" else 0
    shape_checks = [
        (sizes[0] == n_inputs, f"layer sizes start with {sizes[0]} inputs but the features encode to {n_inputs}"),
        (task == "regression" or len(classes) >= 2, "a classifier needs at least two classes"),
        (sizes[-1] == target.n_outputs, f"{sizes[-1]} outputs do not fit the target ({target.n_outputs} expected)"),
        (loss == target.loss, f"loss {loss} does not fit the target"),
        (arrays["params"].shape == (n_params,), f"params has {arrays['params'].size} values, the layers need {n_params}"),
        (arrays["params"].dtype == np.dtype(dtype), f"params dtype {arrays['params'].dtype} is not {dtype}"),
        (arrays["x_mean"].shape == (n_inputs,) and arrays["x_scale"].shape == (n_inputs,), "x_mean/x_scale shape"),
        (arrays["y_mean"].shape == (n_targets,) and arrays["y_scale"].shape == (n_targets,), "y_mean/y_scale shape"),
        (len({arrays[f"history_{k}"].shape for k in HISTORY_KEYS}) == 1, "history arrays differ in length"),
    ]
    for ok, what in shape_checks:
        if not ok:
            raise _fail(path, what)
    for name in ("params", "x_mean", "x_scale", "y_mean", "y_scale"):
        if not np.isfinite(arrays[name]).all():
            raise _fail(path, f"{name} holds non-finite values")
    if (arrays["x_scale"] <= 0).any() or (arrays["y_scale"] <= 0).any():
        raise _fail(path, "a standardization scale is not positive")
    net = Network(sizes, activation, loss, dtype=np.dtype(dtype).type)
    net.params[...] = arrays["params"]
    pre = Preprocessor(features, arrays["x_mean"], arrays["x_scale"])
    history = {k: arrays[f"history_{k}"] for k in HISTORY_KEYS}
    return Model(kind, net, pre, target, na_values, config=config, info=info, history=history)
