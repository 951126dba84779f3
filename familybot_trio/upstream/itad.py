"""IsThereAnyDeal API v2 through httpx: Steam appid -> ITAD id, prices and lows.

All batch endpoints take 1-200 ITAD ids ("gids-200", IsThereAnyDeal/API docs), the rate
limit is 1000 requests / 5 min, and a 429 carries Retry-After. The key travels in the
`ITAD-API-Key` header, never in the URL (the reference bot put it in `?key=`, P29).
Shop 61 is Steam: `lookup/id/shop/61` maps "app/<appid>" to a game id, and `prices/v3`
with `shops=61` returns Steam's current deal plus its Steam-only low (`storeLow`) next to
the all-store `historyLow`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any, Final

import httpx

from familybot_trio import blocking
from familybot_trio.upstream._http import (
    RetryPolicy,
    install_urllib3_redaction,
    malformed,
    request_json,
    side_by_side,
)
from familybot_trio.upstream._steam_parse import guard
from familybot_trio.upstream.models import AppId, ItadId, ItadLookup, ItadPrice

log = logging.getLogger("familybot_trio.upstream.itad")

UPSTREAM: Final = "itad"
PUBLIC_BASE_URL: Final = "https://api.isthereanydeal.com"
BATCH: Final = 200
STEAM_SHOP_ID: Final = 61
KEY_HEADER: Final = "ITAD-API-Key"
KEY_HINT: Final = "check ITAD_API_KEY (isthereanydeal.com/apps/my/)"
DEFAULT_POLICY: Final = RetryPolicy(attempts=3, base_s=1.0, no_retry_after_s=10.0,
                                    timeout_s=20.0)


def _cents(obj: Any) -> int | None:
    if not isinstance(obj, dict):
        return None
    if "amountInt" in obj:
        return int(obj["amountInt"])
    if "amount" in obj:
        return round(float(obj["amount"]) * 100)
    return None


@guard("lookup/id/shop/61", UPSTREAM)
def parse_lookup(body: Any) -> dict[AppId, ItadLookup]:
    """`{"app/220": "<uuid>" | null, "sub/..": ..}` -> appid -> ItadLookup (subs ignored)."""
    if not isinstance(body, dict):
        raise malformed(UPSTREAM, "lookup/id/shop/61", f"top level {type(body).__name__}")
    out: dict[AppId, ItadLookup] = {}
    for key, gid in body.items():
        kind, _, num = key.partition("/")
        if kind == "app" and num.isdigit():
            appid = AppId(int(num))
            out[appid] = ItadLookup(appid, ItadId(str(gid)) if gid else None)
    return out


@guard("games/prices/v3", UPSTREAM)
def parse_prices(body: Any) -> dict[ItadId, ItadPrice]:
    """prices/v3 list -> ITAD id -> ItadPrice (the Steam deal if present, else the first)."""
    if not isinstance(body, list):
        raise malformed(UPSTREAM, "games/prices/v3", f"top level {type(body).__name__}")
    out: dict[ItadId, ItadPrice] = {}
    for game in body:
        gid = ItadId(str(game["id"]))
        deals = game.get("deals") or []
        steam = next((d for d in deals if (d.get("shop") or {}).get("id") == STEAM_SHOP_ID),
                     None)
        low = (game.get("historyLow") or {}).get("all")
        price = (steam or {}).get("price") or {}
        out[gid] = ItadPrice(
            itad_id=gid,
            currency=price.get("currency") or (low or {}).get("currency"),
            current_cents=_cents(price) if steam else None,
            regular_cents=_cents(steam.get("regular")) if steam else None,
            cut_pct=int(steam.get("cut", 0)) if steam else None,
            history_low_cents=_cents(low),
            store_low_cents=_cents(steam.get("storeLow")) if steam else None,
            url=steam.get("url") if steam else None,
        )
    return out


class Itad:
    """ITAD client. Args: client: shared httpx.AsyncClient; api_key: secret (header only);
    base_url: API root."""

    def __init__(self, client: httpx.AsyncClient, api_key: str,
                 base_url: str = PUBLIC_BASE_URL, *, policy: RetryPolicy = DEFAULT_POLICY
                 ) -> None:
        self._client = client
        self._key = api_key
        self._base = base_url.rstrip("/")
        self._policy = policy
        install_urllib3_redaction()  # defence in depth: the key is in a header, not the URL

    def __repr__(self) -> str:
        return f"Itad(base_url={self._base!r})"

    async def _post(self, path: str, body: list[str], params: dict[str, str | int], what: str
                    ) -> Any:
        headers = {KEY_HEADER: self._key} if self._key else {}  # the lookup needs none
        _, data = await request_json(
            self._client, UPSTREAM, "POST", f"{self._base}{path}", params=params,
            json_body=body, headers=headers, what=what,
            policy=self._policy, auth_hint=KEY_HINT,
        )
        return data

    async def lookup_steam_apps(self, appids: Sequence[AppId]) -> dict[AppId, ItadLookup]:
        """Steam appids -> ITAD ids, 200 per request, requests side by side.

        Returns: every asked appid that ITAD answered for (itad_id None: unknown to ITAD).
        Raises: Unauthorized (bad key), RateLimited, UpstreamError.
        Upstream: POST /lookup/id/shop/61/v1 body ["app/<appid>", ...]; keyless (the
            OpenAPI security of lookup-gid-shopid-v1 allows none), the key is sent when set.
        """
        unique = list(dict.fromkeys(appids))
        out: dict[AppId, ItadLookup] = {}

        async def one(chunk: list[AppId]) -> None:
            body = await self._post(f"/lookup/id/shop/{STEAM_SHOP_ID}/v1",
                                    [f"app/{a}" for a in chunk], {},
                                    f"id lookup of {len(chunk)} apps")
            out.update(parse_lookup(body))

        await side_by_side(*(functools.partial(one, unique[i : i + BATCH])
                             for i in range(0, len(unique), BATCH)))
        return out

    async def prices(self, itad_ids: Sequence[ItadId], *, country: str
                     ) -> dict[ItadId, ItadPrice]:
        """Steam's current deal, Steam low and all-store low, 200 ids per request.

        Args: country: ISO 3166-1 alpha-2 (sets currency).
        Raises: Unauthorized, RateLimited, UpstreamError.
        Upstream: POST /games/prices/v3?country=..&shops=61 body [<uuid>, ...]
        """
        unique = list(dict.fromkeys(itad_ids))
        out: dict[ItadId, ItadPrice] = {}

        async def one(chunk: list[ItadId]) -> None:
            body = await self._post("/games/prices/v3", list(chunk),
                                    {"country": country, "shops": STEAM_SHOP_ID},
                                    f"prices of {len(chunk)} games")
            # ~20 us per game: 200 of them held the loop ~5 ms (bench S1's worst step)
            out.update(await blocking.run_sync("cpu", parse_prices, body))

        await side_by_side(*(functools.partial(one, unique[i : i + BATCH])
                             for i in range(0, len(unique), BATCH)))
        return out

    async def history_lows(self, itad_ids: Sequence[ItadId], *, country: str
                           ) -> dict[ItadId, int | None]:
        """All-store historical low in cents per game (200 per request, sequential).

        Upstream: POST /games/historylow/v1?country=..
        """
        out: dict[ItadId, int | None] = {}
        unique = list(dict.fromkeys(itad_ids))
        for i in range(0, len(unique), BATCH):
            body = await self._post("/games/historylow/v1", list(unique[i : i + BATCH]),
                                    {"country": country}, "historical lows")
            out.update(_parse_lows(body))
        return out


@guard("games/historylow/v1", UPSTREAM)
def _parse_lows(body: Any) -> dict[ItadId, int | None]:
    if not isinstance(body, list):
        raise malformed(UPSTREAM, "games/historylow/v1", f"top level {type(body).__name__}")
    return {ItadId(str(g["id"])): _cents((g.get("low") or {}).get("price")) for g in body}
