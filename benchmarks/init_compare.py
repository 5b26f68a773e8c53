"""How the initial weights and biases shape what `nncli fit`'s default network learns.

Trains the default MLP (one hidden layer of 128 ReLUs, Adam, 200 epochs, patience 20, the default
L2) on 500 rows of a few problems, once per initialization and seed, and scores it on 2,000 fresh
rows: R² for regressions, log loss for classifications. The initializations:

- `he-zero`: He-normal weights before ReLUs, Glorot-uniform otherwise, zero biases (nncli before
  2026-11-30);
- `glorot-hidden` (nncli's): Glorot-uniform weights, hidden biases from the same range, output biases 0;
- `glorot-all`: the same with the output biases drawn too (scikit-learn's MLP).

With scikit-learn installed, its `MLPRegressor` (defaults, behind a `StandardScaler`) is scored on the
regressions as well.

    python benchmarks/init_compare.py [--seeds 3] [--hidden 128]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from nncli.core import datagen, network  # noqa: E402
from nncli.core.training import TrainConfig, default_l2  # noqa: E402
from nncli.csv_write import write_columns  # noqa: E402
from nncli.workflow import DataOptions, ModelOptions, Training, load_training_data  # noqa: E402

NNCLI_INIT = network.Network.initialize


def he_zero(self, rng):
    for l, W in enumerate(self.W):
        fan_in, fan_out = W.shape
        if l < self.n_layers - 1 and self.activation in ("relu", "leaky_relu"):
            W[...] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=W.shape)
        else:
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            W[...] = rng.uniform(-limit, limit, size=W.shape)
    for b in self.b:
        b[...] = 0.0


def glorot_all(self, rng):
    for W, b in zip(self.W, self.b):
        limit = np.sqrt(6.0 / sum(W.shape))
        W[...] = rng.uniform(-limit, limit, size=W.shape)
        b[...] = rng.uniform(-limit, limit, size=b.shape)


INITS = {"he-zero": he_zero, "glorot-hidden": NNCLI_INIT, "glorot-all": glorot_all}
REGRESSIONS = {  # name: (function, features, input range, noise)
    "sin(2x1)+x2²/2": (lambda X: np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] ** 2, 2, (-2, 2), 0.1),
    "sin(3·‖x‖)": (lambda X: np.sin(3 * np.hypot(X[:, 0], X[:, 1])), 2, (-2, 2), 0.1),
    "friedman1": (lambda X: 10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2 + 10 * X[:, 3]
                  + 5 * X[:, 4], 5, (0, 1), 1.0),
}
CLASSIFICATIONS = ("moons", "circles", "spirals", "xor", "blobs")


def regression(name: str, seed: int, n: int = 500, fresh: int = 2000):
    f, d, (lo, hi), noise = REGRESSIONS[name]
    rng = np.random.default_rng(seed)
    X = rng.uniform(lo, hi, (n + fresh, d))
    y = f(X) + rng.normal(0, noise, n + fresh)
    cols = {f"x{i}": X[:, i] for i in range(d)}
    return {k: v[:n] for k, v in cols.items()} | {"y": y[:n]}, {k: v[n:] for k, v in cols.items()} | {"y": y[n:]}


def fit(train: dict, hidden: tuple[int, ...], seed: int, directory: str):
    path = os.path.join(directory, "train.csv")
    write_columns(path, train)
    data = load_training_data(path, DataOptions(), "auto")
    run = Training(data, ModelOptions(hidden=hidden), TrainConfig(l2=default_l2(data.n_rows)), seed=seed,
                   dtype="float32")
    for _ in run:
        pass
    return run.model()


def score(model, test: dict) -> float:
    target = model.target.names[0]
    X = model.inputs({c: np.asarray(test[c], np.float32) for c in model.pre.names})
    y = np.asarray(test[target])
    if model.task == "regression":
        y = y.astype(float)
        return float(1 - np.mean((model.predict_values(X).ravel() - y) ** 2) / np.var(y))
    P = model.predict_proba(X)
    k = np.array([model.target.classes.index(str(v)) for v in y.tolist()])
    p = P[np.arange(len(k)), k] if P.shape[1] > 1 else np.where(k == 1, P[:, 0], 1 - P[:, 0])
    return float(-np.mean(np.log(np.clip(p, 1e-15, 1))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--hidden", default="128")
    args = ap.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    try:
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        MLPRegressor = None
    print(f"hidden {args.hidden}, seeds 0-{args.seeds - 1}, 500 training rows, 2,000 fresh rows\n")
    print("| problem | score | " + " | ".join(INITS) + (" | scikit-learn |" if MLPRegressor else " |"))
    print("|---|---|" + "---|" * (len(INITS) + bool(MLPRegressor)))
    problems = [(name, "R²") for name in REGRESSIONS] + [(name, "log loss") for name in CLASSIFICATIONS]
    with tempfile.TemporaryDirectory() as d:
        for name, metric in problems:
            scores: dict[str, list[float]] = {k: [] for k in INITS}
            sk: list[float] = []
            for seed in range(args.seeds):
                if name in REGRESSIONS:
                    train, test = regression(name, seed)
                else:
                    train = datagen.GENERATORS[name](np.random.default_rng(seed), 500)[0]
                    test = datagen.GENERATORS[name](np.random.default_rng(100 + seed), 2000)[0]
                for label, init in INITS.items():
                    network.Network.initialize = init
                    try:
                        scores[label].append(score(fit(train, hidden, seed, d), test))
                    finally:
                        network.Network.initialize = NNCLI_INIT
                if MLPRegressor and name in REGRESSIONS:
                    X = np.column_stack([train[c] for c in train if c != "y"])
                    Xt = np.column_stack([test[c] for c in test if c != "y"])
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # (it has not converged in 200 iterations)
                        m = make_pipeline(StandardScaler(), MLPRegressor(random_state=seed)).fit(X, train["y"])
                    sk.append(float(1 - np.mean((m.predict(Xt) - test["y"]) ** 2) / np.var(test["y"])))
            cells = [f"{np.mean(v):.3f} ({min(v):.3f}–{max(v):.3f})" for v in scores.values()]
            if MLPRegressor:
                cells.append(f"{np.mean(sk):.3f} ({min(sk):.3f}–{max(sk):.3f})" if sk else "")
            print(f"| {name} | {metric} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
