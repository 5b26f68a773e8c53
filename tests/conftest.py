"""Shared test helpers: run the CLI in-process (CliRunner) or as its own process (`run_nncli`)."""

from __future__ import annotations

import atexit
import compileall
import contextlib
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from forks import ForkServer
from nncli.cli import app
from nncli.options import BLAS_THREADS

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"

# A shell starts a background job (`pytest &` in a script) with Ctrl-C ignored, and the processes the
# tests start inherit that: nncli then rightly ignores the SIGINTs the signal tests send. A handler
# here is reset to the default in each child (exec keeps only "ignored").
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The tests assert what nncli prints in a known environment, in process and in the processes they start:
# a shell that exports FORCE_COLOR=1, COLUMNS=40, TERM=dumb, NNCLI_THREADS=2 or NNCLI_DEBUG=1 (as some CI
# machines do) made tests fail that pass elsewhere. (At import: module-scoped fixtures run before any other.)
for _name in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
              "NNCLI_THREADS", "NNCLI_DEBUG", "NNCLI_NO_ARROW"):
    os.environ.pop(_name, None)
os.environ["TERM"] = "xterm-256color"


# Where bytecode is not written (PYTHONDONTWRITEBYTECODE=1, as on the machine this project is built on), each
# of the hundreds of processes the tests start compiled nncli's source again: ~0.2 s each, a minute of a suite
# run on two cores. Compiled once here (beside the source, as Python itself would), they read it. (quiet=2: a
# checkout that cannot be written to is left as it is, without a word.)
if sys.dont_write_bytecode:
    compileall.compile_dir(ROOT / "nncli", quiet=2)

@pytest.fixture(autouse=True)
def _no_stop_signal_left_raised():
    """Tests that raise stop signals in-process leave `stop_signals.raised` set, as a command whose
    exception was lost would; the next test's reads of stdin must not take it for theirs."""
    yield
    from nncli import stop_signals

    stop_signals.handled()


@pytest.fixture
def cli():
    """Invoke nncli in-process; returns the Result with .exit_code, .stdout and .stderr apart."""
    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input)

    return invoke


def nncli_env(**extra: str) -> dict[str, str]:
    """The environment nncli runs in: this process's, without colour and NNCLI_DEBUG, plus `extra`."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **extra}
    env.pop("NNCLI_DEBUG", None)
    return env


# Set by pytest for each test, and by in-process commands (always to 1, as `nncli.options.one_blas_thread`):
# neither makes an environment another for nncli.
_PER_TEST = ("PYTEST_CURRENT_TEST",)
_server: ForkServer | None = None
_starting = threading.Lock()


def _same_start(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in _PER_TEST and not (k in BLAS_THREADS and v == "1")}


def fork_server() -> ForkServer | None:
    """The session's fork server (see tests/forks.py), started on first use; None off Linux."""
    global _server
    with _starting:
        if _server is None and sys.platform == "linux":
            _server = ForkServer(nncli_env())
            atexit.register(_server.close)
    return _server


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def run_nncli(*args: str, input: bytes | str | None = None, timeout: float = 120, env: dict | None = None,
              cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m nncli ARGS` as its own process (bytes in, bytes out): forked from the fork server
    when the environment is the one it started with, else started afresh."""
    if isinstance(input, str):
        input = input.encode()
    e = nncli_env(**(env or {}))
    server = fork_server()
    if server is not None and _same_start(e) == _same_start(server.env) and (input is not None or _is_open(0)):
        return server.run(list(map(str, args)), cwd=cwd, input=input, timeout=timeout)
    return subprocess.run([sys.executable, "-m", "nncli", *map(str, args)], input=input, capture_output=True,
                          timeout=timeout, env=e, cwd=cwd)


def device_like(path: Path, device: str) -> None:
    """Make `path` write as `device` (/dev/null, /dev/full) does. As root, a device node of its own with
    the same numbers: a bug that replaces an output's target instead of writing into it then replaces
    only the node (a mutant of atomic.py, run as root, renamed a plot over /dev/full through a symlink
    to it). Else a symlink to the device, which only root could replace. (A node is no file for
    test_robustness's `snapshot`: replaced by one, it shows as a new file.)"""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.stat(device).st_rdev)
            os.close(os.open(path, os.O_WRONLY))  # (a file system mounted nodev refuses to open it)
            return
        except OSError:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
    path.symlink_to(device)


def write_csv(path: Path, header: list[str], rows) -> Path:
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


@pytest.fixture
def moons_csv(tmp_path):
    """A small moons training set and a separate test set (different seeds)."""
    from nncli.core.datagen import moons
    from nncli.csv_write import write_columns

    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write_columns(str(train), moons(np.random.default_rng(1), 600)[0])
    write_columns(str(test), moons(np.random.default_rng(2), 400)[0])
    return train, test


def forge_declared_size(npz: bytes, member: str, n_items: int) -> bytes:
    """A copy of a model archive whose `member` claims n_items float32s while holding almost none.

    The .npy header and the zip directory agree on the huge size, so only a loader
    that checks the sizes against the file itself refuses it before allocating.
    """
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(npz))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == member + ".npy":
                head = io.BytesIO()
                np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False,
                                                            "shape": (n_items,)})
                declared = len(head.getvalue()) + 4 * n_items
                data = head.getvalue() + bytes(64)
            dst.writestr(info.filename, data)
    return patch_zip_directory(out.getvalue(), member, 20, "<II", declared, declared)


def patch_zip_directory(npz: bytes, member: str, offset: int, fmt: str, *values: int) -> bytes:
    """Overwrite a field of `member`'s central directory entry (version needed +6, flags +8, method +10, sizes +20)."""
    import struct

    raw = bytearray(npz)
    k = raw.find(b"PK\x01\x02")
    while k >= 0:
        name_len = struct.unpack_from("<H", raw, k + 28)[0]
        if raw[k + 46:k + 46 + name_len] == (member + ".npy").encode():
            struct.pack_into(fmt, raw, k + offset, *values)
        k = raw.find(b"PK\x01\x02", k + 1)
    return bytes(raw)
