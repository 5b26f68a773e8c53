"""The same nncli commands in two or more Python environments, alternated: what a dependency's
version costs at start-up.

    python -m venv /tmp/v28 && /tmp/v28/bin/pip install -e .     # typer 0.28 (nncli asks for < 0.29)
    python -m venv /tmp/v29 && /tmp/v29/bin/pip install -e . && /tmp/v29/bin/pip install "typer==0.29.2"
    python benchmarks/compare_envs.py /tmp/v28 /tmp/v29 [--runs 20]

(pip warns that nncli asks for typer < 0.29 in the second; that is the point.)

Each environment is a directory with `bin/nncli` (a venv with nncli installed). Every round
runs each command once in each environment, so drift hits all alike; prints the median wall
time of each, and the version of typer each environment has.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from bench_startup import one_row_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("envs", nargs="+", help="environment directories (each with bin/nncli)")
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="nncli-envs-")
    try:
        model, row = one_row_model(os.path.join(args.envs[0], "bin", "nncli"), tmp)
        commands = {
            "--help": ["--help"],
            "fit --help": ["fit", "--help"],
            "gen-data moons -n 10": ["gen-data", "moons", "-n", "10"],
            "predict (one row)": ["predict", model, row],
            "fit (error: no such file)": ["fit", os.path.join(tmp, "missing.csv")],
        }
        times = {(e, c): [] for e in args.envs for c in commands}
        for _ in range(args.runs):
            for c, cmd in commands.items():
                for e in args.envs:
                    t0 = time.perf_counter()
                    subprocess.run([os.path.join(e, "bin", "nncli"), *cmd],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    times[(e, c)].append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(tmp)
    versions = []
    for e in args.envs:
        out = subprocess.run([os.path.join(e, "bin", "python"), "-c",
                              "from importlib.metadata import version; print(version('typer'))"],
                             capture_output=True, text=True)
        versions.append(f"typer {out.stdout.strip() or '?'}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {args.runs} rounds, alternated\n")
    print("| command | " + " | ".join(f"{e} ({v})" for e, v in zip(args.envs, versions)) + " |")
    print("|---|" + "---|" * len(args.envs))
    for c in commands:
        cells = [f"{1000 * statistics.median(times[(e, c)]):.0f} ms" for e in args.envs]
        print(f"| `nncli {c}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
