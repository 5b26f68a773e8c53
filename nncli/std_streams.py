"""Standard streams the process was started without: stand-ins for them.

`fill_closed_streams` runs first thing in `nncli.__main__`. A descriptor counts as closed when it
is not open, or open the wrong way round: started with `2>&-`, a launcher shell script (pyenv's
shims) leaves itself open read-only on descriptor 2, where every write fails. Each such
descriptor is filled with /dev/null, so that no file opened later (a model being written) can
take descriptor 1 or 2 and receive printed text.

Standard library only.
"""

from __future__ import annotations

import errno
import io
import os
import sys

try:
    import fcntl
except ImportError:  # (not on Windows)
    fcntl = None  # type: ignore[assignment]


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
    """Give closed standard descriptors /dev/null and Python stand-ins."""
    closed = [fd for fd in (0, 1, 2) if _unusable(fd)]
    for fd in closed:
        new = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor, so `fd` itself if it was not open
        if new != fd:
            os.dup2(new, fd)
            os.close(new)
    if 0 in closed:
        sys.stdin = None  # type: ignore[assignment]  # reading `-` then says stdin is closed
    if 1 in closed:
        sys.stdout = ClosedOutput()
    if 2 in closed and sys.stderr is None:  # (if Python made one, it now writes to /dev/null)
        sys.stderr = open(os.devnull, "w")
