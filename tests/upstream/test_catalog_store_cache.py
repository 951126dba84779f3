"""The catalog over the bot's real cache (SQLite through StoreCatalogCache), sandbox counters.

Issue 2 acceptance: details and prices of 300 apps cost at most 10 upstream requests on a
cold cache and 0 on a warm one, with the cache the running bot uses, surviving a restart.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from familybot_trio.app import StoreCatalogCache, utcnow
from familybot_trio.sandbox import Sandbox
from familybot_trio.store import Store
from familybot_trio.upstream import Catalog, Itad, SteamWebAPI
from familybot_trio.upstream.models import AppId
from tests.upstream.conftest import TEST_POLICY


async def test_300_apps_through_the_sqlite_cache_cold_then_warm_after_reopen(
        sandbox: Sandbox, steam_api: SteamWebAPI, http: httpx.AsyncClient,
        tmp_path: Path) -> None:
    appids = [AppId(a) for a in list(sandbox.family.library)[:300]]
    itad = Itad(http, sandbox.itad_key, sandbox.urls["itad"], policy=TEST_POLICY)
    db = tmp_path / "bot.sqlite3"
    sandbox.counts.clear()
    with trio.fail_after(120):
        async with Store.open_ctx(db) as store:
            cat = Catalog(steam_api, itad, StoreCatalogCache(store, utcnow))
            details, prices = await cat.details_and_prices(appids, country="US")
        cold = sandbox.total_requests()
        assert cold <= 10, sandbox.counts
        assert len(details) == 300 and len(prices) == 300
        for a in appids[:50]:
            assert details[a].name == sandbox.family.apps[a].name
            assert prices[a].itad_id == sandbox.family.itad_id_of(a)

        async with Store.open_ctx(db) as store:  # a restarted bot keeps its cache
            cat = Catalog(steam_api, itad, StoreCatalogCache(store, utcnow))
            again = await cat.details_and_prices(appids, country="US")
    assert sandbox.total_requests() == cold, sandbox.counts  # warm: 0 requests
    assert again == (details, prices)
