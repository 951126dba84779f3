"""The gateway send limiter: 120 payloads per connection per 60 s, heartbeats first.

Algorithm: a sliding-window log. We remember when each of the last `limit` sends happened; a
send may go when fewer than its allowance were sent in the last `window_s` seconds, else it
waits until the oldest one leaves the window. Ordinary sends (IDENTIFY, RESUME, presence) may
use `limit - reserve` slots; heartbeats may use all `limit`, so a burst of presence updates
can never delay a heartbeat into a zombie close. A fixed window would allow 240 sends across
a boundary and get the connection closed with 4008; the log cannot.

Discord counts per connection and restarts the count on reconnect, so the shard makes a new
limiter for every connection. Time comes from `trio.current_time()`, so tests run it on the
autojump clock.

Upstream: Discord docs, Gateway > Rate Limiting; twilight-gateway ratelimiter.rs and
hikari's 117 + 3 split use the same idea.
"""

from __future__ import annotations

import math
from collections import deque

import trio

from gateway._protocol import HEARTBEAT_RESERVE, SEND_LIMIT, SEND_WINDOW_S


class SendLimiter:
    """Sliding-window send limiter with slots reserved for heartbeats.

    Args: limit: sends per window (120); window_s: window length in seconds (60);
        reserve: slots only priority (heartbeat) sends may use (3).
    Raises: ValueError when reserve is not below limit.
    """

    __slots__ = ("_limit", "_reserve", "_sent", "_window_s")

    def __init__(self, limit: int = SEND_LIMIT, window_s: float = SEND_WINDOW_S,
                 reserve: int = HEARTBEAT_RESERVE) -> None:
        if not 0 <= reserve < limit:
            raise ValueError(f"reserve must be in [0, limit), got reserve={reserve} limit={limit}")
        self._limit, self._window_s, self._reserve = limit, window_s, reserve
        self._sent: deque[float] = deque()

    def _used(self, now: float) -> int:
        while self._sent and self._sent[0] <= now - self._window_s:
            self._sent.popleft()
        return len(self._sent)

    def available(self, *, priority: bool = False) -> int:
        """Sends allowed right now without waiting (for logs and tests)."""
        allowance = self._limit if priority else self._limit - self._reserve
        return max(0, allowance - self._used(trio.current_time()))

    async def acquire(self, *, priority: bool = False) -> None:
        """Wait until one more send fits in the window, then count it as sent.

        Args: priority: True for heartbeats (may use the reserved slots).
        Cancellation: cancelling while waiting takes no slot.
        """
        allowance = self._limit if priority else self._limit - self._reserve
        while True:
            now = trio.current_time()
            used = self._used(now)
            if used < allowance:
                self._sent.append(now)
                return
            # Wait for the send that must leave the window before we fit.
            await trio.sleep_until(self._sent[used - allowance] + self._window_s)


def heartbeat_reserve(interval_s: float, window_s: float = SEND_WINDOW_S) -> int:
    """Slots to keep for heartbeats at `interval_s`: beats per window, +1 for a server op 1.

    Never below HEARTBEAT_RESERVE (3); at Discord's 41.25 s that is 3, at 5 s it is 13.
    """
    return max(HEARTBEAT_RESERVE, math.ceil(window_s / interval_s) + 1)
