"""Catalog: details and prices of many apps in few requests, cache first (sandbox counters)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import trio
from trio.testing import MockClock

from familybot_trio.errors import RateLimited
from familybot_trio.sandbox import Fault, Sandbox
from familybot_trio.upstream import Catalog, Itad, MemoryCache, SteamWebAPI
from familybot_trio.upstream.catalog import PRICE_TTL_S
from familybot_trio.upstream.models import AppId
from tests._clocks import thread_aware_autojump
from tests.upstream.conftest import AUTOJUMP_THRESHOLD_S, TEST_POLICY


@pytest.fixture
def io_clock() -> Iterator[MockClock]:
    """Autojump clock safe with sockets and threads (see conftest)."""
    with thread_aware_autojump(AUTOJUMP_THRESHOLD_S) as clock:  # waits for threads
        yield clock


def catalog(sb: Sandbox, steam_api: SteamWebAPI, http: httpx.AsyncClient,
            cache: MemoryCache) -> Catalog:
    return Catalog(steam_api, Itad(http, sb.itad_key, sb.urls["itad"], policy=TEST_POLICY),
                   cache)


def upstream_requests(sb: Sandbox) -> int:
    return sum(n for k, n in sb.counts.items() if not k.startswith("steam_auth"))


async def test_300_apps_cost_at_most_10_requests_cold_and_0_warm(
        sandbox: Sandbox, steam_api: SteamWebAPI, http: httpx.AsyncClient) -> None:
    fam = sandbox.family
    appids = [AppId(a) for a in list(fam.library)[:300]]
    cat = catalog(sandbox, steam_api, http, MemoryCache())
    sandbox.counts.clear()
    with trio.fail_after(120):
        details, prices = await cat.details_and_prices(appids, country="US")
    cold = upstream_requests(sandbox)
    assert cold <= 10, sandbox.counts
    assert sandbox.counts["steam_webapi.GetItems"] == 3
    assert sandbox.counts["itad.lookup_id_shop"] == 2 and sandbox.counts["itad.prices"] == 2
    assert set(details) == set(appids) and set(prices) == set(appids)
    for a in appids:
        assert details[a].name == fam.apps[a].name
        p, truth = prices[a], fam.prices.get(a)
        if truth is not None and not truth.is_free:
            assert p.store is not None and p.store.final_cents == truth.final_cents
        assert p.itad_id == fam.itad_id_of(a)
        if a in fam.history_low_cents and p.itad_id:
            assert p.history_low_cents == fam.history_low_cents[a]
    with trio.fail_after(60):
        again = await cat.details_and_prices(appids, country="US")
    assert upstream_requests(sandbox) == cold  # warm: 0 requests
    assert again == (details, prices)


async def test_unknown_apps_are_remembered(sandbox: Sandbox, steam_api: SteamWebAPI,
                                           http: httpx.AsyncClient) -> None:
    appids = [AppId(a) for a in list(sandbox.family.library)[:10]] + [AppId(999999999)]
    cat = catalog(sandbox, steam_api, http, MemoryCache())
    with trio.fail_after(60):
        details, _ = await cat.details_and_prices(appids, country="US")
        assert AppId(999999999) not in details and len(details) == 10
        cold = upstream_requests(sandbox)
        await cat.details_and_prices(appids, country="US")
    assert upstream_requests(sandbox) == cold  # the unknown app is not asked for again


async def test_expired_prices_refetch_without_relooking_up_ids(
        sandbox: Sandbox, steam_api: SteamWebAPI, http: httpx.AsyncClient,
        io_clock: MockClock) -> None:
    appids = [AppId(a) for a in list(sandbox.family.library)[:150]]
    cat = catalog(sandbox, steam_api, http, MemoryCache())
    with trio.fail_after(600):
        await cat.details_and_prices(appids, country="US")
    sandbox.counts.clear()
    io_clock.jump(PRICE_TTL_S + 1)  # outside fail_after: its deadline is virtual too
    with trio.fail_after(600):
        await cat.details_and_prices(appids, country="US")
    assert sandbox.counts["itad.lookup_id_shop"] == 0  # ids are cached for months
    assert sandbox.counts["itad.prices"] == 1 and sandbox.counts["steam_webapi.GetItems"] == 2


async def test_itad_failure_gives_prices_without_lows_and_caches_nothing_partial(
        sandbox: Sandbox, steam_api: SteamWebAPI, http: httpx.AsyncClient) -> None:
    appids = [AppId(a) for a in list(sandbox.family.library)[:50]]
    cache = MemoryCache()
    cat = catalog(sandbox, steam_api, http, cache)
    sandbox.fail_next("itad.prices", Fault.FORBIDDEN)
    with trio.fail_after(60):
        details, prices = await cat.details_and_prices(appids, country="US")
    assert len(details) == 50 and all(p.history_low_cents is None for p in prices.values())
    sandbox.counts.clear()
    with trio.fail_after(60):
        _, prices2 = await cat.details_and_prices(appids, country="US")
    assert sandbox.counts["itad.prices"] == 1  # not served from a partial cache entry
    assert any(p.history_low_cents is not None for p in prices2.values())


async def test_getitems_failure_raises_and_keeps_the_cache(
        sandbox: Sandbox, steam_api: SteamWebAPI, http: httpx.AsyncClient,
        io_clock: MockClock) -> None:
    cache = MemoryCache()
    cat = catalog(sandbox, steam_api, http, cache)
    first = [AppId(a) for a in list(sandbox.family.library)[:20]]
    with trio.fail_after(600):
        await cat.details(first, country="US")
        size = len(cache)
        sandbox.fail_next("steam_webapi.GetItems", Fault.RATE_LIMITED_RETRY_AFTER, n=10,
                          retry_after_s=3)
        more = [AppId(a) for a in list(sandbox.family.library)[20:40]]
        with pytest.raises(RateLimited):
            await cat.details([*first, *more], country="US")
        assert len(cache) == size
        assert set(await cat.details(first, country="US")) == set(first)  # still cached
