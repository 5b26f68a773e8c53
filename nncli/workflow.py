"""Training as plain functions that return data: a table -> training data -> a trained model.

`cli.py` parses options and shows results; everything between reading a CSV and
having a model to save happens here (using one happens in `apply.py`). Never
prints, never imports typer or rich, so benchmarks and tests drive exactly the
code path the CLI uses.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import sys
from array import array
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from nncli import stop_signals
from nncli.apply import (REFUSED_TARGET_HINT, check_missing, encode_notices, load_eval_arrays, missing_targets,
                         refuse_missing_targets)
from nncli.core.model import HISTORY_KEYS, Model
from nncli.core.network import Network
from nncli.core.preprocessing import (MAX_CLASSES, EncodeReport, Preprocessor, Target, cell_number, column_stats,
                                      fit_preprocessor, fit_target, infer_task, no_spread, scale_floor)
from nncli.core.schedules import Schedule
from nncli.core.training import EpochStats, TrainConfig, fit_iter, keeps_best, round_epoch
from nncli.csv_columns import cell_hints, refuse_header_rows
from nncli.csv_io import DEFAULT_NA_VALUES, Column, Table, TableReader
from nncli.csv_source import display_name, file_identity, refuse_bad_names
from nncli.errors import DataError, UsageError, names_hint, one_column_hint, option_value, quoting_hint, shorten
from nncli.model_file import check_header_size
from nncli.table_checks import (column_notices, feature_notices, headerless_notice, leak_notices,
                                refuse_stray_target_text, refuse_stray_text, target_name_notices, target_notices,
                                whole_number_classes_notice)


@dataclass(frozen=True)
class DataOptions:
    """How to read a table: which columns play which role, what counts as missing."""

    target: tuple[str, ...] = ()  # empty: the last column
    features: tuple[str, ...] = ()  # empty: every other column
    ignore: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    na_values: tuple[str, ...] = DEFAULT_NA_VALUES
    missing: str = "impute"  # or "error"
    max_categories: int = 50
    delimiter: str | None = None
    dtype: str = "float32"
    log_target: bool = False  # regression on log(1 + y)


@dataclass(frozen=True)
class ModelOptions:
    kind: str = "mlp"
    hidden: tuple[int, ...] = (128,)  # (as the CLI's)
    activation: str = "relu"
    dropout: float = 0.0


@dataclass
class ColumnInfo:
    name: str
    kind: str  # numeric, categorical, ignored, target
    missing: int = 0
    categories: int = 0


@dataclass
class TrainingData:
    """Standardized training (and validation) arrays, with the encoders that made them."""

    source: str
    pre: Preprocessor
    target: Target
    X: np.ndarray
    Y: np.ndarray
    X_val: np.ndarray | None = None
    Y_val: np.ndarray | None = None
    sample_weight: np.ndarray | None = None
    columns: list[ColumnInfo] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    sha256: str = ""
    na_values: list[str] = field(default_factory=lambda: list(DEFAULT_NA_VALUES))
    constant: np.ndarray | None = None  # (n_inputs,) bool: inputs the same on every training row
    source_file: dict | None = None  # the training file's `file_identity` as reading began
    val_source: str | None = None  # the --val file's name (which, with early stopping, picks the weights kept)

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]


def _dtype(name: str) -> type:
    return np.float64 if name == "float64" else np.float32


def _resolve_columns(header: list[str], opts: DataOptions, source: str, line: int = 1,
                     delimiter: str = ",") -> tuple[list[str], list[str]]:
    """(feature names, target names) from the header and the options."""
    names = set(header)  # sets, not lists, throughout: a file may have 100,000 columns
    for option, group in (("--target", opts.target), ("--features", opts.features), ("--ignore", opts.ignore),
                          ("--categorical", opts.categorical)):
        refuse_unknown_columns(option, group, header, names, source, line)
    targets = list(opts.target) or [header[-1]]
    for option, group in (("--features", opts.features), ("--ignore", opts.ignore), ("--categorical", opts.categorical)):
        both = [t for t in targets if t in group]  # (it was dropped from the group without a word)
        if both:
            hints = [] if opts.target else ["the target is the last column unless --target NAME"]
            if option == "--categorical" and len(targets) == 1:
                hints.append("with --task classification its values are classes")
            hint = "; ".join(hints) or None
            raise UsageError(f"--target and {option} both name {shorten(both[0], 40)}" if opts.target else
                             f"{option} names {shorten(both[0], 40)}, the target column", hint=hint)
    ignored = set(opts.ignore)
    ignored_too = [c for c in opts.categorical if c in ignored]  # (it was dropped without a word)
    if ignored_too:
        raise UsageError(f"--categorical and --ignore both name {shorten(ignored_too[0], 40)}")
    chosen = set(opts.features)
    left_out = [c for c in opts.categorical if opts.features and c not in chosen]
    if left_out:
        raise UsageError(f"--categorical names {shorten(left_out[0], 40)}, which --features leaves out",
                         hint="a column --categorical names is a feature: add it to --features")
    if opts.features:
        # In the file's order, as --ignore leaves them: the order given must not change the model (the
        # first input's weights would start as another's). (Unknown names and the target: refused above.)
        features = list(dict.fromkeys(c for c in header if c in chosen))
    else:
        not_features = set(targets) | set(opts.ignore)
        features = [c for c in header if c not in not_features]
    if not features:
        # (`y,y` or `,,`: every column dropped as the target's name, which is the header's fault)
        refuse_bad_names(header, targets, source, delimiter, line)
        hint = None
        if len(header) == 1:
            hint = one_column_hint(opts.delimiter)
        elif opts.ignore and not opts.features:
            hint = (f"--ignore leaves out every column but the target{'s' if len(targets) > 1 else ''} "
                    f"{', '.join(shorten(t, 40) for t in targets)}")
        raise DataError("no feature columns left (the table needs at least one besides the target)",
                        file=source, line=line, hint=hint)
    return features, targets


def refuse_unknown_columns(option: str, group: tuple[str, ...], header: list[str], names: set[str], source: str,
                           line: int) -> None:
    """A located DataError if an option names columns the header (its `names`) lacks."""
    unknown = [c for c in group if c not in names]
    if unknown:
        raise DataError(f"no column named {', '.join(shorten(c, 40) for c in unknown)} (in {option})", file=source,
                        line=line,
                        hint=names_hint(unknown, header, "the header has") + quoting_hint(option, unknown, header))


def read_training_table(path: str, opts: DataOptions) -> tuple[Table, list[str], list[str], list[ColumnInfo]]:
    """Read a training table; decide which feature columns are categorical."""
    na = frozenset(opts.na_values)
    as_text: set[str] = set()
    start = _stdin_offset() if path == "-" else 0
    while True:
        with TableReader(path, (), na_values=na, delimiter=opts.delimiter, dtype=_dtype(opts.dtype)) as reader:
            header = reader.header
            features, targets = _resolve_columns(header, opts, reader.name, reader.header_line, reader.delimiter)
            check_header_size(features, reader.name, reader.header_line)
            reader.select(features + targets, text=set(opts.categorical) | set(targets),
                          auto=set(features) - set(opts.categorical), auto_as_text=as_text)
            table = reader.read()
        refuse_stray_text(table, features, opts.categorical, opts.na_values)
        refuse_header_rows(table, features + targets)
        # A feature that turned to text after whole chunks of numbers has lost how those were
        # written ('007', '1.50'): as categories they must be the cells as written, the way
        # predict reads them. A file is read again with such columns as text from the start.
        again = reader.retexted - as_text
        if not again:
            break
        if not _rereadable(path):
            c = sorted(again)[0]
            line, cell = table.columns[c].first_text or (None, "")
            raise DataError(f"column {shorten(c, 40)} turns to text ({shorten(cell)}) after many rows of numbers, "
                            "and from this stream nncli cannot go back for how those were written",
                            file=reader.name, line=line,
                            hint=f"use --categorical {option_value(c)} (or --ignore {option_value(c)}), or read from a file")
        as_text |= again
        if path == "-":  # a regular file given as stdin (`fit - < data.csv`), where it was given
            sys.stdin.buffer.seek(start)  # (`{ read -r line; nncli fit -; } < f`: past that first line)
    used = set(features) | set(targets)
    return table, features, targets, [ColumnInfo(c, "ignored") for c in header if c not in used]


def _stdin_offset() -> int:
    """Where in a regular file given as stdin reading starts (0 for a pipe)."""
    try:
        return sys.stdin.buffer.tell()
    except (OSError, ValueError, AttributeError):
        return 0


def _rereadable(path: str) -> bool:
    """A path that can be read a second time: a regular file, also as stdin (not a pipe or FIFO)."""
    try:
        return stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode if path == "-" else os.stat(path).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def _kinds(table: Table, features: list[str]) -> dict[str, str]:
    return {c: "categorical" if table.columns[c].is_text else "numeric" for c in features}


def _take(columns: dict[str, Column], rows: np.ndarray | slice) -> dict[str, np.ndarray]:
    return {c: col.values[rows] for c, col in columns.items()}


FEW_SPLIT_ROWS = 10  # fewer validation or training rows than this from --val-split get a notice


def split_rows(n: int, fraction: float, rng: np.random.Generator, labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) row indices; stratified by class when labels are given.

    Validation takes round(n * fraction) rows (halves up), at least one, and leaves at least
    one training row (of each class, unless every class has a single row)."""
    wanted = max(1, math.floor(round(n * fraction, 9) + 0.5))  # (90 * 0.35 is 31.499999999999996)
    if labels is None:
        perm = rng.permutation(n)
        k = min(wanted, n - 1)
        return np.sort(perm[k:]), np.sort(perm[:k])
    groups = [rng.permutation(np.nonzero(labels == c)[0]) for c in np.unique(labels)]
    sizes = np.array([len(g) for g in groups])
    room = sizes - 1  # every class keeps a training row
    total = min(wanted, int(room.sum()))
    if total == 0:  # every class has a single row: one of them must go
        val_rows = rng.permutation(n)[:1]
    else:
        # The fraction of each class, and of the whole: each class its whole share, then one more
        # row for the classes with the largest remainders until the total is reached.
        exact = sizes * fraction
        k = np.minimum(np.floor(exact).astype(np.int64), room)
        order = np.argsort(-(exact - np.floor(exact)), kind="stable")
        while k.sum() < total:  # (more than one round only when small classes have no room left)
            for i in order:
                if k.sum() < total and k[i] < room[i]:
                    k[i] += 1
        val_rows = np.sort(np.concatenate([g[:m] for g, m in zip(groups, k)]))
    return np.setdiff1d(np.arange(n), val_rows), val_rows


def split_validation(n: int, val_split: float, rng: np.random.Generator | None, codes: np.ndarray | None,
                     classes: list[str], source: str, notices: list[str], two_classes: bool = True
                     ) -> tuple[np.ndarray, np.ndarray]:
    """`split_rows` for --val-split, refusing a split that leaves a class no training row (codes: class
    indices into `classes`, or None for a regression), or (`two_classes`) a single class: a model given
    to --init has its classes. Notices of what it leaves thin go to `notices`."""
    if n < 2:
        raise DataError("--val-split needs at least two rows", file=source,
                        hint="train on a single row with --val-split 0")
    train_rows, val_rows = split_rows(n, val_split, rng or np.random.default_rng(0), codes)
    if codes is not None:
        counts = np.bincount(codes[train_rows], minlength=len(classes))
        present = np.bincount(codes, minlength=len(classes)) > 0  # (an --init model's classes may be absent)
        if two_classes and np.count_nonzero(counts) < 2:
            raise DataError(f"with --val-split {val_split:g}, the training rows hold a single class",
                            file=source, hint="classification needs two; use more rows or --val-split 0")
        if not counts[present].all():  # (every class had a single row, and one went to validation)
            raise DataError(f"with --val-split {val_split:g}, no training row has the class "
                            f"{shorten(classes[int(np.flatnonzero(present & (counts == 0))[0])])}",
                            file=source, hint="every class needs a training row; use more rows or --val-split 0")
        # (a class of 2 rows lost one to validation in 7 seeds of 13, without a word)
        lone = np.flatnonzero((counts == 1) & (np.bincount(codes, minlength=len(counts)) > 1))
        if lone.size:
            named = ", ".join(shorten(classes[k], 20) for k in lone[:3]) + (", …" if lone.size > 3 else "")
            notices.append(f"with --val-split {val_split:g}, {lone.size:,} class{'es' * (lone.size > 1)} keep"
                           f"{'s' * (lone.size == 1)} a single training row ({named}; the rest went to "
                           "validation): the model barely learns them (more rows, or --val-split 0)")
    few = min((len(val_rows), "validation"), (len(train_rows), "training"))
    if few[0] < FEW_SPLIT_ROWS:  # (--val-split 0.0001: early stopping on one row's loss, without a word)
        notices.append(f"--val-split {val_split:g} leaves {few[0]:,} row{'s' * (few[0] != 1)} for {few[1]}: "
                       + ("its loss is noise, and early stopping follows it (a larger --val-split, or --val FILE)"
                          if few[1] == "validation" else "the model learns from a handful (a smaller --val-split)"))
    return train_rows, val_rows


def load_training_data(path: str, opts: DataOptions, task: str, *, val_path: str | None = None,
                       val_split: float | None = None, class_weight: str | None = None,
                       rng: np.random.Generator | None = None) -> TrainingData:
    """Read, encode and (optionally) split training data."""
    dtype = _dtype(opts.dtype)
    na = frozenset(opts.na_values)
    identity = file_identity(path)
    table, features, targets, infos = read_training_table(path, opts)
    notices: list[str] = target_name_notices(features, targets, bool(opts.target))
    headerless = headerless_notice(table)
    if headerless:
        notices.append(headerless)
    # Rows whose target is missing teach nothing: drop them (eval refuses them instead, and so does
    # --missing error).
    if opts.missing == "error":
        refuse_missing_targets(table, targets, na, REFUSED_TARGET_HINT)
    target_text = [table.columns[t].values for t in targets]
    keep = ~np.any([missing_targets(v, na) for v in target_text], axis=0)
    dropped = ""  # what a target's error adds: the rows that went, and why (say, --na-values 0 blanked a class)
    if not keep.all():
        n = int((~keep).sum())
        notices.append(f"dropped {n:,} row{'s' if n != 1 else ''} whose target is missing")
        given = [v for v in opts.na_values if v]
        dropped = f"{n:,} row{'s' if n != 1 else ''} whose target is missing {'were' if n != 1 else 'was'} dropped" + (
            f" (--na-values {option_value(*given)} makes cells missing)" if set(given) - set(DEFAULT_NA_VALUES) else "")
        table = table.rows(keep)
        target_text = [v[keep] for v in target_text]
    if table.n_rows == 0:
        raise DataError("no rows with a target value", file=table.source)
    if opts.missing == "error":
        check_missing(table, features, na)
    kinds = _kinds(table, features)
    notices += column_notices(table, kinds, na, opts.categorical, opts.max_categories)
    if opts.log_target and task == "auto":  # (a number to predict: counts with few values too)
        task = "regression"
    inferred = task == "auto" and len(targets) == 1
    if inferred:
        task = infer_task(target_text[0])
        if task == "classification":
            refuse_stray_target_text(table, targets[0], target_text[0], set(target_text[0].tolist()), opts.na_values)
    try:
        target = fit_target(target_text, targets, task, source=table.source, lines=table.lines,
                            columns=[table.header.index(t) + 1 for t in targets], cell_hint=cell_hints(opts.na_values),
                            log=opts.log_target)
    except DataError as e:
        if dropped:
            e.hint = f"{e.hint}; {dropped}" if e.hint else dropped
        raise
    notices += target_notices(target, targets[0], inferred, bool(opts.target), opts.na_values, len(target_text[0]))
    if inferred and task == "regression":
        notices += whole_number_classes_notice(target_text[0], targets[0])
    if len(target.classes) > MAX_CLASSES:
        raise DataError(f"the target {shorten(targets[0])} has {len(target.classes):,} classes (nncli trains "
                        f"at most {MAX_CLASSES:,})", file=table.source,
                        hint="an id-like column? give another --target" + (
                            "; numbers to predict: --task regression" if all(
                                cell_number(c) is not None for c in target.classes) else ""))
    codes = target.class_index(target_text[0], source=table.source, lines=table.lines,
                               column=table.header.index(targets[0]) + 1) \
        if target.task == "classification" else None
    values = codes if codes is not None else np.column_stack([v.astype(np.float64) for v in target_text])
    stop_signals.reraise_if_lost()  # (NumPy's cast of text to numbers drops a stop's exception)
    if codes is None and len(values) > 1:
        mean, spread = column_stats(values)  # (it trained without a word; 0.1 and 0.1 + 1e-15 too, R² -5e33)
        for j in np.flatnonzero(no_spread(mean, spread)):
            notices.append(f"the target {shorten(targets[j], 40)} has the same value on every row "
                           f"({values[0, j]:g}): the model learns to predict that number, whatever the features")
    val_rows = None
    if val_split:
        train_rows, val_rows = split_validation(table.n_rows, val_split, rng, codes, target.classes, table.source,
                                                notices)
        if codes is None:  # standardized on the training rows, as the features are: no validation leaks in
            target.fit_scale(values[train_rows])
    else:
        train_rows = np.arange(table.n_rows)
    if val_rows is None:
        # The table hands its feature columns over, and encoding lets each go once it is
        # written into X (numeric ones a run at a time; columns that are views of one block of
        # the reader's free it with the last of them).
        train_features = {c: table.columns.pop(c).values for c in features}
    else:
        train_cols = _take(table.columns, train_rows)
        train_features = {c: train_cols[c] for c in features}
    pre, X = fit_preprocessor(train_features, kinds, na, dtype, consume=True)
    Y = target.encode(values[train_rows], dtype)
    X_val = Y_val = None
    if val_rows is not None:
        val_cols = _take(table.columns, val_rows)
        X_val = pre.transform({c: val_cols[c] for c in features}, na, dtype)
        Y_val = target.encode(values[val_rows], dtype)
    elif val_path is not None:
        model_like = Model("mlp", Network([pre.n_inputs, target.n_outputs], loss=target.loss, dtype=dtype), pre, target,
                           list(na))
        report = EncodeReport()
        X_val, Y_val, _, _ = load_eval_arrays(model_like, val_path, opts.delimiter, report,
                                              refuse_missing=opts.missing == "error", validation=True)
        notices += encode_notices(report, " in the validation file")
    sample_weight = class_weights(class_weight, None if codes is None else codes[train_rows], len(target.classes),
                                   dtype)
    for f in pre.features:
        infos.append(ColumnInfo(f.name, f.kind, f.missing, len(f.categories)))
    infos.extend(ColumnInfo(t, "target") for t in targets)
    order = {c: i for i, c in enumerate(table.header)}
    infos.sort(key=lambda i: order[i.name])
    constant = ~X.any(axis=0)  # (standardized: a constant column is all zeros)
    # Not constant, but scaled by the least spread standardizing takes, not its own (see `standard_scale`):
    # the standardized spread of each
    floored = np.flatnonzero(~constant & (pre.scale == scale_floor(pre.mean)))
    spreads = column_stats(X[:, floored])[1] if len(floored) else []
    faint = {int(k): float(s) for k, s in zip(floored, spreads) if s < 1}
    notices += feature_notices(pre, X.dtype, constant, len(X), faint)
    notices += leak_notices(pre, X, Y)
    imputed = EncodeReport(missing={f.name: f.missing for f in pre.features if f.missing})
    notices += [n + "; numbers get the training median, categories the '<missing>' category"
                for n in encode_notices(imputed)]
    return TrainingData(table.source, pre, target, X, Y, X_val, Y_val, sample_weight, infos, notices,
                        data_digest(X, Y), list(opts.na_values), constant, identity,
                        None if val_path is None else display_name(val_path))


def class_weights(class_weight: str | None, codes: np.ndarray | None, n_classes: int, dtype: type
                   ) -> np.ndarray | None:
    """Each training row's weight under --class-weight (codes: its class index; None for a regression).
    balanced: n / (classes x the class's rows), as scikit-learn's, over the classes the rows have."""
    if class_weight is not None and codes is None:
        raise UsageError(f"--class-weight {class_weight} weighs classes, and this target is a regression "
                         "(see --task)")
    if class_weight != "balanced" or codes is None:
        return None
    counts = np.bincount(codes, minlength=n_classes)
    w_class = len(codes) / (np.count_nonzero(counts) * np.maximum(counts, 1))
    return w_class[codes].astype(dtype)


def data_digest(X: np.ndarray, Y: np.ndarray) -> str:
    """The sha256 of the encoded training rows (`show` gives it: the same digest, the same rows trained)."""
    digest = hashlib.sha256()
    for a in (X, Y):
        digest.update(np.ascontiguousarray(a).data)
    return digest.hexdigest()


def learned_nothing(data: TrainingData, model: Model) -> str | None:
    """A notice if the saved weights' epoch did little or no better on the training rows (by its training
    figures: the mean over its batches, see `Training.model`) than a model that ignores the features:
    always the most common class (closing under LEARNED_LITTLE of the gap to every row right), or the
    mean (R² under LEARNED_LITTLE). Adam at --lr 10 saved a coin flip's model (51% on two even
    classes), its summary the only sign."""
    metric = model.info.get("final_metric")
    if metric is None:
        return None
    l2 = float(model.config.get("l2") or 0.0)
    hint = (("a model too simple for the data (--model linear draws one straight boundary, or line: an MLP "
             "bends), " if model.kind == "linear" else "")
            + "a --lr far too high or too low (lr-find suggests one), too few epochs, "
            + (f"a weight penalty too strong for so few rows (this run's --l2 is {l2:.3g}: try a smaller one), "
               if l2 >= 0.01 else "")
            + "or features that do not tell the target")
    if model.task == "regression":
        # (a constant target, to rounding: nothing to learn, and a notice says it is the same on every row)
        spread = data.Y.std(axis=0, dtype=np.float64) * data.target.scale  # (in the target's own units)
        if metric >= LEARNED_LITTLE or no_spread(data.target.mean, spread).all():
            return None
        return f"the model does little or no better than predicting the mean (training R² {metric:.3g}): {hint}"
    if data.sample_weight is not None:  # (class weights: trading accuracy for the rare classes' recall is the point)
        return None
    counts = data.Y.sum(axis=0, dtype=np.float64)
    if data.Y.shape[1] == 1:  # (one 0/1 output unit)
        counts = np.array([data.n_rows - counts[0], counts[0]])
    share = float(counts.max()) / data.n_rows
    if share >= 1 or (metric - share) / (1 - share) >= LEARNED_LITTLE:
        return None
    # Accuracy barely above the common class's share, but the log loss well under that of the class
    # shares alone: the probabilities have learned (on rare positives, 2.7% of 5,000 rows, 0.093 against
    # 0.125, a model with an AUC of 0.88 was said to have learned nothing).
    p = counts[counts > 0] / counts.sum()
    baseline = float(-(p * np.log(p)).sum())
    loss = model.info.get("final_loss")
    if loss is not None and loss < (1 - LEARNED_LITTLE) * baseline:
        return None
    return (f"the model does little or no better than always predicting the most common class (training accuracy "
            f"{metric:.4g}, that class's share {share:.4g}): {hint}")


LEARNED_LITTLE = 0.05


def still_improving(model: Model) -> str | None:
    """A notice if training ran every epoch of --epochs and was still improving at the end: over the
    last tenth of the epochs, the training loss fell by STILL_FALLING or more of itself and the training
    accuracy (R²) rose by STILL_RISING or more. At the defaults `--model linear` stopped far from a fit on
    small tables (iris: training accuracy 0.67, 0.61 on fresh rows, against 0.97 at --lr 0.01), and said
    nothing. (Accuracy as well as loss: on rows a model separates, the log loss falls for ever.)"""
    info, history = model.info, model.history
    run, kept = info.get("epochs_run", 0), info.get("weights_from_epoch", 0)
    k = run // 10
    # (the epoch kept, if early stopping restored one: among the last tenth, or training was not improving)
    if info.get("stopped") or run < 10 or run != model.config.get("epochs") or kept <= run - k:
        return None
    loss, metric = history["loss"], history["metric"]
    (l0, l1), (m0, m1) = ((float(h[kept - k - 1]), float(h[kept - 1])) for h in (loss, metric))
    if not all(map(math.isfinite, (l0, l1, m0, m1))) or l0 <= 0:
        return None
    if (l0 - l1) / l0 < STILL_FALLING or m1 - m0 < STILL_RISING:
        return None
    what = "accuracy" if model.task == "classification" else "R²"
    checked = info.get("val_rows", 0) > 0
    last = "the last epoch" if k == 1 else f"the last {k:,}"
    return (f"training was still improving when its {run:,} epochs ran out (over {last}: training {what} "
            f"{m0:.3g} → {m1:.3g}, loss {l0:.3g} → {l1:.3g}): more --epochs or a higher --lr would fit the training "
            "rows closer" + ("" if checked else "; whether that helps on new rows, only rows held out can tell "
                             "(--val-split 0.2)"))


STILL_FALLING, STILL_RISING = 0.02, 0.01


def setting_notices(config: TrainConfig, kind: str, lr_given: bool) -> list[str]:
    """Notices of settings that undo themselves: SGD or momentum at the default rate (Adam's, or a
    linear model's, when --lr is not `lr_given`), which takes small steps; a step schedule that never
    steps in the epochs it has."""
    notices = []
    suggested = 0.1 if config.optimizer == "sgd" else 0.01
    if config.optimizer != "adam" and not lr_given and config.lr < suggested:
        whose = "a linear model's" if kind == "linear" else "Adam's"
        notices.append(f"--optimizer {config.optimizer} at the default --lr {config.lr:g}, {whose}, takes small steps: "
                       f"try --lr {suggested:g}, or ask `nncli lr-find --optimizer {config.optimizer}`")
    after = config.epochs - (config.warmup or 0)
    if config.lr_schedule == "step" and (config.lr_step or 10) >= after:
        notices.append(f"--lr-schedule step never steps: --lr-step {config.lr_step or 10} is not shorter than the "
                       f"{after:,} epoch{'s' if after > 1 else ''}{' after the warm-up' if config.warmup else ''} "
                       f"({'give a smaller --lr-step' if after > 1 else 'give more --epochs'})")
    return notices


def build_network(data: TrainingData, mopts: ModelOptions, dtype: str, rng: np.random.Generator) -> Network:
    hidden = list(mopts.hidden) if mopts.kind == "mlp" else []
    net = Network([data.pre.n_inputs, *hidden, data.target.n_outputs], mopts.activation, data.target.loss,
                  dtype=_dtype(dtype), dropout=mopts.dropout if hidden else 0.0)
    net.initialize(rng)
    if data.constant is not None:
        # An input that is the same on every training row gets no gradient: its random first weights
        # would stay, add noise to predictions where it varies, and show in `show`'s equation.
        net.W[0][data.constant] = 0.0
    return net


def _schedule_settings(config: TrainConfig) -> dict:
    """The settings the learning-rate schedule runs with, its defaults filled in (a learner could not
    see "x 0.5 every 10 epochs" anywhere: the model stored lr_decay and lr_step as None)."""
    s = Schedule(config.lr_schedule, config.lr, config.epochs, decay=config.lr_decay, step=config.lr_step,
                 warmup=config.warmup)
    name = config.lr_schedule
    return {**({"lr_decay": s.decay} if name in ("step", "exponential", "plateau") else {}),
            **({"lr_step": s.step} if name in ("step", "plateau") else {}),
            **({"warmup": s.warmup} if name == "onecycle" else {})}


# A linear model of one output and at most this many inputs records its parameters on round epochs:
# the path gradient descent takes, which `show` lists as equations (more would not read as one line).
PATH_MAX_INPUTS = 8


def follows_path(net: Network, kind: str) -> bool:
    """Whether a model records its parameters' path (see PATH_MAX_INPUTS)."""
    return kind == "linear" and net.sizes[-1] == 1 and net.sizes[0] <= PATH_MAX_INPUTS


class Training:
    """A training run: iterate it for EpochStats; afterwards `model()` has the result."""

    def __init__(self, data: TrainingData, mopts: ModelOptions, config: TrainConfig, *, seed: int, dtype: str,
                 should_stop: Callable[[], bool | str] | None = None, extra_config: dict | None = None,
                 threads: int = 1, net: Network | None = None, init: dict | None = None):
        self.data, self.mopts, self.config = data, mopts, config
        rng = np.random.default_rng(seed)
        # (`net`: one to go on training, with `init` its record: see `nncli.continued`)
        self.net = build_network(data, mopts, dtype, rng) if net is None else net
        self.init = init
        self.net.use_threads(threads)
        self.rng = rng
        self.should_stop = should_stop
        self.progress: Callable[[int, int], None] | None = None  # see fit_iter (a live screen sets it)
        # Per epoch, as 8-byte numbers (Python floats in lists took ~370 bytes an epoch with the L2 terms:
        # 3.7 GB over the 10 million epochs --epochs allows)
        self.history: dict[str, array] = {k: array("d") for k in HISTORY_KEYS}
        self._penalties = (array("d"), array("d"))  # each epoch's L2 terms, training and validation
        # Per layer sizes on round epochs, as EpochStats has them: field -> {epoch: one number a layer}
        self._layer_sizes: dict[str, dict[int, tuple[float, ...]]] = {"gradient_rms": {}, "weight_rms": {}}
        # A small linear model's parameters at the start (epoch 0) and the end of round epochs (`show`
        # lists its equation's path)
        self._path: dict[int, list[float]] | None = None
        self._path_ends: dict[str, tuple[int, list[float]]] = {}  # the best and the last epoch's, whichever they are
        if follows_path(self.net, mopts.kind):
            self._path = {0: self.net.params.astype(np.float64).tolist()}
        self.last: EpochStats | None = None
        self.config_record = {**config.as_dict(), **_schedule_settings(config), "model": mopts.kind,
                              "hidden": list(mopts.hidden), "activation": mopts.activation, "dropout": mopts.dropout,
                              "seed": seed, "dtype": dtype, **(extra_config or {})}

    def __iter__(self) -> Iterator[EpochStats]:
        d = self.data
        val = (d.X_val, d.Y_val) if d.X_val is not None else None
        for stats in fit_iter(self.net, d.X, d.Y, self.config, self.rng, val=val,
                              sample_weight=d.sample_weight, should_stop=self.should_stop,
                              progress=self.progress):
            for k in HISTORY_KEYS:
                v = getattr(stats, k)
                # An epoch cut short by Ctrl-C has no training loss or metric of its own (those of its
                # first batches would pass for an epoch's in the charts); its validation figures are real.
                cut = stats.partial and k in ("loss", "metric")
                self.history[k].append(math.nan if v is None or cut else float(v))
            # The L2 terms beside those losses (not saved as history: `info` gives the final epoch's)
            self._penalties[0].append(math.nan if stats.partial else stats.penalty)
            self._penalties[1].append(math.nan if stats.val_penalty is None else stats.val_penalty)
            for name, sizes in self._layer_sizes.items():
                if getattr(stats, name) is not None:
                    sizes[stats.epoch] = getattr(stats, name)
            if self._path is not None and np.isfinite(self.net.params).all():
                params = self.net.params.astype(np.float64).tolist()
                if round_epoch(stats.epoch):
                    self._path[stats.epoch] = params
                self._path_ends["last"] = (stats.epoch, params)
                if stats.best_epoch == stats.epoch:
                    self._path_ends["best"] = (stats.epoch, params)
            self.last = stats
            yield stats

    @property
    def keeps_best(self) -> bool:
        """Whether the weights kept are the best epoch's, else the last (see `fit_iter`)."""
        return keeps_best(self.config, self.data.X_val is not None)

    def model(self) -> Model:
        s = self.last
        info = {
            "rows": int(self.data.n_rows),
            "val_rows": int(self.data.X_val.shape[0]) if self.data.X_val is not None else 0,
            "source": self.data.source,
            "data_sha256": self.data.sha256,
            **({"source_file": self.data.source_file} if self.data.source_file else {}),
            **({"val_source": self.data.val_source} if self.data.val_source else {}),
            "epochs_run": s.epoch if s else 0,
            "best_epoch": s.best_epoch if s else 0,
            "stopped": s.stopped if s else None,
            "weights_from_epoch": (s.best_epoch if self.keeps_best else s.epoch) if s else 0,
            "seconds": float(sum(self.history["seconds"])),
            **({"init": self.init} if self.init else {}),
        }
        for name, sizes in self._layer_sizes.items():  # (see EpochStats.gradient_rms, weight_rms; `show` gives them)
            if sizes:
                info[name] = {"epochs": list(sizes), "rms": [list(r) for r in sizes.values()]}
        if self._path:  # (with the epoch whose weights are kept, and the last, round or not)
            steps = {**self._path, **dict(self._path_ends.values())}
            steps = {e: steps[e] for e in sorted(steps)}
            info["param_path"] = {"epochs": list(steps), "params": list(steps.values())}
        if info["weights_from_epoch"]:
            # Final numbers are those of the epoch whose weights are saved (the best when it is restored):
            # its training figures the mean over its batches as they trained (see README), its validation
            # figures the end-of-epoch weights' own.
            i = info["weights_from_epoch"] - 1
            for k in ("loss", "metric", "val_loss", "val_metric"):
                v = self.history[k][i]
                info[f"final_{k}"] = v if math.isfinite(v) else None  # (the metadata is JSON: no inf)
            # The weight penalty that training added to those data losses (0 without L2)
            for k, v in zip(("final_l2_penalty", "final_val_l2_penalty"), (p[i] for p in self._penalties)):
                info[k] = v if math.isfinite(v) else None
        model = Model(self.mopts.kind, self.net, self.data.pre, self.data.target,
                      list(self.data.na_values),
                      config=self.config_record, info=info,
                      history={k: np.array(v, np.float64) for k, v in self.history.items()})
        return model
