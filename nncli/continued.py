"""Going on training a saved model (`fit --init`, `lr-find --init`): the options it decides, the data
read with its encoders, its network to start from, and what is said about it afterwards.

Like `workflow.py`, plain functions that return data; never prints, never imports typer or rich.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nncli.apply import encode_notices, load_eval_arrays
from nncli.core.model import Model
from nncli.core.network import Network
from nncli.core.preprocessing import LOG_TARGET_HINT, MISSING, EncodeReport
from nncli.core.training import DEFAULT_L2_ROWS, default_l2, evaluate
from nncli.csv_io import TableReader
from nncli.csv_source import display_name, file_identity
from nncli.errors import DataError, UnknownClassError, UsageError, shorten
from nncli.model_file import MAX_EPOCHS_BEHIND
from nncli.workflow import (ColumnInfo, DataOptions, ModelOptions, TrainingData, class_weights, data_digest,
                            load_training_data, refuse_unknown_columns, split_validation)


# The options a model given to --init decides (its columns, their encoding, its layers): given, each must
# agree with the model (a command line that trained it may be run again with --init added).
INIT_KEPT = {"target": "--target", "features": "--features", "ignore": "--ignore", "categorical": "--categorical",
             "na_values": "--na-values", "max_categories": "--max-categories", "task": "--task",
             "log_target": "--log-target", "model": "--model", "hidden": "--hidden", "activation": "--activation",
             "dtype": "--dtype"}


def _target_kind(target) -> str:
    """What the model predicts, as `--log-target`'s disagreement with an --init model says it."""
    names = ", ".join(shorten(n, 40) for n in target.names)
    if target.task == "classification":
        return f"the classes of {names} as its target: --log-target is for regression"
    if target.log:
        return f"{', '.join(target.term(n) for n in target.names)} as its target"
    return f"{names} itself as its target, not log(1 + {shorten(target.names[0], 40)})"


def init_options(start: Model, dopts: DataOptions, mopts: ModelOptions, task: str, given: set[str]) -> ModelOptions:
    """The model options of a run that goes on from `start` (fit --init): its layers, with this run's
    dropout. A UsageError for an option in `given` (INIT_KEPT's keys) that the model disagrees with."""
    net, pre, target = start.network, start.pre, start.target
    hidden = tuple(net.sizes[1:-1])
    categorical = {f.name for f in pre.features if f.kind == "categorical"}
    kept = set(pre.names) | set(target.names)
    nas = [v for v in start.na_values if v]
    clash = [c for c in dopts.ignore if c in kept]
    most = max((sum(c != MISSING for c in f.categories) for f in pre.features), default=0)
    agrees = {  # option: (whether it agrees, what the model has)
        "target": (list(dopts.target) == list(target.names), ", ".join(shorten(n, 40) for n in target.names)),
        "features": (set(dopts.features) == set(pre.names),
                     "the feature columns " + ", ".join(shorten(c, 20) for c in pre.names[:5])
                     + (f", … ({len(pre.names):,} in all)" if len(pre.names) > 5 else "")),
        "ignore": (not clash, f"{shorten(clash[0], 40)} as {'its target' if clash[0] in target.names else 'a feature'}"
                   if clash else ""),
        "categorical": (set(dopts.categorical) <= categorical,
                        f"categorical columns {', '.join(shorten(c, 40) for c in sorted(categorical))}" if categorical
                        else "no categorical column"),
        "na_values": (set(dopts.na_values) == set(start.na_values),
                      "the missing-cell texts " + (",".join(nas) if nas else "'' (empty cells only)")),
        # (counted as fit counts them, the values present: not the '<missing>' category fit added)
        "max_categories": (most <= dopts.max_categories, f"{most:,} categories in a column"),
        "task": (task in ("auto", start.task), start.task),
        "log_target": (dopts.log_target == target.log, _target_kind(target)),
        "model": (mopts.kind == start.kind, start.kind),
        "hidden": (tuple(mopts.hidden) == hidden, ",".join(map(str, hidden)) if hidden else "no hidden layer"),
        "activation": (bool(hidden) and mopts.activation == net.activation,
                       net.activation if hidden else "no hidden layer"),
        "dtype": (dopts.dtype == net.dtype.name, net.dtype.name),
    }
    for key in INIT_KEPT:
        ok, theirs = agrees[key]
        if key in given and not ok:
            raise UsageError(f"{INIT_KEPT[key]} differs from the model given to --init (it has {theirs})",
                             hint="--init keeps the model's columns, their encoding and its layers: leave the option "
                                  "out, or train a new model without --init")
    if mopts.dropout and not hidden:
        raise UsageError("--dropout is for hidden layers, and the model given to --init is linear")
    return ModelOptions(start.kind, hidden, net.activation, mopts.dropout)


def load_data(start: Model | None, path: str, dopts: DataOptions, task: str, **kwargs) -> TrainingData:
    """A run's training data: read as the model given to --init reads it (`load_init_data`), or without
    one learned from the file (`workflow.load_training_data`). kwargs: val_path, val_split, class_weight,
    rng, as both take them."""
    if start is None:
        return load_training_data(path, dopts, task, **kwargs)
    return load_init_data(start, path, missing=dopts.missing, delimiter=dopts.delimiter, ignore=dopts.ignore, **kwargs)


def load_init_data(model: Model, path: str, *, missing: str = "impute", delimiter: str | None = None,
                   val_path: str | None = None, val_split: float | None = None, class_weight: str | None = None,
                   rng: np.random.Generator | None = None, ignore: tuple[str, ...] = ()) -> TrainingData:
    """Data to go on training a saved model on (`fit --init`): read and encoded with the model's own
    columns, scaling, categories and classes, as `eval` reads a file, not fitted anew, so that the
    weights it learned still mean what they did. Rows whose target is missing are dropped, as `fit`
    drops them; a class the model does not have is an error, and so is an `ignore` column the file lacks
    (as without --init: a typo was accepted)."""
    identity = file_identity(path)
    report = EncodeReport()
    header: list[str] = []

    def check_header(reader: TableReader) -> None:
        refuse_unknown_columns("--ignore", ignore, reader.header, set(reader.header), reader.name, reader.header_line)
        header.extend(reader.header)

    def read(file: str, into: EncodeReport, header: Callable[[TableReader], None] | None = None,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        try:
            return load_eval_arrays(model, file, delimiter, into, refuse_missing=missing == "error",
                                    validation=True, header=header)
        except UnknownClassError as e:
            if not e.spelt_otherwise:
                e.hint = (f"{e.hint}; --init keeps the model's classes: a new class needs a new model "
                          "(fit without --init)")
            raise
        except DataError as e:
            if e.hint == LOG_TARGET_HINT:  # (the option is the model's, not the command line's)
                e.hint = "the model given to --init predicts log(1 + y): it cannot go on training on a target below 0"
            raise

    X, Y, raw, _ = read(path, report, header=check_header)
    notices = encode_notices(report)
    target = model.target
    codes = raw if model.task == "classification" else None
    if codes is not None:
        absent = [c for c, k in zip(target.classes, np.bincount(codes, minlength=len(target.classes))) if not k]
        if absent:
            named = ", ".join(shorten(c, 20) for c in absent[:3]) + (", …" if len(absent) > 3 else "")
            notices.append(f"{shorten(display_name(path))} has no row of {len(absent):,} of the model's "
                           f"{len(target.classes):,} classes ({named}): training on it moves the model away from "
                           f"{'them' if len(absent) > 1 else 'it'}")
    X_val = Y_val = None
    if val_split:
        train_rows, val_rows = split_validation(len(X), val_split, rng, codes, target.classes, display_name(path),
                                                notices, two_classes=False)
        X_val, Y_val, X, Y = X[val_rows], Y[val_rows], X[train_rows], Y[train_rows]
        if codes is not None:
            codes = codes[train_rows]
    elif val_path is not None:
        val_report = EncodeReport()
        X_val, Y_val, _, _ = read(val_path, val_report)  # (its errors' hints as the training file's)
        notices += encode_notices(val_report, " in the validation file")
    net = model.network
    X, Y = (np.ascontiguousarray(a, net.dtype) for a in (X, Y))
    infos = [ColumnInfo(f.name, f.kind, report.missing.get(f.name, 0), len(f.categories)) for f in model.pre.features]
    infos.extend(ColumnInfo(t, "target") for t in target.names)
    used = {i.name for i in infos}  # (the file's other columns, in its order, as a fresh fit lists them)
    order = {c: k for k, c in enumerate(header)}
    infos = sorted(infos + [ColumnInfo(c, "ignored") for c in header if c not in used], key=lambda i: order[i.name])
    return TrainingData(display_name(path), model.pre, target, X, Y, X_val, Y_val,
                        class_weights(class_weight, codes, len(target.classes), net.dtype.type), infos, notices,
                        data_digest(X, Y), list(model.na_values), None, identity,
                        None if val_path is None else display_name(val_path))


def start_was_better(start: Model | None, data: TrainingData, trained: Model) -> str | None:
    """A notice if the model a run went on from (fit --init) scores a lower validation loss than the
    weights kept: early stopping chooses among this run's epochs only, and a converged model trained on
    at too high a rate came out worse (0.1508 -> 0.1527) without a word."""
    kept = trained.info.get("final_val_loss")
    if start is None or data.X_val is None or kept is None:
        return None
    before = evaluate(start.network, data.X_val, data.Y_val)[0]
    if not before < kept:
        return None
    return (f"the model given to --init scores a lower validation loss ({before:.4g}) than the weights kept "
            f"({kept:.4g}, epoch {trained.info['weights_from_epoch']:,}): this run did not improve on it")


def continued_network(start: Model, dropout: float) -> Network:
    """A copy of a saved model's network to go on training (fit --init), with this run's dropout."""
    old = start.network
    net = Network(old.sizes, old.activation, old.loss_name, dtype=old.dtype.type,
                  dropout=dropout if len(old.sizes) > 2 else 0.0)
    net.params[:] = old.params
    return net


def epochs_behind(model: Model) -> int:
    """How many epochs of training a saved model's weights have had: those of its own run up to the epoch
    kept, and those of the model it started from (fit --init), and so on back."""
    init = model.info.get("init")
    # (at most what a model file may say: a crafted file at the limit made fit save one its loader refused)
    return min(int(model.info.get("weights_from_epoch", 0)) + (int(init["epochs_before"]) if init else 0),
               MAX_EPOCHS_BEHIND)


def init_record(start: Model, path: str) -> dict:
    """What a model that went on from `start` (read from `path`) records of it (`info.init`): the file, the
    data it last trained on and the epochs behind its weights (`show` says)."""
    return {"file": path, "source": str(start.info.get("source", "?")), "epochs_before": epochs_behind(start)}


def unset_l2(start: Model | None, rows: int) -> tuple[float, dict]:
    """The L2 penalty without --l2, and what the model's config records of where it came from: a model
    given to --init keeps its own (fine-tuning a model of 4,000 rows on 60, the rule's 1.5 / rows was
    53 times it: log loss on fresh rows 0.030 -> 0.098, against 0.043 with its own); else less weight
    decay the more rows there are (see `core.training.default_l2`)."""
    if start is not None and isinstance(start.config.get("l2"), (int, float)):
        return float(start.config["l2"]), {"l2_from_init": True}
    return default_l2(rows), {"l2_default": DEFAULT_L2_ROWS}  # (for `show`: the rule, with the rows in `info`)
