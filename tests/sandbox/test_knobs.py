"""Sandbox knobs: injected faults, upstream rate limits, latency, request counters."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import trio
import trio.testing

from familybot_trio.sandbox import Fault, Sandbox
from tests._clocks import thread_aware_autojump


@pytest.fixture
def mock_clock() -> Iterator[trio.testing.MockClock]:
    """pytest-trio's mock_clock, but its autojump (set by each test) waits for worker
    threads: the sandbox and the test's http client do blocking work in them."""
    with thread_aware_autojump(float("inf")) as clock:
        yield clock


def _appdetails(sandbox: Sandbox) -> str:
    return sandbox.urls["storefront"] + "/api/appdetails"


async def test_counters(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        for _ in range(3):
            await http.get(_appdetails(sandbox), params={"appids": 892970})
        await http.get(sandbox.urls["steam_webapi"] + "/IWishlistService/GetWishlist/v1/",
                       params={"steamid": sandbox.family.members[0].steamid})
        await http.get(sandbox.urls["epic"] + "/freeGamesPromotions")
    assert sandbox.counts["storefront.appdetails"] == 3
    assert sandbox.counts["steam_webapi.GetWishlist"] == 1
    assert sandbox.counts["epic.freeGamesPromotions"] == 1
    assert sandbox.total_requests() == 5
    sandbox.reset_counts()
    assert sandbox.total_requests() == 0


@pytest.mark.parametrize(("fault", "status", "retry_after", "ctype"), [
    (Fault.RATE_LIMITED, 429, None, "application/json"),
    (Fault.RATE_LIMITED_RETRY_AFTER, 429, "7", "application/json"),
    (Fault.SERVER_ERROR, 500, None, "text/html"),
    (Fault.BAD_GATEWAY, 502, None, "text/html"),
    (Fault.UNAVAILABLE, 503, None, "text/html"),
    (Fault.UNAUTHORIZED, 401, None, "text/html"),
    (Fault.FORBIDDEN, 403, None, "text/html"),
    (Fault.HTML, 200, None, "text/html"),
    (Fault.MALFORMED_JSON, 200, None, "application/json"),
])
async def test_fail_next_n(sandbox: Sandbox, http: httpx.AsyncClient, fault: Fault, status: int,
                           retry_after: str | None, ctype: str) -> None:
    sandbox.fail_next("storefront", fault, n=2, retry_after_s=7)
    params = {"appids": 892970}
    with trio.fail_after(10):
        bad = [await http.get(_appdetails(sandbox), params=params) for _ in range(2)]
        good = await http.get(_appdetails(sandbox), params=params)
    for r in bad:
        assert r.status_code == status
        assert r.headers.get("retry-after") == retry_after
        assert r.headers["content-type"].startswith(ctype)
    if fault == Fault.MALFORMED_JSON:
        with pytest.raises(ValueError):
            bad[0].json()
    assert good.status_code == 200 and good.json()["892970"]["success"] is True


async def test_fault_targets_one_endpoint(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    sandbox.fail_next("itad.prices", "503")
    root, key = sandbox.urls["itad"], {"key": sandbox.itad_key}
    with trio.fail_after(10):
        other = await http.get(root + "/games/lookup/v1", params=key | {"appid": 892970})
        prices = await http.post(root + "/games/prices/v3", params=key, json=["x"])
    assert other.status_code == 200 and prices.status_code == 503


async def test_hang_times_out_client(sandbox: Sandbox, http: httpx.AsyncClient,
                                     mock_clock: trio.testing.MockClock) -> None:
    mock_clock.autojump_threshold = 0.1  # real seconds idle before virtual time jumps
    sandbox.fail_next("storefront.appdetails", Fault.HANG)
    with trio.fail_after(120):
        with pytest.raises(httpx.ReadTimeout):
            await http.get(_appdetails(sandbox), params={"appids": 892970}, timeout=30)
        ok = await http.get(_appdetails(sandbox), params={"appids": 892970}, timeout=30)
    assert ok.status_code == 200


async def test_latency_on_virtual_clock(sandbox: Sandbox, http: httpx.AsyncClient,
                                        mock_clock: trio.testing.MockClock) -> None:
    mock_clock.autojump_threshold = 0.1
    sandbox.latency_ms = 4000
    sandbox.endpoint_latency_ms["storefront"] = 1000
    with trio.fail_after(120):
        t0 = trio.current_time()
        await http.get(sandbox.urls["epic"] + "/freeGamesPromotions", timeout=60)
        t1 = trio.current_time()
        await http.get(_appdetails(sandbox), params={"appids": 440}, timeout=60)
        t2 = trio.current_time()
    assert 4.0 <= t1 - t0 < 5.0
    assert 5.0 <= t2 - t1 < 6.0


async def test_storefront_rate_limit(sandbox: Sandbox, http: httpx.AsyncClient,
                                     mock_clock: trio.testing.MockClock) -> None:
    """200 requests per 5 minutes; the 201st gets 429, body null, no Retry-After."""
    mock_clock.autojump_threshold = 0.1
    params = {"appids": "440,570", "filters": "price_overview"}
    with trio.fail_after(600):
        for _ in range(200):
            r = await http.get(_appdetails(sandbox), params=params)
            assert r.status_code == 200
        limited = await http.get(_appdetails(sandbox), params=params)
        assert limited.status_code == 429 and limited.content == b"null"
        assert "retry-after" not in limited.headers
        assert not any(h.startswith("x-ratelimit") for h in limited.headers)
        await trio.sleep(301)
        again = await http.get(_appdetails(sandbox), params=params)
    assert again.status_code == 200
    assert sandbox.counts["storefront.appdetails"] == 202


async def test_itad_rate_limit_has_retry_after(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    sandbox.set_rate_limit("itad", 2, 300.0)
    url, params = sandbox.urls["itad"] + "/games/lookup/v1", {"key": sandbox.itad_key,
                                                             "appid": 892970}
    with trio.fail_after(10):
        codes = [(await http.get(url, params=params)) for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert int(codes[2].headers["retry-after"]) >= 1
    assert codes[2].json() == {"status_code": 429, "reason_phrase": "Too Many Requests"}


async def test_family_before_serve_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="serve"):
        Sandbox().family  # noqa: B018


async def test_the_change_log_records_what_each_mutation_changed(sandbox: Sandbox) -> None:
    """The soak's ground truth: the sandbox's own record of library, sale and wishlist changes."""
    member = sandbox.family.members[0].steamid
    sandbox.add_catalog_app(7_700_001, "Logged Wish", price_cents=2999)
    assert 7_700_001 not in sandbox.family.library  # in the catalog only
    sandbox.add_to_wishlist(member, 7_700_001)
    sandbox.start_sale(7_700_001, 50)
    sandbox.end_sale(7_700_001)
    sandbox.remove_from_wishlist(member, 7_700_001)
    sandbox.remove_from_wishlist(member, 7_700_001)  # nothing left to drop: not logged
    sandbox.add_library_app(7_700_001, member)
    sandbox.remove_library_app(7_700_001)
    assert [(c.kind, c.appid, c.discount_pct) for c in sandbox.change_log] == [
        ("wishlist_add", 7_700_001, 0), ("sale_start", 7_700_001, 50),
        ("sale_end", 7_700_001, 0), ("wishlist_remove", 7_700_001, 0),
        ("library_add", 7_700_001, 0), ("library_remove", 7_700_001, 0)]
    assert sandbox.change_log[-2].steamid == member
    with pytest.raises(ValueError, match="already in the sandbox catalog"):
        sandbox.add_catalog_app(7_700_001, "Again")
