"""`pipeline.ahead`: a producer on a background thread, consumed in order."""

from __future__ import annotations

import threading

import pytest

from nncli.errors import DataError
from nncli.pipeline import ahead


def test_items_arrive_in_order_computed_on_another_thread():
    threads = set()

    def produce():
        for i in range(100):
            threads.add(threading.current_thread().name)
            yield i

    assert list(ahead(produce())) == list(range(100))
    assert threads == {"nncli-ahead"}


def test_an_error_arrives_after_the_items_before_it():
    def produce():
        yield 1
        yield 2
        raise DataError("bad row", file="f.csv", line=4)

    got = []
    with pytest.raises(DataError, match="f.csv:4: bad row"):
        for item in ahead(produce()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_stops_and_closes_the_producer():
    closed = threading.Event()
    produced = []

    def produce():
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    for item in ahead(produce(), depth=2):
        if item == 3:
            break
    assert closed.wait(10)
    assert len(produced) < 100  # it did not run on to the end


def test_a_producer_that_is_not_a_generator_is_closed_at_its_end():
    # (A generator left unclosed is closed when collected; an iterator with a close method is not.)
    class Items:
        def __init__(self):
            self.it = iter(range(5))
            self.closed = threading.Event()

        def __iter__(self):
            return self

        def __next__(self):
            return next(self.it)

        def close(self):
            self.closed.set()

    items = Items()
    assert list(ahead(items)) == list(range(5))
    assert items.closed.wait(10)
