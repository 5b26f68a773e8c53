"""Atomic file replacement: a path holds its old content or the complete new one.

Standard library, `nncli.errors`, `nncli.std_streams` and `nncli.stop_signals` only, shared by the model file and CSV output.
"""

from __future__ import annotations

import os
import secrets
import stat
from typing import IO, Callable

from nncli import stop_signals
from nncli.errors import NncliError, shorten
from nncli.std_streams import descriptor_named


def atomic_write(path: str, write: Callable[[IO[bytes]], None], *,
                 before_commit: Callable[[], None] | None = None) -> None:
    """Call `write(f)` on a temporary file in path's directory, then rename it over `path`.

    The temporary file is flushed and fsynced before the rename (so a crash
    cannot leave a renamed but empty file) and gets the permissions of the file
    it replaces (a private model stays private), or for a new file ordinary ones
    (0666 less the umask). On any failure, a stop signal included (Ctrl-C, SIGTERM,
    SIGHUP: see `nncli.stop_signals`), it is removed and `path` is left as it was.

    A symlink is written through (its target is replaced), but not one another
    user planted in a shared directory (`not_replaceable`), and a file the user
    may not write (mode 444) is not replaced. A path that is not a regular file
    (`/dev/null`, `/dev/stdout`, a FIFO) cannot be replaced by renaming (as root
    that would swap the device for a plain file), so it is written in place.

    `before_commit()`, if given, is called just before the rename (for a device, once
    all is written): from then on the new content is the path's, whatever is raised.
    """
    if is_special(path):
        _write_in_place(path, write)
        if before_commit is not None:
            before_commit()
        return
    refused = not_replaceable(path)
    if refused:
        raise NncliError(f"cannot write {shorten(path)}: {refused}")
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    try:
        old = os.stat(target)
        mode, owner = stat.S_IMODE(old.st_mode) & 0o777, (old.st_uid, old.st_gid)
    except OSError:
        mode, owner = None, None  # a new file
    # The temporary file's name is chosen first and it is created inside the `try` that removes it: a stop
    # that came between mkstemp's making it and that `try` left a `.NAME.xxxx.tmp` behind (a signal mask
    # closed the gap only while no other thread ran: the signal went to one that did not block it).
    # (The name's first 32 characters: the whole of a long one could pass the file system's limit.)
    stem = os.path.join(directory, f".{os.path.basename(target)[:32]}.")
    tmp = ""
    try:
        for _ in range(100):
            tmp = f"{stem}{secrets.token_hex(4)}.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
                break
            except FileExistsError:  # (another's: never removed)
                tmp = ""
        else:
            raise FileExistsError(17, "no unused temporary file name")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        elif owner != (os.geteuid(), os.getegid()):
            _keep_owner(tmp, *owner)
        os.chmod(tmp, mode)  # (after chown, which may clear bits of the mode)
        if before_commit is not None:
            before_commit()
        stop_signals.reraise_if_lost()  # (a stop whose exception an import swallowed: no file, as for any stop)
        os.replace(tmp, target)
    except BaseException as e:
        try:
            if tmp:
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


def _keep_owner(path: str, uid: int, gid: int) -> None:
    """Give the new file the replaced one's owner and group, as far as this user may: root both, others
    a group they belong to (a group-shared model, 660, replaced by one of the group, stays the group's;
    `sudo nncli fit -o` in a user's folder leaves the user's file theirs)."""
    for ids in ((uid, gid), (-1, gid)):
        try:
            os.chown(path, *ids)
            return
        except OSError:
            pass


def not_replaceable(path: str) -> str | None:
    """Why a regular file at `path` may not be replaced, or None.

    - A symlink on the way that the kernel's `protected_symlinks` rule would not follow for opening:
      one in a sticky, world-writable directory (/tmp) owned neither by the user nor by the
      directory's owner. Another user can plant `/tmp/model.npz -> ~/.bashrc`; renaming never
      consults that rule, so it is applied here (to the links of the last name, in a chain too).
    - An existing file the user may not write (mode 444): `>` and `cp` refuse it too.
    - Another user's file in a sticky directory neither of them owns (as /tmp): only its owner may
      rename over it there, though it be writable.
    - A loop of symlinks (or a chain longer than the kernel follows).
    """
    p = os.path.abspath(path)
    for _ in range(40):  # the kernel's limit on symlinks followed
        try:
            st = os.lstat(p)
        except (OSError, ValueError):
            return None  # a new file
        if not stat.S_ISLNK(st.st_mode):
            break
        directory = os.path.dirname(p)
        d = os.stat(directory)
        shared = d.st_mode & stat.S_ISVTX and d.st_mode & stat.S_IWOTH
        if shared and st.st_uid not in (os.geteuid(), d.st_uid):
            link = "it" if p == os.path.abspath(path) else f"the link {shorten(p)} it leads to"
            return (f"{link} is a symlink another user owns in a shared directory (sticky and "
                    "world-writable, as /tmp); refusing to follow it")
        p = os.path.normpath(os.path.join(os.path.realpath(directory), os.readlink(p)))
    else:  # (a link to itself, or a chain opening would refuse: `>` says ELOOP; it was replaced)
        return "too many levels of symbolic links"
    if os.path.exists(p) and not os.access(p, os.W_OK):
        return "the file is write-protected (remove it, or make it writable, to replace it)"
    try:
        st, d = os.stat(p), os.stat(os.path.dirname(p))
    except OSError:
        return None  # a new file
    if d.st_mode & stat.S_ISVTX and os.geteuid() not in (0, st.st_uid, d.st_uid):  # (root may: CAP_FOWNER)
        return ("the file is another user's in a sticky directory (as /tmp), where only its owner may replace "
                "it (write another path)")
    return None


def is_special(path: str) -> bool:
    """Whether `path` is written in place: it exists and is not a regular file (a device, a FIFO),
    or it leads to one of this process's descriptors (`/dev/stdout`, whatever it is).

    Decided by os.stat on the path as given, which follows links the way opening it does:
    `/dev/stdout` leads to the pipe on descriptor 1, while os.path.realpath gives
    `/proc/PID/fd/pipe:[N]`, which names nothing.
    """
    if descriptor_named(path) is not None:
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False  # a new file


def _write_in_place(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write to a device or FIFO directly, or to the descriptor the path names (as the shell opened
    it: `-o /dev/stdout >> log.csv` appends, where opening the path again would truncate the file);
    its OSErrors become NncliErrors."""
    fd = descriptor_named(path)
    try:
        with (os.fdopen(os.dup(fd), "wb") if fd is not None else open(path, "wb")) as f:
            write(f)
    except BrokenPipeError:
        raise  # its reader has gone (`-o /dev/stdout | head -c 10`): as for stdout, `cli.run` stops quietly
    except OSError as e:
        raise NncliError(f"cannot write {shorten(path)}: {e.strerror or e}") from None
