"""The catalog: details and prices of many apps in few upstream requests, through a cache.

For N appids and a country, on a cold cache:
- IStoreBrowseService/GetItems, 100 apps per call: name, type, categories AND Steam's
  current price/discount (so no storefront request is needed: the storefront's full
  appdetails is one app per request and its price batch adds requests for data GetItems
  already carries);
- ITAD `lookup/id/shop/61`, 200 apps per call: appid -> ITAD id (cached for long: ids
  don't change), then ITAD `games/prices/v3`, 200 ids per call: Steam low and all-store low.
GetItems runs side by side with the ITAD chain. 300 apps cost 3 + 2 + 2 = 7 requests; a
warm cache costs 0. A failed or partial answer is never written over good cached data.

The cache is a small protocol (`CatalogCache`) so the store's SQLite tables can back it;
`MemoryCache` is the in-process implementation (tests, and a bot without a store).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

import trio

from familybot_trio.errors import UpstreamError
from familybot_trio.upstream._http import side_by_side
from familybot_trio.upstream.itad import Itad
from familybot_trio.upstream.models import AppId, GameDetails, GamePrice, ItadLookup
from familybot_trio.upstream.steam_webapi import SteamWebAPI

log = logging.getLogger("familybot_trio.upstream.catalog")

DETAILS_TTL_S: Final = 7 * 86_400.0  # names/categories change rarely
PRICE_TTL_S: Final = 6 * 3600.0  # sales start and end daily; 6 h keeps "current" honest
LOOKUP_TTL_S: Final = 90 * 86_400.0  # ITAD ids are stable
LOOKUP_MISS_TTL_S: Final = 3 * 86_400.0  # ITAD may learn a new game soon
UNKNOWN_TTL_S: Final = 86_400.0  # apps GetItems does not know (removed / region-locked)


class CatalogCache(Protocol):
    """What the catalog needs from a cache. Values are the records of models.py.

    `namespace` separates kinds and countries ("details:US", "price:US", "itad_lookup",
    "unknown:US" for apps Steam does not know, value True); keys are strings (str(appid)).
    Values are records of models.py (or True); `codec.dumps`/`loads` turn them into text.
    """

    async def get_many(self, namespace: str, keys: Sequence[str]) -> dict[str, Any]:
        """The fresh (not expired) entries among keys; misses are absent."""
        ...

    async def put_many(self, namespace: str, items: Mapping[str, Any], *, ttl_s: float
                       ) -> None:
        """Store entries that expire ttl_s seconds from now."""
        ...


class MemoryCache:
    """A CatalogCache in a dict, expiring on `trio.current_time()` (autojump-testable)."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], tuple[float, Any]] = {}

    async def get_many(self, namespace: str, keys: Sequence[str]) -> dict[str, Any]:
        """See CatalogCache.get_many."""
        now = trio.current_time()
        out = {}
        for k in keys:
            hit = self._data.get((namespace, k))
            if hit is not None and hit[0] > now:
                out[k] = hit[1]
        return out

    async def put_many(self, namespace: str, items: Mapping[str, Any], *, ttl_s: float
                       ) -> None:
        """See CatalogCache.put_many."""
        expires = trio.current_time() + ttl_s
        for k, v in items.items():
            self._data[(namespace, k)] = (expires, v)

    def __len__(self) -> int:
        return len(self._data)


class Catalog:
    """Batched, cached app details and prices.

    Args: steam: SteamWebAPI (GetItems is keyless); itad: Itad client or None (no ITAD key:
        prices carry only Steam's price); cache: a CatalogCache.
    """

    def __init__(self, steam: SteamWebAPI, itad: Itad | None, cache: CatalogCache) -> None:
        self._steam, self._itad, self._cache = steam, itad, cache

    async def details(self, appids: Sequence[AppId], *, country: str
                      ) -> dict[AppId, GameDetails]:
        """Details of many apps (see details_and_prices)."""
        return (await self.details_and_prices(appids, country=country, want_prices=False))[0]

    async def cached_details(self, appids: Sequence[AppId], *, country: str
                             ) -> dict[AppId, GameDetails]:
        """Details of the apps the cache holds fresh, never an upstream request.

        Returns: appid -> GameDetails for cached apps only (the rest are absent).
        Raises: whatever the cache raises (StoreError for the store's).
        """
        keys = [str(a) for a in dict.fromkeys(appids)]
        got = await self._cache.get_many(f"details:{country}", keys)
        return {AppId(int(k)): v for k, v in got.items()}

    async def prices(self, appids: Sequence[AppId], *, country: str) -> dict[AppId, GamePrice]:
        """Prices of many apps (see details_and_prices)."""
        return (await self.details_and_prices(appids, country=country))[1]

    async def details_and_prices(
        self, appids: Sequence[AppId], *, country: str, want_prices: bool = True
    ) -> tuple[dict[AppId, GameDetails], dict[AppId, GamePrice]]:
        """Details and prices of N apps in one country, cache first.

        Args: appids: any number; country: ISO 3166-1 alpha-2 (currency and availability).
        Returns: (appid -> GameDetails, appid -> GamePrice); apps Steam does not know are
            absent from both. Prices lack ITAD fields (None) when ITAD failed; such
            partial prices are returned but not cached.
        Raises: UpstreamError (incl. RateLimited) when GetItems fails for uncached apps.
        Cancellation: safe; nothing is cached from a cancelled call.
        Upstream: IStoreBrowseService/GetItems; ITAD lookup/id/shop/61/v1, games/prices/v3.
        """
        keys = [str(a) for a in dict.fromkeys(appids)]
        dns, pns = f"details:{country}", f"price:{country}"
        details = {AppId(int(k)): v for k, v in (await self._cache.get_many(dns, keys)).items()}
        prices: dict[AppId, GamePrice] = {}
        if want_prices:
            cached = await self._cache.get_many(pns, keys)
            prices = {AppId(int(k)): v for k, v in cached.items()}
        missing = [k for k in keys if AppId(int(k)) not in details
                   or (want_prices and AppId(int(k)) not in prices)]
        # Only apps not fully cached can be "unknown to Steam": skip the read on a warm hit.
        unknown = await self._cache.get_many(f"unknown:{country}", missing) if missing else {}
        ids = [AppId(int(k)) for k in keys if k not in unknown]
        need_items = [a for a in ids
                      if a not in details or (want_prices and a not in prices)]
        need_prices = [a for a in ids if want_prices and a not in prices]
        if not need_items:
            return details, prices

        fresh: dict[AppId, GameDetails] = {}
        lookups: dict[AppId, ItadLookup] = {}
        lows: dict[str, Any] = {}
        itad_ok = self._itad is not None

        async def fetch_items() -> None:
            fresh.update(await self._steam.get_items(need_items, country=country))

        async def fetch_itad() -> None:
            nonlocal itad_ok
            assert self._itad is not None
            try:
                lookups.update(await self._lookups(need_prices))
                ids = [lk.itad_id for lk in lookups.values() if lk.itad_id]
                if ids:
                    lows.update(await self._itad.prices(ids, country=country))
            except UpstreamError as exc:  # prices without lows beat no prices
                itad_ok = False
                log.warning("ITAD failed, prices without lows [count:%d cause:%s]",
                            len(need_prices), exc)

        jobs = [fetch_items]
        if need_prices and self._itad is not None:
            jobs.append(fetch_itad)
        await side_by_side(*jobs)

        new_prices: dict[AppId, GamePrice] = {}
        for appid in need_prices:
            d = fresh.get(appid)
            if d is None:
                continue
            lk = lookups.get(appid)
            itad = lows.get(lk.itad_id) if lk and lk.itad_id else None
            new_prices[appid] = GamePrice(
                appid=appid, country=country, store=d.price,
                itad_id=lk.itad_id if lk else None,
                history_low_cents=itad.history_low_cents if itad else None,
                store_low_cents=itad.store_low_cents if itad else None,
                currency=itad.currency if itad else None,
            )
        details.update(fresh)
        prices.update(new_prices)
        await self._cache.put_many(dns, {str(a): d for a, d in fresh.items()}, ttl_s=DETAILS_TTL_S)
        gone = {str(a): True for a in need_items if a not in fresh}
        if gone and len(gone) < len(need_items):  # all missing looks like an outage: don't
            await self._cache.put_many(f"unknown:{country}", gone, ttl_s=UNKNOWN_TTL_S)
        if itad_ok:
            await self._cache.put_many(pns, {str(a): p for a, p in new_prices.items()},
                                       ttl_s=PRICE_TTL_S)
        return details, prices

    async def _lookups(self, appids: Sequence[AppId]) -> dict[AppId, ItadLookup]:
        """appid -> ITAD id through the cache (hits and misses both cached)."""
        assert self._itad is not None
        keys = [str(a) for a in appids]
        out = {AppId(int(k)): v for k, v in (await self._cache.get_many("itad_lookup", keys)).items()}
        missing = [a for a in appids if a not in out]
        if missing:
            got = await self._itad.lookup_steam_apps(missing)
            out.update(got)
            hits = {str(a): lk for a, lk in got.items() if lk.itad_id}
            misses = {str(a): lk for a, lk in got.items() if not lk.itad_id}
            await self._cache.put_many("itad_lookup", hits, ttl_s=LOOKUP_TTL_S)
            await self._cache.put_many("itad_lookup", misses, ttl_s=LOOKUP_MISS_TTL_S)
        return out

