"""Standard streams the process was started without: stand-ins, and a record of which they were.

`fill_closed_streams` runs first thing in `nncli.__main__`. A descriptor counts as closed when it
is not open, or open the wrong way round: started with `2>&-`, a launcher shell script (pyenv's
shims) leaves itself open read-only on descriptor 2, where every write fails. Each such
descriptor is filled with /dev/null, so that no file opened later (a model being written) can
take descriptor 1 or 2 and receive printed text. `closed_stream_named` then tells an output
path such as `/dev/stdout`, which now leads to /dev/null, from a real one. `silence` does the
same for stdout or stderr when its reader goes away during the run (`nncli ... 2>&1 | head -1`).

Standard library only.
"""

from __future__ import annotations

import errno
import io
import os
import re
import sys

try:
    import fcntl
except ImportError:  # (not on Windows)
    fcntl = None  # type: ignore[assignment]

NAMES = {0: "standard input", 1: "standard output", 2: "standard error"}
CLOSED: frozenset[int] = frozenset()  # the descriptors fill_closed_streams filled


class ClosedOutput(io.TextIOBase):
    """stdout when it was closed: writing data fails (exit 1); a command that writes none succeeds."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _unusable(fd: int) -> bool:
    """Not open, or open only for writing (stdin) or only for reading (stdout, stderr)."""
    try:
        if fcntl is None:
            os.fstat(fd)
            return False
        access = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    except OSError:
        return True
    return access == (os.O_WRONLY if fd == 0 else os.O_RDONLY)


def fill_closed_streams() -> None:
    """Give closed standard descriptors /dev/null and Python stand-ins; record them in CLOSED."""
    global CLOSED
    closed = [fd for fd in NAMES if _unusable(fd)]
    for fd in closed:
        new = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor, so `fd` itself if it was not open
        if new != fd:
            os.dup2(new, fd)
            os.close(new)
    CLOSED = frozenset(closed)
    if 0 in closed:
        sys.stdin = None  # type: ignore[assignment]  # reading `-` then says stdin is closed
    if 1 in closed:
        sys.stdout = ClosedOutput()
    if 2 in closed and sys.stderr is None:  # (if Python made one, it now writes to /dev/null)
        sys.stderr = open(os.devnull, "w")


def silence(stream) -> None:
    """Point `stream`'s descriptor at /dev/null once its reader has gone (a broken pipe): what is
    still buffered, and all written later, then goes nowhere instead of failing again, at the
    latest when Python flushes the stream at exit, which would turn any exit code into 120."""
    try:
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (AttributeError, OSError, ValueError):  # no descriptor (a stand-in), or it is closed
        return
    if devnull != fd:
        os.dup2(devnull, fd)
        os.close(devnull)


def closed_stream_named(path: str) -> str | None:
    """"standard output" if `path` leads to a descriptor in CLOSED (`/dev/stdout`, `/dev/fd/1`,
    `/proc/self/fd/1`, a symlink to one of them; likewise 0 and 2), else None."""
    fd = descriptor_named(path) if CLOSED else None
    return NAMES[fd] if fd in CLOSED else None


def descriptor_named(path: str) -> int | None:
    """The descriptor of this process that `path` leads to (`/dev/stdout`: 1, `/dev/fd/3`: 3, through
    symlinks too), else None."""
    if not path:
        return None
    fd_path = re.compile(rf"/proc/{os.getpid()}(?:/task/\d+)?/fd/(\d+)")
    p = os.path.abspath(path)
    for _ in range(40):  # the kernel's limit on symlinks followed
        p = os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))  # /dev/fd -> /proc/PID/fd
        m = fd_path.fullmatch(p)
        if m:
            return int(m[1])
        try:
            link = os.readlink(p)
        except (OSError, ValueError):
            return None
        p = os.path.normpath(os.path.join(os.path.dirname(p), link))
    return None


def is_terminal(stream: object) -> bool:
    """Whether a stream (None, closed, or without `isatty`: no) is a terminal."""
    try:
        return stream.isatty()  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return False
