"""A MockClock whose autojump waits for worker threads: simulated time never moves while a
store call or a `steam` request is still running in a thread.

trio's autojump jumps to the next deadline once every task has waited `autojump_threshold`
real seconds. A task waiting on a worker thread counts as waiting, so a 5 ms SQLite write
or the sandbox building a big JSON answer could let a 20 s timeout fire in simulated time:
a fault the real bot never sees. Threads are counted by wrapping `trio.to_thread.run_sync`
(the only way the project starts them: familybot_trio.blocking and gateway._threads).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import trio
import trio.testing


def ThreadAwareClock(**kw: Any) -> trio.testing.MockClock:  # noqa: N802 (a class to callers)
    """A MockClock(**kw) that does not autojump while its `threads` counter is above 0.

    MockClock is final, so the instance gets its own `_autojump` (the hook trio's run loop
    calls once every task has waited autojump_threshold) wrapping the class's.
    """
    clock = trio.testing.MockClock(**kw)
    clock.threads = 0  # type: ignore[attr-defined]
    jump = clock._autojump

    def _autojump() -> None:
        if clock.threads == 0:  # type: ignore[attr-defined]
            jump()

    clock._autojump = _autojump  # type: ignore[method-assign]
    return clock


@contextlib.contextmanager
def counting_threads(clock: Any) -> Iterator[None]:
    """Count worker threads in `clock.threads` while the block runs (patches trio.to_thread)."""
    original = trio.to_thread.run_sync

    async def counted(*args: Any, **kw: Any) -> Any:
        clock.threads += 1
        try:
            return await original(*args, **kw)
        finally:
            clock.threads -= 1

    trio.to_thread.run_sync = counted  # type: ignore[assignment]
    try:
        yield
    finally:
        trio.to_thread.run_sync = original  # type: ignore[assignment]
