"""Keeping freed memory for reuse: glibc's malloc tuned for many short-lived NumPy arrays.

May import the standard library only.

NumPy allocates a fresh buffer for every temporary array. glibc's malloc
serves buffers of 128 KiB and more with mmap and returns them to the kernel
when they are freed (and trims the top of its heap beyond 128 KiB), so the next
temporary of that size page-faults through freshly zeroed pages. The block-wise
CSV parser (`csv_numbers`) makes a few dozen such temporaries per 128 KB piece;
the page faults were 45% of `read_table`'s time (100,000 x 51 numbers: 0.77 ->
0.42 CPU s). Raising the two thresholds keeps freed memory in the process for
reuse: the peak is unchanged, the process just does not shrink before it
exits. This is mallopt(3), the same as setting MALLOC_MMAP_THRESHOLD_ and
MALLOC_TRIM_THRESHOLD_ in the environment; elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_done = False


def keep_freed_memory(mmap_threshold: int = 16 << 20, trim_threshold: int = 64 << 20) -> bool:
    """Tune glibc's malloc once per process; True if it was (or had been) done."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        import ctypes

        libc = ctypes.CDLL(None)
        _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
                     and libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    except (ValueError, OSError, AttributeError):
        return False
    return _done


def release_free_memory() -> None:
    """Hand the heap's free memory back to the kernel now (malloc_trim), after a phase that freed a
    lot that later phases will not reuse (pyarrow's parsing). Elsewhere than glibc it does nothing."""
    if not _done:
        return
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
