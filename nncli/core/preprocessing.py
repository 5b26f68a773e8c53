"""Turning table columns into the network's inputs and targets, learned at fit time.

Features: numeric columns are imputed (training median) and standardized;
categorical columns are one-hot encoded with the categories seen at fit time
(plus a "missing" category when fit saw missing cells). Every encoded column is
then standardized with training statistics, all stored in the model file, so
predict and eval apply exactly what fit learned.

Targets: class labels (kept as the strings in the file) or numeric values,
which are standardized for training and mapped back for predictions.

Columns come in as a dict of name -> 1-D array: floats (NaN = missing) for
numeric columns, numpy strings for text columns. NumPy, the stdlib and `nncli.errors` only.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from nncli.errors import DataError, UnknownClassError, UsageError, names_hint, option_value, shorten

MAX_CLASS_INTEGERS = 20  # integer targets with at most this many values are class labels
# A classifier has at most this many classes: its targets are one-hot, rows x classes (15,000 rows of
# as many labels, an id column as the target: 1.86 GB from a 304 KB file).
MAX_CLASSES = 1000
MISSING = "<missing>"


@dataclass
class Feature:
    """One input column and how it is encoded."""

    name: str
    kind: str  # "numeric" or "categorical"
    fill: float = 0.0  # numeric: the value imputed for missing cells (training median)
    categories: list[str] = field(default_factory=list)  # categorical: one output column each
    missing: int = 0  # missing cells seen at fit time

    @property
    def width(self) -> int:
        return 1 if self.kind == "numeric" else len(self.categories)

    def encoded_names(self) -> list[str]:
        return [self.name] if self.kind == "numeric" else [f"{self.name}={c}" for c in self.categories]


@dataclass
class EncodeReport:
    """What encoding had to do at predict/eval time: counts per column name."""

    missing: dict[str, int] = field(default_factory=dict)
    unseen: dict[str, int] = field(default_factory=dict)
    # Missing cells of a categorical column that had none in training: no `<missing>` category to
    # take them, so they encode as all zeros, as an unseen category does.
    missing_zeros: dict[str, int] = field(default_factory=dict)
    dropped: int = 0  # rows left out: their target is missing (a --val file)
    # Per column with unseen categories, the first such (it, the training one) that differs in case only,
    # else None: looked for in the first chunk that has any, not again in every chunk
    case_of: dict[str, tuple[str, str] | None] = field(default_factory=dict)


def recode_composed(codes: np.ndarray, cells: np.ndarray, names: list[str]) -> None:
    """Give the cells whose code is -1 (not among `names`) the code of a name that is the same text with
    its accents encoded the other way, composed or decomposed (Unicode's NFC and NFD): a file exported on
    macOS against a model trained on one from elsewhere had every 'café' unseen, or an error whose hint
    offered the very label it refused. In place; only the unmatched cells are looked at."""
    unmatched = codes < 0
    if not unmatched.any():
        return
    odd = {u for u in set(cells[unmatched].tolist()) if not u.isascii()}
    if not odd:
        return
    by_text: dict[str, int] = {}
    for k, name in enumerate(names):  # (NFC itself, not `composed`: Hangul's jamo are no combining marks)
        by_text.setdefault(unicodedata.normalize("NFC", name), k)
    found = {u: by_text[key] for u in odd if (key := unicodedata.normalize("NFC", u)) in by_text}
    if found:
        rows = np.flatnonzero(unmatched)
        codes[rows] = np.fromiter((found.get(u, -1) for u in cells[rows].tolist()), np.int64, count=len(rows))


def is_text(values: np.ndarray) -> bool:
    """Whether a column's values are text: a str array, or an array of Python strings (the readers
    give those where a str array, as wide as the longest cell, would be too big)."""
    return values.dtype.kind in "UO"


def is_missing_text(values: np.ndarray, na_values: frozenset[str] | set[str]) -> np.ndarray:
    return np.isin(values, list(na_values)) if len(values) else np.zeros(0, bool)


# Numeric columns go into the (rows, inputs) matrix a block at a time, a block about this many cells
# (8 MB of float32): the columns' pieces stacked as the rows of a block, then copied across in one
# transposed copy. Written one column at a time, each column went through every row of the matrix in
# memory: 60,000 x 784 took 276 ms warm, now 115-149 (benchmarks/RESULTS.md, section AB). A block
# spans all the run's columns if that leaves it NUMERIC_BLOCK_MIN_ROWS rows, else fewer columns: with
# 100,000 columns, blocks of 20 rows cut each column into n/20 pieces (1,000 rows: 0.5 -> 3.1 s).
NUMERIC_BLOCK_CELLS = 1 << 21
NUMERIC_BLOCK_MIN_ROWS = 1024


def _numeric_columns(X: np.ndarray, start: int, run: list[tuple["Feature", np.ndarray]],
                     report: "EncodeReport | None") -> None:
    """Write a run of numeric columns into X[:, start:start + len(run)], each missing cell (NaN) as
    its feature's fill, and empty the run."""
    if not run:
        return
    n, k = X.shape[0], len(run)
    rows = max(1, min(n, NUMERIC_BLOCK_MIN_ROWS), NUMERIC_BLOCK_CELLS // k)
    width = max(1, NUMERIC_BLOCK_CELLS // rows)  # columns a block
    missing = [0] * k
    for c0 in range(0, k, width):
        part = run[c0:c0 + width]
        out = X[:, start + c0:start + c0 + len(part)]
        for s in range(0, n, rows):
            block = np.array([v[s:s + rows] for _, v in part], dtype=X.dtype)
            miss = np.isnan(block)
            if miss.any():
                for i in np.flatnonzero(miss.any(axis=1)).tolist():
                    block[i][miss[i]] = part[i][0].fill
                    missing[c0 + i] += int(np.count_nonzero(miss[i]))
            out[s:s + rows] = block.T
            del block, miss  # (before the next block is made: one block alive at a time)
    if report is not None:
        for (f, _), m in zip(run, missing):
            if m:
                report.missing[f.name] = report.missing.get(f.name, 0) + m
    run.clear()


@dataclass
class Preprocessor:
    """Feature encoding plus standardization statistics of the encoded matrix."""

    features: list[Feature]
    mean: np.ndarray  # (n_inputs,)
    scale: np.ndarray  # (n_inputs,), never 0

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def n_inputs(self) -> int:
        return sum(f.width for f in self.features)

    def encoded_names(self) -> list[str]:
        return [n for f in self.features for n in f.encoded_names()]

    def encode(self, columns: dict[str, np.ndarray], na_values: frozenset[str] | set[str],
               dtype: type = np.float32, report: EncodeReport | None = None, consume: bool = False) -> np.ndarray:
        """Raw columns -> unstandardized (n, n_inputs) matrix, imputing and one-hot encoding.

        With consume=True each column is removed from `columns` and let go once encoded
        (numeric columns once their run of consecutive ones is), so a caller that holds
        no other reference frees the table as X fills up.
        """
        n = len(next(iter(columns.values()))) if columns else 0
        try:
            X = np.zeros((n, self.n_inputs), dtype=dtype)
        except MemoryError:
            raise self._too_big(n, np.dtype(dtype)) from None
        numeric: list[tuple[Feature, np.ndarray]] = []  # consecutive numeric columns, written together
        j = 0
        for f in self.features:
            v = columns.pop(f.name) if consume else columns[f.name]
            if f.kind == "numeric":
                if is_text(v):
                    raise DataError(f"column {shorten(f.name)} should be numeric")
                numeric.append((f, v))
            else:
                _numeric_columns(X, j - len(numeric), numeric, report)
                if not is_text(v):  # (the readers give categorical columns as text)
                    raise DataError(f"column {shorten(f.name)} should be text (categorical)")
                miss = is_missing_text(v, na_values)
                text = np.where(miss, MISSING, v)
                index = {c: k for k, c in enumerate(f.categories)}
                codes = np.fromiter((index.get(s, -1) for s in text.tolist()), dtype=np.int64, count=n)
                recode_composed(codes, text, f.categories)
                known = codes >= 0
                X[np.nonzero(known)[0], j + codes[known]] = 1.0
                if report is not None:
                    new = ~known & ~miss
                    unseen = int(new.sum())
                    if unseen:
                        report.unseen[f.name] = report.unseen.get(f.name, 0) + unseen
                        if f.name not in report.case_of:  # ('Female' where training had 'female')
                            folded = {c.strip().casefold(): c for c in f.categories}
                            report.case_of[f.name] = next(((u, folded[u.strip().casefold()]) for u in
                                                           np.unique(text[new])[:1000].tolist()
                                                           if u.strip().casefold() in folded), None)
                    n_miss = int(miss.sum())
                    if n_miss:
                        counts = report.missing if MISSING in index else report.missing_zeros
                        counts[f.name] = counts.get(f.name, 0) + n_miss
            j += f.width
        _numeric_columns(X, j - len(numeric), numeric, report)
        return X

    def _too_big(self, n: int, dtype: np.dtype) -> DataError:
        """The error for an encoded matrix that does not fit in memory: one-hot columns are dense (an
        out-of-memory error used to suggest a smaller --batch-size or model, neither of which helps)."""
        size = f"{n:,} rows × {self.n_inputs:,} inputs of {dtype.name}: {n * self.n_inputs * dtype.itemsize / 2**30:.1f} GiB"
        widest = max(self.features, key=lambda f: f.width)
        if widest.kind != "categorical":
            return DataError(f"the encoded data takes {size}, more than the memory there is")
        return DataError(f"one-hot encoding column {shorten(widest.name)} ({widest.width:,} categories) makes {size}, "
                         "more than the memory there is",
                         hint=f"leave it out (--ignore {option_value(widest.name)}) or keep fewer categories (--max-categories)")

    def transform(self, columns: dict[str, np.ndarray], na_values: frozenset[str] | set[str],
                  dtype: type = np.float32, report: EncodeReport | None = None) -> np.ndarray:
        """Raw columns -> standardized network inputs (n, n_inputs)."""
        return self.standardize(self.encode(columns, na_values, dtype, report))

    def standardize(self, X: np.ndarray) -> np.ndarray:
        """Encoded columns X, in place, less the training means and over the scales."""
        X -= self.mean.astype(X.dtype)
        X /= self.scale.astype(X.dtype)
        return X


MIN_RELATIVE_SCALE = 1e-12
# A spread under float32's smallest normal number is taken for none: dividing by it loses digits.
MIN_SCALE = float(np.finfo(np.float32).tiny)


def no_spread(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Which columns of this mean and spread are constant, to rounding: a spread under MIN_RELATIVE_SCALE
    of the mean's size is rounding, one under MIN_SCALE is none (a NaN spread too); `standard_scale`
    scales such a column (unless it is exactly constant) by that floor. Relative to the column's
    own size, whatever its unit: a feature measured in units of 1e-13 spreads like one in units of 1
    (a floor of 1 under the mean's size took its spread of 3e-13 for rounding: the column was never
    standardized, and the model learned nothing from it, without a word)."""
    return ~((std > MIN_RELATIVE_SCALE * np.abs(mean)) & (std >= MIN_SCALE))


def standard_scale(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """The scale that standardizes columns of this mean and spread: the spread, but never less than
    the least `no_spread` takes for one (MIN_RELATIVE_SCALE of the mean's size, MIN_SCALE); 1 for a
    column that is exactly constant (a spread of 0, or NaN), which it keeps at exactly 0, as it carries
    no information. (A column that varied by less than the floor was given 1 too: 1e13 + U(-2, 2)
    reached the network as differences of up to 2 unscaled, 1e20 + U(0, 3e7) as ones of 1e7, which
    wrecked training, R² -2e5.)"""
    return np.where(std > 0, np.maximum(std, scale_floor(mean)), 1.0)


def scale_floor(mean: np.ndarray) -> np.ndarray:
    """The least scale a column of this mean is standardized by: MIN_RELATIVE_SCALE of its size, or
    MIN_SCALE (see `no_spread`)."""
    return np.maximum(MIN_RELATIVE_SCALE * np.abs(mean), MIN_SCALE)


def column_stats(X: np.ndarray, cells: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column, accumulated in float64 a block of rows at a time.

    `X.std(dtype=float64)` would hold a float64 copy of all of X (twice a float32 table); a block
    holds about `cells` values (8 MB). Where a sum or a square leaves float64's range (values near
    1e308 or 1e155, in float64 runs and regression targets), the columns are summed again over
    their largest magnitude. A column holding one value on every row gets that value as its mean and
    0 as its spread: the float64 mean of 300 copies of 0.1 is 0.10000000000000052, which would
    leave the column a few 1e-16 from the 0 it standardizes to (see `standard_scale`).
    """
    if not len(X):
        return np.zeros(X.shape[1]), np.zeros(X.shape[1])
    rows = max(1, cells // max(X.shape[1], 1))
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = _mean_std(X, rows)
        # (squares under 1e-308 are 0: a spread under ~1e-154, in float64 runs, is summed again too; only
        # those columns: a table's columns of zeros would have cost it a second pass over all of them)
        again = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)) | (std < 1e-150))
        if len(again):
            Xa = X[:, again]
            mean[again], std[again] = _mean_std(Xa, rows, np.maximum(np.abs(Xa).max(axis=0), np.finfo(np.float64).tiny))
    same = np.flatnonzero(no_spread(mean, std))
    if len(same):
        first = X[0, same]
        exact = same[(X[:, same] == first).all(axis=0)]
        mean[exact], std[exact] = X[0, exact], 0.0
    return mean, std


def _mean_std(X: np.ndarray, rows: int, big: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """column_stats' sums, blocks of `rows` rows at a time, of X or of X / big (then scaled back)."""
    n = X.shape[0]
    if big is None:
        mean = X.mean(axis=0, dtype=np.float64)
    else:
        mean = sum(np.sum(X[s:s + rows] / big, axis=0) for s in range(0, n, rows)) / n
    sq = np.zeros(X.shape[1])
    for s in range(0, n, rows):
        block = (X[s:s + rows] if big is None else X[s:s + rows] / big) - mean
        sq += np.einsum("ij,ij->j", block, block)
    std = np.sqrt(sq / n)
    return (mean, std) if big is None else (mean * big, std * big)


def column_median(values: np.ndarray) -> float:
    """The median of values without NaN (0.0 if there are none), as np.median in float64 gives it.

    One selection instead of np.median's two (the lower middle value of an even count is the
    largest below the upper one), in the values' own dtype: a column of 100,000 float32 numbers
    took 1.2 ms, now 0.65. The two middle values are averaged as Python floats: in float32, 2.5e38
    and 3e38 would average to inf (and halved first where their float64 sum overflows).
    """
    n = values.size
    if n == 0:
        return 0.0
    k = n // 2
    part = np.partition(values, k)
    upper = float(part[k])
    if n % 2:
        return upper
    lower = float(part[:k].max())
    total = lower + upper
    return total / 2 if math.isfinite(total) else lower / 2 + upper / 2  # (1.7e308 twice: inf, not the median)


def fit_preprocessor(columns: dict[str, np.ndarray], kinds: dict[str, str],
                     na_values: frozenset[str] | set[str], dtype: type = np.float32,
                     consume: bool = False) -> tuple[Preprocessor, np.ndarray]:
    """Learn the encoding from training columns; returns it and the standardized X.

    kinds maps each feature name to "numeric" or "categorical", in input order.
    consume=True empties `columns` while encoding (see `Preprocessor.encode`).
    """
    features = []
    for name, kind in kinds.items():
        v = columns[name]
        if kind == "numeric":
            miss = np.isnan(v)
            n_miss = int(np.count_nonzero(miss))
            fill = column_median(v[~miss] if n_miss else v)
            features.append(Feature(name, "numeric", fill=fill, missing=n_miss))
        else:
            miss = is_missing_text(v, na_values)
            cats = sorted(set(v[~miss].tolist()))
            if miss.any() and MISSING not in cats:  # (a cell that reads '<missing>' already is that category)
                cats.append(MISSING)
            features.append(Feature(name, "categorical", categories=cats, missing=int(miss.sum())))
    pre = Preprocessor(features, np.zeros(0), np.ones(0))
    X = pre.encode(columns, na_values, dtype, consume=consume)
    mean, std = column_stats(X)
    pre.mean, pre.scale = mean, standard_scale(mean, std)
    return pre, pre.standardize(X)


# -- what number a cell holds: one answer for the readers, the targets and the labels -------
def cell_number(cell: str) -> float | None:
    """The number a (stripped) cell holds, else None: float()'s syntax without its '1_000'."""
    if "_" in cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def numbers_among(tokens: Iterable[str], dtype: type) -> np.ndarray:
    """The finite numbers among missing-value tokens, in `dtype`."""
    numbers = {v for v in map(cell_number, tokens) if v is not None and math.isfinite(v)}
    return np.array(sorted(numbers), dtype)


def _as_numbers(values: np.ndarray) -> np.ndarray | None:
    """The cells (text) as float64, if every one holds a number (`cell_number`), else None."""
    if values.dtype.kind == "U" and values.dtype.itemsize > 4 * 1024:
        values = values.astype(object)  # (NumPy's cast of wide str cells takes ~500 bytes a character)
    try:
        numbers = values.astype(np.float64)  # (NumPy's parser, fast; it takes '1_000' too)
    except ValueError:
        return None
    if values.dtype.kind == "O":
        if any("_" in s for s in values.tolist()):
            return None
    elif values.size and (np.char.find(values, "_") >= 0).any():
        return None
    return numbers


# -- targets ------------------------------------------------------------------------------
CellHint = Callable[[str, str], "str | None"]  # (cell, column name) -> a hint, or None


def infer_task(values: np.ndarray) -> str:
    """"classification" for text labels or few (<= 20) distinct integers, else "regression". (Counting
    the distinct cells first, as a set of 20 million numbers' text, took 1.2 GB of a 2.9 GB fit.)"""
    nums = _as_numbers(values)
    if nums is None:
        return "classification"
    distinct = distinct_whole_numbers(nums)
    return "classification" if distinct is not None and distinct <= MAX_CLASS_INTEGERS else "regression"


def distinct_whole_numbers(values: np.ndarray) -> int | None:
    """How many distinct numbers a column of whole numbers holds (text cells or numbers); None if a cell
    is no whole number (text, a fraction, inf)."""
    nums = _as_numbers(values) if values.dtype.kind in "OUS" else values
    if nums is None or not (np.all(np.isfinite(nums)) and np.all(nums == np.round(nums))):
        return None
    ordered = np.sort(nums)  # (not np.unique: it imports numpy.ma, 10 ms of `fit`'s start)
    return int(len(ordered) > 0) + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def class_labels(values: np.ndarray) -> list[str]:
    """Distinct labels, numerically ordered when they are all numbers, else alphabetically."""
    labels = sorted(set(values.tolist()))
    nums = _as_numbers(np.array(labels, dtype=object))
    if nums is not None:
        labels = [labels[i] for i in np.argsort(nums, kind="stable")]
    return labels


@dataclass
class Target:
    """The target column(s): class labels, or numeric standardization statistics."""

    names: list[str]
    task: str  # "classification" or "regression"
    classes: list[str] = field(default_factory=list)
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))
    log: bool = False  # regression on log(1 + y) (`--log-target`): mean and scale are of that

    def term(self, name: str) -> str:
        """What the network predicts of a target column: `price`, or `log(1 + price)`."""
        return f"log(1 + {name})" if self.log else name

    def fit_scale(self, Y: np.ndarray) -> None:
        """Learn mean and scale from raw regression targets Y (n, k): of log(1 + Y) for a log target."""
        self.mean, self.scale = target_stats(np.log1p(Y) if self.log else Y)

    @property
    def task_text(self) -> str:
        """The task as people read it: `classification`, `regression on log(1 + price)`."""
        return f"regression on {', '.join(map(self.term, self.names))}" if self.log else self.task

    @property
    def loss(self) -> str:
        if self.task == "regression":
            return "mse"
        return "bce" if len(self.classes) == 2 else "ce"

    @property
    def n_outputs(self) -> int:
        if self.task == "regression":
            return len(self.names)
        return 1 if len(self.classes) == 2 else len(self.classes)

    def class_index(self, labels: np.ndarray, *, source: str = "", lines: np.ndarray | None = None,
                    column: int | None = None, cell_hint: CellHint | None = None) -> np.ndarray:
        """Labels -> class indices; a label the model never saw is a DataError (with `cell_hint`'s hint
        for it first, as in `target_numbers`)."""
        if len(self.classes) <= 32:  # a vectorized comparison per class beats a dict lookup per row
            codes = np.full(len(labels), -1, dtype=np.int64)
            for k, c in enumerate(self.classes):
                codes[labels == c] = k
        else:
            index = {c: k for k, c in enumerate(self.classes)}
            codes = np.fromiter((index.get(s, -1) for s in labels.tolist()), dtype=np.int64, count=len(labels))
        recode_composed(codes, labels, self.classes)
        bad = np.nonzero(codes < 0)[0]
        if bad.size:
            i = int(bad[0])
            raise UnknownClassError(
                f"class label {shorten(labels[i])} was not seen in training "
                f"({bad.size} row{'s' if bad.size > 1 else ''} like this)",
                file=source or None, line=int(lines[i]) if lines is not None else None,
                column=column, column_name=self.names[0],
                hint=(cell_hint and cell_hint(str(labels[i]), self.names[0])) or self._label_hint(str(labels[i])),
                # (a label written as one of the classes is, as a number: not a new class, but one spelt otherwise)
                spelt_otherwise=any(_same_number(c, str(labels[i])) for c in self.classes),
            )
        return codes

    def _label_hint(self, label: str) -> str:
        known = names_hint(label, self.classes, "the classes seen in training", limit=120)
        same = [c for c in self.classes if _same_number(c, label)]  # labels are text: '1.0' is not '1'
        return f"{known}; labels are text, and {shorten(label)} is written differently from {shorten(same[0])}" \
            if same else known

    def encode(self, codes_or_values: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """Class indices or raw values -> the Y the loss expects (0/1, one-hot, standardized)."""
        if self.task == "regression":
            Y = np.asarray(codes_or_values, np.float64).reshape(len(codes_or_values), -1)
            return (((np.log1p(Y) if self.log else Y) - self.mean) / self.scale).astype(dtype)
        codes = codes_or_values
        if len(self.classes) == 2:
            return codes.astype(dtype).reshape(-1, 1)
        Y = np.zeros((len(codes), len(self.classes)), dtype=dtype)
        Y[np.arange(len(codes)), codes] = 1.0
        return Y

    def decode_values(self, Z: np.ndarray) -> np.ndarray:
        """Network outputs (standardized) -> values in the target's own units, float64 (inf where
        that overflows: a target near float64's limit, 1e307, scaled by its spread; or, of log(1 + y),
        an output beyond log(1e308)). Of log(1 + y), at least 0: training took no y below it (an output
        below log 1, as of counts that are often 0, would be a y between -1 and 0)."""
        with np.errstate(over="ignore", invalid="ignore"):
            values = Z.astype(np.float64) * self.scale + self.mean
            if self.log:
                np.maximum(np.expm1(values, out=values), 0.0, out=values)
            return values


def fit_target(values: list[np.ndarray], names: list[str], task: str, *, source: str = "",
               lines: np.ndarray | None = None, columns: Sequence[int] | None = None,
               cell_hint: CellHint | None = None, log: bool = False) -> Target:
    """Learn the target encoding. values: one text array per target column (no missing), read
    from `source` at these line numbers and (1-based) columns, which locate a bad cell; `log`: a
    regression on log(1 + y), whose values must be 0 or more."""
    if task == "auto":
        task = "regression" if len(values) > 1 else infer_task(values[0])
    if task == "classification":
        if len(values) > 1:
            raise UsageError("classification takes one target column", hint="give one --target column")
        classes = class_labels(values[0])
        if len(classes) < 2:
            raise DataError(
                f"the target column {shorten(names[0])} has a single class ({shorten(classes[0] if classes else '')})",
                file=source, hint="classification needs at least two different labels",
            )
        return Target(names, task, classes=classes)
    cols = [target_numbers(v, name, source=source, lines=lines, column=None if columns is None else columns[k],
                           cell_hint=cell_hint,
                           labels_hint="log" if log else "single" if len(values) == 1 else "several")
            for k, (v, name) in enumerate(zip(values, names))]
    if log:
        for k, (col, name) in enumerate(zip(cols, names)):
            check_log_target(col, name, source=source, lines=lines, column=None if columns is None else columns[k])
    target = Target(names, "regression", log=log)
    target.fit_scale(np.column_stack(cols))
    return target


def check_log_target(numbers: np.ndarray, name: str, *, source: str = "", lines: np.ndarray | None = None,
                     column: int | None = None, whole: bool = True) -> None:
    """A DataError, located, at the first number below 0 in a target column trained on log(1 + y); with
    how many there are, where `numbers` is the `whole` column (not a chunk of it)."""
    below = np.flatnonzero(numbers < 0)
    if below.size:
        i = int(below[0])
        counted = f" ({below.size:,} row{'s' if below.size > 1 else ''} below 0)" if whole else ""
        raise DataError(f"--log-target trains on log(1 + y), which needs target values of 0 or more; found "
                        f"{numbers[i]:g}{counted}",
                        file=source or None, line=None if lines is None else int(lines[i]), column=column,
                        column_name=name, hint=LOG_TARGET_HINT)


LOG_TARGET_HINT = "leave out --log-target for a target that can be negative"


LABELS_HINTS = {"single": "use --task classification for labels",
                "log": "--log-target is for numbers to predict; labels are a classifier's (leave it out)",
                "several": "several target columns are numbers to predict (regression); a column of labels is the "
                           "target of a classifier of its own"}


def target_numbers(cells: np.ndarray, name: str, *, source: str = "", lines: np.ndarray | None = None,
                   column: int | None = None, labels_hint: str | None = None,
                   cell_hint: CellHint | None = None) -> np.ndarray:
    """A regression target column's cells (text, none missing) as finite float64 numbers. The first
    cell that is not one is a DataError, located where source, lines and column are given;
    `labels_hint` ("single" or "several" target columns, at fit): where the cell is text, suggest
    classification, or a classifier of its own; `cell_hint(cell, name)`: a hint for the cell itself,
    first (a missing cell's word, the header again)."""
    numbers = _as_numbers(cells)
    if numbers is not None and np.isfinite(numbers).all():
        return numbers
    for i, cell in enumerate(cells.tolist()):
        number = cell_number(cell)
        if number is None or not math.isfinite(number):
            raise DataError(f"expected a finite number as the target, found {shorten(cell)}", file=source or None,
                            line=None if lines is None else int(lines[i]), column=column, column_name=name,
                            hint=(cell_hint and cell_hint(cell, name))
                            or (None if number is not None else LABELS_HINTS.get(labels_hint or "")))
    return np.array([cell_number(c) for c in cells.tolist()], np.float64)  # (NumPy's parser refused a cell)


def target_stats(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scale) that standardize regression targets Y (n, k), as features are."""
    mean, std = column_stats(Y)
    return mean, standard_scale(mean, std)


def _same_number(a: str, b: str) -> bool:
    x = cell_number(a)
    return x is not None and x == cell_number(b)
