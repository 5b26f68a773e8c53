"""Work split over threads (`nncli.core.team`): the same numbers as on one thread."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from nncli.core import team as team_module
from nncli.core.losses import LOSSES
from nncli.core.network import Network
from nncli.core.optimizers import make_optimizer
from nncli.core.team import Team, team
from nncli.core.training import TrainConfig, fit_iter
from test_core_gradients import make_problem, numeric_grads


@pytest.fixture
def split_everything(monkeypatch):
    """Split work of any size, so small test problems take the threaded paths."""
    monkeypatch.setattr(team_module, "MIN_SPLIT_FLOPS", 0)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_run_calls_every_part_once_on_distinct_threads(size):
    t = Team(size)
    calls: list[tuple[int, int]] = []
    lock = threading.Lock()

    def job(i: int) -> None:
        with lock:
            calls.append((i, threading.get_ident()))

    for _ in range(50):  # repeated: the hand-off must reset between jobs
        calls.clear()
        t.run(job)
        assert sorted(i for i, _ in calls) == list(range(size))
        assert len({ident for _, ident in calls}) == size
        assert dict(calls)[0] == threading.get_ident()  # part 0 runs on the caller


def test_run_reraises_a_workers_error_and_stays_usable():
    t = Team(2)

    def bad(i: int) -> None:
        if i == 1:
            raise ValueError("part 1 failed")

    with pytest.raises(ValueError, match="part 1 failed"):
        t.run(bad)
    seen = []
    t.run(seen.append)
    assert sorted(seen) == [0, 1]



def test_jobs_run_from_two_threads_at_once_take_turns():
    """`team(n)` hands every caller the same team: jobs two threads give it at once run one after the
    other, each with all its parts run once and no part of the other job's in between. (Without the
    lock on `run`, the second caller's hand-off overwrote the first's job, or released a worker twice.)"""
    t = Team(2)
    errors: list[BaseException] = []
    running = []  # the callers whose job has a part running now

    def caller(name: str) -> None:
        def job(i: int) -> None:
            running.append(name)
            seen.append(i)
            assert set(running) == {name}, running
            running.remove(name)

        try:
            for _ in range(300):
                seen: list[int] = []
                t.run(job)
                assert sorted(seen) == [0, 1]
        except BaseException as e:  # (re-raised below, on the test's thread)
            errors.append(e)

    threads = [threading.Thread(target=caller, args=(name,)) for name in "ab"]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []

@pytest.mark.parametrize("n", [0, 1, 2, 7, 128, 1001])
def test_bounds_cover_the_range_in_order(n):
    t = Team(3)
    pieces = [t.bounds(n, i) for i in range(3)]
    assert pieces[0][0] == 0 and pieces[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
    assert max(hi - lo for lo, hi in pieces) - min(hi - lo for lo, hi in pieces) <= 1


def test_a_team_has_at_least_one_thread():
    """A team of 0 threads ran part 0 alone and cut work into 0 pieces (a division by zero in `bounds`)."""
    with pytest.raises(ValueError, match="at least one thread"):
        Team(0)


def test_a_team_of_threads_shortens_the_switch_interval_and_never_lengthens_it(monkeypatch):
    """Threads that hand the GIL to each other around every NumPy call idled up to Python's 5 ms
    default switch interval each time; a team of two or more shortens it (`quick_gil_handoff`)."""
    before = sys.getswitchinterval()
    try:
        for start, want in ((0.005, 0.0005), (0.0001, 0.0001)):
            sys.setswitchinterval(start)
            monkeypatch.setattr(team_module, "_TEAMS", {})  # a process's first team of two
            team(2)
            assert sys.getswitchinterval() == pytest.approx(want, rel=0.05)  # (kept in whole microseconds)
    finally:
        sys.setswitchinterval(before)


@pytest.mark.parametrize("sizes, batch, split", [([50, 256, 128, 10], 256, True), ([20, 64, 64, 1], 256, False)])
def test_a_step_of_the_benchmarks_medium_size_is_split_and_a_small_one_is_not(monkeypatch, sizes, batch, split):
    """--threads 2 pays on the *medium* benchmark's steps (72 MFLOP: 16% faster) and costs on the
    *regression* one's (8 MFLOP: 2x slower split); `MIN_SPLIT_FLOPS` lies between (benchmarks/RESULTS.md)."""
    net = Network(sizes, "relu", "ce" if sizes[-1] > 1 else "mse")
    net.initialize(np.random.default_rng(0))
    net.use_threads(2)
    runs = []
    real = net.team.run
    monkeypatch.setattr(net.team, "run", lambda job: runs.append(job) or real(job))
    rng = np.random.default_rng(1)
    X = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    Y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    net.train_step(X, Y, None, None, None)
    assert bool(runs) == split


def test_team_is_shared_and_worth_splitting_needs_big_work():
    assert team(2) is team(2)
    assert not team(2).worth_splitting(1000)
    assert team(2).worth_splitting(10 * team_module.MIN_SPLIT_FLOPS)
    assert not Team(1).worth_splitting(10 * team_module.MIN_SPLIT_FLOPS)


def _step(net: Network, X, Y, w, dropout_seed=None):
    pred = np.empty(X.shape[0], np.int64)
    rng = None if dropout_seed is None else np.random.default_rng(dropout_seed)
    loss = net.train_step(X, Y, w, rng, pred if net.loss_name != "mse" else None)
    return loss, net.grads.copy(), pred


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_split_train_step_matches_one_thread(split_everything, loss, threads, weighted):
    net, X, Y = make_problem(loss, "tanh", seed=3)
    w = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    one = _step(net, X, Y, w)
    net.use_threads(threads)
    split = _step(net, X, Y, w)
    assert split[0] == pytest.approx(one[0], rel=1e-12)
    np.testing.assert_allclose(split[1], one[1], rtol=1e-10, atol=1e-14)
    if loss != "mse":
        np.testing.assert_array_equal(split[2], one[2])


def test_split_train_step_matches_finite_differences(split_everything):
    net, X, Y = make_problem("ce", "sigmoid", seed=5)
    net.use_threads(2)
    _, grads, _ = _step(net, X, Y, None)
    np.testing.assert_allclose(grads, numeric_grads(net, X, Y), rtol=1e-5, atol=1e-8)


def test_split_train_step_draws_the_same_dropout_masks(split_everything):
    net, X, Y = make_problem("ce", "relu", seed=2, hidden=(16, 8))
    net.dropout = 0.5
    one = _step(net, X, Y, None, dropout_seed=9)
    net.use_threads(2)
    split = _step(net, X, Y, None, dropout_seed=9)
    np.testing.assert_allclose(split[1], one[1], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_an_optimizer_step_in_pieces_is_exactly_the_whole_step(name):
    # (how training updates on a team of threads: each its own range of the parameters)
    rng = np.random.default_rng(0)
    start, grads = rng.normal(size=1001).astype(np.float32), rng.normal(size=1001).astype(np.float32)
    whole, pieces = (make_optimizer(name, 1001, np.float32, 0.01) for _ in range(2))
    p_whole, p_pieces = start.copy(), start.copy()
    for _ in range(3):
        whole.step(p_whole, grads.copy())
        c, g = pieces.begin_step(), grads.copy()
        for lo, hi in ((600, 1001), (0, 250), (250, 600)):
            pieces.update_range(c, p_pieces, g, lo, hi)
    np.testing.assert_array_equal(p_whole, p_pieces)


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("wide", [False, True])
def test_split_logits_are_exactly_the_one_thread_logits(split_everything, threads, wide):
    # Wide: products big enough that OpenBLAS rounds a row differently when they are cut at other
    # rows (threads splitting a chunk mid-block did: 18 rows of 20,000 differed in the last bit).
    if wide:
        net = Network([300, 128, 1], "relu", "bce")
        net.initialize(np.random.default_rng(4))
    else:
        net, _, _ = make_problem("ce", "relu", seed=4)
    X = np.random.default_rng(0).normal(size=(20_000, net.sizes[0]))  # more than one prediction chunk
    one = net.logits(X)
    net.use_threads(threads)
    np.testing.assert_array_equal(net.logits(X), one)


# Split from 0 flops: every step in two hand-offs (the first layer's weights apart); from 40,000: the
# 4-16-3 steps below split in one hand-off, their 34,392-flop first layer and update not worth a second.
@pytest.mark.parametrize("min_flops", [0, 40_000])
@pytest.mark.parametrize("optimizer, l2", [("adam", 0.0), ("adam", 0.01), ("momentum", 0.01), ("sgd", 0.0)])
def test_fit_on_two_threads_updates_like_one(monkeypatch, min_flops, optimizer, l2):
    monkeypatch.setattr(team_module, "MIN_SPLIT_FLOPS", min_flops)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(640, 4)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)]
    params = {}
    for threads in (1, 2):
        net = Network([4, 16, 3], "relu", "ce", dtype=np.float64)
        net.initialize(np.random.default_rng(1))
        net.use_threads(threads)
        config = TrainConfig(epochs=3, batch_size=64, lr=0.01, optimizer=optimizer, l2=l2)
        list(fit_iter(net, X.astype(np.float64), Y.astype(np.float64), config, np.random.default_rng(2)))
        params[threads] = net.params.copy()
    np.testing.assert_allclose(params[2], params[1], rtol=1e-9, atol=1e-12)


def test_fit_on_two_threads_learns_like_one(split_everything):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)]
    losses = {}
    for threads in (1, 2):
        net = Network([4, 16, 3], "relu", "ce")
        net.initialize(np.random.default_rng(1))
        net.use_threads(threads)
        stats = list(fit_iter(net, X, Y, TrainConfig(epochs=20, batch_size=64, lr=0.01), np.random.default_rng(2)))
        losses[threads] = [s.loss for s in stats]
        assert stats[-1].metric > 0.9
    np.testing.assert_allclose(losses[2], losses[1], rtol=1e-4)


def test_an_error_on_every_thread_leaves_no_stale_error_behind():
    t = Team(2)

    def bad(i: int) -> None:
        raise RuntimeError(f"part {i}")

    with pytest.raises(RuntimeError, match="part 0"):
        t.run(bad)
    seen = []
    t.run(seen.append)  # the worker's error of the failed job is not raised here
    assert sorted(seen) == [0, 1]
