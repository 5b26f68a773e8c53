"""Training as plain functions that return data: a table -> training data -> a trained model.

`cli.py` parses options and shows results; everything between reading a CSV and
having a model to save happens here (using one happens in `apply.py`). Never
prints, never imports typer or rich, so benchmarks and tests drive exactly the
code path the CLI uses.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re
import stat
import sys
from array import array
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from nncli.apply import (REFUSED_TARGET_HINT, check_missing, encode_notices, load_eval_arrays, missing_targets,
                         refuse_missing_targets)
from nncli.core.model import HISTORY_KEYS, Model
from nncli.core.network import Network
from nncli.core.preprocessing import (MAX_CLASS_INTEGERS, MAX_CLASSES, EncodeReport, Preprocessor, Target,
                                      cell_number, column_stats, fit_preprocessor, fit_target, infer_task,
                                      is_missing_text, no_spread, scale_floor, target_stats, MIN_SCALE)
from nncli.core.schedules import Schedule
from nncli.core.training import EpochStats, TrainConfig, fit_iter, keeps_best
from nncli.csv_columns import (DECIMAL_COMMA_HINT, MISSING_LIKE, THOUSANDS_HINT, cell_hints, refuse_header_rows,
                               separator_hint)
from nncli.csv_io import DEFAULT_NA_VALUES, Column, Table, TableReader
from nncli.csv_source import file_identity, refuse_bad_names
from nncli.errors import DataError, UsageError, names_hint, one_column_hint, option_value, quoting_hint, shorten
from nncli.model_file import check_header_size


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
        unknown = [c for c in group if c not in names]
        if unknown:
            raise DataError(f"no column named {', '.join(shorten(c, 40) for c in unknown)}", file=source, line=line,
                            hint=names_hint(unknown, header, "the header has") + quoting_hint(option, unknown, header))
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
        features = [c for c in opts.features if c not in targets]
    else:
        not_features = set(targets) | set(opts.ignore)
        features = [c for c in header if c not in not_features]
    if not features:
        # (`y,y` or `,,`: every column dropped as the target's name, which is the header's fault)
        refuse_bad_names(header, targets, source, delimiter, line)
        hint = None
        if len(header) == 1:
            hint = one_column_hint(opts.delimiter)
        raise DataError("no feature columns left (the table needs at least one besides the target)",
                        file=source, line=line, hint=hint)
    return features, targets


def read_training_table(path: str, opts: DataOptions) -> tuple[Table, list[str], list[str], list[ColumnInfo]]:
    """Read a training table; decide which feature columns are categorical."""
    na = frozenset(opts.na_values)
    as_text: set[str] = set()
    while True:
        with TableReader(path, (), na_values=na, delimiter=opts.delimiter, dtype=_dtype(opts.dtype)) as reader:
            header = reader.header
            features, targets = _resolve_columns(header, opts, reader.name, reader.header_line, reader.delimiter)
            check_header_size(features, reader.name, reader.header_line)
            reader.select(features + targets, text=set(opts.categorical) | set(targets),
                          auto=set(features) - set(opts.categorical), auto_as_text=as_text)
            table = reader.read()
        _refuse_stray_text(table, features, opts)
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
        if path == "-":
            sys.stdin.buffer.seek(0)  # a regular file given as stdin (`fit - < data.csv`)
    used = set(features) | set(targets)
    return table, features, targets, [ColumnInfo(c, "ignored") for c in header if c not in used]


def _refuse_stray_text(table: Table, features: list[str], opts: DataOptions) -> None:
    """A mostly numeric feature with a few text cells is a typo, not a category: an error at the first."""
    for c in features:
        col = table.columns[c]
        if col.is_text and c not in opts.categorical:
            n_missing = int(is_missing_text(col.values, frozenset(opts.na_values)).sum())
            n_text = len(col.values) - n_missing - col.n_numeric
            if n_text <= col.n_numeric and col.first_text is not None:
                line, cell = col.first_text
                raise DataError(
                    f"expected a number, found {shorten(cell)} (the column is mostly numeric)",
                    file=table.source, line=line, column=table.header.index(c) + 1, column_name=c,
                    hint=cell_hints(opts.na_values)(cell, c)
                    or f"fix the cell, or use --categorical {option_value(c)} / --ignore {option_value(c)}",
                )


def _refuse_stray_target_text(table: Table, name: str, cells: np.ndarray, distinct: set[str],
                              na_values: Iterable[str]) -> None:
    """A target of many different numbers with a few text cells is a typo, not a set of labels
    (it would become a classification into as many classes as there are numbers): an error at
    the first. Few distinct values stay labels, unless they are all numbers, some written with a
    comma ('0,5', '1' and '1,5': a regression target, as a feature of them is refused as categories)."""
    _refuse_numbers_with_commas(table, name, distinct, cells, "the target", "--task classification")
    if len(distinct) <= MAX_CLASS_INTEGERS:
        return
    text = {s for s in distinct if cell_number(s) is None}
    if not text or len(text) >= len(distinct) / 2:
        return
    is_text = np.isin(cells, list(text))
    if 2 * int(is_text.sum()) < len(cells):  # (and most cells are numbers: 'yes', 'no' and 25 codes are labels)
        first = int(np.flatnonzero(is_text)[0])
        raise DataError(f"expected a number, found {shorten(cells[first])} (the target is mostly numeric)",
                        file=table.source, line=int(table.lines[first]), column=table.header.index(name) + 1,
                        column_name=name,
                        hint=cell_hints(na_values)(cells[first], name)
                        or "fix the cell, or use --task classification for labels")


def _refuse_numbers_with_commas(table: Table, name: str, values: set[str], cells: np.ndarray, what: str,
                                labels: str) -> None:
    """An error at the first comma cell of `cells` (a column's text cells, `values` the distinct ones)
    when every value is a number, some written with a comma: '0,5' from a spreadsheet set to a
    language that writes decimal commas, beside whole numbers ('3'), which need none ('1,234' is
    ambiguous). `labels`: the option that says they are labels after all."""
    hints = {v: separator_hint(v) for v in values}
    commas = [v for v, h in hints.items() if h is not None]
    if not commas or any(h is None and cell_number(v) is None for v, h in hints.items()):
        return
    first = int(np.flatnonzero(np.isin(cells, commas))[0])
    cell = cells[first]
    hint = DECIMAL_COMMA_HINT if DECIMAL_COMMA_HINT in hints.values() else THOUSANDS_HINT
    raise DataError(f"expected a number, found {shorten(cell)} (numbers written with a comma in {what})",
                    file=table.source, line=int(table.lines[first]), column=table.header.index(name) + 1,
                    column_name=name, hint=f"{hint}; if these are labels, {labels}")


def _headerless_notice(table: Table) -> str | None:
    """A notice when the header row looks like a row of data (a file without one): its names are
    numbers, all but one at most, and either the other name is among its own column's values (a
    label), or the numbers are not names: not years, nor a count (1, 2, 3)."""
    names = [h for h in table.header if cell_number(h.strip()) is not None]
    others = [h for h in table.header if cell_number(h.strip()) is None]
    if len(names) < 2 or len(others) > 1:
        return None
    numbers = [float(h) for h in names]
    column = table.columns.get(others[0]) if others else None
    label = column is not None and column.is_text and bool(np.isin(others[0], column.values))
    fractions = any(not math.isfinite(v) or not v.is_integer() for v in numbers)
    years = all(1800 <= v <= 2100 for v in numbers)
    count = len({b - a for a, b in zip(numbers, numbers[1:])}) == 1
    if not (label or fractions or not (years or count)):
        return None
    # A row of data has its values among its columns' values: names that are wavelengths (900.5, 921) or
    # frequencies (250, 500, 1000) over columns of other numbers are names.
    ranges = [(float(v), table.columns[h].values) for h, v in zip(names, numbers)
              if h in table.columns and not table.columns[h].is_text and len(table.columns[h].values)]
    inside = sum(1 for v, col in ranges if np.nanmin(col) <= v <= np.nanmax(col))
    if ranges and 2 * inside < len(ranges):
        return None
    return (f"the column names are numbers ({', '.join(shorten(h, 20) for h in names[:3])}"
            f"{', …' if len(names) > 3 else ''}): if the file has no header row, its first row "
            "was taken for the names, and is not trained on (add a header row)")


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


def load_training_data(path: str, opts: DataOptions, task: str, *, val_path: str | None = None,
                       val_split: float | None = None, class_weight: str | None = None,
                       rng: np.random.Generator | None = None) -> TrainingData:
    """Read, encode and (optionally) split training data."""
    dtype = _dtype(opts.dtype)
    na = frozenset(opts.na_values)
    identity = file_identity(path)
    table, features, targets, infos = read_training_table(path, opts)
    notices: list[str] = []
    named = [c for c in features if c.strip().casefold() in TARGET_NAMES] if not opts.target else []
    if named:  # (the label first, as Kaggle's and MNIST's files have it: a regression on the last feature)
        notices.append(f"the target is the last column, {shorten(targets[0], 40)}; {shorten(named[0], 40)} is named "
                       f"like one: if it is the target, --target {option_value(named[0])}")
    headerless = _headerless_notice(table)
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
        notices.append(f"dropped {int((~keep).sum()):,} row(s) whose target is missing")
        given = [v for v in opts.na_values if v]
        dropped = f"{int((~keep).sum()):,} row(s) whose target is missing were dropped" + (
            f" (--na-values {option_value(*given)} makes cells missing)" if set(given) - set(DEFAULT_NA_VALUES) else "")
        table = table.rows(keep)
        target_text = [v[keep] for v in target_text]
    if table.n_rows == 0:
        raise DataError("no rows with a target value", file=table.source)
    if opts.missing == "error":
        check_missing(table, features, na)
    kinds = _kinds(table, features)
    too_many: list[tuple[str, int]] = []  # (all of them in one error: a fix for each, one run)
    dressed: dict[str, tuple[str, str, str]] = {}  # column: `_dressed_numbers`
    totals_said: str | None = None  # the notice of a totals row, if any
    for c, kind in kinds.items():
        if kind == "categorical":
            col = table.columns[c]
            present = col.values[~is_missing_text(col.values, na)]
            cats = set(present.tolist())
            if c not in opts.categorical and col.first_text:  # (not categories)
                _refuse_numbers_with_commas(table, c, cats, col.values, "the column", f"--categorical {option_value(c)}")
                found = _dressed_numbers(present)
                if found:
                    dressed[c] = found
            if len(cats) > opts.max_categories:
                too_many.append((c, len(cats)))
            elif c in dressed and len(cats) > 1:  # ('12%' read as one of 31 categories, without a word)
                what, example, advice = dressed[c]
                notices.append(f"column {shorten(c, 40)} holds {what} ({shorten(example, 20)}), read as {len(cats):,} "
                               f"categories: to use them as numbers, {advice}")
            totals = [t for t in cats if t.strip().casefold() in TOTALS_WORDS]
            rows = np.flatnonzero(np.isin(col.values, totals)) if totals and totals_said is None else ()
            if 0 < len(rows) <= TOTALS_ROWS:  # (a spreadsheet's totals row trains as data, and skews the rest)
                row = int(rows[0])
                totals_said = (f"line {int(table.lines[row]):,} holds {shorten(str(col.values[row]), 20)} in "
                               f"{shorten(c, 40)}: a spreadsheet's totals row? It trains as a row of data (its sums far "
                               "beyond the other rows); delete it from the file")
                notices.append(totals_said)
        elif _looks_like_an_id(table.columns[c].values, c):
            notices.append(f"column {shorten(c, 40)} holds a different whole number on every row, as an id or a "
                           f"row number does: if it is one, --ignore {option_value(c)} (the model would learn from the "
                           "numbering; a day or a rank may be a real feature)")
    if too_many:
        (c, n_cats), more = too_many[0], too_many[1:]
        # (a column of '$12.50' or of dates is no id: "an id-like column? --ignore price" threw it away)
        hints = [f"{shorten(m, 30)} holds {dressed[m][0]} ({shorten(dressed[m][1], 20)}): {dressed[m][2]}, or "
                 f"--ignore {option_value(m)}" for m, _ in too_many if m in dressed]
        ids = [m for m, _ in too_many if m not in dressed]
        if ids:
            hints.append(f"{'id-like columns' if len(ids) > 1 else 'an id-like column'}? --ignore {option_value(*ids)}; "
                         "else raise --max-categories")
        if totals_said:  # (the notices that would have said so are not printed: the run stops here)
            hints.append(totals_said)
        raise DataError(
            f"categorical column {shorten(c)} has {n_cats:,} distinct values (limit {opts.max_categories})"
            + (f"; so do {', '.join(f'{shorten(m, 30)} ({k:,})' for m, k in more[:5])}{', …' if len(more) > 5 else ''}"
               if more else ""),
            file=table.source, hint="; ".join(hints),
        )
    inferred = task == "auto" and len(targets) == 1
    if inferred:
        distinct = set(target_text[0].tolist())
        task = infer_task(target_text[0], distinct)
        if task == "classification":
            _refuse_stray_target_text(table, targets[0], target_text[0], distinct, opts.na_values)
    try:
        target = fit_target(target_text, targets, task, source=table.source, lines=table.lines,
                            columns=[table.header.index(t) + 1 for t in targets], cell_hint=cell_hints(opts.na_values))
    except DataError as e:
        if dropped:
            e.hint = f"{e.hint}; {dropped}" if e.hint else dropped
        raise
    # (Labels 0..9 are how most class columns are written: no notice up to ten classes.)
    if (inferred and len(target.classes) > 10 and all(cell_number(c) is not None for c in target.classes)
            and targets[0].strip().casefold() not in CLASS_NAMES):  # ('label' holding 12 classes says so itself)
        notices.append(f"the target {shorten(targets[0], 40)} holds {len(target.classes)} distinct whole numbers: "
                       "read as classes (--task regression to predict it as a number"
                       + ("; the target is the last column unless --target NAME)" if not opts.target else ")"))
    spellings: dict[object, list[str]] = {}  # labels that are one number written two ways, or one word in two cases
    for c in target.classes:
        number = cell_number(c)
        spellings.setdefault(c.casefold() if number is None else number, []).append(c)
    twice = [ways for ways in spellings.values() if len(ways) > 1]
    if twice:  # (as eval's hint says: labels are text)
        how = "one number written two ways" if cell_number(twice[0][0]) is not None else "one word in two cases"
        notices.append(f"the target {shorten(targets[0], 40)} has labels that are {how} "
                       f"({' and '.join(map(shorten, twice[0][:2]))}{', …' if len(twice) > 1 else ''}): they are "
                       "different classes, as labels are text; if they are one class, write them one way")
    missing_like = [c for c in target.classes if c.lower() in MISSING_LIKE]
    if missing_like:  # ('NULL' among 0 and 1: a third class, without a word; eval refuses it)
        tokens = sorted({t for t in opts.na_values if t} | {missing_like[0]}, key=lambda t: (t.lower(), t))
        notices.append(f"the target {shorten(targets[0], 40)} has the label {shorten(missing_like[0])}, another "
                       f"program's word for a missing cell: if it is one, --na-values {option_value(*tokens)} drops "
                       "those rows")
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
    if codes is None and len(values) > 1:
        mean, spread = column_stats(values)  # (it trained without a word; 0.1 and 0.1 + 1e-15 too, R² -5e33)
        for j in np.flatnonzero(no_spread(mean, spread)):
            notices.append(f"the target {shorten(targets[j], 40)} has the same value on every row "
                           f"({values[0, j]:g}): the model learns to predict that number, whatever the features")
    n = table.n_rows
    train_rows = np.arange(n)
    val_rows = None
    if val_split:
        if n < 2:
            raise DataError("--val-split needs at least two rows", file=table.source,
                            hint="train on a single row with --val-split 0")
        train_rows, val_rows = split_rows(n, val_split, rng or np.random.default_rng(0), codes)
        counts = None if codes is None else np.bincount(codes[train_rows], minlength=len(target.classes))
        if counts is not None and np.count_nonzero(counts) < 2:
            raise DataError(f"with --val-split {val_split:g}, the training rows hold a single class",
                            file=table.source, hint="classification needs two; use more rows or --val-split 0")
        if counts is not None and not counts.all():  # (every class had a single row, and one went to validation)
            raise DataError(f"with --val-split {val_split:g}, no training row has the class "
                            f"{shorten(target.classes[int(np.argmin(counts))])}",
                            file=table.source, hint="every class needs a training row; use more rows or --val-split 0")
        if counts is not None:  # (a class of 2 rows lost one to validation in 7 seeds of 13, without a word)
            lone = np.flatnonzero((counts == 1) & (np.bincount(codes, minlength=len(counts)) > 1))
            if lone.size:
                named = ", ".join(shorten(target.classes[k], 20) for k in lone[:3]) + (", …" if lone.size > 3 else "")
                notices.append(f"with --val-split {val_split:g}, {lone.size:,} class{'es' * (lone.size > 1)} keep"
                               f"{'s' * (lone.size == 1)} a single training row ({named}; the rest went to "
                               "validation): the model barely learns them (more rows, or --val-split 0)")
        if codes is None:  # standardized on the training rows, as the features are: no validation leaks in
            target.mean, target.scale = target_stats(values[train_rows])
        few = min((len(val_rows), "validation"), (len(train_rows), "training"))
        if few[0] < FEW_SPLIT_ROWS:  # (--val-split 0.0001: early stopping on one row's loss, without a word)
            notices.append(f"--val-split {val_split:g} leaves {few[0]:,} row{'s' * (few[0] != 1)} for {few[1]}: "
                           + ("its loss is noise, and early stopping follows it (a larger --val-split, or --val FILE)"
                              if few[1] == "validation" else "the model learns from a handful (a smaller --val-split)"))
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
    sample_weight = None
    if class_weight is not None and codes is None:
        raise UsageError(f"--class-weight {class_weight} weighs classes, and this target is a regression "
                         "(see --task)")
    if class_weight == "balanced" and codes is not None:
        counts = np.bincount(codes[train_rows], minlength=len(target.classes))
        w_class = len(train_rows) / (len(target.classes) * np.maximum(counts, 1))
        sample_weight = w_class[codes[train_rows]].astype(dtype)
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
    notices += _feature_notices(pre, X.dtype, constant, len(X), faint)
    notices += _leak_notices(pre, X, Y)
    imputed = EncodeReport(missing={f.name: f.missing for f in pre.features if f.missing})
    notices += [n + "; numbers get the training median, categories the '<missing>' category"
                for n in encode_notices(imputed)]
    digest = hashlib.sha256()
    for a in (X, Y):
        digest.update(np.ascontiguousarray(a).data)
    return TrainingData(table.source, pre, target, X, Y, X_val, Y_val, sample_weight, infos, notices,
                        digest.hexdigest(), list(opts.na_values), constant, identity)


def _feature_notices(pre: Preprocessor, dtype: np.dtype, constant: np.ndarray, rows: int,
                     faint: dict[int, float] | None = None) -> list[str]:
    """A notice for each feature that is the same on every row, and for each numeric one whose
    values float32 rounds coarsely for their spread.

    float32 keeps ~7 significant digits: values near 1e6 that vary by ~1 are read in steps of
    0.0625. Above 1% of the spread, say so, and what keeps the digits. Values that vary less
    than that (1e7 + 0.1, 1e7 + 0.3) all read the same, and the column looks constant: the file
    is read in float32 and cannot tell, so a constant number other than 0 gets the hint.
    (constant: which encoded inputs are the same on every row; rows: how many there are; faint: the
    standardized spread of those that vary by less than standardizing takes, scaled by its floor
    instead: see `standard_scale`.)
    """
    notices, same, k = [], [], 0  # (same: the names of features that teach nothing, and their notices)
    float32 = dtype == np.float32
    for f in pre.features:
        name = shorten(f.name, 40)
        if f.kind == "categorical" and constant[k:k + f.width].all():
            same.append((name, f"{name} has the same value on every row ({shorten(f.categories[0], 30)}): "
                               "it teaches nothing"))
        elif f.kind == "numeric":
            value = pre.mean[k]
            step = float(np.spacing(np.float32(abs(value))))
            if constant[k] and f.missing >= rows:  # (imputed with a median of nothing)
                same.append((name, f"{name} is missing on every row: it teaches nothing"))
            elif constant[k]:
                same.append((name, f"{name} has the same value on every row ({value:.7g}): it teaches nothing"
                             + (" (if its values differ beyond float32's 7 significant digits, --dtype float64 "
                                "keeps them)" if float32 and value != 0 else "")))
            elif faint and k in faint:
                under = "float32's smallest normal number" if pre.scale[k] == MIN_SCALE else "1e-12 of its size"
                notices.append(f"{name} varies very little (spread {faint[k] * pre.scale[k]:.3g} around {value:.7g}, "
                               f"under {under}): scaled by {pre.scale[k]:.3g} instead of its spread, it reaches the "
                               f"network with a spread of {faint[k]:.2g}")
            elif float32 and step > 0.01 * pre.scale[k]:
                notices.append(f"float32 rounds {name} (values near {value:.4g}, spread "
                               f"{pre.scale[k]:.3g}) to steps of {step:.3g}, {step / pre.scale[k]:.0%} of its "
                               f"spread: --dtype float64 keeps its digits")
        k += f.width
    if len(same) > MAX_SAME_NOTICES:  # one line for them all (a wide file's blank margins: a line each)
        return [f"{len(same):,} features are the same on every row (or missing on every row) and teach nothing: "
                + ", ".join(n for n, _ in same[:3]) + ", …"] + notices
    return [notice for _, notice in same] + notices


MAX_SAME_NOTICES = 5  # more features the same on every row than this: one notice for them all


TARGET_NAMES = frozenset({"label", "labels", "target", "class", "y", "outcome"})  # columns named like a target
CLASS_NAMES = frozenset({"label", "labels", "class", "category"})  # targets named as classes (not 'y': a count?)
LEAK_CORRELATION = 0.999  # a numeric feature this correlated with a one-column target gets a notice


def _leak_notices(pre: Preprocessor, X: np.ndarray, Y: np.ndarray) -> list[str]:
    """A notice for each numeric feature that follows a one-column target (a regression target, or two
    classes as 0/1) almost exactly: a copy of it, or the target in other units, left among the features
    (it trained silently to R² 0.9975). X: standardized training inputs, each numeric column of spread 1
    but for those scaled by the least spread (see `standard_scale`). A single feature is the data's
    whole story: `gen-data linear --noise 0` follows its target exactly, and --ignore would leave nothing."""
    if Y.shape[1] != 1 or len(X) < 3 or len(pre.features) < 2:
        return []
    y = Y[:, 0].astype(np.float64)
    y -= y.mean()
    spread = float(np.sqrt(np.mean(y * y)))
    if not spread > 0:
        return []
    columns = np.cumsum([0] + [f.width for f in pre.features])[:-1]
    numeric = [(f.name, int(j)) for f, j in zip(pre.features, columns) if f.kind == "numeric"]
    if not numeric:
        return []
    r = (y.astype(X.dtype) @ X).astype(np.float64)[[j for _, j in numeric]] / (len(X) * spread)  # (no copy of X)
    for k, (_, j) in enumerate(numeric):
        if pre.scale[j] == scale_floor(pre.mean[j]):  # (spread under 1: its correlation is not r)
            s = float(column_stats(X[:, j:j + 1])[1][0])
            r[k] = r[k] / s if s > 0 else 0.0
    # A copy of the target follows it without the rows far out too; a feature that one far-out row makes
    # correlate does not (a spreadsheet's totals row: units +0.9996, without it 0.63). Only for the few
    # columns the first test picks.
    return [f"feature {shorten(name, 40)} follows the target almost exactly (correlation {r[k]:+.4f}): a copy of it "
            f"left among the features? The model would learn to read it off; if so, --ignore {option_value(name)}"
            for k, (name, j) in enumerate(numeric)
            if abs(r[k]) >= LEAK_CORRELATION and abs(_correlation_without_extremes(X[:, j], y)) >= LEAK_CORRELATION]


def _correlation_without_extremes(x: np.ndarray, y: np.ndarray) -> float:
    """The correlation of x and y over their rows but those far out in either: beyond 10 times the span
    of the middle 98% of its values from its median (a totals row's sums; not a rare class's rows, nor
    a long tail's, whose copies must still be found)."""
    x = x.astype(np.float64)
    keep = ~(_far_out(x) | _far_out(y))
    if keep.sum() < 3:
        return 0.0
    xs, ys = x[keep] - x[keep].mean(), y[keep] - y[keep].mean()
    denominator = float(np.sqrt((xs @ xs) * (ys @ ys)))
    return float(xs @ ys) / denominator if denominator > 0 else 0.0


def learned_nothing(data: TrainingData, model: Model) -> str | None:
    """A notice if the saved weights do little or no better on the training rows than a model that
    ignores the features: always the most common class (closing under LEARNED_LITTLE of the gap to every row
    right), or the mean (R² under LEARNED_LITTLE). Adam at --lr 10 saved a coin flip's model (51%
    on two even classes), its summary the only sign."""
    metric = model.info.get("final_metric")
    if metric is None:
        return None
    l2 = float(model.config.get("l2") or 0.0)
    hint = (("a model too simple for the data (--model linear draws one straight boundary, or line: an MLP "
             "bends), " if model.kind == "linear" else "")
            + "a --lr far too high or too low (lr-find suggests one), too few epochs, "
            + (f"a weight penalty too strong for so few rows (--l2 {l2:.3g}), " if l2 >= 0.01 else "")
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
ID_MIN_ROWS = 50


_ID_NAME = re.compile(r"(?:^|[\s_.-])id$", re.IGNORECASE)  # id, user_id, 'Customer ID'


# A category that names a spreadsheet's totals row (`Total` in its region column), on at most this many
# rows (a column of sum/mean/max/min, or Total/Partial damage, is no totals row)
TOTALS_WORDS = {"total", "totals", "grand total", "sum", "subtotal"}
TOTALS_ROWS = 3
# Text cells that are numbers in a spreadsheet's dress, or dates: read as categories, they teach little
_DAY, _MONTH = r"(0?[1-9]|[12]\d|3[01])", r"(0?[1-9]|1[0-2])"
_AMOUNT = r"[-+]?\s*[$€£¥]\s*[-+]?[\d.,]*\d|[-+]?[\d.,]*\d\s*[$€£¥]"
_DRESSED = [
    (re.compile(rf"{_AMOUNT}|\(\s*({_AMOUNT})\s*\)"), "amounts with a currency sign", "write plain numbers"),
    (re.compile(r"[-+]?[\d.,]*\d\s*%"), "percentages", "write plain numbers"),
    # (ISO dates and times as pandas and JSON write them; day/month/year with a slash, or a dot and 4 digits)
    (re.compile(rf"\d{{4}}-{_MONTH}(-{_DAY}([ T]([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?)?"
                rf"|{_DAY}/{_DAY}/(\d{{4}}|\d\d)|{_DAY}\.{_MONTH}\.\d{{4}}"), "dates",
     "derive numbers from them (a year, a month)"),
]


def _dressed_numbers(cells: np.ndarray) -> tuple[str, str, str] | None:
    """(what the cells are, the first, what to do) if a categorical column's cells (not missing, in the
    file's order), the first 200 different ones but a totals row's word, are all numbers with a currency
    sign or a percent sign, or all dates; else None."""
    sample = [c for c in itertools.islice(dict.fromkeys(cells[:10_000].tolist()), 201)
              if c.strip().casefold() not in TOTALS_WORDS][:200]
    for pattern, what, advice in _DRESSED:
        if sample and all(pattern.fullmatch(c.strip()) for c in sample):
            return what, sample[0], advice
    return None


def _far_out(v: np.ndarray) -> np.ndarray:
    """Values beyond 10 times the span of the middle 98% from the median (none where that span is 0)."""
    lo, median, hi = np.quantile(v, [0.01, 0.5, 0.99])
    return np.abs(v - median) > 10 * (hi - lo) if hi > lo else np.zeros(len(v), bool)


def _looks_like_an_id(values: np.ndarray, name: str = "") -> bool:
    """Whether a numeric column holds a different whole number on every row, densely (at least every
    other number of its range, as row numbers or ids counted up do), or however spread where it is
    named as an id (`id`, `user_id`, `Customer ID`: ids counted from 1000 with gaps), on ID_MIN_ROWS
    rows or more. (Not a feature of distinct whole numbers spread wide, such as incomes; nor years,
    one a row. Cheap tests first: most columns fail on their range.)"""
    n = len(values)
    if n < ID_MIN_ROWS or values.dtype.kind != "f":
        return False
    named = bool(_ID_NAME.search(name.strip()))
    present = values[~np.isnan(values)] if named else values  # (named, an id with a missing cell is still one)
    if len(present) < ID_MIN_ROWS:
        return False
    lo, hi = float(present.min()), float(present.max())
    span = hi - lo + 1
    if not (math.isfinite(lo) and math.isfinite(hi)) or not (len(present) <= span and (named or span <= 2 * n)):
        return False  # (too few numbers in the range for each row its own, or too many for a count)
    if not named and 1800 <= lo and hi <= 2100:
        return False  # years, one a row (1950..2023): a time index, often the feature that matters
    if not np.all(present == np.round(present)):
        return False
    ordered = np.sort(present)  # (not np.unique: it imports numpy.ma, 10 ms of every fit's start)
    return bool(np.all(ordered[1:] != ordered[:-1]))


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


class Training:
    """A training run: iterate it for EpochStats; afterwards `model()` has the result."""

    def __init__(self, data: TrainingData, mopts: ModelOptions, config: TrainConfig, *, seed: int, dtype: str,
                 should_stop: Callable[[], bool | str] | None = None, extra_config: dict | None = None,
                 threads: int = 1):
        self.data, self.mopts, self.config = data, mopts, config
        rng = np.random.default_rng(seed)
        self.net = build_network(data, mopts, dtype, rng)
        self.net.use_threads(threads)
        self.rng = rng
        self.should_stop = should_stop
        self.progress: Callable[[int, int], None] | None = None  # see fit_iter (a live screen sets it)
        # Per epoch, as 8-byte numbers (Python floats in lists took ~370 bytes an epoch with the L2 terms:
        # 3.7 GB over the 10 million epochs --epochs allows)
        self.history: dict[str, array] = {k: array("d") for k in HISTORY_KEYS}
        self._penalties = (array("d"), array("d"))  # each epoch's L2 terms, training and validation
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
            "epochs_run": s.epoch if s else 0,
            "best_epoch": s.best_epoch if s else 0,
            "stopped": s.stopped if s else None,
            "weights_from_epoch": (s.best_epoch if self.keeps_best else s.epoch) if s else 0,
            "seconds": float(sum(self.history["seconds"])),
        }
        if info["weights_from_epoch"]:
            # Final numbers describe the saved weights (the best epoch when it is restored).
            i = info["weights_from_epoch"] - 1
            for k in ("loss", "metric", "val_loss", "val_metric"):
                v = self.history[k][i]
                info[f"final_{k}"] = None if math.isnan(v) else v
            # The weight penalty that training added to those data losses (0 without L2)
            for k, v in zip(("final_l2_penalty", "final_val_l2_penalty"), (p[i] for p in self._penalties)):
                info[k] = None if math.isnan(v) else v
        model = Model(self.mopts.kind, self.net, self.data.pre, self.data.target,
                      list(self.data.na_values),
                      config=self.config_record, info=info,
                      history={k: np.array(v, np.float64) for k, v in self.history.items()})
        return model
