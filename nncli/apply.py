"""Using a trained model on a file: `predict` streams predictions, `eval` scores them.

The model's encoders turn each chunk's columns into its inputs (`Model.inputs`); plain numeric
features skip that and go from the reader's block of numbers into the first layer (`predict_chunks`).
`workflow.py` reads a `--val` file through `load_eval_arrays` too. Never prints, never imports typer
or rich.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator, Sequence

import numpy as np

from nncli import stop_signals
from nncli.core import metrics
from nncli.core.losses import log_softmax
from nncli.core.model import Model
from nncli.core.preprocessing import (EncodeReport, cell_number, check_log_target, is_missing_text, is_text,
                                      numbers_among, target_numbers)
from nncli.csv_columns import cell_hints, header_row, header_row_error, refuse_header_rows
from nncli.csv_io import Table, TableReader, display_name
from nncli.csv_source import file_identity
from nncli.errors import DataError, shorten
from nncli.options import same_file
from nncli.pipeline import ahead


def missing_targets(cells: np.ndarray, na: frozenset[str]) -> np.ndarray:
    """Which target cells (text) are missing: a missing-value token, or a number equal to one
    (with --na-values -999, '-999.0' too, as in numeric features; see ColumnParser.mark_missing)."""
    miss = is_missing_text(cells, na)
    numbers = set(numbers_among(na, np.float64).tolist())
    if numbers:
        miss |= np.fromiter((cell_number(s) in numbers for s in cells.tolist()), bool, len(cells))
    return miss


def check_missing(table: Table, features: Sequence[str], na: frozenset[str]) -> None:
    """With --missing error: refuse the first missing feature cell."""
    first: tuple[int, int, str] | None = None  # (line, column number, name): the earliest in the file
    position = {c: j for j, c in enumerate(table.header, 1)}  # (not header.index: files of 100,000 columns)
    for c in features:
        v = table.columns[c].values
        miss = is_missing_text(v, na) if is_text(v) else np.isnan(v)
        hits = np.nonzero(miss)[0]
        if hits.size:
            cell = (int(table.lines[hits[0]]), position[c], c)
            first = cell if first is None else min(first, cell)
    if first is not None:
        line, column, c = first
        raise DataError("missing value", file=table.source, line=line, column=column,
                        column_name=c, hint="fill it in, or use --missing impute")


def encode_notices(report: EncodeReport, where: str = "") -> list[str]:
    """What encoding a file for a trained model had to do: cells imputed, categories unseen, missing
    cells with no category of their own."""
    def counts(per_column: dict[str, int]) -> str:
        return ", ".join(f"{shorten(c, 30)} ({n:,})" for c, n in per_column.items())
    notices = []
    if report.missing:
        notices.append(f"imputed missing cells{where}: {counts(report.missing)}")
    if report.unseen:
        cased = [f"{shorten(u, 20)} differs from training's {shorten(t, 20)} only in case" for u, t in
                 filter(None, report.case_of.values())]
        notices.append(f"categories{where} not seen in training were encoded as all zeros: {counts(report.unseen)}"
                       + (f" ({'; '.join(cased[:3])}: categories are matched exactly)" if cased else ""))
    if report.missing_zeros:
        notices.append(f"missing cells{where} of categorical columns that had none in training were encoded "
                       f"as all zeros: {counts(report.missing_zeros)}")
    if report.dropped:
        n = report.dropped
        notices.append(f"dropped {n:,} row{'s' if n != 1 else ''}{where} whose target is missing")
    return notices


# The hint where --missing error refuses a row whose target is missing (fit drops it otherwise)
REFUSED_TARGET_HINT = "--missing error refuses it (without it, the row is dropped)"


def refuse_missing_targets(table: Table, targets: Sequence[str], na: frozenset[str], hint: str) -> None:
    """The error for the first row of the table whose target is missing, if any."""
    for t in targets:
        miss = np.flatnonzero(missing_targets(table.columns[t].values, na))
        if miss.size:
            raise DataError("the target is missing", file=table.source, line=int(table.lines[miss[0]]),
                            column=table.header.index(t) + 1, column_name=t, hint=hint)


# A chunk's rows, encoded (one-hot categories), hold at most about this many inputs, and their outputs
# (one per class) as many: a model of one feature with 200,000 categories encoded 16,384 rows at a
# time, 12.2 GiB (12.9 GB peak to predict).
ENCODED_CELLS = 1 << 24


def _feature_reader(model: Model, path: str, extra: Sequence[str], delimiter: str | None,
                    extra_option: str | None = None) -> TableReader:
    """A reader of the model's features, plus the `extra` columns (kept or targets) read as text, in
    chunks whose encoded inputs stay within ENCODED_CELLS. `extra_option`: the option that named the
    extra columns, which the error for one the file lacks names (`--keep`)."""
    cats = {f.name for f in model.pre.features if f.kind == "categorical"}
    numeric = {f.name for f in model.pre.features if f.kind == "numeric"}
    cols = list(dict.fromkeys([*model.pre.names, *extra]))
    try:
        # An extra column that is also a numeric feature is read as numbers and also kept as written.
        return TableReader(path, cols, text=cats | (set(extra) - numeric), as_written=set(extra) & numeric,
                           na_values=model.na_values, delimiter=delimiter, dtype=model.network.dtype.type,
                           chunk_rows=max(1, ENCODED_CELLS // max(model.network.sizes[0], model.network.sizes[-1])))
    except DataError as e:
        missing = getattr(e, "missing", None)
        if extra_option is None or not missing or set(missing) & set(model.pre.names):
            raise
        raise DataError(f"no column named {', '.join(shorten(c, 40) for c in missing)} (in {extra_option})",
                        file=e.file, line=e.line, hint=e.hint) from None


def _leading_rows(chunk: Table, names: Sequence[str]) -> np.ndarray | None:
    """The columns `names` as the first rows of the chunk's block of numbers, if that is what they are."""
    numbers = chunk.numbers
    if numbers is None or len(numbers) < len(names):
        return None
    for k, c in enumerate(names):
        v = chunk.columns[c].values
        if v.base is not numbers or v.ctypes.data != numbers[k].ctypes.data:
            return None
    return numbers[:len(names)]


def predict_chunks(model: Model, path: str, *, keep: Sequence[str] = (), proba: bool = False,
                   delimiter: str | None = None, report: EncodeReport | None = None, threshold: float | None = None,
                   ) -> Iterator[tuple[Table, np.ndarray, np.ndarray | None]]:
    """Stream predictions: per chunk, (table, predictions, probabilities or None).

    Predictions are class indices (classification) or (n, n_targets) values.
    The file is opened and its header checked before this returns; a bad row
    raises after the chunks before it were yielded.
    """
    reader = _feature_reader(model, path, keep, delimiter, "--keep")
    centered = model.centered_input_network()
    names = model.pre.names
    dtype = model.network.dtype
    scale = model.pre.scale.astype(dtype)
    # A missing cell (NaN) gets its feature's fill, less the mean, as a cell holding the fill would:
    # a row's prediction never depends on the other rows of its chunk.
    fill = np.subtract(np.array([f.fill for f in model.pre.features], dtype), centered[1]) if centered else None
    # The same network with the command's threads, for chunks predicted on this thread (see `centered_logits`;
    # the converting threads run theirs on one thread each)
    here = model.centered_input_network()
    if here is not None:
        here[0].team = model.network.team

    def forward(numbers: np.ndarray, first_row: int, on: "tuple | None" = None
                ) -> tuple[int, np.ndarray, np.ndarray | None] | None:
        # On the converting threads (or, `on` here, on this one): plain numeric features come from
        # the reader as the first rows of one block: their transpose, less the means, is the input
        # matrix (the scaling is in the network). Returns first_row (the rows' place in the file,
        # which puts them in their blocks: see `Network.logits`), the logits and the missing cells
        # per feature (None if none).
        rows = numbers[:len(names)]
        if len(rows) < len(names) or not rows.shape[1]:
            return None
        net, center = on or centered  # type: ignore[misc]
        X = np.subtract(rows.T, center)
        missing = None
        with np.errstate(over="ignore", invalid="ignore"):
            extent = np.maximum(X.max(axis=0), -X.min(axis=0))
            if np.isnan(extent).any():
                miss = np.isnan(X)
                missing = np.count_nonzero(miss, axis=0)
                np.copyto(X, fill, where=miss)  # type: ignore[arg-type]
                extent = np.maximum(X.max(axis=0), -X.min(axis=0))
            # The general path (and `eval`) divides by the scales: where that overflows, it stops at
            # the row, whose product with the scaled weights here could be finite. Such a row's
            # output is made NaN, and predict stops there too (the rows before it as predicted here).
            overflows = None if np.isfinite(extent / scale).all() else ~np.isfinite(X / scale).all(axis=1)
        Z = net.logits(X, whole_blocks=True, first_row=first_row)
        if overflows is not None:
            Z[overflows] = np.nan
        return first_row, Z, missing

    def centered_logits(chunk: Table, first_row: int) -> tuple[int, np.ndarray, np.ndarray | None] | None:
        # `forward`'s result: as the converting thread took it from the features' rows (if it counted
        # the rows before them right), or now, for a chunk read another way (quotes, blank lines, an
        # unread column of text): every row goes through the same arithmetic, so its prediction does
        # not depend on how the file around it is written.
        derived: tuple | None = chunk.derived  # type: ignore[assignment]
        if derived is not None and derived[0] == first_row and _leading_rows(chunk, names) is not None:
            return derived
        values = [chunk.columns[c].values for c in names]
        return forward(np.stack(values), first_row, here) if all(v.dtype == dtype for v in values) else None

    def logits(chunk: Table, first_row: int) -> np.ndarray:
        # (the general path: categorical features, a cell that is not a number)
        done = centered_logits(chunk, first_row) if centered is not None else None
        if done is None:
            return model.network.logits(model.inputs({c: chunk.columns[c].values for c in names}, report),
                                        whole_blocks=True, first_row=first_row)
        _, Z, missing = done
        if missing is not None and report is not None:
            for name, m in zip(names, missing.tolist()):
                if m:
                    report.missing[name] = report.missing.get(name, 0) + m
        return Z

    def generate() -> Iterator[tuple[Table, np.ndarray, np.ndarray | None]]:
        done = 0  # rows predicted so far
        with reader:
            for chunk in reader.chunks(forward if centered is not None else None):
                Z = logits(chunk, done)
                done += chunk.n_rows
                # The rows before a row that is the header again (features all categorical: else it is a
                # bad number), or whose output is not finite, are predicted, as before a bad cell. (A
                # value is checked in the target's units: finite logits can overflow there.)
                error = None
                again = header_row(chunk, names)
                values = model.target.decode_values(Z) if model.task == "regression" else Z
                bad, decoded = first_not_finite_output(Z[:again], values[:again] if values is not Z else None)
                if bad is not None:
                    error = not_finite_error(chunk.source, int(chunk.lines[bad]), decoded, model.target.log)
                elif again is not None:
                    error, bad = header_row_error(chunk, again, names), again
                if bad is not None:
                    chunk, Z, values = chunk.rows(slice(bad)), Z[:bad], values[:bad]
                if model.task == "classification":
                    yield chunk, model.predict_classes(Z, threshold), (model.probabilities(Z) if proba else None)
                else:
                    yield chunk, values, None
                if error is not None:
                    raise error

    return ahead(generate())  # reading and predicting (see `forward`) overlap with the caller's writing


def eval_chunks(model: Model, path: str, delimiter: str | None = None, report: EncodeReport | None = None,
                refuse_missing: bool = False, validation: bool = False,
                header: Callable[[TableReader], None] | None = None,
                ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(X, raw_target, line numbers) for each chunk of a labelled file; an unknown target is an error,
    and so is a missing feature cell if refuse_missing (else the model imputes it). A row whose target
    is missing is an error too, but in a `validation` file read without refuse_missing: there, as in the
    training file, it is dropped (counted in `report.dropped`). raw_target: class indices, or the
    targets' numbers (rows, targets)."""
    targets = model.target.names
    rows = 0
    with _feature_reader(model, path, targets, delimiter) as reader:
        if header is not None:  # (the caller looks at the file's columns: `fit --init`'s --ignore)
            header(reader)
        na = frozenset(model.na_values)
        for chunk in reader.chunks():
            refuse_header_rows(chunk, [*model.pre.names, *targets])
            if validation and not refuse_missing:
                keep = ~np.any([missing_targets(chunk.columns[t].values, na) for t in targets], axis=0)
                if not keep.all():
                    if report is not None:
                        report.dropped += int((~keep).sum())
                    chunk = chunk.rows(keep)
                    if not chunk.n_rows:
                        continue
            else:
                refuse_missing_targets(chunk, targets, na, REFUSED_TARGET_HINT if validation
                                       else "evaluating a model needs a target value on every row")
            if refuse_missing:
                check_missing(chunk, model.pre.names, na)
            X = model.inputs({c: chunk.columns[c].values for c in model.pre.names}, report)
            tv = [chunk.columns[t].values for t in targets]
            hints = cell_hints(na)
            if model.task == "classification":
                raw = model.target.class_index(tv[0], source=chunk.source, lines=chunk.lines,
                                               column=chunk.header.index(targets[0]) + 1, cell_hint=hints)
            else:
                cols = [target_numbers(v, t, source=chunk.source, lines=chunk.lines, cell_hint=hints,
                                       column=chunk.header.index(t) + 1) for t, v in zip(targets, tv)]
                if validation and model.target.log:  # (training's loss takes log(1 + y); eval scores y itself)
                    for t, col in zip(targets, cols):
                        check_log_target(col, t, source=chunk.source, lines=chunk.lines,
                                         column=chunk.header.index(t) + 1, whole=False)
                raw = np.column_stack(cols)
            rows += len(raw)
            stop_signals.reraise_if_lost()  # (NumPy's cast of the target's text drops a stop's exception)
            yield X, raw, chunk.lines
        if not rows:
            if report is not None and report.dropped:
                raise DataError("no rows with a target value", file=reader.name)
            raise DataError("the file has a header but no data rows", file=reader.name, line=reader.header_line + 1)


def load_eval_arrays(model: Model, path: str, delimiter: str | None = None, report: EncodeReport | None = None,
                     refuse_missing: bool = False, validation: bool = False,
                     header: Callable[[TableReader], None] | None = None,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X, Y, raw_target, line numbers) for the whole of a labelled file (see `eval_chunks`): a
    validation file, which training scores every epoch."""
    Xs, raws, lines = zip(*eval_chunks(model, path, delimiter, report, refuse_missing, validation, header))
    raw = np.concatenate(raws)
    return np.concatenate(Xs), model.target.encode(raw, model.network.dtype.type), raw, np.concatenate(lines)


MAX_DRAWN = 2000  # `show --data` draws at most this many rows of the file, spread evenly over it


def rows_to_draw(model: Model, path: str, delimiter: str | None = None, report: EncodeReport | None = None,
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """For `show --data`: (features (n, k) in the data's units, float64; targets: class indices (n,) or
    values (n, targets); rows in the file) of every stride-th row of a labelled file of a model of
    numeric features, the stride doubling while more than MAX_DRAWN rows are kept, so that at most
    MAX_DRAWN are, spread evenly, in bounded memory. As `eval` reads it (see `eval_chunks`)."""
    stride, rows, Xs, raws, index = 1, 0, [np.zeros((0, model.pre.n_inputs))], [], [np.zeros(0, np.int64)]
    for X, raw, _ in eval_chunks(model, path, delimiter, report):
        i = np.arange(rows, rows + len(X))
        rows += len(X)
        keep = i % stride == 0
        Xs.append(X[keep].astype(np.float64) * model.pre.scale + model.pre.mean)
        raws.append(raw[keep])
        index.append(i[keep])
        X, raw, i = np.concatenate(Xs), np.concatenate(raws), np.concatenate(index)
        while len(i) > MAX_DRAWN:
            stride *= 2
            keep = i % stride == 0
            X, raw, i = X[keep], raw[keep], i[keep]
        Xs, raws, index = [X], [raw], [i]
    none = np.zeros((0, len(model.target.names))) if model.task == "regression" else np.zeros(0, np.intp)
    return Xs[0], (np.concatenate(raws) if raws else none), rows  # (no chunk: `eval_chunks` refuses that now)


CONFUSION_MAX_CLASSES = 100  # `eval` gives a confusion matrix for at most this many classes
# `eval` ranks the rows of more than two classes for ROC AUC while rows x classes stay within this (34 MB of
# float32: at 1 << 25, a million rows of 100 classes peaked at 254 MB, against 142 without)
AUC_CELLS = 1 << 23


def _mean_or_none(values: list[float | None]) -> float | None:
    """The mean of the values that are not None (scikit-learn's macro average), or None if none is."""
    given = [v for v in values if v is not None]
    return math.fsum(given) / len(given) if given else None


def first_not_finite(Z: np.ndarray) -> int | None:
    """The first row of logits that is not finite, if any: it would make up a class or print NaN.

    float32 inputs pass the reader's check up to ~3.4e38, but standardizing them or the
    products can overflow on values far outside the training data.
    """
    if np.isfinite(Z).all():
        return None
    return int(np.argmin(np.isfinite(Z).all(axis=1)))


def first_not_finite_output(Z: np.ndarray, values: np.ndarray | None) -> tuple[int | None, bool]:
    """The first row whose logits Z, or their `values` in the target's units (regression; None for a
    classifier), are not finite, and whether it is the values only (finite logits that overflow there)."""
    bad, bad_value = first_not_finite(Z), first_not_finite(values) if values is not None else None
    if bad_value is not None and (bad is None or bad_value < bad):
        return bad_value, True
    return bad, False


def not_finite_error(source: str, line: int, decoded: bool = False, log: bool = False) -> DataError:
    """The error for a row whose network output (or, `decoded`, its value in the target's units) is not
    finite; `log`: a target trained on log(1 + y), whose exp overflowed."""
    if decoded and log:
        return DataError("this row's prediction overflows float64: the model gives log(1 + y) beyond 709.8",
                         file=source, line=line, hint="its features far outside the rows the model was trained on?")
    if decoded:
        return DataError("this row's prediction overflows float64 (beyond ±1.8e308) in the target's units",
                         file=source, line=line, hint="the target's values are near float64's limit: rescale them")
    return DataError("the network's output is not finite for this row", file=source, line=line,
                     hint="a value far outside the range the model was trained on?")


def evaluate_model(model: Model, path: str, delimiter: str | None = None,
                   report: EncodeReport | None = None, threshold: float | None = None) -> dict:
    """All metrics of `model` on a labelled file, as a JSON-ready dict. The file is scored a chunk at a
    time: what is kept of each row is its target and prediction (the whole file's inputs, one-hot targets
    and logits took 3.2 GB for a million rows of 100 classes)."""
    raws, preds, losses = [], [], []
    binary = len(model.target.classes) == 2
    # What ranks the rows for ROC AUC: two classes, the second's logit (8 bytes a row: its float32
    # probability ties near 1); more, each class's log-probability (one vs rest), while they fit AUC_CELLS
    ranking: list[np.ndarray] | None = [] if model.task == "classification" else None
    cells = 0
    done = 0  # rows scored so far
    for X, raw, lines in eval_chunks(model, path, delimiter, report):
        # (in whole blocks, each row at its place in the file: its prediction, and so the scores, the
        # same bits however the file is cut into chunks; see `Network.logits`)
        Z = model.network.logits(X, whole_blocks=True, first_row=done)
        done += len(X)
        values = model.target.decode_values(Z) if model.task == "regression" else None
        bad, decoded = first_not_finite_output(Z, values)
        if bad is not None:
            raise not_finite_error(display_name(path), int(lines[bad]), decoded, model.target.log)
        if values is None:
            preds.append(model.predict_classes(Z, threshold))  # as `predict` chooses
            losses.append(metrics.log_losses(raw, Z))  # (summed once, at the end: the same whatever the chunks)
            cells += 0 if binary else Z.size  # (two classes: 8 bytes a row, half what each row keeps already)
            if ranking is not None and cells > AUC_CELLS:
                ranking = None  # (no per-class AUC past it: a million rows of 100 classes would keep 400 MB)
            elif ranking is not None:
                ranking.append(Z[:, 0].astype(np.float64) if binary
                               else log_softmax(Z.astype(np.float64)).astype(np.float32))
        else:
            preds.append(values)
        raws.append(raw)
    raw, pred = np.concatenate(raws), np.concatenate(preds)
    out: dict = {"rows": len(raw), "task": model.task}
    if model.task == "regression":
        def scores(truth: np.ndarray, values: np.ndarray) -> dict:
            return {"mse": metrics.mse(truth, values), "rmse": metrics.rmse(truth, values),
                    "mae": metrics.mae(truth, values), "r2": metrics.r2(truth, values),
                    # (what a model trained on log(1 + y) minimized, in y's terms: errors relative to y's size)
                    **({"rmsle": metrics.rmsle(truth, values)} if model.target.log else {})}

        out.update(scores(raw, pred))  # several targets: each metric's mean over them
        if raw.shape[1] > 1:  # and each target's own, in its own units
            out["per_target"] = {t: scores(raw[:, j], pred[:, j]) for j, t in enumerate(model.target.names)}
        return out
    classes = model.target.classes
    precision, recall, f1, support, predicted = metrics.precision_recall_f1(raw, pred, len(classes))
    # A class neither in the file nor predicted has no scores (null), and the macro averages leave
    # it out, as scikit-learn's do: a perfect model on rows of two of its three classes scores 1.0.
    seen = (support > 0) | (predicted > 0)

    def score(values: np.ndarray, i: int) -> float | None:
        return float(values[i]) if seen[i] else None

    class_auc: list[float | None] = [None] * len(classes)
    if ranking is not None and not binary:
        S = np.concatenate(ranking)
        class_auc = [metrics.roc_auc(raw == k, S[:, k]) for k in range(len(classes))]

    out.update(
        accuracy=metrics.accuracy(raw, pred),
        **({"threshold": threshold} if threshold is not None else {}),
        log_loss=math.fsum(np.concatenate(losses)) / len(raw) + 0.0,
        # (how well the scores rank the rows, whatever the threshold: two classes, one figure; more, the mean of
        # each class's against the rest, over the classes the file has; null where it cannot be told)
        roc_auc=(metrics.roc_auc(raw == 1, np.concatenate(ranking)) if binary else _mean_or_none(class_auc))
        if ranking is not None else None,
        classes=classes,
        per_class={c: {"precision": score(precision, i), "recall": score(recall, i), "f1": score(f1, i),
                       "support": int(support[i]), **({} if binary else {"roc_auc": class_auc[i]})}
                   for i, c in enumerate(classes)},
        macro={"precision": float(precision[seen].mean()), "recall": float(recall[seen].mean()),
               "f1": float(f1[seen].mean())},
        # (null for more classes: 50,000 made 20 GB, and 1,500 a table of 2.25 million cells)
        confusion_matrix=metrics.confusion_matrix(raw, pred, len(classes)).tolist()
        if len(classes) <= CONFUSION_MAX_CLASSES else None,
    )
    return out


def training_file_notice(model, data: str) -> list[str]:
    """A notice when `eval` scores the very file the model was trained on, unchanged: training scores,
    not a test of what it learned. (A model written before `info.source_file`: the file its path as
    `fit` was given names from here, which a file of that name in another folder also was.)"""
    identity, source = model.info.get("source_file"), model.info.get("source")
    if isinstance(identity, dict):
        if identity != file_identity(data):
            return []
    elif not (isinstance(source, str) and source != "<stdin>" and same_file(source, data)):
        return []
    val_rows = model.info.get("val_rows")
    if model.config.get("val_split") and isinstance(val_rows, int) and val_rows:  # (part of it was held out)
        return [f"this is the file the model was trained on: {model.info.get('rows', 0):,} of its rows trained it and "
                f"{val_rows:,} validated it, so these are mostly training scores; the validation figures are in "
                f"`nncli show` (or score a file it never saw)"]
    return ["this is the file the model was trained on: these are training scores, not a test of what it learned "
            "(score a file it never saw, or train with --val-split and read the validation figures)"]
