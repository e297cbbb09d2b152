"""Keep freed memory in the process instead of handing it back to the kernel.

glibc's malloc serves blocks over its mmap threshold (128 KiB, raised as it goes) with fresh mmap
pages and returns them on free. A training step of a small net on a CPU allocates and frees the
same activation-sized blocks (LeNet-5's C1 maps are 2.4 MB at batch 128) every step, so each step
page-faults them in again: 2,000-3,000 minor faults a step, 21-27% of LeNet-5's step time on this
project's 2-core machine. Raising the mmap threshold to its ceiling and disabling the trim keeps
those blocks on malloc's free lists. (jemalloc or tcmalloc via LD_PRELOAD do the same, but need a
package and an environment variable set before Python starts.)
"""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt parameters from glibc's malloc.h
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD_CEILING = 32 * 1024 * 1024  # glibc refuses more on 64-bit (HEAP_MAX_SIZE / 2)


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as above. Returns False (and changes nothing) where libc is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl, macOS: no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD_CEILING),
        (M_TRIM_THRESHOLD, 2**31 - 1),          # never give the top of the heap back
        (M_TOP_PAD, 64 * 1024 * 1024)))         # grow the heap in 64 MB steps, not per block
