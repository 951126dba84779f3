"""How the gateway leaves the event loop for blocking work, without knowing any app's policy.

The gateway has two pieces of blocking work: decoding a multi-MiB frame (inflate + JSON) in
`Shard`, and building an `httpx.AsyncClient` (it reads the CA bundle) in `open_client`;
FakeDiscord has a third (deflating big frames). Each takes a `run_sync` callable from its
caller, `await run_sync(fn, *args) -> fn(*args)`, so an application with one concurrency
policy passes its own (familybot_trio passes `functools.partial(blocking.run_sync, NAME)`)
and the gateway never imports the application. Used alone, the gateway falls back to
`default_run_sync`: `trio.to_thread.run_sync` under a small limiter of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import trio

T = TypeVar("T")

#: `await run_sync(fn, *args)` runs the blocking `fn(*args)` off the loop and returns its value.
RunSync = Callable[..., Awaitable[Any]]

#: Threads the gateway uses at once when no run_sync is given: frames are decoded one at a
#: time per shard anyway, and a client is built once per process.
DEFAULT_THREADS: Final = 2

_limiter: trio.lowlevel.RunVar[trio.CapacityLimiter] = trio.lowlevel.RunVar("gateway_threads")


async def default_run_sync(fn: Callable[..., T], *args: object) -> T:
    """Run `fn(*args)` in a worker thread under the gateway's own limiter (DEFAULT_THREADS).

    Returns: what fn returns. Raises: what fn raises.
    Cancellation: not abandoned; a cancelled caller waits for the thread to finish.
    """
    try:
        limiter = _limiter.get()
    except LookupError:  # one limiter per trio run, like trio's own default limiter
        limiter = trio.CapacityLimiter(DEFAULT_THREADS)
        _limiter.set(limiter)
    return await trio.to_thread.run_sync(fn, *args, limiter=limiter)
