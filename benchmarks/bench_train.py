"""Seconds per training epoch: nncli's fit_iter vs PyTorch (CPU, eager) vs scikit-learn.

    python benchmarks/bench_train.py --threads 1
    python benchmarks/bench_train.py --threads 2 --workloads small,medium --epochs 3 --reps 2

Each repetition trains every contender afresh, one after the other (nncli,
torch, sklearn), for --warmup-epochs untimed epochs and then --epochs timed ones
on the same in-process data, so the machine's drift hits all of them alike;
every epoch is timed on its own. scikit-learn trains in one `fit` call, as its
users call it (input checks and label encoding once, one random stream for the
shuffles), its epochs timed by a hook it calls once at the end of each.
Identical hidden layers, batch size, ReLU, Adam at lr 1e-3, float32 data (two
classes: one sigmoid output for nncli and scikit-learn, two softmax outputs for
PyTorch, as issue 5 names). The final training loss and accuracy (or R²) of
each contender are computed by one common function on the whole training set
after the last epoch of every repetition (the table gives the last one's).

Thread counts are set through the environment before numpy or torch load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2,
                   help="threads (1 or 2): nncli's own (`nncli fit --threads N`, BLAS on one thread), "
                        "PyTorch's intra-op threads, scikit-learn's BLAS threads")
    p.add_argument("--workloads", default="small,medium,large,regression")
    p.add_argument("--contenders", default="nncli,torch,sklearn")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs per repetition")
    p.add_argument("--warmup-epochs", type=int, default=1,
                   help="untimed epochs before them (each contender's set-up and first touches of its buffers)")
    p.add_argument("--reps", type=int, default=2, help="repetitions (fresh model each)")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--nncli-init", choices=["nncli", "torch"], default="nncli",
                   help="nncli's weights: its own initialization (He/Glorot), or PyTorch's nn.Linear default "
                        "U(+-1/sqrt(fan_in)) for weights and biases, to compare learning from the same start")
    p.add_argument("--nncli-path", help="import nncli from this folder instead of this checkout "
                   "(before/after comparisons: git archive REV nncli | tar -x -C DIR)")
    p.add_argument("--versus", metavar="DIR",
                   help="paired before/after: train the nncli in DIR and this one side by side in one process, "
                        "alternating epochs (epochs x reps of each after one warm-up epoch, whatever --warmup-epochs "
                        "says); reports CPU s/epoch and "
                        "the median per-epoch ratio. Other contenders are not run")
    return p.parse_args()


ARGS = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402  (after the thread settings)

sys.path.insert(0, ARGS.nncli_path or os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from workloads import WORKLOADS, Workload, n_params  # noqa: E402


# -- the contenders: each trains one epoch per call and reports class probabilities or values --
class NncliRun:
    def __init__(self, wl: Workload, X: np.ndarray, y: np.ndarray, seed: int, core: tuple | None = None):
        if core is None:
            from nncli.core.network import Network
            from nncli.core.training import TrainConfig, fit_iter
        else:
            Network, TrainConfig, fit_iter = core

        sizes = wl.nncli_sizes()
        loss = "mse" if wl.classes == 0 else ("bce" if wl.classes == 2 else "ce")
        if loss == "mse":
            Y = y.reshape(-1, 1)
        elif loss == "bce":
            Y = y.reshape(-1, 1).astype(np.float32)
        else:
            Y = np.eye(wl.classes, dtype=np.float32)[y]
        rng = np.random.default_rng(seed)
        self.net = Network(sizes, "relu", loss, np.float32)
        self.net.initialize(rng)
        if ARGS.nncli_init == "torch":
            for W, b in zip(self.net.W, self.net.b):
                bound = 1.0 / np.sqrt(W.shape[0])
                W[...] = rng.uniform(-bound, bound, W.shape)
                b[...] = rng.uniform(-bound, bound, b.shape)
        # As `nncli fit --threads N` does: nncli splits the work over N threads itself, with BLAS on
        # one thread (the other contenders in this process keep N BLAS threads).
        self._own_threads = ARGS.threads > 1 and hasattr(self.net, "use_threads")
        if self._own_threads:
            self.net.use_threads(ARGS.threads)
        config = TrainConfig(epochs=10**6, batch_size=wl.batch_size, lr=1e-3, optimizer="adam")
        # (should_stop: `nncli fit` polls its stop flag after every mini-batch)
        self._epochs = fit_iter(self.net, X, Y, config, rng, should_stop=lambda: "")

    def epoch(self) -> None:
        if self._own_threads:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1, user_api="blas"):
                next(self._epochs)
        else:
            next(self._epochs)

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = self.net.output(X)
        return np.hstack([1.0 - out, out]) if self.net.loss_name == "bce" else out


class TorchRun:
    def __init__(self, wl: Workload, X: np.ndarray, y: np.ndarray, seed: int):
        import torch

        torch.manual_seed(seed)
        sizes = wl.torch_sizes()
        layers: list = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.torch, self.model = torch, torch.nn.Sequential(*layers)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.X = torch.from_numpy(X)
        if wl.classes:
            self.y, self.loss_fn = torch.from_numpy(y.astype(np.int64)), torch.nn.CrossEntropyLoss()
        else:
            self.y, self.loss_fn = torch.from_numpy(y.reshape(-1, 1)), torch.nn.MSELoss()
        self.bs, self.classify = wl.batch_size, bool(wl.classes)

    def epoch(self) -> None:
        n = self.X.shape[0]
        perm = self.torch.randperm(n)
        for s in range(0, n, self.bs):
            idx = perm[s:s + self.bs]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(self.X[idx]), self.y[idx])
            loss.backward()
            self.opt.step()

    def predict(self, X: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            out = self.model(self.torch.from_numpy(X))
            if self.classify:
                out = self.torch.softmax(out, dim=1)
        return out.numpy()


class SklearnRun:
    """One `fit` of all the epochs. (Timing `partial_fit` an epoch at a time repeated its input checks
    and label encoding every epoch, and, given an integer random_state, shuffled every epoch after the
    first into the same order.)"""

    def __init__(self, wl: Workload, X: np.ndarray, y: np.ndarray, seed: int):
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        class Stamped(MLPClassifier if wl.classes else MLPRegressor):
            def _update_no_improvement_count(self, *args, **kwargs):  # called once at the end of each epoch
                self.stamps.append((time.perf_counter(), time.process_time()))
                return super()._update_no_improvement_count(*args, **kwargs)

        self.model = Stamped(hidden_layer_sizes=wl.hidden, activation="relu", solver="adam", alpha=0.0,
                             batch_size=wl.batch_size, learning_rate_init=1e-3, shuffle=True, random_state=seed,
                             tol=0.0, n_iter_no_change=10**9, early_stopping=False)
        self.X, self.y, self.classes = X, y, wl.classes

    def train(self, warmup: int, epochs: int) -> tuple[list[float], list[float]]:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        self.model.set_params(max_iter=warmup + epochs)
        self.model.stamps = stamps = [(time.perf_counter(), time.process_time())]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(self.X, self.y)
        if len(stamps) != warmup + epochs + 1:
            raise SystemExit(f"scikit-learn's epoch hook ran {len(stamps) - 1} times in {warmup + epochs} epochs")
        timed = stamps[warmup:]
        return ([b[0] - a[0] for a, b in zip(timed, timed[1:])], [b[1] - a[1] for a, b in zip(timed, timed[1:])])

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.classes:
            assert self.model.coefs_[0].dtype == np.float32
            return self.model.predict_proba(X)
        return self.model.predict(X).reshape(-1, 1)


CONTENDERS = {"nncli": NncliRun, "torch": TorchRun, "sklearn": SklearnRun}


def quality(wl: Workload, out: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(training loss, accuracy) for classifiers, (MSE, R²) for regression."""
    out = out.astype(np.float64)
    if wl.classes:
        p = np.clip(out[np.arange(len(y)), y], 1e-12, 1.0)
        return float(-np.log(p).mean()), float((out.argmax(axis=1) == y).mean())
    mse = float(((out[:, 0] - y) ** 2).mean())
    return mse, 1.0 - mse / float(y.var())


def matmul_flop_per_row(sizes: list[int]) -> int:
    """FLOPs of a training step's matrix products per row: forward, dW of every layer, and dX of
    every layer but the first (the input needs no gradient; nncli skips it). Biases and
    element-wise work are not counted, so this over the matmul peak is a floor no MLP beats."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    return sum(2 * a * b * (2 if l == 0 else 3) for l, (a, b) in enumerate(layers))


def matmul_peak() -> float:
    """Median float32 GFLOP/s of a 2048x2048 matrix product (numpy's BLAS, on --threads threads)."""
    n = 2048
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    C = np.empty_like(A)
    np.matmul(A, B, out=C)
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        np.matmul(A, B, out=C)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def machine() -> dict:
    info = {"python": platform.python_version(), "numpy": np.__version__, "threads": ARGS.threads,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)")}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{d['internal_api']} {d['version']} ({d.get('architecture')}, {d['num_threads']} threads)"
                for d in threadpool_info() if d["user_api"] == "blas"]
        info["blas"] = "; ".join(blas)
    except ImportError:
        pass
    return info


def timed_epochs(run, warmup: int, epochs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of `epochs` epochs after `warmup` untimed ones."""
    if hasattr(run, "train"):
        return run.train(warmup, epochs)
    for _ in range(warmup):
        run.epoch()
    walls, cpus = [], []
    for _ in range(epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        run.epoch()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return walls, cpus


def run_workload(wl: Workload, contenders: list[str]) -> dict:
    X, y = wl.data()
    times: dict[str, list[float]] = {c: [] for c in contenders}
    cpu: dict[str, list[float]] = {c: [] for c in contenders}
    finals: dict[str, list[tuple[float, float]]] = {c: [] for c in contenders}
    for rep in range(ARGS.reps):
        for name in contenders:
            run = CONTENDERS[name](wl, X, y, seed=rep)
            walls, cpus = timed_epochs(run, ARGS.warmup_epochs, ARGS.epochs)
            times[name] += walls
            cpu[name] += cpus
            finals[name].append(quality(wl, run.predict(X), y))
            del run
    return {"times": times, "cpu": cpu, "final": {c: f[-1] for c, f in finals.items()}, "finals": finals}


def import_nncli_core(path: str) -> tuple:
    """(Network, TrainConfig, fit_iter) of the nncli in `path`, as module objects of their own, so two
    versions can train in one process. The nncli imported before (if any) is left as it was."""
    def ours() -> list[str]:
        return [k for k in sys.modules if k == "nncli" or k.startswith("nncli.")]

    saved = {k: sys.modules.pop(k) for k in ours()}
    sys.path.insert(0, path)
    try:
        from nncli.core.network import Network
        from nncli.core.training import TrainConfig, fit_iter
    finally:
        sys.path.remove(path)
        for k in ours():
            del sys.modules[k]
        sys.modules.update(saved)
    return Network, TrainConfig, fit_iter


def run_versus() -> None:
    """Alternate epochs of two nncli versions on the same data and seed: drift and other
    processes' load hit both alike, so the per-epoch ratios are steadier than two runs."""
    this = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["workloads"].__file__)))
    paths = [ARGS.versus, ARGS.nncli_path or this]
    cores = [import_nncli_core(path) for path in paths]
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {ARGS.threads} thread(s); "
          f"before = {paths[0]}, after = {paths[1]}; CPU s/epoch over {ARGS.epochs * ARGS.reps} alternated epochs\n")
    print("| workload | before (median) | after (median) | before (min) | after (min) | after/before, median of "
          "per-epoch ratios (quartiles) |")
    print("|---|---|---|---|---|---|")
    for name in ARGS.workloads.split(","):
        wl = WORKLOADS[name]
        X, y = wl.data()
        runs = [NncliRun(wl, X, y, seed=0, core=core) for core in cores]
        for run in runs:
            run.epoch()  # warm-up: buffers, first-touch page faults
        cpu: list[list[float]] = [[], []]
        for e in range(ARGS.epochs * ARGS.reps):
            for i in ((0, 1) if e % 2 == 0 else (1, 0)):
                c0 = time.process_time()
                runs[i].epoch()
                cpu[i].append(time.process_time() - c0)
        ratios = [a / b for b, a in zip(*cpu)]
        q1, med, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
        print(f"| {name} | {statistics.median(cpu[0]):.4f} | {statistics.median(cpu[1]):.4f} | {min(cpu[0]):.4f} "
              f"| {min(cpu[1]):.4f} | {med:.3f} ({q1:.3f}-{q3:.3f}) |", flush=True)


def main() -> None:
    if ARGS.versus:
        return run_versus()
    contenders = ARGS.contenders.split(",")
    if "torch" in contenders:
        import torch

        torch.set_num_threads(ARGS.threads)
        torch.set_num_interop_threads(1)
    info = machine()
    import nncli

    info["nncli"] = os.path.dirname(os.path.dirname(os.path.abspath(nncli.__file__)))
    if "torch" in contenders:
        info["torch"] = torch.__version__
    if "sklearn" in contenders:
        import sklearn

        info["sklearn"] = sklearn.__version__
    peak = matmul_peak()
    info["matmul_peak_gflops"] = round(peak, 1)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  " + "  ".join(f"{k}={v}" for k, v in info.items()))
    print(f"# float32 matmul peak (2048^3, median of 15; measured again after the workloads, and % of peak "
          f"uses the better): {peak:.1f} GFLOP/s at the start; {ARGS.epochs} timed epochs (after "
          f"{ARGS.warmup_epochs} untimed) x {ARGS.reps} reps per contender. GFLOP/s: the nominal "
          f"6 x parameters x rows per epoch (it counts the first layer's input gradient, which no "
          f"contender computes; the floor below does not)\n")
    results = {"machine": info, "args": vars(ARGS), "workloads": {}}
    header = ("| workload | contender | s/epoch median | min | max | nncli/this | CPU s/epoch | nncli/this (CPU) "
              "| GFLOP/s | % of peak | final loss | acc / R² |")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    rows = []
    for name in ARGS.workloads.split(","):
        wl = WORKLOADS[name]
        res = run_workload(wl, contenders)
        results["workloads"][name] = res
        rows.append((name, wl, res))
    peak_after = matmul_peak()
    info["matmul_peak_after_gflops"] = round(peak_after, 1)
    peak = max(peak, peak_after)
    for name, wl, res in rows:
        med = {c: statistics.median(t) for c, t in res["times"].items()}
        cpu = {c: statistics.median(t) for c, t in res["cpu"].items()}
        for c in contenders:
            t = res["times"][c]
            sizes = wl.nncli_sizes() if c != "torch" else wl.torch_sizes()
            gflops = 6 * n_params(sizes) * wl.rows / med[c] / 1e9
            ratio = med["nncli"] / med[c] if "nncli" in med else float("nan")
            cpu_ratio = cpu["nncli"] / cpu[c] if "nncli" in cpu else float("nan")
            loss, metric = res["final"][c]
            print(f"| {name} | {c} | {med[c]:.4f} | {min(t):.4f} | {max(t):.4f} | {ratio:.3f} | {cpu[c]:.4f} "
                  f"| {cpu_ratio:.3f} | {gflops:.1f} | {100 * gflops / peak:.1f}% | {loss:.4f} | {metric:.4f} |",
                  flush=True)
    print(f"\n# float32 matmul peak after the workloads: {peak_after:.1f} GFLOP/s")
    for name, wl, res in rows:
        floor = matmul_flop_per_row(wl.nncli_sizes()) * wl.rows / (peak * 1e9)
        res["matmul_floor_s"] = floor
        line = f"# {name}: matrix products alone at the peak take {floor:.4f} s/epoch (the floor)"
        if "nncli" in res["cpu"]:
            line += (f"; nncli's CPU s/epoch is {statistics.median(res['cpu']['nncli']) / floor:.2f}x that, "
                     f"its wall s/epoch {statistics.median(res['times']['nncli']) / floor:.2f}x")
        print(line)
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
