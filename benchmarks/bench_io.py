"""CSV reading throughput and memory, and `nncli predict` streaming, measured in child processes.

    python benchmarks/bench_io.py                       # 100k x 51 read + 2M-row predict
    python benchmarks/bench_io.py --predict-rows 10000000 --dir /tmp/nncli-bench

Reading: `nncli.csv_io.read_table` against `numpy.loadtxt` (float32) and, where
installed, pandas (C engine) and pyarrow, on a numeric CSV of --rows x --cols,
and on the same with 1% of the cells empty (loadtxt then needs a converter to
read them as NaN). "nncli (plain)" is read_table without its pyarrow path
(NNCLI_NO_ARROW=1), as in a plain install; "nncli" is read_table with pyarrow
installed (the `fast` extra), which reads plain files through pyarrow (files with
empty cells then fall back to nncli's own reader); both with the thread settings a
command leaves (`nncli.options.one_blas_thread`). Each reader runs in its own
process, its modules (pyarrow too, where it is used) imported before the clock
starts: seconds (median of --reps runs), MB/s and rows/s, and the peak of traced
allocations (tracemalloc, plus Arrow's memory pool where Arrow is used; a
separate run) as a multiple of the float32 array the file holds.

Predicting: a model trained by `nncli fit` on the first 20,000 rows predicts a
--predict-rows CSV to /dev/null; wall time, rows/s and peak RSS of the process
(getrusage of the child), against the reader alone streaming the same file's
feature columns (those `predict` reads), also as a process. Both are also run on a one-row file, whose time is each command's
fixed cost (interpreter, imports, model loading); rows/s past it is the
streaming throughput. What writing costs: the same file predicted with --proba
(three columns a row: the label and two probabilities) and by a model fitted to
the label as a number (--task regression: one number a row). The peak RSS is
the largest of the three.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READERS = ("nncli (plain)", "nncli", "numpy.loadtxt", "pandas", "pyarrow")


# -- child side: one measurement per process --------------------------------------------------------
def child(reader: str, path: str, mode: str) -> None:
    import numpy as np

    sys.path.insert(0, ROOT)
    if mode == "mem":
        import tracemalloc

    if reader == "nncli (plain)":  # read_table without its pyarrow path, as in a plain install
        os.environ["NNCLI_NO_ARROW"] = "1"
        reader = "nncli"
    if reader.startswith("nncli"):  # as a command leaves them (OMP_NUM_THREADS=1, from which pyarrow sized its pool)
        from nncli.options import one_blas_thread

        one_blas_thread()

    def read() -> int:
        if reader == "nncli":
            from nncli.csv_io import read_table

            t = read_table(path)
            return t.n_rows
        if reader == "nncli-stream":
            from nncli.csv_io import TableReader

            with TableReader(path) as r:
                return sum(c.n_rows for c in r.chunks())
        if reader == "numpy.loadtxt":  # (empty cells: as NaN, through its converters argument)
            return len(np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32,
                                  converters=lambda s: float(s) if s.strip() else np.nan)
                       if "missing" in path else np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32))
        if reader == "pandas":
            import pandas as pd

            return len(pd.read_csv(path, dtype=np.float32, engine="c"))
        if reader == "pyarrow":
            import pyarrow as pa
            import pyarrow.csv as pacsv

            with open(path) as f:
                names = f.readline().rstrip("\n").split(",")
            t = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                column_types={c: pa.float32() for c in names}))
            return t.num_rows
        raise SystemExit(f"unknown reader {reader}")

    # Import the reader's modules before measuring, so import time and memory do not count.
    arrow = reader == "pyarrow" or (reader == "nncli" and not os.environ.get("NNCLI_NO_ARROW")
                                    and available("pyarrow"))
    if reader.startswith("nncli"):
        import nncli.csv_io  # noqa: F401
    if arrow:
        import pyarrow.csv  # noqa: F401
    elif reader == "pandas":
        import pandas  # noqa: F401
    if mode == "mem":
        tracemalloc.start()
        rows = read()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if arrow:  # Arrow allocates outside tracemalloc's view: ask its memory pool
            import pyarrow as pa

            peak += pa.default_memory_pool().max_memory()
        print(json.dumps({"rows": rows, "peak": peak}))
    else:
        t0 = time.perf_counter()
        rows = read()
        print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t0}))


def run_child(*args: str) -> dict:
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *args],
                       capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"child {args} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# -- parent side ------------------------------------------------------------------------------------
def write_numeric_csv(path: str, rows: int, cols: int, seed: int, classes: int = 0, missing: float = 0.0) -> None:
    """Random features (%.6g) and, last, a target column; written in blocks to bound memory.

    missing > 0: that share of the feature cells is left empty (so readers must handle missing values).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(cols - 1)] + ["y"]
    A = rng.standard_normal(cols - 1)
    with open(path + ".part", "w") as f:  # (renamed once whole: a run cut short leaves no file to reuse)
        f.write(",".join(names) + "\n")
        for s in range(0, rows, 100_000):
            m = min(100_000, rows - s)
            X = rng.standard_normal((m, cols - 1))
            y = X @ A
            if classes:
                y = (y > 0).astype(np.int64)
                body = np.column_stack([X, y])
                np.savetxt(f, body, fmt=["%.6g"] * (cols - 1) + ["%d"], delimiter=",")
            elif missing:
                buf = io.StringIO()
                np.savetxt(buf, np.column_stack([X, y]), fmt="%.6g", delimiter=",")
                lines = buf.getvalue().splitlines()
                holes = rng.random((m, cols - 1)) < missing
                for i, j in zip(*np.nonzero(holes)):
                    cells = lines[i].split(",")
                    cells[j] = ""
                    lines[i] = ",".join(cells)
                f.write("\n".join(lines) + "\n")
            else:
                np.savetxt(f, np.column_stack([X, y]), fmt="%.6g", delimiter=",")
    os.replace(path + ".part", path)


def available(reader: str) -> bool:
    module = {"pandas": "pandas", "pyarrow": "pyarrow", "nncli": "pyarrow"}.get(reader)
    if module is None:
        return True
    import importlib.util

    return importlib.util.find_spec(module) is not None


def bench_read(path: str, rows: int, cols: int, reps: int) -> list[dict]:
    size_mb = os.path.getsize(path) / 1e6
    array_bytes = rows * cols * 4
    out = []
    for reader in READERS:
        if not available(reader):
            continue
        secs = [run_child(reader, path, "time")["seconds"] for _ in range(reps)]
        peak = run_child(reader, path, "mem")["peak"]
        med = statistics.median(secs)
        out.append({"reader": reader, "seconds": med, "min": min(secs), "max": max(secs),
                    "MB/s": size_mb / med, "rows/s": rows / med, "peak_MB": peak / 1e6,
                    "peak_x_array": peak / array_bytes})
    return out


def timed_process(cmd: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds) of one child process.

    It runs under a fresh Python, so that getrusage(RUSAGE_CHILDREN) sees that child alone.
    MB are 10^6 bytes (ru_maxrss counts KiB), as the issue's limits and the array sizes are.
    """
    code = ("import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
            "w = time.perf_counter() - t\n"
            "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "print(w, u.ru_maxrss * 1024 / 1e6, u.ru_utime + u.ru_stime, r.returncode)\n")
    r = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True,
                       env={**os.environ, **(env or {})})
    wall, rss, cpu, rc = r.stdout.split()
    if rc != "0":
        raise SystemExit(f"{cmd} exited {rc}")
    return float(wall), float(rss), float(cpu)


def bench_predict(directory: str, rows: int, reps: int) -> dict:
    big = os.path.join(directory, f"predict_{rows}.csv")
    head = os.path.join(directory, "predict_train.csv")
    model = os.path.join(directory, "predict_model.npz")
    regression = os.path.join(directory, "predict_regression.npz")  # (the 0/1 label fitted as a number)
    if not os.path.exists(big):
        t = time.perf_counter()
        write_numeric_csv(big, rows, 11, seed=1, classes=2)
        print(f"# wrote {big} ({os.path.getsize(big) / 1e6:.0f} MB) in {time.perf_counter() - t:.0f}s",
              file=sys.stderr)
    write_numeric_csv(head, 20_000, 11, seed=1, classes=2)
    nncli = [sys.executable, "-m", "nncli"]
    for path, task in ((model, "auto"), (regression, "regression")):
        if os.path.exists(path):
            os.remove(path)
        fit = subprocess.run([*nncli, "fit", head, "-o", path, "--epochs", "5", "--hidden", "64,64", "-q",
                              "--task", task], cwd=ROOT, capture_output=True, text=True)
        if fit.returncode:
            raise SystemExit(fit.stderr)
    tiny = os.path.join(directory, "predict_tiny.csv")
    with open(big) as f, open(tiny, "w") as out:
        out.write(f.readline() + f.readline())  # the header and one row: each command's fixed cost
    # The reader alone, as a process too: interpreter start and imports count on both sides. It reads
    # the columns `predict` reads, the model's features (not the label after them).
    reader = [sys.executable, "-c", "import sys\nfrom nncli.csv_io import TableReader\n"
              "with open(sys.argv[1]) as f:\n    features = f.readline().rstrip().split(',')[:-1]\n"
              "with TableReader(sys.argv[1], features) as r:\n    sum(c.n_rows for c in r.chunks())"]
    walls: dict[str, list[float]] = {k: [] for k in ("predict", "reader", "predict_tiny", "reader_tiny", "proba",
                                                     "regression")}
    rss = []
    for _ in range(reps):  # alternated, so drift hits both alike
        w, r, _ = timed_process([*nncli, "predict", model, big])
        walls["predict"].append(w)
        rss.append(r)
        # What the writer costs: three columns a row (the label and two probabilities), or one number.
        for key, cmd in (("proba", [*nncli, "predict", model, big, "--proba"]),
                         ("regression", [*nncli, "predict", regression, big])):
            w, r, _ = timed_process(cmd)
            walls[key].append(w)
            rss.append(r)
        walls["reader"].append(timed_process([*reader, big], env={"PYTHONPATH": ROOT})[0])
        walls["predict_tiny"].append(timed_process([*nncli, "predict", model, tiny])[0])
        walls["reader_tiny"].append(timed_process([*reader, tiny], env={"PYTHONPATH": ROOT})[0])
    m = {k: statistics.median(v) for k, v in walls.items()}
    steady_p, steady_r = rows / (m["predict"] - m["predict_tiny"]), rows / (m["reader"] - m["reader_tiny"])
    return {"rows": rows, "file_MB": os.path.getsize(big) / 1e6, "predict_seconds": m["predict"],
            "predict_rows/s": rows / m["predict"], "predict_peak_rss_MB": max(rss),
            "reader_seconds": m["reader"], "reader_rows/s": rows / m["reader"],
            "predict_fixed": m["predict_tiny"], "reader_fixed": m["reader_tiny"],
            "predict_steady_rows/s": steady_p, "reader_steady_rows/s": steady_r,
            "reader_over_predict": m["reader"] / m["predict"], "steady_ratio": steady_p / steady_r,
            "proba_seconds": m["proba"], "regression_seconds": m["regression"]}


def bench_fit_memory(directory: str, rows: int, cols: int) -> list[dict]:
    """Peak RSS of `nncli fit` (1 epoch of 784-512-256) on a rows x cols CSV, with and without pyarrow."""
    path = os.path.join(directory, f"fit_{rows}x{cols}.csv")
    if not os.path.exists(path):
        write_numeric_csv(path, rows, cols, seed=2, classes=2)
    model = os.path.join(directory, "fit_memory.npz")
    cmd = [sys.executable, "-m", "nncli", "fit", path, "-o", model, "--epochs", "1", "--val-split", "0",
           "--patience", "0", "--hidden", "512,256", "--batch-size", "128", "-q"]
    out = []
    for label, env in (("pyarrow installed", None), ("plain (NNCLI_NO_ARROW=1)", {"NNCLI_NO_ARROW": "1"})):
        if os.path.exists(model):
            os.remove(model)
        wall, rss, _ = timed_process(cmd, env)
        out.append({"reader": label, "seconds": wall, "peak_rss_MB": rss})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--child", nargs=3, metavar=("READER", "PATH", "MODE"), help=argparse.SUPPRESS)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--cols", type=int, default=51)
    p.add_argument("--predict-rows", type=int, default=2_000_000, help="0: skip the predict benchmark")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--fit-memory", action="store_true",
                   help="also: peak RSS of `nncli fit` on the large workload's shape (60,000 x 785) as CSV")
    p.add_argument("--skip-read", action="store_true", help="skip the reading table")
    p.add_argument("--dir", default="/tmp/nncli-bench", help="where the CSV files are written (kept for reuse)")
    args = p.parse_args()
    if args.child:
        return child(*args.child)
    os.environ["PYTHONPATH"] = ROOT  # every child imports this checkout's nncli
    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, f"read_{args.rows}x{args.cols}.csv")
    if not os.path.exists(path):
        write_numeric_csv(path, args.rows, args.cols, seed=0)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  read: {path} "
          f"({os.path.getsize(path) / 1e6:.1f} MB, {args.rows:,} x {args.cols}), median of {args.reps} runs\n")
    if not args.skip_read:
        missing_path = os.path.join(args.dir, f"read_{args.rows}x{args.cols}_missing.csv")
        if not os.path.exists(missing_path):
            write_numeric_csv(missing_path, args.rows, args.cols, seed=0, missing=0.01)
        for label, p in (("plain numbers", path), ("1% of the cells empty (missing values)", missing_path)):
            print(f"\n## {label}: {p} ({os.path.getsize(p) / 1e6:.1f} MB)\n")
            print("| reader | s (median) | min | max | MB/s | rows/s | vs numpy.loadtxt | peak traced MB "
                  "| peak / float32 array |")
            print("|---|---|---|---|---|---|---|---|---|")
            results = bench_read(p, args.rows, args.cols, args.reps)
            base = next(r for r in results if r["reader"] == "numpy.loadtxt")["seconds"]
            for r in results:
                print(f"| {r['reader']} | {r['seconds']:.3f} | {r['min']:.3f} | {r['max']:.3f} | {r['MB/s']:.1f} "
                      f"| {r['rows/s']:,.0f} | {base / r['seconds']:.2f}x | {r['peak_MB']:.1f} "
                      f"| {r['peak_x_array']:.2f} |", flush=True)
    if args.fit_memory:
        rows, cols = 60_000, 785
        array_mb = rows * (cols - 1) * 4 / 1e6
        print(f"\n# nncli fit, 1 epoch of {cols - 1}-512-256-1 on a {rows:,} x {cols} CSV: float32 X is "
              f"{array_mb:.0f} MB, so the issue's limit is 2 x {array_mb:.0f} + 150 = {2 * array_mb + 150:.0f} MB\n")
        print("| reader | wall s | peak RSS MB | RSS / float32 X |")
        print("|---|---|---|---|")
        for r in bench_fit_memory(args.dir, rows, cols):
            print(f"| {r['reader']} | {r['seconds']:.1f} | {r['peak_rss_MB']:.0f} | {r['peak_rss_MB'] / array_mb:.2f} |",
                  flush=True)
    if args.predict_rows:
        r = bench_predict(args.dir, args.predict_rows, args.reps)
        print(f"\n# predict: {r['rows']:,} rows x 10 features ({r['file_MB']:.0f} MB), model 10-64-64-1, to /dev/null\n")
        print("| what | s (median) | rows/s | 1-row file s (fixed cost) | rows/s past the fixed cost | peak RSS MB |")
        print("|---|---|---|---|---|---|")
        print(f"| nncli predict | {r['predict_seconds']:.2f} | {r['predict_rows/s']:,.0f} | {r['predict_fixed']:.2f} | "
              f"{r['predict_steady_rows/s']:,.0f} | {r['predict_peak_rss_MB']:.0f} |")
        print(f"| reader alone (TableReader.chunks, a process) | {r['reader_seconds']:.2f} | {r['reader_rows/s']:,.0f} | "
              f"{r['reader_fixed']:.2f} | {r['reader_steady_rows/s']:,.0f} | |")
        for what, key in (("nncli predict --proba (label, p_0, p_1)", "proba"),
                          ("nncli predict, a regression model (one number)", "regression")):
            print(f"| {what} | {r[key + '_seconds']:.2f} | {r['rows'] / r[key + '_seconds']:,.0f} | | | |")
        print(f"\npredict rows/s = {r['reader_over_predict']:.2f} x the reader's own rows/s "
              f"({r['steady_ratio']:.2f} x past each command's fixed cost); --proba "
              f"{r['reader_seconds'] / r['proba_seconds']:.2f} x, a regression model "
              f"{r['reader_seconds'] / r['regression_seconds']:.2f} x (peak RSS over all three)")

if __name__ == "__main__":
    main()
