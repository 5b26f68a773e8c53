"""Running a producer on a background thread while the caller consumes: `ahead(iterator)`.

May import the standard library only.

`nncli predict` reads, converts and predicts a chunk while the main thread
formats and writes the previous one; NumPy and file I/O release the GIL, so
the two overlap on two cores. Items, and the exception that ends the
iterator, arrive in order: a consumer that stops at an error has handled
exactly the items before it, as without the thread.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


def ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield what `items` yields, computed up to `depth` items ahead on a daemon thread.

    The thread is not joined when the consumer stops early: it may be blocked
    reading a pipe, and as a daemon it ends with the process.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put((item, None))
            q.put((_DONE, None))
        except BaseException as e:  # handed to the consumer, raised there in order
            q.put((_DONE, e))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="nncli-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = q.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:  # the consumer stopped early: let the producer see `stop` at its next item
        stop.set()
        try:
            while True:
                q.get_nowait()  # unblocks a producer waiting on the full queue
        except queue.Empty:
            pass
