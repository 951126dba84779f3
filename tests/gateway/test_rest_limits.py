"""REST failure scenarios against FakeRest (discord-protocol.md 3.5 #14, REST 502, bucket change).

Times are virtual (MockClock with autojump); assertions compare trio-clock stamps the fake
recorded, never wall-clock durations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
import trio
from trio.testing import MockClock

from gateway._routes import Route
from gateway.errors import CloudflareBanned, RateLimited, ServerError
from gateway.rest import MAX_ATTEMPTS, Rest
from gateway.testing import FakeRest, open_rest
from tests._clocks import thread_aware_autojump


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


@asynccontextmanager
async def serving(**rest_kw: object) -> AsyncIterator[tuple[FakeRest, Rest]]:
    fake = FakeRest()
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        async with open_rest(fake, **rest_kw) as rest:
            yield fake, rest
        nursery.cancel_scope.cancel()


def stamps(fake: FakeRest, match: str) -> list[float]:
    return [q.at for q in fake.requests if match in q.path]


async def test_bucket_headers_are_obeyed_per_major_parameter(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            fake.bucket_limit, fake.bucket_reset_after_s = 2, 1.0
            t0 = trio.current_time()
            async with trio.open_nursery() as n:
                for i in range(6):
                    n.start_soon(lambda i=i: rest.create_message(1, content=f"a{i}"))
                for i in range(2):
                    n.start_soon(lambda i=i: rest.create_message(2, content=f"b{i}"))
    assert fake.rate_limit_violations == 0  # no 429 ever provoked
    assert len(fake.messages(1)) == 6 and len(fake.messages(2)) == 2
    ch1 = stamps(fake, "/channels/1/")
    assert ch1[-1] - t0 >= 2.0  # 6 requests in a 2-per-second bucket: three windows
    assert max(stamps(fake, "/channels/2/")) - t0 < 1.0  # another channel did not wait


async def test_route_429_waits_retry_after_then_succeeds(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            fake.rate_limit_next("POST", "/channels/1/messages", scope="user", retry_after=2.5)
            msg = await rest.create_message(1, content="hello")
    first, second = stamps(fake, "/channels/1/")
    assert second - first >= 2.5
    assert [m.content for m in fake.messages(1)] == ["hello"] and msg["content"] == "hello"
    assert rest.limiter.invalid_requests == 1


async def test_global_429_pauses_every_route(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            fake.rate_limit_next("POST", "/channels/1/messages", scope="global", retry_after=3.0)
            async with trio.open_nursery() as n:
                n.start_soon(lambda: rest.create_message(1, content="first"))
                limited = await fake.wait_for_request("POST", "/channels/1/")
                while rest.limiter.global_paused_for_s() == 0:  # client read the 429
                    await trio.sleep(0.01)  # virtual time (autojump)
                await rest.create_message(2, content="other route")  # must wait the pause out
    (other,) = stamps(fake, "/channels/2/")
    assert other - limited.at >= 3.0
    assert len(stamps(fake, "/channels/1/")) == 2
    assert {m.content for m in fake.messages()} == {"first", "other route"}


async def test_shared_429_waits_but_is_not_an_invalid_request(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            fake.rate_limit_next("POST", "/channels/1/messages", scope="shared", retry_after=1.5)
            await rest.create_message(1, content="x")
    first, second = stamps(fake, "/channels/1/")
    assert second - first >= 1.5
    assert rest.limiter.invalid_requests == 0


async def test_cloudflare_html_429_raises_and_stops_all_calls(clock: MockClock) -> None:
    with trio.fail_after(900):
        async with serving() as (fake, rest):
            fake.cloudflare_next("POST", "/channels/1/messages")
            with pytest.raises(CloudflareBanned) as banned:
                await rest.create_message(1, content="x")
            sent = len(fake.requests)
            with pytest.raises(CloudflareBanned):  # any route: nothing is sent while banned
                await rest.get_gateway_bot()
            assert len(fake.requests) == sent == 1
            await trio.sleep(601)  # virtual: the ban window passes (fail_after is 900)
            await rest.get_gateway_bot()
    assert "Cloudflare" in str(banned.value) and banned.value.status == 429


async def test_429_without_retry_after_is_treated_as_cloudflare(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            fake.fail_next("POST", "/channels/1/messages", 429,
                           body={"message": "You are being blocked", "code": 0})
            with pytest.raises(CloudflareBanned):
                await rest.create_message(1, content="x")
    assert len(fake.requests) == 1  # raised instead of hammering


async def test_long_retry_after_raises_rate_limited(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with serving(max_wait_s=30.0) as (fake, rest):
            fake.rate_limit_next("PUT", "/commands", scope="user", retry_after=3600.0)
            with pytest.raises(RateLimited) as err:
                await rest.bulk_overwrite_commands(5, [])
    assert err.value.retry_after_s == 3600.0 and err.value.scope == "user"
    assert len(fake.requests) == 1


async def test_5xx_is_retried_with_backoff(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            fake.fail_next("POST", "/channels/1/messages", 502, body="<html>Bad Gateway</html>",
                           times=2)
            msg = await rest.create_message(1, content="made it", nonce="n-5xx")
    a, b, c = stamps(fake, "/channels/1/")
    assert b - a >= 0.5 and c - b >= 1.0  # exponential backoff between attempts
    assert msg["content"] == "made it" and len(fake.messages(1)) == 1


async def test_not_idempotent_posts_are_not_retried_on_5xx(clock: MockClock) -> None:
    """A 5xx may come after Discord saved the message: without a nonce, never post twice."""
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            fake.fail_next("POST", "/channels/1/messages", 502, body="<html>Bad Gateway</html>")
            with pytest.raises(ServerError) as plain:
                await rest.create_message(1, content="once")
            fake.add_interaction(5, "tok5", application_id=9, channel_id=1)
            await rest.interaction_callback(5, "tok5", 5)
            fake.fail_next("POST", "/webhooks/9/tok5", 500)
            with pytest.raises(ServerError) as followup:
                await rest.create_followup(9, "tok5", content="once")
    assert "not retried" in str(plain.value) and "not retried" in str(followup.value)
    assert [q.status for q in fake.requests if q.method == "POST"] == [502, 204, 500]


async def test_5xx_gives_up_with_server_error(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            fake.fail_next("GET", "/gateway/bot", 503,
                           body={"code": 0, "message": "Service Unavailable"}, times=99)
            with pytest.raises(ServerError) as err:
                await rest.get_gateway_bot()
    assert err.value.status == 503 and "gave up after" in str(err.value)
    assert len(fake.requests) == MAX_ATTEMPTS


async def test_connection_refused_is_retried_then_server_error(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            dead = Rest(token="t", client=rest._client, base_url="http://127.0.0.1:9/api/v10")
            with pytest.raises(ServerError) as err:
                await dead.get_gateway_bot()
    assert err.value.status == 0 and "connection failed" in str(err.value)


async def test_bucket_hash_learned_from_headers_is_shared_by_major_param(clock: MockClock) -> None:
    route = Route("POST", "/channels/{channel_id}/messages", {"channel_id": 1})
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            fake.bucket_limit = 1
            assert rest.limiter.bucket_key(route).startswith("POST /channels/")
            await rest.create_message(1, content="a")
            t0 = trio.current_time()
            await rest.create_message(1, content="b")
    bucket_hash = rest.limiter.bucket_key(route)  # now keyed on X-RateLimit-Bucket
    assert bucket_hash.endswith(":channel_id=1") and not bucket_hash.startswith("POST")
    assert stamps(fake, "/channels/1/")[-1] - t0 >= 0.9  # remaining 0 -> waited the reset
    assert fake.rate_limit_violations == 0


async def test_interaction_callback_times_out_inside_the_deadline_and_is_not_resent(
        clock: MockClock) -> None:
    with trio.fail_after(120):
        async with serving() as (fake, rest):
            state = fake.add_interaction(6, "tok6", application_id=9, channel_id=1)
            fake.slow_next("POST", "/callback", 10.0)
            t0 = trio.current_time()
            with pytest.raises(ServerError) as err:
                await rest.interaction_callback(6, "tok6", 4, {"content": "hi"})
            took = trio.current_time() - t0
    assert took < 3.0 and "not retried" in str(err.value)  # INTERACTION_TIMEOUT_S, once
    assert state.callback_types == [4]  # it did arrive: a resend would have been 40060
    assert [q.path for q in fake.requests] == ["/interactions/6/tok6/callback"]
