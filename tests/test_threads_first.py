"""--threads must be applied before anything imports NumPy: OpenBLAS reads its thread count once, at import.

nncli splits its work over threads itself, so BLAS always gets one thread.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import nncli_env

# Runs the CLI with resolve_threads wrapped: it fails if NumPy is already loaded when it runs, and says
# on stderr that it ran (a command that never applied --threads would pass the checks unseen).
SCRIPT = """
import os, sys
import nncli.cli as cli
resolve_threads = cli.resolve_threads
def checked(threads):
    assert "numpy" not in sys.modules, "NumPy was imported before --threads was applied"
    n, notice = resolve_threads(threads)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1", "BLAS must run on one thread"
    assert n == (threads or int(os.environ.get("NNCLI_THREADS", "1")))
    print("threads applied", file=sys.stderr)
    return n, notice
cli.resolve_threads = checked
sys.argv = ["nncli", *sys.argv[1:]]
cli.main()
"""


def run(*args: str, cwd) -> subprocess.CompletedProcess:
    # (nncli_env: the checkout's nncli, as for every process the tests start; not whichever is installed)
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, cwd=cwd,
                          env=nncli_env(), timeout=120)


@pytest.fixture
def data(tmp_path):
    rows = ["x1,x2,y"] + [f"{i % 7 / 7:.3f},{i % 5 / 5:.3f},{i % 2}" for i in range(60)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


@pytest.mark.parametrize("args", [
    ["fit", "d.csv", "-o", "m.npz", "--epochs", "2", "-q", "--threads", "1"],
    ["fit", "d.csv", "-o", "m.npz", "--epochs", "2", "-q", "--threads", "2"],
    ["lr-find", "d.csv", "-q", "--steps", "10", "--threads", "2"],
])
def test_training_commands_set_threads_before_numpy(data, args):
    r = run(*args, cwd=data)
    assert r.returncode == 0 and "threads applied" in r.stderr, r.stderr


def test_predict_and_eval_set_threads_before_numpy(data):
    assert run("fit", "d.csv", "-o", "m.npz", "--epochs", "2", "-q", cwd=data).returncode == 0
    for args in (["predict", "m.npz", "d.csv", "--threads", "2"], ["eval", "m.npz", "d.csv", "--json", "--threads", "1"]):
        r = run(*args, cwd=data)
        assert r.returncode == 0 and "threads applied" in r.stderr, r.stderr
