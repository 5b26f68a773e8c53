"""Synthetic data sets for `nncli gen-data`, each drawn from an explicit Generator.

Every generator returns `(columns, target)` where columns is an ordered dict of
name -> 1-D array (floats, or strings for categorical columns; "" marks a
missing cell) and target is the name of the last column.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Columns = dict[str, np.ndarray]


def _problem(*shape: int) -> np.random.Generator:
    """The generator of a data set's fixed parts (coefficients, centres): seeded by its shape only,
    so data drawn with another --seed or -n (a test set) comes from the same problem."""
    return np.random.default_rng([20, *shape])  # (20: default blobs overlap a little, as real classes do)


def _xy(X: np.ndarray, y: np.ndarray, target: str = "y") -> tuple[Columns, str]:
    cols = {f"x{j + 1}": X[:, j] for j in range(X.shape[1])}
    cols[target] = y
    return cols, target


def linear(rng: np.random.Generator, n: int, noise: float | None = None, **_: object) -> tuple[Columns, str]:
    """One feature x ~ U[0, 1); y = 2x + 1 + U[0, noise) (noise 1: the classic example, b ≈ 1.5)."""
    noise = 1.0 if noise is None else noise
    x = rng.random(n)
    y = 2.0 * x + 1.0 + noise * rng.random(n)
    return {"x": x, "y": y}, "y"


def regression(rng: np.random.Generator, n: int, features: int | None = None, noise: float | None = None,
               **_: object) -> tuple[Columns, str]:
    """Several features ~ N(0, 1); y = X @ a + sin(2 x1) + x2² / 2 + noise * N(0, 1), with
    coefficients a in [-1, 1] that depend on the number of features only."""
    d = features or 5
    noise = 0.1 if noise is None else noise
    a = _problem(d).uniform(-1.0, 1.0, d)
    X = rng.standard_normal((n, d))
    y = X @ a + np.sin(2.0 * X[:, 0]) + (0.5 * X[:, 1] ** 2 if d > 1 else 0.0)
    y = y + noise * rng.standard_normal(n)
    return _xy(X, y)


def moons(rng: np.random.Generator, n: int, noise: float | None = None, **_: object) -> tuple[Columns, str]:
    """Two interleaving half circles, Gaussian noise (default 0.15)."""
    noise = 0.15 if noise is None else noise
    y = (rng.random(n) < 0.5).astype(np.int64)
    t = rng.uniform(0.0, np.pi, n)
    X = np.where(y[:, None] == 0,
                 np.column_stack([np.cos(t), np.sin(t)]),
                 np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)]))
    X = X + noise * rng.standard_normal((n, 2))
    return _xy(X, y, "label")


def circles(rng: np.random.Generator, n: int, noise: float | None = None, **_: object) -> tuple[Columns, str]:
    """A small circle (class 1, radius 0.5) inside a large one (class 0, radius 1)."""
    noise = 0.08 if noise is None else noise
    y = (rng.random(n) < 0.5).astype(np.int64)
    t = rng.uniform(0.0, 2 * np.pi, n)
    r = np.where(y == 1, 0.5, 1.0)
    X = np.column_stack([r * np.cos(t), r * np.sin(t)]) + noise * rng.standard_normal((n, 2))
    return _xy(X, y, "label")


def blobs(rng: np.random.Generator, n: int, features: int | None = None, classes: int | None = None,
          noise: float | None = None, **_: object) -> tuple[Columns, str]:
    """Gaussian clusters (std `noise`, default 1) around centres in [-5, 5]^features that depend
    on the numbers of classes and features only."""
    d, k = features or 2, classes or 3
    noise = 1.0 if noise is None else noise
    centres = _problem(k, d).uniform(-5.0, 5.0, (k, d))
    y = rng.integers(0, k, n)
    X = centres[y] + noise * rng.standard_normal((n, d))
    return _xy(X, y, "label")


def spirals(rng: np.random.Generator, n: int, classes: int | None = None, noise: float | None = None,
            **_: object) -> tuple[Columns, str]:
    """Interleaved spiral arms, one per class (default 3)."""
    k = classes or 3
    noise = 0.2 if noise is None else noise
    y = rng.integers(0, k, n)
    r = rng.random(n)
    t = 4.0 * r + 2.0 * np.pi * y / k + noise * rng.standard_normal(n)
    X = np.column_stack([r * np.sin(t), r * np.cos(t)])
    return _xy(X, y, "label")


def xor(rng: np.random.Generator, n: int, noise: float | None = None, **_: object) -> tuple[Columns, str]:
    """Points in [-1, 1]^2 labelled by the sign pattern: 1 when x1 and x2 differ in sign."""
    noise = 0.0 if noise is None else noise
    X = rng.uniform(-1.0, 1.0, (n, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    X = X + noise * rng.standard_normal((n, 2))
    return _xy(X, y, "label")


def prices(rng: np.random.Generator, n: int, noise: float | None = None, **_: object) -> tuple[Columns, str]:
    """House prices that span orders of magnitude: area ~ U(20, 400) m², rooms 1-7, and
    log(price) = 9 + 0.012 area + 0.15 rooms + noise * N(0, 1) (default 0.2): every effect, and the
    noise, multiplies the price (a regression for `fit --log-target`)."""
    noise = 0.2 if noise is None else noise
    area = np.round(rng.uniform(20.0, 400.0, n), 1)
    rooms = rng.integers(1, 8, n)
    price = np.round(np.exp(9.0 + 0.012 * area + 0.15 * rooms + noise * rng.standard_normal(n)))
    # (whole numbers, in exponent form past 15 digits: at --noise 10 a price may reach 1e30, past int64)
    return {"area": area.astype(str), "rooms": rooms.astype(str), "price": np.char.mod("%.15g", price)}, "price"


PRICES_MAX_NOISE = 10.0  # (log(price)'s spread: beyond, exp overflows float64 on large draws)


COLORS = np.array(["red", "green", "blue", "yellow"])
SIZES = np.array(["S", "M", "L", "XL"])


def mixed(rng: np.random.Generator, n: int, noise: float | None = None, missing: float = 0.1,
          **_: object) -> tuple[Columns, str]:
    """A messy table: an id, numeric and categorical columns, missing cells, string labels.

    Ground truth: score = 1.5 x1 - x2 + {red: 1, green: -1, blue: 0.5, yellow: -0.5}[color]
    + 0.8 * (size index - 1.5) + noise * N(0, 1); the label is "yes" when score > 0.
    A fraction `missing` of the feature cells is blanked afterwards (the same
    seed with missing 0 gives the clean, complete version of the same rows).
    """
    noise = 0.3 if noise is None else noise
    x1 = rng.standard_normal(n)
    x2 = rng.uniform(-2.0, 2.0, n)
    color = rng.integers(0, len(COLORS), n)
    size = rng.integers(0, len(SIZES), n)
    effect = np.array([1.0, -1.0, 0.5, -0.5])[color]
    score = 1.5 * x1 - x2 + effect + 0.8 * (size - 1.5) + noise * rng.standard_normal(n)
    label = np.where(score > 0, "yes", "no")
    cols: Columns = {
        "id": np.array([f"r{i:05d}" for i in range(n)]),
        "x1": np.round(x1, 4).astype(str),
        "color": COLORS[color],
        "x2": np.round(x2, 4).astype(str),
        "size": SIZES[size],
        "label": label,
    }
    holes = np.random.default_rng(rng.integers(2**32))  # a separate stream: same rows at any rate
    for name in ("x1", "color", "x2", "size"):
        blank = holes.random(n) < missing
        cols[name] = np.where(blank, "", cols[name])
    return cols, "label"


GENERATORS: dict[str, Callable[..., tuple[Columns, str]]] = {
    "linear": linear,
    "regression": regression,
    "moons": moons,
    "circles": circles,
    "blobs": blobs,
    "spirals": spirals,
    "xor": xor,
    "mixed": mixed,
    "prices": prices,
}
