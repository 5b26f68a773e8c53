"""fit_iter gathers shuffled rows in chunks of whole batches: the chunk size must change nothing."""

from __future__ import annotations

import numpy as np
import pytest

from nncli.core import training
from nncli.core.network import Network
from nncli.core.training import TrainConfig, fit_iter


def run(loss: str, gather_bytes: int, monkeypatch, weighted: bool, dropout: float):
    monkeypatch.setattr(training, "GATHER_BYTES", gather_bytes)
    rng = np.random.default_rng(0)
    n, d = 103, 3  # 103 rows in batches of 8: a partial last batch, and a partial last chunk
    X = rng.normal(size=(n, d))
    k = {"mse": 2, "bce": 1, "ce": 3}[loss]
    Y = {"mse": rng.normal(size=(n, k)),
         "bce": (rng.random((n, 1)) < 0.5).astype(float),
         "ce": np.eye(k)[rng.integers(0, k, n)]}[loss]
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    net = Network([d, 6, k], "tanh", loss, dtype=np.float64, dropout=dropout)
    net.initialize(rng)
    stats = list(fit_iter(net, X, Y, TrainConfig(epochs=3, batch_size=8), rng, sample_weight=w))
    return net.params.copy(), [(s.loss, s.metric, s.samples) for s in stats]


@pytest.mark.parametrize("loss", ["mse", "bce", "ce"])
@pytest.mark.parametrize("weighted,dropout", [(False, 0.0), (True, 0.3)])
def test_chunk_size_does_not_change_training(loss, weighted, dropout, monkeypatch):
    # 24 bytes a row: 600 bytes is three batches a chunk; 1 byte is one batch; 10**9 is everything at once.
    reference = run(loss, 10**9, monkeypatch, weighted, dropout)
    for gather_bytes in (600, 1):
        params, stats = run(loss, gather_bytes, monkeypatch, weighted, dropout)
        np.testing.assert_array_equal(params, reference[0])
        assert stats == reference[1]
