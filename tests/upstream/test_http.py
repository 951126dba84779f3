"""Shared plumbing: token bucket, retry/backoff honouring Retry-After, error mapping, URLs.

Time logic runs on the autojump clock (virtual seconds); the HTTP side uses
httpx.MockTransport (no sockets), so autojump_threshold 0 is safe here.
"""

from __future__ import annotations

import functools

import httpx
import pytest
import trio
from trio.testing import MockClock

from familybot_trio import blocking
from familybot_trio.errors import NotFound, RateLimited, Unauthorized, UpstreamError
from familybot_trio.upstream._http import (
    RetryPolicy,
    TokenBucket,
    bucket,
    parse_retry_after,
    request_json,
    safe_url,
    side_by_side,
)

POLICY = RetryPolicy(attempts=3, base_s=1.0, max_backoff_s=30.0, jitter_s=1.0,
                     no_retry_after_s=20.0, max_retry_after_s=120.0, timeout_s=10.0)


async def test_bucket_spaces_requests(autojump_clock: MockClock) -> None:
    b = TokenBucket(capacity=2, refill_per_s=1.0)
    t0 = trio.current_time()
    for _ in range(4):
        await b.take()
    assert trio.current_time() - t0 == pytest.approx(2.0)


async def test_storefront_bucket_is_200_per_5_minutes(autojump_clock: MockClock) -> None:
    b = bucket("storefront")
    t0 = trio.current_time()
    for _ in range(40 + 200):  # burst, then 200 more at the documented average
        await b.take()
    assert trio.current_time() - t0 == pytest.approx(300.0, rel=0.01)
    assert bucket("storefront") is b


async def test_cancelled_take_consumes_nothing(autojump_clock: MockClock) -> None:
    b = TokenBucket(capacity=1, refill_per_s=0.1)
    await b.take()
    with trio.move_on_after(1):
        await b.take()  # needs 10 s
    assert b.available == pytest.approx(0.1)


def test_safe_url_hides_secrets() -> None:
    url = "http://h/IFamilyGroupsService/GetSharedLibraryApps/v1/?access_token=eyJSECRET&key=K123&family_groupid=5"
    out = safe_url(url)
    assert "eyJSECRET" not in out and "K123" not in out
    assert "family_groupid=5" in out and "access_token=***" in out


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


class Script:
    """A MockTransport handler answering a list of (status, headers, body) in order."""

    def __init__(self, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.answers = list(answers)
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(trio.current_time())
        status, headers, body = self.answers.pop(0)
        return httpx.Response(status, headers=headers, content=body)


def client(handler: Script) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def get(handler: Script) -> object:
    async with client(handler) as c:
        _, body = await request_json(c, "itad", "GET", "http://itad.test/x?key=SECRETKEY",
                                     what="a test call", policy=POLICY)
        return body


async def test_429_with_retry_after_waits_exactly_that(autojump_clock: MockClock) -> None:
    h = Script((429, {"Retry-After": "7"}, b"null"), (200, {}, b'{"ok": 1}'))
    assert await get(h) == {"ok": 1}
    assert h.times[1] - h.times[0] == pytest.approx(7.0)


async def test_429_without_retry_after_waits_the_measured_recovery(
        autojump_clock: MockClock) -> None:
    h = Script((429, {}, b"null"), (200, {}, b"[]"))
    assert await get(h) == []
    assert h.times[1] - h.times[0] == pytest.approx(20.0)


async def test_5xx_backs_off_exponentially_with_jitter(autojump_clock: MockClock) -> None:
    h = Script((503, {}, b"<html>"), (502, {}, b"<html>"), (200, {}, b"1"))
    assert await get(h) == 1
    first, second = h.times[1] - h.times[0], h.times[2] - h.times[1]
    assert 1.0 <= first <= 2.0 + 1e-6 and 2.0 <= second <= 3.0 + 1e-6


async def test_429_after_all_attempts_is_rate_limited(autojump_clock: MockClock) -> None:
    h = Script(*[(429, {"Retry-After": "3"}, b"null")] * 3)
    with pytest.raises(RateLimited) as info:
        await get(h)
    assert info.value.retry_after_s == 3.0 and len(h.times) == 3
    assert "SECRETKEY" not in str(info.value)


async def test_long_retry_after_is_not_waited(autojump_clock: MockClock) -> None:
    h = Script((429, {"Retry-After": "3600"}, b"null"))
    t0 = trio.current_time()
    with pytest.raises(RateLimited) as info:
        await get(h)
    assert info.value.retry_after_s == 3600 and trio.current_time() == t0
    assert "3600 s" in str(info.value)


@pytest.mark.parametrize(("status", "exc"), [(401, Unauthorized), (403, Unauthorized),
                                             (404, NotFound), (400, UpstreamError)])
async def test_final_statuses_are_not_retried(status: int, exc: type, autojump_clock: MockClock
                                              ) -> None:
    h = Script((status, {}, b'{"status_code": 1}'))
    with pytest.raises(exc) as info:
        await get(h)
    assert info.value.status == status and len(h.times) == 1
    assert "SECRETKEY" not in str(info.value)


async def test_non_json_body_is_upstream_error(autojump_clock: MockClock) -> None:
    h = Script((200, {"content-type": "text/html"}, b"<html>Sorry!</html>"))
    with pytest.raises(UpstreamError, match="not JSON, content-type text/html"):
        await get(h)
    assert len(h.times) == 1


async def test_connection_errors_retry_then_fail(autojump_clock: MockClock) -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as c:
        with pytest.raises(UpstreamError, match="cannot reach itad") as info:
            await request_json(c, "itad", "GET", "http://itad.test/?key=SECRETKEY",
                               what="x", policy=POLICY)
    assert len(calls) == 3 and "SECRETKEY" not in str(info.value)


async def test_hanging_upstream_times_out(autojump_clock: MockClock) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await trio.sleep_forever()

    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as c:
        t0 = trio.current_time()
        with pytest.raises(UpstreamError, match="within 10 s"):
            await request_json(c, "epic", "GET", "http://e.test/", what="x",
                               policy=RetryPolicy(attempts=2, base_s=1, jitter_s=0,
                                                  timeout_s=10))
    assert trio.current_time() - t0 == pytest.approx(21.0)


async def test_requests_hold_the_upstream_limiter(autojump_clock: MockClock) -> None:
    seen = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(blocking.limiter("itad").borrowed_tokens)
        await trio.sleep(1)
        return httpx.Response(200, content=b"{}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as c:
        async with trio.open_nursery() as n:
            for _ in range(10):
                n.start_soon(functools.partial(request_json, c, "itad", "GET",
                                               "http://i.test/", what="x", policy=POLICY))
    # never more in flight than the limiter allows
    assert max(seen) == blocking.LIMITS["itad"]


async def test_side_by_side_unwraps_to_one_upstream_error() -> None:
    async def ok() -> None:
        await trio.sleep(0)

    async def bad() -> None:
        raise NotFound("nope", upstream="itad")

    with pytest.raises(NotFound, match="nope"):
        await side_by_side(ok, bad)


def test_redaction_filter_scrubs_urllib3_request_lines() -> None:
    import logging

    from familybot_trio.upstream._http import RedactQuerySecrets

    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1,
                               '%s "%s %s" %s', ("http://h:1", "GET",
                               "/I/M/v1/?steamid=1&key=K0123&access_token=eyJabc.def", 200),
                               None)
    assert RedactQuerySecrets().filter(record)
    line = record.getMessage()
    assert "K0123" not in line and "eyJabc" not in line and "steamid=1" in line
