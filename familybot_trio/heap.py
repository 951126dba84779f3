"""Give the C heap that a job freed back to the operating system (glibc `malloc_trim`).

A job (the library refresh, the wishlist, the deals) parses a few MB of JSON in worker
threads. Python frees those objects afterwards, but glibc keeps the freed pages in its
per-thread arenas, so the bot's resident memory stays at the job's high-water mark: S6
measured 84 MB right after every job had run once, 78 MB after one `malloc_trim(0)`
(bench/README.md). `App` calls `trim()` in a worker thread after each job run.

Other C libraries (musl, macOS) have no `malloc_trim`: `trim()` then does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return None


def trim() -> bool:
    """Release free heap pages at the top of and inside every malloc arena (glibc
    malloc_trim(0), man 3 malloc_trim). Blocking (walks the arenas, ~1-5 ms on an 80 MB
    heap; ctypes drops the GIL meanwhile): call it through
    `blocking.run_sync("cpu", heap.trim)`.

    Returns: True when memory was given back, False when there was none to give or the C
        library has no malloc_trim.
    """
    fn = _malloc_trim()
    return bool(fn(0)) if fn is not None else False


__all__ = ["trim"]
