"""The Steam storefront (store.steampowered.com/api) through httpx.

Quirks this client absorbs (SOURCES.md, steam_store/):
- full `appdetails` takes one appid per request; several appids work only with
  `filters=price_overview` (else HTTP 400, body `null`);
- an unknown app answers HTTP 200 `{"N": {"success": false}}`;
- in a multi price_overview answer a free game or a non-game has `"data": []` (a list!) and
  a priced one may even have `"price_overview": {}`;
- a 429 has body `null` and no Retry-After: we wait the measured recovery (~16 s, so 20 s);
- `cc` picks the currency; without it the currency follows the caller's IP, so we always
  send it.
The storefront is stingy (~200 requests / 5 min): prefer IStoreBrowseService/GetItems
(`SteamWebAPI.get_items`) for batches and use `appdetails` for one app's full page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

import httpx

from familybot_trio.errors import NotFound
from familybot_trio.upstream._http import RetryPolicy, malformed, request_json
from familybot_trio.upstream._steam_parse import guard
from familybot_trio.upstream.models import AppId, GameDetails, PriceOverview

log = logging.getLogger("familybot_trio.upstream.storefront")

UPSTREAM: Final = "storefront"
PUBLIC_BASE_URL: Final = "https://store.steampowered.com"
PRICES_BATCH: Final = 100  # appids per price_overview request (keeps the URL short)
DEFAULT_POLICY: Final = RetryPolicy(attempts=3, base_s=2.0, no_retry_after_s=20.0,
                                    timeout_s=15.0)
_TYPES: Final = {"game", "dlc", "demo", "mod", "music", "video", "advertising"}


def _price(raw: object) -> PriceOverview | None:
    if not isinstance(raw, dict) or "final" not in raw:
        return None  # absent, or `{}` as seen in the wild
    return PriceOverview(
        final_cents=int(raw["final"]), initial_cents=int(raw.get("initial", raw["final"])),
        discount_pct=int(raw.get("discount_percent", 0)), currency=raw.get("currency"),
        final_formatted=str(raw.get("final_formatted", "")),
    )


@guard("appdetails", UPSTREAM)
def parse_appdetails(appid: AppId, body: Any, country: str) -> GameDetails:
    """`{"<appid>": {"success": true, "data": {...}}}` -> GameDetails (source "appdetails").

    Raises: NotFound (success false), UpstreamError (any other shape).
    """
    if not isinstance(body, dict) or str(appid) not in body:
        raise malformed(UPSTREAM, f"appdetails {appid}", "the app's entry is missing")
    entry = body[str(appid)]
    if not entry.get("success"):
        raise NotFound(f"the Steam store has no app {appid} in country {country} "
                       "(removed, region-locked or a wrong appid)", upstream=UPSTREAM)
    d = entry["data"]
    release = d.get("release_date") or {}
    raw_type = str(d.get("type", "game"))
    return GameDetails(
        appid=AppId(int(d.get("steam_appid", appid))), name=str(d["name"]),
        type=raw_type if raw_type in _TYPES else "other",
        is_free=bool(d.get("is_free", False)),
        category_ids=frozenset(int(c["id"]) for c in d.get("categories", ())),
        price=_price(d.get("price_overview")), country=country, source="appdetails",
        short_description=str(d.get("short_description", "")),
        header_image=str(d.get("header_image", "")),
        developers=tuple(str(x) for x in d.get("developers", ())),
        publishers=tuple(str(x) for x in d.get("publishers", ())),
        release_date=str(release.get("date", "")), coming_soon=bool(release.get("coming_soon")),
    )


@guard("appdetails price_overview", UPSTREAM)
def parse_prices(body: Any) -> dict[AppId, PriceOverview | None]:
    """Multi-appid price_overview body -> appid -> price (None: free / no price).

    Unknown apps (`success: false`) are absent.
    """
    if not isinstance(body, dict):
        raise malformed(UPSTREAM, "appdetails price_overview", f"top level {type(body).__name__}")
    out: dict[AppId, PriceOverview | None] = {}
    for key, entry in body.items():
        if not entry.get("success"):
            continue
        data = entry.get("data")
        out[AppId(int(key))] = _price(data.get("price_overview")) if isinstance(data, dict) else None
    return out


class Storefront:
    """Storefront client. Args: client: shared httpx.AsyncClient; base_url: without /api."""

    def __init__(self, client: httpx.AsyncClient, base_url: str = PUBLIC_BASE_URL, *,
                 policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._policy = policy

    async def appdetails(self, appid: AppId, *, country: str, language: str = "english"
                         ) -> GameDetails:
        """The full store page data of one app.

        Args: country: ISO 3166-1 alpha-2 (sets currency); language: Steam language name.
        Raises: NotFound (unknown app), RateLimited (429 after retries, ~20 s waits),
            UpstreamError (bad body / 5xx / network).
        Upstream: GET /api/appdetails?appids=N&cc=..&l=..
        """
        _, body = await request_json(
            self._client, UPSTREAM, "GET", f"{self._base}/api/appdetails",
            params={"appids": appid, "cc": country, "l": language},
            what=f"appdetails {appid}", policy=self._policy,
        )
        return parse_appdetails(appid, body, country)

    async def prices(self, appids: Sequence[AppId], *, country: str
                     ) -> dict[AppId, PriceOverview | None]:
        """Current prices of many apps, 100 per request (sequential: the store is stingy).

        Returns: appid -> PriceOverview, or None for free / non-game apps; unknown absent.
        Raises: RateLimited, UpstreamError. Upstream: GET /api/appdetails?appids=a,b,..
            &filters=price_overview&cc=..
        """
        unique = list(dict.fromkeys(appids))
        out: dict[AppId, PriceOverview | None] = {}
        for i in range(0, len(unique), PRICES_BATCH):
            chunk = unique[i : i + PRICES_BATCH]
            _, body = await request_json(
                self._client, UPSTREAM, "GET", f"{self._base}/api/appdetails",
                params={"appids": ",".join(str(a) for a in chunk),
                        "filters": "price_overview", "cc": country},
                what=f"price_overview of {len(chunk)} apps", policy=self._policy,
            )
            out.update(parse_prices(body))
        return out
