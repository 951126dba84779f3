"""Discord REST rate limiting: per-route buckets, the global limit, long back-offs. No I/O.

The theory, short (discord-api-docs developers/topics/rate-limits.mdx):

* Every response carries `X-RateLimit-Bucket` (an opaque hash shared by routes that share a
  limit), `X-RateLimit-Remaining` and `X-RateLimit-Reset-After` (seconds, fractional). The
  real bucket is *hash + major parameters*: `POST /channels/1/messages` and
  `POST /channels/2/messages` share a hash but are counted apart. Until the first response
  tells us the hash, a route is keyed by method + template + major parameters.
* We never hard-code limits. A bucket whose `remaining` reached 0 waits `reset_after`; a
  bucket we know nothing about lets one request through at a time (each bucket's lock is
  held for the request's whole round trip, so a burst learns the headers from the first
  answer before sending the second). That costs some parallelism inside one bucket and
  buys never guessing.
* The global limit is 50 requests per second per bot, counted here with a sliding window.
  Interaction callbacks and follow-ups are exempt. A global 429 pauses every bucket.
* A 429 may still come (sub-limits, other processes using the token): the caller reports it
  with `Permit.retry_after(scope, seconds)` and the next `acquire` waits it out.
* A Cloudflare ban (an HTML 429, or JSON without `retry_after`) means too many invalid
  requests (401/403/429) from this IP; `ban(seconds)` stops every request for a long time
  and callers raise instead of queueing (`banned_for_s`).

All times are on the trio clock (`trio.current_time()`), so tests run it on the autojump
clock. Logger: `gateway.ratelimits`.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

import trio

from gateway._routes import Route

log = logging.getLogger("gateway.ratelimits")

#: Discord's global limit: 50 requests per second per bot token.
GLOBAL_LIMIT_PER_S: Final = 50
#: Sliding window over which the global limit is counted.
GLOBAL_WINDOW_S: Final = 1.0
#: Buckets kept before idle ones are forgotten. Each interaction token is a major parameter,
#: so every command answered makes a bucket of its own that is never used again.
KEEP_BUCKETS: Final = 256


@dataclass(slots=True)
class Bucket:
    """Mutable state of one bucket (hash + major parameters).

    Attributes: key; limit/remaining (None until a response said); reset_at (trio time, s);
        lock (held by the request in flight).
    """

    key: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: float = 0.0
    lock: trio.Lock = field(default_factory=trio.Lock)

    async def wait_ready(self) -> None:
        """Sleep until a request may go (remaining > 0, or the window reset)."""
        now = trio.current_time()
        if self.remaining == 0 and now < self.reset_at:
            log.debug("bucket exhausted, waiting [bucket:%s wait_s:%.3f]", self.key,
                      self.reset_at - now)
            await trio.sleep_until(self.reset_at)
        if self.remaining == 0 and trio.current_time() >= self.reset_at:
            self.remaining = self.limit  # window passed; next response corrects us
        if self.remaining is not None and self.remaining > 0:
            self.remaining -= 1


class RateLimiter:
    """Buckets, the global window and ban state for one bot token.

    Args: global_per_s: requests per second allowed across all non-exempt routes (50).
    Cancellation: `acquire` may be cancelled while waiting; nothing is consumed then.
    """

    def __init__(self, *, global_per_s: int = GLOBAL_LIMIT_PER_S) -> None:
        self.global_per_s = global_per_s
        self._hashes: dict[str, str] = {}  # route_key -> bucket hash learned from headers
        self._buckets: dict[str, Bucket] = {}
        self._forget_at = KEEP_BUCKETS  # bucket count that triggers forget_idle
        self._global_sends: collections.deque[float] = collections.deque()
        self._global_until = 0.0
        self._banned_until = 0.0
        self.invalid_requests = 0  # 401/403/non-shared 429 seen (Cloudflare counts these)

    def bucket_key(self, route: Route) -> str:
        """The bucket key for a route: learned hash (or method+template) + major params."""
        return f"{self._hashes.get(route.route_key, route.route_key)}:{route.major}"

    def bucket(self, route: Route) -> Bucket:
        """The route's bucket, created on first use."""
        key = self.bucket_key(route)
        found = self._buckets.get(key)
        if found is None:
            if len(self._buckets) >= self._forget_at:
                self.forget_idle()
            found = self._buckets[key] = Bucket(key)
        return found

    def forget_idle(self) -> int:
        """Forget the buckets no request holds or waits for whose window has reset: a new
        bucket for the same key knows as much (the next response tells the limit again).
        Called as buckets accumulate (KEEP_BUCKETS, then twice what stayed), so interaction
        and webhook tokens do not grow the map for the life of the process.
        Returns: how many were forgotten."""
        now = trio.current_time()
        idle = [k for k, b in self._buckets.items() if not b.lock.locked() and b.reset_at <= now]
        for key in idle:
            del self._buckets[key]
        self._forget_at = max(KEEP_BUCKETS, 2 * len(self._buckets))
        return len(idle)

    def banned_for_s(self) -> float:
        """Seconds left of a Cloudflare back-off (0.0 when none)."""
        return max(0.0, self._banned_until - trio.current_time())

    def global_paused_for_s(self) -> float:
        """Seconds left of a global-429 pause (0.0 when none)."""
        return max(0.0, self._global_until - trio.current_time())

    def ban(self, seconds: float) -> None:
        """Stop all requests for `seconds` (after a Cloudflare 429)."""
        self._banned_until = max(self._banned_until, trio.current_time() + seconds)
        log.error("cloudflare ban suspected, all REST calls stop [for_s:%.0f]", seconds)

    def pause_global(self, seconds: float) -> None:
        """Pause every non-exempt request for `seconds` (global 429)."""
        self._global_until = max(self._global_until, trio.current_time() + seconds)
        log.warning("global rate limit hit, pausing all REST calls [for_s:%.3f]", seconds)

    async def _wait_global(self) -> None:
        while True:
            now = trio.current_time()
            if now < self._global_until:
                await trio.sleep_until(self._global_until)
                continue
            window = self._global_sends
            while window and window[0] <= now - GLOBAL_WINDOW_S:
                window.popleft()
            if len(window) < self.global_per_s:
                window.append(now)
                return
            await trio.sleep_until(window[0] + GLOBAL_WINDOW_S)

    @asynccontextmanager
    async def acquire(self, route: Route) -> AsyncIterator[Permit]:
        """Wait until `route` may be called; hold its bucket for the round trip.

        Args: route: the call about to be made.
        Returns: (as context) a Permit; feed it the response headers with `update`.
        Cancellation: safe; a cancelled wait consumes nothing.
        """
        bucket = self.bucket(route)
        async with bucket.lock:
            await bucket.wait_ready()
            if not route.exempt_global:
                await self._wait_global()
            yield Permit(self, route, bucket)


@dataclass(slots=True)
class Permit:
    """One granted request; report what the response said through it."""

    limiter: RateLimiter
    route: Route
    bucket: Bucket

    def update(self, headers: Mapping[str, str]) -> None:
        """Apply `X-RateLimit-*` response headers (case-insensitive mapping) to the bucket."""
        now = trio.current_time()
        bucket_hash = headers.get("x-ratelimit-bucket")
        if bucket_hash and self.limiter._hashes.get(self.route.route_key) != bucket_hash:
            self.limiter._hashes[self.route.route_key] = bucket_hash
            # Move our state to the hash-keyed bucket; later acquires find it there.
            key = self.limiter.bucket_key(self.route)
            target = self.limiter._buckets.setdefault(key, Bucket(key))
            if target is not self.bucket:
                target.limit, target.remaining = self.bucket.limit, self.bucket.remaining
                target.reset_at = self.bucket.reset_at
                self.bucket = target
        try:
            if "x-ratelimit-limit" in headers:
                self.bucket.limit = int(headers["x-ratelimit-limit"])
            if "x-ratelimit-remaining" in headers:
                self.bucket.remaining = int(headers["x-ratelimit-remaining"])
            if "x-ratelimit-reset-after" in headers:
                self.bucket.reset_at = now + float(headers["x-ratelimit-reset-after"])
        except ValueError:
            log.warning("unreadable rate-limit headers ignored [route:%s]", self.route.route_key)

    def retry_after(self, scope: str, seconds: float) -> None:
        """Record a 429: `scope` is "user" (route), "shared" (resource) or "global"."""
        if scope == "global":
            self.limiter.pause_global(seconds)
        else:
            self.bucket.remaining = 0
            self.bucket.reset_at = max(self.bucket.reset_at, trio.current_time() + seconds)
            log.warning("rate limited, bucket waits [route:%s scope:%s for_s:%.3f]",
                        self.route.route_key, scope, seconds)
        if scope != "shared":
            self.limiter.invalid_requests += 1
