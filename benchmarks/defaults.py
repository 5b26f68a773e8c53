"""Good defaults: `nncli fit` + `nncli eval` with no tuning flags vs scikit-learn's defaults.

Small real tabular data sets that ship with scikit-learn (no download), 5 seeds
each: a stratified 75/25 split per seed, nncli run through its real CLI
(`nncli fit train.csv --seed S -q`, then `nncli eval model.npz test.csv --json`),
and scikit-learn's `make_pipeline(StandardScaler(), MLPClassifier/MLPRegressor(random_state=S))`
with default settings on the same split. Metric: test accuracy (classification)
or R² (regression).

    pip install -e ".[bench]"
    python benchmarks/defaults.py [--seeds 5] [--datasets wine,digits] [--sklearn mlp|mlp-scaled-y|linear|none]
                                  [-- extra nncli fit options]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

DATASETS = ("iris", "wine", "breast_cancer", "digits", "diabetes")


def load(name: str):
    from sklearn import datasets

    d = getattr(datasets, f"load_{name}")()
    task = "regression" if name == "diabetes" else "classification"
    return d.data, d.target, task


def write_csv(path: str, X: np.ndarray, y: np.ndarray, task: str) -> None:
    header = ",".join(f"f{j}" for j in range(X.shape[1])) + ",target"
    ys = [f"c{int(v)}" for v in y] if task == "classification" else [repr(float(v)) for v in y]
    with open(path, "w") as f:
        f.write(header + "\n")
        for row, t in zip(X.tolist(), ys):
            f.write(",".join(repr(v) for v in row) + "," + t + "\n")


def run_nncli(train: str, test: str, seed: int, extra: list[str], workdir: str) -> tuple[float, float]:
    model = os.path.join(workdir, "m.npz")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nncli", "fit", train, "-o", model, "--seed", str(seed), "-q", *extra],
                   check=True)
    seconds = time.perf_counter() - t0
    out = subprocess.run([sys.executable, "-m", "nncli", "eval", model, test, "--json"], check=True,
                         capture_output=True, text=True).stdout
    r = json.loads(out)
    return (r["accuracy"] if r["task"] == "classification" else r["r2"]), seconds


CONTENDERS = ("mlp", "mlp-scaled-y", "linear", "none")


def run_sklearn(Xtr, ytr, Xte, yte, task: str, seed: int, contender: str = "mlp") -> tuple[float, float]:
    """scikit-learn's `contender` behind a StandardScaler: mlp (MLPClassifier / MLPRegressor, defaults),
    mlp-scaled-y (a regressor's target standardized too, as nncli's is), linear (LogisticRegression /
    LinearRegression, fitted to convergence)."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if contender == "linear":
        est = LogisticRegression(max_iter=10_000) if task == "classification" else LinearRegression()
    elif task == "classification":
        est = MLPClassifier(random_state=seed)
    else:
        est = MLPRegressor(random_state=seed)
        if contender == "mlp-scaled-y":
            est = TransformedTargetRegressor(est, transformer=StandardScaler())
    model = make_pipeline(StandardScaler(), est)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter=200 is part of the default
        model.fit(Xtr, ytr)
    seconds = time.perf_counter() - t0
    return float(model.score(Xte, yte)), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--sklearn", choices=CONTENDERS, default="mlp", help="scikit-learn's model (see run_sklearn)")
    ap.add_argument("extra", nargs="*", help="extra options for nncli fit (after --)")
    args = ap.parse_args()
    from sklearn.model_selection import train_test_split

    print("| data set | rows × features | task | nncli mean (min) | scikit-learn mean (min) | nncli − sklearn per seed | fit s (nncli / sklearn) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.datasets.split(","):
        X, y, task = load(name)
        ours, theirs, t_ours, t_theirs = [], [], [], []
        for seed in range(args.seeds):
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed,
                                                  stratify=y if task == "classification" else None)
            with tempfile.TemporaryDirectory() as d:
                train, test = os.path.join(d, "train.csv"), os.path.join(d, "test.csv")
                write_csv(train, Xtr, ytr, task)
                write_csv(test, Xte, yte, task)
                score, sec = run_nncli(train, test, seed, args.extra, d)
            ours.append(score)
            t_ours.append(sec)
            s, sec = run_sklearn(Xtr, ytr, Xte, yte, task, seed, args.sklearn) if args.sklearn != "none" \
                else (float("nan"), float("nan"))
            theirs.append(s)
            t_theirs.append(sec)
        diffs = " ".join(f"{a - b:+.3f}" for a, b in zip(ours, theirs))
        print(f"| {name} | {X.shape[0]} × {X.shape[1]} | {task} | {statistics.mean(ours):.4f} ({min(ours):.4f}) "
              f"| {statistics.mean(theirs):.4f} ({min(theirs):.4f}) | {diffs} "
              f"| {statistics.median(t_ours):.2f} / {statistics.median(t_theirs):.2f} |", flush=True)


if __name__ == "__main__":
    main()
