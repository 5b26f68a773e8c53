"""Run nncli as its own process, forked from a server that has already started Python and imported it.

Most of the suite's time went into starting processes: about 750 runs of `python -m nncli`, each
~0.5 s of CPU before reading its first argument (the interpreter, NumPy, Typer, Rich), against
~0.1 s of work. The server pays that once; each run is then a `fork`, and the child does what a
fresh process does from `nncli.__main__.main()` on: its early signal handlers, its stand-ins for
closed streams, its lazy imports, its work, and the interpreter's own exit (flushing and closing the
standard streams, reporting what fails there as a real run would).

What a forked run shares with a fresh one: the environment the server started with, the standard
streams' types (file descriptors 0, 1 and 2 are the caller's pipes, files or devices, dup'ed into
place), its directory, umask and arguments (`sys.argv[0]` as `-m` sets it), and resource limits set
in the child. What it does not: NumPy is imported before the command runs, with BLAS held to one
thread as every command holds it before importing NumPy; and the interpreter's start-up reads the
environment only once, so a run with an environment of its own (`env=`) starts a real process
instead (see `conftest.run_nncli`). `tests/test_robustness.py` checks a sample of runs against real
processes, byte for byte.

Protocol: one SOCK_SEQPACKET message per run, a JSON object with the file descriptors for stdin,
stdout, stderr and a status pipe; the server forks a waiter, the waiter forks the run, writes its
pid and then its exit code (`subprocess`'s convention: -N for signal N) to the status pipe.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


class ForkServer:
    def __init__(self, env: dict[str, str]):
        self.env = dict(env)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = ours
        self._lock = threading.Lock()
        self.proc = subprocess.Popen([sys.executable, __file__, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                                     env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        theirs.close()

    def run(self, args: list[str], *, cwd: str | os.PathLike | None = None, input: bytes | None = b"",
            stdout_to: str | None = None, fsize_limit: int | None = None, timeout: float = 120,
            code: str | None = None) -> subprocess.CompletedProcess:
        """Like subprocess.run(capture_output=True) of `python -m nncli ARGS` (or of `python -c CODE ARGS`):
        stdin a pipe holding `input` (None: this process's stdin), stdout captured unless `stdout_to`
        names a file to open for it, stderr captured."""
        request = {"args": [str(a) for a in args], "cwd": os.path.abspath(cwd or os.getcwd()),
                   "umask": _umask(), "fsize_limit": fsize_limit, "code": code}
        status_r, status_w = os.pipe()
        err_r, err_w = os.pipe()
        if input is None:
            in_r, in_w = os.dup(0), None
        else:
            in_r, in_w = os.pipe()
        if stdout_to:
            out_r, out_w = None, os.open(stdout_to, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        else:
            out_r, out_w = os.pipe()
        try:
            with self._lock:
                socket.send_fds(self._sock, [json.dumps(request).encode()], [in_r, out_w, err_w, status_w])
        except OSError:  # the server has gone: our ends too
            for fd in (in_w, out_r, err_r, status_r):
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            for fd in (in_r, out_w, err_w, status_w):
                os.close(fd)
        return _communicate(args, in_w, input or b"", out_r, err_r, status_r, timeout)

    def close(self) -> None:
        self._sock.close()  # the server reads end-of-file and exits
        self.proc.wait(timeout=30)


def _umask() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return None


def _communicate(args, in_w, data: bytes, out_r, err_r, status_r, timeout: float) -> subprocess.CompletedProcess:
    """Feed stdin, drain stdout and stderr, and read the status, all until each ends (as
    subprocess.Popen.communicate does); past `timeout`, kill the run. Closes the four descriptors."""
    chunks: dict[int, list[bytes]] = {fd: [] for fd in (out_r, err_r, status_r) if fd is not None}
    sel = selectors.DefaultSelector()
    for fd in chunks:
        sel.register(fd, selectors.EVENT_READ)
    view = memoryview(data)
    if in_w is not None:
        os.set_blocking(in_w, False)
        sel.register(in_w, selectors.EVENT_WRITE)
    deadline = time.monotonic() + timeout
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                pid = b"".join(chunks[status_r]).split(b"\n")[0]
                if pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
                raise subprocess.TimeoutExpired(args, timeout)
            for key, _ in sel.select(left):
                fd = key.fd
                if fd == in_w:
                    with contextlib.suppress(BrokenPipeError):
                        view = view[os.write(fd, view[:65536]):] if view else view
                        if view:
                            continue
                    sel.unregister(fd)  # all written, or the run has closed its stdin
                    os.close(fd)
                    continue
                chunk = os.read(fd, 65536)
                if chunk:
                    chunks[fd].append(chunk)
                else:
                    sel.unregister(fd)
                    os.close(fd)
    finally:
        for key in list(sel.get_map().values()):  # what is still open: only after a timeout or an error
            os.close(key.fd)
        sel.close()
    status = b"".join(chunks[status_r]).split(b"\n")
    if len(status) < 3:
        raise RuntimeError(f"the fork server lost the run of {args}")
    return subprocess.CompletedProcess(args, int(status[1]), b"".join(chunks[out_r]) if out_r is not None else None,
                                       b"".join(chunks[err_r]))


# -- the server ---------------------------------------------------------------------------------------
def _serve(fd: int) -> str | None:
    """Returns only in a forked run, set up to start as `python -m nncli ARGS` would: its CODE, if any."""
    from nncli.options import one_blas_thread

    one_blas_thread()  # as every command does before it imports NumPy
    # What every run imports before its work; Rich keeps no state of the process at import (its consoles do).
    for name in ("numpy", "rich.console", "rich.table", "nncli.cli"):
        importlib.import_module(name)
    import nncli.__main__

    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the system reaps the waiters
    while True:
        msg, fds, _, _ = socket.recv_fds(sock, 1 << 20, 4)
        if not msg:
            os._exit(0)
        request = json.loads(msg)
        # What the server has made is kept out of the run's garbage collections, as the gc module's
        # documentation advises a pre-fork server: otherwise the run's exit alone took ~0.15 s, its
        # collections writing to every one of the server's objects and so copying the pages they are in.
        gc.freeze()
        if os.fork() == 0:
            sock.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _wait_or_become(request, fds, nncli.__main__.__file__ if request["code"] is None else "-c")
            return request["code"]
        for f in fds:
            os.close(f)


def _wait_or_become(request: dict, fds: list[int], main_file: str) -> None:
    """In the waiter: fork the run, report its pid and exit code, exit. Returns in the run."""
    stdin, stdout, stderr, status = fds
    pid = os.fork()
    if pid:
        for f in (stdin, stdout, stderr):
            os.close(f)
        os.write(status, f"{pid}\n".encode())
        _, code = os.waitpid(pid, 0)
        os.write(status, f"{os.waitstatus_to_exitcode(code)}\n".encode())
        os._exit(0)
    os.close(status)
    for target, f in enumerate((stdin, stdout, stderr)):
        os.dup2(f, target)
    for f in (stdin, stdout, stderr):
        if f > 2:
            os.close(f)
    os.chdir(request["cwd"])
    if request["umask"] is not None:
        os.umask(request["umask"])
    if request["fsize_limit"] is not None:
        import resource

        n = request["fsize_limit"]
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))
    _fresh_std_streams()
    sys.argv = [main_file, *request["args"]]
    sys.path[0] = os.getcwd()  # as `python -m` sets it


def _fresh_std_streams() -> None:
    """sys.stdin, stdout and stderr made anew over descriptors 0, 1 and 2, as the interpreter makes them
    at start-up (CPython's `create_stdio`): the server's were made over other files, and a stream
    keeps what it learned then (whether it can seek, is a terminal, its buffer's size)."""
    buffered = not sys.stdin.write_through  # False under -u or PYTHONUNBUFFERED, as the server started
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        old = getattr(sys, name)
        write = fd > 0
        buf = io.open(fd, "wb" if write else "rb", buffering=-1 if buffered or not write else 0, closefd=False)
        raw = buf.raw if hasattr(buf, "raw") else buf
        raw.name = f"<{name}>"
        stream = io.TextIOWrapper(buf, old.encoding, old.errors, newline="\n",
                                  line_buffering=buffered and (raw.isatty() or fd == 2), write_through=not buffered)
        stream.mode = "w" if write else "r"
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


if __name__ == "__main__":
    code = _serve(int(sys.argv[1]))  # returns only in a run
    if code is None:
        from nncli.__main__ import main

        main()
    else:
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
