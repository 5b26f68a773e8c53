"""What a training table's cells say about a mistake in it, before anything trains.

Refusals raise a DataError at the first cell that shows the mistake: a stray word in a numeric
column, numbers written with a comma, text columns of more distinct values than categories take.
Notices are a line each for what trains but is probably not what was meant: a header row of
numbers, a feature named like the target, a totals row, an id column, a feature that copies the
target. `workflow.py` calls them as it loads training data. NumPy, the core and the CSV modules
only: never typer or rich.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from typing import Iterable

import numpy as np

from nncli.core.preprocessing import (MAX_CLASS_INTEGERS, MAX_CLASSES, MIN_SCALE, Preprocessor, Target, cell_number,
                                      column_stats, distinct_whole_numbers, is_missing_text, scale_floor)
from nncli.csv_columns import DECIMAL_COMMA_HINT, MISSING_LIKE, THOUSANDS_HINT, cell_hints, separator_hint
from nncli.csv_io import Table
from nncli.errors import DataError, option_value, shorten


def refuse_stray_text(table: Table, features: list[str], categorical: Iterable[str],
                      na_values: Iterable[str]) -> None:
    """A mostly numeric feature with a few text cells is a typo, not a category: an error at the first."""
    for c in features:
        col = table.columns[c]
        if col.is_text and c not in categorical:
            n_missing = int(is_missing_text(col.values, frozenset(na_values)).sum())
            n_text = len(col.values) - n_missing - col.n_numeric
            if n_text < col.n_numeric and col.first_text is not None:  # (half words: categories)
                line, cell = col.first_text
                raise DataError(
                    f"expected a number, found {shorten(cell)} (the column is mostly numeric)",
                    file=table.source, line=line, column=table.header.index(c) + 1, column_name=c,
                    hint=cell_hints(na_values)(cell, c)
                    or f"fix the cell, or use --categorical {option_value(c)} / --ignore {option_value(c)}",
                )


def refuse_stray_target_text(table: Table, name: str, cells: np.ndarray, distinct: set[str],
                             na_values: Iterable[str]) -> None:
    """A target of many different numbers with a few text cells is a typo, not a set of labels
    (it would become a classification into as many classes as there are numbers): an error at
    the first. Few distinct values stay labels, unless they are all numbers, some written with a
    comma ('0,5', '1' and '1,5': a regression target, as a feature of them is refused as categories)."""
    refuse_numbers_with_commas(table, name, distinct, cells, "the target", "--task classification")
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


def refuse_numbers_with_commas(table: Table, name: str, values: set[str], cells: np.ndarray, what: str,
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


def headerless_notice(table: Table) -> str | None:
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


def feature_notices(pre: Preprocessor, dtype: np.dtype, constant: np.ndarray, rows: int,
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


ID_SHARE = 0.5  # a categorical column with a value for at least this share of the rows may be an id
MAX_SAME_NOTICES = 5  # more features the same on every row than this: one notice for them all


TARGET_NAMES = frozenset({"label", "labels", "target", "class", "y", "outcome"})  # columns named like a target
CLASS_NAMES = frozenset({"label", "labels", "class", "category"})  # targets named as classes (not 'y': a count?)
LEAK_CORRELATION = 0.999  # a numeric feature this correlated with a one-column target gets a notice


def leak_notices(pre: Preprocessor, X: np.ndarray, Y: np.ndarray) -> list[str]:
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


def target_name_notices(features: list[str], targets: list[str], given: bool) -> list[str]:
    """A notice when the target was not named (`given`) and a feature is named like a target."""
    notices: list[str] = []
    named = [c for c in features if c.strip().casefold() in TARGET_NAMES] if not given else []
    if named:  # (the label first, as Kaggle's and MNIST's files have it: a regression on the last feature)
        notices.append(f"the target is the last column, {shorten(targets[0], 40)}; {shorten(named[0], 40)} is named "
                       f"like one: if it is the target, --target {option_value(named[0])}")
    return notices


def column_notices(table: Table, kinds: dict[str, str], na: frozenset[str], categorical: Iterable[str],
                   max_categories: int) -> list[str]:
    """Notices for feature columns (`kinds`: name -> "numeric" or "categorical") that hold numbers in a
    spreadsheet's dress (currency, percentages, dates), a totals row, or an id; and one error for every
    text column of more than `max_categories` distinct values (all of them, each with its fix)."""
    notices: list[str] = []
    too_many: list[tuple[str, int]] = []  # (all of them in one error: a fix for each, one run)
    dressed: dict[str, tuple[str, str, str]] = {}  # column: `_dressed_numbers`
    totals_said: str | None = None  # the notice of a totals row, if any
    for c, kind in kinds.items():
        if kind == "categorical":
            col = table.columns[c]
            present = col.values[~is_missing_text(col.values, na)]
            cats = set(present.tolist())
            if c not in categorical and col.first_text:  # (not categories)
                refuse_numbers_with_commas(table, c, cats, col.values, "the column", f"--categorical {option_value(c)}")
                found = _dressed_numbers(present)
                if found:
                    dressed[c] = found
            if len(cats) > max_categories:
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
        # An id has a value (nearly) every row; a column of a few more values than the limit is a feature
        # ("an id-like column? --ignore state" threw away 51 states against a limit of 50)
        ids = [m for m, k in too_many if m not in dressed and k >= ID_SHARE * table.n_rows]
        if ids:
            hints.append(f"{'id-like columns' if len(ids) > 1 else 'an id-like column'}? --ignore {option_value(*ids)}")
        kept = [(m, k) for m, k in too_many if m not in dressed and m not in ids]
        if kept:  # (each fix is needed for its own columns: "and", not "else")
            hints.append(f"{'and ' if ids else ''}--max-categories {max(k for _, k in kept):,} keeps "
                         + (", ".join(shorten(m, 30) for m, _ in kept) if len(kept) < len(too_many) else "them"))
        elif ids:
            hints[-1] += "; else raise --max-categories"
        if totals_said:  # (the notices that would have said so are not printed: the run stops here)
            hints.append(totals_said)
        raise DataError(
            f"categorical column {shorten(c)} has {n_cats:,} distinct values (limit {max_categories})"
            + (f"; also over it: {', '.join(f'{shorten(m, 30)} ({k:,})' for m, k in more[:5])}"
               f"{', …' if len(more) > 5 else ''}" if more else ""),
            file=table.source, hint="; ".join(hints),
        )
    return notices


def whole_number_classes_notice(values: np.ndarray, name: str) -> list[str]:
    """A notice for a target named as classes are ('label') that reads as a number to predict: whole
    numbers, more than MAX_CLASS_INTEGERS of them but no more than MAX_CLASSES (`gen-data blobs --classes
    30` trained a regression of its 'label' without a word)."""
    if name.strip().casefold() not in CLASS_NAMES:  # ('y' or 'count' of many whole numbers: a number to predict)
        return []
    distinct = distinct_whole_numbers(values)
    if distinct is None or distinct > MAX_CLASSES:
        return []
    return [f"the target {shorten(name, 40)} holds {distinct:,} distinct whole numbers, more than "
            f"{MAX_CLASS_INTEGERS}: read as a number to predict (regression); if they are classes, --task "
            "classification"]


def target_notices(target: Target, name: str, inferred: bool, given: bool, na_values: Iterable[str],
                   rows: int) -> list[str]:
    """Notices for a class target's labels: whole numbers read as many classes (`inferred`: the task was
    not given), a class for (nearly) every one of the `rows`, one label written two ways, a label that is
    another program's word for a missing cell. `given`: whether --target named the column (else it is the
    last)."""
    notices: list[str] = []
    if len(target.classes) > 10 and len(target.classes) >= ID_SHARE * rows:  # (`--target id` trained 300 classes)
        notices.append(f"the target {shorten(name, 40)} has {len(target.classes):,} classes over {rows:,} rows, "
                       "two rows a class or fewer: too few to learn a class from (an id? another --target)")
    # (Labels 0..9 are how most class columns are written: no notice up to ten classes.)
    if (inferred and len(target.classes) > 10 and all(cell_number(c) is not None for c in target.classes)
            and name.strip().casefold() not in CLASS_NAMES):  # ('label' holding 12 classes says so itself)
        notices.append(f"the target {shorten(name, 40)} holds {len(target.classes)} distinct whole numbers: "
                       "read as classes (--task regression to predict it as a number"
                       + ("; the target is the last column unless --target NAME)" if not given else ")"))
    spellings: dict[object, list[str]] = {}  # labels that are one number written two ways, or one word in two cases
    for c in target.classes:
        number = cell_number(c)
        spellings.setdefault(unicodedata.normalize("NFC", c).casefold() if number is None else number, []).append(c)
    twice = [ways for ways in spellings.values() if len(ways) > 1]
    if twice:  # (as eval's hint says: labels are text)
        a, b = twice[0][:2]
        how = ("one number written two ways" if cell_number(a) is not None
               else "one word in two cases" if unicodedata.normalize("NFC", a) != unicodedata.normalize("NFC", b)
               else "one word with its letters encoded two ways (composed and decomposed Unicode)")
        notices.append(f"the target {shorten(name, 40)} has labels that are {how} "
                       f"({' and '.join(map(shorten, twice[0][:2]))}{', …' if len(twice) > 1 else ''}): they are "
                       "different classes, as labels are text; if they are one class, write them one way")
    missing_like = [c for c in target.classes if c.lower() in MISSING_LIKE]
    if missing_like:  # ('NULL' among 0 and 1: a third class, without a word; eval refuses it)
        tokens = sorted({t for t in na_values if t} | {missing_like[0]}, key=lambda t: (t.lower(), t))
        notices.append(f"the target {shorten(name, 40)} has the label {shorten(missing_like[0])}, another "
                       f"program's word for a missing cell: if it is one, --na-values {option_value(*tokens)} drops "
                       "those rows")
    return notices
