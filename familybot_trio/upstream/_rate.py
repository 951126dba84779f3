"""Per-upstream token buckets: each upstream's documented rate, waited out with trio.sleep.

A bucket holds up to `capacity` tokens and refills at the documented average; a request
takes one token. Waiting uses `trio.sleep`, so the loop never blocks and the autojump clock
can test it. Buckets live per trio run (a RunVar), like blocking.py's limiters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import trio


@dataclass(frozen=True, slots=True)
class Rate:
    """A token-bucket rate: `capacity` tokens, refilled at `per_window` tokens / `window_s`."""

    capacity: int
    per_window: int
    window_s: float

    @property
    def refill_per_s(self) -> float:
        """Tokens added per second."""
        return self.per_window / self.window_s


#: upstream name (blocking.LIMITS keys) -> documented rate. Sources: SOURCES.md, "Documented
#: rate limits".
RATES: Final[Mapping[str, Rate]] = {
    # "100,000 calls per day" (steamcommunity.com/dev/apiterms); burst of 200 so a family
    # refresh (a few hundred calls) is not paced, the daily cap still holds on average.
    "steam_webapi": Rate(capacity=200, per_window=100_000, window_s=86_400.0),
    # "200 requests per 5 minutes" (SteamDB); first 429 after ~247 in a burst: keep a burst
    # of 40 well below that and refill at the documented average.
    "storefront": Rate(capacity=40, per_window=200, window_s=300.0),
    # "1000 requests in a 5 minute window" (IsThereAnyDeal/API docs).
    "itad": Rate(capacity=100, per_window=1000, window_s=300.0),
    # No documented limit; consumers poll hourly. Be gentle.
    "epic": Rate(capacity=5, per_window=30, window_s=3600.0),
    # 10 QPM unauthenticated (secondary source); 100 per 10-minute window recorded in headers.
    "reddit": Rate(capacity=5, per_window=10, window_s=60.0),
    "steam_auth": Rate(capacity=5, per_window=60, window_s=3600.0),
}


class TokenBucket:
    """A token bucket that waits with trio.sleep; fair (FIFO) across tasks.

    Args: capacity: burst size in tokens (>= 1); refill_per_s: tokens added per second (> 0).
    Cancellation: a cancelled `take` consumes nothing.
    """

    def __init__(self, capacity: int, refill_per_s: float) -> None:
        if capacity < 1 or refill_per_s <= 0:
            raise ValueError(f"bad bucket: capacity {capacity!r}, refill {refill_per_s!r}/s")
        self.capacity = capacity
        self.refill_per_s = refill_per_s
        self._tokens = float(capacity)
        self._stamp: float | None = None
        self._lock = trio.Lock()

    def _refill(self) -> None:
        now = trio.current_time()
        if self._stamp is not None:
            elapsed = now - self._stamp
            self._tokens = min(self.capacity, self._tokens + elapsed * self.refill_per_s)
        self._stamp = now

    async def take(self, n: int = 1) -> None:
        """Wait until `n` tokens are available, then take them.

        Args: n: tokens (1 per request), at most capacity.
        Raises: ValueError when n > capacity (it could never be served).
        """
        if n > self.capacity:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self.capacity}")
        async with self._lock:  # FIFO: trio.Lock is fair
            self._refill()
            while self._tokens < n:
                await trio.sleep((n - self._tokens) / self.refill_per_s)
                self._refill()
            self._tokens -= n

    @property
    def available(self) -> float:
        """Tokens available now (for the console / tests)."""
        self._refill()
        return self._tokens


_run_buckets: trio.lowlevel.RunVar[dict[str, TokenBucket]] = trio.lowlevel.RunVar(
    "familybot_upstream_buckets"
)


def bucket(name: str) -> TokenBucket:
    """The named upstream's token bucket for the current trio run (created on first use).

    Args: name: a key of RATES. Returns: the run's TokenBucket. Raises: KeyError if unknown.
    """
    try:
        table = _run_buckets.get()
    except LookupError:
        table = {}
        _run_buckets.set(table)
    b = table.get(name)
    if b is None:
        rate = RATES[name]
        b = table[name] = TokenBucket(rate.capacity, rate.refill_per_s)
    return b
