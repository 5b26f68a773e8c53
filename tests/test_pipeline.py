"""`pipeline.ahead`: a producer on a background thread, consumed in order."""

from __future__ import annotations

import queue
import threading

import pytest

from nncli.errors import DataError
from nncli.pipeline import ahead
from nncli.stop_signals import Terminated


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


@pytest.mark.parametrize("stop", [KeyboardInterrupt, Terminated])
def test_a_stop_raised_on_the_producers_thread_reaches_the_consumer_after_the_items_before_it(stop):
    """A Ctrl-C whose exception was lost is raised again on the reading thread (`stop_signals.reraise_if_lost`).
    Caught there as an Exception only, it ended the thread and left the consumer waiting for ever."""
    def produce():
        yield 1
        raise stop()

    got, ended = [], []

    def consume():
        try:
            for item in ahead(produce()):
                got.append(item)
        except BaseException as e:
            ended.append(e)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    consumer.join(10)
    assert got == [1]
    assert len(ended) == 1 and type(ended[0]) is stop


def test_stopping_early_frees_a_producer_waiting_on_the_full_queue(monkeypatch):
    """The consumer stopped while the producer was blocked putting an item into the full queue: unless the
    consumer empties the queue, the producer waits there for ever and its source is never closed."""
    blocked, closed = threading.Event(), threading.Event()

    class Queue(queue.Queue):
        def put(self, item, *args, **kw):
            if item[0] == 2:  # (item 1 fills the queue of 1 the consumer took item 0 from: this put waits)
                blocked.set()
            super().put(item, *args, **kw)

    monkeypatch.setattr(queue, "Queue", Queue)

    def produce():
        try:
            yield from range(10_000)
        finally:
            closed.set()

    for item in ahead(produce(), depth=1):
        assert blocked.wait(10)
        break
    assert closed.wait(10)


def test_items_that_are_none_or_false_are_passed_on_like_any_other():
    assert list(ahead(iter([0, None, "", False, [], 5]))) == [0, None, "", False, [], 5]
