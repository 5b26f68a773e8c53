"""Shared test helpers: run the CLI in-process (CliRunner) or as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nncli.cli import app

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"


@pytest.fixture
def cli():
    """Invoke nncli in-process; returns the Result with .exit_code, .stdout and .stderr apart."""
    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input)

    return invoke


def run_nncli(*args: str, input: bytes | str | None = None, timeout: float = 120, env: dict | None = None,
              cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m nncli ARGS` as a real process (bytes in, bytes out)."""
    if isinstance(input, str):
        input = input.encode()
    e = {**os.environ, "NO_COLOR": "1", **(env or {})}
    e.pop("NNCLI_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "nncli", *map(str, args)], input=input, capture_output=True,
                          timeout=timeout, env=e, cwd=cwd)


def write_csv(path: Path, header: list[str], rows) -> Path:
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


@pytest.fixture
def moons_csv(tmp_path):
    """A small moons training set and a separate test set (different seeds)."""
    from nncli.core.datagen import moons
    from nncli.csv_io import write_columns

    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write_columns(str(train), moons(np.random.default_rng(1), 600)[0])
    write_columns(str(test), moons(np.random.default_rng(2), 400)[0])
    return train, test
