"""End to end, CSV file to saved model: `nncli fit` vs pandas + PyTorch vs pandas + scikit-learn.

    python benchmarks/bench_e2e.py [--reps 3] [--threads 1]

Writes the medium workload (100,000 rows x 50 features, 10 classes) as a CSV,
then runs, --reps rounds interleaved, each as a fresh process (start-up, CSV
loading, standardization, 10 epochs of 50-256-128-10 with Adam at lr 1e-3 and
batch 256, saving):
- nncli fit DATA --val-split 0 --patience 0 --l2 0 --epochs 10 --batch-size 256 --hidden 256,128 -q
  (reading through pyarrow when it is installed, and again with NNCLI_NO_ARROW=1)
- python benchmarks/e2e_torch.py DATA MODEL
- python benchmarks/e2e_sklearn.py DATA MODEL
and prints wall-time and CPU-time medians, their ratios and each process's peak RSS.
CPU time (user + system of the process) is far steadier than wall time on a shared
machine; with one thread it is what the wall time would be on an idle one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench_io import timed_process  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def write_medium_csv(path: str) -> None:
    X, y = WORKLOADS["medium"].data()
    with open(path + ".part", "w") as f:  # (renamed once whole: a run cut short leaves no file to reuse)
        f.write(",".join([f"x{i}" for i in range(X.shape[1])] + ["label"]) + "\n")
        for s in range(0, len(y), 20_000):
            body = np.column_stack([X[s:s + 20_000], y[s:s + 20_000]])
            np.savetxt(f, body, fmt=["%.6g"] * X.shape[1] + ["%d"], delimiter=",")
    os.replace(path + ".part", path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dir", default="/tmp/nncli-bench")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    os.environ["PYTHONPATH"] = ROOT
    data = os.path.join(args.dir, "medium.csv")
    if not os.path.exists(data):
        write_medium_csv(data)
    t = str(args.threads)
    commands = {
        "nncli fit": [sys.executable, "-m", "nncli", "fit", data, "-o", os.path.join(args.dir, "e2e.npz"),
                      "--val-split", "0", "--patience", "0", "--l2", "0", "--epochs", "10", "--batch-size", "256",
                      "--hidden", "256,128", "-q", "--threads", t],
        "nncli fit (no pyarrow)": None,  # the same command, NNCLI_NO_ARROW=1: a plain install's reader
        "pandas + PyTorch": [sys.executable, os.path.join(HERE, "e2e_torch.py"), data,
                             os.path.join(args.dir, "e2e.pt"), "--threads", t],
        "pandas + scikit-learn": [sys.executable, os.path.join(HERE, "e2e_sklearn.py"), data,
                                  os.path.join(args.dir, "e2e.pkl"), "--threads", t],
    }
    commands["nncli fit (no pyarrow)"] = commands["nncli fit"]
    walls: dict[str, list[float]] = {k: [] for k in commands}
    rss: dict[str, list[float]] = {k: [] for k in commands}
    cpu: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.reps):
        for name, cmd in commands.items():
            model = cmd[cmd.index("-o") + 1] if name.startswith("nncli") else None
            if model is not None and os.path.exists(model):
                os.remove(model)
            w, r, c = timed_process(cmd, {"NNCLI_NO_ARROW": "1"} if "no pyarrow" in name else None)
            walls[name].append(w)
            rss[name].append(r)
            cpu[name].append(c)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {data} "
          f"({os.path.getsize(data) / 1e6:.0f} MB), {args.reps} runs each, {args.threads} thread(s)\n")
    print("| pipeline | wall s median | min | max | nncli fit / this | CPU s median | nncli fit / this (CPU) "
          "| peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    base, cbase = statistics.median(walls["nncli fit"]), statistics.median(cpu["nncli fit"])
    for name, w in walls.items():
        med, cmed = statistics.median(w), statistics.median(cpu[name])
        print(f"| {name} | {med:.2f} | {min(w):.2f} | {max(w):.2f} | {base / med:.2f} | {cmed:.2f} "
              f"| {cbase / cmed:.2f} | {max(rss[name]):.0f} |")


if __name__ == "__main__":
    main()
