"""Start-up time: `nncli --help` against `python -c "import numpy, typer"`, and the fixed cost
of commands that do a little work (`gen-data` of 10 rows, `predict` of one row).

    python benchmarks/bench_startup.py [--runs 20]

Runs the commands in turn, --runs rounds (interleaved, so drift hits all alike),
and prints the median, min and max wall time of each. The console script is
run by its real path (not a pyenv shim) with this checkout on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from importlib.metadata import version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_row_model(nncli: str, tmp: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    """(model, csv) in tmp: a model fitted for one epoch on the moons sample, and a one-row file to predict."""
    sample = os.path.join(ROOT, "sample_data", "moons.csv")
    model, row = os.path.join(tmp, "m.npz"), os.path.join(tmp, "one.csv")
    subprocess.run([nncli, "fit", sample, "--epochs", "1", "-q", "-o", model], env=env, check=True)
    with open(sample) as f, open(row, "w") as out:
        out.write(f.readline() + f.readline())
    return model, row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    script = os.path.join(sysconfig.get_path("scripts"), "nncli")
    commands = {
        'python -c "pass"': [sys.executable, "-c", "pass"],
        'python -c "import numpy, typer"': [sys.executable, "-c", "import numpy, typer"],
        "nncli --help": [script, "--help"],
        "python -m nncli --help": [sys.executable, "-m", "nncli", "--help"],
        "nncli fit --help": [script, "fit", "--help"],
    }
    env = {**os.environ, "PYTHONPATH": ROOT}
    tmp = tempfile.mkdtemp(prefix="nncli-startup-")
    model, row = one_row_model(script, tmp, env)
    commands["nncli gen-data moons -n 10"] = [script, "gen-data", "moons", "-n", "10"]
    commands["nncli predict (one row)"] = [script, "predict", model, row]
    times: dict[str, list[float]] = {k: [] for k in commands}
    try:
        for _ in range(args.runs):
            for name, cmd in commands.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
                times[name].append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(tmp)
    base = statistics.median(times['python -c "import numpy, typer"'])
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {args.runs} runs each, interleaved; "
          f"typer {version('typer')}\n")
    print("| command | median ms | min | max | / import numpy, typer |")
    print("|---|---|---|---|---|")
    for name, t in times.items():
        med = statistics.median(t)
        print(f"| `{name}` | {1000 * med:.0f} | {1000 * min(t):.0f} | {1000 * max(t):.0f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
