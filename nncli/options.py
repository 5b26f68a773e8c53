"""Checking option values before any work: plain functions that raise `UsageError` (exit 2).

`cli.py` calls them first thing in each command, so that a bad value never costs a long `fit`.
Standard library only (and `nncli.errors`, `nncli.std_streams`, `nncli.atomic`, `nncli.core.limits`):
never typer, rich or numpy.
"""

from __future__ import annotations

import csv
import math
import os
import stat
import tempfile
from typing import Optional

from nncli import std_streams
from nncli.atomic import not_replaceable
from nncli.core.limits import MAX_HIDDEN_LAYERS, MAX_HIDDEN_WIDTH
from nncli.errors import UsageError, composed, shorten


def _whole_number(text: str) -> int | None:
    """The number written in ASCII digits, else None (`str.isdigit` takes '²', which `int` refuses)."""
    return int(text) if text.isascii() and text.isdigit() else None


def env_flag(name: str) -> bool:
    """Whether an on/off environment variable is on: set to anything but nothing, 0, false, no or off
    (`NNCLI_DEBUG=0` turned tracebacks on)."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def set_threads(threads: Optional[int]) -> int:
    """Resolve --threads (or $NNCLI_THREADS) and keep BLAS to one thread; returns the count.

    nncli splits its networks' work over threads itself (`nncli.core.team`): on
    these small matrices that runs faster than BLAS threads, and a waiting
    thread sleeps instead of spinning. Effective only before NumPy is imported
    (as from the command line).
    """
    if threads is None:
        env = os.environ.get("NNCLI_THREADS", "").strip()
        threads = _whole_number(env) if env else 1
        if threads is None or not 1 <= threads <= 256:
            raise UsageError(f"NNCLI_THREADS must be a whole number from 1 to 256, not {shorten(env)}")
    if threads < 1 or threads > 256:
        raise UsageError(f"--threads must be between 1 and 256, not {threads}")
    one_blas_thread()
    return threads


def resolve_threads(threads: Optional[int]) -> tuple[int, str | None]:
    """--threads (None: $NNCLI_THREADS, else 1) resolved before NumPy is imported (`set_threads`), and
    the notice for it, if any (`threads_notice`)."""
    given = threads is not None
    threads = set_threads(threads)
    return threads, threads_notice(threads, given)


def threads_notice(threads: int, given: bool) -> str | None:
    """A notice for a thread count (from --threads if `given`, else $NNCLI_THREADS) beyond the cores this
    process may run on: the threads then take turns, and each step waits for the last of them (99
    threads on 2 cores trained 17 times slower). Said with the command's other notices, once its
    options are checked."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    if threads <= cores:
        return None
    named = f"--threads {threads}" if given else f"NNCLI_THREADS={threads}"
    return (f"{named} is more than the {cores} core{'s' if cores > 1 else ''} this process can run on: the "
            f"threads take turns, which is slower (use {cores} at most)")


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")  # what BLAS libraries read


def one_blas_thread() -> None:
    """Keep BLAS to one thread (see `set_threads`); for the commands that take no --threads, which so
    ignore $NNCLI_THREADS (a bad value there is no reason to refuse `gen-data`)."""
    for var in BLAS_THREADS:
        os.environ[var] = "1"


def split_list(value: Optional[str], option: str) -> tuple[str, ...]:
    """A comma-separated list of names, read as a CSV row: a name holding a comma goes in double
    quotes (`--ignore '"Price, EUR",id'`)."""
    if value is None:
        return ()
    try:
        row = next(csv.reader([value], skipinitialspace=True, strict=True)) or [""]
        items = tuple(composed(s.strip()) for s in row)
    except csv.Error:
        raise UsageError(f"{option} {shorten(value)}: cannot read it as a list of names",
                         hint='names are separated by commas; one that holds a comma or a quote goes in double '
                              'quotes, its quotes doubled') from None
    if not all(items):
        raise UsageError(f"{option} {shorten(value)}: an empty item in the list", hint="items are separated by "
                         "single commas, with none at either end")
    seen: set[str] = set()
    for c in items:
        if c in seen:
            raise UsageError(f"{option} {shorten(value)}: {shorten(c, 40)} is listed twice")
        seen.add(c)
    return items


def parse_hidden(value: str) -> tuple[int, ...]:
    parts = value.split(",")
    if len(parts) > MAX_HIDDEN_LAYERS:
        raise UsageError(f"--hidden: at most {MAX_HIDDEN_LAYERS} hidden layers, not {len(parts):,}")
    sizes = []
    for p in parts:
        size = _whole_number(p.strip())
        if size is None or not 1 <= size <= MAX_HIDDEN_WIDTH:
            raise UsageError(f"--hidden {shorten(value)}: sizes must be whole numbers from 1 to {MAX_HIDDEN_WIDTH}, like 64,64")
        sizes.append(size)
    return tuple(sizes)


def check_range(name: str, value: float, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False,
                lo_name: str | None = None) -> None:
    """Refuse a value outside lo..hi (each bound included unless open), saying which bound it crossed
    (`lo_name`: the option the lower bound comes from, e.g. --lr-min)."""
    if not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, not {_number(value)}")
    if value < lo or lo_open and value == lo:
        bound = f"{lo_name} ({_number(lo)})" if lo_name else _number(lo)
        raise UsageError(f"{name} must be {'more than' if lo_open else 'at least'} {bound}, not {_number(value)}")
    if value > hi or hi_open and value == hi:
        raise UsageError(f"{name} must be {'less than' if hi_open else 'at most'} {_number(hi)}, not {_number(value)}")


def _number(x: float) -> str:
    """A number for a message: whole ones with thousands commas (10,000,000, not 1e+07)."""
    return f"{int(x):,}" if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


def check_seed(seed: int) -> None:
    # Checked here, not with typer.Option(min=0): Typer's wording of that error changes between versions.
    if seed < 0:
        raise UsageError(f"--seed must be 0 or more, not {seed}")


def check_delimiter(delimiter: Optional[str]) -> Optional[str]:
    if delimiter is None:
        return None
    d = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
    if len(d) != 1 or d in '"\r\n' or d.isalnum() or not d.isascii():  # (the readers split bytes)
        raise UsageError(f"--delimiter {shorten(delimiter)}: use one ASCII character that is not a letter, digit "
                         "or quote, such as , ; | or \\t")
    return d


def check_read_once(data: str, val: Optional[str]) -> None:
    """Exit 2 if the data and --val are one stream (stdin, a FIFO, a terminal), which can be read only
    once (a FIFO named twice waited for ever for a second writer). Files, directories and /dev/null
    (which stands in for a closed stdin, see `std_streams`) are left to reading, which says what they are."""
    if val is None:
        return
    if data == val == "-":
        raise UsageError("stdin can be read only once: give --val or the data as a file")
    streams = []
    for path in (data, val):
        try:
            st = os.fstat(0) if path == "-" else os.stat(path)
        except (OSError, ValueError):
            return  # (reading will say what is wrong)
        stream = stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode) or (
            stat.S_ISCHR(st.st_mode) and not os.path.samestat(st, os.stat(os.devnull)))
        streams.append((st.st_dev, st.st_ino) if stream else None)
    if streams[0] is not None and streams[0] == streams[1]:
        data, val = ("stdin" if p == "-" else shorten(p) for p in (data, val))
        raise UsageError(f"{data} and --val {val} are one stream, which can be read only once: "
                         "give --val or the data as a file")


def check_output(output: str, *inputs: Optional[str], option: str = "-o") -> None:
    """Exit 2, before any work, if `output` cannot be written or names an input (or another output);
    `option` names it in that last error (`--plot`).

    A device or FIFO (`/dev/stdout`) is written in place, so needs to be writable itself; but
    `/dev/stdout` with stdout closed is refused (it leads to the /dev/null that took its place).

    Checked early so that a long `fit` does not end in a failed save.
    """
    try:  # os.stat follows links as opening does: /dev/stdout leads to the pipe or terminal on descriptor 1
        mode: int | None = os.stat(output).st_mode
    except (OSError, ValueError):
        mode = None  # a new file
    # ('m.npz/' and 'm.npz/.' name a directory: they were saved as m.npz, over the file of that name)
    if not output or os.path.basename(output) in ("", ".", "..") or (mode is not None and stat.S_ISDIR(mode)):
        raise UsageError(f"cannot write {shorten(output)}: {'a directory' if output else 'an empty path'}, "
                         "not a file path")
    closed = std_streams.closed_stream_named(output)  # `-o /dev/stdout >&-`: it leads to /dev/null now
    if closed:
        raise UsageError(f"cannot write {shorten(output)}: {closed} is closed")
    if std_streams.descriptor_named(output) is not None:  # `/dev/stdout`: written through the open descriptor
        writable = True
    elif mode is not None and stat.S_ISSOCK(mode):  # (opening one fails, once the work is done)
        raise UsageError(f"cannot write {shorten(output)}: a socket, not a file")
    elif mode is not None and not stat.S_ISREG(mode):  # a device or FIFO is written in place
        writable = os.access(output, os.W_OK)
    else:  # a (new) regular file replaced by renaming, through symlinks, in the directory it is in
        refused = not_replaceable(output)
        if refused:
            raise UsageError(f"cannot write {shorten(output)}: {refused}")
        directory = os.path.dirname(os.path.realpath(output))
        writable = os.path.isdir(directory) and os.access(directory, os.W_OK)
        if writable:
            _try_creating_in(directory, output)
    if not writable:
        raise UsageError(f"cannot write {shorten(output)}: no such directory, or no permission")
    for i in inputs:
        if i == "-" and _reads_stdin(output):
            raise UsageError(f"the output {shorten(output)} is the standard input, which the data ('-') is read "
                             "from; refusing to write it")
        if not i or i == "-":
            continue
        if os.path.realpath(i) == os.path.realpath(output) or (
                os.path.exists(i) and os.path.exists(output) and os.path.samefile(i, output)):
            raise UsageError(f"{option} {shorten(output)} is also an input or another output; refusing to overwrite it")


def _reads_stdin(output: str) -> bool:
    """Whether writing `output` would write what standard input reads: `/dev/stdin` (a pipe's writing end:
    reading it would then never end), or the very file or FIFO on descriptor 0 (`< data.csv`)."""
    if std_streams.descriptor_named(output) == 0:
        return True
    try:
        st, st0 = os.stat(output), os.fstat(0)
    except (OSError, ValueError):
        return False
    return (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)) and os.path.samestat(st, st0)


def _try_creating_in(directory: str, output: str) -> None:
    """Exit 2 unless a file can be made and removed in `directory`, as saving does (a temporary file,
    renamed): `os.access` says yes to root everywhere, /proc and /sys included, where the save after
    a long `fit` would then fail. The file's name is as long as the output's: a name longer than the
    file system takes fails here too."""
    prefix = ".nncli-check-"
    prefix += "x" * (len(os.fsencode(os.path.basename(output))) - len(prefix) - 8)  # (mkstemp adds 8 characters)
    try:
        fd, path = tempfile.mkstemp(prefix=prefix, dir=directory)
    except OSError as e:
        raise UsageError(f"cannot write {shorten(output)}: {e.strerror or e}") from None
    os.close(fd)
    try:
        os.unlink(path)
    except OSError as e:  # an append-only directory (chattr +a): no rename could replace a file there either
        raise UsageError(f"cannot write {shorten(output)}: {e.strerror or e} (removing a file in its directory; "
                         f"{shorten(os.path.basename(path))} is left there)") from None


def check_plot(plot: str, *inputs: Optional[str]) -> None:
    """--plot FILE (a file must not be an input), or '-' for stdout (see `check_stdout`)."""
    if plot != "-":
        check_output(plot, *inputs, option="--plot")


def check_stdout(outputs: dict[str, Optional[str]], *inputs: Optional[str]) -> None:
    """Exit 2, before any work, if two outputs land on stdout, or stdout is an input file.

    `outputs` maps each output, as messages name it ("--plot -"), to its path ('-' for stdout,
    None if not asked for); one that cannot be a file ("--json") comes last.
    A path that leads to the file, FIFO or device on descriptor 1 (`-o /dev/stdout`) is stdout
    too. Stdout is an input when the shell points it at one: `nncli predict m.npz d.csv >> d.csv`
    would read its own output (cat refuses that too); `< d.csv >> d.csv` likewise.
    """
    on_stdout = [name for name, path in outputs.items() if path is not None and _is_stdout(path)]
    if len(on_stdout) > 1:
        first = next(path for name, path in outputs.items() if name == on_stdout[0])
        if first != "-" and std_streams.descriptor_named(first) is None:  # (`-o m.npz --json > m.npz`)
            raise UsageError(f"stdout is {shorten(first)}, the file {on_stdout[0].split()[0]} writes, and "
                             f"{on_stdout[1]} writes stdout too; redirect stdout to another file")
        raise UsageError(f"{on_stdout[0]} and {on_stdout[1]} both write to stdout; give the first a file name")
    if not on_stdout:
        return
    try:
        out = os.fstat(1)
    except OSError:
        return  # (a closed stdout: writing says so)
    if not stat.S_ISREG(out.st_mode):
        return
    for i in inputs:
        if not i:
            continue
        try:
            st = os.fstat(0) if i == "-" else os.stat(i)
        except (OSError, ValueError):
            continue  # (reading will say what is wrong)
        if os.path.samestat(st, out):
            name = "the standard input" if i == "-" else shorten(i)
            raise UsageError(f"stdout is {name}, which is read as an input; refusing to write "
                             f"{on_stdout[0]} into it (redirect stdout to another file)")


def named(option: str, path: Optional[str]) -> str:
    """An option with its path, as messages show it: `--plot -`, `--output 'a b.npz'`."""
    return f"{option} -" if path in ("-", None) else f"{option} {shorten(path)}"


def _is_stdout(path: str) -> bool:
    """Whether writing `path` writes what is on descriptor 1: '-', `/dev/stdout` and the like, or the
    very file, FIFO or terminal stdout is (not /dev/null, where anything may go)."""
    if path == "-" or std_streams.descriptor_named(path) == 1:
        return True
    try:
        st, out = os.stat(path), os.fstat(1)
    except (OSError, ValueError):
        return False
    return os.path.samestat(st, out) and not os.path.samestat(st, os.stat(os.devnull))


def same_file(a: str, b: str) -> bool:
    """Whether two paths (neither stdin) name one file."""
    try:
        return a != "-" and b != "-" and os.path.samefile(a, b)
    except (OSError, ValueError):
        return False
