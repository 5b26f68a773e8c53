"""The four training workloads of issue 5, generated in-process from fixed seeds.

Imports numpy only, so the scripts that use it can set thread counts first.
Each workload gives float32 X (n, d) and either integer class labels y (n,)
or a standardized float32 regression target y (n,).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEED = 20260501


@dataclass(frozen=True)
class Workload:
    name: str
    rows: int
    features: int
    hidden: tuple[int, ...]
    classes: int  # 0: regression
    batch_size: int

    @property
    def task(self) -> str:
        return "regression" if self.classes == 0 else "classification"

    def nncli_sizes(self) -> list[int]:
        """nncli's layer sizes: one sigmoid unit for two classes (as scikit-learn does)."""
        out = 1 if self.classes in (0, 2) else self.classes
        return [self.features, *self.hidden, out]

    def torch_sizes(self) -> list[int]:
        """The architecture issue 5 names: one output per class for classifiers."""
        out = 1 if self.classes == 0 else self.classes
        return [self.features, *self.hidden, out]

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(SEED)
        if self.name == "small":
            return _moons(rng, self.rows)
        if self.classes:
            return _teacher_classes(rng, self.rows, self.features, self.classes)
        return _teacher_regression(rng, self.rows, self.features)


WORKLOADS = {
    "small": Workload("small", 10_000, 2, (32, 32), 2, 32),
    "medium": Workload("medium", 100_000, 50, (256, 128), 10, 256),
    "large": Workload("large", 60_000, 784, (512, 256), 10, 128),
    "regression": Workload("regression", 200_000, 20, (64, 64), 0, 256),
}


def n_params(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _moons(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.random(n) < 0.5).astype(np.int64)
    t = rng.uniform(0.0, np.pi, n)
    X = np.where(y[:, None] == 0,
                 np.column_stack([np.cos(t), np.sin(t)]),
                 np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)]))
    X = X + 0.2 * rng.standard_normal((n, 2))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float32), y


def _teacher_classes(rng: np.random.Generator, n: int, d: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels from a random one-hidden-layer teacher plus noise: learnable, not trivially."""
    X = rng.standard_normal((n, d), dtype=np.float32)
    A = rng.standard_normal((d, 64), dtype=np.float32) / np.float32(np.sqrt(d))
    B = rng.standard_normal((64, k), dtype=np.float32)
    scores = np.tanh(X @ A) @ B + 0.5 * rng.standard_normal((n, k), dtype=np.float32)
    return X, scores.argmax(axis=1)


def _teacher_regression(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.standard_normal((n, d), dtype=np.float32)
    A = rng.standard_normal((d, 32), dtype=np.float32) / np.float32(np.sqrt(d))
    b = rng.standard_normal(32, dtype=np.float32)
    y = np.sin(X @ A) @ b + 0.1 * rng.standard_normal(n, dtype=np.float32)
    y = (y - y.mean()) / y.std()
    return X, y.astype(np.float32)
