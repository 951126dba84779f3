"""RateLimiter logic on the autojump clock: no I/O, virtual seconds only."""

from __future__ import annotations

import pytest
import trio
from trio.testing import MockClock

from gateway._buckets import KEEP_BUCKETS, RateLimiter
from gateway._routes import Route


def msg_route(channel_id: int) -> Route:
    return Route("POST", "/channels/{channel_id}/messages", {"channel_id": channel_id})


async def test_global_window_spaces_requests(autojump_clock: MockClock) -> None:
    limiter = RateLimiter(global_per_s=50)
    t0 = trio.current_time()
    for i in range(120):  # distinct channels: only the global limit applies
        async with limiter.acquire(msg_route(i)):
            pass
    # 120 requests at 50 per sliding second: the 101st waits for the window of the 51st.
    assert trio.current_time() - t0 == pytest.approx(2.0)


async def test_interaction_routes_skip_the_global_limit(autojump_clock: MockClock) -> None:
    limiter = RateLimiter(global_per_s=2)
    t0 = trio.current_time()
    for i in range(10):
        route = Route("POST", "/interactions/{interaction_id}/{webhook_token}/callback",
                      {"interaction_id": i, "webhook_token": f"t{i}"}, exempt_global=True)
        async with limiter.acquire(route):
            pass
    assert trio.current_time() == t0


async def test_exhausted_bucket_waits_reset_after(autojump_clock: MockClock) -> None:
    limiter = RateLimiter()
    t0 = trio.current_time()
    async with limiter.acquire(msg_route(1)) as permit:
        permit.update({"x-ratelimit-bucket": "abc", "x-ratelimit-limit": "1",
                       "x-ratelimit-remaining": "0", "x-ratelimit-reset-after": "1.25"})
    async with limiter.acquire(msg_route(2)):  # same hash, other major parameter: no wait
        assert trio.current_time() == t0
    async with limiter.acquire(msg_route(1)):
        assert trio.current_time() - t0 == pytest.approx(1.25)
    assert limiter.bucket_key(msg_route(1)) == "abc:channel_id=1"


async def test_route_and_global_429(autojump_clock: MockClock) -> None:
    limiter = RateLimiter()
    t0 = trio.current_time()
    async with limiter.acquire(msg_route(1)) as permit:
        permit.retry_after("user", 2.0)
    async with limiter.acquire(msg_route(1)):
        assert trio.current_time() - t0 == pytest.approx(2.0)
    async with limiter.acquire(msg_route(1)) as permit:
        permit.retry_after("global", 3.0)
    async with limiter.acquire(msg_route(99)):  # another bucket waits the global pause too
        assert trio.current_time() - t0 == pytest.approx(5.0)
    assert limiter.invalid_requests == 2


async def test_shared_429_not_counted_invalid(autojump_clock: MockClock) -> None:
    limiter = RateLimiter()
    async with limiter.acquire(msg_route(1)) as permit:
        permit.retry_after("shared", 1.0)
    assert limiter.invalid_requests == 0


async def test_one_request_in_flight_per_bucket(autojump_clock: MockClock) -> None:
    limiter = RateLimiter()
    inside, peak = 0, 0

    async def call() -> None:
        nonlocal inside, peak
        async with limiter.acquire(msg_route(1)):
            inside += 1
            peak = max(peak, inside)
            await trio.sleep(0.1)  # the round trip
            inside -= 1

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(call)
    assert peak == 1


async def test_cancelled_wait_consumes_nothing(autojump_clock: MockClock) -> None:
    limiter = RateLimiter()
    async with limiter.acquire(msg_route(1)) as permit:
        permit.update({"x-ratelimit-limit": "1", "x-ratelimit-remaining": "0",
                       "x-ratelimit-reset-after": "10"})
    with trio.move_on_after(1):
        async with limiter.acquire(msg_route(1)):
            pytest.fail("must still be waiting")
    t0 = trio.current_time()
    async with limiter.acquire(msg_route(1)):
        assert trio.current_time() - t0 == pytest.approx(9.0)


def test_webhook_token_never_in_bucket_key() -> None:
    route = Route("POST", "/webhooks/{webhook_id}/{webhook_token}",
                  {"webhook_id": 5, "webhook_token": "secret-token"})
    assert "secret-token" not in route.major and "webhook_id=5" in route.major
    assert "secret-token" not in route.route_key


async def test_bucket_hash_change_mid_run_remaps_the_route(autojump_clock: MockClock) -> None:
    limiter = RateLimiter()
    async with limiter.acquire(msg_route(1)) as permit:
        permit.update({"x-ratelimit-bucket": "old", "x-ratelimit-limit": "5",
                       "x-ratelimit-remaining": "4", "x-ratelimit-reset-after": "1"})
    assert limiter.bucket_key(msg_route(1)) == "old:channel_id=1"
    async with limiter.acquire(msg_route(1)) as permit:
        permit.update({"x-ratelimit-bucket": "new", "x-ratelimit-limit": "1",
                       "x-ratelimit-remaining": "0", "x-ratelimit-reset-after": "2"})
    assert limiter.bucket_key(msg_route(1)) == "new:channel_id=1"
    t0 = trio.current_time()
    async with limiter.acquire(msg_route(1)):  # the new bucket's state applies
        assert trio.current_time() - t0 == pytest.approx(2.0)


def _interaction_route(i: int) -> Route:
    return Route("POST", "/webhooks/{webhook_id}/{webhook_token}",
                 {"webhook_id": 1, "webhook_token": f"token-{i}"}, exempt_global=True)


async def test_one_bucket_per_interaction_token_does_not_pile_up(autojump_clock) -> None:
    # Every interaction token is a major parameter: a bucket per command answered. A bot
    # that answers commands for months must not keep them all.
    limiter = RateLimiter()
    exhausted = msg_route(7)  # a bucket still waiting out its window keeps its state
    async with limiter.acquire(exhausted) as permit:
        permit.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset-after": "3600"})
    held = trio.Event()
    release = trio.Event()

    async def hold() -> None:  # a request in flight keeps its bucket
        async with limiter.acquire(msg_route(8)):
            held.set()
            await release.wait()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(hold)
        await held.wait()
        in_flight = limiter.bucket(msg_route(8))
        for i in range(3000):
            async with limiter.acquire(_interaction_route(i)) as permit:
                permit.update({"x-ratelimit-remaining": "4", "x-ratelimit-reset-after": "1"})
            if i % 100 == 0:
                await trio.sleep(2)  # the windows of the earlier ones reset
        assert len(limiter._buckets) <= 2 * KEEP_BUCKETS
        assert limiter.bucket(msg_route(8)) is in_flight
        assert limiter.bucket(exhausted).remaining == 0
        release.set()
