"""Storefront, ITAD, Epic and FreeGameFindings clients against the sandbox over sockets."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import httpx
import pytest
import trio
from trio.testing import MockClock

from familybot_trio.errors import NotFound, RateLimited, Unauthorized, UpstreamError
from familybot_trio.sandbox import Fault, Sandbox
from familybot_trio.upstream import Epic, FreeGameFindings, Itad, Storefront
from familybot_trio.upstream.models import AppId
from tests._clocks import thread_aware_autojump
from tests.upstream.conftest import AUTOJUMP_THRESHOLD_S, TEST_POLICY


@pytest.fixture
def io_clock() -> Iterator[MockClock]:
    """Autojump clock safe with sockets (see conftest)."""
    with thread_aware_autojump(AUTOJUMP_THRESHOLD_S) as clock:  # waits for threads
        yield clock


def storefront(sb: Sandbox, http: httpx.AsyncClient) -> Storefront:
    return Storefront(http, sb.urls["storefront"], policy=TEST_POLICY)


async def test_appdetails_full_and_unknown(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    sf = storefront(sandbox, http)
    with trio.fail_after(60):
        valheim = await sf.appdetails(AppId(892970), country="US")
        with pytest.raises(NotFound, match="999999999"):
            await sf.appdetails(AppId(999999999), country="US")
    assert valheim.name == "Valheim" and valheim.source == "appdetails"
    assert valheim.price is not None and valheim.price.currency == "USD"
    assert valheim.price.final_cents == sandbox.family.prices[892970].final_cents


async def test_prices_many_apps_in_one_request(sandbox: Sandbox, http: httpx.AsyncClient
                                               ) -> None:
    fam = sandbox.family
    paid = [a for a, p in fam.prices.items() if not p.is_free][:60]
    free = [AppId(440), AppId(570)]
    with trio.fail_after(60):
        prices = await storefront(sandbox, http).prices(
            [*paid, *free, AppId(999999999)], country="US")
    assert sandbox.counts["storefront.appdetails"] == 1
    for a in paid:
        assert prices[a] is not None and prices[a].final_cents == fam.prices[a].final_cents
    assert prices[AppId(440)] is None and prices[AppId(570)] is None  # "data": []
    assert AppId(999999999) not in prices


async def test_storefront_429_is_retried_after_the_measured_wait(
        sandbox: Sandbox, http: httpx.AsyncClient, io_clock: MockClock) -> None:
    sandbox.fail_next("storefront.appdetails", Fault.RATE_LIMITED)  # body null, no Retry-After
    t0 = trio.current_time()
    with trio.fail_after(400):
        d = await storefront(sandbox, http).appdetails(AppId(413150), country="US")
    waited = trio.current_time() - t0
    assert d.name == "Stardew Valley" and sandbox.counts["storefront.appdetails"] == 2
    assert TEST_POLICY.no_retry_after_s <= waited < TEST_POLICY.no_retry_after_s + 2


async def test_storefront_429_forever_is_rate_limited(
        sandbox: Sandbox, http: httpx.AsyncClient, io_clock: MockClock) -> None:
    sandbox.fail_next("storefront", Fault.RATE_LIMITED, n=10)
    with trio.fail_after(400), pytest.raises(RateLimited) as info:
        await storefront(sandbox, http).prices([AppId(892970)], country="US")
    assert info.value.retry_after_s == TEST_POLICY.no_retry_after_s
    assert sandbox.counts["storefront.appdetails"] == TEST_POLICY.attempts


async def test_itad_lookup_and_prices(sandbox: Sandbox, http: httpx.AsyncClient,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fam = sandbox.family
    appids = [AppId(a) for a in list(fam.library)[:450]]
    itad = Itad(http, sandbox.itad_key, sandbox.urls["itad"], policy=TEST_POLICY)
    with trio.fail_after(60):
        lookups = await itad.lookup_steam_apps(appids)
        ids = [lk.itad_id for lk in lookups.values() if lk.itad_id]
        prices = await itad.prices(ids, country="US")
    assert sandbox.counts["itad.lookup_id_shop"] == 3 and sandbox.counts["itad.prices"] == 3
    assert set(lookups) == set(appids)
    for a, lk in lookups.items():
        assert lk.itad_id == fam.itad_id_of(a)
    some = next(a for a in appids if lookups[a].itad_id and a in fam.history_low_cents)
    assert prices[lookups[some].itad_id].history_low_cents == fam.history_low_cents[some]
    assert sandbox.itad_key not in caplog.text


async def test_itad_prices_are_parsed_off_the_loop(sandbox: Sandbox, http: httpx.AsyncClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """200 games of prices take ~5 ms to parse: that runs in a worker thread, not the loop."""
    from familybot_trio.upstream import itad as itad_module

    loop_thread, threads = threading.current_thread(), []
    real = itad_module.parse_prices

    def recording(body: object) -> object:
        threads.append(threading.current_thread())
        return real(body)

    monkeypatch.setattr(itad_module, "parse_prices", recording)
    fam = sandbox.family
    itad = Itad(http, sandbox.itad_key, sandbox.urls["itad"], policy=TEST_POLICY)
    with trio.fail_after(60):
        ids = [fam.itad_id_of(AppId(a)) for a in list(fam.library)[:300]]
        prices = await itad.prices([i for i in ids if i], country="US")
    assert prices and len(threads) == 2  # 200 + the rest
    assert loop_thread not in threads


async def test_itad_retry_after_is_honoured(sandbox: Sandbox, http: httpx.AsyncClient,
                                            io_clock: MockClock) -> None:
    sandbox.fail_next("itad.prices", Fault.RATE_LIMITED_RETRY_AFTER, retry_after_s=7)
    itad = Itad(http, sandbox.itad_key, sandbox.urls["itad"], policy=TEST_POLICY)
    with trio.fail_after(400):
        lk = await itad.lookup_steam_apps([AppId(892970)])
    t0 = trio.current_time()
    with trio.fail_after(400):
        prices = await itad.prices([lk[AppId(892970)].itad_id], country="US")
    assert len(prices) == 1 and sandbox.counts["itad.prices"] == 2
    assert 7.0 <= trio.current_time() - t0 < 9.0


async def test_itad_bad_key_is_unauthorized(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    itad = Itad(http, "wrong-key-123", sandbox.urls["itad"], policy=TEST_POLICY)
    with trio.fail_after(60), pytest.raises(Unauthorized, match="ITAD_API_KEY") as info:
        await itad.lookup_steam_apps([AppId(892970)])
    assert "wrong-key-123" not in str(info.value) and sandbox.counts["itad.lookup_id_shop"] == 1


@pytest.mark.parametrize("fault", [Fault.MALFORMED_JSON, Fault.HTML])
async def test_malformed_bodies_are_upstream_errors(sandbox: Sandbox, http: httpx.AsyncClient,
                                                    fault: Fault) -> None:
    sandbox.fail_next("epic", fault)
    sandbox.fail_next("storefront", fault)
    with trio.fail_after(60):
        with pytest.raises(UpstreamError, match="epic"):
            await Epic(http, sandbox.urls["epic"], policy=TEST_POLICY).promotions()
        with pytest.raises(UpstreamError, match="storefront"):
            await storefront(sandbox, http).appdetails(AppId(892970), country="US")


async def test_epic_and_reddit_feeds(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    with trio.fail_after(60):
        offers = await Epic(http, sandbox.urls["epic"], policy=TEST_POLICY).promotions()
        fgf = FreeGameFindings(http, sandbox.urls["reddit"], policy=TEST_POLICY)
        rss = await fgf.new_posts_rss()
        listing = await fgf.new_posts_json()
    assert offers and all(o.offer_id and o.namespace for o in offers)
    assert any(o.current or o.upcoming for o in offers)
    assert len(rss) >= 20 and any(p.store == "Steam" for p in rss)
    assert listing and all(p.post_id and p.permalink.startswith("https://www.reddit.com/")
                           for p in listing)
    assert sandbox.counts["reddit.new_rss"] == 1 and sandbox.counts["reddit.new_json"] == 1
