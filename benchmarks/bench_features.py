"""What each training feature costs: fit_iter with validation, L2 and dropout off and on, vs a bare loop.

    python benchmarks/bench_features.py [--workload medium] [--epochs 3] [--threads 1]

The bare loop is the least a training step can do with nncli's core
(shuffle, gather, forward, loss, backward, Adam step) and keeps no statistics.
Seconds are CPU seconds per epoch (process time, median over epochs): on a
shared machine they are steadier than wall time, and with one thread equal
to it when the machine is idle. The loops take turns, an epoch each, so that
each round of epochs meets the same machine; the ratios are the medians of
each round's ratio to the loop with everything off (on a machine whose speed
drifts minute to minute, loops run one after the other differed by ±15-30%).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--workload", default="medium")
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--threads", type=int, default=1)
ARGS = p.parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nncli.core.network import Network  # noqa: E402
from nncli.core.optimizers import Adam  # noqa: E402
from nncli.core.training import TrainConfig, fit_iter  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def targets(wl, y):
    if wl.classes == 0:
        return "mse", y.reshape(-1, 1)
    if wl.classes == 2:
        return "bce", y.reshape(-1, 1).astype(np.float32)
    return "ce", np.eye(wl.classes, dtype=np.float32)[y]


def bare_loop(net: Network, X, Y, bs: int, rng):
    """Yields the CPU seconds of each epoch."""
    opt = Adam(net.n_params, net.dtype)
    Xb = np.empty((bs, X.shape[1]), X.dtype)
    Yb = np.empty((bs, Y.shape[1]), Y.dtype)
    n = (len(X) // bs) * bs  # whole batches only: the bare minimum
    while True:
        t0 = time.process_time()
        perm = rng.permutation(len(X))
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            np.take(X, idx, axis=0, out=Xb, mode="clip")  # as fit_iter gathers: no buffered copy
            np.take(Y, idx, axis=0, out=Yb, mode="clip")
            Z = net.forward_train(Xb)
            net.loss.value_and_delta(Z, Yb)
            net.backward(Z)
            opt.step(net.params, net.grads, overwrite_grads=True)
        yield time.process_time() - t0


def fit_epochs(net: Network, X, Y, bs: int, rng, val=None, **config):
    """Yields the CPU seconds of each epoch of fit_iter."""
    it = fit_iter(net, X, Y, TrainConfig(epochs=ARGS.epochs, batch_size=bs, **config), rng, val=val)
    while True:
        t0 = time.process_time()
        if next(it, None) is None:
            return
        yield time.process_time() - t0


def main() -> None:
    wl = WORKLOADS[ARGS.workload]
    X, y = wl.data()
    loss, Y = targets(wl, y)
    n_val = len(X) // 10
    X_val, Y_val = X[:n_val], Y[:n_val]

    def net(dropout: float = 0.0) -> Network:
        nt = Network(wl.nncli_sizes(), "relu", loss, np.float32, dropout=dropout)
        nt.initialize(np.random.default_rng(0))
        return nt

    rng = lambda: np.random.default_rng(1)  # noqa: E731
    bs = wl.batch_size
    loops = {
        "bare loop (no statistics)": bare_loop(net(), X, Y, bs, rng()),
        "fit_iter, all off": fit_epochs(net(), X, Y, bs, rng()),
        "fit_iter, L2 1e-4": fit_epochs(net(), X, Y, bs, rng(), l2=1e-4),
        "fit_iter, dropout 0.2": fit_epochs(net(0.2), X, Y, bs, rng()),
        f"fit_iter, validation ({n_val:,} rows each epoch)": fit_epochs(net(), X, Y, bs, rng(), val=(X_val, Y_val)),
        "fit_iter, all three on": fit_epochs(net(0.2), X, Y, bs, rng(), val=(X_val, Y_val), l2=1e-4),
    }
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(ARGS.epochs):  # an epoch of each loop in turn
        for name, loop in loops.items():
            times[name].append(next(loop))
    base = times["fit_iter, all off"]
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  workload {wl.name} "
          f"({wl.rows:,} rows, {'-'.join(map(str, wl.nncli_sizes()))}, batch {bs}), {ARGS.threads} thread(s), "
          f"CPU s/epoch, median of {ARGS.epochs}, the loops in turns\n")
    print("| loop | CPU s/epoch | vs fit_iter all off (median of the rounds' ratios) | min | max |")
    print("|---|---|---|---|---|")
    for name, t in times.items():
        ratios = [a / b for a, b in zip(t, base)]
        print(f"| {name} | {statistics.median(t):.4f} | {statistics.median(ratios):.3f} | {min(ratios):.3f} "
              f"| {max(ratios):.3f} |")


if __name__ == "__main__":
    main()
