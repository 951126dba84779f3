"""Autojump clocks for the suite that never jump while a worker thread runs.

trio's MockClock autojumps to the next deadline once every task has waited
`autojump_threshold` real seconds, and a task waiting on a worker thread counts as waiting.
Where a test's tasks wait on threads (SQLite through the store, the sandbox building a big
answer, the steam package, httpx's CA bundle, zlib of a big gateway frame), a slow thread
lets simulated time leap to a timeout the real bot would never reach: a load-dependent
failure (tests/features/test_outbox_faults.py had one). `bench.soak`'s ThreadAwareClock
counts the threads started through `trio.to_thread.run_sync` (the project's only way to
start them) and does not jump while any runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import trio.testing

from bench.soak._clock import ThreadAwareClock, counting_threads


@contextlib.contextmanager
def thread_aware_autojump(threshold: float = 0.0, **kw: float) -> Iterator[trio.testing.MockClock]:
    """`with thread_aware_autojump(0.05) as clock:` a MockClock(autojump_threshold=threshold,
    **kw) that waits for worker threads before each jump; yield it from a `clock` fixture
    (pytest-trio runs the test on any fixture value that is a trio Clock)."""
    clock = ThreadAwareClock(autojump_threshold=threshold, **kw)
    with counting_threads(clock):
        yield clock
