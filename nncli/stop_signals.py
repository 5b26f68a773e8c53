"""The signals that stop a command: what each one says and exits with, and how they are held.

Ctrl-C (SIGINT) exits 130, SIGTERM 143 and SIGHUP (the terminal or the ssh connection went away)
129: 128 plus the signal's number, as a shell reports a process that the signal killed. Each is
raised as an exception (KeyboardInterrupt, or `Terminated`) so that cleanup runs: a half-written
output file is removed, and `fit` saves the weights it has. A signal that was ignored when the
process started (`nohup`, or SIGINT in a script's background job) stays ignored.

Standard library only (and, when a `StopFlag` is made, `nncli.errors`): `nncli.__main__` installs
handlers through it before anything else loads.
`StopFlag` is `fit`'s handler, which lets training finish its batch and save.
"""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager

TYPE_CHECKING = False  # (typing itself is not imported at run time, 2.4 ms: this loads before the handlers are in)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator

    Handler = Callable[[int, Any], Any]

STOPS: dict[int, str] = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}  # what nncli says
if hasattr(signal, "SIGHUP"):  # (not on Windows)
    STOPS[signal.SIGHUP] = "hung up"


# A stop signal this soon after the first is the same stop, not a second one: GNU `timeout` sends its
# signal to the command and then to its whole process group, the command included, microseconds apart.
# (A second Ctrl-C by hand comes a tenth of a second later at the very least.)
SAME_STOP_SECONDS = 0.05


class Repeats:
    """Tells a second stop signal from the first one sent twice (see SAME_STOP_SECONDS)."""

    def __init__(self) -> None:
        self.first: float | None = None

    def second(self) -> bool:
        """Note a stop signal; whether it is a second stop (False for the first, and for its echo)."""
        now = time.monotonic()
        if self.first is None:
            self.first = now
            return False
        return now - self.first >= SAME_STOP_SECONDS


class Terminated(BaseException):
    """Raised for SIGTERM or SIGHUP, as KeyboardInterrupt is for Ctrl-C, so that cleanup code runs."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signum)
        self.signum = signum


def signum_of(e: BaseException) -> int:
    """The signal a KeyboardInterrupt or `Terminated` stands for."""
    return e.signum if isinstance(e, Terminated) else signal.SIGINT


def exit_code(signum: int) -> int:
    return 128 + signum


# The stop signal `raise_for` last turned into an exception, until the command handles it (`handled`).
# An exception raised while an extension module is being imported can be lost: a Ctrl-C that came
# while NumPy imported numpy.random (lazily, `np.random`) vanished in its Cython initialization, and
# `fit -` then waited for typed rows for ever (10 runs in 324 on a loaded machine). See `reraise_if_lost`.
raised: int | None = None
announced: int | None = None  # the signal whose message is on stderr already (`nncli.__main__`'s first handler)


def exception_for(signum: int) -> BaseException:
    """The exception a stop signal is raised as."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def raise_for(signum: int, frame: object = None) -> None:
    """The handler that turns a stop signal into its exception."""
    global raised
    raised = signum
    raise exception_for(signum)


def handled() -> None:
    """The stop signal's exception reached the code that ends the command."""
    global raised, announced
    raised, announced = None, None


def reraise_if_lost() -> None:
    """Raise again a stop signal whose exception was lost on its way (see `raised`): for code that
    waits without end (rows typed at a terminal), where it would otherwise never stop, and before
    work that would make the stop come too late (training, an output's commit, each piece of rows
    written to stdout), and once a command has ended (it then exits as stopped). (Raised on a thread
    that reads ahead for the main one, `pipeline.ahead`, it reaches the main one in order.)"""
    if raised is not None:
        raise_for(raised)


def install(handler: Handler | int, into: dict[int, Handler | int] | None = None) -> dict[int, Handler | int]:
    """Handle the stop signals with `handler` (or SIG_DFL), but for those ignored (or handled outside
    Python); returns the handlers it replaced (recorded in `into` as it goes, if given), for `restore`."""
    old = {} if into is None else into
    for s in STOPS:
        current = signal.getsignal(s)
        if current is not signal.SIG_IGN and current is not None:
            old[s] = signal.signal(s, handler)
    return old


def restore(old: dict[int, Handler | int]) -> None:
    for s, h in old.items():
        signal.signal(s, h)


def kill_from_now_on() -> None:
    """Let a further stop signal end the process at once, by the signal itself (the shell still sees
    128 plus its number), for when a command's outcome is settled: raised as an exception while the
    interpreter shuts down (joining the CSV reader's threads), it could only be printed as
    "Exception ignored in ..." with a traceback."""
    install(signal.SIG_DFL)


@contextmanager
def held() -> Iterator[list[int]]:
    """Hold the stop signals while the block runs: one that arrives meanwhile reaches the handler that
    was in place when the block ends; a second one (not the first sent twice: SAME_STOP_SECONDS)
    reaches it at once. Yields the signals held so far
    (a caller that waits may look, and stop waiting: see `csv_write._WholeRows`).

    For writing a piece of output that must go out whole, as CSV rows to a pipe: a signal during a
    blocked write(2) lets part of the data through, and the exception it raised came before the rest,
    leaving a row cut short (`2.03508,0` for `2.03508,0.304567,1`) for the next program to read.
    Signals are handled on the main thread only; elsewhere this holds nothing. Not for nesting, nor
    under `StopFlag` (its handler would see the held signal as a second one).
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    pending: list[int] = []
    old: dict[int, Handler | int] = {}
    delivered = False
    repeats = Repeats()

    def hold(signum: int, frame: object) -> None:
        nonlocal delivered
        if repeats.second() or not pending:  # (not the first one's echo)
            pending.append(signum)
        if len(pending) > 1 and not delivered:  # a second signal: no more waiting
            delivered = True
            restore(old)
            signal.raise_signal(signum)

    try:
        install(hold, into=old)  # (`old` filled as it goes, for `finally`: a signal may come meanwhile)
        yield pending
    finally:
        if not delivered:
            delivered = True
            restore(old)
            if pending:
                signal.raise_signal(pending[0])


class StopFlag:
    """Ctrl-C, SIGTERM or SIGHUP handler for training: finish the batch, save, then exit 130/143/129.

    A second signal (not the first sent twice, see `SAME_STOP_SECONDS`) stops at once,
    without saving, until `committing()` is called just before the new model is renamed into place;
    from then on the model is saved, and signals change nothing (the notice and the exit code tell
    of the first). A signal ignored when the process
    started (`nncli fit ... &` in a script ignores SIGINT) stays ignored.
    """

    def __init__(self, output: str = "") -> None:
        from nncli.errors import shorten  # (here, not in the handler: nothing is imported there)

        self.output = shorten(output)  # for the message of a second signal
        self.signum: int | None = None
        self._committed = False
        self._old = {}
        self._repeats = Repeats()

    def __call__(self) -> str:
        """What stopped training ("interrupted", "terminated", "hung up"), or "" while nothing has."""
        return STOPS[self.signum] if self.signum is not None else ""

    def committing(self) -> None:
        self._committed = True

    def _handle(self, signum: int, frame: object) -> None:
        second = self._repeats.second()
        if self.signum is None:
            self.signum = signum
        elif second and not self._committed:  # a second signal: stop now, without saving
            try:
                raise_for(signum)
            except BaseException as e:
                e.nncli_says = f"{STOPS[signum]} again: nothing saved to {self.output}"  # type: ignore[attr-defined]
                raise

    def __enter__(self) -> "StopFlag":
        reraise_if_lost()  # (a signal before training, whose exception an import swallowed: stop now)
        self._old = install(self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        restore(self._old)
