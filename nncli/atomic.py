"""Atomic file replacement: a path holds its old content or the complete new one.

Standard library and `nncli.errors` only, shared by the model file and CSV output.
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import IO, Callable

from nncli.errors import NncliError, shorten


def atomic_write(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Call `write(f)` on a temporary file in path's directory, then rename it over `path`.

    The temporary file is flushed and fsynced before the rename (so a crash
    cannot leave a renamed but empty file) and gets ordinary permissions
    (0666 less the umask). On any failure, KeyboardInterrupt and SIGTERM
    included, it is removed and `path` is left as it was.

    A symlink is written through (its target is replaced). A path that is not a
    regular file (`/dev/null`, `/dev/stdout`, a FIFO) cannot be replaced by
    renaming (as root that would swap the device for a plain file), so it is
    written in place.
    """
    target = os.path.realpath(path)
    try:
        special = not stat.S_ISREG(os.stat(target).st_mode)
    except OSError:
        special = False  # a new file
    if special:
        _write_in_place(path, write)
        return
    directory = os.path.dirname(target)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    except OSError as e:
        raise NncliError(f"cannot write {shorten(path)}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise NncliError(f"cannot write {shorten(path)}: {e.strerror or e}",
                             hint="the previous file at that path, if any, is unchanged") from None
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _write_in_place(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write to a device or FIFO directly; its OSErrors become NncliErrors."""
    try:
        with open(path, "wb") as f:
            write(f)
    except OSError as e:
        raise NncliError(f"cannot write {shorten(path)}: {e.strerror or e}") from None
