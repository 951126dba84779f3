"""THE concurrency policy: every blocking call leaves the trio loop here, under a named limiter.

Why one policy: the bot's promise is that a slow Steam call, a busy disk or a big SQLite
query never stalls the Discord heartbeat. trio runs everything on one thread; any call that
blocks (the `steam` package, which uses requests; sqlite3; file I/O) freezes every task.
So blocking work goes to a worker thread with `trio.to_thread.run_sync`, and how many such
threads each kind of work may use at once is bounded by a named `trio.CapacityLimiter`.

The same names bound async upstream calls (httpx): `async with limiter("storefront"):`.
Rates (requests per window) are a separate concern: see `familybot_trio.upstream._http`.

Limiters live per trio run (a `RunVar`), so tests that each call `trio.run` never share a
limiter's state. Config may override a number with `configure({"sqlite_read": 2})` before
the first use in a run.

Nothing else in the project calls `trio.to_thread`: use `run_sync` below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, TypeVar

import trio

T = TypeVar("T")

#: name -> max concurrent holders. Why each number:
LIMITS: Final[Mapping[str, int]] = {
    # The `steam` package blocks in requests; Steam's Web API allows ~100k calls/day and
    # a family makes a few hundred per refresh, so 4 concurrent calls keep refreshes fast
    # without tying up threads.
    "steam_webapi": 4,
    # SQLite allows one writer at a time; a second writer thread would just wait on the
    # file lock (busy_timeout) while holding a thread. One writer connection, one thread.
    "sqlite_write": 1,
    # WAL lets readers run beside the writer; 4 covers concurrent commands on 2 cores.
    "sqlite_read": 4,
    # Config, backups, state files: rare and small, 2 is plenty.
    "files": 2,
    # CPU-bound work too big for one loop step (decoding/encoding JSON of hundreds of KB,
    # serialising a batch of records). The GIL makes more than one of these pointless on
    # 2 cores, and keeping one thread free means the loop itself still gets the GIL.
    "cpu": 1,
    # The web dashboard's page work (filtering a page, rendering a template): its own
    # thread, so a page never waits behind "cpu" work of a job, and one at a time keeps a
    # burst of page views from taking the GIL away from the loop.
    "dashboard": 1,
    # One per HTTP upstream host (async concurrency, not threads). The storefront is
    # stingy (~200 requests / 5 min) and bans bursts: 4 in flight.
    "storefront": 4,
    # ITAD batches up to 200 ids per request; 4 in flight is far below its 1000/5 min.
    "itad": 4,
    # Epic and Reddit are polled a few times an hour: 2 each.
    "epic": 2,
    "reddit": 2,
    # Decoding a big gateway frame (inflate + JSON of several MiB) off the loop; one at a
    # time keeps dispatch order and the frames are rare (GUILD_CREATE of a big guild).
    "gateway_decode": 1,
    # Steam's keyless web endpoints used through httpx (sign-in, token renewal).
    "steam_auth": 2,
}

_overrides: dict[str, int] = {}
_run_limiters: trio.lowlevel.RunVar[dict[str, trio.CapacityLimiter]] = trio.lowlevel.RunVar(
    "familybot_limiters"
)


def configure(overrides: Mapping[str, int]) -> None:
    """Override limiter sizes (from config) for runs that have not used them yet.

    Args: overrides: name -> positive int; names must exist in LIMITS.
    Raises: KeyError for an unknown name, ValueError for a non-positive size.
    """
    for name, size in overrides.items():
        if name not in LIMITS:
            raise KeyError(f"unknown limiter {name!r}; known: {', '.join(sorted(LIMITS))}")
        if int(size) < 1:
            raise ValueError(f"limiter {name!r} must be >= 1, got {size!r}")
    _overrides.clear()
    _overrides.update({k: int(v) for k, v in overrides.items()})


def limiter(name: str) -> trio.CapacityLimiter:
    """The named limiter of the current trio run, created on first use.

    Args: name: a key of LIMITS.
    Returns: the run's `trio.CapacityLimiter` for that name.
    Raises: KeyError for an unknown name; RuntimeError outside `trio.run`.
    """
    try:
        table = _run_limiters.get()
    except LookupError:
        table = {}
        _run_limiters.set(table)
    lim = table.get(name)
    if lim is None:
        if name not in LIMITS:
            raise KeyError(f"unknown limiter {name!r}; known: {', '.join(sorted(LIMITS))}")
        lim = table[name] = trio.CapacityLimiter(_overrides.get(name, LIMITS[name]))
    return lim


async def run_sync(
    name: str, fn: Callable[..., T], *args: object, abandon_on_cancel: bool = False
) -> T:
    """Run the blocking callable `fn(*args)` in a worker thread under the named limiter.

    Args: name: a key of LIMITS; fn, args: the sync call. abandon_on_cancel: False (default)
        means a cancelled caller waits for the thread to finish (use for writes: a write that
        started must commit or roll back); True lets the caller leave at once while the thread
        runs on (use for reads whose result nobody needs once cancelled).
    Returns: what fn returns. Raises: what fn raises.
    Cancellation: with abandon_on_cancel=False the call is not interruptible once the thread
        started; the limiter token returns when the thread ends either way.
    """
    return await trio.to_thread.run_sync(
        fn, *args, limiter=limiter(name), abandon_on_cancel=abandon_on_cancel
    )
