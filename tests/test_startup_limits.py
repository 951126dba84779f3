"""Start-up: a 429 (or Cloudflare's HTML 429, or 5xx) on GET /gateway/bot is waited out with a
log line saying until when; a refused token still raises."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import pytest
import trio
import trio.testing

from familybot_trio._startup import wait_for_gateway_bot
from gateway.errors import HTTPError
from gateway.testing import FakeDiscord, open_rest
from tests._clocks import thread_aware_autojump

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def now() -> dt.datetime:
    return T0 + dt.timedelta(seconds=trio.current_time())


@pytest.fixture
def clock() -> Iterator[trio.testing.MockClock]:
    """Loopback sockets: jump only when idle, and never while a worker thread runs (the REST
    client is built in one: httpx loads its CA bundle)."""
    with thread_aware_autojump(0.01) as clock:
        yield clock


async def test_a_long_429_on_gateway_bot_is_waited_out(clock, nursery,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    fake = await nursery.start(FakeDiscord().serve)
    fake.rest.rate_limit_next("GET", "/gateway/bot", scope="global", retry_after=3600.0)
    fake.fail_next("GET", "/gateway/bot", 503, times=8)  # then an outage: 4 tries x 2 passes
    caplog.set_level(logging.WARNING, "familybot_trio.app")
    async with open_rest(fake) as rest:
        with trio.fail_after(4 * 3600):
            info = await wait_for_gateway_bot(rest, now=now)
    assert info["url"].startswith("ws://")
    assert trio.current_time() >= 3600
    lines = [r.getMessage() for r in caplog.records]
    assert any("rate limited" in ln and "waiting until 2026-03-01 13:00" in ln for ln in lines)
    assert any("not answering" in ln for ln in lines)


async def test_cloudflare_pause_then_start(clock, nursery) -> None:
    fake = await nursery.start(FakeDiscord().serve)
    fake.rest.cloudflare_next("GET", "/gateway/bot")
    async with open_rest(fake) as rest:
        with trio.fail_after(3600):
            info = await wait_for_gateway_bot(rest, now=now)
    assert info["shards"] == 1 and trio.current_time() >= 600


async def test_a_refused_token_still_raises(nursery) -> None:
    fake = await nursery.start(FakeDiscord().serve)
    fake.fail_next("GET", "/gateway/bot", 401, body={"code": 0, "message": "401: Unauthorized"})
    async with open_rest(fake) as rest:
        with trio.fail_after(30), pytest.raises(HTTPError) as info:
            await wait_for_gateway_bot(rest, now=now)
    assert info.value.status == 401
