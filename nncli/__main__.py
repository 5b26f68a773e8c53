"""The `nncli` command and `python -m nncli`: what must happen before anything is imported.

- Ctrl-C or SIGTERM from the first moment exits quietly (130 / 143): handlers are installed
  before the command-line modules (and Typer) load; `nncli.cli.main` replaces them once it can
  report an interruption itself.
- Standard streams the process was started without (`<&-`, `>&-`, `2>&-`) get stand-ins, and
  their descriptors are filled with /dev/null, so that no file opened later (a model being
  written) can take descriptor 1 or 2 and receive printed text.

Standard library only.
"""

import errno
import io
import os
import signal
import sys


class _ClosedOutput(io.TextIOBase):
    """stdout when it was closed: writing data fails (exit 1); a command that writes none succeeds."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _closed_streams() -> None:
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
    for fd in closed:
        new = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor, so normally `fd` itself
        if new != fd:
            os.dup2(new, fd)
            os.close(new)
    if 0 in closed:
        sys.stdin = None  # type: ignore[assignment]  # reading `-` then says stdin is closed
    if 1 in closed:
        sys.stdout = _ClosedOutput()
    if 2 in closed and sys.stderr is None:  # (if Python made one, it now writes to /dev/null)
        sys.stderr = open(os.devnull, "w")


def _early(signum: int, frame: object) -> None:
    try:
        sys.stderr.write("nncli: error: interrupted\n" if signum == signal.SIGINT else "nncli: error: terminated\n")
    except (AttributeError, OSError, ValueError):
        pass
    raise SystemExit(130 if signum == signal.SIGINT else 143)


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored when started (a background job): stays so
            signal.signal(signum, _early)
    _closed_streams()
    from nncli.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
