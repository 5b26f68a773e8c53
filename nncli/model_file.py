"""THE nncli model file format: specification, atomic save, validated load.

A model file is a NumPy `.npz` archive (a zip of `.npy` arrays) holding
exactly these members, none of them object arrays, nothing pickled:

| member          | dtype            | shape          | content                                         |
|-----------------|------------------|----------------|-------------------------------------------------|
| `meta`          | uint8            | (n_bytes,)     | UTF-8 JSON object, described below              |
| `params`        | float32/float64  | (n_params,)    | all weights then all biases, layer by layer     |
| `x_mean`        | float64          | (n_inputs,)    | mean of each encoded input column (training)    |
| `x_scale`       | float64          | (n_inputs,)    | standard deviation, floored (1 where constant)  |
| `y_mean`        | float64          | (n_targets,)   | regression: target means; classification: (0,)  |
| `y_scale`       | float64          | (n_targets,)   | regression: target std devs; classification: (0,) |
| `history_<key>` | float64          | (n_epochs,)    | per epoch, key in loss, metric, val_loss, val_metric, lr, seconds (NaN where absent) |

`params` layout: for layers l = 1..L with sizes s_0..s_L, first every W_l
(s_{l-1} x s_l, row-major) in order, then every b_l (s_l). So
n_params = sum(s_{l-1} s_l + s_l).

`meta` JSON keys:
- `format`: "nncli-model"; `format_version`: 1, or 2 for a regression on log(1 + y); `nncli_version`: the
  writer's version
- `kind`: "linear" | "mlp"; `task`: "classification" | "regression"
- `sizes`: [s_0, ..., s_L]; `activation`: hidden activation name; `loss`: "mse" | "bce" | "ce"; `dtype`: "float32" | "float64"
- `features`: list of {name, kind: "numeric"|"categorical", fill (imputed value), categories (list of str), missing (count at fit)};
  s_0 = sum of widths (1 per numeric, len(categories) per categorical)
- `targets`: target column names; `classes`: class labels (classification; s_L = 1 for two classes, else len(classes))
- `na_values`: cell texts that meant "missing" at fit time
- `target_transform`: "log1p" in version 2 alone: the network predicts log(1 + y), standardized by y_mean and y_scale
- `config`: the training configuration (epochs, batch_size, lr, optimizer, seed, ...)
- `info`: facts about the run (rows, val_rows, data_sha256, best_epoch, epochs_run, stopped, final metrics;
  source_file: the training file's device, inode, size and mtime_ns, which tell `eval` it is given that file;
  gradient_rms: {epochs: [e, ...], rms: [[one number a layer], ...]}, each layer's weight-gradient size on
  those epochs' first batches, increasing epochs among those run; weight_rms: the same, of each layer's
  weights at the end of those epochs; param_path: {epochs: [0, e, ...], params: [[n_params numbers], ...]},
  a linear model's parameters, as `params` lays them out, at the start and the end of those epochs;
  init: {file, source, epochs_before}, for a run that went on from a saved model (`fit --init`): its path
  as given, the data it last trained on, and the epochs its weights had had over every run before)
- the `config` and `info` fields listed in CONFIG_FIELDS and INFO_FIELDS below are required, with those types
  (and those of OPTIONAL_CONFIG_FIELDS and OPTIONAL_INFO_FIELDS have theirs where present); other keys, at
  the top level or in `config` and `info`, are allowed and ignored. A field that changes what a model
  predicts, as `target_transform` did, comes with a new `format_version`, which older readers refuse.

Predicting from a file, row by row (what `nncli predict` computes, in the model's `dtype`; a
regression's values are decoded in float64):
1. Encode each feature, in order. A cell is missing when it is empty or blank, or its text, less
   spaces around it, is one of `na_values`,
   and, of a numeric feature, when its number equals one in `na_values`, compared in `dtype` (with
   `-999` listed, `-999.0` is missing too). Names, categories and classes are matched as written,
   else in Unicode NFC.
   - numeric: the number, or `fill` when missing: one input.
   - categorical: one input per category, 1 for the cell's category and 0 for the others; a
     missing cell counts as the category "<missing>" where that is listed (all 0 where not); a text
     that is not listed gives all 0.
2. Standardize: input j becomes (x_j - x_mean[j]) / x_scale[j]. (`x_scale` is the standard
   deviation, at least 1e-12 of |x_mean| and float32's smallest normal number, and 1 for a column
   that was constant; a far smaller one is refused on loading.)
3. The layers: A_0 = the inputs; Z_l = A_{l-1} W_l + b_l; A_l = act(Z_l) for the hidden layers, where
   act is relu max(z, 0), leaky_relu max(z, 0.01 z), tanh, sigmoid 1 / (1 + e^-z) or identity z.
   The output Z_L is not activated.
4. The output, by `loss`: "ce": the softmax of Z_L, P(classes[k]) for each k; "bce" (two classes, one
   output): P(classes[1]) = sigmoid(Z_L), P(classes[0]) = sigmoid(-Z_L); a label is the most probable
   class (ties: the first). "mse": y = Z_L * y_scale + y_mean for each target; with
   `target_transform` "log1p", the value is max(expm1(y), 0).

Loading checks everything before using anything: a zip, exactly these
members, each a plain numeric array (every one but `meta` and `params` float64) whose declared size matches the bytes
stored, the archive inflating to at most MAX_COMPRESSION_RATIO times its size,
strict JSON metadata that is consistent with itself (no repeated feature,
class, column or name within an object, finite numbers), every array's
declared shape the one the metadata implies (a history holds one value per
epoch run) before any array's
data is read (so a small file cannot make us allocate gigabytes), finite
parameters. Any failure is a ModelFileError.

Saving writes a temporary file in the target's directory, flushes and fsyncs
it, then renames it over the target: the path holds either the old model or
the complete new one, never half a file.

Imports numpy, the standard library, `nncli.errors`, `nncli.atomic`, `nncli.core` and the version.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shlex
import stat
import sys
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterator

import numpy as np

from nncli import __version__
from nncli.atomic import atomic_write
from nncli.core.model import HISTORY_KEYS, Model
from nncli.core.limits import MAX_EPOCHS, MAX_HIDDEN_WIDTH, MAX_MODEL_CLASSES, MAX_MODEL_HIDDEN_LAYERS
from nncli.core.network import Network
from nncli.core.activations import ACTIVATIONS
from nncli.core.losses import LOSSES
from nncli.core.preprocessing import MISSING, Feature, Preprocessor, Target, no_spread
from nncli.errors import (DataError, ModelFileError, NncliError, UsageError, composed, gone_directory_note, printable,
                          shorten)

FORMAT = "nncli-model"
# Version 2 is a regression on log(1 + y) (`target_transform`): an nncli that reads version 1 alone
# would predict log(1 + y) for y. Every other model is written as version 1, which any nncli reads.
FORMAT_VERSION = 2
LOG_TARGET_VERSION = 2
MAX_META_BYTES = 16 * 1024 * 1024
_NOT_TEXT = re.compile("[\ud800-\udc7f\udd00-\udfff]")  # surrogates no undecodable byte stands for
MAX_META_DEPTH = 16  # nesting of lists and objects in the metadata (a valid model's is 5)
MAX_ARRAY_BYTES = 2 * 1024 ** 3
# Uncompressed bytes per byte of file, for the archive as a whole (once it exceeds 1 MB). Real
# models re-saved with np.savez_compressed inflate at most ~11-fold, and even a history that
# compressed as well as one can (a constant loss) stays under ~35-fold: its timings are noise.
MAX_COMPRESSION_RATIO = 50
ARRAY_KEYS = ("params", "x_mean", "x_scale", "y_mean", "y_scale") + tuple(f"history_{k}" for k in HISTORY_KEYS)
MEMBERS = ("meta",) + ARRAY_KEYS
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # how a zip archive starts: its first member, or its end (no member)


# The training records' fields that readers use, with the JSON types they must have.
# Other fields are kept as they are.
_NUMBER = (int, float)
CONFIG_FIELDS = {"epochs": (int,), "lr": _NUMBER, "batch_size": (int,), "optimizer": (str,)}
INFO_FIELDS = {"rows": (int,), "epochs_run": (int,), "seconds": _NUMBER, "best_epoch": (int,),
               "weights_from_epoch": (int,), "source": (str,), "data_sha256": (str,), "stopped": (str, type(None)),
               **{f"final_{k}": (*_NUMBER, type(None)) for k in ("loss", "metric", "val_loss", "val_metric")}}
OPTIONAL_CONFIG_FIELDS = {"l2": _NUMBER, "l2_default": _NUMBER}  # checked where present (show formats them)
OPTIONAL_INFO_FIELDS = {"val_rows": (int,), "source_file": (dict,), "val_source": (str,),  # checked where present
                        "gradient_rms": (dict,), "weight_rms": (dict,), "param_path": (dict,), "init": (dict,),
                        **{k: (*_NUMBER, type(None)) for k in ("final_l2_penalty", "final_val_l2_penalty")}}


def _bad_field(record: dict, fields: dict[str, tuple[type, ...]],
               optional: dict[str, tuple[type, ...]] | None = None) -> str | None:
    """The first field missing (unless optional) or not of its type (a JSON true is not a number), else None."""
    present = [(k, t) for k, t in (optional or {}).items() if k in record]
    for k, types in [*fields.items(), *present]:
        if k not in record or not isinstance(record[k], types) or isinstance(record[k], bool):
            return k
    return None


# -- save --------------------------------------------------------------------------------
def _schema(pre: Preprocessor, target: Target, na_values: Any) -> dict:
    """The metadata's description of the data: features, targets, classes, missing-value tokens."""
    return {
        "features": [
            {"name": f.name, "kind": f.kind, "fill": f.fill, "categories": f.categories, "missing": f.missing}
            for f in pre.features
        ],
        "targets": target.names,
        "classes": target.classes,
        "na_values": list(na_values),
        **({"target_transform": "log1p"} if target.log else {}),
    }


def check_schema_size(pre: Preprocessor, target: Target, na_values: Any, source: str) -> None:
    """Before training: refuse data whose description would make the model's metadata larger than
    `load_model` reads (MAX_META_BYTES; 220,000 columns took 18.6 MB), less 1 MB for the rest."""
    _check_schema_bytes(len(json.dumps(_schema(pre, target, na_values), allow_nan=False,
                                       default=_json_default).encode()), source)


def check_header_size(features: list[str], source: str, line: int = 1) -> None:
    """Before the rows are read: the same refusal for a header whose feature columns alone, each
    counted at the least a feature takes (a numeric one, its name in UTF-8), are too many (a 12 MB
    file of 1,000,000 columns was read and encoded for 41 s first, in 924 MB)."""
    one = Preprocessor([Feature("", "numeric")], np.zeros(1), np.ones(1))
    least = len(json.dumps(_schema(one, Target([], "regression"), [])["features"][0])) + 2  # (and ", ")
    _check_schema_bytes(len(features) * least + sum(len(f.encode()) for f in features), source, line,
                        at_least=True)


def _check_schema_bytes(size: int, source: str, line: int | None = None, at_least: bool = False) -> None:
    budget = MAX_META_BYTES - (1 << 20)
    if size > budget:
        raise DataError(f"the columns' names and categories would take {'at least ' if at_least else ''}"
                        f"{size / 2**20:.1f} MB in the model file, more than nncli reads back "
                        f"({budget / 2**20:.1f} MB)", file=source, line=line,
                        hint="fewer columns (--features, --ignore), or shorter names or categories")


def model_arrays(model: Model) -> dict[str, np.ndarray]:
    """Everything that goes into the file, as named arrays."""
    net, pre, target = model.network, model.pre, model.target
    meta = {
        "format": FORMAT,
        "format_version": LOG_TARGET_VERSION if target.log else 1,
        "nncli_version": __version__,
        "kind": model.kind,
        "task": target.task,
        "sizes": net.sizes,
        "activation": net.activation,
        "loss": net.loss_name,
        "dtype": net.dtype.name,
        **_schema(pre, target, model.na_values),
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


def save_model(model: Model, path: str, *, before_commit: Callable[[], None] | None = None) -> None:
    """Save atomically to `path` (see the module docstring for the format); `before_commit` as in atomic_write."""
    # The archive is made in memory, then written: a zip file records where each member starts from
    # the file's position, which /dev/null keeps at 0 (`-o /dev/null`: zipfile's 'argument out of range').
    archive = io.BytesIO()
    np.savez(archive, **model_arrays(model))
    try:
        atomic_write(path, lambda f: f.write(archive.getbuffer()), before_commit=before_commit)
    except BrokenPipeError:  # (a pipe or FIFO whose reader has gone: CSV may end early, a model may not)
        raise NncliError(f"cannot write {shorten(path)}: its reader closed it before the model was written whole",
                         hint="a model file is of use only whole: save it to a file, then copy that") from None


# -- load --------------------------------------------------------------------------------
def _fail(path: str, what: str, hint: str | None = None) -> ModelFileError:
    return ModelFileError(f"{shorten(path)} is not a valid nncli model: {what}", hint=hint)


@contextlib.contextmanager
def _reading(path: str) -> Iterator[None]:
    """Report what a damaged archive makes zipfile or NumPy raise as a ModelFileError."""
    try:
        yield
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, EOFError, ValueError, OSError,
            KeyError) as e:  # NotImplementedError: zipfile's word for a zip feature it does not read
        raise _fail(path, f"cannot read it as a model archive ({shorten(e, 80)})",
                    hint="it may be truncated or not a model file") from None


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
    if info.file_size > MAX_ARRAY_BYTES:
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
    if dtype.hasobject or dtype.kind not in "fu":
        raise _fail(path, f"member {shorten(name)} has dtype {dtype.str}; only plain numbers are allowed",
                    hint="model files never contain objects or pickled data")
    if fortran:  # (of a one-dimensional array, which nncli writes in C order, nothing else writes it so)
        raise _fail(path, f"member {shorten(name)} is stored in Fortran order, which nncli never writes")
    if len(shape) != 1:
        raise _fail(path, f"member {shorten(name)} has shape {shape}, expected one dimension")
    declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if declared != info.file_size - header_len:
        raise _fail(path, f"member {shorten(name)} declares {declared:,} bytes but holds {info.file_size - header_len:,}")
    return shape, dtype


def _check_expansion(path: str, infos: list[zipfile.ZipInfo], archive_size: int) -> None:
    """Refuse a zip bomb: members that together inflate to far more than the file itself.

    Checked on the whole archive, not per member: a NaN history column (no validation data)
    alone legitimately deflates ~700-fold, while whole models inflate at most ~11-fold.
    """
    total = sum(i.file_size for i in infos)
    if total > 1 << 20 and total > MAX_COMPRESSION_RATIO * archive_size:
        largest = max(infos, key=lambda i: i.file_size)
        raise _fail(path, f"member {shorten(largest.filename[:-4])} declares an absurd size ({largest.file_size:,} "
                          f"bytes; {total:,} in all from a {archive_size:,}-byte file)")


def _open_archive(path: str, f: BinaryIO, usage: str | None) -> zipfile.ZipFile:
    """The zip archive in `f`; a file that is no zip at all (a CSV file given as the model) is
    told apart from a damaged one by its first bytes."""
    try:
        zf = zipfile.ZipFile(f)
    except zipfile.BadZipFile:
        zf = None
    f.seek(0)
    head = f.read(4)
    if zf is not None:
        # Python's zipfile finds an archive after other bytes; NumPy's loader reads the first ones (a
        # .npy file prepended gave an ndarray, a download's HTTP headers a word about pickled data).
        if head.startswith(ZIP_MAGIC):
            return zf
        zf.close()
        raise _fail(path, "other bytes come before the zip archive", hint="it is not a file `nncli fit` wrote as it is")
    if not head:
        raise _fail(path, "the file is empty")
    if head.startswith(b"\x1f\x8b"):  # (`gzip model.npz` to mail it)
        plain = path[:-3] if path.endswith(".gz") and len(path) > 3 else "model.npz"
        raise _fail(path, "it is gzip-compressed",
                    hint=f"gunzip it first: gunzip -c {shlex.quote(path)} > {shlex.quote(plain)}")
    if not head.startswith(ZIP_MAGIC):
        raise ModelFileError(f"{shorten(path)} is not an nncli model (it is not a zip archive; a CSV file?)",
                             hint=f"usage: {usage}" if usage else "a model is the .npz file that `nncli fit` writes")
    raise _fail(path, "the zip archive is damaged or truncated", hint="it may be an unfinished copy or download")


def load_model(path: str, usage: str | None = None) -> Model:
    """Load and validate a model file; every problem is a ModelFileError.

    The order bounds memory: first the zip directory and the .npy headers, then the
    metadata, and the arrays' data only once every declared shape is the one the metadata
    implies, so a file can make us allocate no more than the model it describes needs.
    `usage` is the command line's usage, a hint when the file is no zip archive at all.
    """
    if path == "-":  # (a model is read at offsets, as a zip archive is: a pipe cannot be)
        raise UsageError("a model is read from a file, not from stdin ('-')",
                         hint="save it to a file first (a file named '-' is ./-)")
    try:
        st = os.stat(path)
    except OSError as e:
        gone = gone_directory_note(path) if isinstance(e, FileNotFoundError) else ""
        raise ModelFileError(f"cannot open model {shorten(path)}: {e.strerror}{gone}") from None
    if not stat.S_ISREG(st.st_mode):  # (before opening it: opening a FIFO would wait for a writer)
        raise ModelFileError(f"model {shorten(path)} is not a regular file")
    try:
        file = open(path, "rb")
    except OSError as e:
        raise ModelFileError(f"cannot open model {shorten(path)}: {e.strerror}") from None
    with file:
        st = os.fstat(file.fileno())  # the file opened (`fit` may have renamed a new one into place since)
        if not stat.S_ISREG(st.st_mode):
            raise ModelFileError(f"model {shorten(path)} is not a regular file")
        return _load(path, file, st.st_size, usage)


def _load(path: str, file: BinaryIO, size: int, usage: str | None) -> Model:
    """`load_model`'s work, on the file opened (`size` bytes long)."""
    with _reading(path), _open_archive(path, file, usage) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        names = {n[:-4] for n in infos if n.endswith(".npy")}
        if len(names) != len(infos) or "meta" not in names:
            what = "a NumPy archive" if infos and len(names) == len(infos) else "a zip archive"
            raise _fail(path, f"{what}, but none that `nncli fit` writes", hint="make one with `nncli fit`")
        if len(infos) != len(zf.infolist()):  # which copy a reader takes is its own choice: refuse both
            raise _fail(path, "a member appears twice in the archive")
        missing = sorted(set(MEMBERS) - names)
        extra = sorted(names - set(MEMBERS))
        if missing:
            raise _fail(path, f"missing {', '.join(missing)}")
        if extra:
            raise _fail(path, f"unexpected member{'s' if len(extra) > 1 else ''} {shorten(', '.join(extra))}")
        headers = {n: _read_header(zf, infos[n + ".npy"], path, size) for n in MEMBERS}
        _check_expansion(path, list(infos.values()), size)
        if headers["meta"][0][0] > MAX_META_BYTES or headers["meta"][1] != np.uint8:
            raise _fail(path, "metadata is not a JSON byte string of sane size")
        with zf.open(infos["meta.npy"]) as f:
            meta = np.lib.format.read_array(f, allow_pickle=False).tobytes()
    layout = _read_meta(path, meta)
    _check_declared_shapes(path, layout, {n: h[0] for n, h in headers.items()}, headers["params"][1])
    # (every nncli wrote these in float64; in uint8, a y_scale of 255 predicted garbage without a word)
    narrow = next((n for n in MEMBERS if n not in ("meta", "params") and headers[n][1] != np.float64), None)
    if narrow is not None:
        raise _fail(path, f"{narrow} is {headers[narrow][1]}, not float64")
    file.seek(0)
    with _reading(path), np.load(file, allow_pickle=False) as npz:
        arrays = {n: npz[n] for n in ARRAY_KEYS}
    return _build(path, layout, arrays)


@dataclass
class _Layout:
    """What the checked metadata says: everything but the arrays."""

    kind: str
    sizes: list[int]
    activation: str
    loss: str
    dtype: str
    features: list[Feature]
    target: Target  # its mean and scale come from the arrays
    na_values: list[str]
    config: dict
    info: dict
    written_by: str | None  # meta's nncli_version

    @property
    def n_inputs(self) -> int:
        return sum(f.width for f in self.features)

    @property
    def n_params(self) -> int:
        return sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))


def _field(record: dict, key: str, types: type | tuple[type, ...], what: str) -> Any:
    """record[key] if it is of `types` (a JSON true is not a number); else KeyError or TypeError."""
    value = record[key]
    if not isinstance(value, types) or isinstance(value, bool):
        raise TypeError(f"{key} should be {what}")
    return value


def _items(record: dict, key: str, types: type | tuple[type, ...], what: str) -> list:
    """record[key] if it is a list of `types`: a label or a name is a string, not a number coerced to one."""
    items = _field(record, key, list, f"a list of {what}")
    if not all(isinstance(x, types) and not isinstance(x, bool) for x in items):
        raise TypeError(f"{key} should be a list of {what}")
    return items


def _feature(record: dict, i: int) -> Feature:
    """The i-th feature's record as a Feature; a field it lacks is named by its place (`features[2].kind`)."""
    try:
        # (Names composed as a header's are: a model of decomposed names still reads its own file.)
        return Feature(composed(_field(record, "name", str, "a string")), _field(record, "kind", str, "a string"),
                       float(_field(record, "fill", _NUMBER, "a number")), _items(record, "categories", str, "strings"),
                       _field(record, "missing", int, "a whole number"))
    except KeyError as e:
        raise KeyError(f"features[{i}].{e.args[0]}") from None


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` deep in parsed JSON.

    Walked with a stack of iterators, not recursion (the nesting may be deep) and not a
    stack of elements (a list may hold millions): memory grows with the depth only.
    """
    stack = [iter([value])]
    while stack:
        for v in stack[-1]:
            if isinstance(v, (dict, list)):
                if len(stack) > limit:
                    return True
                stack.append(iter(v.values() if isinstance(v, dict) else v))
                break
        else:
            stack.pop()
    return False


def _repeated(items: list[str]) -> str | None:
    """The first item that appears twice, else None."""
    seen: set[str] = set()
    for x in items:
        if x in seen:
            return x
        seen.add(x)
    return None


def _read_meta(path: str, raw: bytes) -> _Layout:
    """Parse and check the metadata on its own (the arrays are checked against it later)."""
    nonfinite: list[str] = []

    def number(text: str) -> float:
        # NaN and Infinity are not JSON (Python reads them; `show --json` could not write them
        # back), and 1e999 overflows to inf: noted here, refused after the specific checks.
        value = float(text)
        if not math.isfinite(value):
            nonfinite.append(text)
        return value

    def whole(text: str) -> int:
        # A whole number past float64's range (400 digits) is one too: any sum or float() of it overflows.
        value = int(text)
        if abs(value) > sys.float_info.max:
            nonfinite.append(text[:20] + "…")
        return value

    twice: list[str] = []

    def one_name_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # A name given twice in one object: JSON leaves its meaning open (Python keeps the last value, other
        # readers the first, or refuse it), so such a file can say one thing to `show` and another to a
        # script; nncli writes each name once.
        obj = dict(pairs)
        if len(obj) < len(pairs) and not twice:
            twice.append(_repeated([k for k, _ in pairs]) or "")
        return obj

    try:
        meta = json.loads(raw.decode("utf-8"), parse_constant=number, parse_float=number, parse_int=whole,
                          object_pairs_hook=one_name_once)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: brackets nested thousands deep
        raise _fail(path, "metadata is not valid JSON") from None
    if twice:
        raise _fail(path, f"metadata is not valid JSON (the name {shorten(twice[0], 60)} appears twice in one object)")
    # A valid model's metadata nests 5 deep (info, gradient_rms or weight_rms, rms, an epoch's sizes; features, a
    # feature, its categories: 4); much deeper could overflow the stack later, when it is printed or
    # written back.
    if _nested_deeper_than(meta, MAX_META_DEPTH):
        raise _fail(path, f"metadata is not valid JSON (nested more than {MAX_META_DEPTH} deep)")
    # (JSON's "\ud800" reads as a lone surrogate, which no output can encode: predict failed on it. Those
    # of U+DC80 to U+DCFF stand for a file's undecodable bytes, read with surrogateescape, and are kept.)
    if _NOT_TEXT.search(json.dumps(meta, ensure_ascii=False)):
        raise _fail(path, "metadata is not valid JSON (it holds a lone UTF-16 surrogate, which is no text)")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _fail(path, "not an nncli model (format name missing)")
    version = meta.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:  # (true and 1.0 equal 1)
        said = shorten(version) if type(version) is int else shorten(json.dumps(version)[:100])  # ("1" is not 1)
        writer = meta.get("nncli_version")
        newer = type(version) is int and version > FORMAT_VERSION and isinstance(writer, str)
        raise _fail(path, f"format version {said}; this nncli reads versions 1 to {FORMAT_VERSION}",
                    hint=f"it was written by nncli {printable(writer[:40])}, and this is {__version__}: read it with "
                         "that version or a later one, or train the model again" if newer else
                         "use the nncli version that wrote it, or train the model again")
    try:
        sizes = _items(meta, "sizes", int, "whole numbers")
        kind, task, activation, loss, dtype = (_field(meta, k, str, "a string")
                                               for k in ("kind", "task", "activation", "loss", "dtype"))
        # (Names composed as a header's are: a model of decomposed names still reads its own file.)
        features = [_feature(f, i) for i, f in enumerate(_items(meta, "features", dict, "objects"))]
        targets = [composed(t) for t in _items(meta, "targets", str, "strings")]
        classes = _items(meta, "classes", str, "strings")
        na_values = _items(meta, "na_values", str, "strings")
        transform = meta.get("target_transform")
        config, info = _field(meta, "config", dict, "an object"), _field(meta, "info", dict, "an object")
    except KeyError as e:
        raise _fail(path, f"metadata field {shorten(e.args[0], 60)} is missing") from None
    except OverflowError:  # (a whole number of 400 digits as a feature's fill)
        raise _fail(path, "metadata is not valid JSON (it holds a number past float64's range)") from None
    except TypeError as e:
        raise _fail(path, f"metadata field malformed ({e})") from None  # (our own words: see _field)
    bad_config = _bad_field(config, CONFIG_FIELDS, OPTIONAL_CONFIG_FIELDS)
    bad_info = _bad_field(info, INFO_FIELDS, OPTIONAL_INFO_FIELDS)
    checks = [
        (kind in ("linear", "mlp"), f"unknown model kind {shorten(kind)}"),
        (task in ("classification", "regression"), f"unknown task {shorten(task)}"),
        (activation in ACTIVATIONS, f"unknown activation {shorten(activation)}"),
        (loss in LOSSES, f"unknown loss {shorten(loss)}"),
        (dtype in ("float32", "float64"), f"unsupported dtype {shorten(dtype)}"),
        # (version 2 says there is a log target, so that a version-1 reader refuses it; only regression has one)
        (transform == ("log1p" if version == LOG_TARGET_VERSION else None)
         and (transform is None or task == "regression"),
         "format version 2 (a regression on log(1 + y)) without its target_transform" if transform is None else
         f"target_transform {shorten(transform if isinstance(transform, str) else json.dumps(transform)[:100])}"
         f" does not fit format version {version} and a {shorten(task)} task"),
        (len(sizes) >= 2 and min(sizes) >= 1 and max(sizes) <= 1 << 20, f"bad layer sizes {shorten(sizes)}"),
        (len(sizes) - 2 <= MAX_MODEL_HIDDEN_LAYERS,
         f"{len(sizes) - 2:,} hidden layers (at most {MAX_MODEL_HIDDEN_LAYERS:,})"),
        (max(sizes[1:-1], default=0) <= MAX_HIDDEN_WIDTH,
         f"a hidden layer of {max(sizes[1:-1], default=0):,} units (at most {MAX_HIDDEN_WIDTH:,})"),
        (len(classes) <= MAX_MODEL_CLASSES, f"{len(classes):,} classes (at most {MAX_MODEL_CLASSES:,})"),
        (all(f.kind in ("numeric", "categorical") for f in features), "unknown feature kind"),
        (all(f.kind == "numeric" or f.categories for f in features), "a categorical feature without categories"),
        (bool(targets), "no target column"),
        (all(math.isfinite(f.fill) and f.missing >= 0 for f in features),
         "a feature's fill value is not finite or its missing count negative"),
        (not nonfinite, f"metadata is not valid JSON (it holds the non-finite number {''.join(nonfinite[:1])})"),
        (bad_config is None, f"config field {shorten(bad_config)} is missing or of the wrong type"),
        # (fit --init takes the file's l2 where no --l2 is given: -1e6 trained with negative weight decay)
        (all(not isinstance(config.get(k), (int, float)) or 0 <= config[k] <= 1e6 for k in ("l2", "l2_default")),
         "config's l2 is not between 0 and 1e6, as --l2 takes it"),
        (bad_info is None, f"info field {shorten(bad_info)} is missing or of the wrong type"),
    ]
    for ok, what in checks:
        if not ok:
            raise _fail(path, what)

    # Consistency: each of these would make predictions, or what `show` says, silently wrong.
    names = [f.name for f in features]
    target = Target(targets, task, classes=classes, log=transform is not None)
    n_inputs = sum(f.width for f in features)
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    epochs = info["epochs_run"]
    twice = {"feature": _repeated(names), "target column": _repeated(targets), "class label": _repeated(classes)}
    both = min(set(names) & set(targets), default=None)
    if twice["feature"] is not None and _repeated([f["name"] for f in meta["features"]]) is None:
        # (nncli 1.0.0 read a header's names as written: 'café' composed and decomposed were two columns)
        raise _fail(path, f"two features are both {shorten(twice['feature'])}, once in composed and once in "
                    "decomposed Unicode, which nncli now reads as one name", hint="train the model again")
    checks = [
        *((dup is None, f"{what} {shorten(dup)} appears twice") for what, dup in twice.items()),
        # (MISSING may appear twice in a model written before fit knew that a cell can read '<missing>')
        (all(_repeated([c for c in f.categories if c != MISSING]) is None for f in features),
         "a categorical feature lists a category twice"),
        (both is None, f"column {shorten(both)} is both a feature and a target"),
        (task == "classification" or not classes, "a regression model with class labels"),
        (task == "regression" or len(targets) == 1, "a classifier with more than one target column"),
        (all(f.kind == "categorical" or not f.categories for f in features), "a numeric feature with categories"),
        ((kind == "linear") == (len(sizes) == 2),
         "a linear model with hidden layers" if kind == "linear" else "an mlp without hidden layers"),
        (sizes[0] == n_inputs, f"layer sizes start with {sizes[0]} inputs but the features encode to {n_inputs}"),
        (task == "regression" or len(classes) >= 2, "a classifier needs at least two classes"),
        (sizes[-1] == target.n_outputs, f"{sizes[-1]} outputs do not fit the target ({target.n_outputs} expected)"),
        (loss == target.loss, f"loss {loss} does not fit the target"),
        (0 <= epochs <= MAX_EPOCHS, f"info says {epochs:,} epochs were run (nncli runs 0 to {MAX_EPOCHS:,})"),
        (0 <= info["best_epoch"] <= epochs and 0 <= info["weights_from_epoch"] <= epochs,
         "info's best_epoch or weights_from_epoch is not among the epochs run"),
        # (one size a layer on some epochs from the first; a linear model's parameters from the start, epoch 0)
        *((_per_epoch_fits(info.get(field), "rms", len(sizes) - 1, 1, epochs, lambda v: v >= 0),
           f"info's {field} is not one size a layer for increasing epochs among those run")
          for field in ("gradient_rms", "weight_rms")),
        (_per_epoch_fits(info.get("param_path"), "params", n_params, 0, epochs, math.isfinite),
         "info's param_path is not the parameters at increasing epochs among those run"),
        (_init_fits(info.get("init")), "info's init is not a model file, its data and a count of epochs"),
    ]
    for ok, what in checks:
        if not ok:
            raise _fail(path, what)
    written_by = meta.get("nncli_version")  # (a version's few characters; anything else is not one)
    written_by = written_by if isinstance(written_by, str) and 0 < len(written_by) <= 40 else None
    return _Layout(kind, sizes, activation, loss, dtype, features, target, na_values, config, info, written_by)


def _per_epoch_fits(record: dict | None, key: str, width: int, first: int, epochs: int,
                    good: Callable[[float], bool]) -> bool:
    """Whether an info record of numbers per epoch (gradient_rms, weight_rms, param_path), where present,
    holds `width` numbers that are `good` under `key` for each of its epochs, which increase from `first`
    among those run (`show` gives them)."""
    if record is None:
        return True
    steps, rows = record.get("epochs"), record.get(key)
    return (isinstance(steps, list) and isinstance(rows, list) and len(steps) == len(rows)
            and all(type(e) is int and first <= e <= epochs for e in steps)
            and all(a < b for a, b in zip(steps, steps[1:]))
            and all(isinstance(r, list) and len(r) == width
                    and all(type(v) in (int, float) and good(v) for v in r) for r in rows))


def _init_fits(record: dict | None) -> bool:
    """Whether info's record of the model a run started from (fit --init), where present, names it and its
    data and counts the epochs its weights had had (`show` gives them)."""
    if record is None:
        return True
    epochs = record.get("epochs_before")
    return (isinstance(record.get("file"), str) and isinstance(record.get("source"), str)
            and type(epochs) is int and 0 <= epochs <= MAX_EPOCHS_BEHIND)


# A model's weights may have had at most this many epochs, over every run that went on from another's
MAX_EPOCHS_BEHIND = 1 << 53


def _check_declared_shapes(path: str, layout: _Layout, shapes: dict[str, tuple[int, ...]],
                           params_dtype: np.dtype) -> None:
    """Every array's declared length (from its .npy header) against the metadata, before any is read.

    This caps the total the loader allocates at what the model described needs: a history, for
    instance, holds one value per epoch run, never more.
    """
    n_inputs, n_params, epochs = layout.n_inputs, layout.n_params, layout.info["epochs_run"]
    n_targets = len(layout.target.names) if layout.target.task == "regression" else 0
    checks = [
        (shapes["params"] == (n_params,), f"params has {shapes['params'][0]} values, the layers need {n_params}"),
        (params_dtype == np.dtype(layout.dtype), f"params dtype {params_dtype} is not {layout.dtype}"),
        (shapes["x_mean"] == shapes["x_scale"] == (n_inputs,), "x_mean/x_scale shape"),
        (shapes["y_mean"] == shapes["y_scale"] == (n_targets,), "y_mean/y_scale shape"),
    ]
    for ok, what in checks:
        if not ok:
            raise _fail(path, what)
    for k in HISTORY_KEYS:
        if shapes[f"history_{k}"] != (epochs,):
            raise _fail(path, f"history_{k} holds {shapes[f'history_{k}'][0]:,} epochs but info says {epochs:,} were run")


def _build(path: str, layout: _Layout, arrays: dict[str, np.ndarray]) -> Model:
    """The model, once the values in its arrays are checked."""
    for name in ("params", "x_mean", "x_scale", "y_mean", "y_scale"):
        if not np.isfinite(arrays[name]).all():
            raise _fail(path, f"{name} holds non-finite values")
    for mean, scale in ((arrays["x_mean"], arrays["x_scale"]), (arrays["y_mean"], arrays["y_scale"])):
        if (scale <= 0).any():
            raise _fail(path, "a standardization scale is not positive")
        # Fitting scales by 1 or by at least `scale_floor` (which `no_spread` agrees with); a far
        # smaller scale would blow inputs up until every prediction saturates to the same answer.
        if ((scale != 1) & no_spread(mean / 10, scale)).any():
            raise _fail(path, "a standardization scale is too small to come from training")
    target = layout.target
    target.mean, target.scale = arrays["y_mean"], arrays["y_scale"]
    net = Network(layout.sizes, layout.activation, layout.loss, dtype=np.dtype(layout.dtype).type)
    net.params[...] = arrays["params"]
    pre = Preprocessor(layout.features, arrays["x_mean"], arrays["x_scale"])
    history = {k: arrays[f"history_{k}"] for k in HISTORY_KEYS}
    return Model(layout.kind, net, pre, target, layout.na_values, config=layout.config, info=layout.info,
                 history=history, written_by=layout.written_by)
